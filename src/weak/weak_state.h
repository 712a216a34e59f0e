/*
 * weak_state.h — the weak references' part of the heap record (base/heap.h):
 * the registry of weakref.finalize objects (finalize.c). Types only; the
 * functions are in weak_internal.h.
 */
#ifndef REFHEAP_WEAK_STATE_H
#define REFHEAP_WEAK_STATE_H

#include "base/base.h"

/* finalize objects registered with the heap (finalize.c). */
struct rh__finalizer;

struct rh__weak_state {
    struct rh__finalizer *fin_first; /* registry, oldest first (a strong   */
    struct rh__finalizer *fin_last;  /* reference to each registered one)  */
    bool fin_shutdown;               /* atexit ran: finalizers no longer call */
    /* Is o, dead, waiting on the deferred list of the object layer (its
     * weakrefs still linked)? For the invariant check only: the object
     * layer's rh__dealloc_waiting, which heap.c puts here (NULL: none is). */
    bool (*referent_waiting)(const rh_object *o);
};

#endif /* REFHEAP_WEAK_STATE_H */
