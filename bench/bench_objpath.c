/*
 * bench_objpath.c — the object path alone, for instruction counts under
 * callgrind (bench/callgrind.py). Not timed: callgrind counts every
 * instruction executed, so the figure is the same on a loaded machine, and
 * callgrind.py runs each program at two sizes and divides the difference of
 * the counts by the difference of the sizes, so that everything done once
 * (start-up, heap creation, teardown) cancels and what is left is the cost of
 * one object.
 *
 *   node  N   N times: create a two-reference node (children NULL), tracked
 *             at creation (RH_NEW_TRACKED; nodetrack N: RH_NEW then
 *             rh_gc_track, refheap only),
 *             and drop the only reference of the node made RING steps
 *             before (the last decref frees it). RING objects stay alive, as
 *             in a program's steady state: the pools (pages) are full, each
 *             free opens a hole in one and the next allocation fills it;
 *   node1 N   the same with one object alive between steps (the new node is
 *             made, then the previous one dropped): no pool (mimalloc: no
 *             page) ever fills or empties, so both allocators stay on their
 *             fastest branches and the difference to node is what refheap's
 *             pools pay in a full steady state;
 *   tree  N   bottom-up binary trees of TREE_DEPTH (1023 nodes), each built,
 *             then dropped with one decref of its root, until N nodes were
 *             made: the same per node plus linking a child and the recursive
 *             death of the children (binary-trees' pattern);
 *   float N   as node, with an untracked object (a float);
 *   raw32 N   as node, with a raw 32-byte block (allocate, free);
 *   raw32once N  N times: allocate a 32-byte block and free it at once
 *             (workload 1(a)'s pattern: every free empties the pool or page).
 * A fifth argument "trace" (refheap only) runs with allocation tracing on,
 * the site only (rh_trace_start(heap, 0)): the cost of a traced object.
 *
 * Memory managers (one executable each, as in bench_trees.c):
 *   BO_REFHEAP   refheap's public API: RH_NEW + rh_gc_track + rh_decref on
 *                bench_node.h's node type, rh_float, rh_malloc/rh_free; the
 *                third argument "on"/"off" leaves the collector at its
 *                default thresholds or disables it;
 *   BO_MIRC      a hand-written reference count on mimalloc, written as a C
 *                programmer would (bench_cnode.h, shared with bench_trees.c's
 *                BT_MIRC): a struct with a count, mi_malloc, and a decref
 *                that frees the children recursively; a float is
 *                {count, double};
 *   BO_MIMALLOC  mi_malloc/mi_free alone: a node is {left, right} freed by a
 *                recursive walk (bench_cnode.h again), a float a malloc'ed
 *                double.
 * raw32 is mi_malloc(32)/mi_free for both mimalloc variants.
 *
 * Every result pointer goes through bench_keep(), an empty asm statement
 * that makes the compiler assume the pointer is used, so no variant can have
 * its allocation optimised away. Output: one JSON line (workload, objects).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#ifndef BO_NAME
#error "BO_NAME must name the memory manager"
#endif

#define TREE_DEPTH 9 /* 2^10 - 1 = 1023 nodes a tree */
#define RING 1024     /* objects alive in node, float and raw32 */

#if defined(__GNUC__) || defined(__clang__)
#define bench_keep(p) __asm__ volatile("" : : "r"(p) : "memory")
#else
#define bench_keep(p) ((void)(p))
#endif

static uint64_t objects;
static int gc_on = 1;
static int two_step; /* nodetrack: refheap's rh_new + rh_gc_track (the others run node) */
static int traced;   /* "trace" after on|off: refheap with allocation tracing, the site only */

#if defined(BO_REFHEAP)

#include "bench_node.h"
#include "refheap.h"

static rh_heap *heap;

static void bo_init(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    heap = rh_heap_new(&cfg);
    if (!heap) abort();
    if (!gc_on) rh_gc_disable(heap);
    if (traced && rh_trace_start(heap, 0) != 0) abort();
}

static void bo_fini(void) { rh_heap_destroy(heap); }

static void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, rh_errmsg(heap));
    abort();
}

/* Takes ownership of l and r. The classic rh_new + fill + rh_gc_track
 * (workload nodetrack). */
static node *node_new_two(node *l, node *r) {
    node *n = RH_NEW(heap, node, &node_type);
    if (!n) die("rh_new");
    n->left = (rh_object *)l;
    n->right = (rh_object *)r;
    rh_gc_track(RH_OBJ(n));
    objects++;
    return n;
}

/* Takes ownership of l and r. "Create tracked": one call. */
static node *node_new(node *l, node *r) {
    node *n = RH_NEW_TRACKED(heap, node, &node_type);
    if (!n) die("rh_new_tracked");
    n->left = (rh_object *)l;
    n->right = (rh_object *)r;
    objects++;
    return n;
}

static void node_drop(node *n) { rh_decref(RH_OBJ(n)); }

static void *float_new(double v) {
    rh_object *f = rh_float(heap, v);
    if (!f) die("rh_float");
    return f;
}

static void float_drop(void *f) { rh_decref(f); }

static void *raw32_new(void) {
    void *p = rh_malloc(heap, 32);
    if (!p) die("rh_malloc");
    return p;
}

static void raw32_free(void *p) { rh_free(heap, p); }

#elif defined(BO_MIRC) || defined(BO_MIMALLOC)

#include <mimalloc.h>

static void bo_init(void) {}
static void bo_fini(void) {}

static void *xmalloc(size_t n) {
    void *p = mi_malloc(n);
    if (!p) abort();
    return p;
}

#if defined(BO_MIRC)

#define CNODE_REFCOUNT 1
#define CNODE_COUNTER objects
#include "bench_cnode.h"

typedef struct boxed_float {
    uint32_t refcnt;
    double value;
} boxed_float;

static void node_drop(node *n) { node_decref(n); }

static void *float_new(double v) {
    boxed_float *f = xmalloc(sizeof *f);
    f->refcnt = 1;
    f->value = v;
    return f;
}

static void float_drop(void *p) {
    boxed_float *f = p;
    if (--f->refcnt == 0) mi_free(f);
}

#else /* BO_MIMALLOC */

#define CNODE_MALLOC mi_malloc
#define CNODE_FREE mi_free
#define CNODE_COUNTER objects
#include "bench_cnode.h"

static void node_drop(node *n) { node_free_tree(n); }

static void *float_new(double v) {
    double *f = xmalloc(sizeof *f);
    *f = v;
    return f;
}

static void float_drop(void *f) { mi_free(f); }

#endif

static void *raw32_new(void) { return xmalloc(32); }

static void raw32_free(void *p) { mi_free(p); }

#else
#error "choose a BO_* memory manager"
#endif


static node *bottom_up(int depth) {
    if (depth <= 0) return node_new(NULL, NULL);
    node *l = bottom_up(depth - 1);
    node *r = bottom_up(depth - 1);
    return node_new(l, r);
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
    if (argc < 3) {
        fprintf(stderr, "usage: %s node|node1|tree|float|raw32|raw32once N [on|off [trace]]\n", argv[0]);
        return 1;
    }
    const char *wl = argv[1];
    uint64_t n = strtoull(argv[2], NULL, 10);
    if (argc >= 4) gc_on = strcmp(argv[3], "off") != 0;
    if (argc >= 5) traced = strcmp(argv[4], "trace") == 0;
    bo_init();
    /* ring[i % RING]: the object made RING steps ago, dropped when its slot
     * is reused; a static array, so the harness never calls the allocator. */
    static void *ring[RING];
    if (strcmp(wl, "nodetrack") == 0) {
        two_step = 1;
        wl = "node";
    }
    if (strcmp(wl, "node") == 0 || strcmp(wl, "node1") == 0) {
        const uint64_t alive = strcmp(wl, "node1") == 0 ? 1 : RING;
#define NODE_LOOP(make)                                                      \
        for (uint64_t i = 0; i < n; i++) {                                   \
            node *x = make(NULL, NULL);                                      \
            bench_keep(x);                                                   \
            node *old = ring[i % alive];                                     \
            if (old) node_drop(old);                                         \
            ring[i % alive] = x;                                             \
        }
#if defined(BO_REFHEAP)
        if (two_step) {
            NODE_LOOP(node_new_two)
        } else {
            NODE_LOOP(node_new)
        }
#else
        NODE_LOOP(node_new) /* the others' nodetrack is node */
#endif
#undef NODE_LOOP
        for (size_t i = 0; i < RING; i++)
            if (ring[i]) node_drop(ring[i]);
    } else if (strcmp(wl, "tree") == 0) {
        while (objects < n) {
            node *t = bottom_up(TREE_DEPTH);
            bench_keep(t);
            node_drop(t);
        }
    } else if (strcmp(wl, "float") == 0) {
        for (uint64_t i = 0; i < n; i++) {
            void *x = float_new((double)i + 0.5);
            bench_keep(x);
            if (ring[i % RING]) float_drop(ring[i % RING]);
            ring[i % RING] = x;
        }
        for (size_t i = 0; i < RING; i++)
            if (ring[i]) float_drop(ring[i]);
        objects = n;
    } else if (strcmp(wl, "raw32") == 0) {
        for (uint64_t i = 0; i < n; i++) {
            void *x = raw32_new();
            bench_keep(x);
            if (ring[i % RING]) raw32_free(ring[i % RING]);
            ring[i % RING] = x;
        }
        for (size_t i = 0; i < RING; i++)
            if (ring[i]) raw32_free(ring[i]);
        objects = n;
    } else if (strcmp(wl, "raw32once") == 0) {
        for (uint64_t i = 0; i < n; i++) {
            void *x = raw32_new();
            bench_keep(x);
            raw32_free(x);
        }
        objects = n;
    } else {
        fprintf(stderr, "unknown workload %s\n", wl);
        return 1;
    }
    bench_emit("objpath", "\"impl\": \"%s\", \"workload\": \"%s\", \"gc\": \"%s\", \"objects\": %llu",
               BO_NAME, wl, gc_on ? "on" : "off", (unsigned long long)objects);
    bo_fini();
    return 0;
}
