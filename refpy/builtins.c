/*
 * builtins.c — iteration, indexing, formatting, the built-in functions and
 * the methods of the built-in types.
 *
 * Everything here works on refheap's objects through the public API: lists
 * through rh_list_*, dicts through rh_dict_*, and so on. Iteration uses one
 * iterator type with a kind per source (objects.c); a dict or set iterator
 * remembers the size it started with and raises "changed size during
 * iteration" as CPython does. Sorting is a stable merge sort over the list's
 * items with Python's `<` (py_lt), so a key function or a __lt__ method sees
 * the same calls in the same order CPython's timsort would make for short
 * runs (the results are identical; the call sequence may differ).
 *
 * Formatting implements the format-spec mini-language for the common cases
 * ([[fill]align][sign][0][width][,][.precision][type] with s d x X o b f F e
 * E g G %), printf-style `%` with the same conversions, and str.format with
 * positional, numbered and named fields.
 */
#include "ast.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

O *globals_of_current(void);
O *locals_of_current(void);

static bool is_num(O *o) {
    const rh_type *t = rh_type_of(o);
    return t == &rh_int_type || t == &rh_bool_type || t == &rh_float_type;
}
static int64_t rh_rh_int_or_trunc(O *o) {
    if (rh_is_type(o, &rh_float_type)) return (int64_t)rh_float_value(o);
    return rh_int_value(o);
}

bool py_is_str(O *o) { return rh_is_type(o, &rh_str_type); }
bool py_is_int(O *o) { return rh_is_type(o, &rh_int_type) || rh_is_type(o, &rh_bool_type); }
O *py_int_from(int64_t v) { O *r = rh_int(H, v); return r ? r : py_from_rh(); }
O *str_from_cstr(const char *s) { O *r = rh_str(H, s); return r ? r : py_from_rh(); }
O *intern(const char *s) {
    O *r = rh_str_intern(H, s);
    if (!r) { fprintf(stderr, "refpy: out of memory\n"); exit(2); }
    rh_decref(r); /* immortal: the table keeps it */
    return r;
}
/* intern() for string literals: a direct-mapped cache keyed by the literal's
 * address spares hashing the text on every lookup of a dunder name. */
static struct { const char *p; O *s; } lit_cache[256];
void builtins_reset(void) { memset(lit_cache, 0, sizeof lit_cache); }
O *intern_lit(const char *lit) {
#define cache lit_cache
    size_t h = ((uintptr_t)lit >> 3) & 255;
    if (cache[h].p == lit) return cache[h].s;
    O *s = intern(lit);
    cache[h].p = lit;
    cache[h].s = s;
    return s;
#undef cache
}

int py_index(O *o, int64_t *out) {
    if (!py_is_int(o)) {
        py_raise(EX_TypeError, "'%s' object cannot be interpreted as an integer", rh_str_cstr(type_of(o)->name));
        return -1;
    }
    *out = rh_int_value(o);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Iteration
 * ------------------------------------------------------------------------- */
O *py_iter(O *o) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_list_type || t == &rh_tuple_type || t == &rh_bytes_type || t == &rh_bytearray_type || t == &rh_memoryview_type) return new_iter(IT_SEQ, o);
    if (t == &rh_str_type) return new_iter(IT_STR, o);
    if (t == &rh_dict_type) {
        O *it = new_iter(IT_DICT_KEYS, o);
        if (it) ((Iter *)it)->size = rh_dict_size(o);
        return it;
    }
    if (t == &rh_set_type) {
        O *it = new_iter(IT_SET, o);
        if (it) ((Iter *)it)->size = rh_set_size(o);
        return it;
    }
    if (t == &T_range) {
        Range *r = (Range *)o;
        O *it = new_iter(IT_RANGE, NULL);
        if (!it) return NULL;
        ((Iter *)it)->i = r->start;
        ((Iter *)it)->end = r->stop;
        ((Iter *)it)->step = r->step;
        return it;
    }
    if (t == &T_iter) return rh_newref(o);
    if (t == &rh_weakvaluedict_type || t == &rh_weakkeydict_type || t == &rh_weakset_type) {
        Iter *it = (Iter *)new_iter(IT_WEAK, NULL);
        if (!it) return NULL;
        rh_weakiter_begin(&it->wit, o);
        return RH_OBJ(it);
    }
    {
        O *f = class_lookup_s(type_of(o), "__iter__");
        if (f) return call1(f, o);
        if (class_lookup_s(type_of(o), "__getitem__")) {
            return py_raise(EX_NotImplementedError, "refpy does not iterate through __getitem__");
        }
    }
    return py_raise(EX_TypeError, "'%s' object is not iterable", rh_str_cstr(type_of(o)->name));
}

static O *seq_item(O *s, size_t i, bool *end) {
    const rh_type *t = rh_type_of(s);
    if (t == &rh_list_type) { if (i >= rh_list_size(s)) { *end = true; return NULL; } return rh_newref(rh_list_get(s, (ptrdiff_t)i)); }
    if (t == &rh_tuple_type) { if (i >= rh_tuple_size(s)) { *end = true; return NULL; } return rh_newref(rh_tuple_get(s, i)); }
    if (t == &rh_bytes_type) { if (i >= rh_bytes_len(s)) { *end = true; return NULL; } return rh_int(H, rh_bytes_data(s)[i]); }
    if (t == &rh_bytearray_type) { if (i >= rh_bytearray_len(s)) { *end = true; return NULL; } return rh_int(H, rh_bytearray_data(s)[i]); }
    if (t == &rh_memoryview_type) {
        const uint8_t *d = rh_memoryview_data(s);
        if (!d) return py_raise(EX_ValueError, "operation forbidden on released memoryview object");
        if (i >= rh_memoryview_len(s)) { *end = true; return NULL; }
        return rh_int(H, d[i]);
    }
    *end = true;
    return NULL;
}

O *py_next(O *o) {
    if (refpy_fuzz_mode && refpy_step() < 0) return NULL;
    if (!rh_is_type(o, &T_iter)) {
        if (rh_is_instance(o)) {
            O *f = class_lookup_s(type_of(o), "__next__");
            if (!f) return py_raise(EX_TypeError, "'%s' object is not an iterator", rh_str_cstr(type_of(o)->name));
            O *r = call1(f, o);
            if (!r && py_err_matches(py_exc[EX_StopIteration])) { py_err_clear(); return NULL; }
            return r;
        }
        return py_raise(EX_TypeError, "'%s' object is not an iterator", rh_str_cstr(type_of(o)->name));
    }
    Iter *it = (Iter *)o;
    switch (it->kind) {
    case IT_SEQ: {
        if (!it->seq) return NULL;
        bool end = false;
        O *r = seq_item(it->seq, it->pos, &end);
        if (end) { RH_CLEAR(it->seq); return NULL; }
        it->pos++;
        return r;
    }
    case IT_REVERSED: {
        if (!it->seq || it->i < 0) { RH_CLEAR(it->seq); return NULL; }
        bool end = false;
        O *r = seq_item(it->seq, (size_t)it->i, &end);
        it->i--;
        if (end) { RH_CLEAR(it->seq); return NULL; }
        return r;
    }
    case IT_STR: {
        if (!it->seq) return NULL;
        const char *s = rh_str_cstr(it->seq);
        size_t n = rh_str_nbytes(it->seq);
        if (it->pos >= n) { RH_CLEAR(it->seq); return NULL; }
        size_t l = 1;
        unsigned char c = (unsigned char)s[it->pos];
        if (c >= 0xF0) l = 4; else if (c >= 0xE0) l = 3; else if (c >= 0xC0) l = 2;
        O *r = rh_str_n(H, s + it->pos, l);
        it->pos += l;
        return r;
    }
    case IT_DICT_KEYS: case IT_DICT_VALUES: case IT_DICT_ITEMS: {
        if (!it->seq) return NULL;
        if (rh_dict_size(it->seq) != it->size) {
            it->size = (size_t)-1;
            return py_raise(EX_RuntimeError, "dictionary changed size during iteration");
        }
        O *k, *v;
        if (!rh_dict_next(it->seq, &it->pos, &k, &v)) { RH_CLEAR(it->seq); return NULL; }
        if (it->kind == IT_DICT_KEYS) return rh_newref(k);
        if (it->kind == IT_DICT_VALUES) return rh_newref(v);
        return rh_tuple_pack(H, 2, k, v);
    }
    case IT_SET: {
        if (!it->seq) return NULL;
        if (rh_set_size(it->seq) != it->size) {
            it->size = (size_t)-1;
            return py_raise(EX_RuntimeError, "Set changed size during iteration");
        }
        O *k;
        if (!rh_set_next(it->seq, &it->pos, &k)) { RH_CLEAR(it->seq); return NULL; }
        return rh_newref(k);
    }
    case IT_RANGE:
        if (it->step > 0 ? it->i >= it->end : it->i <= it->end) return NULL;
        it->i += it->step;
        return rh_int(H, it->i - it->step);
    case IT_ENUM: {
        O *x = py_next(it->seq);
        if (!x) return NULL;
        O *i = rh_int(H, it->i++);
        O *t = rh_tuple_pack(H, 2, i, x);
        rh_decref(i);
        rh_decref(x);
        return t;
    }
    case IT_ZIP: {
        size_t n = rh_tuple_size(it->seq);
        if (n == 0) return NULL;
        O *t = rh_tuple_new(H, n);
        for (size_t k = 0; k < n; k++) {
            O *x = py_next(rh_tuple_get(it->seq, k));
            if (!x) { rh_decref(t); return NULL; }
            rh_tuple_set_steal(t, k, x);
        }
        return t;
    }
    case IT_MAP: {
        O *x = py_next(it->extra);
        if (!x) return NULL;
        O *r = call1(it->seq, x);
        rh_decref(x);
        return r;
    }
    case IT_WEAK: {
        if (!it->wit.open && it->pos) return NULL;
        it->pos = 1;
        O *k = NULL, *v = NULL;
        rh_object *c = it->wit.container;
        bool wvd = rh_is_type(c, &rh_weakvaluedict_type);
        if (!rh_weakiter_next(&it->wit, &k, wvd ? NULL : NULL)) return NULL;
        (void)v;
        return k;
    }
    case IT_FILE: {
        FILE *fp = (FILE *)(uintptr_t)it->i;
        if (!fp) return NULL;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, fp);
        if (n < 0) { free(line); return NULL; }
        O *r = rh_str_n(H, line, (size_t)n);
        free(line);
        return r;
    }
    default: return NULL;
    }
}

O *py_list_from(O *iterable) {
    O *l = rh_list_new(H, 0);
    if (!l) return py_from_rh();
    if (rh_is_type(iterable, &rh_list_type) || rh_is_type(iterable, &rh_tuple_type)) {
        bool isl = rh_is_type(iterable, &rh_list_type);
        size_t n = isl ? rh_list_size(iterable) : rh_tuple_size(iterable);
        for (size_t i = 0; i < n; i++) rh_list_append(l, isl ? rh_list_get(iterable, (ptrdiff_t)i) : rh_tuple_get(iterable, i));
        return l;
    }
    O *it = py_iter(iterable);
    if (!it) { rh_decref(l); return NULL; }
    O *x;
    while ((x = py_next(it))) { rh_list_append(l, x); rh_decref(x); }
    rh_decref(it);
    if (py_err_occurred()) { rh_decref(l); return NULL; }
    return l;
}
O *py_tuple_from(O *iterable) {
    if (rh_is_type(iterable, &rh_tuple_type)) return rh_newref(iterable);
    O *l = py_list_from(iterable);
    if (!l) return NULL;
    size_t n = rh_list_size(l);
    O *t = rh_tuple_new(H, n);
    for (size_t i = 0; i < n; i++) rh_tuple_set_steal(t, i, rh_newref(rh_list_get(l, (ptrdiff_t)i)));
    rh_decref(l);
    return t;
}

/* ---------------------------------------------------------------------------
 * Length, indexing, containment
 * ------------------------------------------------------------------------- */
int64_t py_len(O *o) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_list_type) return (int64_t)rh_list_size(o);
    if (t == &rh_tuple_type) return (int64_t)rh_tuple_size(o);
    if (t == &rh_dict_type) return (int64_t)rh_dict_size(o);
    if (t == &rh_set_type) return (int64_t)rh_set_size(o);
    if (t == &rh_str_type) return (int64_t)rh_str_len(o);
    if (t == &rh_bytes_type) return (int64_t)rh_bytes_len(o);
    if (t == &rh_bytearray_type) return (int64_t)rh_bytearray_len(o);
    if (t == &rh_memoryview_type) {
        if (!rh_memoryview_data(o) && rh_memoryview_len(o) == 0) {
            /* released */
        }
        return (int64_t)rh_memoryview_len(o);
    }
    if (t == &rh_weakvaluedict_type) return (int64_t)rh_weakvaluedict_size(o);
    if (t == &rh_weakkeydict_type) return (int64_t)rh_weakkeydict_size(o);
    if (t == &rh_weakset_type) return (int64_t)rh_weakset_size(o);
    if (t == &T_range) {
        Range *r = (Range *)o;
        int64_t n = r->step > 0 ? (r->stop - r->start + r->step - 1) / r->step : (r->start - r->stop - r->step - 1) / -r->step;
        return n < 0 ? 0 : n;
    }
    if (rh_is_instance(o)) {
        O *f = class_lookup_s(type_of(o), "__len__");
        if (f) {
            O *r = call1(f, o);
            if (!r) return -1;
            int64_t n = rh_int_value(r);
            rh_decref(r);
            if (n < 0) { py_raise(EX_ValueError, "__len__() should return >= 0"); return -1; }
            return n;
        }
    }
    py_raise(EX_TypeError, "object of type '%s' has no len()", rh_str_cstr(type_of(o)->name));
    return -1;
}

/* clamps a slice to [0, n]: returns the number of items */
static int64_t slice_indices(O *sl, int64_t n, int64_t *start, int64_t *stop, int64_t *step) {
    Slice *s = (Slice *)sl;
    *step = 1;
    if (s->step != rh_None && py_index(s->step, step) < 0) return -1;
    if (*step == 0) { py_raise(EX_ValueError, "slice step cannot be zero"); return -1; }
    int64_t lo = *step < 0 ? -1 : 0, hi = *step < 0 ? n - 1 : n;
    if (s->start == rh_None) *start = *step < 0 ? hi : lo;
    else {
        if (py_index(s->start, start) < 0) return -1;
        if (*start < 0) { *start += n; if (*start < lo) *start = lo; }
        else if (*start > hi) *start = hi;
    }
    if (s->stop == rh_None) *stop = *step < 0 ? lo : hi;
    else {
        if (py_index(s->stop, stop) < 0) return -1;
        if (*stop < 0) { *stop += n; if (*stop < lo) *stop = lo; }
        else if (*stop > hi) *stop = hi;
    }
    if (*step > 0) return *stop > *start ? (*stop - *start + *step - 1) / *step : 0;
    return *start > *stop ? (*start - *stop - *step - 1) / -*step : 0;
}

static O *str_at(O *s, int64_t i) {
    const char *p = rh_str_cstr(s);
    size_t nb = rh_str_nbytes(s);
    if (nb == rh_str_len(s)) return rh_str_n(H, p + i, 1);
    size_t off = 0;
    for (int64_t k = 0; k < i; k++) {
        unsigned char c = (unsigned char)p[off];
        off += c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    }
    unsigned char c = (unsigned char)p[off];
    return rh_str_n(H, p + off, c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1);
}

O *py_getitem(O *o, O *k) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_dict_type) {
        O *v = rh_dict_get(o, k);
        if (v) return rh_newref(v);
        if (rh_err(H)) return py_from_rh();
        if (py_hash(k) == -1) return NULL;
        O *e = call1(py_exc[EX_KeyError], k);
        if (e) { py_raise_obj(e); rh_decref(e); }
        return NULL;
    }
    if (t == &rh_list_type || t == &rh_tuple_type || t == &rh_str_type || t == &rh_bytes_type ||
        t == &rh_bytearray_type || t == &rh_memoryview_type || t == &T_range) {
        int64_t n = py_len(o);
        if (n < 0) return NULL;
        const char *tn = t == &rh_list_type ? "list" : t == &rh_tuple_type ? "tuple" : t == &rh_str_type ? "string" :
                         t == &rh_bytes_type ? "index" : t == &rh_bytearray_type ? "bytearray" : t == &T_range ? "range object" : "index";
        if (rh_is_type(k, &T_slice)) {
            int64_t start, stop, step;
            int64_t m = slice_indices(k, n, &start, &stop, &step);
            if (m < 0) return NULL;
            if (t == &rh_memoryview_type) {
                if (step != 1) return py_raise(EX_NotImplementedError, "refpy: memoryview slices with a step");
                O *r = rh_memoryview_slice(o, (size_t)start, (size_t)(start + m));
                return r ? r : py_from_rh();
            }
            if (t == &rh_str_type) {
                if (rh_str_nbytes(o) == rh_str_len(o)) {
                    const char *p = rh_str_cstr(o);
                    if (step == 1) return rh_str_n(H, p + start, (size_t)m);
                    char *buf = malloc((size_t)m + 1);
                    for (int64_t i = 0; i < m; i++) buf[i] = p[start + i * step];
                    O *r = rh_str_n(H, buf, (size_t)m);
                    free(buf);
                    return r;
                }
                O *r = rh_str(H, "");
                for (int64_t i = 0; i < m; i++) {
                    O *c = str_at(o, start + i * step);
                    O *r2 = rh_str_concat(H, r, c);
                    rh_decref(c);
                    rh_decref(r);
                    r = r2;
                }
                return r;
            }
            if (t == &rh_bytes_type || t == &rh_bytearray_type) {
                const uint8_t *p = t == &rh_bytes_type ? rh_bytes_data(o) : rh_bytearray_data(o);
                uint8_t *buf = malloc((size_t)m + 1);
                for (int64_t i = 0; i < m; i++) buf[i] = p[start + i * step];
                O *r = t == &rh_bytes_type ? rh_bytes(H, buf, (size_t)m) : rh_bytearray(H, buf, (size_t)m);
                free(buf);
                return r;
            }
            if (t == &T_range) {
                Range *rg = (Range *)o;
                Range *r = (Range *)rh_new(H, &T_range);
                r->start = rg->start + start * rg->step;
                r->stop = rg->start + stop * rg->step;
                r->step = rg->step * step;
                return RH_OBJ(r);
            }
            O *l = rh_list_new(H, 0);
            for (int64_t i = 0; i < m; i++) {
                O *x = t == &rh_list_type ? rh_list_get(o, (ptrdiff_t)(start + i * step)) : rh_tuple_get(o, (size_t)(start + i * step));
                rh_list_append(l, x);
            }
            if (t == &rh_tuple_type) { O *tu = py_tuple_from(l); rh_decref(l); return tu; }
            return l;
        }
        if (!py_is_int(k)) return py_raise(EX_TypeError, "%s indices must be integers or slices, not %s", t == &rh_str_type ? "string" : t == &rh_list_type ? "list" : t == &rh_tuple_type ? "tuple" : "byte", rh_str_cstr(type_of(k)->name));
        int64_t i = rh_int_value(k);
        if (i < 0) i += n;
        if (i < 0 || i >= n) return py_raise(EX_IndexError, "%s index out of range", tn);
        if (t == &rh_str_type) return str_at(o, i);
        if (t == &T_range) return rh_int(H, ((Range *)o)->start + i * ((Range *)o)->step);
        bool end;
        return seq_item(o, (size_t)i, &end);
    }
    if (rh_is_instance(o)) {
        O *f = class_lookup_s(type_of(o), "__getitem__");
        if (f) return call2(f, o, k);
    }
    if (rh_is_type(o, &rh_weakvaluedict_type) || rh_is_type(o, &rh_weakkeydict_type)) {
        O *v = rh_is_type(o, &rh_weakvaluedict_type) ? rh_weakvaluedict_get(o, k) : rh_weakkeydict_get(o, k);
        if (v) return v;
        if (rh_err(H)) return py_from_rh();
        O *e = call1(py_exc[EX_KeyError], k);
        if (e) { py_raise_obj(e); rh_decref(e); }
        return NULL;
    }
    if (rh_is_type(o, &T_class)) return py_raise(EX_NotImplementedError, "refpy does not support generic aliases (%s[...])", rh_str_cstr(((Class *)o)->name));
    return py_raise(EX_TypeError, "'%s' object is not subscriptable", rh_str_cstr(type_of(o)->name));
}

int py_setitem(O *o, O *k, O *v) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_dict_type) {
        if (py_hash(k) == -1) return -1;
        return rh_dict_set(o, k, v) < 0 ? (py_from_rh(), -1) : 0;
    }
    if (t == &rh_list_type) {
        if (rh_is_type(k, &T_slice)) {
            int64_t start, stop, step;
            int64_t m = slice_indices(k, (int64_t)rh_list_size(o), &start, &stop, &step);
            if (m < 0) return -1;
            if (step != 1) { py_raise(EX_NotImplementedError, "refpy: extended slice assignment"); return -1; }
            O *items = py_list_from(v);
            if (!items) {
                if (py_err_matches(py_exc[EX_TypeError])) {
                    py_err_clear();
                    py_raise(EX_TypeError, "can only assign an iterable");
                }
                return -1;
            }
            for (int64_t i = 0; i < m; i++) { O *x = rh_list_pop(o, (ptrdiff_t)start); rh_xdecref(x); }
            for (size_t i = 0; i < rh_list_size(items); i++) rh_list_insert(o, (ptrdiff_t)(start + (int64_t)i), rh_list_get(items, (ptrdiff_t)i));
            rh_decref(items);
            return 0;
        }
        int64_t i;
        if (py_index(k, &i) < 0) return -1;
        int64_t n = (int64_t)rh_list_size(o);
        if (i < 0) i += n;
        if (i < 0 || i >= n) { py_raise(EX_IndexError, "list assignment index out of range"); return -1; }
        return rh_list_set(o, (ptrdiff_t)i, v) < 0 ? (py_from_rh(), -1) : 0;
    }
    if (t == &rh_bytearray_type || t == &rh_memoryview_type) {
        int64_t i, b;
        if (py_index(k, &i) < 0) return -1;
        if (py_index(v, &b) < 0) return -1;
        if (b < 0 || b > 255) { py_raise(EX_ValueError, "byte must be in range(0, 256)"); return -1; }
        uint8_t *d = t == &rh_bytearray_type ? rh_bytearray_data(o) : rh_memoryview_mutable_data(o);
        int64_t n = py_len(o);
        if (i < 0) i += n;
        if (i < 0 || i >= n) { py_raise(EX_IndexError, "index out of range"); return -1; }
        if (!d) { py_raise(EX_TypeError, "cannot modify read-only memory"); return -1; }
        d[i] = (uint8_t)b;
        return 0;
    }
    if (t == &rh_weakvaluedict_type) return rh_weakvaluedict_set(o, k, v) < 0 ? (py_from_rh(), -1) : 0;
    if (t == &rh_weakkeydict_type) return rh_weakkeydict_set(o, k, v) < 0 ? (py_from_rh(), -1) : 0;
    if (rh_is_instance(o)) {
        O *f = class_lookup_s(type_of(o), "__setitem__");
        if (f) {
            O *args[3] = {o, k, v};
            O *r = call(f, args, 3, NULL);
            if (!r) return -1;
            rh_decref(r);
            return 0;
        }
    }
    py_raise(EX_TypeError, "'%s' object does not support item assignment", rh_str_cstr(type_of(o)->name));
    return -1;
}

int py_delitem(O *o, O *k) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_dict_type || t == &rh_weakvaluedict_type || t == &rh_weakkeydict_type) {
        int r = t == &rh_dict_type ? rh_dict_del(o, k) : t == &rh_weakvaluedict_type ? rh_weakvaluedict_del(o, k) : rh_weakkeydict_del(o, k);
        if (r < 0) {
            rh_err_clear(H);
            O *e = call1(py_exc[EX_KeyError], k);
            if (e) { py_raise_obj(e); rh_decref(e); }
            return -1;
        }
        return 0;
    }
    if (t == &rh_list_type) {
        if (rh_is_type(k, &T_slice)) {
            int64_t start, stop, step;
            int64_t m = slice_indices(k, (int64_t)rh_list_size(o), &start, &stop, &step);
            if (m < 0) return -1;
            if (step < 0) { start = start + (m - 1) * step; step = -step; }
            for (int64_t i = m - 1; i >= 0; i--) { O *x = rh_list_pop(o, (ptrdiff_t)(start + i * step)); rh_xdecref(x); }
            return 0;
        }
        int64_t i;
        if (py_index(k, &i) < 0) return -1;
        int64_t n = (int64_t)rh_list_size(o);
        if (i < 0) i += n;
        if (i < 0 || i >= n) { py_raise(EX_IndexError, "list assignment index out of range"); return -1; }
        O *x = rh_list_pop(o, (ptrdiff_t)i);
        rh_xdecref(x);
        return 0;
    }
    if (rh_is_instance(o)) {
        O *f = class_lookup_s(type_of(o), "__delitem__");
        if (f) {
            O *r = call2(f, o, k);
            if (!r) return -1;
            rh_decref(r);
            return 0;
        }
    }
    py_raise(EX_TypeError, "'%s' object does not support item deletion", rh_str_cstr(type_of(o)->name));
    return -1;
}

int py_contains(O *c, O *v) {
    const rh_type *t = rh_type_of(c);
    if (t == &rh_dict_type || t == &rh_set_type) {
        if (py_hash(v) == -1) return -1;
        int r = t == &rh_dict_type ? rh_dict_contains(c, v) : rh_set_contains(c, v);
        if (r < 0) py_from_rh();
        return r;
    }
    if (t == &rh_str_type) {
        if (!py_is_str(v)) { py_raise(EX_TypeError, "'in <string>' requires string as left operand, not %s", rh_str_cstr(type_of(v)->name)); return -1; }
        return strstr(rh_str_cstr(c), rh_str_cstr(v)) != NULL;
    }
    if (t == &rh_weakvaluedict_type) { O *x = rh_weakvaluedict_get(c, v); if (x) { rh_decref(x); return 1; } rh_err_clear(H); return 0; }
    if (t == &rh_weakkeydict_type) { O *x = rh_weakkeydict_get(c, v); if (x) { rh_decref(x); return 1; } rh_err_clear(H); return 0; }
    if (t == &rh_weakset_type) { int r = rh_weakset_contains(c, v); if (r < 0) rh_err_clear(H); return r > 0; }
    if (t == &T_range) {
        if (!py_is_int(v)) return 0;
        Range *r = (Range *)c;
        int64_t x = rh_int_value(v);
        if (r->step > 0 ? (x < r->start || x >= r->stop) : (x > r->start || x <= r->stop)) return 0;
        return (x - r->start) % r->step == 0;
    }
    if (rh_is_instance(c)) {
        O *f = class_lookup_s(type_of(c), "__contains__");
        if (f) {
            O *r = call2(f, c, v);
            if (!r) return -1;
            int b = py_truth(r);
            rh_decref(r);
            return b;
        }
    }
    O *it = py_iter(c);
    if (!it) {
        if (py_err_matches(py_exc[EX_TypeError])) {
            py_err_clear();
            py_raise(EX_TypeError, "argument of type '%s' is not iterable", rh_str_cstr(type_of(c)->name));
        }
        return -1;
    }
    O *x;
    int found = 0;
    while ((x = py_next(it))) {
        int e = x == v ? 1 : py_eq(x, v);
        rh_decref(x);
        if (e) { found = e; break; }
    }
    rh_decref(it);
    if (!found && py_err_occurred()) return -1;
    return found;
}

O *seq_concat(O *a, O *b) {
    const rh_type *t = rh_type_of(a);
    if (t == &rh_str_type) { O *r = rh_str_concat(H, a, b); return r ? r : py_from_rh(); }
    if (t == &rh_bytes_type || t == &rh_bytearray_type) {
        size_t na = t == &rh_bytes_type ? rh_bytes_len(a) : rh_bytearray_len(a);
        size_t nb = t == &rh_bytes_type ? rh_bytes_len(b) : rh_bytearray_len(b);
        uint8_t *buf = malloc(na + nb + 1);
        memcpy(buf, t == &rh_bytes_type ? rh_bytes_data(a) : rh_bytearray_data(a), na);
        memcpy(buf + na, t == &rh_bytes_type ? rh_bytes_data(b) : rh_bytearray_data(b), nb);
        O *r = t == &rh_bytes_type ? rh_bytes(H, buf, na + nb) : rh_bytearray(H, buf, na + nb);
        free(buf);
        return r;
    }
    O *l = py_list_from(a);
    if (!l) return NULL;
    O *it = py_iter(b);
    O *x;
    while ((x = py_next(it))) { rh_list_append(l, x); rh_decref(x); }
    rh_decref(it);
    if (t == &rh_tuple_type) { O *tu = py_tuple_from(l); rh_decref(l); return tu; }
    return l;
}

O *seq_repeat(O *a, int64_t n) {
    const rh_type *t = rh_type_of(a);
    if (n < 0) n = 0;
    if (t == &rh_str_type || t == &rh_bytes_type) {
        size_t l = t == &rh_str_type ? rh_str_nbytes(a) : rh_bytes_len(a);
        uint64_t cap = refpy_fuzz_mode ? (1ull << 20) : (1ull << 40);
        if (l && (uint64_t)n > cap / l) return py_raise(EX_MemoryError, "repeated string is too long");
        char *buf = malloc(l * (size_t)n + 1);
        const void *src = t == &rh_str_type ? (const void *)rh_str_cstr(a) : (const void *)rh_bytes_data(a);
        for (int64_t i = 0; i < n; i++) memcpy(buf + (size_t)i * l, src, l);
        O *r = t == &rh_str_type ? rh_str_n(H, buf, l * (size_t)n) : rh_bytes(H, buf, l * (size_t)n);
        free(buf);
        return r ? r : py_from_rh();
    }
    O *src = py_list_from(a);
    if (!src) return NULL;
    size_t m = rh_list_size(src);
    if (m && (uint64_t)n > (refpy_fuzz_mode ? (1ull << 16) : (1ull << 32)) / m) { rh_decref(src); return py_raise(EX_MemoryError, "repeated sequence is too long"); }
    O *l = rh_list_new(H, m * (size_t)n);
    if (!l) { rh_decref(src); return py_from_rh(); }
    for (int64_t i = 0; i < n; i++)
        for (size_t k = 0; k < m; k++) rh_list_set(l, (ptrdiff_t)((size_t)i * m + k), rh_list_get(src, (ptrdiff_t)k));
    rh_decref(src);
    if (t == &rh_tuple_type) { O *tu = py_tuple_from(l); rh_decref(l); return tu; }
    return l;
}

O *set_binop(int op, O *a, O *b) {
    O *r = rh_set_new(H);
    size_t pos = 0;
    O *k;
    if (op == OP_BITOR) {
        while (rh_set_next(a, &pos, &k)) rh_set_add(r, k);
        pos = 0;
        while (rh_set_next(b, &pos, &k)) rh_set_add(r, k);
    } else if (op == OP_BITAND) {
        while (rh_set_next(a, &pos, &k)) if (rh_set_contains(b, k) == 1) rh_set_add(r, k);
    } else if (op == OP_SUB) {
        while (rh_set_next(a, &pos, &k)) if (rh_set_contains(b, k) != 1) rh_set_add(r, k);
    } else {
        while (rh_set_next(a, &pos, &k)) if (rh_set_contains(b, k) != 1) rh_set_add(r, k);
        pos = 0;
        while (rh_set_next(b, &pos, &k)) if (rh_set_contains(a, k) != 1) rh_set_add(r, k);
    }
    return r;
}

/* ---------------------------------------------------------------------------
 * Sorting: a stable merge sort with Python's `<`
 * ------------------------------------------------------------------------- */
static int merge_sort(O **keys, O **vals, O **tk, O **tv, size_t n, bool reverse) {
    if (n < 2) return 0;
    size_t h = n / 2;
    if (merge_sort(keys, vals, tk, tv, h, reverse) < 0) return -1;
    if (merge_sort(keys + h, vals + h, tk, tv, n - h, reverse) < 0) return -1;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        /* take from the right only when strictly before (stability) */
        int lt = reverse ? py_lt(keys[i], keys[j]) : py_lt(keys[j], keys[i]);
        if (lt < 0) return -1;
        if (lt) { tk[k] = keys[j]; tv[k++] = vals[j++]; }
        else { tk[k] = keys[i]; tv[k++] = vals[i++]; }
    }
    while (i < h) { tk[k] = keys[i]; tv[k++] = vals[i++]; }
    while (j < n) { tk[k] = keys[j]; tv[k++] = vals[j++]; }
    memcpy(keys, tk, n * sizeof(O *));
    memcpy(vals, tv, n * sizeof(O *));
    return 0;
}

O *py_sort(O *list, O *key, bool reverse) {
    size_t n = rh_list_size(list);
    O **vals = malloc((n + 1) * sizeof(O *)), **keys = malloc((n + 1) * sizeof(O *));
    O **tk = malloc((n + 1) * sizeof(O *)), **tv = malloc((n + 1) * sizeof(O *));
    size_t got = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = rh_newref(rh_list_get(list, (ptrdiff_t)i));
        if (key && key != rh_None) {
            keys[i] = call1(key, vals[i]);
            if (!keys[i]) { rh_decref(vals[i]); rc = -1; break; }
        } else keys[i] = rh_newref(vals[i]);
        got++;
    }
    if (rc == 0) rc = merge_sort(keys, vals, tk, tv, n, reverse);
    if (rc == 0) for (size_t i = 0; i < n; i++) rh_list_set(list, (ptrdiff_t)i, vals[i]);
    for (size_t i = 0; i < got; i++) { rh_decref(vals[i]); rh_decref(keys[i]); }
    free(vals); free(keys); free(tk); free(tv);
    return rc < 0 ? NULL : rh_None;
}

/* ---------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------- */
typedef struct Spec { char fill, align, sign, type; int width, prec; bool zero, comma, alt; } Spec;

static int parse_spec(const char *s, Spec *sp) {
    memset(sp, 0, sizeof *sp);
    sp->fill = ' ';
    sp->prec = -1;
    size_t n = strlen(s), i = 0;
    if (n >= 2 && strchr("<>^=", s[1])) { sp->fill = s[0]; sp->align = s[1]; i = 2; }
    else if (n >= 1 && strchr("<>^=", s[0])) { sp->align = s[0]; i = 1; }
    if (i < n && strchr("+- ", s[i])) sp->sign = s[i++];
    if (i < n && s[i] == '#') { sp->alt = true; i++; }
    if (i < n && s[i] == '0') { sp->zero = true; i++; }
    while (i < n && isdigit((unsigned char)s[i])) sp->width = sp->width * 10 + (s[i++] - '0');
    if (i < n && (s[i] == ',' || s[i] == '_')) { sp->comma = true; i++; }
    if (i < n && s[i] == '.') {
        i++;
        sp->prec = 0;
        if (i >= n || !isdigit((unsigned char)s[i])) return -1;
        while (i < n && isdigit((unsigned char)s[i])) sp->prec = sp->prec * 10 + (s[i++] - '0');
    }
    if (i < n) sp->type = s[i++];
    if (i != n) return -1;
    return 0;
}

static void add_commas(char *num) {
    char *p = num;
    if (*p == '-' || *p == '+' || *p == ' ') p++;
    char *dot = strchr(p, '.');
    size_t intlen = dot ? (size_t)(dot - p) : strlen(p);
    if (intlen <= 3) return;
    char tmp[256];
    size_t o = 0, lead = intlen % 3;
    for (size_t i = 0; i < intlen; i++) {
        if (i && (i - lead) % 3 == 0 && i >= lead) tmp[o++] = ',';
        else if (i && i == lead) tmp[o++] = ',';
        tmp[o++] = p[i];
    }
    strcpy(tmp + o, p + intlen);
    strcpy(p, tmp);
}

static O *pad(const char *body, size_t blen, Spec *sp, char default_align, bool numeric) {
    size_t clen = 0;
    for (size_t i = 0; i < blen; i++) if (((unsigned char)body[i] & 0xC0) != 0x80) clen++;
    if (sp->width <= 0 || (size_t)sp->width <= clen) return rh_str_n(H, body, blen);
    size_t padn = (size_t)sp->width - clen;
    char align = sp->align ? sp->align : (sp->zero && numeric ? '=' : default_align);
    char fill = sp->align ? sp->fill : (sp->zero && numeric ? '0' : sp->fill);
    char *buf = malloc(blen + padn + 1);
    size_t o = 0;
    size_t left = align == '<' ? 0 : align == '^' ? padn / 2 : padn;
    if (align == '=') {
        size_t signlen = (blen && strchr("+- ", body[0])) ? 1 : 0;
        memcpy(buf, body, signlen);
        o = signlen;
        for (size_t i = 0; i < padn; i++) buf[o++] = fill;
        memcpy(buf + o, body + signlen, blen - signlen);
        o += blen - signlen;
    } else {
        for (size_t i = 0; i < left; i++) buf[o++] = fill;
        memcpy(buf + o, body, blen);
        o += blen;
        for (size_t i = left; i < padn; i++) buf[o++] = fill;
    }
    O *r = rh_str_n(H, buf, o);
    free(buf);
    return r;
}

O *py_format(O *v, O *specobj) {
    const char *s = specobj ? rh_str_cstr(specobj) : "";
    if (rh_is_instance(v)) {
        O *f = class_lookup_s(type_of(v), "__format__");
        if (f) return call2(f, v, specobj ? specobj : intern(""));
    }
    if (!*s) return py_str(v);
    Spec sp;
    if (parse_spec(s, &sp) < 0) return py_raise(EX_ValueError, "Invalid format specifier '%s' for object of type '%s'", s, rh_str_cstr(type_of(v)->name));
    char num[512];
    const rh_type *t = rh_type_of(v);
    if ((t == &rh_int_type || t == &rh_bool_type) && (!sp.type || strchr("dxXobc", sp.type))) {
        int64_t x = rh_int_value(v);
        uint64_t ax = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        char digits[80];
        switch (sp.type) {
        case 'x': snprintf(digits, sizeof digits, "%s%" PRIx64, sp.alt ? "0x" : "", ax); break;
        case 'X': snprintf(digits, sizeof digits, "%s%" PRIX64, sp.alt ? "0X" : "", ax); break;
        case 'o': snprintf(digits, sizeof digits, "%s%" PRIo64, sp.alt ? "0o" : "", ax); break;
        case 'b': {
            char tmp[70];
            int k = 0;
            do { tmp[k++] = (char)('0' + (ax & 1)); ax >>= 1; } while (ax);
            int o = 0;
            if (sp.alt) { digits[o++] = '0'; digits[o++] = 'b'; }
            while (k) digits[o++] = tmp[--k];
            digits[o] = 0;
            break;
        }
        case 'c': digits[0] = (char)x; digits[1] = 0; break;
        default: snprintf(digits, sizeof digits, "%" PRIu64, ax);
        }
        snprintf(num, sizeof num, "%s%s", x < 0 ? "-" : sp.sign == '+' ? "+" : sp.sign == ' ' ? " " : "", digits);
        if (sp.comma) add_commas(num);
        return pad(num, strlen(num), &sp, '>', true);
    }
    if ((t == &rh_float_type || t == &rh_int_type || t == &rh_bool_type) && (!sp.type || strchr("fFeEgG%n", sp.type))) {
        double x = rh_float_value(v);
        char fmt[32];
        int prec = sp.prec < 0 ? 6 : sp.prec;
        const char *sign = sp.sign == '+' ? "+" : sp.sign == ' ' ? " " : "";
        if (!sp.type) {
            if (sp.prec < 0) {
                O *r = py_repr(v);
                snprintf(num, sizeof num, "%s%s", (x >= 0 && *sign) ? sign : "", rh_str_cstr(r));
                rh_decref(r);
            } else {
                snprintf(fmt, sizeof fmt, "%%%s.%dg", sign, prec ? prec : 1);
                snprintf(num, sizeof num, fmt, x);
                if (!strchr(num, '.') && !strchr(num, 'e') && !strchr(num, 'n') && !strchr(num, 'i')) strcat(num, ".0");
            }
        } else if (sp.type == '%') {
            snprintf(fmt, sizeof fmt, "%%%s.%df%%%%", sign, prec);
            snprintf(num, sizeof num, fmt, x * 100);
        } else {
            char ty = sp.type == 'n' ? 'g' : sp.type;
            snprintf(fmt, sizeof fmt, "%%%s%s.%d%c", sign, sp.alt ? "#" : "", prec, ty);
            snprintf(num, sizeof num, fmt, x);
        }
        if (sp.comma) add_commas(num);
        return pad(num, strlen(num), &sp, '>', true);
    }
    if (t == &rh_str_type && (!sp.type || sp.type == 's')) {
        const char *p = rh_str_cstr(v);
        size_t n = rh_str_nbytes(v);
        if (sp.prec >= 0) {
            size_t cps = 0, k = 0;
            while (k < n && cps < (size_t)sp.prec) {
                unsigned char c = (unsigned char)p[k];
                k += c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
                cps++;
            }
            n = k;
        }
        return pad(p, n, &sp, '<', false);
    }
    if (sp.type && !strchr("s", sp.type))
        return py_raise(EX_ValueError, "Unknown format code '%c' for object of type '%s'", sp.type, rh_str_cstr(type_of(v)->name));
    O *str = py_str(v);
    if (!str) return NULL;
    O *r = pad(rh_str_cstr(str), rh_str_nbytes(str), &sp, '<', false);
    rh_decref(str);
    return r;
}

O *py_str_mod(O *fmt, O *args) {
    const char *f = rh_str_cstr(fmt);
    size_t n = rh_str_nbytes(fmt);
    O *argt = rh_is_type(args, &rh_tuple_type) ? rh_newref(args) : rh_tuple_pack(H, 1, args);
    size_t ai = 0, na = rh_tuple_size(argt);
    char *out = malloc(n * 2 + 64);
    size_t cap = n * 2 + 64, o = 0;
    O *result = NULL;
    for (size_t i = 0; i < n; i++) {
        if (f[i] != '%') {
            if (o + 2 > cap) { cap *= 2; out = realloc(out, cap); }
            out[o++] = f[i];
            continue;
        }
        i++;
        if (i >= n) { py_raise(EX_ValueError, "incomplete format"); goto done; }
        if (f[i] == '%') { out[o++] = '%'; continue; }
        char specbuf[64];
        size_t sl = 0;
        O *mapkey = NULL;
        if (f[i] == '(') {
            size_t j = i + 1;
            while (j < n && f[j] != ')') j++;
            mapkey = rh_str_n(H, f + i + 1, j - i - 1);
            i = j + 1;
        }
        char flags[8];
        int nf = 0;
        while (i < n && strchr("-+ #0", f[i]) && nf < 7) flags[nf++] = f[i++];
        flags[nf] = 0;
        while (i < n && (isdigit((unsigned char)f[i]) || f[i] == '.' || f[i] == '*') && sl < 40) specbuf[sl++] = f[i++];
        specbuf[sl] = 0;
        if (i >= n) { rh_xdecref(mapkey); py_raise(EX_ValueError, "incomplete format"); goto done; }
        char conv = f[i];
        O *arg;
        if (mapkey) {
            arg = py_getitem(args, mapkey);
            rh_decref(mapkey);
            if (!arg) goto done;
        } else {
            if (ai >= na) { py_raise(EX_TypeError, "not enough arguments for format string"); goto done; }
            arg = rh_newref(rh_tuple_get(argt, ai++));
        }
        O *piece = NULL;
        char cfmt[96], tmp[512];
        if (conv == 's' || conv == 'r' || conv == 'a') {
            O *s = conv == 's' ? py_str(arg) : py_repr(arg);
            if (!s) { rh_decref(arg); goto done; }
            snprintf(cfmt, sizeof cfmt, "%%%s%ss", flags, specbuf);
            int len = snprintf(NULL, 0, cfmt, rh_str_cstr(s));
            char *b = malloc((size_t)len + 1);
            snprintf(b, (size_t)len + 1, cfmt, rh_str_cstr(s));
            piece = rh_str_n(H, b, (size_t)len);
            free(b);
            rh_decref(s);
        } else if (strchr("dixXoc", conv)) {
            if (!is_num(arg)) {
                rh_decref(arg);
                py_raise(EX_TypeError, "%%%c format: a real number is required, not %s", conv, rh_str_cstr(type_of(arg)->name));
                goto done;
            }
            int64_t x = rh_rh_int_or_trunc(arg);
            snprintf(cfmt, sizeof cfmt, "%%%s%s%s", flags, specbuf, conv == 'x' ? PRIx64 : conv == 'X' ? PRIX64 : conv == 'o' ? PRIo64 : conv == 'c' ? "c" : PRId64);
            if (conv == 'c') snprintf(tmp, sizeof tmp, cfmt, (int)x); else snprintf(tmp, sizeof tmp, cfmt, x);
            piece = rh_str(H, tmp);
        } else if (strchr("fFeEgG", conv)) {
            if (!is_num(arg)) {
                rh_decref(arg);
                py_raise(EX_TypeError, "must be real number, not %s", rh_str_cstr(type_of(arg)->name));
                goto done;
            }
            snprintf(cfmt, sizeof cfmt, "%%%s%s%c", flags, specbuf, conv);
            snprintf(tmp, sizeof tmp, cfmt, rh_float_value(arg));
            piece = rh_str(H, tmp);
        } else {
            rh_decref(arg);
            py_raise(EX_ValueError, "unsupported format character '%c' (0x%x) at index %zu", conv, conv, i);
            goto done;
        }
        rh_decref(arg);
        size_t pl = rh_str_nbytes(piece);
        while (o + pl + 2 > cap) { cap *= 2; out = realloc(out, cap); }
        memcpy(out + o, rh_str_cstr(piece), pl);
        o += pl;
        rh_decref(piece);
    }
    if (ai < na && rh_is_type(args, &rh_tuple_type)) { py_raise(EX_TypeError, "not all arguments converted during string formatting"); goto done; }
    result = rh_str_n(H, out, o);
done:
    free(out);
    rh_decref(argt);
    return result;
}

O *py_str_format(O *fmt, O **args, size_t na, O *kw) {
    const char *f = rh_str_cstr(fmt);
    size_t n = rh_str_nbytes(fmt);
    size_t cap = n + 64, o = 0, auto_i = 0;
    char *out = malloc(cap);
    O *result = NULL;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        if (c == '{' && i + 1 < n && f[i + 1] == '{') { out[o++] = '{'; i++; }
        else if (c == '}' && i + 1 < n && f[i + 1] == '}') { out[o++] = '}'; i++; }
        else if (c == '{') {
            size_t j = i + 1;
            int depth = 0;
            while (j < n && (f[j] != '}' || depth)) { if (f[j] == '{') depth++; if (f[j] == '}') depth--; j++; }
            if (j >= n) { py_raise(EX_ValueError, "expected '}' before end of string"); goto done; }
            char field[256];
            size_t fl = j - i - 1 < 255 ? j - i - 1 : 255;
            memcpy(field, f + i + 1, fl);
            field[fl] = 0;
            char *spec = strchr(field, ':');
            if (spec) *spec++ = 0;
            char *conv = strchr(field, '!');
            if (conv) *conv++ = 0;
            char *attr = strpbrk(field, ".[");
            char attrbuf[128] = "";
            if (attr) { snprintf(attrbuf, sizeof attrbuf, "%s", attr); *attr = 0; }
            O *v;
            if (!field[0]) {
                if (auto_i >= na) { py_raise(EX_IndexError, "Replacement index %zu out of range for positional args tuple", auto_i); goto done; }
                v = rh_newref(args[auto_i++]);
            } else if (isdigit((unsigned char)field[0])) {
                size_t k = (size_t)atoi(field);
                if (k >= na) { py_raise(EX_IndexError, "Replacement index %zu out of range for positional args tuple", k); goto done; }
                v = rh_newref(args[k]);
            } else {
                O *key = rh_str(H, field);
                O *x = kw ? rh_dict_get(kw, key) : NULL;
                if (!x) {
                    O *e = call1(py_exc[EX_KeyError], key);
                    rh_decref(key);
                    if (e) { py_raise_obj(e); rh_decref(e); }
                    goto done;
                }
                rh_decref(key);
                v = rh_newref(x);
            }
            if (attrbuf[0] == '.') {
                O *a = getattr_s(v, attrbuf + 1);
                rh_decref(v);
                if (!a) goto done;
                v = a;
            } else if (attrbuf[0] == '[') {
                char *e = strchr(attrbuf, ']');
                if (e) *e = 0;
                O *key = isdigit((unsigned char)attrbuf[1]) ? rh_int(H, atoi(attrbuf + 1)) : rh_str(H, attrbuf + 1);
                O *a = py_getitem(v, key);
                rh_decref(key);
                rh_decref(v);
                if (!a) goto done;
                v = a;
            }
            if (conv) {
                O *cv = *conv == 'r' ? py_repr(v) : py_str(v);
                rh_decref(v);
                if (!cv) goto done;
                v = cv;
            }
            O *so = spec ? rh_str(H, spec) : NULL;
            O *piece = py_format(v, so);
            rh_xdecref(so);
            rh_decref(v);
            if (!piece) goto done;
            size_t pl = rh_str_nbytes(piece);
            while (o + pl + 2 > cap) { cap *= 2; out = realloc(out, cap); }
            memcpy(out + o, rh_str_cstr(piece), pl);
            o += pl;
            rh_decref(piece);
            i = j;
        } else if (c == '}') {
            py_raise(EX_ValueError, "Single '}' encountered in format string");
            goto done;
        } else out[o++] = c;
        if (o + 8 > cap) { cap *= 2; out = realloc(out, cap); }
    }
    result = rh_str_n(H, out, o);
done:
    free(out);
    return result;
}
