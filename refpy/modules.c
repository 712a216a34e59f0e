/*
 * modules.c — the built-in namespace, the built-in types' methods and
 * constructors, the exception hierarchy, and the modules gc, sys, weakref,
 * time (plus the small parts of os, tracemalloc and _testcapi the examples
 * touch).
 *
 * The modules are thin layers over refheap's API: gc.collect is
 * rh_gc_collect, gc.get_count rh_gc_get_count, gc.garbage the heap's garbage
 * list itself, gc.callbacks a list whose entries are called from one refheap
 * collector callback; sys.getrefcount is the object's reference count, which
 * already includes the reference its argument holds (as in CPython);
 * sys.getsizeof is rh_sizeof; weakref.ref / WeakValueDictionary /
 * WeakKeyDictionary / WeakSet / finalize are refheap's own objects.
 *
 * A weak reference with a Python callback keeps the callback in a side table
 * keyed by the weak reference (rh_weakref_new's data is a raw pointer and
 * refheap's API has no hook to release it when the weak reference dies
 * first), released when the callback runs or at exit. weakref.finalize keeps
 * (function, args) in a malloc'd record released after the call.
 */
#include "ast.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

O *globals_of_current(void);
O *locals_of_current(void);
O *class_set_legacy(O *cls);
void classes_release(void);

#define ARGS O *self, O **args, size_t n, O *kw
#define UNUSED (void)self; (void)args; (void)n; (void)kw

static O *kwarg(O *kw, const char *name) { return kw ? rh_dict_get_str(kw, name) : NULL; }

static FILE *file_fp(O *o);
static int nargs(const char *fname, size_t n, size_t lo, size_t hi) {
    if (n < lo || n > hi) {
        if (lo == hi) py_raise(EX_TypeError, "%s() takes exactly %zu argument%s (%zu given)", fname, lo, lo == 1 ? "" : "s", n);
        else if (n < lo) py_raise(EX_TypeError, "%s expected at least %zu argument%s, got %zu", fname, lo, lo == 1 ? "" : "s", n);
        else py_raise(EX_TypeError, "%s expected at most %zu argument%s, got %zu", fname, hi, hi == 1 ? "" : "s", n);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Built-in functions
 * ------------------------------------------------------------------------- */
static O *bi_print(ARGS) {
    UNUSED;
    O *sep = kwarg(kw, "sep"), *end = kwarg(kw, "end"), *file = kwarg(kw, "file");
    O *flush = kwarg(kw, "flush");
    (void)flush;
    FILE *out = stdout;
    if (file && file != rh_None) {
        out = file_fp(file);
        if (!out) {
            /* any object with a write method */
            for (size_t i = 0; i < n; i++) {
                O *s = py_str(args[i]);
                if (!s) return NULL;
                O *r = call_method_s(file, "write", &s, 1);
                rh_decref(s);
                if (!r) return NULL;
                rh_decref(r);
                if (i + 1 < n) {
                    O *sp = sep && sep != rh_None ? rh_newref(sep) : rh_str(H, " ");
                    r = call_method_s(file, "write", &sp, 1);
                    rh_decref(sp);
                    if (!r) return NULL;
                    rh_decref(r);
                }
            }
            O *e = end && end != rh_None ? rh_newref(end) : rh_str(H, "\n");
            O *r = call_method_s(file, "write", &e, 1);
            rh_decref(e);
            if (!r) return NULL;
            rh_decref(r);
            return rh_None;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(sep && sep != rh_None ? rh_str_cstr(sep) : " ", out);
        O *s = py_str(args[i]);
        if (!s) return NULL;
        fwrite(rh_str_cstr(s), 1, rh_str_nbytes(s), out);
        rh_decref(s);
    }
    fputs(end && end != rh_None ? rh_str_cstr(end) : "\n", out);
    if (out == stderr) fflush(stderr);
    return rh_None;
}

static O *bi_len(ARGS) {
    UNUSED;
    if (nargs("len", n, 1, 1) < 0) return NULL;
    int64_t l = py_len(args[0]);
    return l < 0 ? NULL : rh_int(H, l);
}

static O *range_new(ARGS) {
    UNUSED;
    if (n < 1 || n > 3) return py_raise(EX_TypeError, n ? "range expected at most 3 arguments, got %zu" : "range expected at least 1 argument, got %zu", n);
    int64_t v[3] = {0, 0, 1};
    for (size_t i = 0; i < n; i++) if (py_index(args[i], &v[i]) < 0) return NULL;
    Range *r = (Range *)rh_new(H, &T_range);
    if (!r) return py_from_rh();
    if (n == 1) { r->start = 0; r->stop = v[0]; r->step = 1; }
    else { r->start = v[0]; r->stop = v[1]; r->step = n == 3 ? v[2] : 1; }
    if (r->step == 0) { rh_decref(RH_OBJ(r)); return py_raise(EX_ValueError, "range() arg 3 must not be zero"); }
    return RH_OBJ(r);
}

static O *bi_id(ARGS) { UNUSED; if (nargs("id", n, 1, 1) < 0) return NULL; return rh_int(H, (int64_t)(uintptr_t)args[0]); }
static O *bi_repr(ARGS) { UNUSED; if (nargs("repr", n, 1, 1) < 0) return NULL; return py_repr(args[0]); }
static O *bi_hash(ARGS) { UNUSED; if (nargs("hash", n, 1, 1) < 0) return NULL; rh_hash_t h = py_hash(args[0]); return h == -1 ? NULL : rh_int(H, h); }
static O *bi_callable(ARGS) {
    UNUSED;
    const rh_type *t = rh_type_of(args[0]);
    return rh_bool(t == &T_function || t == &T_builtin || t == &T_method || t == &T_class ||
                   (rh_is_instance(args[0]) && class_lookup_s(type_of(args[0]), "__call__")));
}

static Class *as_class(O *o) { return rh_is_type(o, &T_class) ? (Class *)o : NULL; }

static int isinst(O *o, O *cls) {
    if (rh_is_type(cls, &rh_tuple_type)) {
        for (size_t i = 0; i < rh_tuple_size(cls); i++) {
            int r = isinst(o, rh_tuple_get(cls, i));
            if (r) return r;
        }
        return 0;
    }
    Class *c = as_class(cls);
    if (!c) { py_raise(EX_TypeError, "isinstance() arg 2 must be a type, a tuple of types, or a union"); return -1; }
    if (c == C_int && rh_is_type(o, &rh_bool_type)) return 1;
    return isinstance_of(o, c);
}
static O *bi_isinstance(ARGS) {
    UNUSED;
    if (nargs("isinstance", n, 2, 2) < 0) return NULL;
    int r = isinst(args[0], args[1]);
    return r < 0 ? NULL : rh_bool(r);
}
static O *bi_issubclass(ARGS) {
    UNUSED;
    if (nargs("issubclass", n, 2, 2) < 0) return NULL;
    Class *c = as_class(args[0]);
    if (!c) return py_raise(EX_TypeError, "issubclass() arg 1 must be a class");
    if (rh_is_type(args[1], &rh_tuple_type)) {
        for (size_t i = 0; i < rh_tuple_size(args[1]); i++) {
            Class *b = as_class(rh_tuple_get(args[1], i));
            if (b && is_subclass(c, b)) return rh_True;
        }
        return rh_False;
    }
    Class *b = as_class(args[1]);
    if (!b) return py_raise(EX_TypeError, "issubclass() arg 2 must be a class, a tuple of classes, or a union");
    return rh_bool(is_subclass(c, b) || (c == C_bool && b == C_int));
}

static O *type_new(ARGS) {
    UNUSED;
    if (n == 1) return rh_newref(RH_OBJ(type_of(args[0])));
    return py_raise(EX_NotImplementedError, "refpy does not support type() with 3 arguments");
}

static O *str_new(ARGS) {
    UNUSED;
    if (n == 0) return rh_str(H, "");
    if (n >= 2 && (rh_is_type(args[0], &rh_bytes_type) || rh_is_type(args[0], &rh_bytearray_type))) {
        const void *d = rh_is_type(args[0], &rh_bytes_type) ? (const void *)rh_bytes_data(args[0]) : (const void *)rh_bytearray_data(args[0]);
        size_t l = rh_is_type(args[0], &rh_bytes_type) ? rh_bytes_len(args[0]) : rh_bytearray_len(args[0]);
        O *r = rh_str_n(H, d, l);
        return r ? r : py_from_rh();
    }
    return py_str(args[0]);
}

static O *int_new(ARGS) {
    UNUSED;
    if (n > 2) return py_raise(EX_TypeError, "int() takes at most 2 arguments (%zu given)", n);
    if (n == 0) return rh_int(H, 0);
    O *a = args[0];
    if (py_is_int(a)) return rh_int(H, rh_int_value(a));
    if (rh_is_type(a, &rh_float_type)) {
        double d = rh_float_value(a);
        if (isnan(d)) return py_raise(EX_ValueError, "cannot convert float NaN to integer");
        if (isinf(d)) return py_raise(EX_OverflowError, "cannot convert float infinity to integer");
        if (d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) return py_raise(EX_OverflowError, "integer overflow: refpy's int is 64-bit");
        return rh_int(H, (int64_t)d);
    }
    if (py_is_str(a)) {
        int base = 10;
        if (n > 1 && py_is_int(args[1])) base = (int)rh_int_value(args[1]);
        const char *s = rh_str_cstr(a);
        char buf[128];
        size_t k = 0;
        while (*s == ' ' || *s == '\t' || *s == '\n') s++;
        for (; *s && k < 126; s++) if (*s != '_') buf[k++] = *s;
        while (k && (buf[k - 1] == ' ' || buf[k - 1] == '\n' || buf[k - 1] == '\t')) k--;
        buf[k] = 0;
        char *end;
        errno = 0;
        long long v = strtoll(buf, &end, base);
        if (!k || *end) {
            O *r = py_repr(a);
            py_raise(EX_ValueError, "invalid literal for int() with base %d: %s", base, r ? rh_str_cstr(r) : "?");
            rh_xdecref(r);
            return NULL;
        }
        if (errno == ERANGE) return py_raise(EX_OverflowError, "integer overflow: refpy's int is 64-bit");
        return rh_int(H, v);
    }
    if (rh_is_instance(a)) {
        O *f = class_lookup_s(type_of(a), "__int__");
        if (f) return call1(f, a);
    }
    return py_raise(EX_TypeError, "int() argument must be a string, a bytes-like object or a real number, not '%s'", rh_str_cstr(type_of(a)->name));
}

static O *float_new(ARGS) {
    UNUSED;
    if (n == 0) return rh_float(H, 0.0);
    O *a = args[0];
    if (py_is_int(a) || rh_is_type(a, &rh_float_type)) return rh_float(H, rh_float_value(a));
    if (py_is_str(a)) {
        const char *s = rh_str_cstr(a);
        char *end;
        double d = strtod(s, &end);
        while (*end == ' ' || *end == '\n') end++;
        if (end == s || *end) {
            O *r = py_repr(a);
            py_raise(EX_ValueError, "could not convert string to float: %s", r ? rh_str_cstr(r) : "?");
            rh_xdecref(r);
            return NULL;
        }
        return rh_float(H, d);
    }
    return py_raise(EX_TypeError, "float() argument must be a string or a real number, not '%s'", rh_str_cstr(type_of(a)->name));
}

static O *bool_new(ARGS) {
    UNUSED;
    if (n == 0) return rh_False;
    int t = py_truth(args[0]);
    return t < 0 ? NULL : rh_bool(t);
}

static O *list_new(ARGS) { UNUSED; if (n == 0) return rh_list_new(H, 0); return py_list_from(args[0]); }
static O *tuple_new(ARGS) { UNUSED; if (n == 0) return rh_tuple_new(H, 0); return py_tuple_from(args[0]); }
static O *dict_update(ARGS);
static O *dict_new(ARGS) {
    UNUSED;
    O *d = rh_dict_new(H);
    if (!d) return py_from_rh();
    O *r = dict_update(d, args, n, kw);
    if (!r) { rh_decref(d); return NULL; }
    return d;
}
static O *set_new(ARGS) {
    UNUSED;
    O *s = rh_set_new(H);
    if (!s) return py_from_rh();
    if (n) {
        O *it = py_iter(args[0]);
        if (!it) { rh_decref(s); return NULL; }
        O *x;
        while ((x = py_next(it))) {
            if (py_hash(x) == -1 || rh_set_add(s, x) < 0) { rh_decref(x); rh_decref(it); rh_decref(s); if (!py_err_occurred()) py_from_rh(); return NULL; }
            rh_decref(x);
        }
        rh_decref(it);
        if (py_err_occurred()) { rh_decref(s); return NULL; }
    }
    return s;
}
static O *bytes_like(ARGS, bool mutable) {
    UNUSED;
    if (n == 0) return mutable ? rh_bytearray(H, NULL, 0) : rh_bytes(H, "", 0);
    O *a = args[0];
    if (py_is_int(a)) {
        int64_t k = rh_int_value(a);
        if (k < 0) return py_raise(EX_ValueError, "negative count");
        if (refpy_fuzz_mode && k > (1 << 20)) return py_raise(EX_MemoryError, "refpy: size capped while fuzzing");
        if (mutable) { O *r = rh_bytearray(H, NULL, (size_t)k); return r ? r : py_from_rh(); }
        uint8_t *z = calloc((size_t)k + 1, 1);
        O *r = rh_bytes(H, z, (size_t)k);
        free(z);
        return r ? r : py_from_rh();
    }
    if (py_is_str(a)) {
        if (n < 2) return py_raise(EX_TypeError, "string argument without an encoding");
        return mutable ? rh_bytearray(H, rh_str_cstr(a), rh_str_nbytes(a)) : rh_bytes(H, rh_str_cstr(a), rh_str_nbytes(a));
    }
    if (rh_is_type(a, &rh_bytes_type)) return mutable ? rh_bytearray(H, rh_bytes_data(a), rh_bytes_len(a)) : rh_newref(a);
    if (rh_is_type(a, &rh_bytearray_type)) return mutable ? rh_bytearray(H, rh_bytearray_data(a), rh_bytearray_len(a)) : rh_bytes(H, rh_bytearray_data(a), rh_bytearray_len(a));
    if (rh_is_type(a, &rh_memoryview_type)) {
        O *b = rh_memoryview_tobytes(a);
        if (!b) return py_from_rh();
        if (!mutable) return b;
        O *r = rh_bytearray(H, rh_bytes_data(b), rh_bytes_len(b));
        rh_decref(b);
        return r;
    }
    O *l = py_list_from(a);
    if (!l) return NULL;
    size_t m = rh_list_size(l);
    uint8_t *buf = malloc(m + 1);
    for (size_t i = 0; i < m; i++) {
        int64_t v;
        if (py_index(rh_list_get(l, (ptrdiff_t)i), &v) < 0) { free(buf); rh_decref(l); return NULL; }
        if (v < 0 || v > 255) { free(buf); rh_decref(l); return py_raise(EX_ValueError, "bytes must be in range(0, 256)"); }
        buf[i] = (uint8_t)v;
    }
    rh_decref(l);
    O *r = mutable ? rh_bytearray(H, buf, m) : rh_bytes(H, buf, m);
    free(buf);
    return r ? r : py_from_rh();
}
static O *bytes_new(ARGS) { return bytes_like(self, args, n, kw, false); }
static O *bytearray_new(ARGS) { return bytes_like(self, args, n, kw, true); }
static O *memoryview_new(ARGS) {
    UNUSED;
    if (nargs("memoryview", n, 1, 1) < 0) return NULL;
    const rh_type *t = rh_type_of(args[0]);
    if (t != &rh_bytes_type && t != &rh_bytearray_type && t != &rh_memoryview_type)
        return py_raise(EX_TypeError, "memoryview: a bytes-like object is required, not '%s'", rh_str_cstr(type_of(args[0])->name));
    O *m = rh_memoryview_in(H, args[0]);
    return m ? m : py_from_rh();
}

static O *bi_enumerate(ARGS) {
    UNUSED;
    if (n < 1) return py_raise(EX_TypeError, "enumerate() missing required argument 'iterable'");
    O *it = py_iter(args[0]);
    if (!it) return NULL;
    O *e = new_iter(IT_ENUM, it);
    rh_decref(it);
    O *start = n > 1 ? args[1] : kwarg(kw, "start");
    if (e && start) ((Iter *)e)->i = rh_int_value(start);
    return e;
}
static O *bi_zip(ARGS) {
    UNUSED;
    O *t = rh_tuple_new(H, n);
    for (size_t i = 0; i < n; i++) {
        O *it = py_iter(args[i]);
        if (!it) { rh_decref(t); return NULL; }
        rh_tuple_set_steal(t, i, it);
    }
    O *z = new_iter(IT_ZIP, t);
    rh_decref(t);
    return z;
}
static O *bi_map(ARGS) {
    UNUSED;
    if (n != 2) return py_raise(EX_NotImplementedError, "refpy's map() takes one function and one iterable");
    O *it = py_iter(args[1]);
    if (!it) return NULL;
    O *m = new_iter(IT_MAP, args[0]);
    ((Iter *)m)->extra = it;
    return m;
}
static O *bi_filter(ARGS) {
    UNUSED;
    if (nargs("filter", n, 2, 2) < 0) return NULL;
    O *l = rh_list_new(H, 0);
    O *it = py_iter(args[1]);
    if (!it) { rh_decref(l); return NULL; }
    O *x;
    while ((x = py_next(it))) {
        O *r = args[0] == rh_None ? rh_newref(x) : call1(args[0], x);
        int t = r ? py_truth(r) : -1;
        rh_xdecref(r);
        if (t < 0) { rh_decref(x); rh_decref(it); rh_decref(l); return NULL; }
        if (t) rh_list_append(l, x);
        rh_decref(x);
    }
    rh_decref(it);
    if (py_err_occurred()) { rh_decref(l); return NULL; }
    O *r = py_iter(l);
    rh_decref(l);
    return r;
}
static O *bi_reversed(ARGS) {
    UNUSED;
    if (nargs("reversed", n, 1, 1) < 0) return NULL;
    O *seq = args[0];
    if (rh_is_type(seq, &T_range) || rh_is_type(seq, &rh_dict_type) || rh_is_type(seq, &rh_str_type)) {
        O *l = py_list_from(seq);
        if (!l) return NULL;
        O *it = new_iter(IT_REVERSED, l);
        ((Iter *)it)->i = (int64_t)rh_list_size(l) - 1;
        rh_decref(l);
        return it;
    }
    if (!rh_is_type(seq, &rh_list_type) && !rh_is_type(seq, &rh_tuple_type))
        return py_raise(EX_TypeError, "'%s' object is not reversible", rh_str_cstr(type_of(seq)->name));
    O *it = new_iter(IT_REVERSED, seq);
    ((Iter *)it)->i = py_len(seq) - 1;
    return it;
}
static O *bi_sorted(ARGS) {
    UNUSED;
    if (nargs("sorted", n, 1, 1) < 0) return NULL;
    O *l = py_list_from(args[0]);
    if (!l) return NULL;
    O *rev = kwarg(kw, "reverse");
    O *r = py_sort(l, kwarg(kw, "key"), rev && py_truth(rev) > 0);
    if (!r) { rh_decref(l); return NULL; }
    return l;
}
static O *minmax(O **args, size_t n, O *kw, bool max) {
    const char *name = max ? "max" : "min";
    O *key = kwarg(kw, "key"), *dflt = kwarg(kw, "default");
    O *src;
    if (n == 1) src = rh_newref(args[0]);
    else if (n > 1) src = rh_tuple_from(H, args, n);
    else return py_raise(EX_TypeError, "%s expected at least 1 argument, got 0", name);
    O *it = py_iter(src);
    rh_decref(src);
    if (!it) return NULL;
    O *best = NULL, *bestk = NULL, *x;
    while ((x = py_next(it))) {
        O *k = key ? call1(key, x) : rh_newref(x);
        if (!k) { rh_decref(x); goto fail; }
        if (!best) { best = x; bestk = k; continue; }
        int lt = max ? py_lt(bestk, k) : py_lt(k, bestk);
        if (lt < 0) { rh_decref(x); rh_decref(k); goto fail; }
        if (lt) { rh_decref(best); rh_decref(bestk); best = x; bestk = k; }
        else { rh_decref(x); rh_decref(k); }
    }
    rh_decref(it);
    it = NULL;
    if (py_err_occurred()) goto fail;
    rh_xdecref(bestk);
    if (!best) {
        if (dflt) return rh_newref(dflt);
        return py_raise(EX_ValueError, "%s() arg is an empty sequence", name);
    }
    return best;
fail:
    rh_xdecref(it);
    rh_xdecref(best);
    rh_xdecref(bestk);
    return NULL;
}
static O *bi_min(ARGS) { UNUSED; return minmax(args, n, kw, false); }
static O *bi_max(ARGS) { UNUSED; return minmax(args, n, kw, true); }
static O *bi_sum(ARGS) {
    UNUSED;
    if (nargs("sum", n, 1, 2) < 0) return NULL;
    O *acc = n > 1 ? rh_newref(args[1]) : rh_int(H, 0);
    O *it = py_iter(args[0]);
    if (!it) { rh_decref(acc); return NULL; }
    O *x;
    while ((x = py_next(it))) {
        O *r = py_binop(OP_ADD, acc, x);
        rh_decref(x);
        rh_decref(acc);
        if (!r) { rh_decref(it); return NULL; }
        acc = r;
    }
    rh_decref(it);
    if (py_err_occurred()) { rh_decref(acc); return NULL; }
    return acc;
}
static O *bi_any_all(O **args, size_t n, bool any) {
    if (nargs(any ? "any" : "all", n, 1, 1) < 0) return NULL;
    O *it = py_iter(args[0]);
    if (!it) return NULL;
    O *x;
    while ((x = py_next(it))) {
        int t = py_truth(x);
        rh_decref(x);
        if (t < 0) { rh_decref(it); return NULL; }
        if (t == any) { rh_decref(it); return rh_bool(any); }
    }
    rh_decref(it);
    if (py_err_occurred()) return NULL;
    return rh_bool(!any);
}
static O *bi_any(ARGS) { UNUSED; return bi_any_all(args, n, true); }
static O *bi_all(ARGS) { UNUSED; return bi_any_all(args, n, false); }
static O *bi_abs(ARGS) {
    UNUSED;
    if (nargs("abs", n, 1, 1) < 0) return NULL;
    O *a = args[0];
    if (py_is_int(a)) {
        int64_t v = rh_int_value(a);
        if (v == INT64_MIN) return py_raise(EX_OverflowError, "integer overflow: refpy's int is 64-bit");
        return rh_int(H, v < 0 ? -v : v);
    }
    if (rh_is_type(a, &rh_float_type)) return rh_float(H, fabs(rh_float_value(a)));
    if (rh_is_instance(a)) { O *f = class_lookup_s(type_of(a), "__abs__"); if (f) return call1(f, a); }
    return py_raise(EX_TypeError, "bad operand type for abs(): '%s'", rh_str_cstr(type_of(a)->name));
}
static O *bi_round(ARGS) {
    UNUSED;
    if (nargs("round", n, 1, 2) < 0) return NULL;
    O *a = args[0];
    if (py_is_int(a)) return rh_int(H, rh_int_value(a));
    double x = rh_float_value(a);
    if (n == 1 || args[1] == rh_None) {
        double r = nearbyint(x);
        return rh_int(H, (int64_t)r);
    }
    int64_t nd = rh_int_value(args[1]);
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", (int)(nd < 0 ? 0 : nd), x);
    return rh_float(H, strtod(buf, NULL));
}
static O *bi_divmod(ARGS) {
    UNUSED;
    if (nargs("divmod", n, 2, 2) < 0) return NULL;
    O *q = py_binop(OP_FLOORDIV, args[0], args[1]);
    if (!q) return NULL;
    O *m = py_binop(OP_MOD, args[0], args[1]);
    if (!m) { rh_decref(q); return NULL; }
    O *t = rh_tuple_pack(H, 2, q, m);
    rh_decref(q);
    rh_decref(m);
    return t;
}
static O *bi_pow(ARGS) { UNUSED; if (nargs("pow", n, 2, 2) < 0) return NULL; return py_binop(OP_POW, args[0], args[1]); }
static O *int_base(O *a, int base) {
    int64_t v;
    if (py_index(a, &v) < 0) return NULL;
    O *spec = rh_str(H, base == 16 ? "#x" : base == 8 ? "#o" : "#b");
    O *r = py_format(a, spec);
    rh_decref(spec);
    return r;
}
static O *bi_hex(ARGS) { UNUSED; if (nargs("hex", n, 1, 1) < 0) return NULL; return int_base(args[0], 16); }
static O *bi_oct(ARGS) { UNUSED; if (nargs("oct", n, 1, 1) < 0) return NULL; return int_base(args[0], 8); }
static O *bi_bin(ARGS) { UNUSED; if (nargs("bin", n, 1, 1) < 0) return NULL; return int_base(args[0], 2); }
static O *bi_chr(ARGS) {
    UNUSED;
    int64_t c;
    if (nargs("chr", n, 1, 1) < 0 || py_index(args[0], &c) < 0) return NULL;
    if (c < 0 || c > 0x10FFFF) return py_raise(EX_ValueError, "chr() arg not in range(0x110000)");
    char buf[5];
    int l;
    if (c < 0x80) { buf[0] = (char)c; l = 1; }
    else if (c < 0x800) { buf[0] = (char)(0xC0 | (c >> 6)); buf[1] = (char)(0x80 | (c & 0x3F)); l = 2; }
    else if (c < 0x10000) { buf[0] = (char)(0xE0 | (c >> 12)); buf[1] = (char)(0x80 | ((c >> 6) & 0x3F)); buf[2] = (char)(0x80 | (c & 0x3F)); l = 3; }
    else { buf[0] = (char)(0xF0 | (c >> 18)); buf[1] = (char)(0x80 | ((c >> 12) & 0x3F)); buf[2] = (char)(0x80 | ((c >> 6) & 0x3F)); buf[3] = (char)(0x80 | (c & 0x3F)); l = 4; }
    O *r = rh_str_n(H, buf, (size_t)l);
    return r ? r : py_from_rh();
}
static O *bi_ord(ARGS) {
    UNUSED;
    if (nargs("ord", n, 1, 1) < 0) return NULL;
    if (!py_is_str(args[0])) return py_raise(EX_TypeError, "ord() expected string of length 1, but %s found", rh_str_cstr(type_of(args[0])->name));
    if (rh_str_len(args[0]) != 1) return py_raise(EX_TypeError, "ord() expected a character, but string of length %zu found", rh_str_len(args[0]));
    const unsigned char *p = (const unsigned char *)rh_str_cstr(args[0]);
    int64_t c = p[0];
    if (c >= 0xF0) c = ((c & 7) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    else if (c >= 0xE0) c = ((c & 15) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    else if (c >= 0xC0) c = ((c & 31) << 6) | (p[1] & 0x3F);
    return rh_int(H, c);
}
static O *bi_getattr(ARGS) {
    UNUSED;
    if (nargs("getattr", n, 2, 3) < 0) return NULL;
    if (!py_is_str(args[1])) return py_raise(EX_TypeError, "attribute name must be string, not '%s'", rh_str_cstr(type_of(args[1])->name));
    O *v = getattr_o(args[0], intern(rh_str_cstr(args[1])));
    if (!v && n == 3 && py_err_matches(py_exc[EX_AttributeError])) { py_err_clear(); return rh_newref(args[2]); }
    return v;
}
static O *bi_setattr(ARGS) {
    UNUSED;
    if (nargs("setattr", n, 3, 3) < 0) return NULL;
    if (!py_is_str(args[1])) return py_raise(EX_TypeError, "attribute name must be string, not '%s'", rh_str_cstr(type_of(args[1])->name));
    return setattr_o(args[0], intern(rh_str_cstr(args[1])), args[2]) < 0 ? NULL : rh_None;
}
static O *bi_delattr(ARGS) {
    UNUSED;
    if (nargs("delattr", n, 2, 2) < 0) return NULL;
    return setattr_o(args[0], intern(rh_str_cstr(args[1])), NULL) < 0 ? NULL : rh_None;
}
static O *bi_hasattr(ARGS) {
    UNUSED;
    if (nargs("hasattr", n, 2, 2) < 0) return NULL;
    if (!py_is_str(args[1])) return py_raise(EX_TypeError, "attribute name must be string, not '%s'", rh_str_cstr(type_of(args[1])->name));
    O *v = getattr_o(args[0], intern(rh_str_cstr(args[1])));
    if (v) { rh_decref(v); return rh_True; }
    if (py_err_matches(py_exc[EX_AttributeError])) { py_err_clear(); return rh_False; }
    return NULL;
}
static O *bi_iter(ARGS) { UNUSED; if (nargs("iter", n, 1, 1) < 0) return NULL; return py_iter(args[0]); }
static O *bi_next(ARGS) {
    UNUSED;
    if (nargs("next", n, 1, 2) < 0) return NULL;
    O *r = py_next(args[0]);
    if (r || py_err_occurred()) return r;
    if (n == 2) return rh_newref(args[1]);
    O *e = call0(py_exc[EX_StopIteration]);
    if (e) { py_raise_obj(e); rh_decref(e); }
    return NULL;
}
static O *bi_globals(ARGS) { UNUSED; return rh_newref(globals_of_current()); }
static O *bi_locals(ARGS) { UNUSED; return locals_of_current(); }
static O *bi_vars(ARGS) {
    UNUSED;
    if (n == 0) return locals_of_current();
    if (rh_is_instance(args[0])) {
        if (type_of(args[0])->slotted) return py_raise(EX_TypeError, "vars() argument must have __dict__ attribute");
        O *d = rh_vars(args[0]);
        return d ? d : py_from_rh();
    }
    return getattr_s(args[0], "__dict__");
}
static O *bi_dir(ARGS) {
    UNUSED;
    O *l = rh_list_new(H, 0);
    if (n && rh_is_instance(args[0]) && !type_of(args[0])->slotted) {
        O *d = rh_vars(args[0]);
        size_t pos = 0;
        O *k, *v;
        while (d && rh_dict_next(d, &pos, &k, &v)) rh_list_append(l, k);
        rh_xdecref(d);
    }
    Class *c = n ? (rh_is_type(args[0], &T_class) ? (Class *)args[0] : type_of(args[0])) : NULL;
    for (; c; c = c->base) {
        size_t pos = 0;
        O *k, *v;
        while (rh_dict_next(c->dict, &pos, &k, &v)) if (rh_list_index(l, k) < 0) rh_list_append(l, k);
    }
    py_sort(l, NULL, false);
    return l;
}
static O *bi_super(ARGS) {
    UNUSED;
    /* zero-argument super(): the class whose namespace holds the running
     * function, and the function's first argument */
    if (n == 2) {
        Method *s = (Method *)rh_new(H, &T_super);
        s->func = rh_newref(args[0]);
        s->self = rh_newref(args[1]);
        rh_gc_track(RH_OBJ(s));
        return RH_OBJ(s);
    }
    extern O *super_of_current(void);
    return super_of_current();
}
static O *property_new(ARGS) {
    UNUSED;
    Property *p = (Property *)rh_new(H, &T_property);
    p->fget = n > 0 && args[0] != rh_None ? rh_newref(args[0]) : NULL;
    p->fset = n > 1 && args[1] != rh_None ? rh_newref(args[1]) : NULL;
    rh_gc_track(RH_OBJ(p));
    return RH_OBJ(p);
}
static O *property_setter(ARGS) {
    UNUSED;
    Property *old = (Property *)self;
    Property *p = (Property *)rh_new(H, &T_property);
    p->fget = rh_xnewref(old->fget);
    p->fset = rh_newref(args[0]);
    rh_gc_track(RH_OBJ(p));
    return RH_OBJ(p);
}
static O *object_new(ARGS) {
    UNUSED;
    return py_raise(EX_NotImplementedError, "refpy cannot create plain object() instances");
}
static O *object_init(ARGS) { UNUSED; return rh_None; }
static O *exc_init(ARGS) {
    UNUSED;
    O *t = rh_tuple_from(H, args, n);
    if (!t) return py_from_rh();
    int r = rh_setattr(self, "args", t);
    rh_decref(t);
    return r < 0 ? py_from_rh() : rh_None;
}
static O *exc_str(ARGS) { UNUSED; return py_str(self); }

/* open(): a minimal text file for reading and writing */
typedef struct File { RH_OBJECT_HEAD; FILE *fp; O *name; } File;
static void file_destroy(O *self) {
    File *f = (File *)self;
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    RH_CLEAR(f->name);
}
rh_type T_file = {.name = "TextIOWrapper", .basicsize = sizeof(File), .destroy = file_destroy};
static O *bi_open(ARGS) {
    UNUSED;
    if (refpy_fuzz_mode) return py_raise(EX_OSError, "open() is disabled while fuzzing");
    if (n < 1 || !py_is_str(args[0])) return py_raise(EX_TypeError, "open() needs a file name");
    const char *mode = n > 1 && py_is_str(args[1]) ? rh_str_cstr(args[1]) : "r";
    FILE *fp = fopen(rh_str_cstr(args[0]), strchr(mode, 'w') ? "w" : strchr(mode, 'a') ? "a" : "r");
    if (!fp) {
        if (errno == ENOENT) return py_raise(EX_FileNotFoundError, "[Errno 2] No such file or directory: '%s'", rh_str_cstr(args[0]));
        return py_raise(EX_OSError, "[Errno %d] %s: '%s'", errno, strerror(errno), rh_str_cstr(args[0]));
    }
    File *f = (File *)rh_new(H, &T_file);
    f->fp = fp;
    f->name = rh_newref(args[0]);
    return RH_OBJ(f);
}
static O *file_enter(ARGS) { UNUSED; return rh_newref(self); }
static O *file_close(ARGS) {
    UNUSED;
    File *f = (File *)self;
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    return rh_None;
}
static O *file_exit(ARGS) { return file_close(self, args, n, kw); }
static O *file_read(ARGS) {
    UNUSED;
    File *f = (File *)self;
    if (!f->fp) return py_raise(EX_ValueError, "I/O operation on closed file.");
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len, f->fp)) > 0) { len += k; if (len == cap) { cap *= 2; buf = realloc(buf, cap); } }
    O *r = rh_str_n(H, buf, len);
    free(buf);
    return r ? r : py_from_rh();
}
static O *stream_write(ARGS);
static O *file_write(ARGS) {
    if (((File *)self)->fp == stdout || ((File *)self)->fp == stderr) return stream_write(self, args, n, kw);
    UNUSED;
    File *f = (File *)self;
    if (!f->fp) return py_raise(EX_ValueError, "I/O operation on closed file.");
    if (n != 1 || !py_is_str(args[0])) return py_raise(EX_TypeError, "write() argument must be str");
    fwrite(rh_str_cstr(args[0]), 1, rh_str_nbytes(args[0]), f->fp);
    return rh_int(H, (int64_t)rh_str_len(args[0]));
}
static O *file_iter(O *f) {
    O *it = new_iter(IT_FILE, f);
    if (it) ((Iter *)it)->i = (int64_t)(uintptr_t)((File *)f)->fp;
    return it;
}

/* ---------------------------------------------------------------------------
 * Methods of the built-in types
 * ------------------------------------------------------------------------- */
static O *list_append(ARGS) { UNUSED; if (nargs("append", n, 1, 1) < 0) return NULL; return rh_list_append(self, args[0]) < 0 ? py_from_rh() : rh_None; }
static O *list_extend(ARGS) {
    UNUSED;
    if (nargs("extend", n, 1, 1) < 0) return NULL;
    O *r = py_inplace(OP_ADD, self, args[0]);
    if (!r) return NULL;
    rh_decref(r);
    return rh_None;
}
static O *list_pop(ARGS) {
    UNUSED;
    if (rh_list_size(self) == 0) return py_raise(EX_IndexError, "pop from empty list");
    int64_t i = -1;
    if (n && py_index(args[0], &i) < 0) return NULL;
    int64_t m = (int64_t)rh_list_size(self);
    if (i < -m || i >= m) return py_raise(EX_IndexError, "pop index out of range");
    O *r = rh_list_pop(self, (ptrdiff_t)i);
    return r ? r : py_from_rh();
}
static O *list_insert(ARGS) {
    UNUSED;
    if (nargs("insert", n, 2, 2) < 0) return NULL;
    int64_t i;
    if (py_index(args[0], &i) < 0) return NULL;
    int64_t m = (int64_t)rh_list_size(self);
    if (i < 0) { i += m; if (i < 0) i = 0; }
    if (i > m) i = m;
    return rh_list_insert(self, (ptrdiff_t)i, args[1]) < 0 ? py_from_rh() : rh_None;
}
static O *list_remove(ARGS) {
    UNUSED;
    if (nargs("remove", n, 1, 1) < 0) return NULL;
    for (size_t i = 0; i < rh_list_size(self); i++) {
        int e = py_eq(rh_list_get(self, (ptrdiff_t)i), args[0]);
        if (e < 0) return NULL;
        if (e) { O *x = rh_list_pop(self, (ptrdiff_t)i); rh_xdecref(x); return rh_None; }
    }
    return py_raise(EX_ValueError, "list.remove(x): x not in list");
}
static O *seq_index(ARGS) {
    UNUSED;
    if (n < 1) return py_raise(EX_TypeError, "index expected at least 1 argument, got 0");
    bool isl = rh_is_type(self, &rh_list_type);
    size_t m = isl ? rh_list_size(self) : rh_tuple_size(self);
    for (size_t i = 0; i < m; i++) {
        int e = py_eq(isl ? rh_list_get(self, (ptrdiff_t)i) : rh_tuple_get(self, i), args[0]);
        if (e < 0) return NULL;
        if (e) return rh_int(H, (int64_t)i);
    }
    if (isl) {
        O *r = py_repr(args[0]);
        py_raise(EX_ValueError, "%s is not in list", r ? rh_str_cstr(r) : "?");
        rh_xdecref(r);
        return NULL;
    }
    return py_raise(EX_ValueError, "tuple.index(x): x not in tuple");
}
static O *seq_count(ARGS) {
    UNUSED;
    if (nargs("count", n, 1, 1) < 0) return NULL;
    if (py_is_str(self)) {
        if (!py_is_str(args[0])) return py_raise(EX_TypeError, "must be str");
        const char *s = rh_str_cstr(self), *sub = rh_str_cstr(args[0]);
        size_t sl = rh_str_nbytes(args[0]);
        int64_t c = 0;
        if (!sl) return rh_int(H, (int64_t)rh_str_len(self) + 1);
        for (const char *p = strstr(s, sub); p; p = strstr(p + sl, sub)) c++;
        return rh_int(H, c);
    }
    bool isl = rh_is_type(self, &rh_list_type);
    size_t m = isl ? rh_list_size(self) : rh_tuple_size(self);
    int64_t c = 0;
    for (size_t i = 0; i < m; i++) {
        int e = py_eq(isl ? rh_list_get(self, (ptrdiff_t)i) : rh_tuple_get(self, i), args[0]);
        if (e < 0) return NULL;
        c += e;
    }
    return rh_int(H, c);
}
static O *list_clear(ARGS) { UNUSED; return rh_list_clear(self) < 0 ? py_from_rh() : rh_None; }
static O *list_reverse(ARGS) { UNUSED; return rh_list_reverse(self) < 0 ? py_from_rh() : rh_None; }
static O *list_copy(ARGS) { UNUSED; return py_list_from(self); }
static O *list_sort(ARGS) {
    UNUSED;
    O *rev = kwarg(kw, "reverse");
    return py_sort(self, kwarg(kw, "key"), rev && py_truth(rev) > 0);
}

static O *dict_get(ARGS) {
    UNUSED;
    if (nargs("get", n, 1, 2) < 0) return NULL;
    if (py_hash(args[0]) == -1) return NULL;
    O *v = rh_dict_get(self, args[0]);
    if (v) return rh_newref(v);
    return rh_newref(n > 1 ? args[1] : rh_None);
}
static O *dict_view(O *d, int kind) {
    /* views are materialised as lists (a known difference) */
    O *l = rh_list_new(H, 0);
    size_t pos = 0;
    O *k, *v;
    while (rh_dict_next(d, &pos, &k, &v)) {
        if (kind == 0) rh_list_append(l, k);
        else if (kind == 1) rh_list_append(l, v);
        else { O *t = rh_tuple_pack(H, 2, k, v); rh_list_append(l, t); rh_decref(t); }
    }
    return l;
}
static O *dict_keys(ARGS) { UNUSED; return dict_view(self, 0); }
static O *dict_values(ARGS) { UNUSED; return dict_view(self, 1); }
static O *dict_items(ARGS) { UNUSED; return dict_view(self, 2); }
static O *dict_pop(ARGS) {
    UNUSED;
    if (nargs("pop", n, 1, 2) < 0) return NULL;
    O *v = rh_dict_get(self, args[0]);
    if (!v) {
        if (n > 1) return rh_newref(args[1]);
        O *e = call1(py_exc[EX_KeyError], args[0]);
        if (e) { py_raise_obj(e); rh_decref(e); }
        return NULL;
    }
    rh_incref(v);
    rh_dict_del(self, args[0]);
    return v;
}
static O *dict_setdefault(ARGS) {
    UNUSED;
    if (nargs("setdefault", n, 1, 2) < 0) return NULL;
    O *v = rh_dict_get(self, args[0]);
    if (v) return rh_newref(v);
    O *d = n > 1 ? args[1] : rh_None;
    if (py_setitem(self, args[0], d) < 0) return NULL;
    return rh_newref(d);
}
static O *dict_update(ARGS) {
    UNUSED;
    if (n > 1) return py_raise(EX_TypeError, "update expected at most 1 argument, got %zu", n);
    if (n == 1) {
        O *src = args[0];
        if (rh_is_type(src, &rh_dict_type)) {
            size_t pos = 0;
            O *k, *v;
            while (rh_dict_next(src, &pos, &k, &v)) rh_dict_set(self, k, v);
        } else {
            O *it = py_iter(src);
            if (!it) return NULL;
            O *x;
            while ((x = py_next(it))) {
                O *t = py_tuple_from(x);
                rh_decref(x);
                if (!t) { rh_decref(it); return NULL; }
                if (rh_tuple_size(t) != 2) { rh_decref(t); rh_decref(it); return py_raise(EX_ValueError, "dictionary update sequence element has wrong length"); }
                if (py_setitem(self, rh_tuple_get(t, 0), rh_tuple_get(t, 1)) < 0) { rh_decref(t); rh_decref(it); return NULL; }
                rh_decref(t);
            }
            rh_decref(it);
            if (py_err_occurred()) return NULL;
        }
    }
    if (kw) {
        size_t pos = 0;
        O *k, *v;
        while (rh_dict_next(kw, &pos, &k, &v)) rh_dict_set(self, k, v);
    }
    return rh_None;
}
static O *dict_clear(ARGS) { UNUSED; return rh_dict_clear(self) < 0 ? py_from_rh() : rh_None; }
static O *dict_copy(ARGS) {
    UNUSED;
    O *d = rh_dict_new(H);
    size_t pos = 0;
    O *k, *v;
    while (rh_dict_next(self, &pos, &k, &v)) rh_dict_set(d, k, v);
    return d;
}

static O *set_add(ARGS) { UNUSED; if (nargs("add", n, 1, 1) < 0) return NULL; if (py_hash(args[0]) == -1) return NULL; return rh_set_add(self, args[0]) < 0 ? py_from_rh() : rh_None; }
static O *set_discard(ARGS) { UNUSED; if (nargs("discard", n, 1, 1) < 0) return NULL; return rh_set_discard(self, args[0]) < 0 ? py_from_rh() : rh_None; }
static O *set_remove(ARGS) {
    UNUSED;
    if (nargs("remove", n, 1, 1) < 0) return NULL;
    int r = rh_set_discard(self, args[0]);
    if (r < 0) return py_from_rh();
    if (r == 0) { O *e = call1(py_exc[EX_KeyError], args[0]); if (e) { py_raise_obj(e); rh_decref(e); } return NULL; }
    return rh_None;
}
static O *set_clear(ARGS) { UNUSED; return rh_set_clear(self) < 0 ? py_from_rh() : rh_None; }
static O *set_update(ARGS) {
    UNUSED;
    for (size_t i = 0; i < n; i++) {
        O *it = py_iter(args[i]);
        if (!it) return NULL;
        O *x;
        while ((x = py_next(it))) { rh_set_add(self, x); rh_decref(x); }
        rh_decref(it);
        if (py_err_occurred()) return NULL;
    }
    return rh_None;
}
static O *set_pop(ARGS) {
    UNUSED;
    size_t pos = 0;
    O *k;
    if (!rh_set_next(self, &pos, &k)) return py_raise(EX_KeyError, "pop from an empty set");
    rh_incref(k);
    rh_set_discard(self, k);
    return k;
}
static O *set_copy(ARGS) { UNUSED; return set_new(NULL, &self, 1, NULL); }

/* str */
static O *str_join(ARGS) {
    UNUSED;
    if (nargs("join", n, 1, 1) < 0) return NULL;
    O *l = py_list_from(args[0]);
    if (!l) return NULL;
    size_t total = 0, m = rh_list_size(l), sl = rh_str_nbytes(self);
    for (size_t i = 0; i < m; i++) {
        O *x = rh_list_get(l, (ptrdiff_t)i);
        if (!py_is_str(x)) { rh_decref(l); return py_raise(EX_TypeError, "sequence item %zu: expected str instance, %s found", i, rh_str_cstr(type_of(x)->name)); }
        total += rh_str_nbytes(x) + sl;
    }
    char *buf = malloc(total + 1);
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        if (i) { memcpy(buf + o, rh_str_cstr(self), sl); o += sl; }
        O *x = rh_list_get(l, (ptrdiff_t)i);
        memcpy(buf + o, rh_str_cstr(x), rh_str_nbytes(x));
        o += rh_str_nbytes(x);
    }
    rh_decref(l);
    O *r = rh_str_n(H, buf, o);
    free(buf);
    return r ? r : py_from_rh();
}
static O *str_split(ARGS) {
    UNUSED;
    const char *s = rh_str_cstr(self);
    size_t len = rh_str_nbytes(self);
    O *sep = n > 0 ? args[0] : kwarg(kw, "sep");
    int64_t maxsplit = n > 1 ? rh_int_value(args[1]) : -1;
    O *l = rh_list_new(H, 0);
    if (!sep || sep == rh_None) {
        size_t i = 0;
        while (i < len) {
            while (i < len && strchr(" \t\n\r\f\v", s[i])) i++;
            if (i >= len) break;
            size_t j = i;
            if (maxsplit == 0) j = len;
            else while (j < len && !strchr(" \t\n\r\f\v", s[j])) j++;
            O *p = rh_str_n(H, s + i, j - i);
            rh_list_append(l, p);
            rh_decref(p);
            if (maxsplit > 0) maxsplit--;
            i = j;
        }
        return l;
    }
    const char *sp = rh_str_cstr(sep);
    size_t spl = rh_str_nbytes(sep);
    if (!spl) { rh_decref(l); return py_raise(EX_ValueError, "empty separator"); }
    const char *p = s;
    while (1) {
        const char *q = maxsplit == 0 ? NULL : strstr(p, sp);
        if (!q) { O *x = rh_str_n(H, p, (size_t)(s + len - p)); rh_list_append(l, x); rh_decref(x); break; }
        O *x = rh_str_n(H, p, (size_t)(q - p));
        rh_list_append(l, x);
        rh_decref(x);
        p = q + spl;
        if (maxsplit > 0) maxsplit--;
    }
    return l;
}
static O *str_strip_impl(O *self, O **args, size_t n, int which) {
    const char *s = rh_str_cstr(self);
    size_t len = rh_str_nbytes(self);
    const char *chars = n && args[0] != rh_None ? rh_str_cstr(args[0]) : " \t\n\r\f\v";
    size_t i = 0, j = len;
    if (which & 1) while (i < j && strchr(chars, s[i])) i++;
    if (which & 2) while (j > i && strchr(chars, s[j - 1])) j--;
    return rh_str_n(H, s + i, j - i);
}
static O *str_strip(ARGS) { UNUSED; return str_strip_impl(self, args, n, 3); }
static O *str_lstrip(ARGS) { UNUSED; return str_strip_impl(self, args, n, 1); }
static O *str_rstrip(ARGS) { UNUSED; return str_strip_impl(self, args, n, 2); }
static O *str_startswith(ARGS) {
    UNUSED;
    if (nargs("startswith", n, 1, 1) < 0) return NULL;
    if (rh_is_type(args[0], &rh_tuple_type)) {
        for (size_t i = 0; i < rh_tuple_size(args[0]); i++) {
            O *p = rh_tuple_get(args[0], i);
            if (py_is_str(p) && !strncmp(rh_str_cstr(self), rh_str_cstr(p), rh_str_nbytes(p))) return rh_True;
        }
        return rh_False;
    }
    if (!py_is_str(args[0])) return py_raise(EX_TypeError, "startswith first arg must be str or a tuple of str, not %s", rh_str_cstr(type_of(args[0])->name));
    return rh_bool(rh_str_nbytes(self) >= rh_str_nbytes(args[0]) && !memcmp(rh_str_cstr(self), rh_str_cstr(args[0]), rh_str_nbytes(args[0])));
}
static O *str_endswith(ARGS) {
    UNUSED;
    if (nargs("endswith", n, 1, 1) < 0) return NULL;
    if (!py_is_str(args[0])) return py_raise(EX_TypeError, "endswith first arg must be str or a tuple of str, not %s", rh_str_cstr(type_of(args[0])->name));
    size_t a = rh_str_nbytes(self), b = rh_str_nbytes(args[0]);
    return rh_bool(a >= b && !memcmp(rh_str_cstr(self) + a - b, rh_str_cstr(args[0]), b));
}
static O *str_replace(ARGS) {
    UNUSED;
    if (nargs("replace", n, 2, 3) < 0) return NULL;
    const char *s = rh_str_cstr(self), *old = rh_str_cstr(args[0]), *nw = rh_str_cstr(args[1]);
    size_t ol = rh_str_nbytes(args[0]), nl = rh_str_nbytes(args[1]), sl = rh_str_nbytes(self);
    if (!ol) return rh_newref(self);
    size_t cap = sl + 16, o = 0;
    char *buf = malloc(cap);
    const char *p = s;
    while (1) {
        const char *q = strstr(p, old);
        if (!q) break;
        size_t seg = (size_t)(q - p);
        while (o + seg + nl + 1 > cap) { cap *= 2; buf = realloc(buf, cap); }
        memcpy(buf + o, p, seg); o += seg;
        memcpy(buf + o, nw, nl); o += nl;
        p = q + ol;
    }
    size_t rest = (size_t)(s + sl - p);
    while (o + rest + 1 > cap) { cap *= 2; buf = realloc(buf, cap); }
    memcpy(buf + o, p, rest); o += rest;
    O *r = rh_str_n(H, buf, o);
    free(buf);
    return r;
}
static O *str_case(O *self, int up) {
    size_t l = rh_str_nbytes(self);
    char *b = malloc(l + 1);
    const char *s = rh_str_cstr(self);
    for (size_t i = 0; i < l; i++) b[i] = up == 1 ? (char)toupper((unsigned char)s[i]) : up == 0 ? (char)tolower((unsigned char)s[i]) : s[i];
    if (up == 2 && l) b[0] = (char)toupper((unsigned char)b[0]);
    O *r = rh_str_n(H, b, l);
    free(b);
    return r;
}
static O *str_upper(ARGS) { UNUSED; return str_case(self, 1); }
static O *str_lower(ARGS) { UNUSED; return str_case(self, 0); }
static O *str_capitalize(ARGS) { UNUSED; O *lo = str_case(self, 0); O *r = str_case(lo, 2); rh_decref(lo); return r; }
static O *str_find(ARGS) {
    UNUSED;
    if (nargs("find", n, 1, 1) < 0) return NULL;
    const char *p = strstr(rh_str_cstr(self), rh_str_cstr(args[0]));
    return rh_int(H, p ? (int64_t)(p - rh_str_cstr(self)) : -1);
}
static O *str_index(ARGS) {
    UNUSED;
    if (nargs("index", n, 1, 1) < 0) return NULL;
    if (!py_is_str(args[0])) return py_raise(EX_TypeError, "must be str, not %s", rh_str_cstr(type_of(args[0])->name));
    const char *base = rh_str_cstr(self);
    const char *p = strstr(base, rh_str_cstr(args[0]));
    if (!p) return py_raise(EX_ValueError, "substring not found");
    /* in code points */
    int64_t cp = 0;
    for (const char *q = base; q < p; q++) if (((unsigned char)*q & 0xC0) != 0x80) cp++;
    return rh_int(H, cp);
}
/* str.isdigit / str.isalpha: non-empty and every byte passes the test */
static O *str_all_bytes(O *self, int (*test)(int)) {
    const char *s = rh_str_cstr(self);
    if (!*s) return rh_False;
    for (; *s; s++) if (!test((unsigned char)*s)) return rh_False;
    return rh_True;
}
static O *str_isdigit(ARGS) { UNUSED; return str_all_bytes(self, isdigit); }
static O *str_isalpha(ARGS) { UNUSED; return str_all_bytes(self, isalpha); }
static O *str_format(ARGS) { UNUSED; return py_str_format(self, args, n, kw); }
static O *str_encode(ARGS) { UNUSED; return rh_bytes(H, rh_str_cstr(self), rh_str_nbytes(self)); }
/* str.ljust / str.rjust: format(self, "<width") or format(self, ">width") */
static O *str_justify(O *self, O **args, size_t n, char align) {
    int64_t w = n ? rh_int_value(args[0]) : 0;
    char spec[32];
    snprintf(spec, sizeof spec, "%c%" PRId64, align, w);
    O *s = rh_str(H, spec);
    O *r = py_format(self, s);
    rh_decref(s);
    return r;
}
static O *str_ljust(ARGS) { UNUSED; return str_justify(self, args, n, '<'); }
static O *str_rjust(ARGS) { UNUSED; return str_justify(self, args, n, '>'); }
static O *bytes_decode(ARGS) {
    UNUSED;
    const void *d = rh_is_type(self, &rh_bytes_type) ? (const void *)rh_bytes_data(self) : (const void *)rh_bytearray_data(self);
    size_t l = rh_is_type(self, &rh_bytes_type) ? rh_bytes_len(self) : rh_bytearray_len(self);
    O *r = rh_str_n(H, d, l);
    if (!r) { rh_err_clear(H); return py_raise(EX_UnicodeDecodeError, "'utf-8' codec can't decode bytes"); }
    return r;
}
static O *bytearray_extend(ARGS) {
    UNUSED;
    if (nargs("extend", n, 1, 1) < 0) return NULL;
    O *b = bytes_like(NULL, args, 1, NULL, false);
    if (!b) return NULL;
    int r = rh_bytearray_extend(self, rh_bytes_data(b), rh_bytes_len(b));
    rh_decref(b);
    if (r < 0) {
        if (rh_err(H) == RH_EBUFFER) { rh_err_clear(H); return py_raise(EX_BufferError, "Existing exports of data: object cannot be re-sized"); }
        return py_from_rh();
    }
    return rh_None;
}
static O *bytearray_append(ARGS) {
    UNUSED;
    int64_t v;
    if (nargs("append", n, 1, 1) < 0 || py_index(args[0], &v) < 0) return NULL;
    uint8_t c = (uint8_t)v;
    if (rh_bytearray_extend(self, &c, 1) < 0) {
        if (rh_err(H) == RH_EBUFFER) { rh_err_clear(H); return py_raise(EX_BufferError, "Existing exports of data: object cannot be re-sized"); }
        return py_from_rh();
    }
    return rh_None;
}
static O *mv_release(ARGS) { UNUSED; rh_memoryview_release(self); rh_err_clear(H); return rh_None; }
static O *mv_tobytes(ARGS) { UNUSED; O *r = rh_memoryview_tobytes(self); return r ? r : py_from_rh(); }
static O *mv_enter(ARGS) { UNUSED; return rh_newref(self); }
static O *mv_exit(ARGS) { return mv_release(self, args, n, kw); }

/* ---------------------------------------------------------------------------
 * gc
 * ------------------------------------------------------------------------- */
static O *gc_callbacks;
static O *gc_collect(ARGS) {
    UNUSED;
    int64_t g = 2;
    O *ga = n ? args[0] : kwarg(kw, "generation");
    if (ga && py_index(ga, &g) < 0) return NULL;
    if (g < 0 || g > 2) return py_raise(EX_ValueError, "invalid generation");
    intptr_t r = rh_gc_collect(H, (int)g);
    if (r < 0) return py_from_rh();
    if (py_err_occurred()) return NULL;
    return rh_int(H, r);
}
static O *gc_enable(ARGS) { UNUSED; rh_gc_enable(H); return rh_None; }
static O *gc_disable(ARGS) { UNUSED; rh_gc_disable(H); return rh_None; }
static O *gc_isenabled(ARGS) { UNUSED; return rh_bool(rh_gc_isenabled(H)); }
/* gc.get_count / gc.get_threshold: the three per-generation figures as a tuple */
static O *gc_triple(void (*get)(const rh_heap *, long *)) {
    long c[3];
    get(H, c);
    O *a = rh_int(H, c[0]), *b = rh_int(H, c[1]), *d = rh_int(H, c[2]);
    O *t = rh_tuple_pack(H, 3, a, b, d);
    rh_decref(a); rh_decref(b); rh_decref(d);
    return t;
}
static O *gc_get_count(ARGS) { UNUSED; return gc_triple(rh_gc_get_count); }
static O *gc_get_threshold(ARGS) { UNUSED; return gc_triple(rh_gc_get_threshold); }
static O *gc_set_threshold(ARGS) {
    UNUSED;
    if (nargs("set_threshold", n, 1, 3) < 0) return NULL;
    long c[3];
    rh_gc_get_threshold(H, c);
    for (size_t i = 0; i < n; i++) c[i] = (long)rh_int_value(args[i]);
    rh_gc_set_threshold(H, c[0], c[1], c[2]);
    return rh_None;
}
static O *gc_get_objects(ARGS) {
    UNUSED;
    int64_t g = -1;
    O *ga = n ? args[0] : kwarg(kw, "generation");
    if (ga && ga != rh_None && py_index(ga, &g) < 0) return NULL;
    if (g < -1 || g > 2) return py_raise(EX_ValueError, "generation parameter must be less than the number of available generations (3)");
    O *l = rh_gc_get_objects(H, (int)g);
    return l ? l : py_from_rh();
}
static O *gc_get_referrers(ARGS) { UNUSED; O *l = rh_gc_get_referrers(H, args, n); return l ? l : py_from_rh(); }
static O *gc_get_referents(ARGS) { UNUSED; O *l = rh_gc_get_referents(H, args, n); return l ? l : py_from_rh(); }
static O *gc_set_debug(ARGS) { UNUSED; if (nargs("set_debug", n, 1, 1) < 0) return NULL; rh_gc_set_debug(H, (unsigned)rh_int_value(args[0])); return rh_None; }
static O *gc_get_debug(ARGS) { UNUSED; return rh_int(H, rh_gc_get_debug(H)); }
static O *gc_is_tracked(ARGS) { UNUSED; if (nargs("is_tracked", n, 1, 1) < 0) return NULL; return rh_bool(rh_gc_is_tracked(args[0])); }
static O *gc_is_finalized(ARGS) { UNUSED; if (nargs("is_finalized", n, 1, 1) < 0) return NULL; return rh_bool(rh_gc_is_finalized(args[0])); }
static O *gc_freeze(ARGS) { UNUSED; rh_gc_freeze(H); return rh_None; }
static O *gc_unfreeze(ARGS) { UNUSED; rh_gc_unfreeze(H); return rh_None; }
static O *gc_get_freeze_count(ARGS) { UNUSED; return rh_int(H, (int64_t)rh_gc_get_freeze_count(H)); }
static O *gc_get_stats(ARGS) {
    UNUSED;
    rh_gc_genstats st[3];
    rh_gc_get_stats(H, st);
    O *l = rh_list_new(H, 0);
    for (int i = 0; i < 3; i++) {
        O *d = rh_dict_new(H);
        O *a = rh_int(H, (int64_t)st[i].collections), *b = rh_int(H, (int64_t)st[i].collected), *c = rh_int(H, (int64_t)st[i].uncollectable);
        rh_dict_set_str(d, "collections", a);
        rh_dict_set_str(d, "collected", b);
        rh_dict_set_str(d, "uncollectable", c);
        rh_decref(a); rh_decref(b); rh_decref(c);
        rh_list_append(l, d);
        rh_decref(d);
    }
    return l;
}
static void gc_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h; (void)data;
    if (interp_shutting_down) return;
    if (!gc_callbacks || rh_list_size(gc_callbacks) == 0) return;
    O *ph = rh_str(H, phase == RH_GC_START ? "start" : "stop");
    O *d = rh_dict_new(H);
    O *g = rh_int(H, info->generation), *c = rh_int(H, info->collected), *u = rh_int(H, info->uncollectable);
    rh_dict_set_str(d, "generation", g);
    rh_dict_set_str(d, "collected", c);
    rh_dict_set_str(d, "uncollectable", u);
    rh_decref(g); rh_decref(c); rh_decref(u);
    O *cbs = py_list_from(gc_callbacks);
    O *saved = py_err_fetch();
    TB *tb = py_tb_take();
    for (size_t i = 0; cbs && i < rh_list_size(cbs); i++) {
        O *r = call2(rh_list_get(cbs, (ptrdiff_t)i), ph, d);
        if (!r) py_write_unraisable("gc callback", NULL);
        else rh_decref(r);
    }
    if (saved) { py_raise_obj(saved); rh_decref(saved); }
    py_tb_restore(tb);
    rh_xdecref(cbs);
    rh_decref(ph);
    rh_decref(d);
}

/* ---------------------------------------------------------------------------
 * sys, time
 * ------------------------------------------------------------------------- */
static O *sys_getrefcount(ARGS) {
    UNUSED;
    if (nargs("getrefcount", n, 1, 1) < 0) return NULL;
    O *o = args[0];
    /* the argument holds one reference, as CPython's does */
    if (rh_is_immortal(o)) return rh_int(H, (int64_t)UINT32_MAX);
    return rh_int(H, (int64_t)rh_refcount(o));
}
static O *sys_getsizeof(ARGS) { UNUSED; if (nargs("getsizeof", n, 1, 2) < 0) return NULL; return rh_int(H, (int64_t)rh_sizeof(args[0])); }
static O *sys_exit(ARGS) {
    UNUSED;
    O *e = n ? call1(py_exc[EX_SystemExit], args[0]) : call0(py_exc[EX_SystemExit]);
    if (e) { py_raise_obj(e); rh_decref(e); }
    return NULL;
}
static O *sys_getrecursionlimit(ARGS) { UNUSED; return rh_int(H, 1000); }
static O *sys_intern(ARGS) { UNUSED; return rh_newref(args[0]); }
static double now(clockid_t c) { struct timespec ts; clock_gettime(c, &ts); return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9; }
static O *time_perf_counter(ARGS) { UNUSED; return rh_float(H, now(CLOCK_MONOTONIC)); }
static O *time_time(ARGS) { UNUSED; return rh_float(H, now(CLOCK_REALTIME)); }
static O *time_process_time(ARGS) { UNUSED; return rh_float(H, now(CLOCK_PROCESS_CPUTIME_ID)); }
static O *time_perf_counter_ns(ARGS) { UNUSED; struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return rh_int(H, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec); }
static O *time_sleep(ARGS) {
    UNUSED;
    double s = n && !refpy_fuzz_mode ? rh_float_value(args[0]) : 0;
    if (s < 0) return py_raise(EX_ValueError, "sleep length must be non-negative");
    if (s > 1e6) s = 1e6;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    return rh_None;
}

/* ---------------------------------------------------------------------------
 * weakref
 * ------------------------------------------------------------------------- */
typedef struct WCB { O *wr; O *fn; } WCB;
static WCB *wcbs;
static size_t nwcbs, wcbcap;

static void weak_callback(O *wr, void *data) {
    O *fn = NULL;
    if (interp_shutting_down) return;
    for (size_t i = 0; i < nwcbs; i++)
        if (wcbs[i].wr == wr && (void *)wcbs[i].fn == data) { fn = wcbs[i].fn; wcbs[i] = wcbs[--nwcbs]; break; }
    if (!fn) return;
    O *saved = py_err_fetch();
    TB *tb = py_tb_take();
    O *r = call1(fn, wr);
    if (!r) {
        O *rr = py_repr(fn);
        char where[256];
        snprintf(where, sizeof where, "%s", rr ? rh_str_cstr(rr) : "callback");
        rh_xdecref(rr);
        py_write_unraisable(where, NULL);
    } else rh_decref(r);
    if (saved) { py_raise_obj(saved); rh_decref(saved); }
    py_tb_restore(tb);
    rh_decref(fn);
}

static O *weakref_ref(ARGS) {
    UNUSED;
    if (nargs("ref", n, 1, 2) < 0) return NULL;
    O *cb = n > 1 && args[1] != rh_None ? args[1] : NULL;
    O *wr = cb ? rh_weakref_new(args[0], weak_callback, cb) : rh_weakref_new(args[0], NULL, NULL);
    if (!wr) {
        if (rh_err(H) == RH_OK || rh_err(H) == RH_EWEAKREF) {
            rh_err_clear(H);
            return py_raise(EX_TypeError, "cannot create weak reference to '%s' object", rh_str_cstr(type_of(args[0])->name));
        }
        return py_from_rh();
    }
    if (cb) {
        if (nwcbs == wcbcap) { wcbcap = wcbcap ? wcbcap * 2 : 16; wcbs = realloc(wcbs, wcbcap * sizeof(WCB)); }
        wcbs[nwcbs].wr = wr;
        wcbs[nwcbs].fn = rh_newref(cb);
        nwcbs++;
    }
    return wr;
}
static O *weakref_call(O *wr) {
    O *r = rh_weakref_get(wr);
    return r ? r : rh_None;
}
static O *weakref_getweakrefcount(ARGS) { UNUSED; return rh_int(H, (int64_t)rh_weakref_count(args[0])); }
static O *weakref_getweakrefs(ARGS) { UNUSED; O *l = rh_weakref_list(args[0]); return l ? l : py_from_rh(); }
static O *wvd_new(ARGS) { UNUSED; O *d = rh_weakvaluedict_new(H); return d ? d : py_from_rh(); }
static O *wkd_new(ARGS) { UNUSED; O *d = rh_weakkeydict_new(H); return d ? d : py_from_rh(); }
static O *ws_new(ARGS) {
    UNUSED;
    O *s = rh_weakset_new(H);
    if (!s) return py_from_rh();
    if (n) {
        O *it = py_iter(args[0]);
        O *x;
        while (it && (x = py_next(it))) { rh_weakset_add(s, x); rh_decref(x); }
        rh_xdecref(it);
    }
    return s;
}
static O *ws_add(ARGS) { UNUSED; return rh_weakset_add(self, args[0]) < 0 ? py_from_rh() : rh_None; }
static O *ws_discard(ARGS) { UNUSED; return rh_weakset_discard(self, args[0]) < 0 ? py_from_rh() : rh_None; }
static O *wd_get(ARGS) {
    UNUSED;
    O *v = rh_is_type(self, &rh_weakvaluedict_type) ? rh_weakvaluedict_get(self, args[0]) : rh_weakkeydict_get(self, args[0]);
    if (v) return v;
    rh_err_clear(H);
    return rh_newref(n > 1 ? args[1] : rh_None);
}
/* keys(), values() and items() of a weak dictionary: one walk of its live
 * entries into a new list */
enum { WD_KEYS, WD_VALUES, WD_ITEMS };
static O *wd_list(O *self, int what) {
    O *l = rh_list_new(H, 0);
    rh_weakiter it;
    rh_weakiter_begin(&it, self);
    O *k, *v;
    while (rh_weakiter_next(&it, &k, &v)) {
        if (what == WD_ITEMS) { O *t = rh_tuple_pack(H, 2, k, v); rh_list_append(l, t); rh_decref(t); }
        else rh_list_append(l, what == WD_KEYS ? k : v);
        rh_decref(k);
        rh_xdecref(v);
    }
    return l;
}
static O *wd_keys(ARGS) { UNUSED; return wd_list(self, WD_KEYS); }
static O *wd_values(ARGS) { UNUSED; return wd_list(self, WD_VALUES); }
static O *wd_items(ARGS) { UNUSED; return wd_list(self, WD_ITEMS); }

typedef struct FinRec { O *fn; O *args; O *kw; } FinRec;
static O **fins;            /* every finalize object made (new references) */
static size_t nfins, fincap;

static void fin_call(void *data) {
    FinRec *r = data;
    if (interp_shutting_down) {
        rh_decref(r->fn);
        rh_decref(r->args);
        rh_xdecref(r->kw);
        free(r);
        return;
    }
    O *saved = py_err_fetch();
    TB *tb = py_tb_take();
    size_t n = rh_tuple_size(r->args);
    O **a = malloc((n + 1) * sizeof(O *));
    for (size_t i = 0; i < n; i++) a[i] = rh_tuple_get(r->args, i);
    O *res = call(r->fn, a, n, r->kw);
    free(a);
    if (!res) py_write_unraisable("<finalize object>", NULL);
    else rh_decref(res);
    if (saved) { py_raise_obj(saved); rh_decref(saved); }
    py_tb_restore(tb);
    rh_decref(r->fn);
    rh_decref(r->args);
    rh_xdecref(r->kw);
    free(r);
}
static O *weakref_finalize(ARGS) {
    UNUSED;
    if (n < 2) return py_raise(EX_TypeError, "finalize expected at least 2 positional arguments, got %zu", n);
    FinRec *r = malloc(sizeof *r);
    r->fn = rh_newref(args[1]);
    r->args = rh_tuple_from(H, args + 2, n - 2);
    r->kw = rh_xnewref(kw);
    O *f = rh_finalize_new(args[0], fin_call, r);
    if (!f) {
        rh_decref(r->fn); rh_decref(r->args); rh_xdecref(r->kw); free(r);
        rh_err_clear(H);
        return py_raise(EX_TypeError, "cannot create weak reference to '%s' object", rh_str_cstr(type_of(args[0])->name));
    }
    if (nfins == fincap) { fincap = fincap ? fincap * 2 : 16; fins = realloc(fins, fincap * sizeof(O *)); }
    fins[nfins++] = rh_newref(f);
    return f;
}
static O *finalize_alive(O *f) { return rh_bool(rh_finalize_alive(f)); }
static O *finalize_detach(ARGS) {
    UNUSED;
    rh_finalize_fn fn;
    void *data;
    O *obj = rh_finalize_detach(self, &fn, &data);
    if (!obj) return rh_None;
    FinRec *r = data;
    O *t = rh_tuple_pack(H, 3, obj, r->fn, r->args);
    rh_decref(obj);
    rh_decref(r->fn); rh_decref(r->args); rh_xdecref(r->kw); free(r);
    return t;
}

/* ---------------------------------------------------------------------------
 * os, tracemalloc, _testcapi (the bits the examples use)
 * ------------------------------------------------------------------------- */
static O *os_getpid(ARGS) { UNUSED; return rh_int(H, getpid()); }
static O *os_pipe(ARGS) {
    UNUSED;
    int fd[2];
    if (pipe(fd) < 0) return py_raise(EX_OSError, "pipe failed");
    O *a = rh_int(H, fd[0]), *b = rh_int(H, fd[1]);
    O *t = rh_tuple_pack(H, 2, a, b);
    rh_decref(a); rh_decref(b);
    return t;
}
static O *os_fork(ARGS) { UNUSED; fflush(stdout); fflush(stderr); return rh_int(H, fork()); }
static O *os_close(ARGS) { UNUSED; close((int)rh_int_value(args[0])); return rh_None; }
static O *os_write(ARGS) {
    UNUSED;
    if (!rh_is_type(args[1], &rh_bytes_type)) return py_raise(EX_TypeError, "a bytes-like object is required");
    ssize_t k = write((int)rh_int_value(args[0]), rh_bytes_data(args[1]), rh_bytes_len(args[1]));
    return rh_int(H, k);
}
static O *os_read(ARGS) {
    UNUSED;
    size_t cap = (size_t)rh_int_value(args[1]);
    char *buf = malloc(cap + 1);
    ssize_t k = read((int)rh_int_value(args[0]), buf, cap);
    O *r = rh_bytes(H, buf, k > 0 ? (size_t)k : 0);
    free(buf);
    return r;
}
static O *os_exit(ARGS) { UNUSED; fflush(stdout); fflush(stderr); _exit((int)(n ? rh_int_value(args[0]) : 0)); }
static O *os_waitpid(ARGS) {
    UNUSED;
    int st = 0;
    pid_t p = waitpid((pid_t)rh_int_value(args[0]), &st, 0);
    O *a = rh_int(H, p), *b = rh_int(H, st);
    O *t = rh_tuple_pack(H, 2, a, b);
    rh_decref(a); rh_decref(b);
    return t;
}
static bool tm_on;
static size_t tm_base, tm_peak;
static size_t heap_bytes(void) { rh_heap_stats s; rh_heap_stats_get(H, &s); return s.bytes_in_use; }
static O *tm_start(ARGS) { UNUSED; tm_on = true; tm_base = heap_bytes(); tm_peak = 0; return rh_None; }
static O *tm_stop(ARGS) { UNUSED; tm_on = false; return rh_None; }
static O *tm_get(ARGS) {
    UNUSED;
    if (!tm_on) { O *z = rh_int(H, 0); O *t = rh_tuple_pack(H, 2, z, z); rh_decref(z); return t; }
    size_t cur = heap_bytes();
    size_t used = cur > tm_base ? cur - tm_base : 0;
    if (used > tm_peak) tm_peak = used;
    O *a = rh_int(H, (int64_t)used), *b = rh_int(H, (int64_t)tm_peak);
    O *t = rh_tuple_pack(H, 2, a, b);
    rh_decref(a); rh_decref(b);
    return t;
}
static O *capi_with_tp_del(ARGS) { UNUSED; if (nargs("with_tp_del", n, 1, 1) < 0) return NULL; return class_set_legacy(args[0]); }

/* ---------------------------------------------------------------------------
 * json.dumps (the benchmarks print one JSON line), resource (imported only)
 * ------------------------------------------------------------------------- */
typedef struct JB { char *p; size_t n, cap; } JB;
static void jb_add(JB *b, const char *s, size_t n) {
    while (b->n + n + 1 > b->cap) { b->cap = b->cap ? b->cap * 2 : 256; b->p = realloc(b->p, b->cap); }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static int json_encode(JB *b, O *o, int depth) {
    if (depth > 100) { py_raise(EX_ValueError, "Circular reference detected"); return -1; }
    const rh_type *t = rh_type_of(o);
    if (o == rh_None) jb_add(b, "null", 4);
    else if (o == rh_True) jb_add(b, "true", 4);
    else if (o == rh_False) jb_add(b, "false", 5);
    else if (t == &rh_int_type || t == &rh_float_type) {
        O *r = py_repr(o);
        if (!r) return -1;
        const char *s = rh_str_cstr(r);
        if (!strcmp(s, "inf")) s = "Infinity"; else if (!strcmp(s, "-inf")) s = "-Infinity"; else if (!strcmp(s, "nan")) s = "NaN";
        jb_add(b, s, strlen(s));
        rh_decref(r);
    } else if (t == &rh_str_type) {
        jb_add(b, "\"", 1);
        const unsigned char *s = (const unsigned char *)rh_str_cstr(o);
        for (size_t i = 0; i < rh_str_nbytes(o); i++) {
            char esc[8];
            unsigned char c = s[i];
            if (c == '"') jb_add(b, "\\\"", 2);
            else if (c == '\\') jb_add(b, "\\\\", 2);
            else if (c == '\n') jb_add(b, "\\n", 2);
            else if (c == '\t') jb_add(b, "\\t", 2);
            else if (c == '\r') jb_add(b, "\\r", 2);
            else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); jb_add(b, esc, 6); }
            else jb_add(b, (const char *)&s[i], 1);
        }
        jb_add(b, "\"", 1);
    } else if (t == &rh_list_type || t == &rh_tuple_type) {
        bool l = t == &rh_list_type;
        size_t n = l ? rh_list_size(o) : rh_tuple_size(o);
        jb_add(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i) jb_add(b, ", ", 2);
            if (json_encode(b, l ? rh_list_get(o, (ptrdiff_t)i) : rh_tuple_get(o, i), depth + 1) < 0) return -1;
        }
        jb_add(b, "]", 1);
    } else if (t == &rh_dict_type) {
        jb_add(b, "{", 1);
        size_t pos = 0;
        O *k, *v;
        bool first = true;
        while (rh_dict_next(o, &pos, &k, &v)) {
            if (!first) jb_add(b, ", ", 2);
            first = false;
            if (py_is_str(k)) { if (json_encode(b, k, depth + 1) < 0) return -1; }
            else {
                O *ks = py_str(k);
                if (!ks) return -1;
                jb_add(b, "\"", 1);
                jb_add(b, rh_str_cstr(ks), rh_str_nbytes(ks));
                jb_add(b, "\"", 1);
                rh_decref(ks);
            }
            jb_add(b, ": ", 2);
            if (json_encode(b, v, depth + 1) < 0) return -1;
        }
        jb_add(b, "}", 1);
    } else {
        py_raise(EX_TypeError, "Object of type %s is not JSON serializable", rh_str_cstr(type_of(o)->name));
        return -1;
    }
    return 0;
}
static O *json_dumps(ARGS) {
    UNUSED;
    if (nargs("dumps", n, 1, 1) < 0) return NULL;
    JB b = {0};
    if (json_encode(&b, args[0], 0) < 0) { free(b.p); return NULL; }
    O *r = rh_str_n(H, b.p ? b.p : "", b.n);
    free(b.p);
    return r ? r : py_from_rh();
}
static O *sys_setrecursionlimit(ARGS) { UNUSED; return rh_None; }
static O *stream_write(ARGS) {
    UNUSED;
    if (nargs("write", n, 1, 1) < 0) return NULL;
    if (!py_is_str(args[0])) return py_raise(EX_TypeError, "write() argument must be str, not %s", rh_str_cstr(type_of(args[0])->name));
    FILE *f = ((File *)self)->fp;
    fwrite(rh_str_cstr(args[0]), 1, rh_str_nbytes(args[0]), f);
    return rh_int(H, (int64_t)rh_str_len(args[0]));
}
static O *stream_flush(ARGS) { UNUSED; fflush(((File *)self)->fp); return rh_None; }
static FILE *file_fp(O *o) { return rh_is_type(o, &T_file) ? ((File *)o)->fp : NULL; }

/* ---------------------------------------------------------------------------
 * _refpy: references held from C (the differential tests' "outside"
 * references, like the C driver's arrays and CPython's ctypes Py_INCREF), and
 * witnesses: weakrefable objects that are not containers.
 * ------------------------------------------------------------------------- */
static O **held;
static size_t nheld;
static O **resq;
static size_t nres, rescap;
typedef struct Witness { RH_OBJECT_HEAD; O *weaklist; O *name; } Witness;
static void witness_destroy(O *self) { RH_CLEAR(((Witness *)self)->name); }
static rh_type T_witness = {.name = "witness", .basicsize = sizeof(Witness), .flags = RH_TYPE_WEAKREFABLE,
                            .weaklist_offset = offsetof(Witness, weaklist), .destroy = witness_destroy};
static O *rp_hold(ARGS) {
    UNUSED;
    int64_t i;
    if (nargs("hold", n, 2, 2) < 0 || py_index(args[0], &i) < 0) return NULL;
    if (i < 0 || i > 1000000) return py_raise(EX_IndexError, "hold index out of range");
    if ((size_t)i >= nheld) {
        size_t nn = (size_t)i + 16;
        held = realloc(held, nn * sizeof(O *));
        memset(held + nheld, 0, (nn - nheld) * sizeof(O *));
        nheld = nn;
    }
    O *old = held[i];
    held[i] = rh_newref(args[1]);
    rh_xdecref(old);
    return rh_None;
}
static O *rp_get(ARGS) {
    UNUSED;
    int64_t i;
    if (nargs("get", n, 1, 1) < 0 || py_index(args[0], &i) < 0) return NULL;
    if (i < 0 || (size_t)i >= nheld || !held[i]) return rh_None;
    return rh_newref(held[i]);
}
static O *rp_held(ARGS) {
    UNUSED;
    int64_t i;
    if (nargs("held", n, 1, 1) < 0 || py_index(args[0], &i) < 0) return NULL;
    return rh_bool(i >= 0 && (size_t)i < nheld && held[i]);
}
static O *rp_drop(ARGS) {
    UNUSED;
    int64_t i;
    if (nargs("drop", n, 1, 1) < 0 || py_index(args[0], &i) < 0) return NULL;
    if (i >= 0 && (size_t)i < nheld && held[i]) RH_CLEAR(held[i]);
    return rh_None;
}
static O *rp_res_push(ARGS) {
    UNUSED;
    if (nargs("res_push", n, 1, 1) < 0) return NULL;
    if (nres == rescap) { rescap = rescap ? rescap * 2 : 16; resq = realloc(resq, rescap * sizeof(O *)); }
    resq[nres++] = rh_newref(args[0]);
    return rh_None;
}
/* the list of held resurrected objects, taking over their references */
static O *rp_res_take(ARGS) {
    UNUSED;
    size_t k = nres;
    O **v = resq;
    resq = NULL;
    nres = rescap = 0;
    O *t = rh_list_new(H, 0);
    for (size_t i = 0; i < k; i++) {
        /* the list owns one reference; the one the queue held is dropped */
        rh_list_append(t, v[i]);
        rh_decref(v[i]);
    }
    free(v);
    return t;
}
static O *rp_res_len(ARGS) { UNUSED; return rh_int(H, (int64_t)nres); }
static O *rp_witness(ARGS) {
    UNUSED;
    Witness *w = (Witness *)rh_new(H, &T_witness);
    if (!w) return py_from_rh();
    w->name = n ? rh_newref(args[0]) : NULL;
    return RH_OBJ(w);
}
static void refpy_mod_fini(void) {
    for (size_t i = 0; i < nheld; i++) RH_CLEAR(held[i]);
    free(held);
    held = NULL;
    nheld = 0;
    for (size_t i = 0; i < nres; i++) rh_decref(resq[i]);
    free(resq);
    resq = NULL;
    nres = rescap = 0;
}

/* ---------------------------------------------------------------------------
 * Registration
 * ------------------------------------------------------------------------- */
typedef struct Def { const char *name; cfunc fn; } Def;

static void add_fn(O *dict, const char *name, cfunc fn) {
    O *b = new_builtin(name, fn, NULL);
    rh_make_immortal(b);
    rh_dict_set_str(dict, name, b);
}
static void add_methods(Class *c, const Def *defs) {
    for (; defs->name; defs++) class_add_method(c, defs->name, defs->fn);
}

static O *modules; /* name -> module */
static Class *c_wvd_g, *c_wkd_g, *c_ws_g, *c_fin_g;

static O *mkmod(const char *name, const Def *defs) {
    O *m = new_module(name);
    rh_make_immortal(m);
    for (; defs && defs->name; defs++) add_fn(((Module *)m)->dict, defs->name, defs->fn);
    rh_dict_set_str(modules, name, m);
    return m;
}
static void mod_set_int(O *m, const char *name, int64_t v) {
    O *x = rh_int(H, v);
    rh_dict_set_str(((Module *)m)->dict, name, x);
    rh_decref(x);
}

/* wrappers for callable built-in types implemented elsewhere */
static O *wr_call(ARGS) { UNUSED; (void)n; return weakref_call(self); }
static O *fin_alive(ARGS) { UNUSED; return finalize_alive(self); }
static O *fin_call_m(ARGS) { UNUSED; return rh_bool(rh_finalize_call(self)); }
static O *file_iter_m(ARGS) { UNUSED; return file_iter(self); }
static O *file_readlines(ARGS) {
    UNUSED;
    O *it = file_iter(self);
    O *l = py_list_from(it);
    rh_decref(it);
    return l;
}

O *import_module(O *name) {
    O *m = rh_dict_get(modules, name);
    if (m && refpy_fuzz_mode) {
        const char *s = rh_str_cstr(name);
        if (!strcmp(s, "os") || !strcmp(s, "_testcapi") || !strcmp(s, "tracemalloc")) m = NULL;
    }
    if (!m) return py_raise(EX_ModuleNotFoundError, "No module named '%s'", rh_str_cstr(name));
    return rh_newref(m);
}

static const char *exc_names[EX_COUNT] = {
    "BaseException", "Exception", "TypeError", "ValueError", "NameError", "UnboundLocalError", "AttributeError",
    "KeyError", "IndexError", "LookupError", "ZeroDivisionError", "ArithmeticError", "OverflowError",
    "RuntimeError", "NotImplementedError", "RecursionError", "StopIteration", "AssertionError", "ImportError",
    "ModuleNotFoundError", "SyntaxError", "BufferError", "MemoryError", "OSError", "KeyboardInterrupt",
    "SystemExit", "UnicodeDecodeError", "IndentationError", "ReferenceError", "FileNotFoundError", "GeneratorExit"};
static const int exc_base[EX_COUNT] = {
    -1, EX_BaseException, EX_Exception, EX_Exception, EX_Exception, EX_NameError, EX_Exception, EX_LookupError,
    EX_LookupError, EX_Exception, EX_ArithmeticError, EX_Exception, EX_ArithmeticError, EX_Exception,
    EX_RuntimeError, EX_RuntimeError, EX_Exception, EX_Exception, EX_Exception, EX_ImportError, EX_Exception,
    EX_Exception, EX_Exception, EX_Exception, EX_BaseException, EX_BaseException, EX_ValueError, EX_SyntaxError,
    EX_Exception, EX_OSError, EX_BaseException};

void builtins_init(void) {
    builtins_dict = rh_dict_new(H);
    rh_make_immortal(builtins_dict);
    modules = rh_dict_new(H);
    rh_make_immortal(modules);
    C_object = (Class *)new_class_builtin("object", NULL, NULL, object_new);
    C_type = (Class *)new_class_builtin("type", C_object, &T_class, type_new);
    C_int = (Class *)new_class_builtin("int", C_object, &rh_int_type, int_new);
    C_bool = (Class *)new_class_builtin("bool", C_int, &rh_bool_type, bool_new);
    C_float = (Class *)new_class_builtin("float", C_object, &rh_float_type, float_new);
    C_str = (Class *)new_class_builtin("str", C_object, &rh_str_type, str_new);
    C_none = (Class *)new_class_builtin("NoneType", C_object, &rh_none_type, NULL);
    C_list = (Class *)new_class_builtin("list", C_object, &rh_list_type, list_new);
    C_tuple = (Class *)new_class_builtin("tuple", C_object, &rh_tuple_type, tuple_new);
    C_dict = (Class *)new_class_builtin("dict", C_object, &rh_dict_type, dict_new);
    C_set = (Class *)new_class_builtin("set", C_object, &rh_set_type, set_new);
    C_bytes = (Class *)new_class_builtin("bytes", C_object, &rh_bytes_type, bytes_new);
    C_bytearray = (Class *)new_class_builtin("bytearray", C_object, &rh_bytearray_type, bytearray_new);
    C_memoryview = (Class *)new_class_builtin("memoryview", C_object, &rh_memoryview_type, memoryview_new);
    C_function = (Class *)new_class_builtin("function", C_object, &T_function, NULL);
    C_range = (Class *)new_class_builtin("range", C_object, &T_range, range_new);
    C_weakref = (Class *)new_class_builtin("weakref.ReferenceType", C_object, &rh_weakref_type, weakref_ref);
    C_slice = (Class *)new_class_builtin("slice", C_object, &T_slice, NULL);
    Class *c_prop = (Class *)new_class_builtin("property", C_object, &T_property, property_new);
    new_class_builtin("cell", C_object, &T_cell, NULL);
    new_class_builtin("module", C_object, &T_module, NULL);
    new_class_builtin("method", C_object, &T_method, NULL);
    new_class_builtin("builtin_function_or_method", C_object, &T_builtin, NULL);
    Class *c_iter = (Class *)new_class_builtin("iterator", C_object, &T_iter, NULL);
    Class *c_file = (Class *)new_class_builtin("TextIOWrapper", C_object, &T_file, NULL);
    Class *c_wvd = (Class *)new_class_builtin("WeakValueDictionary", C_object, &rh_weakvaluedict_type, wvd_new);
    Class *c_wkd = (Class *)new_class_builtin("WeakKeyDictionary", C_object, &rh_weakkeydict_type, wkd_new);
    Class *c_ws = (Class *)new_class_builtin("WeakSet", C_object, &rh_weakset_type, ws_new);
    Class *c_fin = (Class *)new_class_builtin("finalize", C_object, &rh_finalize_type, weakref_finalize);
    new_class_builtin("super", C_object, &T_super, NULL);
    c_wvd_g = c_wvd; c_wkd_g = c_wkd; c_ws_g = c_ws; c_fin_g = c_fin;
    (void)c_iter;

    static const Def obj_m[] = {{"__init__", object_init}, {NULL, NULL}};
    add_methods(C_object, obj_m);
    static const Def list_m[] = {{"append", list_append}, {"extend", list_extend}, {"pop", list_pop}, {"insert", list_insert},
                                 {"remove", list_remove}, {"index", seq_index}, {"count", seq_count}, {"clear", list_clear},
                                 {"reverse", list_reverse}, {"copy", list_copy}, {"sort", list_sort}, {NULL, NULL}};
    add_methods(C_list, list_m);
    static const Def tuple_m[] = {{"index", seq_index}, {"count", seq_count}, {NULL, NULL}};
    add_methods(C_tuple, tuple_m);
    static const Def dict_m[] = {{"get", dict_get}, {"keys", dict_keys}, {"values", dict_values}, {"items", dict_items},
                                 {"pop", dict_pop}, {"setdefault", dict_setdefault}, {"update", dict_update},
                                 {"clear", dict_clear}, {"copy", dict_copy}, {NULL, NULL}};
    add_methods(C_dict, dict_m);
    static const Def set_m[] = {{"add", set_add}, {"discard", set_discard}, {"remove", set_remove}, {"clear", set_clear},
                                {"update", set_update}, {"pop", set_pop}, {"copy", set_copy}, {NULL, NULL}};
    add_methods(C_set, set_m);
    static const Def str_m[] = {{"join", str_join}, {"split", str_split}, {"strip", str_strip}, {"lstrip", str_lstrip},
                                {"rstrip", str_rstrip}, {"startswith", str_startswith}, {"endswith", str_endswith},
                                {"replace", str_replace}, {"upper", str_upper}, {"lower", str_lower},
                                {"capitalize", str_capitalize}, {"find", str_find}, {"index", str_index}, {"isdigit", str_isdigit},
                                {"isalpha", str_isalpha}, {"format", str_format}, {"encode", str_encode},
                                {"count", seq_count}, {"ljust", str_ljust}, {"rjust", str_rjust}, {NULL, NULL}};
    add_methods(C_str, str_m);
    static const Def bytes_m[] = {{"decode", bytes_decode}, {NULL, NULL}};
    add_methods(C_bytes, bytes_m);
    static const Def ba_m[] = {{"decode", bytes_decode}, {"extend", bytearray_extend}, {"append", bytearray_append}, {NULL, NULL}};
    add_methods(C_bytearray, ba_m);
    static const Def mv_m[] = {{"release", mv_release}, {"tobytes", mv_tobytes}, {"__enter__", mv_enter}, {"__exit__", mv_exit}, {NULL, NULL}};
    add_methods(C_memoryview, mv_m);
    static const Def file_m[] = {{"__enter__", file_enter}, {"__exit__", file_exit}, {"read", file_read}, {"write", file_write},
                                 {"close", file_close}, {"__iter__", file_iter_m}, {"readlines", file_readlines}, {"flush", stream_flush}, {NULL, NULL}};
    add_methods(c_file, file_m);
    static const Def wr_m[] = {{"__call__", wr_call}, {NULL, NULL}};
    add_methods(C_weakref, wr_m);
    static const Def wd_m[] = {{"get", wd_get}, {"keys", wd_keys}, {"values", wd_values}, {"items", wd_items}, {NULL, NULL}};
    add_methods(c_wvd, wd_m);
    add_methods(c_wkd, wd_m);
    static const Def ws_m[] = {{"add", ws_add}, {"discard", ws_discard}, {NULL, NULL}};
    add_methods(c_ws, ws_m);
    static const Def fin_m[] = {{"detach", finalize_detach}, {"__call__", fin_call_m}, {NULL, NULL}};
    add_methods(c_fin, fin_m);
    static const Def prop_m[] = {{"setter", property_setter}, {NULL, NULL}};
    add_methods(c_prop, prop_m);
    (void)fin_alive;

    /* exceptions */
    for (int pass = 0; pass < 4; pass++)
    for (int i = 0; i < EX_COUNT; i++) {
        if (py_exc[i] || (exc_base[i] >= 0 && !py_exc[exc_base[i]])) continue;
        O *nm = intern(exc_names[i]);
        O *ns = rh_dict_new(H);
        O *mod = intern("builtins");
        rh_dict_set_str(ns, "__module__", mod);
        Class *base = exc_base[i] < 0 ? C_object : (Class *)py_exc[exc_base[i]];
        O *c;
        if (exc_base[i] < 0) {
            /* BaseException: an instance class whose subclasses are exceptions */
            c = make_class(nm, C_object, ns);
            ((Class *)c)->exc = 1;
            static const Def exc_m[] = {{"__init__", exc_init}, {"__str__", exc_str}, {NULL, NULL}};
            (void)exc_m;
            class_add_method((Class *)c, "__init__", exc_init);
        } else c = make_class(nm, base, ns);
        rh_decref(ns);
        rh_make_immortal(c);
        py_exc[i] = c;
        rh_dict_set_str(builtins_dict, exc_names[i], c);
    }
    rh_dict_set_str(builtins_dict, "EnvironmentError", py_exc[EX_OSError]);
    rh_dict_set_str(builtins_dict, "IOError", py_exc[EX_OSError]);

    const Class *types[] = {C_object, C_type, C_int, C_bool, C_float, C_str, C_list, C_tuple, C_dict, C_set, C_bytes,
                            C_bytearray, C_memoryview, C_range, c_prop, NULL};
    for (int i = 0; types[i]; i++) rh_dict_set(builtins_dict, types[i]->name, RH_OBJ(types[i]));
    static const Def fns[] = {{"print", bi_print}, {"len", bi_len}, {"id", bi_id}, {"repr", bi_repr}, {"hash", bi_hash},
                              {"isinstance", bi_isinstance}, {"issubclass", bi_issubclass}, {"enumerate", bi_enumerate},
                              {"zip", bi_zip}, {"map", bi_map}, {"filter", bi_filter}, {"reversed", bi_reversed},
                              {"sorted", bi_sorted}, {"min", bi_min}, {"max", bi_max}, {"sum", bi_sum}, {"any", bi_any},
                              {"all", bi_all}, {"abs", bi_abs}, {"round", bi_round}, {"divmod", bi_divmod}, {"pow", bi_pow},
                              {"hex", bi_hex}, {"oct", bi_oct}, {"bin", bi_bin}, {"chr", bi_chr}, {"ord", bi_ord},
                              {"getattr", bi_getattr}, {"setattr", bi_setattr}, {"delattr", bi_delattr},
                              {"hasattr", bi_hasattr}, {"iter", bi_iter}, {"next", bi_next}, {"globals", bi_globals},
                              {"locals", bi_locals}, {"vars", bi_vars}, {"dir", bi_dir}, {"super", bi_super},
                              {"callable", bi_callable}, {"open", bi_open}, {NULL, NULL}};
    for (const Def *d = fns; d->name; d++) add_fn(builtins_dict, d->name, d->fn);
    rh_dict_set_str(builtins_dict, "None", rh_None);
    rh_dict_set_str(builtins_dict, "True", rh_True);
    rh_dict_set_str(builtins_dict, "False", rh_False);
}

void modules_init(void) {
    static const Def gc_d[] = {{"collect", gc_collect}, {"enable", gc_enable}, {"disable", gc_disable},
                               {"isenabled", gc_isenabled}, {"get_count", gc_get_count}, {"get_threshold", gc_get_threshold},
                               {"set_threshold", gc_set_threshold}, {"get_objects", gc_get_objects},
                               {"get_referrers", gc_get_referrers}, {"get_referents", gc_get_referents},
                               {"set_debug", gc_set_debug}, {"get_debug", gc_get_debug}, {"is_tracked", gc_is_tracked},
                               {"is_finalized", gc_is_finalized}, {"freeze", gc_freeze}, {"unfreeze", gc_unfreeze},
                               {"get_freeze_count", gc_get_freeze_count}, {"get_stats", gc_get_stats}, {NULL, NULL}};
    O *gc = mkmod("gc", gc_d);
    O *gd = ((Module *)gc)->dict;
    O *garbage = rh_gc_garbage(H);
    rh_dict_set_str(gd, "garbage", garbage);
    gc_callbacks = rh_list_new(H, 0);
    rh_dict_set_str(gd, "callbacks", gc_callbacks);
    rh_decref(gc_callbacks);
    rh_gc_callback_add(H, gc_cb, NULL);
    mod_set_int(gc, "DEBUG_STATS", RH_GC_DEBUG_STATS);
    mod_set_int(gc, "DEBUG_COLLECTABLE", RH_GC_DEBUG_COLLECTABLE);
    mod_set_int(gc, "DEBUG_UNCOLLECTABLE", RH_GC_DEBUG_UNCOLLECTABLE);
    mod_set_int(gc, "DEBUG_SAVEALL", RH_GC_DEBUG_SAVEALL);
    mod_set_int(gc, "DEBUG_LEAK", RH_GC_DEBUG_LEAK);

    static const Def sys_d[] = {{"getrefcount", sys_getrefcount}, {"setrecursionlimit", sys_setrecursionlimit}, {"getsizeof", sys_getsizeof}, {"exit", sys_exit},
                                {"getrecursionlimit", sys_getrecursionlimit}, {"intern", sys_intern}, {NULL, NULL}};
    O *sys = mkmod("sys", sys_d);
    O *sd = ((Module *)sys)->dict;
    O *argv = rh_list_new(H, 0);
    rh_dict_set_str(sd, "argv", argv);
    rh_decref(argv);
    O *path = rh_list_new(H, 0);
    rh_dict_set_str(sd, "path", path);
    rh_decref(path);
    O *v = rh_str(H, "3.11.0 (refpy)");
    rh_dict_set_str(sd, "version", v);
    rh_decref(v);
    mod_set_int(sys, "maxsize", INT64_MAX);
    for (int k = 0; k < 2; k++) {
        File *st = (File *)rh_new(H, &T_file);
        st->fp = k ? stderr : stdout;
        st->name = rh_str(H, k ? "<stderr>" : "<stdout>");
        rh_make_immortal(RH_OBJ(st));
        rh_dict_set_str(sd, k ? "stderr" : "stdout", RH_OBJ(st));
    }
    O *a = rh_int(H, 3), *b = rh_int(H, 11), *c = rh_int(H, 0);
    O *vi = rh_tuple_pack(H, 3, a, b, c);
    rh_dict_set_str(sd, "version_info", vi);
    rh_decref(vi);
    rh_decref(a); rh_decref(b); rh_decref(c);
    rh_dict_set_str(sd, "modules", modules);

    static const Def time_d[] = {{"perf_counter", time_perf_counter}, {"time", time_time}, {"monotonic", time_perf_counter},
                                 {"process_time", time_process_time}, {"perf_counter_ns", time_perf_counter_ns},
                                 {"sleep", time_sleep}, {NULL, NULL}};
    mkmod("time", time_d);

    static const Def weak_d[] = {{"getweakrefcount", weakref_getweakrefcount}, {"getweakrefs", weakref_getweakrefs}, {NULL, NULL}};
    O *wm = mkmod("weakref", weak_d);
    O *wd = ((Module *)wm)->dict;
    rh_dict_set_str(wd, "ref", RH_OBJ(C_weakref));
    rh_dict_set_str(wd, "ReferenceType", RH_OBJ(C_weakref));
    rh_dict_set_str(wd, "WeakValueDictionary", RH_OBJ(c_wvd_g));
    rh_dict_set_str(wd, "WeakKeyDictionary", RH_OBJ(c_wkd_g));
    rh_dict_set_str(wd, "WeakSet", RH_OBJ(c_ws_g));
    rh_dict_set_str(wd, "finalize", RH_OBJ(c_fin_g));
    static const Def os_d[] = {{"getpid", os_getpid}, {"pipe", os_pipe}, {"fork", os_fork}, {"close", os_close},
                               {"write", os_write}, {"read", os_read}, {"_exit", os_exit}, {"waitpid", os_waitpid}, {NULL, NULL}};
    mkmod("os", os_d);
    static const Def tm_d[] = {{"start", tm_start}, {"stop", tm_stop}, {"get_traced_memory", tm_get}, {NULL, NULL}};
    mkmod("tracemalloc", tm_d);
    static const Def capi_d[] = {{"with_tp_del", capi_with_tp_del}, {NULL, NULL}};
    mkmod("_testcapi", capi_d);
    static const Def rp_d[] = {{"hold", rp_hold}, {"get", rp_get}, {"held", rp_held}, {"drop", rp_drop},
                               {"res_push", rp_res_push}, {"res_take", rp_res_take}, {"res_len", rp_res_len},
                               {"witness", rp_witness}, {NULL, NULL}};
    mkmod("_refpy", rp_d);
    static const Def json_d[] = {{"dumps", json_dumps}, {NULL, NULL}};
    mkmod("json", json_d);
    mkmod("resource", NULL);
}

/* CPython's weakref module calls the finalizers still alive at exit (newest
 * first) from an atexit hook, before the modules are torn down. */
void interp_atexit(void) {
    for (size_t i = nfins; i-- > 0;) {
        if (rh_finalize_alive(fins[i])) rh_finalize_call(fins[i]);
        if (py_err_occurred()) py_err_clear();
    }
}

void interp_fini(void) {
    interp_shutting_down = true;
    for (size_t i = 0; i < nfins; i++) rh_decref(fins[i]);
    free(fins);
    fins = NULL;
    nfins = fincap = 0;
    refpy_mod_fini();
    gc_callbacks = NULL;
    tm_on = false;
    for (size_t i = 0; i < nwcbs; i++) rh_decref(wcbs[i].fn);
    free(wcbs);
    wcbs = NULL;
    nwcbs = wcbcap = 0;
    rh_gc_callback_remove(H, gc_cb, NULL);
    classes_release();
    modules = NULL;
    builtins_dict = NULL;
    memset(py_exc, 0, sizeof py_exc);
}
