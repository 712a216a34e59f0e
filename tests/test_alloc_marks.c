/*
 * test_alloc_marks.c — the allocator's mark bit per block and its walk over
 * the marked blocks (src/memory/marks.h): set, clear and test in pools,
 * malloc and debug modes, with tracing on and the fault injector armed;
 * the contract of a free (the caller unmarks first: the free of a marked
 * block stops the program in debug mode, is reported by the pools' check,
 * and its mark dies when its pool is taken again); the walk's order and its contract
 * (every block marked throughout returned exactly once, never a block after
 * its free) under frees, allocations, marks and arena releases between two
 * steps, against a simple model with fixed seeds.
 *
 * The expected figures come from the contract in marks.h and the geometry
 * in refheap.h: an arena is 1 MiB of 64 pools of 16 KiB; a 512-byte block
 * is the largest pool block (32 a pool, 2048 an arena), a bigger one comes
 * from the system allocator.
 */
#include "rh_test.h"

#include "internal.h"
#include "memory/layer.h" /* white box: marks.h, the stack's description, the pools' check */

static const rh_mode MODES[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};

static rh_heap *new_heap(rh_mode mode, uint64_t decay_ms) {
    rh_heap_config cfg = {.mode = mode, .arena_decay_ms = decay_ms};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* The extra layers a test runs under: none, tracing, the fault injector
 * armed (never reaching its count), both. */
enum { WITH_TRACE = 1, WITH_FAULT = 2 };
static void push_layers(rh_heap *h, int with) {
    if (with & WITH_TRACE) assert_int_equal(rh_trace_start(h, 0), 0);
    if (with & WITH_FAULT) rh_heap_fail_after(h, 1000000000L, true);
    char buf[64];
    rh__mem_stack_describe(h, buf, sizeof buf);
    assert_int_equal(strstr(buf, "trace") != NULL, (with & WITH_TRACE) != 0);
    assert_int_equal(strstr(buf, "fault") != NULL, (with & WITH_FAULT) != 0);
}
static void pop_layers(rh_heap *h, int with) {
    if (with & WITH_FAULT) rh_heap_fail_after(h, 0, false);
    if (with & WITH_TRACE) assert_int_equal(rh_trace_stop(h), 0);
}

/* Is p a pool block (or, in debug mode, inside one)? */
static bool in_pools(const void *p) { return rh__pool_heap(p) != NULL; }

/* The whole walk into out[] (at most cap); returns the count. */
static size_t walk_all(rh_heap *h, void **out, size_t cap) {
    rh__mark_walk w;
    size_t n = 0;
    rh__mark_walk_begin(h, &w);
    for (void *p; (p = rh__mark_walk_next(&w)) != NULL;) {
        assert_true(n < cap);
        out[n++] = p;
    }
    assert_null(rh__mark_walk_next(&w)); /* over: NULL again */
    rh__mark_walk_end(&w);
    return n;
}

/* Set, clear and test, by the in-line functions and through the stack
 * (rh__mark_slow, which returns the previous state), on pool blocks of
 * several classes and on system blocks, in every mode and under every
 * extra layer; a block's bit leaves its neighbours' alone; the walk then
 * returns exactly the marked ones, pool blocks in address order first. */
static void test_set_clear_test(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 16, 17, 32, 48, 100, 256, 511, 512, 513, 4096, 100000};
    enum { NS = sizeof sizes / sizeof sizes[0], PER = 3, NB = NS * PER };
    for (size_t mi = 0; mi < sizeof MODES / sizeof MODES[0]; mi++)
        for (int with = 0; with < 4; with++) {
            rh_heap *h = new_heap(MODES[mi], 0);
            push_layers(h, with);
            void *b[NB];
            for (size_t i = 0; i < NB; i++) {
                assert_non_null(b[i] = rh_malloc(h, sizes[i / PER]));
                assert_false(rh__block_marked(h, b[i]));
            }
            /* mark the middle block of each size's three: its neighbours stay unmarked */
            for (size_t i = 1; i < NB; i += PER) {
                rh__block_mark(h, b[i]);
                assert_true(rh__block_marked(h, b[i]));
                assert_false(rh__block_marked(h, b[i - 1]));
                assert_false(rh__block_marked(h, b[i + 1]));
                assert_true(rh__mark_slow(h, b[i], RH__MARK_TEST));
                assert_true(rh__mark_slow(h, b[i], RH__MARK_SET)); /* was set already */
            }
            /* the first of each three through the stack */
            for (size_t i = 0; i < NB; i += PER) {
                assert_false(rh__mark_slow(h, b[i], RH__MARK_SET));
                assert_true(rh__block_marked(h, b[i]));
            }
            void *seen[NB];
            size_t n = walk_all(h, seen, NB);
            assert_int_equal(n, 2 * NS);
            bool large_phase = false;
            for (size_t k = 0; k < n; k++) {
                size_t j = 0;
                while (j < NB && b[j] != seen[k]) j++;
                assert_true(j < NB);
                assert_true(j % PER != 2);
                for (size_t l = 0; l < k; l++) assert_ptr_not_equal(seen[l], seen[k]);
                if (!in_pools(seen[k])) large_phase = true;
                else {
                    assert_false(large_phase); /* the pools first */
                    if (k > 0) assert_true((uintptr_t)seen[k - 1] < (uintptr_t)seen[k]);
                }
            }
            /* clear: the first through the stack, the middle in line */
            for (size_t i = 0; i < NB; i += PER) {
                assert_true(rh__mark_slow(h, b[i], RH__MARK_CLEAR));
                assert_false(rh__mark_slow(h, b[i], RH__MARK_CLEAR));
                rh__block_unmark(h, b[i + 1]);
                assert_false(rh__block_marked(h, b[i + 1]));
            }
            assert_int_equal(walk_all(h, seen, NB), 0);
            rh__pools_check(h);
            for (size_t i = 0; i < NB; i++) rh_free(h, b[i]);
            pop_layers(h, with);
            rh_heap_destroy(h);
        }
}

/* The contract kept (the caller unmarks a block before it frees or
 * reallocates it), in pools and malloc modes: no walk returns a freed
 * block, and the next allocation of the class (the same block back, LIFO,
 * through the block cache or the pool) is unmarked; a system block freed
 * marked takes its mark with its header, and a realloc of a marked system
 * block (into another system block) gives an unmarked one. */
static void test_free_after_unmark(void **state) {
    (void)state;
    void *seen[8];
    for (int mi = 0; mi < 2; mi++) {
        rh_heap *h = new_heap(MODES[mi], 0);
        void *p = rh_malloc(h, 48);
        rh__block_mark(h, p);
        rh__block_unmark(h, p);
        rh_free(h, p);
        assert_int_equal(walk_all(h, seen, 8), 0);
        void *q = rh_malloc(h, 48);
        if (MODES[mi] == RH_MODE_POOLS) assert_ptr_equal(q, p);
        assert_false(rh__block_marked(h, q));
        /* via the pool: the cache flushed first */
        rh__block_mark(h, q);
        rh__block_unmark(h, q);
        rh_free(h, q);
        rh__bcache_flush_all(h);
        rh__pools_check(h);
        q = rh_malloc(h, 48);
        if (MODES[mi] == RH_MODE_POOLS) assert_ptr_equal(q, p);
        assert_false(rh__block_marked(h, q));
        /* a system block freed marked: its mark goes with its header */
        void *l = rh_malloc(h, 5000);
        rh__block_mark(h, l);
        rh_free(h, l);
        assert_int_equal(walk_all(h, seen, 8), 0);
        /* a realloc after the unmark, within the class (pools: in place) */
        rh__block_mark(h, q);
        rh__block_unmark(h, q);
        void *r = rh_realloc(h, q, 40);
        assert_non_null(r);
        if (MODES[mi] == RH_MODE_POOLS) assert_ptr_equal(r, q);
        assert_false(rh__block_marked(h, r));
        void *big = rh_realloc(h, r, 3000);
        assert_non_null(big);
        /* a system block to a system block, marked: the copy is unmarked */
        rh__block_mark(h, big);
        void *big2 = rh_realloc(h, big, 30000);
        assert_non_null(big2);
        assert_false(rh__block_marked(h, big2));
        assert_int_equal(walk_all(h, seen, 8), 0);
        /* an object unmarked before its death */
        rh_object *f = rh_float(h, 1.5);
        assert_non_null(f);
        void *fb = rh__obj_block(f);
        rh__block_mark(h, fb);
        assert_int_equal(walk_all(h, seen, 8), 1);
        assert_ptr_equal(seen[0], fb);
        rh__block_unmark(h, fb);
        rh_decref(f);
        assert_int_equal(walk_all(h, seen, 8), 0);
        rh_object *g = rh_float(h, 2.5);
        assert_false(rh__block_marked(h, rh__obj_block(g)));
        rh_decref(g);
        rh__pools_check(h);
        rh_free(h, big2);
        rh_heap_destroy(h);
    }
}

/* Outside debug mode a free does not look at the mark plane: a pool block
 * freed marked (misuse) comes back marked from the next allocation of its
 * class (the same block, LIFO), through the block cache and through its
 * pool (the cache flushed). */
static void test_free_leaves_pool_mark(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS, 0);
    void *keep = rh_malloc(h, 48); /* the pool stays in use */
    void *p = rh_malloc(h, 48);
    assert_true(in_pools(p));
    rh__block_mark(h, p);
    rh_free(h, p);
    void *q = rh_malloc(h, 48);
    assert_ptr_equal(q, p);
    assert_true(rh__block_marked(h, q));
    rh_free(h, q);
    rh__bcache_flush_all(h);
    q = rh_malloc(h, 48);
    assert_ptr_equal(q, p);
    assert_true(rh__block_marked(h, q));
    rh__block_unmark(h, q);
    rh__pools_check(h);
    rh_free(h, q);
    rh_free(h, keep);
    rh_heap_destroy(h);
}

/* Debug mode: the free or realloc of a marked block stops the program,
 * naming the block, its allocation site and the free's site (the lines
 * below: FM_ALLOC_LINE and FM_FREE_LINE count from the enum's line). */
enum { FM_ALLOC_LINE = __LINE__ + 4, FM_FREE_LINE = __LINE__ + 6 };
static void free_marked(void *arg) {
    size_t n = *(size_t *)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG, 0);
    void *p = rh_malloc(h, n);
    rh__block_mark(h, p);
    rh_free(h, p);
}
static void realloc_marked(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG, 0);
    void *p = rh_malloc(h, 64);
    rh__block_mark(h, p);
    p = rh_realloc(h, p, 128);
}
static void test_debug_free_marked_fatal(void **state) {
    (void)state;
    static size_t sizes[] = {40, 2000}; /* a pool block and a system block under the debug block */
    for (int i = 0; i < 2; i++) {
        rh_child c;
        char want[512];
        rh_run_child(free_marked, &sizes[i], &c);
        snprintf(want, sizeof want, "debug: free of a marked block at %s:%d: block #", __FILE__, FM_FREE_LINE);
        rh_assert_child_died_saying(&c, want);
        snprintf(want, sizeof want, "(%zu bytes, allocated at %s:%d) is still marked", sizes[i], __FILE__,
                 FM_ALLOC_LINE);
        rh_assert_child_died_saying(&c, want);
    }
    rh_child c;
    rh_run_child(realloc_marked, NULL, &c);
    rh_assert_child_died_saying(&c, "debug: realloc of a marked block at ");
    rh_assert_child_died_saying(&c, "(64 bytes, allocated at ");
}

/* A pointer that is not a live block of the heap stops a mark: a stack
 * address (pools mode, the slow path's check), another heap's block, a
 * freed debug block. */
static void mark_stack(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_POOLS, 0);
    char local[32];
    rh__block_mark(h, local);
}
static void mark_other_heap(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_MALLOC, 0), *g = new_heap(RH_MODE_MALLOC, 0);
    void *p = rh_malloc(g, 24);
    rh__block_mark(h, p);
}
static void mark_freed_debug(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG, 0);
    void *p = rh_malloc(h, 24);
    rh_free(h, p);
    (void)rh__block_marked(h, p);
}
static void test_mark_bad_pointer(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(mark_stack, NULL, &c);
    rh_assert_child_died_saying(&c, "mark of a pointer refheap never returned");
    rh_run_child(mark_other_heap, NULL, &c);
    rh_assert_child_died_saying(&c, "mark on the wrong heap");
    rh_run_child(mark_freed_debug, NULL, &c);
    rh_assert_child_died_saying(&c, "debug: mark of a freed block: block #");
    rh_assert_child_died_saying(&c, "was freed at ");
}

/* The pools' invariant check sees a mark on a block that is not handed
 * out: set by hand on a free block; left by the free of a marked block
 * (misuse outside debug mode), in the block cache or, the cache flushed,
 * on its pool's free list. */
static void bad_plane(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_POOLS, 0);
    void *keep = rh_malloc(h, 64);
    void *p = rh_malloc(h, 64);
    rh_free(h, p);
    rh__bcache_flush_all(h);
    uintptr_t a = (uintptr_t)p;
    *rh__leaf_mark_word(rh__radix_leaf(a), a) |= (uint64_t)1 << rh__mark_shift(a);
    rh__pools_check(h);
    (void)keep;
}
static void freed_marked(void *arg) {
    bool flush = *(bool *)arg;
    rh_heap *h = new_heap(RH_MODE_POOLS, 0);
    void *keep = rh_malloc(h, 64);
    void *p = rh_malloc(h, 64);
    rh__block_mark(h, p);
    rh_free(h, p);
    if (flush) rh__bcache_flush_all(h);
    rh__pools_check(h);
    (void)keep;
}
static void test_check_sees_bad_mark(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(bad_plane, NULL, &c);
    rh_assert_child_died_saying(&c, "is marked but is not the start of a block handed out");
    static bool flush[] = {false, true};
    for (int i = 0; i < 2; i++) {
        rh_run_child(freed_marked, &flush[i], &c);
        rh_assert_child_died_saying(&c, "is marked but is not the start of a block handed out (a block freed "
                                        "while marked?)");
    }
}

/* A mark left on a freed block (misuse outside debug mode) dies when its
 * pool, emptied, is taken again for a class (pool_take zeroes the pool's
 * words of the plane): no block of the new class is marked, no walk
 * returns one, and the pools' check passes. Two pools of 64-byte blocks:
 * the first (256 blocks, one marked) empties after the second, which is
 * kept for the class, so it goes back to its arena's free pools, the next
 * taken (last freed first). */
static void test_pool_take_zeroes_plane(void **state) {
    (void)state;
    enum { PER_POOL = RH_POOL_SIZE / 64, NB = PER_POOL + 8 };
    rh_heap *h = new_heap(RH_MODE_POOLS, 0);
    void *b[NB];
    for (int i = 0; i < NB; i++) assert_non_null(b[i] = rh_malloc(h, 64));
    rh__pool *first = rh__pool_of(b[0]);
    int nfirst = 0;
    for (int i = 0; i < NB; i++) nfirst += rh__pool_of(b[i]) == first;
    assert_int_equal(nfirst, PER_POOL);
    rh__block_mark(h, b[5]);
    /* the second pool empties first and is kept for its class (cached);
     * then the first, marked block and all, goes back to its arena */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < NB; i++)
            if (b[i] && (rh__pool_of(b[i]) == first) == (pass == 1)) {
                rh_free(h, b[i]);
                b[i] = NULL;
            }
        rh__bcache_flush_all(h);
    }
    const uint64_t *plane = rh__arena_plane(rh__pool_arena(first)->base) +
                            (size_t)first->index * RH__MARK_WORDS_PER_POOL;
    uintptr_t a5 = (uintptr_t)rh__pool_base(first) + 5 * 64;
    assert_true((plane[(a5 >> 10) & 15] >> rh__mark_shift(a5)) & 1); /* still set on the free block */
    /* 32-byte blocks until one comes from the first pool's range */
    enum { MAXN = 3 * (RH_POOL_SIZE / 32) };
    void **s = malloc(MAXN * sizeof *s);
    assert_non_null(s);
    int n = 0;
    bool found = false;
    while (n < MAXN && !found) {
        assert_non_null(s[n] = rh_malloc(h, 32));
        found = (uintptr_t)s[n] - (uintptr_t)rh__pool_base(first) < RH_POOL_SIZE;
        n++;
    }
    assert_true(found);
    assert_int_equal(first->cls, rh__size_class(32));
    for (unsigned j = 0; j < RH__MARK_WORDS_PER_POOL; j++) assert_true(plane[j] == 0);
    void *seen[4];
    assert_int_equal(walk_all(h, seen, 4), 0);
    rh__pools_check(h);
    for (int i = 0; i < n; i++) rh_free(h, s[i]);
    free(s);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * The walk under mutation, against a model.
 * ------------------------------------------------------------------------- */

typedef struct mblk {
    void *p;
    bool marked;
    bool steady;   /* marked at the walk's start and never unmarked or freed since */
    bool returned; /* returned by the current walk */
} mblk;

typedef struct model {
    rh_heap *h;
    mblk *b;
    size_t n, cap;
    uint64_t rng;
    bool debug;
    bool dense; /* blocks of 16 to 48 bytes only: many marked blocks a plane word */
} model;

static uint64_t next_rand(model *m) {
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static mblk *find(model *m, const void *p) {
    for (size_t i = 0; i < m->n; i++)
        if (m->b[i].p == p) return &m->b[i];
    return NULL;
}

static void m_alloc(model *m) {
    uint64_t r = next_rand(m);
    size_t n = m->dense ? 1 + (size_t)(r >> 8) % 48
               : r % 8 == 0 ? 513 + (size_t)(r >> 8) % 3000 : 1 + (size_t)(r >> 8) % 512;
    void *p = rh_malloc(m->h, n);
    assert_non_null(p);
    assert_false(rh__block_marked(m->h, p));
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 256;
        m->b = realloc(m->b, m->cap * sizeof *m->b);
        assert_non_null(m->b);
    }
    m->b[m->n++] = (mblk){.p = p};
}

/* Frees entry i (in debug mode it is unmarked first: the free of a marked
 * block is fatal there; elsewhere half the marked ones are freed as they
 * are, which drops their mark). */
static void m_free(model *m, size_t i) {
    mblk *e = &m->b[i];
    /* the contract: a pool block is unmarked before its free; a system
     * block may be freed marked (its mark goes with its header) */
    if (e->marked && (m->debug || in_pools(e->p) || next_rand(m) % 2)) rh__block_unmark(m->h, e->p);
    rh_free(m->h, e->p);
    m->b[i] = m->b[--m->n];
}

static void m_toggle(model *m, size_t i) {
    mblk *e = &m->b[i];
    if (e->marked) rh__block_unmark(m->h, e->p);
    else rh__block_mark(m->h, e->p);
    e->marked = !e->marked;
    e->steady = false;
    assert_int_equal(rh__block_marked(m->h, e->p), e->marked);
}

/* One random operation of the program between two steps of a walk. */
static void m_step(model *m) {
    uint64_t r = next_rand(m) % 100;
    if (m->n == 0 || r < 40) m_alloc(m);
    else if (r < 75) m_free(m, (size_t)(next_rand(m) % m->n));
    else if (r < 98) m_toggle(m, (size_t)(next_rand(m) % m->n));
    else (void)rh_heap_trim(m->h);
}

/* One walk with `ops` random operations before each step: each block
 * returned is live and marked now, returned once, pool blocks in rising
 * address order before the system blocks; every steady block is returned. */
static void m_walk(model *m, unsigned ops) {
    for (size_t i = 0; i < m->n; i++) {
        m->b[i].steady = m->b[i].marked;
        m->b[i].returned = false;
    }
    rh__mark_walk w;
    rh__mark_walk_begin(m->h, &w);
    uintptr_t last_pool = 0;
    bool large_phase = false;
    for (;;) {
        unsigned k = ops ? (unsigned)(next_rand(m) % (2 * ops + 1)) : 0;
        for (unsigned j = 0; j < k; j++) m_step(m);
        void *p = rh__mark_walk_next(&w);
        if (!p) break;
        mblk *e = find(m, p);
        assert_non_null(e);        /* live: never a block after its free */
        assert_true(e->marked);    /* marked now */
        assert_false(e->returned); /* once */
        e->returned = true;
        if (in_pools(p)) {
            assert_false(large_phase);
            assert_true((uintptr_t)p > last_pool);
            last_pool = (uintptr_t)p;
        } else {
            large_phase = true;
        }
    }
    rh__mark_walk_end(&w);
    for (size_t i = 0; i < m->n; i++)
        if (m->b[i].steady) assert_true(m->b[i].returned);
}

static void run_model(rh_mode mode, int with, uint64_t seed, size_t live, unsigned walks, bool dense) {
    model m = {.h = new_heap(mode, 0), .rng = seed, .debug = mode == RH_MODE_DEBUG, .dense = dense};
    push_layers(m.h, with);
    for (size_t i = 0; i < live; i++) m_alloc(&m);
    for (size_t i = 0; i < m.n; i++)
        if (next_rand(&m) % 3 == 0) m_toggle(&m, i);
    for (unsigned k = 0; k < walks; k++) {
        m_walk(&m, k % 3 == 0 ? 0 : k % 3 == 1 ? 1 : 4);
        rh__pools_check(m.h);
    }
    while (m.n) m_free(&m, m.n - 1);
    pop_layers(m.h, with);
    rh_heap_destroy(m.h);
    free(m.b);
}

static void test_walk_random(void **state) {
    (void)state;
    static const uint64_t seeds[] = {0x9e3779b97f4a7c15ull, 12345, 0xdeadbeefcafeull, 42}; /* seed s runs under layers s % 4 */
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++)
        for (size_t mi = 0; mi < sizeof MODES / sizeof MODES[0]; mi++)
            run_model(MODES[mi], (int)s % 4, seeds[s], 600, 6, false);
    /* more blocks than an arena's worth in pools mode: frees and trims
     * release arenas between steps */
    run_model(RH_MODE_POOLS, 0, 777, 5000, 4, false);
}

/* The same with small blocks only (16 to 48 bytes: up to 64 a plane word),
 * so that most steps are served in line from the word the walk keeps while
 * the program frees, unmarks and marks the blocks of that very word
 * between them (memory/marks.h: what was kept is read again and masked). */
static void test_walk_random_dense(void **state) {
    (void)state;
    static const uint64_t seeds[] = {7, 0x5bd1e995ull, 0xc2b2ae3d27d4eb4full, 99991};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++)
        for (size_t mi = 0; mi < sizeof MODES / sizeof MODES[0]; mi++)
            run_model(MODES[mi], (int)s % 4, seeds[s], 3000, 6, true);
}

/* 16-byte blocks allocated one after the other from a fresh heap until
 * `n` of them are consecutive (each 16 bytes after the one before) with
 * the first at the start of a plane word; the heap's blocks before them
 * (its own, and the misses) in *pre (freed by free_run). */
typedef struct run16 {
    void **b, **pre;
    size_t n, npre;
} run16;
static run16 alloc_run16(rh_heap *h, size_t n) {
    run16 r = {.b = malloc(n * sizeof(void *)), .pre = malloc(4096 * sizeof(void *)), .n = n};
    assert_non_null(r.b);
    assert_non_null(r.pre);
    size_t got = 0;
    while (got < n) {
        void *p = rh_malloc(h, 16);
        assert_non_null(p);
        bool fits = got == 0 ? ((uintptr_t)p & (64 * 16 - 1)) == 0 : (uintptr_t)p == (uintptr_t)r.b[got - 1] + 16;
        if (!fits) { /* start again from here */
            for (size_t i = 0; i < got; i++) {
                assert_true(r.npre < 4096);
                r.pre[r.npre++] = r.b[i];
            }
            got = 0;
            if (((uintptr_t)p & (64 * 16 - 1)) != 0) {
                assert_true(r.npre < 4096);
                r.pre[r.npre++] = p;
                continue;
            }
        }
        r.b[got++] = p;
    }
    return r;
}
static void free_run16(rh_heap *h, run16 *r) {
    for (size_t i = 0; i < r->n; i++)
        if (r->b[i]) {
            rh__block_unmark(h, r->b[i]);
            rh_free(h, r->b[i]);
        }
    for (size_t i = 0; i < r->npre; i++) rh_free(h, r->pre[i]);
    free(r->b);
    free(r->pre);
}

/* The word a walk keeps between two steps (memory/marks.h): 128 consecutive
 * 16-byte blocks (two plane words), some marked; between steps the program
 * unmarks a block the walk kept, frees one (unmarked first), frees one and
 * reuses its address for a new block marked at once, marks a block behind
 * the cursor and one ahead. In pools mode (the others' 16-byte blocks are
 * not consecutive; the dense model runs them), under every extra layer:
 * each block returned is marked and live then, in rising address order,
 * and every block marked throughout is returned once. */
static void test_walk_kept_word(void **state) {
    (void)state;
    for (int with = 0; with < 4; with++) {
        rh_heap *h = new_heap(RH_MODE_POOLS, 0);
        push_layers(h, with);
        run16 r = alloc_run16(h, 128);
        void **b = r.b;
        static const int marked[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40, 62, 63, 64, 70};
        for (size_t i = 0; i < sizeof marked / sizeof marked[0]; i++) rh__block_mark(h, b[marked[i]]);
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        void *got[64];
        size_t ngot = 0;
        /* the heap's own marked blocks, if any, before the run */
        for (void *p; (p = rh__mark_walk_next(&w)) != b[0];) {
            assert_non_null(p);
            assert_true((uintptr_t)p < (uintptr_t)b[0]);
        }
        assert_ptr_equal(rh__mark_walk_next(&w), b[1]);
        rh__block_unmark(h, b[2]); /* kept, unmarked: not returned (not marked now) */
        assert_ptr_equal(rh__mark_walk_next(&w), b[3]);
        rh__block_unmark(h, b[4]); /* kept, unmarked and freed: never returned after its free */
        rh_free(h, b[4]);
        b[4] = NULL;
        rh__block_mark(h, b[20]); /* ahead, marked during the walk: may be returned */
        rh__block_mark(h, b[0]);  /* behind (marked already): not returned again */
        assert_ptr_equal(rh__mark_walk_next(&w), b[5]);
        rh__block_unmark(h, b[6]); /* freed, its address taken again by a block marked now */
        rh_free(h, b[6]);
        b[6] = NULL;
        void *again = rh_malloc(h, 16);
        assert_non_null(again);
        rh__block_mark(h, again);
        rh__block_mark(h, b[1]); /* behind the cursor */
        rh__block_unmark(h, b[1]);
        /* the rest: blocks 7 to 11 and 40 steady, 62 unmarked and freed
         * before it is reached, the rest of the plane's marks steady */
        rh__block_unmark(h, b[62]);
        rh_free(h, b[62]);
        b[62] = NULL;
        for (void *p; (p = rh__mark_walk_next(&w)) != NULL;) {
            if (!in_pools(p) || (uintptr_t)p > (uintptr_t)b[127]) continue; /* not the run's */
            assert_true(ngot < 64);
            got[ngot++] = p;
            assert_true(rh__block_marked(h, p));
        }
        rh__mark_walk_end(&w);
        /* in order, once, marked, live; the steady ones all there */
        for (size_t i = 1; i < ngot; i++) assert_true((uintptr_t)got[i - 1] < (uintptr_t)got[i]);
        static const int steady[] = {7, 8, 9, 10, 11, 40, 63, 64, 70};
        for (size_t k = 0; k < sizeof steady / sizeof steady[0]; k++) {
            bool seen = false;
            for (size_t i = 0; i < ngot; i++) seen |= got[i] == b[steady[k]];
            assert_true(seen);
        }
        for (size_t i = 0; i < ngot; i++) {
            bool ok = got[i] == again || got[i] == b[20];
            for (size_t k = 0; k < sizeof steady / sizeof steady[0]; k++) ok |= got[i] == b[steady[k]];
            assert_true(ok);
        }
        rh__block_unmark(h, again);
        rh_free(h, again);
        free_run16(h, &r);
        rh__pools_check(h);
        pop_layers(h, with);
        rh_heap_destroy(h);
    }
}

/* An arena released while a walk keeps a word of its plane, and its slot
 * taken by another heap's arena at the same address (the plane word is the
 * same memory: the slot's): the walk must not return the other heap's
 * blocks. Heap A's 16-byte blocks fill one arena and start a second, X;
 * the walk returns X's first block and keeps the second; X is emptied and
 * trimmed; heap B's 16-byte blocks are allocated until one lies at the
 * kept block's address (when the system maps B's arena where X was; else
 * B's blocks are elsewhere and the walk has nothing else to skip), and
 * marked; A's walk then returns exactly its steady block of the other
 * arena (if that lies after X) and ends. */
static void test_walk_kept_arena_other_heap(void **state) {
    (void)state;
    enum { PER_ARENA = RH_ARENA_SIZE / 16, MAXN = PER_ARENA + 8192 };
    rh_heap *a = new_heap(RH_MODE_POOLS, 0), *b = new_heap(RH_MODE_POOLS, 0);
    void **blk = malloc(MAXN * sizeof *blk);
    assert_non_null(blk);
    size_t n = 0, first_x = 0;
    uintptr_t y = 0, x = 0;
    for (;;) {
        assert_true(n < MAXN);
        assert_non_null(blk[n] = rh_malloc(a, 16));
        uintptr_t base = (uintptr_t)blk[n] & ~(uintptr_t)(RH_ARENA_SIZE - 1);
        n++;
        if (!y) y = base;
        else if (base != y && !x) {
            x = base;
            first_x = n - 1;
        }
        if (x && n - first_x == 4) break;
    }
    assert_ptr_equal((uintptr_t)blk[first_x + 1], (uintptr_t)blk[first_x] + 16);
    void *steady = blk[100];
    assert_true(((uintptr_t)steady & ~(uintptr_t)(RH_ARENA_SIZE - 1)) == y);
    rh__block_mark(a, steady);
    rh__block_mark(a, blk[first_x]);
    rh__block_mark(a, blk[first_x + 1]);
    uintptr_t kept = (uintptr_t)blk[first_x + 1];
    rh__mark_walk w;
    rh__mark_walk_begin(a, &w);
    bool steady_seen = false;
    for (void *p; (p = rh__mark_walk_next(&w)) != blk[first_x];) {
        assert_ptr_equal(p, steady); /* y lies below x */
        steady_seen = true;
    }
    /* X goes: its blocks unmarked and freed, the arenas trimmed */
    for (size_t i = first_x; i < n; i++) {
        rh__block_unmark(a, blk[i]);
        rh_free(a, blk[i]);
    }
    (void)rh_heap_trim(a);
    rh_heap_stats st;
    rh_heap_stats_get(a, &st);
    assert_int_equal(st.arenas_current, 1);
    /* B's blocks until one lies at the kept address (or an arena's worth) */
    void **bb = malloc(MAXN * sizeof *bb);
    assert_non_null(bb);
    size_t nb = 0;
    void *at_kept = NULL;
    while (nb < MAXN && !at_kept) {
        assert_non_null(bb[nb] = rh_malloc(b, 16));
        if ((uintptr_t)bb[nb] == kept) at_kept = bb[nb];
        nb++;
    }
    if (at_kept) rh__block_mark(b, at_kept);
    else print_message("note: heap B's arena was not mapped where X was\n");
    for (void *p; (p = rh__mark_walk_next(&w)) != NULL;) {
        assert_ptr_equal(rh__pool_heap(p), a);
        assert_ptr_equal(p, steady);
        assert_false(steady_seen);
        steady_seen = true;
    }
    assert_true(steady_seen);
    rh__mark_walk_end(&w);
    if (at_kept) rh__block_unmark(b, at_kept);
    for (size_t i = 0; i < nb; i++) rh_free(b, bb[i]);
    rh__block_unmark(a, steady);
    for (size_t i = 0; i < first_x; i++) rh_free(a, blk[i]);
    rh__pools_check(a);
    rh__pools_check(b);
    rh_heap_destroy(b);
    rh_heap_destroy(a);
    free(bb);
    free(blk);
}

/* A walk's budget and its count of words read (memory/marks.h) when steps
 * are served in line: ten consecutive marked 16-byte blocks in one word.
 * Undisturbed, or with the second to the fifth unmarked after the first
 * step, or with all nine after it unmarked (the word kept has nothing left
 * marked: that step reads it again and goes on from the next word), with
 * budgets of none, 1 and 2 words: each step reads at most the budget
 * (whatever it served in line), the blocks returned are the steady ones in
 * order, and scanned = arenas * 1024 + the pool blocks returned (none in
 * its word's last granule) whose next step read their word again. */
static void test_walk_kept_budget(void **state) {
    (void)state;
    static const size_t budgets[] = {0, 1, 2};
    for (int dis = 0; dis < 3; dis++)
        for (size_t bi = 0; bi < sizeof budgets / sizeof budgets[0]; bi++) {
            rh_heap *h = new_heap(RH_MODE_POOLS, 0);
            run16 r = alloc_run16(h, 10);
            for (int i = 0; i < 10; i++) rh__block_mark(h, r.b[i]);
            rh__mark_walk w;
            rh__mark_walk_begin(h, &w);
            w.budget = budgets[bi];
            size_t ngot = 0, again = 0;
            void *got[10];
            for (;;) {
                size_t before = w.scanned;
                void *p = rh__mark_walk_next(&w);
                if (budgets[bi]) assert_true(w.scanned - before <= budgets[bi]);
                if (!p) {
                    if (rh__mark_walk_over(&w)) break;
                    continue;
                }
                assert_true(ngot < 10);
                got[ngot++] = p;
                if (ngot == 1) {
                    assert_ptr_equal(p, r.b[0]);
                    for (int i = 1; i < (dis == 1 ? 5 : dis == 2 ? 10 : 1); i++) rh__block_unmark(h, r.b[i]);
                }
                if ((((uintptr_t)p >> 4) & 63) != 63) again++;
            }
            size_t scanned = w.scanned;
            rh__mark_walk_end(&w);
            size_t want = dis == 0 ? 10 : dis == 1 ? 6 : 1;
            assert_int_equal(ngot, want);
            for (size_t i = 0; i < ngot; i++) assert_ptr_equal(got[i], r.b[i == 0 ? 0 : i + 10 - want]);
            assert_int_equal(scanned, h->alloc.nby_addr * RH__MARK_WORDS + again);
            free_run16(h, &r);
            rh_heap_destroy(h);
        }
}

/* Arenas released between two steps of a walk (the one after the cursor,
 * then the cursor's own), and a new one mapped: three arenas of 512-byte
 * blocks, two blocks marked in each. */
static void test_walk_arena_released(void **state) {
    (void)state;
    enum { PER_ARENA = 64 * (16384 / 512), N = 3 * PER_ARENA };
    rh_heap *h = new_heap(RH_MODE_POOLS, 0); /* no decay: an idle arena beyond the kept one goes at once */
    static void *blk[N];
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 3);
    /* the arenas in address order, and two blocks of each marked */
    uintptr_t base[3];
    int nb = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t a = (uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1);
        bool known = false;
        for (int j = 0; j < nb; j++) known |= base[j] == a;
        if (!known) base[nb++] = a;
    }
    assert_int_equal(nb, 3);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (base[j] < base[i]) { uintptr_t t = base[i]; base[i] = base[j]; base[j] = t; }
    void *marked[3][2];
    int cnt[3] = {0};
    for (int i = 0; i < N; i++) {
        int a = 0;
        while (((uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1)) != base[a]) a++;
        if (cnt[a] < 2 && (i % 97 == 5)) {
            rh__block_mark(h, blk[i]);
            marked[a][cnt[a]++] = blk[i];
        }
    }
    assert_true(cnt[0] == 2 && cnt[1] == 2 && cnt[2] == 2);
    for (int a = 0; a < 3; a++)
        if ((uintptr_t)marked[a][0] > (uintptr_t)marked[a][1]) {
            void *t = marked[a][0]; marked[a][0] = marked[a][1]; marked[a][1] = t;
        }

    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    assert_ptr_equal(rh__mark_walk_next(&w), marked[0][0]);
    /* the middle arena goes: every block unmarked and freed, the arenas trimmed */
    for (int i = 0; i < N; i++)
        if (((uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1)) == base[1]) {
            if (blk[i] == marked[1][0] || blk[i] == marked[1][1]) rh__block_unmark(h, blk[i]);
            rh_free(h, blk[i]);
            blk[i] = NULL;
        }
    (void)rh_heap_trim(h);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 2);
    rh__pools_check(h);
    assert_ptr_equal(rh__mark_walk_next(&w), marked[0][1]);
    /* now the cursor's own arena goes */
    for (int i = 0; i < N; i++)
        if (blk[i] && ((uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1)) == base[0]) {
            if (blk[i] == marked[0][0] || blk[i] == marked[0][1]) rh__block_unmark(h, blk[i]);
            rh_free(h, blk[i]);
            blk[i] = NULL;
        }
    (void)rh_heap_trim(h);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 1);
    /* and a new arena's worth is allocated, some of it marked: those may or
     * may not be returned (they were marked during the walk) */
    static void *fresh[PER_ARENA + 1];
    for (int i = 0; i <= PER_ARENA; i++) {
        assert_non_null(fresh[i] = rh_malloc(h, 512));
        if (i % 500 == 0) rh__block_mark(h, fresh[i]);
    }
    rh__pools_check(h);
    int got2 = 0;
    for (void *p; (p = rh__mark_walk_next(&w)) != NULL;) {
        if (p == marked[2][0] || p == marked[2][1]) {
            got2++;
            continue;
        }
        bool is_fresh = false;
        for (int i = 0; i <= PER_ARENA; i++) is_fresh |= fresh[i] == p && i % 500 == 0;
        assert_true(is_fresh);
    }
    assert_int_equal(got2, 2);
    rh__mark_walk_end(&w);
    for (int i = 0; i <= PER_ARENA; i++) {
        if (i % 500 == 0) rh__block_unmark(h, fresh[i]);
        rh_free(h, fresh[i]);
    }
    for (int i = 0; i < N; i++)
        if (blk[i]) {
            if (blk[i] == marked[2][0] || blk[i] == marked[2][1]) rh__block_unmark(h, blk[i]);
            rh_free(h, blk[i]);
        }
    rh__pools_check(h);
    rh_heap_destroy(h);
}

/* An arena released by the decay (not a trim) between two steps: three
 * arenas of 512-byte blocks, one block marked in the first and in the
 * third; the cursor's arena and the middle one emptied (one is kept idle,
 * the other stamped), the clock moved past the delay, a slow-path
 * allocation runs the decay, which releases the stamped one; the walk
 * then returns the third arena's block, once. */
static uint64_t fake_now;
static uint64_t fake_clock(void) { return fake_now; }
static void test_walk_arena_decayed(void **state) {
    (void)state;
    enum { PER_ARENA = 64 * (16384 / 512), N = 3 * PER_ARENA };
    uint64_t (*saved)(void) = rh__decay_clock;
    rh__decay_clock = fake_clock;
    fake_now = 1000;
    rh_heap *h = new_heap(RH_MODE_POOLS, 50);
    static void *blk[N];
    for (int i = 0; i < N; i++) assert_non_null(blk[i] = rh_malloc(h, 512));
    /* the arenas' bases, lowest first */
    uintptr_t base[3];
    int nb = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t a = (uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1);
        bool known = false;
        for (int j = 0; j < nb; j++) known |= base[j] == a;
        if (!known) base[nb++] = a;
    }
    assert_int_equal(nb, 3);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (base[j] < base[i]) { uintptr_t t = base[i]; base[i] = base[j]; base[j] = t; }
    void *first = NULL, *last = NULL;
    for (int i = 0; i < N; i++) {
        uintptr_t a = (uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1);
        if (a == base[0] && !first) rh__block_mark(h, first = blk[i]);
        if (a == base[2] && !last) rh__block_mark(h, last = blk[i]);
    }
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    assert_ptr_equal(rh__mark_walk_next(&w), first);
    rh__block_unmark(h, first);
    for (int i = 0; i < N; i++)
        if (((uintptr_t)blk[i] & ~(uintptr_t)(RH_ARENA_SIZE - 1)) != base[2]) {
            rh_free(h, blk[i]);
            blk[i] = NULL;
        }
    rh__bcache_flush_all(h); /* the cache's blocks back to their pools: both arenas idle now */
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_current, 3);
    assert_int_equal(st.arenas_released, 0);
    fake_now = 1100;
    void *x = rh_malloc(h, 16); /* a class with no pool: the slow path runs the decay */
    assert_non_null(x);
    rh_heap_stats_get(h, &st);
    assert_int_equal(st.arenas_released, 1);
    rh__pools_check(h);
    assert_ptr_equal(rh__mark_walk_next(&w), last);
    assert_null(rh__mark_walk_next(&w));
    rh__mark_walk_end(&w);
    rh__block_unmark(h, last);
    rh_free(h, x);
    for (int i = 0; i < N; i++)
        if (blk[i]) rh_free(h, blk[i]);
    rh_heap_destroy(h);
    rh__decay_clock = saved;
}

/* System blocks: returned newest first; the cursor's next block freed,
 * reallocated (moved to the head) or a new one allocated between steps;
 * in pools mode after the pools' part, in malloc mode alone. */
static void test_walk_large_blocks(void **state) {
    (void)state;
    for (int mi = 0; mi < 2; mi++) {
        rh_heap *h = new_heap(MODES[mi], 0);
        void *L[6];
        for (int i = 0; i < 6; i++) {
            assert_non_null(L[i] = rh_malloc(h, 1000 + (size_t)i));
            rh__block_mark(h, L[i]);
        }
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        assert_ptr_equal(rh__mark_walk_next(&w), L[5]);
        /* the cursor is on L[4]: freed, it moves to L[3] */
        rh__block_unmark(h, L[4]);
        rh_free(h, L[4]);
        assert_ptr_equal(rh__mark_walk_next(&w), L[3]);
        /* L[2] (under the cursor) moved by a realloc: it leaves the walk (unmarked) */
        rh__block_unmark(h, L[2]);
        L[2] = rh_realloc(h, L[2], 50000);
        assert_non_null(L[2]);
        /* a new marked block: at the head, behind the cursor */
        void *n = rh_malloc(h, 2000);
        rh__block_mark(h, n);
        /* L[1] freed while marked (its mark goes with it) */
        rh_free(h, L[1]);
        assert_ptr_equal(rh__mark_walk_next(&w), L[0]);
        assert_null(rh__mark_walk_next(&w));
        rh__mark_walk_end(&w);
        void *seen[8];
        assert_int_equal(walk_all(h, seen, 8), 4); /* n, L[5], L[3], L[0] */
        assert_ptr_equal(seen[0], n);
        rh__block_unmark(h, n);
        rh_free(h, n);
        rh_free(h, L[0]);
        rh_free(h, L[2]);
        rh_free(h, L[3]);
        rh_free(h, L[5]);
        rh_heap_destroy(h);
    }
}

/* Two walks open at once keep their own cursors; closing one leaves the
 * other valid. */
static void test_two_walks(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS, 0);
    void *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = rh_malloc(h, i < 2 ? 64 : 4000);
        rh__block_mark(h, p[i]);
    }
    rh__mark_walk a, b;
    rh__mark_walk_begin(h, &a);
    rh__mark_walk_begin(h, &b);
    void *first = rh__mark_walk_next(&a);
    assert_ptr_equal(rh__mark_walk_next(&b), first);
    assert_non_null(rh__mark_walk_next(&b));
    assert_ptr_equal(rh__mark_walk_next(&b), p[3]);
    rh__mark_walk_end(&b);
    assert_non_null(rh__mark_walk_next(&a));
    rh__block_unmark(h, p[3]);
    rh_free(h, p[3]); /* before a reaches the system blocks: never returned */
    assert_ptr_equal(rh__mark_walk_next(&a), p[2]);
    assert_null(rh__mark_walk_next(&a));
    rh__mark_walk_end(&a);
    assert_null(h->alloc.walks);
    for (int i = 0; i < 3; i++) {
        rh__block_unmark(h, p[i]);
        rh_free(h, p[i]);
    }
    rh_heap_destroy(h);
}

/* The walk's cost counter: a walk left undisturbed reads each arena's
 * 1024 plane words once, the word of each returned pool block once more
 * when the next step starts in it (the next 16 bytes are in the same word:
 * the block is not in its word's last granule), and examines each system
 * block once: scanned = arenas * 1024 + those pool blocks + system blocks,
 * counted from the heap's own lists (malloc mode: no arena). In debug mode
 * the walk's raw blocks are not the ones returned, so it is bounded by
 * none and every pool block read again. */
static void test_walk_scanned(void **state) {
    (void)state;
    for (size_t mi = 0; mi < sizeof MODES / sizeof MODES[0]; mi++) {
        rh_heap *h = new_heap(MODES[mi], 0);
        enum { NB = 40 };
        void *b[NB];
        for (size_t i = 0; i < NB; i++) {
            assert_non_null(b[i] = rh_malloc(h, i % 4 == 3 ? 100000 : 16 + 16 * (i % 3)));
            if (i % 2 == 0) rh__block_mark(h, b[i]);
        }
        size_t nsys = 0;
        for (const struct rh__large *L = h->alloc.large; L; L = L->next) nsys++;
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        assert_int_equal(w.scanned, 0);
        size_t npool = 0, again = 0, n = 0;
        for (void *p; (p = rh__mark_walk_next(&w)) != NULL; n++)
            if (in_pools(p)) {
                npool++;
                if ((((uintptr_t)p >> 4) & 63) != 63) again++;
            }
        assert_int_equal(n, NB / 2);
        size_t base = h->alloc.nby_addr * RH__MARK_WORDS + nsys;
        if (MODES[mi] == RH_MODE_DEBUG) {
            assert_true(w.scanned >= base && w.scanned <= base + npool);
        } else {
            assert_int_equal(w.scanned, base + again);
        }
        rh__mark_walk_end(&w);
        for (size_t i = 0; i < NB; i++) {
            if (i % 2 == 0) rh__block_unmark(h, b[i]);
            rh_free(h, b[i]);
        }
        rh_heap_destroy(h);
    }
}

/* A walk with a word budget: each step of the pools part reads at most
 * `budget` plane words; a step that found nothing returns NULL with the
 * walk not over. Whatever the budget (1, 7, 64 words), the bounded walk
 * returns the same blocks in the same order as the unbounded one and reads
 * the same words in all (a yield leaves the cursor at the first word not
 * read), and it yields at least (1024 - 64) / budget / 2 times (its one
 * arena's plane is empty past the first few pools; malloc mode has no
 * plane: no yield). Between steps new
 * unmarked blocks are allocated (the contract: the marked ones are still
 * returned once, the new ones not). */
static void test_walk_budget(void **state) {
    (void)state;
    static const size_t budgets[] = {1, 7, 64};
    for (size_t mi = 0; mi < sizeof MODES / sizeof MODES[0]; mi++)
        for (size_t bi = 0; bi < sizeof budgets / sizeof budgets[0]; bi++) {
            rh_heap *h = new_heap(MODES[mi], 0);
            enum { NB = 3000 };
            static void *b[NB], *want[NB], *got[NB], *extra[NB];
            for (size_t i = 0; i < NB; i++) {
                assert_non_null(b[i] = rh_malloc(h, 16 + 16 * (i % 5)));
                if (i % 97 == 0 || i == NB - 1) rh__block_mark(h, b[i]);
            }
            size_t nwant = walk_all(h, want, NB);
            rh__mark_walk w0;
            rh__mark_walk_begin(h, &w0);
            while (rh__mark_walk_next(&w0)) {}
            size_t total = w0.scanned;
            rh__mark_walk_end(&w0);
            for (size_t i = 0; i < NB; i++)
                if (!(i % 97 == 0 || i == NB - 1)) {
                    rh_free(h, b[i]);
                    b[i] = NULL;
                }
            rh__mark_walk w;
            rh__mark_walk_begin(h, &w);
            w.budget = budgets[bi];
            size_t ngot = 0, yields = 0, nextra = 0;
            for (;;) {
                size_t before = w.scanned;
                void *p = rh__mark_walk_next(&w);
                if (MODES[mi] != RH_MODE_MALLOC) { /* a step that ended the pools part also examines system blocks */
                    size_t nsys = 0;
                    for (const struct rh__large *L = h->alloc.large; L; L = L->next) nsys++;
                    assert_true(w.scanned - before <= budgets[bi] + nsys);
                }
                if (p) {
                    assert_true(ngot < NB);
                    got[ngot++] = p;
                    continue;
                }
                if (rh__mark_walk_over(&w)) break;
                yields++;
                if (nextra < NB) assert_non_null(extra[nextra++] = rh_malloc(h, 32)); /* unmarked: not returned */
            }
            size_t scanned = w.scanned;
            rh__mark_walk_end(&w);
            assert_int_equal(ngot, nwant);
            for (size_t i = 0; i < ngot; i++) assert_ptr_equal(got[i], want[i]);
            assert_true(MODES[mi] == RH_MODE_MALLOC ? yields == 0 : yields > 0);
            if (MODES[mi] != RH_MODE_MALLOC) assert_true(yields >= (RH__MARK_WORDS - 64) / budgets[bi] / 2);
            if (MODES[mi] == RH_MODE_POOLS) assert_int_equal(scanned, total);
            for (size_t i = 0; i < nextra; i++) rh_free(h, extra[i]);
            for (size_t i = 0; i < NB; i++)
                if (b[i]) {
                    rh__block_unmark(h, b[i]);
                    rh_free(h, b[i]);
                }
            rh_heap_destroy(h);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_clear_test),
        cmocka_unit_test(test_walk_scanned),
        cmocka_unit_test(test_walk_budget),
        cmocka_unit_test(test_free_after_unmark),
        cmocka_unit_test(test_free_leaves_pool_mark),
        cmocka_unit_test(test_debug_free_marked_fatal),
        cmocka_unit_test(test_mark_bad_pointer),
        cmocka_unit_test(test_check_sees_bad_mark),
        cmocka_unit_test(test_pool_take_zeroes_plane),
        cmocka_unit_test(test_walk_random),
        cmocka_unit_test(test_walk_random_dense),
        cmocka_unit_test(test_walk_kept_word),
        cmocka_unit_test(test_walk_kept_arena_other_heap),
        cmocka_unit_test(test_walk_kept_budget),
        cmocka_unit_test(test_walk_arena_released),
        cmocka_unit_test(test_walk_arena_decayed),
        cmocka_unit_test(test_walk_large_blocks),
        cmocka_unit_test(test_two_walks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
