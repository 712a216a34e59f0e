/*
 * eval.c — the tree-walking evaluator.
 *
 * Every expression evaluates to a new reference (or NULL with an exception
 * set); every statement returns how control leaves it (normally, break,
 * continue, return, or an exception). The references the evaluator holds
 * while it works are the ones CPython's value stack would hold at the same
 * point: the operands of an operation, the callable and the arguments of a
 * call (a C array, never a tuple, as with CPython's vectorcall), the iterator
 * of a running `for`. That is what makes `sys.getrefcount(a)` print 2 for an
 * object named once: one reference from the name, one from the argument.
 *
 * Frames are C structs on the C stack, as CPython 3.11's _PyInterpreterFrame
 * lives in its data stack: not objects, never tracked by the collector, so
 * gc.get_referrers() does not see them and a collection treats what they
 * reference as referenced from outside (a root), exactly as in CPython 3.11.
 * A frame owns one reference per slot (locals, cells, free variables); at
 * exit it drops them in slot order, which fixes the order in which locals
 * die, as CPython's frame clear does.
 *
 * Two shapes of CPython's compiler are kept because they show in reference
 * counts and collector counts: `a, b = x, y` (two or three names, no star)
 * builds no tuple, and a method call `o.m(...)` builds no bound method (the
 * function is called with o prepended, as LOAD_METHOD/CALL do).
 *
 * A call of a Python function from Python code moves the arguments into the
 * callee's frame, as CPython 3.11's CALL does (the caller's references are
 * dropped once the callee holds its own), so inside the callee an argument
 * is referenced by the frame, not twice. Calls from C (type.__call__ running
 * __init__, callbacks, finalizers) copy them, as CPython's vectorcall does; a
 * fresh keyword dict becomes the callee's **kw dict when no key names a
 * parameter.
 *
 * Exceptions: the current exception and its traceback live in objects.c.
 * When an exception leaves a frame the frame adds its (function, line) to the
 * traceback; `except` fetches the exception, binds it and deletes the name at
 * the end of the handler (as CPython does), and a bare `raise` re-raises the
 * exception being handled, with its traceback.
 */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct Frame {
    O **fast;
    int nfast;
    O *globals;       /* borrowed */
    O *ns;            /* class body / module namespace, or NULL (borrowed) */
    Scope *sc;
    const char *name;
    int line;
    struct Frame *back;
    O *retval;
    O *handling;      /* exception being handled (for bare raise), borrowed */
    TB *handling_tb;
} Frame;

enum { X_NORMAL, X_BREAK, X_CONTINUE, X_RETURN, X_ERROR };

static Frame *cur_frame;
int recursion_depth;
const char *current_file = "<stdin>";
O *builtins_dict;

int current_line(void) { return cur_frame ? cur_frame->line : 0; }

int refpy_fuzz_mode;
long refpy_steps_left;
int refpy_step(void) {
    if (refpy_fuzz_mode && --refpy_steps_left < 0) {
        refpy_steps_left = 1000; /* room for the handlers and finalizers */
        py_raise(EX_RuntimeError, "refpy: step budget exhausted");
        return -1;
    }
    return 0;
}
static int eval_depth;

/* The C stack: the evaluator recurses on it, so besides Python's recursion
 * limit it stops before the stack runs out (frames are larger under
 * sanitizers). refpy_stack_base is set by refpy_run. */
char *refpy_stack_base;
static size_t stack_budget;
static bool stack_exhausted(void) {
    char here;
    if (!refpy_stack_base) return false;
    if (!stack_budget) {
        struct rlimit rl;
        size_t lim = 8u << 20;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) lim = (size_t)rl.rlim_cur;
        if (lim > (256u << 20)) lim = 256u << 20;
        stack_budget = lim / 4 * 3;
    }
    size_t used = (size_t)(refpy_stack_base > &here ? refpy_stack_base - &here : &here - refpy_stack_base);
    return used > stack_budget;
}

static O *eval(Frame *f, Node *n);
static int exec_body(Frame *f, NodeList *body);
static int assign(Frame *f, Node *t, O *v);

/* A condition's truth: 1 or 0, -1 on error. */
static int eval_cond(Frame *f, Node *n) {
    O *c = eval(f, n);
    if (!c) return -1;
    int t = py_truth(c);
    rh_decref(c);
    return t;
}

/* ---------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------- */
static O *load_global(Frame *f, O *name) {
    O *v = rh_dict_get(f->globals, name);
    if (!v) v = rh_dict_get(builtins_dict, name);
    if (!v) return py_raise(EX_NameError, "name '%s' is not defined", rh_str_cstr(name));
    return rh_newref(v);
}

static O *load_name(Frame *f, Node *n) {
    switch (n->scope) {
    case SC_FAST: {
        O *v = f->fast[n->idx];
        if (!v) return py_raise(EX_UnboundLocalError, "cannot access local variable '%s' where it is not associated with a value", rh_str_cstr(n->val));
        return rh_newref(v);
    }
    case SC_DEREF: {
        Cell *c = (Cell *)f->fast[n->idx];
        if (!c || !c->ref) {
            if (n->idx < f->sc->nlocals)
                return py_raise(EX_UnboundLocalError, "cannot access local variable '%s' where it is not associated with a value", rh_str_cstr(n->val));
            return py_raise(EX_NameError, "cannot access free variable '%s' where it is not associated with a value in enclosing scope", rh_str_cstr(n->val));
        }
        return rh_newref(c->ref);
    }
    case SC_NAME:
        if (f->ns) {
            O *v = rh_dict_get(f->ns, n->val);
            if (v) return rh_newref(v);
        }
        return load_global(f, n->val);
    default:
        return load_global(f, n->val);
    }
}

static int store_name(Frame *f, Node *n, O *v) {
    switch (n->scope) {
    case SC_FAST: {
        RH_SETREF(f->fast[n->idx], rh_newref(v));
        return 0;
    }
    case SC_DEREF: {
        Cell *c = (Cell *)f->fast[n->idx];
        RH_SETREF(c->ref, rh_newref(v));
        return 0;
    }
    case SC_NAME:
        if (f->ns) return rh_dict_set(f->ns, n->val, v) < 0 ? (py_from_rh(), -1) : 0;
        /* fall through */
    default:
        return rh_dict_set(f->globals, n->val, v) < 0 ? (py_from_rh(), -1) : 0;
    }
}

static int delete_name(Frame *f, Node *n) {
    switch (n->scope) {
    case SC_FAST:
        if (!f->fast[n->idx]) {
            py_raise(EX_UnboundLocalError, "cannot access local variable '%s' where it is not associated with a value", rh_str_cstr(n->val));
            return -1;
        }
        RH_CLEAR(f->fast[n->idx]);
        return 0;
    case SC_DEREF: {
        Cell *c = (Cell *)f->fast[n->idx];
        if (!c->ref) {
            py_raise(EX_NameError, "cannot access free variable '%s' where it is not associated with a value in enclosing scope", rh_str_cstr(n->val));
            return -1;
        }
        RH_CLEAR(c->ref);
        return 0;
    }
    default: {
        O *d = (n->scope == SC_NAME && f->ns) ? f->ns : f->globals;
        if (rh_dict_del(d, n->val) < 0) {
            rh_err_clear(H);
            py_raise(EX_NameError, "name '%s' is not defined", rh_str_cstr(n->val));
            return -1;
        }
        return 0;
    }
    }
}

/* ---------------------------------------------------------------------------
 * Functions and frames
 * ------------------------------------------------------------------------- */
static O *make_closure(Frame *f, Scope *sc) {
    int nfree = sc->nnames - sc->nlocals;
    if (nfree <= 0) return NULL;
    O *t = rh_tuple_new(H, (size_t)nfree);
    if (!t) return py_from_rh();
    for (int i = 0; i < nfree; i++) {
        O *c = f->fast[sc->free_from[sc->nlocals + i]];
        rh_tuple_set_steal(t, (size_t)i, rh_newref(c ? c : rh_None));
    }
    return t;
}

static O *make_function(Frame *f, Node *def) {
    Scope *sc = def->sc;
    /* defaults */
    int ndef = 0, nkwdef = 0;
    for (int i = 0; i < def->l1.n; i++) {
        Node *a = def->l1.v[i];
        if (a->a) { if (a->op == 3) nkwdef++; else ndef++; }
    }
    O *defaults = NULL, *kwdefaults = NULL;
    if (ndef) {
        defaults = rh_tuple_new(H, (size_t)ndef);
        if (!defaults) return py_from_rh();
        int k = 0;
        for (int i = 0; i < def->l1.n; i++) {
            Node *a = def->l1.v[i];
            if (a->a && a->op != 3) {
                O *v = eval(f, a->a);
                if (!v) { rh_decref(defaults); return NULL; }
                rh_tuple_set_steal(defaults, (size_t)k++, v);
            }
        }
    }
    if (nkwdef) {
        kwdefaults = rh_dict_new(H);
        for (int i = 0; i < def->l1.n; i++) {
            Node *a = def->l1.v[i];
            if (a->a && a->op == 3) {
                O *v = eval(f, a->a);
                if (!v) { rh_xdecref(defaults); rh_decref(kwdefaults); return NULL; }
                rh_dict_set(kwdefaults, a->val, v);
                rh_decref(v);
            }
        }
    }
    O *closure = make_closure(f, sc);
    if (!closure && py_err_occurred()) { rh_xdecref(defaults); rh_xdecref(kwdefaults); return NULL; }
    Function *fn = (Function *)rh_new(H, &T_function);
    if (!fn) { rh_xdecref(defaults); rh_xdecref(kwdefaults); rh_xdecref(closure); return py_from_rh(); }
    fn->def = def;
    fn->sc = sc;
    fn->name = rh_newref(def->val);
    if (f->sc && f->sc->kind == SK_CLASS) fn->qualname = rh_str_printf(H, "%s.%s", f->sc->name, rh_str_cstr(def->val));
    else if (f->sc && f->sc->kind == SK_FUNC) fn->qualname = rh_str_printf(H, "%s.<locals>.%s", f->name, rh_str_cstr(def->val));
    else fn->qualname = rh_newref(def->val);
    fn->globals = rh_newref(f->globals);
    fn->defaults = defaults;
    fn->kwdefaults = kwdefaults;
    fn->closure = closure;
    rh_gc_track(RH_OBJ(fn));
    return RH_OBJ(fn);
}

static void frame_clear(Frame *f) {
    for (int i = 0; i < f->nfast; i++) RH_CLEAR(f->fast[i]);
}



static int too_deep(void) {
    if (recursion_depth > (refpy_fuzz_mode ? 200 : 950) || stack_exhausted()) {
        py_raise(EX_RecursionError, "maximum recursion depth exceeded");
        return 1;
    }
    return 0;
}

/* Binds the arguments into the frame's slots (CPython's argument rules). */
static int bind_args(Function *fn, O **fast, O **args, size_t n, O *kw) {
    Node *def = fn->def;
    Scope *sc = fn->sc;
    if (!kw && sc->simple && n == (size_t)sc->npos) {
        /* the common case: exactly the positional parameters */
        for (size_t i = 0; i < n; i++) fast[i] = rh_newref(args[i]);
        return 0;
    }
    const char *fname = rh_str_cstr(fn->name);
    int npos = 0, nkwonly = 0;
    for (int i = 0; i < def->l1.n; i++) {
        int op = def->l1.v[i]->op;
        if (op == 0) npos++; else if (op == 3) nkwonly++;
    }
    size_t k = 0;
    int pi = 0;
    for (int i = 0; i < def->l1.n && k < n; i++) {
        Node *a = def->l1.v[i];
        if (a->op != 0) continue;
        fast[i] = rh_newref(args[k++]);
        pi++;
    }
    if (k < n) {
        if (sc->star < 0) {
            int ndef = fn->defaults ? (int)rh_tuple_size(fn->defaults) : 0;
            if (ndef)
                py_raise(EX_TypeError, "%s() takes from %d to %d positional arguments but %zu were given", fname, npos - ndef, npos, n);
            else
                py_raise(EX_TypeError, "%s() takes %d positional argument%s but %zu %s given", fname, npos, npos == 1 ? "" : "s", n, n == 1 ? "was" : "were");
            return -1;
        }
        O *t = rh_tuple_from(H, args + k, n - k);
        if (!t) { py_from_rh(); return -1; }
        fast[sc->star] = t;
    } else if (sc->star >= 0) {
        fast[sc->star] = rh_tuple_new(H, 0);
    }
    if (sc->dstar >= 0 && kw) {
        /* the caller's keyword dict is a fresh temporary: when no key names
         * a parameter it becomes the **kw dict itself (CPython builds one) */
        bool any_named = false;
        size_t pos = 0;
        O *key, *val;
        while (!any_named && rh_dict_next(kw, &pos, &key, &val))
            for (int i = 0; i < def->l1.n; i++) {
                Node *a = def->l1.v[i];
                if ((a->op == 0 || a->op == 3) && (a->val == key || rh_equal(a->val, key) == 1)) { any_named = true; break; }
            }
        if (!any_named) {
            fast[sc->dstar] = rh_newref(kw);
            kw = NULL;
        }
    }
    if (sc->dstar >= 0 && !fast[sc->dstar]) {
        fast[sc->dstar] = rh_dict_new(H);
        if (!fast[sc->dstar]) { py_from_rh(); return -1; }
    }
    if (kw) {
        size_t pos = 0;
        O *key, *val;
        while (rh_dict_next(kw, &pos, &key, &val)) {
            int slot = -1;
            for (int i = 0; i < def->l1.n; i++) {
                Node *a = def->l1.v[i];
                if ((a->op == 0 || a->op == 3) && (a->val == key || rh_equal(a->val, key) == 1)) { slot = i; break; }
            }
            if (slot < 0) {
                if (sc->dstar >= 0) { rh_dict_set(fast[sc->dstar], key, val); continue; }
                py_raise(EX_TypeError, "%s() got an unexpected keyword argument '%s'", fname, rh_str_cstr(key));
                return -1;
            }
            if (fast[slot]) {
                py_raise(EX_TypeError, "%s() got multiple values for argument '%s'", fname, rh_str_cstr(key));
                return -1;
            }
            fast[slot] = rh_newref(val);
        }
    }
    /* defaults and missing */
    int ndef = fn->defaults ? (int)rh_tuple_size(fn->defaults) : 0;
    int first_def = npos - ndef;
    int idx = 0;
    char missing[256] = "";
    int nmissing = 0;
    for (int i = 0; i < def->l1.n; i++) {
        Node *a = def->l1.v[i];
        if (a->op != 0) continue;
        int slot = i;
        if (!fast[slot]) {
            if (idx >= first_def) fast[slot] = rh_newref(rh_tuple_get(fn->defaults, (size_t)(idx - first_def)));
            else {
                nmissing++;
                size_t l = strlen(missing);
                snprintf(missing + l, sizeof missing - l, "%s'%s'", nmissing > 1 ? " and " : "", rh_str_cstr(a->val));
            }
        }
        idx++;
    }
    if (nmissing) {
        if (nmissing > 2) {
            /* CPython: 'a', 'b', and 'c' */
            char buf[256] = "";
            int c = 0;
            for (int i = 0; i < def->l1.n; i++) {
                Node *a = def->l1.v[i];
                if (a->op != 0 || fast[i]) continue;
                size_t l = strlen(buf);
                c++;
                snprintf(buf + l, sizeof buf - l, "%s'%s'", c == 1 ? "" : c == nmissing ? ", and " : ", ", rh_str_cstr(a->val));
            }
            py_raise(EX_TypeError, "%s() missing %d required positional arguments: %s", fname, nmissing, buf);
        } else
            py_raise(EX_TypeError, "%s() missing %d required positional argument%s: %s", fname, nmissing, nmissing > 1 ? "s" : "", missing);
        return -1;
    }
    for (int i = 0; i < def->l1.n; i++) {
        Node *a = def->l1.v[i];
        if (a->op != 3) continue;
        int slot = i;
        if (!fast[slot]) {
            O *d = fn->kwdefaults ? rh_dict_get(fn->kwdefaults, a->val) : NULL;
            if (!d) {
                py_raise(EX_TypeError, "%s() missing 1 required keyword-only argument: '%s'", fname, rh_str_cstr(a->val));
                return -1;
            }
            fast[slot] = rh_newref(d);
        }
    }
    (void)nkwonly;
    return 0;
}

static void setup_cells(Scope *sc, O **fast, O *closure) {
    for (int i = 0; i < sc->nlocals; i++) {
        if (sc->cell[i]) {
            O *c = new_cell(fast[i]);
            rh_xdecref(fast[i]);
            fast[i] = c;
        }
    }
    for (int i = sc->nlocals; i < sc->nnames; i++) {
        O *c = closure ? rh_tuple_get(closure, (size_t)(i - sc->nlocals)) : NULL;
        fast[i] = c && c != rh_None ? rh_newref(c) : new_cell(NULL);
    }
}

static O *call_function_impl(Function *fn, O **args, size_t n, O *kw, bool moving);
O *call_function(Function *fn, O **args, size_t n, O *kw) { return call_function_impl(fn, args, n, kw, false); }
/* Takes over the caller's references to args (they are dropped once bound). */
static O *call_function_moving(Function *fn, O **args, size_t n, O *kw) { return call_function_impl(fn, args, n, kw, true); }

static O *call_function_impl(Function *fn, O **args, size_t n, O *kw, bool moving) {
    if (too_deep()) {
        if (moving) for (size_t i = 0; i < n; i++) rh_decref(args[i]);
        return NULL;
    }
    Scope *sc = fn->sc;
    O *stackbuf[16];
    O **fast = sc->nnames <= 16 ? stackbuf : calloc((size_t)sc->nnames, sizeof(O *));
    if (!fast) return py_raise(EX_MemoryError, "out of memory");
    memset(fast, 0, (size_t)sc->nnames * sizeof(O *));
    Frame fr = {.fast = fast, .nfast = sc->nnames, .globals = fn->globals, .sc = sc,
                .name = rh_str_cstr(fn->name), .line = fn->def->line, .back = cur_frame};
    O *result = NULL;
    recursion_depth++;
    int bound = bind_args(fn, fast, args, n, kw);
    if (moving) for (size_t i = 0; i < n; i++) rh_decref(args[i]);
    if (bound < 0) {
        frame_clear(&fr);
        recursion_depth--;
        if (fast != stackbuf) free(fast);
        return NULL;
    }
    if (sc->has_free_or_cells) setup_cells(sc, fast, fn->closure);
    cur_frame = &fr;
    if (fn->def->kind == N_LAMBDA) {
        result = eval(&fr, fn->def->a);
        if (!result) py_tb_add(fr.name, fr.line);
    } else {
        int r = exec_body(&fr, &fn->def->l2);
        if (r == X_RETURN) result = fr.retval;
        else if (r == X_ERROR) { py_tb_add(fr.name, fr.line); result = NULL; }
        else result = rh_None;
    }
    cur_frame = fr.back;
    recursion_depth--;
    frame_clear(&fr);
    if (fast != stackbuf) free(fast);
    return result;
}

/* ---------------------------------------------------------------------------
 * Comprehensions (a scope of their own, run at once; no function object)
 * ------------------------------------------------------------------------- */
static int comp_loop(Frame *f, Node *c, int gi, O *acc) {
    Node *gen = c->l1.v[gi];
    O *it;
    if (gi == 0) it = rh_newref(f->fast[0]);
    else {
        O *src = eval(f, gen->b);
        if (!src) return -1;
        it = py_iter(src);
        rh_decref(src);
        if (!it) return -1;
    }
    int rc = 0;
    while (1) {
        O *item = py_next(it);
        if (!item) { if (py_err_occurred()) rc = -1; break; }
        int a = assign(f, gen->a, item);
        rh_decref(item);
        if (a < 0) { rc = -1; break; }
        bool ok = true;
        for (int k = 0; k < gen->l1.n; k++) {
            int t = eval_cond(f, gen->l1.v[k]);
            if (t < 0) { rc = -1; break; }
            if (!t) { ok = false; break; }
        }
        if (rc < 0) break;
        if (!ok) continue;
        if (gi + 1 < c->l1.n) {
            if (comp_loop(f, c, gi + 1, acc) < 0) { rc = -1; break; }
            continue;
        }
        if (c->kind == N_DICTCOMP) {
            O *k = eval(f, c->a);
            if (!k) { rc = -1; break; }
            O *v = eval(f, c->b);
            if (!v) { rh_decref(k); rc = -1; break; }
            int s = py_setitem(acc, k, v);
            rh_decref(k);
            rh_decref(v);
            if (s < 0) { rc = -1; break; }
        } else {
            O *v = eval(f, c->a);
            if (!v) { rc = -1; break; }
            int s = c->kind == N_SETCOMP ? rh_set_add(acc, v) : rh_list_append(acc, v);
            rh_decref(v);
            if (s < 0) { py_from_rh(); rc = -1; break; }
        }
    }
    rh_decref(it);
    return rc;
}

static O *eval_comp(Frame *f, Node *c) {
    O *src = eval(f, c->l1.v[0]->b);
    if (!src) return NULL;
    O *it = py_iter(src);
    rh_decref(src);
    if (!it) return NULL;
    Scope *sc = c->sc;
    O *stackbuf[16];
    O **fast = sc->nnames <= 16 ? stackbuf : calloc((size_t)sc->nnames, sizeof(O *));
    memset(fast, 0, (size_t)sc->nnames * sizeof(O *));
    fast[0] = it;
    O *closure = make_closure(f, sc);
    if (sc->has_free_or_cells) setup_cells(sc, fast, closure);
    rh_xdecref(closure);
    Frame fr = {.fast = fast, .nfast = sc->nnames, .globals = f->globals, .sc = sc, .name = sc->name,
                .line = c->line, .back = cur_frame};
    O *acc = c->kind == N_DICTCOMP ? rh_dict_new(H) : c->kind == N_SETCOMP ? rh_set_new(H) : rh_list_new(H, 0);
    cur_frame = &fr;
    recursion_depth++;
    int rc = acc ? comp_loop(&fr, c, 0, acc) : -1;
    recursion_depth--;
    cur_frame = fr.back;
    if (rc < 0) py_tb_add(fr.name, fr.line);
    frame_clear(&fr);
    if (fast != stackbuf) free(fast);
    if (rc < 0) { rh_xdecref(acc); return NULL; }
    if (c->kind == N_GENEXP) {
        O *r = py_iter(acc);
        rh_decref(acc);
        return r;
    }
    return acc;
}

/* ---------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------- */
static int push_arg(O ***argv, size_t *n, size_t *cap, O *v, O **local) {
    if (*n == *cap) {
        size_t nc = *cap * 2;
        O **nv = malloc(nc * sizeof(O *));
        if (!nv) { rh_decref(v); py_raise(EX_MemoryError, "out of memory"); return -1; }
        memcpy(nv, *argv, *n * sizeof(O *));
        if (*argv != local) free(*argv);
        *argv = nv;
        *cap = nc;
    }
    (*argv)[(*n)++] = v;
    return 0;
}

static O *eval_call(Frame *f, Node *n) {
    O *local[8];
    O **argv = local;
    size_t argc = 0, cap = 8;
    O *callee = NULL;
    O *kw = NULL;
    O *result = NULL;
    Node *fn = n->a;
    /* method call: o.m(...) without a bound method */
    if (fn->kind == N_ATTR) {
        O *obj = eval(f, fn->a);
        if (!obj) return NULL;
        bool unbound = false;
        callee = getmethod(obj, fn->val, &unbound);
        if (!callee) { rh_decref(obj); return NULL; }
        if (unbound) argv[argc++] = obj;
        else rh_decref(obj);
    } else {
        callee = eval(f, fn);
        if (!callee) return NULL;
    }
    for (int i = 0; i < n->l1.n; i++) {
        Node *a = n->l1.v[i];
        if (a->kind == N_STARRED) {
            O *seq = eval(f, a->a);
            if (!seq) goto done;
            O *it = py_iter(seq);
            rh_decref(seq);
            if (!it) {
                if (py_err_matches(py_exc[EX_TypeError])) {
                    py_err_clear();
                    py_raise(EX_TypeError, "argument after * must be an iterable");
                }
                goto done;
            }
            O *x;
            while ((x = py_next(it))) if (push_arg(&argv, &argc, &cap, x, local) < 0) { rh_decref(it); goto done; }
            rh_decref(it);
            if (py_err_occurred()) goto done;
        } else {
            O *v = eval(f, a);
            if (!v || push_arg(&argv, &argc, &cap, v, local) < 0) goto done;
        }
    }
    if (n->l2.n) {
        kw = rh_dict_new(H);
        for (int i = 0; i < n->l2.n; i++) {
            Node *k = n->l2.v[i];
            O *v = eval(f, k->a);
            if (!v) goto done;
            if (k->val) {
                rh_dict_set(kw, k->val, v);
            } else {
                if (!rh_is_type(v, &rh_dict_type)) {
                    rh_decref(v);
                    py_raise(EX_TypeError, "argument after ** must be a mapping");
                    goto done;
                }
                size_t pos = 0;
                O *kk, *vv;
                while (rh_dict_next(v, &pos, &kk, &vv)) rh_dict_set(kw, kk, vv);
            }
            rh_decref(v);
        }
    }
    f->line = n->line;
    if (rh_is_type(callee, &T_function)) {
        /* CPython 3.11 moves the arguments of a Python-to-Python call from
         * the caller's stack into the new frame: the caller's references go
         * as the callee's are taken */
        result = call_function_moving((Function *)callee, argv, argc, kw);
        argc = 0;
    } else if (rh_is_type(callee, &T_method) && rh_is_type(((Method *)callee)->func, &T_function)) {
        Method *m = (Method *)callee;
        O *local2[9];
        O **a = argc + 1 <= 9 ? local2 : malloc((argc + 1) * sizeof(O *));
        a[0] = rh_newref(m->self);
        memcpy(a + 1, argv, argc * sizeof(O *));
        result = call_function_moving((Function *)m->func, a, argc + 1, kw);
        if (a != local2) free(a);
        argc = 0;
    } else result = call(callee, argv, argc, kw);
done:
    for (size_t i = 0; i < argc; i++) rh_decref(argv[i]);
    if (argv != local) free(argv);
    rh_xdecref(kw);
    rh_decref(callee);
    return result;
}

/* ---------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------- */
static O *eval_seq_items(Frame *f, NodeList *l, O *list) {
    for (int i = 0; i < l->n; i++) {
        Node *e = l->v[i];
        if (e->kind == N_STARRED) {
            O *seq = eval(f, e->a);
            if (!seq) return NULL;
            O *it = py_iter(seq);
            rh_decref(seq);
            if (!it) return NULL;
            O *x;
            while ((x = py_next(it))) { rh_list_append(list, x); rh_decref(x); }
            rh_decref(it);
            if (py_err_occurred()) return NULL;
        } else {
            O *v = eval(f, e);
            if (!v) return NULL;
            int r = rh_list_append(list, v);
            rh_decref(v);
            if (r < 0) return py_from_rh();
        }
    }
    return list;
}

static bool has_star(NodeList *l) {
    for (int i = 0; i < l->n; i++) if (l->v[i]->kind == N_STARRED) return true;
    return false;
}

static O *eval_fstring(Frame *f, Node *n) {
    /* concatenate the parts into one buffer */
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    if (!buf) return py_raise(EX_MemoryError, "out of memory");
    for (int i = 0; i < n->l1.n; i++) {
        Node *p = n->l1.v[i];
        O *s;
        if (p->kind == N_CONST) s = rh_newref(p->val);
        else {
            O *v = eval(f, p->a);
            if (!v) { free(buf); return NULL; }
            if (p->op == 'r' || p->op == 'a') { O *r = py_repr(v); rh_decref(v); v = r; }
            else if (p->op == 's') { O *r = py_str(v); rh_decref(v); v = r; }
            if (!v) { free(buf); return NULL; }
            O *spec = NULL;
            if (p->b) {
                spec = eval_fstring(f, p->b);
                if (!spec) { rh_decref(v); free(buf); return NULL; }
            }
            s = py_format(v, spec);
            rh_decref(v);
            rh_xdecref(spec);
            if (!s) { free(buf); return NULL; }
        }
        size_t sl = rh_str_nbytes(s);
        if (len + sl + 1 > cap) {
            while (len + sl + 1 > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); rh_decref(s); return py_raise(EX_MemoryError, "out of memory"); }
            buf = nb;
        }
        memcpy(buf + len, rh_str_cstr(s), sl);
        len += sl;
        rh_decref(s);
    }
    O *r = rh_str_n(H, buf, len);
    free(buf);
    if (!r) return py_from_rh();
    return r;
}

static O *eval_inner(Frame *f, Node *n);
static O *eval(Frame *f, Node *n) {
    if (eval_depth > 2000) return py_raise(EX_RecursionError, "maximum recursion depth exceeded during evaluation");
    if (stack_exhausted()) return py_raise(EX_RecursionError, "maximum recursion depth exceeded");
    eval_depth++;
    O *r = eval_inner(f, n);
    eval_depth--;
    return r;
}

static O *eval_inner(Frame *f, Node *n) {
    switch (n->kind) {
    case N_CONST: return rh_newref(n->val);
    case N_NAME: return load_name(f, n);
    case N_ATTR: {
        O *o = eval(f, n->a);
        if (!o) return NULL;
        O *r = getattr_o(o, n->val);
        rh_decref(o);
        return r;
    }
    case N_SUBSCRIPT: {
        O *o = eval(f, n->a);
        if (!o) return NULL;
        O *k = eval(f, n->b);
        if (!k) { rh_decref(o); return NULL; }
        O *r = py_getitem(o, k);
        rh_decref(o);
        rh_decref(k);
        return r;
    }
    case N_SLICE: {
        Slice *s = (Slice *)rh_new(H, &T_slice);
        if (!s) return py_from_rh();
        s->start = n->a ? eval(f, n->a) : rh_None;
        if (!s->start) { s->stop = s->step = rh_None; rh_decref(RH_OBJ(s)); return NULL; }
        s->stop = n->b ? eval(f, n->b) : rh_None;
        if (!s->stop) { s->step = rh_None; rh_decref(RH_OBJ(s)); return NULL; }
        s->step = n->c ? eval(f, n->c) : rh_None;
        if (!s->step) { rh_decref(RH_OBJ(s)); return NULL; }
        return RH_OBJ(s);
    }
    case N_CALL: return eval_call(f, n);
    case N_BINOP: {
        O *a = eval(f, n->a);
        if (!a) return NULL;
        O *b = eval(f, n->b);
        if (!b) { rh_decref(a); return NULL; }
        O *r = py_binop(n->op, a, b);
        rh_decref(a);
        rh_decref(b);
        return r;
    }
    case N_UNARY: {
        O *a = eval(f, n->a);
        if (!a) return NULL;
        O *r;
        if (n->op == OP_NOT) {
            int t = py_truth(a);
            r = t < 0 ? NULL : rh_bool(!t);
        } else r = py_unary(n->op, a);
        rh_decref(a);
        return r;
    }
    case N_BOOLOP: {
        O *v = NULL;
        for (int i = 0; i < n->l1.n; i++) {
            if (v) rh_decref(v);
            v = eval(f, n->l1.v[i]);
            if (!v) return NULL;
            if (i == n->l1.n - 1) break;
            int t = py_truth(v);
            if (t < 0) { rh_decref(v); return NULL; }
            if (n->op == OP_AND ? !t : t) break;
        }
        return v;
    }
    case N_COMPARE: {
        O *left = eval(f, n->a);
        if (!left) return NULL;
        for (int i = 0; i < n->l1.n; i++) {
            O *right = eval(f, n->l1.v[i]);
            if (!right) { rh_decref(left); return NULL; }
            O *r = py_richcmp(left, right, n->l2.v[i]->op);
            rh_decref(left);
            if (!r) { rh_decref(right); return NULL; }
            if (i == n->l1.n - 1) { rh_decref(right); return r; }
            int t = py_truth(r);
            if (t <= 0) { rh_decref(right); if (t < 0) { rh_decref(r); return NULL; } return r; }
            rh_decref(r);
            left = right;
        }
        return left;
    }
    case N_IFEXP: {
        int t = eval_cond(f, n->b);
        if (t < 0) return NULL;
        return eval(f, t ? n->a : n->c);
    }
    case N_LAMBDA: return make_function(f, n);
    case N_TUPLE: {
        if (!has_star(&n->l1)) {
            O *t = rh_tuple_new(H, (size_t)n->l1.n);
            if (!t) return py_from_rh();
            for (int i = 0; i < n->l1.n; i++) {
                O *v = eval(f, n->l1.v[i]);
                if (!v) { rh_decref(t); return NULL; }
                rh_tuple_set_steal(t, (size_t)i, v);
            }
            return t;
        }
        O *l = rh_list_new(H, 0);
        if (!l) return py_from_rh();
        if (!eval_seq_items(f, &n->l1, l)) { rh_decref(l); return NULL; }
        O *t = py_tuple_from(l);
        rh_decref(l);
        return t;
    }
    case N_LIST: {
        if (!has_star(&n->l1)) {
            /* values first, then the list (as BUILD_LIST) */
            O *local[8];
            O **vals = n->l1.n <= 8 ? local : malloc((size_t)n->l1.n * sizeof(O *));
            for (int i = 0; i < n->l1.n; i++) {
                vals[i] = eval(f, n->l1.v[i]);
                if (!vals[i]) {
                    for (int k = 0; k < i; k++) rh_decref(vals[k]);
                    if (vals != local) free(vals);
                    return NULL;
                }
            }
            O *l = rh_list_new(H, (size_t)n->l1.n);
            for (int i = 0; i < n->l1.n; i++) {
                if (l) rh_list_set(l, i, vals[i]);
                rh_decref(vals[i]);
            }
            if (vals != local) free(vals);
            if (!l) return py_from_rh();
            return l;
        }
        O *l = rh_list_new(H, 0);
        if (!l) return py_from_rh();
        if (!eval_seq_items(f, &n->l1, l)) { rh_decref(l); return NULL; }
        return l;
    }
    case N_SET: {
        O *l = rh_list_new(H, 0);
        if (!l) return py_from_rh();
        if (!eval_seq_items(f, &n->l1, l)) { rh_decref(l); return NULL; }
        O *s = rh_set_new(H);
        for (size_t i = 0; s && i < rh_list_size(l); i++)
            if (rh_set_add(s, rh_list_get(l, (ptrdiff_t)i)) < 0) { rh_decref(s); s = NULL; py_from_rh(); }
        rh_decref(l);
        return s;
    }
    case N_DICT: {
        O *d = rh_dict_new(H);
        if (!d) return py_from_rh();
        for (int i = 0; i < n->l1.n; i++) {
            if (!n->l1.v[i]) {
                O *m = eval(f, n->l2.v[i]);
                if (!m) { rh_decref(d); return NULL; }
                if (!rh_is_type(m, &rh_dict_type)) {
                    rh_decref(m); rh_decref(d);
                    return py_raise(EX_TypeError, "'%s' object is not a mapping", type_of(m)->name ? rh_str_cstr(type_of(m)->name) : "?");
                }
                size_t pos = 0;
                O *k, *v;
                while (rh_dict_next(m, &pos, &k, &v)) rh_dict_set(d, k, v);
                rh_decref(m);
                continue;
            }
            O *k = eval(f, n->l1.v[i]);
            if (!k) { rh_decref(d); return NULL; }
            O *v = eval(f, n->l2.v[i]);
            if (!v) { rh_decref(k); rh_decref(d); return NULL; }
            int r = py_setitem(d, k, v);
            rh_decref(k);
            rh_decref(v);
            if (r < 0) { rh_decref(d); return NULL; }
        }
        return d;
    }
    case N_LISTCOMP: case N_SETCOMP: case N_DICTCOMP: case N_GENEXP: return eval_comp(f, n);
    case N_JOINEDSTR: return eval_fstring(f, n);
    case N_STARRED: return py_raise(EX_SyntaxError, "can't use starred expression here");
    case N_NAMEDEXPR: {
        O *v = eval(f, n->b);
        if (!v) return NULL;
        if (store_name(f, n->a, v) < 0) { rh_decref(v); return NULL; }
        return v;
    }
    default:
        return py_raise(EX_NotImplementedError, "refpy cannot evaluate this expression (line %d)", n->line);
    }
}

/* ---------------------------------------------------------------------------
 * Assignment
 * ------------------------------------------------------------------------- */
static int unpack(Frame *f, Node *t, O *v) {
    int n = t->l1.n, star = -1;
    for (int i = 0; i < n; i++) if (t->l1.v[i]->kind == N_STARRED) star = i;
    O *it = py_iter(v);
    if (!it) {
        if (py_err_matches(py_exc[EX_TypeError])) {
            py_err_clear();
            py_raise(EX_TypeError, "cannot unpack non-iterable %s object", rh_str_cstr(type_of(v)->name));
        }
        return -1;
    }
    O *local[8];
    O **items = n <= 8 ? local : malloc((size_t)n * sizeof(O *));
    int got = 0, rc = -1;
    int before = star < 0 ? n : star;
    for (; got < before; got++) {
        O *x = py_next(it);
        if (!x) {
            if (!py_err_occurred()) {
                if (star < 0) py_raise(EX_ValueError, "not enough values to unpack (expected %d, got %d)", n, got);
                else py_raise(EX_ValueError, "not enough values to unpack (expected at least %d, got %d)", n - 1, got);
            }
            goto out;
        }
        items[got] = x;
    }
    if (star < 0) {
        O *x = py_next(it);
        if (x) { rh_decref(x); py_raise(EX_ValueError, "too many values to unpack (expected %d)", n); goto out; }
        if (py_err_occurred()) goto out;
    } else {
        O *rest = py_list_from(it);
        if (!rest) goto out;
        int after = n - star - 1;
        int rn = (int)rh_list_size(rest);
        if (rn < after) {
            rh_decref(rest);
            py_raise(EX_ValueError, "not enough values to unpack (expected at least %d, got %d)", n - 1, star + rn);
            goto out;
        }
        for (int k = 0; k < after; k++) items[star + 1 + k] = rh_list_pop(rest, rn - after);
        items[star] = rest;
        got = n;
    }
    rc = 0;
    for (int i = 0; i < n; i++) {
        Node *tg = t->l1.v[i];
        if (tg->kind == N_STARRED) tg = tg->a;
        if (rc == 0 && assign(f, tg, items[i]) < 0) rc = -1;
    }
out:
    for (int i = 0; i < got; i++) rh_decref(items[i]);
    if (items != local) free(items);
    rh_decref(it);
    return rc;
}

/* The object (and for a subscript the key; else *key is NULL) of an attribute
 * or subscript target, evaluated in that order; -1 with nothing held on error. */
static int eval_target(Frame *f, Node *t, O **obj, O **key) {
    *key = NULL;
    if (!(*obj = eval(f, t->a))) return -1;
    if (t->kind != N_SUBSCRIPT) return 0;
    if (!(*key = eval(f, t->b))) { rh_decref(*obj); return -1; }
    return 0;
}

static int assign(Frame *f, Node *t, O *v) {
    switch (t->kind) {
    case N_NAME: return store_name(f, t, v);
    case N_ATTR: case N_SUBSCRIPT: {
        O *o, *k;
        if (eval_target(f, t, &o, &k) < 0) return -1;
        int r = k ? py_setitem(o, k, v) : setattr_o(o, t->val, v);
        rh_decref(o);
        rh_xdecref(k);
        return r;
    }
    case N_TUPLE: case N_LIST: return unpack(f, t, v);
    default:
        py_raise(EX_SyntaxError, "cannot assign to expression (line %d)", t->line);
        return -1;
    }
}

static int delete_target(Frame *f, Node *t) {
    switch (t->kind) {
    case N_NAME: return delete_name(f, t);
    case N_ATTR: case N_SUBSCRIPT: {
        O *o, *k;
        if (eval_target(f, t, &o, &k) < 0) return -1;
        int r = k ? py_delitem(o, k) : setattr_o(o, t->val, NULL);
        rh_decref(o);
        rh_xdecref(k);
        return r;
    }
    case N_TUPLE: case N_LIST:
        for (int i = 0; i < t->l1.n; i++) if (delete_target(f, t->l1.v[i]) < 0) return -1;
        return 0;
    default:
        py_raise(EX_SyntaxError, "cannot delete expression (line %d)", t->line);
        return -1;
    }
}

/* ---------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------- */
static int exec_stmt(Frame *f, Node *n);

static int exec_body(Frame *f, NodeList *body) {
    for (int i = 0; i < body->n; i++) {
        int r = exec_stmt(f, body->v[i]);
        if (r != X_NORMAL) return r;
    }
    return X_NORMAL;
}

static O *exc_class_check(O *c) {
    return (rh_is_type(c, &T_class) && ((Class *)c)->exc) ? c : NULL;
}

static int handler_matches(O *type) {
    if (rh_is_type(type, &rh_tuple_type)) {
        for (size_t i = 0; i < rh_tuple_size(type); i++) {
            int r = handler_matches(rh_tuple_get(type, i));
            if (r) return r;
        }
        return 0;
    }
    if (!exc_class_check(type)) {
        py_raise(EX_TypeError, "catching classes that do not inherit from BaseException is not allowed");
        return -1;
    }
    return py_err_matches(type) ? 1 : 0;
}

/* A def or class statement's end: its decorators applied to obj (a new
 * reference, or NULL on error) innermost first, the result bound to its name. */
static int decorate_and_store(Frame *f, Node *n, O *obj) {
    if (!obj) return X_ERROR;
    for (int i = n->l3.n - 1; i >= 0; i--) {
        O *d = eval(f, n->l3.v[i]);
        if (!d) { rh_decref(obj); return X_ERROR; }
        O *decorated = call1(d, obj);
        rh_decref(d);
        rh_decref(obj);
        if (!decorated) return X_ERROR;
        obj = decorated;
    }
    int r = store_name(f, n->a, obj);
    rh_decref(obj);
    return r < 0 ? X_ERROR : X_NORMAL;
}

static int exec_class(Frame *f, Node *n) {
    /* bases */
    Class *base = C_object;
    if (n->l1.n > 1) { py_raise(EX_NotImplementedError, "refpy does not support multiple inheritance (line %d)", n->line); return X_ERROR; }
    if (n->l1.n == 1) {
        O *b = eval(f, n->l1.v[0]);
        if (!b) return X_ERROR;
        if (!rh_is_type(b, &T_class)) {
            rh_decref(b);
            py_raise(EX_TypeError, "bases must be types");
            return X_ERROR;
        }
        base = (Class *)b;
        rh_decref(b); /* the class object keeps it; it is alive through the name */
    }
    O *ns = rh_dict_new(H);
    if (!ns) { py_from_rh(); return X_ERROR; }
    O *modname = rh_dict_get_str(f->globals, "__name__");
    if (modname) rh_dict_set_str(ns, "__module__", modname);
    O *qn = rh_newref(n->val);
    rh_dict_set_str(ns, "__qualname__", qn);
    rh_decref(qn);
    Scope *sc = n->sc;
    O *stackbuf[16];
    O **fast = sc->nnames <= 16 ? stackbuf : calloc((size_t)sc->nnames, sizeof(O *));
    memset(fast, 0, (size_t)sc->nnames * sizeof(O *));
    O *closure = make_closure(f, sc);
    if (sc->nnames) setup_cells(sc, fast, closure);
    rh_xdecref(closure);
    Frame fr = {.fast = fast, .nfast = sc->nnames, .globals = f->globals, .ns = ns, .sc = sc,
                .name = rh_str_cstr(n->val), .line = n->line, .back = cur_frame};
    cur_frame = &fr;
    recursion_depth++;
    int r = exec_body(&fr, &n->l2);
    recursion_depth--;
    cur_frame = fr.back;
    frame_clear(&fr);
    if (fast != stackbuf) free(fast);
    if (r == X_ERROR) { py_tb_add(fr.name, fr.line); rh_decref(ns); return X_ERROR; }
    O *make_class(O *name, Class *base, O *ns);
    O *cls = make_class(n->val, base, ns);
    rh_decref(ns);
    return decorate_and_store(f, n, cls);
}

static int exec_with(Frame *f, Node *n, int item) {
    if (item == n->l1.n) return exec_body(f, &n->l2);
    Node *wi = n->l1.v[item];
    O *mgr = eval(f, wi->a);
    if (!mgr) return X_ERROR;
    Class *t = type_of(mgr);
    O *enter_f = class_lookup_s(t, "__enter__");
    O *exit_f = class_lookup_s(t, "__exit__");
    O *exitm = NULL;
    if (!enter_f || !exit_f) {
        /* built-in managers (files) expose methods through their tables */
        exitm = getattr_s(mgr, "__exit__");
        if (!exitm) {
            py_err_clear();
            py_raise(EX_TypeError, "'%s' object does not support the context manager protocol", rh_str_cstr(t->name));
            rh_decref(mgr);
            return X_ERROR;
        }
    } else exitm = new_method(exit_f, mgr);
    O *entered = call_method_s(mgr, "__enter__", NULL, 0);
    rh_decref(mgr);
    if (!entered) { rh_decref(exitm); return X_ERROR; }
    if (wi->b) {
        if (assign(f, wi->b, entered) < 0) { rh_decref(entered); rh_decref(exitm); return X_ERROR; }
    }
    rh_decref(entered);
    int r = exec_with(f, n, item + 1);
    if (r == X_ERROR) {
        TB *tb = py_tb_take();
        O *exc = py_err_fetch();
        O *args[3] = {RH_OBJ(type_of(exc)), exc, rh_None};
        O *res = call(exitm, args, 3, NULL);
        rh_decref(exitm);
        if (!res) { rh_decref(exc); py_tb_free(tb); return X_ERROR; }
        int t2 = py_truth(res);
        rh_decref(res);
        if (t2 > 0) { rh_decref(exc); py_tb_free(tb); return X_NORMAL; }
        py_raise_obj(exc);
        rh_decref(exc);
        py_tb_restore(tb);
        return X_ERROR;
    }
    O *args[3] = {rh_None, rh_None, rh_None};
    O *pending = r == X_RETURN ? f->retval : NULL;
    O *res = call(exitm, args, 3, NULL);
    rh_decref(exitm);
    if (!res) { rh_xdecref(pending); return X_ERROR; }
    rh_decref(res);
    return r;
}

static int exec_try(Frame *f, Node *n) {
    int r = exec_body(f, &n->l1);
    if (r == X_ERROR && n->l2.n) {
        for (int i = 0; i < n->l2.n; i++) {
            Node *h = n->l2.v[i];
            int m = 1;
            if (h->a) {
                TB *saved_tb = py_tb_take();
                O *saved = py_err_fetch();
                O *type = eval(f, h->a);
                if (!type) { rh_decref(saved); py_tb_free(saved_tb); r = X_ERROR; goto finally; }
                py_raise_obj(saved);
                py_tb_restore(saved_tb);
                m = handler_matches(type);
                rh_decref(type);
                if (m < 0) { rh_decref(saved); r = X_ERROR; goto finally; }
                rh_decref(saved);
            }
            if (!m) continue;
            TB *tb = py_tb_take();
            O *exc = py_err_fetch();
            O *prev = f->handling;
            TB *prev_tb = f->handling_tb;
            f->handling = exc;
            f->handling_tb = tb;
            if (h->b && store_name(f, h->b, exc) < 0) r = X_ERROR;
            else r = exec_body(f, &h->l1);
            f->handling = prev;
            f->handling_tb = prev_tb;
            if (h->b) {
                /* the name is deleted at the end of the handler */
                if (h->b->scope == SC_FAST) RH_CLEAR(f->fast[h->b->idx]);
                else if (h->b->scope == SC_DEREF) RH_CLEAR(((Cell *)f->fast[h->b->idx])->ref);
                else {
                    O *d = (h->b->scope == SC_NAME && f->ns) ? f->ns : f->globals;
                    O *errsave = NULL;
                    TB *tbsave = NULL;
                    if (r == X_ERROR) { tbsave = py_tb_take(); errsave = py_err_fetch(); }
                    if (rh_dict_del(d, h->val) < 0) rh_err_clear(H);
                    if (errsave) { py_raise_obj(errsave); rh_decref(errsave); py_tb_restore(tbsave); }
                }
            }
            rh_decref(exc);
            py_tb_free(tb);
            goto finally;
        }
    } else if (r == X_NORMAL && n->l3.n) {
        r = exec_body(f, &n->l3);
    }
finally:
    if (n->a) {
        O *exc = NULL;
        TB *tb = NULL;
        O *ret = NULL;
        if (r == X_ERROR) { tb = py_tb_take(); exc = py_err_fetch(); }
        if (r == X_RETURN) ret = f->retval;
        int r2 = exec_body(f, &n->a->l1);
        if (r2 != X_NORMAL) {
            rh_xdecref(exc);
            py_tb_free(tb);
            if (ret && r2 != X_RETURN) rh_decref(ret);
            else if (ret && r2 == X_RETURN) rh_decref(ret);
            return r2;
        }
        if (exc) { py_raise_obj(exc); rh_decref(exc); py_tb_restore(tb); }
        if (ret) f->retval = ret;
    }
    return r;
}

static O *import_from(O *mod, O *name) {
    O *v = getattr_o(mod, name);
    if (!v && py_err_matches(py_exc[EX_AttributeError])) {
        py_err_clear();
        O *mn = ((Module *)mod)->name;
        return py_raise(EX_ImportError, "cannot import name '%s' from '%s' (unknown location)", rh_str_cstr(name), rh_str_cstr(mn));
    }
    return v;
}

static int exec_stmt(Frame *f, Node *n) {
    f->line = n->line;
    if (refpy_fuzz_mode && refpy_step() < 0) return X_ERROR;
    switch (n->kind) {
    case N_EXPR: {
        O *v = eval(f, n->a);
        if (!v) return X_ERROR;
        rh_decref(v);
        return X_NORMAL;
    }
    case N_ASSIGN: {
        Node *t = n->l1.v[0];
        Node *val = n->a;
        /* a, b = x, y: no tuple (as CPython's compiler) */
        if (n->l1.n == 1 && (t->kind == N_TUPLE || t->kind == N_LIST) && val->kind == N_TUPLE &&
            t->l1.n == val->l1.n && t->l1.n <= 3 && !has_star(&t->l1) && !has_star(&val->l1)) {
            O *vals[3];
            for (int i = 0; i < val->l1.n; i++) {
                vals[i] = eval(f, val->l1.v[i]);
                if (!vals[i]) { for (int k = 0; k < i; k++) rh_decref(vals[k]); return X_ERROR; }
            }
            int rc = X_NORMAL;
            for (int i = 0; i < t->l1.n; i++) {
                if (rc == X_NORMAL && assign(f, t->l1.v[i], vals[i]) < 0) rc = X_ERROR;
            }
            for (int i = 0; i < val->l1.n; i++) rh_decref(vals[i]);
            return rc;
        }
        O *v = eval(f, val);
        if (!v) return X_ERROR;
        for (int i = 0; i < n->l1.n; i++) {
            if (assign(f, n->l1.v[i], v) < 0) { rh_decref(v); return X_ERROR; }
        }
        rh_decref(v);
        return X_NORMAL;
    }
    case N_AUGASSIGN: {
        Node *t = n->a;
        O *obj = NULL, *key = NULL, *cur;
        if (t->kind == N_NAME) cur = load_name(f, t);
        else {
            if (eval_target(f, t, &obj, &key) < 0) return X_ERROR;
            cur = key ? py_getitem(obj, key) : getattr_o(obj, t->val);
        }
        O *rhs = cur ? eval(f, n->b) : NULL;
        O *res = rhs ? py_inplace(n->op, cur, rhs) : NULL;
        rh_xdecref(cur);
        rh_xdecref(rhs);
        int rc = X_NORMAL;
        if (!res) rc = X_ERROR;
        else if (t->kind == N_NAME) rc = store_name(f, t, res) < 0 ? X_ERROR : X_NORMAL;
        else if (t->kind == N_ATTR) rc = setattr_o(obj, t->val, res) < 0 ? X_ERROR : X_NORMAL;
        else rc = py_setitem(obj, key, res) < 0 ? X_ERROR : X_NORMAL;
        rh_xdecref(res);
        rh_xdecref(obj);
        rh_xdecref(key);
        return rc;
    }
    case N_IF: {
        int t = eval_cond(f, n->a);
        if (t < 0) return X_ERROR;
        if (t) return exec_body(f, &n->l1);
        if (n->l2.n == 1 && n->l2.v[0]->kind == N_IF) return exec_stmt(f, n->l2.v[0]);
        return exec_body(f, &n->l2);
    }
    case N_WHILE: {
        while (1) {
            f->line = n->line;
            int t = eval_cond(f, n->a);
            if (t < 0) return X_ERROR;
            if (!t) break;
            int r = exec_body(f, &n->l1);
            if (r == X_BREAK) return X_NORMAL;
            if (r == X_CONTINUE || r == X_NORMAL) continue;
            return r;
        }
        return exec_body(f, &n->l2);
    }
    case N_FOR: {
        O *seq = eval(f, n->b);
        if (!seq) return X_ERROR;
        O *it = py_iter(seq);
        rh_decref(seq);
        if (!it) return X_ERROR;
        while (1) {
            O *x = py_next(it);
            if (!x) {
                if (py_err_occurred()) { rh_decref(it); return X_ERROR; }
                break;
            }
            int a = assign(f, n->a, x);
            rh_decref(x);
            if (a < 0) { rh_decref(it); return X_ERROR; }
            int r = exec_body(f, &n->l1);
            if (r == X_BREAK) { rh_decref(it); return X_NORMAL; }
            if (r == X_CONTINUE || r == X_NORMAL) continue;
            rh_decref(it);
            return r;
        }
        rh_decref(it);
        return exec_body(f, &n->l2);
    }
    case N_BREAK: return X_BREAK;
    case N_CONTINUE: return X_CONTINUE;
    case N_PASS: case N_GLOBAL: case N_NONLOCAL: return X_NORMAL;
    case N_DEL:
        for (int i = 0; i < n->l1.n; i++) if (delete_target(f, n->l1.v[i]) < 0) return X_ERROR;
        return X_NORMAL;
    case N_RETURN: {
        O *v = n->a ? eval(f, n->a) : rh_None;
        if (!v) return X_ERROR;
        f->retval = v;
        return X_RETURN;
    }
    case N_FUNCDEF: return decorate_and_store(f, n, make_function(f, n));
    case N_CLASSDEF: return exec_class(f, n);
    case N_TRY: return exec_try(f, n);
    case N_WITH: return exec_with(f, n, 0);
    case N_RAISE: {
        if (!n->a) {
            if (!f->handling) {
                /* look in the enclosing frames: a bare raise re-raises the
                 * exception being handled */
                for (Frame *b = f->back; b; b = b->back) if (b->handling) { f->handling = NULL; py_raise_obj(b->handling); return X_ERROR; }
                py_raise(EX_RuntimeError, "No active exception to reraise");
                return X_ERROR;
            }
            py_raise_obj(f->handling);
            py_tb_restore(NULL);
            return X_ERROR;
        }
        O *e = eval(f, n->a);
        if (!e) return X_ERROR;
        if (n->b) {
            O *cause = eval(f, n->b);
            if (!cause) { rh_decref(e); return X_ERROR; }
            rh_decref(cause);
        }
        if (rh_is_type(e, &T_class)) {
            if (!((Class *)e)->exc) {
                rh_decref(e);
                py_raise(EX_TypeError, "exceptions must derive from BaseException");
                return X_ERROR;
            }
            O *inst = call0(e);
            rh_decref(e);
            if (!inst) return X_ERROR;
            e = inst;
        }
        if (!isinstance_of(e, (Class *)py_exc[EX_BaseException])) {
            rh_decref(e);
            py_raise(EX_TypeError, "exceptions must derive from BaseException");
            return X_ERROR;
        }
        py_raise_obj(e);
        rh_decref(e);
        return X_ERROR;
    }
    case N_ASSERT: {
        int t = eval_cond(f, n->a);
        if (t < 0) return X_ERROR;
        if (!t) {
            if (n->b) {
                O *m = eval(f, n->b);
                if (!m) return X_ERROR;
                O *e = call1(py_exc[EX_AssertionError], m);
                rh_decref(m);
                if (!e) return X_ERROR;
                py_raise_obj(e);
                rh_decref(e);
            } else {
                O *e = call0(py_exc[EX_AssertionError]);
                if (!e) return X_ERROR;
                py_raise_obj(e);
                rh_decref(e);
            }
            return X_ERROR;
        }
        return X_NORMAL;
    }
    case N_IMPORT:
        for (int i = 0; i < n->l1.n; i++) {
            Node *al = n->l1.v[i];
            O *m = import_module(al->val);
            if (!m) return X_ERROR;
            int r = store_name(f, al->b, m);
            rh_decref(m);
            if (r < 0) return X_ERROR;
        }
        return X_NORMAL;
    case N_IMPORTFROM: {
        O *m = import_module(n->val);
        if (!m) return X_ERROR;
        for (int i = 0; i < n->l1.n; i++) {
            Node *al = n->l1.v[i];
            O *v = import_from(m, al->val);
            if (!v) { rh_decref(m); return X_ERROR; }
            int r = store_name(f, al->b, v);
            rh_decref(v);
            if (r < 0) { rh_decref(m); return X_ERROR; }
        }
        rh_decref(m);
        return X_NORMAL;
    }
    default:
        py_raise(EX_NotImplementedError, "refpy cannot execute this statement (line %d)", n->line);
        return X_ERROR;
    }
}

/* The module's frame lives while its code runs. */
O *run_module_source(const char *src, const char *filename, const char *modname) {
    current_file = filename;
    Node *mod = parse_program(src, filename);
    if (!mod) return NULL;
    O *globals = rh_dict_new(H);
    if (!globals) return py_from_rh();
    O *nm = rh_str(H, modname);
    rh_dict_set_str(globals, "__name__", nm);
    rh_decref(nm);
    rh_dict_set_str(globals, "__doc__", rh_None);
    O *fnm = rh_str(H, filename);
    rh_dict_set_str(globals, "__file__", fnm);
    rh_decref(fnm);
    Frame fr = {.fast = NULL, .nfast = 0, .globals = globals, .ns = NULL, .sc = mod->sc, .name = "<module>",
                .line = 1, .back = cur_frame};
    cur_frame = &fr;
    int r = exec_body(&fr, &mod->l1);
    cur_frame = fr.back;
    if (r == X_ERROR) {
        py_tb_add("<module>", fr.line);
        /* the globals stay alive until the error is printed */
        return globals;
    }
    return globals;
}

O *globals_of_current(void);
O *globals_of_current(void) { return cur_frame ? cur_frame->globals : NULL; }
O *locals_of_current(void);
O *locals_of_current(void) {
    if (!cur_frame) return NULL;
    if (cur_frame->ns) return rh_newref(cur_frame->ns);
    if (!cur_frame->fast) return rh_newref(cur_frame->globals);
    O *d = rh_dict_new(H);
    for (int i = 0; i < cur_frame->sc->nlocals; i++) {
        O *v = cur_frame->fast[i];
        if (v && cur_frame->sc->cell[i]) v = ((Cell *)v)->ref;
        if (v) rh_dict_set(d, cur_frame->sc->names[i], v);
    }
    return d;
}

/* super() without arguments: the class whose namespace holds the running
 * function (found through the first argument's classes), and that argument */
O *super_of_current(void);
O *super_of_current(void) {
    Frame *f = cur_frame;
    if (!f || !f->fast || f->sc->nparams < 1 || !f->fast[0])
        return py_raise(EX_RuntimeError, "super(): no arguments");
    O *self = f->fast[0];
    if (f->sc->cell[0]) self = ((Cell *)self)->ref;
    if (!self) return py_raise(EX_RuntimeError, "super(): arg[0] deleted");
    Class *start = rh_is_type(self, &T_class) ? (Class *)self : type_of(self);
    for (Class *c = start; c; c = c->base) {
        size_t pos = 0;
        O *k, *v;
        while (c->dict && rh_dict_next(c->dict, &pos, &k, &v)) {
            if (rh_is_type(v, &T_function) && ((Function *)v)->sc == f->sc) {
                Method *s = (Method *)rh_new(H, &T_super);
                s->func = rh_newref(RH_OBJ(c));
                s->self = rh_newref(self);
                rh_gc_track(RH_OBJ(s));
                return RH_OBJ(s);
            }
        }
    }
    return py_raise(EX_RuntimeError, "super(): __class__ cell not found");
}
