/*
 * test_fuzz_regress.c — regressions found by the API-sequence fuzzer
 * (tests/fuzz), each written as a plain program over the public header.
 */
#include "rh_test.h"

/* Two equal lists nested 100000 deep: [[[...[]...]]]. CPython compares them
 * recursively and raises RecursionError ("maximum recursion depth exceeded
 * in comparison") at its recursion limit; rh_equal recursed once per level
 * on the C stack and overflowed it (found with chains of nested lists). It
 * must fail cleanly with RH_EOVERFLOW and leave both lists intact. */
static rh_object *nested_list(rh_heap *h, long depth) {
    rh_object *cur = rh_list_new(h, 0);
    assert_non_null(cur);
    for (long i = 0; i < depth; i++) {
        rh_object *n = rh_list_new(h, 0);
        assert_non_null(n);
        assert_int_equal(rh_list_append(n, cur), 0);
        rh_decref(cur);
        cur = n;
    }
    return cur;
}

static void test_equal_deeply_nested_lists(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    rh_object *a = nested_list(h, 100000), *b = nested_list(h, 100000);
    rh_err_clear(h);
    assert_int_equal(rh_equal(a, b), -1);
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    /* Shallow ones still compare by value. */
    rh_object *c = nested_list(h, 10), *d = nested_list(h, 10);
    rh_err_clear(h);
    assert_int_equal(rh_equal(c, d), 1);
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_list_size(a), 1);
    rh_decref(a);
    rh_decref(b);
    rh_decref(c);
    rh_decref(d);
    rh_heap_destroy(h);
}

/* In debug mode, RH_GC_DEBUG_VERIFY also walks the untracked containers
 * (to count the references they hold). A collection started by a container's
 * own allocation reached the new, still empty set, whose traverse read its
 * table through a NULL pointer (found with a weak set created while a
 * collection was due). Every container type is created many times with the
 * collector due at each creation. */
static void silent(const char *line, void *data) {
    (void)line;
    (void)data;
}

static void test_verify_during_creation(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    rh_gc_set_sink(h, silent, NULL);
    rh_gc_set_debug(h, RH_GC_DEBUG_VERIFY);
    rh_gc_set_threshold(h, 1, 1, 1);
    rh_class_spec spec = {.name = "Node"};
    rh_object *cls = rh_class_new(h, &spec);
    assert_non_null(cls);
    rh_object *keep = rh_list_new(h, 0);
    assert_non_null(keep);
    for (int i = 0; i < 200; i++) {
        rh_object *made[] = {rh_set_new(h), rh_dict_new(h), rh_list_new(h, 3),
                             rh_weakset_new(h), rh_weakkeydict_new(h), rh_weakvaluedict_new(h),
                             rh_instance_new(cls), rh_class_new(h, &spec)};
        for (size_t k = 0; k < sizeof made / sizeof made[0]; k++) {
            assert_non_null(made[k]);
            if (i % 7 == 0) assert_int_equal(rh_list_append(keep, made[k]), 0);
            rh_decref(made[k]);
        }
    }
    assert_int_equal(rh_gc_verify(h), 0);
    rh_decref(keep);
    rh_decref(cls);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_deeply_nested_lists),
        cmocka_unit_test(test_verify_during_creation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
