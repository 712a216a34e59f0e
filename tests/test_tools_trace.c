/*
 * test_tools_trace.c — allocation tracing (tracemalloc): a planted leak is
 * found at its exact file:line; a diff names exactly the sites that grew;
 * traced bytes are the usable sizes of the traced blocks, with their peak;
 * blocks allocated before the start are untraced; objects carry their type;
 * realloc moves a trace; native tracebacks are shared; tracing state only
 * changes outside a collection; and the tables stay within 16 bytes a block.
 * The side arrays of pool blocks: every size class found with its site,
 * pools carved again for another class and arenas released and mapped again
 * carry no stale trace, tracing stopped and restarted starts afresh, and a
 * side array that cannot be allocated leaves its block untraced and counted
 * as lost. Tracing switched on and off amid churn (fault injector, sites,
 * reallocations, arena decay, two heaps) keeps exact counts. Every mode:
 * pools, malloc, debug.
 */
#include "rh_test.h"

#include "internal.h" /* white box: the slow word */
#include "memory/alloc_priv.h" /* white box: the decay clock */

static const rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};

static rh_heap *heap_in(rh_mode m) {
    rh_heap_config cfg = {.mode = m};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* Tracing is off by default and its bit is the only trace of it. */
static void test_off_by_default(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    assert_false(rh_trace_is_tracing(h));
    /* the fast paths stay fast (under Valgrind the announcing bit is set) */
    unsigned base = h->alloc.slow;
    assert_int_equal(base & RH__SLOW_TRACE, 0);
    assert_true(base == 0 || base == RH__SLOW_TOOLS);
    assert_int_equal(rh_trace_get_nframes(h), -1);
    assert_int_equal(rh_trace_start(h, 0), 0);
    assert_true(h->alloc.slow & RH__SLOW_TRACE);
    assert_int_equal(rh_trace_get_nframes(h), 0);
    assert_int_equal(rh_trace_stop(h), 0);
    assert_int_equal(h->alloc.slow, base);
    assert_int_equal(rh_trace_start(h, -1), -1);
    assert_int_equal(rh_err(h), RH_EVALUE);
    assert_int_equal(rh_trace_start(h, RH_TRACE_MAX_FRAMES + 1), -1);
    rh_heap_destroy(h);
}

/* A leak planted at a known line is the top entry of the diff, at that line,
 * with exactly the bytes and blocks leaked. */
static void test_planted_leak_found_at_its_line(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        rh_snapshot *before = rh_snapshot_take(h);
        assert_non_null(before);
        enum { N = 300 };
        void *leak[N];
        int leak_line = __LINE__ + 2;
        for (int i = 0; i < N; i++) {
            leak[i] = rh_malloc(h, 100);
            void *tmp = rh_malloc(h, 200); /* freed: must not show */
            rh_free(h, tmp);
        }
        size_t usable = rh_usable_size(h, leak[0]);
        rh_snapshot *after = rh_snapshot_take(h);
        size_t n;
        rh_stat *diff = rh_snapshot_compare_to(after, before, RH_STAT_SITE, &n);
        assert_non_null(diff);
        assert_string_equal(diff[0].file, __FILE__);
        assert_int_equal(diff[0].line, leak_line);
        assert_int_equal(diff[0].count_diff, N);
        assert_int_equal(diff[0].size_diff, (int64_t)(N * usable));
        assert_int_equal(diff[0].size, N * usable);
        free(diff);
        rh_snapshot_free(before);
        rh_snapshot_free(after);
        for (int i = 0; i < N; i++) rh_free(h, leak[i]);
        rh_heap_destroy(h);
    }
}

/* Three sites: one grows, one stays, one shrinks. Exactly the first has a
 * positive size difference, exactly the third a negative one. */
static void test_diff_names_exactly_the_grown_sites(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    assert_int_equal(rh_trace_start(h, 0), 0);
    void *stay[10], *shrink[10], *grow[40];
    int line_stay = __LINE__ + 1;
    for (int i = 0; i < 10; i++) stay[i] = rh_malloc(h, 48);
    int line_shrink = __LINE__ + 1;
    for (int i = 0; i < 10; i++) shrink[i] = rh_malloc(h, 64);
    int line_grow = __LINE__ + 1;
    for (int i = 0; i < 10; i++) grow[i] = rh_malloc(h, 32);
    rh_snapshot *before = rh_snapshot_take(h);
    for (int i = 0; i < 5; i++) rh_free(h, shrink[i]);
    int line_grow2 = __LINE__ + 1;
    for (int i = 10; i < 40; i++) grow[i] = rh_malloc(h, 32);
    rh_snapshot *after = rh_snapshot_take(h);
    size_t n;
    rh_stat *d = rh_snapshot_compare_to(after, before, RH_STAT_SITE, &n);
    assert_int_equal(n, 4);
    int grown = 0, shrunk = 0, same = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(d[i].file, __FILE__);
        if (d[i].size_diff > 0) {
            grown++;
            /* the new site first: 30 blocks of 32 bytes */
            assert_int_equal(d[i].line, line_grow2);
            assert_int_equal(d[i].size_diff, 30 * 32);
        } else if (d[i].size_diff < 0) {
            shrunk++;
            assert_int_equal(d[i].line, line_shrink);
            assert_int_equal(d[i].count_diff, -5);
        } else {
            same++;
            assert_true(d[i].line == line_stay || d[i].line == line_grow);
        }
    }
    assert_int_equal(grown, 1);
    assert_int_equal(shrunk, 1);
    assert_int_equal(same, 2);
    /* sorted by the absolute size difference */
    assert_int_equal(d[0].line, line_grow2);
    free(d);
    /* by file: one entry, the net growth */
    d = rh_snapshot_compare_to(after, before, RH_STAT_FILE, &n);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].size_diff, 30 * 32 - 5 * 64);
    assert_int_equal(d[0].line, 0);
    free(d);
    rh_snapshot_free(before);
    rh_snapshot_free(after);
    for (int i = 0; i < 10; i++) rh_free(h, stay[i]);
    for (int i = 5; i < 10; i++) rh_free(h, shrink[i]);
    for (int i = 0; i < 40; i++) rh_free(h, grow[i]);
    assert_int_equal(rh_trace_count(h), 0);
    rh_heap_destroy(h);
}

/* current = the usable sizes of the traced live blocks; peak; reset. */
static void test_traced_memory_and_peak(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        void *old = rh_malloc(h, 1000); /* before the start: untraced */
        assert_int_equal(rh_trace_start(h, 0), 0);
        size_t cur, peak;
        rh_trace_get_traced_memory(h, &cur, &peak);
        assert_int_equal(cur, 0);
        void *a = rh_malloc(h, 10), *b = rh_malloc(h, 600), *c = rh_calloc(h, 3, 100);
        size_t want = rh_usable_size(h, a) + rh_usable_size(h, b) + rh_usable_size(h, c);
        rh_trace_get_traced_memory(h, &cur, &peak);
        assert_int_equal(cur, want);
        assert_int_equal(peak, want);
        assert_int_equal(rh_trace_count(h), 3);
        size_t ub = rh_usable_size(h, b);
        rh_free(h, b);
        rh_free(h, old); /* untraced: changes nothing */
        rh_trace_get_traced_memory(h, &cur, &peak);
        assert_int_equal(cur, want - ub);
        assert_int_equal(peak, want);
        rh_trace_reset_peak(h);
        rh_trace_get_traced_memory(h, &cur, &peak);
        assert_int_equal(peak, cur);
        rh_free(h, a);
        rh_free(h, c);
        rh_trace_get_traced_memory(h, &cur, &peak);
        assert_int_equal(cur, 0);
        assert_int_equal(rh_trace_count(h), 0);
        rh_heap_destroy(h);
    }
}

/* An object's traceback names its type and the line of its rh_new. */
static const rh_type point_type = {.name = "Point", .basicsize = sizeof(rh_object) + 16};

static void test_object_traceback_and_type(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        int line = __LINE__ + 1;
        rh_object *p = rh_new(h, &point_type);
        rh_object *l = rh_list_new(h, 0);
        rh_trace_info ti;
        assert_true(rh_trace_get_object_traceback(p, &ti));
        assert_string_equal(ti.file, __FILE__);
        assert_int_equal(ti.line, line);
        assert_string_equal(ti.type_name, "Point");
        assert_int_equal(ti.nframes, 0);
        assert_true(rh_trace_get_object_traceback(l, &ti));
        assert_string_equal(ti.type_name, "list"); /* allocated inside refheap */
        assert_false(rh_trace_get_object_traceback(rh_None, &ti));
        /* by type */
        rh_snapshot *s = rh_snapshot_take(h);
        size_t n;
        rh_stat *st = rh_snapshot_statistics(s, RH_STAT_TYPE, &n);
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            if (st[i].type_name && strcmp(st[i].type_name, "Point") == 0) {
                assert_int_equal(st[i].count, 1);
                seen = true;
            }
        assert_true(seen);
        free(st);
        rh_snapshot_free(s);
        rh_decref(p);
        rh_decref(l);
        assert_false(rh_trace_get_object_traceback(NULL, &ti));
        rh_heap_destroy(h);
    }
}

/* realloc: the block's trace follows it, with the realloc's site. */
static void test_realloc_moves_the_trace(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        void *p = rh_malloc(h, 16);
        int line = __LINE__ + 1;
        void *q = rh_realloc(h, p, 4000);
        assert_non_null(q);
        rh_trace_info ti;
        assert_true(rh_trace_get_block_traceback(h, q, &ti));
        assert_int_equal(ti.line, line);
        assert_int_equal(ti.size, rh_usable_size(h, q));
        assert_int_equal(rh_trace_count(h), 1);
        size_t cur;
        rh_trace_get_traced_memory(h, &cur, NULL);
        assert_int_equal(cur, rh_usable_size(h, q));
        /* a failed realloc keeps the old trace */
        rh_heap_fail_after(h, 1, false);
        assert_null(rh_realloc(h, q, 100000));
        assert_true(rh_trace_get_block_traceback(h, q, &ti));
        assert_int_equal(ti.line, line);
        rh_free(h, q);
        assert_int_equal(rh_trace_count(h), 0);
        rh_heap_destroy(h);
    }
}

/* Native tracebacks: the caller's frame is in them, and two allocations
 * from one call stack share one traceback. */
__attribute__((noinline)) static void *alloc_here(rh_heap *h) {
    void *p = rh_malloc(h, 24);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return p;
}

static void test_native_tracebacks(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    assert_int_equal(rh_trace_start(h, 8), 0);
    assert_int_equal(rh_trace_start(h, 8), 0);  /* again, same frames: fine */
    assert_int_equal(rh_trace_start(h, 4), -1); /* another limit: refused */
    assert_int_equal(rh_err(h), RH_ESTATE);
    void *a[4];
    for (int i = 0; i < 4; i++) a[i] = alloc_here(h);
    rh_trace_info ti;
    assert_true(rh_trace_get_block_traceback(h, a[0], &ti));
    assert_true(ti.nframes > 2 && ti.nframes <= 8);
    bool in_caller = false;
    for (size_t k = 0; k < ti.nframes; k++) {
        uintptr_t f = (uintptr_t)ti.frames[k], fn = (uintptr_t)(void *)alloc_here;
        if (f > fn && f < fn + 512) in_caller = true;
    }
    assert_true(in_caller);
    rh_snapshot *s = rh_snapshot_take(h);
    assert_int_equal(s->nframes, 8);
    size_t n;
    rh_stat *st = rh_snapshot_statistics(s, RH_STAT_TRACEBACK, &n);
    assert_int_equal(n, 1); /* one call stack, one traceback */
    assert_int_equal(st[0].count, 4);
    assert_non_null(st[0].traceback);
    assert_int_equal(st[0].traceback->nframes, ti.nframes);
    free(st);
    rh_snapshot_free(s);
    for (int i = 0; i < 4; i++) rh_free(h, a[i]);
    rh_heap_destroy(h);
}

/* Tracing changes state only outside a collection. */
static int cb_start_rc = 0, cb_stop_rc = 0;
static rh_error cb_err;
static void try_switch(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)info;
    (void)data;
    if (phase != RH_GC_START) return;
    cb_start_rc = rh_trace_start(h, 0);
    cb_err = rh_err(h);
    cb_stop_rc = rh_trace_stop(h);
}

static void test_no_switch_during_collection(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    rh_gc_callback_add(h, try_switch, NULL);
    rh_gc_collect(h, 2);
    rh_gc_callback_remove(h, try_switch, NULL);
    assert_int_equal(cb_start_rc, -1);
    assert_int_equal(cb_err, RH_ESTATE);
    assert_int_equal(cb_stop_rc, -1);
    assert_false(rh_trace_is_tracing(h));
    rh_heap_destroy(h);
}

/* The tables cost at most 16 bytes per traced live block, plus the traces
 * (a few kilobytes here: one site).
 * Malloc mode (the block table): 8-byte entries at a load kept above 8/15
 * while the set grows, 10 to 15 bytes a block; at most 32 while it shrinks
 * (halved under 1/4), and the memory comes back.
 * Pools mode (side arrays): 4 bytes per block slot of a pool holding a traced
 * block, plus a 12-byte header per array and a 528-byte record per arena; the pools
 * fill one after the other, so past the first 1024 blocks (five classes,
 * class 0 getting 1/64 of them: about 10 bytes a block) it stays under 16.
 * What remains once everything is freed: at most one spare array per class
 * used and one record per arena ever traced. */
static void test_memory_per_block(void **state) {
    (void)state;
    const rh_mode mem_modes[] = {RH_MODE_MALLOC, RH_MODE_POOLS};
    for (size_t m = 0; m < 2; m++) {
        bool pools = mem_modes[m] == RH_MODE_POOLS;
        rh_heap *h = heap_in(mem_modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        size_t n = (size_t)rh_test_scaled(200000, 20000);
        void **v = malloc(n * sizeof *v);
        /* the fixed part: everything present before the first block, but the
         * first block table (1024 entries) in malloc mode */
        size_t fixed = rh_trace_get_memory(h) - (pools ? 0 : 1024 * 8);
        size_t worst = 0;
        for (size_t i = 0; i < n; i++) {
            v[i] = rh_malloc(h, 16 + i % 64); /* one site: the trace tables do not grow */
            if (i >= 1024) {
                size_t per = (rh_trace_get_memory(h) - fixed) / (i + 1);
                if (per > worst) worst = per;
            }
        }
        if (worst > 16) print_message("worst %zu bytes per block\n", worst);
        assert_true(worst <= 16);
        assert_int_equal(rh_trace_count(h), n);
        rh__trace_check(h);
        size_t worst_down = 0;
        for (size_t i = 0; i < n; i++) {
            rh_free(h, v[i]);
            size_t live = n - i - 1;
            if (live >= 1024) {
                size_t per = (rh_trace_get_memory(h) - fixed) / live;
                if (per > worst_down) worst_down = per;
            }
        }
        assert_true(worst_down <= 32);
        if (pools) {
            rh_heap_stats st;
            rh_heap_stats_get(h, &st);
            size_t spares = 0;
            for (unsigned c = 0; c < 5; c++) spares += sizeof(rh__side_pool) + RH_POOL_SIZE / ((c + 1) * 16) * 4;
            /* records, the map's slots and the array of records: 528 + 16 + 8 per arena, then doubling */
            size_t arenas = st.arenas_allocated * (sizeof(rh__side_arena) + 2 * 8 + 2 * 8) + 64 * 8 + 16 * 8;
            assert_true(rh_trace_get_memory(h) - fixed <= spares + arenas);
        } else {
            assert_true(rh_trace_get_memory(h) - fixed < 2048 * 8); /* back under twice the first table */
        }
        assert_int_equal(rh_trace_count(h), 0);
        rh__trace_check(h);
        free(v);
        rh_heap_destroy(h);
    }
}

/* The side arrays: every size class's blocks, across a pool boundary, are
 * found with their site and size (the block's slot is offset / size by a
 * multiplication: a wrong slot would lose or misplace some), one by one and
 * in a snapshot. Every mode (the other two keep them in the block table). */
static void test_every_size_class_found(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        enum { NC = 32 };
        void **v[NC];
        size_t nb[NC], total = 0, bytes = 0;
        for (unsigned c = 0; c < NC; c++) {
            size_t s = (c + 1) * 16;
            nb[c] = RH_POOL_SIZE / s + 3; /* a pool and then some */
            v[c] = malloc(nb[c] * sizeof *v[c]);
            for (size_t i = 0; i < nb[c]; i++) {
                v[c][i] = rh_malloc_at(h, s - (i % 16), "class.c", (int)c + 1);
                assert_non_null(v[c][i]);
                bytes += rh_usable_size(h, v[c][i]);
            }
            total += nb[c];
        }
        assert_int_equal(rh_trace_count(h), total);
        size_t cur;
        rh_trace_get_traced_memory(h, &cur, NULL);
        assert_int_equal(cur, bytes);
        rh__trace_check(h);
        for (unsigned c = 0; c < NC; c++)
            for (size_t i = 0; i < nb[c]; i++) {
                rh_trace_info ti;
                assert_true(rh_trace_get_block_traceback(h, v[c][i], &ti));
                assert_string_equal(ti.file, "class.c");
                assert_int_equal(ti.line, (int)c + 1);
                assert_int_equal(ti.size, rh_usable_size(h, v[c][i]));
                /* a pointer inside the block is not a block */
                if (c > 0) assert_false(rh_trace_get_block_traceback(h, (char *)v[c][i] + 16, NULL));
            }
        rh_snapshot *snap = rh_snapshot_take(h);
        size_t n;
        rh_stat *st = rh_snapshot_statistics(snap, RH_STAT_SITE, &n);
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            if (!st[i].file || strcmp(st[i].file, "class.c") != 0) continue;
            unsigned c = (unsigned)st[i].line - 1;
            assert_true(c < NC);
            assert_int_equal(st[i].count, nb[c]);
            size_t want = 0;
            for (size_t k = 0; k < nb[c]; k++) want += rh_usable_size(h, v[c][k]);
            assert_int_equal(st[i].size, want);
            seen++;
        }
        assert_int_equal(seen, NC);
        free(st);
        rh_snapshot_free(snap);
        for (unsigned c = 0; c < NC; c++) {
            for (size_t i = 0; i < nb[c]; i++) rh_free(h, v[c][i]);
            free(v[c]);
        }
        assert_int_equal(rh_trace_count(h), 0);
        rh_trace_get_traced_memory(h, &cur, NULL);
        assert_int_equal(cur, 0);
        rh__trace_check(h);
        rh_heap_destroy(h);
    }
}

/* How many of blocks v[0..n) lie in pools that held one of w[0..m). */
static size_t in_pools_of(void **v, size_t n, void **w, size_t m) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            if (((uintptr_t)v[i] & ~(uintptr_t)(RH_POOL_SIZE - 1)) == ((uintptr_t)w[j] & ~(uintptr_t)(RH_POOL_SIZE - 1))) {
                k++;
                break;
            }
    return k;
}

/* A snapshot holds exactly blocks v[0..n) at file:line, each of size s. */
static void assert_site_holds(rh_heap *h, const char *file, int line, size_t n, size_t s) {
    rh_snapshot *snap = rh_snapshot_take(h);
    assert_non_null(snap);
    size_t k;
    rh_stat *st = rh_snapshot_statistics(snap, RH_STAT_SITE, &k);
    size_t count = 0, size = 0;
    for (size_t i = 0; i < k; i++)
        if (st[i].file && strcmp(st[i].file, file) == 0 && st[i].line == line) {
            count += st[i].count;
            size += st[i].size;
        }
    assert_int_equal(count, n);
    assert_int_equal(size, n * s);
    free(st);
    rh_snapshot_free(snap);
}

/* Pools emptied while tracing and carved again for another class: the new
 * class's blocks carry their own site and size, nothing of the old ones (a
 * stale id of the old class would show at the old site, or a block would
 * read the old class's slot). */
static void test_pool_recarved_for_another_class(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = RH_ARENA_DECAY_NOW};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(rh_trace_start(h, 0), 0);
    enum { NA = 3000, NB = 1500 };
    static void *a[NA], *b[NB];
    for (size_t i = 0; i < NA; i++) a[i] = rh_malloc_at(h, 16, "old.c", 1); /* ~3 pools of 16 B */
    for (size_t i = 0; i < NA; i++)
        if (i % 7) rh_free(h, a[i]); /* every 7th stays: its pool keeps an array */
    for (size_t i = 0; i < NA; i += 7) rh_free(h, a[i]);
    assert_int_equal(rh_trace_count(h), 0);
    /* white box: the array of the pool emptied last stays there, empty, as
     * class 0's spare */
    struct rh__tools *T = h->tools;
    assert_non_null(T->f.spare[0]);
    void *spare_pool = (void *)(T->f.spare_arena[0]->base + T->f.spare_pool[0] * (uintptr_t)RH_POOL_SIZE);
    for (size_t i = 0; i < NB; i++) b[i] = rh_malloc_at(h, 48, "new.c", 2);
    assert_true(in_pools_of(b, NB, a, NA) > 0); /* the pools were carved again */
    /* the spare's own pool among them: its class-0 array gave way */
    assert_true(in_pools_of(b, NB, &spare_pool, 1) > 0);
    for (size_t i = 0; i < NB; i++) {
        rh_trace_info ti;
        assert_true(rh_trace_get_block_traceback(h, b[i], &ti));
        assert_string_equal(ti.file, "new.c");
        assert_int_equal(ti.size, 48);
    }
    assert_site_holds(h, "new.c", 2, NB, 48);
    assert_site_holds(h, "old.c", 1, 0, 16);
    size_t cur;
    rh_trace_get_traced_memory(h, &cur, NULL);
    assert_int_equal(cur, NB * 48);
    rh__trace_check(h);
    /* and back to the first class */
    for (size_t i = 0; i < NB; i++) rh_free(h, b[i]);
    for (size_t i = 0; i < NA; i++) a[i] = rh_malloc_at(h, 16, "again.c", 3);
    assert_true(in_pools_of(a, NA, b, NB) > 0);
    assert_site_holds(h, "again.c", 3, NA, 16);
    assert_site_holds(h, "new.c", 2, 0, 48);
    rh__trace_check(h);
    for (size_t i = 0; i < NA; i++) rh_free(h, a[i]);
    rh_heap_destroy(h);
}

/* Arenas given back to the OS while tracing and mapped again (at the same
 * addresses or not): their blocks are traced afresh. */
static void test_arena_released_and_remapped(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .arena_decay_ms = RH_ARENA_DECAY_NOW};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(rh_trace_start(h, 0), 0);
    enum { N = 4 * 2048 }; /* 4 MiB of 512-byte blocks: four arenas */
    void **v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) v[i] = rh_malloc_at(h, 512, "first.c", 1);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_true(st.arenas_current >= 4);
    for (size_t i = 0; i < N; i++) rh_free(h, v[i]);
    rh_heap_trim(h);
    rh_heap_stats_get(h, &st);
    size_t released = st.arenas_released;
    assert_true(released >= 3);
    for (size_t i = 0; i < N; i++) v[i] = rh_malloc_at(h, 32, "second.c", 2);
    for (size_t i = 0; i < N; i += 97) {
        rh_trace_info ti;
        assert_true(rh_trace_get_block_traceback(h, v[i], &ti));
        assert_string_equal(ti.file, "second.c");
        assert_int_equal(ti.size, 32);
    }
    assert_site_holds(h, "second.c", 2, N, 32);
    assert_site_holds(h, "first.c", 1, 0, 512);
    assert_int_equal(rh_trace_count(h), N);
    rh__trace_check(h);
    for (size_t i = 0; i < N; i++) rh_free(h, v[i]);
    assert_int_equal(rh_trace_count(h), 0);
    free(v);
    rh_heap_destroy(h);
}

/* Stopped and started again: blocks of the first run, freed or not while
 * tracing was off, are untraced in the second; the second traces its own. */
static void test_stop_and_restart(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        enum { N = 600 };
        void *x[N], *y[N], *z[N];
        assert_int_equal(rh_trace_start(h, 0), 0);
        for (size_t i = 0; i < N; i++) x[i] = rh_malloc_at(h, 40, "x.c", 1);
        assert_int_equal(rh_trace_stop(h), 0);
        for (size_t i = 0; i < N; i += 2) rh_free(h, x[i]); /* freed untraced */
        for (size_t i = 0; i < N; i++) y[i] = rh_malloc_at(h, 40, "y.c", 2); /* in x's slots, untraced */
        assert_int_equal(rh_trace_start(h, 0), 0);
        assert_int_equal(rh_trace_count(h), 0);
        for (size_t i = 0; i < N; i++) z[i] = rh_malloc_at(h, 40, "z.c", 3);
        size_t s = rh_usable_size(h, z[0]);
        for (size_t i = 1; i < N; i += 2) rh_free(h, x[i]); /* untraced: nothing changes */
        for (size_t i = 0; i < N; i++) {
            assert_false(rh_trace_get_block_traceback(h, y[i], NULL));
            rh_free(h, y[i]);
        }
        assert_int_equal(rh_trace_count(h), N);
        size_t cur;
        rh_trace_get_traced_memory(h, &cur, NULL);
        assert_int_equal(cur, N * s);
        assert_site_holds(h, "z.c", 3, N, s);
        assert_site_holds(h, "x.c", 1, 0, s);
        rh__trace_check(h);
        for (size_t i = 0; i < N; i++) rh_free(h, z[i]);
        assert_int_equal(rh_trace_count(h), 0);
        rh_heap_destroy(h);
    }
}

/* Out of memory for the side storage (a new arena's record, a new pool's
 * array): the block is left untraced and counted as lost, the allocation
 * itself succeeds, and the next ones are traced again. */
static void test_side_storage_out_of_memory(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    assert_int_equal(rh_trace_start(h, 0), 0);
    struct rh__tools *T = h->tools;
    T->fail_side = 1; /* the arena's record */
    void *a = rh_malloc(h, 64);
    assert_non_null(a);
    assert_int_equal(T->lost, 1);
    assert_int_equal(rh_trace_count(h), 0);
    assert_false(rh_trace_get_block_traceback(h, a, NULL));
    void *b = rh_malloc(h, 64); /* traced */
    assert_true(rh_trace_get_block_traceback(h, b, NULL));
    T->fail_side = 1; /* another class: a new pool's array */
    void *c = rh_malloc(h, 300);
    assert_non_null(c);
    assert_int_equal(T->lost, 2);
    assert_false(rh_trace_get_block_traceback(h, c, NULL));
    void *d = rh_malloc(h, 300);
    assert_true(rh_trace_get_block_traceback(h, d, NULL));
    size_t cur;
    rh_trace_get_traced_memory(h, &cur, NULL);
    assert_int_equal(cur, 64 + 304);
    assert_int_equal(rh_trace_count(h), 2);
    rh__trace_check(h);
    rh_free(h, a); /* untraced: nothing changes */
    rh_free(h, c);
    assert_int_equal(rh_trace_count(h), 2);
    rh_free(h, b);
    rh_free(h, d);
    rh_trace_get_traced_memory(h, &cur, NULL);
    assert_int_equal(cur, 0);
    rh__trace_check(h);
    rh_heap_destroy(h);
}

/* Once 2^20 - 1 distinct traces exist, new sites share trace 0, "(trace
 * table full)": such a block is still traced (trace 0 is a trace like any
 * other, in a side array as in the block table), counted and freed. White
 * box: the trace count is raised as if the table were full. */
static void test_trace_table_full(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        int line = __LINE__ + 1;
        void *a = rh_malloc(h, 32);
        struct rh__tools *T = h->tools;
        size_t real = T->ntraces;
        T->ntraces = (size_t)RH__TRACE_ID_MAX + 1;
        void *b = rh_malloc_at(h, 32, "full.c", 7);
        T->ntraces = real;
        rh_trace_info ti;
        assert_true(rh_trace_get_block_traceback(h, b, &ti));
        assert_string_equal(ti.file, "(trace table full)");
        assert_true(rh_trace_get_block_traceback(h, a, &ti));
        assert_int_equal(ti.line, line);
        assert_int_equal(rh_trace_count(h), 2);
        size_t s = rh_usable_size(h, b);
        assert_site_holds(h, "(trace table full)", 0, 1, s);
        assert_site_holds(h, "full.c", 7, 0, s);
        rh__trace_check(h);
        rh_free(h, b);
        rh_free(h, a);
        assert_int_equal(rh_trace_count(h), 0);
        rh_heap_destroy(h);
    }
}

/* Objects die through the same hooks: a heap full of traced objects, freed
 * by reference counting and by the collector, leaves nothing traced. */
static void test_objects_freed_by_both_paths(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 2), 0);
        for (int i = 0; i < 200; i++) {
            rh_object *a = rh_list_new(h, 0), *b = rh_list_new(h, 0), *s = rh_str_printf(h, "item %d", i);
            rh_list_append(a, b);
            rh_list_append(b, a); /* a cycle */
            rh_list_append(a, s);
            rh_decref(s);
            rh_decref(a);
            rh_decref(b);
        }
        rh_gc_collect(h, 2);
        size_t cur;
        rh_trace_get_traced_memory(h, &cur, NULL);
        /* what is left traced is what the heap still holds: nothing of ours */
        rh_snapshot *s = rh_snapshot_take(h);
        size_t n;
        rh_stat *st = rh_snapshot_statistics(s, RH_STAT_TYPE, &n);
        for (size_t i = 0; i < n; i++) {
            assert_true(st[i].type_name == NULL || strcmp(st[i].type_name, "list") != 0);
            assert_true(st[i].type_name == NULL || strcmp(st[i].type_name, "str") != 0);
        }
        free(st);
        rh_snapshot_free(s);
        rh_heap_destroy(h);
    }
}

/* Objects built by refheap's constructors are attributed to a pushed site;
 * the caller's own allocations keep their lines. */
static void test_pushed_site(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    assert_int_equal(rh_trace_start(h, 0), 0);
    rh_object *inside = rh_list_new(h, 0); /* not pushed: refheap's own line */
    int pushed = __LINE__ + 1;
    rh_trace_site_push(h);
    rh_object *l = rh_list_new(h, 0);
    rh_object *s = rh_str(h, "a string of some length");
    rh_list_append(l, s); /* the item array */
    int own = __LINE__ + 1;
    void *raw = rh_malloc(h, 10);
    rh_trace_site_pop(h);
    rh_object *after = rh_list_new(h, 0);
    rh_trace_info ti;
    assert_true(rh_trace_get_object_traceback(l, &ti));
    assert_int_equal(ti.line, pushed);
    assert_string_equal(ti.file, __FILE__);
    assert_true(rh_trace_get_object_traceback(s, &ti));
    assert_int_equal(ti.line, pushed);
    assert_true(rh_trace_get_block_traceback(h, raw, &ti));
    assert_int_equal(ti.line, own);
    assert_true(rh_trace_get_object_traceback(inside, &ti));
    assert_string_not_equal(ti.file, __FILE__);
    assert_true(rh_trace_get_object_traceback(after, &ti));
    assert_string_not_equal(ti.file, __FILE__);
    /* the item array too: the site's total is the list, the str and it */
    rh_snapshot *snap = rh_snapshot_take(h);
    size_t n;
    rh_stat *st = rh_snapshot_statistics(snap, RH_STAT_SITE, &n);
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        if (st[i].line == pushed && strcmp(st[i].file, __FILE__) == 0) {
            assert_int_equal(st[i].count, 3);
            seen = true;
        }
    assert_true(seen);
    free(st);
    rh_snapshot_free(snap);
    rh_free(h, raw);
    rh_decref(s);
    rh_decref(l);
    rh_decref(inside);
    rh_decref(after);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * What tracing's in-line paths (pools mode, tracing alone) must keep: every
 * way of creating an object records its site and type, the collector sees
 * exactly the allocations it sees untraced, the traced bytes stay exact
 * through frees, and the fault injector still fails the chosen call.
 * ------------------------------------------------------------------------- */

typedef struct tnode {
    rh_object ob;
    rh_object *a, *b;
} tnode;

static int tnode_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    RH_VISIT(((tnode *)self)->a);
    RH_VISIT(((tnode *)self)->b);
    return 0;
}

static void tnode_destroy(rh_object *self) {
    rh_xdecref(((tnode *)self)->a);
    rh_xdecref(((tnode *)self)->b);
}

static const rh_type tnode_type = {.name = "TNode", .basicsize = sizeof(tnode), .flags = RH_TYPE_GC,
                                   .destroy = tnode_destroy, .traverse = tnode_traverse};
static const rh_type tvar_type = {.name = "TVar", .basicsize = sizeof(rh_object), .itemsize = 8};
static const rh_type tvargc_type = {.name = "TVarGC", .basicsize = sizeof(tnode), .itemsize = 8,
                                    .flags = RH_TYPE_GC, .destroy = tnode_destroy, .traverse = tnode_traverse};

static void assert_site(const rh_object *o, int line, const char *type_name) {
    rh_trace_info ti;
    assert_true(rh_trace_get_object_traceback(o, &ti));
    assert_string_equal(ti.file, __FILE__);
    assert_int_equal(ti.line, line);
    assert_non_null(ti.type_name);
    assert_string_equal(ti.type_name, type_name);
}

/* Each entry point, twice in a row at the same site (the second meets the
 * tracer's caches), then once more after a raw block at another line (the
 * caches hold another site): file, line and type of each object. Also a
 * raw block at the site of an object keeps no type. */
static void test_every_creation_has_site_and_type(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        rh_object *o[4][3];
        int lines[4];
        for (int k = 0; k < 3; k++) {
            lines[0] = __LINE__ + 1;
            o[0][k] = rh_new(h, &point_type);
            lines[1] = __LINE__ + 1;
            o[1][k] = rh_new(h, &tnode_type); /* an untracked container */
            lines[2] = __LINE__ + 1;
            o[2][k] = rh_new_tracked(h, &tnode_type);
            lines[3] = __LINE__ + 1;
            o[3][k] = k == 1 ? rh_new_var_tracked(h, &tvargc_type, 3) : rh_new_var(h, &tvar_type, k ? 100 : 5);
            int rline = __LINE__ + 1;
            void *raw = rh_malloc(h, 32);
            rh_trace_info ti;
            assert_true(rh_trace_get_block_traceback(h, raw, &ti));
            assert_int_equal(ti.line, rline);
            assert_null(ti.type_name);
            rh_free(h, raw);
        }
        for (int k = 0; k < 3; k++) {
            assert_site(o[0][k], lines[0], "Point");
            assert_site(o[1][k], lines[1], "TNode");
            assert_site(o[2][k], lines[2], "TNode");
            assert_site(o[3][k], lines[3], k == 1 ? "TVarGC" : "TVar");
        }
        /* by type in a snapshot: three of each fixed-size type's rows */
        rh_snapshot *s = rh_snapshot_take(h);
        size_t n, tn = 0, pt = 0;
        rh_stat *st = rh_snapshot_statistics(s, RH_STAT_TYPE, &n);
        for (size_t i = 0; i < n; i++) {
            if (st[i].type_name && strcmp(st[i].type_name, "TNode") == 0) tn += st[i].count;
            if (st[i].type_name && strcmp(st[i].type_name, "Point") == 0) pt += st[i].count;
        }
        assert_int_equal(tn, 6);
        assert_int_equal(pt, 3);
        free(st);
        rh_snapshot_free(s);
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 3; k++) rh_decref(o[i][k]);
        rh_heap_destroy(h);
    }
}

/* The collector counts the same allocations and frees with tracing on as
 * off, and its automatic collections come at the same allocations: the
 * same sequence of creations and deaths on two heaps, one traced, gives the
 * same generation counts and collection counts after every step. */
static void test_collector_counts_unchanged_by_tracing(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *hs[2] = {heap_in(modes[m]), heap_in(modes[m])};
        assert_int_equal(rh_trace_start(hs[1], 0), 0);
        for (int k = 0; k < 2; k++) rh_gc_set_threshold(hs[k], 30, 3, 3);
        rh_object *keep[2][64] = {{NULL}};
        for (int i = 0; i < 3000; i++) {
            for (int k = 0; k < 2; k++) {
                rh_heap *h = hs[k];
                rh_object *x = i % 3 == 0 ? rh_new_tracked(h, &tnode_type)
                               : i % 3 == 1 ? rh_new(h, &tnode_type)
                                            : rh_new_var_tracked(h, &tvargc_type, (size_t)(i % 7));
                if (i % 3 == 1) rh_gc_track(x);
                rh_object *p = rh_new(h, &point_type); /* not counted: not a container */
                rh_decref(p);
                rh_object **slot = &keep[k][i % 64];
                if (i % 2 == 0) { /* a container dies every other step past the first 64 */
                    rh_xdecref(*slot);
                    *slot = x;
                } else {
                    rh_decref(x);
                }
            }
            long c0[3], c1[3];
            rh_gc_get_count(hs[0], c0);
            rh_gc_get_count(hs[1], c1);
            assert_memory_equal(c0, c1, sizeof c0);
            rh_gc_genstats g0[3], g1[3];
            rh_gc_get_stats(hs[0], g0);
            rh_gc_get_stats(hs[1], g1);
            for (int g = 0; g < 3; g++) assert_int_equal(g0[g].collections, g1[g].collections);
        }
        rh_gc_genstats g0[3];
        rh_gc_get_stats(hs[0], g0);
        assert_true(g0[0].collections > 0); /* the sequence did trigger collections */
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < 64; i++) rh_xdecref(keep[k][i]);
            rh_heap_destroy(hs[k]);
        }
    }
}

/* Traced bytes are the usable sizes of the live traced blocks, exactly,
 * after every free: objects of each kind and raw blocks, freed in an
 * order unlike their allocation. */
static void test_traced_bytes_exact_through_frees(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap *h = heap_in(modes[m]);
        assert_int_equal(rh_trace_start(h, 0), 0);
        enum { N = 600 };
        void *blk[N];
        rh_object *obj[N];
        bool raw[N];
        size_t sizes[N], want = 0;
        for (int i = 0; i < N; i++) {
            raw[i] = i % 4 == 3;
            if (raw[i]) {
                blk[i] = rh_malloc(h, (size_t)(1 + i * 37 % 700));
                obj[i] = NULL;
            } else {
                obj[i] = i % 4 == 0 ? rh_new_tracked(h, &tnode_type)
                         : i % 4 == 1 ? rh_new(h, &point_type)
                                      : rh_new_var(h, &tvar_type, (size_t)(i % 90));
                blk[i] = NULL;
            }
            rh_trace_info ti;
            assert_true(rh_trace_get_block_traceback(h, raw[i] ? blk[i] : rh__obj_block(obj[i]), &ti));
            sizes[i] = ti.size;
            want += ti.size;
            size_t cur;
            rh_trace_get_traced_memory(h, &cur, NULL);
            assert_int_equal(cur, want);
        }
        for (int j = 0; j < N; j++) {
            int i = (j * 7) % N; /* 7 is prime to N */
            if (raw[i]) rh_free(h, blk[i]);
            else rh_decref(obj[i]);
            want -= sizes[i];
            size_t cur;
            rh_trace_get_traced_memory(h, &cur, NULL);
            assert_int_equal(cur, want);
        }
        assert_int_equal(want, 0);
        rh_heap_destroy(h);
    }
}

/* The fault injector armed while tracing fails exactly the chosen call,
 * object creations and raw allocations alike, and leaves nothing traced
 * for it; the calls before it are traced. */
static void test_fault_injector_with_tracing(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        for (int k = 1; k <= 4; k++) {
            rh_heap *h = heap_in(modes[m]);
            assert_int_equal(rh_trace_start(h, 0), 0);
            size_t before = rh_trace_count(h);
            rh_heap_fail_after(h, k, false);
            rh_object *a = rh_new_tracked(h, &tnode_type);
            rh_object *b = rh_new(h, &point_type);
            void *c = rh_malloc(h, 48);
            rh_object *d = rh_new(h, &tnode_type);
            assert_true((a == NULL) == (k == 1));
            assert_true((b == NULL) == (k == 2));
            assert_true((c == NULL) == (k == 3));
            assert_true((d == NULL) == (k == 4));
            assert_int_equal(rh_err(h), RH_ENOMEM);
            assert_int_equal(rh_trace_count(h), before + 3);
            rh_xdecref(a);
            rh_xdecref(b);
            rh_free(h, c);
            rh_xdecref(d);
            assert_int_equal(rh_trace_count(h), before);
            rh_heap_destroy(h);
        }
    }
}

/* The in-line paths against a model: random allocations and frees of every
 * size class from 80 sites in two files (more sites than the site cache
 * has entries, several to an entry), objects of two types among them, with
 * pools emptied, carved again for other classes and arenas given back on
 * the way: every live block keeps its site, type and size, the traced bytes
 * and their peak are the model's (the sum of the live blocks' sizes and its
 * highest value), and the tables and caches keep their invariants. Every
 * mode (in malloc and debug modes the full paths serve every call). */
static void test_inline_paths_match_a_model(void **state) {
    (void)state;
    static const char *const files[2] = {"model_a.c", "model_b.c"};
    for (size_t m = 0; m < 3; m++) {
        rh_heap_config cfg = {.mode = modes[m], .arena_decay_ms = RH_ARENA_DECAY_NOW};
        rh_heap *h = rh_heap_new(&cfg);
        assert_non_null(h);
        assert_int_equal(rh_trace_start(h, 0), 0);
        enum { N = 4000, STEPS = 60000 };
        static void *blk[N];
        static rh_object *obj[N];
        static int line_of[N];
        static const char *file_of[N];
        static size_t size_of[N];
        memset(blk, 0, sizeof blk);
        memset(obj, 0, sizeof obj);
        size_t cur = 0, peak = 0, live = 0;
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (int step = 0; step < STEPS; step++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(x >> 33);
            size_t i = r % N;
            if (blk[i] || obj[i]) { /* free it */
                if (obj[i]) rh_decref(obj[i]);
                else rh_free(h, blk[i]);
                blk[i] = NULL;
                obj[i] = NULL;
                cur -= size_of[i];
                live--;
            } else { /* a new block at one of 80 sites; phases favour a few classes */
                int site = (int)((r >> 12) % 80);
                const char *file = files[site & 1];
                int line = 100 + site * 64; /* lines equal mod 64: they share site cache entries */
                size_t n = (step / 5000) % 2 ? 1 + (r >> 8) % 512 : 16 * (1 + (step / 5000 + (r >> 8) % 3) % 32);
                if ((r >> 20) % 5 == 0) {
                    obj[i] = rh_new_at(h, (r >> 23) & 1 ? &point_type : &tnode_type, file, line);
                    assert_non_null(obj[i]);
                } else {
                    blk[i] = rh_malloc_at(h, n, file, line);
                    assert_non_null(blk[i]);
                }
                rh_trace_info ti;
                assert_true(rh_trace_get_block_traceback(h, obj[i] ? rh__obj_block(obj[i]) : blk[i], &ti));
                assert_ptr_equal(ti.file, file);
                assert_int_equal(ti.line, line);
                if (obj[i]) assert_string_equal(ti.type_name, rh_type_of(obj[i])->name);
                else assert_null(ti.type_name);
                if (blk[i]) assert_true(ti.size >= n);
                file_of[i] = file;
                line_of[i] = line;
                size_of[i] = ti.size;
                cur += ti.size;
                live++;
                if (cur > peak) peak = cur;
            }
            size_t tcur, tpeak;
            rh_trace_get_traced_memory(h, &tcur, &tpeak);
            assert_int_equal(tcur, cur);
            assert_int_equal(tpeak, peak);
            assert_int_equal(rh_trace_count(h), live);
            if (step % 5000 == 4999) {
                rh__trace_check(h);
                for (size_t k = 0; k < N; k++) {
                    if (!blk[k] && !obj[k]) continue;
                    rh_trace_info ti;
                    assert_true(rh_trace_get_block_traceback(h, obj[k] ? rh__obj_block(obj[k]) : blk[k], &ti));
                    assert_ptr_equal(ti.file, file_of[k]);
                    assert_int_equal(ti.line, line_of[k]);
                    assert_int_equal(ti.size, size_of[k]);
                }
            }
        }
        for (size_t k = 0; k < N; k++) {
            if (obj[k]) rh_decref(obj[k]);
            else if (blk[k]) rh_free(h, blk[k]);
        }
        assert_int_equal(rh_trace_count(h), 0);
        size_t tcur;
        rh_trace_get_traced_memory(h, &tcur, NULL);
        assert_int_equal(tcur, 0);
        rh__trace_check(h);
        rh_heap_destroy(h);
    }
}

/* Tracing switched on and off, the fault injector armed and disarmed,
 * sites pushed and popped, reallocations (in place, moved, failed), arena
 * decay and trims, one heap or two interleaved, against a model: random
 * steps over N slots, half of them filled before the first start (untraced
 * for as long as they live). A block is traced exactly when it was
 * allocated or reallocated during the current trace session (never one
 * from before, never one whose allocation failed), with its usable size;
 * the traced bytes, their peak (also after rh_trace_reset_peak) and the
 * count are the model's, and the heap's and the tracer's invariant walks
 * (pool lists and counts, side arrays and the in-line paths' caches) hold
 * throughout. Destroying a heap while tracing with live blocks is part of
 * it. Every mode. */
typedef struct {
    void *b[3000];
    rh_object *o[3000];
    size_t sz[3000];
    bool traced[3000];
} churn_model;
enum { CHURN_N = 3000 };
static uint64_t churn_now = 1000;
static uint64_t churn_clock(void) { return churn_now; }
static const rh_type wide_type = {.name = "Wide", .basicsize = sizeof(rh_object) + 200};

static void churn_steps(rh_heap **hs, churn_model **ms, int nh, uint64_t x, int steps) {
    static const char *const files[2] = {"churn_a.c", "churn_b.c"};
    size_t cur[2] = {0, 0}, peak[2] = {0, 0};
    int nsites[2] = {0, 0};
    for (int step = 0; step < steps; step++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(x >> 33);
        int k = nh > 1 ? (int)(r & 1) : 0;
        rh_heap *h = hs[k];
        churn_model *m = ms[k];
        size_t i = (r >> 1) % CHURN_N;
        unsigned op = (r >> 13) % 100;
        bool tracing = rh_trace_is_tracing(h);
        if (op < 2) { /* tracing on or off: a new session starts empty */
            if (tracing) {
                assert_int_equal(rh_trace_stop(h), 0);
                for (size_t j = 0; j < CHURN_N; j++) m->traced[j] = false;
            } else {
                assert_int_equal(rh_trace_start(h, (r >> 20) % 4 == 0 ? 3 : 0), 0);
            }
            cur[k] = peak[k] = 0;
        } else if (op < 4) { /* the fault injector armed (one call of the next 1..5) or disarmed */
            rh_heap_fail_after(h, (op & 1) ? 1 + (long)((r >> 20) % 5) : 0, false);
        } else if (op < 5 && ((r >> 25) & 3) == 0) {
            if (((r >> 24) & 1) && nsites[k] < 20) {
                rh_trace_site_push_at(h, "pushed.c", (int)(r % 1000));
                nsites[k]++;
            } else if (nsites[k]) {
                rh_trace_site_pop(h);
                nsites[k]--;
            }
        } else if (op < 5 && ((r >> 25) & 3) == 1 && tracing) {
            rh_trace_reset_peak(h);
            peak[k] = cur[k];
        } else if (op < 5) { /* time passes (decaying arenas go), or a trim */
            churn_now += 30;
            if ((r >> 20) & 1) rh_heap_trim(h);
        } else if (m->b[i] || m->o[i]) {
            if (m->traced[i]) cur[k] -= m->sz[i];
            if (m->o[i]) {
                rh_decref(m->o[i]);
            } else if (op < 30) { /* a reallocation: in place, moved, to or from a system block, or failed */
                size_t n = (r >> 18) % 3 == 0 ? 600 + (r >> 20) % 2000 : 1 + (r >> 20) % 512;
                void *q = rh_realloc(h, m->b[i], n);
                if (q) { /* traced now if tracing, at its usable size */
                    m->b[i] = q;
                    m->traced[i] = rh_trace_is_tracing(h);
                    m->sz[i] = rh_usable_size(h, q);
                } else { /* the injected failure: the block keeps its trace */
                    assert_int_equal(rh_err(h), RH_ENOMEM);
                    rh_err_clear(h);
                }
                if (m->traced[i]) {
                    cur[k] += m->sz[i];
                    if (cur[k] > peak[k]) peak[k] = cur[k];
                }
                goto check;
            } else {
                rh_free(h, m->b[i]);
            }
            m->b[i] = NULL;
            m->o[i] = NULL;
            m->traced[i] = false;
        } else {
            size_t n = (step / 3000) % 2 ? 1 + (r >> 18) % 512 : 16 * (1 + (step / 3000 + (r >> 18) % 3) % 32);
            int site = (int)((r >> 3) % 90);
            if ((r >> 27) % 5 == 0)
                m->o[i] = rh_new_at(h, (r >> 26) & 1 ? &point_type : &wide_type, files[site & 1], 100 + site * 64);
            else
                m->b[i] = rh_malloc_at(h, n, files[site & 1], 100 + site * 64);
            if (!m->o[i] && !m->b[i]) { /* the injected failure */
                assert_int_equal(rh_err(h), RH_ENOMEM);
                rh_err_clear(h);
                goto check;
            }
            m->traced[i] = rh_trace_is_tracing(h);
            m->sz[i] = rh_usable_size(h, m->o[i] ? rh__obj_block(m->o[i]) : m->b[i]);
            if (m->traced[i]) {
                cur[k] += m->sz[i];
                if (cur[k] > peak[k]) peak[k] = cur[k];
            }
        }
    check:
        if (rh_trace_is_tracing(h)) {
            size_t tcur, tpeak;
            rh_trace_get_traced_memory(h, &tcur, &tpeak);
            assert_int_equal(tcur, cur[k]);
            assert_int_equal(tpeak, peak[k]);
        }
        if (step % 499 == 0) {
            rh__heap_check(h, "a step of the churn model");
            if (!rh_trace_is_tracing(h)) continue;
            rh__trace_check(h);
            size_t live = 0;
            for (size_t j = 0; j < CHURN_N; j++) {
                void *blk = m->o[j] ? rh__obj_block(m->o[j]) : m->b[j];
                if (!blk) continue;
                rh_trace_info ti;
                assert_true(rh_trace_get_block_traceback(h, blk, &ti) == m->traced[j]);
                if (m->traced[j]) assert_int_equal(ti.size, m->sz[j]);
                live += m->traced[j];
            }
            assert_int_equal(rh_trace_count(h), live);
        }
    }
}

static void test_tracing_toggled_under_churn_matches_a_model(void **state) {
    (void)state;
    uint64_t (*saved)(void) = rh__decay_clock;
    rh__decay_clock = churn_clock;
    for (size_t m = 0; m < 3; m++) {
        for (int nh = 1; nh <= 2; nh++) {
            for (uint64_t seed = 1; seed <= 3; seed++) {
                rh_heap *hs[2];
                churn_model *ms[2];
                for (int k = 0; k < nh; k++) {
                    rh_heap_config cfg = {.mode = modes[m], .arena_decay_ms = seed == 1 ? RH_ARENA_DECAY_NOW : 50};
                    assert_non_null(hs[k] = rh_heap_new(&cfg));
                    assert_non_null(ms[k] = calloc(1, sizeof(churn_model)));
                    for (size_t j = 0; j < CHURN_N / 2; j++) /* live before any start: never traced */
                        assert_non_null(ms[k]->b[j] = rh_malloc(hs[k], 1 + (j * 37) % 512));
                }
                churn_steps(hs, ms, nh, seed * 0x9E3779B97F4A7C15ull, 40000);
                for (int k = 0; k < nh; k++) {
                    if (seed == 2) { /* destroyed while tracing, blocks live */
                        assert_int_equal(rh_trace_start(hs[k], 0), 0);
                    } else {
                        for (size_t j = 0; j < CHURN_N; j++) {
                            if (ms[k]->o[j]) rh_decref(ms[k]->o[j]);
                            else if (ms[k]->b[j]) rh_free(hs[k], ms[k]->b[j]);
                        }
                        if (rh_trace_is_tracing(hs[k])) {
                            size_t tcur;
                            rh_trace_get_traced_memory(hs[k], &tcur, NULL);
                            assert_int_equal(tcur, 0);
                            assert_int_equal(rh_trace_count(hs[k]), 0);
                            rh__trace_check(hs[k]);
                        }
                        rh__heap_check(hs[k], "the end of the churn model");
                    }
                    rh_heap_destroy(hs[k]);
                    free(ms[k]);
                }
            }
        }
    }
    rh__decay_clock = saved;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default),
        cmocka_unit_test(test_planted_leak_found_at_its_line),
        cmocka_unit_test(test_diff_names_exactly_the_grown_sites),
        cmocka_unit_test(test_traced_memory_and_peak),
        cmocka_unit_test(test_object_traceback_and_type),
        cmocka_unit_test(test_realloc_moves_the_trace),
        cmocka_unit_test(test_native_tracebacks),
        cmocka_unit_test(test_no_switch_during_collection),
        cmocka_unit_test(test_memory_per_block),
        cmocka_unit_test(test_every_size_class_found),
        cmocka_unit_test(test_pool_recarved_for_another_class),
        cmocka_unit_test(test_arena_released_and_remapped),
        cmocka_unit_test(test_stop_and_restart),
        cmocka_unit_test(test_side_storage_out_of_memory),
        cmocka_unit_test(test_trace_table_full),
        cmocka_unit_test(test_objects_freed_by_both_paths),
        cmocka_unit_test(test_pushed_site),
        cmocka_unit_test(test_every_creation_has_site_and_type),
        cmocka_unit_test(test_collector_counts_unchanged_by_tracing),
        cmocka_unit_test(test_traced_bytes_exact_through_frees),
        cmocka_unit_test(test_fault_injector_with_tracing),
        cmocka_unit_test(test_inline_paths_match_a_model),
        cmocka_unit_test(test_tracing_toggled_under_churn_matches_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
