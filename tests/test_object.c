/*
 * test_object.c — the object model (src/objects/object.c): allocation, reference
 * counts, immortals, the order of death (finalizer, weak references,
 * legacy_del, destroy), resurrection, the generic operations, and misuse
 * stopped in debug mode (each in a child process).
 *
 * Expected figures come from CPython 3.11.7 (the python3 on this machine;
 * the snippet is quoted beside the figure) or from the layout in
 * include/refheap.h (16-byte header, 16-byte collector record for
 * containers).
 */
#include "rh_test.h"

#include "internal.h"

#include <inttypes.h>

static rh_heap *new_heap(rh_mode mode) {
    rh_heap_config cfg = {.mode = mode};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* ---------------------------------------------------------------------------
 * User types. An event log records what happened, one letter per event.
 * ------------------------------------------------------------------------- */
static char events[256];
static void note(char c) {
    size_t n = strlen(events);
    if (n + 1 < sizeof events) { events[n] = c; events[n + 1] = '\0'; }
}

/* Person: a plain non-container with a destroy that counts. */
typedef struct person {
    RH_OBJECT_HEAD;
    long age;
} person;
static long persons_destroyed;
static void person_destroy(rh_object *self) { (void)self; persons_destroyed++; note('D'); }
static const rh_type person_type = {
    .name = "Person", .basicsize = sizeof(person), .destroy = person_destroy,
};

/* Box: a container with one reference, weak references, and every hook
 * that logs: finalize 'F', legacy_del 'L', destroy 'D'. The finalizer or
 * legacy_del resurrects into box_keep when asked. */
typedef struct box {
    RH_OBJECT_HEAD;
    rh_object *weaklist;
    rh_object *item;
} box;
static rh_object *box_keep;     /* a resurrection stores the box here */
static int box_resurrections;   /* how many more times to resurrect   */
static long box_finalized, box_destroyed, box_legacy;

static int box_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    box *b = (box *)self;
    if (b->item) return visit(b->item, arg);
    return 0;
}
static void box_clear(rh_object *self) { RH_CLEAR(((box *)self)->item); }
static void box_destroy(rh_object *self) {
    RH_CLEAR(((box *)self)->item);
    box_destroyed++;
    note('D');
}
static void maybe_resurrect(rh_object *self) {
    if (box_resurrections > 0) {
        box_resurrections--;
        box_keep = rh_newref(self);
    }
}
static void box_finalize(rh_object *self) {
    box_finalized++;
    note('F');
    maybe_resurrect(self);
}
static void box_legacy_del(rh_object *self) {
    box_legacy++;
    note('L');
    maybe_resurrect(self);
}
static const rh_type box_type = {
    .name = "Box", .basicsize = sizeof(box), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(box, weaklist), .destroy = box_destroy,
    .traverse = box_traverse, .clear = box_clear, .finalize = box_finalize,
};
static const rh_type legacy_box_type = {
    .name = "LegacyBox", .basicsize = sizeof(box), .flags = RH_TYPE_GC,
    .destroy = box_destroy, .traverse = box_traverse, .clear = box_clear,
    .legacy_del = box_legacy_del,
};

/* A non-container with a finalizer: no FINALIZED bit, so (as in CPython)
 * its finalizer runs at every death. */
static rh_object *plain_keep;
static int plain_resurrections;
static long plain_finalized;
static void plain_finalize(rh_object *self) {
    plain_finalized++;
    note('F');
    if (plain_resurrections > 0) {
        plain_resurrections--;
        plain_keep = rh_newref(self);
    }
}
static const rh_type plain_fin_type = {
    .name = "PlainFin", .basicsize = sizeof(person), .destroy = person_destroy,
    .finalize = plain_finalize,
};

static void reset_counts(void) {
    events[0] = '\0';
    persons_destroyed = box_finalized = box_destroyed = box_legacy = plain_finalized = 0;
    box_keep = plain_keep = NULL;
    box_resurrections = plain_resurrections = 0;
}

/* ---------------------------------------------------------------------------
 * Reference counts.
 * ------------------------------------------------------------------------- */

/* The articles' sequence, in Python:
 *   >>> a = []; sys.getrefcount(a)   -> 2
 *   >>> b = a;  sys.getrefcount(a)   -> 3
 *   >>> del b;  sys.getrefcount(a)   -> 2
 * getrefcount counts its own argument, so the counts are 1, 2, 1. */
static void test_refcount_sequence(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *a = rh_new(h, &person_type);
    assert_non_null(a);
    assert_int_equal(rh_refcount(a), 1);
    rh_object *b = rh_newref(a);
    assert_ptr_equal(a, b);
    assert_int_equal(rh_refcount(a), 2);
    rh_decref(b);
    assert_int_equal(rh_refcount(a), 1);
    assert_int_equal(persons_destroyed, 0);
    rh_decref(a); /* the last reference: freed at once */
    assert_int_equal(persons_destroyed, 1);

    /* The NULL-tolerant forms. */
    rh_xincref(NULL);
    rh_xdecref(NULL);
    assert_null(rh_xnewref(NULL));
    rh_heap_destroy(h);
}

static void test_clear_and_setref(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    box *bx = (box *)rh_new(h, &box_type);
    rh_object *p1 = rh_new(h, &person_type), *p2 = rh_new(h, &person_type);
    bx->item = p1; /* steals p1 */
    RH_SETREF(bx->item, p2); /* steals p2, drops p1 */
    assert_ptr_equal(bx->item, p2);
    assert_int_equal(persons_destroyed, 1);
    RH_CLEAR(bx->item);
    assert_null(bx->item);
    assert_int_equal(persons_destroyed, 2);
    RH_CLEAR(bx->item); /* already NULL: nothing */
    rh_decref(RH_OBJ(bx));
    assert_int_equal(box_destroyed, 1);
    assert_int_equal(box_finalized, 1);
    rh_heap_destroy(h);
}

/* RH_CLEAR and RH_SETREF evaluate their field expression once (Py_CLEAR
 * takes the field's address once): RH_CLEAR(roots[i++]) clears roots[0] and
 * drops roots[0]'s reference, leaving roots[1] alone. */
static void test_clear_and_setref_evaluate_once(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *a = rh_new(h, &person_type), *b = rh_new(h, &person_type);
    rh_object *keep_a = rh_newref(a); /* so a misplaced drop frees nothing */
    rh_object *roots[2] = {a, b};
    size_t i = 0;
    RH_CLEAR(roots[i++]);
    assert_int_equal(i, 1);
    assert_null(roots[0]);
    assert_ptr_equal(roots[1], b);
    assert_int_equal(rh_refcount(a), 1);
    assert_int_equal(rh_refcount(b), 1);

    rh_object *c = rh_new(h, &person_type);
    i = 1;
    RH_SETREF(roots[i++], c); /* stores c in roots[1], drops b */
    assert_int_equal(i, 2);
    assert_null(roots[0]);
    assert_ptr_equal(roots[1], c);
    assert_int_equal(persons_destroyed, 1); /* b */

    /* A field of a user's own pointer type works too. */
    box *bx = (box *)rh_new(h, &box_type);
    box *holder[1] = {bx};
    size_t j = 0;
    RH_CLEAR(holder[j++]);
    assert_int_equal(j, 1);
    assert_null(holder[0]);
    assert_int_equal(box_destroyed, 1);

    RH_CLEAR(roots[1]);
    rh_decref(keep_a);
    assert_int_equal(persons_destroyed, 3);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * RH_VISIT, and visit(NULL)
 * ------------------------------------------------------------------------- */

/* Trio: three reference fields, any of them NULL. trio_traverse uses
 * RH_VISIT; raw_trio_traverse passes every field to visit, NULL or not (the
 * header allows it). One clear/destroy function serves both hooks. */
typedef struct trio {
    RH_OBJECT_HEAD;
    rh_object *f[3];
} trio;
static int trio_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    trio *t = (trio *)self;
    for (int i = 0; i < 3; i++) RH_VISIT(t->f[i]);
    return 0;
}
static int raw_trio_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    trio *t = (trio *)self;
    for (int i = 0; i < 3; i++) {
        int r = visit(t->f[i], arg);
        if (r) return r;
    }
    return 0;
}
static long trios_cleared;
static void trio_clear(rh_object *self) {
    trio *t = (trio *)self;
    for (int i = 0; i < 3; i++) RH_CLEAR(t->f[i]);
    trios_cleared++;
}
static const rh_type trio_type = {
    .name = "Trio", .basicsize = sizeof(trio), .flags = RH_TYPE_GC,
    .destroy = trio_clear, .traverse = trio_traverse, .clear = trio_clear,
};
static const rh_type raw_trio_type = {
    .name = "RawTrio", .basicsize = sizeof(trio), .flags = RH_TYPE_GC,
    .destroy = trio_clear, .traverse = raw_trio_traverse, .clear = trio_clear,
};

typedef struct visit_rec {
    rh_object *seen[4];
    int n;
    int stop_at; /* return 7 at this visit (1-based); 0: never */
} visit_rec;
static int record_visit(rh_object *o, void *arg) {
    visit_rec *r = arg;
    if (r->n < 4) r->seen[r->n] = o;
    r->n++;
    return r->n == r->stop_at ? 7 : 0;
}

static rh_object *new_trio(rh_heap *h, const rh_type *t, rh_object *a, rh_object *b, rh_object *c) {
    trio *x = (trio *)rh_new(h, t);
    assert_non_null(x);
    x->f[0] = rh_xnewref(a);
    x->f[1] = rh_xnewref(b);
    x->f[2] = rh_xnewref(c);
    rh_gc_track(RH_OBJ(x));
    return RH_OBJ(x);
}

static void test_visit_macro_and_null(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *a = rh_list_new(h, 0), *b = rh_list_new(h, 0);
    /* RH_VISIT skips NULL and stops at the first nonzero result. */
    rh_object *t = new_trio(h, &trio_type, a, NULL, b);
    visit_rec r = {{0}, 0, 0};
    assert_int_equal(trio_type.traverse(t, record_visit, &r), 0);
    assert_int_equal(r.n, 2);
    assert_ptr_equal(r.seen[0], a);
    assert_ptr_equal(r.seen[1], b);
    visit_rec stop = {{0}, 0, 1};
    assert_int_equal(trio_type.traverse(t, record_visit, &stop), 7);
    assert_int_equal(stop.n, 1);

    /* A traverse that passes NULL to refheap's own visit functions: every
     * collector entry point copes (referents, referrers, verify, collect). */
    rh_object *raw = new_trio(h, &raw_trio_type, NULL, a, NULL);
    rh_object *refs = rh_gc_get_referents(h, &raw, 1);
    assert_int_equal(rh_list_size(refs), 1); /* the NULL fields are no referents */
    assert_ptr_equal(rh_list_get(refs, 0), a);
    rh_decref(refs);
    rh_object *referrers = rh_gc_get_referrers(h, &a, 1);
    assert_int_equal(rh_list_size(referrers), 2); /* t and raw */
    rh_decref(referrers);
    rh_gc_set_debug(h, RH_GC_DEBUG_VERIFY);
    assert_int_equal(rh_gc_verify(h), 0);
    /* A cycle through the NULL-visiting type: raw.f[2] = raw. */
    ((trio *)raw)->f[2] = rh_newref(raw);
    rh_decref(raw);
    trios_cleared = 0;
    assert_int_equal(rh_gc_collect(h, 2), 1);
    assert_int_equal(trios_cleared, 2); /* clear, then destroy (one function) */
    assert_int_equal(rh_refcount(a), 2);  /* t still holds a */
    rh_gc_set_debug(h, 0);
    rh_decref(t);
    assert_int_equal(rh_refcount(a), 1);
    rh_decref(a);
    rh_decref(b);
    rh_heap_destroy(h);
}

/* PEP 683 immortals: the count of None, True, False, the small ints, the
 * empty str and bytes, and interned strings never moves. */
static void test_immortals_never_change(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *objs[] = {rh_None, rh_True, rh_False, rh_int(h, -5), rh_int(h, 0), rh_int(h, 256),
                         rh_str(h, ""), rh_bytes(h, NULL, 0), rh_str_intern(h, "name")};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        rh_object *o = objs[i];
        assert_true(rh_is_immortal(o));
        for (int k = 0; k < 1000; k++) rh_incref(o);
        for (int k = 0; k < 2000; k++) rh_decref(o); /* more decrefs than increfs: harmless */
        assert_int_equal(rh_refcount(o), RH_IMMORTAL);
        rh_make_immortal(o); /* no-op, and no write to read-only memory */
    }
    /* The static ones belong to no heap. */
    assert_false(rh__is_heap_object(rh_None));
    assert_false(rh__is_heap_object(rh_int(h, 7)));
    assert_false(rh__is_heap_object(rh_str(h, "")));
    assert_null(rh_heap_of(rh_True));
    rh_object *big = rh_int(h, 100000);
    assert_true(rh__is_heap_object(big));
    assert_ptr_equal(rh_heap_of(big), h);
    rh_decref(big);
    rh_heap_destroy(h);
}

/* A heap object made immortal is never destroyed; its memory goes back with
 * the heap (ASan and Valgrind runs check that nothing leaks). */
static void test_make_immortal_heap_object(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *p = rh_new(h, &person_type);
    rh_make_immortal(p);
    assert_true(rh_is_immortal(p));
    rh_decref(p);
    rh_decref(p);
    rh_incref(p);
    assert_int_equal(rh_refcount(p), RH_IMMORTAL);
    assert_int_equal(persons_destroyed, 0);
    rh_heap_destroy(h);
    assert_int_equal(persons_destroyed, 0); /* destroy never runs for an immortal */
}

/* ---------------------------------------------------------------------------
 * Allocation.
 * ------------------------------------------------------------------------- */
static void test_new_zeroed_untracked(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_DEBUG); /* debug fills new memory with 0xCD */
    box *b = (box *)rh_new(h, &box_type);
    assert_non_null(b);
    assert_null(b->item);
    assert_null(b->weaklist);
    assert_ptr_equal(rh_type_of(RH_OBJ(b)), &box_type);
    assert_string_equal(rh_type_name(RH_OBJ(b)), "Box");
    assert_true(rh_is_type(RH_OBJ(b), &box_type));
    assert_false(rh_gc_is_tracked(RH_OBJ(b))); /* the caller tracks it */
    assert_int_equal(((uintptr_t)b) % RH_ALIGNMENT, 0);
    rh_gc_track(RH_OBJ(b));
    assert_true(rh_gc_is_tracked(RH_OBJ(b)));
    rh_decref(RH_OBJ(b));
    assert_int_equal(box_destroyed, 1);

    /* Variable size: basicsize + n * itemsize, zeroed. */
    static const rh_type vtype = {.name = "Vec", .basicsize = sizeof(rh_object), .itemsize = 8};
    rh_object *v = rh_new_var(h, &vtype, 10);
    assert_non_null(v);
    const unsigned char *bytes = (const unsigned char *)(v + 1);
    for (int i = 0; i < 80; i++) assert_int_equal(bytes[i], 0);
    rh_decref(v);
    rh_heap_destroy(h);
}

/* The fast path of creation clears every byte after the header, whatever
 * the object's size up to the pools' limit (the 16-byte ladder, then the
 * loop beyond 64 bytes of fields), for rh_new and rh_new_tracked, with and
 * without the collector's record, in a block that was dirty: in pools mode
 * the block freed last is the one handed out next, so the object is made
 * in exactly the bytes just filled with 0xAB. The dirty block is the
 * block of an object of the same type whose fields were filled, freed by
 * its death: the objects' own free (the block cache in a heap without
 * links) hands it back whatever the raw blocks' path does. */
static int nop_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    (void)self, (void)visit, (void)arg;
    return 0;
}
static void test_new_zeroed_every_pool_size(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_gc_disable(h);
    for (int gc = 0; gc < 2; gc++) {
        size_t prefix = gc ? rh_test_gc_record(h) : 0; /* 16 linked, 0 without links */
        for (size_t size = sizeof(rh_object); prefix + size <= RH_SMALL_MAX; size += 8) {
            for (int tracked = 0; tracked < 2; tracked++) {
                rh_type t = {.name = "Sized", .basicsize = size, .flags = gc ? RH_TYPE_GC : 0u,
                             .traverse = gc ? nop_traverse : NULL};
                rh_object *dirty = rh_new(h, &t);
                assert_non_null(dirty);
                unsigned char *raw = (unsigned char *)dirty - prefix;
                memset(dirty + 1, 0xAB, size - sizeof(rh_object));
                rh_decref(dirty);
                rh_object *o = tracked ? rh_new_tracked(h, &t) : rh_new(h, &t);
                assert_non_null(o);
                assert_ptr_equal((unsigned char *)o - prefix, raw); /* the dirty block */
                assert_int_equal(o->rh_refcnt, 1);
                assert_ptr_equal(o->rh_type, &t);
                assert_int_equal(rh_gc_is_tracked(o), gc && tracked);
                const unsigned char *bytes = (const unsigned char *)(o + 1);
                for (size_t i = 0; i < size - sizeof(rh_object); i++) assert_int_equal(bytes[i], 0);
                rh_decref(o);
            }
        }
    }
    rh_heap_destroy(h);
}

/* A plain container (no finalize, legacy_del or weak references) of a
 * chosen size, for the fast paths of creation and death. */
typedef struct pnode {
    RH_OBJECT_HEAD;
    rh_object *ref;
    unsigned char pad[];
} pnode;
static long pnodes_destroyed;
static int pnode_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    RH_VISIT(((pnode *)self)->ref);
    return 0;
}
static void pnode_clear(rh_object *self) { RH_CLEAR(((pnode *)self)->ref); }
static void pnode_destroy(rh_object *self) {
    pnodes_destroyed++;
    pnode_clear(self);
}

/* rh_new_tracked: a container comes back tracked (in generation 0, counted
 * once), with every byte after the header zero even when the block it
 * reuses was dirty, for every field size around the fast path's limits
 * (the zeroing ladder up to 64 bytes of fields, memset beyond, the slow
 * path past the pools) and in every mode; a non-container comes back as
 * from rh_new. A cycle of such containers is collected, and their death by
 * reference counting runs destroy once. */
static void test_new_tracked(void **state) {
    (void)state;
    static const size_t pads[] = {0, 8, 24, 40, 56, 72, 120, 600};
    const rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_DEBUG, RH_MODE_MALLOC};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        rh_heap *h = new_heap(modes[m]);
        rh_gc_disable(h);
        for (size_t k = 0; k < sizeof pads / sizeof pads[0]; k++) {
            rh_type t = {.name = "PNode", .basicsize = sizeof(pnode) + pads[k], .flags = RH_TYPE_GC,
                         .traverse = pnode_traverse, .clear = pnode_clear, .destroy = pnode_destroy};
            size_t block = sizeof(rh__gchead) + t.basicsize;
            /* dirty a block of the size the object will take (LIFO reuse) */
            unsigned char *raw = rh_malloc(h, block);
            assert_non_null(raw);
            memset(raw, 0xAB, block);
            rh_free(h, raw);
            long before[3], after[3];
            rh_gc_get_count(h, before);
            pnodes_destroyed = 0;
            pnode *a = RH_NEW_TRACKED(h, pnode, &t);
            assert_non_null(a);
            rh_gc_get_count(h, after);
            assert_int_equal(after[0], before[0] + 1);
            assert_true(rh_gc_is_tracked(RH_OBJ(a)));
            assert_int_equal(RH_OBJ(a)->rh_refcnt, 1);
            const unsigned char *bytes = (const unsigned char *)(RH_OBJ(a) + 1);
            for (size_t i = 0; i < t.basicsize - sizeof(rh_object); i++) assert_int_equal(bytes[i], 0);
            /* a two-object cycle made tracked at creation is garbage */
            pnode *b = RH_NEW_TRACKED(h, pnode, &t);
            assert_non_null(b);
            a->ref = rh_newref(RH_OBJ(b));
            b->ref = rh_newref(RH_OBJ(a));
            rh_decref(RH_OBJ(a));
            rh_decref(RH_OBJ(b));
            assert_int_equal(pnodes_destroyed, 0);
            assert_int_equal(rh_gc_collect(h, 2), 2);
            assert_int_equal(pnodes_destroyed, 2);
            /* death by reference counting, the straight line */
            pnode *c = RH_NEW_TRACKED(h, pnode, &t);
            assert_non_null(c);
            rh_decref(RH_OBJ(c));
            assert_int_equal(pnodes_destroyed, 3);
        }
        /* a non-container is never tracked */
        static const rh_type leaf = {.name = "Leaf", .basicsize = sizeof(rh_object) + 8};
        rh_object *x = rh_new_tracked(h, &leaf);
        assert_non_null(x);
        assert_false(rh_gc_is_tracked(x));
        rh_decref(x);
        /* the variable-size variant */
        static const rh_type vt = {.name = "VNode", .basicsize = sizeof(pnode), .itemsize = 8,
                                   .flags = RH_TYPE_GC, .traverse = pnode_traverse, .destroy = pnode_destroy};
        rh_object *v = rh_new_var_tracked(h, &vt, 5);
        assert_non_null(v);
        assert_true(rh_gc_is_tracked(v));
        rh_decref(v);
        rh_heap_destroy(h);
    }
}

/* An automatic collection due at a "create tracked" runs before the new
 * container is linked: it is in generation 0 afterwards with a count of 1,
 * whatever the collection did (CPython counts, then may collect, then
 * tracks). */
static void test_new_tracked_collects_first(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_gc_set_threshold(h, 1, 10, 10);
    static const rh_type t = {.name = "PNode", .basicsize = sizeof(pnode), .flags = RH_TYPE_GC,
                              .traverse = pnode_traverse, .clear = pnode_clear, .destroy = pnode_destroy};
    pnode *keep[8];
    for (int i = 0; i < 8; i++) {
        keep[i] = RH_NEW_TRACKED(h, pnode, &t);
        assert_non_null(keep[i]);
        /* a collection of generation 0 runs at every second creation
         * (count 2 > threshold 1) and moves what generation 0 holds to
         * generation 1; the new container is linked after it, so it is
         * always found in generation 0 */
        assert_true(rh_gc_is_tracked(RH_OBJ(keep[i])));
        rh_gc_disable(h); /* the listing's own list must not start a collection */
        rh_object *young = rh_gc_get_objects(h, 0);
        assert_non_null(young);
        bool found = false;
        for (size_t j = 0; j < rh_list_size(young); j++)
            if (rh_list_get(young, j) == RH_OBJ(keep[i])) found = true;
        assert_true(found);
        rh_decref(young);
        rh_gc_enable(h);
    }
    pnodes_destroyed = 0;
    for (int i = 0; i < 8; i++) rh_decref(RH_OBJ(keep[i]));
    assert_int_equal(pnodes_destroyed, 8);
    rh_heap_destroy(h);
}

static void test_new_errors(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    static const rh_type tiny = {.name = "Tiny", .basicsize = 8};
    assert_null(rh_new(h, &tiny));
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);

    static const rh_type no_traverse = {.name = "NoTraverse", .basicsize = 32, .flags = RH_TYPE_GC};
    assert_null(rh_new(h, &no_traverse));
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_non_null(strstr(rh_errmsg(h), "NoTraverse"));
    rh_err_clear(h);

    static const rh_type bad_weak = {.name = "BadWeak", .basicsize = 24, .flags = RH_TYPE_WEAKREFABLE,
                                     .weaklist_offset = 20};
    assert_null(rh_new(h, &bad_weak));
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);

    static const rh_type vec = {.name = "Vec", .basicsize = 16, .itemsize = 16};
    assert_null(rh_new_var(h, &vec, SIZE_MAX / 8));
    assert_int_equal(rh_err(h), RH_EOVERFLOW);
    rh_err_clear(h);

    /* Out of memory: NULL, RH_ENOMEM, nothing allocated (ASan/Valgrind
     * check there is no leak). */
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_new(h, &person_type));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_new(h, &box_type));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_object *ok = rh_new(h, &person_type);
    assert_non_null(ok);
    rh_decref(ok);
    rh_heap_destroy(h);
}

/* Every invalid type is refused with RH_ETYPE naming it, by rh_new and
 * rh_new_tracked alike, in every mode: pools mode checks it on the fast
 * path (objects/object_new.h), debug and malloc mode on the slow path
 * (object.c's type_ok). Each type breaks one rule and keeps the others. */
static void test_new_bad_types_every_path(void **state) {
    (void)state;
    static const rh_type bad[] = {
        {.name = "Tiny", .basicsize = 8},
        {.name = "TinyContainer", .basicsize = 15, .flags = RH_TYPE_GC, .traverse = nop_traverse},
        {.name = "NoTraverse", .basicsize = 32, .flags = RH_TYPE_GC},
        {.name = "BigNoTraverse", .basicsize = 1024, .flags = RH_TYPE_GC},
        {.name = "NoTraverseWeak", .basicsize = 32, .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
         .weaklist_offset = 16},
        {.name = "WeakInHeader", .basicsize = 32, .flags = RH_TYPE_WEAKREFABLE, .weaklist_offset = 8},
        {.name = "WeakPastEnd", .basicsize = 32, .flags = RH_TYPE_WEAKREFABLE, .weaklist_offset = 32},
        {.name = "WeakUnaligned", .basicsize = 32, .flags = RH_TYPE_WEAKREFABLE, .weaklist_offset = 20},
        {.name = "WeakContainerPastEnd", .basicsize = 24, .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
         .weaklist_offset = 24, .traverse = nop_traverse},
    };
    const rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_DEBUG, RH_MODE_MALLOC};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        rh_heap *h = new_heap(modes[m]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            for (int tracked = 0; tracked < 2; tracked++) {
                rh_object *o = tracked ? rh_new_tracked(h, &bad[i]) : rh_new(h, &bad[i]);
                if (o) fail_msg("mode %d: type '%s' was accepted", (int)modes[m], bad[i].name);
                assert_int_equal(rh_err(h), RH_ETYPE);
                assert_non_null(strstr(rh_errmsg(h), bad[i].name));
                rh_err_clear(h);
            }
        }
        rh_heap_destroy(h);
    }
}

/* The largest objects a pool serves, and the smallest it does not: a
 * container's block is its 16-byte record plus basicsize, so 496 bytes
 * of fields is the last that fits a 512-byte block, 512 for the other
 * objects; one more word and the object is a system block. In the layout
 * without links a container has no record (rh_test_gc_record(h) is 0): its
 * boundary is the other objects' 512. Both are made, zeroed and freed. */
static void test_new_pool_size_boundary(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_gc_disable(h);
    const struct {
        size_t size;
        unsigned flags;
        bool pool;
    } cases[] = {
        {RH_SMALL_MAX - rh_test_gc_record(h), RH_TYPE_GC, true},
        {RH_SMALL_MAX - rh_test_gc_record(h) + 8, RH_TYPE_GC, false},
        {RH_SMALL_MAX, 0, true},
        {RH_SMALL_MAX + 8, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int tracked = 0; tracked < 2; tracked++) {
            rh_type t = {.name = "Edge", .basicsize = cases[i].size, .flags = cases[i].flags,
                         .traverse = cases[i].flags ? nop_traverse : NULL};
            rh_object *o = tracked ? rh_new_tracked(h, &t) : rh_new(h, &t);
            assert_non_null(o);
            void *block = (char *)o - (cases[i].flags ? rh_test_gc_record(h) : 0);
            assert_int_equal(rh_is_pool_block(h, block), cases[i].pool);
            assert_int_equal(rh_gc_is_tracked(o), cases[i].flags && tracked);
            const unsigned char *bytes = (const unsigned char *)(o + 1);
            for (size_t k = 0; k < cases[i].size - sizeof(rh_object); k++) assert_int_equal(bytes[k], 0);
            rh_decref(o);
        }
    }
    rh_heap_destroy(h);
}

/* A basicsize so large that the block's size (the collector's record
 * plus basicsize) overflows is refused with RH_EOVERFLOW, as an item
 * count that overflows is: never a small block with the object written
 * past its end. In the layout without links the block is the object alone:
 * nothing overflows, and SIZE_MAX - 7 bytes are refused as out of
 * memory. */
static void test_new_size_overflow(void **state) {
    (void)state;
    const rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_DEBUG, RH_MODE_MALLOC};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        rh_heap *h = new_heap(modes[m]);
        static const rh_type huge = {.name = "Huge", .basicsize = SIZE_MAX - 7, .flags = RH_TYPE_GC,
                                     .traverse = nop_traverse};
        for (int tracked = 0; tracked < 2; tracked++) {
            rh_object *o = tracked ? rh_new_tracked(h, &huge) : rh_new(h, &huge);
            assert_null(o);
            if (rh_test_gc_record(h) == 0) {
                /* no record: the block is basicsize bytes, which overflow
                 * nothing and which no allocator serves */
                assert_int_equal(rh_err(h), RH_ENOMEM);
                rh_err_clear(h);
                continue;
            }
            assert_int_equal(rh_err(h), RH_EOVERFLOW);
            assert_non_null(strstr(rh_errmsg(h), "Huge"));
            rh_err_clear(h);
        }
        rh_heap_destroy(h);
    }
}

/* ---------------------------------------------------------------------------
 * Death: order, resurrection.
 * ------------------------------------------------------------------------- */
static void log_weakref_callback(rh_object *wr, void *data) {
    (void)wr;
    note(*(const char *)data);
}

/* On death by refcount: finalizer, then weakrefs cleared and their callbacks
 * (newest first), then destroy (REFERENCE.md §4). Python:
 *   class B:
 *       def __del__(self): print('F')
 *   b = B(); r1 = weakref.ref(b, lambda r: print('1')); r2 = weakref.ref(b, lambda r: print('2'))
 *   del b   -> F, 2, 1 */
static void test_death_order(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *b = rh_new(h, &box_type);
    rh_gc_track(b);
    static const char one = '1', two = '2';
    rh_object *r1 = rh_weakref_new(b, log_weakref_callback, (void *)&one);
    rh_object *r2 = rh_weakref_new(b, log_weakref_callback, (void *)&two);
    assert_non_null(r1);
    assert_non_null(r2);
    rh_decref(b);
    assert_string_equal(events, "F21D");
    assert_false(rh_weakref_alive(r1));
    assert_false(rh_weakref_alive(r2));
    rh_decref(r1);
    rh_decref(r2);

    /* legacy_del runs after the weak references are cleared, before destroy. */
    reset_counts();
    rh_object *lb = rh_new(h, &legacy_box_type);
    rh_gc_track(lb);
    rh_decref(lb);
    assert_string_equal(events, "LD");
    assert_int_equal(box_legacy, 1);
    rh_heap_destroy(h);
}

/* Resurrection by refcount (REFERENCE.md §7): the finalizer stores a new
 * reference; the object lives on (still tracked, weakrefs alive), and at its
 * final death the finalizer does not run again (container: FINALIZED bit).
 * Python:
 *   class B:
 *       def __del__(self): global keep; keep = self
 *   b = B(); r = weakref.ref(b); del b
 *   r() is keep -> True; gc.is_finalized(keep) -> True
 *   del keep     -> r() is None, __del__ ran once */
static void test_resurrection_container(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *b = rh_new(h, &box_type);
    rh_gc_track(b);
    rh_object *wr = rh_weakref_new(b, NULL, NULL);
    box_resurrections = 1;
    rh_decref(b);
    assert_ptr_equal(box_keep, b);
    assert_int_equal(rh_refcount(b), 1);
    assert_int_equal(box_finalized, 1);
    assert_int_equal(box_destroyed, 0);
    assert_true(rh_gc_is_tracked(b));
    assert_true(rh_gc_is_finalized(b));
    assert_true(rh_weakref_alive(wr));
    rh_object *got = rh_weakref_get(wr);
    assert_ptr_equal(got, b);
    rh_decref(got);

    rh_decref(box_keep);
    assert_int_equal(box_finalized, 1); /* not again */
    assert_int_equal(box_destroyed, 1);
    assert_false(rh_weakref_alive(wr));
    assert_string_equal(events, "FD");
    rh_decref(wr);

    /* An untracked container that resurrects stays untracked. */
    reset_counts();
    b = rh_new(h, &box_type);
    box_resurrections = 1;
    rh_decref(b);
    assert_ptr_equal(box_keep, b);
    assert_false(rh_gc_is_tracked(b));
    rh_decref(box_keep);
    assert_int_equal(box_destroyed, 1);
    rh_heap_destroy(h);
}

/* A non-container has no FINALIZED bit: its finalizer runs at every death
 * (CPython's PyObject_CallFinalizer checks the bit only for GC types). */
static void test_resurrection_non_container(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *p = rh_new(h, &plain_fin_type);
    plain_resurrections = 2;
    rh_decref(p);
    assert_ptr_equal(plain_keep, p);
    rh_object *k = plain_keep;
    plain_keep = NULL;
    rh_decref(k);
    assert_ptr_equal(plain_keep, p);
    k = plain_keep;
    rh_decref(k);
    assert_int_equal(plain_finalized, 3);
    assert_int_equal(persons_destroyed, 1);
    assert_string_equal(events, "FFFD");
    rh_heap_destroy(h);
}

/* legacy_del runs at every death and may resurrect, like a finalizer. */
static void test_legacy_del_resurrects(void **state) {
    (void)state;
    reset_counts();
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *b = rh_new(h, &legacy_box_type);
    rh_gc_track(b);
    box_resurrections = 1;
    rh_decref(b);
    assert_ptr_equal(box_keep, b);
    assert_true(rh_gc_is_tracked(b));
    rh_decref(box_keep);
    assert_int_equal(box_legacy, 2);
    assert_int_equal(box_destroyed, 1);
    assert_string_equal(events, "LLD");
    rh_heap_destroy(h);
}

/* A finalizer that makes its object immortal keeps it for the heap's life. */
static void immortal_finalize(rh_object *self) { rh_make_immortal(self); }
static void test_finalizer_makes_immortal(void **state) {
    (void)state;
    reset_counts();
    static const rh_type t = {.name = "Immortalised", .basicsize = sizeof(person),
                              .destroy = person_destroy, .finalize = immortal_finalize};
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *o = rh_new(h, &t);
    rh_decref(o);
    assert_int_equal(rh_refcount(o), RH_IMMORTAL);
    assert_int_equal(persons_destroyed, 0);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Generic operations.
 * ------------------------------------------------------------------------- */
static rh_hash_t person_hash(rh_object *self) { return ((person *)self)->age; }
static int person_eq(rh_object *a, rh_object *b) {
    if (b->rh_type->eq != person_eq) return 0;
    return ((person *)a)->age == ((person *)b)->age;
}
static int person_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "Person(age=%ld)", ((person *)self)->age);
}
static const rh_type hashable_person_type = {
    .name = "HPerson", .basicsize = sizeof(person), .hash = person_hash, .eq = person_eq,
    .repr = person_repr,
};
/* Knows about HPerson (compares its age with its own), but HPerson does not
 * know about it: rh_equal must give the right operand's hook its turn. */
static int twin_eq(rh_object *a, rh_object *b) {
    if (b->rh_type != &hashable_person_type && b->rh_type->eq != twin_eq) return 0;
    return ((person *)a)->age == ((person *)b)->age;
}
static const rh_type twin_type = {.name = "Twin", .basicsize = sizeof(person), .eq = twin_eq};

static void test_hash_equal_repr(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *p = rh_new(h, &person_type);
    /* hash(object()) works in Python, but a type without a hash hook is
     * unhashable here (as a class that sets __hash__ = None):
     *   TypeError: unhashable type: 'Person' */
    assert_int_equal(rh_hash(p), -1);
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_string_equal(rh_errmsg(h), "unhashable type: 'Person'");
    rh_err_clear(h);

    /* identity; no eq hook means identity only */
    rh_object *q = rh_new(h, &person_type);
    assert_int_equal(rh_equal(p, p), 1);
    assert_int_equal(rh_equal(p, q), 0);

    /* default repr "<Person 0x...>" */
    char buf[64], want[64];
    snprintf(want, sizeof want, "<Person 0x%" PRIxPTR ">", (uintptr_t)p);
    assert_int_equal(rh_repr(p, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    /* snprintf contract: truncated, full length returned */
    char small[6];
    assert_int_equal(rh_repr(p, small, sizeof small), (int)strlen(want));
    assert_string_equal(small, "<Pers");

    person *a = (person *)rh_new(h, &hashable_person_type);
    person *b = (person *)rh_new(h, &hashable_person_type);
    person *t = (person *)rh_new(h, &twin_type);
    a->age = b->age = t->age = 42;
    assert_int_equal(rh_hash(RH_OBJ(a)), 42);
    assert_int_equal(rh_equal(RH_OBJ(a), RH_OBJ(b)), 1);
    b->age = 43;
    assert_int_equal(rh_equal(RH_OBJ(a), RH_OBJ(b)), 0);
    /* left's hook says 0, right's says 1: Python's reflected __eq__ */
    assert_int_equal(rh_equal(RH_OBJ(a), RH_OBJ(t)), 1);
    assert_int_equal(rh_equal(RH_OBJ(t), RH_OBJ(a)), 1);
    assert_int_equal(rh_equal(RH_OBJ(t), p), 0);
    assert_int_equal(rh_equal(p, RH_OBJ(t)), 0);
    assert_int_equal(rh_repr(RH_OBJ(a), buf, sizeof buf), 14);
    assert_string_equal(buf, "Person(age=42)");
    rh_decref(p);
    rh_decref(q);
    rh_decref(RH_OBJ(a));
    rh_decref(RH_OBJ(b));
    rh_decref(RH_OBJ(t));
    rh_heap_destroy(h);
}

/* sys.getsizeof analogue. CPython 3.11:
 *   sys.getsizeof(object())  -> 16   (header only)
 *   a plain non-container with one 8-byte field would be 24;
 *   a container adds its 16-byte collector record (PyGC_Head), which a
 *   heap without links gives it not: rh_test_gc_record(h). */
static void test_sizeof_user_types(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    static const rh_type bare = {.name = "object", .basicsize = sizeof(rh_object)};
    rh_object *o = rh_new(h, &bare);
    assert_int_equal(rh_sizeof(o), 16);
    rh_object *p = rh_new(h, &person_type);
    assert_int_equal(rh_sizeof(p), 24);
    rh_object *b = rh_new(h, &box_type);
    assert_int_equal(rh_sizeof(b), rh_test_gc_record(h) + sizeof(box)); /* 16 + 32 = 48 linked */
    assert_int_equal(sizeof(rh_object), 16);
    assert_int_equal(sizeof(rh__gchead), 16);
    rh_decref(o);
    rh_decref(p);
    rh_decref(b);
    rh_heap_destroy(h);
}

#define SITE_FILE "test.c"
#define SITE_LINE 42

static void test_object_site(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    rh_object *p = rh_new_at(h, &person_type, SITE_FILE, SITE_LINE);
    assert_string_equal(rh_object_site(p), "test.c:42");
    rh_object *b = rh_new_at(h, &box_type, "box.c", 7); /* a container: block = object - 16 */
    assert_string_equal(rh_object_site(b), "box.c:7");
    assert_string_equal(rh_object_site(rh_None), "?");
    rh_decref(p);
    rh_decref(b);
    rh_heap_destroy(h);
    h = new_heap(RH_MODE_POOLS);
    p = rh_new(h, &person_type);
    assert_string_equal(rh_object_site(p), "?");
    rh_decref(p);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Misuse, each in a child process, on debug heaps.
 * ------------------------------------------------------------------------- */
static void child_decref_freed(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    rh_object *p = rh_new_at(h, &person_type, SITE_FILE, SITE_LINE);
    rh_decref(p);
    rh_decref(p); /* one too many */
}
static void child_incref_freed(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    rh_object *b = rh_new_at(h, &box_type, SITE_FILE, SITE_LINE);
    rh_decref(b);
    rh_incref(b); /* use after free */
}
static void selfish_destroy(rh_object *self) { rh_decref(self); }
static const rh_type selfish_type = {.name = "Selfish", .basicsize = 16, .destroy = selfish_destroy};
static void child_decref_below_zero(void *arg) {
    rh_heap *h = new_heap((rh_mode)(intptr_t)arg);
    rh_object *s = rh_new_at(h, &selfish_type, SITE_FILE, SITE_LINE);
    rh_decref(s);
}
static void dropper_finalize(rh_object *self) { rh_decref(self); }
static const rh_type dropper_type = {.name = "Dropper", .basicsize = 16, .finalize = dropper_finalize};
static void child_finalizer_drops_self(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    rh_object *d = rh_new_at(h, &dropper_type, SITE_FILE, SITE_LINE);
    rh_decref(d);
}
static void changer_finalize(rh_object *self) { self->rh_type = &person_type; }
static const rh_type changer_type = {.name = "Changer", .basicsize = sizeof(person),
                                     .finalize = changer_finalize};
static void child_finalizer_changes_type(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    rh_object *c = rh_new_at(h, &changer_type, SITE_FILE, SITE_LINE);
    rh_decref(c);
}

static void test_misuse_decref_freed(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(child_decref_freed, NULL, &c);
    rh_assert_child_died_saying(&c, "refheap: fatal: decref of freed object of type 'Person' allocated at test.c:42");
    rh_assert_child_died_saying(&c, "decref below zero");
}
static void test_misuse_incref_freed(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(child_incref_freed, NULL, &c);
    rh_assert_child_died_saying(&c, "incref of freed object of type 'Box' allocated at test.c:42");
}
static void test_misuse_decref_below_zero(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(child_decref_below_zero, (void *)(intptr_t)RH_MODE_DEBUG, &c);
    rh_assert_child_died_saying(&c, "decref below zero of object of type 'Selfish' allocated at test.c:42");
    /* Outside debug mode the type is still named: the object is known to be
     * alive (it is being destroyed). */
    rh_run_child(child_decref_below_zero, (void *)(intptr_t)RH_MODE_POOLS, &c);
    rh_assert_child_died_saying(&c, "decref below zero of object of type 'Selfish'");
}
static void test_misuse_broken_finalizer(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(child_finalizer_drops_self, NULL, &c);
    rh_assert_child_died_saying(&c, "finalizer left object in a broken state");
    rh_assert_child_died_saying(&c, "'Dropper' at");
    rh_assert_child_died_saying(&c, "allocated at test.c:42");
    rh_run_child(child_finalizer_changes_type, NULL, &c);
    rh_assert_child_died_saying(&c, "finalizer left object in a broken state: its type changed from 'Changer'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount_sequence),
        cmocka_unit_test(test_clear_and_setref),
        cmocka_unit_test(test_clear_and_setref_evaluate_once),
        cmocka_unit_test(test_visit_macro_and_null),
        cmocka_unit_test(test_immortals_never_change),
        cmocka_unit_test(test_make_immortal_heap_object),
        cmocka_unit_test(test_new_zeroed_untracked),
        cmocka_unit_test(test_new_zeroed_every_pool_size),
        cmocka_unit_test(test_new_tracked),
        cmocka_unit_test(test_new_tracked_collects_first),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_new_bad_types_every_path),
        cmocka_unit_test(test_new_pool_size_boundary),
        cmocka_unit_test(test_new_size_overflow),
        cmocka_unit_test(test_death_order),
        cmocka_unit_test(test_resurrection_container),
        cmocka_unit_test(test_resurrection_non_container),
        cmocka_unit_test(test_legacy_del_resurrects),
        cmocka_unit_test(test_finalizer_makes_immortal),
        cmocka_unit_test(test_hash_equal_repr),
        cmocka_unit_test(test_sizeof_user_types),
        cmocka_unit_test(test_object_site),
        cmocka_unit_test(test_misuse_decref_freed),
        cmocka_unit_test(test_misuse_incref_freed),
        cmocka_unit_test(test_misuse_decref_below_zero),
        cmocka_unit_test(test_misuse_broken_finalizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
