/*
 * set.c — the hash set: open addressing over (key, hash) entries.
 *
 * Structure. Unlike the dict, a set needs no insertion order, so its table is
 * one array of entries probed directly. A new set uses the 8 entries built
 * into the object (smalltable, CPython's layout: set() is 216 bytes with the
 * collector's record); bigger tables are allocated on the heap. Each entry is
 *     EMPTY  key == NULL               never used; ends every probe sequence
 *     DUMMY  key == &set_dummy         deleted; probing continues past it
 *     ACTIVE any other key             holds one reference to key
 *
 * Invariants:
 *     used = ACTIVE entries;  fill = ACTIVE + DUMMY entries;
 *     table == smalltable  or  table is a heap block of mask+1 entries;
 *     fill * 5 < mask * 3 after every operation (so at least ~40% of the
 *     entries are EMPTY and every probe terminates).
 *
 * Probing (see probe_next): runs of 10 adjacent entries, then a jump
 * i = 5i + 1 + perturb, perturb >>= 5 — CPython 3.11's order, so that keys
 * land where CPython puts them (iteration and repr order of int sets match).
 * An addition of an absent key reuses the LAST DUMMY entry its search passed
 * (fill unchanged); only when it takes an EMPTY entry does fill grow, and if
 * fill would reach the load limit the table is first rebuilt (so that out of
 * memory leaves the set unchanged) for 4 × used entries (2 × beyond 50000),
 * rounded up to a power of two larger than that. These rules were inferred
 * from CPython 3.11's sys.getsizeof figures (a model with them matched 300
 * random add/discard sequences exactly; "first dummy wins" did not):
 * 216 bytes up to 4 items, 728 to 18, 2264 to 76, ...
 *
 * Re-entrancy and tracking: as in dict.c, comparisons hold a reference to the
 * key compared and fail with RH_ESTATE when the set changed meanwhile
 * (`version`); references are dropped only when the set is consistent. Sets
 * are tracked from creation to death (CPython: gc.is_tracked(set()) is True).
 * Sets support weak references, as Python's do.
 */
#include "objects/containers.h"
#include "objects/object_new.h" /* creation's fast path, in line */

#include <stddef.h>

#define SET_MINSIZE 8          /* entries in the built-in small table (CPython's) */
#define PERTURB_SHIFT 5
/* i -> 5i + 1 (mod 2^k) has full period: once perturb is 0 it visits every
 * cell, so a search always reaches an empty one. */
#define PROBE_MUL 5
/* Load limit: rebuild when fill reaches 3/5 of the mask (CPython's ratio). */
#define SET_LOAD_NUM 5
#define SET_LOAD_DEN 3
/* Growth: 4 × used while small, 2 × used beyond this many items, so big sets
 * do not waste memory (CPython's figures). */
#define SET_FAST_GROWTH_LIMIT 50000
#define SET_FAST_GROWTH 4
#define SET_SLOW_GROWTH 2

typedef struct set_entry {
    rh_object *key;
    rh_hash_t hash;
} set_entry;

typedef struct rh__set {
    RH_OBJECT_HEAD;
    size_t fill;
    size_t used;
    size_t mask;
    set_entry *table;
    uint64_t version;      /* bumped on every structural change */
    rh_heap *heap;         /* cached rh_heap_of(self) */
    rh_object *weaklist;   /* head of the weak references to this set */
    set_entry smalltable[SET_MINSIZE];
} rh__set;

#define SET(o) ((rh__set *)(void *)(o))

/* set() is 216 bytes in CPython 3.11 with the collector's record. */
_Static_assert(sizeof(rh__set) == 200, "set object: 200 bytes + 16-byte collector record = 216");

/* The DUMMY marker: a private static object that is never handed out. */
static rh_object set_dummy = {RH_IMMORTAL, 0, &rh_none_type};
#define DUMMY (&set_dummy)

static inline bool entry_active(const set_entry *e) { return e->key && e->key != DUMMY; }

/* The probe order, CPython 3.11's (re-derived and checked against its
 * sys.getsizeof figures): from i = hash & mask, look at a run of
 * SET_LINEAR_PROBES + 1 adjacent entries (a single entry when the run would
 * pass the end of the table), then jump to i = 5i + 1 + perturb with
 * perturb >>= 5 first. Adjacent entries share cache lines; the jumps break up
 * clusters; the recurrence visits every entry, so a search always ends. */
#define SET_LINEAR_PROBES 9

typedef struct set_probe {
    size_t i, j, end, mask;
    uint64_t perturb;
} set_probe;

static inline void probe_start(set_probe *p, size_t mask, rh_hash_t hash) {
    p->mask = mask;
    p->i = p->j = (size_t)hash & mask;
    p->end = p->i + SET_LINEAR_PROBES <= mask ? p->i + SET_LINEAR_PROBES : p->i;
    p->perturb = (uint64_t)hash;
}

static inline void probe_next(set_probe *p) {
    if (p->j < p->end) {
        p->j++;
        return;
    }
    p->perturb >>= PERTURB_SHIFT;
    p->i = (p->i * PROBE_MUL + 1 + (size_t)p->perturb) & p->mask;
    p->j = p->i;
    p->end = p->i + SET_LINEAR_PROBES <= p->mask ? p->i + SET_LINEAR_PROBES : p->i;
}

/* Finds key. 1 found (*out = its entry); 0 absent (*out = the EMPTY entry
 * ending the search, *dummy = the last DUMMY passed, which an addition
 * reuses, or NULL); -1 error. */
static int set_find(rh__set *s, rh_object *key, rh_hash_t hash, set_entry **out, set_entry **dummy) {
    set_probe p;
    set_entry *last_dummy = NULL;
    probe_start(&p, s->mask, hash);
    for (;; probe_next(&p)) {
        set_entry *e = &s->table[p.j];
        if (!e->key) {
            *out = e;
            if (dummy) *dummy = last_dummy;
            return 0;
        }
        if (e->key == DUMMY) {
            last_dummy = e;
            continue;
        }
        if (e->key == key) {
            *out = e;
            return 1;
        }
        if (e->hash == hash) {
            rh_object *start = rh_newref(e->key);
            uint64_t version = s->version;
            int r = rh_equal(start, key);
            rh_decref(start);
            if (s->version != version) {
                rh_err_set(s->heap, RH_ESTATE, "set mutated during a key comparison");
                return -1;
            }
            if (r < 0) return -1;
            if (r > 0) {
                *out = e;
                return 1;
            }
        }
    }
}

/* Places an entry known to be absent into a table with no DUMMY entries. */
static void insert_clean(set_entry *table, size_t mask, rh_object *key, rh_hash_t hash) {
    set_probe p;
    probe_start(&p, mask, hash);
    while (table[p.j].key) probe_next(&p);
    table[p.j].key = key;
    table[p.j].hash = hash;
}

/* Rebuilds the table with the smallest power of two > minused entries (at
 * least SET_MINSIZE), dropping DUMMY entries. If `extra` is not NULL it is
 * an addition that belongs at the EMPTY entry extra_at of the old table: it
 * is placed as if it had been stored there before the rebuild (CPython adds,
 * then rebuilds; this rebuilds first so that out of memory changes nothing,
 * and still puts every key where CPython would). 0, or -1 with the set
 * unchanged. */
static int set_resize(rh__set *s, size_t minused, rh_object *extra, rh_hash_t extra_hash, size_t extra_at) {
    size_t newsize = SET_MINSIZE;
    while (newsize <= minused) {
        if (newsize > SIZE_MAX / (2 * sizeof(set_entry))) {
            rh_err_set(s->heap, RH_EOVERFLOW, "set: table too large");
            return -1;
        }
        newsize <<= 1;
    }
    set_entry *old = s->table;
    size_t oldsize = s->mask + 1;
    set_entry small_copy[SET_MINSIZE];
    set_entry *newtable;
    if (newsize == SET_MINSIZE) {
        if (old == s->smalltable) { /* rebuilding in place: work from a copy */
            memcpy(small_copy, old, sizeof small_copy);
            old = small_copy;
        }
        newtable = s->smalltable;
    } else {
        newtable = rh_malloc(s->heap, newsize * sizeof(set_entry));
        if (!newtable) return -1;
    }
    memset(newtable, 0, newsize * sizeof(set_entry));
    for (size_t i = 0; i < oldsize; i++) {
        if (entry_active(&old[i])) insert_clean(newtable, newsize - 1, old[i].key, old[i].hash);
        else if (extra && i == extra_at) insert_clean(newtable, newsize - 1, extra, extra_hash);
    }
    s->table = newtable;
    s->mask = newsize - 1;
    s->fill = s->used + (extra != NULL);
    s->used = s->fill;
    s->version++;
    if (old != s->smalltable && old != small_copy) rh_free(s->heap, old);
    return 0;
}

/* Empties the set (back to the small table), then drops the references. */
static void set_drop_all(rh__set *s) {
    set_entry *old = s->table;
    size_t oldsize = s->mask + 1;
    size_t n = s->fill;
    set_entry small_copy[SET_MINSIZE];
    if (n == 0 && old == s->smalltable) return;
    if (old == s->smalltable) {
        memcpy(small_copy, old, sizeof small_copy);
        old = small_copy;
    }
    memset(s->smalltable, 0, sizeof s->smalltable);
    s->table = s->smalltable;
    s->mask = SET_MINSIZE - 1;
    s->fill = 0;
    s->used = 0;
    s->version++;
    for (size_t i = 0; i < oldsize; i++)
        if (entry_active(&old[i])) rh_decref(old[i].key);
    if (old != small_copy) rh_free(s->heap, old);
}

/* ---------------------------------------------------------------------------
 * Type hooks
 * ------------------------------------------------------------------------- */

static void set_destroy(rh_object *self) { set_drop_all(SET(self)); }

static void set_clear_hook(rh_object *self) { set_drop_all(SET(self)); }

static int set_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    rh__set *s = SET(self);
    for (size_t i = 0; i <= s->mask; i++) {
        if (entry_active(&s->table[i])) {
            int r = visit(s->table[i].key, arg);
            if (r) return r;
        }
    }
    return 0;
}

/* Next ACTIVE entry at or after *pos, re-reading the table each call; a new
 * reference. */
static bool set_next_ref(rh__set *s, size_t *pos, rh_object **key) {
    while (*pos <= s->mask) {
        set_entry *e = &s->table[(*pos)++];
        if (entry_active(e)) {
            *key = rh_newref(e->key);
            return true;
        }
    }
    return false;
}

static int set_repr(rh_object *self, char *buf, size_t cap) {
    rh__set *s = SET(self);
    rh__reprbuf w;
    rh__repr_begin(&w, buf, cap);
    if (s->used == 0) {
        rh__repr_puts(&w, "set()");
        return rh__repr_done(&w);
    }
    rh__repr_frame f;
    int en = rh__repr_enter(&f, self);
    if (en < 0) return -1;
    if (en > 0) {
        rh__repr_puts(&w, "set(...)");
        return rh__repr_done(&w);
    }
    rh__repr_puts(&w, "{");
    size_t pos = 0;
    rh_object *k;
    bool first = true;
    while (!w.failed && set_next_ref(s, &pos, &k)) {
        if (!first) rh__repr_puts(&w, ", ");
        first = false;
        rh__repr_obj(&w, k);
        rh_decref(k);
    }
    rh__repr_puts(&w, "}");
    rh__repr_leave(&f);
    return rh__repr_done(&w);
}

static int set_eq(rh_object *self, rh_object *other) {
    if (self == other) return 1;
    if (other->rh_type != &rh_set_type) return 0;
    rh__set *a = SET(self), *b = SET(other);
    if (a->used != b->used) return 0;
    size_t pos = 0;
    rh_object *k;
    int result = 1;
    while (result == 1 && set_next_ref(a, &pos, &k)) {
        result = rh_set_contains(RH_OBJ(b), k);
        rh_decref(k);
    }
    return result;
}

static size_t set_sizeof_extra(rh_object *self) {
    rh__set *s = SET(self);
    return s->table == s->smalltable ? 0 : (s->mask + 1) * sizeof(set_entry);
}

const rh_type rh_set_type = {
    .name = "set",
    .basicsize = sizeof(rh__set),
    .itemsize = 0,
    .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(rh__set, weaklist),
    .destroy = set_destroy,
    .traverse = set_traverse,
    .clear = set_clear_hook,
    .repr = set_repr,
    .hash = NULL, /* unhashable (frozenset is not provided) */
    .eq = set_eq,
    .sizeof_extra = set_sizeof_extra,
    .untrack_check = NULL, /* always tracked */
};

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

rh_object *rh_set_new(rh_heap *h) {
    rh_object *o = rh__new_fast(h, &rh_set_type, false, __FILE__, __LINE__);
    if (!o) return NULL;
    rh__set *s = SET(o);
    memset(s->smalltable, 0, sizeof s->smalltable);
    s->table = s->smalltable;
    s->mask = SET_MINSIZE - 1;
    s->fill = 0;
    s->used = 0;
    s->version = 0;
    s->heap = h;
    s->weaklist = NULL;
    rh_gc_track(o);
    return o;
}

size_t rh_set_size(const rh_object *s) {
    RH__CHECK_LIVE(s, "rh_set_size");
    return SET(s)->used;
}

int rh_set_add(rh_object *so, rh_object *key) {
    RH__CHECK_LIVE(so, "rh_set_add");
    rh__set *s = SET(so);
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return -1;
    set_entry *e, *dummy;
    int r = set_find(s, key, hash, &e, &dummy);
    if (r != 0) return r < 0 ? -1 : 0; /* present: the set keeps its own key */
    if (dummy) {                        /* reuse a deleted entry: fill is unchanged */
        dummy->key = rh_newref(key);
        dummy->hash = hash;
        s->used++;
        s->version++;
        return 0;
    }
    if ((s->fill + 1) * SET_LOAD_NUM >= s->mask * SET_LOAD_DEN) {
        size_t used = s->used + 1;
        size_t grow = used > SET_FAST_GROWTH_LIMIT ? SET_SLOW_GROWTH : SET_FAST_GROWTH;
        if (set_resize(s, used * grow, key, hash, (size_t)(e - s->table)) < 0) return -1;
        rh_incref(key); /* the rebuild stored it */
        return 0;
    }
    e->key = rh_newref(key);
    e->hash = hash;
    s->fill++;
    s->used++;
    s->version++;
    return 0;
}

int rh_set_discard(rh_object *so, rh_object *key) {
    RH__CHECK_LIVE(so, "rh_set_discard");
    rh__set *s = SET(so);
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return -1;
    set_entry *e;
    int r = set_find(s, key, hash, &e, NULL);
    if (r <= 0) return r;
    rh_object *old = e->key;
    e->key = DUMMY;
    e->hash = -1;
    s->used--;
    s->version++;
    rh_decref(old);
    return 1;
}

int rh_set_contains(rh_object *so, rh_object *key) {
    RH__CHECK_LIVE(so, "rh_set_contains");
    rh__set *s = SET(so);
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return -1;
    set_entry *e;
    return set_find(s, key, hash, &e, NULL);
}

int rh_set_clear(rh_object *so) {
    RH__CHECK_LIVE(so, "rh_set_clear");
    set_drop_all(SET(so));
    return 0;
}

bool rh_set_next(const rh_object *so, size_t *pos, rh_object **key) {
    RH__CHECK_LIVE(so, "rh_set_next");
    const rh__set *s = SET(so);
    while (*pos <= s->mask) {
        const set_entry *e = &s->table[(*pos)++];
        if (e->key && e->key != DUMMY) {
            *key = e->key;
            return true;
        }
    }
    return false;
}
