/* test_vars.c — rh_vars, the vars() analogue, on plain and slotted instances. */
#include "rh_test.h"

static void test_vars_plain(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    rh_class_spec spec = {.name = "P"};
    rh_object *P = rh_class_new(h, &spec);
    rh_object *o = rh_instance_new(P);
    rh_object *d = rh_vars(o);
    assert_non_null(d);
    assert_int_equal(rh_dict_size(d), 0); /* vars(P()) == {} */
    rh_decref(d);
    rh_object *one = rh_int(h, 1);
    for (int i = 0; i < 12; i++) { /* past the scanned table: a hashed one */
        char name[8];
        snprintf(name, sizeof name, "a%d", i);
        assert_int_equal(rh_setattr(o, name, i == 3 ? o : one), 0);
    }
    d = rh_vars(o);
    assert_int_equal(rh_dict_size(d), 12);
    assert_ptr_equal(rh_dict_get_str(d, "a3"), o); /* values are the objects themselves */
    assert_ptr_equal(rh_dict_get_str(d, "a11"), one);
    uint32_t rc = rh_refcount(o);
    rh_decref(d);
    assert_int_equal(rh_refcount(o), rc - 1); /* the dict held its own reference */
    rh_delattr(o, "a3");
    rh_decref(o);
    rh_decref(P);
    rh_heap_destroy(h);
}

static void test_vars_slotted_and_errors(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    static const char *const xy[] = {"x", "y"};
    rh_class_spec spec = {.name = "S", .slots = xy, .nslots = 2};
    rh_object *S = rh_class_new(h, &spec);
    rh_object *o = rh_instance_new(S);
    rh_setattr(o, "y", rh_True);
    rh_object *d = rh_vars(o);
    assert_int_equal(rh_dict_size(d), 1); /* only the slot that is set */
    assert_ptr_equal(rh_dict_get_str(d, "y"), rh_True);
    assert_null(rh_dict_get_str(d, "x"));
    rh_decref(d);
    rh_object *l = rh_list_new(h, 0);
    assert_null(rh_vars(l));
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    rh_heap_fail_after(h, 1, true); /* the dict cannot be made: a clean error */
    assert_null(rh_vars(o));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_heap_fail_after(h, 0, false);
    rh_decref(l);
    rh_decref(o);
    rh_decref(S);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vars_plain),
        cmocka_unit_test(test_vars_slotted_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
