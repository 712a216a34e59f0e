/*
 * test_tools_trace.c — allocation tracing (tracemalloc): a planted leak is
 * found at its exact file:line; a diff names exactly the sites that grew;
 * traced bytes are the usable sizes of the traced blocks, with their peak;
 * blocks allocated before the start are untraced; objects carry their type;
 * realloc moves a trace; native tracebacks are shared; tracing state only
 * changes outside a collection; and the table stays within 16 bytes a block.
 * Every mode: pools, malloc, debug.
 */
#include "rh_test.h"

#include "internal.h" /* white box: the slow word */

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

/* The block table costs at most 16 bytes per traced live block while the
 * set grows (load kept above 8/15 of 8-byte entries), plus the traces, a
 * few kilobytes here; at most 32 while it shrinks (halved under 1/4). */
static void test_memory_per_block(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    assert_int_equal(rh_trace_start(h, 0), 0);
    size_t n = (size_t)rh_test_scaled(200000, 20000);
    void **v = malloc(n * sizeof *v);
    /* the fixed part: everything but the first table (1024 entries) */
    size_t fixed = rh_trace_get_memory(h) - 1024 * 8;
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
    /* freeing: the table shrinks, never above 32 bytes per live block, and
     * gives its memory back */
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
    assert_true(rh_trace_get_memory(h) - fixed < 2048 * 8); /* back under twice the first table */
    assert_int_equal(rh_trace_count(h), 0);
    free(v);
    rh_heap_destroy(h);
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
        cmocka_unit_test(test_objects_freed_by_both_paths),
        cmocka_unit_test(test_pushed_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
