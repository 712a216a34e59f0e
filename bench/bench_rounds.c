/*
 * bench_rounds.c — what a round's slice charges for the walks of the
 * layout without list links (docs/linkless.md, "S4"; gc_incr.c's
 * SCAN_PER_UNIT): the time of one plane word a walk reads against the
 * time of one unit of a round's object work. Timed: run it alone, on an
 * idle machine, in a Release build.
 *
 *   bench_rounds [N]      N tracked objects (default 1000000)
 *
 * Results (one JSON line each):
 *   walk    a walk (rh__mark_walk, no budget) of a pools heap of 64 MiB of
 *           raw 32-byte blocks with one marked block an arena: ns per
 *           plane word read (rh__mark_walk.scanned);
 *   dense   a whole round (rh_gc_step, no time limit) over N old
 *           two-reference containers in a chain, packed: ns per unit of
 *           work (rh_gc_incr_stats.work: objects, the walks' scanned / 64
 *           nearly nothing);
 *   sparse  the same over N / 64 containers, each followed by 2047 raw
 *           32-byte blocks (64 KiB: 64 plane words): the walks' cost is
 *           most of the units;
 *   ratio   dense's ns per unit over walk's ns per word: the plane words
 *           that cost one unit of object work.
 * White box: the walk is the allocator's internal API.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "bench_node.h"
#include "memory/marks.h"

static double walk_ns_per_word(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    size_t n = ((size_t)64 << 20) / 32;
    void **b = bench_map(n * sizeof *b);
    for (size_t i = 0; i < n; i++) b[i] = rh_malloc(h, 32);
    for (size_t i = 0; i < n; i += ((size_t)1 << 20) / 32) rh__block_mark(h, b[i]);
    size_t scanned = 0, found = 0;
    uint64_t t0 = bench_now_ns();
    for (int rep = 0; rep < 20; rep++) {
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        while (rh__mark_walk_next(&w)) found++;
        scanned += w.scanned;
        rh__mark_walk_end(&w);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)scanned;
    for (size_t i = 0; i < n; i += ((size_t)1 << 20) / 32) rh__block_unmark(h, b[i]);
    for (size_t i = 0; i < n; i++) rh_free(h, b[i]);
    bench_unmap(b, n * sizeof *b);
    rh_heap_destroy(h);
    if (!found) abort();
    return ns;
}

/* A round over n old containers in a chain, `gap` raw blocks after each. */
static double round_ns_per_unit(size_t n, size_t gap, double *units_per_object) {
    setenv("REFHEAP_LINKLESS", "1", 1);
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .gc_policy = RH_GC_POLICY_INCREMENTAL};
    rh_heap *h = rh_heap_new(&cfg);
    unsetenv("REFHEAP_LINKLESS");
    rh_gc_disable(h);
    rh_gc_set_slice_budget(h, UINT64_MAX);
    void **raw = gap ? bench_map(n * gap * sizeof *raw) : NULL;
    rh_object *first = NULL, *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        rh_object *o = rh_new_tracked(h, &node_type);
        if (prev) ((node *)prev)->left = o; /* prev holds o's reference */
        else first = o;
        prev = o;
        for (size_t k = 0; k < gap; k++) raw[i * gap + k] = rh_malloc(h, 32);
    }
    (void)rh_gc_collect(h, 0); /* all old */
    rh_gc_incr_stats s0, s1;
    rh_gc_incr_stats_get(h, &s0);
    uint64_t t0 = bench_now_ns();
    while (rh_gc_step(h, 0)) {
    }
    uint64_t t = bench_now_ns() - t0;
    rh_gc_incr_stats_get(h, &s1);
    double units = (double)(s1.work - s0.work);
    *units_per_object = units / (double)n;
    rh_decref(first);
    for (size_t i = 0; i < n * gap; i++) rh_free(h, raw[i]);
    if (raw) bench_unmap(raw, n * gap * sizeof *raw);
    rh_heap_destroy(h);
    return (double)t / units;
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    double word = walk_ns_per_word();
    bench_emit("rounds_walk", "\"ns_per_word\": %.3f", word);
    double upo;
    double dense = round_ns_per_unit(n, 0, &upo);
    bench_emit("rounds_dense", "\"objects\": %zu, \"ns_per_unit\": %.2f, \"units_per_object\": %.2f", n, dense,
               upo);
    double sparse = round_ns_per_unit(n / 64, 2047, &upo);
    bench_emit("rounds_sparse", "\"objects\": %zu, \"ns_per_unit\": %.2f, \"units_per_object\": %.2f", n / 64,
               sparse, upo);
    bench_emit("rounds_ratio", "\"words_per_unit\": %.1f", dense / word);
    return 0;
}
