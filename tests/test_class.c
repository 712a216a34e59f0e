/*
 * test_class.c — classes made at run time and their instances (src/objects/class.c).
 *
 * Every expected figure comes from CPython 3.11.7 (the python3 on this
 * machine; the snippet that produced it is quoted beside it) or from the
 * layout written at the top of src/objects/class.c.
 */
#include "rh_test.h"

#include <inttypes.h>
#include <string.h>

static rh_heap *new_heap(void) {
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    return h;
}

/* weak: do the instances support weak references? A plain class does unless
 * told no_weakref, a slotted class only when told weakrefable. */
static rh_object *make_class(rh_heap *h, const char *name, const char *const *slots, size_t nslots,
                             bool weak) {
    rh_class_spec spec = {.name = name, .slots = slots, .nslots = nslots,
                          .weakrefable = slots && weak, .no_weakref = !slots && !weak};
    rh_object *c = rh_class_new(h, &spec);
    assert_non_null(c);
    return c;
}

/* In debug mode freed blocks wait in quarantine and still count in
 * bytes_in_use, so exact byte accounting is checked in the other modes. */
static bool exact_accounting(rh_heap *h) { return rh_heap_mode(h) != RH_MODE_DEBUG; }

static void assert_error(rh_heap *h, rh_error code, const char *msg) {
    assert_int_equal(rh_err(h), code);
    if (msg) assert_string_equal(rh_errmsg(h), msg);
    rh_err_clear(h);
}

/* ---------------------------------------------------------------------------
 * Plain classes
 * ------------------------------------------------------------------------- */

static void test_plain_attributes(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *cls = make_class(h, "Person", NULL, 0, true);
    rh_object *p = rh_instance_new(cls);
    assert_non_null(p);
    assert_true(rh_is_instance(p));
    assert_false(rh_is_instance(cls));
    assert_ptr_equal(rh_instance_class(p), cls);
    assert_string_equal(rh_class_name(cls), "Person");
    assert_string_equal(rh_type_name(p), "Person");
    assert_int_equal(rh_refcount(p), 1);

    rh_object *v1 = rh_int(h, 1000), *v2 = rh_int(h, 2000);
    assert_int_equal(rh_hasattr(p, "x"), 0);
    assert_int_equal(rh_setattr(p, "x", v1), 0);
    assert_int_equal(rh_refcount(v1), 2); /* the instance took its own reference */
    assert_int_equal(rh_hasattr(p, "x"), 1);
    rh_object *got = rh_getattr(p, "x");
    assert_ptr_equal(got, v1);
    assert_int_equal(rh_refcount(v1), 3); /* getattr returns a new reference */
    rh_decref(got);

    /* Replacing drops the old value's reference. */
    assert_int_equal(rh_setattr(p, "x", v2), 0);
    assert_int_equal(rh_refcount(v1), 1);
    assert_int_equal(rh_refcount(v2), 2);

    /* CPython: p.q -> AttributeError: 'P' object has no attribute 'q' */
    assert_null(rh_getattr(p, "q"));
    assert_error(h, RH_EATTR, "'Person' object has no attribute 'q'");
    /* del p.q -> the same message */
    assert_int_equal(rh_delattr(p, "q"), -1);
    assert_error(h, RH_EATTR, "'Person' object has no attribute 'q'");

    assert_int_equal(rh_delattr(p, "x"), 0);
    assert_int_equal(rh_refcount(v2), 1);
    assert_int_equal(rh_hasattr(p, "x"), 0);
    assert_null(rh_getattr(p, "x"));
    assert_error(h, RH_EATTR, "'Person' object has no attribute 'x'");
    assert_int_equal(rh_delattr(p, "x"), -1);
    assert_error(h, RH_EATTR, NULL);

    /* Deleting from the middle of a small table keeps the others. */
    assert_int_equal(rh_setattr(p, "a", v1), 0);
    assert_int_equal(rh_setattr(p, "b", v2), 0);
    assert_int_equal(rh_setattr(p, "c", v1), 0);
    assert_int_equal(rh_delattr(p, "b"), 0);
    assert_int_equal(rh_hasattr(p, "a"), 1);
    assert_int_equal(rh_hasattr(p, "b"), 0);
    assert_int_equal(rh_hasattr(p, "c"), 1);
    assert_int_equal(rh_delattr(p, "a"), 0);
    assert_int_equal(rh_delattr(p, "c"), 0);
    assert_int_equal(rh_refcount(v1), 1);
    assert_int_equal(rh_refcount(v2), 1);

    /* setattr with NULL deletes, as PyObject_SetAttr does. */
    assert_int_equal(rh_setattr(p, "y", v1), 0);
    assert_int_equal(rh_setattr(p, "y", NULL), 0);
    assert_int_equal(rh_hasattr(p, "y"), 0);
    assert_int_equal(rh_refcount(v1), 1);

    /* Values are released when the instance dies. */
    assert_int_equal(rh_setattr(p, "a", v1), 0);
    assert_int_equal(rh_setattr(p, "b", v2), 0);
    rh_decref(p);
    assert_int_equal(rh_refcount(v1), 1);
    assert_int_equal(rh_refcount(v2), 1);
    rh_decref(v1);
    rh_decref(v2);
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* Many attributes, set and deleted in a scrambled order, checked against a
 * plain array after every step: exercises growth and the backward-shift
 * deletion of the table. */
#define MANY 300
static void test_plain_many_attributes(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *cls = make_class(h, "Bag", NULL, 0, false);
    rh_object *o = rh_instance_new(cls);
    char names[MANY][16];
    rh_object *vals[MANY];
    bool present[MANY] = {false};
    for (int i = 0; i < MANY; i++) {
        snprintf(names[i], sizeof names[i], "attr_%d", i);
        vals[i] = rh_int(h, 100000 + i);
    }
    uint32_t rng = 12345;
    for (int step = 0; step < 6000; step++) {
        rng = rng * 1103515245u + 12345u;
        int i = (int)((rng >> 8) % MANY);
        bool del = ((rng >> 4) & 3) == 0 && present[i];
        if (del) {
            assert_int_equal(rh_delattr(o, names[i]), 0);
            present[i] = false;
        } else {
            assert_int_equal(rh_setattr(o, names[i], vals[i]), 0);
            present[i] = true;
        }
        if (step % 97 == 0 || step > 5900) {
            for (int k = 0; k < MANY; k++) {
                assert_int_equal(rh_hasattr(o, names[k]), present[k]);
                assert_int_equal(rh_refcount(vals[k]), present[k] ? 2 : 1);
            }
        }
    }
    for (int k = 0; k < MANY; k++) {
        if (present[k]) {
            rh_object *g = rh_getattr(o, names[k]);
            assert_ptr_equal(g, vals[k]);
            rh_decref(g);
        }
    }
    rh_decref(o);
    for (int k = 0; k < MANY; k++) {
        assert_int_equal(rh_refcount(vals[k]), 1);
        rh_decref(vals[k]);
    }
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* getattr / hasattr / delattr of names the heap never saw allocate nothing:
 * a program probing ever new names (hasattr(o, f'n{i}') in a loop) keeps its
 * memory flat. Interning each name would keep every one of them forever. */
static void test_failed_lookups_leave_no_trace(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *C = make_class(h, "C", NULL, 0, false);
    rh_object *o = rh_instance_new(C);
    rh_object *one = rh_int(h, 1);
    assert_int_equal(rh_setattr(o, "x", one), 0);
    /* Warm up: the error path and the stats themselves. */
    assert_null(rh_getattr(o, "warm"));
    rh_err_clear(h);
    rh_heap_stats before, after;
    rh_heap_stats_get(h, &before);
    long n = rh_test_scaled(20000, 2000);
    for (long i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "missing_%ld", i);
        assert_null(rh_getattr(o, name));
        assert_error(h, RH_EATTR, NULL);
        assert_int_equal(rh_hasattr(o, name), 0);
        snprintf(name, sizeof name, "gone_%ld", i);
        assert_int_equal(rh_delattr(o, name), -1);
        assert_error(h, RH_EATTR, NULL);
    }
    rh_heap_stats_get(h, &after);
    assert_int_equal(after.bytes_in_use, before.bytes_in_use);
    assert_int_equal(after.mallocs, before.mallocs);
    /* The attribute that exists is still found, by a name made at run time. */
    char xname[2] = {'x', 0};
    rh_object *v = rh_getattr(o, xname);
    assert_ptr_equal(v, one);
    rh_decref(v);
    assert_int_equal(rh_hasattr(o, xname), 1);
    assert_int_equal(rh_delattr(o, xname), 0);
    assert_int_equal(rh_hasattr(o, "x"), 0);
    rh_decref(one);
    rh_decref(o);
    rh_decref(C);
    rh_heap_destroy(h);
}


/* ---------------------------------------------------------------------------
 * Slotted classes
 * ------------------------------------------------------------------------- */

static void test_slotted_attributes(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"x", "y"};
    rh_object *cls = make_class(h, "Point", slots, 2, false);
    rh_object *p = rh_instance_new(cls);
    assert_non_null(p);
    assert_true(rh_is_instance(p));
    rh_object *v = rh_int(h, 4242);

    /* CPython (class S1: __slots__ = ('a',)): s.a unset ->
     * AttributeError: 'S1' object has no attribute 'a' */
    assert_int_equal(rh_hasattr(p, "x"), 0);
    assert_null(rh_getattr(p, "x"));
    assert_error(h, RH_EATTR, "'Point' object has no attribute 'x'");
    /* del s.a while unset -> AttributeError: a  (3.11 gives only the name) */
    assert_int_equal(rh_delattr(p, "x"), -1);
    assert_error(h, RH_EATTR, "x");
    /* s.z = 1 -> AttributeError: 'S1' object has no attribute 'z' */
    assert_int_equal(rh_setattr(p, "z", v), -1);
    assert_error(h, RH_EATTR, "'Point' object has no attribute 'z'");
    assert_int_equal(rh_refcount(v), 1);
    /* s.z and del s.z -> the same message */
    assert_null(rh_getattr(p, "z"));
    assert_error(h, RH_EATTR, "'Point' object has no attribute 'z'");
    assert_int_equal(rh_delattr(p, "z"), -1);
    assert_error(h, RH_EATTR, "'Point' object has no attribute 'z'");
    assert_int_equal(rh_hasattr(p, "z"), 0);

    assert_int_equal(rh_setattr(p, "x", v), 0);
    assert_int_equal(rh_setattr(p, "y", v), 0);
    assert_int_equal(rh_refcount(v), 3);
    rh_object *g = rh_getattr(p, "y");
    assert_ptr_equal(g, v);
    rh_decref(g);
    assert_int_equal(rh_setattr(p, "y", rh_None), 0);
    assert_int_equal(rh_refcount(v), 2);
    assert_int_equal(rh_delattr(p, "x"), 0);
    assert_int_equal(rh_refcount(v), 1);
    assert_int_equal(rh_hasattr(p, "x"), 0);
    assert_int_equal(rh_hasattr(p, "y"), 1);

    assert_int_equal(rh_setattr(p, "x", v), 0);
    rh_decref(p);
    assert_int_equal(rh_refcount(v), 1);
    rh_decref(v);
    rh_decref(cls);
    rh_heap_destroy(h);
}

static void test_not_an_instance(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *l = rh_list_new(h, 0);
    /* CPython: (1).x = 2 -> AttributeError: 'int' object has no attribute 'x' */
    assert_null(rh_getattr(l, "x"));
    assert_error(h, RH_EATTR, "'list' object has no attribute 'x'");
    assert_int_equal(rh_setattr(l, "x", rh_None), -1);
    assert_error(h, RH_EATTR, "'list' object has no attribute 'x'");
    assert_int_equal(rh_delattr(l, "x"), -1);
    assert_error(h, RH_EATTR, NULL);
    assert_int_equal(rh_hasattr(l, "x"), 0);
    assert_false(rh_is_instance(l));
    assert_null(rh_instance_class(l));
    assert_null(rh_class_name(l));
    assert_null(rh_instance_new(l));
    assert_error(h, RH_ETYPE, NULL);
    rh_decref(l);

    /* A class needs a name. */
    rh_class_spec spec = {.name = NULL};
    assert_null(rh_class_new(h, &spec));
    assert_error(h, RH_EVALUE, NULL);
    static const char *const bad_slots[] = {"a", ""};
    rh_class_spec spec2 = {.name = "Bad", .slots = bad_slots, .nslots = 2};
    assert_null(rh_class_new(h, &spec2));
    assert_error(h, RH_EVALUE, NULL);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Class and instance lifetime
 * ------------------------------------------------------------------------- */

static void test_instance_keeps_class_alive(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_heap_stats before, after;
    rh_object *cls = make_class(h, "Keeper", NULL, 0, true);
    rh_decref(cls); /* interns the name once: later classes allocate no new string */
    rh_heap_stats_get(h, &before);

    cls = make_class(h, "Keeper", NULL, 0, true);
    assert_true(rh_gc_is_tracked(cls));
    rh_object *wr = rh_weakref_new(cls, NULL, NULL); /* classes are weakly referenceable */
    assert_non_null(wr);
    assert_int_equal(rh_refcount(cls), 1);
    rh_object *a = rh_instance_new(cls);
    rh_object *b = rh_instance_new(cls);
    /* Each instance owns a reference to its class (CPython: sys.getrefcount(C)
     * grows by one per instance of a heap type). */
    assert_int_equal(rh_refcount(cls), 3);
    rh_decref(cls);
    assert_true(rh_weakref_alive(wr));
    assert_string_equal(rh_class_name(rh_instance_class(a)), "Keeper");
    rh_decref(a);
    assert_true(rh_weakref_alive(wr));
    rh_object *c = rh_instance_class(b);
    assert_int_equal(rh_refcount(c), 1);
    rh_decref(b); /* the last instance takes the class with it */
    assert_false(rh_weakref_alive(wr));
    rh_decref(wr);
    rh_heap_stats_get(h, &after);
    /* The class, its run-time type and the instances are all gone. */
    if (exact_accounting(h)) assert_int_equal(after.bytes_in_use, before.bytes_in_use);
    rh_heap_destroy(h);
}

/* traverse visits the class and every attribute value. */
typedef struct seen {
    rh_object *objs[8];
    int n;
} seen;

static int collect_visit(rh_object *o, void *arg) {
    seen *s = arg;
    if (s->n < 8) s->objs[s->n++] = o;
    return 0;
}

static bool seen_has(const seen *s, const rh_object *o) {
    for (int i = 0; i < s->n; i++)
        if (s->objs[i] == o) return true;
    return false;
}

static void test_traverse_and_clear(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"left", "right", "unused"};
    rh_object *classes[2] = {make_class(h, "Plain", NULL, 0, true), make_class(h, "Slotted", slots, 3, false)};
    for (int k = 0; k < 2; k++) {
        rh_object *cls = classes[k];
        rh_object *o = rh_instance_new(cls);
        rh_object *l1 = rh_list_new(h, 0), *l2 = rh_list_new(h, 0);
        assert_int_equal(rh_setattr(o, "left", l1), 0);
        assert_int_equal(rh_setattr(o, "right", l2), 0);
        seen s = {.n = 0};
        assert_int_equal(rh_type_of(o)->traverse(o, collect_visit, &s), 0);
        assert_int_equal(s.n, 3);
        assert_true(seen_has(&s, cls));
        assert_true(seen_has(&s, l1));
        assert_true(seen_has(&s, l2));
        /* clear drops the values, not the class. */
        uint32_t cls_refs = rh_refcount(cls);
        rh_type_of(o)->clear(o);
        assert_int_equal(rh_refcount(cls), cls_refs);
        assert_int_equal(rh_refcount(l1), 1);
        assert_int_equal(rh_refcount(l2), 1);
        assert_int_equal(rh_hasattr(o, "left"), 0);
        s.n = 0;
        rh_type_of(o)->traverse(o, collect_visit, &s);
        assert_int_equal(s.n, 1);
        /* The class's own traverse visits nothing. */
        s.n = 0;
        rh_type_of(cls)->traverse(cls, collect_visit, &s);
        assert_int_equal(s.n, 0);
        rh_decref(o);
        rh_decref(l1);
        rh_decref(l2);
    }
    rh_decref(classes[0]);
    rh_decref(classes[1]);
    rh_heap_destroy(h);
}

static void test_type_flags_repr_hash(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"v"};
    rh_object *plain = make_class(h, "Person", NULL, 0, true);
    rh_object *slotted = make_class(h, "Tiny", slots, 1, false);
    rh_object *p = rh_instance_new(plain);
    rh_object *q = rh_instance_new(slotted);
    const rh_type *tp = rh_type_of(p), *tq = rh_type_of(q);
    assert_int_equal(tp->flags, RH_TYPE_GC | RH_TYPE_HEAPTYPE | RH_TYPE_WEAKREFABLE);
    assert_int_equal(tq->flags, RH_TYPE_GC | RH_TYPE_HEAPTYPE);
    assert_ptr_equal(tp->user_data, plain);
    assert_null(tp->finalize);
    assert_null(tp->legacy_del);
    /* gc.is_tracked(P()) and gc.is_tracked(S0()) are both True in CPython. */
    assert_true(rh_gc_is_tracked(p));
    assert_true(rh_gc_is_tracked(q));
    assert_int_equal(rh_refcount(p), 1);

    /* repr(P()) -> '<__main__.P object at 0x7f...>'; refheap has no module. */
    char buf[128], want[128];
    rh_repr(p, buf, sizeof buf);
    snprintf(want, sizeof want, "<Person object at 0x%" PRIxPTR ">", (uintptr_t)p);
    assert_string_equal(buf, want);
    rh_repr(plain, buf, sizeof buf);
    assert_string_equal(buf, "<class 'Person'>");

    /* object.__hash__ is identity based and stable; equality is identity. */
    rh_hash_t hp = rh_hash(p);
    assert_int_not_equal(hp, -1);
    assert_int_equal(rh_hash(p), hp);
    assert_int_not_equal(rh_hash(q), hp);
    rh_object *p2 = rh_instance_new(plain);
    assert_int_equal(rh_equal(p, p), 1);
    assert_int_equal(rh_equal(p, p2), 0);
    /* Instances can be dict keys. */
    rh_object *d = rh_dict_new(h);
    assert_int_equal(rh_dict_set(d, p, q), 0);
    assert_ptr_equal(rh_dict_get(d, p), q);
    assert_null(rh_dict_get(d, p2));
    rh_decref(d);
    rh_decref(p2);
    rh_decref(p);
    rh_decref(q);
    rh_decref(plain);
    rh_decref(slotted);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Sizes
 * ------------------------------------------------------------------------- */

static void test_sizes(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const s1[] = {"a"}, *const s2[] = {"a", "b"};
    rh_object *P = make_class(h, "P", NULL, 0, true);     /* class P: pass        */
    rh_object *Pn = make_class(h, "Pn", NULL, 0, false);  /* (no weakref support) */
    rh_object *S0 = make_class(h, "S0", s1, 0, false);    /* __slots__ = ()       */
    rh_object *S1 = make_class(h, "S1", s1, 1, false);    /* __slots__ = ('a',)   */
    rh_object *S2 = make_class(h, "S2", s2, 2, false);    /* __slots__ = ('a','b') */
    rh_object *S1w = make_class(h, "S1w", s1, 1, true);   /* ('a', '__weakref__') */
    rh_object *p = rh_instance_new(P), *pn = rh_instance_new(Pn);
    rh_object *s0 = rh_instance_new(S0), *s1o = rh_instance_new(S1), *s2o = rh_instance_new(S2),
              *s1w = rh_instance_new(S1w);

    /* CPython 3.11: sys.getsizeof(P()) == 56, whatever its attributes (the
     * inline values are not counted; examples/python/08_slots.py measures 88
     * bytes allocated per instance with two attributes). refheap: collector
     * record 16 + header 16 + table pointer 8 + used/mask 8 + weaklist 8 = 56,
     * and rh_sizeof counts the attribute table too: 16 bytes per pair, a
     * table of 2, 4 or 8 pairs scanned, then hashed tables at most 3/4 full.
     * Every figure here counts the 16-byte record (CPython's GC header):
     * rh_test_cpython_size gives each on the heap's layout. */
    assert_int_equal(rh_sizeof(p), rh_test_cpython_size(h, 56));
    assert_int_equal(rh_sizeof(pn), rh_test_cpython_size(h, 48));
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    static const size_t want[] = {88, 88, 120, 120, 184, 184, 184, 184, 56 + 16 * 16};
    for (int i = 0; i < 9; i++) {
        assert_int_equal(rh_setattr(p, names[i], rh_None), 0);
        assert_int_equal(rh_sizeof(p), rh_test_cpython_size(h, want[i]));
    }

    /* CPython 3.11: S0() 32, S1() 40, S2() 48, S1w() 48 — the same layout:
     * 16 + 16 + 8 per slot (+ 8 for the weaklist). */
    assert_int_equal(rh_sizeof(s0), rh_test_cpython_size(h, 32));
    assert_int_equal(rh_sizeof(s1o), rh_test_cpython_size(h, 40));
    assert_int_equal(rh_sizeof(s2o), rh_test_cpython_size(h, 48));
    assert_int_equal(rh_sizeof(s1w), rh_test_cpython_size(h, 48));
    assert_int_equal(rh_setattr(s2o, "a", rh_None), 0);
    assert_int_equal(rh_sizeof(s2o), rh_test_cpython_size(h, 48)); /* slots are inline: no growth */
    /* A slotted instance is visibly smaller than a plain one. */
    assert_true(rh_sizeof(s2o) < rh_sizeof(p));

    rh_object *objs[] = {p, pn, s0, s1o, s2o, s1w, P, Pn, S0, S1, S2, S1w};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Weak-reference support by default, as in Python
 * ------------------------------------------------------------------------- */

/* class P: pass -> weakref.ref(P()) works, sys.getsizeof(P()) == 56;
 * class S: __slots__ = ('a',) -> weakref.ref(S()) is TypeError, 40 bytes;
 * class W: __slots__ = ('a', '__weakref__') -> works, 48 bytes (each
 * figure with CPython's 16-byte GC header: rh_test_cpython_size). */
static void test_weakref_default_like_python(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"a"};
    rh_class_spec sp = {.name = "P"}, ss = {.name = "S", .slots = slots, .nslots = 1},
                  sw = {.name = "W", .slots = slots, .nslots = 1, .weakrefable = true},
                  sn = {.name = "N", .no_weakref = true};
    rh_object *P = rh_class_new(h, &sp), *S = rh_class_new(h, &ss), *W = rh_class_new(h, &sw),
              *N = rh_class_new(h, &sn);
    rh_object *p = rh_instance_new(P), *so = rh_instance_new(S), *w = rh_instance_new(W),
              *n = rh_instance_new(N);
    rh_object *wp = rh_weakref_new(p, NULL, NULL), *ww = rh_weakref_new(w, NULL, NULL);
    assert_non_null(wp);
    assert_non_null(ww);
    assert_null(rh_weakref_new(so, NULL, NULL));
    assert_error(h, RH_EWEAKREF, NULL);
    assert_null(rh_weakref_new(n, NULL, NULL)); /* asked for: no weak references */
    assert_error(h, RH_EWEAKREF, NULL);
    assert_int_equal(rh_sizeof(p), rh_test_cpython_size(h, 56));
    assert_int_equal(rh_sizeof(so), rh_test_cpython_size(h, 40));
    assert_int_equal(rh_sizeof(w), rh_test_cpython_size(h, 48));
    assert_int_equal(rh_sizeof(n), rh_test_cpython_size(h, 48));
    /* Both at once is a contradiction. */
    rh_class_spec bad = {.name = "Bad", .weakrefable = true, .no_weakref = true};
    assert_null(rh_class_new(h, &bad));
    assert_error(h, RH_EVALUE, "rh_class_new: 'Bad' asks for weakrefable and no_weakref");
    rh_decref(p);
    assert_false(rh_weakref_alive(wp));
    rh_object *objs[] = {wp, ww, so, w, n, P, S, W, N};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Native state and the instance destroy hook
 * ------------------------------------------------------------------------- */

typedef struct native_state {
    int id;
    char *buf; /* malloc'd by the test, freed by the destroy hook */
} native_state;

typedef struct destroy_log {
    char events[64];
    int destroyed[8];      /* how many times the hook ran, per id */
    bool saw_child[8];     /* the hook could still read attribute 'child' */
    rh_object *keep;       /* a list the finalizer resurrects into, or NULL */
    int resurrections;     /* how many more times to resurrect */
} destroy_log;

static void log_event(destroy_log *l, char c) {
    size_t n = strlen(l->events);
    if (n + 1 < sizeof l->events) l->events[n] = c;
}

static void native_destroy(rh_object *self, void *data) {
    destroy_log *l = data;
    log_event(l, 'D');
    assert_false(rh_gc_is_tracked(self)); /* untracked before destroy */
    native_state *ns = rh_instance_native(self);
    assert_non_null(ns);
    assert_true(ns->id >= 0 && ns->id < 8);
    l->destroyed[ns->id]++;
    l->saw_child[ns->id] = rh_hasattr(self, "child") == 1;
    free(ns->buf);
    ns->buf = NULL;
}

static void native_finalizer(rh_object *self, void *data) {
    destroy_log *l = data;
    log_event(l, 'F');
    if (l->keep && l->resurrections > 0) {
        l->resurrections--;
        assert_int_equal(rh_list_append(l->keep, self), 0);
    }
}

static void leaf_destroy(rh_object *self, void *data) {
    (void)self;
    log_event(data, 'L');
}

static void weak_cb(rh_object *wr, void *data) {
    (void)wr;
    log_event(data, 'W');
}

static rh_object *native_instance(rh_object *cls, int id) {
    rh_object *o = rh_instance_new(cls);
    assert_non_null(o);
    native_state *ns = rh_instance_native(o);
    assert_non_null(ns);
    assert_int_equal((uintptr_t)ns % RH_ALIGNMENT, 0);
    assert_int_equal(ns->id, 0); /* zeroed */
    assert_null(ns->buf);
    ns->id = id;
    ns->buf = malloc(100);
    assert_non_null(ns->buf);
    return o;
}

static void test_instance_destroy_hook(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    destroy_log l;
    memset(&l, 0, sizeof l);
    rh_class_spec spec = {.name = "Native", .finalizer = native_finalizer, .destroy = native_destroy,
                          .native_size = sizeof(native_state), .data = &l};
    rh_class_spec leaf_spec = {.name = "Leaf", .destroy = leaf_destroy, .data = &l};
    rh_object *cls = rh_class_new(h, &spec), *leaf_cls = rh_class_new(h, &leaf_spec);
    assert_non_null(cls);
    assert_non_null(leaf_cls);

    /* Death by reference counting: finalizer, weakref callback, then the
     * hook (attributes still there), then the attributes are dropped. */
    rh_object *o = native_instance(cls, 1);
    rh_object *leaf = rh_instance_new(leaf_cls);
    assert_null(rh_instance_native(leaf)); /* no native state asked for */
    assert_null(rh_instance_native(cls));  /* not an instance */
    assert_int_equal(rh_setattr(o, "child", leaf), 0);
    rh_decref(leaf);
    rh_object *wr = rh_weakref_new(o, weak_cb, &l);
    assert_non_null(wr);
    rh_decref(o);
    assert_string_equal(l.events, "FWDL");
    assert_int_equal(l.destroyed[1], 1);
    assert_true(l.saw_child[1]);
    rh_decref(wr);

    /* A collected cycle: the hook runs once per instance. */
    memset(l.events, 0, sizeof l.events);
    rh_gc_collect(h, 2);
    rh_object *a = native_instance(cls, 2), *b = native_instance(cls, 3);
    assert_int_equal(rh_setattr(a, "peer", b), 0);
    assert_int_equal(rh_setattr(b, "peer", a), 0);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(h, 2), 2);
    assert_int_equal(l.destroyed[2], 1);
    assert_int_equal(l.destroyed[3], 1);
    assert_string_equal(l.events, "FFDD");

    /* Resurrected by its finalizer: not destroyed then; destroyed once at
     * its real death (the finalizer does not run again, PEP 442). */
    memset(l.events, 0, sizeof l.events);
    l.keep = rh_list_new(h, 0);
    l.resurrections = 1;
    o = native_instance(cls, 4);
    rh_decref(o);
    assert_int_equal(l.destroyed[4], 0);
    assert_int_equal(rh_list_size(l.keep), 1);
    assert_int_equal(rh_list_clear(l.keep), 0);
    assert_int_equal(l.destroyed[4], 1);
    assert_string_equal(l.events, "FD");
    rh_decref(l.keep);

    /* Sizes: the native state sits 16-byte aligned after the weak list.
     * Plain: record 16 + header 16 + table, counts 16 + weaklist 8 = 56,
     * rounded to 64, + 16 bytes of state = 80. Slotted ('a'): 16 + 16 + 8 =
     * 40, rounded to 48, + 16 = 64. Without the collector's record the
     * object is 40 and 24, rounded to 48 and 32, + 16: each figure is
     * rh_test_gc_record(h) + 64 and + 48. */
    rh_class_spec p16 = {.name = "P16", .native_size = 16};
    static const char *const slots[] = {"a"};
    rh_class_spec s16 = {.name = "S16", .slots = slots, .nslots = 1, .native_size = 16};
    rh_object *P16 = rh_class_new(h, &p16), *S16 = rh_class_new(h, &s16);
    rh_object *pi = rh_instance_new(P16), *si = rh_instance_new(S16);
    assert_int_equal(rh_sizeof(pi), rh_test_gc_record(h) + 64);
    assert_int_equal(rh_sizeof(si), rh_test_gc_record(h) + 48);
    /* The slot and the state do not overlap. */
    memset(rh_instance_native(si), 0xff, 16);
    assert_int_equal(rh_setattr(si, "a", rh_None), 0);
    assert_ptr_equal(rh_getattr(si, "a"), rh_None);
    rh_object *objs[] = {pi, si, P16, S16, cls, leaf_cls};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Finalizers
 * ------------------------------------------------------------------------- */

typedef struct fin_log {
    int calls;
    rh_object *last;
    rh_object *keep; /* a list to resurrect into, or NULL */
} fin_log;

static void finalizer(rh_object *self, void *data) {
    fin_log *log = data;
    log->calls++;
    log->last = self;
    if (log->keep) assert_int_equal(rh_list_append(log->keep, self), 0);
}

static void test_finalizer_once(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    fin_log log = {0};
    rh_class_spec spec = {.name = "WithDel", .finalizer = finalizer, .data = &log};
    rh_object *cls = rh_class_new(h, &spec);
    assert_non_null(cls);
    rh_object *o = rh_instance_new(cls);
    assert_non_null(rh_type_of(o)->finalize);
    assert_null(rh_type_of(o)->legacy_del);
    rh_object *v = rh_int(h, 77777);
    assert_int_equal(rh_setattr(o, "v", v), 0);
    rh_decref(o);
    /* CPython: del x runs __del__ once, then frees x. */
    assert_int_equal(log.calls, 1);
    assert_ptr_equal(log.last, o);
    assert_int_equal(rh_refcount(v), 1);
    rh_decref(v);
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* A finalizer that stores self in a global list resurrects it; the second
 * death does not call the finalizer again (PEP 442: once per object), as in
 * CPython:  class R: def __del__(self): keep.append(self)
 *           r = R(); del r -> __del__ once; keep.clear() -> freed, no 2nd call. */
static void test_resurrection(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *keep = rh_list_new(h, 0);
    fin_log log = {.keep = keep};
    rh_class_spec spec = {.name = "Phoenix", .finalizer = finalizer, .data = &log};
    rh_object *cls = rh_class_new(h, &spec);
    rh_object *o = rh_instance_new(cls);
    rh_object *v = rh_int(h, 99999);
    assert_int_equal(rh_setattr(o, "v", v), 0);
    rh_decref(o);
    assert_int_equal(log.calls, 1);
    assert_int_equal(rh_list_size(keep), 1);
    assert_ptr_equal(rh_list_get(keep, 0), o);
    assert_int_equal(rh_refcount(o), 1);
    assert_true(rh_gc_is_tracked(o)); /* still tracked after resurrection */
    assert_true(rh_gc_is_finalized(o));
    /* The resurrected object is intact: its attributes are still there. */
    rh_object *g = rh_getattr(o, "v");
    assert_ptr_equal(g, v);
    rh_decref(g);
    assert_int_equal(rh_refcount(cls), 2);

    rh_object *wr = rh_weakref_new(o, NULL, NULL);
    assert_non_null(wr);
    log.keep = NULL;
    assert_int_equal(rh_list_clear(keep), 0);
    assert_int_equal(log.calls, 1); /* no second call */
    assert_false(rh_weakref_alive(wr));
    assert_int_equal(rh_refcount(v), 1);
    assert_int_equal(rh_refcount(cls), 1);
    rh_decref(wr);
    rh_decref(v);
    rh_decref(keep);
    rh_decref(cls);
    rh_heap_destroy(h);
}

static void legacy(rh_object *self, void *data) {
    (void)self;
    (*(int *)data)++;
}

static void test_legacy_del(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    int calls = 0;
    rh_class_spec spec = {.name = "Legacy", .legacy_del = legacy, .data = &calls};
    rh_object *cls = rh_class_new(h, &spec);
    rh_object *o = rh_instance_new(cls);
    assert_null(rh_type_of(o)->finalize);
    assert_non_null(rh_type_of(o)->legacy_del);
    rh_decref(o);
    /* tp_del runs like a finalizer when the object dies by refcount. */
    assert_int_equal(calls, 1);
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Weak references and the collector
 * ------------------------------------------------------------------------- */

static void test_weakrefable(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"a"};
    rh_object *yes = make_class(h, "Yes", NULL, 0, true);
    rh_object *no = make_class(h, "No", slots, 1, false);
    rh_object *a = rh_instance_new(yes), *b = rh_instance_new(no);
    rh_object *wa = rh_weakref_new(a, NULL, NULL);
    assert_non_null(wa);
    /* CPython: weakref.ref(S1()) -> TypeError: cannot create weak reference to 'S1' object */
    assert_null(rh_weakref_new(b, NULL, NULL));
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    rh_object *g = rh_weakref_get(wa);
    assert_ptr_equal(g, a);
    rh_decref(g);
    rh_decref(a);
    assert_false(rh_weakref_alive(wa));
    rh_decref(wa);
    rh_decref(b);
    rh_decref(yes);
    rh_decref(no);
    rh_heap_destroy(h);
}

static void test_cycles_collected(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"other"};
    rh_object *P = make_class(h, "P", NULL, 0, true);
    rh_object *S = make_class(h, "S", slots, 1, false);
    rh_gc_collect(h, 2);
    /* CPython: a = P(); b = P(); a.o = b; b.o = a; del a, b; gc.collect() -> 2
     * (and the same for a __slots__ class). The classes are alive (we hold
     * them), so they are not counted. */
    rh_object *clss[2] = {P, S};
    for (int k = 0; k < 2; k++) {
        rh_object *a = rh_instance_new(clss[k]), *b = rh_instance_new(clss[k]);
        assert_int_equal(rh_setattr(a, "other", b), 0);
        assert_int_equal(rh_setattr(b, "other", a), 0);
        rh_decref(a);
        rh_decref(b);
        assert_int_equal(rh_refcount(clss[k]), 3);
        assert_int_equal(rh_gc_collect(h, 2), 2);
        assert_int_equal(rh_refcount(clss[k]), 1);
    }
    /* Traverse agrees with the reference counts of live instances, the
     * class included (each instance's reference to it is visited). */
    rh_object *x = rh_instance_new(P), *y = rh_instance_new(S);
    rh_setattr(x, "other", y);
    rh_setattr(y, "other", x);
    assert_int_equal(rh_gc_verify(h), 0);
    rh_setattr(y, "other", NULL);
    rh_decref(x);
    rh_decref(y);
    /* A finalizer in a cycle: CPython runs __del__ once per object, collect() -> 2. */
    fin_log log = {0};
    rh_class_spec spec = {.name = "D", .finalizer = finalizer, .data = &log};
    rh_object *D = rh_class_new(h, &spec);
    rh_object *a = rh_instance_new(D), *b = rh_instance_new(D);
    rh_setattr(a, "other", b);
    rh_setattr(b, "other", a);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(h, 2), 2);
    assert_int_equal(log.calls, 2);
    rh_decref(D);
    rh_decref(P);
    rh_decref(S);
    rh_heap_destroy(h);
}

/* A class the user dropped dies with the last of its instances, even when
 * they die inside a collection. (The collect() count differs from CPython's
 * here on purpose: a CPython class drags its __dict__, __mro__ and
 * descriptors into the garbage; a refheap class is one object.) */
static void test_class_dies_in_collection(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    fin_log log = {0};
    rh_class_spec spec = {.name = "Orphan", .finalizer = finalizer, .data = &log};
    rh_object *cls = rh_class_new(h, &spec);
    rh_object *wr = rh_weakref_new(cls, NULL, NULL);
    rh_object *a = rh_instance_new(cls), *b = rh_instance_new(cls);
    rh_setattr(a, "peer", b);
    rh_setattr(b, "peer", a);
    rh_decref(a);
    rh_decref(b);
    rh_decref(cls);
    assert_true(rh_weakref_alive(wr));
    intptr_t n = rh_gc_collect(h, 2);
    assert_true(n >= 2);
    assert_int_equal(log.calls, 2);
    assert_false(rh_weakref_alive(wr));
    rh_decref(wr);
    rh_heap_destroy(h);
}

/* The collector finds a cycle through every kind of reference an instance
 * holds, in every layout: each slot (first, middle, last; the others unset
 * or None) of a slotted class without and with a weaklist and native state
 * (the collector walks the slots of the former in line, gc_internal.h), an
 * attribute of a plain instance (small table and hashed table), and the
 * class itself, dropped by the program and held only by garbage instances.
 * Alive, the same cycles are left alone, and the fields around the slots
 * are never taken for references: a weakref (the weaklist) and a list
 * whose address sits in the native state, both referenced only by the
 * program, must survive the collection untouched. Expected figures from
 * first principles: collect() counts the objects of the unreachable set
 * (two instances, plus the class when the program dropped it; CPython
 * counts the same two instances for a class it holds, test_cycles_collected). */
static int destroyed;
static void count_destroy(rh_object *self, void *data) {
    (void)self;
    (void)data;
    destroyed++;
}

static void test_cycle_through_every_slot(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"s0", "s1", "s2"};
    /* layouts: {weakrefable, native_size}, then the plain class */
    static const struct {
        bool weak;
        size_t native;
    } layouts[] = {{false, 0}, {true, 0}, {false, 16}, {true, 16}, {false, sizeof(void *)}};
    rh_object *list = rh_list_new(h, 0);
    assert_int_equal(rh_list_append(list, rh_None), 0);
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0] + 2; k++) {
        bool plain = k >= sizeof layouts / sizeof layouts[0];
        bool hashed = plain && k == sizeof layouts / sizeof layouts[0] + 1;
        rh_class_spec spec = {.name = "Cyc", .destroy = count_destroy};
        if (!plain) {
            spec.slots = slots;
            spec.nslots = 3;
            spec.weakrefable = layouts[k].weak;
            spec.native_size = layouts[k].native;
        }
        for (int i = 0; i < 3; i++) {
            for (int drop_class = 0; drop_class < 2; drop_class++) {
                rh_object *cls = rh_class_new(h, &spec);
                assert_non_null(cls);
                rh_object *a = rh_instance_new(cls), *b = rh_instance_new(cls);
                if (hashed) { /* more than 8 attributes: a hashed table */
                    char name[8];
                    for (int j = 0; j < 12; j++) {
                        snprintf(name, sizeof name, "x%d", j);
                        assert_int_equal(rh_setattr(a, name, rh_None), 0);
                        assert_int_equal(rh_setattr(b, name, rh_None), 0);
                    }
                }
                for (int j = 0; j < i; j++) { /* the slots before: None; after: unset */
                    assert_int_equal(rh_setattr(a, slots[j], rh_None), 0);
                    assert_int_equal(rh_setattr(b, slots[j], rh_None), 0);
                }
                assert_int_equal(rh_setattr(a, slots[i], b), 0);
                assert_int_equal(rh_setattr(b, slots[i], a), 0);
                rh_object *wr = NULL;
                if (!plain && layouts[k].weak) {
                    wr = rh_weakref_new(a, NULL, NULL);
                    assert_non_null(wr);
                }
                void *native = rh_instance_native(a);
                if (native) memcpy(native, &list, sizeof list); /* a borrowed address, not a reference */
                /* Alive: nothing found, nothing touched (twice: young, then old). */
                destroyed = 0;
                assert_int_equal(rh_gc_collect(h, 2), 0);
                assert_int_equal(rh_gc_collect(h, 2), 0);
                assert_int_equal(rh_gc_verify(h), 0);
                assert_int_equal(destroyed, 0);
                assert_int_equal(rh_refcount(a), 2);
                assert_int_equal(rh_refcount(b), 2);
                assert_int_equal(rh_list_size(list), 1);
                assert_int_equal(rh_refcount(list), 1);
                if (wr) {
                    assert_int_equal(rh_refcount(wr), 1);
                    rh_object *got = rh_weakref_get(wr);
                    assert_ptr_equal(got, a);
                    rh_decref(got);
                }
                rh_object *got = rh_getattr(a, slots[i]);
                assert_ptr_equal(got, b);
                rh_decref(got);
                /* Garbage: the pair is found and freed, with the class when
                 * only the pair holds it. */
                rh_decref(a);
                rh_decref(b);
                if (drop_class) rh_decref(cls);
                assert_int_equal(rh_gc_collect(h, 2), drop_class ? 3 : 2);
                assert_int_equal(destroyed, 2);
                if (wr) {
                    assert_false(rh_weakref_alive(wr));
                    rh_decref(wr);
                }
                assert_int_equal(rh_list_size(list), 1);
                assert_int_equal(rh_refcount(list), 1);
                if (!drop_class) {
                    assert_int_equal(rh_refcount(cls), 1);
                    rh_decref(cls);
                }
            }
        }
    }
    rh_decref(list);
    rh_heap_destroy(h);
}

/* Freeing a long chain of instances (each holding the next in an attribute)
 * relies on the object layer's bounded recursion; the instance's destroy must
 * not defeat it. */
#define CHAIN 200000
static void test_long_chain(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    static const char *const slots[] = {"next"};
    rh_object *clss[2] = {make_class(h, "Node", NULL, 0, true), make_class(h, "SNode", slots, 1, false)};
    for (int k = 0; k < 2; k++) {
        rh_object *head = rh_instance_new(clss[k]);
        rh_object *cur = head;
        for (int i = 1; i < CHAIN; i++) {
            rh_object *n = rh_instance_new(clss[k]);
            assert_int_equal(rh_setattr(cur, "next", n), 0);
            rh_decref(n);
            cur = n;
        }
        assert_int_equal(rh_refcount(clss[k]), 1 + CHAIN);
        rh_decref(head);
        assert_int_equal(rh_refcount(clss[k]), 1);
    }
    rh_decref(clss[0]);
    rh_decref(clss[1]);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Out of memory
 * ------------------------------------------------------------------------- */

/* One scenario that makes every kind of allocation class.c does: a plain and
 * a slotted class, instances, an attribute table that grows twice. Returns 0
 * on success, -1 at the first failure (having released what it made). */
static int scenario(rh_heap *h) {
    static const char *const slots[] = {"p", "q"};
    rh_class_spec ps = {.name = "OomPlain"};
    rh_class_spec ss = {.name = "OomSlots", .slots = slots, .nslots = 2};
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    int rc = -1;
    rh_object *pc = NULL, *sc = NULL, *pi = NULL, *si = NULL;
    if (!(pc = rh_class_new(h, &ps))) goto out;
    if (!(sc = rh_class_new(h, &ss))) goto out;
    if (!(pi = rh_instance_new(pc))) goto out;
    if (!(si = rh_instance_new(sc))) goto out;
    for (int i = 0; i < 8; i++)
        if (rh_setattr(pi, names[i], si) < 0) goto out;
    if (rh_setattr(si, "p", pi) < 0) goto out;
    if (rh_delattr(pi, "c") < 0) goto out;
    rc = 0;
out:
    if (si && rh_hasattr(si, "p")) rh_delattr(si, "p"); /* break the cycle before dropping */
    rh_xdecref(pi);
    rh_xdecref(si);
    rh_xdecref(pc);
    rh_xdecref(sc);
    return rc;
}

static void test_out_of_memory(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    assert_int_equal(scenario(h), 0); /* interns every name once */
    int failures = rh_test_oom_each_allocation(h, scenario, 200, exact_accounting(h));
    /* 2 classes + their types + 1 slot-name array + 2 instances + 2 tables = 9 */
    assert_true(failures >= 9);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_attributes),
        cmocka_unit_test(test_plain_many_attributes),
        cmocka_unit_test(test_failed_lookups_leave_no_trace),
        cmocka_unit_test(test_slotted_attributes),
        cmocka_unit_test(test_not_an_instance),
        cmocka_unit_test(test_instance_keeps_class_alive),
        cmocka_unit_test(test_traverse_and_clear),
        cmocka_unit_test(test_type_flags_repr_hash),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_weakref_default_like_python),
        cmocka_unit_test(test_instance_destroy_hook),
        cmocka_unit_test(test_finalizer_once),
        cmocka_unit_test(test_resurrection),
        cmocka_unit_test(test_legacy_del),
        cmocka_unit_test(test_weakrefable),
        cmocka_unit_test(test_cycles_collected),
        cmocka_unit_test(test_class_dies_in_collection),
        cmocka_unit_test(test_cycle_through_every_slot),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
