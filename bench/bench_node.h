/*
 * bench_node.h — the refheap node of the benchmarks: a user-defined container
 * type with two object references (16-byte header + two references = 32
 * bytes, and the collector's 16-byte record in front under the CPython
 * policy: 48), as a C runtime would define its own. Used by bench_trees.c
 * (tree nodes), bench_gc.c (two-object cycles) and bench_rounds.c; and the
 * incremental policy's work counter their pause timelines share.
 */
#ifndef BENCH_NODE_H
#define BENCH_NODE_H

#include "bench_common.h" /* RH_BENCH_UNUSED */
#include "refheap.h"

typedef struct node {
    RH_OBJECT_HEAD;
    rh_object *left, *right;
} node;

static int node_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    node *n = (node *)self;
    int r;
    if (n->left && (r = visit(n->left, arg)) != 0) return r;
    if (n->right && (r = visit(n->right, arg)) != 0) return r;
    return 0;
}

static void node_clear(rh_object *self) {
    node *n = (node *)self;
    RH_CLEAR(n->left);
    RH_CLEAR(n->right);
}

static const rh_type node_type = {
    .name = "Node",
    .basicsize = sizeof(node),
    .flags = RH_TYPE_GC,
    .destroy = node_clear,
    .traverse = node_traverse,
    .clear = node_clear,
};

/* The incremental policy's work since the last call (the pause timeline's
 * work column; 0 under CPython's policy). One heap a program. */
static RH_BENCH_UNUSED uint64_t incr_work_since(rh_heap *h) {
    static uint64_t seen;
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(h, &st);
    uint64_t w = st.work - seen;
    seen = st.work;
    return w;
}

#endif
