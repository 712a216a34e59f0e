/*
 * test_reentry.c — public calls that allocate a container while they hold
 * state they read before: the allocation may run an automatic collection,
 * whose finalizers run arbitrary code (issue 11, item 3's audit). Each test
 * leaves an unreachable cycle with a finalizer in generation 0, arms the
 * collector to run at the next container allocation (threshold 1), and
 * makes the finalizer change what the call under test read.
 *
 * The memoryview cases are in test_buffer.c (test_slice_collect_*).
 */
#include "rh_test.h"

static rh_heap *new_heap(void) {
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    return h;
}

/* Builds an unreachable pair x <-> y of instances of cls in generation 0 and
 * arms an automatic collection at the next container allocation. */
static void arm_cycle(rh_heap *h, rh_object *cls) {
    rh_gc_disable(h);
    rh_gc_set_threshold(h, 1, 1000, 1000);
    rh_gc_collect(h, 2);
    rh_object *x = rh_instance_new(cls), *y = rh_instance_new(cls);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(rh_setattr(x, "y", y), 0);
    assert_int_equal(rh_setattr(y, "x", x), 0);
    rh_decref(x);
    rh_decref(y);
    rh_gc_enable(h); /* count[0] is above 1: the next container allocation collects */
}

/* ---------------------------------------------------------------------------
 * gc.garbage is created on first use; creating it is an allocation, and the
 * collection that allocation starts may itself need gc.garbage (for an
 * uncollectable cycle) and create it. The first list must be kept, not
 * replaced by (and leaked behind) the one the outer call made.
 * ------------------------------------------------------------------------- */

static int legacy_calls;
static void count_legacy(rh_object *self, void *data) {
    (void)self;
    (void)data;
    legacy_calls++;
}

static void test_garbage_list_created_during_collection(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_class_spec spec = {.name = "L", .legacy_del = count_legacy};
    rh_object *L = rh_class_new(h, &spec);
    assert_non_null(L);
    arm_cycle(h, L);
    /* py: a legacy pair x <-> y, then the first look at gc.garbage:
     * len(gc.garbage) == 2 once a collection has run. */
    rh_object *garbage = rh_gc_garbage(h);
    assert_non_null(garbage);
    assert_int_equal(rh_list_size(garbage), 2);
    assert_ptr_equal(rh_gc_garbage(h), garbage);
    rh_gc_set_threshold(h, 0, 0, 0);
    /* Break the cycle: both die by reference counting, tp_del runs for each. */
    rh_object *x = rh_list_get(garbage, 0);
    assert_int_equal(rh_delattr(x, rh_hasattr(x, "y") ? "y" : "x"), 0);
    assert_int_equal(rh_list_clear(garbage), 0);
    assert_int_equal(legacy_calls, 2);
    rh_decref(L);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_list_created_during_collection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
