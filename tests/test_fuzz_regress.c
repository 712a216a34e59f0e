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

/* A weak reference whose count reaches 0 deep in a chain of deaths (past the
 * trashcan's nesting bound) is deferred, and stayed linked in its referent's
 * list until the deferred list was drained. Meanwhile a finalizer deferred
 * beside it asked for a weak reference to the same referent: the shared
 * basic ref found was the dying one, and rh_weakref_new took a reference to
 * an object whose count is 0 (a fatal "incref ... being destroyed"; found
 * with a chain of instances over a weakref). rh_weakref_list and
 * rh_weakref_count saw it too. In CPython a weakref's dealloc clears it at
 * once (it has no trashcan), so the finalizer gets a new live weakref.
 * Here: 49 nested lists whose innermost holds [F, W], W the basic weakref
 * to X and F an instance whose finalizer asks for X's basic weakref. */
static rh_object *dying_wr_target;
static int dying_wr_calls;
static void ask_weakref(rh_object *self, void *data) {
    (void)self;
    (void)data;
    dying_wr_calls++;
    assert_int_equal(rh_weakref_count(dying_wr_target), 0); /* W is dead */
    rh_object *wr = rh_weakref_new(dying_wr_target, NULL, NULL);
    assert_non_null(wr);
    assert_int_equal(rh_refcount(wr), 1); /* a new one, not the dying W */
    rh_object *g = rh_weakref_get(wr);
    assert_ptr_equal(g, dying_wr_target);
    rh_decref(g);
    rh_object *l = rh_weakref_list(dying_wr_target);
    assert_non_null(l);
    assert_int_equal(rh_list_size(l), 1);
    rh_decref(l);
    rh_decref(wr);
}

static void test_weakref_deferred_by_trashcan(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    rh_class_spec xs = {.name = "X"}, fs = {.name = "F", .finalizer = ask_weakref};
    rh_object *xc = rh_class_new(h, &xs), *fc = rh_class_new(h, &fs);
    assert_non_null(xc);
    assert_non_null(fc);
    rh_object *x = rh_instance_new(xc);
    assert_non_null(x);
    dying_wr_target = x;
    dying_wr_calls = 0;
    rh_object *w = rh_weakref_new(x, NULL, NULL), *f = rh_instance_new(fc);
    assert_non_null(w);
    assert_non_null(f);
    rh_object *cur = rh_list_new(h, 0);
    assert_non_null(cur);
    assert_int_equal(rh_list_append(cur, f), 0);
    assert_int_equal(rh_list_append(cur, w), 0);
    rh_decref(w);
    rh_decref(f);
    /* Nested 49 deep, the inner list dies at depth 50 (not deferred: the
     * bound is 50, CPython's too) and its items past it: W then F (a list
     * drops its items from the end), both deferred; the drain pops F first. */
    for (int i = 0; i < 49; i++) {
        rh_object *n = rh_list_new(h, 0);
        assert_non_null(n);
        assert_int_equal(rh_list_append(n, cur), 0);
        rh_decref(cur);
        cur = n;
    }
    rh_decref(cur);
    assert_int_equal(dying_wr_calls, 1);
    assert_int_equal(rh_weakref_count(x), 0);
    rh_decref(x);
    rh_decref(xc);
    rh_decref(fc);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_deeply_nested_lists),
        cmocka_unit_test(test_verify_during_creation),
        cmocka_unit_test(test_weakref_deferred_by_trashcan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
