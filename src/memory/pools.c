/*
 * pools.c — small blocks: size classes, pools, arenas, and the radix tree that
 * tells in O(1) whether a pointer lies in an arena (and whose it is).
 *
 * The design is pymalloc's (CPython's Objects/obmalloc.c), written anew:
 *
 *  - A request of n <= RH_SMALL_MAX (512) bytes is served from size class
 *    c = (n - 1) / 16 (0 bytes: class 0), whose blocks are (c + 1) * 16 bytes:
 *    32 classes, every block 16-byte aligned, at most 15 bytes lost per block.
 *  - Blocks live in 16 KiB pools. A pool serves one class at a time and holds
 *    nothing but blocks: capacity(c) = 16384 / s blocks of s = (c+1)*16 bytes.
 *    Blocks are carved lazily, in address order, and a LIFO list gives freed
 *    ones (the most recently freed block is reused first: it is the warmest
 *    in cache); the list's link is the free block's first word, except in
 *    the last block carved (the frontier, tagged in the list), which ends
 *    the list without one while blocks are left to carve: carving reads and
 *    writes no block (alloc_priv.h, "Carving").
 *  - Pools are cut, again lazily, from 1 MiB arenas obtained with mmap. An
 *    arena is mapped 1 MiB-aligned (2 MiB are mapped and the excess trimmed),
 *    so the arena of any address is the address rounded down to 1 MiB, and
 *    the pool index of a block p in it is i = (p >> 14) & 63.
 *  - The pool headers (rh__pool, 32 bytes) are not in the pools: the 64
 *    headers of an arena form one dense array, meta->pools[64], in the arena's
 *    meta (rh__arena), and the meta lives in the radix tree's slot for the
 *    arena's address. So, with root = rh__radix_root:
 *        meta(p)   = &((rh__arena *)root[p >> 34])[(p >> 20) & 16383]
 *        header(p) = &meta(p)->pools[(p >> 14) & 63]
 *        owner(p)  = owners(leaf)[(p >> 20) & 16383]   (0: p is in no arena)
 *    (the owners, one word per slot, follow the leaf's metas: dense, so
 *    the owner test of a free reads a line shared by eight arenas).
 *    Why: with the header at the start of each pool, a free of a random block
 *    touched the first line of that pool's page, i.e. one more page (cache
 *    line and TLB entry) per 16 KiB of live data; random frees over a large
 *    heap then missed on the header as well as on the block. Dense headers
 *    take 2 KiB per MiB of blocks and stay cached.
 *  - A pool that empties is restarted (pool_restart): free list = its first
 *    block, as the frontier (the rest uncarved). All its blocks are free, so
 *    the order in which they were freed carries no information worth
 *    keeping, and the next allocations walk the pool in address order again
 *    (prefetch-friendly) instead of in the random order of the frees.
 *
 * The per-class lists. usable[c] holds exactly the pools of class c that
 * have a free block (and the cached empty pool, below); a full pool is never
 * on it. Allocation takes the head pool's first free block (rh__pool_pop in
 * alloc_priv.h: a load, a test for an empty list, a pop). The free list of a
 * pool that is not full is never empty: when a pop takes its last block,
 * the frontier, the pop itself makes the next never-used block (the one
 * after it) the frontier, in line, so a fresh or restarted pool is walked
 * block by block without a call, and without a load or a store into its
 * blocks. The pop that finds nothing left to carve has filled the pool,
 * which is the head: it unlinks it there, in line (the head moves to the
 * next pool). A free into a full pool (its free list was empty) links it
 * back at the head, in line, so the next allocation of the class reuses
 * that block, the warmest. Only an empty list (rh__pool_alloc_slow: take a
 * pool) and a pool that empties (rh__pool_free_slow) leave the fast paths.
 * Why not leave a full pool on the list until an allocation meets it (as
 * this file once did): in a steady state over a large heap (bench workload
 * 1(c), a random free then an allocation of a random class), nearly every
 * pool is full, most frees go into a full pool and most allocations then
 * meet a full pool at the head; each paid a call to a slow path (about 100
 * instructions a step, half the step), where linking and unlinking in line
 * cost a few stores. What the lazy way saved, a free and an allocation of
 * the same class ping-ponging on one full pool, now costs a link (three
 * stores) and an unlink (one store): about 5 instructions an object on
 * the ring rows of bench/callgrind.py (docs/benchmarks.md, "Workload 1(c)
 * and full pools", has both sides' figures).
 *
 * The cached pool. When the last block of a pool is freed, the pool would go
 * back to its arena, and the next allocation of its class would take a pool
 * again through the slow path: a program that allocates and frees one block
 * in a loop would pay both slow paths every time. So each class keeps its
 * most recently emptied pool, cached[c]: it stays on usable[c] (the fast path
 * allocates from it as from any pool), keeps its class and free list (and
 * frontier), and counts as a used pool of its arena (not in the arena's nfree),
 * so the arena is not taken for free while it is cached. The pointer is not
 * cleared when the fast path allocates from the pool again; the cached pool
 * is "the empty pool of class c" only while its `used` is 0, which is tested
 * wherever it matters. Invariant: of class c's pools, only cached[c] can be
 * on usable[c] with used == 0. When another pool of the class empties while
 * cached[c] is empty, one of the two goes back to its arena: the one in the
 * emptier arena (more free pools), so that arena can drain. A cached pool is
 * never "needed elsewhere": no pool of its class is taken while it exists.
 * Trade-off: each class may hold one empty pool (16 KiB) back from its arena,
 * at most 32 pools (512 KiB) per heap, in exchange for malloc/free of a lone
 * block never leaving the fast path.
 *
 * The block cache. In front of the pools, each class c has a LIFO stack of
 * up to RH__BCACHE_CAP (32) free block pointers: the newest in a word of
 * its own, alloc.bcache_top[c], with the stack's depth in its low bits, the
 * older ones below it in alloc.bcache[c] (alloc_priv.h, before
 * rh__bcache_take, has the layout and why: an allocation right after a
 * free waits only for the free's store of that word, not for a length
 * and an entry stored in turn). The raw
 * free of the fast path (rh__free_fast: slow word 0, the block's arena
 * owned by this heap) pushes the pointer there, reading the block's class
 * in the radix leaf's class map (a byte per pool, the 64 of an arena in
 * one line) instead of its pool header, and writing nothing into the block;
 * the fast allocations (rh__malloc_fast, rh_new's) pop it first. The
 * death of an object (object.c) pushes its block there too, its class
 * read in the class map the same way (rh__bcache_push_leaf). When the
 * cache of the class is full, the block goes to its pool the ordinary way
 * (rh__pool_push_class, with the class already known), and only then is
 * the pool header's address computed (rh__leaf_pool: from the class map's
 * index and the slot, two shifts and two adds). A batch flush of half the cache (jemalloc's way) was
 * measured too: no better on 1(c), and worse on 1(b), a million frees in a
 * row, where every block was then handled twice (pushed, then flushed).
 * Why a cache: over a large heap of random frees (bench workload 1(c)),
 * a push into the pool missed the cache on
 * the pool header and on the block's link word; a free into the block
 * cache touches neither, and the block is touched again only when it is
 * handed out. Measured: one step of 1(c) about 15% faster; 1(b), whose
 * frees find the cache full, about 6% slower
 * (docs/benchmarks.md, "The block cache"). Invariants:
 *   - a cached block is free for the statistics (nfreed[c] counted it,
 *     nalloc[c] counts it again when it is popped: bytes and blocks in use
 *     are exact) but in use for its pool: its pool's `used` still counts
 *     it and its free list does not hold it, so a pool with a cached block
 *     is not empty, its arena not idle, and the pool lists' invariants
 *     below hold as if the block were live; per class,
 *     sum of used == nalloc - nfreed + (the blocks of class c cached);
 *   - only blocks of this heap's arenas of class c enter bcache[c] (the
 *     owner test comes first: another heap's block goes to the slow path,
 *     which refuses it), each at most once (a double free is not caught
 *     here, as it is not by a push into a pool);
 *   - only the fast paths with the slow word 0 push or pop: debug mode,
 *     the fault injector, tracing and Valgrind never see a cached block
 *     (blocks cached before the word was set wait, free, until it clears
 *     or a trim or decay returns them); under AddressSanitizer a cached
 *     block is poisoned like any free block;
 *   - returning memory flushes first: rh__pools_trim gives every cached
 *     block back before it looks for idle arenas, and decay_tick, once a
 *     deadline has passed, before its walk (the arenas the cache kept in
 *     use become idle then, and decay from that moment); the heap's
 *     destruction drops the cache with the arenas. A cached block keeps
 *     its whole arena in use, and an arena that only the cache keeps in
 *     use is never idle, so never stamped: when a pool empties while
 *     blocks are cached (rh__pool_free_slow), the cache's deadline
 *     (alloc.bcache_deadline) is set if it is not, decay_ms from then (at
 *     once with no delay), and decay_tick, at the pools' slow paths, gives
 *     the cache back once it has passed (bcache_decay_arm; not during a
 *     flush, whose own pushes empty pools). It is apart from
 *     decay_deadline so that a push into a full pool, which tests that
 *     word in line, does not read the clock for it. Between those, at
 *     most 32 blocks per class wait, keeping at most that many pools (and
 *     their arenas) in use;
 *     a free into the cache is no decay tick (only the pools' slow paths
 *     and a push into a full pool are);
 *   - out of memory gives back first: when no arena can be mapped for a
 *     new pool (rh__pool_alloc_slow), the cache is flushed and the empty
 *     pools kept for their classes (cached[k]) go back to their arenas
 *     before one more try (pools_give_back); a large block the system
 *     refuses is tried again after rh__pools_trim (backends.c);
 *   - the statistics count a cached block free: rh__pools_stats takes
 *     it out of its class's blocks in use, and a pool whose free list is
 *     empty but that holds a cached block is not full.
 * rh__pools_check (RH_DEBUG >= 3, below) checks the count equation and
 * each cached block, and that the class map agrees with every pool header.
 *
 * The arena policy. Arenas with free pools are bucketed by their number of
 * free pools; a bitmap of non-empty buckets makes "the arena with the fewest
 * free pools" one count-trailing-zeros. New pools always come from that
 * fullest arena, so nearly-empty arenas are left alone and get a chance to
 * drain completely. An arena is idle when every pool in it is free or an
 * empty cached pool. One idle arena is kept mapped (alloc.idle), which avoids
 * an mmap/munmap pair each time a program oscillates around an arena
 * boundary; any other arena that becomes idle decays (below), then is
 * released: its cached pools go back to it (their classes lose their cache)
 * and it is unmapped. An arena
 * can become idle only when a pool returns to it or when a pool in it becomes
 * an empty cached pool, and both places check (arena_check_idle). alloc.idle
 * is a hint, re-checked before it is trusted: allocation may have used the
 * kept arena since. The check is cheap: an arena can be idle only if
 * nfree + npinned == 64 (npinned: cached pools lying in it); only then are
 * its cached pools looked at.
 *
 * Decay. An arena that becomes idle while another is kept is stamped with
 * the time (idle_since, rh__decay_clock's milliseconds) and stays mapped
 * until it has been idle alloc.decay_ms (0: released at once). The heap
 * keeps the earliest deadline (decay_deadline, 0: none); decay_tick, at the
 * start of rh__pool_alloc_slow, at the end of rh__pool_free_slow, and when a
 * free puts a full pool back on its list (rh__pool_push tests the word in
 * line and calls rh__pools_decay only when it is set), compares it with
 * the clock (one test of the word when nothing decays) and, past
 * it, walks the heap's arenas once: an arena stamped and still idle whose
 * delay ran out is released, one used since loses its stamp (pool_take
 * also clears it when it takes a pool there), and the deadline becomes the
 * earliest one left. rh__pools_trim (rh_heap_trim) releases every idle
 * arena, the kept one included. Invariant: every arena that is idle, is not
 * alloc.idle and has a stamp s is due at s + decay_ms >= decay_deadline
 * (when decay_deadline != 0), so none is forgotten.
 *
 * Why one idle arena and not a larger reserve. Measured on the benchmark that
 * allocates a million blocks of 8..512 bytes and frees them all, ten times
 * (bench workload b): what giving the arenas back costs is not the
 * mmap/munmap calls (one pair per MiB, ~14% of the time) but the page faults
 * and page zeroing when the next round touches the memory again (one fault
 * per 4 KiB, over half the time). madvise(MADV_DONTNEED) in place of munmap
 * would save the calls but keep every fault; keeping idle arenas up to a
 * fraction f of the peak saves a fraction f of the faults (f = 1/8: lost in
 * the noise) and keeps f of the peak resident forever after; keeping them
 * all makes that workload as fast as mimalloc, which is how mimalloc gets
 * there (2.0.9 keeps all of a freed 287 MB resident until mi_collect), but
 * returns nothing. Returning memory is part of this allocator's contract (a
 * program that drops a large structure sees its RSS fall), so the reserve
 * stays CPython's one arena, and the rest is given back after the decay
 * delay (by default one second, mimalloc's purge delay in spirit): a burst
 * rebuilt within the delay reuses its pages, and a heap that stops
 * allocating returns them at its next slow-path operation or rh_heap_trim.
 *
 * Ownership. rh__radix_root/leaves map address bits 47..20 to a slot, the
 * meta of the arena there, and to the slot's owner word, which names the
 * owning heap (0: no arena).
 * Several heaps on several threads share the tree. A process-wide mutex
 * (radix_lock) guards mapping a leaf and a per-leaf count of the arenas
 * mapped in its range; everything else is per slot. A slot belongs to
 * whoever holds the 1 MiB address range it describes: arena_new maps the
 * range, counts it in its leaf under the mutex, initialises the slot and
 * publishes the owner last (release); arena_release unlinks the arena from
 * its heap's lists, clears the owner, counts the arena out of its leaf under the
 * mutex, then unmaps the range (after which another heap may map it and take
 * the slot, so the slot is not touched again). The mutex is what orders two
 * owners of one slot: the old owner's writes, its unlock, its munmap, the new
 * owner's mmap (the kernel orders those two), its lock, its writes; without
 * it only the kernel would order them, which ThreadSanitizer cannot see.
 * Lookups take no lock (acquire loads) and read only the tree's memory, so
 * asking about any pointer (stack, static, another allocator's) is safe, and
 * other threads only ever read a slot's owner. Only the owning heap's
 * thread follows a slot further (its pool headers).
 *
 * Leaves give their memory back. When the last arena of a leaf's range is
 * released, the leaf's pages are discarded (madvise MADV_DONTNEED, under the
 * mutex, so no arena_new of that leaf can interleave): the memory returns to
 * the OS and the pages read as zeros again, i.e. "no arena here". The leaf's
 * address range (171 MiB, MAP_NORESERVE: no memory, no commit charge) stays
 * reserved for the life of the process: unmapping it would make a lock-free
 * lookup of an unrelated pointer racing with the release read unmapped
 * memory. So when every heap is destroyed, no byte of the tree holds memory
 * (rh_heap_stats.radix_leaves counts the leaves holding arenas); a lookup
 * that reads a discarded page maps the kernel's shared zero page there
 * (mincore then reports it resident, though it costs nothing), which the
 * next discard of that leaf drops again.
 *
 * Marks (memory/marks.h). Each arena has a mark plane in its radix leaf,
 * one bit per 16-byte granule (alloc_priv.h). The pushes of a block, into
 * its pool or the block cache, do not look at it: the layer above unmarks
 * a block before it frees it (freeing a marked block is misuse, stopped in
 * debug mode, reported by rh__pools_check), so free blocks, cached blocks,
 * empty pools and idle arenas are not marked, and a slot's plane is all
 * zeros when its arena is released for being idle. pool_take zeroes the
 * pool's 16 words (those that are not zero already) when it gives the pool
 * a class, so a mark left by such misuse never marks a block of a new
 * pool; the heap's destruction, which releases
 * arenas with live blocks, zeroes their planes' non-zero words first (the
 * slot may be taken by another arena later). For the walk, the heap keeps
 * its arenas sorted by address too (alloc.by_addr: a binary search finds
 * the first arena at or after an address; arena_new makes room before it
 * maps, so inserting cannot fail, and arena_release removes the entry).
 * rh__pools_next_marked scans the plane from the cursor on, a word at a
 * time (zero words skipped), then the next arenas, and leaves the word of
 * the block it found in the cursor (pools mode) for the steps in line;
 * arena_release makes every open walk of the heap drop a word it keeps
 * of the arena's plane (the slot may be another arena's next).
 *
 * Tools. Under AddressSanitizer, the bytes of every free block (and of pools
 * not yet carved into blocks) are poisoned, so touching a freed pool block is
 * reported; under Valgrind every block is a chunk of a mempool anchored at the
 * heap, so Memcheck reports use after free and leaks of pool blocks.
 */
#include "memory/marks.h"

#include <inttypes.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

_Atomic uintptr_t rh__radix_root[(size_t)1 << RH__RADIX_ROOT_BITS];
static pthread_mutex_t radix_lock = PTHREAD_MUTEX_INITIALIZER;
/* Under radix_lock: the arenas of every heap mapped in each leaf's range,
 * and how many leaves have at least one (rh_heap_stats.radix_leaves). */
static unsigned leaf_arenas[(size_t)1 << RH__RADIX_ROOT_BITS];
static size_t leaves_in_use;

/* 2^32 / s rounded up, s = 16 * d the block size of class d - 1: see
 * rh__pool_block_start. */
#define DIVMAGIC(d) ((uint32_t)((((uint64_t)1 << 32) + 16 * (d) - 1) / (16 * (d))))
const uint32_t rh__class_divmagic[RH_NUM_CLASSES] = {
    DIVMAGIC(1),  DIVMAGIC(2),  DIVMAGIC(3),  DIVMAGIC(4),  DIVMAGIC(5),  DIVMAGIC(6),  DIVMAGIC(7),  DIVMAGIC(8),
    DIVMAGIC(9),  DIVMAGIC(10), DIVMAGIC(11), DIVMAGIC(12), DIVMAGIC(13), DIVMAGIC(14), DIVMAGIC(15), DIVMAGIC(16),
    DIVMAGIC(17), DIVMAGIC(18), DIVMAGIC(19), DIVMAGIC(20), DIVMAGIC(21), DIVMAGIC(22), DIVMAGIC(23), DIVMAGIC(24),
    DIVMAGIC(25), DIVMAGIC(26), DIVMAGIC(27), DIVMAGIC(28), DIVMAGIC(29), DIVMAGIC(30), DIVMAGIC(31), DIVMAGIC(32),
};
_Static_assert(RH_NUM_CLASSES == 32, "one magic number per class");

_Noreturn void rh__pool_bad_pointer(rh_heap *h, const rh__pool *pool, const void *p, const char *op,
                                    const char *file, int line) {
    size_t s = rh__class_size(pool->cls);
    uintptr_t off = (uintptr_t)p & (RH_POOL_SIZE - 1);
    const char *start = (const char *)p - off % s;
    rh__fatal("%s of a pointer inside a block at %s:%d: %p is not the start of a block: it is %zu bytes into "
              "the %zu-byte block at %p of heap %p%s",
              op, file ? file : "?", line, p, (size_t)(off % s), s, (const void *)start, (void *)h,
              off % s == RH_ALIGNMENT ? " (if it is a container object: an object is released with "
                                              "rh_decref, never freed)"
                                            : "");
}

#define LEAF_BYTES RH__LEAF_BYTES

static size_t root_index(uintptr_t base) { return base >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS); }

/* The slot (meta) of the arena range at base, which the caller has just
 * mapped, mapping its leaf if needed and counting the arena in it. NULL if
 * a leaf cannot be mapped. The lock also orders this arena's use of the
 * slot after the previous owner's (arena_release counts its arena out under
 * the same lock before it unmaps the range). */
static rh__arena *radix_slot_take(uintptr_t base) {
    size_t ri = root_index(base);
    pthread_mutex_lock(&radix_lock);
    uintptr_t leaf = atomic_load_explicit(&rh__radix_root[ri], memory_order_relaxed);
    if (!leaf) {
        void *m = mmap(NULL, LEAF_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (m == MAP_FAILED) { pthread_mutex_unlock(&radix_lock); return NULL; }
        leaf = (uintptr_t)m;
        atomic_store_explicit(&rh__radix_root[ri], leaf, memory_order_release);
    }
    if (leaf_arenas[ri]++ == 0) leaves_in_use++;
    pthread_mutex_unlock(&radix_lock);
    return rh__radix_slot(base);
}

/* The arena at base (its slot already disowned) leaves the tree; the caller
 * unmaps the range after this. The last arena of a leaf gives the leaf's
 * pages back (MADV_DONTNEED: they read as zeros again, i.e. "no arena", so
 * lock-free readers stay safe; the address range stays reserved). */
static void radix_slot_give_back(uintptr_t base) {
    size_t ri = root_index(base);
    pthread_mutex_lock(&radix_lock);
    if (--leaf_arenas[ri] == 0) {
        leaves_in_use--;
        madvise((void *)atomic_load_explicit(&rh__radix_root[ri], memory_order_relaxed), LEAF_BYTES,
                MADV_DONTNEED);
    }
    pthread_mutex_unlock(&radix_lock);
}

size_t rh__radix_leaves_in_use(void) {
    pthread_mutex_lock(&radix_lock);
    size_t n = leaves_in_use;
    pthread_mutex_unlock(&radix_lock);
    return n;
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

/* The first index of by_addr whose arena lies at or after address a. */
static size_t by_addr_search(const struct rh__alloc_state *A, uintptr_t a) {
    size_t lo = 0, hi = A->nby_addr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (A->by_addr[mid]->base < a) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Room in by_addr for one more arena; false: out of memory. */
static bool by_addr_reserve(struct rh__alloc_state *A) {
    if (A->nby_addr < A->capby_addr) return true;
    size_t cap = A->capby_addr ? 2 * A->capby_addr : 16;
    rh__arena **n = realloc(A->by_addr, cap * sizeof *n);
    if (!n) return false;
    A->by_addr = n;
    A->capby_addr = cap;
    return true;
}

static void by_addr_insert(struct rh__alloc_state *A, rh__arena *a) {
    size_t i = by_addr_search(A, a->base);
    memmove(&A->by_addr[i + 1], &A->by_addr[i], (A->nby_addr - i) * sizeof *A->by_addr);
    A->by_addr[i] = a;
    A->nby_addr++;
}

static void by_addr_remove(struct rh__alloc_state *A, const rh__arena *a) {
    size_t i = by_addr_search(A, a->base);
    rh__assert(i < A->nby_addr && A->by_addr[i] == a);
    memmove(&A->by_addr[i], &A->by_addr[i + 1], (A->nby_addr - i - 1) * sizeof *A->by_addr);
    A->nby_addr--;
}

static rh__arena *arena_new(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    if (!by_addr_reserve(A)) return NULL;
    void *m = map_aligned_arena();
    if (!m) return NULL;
    rh__arena *a = (uintptr_t)m >> RH__ADDR_BITS ? NULL : radix_slot_take((uintptr_t)m);
    if (!a) {
        munmap(m, RH_ARENA_SIZE);
        return NULL;
    }
    /* The slot is this arena's alone (the address range is ours; the
     * previous owner's last writes happen before radix_slot_take); other
     * threads may only read its owner word, which is published last. */
    memset(a->pools, 0, sizeof a->pools);
    for (unsigned i = 0; i < RH__POOLS_PER_ARENA; i++) a->pools[i].index = (uint8_t)i;
    a->base = (uintptr_t)m;
    a->freepools = NULL;
    a->nfree = RH__POOLS_PER_ARENA;
    a->ncarved = 0;
    a->npinned = 0;
    a->idle_since = 0;
    a->next = a->prev = a->all_next = a->all_prev = NULL;
    atomic_store_explicit(rh__radix_owner((uintptr_t)m), (uintptr_t)h, memory_order_release);
    a->all_next = A->arenas;
    if (A->arenas) A->arenas->all_prev = a;
    A->arenas = a;
    bucket_insert(A, a);
    by_addr_insert(A, a);
    A->arenas_current++;
    A->arenas_allocated++;
    if (A->arenas_current > A->arenas_peak) A->arenas_peak = A->arenas_current;
    return a;
}

/* Unmaps an arena (already out of its bucket, no cached pool in it) and
 * forgets it. */
static void arena_release(rh_heap *h, rh__arena *a) {
    struct rh__alloc_state *A = &h->alloc;
    if (a->all_prev) a->all_prev->all_next = a->all_next;
    else A->arenas = a->all_next;
    if (a->all_next) a->all_next->all_prev = a->all_prev;
    if (A->idle == a) A->idle = NULL;
    by_addr_remove(A, a);
    /* an open walk keeps no word of a plane whose slot may be taken again
     * (by another heap's arena, whose marks it would read) */
    for (rh__mark_walk *w = A->walks; w; w = w->next)
        if (w->rest != 0 && (w->pos & ~(uintptr_t)(RH_ARENA_SIZE - 1)) == a->base) w->rest = 0;
    A->arenas_current--;
    A->arenas_released++;
    /* Disown the slot before unmapping: once the range is unmapped another
     * heap may map it and take the slot, so `a` is not touched after. */
    void *base = (void *)a->base;
    atomic_store_explicit(rh__radix_owner((uintptr_t)base), 0, memory_order_release);
    radix_slot_give_back((uintptr_t)base);
    RH__UNPOISON(base, RH_ARENA_SIZE); /* the address range may be reused by others */
    munmap(base, RH_ARENA_SIZE);
}

/* ---------------------------------------------------------------------------
 * Pools, the class caches and idle arenas
 * ------------------------------------------------------------------------- */

/* A head's prev is unused (alloc_priv.h): pool_unlink tells the head by
 * usable[c], not by a NULL prev. */
static void pool_link(struct rh__alloc_state *A, rh__pool *pool, unsigned c) {
    pool->next = A->usable[c];
    if (pool->next) pool->next->prev = pool;
    A->usable[c] = pool;
}

static void pool_unlink(struct rh__alloc_state *A, rh__pool *pool) {
    if (A->usable[pool->cls] == pool) A->usable[pool->cls] = pool->next;
    else pool->prev->next = pool->next;
    if (pool->next) pool->next->prev = pool->prev;
    pool->next = pool->prev = NULL;
}

/* Makes `pool` (or nobody) class c's cached pool, keeping npinned true. */
static void set_cached(struct rh__alloc_state *A, unsigned c, rh__pool *pool) {
    if (A->cached[c]) rh__pool_arena(A->cached[c])->npinned--;
    A->cached[c] = pool;
    if (pool) rh__pool_arena(pool)->npinned++;
}

/* Every pool of `a` is free or an empty cached pool. */
static bool arena_is_idle(const struct rh__alloc_state *A, const rh__arena *a) {
    if (a->nfree + a->npinned != RH__POOLS_PER_ARENA) return false;
    if (a->npinned == 0) return true;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        const rh__pool *k = A->cached[c];
        if (k && rh__pool_arena(k) == a && k->used != 0) return false;
    }
    return true;
}

/* Returns an idle arena's cached pools to it and unmaps it. */
static void arena_drain_release(rh_heap *h, rh__arena *a) {
    struct rh__alloc_state *A = &h->alloc;
    if (a->nfree) bucket_remove(A, a);
    for (unsigned c = 0; a->npinned && c < RH_NUM_CLASSES; c++) {
        rh__pool *k = A->cached[c];
        if (!k || rh__pool_arena(k) != a) continue;
        pool_unlink(A, k); /* empty, so on usable[c] */
        set_cached(A, c, NULL);
        a->nfree++;
        A->pools_taken--;
    }
    arena_release(h, a);
}

static uint64_t decay_clock_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + 1u; /* never 0 */
}
uint64_t (*rh__decay_clock)(void) = decay_clock_monotonic;

/* Called when `a` may have become idle: keeps it as the one idle arena;
 * if another idle arena is already kept, releases it at once (no decay)
 * or stamps it, to be released once it has stayed idle decay_ms. */
static void arena_check_idle(rh_heap *h, rh__arena *a) {
    struct rh__alloc_state *A = &h->alloc;
    if (a->nfree + a->npinned != RH__POOLS_PER_ARENA || A->idle == a) return;
    if (!arena_is_idle(A, a)) return;
    if (!A->idle || !arena_is_idle(A, A->idle)) {
        A->idle = a;
        return;
    }
    if (!A->decay_ms) {
        arena_drain_release(h, a);
        return;
    }
    uint64_t now = rh__decay_clock(), due = now + A->decay_ms;
    a->idle_since = now;
    if (!A->decay_deadline || due < A->decay_deadline) A->decay_deadline = due;
}

/* Releases the idle arenas whose delay has run out, once the earliest
 * deadline has passed (one test of a word otherwise). An arena used again
 * since it was stamped is not idle any more: its stamp is dropped. */
static void decay_tick(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    if (RH_LIKELY(A->decay_deadline == 0 && A->bcache_deadline == 0)) return;
    uint64_t now = rh__decay_clock();
    bool cache_due = A->bcache_deadline != 0 && now >= A->bcache_deadline;
    if (!cache_due && (A->decay_deadline == 0 || now < A->decay_deadline)) return;
    /* the cached blocks first: they may be all that keeps an arena in use
     * (the deadlines cleared: the pushes' own slow paths then return here
     * at once; the walk below recomputes the arenas' one, the stamps the
     * pushes made included) */
    A->decay_deadline = 0;
    A->bcache_deadline = 0;
    rh__bcache_flush_all(h);
    uint64_t next = 0;
    for (rh__arena *a = A->arenas, *n; a; a = n) {
        n = a->all_next;
        if (!a->idle_since || a == A->idle) continue;
        if (!arena_is_idle(A, a)) {
            a->idle_since = 0;
            continue;
        }
        uint64_t due = a->idle_since + A->decay_ms;
        if (due <= now) arena_drain_release(h, a);
        else if (!next || due < next) next = due;
    }
    A->decay_deadline = next;
}

void rh__pools_decay(rh_heap *h) { decay_tick(h); }

size_t rh__pools_trim(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    size_t bytes = 0;
    rh__bcache_flush_all(h); /* a cached block keeps its pool in use */
    for (rh__arena *a = A->arenas, *n; a; a = n) {
        n = a->all_next;
        if (arena_is_idle(A, a)) {
            arena_drain_release(h, a);
            bytes += RH_ARENA_SIZE;
        }
    }
    A->decay_deadline = 0; /* every idle arena is gone */
    A->bcache_deadline = 0; /* and the cache is empty */
    return bytes;
}

/* An empty pool that is not cached goes back to its arena's free list. */
static void pool_to_arena(rh_heap *h, rh__pool *pool) {
    struct rh__alloc_state *A = &h->alloc;
    rh__arena *a = rh__pool_arena(pool);
    pool_unlink(A, pool);
    if (a->nfree) bucket_remove(A, a);
    pool->next = a->freepools;
    a->freepools = pool;
    a->nfree++;
    A->pools_taken--;
    bucket_insert(A, a);
    arena_check_idle(h, a);
}

/* Puts an empty pool (every block free and poisoned) back in its
 * freshly-carved state: its first block alone on the free list, as the
 * frontier (its stale link is never read), the rest uncarved. Forgetting the order in which its blocks were freed makes the
 * next allocations walk the pool from its start, in address order, which
 * the hardware prefetcher follows, instead of in the (random) order of the
 * frees. */
static void pool_restart(rh__pool *pool) {
    pool->freelist = (void *)((uintptr_t)rh__pool_base(pool) | RH__FRONTIER_TAG);
}

/* Takes a free pool from the fullest arena with one (mapping an arena if
 * there is none) and initialises it for class c. NULL: out of memory. */
static rh__pool *pool_take(rh_heap *h, unsigned c) {
    struct rh__alloc_state *A = &h->alloc;
    if (!A->nfree_bits && !arena_new(h)) return NULL;
    rh__arena *a = A->by_nfree[__builtin_ctzll(A->nfree_bits)];
    bucket_remove(A, a);
    a->idle_since = 0; /* in use again: no longer decaying */
    A->pools_taken++;
    rh__pool *pool;
    if (a->freepools) {
        pool = a->freepools;
        a->freepools = pool->next;
        a->nfree--;
        if (a->nfree) bucket_insert(A, a);
    } else {
        pool = &a->pools[a->ncarved];
        a->ncarved++;
        a->nfree--;
        if (a->nfree) bucket_insert(A, a);
    }

    char *body = (char *)a->base + (uintptr_t)pool->index * RH_POOL_SIZE;
    RH__POISON(body, RH_POOL_SIZE);
    if (A->tools) VALGRIND_MAKE_MEM_NOACCESS(body, RH_POOL_SIZE);
    pool->cls = (uint8_t)c;
    *rh__leaf_class(rh__radix_leaf(a->base), (uintptr_t)body) = (uint8_t)c;
    /* a mark left by the free of a marked block (misuse) dies here; the
     * words are written only if one is not zero, so a plane page never
     * marked stays untouched (the zero page), and the test is one OR of
     * the 16 words, without a branch a word */
    uint64_t *plane = rh__arena_plane(a->base) + (size_t)pool->index * RH__MARK_WORDS_PER_POOL, any = 0;
    for (unsigned i = 0; i < RH__MARK_WORDS_PER_POOL; i++) any |= plane[i];
    if (RH_UNLIKELY(any != 0)) memset(plane, 0, RH__MARK_WORDS_PER_POOL * sizeof *plane);
    pool->used = 0;
    pool_restart(pool);
    pool_link(A, pool, c);
    return pool;
}

/* No arena could be mapped for a pool: gives back what the pools hold for
 * later use inside the arenas they have, the block cache (a cached block
 * keeps its pool in use) and the empty pools kept for their classes
 * (cached[k]), so that the caller's one more try finds a free pool, or a
 * usable one of its class. Returns whether anything was given back. */
static bool pools_give_back(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    bool any = false;
    for (unsigned k = 0; k < RH_NUM_CLASSES && !any; k++) any = A->bcache_top[k] != 0;
    rh__bcache_flush_all(h);
    for (unsigned k = 0; k < RH_NUM_CLASSES; k++) {
        rh__pool *pool = A->cached[k];
        if (!pool || pool->used != 0) continue;
        set_cached(A, k, NULL);
        pool_to_arena(h, pool);
        any = true;
    }
    return any;
}

void *rh__pool_alloc_slow(rh_heap *h, unsigned c) {
    struct rh__alloc_state *A = &h->alloc;
    decay_tick(h);
    void *b = NULL;
    if (pool_take(h, c) ||
        /* out of memory: once more, after giving back what waits for reuse
         * (the flush may also have put blocks of class c back in a pool) */
        (pools_give_back(h) && (A->usable[c] || pool_take(h, c))))
        b = rh__pool_pop(h, c, A->tools);
    /* one sample of the peak a pool taken (or refused): the bytes in use
     * now are those at the call plus the block just popped, so a sample
     * before taking the pool would add nothing */
    rh__note_peak(h);
    return b;
}

/* After a free: the pool has become empty (cache it, or give it back to
 * its arena). It is on usable[c]. */
static void pool_free_slow(rh_heap *h, rh__pool *pool) {
    struct rh__alloc_state *A = &h->alloc;
    unsigned c = pool->cls;
    rh__arena *a = rh__pool_arena(pool);
    rh__pool *k = A->cached[c];
    if (k == pool) {
        pool_restart(pool);
        arena_check_idle(h, a);
        return;
    }
    if (k && k->used == 0) {
        /* Two empty pools of class c: the one in the emptier arena goes
         * back (ties: the one that just emptied). */
        if (rh__pool_arena(k)->nfree > a->nfree) {
            pool_restart(pool);
            set_cached(A, c, pool);
            pool_to_arena(h, k);
            arena_check_idle(h, a);
        } else {
            pool_to_arena(h, pool);
        }
        return;
    }
    pool_restart(pool);
    set_cached(A, c, pool);
    arena_check_idle(h, a);
}

/* A pool emptied while blocks wait in the block cache: those blocks may be
 * all that keeps their arenas in use (no arena of theirs can become idle,
 * so none is stamped), so the cache's deadline is set, if it is not,
 * decay_ms from now, when decay_tick empties the cache. Not during a
 * flush (its pushes empty pools; the flush's caller deals with the
 * arenas). */
static void bcache_decay_arm(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    if (A->bcache_deadline != 0 || A->bcache_flushing) return;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++)
        if (A->bcache_top[c] != 0) {
            A->bcache_deadline = rh__decay_clock() + A->decay_ms;
            return;
        }
}

void rh__pool_free_slow(rh_heap *h, rh__pool *pool) {
    pool_free_slow(h, pool);
    bcache_decay_arm(h);
    decay_tick(h);
}

/* Gives every cached block back to its pool, newest first. The cache's
 * word is re-read at every step: a push may reach the decay (rh__pool_push,
 * rh__pool_free_slow), whose flush empties this class too. nfreed[c]
 * counted the block when it was cached; the push counts it again, so it
 * is uncounted first. */
void rh__bcache_flush_all(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    bool outer = !A->bcache_flushing;
    A->bcache_flushing = true;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++)
        for (void *b; (b = rh__bcache_take(A, c)) != NULL;) {
            A->nfreed[c]--;
            RH__UNPOISON(b, sizeof(void *)); /* the push writes the link, then poisons the block again */
            rh__pool_push(h, rh__pool_of(b), b, false);
        }
    if (outer) A->bcache_flushing = false;
}

int rh__pools_init(rh_heap *h) {
    h->alloc.tools = RUNNING_ON_VALGRIND != 0;
    if (h->alloc.tools) VALGRIND_CREATE_MEMPOOL(h, 0, 0);
    return 0;
}

void rh__pools_fini(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    memset(A->cached, 0, sizeof A->cached);
    memset(A->bcache_top, 0, sizeof A->bcache_top); /* its blocks go with their arenas */
    while (A->arenas) {
        /* blocks may be live, and marked: the slot's next arena starts unmarked */
        uint64_t *plane = rh__arena_plane(A->arenas->base);
        for (unsigned i = 0; i < RH__MARK_WORDS; i++)
            if (plane[i]) plane[i] = 0;
        arena_release(h, A->arenas);
    }
    free(A->by_addr);
    A->by_addr = NULL;
    A->nby_addr = A->capby_addr = 0;
    if (A->tools) VALGRIND_DESTROY_MEMPOOL(h);
    memset(A->usable, 0, sizeof A->usable);
    memset(A->by_nfree, 0, sizeof A->by_nfree);
    A->nfree_bits = 0;
    A->idle = NULL;
}

size_t rh__pools_in_use(const rh_heap *h) {
    const struct rh__alloc_state *A = &h->alloc;
    size_t bytes = 0;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++)
        bytes += (size_t)(A->nalloc[c] - A->nfreed[c]) * rh__class_size(c);
    return bytes;
}

/* Walks every carved pool: the per-class figures come from the pool headers,
 * which are exact. */
void rh__pools_stats(rh_heap *h, rh_heap_stats *out) {
    struct rh__alloc_state *A = &h->alloc;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) out->classes[c].block_size = rh__class_size(c);
    for (rh__arena *a = A->arenas; a; a = a->all_next) {
        out->pools_total += RH__POOLS_PER_ARENA;
        out->pools_empty += a->nfree;
        for (unsigned i = 0; i < a->ncarved; i++) {
            const rh__pool *pool = &a->pools[i];
            rh_class_stats *cs = &out->classes[pool->cls];
            if (pool->used == 0) {
                /* a free pool's class is stale, but it is never cached */
                if (A->cached[pool->cls] == pool) cs->pools_cached++;
                continue;
            }
            size_t s = rh__class_size(pool->cls);
            size_t cap = RH_POOL_SIZE / s;
            cs->pools_used++;
            if (pool->freelist == NULL) cs->pools_full++;
            cs->blocks_in_use += pool->used;
            cs->blocks_free += cap - pool->used;
        }
    }
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) { /* a cached block is free (its pool counts it used) */
        uint32_t n = rh__bcache_count(A, c);
        out->classes[c].blocks_in_use -= n;
        out->classes[c].blocks_free += n;
        /* and a pool with an empty free list that holds one is not full:
         * each such pool once (by its first cached block) */
        for (uint32_t i = 0; i < n; i++) {
            const rh__pool *p = rh__pool_of(rh__bcache_entry(A, c, i));
            bool first = p->freelist == NULL;
            for (uint32_t j = 0; j < i && first; j++) first = rh__pool_of(rh__bcache_entry(A, c, j)) != p;
            if (first) out->classes[c].pools_full--;
        }
    }
}

/* One step of a walk's pools part (memory/marks.h): the first marked
 * block of h's arenas strictly after w->pos (from the first arena when
 * w->pos is 0), or after the word of w->pos when the step in line found
 * nothing left of what it kept there (w->rest not 0). The arena holding
 * the start is h's (the cursor's arena, or the one right after it) or
 * by_addr names the next one. A block found keeps its word (w->kept) and
 * the word's bits beyond it (w->rest) for the steps in line, in pools mode
 * only: a shim that changes pointers (debug) must see every step. */
void *rh__pools_next_marked(rh_heap *h, rh__mark_walk *w, bool *yielded) {
    const struct rh__alloc_state *A = &h->alloc;
    const size_t budget = w->budget;
    size_t k = 0; /* plane words read by this step */
    uintptr_t start;
    if (w->rest != 0) {
        /* read in line already, counted here: its bits beyond pos that were
         * not kept were clear when it was first read (blocks marked since) */
        start = (w->pos | (64 * RH_ALIGNMENT - 1)) + 1;
        k = 1;
        w->rest = 0;
    } else {
        start = w->pos ? w->pos + RH_ALIGNMENT : 0;
    }
    for (;;) {
        rh__arena *m;
        if (budget && k >= budget) { /* yield before the next arena (or word) */
            w->pos = start - RH_ALIGNMENT;
            w->scanned += k;
            *yielded = true;
            return NULL;
        }
        if (rh__pool_heap((const void *)start) == h) {
            m = rh__radix_slot(start);
        } else {
            size_t i = by_addr_search(A, start);
            if (i == A->nby_addr) {
                w->scanned += k;
                return NULL;
            }
            m = A->by_addr[i];
            start = m->base;
        }
        size_t wi = (start >> (RH__POOL_SHIFT - 4)) & (RH__MARK_WORDS - 1);
        const uint64_t *plane = rh__arena_plane(m->base);
        uint64_t word = plane[wi] & (~(uint64_t)0 << rh__mark_shift(start));
        k++;
        while (word == 0 && ++wi < RH__MARK_WORDS) {
            if (budget && k >= budget) { /* yield at word wi, not read */
                w->pos = m->base + (uintptr_t)wi * 64 * RH_ALIGNMENT - RH_ALIGNMENT;
                w->scanned += k;
                *yielded = true;
                return NULL;
            }
            word = plane[wi];
            k++;
        }
        if (word != 0) {
            w->scanned += k;
            uintptr_t b = m->base + ((uintptr_t)wi * 64 + (uintptr_t)__builtin_ctzll(word)) * RH_ALIGNMENT;
            w->pos = b;
            if (!(A->slow & RH__SLOW_MODE)) {
                w->kept = &plane[wi];
                w->rest = word & (word - 1);
            }
            return (void *)b;
        }
        start = m->base + RH_ARENA_SIZE;
    }
}

/* ---------------------------------------------------------------------------
 * Invariant check (RH_DEBUG >= 3 after every collection and at heap
 * destruction; white-box tests call it directly). Every equation of the
 * essay, over every arena of the heap; a violation stops the program.
 *   arena:  heap == h;  |freepools| + (64 - ncarved) == nfree;
 *           a pool on freepools is carved and has used == 0;
 *   pool in use (carved, not on freepools):
 *           used + |freelist| + uncarved == capacity, where
 *           capacity = P / s and uncarved = (P - e) / s, e the end of
 *           the frontier when the list ends with it (its word tagged),
 *           else P (then nothing is left to carve); a frontier is never
 *           the pool's last block;
 *           freelist empty <=> full (used == capacity);
 *           used == 0 only for cached[cls];
 *   class c: sum of used over its pools
 *             == nalloc[c] - nfreed[c] + cached(c);
 *           cached(c) <= RH__BCACHE_CAP, the cache's words below the
 *           top have depths 0 (the bottom, bcache[c][0]) .. cached(c) - 1,
 *           and each cached block of
 *           class c is a block boundary of a pool of class c of this heap
 *           that is in use (used > 0), not on its free list, cached once;
 *           usable[c] is a well-linked list (prev mirrors next, but
 *           for the head's, unused) of pools
 *           of class c, each with a free block and in use or cached[c],
 *           as many as there are such pools: so it holds every pool of
 *           the class that has a free block, and no full one.
 *   marks:  every set bit of a pool's mark plane is the start of a block
 *           handed out; a free pool's plane and a never-carved one's are 0;
 *           by_addr holds every arena of the heap once, in address order.
 * O(live pool blocks): the free lists are walked.
 * ------------------------------------------------------------------------- */

/* A walk of a pool's free list goes by the list's words: w is the head,
 * then each block's link, a block's address tagged when it is the
 * frontier (RH__FRONTIER_TAG). free_block: the block w names. free_link:
 * the word after it, 0 at the end: the frontier ends the list without a
 * link (its first word is not read); any other block has its link in its
 * first word, which the tools keep inaccessible. */
static void *free_block(uintptr_t w) { return (void *)(w & ~RH__FRONTIER_TAG); }
static uintptr_t free_link(const rh_heap *h, uintptr_t w) {
    if (w & RH__FRONTIER_TAG) return 0;
    void *b = free_block(w);
    RH__UNPOISON(b, sizeof(void *));
    if (h->alloc.tools) VALGRIND_MAKE_MEM_DEFINED(b, sizeof(void *));
    uintptr_t next = (uintptr_t)*(void **)b;
    RH__POISON(b, sizeof(void *));
    if (h->alloc.tools) VALGRIND_MAKE_MEM_NOACCESS(b, sizeof(void *));
    return next;
}
/* The offset below which a pool's blocks of s bytes are carved, from the
 * last word of its free list: just past the frontier, when that word is
 * tagged, or the pool's end (nothing left to carve, or the pool full). */
static size_t carved_end(uintptr_t last, size_t s) {
    if (!(last & RH__FRONTIER_TAG)) return RH_POOL_SIZE;
    return ((uintptr_t)free_block(last) & (RH_POOL_SIZE - 1)) + s;
}
/* The same for pool p (in use), its list walked. */
static size_t pool_carved_end(const rh_heap *h, const rh__pool *p) {
    uintptr_t last = 0;
    for (uintptr_t w = (uintptr_t)p->freelist; w; w = free_link(h, w)) last = w;
    return carved_end(last, rh__class_size(p->cls));
}

/* Pool i of arena a: every set bit of its mark plane is the start of a
 * block handed out (carved, not on the free list, not in the block cache;
 * `in_use`: the pool is carved and not on the arena's free list; else no
 * bit is set). */
static void check_pool_marks(const rh_heap *h, rh__arena *a, unsigned i, bool in_use) {
    const struct rh__alloc_state *A = &h->alloc;
    const uint64_t *w = rh__arena_plane(a->base) + i * RH__MARK_WORDS_PER_POOL;
    uint64_t ok[RH__MARK_WORDS_PER_POOL] = {0};
    if (in_use) {
        const rh__pool *p = &a->pools[i];
        size_t s = rh__class_size(p->cls);
        for (size_t off = 0, end = pool_carved_end(h, p); off < end; off += s)
            ok[off / RH_ALIGNMENT / 64] |= (uint64_t)1 << (off / RH_ALIGNMENT % 64);
        for (uintptr_t fw = (uintptr_t)p->freelist; fw; fw = free_link(h, fw)) {
            void *b = free_block(fw);
            size_t g = ((uintptr_t)b & (RH_POOL_SIZE - 1)) / RH_ALIGNMENT;
            ok[g / 64] &= ~((uint64_t)1 << (g % 64));
        }
        for (uint32_t j = 0, n = rh__bcache_count(A, p->cls); j < n; j++) {
            void *b = rh__bcache_entry(A, p->cls, j);
            if (rh__pool_of(b) != p) continue;
            size_t g = ((uintptr_t)b & (RH_POOL_SIZE - 1)) / RH_ALIGNMENT;
            ok[g / 64] &= ~((uint64_t)1 << (g % 64));
        }
    }
    for (unsigned j = 0; j < RH__MARK_WORDS_PER_POOL; j++) {
        uint64_t bad = w[j] & ~ok[j];
        if (bad)
            rh__fatal("pools: invariant broken: arena %p, pool %u (%s): %p is marked but is not the start of a "
                      "block handed out (a block freed while marked?)", (void *)a->base, i, in_use ? "in use" : "free",
                      (void *)(a->base + ((uintptr_t)i * RH__MARK_WORDS_PER_POOL * 64 + j * 64 +
                                          (uintptr_t)__builtin_ctzll(bad)) * RH_ALIGNMENT));
    }
}

void rh__pools_check(rh_heap *h) {
    const struct rh__alloc_state *A = &h->alloc;
    uint64_t used_by_class[RH_NUM_CLASSES] = {0};
    size_t open_by_class[RH_NUM_CLASSES] = {0}; /* pools in use (or cached) with a free block */
    size_t carved = 0, taken = 0;
    for (rh__arena *a = A->arenas; a; a = a->all_next) {
        uintptr_t owner = atomic_load_explicit(rh__radix_owner(a->base), memory_order_relaxed);
        if (owner != (uintptr_t)h)
            rh__fatal("pools: invariant broken: arena %p of heap %p names heap %#lx", (void *)a->base,
                      (void *)h, (unsigned long)owner);
        uint64_t onfree = 0;
        unsigned nfreepools = 0;
        for (rh__pool *p = a->freepools; p; p = p->next) {
            if (p->index >= a->ncarved || p->used != 0 || (onfree >> p->index) & 1)
                rh__fatal("pools: invariant broken: arena %p: free pool %u (used %u, %u carved) is not an "
                          "empty carved pool listed once", (void *)a->base, p->index, p->used, a->ncarved);
            onfree |= (uint64_t)1 << p->index;
            nfreepools++;
        }
        if (nfreepools + (RH__POOLS_PER_ARENA - a->ncarved) != a->nfree)
            rh__fatal("pools: invariant broken: arena %p: %u free pools + %u never carved != nfree %u",
                      (void *)a->base, nfreepools, RH__POOLS_PER_ARENA - a->ncarved, a->nfree);
        for (unsigned i = 0; i < a->ncarved; i++) {
            rh__pool *p = &a->pools[i];
            if ((onfree >> i) & 1) continue;
            size_t s = rh__class_size(p->cls), cap = RH_POOL_SIZE / s;
            size_t nfree = 0;
            uintptr_t last = 0;
            for (uintptr_t w = (uintptr_t)p->freelist; w; w = free_link(h, w)) {
                void *b = free_block(w);
                if (rh__pool_of(b) != p || ((uintptr_t)b - (uintptr_t)rh__pool_base(p)) % s != 0 || ++nfree > cap)
                    rh__fatal("pools: invariant broken: pool %p (class %u): free list holds %p, not a block "
                              "boundary of this pool (or loops)", (void *)rh__pool_base(p), p->cls, b);
                last = w;
            }
            /* the list ends at the frontier only while another block fits
             * after it: the blocks past it are the uncarved ones */
            size_t end = carved_end(last, s);
            if ((last & RH__FRONTIER_TAG) && end > RH_POOL_SIZE - s)
                rh__fatal("pools: invariant broken: pool %p (class %u): its frontier %p is its last block",
                          (void *)rh__pool_base(p), p->cls, free_block(last));
            size_t uncarved = (RH_POOL_SIZE - end) / s;
            if (p->used + nfree + uncarved != cap)
                rh__fatal("pools: invariant broken: pool %p (class %u): used %u + free %zu + uncarved %zu "
                          "!= capacity %zu", (void *)rh__pool_base(p), p->cls, p->used, nfree, uncarved, cap);
            if ((nfree == 0) != (p->used == cap))
                rh__fatal("pools: invariant broken: pool %p (class %u): free list %s but used %u of %zu",
                          (void *)rh__pool_base(p), p->cls, nfree ? "not empty" : "empty", p->used, cap);
            if (p->used == 0 && A->cached[p->cls] != p)
                rh__fatal("pools: invariant broken: pool %p (class %u) is empty but neither free nor cached",
                          (void *)rh__pool_base(p), p->cls);
            if (*rh__leaf_class(rh__radix_leaf(a->base), (uintptr_t)rh__pool_base(p)) !=
                p->cls)
                rh__fatal("pools: invariant broken: pool %p (class %u): the leaf's class map says class %u",
                          (void *)rh__pool_base(p), p->cls,
                          *rh__leaf_class(rh__radix_leaf(a->base), (uintptr_t)rh__pool_base(p)));
            used_by_class[p->cls] += p->used;
            if (nfree) open_by_class[p->cls]++;
        }
        carved += a->ncarved;
        taken += RH__POOLS_PER_ARENA - a->nfree;
        for (unsigned i = 0; i < RH__POOLS_PER_ARENA; i++)
            check_pool_marks(h, a, i, i < a->ncarved && !((onfree >> i) & 1));
    }
    if (taken != A->pools_taken)
        rh__fatal("pools: invariant broken: the arenas' pools less their free ones are %zu, pools_taken says %zu",
                  taken, A->pools_taken);
    if (A->nby_addr != A->arenas_current)
        rh__fatal("pools: invariant broken: %zu arenas sorted by address, %zu mapped", A->nby_addr,
                  A->arenas_current);
    for (size_t i = 0; i < A->nby_addr; i++)
        if ((i > 0 && A->by_addr[i - 1]->base >= A->by_addr[i]->base) ||
            atomic_load_explicit(rh__radix_owner(A->by_addr[i]->base), memory_order_relaxed) != (uintptr_t)h)
            rh__fatal("pools: invariant broken: the arenas sorted by address are out of order or name an arena "
                      "of another heap at index %zu (%p)", i, (void *)A->by_addr[i]->base);
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        size_t n = 0;
        for (const rh__pool *p = A->usable[c], *prev = NULL; p; prev = p, p = p->next) {
            if (++n > carved || (prev && p->prev != prev) ||
                atomic_load_explicit(rh__radix_owner(rh__pool_arena(p)->base), memory_order_relaxed) !=
                    (uintptr_t)h)
                rh__fatal("pools: invariant broken: class %u: usable list broken at pool %p (a loop, a "
                          "wrong back link, or a pool of another heap)", c, (const void *)p);
            if (p->cls != c || p->freelist == NULL || (p->used == 0 && A->cached[c] != p))
                rh__fatal("pools: invariant broken: class %u: usable list holds pool %p (class %u, used %u) "
                          "that is %s", c, (void *)rh__pool_base(p), p->cls, p->used,
                          p->cls != c ? "of another class" : p->freelist == NULL ? "full" : "free");
        }
        if (n != open_by_class[c])
            rh__fatal("pools: invariant broken: class %u: usable list holds %zu pools, but %zu pools of "
                      "the class have a free block", c, n, open_by_class[c]);
    }
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        uint32_t ncached = rh__bcache_count(A, c);
        if (ncached > RH__BCACHE_CAP)
            rh__fatal("pools: invariant broken: class %u: block cache holds %u blocks, more than %u", c,
                      (unsigned)ncached, RH__BCACHE_CAP);
        for (uint32_t k = 0; k == 0 || k < ncached; k++) /* the word below depth k + 1 has depth k; 0 at the bottom */
            if (k == 0 ? A->bcache[c][0] != 0 : RH__BCACHE_DEPTH(A->bcache[c][k]) != k)
                rh__fatal("pools: invariant broken: class %u: block cache's word %u is %#" PRIxPTR
                          ", not of depth %u", c, (unsigned)k, A->bcache[c][k], (unsigned)k);
        for (uint32_t i = 0; i < ncached; i++) {
            void *b = rh__bcache_entry(A, c, i);
            rh__pool *p = rh__pool_lookup(b, h);
            bool listed = false;
            if (p && p->used != 0)
                for (uintptr_t w = (uintptr_t)p->freelist; w && !listed; w = free_link(h, w)) listed = free_block(w) == b;
            for (uint32_t j = 0; j < i && !listed; j++) listed = rh__bcache_entry(A, c, j) == b;
            if (!p || p->cls != c || p->used == 0 || !rh__class_block_start(c, b) || listed)
                rh__fatal("pools: invariant broken: class %u: block cache holds %p, which is %s", c, b,
                          !p ? "not in an arena of this heap" : p->cls != c ? "in a pool of another class"
                          : p->used == 0 ? "in an empty pool" : !rh__class_block_start(c, b) ? "not a block boundary"
                          : "on its pool's free list or cached twice");
        }
        if (used_by_class[c] != A->nalloc[c] - A->nfreed[c] + ncached)
            rh__fatal("pools: invariant broken: class %u: blocks in use %" PRIu64 " != handed out %" PRIu64
                      " - given back %" PRIu64 " + cached %u", c, used_by_class[c], A->nalloc[c], A->nfreed[c],
                      (unsigned)ncached);
    }
}
