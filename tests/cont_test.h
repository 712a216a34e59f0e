/*
 * cont_test.h — helpers shared by the container tests (test_tuple.c,
 * test_list.c, test_dict.c, test_set.c, test_tracking.c): heap set-up, a
 * leak meter, repr into a string, and a user type whose hash and equality
 * hooks are hostile (constant hash, an eq that mutates a container), and
 * the out-of-memory driver that fails each allocation of a sequence in turn.
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

/* Bytes requested from the heap for the program's objects and not freed
 * (quarantined debug blocks do not count; nor does the collector's own
 * storage, rh_test_gc_own_bytes, whose array is allocated at a tracking
 * and kept at its largest until a young collection): equal before and
 * after an operation sequence whose objects were all released means no
 * leak. */
static inline size_t ct_in_use(rh_heap *h) {
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    return st.bytes_requested - rh_test_gc_own_bytes(h);
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

/* ---------------------------------------------------------------------------
 * Out of memory at each allocation of an operation sequence, in turn.
 *
 * For k = 1, 2, ... a fresh container is made by make(h), the k-th
 * allocation from then on is made to fail, and seq(h, c, before, cap) runs:
 * it writes the container's repr into `before` before each operation and
 * returns -1 as soon as one fails (0 if all succeed). A failed run must leave
 * RH_ENOMEM as the error and the container exactly as it was before the
 * failing operation (same repr); after the container is released the heap
 * must hold exactly what it held before make. The loop ends at the first k
 * at which the whole sequence succeeds, which must come within 10000
 * allocations, and more than `more_than` runs must have failed (so the
 * sequence really allocated, and the injector really fired).
 * ------------------------------------------------------------------------- */
typedef int (*ct_oom_sequence)(rh_heap *h, rh_object *c, char *before, size_t cap);

#define CT_OOM_MAX_ALLOCS 10000
#define CT_OOM_REPR_CAP 4096 /* repr of the largest container the sequences build */

static inline void ct_oom_every_allocation(rh_heap *h, rh_object *(*make)(rh_heap *h),
                                           ct_oom_sequence seq, int more_than) {
    int failures = 0;
    for (long k = 1;; k++) {
        size_t base = ct_in_use(h);
        rh_object *c = make(h);
        assert_non_null(c);
        char before[CT_OOM_REPR_CAP], after[CT_OOM_REPR_CAP];
        rh_err_clear(h);
        rh_heap_fail_after(h, k, false);
        int r = seq(h, c, before, sizeof before);
        rh_heap_fail_after(h, 0, false);
        if (r < 0) {
            failures++;
            assert_int_equal(rh_err(h), RH_ENOMEM);
            rh_repr(c, after, sizeof after);
            assert_string_equal(before, after);
            rh_err_clear(h);
        }
        rh_decref(c);
        assert_int_equal(ct_in_use(h), base);
        if (r == 0) break;
        assert_true(k < CT_OOM_MAX_ALLOCS);
    }
    assert_true(failures > more_than);
}

#endif
