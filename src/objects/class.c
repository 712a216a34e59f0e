/*
 * class.c — classes made at run time, and their instances.
 *
 * A class (rh_class_new, the analogue of executing Python's `class` statement)
 * is an object of type rh_class_type that owns a second, run-time rh_type: the
 * type of its instances. That rh_type is allocated with rh_malloc on the heap,
 * carries RH_TYPE_GC | RH_TYPE_HEAPTYPE (plus RH_TYPE_WEAKREFABLE when its
 * instances support weak references: as in Python, a plain class's always,
 * unless the spec says no_weakref; a slotted class's only when the spec says
 * weakrefable, Python's '__weakref__' in __slots__) and keeps a pointer back
 * to the class in user_data. It dies with the class object.
 *
 * Two layouts of instances exist, chosen when the class is made:
 *
 *   plain    [gc link][header][table*][used][mask] ([weaklist]) ([native])
 *            Attributes live in a small hash table owned by the instance (not
 *            a dict object), the way CPython 3.11 keeps instance attributes
 *            in inline values without materialising a __dict__: for the
 *            collector, two plain instances that point at each other are
 *            exactly two objects, as gc.collect() counts them in CPython.
 *   slotted  [gc link][header][slot 0 .. slot n-1] ([weaklist]) ([native])
 *            `__slots__`: exactly nslots object references stored inline,
 *            NULL while unset. Names outside the slots cannot be set.
 * [native] is the spec's native_size bytes for the embedder's per-instance C
 * state (zeroed at creation, 16-byte aligned, last in the block, never seen
 * by the collector); rh_instance_native gives its address.
 * The traverse of a slotted class without native state is the collector's
 * rh__gc_inline_refs_traverse (gc_internal.h): the class, then the slots up
 * to the weaklist or the end of the block, the order slotted_traverse (kept
 * for classes with native state) reports them in. The collector recognises
 * it and reads the slots in line: a full collection of such instances costs
 * about what one of a C type with the same fields costs.
 * A plain instance's traverse is rh__gc_attr_table_traverse, read in line
 * by the collector as well (the class, then the values of the table).
 *
 * The attribute table holds (key, value) pairs; keys are interned strings
 * (rh_str_intern), so a key is identified by its address and lookups compare
 * pointers, never text. Only setattr interns a name: getattr, hasattr and
 * delattr find the interned string by text without creating it (a name not
 * in the heap's intern table is no instance's attribute), so looking up
 * names that were never set allocates nothing. Its capacity is a power of two and it has two modes:
 *   small (capacity <= ATTR_LINEAR_MAX): the pairs are packed at the front in
 *     insertion order and a lookup scans them; the table may be full (2, 4
 *     or 8 pairs), so two attributes cost 32 bytes, what CPython 3.11 spends
 *     on the same object's inline values;
 *   hashed (larger): open addressing with linear probing on the key's
 *     address; at most 3/4 full; deletion shifts the following run of
 *     entries back (no tombstones), so a lookup stops at the first empty slot.
 *   Invariants:  table == NULL  =>  used == 0 and mask == 0;
 *                otherwise capacity = mask + 1, used <= capacity, and
 *                small:  keys [0, used) are set, the others NULL;
 *                hashed: used <= capacity * 3/4 and every key sits in the run
 *                        of occupied slots that starts at its home slot.
 *
 * References: every instance owns one reference to its class (CPython's
 * heap-type instances own one to their type) and its traverse visits the
 * class, so the collector subtracts it like any other internal reference.
 * The reference is taken in rh_instance_new and dropped last by destroy. The
 * class may die of that drop, freeing the rh_type that the object layer still
 * reads to free the instance's block (prefix size, collector accounting); so
 * just before the drop destroy points the instance at `dead_instance_type`, a
 * static type with the same layout facts (a container, no hooks that could
 * run), and the object layer frees the block through it. clear drops the
 * attribute values but keeps the class, as CPython's subtype_clear keeps the
 * type.
 *
 * The hooks a spec provides become the type's hooks: spec->finalizer as
 * finalize (PEP 442, may resurrect; object.c and gc.c decide when it runs),
 * spec->legacy_del as legacy_del (the tp_del analogue that makes a cycle
 * uncollectable). A class without them has NULL hooks, so the collector sees
 * exactly the classes that have finalizers. spec->destroy is not a type hook
 * of its own: the instance's destroy calls it first, once, when the instance
 * dies (untracked, after its finalizer and weak references), while its
 * attributes (those a collection's clear left), native state and class are
 * all still there; then the attributes are dropped and the class let go.
 */
#include "objects/object_internal.h"
#include "collector/gc_internal.h" /* the instances' layouts and traverses */
#include "objects/object_new.h" /* creation's fast path, in line */

#include <inttypes.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------
 * Layouts
 * ------------------------------------------------------------------------- */

/* An entry: {key, value} (gc_internal.h, where the collector reads it). */
typedef rh__attr_entry attr_entry;

/* A class object. */
typedef struct class_obj {
    RH_OBJECT_HEAD;
    rh_object *weaklist;   /* classes support weak references, as in Python */
    rh_heap *heap;         /* the class's heap, which is its instances' heap */
    rh_type *itype;        /* the instances' type (rh_malloc'd), NULL while half-built */
    rh_object *name;       /* interned string: its text outlives the class */
    rh_object **slot_keys; /* interned strings, nslots of them; NULL for plain */
    size_t nslots;
    bool slotted;
    rh_class_fn finalizer;
    rh_class_fn legacy_del;
    rh_class_fn destroy;   /* the spec's instance destroy hook, or NULL */
    size_t native_size;    /* bytes of native state at the end of each instance */
    void *data;
} class_obj;

/* A plain instance: {header, table, used, mask} (gc_internal.h, where the
 * collector reads it). The weaklist (if any) follows at offsetof == sizeof. */
typedef rh__attr_inst plain_inst;

/* A slotted instance: the slots follow the header, then the weaklist (if any). */
typedef struct slotted_inst {
    RH_OBJECT_HEAD;
    rh_object *slots[];
} slotted_inst;
/* The collector's in-line walk of the slots starts right after the header. */
_Static_assert(offsetof(slotted_inst, slots) == sizeof(rh_object), "slots follow the header");

/* First table: two pairs (32 bytes), the typical small object's attributes
 * (a point's x and y) without a second growth. */
#define ATTR_FIRST_CAPACITY 2u
/* Largest table that is scanned rather than hashed: eight pointer
 * comparisons in one or two cache lines cost less than hashing and probing,
 * and a scanned table can be full, which keeps small objects small. */
#define ATTR_LINEAR_MAX 8u
/* Largest load of a hashed table, as a fraction: 3/4. Linear probing stays
 * within a couple of probes at that load while keeping big tables dense. */
#define ATTR_LOAD_NUM 3u
#define ATTR_LOAD_DEN 4u
/* Capacity limit: used and mask are 32-bit. */
#define ATTR_MAX_CAPACITY ((uint32_t)1 << 30)

static class_obj *as_class(const rh_object *o) { return (class_obj *)(void *)o; }

static class_obj *class_of_inst(const rh_object *inst) {
    return (class_obj *)inst->rh_type->user_data;
}

static rh_object **slotted_slots(rh_object *inst) {
    return ((slotted_inst *)(void *)inst)->slots;
}

/* Identity hash, as object.__hash__: the address rotated right by four bits,
 * since the low four bits of a 16-byte aligned object are always zero. */
static rh_hash_t identity_hash(rh_object *self) {
    uint64_t p = (uint64_t)(uintptr_t)self;
    uint64_t y = (p >> 4) | (p << 60);
    rh_hash_t hv = (rh_hash_t)y;
    return hv == -1 ? -2 : hv;
}

/* ---------------------------------------------------------------------------
 * The attribute table
 * ------------------------------------------------------------------------- */

/* Home slot of a key: its address (16-byte aligned, so shift the zero bits
 * away) mixed by a Fibonacci multiplier so that consecutive allocations
 * spread over the table. */
static uint32_t attr_home(const rh_object *key, uint32_t mask) {
    uint64_t a = (uint64_t)(uintptr_t)key >> 4;
    return (uint32_t)((a * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;
}

static bool attr_small(uint32_t cap) { return cap <= ATTR_LINEAR_MAX; }

/* Index of key in the table, or -1. */
static long attr_find(const plain_inst *pi, const rh_object *key) {
    if (!pi->table) return -1;
    if (attr_small(pi->mask + 1)) {
        for (uint32_t i = 0; i < pi->used; i++)
            if (pi->table[i].key == key) return (long)i;
        return -1;
    }
    uint32_t i = attr_home(key, pi->mask);
    for (;;) {
        const attr_entry *e = &pi->table[i];
        if (e->key == key) return (long)i;
        if (!e->key) return -1;
        i = (i + 1) & pi->mask;
    }
}

/* Places a key known to be absent in a hashed table that has room. */
static void attr_place(attr_entry *table, uint32_t mask, rh_object *key, rh_object *value) {
    uint32_t i = attr_home(key, mask);
    while (table[i].key) i = (i + 1) & mask;
    table[i].key = key;
    table[i].value = value;
}

/* Makes room for one more pair, moving to a table twice as large when
 * needed. 0, or -1 (RH_ENOMEM) with nothing changed. */
static int attr_reserve(rh_heap *h, plain_inst *pi) {
    uint32_t cap = pi->table ? pi->mask + 1 : 0;
    uint64_t need = (uint64_t)pi->used + 1;
    if (cap && (attr_small(cap) ? need <= cap : need * ATTR_LOAD_DEN <= (uint64_t)cap * ATTR_LOAD_NUM))
        return 0;
    uint32_t ncap = cap ? cap * 2 : ATTR_FIRST_CAPACITY;
    if (ncap > ATTR_MAX_CAPACITY) {
        rh_err_set(h, RH_EOVERFLOW, "too many attributes");
        return -1;
    }
    attr_entry *nt = rh_calloc(h, ncap, sizeof *nt);
    if (!nt) return -1;
    if (attr_small(ncap)) {
        if (cap) memcpy(nt, pi->table, pi->used * sizeof *nt); /* keeps insertion order */
    } else {
        for (uint32_t i = 0; i < cap; i++)
            if (pi->table[i].key) attr_place(nt, ncap - 1, pi->table[i].key, pi->table[i].value);
    }
    rh_free(h, pi->table);
    pi->table = nt;
    pi->mask = ncap - 1;
    return 0;
}

/* Adds a pair whose key is absent; attr_reserve made room. */
static void attr_insert(plain_inst *pi, rh_object *key, rh_object *value) {
    if (attr_small(pi->mask + 1)) {
        pi->table[pi->used].key = key;
        pi->table[pi->used].value = value;
    } else {
        attr_place(pi->table, pi->mask, key, value);
    }
    pi->used++;
}

/* Removes the entry at index i: a small table closes the gap (keeping the
 * order), a hashed one shifts back the entries of the run after it that may
 * move closer to their home slot. The caller owns the removed key and value
 * afterwards. */
static void attr_remove_at(plain_inst *pi, uint32_t i) {
    attr_entry *t = pi->table;
    uint32_t mask = pi->mask;
    if (attr_small(mask + 1)) {
        memmove(&t[i], &t[i + 1], (pi->used - 1 - i) * sizeof *t);
        pi->used--;
        t[pi->used].key = NULL;
        t[pi->used].value = NULL;
        return;
    }
    uint32_t hole = i;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t[j].key) break;
        uint32_t home = attr_home(t[j].key, mask);
        /* t[j] may fill the hole unless its home lies cyclically in (hole, j]. */
        bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_after_hole) {
            t[hole] = t[j];
            hole = j;
        }
    }
    t[hole].key = NULL;
    t[hole].value = NULL;
    pi->used--;
}

/* Detaches the whole table and drops what it held. Detaching first keeps the
 * instance consistent while the drops run arbitrary finalizers (which may even
 * set new attributes on it). */
static void attr_drop_all(rh_object *self) {
    plain_inst *pi = (plain_inst *)(void *)self;
    attr_entry *t = pi->table;
    if (!t) return;
    uint32_t cap = pi->mask + 1;
    pi->table = NULL;
    pi->used = 0;
    pi->mask = 0;
    rh_heap *h = class_of_inst(self)->heap; /* no lookup of the address */
    for (uint32_t i = 0; i < cap; i++) {
        if (t[i].key) {
            rh_decref(t[i].value);
            rh_decref(t[i].key);
        }
    }
    rh_free(h, t);
}

/* ---------------------------------------------------------------------------
 * The instances' hooks
 * ------------------------------------------------------------------------- */

static int dead_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    (void)self;
    (void)visit;
    (void)arg;
    return 0;
}

/* What an instance is, between the end of its destroy and the freeing of its
 * block: a container (so its block starts at the same collector record) that
 * owns nothing. */
static const rh_type dead_instance_type = {
    .name = "instance of a freed class",
    .basicsize = sizeof(rh_object),
    .flags = RH_TYPE_GC,
    .traverse = dead_traverse,
};

/* The last step of an instance's destroy: let go of its class c. */
static void inst_drop_class(rh_object *self, class_obj *c) {
    self->rh_type = &dead_instance_type;
    rh_decref(RH_OBJ(c));
}

static void plain_clear(rh_object *self) { attr_drop_all(self); }

/* The spec's destroy hook (c: the class), before anything of the instance
 * is let go. */
static void inst_user_destroy(rh_object *self, class_obj *c) {
    if (c->destroy) c->destroy(self, c->data);
}

/* The destroys read the class once: the drops may run any code, but an
 * instance's class never changes. */
static void plain_destroy(rh_object *self) {
    class_obj *c = class_of_inst(self);
    inst_user_destroy(self, c);
    attr_drop_all(self);
    inst_drop_class(self, c);
}

static size_t plain_sizeof_extra(rh_object *self) {
    plain_inst *pi = (plain_inst *)(void *)self;
    return pi->table ? (size_t)(pi->mask + 1) * sizeof(attr_entry) : 0;
}

static int slotted_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    class_obj *c = class_of_inst(self);
    int r = visit(RH_OBJ(c), arg);
    if (r) return r;
    rh_object **s = slotted_slots(self);
    for (size_t i = 0; i < c->nslots; i++) {
        if (s[i] && (r = visit(s[i], arg)) != 0) return r;
    }
    return 0;
}

/* Drops the slots of an instance of c. */
static inline void slots_clear(rh_object *self, const class_obj *c) {
    rh_object **s = slotted_slots(self);
    for (size_t i = 0, n = c->nslots; i < n; i++) RH_CLEAR(s[i]);
}

static void slotted_clear(rh_object *self) { slots_clear(self, class_of_inst(self)); }

static void slotted_destroy(rh_object *self) {
    class_obj *c = class_of_inst(self);
    inst_user_destroy(self, c);
    slots_clear(self, c);
    inst_drop_class(self, c);
}

static void inst_finalize(rh_object *self) {
    class_obj *c = class_of_inst(self);
    c->finalizer(self, c->data);
}

static void inst_legacy_del(rh_object *self) {
    class_obj *c = class_of_inst(self);
    c->legacy_del(self, c->data);
}

static int inst_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "<%s object at 0x%" PRIxPTR ">", self->rh_type->name,
                    (uintptr_t)self);
}

/* ---------------------------------------------------------------------------
 * The class type
 * ------------------------------------------------------------------------- */

static int class_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    /* The name and slot names are immortal interned strings: nothing here can
     * take part in a cycle. */
    (void)self;
    (void)visit;
    (void)arg;
    return 0;
}

static void class_destroy(rh_object *self) {
    class_obj *c = as_class(self);
    rh_heap *h = rh_heap_of(self);
    if (c->slot_keys) {
        for (size_t i = 0; i < c->nslots; i++) rh_xdecref(c->slot_keys[i]);
        rh_free(h, c->slot_keys);
        c->slot_keys = NULL;
    }
    rh_free(h, c->itype);
    c->itype = NULL;
    RH_CLEAR(c->name);
}

static int class_repr(rh_object *self, char *buf, size_t cap) {
    class_obj *c = as_class(self);
    return snprintf(buf, cap, "<class '%s'>", c->name ? rh_str_cstr(c->name) : "?");
}

static size_t class_sizeof_extra(rh_object *self) {
    class_obj *c = as_class(self);
    size_t n = c->itype ? sizeof(rh_type) : 0;
    if (c->slot_keys) n += c->nslots * sizeof(rh_object *);
    return n;
}

const rh_type rh_class_type = {
    .name = "type",
    .basicsize = sizeof(class_obj),
    .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(class_obj, weaklist),
    .destroy = class_destroy,
    .traverse = class_traverse,
    .repr = class_repr,
    .hash = identity_hash,
    .sizeof_extra = class_sizeof_extra,
};

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

static bool is_class(const rh_object *o) { return o && o->rh_type == &rh_class_type; }

rh_object *rh_class_new(rh_heap *h, const rh_class_spec *spec) {
    if (!spec || !spec->name || !spec->name[0]) {
        rh_err_set(h, RH_EVALUE, "rh_class_new: a class needs a name");
        return NULL;
    }
    if (spec->slots) {
        for (size_t i = 0; i < spec->nslots; i++) {
            if (!spec->slots[i] || !spec->slots[i][0]) {
                rh_err_set(h, RH_EVALUE, "rh_class_new: slot %zu of '%s' has no name", i, spec->name);
                return NULL;
            }
        }
        /* Instance size must be representable: header + slots + weaklist. */
        if (spec->nslots > (SIZE_MAX - sizeof(slotted_inst) - sizeof(rh_object *)) / sizeof(rh_object *) / 2) {
            rh_err_set(h, RH_EOVERFLOW, "rh_class_new: too many slots");
            return NULL;
        }
    }
    if (spec->weakrefable && spec->no_weakref) {
        rh_err_set(h, RH_EVALUE, "rh_class_new: '%s' asks for weakrefable and no_weakref", spec->name);
        return NULL;
    }
    /* The native state must leave room for the rest of the block and its
     * alignment (the slots' limit above keeps those small). */
    if (spec->native_size > SIZE_MAX / 4) {
        rh_err_set(h, RH_EOVERFLOW, "rh_class_new: native_size %zu is too large", spec->native_size);
        return NULL;
    }

    class_obj *c = (class_obj *)(void *)rh_new(h, &rh_class_type);
    if (!c) return NULL;
    c->heap = h;
    c->slotted = spec->slots != NULL;
    c->nslots = c->slotted ? spec->nslots : 0;
    c->finalizer = spec->finalizer;
    c->legacy_del = spec->legacy_del;
    c->destroy = spec->destroy;
    c->native_size = spec->native_size;
    c->data = spec->data;

    /* Every failure below leaves a half-built class that class_destroy frees. */
    c->name = rh_str_intern(h, spec->name);
    if (!c->name) goto fail;
    if (c->slotted && c->nslots) {
        c->slot_keys = rh_calloc(h, c->nslots, sizeof *c->slot_keys);
        if (!c->slot_keys) goto fail;
        for (size_t i = 0; i < c->nslots; i++) {
            c->slot_keys[i] = rh_str_intern(h, spec->slots[i]);
            if (!c->slot_keys[i]) goto fail;
        }
    }
    rh_type *t = rh_calloc(h, 1, sizeof *t);
    if (!t) goto fail;
    t->name = rh_str_cstr(c->name);
    t->flags = RH_TYPE_GC | RH_TYPE_HEAPTYPE;
    size_t size;
    if (c->slotted) {
        size = sizeof(slotted_inst) + c->nslots * sizeof(rh_object *);
        /* Without native state the slots are the object's only fields
         * before its weaklist or its end: the collector's in-line walk
         * (gc_internal.h) reads them. */
        t->traverse = c->native_size ? slotted_traverse : rh__gc_inline_refs_traverse;
        t->clear = slotted_clear;
        t->destroy = slotted_destroy;
    } else {
        size = sizeof(plain_inst);
        t->traverse = rh__gc_attr_table_traverse;
        t->clear = plain_clear;
        t->destroy = plain_destroy;
        t->sizeof_extra = plain_sizeof_extra;
    }
    /* Python: every plain class's instances have __weakref__; a slotted
     * class's only when '__weakref__' is among its slots. */
    if (c->slotted ? spec->weakrefable : !spec->no_weakref) {
        t->flags |= RH_TYPE_WEAKREFABLE;
        t->weaklist_offset = size;
        size += sizeof(rh_object *);
    }
    if (c->native_size) {
        /* Last in the block, aligned like any block (the object itself is
         * 16-byte aligned). */
        size = (size + RH_ALIGNMENT - 1) / RH_ALIGNMENT * RH_ALIGNMENT + c->native_size;
    }
    t->basicsize = size;
    if (spec->finalizer) t->finalize = inst_finalize;
    if (spec->legacy_del) t->legacy_del = inst_legacy_del;
    t->repr = inst_repr;
    t->hash = identity_hash;
    t->user_data = c;
    c->itype = t;
    rh_gc_track(RH_OBJ(c));
    return RH_OBJ(c);

fail:
    rh_decref(RH_OBJ(c));
    return NULL;
}

const char *rh_class_name(const rh_object *cls) {
    RH__CHECK_LIVE(cls, "rh_class_name");
    if (!is_class(cls)) return NULL;
    return rh_str_cstr(as_class(cls)->name);
}

bool rh_is_instance(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_is_instance");
    if (!o) return false;
    const rh_type *t = o->rh_type;
    if (!(t->flags & RH_TYPE_HEAPTYPE) || !t->user_data) return false;
    const rh_object *c = t->user_data;
    return c->rh_type == &rh_class_type && as_class(c)->itype == t;
}

rh_object *rh_instance_new(rh_object *cls) {
    RH__CHECK_LIVE(cls, "rh_instance_new");
    if (!is_class(cls)) {
        rh_heap *h = cls ? rh_heap_of(cls) : NULL;
        if (h) rh_err_set(h, RH_ETYPE, "rh_instance_new: a class is required, not '%s'", rh_type_name(cls));
        return NULL;
    }
    class_obj *c = as_class(cls);
    /* tracked at creation: nothing between here and the return allocates */
    rh_object *o = rh__new_fast(rh_heap_of(cls), c->itype, true, __FILE__, __LINE__);
    if (!o) return NULL;
    rh_incref(cls); /* dropped by destroy (inst_drop_class) */
    return o;
}

rh_object *rh_instance_class(const rh_object *inst) {
    RH__CHECK_LIVE(inst, "rh_instance_class");
    return rh_is_instance(inst) ? RH_OBJ(class_of_inst(inst)) : NULL;
}

void *rh_instance_native(rh_object *inst) {
    RH__CHECK_LIVE(inst, "rh_instance_native");
    if (!rh_is_instance(inst)) return NULL;
    class_obj *c = class_of_inst(inst);
    if (!c->native_size) return NULL;
    return (char *)inst + inst->rh_type->basicsize - c->native_size;
}

/* Index of the slot called `name` (compared by text), or -1. */
static long slot_index(const class_obj *c, const char *name) {
    for (size_t i = 0; i < c->nslots; i++)
        if (strcmp(rh_str_cstr(c->slot_keys[i]), name) == 0) return (long)i;
    return -1;
}

static void no_attribute(rh_heap *h, const rh_object *o, const char *name) {
    rh_err_set(h, RH_EATTR, "'%s' object has no attribute '%s'", o->rh_type->name, name);
}

/* Common checks; returns the heap or NULL (error set when possible). */
static rh_heap *attr_prologue(const rh_object *o, const char *name) {
    if (!o) return NULL;
    rh_heap *h = rh_heap_of(o);
    if (!h) return NULL; /* a static immortal (None, True, ...): no heap to report on */
    if (!name) {
        rh_err_set(h, RH_EVALUE, "attribute name is NULL");
        return NULL;
    }
    if (!rh_is_instance(o)) {
        no_attribute(h, o, name);
        return NULL;
    }
    return h;
}

/* Index of the attribute called `name` in a plain instance's table, or -1.
 * Keys are interned strings, so a name that is not interned is no
 * instance's attribute: the lookup probes the intern table by text and
 * never interns (or allocates) anything, and failed lookups of ever new
 * names leave no trace. */
static long attr_lookup(rh_heap *h, const plain_inst *pi, const char *name) {
    if (!pi->used) return -1;
    rh_object *key = rh__str_find_interned(h, name, strlen(name));
    return key ? attr_find(pi, key) : -1;
}

rh_object *rh_getattr(rh_object *o, const char *name) {
    RH__CHECK_LIVE(o, "rh_getattr");
    rh_heap *h = attr_prologue(o, name);
    if (!h) return NULL;
    class_obj *c = class_of_inst(o);
    if (c->slotted) {
        long i = slot_index(c, name);
        rh_object *v = i >= 0 ? slotted_slots(o)[i] : NULL;
        if (!v) {
            no_attribute(h, o, name);
            return NULL;
        }
        return rh_newref(v);
    }
    plain_inst *pi = (plain_inst *)(void *)o;
    long i = attr_lookup(h, pi, name);
    if (i >= 0) return rh_newref(pi->table[i].value);
    no_attribute(h, o, name);
    return NULL;
}

int rh_setattr(rh_object *o, const char *name, rh_object *value) {
    RH__CHECK_LIVE(o, "rh_setattr");
    if (!value) return rh_delattr(o, name);
    rh_heap *h = attr_prologue(o, name);
    if (!h) return -1;
    class_obj *c = class_of_inst(o);
    if (c->slotted) {
        long i = slot_index(c, name);
        if (i < 0) {
            no_attribute(h, o, name); /* __slots__: no room for other names */
            return -1;
        }
        RH_SETREF(slotted_slots(o)[i], rh_newref(value));
        return 0;
    }
    plain_inst *pi = (plain_inst *)(void *)o;
    rh_object *key = rh_str_intern(h, name);
    if (!key) return -1;
    long i = attr_find(pi, key);
    if (i >= 0) {
        rh_decref(key);
        /* Store first, drop the old value after: its death may run code that
         * touches this instance. */
        RH_SETREF(pi->table[i].value, rh_newref(value));
        return 0;
    }
    if (attr_reserve(h, pi) < 0) {
        rh_decref(key);
        return -1;
    }
    attr_insert(pi, key, rh_newref(value));
    return 0;
}

int rh_delattr(rh_object *o, const char *name) {
    RH__CHECK_LIVE(o, "rh_delattr");
    rh_heap *h = attr_prologue(o, name);
    if (!h) return -1;
    class_obj *c = class_of_inst(o);
    if (c->slotted) {
        long i = slot_index(c, name);
        if (i < 0) {
            no_attribute(h, o, name);
            return -1;
        }
        rh_object **s = slotted_slots(o);
        if (!s[i]) {
            /* CPython 3.11 says only the name for an unset slot. */
            rh_err_set(h, RH_EATTR, "%s", name);
            return -1;
        }
        RH_CLEAR(s[i]);
        return 0;
    }
    plain_inst *pi = (plain_inst *)(void *)o;
    long i = attr_lookup(h, pi, name);
    if (i < 0) {
        no_attribute(h, o, name);
        return -1;
    }
    rh_object *k = pi->table[i].key;
    rh_object *v = pi->table[i].value;
    attr_remove_at(pi, (uint32_t)i);
    rh_decref(v);
    rh_decref(k);
    return 0;
}

int rh_hasattr(rh_object *o, const char *name) {
    RH__CHECK_LIVE(o, "rh_hasattr");
    if (!o || !name) return 0;
    if (!rh_is_instance(o)) return 0;
    rh_heap *h = rh_heap_of(o);
    class_obj *c = class_of_inst(o);
    if (c->slotted) {
        long i = slot_index(c, name);
        return i >= 0 && slotted_slots(o)[i] != NULL;
    }
    return attr_lookup(h, (plain_inst *)(void *)o, name) >= 0;
}

/* vars(o): a new dict of the instance's attributes, name -> value. For a
 * slotted instance (where Python's vars() raises TypeError, having no
 * __dict__) the dict holds the slots that are set, in declaration order; C
 * has no other way to list them. A plain instance's attributes come in the
 * order of its table. */
rh_object *rh_vars(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_vars");
    if (!o) return NULL;
    rh_heap *h = rh_heap_of(o);
    if (!h) return NULL;
    if (!rh_is_instance(o)) {
        rh_err_set(h, RH_ETYPE, "vars() argument must be an instance, not '%s'", o->rh_type->name);
        return NULL;
    }
    rh_object *d = rh_dict_new(h);
    if (!d) return NULL;
    class_obj *c = class_of_inst(o);
    if (c->slotted) {
        rh_object **slots = slotted_slots(o);
        for (size_t i = 0; i < c->nslots; i++)
            if (slots[i] && rh_dict_set(d, c->slot_keys[i], slots[i]) < 0) goto fail;
        return d;
    }
    plain_inst *pi = (plain_inst *)(void *)o;
    for (uint32_t i = 0; pi->used && i <= pi->mask; i++)
        if (pi->table[i].key && rh_dict_set(d, pi->table[i].key, pi->table[i].value) < 0) goto fail;
    return d;
fail:
    rh_decref(d);
    return NULL;
}
