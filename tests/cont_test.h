/*
 * cont_test.h — helpers shared by the container tests (test_tuple.c,
 * test_list.c, test_dict.c, test_set.c, test_tracking.c): heap set-up, a
 * leak meter, repr into a string, and a user type whose hash and equality
 * hooks are hostile (constant hash, an eq that mutates a container).
 */
#ifndef CONT_TEST_H
#define CONT_TEST_H

#include "rh_test.h"

#include <stdio.h>
#include <string.h>

static inline rh_heap *ct_heap(void) {
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    return h;
}

/* Bytes requested from the heap and not freed (quarantined debug blocks do
 * not count): equal before and after an operation sequence whose objects
 * were all released means no leak. */
static inline size_t ct_in_use(rh_heap *h) {
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    return st.bytes_requested;
}

/* repr into one of a few rotating static buffers. */
static inline const char *ct_repr(rh_object *o) {
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ & 3];
    int n = rh_repr(o, b, 4096);
    if (n < 0) snprintf(b, 4096, "<repr failed: %d>", n);
    return b;
}

static inline rh_object *ct_int(rh_heap *h, int64_t v) {
    rh_object *o = rh_int(h, v);
    assert_non_null(o);
    return o;
}

/* ---------------------------------------------------------------------------
 * "evil": hash is constant (every evil collides with every other), and eq
 * calls a hook (set per test) before answering "equal if same tag". Tests
 * use the hook to mutate the container being searched.
 * ------------------------------------------------------------------------- */
typedef struct ct_evil {
    RH_OBJECT_HEAD;
    int64_t tag;
} ct_evil;

static void (*ct_evil_hook)(void);
static int ct_evil_eq_calls;

static rh_hash_t ct_evil_hash(rh_object *self) {
    (void)self;
    return 42;
}

static int ct_evil_eq(rh_object *self, rh_object *other) {
    ct_evil_eq_calls++;
    if (ct_evil_hook) {
        void (*hook)(void) = ct_evil_hook;
        ct_evil_hook = NULL; /* once */
        hook();
    }
    if (RH_TYPE(other) != RH_TYPE(self)) return 0;
    return ((ct_evil *)(void *)self)->tag == ((ct_evil *)(void *)other)->tag;
}

static int ct_evil_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "evil(%lld)", (long long)((ct_evil *)(void *)self)->tag);
}

static const rh_type ct_evil_type = {
    .name = "evil",
    .basicsize = sizeof(ct_evil),
    .hash = ct_evil_hash,
    .eq = ct_evil_eq,
    .repr = ct_evil_repr,
};

static inline rh_object *ct_evil_new(rh_heap *h, int64_t tag) {
    rh_object *o = rh_new(h, &ct_evil_type);
    assert_non_null(o);
    ((ct_evil *)(void *)o)->tag = tag;
    return o;
}

/* A type whose eq always fails (returns -1 with an error). */
static int ct_failing_eq(rh_object *self, rh_object *other) {
    (void)other;
    rh_err_set(rh_heap_of(self), RH_EVALUE, "eq failed on purpose");
    return -1;
}
static const rh_type ct_faileq_type = {
    .name = "faileq",
    .basicsize = sizeof(ct_evil),
    .hash = ct_evil_hash,
    .eq = ct_failing_eq,
};

/* Visitor counting how often each of two targets is visited. */
typedef struct ct_visits {
    rh_object *target;
    int hits;
    int total;
} ct_visits;

static inline int ct_count_visit(rh_object *o, void *arg) {
    ct_visits *v = arg;
    v->total++;
    if (o == v->target) v->hits++;
    return 0;
}

#endif
