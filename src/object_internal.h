/*
 * object_internal.h — object allocation and deallocation shared state.
 * Owned by object.c (and str.c for interning).
 */
#ifndef REFHEAP_OBJECT_INTERNAL_H
#define REFHEAP_OBJECT_INTERNAL_H

struct rh__obj_state {
    void *interned; /* the intern table (str.c) */
};

/* Is o an object that lives in a heap (not a static immortal)? */
bool rh__is_heap_object(const rh_object *o);

#endif
