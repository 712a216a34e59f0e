/*
 * pools.c — small blocks: size classes, pools, arenas, and the radix tree that
 * tells in O(1) whether a pointer lies in an arena (and whose it is).
 *
 * The design is pymalloc's (CPython's Objects/obmalloc.c), written anew:
 *
 *  - A request of n <= RH_SMALL_MAX (512) bytes is served from size class
 *    c = (n - 1) / 16 (0 bytes: class 0), whose blocks are (c + 1) * 16 bytes:
 *    32 classes, every block 16-byte aligned, at most 15 bytes lost per block.
 *  - Blocks live in 16 KiB pools. A pool serves one class at a time; its header
 *    (rh__pool, 48 bytes) sits at the start of the pool, so the pool of a block
 *    is the block's address rounded down to 16 KiB. Blocks are carved lazily:
 *    a bump offset gives never-used blocks, a LIFO list gives freed ones (the
 *    most recently freed block is reused first: it is the warmest in cache).
 *  - Pools are cut, again lazily, from 1 MiB arenas obtained with mmap. An
 *    arena is mapped 1 MiB-aligned (2 MiB are mapped and the excess trimmed),
 *    so all 64 of its pools are usable and the arena of any address is the
 *    address rounded down to 1 MiB.
 *
 * The per-class lists. usable[c] holds the pools of class c that have a block
 * in use and a free block. Allocation takes the head pool's first free block
 * (rh__pool_alloc in alloc_priv.h: a load, a pop, a compare); a pool that
 * becomes full leaves the list. Freeing into a full pool puts it back at the
 * head; freeing the last block of a pool returns the pool to its arena.
 *
 * The arena policy. Arenas with free pools are bucketed by their number of
 * free pools; a bitmap of non-empty buckets makes "the arena with the fewest
 * free pools" one count-trailing-zeros. New pools always come from that
 * fullest arena, so nearly-empty arenas are left alone and get a chance to
 * drain completely. An arena whose pools are all free is unmapped, except that
 * one such arena is kept (avoiding an mmap/munmap pair each time a program
 * oscillates around an arena boundary).
 *
 * Ownership. rh__radix_root/leaves map address bits 47..20 to the arena's
 * bookkeeping (which names the heap). Several heaps on several threads share
 * the tree: inserting or removing an arena takes a process-wide mutex; lookups
 * take no lock (acquire loads). A lookup never reads memory that is not the
 * tree's, so asking about any pointer (stack, static, another allocator's) is
 * safe. A leaf is never freed: a lock-free reader might still be looking at it.
 *
 * Tools. Under AddressSanitizer, the bytes of every free block (and of pools
 * not yet carved into blocks) are poisoned, so touching a freed pool block is
 * reported; under Valgrind every block is a chunk of a mempool anchored at the
 * heap, so Memcheck reports use after free and leaks of pool blocks.
 */
#include "alloc_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

_Atomic uintptr_t rh__radix_root[(size_t)1 << RH__RADIX_ROOT_BITS];
static pthread_mutex_t radix_lock = PTHREAD_MUTEX_INITIALIZER;

#define LEAF_ENTRIES ((size_t)1 << RH__RADIX_LEAF_BITS)

/* Records (arena != NULL) or forgets the arena at base. -1 if a leaf cannot
 * be mapped. */
static int radix_set(uintptr_t base, rh__arena *arena) {
    size_t ri = base >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS);
    size_t li = (base >> RH__ARENA_SHIFT) & (LEAF_ENTRIES - 1);
    pthread_mutex_lock(&radix_lock);
    uintptr_t leaf = atomic_load_explicit(&rh__radix_root[ri], memory_order_relaxed);
    if (!leaf) {
        if (!arena) { pthread_mutex_unlock(&radix_lock); return 0; }
        void *m = mmap(NULL, LEAF_ENTRIES * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) { pthread_mutex_unlock(&radix_lock); return -1; }
        leaf = (uintptr_t)m;
        atomic_store_explicit(&rh__radix_root[ri], leaf, memory_order_release);
    }
    atomic_store_explicit(&((_Atomic uintptr_t *)leaf)[li], (uintptr_t)arena, memory_order_release);
    pthread_mutex_unlock(&radix_lock);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Arenas
 * ------------------------------------------------------------------------- */

/* Maps RH_ARENA_SIZE bytes aligned to RH_ARENA_SIZE: maps twice as much and
 * gives the unaligned head and tail back. */
static void *map_aligned_arena(void) {
    size_t len = 2 * RH_ARENA_SIZE;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    uintptr_t start = ((uintptr_t)m + RH_ARENA_SIZE - 1) & ~(uintptr_t)(RH_ARENA_SIZE - 1);
    size_t head = start - (uintptr_t)m;
    size_t tail = len - head - RH_ARENA_SIZE;
    if (head) munmap(m, head);
    if (tail) munmap((char *)start + RH_ARENA_SIZE, tail);
    return (void *)start;
}

static void bucket_insert(struct rh__alloc_state *A, rh__arena *a) {
    unsigned k = a->nfree - 1;
    a->prev = NULL;
    a->next = A->by_nfree[k];
    if (a->next) a->next->prev = a;
    A->by_nfree[k] = a;
    A->nfree_bits |= (uint64_t)1 << k;
}

static void bucket_remove(struct rh__alloc_state *A, rh__arena *a) {
    unsigned k = a->nfree - 1;
    if (a->prev) a->prev->next = a->next;
    else A->by_nfree[k] = a->next;
    if (a->next) a->next->prev = a->prev;
    if (!A->by_nfree[k]) A->nfree_bits &= ~((uint64_t)1 << k);
}

static rh__arena *arena_new(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    rh__arena *a = malloc(sizeof *a);
    if (!a) return NULL;
    void *m = map_aligned_arena();
    if (!m) { free(a); return NULL; }
    memset(a, 0, sizeof *a);
    a->base = (uintptr_t)m;
    a->heap = h;
    a->nfree = RH__POOLS_PER_ARENA;
    if ((uintptr_t)m >> RH__ADDR_BITS || radix_set((uintptr_t)m, a) != 0) {
        munmap(m, RH_ARENA_SIZE);
        free(a);
        return NULL;
    }
    a->all_next = A->arenas;
    if (A->arenas) A->arenas->all_prev = a;
    A->arenas = a;
    bucket_insert(A, a);
    A->empty_arenas++;
    A->arenas_current++;
    A->arenas_allocated++;
    if (A->arenas_current > A->arenas_peak) A->arenas_peak = A->arenas_current;
    return a;
}

/* Unmaps an arena (already out of its bucket) and forgets it. */
static void arena_release(rh_heap *h, rh__arena *a) {
    struct rh__alloc_state *A = &h->alloc;
    radix_set(a->base, NULL); /* clearing an entry of an existing leaf cannot fail */
    RH__UNPOISON((void *)a->base, RH_ARENA_SIZE); /* the address range may be reused by others */
    munmap((void *)a->base, RH_ARENA_SIZE);
    if (a->all_prev) a->all_prev->all_next = a->all_next;
    else A->arenas = a->all_next;
    if (a->all_next) a->all_next->all_prev = a->all_prev;
    A->arenas_current--;
    A->arenas_released++;
    free(a);
}

/* ---------------------------------------------------------------------------
 * Pools
 * ------------------------------------------------------------------------- */

static rh__pool *pool_link(struct rh__alloc_state *A, rh__pool *pool, unsigned c) {
    pool->prev = NULL;
    pool->next = A->usable[c];
    if (pool->next) pool->next->prev = pool;
    A->usable[c] = pool;
    return pool;
}

/* Takes a free pool from the fullest arena with one (mapping an arena if
 * there is none) and initialises it for class c. NULL: out of memory. */
static rh__pool *pool_take(rh_heap *h, unsigned c) {
    struct rh__alloc_state *A = &h->alloc;
    if (!A->nfree_bits && !arena_new(h)) return NULL;
    rh__arena *a = A->by_nfree[__builtin_ctzll(A->nfree_bits)];
    if (a->nfree == RH__POOLS_PER_ARENA) A->empty_arenas--;
    bucket_remove(A, a);
    rh__pool *pool;
    if (a->freepools) {
        pool = a->freepools;
        a->freepools = pool->next;
        a->nfree--;
        if (a->nfree) bucket_insert(A, a);
        if (pool->cls == c) {
            /* It served this class before: every block is free, its free
             * list and bump offset are still valid (and poisoned). */
            return pool_link(A, pool, c);
        }
    } else {
        pool = (rh__pool *)(a->base + (uintptr_t)a->ncarved * RH_POOL_SIZE);
        a->ncarved++;
        a->nfree--;
        if (a->nfree) bucket_insert(A, a);
    }

    size_t s = rh__class_size(c);
    char *body = (char *)pool + RH__POOL_HEADER;
    RH__POISON(body, RH_POOL_SIZE - RH__POOL_HEADER);
    if (A->tools) VALGRIND_MAKE_MEM_NOACCESS(body, RH_POOL_SIZE - RH__POOL_HEADER);
    pool->arena = a;
    pool->cls = c;
    pool->used = 0;
    pool->max_off = (uint32_t)(RH_POOL_SIZE - s);
    /* The first block goes on the free list, the rest stay uncarved. */
    pool->freelist = body;
    pool->next_off = (uint32_t)(RH__POOL_HEADER + s);
    RH__UNPOISON(body, sizeof(void *));
    if (A->tools) VALGRIND_MAKE_MEM_UNDEFINED(body, sizeof(void *));
    *(void **)body = NULL;
    RH__POISON(body, sizeof(void *));
    if (A->tools) VALGRIND_MAKE_MEM_NOACCESS(body, sizeof(void *));
    return pool_link(A, pool, c);
}

void *rh__pool_alloc_slow(rh_heap *h, unsigned c) {
    if (!pool_take(h, c)) return NULL;
    return rh__pool_alloc(h, c);
}

/* The free list of `pool` ran dry: put the next never-used block on it, or
 * take the (now full) pool off its class's list. */
void rh__pool_refill(rh_heap *h, rh__pool *pool) {
    struct rh__alloc_state *A = &h->alloc;
    size_t s = rh__class_size(pool->cls);
    if (pool->next_off <= pool->max_off) {
        void *b = (char *)pool + pool->next_off;
        pool->next_off += (uint32_t)s;
        RH__UNPOISON(b, sizeof(void *));
        if (A->tools) VALGRIND_MAKE_MEM_UNDEFINED(b, sizeof(void *));
        *(void **)b = NULL;
        RH__POISON(b, sizeof(void *));
        if (A->tools) VALGRIND_MAKE_MEM_NOACCESS(b, sizeof(void *));
        pool->freelist = b;
        return;
    }
    /* full: unlink from usable[cls] (it is the head: allocation uses the head) */
    if (pool->prev) pool->prev->next = pool->next;
    else A->usable[pool->cls] = pool->next;
    if (pool->next) pool->next->prev = pool->prev;
    pool->next = pool->prev = NULL;
}

/* After a free: the pool was full (put it back on its class's list), and/or
 * it has become empty (give it back to its arena). */
void rh__pool_free_slow(rh_heap *h, rh__pool *pool, bool was_full) {
    struct rh__alloc_state *A = &h->alloc;
    if (was_full) {
        /* rh__pool_free did not decrement `used` (short-circuit): do it now */
        if (--pool->used) {
            pool->prev = NULL;
            pool->next = A->usable[pool->cls];
            if (pool->next) pool->next->prev = pool;
            A->usable[pool->cls] = pool;
            return;
        }
        /* a pool that holds a single block was full and is now empty:
         * it is on no list */
    } else {
        if (pool->prev) pool->prev->next = pool->next;
        else A->usable[pool->cls] = pool->next;
        if (pool->next) pool->next->prev = pool->prev;
    }
    /* empty: back to the arena */
    rh__arena *a = pool->arena;
    if (a->nfree) bucket_remove(A, a);
    pool->next = a->freepools;
    a->freepools = pool;
    a->nfree++;
    if (a->nfree == RH__POOLS_PER_ARENA) {
        /* The arena is completely free. Keep one such arena mapped. */
        if (A->empty_arenas >= 1) {
            arena_release(h, a);
            return;
        }
        A->empty_arenas++;
    }
    bucket_insert(A, a);
}

int rh__pools_init(rh_heap *h) {
    h->alloc.tools = RUNNING_ON_VALGRIND != 0;
    if (h->alloc.tools) VALGRIND_CREATE_MEMPOOL(h, 0, 0);
    return 0;
}

void rh__pools_fini(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    while (A->arenas) arena_release(h, A->arenas);
    if (A->tools) VALGRIND_DESTROY_MEMPOOL(h);
    memset(A->usable, 0, sizeof A->usable);
    memset(A->by_nfree, 0, sizeof A->by_nfree);
    A->nfree_bits = 0;
    A->empty_arenas = 0;
}

/* Walks every carved pool: the per-class figures come from the pool headers,
 * which are exact, so the fast paths need no per-class counters. */
void rh__pools_stats(rh_heap *h, rh_heap_stats *out) {
    struct rh__alloc_state *A = &h->alloc;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) out->classes[c].block_size = rh__class_size(c);
    for (rh__arena *a = A->arenas; a; a = a->all_next) {
        out->pools_total += RH__POOLS_PER_ARENA;
        out->pools_empty += a->nfree;
        for (unsigned i = 0; i < a->ncarved; i++) {
            const rh__pool *pool = (const rh__pool *)(a->base + (uintptr_t)i * RH_POOL_SIZE);
            if (pool->used == 0) continue; /* on the arena's free list */
            size_t s = rh__class_size(pool->cls);
            size_t cap = (RH_POOL_SIZE - RH__POOL_HEADER) / s;
            rh_class_stats *cs = &out->classes[pool->cls];
            cs->pools_used++;
            if (pool->freelist == NULL) cs->pools_full++;
            cs->blocks_in_use += pool->used;
            cs->blocks_free += cap - pool->used;
        }
    }
}
