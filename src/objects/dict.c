/*
 * dict.c — the insertion-ordered hash map (a "compact dict").
 *
 * Structure. A dict owns at most one table block, allocated on its heap:
 *
 *     [ header (32 bytes) | index slots: 2^k signed ints | entries: capacity × 24 ]
 *
 * The entries array holds (hash, key, value) in insertion order and only ever
 * grows at its end (nentries); the index slots are an open-addressing hash
 * table whose cells hold an entry number, EMPTY (-1, never used) or DUMMY
 * (-2, an entry was deleted from here: probing must continue past it). Cells
 * are 1, 2, 4 or 8 bytes wide, the narrowest type that can number every entry,
 * so small dicts stay small. capacity = 2/3 of the slots: at least a third of
 * the cells are always EMPTY, so every probe sequence ends.
 *
 * Probing: start at hash & mask; then i = 5i + 1 + perturb (mod 2^k), where
 * perturb starts as the hash and loses 5 bits per step. While perturb is
 * nonzero the high bits of the hash take part; once it is zero the recurrence
 * 5i+1 mod 2^k visits every cell, so the search always terminates.
 *
 * Invariants:
 *     used = number of entries with key != NULL (live);
 *     used <= nentries <= capacity;  usable = capacity - nentries;
 *     a live entry e is referenced by exactly one cell, reachable from
 *     e.hash's probe start without crossing an EMPTY cell;
 *     table == NULL  iff  the dict has never held a key since it was created
 *     or last cleared (the "empty keys" state: {} costs no table).
 *
 * Deletion turns the cell into DUMMY and the entry's key/value into NULL
 * (nentries and usable do not change). An insertion reuses the first DUMMY
 * on its probe path. When an insertion finds usable == 0 the table is rebuilt
 * with only the live entries (this also drops dummies and deleted entries),
 * sized as CPython 3.11 sizes it: the smallest power of two >= (used*3 | 8),
 * so a dict doubles when it only grows, can shrink after many deletions, and
 * sys.getsizeof figures match (224 bytes for 1..5 int keys, 352 to 10, ...).
 *
 * Re-entrancy. Comparing keys calls user eq hooks, which may mutate the dict
 * being searched. Every structural change (new key, deletion, clear, rebuild)
 * bumps `version`; a lookup holds a reference to the key it compares and
 * checks the version afterwards: if it moved, the lookup fails with RH_ESTATE
 * instead of reading a table that may have been freed. Dropping references
 * (old values, deleted keys) happens only after the dict is consistent again,
 * because a destructor may run arbitrary code.
 *
 * Tracking (CPython 3.11, REFERENCE.md §3, §7): a new dict is not tracked.
 * Storing a key or value that may be tracked (rh__may_be_tracked: any
 * container but a tuple, or a tracked tuple — so an untracked empty dict
 * counts) tracks it. Removing such items does not untrack; the collector asks
 * untrack_check at full collections only (RH_TYPE_UNTRACK_AT_FULL).
 */
#include "objects/containers.h"
#include "objects/object_new.h" /* creation's fast path, in line */

/* Cell values besides entry numbers. */
#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
#define IX_ERROR (-3) /* a lookup failed (comparison error or mutation) */

/* The smallest table: 8 cells, 5 entries (CPython's PyDict_MINSIZE). */
#define DICT_LOG2_MINSIZE 3
/* Growth on a full table: room for 3 × used (CPython 3.11's GROWTH_RATE). */
#define DICT_GROWTH_FACTOR 3
/* Bits of the hash mixed into each probe step. */
#define PERTURB_SHIFT 5
/* i -> 5i + 1 (mod 2^k) has full period: once perturb is 0 it visits every
 * cell, so a search always reaches an empty one. */
#define PROBE_MUL 5

typedef struct dict_entry {
    rh_hash_t hash;
    rh_object *key;   /* NULL: deleted */
    rh_object *value;
} dict_entry;

typedef struct dict_table {
    size_t usable;      /* entries that can still be appended */
    size_t nentries;    /* entries appended (live and deleted) */
    size_t capacity;    /* length of the entries array */
    uint8_t log2_slots; /* index cells: 1 << log2_slots */
    uint8_t log2_width; /* bytes per cell: 1 << log2_width */
} dict_table;

typedef struct rh__dict {
    RH_OBJECT_HEAD;
    size_t used;        /* live entries */
    uint64_t version;   /* bumped on every structural change */
    dict_table *table;  /* NULL while empty */
    rh_heap *heap;      /* cached rh_heap_of(self), for allocations and errors */
} rh__dict;

#define DCT(o) ((rh__dict *)(void *)(o))

/* The sizes sys.getsizeof reports for CPython's dict (64 bytes with the
 * collector's record) and its keys-object header (32 bytes); rh_sizeof's
 * figures match them (docs/object-sizes.md). */
_Static_assert(sizeof(rh__dict) == 48, "dict object: 48 bytes + 16-byte collector record = 64");
_Static_assert(sizeof(dict_table) == 32, "dict table header: 32 bytes");
_Static_assert(sizeof(dict_entry) == 24, "dict entry: hash, key, value");

static inline size_t tbl_slots(const dict_table *t) { return (size_t)1 << t->log2_slots; }
static inline void *tbl_cells(dict_table *t) { return (char *)t + sizeof(dict_table); }
static inline dict_entry *tbl_entries(dict_table *t) {
    return (dict_entry *)(void *)((char *)tbl_cells(t) + (tbl_slots(t) << t->log2_width));
}
/* 2/3 of the cells (CPython's USABLE_FRACTION). */
static inline size_t usable_fraction(size_t slots) { return (slots << 1) / 3; }

static inline int64_t cell_get(dict_table *t, size_t i) {
    void *c = tbl_cells(t);
    switch (t->log2_width) {
    case 0: return ((int8_t *)c)[i];
    case 1: return ((int16_t *)c)[i];
    case 2: return ((int32_t *)c)[i];
    default: return ((int64_t *)c)[i];
    }
}

static inline void cell_set(dict_table *t, size_t i, int64_t ix) {
    void *c = tbl_cells(t);
    switch (t->log2_width) {
    case 0: ((int8_t *)c)[i] = (int8_t)ix; break;
    case 1: ((int16_t *)c)[i] = (int16_t)ix; break;
    case 2: ((int32_t *)c)[i] = (int32_t)ix; break;
    default: ((int64_t *)c)[i] = ix; break;
    }
}

static size_t tbl_bytes(unsigned log2_slots, unsigned log2_width) {
    size_t slots = (size_t)1 << log2_slots;
    return sizeof(dict_table) + (slots << log2_width) + usable_fraction(slots) * sizeof(dict_entry);
}

/* Largest table: its byte size must fit a size_t comfortably. */
#define DICT_LOG2_MAXSIZE (sizeof(size_t) * 8 - 6)

static dict_table *tbl_new(rh_heap *h, unsigned log2_slots) {
    if (log2_slots > DICT_LOG2_MAXSIZE) {
        rh_err_set(h, RH_EOVERFLOW, "dict: table too large");
        return NULL;
    }
    /* Narrowest signed cell that can number every entry and hold -1, -2. */
    unsigned log2_width = log2_slots <= 7 ? 0 : log2_slots <= 15 ? 1 : log2_slots <= 31 ? 2 : 3;
    dict_table *t = rh_malloc(h, tbl_bytes(log2_slots, log2_width));
    if (!t) return NULL;
    t->log2_slots = (uint8_t)log2_slots;
    t->log2_width = (uint8_t)log2_width;
    t->capacity = usable_fraction(tbl_slots(t));
    t->usable = t->capacity;
    t->nentries = 0;
    memset(tbl_cells(t), 0xff, tbl_slots(t) << log2_width); /* every cell IX_EMPTY */
    return t;
}

/* The first EMPTY or DUMMY cell on key's probe path (no comparisons). */
static size_t tbl_free_cell(dict_table *t, rh_hash_t hash) {
    size_t mask = tbl_slots(t) - 1;
    size_t i = (size_t)hash & mask;
    uint64_t perturb = (uint64_t)hash;
    while (cell_get(t, i) >= 0) {
        perturb >>= PERTURB_SHIFT;
        i = (i * PROBE_MUL + (size_t)perturb + 1) & mask;
    }
    return i;
}

/* ---------------------------------------------------------------------------
 * Lookup and resizing
 * ------------------------------------------------------------------------- */

/* Finds key. Returns its entry number, IX_EMPTY when absent, IX_ERROR on
 * failure (error set). *cell receives the key's cell when found, or the cell
 * an insertion should use (the first DUMMY met, else the EMPTY one ending the
 * search). */
static int64_t dict_lookup(rh__dict *d, rh_object *key, rh_hash_t hash, size_t *cell) {
    dict_table *t = d->table;
    *cell = 0;
    if (!t) return IX_EMPTY;
    size_t mask = tbl_slots(t) - 1;
    size_t i = (size_t)hash & mask;
    uint64_t perturb = (uint64_t)hash;
    size_t freecell = SIZE_MAX;
    for (;;) {
        int64_t ix = cell_get(t, i);
        if (ix == IX_EMPTY) {
            *cell = freecell != SIZE_MAX ? freecell : i;
            return IX_EMPTY;
        }
        if (ix == IX_DUMMY) {
            if (freecell == SIZE_MAX) freecell = i;
        } else {
            dict_entry *e = &tbl_entries(t)[ix];
            if (e->key == key) {
                *cell = i;
                return ix;
            }
            if (e->hash == hash) {
                rh_object *start = rh_newref(e->key);
                uint64_t version = d->version;
                int r = rh_equal(start, key);
                rh_decref(start);
                if (d->version != version) {
                    rh_err_set(d->heap, RH_ESTATE, "dict mutated during a key comparison");
                    return IX_ERROR;
                }
                if (r < 0) return IX_ERROR;
                if (r > 0) {
                    *cell = i;
                    return ix;
                }
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * PROBE_MUL + (size_t)perturb + 1) & mask;
    }
}

/* Rebuilds the table with 2^log2_slots cells holding only the live entries,
 * in order. 0, or -1 (RH_ENOMEM) with the dict unchanged. */
static int dict_resize(rh__dict *d, unsigned log2_slots) {
    dict_table *nt = tbl_new(d->heap, log2_slots);
    if (!nt) return -1;
    dict_table *ot = d->table;
    if (ot) {
        dict_entry *src = tbl_entries(ot), *dst = tbl_entries(nt);
        size_t n = 0;
        for (size_t k = 0; k < ot->nentries; k++) {
            if (!src[k].key) continue;
            dst[n] = src[k];
            cell_set(nt, tbl_free_cell(nt, src[k].hash), (int64_t)n);
            n++;
        }
        nt->nentries = n;
        nt->usable = nt->capacity - n;
    }
    d->table = nt;
    d->version++;
    rh_free(d->heap, ot);
    return 0;
}

/* The table size CPython 3.11 picks when an insertion finds no room: the
 * smallest power of two >= (used*3 | 8). (The "| 8" makes a nearly empty dict
 * rebuild to 16 cells, not 8: measured, see tests/test_dict.c.) */
static unsigned grow_log2(size_t used) {
    size_t want = (used > SIZE_MAX / DICT_GROWTH_FACTOR ? SIZE_MAX : used * DICT_GROWTH_FACTOR)
                  | ((size_t)1 << DICT_LOG2_MINSIZE);
    unsigned log2 = DICT_LOG2_MINSIZE;
    while (log2 < sizeof(size_t) * 8 - 1 && ((size_t)1 << log2) < want) log2++;
    return log2;
}

static inline void dict_maybe_track(rh__dict *d, rh_object *key, rh_object *value) {
    if (!rh_gc_is_tracked(RH_OBJ(d)) && (rh__may_be_tracked(key) || rh__may_be_tracked(value)))
        rh_gc_track(RH_OBJ(d));
}

/* Inserts or replaces. 0 or -1; on -1 the dict is unchanged. */
static int dict_insert(rh__dict *d, rh_object *key, rh_hash_t hash, rh_object *value) {
    size_t cell;
    int64_t ix = dict_lookup(d, key, hash, &cell);
    if (ix == IX_ERROR) return -1;
    if (ix >= 0) {
        dict_entry *e = &tbl_entries(d->table)[ix];
        rh_object *old = e->value;
        e->value = rh_newref(value);
        dict_maybe_track(d, key, value);
        rh_decref(old);
        return 0;
    }
    if (!d->table) {
        if (dict_resize(d, DICT_LOG2_MINSIZE) < 0) return -1;
        cell = tbl_free_cell(d->table, hash);
    } else if (d->table->usable == 0) {
        if (dict_resize(d, grow_log2(d->used)) < 0) return -1;
        cell = tbl_free_cell(d->table, hash);
    }
    dict_table *t = d->table;
    dict_entry *e = &tbl_entries(t)[t->nentries];
    e->hash = hash;
    e->key = rh_newref(key);
    e->value = rh_newref(value);
    cell_set(t, cell, (int64_t)t->nentries);
    t->nentries++;
    t->usable--;
    d->used++;
    d->version++;
    dict_maybe_track(d, key, value);
    return 0;
}

/* Empties the dict, then drops the references (first to last) and frees the
 * table: destructors run against an already empty, consistent dict. */
static void dict_drop_all(rh__dict *d) {
    dict_table *t = d->table;
    if (!t) return;
    d->table = NULL;
    d->used = 0;
    d->version++;
    dict_entry *e = tbl_entries(t);
    for (size_t k = 0; k < t->nentries; k++) {
        if (!e[k].key) continue;
        rh_decref(e[k].key);
        rh_decref(e[k].value);
    }
    rh_free(d->heap, t);
}

/* ---------------------------------------------------------------------------
 * Type hooks
 * ------------------------------------------------------------------------- */

static void dict_destroy(rh_object *self) { dict_drop_all(DCT(self)); }

static void dict_clear_hook(rh_object *self) { dict_drop_all(DCT(self)); }

static int dict_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    dict_table *t = DCT(self)->table;
    if (!t) return 0;
    dict_entry *e = tbl_entries(t);
    for (size_t k = 0; k < t->nentries; k++) {
        if (!e[k].key) continue;
        int r = visit(e[k].key, arg);
        if (r) return r;
        r = visit(e[k].value, arg);
        if (r) return r;
    }
    return 0;
}

static int dict_untrack_check(rh_object *self) {
    dict_table *t = DCT(self)->table;
    if (!t) return 1;
    dict_entry *e = tbl_entries(t);
    for (size_t k = 0; k < t->nentries; k++) {
        if (!e[k].key) continue;
        if (rh__may_be_tracked(e[k].key) || rh__may_be_tracked(e[k].value)) return 0;
    }
    return 1;
}

/* The next live entry at or after *pos in d's current table (re-read on
 * every call, so it is safe while user code mutates the dict between
 * calls), *pos moved past it; NULL at the end. */
static dict_entry *next_entry(const rh__dict *d, size_t *pos) {
    dict_table *t = d->table;
    if (!t) return NULL;
    dict_entry *e = tbl_entries(t);
    while (*pos < t->nentries) {
        dict_entry *x = &e[(*pos)++];
        if (x->key) return x;
    }
    return NULL;
}

/* next_entry's key and value as new references. */
static bool dict_next_ref(rh__dict *d, size_t *pos, rh_object **k, rh_object **v, rh_hash_t *hash) {
    dict_entry *x = next_entry(d, pos);
    if (!x) return false;
    *k = rh_newref(x->key);
    *v = rh_newref(x->value);
    if (hash) *hash = x->hash;
    return true;
}

static int dict_repr(rh_object *self, char *buf, size_t cap) {
    rh__dict *d = DCT(self);
    rh__reprbuf w;
    rh__repr_begin(&w, buf, cap);
    if (d->used == 0) {
        rh__repr_puts(&w, "{}");
        return rh__repr_done(&w);
    }
    rh__repr_frame f;
    int en = rh__repr_enter(&f, self);
    if (en < 0) return -1;
    if (en > 0) {
        rh__repr_puts(&w, "{...}");
        return rh__repr_done(&w);
    }
    rh__repr_puts(&w, "{");
    size_t pos = 0;
    rh_object *k, *v;
    bool first = true;
    while (!w.failed && dict_next_ref(d, &pos, &k, &v, NULL)) {
        if (!first) rh__repr_puts(&w, ", ");
        first = false;
        rh__repr_obj(&w, k);
        rh__repr_puts(&w, ": ");
        if (!w.failed) rh__repr_obj(&w, v);
        rh_decref(k);
        rh_decref(v);
    }
    rh__repr_puts(&w, "}");
    rh__repr_leave(&f);
    return rh__repr_done(&w);
}

static int dict_eq(rh_object *self, rh_object *other) {
    if (self == other) return 1;
    if (other->rh_type != &rh_dict_type) return 0;
    rh__dict *a = DCT(self), *b = DCT(other);
    if (a->used != b->used) return 0;
    size_t pos = 0;
    rh_object *k, *v;
    rh_hash_t hash;
    int result = 1;
    while (result == 1 && dict_next_ref(a, &pos, &k, &v, &hash)) {
        size_t cell;
        int64_t ix = dict_lookup(b, k, hash, &cell);
        if (ix == IX_ERROR) {
            result = -1;
        } else if (ix < 0) {
            result = 0;
        } else {
            rh_object *bv = rh_newref(tbl_entries(b->table)[ix].value);
            result = rh__item_eq(v, bv);
            rh_decref(bv);
        }
        rh_decref(k);
        rh_decref(v);
    }
    return result;
}

static size_t dict_sizeof_extra(rh_object *self) {
    dict_table *t = DCT(self)->table;
    return t ? tbl_bytes(t->log2_slots, t->log2_width) : 0;
}

const rh_type rh_dict_type = {
    .name = "dict",
    .basicsize = sizeof(rh__dict),
    .itemsize = 0,
    .flags = RH_TYPE_GC | RH_TYPE_UNTRACK_AT_FULL,
    .destroy = dict_destroy,
    .traverse = dict_traverse,
    .clear = dict_clear_hook,
    .repr = dict_repr,
    .hash = NULL, /* unhashable */
    .eq = dict_eq,
    .sizeof_extra = dict_sizeof_extra,
    .untrack_check = dict_untrack_check,
};

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

rh_object *rh_dict_new(rh_heap *h) {
    rh_object *o = rh__new_fast(h, &rh_dict_type, false, __FILE__, __LINE__);
    if (!o) return NULL;
    rh__dict *d = DCT(o);
    d->used = 0;
    d->version = 0;
    d->table = NULL;
    d->heap = h;
    return o; /* not tracked until it holds something that may be (CPython) */
}

size_t rh_dict_size(const rh_object *d) {
    RH__CHECK_LIVE(d, "rh_dict_size");
    return DCT(d)->used;
}

int rh_dict_set(rh_object *d, rh_object *key, rh_object *value) {
    RH__CHECK_LIVE(d, "rh_dict_set");
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return -1;
    return dict_insert(DCT(d), key, hash, value);
}

rh_object *rh_dict_get(rh_object *dobj, rh_object *key) {
    RH__CHECK_LIVE(dobj, "rh_dict_get");
    rh__dict *d = DCT(dobj);
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return NULL;
    size_t cell;
    int64_t ix = dict_lookup(d, key, hash, &cell);
    if (ix < 0) return NULL;
    return tbl_entries(d->table)[ix].value;
}

int rh_dict_contains(rh_object *dobj, rh_object *key) {
    RH__CHECK_LIVE(dobj, "rh_dict_contains");
    rh__dict *d = DCT(dobj);
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return -1;
    size_t cell;
    int64_t ix = dict_lookup(d, key, hash, &cell);
    if (ix == IX_ERROR) return -1;
    return ix >= 0;
}

int rh_dict_del(rh_object *dobj, rh_object *key) {
    RH__CHECK_LIVE(dobj, "rh_dict_del");
    rh__dict *d = DCT(dobj);
    rh_hash_t hash = rh_hash(key);
    if (hash == -1) return -1;
    size_t cell;
    int64_t ix = dict_lookup(d, key, hash, &cell);
    if (ix == IX_ERROR) return -1;
    if (ix < 0) {
        rh_err_set(d->heap, RH_EKEY, "dict: key not found");
        return -1;
    }
    dict_table *t = d->table;
    dict_entry *e = &tbl_entries(t)[ix];
    rh_object *k = e->key, *v = e->value;
    e->key = NULL;
    e->value = NULL;
    cell_set(t, cell, IX_DUMMY);
    d->used--;
    d->version++;
    rh_decref(k);
    rh_decref(v);
    return 0;
}

int rh_dict_clear(rh_object *d) {
    RH__CHECK_LIVE(d, "rh_dict_clear");
    dict_drop_all(DCT(d));
    return 0;
}

int rh_dict_set_str(rh_object *d, const char *key, rh_object *value) {
    RH__CHECK_LIVE(d, "rh_dict_set_str");
    /* Interned, as CPython's PyDict_SetItemString interns its key. */
    rh_object *k = rh_str_intern(DCT(d)->heap, key);
    if (!k) return -1;
    int r = rh_dict_set(d, k, value);
    rh_decref(k);
    return r;
}

rh_object *rh_dict_get_str(rh_object *d, const char *key) {
    RH__CHECK_LIVE(d, "rh_dict_get_str");
    rh_object *k = rh_str(DCT(d)->heap, key);
    if (!k) return NULL;
    rh_object *v = rh_dict_get(d, k);
    rh_decref(k);
    return v;
}

int rh_dict_del_str(rh_object *d, const char *key) {
    RH__CHECK_LIVE(d, "rh_dict_del_str");
    rh_object *k = rh_str(DCT(d)->heap, key);
    if (!k) return -1;
    int r = rh_dict_del(d, k);
    rh_decref(k);
    return r;
}

bool rh_dict_next(const rh_object *dobj, size_t *pos, rh_object **key, rh_object **value) {
    RH__CHECK_LIVE(dobj, "rh_dict_next");
    dict_entry *x = next_entry(DCT(dobj), pos);
    if (!x) return false;
    if (key) *key = x->key;
    if (value) *value = x->value;
    return true;
}

rh_object *rh_dict_keys(rh_object *dobj) {
    RH__CHECK_LIVE(dobj, "rh_dict_keys");
    rh__dict *d = DCT(dobj);
    for (;;) {
        size_t n = d->used;
        rh_object *l = rh_list_new(d->heap, n);
        if (!l) return NULL;
        /* Creating the list may have run a collection, whose finalizers may
         * have changed the dict: start again with the new size. */
        if (n != d->used) {
            rh_decref(l);
            continue;
        }
        size_t pos = 0, i = 0;
        rh_object *k;
        while (rh_dict_next(dobj, &pos, &k, NULL)) rh_list_set(l, (ptrdiff_t)i++, k);
        return l;
    }
}
