/*
 * number.c — None, bool, int and float.
 *
 * None, True and False are static immortal objects (object.c); the ints
 * -5..256 are a static, read-only table of immortal objects shared by every
 * heap, as CPython's small-int cache (which 3.12 made immortal). Every other
 * int or float is a heap object made on demand. No number ever changes after
 * creation (RH_TYPE_IMMUTABLE), and none is a container.
 *
 * int is a signed 64-bit value. The arithmetic checks every result and
 * fails with RH_EOVERFLOW where Python would have grown a bigger int; floor
 * division rounds toward minus infinity as Python's //, and a zero divisor
 * is RH_EZERODIV. bool counts as int (True + True == 2), as in Python where
 * bool is a subclass of int.
 *
 * Hashing follows CPython (Python/pyhash.c, Objects/longobject.c): a number's
 * hash is its value reduced modulo the Mersenne prime P = 2**61 - 1, with the
 * sign of the value, and -1 (the error value) replaced by -2. For an int n
 * that is sign(n) * (|n| mod P); for a finite float x = M * 2**e (M an
 * integer below 2**53) it is sign(x) * (M * 2**e mod P), where multiplying by
 * 2**e modulo P is a rotation of the 61-bit residue, since 2**61 = 1 (mod P)
 * (negative e rotates the other way, 2 being invertible). Equal numbers thus
 * hash equal whatever their type: hash(1) == hash(1.0) == hash(True), so 1,
 * 1.0 and True are the same dictionary key, as in Python. Infinities hash to
 * +-314159, a NaN by its address (CPython 3.10+), None by its address.
 *
 * Equality across int, bool and float is exact, as Python's: an int equals a
 * float only when the float is integral and has exactly that value
 * (2**53 + 1 != 2.0**53 although the conversion would round them together).
 *
 * repr matches Python's: ints in decimal, floats in the shortest form that
 * reads back as the same double ("0.1", "1e+16", "1.5e-07", "100.0"), fixed
 * notation when the decimal exponent is in [-4, 16), else scientific with at
 * least two exponent digits, "inf", "-inf", "nan".
 */
#include "objects/object_new.h" /* creation's fast path, in line: the type is a constant here */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * Hashing of numbers.
 * ------------------------------------------------------------------------- */
#define HASH_BITS 61
#define HASH_MODULUS (((uint64_t)1 << HASH_BITS) - 1) /* P, a Mersenne prime */
#define HASH_INF ((rh_hash_t)314159)                  /* CPython's hash(inf) */

static rh_hash_t fix_minus_one(rh_hash_t x) {
    return x == -1 ? -2 : x;
}

static rh_hash_t hash_int64(int64_t v) {
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    rh_hash_t r = (rh_hash_t)(mag % HASH_MODULUS);
    return fix_minus_one(v < 0 ? -r : r);
}

/* The address hash CPython uses for objects without a value hash: the
 * pointer rotated so its always-zero low bits do not waste hash bits. */
static rh_hash_t hash_pointer(const void *p) {
    uintptr_t y = (uintptr_t)p;
    y = (y >> 4) | (y << (8 * sizeof y - 4));
    return fix_minus_one((rh_hash_t)y);
}

/* x * 2**k mod P for a residue x < P and 0 <= k < 61. */
static uint64_t rotate61(uint64_t x, unsigned k) {
    if (k == 0) return x;
    return ((x << k) & HASH_MODULUS) | (x >> (HASH_BITS - k));
}

static rh_hash_t hash_double(const rh_object *o, double v) {
    if (isnan(v)) return hash_pointer(o);
    if (isinf(v)) return v > 0 ? HASH_INF : -HASH_INF;
    int e;
    double m = frexp(fabs(v), &e);               /* |v| = m * 2**e, 0.5 <= m < 1 */
    uint64_t mant = (uint64_t)ldexp(m, 53);      /* exact: at most 53 bits     */
    int e2 = e - 53;                             /* |v| = mant * 2**e2         */
    int k = e2 % HASH_BITS;
    if (k < 0) k += HASH_BITS;
    rh_hash_t r = (rh_hash_t)rotate61(mant % HASH_MODULUS, (unsigned)k);
    return fix_minus_one(v < 0 ? -r : r);
}

/* ---------------------------------------------------------------------------
 * Values and equality.
 * ------------------------------------------------------------------------- */
static inline bool is_intlike(const rh_object *o) {
    return o->rh_type == &rh_int_type || o->rh_type == &rh_bool_type;
}

static inline int64_t intlike_value(const rh_object *o) {
    if (o->rh_type == &rh_int_type) return ((const rh__int *)(const void *)o)->value;
    return o == rh_True;
}

/* Does an int equal a double exactly? */
static int int_eq_double(int64_t i, double d) {
    if (isnan(d) || d != floor(d)) return 0;
    /* -2**63 <= d < 2**63: only then is the conversion defined. */
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return 0;
    return (int64_t)d == i;
}

/* The eq hook of bool, int and float. */
static int number_eq(rh_object *a, rh_object *b) {
    bool ai = is_intlike(a), bi = is_intlike(b);
    bool af = a->rh_type == &rh_float_type, bf = b->rh_type == &rh_float_type;
    if (!(ai || af) || !(bi || bf)) return 0;
    if (ai && bi) return intlike_value(a) == intlike_value(b);
    if (af && bf) return rh_float_value(a) == rh_float_value(b);
    if (ai) return int_eq_double(intlike_value(a), rh_float_value(b));
    return int_eq_double(intlike_value(b), rh_float_value(a));
}

/* ---------------------------------------------------------------------------
 * None and bool.
 * ------------------------------------------------------------------------- */
static int none_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "None");
}

static rh_hash_t none_hash(rh_object *self) {
    return hash_pointer(self);
}

const rh_type rh_none_type = {
    .name = "NoneType",
    .basicsize = sizeof(rh_object),
    .flags = RH_TYPE_IMMUTABLE,
    .repr = none_repr,
    .hash = none_hash,
};

static int bool_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "%s", self == rh_True ? "True" : "False");
}

static rh_hash_t bool_hash(rh_object *self) {
    return self == rh_True;
}

const rh_type rh_bool_type = {
    .name = "bool",
    .basicsize = sizeof(rh_object),
    .flags = RH_TYPE_IMMUTABLE,
    .repr = bool_repr,
    .hash = bool_hash,
    .eq = number_eq,
};

/* ---------------------------------------------------------------------------
 * int.
 * ------------------------------------------------------------------------- */
static int int_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "%" PRId64, ((rh__int *)(void *)self)->value);
}

static rh_hash_t int_hash(rh_object *self) {
    return hash_int64(((rh__int *)(void *)self)->value);
}

const rh_type rh_int_type = {
    .name = "int",
    .basicsize = sizeof(rh__int),
    .flags = RH_TYPE_IMMUTABLE,
    .repr = int_repr,
    .hash = int_hash,
    .eq = number_eq,
};

/* The small ints, built at compile time: SMALL(n) is the object for n, and
 * each SMALLk macro lays out k consecutive ones. */
#define SMALL(n) {{RH_IMMORTAL, 0, &rh_int_type}, (n)}
#define SMALL2(n) SMALL(n), SMALL((n) + 1)
#define SMALL4(n) SMALL2(n), SMALL2((n) + 2)
#define SMALL8(n) SMALL4(n), SMALL4((n) + 4)
#define SMALL16(n) SMALL8(n), SMALL8((n) + 8)
#define SMALL32(n) SMALL16(n), SMALL16((n) + 16)
#define SMALL64(n) SMALL32(n), SMALL32((n) + 32)
#define SMALL128(n) SMALL64(n), SMALL64((n) + 64)
#define SMALL256(n) SMALL128(n), SMALL128((n) + 128)
#define NSMALL (RH_SMALL_INT_MAX - RH_SMALL_INT_MIN + 1) /* 262 */

/* Read-only: incref/decref never write an immortal, so these pages stay
 * shared between processes after fork, and a stray write faults. */
static const rh__int small_ints[NSMALL] = {
    SMALL256(RH_SMALL_INT_MIN),            /* -5 .. 250  */
    SMALL4(RH_SMALL_INT_MIN + 256),        /* 251 .. 254 */
    SMALL2(RH_SMALL_INT_MIN + 260),        /* 255 .. 256 */
};
_Static_assert(RH_SMALL_INT_MIN + 261 == RH_SMALL_INT_MAX, "the table covers -5..256");

/* The slow paths of rh_int and rh_float (rh__new_fast_try's NULL): out
 * of line, so that the constructors' fast paths keep no stack frame. */
static __attribute__((noinline)) rh_object *int_slow(rh_heap *h, int64_t v) {
    rh__int *o = (rh__int *)(void *)rh__new_slow(h, &rh_int_type, false, __FILE__, __LINE__);
    if (!o) return NULL;
    o->value = v;
    return &o->rh_base;
}

rh_object *rh_int(rh_heap *h, int64_t v) {
    if (v >= RH_SMALL_INT_MIN && v <= RH_SMALL_INT_MAX)
        return (rh_object *)&small_ints[v - RH_SMALL_INT_MIN].rh_base;
    rh__int *o = (rh__int *)(void *)rh__new_fast_try(h, &rh_int_type, false);
    if (RH_UNLIKELY(!o)) return int_slow(h, v);
    o->value = v;
    return &o->rh_base;
}

/* int or bool: its value; anything else: 0. */
int64_t rh_int_value(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_int_value");
    return is_intlike(o) ? intlike_value(o) : 0;
}

static bool int_operands(rh_heap *h, const char *op, rh_object *a, rh_object *b, int64_t *x, int64_t *y) {
    if (!is_intlike(a)) { rh__err_type(h, op, a); return false; }
    if (!is_intlike(b)) { rh__err_type(h, op, b); return false; }
    *x = intlike_value(a);
    *y = intlike_value(b);
    return true;
}

static rh_object *overflow(rh_heap *h, const char *what, int64_t x, int64_t y) {
    rh_err_set(h, RH_EOVERFLOW, "int overflow: %" PRId64 " %s %" PRId64 " does not fit in 64 bits",
               x, what, y);
    return NULL;
}

rh_object *rh_int_add(rh_heap *h, rh_object *a, rh_object *b) {
    RH__CHECK_LIVE(a, "rh_int_add");
    RH__CHECK_LIVE(b, "rh_int_add");
    int64_t x, y, r;
    if (!int_operands(h, "int +", a, b, &x, &y)) return NULL;
    if (__builtin_add_overflow(x, y, &r)) return overflow(h, "+", x, y);
    return rh_int(h, r);
}

rh_object *rh_int_sub(rh_heap *h, rh_object *a, rh_object *b) {
    RH__CHECK_LIVE(a, "rh_int_sub");
    RH__CHECK_LIVE(b, "rh_int_sub");
    int64_t x, y, r;
    if (!int_operands(h, "int -", a, b, &x, &y)) return NULL;
    if (__builtin_sub_overflow(x, y, &r)) return overflow(h, "-", x, y);
    return rh_int(h, r);
}

rh_object *rh_int_mul(rh_heap *h, rh_object *a, rh_object *b) {
    RH__CHECK_LIVE(a, "rh_int_mul");
    RH__CHECK_LIVE(b, "rh_int_mul");
    int64_t x, y, r;
    if (!int_operands(h, "int *", a, b, &x, &y)) return NULL;
    if (__builtin_mul_overflow(x, y, &r)) return overflow(h, "*", x, y);
    return rh_int(h, r);
}

rh_object *rh_int_floordiv(rh_heap *h, rh_object *a, rh_object *b) {
    RH__CHECK_LIVE(a, "rh_int_floordiv");
    RH__CHECK_LIVE(b, "rh_int_floordiv");
    int64_t x, y;
    if (!int_operands(h, "int //", a, b, &x, &y)) return NULL;
    if (y == 0) {
        rh_err_set(h, RH_EZERODIV, "integer division or modulo by zero"); /* Python's message */
        return NULL;
    }
    if (x == INT64_MIN && y == -1) return overflow(h, "//", x, y);
    int64_t q = x / y; /* C truncates toward zero ... */
    if (x % y != 0 && ((x < 0) != (y < 0))) q--; /* ... Python floors */
    return rh_int(h, q);
}

/* ---------------------------------------------------------------------------
 * float.
 * ------------------------------------------------------------------------- */

/* Room for float_text's longest output: at most 17 significant digits, so
 * "-0.000" + 17 digits (23), "-" + 17 digits + ".0" (20) or
 * "-d." + 16 digits + "e-308" (24), and the NUL. */
#define FLOAT_TEXT_MAX 40
#define DBL_ROUNDTRIP_DIGITS 17 /* enough significant digits for any double */

/* Python's repr of a double (see the essay at the top). */
static int float_text(double v, char *out) {
    if (isnan(v)) return snprintf(out, FLOAT_TEXT_MAX, "nan");
    if (isinf(v)) return snprintf(out, FLOAT_TEXT_MAX, v > 0 ? "inf" : "-inf");
    /* The shortest correctly rounded decimal that reads back as v. */
    char sci[FLOAT_TEXT_MAX];
    for (int p = 1; p <= DBL_ROUNDTRIP_DIGITS; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        if (strtod(sci, NULL) == v) break;
    }
    /* sci is [-]d[.ddd]e(+|-)xx: split into sign, digits and exponent. */
    bool neg = sci[0] == '-';
    char digits[DBL_ROUNDTRIP_DIGITS + 1];
    int nd = 0;
    const char *s = sci + neg;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits[nd++] = *s;
    int exp10 = atoi(s + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';

    char *w = out;
    if (neg) *w++ = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            /* 0.000ddd */
            *w++ = '0';
            *w++ = '.';
            for (int i = 0; i < -exp10 - 1; i++) *w++ = '0';
            memcpy(w, digits, (size_t)nd);
            w += nd;
        } else {
            /* ddd.ddd, padding the integer part with zeros if needed */
            for (int i = 0; i <= exp10; i++) *w++ = i < nd ? digits[i] : '0';
            *w++ = '.';
            if (nd > exp10 + 1) {
                memcpy(w, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
                w += nd - exp10 - 1;
            } else {
                *w++ = '0';
            }
        }
        *w = '\0';
        return (int)(w - out);
    }
    *w++ = digits[0];
    if (nd > 1) {
        *w++ = '.';
        memcpy(w, digits + 1, (size_t)(nd - 1));
        w += nd - 1;
    }
    w += sprintf(w, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    return (int)(w - out);
}

static int float_repr(rh_object *self, char *buf, size_t cap) {
    char text[FLOAT_TEXT_MAX];
    float_text(((rh__float *)(void *)self)->value, text);
    return snprintf(buf, cap, "%s", text);
}

static rh_hash_t float_hash(rh_object *self) {
    return hash_double(self, ((rh__float *)(void *)self)->value);
}

const rh_type rh_float_type = {
    .name = "float",
    .basicsize = sizeof(rh__float),
    .flags = RH_TYPE_IMMUTABLE,
    .repr = float_repr,
    .hash = float_hash,
    .eq = number_eq,
};

static __attribute__((noinline)) rh_object *float_slow(rh_heap *h, double v) {
    rh__float *o = (rh__float *)(void *)rh__new_slow(h, &rh_float_type, false, __FILE__, __LINE__);
    if (!o) return NULL;
    o->value = v;
    return &o->rh_base;
}

rh_object *rh_float(rh_heap *h, double v) {
    rh__float *o = (rh__float *)(void *)rh__new_fast_try(h, &rh_float_type, false);
    if (RH_UNLIKELY(!o)) return float_slow(h, v);
    o->value = v;
    return &o->rh_base;
}

/* float: its value; int or bool: converted (as float(n)); anything else: 0.0. */
double rh_float_value(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_float_value");
    if (o->rh_type == &rh_float_type) return ((const rh__float *)(const void *)o)->value;
    if (is_intlike(o)) return (double)intlike_value(o);
    return 0.0;
}
