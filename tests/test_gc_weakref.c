/*
 * test_gc_weakref.c — weak references meeting the cycle collector
 * (REFERENCE.md §3 step 6 and §7), ported from CPython 3.11's test_gc.py
 * (test_bug1055820b, test_bug21435-style callbacks) and test_weakref.py
 * (callbacks in cycles). Figures from python3 3.11.7 with __slots__ classes
 * ("py: ..." in the comments).
 */
#include "gc_nodes.h"

/* ---------------------------------------------------------------------------
 * py test_bug1055820b: two self-cycles C(i), each with a weakref whose
 * callback reads every weakref: after gc.collect() -> 2 the callbacks ran and
 * saw [None, None]: every weakref to the garbage was dead before any callback.
 * ------------------------------------------------------------------------- */
static rh_object *wrs[4];
static int nwrs;
static int ouch_calls, ouch_alive;

static void ouch_cb(rh_object *wr, void *data) {
    (void)wr;
    (void)data;
    ouch_calls++;
    for (int i = 0; i < nwrs; i++) {
        rh_object *o = rh_weakref_get(wrs[i]);
        if (o) {
            ouch_alive++;
            rh_decref(o);
        }
    }
}

static void test_bug1055820b(void **state) {
    (void)state;
    ouch_calls = ouch_alive = 0;
    nwrs = 2;
    rh_object *cs[2];
    for (int i = 0; i < 2; i++) {
        cs[i] = node_new(H, &node_type, i);
        node_set(cs[i], 0, cs[i]);
        wrs[i] = rh_weakref_new(cs[i], ouch_cb, NULL);
    }
    rh_gc_collect(H, 2);
    assert_int_equal(ouch_calls, 0);
    rh_decref(cs[0]);
    rh_decref(cs[1]);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(ouch_calls, 2);
    assert_int_equal(ouch_alive, 0);
    rh_decref(wrs[0]);
    rh_decref(wrs[1]);
}

/* py: a <-> b with w = weakref.ref(a, cb) held outside: gc.collect() -> 2,
 * cb ran once, w() is None afterwards. */
static int cb_calls;
static rh_object *cb_seen;
static void count_cb(rh_object *wr, void *data) {
    (void)data;
    cb_calls++;
    cb_seen = wr;
}

static void test_callback_outside_garbage(void **state) {
    (void)state;
    cb_calls = 0;
    rh_object *a, *b;
    node_new_pair(H, &node_type, 1, 2, &a, &b);
    rh_object *w = rh_weakref_new(a, count_cb, NULL);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(cb_calls, 1);
    assert_ptr_equal(cb_seen, w);
    assert_false(rh_weakref_alive(w));
    assert_null(rh_weakref_get(w));
    assert_true(in_generation(2, w)); /* CPython moves it to the old generation */
    rh_decref(w);
}

/* py: a = S(); a.a = a; b = S(); b.a = b; a.b = weakref.ref(b, cb); del a, b;
 * gc.collect() -> 4 (a, b, the weakref and the lambda), callback never ran.
 * refheap's callback is a C function, so the garbage is a, b and the weakref:
 * 3. A weakref inside the garbage never calls back. */
static void test_weakref_in_garbage_never_calls_back(void **state) {
    (void)state;
    cb_calls = 0;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    rh_object *b = node_new_self_cycle(H, &node_type, 2);
    rh_object *w = rh_weakref_new(b, count_cb, NULL);
    node_set(a, 1, w);
    rh_decref(w);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(H, 2), 3);
    assert_int_equal(cb_calls, 0);
    assert_int_equal(nodes_destroyed_count, 2);
}

/* Several callbacks on one object run newest first, each after all of them
 * were cleared. py: three weakref.ref(a, cb_i) on a self-cycle: collect() ->
 * 1, order [3, 2, 1]. */
static int order[8], norder;
static rh_object *three[3];
static int seen_alive;
static void order_cb(rh_object *wr, void *data) {
    (void)wr;
    order[norder++] = (int)(intptr_t)data;
    for (int i = 0; i < 3; i++)
        if (rh_weakref_alive(three[i])) seen_alive++;
}

static void test_multiple_callbacks_newest_first(void **state) {
    (void)state;
    norder = 0;
    seen_alive = 0;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    for (int i = 0; i < 3; i++) three[i] = rh_weakref_new(a, order_cb, (void *)(intptr_t)(i + 1));
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    assert_int_equal(seen_alive, 0);
    for (int i = 0; i < 3; i++) rh_decref(three[i]);
}

/* A callback weakref freed by its own callback is counted as collected (as
 * CPython 3.11's handle_weakrefs returns it).
 * py: a.a = a; holder = [weakref.ref(a, lambda w: holder.clear())]; del a;
 * gc.collect() -> 2. */
static rh_object *holder;
static void drop_holder_cb(rh_object *wr, void *data) {
    (void)wr;
    (void)data;
    rh_object *w = holder;
    holder = NULL;
    rh_decref(w);
}

static void test_callback_frees_its_weakref(void **state) {
    (void)state;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    holder = rh_weakref_new(a, drop_holder_cb, NULL);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_null(holder);
}

/* REFERENCE §7: a weak-value dictionary whose value is a two-object cycle:
 * py: d = WeakValueDictionary(); a <-> b; d['k'] = a; del a, b;
 * gc.collect() -> 3, len(d) == 0. */
static void test_weakvaluedict_cyclic_value(void **state) {
    (void)state;
    rh_object *d = rh_weakvaluedict_new(H);
    rh_object *a, *b;
    node_new_pair(H, &node_type, 1, 2, &a, &b);
    rh_object *k = rh_str(H, "k");
    assert_int_equal(rh_weakvaluedict_set(d, k, a), 0);
    rh_decref(k);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(H, 2), 3);
    assert_int_equal(rh_weakvaluedict_size(d), 0);
    rh_decref(d);
}

/* REFERENCE §7: weakrefs to the garbage are cleared before finalizers run,
 * so a resurrected object comes back with its weakrefs dead.
 * py: r.a = r (R.__del__ stores self); w = weakref.ref(r); del r;
 * gc.collect() -> 0; w() is None; the store holds r. */
static void test_resurrected_object_weakrefs_dead(void **state) {
    (void)state;
    cb_calls = 0;
    rh_object *r = node_new_self_cycle(H, &lazarus_type, 1);
    rh_object *w = rh_weakref_new(r, NULL, NULL);
    rh_object *wc = rh_weakref_new(r, count_cb, NULL);
    rh_decref(r);
    assert_int_equal(rh_gc_collect(H, 2), 0);
    assert_int_equal(lazarus_n, 1);
    assert_false(rh_weakref_alive(w));
    assert_int_equal(cb_calls, 1);
    /* New weakrefs to the resurrected object work and fire at its death. */
    rh_object *w2 = rh_weakref_new(lazarus_store[0], count_cb, NULL);
    lazarus_release();
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(cb_calls, 2);
    rh_decref(w);
    rh_decref(wc);
    rh_decref(w2);
}

/* Callbacks may allocate, make cycles, and call collect (which returns 0). */
static int nested_result = -1;
static void busy_cb(rh_object *wr, void *data) {
    (void)data;
    rh_heap *h = rh_heap_of(wr);
    nested_result = (int)rh_gc_collect(h, 2);
    for (int i = 0; i < 10; i++) {
        rh_object *l = rh_list_new(h, 0);
        rh_list_append(l, l);
        rh_decref(l);
    }
}

static void test_callback_reentrancy(void **state) {
    (void)state;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    rh_object *w = rh_weakref_new(a, busy_cb, NULL);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(nested_result, 0);
    assert_int_equal(rh_gc_collect(H, 2), 10); /* the cycles it made */
    assert_int_equal(rh_gc_verify(H), 0);
    rh_decref(w);
}

/* An untracked weakref with a callback still gets its callback, and stays
 * untracked. */
static void test_untracked_weakref_callback(void **state) {
    (void)state;
    cb_calls = 0;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    rh_object *w = rh_weakref_new(a, count_cb, NULL);
    rh_gc_untrack(w);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(cb_calls, 1);
    assert_false(rh_gc_is_tracked(w));
    assert_int_equal(rh_gc_verify(H), 0);
    rh_decref(w);
}

/* A callback that untracks another weakref queued for its callback in the
 * same collection: that callback still runs, once, and the collector's
 * reference to it is dropped (CPython 3.11 runs every queued callback once;
 * a weakref freed by the collector's drop counts as collected). Both
 * weakrefs are to one garbage object; the newest calls back first. */
static rh_object *untrack_target;
static bool untrack_drops;
static int untrack_calls[2];
static void untrack_other_cb(rh_object *wr, void *data) {
    (void)wr;
    untrack_calls[(intptr_t)data]++;
    if (untrack_target) {
        rh_gc_untrack(untrack_target);
        if (untrack_drops) rh_decref(untrack_target);
        untrack_target = NULL;
    }
}

static void test_callback_untracks_queued_weakref(void **state) {
    (void)state;
    for (int drop = 0; drop < 2; drop++) {
        untrack_calls[0] = untrack_calls[1] = 0;
        rh_object *a = node_new_self_cycle(H, &node_type, 1);
        rh_object *older = rh_weakref_new(a, untrack_other_cb, (void *)0);
        rh_object *newer = rh_weakref_new(a, untrack_other_cb, (void *)1);
        untrack_target = older;
        untrack_drops = drop;
        rh_decref(a);
        /* py: a, plus the older weakref when the collector's drop frees it */
        assert_int_equal(rh_gc_collect(H, 2), drop ? 2 : 1);
        assert_int_equal(untrack_calls[1], 1);
        assert_int_equal(untrack_calls[0], 1);
        assert_true(rh_gc_is_tracked(newer));
        if (!drop) {
            assert_false(rh_gc_is_tracked(older));
            assert_int_equal(rh_refcount(older), 1);
            rh_decref(older);
        }
        assert_int_equal(rh_refcount(newer), 1);
        assert_int_equal(rh_gc_verify(H), 0);
        rh_decref(newer);
    }
}

/* Weak references a finalizer makes to its own object during a collection
 * do not outlive it: the object is freed after its clear, and its death
 * clears them and runs their callbacks then (CPython's subtype_dealloc
 * clears the weakrefs of an object the collector cleared). py: __slots__
 * pair a <-> b whose __del__ makes ref(self, cb), ref(self) and stores self in
 * a WeakValueDictionary -> gc.collect() == 2, cb ran twice, every ref dead,
 * len(d) 0. */
static rh_object *finmade[4];
static int nfinmade, finmade_cb_calls;
static rh_object *finmade_set;
static void finmade_cb(rh_object *wr, void *data) {
    (void)wr;
    (void)data;
    finmade_cb_calls++;
}
static void make_weakrefs_to_self(rh_object *self) {
    finmade[nfinmade++] = rh_weakref_new(self, finmade_cb, NULL);
    finmade[nfinmade++] = rh_weakref_new(self, NULL, NULL);
    rh_object *k = rh_int(rh_heap_of(self), node_id(self));
    assert_int_equal(rh_weakvaluedict_set(finmade_set, k, self), 0);
    rh_decref(k);
}

static void test_weakrefs_made_by_finalizer_in_collection(void **state) {
    (void)state;
    nfinmade = finmade_cb_calls = 0;
    finmade_set = rh_weakvaluedict_new(H);
    rh_object *a, *b;
    node_new_pair(H, &fin_type, 1, 2, &a, &b);
    fin_action = make_weakrefs_to_self;
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(fin_calls, 2);
    assert_int_equal(nodes_destroyed_count, 2);
    assert_int_equal(finmade_cb_calls, 2);
    assert_int_equal(nfinmade, 4);
    for (int i = 0; i < nfinmade; i++) {
        assert_false(rh_weakref_alive(finmade[i]));
        rh_decref(finmade[i]);
    }
    assert_int_equal(rh_weakvaluedict_size(finmade_set), 0);
    assert_int_equal(rh_gc_collect(H, 2), 0);
    rh_decref(finmade_set);
}

/* While their callbacks wait and run, the queued weakrefs are in no
 * generation. py: a self-cycle with w = ref(a, cb), w2 = ref(a, cb); each
 * callback looks for w and w2 in gc.get_objects() -> w2's callback (first)
 * sees neither, w's sees w2 only (moved on after its callback); both stay
 * tracked; gc.collect() == 1. */
static rh_object *seen_w[2];
static int seen_n;
static bool seen_in[2][2], seen_tracked[2];
static bool in_objects(rh_object *all, rh_object *x) {
    for (size_t i = 0; i < rh_list_size(all); i++)
        if (rh_list_get(all, (ptrdiff_t)i) == x) return true;
    return false;
}
static void look_cb(rh_object *wr, void *data) {
    (void)data;
    rh_object *all = rh_gc_get_objects(rh_heap_of(wr), -1);
    assert_non_null(all);
    for (int i = 0; i < 2; i++) seen_in[seen_n][i] = in_objects(all, seen_w[i]);
    seen_tracked[seen_n] = rh_gc_is_tracked(wr);
    seen_n++;
    rh_decref(all);
}

static void test_queued_weakrefs_out_of_generations(void **state) {
    (void)state;
    seen_n = 0;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    seen_w[0] = rh_weakref_new(a, look_cb, NULL);
    seen_w[1] = rh_weakref_new(a, look_cb, NULL);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(seen_n, 2);
    assert_false(seen_in[0][0]);
    assert_false(seen_in[0][1]);
    assert_false(seen_in[1][0]);
    assert_true(seen_in[1][1]);
    assert_true(seen_tracked[0]);
    assert_true(seen_tracked[1]);
    rh_object *all = rh_gc_get_objects(H, 2);
    assert_true(in_objects(all, seen_w[0]));
    assert_true(in_objects(all, seen_w[1]));
    rh_decref(all);
    rh_decref(seen_w[0]);
    rh_decref(seen_w[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(name) GCN_TEST(name)
        T(test_bug1055820b),
        T(test_callback_outside_garbage),
        T(test_weakref_in_garbage_never_calls_back),
        T(test_multiple_callbacks_newest_first),
        T(test_callback_frees_its_weakref),
        T(test_weakvaluedict_cyclic_value),
        T(test_resurrected_object_weakrefs_dead),
        T(test_callback_reentrancy),
        T(test_untracked_weakref_callback),
        T(test_callback_untracks_queued_weakref),
        T(test_queued_weakrefs_out_of_generations),
        T(test_weakrefs_made_by_finalizer_in_collection),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
