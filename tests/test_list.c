/*
 * test_list.c — the list type: every operation and error, CPython 3.11's
 * growth figures (sys.getsizeof), repr, equality, re-entrant comparisons,
 * self-cycles, freeing a million nested lists on a small stack, and out of
 * memory at every allocation of an operation sequence.
 * Expected figures were measured with python3 (3.11.7) as each comment says.
 */
#include "cont_test.h"


static void test_basic_ops(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 0);
    assert_non_null(l);
    assert_int_equal(rh_list_size(l), 0);
    rh_object *a = ct_int(h, 1000), *b = ct_int(h, 2000), *c = ct_int(h, 3000);
    assert_int_equal(rh_list_append(l, a), 0);
    assert_int_equal(rh_list_append(l, b), 0);
    assert_int_equal(rh_list_append(l, c), 0);
    /* Setters take their own reference. */
    assert_int_equal(rh_refcount(a), 2);
    assert_int_equal(rh_list_size(l), 3);
    assert_ptr_equal(rh_list_get(l, 0), a);
    assert_ptr_equal(rh_list_get(l, -1), c); /* l[-1] */
    assert_ptr_equal(rh_list_get(l, -3), a);
    assert_null(rh_list_get(l, 3));
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);
    assert_null(rh_list_get(l, -4));
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);
    assert_string_equal(ct_repr(l), "[1000, 2000, 3000]");

    /* set: replaces and drops the old reference */
    assert_int_equal(rh_list_set(l, -2, c), 0);
    assert_int_equal(rh_refcount(b), 1);
    assert_int_equal(rh_refcount(c), 3);
    assert_int_equal(rh_list_set(l, 5, a), -1);
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);
    assert_int_equal(rh_list_set(l, 1, b), 0);

    /* insert clamps like Python: l.insert(-100, x) goes first, l.insert(100, x) last */
    rh_object *s = rh_int(h, 7), *t = rh_int(h, 8), *u = rh_int(h, 9);
    assert_int_equal(rh_list_insert(l, -100, s), 0);
    assert_int_equal(rh_list_insert(l, 100, t), 0);
    assert_int_equal(rh_list_insert(l, -1, u), 0); /* before the last item */
    assert_string_equal(ct_repr(l), "[7, 1000, 2000, 3000, 9, 8]");
    assert_int_equal(rh_list_insert(l, 2, s), 0);
    assert_string_equal(ct_repr(l), "[7, 1000, 7, 2000, 3000, 9, 8]");

    /* index / remove (first equal item) */
    assert_int_equal(rh_list_index(l, s), 0);
    rh_object *k2000 = ct_int(h, 2000); /* equal, not identical */
    assert_int_equal(rh_list_index(l, k2000), 3);
    assert_int_equal(rh_list_remove(l, s), 0);
    assert_string_equal(ct_repr(l), "[1000, 7, 2000, 3000, 9, 8]");
    assert_int_equal(rh_list_remove(l, k2000), 0);
    assert_int_equal(rh_refcount(b), 1); /* the list's reference was dropped */
    rh_object *absent = ct_int(h, 123456);
    assert_int_equal(rh_list_index(l, absent), -1);
    assert_int_equal(rh_err(h), RH_OK);
    assert_int_equal(rh_list_remove(l, absent), -1); /* ValueError in Python */
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);

    /* pop: default -1, given index, errors */
    rh_object *p = rh_list_pop(l, -1);
    assert_ptr_equal(p, t);
    rh_decref(p);
    p = rh_list_pop(l, 0);
    assert_ptr_equal(p, a);
    assert_int_equal(rh_refcount(a), 2);
    rh_decref(p);
    assert_string_equal(ct_repr(l), "[7, 3000, 9]");
    assert_null(rh_list_pop(l, 3));
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);
    assert_null(rh_list_pop(l, -4));
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);

    assert_int_equal(rh_list_reverse(l), 0);
    assert_string_equal(ct_repr(l), "[9, 3000, 7]");
    assert_int_equal(rh_list_clear(l), 0);
    assert_int_equal(rh_list_size(l), 0);
    assert_int_equal(rh_refcount(c), 1);
    assert_null(rh_list_pop(l, -1)); /* IndexError: pop from empty list */
    assert_int_equal(rh_err(h), RH_EINDEX);
    rh_err_clear(h);
    assert_int_equal(rh_list_reverse(l), 0);
    assert_string_equal(ct_repr(l), "[]");

    rh_decref(l);
    rh_decref(a);
    rh_decref(b);
    rh_decref(c);
    rh_decref(s);
    rh_decref(t);
    rh_decref(u);
    rh_decref(k2000);
    rh_decref(absent);
    rh_heap_destroy(h);
}

static void test_new_filled_with_none(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 3);
    assert_int_equal(rh_list_size(l), 3);
    for (int i = 0; i < 3; i++) assert_ptr_equal(rh_list_get(l, i), rh_None);
    assert_string_equal(ct_repr(l), "[None, None, None]");
    rh_decref(l);
    rh_heap_destroy(h);
}

/* The figures of the size tests below are CPython's, which count its 16-byte
 * GC header: rh_test_cpython_size gives each on the heap's layout (16 fewer
 * without the collector's record). */

/* sys.getsizeof([None] * n) for n = 0..4: 56, 64, 72, 80, 88 (python3 3.11). */
static void test_sizes_exact_alloc(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    const size_t want[] = {56, 64, 72, 80, 88};
    for (size_t n = 0; n < 5; n++) {
        rh_object *l = rh_list_new(h, n);
        assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, want[n]));
        rh_decref(l);
    }
    rh_heap_destroy(h);
}

/* l = []; for i in range(40): l.append(i); sys.getsizeof(l) after each
 * (python3 3.11): CPython's over-allocation 4, 8, 16, 24, 32, 40. */
static void test_sizes_append_growth(void **state) {
    (void)state;
    const size_t want[40] = {88,  88,  88,  88,  120, 120, 120, 120, 184, 184, 184, 184, 184, 184,
                             184, 184, 248, 248, 248, 248, 248, 248, 248, 248, 312, 312, 312, 312,
                             312, 312, 312, 312, 376, 376, 376, 376, 376, 376, 376, 376};
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 0);
    assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, 56)); /* sys.getsizeof([]) */
    for (int i = 0; i < 40; i++) {
        assert_int_equal(rh_list_append(l, rh_None), 0);
        assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, want[i]));
    }
    /* l.clear() frees the array: 56 */
    rh_list_clear(l);
    assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, 56));
    /* l.insert(0, i) twenty times grows like append (python3 3.11) */
    const size_t ins[20] = {88, 88, 88, 88, 120, 120, 120, 120, 184, 184,
                            184, 184, 184, 184, 184, 184, 248, 248, 248, 248};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(rh_list_insert(l, 0, rh_None), 0);
        assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, ins[i]));
    }
    rh_decref(l);
    rh_heap_destroy(h);
}

/* l = list(range(100)); while l: l.pop(); sizes after each pop, and
 * l = [0]*20; 20 × l.pop(0) (python3 3.11): shrinking keeps the array until
 * it is less than half used. [1].pop() leaves 64 (the array of 1 stays). */
static void test_sizes_pop_shrink(void **state) {
    (void)state;
    const size_t want[100] = {
        856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856,
        856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856,
        856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 856, 536,
        536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536, 536,
        536, 536, 344, 344, 344, 344, 344, 344, 344, 344, 344, 344, 344, 344, 248, 248, 248,
        248, 248, 248, 184, 184, 184, 184, 152, 152, 120, 120, 120, 120, 88,  56};
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 100);
    for (int i = 0; i < 100; i++) {
        rh_object *p = rh_list_pop(l, -1);
        assert_non_null(p);
        rh_decref(p);
        assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, want[i]));
    }
    rh_decref(l);

    const size_t want0[20] = {216, 216, 216, 216, 216, 216, 216, 216, 216, 216,
                              184, 184, 152, 152, 120, 120, 120, 120, 88,  56};
    l = rh_list_new(h, 20);
    for (int i = 0; i < 20; i++) {
        rh_object *p = rh_list_pop(l, 0);
        rh_decref(p);
        assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, want0[i]));
    }
    rh_decref(l);

    l = rh_list_new(h, 1);
    rh_decref(rh_list_pop(l, -1));
    assert_int_equal(rh_sizeof(l), rh_test_cpython_size(h, 64));
    rh_decref(l);
    rh_heap_destroy(h);
}

static void test_unhashable_and_eq(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *a = rh_list_new(h, 0), *b = rh_list_new(h, 0);
    assert_int_equal(rh_hash(a), -1); /* TypeError: unhashable type: 'list' */
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    assert_int_equal(rh_equal(a, b), 1); /* [] == [] */
    rh_object *one = rh_int(h, 1), *onef = rh_float(h, 1.0);
    rh_list_append(a, one);
    assert_int_equal(rh_equal(a, b), 0);
    rh_list_append(b, onef);
    assert_int_equal(rh_equal(a, b), 1); /* [1] == [1.0] */
    rh_list_append(b, one);
    assert_int_equal(rh_equal(a, b), 0); /* [1] != [1.0, 1] */
    rh_object *t = rh_tuple_pack(h, 1, one);
    assert_int_equal(rh_equal(a, t), 0); /* [1] != (1,) */
    rh_decref(t);
    rh_decref(a);
    rh_decref(b);
    rh_decref(one);
    rh_decref(onef);
    rh_heap_destroy(h);
}

/* repr([[1], [], (2,), {'a': [3]}, {4}]) == "[[1], [], (2,), {'a': [3]}, {4}]"
 * (python3); l.append(l) prints "[[...]]". */
static void test_repr(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 0);
    rh_object *one = rh_int(h, 1), *two = rh_int(h, 2), *three = rh_int(h, 3), *four = rh_int(h, 4);
    rh_object *x = rh_list_new(h, 0);
    rh_list_append(x, one);
    rh_list_append(l, x);
    rh_decref(x);
    x = rh_list_new(h, 0);
    rh_list_append(l, x);
    rh_decref(x);
    x = rh_tuple_pack(h, 1, two);
    rh_list_append(l, x);
    rh_decref(x);
    x = rh_dict_new(h);
    rh_object *y = rh_list_new(h, 0);
    rh_list_append(y, three);
    rh_dict_set_str(x, "a", y);
    rh_decref(y);
    rh_list_append(l, x);
    rh_decref(x);
    x = rh_set_new(h);
    rh_set_add(x, four);
    rh_list_append(l, x);
    rh_decref(x);
    const char *want = "[[1], [], (2,), {'a': [3]}, {4}]";
    assert_string_equal(ct_repr(l), want);

    /* snprintf contract: truncation keeps the full length as the result */
    char small[8];
    int n = rh_repr(l, small, sizeof small);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(small, "[[1], [");
    assert_int_equal(rh_repr(l, NULL, 0), (int)strlen(want));
    char one_byte[1] = {'x'};
    assert_int_equal(rh_repr(l, one_byte, 1), (int)strlen(want));
    assert_int_equal(one_byte[0], '\0');

    rh_object *self = rh_list_new(h, 0);
    rh_list_append(self, self);
    assert_string_equal(ct_repr(self), "[[...]]");
    rh_list_append(self, one);
    assert_string_equal(ct_repr(self), "[[...], 1]");
    rh_list_clear(self); /* breaks the cycle */
    rh_decref(self);

    rh_decref(l);
    rh_decref(one);
    rh_decref(two);
    rh_decref(three);
    rh_decref(four);
    rh_heap_destroy(h);
}

/* Nesting deeper than the repr depth limit fails cleanly (Python raises
 * RecursionError for repr of a list nested 2000 deep). */
static void test_repr_too_deep(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *top = rh_list_new(h, 0);
    for (int i = 0; i < 2000; i++) {
        rh_object *outer = rh_list_new(h, 0);
        rh_list_append(outer, top);
        rh_decref(top);
        top = outer;
    }
    char buf[64];
    assert_int_equal(rh_repr(top, buf, sizeof buf), -1);
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_err_clear(h);
    /* the guard was unwound: a small list prints again */
    rh_object *s = rh_list_new(h, 1);
    assert_string_equal(ct_repr(s), "[None]");
    rh_decref(s);
    rh_decref(top);
    rh_heap_destroy(h);
}

/* l.append(l): a self-cycle; traverse visits l once (test_gc.c
 * tests its collection). */
static void test_self_cycle_traverse(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_object *l = rh_list_new(h, 0);
    assert_true(rh_gc_is_tracked(l)); /* gc.is_tracked([]) is True */
    rh_list_append(l, l);
    rh_list_append(l, rh_None);
    assert_int_equal(rh_refcount(l), 2);
    ct_visits v = {l, 0, 0};
    assert_int_equal(rh_list_type.traverse(l, ct_count_visit, &v), 0);
    assert_int_equal(v.hits, 1);
    assert_int_equal(v.total, 2);
    /* the clear hook breaks the cycle, as the collector would */
    rh_list_type.clear(l);
    assert_int_equal(rh_refcount(l), 1);
    assert_int_equal(rh_list_size(l), 0);
    rh_decref(l);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Re-entrancy: an eq hook that mutates the list being searched.
 * ------------------------------------------------------------------------- */
static rh_object *victim;
static void clear_victim(void) { rh_list_clear(victim); }

static void test_eq_mutates_list(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    victim = rh_list_new(h, 0);
    for (int i = 0; i < 10; i++) {
        rh_object *e = ct_evil_new(h, i);
        rh_list_append(victim, e);
        rh_decref(e);
    }
    rh_object *probe = ct_evil_new(h, 5);
    ct_evil_hook = clear_victim; /* first comparison empties the list */
    assert_int_equal(rh_list_remove(victim, probe), -1);
    assert_int_equal(rh_err(h), RH_EVALUE); /* not found in what remained */
    rh_err_clear(h);
    assert_int_equal(rh_list_size(victim), 0);

    for (int i = 0; i < 10; i++) {
        rh_object *e = ct_evil_new(h, i);
        rh_list_append(victim, e);
        rh_decref(e);
    }
    ct_evil_hook = clear_victim;
    assert_int_equal(rh_list_index(victim, probe), -1);
    ct_evil_hook = NULL;

    /* a failing comparison is an error, not "absent" */
    rh_object *bad = rh_new(h, &ct_faileq_type);
    rh_list_append(victim, bad);
    assert_int_equal(rh_list_index(victim, bad), 0); /* identity first */
    rh_object *bad2 = rh_new(h, &ct_faileq_type);
    assert_int_equal(rh_list_index(victim, bad2), -2);
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);
    assert_int_equal(rh_list_remove(victim, bad2), -1);
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);
    rh_decref(bad);
    rh_decref(bad2);
    rh_decref(probe);
    rh_decref(victim);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * A million nested lists, freed on a thread with a 256 KiB stack.
 * ------------------------------------------------------------------------- */
#define DEEP_N 1000000
#define SMALL_STACK (256 * 1024)
/* Under Valgrind the chains are shorter, but still far beyond what a 256 KiB
 * stack holds if freeing recursed: each level would cost at least two frames
 * of at least 16 bytes (100000 levels: more than 3 MiB). */
#define DEEP_N_VALGRIND 100000

static void test_deep_nesting_small_stack(void **state) {
    (void)state;
    long n = rh_test_under_valgrind() ? DEEP_N_VALGRIND : DEEP_N;
    rh_heap *h = ct_heap();
    rh_gc_disable(h); /* keep the build fast: this test is about freeing */
    size_t base = ct_in_use(h);
    rh_object *top = rh_list_new(h, 0);
    assert_non_null(top);
    for (long i = 0; i < n; i++) {
        rh_object *outer = rh_list_new(h, 1);
        assert_non_null(outer);
        rh_list_set(outer, 0, top);
        rh_decref(top);
        top = outer;
    }
    assert_true(ct_in_use(h) > base + (size_t)n); /* the lists really are there */
    rh_run_on_small_stack(rh_test_decref_job, top, SMALL_STACK);
    assert_int_equal(ct_in_use(h), base); /* every list freed */
    rh_heap_destroy(h);
}

/* A chain alternating list → dict → tuple → list ... 300000 levels deep
 * (DEEP_N_VALGRIND under Valgrind), freed on the same small stack: every
 * container's destroy only drops its references, so refheap's deferred
 * deallocation bounds the recursion. */
#define MIXED_N 300000

static void test_deep_mixed_chain_small_stack(void **state) {
    (void)state;
    long n = rh_test_under_valgrind() ? DEEP_N_VALGRIND : MIXED_N;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    rh_decref(rh_str_intern(h, "k")); /* interned keys live as long as the heap */
    size_t base = ct_in_use(h);
    rh_object *top = rh_list_new(h, 0);
    assert_non_null(top);
    for (long i = 0; i < n; i++) {
        rh_object *outer;
        switch (i % 3) {
        case 0:
            outer = rh_dict_new(h);
            assert_int_equal(rh_dict_set_str(outer, "k", top), 0);
            break;
        case 1:
            outer = rh_tuple_pack(h, 1, top);
            break;
        default:
            outer = rh_list_new(h, 0);
            assert_int_equal(rh_list_append(outer, top), 0);
            break;
        }
        assert_non_null(outer);
        rh_decref(top);
        top = outer;
    }
    assert_true(ct_in_use(h) > base + (size_t)n);
    rh_run_on_small_stack(rh_test_decref_job, top, SMALL_STACK);
    assert_int_equal(ct_in_use(h), base);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Out of memory at each allocation of an operation sequence: the failing
 * operation returns -1/NULL with RH_ENOMEM, the list is unchanged, and once
 * everything is released the heap holds exactly what it held before.
 * ------------------------------------------------------------------------- */
static int oom_sequence(rh_heap *h, rh_object *l, char *before, size_t cap) {
    rh_object *x;
    for (int i = 0; i < 30; i++) {
        rh_repr(l, before, cap);
        x = rh_int(h, 1000 + i);
        if (!x) return -1;
        int r = (i % 3 == 0) ? rh_list_insert(l, 0, x) : rh_list_append(l, x);
        rh_decref(x);
        if (r < 0) return -1;
    }
    for (int i = 0; i < 20; i++) {
        rh_repr(l, before, cap);
        x = rh_list_pop(l, i % 2 ? 0 : -1);
        if (!x) return -1;
        rh_decref(x);
    }
    rh_repr(l, before, cap);
    x = rh_list_new(h, 5);
    if (!x) return -1;
    rh_decref(x);
    return 0;
}

/* A list holding one int (99999). */
static rh_object *oom_make(rh_heap *h) {
    rh_object *l = rh_list_new(h, 0);
    assert_non_null(l);
    rh_object *seed = rh_int(h, 99999);
    assert_int_equal(rh_list_append(l, seed), 0);
    rh_decref(seed);
    return l;
}

static void test_oom_every_allocation(void **state) {
    (void)state;
    rh_heap *h = ct_heap();
    rh_gc_disable(h);
    ct_oom_every_allocation(h, oom_make, oom_sequence, 5);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_ops),
        cmocka_unit_test(test_new_filled_with_none),
        cmocka_unit_test(test_sizes_exact_alloc),
        cmocka_unit_test(test_sizes_append_growth),
        cmocka_unit_test(test_sizes_pop_shrink),
        cmocka_unit_test(test_unhashable_and_eq),
        cmocka_unit_test(test_repr),
        cmocka_unit_test(test_repr_too_deep),
        cmocka_unit_test(test_self_cycle_traverse),
        cmocka_unit_test(test_eq_mutates_list),
        cmocka_unit_test(test_deep_nesting_small_stack),
        cmocka_unit_test(test_deep_mixed_chain_small_stack),
        cmocka_unit_test(test_oom_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
