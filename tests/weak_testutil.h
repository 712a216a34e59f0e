/*
 * weak_testutil.h — a weakrefable user type for the weak-reference tests.
 *
 * A "node" is a tracked container with three object slots (so cycles can be
 * built), an integer id, and optional behaviour chosen by its type:
 *   node_type       hashable by id, equal when ids are equal;
 *   node_fin_type   the same plus a PEP 442 finalizer that counts its runs
 *                   and may resurrect the node into `node_resurrect_into`.
 * Every node death is counted in node_destroyed, so a test can tell exactly
 * which objects were freed.
 */
#ifndef WEAK_TESTUTIL_H
#define WEAK_TESTUTIL_H

#include "rh_test.h"

/* Not every test program uses every helper. */
#define WT_UNUSED __attribute__((unused))

#define NODE_SLOTS 3

typedef struct node {
    RH_OBJECT_HEAD;
    rh_object *weaklist;
    rh_object *slot[NODE_SLOTS];
    long id;
} node;

WT_UNUSED static long node_destroyed;       /* nodes whose destroy ran */
WT_UNUSED static long node_finalized;       /* finalizer runs */
WT_UNUSED static rh_object *node_resurrect_into; /* a list: the finalizer appends self */

WT_UNUSED static void node_destroy(rh_object *self) {
    node *n = (node *)self;
    for (int i = 0; i < NODE_SLOTS; i++) RH_CLEAR(n->slot[i]);
    node_destroyed++;
}

WT_UNUSED static void node_clear(rh_object *self) {
    node *n = (node *)self;
    for (int i = 0; i < NODE_SLOTS; i++) RH_CLEAR(n->slot[i]);
}

WT_UNUSED static int node_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    node *n = (node *)self;
    for (int i = 0; i < NODE_SLOTS; i++)
        if (n->slot[i]) {
            int r = visit(n->slot[i], arg);
            if (r) return r;
        }
    return 0;
}

WT_UNUSED static rh_hash_t node_hash(rh_object *self) {
    long id = ((node *)self)->id;
    return id == -1 ? -2 : (rh_hash_t)id;
}

WT_UNUSED static int node_eq(rh_object *self, rh_object *other) {
    if (other->rh_type != self->rh_type) return 0;
    return ((node *)self)->id == ((node *)other)->id;
}

WT_UNUSED static void node_finalize(rh_object *self) {
    node_finalized++;
    if (node_resurrect_into) rh_list_append(node_resurrect_into, self);
}

/* The two types differ only in their name and the finalizer. */
#define WT_NODE_TYPE_INIT(tname)                                               \
    .name = tname, .basicsize = sizeof(node),                                  \
    .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,                                 \
    .weaklist_offset = offsetof(node, weaklist), .destroy = node_destroy,      \
    .traverse = node_traverse, .clear = node_clear, .hash = node_hash,         \
    .eq = node_eq

WT_UNUSED static const rh_type node_type = {WT_NODE_TYPE_INIT("node")};
WT_UNUSED static const rh_type node_fin_type = {WT_NODE_TYPE_INIT("finnode"),
                                                .finalize = node_finalize};

static inline rh_object *node_new_t(rh_heap *h, const rh_type *t, long id) {
    node *n = (node *)rh_new(h, t);
    if (!n) return NULL;
    n->id = id;
    rh_gc_track(RH_OBJ(n));
    return RH_OBJ(n);
}
static inline rh_object *node_new(rh_heap *h, long id) { return node_new_t(h, &node_type, id); }

/* n.slot[i] = v (a new reference is taken). */
static inline void node_set(rh_object *n, int i, rh_object *v) {
    RH_SETREF(((node *)n)->slot[i], rh_xnewref(v));
}

/* Two new nodes of type t, each the other's slot 0: *a <-> *b (new
 * references). */
static inline void node_pair_t(rh_heap *h, const rh_type *t, long id_a, long id_b, rh_object **a,
                               rh_object **b) {
    *a = node_new_t(h, t, id_a);
    *b = node_new_t(h, t, id_b);
    assert_non_null(*a);
    assert_non_null(*b);
    node_set(*a, 0, *b);
    node_set(*b, 0, *a);
}
static inline void node_pair(rh_heap *h, long id_a, long id_b, rh_object **a, rh_object **b) {
    node_pair_t(h, &node_type, id_a, id_b, a, b);
}

/* A callback log: each callback appends its tag. */
typedef struct cblog {
    int n;
    int tags[64];
    rh_object *wrs[64];
} cblog;

typedef struct cbarg {
    cblog *log;
    int tag;
} cbarg;

WT_UNUSED static void log_cb(rh_object *wr, void *data) {
    cbarg *a = data;
    if (a->log->n < 64) {
        a->log->wrs[a->log->n] = wr;
        a->log->tags[a->log->n++] = a->tag;
    }
}

WT_UNUSED static void noop_cb(rh_object *wr, void *data) {
    (void)wr;
    (void)data;
}

/* A fresh heap with automatic collection off, so counts are deterministic. */
static inline rh_heap *quiet_heap(void) {
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    rh_gc_disable(h);
    node_destroyed = node_finalized = 0;
    node_resurrect_into = NULL;
    return h;
}

/* A quiet heap whose byte counts fall when memory is freed: debug mode keeps
 * freed blocks in quarantine and still counts them in bytes_in_use and
 * large_bytes, so tests that measure leaks use the pools there. */
static inline rh_heap *measured_heap(void) {
    rh_heap *h = quiet_heap();
    if (rh_heap_mode(h) == RH_MODE_DEBUG) {
        rh_heap_destroy(h);
        rh_heap_config cfg = {.mode = RH_MODE_POOLS};
        h = rh_heap_new(&cfg);
        assert_non_null(h);
        rh_gc_disable(h);
    }
    return h;
}

#endif
