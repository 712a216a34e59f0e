/*
 * test_weakdict.c — WeakValueDictionary, WeakKeyDictionary, WeakSet and
 * their iteration with deferred removal.
 *
 * Expected outcomes come from CPython 3.11's Lib/weakref.py behaviour (the
 * Python equivalent of each test was run with python3.11) or from a model
 * kept by the test itself (the randomized test).
 */
#include "weak_testutil.h"

#include "internal.h" /* rh__is_weakref: entries are KeyedRef objects */

static size_t wsize(rh_object *c) {
    if (rh_is_type(c, &rh_weakvaluedict_type)) return rh_weakvaluedict_size(c);
    if (rh_is_type(c, &rh_weakkeydict_type)) return rh_weakkeydict_size(c);
    return rh_weakset_size(c);
}

/* python3.11: d = WeakValueDictionary(); d['a'] = o; d['a'] is o; del o ->
 * len(d) == 0 at once; d.get('a') is None; del d['zz'] -> KeyError. */
static void test_weakvaluedict_basics(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *d = rh_weakvaluedict_new(h);
    rh_object *o = node_new(h, 1), *p = node_new(h, 2);
    rh_object *ka = rh_str(h, "a"), *kb = rh_str(h, "b"), *kz = rh_str(h, "zz");
    assert_int_equal(rh_weakvaluedict_set(d, ka, o), 0);
    assert_int_equal(rh_weakvaluedict_set(d, kb, p), 0);
    assert_int_equal(rh_weakvaluedict_size(d), 2);
    assert_int_equal(rh_refcount(o), 1); /* the dict holds no strong ref */
    rh_object *got = rh_weakvaluedict_get(d, ka);
    assert_ptr_equal(got, o);
    rh_decref(got);
    assert_null(rh_weakvaluedict_get(d, kz));
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_weakvaluedict_del(d, kz), -1);
    assert_int_equal(rh_err(h), RH_EKEY);
    rh_err_clear(h);
    /* the entry is a weakref with a callback: o has one weakref */
    assert_int_equal(rh_weakref_count(o), 1);
    /* replacing a value drops the old entry's weakref */
    assert_int_equal(rh_weakvaluedict_set(d, kb, o), 0);
    assert_int_equal(rh_weakref_count(p), 0);
    assert_int_equal(rh_weakref_count(o), 2);
    rh_decref(o);
    assert_int_equal(rh_weakvaluedict_size(d), 0);
    assert_null(rh_weakvaluedict_get(d, ka));
    assert_int_equal(rh_weakvaluedict_set(d, ka, p), 0);
    assert_int_equal(rh_weakvaluedict_del(d, ka), 0);
    assert_int_equal(rh_weakref_count(p), 0);
    assert_int_equal(rh_weakvaluedict_size(d), 0);
    /* values must be weakrefable (TypeError in Python) */
    rh_object *big = rh_int(h, 123456);
    assert_int_equal(rh_weakvaluedict_set(d, ka, big), -1);
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    rh_decref(big);
    rh_decref(p);
    rh_decref(ka);
    rh_decref(kb);
    rh_decref(kz);
    rh_decref(d);
    rh_heap_destroy(h);
}

/* python3.11: d = WeakKeyDictionary(); d[a] = 1; d[b] = 2 with a == b ->
 * len(d) == 1, d[a] == 2; del a -> ... the entry goes with the key object
 * stored first. */
static void test_weakkeydict_basics(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *d = rh_weakkeydict_new(h);
    rh_object *a = node_new(h, 5), *b = node_new(h, 5), *c = node_new(h, 6);
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2);
    assert_int_equal(rh_weakkeydict_set(d, a, one), 0);
    assert_int_equal(rh_weakkeydict_set(d, b, two), 0); /* equal key: replaces */
    assert_int_equal(rh_weakkeydict_size(d), 1);
    rh_object *v = rh_weakkeydict_get(d, a);
    assert_ptr_equal(v, two);
    rh_decref(v);
    assert_null(rh_weakkeydict_get(d, c));
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_weakkeydict_set(d, c, one), 0);
    assert_int_equal(rh_weakkeydict_size(d), 2);
    assert_int_equal(rh_weakkeydict_del(d, c), 0);
    assert_int_equal(rh_weakkeydict_del(d, c), -1);
    assert_int_equal(rh_err(h), RH_EKEY);
    rh_err_clear(h);
    /* b's weakref was dropped when the dict kept a's */
    assert_int_equal(rh_weakref_count(b), 0);
    rh_decref(a);
    assert_int_equal(rh_weakkeydict_size(d), 0);
    /* values are held strongly */
    rh_object *val = node_new(h, 9);
    assert_int_equal(rh_weakkeydict_set(d, c, val), 0);
    assert_int_equal(rh_refcount(val), 2);
    rh_decref(c);
    assert_int_equal(rh_refcount(val), 1);
    rh_decref(val);
    /* non-weakrefable key: TypeError in Python */
    assert_int_equal(rh_weakkeydict_set(d, one, one), -1);
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    assert_null(rh_weakkeydict_get(d, one));
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    rh_decref(b);
    rh_decref(one);
    rh_decref(two);
    rh_decref(d);
    rh_heap_destroy(h);
}

/* python3.11: s = WeakSet(); s.add(o); o in s; 1 in s -> False (no error);
 * del o -> len(s) == 0; s.discard(x) of an absent x does nothing. */
static void test_weakset_basics(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *s = rh_weakset_new(h);
    rh_object *o = node_new(h, 1), *p = node_new(h, 2);
    rh_object *i = rh_int(h, 77777);
    assert_int_equal(rh_weakset_add(s, o), 0);
    assert_int_equal(rh_weakset_add(s, o), 0);
    assert_int_equal(rh_weakset_size(s), 1);
    assert_int_equal(rh_weakref_count(o), 1);
    assert_int_equal(rh_weakset_contains(s, o), 1);
    assert_int_equal(rh_weakset_contains(s, p), 0);
    assert_int_equal(rh_weakset_contains(s, i), 0);
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_weakset_discard(s, p), 0);
    assert_int_equal(rh_weakset_add(s, p), 0);
    assert_int_equal(rh_weakset_discard(s, p), 1);
    assert_int_equal(rh_weakref_count(p), 0);
    assert_int_equal(rh_weakset_add(s, i), -1);
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    rh_decref(o);
    assert_int_equal(rh_weakset_size(s), 0);
    rh_decref(p);
    rh_decref(i);
    rh_decref(s);
    rh_heap_destroy(h);
}

/* check_weak_destroy_while_iterating (test_weakref.py): start iterating,
 * destroy an object: the rest of the iteration yields len(objects) or
 * len(objects) - 1 items; once the iterator is gone the removal is committed:
 * len(dict) == n - 1. Also: until then the dead entry is kept (deferred). */
static void test_destroy_while_iterating(void **state) {
    (void)state;
    enum { N = 10 };
    for (int kind = 0; kind < 3; kind++) {
        rh_heap *h = quiet_heap();
        rh_object *c = kind == 0 ? rh_weakvaluedict_new(h)
                     : kind == 1 ? rh_weakkeydict_new(h) : rh_weakset_new(h);
        rh_object *objs[N];
        for (int i = 0; i < N; i++) {
            objs[i] = node_new(h, i);
            rh_object *k = rh_int(h, i);
            if (kind == 0) assert_int_equal(rh_weakvaluedict_set(c, k, objs[i]), 0);
            if (kind == 1) assert_int_equal(rh_weakkeydict_set(c, objs[i], k), 0);
            if (kind == 2) assert_int_equal(rh_weakset_add(c, objs[i]), 0);
            rh_decref(k);
        }
        rh_weakiter it;
        rh_object *k, *v;
        rh_weakiter_begin(&it, c);
        assert_true(rh_weakiter_next(&it, &k, &v));
        rh_decref(k);
        rh_xdecref(v);
        rh_decref(objs[N - 1]); /* destroy an object */
        assert_int_equal(rh_gc_collect(h, 2), 0);
        assert_int_equal(wsize(c), N - 1); /* live entries */
        int rest = 0;
        while (rh_weakiter_next(&it, &k, &v)) {
            rest++;
            rh_decref(k);
            rh_xdecref(v);
        }
        assert_true(rest == N - 1 || rest == N - 2);
        assert_false(it.open); /* the end of the iteration ends it */
        rh_weakiter_end(&it);  /* harmless */
        assert_int_equal(wsize(c), N - 1);
        for (int i = 0; i < N - 1; i++) rh_decref(objs[i]);
        assert_int_equal(wsize(c), 0);
        rh_decref(c);
        rh_heap_destroy(h);
    }
}

/* The dead entry stays in the underlying container until the last iterator
 * ends: the entry's weakref (counted by getweakrefcount of nothing, so
 * observed through the number of live weakref objects) is freed only then.
 * Two nested iterators: removal waits for both. */
static long count_weakrefs(rh_heap *h) {
    rh_object *all = rh_gc_get_objects(h, -1);
    long n = 0;
    for (size_t i = 0; i < rh_list_size(all); i++) {
        /* entries only: the container's weakref to itself has no callback */
        rh_object *x = rh_list_get(all, (ptrdiff_t)i);
        if (rh__is_weakref(x) && ((rh__weakref *)x)->callback) n++;
    }
    rh_decref(all);
    return n;
}
static void test_nested_iterators_defer(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *d = rh_weakvaluedict_new(h);
    rh_object *o1 = node_new(h, 1), *o2 = node_new(h, 2);
    rh_object *k1 = rh_str(h, "one"), *k2 = rh_str(h, "two");
    rh_weakvaluedict_set(d, k1, o1);
    rh_weakvaluedict_set(d, k2, o2);
    assert_int_equal(count_weakrefs(h), 2);
    rh_weakiter a, b;
    rh_weakiter_begin(&a, d);
    rh_weakiter_begin(&b, d);
    rh_decref(o1);
    assert_int_equal(count_weakrefs(h), 2); /* deferred */
    assert_int_equal(rh_weakvaluedict_size(d), 1);
    assert_null(rh_weakvaluedict_get(d, k1));
    rh_object *k, *v;
    assert_true(rh_weakiter_next(&a, &k, &v));
    assert_ptr_equal(k, k2);
    assert_ptr_equal(v, o2);
    rh_decref(k);
    rh_decref(v);
    rh_weakiter_end(&a);
    assert_int_equal(count_weakrefs(h), 2); /* b is still open */
    /* a mutation that changes the size is refused while iterating ... */
    rh_object *o3 = node_new(h, 3);
    rh_object *k3 = rh_str(h, "three");
    assert_int_equal(rh_weakvaluedict_set(d, k3, o3), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_err_clear(h);
    assert_int_equal(rh_weakvaluedict_del(d, k2), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_err_clear(h);
    /* ... replacing a value is not (the dead entry is replaced) */
    assert_int_equal(rh_weakvaluedict_set(d, k1, o3), 0);
    assert_int_equal(rh_weakvaluedict_size(d), 2);
    rh_weakiter_end(&b);
    assert_int_equal(count_weakrefs(h), 2); /* k1's entry lives: not removed */
    assert_int_equal(rh_weakvaluedict_size(d), 2);
    rh_decref(o3);
    rh_decref(o2);
    assert_int_equal(count_weakrefs(h), 0);
    assert_int_equal(rh_weakvaluedict_size(d), 0);
    rh_decref(k1);
    rh_decref(k2);
    rh_decref(k3);
    rh_decref(d);
    rh_heap_destroy(h);
}

/* The same refusals for the other two kinds. */
static void test_refusals_while_iterating(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *wk = rh_weakkeydict_new(h), *ws = rh_weakset_new(h);
    rh_object *a = node_new(h, 1), *b = node_new(h, 2);
    rh_weakkeydict_set(wk, a, rh_None);
    rh_weakset_add(ws, a);
    rh_weakiter i1, i2;
    rh_weakiter_begin(&i1, wk);
    rh_weakiter_begin(&i2, ws);
    assert_int_equal(rh_weakkeydict_set(wk, b, rh_None), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    assert_int_equal(rh_weakkeydict_set(wk, a, rh_True), 0); /* replace */
    assert_int_equal(rh_weakkeydict_del(wk, a), -1);
    assert_int_equal(rh_weakkeydict_del(wk, b), -1);        /* absent */
    assert_int_equal(rh_err(h), RH_EKEY);
    assert_int_equal(rh_weakset_add(ws, b), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    assert_int_equal(rh_weakset_add(ws, a), 0); /* already there */
    assert_int_equal(rh_weakset_discard(ws, a), -1);
    assert_int_equal(rh_weakset_discard(ws, b), 0);
    rh_err_clear(h);
    rh_weakiter_end(&i1);
    rh_weakiter_end(&i2);
    rh_object *v = rh_weakkeydict_get(wk, a);
    assert_ptr_equal(v, rh_True);
    assert_int_equal(rh_weakkeydict_del(wk, a), 0);
    assert_int_equal(rh_weakset_discard(ws, a), 1);
    rh_decref(a);
    rh_decref(b);
    rh_decref(wk);
    rh_decref(ws);
    rh_heap_destroy(h);
}

/* A weak container dies while a weakref of one of its entries is still held
 * elsewhere (getweakrefs hands them out): the referent's later death must
 * not call into the dead container. */
static void test_container_dies_first(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *cs[3] = {rh_weakvaluedict_new(h), rh_weakkeydict_new(h), rh_weakset_new(h)};
    rh_object *k = rh_str(h, "k");
    rh_weakvaluedict_set(cs[0], k, o);
    rh_weakkeydict_set(cs[1], o, k);
    rh_weakset_add(cs[2], o);
    rh_object *refs = rh_weakref_list(o);
    assert_int_equal(rh_list_size(refs), 3);
    for (int i = 0; i < 3; i++) rh_decref(cs[i]);
    rh_decref(o); /* three callbacks with detached data: nothing happens */
    for (size_t i = 0; i < 3; i++) assert_false(rh_weakref_alive(rh_list_get(refs, (ptrdiff_t)i)));
    rh_decref(refs);
    rh_decref(k);
    rh_heap_destroy(h);
}

/* An entry that escaped through getweakrefs outlives its removal and its
 * container: when its referent dies later, its callback must not touch the
 * freed container (a use-after-free before the fix: the entry kept a raw
 * pointer to it). Covers removal by del/discard and, for a weak-value
 * dictionary, by replacing the value. */
static void test_escaped_entry_outlives_container(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1), *p = node_new(h, 2);
    rh_object *cs[3] = {rh_weakvaluedict_new(h), rh_weakkeydict_new(h), rh_weakset_new(h)};
    rh_object *k = rh_str(h, "k"), *k2 = rh_str(h, "k2");
    assert_int_equal(rh_weakvaluedict_set(cs[0], k, o), 0);
    assert_int_equal(rh_weakvaluedict_set(cs[0], k2, o), 0);
    assert_int_equal(rh_weakkeydict_set(cs[1], o, k), 0);
    assert_int_equal(rh_weakset_add(cs[2], o), 0);
    rh_object *refs = rh_weakref_list(o);
    assert_int_equal(rh_list_size(refs), 4);
    assert_int_equal(rh_weakvaluedict_del(cs[0], k), 0);
    assert_int_equal(rh_weakvaluedict_set(cs[0], k2, p), 0); /* replaces o's entry */
    assert_int_equal(rh_weakkeydict_del(cs[1], o), 0);
    assert_int_equal(rh_weakset_discard(cs[2], o), 1);
    for (int i = 0; i < 3; i++) assert_int_equal(wsize(cs[i]), i == 0 ? 1 : 0);
    for (int i = 0; i < 3; i++) rh_decref(cs[i]); /* the containers are freed */
    rh_object *d2 = rh_weakvaluedict_new(h);  /* may reuse a freed block */
    assert_int_equal(rh_weakvaluedict_set(d2, k, p), 0);
    rh_decref(o); /* four callbacks of escaped entries: nothing to do */
    assert_int_equal(node_destroyed, 1);
    for (size_t i = 0; i < 4; i++) assert_false(rh_weakref_alive(rh_list_get(refs, (ptrdiff_t)i)));
    assert_int_equal(rh_weakvaluedict_size(d2), 1);
    rh_decref(refs);
    rh_decref(d2);
    rh_decref(p);
    rh_decref(k);
    rh_decref(k2);
    rh_heap_destroy(h);
}

/* python3.11: weakref.getweakrefcount(c) == 1 for a new WeakValueDictionary,
 * WeakKeyDictionary and WeakSet: each keeps a weak reference to itself for
 * its entries' callbacks. */
static void test_container_weakrefcount(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *cs[3] = {rh_weakvaluedict_new(h), rh_weakkeydict_new(h), rh_weakset_new(h)};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rh_weakref_count(cs[i]), 1);
        rh_decref(cs[i]);
    }
    rh_heap_destroy(h);
}

/* A mutator that allocates may run a collection whose finalizer opens an
 * iterator on the container: the size check must see that iterator (it
 * comes after the allocation). python3.11 refuses the change while iterating
 * ("changed size during iteration"); refheap refuses the change itself. */
static rh_weakiter opened_it;
static rh_object *open_on;
static void open_iter_fin(rh_object *self) {
    (void)self;
    if (open_on) {
        rh_weakiter_begin(&opened_it, open_on);
        open_on = NULL;
    }
}
static const rh_type node_iterfin_type = {WT_NODE_TYPE_INIT("iterfin"), .finalize = open_iter_fin};

static void test_iteration_opened_by_allocation(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *k = rh_str(h, "k");
    rh_object *cs[3] = {rh_weakvaluedict_new(h), rh_weakkeydict_new(h), rh_weakset_new(h)};
    for (int i = 0; i < 3; i++) {
        rh_object *a, *b;
        node_pair_t(h, &node_iterfin_type, 10, 11, &a, &b);
        rh_decref(a);
        rh_decref(b);
        open_on = cs[i];
        rh_gc_set_threshold(h, 1, 10, 10);
        rh_gc_enable(h);
        int r = i == 0 ? rh_weakvaluedict_set(cs[i], k, o)
              : i == 1 ? rh_weakkeydict_set(cs[i], o, k)
                       : rh_weakset_add(cs[i], o);
        rh_gc_disable(h);
        assert_null(open_on); /* the finalizer ran inside the mutator */
        assert_int_equal(r, -1);
        assert_int_equal(rh_err(h), RH_ESTATE);
        rh_err_clear(h);
        assert_int_equal(wsize(cs[i]), 0);
        rh_weakiter_end(&opened_it);
        assert_int_equal(wsize(cs[i]), 0);
        rh_decref(cs[i]);
    }
    rh_decref(k);
    rh_decref(o);
    rh_heap_destroy(h);
}

/* The articles' cache: a weak-value cache of large objects (1 MB
 * bytearrays inside weakrefable class instances) keeps an image only while
 * someone outside uses it; when the last outside reference goes, the entry
 * and the megabyte go at once. Values in a cycle go only at the next collect. */
static rh_object *cache_get(rh_object *cache, rh_object *cls, const char *name, int *misses) {
    rh_heap *h = rh_heap_of(cache);
    rh_object *key = rh_str(h, name);
    rh_object *img = rh_weakvaluedict_get(cache, key);
    if (!img) {
        (*misses)++;
        img = rh_instance_new(cls);
        rh_object *data = rh_bytearray(h, NULL, (size_t)1 << 20);
        assert_non_null(data);
        assert_int_equal(rh_setattr(img, "data", data), 0);
        rh_decref(data);
        assert_int_equal(rh_weakvaluedict_set(cache, key, img), 0);
    }
    rh_decref(key);
    return img;
}
static void test_cache_example(void **state) {
    (void)state;
    rh_heap *h = measured_heap();
    rh_class_spec spec = {.name = "Image"};
    rh_object *cls = rh_class_new(h, &spec);
    rh_object *cache = rh_weakvaluedict_new(h);
    int misses = 0;
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    size_t large0 = st.large_bytes;
    rh_object *a = cache_get(cache, cls, "a.png", &misses);
    rh_object *b = cache_get(cache, cls, "b.png", &misses);
    rh_object *a2 = cache_get(cache, cls, "a.png", &misses);
    assert_ptr_equal(a, a2);
    assert_int_equal(misses, 2);
    assert_int_equal(rh_weakvaluedict_size(cache), 2);
    rh_heap_stats_get(h, &st);
    assert_true(st.large_bytes - large0 >= (size_t)2 << 20);
    rh_decref(a);
    assert_int_equal(rh_weakvaluedict_size(cache), 2); /* a2 still out there */
    rh_decref(a2);
    assert_int_equal(rh_weakvaluedict_size(cache), 1);
    rh_decref(b);
    assert_int_equal(rh_weakvaluedict_size(cache), 0);
    rh_heap_stats_get(h, &st);
    assert_true(st.large_bytes - large0 < (size_t)1 << 20); /* the megabytes went */
    /* An image in a cycle (img.self = img) stays until a collection. */
    rh_object *c = cache_get(cache, cls, "c.png", &misses);
    assert_int_equal(rh_setattr(c, "self", c), 0);
    rh_decref(c);
    assert_int_equal(rh_weakvaluedict_size(cache), 1);
    c = cache_get(cache, cls, "c.png", &misses);
    assert_int_equal(misses, 3); /* still cached: a hit */
    rh_decref(c);
    assert_true(rh_gc_collect(h, 2) >= 2); /* the instance and the entry's weakref */
    assert_int_equal(rh_weakvaluedict_size(cache), 0);
    rh_heap_stats_get(h, &st);
    assert_true(st.large_bytes - large0 < (size_t)1 << 20);
    rh_decref(cache);
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* ------------------------------------------------------------------ */
/* Randomized: kill referents during iteration, check against a model  */
/* ------------------------------------------------------------------ */

enum { R_OBJS = 48, R_KEYS = 32, R_MAX = R_OBJS > R_KEYS ? R_OBJS : R_KEYS, R_STEPS = 20000 };

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

typedef struct model {
    int kind;
    rh_heap *h;
    rh_object *c;
    rh_object *objs[R_OBJS]; /* the test's strong references (NULL: dropped) */
    bool cyclic[R_OBJS];     /* in a self-cycle: dies only at a collection */
    bool alive[R_OBJS];      /* the object exists (as the weakrefs see it) */
    long serial[R_OBJS];     /* a fresh id per incarnation */
    int map[R_MAX];          /* WVD: key -> obj; WKD/WS: obj -> value key / 1; -1: none */
    rh_object *keys[R_KEYS];
    long next_id;
} model;

static void m_new_obj(model *m, int i) {
    m->objs[i] = node_new(m->h, m->next_id);
    m->serial[i] = m->next_id++;
    m->cyclic[i] = rnd(4) == 0;
    if (m->cyclic[i]) node_set(m->objs[i], 0, m->objs[i]);
    m->alive[i] = true;
}

/* The entries the model says are live, as a bitmap over the index space. */
static bool m_live(model *m, int idx) {
    if (m->kind == 0) return m->map[idx] >= 0 && m->alive[m->map[idx]];
    return m->map[idx] >= 0 && m->alive[idx];
}

static size_t m_size(model *m) {
    size_t n = 0;
    int lim = m->kind == 0 ? R_KEYS : R_OBJS;
    for (int i = 0; i < lim; i++) n += m_live(m, i);
    return n;
}

static void m_kill(model *m, int i) {
    if (!m->objs[i]) return;
    rh_object *o = m->objs[i];
    m->objs[i] = NULL;
    rh_decref(o);
    if (!m->cyclic[i]) m->alive[i] = false;
}

static void m_collect(model *m) {
    rh_gc_collect(m->h, 2);
    for (int i = 0; i < R_OBJS; i++)
        if (!m->objs[i]) m->alive[i] = false;
}

static void m_insert(model *m) {
    int i = (int)rnd(R_OBJS);
    if (!m->objs[i]) return;
    if (m->kind == 0) {
        int k = (int)rnd(R_KEYS);
        assert_int_equal(rh_weakvaluedict_set(m->c, m->keys[k], m->objs[i]), 0);
        m->map[k] = i;
    } else if (m->kind == 1) {
        int k = (int)rnd(R_KEYS);
        assert_int_equal(rh_weakkeydict_set(m->c, m->objs[i], m->keys[k]), 0);
        m->map[i] = k;
    } else {
        assert_int_equal(rh_weakset_add(m->c, m->objs[i]), 0);
        m->map[i] = 1;
    }
}

static void m_delete(model *m) {
    if (m->kind == 0) {
        int k = (int)rnd(R_KEYS);
        int r = rh_weakvaluedict_del(m->c, m->keys[k]);
        assert_int_equal(r, m_live(m, k) ? 0 : -1);
        m->map[k] = -1;
    } else {
        int i = (int)rnd(R_OBJS);
        if (!m->objs[i]) return;
        int r = m->kind == 1 ? rh_weakkeydict_del(m->c, m->objs[i])
                             : rh_weakset_discard(m->c, m->objs[i]);
        assert_int_equal(r, m_live(m, i) ? (m->kind == 1 ? 0 : 1) : (m->kind == 1 ? -1 : 0));
        m->map[i] = -1;
    }
    rh_err_clear(m->h);
}

/* Iterates, killing objects between steps; checks every yielded entry is
 * live and unique, and that every entry live from start to end was seen. */
static void m_iterate(model *m) {
    int lim = m->kind == 0 ? R_KEYS : R_OBJS;
    bool live_at_start[R_MAX];
    bool seen[R_MAX];
    for (int i = 0; i < lim; i++) {
        live_at_start[i] = m_live(m, i);
        seen[i] = false;
    }
    rh_weakiter it;
    rh_weakiter_begin(&it, m->c);
    rh_object *k, *v;
    while (rh_weakiter_next(&it, &k, &v)) {
        int idx = -1;
        if (m->kind == 0) {
            for (int j = 0; j < R_KEYS; j++)
                if (m->keys[j] == k) idx = j;
            assert_true(idx >= 0);
            assert_int_equal(((node *)v)->id, m->serial[m->map[idx]]);
        } else {
            for (int j = 0; j < R_OBJS; j++)
                if (m->alive[j] && ((node *)k)->id == m->serial[j]) idx = j;
            assert_true(idx >= 0);
            if (m->kind == 1) assert_ptr_equal(v, m->keys[m->map[idx]]);
            else assert_null(v);
        }
        assert_true(m_live(m, idx));
        assert_false(seen[idx]);
        seen[idx] = true;
        rh_decref(k);
        rh_xdecref(v);
        /* kill things mid-iteration (sometimes the one just yielded) */
        int kills = (int)rnd(3);
        for (int x = 0; x < kills; x++) m_kill(m, (int)rnd(R_OBJS));
        if (rnd(16) == 0) m_collect(m);
        assert_int_equal(wsize(m->c), m_size(m));
        if (rnd(8) == 0 && m->kind == 0) {
            /* replacing the value of a present key is allowed */
            int kk = (int)rnd(R_KEYS), oi = (int)rnd(R_OBJS);
            if (m_live(m, kk) && m->objs[oi]) {
                /* keeps its position: visited later with the new value
                 * if it was not visited yet */
                assert_int_equal(rh_weakvaluedict_set(m->c, m->keys[kk], m->objs[oi]), 0);
                m->map[kk] = oi;
            }
        }
    }
    for (int i = 0; i < lim; i++)
        if (live_at_start[i] && m_live(m, i) && !seen[i]) fail_msg("entry %d was skipped", i);
    assert_false(it.open);
}

static void run_random(int kind, uint64_t seed) {
    model m = {.kind = kind, .next_id = 1};
    rng_state = seed;
    m.h = quiet_heap();
    m.c = kind == 0 ? rh_weakvaluedict_new(m.h) : kind == 1 ? rh_weakkeydict_new(m.h)
                                                             : rh_weakset_new(m.h);
    for (int i = 0; i < R_KEYS; i++) m.keys[i] = rh_int(m.h, 1000 + i);
    for (int i = 0; i < R_MAX; i++) m.map[i] = -1;
    for (int i = 0; i < R_OBJS; i++) m_new_obj(&m, i);
    for (int step = 0; step < R_STEPS; step++) {
        uint32_t op = rnd(100);
        if (op < 40) m_insert(&m);
        else if (op < 50) m_delete(&m);
        else if (op < 65) m_kill(&m, (int)rnd(R_OBJS));
        else if (op < 75) {
            int i = (int)rnd(R_OBJS);
            if (!m.objs[i] && !m.alive[i]) {
                m_new_obj(&m, i);
                if (kind != 0) m.map[i] = -1;
                else
                    for (int k = 0; k < R_KEYS; k++)
                        if (m.map[k] == i) m.map[k] = -1;
            }
        } else if (op < 80) m_collect(&m);
        else m_iterate(&m);
        assert_int_equal(wsize(m.c), m_size(&m));
    }
    for (int i = 0; i < R_OBJS; i++) m_kill(&m, i);
    m_collect(&m);
    assert_int_equal(wsize(m.c), 0);
    for (int i = 0; i < R_KEYS; i++) rh_decref(m.keys[i]);
    rh_decref(m.c);
    rh_heap_destroy(m.h);
}

static void test_random_weakvaluedict(void **state) {
    (void)state;
    run_random(0, 0x9e3779b97f4a7c15ull);
    run_random(0, 12345);
}
static void test_random_weakkeydict(void **state) {
    (void)state;
    run_random(1, 0x9e3779b97f4a7c15ull);
    run_random(1, 777);
}
static void test_random_weakset(void **state) {
    (void)state;
    run_random(2, 0x9e3779b97f4a7c15ull);
    run_random(2, 4242);
}

/* ------------------------------------------------------------------ */
/* Out of memory                                                      */
/* ------------------------------------------------------------------ */

/* Every allocation of creating, filling, iterating and sweeping each kind of
 * container fails in turn: nothing leaks, and the container still answers. */
static void test_oom(void **state) {
    (void)state;
    rh_heap *h = measured_heap();
    for (int kind = 0; kind < 3; kind++) {
        int failed = 0, succeeded = 0;
        for (long n = 1; n < 40; n++) {
            rh_heap_stats st0, st1;
            rh_object *objs[4];
            for (int i = 0; i < 4; i++) objs[i] = node_new(h, i);
            rh_object *key = rh_str(h, "key-not-interned-xx");
            rh_heap_stats_get(h, &st0);
            rh_heap_fail_after(h, n, true);
            rh_object *c = kind == 0 ? rh_weakvaluedict_new(h) : kind == 1 ? rh_weakkeydict_new(h)
                                                                           : rh_weakset_new(h);
            int ok = c != NULL;
            if (c) {
                for (int i = 0; i < 4; i++) {
                    int r = 0;
                    if (kind == 0) r = rh_weakvaluedict_set(c, objs[i], objs[(i + 1) % 4]);
                    if (kind == 1) r = rh_weakkeydict_set(c, objs[i], key);
                    if (kind == 2) r = rh_weakset_add(c, objs[i]);
                    if (r < 0) ok = 0;
                }
                rh_weakiter it;
                rh_weakiter_begin(&it, c);
                rh_object *k, *v;
                if (rh_weakiter_next(&it, &k, &v)) {
                    rh_decref(k);
                    rh_xdecref(v);
                }
                rh_weakiter_end(&it);
                (void)wsize(c);
            }
            rh_heap_fail_after(h, 0, false);
            if (ok && rh_err(h) == RH_OK) succeeded++;
            else failed++;
            rh_err_clear(h);
            if (c) {
                size_t before = wsize(c);
                assert_true(before <= 4);
                rh_decref(c);
            }
            rh_heap_stats_get(h, &st1);
            assert_int_equal(st0.bytes_in_use, st1.bytes_in_use);
            for (int i = 0; i < 4; i++) {
                assert_int_equal(rh_weakref_count(objs[i]), 0);
                rh_decref(objs[i]);
            }
            rh_decref(key);
        }
        /* the injector fired, and the runs reached past the last allocation */
        assert_true(failed > 0);
        assert_true(succeeded > 0);
    }
    rh_heap_destroy(h);
}

/* Out of memory in the sweep at the end of an iteration: the removals still
 * happen (one scan per dead entry). */
static void test_oom_in_sweep(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *d = rh_weakvaluedict_new(h);
    rh_object *objs[8];
    for (int i = 0; i < 8; i++) {
        objs[i] = node_new(h, i);
        rh_object *k = rh_int(h, 5000 + i);
        rh_weakvaluedict_set(d, k, objs[i]);
        rh_decref(k);
    }
    rh_weakiter it;
    rh_weakiter_begin(&it, d);
    for (int i = 0; i < 8; i += 2) rh_decref(objs[i]);
    assert_int_equal(rh_weakvaluedict_size(d), 4);
    rh_heap_fail_after(h, 1, true);
    rh_weakiter_end(&it);
    rh_heap_fail_after(h, 0, false);
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(count_weakrefs(h), 4);
    assert_int_equal(rh_weakvaluedict_size(d), 4);
    for (int i = 1; i < 8; i += 2) rh_decref(objs[i]);
    assert_int_equal(rh_weakvaluedict_size(d), 0);
    rh_decref(d);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weakvaluedict_basics),
        cmocka_unit_test(test_weakkeydict_basics),
        cmocka_unit_test(test_weakset_basics),
        cmocka_unit_test(test_destroy_while_iterating),
        cmocka_unit_test(test_nested_iterators_defer),
        cmocka_unit_test(test_refusals_while_iterating),
        cmocka_unit_test(test_container_dies_first),
        cmocka_unit_test(test_escaped_entry_outlives_container),
        cmocka_unit_test(test_container_weakrefcount),
        cmocka_unit_test(test_iteration_opened_by_allocation),
        cmocka_unit_test(test_cache_example),
        cmocka_unit_test(test_random_weakvaluedict),
        cmocka_unit_test(test_random_weakkeydict),
        cmocka_unit_test(test_random_weakset),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_oom_in_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
