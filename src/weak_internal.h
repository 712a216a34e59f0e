/*
 * weak_internal.h — weak references as the collector and deallocation see them.
 * Owned by weakref.c.
 */
#ifndef REFHEAP_WEAK_INTERNAL_H
#define REFHEAP_WEAK_INTERNAL_H

/* A weak reference object (type rh_weakref_type, a tracked container so that
 * collect() counts it as CPython counts its weakrefs). */
typedef struct rh__weakref {
    RH_OBJECT_HEAD;
    rh_object *referent;            /* NULL once cleared                      */
    rh_hash_t hash;                 /* -1 until computed; kept after death    */
    rh_weakref_callback callback;   /* NULL: none                             */
    void *cbdata;
    struct rh__weakref *wr_prev;    /* in the referent's list of weakrefs     */
    struct rh__weakref *wr_next;
} rh__weakref;

/* The head of an object's weakref list (RH_TYPE_WEAKREFABLE types only). */
static inline rh__weakref **rh__weaklist_of(rh_object *o) {
    return (rh__weakref **)(void *)((char *)o + o->rh_type->weaklist_offset);
}

struct rh__weak_state {
    void *impl; /* filled in by weakref.c (finalize registry, ...) */
};

/* On death by reference counting (object.c calls it after the finalizer and
 * before destroy): clears every weak reference to o, then runs the callbacks of
 * those still alive, newest first. */
void rh__weakref_clear_all(rh_object *o);

/* Clears one weak reference (referent = NULL, unlinked). No callback. */
void rh__weakref_clear(rh__weakref *wr);

#endif
