/*
 * test_tuple.c — the tuple type: the immortal empty tuple, creation, access,
 * CPython 3.11's hash numbers, equality, repr (recursive too), sizes, the
 * untrack_check hook and out of memory. Expected figures come from python3
 * (3.11.7) as each comment says.
 */
#include "cont_test.h"

/* () is one immortal object (`() is ()` in CPython), untracked
 * (gc.is_tracked(()) is False), 40 bytes (sys.getsizeof(())), repr "()",
 * hash(()) == 5740354900026072187. */
static void test_empty_tuple(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *e = rh_tuple_new(h, 0);
    assert_non_null(e);
    assert_ptr_equal(rh_tuple_from(h, NULL, 0), e);
    assert_ptr_equal(rh_tuple_pack(h, 0), e);
    assert_true(rh_is_immortal(e));
    assert_true(rh_is_type(e, &rh_tuple_type));
    assert_int_equal(rh_tuple_size(e), 0);
    assert_false(rh_gc_is_tracked(e));
    assert_int_equal(rh_sizeof(e), 40);
    assert_string_equal(ct_repr(e), "()");
    assert_int_equal(rh_hash(e), INT64_C(5740354900026072187));
    rh_decref(e);
    rh_decref(e);
    assert_true(rh_is_immortal(e));
    assert_null(rh_tuple_get(e, 0)); /* IndexError; the empty tuple has no heap to record it */
    /* shared by every heap */
    rh_heap *h2 = ct_heap();
    assert_ptr_equal(rh_tuple_new(h2, 0), e);
    rh_heap_destroy(h2);
    rh_heap_destroy(h);
}

static void test_create_and_access(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *a = ct_int(h, 1000), *b = ct_int(h, 2000);
    rh_object *t = rh_tuple_pack(h, 2, a, b);
    assert_non_null(t);
    assert_int_equal(rh_refcount(t), 1);
    assert_int_equal(rh_refcount(a), 2); /* pack takes new references */
    assert_int_equal(rh_tuple_size(t), 2);
    assert_ptr_equal(rh_tuple_get(t, 0), a);
    assert_ptr_equal(rh_tuple_get(t, 1), b);
    assert_null(rh_tuple_get(t, 2));
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);
    assert_string_equal(ct_repr(t), "(1000, 2000)");
    rh_object *items[3] = {b, a, b};
    rh_object *u = rh_tuple_from(h, items, 3);
    assert_int_equal(rh_refcount(b), 4);
    assert_string_equal(ct_repr(u), "(2000, 1000, 2000)");
    rh_decref(u);
    assert_int_equal(rh_refcount(b), 2);

    /* new + set_steal: items are None until set */
    rh_object *v = rh_tuple_new(h, 2);
    assert_ptr_equal(rh_tuple_get(v, 0), rh_None);
    assert_string_equal(ct_repr(v), "(None, None)");
    rh_tuple_set_steal(v, 0, rh_newref(a));
    rh_tuple_set_steal(v, 1, ct_int(h, 5));
    assert_string_equal(ct_repr(v), "(1000, 5)");
    assert_int_equal(rh_refcount(a), 3);
    rh_decref(v);
    assert_int_equal(rh_refcount(a), 2);

    /* one-item repr has the trailing comma: repr((1,)) == "(1,)" */
    rh_object *one = rh_int(h, 1);
    rh_object *w = rh_tuple_pack(h, 1, one);
    assert_string_equal(ct_repr(w), "(1,)");
    rh_decref(w);
    rh_decref(t);
    assert_int_equal(rh_refcount(a), 1);
    rh_decref(a);
    rh_decref(b);
    rh_decref(one);
    rh_heap_destroy(h);
}

/* sys.getsizeof((1,)) == 48, ((1, 2)) == 56: 40 + 8 per item (python3),
 * 16 of them CPython's GC header: 16 fewer on a heap whose containers have
 * no collector's record (rh_test_cpython_size). */
static void test_sizes(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    for (size_t n = 1; n < 20; n++) {
        rh_object *t = rh_tuple_new(h, n);
        assert_int_equal(rh_sizeof(t), rh_test_cpython_size(h, 40 + 8 * n));
        rh_decref(t);
    }
    rh_heap_destroy(h);
}

/* CPython 3.11 (python3 -c 'print(hash((1, 2)))' ...):
 *   hash((1, 2))        == -3550055125485641917
 *   hash((1,))          == -6644214454873602895
 *   hash((-1,))         ==  8078679518589016365   (hash(-1) is -2)
 *   hash(((1, 2), 3))   == -333907151259015829 */
static void test_hash_matches_cpython(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2), *three = rh_int(h, 3), *m1 = rh_int(h, -1);
    rh_object *t12 = rh_tuple_pack(h, 2, one, two);
    rh_object *t1 = rh_tuple_pack(h, 1, one);
    rh_object *tm1 = rh_tuple_pack(h, 1, m1);
    rh_object *nested = rh_tuple_pack(h, 2, t12, three);
    assert_int_equal(rh_hash(t12), INT64_C(-3550055125485641917));
    assert_int_equal(rh_hash(t1), INT64_C(-6644214454873602895));
    assert_int_equal(rh_hash(tm1), INT64_C(8078679518589016365));
    assert_int_equal(rh_hash(nested), INT64_C(-333907151259015829));

    /* equal tuples hash equal: (1, 2) == (1.0, 2) */
    rh_object *onef = rh_float(h, 1.0);
    rh_object *t12f = rh_tuple_pack(h, 2, onef, two);
    assert_int_equal(rh_equal(t12, t12f), 1);
    assert_int_equal(rh_hash(t12), rh_hash(t12f));
    rh_object *t21 = rh_tuple_pack(h, 2, two, one);
    assert_int_equal(rh_equal(t12, t21), 0);
    assert_int_not_equal(rh_hash(t12), rh_hash(t21));
    assert_int_equal(rh_equal(t12, t1), 0);
    rh_object *l = rh_list_new(h, 0);
    assert_int_equal(rh_equal(t1, l), 0); /* (1,) != [] */

    /* a tuple holding a list is unhashable: hash(([],)) raises TypeError */
    rh_object *tl = rh_tuple_pack(h, 2, one, l);
    assert_int_equal(rh_hash(tl), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);

    rh_decref(tl);
    rh_decref(l);
    rh_decref(t21);
    rh_decref(t12f);
    rh_decref(onef);
    rh_decref(nested);
    rh_decref(tm1);
    rh_decref(t1);
    rh_decref(t12);
    rh_decref(one);
    rh_decref(two);
    rh_decref(three);
    rh_decref(m1);
    rh_heap_destroy(h);
}

/* x = ([],); x[0].append(x); repr(x) == "([(...)],)" (python3). */
static void test_recursive_repr(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 0);
    rh_object *x = rh_tuple_pack(h, 1, l);
    rh_list_append(l, x);
    assert_string_equal(ct_repr(x), "([(...)],)");
    assert_string_equal(ct_repr(l), "[([...],)]");
    ct_visits v = {l, 0, 0};
    assert_int_equal(rh_tuple_type.traverse(x, ct_count_visit, &v), 0);
    assert_int_equal(v.hits, 1);
    rh_list_clear(l);
    rh_decref(x);
    rh_decref(l);
    rh_heap_destroy(h);
}

/* The untrack_check hook (CPython 3.11's _PyTuple_MaybeUntrack rule): a
 * tuple may be untracked when no item may be tracked. Items that may be
 * tracked: any container but a tuple (so an untracked empty dict counts), and
 * tracked tuples. */
static void test_untrack_check(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    rh_object *one = rh_int(h, 1), *s = rh_str(h, "x");
    rh_object *atoms = rh_tuple_pack(h, 3, one, s, rh_None);
    assert_true(rh_gc_is_tracked(atoms)); /* tracked at creation */
    assert_int_not_equal(rh_tuple_type.untrack_check(atoms), 0);

    rh_object *l = rh_list_new(h, 0);
    rh_object *tl = rh_tuple_pack(h, 2, one, l);
    assert_int_equal(rh_tuple_type.untrack_check(tl), 0);

    rh_object *d = rh_dict_new(h);
    assert_false(rh_gc_is_tracked(d));
    rh_object *td = rh_tuple_pack(h, 1, d);
    assert_int_equal(rh_tuple_type.untrack_check(td), 0); /* ({},) stays tracked */

    rh_object *tt = rh_tuple_pack(h, 1, atoms); /* atoms is tracked now */
    assert_int_equal(rh_tuple_type.untrack_check(tt), 0);
    rh_gc_untrack(atoms);
    assert_int_not_equal(rh_tuple_type.untrack_check(tt), 0);

    /* storing a container into a tuple that was untracked while being filled
     * tracks it again */
    rh_object *f = rh_tuple_new(h, 2);
    rh_gc_untrack(f);
    rh_tuple_set_steal(f, 0, rh_newref(one));
    assert_false(rh_gc_is_tracked(f));
    rh_tuple_set_steal(f, 1, rh_list_new(h, 0));
    assert_true(rh_gc_is_tracked(f));

    rh_decref(f);
    rh_decref(tt);
    rh_decref(td);
    rh_decref(d);
    rh_decref(tl);
    rh_decref(l);
    rh_decref(atoms);
    rh_decref(one);
    rh_decref(s);
    rh_heap_destroy(h);
}

/* Out of memory: rh_tuple_new/pack/from fail cleanly and leak nothing. */
static void test_oom(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    rh_object *a = ct_int(h, 1000);
    size_t base = ct_in_use(h);
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_tuple_new(h, 3));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_tuple_pack(h, 2, a, a));
    rh_heap_fail_after(h, 1, false);
    rh_object *items[2] = {a, a};
    assert_null(rh_tuple_from(h, items, 2));
    assert_int_equal(rh_refcount(a), 1);
    assert_int_equal(ct_in_use(h), base);
    /* the empty tuple needs no memory */
    rh_heap_fail_after(h, 1, true);
    assert_non_null(rh_tuple_new(h, 0));
    rh_heap_fail_after(h, 0, false);
    rh_err_clear(h);
    /* too many items: an overflow error, not a crash */
    assert_null(rh_tuple_new(h, SIZE_MAX / 4));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_decref(a);
    rh_heap_destroy(h);
}

/* rh_tuple_set_steal past the end is a programming error: it stops the
 * program with a message instead of writing out of bounds. */
static void set_steal_out_of_range(void *arg) {
    (void)arg;
    rh_heap *h = rh_heap_new(NULL);
    rh_object *t = rh_tuple_new(h, 2);
    rh_tuple_set_steal(t, 2, rh_None);
}

static void test_set_steal_out_of_range_dies(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(set_steal_out_of_range, NULL, &c);
    rh_assert_child_died_saying(&c, "rh_tuple_set_steal: index 2 out of range");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_tuple),
        cmocka_unit_test(test_create_and_access),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_hash_matches_cpython),
        cmocka_unit_test(test_recursive_repr),
        cmocka_unit_test(test_untrack_check),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_set_steal_out_of_range_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
