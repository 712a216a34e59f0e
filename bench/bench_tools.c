/*
 * bench_tools.c — the leak tools at scale: with tracing on (site only), N live
 * blocks from 500 allocation sites (sizes from the churn set of bench_alloc),
 * then
 *   take   rh_snapshot_take of the N blocks;
 *   churn  10% of the blocks freed and as many allocated at 50 other sites;
 *   diff   a second snapshot plus rh_snapshot_compare_to by site;
 * and the tracing tables' bytes per traced live block (rh_trace_get_memory /
 * rh_trace_count). With --frames F the blocks carry F-frame native
 * tracebacks (one call stack per site, from a recursion of site % 7 levels).
 *
 *   bench_tools [--frames F] NBLOCKS
 *
 * Output: one JSON line ("bench": "tools").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "refheap.h"

static const uint16_t sizes[8] = {16, 32, 48, 64, 96, 128, 256, 512};
static const char *const files[10] = {"app/main.c", "app/net.c",  "app/db.c",   "app/cache.c", "app/json.c",
                                      "app/http.c", "app/auth.c", "app/log.c",  "app/io.c",    "app/util.c"};

/* Allocates at site k, through k % 7 extra frames (distinct call stacks). */
__attribute__((noinline)) static void *alloc_at(rh_heap *h, unsigned k, size_t n, unsigned depth) {
    if (depth) {
        void *p = alloc_at(h, k, n, depth - 1);
        __asm__ volatile("" ::: "memory");
        return p;
    }
    return rh_malloc_at(h, n, files[k % 10], (int)(k / 10) + 1);
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
    int frames = 0;
    if (argc >= 3 && strcmp(argv[1], "--frames") == 0) {
        frames = atoi(argv[2]);
        argc -= 2;
        argv += 2;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s [--frames F] NBLOCKS\n", argv[0]);
        return 1;
    }
    size_t n = (size_t)strtoull(argv[1], NULL, 10);
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    if (!h || rh_trace_start(h, frames) != 0) return 3;
    void **blocks = bench_map(n * sizeof *blocks);
    bench_rng rng = {BENCH_SEED};
    for (size_t i = 0; i < n; i++) {
        unsigned k = bench_rng_below(&rng, 500);
        blocks[i] = alloc_at(h, k, sizes[bench_rng_below(&rng, 8)], k % 7);
    }
    size_t table = rh_trace_get_memory(h), traced = rh_trace_count(h);
    uint64_t t0 = bench_now_ns();
    rh_snapshot *a = rh_snapshot_take(h);
    uint64_t t_take = bench_now_ns() - t0;
    for (size_t i = 0; i < n / 10; i++) {
        size_t j = bench_rng_below(&rng, (uint32_t)n);
        rh_free(h, blocks[j]);
        unsigned k = 500 + bench_rng_below(&rng, 50);
        blocks[j] = alloc_at(h, k, sizes[bench_rng_below(&rng, 8)], k % 7);
    }
    t0 = bench_now_ns();
    rh_snapshot *b = rh_snapshot_take(h);
    size_t nd;
    rh_stat *d = rh_snapshot_compare_to(b, a, RH_STAT_SITE, &nd);
    uint64_t t_diff = bench_now_ns() - t0;
    if (!a || !b || !d) return 4;
    bench_emit("tools",
               "\"blocks\": %zu, \"frames\": %d, \"take_ms\": %.3f, \"snapshot_diff_ms\": %.3f, "
               "\"total_ms\": %.3f, \"sites\": %zu, \"rows\": %zu, \"trace_bytes\": %zu, "
               "\"bytes_per_block\": %.2f, \"top_site\": \"%s:%d\", \"top_size_diff\": %lld",
               n, frames, (double)t_take / 1e6, (double)t_diff / 1e6, (double)(t_take + t_diff) / 1e6, nd,
               b->ntraces, table, (double)table / (double)traced, d[0].file, d[0].line,
               (long long)d[0].size_diff);
    free(d);
    rh_snapshot_free(a);
    rh_snapshot_free(b);
    for (size_t i = 0; i < n; i++) rh_free(h, blocks[i]);
    rh_heap_destroy(h);
    return 0;
}
