/*
 * containers.h — what the four built-in containers (tuple.c, list.c, dict.c,
 * set.c) share with each other: the "may this object be tracked?" predicate
 * of CPython's tracking rules, the recursion-safe repr writer, and a few
 * internal accessors that let one container build another without going
 * through the public API's checks;
 * containers.c holds the non-inline parts.
 */
#ifndef REFHEAP_CONTAINERS_H
#define REFHEAP_CONTAINERS_H

#include "objects/object_internal.h"

/* ---------------------------------------------------------------------------
 * Tracking rules (REFERENCE.md §3 and §7, CPython 3.11's
 * _PyObject_GC_MAY_BE_TRACKED): an object "may be tracked" when it is a
 * container and either is not a tuple, or is a tuple that is tracked right
 * now. An untracked empty dict therefore still "may be tracked" — it can
 * become tracked later — which is why a tuple holding any dict is never
 * untracked and why storing an untracked dict into a dict tracks the outer one.
 * ------------------------------------------------------------------------- */
static inline bool rh__may_be_tracked(const rh_object *o) {
    if (!(o->rh_type->flags & RH_TYPE_GC)) return false;
    if (o->rh_type == &rh_tuple_type) return rh_gc_is_tracked(o);
    return true;
}

/* ---------------------------------------------------------------------------
 * The repr writer. Every type's repr hook has the snprintf contract (write at
 * most cap-1 bytes and a NUL, return the length the whole text needs), so a
 * container's repr is built by appending pieces and children's reprs into the
 * caller's buffer while counting the full length. A negative child result (an
 * error: recursion too deep) is remembered and returned by rh__repr_done.
 * ------------------------------------------------------------------------- */
typedef struct rh__reprbuf {
    char *buf;
    size_t cap;
    size_t len; /* length of the full text so far (may exceed cap) */
    int failed; /* a child repr returned a negative value */
} rh__reprbuf;

void rh__repr_begin(rh__reprbuf *w, char *buf, size_t cap);
void rh__repr_puts(rh__reprbuf *w, const char *s);
void rh__repr_obj(rh__reprbuf *w, rh_object *o);
/* The snprintf-style result: the full length, or -1 if a child failed. */
int rh__repr_done(rh__reprbuf *w);

/* Recursion guard (Py_ReprEnter/Py_ReprLeave): a per-thread stack of the
 * containers whose repr is in progress, kept as frames on the C stack.
 * rh__repr_enter returns 0 when o was pushed (call rh__repr_leave after),
 * 1 when o is already being printed further up (print "[...]" and do not
 * leave), -1 when the nesting is deeper than RH__REPR_MAX_DEPTH (the heap
 * error RH_EOVERFLOW is set on o's heap; do not leave). */
#define RH__REPR_MAX_DEPTH 1000 /* CPython's default recursion limit */
typedef struct rh__repr_frame {
    const rh_object *obj;
    struct rh__repr_frame *up;
} rh__repr_frame;
int rh__repr_enter(rh__repr_frame *f, const rh_object *o);
void rh__repr_leave(rh__repr_frame *f);

/* Equality of two items inside a container, as CPython's
 * PyObject_RichCompareBool: identity first, then the type hook through
 * rh_equal. 1, 0 or -1. */
static inline int rh__item_eq(rh_object *a, rh_object *b) {
    if (a == b) return 1;
    return rh_equal(a, b);
}

/* Sets an error on o's heap; nothing for a static immortal such as the
 * empty tuple, which belongs to no heap. */
void rh__cont_err(const rh_object *o, rh_error code, const char *msg);

/* Keeps the heap's current error across an operation that may set one which
 * the caller wants to ignore (a failed shrinking realloc). */
typedef struct rh__saved_err {
    rh_error code;
    char msg[RH__ERRMSG_MAX];
} rh__saved_err;
void rh__err_save(rh_heap *h, rh__saved_err *s);
void rh__err_restore(rh_heap *h, const rh__saved_err *s);

#endif
