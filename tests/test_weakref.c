/*
 * test_weakref.c — weak references and death by reference counting.
 *
 * Ports of CPython 3.11's Lib/test/test_weakref.py cases that do not need the
 * collector (those are in test_weakref_gc.c). Expected outcomes come from
 * running the Python originals with python3.11; each test says which.
 */
#include "weak_testutil.h"

#include "internal.h" /* rh__weakref: a cleared weakref points at nothing */

/* ------------------------------------------------------------------ */

/* test_basic_ref: r() is o while o lives, None after del o. */
static void test_basic_ref(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, NULL, NULL);
    assert_non_null(wr);
    assert_true(rh_is_type(wr, &rh_weakref_type));
    assert_true(rh_weakref_alive(wr));
    assert_int_equal(rh_refcount(o), 1); /* a weakref owns no reference */
    rh_object *got = rh_weakref_get(wr);
    assert_ptr_equal(got, o);
    assert_int_equal(rh_refcount(o), 2);
    rh_decref(got);
    assert_true(rh_gc_is_tracked(wr)); /* CPython tracks its weakrefs */
    rh_decref(o);
    assert_int_equal(node_destroyed, 1);
    assert_false(rh_weakref_alive(wr));
    assert_null(rh_weakref_get(wr));
    assert_int_equal(rh_err(h), RH_OK); /* a dead ref is not an error */
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* weakref.ref(1) etc.: TypeError "cannot create weak reference to 'int' object"
 * for int, str, tuple, list, dict (python3.11). A weakref is not weakrefable
 * either (CPython: "... to 'weakref.ReferenceType' object"). */
static void test_not_weakrefable(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *objs[6];
    objs[0] = rh_int(h, 100000);
    objs[1] = rh_str(h, "text");
    objs[2] = rh_tuple_new(h, 1);
    objs[3] = rh_list_new(h, 0);
    objs[4] = rh_dict_new(h);
    rh_object *o = node_new(h, 1);
    objs[5] = rh_weakref_new(o, NULL, NULL);
    const char *names[6] = {"int", "str", "tuple", "list", "dict", "weakref"};
    for (int i = 0; i < 6; i++) {
        assert_non_null(objs[i]);
        rh_err_clear(h);
        assert_null(rh_weakref_new(objs[i], NULL, NULL));
        assert_int_equal(rh_err(h), RH_EWEAKREF);
        char want[128];
        snprintf(want, sizeof want, "cannot create weak reference to '%s' object", names[i]);
        assert_string_equal(rh_errmsg(h), want);
        /* getweakrefcount / getweakrefs of such objects: 0 and [] */
        assert_int_equal(rh_weakref_count(objs[i]), 0);
        rh_object *l = rh_weakref_list(objs[i]);
        assert_non_null(l);
        assert_int_equal(rh_list_size(l), 0);
        rh_decref(l);
    }
    for (int i = 0; i < 6; i++) rh_decref(objs[i]);
    rh_decref(o);
    rh_heap_destroy(h);
}

/* Class instances are weakrefable as in Python: always for plain classes
 * (unless the spec says no_weakref); __slots__ without __weakref__ (the spec's
 * weakrefable): not. */
static void test_class_instances(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_class_spec yes = {.name = "Plain"};
    static const char *const slots[] = {"x"};
    rh_class_spec no = {.name = "Slotted", .slots = slots, .nslots = 1};
    rh_object *cy = rh_class_new(h, &yes), *cn = rh_class_new(h, &no);
    assert_non_null(cy);
    assert_non_null(cn);
    rh_object *iy = rh_instance_new(cy), *in = rh_instance_new(cn);
    rh_object *wr = rh_weakref_new(iy, NULL, NULL);
    assert_non_null(wr);
    assert_null(rh_weakref_new(in, NULL, NULL));
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    assert_string_equal(rh_errmsg(h), "cannot create weak reference to 'Slotted' object");
    rh_decref(iy);
    assert_false(rh_weakref_alive(wr));
    rh_decref(wr);
    rh_decref(in);
    rh_decref(cy);
    rh_decref(cn);
    rh_heap_destroy(h);
}

/* test_shared_ref_without_callback / test_ref_reuse: ref(o) is ref(o);
 * a ref with a callback is new each time. getweakrefs order measured with
 * python3.11: r = ref(o); r2 = ref(o, cb); r3 = ref(o, cb) ->
 * getweakrefs(o) is [r, r3, r2], getweakrefcount(o) == 3. */
static void test_shared_refs_and_order(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    cblog log = {0};
    cbarg a2 = {&log, 2}, a3 = {&log, 3};
    rh_object *r = rh_weakref_new(o, NULL, NULL);
    rh_object *r_again = rh_weakref_new(o, NULL, NULL);
    assert_ptr_equal(r, r_again);
    assert_int_equal(rh_refcount(r), 2);
    rh_decref(r_again);
    rh_object *r2 = rh_weakref_new(o, log_cb, &a2);
    rh_object *r3 = rh_weakref_new(o, log_cb, &a3);
    assert_ptr_not_equal(r2, r);
    assert_ptr_not_equal(r3, r2);
    assert_int_equal(rh_weakref_count(o), 3);
    rh_object *l = rh_weakref_list(o);
    assert_int_equal(rh_list_size(l), 3);
    assert_ptr_equal(rh_list_get(l, 0), r);
    assert_ptr_equal(rh_list_get(l, 1), r3);
    assert_ptr_equal(rh_list_get(l, 2), r2);
    assert_int_equal(rh_refcount(r), 2); /* the list holds references */
    rh_decref(l);
    assert_int_equal(rh_refcount(r), 1);

    /* Refs with callbacks made before any basic ref: the basic ref still
     * goes first (python3.11: r2=ref(o,cb); r=ref(o) -> getweakrefs [r, r2]). */
    rh_object *p = node_new(h, 2);
    rh_object *p2 = rh_weakref_new(p, log_cb, &a2);
    rh_object *p1 = rh_weakref_new(p, NULL, NULL);
    l = rh_weakref_list(p);
    assert_ptr_equal(rh_list_get(l, 0), p1);
    assert_ptr_equal(rh_list_get(l, 1), p2);
    rh_decref(l);

    /* Dropping the shared ref: the next request makes a new one. */
    rh_decref(p1);
    assert_int_equal(rh_weakref_count(p), 1);
    p1 = rh_weakref_new(p, NULL, NULL);
    assert_int_equal(rh_weakref_count(p), 2);
    assert_int_equal(rh_refcount(p1), 1);

    rh_decref(o);
    /* python3.11: callbacks newest first */
    assert_int_equal(log.n, 2);
    assert_int_equal(log.tags[0], 3);
    assert_int_equal(log.tags[1], 2);
    assert_int_equal(rh_weakref_count(p), 2);
    rh_decref(p);
    assert_int_equal(log.n, 3);
    rh_decref(r);
    rh_decref(r2);
    rh_decref(r3);
    rh_decref(p1);
    rh_decref(p2);
    rh_heap_destroy(h);
}

/* test_basic_callback: the callback runs once, receives the (dead) weakref. */
static rh_object *seen_wr;
static int seen_alive = -1;
static void check_dead_cb(rh_object *wr, void *data) {
    int *calls = data;
    (*calls)++;
    seen_wr = wr;
    seen_alive = rh_weakref_alive(wr);
    assert_null(rh_weakref_get(wr));
}
static void test_basic_callback(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    int calls = 0;
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, check_dead_cb, &calls);
    rh_decref(o);
    assert_int_equal(calls, 1);
    assert_ptr_equal(seen_wr, wr);
    assert_int_equal(seen_alive, 0);
    assert_int_equal(rh_refcount(wr), 1); /* the temporary reference is gone */
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* test_multiple_callbacks: all refs are cleared before any callback runs, and
 * the callbacks run newest first (python3.11: [2, 1] for two). */
#define NMULTI 5
static rh_object *multi_refs[NMULTI + 1];
static int multi_order[NMULTI], multi_n;
static void multi_cb(rh_object *wr, void *data) {
    for (int i = 0; i <= NMULTI; i++) assert_false(rh_weakref_alive(multi_refs[i]));
    (void)wr;
    multi_order[multi_n++] = (int)(intptr_t)data;
}
static void test_multiple_callbacks(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    multi_n = 0;
    for (int i = 0; i < NMULTI; i++) multi_refs[i] = rh_weakref_new(o, multi_cb, (void *)(intptr_t)i);
    multi_refs[NMULTI] = rh_weakref_new(o, NULL, NULL);
    assert_int_equal(rh_weakref_count(o), NMULTI + 1);
    rh_decref(o);
    assert_int_equal(multi_n, NMULTI);
    for (int i = 0; i < NMULTI; i++) assert_int_equal(multi_order[i], NMULTI - 1 - i);
    for (int i = 0; i <= NMULTI; i++) rh_decref(multi_refs[i]);
    rh_heap_destroy(h);
}

/* A weakref that dies before its referent never calls back, and leaves the
 * referent's list. */
static void test_ref_dies_first(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg a = {&log, 1};
    rh_object *o = node_new(h, 1);
    rh_object *w1 = rh_weakref_new(o, log_cb, &a);
    rh_object *w2 = rh_weakref_new(o, log_cb, &a);
    rh_object *w3 = rh_weakref_new(o, log_cb, &a);
    rh_decref(w2);
    assert_int_equal(rh_weakref_count(o), 2);
    rh_decref(w3);
    rh_decref(w1);
    assert_int_equal(rh_weakref_count(o), 0);
    rh_decref(o);
    assert_int_equal(log.n, 0);
    rh_heap_destroy(h);
}

/* A callback may drop the last reference to its own weakref (the test hands
 * it over), create weakrefs with callbacks to other objects, and allocate. */
typedef struct chain_ctx {
    rh_heap *h;
    rh_object *owned_wr;   /* reference handed to the callback */
    rh_object *next_obj;   /* it makes a weakref to this one */
    rh_object *made_wr;
    int calls, second_calls;
} chain_ctx;
static void second_cb(rh_object *wr, void *data) {
    (void)wr;
    ((chain_ctx *)data)->second_calls++;
}
static void chain_cb(rh_object *wr, void *data) {
    chain_ctx *c = data;
    c->calls++;
    assert_ptr_equal(wr, c->owned_wr);
    rh_decref(c->owned_wr); /* the last reference but the caller's temporary one */
    c->owned_wr = NULL;
    c->made_wr = rh_weakref_new(c->next_obj, second_cb, c);
    assert_non_null(c->made_wr);
    for (int i = 0; i < 100; i++) {
        rh_object *junk = node_new(c->h, i);
        rh_object *jw = rh_weakref_new(junk, second_cb, c); /* dies first: no call */
        rh_decref(jw);
        rh_decref(junk);
    }
}
static void test_callback_drops_own_ref_and_allocates(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    chain_ctx c = {.h = h};
    rh_object *o = node_new(h, 1);
    c.next_obj = node_new(h, 2);
    c.owned_wr = rh_weakref_new(o, chain_cb, &c);
    rh_decref(o);
    assert_int_equal(c.calls, 1);
    assert_null(c.owned_wr);
    assert_int_equal(c.second_calls, 0);
    assert_int_equal(rh_weakref_count(c.next_obj), 1);
    rh_decref(c.next_obj);
    assert_int_equal(c.second_calls, 1);
    rh_decref(c.made_wr);
    assert_int_equal(node_destroyed, 102);
    rh_heap_destroy(h);
}

/* A callback that runs the collector during a death by refcount. */
typedef struct gc_ctx {
    rh_heap *h;
    intptr_t got;
    int calls;
} gc_ctx;
static void collect_cb(rh_object *wr, void *data) {
    (void)wr;
    gc_ctx *c = data;
    c->calls++;
    c->got = rh_gc_collect(c->h, 2);
}
static void test_callback_collects(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    gc_ctx c = {.h = h};
    /* a cycle for the callback's collection to find: 2 objects */
    rh_object *a, *b;
    node_pair(h, 10, 11, &a, &b);
    rh_decref(a);
    rh_decref(b);
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, collect_cb, &c);
    rh_decref(o);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.got, 2);
    assert_int_equal(node_destroyed, 3);
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* CPython keeps a pending exception across callbacks: an error already set
 * on the heap survives, and an error the callback sets does not leak. */
static rh_error err_inside;
static void err_cb(rh_object *wr, void *data) {
    (void)wr;
    rh_heap *h = data;
    err_inside = rh_err(h);
    rh_err_set(h, RH_EVALUE, "set by the callback");
}
static void test_pending_error_survives(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, err_cb, h);
    rh_err_set(h, RH_EKEY, "pending %d", 42);
    rh_decref(o);
    assert_int_equal(err_inside, RH_OK); /* the callback starts clean */
    assert_int_equal(rh_err(h), RH_EKEY);
    assert_string_equal(rh_errmsg(h), "pending 42");
    rh_err_clear(h);
    o = node_new(h, 2);
    rh_object *wr2 = rh_weakref_new(o, err_cb, h);
    rh_decref(o);
    assert_int_equal(rh_err(h), RH_OK); /* nothing leaks out */
    rh_decref(wr);
    rh_decref(wr2);
    rh_heap_destroy(h);
}

/* test_hashing / test_equality (python3.11): hash(ref(o)) == hash(o); the hash
 * is remembered after o dies; hashing a dead ref never hashed: TypeError
 * "weak object has gone away". Refs compare by referent while both live
 * (ref(a) == ref(b) when a == b), otherwise by identity. */
static void test_hash_and_equality(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *a = node_new(h, 7), *b = node_new(h, 7), *c = node_new(h, 8);
    rh_object *wa = rh_weakref_new(a, NULL, NULL);
    rh_object *wb = rh_weakref_new(b, NULL, NULL);
    rh_object *wc = rh_weakref_new(c, NULL, NULL);
    rh_object *wa2 = rh_weakref_new(a, noop_cb, NULL);
    assert_int_equal(rh_hash(wa), rh_hash(a));
    assert_int_equal(rh_hash(wa), 7);
    assert_int_equal(rh_equal(wa, wb), 1);  /* a == b */
    assert_int_equal(rh_equal(wa, wc), 0);
    assert_int_equal(rh_equal(wa, wa2), 1); /* same referent */
    assert_int_equal(rh_equal(wa, a), 0);   /* a weakref is not its referent */
    rh_decref(b);
    assert_int_equal(rh_equal(wa, wb), 0);  /* one dead: identity */
    assert_int_equal(rh_equal(wb, wb), 1);
    rh_decref(a);
    assert_int_equal(rh_hash(wa), 7);       /* remembered */
    assert_int_equal(rh_equal(wa, wa2), 0); /* both dead, different objects */
    rh_decref(c);
    rh_err_clear(h);
    assert_int_equal(rh_hash(wc), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_string_equal(rh_errmsg(h), "weak object has gone away");
    rh_err_clear(h);
    /* Usable as dict keys, also after death (their hash was computed). */
    rh_object *d = rh_dict_new(h);
    rh_object *x = node_new(h, 3);
    rh_object *wx = rh_weakref_new(x, NULL, NULL);
    rh_object *one = rh_int(h, 1);
    assert_int_equal(rh_dict_set(d, wx, one), 0);
    rh_object *x2 = node_new(h, 3);
    rh_object *wx2 = rh_weakref_new(x2, NULL, NULL);
    assert_ptr_equal(rh_dict_get(d, wx2), one); /* equal referents */
    rh_decref(x);
    assert_null(rh_dict_get(d, wx2));             /* dead key: identity */
    assert_int_equal(rh_err(h), RH_OK);
    assert_ptr_equal(rh_dict_get(d, wx), one);
    assert_int_equal(rh_dict_del(d, wx), 0);
    rh_decref(one);
    rh_decref(d);
    rh_decref(wx);
    rh_decref(wx2);
    rh_decref(x2);
    rh_decref(wa);
    rh_decref(wb);
    rh_decref(wc);
    rh_decref(wa2);
    rh_heap_destroy(h);
}

/* repr as CPython's: "<weakref at 0x..; to 'C' at 0x..>", "<weakref at 0x..; dead>" */
static void test_repr(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, NULL, NULL);
    rh_assert_repr(wr, "<weakref at %p; to 'node' at %p>", (void *)wr, (void *)o);
    rh_decref(o);
    rh_assert_repr(wr, "<weakref at %p; dead>", (void *)wr);
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* REFERENCE.md §7: after a resurrection by refcount (__del__ when the count
 * hit zero) the weakrefs stay alive and their callbacks run only at the
 * object's final death, once; the finalizer does not run again. */
static void test_resurrection_by_refcount(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    cblog log = {0};
    cbarg a = {&log, 1};
    node_resurrect_into = rh_list_new(h, 0);
    rh_object *o = node_new_t(h, &node_fin_type, 1);
    rh_object *wr = rh_weakref_new(o, log_cb, &a);
    rh_object *basic = rh_weakref_new(o, NULL, NULL);
    rh_decref(o);
    assert_int_equal(node_finalized, 1);
    assert_int_equal(node_destroyed, 0);
    assert_int_equal(log.n, 0);
    assert_true(rh_weakref_alive(wr));
    assert_true(rh_weakref_alive(basic));
    assert_int_equal(rh_weakref_count(o), 2);
    rh_list_clear(node_resurrect_into);
    assert_int_equal(node_finalized, 1);
    assert_int_equal(node_destroyed, 1);
    assert_int_equal(log.n, 1);
    assert_false(rh_weakref_alive(wr));
    assert_false(rh_weakref_alive(basic));
    rh_decref(node_resurrect_into);
    node_resurrect_into = NULL;
    rh_decref(wr);
    rh_decref(basic);
    rh_heap_destroy(h);
}

/* A callback that reaches its dead referent through a stale pointer cannot
 * hang a new weakref on it (it would dangle once the object is freed). */
static rh_error dying_err;
static void dying_cb(rh_object *wr, void *data) {
    (void)wr;
    rh_object *o = data;
    assert_null(rh_weakref_new(o, NULL, NULL));
    dying_err = rh_err(rh_heap_of(wr));
}
static void test_no_weakref_to_dying_object(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, dying_cb, o);
    rh_decref(o);
    assert_int_equal(dying_err, RH_ESTATE);
    assert_int_equal(rh_err(h), RH_OK);
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* sys.getsizeof(weakref.ref(o)) == 80 and a WeakValueDictionary entry
 * (KeyedRef) is 88 in python3.11; neither is weakrefable ("cannot create weak
 * reference to 'KeyedRef' object"). Both figures count CPython's 16-byte GC
 * header: rh_test_cpython_size gives them on the heap's layout. */
static void test_sizes(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *o = node_new(h, 1);
    rh_object *wr = rh_weakref_new(o, NULL, NULL);
    assert_int_equal(rh_sizeof(wr), rh_test_cpython_size(h, 80));
    rh_object *d = rh_weakvaluedict_new(h);
    rh_object *k = rh_str(h, "k");
    assert_int_equal(rh_weakvaluedict_set(d, k, o), 0);
    rh_object *refs = rh_weakref_list(o);
    assert_int_equal(rh_list_size(refs), 2);
    rh_object *entry = rh_list_get(refs, 1);
    assert_string_equal(rh_type_name(entry), "KeyedRef");
    assert_int_equal(rh_sizeof(entry), rh_test_cpython_size(h, 88));
    assert_true(rh_weakref_alive(entry));
    assert_null(rh_weakref_new(entry, NULL, NULL));
    assert_string_equal(rh_errmsg(h), "cannot create weak reference to 'KeyedRef' object");
    rh_err_clear(h);
    rh_object *got = rh_weakref_get(entry);
    assert_ptr_equal(got, o);
    rh_decref(got);
    rh_decref(refs);
    rh_decref(o);
    assert_int_equal(rh_weakvaluedict_size(d), 0);
    rh_decref(k);
    rh_decref(d);
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* Weak references made by a legacy_del (tp_del) to its own object do not
 * outlive it: as CPython's subtype_dealloc, they are cleared once more after
 * legacy_del, without their callbacks (the object is partly torn down). This
 * covers a plain weakref, one with a callback, a weak-set entry and a
 * finalize registration; before the fix each kept a pointer to the freed
 * object (a use-after-free when the weakref is read or freed). */
static rh_object *ld_refs[2];
static rh_object *ld_set, *ld_fin;
static cblog ld_log;
static cbarg ld_arg = {&ld_log, 1};
static int ld_fin_runs;
static void ld_fin_fn(void *data) {
    (void)data;
    ld_fin_runs++;
}
static void ld_legacy_del(rh_object *self) {
    ld_refs[0] = rh_weakref_new(self, NULL, NULL);
    ld_refs[1] = rh_weakref_new(self, log_cb, &ld_arg);
    assert_int_equal(rh_weakset_add(ld_set, self), 0);
    ld_fin = rh_finalize_new(self, ld_fin_fn, NULL);
    assert_non_null(ld_fin);
}
static const rh_type node_legacy_type = {WT_NODE_TYPE_INIT("legacynode"),
                                         .legacy_del = ld_legacy_del};

static void test_weakrefs_made_by_legacy_del(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    ld_log.n = 0;
    ld_fin_runs = 0;
    ld_set = rh_weakset_new(h);
    rh_object *o = node_new_t(h, &node_legacy_type, 1);
    rh_decref(o); /* legacy_del runs, does not resurrect: o is freed */
    assert_int_equal(node_destroyed, 1);
    for (int i = 0; i < 2; i++) {
        assert_non_null(ld_refs[i]);
        assert_null(((rh__weakref *)ld_refs[i])->referent);
        assert_false(rh_weakref_alive(ld_refs[i]));
    }
    /* A new object of the same type may take the freed block: the old
     * weakrefs must not see it. */
    rh_object *o2 = node_new_t(h, &node_type, 2);
    for (int i = 0; i < 2; i++) assert_null(rh_weakref_get(ld_refs[i]));
    assert_int_equal(rh_weakref_count(o2), 0);
    assert_int_equal(ld_log.n, 0); /* no callback: cleared, not killed */
    /* the set's entry is dead; iteration skips it */
    rh_weakiter it;
    rh_object *k;
    rh_weakiter_begin(&it, ld_set);
    assert_false(rh_weakiter_next(&it, &k, NULL));
    /* the finalizer's weakref is dead without having called it */
    assert_int_equal(ld_fin_runs, 0);
    assert_null(rh_finalize_peek(ld_fin, NULL, NULL));
    assert_true(rh_finalize_alive(ld_fin));
    rh_decref(o2);
    for (int i = 0; i < 2; i++) rh_decref(ld_refs[i]);
    rh_decref(ld_set);
    rh_decref(ld_fin);
    /* still registered, as in CPython (its weakref never called it): it runs
     * at exit like any registered finalizer */
    rh_heap_destroy(h);
    assert_int_equal(ld_fin_runs, 1);
}

/* An unshared weak reference without a callback (CPython: an instance of a
 * subclass of weakref.ref). python3.11: class R(weakref.ref): pass;
 * r0 = ref(b); r1 = R(b); r2 = ref(b, cb); r3 = R(b) ->
 * getweakrefs(b) == [r0, r3, r2, r1]; R(b) is not R(b); ref(b) is r0.
 * With no basic ref yet: u = R(c); r = ref(c) -> getweakrefs(c) == [r, u]. */
static void test_weakref_new_unshared(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *b = node_new(h, 1);
    rh_object *r0 = rh_weakref_new(b, NULL, NULL);
    rh_object *r1 = rh_weakref_new_unshared(b);
    rh_object *r2 = rh_weakref_new(b, noop_cb, NULL);
    rh_object *r3 = rh_weakref_new_unshared(b);
    assert_non_null(r1);
    assert_non_null(r3);
    assert_ptr_not_equal(r1, r3);
    assert_ptr_not_equal(r1, r0);
    assert_true(rh_is_type(r1, &rh_weakref_type));
    rh_object *again = rh_weakref_new(b, NULL, NULL);
    assert_ptr_equal(again, r0);
    rh_decref(again);
    assert_int_equal(rh_weakref_count(b), 4);
    rh_object *l = rh_weakref_list(b);
    assert_int_equal(rh_list_size(l), 4);
    assert_ptr_equal(rh_list_get(l, 0), r0);
    assert_ptr_equal(rh_list_get(l, 1), r3);
    assert_ptr_equal(rh_list_get(l, 2), r2);
    assert_ptr_equal(rh_list_get(l, 3), r1);
    rh_decref(l);
    rh_object *got = rh_weakref_get(r1);
    assert_ptr_equal(got, b);
    rh_decref(got);
    assert_true(rh_equal(r1, r0) == 1); /* equal while alive */

    rh_object *c = node_new(h, 2);
    rh_object *u = rh_weakref_new_unshared(c);
    rh_object *r = rh_weakref_new(c, NULL, NULL);
    assert_ptr_not_equal(u, r);
    l = rh_weakref_list(c);
    assert_int_equal(rh_list_size(l), 2);
    assert_ptr_equal(rh_list_get(l, 0), r);
    assert_ptr_equal(rh_list_get(l, 1), u);
    rh_decref(l);

    rh_decref(b);
    rh_decref(c);
    assert_int_equal(node_destroyed, 2);
    assert_null(rh_weakref_get(r1));
    assert_null(rh_weakref_get(u));
    assert_false(rh_weakref_alive(r3));
    rh_object *objs[] = {r0, r1, r2, r3, u, r};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) rh_decref(objs[i]);

    /* errors as rh_weakref_new */
    rh_object *big = rh_int(h, 123456);
    assert_null(rh_weakref_new_unshared(big));
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    rh_decref(big);
    rh_heap_destroy(h);
}

/* Misuse through the public API: a non-weakref passed to rh_weakref_get. */
static void test_get_wrong_type(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    rh_object *l = rh_list_new(h, 0);
    assert_null(rh_weakref_get(l));
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_false(rh_weakref_alive(l));
    rh_decref(l);
    rh_heap_destroy(h);
}

/* Out of memory at each allocation of a weakref creation (and of
 * getweakrefs) leaks nothing and leaves the object's list intact. */
static void test_oom(void **state) {
    (void)state;
    rh_heap *h = measured_heap();
    rh_object *o = node_new(h, 1);
    rh_object *keep = rh_weakref_new(o, NULL, NULL);
    rh_heap_stats st0, st1;
    int failed = 0, succeeded = 0;
    for (long n = 1; n < 20; n++) {
        rh_heap_stats_get(h, &st0);
        rh_heap_fail_after(h, n, true);
        rh_object *w = rh_weakref_new(o, noop_cb, NULL);
        rh_object *l = rh_weakref_list(o);
        rh_heap_fail_after(h, 0, false);
        if (!w || !l) {
            failed++;
            assert_int_equal(rh_err(h), RH_ENOMEM);
        } else {
            succeeded++;
        }
        rh_err_clear(h);
        rh_xdecref(w);
        rh_xdecref(l);
        rh_heap_stats_get(h, &st1);
        assert_int_equal(st0.bytes_in_use, st1.bytes_in_use);
        assert_int_equal(rh_weakref_count(o), 1);
    }
    /* the injector fired, and the runs reached past the last allocation */
    assert_true(failed > 0);
    assert_true(succeeded > 0);
    rh_decref(o);
    assert_false(rh_weakref_alive(keep));
    rh_decref(keep);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_ref),
        cmocka_unit_test(test_not_weakrefable),
        cmocka_unit_test(test_class_instances),
        cmocka_unit_test(test_shared_refs_and_order),
        cmocka_unit_test(test_basic_callback),
        cmocka_unit_test(test_multiple_callbacks),
        cmocka_unit_test(test_ref_dies_first),
        cmocka_unit_test(test_callback_drops_own_ref_and_allocates),
        cmocka_unit_test(test_callback_collects),
        cmocka_unit_test(test_pending_error_survives),
        cmocka_unit_test(test_hash_and_equality),
        cmocka_unit_test(test_repr),
        cmocka_unit_test(test_resurrection_by_refcount),
        cmocka_unit_test(test_no_weakref_to_dying_object),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_get_wrong_type),
        cmocka_unit_test(test_weakrefs_made_by_legacy_del),
        cmocka_unit_test(test_weakref_new_unshared),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
