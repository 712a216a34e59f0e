/*
 * alloc_internal.h — the allocator's interface to the rest of refheap.
 * Owned by pools.c / heap.c / debugmem.c. The state struct below is filled in
 * by the allocator; other subsystems use only the functions.
 */
#ifndef REFHEAP_ALLOC_INTERNAL_H
#define REFHEAP_ALLOC_INTERNAL_H

struct rh__alloc_state {
    /* Filled in by the allocator (pools, large-block list, debug registry,
     * fault injector, counters, owner thread for the debug thread check). */
    void *impl; /* placeholder until pools.c defines its fields */
};

int rh__alloc_init(rh_heap *h);   /* 0 or -1 */
void rh__alloc_fini(rh_heap *h);  /* returns every byte to the OS */

/* Object memory. rh__obj_alloc is rh_malloc_at for an object's block.
 * rh__obj_free frees it; in debug mode the block is filled with the freed
 * pattern, quarantined, and the 32-bit word at `header_offset` (the object's
 * reference count) is set to 0 so that a later incref/decref of the dead
 * object reaches the slow path, which asks rh__debug_describe about it. */
void *rh__obj_alloc(rh_heap *h, size_t n, const char *file, int line);
void rh__obj_free(rh_heap *h, void *block, size_t header_offset);

/* Debug mode: remember the type name of the object living in this block
 * (shown in reports). No-op in other modes. */
void rh__debug_note_type(rh_heap *h, void *block, const char *type_name);

/* Debug mode: what the allocator knows about the block containing p.
 * Returns false when not in debug mode or p is not a debug block. */
typedef struct rh__blockinfo {
    uint64_t serial;
    size_t size;
    const char *file;
    int line;
    const char *type_name; /* from rh__debug_note_type, or NULL */
    bool freed;
} rh__blockinfo;
bool rh__debug_describe(rh_heap *h, const void *p, rh__blockinfo *out);

/* The heap owning a block/object pointer, or NULL if it is not refheap's
 * (immortal static objects have none). O(1). */
rh_heap *rh__heap_of(const void *p);

/* Debug-mode thread check around public entry points that touch a heap. */
void rh__enter(rh_heap *h);
void rh__leave(rh_heap *h);

#endif
