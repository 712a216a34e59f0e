/*
 * bench_trees.c — workload 2: allocation-heavy tree programs.
 *
 * Two classic programs, one source compiled once per memory manager (BT_*):
 *
 *   binarytrees DEPTH   The Computer Language Benchmarks Game's binary-trees:
 *                       a stretch tree of depth DEPTH+1, a long-lived tree of
 *                       depth DEPTH, then for d = 4, 6, ..., DEPTH:
 *                       2^(DEPTH-d+4) trees of depth d, each built bottom-up,
 *                       checked (node count) and dropped.
 *   gcbench STRETCH     Boehm's GCBench (Ellis, Kovac, Boehm): a stretch tree
 *                       of depth STRETCH, a long-lived tree of depth
 *                       STRETCH-2 built top-down, a long-lived array of
 *                       GCB_ARRAY doubles, then for d = 4, 6, ..., STRETCH-2:
 *                       NumIters(d) trees built top-down (Populate) and as
 *                       many bottom-up (MakeTree), each dropped at once.
 *                       STRETCH = 18 is the original program.
 *
 * Memory managers:
 *   BT_GLIBC, BT_MIMALLOC   manual malloc/free (mi_malloc/mi_free): a tree is
 *                           freed by a recursive walk when dropped;
 *   BT_MIRC                 a hand-written reference count on mimalloc: the
 *                           node's count drops to zero and frees its children
 *                           recursively (no cycle collector);
 *   BT_BOEHM                Boehm GC: GC_MALLOC, never freed explicitly;
 *   BT_REFHEAP              refheap objects through the public API: a
 *                           user-defined container type with two child
 *                           references, tracked, the cycle collector on at the
 *                           heap's default thresholds ("on") or disabled
 *                           ("off"). Every collection's pause is recorded with
 *                           rh_gc_set_pause_hook (workload 6).
 *
 * Every variant counts the nodes it creates and computes the same checksums,
 * so run.py can verify that all variants did the same work. Output: one JSON
 * line with the time, nodes, ns per node, peak RSS and, for refheap, the
 * pause summary. With BENCH_PAUSE_LOG=FILE in the environment, refheap's
 * variant also writes every pause, in order, to FILE (bench_common.h's pause
 * timeline, times counted from the start of the program's timed part): run.py
 * draws its pause charts from it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#ifndef BT_NAME
#error "BT_NAME must name the memory manager"
#endif

/* The Benchmarks Game's smallest tree depth; also GCBench's kMinTreeDepth. */
#define MIN_DEPTH 4
/* GCBench's long-lived array: kArraySize doubles, the first half filled. */
#define GCB_ARRAY 500000

static uint64_t nodes_made;
static int gc_on = 1;
/* refheap: "cpython" or "incremental" after on|off (default: REFHEAP_GC). */
static int bt_policy;

/* ---------------------------------------------------------------- nodes */

#if defined(BT_GLIBC) || defined(BT_MIMALLOC)

#if defined(BT_MIMALLOC)
#include <mimalloc.h>
#define RAW_MALLOC mi_malloc
#define RAW_FREE mi_free
#else
#define RAW_MALLOC malloc
#define RAW_FREE free
#endif

#define CNODE_MALLOC RAW_MALLOC
#define CNODE_FREE RAW_FREE
#define CNODE_COUNTER nodes_made
#include "bench_cnode.h"

static void bt_init(void) {}
static void bt_fini(void) {}

#define tree_drop node_free_tree
#define NODE_LEFT(n) ((n)->left)
#define NODE_RIGHT(n) ((n)->right)
#define NODE_SET_CHILDREN(n, l, r) ((n)->left = (l), (n)->right = (r))
static double *array_new(size_t n) { return RAW_MALLOC(n * sizeof(double)); }
static void array_drop(double *a) { RAW_FREE(a); }

#elif defined(BT_MIRC)

#define CNODE_REFCOUNT 1
#define CNODE_COUNTER nodes_made
#include "bench_cnode.h"

static void bt_init(void) {}
static void bt_fini(void) {}

#define tree_drop node_decref
#define NODE_LEFT(n) ((n)->left)
#define NODE_RIGHT(n) ((n)->right)
/* Replaces the children: the new ones' references move in, the old ones are released. */
#define NODE_SET_CHILDREN(n, l, r)                                           \
    do {                                                                     \
        node *ol_ = (n)->left, *or_ = (n)->right;                            \
        (n)->left = (l);                                                     \
        (n)->right = (r);                                                    \
        node_decref(ol_);                                                    \
        node_decref(or_);                                                    \
    } while (0)
static double *array_new(size_t n) { return mi_malloc(n * sizeof(double)); }
static void array_drop(double *a) { mi_free(a); }

#elif defined(BT_BOEHM)

#include <gc.h>

typedef struct node {
    struct node *left, *right;
} node;

static void bt_init(void) { GC_INIT(); }
static void bt_fini(void) {}

static node *node_new(node *l, node *r) {
    node *n = GC_MALLOC(sizeof *n);
    if (!n) abort();
    n->left = l;
    n->right = r;
    nodes_made++;
    return n;
}

static void tree_drop(node *n) { (void)n; }
#define NODE_LEFT(n) ((n)->left)
#define NODE_RIGHT(n) ((n)->right)
#define NODE_SET_CHILDREN(n, l, r) ((n)->left = (l), (n)->right = (r))
static double *array_new(size_t n) { return GC_MALLOC_ATOMIC(n * sizeof(double)); }
static void array_drop(double *a) { (void)a; }

#elif defined(BT_REFHEAP)

#include "bench_node.h"
#include "refheap.h"

static rh_heap *heap;
static bench_pause_log pauses;
static double user_ns_total;

/* Every pause: young and full collections, incremental slices. */
static bench_pause_log cpu_pauses;
/* The pauses the thread ran through (no context switch: the OS did not
 * preempt it and it did not block): their wall time is the collector's own. */
static bench_pause_log calm_pauses;
static size_t preempted_pauses;
static void on_pause(rh_heap *h, const rh_gc_pause *p, void *data) {
    (void)data;
    uint64_t ns = p->ns, user_ns = p->user_ns;
    bench_pause_push(&pauses, (double)ns);
    bench_pause_push(&cpu_pauses, (double)p->cpu_ns);
    if (p->preempted || p->blocked) preempted_pauses++;
    else bench_pause_push(&calm_pauses, (double)ns);
    user_ns_total += (double)user_ns;
    bench_timeline_add(ns, p->cpu_ns, user_ns, p->kind, p->preempted, p->blocked, incr_work_since(h));
}

static int bt_trace = -1; /* --trace N: allocation tracing with N frames */

static void bt_init(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .gc_policy = bt_policy};
    heap = rh_heap_new(&cfg);
    if (!heap) abort();
    if (bt_trace >= 0 && rh_trace_start(heap, bt_trace) != 0) abort();
    if (!gc_on) rh_gc_disable(heap);
    rh_gc_set_pause_hook(heap, on_pause, NULL);
}

static void bt_fini(void) {
    rh_gc_set_pause_hook(heap, NULL, NULL);
    rh_heap_destroy(heap);
}

/* Takes ownership of l and r. */
static node *node_new(node *l, node *r) {
    node *n = RH_NEW(heap, node, &node_type);
    if (!n) {
        fprintf(stderr, "rh_new: %s\n", rh_errmsg(heap));
        abort();
    }
    n->left = (rh_object *)l;
    n->right = (rh_object *)r;
    rh_gc_track(RH_OBJ(n));
    nodes_made++;
    return n;
}

static void tree_drop(node *n) {
    if (n) rh_decref(RH_OBJ(n));
}
#define NODE_LEFT(n) ((node *)(n)->left)
#define NODE_RIGHT(n) ((node *)(n)->right)
#define NODE_SET_CHILDREN(n, l, r)                                           \
    do {                                                                     \
        RH_SETREF((n)->left, RH_OBJ(l));                                     \
        RH_SETREF((n)->right, RH_OBJ(r));                                    \
    } while (0)
static double *array_new(size_t n) { return rh_malloc(heap, n * sizeof(double)); }
static void array_drop(double *a) { rh_free(heap, a); }

#else
#error "choose a BT_* memory manager"
#endif

/* ---------------------------------------------------------------- shared algorithms */

static node *bottom_up(int depth) {
    if (depth <= 0) return node_new(NULL, NULL);
    node *l = bottom_up(depth - 1);
    node *r = bottom_up(depth - 1);
    return node_new(l, r);
}

static long check(const node *n) {
    long c = 1;
    while (n && NODE_LEFT(n)) { /* iterate down the left spine, recurse right */
        c += 1 + check(NODE_RIGHT(n));
        n = NODE_LEFT(n);
    }
    return c;
}

static uint64_t run_binarytrees(int max_depth) {
    uint64_t sum = 0;
    if (max_depth < MIN_DEPTH + 2) max_depth = MIN_DEPTH + 2;
    node *stretch = bottom_up(max_depth + 1);
    sum += (uint64_t)check(stretch);
    tree_drop(stretch);
    node *long_lived = bottom_up(max_depth);
    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + MIN_DEPTH);
        long c = 0;
        for (long i = 0; i < iters; i++) {
            node *t = bottom_up(d);
            c += check(t);
            tree_drop(t);
        }
        sum += (uint64_t)c;
    }
    sum += (uint64_t)check(long_lived);
    tree_drop(long_lived);
    return sum;
}

/* GCBench's Populate: builds the tree top-down under an existing node. */
static void populate(int depth, node *n) {
    if (depth <= 0) return;
    depth--;
    NODE_SET_CHILDREN(n, node_new(NULL, NULL), node_new(NULL, NULL));
    populate(depth, NODE_LEFT(n));
    populate(depth, NODE_RIGHT(n));
}

static long tree_size(int depth) { return (1L << (depth + 1)) - 1; }

static uint64_t run_gcbench(int stretch_depth) {
    int long_lived_depth = stretch_depth - 2, max_depth = stretch_depth - 2;
    uint64_t sum = 0;
    node *t = bottom_up(stretch_depth);
    sum += (uint64_t)check(t);
    tree_drop(t);
    node *long_lived = node_new(NULL, NULL);
    populate(long_lived_depth, long_lived);
    double *array = array_new(GCB_ARRAY);
    if (!array) abort();
    for (int i = 0; i < GCB_ARRAY / 2; i++) array[i] = 1.0 / (i + 1);
    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        long iters = 2 * tree_size(stretch_depth) / tree_size(d);
        for (long i = 0; i < iters; i++) {
            t = node_new(NULL, NULL);
            populate(d, t);
            sum += (uint64_t)check(t);
            tree_drop(t);
        }
        for (long i = 0; i < iters; i++) {
            t = bottom_up(d);
            sum += (uint64_t)check(t);
            tree_drop(t);
        }
    }
    if (long_lived == NULL || array[1000] != 1.0 / 1001) {
        fprintf(stderr, "gcbench: long-lived data lost\n");
        abort();
    }
    sum += (uint64_t)check(long_lived);
    tree_drop(long_lived);
    array_drop(array);
    return sum;
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
#if defined(BT_REFHEAP)
    if (argc >= 3 && strcmp(argv[1], "--trace") == 0) {
        bt_trace = atoi(argv[2]);
        argc -= 2;
        argv += 2;
    }
#endif
    if (argc < 3) {
        fprintf(stderr, "usage: %s [--trace FRAMES] binarytrees DEPTH [on|off [cpython|incremental]] | "
                        "gcbench STRETCH_DEPTH [on|off [cpython|incremental]]\n"
                        "  --trace: refheap only, allocation tracing on (FRAMES 0: the site only)\n",
                argv[0]);
        return 1;
    }
    const char *prog = argv[1];
    int depth = atoi(argv[2]);
    if (argc >= 4) gc_on = strcmp(argv[3], "off") != 0;
    if (argc >= 5) bt_policy = strcmp(argv[4], "incremental") == 0 ? 2 : strcmp(argv[4], "cpython") == 0 ? 1 : 0;
    bench_timeline_open();
    bt_init();
    size_t rss0 = bench_rss();
    bench_timeline_start();
    uint64_t t0 = bench_now_ns(), sum;
    if (strcmp(prog, "binarytrees") == 0) {
        sum = run_binarytrees(depth);
    } else if (strcmp(prog, "gcbench") == 0) {
        sum = run_gcbench(depth);
    } else {
        fprintf(stderr, "unknown program %s\n", prog);
        return 1;
    }
    uint64_t t = bench_now_ns() - t0;
    size_t peak = bench_peak_rss();
    unsigned long long gens[3] = {0, 0, 0}; /* collections per generation */
    const char *pol = "-";
    double cpu_max = 0, cpu_p99 = 0, calm_max = 0, calm_p99 = 0;
    size_t npreempted = 0;
    double user_ns = 0;
    unsigned long long incr[4] = {0, 0, 0, 0}; /* rounds, slices, work, collected */
#if defined(BT_REFHEAP)
    rh_gc_incr_stats ist;
    rh_gc_incr_stats_get(heap, &ist);
    incr[0] = ist.rounds, incr[1] = ist.slices, incr[2] = ist.work, incr[3] = ist.collected;
    pol = rh_gc_policy_name(rh_gc_get_policy(heap));
    user_ns = user_ns_total;
    bench_pauses ps = bench_pause_summary(pauses.ns, pauses.n);
    bench_pauses cps = bench_pause_summary(cpu_pauses.ns, cpu_pauses.n);
    cpu_max = cps.max_ns, cpu_p99 = cps.p99_ns;
    bench_pauses calm = bench_pause_summary(calm_pauses.ns, calm_pauses.n);
    calm_max = calm.max_ns, calm_p99 = calm.p99_ns, npreempted = preempted_pauses;
    rh_gc_genstats gst[3];
    rh_gc_get_stats(heap, gst);
    for (int g = 0; g < 3; g++) gens[g] = (unsigned long long)gst[g].collections;
#else
    bench_pauses ps = {0, 0, 0, 0};
#endif
    bench_emit("trees",
               "\"impl\": \"%s\", \"program\": \"%s\", \"depth\": %d, \"gc\": \"%s\", "
               "\"seconds\": %.6f, \"nodes\": %llu, \"ns_per_node\": %.4f, \"checksum\": %llu, "
               "\"rss_before\": %zu, \"peak_rss\": %zu, \"pauses\": %zu, \"pause_max_ns\": %.0f, "
               "\"pause_p99_ns\": %.0f, \"pause_total_ns\": %.0f, \"gen_collections\": [%llu, %llu, %llu], "
               "\"policy\": \"%s\", \"user_ns\": %.0f, \"incr_rounds\": %llu, \"incr_slices\": %llu, "
               "\"incr_work\": %llu, \"incr_collected\": %llu, \"pause_cpu_max_ns\": %.0f, \"pause_cpu_p99_ns\": %.0f, "
               "\"pause_calm_max_ns\": %.0f, \"pause_calm_p99_ns\": %.0f, \"pauses_preempted\": %zu, "
               "\"trace_frames\": %d",
               BT_NAME, prog, depth, gc_on ? "on" : "off", (double)t / 1e9,
               (unsigned long long)nodes_made, (double)t / (double)nodes_made,
               (unsigned long long)sum, rss0, peak, ps.count, ps.max_ns, ps.p99_ns, ps.total_ns, gens[0], gens[1], gens[2], pol, user_ns,
               incr[0], incr[1], incr[2], incr[3], cpu_max, cpu_p99, calm_max, calm_p99, npreempted,
#if defined(BT_REFHEAP)
               bt_trace
#else
               -1
#endif
               );
    bt_fini();
    bench_timeline_close();
    return 0;
}
