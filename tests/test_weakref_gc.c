/*
 * test_weakref_gc.c — weak references meeting the cycle collector
 * (REFERENCE.md §3 step 6 and §7).
 *
 * Figures come from python3.11 with the equivalent Python program (classes
 * with __slots__ so that no per-instance dict is counted) or, where the C
 * port has a different graph (a C callback is not an object), from counting
 * the objects of the port: each node and each weakref object is one.
 */
#include "weak_testutil.h"

/* An outside weakref w, its callback logging into log, to garbage: no
 * callback before the collection; the collection frees `freed` objects and
 * calls back once, for w, which is dead after; a second collection frees
 * nothing and calls nothing. */
static void assert_one_callback_collection(rh_heap *h, const cblog *log, rh_object *w, intptr_t freed) {
    assert_int_equal(log->n, 0);
    assert_int_equal(rh_gc_collect(h, 2), freed);
    assert_int_equal(log->n, 1);
    assert_ptr_equal(log->wrs[0], w);
    assert_false(rh_weakref_alive(w));
    assert_int_equal(rh_gc_collect(h, 2), 0);
    assert_int_equal(log->n, 1);
}

/* test_callback_in_cycle analogue measured with python3.11:
 *   a.b = b; b.a = a; w = ref(a, cb); del a, b; gc.collect() -> 2, cb once,
 *   w() is None afterwards. */
static void test_outside_weakref_callback(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg arg = {&log, 1};
    rh_object *a, *b;
    node_pair(h, 1, 2, &a, &b);
    rh_object *w = rh_weakref_new(a, log_cb, &arg);
    rh_decref(a);
    rh_decref(b);
    assert_true(rh_weakref_alive(w)); /* del is not enough */
    assert_one_callback_collection(h, &log, w, 2);
    assert_int_equal(node_destroyed, 2);
    rh_decref(w);
    rh_heap_destroy(h);
}

/* A weakref with a callback inside the garbage never calls back
 * (python3.11: a.b = b; b.a = a; a.w = ref(b, cb); del a, b -> cb never runs;
 * collect() == 4 there because the lambda is garbage too; the port has no
 * callback object: a, b and the weakref -> 3). */
static void test_weakref_inside_garbage(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg arg = {&log, 1};
    rh_object *a, *b;
    node_pair(h, 1, 2, &a, &b);
    rh_object *w = rh_weakref_new(b, log_cb, &arg);
    node_set(a, 1, w);
    rh_decref(w);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(h, 2), 3);
    assert_int_equal(log.n, 0);
    rh_heap_destroy(h);
}

/* REFERENCE.md §5: inside callbacks run during a collection every weakref
 * to garbage is already dead, and rh_gc_collect returns 0 there. */
#define NGARB 4
static rh_object *garb_refs[NGARB * 2];
static int garb_calls;
static intptr_t garb_nested;
static void garb_cb(rh_object *wr, void *data) {
    (void)wr;
    for (int i = 0; i < NGARB * 2; i++) assert_false(rh_weakref_alive(garb_refs[i]));
    garb_nested = rh_gc_collect((rh_heap *)data, 2);
    garb_calls++;
}
static void test_all_dead_inside_callbacks(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    garb_calls = 0;
    garb_nested = -1;
    for (int i = 0; i < NGARB; i++) {
        rh_object *a, *b;
        node_pair(h, 2 * i, 2 * i + 1, &a, &b);
        garb_refs[2 * i] = rh_weakref_new(a, garb_cb, h);
        garb_refs[2 * i + 1] = rh_weakref_new(b, NULL, NULL);
        rh_decref(a);
        rh_decref(b);
    }
    assert_int_equal(rh_gc_collect(h, 2), 2 * NGARB);
    assert_int_equal(garb_calls, NGARB);
    assert_int_equal(garb_nested, 0);
    for (int i = 0; i < NGARB * 2; i++) rh_decref(garb_refs[i]);
    rh_heap_destroy(h);
}

/* §7: during a collection weakrefs to the garbage are cleared before any
 * finalizer runs, so a resurrected object survives with its old weakrefs
 * dead. python3.11 (class R with a resurrecting __del__, a.a = b; b.a = a;
 * w = ref(a, cb)): collect() == 0, cb ran, w() is None, both objects alive;
 * after dropping them again: collect() == 2, no second __del__. */
static void test_resurrecting_cycle(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg arg = {&log, 1};
    node_resurrect_into = rh_list_new(h, 0);
    rh_object *a, *b;
    node_pair_t(h, &node_fin_type, 1, 2, &a, &b);
    rh_object *w = rh_weakref_new(a, log_cb, &arg);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    assert_int_equal(log.n, 1);
    assert_false(rh_weakref_alive(w));
    assert_int_equal(node_finalized, 2);
    assert_int_equal(rh_list_size(node_resurrect_into), 2);
    assert_int_equal(node_destroyed, 0);
    /* The resurrected object is weakrefable again: a new basic ref works. */
    rh_object *w2 = rh_weakref_new(a, NULL, NULL);
    assert_ptr_not_equal(w2, w);
    assert_true(rh_weakref_alive(w2));
    rh_list_clear(node_resurrect_into);
    assert_int_equal(rh_gc_collect(h, 2), 2);
    assert_int_equal(node_finalized, 2);
    assert_int_equal(node_destroyed, 2);
    assert_false(rh_weakref_alive(w2));
    assert_int_equal(log.n, 1);
    rh_decref(node_resurrect_into);
    node_resurrect_into = NULL;
    rh_decref(w);
    rh_decref(w2);
    rh_heap_destroy(h);
}

/* test_callback_in_cycle_1: I holds J strongly and I.wr = ref(J, I.acallback);
 * all three are trash. The callback (which reads I) must not run. Port: I and
 * J nodes (J in a self-cycle, as a class is), the weakref in I's slot:
 * garbage = I, J, wr -> 3. */
static void touch_cb(rh_object *wr, void *data) {
    (void)wr;
    node *i = data;
    (void)i->slot[0]->rh_refcnt; /* would be a use-after-free under ASan */
    fail_msg("callback of a weakref in the garbage ran");
}
static void test_callback_in_cycle_1(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *I = node_new(h, 1), *J = node_new(h, 2);
    node_set(J, 0, J);
    node_set(I, 0, J);
    rh_object *wr = rh_weakref_new(J, touch_cb, I);
    node_set(I, 1, wr);
    node_set(I, 2, I);
    rh_decref(wr);
    rh_decref(I);
    rh_decref(J);
    assert_int_equal(rh_gc_collect(h, 2), 3);
    assert_int_equal(node_destroyed, 2);
    rh_heap_destroy(h);
}

/* test_callback_in_cycle_resurrection: c1 <-> c2, c1.wr = ref(c2, c1.cb),
 * c2.wr = ref(c1, c2.cb), both refer to their "class" C; an outside
 * wr = ref(C, C_went_away). python3.11: alist == ["C went away"], wr() is None,
 * a second collect finds nothing. Port garbage: c1, c2, C, c1.wr, c2.wr -> 5. */
static void resurrect_cb(rh_object *wr, void *data) {
    (void)wr;
    (void)data;
    fail_msg("a callback of a weakref in the garbage ran");
}
static void test_callback_in_cycle_resurrection(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg arg = {&log, 7};
    rh_object *C = node_new(h, 0);
    node_set(C, 0, C);
    rh_object *c1, *c2;
    node_pair(h, 1, 2, &c1, &c2);
    node_set(c1, 2, C);
    node_set(c2, 2, C);
    rh_object *w1 = rh_weakref_new(c2, resurrect_cb, c1);
    rh_object *w2 = rh_weakref_new(c1, resurrect_cb, c2);
    node_set(c1, 1, w1);
    node_set(c2, 1, w2);
    rh_decref(w1);
    rh_decref(w2);
    rh_object *wr = rh_weakref_new(C, log_cb, &arg);
    rh_decref(c1);
    rh_decref(c2);
    rh_decref(C);
    assert_one_callback_collection(h, &log, wr, 5);
    assert_int_equal(log.tags[0], 7);
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* test_callbacks_on_callback: c <-> d; `callback` (the bound method c.cb,
 * which holds c) is referenced by c (in Python through c.wr's callback);
 * c.wr = ref(d, callback), d.wr = ref(callback, d.cb) are trash and never
 * call back; external_wr = ref(callback, safe_callback) is not trash, so
 * safe_callback runs once (python3.11: alist == ["safe_callback called"],
 * external_wr() is None, a second collect runs nothing). Port garbage:
 * c, d, m (the bound method), c.wr, d.wr -> 5. */
static void test_callbacks_on_callback(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg safe = {&log, 1};
    rh_object *c, *d;
    node_pair(h, 1, 2, &c, &d);
    rh_object *m = node_new(h, 3);
    node_set(m, 0, c); /* a bound method holds its self */
    node_set(c, 2, m); /* c.wr's callback is m: c reaches m */
    rh_object *cwr = rh_weakref_new(d, resurrect_cb, m);
    rh_object *dwr = rh_weakref_new(m, resurrect_cb, d);
    node_set(c, 1, cwr);
    node_set(d, 1, dwr);
    rh_decref(cwr);
    rh_decref(dwr);
    rh_object *external_wr = rh_weakref_new(m, log_cb, &safe);
    rh_object *got = rh_weakref_get(external_wr);
    assert_ptr_equal(got, m);
    rh_decref(got);
    rh_decref(m);
    rh_decref(c);
    rh_decref(d);
    assert_one_callback_collection(h, &log, external_wr, 5);
    rh_decref(external_wr);
    rh_heap_destroy(h);
}

/* A callback run by the collector may drop the last reference to its own
 * weakref: the weakref is freed and counted by collect() (CPython's
 * handle_weakrefs counts it). Garbage a, b + the freed weakref -> 3. */
static void drop_self_cb(rh_object *wr, void *data) {
    rh_object **slot = data;
    assert_ptr_equal(*slot, wr);
    rh_decref(wr);
    *slot = NULL;
}
static void test_callback_frees_own_weakref_in_collection(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *a, *b;
    node_pair(h, 1, 2, &a, &b);
    static rh_object *w;
    w = rh_weakref_new(a, drop_self_cb, &w);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(h, 2), 3);
    assert_null(w);
    rh_heap_destroy(h);
}

/* REFERENCE.md §7: a weak-value dictionary entry is itself a weakref with a
 * callback; when its value, a two-object cycle, dies in a collection the
 * internal weakref is freed in the same collection and counted. python3.11:
 * w = WeakValueDictionary(); w['k'] = a (a <-> b); del a, b; gc.collect() -> 3,
 * len(w) == 0. Same for WeakKeyDictionary and WeakSet (measured: 3 and 3). */
static void test_weak_containers_cyclic_values(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    for (int kind = 0; kind < 3; kind++) {
        rh_object *cont = kind == 0 ? rh_weakvaluedict_new(h)
                        : kind == 1 ? rh_weakkeydict_new(h) : rh_weakset_new(h);
        rh_object *a, *b;
        node_pair(h, 1, 2, &a, &b);
        rh_object *k = rh_str(h, "k");
        if (kind == 0) assert_int_equal(rh_weakvaluedict_set(cont, k, a), 0);
        if (kind == 1) assert_int_equal(rh_weakkeydict_set(cont, a, k), 0);
        if (kind == 2) assert_int_equal(rh_weakset_add(cont, a), 0);
        rh_decref(k);
        rh_decref(a);
        rh_decref(b);
        size_t n = kind == 0 ? rh_weakvaluedict_size(cont)
                 : kind == 1 ? rh_weakkeydict_size(cont) : rh_weakset_size(cont);
        assert_int_equal(n, 1); /* a cycle's values leave only at a collection */
        assert_int_equal(rh_gc_verify(h), 0); /* traverse matches the counts */
        assert_int_equal(rh_gc_collect(h, 2), 3);
        n = kind == 0 ? rh_weakvaluedict_size(cont)
          : kind == 1 ? rh_weakkeydict_size(cont) : rh_weakset_size(cont);
        assert_int_equal(n, 0);
        rh_decref(cont);
    }
    rh_heap_destroy(h);
}

/* A weak container that is itself garbage, together with its values: nothing
 * calls back into it. Garbage: the container, its dict, its weakref to
 * itself (CPython's selfref), a, b, the entry weakref (the key is a string:
 * not tracked) -> 6. */
static void test_weak_container_in_garbage(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *cont = rh_weakvaluedict_new(h);
    rh_object *a = node_new(h, 1), *b = node_new(h, 2);
    node_set(a, 0, b);
    node_set(b, 0, cont);
    node_set(a, 1, a);
    rh_object *k = rh_str(h, "k");
    assert_int_equal(rh_weakvaluedict_set(cont, k, a), 0);
    rh_decref(k);
    rh_decref(a);
    rh_decref(b);
    rh_decref(cont);
    assert_int_equal(rh_gc_collect(h, 2), 6);
    assert_int_equal(node_destroyed, 2);
    rh_heap_destroy(h);
}

/* Automatic collections at every allocation (threshold 1) while callbacks
 * allocate containers and make weakrefs: nothing crashes, every callback of
 * a weakref that outlives its cycle runs exactly once. */
typedef struct storm {
    rh_heap *h;
    int calls;
} storm;
static void storm_cb(rh_object *wr, void *data) {
    (void)wr;
    storm *s = data;
    s->calls++;
    for (int i = 0; i < 3; i++) {
        rh_object *n = node_new(s->h, 1000 + i);
        node_set(n, 0, n); /* more garbage for the next collections */
        rh_object *w = rh_weakref_new(n, noop_cb, NULL);
        rh_decref(w);
        rh_decref(n);
    }
}
static void test_threshold_one_storm(void **state) {
    (void)state;
    enum { NCYC = 300 };
    rh_heap *h = quiet_heap();
    rh_gc_set_threshold(h, 1, 1, 1);
    rh_gc_enable(h);
    storm s = {.h = h};
    static rh_object *refs[NCYC];
    for (int i = 0; i < NCYC; i++) {
        rh_object *a, *b;
        node_pair(h, 2 * i, 2 * i + 1, &a, &b);
        refs[i] = rh_weakref_new(b, storm_cb, &s);
        assert_non_null(refs[i]);
        rh_decref(a);
        rh_decref(b);
    }
    rh_gc_collect(h, 2);
    assert_int_equal(s.calls, NCYC);
    for (int i = 0; i < NCYC; i++) {
        assert_false(rh_weakref_alive(refs[i]));
        rh_decref(refs[i]);
    }
    rh_gc_collect(h, 2);
    assert_int_equal(s.calls, NCYC);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outside_weakref_callback),
        cmocka_unit_test(test_weakref_inside_garbage),
        cmocka_unit_test(test_all_dead_inside_callbacks),
        cmocka_unit_test(test_resurrecting_cycle),
        cmocka_unit_test(test_callback_in_cycle_1),
        cmocka_unit_test(test_callback_in_cycle_resurrection),
        cmocka_unit_test(test_callbacks_on_callback),
        cmocka_unit_test(test_callback_frees_own_weakref_in_collection),
        cmocka_unit_test(test_weak_containers_cyclic_values),
        cmocka_unit_test(test_weak_container_in_garbage),
        cmocka_unit_test(test_threshold_one_storm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
