/*
 * gc_nodes.h — user-defined container types shared by the collector's tests.
 *
 * A node is a weak-referenceable container with up to NODE_KIDS strong
 * references and an id. Every node's death is recorded (nodes_destroyed[id]),
 * so a test can tell exactly which objects a collection freed. The variants
 * differ only in their name and hooks:
 *   Node     plain (what the CPython tests build with __slots__ classes)
 *   Person   plain, named for the articles' example
 *   Fin      finalize (PEP 442) counts its calls and runs fin_action if set
 *   Lazarus  finalize stores the object in lazarus_store (resurrection)
 *   Legacy   legacy_del (tp_del): cycles through it are uncollectable
 *   BadTrav  traverse reports its first kid twice (a buggy traverse)
 * It also holds what the collector's test programs share: the fixture (a
 * fresh heap H per test, automatic collection off, the records reset) and
 * the shapes every test builds (self-cycles, two-node cycles).
 */
#ifndef GC_NODES_H
#define GC_NODES_H

#include "rh_test.h"

#include <stddef.h>

#define GCN_UNUSED __attribute__((unused))

#define NODE_KIDS 4
#define NODE_MAX_ID 200000

typedef struct node {
    RH_OBJECT_HEAD;
    rh_object *weaklist;
    int id;
    rh_object *kids[NODE_KIDS];
} node;

GCN_UNUSED static unsigned char nodes_destroyed[NODE_MAX_ID];
GCN_UNUSED static int nodes_destroyed_count;
GCN_UNUSED static int fin_calls;
GCN_UNUSED static void (*fin_action)(rh_object *self);
GCN_UNUSED static int legacy_calls;

#define LAZARUS_MAX 1024
GCN_UNUSED static rh_object *lazarus_store[LAZARUS_MAX];
GCN_UNUSED static int lazarus_n;
GCN_UNUSED static int lazarus_calls;

static inline void nodes_reset(void) {
    memset(nodes_destroyed, 0, sizeof nodes_destroyed);
    nodes_destroyed_count = 0;
    fin_calls = 0;
    fin_action = NULL;
    legacy_calls = 0;
    lazarus_n = 0;
    lazarus_calls = 0;
}

static inline void node_destroy(rh_object *self) {
    node *n = (node *)self;
    if (n->id >= 0 && n->id < NODE_MAX_ID) nodes_destroyed[n->id]++;
    nodes_destroyed_count++;
    for (int i = 0; i < NODE_KIDS; i++) RH_CLEAR(n->kids[i]);
}

static inline int node_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    node *n = (node *)self;
    for (int i = 0; i < NODE_KIDS; i++) {
        if (n->kids[i]) {
            int r = visit(n->kids[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static inline int badtrav_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    node *n = (node *)self;
    if (n->kids[0]) {
        int r = visit(n->kids[0], arg);
        if (r) return r;
        return visit(n->kids[0], arg); /* the bug: reported twice */
    }
    return 0;
}

static inline void node_clear(rh_object *self) {
    node *n = (node *)self;
    for (int i = 0; i < NODE_KIDS; i++) RH_CLEAR(n->kids[i]);
}

static inline void fin_finalize(rh_object *self) {
    fin_calls++;
    if (fin_action) fin_action(self);
}

static inline void lazarus_finalize(rh_object *self) {
    lazarus_calls++;
    if (lazarus_n < LAZARUS_MAX) lazarus_store[lazarus_n++] = rh_newref(self);
}

static inline void legacy_del(rh_object *self) { legacy_calls++; }

#define NODE_TYPE_INIT(tname)                                                  \
    .name = tname, .basicsize = sizeof(node),                                  \
    .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,                                 \
    .weaklist_offset = offsetof(node, weaklist), .destroy = node_destroy,      \
    .traverse = node_traverse, .clear = node_clear

GCN_UNUSED static const rh_type node_type = {NODE_TYPE_INIT("Node")};
GCN_UNUSED static const rh_type person_type = {NODE_TYPE_INIT("Person")};
GCN_UNUSED static const rh_type fin_type = {NODE_TYPE_INIT("Fin"), .finalize = fin_finalize};
GCN_UNUSED static const rh_type lazarus_type = {NODE_TYPE_INIT("Lazarus"), .finalize = lazarus_finalize};
GCN_UNUSED static const rh_type legacy_type = {NODE_TYPE_INIT("Legacy"), .legacy_del = legacy_del};
GCN_UNUSED static const rh_type badtrav_type = {
    .name = "BadTrav", .basicsize = sizeof(node), .flags = RH_TYPE_GC,
    .destroy = node_destroy, .traverse = badtrav_traverse, .clear = node_clear};

/* A new tracked node (new reference). */
static inline rh_object *node_new(rh_heap *h, const rh_type *t, int id) {
    node *n = (node *)rh_new(h, t);
    assert_non_null(n);
    n->id = id;
    rh_gc_track(RH_OBJ(n));
    return RH_OBJ(n);
}

/* a.kids[slot] = b (a new reference to b; the old one is dropped). */
static inline void node_set(rh_object *a, int slot, rh_object *b) {
    node *n = (node *)a;
    rh_object *old = n->kids[slot];
    n->kids[slot] = rh_xnewref(b);
    rh_xdecref(old);
}

static inline rh_object *node_kid(rh_object *a, int slot) { return ((node *)a)->kids[slot]; }
static inline int node_id(rh_object *a) { return ((node *)a)->id; }

/* Drops the references lazarus_store holds. */
static inline void lazarus_release(void) {
    while (lazarus_n > 0) rh_decref(lazarus_store[--lazarus_n]);
}

/* A new node that is its own kid 0 (new reference): a self-cycle. */
static inline rh_object *node_new_self_cycle(rh_heap *h, const rh_type *t, int id) {
    rh_object *n = node_new(h, t, id);
    node_set(n, 0, n);
    return n;
}

/* Two new nodes of type t, each the other's kid 0: *a <-> *b (new
 * references). */
static inline void node_new_pair(rh_heap *h, const rh_type *t, int id_a, int id_b, rh_object **a,
                                 rh_object **b) {
    *a = node_new(h, t, id_a);
    *b = node_new(h, t, id_b);
    node_set(*a, 0, *b);
    node_set(*b, 0, *a);
}

/* The same pair with both references dropped: garbage only a collection
 * can free. */
static inline void node_garbage_pair(rh_heap *h, const rh_type *t, int id_a, int id_b) {
    rh_object *a, *b;
    node_new_pair(h, t, id_a, id_b, &a, &b);
    rh_decref(a);
    rh_decref(b);
}

/* Is o in the list l (by identity)? */
static inline bool list_contains(rh_object *l, rh_object *o) {
    for (size_t i = 0; i < rh_list_size(l); i++)
        if (rh_list_get(l, (ptrdiff_t)i) == o) return true;
    return false;
}

/* ---------------------------------------------------------------------------
 * The fixture of test_gc.c and test_gc_weakref.c: each test gets a fresh heap
 * H with automatic collection off (as CPython's test_gc runs most tests:
 * gc.disable() in setUp) and fresh records; the teardown drops what the
 * Lazarus finalizers kept and destroys the heap.
 * ------------------------------------------------------------------------- */
GCN_UNUSED static rh_heap *H;

GCN_UNUSED static int gcn_setup(void **state) {
    (void)state;
    nodes_reset();
    H = rh_heap_new(NULL);
    if (!H) return -1;
    rh_gc_disable(H);
    return 0;
}

GCN_UNUSED static int gcn_teardown(void **state) {
    (void)state;
    lazarus_release();
    rh_heap_destroy(H);
    H = NULL;
    return 0;
}

#define GCN_TEST(name) cmocka_unit_test_setup_teardown(name, gcn_setup, gcn_teardown)

/* Is o in generation g of H (per rh_gc_get_objects; -1: any)? */
GCN_UNUSED static bool in_generation(int g, rh_object *o) {
    rh_object *l = rh_gc_get_objects(H, g);
    assert_non_null(l);
    bool r = list_contains(l, o);
    rh_decref(l);
    return r;
}

/* A sink collecting the collector's debug lines. */
typedef struct line_sink {
    char text[65536];
    size_t len;
    int lines;
} line_sink;

static inline void line_sink_fn(const char *line, void *data) {
    line_sink *s = data;
    size_t n = strlen(line);
    if (s->len + n + 2 < sizeof s->text) {
        memcpy(s->text + s->len, line, n);
        s->len += n;
        s->text[s->len++] = '\n';
        s->text[s->len] = '\0';
    }
    s->lines++;
}

#endif
