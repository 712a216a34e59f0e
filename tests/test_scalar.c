/*
 * test_scalar.c — None, bool, int and float (src/objects/number.c).
 *
 * Every expected figure comes from CPython 3.11.7 (the python3 on this
 * machine); the Python expression that produced it is quoted beside it.
 */
#include "rh_test.h"

#include "internal.h"

#include <float.h>
#include <math.h>

/* CPython 3.11's identity hash (_Py_HashPointer, used by hash(None) and, since
 * 3.10, by hash(float('nan'))): the address rotated right by four bits, -1
 * mapped to -2. Computed here so the "stable" checks below also pin the
 * value. */
static rh_hash_t pointer_hash(const void *p) {
    uintptr_t y = (uintptr_t)p;
    y = (y >> 4) | (y << (8 * sizeof y - 4));
    rh_hash_t x = (rh_hash_t)y;
    return x == -1 ? -2 : x;
}

static rh_heap *new_heap(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

static const char *repr_of(rh_object *o) {
    static char buf[128];
    int n = rh_repr(o, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    return buf;
}

/* ---------------------------------------------------------------------------
 * None and bool.
 * ------------------------------------------------------------------------- */
static void test_none_and_bool(void **state) {
    (void)state;
    assert_string_equal(rh_type_name(rh_None), "NoneType");
    assert_string_equal(rh_type_name(rh_True), "bool");
    assert_ptr_equal(rh_bool(true), rh_True);
    assert_ptr_equal(rh_bool(false), rh_False);
    assert_string_equal(repr_of(rh_None), "None");
    assert_string_equal(repr_of(rh_True), "True");
    assert_string_equal(repr_of(rh_False), "False");
    /* hash(True) -> 1, hash(False) -> 0 */
    assert_int_equal(rh_hash(rh_True), 1);
    assert_int_equal(rh_hash(rh_False), 0);
    /* hash(None) is address-based in 3.11: stable, not -1 */
    assert_int_equal(rh_hash(rh_None), rh_hash(rh_None));
    assert_int_equal(rh_hash(rh_None), pointer_hash(rh_None));
    assert_true(rh_hash(rh_None) != -1);
    /* None == None; None == False -> False; True == 1 -> True */
    assert_int_equal(rh_equal(rh_None, rh_None), 1);
    assert_int_equal(rh_equal(rh_None, rh_False), 0);
    assert_int_equal(rh_equal(rh_False, rh_None), 0);
    assert_int_equal(rh_equal(rh_True, rh_False), 0);
    /* sys.getsizeof(None) -> 16; sys.getsizeof(True) -> 28 in CPython
     * (bool is an int there); refheap's bool is a bare header. */
    assert_int_equal(rh_sizeof(rh_None), 16);
    assert_int_equal(rh_sizeof(rh_True), 16);
    assert_int_equal(rh_int_value(rh_True), 1);
    assert_int_equal(rh_int_value(rh_False), 0);
    assert_true(rh_float_value(rh_True) == 1.0);
    assert_int_equal(rh_int_value(rh_None), 0); /* not a number: 0 */
}

/* ---------------------------------------------------------------------------
 * int.
 * ------------------------------------------------------------------------- */
static void test_small_ints_shared(void **state) {
    (void)state;
    rh_heap *h1 = new_heap(), *h2 = new_heap();
    /* a = 256; b = 256; a is b -> True; -5 too; 257 and -6 are new objects */
    for (int64_t v = RH_SMALL_INT_MIN; v <= RH_SMALL_INT_MAX; v++) {
        rh_object *a = rh_int(h1, v), *b = rh_int(h2, v);
        assert_ptr_equal(a, b); /* shared by every heap */
        assert_true(rh_is_immortal(a));
        assert_int_equal(rh_int_value(a), v);
        assert_null(rh_heap_of(a));
    }
    rh_object *a = rh_int(h1, 257), *b = rh_int(h1, 257);
    assert_ptr_not_equal(a, b);
    assert_int_equal(rh_refcount(a), 1);
    assert_int_equal(rh_equal(a, b), 1);
    rh_object *c = rh_int(h1, -6);
    assert_false(rh_is_immortal(c));
    assert_int_equal(rh_int_value(c), -6);
    rh_decref(a);
    rh_decref(b);
    rh_decref(c);
    rh_heap_destroy(h1);
    rh_heap_destroy(h2);
}

/* r is an int of value expected, or, when the result does not fit, NULL with
 * RH_EOVERFLOW set (then cleared); r is released. */
static void assert_int_result(rh_heap *h, rh_object *r, bool overflows, int64_t expected) {
    if (overflows) {
        assert_null(r);
        assert_int_equal(rh_err(h), RH_EOVERFLOW);
        rh_err_clear(h);
    } else {
        assert_int_equal(rh_int_value(r), expected);
        rh_decref(r);
    }
}

static void test_int_arithmetic(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    struct { int64_t a, b, add, sub, mul, fdiv; } cases[] = {
        /* Python: a+b, a-b, a*b, a//b */
        {7, 2, 9, 5, 14, 3},
        {-7, 2, -5, -9, -14, -4},            /* -7//2 -> -4 */
        {7, -2, 5, 9, -14, -4},              /* 7//-2 -> -4 */
        {-7, -2, -9, -5, 14, 3},
        {0, -3, -3, 3, 0, 0},                /* 0//-3 -> 0 */
        {6, -4, 2, 10, -24, -2},             /* 6//-4 -> -2 */
        {-7, 7, 0, -14, -49, -1},
        {1000000, 1000000, 2000000, 0, 1000000000000, 1},
        {INT64_MIN, 2, INT64_MIN + 2, INT64_MIN + 2, 0, INT64_MIN / 2}, /* mul overflows: checked below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_object *a = rh_int(h, cases[i].a), *b = rh_int(h, cases[i].b);
        rh_object *r = rh_int_add(h, a, b);
        assert_int_equal(rh_int_value(r), cases[i].add);
        rh_decref(r);
        /* -2**63 - 2 and -2**63 * 2 do not fit */
        assert_int_result(h, rh_int_sub(h, a, b), cases[i].a == INT64_MIN, cases[i].sub);
        assert_int_result(h, rh_int_mul(h, a, b), cases[i].a == INT64_MIN, cases[i].mul);
        r = rh_int_floordiv(h, a, b);
        assert_int_equal(rh_int_value(r), cases[i].fdiv); /* -(2**63)//2 -> -4611686018427387904 */
        rh_decref(r);
        rh_decref(a);
        rh_decref(b);
    }
    /* Results in -5..256 are the shared small ints. */
    rh_object *x = rh_int(h, 1000), *y = rh_int(h, 999);
    rh_object *d = rh_int_sub(h, x, y);
    assert_ptr_equal(d, rh_int(h, 1));
    /* bool counts as int: True + True -> 2 */
    rh_object *two = rh_int_add(h, rh_True, rh_True);
    assert_int_equal(rh_int_value(two), 2);
    assert_ptr_equal(two, rh_int(h, 2));
    rh_decref(x);
    rh_decref(y);
    rh_heap_destroy(h);
}

static void test_int_errors(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *max = rh_int(h, INT64_MAX), *min = rh_int(h, INT64_MIN);
    rh_object *one = rh_int(h, 1), *m1 = rh_int(h, -1), *zero = rh_int(h, 0);
    /* Python grows the int; refheap reports the overflow. */
    assert_null(rh_int_add(h, max, one));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    assert_non_null(strstr(rh_errmsg(h), "overflow"));
    rh_err_clear(h);
    assert_null(rh_int_sub(h, min, one));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_err_clear(h);
    assert_null(rh_int_mul(h, max, max));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_err_clear(h);
    assert_null(rh_int_mul(h, min, m1));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_err_clear(h);
    /* (-2**63)//-1 == 2**63: out of range */
    assert_null(rh_int_floordiv(h, min, m1));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_err_clear(h);
    /* (2**63-1)//-1 -> -9223372036854775807 */
    rh_object *r = rh_int_floordiv(h, max, m1);
    assert_int_equal(rh_int_value(r), -INT64_MAX);
    rh_decref(r);
    /* 1//0 -> ZeroDivisionError: integer division or modulo by zero */
    assert_null(rh_int_floordiv(h, one, zero));
    assert_int_equal(rh_err(h), RH_EZERODIV);
    assert_string_equal(rh_errmsg(h), "integer division or modulo by zero");
    rh_err_clear(h);
    /* Not an int: RH_ETYPE naming the type */
    rh_object *f = rh_float(h, 1.0);
    assert_null(rh_int_add(h, one, f));
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_non_null(strstr(rh_errmsg(h), "'float'"));
    rh_err_clear(h);
    assert_null(rh_int_floordiv(h, rh_None, one));
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_non_null(strstr(rh_errmsg(h), "'NoneType'"));
    rh_err_clear(h);
    /* Out of memory: a big result needs an object. */
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_int_add(h, max, m1));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_decref(f);
    rh_decref(max);
    rh_decref(min);
    rh_heap_destroy(h);
}

static void test_int_hash_repr_sizeof(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    /* [hash(v) for v in vals] */
    struct { int64_t v; rh_hash_t hash; const char *repr; } cases[] = {
        {0, 0, "0"},
        {1, 1, "1"},
        {-1, -2, "-1"},
        {-2, -2, "-2"},
        {255, 255, "255"},
        {-5, -5, "-5"},
        {2305843009213693950, 2305843009213693950, "2305843009213693950"}, /* 2**61-2 */
        {2305843009213693951, 0, "2305843009213693951"},                    /* 2**61-1 */
        {2305843009213693952, 1, "2305843009213693952"},                    /* 2**61 */
        {INT64_C(4611686018427387904), 2, "4611686018427387904"},           /* 2**62 */
        {INT64_MAX, 3, "9223372036854775807"},                              /* 2**63-1 */
        {INT64_MIN, -4, "-9223372036854775808"},                            /* -2**63 */
        {INT64_MIN + 1, -3, "-9223372036854775807"},
        {123456789012345, 123456789012345, "123456789012345"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_object *o = rh_int(h, cases[i].v);
        assert_int_equal(rh_hash(o), cases[i].hash);
        assert_string_equal(repr_of(o), cases[i].repr);
        /* sys.getsizeof(1) -> 28, (2**62) -> 36 in CPython (digits of 30
         * bits); refheap: header + one int64 = 24 for every value. */
        assert_int_equal(rh_sizeof(o), 24);
        rh_decref(o);
    }
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * float.
 * ------------------------------------------------------------------------- */
static void test_float_basics(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *f = rh_float(h, 2.5);
    assert_non_null(f);
    assert_true(rh_float_value(f) == 2.5);
    assert_int_equal(rh_refcount(f), 1);
    assert_false(rh_is_immortal(f));
    assert_string_equal(rh_type_name(f), "float");
    assert_int_equal(rh_sizeof(f), 24); /* sys.getsizeof(1.0) -> 24 */
    assert_int_equal(rh_int_value(f), 0);  /* not an int */
    rh_object *i = rh_int(h, 7);
    assert_true(rh_float_value(i) == 7.0); /* float(7) */
    rh_decref(f);
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_float(h, 1.0));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_heap_destroy(h);
}

static void test_float_repr(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    /* [repr(x) for x in ...] */
    struct { double v; const char *repr; } cases[] = {
        {0.1, "0.1"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {123456789012345678.0, "1.2345678901234568e+17"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {1.5e-7, "1.5e-07"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {1.0 / 3.0, "0.3333333333333333"},
        {4611686018427387904.0, "4.611686018427388e+18"},
        {1e22, "1e+22"},
        {5e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {100.0, "100.0"},
        {12345.678, "12345.678"},
        {2.5e-5, "2.5e-05"},
        {0.00012, "0.00012"},
        {123.456, "123.456"},
        {-1e100, "-1e+100"},
        {1e-7, "1e-07"},
        {9007199254740993.0, "9007199254740992.0"},
        {9223372036854775808.0, "9.223372036854776e+18"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e15 + 0.3, "1000000000000000.2"},
        {9999999999999998.0, "9999999999999998.0"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {NAN, "nan"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_object *f = rh_float(h, cases[i].v);
        assert_string_equal(repr_of(f), cases[i].repr);
        rh_decref(f);
    }
    rh_heap_destroy(h);
}

static void test_float_hash(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    /* [hash(v) for v in fl] */
    struct { double v; rh_hash_t hash; } cases[] = {
        {0.0, 0},
        {-0.0, 0},
        {1.0, 1},
        {-1.0, -2},
        {0.5, 1152921504606846976},
        {1.5, 1152921504606846977},
        {0.1, 230584300921369408},
        {-2.5, -1152921504606846978},
        {1e300, 1224995262755759164},
        {1e-300, 482449582752280463},
        {4611686018427387904.0, 2},   /* 2.0**62 */
        {9223372036854775808.0, 4},   /* 2.0**63 */
        {-9223372036854775808.0, -4}, /* -2.0**63 */
        {2305843009213693952.0, 1},   /* 2.0**61 */
        {3.14159, 326484311674566659},
        {1e16, 10000000000000000},
        {5e-324, 16777216},           /* 2.0**-1074 */
        {DBL_MAX, 2234066890152476671},
        {INFINITY, 314159},
        {-INFINITY, -314159},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_object *f = rh_float(h, cases[i].v);
        assert_int_equal(rh_hash(f), cases[i].hash);
        rh_decref(f);
    }
    /* NaN: by identity (3.10+): two NaNs hash apart, each stably. */
    rh_object *n1 = rh_float(h, NAN), *n2 = rh_float(h, NAN);
    assert_int_equal(rh_hash(n1), rh_hash(n1));
    assert_int_equal(rh_hash(n1), pointer_hash(n1));
    assert_int_equal(rh_hash(n2), pointer_hash(n2));
    assert_true(rh_hash(n1) != rh_hash(n2));
    /* x = float('nan'); x == x -> False, but identity comes first in
     * containers ([x] == [x] -> True), as rh_equal does. */
    assert_int_equal(rh_equal(n1, n1), 1);
    assert_int_equal(rh_equal(n1, n2), 0);
    rh_decref(n1);
    rh_decref(n2);
    rh_heap_destroy(h);
}

/* Equal numbers across types hash equal, so 1, 1.0 and True are one dict
 * key, as in Python: {1: 'a', 1.0: 'b', True: 'c'} -> {1: 'c'}. */
static void test_cross_type_equality(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *i1 = rh_int(h, 1), *f1 = rh_float(h, 1.0), *f15 = rh_float(h, 1.5);
    rh_object *i0 = rh_int(h, 0), *fm0 = rh_float(h, -0.0);
    rh_object *big = rh_int(h, (INT64_C(1) << 53) + 1), *bigf = rh_float(h, 9007199254740992.0);
    rh_object *big2 = rh_int(h, INT64_C(1) << 53);
    rh_object *f63 = rh_float(h, 9223372036854775808.0), *imax = rh_int(h, INT64_MAX);
    rh_object *s = rh_str(h, "1");
    /* 1 == 1.0 -> True; True == 1.0 -> True; 1.5 == 1 -> False */
    assert_int_equal(rh_equal(i1, f1), 1);
    assert_int_equal(rh_equal(f1, i1), 1);
    assert_int_equal(rh_equal(rh_True, f1), 1);
    assert_int_equal(rh_equal(f1, rh_True), 1);
    assert_int_equal(rh_equal(rh_True, i1), 1);
    assert_int_equal(rh_equal(f15, i1), 0);
    assert_int_equal(rh_equal(i1, f15), 0);
    /* False == 0.0 -> True; -0.0 == 0 -> True */
    assert_int_equal(rh_equal(rh_False, i0), 1);
    assert_int_equal(rh_equal(fm0, i0), 1);
    assert_int_equal(rh_equal(rh_False, fm0), 1);
    /* 2**53+1 == float(2**53) -> False; 2**53 == float(2**53) -> True */
    assert_int_equal(rh_equal(big, bigf), 0);
    assert_int_equal(rh_equal(bigf, big), 0);
    assert_int_equal(rh_equal(big2, bigf), 1);
    /* 2**63-1 == 2.0**63 -> False (the float is out of int64 range) */
    assert_int_equal(rh_equal(imax, f63), 0);
    /* 1 == '1' -> False; None == 0 -> False */
    assert_int_equal(rh_equal(i1, s), 0);
    assert_int_equal(rh_equal(s, i1), 0);
    assert_int_equal(rh_equal(rh_None, i0), 0);
    assert_int_equal(rh_equal(i0, rh_None), 0);
    /* hash(1) == hash(1.0) == hash(True) == 1 */
    assert_int_equal(rh_hash(i1), rh_hash(f1));
    assert_int_equal(rh_hash(rh_True), rh_hash(f1));
    assert_int_equal(rh_hash(big2), rh_hash(bigf));
    assert_int_equal(rh_hash(fm0), rh_hash(i0));
    rh_object *all[] = {f1, f15, fm0, big, bigf, big2, f63, imax, s};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) rh_decref(all[k]);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_and_bool),
        cmocka_unit_test(test_small_ints_shared),
        cmocka_unit_test(test_int_arithmetic),
        cmocka_unit_test(test_int_errors),
        cmocka_unit_test(test_int_hash_repr_sizeof),
        cmocka_unit_test(test_float_basics),
        cmocka_unit_test(test_float_repr),
        cmocka_unit_test(test_float_hash),
        cmocka_unit_test(test_cross_type_equality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
