/*
 * objects.c — refpy's own object types, exceptions, and the generic
 * operations of the object model.
 *
 * Built-in values are refheap's objects (int, float, str, bytes, tuple, list,
 * dict, set, bytearray, memoryview, weakref, ...). What refheap does not
 * provide is defined here through rh_type, so the collector sees it:
 * functions (a container: globals, defaults, closure), cells, classes (a
 * container: namespace dict, base, and the refheap class of the instances),
 * modules, bound methods, built-in functions and methods, slices, ranges,
 * iterators, super objects and properties. Each has traverse/clear/destroy as
 * its references require; the ones that may form cycles are tracked.
 *
 * Classes. A `class` statement makes a Class object and a refheap class
 * (rh_class_new) for its instances: instances are refheap's plain or slotted
 * instances, so two instances pointing at each other are exactly two objects
 * for the collector, as in CPython 3.11. The Class keeps the refheap class;
 * refheap instances keep only the refheap class, so the interpreter keeps a
 * reference to every Class in its class table (rhcls -> Class) for as long as
 * the program runs: a class outlives its instances. (With a destroy hook for
 * instances in refheap's API, each instance could own a reference to its
 * Class instead and classes could die; see docs/refpy.md.) `__del__` is the
 * refheap class's finalizer (PEP 442 semantics); `_testcapi.with_tp_del`
 * remakes the refheap class with a legacy finalizer.
 *
 * Instantiation mirrors type.__call__: the arguments are packed in a tuple
 * that lives while __init__ runs (and, with keywords, unpacked again into a
 * second array), so reference counts seen inside __init__ are CPython's.
 *
 * The built-in types are Class objects too (made immortal) whose namespace
 * holds method descriptors: Builtin objects with is_method set, called with
 * the receiver first. A method call `o.m(...)` finds the descriptor or the
 * function in the class and calls it without making a bound method.
 *
 * Exceptions are instances of exception classes (refheap instances with an
 * `args` attribute). The current exception is one owned reference plus a
 * traceback list of (function, line) entries, innermost first, printed in
 * CPython's format (the source lines are read back from the file).
 */
#include "ast.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rh_heap *H;
O *py_exc[EX_COUNT];
Class *C_object, *C_int, *C_float, *C_str, *C_bool, *C_none, *C_list, *C_tuple, *C_dict, *C_set, *C_bytes,
    *C_bytearray, *C_memoryview, *C_type, *C_function, *C_range, *C_weakref, *C_slice, *C_frozenset;

/* ---------------------------------------------------------------------------
 * Exceptions
 * ------------------------------------------------------------------------- */
typedef struct TBEntry { const char *func; int line; const char *file; } TBEntry;
struct TB { TBEntry *v; int n, cap; };
static O *cur_exc;
static TB cur_tb;

bool py_err_occurred(void) { return cur_exc != NULL; }

void py_err_clear(void) {
    RH_CLEAR(cur_exc);
    cur_tb.n = 0;
}

void py_raise_obj(O *exc) {
    RH_SETREF(cur_exc, rh_newref(exc));
    cur_tb.n = 0;
}

O *py_raise(int ex, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rh_err_clear(H);
    O *msg = rh_str(H, buf);
    O *e = msg ? call1(py_exc[ex], msg) : NULL;
    rh_xdecref(msg);
    if (e) {
        py_raise_obj(e);
        rh_decref(e);
    } else if (!cur_exc) {
        fprintf(stderr, "refpy: fatal: cannot create exception: %s\n", buf);
        exit(2);
    }
    return NULL;
}

O *py_from_rh(void) {
    rh_error e = rh_err(H);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", rh_errmsg(H));
    rh_err_clear(H);
    int ex;
    switch (e) {
    case RH_ENOMEM: ex = EX_MemoryError; break;
    case RH_EOVERFLOW: ex = EX_OverflowError; break;
    case RH_ETYPE: ex = EX_TypeError; break;
    case RH_EKEY: ex = EX_KeyError; break;
    case RH_EINDEX: ex = EX_IndexError; break;
    case RH_EVALUE: ex = EX_ValueError; break;
    case RH_EATTR: ex = EX_AttributeError; break;
    case RH_EBUFFER: ex = EX_BufferError; break;
    case RH_EWEAKREF: ex = EX_TypeError; break;
    case RH_ESTATE: ex = EX_RuntimeError; break;
    case RH_EZERODIV: ex = EX_ZeroDivisionError; break;
    default:
        if (cur_exc) return NULL;
        ex = EX_RuntimeError;
        snprintf(msg, sizeof msg, "internal error");
    }
    return py_raise(ex, "%s", msg);
}

bool py_err_matches(O *cls) {
    if (!cur_exc) return false;
    return isinstance_of(cur_exc, (Class *)cls);
}

O *py_err_fetch(void) {
    O *e = cur_exc;
    cur_exc = NULL;
    return e;
}

void py_tb_add(const char *func, int line) {
    if (cur_tb.n == cur_tb.cap) {
        cur_tb.cap = cur_tb.cap ? cur_tb.cap * 2 : 16;
        cur_tb.v = realloc(cur_tb.v, (size_t)cur_tb.cap * sizeof(TBEntry));
        if (!cur_tb.v) abort();
    }
    cur_tb.v[cur_tb.n++] = (TBEntry){func, line, current_file};
}

TB *py_tb_take(void) {
    TB *t = malloc(sizeof(TB));
    if (!t) abort();
    *t = cur_tb;
    memset(&cur_tb, 0, sizeof cur_tb);
    return t;
}
void py_tb_restore(TB *tb) {
    if (!tb) return;
    free(cur_tb.v);
    cur_tb = *tb;
    free(tb);
}
void py_tb_free(TB *tb) {
    if (!tb) return;
    free(tb->v);
    free(tb);
}

static char *source_text;
void set_source_text(const char *s);
void set_source_text(const char *s) { source_text = (char *)s; }

static void print_source_line(int line) {
    /* CPython reads the line back from the file: standard input has none */
    if (!source_text || line <= 0 || current_file[0] == '<') return;
    const char *p = source_text;
    for (int l = 1; l < line && *p; p++) if (*p == '\n') l++;
    while (*p == ' ' || *p == '\t') p++;
    const char *e = p;
    while (*e && *e != '\n') e++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\r')) e--;
    if (e > p) fprintf(stderr, "    %.*s\n", (int)(e - p), p);
}

static void print_exc_line(O *exc) {
    Class *c = type_of(exc);
    O *s = py_str(exc);
    if (s && is_subclass(c, (Class *)py_exc[EX_SyntaxError])) {
        /* "message (line N)": CPython shows the file, line and source first */
        const char *t = rh_str_cstr(s);
        const char *l = strstr(t, " (line ");
        int line;
        if (l && sscanf(l, " (line %d)", &line) == 1) {
            fprintf(stderr, "  File \"%s\", line %d\n", current_file, line);
            print_source_line(line);
            fprintf(stderr, "%s: %.*s\n", rh_str_cstr(c->name), (int)(l - t), t);
            rh_decref(s);
            return;
        }
    }
    if (!s) { py_err_clear(); s = rh_str(H, "<exception str() failed>"); }
    const char *mod = "";
    O *m = rh_dict_get_str(c->dict, "__module__");
    if (m && py_is_str(m) && strcmp(rh_str_cstr(m), "builtins") != 0 && strcmp(rh_str_cstr(m), "__main__") != 0)
        mod = rh_str_cstr(m);
    if (rh_str_nbytes(s)) fprintf(stderr, "%s%s%s: %s\n", mod, *mod ? "." : "", rh_str_cstr(c->name), rh_str_cstr(s));
    else fprintf(stderr, "%s%s%s\n", mod, *mod ? "." : "", rh_str_cstr(c->name));
    rh_decref(s);
}

void py_err_print(void) {
    fflush(stdout);
    O *exc = py_err_fetch();
    TB *tb = py_tb_take();
    if (!exc) { py_tb_free(tb); return; }
    if (tb->n) {
        fprintf(stderr, "Traceback (most recent call last):\n");
        for (int i = tb->n - 1; i >= 0; i--) {
            fprintf(stderr, "  File \"%s\", line %d, in %s\n", tb->v[i].file, tb->v[i].line, tb->v[i].func);
            print_source_line(tb->v[i].line);
        }
    }
    print_exc_line(exc);
    rh_decref(exc);
    py_tb_free(tb);
}

void py_write_unraisable(const char *where, O *obj) {
    fflush(stdout);
    O *exc = py_err_fetch();
    TB *tb = py_tb_take();
    O *r = obj ? py_repr(obj) : NULL;
    if (!r) py_err_clear();
    fprintf(stderr, "Exception ignored in: %s%s\n", where, r ? rh_str_cstr(r) : "");
    rh_xdecref(r);
    if (tb->n) {
        fprintf(stderr, "Traceback (most recent call last):\n");
        for (int i = tb->n - 1; i >= 0; i--) {
            fprintf(stderr, "  File \"%s\", line %d, in %s\n", tb->v[i].file, tb->v[i].line, tb->v[i].func);
            print_source_line(tb->v[i].line);
        }
    }
    if (exc) { print_exc_line(exc); rh_decref(exc); }
    py_tb_free(tb);
}

/* ---------------------------------------------------------------------------
 * Type hooks shared by refpy's types
 * ------------------------------------------------------------------------- */
static rh_hash_t identity_hash(rh_object *self) {
    uintptr_t a = (uintptr_t)self;
    rh_hash_t h = (rh_hash_t)((a >> 4) | (a << 60));
    return h == -1 ? -2 : h;
}

/* function */
static int function_traverse(O *self, rh_visitfn visit, void *arg) {
    Function *f = (Function *)self;
    RH_VISIT(f->name);
    RH_VISIT(f->qualname);
    RH_VISIT(f->globals);
    RH_VISIT(f->defaults);
    RH_VISIT(f->kwdefaults);
    RH_VISIT(f->closure);
    RH_VISIT(f->dict);
    return 0;
}
static void function_clear(O *self) {
    Function *f = (Function *)self;
    RH_CLEAR(f->globals);
    RH_CLEAR(f->defaults);
    RH_CLEAR(f->kwdefaults);
    RH_CLEAR(f->closure);
    RH_CLEAR(f->dict);
}
static void function_destroy(O *self) {
    function_clear(self);
    Function *f = (Function *)self;
    RH_CLEAR(f->name);
    RH_CLEAR(f->qualname);
}
static int function_repr(O *self, char *buf, size_t cap) {
    Function *f = (Function *)self;
    return snprintf(buf, cap, "<function %s at %p>", rh_str_cstr(f->qualname), (void *)self);
}
rh_type T_function = {.name = "function", .basicsize = sizeof(Function), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
                      .weaklist_offset = offsetof(Function, weaklist), .destroy = function_destroy,
                      .traverse = function_traverse, .clear = function_clear, .repr = function_repr,
                      .hash = identity_hash};

/* cell */
static int cell_traverse(O *self, rh_visitfn visit, void *arg) {
    Cell *c = (Cell *)self;
    return c->ref ? visit(c->ref, arg) : 0;
}
static void cell_clear(O *self) { RH_CLEAR(((Cell *)self)->ref); }
rh_type T_cell = {.name = "cell", .basicsize = sizeof(Cell), .flags = RH_TYPE_GC, .destroy = cell_clear,
                  .traverse = cell_traverse, .clear = cell_clear, .hash = identity_hash};

O *new_cell(O *v) {
    Cell *c = (Cell *)rh_new(H, &T_cell);
    if (!c) return py_from_rh();
    c->ref = rh_xnewref(v);
    rh_gc_track(RH_OBJ(c));
    return RH_OBJ(c);
}

/* class */
static int class_traverse(O *self, rh_visitfn visit, void *arg) {
    Class *c = (Class *)self;
    RH_VISIT(c->name);
    RH_VISIT(c->dict);
    RH_VISIT(c->base);
    RH_VISIT(c->rhcls);
    return 0;
}
static void class_clear(O *self) {
    Class *c = (Class *)self;
    RH_CLEAR(c->dict);
    O *b = RH_OBJ(c->base);
    c->base = NULL;
    rh_xdecref(b);
}
static void class_destroy(O *self) {
    class_clear(self);
    Class *c = (Class *)self;
    RH_CLEAR(c->name);
    RH_CLEAR(c->rhcls);
}
static int class_repr(O *self, char *buf, size_t cap) {
    Class *c = (Class *)self;
    O *m = c->dict ? rh_dict_get_str(c->dict, "__module__") : NULL;
    if (m && py_is_str(m) && strcmp(rh_str_cstr(m), "builtins") != 0)
        return snprintf(buf, cap, "<class '%s.%s'>", rh_str_cstr(m), rh_str_cstr(c->name));
    return snprintf(buf, cap, "<class '%s'>", rh_str_cstr(c->name));
}
rh_type T_class = {.name = "type", .basicsize = sizeof(Class), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
                   .weaklist_offset = offsetof(Class, weaklist), .destroy = class_destroy,
                   .traverse = class_traverse, .clear = class_clear, .repr = class_repr, .hash = identity_hash};

/* module */
static int module_traverse(O *self, rh_visitfn visit, void *arg) {
    Module *m = (Module *)self;
    RH_VISIT(m->name);
    RH_VISIT(m->dict);
    return 0;
}
static void module_clear(O *self) { RH_CLEAR(((Module *)self)->dict); }
static void module_destroy(O *self) { module_clear(self); RH_CLEAR(((Module *)self)->name); }
static int module_repr(O *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "<module '%s' (built-in)>", rh_str_cstr(((Module *)self)->name));
}
rh_type T_module = {.name = "module", .basicsize = sizeof(Module), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
                    .weaklist_offset = offsetof(Module, weaklist), .destroy = module_destroy,
                    .traverse = module_traverse, .clear = module_clear, .repr = module_repr, .hash = identity_hash};
O *new_module(const char *name) {
    Module *m = (Module *)rh_new(H, &T_module);
    if (!m) return py_from_rh();
    m->name = rh_str(H, name);
    m->dict = rh_dict_new(H);
    rh_dict_set_str(m->dict, "__name__", m->name);
    rh_gc_track(RH_OBJ(m));
    return RH_OBJ(m);
}

/* bound method */
static int method_traverse(O *self, rh_visitfn visit, void *arg) {
    Method *m = (Method *)self;
    RH_VISIT(m->func);
    RH_VISIT(m->self);
    return 0;
}
static void method_clear(O *self) {
    Method *m = (Method *)self;
    RH_CLEAR(m->func);
    RH_CLEAR(m->self);
}
static int method_repr(O *self, char *buf, size_t cap) {
    Method *m = (Method *)self;
    O *r = py_repr(m->self);
    if (!r) { py_err_clear(); return snprintf(buf, cap, "<bound method>"); }
    const char *qn = rh_is_type(m->func, &T_function) ? rh_str_cstr(((Function *)m->func)->qualname) : "?";
    int n = snprintf(buf, cap, "<bound method %s of %s>", qn, rh_str_cstr(r));
    rh_decref(r);
    return n;
}
static int method_eq(O *a, O *b) {
    if (!rh_is_type(b, &T_method)) return 0;
    return ((Method *)a)->func == ((Method *)b)->func && ((Method *)a)->self == ((Method *)b)->self;
}
static rh_hash_t method_hash(O *self) {
    Method *m = (Method *)self;
    rh_hash_t h = identity_hash(m->func) ^ identity_hash(m->self);
    return h == -1 ? -2 : h;
}
rh_type T_method = {.name = "method", .basicsize = sizeof(Method), .flags = RH_TYPE_GC, .destroy = method_clear,
                    .traverse = method_traverse, .clear = method_clear, .repr = method_repr, .hash = method_hash,
                    .eq = method_eq};
O *new_method(O *func, O *self) {
    Method *m = (Method *)rh_new(H, &T_method);
    if (!m) return py_from_rh();
    m->func = rh_newref(func);
    m->self = rh_newref(self);
    rh_gc_track(RH_OBJ(m));
    return RH_OBJ(m);
}

/* super: a Method-shaped pair (class where the lookup starts above, self) */
rh_type T_super = {.name = "super", .basicsize = sizeof(Method), .flags = RH_TYPE_GC, .destroy = method_clear,
                   .traverse = method_traverse, .clear = method_clear, .hash = identity_hash};

/* built-in function / method */
static int builtin_traverse(O *self, rh_visitfn visit, void *arg) {
    Builtin *b = (Builtin *)self;
    return b->self ? visit(b->self, arg) : 0;
}
static void builtin_clear(O *self) { RH_CLEAR(((Builtin *)self)->self); }
static int builtin_repr(O *self, char *buf, size_t cap) {
    Builtin *b = (Builtin *)self;
    if (b->self) {
        Class *c = type_of(b->self);
        return snprintf(buf, cap, "<built-in method %s of %s object at %p>", b->name, rh_str_cstr(c->name), (void *)b->self);
    }
    if (b->is_method) return snprintf(buf, cap, "<method '%s' objects>", b->name);
    return snprintf(buf, cap, "<built-in function %s>", b->name);
}
static int builtin_eq(O *a, O *b) {
    if (!rh_is_type(b, &T_builtin)) return 0;
    return ((Builtin *)a)->fn == ((Builtin *)b)->fn && ((Builtin *)a)->self == ((Builtin *)b)->self;
}
static rh_hash_t builtin_hash(O *self) {
    Builtin *b = (Builtin *)self;
    rh_hash_t h = (rh_hash_t)(uintptr_t)b->fn ^ (b->self ? identity_hash(b->self) : 0);
    return h == -1 ? -2 : h;
}
rh_type T_builtin = {.name = "builtin_function_or_method", .basicsize = sizeof(Builtin),
                     .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE, .weaklist_offset = offsetof(Builtin, weaklist),
                     .destroy = builtin_clear, .traverse = builtin_traverse, .clear = builtin_clear,
                     .repr = builtin_repr, .hash = builtin_hash, .eq = builtin_eq};
O *new_builtin(const char *name, cfunc fn, O *self) {
    Builtin *b = (Builtin *)rh_new(H, &T_builtin);
    if (!b) return py_from_rh();
    b->name = name;
    b->fn = fn;
    b->self = rh_xnewref(self);
    if (self) rh_gc_track(RH_OBJ(b));
    return RH_OBJ(b);
}
O *new_descr(const char *name, cfunc fn) {
    O *b = new_builtin(name, fn, NULL);
    ((Builtin *)b)->is_method = 1;
    rh_make_immortal(b);
    return b;
}

/* slice */
static int slice_traverse(O *self, rh_visitfn visit, void *arg) {
    Slice *s = (Slice *)self;
    RH_VISIT(s->start);
    RH_VISIT(s->stop);
    RH_VISIT(s->step);
    return 0;
}
static void slice_clear(O *self) {
    Slice *s = (Slice *)self;
    RH_CLEAR(s->start);
    RH_CLEAR(s->stop);
    RH_CLEAR(s->step);
}
rh_type T_slice = {.name = "slice", .basicsize = sizeof(Slice), .flags = RH_TYPE_GC, .destroy = slice_clear,
                   .traverse = slice_traverse, .clear = slice_clear};

/* range */
static int range_repr(O *self, char *buf, size_t cap) {
    Range *r = (Range *)self;
    if (r->step == 1) return snprintf(buf, cap, "range(%" PRId64 ", %" PRId64 ")", r->start, r->stop);
    return snprintf(buf, cap, "range(%" PRId64 ", %" PRId64 ", %" PRId64 ")", r->start, r->stop, r->step);
}
rh_type T_range = {.name = "range", .basicsize = sizeof(Range), .repr = range_repr, .hash = identity_hash};

/* property */
static int property_traverse(O *self, rh_visitfn visit, void *arg) {
    Property *p = (Property *)self;
    RH_VISIT(p->fget);
    RH_VISIT(p->fset);
    return 0;
}
static void property_clear(O *self) {
    Property *p = (Property *)self;
    RH_CLEAR(p->fget);
    RH_CLEAR(p->fset);
}
rh_type T_property = {.name = "property", .basicsize = sizeof(Property), .flags = RH_TYPE_GC,
                      .destroy = property_clear, .traverse = property_traverse, .clear = property_clear,
                      .hash = identity_hash};

/* iterators */
static int iter_traverse(O *self, rh_visitfn visit, void *arg) {
    Iter *it = (Iter *)self;
    RH_VISIT(it->seq);
    RH_VISIT(it->extra);
    return 0;
}
static void iter_clear(O *self) {
    Iter *it = (Iter *)self;
    if (it->kind == IT_WEAK && it->wit.open) rh_weakiter_end(&it->wit);
    RH_CLEAR(it->seq);
    RH_CLEAR(it->extra);
}
static const char *iter_name(O *self) {
    switch (((Iter *)self)->kind) {
    case IT_SEQ: return "list_iterator";
    case IT_DICT_KEYS: return "dict_keyiterator";
    case IT_DICT_VALUES: return "dict_valueiterator";
    case IT_DICT_ITEMS: return "dict_itemiterator";
    case IT_SET: return "set_iterator";
    case IT_RANGE: return "range_iterator";
    case IT_STR: return "str_ascii_iterator";
    case IT_ENUM: return "enumerate";
    case IT_ZIP: return "zip";
    case IT_MAP: return "map";
    case IT_REVERSED: return "list_reverseiterator";
    default: return "iterator";
    }
}
static int iter_repr(O *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "<%s object at %p>", iter_name(self), (void *)self);
}
rh_type T_iter = {.name = "iterator", .basicsize = sizeof(Iter), .flags = RH_TYPE_GC, .destroy = iter_clear,
                  .traverse = iter_traverse, .clear = iter_clear, .repr = iter_repr, .hash = identity_hash};
O *new_iter(int kind, O *seq) {
    Iter *it = (Iter *)rh_new(H, &T_iter);
    if (!it) return py_from_rh();
    it->kind = kind;
    it->seq = rh_xnewref(seq);
    rh_gc_track(RH_OBJ(it));
    return RH_OBJ(it);
}

/* ---------------------------------------------------------------------------
 * Classes
 * ------------------------------------------------------------------------- */
/* rhcls -> Class, and the references that keep every class alive */
typedef struct ClassEntry { O *rhcls; Class *cls; } ClassEntry;
static ClassEntry *ctab;
static size_t nctab, ctabcap;

O *class_of_rhcls(O *rhcls) {
    for (size_t i = nctab; i-- > 0;) if (ctab[i].rhcls == rhcls) return RH_OBJ(ctab[i].cls);
    return NULL;
}
static void class_register(Class *c) {
    if (nctab == ctabcap) {
        ctabcap = ctabcap ? ctabcap * 2 : 32;
        ctab = realloc(ctab, ctabcap * sizeof(ClassEntry));
        if (!ctab) abort();
    }
    /* the entry keeps the refheap class too: a class remade by with_tp_del
     * must not free the old instance type, whose address identifies it */
    ctab[nctab].rhcls = rh_newref(c->rhcls);
    ctab[nctab].cls = (Class *)rh_newref(RH_OBJ(c));
    nctab++;
}
void classes_release(void);
void classes_release(void) {
    for (size_t i = 0; i < nctab; i++) {
        rh_decref(ctab[i].rhcls);
        rh_decref(RH_OBJ(ctab[i].cls));
    }
    free(ctab);
    ctab = NULL;
    nctab = ctabcap = 0;
}

typedef struct TypeEntry { const rh_type *t; Class *c; } TypeEntry;
static TypeEntry ttab[64];
static int nttab;

/* type_of's cache: an object's rh_type identifies its Class (each refheap
 * class has its own instance type, and classes live until the program ends). */
static TypeEntry tcache[128];

Class *type_of(O *o) {
    const rh_type *t = rh_type_of(o);
    size_t h = ((uintptr_t)t >> 4) & 127;
    if (tcache[h].t == t) return tcache[h].c;
    Class *r = NULL;
    if (rh_is_instance(o)) r = (Class *)class_of_rhcls(rh_instance_class(o));
    for (int i = 0; !r && i < nttab; i++) if (ttab[i].t == t) r = ttab[i].c;
    if (!r) return C_object;
    tcache[h].t = t;
    tcache[h].c = r;
    return r;
}

bool is_subclass(Class *c, Class *base) {
    for (; c; c = c->base) if (c == base) return true;
    return false;
}
bool isinstance_of(O *o, Class *c) { return is_subclass(type_of(o), c); }

O *class_lookup(Class *c, O *name) {
    for (; c; c = c->base) {
        if (!c->dict) continue;
        O *v = rh_dict_get(c->dict, name);
        if (v) return v;
    }
    return NULL;
}
O *class_lookup_s(Class *c, const char *name) {
    O *n = intern_lit(name);
    return class_lookup(c, n);
}

static Class *class_alloc(O *name, Class *base, O *dict) {
    Class *c = (Class *)rh_new(H, &T_class);
    if (!c) return (Class *)py_from_rh();
    c->name = rh_newref(name);
    c->dict = dict ? rh_newref(dict) : rh_dict_new(H);
    c->base = base ? (Class *)rh_newref(RH_OBJ(base)) : NULL;
    if (base) {
        c->exc = base->exc;
        c->has_del = base->has_del;
    }
    return c;
}

O *new_class_builtin(const char *name, Class *base, const rh_type *bt, cfunc ctor) {
    O *nm = intern(name);
    Class *c = class_alloc(nm, base, NULL);
    c->bt = bt;
    c->ctor = ctor;
    O *mod = intern("builtins");
    rh_dict_set_str(c->dict, "__module__", mod);
    rh_make_immortal(RH_OBJ(c));
    if (bt && nttab < 64) { ttab[nttab].t = bt; ttab[nttab].c = c; nttab++; }
    return RH_OBJ(c);
}

void class_add_method(Class *c, const char *name, cfunc fn) {
    O *d = new_descr(name, fn);
    rh_dict_set_str(c->dict, name, d);
}

bool interp_shutting_down;

static void run_del(O *self, void *data) {
    (void)data;
    if (interp_shutting_down) return; /* the classes are being released */
    Class *c = type_of(self);
    O *del = class_lookup_s(c, "__del__");
    if (!del) return;
    O *saved = py_err_fetch();
    TB *tb = py_tb_take();
    O *r = call1(del, self);
    if (!r) {
        char where[256];
        if (rh_is_type(del, &T_function)) {
            snprintf(where, sizeof where, "<function %s at %p>", rh_str_cstr(((Function *)del)->qualname), (void *)del);
        } else snprintf(where, sizeof where, "__del__");
        py_write_unraisable(where, NULL);
    } else rh_decref(r);
    if (saved) { RH_SETREF(cur_exc, saved); }
    py_tb_restore(tb);
}

static void run_legacy(O *self, void *data) {
    (void)data;
    if (interp_shutting_down) return;
    O *del = class_lookup_s(type_of(self), "__tp_del__");
    if (!del) return;
    O *saved = py_err_fetch();
    TB *tb = py_tb_take();
    O *r = call1(del, self);
    if (!r) py_write_unraisable("__tp_del__", NULL);
    else rh_decref(r);
    if (saved) RH_SETREF(cur_exc, saved);
    py_tb_restore(tb);
}

static int make_rhcls(Class *c) {
    /* slots */
    const char *slotnames[64];
    size_t nslots = 0;
    bool slotted = false, weakref_slot = false;
    O *slots = rh_dict_get_str(c->dict, "__slots__");
    if (c->base && c->base->slotted && !slots) {
        /* a subclass without __slots__ of a slotted class: plain */
    }
    if (slots) {
        slotted = true;
        O *items = py_is_str(slots) ? rh_tuple_pack(H, 1, slots) : py_tuple_from(slots);
        if (!items) return -1;
        /* inherited slots first */
        for (Class *b = c->base; b && b->slotted; b = b->base) {
            O *bs = rh_dict_get_str(b->dict, "__slots__");
            O *bt = bs ? (py_is_str(bs) ? rh_tuple_pack(H, 1, bs) : py_tuple_from(bs)) : NULL;
            for (size_t i = 0; bt && i < rh_tuple_size(bt) && nslots < 64; i++) {
                O *s = rh_tuple_get(bt, i);
                if (!py_is_str(s)) continue;
                if (!strcmp(rh_str_cstr(s), "__weakref__")) { weakref_slot = true; continue; }
                O *in = intern(rh_str_cstr(s));
                slotnames[nslots++] = rh_str_cstr(in);
            }
            rh_xdecref(bt);
        }
        for (size_t i = 0; i < rh_tuple_size(items); i++) {
            O *s = rh_tuple_get(items, i);
            if (!py_is_str(s)) { rh_decref(items); py_raise(EX_TypeError, "__slots__ items must be strings, not '%s'", rh_str_cstr(type_of(s)->name)); return -1; }
            if (!strcmp(rh_str_cstr(s), "__weakref__")) { weakref_slot = true; continue; }
            if (!strcmp(rh_str_cstr(s), "__dict__")) { slotted = false; continue; }
            if (nslots >= 64) { rh_decref(items); py_raise(EX_NotImplementedError, "refpy supports at most 64 slots"); return -1; }
            O *in = intern(rh_str_cstr(s));
            slotnames[nslots++] = rh_str_cstr(in);
        }
        rh_decref(items);
    }
    rh_class_spec spec = {.name = rh_str_cstr(c->name), .slots = slotted ? slotnames : NULL,
                          .nslots = slotted ? nslots : 0, .weakrefable = !slotted || weakref_slot,
                          .finalizer = class_lookup_s(c, "__del__") ? run_del : NULL,
                          .legacy_del = c->legacy ? run_legacy : NULL, .data = c};
    O *k = rh_class_new(H, &spec);
    if (!k) { py_from_rh(); return -1; }
    RH_SETREF(c->rhcls, k);
    c->slotted = slotted;
    c->has_del = spec.finalizer != NULL;
    class_register(c);
    return 0;
}

O *make_class(O *name, Class *base, O *ns) {
    if (base->bt && base != C_object) {
        return py_raise(EX_NotImplementedError, "refpy does not support subclassing the built-in type '%s'", rh_str_cstr(base->name));
    }
    Class *c = class_alloc(name, base, ns);
    if (!c) return NULL;
    c->has_props = base->has_props;
    size_t pos = 0;
    O *k, *v;
    while (rh_dict_next(c->dict, &pos, &k, &v)) if (rh_is_type(v, &T_property)) c->has_props = 1;
    rh_gc_track(RH_OBJ(c));
    if (make_rhcls(c) < 0) { rh_decref(RH_OBJ(c)); return NULL; }
    return RH_OBJ(c);
}

/* _testcapi.with_tp_del: a legacy finalizer (tp_del) for the class */
O *class_set_legacy(O *cls);
O *class_set_legacy(O *cls) {
    if (!rh_is_type(cls, &T_class) || !((Class *)cls)->rhcls) return py_raise(EX_TypeError, "with_tp_del arg must be a class");
    Class *c = (Class *)cls;
    c->legacy = 1;
    if (make_rhcls(c) < 0) return NULL;
    return rh_newref(cls);
}

/* ---------------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------------- */
static O *no_attr(O *o, O *name) {
    if (rh_is_type(o, &T_module))
        return py_raise(EX_AttributeError, "module '%s' has no attribute '%s'", rh_str_cstr(((Module *)o)->name), rh_str_cstr(name));
    if (rh_is_type(o, &T_class))
        return py_raise(EX_AttributeError, "type object '%s' has no attribute '%s'", rh_str_cstr(((Class *)o)->name), rh_str_cstr(name));
    return py_raise(EX_AttributeError, "'%s' object has no attribute '%s'", rh_str_cstr(type_of(o)->name), rh_str_cstr(name));
}

static O *bind(O *v, O *self) {
    if (rh_is_type(v, &T_function)) return new_method(v, self);
    if (rh_is_type(v, &T_builtin) && ((Builtin *)v)->is_method) {
        Builtin *b = (Builtin *)v;
        O *r = new_builtin(b->name, b->fn, self);
        if (r) ((Builtin *)r)->is_method = 1;
        return r;
    }
    if (rh_is_type(v, &T_property)) {
        Property *p = (Property *)v;
        if (!p->fget) return py_raise(EX_AttributeError, "unreadable attribute");
        return call1(p->fget, self);
    }
    return rh_newref(v);
}

static O *special_attr(O *o, const char *s) {
    if (!strcmp(s, "__class__")) return rh_newref(RH_OBJ(type_of(o)));
    if (rh_is_type(o, &T_class)) {
        Class *c = (Class *)o;
        if (!strcmp(s, "__name__") || !strcmp(s, "__qualname__")) return rh_newref(c->name);
        if (!strcmp(s, "__dict__")) return rh_newref(c->dict);
        if (!strcmp(s, "__base__")) return rh_newref(c->base ? RH_OBJ(c->base) : rh_None);
        if (!strcmp(s, "__bases__")) return c->base ? rh_tuple_pack(H, 1, RH_OBJ(c->base)) : rh_tuple_new(H, 0);
        if (!strcmp(s, "__mro__")) {
            O *l = rh_list_new(H, 0);
            for (Class *k = c; k; k = k->base) rh_list_append(l, RH_OBJ(k));
            O *t = py_tuple_from(l);
            rh_decref(l);
            return t;
        }
    }
    if (rh_is_type(o, &T_function)) {
        Function *f = (Function *)o;
        if (!strcmp(s, "__name__")) return rh_newref(f->name);
        if (!strcmp(s, "__qualname__")) return rh_newref(f->qualname);
        if (!strcmp(s, "__globals__")) return rh_newref(f->globals);
        if (!strcmp(s, "__defaults__")) return rh_newref(f->defaults ? f->defaults : rh_None);
        if (!strcmp(s, "__closure__")) return rh_newref(f->closure ? f->closure : rh_None);
        if (!strcmp(s, "__module__")) { O *m = rh_dict_get_str(f->globals, "__name__"); return rh_newref(m ? m : rh_None); }
        if (!strcmp(s, "__dict__")) { if (!f->dict) f->dict = rh_dict_new(H); return rh_newref(f->dict); }
        if (f->dict) { O *v = rh_dict_get_str(f->dict, s); if (v) return rh_newref(v); }
    }
    if (rh_is_type(o, &T_method)) {
        Method *m = (Method *)o;
        if (!strcmp(s, "__self__")) return rh_newref(m->self);
        if (!strcmp(s, "__func__")) return rh_newref(m->func);
        if (!strcmp(s, "__name__")) return getattr_s(m->func, "__name__");
    }
    if (rh_is_type(o, &T_builtin)) {
        Builtin *b = (Builtin *)o;
        if (!strcmp(s, "__name__")) return rh_str(H, b->name);
        if (!strcmp(s, "__self__")) return rh_newref(b->self ? b->self : rh_None);
    }
    if (rh_is_type(o, &T_cell) && !strcmp(s, "cell_contents")) {
        Cell *c = (Cell *)o;
        if (!c->ref) return py_raise(EX_ValueError, "Cell is empty");
        return rh_newref(c->ref);
    }
    if (rh_is_type(o, &T_range)) {
        Range *r = (Range *)o;
        if (!strcmp(s, "start")) return rh_int(H, r->start);
        if (!strcmp(s, "stop")) return rh_int(H, r->stop);
        if (!strcmp(s, "step")) return rh_int(H, r->step);
    }
    if (rh_is_type(o, &T_slice)) {
        Slice *sl = (Slice *)o;
        if (!strcmp(s, "start")) return rh_newref(sl->start);
        if (!strcmp(s, "stop")) return rh_newref(sl->stop);
        if (!strcmp(s, "step")) return rh_newref(sl->step);
    }
    if (rh_is_type(o, &rh_finalize_type) && !strcmp(s, "alive")) return rh_bool(rh_finalize_alive(o));
    if (rh_is_instance(o) && !strcmp(s, "__dict__")) {
        if (type_of(o)->slotted) return NULL;
        O *d = rh_vars(o);
        return d ? d : py_from_rh();
    }
    return NULL;
}

O *getattr_o(O *o, O *name) {
    const char *s = rh_str_cstr(name);
    if (rh_is_type(o, &T_module)) {
        O *v = rh_dict_get(((Module *)o)->dict, name);
        if (v) return rh_newref(v);
        if (!strcmp(s, "__dict__")) return rh_newref(((Module *)o)->dict);
        return no_attr(o, name);
    }
    if (rh_is_type(o, &T_super)) {
        Method *sp = (Method *)o;
        Class *start = ((Class *)sp->func)->base;
        O *v = start ? class_lookup(start, name) : NULL;
        if (!v) return py_raise(EX_AttributeError, "'super' object has no attribute '%s'", s);
        return bind(v, sp->self);
    }
    if (rh_is_type(o, &T_class)) {
        Class *c = (Class *)o;
        O *v = class_lookup(c, name);
        if (v) return rh_newref(v);
        O *sv = special_attr(o, s);
        if (sv || py_err_occurred()) return sv;
        return no_attr(o, name);
    }
    Class *c = type_of(o);
    if ((s[0] == '_' && s[1] == '_') || rh_is_type(o, &rh_finalize_type)) {
        O *sv = special_attr(o, s);
        if (sv || py_err_occurred()) return sv;
    }
    O *cv = class_lookup(c, name);
    if (cv && rh_is_type(cv, &T_property)) return bind(cv, o);
    if (rh_is_instance(o)) {
        O *v = rh_getattr(o, s);
        if (v) return v;
        rh_err_clear(H);
        if (!cv && c->exc && !strcmp(s, "args")) return rh_tuple_new(H, 0);
    } else {
        O *sv = special_attr(o, s);
        if (sv || py_err_occurred()) return sv;
    }
    if (cv) return bind(cv, o);
    O *ga = class_lookup_s(c, "__getattr__");
    if (ga && rh_is_instance(o)) {
        O *args[2] = {o, name};
        return call(ga, args, 2, NULL);
    }
    return no_attr(o, name);
}

O *getattr_s(O *o, const char *name) { return getattr_o(o, intern_lit(name)); }

O *getmethod(O *o, O *name, bool *unbound) {
    *unbound = false;
    if (rh_is_type(o, &T_module) || rh_is_type(o, &T_class) || rh_is_type(o, &T_super)) return getattr_o(o, name);
    Class *c = type_of(o);
    O *cv = class_lookup(c, name);
    if (cv && (rh_is_type(cv, &T_function) || (rh_is_type(cv, &T_builtin) && ((Builtin *)cv)->is_method))) {
        if (rh_is_instance(o) && !c->slotted && rh_hasattr(o, rh_str_cstr(name)) == 1) return getattr_o(o, name);
        *unbound = true;
        return rh_newref(cv);
    }
    return getattr_o(o, name);
}

int setattr_o(O *o, O *name, O *v) {
    const char *s = rh_str_cstr(name);
    if (rh_is_instance(o)) {
        O *cv = type_of(o)->has_props ? class_lookup(type_of(o), name) : NULL;
        if (cv && rh_is_type(cv, &T_property)) {
            Property *p = (Property *)cv;
            if (!p->fset) { py_raise(EX_AttributeError, "can't set attribute '%s'", s); return -1; }
            O *args[2] = {o, v};
            O *r = call(p->fset, args, 2, NULL);
            if (!r) return -1;
            rh_decref(r);
            return 0;
        }
        int r = v ? rh_setattr(o, s, v) : rh_delattr(o, s);
        if (r < 0) {
            rh_error e = rh_err(H);
            rh_err_clear(H);
            if (e == RH_EATTR) {
                if (!v && !type_of(o)->slotted) py_raise(EX_AttributeError, "'%s' object has no attribute '%s'", rh_str_cstr(type_of(o)->name), s);
                else if (!v) py_raise(EX_AttributeError, "'%s' object attribute '%s' is read-only", rh_str_cstr(type_of(o)->name), s);
                else py_raise(EX_AttributeError, "'%s' object has no attribute '%s'", rh_str_cstr(type_of(o)->name), s);
                if (!v) {
                    /* CPython: deleting an unset slot also says "has no attribute" */
                    py_err_clear();
                    py_raise(EX_AttributeError, "%s", s);
                }
            } else py_raise(EX_MemoryError, "out of memory");
            return -1;
        }
        return 0;
    }
    if (rh_is_type(o, &T_class)) {
        Class *c = (Class *)o;
        if (rh_is_immortal(o)) { py_raise(EX_TypeError, "cannot set '%s' attribute of immutable type '%s'", s, rh_str_cstr(c->name)); return -1; }
        if (v && rh_is_type(v, &T_property)) c->has_props = 1;
        if (v) return rh_dict_set(c->dict, name, v) < 0 ? (py_from_rh(), -1) : 0;
        if (rh_dict_del(c->dict, name) < 0) { rh_err_clear(H); no_attr(o, name); return -1; }
        return 0;
    }
    if (rh_is_type(o, &T_module)) {
        Module *m = (Module *)o;
        if (v) return rh_dict_set(m->dict, name, v) < 0 ? (py_from_rh(), -1) : 0;
        if (rh_dict_del(m->dict, name) < 0) { rh_err_clear(H); no_attr(o, name); return -1; }
        return 0;
    }
    if (rh_is_type(o, &T_function)) {
        Function *f = (Function *)o;
        if (!f->dict) f->dict = rh_dict_new(H);
        if (v) return rh_dict_set(f->dict, name, v) < 0 ? (py_from_rh(), -1) : 0;
        if (rh_dict_del(f->dict, name) < 0) { rh_err_clear(H); no_attr(o, name); return -1; }
        return 0;
    }
    if (class_lookup(type_of(o), name))
        py_raise(EX_AttributeError, "'%s' object attribute '%s' is read-only", rh_str_cstr(type_of(o)->name), s);
    else
        py_raise(EX_AttributeError, "'%s' object has no attribute '%s'", rh_str_cstr(type_of(o)->name), s);
    return -1;
}

/* ---------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------- */
static O *instantiate_init(Function *init, O *inst, O **args, size_t n, O *kw);
static O *instantiate(Class *c, O **args, size_t n, O *kw) {
    if (c->ctor) return c->ctor(RH_OBJ(c), args, n, kw);
    if (!c->rhcls) return py_raise(EX_TypeError, "cannot create '%s' instances", rh_str_cstr(c->name));
    O *inst = rh_instance_new(c->rhcls);
    if (!inst) return py_from_rh();
    if (c->exc) {
        O *t = rh_tuple_from(H, args, n);
        if (!t || rh_setattr(inst, "args", t) < 0) { rh_xdecref(t); rh_decref(inst); return py_from_rh(); }
        rh_decref(t);
    }
    O *init = class_lookup_s(c, "__init__");
    if (init && rh_is_type(init, &T_function)) {
        /* CPython calls __init__ from type.__call__ with the arguments packed
         * in a tuple, and unpacked again into a new array when there are
         * keywords: both hold references while __init__ runs */
        O *argt = n ? rh_tuple_from(H, args, n) : NULL;
        if (kw) for (size_t i = 0; i < n; i++) rh_incref(args[i]);
        O *r0 = instantiate_init((Function *)init, inst, args, n, kw);
        if (kw) for (size_t i = 0; i < n; i++) rh_decref(args[i]);
        rh_xdecref(argt);
        if (!r0) { rh_decref(inst); return NULL; }
        return inst;
    } else if ((n || kw) && !c->exc) {
        rh_decref(inst);
        return py_raise(EX_TypeError, "%s() takes no arguments", rh_str_cstr(c->name));
    }
    return inst;
}

/* Runs __init__ on a new instance; returns inst (borrowed) or NULL. */
static O *instantiate_init(Function *init, O *inst, O **args, size_t n, O *kw) {
    {
        O *local[9];
        O **a = n + 1 <= 9 ? local : malloc((n + 1) * sizeof(O *));
        a[0] = inst;
        memcpy(a + 1, args, n * sizeof(O *));
        O *r = call_function(init, a, n + 1, kw);
        if (a != local) free(a);
        if (!r) return NULL;
        if (r != rh_None) {
            rh_decref(r);
            return py_raise(EX_TypeError, "__init__() should return None, not '%s'", rh_str_cstr(type_of(r)->name));
        }
        rh_decref(r);
    }
    return inst;
}

O *call(O *f, O **args, size_t n, O *kw) {
    const rh_type *t = rh_type_of(f);
    if (t == &T_function) return call_function((Function *)f, args, n, kw);
    if (t == &T_builtin) {
        Builtin *b = (Builtin *)f;
        if (b->self) return b->fn(b->self, args, n, kw);
        if (b->is_method) {
            if (n < 1) return py_raise(EX_TypeError, "descriptor '%s' needs an argument", b->name);
            return b->fn(args[0], args + 1, n - 1, kw);
        }
        return b->fn(NULL, args, n, kw);
    }
    if (t == &T_method) {
        Method *m = (Method *)f;
        O *local[9];
        O **a = n + 1 <= 9 ? local : malloc((n + 1) * sizeof(O *));
        a[0] = m->self;
        memcpy(a + 1, args, n * sizeof(O *));
        O *r = call(m->func, a, n + 1, kw);
        if (a != local) free(a);
        return r;
    }
    if (t == &T_class) return instantiate((Class *)f, args, n, kw);
    {
        O *cf = class_lookup_s(type_of(f), "__call__");
        if (cf) {
            O *local[9];
            O **a = n + 1 <= 9 ? local : malloc((n + 1) * sizeof(O *));
            a[0] = f;
            memcpy(a + 1, args, n * sizeof(O *));
            O *r = call(cf, a, n + 1, kw);
            if (a != local) free(a);
            return r;
        }
    }
    return py_raise(EX_TypeError, "'%s' object is not callable", rh_str_cstr(type_of(f)->name));
}
O *call0(O *f) { return call(f, NULL, 0, NULL); }
O *call1(O *f, O *a) { return call(f, &a, 1, NULL); }
O *call2(O *f, O *a, O *b) {
    O *args[2] = {a, b};
    return call(f, args, 2, NULL);
}
O *call_method_s(O *o, const char *name, O **args, size_t n) {
    bool unbound;
    O *m = getmethod(o, intern_lit(name), &unbound);
    if (!m) return NULL;
    O *r;
    if (unbound) {
        O *local[9];
        O **a = n + 1 <= 9 ? local : malloc((n + 1) * sizeof(O *));
        a[0] = o;
        if (n) memcpy(a + 1, args, n * sizeof(O *));
        r = call(m, a, n + 1, NULL);
        if (a != local) free(a);
    } else r = call(m, args, n, NULL);
    rh_decref(m);
    return r;
}

/* the dunder of an instance's class, or NULL */
static O *dunder(O *o, const char *name) {
    if (!rh_is_instance(o)) return NULL;
    O *f = class_lookup_s(type_of(o), name);
    if (f && rh_is_type(f, &T_builtin)) return NULL; /* object's defaults */
    return f;
}

/* ---------------------------------------------------------------------------
 * repr / str
 * ------------------------------------------------------------------------- */
typedef struct SB { char *p; size_t n, cap; } SB;
static void sb_add(SB *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_adds(SB *b, const char *s) { sb_add(b, s, strlen(s)); }
static O *sb_done(SB *b) {
    O *r = rh_str_n(H, b->p ? b->p : "", b->n);
    free(b->p);
    if (!r) return py_from_rh();
    return r;
}

static O *repr_active; /* a list of containers being repr'd (recursion guard) */
static int repr_enter(O *o) {
    if (!repr_active) { repr_active = rh_list_new(H, 0); rh_make_immortal(repr_active); }
    for (size_t i = 0; i < rh_list_size(repr_active); i++) if (rh_list_get(repr_active, (ptrdiff_t)i) == o) return 1;
    rh_list_append(repr_active, o);
    return 0;
}
static void repr_leave(void) {
    O *x = rh_list_pop(repr_active, -1);
    rh_xdecref(x);
}

static bool sb_repr_into(SB *b, O *o) {
    O *r = py_repr(o);
    if (!r) return false;
    sb_add(b, rh_str_cstr(r), rh_str_nbytes(r));
    rh_decref(r);
    return true;
}

static O *atom_repr(O *o) {
    char small[256];
    int n = rh_repr(o, small, sizeof small);
    if (n < (int)sizeof small) return rh_str_n(H, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return py_raise(EX_MemoryError, "out of memory");
    rh_repr(o, big, (size_t)n + 1);
    O *r = rh_str_n(H, big, (size_t)n);
    free(big);
    return r;
}

O *py_repr(O *o) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_list_type || t == &rh_tuple_type) {
        size_t n = t == &rh_list_type ? rh_list_size(o) : rh_tuple_size(o);
        if (t == &rh_list_type && repr_enter(o)) return rh_str(H, "[...]");
        SB b = {0};
        sb_adds(&b, t == &rh_list_type ? "[" : "(");
        for (size_t i = 0; i < (t == &rh_list_type ? rh_list_size(o) : n); i++) {
            if (i) sb_adds(&b, ", ");
            O *item = t == &rh_list_type ? rh_list_get(o, (ptrdiff_t)i) : rh_tuple_get(o, i);
            rh_incref(item);
            bool ok = sb_repr_into(&b, item);
            rh_decref(item);
            if (!ok) { free(b.p); if (t == &rh_list_type) repr_leave(); return NULL; }
        }
        if (t == &rh_tuple_type && n == 1) sb_adds(&b, ",");
        sb_adds(&b, t == &rh_list_type ? "]" : ")");
        if (t == &rh_list_type) repr_leave();
        return sb_done(&b);
    }
    if (t == &rh_dict_type) {
        if (repr_enter(o)) return rh_str(H, "{...}");
        SB b = {0};
        sb_adds(&b, "{");
        size_t pos = 0;
        O *k, *v;
        bool first = true;
        while (rh_dict_next(o, &pos, &k, &v)) {
            if (!first) sb_adds(&b, ", ");
            first = false;
            rh_incref(k);
            rh_incref(v);
            bool ok = sb_repr_into(&b, k);
            if (ok) { sb_adds(&b, ": "); ok = sb_repr_into(&b, v); }
            rh_decref(k);
            rh_decref(v);
            if (!ok) { free(b.p); repr_leave(); return NULL; }
        }
        sb_adds(&b, "}");
        repr_leave();
        return sb_done(&b);
    }
    if (t == &rh_set_type) {
        if (rh_set_size(o) == 0) return rh_str(H, "set()");
        if (repr_enter(o)) return rh_str(H, "set(...)");
        SB b = {0};
        sb_adds(&b, "{");
        size_t pos = 0;
        O *k;
        bool first = true;
        while (rh_set_next(o, &pos, &k)) {
            if (!first) sb_adds(&b, ", ");
            first = false;
            if (!sb_repr_into(&b, k)) { free(b.p); repr_leave(); return NULL; }
        }
        sb_adds(&b, "}");
        repr_leave();
        return sb_done(&b);
    }
    if (t == &rh_weakref_type) {
        O *r = rh_weakref_get(o);
        char buf[160];
        if (!r) snprintf(buf, sizeof buf, "<weakref at %p; dead>", (void *)o);
        else {
            snprintf(buf, sizeof buf, "<weakref at %p; to '%s' at %p>", (void *)o, rh_str_cstr(type_of(r)->name), (void *)r);
            rh_decref(r);
        }
        return rh_str(H, buf);
    }
    if (rh_is_instance(o)) {
        Class *c = type_of(o);
        O *f = dunder(o, "__repr__");
        if (f) {
            if (recursion_depth > 950) return py_raise(EX_RecursionError, "maximum recursion depth exceeded while getting the repr of an object");
            O *r = call1(f, o);
            if (r && !py_is_str(r)) {
                O *tn = type_of(r)->name;
                rh_decref(r);
                return py_raise(EX_TypeError, "__repr__ returned non-string (type %s)", rh_str_cstr(tn));
            }
            return r;
        }
        if (c->exc) {
            O *args = getattr_s(o, "args");
            if (!args) return NULL;
            O *ar = py_repr(args);
            rh_decref(args);
            if (!ar) return NULL;
            O *r;
            const char *s = rh_str_cstr(ar);
            size_t l = rh_str_nbytes(ar);
            if (rh_tuple_size(args) == 1 && l >= 3) r = rh_str_printf(H, "%s(%.*s)", rh_str_cstr(c->name), (int)(l - 3), s + 1);
            else r = rh_str_printf(H, "%s%s", rh_str_cstr(c->name), s);
            rh_decref(ar);
            return r;
        }
        O *m = rh_dict_get_str(c->dict, "__module__");
        return rh_str_printf(H, "<%s.%s object at %p>", m && py_is_str(m) ? rh_str_cstr(m) : "__main__",
                             rh_str_cstr(c->name), (void *)o);
    }
    if (t == &rh_bool_type || t == &rh_none_type || t == &rh_int_type || t == &rh_float_type || t == &rh_str_type ||
        t == &rh_bytes_type || t == &T_function || t == &T_class || t == &T_builtin || t == &T_range ||
        t == &T_module || t == &T_method || t == &T_iter)
        return atom_repr(o);
    if (t == &rh_bytearray_type) {
        O *b = rh_bytes(H, rh_bytearray_data(o), rh_bytearray_len(o));
        if (!b) return py_from_rh();
        O *r = atom_repr(b);
        rh_decref(b);
        if (!r) return NULL;
        O *r2 = rh_str_printf(H, "bytearray(%s)", rh_str_cstr(r));
        rh_decref(r);
        return r2;
    }
    if (t == &rh_memoryview_type) return rh_str_printf(H, "<memory at %p>", (void *)o);
    if (t == &T_cell) return rh_str_printf(H, "<cell at %p: %s>", (void *)o, ((Cell *)o)->ref ? "object" : "empty");
    if (t == &T_slice) {
        Slice *s = (Slice *)o;
        O *a = py_repr(s->start), *b2 = py_repr(s->stop), *c = py_repr(s->step);
        O *r = (a && b2 && c) ? rh_str_printf(H, "slice(%s, %s, %s)", rh_str_cstr(a), rh_str_cstr(b2), rh_str_cstr(c)) : NULL;
        rh_xdecref(a); rh_xdecref(b2); rh_xdecref(c);
        return r;
    }
    if (t == &rh_finalize_type) return rh_str_printf(H, "<finalize object at %p>", (void *)o);
    if (t == &rh_weakvaluedict_type) return rh_str_printf(H, "<WeakValueDictionary at %p>", (void *)o);
    if (t == &rh_weakkeydict_type) return rh_str_printf(H, "<WeakKeyDictionary at %p>", (void *)o);
    if (t == &rh_weakset_type) return rh_str_printf(H, "<_weakrefset.WeakSet object at %p>", (void *)o);
    return rh_str_printf(H, "<%s object at %p>", rh_str_cstr(type_of(o)->name), (void *)o);
}

O *py_str(O *o) {
    const rh_type *t = rh_type_of(o);
    if (t == &rh_str_type) return rh_newref(o);
    if (rh_is_instance(o)) {
        O *f = dunder(o, "__str__");
        if (f) {
            O *r = call1(f, o);
            if (r && !py_is_str(r)) {
                rh_decref(r);
                return py_raise(EX_TypeError, "__str__ returned non-string");
            }
            return r;
        }
        Class *c = type_of(o);
        if (c->exc && !dunder(o, "__repr__")) {
            O *args = getattr_s(o, "args");
            if (!args) return NULL;
            O *r;
            size_t n = rh_is_type(args, &rh_tuple_type) ? rh_tuple_size(args) : 0;
            if (n == 0) r = rh_str(H, "");
            else if (n == 1) r = is_subclass(c, (Class *)py_exc[EX_KeyError]) ? py_repr(rh_tuple_get(args, 0)) : py_str(rh_tuple_get(args, 0));
            else r = py_repr(args);
            rh_decref(args);
            return r;
        }
    }
    return py_repr(o);
}

/* ---------------------------------------------------------------------------
 * Truth, equality, comparison, hashing
 * ------------------------------------------------------------------------- */
int py_truth(O *o) {
    if (o == rh_True) return 1;
    if (o == rh_False || o == rh_None) return 0;
    const rh_type *t = rh_type_of(o);
    if (t == &rh_int_type) return rh_int_value(o) != 0;
    if (t == &rh_float_type) return rh_float_value(o) != 0.0;
    if (t == &rh_str_type) return rh_str_nbytes(o) != 0;
    if (t == &rh_list_type) return rh_list_size(o) != 0;
    if (t == &rh_tuple_type) return rh_tuple_size(o) != 0;
    if (t == &rh_dict_type) return rh_dict_size(o) != 0;
    if (t == &rh_set_type) return rh_set_size(o) != 0;
    if (t == &rh_bytes_type) return rh_bytes_len(o) != 0;
    if (t == &rh_bytearray_type) return rh_bytearray_len(o) != 0;
    if (t == &T_range) { Range *r = (Range *)o; return r->step > 0 ? r->start < r->stop : r->start > r->stop; }
    if (rh_is_instance(o)) {
        O *f = dunder(o, "__bool__");
        if (f) {
            O *r = call1(f, o);
            if (!r) return -1;
            int v = r == rh_True;
            if (r != rh_True && r != rh_False) {
                rh_decref(r);
                py_raise(EX_TypeError, "__bool__ should return bool, returned %s", rh_str_cstr(type_of(r)->name));
                return -1;
            }
            rh_decref(r);
            return v;
        }
        f = dunder(o, "__len__");
        if (f) {
            int64_t n = py_len(o);
            return n < 0 ? -1 : n != 0;
        }
        return 1;
    }
    if (t == &rh_weakvaluedict_type || t == &rh_weakkeydict_type || t == &rh_weakset_type) {
        int64_t n = py_len(o);
        return n < 0 ? -1 : n != 0;
    }
    return 1;
}

static bool is_num(O *o) {
    const rh_type *t = rh_type_of(o);
    return t == &rh_int_type || t == &rh_bool_type || t == &rh_float_type;
}

int py_eq(O *a, O *b) {
    if (a == b) {
        if (rh_is_type(a, &rh_float_type) && isnan(rh_float_value(a))) return 0;
        return 1;
    }
    O *r = py_richcmp(a, b, CMP_EQ);
    if (!r) return -1;
    int v = py_truth(r);
    rh_decref(r);
    return v;
}

static int seq_cmp(O *a, O *b, int op, bool list);

O *py_richcmp(O *a, O *b, int op) {
    switch (op) {
    case CMP_IS: return rh_bool(a == b);
    case CMP_ISNOT: return rh_bool(a != b);
    case CMP_IN: case CMP_NOTIN: {
        int r = py_contains(b, a);
        if (r < 0) return NULL;
        return rh_bool(op == CMP_IN ? r : !r);
    }
    default: break;
    }
    const char *names[] = {"__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"};
    const int swapped[] = {CMP_GT, CMP_GE, CMP_EQ, CMP_NE, CMP_LT, CMP_LE};
    int k = op - CMP_LT;
    if (rh_is_instance(a) || rh_is_instance(b)) {
        O *f = dunder(a, names[k]);
        if (f) {
            O *r = call2(f, a, b);
            if (!r) return NULL;
            if (rh_type_of(r) != &T_class || 1) {
                /* NotImplemented is not modelled: a result is a result */
                return r;
            }
        }
        int sk = swapped[k] - CMP_LT;
        f = dunder(b, names[sk]);
        if (f) return call2(f, b, a);
        if (op == CMP_NE && (f = dunder(a, "__eq__"))) {
            O *r = call2(f, a, b);
            if (!r) return NULL;
            int t = py_truth(r);
            rh_decref(r);
            return t < 0 ? NULL : rh_bool(!t);
        }
        if (op == CMP_EQ) return rh_bool(a == b);
        if (op == CMP_NE) return rh_bool(a != b);
        goto unorderable;
    }
    if (is_num(a) && is_num(b)) {
        if (rh_is_type(a, &rh_float_type) || rh_is_type(b, &rh_float_type)) {
            double x = rh_float_value(a), y = rh_float_value(b);
            bool r = op == CMP_LT ? x < y : op == CMP_LE ? x <= y : op == CMP_EQ ? x == y : op == CMP_NE ? x != y : op == CMP_GT ? x > y : x >= y;
            return rh_bool(r);
        }
        int64_t x = rh_int_value(a), y = rh_int_value(b);
        bool r = op == CMP_LT ? x < y : op == CMP_LE ? x <= y : op == CMP_EQ ? x == y : op == CMP_NE ? x != y : op == CMP_GT ? x > y : x >= y;
        return rh_bool(r);
    }
    const rh_type *ta = rh_type_of(a), *tb = rh_type_of(b);
    if ((ta == &rh_str_type && tb == &rh_str_type) || (ta == &rh_bytes_type && tb == &rh_bytes_type)) {
        size_t la = ta == &rh_str_type ? rh_str_nbytes(a) : rh_bytes_len(a);
        size_t lb = tb == &rh_str_type ? rh_str_nbytes(b) : rh_bytes_len(b);
        const void *pa = ta == &rh_str_type ? (const void *)rh_str_cstr(a) : rh_bytes_data(a);
        const void *pb = tb == &rh_str_type ? (const void *)rh_str_cstr(b) : rh_bytes_data(b);
        int c = memcmp(pa, pb, la < lb ? la : lb);
        if (c == 0) c = la < lb ? -1 : la > lb ? 1 : 0;
        bool r = op == CMP_LT ? c < 0 : op == CMP_LE ? c <= 0 : op == CMP_EQ ? c == 0 : op == CMP_NE ? c != 0 : op == CMP_GT ? c > 0 : c >= 0;
        return rh_bool(r);
    }
    if ((ta == &rh_list_type && tb == &rh_list_type) || (ta == &rh_tuple_type && tb == &rh_tuple_type)) {
        int r = seq_cmp(a, b, op, ta == &rh_list_type);
        if (r < 0) return NULL;
        return rh_bool(r);
    }
    if (op == CMP_EQ || op == CMP_NE) {
        if (ta == &rh_set_type && tb == &rh_set_type) {
            bool eq = rh_set_size(a) == rh_set_size(b);
            size_t pos = 0;
            O *k2;
            while (eq && rh_set_next(a, &pos, &k2)) if (rh_set_contains(b, k2) != 1) eq = false;
            return rh_bool(op == CMP_EQ ? eq : !eq);
        }
        if (ta == &rh_dict_type && tb == &rh_dict_type) {
            bool eq = rh_dict_size(a) == rh_dict_size(b);
            size_t pos = 0;
            O *k2, *v;
            while (eq && rh_dict_next(a, &pos, &k2, &v)) {
                O *w = rh_dict_get(b, k2);
                if (!w) { eq = false; break; }
                int e = py_eq(v, w);
                if (e < 0) return NULL;
                eq = e;
            }
            return rh_bool(op == CMP_EQ ? eq : !eq);
        }
        int e = rh_equal(a, b);
        if (e < 0) { rh_err_clear(H); e = a == b; }
        return rh_bool(op == CMP_EQ ? e : !e);
    }
    if (ta == &rh_set_type && tb == &rh_set_type) {
        /* subset tests */
        O *x = a, *y = b;
        if (op == CMP_GT || op == CMP_GE) { x = b; y = a; }
        bool sub = rh_set_size(x) <= rh_set_size(y);
        size_t pos = 0;
        O *k2;
        while (sub && rh_set_next(x, &pos, &k2)) if (rh_set_contains(y, k2) != 1) sub = false;
        if (op == CMP_LT || op == CMP_GT) sub = sub && rh_set_size(x) < rh_set_size(y);
        return rh_bool(sub);
    }
unorderable: {
        const char *sym[] = {"<", "<=", "==", "!=", ">", ">="};
        return py_raise(EX_TypeError, "'%s' not supported between instances of '%s' and '%s'", sym[k],
                        rh_str_cstr(type_of(a)->name), rh_str_cstr(type_of(b)->name));
    }
}

static int seq_cmp(O *a, O *b, int op, bool list) {
    size_t na = list ? rh_list_size(a) : rh_tuple_size(a);
    size_t nb = list ? rh_list_size(b) : rh_tuple_size(b);
    if ((op == CMP_EQ || op == CMP_NE) && na != nb) return op == CMP_NE;
    size_t i;
    for (i = 0; i < na && i < nb; i++) {
        O *x = list ? rh_list_get(a, (ptrdiff_t)i) : rh_tuple_get(a, i);
        O *y = list ? rh_list_get(b, (ptrdiff_t)i) : rh_tuple_get(b, i);
        int e = py_eq(x, y);
        if (e < 0) return -1;
        if (!e) {
            if (op == CMP_EQ) return 0;
            if (op == CMP_NE) return 1;
            O *r = py_richcmp(x, y, op);
            if (!r) return -1;
            int t = py_truth(r);
            rh_decref(r);
            return t;
        }
    }
    switch (op) {
    case CMP_LT: return na < nb;
    case CMP_LE: return na <= nb;
    case CMP_EQ: return na == nb;
    case CMP_NE: return na != nb;
    case CMP_GT: return na > nb;
    default: return na >= nb;
    }
}

int py_lt(O *a, O *b) {
    O *r = py_richcmp(a, b, CMP_LT);
    if (!r) return -1;
    int t = py_truth(r);
    rh_decref(r);
    return t;
}

rh_hash_t py_hash(O *o) {
    if (rh_is_instance(o)) {
        O *f = dunder(o, "__hash__");
        if (f) {
            O *r = call1(f, o);
            if (!r) return -1;
            rh_hash_t h = (rh_hash_t)rh_int_value(r);
            rh_decref(r);
            return h == -1 ? -2 : h;
        }
    }
    rh_hash_t h = rh_hash(o);
    if (h == -1) {
        rh_err_clear(H);
        py_raise(EX_TypeError, "unhashable type: '%s'", rh_str_cstr(type_of(o)->name));
    }
    return h;
}

/* ---------------------------------------------------------------------------
 * Arithmetic
 * ------------------------------------------------------------------------- */
static const char *op_sym(int op) {
    switch (op) {
    case OP_ADD: return "+"; case OP_SUB: return "-"; case OP_MUL: return "*"; case OP_DIV: return "/";
    case OP_FLOORDIV: return "//"; case OP_MOD: return "%"; case OP_POW: return "** or pow()";
    case OP_LSHIFT: return "<<"; case OP_RSHIFT: return ">>"; case OP_BITOR: return "|";
    case OP_BITXOR: return "^"; case OP_BITAND: return "&"; case OP_MATMUL: return "@";
    default: return "?";
    }
}
static const char *op_dunder(int op, bool r) {
    static const char *n[] = {NULL, "__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__", "__pow__",
                              "__lshift__", "__rshift__", "__or__", "__xor__", "__and__", "__matmul__"};
    static const char *rn[] = {NULL, "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rfloordiv__", "__rmod__", "__rpow__",
                               "__rlshift__", "__rrshift__", "__ror__", "__rxor__", "__rand__", "__rmatmul__"};
    return op >= 1 && op <= OP_MATMUL ? (r ? rn[op] : n[op]) : NULL;
}

static O *overflow(void) { return py_raise(EX_OverflowError, "integer overflow: refpy's int is 64-bit"); }

static O *int_op(int op, int64_t x, int64_t y) {
    int64_t r;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(); return rh_int(H, r);
    case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(); return rh_int(H, r);
    case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(); return rh_int(H, r);
    case OP_DIV:
        if (y == 0) return py_raise(EX_ZeroDivisionError, "division by zero");
        return rh_float(H, (double)x / (double)y);
    case OP_FLOORDIV: case OP_MOD: {
        if (y == 0) return py_raise(EX_ZeroDivisionError, op == OP_MOD ? "integer modulo by zero" : "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) return op == OP_MOD ? rh_int(H, 0) : overflow();
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) { q--; m += y; }
        return rh_int(H, op == OP_MOD ? m : q);
    }
    case OP_POW: {
        if (y < 0) return rh_float(H, pow((double)x, (double)y));
        int64_t acc = 1, base = x;
        while (y) {
            if (y & 1) { if (__builtin_mul_overflow(acc, base, &acc)) return overflow(); }
            y >>= 1;
            if (y && __builtin_mul_overflow(base, base, &base)) return overflow();
        }
        return rh_int(H, acc);
    }
    case OP_LSHIFT:
        if (y < 0) return py_raise(EX_ValueError, "negative shift count");
        if (x == 0) return rh_int(H, 0);
        if (y >= 63 || (x > 0 ? x > (INT64_MAX >> y) : x < (INT64_MIN >> y))) return overflow();
        return rh_int(H, (int64_t)((uint64_t)x << y));
    case OP_RSHIFT:
        if (y < 0) return py_raise(EX_ValueError, "negative shift count");
        return rh_int(H, y >= 64 ? (x < 0 ? -1 : 0) : x >> y);
    case OP_BITOR: return rh_int(H, x | y);
    case OP_BITXOR: return rh_int(H, x ^ y);
    case OP_BITAND: return rh_int(H, x & y);
    default: return NULL;
    }
}

static O *float_op(int op, double x, double y) {
    switch (op) {
    case OP_ADD: return rh_float(H, x + y);
    case OP_SUB: return rh_float(H, x - y);
    case OP_MUL: return rh_float(H, x * y);
    case OP_DIV: if (y == 0) return py_raise(EX_ZeroDivisionError, "float division by zero"); return rh_float(H, x / y);
    case OP_FLOORDIV: if (y == 0) return py_raise(EX_ZeroDivisionError, "float floor division by zero"); return rh_float(H, floor(x / y));
    case OP_MOD: {
        if (y == 0) return py_raise(EX_ZeroDivisionError, "float modulo");
        double m = fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return rh_float(H, m);
    }
    case OP_POW:
        if (x == 0 && y < 0) return py_raise(EX_ZeroDivisionError, "0.0 cannot be raised to a negative power");
        return rh_float(H, pow(x, y));
    default: return NULL;
    }
}

O *seq_concat(O *a, O *b);
O *seq_repeat(O *a, int64_t n);
O *set_binop(int op, O *a, O *b);

O *py_binop(int op, O *a, O *b) {
    const rh_type *ta = rh_type_of(a), *tb = rh_type_of(b);
    if ((ta == &rh_int_type || ta == &rh_bool_type) && (tb == &rh_int_type || tb == &rh_bool_type)) {
        if (op == OP_BITOR || op == OP_BITAND || op == OP_BITXOR) {
            if (ta == &rh_bool_type && tb == &rh_bool_type) {
                bool x = a == rh_True, y = b == rh_True;
                return rh_bool(op == OP_BITOR ? x | y : op == OP_BITAND ? x & y : x ^ y);
            }
        }
        O *r = int_op(op, rh_int_value(a), rh_int_value(b));
        if (r || py_err_occurred()) return r;
    } else if (is_num(a) && is_num(b)) {
        O *r = float_op(op, rh_float_value(a), rh_float_value(b));
        if (r || py_err_occurred()) return r;
    } else if (op == OP_ADD && ta == tb && (ta == &rh_str_type || ta == &rh_list_type || ta == &rh_tuple_type || ta == &rh_bytes_type || ta == &rh_bytearray_type)) {
        return seq_concat(a, b);
    } else if (op == OP_MUL && (ta == &rh_str_type || ta == &rh_list_type || ta == &rh_tuple_type || ta == &rh_bytes_type) && (tb == &rh_int_type || tb == &rh_bool_type)) {
        return seq_repeat(a, rh_int_value(b));
    } else if (op == OP_MUL && (tb == &rh_str_type || tb == &rh_list_type || tb == &rh_tuple_type || tb == &rh_bytes_type) && (ta == &rh_int_type || ta == &rh_bool_type)) {
        return seq_repeat(b, rh_int_value(a));
    } else if (op == OP_MOD && (ta == &rh_str_type || ta == &rh_bytes_type)) {
        if (ta == &rh_str_type) return py_str_mod(a, b);
    } else if (ta == &rh_set_type && tb == &rh_set_type && (op == OP_BITOR || op == OP_BITAND || op == OP_SUB || op == OP_BITXOR)) {
        return set_binop(op, a, b);
    } else if (ta == &rh_dict_type && tb == &rh_dict_type && op == OP_BITOR) {
        O *d = rh_dict_new(H);
        size_t pos = 0;
        O *k, *v;
        while (rh_dict_next(a, &pos, &k, &v)) rh_dict_set(d, k, v);
        pos = 0;
        while (rh_dict_next(b, &pos, &k, &v)) rh_dict_set(d, k, v);
        return d;
    }
    if (rh_is_instance(a)) {
        O *f = dunder(a, op_dunder(op, false));
        if (f) return call2(f, a, b);
    }
    if (rh_is_instance(b)) {
        O *f = dunder(b, op_dunder(op, true));
        if (f) return call2(f, b, a);
    }
    if (op == OP_MUL && (ta == &rh_str_type || ta == &rh_list_type || ta == &rh_tuple_type || ta == &rh_bytes_type))
        return py_raise(EX_TypeError, "can't multiply sequence by non-int of type '%s'", rh_str_cstr(type_of(b)->name));
    if (op == OP_MUL && (tb == &rh_str_type || tb == &rh_list_type || tb == &rh_tuple_type || tb == &rh_bytes_type))
        return py_raise(EX_TypeError, "can't multiply sequence by non-int of type '%s'", rh_str_cstr(type_of(a)->name));
    if (op == OP_ADD && (ta == &rh_str_type) != (tb == &rh_str_type) && ta == &rh_str_type)
        return py_raise(EX_TypeError, "can only concatenate str (not \"%s\") to str", rh_str_cstr(type_of(b)->name));
    if (op == OP_ADD && ta == &rh_list_type)
        return py_raise(EX_TypeError, "can only concatenate list (not \"%s\") to list", rh_str_cstr(type_of(b)->name));
    if (op == OP_ADD && ta == &rh_tuple_type)
        return py_raise(EX_TypeError, "can only concatenate tuple (not \"%s\") to tuple", rh_str_cstr(type_of(b)->name));
    return py_raise(EX_TypeError, "unsupported operand type(s) for %s: '%s' and '%s'", op_sym(op),
                    rh_str_cstr(type_of(a)->name), rh_str_cstr(type_of(b)->name));
}

O *py_inplace(int op, O *a, O *b) {
    const rh_type *ta = rh_type_of(a);
    if (ta == &rh_list_type && op == OP_ADD) {
        O *it = py_iter(b);
        if (!it) return NULL;
        O *x;
        while ((x = py_next(it))) { rh_list_append(a, x); rh_decref(x); }
        rh_decref(it);
        if (py_err_occurred()) return NULL;
        return rh_newref(a);
    }
    if (ta == &rh_set_type && rh_is_type(b, &rh_set_type) && (op == OP_BITOR || op == OP_SUB || op == OP_BITAND)) {
        if (op == OP_BITOR) {
            size_t pos = 0;
            O *k;
            while (rh_set_next(b, &pos, &k)) rh_set_add(a, k);
            return rh_newref(a);
        }
    }
    if (ta == &rh_bytearray_type && op == OP_ADD && (rh_is_type(b, &rh_bytes_type) || rh_is_type(b, &rh_bytearray_type))) {
        const void *d = rh_is_type(b, &rh_bytes_type) ? (const void *)rh_bytes_data(b) : (const void *)rh_bytearray_data(b);
        size_t n = rh_is_type(b, &rh_bytes_type) ? rh_bytes_len(b) : rh_bytearray_len(b);
        if (rh_bytearray_extend(a, d, n) < 0) return py_from_rh();
        return rh_newref(a);
    }
    if (rh_is_instance(a)) {
        static const char *in[] = {NULL, "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__",
                                   "__ilshift__", "__irshift__", "__ior__", "__ixor__", "__iand__", "__imatmul__"};
        O *f = op <= OP_MATMUL ? dunder(a, in[op]) : NULL;
        if (f) return call2(f, a, b);
    }
    return py_binop(op, a, b);
}

O *py_unary(int op, O *a) {
    const rh_type *t = rh_type_of(a);
    if (t == &rh_int_type || t == &rh_bool_type) {
        int64_t v = rh_int_value(a);
        if (op == OP_NEG) { if (v == INT64_MIN) return overflow(); return rh_int(H, -v); }
        if (op == OP_POS) return rh_int(H, v);
        if (op == OP_INVERT) return rh_int(H, ~v);
    }
    if (t == &rh_float_type) {
        if (op == OP_NEG) return rh_float(H, -rh_float_value(a));
        if (op == OP_POS) return rh_newref(a);
    }
    if (rh_is_instance(a)) {
        O *f = dunder(a, op == OP_NEG ? "__neg__" : op == OP_POS ? "__pos__" : "__invert__");
        if (f) return call1(f, a);
    }
    return py_raise(EX_TypeError, "bad operand type for unary %s: '%s'", op == OP_NEG ? "-" : op == OP_POS ? "+" : "~",
                    rh_str_cstr(type_of(a)->name));
}

void objects_init(void) {
    /* the class table is filled as classes are made */
}

/* Forgets the state of the previous run (refpy_run may run several programs
 * in one process: the fuzzer does). */
void objects_reset(void) {
    nttab = 0;
    memset(tcache, 0, sizeof tcache);
    repr_active = NULL;
    RH_CLEAR(cur_exc);
    free(cur_tb.v);
    memset(&cur_tb, 0, sizeof cur_tb);
}
