/*
 * driver.c — the refheap side of the differential tests against CPython 3.11.
 *
 * Reads programs in the text form written by gen.py (one operation per line,
 * "program <label> <nids>" ... "end", any number of programs per input) and
 * runs each on a fresh heap, printing the canonical event log that pyrt.py
 * prints for the same program run by python3. run.py compares the two.
 *
 * Model. The program's own variables are the array V of owned references,
 * and the resurrection list (where the finalizer of kind "res" stores self)
 * is a C array of owned references too: roots that no container holds, so
 * the collector sees them only as references from outside. (CPython's side,
 * pyrt.py, holds both the same way, through Py_INCREF'd addresses, so that
 * the collector's list order, which decides tuple untracking, is comparable.)
 * Every numbered object except weak references owns a *witness*: an object
 * of a private non-container type (never tracked, never counted by a
 * collection, never makes a dict or tuple tracked) that nothing else
 * references. Its destroy hook records "free <id>", so an object is alive
 * exactly until its witness dies -- which happens when the owner is really
 * destroyed, never when it is merely found unreachable and then resurrected.
 * CPython's side uses a code object with a weakref callback for the same role.
 *
 * Objects are named by the id of their creating operation. An address maps
 * to the newest id created at it: a live object's address is unique, so for
 * live objects the lookup is exact (see num()).
 *
 * Every operation is guarded: an operand the program no longer holds makes
 * the operation a no-op, so any sub-list of a program is a valid program (the
 * minimiser in run.py depends on that). Operands are held by a strong
 * reference for the duration of an operation, as CPython's helper frames hold
 * them, so callbacks that drop V entries never free an operand mid-operation.
 *
 * Log lines (identical on both sides): "<op index> <text>", where an
 * operation's primary output comes first, then "ev <events sorted>", then
 * "order <id>: fin-first|cb-first" for each object with both a finalizer and
 * a callback event in the operation, then "cborder <referent>: <weakref ids
 * in call order>" for each referent with more than one callback in the
 * operation (CPython guarantees newest first). README.md has the vocabulary.
 * The world is destroyed after the last operation without logging.
 */
#include "refheap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest input line and longest event text, with ample room for the
 * vocabulary's few short tokens. */
#define LINE_MAX_LEN 512
#define EVENT_LEN 48
#define MAX_TOKENS 16
/* Ids per program: far above what gen.py produces (a few hundred). */
#define MAX_IDS 100000

enum kind { K_NONE = 0, K_PLAIN, K_SLOTS, K_FIN, K_RES, K_LEGACY, K_LIST, K_DICT, K_TUPLE, K_WREF };
enum action { A_NONE = 0, A_DROP, A_LINK, A_COLLECT, A_KEEP };

static const char *const kind_names[] = {"", "plain", "slots", "fin", "res", "legacy",
                                         "list", "dict", "tuple", "wref"};

typedef struct witness {
    RH_OBJECT_HEAD;
    int id;
    unsigned serial; /* program serial: a witness from an older heap never logs */
} witness;

typedef struct wrinfo {
    int target;
    int action;
    int a, s, b;
} wrinfo;

static struct {
    rh_heap *h;
    unsigned serial;
    int nids;
    rh_object **V;
    int *kind;
    unsigned char *freed;
    wrinfo *wr;
    wrinfo *fin; /* per 'fin' object: its finalizer's action (A_DROP a / A_KEEP a s) */
    rh_object **addr_ptr; /* creation order: (address, id) */
    int *addr_id;
    int naddr;
    rh_object *cls[K_LEGACY + 1];
    rh_object **res; /* resurrected objects: owned references, as the roots */
    size_t nres, cap_res;
    rh_object *wvd;
    int opi;
    int logging;
    int frozen_active;
    rh_gc_genstats base[RH_GC_GENERATIONS];
    char (*ev)[EVENT_LEN];
    size_t nev, cap_ev;
    int *cb_target, *cb_wid;
    size_t ncb, cap_cb;
    int incr; /* DIFFTEST_INCR: 0 off, 1 steps, 2 steps and automatic collection */
} S;

/* Work of the slice forced before each operation under DIFFTEST_INCR: small,
 * so that a round's phases are cut by many operations. */
#define INCR_STEP_WORK 4

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "driver: out of memory\n");
        exit(2);
    }
    return q;
}

/* ---- events and log lines ---- */

static char *ev_slot(void) {
    if (S.nev == S.cap_ev) {
        S.cap_ev = S.cap_ev ? 2 * S.cap_ev : 64;
        S.ev = xrealloc(S.ev, S.cap_ev * sizeof *S.ev);
    }
    return S.ev[S.nev++];
}

static void ev(const char *fmt, int n) {
    if (!S.logging) return;
    snprintf(ev_slot(), EVENT_LEN, fmt, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* Sorts n strings and prints them joined by sep. */
static void print_sorted(char (*items)[EVENT_LEN], size_t n, const char *sep) {
    if (n == 0) return;
    qsort(items, n, EVENT_LEN, cmp_str);
    for (size_t i = 0; i < n; i++) printf("%s%s", i ? sep : "", items[i]);
}

/* For each object with both a finalizer event and a callback event in the
 * current operation: did the finalizer come first? (pyrt.py's _flush.) */
static void print_order(void) {
    int *first_cb = malloc((size_t)S.nids * sizeof *first_cb);
    int *fin_pos = malloc((size_t)S.nids * sizeof *fin_pos);
    if (!first_cb || !fin_pos) exit(2);
    for (int i = 0; i < S.nids; i++) first_cb[i] = fin_pos[i] = -1;
    for (size_t pos = 0; pos < S.nev; pos++) {
        char word[16];
        int n;
        if (sscanf(S.ev[pos], "%15s %d", word, &n) != 2 || n < 0 || n >= S.nids) continue;
        if (!strcmp(word, "cb")) {
            int t = S.wr[n].target;
            if (t >= 0 && t < S.nids && first_cb[t] < 0) first_cb[t] = (int)pos;
        } else if ((!strcmp(word, "del") || !strcmp(word, "tpdel")) && fin_pos[n] < 0) {
            fin_pos[n] = (int)pos;
        }
    }
    for (int t = 0; t < S.nids; t++)
        if (first_cb[t] >= 0 && fin_pos[t] >= 0)
            printf("%d order %d: %s\n", S.opi, t, fin_pos[t] < first_cb[t] ? "fin-first" : "cb-first");
    free(first_cb);
    free(fin_pos);
}

static void flush_op(void) {
    if (S.nev) {
        char (*copy)[EVENT_LEN] = malloc(S.nev * sizeof *copy);
        if (!copy) exit(2);
        memcpy(copy, S.ev, S.nev * sizeof *copy);
        printf("%d ev ", S.opi);
        print_sorted(copy, S.nev, ", ");
        printf("\n");
        free(copy);
        print_order();
    }
    if (S.ncb) {
        /* referents in increasing order; per referent, call order */
        for (int t = 0; t < S.nids; t++) {
            size_t count = 0;
            for (size_t i = 0; i < S.ncb; i++) count += S.cb_target[i] == t;
            if (count < 2) continue;
            printf("%d cborder %d:", S.opi, t);
            for (size_t i = 0; i < S.ncb; i++)
                if (S.cb_target[i] == t) printf(" %d", S.cb_wid[i]);
            printf("\n");
        }
    }
    S.nev = 0;
    S.ncb = 0;
}

static void report_error(const char *what) {
    printf("%d error %s: %s %s\n", S.opi, what, rh_error_name(rh_err(S.h)), rh_errmsg(S.h));
    rh_err_clear(S.h);
}

/* ---- naming objects ---- */

static void addr_push(rh_object *o, int id) {
    S.addr_ptr = xrealloc(S.addr_ptr, (size_t)(S.naddr + 1) * sizeof *S.addr_ptr);
    S.addr_id = xrealloc(S.addr_id, (size_t)(S.naddr + 1) * sizeof *S.addr_id);
    S.addr_ptr[S.naddr] = o;
    S.addr_id[S.naddr] = id;
    S.naddr++;
}

/* The id of a live numbered object, or -1. */
static int num(const rh_object *o) {
    for (int i = S.naddr - 1; i >= 0; i--) {
        if (S.addr_ptr[i] == o) {
            int n = S.addr_id[i];
            if (S.kind[n] != K_WREF && S.freed[n]) return -1;
            return n;
        }
    }
    return -1;
}

/* ---- the witness type ---- */

static void witness_destroy(rh_object *self) {
    witness *w = (witness *)self;
    if (S.logging && w->serial == S.serial && w->id >= 0 && w->id < S.nids) {
        S.freed[w->id] = 1;
        ev("free %d", w->id);
    }
}

static const rh_type witness_type = {
    .name = "witness",
    .basicsize = sizeof(witness),
    .destroy = witness_destroy,
};

static rh_object *witness_new(int id) {
    witness *w = (witness *)rh_new(S.h, &witness_type);
    if (!w) return NULL;
    w->id = id;
    w->serial = S.serial;
    return RH_OBJ(w);
}

/* ---- finalizers and callbacks ---- */

static int resurrect_tag;

static void set_ref(rh_object *A, int kind, int slot, rh_object *B);
static void drop_inner(int a);

static void finalizer_fn(rh_object *self, void *data) {
    int n = num(self);
    if (n >= 0 && S.logging) {
        ev("del %d", n);
        const wrinfo *f = &S.fin[n];
        if (f->action == A_DROP) drop_inner(f->a);
        else if (f->action == A_KEEP && f->a >= 0 && f->a < S.nids && S.V[f->a])
            set_ref(S.V[f->a], S.kind[f->a], f->s, self); /* resurrect through V[a] */
    }
    if (data == &resurrect_tag && S.logging) {
        if (S.nres == S.cap_res) {
            S.cap_res = S.cap_res ? 2 * S.cap_res : 16;
            S.res = xrealloc(S.res, S.cap_res * sizeof *S.res);
        }
        S.res[S.nres++] = rh_newref(self);
    }
}

static void legacy_fn(rh_object *self, void *data) {
    (void)data;
    int n = num(self);
    if (n >= 0) ev("tpdel %d", n);
}

static void op_link_inner(int a, int slot, int b);

static void drop_inner(int a) {
    if (a < 0 || a >= S.nids || !S.V[a]) return;
    rh_object *tmp = S.V[a];
    S.V[a] = NULL;
    rh_decref(tmp);
}

static void wr_callback(rh_object *wr, void *data) {
    (void)wr;
    int w = (int)(intptr_t)data;
    if (!S.logging || w < 0 || w >= S.nids) return;
    ev("cb %d", w);
    if (S.ncb == S.cap_cb) {
        S.cap_cb = S.cap_cb ? 2 * S.cap_cb : 32;
        S.cb_target = xrealloc(S.cb_target, S.cap_cb * sizeof *S.cb_target);
        S.cb_wid = xrealloc(S.cb_wid, S.cap_cb * sizeof *S.cb_wid);
    }
    S.cb_target[S.ncb] = S.wr[w].target;
    S.cb_wid[S.ncb] = w;
    S.ncb++;
    if (S.wr[w].action == A_DROP) drop_inner(S.wr[w].a);
    else if (S.wr[w].action == A_LINK) op_link_inner(S.wr[w].a, S.wr[w].s, S.wr[w].b);
    else if (S.wr[w].action == A_COLLECT) {
        intptr_t r = rh_gc_collect(S.h, S.wr[w].a);
        snprintf(ev_slot(), EVENT_LEN, "gc %d = %ld", w, (long)r);
    }
}

/* ---- program set-up and tear-down ---- */

/* Drops the resurrection list's references one at a time, first to last, as
 * pyrt.py's _clear_res does. Finalizers run meanwhile may append again: those
 * stay for the next clear. */
static void clear_res(void) {
    size_t n = S.nres;
    rh_object **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) exit(2);
    if (n) memcpy(items, S.res, n * sizeof *items);
    S.nres = 0;
    for (size_t i = 0; i < n; i++) rh_decref(items[i]);
    free(items);
}

static int is_instance_kind(int k) { return k >= K_PLAIN && k <= K_LEGACY; }

static int valid_id(int i) { return i >= 0 && i < S.nids; }

static int begin(int nids) {
    static const char *const slot_names[] = {"_w", "s0", "s1", "s2", "s3"};
    S.serial++;
    /* DIFFTEST_INCR=steps: the incremental policy, a slice of old-generation
     * work forced before every operation; =auto: also automatic collection at
     * tiny thresholds (run.py --incremental, which compares only what such a
     * run must agree on). */
    const char *incr = getenv("DIFFTEST_INCR");
    rh_heap_config cfg = {.gc_policy = incr ? RH_GC_POLICY_INCREMENTAL : RH_GC_POLICY_DEFAULT};
    S.incr = incr ? (strcmp(incr, "auto") == 0 ? 2 : 1) : 0;
    S.h = rh_heap_new(&cfg);
    if (!S.h) return -1;
    rh_gc_disable(S.h);
    if (S.incr == 2) {
        rh_gc_set_threshold(S.h, 3, 2, 2);
        rh_gc_enable(S.h);
    }
    S.nids = nids;
    S.V = calloc((size_t)nids, sizeof *S.V);
    S.kind = calloc((size_t)nids, sizeof *S.kind);
    S.freed = calloc((size_t)nids, 1);
    S.wr = calloc((size_t)nids, sizeof *S.wr);
    S.fin = calloc((size_t)nids, sizeof *S.fin);
    if (!S.V || !S.kind || !S.freed || !S.wr || !S.fin) return -1;
    S.naddr = 0;
    S.opi = -1;
    S.frozen_active = 0;
    S.nev = S.ncb = 0;
    rh_class_spec spec[K_LEGACY + 1];
    memset(spec, 0, sizeof spec);
    spec[K_PLAIN] = (rh_class_spec){.name = "Plain"};
    spec[K_SLOTS] = (rh_class_spec){.name = "Slotted", .slots = slot_names, .nslots = 5,
                                    .weakrefable = true};
    spec[K_FIN] = (rh_class_spec){.name = "Fin", .finalizer = finalizer_fn};
    spec[K_RES] = (rh_class_spec){.name = "Res", .finalizer = finalizer_fn,
                                  .data = &resurrect_tag};
    spec[K_LEGACY] = (rh_class_spec){.name = "Leg", .legacy_del = legacy_fn};
    for (int k = K_PLAIN; k <= K_LEGACY; k++) {
        S.cls[k] = rh_class_new(S.h, &spec[k]);
        if (!S.cls[k]) return -1;
    }
    S.nres = 0;
    S.wvd = rh_weakvaluedict_new(S.h);
    if (!S.wvd) return -1;
    rh_gc_get_stats(S.h, S.base);
    S.logging = 1;
    return 0;
}

static void end(void) {
    flush_op();
    S.logging = 0;
    for (int i = 0; i < S.nids; i++) RH_CLEAR(S.V[i]);
    clear_res();
    RH_CLEAR(S.wvd);
    for (int k = K_PLAIN; k <= K_LEGACY; k++) RH_CLEAR(S.cls[k]);
    rh_heap_destroy(S.h);
    S.h = NULL;
    free(S.V);
    free(S.kind);
    free(S.freed);
    free(S.wr);
    free(S.fin);
    S.fin = NULL;
    S.V = NULL;
    S.kind = NULL;
    S.freed = NULL;
    S.wr = NULL;
    printf("=== end\n");
    fflush(stdout);
}

/* ---- operations ---- */

static const char *attr_name(int kind, int slot, char *buf, size_t cap) {
    snprintf(buf, cap, kind == K_SLOTS ? "s%d" : "a%d", slot & 3);
    return buf;
}

static void op_new(int i, int kind, const int *items, int nitems, const wrinfo *fin) {
    if (!valid_id(i) || S.V[i]) return;
    if (kind == K_FIN) S.fin[i] = *fin;
    rh_object *w = witness_new(i);
    rh_object *o = NULL;
    if (!w) { report_error("new"); return; }
    if (is_instance_kind(kind)) {
        o = rh_instance_new(S.cls[kind]);
        if (o && rh_setattr(o, "_w", w) < 0) RH_CLEAR(o);
    } else if (kind == K_LIST) {
        o = rh_list_new(S.h, 0);
        if (o && rh_list_append(o, w) < 0) RH_CLEAR(o);
    } else if (kind == K_DICT) {
        o = rh_dict_new(S.h);
        if (o && rh_dict_set_str(o, "_w", w) < 0) RH_CLEAR(o);
    } else if (kind == K_TUPLE) {
        rh_object *arr[MAX_TOKENS];
        arr[0] = w;
        for (int j = 0; j < nitems; j++) {
            rh_object *x = valid_id(items[j]) ? S.V[items[j]] : NULL;
            arr[j + 1] = x ? x : rh_None;
        }
        o = rh_tuple_from(S.h, arr, (size_t)nitems + 1);
    }
    rh_decref(w);
    if (!o) { report_error("new"); return; }
    S.kind[i] = kind;
    addr_push(o, i);
    S.V[i] = o;
}

/* A reference from A (of kind `kind`) to B: attribute, append or key. */
static void set_ref(rh_object *A, int kind, int slot, rh_object *B) {
    char name[8];
    int rc = 0;
    if (is_instance_kind(kind)) rc = rh_setattr(A, attr_name(kind, slot, name, sizeof name), B);
    else if (kind == K_LIST) rc = rh_list_append(A, B);
    else if (kind == K_DICT) {
        snprintf(name, sizeof name, "k%d", slot & 3);
        rc = rh_dict_set_str(A, name, B);
    }
    if (rc < 0) report_error("link");
}

static void op_link_inner(int a, int slot, int b) {
    if (!valid_id(a) || !valid_id(b)) return;
    rh_object *A = S.V[a], *B = S.V[b];
    if (!A || !B) return;
    rh_incref(A);
    rh_incref(B);
    set_ref(A, S.kind[a], slot, B);
    rh_decref(A);
    rh_decref(B);
}

static void op_unlink(int a, int slot) {
    if (!valid_id(a) || !S.V[a]) return;
    rh_object *A = S.V[a];
    char name[8];
    int rc = 0;
    rh_incref(A);
    int k = S.kind[a];
    if (is_instance_kind(k)) {
        attr_name(k, slot, name, sizeof name);
        if (rh_hasattr(A, name) == 1) rc = rh_delattr(A, name);
    } else if (k == K_LIST) {
        size_t n = rh_list_size(A);
        if (n > 1) {
            rh_object *item = rh_list_pop(A, (ptrdiff_t)(1 + (size_t)slot % (n - 1)));
            if (item) rh_decref(item);
            else rc = -1;
        }
    } else if (k == K_DICT) {
        snprintf(name, sizeof name, "k%d", slot & 3);
        if (rh_dict_get_str(A, name)) rc = rh_dict_del_str(A, name);
    }
    if (rc < 0) report_error("unlink");
    rh_decref(A);
}

static void op_wref(int i, int t, int action, int a, int s, int b) {
    if (!valid_id(i) || !valid_id(t) || !S.V[t] || !is_instance_kind(S.kind[t]) || S.V[i]) return;
    rh_object *r;
    if (action < 0) {
        r = rh_weakref_new(S.V[t], NULL, NULL);
    } else {
        S.wr[i] = (wrinfo){.target = t, .action = action, .a = a, .s = s, .b = b};
        r = rh_weakref_new(S.V[t], wr_callback, (void *)(intptr_t)i);
    }
    if (!r) { report_error("wref"); return; }
    S.wr[i].target = t;
    S.kind[i] = K_WREF;
    addr_push(r, i);
    S.V[i] = r;
}

static void op_wvd(int key, int a) {
    if (!valid_id(a) || !S.V[a] || !is_instance_kind(S.kind[a])) return;
    rh_object *k = rh_str_printf(S.h, "w%d", key);
    if (!k || rh_weakvaluedict_set(S.wvd, k, S.V[a]) < 0) report_error("wvd");
    rh_xdecref(k);
}

/* A growable list of short strings, sorted before printing. */
typedef struct strlist {
    char (*items)[EVENT_LEN];
    size_t n, cap;
} strlist;

static char *strlist_add(strlist *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    return l->items[l->n++];
}

static void op_wvdcheck(void) {
    strlist l = {0};
    rh_weakiter it;
    rh_object *k, *v;
    rh_weakiter_begin(&it, S.wvd);
    while (rh_weakiter_next(&it, &k, &v)) {
        if (v) {
            int n = num(v);
            char *e = strlist_add(&l);
            if (n >= 0) snprintf(e, EVENT_LEN, "%s=%d", rh_str_cstr(k), n);
            else snprintf(e, EVENT_LEN, "%s=?", rh_str_cstr(k));
        }
        rh_xdecref(k);
        rh_xdecref(v);
    }
    rh_weakiter_end(&it);
    printf("%d wvd ", S.opi);
    print_sorted(l.items, l.n, " ");
    printf("\n");
    free(l.items);
}

static void op_collect(int g) {
    intptr_t r = rh_gc_collect(S.h, g);
    long c[3];
    rh_gc_get_count(S.h, c);
    printf("%d collect %d = %ld count %ld %ld %ld\n", S.opi, g, (long)r, c[0], c[1], c[2]);
}

static void op_freeze(void) {
    rh_gc_freeze(S.h);
    long c[3];
    rh_gc_get_count(S.h, c);
    S.frozen_active = 1;
    printf("%d freeze count %ld %ld %ld\n", S.opi, c[0], c[1], c[2]);
}

static void op_stats(void) {
    rh_gc_genstats st[RH_GC_GENERATIONS];
    rh_gc_get_stats(S.h, st);
    printf("%d stats", S.opi);
    for (int g = 0; g < RH_GC_GENERATIONS; g++)
        printf(" %llu/%llu/%llu", (unsigned long long)(st[g].collections - S.base[g].collections),
               (unsigned long long)(st[g].collected - S.base[g].collected),
               (unsigned long long)(st[g].uncollectable - S.base[g].uncollectable));
    printf("\n");
}

static void op_garbage(void) {
    rh_object *gl = rh_gc_garbage(S.h);
    strlist l = {0};
    size_t n = gl ? rh_list_size(gl) : 0;
    for (size_t i = 0; i < n; i++) {
        int id = num(rh_list_get(gl, (ptrdiff_t)i));
        char *e = strlist_add(&l);
        if (id >= 0) snprintf(e, EVENT_LEN, "%d", id);
        else snprintf(e, EVENT_LEN, "?");
    }
    printf("%d garbage [", S.opi);
    print_sorted(l.items, l.n, " ");
    printf("]\n");
    free(l.items);
}

static void op_check(void) {
    signed char *gen = malloc((size_t)S.nids);
    unsigned char *fin = calloc((size_t)S.nids, 1);
    if (!gen || !fin) exit(2);
    memset(gen, -1, (size_t)S.nids);
    for (int g = 0; g < RH_GC_GENERATIONS; g++) {
        rh_object *l = rh_gc_get_objects(S.h, g);
        if (!l) { report_error("get_objects"); continue; }
        size_t n = rh_list_size(l);
        for (size_t i = 0; i < n; i++) {
            rh_object *o = rh_list_get(l, (ptrdiff_t)i);
            int id = num(o);
            if (id >= 0 && S.kind[id] != K_WREF && gen[id] < 0) {
                gen[id] = (signed char)g;
                fin[id] = rh_gc_is_finalized(o);
            }
        }
        rh_decref(l);
    }
    printf("%d check", S.opi);
    for (int n = 0; n < S.nids; n++) {
        if (S.kind[n] == K_NONE || S.kind[n] == K_WREF || S.freed[n]) continue;
        char st[8];
        rh_object *held = S.V[n];
        if (gen[n] >= 0) snprintf(st, sizeof st, "g%d", gen[n]);
        else {
            fin[n] = held && rh_gc_is_finalized(held);
            if (held) snprintf(st, sizeof st, "%s", rh_gc_is_tracked(held) ? "p" : "u");
            else snprintf(st, sizeof st, "%s", S.frozen_active ? "pu" : "u");
        }
        if (fin[n]) strcat(st, "F");
        printf(" %d:%s", n, st);
    }
    for (int n = 0; n < S.nids; n++) {
        if (S.kind[n] != K_WREF || !S.V[n]) continue;
        rh_object *o = rh_weakref_get(S.V[n]);
        if (!o) printf(" w%d->x", n);
        else {
            int m = num(o);
            if (m >= 0) printf(" w%d->%d", n, m);
            else printf(" w%d->?", n);
            rh_decref(o);
        }
    }
    printf("\n");
    free(gen);
    free(fin);
}

/* ---- the interpreter ---- */

static int kind_of(const char *name) {
    for (int k = K_PLAIN; k <= K_WREF; k++)
        if (strcmp(name, kind_names[k]) == 0) return k;
    return K_NONE;
}

static int tok_int(char **tok, int ntok, int i) { return i < ntok ? atoi(tok[i]) : -1; }

static void run_op(char **tok, int ntok) {
    const char *op = tok[0];
    flush_op();
    S.opi++;
    /* The slice's events belong to this operation (before its own). */
    if (S.incr) (void)rh_gc_step(S.h, INCR_STEP_WORK);
    if (!strcmp(op, "new") && ntok >= 3) {
        int items[MAX_TOKENS];
        int n = 0;
        int kind = kind_of(tok[2]);
        wrinfo fin = {.action = A_NONE};
        if (kind == K_FIN && ntok >= 5 && !strcmp(tok[3], "drop"))
            fin = (wrinfo){.action = A_DROP, .a = atoi(tok[4])};
        else if (kind == K_FIN && ntok >= 6 && !strcmp(tok[3], "keep"))
            fin = (wrinfo){.action = A_KEEP, .a = atoi(tok[4]), .s = atoi(tok[5])};
        else if (kind == K_TUPLE)
            for (int i = 3; i < ntok && n < MAX_TOKENS - 1; i++) items[n++] = atoi(tok[i]);
        op_new(atoi(tok[1]), kind, items, n, &fin);
    } else if (!strcmp(op, "wref") && ntok >= 4) {
        int action = -1, a = -1, s = 0, b = -1;
        if (!strcmp(tok[3], "none")) action = A_NONE;
        else if (!strcmp(tok[3], "drop")) { action = A_DROP; a = tok_int(tok, ntok, 4); }
        else if (!strcmp(tok[3], "link")) {
            action = A_LINK;
            a = tok_int(tok, ntok, 4);
            s = tok_int(tok, ntok, 5);
            b = tok_int(tok, ntok, 6);
        } else if (!strcmp(tok[3], "collect")) {
            action = A_COLLECT;
            a = tok_int(tok, ntok, 4);
        }
        op_wref(atoi(tok[1]), atoi(tok[2]), action, a, s, b);
    } else if (!strcmp(op, "link") && ntok >= 4) {
        op_link_inner(atoi(tok[1]), atoi(tok[2]), atoi(tok[3]));
    } else if (!strcmp(op, "unlink") && ntok >= 3) {
        op_unlink(atoi(tok[1]), atoi(tok[2]));
    } else if (!strcmp(op, "drop") && ntok >= 2) {
        drop_inner(atoi(tok[1]));
    } else if (!strcmp(op, "wvd") && ntok >= 3) {
        op_wvd(atoi(tok[1]), atoi(tok[2]));
    } else if (!strcmp(op, "wvdcheck")) {
        op_wvdcheck();
    } else if (!strcmp(op, "collect") && ntok >= 2) {
        op_collect(atoi(tok[1]));
    } else if (!strcmp(op, "freeze")) {
        op_freeze();
    } else if (!strcmp(op, "unfreeze")) {
        rh_gc_unfreeze(S.h);
        S.frozen_active = 0;
    } else if (!strcmp(op, "stats")) {
        op_stats();
    } else if (!strcmp(op, "garbage")) {
        op_garbage();
    } else if (!strcmp(op, "cleargarbage")) {
        rh_object *g = rh_gc_garbage(S.h);
        if (g) rh_list_clear(g);
    } else if (!strcmp(op, "debug") && ntok >= 2) {
        rh_gc_set_debug(S.h, !strcmp(tok[1], "saveall") ? RH_GC_DEBUG_SAVEALL : 0);
    } else if (!strcmp(op, "clearres")) {
        clear_res();
    } else if (!strcmp(op, "check")) {
        op_check();
    } else {
        printf("%d error unknown operation %s\n", S.opi, op);
    }
}

int main(int argc, char **argv) {
    FILE *in = stdin;
    if (argc > 1 && strcmp(argv[1], "-") != 0) {
        in = fopen(argv[1], "r");
        if (!in) {
            perror(argv[1]);
            return 2;
        }
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    char line[LINE_MAX_LEN];
    int inprog = 0;
    while (fgets(line, sizeof line, in)) {
        char *tok[MAX_TOKENS];
        int ntok = 0;
        for (char *p = strtok(line, " \t\r\n"); p && ntok < MAX_TOKENS; p = strtok(NULL, " \t\r\n"))
            tok[ntok++] = p;
        if (ntok == 0 || tok[0][0] == '#') continue;
        if (!strcmp(tok[0], "program") && ntok >= 3) {
            int nids = atoi(tok[2]);
            if (nids < 1 || nids > MAX_IDS) {
                fprintf(stderr, "driver: bad id count %d\n", nids);
                return 2;
            }
            printf("=== %s\n", tok[1]);
            if (begin(nids) < 0) {
                fprintf(stderr, "driver: cannot set up program %s\n", tok[1]);
                return 2;
            }
            inprog = 1;
        } else if (!strcmp(tok[0], "end")) {
            if (inprog) end();
            inprog = 0;
        } else if (inprog) {
            run_op(tok, ntok);
        }
    }
    if (inprog) end();
    if (in != stdin) fclose(in);
    free(S.addr_ptr);
    free(S.addr_id);
    free(S.ev);
    free(S.cb_target);
    free(S.cb_wid);
    free(S.res);
    return 0;
}
