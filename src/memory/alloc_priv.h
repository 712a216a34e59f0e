/*
 * alloc_priv.h — what the allocator's own files (alloc.c, backends.c, fault.c, pools.c, sysmem.c,
 * debugmem.c) share: the pool, arena and system-block layouts, the
 * pointer-ownership radix tree, and the inline fast paths of pools mode.
 * Outside the allocator object.c includes it for those fast paths
 * (rh__pool_pop for object creation, through objects/object_new.h, which
 * the built-in constructors of fixed-size types include too;
 * rh__pool_owner, then rh__bcache_push_leaf, for an object's death), the collector for the ownership test
 * of its fused pass, and the tools for the trace hooks; the rest of refheap
 * uses alloc_internal.h.
 *
 * Layering (each layer only calls the ones below it):
 *
 *   alloc.c     public entry points, counters, peak, errors, tracing; the
 *               inline fast paths below (pools mode, slow word 0) and,
 *               for every other call, the top of the heap's layer stack
 *   ----------- the layer interface (memory/layer.h) -------------------
 *   fault.c     shim: the fault injector, on top while armed
 *   debugmem.c  shim: debug mode, a header, guards and fills around a
 *               block of the layer below
 *   backends.c  back ends: pools (small blocks from pools.c, the rest from
 *               sysmem.c) and system (every block from sysmem.c)
 *   pools.c     the pools and arenas       } what the back ends
 *   sysmem.c    the system allocator       } are made of
 */
#ifndef REFHEAP_ALLOC_PRIV_H
#define REFHEAP_ALLOC_PRIV_H

#include "memory/alloc_internal.h"

#include <stdatomic.h>

/* ---------------------------------------------------------------------------
 * Tool support. Under AddressSanitizer (RH_SANITIZE) free pool blocks are
 * poisoned by hand; under Valgrind (detected at run time) every pool block
 * is announced as a chunk of a Valgrind "mempool" whose anchor is the heap.
 * A build with REFHEAP_VALGRIND_ANNOTATIONS=OFF (RH_NO_VALGRIND_ANNOTATIONS)
 * leaves <valgrind/memcheck.h> out: RUNNING_ON_VALGRIND is 0 and the
 * requests are nothing, so under callgrind the library runs the code it
 * runs outside Valgrind.
 * ------------------------------------------------------------------------- */
#if defined(RH_SANITIZE)
#include <sanitizer/asan_interface.h>
#define RH__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define RH__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define RH__POISON(p, n) ((void)(p), (void)(n))
#define RH__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(__has_include) && !defined(RH_NO_VALGRIND_ANNOTATIONS)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define RH__HAVE_VALGRIND 1
#endif
#endif
#ifndef RH__HAVE_VALGRIND
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_CREATE_MEMPOOL(a, r, z) ((void)0)
#define VALGRIND_DESTROY_MEMPOOL(a) ((void)0)
#define VALGRIND_MEMPOOL_ALLOC(a, p, n) ((void)0)
#define VALGRIND_MEMPOOL_FREE(a, p) ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(p, n) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#endif

/* The fast paths below are forced in line: left to itself, gcc keeps
 * rh__pool_pop (used by several slow paths too) as one out-of-line copy,
 * which puts a call back on every allocation. */
#if defined(__GNUC__) || defined(__clang__)
#define RH__HOT_INLINE static inline __attribute__((always_inline))
#else
#define RH__HOT_INLINE static inline
#endif
/* Kept out of line even where the compiler sees the body: inlined into a
 * fast path (gcc inlines rh__free_traced into rh_free_at, its only caller
 * in alloc.c), a slow path's call makes the fast path keep a stack frame. */
#if defined(__GNUC__) || defined(__clang__)
#define RH__OUT_OF_LINE __attribute__((noinline))
#else
#define RH__OUT_OF_LINE
#endif

/* ---------------------------------------------------------------------------
 * Pools and arenas (pools.c).
 * ------------------------------------------------------------------------- */

/* Layout (all in bytes; B = an arena's 1 MiB-aligned base address, P =
 * RH_POOL_SIZE = 16384, i = 0..63 a pool's index in its arena):
 *
 *   pool i's blocks     = [B + i*P, B + (i+1)*P)    the whole pool: no header
 *   pool i's header     = meta->pools[i]            meta = the arena's rh__arena,
 *                                                   outside the arena
 *   i for a block p     = (p >> 14) & 63            = (p - B) / P
 *   meta for a block p  = &leaf[(p >> 20) & 16383]  leaf = root[p >> 34], the
 *                                                   radix tree below
 *   capacity(c)         = P / s,  s = (c+1)*16      (e.g. 1024 blocks of 16 B,
 *                                                   32 of 512 B)
 *
 * So free(p) reads the root (one load), then, both at addresses computed
 * from the leaf, the arena's owner (in the leaf's compact array of owners,
 * eight arenas a cache line) and the pool's class (in the leaf's class map,
 * below); only a block that goes to its pool rather than to the block
 * cache needs meta->pools[i]: the 64 headers of an
 * arena are 32 bytes each, 2 KiB per MiB of blocks, densely packed, instead
 * of one header at the start of every 16 KiB pool.
 *
 * The header of a pool. Invariants, for a carved pool of class c (block size
 * s = (c+1)*16):
 *   used + |freelist| + uncarved == capacity(c), uncarved = the blocks
 *     past the frontier (below), 0 when the list has none
 *   freelist == NULL  <=>  the pool is full (used == capacity(c))
 *   the pool is on alloc.usable[c]  <=>  used < capacity(c) and
 *     (used > 0 or it is alloc.cached[c]); so a full pool is never on
 *     the list (the pop that takes its last block unlinks it, in line, and
 *     the push into a full pool links it back at the head, in line), and
 *     the head of usable[c], when there is one, always has a free block
 *   on usable[c], prev is the pool before it, except at the head, whose
 *     prev is unused (not even NULL: the in-line paths spare its store)
 *   used == 0 and not cached[c]  <=>  the pool is on its arena's free list
 *                                     (class meaningless)
 *   meta->pools[i].index == i, for every i (set when the arena is mapped)
 * Carving. Blocks are carved in address order. While some are left to
 * carve, the last block carved is the pool's frontier: free, always the
 * last block of the free list, and named there (by the head or by the
 * link of the block before it) with its address tagged (RH__FRONTIER_TAG,
 * bit 0); it holds no link, and the pools never read or write its memory.
 * The blocks past it are the uncarved ones. A block is the frontier only
 * if another fits after it; the pool's last block is carved untagged, with
 * a NULL link written in it then, once. So the free list always holds at
 * least one block while the pool is not full: the pop that takes the
 * frontier (the head's tag, one test) makes the block after it the
 * frontier, in line, from the frontier's address alone; a freed block
 * pushed in front of it keeps the tagged word as its link. A fresh or
 * restarted pool (its first block the frontier) is handed out block by
 * block without one load or store into its blocks, which the caller is the
 * first to touch: on bench workload 1(b), where nearly every block is
 * carved, the store of the next block's NULL link (when a bump offset
 * marked where carving resumed and the list ended with that link) and its
 * load one pop later put a cache miss per block in the allocator, in front
 * of its other stores (docs/benchmarks.md, "Workload 1(b) on an Intel
 * Xeon"). */
typedef struct rh__pool {
    void *freelist;              /* LIFO of free blocks; link in the block's first word (the
                                    frontier's address tagged, and no link in it) */
    struct rh__pool *next, *prev; /* in usable[cls] (a head's prev unused), or the arena's free pools (next) */
    uint16_t used;               /* blocks handed out (<= 1024)             */
    uint8_t cls;                 /* size class                              */
    uint8_t index;               /* i: position in meta->pools              */
    uint8_t spare[4];
} rh__pool;
_Static_assert(sizeof(rh__pool) == 32, "two pool headers per 64-byte cache line (and rh__arena_pool's shift)");
_Static_assert(RH_POOL_SIZE / RH_ALIGNMENT <= UINT16_MAX, "used fits 16 bits");
_Static_assert(RH_NUM_CLASSES <= 256 && RH__POOLS_PER_ARENA <= 256, "cls and index fit 8 bits");
_Static_assert(RH__POOLS_PER_ARENA <= 64, "nfree_bits has one bit per free-pool count");

/* The process-wide radix tree over arena addresses: a pointer's bits 47..34
 * index the root, bits 33..20 a slot of a leaf. A leaf is an array of 2^14
 * arena metas (rh__arena, below), one per 1 MiB of address space it covers,
 * followed by an array of 2^14 owners (rh_heap *, one word each, 0: no
 * arena), slot k's owner at index k: the meta of the arena at an address
 * lives in the tree itself, in that address's slot, and its owner in that
 * slot's word of the owners. The owners are apart from the metas so that
 * they are dense: every free tests its block's owner, and eight arenas'
 * owners share a cache line (in the meta, each arena's owner took a line,
 * and a page for the TLB, of its own; measured on bench workload 1(c), a
 * free of a random block over 145 arenas: 7% of the step). Leaves are
 * mapped on demand (under a mutex, MAP_NORESERVE: 2^14 * (2176 + 8 + 64 +
 * 8192) bytes = 171 MiB of address space each, of which only the slots,
 * owners and class maps of arenas mapped are touched, about one page per
 * arena, plus the pages of an arena's mark plane where blocks are marked,
 * below); a leaf's pages are
 * discarded when its last arena goes (they read as zeros again) but its
 * address range is never unmapped, so a slot can be read at any time: a slot
 * whose owner is 0 is not an arena. Readers use acquire loads only. Addresses at or above 2^48
 * are never arenas. */
#define RH__ADDR_BITS 48
#define RH__ARENA_SHIFT 20
#define RH__POOL_SHIFT 14
#define RH__RADIX_LEAF_BITS 14
#define RH__RADIX_ROOT_BITS (RH__ADDR_BITS - RH__ARENA_SHIFT - RH__RADIX_LEAF_BITS)
_Static_assert(((size_t)1 << RH__ARENA_SHIFT) == RH_ARENA_SIZE, "arena shift matches arena size");
_Static_assert(((size_t)1 << RH__POOL_SHIFT) == RH_POOL_SIZE, "pool shift matches pool size");

/* The mark plane of an arena (memory/marks.h's essay): one bit per
 * 16-byte granule, RH__MARK_WORDS words of 64 bits, bit (a >> 4) & 63 of
 * word (a >> 10) & 1023 for address a; pool i's plane is words 16 i ..
 * 16 i + 15. A block's mark is the bit of its first granule. Invariant: a
 * bit is set only at the start of a block that is handed out (carved, not
 * on its pool's free list, not in the block cache), because the layer
 * above unmarks a block before it frees it (the frees do not look at the
 * plane); pool_take zeroes a pool's words when it gives the pool a class,
 * so a bit left by a free that broke that rule never marks a block of the
 * pool's next class. The planes live in the radix leaf, after the class
 * map (rh__leaf_mark_word). */
#define RH__MARK_WORDS (RH_ARENA_SIZE / RH_ALIGNMENT / 64)
#define RH__MARK_WORDS_PER_POOL (RH__MARK_WORDS / RH__POOLS_PER_ARENA)

/* The meta of one arena: its slot in a radix leaf, outside the arena, so
 * every byte of the 64 pools holds blocks. pools[] comes first, so a pool's
 * meta is (rh__arena *)(pool - pool->index). 64-byte aligned: the headers
 * pair up in cache lines. */
typedef struct rh__arena {
    _Alignas(64) rh__pool pools[RH__POOLS_PER_ARENA]; /* the pool headers, by index */
    uintptr_t base;              /* 1 MiB-aligned mapping                   */
    rh__pool *freepools;         /* pools that were carved and are empty again */
    unsigned nfree;              /* free pools: freepools + never carved    */
    unsigned ncarved;            /* pools carved so far (bump)              */
    unsigned npinned;            /* classes whose cached[c] lies here       */
    uint64_t idle_since;         /* rh__decay_clock when it last became idle (0: never, or in use since) */
    struct rh__arena *next, *prev;         /* in alloc.by_nfree[nfree - 1] */
    struct rh__arena *all_next, *all_prev; /* in alloc.arenas              */
} rh__arena;
_Static_assert(RH__MARK_WORDS == 1024 && RH__MARK_WORDS_PER_POOL == 16, "1 KiB words, 16 a pool");

static inline rh__arena *rh__pool_arena(const rh__pool *pool) {
    return (rh__arena *)(void *)(uintptr_t)(pool - pool->index);
}
static inline char *rh__pool_base(const rh__pool *pool) {
    return (char *)(rh__pool_arena(pool)->base + (uintptr_t)pool->index * RH_POOL_SIZE);
}

extern _Atomic uintptr_t rh__radix_root[(size_t)1 << RH__RADIX_ROOT_BITS];

#define RH__LEAF_ENTRIES ((size_t)1 << RH__RADIX_LEAF_BITS)
/* A leaf's bytes: the metas, then the owners, then the class map: per
 * slot, one byte per pool, the class pool_take gave it (stale for a free
 * pool). The raw free reads its block's class there, in a line shared by
 * the 64 pools of an arena, instead of in the block's pool header (one
 * header per 16 KiB of blocks: on bench workload 1(c) a cache miss a
 * free), so that a free into the block cache touches no header. Then the
 * mark planes, slot k's at words k * 1024 .. k * 1024 + 1023: so the word
 * of address a is word (a >> 10) mod 2^24 of the planes, bits 33..10 of
 * a, found with a shift and a mask and no multiplication by the slot (a
 * plane in the meta cost the push of every free about ten instructions
 * more, bench/callgrind.py's raw32 row). */
#define RH__LEAF_PLANES_OFF (RH__LEAF_ENTRIES * (sizeof(rh__arena) + sizeof(uintptr_t) + RH__POOLS_PER_ARENA))
#define RH__LEAF_BYTES (RH__LEAF_PLANES_OFF + RH__LEAF_ENTRIES * RH__MARK_WORDS * sizeof(uint64_t))
_Static_assert(RH__LEAF_PLANES_OFF % 64 == 0, "an arena's plane starts a cache line");

/* The owner word of slot k of the leaf at `leaf` (rh_heap *; 0: no arena). */
static inline _Atomic uintptr_t *rh__leaf_owner(uintptr_t leaf, uintptr_t k) {
    return (_Atomic uintptr_t *)(void *)(leaf + RH__LEAF_ENTRIES * sizeof(rh__arena)) + k;
}

/* The index of the pool holding address a among the leaf's pools, slot
 * k * 64 + the pool's index i in its arena: bits 33..14 of a, one shift and
 * one mask, without the slot. It indexes the class map, and with the slot
 * gives the pool header's offset (rh__leaf_pool). */
_Static_assert(RH__ARENA_SHIFT - RH__POOL_SHIFT == 6 && RH__POOLS_PER_ARENA == 64,
               "an arena's 64 pools are bits 19..14 of an address, its slot bits 33..20");
RH__HOT_INLINE uintptr_t rh__leaf_pool_index(uintptr_t a) {
    return (a >> RH__POOL_SHIFT) & (RH__LEAF_ENTRIES * RH__POOLS_PER_ARENA - 1);
}

/* The class map entry of the pool holding address a, in the leaf at
 * `leaf` (the one covering a). */
static inline uint8_t *rh__leaf_class(uintptr_t leaf, uintptr_t a) {
    return (uint8_t *)(void *)(leaf + RH__LEAF_ENTRIES * (sizeof(rh__arena) + sizeof(uintptr_t))) +
           rh__leaf_pool_index(a);
}

/* The leaf covering a, or 0 when none is mapped (a at or above 2^48
 * included: the root index doubles as the range check, one shift for
 * both), and a's slot in it. The one walk of the tree's root. */
RH__HOT_INLINE uintptr_t rh__radix_leaf(uintptr_t a) {
    uintptr_t r = a >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS);
    if (RH_UNLIKELY(r >= ((uintptr_t)1 << RH__RADIX_ROOT_BITS))) return 0;
    return atomic_load_explicit(&rh__radix_root[r], memory_order_acquire);
}
/* The same for an address known to lie in a mapped arena (a live pool
 * block): no range test. */
RH__HOT_INLINE uintptr_t rh__radix_leaf_known(uintptr_t a) {
    return atomic_load_explicit(&rh__radix_root[a >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS)], memory_order_acquire);
}
RH__HOT_INLINE uintptr_t rh__leaf_index(uintptr_t a) {
    return (a >> RH__ARENA_SHIFT) & (RH__LEAF_ENTRIES - 1);
}

/* The word of the mark plane holding address a's bit (a lies in an arena
 * of the leaf at `leaf`), and the bit's position in it. */
RH__HOT_INLINE uint64_t *rh__leaf_mark_word(uintptr_t leaf, uintptr_t a) {
    return (uint64_t *)(void *)(leaf + RH__LEAF_PLANES_OFF +
                                ((a >> (RH__POOL_SHIFT - 4 - 3)) &
                                 ((((uintptr_t)1 << (RH__RADIX_LEAF_BITS + 10)) - 1) << 3)));
}
RH__HOT_INLINE unsigned rh__mark_shift(uintptr_t a) { return (unsigned)(a >> 4) & 63; }
/* The first word of the plane of the arena at base (mapped: its leaf is). */
static inline uint64_t *rh__arena_plane(uintptr_t base) {
    return rh__leaf_mark_word(atomic_load_explicit(&rh__radix_root[base >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS)],
                                                   memory_order_acquire), base);
}

/* The slot of the arena address range holding a, or NULL when no leaf
 * covers it. */
static inline rh__arena *rh__radix_slot(uintptr_t a) {
    uintptr_t leaf = rh__radix_leaf(a);
    return leaf ? &((rh__arena *)leaf)[rh__leaf_index(a)] : NULL;
}

/* The owner word of the arena range holding a, whose leaf must be mapped
 * (a lies in an arena, or did: pools.c's arena bookkeeping). */
static inline _Atomic uintptr_t *rh__radix_owner(uintptr_t a) {
    return rh__leaf_owner(rh__radix_leaf(a), rh__leaf_index(a));
}

/* The heap whose arena holds p, or NULL: p is not a pool block. Safe for
 * any pointer (NULL included); no lock, no hashing, two loads. */
static inline rh_heap *rh__pool_heap(const void *p) {
    uintptr_t a = (uintptr_t)p, leaf = rh__radix_leaf(a);
    return leaf ? (rh_heap *)atomic_load_explicit(rh__leaf_owner(leaf, rh__leaf_index(a)), memory_order_acquire)
                : NULL;
}

/* The header of the pool of arena slot m that holds address a: entry
 * (a >> 14) & 63 of m->pools, as one shift and one mask of a byte offset. */
RH__HOT_INLINE rh__pool *rh__arena_pool(rh__arena *m, uintptr_t a) {
    return (rh__pool *)(void *)((char *)m->pools +
                                ((a >> (RH__POOL_SHIFT - 5)) & ((RH__POOLS_PER_ARENA - 1) * sizeof(rh__pool))));
}

/* The header of the pool holding a, in the leaf covering it: entry i of
 * the pools[] that open slot k's meta, at k * sizeof(rh__arena) + i * 32,
 * which is (k * 64 + i) * 32 + k * (the meta's bytes after pools[], 128):
 * from the class map's index and the slot that the free computed anyway,
 * two shifts and two adds. */
_Static_assert(offsetof(rh__arena, pools) == 0 &&
                   sizeof(rh__arena) == RH__POOLS_PER_ARENA * sizeof(rh__pool) + 128,
               "a meta is its 64 pool headers, then 128 bytes");
RH__HOT_INLINE rh__pool *rh__leaf_pool(uintptr_t leaf, void *p) {
    uintptr_t a = (uintptr_t)p;
    return (rh__pool *)(void *)(leaf + rh__leaf_pool_index(a) * sizeof(rh__pool) + rh__leaf_index(a) * 128);
}
/* The same offsets as two terms each a shift and a mask of a itself
 * (bits 33..14 in place of i * 32, bits 33..20 in place of k * 128), for
 * the raw free (rh__free_fast): with them it keeps no index alive past its
 * loads, and gcc finds it registers without saving one on the stack (a
 * push and a pop on every free, when the header came from the slot the
 * owner test used). Where an index is in a register anyway (the object
 * free, rh__bcache_push_leaf), rh__leaf_pool is the shorter. */
RH__HOT_INLINE rh__pool *rh__leaf_pool_addr(uintptr_t leaf, void *p) {
    uintptr_t a = (uintptr_t)p;
    uintptr_t i32 = (a >> (RH__POOL_SHIFT - 5)) & ((RH__LEAF_ENTRIES * RH__POOLS_PER_ARENA - 1) << 5); /* i * 32 */
    uintptr_t k128 = (a >> (RH__ARENA_SHIFT - 7)) & ((RH__LEAF_ENTRIES - 1) << 7);                    /* k * 128 */
    return (rh__pool *)(void *)(leaf + i32 + k128);
}
/* Does p lie in an arena of heap h? If so *pool gets the header of the
 * pool holding it. Safe for any pointer; the free fast path (the owner and
 * the header are loaded side by side once the leaf is known; the leaf is
 * tested once, not a slot's address against NULL after it). */
RH__HOT_INLINE bool rh__pool_find(const void *p, const rh_heap *h, rh__pool **pool) {
    uintptr_t a = (uintptr_t)p, leaf = rh__radix_leaf(a);
    if (RH_UNLIKELY(!leaf)) return false;
    uintptr_t k = rh__leaf_index(a);
    if (atomic_load_explicit(rh__leaf_owner(leaf, k), memory_order_acquire) != (uintptr_t)h) return false;
    *pool = rh__arena_pool(&((rh__arena *)leaf)[k], a);
    return true;
}

/* The header of the pool holding p if p lies in an arena of heap h, else
 * NULL. Safe for any pointer. */
static inline rh__pool *rh__pool_lookup(const void *p, const rh_heap *h) {
    rh__pool *pool;
    return rh__pool_find(p, h, &pool) ? pool : NULL;
}

/* The header of the pool holding p, which must be a pool block (its heap
 * known from rh__pool_heap). */
static inline rh__pool *rh__pool_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    return &rh__radix_slot(a)->pools[(a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1)];
}

static inline unsigned rh__size_class(size_t n) {
    return n ? (unsigned)((n - 1) >> 4) : 0u; /* 0 bytes: the smallest class */
}
static inline size_t rh__class_size(unsigned c) { return ((size_t)c + 1) * RH_ALIGNMENT; }

/* The block-boundary check of the free paths: is p the start of a block of
 * `pool` (p lies in the pool)? The offset of p in its pool, off < 2^14,
 * must be a multiple of the block size s = (c+1)*16. The division is
 * replaced by the divisibility test of Lemire, Kaser and Kurz ("Faster
 * remainder by direct computation", 2019): with M = 2^32 / s rounded up,
 * s divides off  <=>  off * M (mod 2^32) < M, exact for every off below
 * 2^(32 - ceil(log2 s)) >= 2^23 (and checked exhaustively for all 32
 * classes and all 2^14 offsets). So the check is a mask, one 32-bit
 * multiplication by a constant from a 128-byte table, and a compare. */
extern const uint32_t rh__class_divmagic[RH_NUM_CLASSES];
RH__HOT_INLINE bool rh__class_block_start(unsigned c, const void *p) {
    uint32_t off = (uint32_t)((uintptr_t)p & (RH_POOL_SIZE - 1));
    uint32_t m = rh__class_divmagic[c];
    return off * m < m;
}
RH__HOT_INLINE bool rh__pool_block_start(const rh__pool *pool, const void *p) {
    return rh__class_block_start(pool->cls, p);
}
/* Stops the program: p lies in a pool block of h but is not its start. */
_Noreturn void rh__pool_bad_pointer(rh_heap *h, const rh__pool *pool, const void *p, const char *op,
                                    const char *file, int line);

/* Slow paths (pools.c). */
/* Gives every cached block of every class back to its pool. */
void rh__bcache_flush_all(rh_heap *h);
/* usable[c] is empty. NULL: out of memory. */
void *rh__pool_alloc_slow(rh_heap *h, unsigned c);
/* A free made a pool empty. */
void rh__pool_free_slow(rh_heap *h, rh__pool *pool);
int rh__pools_init(rh_heap *h);
/* Arena decay: releases every idle arena (rh_heap_trim); returns bytes. */
size_t rh__pools_trim(rh_heap *h);
/* Arena decay: releases the idle arenas whose delay has run out, if the
 * earliest deadline has passed. */
void rh__pools_decay(rh_heap *h);
/* The clock of the decay, in milliseconds (monotonic by default; white-box
 * tests put their own here to test the delay without waiting). */
extern uint64_t (*rh__decay_clock)(void);
void rh__pools_fini(rh_heap *h);
void rh__pools_stats(rh_heap *h, rh_heap_stats *out);
size_t rh__pools_in_use(const rh_heap *h);           /* bytes, from the class counters */
size_t rh__radix_leaves_in_use(void);                /* process-wide, leaves with an arena */
/* Raises the sampled peak of bytes in use to the current figure (alloc.c). */
void rh__note_peak(rh_heap *h);

/* The tag of the frontier's address in the free list (the head, or a
 * freed block's link): bit 0, clear in every block's address (16-byte
 * aligned). The frontier's own first word is no link and is never read. */
#define RH__FRONTIER_TAG ((uintptr_t)1)
/* Pops a block of class c; NULL when out of memory (no error set). `tools`
 * is false on the fast paths (a constant: the Valgrind requests vanish) and
 * alloc.tools on the slow ones. The head of usable[c] always has a free
 * block, so the only test is for an empty list. When the pop takes the
 * frontier (a tagged head; the layout comment above), the block after it
 * becomes the frontier here, in line (or, the pool's last block, gets its
 * NULL link): a pool that was restarted or newly taken serves every block
 * through this branch, and touches none. Any other block's link is loaded
 * (a prefetch of the block it names gained nothing measurable on bench
 * workload 1(b), whose lists of freed blocks are in the random order of
 * the frees, and cost instructions on every such pop). A pool whose list
 * ends (a NULL link: nothing left to carve) is full: it leaves the head of
 * its class's list here, in line, so that the next allocation finds a pool
 * with a free block or none at all. */
RH__HOT_INLINE bool rh__pool_can_pop(const rh_heap *h, unsigned c) {
    return RH_LIKELY(h->alloc.usable[c] != NULL);
}
RH__HOT_INLINE void *rh__pool_pop(rh_heap *h, unsigned c, bool tools) {
    struct rh__alloc_state *A = &h->alloc;
    rh__pool *pool = A->usable[c];
    if (RH_UNLIKELY(pool == NULL)) return rh__pool_alloc_slow(h, c);
    uintptr_t head = (uintptr_t)pool->freelist;
    size_t s = rh__class_size(c);
    void *b = (void *)(head & ~RH__FRONTIER_TAG), *next;
    A->nalloc[c]++;
    RH__UNPOISON(b, s);
    pool->used++;
    if (head & RH__FRONTIER_TAG) {
        /* b is the frontier: the block after it is carved, without a load
         * or a store into either */
        next = (char *)b + s;
        if (RH_LIKELY(((uintptr_t)next & (RH_POOL_SIZE - 1)) <= RH_POOL_SIZE - 2 * s)) {
            next = (void *)((uintptr_t)next | RH__FRONTIER_TAG); /* another fits after it */
        } else { /* next is the pool's last block: it ends the list with a link */
            RH__UNPOISON(next, sizeof(void *));
            if (tools) VALGRIND_MAKE_MEM_UNDEFINED(next, sizeof(void *));
            *(void **)next = NULL;
            RH__POISON(next, sizeof(void *));
            if (tools) VALGRIND_MAKE_MEM_NOACCESS(next, sizeof(void *));
        }
    } else {
        if (tools) VALGRIND_MAKE_MEM_DEFINED(b, sizeof(void *));
        next = *(void **)b;
        /* the pool is full (next stays NULL): off the list, whose head it is */
        if (RH_UNLIKELY(next == NULL))
            A->usable[c] = pool->next; /* the new head's prev is left as it is: a head's is unused */
    }
    pool->freelist = next;
    if (tools) VALGRIND_MEMPOOL_ALLOC(h, b, s);
    return b;
}

/* Returns block b to its pool (rh__pool_lookup / rh__pool_of). A pool
 * that was full comes back at the head of its class's list, in line; one
 * that empties may leave it (rh__pool_free_slow). rh__pool_push_class: the
 * same but the count of the free (nfreed[c]), for a caller that knows the
 * pool's class c and counted the free itself (the block cache's push: it
 * read the class in the class map and counts every free on its straight
 * line, so the header's class is not loaded again). */
RH__HOT_INLINE void rh__pool_push_class(rh_heap *h, rh__pool *pool, unsigned c, void *b, bool tools) {
    void *link = pool->freelist;
    if (tools) {
        VALGRIND_MEMPOOL_FREE(h, b);
        VALGRIND_MAKE_MEM_UNDEFINED(b, sizeof(void *));
    }
    *(void **)b = link;
    RH__POISON(b, rh__class_size(c));
    if (tools) VALGRIND_MAKE_MEM_NOACCESS(b, sizeof(void *));
    pool->freelist = b;
    /* an emptied pool may leave its list (the cached pool of its class
     * stays: one compare before the call); a full one (it had no free
     * block: link == NULL) rejoins it, at the head. Both at once cannot
     * be (a pool holds at least 32 blocks), so the emptied case is tested
     * first, on the flags of the decrement itself. */
    if (RH_UNLIKELY(--pool->used == 0)) {
        if (pool == h->alloc.cached[c]) {
            const rh__arena *a = rh__pool_arena(pool);
            if (a->nfree + a->npinned < RH__POOLS_PER_ARENA || a == h->alloc.idle) return;
        }
        rh__pool_free_slow(h, pool);
    } else if (RH_UNLIKELY(link == NULL)) {
        rh__pool *first = h->alloc.usable[c];
        pool->next = first; /* pool->prev: a head's is unused */
        if (first) first->prev = pool;
        h->alloc.usable[c] = pool;
        /* an arena decaying? (a free into a full pool is one of the
         * pools' slow-path operations that release those that are due) */
        if (RH_UNLIKELY(h->alloc.decay_deadline != 0)) rh__pools_decay(h);
    }
}
RH__HOT_INLINE void rh__pool_push(rh_heap *h, rh__pool *pool, void *b, bool tools) {
    unsigned c = pool->cls;
    h->alloc.nfreed[c]++;
    rh__pool_push_class(h, pool, c, b, tools);
}

/* The block cache (pools.c's essay). Only the fast paths of pools mode
 * with the slow word 0 use it, so debug mode, the fault injector, tracing
 * and Valgrind never see a cached block. A cached block is free for the
 * statistics (nfreed[c] counted it) but in use for its pool (its `used`
 * still counts it, its free list does not hold it); under AddressSanitizer
 * it is poisoned like any free block.
 *
 * The cache of a class is a stack of words, one a block: the block's
 * address shifted left by 16 bits, and in the low bits the depth of the
 * stack down to it (1 for the oldest, up to RH__BCACHE_CAP). The newest
 * block's word is alloc.bcache_top[c] (0: the class has none), the one
 * below the word of depth k is alloc.bcache[c][k - 1] (so
 * bcache[c][0] is 0: it is never written). A pop loads the top word, the
 * block it returns, and moves the word below it to the top; a push moves
 * the top word into the array only when there is one, and makes its
 * block's word the top. So an allocation finds its block with one load,
 * at an address known from the class alone, and right after a free into
 * an empty cache (bench workload 1(a), an object's creation after a
 * death) waits only for the free's one store, whose address is known as
 * soon as the class is. With an array and a length, as before, it waited
 * for the free's store of the length (itself loaded once the class was
 * known), then loaded the entry the free had stored there: two more
 * dependent loads, each through the store-to-load forwarding of a store
 * whose address came late, on a chain that ran from one free through the
 * allocation to the next free's radix lookups (docs/benchmarks.md,
 * "Workload 1 on an Intel Xeon": 1(a) 2.5 times faster there). The chain
 * is shorter by those two loads on any core; the stores are as many as
 * before, and so are the instructions when the cache of the class is
 * empty at the push (the death-then-creation rows of bench/callgrind.py);
 * when it holds blocks (bench workload 1(c)) the pop's move of the word
 * below and the push's test of the word cost about two instructions
 * each. Pool blocks lie below 2^48, so the shift loses nothing: an arena
 * is an arena of the radix tree, whose range ends there, and arena_new
 * (pools.c) gives back a mapping at or above it and fails (the allocation
 * is then out of memory). Linux hands such addresses out only to an mmap
 * whose hint asks for them (five-level paging on x86-64, 52-bit spaces
 * on arm64), and the pools give none; push asserts it. */
#define RH__BCACHE_DEPTH_BITS 16
#define RH__BCACHE_DEPTH(w) ((w) & (((uintptr_t)1 << RH__BCACHE_DEPTH_BITS) - 1))
_Static_assert(RH__BCACHE_CAP < ((uintptr_t)1 << RH__BCACHE_DEPTH_BITS) &&
                   RH__ADDR_BITS + RH__BCACHE_DEPTH_BITS <= sizeof(uintptr_t) * 8,
               "a block's address and its depth share a word");
/* The number of blocks of class c in the cache (slow paths). */
static inline uint32_t rh__bcache_count(const struct rh__alloc_state *A, unsigned c) {
    return (uint32_t)RH__BCACHE_DEPTH(A->bcache_top[c]);
}
/* Block i of the cache of class c, oldest first, i < rh__bcache_count
 * (slow paths). */
static inline void *rh__bcache_entry(const struct rh__alloc_state *A, unsigned c, uint32_t i) {
    uintptr_t w = i + 1 == rh__bcache_count(A, c) ? A->bcache_top[c] : A->bcache[c][i + 1];
    return (void *)(w >> RH__BCACHE_DEPTH_BITS);
}
/* Takes the newest block of class c out of the cache, or NULL: none
 * waits (no count, no poisoning: rh__bcache_pop and the flush). */
RH__HOT_INLINE void *rh__bcache_take(struct rh__alloc_state *A, unsigned c) {
    uintptr_t w = A->bcache_top[c];
    if (RH_UNLIKELY(w == 0)) return NULL;
    A->bcache_top[c] = A->bcache[c][RH__BCACHE_DEPTH(w) - 1];
    void *b = (void *)(w >> RH__BCACHE_DEPTH_BITS);
#if defined(__GNUC__) || defined(__clang__)
    /* A word in the cache always holds a block: said to the compiler, so
     * that a caller's test of the result folds into the test of the word. */
    if (b == NULL) __builtin_unreachable();
#endif
    return b;
}
RH__HOT_INLINE void *rh__bcache_pop(rh_heap *h, unsigned c) {
    struct rh__alloc_state *A = &h->alloc;
    void *b = rh__bcache_take(A, c);
    if (RH_UNLIKELY(b == NULL)) return NULL;
    A->nalloc[c]++;
    RH__UNPOISON(b, rh__class_size(c));
    return b;
}
/* Frees block b of class c, of pool `pool` (its header, not read unless
 * the cache of the class is full: then b goes to its pool). */
RH__HOT_INLINE void rh__bcache_push(rh_heap *h, unsigned c, rh__pool *pool, void *b) {
    struct rh__alloc_state *A = &h->alloc;
    uintptr_t w = A->bcache_top[c], k = RH__BCACHE_DEPTH(w);
    A->nfreed[c]++;
    if (w != 0) {
        if (RH_UNLIKELY(k == RH__BCACHE_CAP)) {
            rh__pool_push_class(h, pool, c, b, false);
            return;
        }
        A->bcache[c][k] = w;
    }
    rh__assert(((uintptr_t)b >> RH__ADDR_BITS) == 0);
    A->bcache_top[c] = (uintptr_t)b << RH__BCACHE_DEPTH_BITS | (k + 1);
    RH__POISON(b, rh__class_size(c));
}

/* ---------------------------------------------------------------------------
 * The fast paths of pools mode (alloc.c's rh_malloc_at, rh_free_at,
 * rh__obj_alloc, rh__obj_free; and object.c's allocation and death of
 * objects, which includes this file for them). Each tests the slow word
 * (rh_malloc_at and rh_free_at inside their size and owner compares,
 * through fast_small and fast_owner; object creation and death by
 * rh__heap_fast): debug mode, the armed fault injector and Valgrind's
 * announcements all set a bit there, so they always reach the
 * out-of-line slow paths.
 * Allocation tracing sets one too; when it is the only one, the slow
 * branches go to rh__malloc_traced / rh__free_traced instead (a pool
 * block's pop or push around the trace's in-line common case,
 * memory/trace_fast.h, or a trace hook call).
 * ------------------------------------------------------------------------- */

/* The out-of-line rest (alloc.c). rh__malloc_slow: every allocation the
 * fast path does not serve (counted, served by the top of the heap's layer
 * stack, memory/layer.h, peak noted); NULL with RH_ENOMEM set. rh__alloc_fast_failed: a fast-path allocation found no
 * memory: counts the call as a failed one, sets RH_ENOMEM, returns NULL.
 * rh__free_slow: every free the fast path does not take (NULL ignored). */
void *rh__malloc_slow(rh_heap *h, size_t n, bool zero, const char *file, int line);
void *rh__alloc_fast_failed(rh_heap *h);
/* Is h's slow word 0? For a path that has no compare to fold the test
 * into (object creation and death): one compare of a word of h with h's
 * own address (fast_owner), where a test of the slow word is a load and
 * a test. */
RH__HOT_INLINE bool rh__heap_fast(const rh_heap *h) {
    return h->alloc.fast_owner == (uintptr_t)h;
}
/* Sets the slow word and the two words the fast paths derive from it
 * (rh__alloc_state.fast_owner, fast_small); the only writer of any of
 * them. */
void rh__alloc_slow_set(rh_heap *h, unsigned slow);
/* The fast path's allocation of class c when usable[c] is empty: the
 * pools' slow path (rh__pool_alloc_slow), and rh__alloc_fast_failed if
 * that found no memory. One tail call, so that the fast path keeps no
 * stack frame for a call whose result it would have to test. */
void *rh__malloc_refill(rh_heap *h, unsigned c);
/* Tracing alone (slow word exactly RH__SLOW_TRACE; tools: trace.c): the
 * fast paths' pop of a block of 1..RH_SMALL_MAX bytes and their push of a
 * pool block, out of line, around the trace's in-line common case (or a
 * trace hook call). The fast paths
 * below reach them from their slow branch, before rh__malloc_slow and
 * rh__free_slow, whose frames they skip. */
void *rh__malloc_traced(rh_heap *h, size_t n, const char *file, int line);
void rh__free_traced(rh_heap *h, void *p, size_t header_offset, const char *file, int line) RH__OUT_OF_LINE;
void rh__free_slow(rh_heap *h, void *p, size_t header_offset, const char *file, int line);
/* An object block that the fast free (rh__pool_owner + rh__bcache_push_leaf)
 * could not take: h is its owner if
 * the tree named one, else NULL (then the registry is asked; a block
 * nobody owns is fatal). Frees it the slow way; returns the owner. */
rh_heap *rh__obj_free_slow(rh_heap *h, void *block, size_t header_offset);
#define RH__OBJ_FREE_SITE "(object deallocation)"

/* Allocation: one test, then the pop. The test is 1 <= n <= RH_SMALL_MAX
 * (one unsigned compare of n - 1) against fast_small, which is 0 when the
 * slow word is not: the test of the slow word is in it. A request of 0
 * bytes, rare, takes the slow path, which serves it as the fast path
 * would (a block of the smallest class, counted alike), and the class is
 * then a shift. */
RH__HOT_INLINE void *rh__malloc_fast(rh_heap *h, size_t n, const char *file, int line) {
    if (RH_LIKELY(n - 1 < h->alloc.fast_small)) {
        unsigned c = (unsigned)((n - 1) / RH_ALIGNMENT);
        void *p = rh__bcache_pop(h, c);
        if (RH_LIKELY(p != NULL)) return p;
        if (RH_UNLIKELY(!rh__pool_can_pop(h, c))) return rh__malloc_refill(h, c);
        return rh__pool_pop(h, c, false); /* the head of usable[c] has a free block */
    }
    if (h->alloc.slow == RH__SLOW_TRACE && n - 1 < RH_SMALL_MAX) return rh__malloc_traced(h, n, file, line);
    return rh__malloc_slow(h, n, false, file, line);
}

/* Free of a block that must be h's: a pool block of this heap, in pools
 * mode without tools, goes into the block cache of its class (read in the
 * leaf's class map, not in the pool header), once the pointer is known to
 * be the start of a block (an interior pointer, or an object's pointer 16
 * bytes into its block, would otherwise put a live block on the free
 * list). Only a block whose arena's owner is h is cached, and only while
 * h's slow word is 0: both in one compare of the owner word with
 * fast_owner (h, or 1 when the slow word is not 0). Everything else
 * is one jump to rh__free_missed (alloc.c), whose first four parameters
 * are rh_free_at's, in the same order, so that the fast path leaves them
 * where they came: tracing alone (rh__free_traced), another mode or tools,
 * a block that is not one of h's pool blocks (rh__free_slow), an interior
 * pointer (fatal). */
void rh__free_missed(rh_heap *h, void *p, const char *file, int line, size_t header_offset) RH__OUT_OF_LINE;
RH__HOT_INLINE void rh__free_fast(rh_heap *h, void *p, size_t header_offset, const char *file, int line) {
    uintptr_t a = (uintptr_t)p, leaf = rh__radix_leaf(a);
    if (RH_LIKELY(leaf != 0)) {
        uintptr_t k = rh__leaf_index(a);
        /* the owner is h and the slow word is 0, in one compare */
        if (RH_LIKELY(atomic_load_explicit(rh__leaf_owner(leaf, k), memory_order_acquire) == h->alloc.fast_owner)) {
            unsigned c = *rh__leaf_class(leaf, a);
            if (RH_LIKELY(rh__class_block_start(c, p))) {
                rh__bcache_push(h, c, rh__leaf_pool_addr(leaf, p), p);
                return;
            }
        }
    }
    rh__free_missed(h, p, file, line, header_offset);
}

/* An object's fast free (object.c), in two halves. rh__pool_owner walks
 * the tree once: the heap owning `block` (NULL: not a pool block, and the
 * slow path, rh__obj_free_slow with no owner, asks the tree and the
 * registry again), whatever its slow word, which the caller tests (a death
 * while tracing alone takes the traced path with this walk's result), and
 * the leaf covering it (0: none). The leaf is tested once (rh__radix_leaf), not a
 * slot's address against NULL after it (rh__radix_slot). Callers with
 * something to do between the walk and the push (object.c counts a
 * container's free for the collector first, so that the push, which may
 * leave for the pools' slow path, comes last) then call
 * rh__bcache_push_leaf: the block's class from the leaf's class map (one
 * shift, one mask, one byte load: the pool header is not read), and the
 * pool header's address, rh__leaf_pool, computed only when the cache of
 * the class is full. */
RH__HOT_INLINE rh_heap *rh__pool_owner(void *block, uintptr_t *leafp) {
    uintptr_t a = (uintptr_t)block, leaf = rh__radix_leaf(a);
    *leafp = leaf;
    if (RH_UNLIKELY(!leaf)) return NULL;
    return (rh_heap *)atomic_load_explicit(rh__leaf_owner(leaf, rh__leaf_index(a)), memory_order_acquire);
}
/* rh__pool_owner for a block known to be a live pool block (a caller
 * that walked the tree for it before and has not freed it since: its
 * arena, leaf and owner are still there), without the tests. */
RH__HOT_INLINE rh_heap *rh__pool_owner_known(void *block, uintptr_t *leafp) {
    uintptr_t a = (uintptr_t)block, leaf = rh__radix_leaf_known(a);
    *leafp = leaf;
    return (rh_heap *)atomic_load_explicit(rh__leaf_owner(leaf, rh__leaf_index(a)), memory_order_acquire);
}
RH__HOT_INLINE void rh__bcache_push_leaf(rh_heap *h, uintptr_t leaf, void *b) {
    rh__bcache_push(h, *rh__leaf_class(leaf, (uintptr_t)b), rh__leaf_pool(leaf, b), b);
}

/* ---------------------------------------------------------------------------
 * Blocks from the system allocator (sysmem.c): large blocks in pools mode,
 * every block in malloc mode, and the raw blocks of debug mode that do not
 * fit a pool. Each carries this header and is linked into its heap's list, so
 * rh__alloc_fini frees them all.
 * ------------------------------------------------------------------------- */
typedef struct rh__large {
    struct rh__large *prev, *next;
    size_t size;                 /* bytes requested                         */
    uintptr_t flags;             /* RH__LARGE_MARKED (the owner is the registry's) */
} rh__large;
#define RH__LARGE_MARKED ((uintptr_t)1) /* the block's mark (memory/marks.h) */
_Static_assert(sizeof(rh__large) % RH_ALIGNMENT == 0, "system block header keeps blocks aligned");

void *rh__large_alloc(rh_heap *h, size_t n, bool zero);   /* NULL: out of memory */
void *rh__large_realloc(rh_heap *h, void *p, size_t n);   /* NULL: out of memory, p intact */
void rh__large_free(rh_heap *h, void *p);
static inline rh__large *rh__large_head(const void *p) { return (rh__large *)(void *)p - 1; }
void rh__large_fini(rh_heap *h);

/* The process-wide registry of live system blocks (sysmem.c): user pointer
 * -> owning heap and kind. O(1) expected; lookups are lock-free. */
#define RH__KIND_LARGE ((uintptr_t)0)
#define RH__KIND_DEBUG ((uintptr_t)1)
int rh__sysreg_add(const void *p, rh_heap *h, uintptr_t kind); /* 0 or -1 (out of memory) */
void rh__sysreg_del(const void *p);
void rh__sysreg_del_heap(rh_heap *h);                         /* every entry of h */
rh_heap *rh__sysreg_find(const void *p, uintptr_t *kind);     /* NULL if not registered */

/* ---------------------------------------------------------------------------
 * Debug mode (debugmem.c).
 * ------------------------------------------------------------------------- */
int rh__debug_init(rh_heap *h, size_t quarantine);
void rh__debug_fini(rh_heap *h);
/* Its blocks are served by its shim, rh__mem_debug (memory/layer.h). */
/* header_offset of a free: where to zero the 32-bit refcount after filling,
 * or RH__NO_REFCNT for raw memory. */
#define RH__NO_REFCNT ((size_t)-1)

#endif /* REFHEAP_ALLOC_PRIV_H */
