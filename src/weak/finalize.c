/*
 * finalize.c — weakref.finalize, after CPython 3.11's Lib/weakref.py, and the
 * weak subsystem's end-of-heap hooks.
 *
 * A finalizer object remembers fn and data and owns a weakref to obj whose
 * callback calls the finalizer. While registered ("alive") it sits in the
 * heap's registry, a doubly linked list in creation order that owns a
 * reference to each member, so dropping the caller's reference does not
 * unregister it. The first of these events unregisters it, and only the
 * first does anything:
 *   - obj dies (the weakref's callback)  -> fn(data) runs;
 *   - rh_finalize_call                   -> fn(data) runs;
 *   - rh_finalize_detach                 -> fn is not run, (obj, fn, data) returned;
 *   - heap destruction (rh__weak_atexit) -> fn(data) runs, newest first;
 * Unregistering drops the weakref after detaching its callback (cbdata =
 * NULL), so a weakref someone else still holds (rh_weakref_list) never calls
 * a finalizer that is gone; in a collection that weakref is then freed by its
 * own callback and counted, as CPython counts the finalize weakref (a cycle
 * with a finalizer on one member: collect() == 3).
 *
 * At exit, as CPython's finalize._exitfunc: automatic collection is disabled,
 * the newest registered finalizer is run until none is left (so finalizers
 * registered by a running fn also run), then the registry is shut down:
 * finalizers that fire later (objects freed by the heap's last collection)
 * are unregistered without running fn. Python finalizers are not part of
 * reference cycles; neither are these (a finalizer owns only a weakref), so
 * the type is not a container.
 */
#include "weak/weak_internal.h"

typedef struct rh__finalizer {
    RH_OBJECT_HEAD;
    rh_object *wr;         /* weakref to obj, callback = fin_fire; NULL once dead */
    rh_finalize_fn fn;
    void *data;
    struct rh__finalizer *reg_prev, *reg_next;
    bool registered;
} rh__finalizer;

static bool is_finalizer(const rh_object *o) { return o->rh_type == &rh_finalize_type; }

static void drop_wr(rh__finalizer *f) {
    if (f->wr) ((rh__weakref *)f->wr)->cbdata = NULL;
    RH_CLEAR(f->wr);
}

/* Removes f from the registry and drops the registry's reference. The
 * caller holds its own reference to f. */
static void unregister(rh_heap *h, rh__finalizer *f) {
    struct rh__weak_state *ws = &h->weak;
    if (f->reg_prev) f->reg_prev->reg_next = f->reg_next;
    else ws->fin_first = f->reg_next;
    if (f->reg_next) f->reg_next->reg_prev = f->reg_prev;
    else ws->fin_last = f->reg_prev;
    f->reg_prev = f->reg_next = NULL;
    f->registered = false;
    rh_decref(RH_OBJ(f));
}

/* finalize.__call__: returns true when fn ran. */
static bool fire(rh__finalizer *f) {
    if (!f->registered) return false;
    rh_heap *h = rh__heap_of(f);
    rh_incref(RH_OBJ(f));
    unregister(h, f);
    bool run = !h->weak.fin_shutdown;
    if (run) f->fn(f->data);
    drop_wr(f);
    rh_decref(RH_OBJ(f));
    return run;
}

static void fin_fire(rh_object *wr, void *data) {
    (void)wr;
    if (data) fire(data);
}

static void finalize_destroy(rh_object *self) {
    drop_wr((rh__finalizer *)self);
}

static int finalize_repr(rh_object *self, char *buf, size_t cap) {
    rh__finalizer *f = (rh__finalizer *)self;
    rh_object *obj = f->registered ? rh_weakref_get(f->wr) : NULL;
    int n;
    if (obj)
        n = snprintf(buf, cap, "<finalize object at %p; for '%s' at %p>", (void *)self,
                     obj->rh_type->name, (void *)obj);
    else
        n = snprintf(buf, cap, "<finalize object at %p; dead>", (void *)self);
    rh_xdecref(obj);
    return n;
}

const rh_type rh_finalize_type = {
    .name = "finalize",
    .basicsize = sizeof(rh__finalizer),
    .destroy = finalize_destroy,
    .repr = finalize_repr,
};

rh_object *rh_finalize_new(rh_object *obj, rh_finalize_fn fn, void *data) {
    RH__CHECK_LIVE(obj, "rh_finalize_new");
    rh_heap *h = rh__heap_of(obj);
    if (!h) return NULL;
    if (!fn) {
        rh_err_set(h, RH_EVALUE, "rh_finalize_new: fn is NULL");
        return NULL;
    }
    rh__finalizer *f = (rh__finalizer *)rh_new(h, &rh_finalize_type);
    if (!f) return NULL;
    f->fn = fn;
    f->data = data;
    f->wr = rh_weakref_new(obj, fin_fire, f);
    if (!f->wr) {
        rh_decref(RH_OBJ(f));
        return NULL;
    }
    struct rh__weak_state *ws = &h->weak;
    f->registered = true;
    f->reg_prev = ws->fin_last;
    if (ws->fin_last) ws->fin_last->reg_next = f;
    else ws->fin_first = f;
    ws->fin_last = f;
    rh_incref(RH_OBJ(f)); /* the registry's reference */
    return RH_OBJ(f);
}

bool rh_finalize_alive(const rh_object *f) {
    RH__CHECK_LIVE(f, "rh_finalize_alive");
    return is_finalizer(f) && ((const rh__finalizer *)f)->registered;
}

static rh_object *peek_or_detach(rh_object *fo, rh_finalize_fn *fn, void **data, bool detach,
                                 const char *op) {
    if (!is_finalizer(fo)) {
        rh_heap *h = rh__heap_of(fo);
        if (h) rh__err_type(h, op, fo);
        return NULL;
    }
    rh__finalizer *f = (rh__finalizer *)fo;
    if (!f->registered) return NULL;
    rh_object *obj = rh_weakref_get(f->wr);
    if (!obj) return NULL;
    if (fn) *fn = f->fn;
    if (data) *data = f->data;
    if (detach) {
        rh_incref(fo);
        unregister(rh__heap_of(fo), f);
        drop_wr(f);
        rh_decref(fo);
    }
    return obj;
}

rh_object *rh_finalize_peek(rh_object *f, rh_finalize_fn *fn, void **data) {
    RH__CHECK_LIVE(f, "rh_finalize_peek");
    return peek_or_detach(f, fn, data, false, "rh_finalize_peek");
}

rh_object *rh_finalize_detach(rh_object *f, rh_finalize_fn *fn, void **data) {
    RH__CHECK_LIVE(f, "rh_finalize_detach");
    return peek_or_detach(f, fn, data, true, "rh_finalize_detach");
}

bool rh_finalize_call(rh_object *f) {
    RH__CHECK_LIVE(f, "rh_finalize_call");
    if (!is_finalizer(f)) return false;
    return fire((rh__finalizer *)f);
}

/* ------------------------------------------------------------------ */
/* End of the heap                                                    */
/* ------------------------------------------------------------------ */

void rh__weak_atexit(rh_heap *h) {
    struct rh__weak_state *ws = &h->weak;
    if (ws->fin_shutdown) return;
    bool was_enabled = rh_gc_isenabled(h);
    if (ws->fin_last) rh_gc_disable(h);
    while (ws->fin_last) fire(ws->fin_last);
    ws->fin_shutdown = true;
    if (was_enabled) rh_gc_enable(h);
}

void rh__weak_fini(rh_heap *h) {
    struct rh__weak_state *ws = &h->weak;
    ws->fin_shutdown = true;
    while (ws->fin_last) fire(ws->fin_last);
}
