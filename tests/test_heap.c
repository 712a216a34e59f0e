/*
 * test_heap.c — the heap's life cycle and error state: creation maps nothing,
 * destruction returns every byte, errors are per heap and formatted, the fault
 * injector makes every allocating call fail cleanly (nothing leaks), object
 * memory goes through the same door, and rh__fatal stops the program.
 */
#include "rh_test.h"

#include "internal.h" /* white box: rh__nomem, rh__err_type, rh__fatal, rh__obj_alloc */

static const rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};

static void test_lifecycle(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap_config cfg = {.mode = modes[m]};
        rh_heap *h = rh_heap_new(&cfg);
        assert_non_null(h);
        rh_heap_stats st;
        rh_heap_stats_get(h, &st);
        assert_int_equal(st.arenas_current, 0); /* nothing mapped yet */
        assert_int_equal(st.bytes_mapped, 0);
        assert_int_equal(st.mode, modes[m]);
        assert_int_equal(rh_err(h), RH_OK);
        rh_heap_destroy(h);
    }
    rh_heap_destroy(NULL); /* no-op */
    rh_heap_config bad = {.mode = (rh_mode)42};
    assert_null(rh_heap_new(&bad));
}

/* Destroying a heap with everything still allocated gives it all back. */
static void test_destroy_returns_everything(void **state) {
    (void)state;
    enum { N = 200000 };
    size_t rss0 = rh_process_rss();
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    for (int i = 0; i < N; i++) memset(rh_malloc(h, 1 + (size_t)i % 512), 1, 1 + (size_t)i % 512);
    for (int i = 0; i < 200; i++) memset(rh_malloc(h, 100000), 2, 100000);
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    /* N blocks of 1..512 bytes (mean 256.5 + rounding) + 200 * 100 kB */
    assert_true(st.bytes_in_use > (size_t)N * 256 + 200 * 100000);
    assert_int_equal(st.large_blocks, 200);
    size_t rss_full = rh_process_rss();
    size_t arena_bytes = st.arenas_current * RH_ARENA_SIZE;
    rh_heap_destroy(h);
    size_t rss_after = rh_process_rss();
    if (rss0) {
        assert_true(rss_full - rss0 > 60u << 20);
        /* The arenas are unmapped: RSS falls by (nearly) their size. The
         * system blocks go back to malloc, which may keep them (and ASan and
         * Valgrind quarantine them), so their return is shown by the leak
         * checkers of the sanitizer and Valgrind runs instead. */
        assert_true(rss_after + arena_bytes * 9 / 10 <= rss_full);
    }
}

static void test_errors(void **state) {
    (void)state;
    rh_heap *a = rh_heap_new(NULL), *b = rh_heap_new(NULL);
    assert_string_equal(rh_errmsg(a), "");
    rh_err_set(a, RH_EKEY, "key %d not found in %s", 7, "d");
    assert_int_equal(rh_err(a), RH_EKEY);
    assert_string_equal(rh_errmsg(a), "key 7 not found in d");
    assert_int_equal(rh_err(b), RH_OK); /* errors are per heap */
    assert_null(rh__nomem(b));
    assert_int_equal(rh_err(b), RH_ENOMEM);
    assert_string_equal(rh_errmsg(b), "out of memory");
    static const rh_type widget = {.name = "Widget", .basicsize = sizeof(rh_object)};
    rh_object o = {.rh_refcnt = RH_IMMORTAL, .rh_type = &widget};
    rh__err_type(a, "hash", &o);
    assert_int_equal(rh_err(a), RH_ETYPE);
    assert_string_equal(rh_errmsg(a), "hash: unsupported type 'Widget'");
    /* a long message is truncated, never overflowed */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rh_err_set(a, RH_EVALUE, "%s", big);
    assert_int_equal(strlen(rh_errmsg(a)), RH__ERRMSG_MAX - 1);
    rh_err_clear(a);
    assert_int_equal(rh_err(a), RH_OK);
    assert_string_equal(rh_errmsg(a), "");
    assert_string_equal(rh_error_name(RH_OK), "RH_OK");
    assert_string_equal(rh_error_name(RH_ENOMEM), "RH_ENOMEM");
    assert_string_equal(rh_error_name(RH_EZERODIV), "RH_EZERODIV");
    assert_string_equal(rh_error_name((rh_error)99), "RH_E?");
    rh_heap_destroy(a);
    rh_heap_destroy(b);
}

/* A workload that checks every allocation: under the injector, each failure
 * is handled, and freeing what succeeded leaves the heap empty. */
static void workload(rh_heap *h, int *failures) {
    void *keep[64] = {0};
    for (int i = 0; i < 64; i++) {
        size_t n = (size_t)(i * 97) % 3000;
        void *p = (i % 4 == 0) ? rh_calloc(h, 1, n) : rh_malloc(h, n);
        if (!p) {
            assert_int_equal(rh_err(h), RH_ENOMEM);
            rh_err_clear(h);
            (*failures)++;
            continue;
        }
        keep[i] = p;
        if (i % 3 == 0) {
            void *q = rh_realloc(h, p, n * 2 + 1);
            if (!q) {
                assert_int_equal(rh_err(h), RH_ENOMEM);
                rh_err_clear(h);
                (*failures)++;
            } else {
                keep[i] = q;
            }
        }
        if (i % 5 == 0) {
            void *o = rh__obj_alloc(h, 48, __FILE__, __LINE__);
            if (!o) {
                rh_err_clear(h);
                (*failures)++;
            } else {
                rh__obj_free(h, o, 16);
            }
        }
    }
    for (int i = 0; i < 64; i++) rh_free(h, keep[i]);
}

static void test_fault_injection_leaks_nothing(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap_config cfg = {.mode = modes[m]};
        rh_heap *h = rh_heap_new(&cfg);
        int failures = 0;
        uint64_t c0 = rh_heap_alloc_count(h);
        workload(h, &failures); /* count the allocations of one run */
        assert_int_equal(failures, 0);
        long total = (long)(rh_heap_alloc_count(h) - c0);
        assert_true(total > 64);
        for (long n = 1; n <= total; n++) {
            for (int persistent = 0; persistent < 2; persistent++) {
                rh_heap_fail_after(h, n, persistent);
                failures = 0;
                workload(h, &failures);
                rh_heap_fail_after(h, 0, false);
                assert_true(failures >= 1);
                if (!persistent) assert_int_equal(failures, 1);
                rh_heap_stats st;
                rh_heap_stats_get(h, &st);
                assert_int_equal(st.bytes_requested, 0); /* nothing leaked */
                if (modes[m] == RH_MODE_POOLS) assert_int_equal(st.bytes_in_use, 0);
            }
        }
        rh_heap_destroy(h);
    }
}

static void fatal_child(void *arg) {
    (void)arg;
    rh__fatal("something %s happened (%d)", "bad", 42);
}

static void test_fatal(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(fatal_child, NULL, &c);
    rh_assert_child_died_saying(&c, "refheap: fatal: something bad happened (42)\n");
    assert_false(c.exited);
    assert_int_equal(c.status, SIGABRT);
}

/* pools and malloc modes also refuse frees of foreign pointers and frees on
 * the wrong heap (they cost nothing to detect there) */
static void pools_foreign(void *arg) {
    rh_heap_config cfg = {.mode = *(rh_mode *)arg};
    rh_heap *h = rh_heap_new(&cfg);
    static int x;
    rh_free(h, &x);
}
static void pools_wrong_heap(void *arg) {
    rh_heap_config cfg = {.mode = *(rh_mode *)arg};
    rh_heap *a = rh_heap_new(&cfg), *b = rh_heap_new(&cfg);
    rh_free(b, rh_malloc(a, 10));
}

static void test_misuse_in_fast_modes(void **state) {
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        rh_mode mode = modes[m];
        rh_child c;
        rh_run_child(pools_foreign, &mode, &c);
        rh_assert_child_died_saying(&c, "free of a pointer refheap never returned");
        rh_run_child(pools_wrong_heap, &mode, &c);
        rh_assert_child_died_saying(&c, "free on the wrong heap");
    }
}

static void test_process_rss(void **state) {
    (void)state;
    size_t rss = rh_process_rss(), peak = rh_process_peak_rss();
    assert_true(rss > 0);
    assert_true(peak >= rss);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_destroy_returns_everything),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fault_injection_leaks_nothing),
        cmocka_unit_test(test_fatal),
        cmocka_unit_test(test_misuse_in_fast_modes),
        cmocka_unit_test(test_process_rss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
