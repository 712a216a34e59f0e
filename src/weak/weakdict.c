/*
 * weakdict.c — WeakValueDictionary, WeakKeyDictionary and WeakSet, after
 * CPython 3.11's Lib/weakref.py and Lib/_weakrefset.py.
 *
 * Each container is a small tracked object that owns one built-in container
 * (`data`) holding weak references with callbacks:
 *
 *   WeakValueDictionary  dict  key -> keyed weakref(value)  (the weakref owns key)
 *   WeakKeyDictionary    dict  weakref(key) -> value
 *   WeakSet              set   { weakref(item) }
 *
 * Each entry's weakref is a real weakref object held by `data`; its
 * callback removes the entry when the referent dies, which drops the last
 * reference to the weakref and frees it. The collector counts that weakref
 * as freed, so a weak-value dictionary whose value is a two-object cycle
 * makes collect() return 3, as in CPython.
 * The callback finds its container through the entry's owned weak reference
 * to it (`selfref`, the container's own basic weakref, made at creation:
 * CPython's containers pass ref(self) to their removal callback the same
 * way, so getweakrefcount of a new container is 1 in both). An entry may
 * outlive its place in `data` and the container itself (rh_weakref_list
 * hands it out): its callback then finds that weak reference dead, or the
 * container cleared, and does nothing.
 * A weak-key dictionary finds its entries through weakrefs compared by
 * referent while alive and hashed by the referent's remembered hash, so a
 * dead key can still be deleted.
 *
 * Iteration and deferred removal (Python's _IterationGuard): `iterating`
 * counts the open rh_weakiter iterators (plus a sweep in progress). While it
 * is nonzero, a death does not touch `data`: the callback only sets
 * `pending`, and the iterators skip the dead entries. When the last iterator
 * ends, a sweep removes every entry whose weakref is dead (only if it is dead:
 * a key given a new value meanwhile stays, like _remove_dead_weakref). The
 * sweep itself counts as iterating, so deaths caused by the removals (a key
 * dropped by the dict) are deferred and swept in a further round. While
 * iterating, operations that would change the number of entries fail with
 * RH_ESTATE — Python raises "changed size during iteration" at the next step;
 * refheap refuses the change itself, so an open iteration is always valid.
 *
 * States of a container: idle (iterating == 0, no dead entry in data);
 * iterating (dead entries may sit in data, pending set when one died);
 * destroyed or cleared (data == NULL; an entry someone else still holds
 * calls back into nothing).
 *
 * Mutators that allocate (a new entry, a lookup probe) check for an open
 * iterator after the allocation: it may run a collection whose finalizers
 * open one.
 */
#include "weak/weak_internal.h"

typedef struct weakcont {
    RH_OBJECT_HEAD;
    rh_object *weaklist; /* weak containers are themselves weakrefable */
    rh_object *data;     /* dict or set of weakrefs; NULL once cleared */
    rh_object *selfref;  /* basic weakref to this container (owned)    */
    size_t iterating;    /* open iterators, plus one during a sweep */
    bool pending;        /* an entry died while iterating */
} weakcont;

enum wkind { WVD, WKD, WSET };

static int kind_of(const rh_object *o) {
    if (o->rh_type == &rh_weakvaluedict_type) return WVD;
    if (o->rh_type == &rh_weakkeydict_type) return WKD;
    if (o->rh_type == &rh_weakset_type) return WSET;
    return -1;
}

static bool check_kind(rh_object *o, int kind, const char *op) {
    if (kind_of(o) == kind && ((weakcont *)o)->data) return true;
    rh_heap *h = rh__heap_of(o);
    if (h) {
        if (kind_of(o) == kind) rh_err_set(h, RH_ESTATE, "%s: container was cleared", op);
        else rh__err_type(h, op, o);
    }
    return false;
}

static rh_heap *heap_of(weakcont *c) { return rh__heap_of(c); }

/* Steps over data's entries: for a set, *v is NULL. */
static bool data_next(weakcont *c, int kind, size_t *pos, rh_object **k, rh_object **v) {
    if (!c->data) return false;
    if (kind == WSET) {
        *v = NULL;
        return rh_set_next(c->data, pos, k);
    }
    return rh_dict_next(c->data, pos, k, v);
}

/* The entry's weakref: the value of a weak-value dict, the key otherwise. */
static rh_object *entry_ref(int kind, rh_object *k, rh_object *v) {
    return kind == WVD ? v : k;
}

static rh_error refuse_resize(weakcont *c, const char *op) {
    rh_err_set(heap_of(c), RH_ESTATE, "%s: weak container changed size during iteration", op);
    return RH_ESTATE;
}

/* ------------------------------------------------------------------ */
/* Removal of dead entries                                            */
/* ------------------------------------------------------------------ */

/* Removes the entry named by `item` (the key for a weak-value dict, the
 * weakref otherwise) if its weakref is dead. Errors are not reported (the
 * entry's key was hashed when stored, so the lookup cannot fail). */
static void remove_if_dead(weakcont *c, int kind, rh_object *item) {
    rh_heap *h = heap_of(c);
    rh_error saved = h->err;
    char msg[RH__ERRMSG_MAX];
    memcpy(msg, h->errmsg, sizeof msg);
    if (kind == WVD) {
        rh_object *wr = rh_dict_get(c->data, item);
        if (wr && !rh_weakref_alive(wr)) rh_dict_del(c->data, item);
    } else if (!rh_weakref_alive(item)) {
        if (kind == WKD) {
            if (rh_dict_contains(c->data, item) == 1) rh_dict_del(c->data, item);
        } else {
            rh_set_discard(c->data, item);
        }
    }
    h->err = saved;
    memcpy(h->errmsg, msg, sizeof msg);
}

/* Removes every dead entry (see the essay). Cannot fail: when the list of
 * dead entries cannot be allocated it removes them one scan at a time. */
static void sweep(weakcont *c) {
    int kind = kind_of(RH_OBJ(c));
    rh_heap *h = heap_of(c);
    c->iterating++;
    while (c->pending && c->data) {
        c->pending = false;
        size_t pos = 0, ndead = 0;
        rh_object *k, *v;
        while (data_next(c, kind, &pos, &k, &v))
            if (!rh_weakref_alive(entry_ref(kind, k, v))) ndead++;
        if (ndead == 0) continue;
        rh_error saved = h->err;
        char msg[RH__ERRMSG_MAX];
        memcpy(msg, h->errmsg, sizeof msg);
        rh_object **dead = rh_malloc(h, ndead * sizeof *dead);
        h->err = saved;
        memcpy(h->errmsg, msg, sizeof msg);
        if (dead) {
            size_t n = 0;
            pos = 0;
            while (n < ndead && data_next(c, kind, &pos, &k, &v))
                if (!rh_weakref_alive(entry_ref(kind, k, v))) dead[n++] = rh_newref(k);
            for (size_t i = 0; i < n; i++) {
                remove_if_dead(c, kind, dead[i]);
                rh_decref(dead[i]);
            }
            rh_free(h, dead);
        } else {
            /* Out of memory: one dead entry per scan. */
            for (;;) {
                rh_object *found = NULL;
                pos = 0;
                while (data_next(c, kind, &pos, &k, &v))
                    if (!rh_weakref_alive(entry_ref(kind, k, v))) { found = rh_newref(k); break; }
                if (!found) break;
                remove_if_dead(c, kind, found);
                rh_decref(found);
            }
        }
    }
    c->iterating--;
}

/* The callback of every entry's weakref. data is the entry's weakref to
 * its container (NULL once the entry was cleared). */
static void entry_died(rh_object *wr, void *data) {
    if (!data) return;
    rh_object *co = rh_weakref_get(data);
    if (!co) return; /* the container died first */
    weakcont *c = (weakcont *)co;
    if (c->data) {
        if (c->iterating) {
            c->pending = true;
        } else {
            int kind = kind_of(co);
            remove_if_dead(c, kind, kind == WVD ? ((rh__keyedref *)wr)->key : wr);
        }
    }
    rh_decref(co);
}

/* ------------------------------------------------------------------ */
/* The container types                                                */
/* ------------------------------------------------------------------ */

/* Drops data and selfref (the entries' callbacks then do nothing: data is
 * NULL, and once the container is freed selfref is dead). */
static void release(rh_object *self) {
    weakcont *c = (weakcont *)self;
    RH_CLEAR(c->data);
    RH_CLEAR(c->selfref);
}

static int weakcont_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    weakcont *c = (weakcont *)self;
    if (c->data) {
        int r = visit(c->data, arg);
        if (r) return r;
    }
    return c->selfref ? visit(c->selfref, arg) : 0;
}

static int weakcont_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "<%s at %p>", self->rh_type->name, (void *)self);
}

#define WEAKCONT_TYPE(var, tname)                                                  \
    const rh_type var = {                                                          \
        .name = tname,                                                             \
        .basicsize = sizeof(weakcont),                                             \
        .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,                                 \
        .weaklist_offset = offsetof(weakcont, weaklist),                           \
        .destroy = release,                                                        \
        .traverse = weakcont_traverse,                                             \
        .clear = release,                                                          \
        .repr = weakcont_repr,                                                     \
    }

WEAKCONT_TYPE(rh_weakvaluedict_type, "WeakValueDictionary");
WEAKCONT_TYPE(rh_weakkeydict_type, "WeakKeyDictionary");
WEAKCONT_TYPE(rh_weakset_type, "WeakSet");

static rh_object *weakcont_new(rh_heap *h, const rh_type *type) {
    rh_object *data = type == &rh_weakset_type ? rh_set_new(h) : rh_dict_new(h);
    if (!data) return NULL;
    weakcont *c = (weakcont *)rh_new(h, type);
    if (!c) {
        rh_decref(data);
        return NULL;
    }
    c->data = data;
    c->selfref = rh__weakref_new_in(h, RH_OBJ(c), NULL, NULL);
    if (!c->selfref) {
        rh_decref(RH_OBJ(c));
        return NULL;
    }
    rh_gc_track(RH_OBJ(c));
    return RH_OBJ(c);
}

rh_object *rh_weakvaluedict_new(rh_heap *h) { return weakcont_new(h, &rh_weakvaluedict_type); }
rh_object *rh_weakkeydict_new(rh_heap *h) { return weakcont_new(h, &rh_weakkeydict_type); }
rh_object *rh_weakset_new(rh_heap *h) { return weakcont_new(h, &rh_weakset_type); }

/* Live entries: the size of data, less the dead entries kept by iterators. */
static size_t live_size(weakcont *c) {
    int kind = kind_of(RH_OBJ(c));
    if (!c->data) return 0;
    if (c->pending && !c->iterating) sweep(c);
    if (!c->iterating) return kind == WSET ? rh_set_size(c->data) : rh_dict_size(c->data);
    size_t pos = 0, n = 0;
    rh_object *k, *v;
    while (data_next(c, kind, &pos, &k, &v))
        if (rh_weakref_alive(entry_ref(kind, k, v))) n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* WeakValueDictionary                                                */
/* ------------------------------------------------------------------ */

int rh_weakvaluedict_set(rh_object *d, rh_object *key, rh_object *value) {
    RH__CHECK_LIVE(d, "rh_weakvaluedict_set");
    if (!check_kind(d, WVD, "rh_weakvaluedict_set")) return -1;
    weakcont *c = (weakcont *)d;
    rh_object *wr = rh__weakref_new_entry(heap_of(c), value, entry_died, c->selfref, key);
    if (!wr) return -1;
    int r = 0;
    if (c->iterating) {
        int has = rh_dict_contains(c->data, key);
        if (has <= 0) {
            if (has == 0) refuse_resize(c, "rh_weakvaluedict_set");
            r = -1;
        }
    }
    if (r == 0) r = rh_dict_set(c->data, key, wr);
    rh_decref(wr);
    return r;
}

rh_object *rh_weakvaluedict_get(rh_object *d, rh_object *key) {
    RH__CHECK_LIVE(d, "rh_weakvaluedict_get");
    if (!check_kind(d, WVD, "rh_weakvaluedict_get")) return NULL;
    weakcont *c = (weakcont *)d;
    rh_object *wr = rh_dict_get(c->data, key);
    return wr ? rh_weakref_get(wr) : NULL;
}

int rh_weakvaluedict_del(rh_object *d, rh_object *key) {
    RH__CHECK_LIVE(d, "rh_weakvaluedict_del");
    if (!check_kind(d, WVD, "rh_weakvaluedict_del")) return -1;
    weakcont *c = (weakcont *)d;
    if (c->iterating) {
        int has = rh_dict_contains(c->data, key);
        if (has < 0) return -1;
        if (has) { refuse_resize(c, "rh_weakvaluedict_del"); return -1; }
    }
    return rh_dict_del(c->data, key);
}

size_t rh_weakvaluedict_size(rh_object *d) {
    RH__CHECK_LIVE(d, "rh_weakvaluedict_size");
    if (kind_of(d) != WVD) return 0;
    return live_size((weakcont *)d);
}

/* ------------------------------------------------------------------ */
/* WeakKeyDictionary                                                  */
/* ------------------------------------------------------------------ */

int rh_weakkeydict_set(rh_object *d, rh_object *key, rh_object *value) {
    RH__CHECK_LIVE(d, "rh_weakkeydict_set");
    if (!check_kind(d, WKD, "rh_weakkeydict_set")) return -1;
    weakcont *c = (weakcont *)d;
    rh_object *wr = rh__weakref_new_entry(heap_of(c), key, entry_died, c->selfref, NULL);
    if (!wr) return -1;
    int r = 0;
    if (c->iterating) {
        int has = rh_dict_contains(c->data, wr);
        if (has <= 0) {
            if (has == 0) refuse_resize(c, "rh_weakkeydict_set");
            r = -1;
        }
    }
    if (r == 0) r = rh_dict_set(c->data, wr, value);
    /* When key was present the dict kept its old weakref; this one dies here
     * with its callback unrun. */
    rh_decref(wr);
    return r;
}

/* Looks key up through its callback-less weakref: (new) *probe or -1. */
static int probe_of(weakcont *c, rh_object *key, rh_object **probe) {
    *probe = rh__weakref_new_in(heap_of(c), key, NULL, NULL);
    return *probe ? 0 : -1;
}

rh_object *rh_weakkeydict_get(rh_object *d, rh_object *key) {
    RH__CHECK_LIVE(d, "rh_weakkeydict_get");
    if (!check_kind(d, WKD, "rh_weakkeydict_get")) return NULL;
    weakcont *c = (weakcont *)d;
    rh_object *probe;
    if (probe_of(c, key, &probe) < 0) return NULL;
    rh_object *v = rh_dict_get(c->data, probe);
    rh_xincref(v);
    rh_decref(probe);
    return v;
}

int rh_weakkeydict_del(rh_object *d, rh_object *key) {
    RH__CHECK_LIVE(d, "rh_weakkeydict_del");
    if (!check_kind(d, WKD, "rh_weakkeydict_del")) return -1;
    weakcont *c = (weakcont *)d;
    rh_object *probe;
    if (probe_of(c, key, &probe) < 0) return -1;
    int r;
    if (c->iterating && (r = rh_dict_contains(c->data, probe)) != 0) {
        if (r > 0) refuse_resize(c, "rh_weakkeydict_del");
        r = -1;
    } else {
        r = rh_dict_del(c->data, probe);
    }
    rh_decref(probe);
    return r;
}

size_t rh_weakkeydict_size(rh_object *d) {
    RH__CHECK_LIVE(d, "rh_weakkeydict_size");
    if (kind_of(d) != WKD) return 0;
    return live_size((weakcont *)d);
}

/* ------------------------------------------------------------------ */
/* WeakSet                                                            */
/* ------------------------------------------------------------------ */

int rh_weakset_add(rh_object *s, rh_object *item) {
    RH__CHECK_LIVE(s, "rh_weakset_add");
    if (!check_kind(s, WSET, "rh_weakset_add")) return -1;
    weakcont *c = (weakcont *)s;
    rh_object *wr = rh__weakref_new_entry(heap_of(c), item, entry_died, c->selfref, NULL);
    if (!wr) return -1;
    int r = 0;
    if (c->iterating) {
        int has = rh_set_contains(c->data, wr);
        if (has == 0) refuse_resize(c, "rh_weakset_add");
        r = has == 1 ? 1 : -1;
    }
    if (r == 0) r = rh_set_add(c->data, wr);
    else if (r == 1) r = 0;
    rh_decref(wr);
    return r;
}

int rh_weakset_discard(rh_object *s, rh_object *item) {
    RH__CHECK_LIVE(s, "rh_weakset_discard");
    if (!check_kind(s, WSET, "rh_weakset_discard")) return -1;
    weakcont *c = (weakcont *)s;
    if (!(item->rh_type->flags & RH_TYPE_WEAKREFABLE)) return 0; /* never a member */
    rh_object *probe;
    if (probe_of(c, item, &probe) < 0) return -1;
    int r;
    if (c->iterating && (r = rh_set_contains(c->data, probe)) != 0) {
        if (r > 0) refuse_resize(c, "rh_weakset_discard");
        r = -1;
    } else {
        r = rh_set_discard(c->data, probe);
    }
    rh_decref(probe);
    return r;
}

int rh_weakset_contains(rh_object *s, rh_object *item) {
    RH__CHECK_LIVE(s, "rh_weakset_contains");
    if (!check_kind(s, WSET, "rh_weakset_contains")) return -1;
    weakcont *c = (weakcont *)s;
    if (!(item->rh_type->flags & RH_TYPE_WEAKREFABLE)) return 0; /* as Python: False */
    rh_object *probe;
    if (probe_of(c, item, &probe) < 0) return -1;
    int r = rh_set_contains(c->data, probe);
    rh_decref(probe);
    return r;
}

size_t rh_weakset_size(rh_object *s) {
    RH__CHECK_LIVE(s, "rh_weakset_size");
    if (kind_of(s) != WSET) return 0;
    return live_size((weakcont *)s);
}

/* ------------------------------------------------------------------ */
/* Iteration                                                          */
/* ------------------------------------------------------------------ */

void rh_weakiter_begin(rh_weakiter *it, rh_object *container) {
    RH__CHECK_LIVE(container, "rh_weakiter_begin");
    it->container = NULL;
    it->pos = 0;
    it->open = false;
    if (kind_of(container) < 0) {
        rh_heap *h = rh__heap_of(container);
        if (h) rh__err_type(h, "rh_weakiter_begin", container);
        return;
    }
    weakcont *c = (weakcont *)container;
    c->iterating++;
    it->container = rh_newref(container);
    it->open = true;
}

bool rh_weakiter_next(rh_weakiter *it, rh_object **key, rh_object **value) {
    if (key) *key = NULL;
    if (value) *value = NULL;
    if (!it->open) return false;
    weakcont *c = (weakcont *)it->container;
    int kind = kind_of(RH_OBJ(c));
    rh_object *k, *v;
    while (data_next(c, kind, &it->pos, &k, &v)) {
        rh_object *obj = rh_weakref_get(entry_ref(kind, k, v));
        if (!obj) continue; /* died: skipped now, removed when iteration ends */
        if (kind == WVD) {
            if (key) *key = rh_newref(k);
            if (value) *value = obj;
            else rh_decref(obj);
        } else {
            if (key) *key = obj;
            else rh_decref(obj);
            if (value && kind == WKD) *value = rh_newref(v);
        }
        return true;
    }
    rh_weakiter_end(it);
    return false;
}

void rh_weakiter_end(rh_weakiter *it) {
    if (!it->open) return;
    it->open = false;
    weakcont *c = (weakcont *)it->container;
    it->container = NULL;
    if (--c->iterating == 0 && c->pending) sweep(c);
    rh_decref(RH_OBJ(c));
}
