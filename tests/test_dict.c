/*
 * test_dict.c — the dict type: every operation and error, insertion order,
 * CPython 3.11's size figures (sys.getsizeof), repr, equality, tracking on
 * insertion, comparisons that mutate the dict, a randomized comparison
 * against a simple model, self-cycles, and out of memory at every allocation.
 * Expected figures were measured with python3 (3.11.7) as each comment says.
 */
#include "cont_test.h"

static void test_basic_ops(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *d = rh_dict_new(h);
    assert_non_null(d);
    assert_int_equal(rh_dict_size(d), 0);
    rh_object *k1 = ct_int(h, 1000), *k2 = rh_str(h, "two"), *v1 = ct_int(h, 111111), *v2 = ct_int(h, 222222);
    assert_int_equal(rh_dict_set(d, k1, v1), 0);
    assert_int_equal(rh_dict_set(d, k2, v2), 0);
    assert_int_equal(rh_refcount(k1), 2); /* the dict owns a reference */
    assert_int_equal(rh_refcount(v1), 2);
    assert_int_equal(rh_dict_size(d), 2);
    assert_ptr_equal(rh_dict_get(d, k1), v1);
    /* an equal key that is another object finds the entry */
    rh_object *k1b = ct_int(h, 1000), *k2b = rh_str(h, "two");
    assert_ptr_equal(rh_dict_get(d, k1b), v1);
    assert_ptr_equal(rh_dict_get(d, k2b), v2);
    assert_int_equal(rh_dict_contains(d, k2b), 1);
    /* absent: NULL and no error */
    rh_object *absent = ct_int(h, 77777);
    assert_null(rh_dict_get(d, absent));
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_dict_contains(d, absent), 0);
    /* replace: the old value is released, the key kept (d[k] = v) */
    assert_int_equal(rh_dict_set(d, k1b, v2), 0);
    assert_int_equal(rh_refcount(v1), 1);
    assert_int_equal(rh_refcount(k1b), 1); /* the first key object stays the key */
    assert_int_equal(rh_dict_size(d), 2);
    assert_ptr_equal(rh_dict_get(d, k1), v2);
    /* del */
    assert_int_equal(rh_dict_del(d, k1b), 0);
    assert_int_equal(rh_refcount(k1), 1);
    assert_int_equal(rh_dict_size(d), 1);
    assert_null(rh_dict_get(d, k1));
    assert_int_equal(rh_dict_del(d, k1), -1); /* KeyError */
    assert_int_equal(rh_err(h), RH_EKEY);
    rh_err_clear(h);
    /* 1, 1.0 and True are one key (hash(1) == hash(1.0) == hash(True), 1 == 1.0) */
    rh_object *one = rh_int(h, 1), *onef = rh_float(h, 1.0);
    rh_dict_set(d, one, v1);
    rh_dict_set(d, onef, v2);
    assert_int_equal(rh_dict_size(d), 2);
    assert_ptr_equal(rh_dict_get(d, one), v2);
    assert_ptr_equal(rh_dict_get(d, rh_True), v2);
    /* clear */
    assert_int_equal(rh_dict_clear(d), 0);
    assert_int_equal(rh_dict_size(d), 0);
    assert_int_equal(rh_refcount(v2), 1);
    assert_null(rh_dict_get(d, one));
    rh_dict_set(d, one, v1);
    assert_ptr_equal(rh_dict_get(d, one), v1);

    rh_decref(d);
    assert_int_equal(rh_refcount(v1), 1);
    rh_object *objs[] = {k1, k2, v1, v2, k1b, k2b, absent, one, onef};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* d[[]] = 1 → TypeError: unhashable type: 'list'; also for get, `in`, del. */
static void test_unhashable_keys(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *d = rh_dict_new(h), *l = rh_list_new(h, 0), *dd = rh_dict_new(h);
    assert_int_equal(rh_dict_set(d, l, rh_None), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_set(d, dd, rh_None), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_null(rh_dict_get(d, l));
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_contains(d, l), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_del(d, l), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_hash(d), -1); /* dicts are unhashable */
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_size(d), 0);
    assert_int_equal(rh_refcount(l), 1);
    /* tuples are keys when their items are hashable */
    rh_object *one = rh_int(h, 1);
    rh_object *t = rh_tuple_pack(h, 2, one, one), *t2 = rh_tuple_pack(h, 2, one, one);
    assert_int_equal(rh_dict_set(d, t, l), 0);
    assert_ptr_equal(rh_dict_get(d, t2), l);
    rh_decref(t);
    rh_decref(t2);
    rh_decref(one);
    rh_decref(d);
    rh_decref(dd);
    rh_decref(l);
    rh_heap_destroy(h);
}

/* Insertion order: keys come back in the order first inserted; replacing a
 * value keeps the position; deleting and re-inserting moves the key to the
 * end (python3: d = dict.fromkeys('abc'); d['a'] = 1; del d['b'];
 * d['b'] = 2; list(d) == ['a', 'c', 'b']). */
static void test_order_and_iteration(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *d = rh_dict_new(h);
    rh_dict_set_str(d, "a", rh_None);
    rh_dict_set_str(d, "b", rh_None);
    rh_dict_set_str(d, "c", rh_None);
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2);
    rh_dict_set_str(d, "a", one);
    assert_int_equal(rh_dict_del_str(d, "b"), 0);
    rh_dict_set_str(d, "b", two);
    assert_string_equal(ct_repr(d), "{'a': 1, 'c': None, 'b': 2}");
    rh_object *keys = rh_dict_keys(d);
    assert_string_equal(ct_repr(keys), "['a', 'c', 'b']");
    rh_decref(keys);
    size_t pos = 0, n = 0;
    rh_object *k, *v;
    const char *want[] = {"a", "c", "b"};
    while (rh_dict_next(d, &pos, &k, &v)) {
        assert_true(n < 3);
        assert_true(rh_str_eq_cstr(k, want[n]));
        n++;
    }
    assert_int_equal(n, 3);
    assert_ptr_equal(rh_dict_get_str(d, "b"), two);
    assert_null(rh_dict_get_str(d, "zz"));
    assert_int_equal(rh_dict_del_str(d, "zz"), -1);
    assert_int_equal(rh_err(h), RH_EKEY);
    rh_err_clear(h);
    /* set_str interns its key, as PyDict_SetItemString does */
    pos = 0;
    assert_true(rh_dict_next(d, &pos, &k, &v));
    assert_true(rh_str_is_interned(k));
    /* an empty dict iterates nothing and has no keys */
    rh_object *e = rh_dict_new(h);
    pos = 0;
    assert_false(rh_dict_next(e, &pos, &k, &v));
    keys = rh_dict_keys(e);
    assert_int_equal(rh_list_size(keys), 0);
    rh_decref(keys);
    rh_decref(e);
    rh_decref(d);
    rh_decref(one);
    rh_decref(two);
    rh_heap_destroy(h);
}

/* The figures of the size tests below are CPython's, which count its 16-byte
 * GC header: rh_test_cpython_size gives each on the heap's layout (16 fewer
 * without the collector's record). */

/* d = {}; for i in range(30): d[i] = i; sys.getsizeof(d) after each
 * (python3 3.11): 8, 16, 32, 64 index slots with 5, 10, 21, 42 entries of 24
 * bytes, plus the 32-byte table header: 64 + 32 + slots + 24 * entries. */
static void test_sizes_growth(void **state) {
    (void)state;
    const size_t want[30] = {224,  224,  224,  224,  224,  352,  352,  352,  352,  352,
                             632,  632,  632,  632,  632,  632,  632,  632,  632,  632,
                             632,  1168, 1168, 1168, 1168, 1168, 1168, 1168, 1168, 1168};
    rh_heap *h = ct_heap();
    rh_object *d = rh_dict_new(h);
    assert_int_equal(rh_sizeof(d), rh_test_cpython_size(h, 64)); /* sys.getsizeof({}) */
    for (int i = 0; i < 30; i++) {
        rh_object *k = rh_int(h, i);
        rh_dict_set(d, k, k);
        rh_decref(k);
        assert_int_equal(rh_sizeof(d), rh_test_cpython_size(h, want[i]));
    }
    rh_dict_clear(d);
    assert_int_equal(rh_sizeof(d), rh_test_cpython_size(h, 64)); /* d.clear(); sys.getsizeof(d) == 64 */
    rh_decref(d);
    rh_heap_destroy(h);
}

/* Growth after deletions. For n in (5, 10, 21): d = {i: i for i in range(n)}
 * built by insertion, del the first k keys, then d[1000] = 1 (python3 3.11):
 *   n=5:  any k          -> 352   (even 1 live key rebuilds to 16 slots)
 *   n=10: k <= 4 -> 632, k >= 5 -> 352
 *   n=21: k <= 10 -> 1168, 11..15 -> 632, k >= 16 -> 352
 * and without an insertion the size never shrinks. */
static void test_sizes_after_deletions(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    const int ns[3] = {5, 10, 21};
    for (int ni = 0; ni < 3; ni++) {
        int n = ns[ni];
        for (int k = 0; k < n; k++) {
            rh_object *d = rh_dict_new(h);
            for (int i = 0; i < n; i++) {
                rh_object *x = rh_int(h, i);
                rh_dict_set(d, x, x);
                rh_decref(x);
            }
            size_t full = rh_sizeof(d);
            for (int i = 0; i < k; i++) {
                rh_object *x = rh_int(h, i);
                assert_int_equal(rh_dict_del(d, x), 0);
                rh_decref(x);
            }
            assert_int_equal(rh_sizeof(d), full);
            rh_object *x = rh_int(h, 1000);
            rh_dict_set(d, x, x);
            rh_decref(x);
            size_t used = (size_t)(n - k);
            size_t want;
            if (n == 5) want = 352;
            else if (n == 10) want = used >= 6 ? 632 : 352;
            else want = used >= 11 ? 1168 : used >= 6 ? 632 : 352;
            assert_int_equal(rh_sizeof(d), rh_test_cpython_size(h, want));
            assert_int_equal(rh_dict_size(d), used + 1);
            rh_decref(d);
        }
    }
    rh_heap_destroy(h);
}

/* repr as Python's: {'a': 1}, {}, and d['self'] = d → {'self': {...}}. */
static void test_repr_and_self_cycle(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *d = rh_dict_new(h);
    assert_string_equal(ct_repr(d), "{}");
    rh_object *one = rh_int(h, 1);
    rh_dict_set_str(d, "a", one);
    assert_string_equal(ct_repr(d), "{'a': 1}");
    rh_dict_set_str(d, "self", d);
    assert_string_equal(ct_repr(d), "{'a': 1, 'self': {...}}");
    assert_true(rh_gc_is_tracked(d));
    ct_visits v = {d, 0, 0};
    assert_int_equal(rh_dict_type.traverse(d, ct_count_visit, &v), 0);
    assert_int_equal(v.hits, 1);
    assert_int_equal(v.total, 4); /* two keys, two values */
    assert_int_equal(rh_refcount(d), 2);
    rh_dict_type.clear(d); /* what the collector does to break the cycle */
    assert_int_equal(rh_refcount(d), 1);
    assert_int_equal(rh_dict_size(d), 0);
    rh_decref(d);
    rh_decref(one);
    rh_heap_destroy(h);
}

static void test_equality(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *a = rh_dict_new(h), *b = rh_dict_new(h);
    assert_int_equal(rh_equal(a, b), 1); /* {} == {} */
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2), *onef = rh_float(h, 1.0);
    rh_dict_set(a, one, two);
    rh_dict_set(a, two, one);
    rh_dict_set(b, two, one);
    assert_int_equal(rh_equal(a, b), 0);
    rh_dict_set(b, onef, two);
    assert_int_equal(rh_equal(a, b), 1); /* {1: 2, 2: 1} == {2: 1, 1.0: 2}: order does not matter */
    rh_object *twof = rh_float(h, 2.0);
    rh_dict_set(b, onef, twof);
    assert_int_equal(rh_equal(a, b), 1); /* {1: 2, 2: 1} == {2: 1, 1.0: 2.0} */
    rh_decref(twof);
    rh_dict_set(b, onef, one);
    assert_int_equal(rh_equal(a, b), 0);
    rh_object *l = rh_list_new(h, 0);
    assert_int_equal(rh_equal(a, l), 0);
    rh_decref(l);
    rh_decref(a);
    rh_decref(b);
    rh_decref(one);
    rh_decref(two);
    rh_decref(onef);
    rh_heap_destroy(h);
}

/* Tracking on insertion (python3 3.11):
 *   gc.is_tracked({}) False; {'a': 1} False; {'a': []} True; {'a': {}} True;
 *   d = {}; d['x'] = (1, 2) built at run time (tracked tuple) → True;
 *   the same after the tuple was untracked → False; a tracked tuple as key → True;
 *   d['b'] = []; del d['b'] → still True (until a full collection). */
static void test_tracking_on_insert(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2);
    rh_object *d = rh_dict_new(h);
    assert_false(rh_gc_is_tracked(d));
    rh_dict_set_str(d, "a", one);
    assert_false(rh_gc_is_tracked(d));
    rh_object *l = rh_list_new(h, 0);
    rh_dict_set_str(d, "b", l);
    assert_true(rh_gc_is_tracked(d));
    rh_dict_del_str(d, "b");
    assert_true(rh_gc_is_tracked(d)); /* stays tracked */
    assert_int_not_equal(rh_dict_type.untrack_check(d), 0); /* a full collection may untrack it */
    rh_decref(d);

    d = rh_dict_new(h);
    rh_object *inner = rh_dict_new(h);
    rh_dict_set_str(d, "a", inner); /* {'a': {}} */
    assert_true(rh_gc_is_tracked(d));
    assert_false(rh_gc_is_tracked(inner));
    assert_int_equal(rh_dict_type.untrack_check(d), 0);
    rh_decref(d);
    rh_decref(inner);

    rh_object *t = rh_tuple_pack(h, 2, one, two); /* tracked at creation */
    d = rh_dict_new(h);
    rh_dict_set_str(d, "x", t);
    assert_true(rh_gc_is_tracked(d));
    rh_decref(d);
    rh_gc_untrack(t); /* as a collection would */
    d = rh_dict_new(h);
    rh_dict_set_str(d, "x", t);
    assert_false(rh_gc_is_tracked(d));
    rh_decref(d);
    rh_object *t2 = rh_tuple_pack(h, 2, one, two);
    d = rh_dict_new(h);
    rh_dict_set(d, t2, one); /* key: a tracked tuple */
    assert_true(rh_gc_is_tracked(d));
    rh_decref(d);
    /* replacing a value also tracks */
    d = rh_dict_new(h);
    rh_dict_set_str(d, "x", one);
    rh_dict_set_str(d, "x", l);
    assert_true(rh_gc_is_tracked(d));
    rh_decref(d);

    rh_decref(t);
    rh_decref(t2);
    rh_decref(l);
    rh_decref(one);
    rh_decref(two);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Comparisons that mutate the dict.
 * ------------------------------------------------------------------------- */
static rh_object *victim;
static rh_heap *victim_heap;
static void insert_many(void) {
    for (int i = 0; i < 50; i++) {
        rh_object *k = rh_int(victim_heap, 5000 + i);
        rh_dict_set(victim, k, k);
        rh_decref(k);
    }
}
static void clear_victim(void) { rh_dict_clear(victim); }

static void test_eq_mutates_dict(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    victim_heap = h;
    victim = rh_dict_new(h);
    rh_object *e0 = ct_evil_new(h, 0), *e1 = ct_evil_new(h, 1), *probe = ct_evil_new(h, 1);
    rh_dict_set(victim, e0, rh_None);
    rh_dict_set(victim, e1, rh_None);
    /* the first comparison (with e0) inserts 50 keys: the table is rebuilt */
    ct_evil_hook = insert_many;
    assert_null(rh_dict_get(victim, probe));
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_size(victim), 52);
    /* the first comparison empties the dict (e0 dies while compared) */
    rh_decref(e0);
    ct_evil_hook = clear_victim;
    assert_int_equal(rh_dict_set(victim, probe, rh_True), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_size(victim), 0);
    /* without mutation, an evil key is found by equality */
    rh_dict_set(victim, e1, rh_None);
    assert_ptr_equal(rh_dict_get(victim, probe), rh_None);
    assert_int_equal(rh_dict_contains(victim, probe), 1);
    assert_int_equal(rh_dict_del(victim, probe), 0);
    /* a failing comparison is an error */
    rh_object *bad = rh_new(h, &ct_faileq_type), *bad2 = rh_new(h, &ct_faileq_type);
    rh_dict_set(victim, bad, rh_None);
    assert_int_equal(rh_dict_contains(victim, bad2), -1);
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);
    assert_int_equal(rh_dict_contains(victim, bad), 1); /* identity needs no eq */
    rh_decref(bad);
    rh_decref(bad2);
    rh_decref(e1);
    rh_decref(probe);
    rh_decref(victim);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Randomized: many insertions and deletions against a direct-mapped model.
 * ------------------------------------------------------------------------- */
#define MODEL_N 4096
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_random_against_model(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    size_t base = ct_in_use(h);
    rh_object *d = rh_dict_new(h);
    static int64_t model[MODEL_N]; /* -1: absent, else the value */
    for (int i = 0; i < MODEL_N; i++) model[i] = -1;
    size_t count = 0;
    for (int step = 0; step < 60000; step++) {
        int key = (int)(rng() % MODEL_N);
        rh_object *k = rh_int(h, key * 7919); /* spread over ints beyond the small ones */
        if (rng() % 3) {
            int64_t val = (int64_t)(rng() % 1000000);
            rh_object *v = rh_int(h, val);
            assert_int_equal(rh_dict_set(d, k, v), 0);
            rh_decref(v);
            if (model[key] < 0) count++;
            model[key] = val;
        } else {
            int r = rh_dict_del(d, k);
            if (model[key] < 0) {
                assert_int_equal(r, -1);
                rh_err_clear(h);
            } else {
                assert_int_equal(r, 0);
                model[key] = -1;
                count--;
            }
        }
        rh_decref(k);
        assert_int_equal(rh_dict_size(d), count);
    }
    for (int key = 0; key < MODEL_N; key++) {
        rh_object *k = rh_int(h, key * 7919);
        rh_object *v = rh_dict_get(d, k);
        if (model[key] < 0) assert_null(v);
        else assert_int_equal(rh_int_value(v), model[key]);
        rh_decref(k);
    }
    size_t pos = 0, seen = 0;
    rh_object *k, *v;
    while (rh_dict_next(d, &pos, &k, &v)) seen++;
    assert_int_equal(seen, count);
    rh_decref(d);
    assert_int_equal(ct_in_use(h), base);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Out of memory at each allocation of an operation sequence.
 * ------------------------------------------------------------------------- */
static int oom_sequence(rh_heap *h, rh_object *d, char *before, size_t cap) {
    for (int i = 0; i < 40; i++) {
        rh_repr(d, before, cap);
        rh_object *k = rh_int(h, 1000 + i);
        if (!k) return -1;
        int r = rh_dict_set(d, k, k);
        rh_decref(k);
        if (r < 0) return -1;
        if (i % 4 == 3) {
            rh_repr(d, before, cap);
            k = rh_int(h, 1000 + i - 2);
            if (!k) return -1;
            r = rh_dict_del(d, k);
            rh_decref(k);
            if (r < 0) return -1;
        }
    }
    rh_repr(d, before, cap);
    rh_object *keys = rh_dict_keys(d);
    if (!keys) return -1;
    rh_decref(keys);
    rh_repr(d, before, cap);
    if (rh_dict_set_str(d, "interned_key", rh_None) < 0) return -1;
    return 0;
}

static void test_oom_every_allocation(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    /* intern the str key once: interned strings live as long as the heap */
    rh_decref(rh_str_intern(h, "interned_key"));
    ct_oom_every_allocation(h, rh_dict_new, oom_sequence, 10);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_ops),
        cmocka_unit_test(test_unhashable_keys),
        cmocka_unit_test(test_order_and_iteration),
        cmocka_unit_test(test_sizes_growth),
        cmocka_unit_test(test_sizes_after_deletions),
        cmocka_unit_test(test_repr_and_self_cycle),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_tracking_on_insert),
        cmocka_unit_test(test_eq_mutates_dict),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_oom_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
