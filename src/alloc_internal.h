/*
 * alloc_internal.h — the allocator's interface to the rest of refheap.
 * Owned by pools.c / heap.c / debugmem.c. The state struct below is filled in
 * by the allocator; other subsystems use only the functions.
 */
#ifndef REFHEAP_ALLOC_INTERNAL_H
#define REFHEAP_ALLOC_INTERNAL_H

struct rh__pool;  /* pools.c: a 16 KiB pool, header at its start          */
struct rh__arena; /* pools.c: a 1 MiB arena's bookkeeping (malloc'ed)    */
struct rh__large; /* sysmem.c: header of a block from the system allocator */

/* Pools per arena: an arena is 1 MiB-aligned, so all 64 pools are usable. */
#define RH__POOLS_PER_ARENA ((unsigned)(RH_ARENA_SIZE / RH_POOL_SIZE))

struct rh__alloc_state {
    /* --- pools (pools.c) ---------------------------------------------- */
    /* usable[c]: pools of class c with at least one block in use and one
     * free (carved or not); doubly linked through rh__pool.next/prev. The
     * fast path pops a block from usable[c]'s head. */
    struct rh__pool *usable[RH_NUM_CLASSES];
    /* Arenas with at least one free pool, bucketed by how many they have:
     * by_nfree[k] lists arenas with exactly k+1 free pools; bit k of
     * nfree_bits is set when that list is non-empty. The fullest arena is
     * by_nfree[ctz(nfree_bits)]. */
    struct rh__arena *by_nfree[RH__POOLS_PER_ARENA];
    uint64_t nfree_bits;
    struct rh__arena *arenas;       /* every mapped arena (all_next list)   */
    size_t empty_arenas;            /* arenas with every pool free          */
    bool tools;                     /* running under Valgrind: announce blocks */

    /* --- blocks from the system allocator (sysmem.c) ------------------ */
    struct rh__large *large;        /* live system blocks, doubly linked    */
    size_t large_count, large_bytes;

    /* --- debug mode (debugmem.c) -------------------------------------- */
    uint64_t serial;                /* serial of the last debug block       */
    void **quarantine;              /* ring of freed, still-poisoned blocks */
    size_t quarantine_cap, quarantine_len, quarantine_head;
    _Atomic uintptr_t owner;        /* thread inside the heap (0: none)     */
    unsigned depth;                 /* nesting of rh__enter by that thread  */

    /* --- fault injector (heap.c) -------------------------------------- */
    bool fault_armed;               /* countdown running or failing for good */
    bool fail_persistent;
    bool failing;
    long fail_countdown;
    uint64_t alloc_count;

    /* --- statistics ---------------------------------------------------- */
    size_t arenas_current, arenas_peak, arenas_allocated, arenas_released;
    size_t in_use, peak_in_use;     /* bytes: pool blocks at class size + system blocks */
    size_t requested;               /* bytes requested by live blocks (see rh_heap_stats) */
    uint64_t frees, reallocs, failed;
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
