/*
 * test_set.c — the set type: operations and errors, CPython 3.11's size
 * figures and key placement (iteration order), repr, equality, tracking,
 * weak references, comparisons that mutate the set, and out of memory.
 * Expected figures were measured with python3 (3.11.7) as each comment says.
 */
#include "cont_test.h"

static void test_basic_ops(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *s = rh_set_new(h);
    assert_non_null(s);
    assert_true(rh_gc_is_tracked(s)); /* gc.is_tracked(set()) is True */
    assert_int_equal(rh_set_size(s), 0);
    rh_object *a = ct_int(h, 1000), *a2 = ct_int(h, 1000), *b = rh_str(h, "b");
    assert_int_equal(rh_set_add(s, a), 0);
    assert_int_equal(rh_refcount(a), 2);
    assert_int_equal(rh_set_add(s, a2), 0); /* equal: no change, the first key stays */
    assert_int_equal(rh_refcount(a2), 1);
    assert_int_equal(rh_set_size(s), 1);
    assert_int_equal(rh_set_add(s, b), 0);
    assert_int_equal(rh_set_contains(s, a2), 1);
    assert_int_equal(rh_set_contains(s, b), 1);
    rh_object *c = ct_int(h, 5);
    assert_int_equal(rh_set_contains(s, c), 0);
    assert_int_equal(rh_set_discard(s, c), 0); /* absent: 0, no error */
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_set_discard(s, a2), 1);
    assert_int_equal(rh_refcount(a), 1);
    assert_int_equal(rh_set_size(s), 1);
    assert_int_equal(rh_set_contains(s, a), 0);
    /* 1 and 1.0 are one element: {1, 1.0} == {1} */
    rh_object *one = rh_int(h, 1), *onef = rh_float(h, 1.0);
    rh_set_add(s, one);
    rh_set_add(s, onef);
    assert_int_equal(rh_set_size(s), 2);
    assert_int_equal(rh_set_contains(s, rh_True), 1);
    /* next */
    size_t pos = 0, n = 0;
    rh_object *k;
    while (rh_set_next(s, &pos, &k)) {
        assert_true(k == one || k == b);
        n++;
    }
    assert_int_equal(n, 2);
    assert_int_equal(rh_set_clear(s), 0);
    assert_int_equal(rh_set_size(s), 0);
    assert_int_equal(rh_refcount(b), 1);
    pos = 0;
    assert_false(rh_set_next(s, &pos, &k));
    rh_set_add(s, b);
    assert_int_equal(rh_set_contains(s, b), 1);
    rh_decref(s);
    assert_int_equal(rh_refcount(b), 1);
    rh_object *objs[] = {a, a2, b, c, one, onef};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* set().add([]) → TypeError: unhashable type: 'list'; also `in` and discard. */
static void test_unhashable(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *s = rh_set_new(h), *l = rh_list_new(h, 0), *d = rh_dict_new(h);
    assert_int_equal(rh_set_add(s, l), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_set_add(s, d), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_set_add(s, s), -1); /* sets are unhashable too */
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_set_contains(s, l), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_set_discard(s, l), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_set_size(s), 0);
    rh_decref(s);
    rh_decref(l);
    rh_decref(d);
    rh_heap_destroy(h);
}

/* The figures of the size tests below are CPython's, which count its 16-byte
 * GC header: rh_test_cpython_size gives each on the heap's layout (16 fewer
 * without the collector's record). */

/* s = set(); for i in range(40): s.add(i); sys.getsizeof(s) after each
 * (python3 3.11): 216 up to 4 items (the built-in table of 8), 728 from 5
 * (32 entries of 16 bytes), 2264 from 19 (128 entries). s.clear() → 216. */
static void test_sizes_growth(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *s = rh_set_new(h);
    assert_int_equal(rh_sizeof(s), rh_test_cpython_size(h, 216));
    for (int i = 0; i < 40; i++) {
        rh_object *k = rh_int(h, i);
        rh_set_add(s, k);
        rh_decref(k);
        size_t want = i < 4 ? 216 : i < 18 ? 728 : 2264;
        assert_int_equal(rh_sizeof(s), rh_test_cpython_size(h, want));
    }
    rh_set_clear(s);
    assert_int_equal(rh_sizeof(s), rh_test_cpython_size(h, 216));
    rh_decref(s);
    rh_heap_destroy(h);
}

/* Deleted entries and their reuse, python3 3.11: s = set(); add 0..17
 * (728 bytes, 32 entries); discard the first d keys; add them back in the
 * same order: the size changes at the n-th addition (None: never):
 *   d = 1..10 → None, 2, 3, 3, 4, 4, 5, 5, 6, 6; in reverse order: never.
 * An addition reuses the last deleted entry its search passed. */
static void test_dummy_reuse_matches_cpython(void **state) {
    (void)state;
    const int want_forward[11] = {0, 0, 2, 3, 3, 4, 4, 5, 5, 6, 6};
    rh_heap *h = ct_heap();
    for (int d = 1; d <= 10; d++) {
        for (int reverse = 0; reverse < 2; reverse++) {
            rh_object *s = rh_set_new(h);
            for (int i = 0; i < 18; i++) {
                rh_object *k = rh_int(h, i);
                rh_set_add(s, k);
                rh_decref(k);
            }
            assert_int_equal(rh_sizeof(s), rh_test_cpython_size(h, 728));
            for (int i = 0; i < d; i++) {
                rh_object *k = rh_int(h, i);
                assert_int_equal(rh_set_discard(s, k), 1);
                rh_decref(k);
            }
            int changed_at = 0;
            for (int n = 0; n < d; n++) {
                rh_object *k = rh_int(h, reverse ? d - 1 - n : n);
                rh_set_add(s, k);
                rh_decref(k);
                if (!changed_at && rh_sizeof(s) != rh_test_cpython_size(h, 728)) changed_at = n + 1;
            }
            assert_int_equal(changed_at, reverse ? 0 : want_forward[d]);
            assert_int_equal(rh_set_size(s), 18);
            rh_decref(s);
        }
    }
    rh_heap_destroy(h);
}

/* Pseudo-random add/discard sequences replayed in python3 3.11 (see
 * the generator in the comment): the sizes change at the same steps, the
 * final count matches, and the keys come out in CPython's iteration order
 * (fingerprint = sum of (position + 1) * key mod 2**61 - 1).
 *   x = seed; for step in range(nsteps):
 *       x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
 *       add = (x >> 33) % 100 < addpct
 *       k = ((x >> 40) % krange) * [1, 1, 1, 7, 31, 1000003][(x >> 20) % 6]
 *       s.add(k) if add else s.discard(k) */
typedef struct replay {
    uint64_t seed;
    int nsteps, addpct;
    uint64_t krange;
    size_t final_len;
    uint64_t fingerprint;
    int nchanges;
    int change_step[6];
    size_t change_size[6];
} replay;

static const replay replays[] = {
    {12345, 600, 60, 200, 214, 597890513282u, 3, {9, 27, 146}, {728, 2264, 8408}},
    {777, 3000, 52, 60, 124, 79875362129u, 3, {13, 49, 231}, {728, 2264, 8408}},
    {99, 5000, 70, 3000, 2694, 1320124064446929u, 5, {9, 27, 103, 419, 1870},
     {728, 2264, 8408, 32984, 131288}},
    {4242, 4000, 50, 100000, 2006, 17377891408515135u, 5, {11, 38, 151, 589, 2419},
     {728, 2264, 8408, 32984, 131288}},
    {4242, 4000, 55, 400, 716, 14564449796951u, 4, {11, 36, 134, 633}, {728, 2264, 8408, 32984}},
};

static void test_replay_against_cpython(void **state) {
    (void)state;
    const int64_t mults[6] = {1, 1, 1, 7, 31, 1000003};
    const uint64_t P61 = (UINT64_C(1) << 61) - 1;
    rh_heap *h = ct_heap();
    for (size_t r = 0; r < sizeof replays / sizeof replays[0]; r++) {
        const replay *rp = &replays[r];
        rh_object *s = rh_set_new(h);
        uint64_t x = rp->seed;
        size_t last = rh_sizeof(s);
        int nch = 0;
        for (int step = 0; step < rp->nsteps; step++) {
            x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            bool add = (x >> 33) % 100 < (uint64_t)rp->addpct;
            rh_object *k = rh_int(h, (int64_t)((x >> 40) % rp->krange) * mults[(x >> 20) % 6]);
            if (add) assert_int_equal(rh_set_add(s, k), 0);
            else assert_true(rh_set_discard(s, k) >= 0);
            rh_decref(k);
            size_t sz = rh_sizeof(s);
            if (sz != last) {
                assert_true(nch < rp->nchanges);
                assert_int_equal(step, rp->change_step[nch]);
                assert_int_equal(sz, rh_test_cpython_size(h, rp->change_size[nch]));
                nch++;
                last = sz;
            }
        }
        assert_int_equal(nch, rp->nchanges);
        assert_int_equal(rh_set_size(s), rp->final_len);
        size_t pos = 0, i = 0;
        rh_object *k;
        uint64_t fp = 0;
        while (rh_set_next(s, &pos, &k)) {
            fp = (uint64_t)(((unsigned __int128)(i + 1) * (uint64_t)rh_int_value(k) + fp) % P61);
            i++;
        }
        assert_int_equal(i, rp->final_len);
        assert_int_equal(fp, rp->fingerprint);
        rh_decref(s);
    }
    rh_heap_destroy(h);
}

/* repr({1, 2}) == "{1, 2}", repr(set()) == "set()", repr({'a'}) == "{'a'}",
 * repr({3, 1, 2}) == "{1, 2, 3}" (python3: small ints sit at their hash). */
static void test_repr_and_eq(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *s = rh_set_new(h), *t = rh_set_new(h);
    assert_string_equal(ct_repr(s), "set()");
    assert_int_equal(rh_equal(s, t), 1);
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2), *three = rh_int(h, 3);
    rh_set_add(s, three);
    rh_set_add(s, one);
    rh_set_add(s, two);
    assert_string_equal(ct_repr(s), "{1, 2, 3}");
    rh_set_add(t, two);
    rh_set_add(t, one);
    assert_int_equal(rh_equal(s, t), 0);
    rh_set_add(t, three);
    assert_int_equal(rh_equal(s, t), 1); /* {3, 1, 2} == {2, 1, 3} */
    rh_object *u = rh_set_new(h);
    rh_object *a = rh_str(h, "a");
    rh_set_add(u, a);
    assert_string_equal(ct_repr(u), "{'a'}");
    assert_int_equal(rh_equal(s, u), 0);
    rh_object *l = rh_list_new(h, 0);
    assert_int_equal(rh_equal(s, l), 0);
    /* a set inside a list inside ... prints normally; the guard only stops
     * real recursion */
    rh_list_append(l, s);
    rh_list_append(l, s);
    assert_string_equal(ct_repr(l), "[{1, 2, 3}, {1, 2, 3}]");
    rh_decref(l);
    rh_decref(a);
    rh_decref(u);
    rh_decref(s);
    rh_decref(t);
    rh_decref(one);
    rh_decref(two);
    rh_decref(three);
    rh_heap_destroy(h);
}

/* A set holding a tuple holding the set: traverse finds the path back. */
static void test_cycle_through_tuple(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *s = rh_set_new(h);
    rh_object *l = rh_list_new(h, 0);
    rh_object *t = rh_tuple_pack(h, 1, l); /* hashable?  no: holds a list */
    assert_int_equal(rh_set_add(s, t), -1);
    rh_err_clear(h);
    rh_decref(t);
    rh_list_append(l, s);
    rh_object *one = rh_int(h, 1);
    rh_object *t2 = rh_tuple_pack(h, 1, one);
    rh_set_add(s, t2);
    ct_visits v = {t2, 0, 0};
    assert_int_equal(rh_set_type.traverse(s, ct_count_visit, &v), 0);
    assert_int_equal(v.hits, 1);
    assert_int_equal(v.total, 1);
    rh_decref(t2);
    rh_decref(one);
    rh_decref(l);
    rh_decref(s);
    rh_heap_destroy(h);
}

/* weakref.ref(set()) works in Python: sets support weak references. */
static void test_weakref(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *s = rh_set_new(h);
    rh_object *wr = rh_weakref_new(s, NULL, NULL);
    assert_non_null(wr);
    assert_true(rh_weakref_alive(wr));
    rh_decref(s);
    assert_false(rh_weakref_alive(wr));
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Comparisons that mutate the set.
 * ------------------------------------------------------------------------- */
static rh_object *victim;
static rh_heap *victim_heap;
static void grow_victim(void) {
    for (int i = 0; i < 40; i++) {
        rh_object *k = rh_int(victim_heap, 7000 + i);
        rh_set_add(victim, k);
        rh_decref(k);
    }
}
static void clear_victim(void) { rh_set_clear(victim); }

static void test_eq_mutates_set(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    victim_heap = h;
    victim = rh_set_new(h);
    rh_object *e0 = ct_evil_new(h, 0), *probe = ct_evil_new(h, 1);
    rh_set_add(victim, e0);
    ct_evil_hook = grow_victim;
    assert_int_equal(rh_set_contains(victim, probe), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_err_clear(h);
    assert_int_equal(rh_set_size(victim), 41);
    rh_decref(e0); /* only the set holds it now */
    ct_evil_hook = clear_victim;
    assert_int_equal(rh_set_add(victim, probe), -1);
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_err_clear(h);
    assert_int_equal(rh_set_size(victim), 0);
    assert_int_equal(rh_set_add(victim, probe), 0);
    rh_object *probe2 = ct_evil_new(h, 1);
    assert_int_equal(rh_set_discard(victim, probe2), 1); /* found by equality */
    rh_object *bad = rh_new(h, &ct_faileq_type), *bad2 = rh_new(h, &ct_faileq_type);
    rh_set_add(victim, bad);
    assert_int_equal(rh_set_contains(victim, bad2), -1);
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);
    rh_decref(bad);
    rh_decref(bad2);
    rh_decref(probe);
    rh_decref(probe2);
    rh_decref(victim);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Out of memory at each allocation of an operation sequence.
 * ------------------------------------------------------------------------- */
static int oom_sequence(rh_heap *h, rh_object *s, char *before, size_t cap) {
    for (int i = 0; i < 60; i++) {
        rh_repr(s, before, cap);
        rh_object *k = rh_int(h, 1000 + i * 3);
        if (!k) return -1;
        int r = rh_set_add(s, k);
        rh_decref(k);
        if (r < 0) return -1;
        if (i % 3 == 2) {
            rh_repr(s, before, cap);
            k = rh_int(h, 1000 + (i - 1) * 3);
            if (!k) return -1;
            r = rh_set_discard(s, k);
            rh_decref(k);
            if (r < 0) return -1;
        }
    }
    return 0;
}

static void test_oom_every_allocation(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    ct_oom_every_allocation(h, rh_set_new, oom_sequence, 10);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_ops),
        cmocka_unit_test(test_unhashable),
        cmocka_unit_test(test_sizes_growth),
        cmocka_unit_test(test_dummy_reuse_matches_cpython),
        cmocka_unit_test(test_replay_against_cpython),
        cmocka_unit_test(test_repr_and_eq),
        cmocka_unit_test(test_cycle_through_tuple),
        cmocka_unit_test(test_weakref),
        cmocka_unit_test(test_eq_mutates_set),
        cmocka_unit_test(test_oom_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
