/*
 * tuple.c — the immutable sequence with its items stored inline.
 *
 * Layout. A tuple is a variable-size object (rh_new_var, itemsize 8): the
 * header, the item count, then the item pointers in the same block, exactly
 * CPython's PyTupleObject. Every slot always holds a reference (None until a
 * creator fills it with rh_tuple_set_steal), so no code path has to check for
 * NULL items. The empty tuple is one static immortal object shared by every
 * heap (rh_tuple_new(h, 0) returns it); it owns nothing and is never tracked.
 *
 * Hash. CPython 3.11's tuple hash, a reduced xxHash64 round per item over the
 * items' hashes, reproduced from its published description so that a tuple of
 * ints hashes to the same number as in Python (hash((1, 2)) ==
 * -3550055125485641917 when ints hash to their value). Equal tuples hash equal
 * because the hash depends only on the items' hashes, in order.
 *
 * Tracking (REFERENCE.md §3, §7). A tuple is tracked at creation, because its
 * creator may still store containers into it. The collector calls the
 * untrack_check hook on tuples surviving any collection; it answers "may be
 * untracked" when no item may be tracked (a container other than a tuple, or
 * a tracked tuple; see rh__may_be_tracked). Untracking a tuple can make an
 * outer tuple untrackable at a later collection, which is why nested tuples
 * may need several collections to settle, as in CPython. One refinement: a
 * tuple untracked while its creator was still filling it (a collection ran
 * between rh_tuple_new and rh_tuple_set_steal) is tracked again when a
 * container is stored into it.
 *
 * States: being filled (creator-only, items may still be None), then frozen.
 * Destruction drops the items; refheap's deallocator bounds the recursion.
 */
#include "objects/containers.h"

#include <stdarg.h>
#include <stddef.h>

typedef struct rh__tuple {
    RH_OBJECT_HEAD;
    size_t size;
    rh_object *items[];
} rh__tuple;

#define TUP(o) ((rh__tuple *)(void *)(o))

/* Largest tuple whose byte size (header, count, items, collector record)
 * still fits a size_t. */
#define TUPLE_MAX_ITEMS ((SIZE_MAX - sizeof(rh__tuple) - sizeof(rh__gchead)) / sizeof(rh_object *))

/* ---------------------------------------------------------------------------
 * The static empty tuple: a collector record (never linked: not tracked) in
 * front of an immortal header, so that it has the layout of any other tuple.
 * ------------------------------------------------------------------------- */
typedef struct empty_tuple_block {
    _Alignas(16) rh__gchead gc;
    rh_object head; /* laid out as rh__tuple without its (empty) item array */
    size_t size;
} empty_tuple_block;
_Static_assert(offsetof(empty_tuple_block, size) - offsetof(empty_tuple_block, head) ==
                   offsetof(rh__tuple, size),
               "the static empty tuple must have a tuple's layout");
_Static_assert(offsetof(empty_tuple_block, head) == sizeof(rh__gchead),
               "the collector record must sit right before the header");

static empty_tuple_block empty_tuple = {
    {0, 0},
    {RH_IMMORTAL, 0, &rh_tuple_type},
    0,
};

#define EMPTY_TUPLE (&empty_tuple.head)

/* ---------------------------------------------------------------------------
 * Type hooks
 * ------------------------------------------------------------------------- */

static void tuple_destroy(rh_object *self) {
    rh__tuple *t = TUP(self);
    size_t i = t->size;
    while (i-- > 0) {
        rh_object *it = t->items[i];
        t->items[i] = NULL;
        if (it) rh_decref(it);
    }
}

static int tuple_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    rh__tuple *t = TUP(self);
    for (size_t i = 0; i < t->size; i++) {
        if (t->items[i]) {
            int r = visit(t->items[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static int tuple_repr(rh_object *self, char *buf, size_t cap) {
    rh__tuple *t = TUP(self);
    rh__reprbuf w;
    rh__repr_begin(&w, buf, cap);
    if (t->size == 0) {
        rh__repr_puts(&w, "()");
        return rh__repr_done(&w);
    }
    rh__repr_frame f;
    int e = rh__repr_enter(&f, self);
    if (e < 0) return -1;
    if (e > 0) {
        rh__repr_puts(&w, "(...)");
        return rh__repr_done(&w);
    }
    rh__repr_puts(&w, "(");
    for (size_t i = 0; i < t->size && !w.failed; i++) {
        if (i) rh__repr_puts(&w, ", ");
        rh__repr_obj(&w, t->items[i]);
    }
    rh__repr_puts(&w, t->size == 1 ? ",)" : ")");
    rh__repr_leave(&f);
    return rh__repr_done(&w);
}

/* xxHash64's primes and rotation as CPython 3.11 uses them for tuples. */
#define XXPRIME_1 UINT64_C(11400714785074694791)
#define XXPRIME_2 UINT64_C(14029467366897019727)
#define XXPRIME_5 UINT64_C(2870177450012600261)
#define XXROTATE_BITS 31
/* Mixed into the length so that tuples of different lengths whose item
 * hashes cancel out still differ (CPython's constant). */
#define TUPLE_LEN_SALT UINT64_C(3527539)
/* Returned instead of -1, which means "error" (CPython's substitute). */
#define TUPLE_HASH_MINUS_ONE_SUBST 1546275796

static rh_hash_t tuple_hash(rh_object *self) {
    rh__tuple *t = TUP(self);
    uint64_t acc = XXPRIME_5;
    for (size_t i = 0; i < t->size; i++) {
        rh_hash_t lane = rh_hash(t->items[i]);
        if (lane == -1) return -1;
        acc += (uint64_t)lane * XXPRIME_2;
        acc = (acc << XXROTATE_BITS) | (acc >> (64 - XXROTATE_BITS));
        acc *= XXPRIME_1;
    }
    acc += (uint64_t)t->size ^ (XXPRIME_5 ^ TUPLE_LEN_SALT);
    if (acc == UINT64_MAX) return TUPLE_HASH_MINUS_ONE_SUBST;
    return (rh_hash_t)acc;
}

static int tuple_eq(rh_object *self, rh_object *other) {
    if (self == other) return 1;
    if (other->rh_type != &rh_tuple_type) return 0;
    rh__tuple *a = TUP(self), *b = TUP(other);
    if (a->size != b->size) return 0;
    for (size_t i = 0; i < a->size; i++) {
        int r = rh__item_eq(a->items[i], b->items[i]);
        if (r <= 0) return r;
    }
    return 1;
}

/* rh_sizeof counts basicsize; the inline items are ours to report. */
static size_t tuple_sizeof_extra(rh_object *self) {
    return TUP(self)->size * sizeof(rh_object *);
}

static int tuple_untrack_check(rh_object *self) {
    rh__tuple *t = TUP(self);
    for (size_t i = 0; i < t->size; i++)
        if (t->items[i] && rh__may_be_tracked(t->items[i])) return 0;
    return 1;
}

const rh_type rh_tuple_type = {
    .name = "tuple",
    .basicsize = sizeof(rh__tuple),
    .itemsize = sizeof(rh_object *),
    .flags = RH_TYPE_GC | RH_TYPE_IMMUTABLE,
    .destroy = tuple_destroy,
    .traverse = tuple_traverse,
    .clear = NULL, /* immutable: cycles through tuples are broken by their mutable members */
    .repr = tuple_repr,
    .hash = tuple_hash,
    .eq = tuple_eq,
    .sizeof_extra = tuple_sizeof_extra,
    .untrack_check = tuple_untrack_check,
};

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

rh_object *rh_tuple_new(rh_heap *h, size_t n) {
    if (n == 0) return EMPTY_TUPLE;
    if (n > TUPLE_MAX_ITEMS) {
        rh_err_set(h, RH_EOVERFLOW, "tuple: %zu items is too many", n);
        return NULL;
    }
    /* tracked at creation: the items are set without an allocation between */
    rh_object *o = rh_new_var_tracked(h, &rh_tuple_type, n);
    if (!o) return NULL;
    rh__tuple *t = TUP(o);
    t->size = n;
    for (size_t i = 0; i < n; i++) t->items[i] = rh_None; /* immortal: no count */
    return o;
}

rh_object *rh_tuple_from(rh_heap *h, rh_object *const *items, size_t n) {
    rh_object *o = rh_tuple_new(h, n);
    if (!o || n == 0) return o;
    rh__tuple *t = TUP(o);
    for (size_t i = 0; i < n; i++) t->items[i] = rh_newref(items[i]);
    return o;
}

rh_object *rh_tuple_pack(rh_heap *h, size_t n, ...) {
    rh_object *o = rh_tuple_new(h, n);
    if (!o || n == 0) return o;
    rh__tuple *t = TUP(o);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) t->items[i] = rh_newref(va_arg(ap, rh_object *));
    va_end(ap);
    return o;
}

size_t rh_tuple_size(const rh_object *t) {
    RH__CHECK_LIVE(t, "rh_tuple_size");
    return TUP(t)->size;
}

rh_object *rh_tuple_get(const rh_object *t, size_t i) {
    RH__CHECK_LIVE(t, "rh_tuple_get");
    if (i >= TUP(t)->size) {
        rh__cont_err(t, RH_EINDEX, "tuple index out of range");
        return NULL;
    }
    return TUP(t)->items[i];
}

void rh_tuple_set_steal(rh_object *t, size_t i, rh_object *item) {
    RH__CHECK_LIVE(t, "rh_tuple_set_steal");
    rh__tuple *tp = TUP(t);
    if (i >= tp->size)
        rh__fatal("rh_tuple_set_steal: index %zu out of range for a tuple of %zu items", i, tp->size);
    rh_object *old = tp->items[i];
    tp->items[i] = item;
    if (!rh_gc_is_tracked(t) && rh__may_be_tracked(item)) rh_gc_track(t);
    rh_xdecref(old);
}
