/*
 * weak_internal.h — weak references as the collector and deallocation see them.
 * Owned by weakref.c (weakdict.c and finalize.c use it too).
 */
#ifndef REFHEAP_WEAK_INTERNAL_H
#define REFHEAP_WEAK_INTERNAL_H

#include "memory/alloc_internal.h"

int rh__weak_init(rh_heap *h);
void rh__weak_atexit(rh_heap *h);   /* weakref.finalize callbacks still alive, newest first */
void rh__weak_fini(rh_heap *h);

/* A weak reference object (type rh_weakref_type, a tracked container so that
 * collect() counts it as CPython counts its weakrefs).
 *
 * Invariants:
 *   referent != NULL  <=>  the weakref is linked in referent's weakref list
 *                          (wr_prev/wr_next are list links, wr_prev == NULL
 *                          for the list head).
 *   referent == NULL  =>   wr_prev/wr_next mean nothing to anyone but the
 *                          code that cleared it (weakref.c and gc.c thread
 *                          their callbacks-to-run chains through wr_next).
 *   In a referent's list the shared callback-less weakref (callback and
 *   cbdata NULL), if any, is the head; the others (with a callback, or
 *   unshared: no callback, cbdata a private tag) follow, newest first.
 * A plain weakref owns no reference at all (64 bytes + the collector's 16,
 * CPython's 80). */
typedef struct rh__weakref {
    RH_OBJECT_HEAD;
    rh_object *referent;            /* NULL once cleared                      */
    rh_hash_t hash;                 /* -1 until computed; kept after death    */
    rh_weakref_callback callback;   /* NULL: none                             */
    void *cbdata;
    struct rh__weakref *wr_prev;    /* in the referent's list of weakrefs     */
    struct rh__weakref *wr_next;
} rh__weakref;

/* The entries of the weak containers (weakdict.c) are weakrefs with a
 * callback whose data, `cbdata`, is an owned weak reference to their
 * container (Python's `selfref` default argument of the containers'
 * removal callbacks): an entry that escaped (rh_weakref_list) and outlived
 * its container finds that weakref dead instead of a dangling pointer.
 *   rh__entryref_type   weak-key dictionary and weak-set entries (layout
 *                       rh__weakref, named "weakref" as CPython's);
 *   rh__keyedref_type   weak-value dictionary entries (Python's KeyedRef, a
 *                       subclass of ref), which also own the entry's key,
 *                       so the callback can remove the entry.
 * Both visit and clear what they own; everything that accepts a weakref
 * accepts them (rh__is_weakref). */
typedef struct rh__keyedref {
    rh__weakref ref;
    rh_object *key;                 /* owned                                  */
} rh__keyedref;
extern const rh_type rh__keyedref_type;
extern const rh_type rh__entryref_type;

/* The head of an object's weakref list (RH_TYPE_WEAKREFABLE types only). */
static inline rh__weakref **rh__weaklist_of(rh_object *o) {
    return (rh__weakref **)(void *)((char *)o + o->rh_type->weaklist_offset);
}

/* A dead object waiting on the deferred list (object.c) keeps its weak
 * references linked until the drain reaches it, as CPython's trashcan does;
 * they must read as dead meanwhile (CPython 3.11's PyWeakref_GET_OBJECT
 * tests for a count of 0). A waiting container of the linked layout has a
 * count of 0. A waiting non-container's count field, and that of a
 * container without list links (docs/linkless.md), holds the list's link
 * instead, so object.c sets this bit in its weaklist slot while it waits:
 *   gone(o)  <=>  count(o) == 0  or  (slot(o) & RH__WEAKLIST_WAITING)
 * The slot is otherwise read only by code that holds a reference to o (never
 * true of a waiting object), except unlink_ref, which keeps the bit. */
#define RH__WEAKLIST_WAITING ((uintptr_t)1)

static inline void rh__weaklist_set_waiting(rh_object *o, bool waiting) {
    rh__weakref **slot = rh__weaklist_of(o);
    uintptr_t v = (uintptr_t)*slot & ~RH__WEAKLIST_WAITING;
    *slot = (rh__weakref *)(v | (waiting ? RH__WEAKLIST_WAITING : 0));
}

/* Is the referent of a live weakref dead to the weakref's users? */
static inline bool rh__referent_gone(rh_object *o) {
    return o->rh_refcnt == 0 || ((uintptr_t)*rh__weaklist_of(o) & RH__WEAKLIST_WAITING) != 0;
}

/* Is o a weak reference object? */
static inline bool rh__is_weakref(const rh_object *o) {
    return o->rh_type == &rh_weakref_type || o->rh_type == &rh__keyedref_type ||
           o->rh_type == &rh__entryref_type;
}

/* On death by reference counting (object.c calls it after the finalizer and
 * before destroy): clears every weak reference to o, then runs the callbacks of
 * those still alive, newest first. The heap's pending error survives. */
void rh__weakref_clear_all(rh_object *o);

/* After a legacy_del that did not resurrect o (object.c): clears the weak
 * references it made to o, without running their callbacks (CPython's
 * subtype_dealloc), so none outlives o. */
void rh__weakref_clear_only(rh_object *o);

/* Clears one weak reference (referent = NULL, unlinked). No callback; the
 * callback and its data stay in the weakref for the caller to run. A weakref
 * already cleared is left alone. */
void rh__weakref_clear(rh__weakref *wr);

/* rh_weakref_new, with errors reported on `h` when obj belongs to no heap
 * (the static singletons and small ints). */
rh_object *rh__weakref_new_in(rh_heap *h, rh_object *obj, rh_weakref_callback cb, void *data);

/* A weak container's entry (always new): a weakref to obj with callback cb
 * whose cbdata is `owner` (a weakref to the container; a new reference is
 * taken); with a non-NULL `key` (a new reference is taken) an rh__keyedref
 * that owns it, else an rh__entryref. Errors as rh__weakref_new_in. */
rh_object *rh__weakref_new_entry(rh_heap *h, rh_object *obj, rh_weakref_callback cb,
                                 rh_object *owner, rh_object *key);

/* Runs cb(wr, data) holding a temporary reference to wr, with the heap's
 * pending error saved and restored around the call (used by the collector
 * too, so that every callback runs under the same rules). */
void rh__weakref_run_callback(rh_heap *h, rh__weakref *wr);

/* Invariant check (RH_DEBUG >= 3; see base/base.h): the invariants above,
 * for o, a tracked object (a weakref, a weakly referenced object, or
 * anything else: then nothing to check). The collector's rh__weak_check
 * calls it for every object it tracks. A violation stops the program. */
void rh__weak_check_object(rh_heap *h, rh_object *o);

#endif
