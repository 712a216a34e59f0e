/*
 * fuzz_api.c — an API-sequence fuzzer over the public header refheap.h.
 *
 * The input bytes are a program. Byte 0 picks the allocator mode (pools,
 * malloc, debug); byte 1 picks the starting collection thresholds. The rest
 * is a sequence of operations, each an opcode byte followed by the operand
 * bytes it reads. When the input runs out every read returns 0, so any byte
 * string is a valid program and the run always ends.
 *
 * The program's state is a handful of root slots (NROOTS), each holding one
 * strong reference or NULL, plus a few classes made at start (plain, slotted,
 * with a finalizer, with legacy_del, weakrefable or not). Operations create
 * objects of every built-in type into a root, mutate the objects the roots
 * name (attributes, items, appends, slices, weak containers), move and drop
 * roots, and drive the collector (collect, thresholds, freeze, callbacks,
 * enable/disable, debug flags, get_objects/get_referrers) and the fault
 * injector (the n-th allocation fails, once or persistently for a few
 * operations).
 *
 * Hooks run sub-programs: instance finalizers and legacy_del, weakref
 * callbacks, weakref.finalize functions and gc callbacks each read a few
 * operations from the same input and execute them on the same roots (and on
 * the hook's own object: a finalizer may store self into a root, take a weak
 * reference to it, set attributes on it). Nesting is bounded by MAX_DEPTH.
 *
 * Rules the fuzzer keeps, so that a crash is the library's fault:
 *   - every operation takes its own reference to each operand for its whole
 *     duration (a hook run by an allocation may drop the root that named it),
 *     as a CPython caller holds its arguments;
 *   - results go into a root by "store, then drop the old value" (RH_SETREF);
 *   - the heap is never destroyed from a hook; at the end the injector is
 *     switched off, hooks stop running sub-programs, every root and class is
 *     dropped, and a full collection must leave no tracked object beyond what
 *     gc.garbage keeps (skipped if the program untracked a container: an
 *     untracked cycle leaks in CPython too). Then the heap is destroyed;
 *     LeakSanitizer / Valgrind report memory the library took outside it.
 * Return values are checked where cheap: errors (-1 / NULL) are allowed but
 * must come with an error code; a success is checked against what it promised
 * (the length after an append, the value after a dict set, ...) when no hook
 * ran meanwhile. A failed check aborts with a message (a finding).
 *
 * Two drivers share this file: with RH_FUZZ_LIBFUZZER it provides
 * LLVMFuzzerTestOneInput; otherwise it has a main() that replays the files
 * (or directories of files) given as arguments and then runs
 * REFHEAP_FUZZ_ITERS pseudo-random programs from REFHEAP_FUZZ_SEED.
 */
#include "refheap.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NROOTS 8
#define NCLASSES 6
#define MAX_DEPTH 3
#define MAX_SUB_OPS 6
#define MAX_OPS 4000
/* Objects the bulk operations (op_bulk, op_chain) may make in one program.
 * Without a cap a 700-byte input built 17,000 tracked objects and ran a
 * thousand collections over them with RH_GC_DEBUG_VERIFY on (a walk of the
 * whole heap each): 30 s under ASan, a libFuzzer timeout that is the
 * program's cost, not a hang. 4096 still makes chains 80 times deeper than
 * the deferral bound (50 nested deaths). */
#define BULK_BUDGET 4096u

typedef struct fuzz {
    rh_heap *h;
    const uint8_t *data;
    size_t size, pos;
    rh_object *roots[NROOTS];
    rh_object *cls[NCLASSES];
    int depth;
    bool ending;           /* final teardown: hooks do nothing */
    unsigned long hooks;   /* hooks run so far: a check is skipped if one ran */
    int persist_ops;       /* persistent injection: ops left before it ends */
    int gc_cbs;            /* gc callbacks registered by the program */
    bool untracked;        /* the program untracked a container (it may leak a cycle) */
    int in_legacy;         /* legacy_del hooks running now */
    bool fin_in_legacy;    /* a finalize was registered inside a legacy_del: it never fires at
                              that death and stays registered until the heap is destroyed, as
                              weakref.finalize registered in CPython's tp_del does */
    long ops;
    unsigned bulk_left;    /* BULK_BUDGET less what the bulk operations made */
} fuzz;

static fuzz *F; /* the program running now (hooks get no other context) */
static bool trace; /* REFHEAP_FUZZ_TRACE=1 (standalone driver): print each step on stderr */
#define TRACE(...) do { if (trace) { fprintf(stderr, "%*s", 2 * F->depth, ""); fprintf(stderr, __VA_ARGS__); } } while (0)

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_api: check failed at %s:%d: %s (err %s: %s)\n", __FILE__, \
                    __LINE__, #cond, rh_error_name(rh_err(F->h)), rh_errmsg(F->h));         \
            abort();                                                                        \
        }                                                                                   \
    } while (0)
/* A NULL / -1 result must come with an error code. */
#define CHECK_ERR() CHECK(rh_err(F->h) != RH_OK)

static uint8_t rd(void) { return F->pos < F->size ? F->data[F->pos++] : 0; }
static bool more(void) { return F->pos < F->size; }

/* ---- roots ---- */

static void root_set(unsigned i, rh_object *o) { /* takes o's reference */
    rh_object *old = F->roots[i];
    TRACE("root[%u] = %s %p (was %p)\n", i, o ? rh_type_name(o) : "NULL", (void *)o, (void *)old);
    F->roots[i] = o;
    rh_xdecref(old);
}
/* A root's object with a new reference for the operation (or NULL). The
 * hook's own object `self`, when there is one, is operand NROOTS. */
static rh_object *operand(rh_object *self) {
    unsigned n = NROOTS + (self ? 1 : 0);
    unsigned i = rd() % n;
    rh_object *o = i == NROOTS ? self : F->roots[i];
    TRACE("operand %u: %s %p\n", i, o ? rh_type_name(o) : "NULL", (void *)o);
    return rh_xnewref(o);
}
static unsigned root_index(void) { return rd() % NROOTS; }

/* Like operand, but the first root (cyclically from the one the byte names;
 * self counts as operand NROOTS) whose type is one of t1..t3: the typed
 * operations find their container without the input having to name exactly
 * the right slot. NULL if no root qualifies. */
static rh_object *operand_of(rh_object *self, const rh_type *t1, const rh_type *t2, const rh_type *t3) {
    unsigned n = NROOTS + (self ? 1 : 0);
    unsigned start = rd() % n;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (start + k) % n;
        rh_object *o = i == NROOTS ? self : F->roots[i];
        if (o && (o->rh_type == t1 || o->rh_type == t2 || o->rh_type == t3)) {
            TRACE("operand %u: %s %p\n", i, rh_type_name(o), (void *)o);
            return rh_newref(o);
        }
    }
    TRACE("operand: no %s\n", t1->name);
    return NULL;
}

static rh_object *pick_class(void) { return F->cls[rd() % NCLASSES]; }

static const char *const NAMES[] = {"a", "b", "c", "d", "x", "__dict__", "zz", "a"};
static const char *attr_name(void) { return NAMES[rd() % 8]; }

/* ---- hooks ---- */

static void run_ops(rh_object *self, int n);

static void hook_program(rh_object *self) {
    if (F == NULL || F->ending || F->depth >= MAX_DEPTH) return;
    F->hooks++;
    int n = rd() % MAX_SUB_OPS;
    TRACE("hook on %s %p: %d ops\n", self ? rh_type_name(self) : "-", (void *)self, n);
    /* The sub-program's errors must not reach the operation it interrupts. */
    rh_error saved = rh_err(F->h);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", rh_errmsg(F->h));
    F->depth++;
    run_ops(self, n);
    F->depth--;
    rh_err_clear(F->h);
    if (saved != RH_OK) rh_err_set(F->h, saved, "%s", msg);
}
static void cls_finalizer(rh_object *self, void *data) { (void)data; hook_program(self); }
static void cls_legacy_del(rh_object *self, void *data) {
    (void)data;
    F->in_legacy++;
    hook_program(self);
    F->in_legacy--;
}
static void wr_callback(rh_object *wr, void *data) { (void)data; hook_program(wr); }
static void fin_fn(void *data) { (void)data; hook_program(NULL); }
static void gc_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h; (void)data;
    if (phase == RH_GC_STOP && F && !F->ending) {
        CHECK(info->collected >= 0 && info->uncollectable >= 0);
        CHECK(info->generation >= 0 && info->generation < RH_GC_GENERATIONS);
    }
    hook_program(NULL);
}
static void quiet_sink(const char *line, void *data) {
    (void)data;
    if (trace) fprintf(stderr, "sink: %s\n", line);
}

/* ---- object creation ---- */

static rh_object *make_object(rh_object *self) {
    rh_heap *h = F->h;
    uint8_t kind = rd() % 20;
    TRACE("make kind %u\n", kind);
    switch (kind) {
    case 0: { int64_t v = (int8_t)rd(); if (rd() & 1) v *= 1000003; return rh_int(h, v); }
    case 1: return rh_float(h, (double)(int8_t)rd() / 3.0);
    case 2: { char buf[8]; unsigned n = rd() % 7; for (unsigned i = 0; i < n; i++) buf[i] = (char)('a' + rd() % 4); buf[n] = 0;
              return rd() & 1 ? rh_str_intern(h, buf) : rh_str(h, buf); }
    case 3: { uint8_t b[40]; unsigned n = rd() % 40; for (unsigned i = 0; i < n; i++) b[i] = (uint8_t)i; return rh_bytes(h, b, n); }
    case 4: { /* tuple of 0..3 roots */
        unsigned n = rd() % 4;
        rh_object *it[3];
        for (unsigned i = 0; i < n; i++) { it[i] = operand(self); if (!it[i]) it[i] = rh_None; }
        rh_object *t = rh_tuple_from(h, it, n);
        if (!t) CHECK_ERR(); else CHECK(rh_tuple_size(t) == n);
        for (unsigned i = 0; i < n; i++) if (it[i] != rh_None) rh_decref(it[i]);
        return t;
    }
    case 5: { unsigned n = rd() % 4; rh_object *l = rh_list_new(h, n); if (l) CHECK(rh_list_size(l) == n); return l; }
    case 6: return rh_dict_new(h);
    case 7: return rh_set_new(h);
    case 8: { unsigned n = rd() % 48; return rh_bytearray(h, NULL, n); }
    case 9: case 10: { /* memoryview of a root, or slice of a view */
        rh_object *src = operand_of(self, &rh_bytes_type, &rh_bytearray_type, &rh_memoryview_type);
        rh_object *r = NULL;
        if (src && (rh_is_type(src, &rh_bytes_type) || rh_is_type(src, &rh_bytearray_type) ||
                    rh_is_type(src, &rh_memoryview_type))) {
            if (kind == 10 && rh_is_type(src, &rh_memoryview_type)) {
                size_t a = rd() % 50, b = rd() % 50;
                r = rh_memoryview_slice(src, a, b);
            } else {
                r = rd() & 1 ? rh_memoryview(src) : rh_memoryview_in(h, src);
            }
            if (!r && rh_heap_of(src)) CHECK_ERR(); /* the static empty bytes has no heap */
        }
        rh_xdecref(src);
        return r;
    }
    case 11: case 12: case 13: { rh_object *r = rh_instance_new(pick_class()); if (!r) CHECK_ERR(); return r; }
    case 14: case 15: { /* weakref with or without callback */
        rh_object *o = operand(self);
        rh_object *r = NULL;
        if (o) {
            r = rh_weakref_new(o, (rd() & 1) ? wr_callback : NULL, NULL);
            if (r) {
                /* alive: the referent is held by this operation */
                rh_object *g = rh_weakref_get(r);
                CHECK(g == o);
                rh_decref(g);
            }
        }
        rh_xdecref(o);
        return r;
    }
    case 16: return rh_weakvaluedict_new(h);
    case 17: return rh_weakkeydict_new(h);
    case 18: return rh_weakset_new(h);
    case 19: { /* weakref.finalize */
        rh_object *o = operand(self);
        rh_object *r = o ? rh_finalize_new(o, fin_fn, NULL) : NULL;
        if (r && F->in_legacy) F->fin_in_legacy = true;
        rh_xdecref(o);
        return r;
    }
    }
    return NULL;
}

/* ---- operations ---- */

static void op_list(rh_object *self) {
    rh_object *l = operand_of(self, &rh_list_type, &rh_list_type, &rh_list_type), *x = operand(self);
    uint8_t sub = rd() % 8;
    if (!l || !rh_is_type(l, &rh_list_type)) goto out;
    rh_object *item = x ? x : rh_None;
    size_t n = rh_list_size(l);
    unsigned long hk = F->hooks;
    switch (sub) {
    case 0: case 1:
        if (rh_list_append(l, item) == 0) { if (hk == F->hooks) CHECK(rh_list_size(l) == n + 1); }
        else CHECK_ERR();
        break;
    case 2: if (rh_list_insert(l, (ptrdiff_t)(int8_t)rd(), item) != 0) CHECK_ERR(); break;
    case 3: { rh_object *p = rh_list_pop(l, (ptrdiff_t)(int8_t)rd() % 4); rh_xdecref(p); break; }
    case 4: { ptrdiff_t i = (ptrdiff_t)(int8_t)rd() % 4;
              if (rh_list_set(l, i, item) == 0 && hk == F->hooks) CHECK(rh_list_get(l, i) == item);
              break; }
    case 5: rh_list_remove(l, item); break;
    case 6: if (rd() & 1) rh_list_clear(l); else rh_list_reverse(l); break;
    case 7: { rh_object *g = rh_list_get(l, (ptrdiff_t)(int8_t)rd() % 4);
              if (g) { rh_incref(g); rh_decref(g); }
              ptrdiff_t ix = rh_list_index(l, item); (void)ix; break; }
    }
out:
    rh_xdecref(l); rh_xdecref(x);
}

static void op_dict(rh_object *self) {
    rh_object *d = operand_of(self, &rh_dict_type, &rh_dict_type, &rh_dict_type);
    rh_object *k = operand(self), *v = operand(self);
    uint8_t sub = rd() % 8;
    if (!d || !rh_is_type(d, &rh_dict_type)) goto out;
    rh_object *key = k ? k : rh_None, *val = v ? v : rh_None;
    unsigned long hk = F->hooks;
    switch (sub) {
    case 0: case 1:
        if (rh_dict_set(d, key, val) == 0) {
            if (hk == F->hooks) {
                rh_object *g = rh_dict_get(d, key);
                if (hk == F->hooks) CHECK(g == val || rh_err(F->h) != RH_OK);
            }
        } else CHECK_ERR();
        break;
    case 2: if (rh_dict_del(d, key) != 0) CHECK_ERR(); break;
    case 3: rh_dict_contains(d, key); break;
    case 4: { rh_object *r = rh_dict_set_str(d, attr_name(), val) == 0 ? rh_dict_get_str(d, "a") : NULL; (void)r; break; }
    case 5: rh_dict_clear(d); break;
    case 6: { rh_object *ks = rh_dict_keys(d); if (ks) root_set(root_index(), ks); else CHECK_ERR(); break; }
    case 7: { size_t pos = 0, cnt = 0; rh_object *kk, *vv;
              size_t n = rh_dict_size(d);
              while (rh_dict_next(d, &pos, &kk, &vv)) cnt++;
              CHECK(cnt == n); break; }
    }
out:
    rh_xdecref(d); rh_xdecref(k); rh_xdecref(v);
}

static void op_set(rh_object *self) {
    rh_object *s = operand_of(self, &rh_set_type, &rh_set_type, &rh_set_type), *k = operand(self);
    uint8_t sub = rd() % 5;
    if (!s || !rh_is_type(s, &rh_set_type)) goto out;
    rh_object *key = k ? k : rh_None;
    unsigned long hk = F->hooks;
    switch (sub) {
    case 0: case 1:
        if (rh_set_add(s, key) == 0) { if (hk == F->hooks) CHECK(rh_set_contains(s, key) == 1 || hk != F->hooks); }
        else CHECK_ERR();
        break;
    case 2: if (rh_set_discard(s, key) < 0) CHECK_ERR(); break;
    case 3: rh_set_clear(s); break;
    case 4: { size_t pos = 0, cnt = 0; rh_object *kk; size_t n = rh_set_size(s);
              while (rh_set_next(s, &pos, &kk)) cnt++;
              CHECK(cnt == n); break; }
    }
out:
    rh_xdecref(s); rh_xdecref(k);
}

static void op_attr(rh_object *self) {
    rh_object *o = operand(self), *v = operand(self);
    const char *name = attr_name();
    uint8_t sub = rd() % 5;
    /* The static immortals (None, small ints...) belong to no heap: their
     * errors have nowhere to go. */
    if (!o || !rh_heap_of(o)) goto out;
    unsigned long hk = F->hooks;
    switch (sub) {
    case 0: case 1:
        if (rh_setattr(o, name, v ? v : rh_None) == 0) {
            rh_object *g = rh_getattr(o, name);
            if (hk == F->hooks) CHECK(g == (v ? v : rh_None) || (!g && rh_err(F->h) != RH_OK));
            rh_xdecref(g);
        } else CHECK_ERR();
        break;
    case 2: if (rh_delattr(o, name) != 0) CHECK_ERR(); break;
    case 3: { rh_object *g = rh_getattr(o, name); if (g) root_set(root_index(), g); rh_hasattr(o, name); break; }
    case 4: { rh_object *vd = rh_vars(o); if (vd) root_set(root_index(), vd); break; }
    }
out:
    rh_xdecref(o); rh_xdecref(v);
}

static void op_weakdict(rh_object *self) {
    rh_object *d = operand_of(self, &rh_weakvaluedict_type, &rh_weakkeydict_type, &rh_weakset_type);
    rh_object *k = operand(self), *v = operand(self);
    uint8_t sub = rd() % 4;
    if (!d) goto out;
    rh_object *key = k ? k : rh_None, *val = v ? v : rh_None;
    if (rh_is_type(d, &rh_weakvaluedict_type)) {
        switch (sub) {
        case 0: case 1: if (rh_weakvaluedict_set(d, key, val) != 0) CHECK_ERR(); break;
        case 2: { rh_object *g = rh_weakvaluedict_get(d, key); if (g) root_set(root_index(), g); break; }
        case 3: if (rh_weakvaluedict_del(d, key) != 0) CHECK_ERR(); break;
        }
        (void)rh_weakvaluedict_size(d);
    } else if (rh_is_type(d, &rh_weakkeydict_type)) {
        switch (sub) {
        case 0: case 1: if (rh_weakkeydict_set(d, key, val) != 0) CHECK_ERR(); break;
        case 2: { rh_object *g = rh_weakkeydict_get(d, key); if (g) root_set(root_index(), g); break; }
        case 3: if (rh_weakkeydict_del(d, key) != 0) CHECK_ERR(); break;
        }
        (void)rh_weakkeydict_size(d);
    } else if (rh_is_type(d, &rh_weakset_type)) {
        switch (sub) {
        case 0: case 1: if (rh_weakset_add(d, key) != 0) CHECK_ERR(); break;
        case 2: if (rh_weakset_contains(d, key) < 0) CHECK_ERR(); break;
        case 3: if (rh_weakset_discard(d, key) < 0) CHECK_ERR(); break;
        }
        (void)rh_weakset_size(d);
    }
out:
    rh_xdecref(d); rh_xdecref(k); rh_xdecref(v);
}

static void op_weakiter(rh_object *self) {
    rh_object *c = operand_of(self, &rh_weakvaluedict_type, &rh_weakkeydict_type, &rh_weakset_type);
    if (!c || !(rh_is_type(c, &rh_weakvaluedict_type) || rh_is_type(c, &rh_weakkeydict_type) ||
                rh_is_type(c, &rh_weakset_type))) { rh_xdecref(c); return; }
    rh_weakiter it;
    rh_weakiter_begin(&it, c);
    unsigned steps = rd() % 6;
    for (unsigned i = 0; i < steps; i++) {
        rh_object *k = NULL, *v = NULL;
        if (!rh_weakiter_next(&it, &k, &v)) break;
        CHECK(k != NULL);
        if (rd() & 1) root_set(root_index(), rh_newref(k));
        rh_decref(k);
        rh_xdecref(v);
        if (rd() % 4 == 0) hook_program(c); /* mutate the graph mid-iteration */
    }
    rh_weakiter_end(&it);
    rh_weakiter_end(&it); /* harmless after the end */
    rh_decref(c);
}

static void op_weakref(rh_object *self) {
    uint8_t sub = rd() % 5;
    rh_object *o = sub == 2 ? operand_of(self, &rh_weakref_type, &rh_weakref_type, &rh_weakref_type)
                 : sub == 3 ? operand_of(self, &rh_finalize_type, &rh_finalize_type, &rh_finalize_type)
                 : operand(self);
    if (!o) return;
    switch (sub) {
    case 0: { unsigned long hk = F->hooks;
              rh_object *l = rh_weakref_list(o);
              if (l) { if (hk == F->hooks) CHECK(rh_list_size(l) == rh_weakref_count(o));
                       root_set(root_index(), l); }
              break; }
    case 1: (void)rh_weakref_count(o); break;
    case 2: if (rh_is_type(o, &rh_weakref_type)) { bool alive = rh_weakref_alive(o);
                rh_object *g = rh_weakref_get(o);
                CHECK((g != NULL) == alive);
                if (g) root_set(root_index(), g); } break;
    case 3: if (rh_is_type(o, &rh_finalize_type)) {
                rh_finalize_fn fn; void *d;
                switch (rd() % 3) {
                case 0: (void)rh_finalize_call(o); break;
                case 1: { rh_object *r = rh_finalize_detach(o, &fn, &d); if (r) { CHECK(fn == fin_fn); root_set(root_index(), r); } break; }
                case 2: { rh_object *r = rh_finalize_peek(o, &fn, &d); if (r) root_set(root_index(), r); break; }
                }
                (void)rh_finalize_alive(o);
            } break;
    case 4: { rh_hash_t hv = rh_hash(o); if (hv == -1) CHECK_ERR(); break; }
    }
    rh_decref(o);
}

static void op_buffer(rh_object *self) {
    rh_object *o = operand_of(self, &rh_bytearray_type, &rh_memoryview_type, &rh_memoryview_type);
    if (!o) return;
    unsigned long hk = F->hooks;
    if (rh_is_type(o, &rh_bytearray_type)) {
        size_t n = rd() % 64;
        if (rd() & 1) {
            if (rh_bytearray_resize(o, n) == 0) { if (hk == F->hooks) CHECK(rh_bytearray_len(o) == n); }
            else CHECK_ERR();
        } else {
            size_t old = rh_bytearray_len(o);
            uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
            if (rh_bytearray_extend(o, b, n % 8) == 0) { if (hk == F->hooks) CHECK(rh_bytearray_len(o) == old + n % 8); }
            else CHECK_ERR();
        }
        uint8_t *p = rh_bytearray_data(o);
        size_t len = rh_bytearray_len(o);
        if (len) { CHECK(p != NULL); p[len - 1] ^= 1; }
    } else if (rh_is_type(o, &rh_memoryview_type)) {
        switch (rd() % 3) {
        case 0: rh_memoryview_release(o); break;
        case 1: { rh_object *b = rh_memoryview_tobytes(o); if (b) root_set(root_index(), b); else CHECK_ERR(); break; }
        case 2: { const uint8_t *p = rh_memoryview_data(o); size_t len = rh_memoryview_len(o);
                  unsigned sum = 0;
                  if (p) for (size_t i = 0; i < len; i++) sum += p[i];
                  CHECK(sum <= 255u * len); /* reads every byte of the view */
                  uint8_t *m = rh_memoryview_mutable_data(o);
                  if (m && len) m[0] ^= 1;
                  (void)rh_memoryview_readonly(o); break; }
        }
    }
    rh_decref(o);
}

/* What one rh_repr costs the harness may bound, as BULK_BUDGET bounds
 * what the bulk operations make: the repr of a list, tuple, dict or set
 * visits every element, a shared one once for each reference to it (as
 * CPython's repr does), so a few bulk lists each holding another one
 * hundreds of times cost the product of their lengths (a timeout: three
 * such levels took 2 minutes). repr_visits counts those visits in the
 * same order, an object already on the path standing for itself (the
 * repr's guard) and nothing below RH__REPR_MAX_DEPTH's 1000 levels (where
 * the repr fails), and stops at `left`: 0 means too costly. */
#define REPR_VISITS 200000u
#define REPR_DEPTH 1000u /* RH__REPR_MAX_DEPTH */
static rh_object *repr_path[REPR_DEPTH];
static size_t repr_visits(rh_object *o, size_t left, unsigned depth) {
    if (left == 0) return 0;
    left--;
    bool list = rh_is_type(o, &rh_list_type), tuple = rh_is_type(o, &rh_tuple_type);
    bool dict = rh_is_type(o, &rh_dict_type), set = rh_is_type(o, &rh_set_type);
    if (!(list || tuple || dict || set) || depth >= REPR_DEPTH) return left;
    for (unsigned i = 0; i < depth; i++)
        if (repr_path[i] == o) return left;
    repr_path[depth] = o;
    size_t pos = 0;
    rh_object *k, *v;
    if (list || tuple) {
        size_t n = list ? rh_list_size(o) : rh_tuple_size(o);
        for (size_t i = 0; i < n && left; i++) {
            rh_object *e = list ? rh_list_get(o, (ptrdiff_t)i) : rh_tuple_get(o, i);
            if (e) left = repr_visits(e, left, depth + 1);
        }
    } else if (dict) {
        while (left && rh_dict_next(o, &pos, &k, &v)) {
            left = repr_visits(k, left, depth + 1);
            left = repr_visits(v, left, depth + 1);
        }
    } else {
        while (left && rh_set_next(o, &pos, &k)) left = repr_visits(k, left, depth + 1);
    }
    return left;
}

static void op_misc(rh_object *self) {
    rh_object *a = operand(self), *b = operand(self);
    rh_heap *h = F->h;
    switch (rd() % 8) {
    case 0: if (a && b) { rh_object *r = rh_str_concat(h, a, b); if (r) root_set(root_index(), r); } break;
    case 1: if (a && b) { rh_object *r;
                switch (rd() % 4) { case 0: r = rh_int_add(h, a, b); break; case 1: r = rh_int_sub(h, a, b); break;
                                    case 2: r = rh_int_mul(h, a, b); break; default: r = rh_int_floordiv(h, a, b); }
                if (r) root_set(root_index(), r); } break;
    case 2: if (a && repr_visits(a, REPR_VISITS, 0) > 0) {
                char buf[64]; int n = rh_repr(a, buf, sizeof buf); if (n < 0) CHECK_ERR(); } break;
    case 3: if (a && b) (void)rh_equal(a, b); break;
    case 4: if (a) (void)rh_sizeof(a); break;
    case 5: if (a) (void)rh_hash(a); break;
    case 6: if (a) { rh_object *r = rh_str_printf(h, "%s-%d", rh_type_name(a), (int)rd()); if (r) root_set(root_index(), r); } break;
    case 7: if (a) { /* track / untrack a container the program holds */
                if (rh_gc_is_tracked(a)) { rh_gc_untrack(a); F->untracked = true; }
                else if ((rh_type_of(a)->flags & RH_TYPE_GC) && rh_heap_of(a)) rh_gc_track(a);
            } break;
    }
    rh_xdecref(a); rh_xdecref(b);
}

static void op_gc(rh_object *self) {
    rh_heap *h = F->h;
    switch (rd() % 14) {
    case 0: case 1: case 2: {
        int gen = rd() % 3;
        intptr_t n = rh_gc_collect(h, gen);
        CHECK(n >= 0);
        break;
    }
    case 3: { long t0 = rd() % 6, t1 = 1 + rd() % 3, t2 = 1 + rd() % 3;
              rh_gc_set_threshold(h, t0, t1, t2);
              long t[3]; rh_gc_get_threshold(h, t); CHECK(t[0] == t0); break; }
    case 4: rh_gc_set_threshold(h, 700, 10, 10); break;
    case 5: if (rd() & 1) rh_gc_freeze(h); else rh_gc_unfreeze(h); (void)rh_gc_get_freeze_count(h); break;
    case 6:
        if (rd() & 1) { if (F->gc_cbs < 3 && rh_gc_callback_add(h, gc_cb, NULL) == 0) F->gc_cbs++; }
        else if (F->gc_cbs > 0 && rh_gc_callback_remove(h, gc_cb, NULL) == 0) F->gc_cbs--;
        break;
    case 7: if (rd() & 1) { rh_gc_enable(h); CHECK(rh_gc_isenabled(h)); } else { rh_gc_disable(h); CHECK(!rh_gc_isenabled(h)); } break;
    case 8: { unsigned fl = 0; uint8_t b = rd();
              if (b & 1) fl |= RH_GC_DEBUG_SAVEALL;
              if (b & 2) fl |= RH_GC_DEBUG_STATS;
              if (b & 4) fl |= RH_GC_DEBUG_COLLECTABLE | RH_GC_DEBUG_UNCOLLECTABLE;
              if (b & 8) fl |= RH_GC_DEBUG_VERIFY;
              rh_gc_set_debug(h, fl); CHECK(rh_gc_get_debug(h) == fl); break; }
    case 9: { rh_object *g = rh_gc_garbage(h);
              if (g) { if (rd() & 1) rh_list_clear(g);
                       else if (rh_list_size(g)) root_set(root_index(), rh_list_pop(g, -1)); }
              break; }
    case 10: { int gen = (int)(rd() % 4) - 1; rh_object *l = rh_gc_get_objects(h, gen);
               if (l) root_set(root_index(), l); else CHECK_ERR(); break; }
    case 11: { rh_object *o = operand(self);
               if (o) { rh_object *l = rd() & 1 ? rh_gc_get_referrers(h, &o, 1) : rh_gc_get_referents(h, &o, 1);
                        if (l) root_set(root_index(), l); else CHECK_ERR();
                        rh_decref(o); }
               break; }
    case 12: { long c[3]; rh_gc_get_count(h, c); rh_gc_genstats s[3]; rh_gc_get_stats(h, s); break; }
    case 13: if (F->depth == 0 && F->persist_ops == 0 && !F->untracked) { /* an untracked container holding one is reported */ size_t bad = rh_gc_verify(h); CHECK(bad == 0); } break;
    }
}

/* Up to n objects of the program's BULK_BUDGET: how many it may make. */
static unsigned take_bulk(unsigned n) {
    if (n > F->bulk_left) n = F->bulk_left;
    F->bulk_left -= n;
    return n;
}

/* Bulk: many items into a list, set or dict (resizes, hash tables that grow). */
static void op_bulk(rh_object *self) {
    rh_object *c = operand_of(self, &rh_list_type, &rh_set_type, &rh_dict_type);
    unsigned n = 1 + rd() % 64u * (1 + rd() % 8u);
    if (!c) return;
    n = take_bulk(n);
    rh_object *v = operand(self);
    unsigned long hk = F->hooks;
    size_t before = rh_is_type(c, &rh_list_type) ? rh_list_size(c)
                  : rh_is_type(c, &rh_set_type) ? rh_set_size(c) : rh_dict_size(c);
    bool ok = true;
    for (unsigned i = 0; i < n && ok; i++) {
        rh_object *k = rh_int(F->h, 1000 + (int64_t)i);
        if (!k) { CHECK_ERR(); ok = false; break; }
        int r = rh_is_type(c, &rh_list_type) ? rh_list_append(c, v ? v : k)
              : rh_is_type(c, &rh_set_type) ? rh_set_add(c, k)
              : rh_dict_set(c, k, v ? v : k);
        if (r != 0) { CHECK_ERR(); ok = false; }
        rh_decref(k);
    }
    if (ok && hk == F->hooks && rh_is_type(c, &rh_list_type)) CHECK(rh_list_size(c) == before + n);
    if (ok && hk == F->hooks && !rh_is_type(c, &rh_list_type)) {
        size_t after = rh_is_type(c, &rh_set_type) ? rh_set_size(c) : rh_dict_size(c);
        CHECK(after >= n && after <= before + n);
    }
    rh_xdecref(v);
    rh_decref(c);
}

/* A chain of nested lists (or instances), up to ~2000 deep, whose bottom
 * holds an operand: its death exercises the deferred (trashcan) freeing. */
static void op_chain(rh_object *self) {
    unsigned depth = 1 + rd() * 8u;
    depth = take_bulk(depth);
    bool inst = rd() & 1;
    rh_object *cls = pick_class();
    unsigned slot = root_index();
    rh_object *cur = operand(self);
    for (unsigned i = 0; i < depth; i++) {
        rh_object *n;
        if (inst) {
            n = rh_instance_new(cls);
            if (n && cur && rh_setattr(n, "a", cur) != 0) CHECK_ERR();
        } else {
            n = rh_list_new(F->h, 0);
            if (n && cur && rh_list_append(n, cur) != 0) CHECK_ERR();
        }
        rh_xdecref(cur);
        cur = n;
        if (!cur) { CHECK_ERR(); break; }
    }
    if (cur) root_set(slot, cur);
}

/* Introspection and raw memory: accessors must agree with what they describe. */
static void op_inspect(rh_object *self) {
    rh_heap *h = F->h;
    rh_object *o = operand(self);
    switch (rd() % 6) {
    case 0: { rh_heap_stats st; rh_heap_stats_get(h, &st);
              CHECK(st.mode == rh_heap_mode(h));
              CHECK(st.bytes_in_use <= st.bytes_mapped + st.large_bytes || rh_heap_mode(h) != RH_MODE_POOLS);
              (void)rh_heap_alloc_count(h); break; }
    case 1: { size_t n = (size_t)rd() * (rd() & 1 ? 1 : 40);
              uint8_t *p = rh_malloc(h, n);
              if (!p) { CHECK_ERR(); break; }
              CHECK(rh_usable_size(h, p) >= n);
              CHECK(rh_heap_of(p) == h);
              (void)rh_is_pool_block(h, p);
              memset(p, 0xab, n);
              uint8_t *q = rh_realloc(h, p, n * 2 + 1);
              if (q) { CHECK(n == 0 || q[n - 1] == 0xab); p = q; } else CHECK_ERR();
              rh_free(h, p);
              break; }
    case 2: if (o && rh_is_type(o, &rh_str_type)) {
                CHECK(rh_str_len(o) <= rh_str_nbytes(o));
                CHECK(rh_str_eq_cstr(o, rh_str_cstr(o)) == 1);
                (void)rh_str_is_interned(o);
            } break;
    case 3: if (o && rh_is_type(o, &rh_tuple_type)) {
                size_t n = rh_tuple_size(o);
                for (size_t i = 0; i < n; i++) CHECK(rh_tuple_get(o, i) != NULL);
                CHECK(rh_tuple_get(o, n) == NULL);
            } else {
                rh_object *t = rh_tuple_pack(h, 2, o ? o : rh_None, rh_None);
                if (t) { CHECK(rh_tuple_get(t, 0) == (o ? o : rh_None)); root_set(root_index(), t); }
                else CHECK_ERR();
            } break;
    case 4: if (o && rh_is_instance(o)) {
                rh_object *c = rh_instance_class(o);
                CHECK(c != NULL && rh_class_name(c) != NULL);
                (void)rh_gc_is_finalized(o);
                (void)rh_sizeof(o);
            } break;
    case 5: { rh_object *t = rh_tuple_new(h, 2);
              if (!t) { CHECK_ERR(); break; }
              rh_object *a = rh_int(h, 123456789);
              if (a) rh_tuple_set_steal(t, 0, a);
              if (o) rh_tuple_set_steal(t, 1, rh_newref(o));
              root_set(root_index(), t);
              break; }
    }
    rh_xdecref(o);
}

static void op_fault(void) {
    uint8_t b = rd();
    if (b & 0x80) { rh_heap_fail_after(F->h, 0, false); F->persist_ops = 0; return; }
    bool persistent = b & 1;
    rh_heap_fail_after(F->h, 1 + (b >> 1) % 24, persistent);
    F->persist_ops = persistent ? 1 + rd() % 3 : 0;
}

static void run_op(rh_object *self) {
    rh_err_clear(F->h);
    size_t at = F->pos;
    /* Opcodes 0-239 name the 24 first operations (byte % 24); 240-255 the
     * later ones, so that inputs written before they existed keep their
     * meaning. */
    uint8_t b = rd();
    uint8_t op = b < 240 ? b % 24 : (uint8_t)(24 + (b - 240) % 3);
    TRACE("op %u at byte %zu\n", op, at);
    switch (op) {
    case 24: op_bulk(self); break;
    case 25: op_chain(self); break;
    case 26: op_inspect(self); break;
    case 0: case 1: case 2: case 3: case 4: {
        unsigned i = root_index();
        rh_object *o = make_object(self);
        if (o) root_set(i, o);
        break;
    }
    case 5: case 6: op_list(self); break;
    case 7: op_dict(self); break;
    case 8: op_set(self); break;
    case 9: case 10: op_attr(self); break;
    case 11: op_weakdict(self); break;
    case 12: op_weakiter(self); break;
    case 13: op_weakref(self); break;
    case 14: op_buffer(self); break;
    case 15: op_misc(self); break;
    case 16: case 17: op_gc(self); break;
    case 18: { unsigned i = root_index(); root_set(i, operand(self)); break; }      /* copy / store self */
    case 19: { unsigned i = root_index(), j = root_index();                          /* move */
               rh_object *o = F->roots[i]; F->roots[i] = NULL; root_set(j, o); break; }
    case 20: case 21: root_set(root_index(), NULL); break;                          /* drop */
    case 22: op_fault(); break;
    case 23: { unsigned i = root_index();                                            /* instance in a cycle */
               rh_object *o = rh_instance_new(pick_class());
               if (o) { rh_setattr(o, "a", o); root_set(i, o); } else CHECK_ERR();
               break; }
    }
    if (F->persist_ops > 0 && --F->persist_ops == 0) rh_heap_fail_after(F->h, 0, false);
}

static void run_ops(rh_object *self, int n) {
    for (int i = 0; i < n && more() && F->ops < MAX_OPS; i++) {
        F->ops++;
        run_op(self);
    }
}

/* ---- one program ---- */

static int fuzz_one(const uint8_t *data, size_t size) {
    fuzz st;
    memset(&st, 0, sizeof st);
    st.data = data;
    st.size = size;
    st.bulk_left = BULK_BUDGET;
    F = &st;
    static const rh_mode modes[3] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};
    rh_heap_config cfg = {.mode = modes[rd() % 3]};
    st.h = rh_heap_new(&cfg);
    if (!st.h) { F = NULL; return 0; }
    rh_gc_set_sink(st.h, quiet_sink, NULL);
    uint8_t th = rd();
    if (th & 1) rh_gc_set_threshold(st.h, 1 + (th >> 1) % 8, 1 + (th >> 4) % 3, 1 + (th >> 6) % 3);

    static const char *const slots[] = {"a", "b", "c"};
    rh_class_spec specs[NCLASSES] = {
        {.name = "Plain", .weakrefable = true},
        {.name = "WithDel", .weakrefable = true, .finalizer = cls_finalizer},
        {.name = "Legacy", .weakrefable = true, .legacy_del = cls_legacy_del},
        {.name = "Slotted", .slots = slots, .nslots = 3, .weakrefable = true},
        {.name = "SlottedDel", .slots = slots, .nslots = 3, .finalizer = cls_finalizer},
        {.name = "NoWeak", .no_weakref = true},
    };
    for (int i = 0; i < NCLASSES; i++) {
        st.cls[i] = rh_class_new(st.h, &specs[i]);
        CHECK(st.cls[i] != NULL);
    }

    while (more() && st.ops < MAX_OPS) {
        st.ops++;
        run_op(NULL);
    }

    /* Teardown: no injection, no hooks, drop everything, destroy. */
    rh_heap_fail_after(st.h, 0, false);
    rh_gc_set_debug(st.h, 0);
    st.ending = true;
    for (int i = 0; i < NROOTS; i++) root_set((unsigned)i, NULL);
    rh_object *g = rh_gc_garbage(st.h);
    if (g) rh_list_clear(g);
    for (int i = 0; i < NCLASSES; i++) RH_CLEAR(st.cls[i]);
    /* Nothing is referenced from outside any more. Unless the program
     * untracked a container itself, a full collection must leave no tracked
     * object but what the uncollectable garbage keeps alive. LeakSanitizer
     * cannot see such a leak: rh_heap_destroy frees every block. */
    rh_gc_unfreeze(st.h);
    rh_gc_genstats s0[RH_GC_GENERATIONS], s1[RH_GC_GENERATIONS];
    rh_gc_get_stats(st.h, s0);
    intptr_t found = rh_gc_collect(st.h, 2);
    rh_gc_get_stats(st.h, s1);
    uint64_t uncollectable = s1[2].uncollectable - s0[2].uncollectable;
    g = rh_gc_garbage(st.h);
    TRACE("teardown: collect(2) = %ld (%" PRIu64 " uncollectable), gc.garbage %zu\n", (long)found,
          uncollectable, g ? rh_list_size(g) : 0);
    if (g && rh_list_size(g) == 0 && !st.untracked && !st.fin_in_legacy) {
        rh_object *all = rh_gc_get_objects(st.h, -1);
        CHECK(all != NULL);
        if (rh_list_remove(all, g) != 0) rh_err_clear(st.h); /* gc.garbage itself is a tracked list */
        if (uncollectable != 0) {
            /* The collection found garbage reachable from an object with
             * legacy_del (uncollectable), but clearing the rest of the garbage
             * dropped the last reference to that object: it died (out of
             * gc.garbage), and what it reached stays, counted as uncollectable,
             * until the next collection. CPython 3.11 does the same
             * (gc_collect_main: "It may also cause some objects in finalizers
             * to be freed"; its uncollectable count is taken after
             * delete_garbage): with _testcapi.with_tp_del, `p.a = p; b.a = p;
             * L = [p, b, L]` dropped leaves p alive after one gc.collect(2),
             * gc.garbage empty, and the next collect frees it. So exactly
             * those objects may be left, and a second full collection must
             * free them all. */
            CHECK(rh_list_size(all) == uncollectable);
            rh_decref(all);
            found = rh_gc_collect(st.h, 2);
            TRACE("teardown: second collect(2) = %ld, gc.garbage %zu\n", (long)found, rh_list_size(g));
            CHECK(rh_list_size(g) == 0);
            all = rh_gc_get_objects(st.h, -1);
            CHECK(all != NULL);
            if (rh_list_remove(all, g) != 0) rh_err_clear(st.h);
        }
        if (rh_list_size(all) != 0) {
            fprintf(stderr, "fuzz_api: %zu objects alive after the last root was dropped:", rh_list_size(all));
            for (size_t i = 0; i < rh_list_size(all) && i < 8; i++) {
                rh_object *o = rh_list_get(all, (ptrdiff_t)i);
                fprintf(stderr, " %s %p (refcnt %u)", rh_type_name(o), (void *)o, (unsigned)rh_refcount(o) - 1u);
            }
            fprintf(stderr, "; gc.garbage is %p\n", (void *)g);
        }
        CHECK(rh_list_size(all) == 0);
        rh_decref(all);
    }
    rh_heap_destroy(st.h);
    F = NULL;
    return 0;
}

#ifdef RH_FUZZ_LIBFUZZER

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_one(data, size); }

#else

static uint64_t rng_state;
static uint64_t rng(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static long replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return -1; }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    fuzz_one(buf, n);
    free(buf);
    return 1;
}

static long replay_path(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) { perror(path); return -1; }
    if (!S_ISDIR(sb.st_mode)) return replay_file(path);
    DIR *d = opendir(path);
    if (!d) { perror(path); return -1; }
    long count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ., .., hidden files (README, .gitkeep) */
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        long r = replay_file(full);
        if (r < 0) { closedir(d); return -1; }
        count += r;
    }
    closedir(d);
    return count;
}

static long env_long(const char *name, long dflt) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 0) : dflt;
}

/* Usage: fuzz_api_standalone [FILE|DIR]...
 *   REFHEAP_FUZZ_TRACE=1 prints every operation, operand and hook.
 *   replays each file (each regular file of each directory) as one input,
 *   then runs REFHEAP_FUZZ_ITERS random programs (default 1500, 300
 *   under the sanitizers, 150 when REFHEAP_TEST_UNDER_VALGRIND is set) of up to REFHEAP_FUZZ_MAXLEN bytes
 *   (default 2048) from REFHEAP_FUZZ_SEED (default 1). A failure aborts with
 *   the iteration number; REFHEAP_FUZZ_DUMP=file writes each input to `file`
 *   before running it, so the crashing one is left there. */
int main(int argc, char **argv) {
    long replayed = 0;
    trace = env_long("REFHEAP_FUZZ_TRACE", 0) != 0;
    for (int i = 1; i < argc; i++) {
        long r = replay_path(argv[i]);
        if (r < 0) return 2;
        replayed += r;
    }
    const char *vg = getenv("REFHEAP_TEST_UNDER_VALGRIND");
    bool under_vg = vg && *vg && strcmp(vg, "0") != 0;
#if defined(RH_SANITIZE)
    long dflt = 300; /* ASan + UBSan run ~5x slower */
#else
    long dflt = 1500; /* ~15-30 ms a program: the ctest entry takes 20-40 s */
#endif
    long iters = env_long("REFHEAP_FUZZ_ITERS", under_vg ? 150 : dflt);
    long maxlen = env_long("REFHEAP_FUZZ_MAXLEN", 2048);
    uint64_t seed = (uint64_t)env_long("REFHEAP_FUZZ_SEED", 1);
    const char *dump = getenv("REFHEAP_FUZZ_DUMP");
    if (maxlen < 1) maxlen = 1;
    uint8_t *buf = malloc((size_t)maxlen);
    if (!buf) return 2;
    for (long it = 0; it < iters; it++) {
        rng_state = (seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(it + 1) * 0xD1B54A32D192ED03ull;
        if (!rng_state) rng_state = 1;
        size_t n = 1 + (size_t)(rng() % (uint64_t)maxlen);
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(rng() >> 56);
        if (dump) {
            FILE *f = fopen(dump, "wb");
            if (f) { fwrite(buf, 1, n, f); fclose(f); }
        }
        fuzz_one(buf, n);
    }
    free(buf);
    printf("fuzz_api: %ld inputs replayed, %ld random programs (seed %" PRIu64 ", max %ld bytes)\n",
           replayed, iters, seed, maxlen);
    return 0;
}

#endif
