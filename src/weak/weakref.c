/*
 * weakref.c — weak references (Python's weakref.ref), after CPython 3.11's
 * Objects/weakrefobject.c.
 *
 * A weak reference is a small tracked container (type rh_weakref_type) that
 * points at its referent without owning a reference to it. Every object of a
 * RH_TYPE_WEAKREFABLE type has a list head at type->weaklist_offset; the
 * weakrefs to it form a doubly linked list from there:
 *
 *     head -> [basic ref, no callback] -> [newest other ref] -> ... -> [oldest]
 *
 * The basic ref (no callback, cbdata NULL), if one exists, is at the head and
 * is shared: asking again for a callback-less ref returns it with a new
 * reference. Every other ref is new when asked for and is inserted right
 * after the basic ref (or at the head when there is none): refs with a
 * callback, and unshared refs without one (rh_weakref_new_unshared, CPython's
 * instances of a subclass of weakref.ref), told from the basic ref by their
 * cbdata, which points at a private tag. Walking the list from the head thus
 * meets the callbacks newest first, which is the order in which they run.
 *
 * States of a weakref:
 *   live     referent != NULL, linked in the referent's list;
 *   cleared  referent == NULL, unlinked; it stays cleared for ever. The
 *            callback, if any, runs at most once: only the transition
 *            live -> cleared caused by the referent's death schedules it.
 * A weakref owns no reference to its referent nor to anything else, so its
 * traverse visits nothing. The exceptions are the weak containers' entries
 * (weakdict.c): their callback data is a weak reference to their container,
 * which they own, and a weak-value dictionary's entry (rh__keyedref, Python's
 * KeyedRef) also owns its key; both visit what they own. Otherwise the
 * callback is a C function and a data pointer that refheap does not own.
 *
 * Death by reference counting (rh__weakref_clear_all, called by object.c after
 * the object's finalizer and before its destroy):
 *   1. every weakref in the list is cleared; the ones that have a callback and
 *      are still alive (count > 0) get a temporary reference and are chained,
 *      in list order, through their now-unused wr_next field. No allocation is
 *      needed, so this step cannot fail;
 *   2. the chain is walked: each callback runs as callback(wr, data), with
 *      the heap's pending error saved before and restored after (CPython keeps
 *      a pending exception across callbacks), then the temporary reference is
 *      dropped — which may free the weakref if the callback let go of it.
 * A callback may allocate, create weak references (to other objects: its
 * referent is gone), drop references, or run the collector. A weakref in the
 * chain cannot be freed early (it holds our reference) and the collector does
 * not see it (it is in no referent's list).
 *
 * After a legacy_del that did not resurrect its object, object.c calls
 * rh__weakref_clear_only: weakrefs legacy_del made to its object are cleared
 * again, without their callbacks (as CPython's subtype_dealloc), so none
 * outlives the object.
 *
 * Death in a collection is handled by gc.c (REFERENCE.md §3 step 6) with
 * rh__weakref_clear and rh__weakref_run_callback.
 *
 * Hash and equality follow CPython: the hash is the referent's, computed on
 * first use and remembered, so a weakref that was hashed while its referent
 * lived stays usable as a dict key after the death (weak-key dictionaries rely
 * on it); hashing a dead weakref that never was hashed is RH_ETYPE "weak object
 * has gone away". Two weakrefs compare by their referents while both are
 * alive, otherwise by identity.
 */
#include "weak/weak_internal.h"

#include <inttypes.h>

/* ------------------------------------------------------------------ */
/* The list of weakrefs of a referent                                 */
/* ------------------------------------------------------------------ */

static bool weakrefable(const rh_object *o) {
    return (o->rh_type->flags & RH_TYPE_WEAKREFABLE) != 0;
}

static void unlink_ref(rh__weakref *wr) {
    rh__weakref **head = rh__weaklist_of(wr->referent);
    if (wr->wr_prev) wr->wr_prev->wr_next = wr->wr_next;
    else /* the referent may be waiting: keep the bit (weak_internal.h) */
        *head = (rh__weakref *)((uintptr_t)wr->wr_next | ((uintptr_t)*head & RH__WEAKLIST_WAITING));
    if (wr->wr_next) wr->wr_next->wr_prev = wr->wr_prev;
    wr->wr_prev = wr->wr_next = NULL;
    wr->referent = NULL;
}

static void insert_head(rh__weakref *wr, rh_object *obj) {
    rh__weakref **head = rh__weaklist_of(obj);
    wr->referent = obj;
    wr->wr_prev = NULL;
    wr->wr_next = *head;
    if (*head) (*head)->wr_prev = wr;
    *head = wr;
}

static void insert_after(rh__weakref *wr, rh__weakref *prev) {
    wr->referent = prev->referent;
    wr->wr_prev = prev;
    wr->wr_next = prev->wr_next;
    if (prev->wr_next) prev->wr_next->wr_prev = wr;
    prev->wr_next = wr;
}

/* cbdata of an unshared callback-less weakref: never the basic ref. */
static char unshared_tag;

/* The shared callback-less weakref of obj (the list head when it has no
 * callback and is not unshared). */
static rh__weakref *basic_ref(rh_object *obj) {
    rh__weakref *head = *rh__weaklist_of(obj);
    return (head && head->callback == NULL && head->cbdata == NULL) ? head : NULL;
}

void rh__weakref_clear(rh__weakref *wr) {
    if (wr->referent) unlink_ref(wr);
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                          */
/* ------------------------------------------------------------------ */

void rh__weakref_run_callback(rh_heap *h, rh__weakref *wr) {
    rh_weakref_callback cb = wr->callback;
    if (!cb) return;
    rh_error saved = h->err;
    char msg[RH__ERRMSG_MAX];
    memcpy(msg, h->errmsg, sizeof msg);
    h->err = RH_OK;
    h->errmsg[0] = '\0';
    rh_incref(RH_OBJ(wr));
    cb(RH_OBJ(wr), wr->cbdata);
    h->err = saved;
    memcpy(h->errmsg, msg, sizeof msg);
    rh_decref(RH_OBJ(wr));
}

void rh__weakref_clear_only(rh_object *o) {
    if (!weakrefable(o)) return;
    rh__weakref **head = rh__weaklist_of(o);
    while (*head) unlink_ref(*head);
}

void rh__weakref_clear_all(rh_object *o) {
    if (!weakrefable(o)) return;
    rh__weakref **head = rh__weaklist_of(o);
    if (!*head) return;
    rh_heap *h = rh__heap_of(o);

    /* Step 1: clear all, chaining the callbacks to run in list order. */
    rh__weakref *first = NULL, *last = NULL;
    while (*head) {
        rh__weakref *wr = *head;
        unlink_ref(wr);
        if (wr->callback && rh_refcount(RH_OBJ(wr)) > 0) {
            rh_incref(RH_OBJ(wr));
            if (last) last->wr_next = wr;
            else first = wr;
            last = wr;
        }
    }

    /* Step 2: run them, newest first (the list order). */
    while (first) {
        rh__weakref *wr = first;
        first = wr->wr_next;
        wr->wr_next = NULL;
        rh__weakref_run_callback(h, wr);
        rh_decref(RH_OBJ(wr));
    }
}

/* ------------------------------------------------------------------ */
/* The weakref type                                                   */
/* ------------------------------------------------------------------ */

static void weakref_destroy(rh_object *self) {
    rh__weakref_clear((rh__weakref *)self);
}

static int weakref_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    (void)self;
    (void)visit;
    (void)arg;
    return 0;
}

static void weakref_clear_hook(rh_object *self) {
    rh__weakref_clear((rh__weakref *)self);
}

/* A weak container's entry: cbdata is an owned weakref to the container. */
static void entryref_destroy(rh_object *self) {
    rh__weakref *wr = (rh__weakref *)self;
    rh__weakref_clear(wr);
    rh_object *owner = wr->cbdata;
    wr->cbdata = NULL;
    rh_xdecref(owner);
}

static int entryref_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    rh_object *owner = ((rh__weakref *)self)->cbdata;
    return owner ? visit(owner, arg) : 0;
}

static void keyedref_destroy(rh_object *self) {
    entryref_destroy(self);
    RH_CLEAR(((rh__keyedref *)self)->key);
}

static int keyedref_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    rh__keyedref *kr = (rh__keyedref *)self;
    int r = entryref_traverse(self, visit, arg);
    if (r) return r;
    return kr->key ? visit(kr->key, arg) : 0;
}

static rh_hash_t weakref_hash(rh_object *self) {
    rh__weakref *wr = (rh__weakref *)self;
    if (wr->hash != -1) return wr->hash;
    if (!wr->referent || rh__referent_gone(wr->referent)) {
        rh_err_set(rh__heap_of(self), RH_ETYPE, "weak object has gone away");
        return -1;
    }
    rh_object *obj = rh_newref(wr->referent);
    rh_hash_t hv = rh_hash(obj);
    rh_decref(obj);
    if (hv != -1) wr->hash = hv;
    return hv;
}

static int weakref_eq(rh_object *self, rh_object *other) {
    if (!rh__is_weakref(other)) return 0;
    rh_object *a = rh_weakref_get(self);
    rh_object *b = rh_weakref_get(other);
    int res;
    if (a && b) res = rh_equal(a, b);
    else res = self == other;
    rh_xdecref(a);
    rh_xdecref(b);
    return res;
}

static int weakref_repr(rh_object *self, char *buf, size_t cap) {
    rh__weakref *wr = (rh__weakref *)self;
    if (wr->referent)
        return snprintf(buf, cap, "<weakref at %p; to '%s' at %p>", (void *)self,
                        wr->referent->rh_type->name, (void *)wr->referent);
    return snprintf(buf, cap, "<weakref at %p; dead>", (void *)self);
}

/* The three kinds of weak reference share flags, repr, hash and equality;
 * they differ in size and in what dies with them. */
#define WEAKREF_COMMON_SLOTS \
    .flags = RH_TYPE_GC, .repr = weakref_repr, .hash = weakref_hash, .eq = weakref_eq

const rh_type rh_weakref_type = {
    .name = "weakref",
    .basicsize = sizeof(rh__weakref),
    .destroy = weakref_destroy,
    .traverse = weakref_traverse,
    .clear = weakref_clear_hook,
    WEAKREF_COMMON_SLOTS,
};

const rh_type rh__entryref_type = {
    .name = "weakref",
    .basicsize = sizeof(rh__weakref),
    .destroy = entryref_destroy,
    .traverse = entryref_traverse,
    .clear = entryref_destroy,
    WEAKREF_COMMON_SLOTS,
};

const rh_type rh__keyedref_type = {
    .name = "KeyedRef",
    .basicsize = sizeof(rh__keyedref),
    .destroy = keyedref_destroy,
    .traverse = keyedref_traverse,
    .clear = keyedref_destroy,
    WEAKREF_COMMON_SLOTS,
};

/* ------------------------------------------------------------------ */
/* Creation and access                                                */
/* ------------------------------------------------------------------ */

/* Checks obj and returns its heap, or NULL with the error set on obj's heap
 * or else on `report` (which may be NULL: a static singleton passed to the
 * public API has no heap to report on). */
static rh_heap *check_referent(rh_object *obj, rh_heap *report) {
    rh_heap *h = rh__heap_of(obj);
    if (!h || !weakrefable(obj)) {
        if (!h) h = report;
        if (h)
            rh_err_set(h, RH_EWEAKREF, "cannot create weak reference to '%s' object",
                       obj->rh_type->name);
        return NULL;
    }
    return h;
}

/* The one constructor (see weak_internal.h for the entries). A callback-less
 * weakref with data NULL is the shared basic ref; data == &unshared_tag makes
 * an unshared one. */
static rh_object *new_ref(rh_heap *report, rh_object *obj, const rh_type *type,
                          rh_weakref_callback cb, void *data, rh_object *key) {
    rh_heap *h = check_referent(obj, report);
    if (!h) return NULL;
    if (rh__referent_gone(obj)) {
        /* Being destroyed (reachable only through a stale pointer, e.g. from
         * one of its own weakref callbacks): a weakref to it would dangle. */
        rh_err_set(h, RH_ESTATE, "cannot create weak reference to a dying '%s' object",
                   obj->rh_type->name);
        return NULL;
    }
    bool shared = !cb && !data;
    if (shared) {
        rh__weakref *basic = basic_ref(obj);
        if (basic) return rh_newref(RH_OBJ(basic));
    }
    /* Allocating a container may run a collection, whose callbacks may add
     * or remove weakrefs of obj: look at the list again afterwards. obj
     * itself is kept alive by the caller's reference. */
    rh__weakref *wr = (rh__weakref *)rh_new(h, type);
    if (!wr) return NULL;
    wr->hash = -1;
    wr->callback = cb;
    wr->cbdata = data;
    if (type != &rh_weakref_type) rh_incref(data); /* an entry owns its owner */
    if (key) ((rh__keyedref *)wr)->key = rh_newref(key);
    rh__weakref *basic = basic_ref(obj);
    if (shared) {
        if (basic) {
            rh_decref(RH_OBJ(wr));
            return rh_newref(RH_OBJ(basic));
        }
        insert_head(wr, obj);
    } else if (basic) {
        insert_after(wr, basic);
    } else {
        insert_head(wr, obj);
    }
    rh_gc_track(RH_OBJ(wr));
    return RH_OBJ(wr);
}

rh_object *rh__weakref_new_in(rh_heap *report, rh_object *obj, rh_weakref_callback cb,
                              void *data) {
    return new_ref(report, obj, &rh_weakref_type, cb, cb ? data : NULL, NULL);
}

rh_object *rh__weakref_new_entry(rh_heap *report, rh_object *obj, rh_weakref_callback cb,
                                 rh_object *owner, rh_object *key) {
    return new_ref(report, obj, key ? &rh__keyedref_type : &rh__entryref_type, cb, owner, key);
}

rh_object *rh_weakref_new(rh_object *obj, rh_weakref_callback cb, void *data) {
    RH__CHECK_LIVE(obj, "rh_weakref_new");
    return rh__weakref_new_in(NULL, obj, cb, data);
}

rh_object *rh_weakref_new_unshared(rh_object *obj) {
    RH__CHECK_LIVE(obj, "rh_weakref_new_unshared");
    return new_ref(NULL, obj, &rh_weakref_type, NULL, &unshared_tag, NULL);
}

static bool check_weakref(const rh_object *wr, const char *op) {
    if (rh__is_weakref(wr)) return true;
    rh_heap *h = rh__heap_of(wr);
    if (h) rh__err_type(h, op, wr);
    return false;
}

rh_object *rh_weakref_get(rh_object *wr) {
    RH__CHECK_LIVE(wr, "rh_weakref_get");
    if (!check_weakref(wr, "rh_weakref_get")) return NULL;
    rh_object *obj = ((rh__weakref *)wr)->referent;
    /* A referent whose count is 0 is being destroyed, or waits to be
     * (weak_internal.h): it is gone for the weakref's users. */
    if (!obj || rh__referent_gone(obj)) return NULL;
    return rh_newref(obj);
}

bool rh_weakref_alive(const rh_object *wr) {
    RH__CHECK_LIVE(wr, "rh_weakref_alive");
    if (!rh__is_weakref(wr)) return false;
    rh_object *obj = ((const rh__weakref *)wr)->referent;
    return obj && !rh__referent_gone(obj);
}

size_t rh_weakref_count(rh_object *obj) {
    RH__CHECK_LIVE(obj, "rh_weakref_count");
    if (!weakrefable(obj)) return 0;
    size_t n = 0;
    for (rh__weakref *wr = *rh__weaklist_of(obj); wr; wr = wr->wr_next) n++;
    return n;
}

rh_object *rh_weakref_list(rh_object *obj) {
    RH__CHECK_LIVE(obj, "rh_weakref_list");
    rh_heap *h = rh__heap_of(obj);
    if (!h) return NULL;
    size_t n = rh_weakref_count(obj);
    /* The list is made of Nones first: allocating it may run a collection
     * that changes obj's weakrefs, so they are read only afterwards. */
    rh_object *list = h->lists->make(h, n);
    if (!list) return NULL;
    n = rh_weakref_count(obj);
    while (h->lists->size(list) > n) {
        rh_object *x = h->lists->pop(list, -1);
        rh_xdecref(x);
    }
    size_t i = 0;
    for (rh__weakref *wr = weakrefable(obj) ? *rh__weaklist_of(obj) : NULL; wr;
         wr = wr->wr_next, i++) {
        if (i >= h->lists->size(list)) {
            if (h->lists->append(list, RH_OBJ(wr)) < 0) {
                rh_decref(list);
                return NULL;
            }
        } else if (h->lists->set(list, (ptrdiff_t)i, RH_OBJ(wr)) < 0) {
            rh_decref(list);
            return NULL;
        }
    }
    return list;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                          */
/* ------------------------------------------------------------------ */

int rh__weak_init(rh_heap *h) {
    memset(&h->weak, 0, sizeof h->weak);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Invariant check (RH_DEBUG >= 3), for one tracked object (the collector's
 * rh__weak_check walks them all):
 *   a weakrefable object's list: head->wr_prev == NULL; every member's
 *     referent is the object and its neighbours point back at it; a
 *     callback-less weakref only at the head;
 *   a live weakref (referent != NULL): linked in its referent's list
 *     (its wr_prev's wr_next, or the list head, is itself), and the
 *     referent is not gone unless it waits on the deferred list (a dead
 *     object whose weakrefs the drain will clear: weak_internal.h; the
 *     object layer's test, h->weak.referent_waiting, tells).
 * ------------------------------------------------------------------------- */
void rh__weak_check_object(rh_heap *h, rh_object *o) {
    bool (*waiting)(const rh_object *) = h->weak.referent_waiting;
    if (o->rh_type->flags & RH_TYPE_WEAKREFABLE) {
        rh__weakref *prev = NULL;
        for (rh__weakref *wr = *rh__weaklist_of(o); wr; prev = wr, wr = wr->wr_next) {
            if (wr->referent != o || wr->wr_prev != prev || (prev && !wr->callback))
                rh__fatal("weakref: invariant broken: weakref %p in the list of <%s %p> has referent %p, "
                          "wr_prev %p (expected %p)%s", (void *)wr, o->rh_type->name, (void *)o,
                          (void *)wr->referent, (void *)wr->wr_prev, (void *)prev,
                          prev && !wr->callback ? ", and no callback but not at the head" : "");
        }
    }
    if (rh__is_weakref(o)) {
        rh__weakref *wr = (rh__weakref *)o;
        if (!wr->referent) return;
        rh__weakref *const *at = wr->wr_prev ? &wr->wr_prev->wr_next : rh__weaklist_of(wr->referent);
        if (((uintptr_t)*at & ~RH__WEAKLIST_WAITING) != (uintptr_t)wr ||
            (rh__referent_gone(wr->referent) && !(waiting && waiting(wr->referent))))
            rh__fatal("weakref: invariant broken: live weakref %p to <%s %p> is not linked in its "
                      "referent's list (or the referent is dead and not waiting to be destroyed)",
                      (void *)wr, wr->referent->rh_type->name, (void *)wr->referent);
    }
}
