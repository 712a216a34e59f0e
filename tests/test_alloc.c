/*
 * test_alloc.c — the pools allocator: the C standard's contracts, size
 * classes, alignment, realloc, arenas going back to the OS, the arena policy,
 * several heaps at once (also on several threads), pointer ownership, the
 * fault injector, statistics, a randomized stress test, and AddressSanitizer
 * catching a use after free of a pool block.
 *
 * Expected figures come from first principles (the geometry in refheap.h):
 * a block of class c is (c+1)*16 bytes; a 16 KiB pool holds only blocks
 * (its header lives in the arena's bookkeeping, outside the arena), so it
 * holds 16384/s blocks of s bytes; an arena is 1 MiB = 64 pools.
 */
#include "rh_test.h"

#include <pthread.h>

#include "internal.h" /* white box: rh__enter for nothing here, RH__POOLS_PER_ARENA */
#include "memory/alloc_priv.h" /* white box: the radix tree's leaves */

#include <sys/mman.h>

#ifdef RH_SANITIZE
#define UNDER_SANITIZER 1
#else
#define UNDER_SANITIZER 0
#endif

/* White-box tests of the pools themselves (their lists, cached pools,
 * arenas, decay) look below the block cache: their frees reach the pool at
 * once, as the cache's flush would make them. */
static void pool_free(rh_heap *h, void *p) {
    rh_free(h, p);
    rh__bcache_flush_all(h);
}

static rh_heap *new_heap(rh_mode mode) {
    rh_heap_config cfg = {.mode = mode};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(rh_heap_mode(h), mode);
    return h;
}

/* A pools-mode heap that returns idle arenas at once (no decay delay). */
static rh_heap *new_heap_nodecay(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = RH_ARENA_DECAY_NOW};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

static const rh_mode all_modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};
#define NMODES (sizeof all_modes / sizeof all_modes[0])

/* ---------------------------------------------------------------------------
 * The C standard's contracts, in every mode
 * ------------------------------------------------------------------------- */
static void test_c_contracts(void **state) {
    (void)state;
    for (size_t m = 0; m < NMODES; m++) {
        rh_heap *h = new_heap(all_modes[m]);
        rh_free(h, NULL); /* no-op */
        assert_int_equal(rh_err(h), RH_OK);

        char *p = rh_realloc(h, NULL, 40); /* realloc(NULL) allocates */
        assert_non_null(p);
        memset(p, 'a', 40);

        void *z1 = rh_malloc(h, 0), *z2 = rh_malloc(h, 0); /* unique pointers */
        assert_non_null(z1);
        assert_non_null(z2);
        assert_ptr_not_equal(z1, z2);
        assert_ptr_equal(rh_heap_of(z1), h);

        /* calloc: zeroed, and n*size overflow is refused */
        unsigned char *c = rh_calloc(h, 100, 7);
        assert_non_null(c);
        for (int i = 0; i < 700; i++) assert_int_equal(c[i], 0);
        assert_null(rh_calloc(h, SIZE_MAX / 2, 3));
        assert_int_equal(rh_err(h), RH_ENOMEM);
        assert_non_null(strstr(rh_errmsg(h), "overflow"));
        rh_err_clear(h);
        assert_string_equal(rh_errmsg(h), "");

        /* an impossible request fails cleanly */
        assert_null(rh_malloc(h, SIZE_MAX - 8));
        assert_int_equal(rh_err(h), RH_ENOMEM);
        rh_err_clear(h);

        /* realloc to 0 keeps a unique (smallest) block */
        void *r0 = rh_realloc(h, p, 0);
        assert_non_null(r0);

        rh_free(h, r0);
        rh_free(h, z1);
        rh_free(h, z2);
        rh_free(h, c);
        rh_heap_destroy(h);
    }
}

/* ---------------------------------------------------------------------------
 * Size classes: 16-byte steps up to 512, then the system allocator
 * ------------------------------------------------------------------------- */
static void test_size_class_boundaries(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    static const struct { size_t req, usable; bool pool; } cases[] = {
        {0, 16, true},   {1, 16, true},     {16, 16, true},  {17, 32, true},
        {32, 32, true},  {33, 48, true},    {511, 512, true}, {512, 512, true},
        {513, 513, false}, {4096, 4096, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = rh_malloc(h, cases[i].req);
        assert_non_null(p);
        assert_int_equal(rh_usable_size(h, p), cases[i].usable);
        assert_int_equal(rh_is_pool_block(h, p), cases[i].pool);
        memset(p, 0x5A, cases[i].req);
        rh_free(h, p);
    }
    /* one pool per class in use: 16 and 17 bytes live in different pools */
    void *a = rh_malloc(h, 16), *b = rh_malloc(h, 17);
    assert_ptr_not_equal((uintptr_t)a & ~(uintptr_t)(RH_POOL_SIZE - 1), (uintptr_t)b & ~(uintptr_t)(RH_POOL_SIZE - 1));
    rh_free(h, a);
    rh_free(h, b);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Every block is 16-byte aligned, in every mode
 * ------------------------------------------------------------------------- */
static void test_alignment(void **state) {
    (void)state;
    enum { N = 1200 };
    for (size_t m = 0; m < NMODES; m++) {
        rh_heap *h = new_heap(all_modes[m]);
        void **ps = calloc(N, sizeof *ps);
        for (size_t n = 0; n < N; n++) {
            ps[n] = (n % 3 == 0) ? rh_calloc(h, 1, n) : rh_malloc(h, n);
            assert_non_null(ps[n]);
            assert_int_equal((uintptr_t)ps[n] % RH_ALIGNMENT, 0);
        }
        for (size_t n = 0; n < N; n += 2) {
            ps[n] = rh_realloc(h, ps[n], (n * 7) % 1500);
            assert_non_null(ps[n]);
            assert_int_equal((uintptr_t)ps[n] % RH_ALIGNMENT, 0);
        }
        for (size_t n = 0; n < N; n++) rh_free(h, ps[n]);
        free(ps);
        rh_heap_destroy(h);
    }
}

/* ---------------------------------------------------------------------------
 * realloc: same class in place; another class (either way) moves.
 * ------------------------------------------------------------------------- */
static void test_realloc_copy_rule(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    char *p = rh_malloc(h, 17); /* class of 32-byte blocks */
    memcpy(p, "0123456789abcdef", 17);
    assert_ptr_equal(rh_realloc(h, p, 32), p); /* grows within the class */
    assert_ptr_equal(rh_realloc(h, p, 20), p); /* shrinks within the class */
    char *q = rh_realloc(h, p, 33);            /* grows by a class: moves */
    assert_ptr_not_equal(q, p);
    assert_string_equal(q, "0123456789abcdef");
    assert_int_equal(rh_usable_size(h, q), 48);
    char *r = rh_realloc(h, q, 16); /* shrinks by a class: moves */
    assert_ptr_not_equal(r, q);
    assert_memory_equal(r, "0123456789abcdef", 16);
    assert_int_equal(rh_usable_size(h, r), 16);

    /* small -> large -> small */
    char *big = rh_realloc(h, r, 5000);
    assert_false(rh_is_pool_block(h, big));
    assert_memory_equal(big, "0123456789abcdef", 16);
    memset(big + 16, 'x', 5000 - 16);
    big = rh_realloc(h, big, 9000); /* large to large: the system's realloc */
    assert_non_null(big);
    assert_int_equal(big[4999], 'x');
    assert_int_equal(rh_usable_size(h, big), 9000);
    char *small = rh_realloc(h, big, 100); /* back into a pool */
    assert_true(rh_is_pool_block(h, small));
    assert_memory_equal(small, "0123456789abcdef", 16);
    assert_int_equal(small[99], 'x');

    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.large_blocks, 0);
    assert_int_equal(st.reallocs, 7);
    rh_free(h, small);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * 100 MB of small blocks, freed: arenas and RSS come back down
 * ------------------------------------------------------------------------- */
static void test_arenas_returned(void **state) {
    (void)state;
    enum { BLOCK = 256 };
    /* the 100 MB; 16 MB under Valgrind, still 16 arenas to return */
    size_t total = (size_t)(rh_test_under_valgrind() ? 16 : 100) << 20, n = total / BLOCK;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    void **ps = malloc(n * sizeof *ps);
    assert_non_null(ps);
    size_t rss0 = rh_process_rss();
    for (size_t i = 0; i < n; i++) {
        ps[i] = rh_malloc(h, BLOCK);
        assert_non_null(ps[i]);
        memset(ps[i], (int)i, BLOCK); /* touch every page */
    }
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    /* 100 MiB of 256-byte blocks: 409600 blocks, 64 per pool (16384 / 256),
     * 6400 pools, 64 per arena -> 100 arenas (16 MiB: 16 arenas) */
    size_t per_pool = RH_POOL_SIZE / BLOCK;
    size_t pools = (n + per_pool - 1) / per_pool;
    size_t arenas = (pools + RH__POOLS_PER_ARENA - 1) / RH__POOLS_PER_ARENA;
    assert_int_equal(st.arenas_current, arenas);
    assert_int_equal(st.arenas_peak, arenas);
    assert_int_equal(st.classes[BLOCK / 16 - 1].blocks_in_use, n);
    assert_int_equal(st.bytes_in_use, total);
    size_t rss_full = rh_process_rss();
    if (rss0) assert_true(rss_full >= rss0 + total * 9 / 10);

    /* free in an interleaved order so that pools empty out unevenly; the
     * heap has the default decay delay, so the empty arenas stay mapped
     * until it runs out or a trim */
    for (size_t k = 0; k < 7; k++)
        for (size_t i = k; i < n; i += 7) rh_free(h, ps[i]);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_released + st.arenas_current, arenas);
    assert_int_equal(st.arenas_allocated, arenas);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.classes[BLOCK / 16 - 1].blocks_in_use, 0);
    size_t mapped = st.arenas_current;
    /* the trim returns every one of them, the kept one included */
    assert_int_equal(rh_heap_trim(h), mapped * RH_ARENA_SIZE);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 0);
    assert_int_equal(st.arenas_released, arenas);
    assert_int_equal(rh_heap_trim(h), 0);
    size_t rss_after = rh_process_rss();
    if (rss0) assert_true(rss_after + total * 8 / 10 <= rss_full);
    free(ps);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * The arena policy: new pools come from the arena with the fewest free pools
 * ------------------------------------------------------------------------- */
static uintptr_t arena_of(const void *p) { return (uintptr_t)p & ~(uintptr_t)(RH_ARENA_SIZE - 1); }

static void test_fullest_arena_first(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* 512-byte blocks: 32 per pool (16384 / 512); one pool = 32 blocks */
    enum { PER_POOL = 16384 / 512, NPOOLS = 3 * 64 };
    static void *blk[NPOOLS][PER_POOL];
    for (int p = 0; p < NPOOLS; p++)
        for (int b = 0; b < PER_POOL; b++) blk[p][b] = rh_malloc(h, 512);
    /* pools were carved in order: pools 0..63 in arena A, 64..127 in B, ... */
    uintptr_t A = arena_of(blk[0][0]), B = arena_of(blk[64][0]), C = arena_of(blk[128][0]);
    assert_true(A != B && B != C && A != C);
    /* free 10 whole pools of A and 40 of B: A has 10 free pools, B 40 */
    for (int p = 0; p < 10; p++)
        for (int b = 0; b < PER_POOL; b++) pool_free(h, blk[p][b]);
    for (int p = 64; p < 104; p++)
        for (int b = 0; b < PER_POOL; b++) pool_free(h, blk[p][b]);
    /* a new pool (of another class) comes from A, the fullest arena with room */
    void *x = rh_malloc(h, 100);
    assert_true(arena_of(x) == A);
    pool_free(h, x);
    /* when all of A's free pools are used, new ones come from B */
    void *y[10];
    for (int i = 0; i < 10; i++) {
        y[i] = rh_malloc(h, 16 * (i + 1)); /* ten classes: ten new pools */
        assert_true(arena_of(y[i]) == A);
    }
    void *z = rh_malloc(h, 176); /* eleventh class: A is full */
    assert_true(arena_of(z) == B);
    rh_heap_destroy(h); /* frees everything still live */
}

/* ---------------------------------------------------------------------------
 * LIFO reuse; pools leave and rejoin their class's list
 * ------------------------------------------------------------------------- */
static void test_lifo_and_full_pools(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* `keep` stops the pool from emptying (an empty pool goes back to its
     * arena and starts afresh) */
    void *keep = rh_malloc(h, 100), *a = rh_malloc(h, 100), *b = rh_malloc(h, 100);
    pool_free(h, a);
    pool_free(h, b);
    assert_ptr_equal(rh_malloc(h, 110), b); /* last freed, first reused */
    assert_ptr_equal(rh_malloc(h, 97), a);
    /* fill a pool of 48-byte blocks: 341 per pool (16384 / 48, 16 bytes left over) */
    enum { PER = 16384 / 48 };
    void *ps[PER + 1];
    for (int i = 0; i < PER + 1; i++) ps[i] = rh_malloc(h, 48);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[2].pools_used, 2);
    assert_int_equal(st.classes[2].pools_full, 1);
    assert_int_equal(st.classes[2].blocks_in_use, PER + 1);
    assert_int_equal(st.classes[2].blocks_free, PER - 1);
    /* freeing into the full pool makes it usable again, and it is used first */
    pool_free(h, ps[5]);
    assert_ptr_equal(rh_malloc(h, 40), ps[5]);
    for (int i = 0; i < PER + 1; i++) pool_free(h, ps[i]);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[2].pools_used, 0);
    assert_int_equal(st.classes[6].blocks_in_use, 3); /* keep, a, b: 112-byte blocks */
    pool_free(h, keep);
    pool_free(h, a);
    pool_free(h, b);
    rh_heap_destroy(h);
}

/* Writes word w into the first word of pool block b, which the pools keep
 * inaccessible to the tools while it is not handed out (a white-box
 * stand-in for the stale bytes a restarted pool's blocks hold). */
static void poke_free_block(rh_heap *h, void *b, uintptr_t w) {
    RH__UNPOISON(b, sizeof w);
    if (h->alloc.tools) VALGRIND_MAKE_MEM_UNDEFINED(b, sizeof w);
    memcpy(b, &w, sizeof w);
    RH__POISON(b, sizeof w);
    if (h->alloc.tools) VALGRIND_MAKE_MEM_NOACCESS(b, sizeof w);
}
static uintptr_t peek_free_block(rh_heap *h, void *b) {
    uintptr_t w;
    RH__UNPOISON(b, sizeof w);
    if (h->alloc.tools) VALGRIND_MAKE_MEM_DEFINED(b, sizeof w);
    memcpy(&w, b, sizeof w);
    RH__POISON(b, sizeof w);
    if (h->alloc.tools) VALGRIND_MAKE_MEM_NOACCESS(b, sizeof w);
    return w;
}

/* White box: carving a pool neither reads nor writes its blocks. The last
 * block carved (the frontier) ends the free list without a link (the list
 * names it with its address tagged), and the pop that takes it makes the
 * next block the frontier from its address alone: whatever the blocks hold (here, words planted where a link
 * would be, as the blocks of a restarted pool hold the links of their
 * frees) is neither followed nor overwritten, and the pool hands its blocks
 * out in address order. The pool's last block, carved, ends the list with
 * a NULL link, and the pool then leaves its list full. */
static void test_carving_touches_no_block(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { S = 64, PER = 16384 / S }; /* class 3 */
    static char *ps[PER];
    ps[0] = rh_malloc(h, S);
    rh__pool *pool = rh__pool_of(ps[0]);
    assert_int_equal((uintptr_t)ps[0] % RH_POOL_SIZE, 0);
    /* the frontier, tagged in the list */
    assert_true((uintptr_t)pool->freelist == ((uintptr_t)(ps[0] + S) | RH__FRONTIER_TAG));
    /* a stale "link" in the frontier, pointing further into the pool, and a
     * pattern in the block after it, not carved yet */
    poke_free_block(h, ps[0] + S, (uintptr_t)(ps[0] + 5 * S));
    poke_free_block(h, ps[0] + 2 * S, (uintptr_t)0x5a5a5a5a5a5a5a50u);
    rh__pools_check(h);
    ps[1] = rh_malloc(h, S);
    assert_ptr_equal(ps[1], ps[0] + S);
    /* the frontier is now the block after: carved, its word left as it was */
    assert_true((uintptr_t)pool->freelist == ((uintptr_t)(ps[0] + 2 * S) | RH__FRONTIER_TAG));
    assert_true(peek_free_block(h, ps[0] + 2 * S) == (uintptr_t)0x5a5a5a5a5a5a5a50u);
    rh__pools_check(h);
    /* a block freed into the pool goes in front of the frontier, which its
     * link names, tagged; taken again, it leaves the frontier at the head */
    pool_free(h, ps[1]);
    assert_ptr_equal(pool->freelist, ps[1]);
    rh__pools_check(h);
    assert_ptr_equal(rh_malloc(h, S), ps[1]);
    assert_true((uintptr_t)pool->freelist == ((uintptr_t)(ps[0] + 2 * S) | RH__FRONTIER_TAG));
    rh__pools_check(h);
    /* the planted link was not followed: the blocks come in address order */
    for (int i = 2; i < PER; i++) {
        ps[i] = rh_malloc(h, S);
        assert_ptr_equal(ps[i], ps[0] + (size_t)i * S);
        if (i == PER - 2) { /* the pool's last block is carved: it ends the list */
            assert_ptr_equal(pool->freelist, ps[0] + (size_t)(PER - 1) * S); /* untagged: a NULL link */
            rh__pools_check(h);
        }
    }
    /* full: off its class's list */
    assert_null(pool->freelist);
    assert_int_equal(pool->used, PER);
    assert_ptr_not_equal(h->alloc.usable[3], pool);
    rh__pools_check(h);
    for (int i = 0; i < PER; i++) pool_free(h, ps[i]);
    rh__pools_check(h);
    rh_heap_destroy(h);
}

/* White box: usable[c] holds exactly the pools of class c with a free
 * block (and the cached empty one). The allocation that takes a pool's last
 * block takes the pool off the list at once, and a free into a full pool
 * puts it back at the head, so an allocation never meets a full pool. */
static void test_full_pools_leave_the_list(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* two pools of 48-byte blocks (class 2), 341 blocks each (16384 / 48) */
    enum { PER = 16384 / 48 };
    static void *ps[2 * PER];
    for (int i = 0; i < PER; i++) ps[i] = rh_malloc(h, 48);
    /* the first pool is full: off the list, which is empty */
    assert_null(h->alloc.usable[2]);
    rh__pool *a = rh__pool_of(ps[0]);
    assert_null(a->freelist);
    assert_int_equal(a->used, PER);
    rh__pools_check(h);
    for (int i = PER; i < 2 * PER; i++) ps[i] = rh_malloc(h, 48);
    rh__pool *b = rh__pool_of(ps[PER]);
    assert_true(a != b);
    assert_null(h->alloc.usable[2]);
    rh__pools_check(h);
    /* a free into a full pool puts it at the head; a second one in front */
    pool_free(h, ps[7]);
    assert_ptr_equal(h->alloc.usable[2], a);
    assert_null(a->next); /* (a head's prev is unused) */
    pool_free(h, ps[PER + 3]);
    assert_ptr_equal(h->alloc.usable[2], b);
    assert_ptr_equal(b->next, a);
    assert_ptr_equal(a->prev, b);
    rh__pools_check(h);
    /* the head's block comes back and the head, full again, leaves; then
     * the other's */
    assert_ptr_equal(rh_malloc(h, 40), ps[PER + 3]);
    assert_ptr_equal(h->alloc.usable[2], a);
    assert_null(a->next);
    assert_ptr_equal(rh_malloc(h, 33), ps[7]);
    assert_null(h->alloc.usable[2]);
    rh__pools_check(h);
    /* the next block of the class needs a third pool */
    void *c = rh_malloc(h, 48);
    assert_true(rh__pool_of(c) != a && rh__pool_of(c) != b);
    assert_ptr_equal(h->alloc.usable[2], rh__pool_of(c));
    pool_free(h, c);
    for (int i = 0; i < 2 * PER; i++) pool_free(h, ps[i]);
    rh__pools_check(h);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Pool geometry: a pool is all blocks (its header lives outside the arena),
 * and a pool that empties starts again from its first block
 * ------------------------------------------------------------------------- */
static void test_pool_geometry(void **state) {
    (void)state;
    /* for s = 16, 48, 512: capacity 16384/s = 1024, 341, 32 blocks; a fresh
     * pool hands them out in address order from its 16 KiB-aligned start */
    static const size_t sizes[] = {16, 48, 512};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t s = sizes[k], cap = RH_POOL_SIZE / s;
        rh_heap *h = new_heap(RH_MODE_POOLS);
        char **ps = malloc((cap + 1) * sizeof *ps);
        assert_non_null(ps);
        for (size_t i = 0; i <= cap; i++) ps[i] = rh_malloc(h, s);
        uintptr_t base = (uintptr_t)ps[0];
        assert_int_equal(base & (RH_POOL_SIZE - 1), 0); /* no header before the first block */
        for (size_t i = 0; i < cap; i++) assert_ptr_equal(ps[i], (char *)base + i * s);
        /* the last block ends at most s-1 bytes before the pool's end */
        assert_true(base + cap * s <= base + RH_POOL_SIZE && base + (cap + 1) * s > base + RH_POOL_SIZE);
        /* block cap+1 needed a second pool */
        assert_true((uintptr_t)ps[cap] - base >= RH_POOL_SIZE || (uintptr_t)ps[cap] < base);
        rh_heap_stats st;
        rh_heap_stats_get(h, &st);
        unsigned c = (unsigned)(s / 16 - 1);
        assert_int_equal(st.classes[c].pools_used, 2);
        assert_int_equal(st.classes[c].pools_full, 1);
        assert_int_equal(st.classes[c].blocks_free, cap - 1); /* the second pool's */

        /* free the first pool's blocks in a scrambled order (i*7 mod cap
         * visits each once: 7 is prime to 1024, 341 = 11*31 and 32): the
         * pool empties, is cached, and restarts from its first block, so
         * the next cap allocations come back in address order again
         * (plain LIFO would give them in the reverse order of the frees) */
        for (size_t i = 0; i < cap; i++) pool_free(h, ps[(i * 7) % cap]);
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.classes[c].pools_used, 1);
        assert_int_equal(st.classes[c].blocks_in_use, 1);
        pool_free(h, ps[cap]); /* the second pool empties too: one of the two goes back */
        for (size_t i = 0; i < cap; i++) {
            ps[i] = rh_malloc(h, s);
            if (i) assert_ptr_equal(ps[i], ps[i - 1] + s);
        }
        assert_int_equal((uintptr_t)ps[0] & (RH_POOL_SIZE - 1), 0);
        for (size_t i = 0; i < cap; i++) pool_free(h, ps[i]);
        free(ps);
        rh_heap_destroy(h);
    }
}

/* ---------------------------------------------------------------------------
 * Many heaps at once never share blocks; ownership is O(1) and exact
 * ------------------------------------------------------------------------- */
static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

static void test_many_heaps(void **state) {
    (void)state;
    enum { H = 12, N = 3000 };
    rh_heap *hs[H];
    static void *ps[H][N];
    static uintptr_t all[H * N];
    for (int i = 0; i < H; i++) hs[i] = new_heap(all_modes[i % NMODES]);
    for (int k = 0; k < N; k++)
        for (int i = 0; i < H; i++) {
            size_t n = (size_t)(k * 37 + i * 11) % 700;
            ps[i][k] = rh_malloc(hs[i], n);
            assert_non_null(ps[i][k]);
            memset(ps[i][k], i, n);
            all[k * H + i] = (uintptr_t)ps[i][k];
        }
    qsort(all, H * N, sizeof all[0], cmp_ptr);
    for (int i = 1; i < H * N; i++) assert_true(all[i] != all[i - 1]);
    for (int i = 0; i < H; i++)
        for (int k = 0; k < N; k++) {
            assert_ptr_equal(rh_heap_of(ps[i][k]), hs[i]);
            size_t n = (size_t)(k * 37 + i * 11) % 700;
            for (size_t j = 0; j < n; j++) assert_int_equal(((unsigned char *)ps[i][k])[j], i);
            for (int o = 0; o < H; o++)
                if (o != i) assert_false(rh_is_pool_block(hs[o], ps[i][k]));
        }
    /* destroy every other heap with its blocks still live; the rest free */
    for (int i = 0; i < H; i += 2) rh_heap_destroy(hs[i]);
    for (int i = 1; i < H; i += 2) {
        for (int k = 0; k < N; k++) rh_free(hs[i], ps[i][k]);
        rh_heap_destroy(hs[i]);
    }
}

/* Heaps on several threads at once: the radix tree and the system-block
 * registry are shared; each thread checks ownership of its own blocks. */
typedef struct thread_job {
    rh_mode mode;
    unsigned seed;
    int bad;
} thread_job;

static void *heap_thread(void *arg) {
    thread_job *job = arg;
    enum { SLOTS = 512, OPS = 40000 };
    rh_heap_config cfg = {.mode = job->mode};
    rh_heap *h = rh_heap_new(&cfg);
    void *slot[SLOTS] = {0};
    unsigned s = job->seed;
    for (int op = 0; op < (UNDER_SANITIZER ? OPS / 8 : OPS); op++) {
        s = s * 1103515245u + 12345u;
        unsigned i = (s >> 8) % SLOTS;
        if (slot[i]) {
            if (rh_heap_of(slot[i]) != h) job->bad++;
            rh_free(h, slot[i]);
            slot[i] = NULL;
        } else {
            size_t n = (s >> 20) % 2000;
            slot[i] = rh_malloc(h, n);
            if (!slot[i] || rh_heap_of(slot[i]) != h) job->bad++;
        }
    }
    /* half the blocks are left for the heap's destruction to free */
    rh_heap_destroy(h);
    return NULL;
}

static void test_heaps_on_threads(void **state) {
    (void)state;
    enum { T = 4 };
    pthread_t t[T];
    thread_job jobs[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (thread_job){.mode = i == 3 ? RH_MODE_MALLOC : RH_MODE_POOLS, .seed = 77u + (unsigned)i};
        assert_int_equal(pthread_create(&t[i], NULL, heap_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
}

static int static_thing[4];

static void test_heap_of(void **state) {
    (void)state;
    for (size_t m = 0; m < NMODES; m++) {
        rh_heap *h = new_heap(all_modes[m]);
        char *small = rh_malloc(h, 40), *large = rh_malloc(h, 100000);
        assert_ptr_equal(rh_heap_of(small), h);
        assert_ptr_equal(rh_heap_of(large), h);
        /* an object in a block starts after the collector's 16-byte record */
        assert_ptr_equal(rh_heap_of(large + 16), h);
        assert_ptr_equal(rh_heap_of(small + 16), h);
        int local = 0;
        void *sys = malloc(64);
        assert_null(rh_heap_of(&local));
        assert_null(rh_heap_of(static_thing));
        assert_null(rh_heap_of(&static_thing[1]));
        assert_null(rh_heap_of(sys));
        assert_null(rh_heap_of(NULL));
        assert_false(rh_is_pool_block(h, &local));
        assert_false(rh_is_pool_block(h, sys));
        assert_int_equal(rh_is_pool_block(h, small), all_modes[m] != RH_MODE_MALLOC);
        free(sys);
        rh_free(h, small);
        rh_free(h, large);
        rh_heap_destroy(h);
    }
}

/* ---------------------------------------------------------------------------
 * The fault injector
 * ------------------------------------------------------------------------- */
static void test_fault_injector(void **state) {
    (void)state;
    for (size_t m = 0; m < NMODES; m++) {
        rh_heap *h = new_heap(all_modes[m]);
        uint64_t c0 = rh_heap_alloc_count(h);
        /* the 3rd allocation from now fails, once */
        rh_heap_fail_after(h, 3, false);
        void *a = rh_malloc(h, 10), *b = rh_calloc(h, 2, 300);
        assert_non_null(a);
        assert_non_null(b);
        assert_null(rh_malloc(h, 10));
        assert_int_equal(rh_err(h), RH_ENOMEM);
        rh_err_clear(h);
        void *c = rh_malloc(h, 1000);
        assert_non_null(c);
        assert_int_equal(rh_heap_alloc_count(h), c0 + 4); /* the failed one counts */

        /* persistent: the 2nd and every later allocation fail; realloc
         * failures leave the old block intact */
        memset(a, 'q', 10);
        rh_heap_fail_after(h, 2, true);
        void *d = rh_malloc(h, 20);
        assert_non_null(d);
        assert_null(rh_realloc(h, a, 5000));
        assert_null(rh_malloc(h, 1));
        assert_null(rh_calloc(h, 1, 1));
        assert_null(rh_realloc(h, NULL, 1));
        assert_int_equal(((char *)a)[9], 'q');
        rh_heap_stats st;
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.failed, 5);
        rh_heap_fail_after(h, 0, false); /* off */
        void *e = rh_realloc(h, a, 5000);
        assert_non_null(e);
        assert_int_equal(((char *)e)[9], 'q');
        rh_free(h, b);
        rh_free(h, c);
        rh_free(h, d);
        rh_free(h, e);
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.bytes_requested, 0);
        /* debug mode keeps freed blocks in quarantine */
        if (all_modes[m] != RH_MODE_DEBUG) assert_int_equal(st.large_blocks, 0);
        rh_heap_destroy(h);
    }
}

/* ---------------------------------------------------------------------------
 * Statistics and the printer
 * ------------------------------------------------------------------------- */
static void test_stats(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 0); /* creating a heap maps nothing */
    assert_int_equal(st.mode, RH_MODE_POOLS);
    void *p[10];
    for (int i = 0; i < 10; i++) p[i] = rh_malloc(h, 24);
    void *big = rh_malloc(h, 1000);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[1].block_size, 32);
    assert_int_equal(st.classes[1].pools_used, 1);
    assert_int_equal(st.classes[1].blocks_in_use, 10);
    assert_int_equal(st.classes[1].blocks_free, 16384 / 32 - 10); /* 502 */
    assert_int_equal(st.arenas_current, 1);
    assert_int_equal(st.pools_total, 64);
    assert_int_equal(st.pools_empty, 63);
    assert_int_equal(st.large_blocks, 1);
    assert_int_equal(st.large_bytes, 1000);
    assert_int_equal(st.bytes_in_use, 10 * 32 + 1000);
    assert_int_equal(st.bytes_mapped, RH_ARENA_SIZE + 1000);
    assert_int_equal(st.mallocs, 11);
    assert_true(st.rss > 0);
    assert_true(st.peak_rss >= st.rss);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rh_heap_stats_print(h, f);
    fclose(f);
    assert_non_null(strstr(buf, "Small block threshold = 512, in 32 size classes."));
    assert_non_null(strstr(buf, "    1     32           1            0              10           502"));
    assert_non_null(strstr(buf, "# arenas allocated current         =              1"));
    assert_non_null(strstr(buf, "# large blocks (system allocator)  =              1"));
    free(buf);
    for (int i = 0; i < 10; i++) rh_free(h, p[i]);
    rh_free(h, big);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.frees, 11);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.peak_bytes_in_use, 10 * 32 + 1000);
    rh_heap_destroy(h);
}

/* The peak of bytes in use is sampled once each time the heap takes a
 * pool, after the allocation it serves (alloc.c's essay): 1500 blocks of
 * 16 bytes fill one pool (1024 blocks) and take a second at the 1025th,
 * so freed again without a statistics read in between, the heap's peak is
 * 1025 * 16 (the 1500 * 16 reached later, without a pool taken, is the
 * documented miss). Under Valgrind (alloc.tools) every allocation takes the
 * slow path, which samples it: the peak is then exact. */
static void test_peak_sampled_at_pool_take(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { N = 1500, PER = RH_POOL_SIZE / 16 };
    static void *ps[N];
    for (int i = 0; i < N; i++) assert_non_null(ps[i] = rh_malloc(h, 16));
    for (int i = 0; i < N; i++) rh_free(h, ps[i]);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.peak_bytes_in_use, h->alloc.tools ? N * 16 : (PER + 1) * 16);
    /* Twice as many again: the 32 blocks the cache kept and the 2 * PER -
     * 32 free blocks of the two pools serve the first 2 * PER, the third
     * pool is taken at the next one, whose sample raises the peak to
     * (2 * PER + 1) * 16 (the sample is skipped only while the taken
     * pools' bytes, pools_taken * RH_POOL_SIZE, cannot pass the peak:
     * here 3 pools, 49152 bytes, against 16400). */
    static void *qs[2 * N];
    for (int i = 0; i < 2 * N; i++) assert_non_null(qs[i] = rh_malloc(h, 16));
    assert_int_equal(h->alloc.pools_taken, 3);
    for (int i = 0; i < 2 * N; i++) rh_free(h, qs[i]);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.peak_bytes_in_use, h->alloc.tools ? 2 * N * 16 : (2 * PER + 1) * 16);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Randomized stress: malloc/realloc/free of 1 byte .. 64 KiB, every block
 * filled from its serial and checked when it is freed or reallocated
 * ------------------------------------------------------------------------- */
typedef struct live {
    unsigned char *p;
    size_t n;
    uint64_t serial;
} live;

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void fill(unsigned char *p, size_t n, uint64_t serial) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(serial * 131 + i * 7);
}
static int check(const unsigned char *p, size_t n, uint64_t serial) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(serial * 131 + i * 7)) return 0;
    return 1;
}

/* Mostly small requests, as a Python heap sees them; one in eight spread
 * log-uniformly up to 64 KiB. */
static size_t random_size(uint64_t *s) {
    uint64_t r = rng_next(s);
    if (r % 8) return 1 + (size_t)((r >> 8) % 512);
    unsigned bits = 9 + (unsigned)((r >> 8) % 8); /* 2^9 .. 2^16 */
    return 1 + (size_t)((r >> 16) % ((uint64_t)1 << bits));
}

static void stress(rh_mode mode, long ops) {
    enum { SLOTS = 8192 };
    rh_heap *h = new_heap(mode);
    live *L = calloc(SLOTS, sizeof *L);
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)mode, serial = 0;
    for (long op = 0; op < ops; op++) {
        uint64_t r = rng_next(&rng);
        live *x = &L[r % SLOTS];
        if (!x->p) {
            x->n = random_size(&rng);
            x->p = rh_malloc(h, x->n);
            assert_non_null(x->p);
            x->serial = ++serial;
            fill(x->p, x->n, x->serial);
        } else if ((r >> 32) % 3 == 0) {
            size_t n = random_size(&rng);
            assert_true(check(x->p, x->n, x->serial));
            x->p = rh_realloc(h, x->p, n);
            assert_non_null(x->p);
            assert_true(check(x->p, x->n < n ? x->n : n, x->serial));
            x->n = n;
            x->serial = ++serial;
            fill(x->p, x->n, x->serial);
        } else {
            assert_true(check(x->p, x->n, x->serial));
            rh_free(h, x->p);
            x->p = NULL;
        }
    }
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    size_t want = 0;
    for (int i = 0; i < SLOTS; i++)
        if (L[i].p) {
            assert_true(check(L[i].p, L[i].n, L[i].serial));
            assert_ptr_equal(rh_heap_of(L[i].p), h);
            want += L[i].n;
        }
    if (mode == RH_MODE_MALLOC) assert_int_equal(st.bytes_requested, want);
    if (mode == RH_MODE_DEBUG) assert_int_equal(st.bytes_requested, want);
    /* free half, leave the rest to the heap's destruction */
    for (int i = 0; i < SLOTS; i += 2)
        if (L[i].p) rh_free(h, L[i].p);
    free(L);
    rh_heap_destroy(h);
}

static void test_stress_pools(void **state) {
    (void)state;
    stress(RH_MODE_POOLS, rh_test_under_valgrind() ? 40000 : UNDER_SANITIZER ? 300000 : 2000000);
}
static void test_stress_malloc(void **state) {
    (void)state;
    stress(RH_MODE_MALLOC, rh_test_under_valgrind() ? 20000 : UNDER_SANITIZER ? 100000 : 500000);
}
static void test_stress_debug(void **state) {
    (void)state;
    stress(RH_MODE_DEBUG, rh_test_under_valgrind() ? 20000 : UNDER_SANITIZER ? 100000 : 500000);
}

/* ---------------------------------------------------------------------------
 * The cached pool: an emptied pool stays with its class
 * ------------------------------------------------------------------------- */

/* The statistics agree with themselves: every pool of a mapped arena is free,
 * used by one class, or cached by one; bytes in use are the blocks in use at
 * their class size plus the large bytes. */
static void assert_stats_consistent(const rh_heap_stats *st) {
    size_t pools = st->pools_empty, bytes = st->large_bytes;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        const rh_class_stats *cs = &st->classes[c];
        assert_true(cs->pools_cached <= 1);
        pools += cs->pools_used + cs->pools_cached;
        bytes += cs->blocks_in_use * cs->block_size;
    }
    assert_int_equal(pools, st->pools_total);
    assert_int_equal(st->pools_total, st->arenas_current * RH__POOLS_PER_ARENA);
    assert_int_equal(bytes, st->bytes_in_use);
}

static void test_cached_pool_repeat(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { N = 100000 };
    void *first = rh_malloc(h, 48);
    pool_free(h, first);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    /* the emptied pool is cached for class 2 (48 bytes), not given back */
    assert_int_equal(st.classes[2].pools_cached, 1);
    assert_int_equal(st.classes[2].pools_used, 0);
    assert_int_equal(st.pools_empty, 63);
    assert_int_equal(st.arenas_allocated, 1);
    assert_stats_consistent(&st);
    for (int i = 0; i < N; i++) {
        void *p = rh_malloc(h, 48);
        assert_ptr_equal(p, first); /* LIFO in the cached pool */
        pool_free(h, p);
    }
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_allocated, 1);
    assert_int_equal(st.arenas_released, 0);
    assert_int_equal(st.arenas_current, 1);
    assert_int_equal(st.mallocs, N + 1);
    assert_int_equal(st.frees, N + 1);
    assert_int_equal(rh_heap_alloc_count(h), N + 1);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.peak_bytes_in_use, 48);
    assert_stats_consistent(&st);
    rh_heap_destroy(h);
}

static void test_cached_pool_two_pools(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* two pools of 48-byte blocks: 341 per pool (16384 / 48) */
    enum { PER = 16384 / 48 };
    static void *ps[2 * PER];
    for (int i = 0; i < 2 * PER; i++) ps[i] = rh_malloc(h, 48);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[2].pools_used, 2);
    assert_int_equal(st.classes[2].pools_full, 2);
    for (int i = 0; i < 2 * PER; i++) pool_free(h, ps[i]);
    rh_heap_stats_get(h, &st);
    /* one pool stays cached, the other went back to the arena */
    assert_int_equal(st.classes[2].pools_used, 0);
    assert_int_equal(st.classes[2].pools_cached, 1);
    assert_int_equal(st.pools_empty, 63);
    assert_int_equal(st.bytes_in_use, 0);
    assert_stats_consistent(&st);
    /* the cached pool serves the class again without a new pool */
    void *p = rh_malloc(h, 40);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[2].pools_used, 1);
    assert_int_equal(st.classes[2].pools_cached, 0);
    assert_int_equal(st.pools_empty, 63);
    assert_stats_consistent(&st);
    pool_free(h, p);
    rh_heap_destroy(h);
}

/* A cached pool does not keep its arena mapped once the arena is otherwise
 * free and another idle arena is kept. */
static void test_cached_pool_arena_returned(void **state) {
    (void)state;
    rh_heap *h = new_heap_nodecay();
    /* a 32-byte block takes arena A's first pool; then 512-byte blocks fill
     * A's other 63 pools and 64 more pools (arena B): 32 blocks per pool
     * (16384 / 512) */
    enum { PER = 16384 / 512, NPOOLS = 63 + 64 };
    void *x = rh_malloc(h, 32);
    static void *blk[NPOOLS * PER];
    for (int i = 0; i < NPOOLS * PER; i++) blk[i] = rh_malloc(h, 512);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 2);
    assert_int_equal(st.pools_empty, 0);
    /* x's pool empties: cached for class 1, arena A still in use */
    pool_free(h, x);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[1].pools_cached, 1);
    assert_int_equal(st.arenas_current, 2);
    assert_stats_consistent(&st);
    /* free all the rest: both arenas become idle, only one is kept */
    for (int i = 0; i < NPOOLS * PER; i++) pool_free(h, blk[i]);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 1);
    assert_int_equal(st.arenas_released, 1);
    assert_int_equal(st.bytes_in_use, 0);
    assert_stats_consistent(&st);
    /* repeated alloc/free maps nothing new */
    size_t allocated = st.arenas_allocated;
    for (int i = 0; i < 1000; i++) pool_free(h, rh_malloc(h, 32));
    for (int i = 0; i < 1000; i++) pool_free(h, rh_malloc(h, 512));
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_allocated, allocated);
    assert_int_equal(st.arenas_current, 1);
    assert_stats_consistent(&st);
    rh_heap_destroy(h);
}

/* Random traffic over every class, checked against the statistics' own
 * invariants and against counts kept here. */
static void test_cached_pool_random_stats(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { SLOTS = 4096 };
    const long STEPS = rh_test_scaled(200000, 20000);
    static void *slot[SLOTS];
    static size_t size[SLOTS];
    uint64_t x = 42, mallocs = 0, frees = 0;
    size_t live_bytes = 0;
    for (int step = 0; step < STEPS; step++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull; /* LCG */
        size_t i = (size_t)(x >> 33) % SLOTS;
        if (slot[i]) {
            rh_free(h, slot[i]);
            live_bytes -= size[i];
            slot[i] = NULL;
            frees++;
        } else {
            size[i] = 1 + (size_t)(x >> 20) % 600; /* small and large */
            slot[i] = rh_malloc(h, size[i]);
            assert_non_null(slot[i]);
            size[i] = size[i] <= RH_SMALL_MAX ? ((size[i] + 15) / 16) * 16 : size[i];
            live_bytes += size[i];
            mallocs++;
        }
        if (step % 20000 == 0) {
            rh_heap_stats st;
            rh_heap_stats_get(h, &st);
            assert_int_equal(st.bytes_in_use, live_bytes);
            assert_int_equal(st.mallocs, mallocs);
            assert_int_equal(st.frees, frees);
            assert_stats_consistent(&st);
        }
    }
    for (size_t i = 0; i < SLOTS; i++) if (slot[i]) rh_free(h, slot[i]);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.bytes_in_use, 0);
    assert_true(st.arenas_current <= 1);
    assert_stats_consistent(&st);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * AddressSanitizer reports a use after free of a pool block
 * ------------------------------------------------------------------------- */
static void use_after_free(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    volatile char *p = rh_malloc(h, 64);
    p[0] = 1;
    rh_free(h, (void *)p);
    p[8] = 2; /* the bug */
    fprintf(stderr, "survived the write\n");
}

static void test_asan_use_after_free(void **state) {
    (void)state;
    if (!UNDER_SANITIZER) {
        skip(); /* only a sanitizer build can see it */
        return;
    }
    rh_child c;
    rh_run_child(use_after_free, NULL, &c);
    rh_assert_child_died_saying(&c, "use-after-poison");
    assert_null(strstr(c.err, "survived"));
}

/* ---------------------------------------------------------------------------
 * The radix tree's leaves give their memory back: once no heap has an arena
 * in a leaf's range, none of the leaf's pages is resident (mincore).
 *
 * Only the leaves that held the test's arenas are counted (`mine`, by root
 * index). A lock-free lookup that reads a leaf after its pages were
 * discarded maps the kernel's shared zero page there, which mincore reports
 * as resident though it holds no memory; earlier tests of this program look
 * up pointers in every leaf (heap_of, the owner words after a release), and
 * a leaf none of this test's arenas falls in is not discarded again. Where
 * address randomisation put this test's arenas in another 16 GiB range than
 * an earlier test's, counting every leaf failed the test.
 * ------------------------------------------------------------------------- */
static size_t resident_leaf_pages(const bool *mine) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = RH__LEAF_BYTES; /* the metas and the owners */
    size_t npages = (len + page - 1) / page, resident = 0;
    unsigned char *vec = malloc(npages);
    assert_non_null(vec);
    for (size_t i = 0; i < ((size_t)1 << RH__RADIX_ROOT_BITS); i++) {
        uintptr_t leaf = atomic_load(&rh__radix_root[i]);
        if (!leaf || !mine[i]) continue;
        assert_int_equal(mincore((void *)leaf, len, vec), 0);
        for (size_t k = 0; k < npages; k++) resident += vec[k] & 1;
    }
    free(vec);
    return resident;
}

/* ---------------------------------------------------------------------------
 * Misuse of rh_free in pools mode: a pointer inside a block (not its start)
 * must stop the program with a message naming the block, never be pushed
 * on the free list (the still-live block would be handed out again).
 * ------------------------------------------------------------------------- */
static void free_interior(void *arg) {
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* arg 2: the same free while allocation tracing is on (its own path) */
    if (arg == (void *)2) assert_int_equal(rh_trace_start(h, 0), 0);
    char *p = rh_malloc(h, 100); /* class 6: 112-byte blocks */
    assert_non_null(p);
    if (arg == (void *)1) {
        p = rh_realloc(h, p + 32, 200);
    } else {
        rh_free(h, p + 48);
    }
    /* reached only if the misuse went unnoticed: the block comes back */
    void *q = rh_malloc(h, 100);
    fprintf(stderr, "survived: %p handed out again\n", q);
}

static void test_free_interior_pointer(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(free_interior, NULL, &c);
    rh_assert_child_died_saying(&c, "not the start of a block");
    rh_assert_child_died_saying(&c, "48 bytes into the 112-byte block");
    rh_run_child(free_interior, (void *)1, &c);
    rh_assert_child_died_saying(&c, "realloc of a pointer inside a block");
    rh_run_child(free_interior, (void *)2, &c);
    rh_assert_child_died_saying(&c, "not the start of a block");
    rh_assert_child_died_saying(&c, "48 bytes into the 112-byte block");
}

/* A live object is released with rh_decref, never with rh_free. In pools
 * mode it is caught where a container's pointer lies 16 bytes into its
 * block (the CPython policy's containers, which carry the collector's
 * record); a container of the incremental policy has no record, so its
 * pointer is its block's start and pools mode takes the free (the raw
 * free reads no mark: docs/tuning.md); debug mode knows any object's
 * block as one, in either layout. */
typedef struct free_case {
    rh_mode mode;
    rh_gc_policy policy;
    bool container;
} free_case;
static void free_object(void *arg) {
    const free_case *fc = arg;
    /* the incremental policy in its own layout, whatever the environment
     * asks (a child process: nothing to restore) */
    if (fc->policy == RH_GC_POLICY_INCREMENTAL) setenv("REFHEAP_LINKLESS", "1", 1);
    rh_heap_config cfg = {.mode = fc->mode, .gc_policy = fc->policy};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    rh_object *o = fc->container ? rh_list_new(h, 0) : rh_str(h, "a str, not a container");
    assert_non_null(o);
    rh_free(h, o);
    fprintf(stderr, "survived\n");
}

static void test_free_of_an_object(void **state) {
    (void)state;
    rh_child c;
    free_case pools = {RH_MODE_POOLS, RH_GC_POLICY_CPYTHON, true};
    rh_run_child(free_object, &pools, &c);
    rh_assert_child_died_saying(&c, "not the start of a block");
    rh_assert_child_died_saying(&c, "rh_decref");
    free_case debug_str = {RH_MODE_DEBUG, RH_GC_POLICY_CPYTHON, false};
    rh_run_child(free_object, &debug_str, &c);
    rh_assert_child_died_saying(&c, "holding a str object");
    rh_assert_child_died_saying(&c, "rh_decref");
    /* the incremental policy's container, without the record */
    free_case debug_list = {RH_MODE_DEBUG, RH_GC_POLICY_INCREMENTAL, true};
    rh_run_child(free_object, &debug_list, &c);
    rh_assert_child_died_saying(&c, "holding a list object");
    rh_assert_child_died_saying(&c, "rh_decref");
}

/* One figure for the live blocks, in every mode: what the program holds
 * (sys.getallocatedblocks()), small and large alike; debug mode's
 * quarantined blocks are freed, so they do not count. */
static void test_stats_blocks_in_use(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 100, RH_SMALL_MAX, RH_SMALL_MAX + 1, 100000};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    for (size_t m = 0; m < NMODES; m++) {
        rh_heap *h = new_heap(all_modes[m]);
        rh_heap_stats st;
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.blocks_in_use, 0); /* a new heap allocates nothing */
        void *p[NS];
        for (int i = 0; i < NS; i++) assert_non_null(p[i] = rh_malloc(h, sizes[i]));
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.blocks_in_use, NS);
        p[0] = rh_realloc(h, p[0], 2000); /* small -> large: still one block */
        assert_non_null(p[0]);
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.blocks_in_use, NS);
        for (int i = 0; i < NS; i++) {
            rh_free(h, p[i]);
            rh_heap_stats_get(h, &st);
            assert_int_equal(st.blocks_in_use, NS - 1 - i);
        }
        rh_heap_destroy(h);
    }
}

/* Arena decay, on an injected clock: an arena that becomes idle beyond the
 * one kept stays mapped until it has been idle the heap's delay, and goes
 * at the first slow-path allocator operation after that; one used again
 * in the meantime is not released; a delay of RH_ARENA_DECAY_NOW releases
 * at once (the figures: 3 arenas of 512-byte blocks, 32 a pool, 64 pools
 * an arena). */
static uint64_t fake_now;
static uint64_t fake_clock(void) { return fake_now; }
static uint64_t (*real_clock)(void);
/* A pools heap with a decay delay of 50 ms on the fake clock, which reads
 * 1000 now; fake_clock_heap_destroy puts the real clock back. */
static rh_heap *fake_clock_heap(void) {
    real_clock = rh__decay_clock;
    rh__decay_clock = fake_clock;
    fake_now = 1000;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = 50};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}
static void fake_clock_heap_destroy(rh_heap *h) {
    rh_heap_destroy(h);
    rh__decay_clock = real_clock;
}
static void test_arena_decay(void **state) {
    (void)state;
    rh_heap *h = fake_clock_heap();
    enum { PER = 16384 / 512, N = 3 * 64 * PER, PROBES = 4 };
    /* Probes: a free into a full pool (which rejoins its class's list)
     * checks the decay without taking a pool. PROBES full pools of 256-byte blocks
     * (64 a pool) and one more block; probe k frees the first block of pool k. */
    static void *probe[PROBES * 64 + 1];
    for (int i = 0; i < PROBES * 64 + 1; i++) assert_non_null(probe[i] = rh_malloc(h, 256));
    int next_probe = 0;
#define PROBE() pool_free(h, probe[64 * next_probe++])
    static void *blk[N];
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    /* the probes' arena and three arenas of 512-byte blocks */
    assert_int_equal(st.arenas_current, 4);
    for (int i = 0; i < N; i++) pool_free(h, blk[i]);
    /* the three are idle at t = 1000: one kept, two decaying */
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 4);
    assert_int_equal(st.arenas_released, 0);
    /* 49 ms later a slow-path operation releases nothing */
    fake_now = 1049;
    PROBE();
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 4);
    /* at 50 ms the next one does: the two decaying arenas go */
    fake_now = 1050;
    PROBE();
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 2);
    assert_int_equal(st.arenas_released, 2);
    /* a trim takes the kept one too */
    assert_int_equal(rh_heap_trim(h), RH_ARENA_SIZE);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 1);
    /* an arena used again while decaying is not released */
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    for (int i = 0; i < N; i++) pool_free(h, blk[i]);       /* t = 1050: 2 decaying */
    for (int i = 0; i < 2 * 64 * PER; i++) assert_non_null(blk[i] = rh_malloc(h, 512)); /* 2 in use again */
    fake_now = 2000;
    PROBE();
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 4);
    for (int i = 0; i < 2 * 64 * PER; i++) pool_free(h, blk[i]);
#undef PROBE
    rh_heap_destroy(h);

    /* no delay: idle arenas beyond the kept one go at once */
    rh_heap_config now_cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = RH_ARENA_DECAY_NOW};
    h = rh_heap_new(&now_cfg);
    assert_non_null(h);
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    for (int i = 0; i < N; i++) pool_free(h, blk[i]);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 1);
    assert_int_equal(st.arenas_released, 2);
    fake_clock_heap_destroy(h);

    /* malloc mode has no arena to trim; debug mode trims through its
     * thread check, whole arenas, and the heap goes on working */
    h = new_heap(RH_MODE_MALLOC);
    void *x = rh_malloc(h, 100);
    pool_free(h, x);
    assert_int_equal(rh_heap_trim(h), 0);
    rh_heap_destroy(h);
    h = new_heap(RH_MODE_DEBUG);
    x = rh_malloc(h, 100);
    pool_free(h, x);
    assert_int_equal(rh_heap_trim(h) % RH_ARENA_SIZE, 0);
    assert_non_null(x = rh_malloc(h, 100));
    pool_free(h, x);
    rh_heap_destroy(h);
}

/* White box: an arena's owner is a word in its leaf's dense array of
 * owners, past the metas (slot k's at index k): set to the heap while the
 * arena is mapped, 0 once it is released; two arenas of consecutive 1 MiB
 * ranges have consecutive owner words. */
static void test_radix_owner_words(void **state) {
    (void)state;
    rh_heap *h = new_heap_nodecay();
    enum { PER = 16384 / 512, N = 3 * 64 * PER }; /* three arenas of 512-byte blocks */
    static void *blk[N];
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    uintptr_t p = (uintptr_t)blk[0];
    uintptr_t leaf = atomic_load(&rh__radix_root[p >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS)]);
    uintptr_t k = (p >> RH__ARENA_SHIFT) & (RH__LEAF_ENTRIES - 1);
    _Atomic uintptr_t *owner = rh__leaf_owner(leaf, k);
    assert_true((uintptr_t)owner == leaf + RH__LEAF_ENTRIES * sizeof(rh__arena) + k * sizeof(uintptr_t));
    assert_true(owner == rh__radix_owner(p));
    assert_int_equal(atomic_load(owner), (uintptr_t)h);
    /* every block's owner word names h, and its pool header is in the meta
     * of the same slot */
    for (int i = 0; i < N; i++) {
        uintptr_t b = (uintptr_t)blk[i];
        assert_int_equal(atomic_load(rh__radix_owner(b)), (uintptr_t)h);
        rh__pool *pool = NULL;
        assert_true(rh__pool_find(blk[i], h, &pool));
        assert_true(pool == rh__pool_of(blk[i]));
        assert_true(rh__pool_arena(pool) == rh__radix_slot(b));
    }
    /* in the same leaf, the owner words are as far apart as the 1 MiB ranges */
    size_t same_leaf = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t b = (uintptr_t)blk[i];
        if ((b >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS)) != (p >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS))) continue;
        same_leaf++;
        assert_true(rh__radix_owner(b) == owner + ((intptr_t)(b >> RH__ARENA_SHIFT) - (intptr_t)(p >> RH__ARENA_SHIFT)));
    }
    assert_true(same_leaf >= 64 * PER); /* blk[0]'s arena at least */
    /* freed: two of the three arenas go (one idle arena is kept); their
     * owner words read 0 again and their blocks are nobody's */
    uintptr_t ranges[N];
    for (int i = 0; i < N; i++) ranges[i] = (uintptr_t)blk[i];
    for (int i = 0; i < N; i++) pool_free(h, blk[i]);
    size_t released = 0;
    for (int i = 0; i < N; i += 64 * PER) {
        if (atomic_load(rh__radix_owner(ranges[i])) == 0) {
            assert_null(rh__pool_heap((void *)ranges[i]));
            released++;
        } else {
            assert_int_equal(atomic_load(rh__radix_owner(ranges[i])), (uintptr_t)h);
        }
    }
    assert_int_equal(released, 2);
    rh_heap_destroy(h);
}

/* The object free's walk (rh__pool_owner) and what it computes from the
 * leaf: for blocks of several classes over more than one arena, the owner
 * is the heap, the leaf the tree's, the class map's entry the pool
 * header's class, and rh__leaf_pool (from the class map's index and the
 * slot) the header rh__pool_of finds from the slot's meta; a pointer in
 * no arena has no owner. */
static void test_leaf_pool_and_class(void **state) {
    (void)state;
    rh_heap *h = new_heap_nodecay();
    enum { N = 12000 };
    static void *blk[N];
    static const size_t sizes[] = {16, 48, 144, 512};
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, sizes[i % 4]));
    size_t arenas = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t b = (uintptr_t)blk[i], leaf = 0;
        assert_ptr_equal(rh__pool_owner(blk[i], &leaf), h);
        assert_int_equal(leaf, atomic_load(&rh__radix_root[b >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS)]));
        rh__pool *pool = rh__pool_of(blk[i]);
        assert_ptr_equal(rh__leaf_pool(leaf, blk[i]), pool);
        assert_int_equal(*rh__leaf_class(leaf, b), pool->cls);
        assert_int_equal(pool->cls, sizes[i % 4] / 16 - 1);
        if (i && (b >> RH__ARENA_SHIFT) != ((uintptr_t)blk[i - 1] >> RH__ARENA_SHIFT)) arenas++;
    }
    assert_true(arenas >= 1); /* 12000 blocks of 180 bytes on average: two MiB */
    static char not_ours[64];
    uintptr_t leaf = 1;
    assert_null(rh__pool_owner(not_ours, &leaf));
    for (int i = 0; i < N; i++) rh_free(h, blk[i]);
    rh_heap_destroy(h);
}

static void test_radix_leaves_returned(void **state) {
    (void)state;
    /* no heap is alive between the tests of this program */
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { N = 40000 }; /* over 2 MiB of 64-byte blocks: several arenas */
    void **v = malloc(N * sizeof *v);
    assert_non_null(v);
    static bool mine[(size_t)1 << RH__RADIX_ROOT_BITS];
    memset(mine, 0, sizeof mine);
    for (int i = 0; i < N; i++) {
        assert_non_null(v[i] = rh_malloc(h, 64));
        mine[(uintptr_t)v[i] >> (RH__ARENA_SHIFT + RH__RADIX_LEAF_BITS)] = true;
    }
    assert_true(resident_leaf_pages(mine) >= 1);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_true(st.radix_leaves >= 1);
    for (int i = 0; i < N; i++) rh_free(h, v[i]);
    free(v);
    rh_heap_destroy(h);
    assert_int_equal(resident_leaf_pages(mine), 0);
    h = new_heap(RH_MODE_POOLS); /* maps nothing */
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.radix_leaves, 0);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * The block cache (pools.c's essay): a raw free of a pool block waits in its
 * class's cache; it is free for the statistics, in use for its pool, and
 * every operation that returns memory gives it back to its pool first.
 * ------------------------------------------------------------------------- */
/* The cache is used when the fast paths are (slow word 0): not under
 * Valgrind, where every block takes the annotated slow path; the figures
 * below hold either way. */
static uint32_t cached_if_fast(const rh_heap *h, uint32_t n) { return h->alloc.slow == 0 ? n : 0; }

static void test_bcache_stats_exact(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* 64-byte blocks (class 3): 256 a pool (16384 / 64), so one pool */
    enum { N = 100, K = 10, C = 3, CAP = 16384 / 64 };
    _Static_assert(K <= RH__BCACHE_CAP, "the K frees all wait in the cache");
    void *p[N];
    for (int i = 0; i < N; i++) assert_non_null(p[i] = rh_malloc(h, 64));
    for (int i = 0; i < K; i++) rh_free(h, p[i]);
    assert_int_equal(rh__bcache_count(&h->alloc, C), cached_if_fast(h, K)); /* white box: cached, not on the pool's list */
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.blocks_in_use, N - K);
    assert_int_equal(st.bytes_in_use, (N - K) * 64);
    assert_int_equal(st.classes[C].blocks_in_use, N - K);
    assert_int_equal(st.classes[C].blocks_free, CAP - (N - K));
    assert_int_equal(st.classes[C].pools_used, 1);
    rh__pools_check(h);
    /* they come back newest first, and are in use again */
    for (int i = K - 1; i >= 0; i--) assert_ptr_equal(rh_malloc(h, 64), p[i]);
    assert_int_equal(rh__bcache_count(&h->alloc, C), 0);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[C].blocks_in_use, N);
    assert_int_equal(st.bytes_in_use, N * 64);
    /* more frees than the cache holds: the first fill it, the rest go to
     * their pool */
    for (int i = 0; i < N; i++) rh_free(h, p[i]);
    assert_int_equal(rh__bcache_count(&h->alloc, C), cached_if_fast(h, RH__BCACHE_CAP));
    for (uint32_t i = 0; i < rh__bcache_count(&h->alloc, C); i++) assert_ptr_equal(rh__bcache_entry(&h->alloc, C, i), p[i]);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.blocks_in_use, 0);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.classes[C].blocks_in_use, 0);
    rh__pools_check(h);
    rh_heap_destroy(h);
}

/* Fills 3 arenas with 512-byte blocks (32 a pool, 64 pools an arena) and
 * frees them in order: the first 32 freed fill the block cache (one pool of
 * the first arena), the rest go to their pools; nothing is in use. */
static void three_arenas_freed(rh_heap *h) {
    enum { N = 3 * 64 * (16384 / 512) };
    static void *blk[N];
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    for (int i = 0; i < N; i++) rh_free(h, blk[i]);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.bytes_in_use, 0);
}

/* A trim with blocks in the cache returns every arena: the cached blocks
 * go back to their pools first (else the arena holding them stays in use).
 * 3 arenas of 512-byte blocks (32 a pool, 64 pools an arena), freed in
 * order: the first 32 freed fill the cache (one pool of the first arena),
 * the rest go to their pools. */
static void test_bcache_trim(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = 1000000}; /* nothing decays meanwhile */
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    three_arenas_freed(h);
    assert_int_equal(rh__bcache_count(&h->alloc, 31), cached_if_fast(h, RH__BCACHE_CAP));
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 3);
    assert_int_equal(rh_heap_trim(h), 3 * RH_ARENA_SIZE);
    assert_int_equal(rh__bcache_count(&h->alloc, 31), 0);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 0);
    rh_heap_destroy(h);
}

/* The decay with blocks in the cache: once a deadline has passed, the
 * cache is given back before the walk, so the arena it held in use becomes
 * idle too. 3 arenas of 512-byte blocks freed in order: the first 32 (pool
 * 0 of the first arena) wait in the cache, the second arena is the one
 * kept idle, the third is stamped at 1000 (due at 1050). The figures hold
 * under Valgrind too, where no block is cached, but for the one noted. */
static void test_bcache_decay(void **state) {
    (void)state;
    rh_heap *h = fake_clock_heap();
    three_arenas_freed(h);
    assert_int_equal(rh__bcache_count(&h->alloc, 31), cached_if_fast(h, RH__BCACHE_CAP));
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 3); /* nothing due yet */
    /* at 1050 a slow-path operation (a class with no pool) runs the decay:
     * the cache is emptied, the third arena goes */
    fake_now = 1050;
    void *x = rh_malloc(h, 16);
    assert_non_null(x);
    assert_int_equal(rh__bcache_count(&h->alloc, 31), 0);
    rh_heap_stats_get(h, &st);
    /* the third arena; the first, idle only from now on, is due at 1100
     * (under Valgrind, no cache: the first and third were both stamped at
     * 1000, and both go) */
    assert_int_equal(st.arenas_released, h->alloc.slow == 0 ? 1 : 2);
    assert_int_equal(st.bytes_in_use, 16);
    rh__pools_check(h);
    rh_free(h, x);
    fake_clock_heap_destroy(h);
}

/* A full pool with a block in the cache has a free block: it is not
 * "full" (every block in use) for the statistics. One pool of 64-byte
 * blocks (class 3, 256 a pool), filled, then two of its blocks freed. */
static void test_bcache_stats_full_pool(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { C = 3, CAP = 16384 / 64 };
    static void *p[CAP];
    for (int i = 0; i < CAP; i++) assert_non_null(p[i] = rh_malloc(h, 64));
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[C].pools_used, 1);
    assert_int_equal(st.classes[C].pools_full, 1);
    assert_int_equal(st.classes[C].blocks_free, 0);
    rh_free(h, p[7]);
    rh_free(h, p[8]);
    assert_int_equal(rh__bcache_count(&h->alloc, C), cached_if_fast(h, 2));
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[C].blocks_in_use, CAP - 2);
    assert_int_equal(st.classes[C].blocks_free, 2);
    assert_int_equal(st.classes[C].pools_used, 1);
    assert_int_equal(st.classes[C].pools_full, 0);
    assert_stats_consistent(&st);
    for (int i = 0; i < CAP; i++)
        if (i != 7 && i != 8) rh_free(h, p[i]);
    rh_heap_destroy(h);
}

/* RH_ARENA_DECAY_NOW: the arenas a program empties go at once, but for the
 * one kept, even when the first blocks it freed wait in the cache. 3
 * arenas of 512-byte blocks (32 a pool) freed in order: the first 32 (pool
 * 0 of the first arena) fill the cache; the pools that empty after them
 * give them back, so the first arena empties too. */
static void test_bcache_decay_now(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = RH_ARENA_DECAY_NOW};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    three_arenas_freed(h);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.arenas_current, 1);
    assert_int_equal(st.arenas_released, 2);
    assert_stats_consistent(&st);
    rh__pools_check(h);
    rh_heap_destroy(h);
}

/* With a decay delay: blocks that wait in the cache keep their arenas in
 * use, and no arena becomes idle (each arena holds a cached block), yet
 * the decay gives them back: a pool that empties while blocks are cached
 * sets a deadline, whose decay empties the cache. 3 arenas of 512-byte
 * blocks; one block of each arena freed first (cached), then the rest. */
static void test_bcache_decay_pinned(void **state) {
    (void)state;
    rh_heap *h = fake_clock_heap();
    enum { PER_ARENA = 64 * (16384 / 512), N = 3 * PER_ARENA };
    static void *blk[N];
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    for (int a = 0; a < 3; a++) rh_free(h, blk[a * PER_ARENA]);
    for (int i = 0; i < N; i++)
        if (i % PER_ARENA) rh_free(h, blk[i]);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.arenas_current, 3);
    /* past the delay, a slow-path operation (a class with no pool) runs the
     * decay: the cache is given back, the arenas are idle from now on (one
     * kept, two stamped); past the delay again, the next one releases them */
    fake_now = 1050;
    void *x = rh_malloc(h, 16);
    assert_non_null(x);
    assert_int_equal(rh__bcache_count(&h->alloc, 31), 0);
    fake_now = 1100;
    void *y = rh_malloc(h, 32);
    assert_non_null(y);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 1);
    assert_int_equal(st.arenas_released, 2);
    assert_int_equal(st.bytes_in_use, 16 + 32);
    rh__pools_check(h);
    rh_free(h, x);
    rh_free(h, y);
    fake_clock_heap_destroy(h);
}

/* A block of another heap never enters this heap's cache: the free is
 * refused with the owner named. */
static void free_cross_heap(void *arg) {
    (void)arg;
    rh_heap *a = new_heap(RH_MODE_POOLS), *b = new_heap(RH_MODE_POOLS);
    void *p = rh_malloc(a, 64);
    assert_non_null(rh_malloc(b, 64)); /* b has an arena too */
    rh_free(b, p);
    fprintf(stderr, "survived: cached %u\n", (unsigned)rh__bcache_count(&b->alloc, 3));
}

static void test_bcache_cross_heap_free(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(free_cross_heap, NULL, &c);
    rh_assert_child_died_saying(&c, "free on the wrong heap");
}

/* Tracing started while blocks wait in the cache: the allocations it sees
 * are traced exactly (the traced path does not take cached blocks), and
 * the statistics stay exact throughout. */
static void test_bcache_tracing_toggled(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    enum { N = 20, K = 10, C = 3 };
    void *p[N], *q[K];
    for (int i = 0; i < N; i++) assert_non_null(p[i] = rh_malloc(h, 64));
    for (int i = 0; i < K; i++) rh_free(h, p[i]);
    assert_int_equal(rh__bcache_count(&h->alloc, C), cached_if_fast(h, K));
    assert_int_equal(rh_trace_start(h, 0), 0);
    for (int i = 0; i < K; i++) assert_non_null(q[i] = rh_malloc(h, 64));
    assert_int_equal(rh_trace_count(h), K);
    size_t cur, peak;
    rh_trace_get_traced_memory(h, &cur, &peak);
    assert_int_equal(cur, K * 64);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[C].blocks_in_use, N);
    rh__pools_check(h);
    for (int i = 0; i < K; i++) rh_free(h, q[i]);
    rh_free(h, p[K]); /* untraced: changes nothing */
    assert_int_equal(rh_trace_count(h), 0);
    rh_trace_get_traced_memory(h, &cur, &peak);
    assert_int_equal(cur, 0);
    assert_int_equal(rh_trace_stop(h), 0);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.classes[C].blocks_in_use, N - K - 1);
    rh__pools_check(h);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Real out-of-memory (the address space capped in a child process): before
 * it reports RH_ENOMEM, the heap gives back what it holds for later, the
 * block cache, the empty pools reserved for other classes and the idle
 * arenas waiting for their decay, and tries once more.
 * ------------------------------------------------------------------------- */
#include <malloc.h>
#include <sys/resource.h>

/* Caps the address space `headroom` bytes above what is mapped now. */
static bool cap_address_space(size_t headroom) {
    struct rlimit old;
    if (getrlimit(RLIMIT_AS, &old) != 0) return false;
    struct rlimit cap = {rh_test_vm_size() + headroom, old.rlim_max};
    return setrlimit(RLIMIT_AS, &cap) == 0;
}

/* A pool whose blocks are all free, 32 of them in the block cache and the
 * rest on its free list, is still in use for its arena: with every arena
 * full and no address space left, a block of another class can only come
 * from that pool once the cache is given back. */
static void oom_cached_blocks_child(void *arg) {
    (void)arg;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    enum { MAX = 1 << 18 };
    void **blk = malloc(MAX * sizeof *blk); /* mapped before the cap */
    if (!h || !blk || !cap_address_space((size_t)4 << 20)) {
        fprintf(stderr, "set-up failed\n");
        return;
    }
    long n = 0;
    while (n < MAX && (blk[n] = rh_malloc(h, 32)) != NULL) n++;
    if (n == MAX || rh_err(h) != RH_ENOMEM) {
        fprintf(stderr, "the pools were not exhausted (%ld blocks)\n", n);
        return;
    }
    rh_err_clear(h);
    /* every block of the last block's pool (full: the allocation after it
     * found no free block anywhere) */
    uintptr_t pool = (uintptr_t)blk[n - 1] & ~(uintptr_t)(RH_POOL_SIZE - 1);
    long freed = 0;
    for (long i = 0; i < n; i++)
        if (((uintptr_t)blk[i] & ~(uintptr_t)(RH_POOL_SIZE - 1)) == pool) {
            rh_free(h, blk[i]);
            freed++;
        }
    unsigned cached = rh__bcache_count(&h->alloc, 1);
    void *other = rh_malloc(h, 48);
    fprintf(stderr, "freed %ld cached %u other %s\n", freed, cached, other ? "served" : "failed");
    rh_free(h, other);
    rh__pools_check(h);
}

static void test_oom_gives_back_cached_blocks(void **state) {
    (void)state;
    /* the sanitizers' and Valgrind's allocators do not live with a capped
     * address space */
    if (UNDER_SANITIZER || rh_test_under_valgrind()) skip();
    rh_child c;
    rh_run_child(oom_cached_blocks_child, NULL, &c);
    if (!c.exited || c.status != 0) fail_msg("child died (status %d); stderr:\n%s", c.status, c.err);
    char want[64];
    snprintf(want, sizeof want, "freed %d cached %d other served", (int)(RH_POOL_SIZE / 32), (int)RH__BCACHE_CAP);
    if (!strstr(c.err, want)) fail_msg("expected \"%s\":\n%s", want, c.err);
}

/* Idle arenas waiting for their decay (an hour here) are given back when a
 * large block finds no address space: the block is larger than anything
 * glibc's malloc keeps free and than the 64 MiB a glibc arena other than
 * the main one reserves (the thread may use one: it could grow there
 * without a new mapping), the room left is 1 MiB, and the idle arenas are
 * the block's size and 1 MiB more. */
static void oom_idle_arenas_child(void *arg) {
    (void)arg;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = 3600L * 1000};
    rh_heap *h = rh_heap_new(&cfg);
    const size_t mib = (size_t)1 << 20;
    size_t big_size = mallinfo2().fordblks + 3 * mib;
    if (big_size < 65 * mib) big_size = 65 * mib;
    big_size = (big_size + mib - 1) / mib * mib;
    size_t narenas = big_size / mib + 1, per_arena = RH__POOLS_PER_ARENA * (RH_POOL_SIZE / 512);
    size_t n = narenas * per_arena;
    void **blk = malloc(n * sizeof *blk);
    if (!h || !blk) return;
    for (size_t i = 0; i < n; i++)
        if (!(blk[i] = rh_malloc(h, 512))) {
            fprintf(stderr, "set-up failed\n");
            return;
        }
    for (size_t i = 0; i < n; i++) rh_free(h, blk[i]);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    size_t before = st.arenas_current;
    /* glibc serves the block with a new mapping, not from memory it keeps */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    malloc_trim(0);
    if (!cap_address_space(mib)) return;
    void *big = rh_malloc(h, big_size);
    rh_heap_stats_get(h, &st);
    fprintf(stderr, "arenas %zu of %zu -> %zu, big %s\n", before, narenas, (size_t)st.arenas_current,
            big ? "served" : "failed");
    rh_free(h, big);
}

static void test_oom_gives_back_idle_arenas(void **state) {
    (void)state;
    if (UNDER_SANITIZER || rh_test_under_valgrind()) skip();
    rh_child c;
    rh_run_child(oom_idle_arenas_child, NULL, &c);
    if (!c.exited || c.status != 0) fail_msg("child died (status %d); stderr:\n%s", c.status, c.err);
    size_t before = 0, of = 0, after = 99;
    char word[16] = "";
    const char *line = strstr(c.err, "arenas ");
    if (!line || sscanf(line, "arenas %zu of %zu -> %zu, big %15s", &before, &of, &after, word) != 4)
        fail_msg("no report:\n%s", c.err);
    /* every idle arena goes back, then the block fits */
    if (before != of || after != 0 || strcmp(word, "served") != 0)
        fail_msg("expected every idle arena given back, then the block served:\n%s", c.err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_contracts),
        cmocka_unit_test(test_size_class_boundaries),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_realloc_copy_rule),
        cmocka_unit_test(test_arenas_returned),
        cmocka_unit_test(test_arena_decay),
        cmocka_unit_test(test_fullest_arena_first),
        cmocka_unit_test(test_lifo_and_full_pools),
        cmocka_unit_test(test_carving_touches_no_block),
        cmocka_unit_test(test_full_pools_leave_the_list),
        cmocka_unit_test(test_pool_geometry),
        cmocka_unit_test(test_many_heaps),
        cmocka_unit_test(test_heaps_on_threads),
        cmocka_unit_test(test_heap_of),
        cmocka_unit_test(test_fault_injector),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_peak_sampled_at_pool_take),
        cmocka_unit_test(test_cached_pool_repeat),
        cmocka_unit_test(test_cached_pool_two_pools),
        cmocka_unit_test(test_cached_pool_arena_returned),
        cmocka_unit_test(test_cached_pool_random_stats),
        cmocka_unit_test(test_stress_pools),
        cmocka_unit_test(test_stress_malloc),
        cmocka_unit_test(test_stress_debug),
        cmocka_unit_test(test_asan_use_after_free),
        cmocka_unit_test(test_stats_blocks_in_use),
        cmocka_unit_test(test_free_interior_pointer),
        cmocka_unit_test(test_free_of_an_object),
        cmocka_unit_test(test_radix_owner_words),
        cmocka_unit_test(test_leaf_pool_and_class),
        cmocka_unit_test(test_radix_leaves_returned),
        cmocka_unit_test(test_bcache_stats_exact),
        cmocka_unit_test(test_bcache_trim),
        cmocka_unit_test(test_bcache_decay),
        cmocka_unit_test(test_bcache_stats_full_pool),
        cmocka_unit_test(test_bcache_decay_now),
        cmocka_unit_test(test_bcache_decay_pinned),
        cmocka_unit_test(test_bcache_cross_heap_free),
        cmocka_unit_test(test_bcache_tracing_toggled),
        cmocka_unit_test(test_oom_gives_back_cached_blocks),
        cmocka_unit_test(test_oom_gives_back_idle_arenas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
