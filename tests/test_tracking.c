/*
 * test_tracking.c — which containers the collector tracks, before and after
 * collections, compared with CPython 3.11 (REFERENCE.md §3 and §7). Each
 * figure was measured with python3 3.11.7, building the objects at run time
 * (literals of constants are folded into untracked constants by the compiler):
 *
 *   def t(*a): return a
 *   def show(o): print(gc.is_tracked(o), end=' '); gc.collect(); print(gc.is_tracked(o), end=' ');
 *                gc.collect(); print(gc.is_tracked(o))
 *   show({})            False False False      show({'a': 1})      False False False
 *   show({'a': []})     True  True  True       show({'a': {}})     True  True  True
 *   show(t(1, 2))       True  False False      show(t([]))         True  True  True
 *   show(t({}))         True  True  True       show(t(t(1, 2)))    True  True  False
 *   show(t())           False False False      show(set())         True  True  True
 *   show([])            True  True  True       show(t(t(t(1))))    True  True  True (settles later)
 *   d = {}; d['a'] = 1; d['b'] = []; del d['b']  → True; gc.collect(1) → True;
 *   gc.collect() → False
 *   d = {}; d['x'] = {}            → True (an untracked dict still "may be tracked")
 *   tt = t(1, 2); gc.collect(); d = {}; d['x'] = tt   → False
 */
#include "cont_test.h"

static rh_object *tup(rh_heap *h, size_t n, rh_object *a, rh_object *b) {
    rh_object *t = n == 0 ? rh_tuple_new(h, 0) : n == 1 ? rh_tuple_pack(h, 1, a) : rh_tuple_pack(h, 2, a, b);
    assert_non_null(t);
    return t;
}

static void full(rh_heap *h) { assert_true(rh_gc_collect(h, 2) >= 0); }

static void test_cpython_table(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2);

    rh_object *d_empty = rh_dict_new(h);
    rh_object *d_atom = rh_dict_new(h);
    rh_dict_set_str(d_atom, "a", one);
    rh_object *d_list = rh_dict_new(h);
    rh_object *l = rh_list_new(h, 0);
    rh_dict_set_str(d_list, "a", l);
    rh_object *d_dict = rh_dict_new(h);
    rh_object *inner = rh_dict_new(h);
    rh_dict_set_str(d_dict, "a", inner);
    rh_object *t_atoms = tup(h, 2, one, two);
    rh_object *t_list = tup(h, 1, l, NULL);
    rh_object *t_dict = tup(h, 1, inner, NULL);
    rh_object *t_inner = tup(h, 2, one, two);
    rh_object *t_nested = tup(h, 1, t_inner, NULL);
    rh_object *t_empty = tup(h, 0, NULL, NULL);
    rh_object *s = rh_set_new(h);
    rh_object *l2 = rh_list_new(h, 0);

    /* before any collection */
    assert_false(rh_gc_is_tracked(d_empty));
    assert_false(rh_gc_is_tracked(d_atom));
    assert_true(rh_gc_is_tracked(d_list));
    assert_true(rh_gc_is_tracked(d_dict));
    assert_true(rh_gc_is_tracked(t_atoms));
    assert_true(rh_gc_is_tracked(t_list));
    assert_true(rh_gc_is_tracked(t_dict));
    assert_true(rh_gc_is_tracked(t_nested));
    assert_false(rh_gc_is_tracked(t_empty));
    assert_true(rh_gc_is_tracked(s));
    assert_true(rh_gc_is_tracked(l2));

    full(h);
    assert_false(rh_gc_is_tracked(d_empty));
    assert_false(rh_gc_is_tracked(d_atom));
    assert_true(rh_gc_is_tracked(d_list));
    assert_true(rh_gc_is_tracked(d_dict));
    assert_false(rh_gc_is_tracked(t_atoms));
    assert_true(rh_gc_is_tracked(t_list));
    assert_true(rh_gc_is_tracked(t_dict)); /* a tuple holding any dict is never untracked */
    assert_false(rh_gc_is_tracked(t_inner));
    assert_true(rh_gc_is_tracked(s));
    assert_true(rh_gc_is_tracked(l2));
    /* t(t(1, 2)): CPython needs two collections; the order in which the
     * collector visits survivors decides whether one is enough. */
    full(h);
    assert_false(rh_gc_is_tracked(t_nested));
    assert_true(rh_gc_is_tracked(t_dict));
    assert_true(rh_gc_is_tracked(d_dict));
    assert_false(rh_gc_is_tracked(inner));

    rh_object *objs[] = {d_empty, d_atom, d_list, l, d_dict, inner, t_atoms, t_list, t_dict,
                         t_inner, t_nested, t_empty, s, l2, one, two};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* t(t(t(1))) settles after at most three collections (CPython: still True
 * after two; each collection can untrack one more level). */
static void test_nested_tuples_settle(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *one = rh_int(h, 1);
    rh_object *a = tup(h, 1, one, NULL);
    rh_object *b = tup(h, 1, a, NULL);
    rh_object *c = tup(h, 1, b, NULL);
    rh_decref(a);
    rh_decref(b);
    assert_true(rh_gc_is_tracked(c));
    full(h);
    full(h);
    full(h);
    assert_false(rh_gc_is_tracked(c));
    rh_decref(c);
    rh_decref(one);
    rh_heap_destroy(h);
}

/* A dict stays tracked after its last container value is removed, until a
 * full collection (young collections leave it alone: RH_TYPE_UNTRACK_AT_FULL). */
static void test_dict_untracked_only_at_full(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *one = rh_int(h, 1);
    rh_object *d = rh_dict_new(h);
    rh_dict_set_str(d, "a", one);
    rh_object *l = rh_list_new(h, 0);
    rh_dict_set_str(d, "b", l);
    assert_true(rh_gc_is_tracked(d));
    rh_dict_del_str(d, "b");
    assert_true(rh_gc_is_tracked(d));
    assert_true(rh_gc_collect(h, 0) >= 0);
    assert_true(rh_gc_is_tracked(d));
    assert_true(rh_gc_collect(h, 1) >= 0);
    assert_true(rh_gc_is_tracked(d));
    full(h);
    assert_false(rh_gc_is_tracked(d));
    /* storing a container tracks it again */
    rh_dict_set_str(d, "c", l);
    assert_true(rh_gc_is_tracked(d));
    rh_decref(d);
    rh_decref(l);
    rh_decref(one);
    rh_heap_destroy(h);
}

/* d['x'] = {} tracks d; d['x'] = tt where tt was untracked by a collection
 * does not. */
static void test_dict_of_untracked(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2);
    rh_object *d = rh_dict_new(h), *e = rh_dict_new(h);
    rh_dict_set_str(d, "x", e);
    assert_true(rh_gc_is_tracked(d));
    assert_false(rh_gc_is_tracked(e));
    full(h);
    assert_true(rh_gc_is_tracked(d)); /* e may be tracked: d keeps being tracked */
    rh_object *tt = tup(h, 2, one, two);
    full(h);
    assert_false(rh_gc_is_tracked(tt));
    rh_object *d2 = rh_dict_new(h);
    rh_dict_set_str(d2, "x", tt);
    assert_false(rh_gc_is_tracked(d2));
    /* a set holding only atoms is still tracked: sets are never untracked */
    rh_object *s = rh_set_new(h);
    rh_set_add(s, tt);
    full(h);
    assert_true(rh_gc_is_tracked(s));
    rh_object *objs[] = {d, e, tt, d2, s, one, two};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* Self-cycles are created, traversed and survive while referenced; the
 * collector frees them once dropped (l.append(l) → collect() == 1 and
 * d['self'] = d → 1 in CPython; the collector's own tests cover more). */
static void test_self_cycles(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 0);
    rh_list_append(l, l);
    full(h);
    assert_true(rh_gc_is_tracked(l));
    assert_int_equal(rh_list_size(l), 1);
    rh_decref(l);
    assert_int_equal(rh_gc_collect(h, 2), 1);
    rh_object *d = rh_dict_new(h);
    rh_dict_set_str(d, "self", d);
    rh_decref(d);
    assert_int_equal(rh_gc_collect(h, 2), 1);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpython_table),
        cmocka_unit_test(test_nested_tuples_settle),
        cmocka_unit_test(test_dict_untracked_only_at_full),
        cmocka_unit_test(test_dict_of_untracked),
        cmocka_unit_test(test_self_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
