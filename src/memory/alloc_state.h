/*
 * alloc_state.h — the allocator's part of the heap record (base/heap.h):
 * the state of the pools, the system blocks, debug mode, the fault injector
 * and the statistics. Types only; filled in by the allocator (src/memory/),
 * whose functions are in alloc_internal.h.
 */
#ifndef REFHEAP_ALLOC_STATE_H
#define REFHEAP_ALLOC_STATE_H

#include "base/base.h"

struct rh__pool;  /* pools.c: the header of a 16 KiB pool (in its arena's meta) */
struct rh__arena; /* pools.c: a 1 MiB arena's bookkeeping (malloc'ed)    */
struct rh__large; /* sysmem.c: header of a block from the system allocator */
struct rh__mem_methods; /* memory/layer.h: the operations of a layer */
struct rh__trace_fast;  /* memory/trace_fast.h: allocation tracing's hooks and hot state */
struct rh__mark_walk;   /* memory/marks.h: a walk over the marked blocks */

/* One layer of the heap's allocator stack (memory/layer.h: the contract).
 * `state` is the layer's own (the heap's allocator state for the back ends
 * and the shims, whose fields are below), `below` the layer it wraps (NULL
 * for a back end). */
typedef struct rh__mem_layer {
    const struct rh__mem_methods *m;
    struct rh_heap *heap;
    void *state;
    struct rh__mem_layer *below;
} rh__mem_layer;

/* Pools per arena: an arena is 1 MiB-aligned, so all 64 pools are usable. */
#define RH__POOLS_PER_ARENA ((unsigned)(RH_ARENA_SIZE / RH_POOL_SIZE))

/* Bits of rh__alloc_state.slow: a non-zero word sends every call to the
 * slow paths, so the fast paths of pools mode test one word. */
#define RH__SLOW_MODE 1u  /* the heap is not in pools mode                    */
#define RH__SLOW_FAULT 2u /* the fault injector is armed                      */
#define RH__SLOW_TOOLS 4u /* running under Valgrind: every block is announced */
#define RH__SLOW_TRACE 8u /* allocation tracing is on: call h->alloc.trace    */

/* Entries per class of the block cache (rh__alloc_state.bcache). */
#define RH__BCACHE_CAP 32u

struct rh__alloc_state {
    /* --- hot: all the fast paths of pools mode read ------------------- */
    unsigned slow;                  /* RH__SLOW_* bits                      */
    /* Two words derived from slow (rh__alloc_slow_set writes all three):
     * what the raw fast paths compare with in place of a test of slow,
     * each in a compare they make anyway, so that a slow heap fails that
     * compare and a fast one pays no test (alloc_priv.h, "The fast
     * paths"). Object creation and death have no such compare (creation
     * must not read the type before a slow heap's checks of it, which name
     * a NULL or broken type in debug mode; death learns the heap from the
     * block): they test fast_owner == h (rh__heap_fast), one compare.
     *   fast_owner  h while slow is 0, else 1 (no owner word of the radix
     *               tree is 1): rh_free's owner test
     *   fast_small  RH_SMALL_MAX while slow is 0, else 0: rh_malloc's size
     *               test n - 1 < fast_small */
    uintptr_t fast_owner;
    size_t fast_small;
    /* usable[c]: the pools of class c with a free block (carved or not)
     * and either a block in use or the role of cached[c], and no other
     * (never a full one); doubly linked through rh__pool.next/prev. The
     * fast path pops from the head. */
    struct rh__pool *usable[RH_NUM_CLASSES];
    /* Pool blocks of class c ever handed out / given back, by every path.
     * Their difference times the block size is the pools' bytes in use;
     * the call counters below are derived from them (see alloc.c). */
    uint64_t nalloc[RH_NUM_CLASSES], nfreed[RH_NUM_CLASSES];
    /* The block cache (pools.c's essay): the free blocks of class c that
     * wait, as a stack of words (alloc_priv.h: a block's address
     * shifted left by 16 bits, the stack's depth down to it in the low
     * bits). bcache_top[c] is the newest's word, 0 when none waits; the
     * word below the one of depth k is bcache[c][k - 1] (0 at the bottom:
     * bcache[c][0] stays 0). rh__bcache_count, rh__bcache_entry. */
    uintptr_t bcache_top[RH_NUM_CLASSES];

    /* --- pools (pools.c) ---------------------------------------------- */
    /* cached[c]: the pool of class c last kept back from its arena when it
     * emptied (or NULL). It stays on usable[c] and counts as a used pool of
     * its arena; it is the cached empty pool only while its `used` is 0
     * (the fast path may have allocated from it since). */
    struct rh__pool *cached[RH_NUM_CLASSES];
    /* Arenas with at least one free pool, bucketed by how many they have:
     * by_nfree[k] lists arenas with exactly k+1 free pools; bit k of
     * nfree_bits is set when that list is non-empty. The fullest arena is
     * by_nfree[ctz(nfree_bits)]. */
    struct rh__arena *by_nfree[RH__POOLS_PER_ARENA];
    uint64_t nfree_bits;
    /* Pools taken from their arenas and not given back: the sum over the
     * arenas of RH__POOLS_PER_ARENA - nfree (cached empty pools included).
     * Their blocks hold every byte the classes count in use, so
     * pools_taken * RH_POOL_SIZE bounds that figure (rh__note_peak). */
    size_t pools_taken;
    struct rh__arena *arenas;       /* every mapped arena (all_next list)   */
    /* The same arenas sorted by address, by_addr[0 .. nby_addr), room for
     * capby_addr (memory/marks.h: the walk finds the next arena there). */
    struct rh__arena **by_addr;
    size_t nby_addr, capby_addr;
    struct rh__arena *idle;         /* the one idle arena kept mapped (a hint:
                                       re-checked before it is relied on)  */
    bool tools;                     /* running under Valgrind: announce blocks */
    bool bcache_flushing;           /* rh__bcache_flush_all is running (pools.c) */
    /* Arena decay (pools.c): how long an empty arena beyond `idle` stays
     * mapped (0: released at once), and the earliest moment (rh__decay_clock
     * milliseconds) at which one of them is due (0: none waits). */
    uint64_t decay_ms;
    uint64_t decay_deadline;
    /* When decay_tick empties the block cache (0: not set; pools.c's
     * essay, "The block cache"). */
    uint64_t bcache_deadline;

    /* --- blocks from the system allocator (sysmem.c) ------------------ */
    struct rh__large *large;        /* live system blocks, doubly linked    */
    size_t large_count, large_bytes;

    /* --- walks over the marked blocks (memory/marks.h) ---------------- */
    struct rh__mark_walk *walks;    /* open walks, linked through their next */

    /* --- debug mode (debugmem.c) -------------------------------------- */
    uint64_t serial;                /* serial of the last debug block       */
    void *debug_live;               /* newest live debug block's header (debugmem.c) */
    void **quarantine;              /* ring of freed, still-poisoned blocks */
    size_t quarantine_cap, quarantine_len, quarantine_head;
    size_t quar_bytes;              /* raw bytes of the quarantined blocks  */
    size_t quar_large_bytes, quar_large_count; /* of those, system blocks   */
    _Atomic uintptr_t owner;        /* thread inside the heap (0: none)     */
    unsigned depth;                 /* nesting of rh__enter by that thread  */

    /* --- fault injector (fault.c) -------------------------------------- */
    bool fail_persistent;
    bool failing;
    long fail_countdown;

    /* --- statistics (alloc.c) ----------------------------------------- */
    uint64_t calls_slow;            /* allocating calls outside the fast path */
    uint64_t slow_pops, slow_pushes; /* pool blocks taken / given back by them */
    uint64_t frees_slow;            /* free calls outside the fast path     */
    size_t arenas_current, arenas_peak, arenas_allocated, arenas_released;
    size_t peak_in_use;             /* sampled: see rh__note_peak           */
    size_t requested;               /* bytes requested by live blocks (see rh_heap_stats) */
    uint64_t reallocs, failed;

    /* --- the layer stack (memory/layer.h; alloc.c chooses it) -------- */
    rh__mem_layer *top;             /* serves every slow-path call          */
    rh__mem_layer back;             /* the back end: pools or system        */
    rh__mem_layer debug;            /* debug mode's shim (debug mode only)  */
    rh__mem_layer fault;            /* the fault injector's shim, on top while armed */
    rh__mem_layer trace_shim;       /* allocation tracing's shim, while tracing */

    /* --- tracing ------------------------------------------------------ */
    struct rh__trace_fast *trace;   /* set by the tracer before RH__SLOW_TRACE:
                                       its hooks (alloc_internal.h) and hot
                                       state (memory/trace_fast.h)          */

    /* --- the block cache's older words (bcache_top above) ------------ */
    uintptr_t bcache[RH_NUM_CLASSES][RH__BCACHE_CAP];
};

#endif /* REFHEAP_ALLOC_STATE_H */
