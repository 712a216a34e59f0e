/*
 * gc_internal.h — the collector's interface to the rest of refheap. Owned by gc.c.
 */
#ifndef REFHEAP_GC_INTERNAL_H
#define REFHEAP_GC_INTERNAL_H

struct rh__gc_state {
    void *impl; /* filled in by gc.c */
};

/* Called by object allocation after a container's block was allocated (before
 * the object is returned; it is not tracked yet): counts it in generation 0
 * and may run an automatic collection. */
void rh__gc_on_alloc(rh_heap *h);
/* Called when a container's memory is freed. */
void rh__gc_on_free(rh_heap *h);

#endif
