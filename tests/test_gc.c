/*
 * test_gc.c — the cycle collector against CPython 3.11's Lib/test/test_gc.py.
 *
 * Each test is named after the CPython test it ports. Expected figures were
 * obtained by running the same scenario under python3 (3.11.7) on this
 * machine; where refheap's user types stand in for Python classes, the Python
 * scenario used classes with __slots__ (no per-instance dict), so that
 * CPython's object count is the same graph's. The script lines are quoted in
 * the comments ("py: ...").
 */
#include "gc_nodes.h"

#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------------
 * Self-cycles of the built-in containers, instances and classes.
 * ------------------------------------------------------------------------- */

/* py: l = []; l.append(l); gc.collect(); del l; gc.collect() -> 1 */
static void test_list(void **state) {
    (void)state;
    rh_object *l = rh_list_new(H, 0);
    assert_int_equal(rh_list_append(l, l), 0);
    rh_gc_collect(H, 2);
    rh_decref(l);
    assert_int_equal(rh_gc_collect(H, 2), 1);
}

/* py: d = {}; d[1] = d; gc.collect(); del d; gc.collect() -> 1 */
static void test_dict(void **state) {
    (void)state;
    rh_object *d = rh_dict_new(H);
    rh_object *one = rh_int(H, 1);
    assert_int_equal(rh_dict_set(d, one, d), 0);
    rh_decref(one);
    rh_gc_collect(H, 2);
    rh_decref(d);
    assert_int_equal(rh_gc_collect(H, 2), 1);
}

/* py: l = []; t = (l,); l.append(t); gc.collect(); del t; del l; gc.collect() -> 2 */
static void test_tuple(void **state) {
    (void)state;
    rh_object *l = rh_list_new(H, 0);
    rh_object *t = rh_tuple_pack(H, 1, l);
    assert_int_equal(rh_list_append(l, t), 0);
    rh_gc_collect(H, 2);
    rh_decref(t);
    rh_decref(l);
    assert_int_equal(rh_gc_collect(H, 2), 2);
}

/* py: class S: __slots__ = ('a',); a = S(); a.a = a; gc.collect(); del a;
 * gc.collect() -> 1 */
static void test_instance(void **state) {
    (void)state;
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    rh_gc_collect(H, 2);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(nodes_destroyed[1], 1);

    /* py: class B: pass; b = B(); b.b = b; ... gc.collect() -> 1 (3.11 keeps
     * the attributes inline: no dict object) */
    rh_class_spec spec = {.name = "B"};
    rh_object *cls = rh_class_new(H, &spec);
    rh_object *b = rh_instance_new(cls);
    assert_int_equal(rh_setattr(b, "b", b), 0);
    rh_gc_collect(H, 2);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    rh_decref(cls);
}

/* py: class A: pass; A.a = A; gc.collect(); del A; gc.collect() -> 5 in
 * CPython (the class, its dict, mro tuple, ...); the test asserts != 0. A
 * refheap class is one object; a cycle through an instance of it still
 * contains the class only by the instance's reference to it. */
static void test_newstyleclass(void **state) {
    (void)state;
    rh_class_spec spec = {.name = "A"};
    rh_object *cls = rh_class_new(H, &spec);
    rh_object *a = rh_instance_new(cls);
    assert_int_equal(rh_setattr(a, "a", a), 0);
    rh_decref(cls); /* only the instance keeps the class alive */
    rh_gc_collect(H, 2);
    rh_decref(a);
    assert_int_not_equal(rh_gc_collect(H, 2), 0);
}

/* ---------------------------------------------------------------------------
 * The articles' scenarios.
 * ------------------------------------------------------------------------- */

/* Two Person objects, each the other's friend.
 * py: p = P(); q = P(); p.friend = q; q.friend = p; del p, q; gc.collect() -> 2 */
static void test_person_cycle(void **state) {
    (void)state;
    node_garbage_pair(H, &person_type, 1, 2);
    assert_int_equal(nodes_destroyed_count, 0); /* refcounting alone leaks them */
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(nodes_destroyed[1], 1);
    assert_int_equal(nodes_destroyed[2], 1);
}

/* A root holding a cycle, beside an orphaned cycle: only the orphans go.
 * py: root.friend = x; x.friend = y; y.friend = x; o1 <-> o2; del o1, o2;
 * gc.collect() -> 2 */
static void test_root_beside_orphan_cycle(void **state) {
    (void)state;
    rh_object *root = node_new(H, &node_type, 1);
    rh_object *x = node_new(H, &node_type, 2);
    rh_object *y = node_new(H, &node_type, 3);
    node_set(root, 0, x);
    node_set(x, 0, y);
    node_set(y, 0, x);
    rh_decref(x);
    rh_decref(y);
    node_garbage_pair(H, &node_type, 4, 5);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(nodes_destroyed[4] + nodes_destroyed[5], 2);
    assert_int_equal(nodes_destroyed[1] + nodes_destroyed[2] + nodes_destroyed[3], 0);
    rh_decref(root); /* root dies by refcount; x <-> y is a cycle now */
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(nodes_destroyed_count, 5);
}

/* Three pairs of circular objects with automatic collection off.
 * py: gc.disable(); gc.collect(); [3 pairs]; del a, b; gc.get_count();
 *     gc.collect() -> 6; gc.get_count()
 * CPython prints (11, 0, 0) before and (1, 0, 0) after: its count also sees
 * the interpreter's own allocations. refheap counts exactly the 6 containers
 * allocated, and 0 after the collection. */
static void test_three_pairs_get_count(void **state) {
    (void)state;
    long c[3];
    rh_gc_collect(H, 2);
    rh_gc_get_count(H, c);
    assert_int_equal(c[0], 0);
    for (int i = 0; i < 3; i++) {
        node_garbage_pair(H, &node_type, 10 + 2 * i, 11 + 2 * i);
    }
    rh_gc_get_count(H, c);
    assert_int_equal(c[0], 6);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 0);
    assert_int_equal(rh_gc_collect(H, 2), 6);
    rh_gc_get_count(H, c);
    assert_int_equal(c[0], 0); /* 6 freed, but counts reset first: stays at 0 */
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 0);
}

/* ---------------------------------------------------------------------------
 * Legacy finalizers and gc.garbage.
 * ------------------------------------------------------------------------- */

/* py (with _testcapi.with_tp_del, __slots__): a legacy pair x <-> y and an
 * unrelated self-cycle u; gc.collect() -> 3, len(gc.garbage) == 2. */
static void test_legacy_finalizer(void **state) {
    (void)state;
    rh_object *x, *y;
    node_new_pair(H, &legacy_type, 1, 2, &x, &y);
    rh_object *u = node_new_self_cycle(H, &node_type, 3);
    rh_gc_collect(H, 2);
    rh_decref(x);
    rh_decref(y);
    rh_decref(u);
    assert_int_equal(rh_gc_collect(H, 2), 3);
    rh_object *garbage = rh_gc_garbage(H);
    assert_int_equal(rh_list_size(garbage), 2);
    assert_true(list_contains(garbage, x));
    assert_true(list_contains(garbage, y));
    assert_int_equal(nodes_destroyed[3], 1); /* the unrelated cycle was freed */
    assert_int_equal(nodes_destroyed[1] + nodes_destroyed[2], 0);
    assert_int_equal(legacy_calls, 0);
    rh_gc_genstats st[3];
    rh_gc_get_stats(H, st);
    assert_int_equal(st[2].uncollectable, 2);
    /* The programmer breaks the cycle (del obj.a) and clears gc.garbage. */
    node_set(x, 0, NULL);
    assert_int_equal(rh_list_clear(garbage), 0);
    assert_int_equal(nodes_destroyed[1] + nodes_destroyed[2], 2);
    assert_int_equal(legacy_calls, 2); /* tp_del ran at their refcount deaths */
}

/* Objects reachable from a legacy finalizer are uncollectable too, but only
 * the legacy object goes to gc.garbage.
 * py: x = L(); s1 <-> s2; x.a = s1; s1.b = x; gc.collect() -> 3, garbage 1 */
static void test_legacy_finalizer_reachable(void **state) {
    (void)state;
    rh_object *x = node_new(H, &legacy_type, 1);
    rh_object *s1, *s2;
    node_new_pair(H, &node_type, 2, 3, &s1, &s2);
    node_set(x, 0, s1);
    node_set(s1, 1, x);
    rh_decref(x);
    rh_decref(s1);
    rh_decref(s2);
    assert_int_equal(rh_gc_collect(H, 2), 3);
    rh_object *garbage = rh_gc_garbage(H);
    assert_int_equal(rh_list_size(garbage), 1);
    assert_ptr_equal(rh_list_get(garbage, 0), x);
    assert_int_equal(nodes_destroyed_count, 0);
    /* They wait in the oldest generation. */
    assert_true(in_generation(2, s1));
    assert_true(rh_gc_is_tracked(s2));
    node_set(x, 0, NULL);
    rh_list_clear(garbage);
    assert_int_equal(rh_gc_collect(H, 2), 2); /* s1 <-> s2 now collectable */
    assert_int_equal(nodes_destroyed_count, 3);
}

/* py: L = []; L.append(L); gc.set_debug(gc.DEBUG_SAVEALL); del L;
 * gc.collect() -> 1; len(gc.garbage) == 1 and it is L. */
static void test_saveall(void **state) {
    (void)state;
    rh_gc_collect(H, 2);
    assert_int_equal(rh_list_size(rh_gc_garbage(H)), 0);
    rh_object *l = rh_list_new(H, 0);
    rh_list_append(l, l);
    unsigned debug = rh_gc_get_debug(H);
    rh_gc_set_debug(H, debug | RH_GC_DEBUG_SAVEALL);
    rh_object *n = node_new(H, &fin_type, 7); /* saved garbage still finalizes (§7) */
    node_set(n, 0, n);
    rh_decref(n);
    rh_object *keep = l;
    rh_decref(l);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    rh_gc_set_debug(H, debug);
    rh_object *garbage = rh_gc_garbage(H);
    assert_int_equal(rh_list_size(garbage), 2);
    assert_true(list_contains(garbage, keep));
    assert_int_equal(fin_calls, 1);
    assert_int_equal(nodes_destroyed_count, 0);
    rh_list_clear(garbage);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(nodes_destroyed[7], 1);
    assert_int_equal(fin_calls, 1); /* once per life */
}

/* ---------------------------------------------------------------------------
 * Re-entrancy.
 * ------------------------------------------------------------------------- */

static void allocating_finalizer(rh_object *self) {
    /* dir(self) in CPython's test: allocate a few containers and a cycle. */
    rh_heap *h = rh_heap_of(self);
    for (int i = 0; i < 3; i++) {
        rh_object *l = rh_list_new(h, 0);
        if (l) {
            rh_list_append(l, l);
            rh_list_append(l, self);
            rh_decref(l);
        }
    }
}

/* py: gc.enable(); gc.set_threshold(1); class A: def __del__(self): dir(self)
 * a = A(); del a  -> no crash (test_del / test_del_newclass). */
static void test_del_newclass(void **state) {
    (void)state;
    long th[3];
    rh_gc_get_threshold(H, th);
    rh_gc_enable(H);
    rh_gc_set_threshold(H, 1, th[1], th[2]);
    fin_action = allocating_finalizer;
    for (int i = 0; i < 200; i++) {
        rh_object *a = node_new(H, &fin_type, i);
        if (i % 3 == 0) node_set(a, 0, a); /* some die in a collection */
        rh_decref(a);
    }
    rh_gc_disable(H);
    rh_gc_set_threshold(H, th[0], th[1], th[2]);
    /* Finalizers run by a collection made new cycles holding their object:
     * collect until nothing is left. */
    while (rh_gc_collect(H, 2) > 0) {}
    assert_int_equal(fin_calls, 200);
    assert_int_equal(nodes_destroyed_count, 200);
    assert_int_equal(rh_gc_verify(H), 0);
}

static int collect_in_fin_results[16];
static int collect_in_fin_n;
static void collecting_finalizer(rh_object *self) {
    if (collect_in_fin_n < 16)
        collect_in_fin_results[collect_in_fin_n++] = (int)rh_gc_collect(rh_heap_of(self), 2);
}

/* A finalizer run by a collection calls collect: it returns 0 (CPython's
 * gc.collect while collecting). */
static void test_collect_inside_collection(void **state) {
    (void)state;
    collect_in_fin_n = 0;
    fin_action = collecting_finalizer;
    rh_object *a = node_new_self_cycle(H, &fin_type, 1);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(collect_in_fin_n, 1);
    assert_int_equal(collect_in_fin_results[0], 0);
}

/* Everything the essay of gc.c allows, from a finalizer and from gc
 * callbacks run by one collection: allocate, make cycles, collect (0),
 * freeze and unfreeze, list objects, verify, untrack and track, change
 * thresholds, add and remove callbacks. Nothing crashes, the heap stays
 * consistent, and everything is eventually freed. */
static rh_object *other_garbage;
static int busy_cb_calls;
static void busy_gc_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data);
static void busy_finalizer(rh_object *self) {
    rh_heap *h = rh_heap_of(self);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rh_object *l = rh_list_new(h, 0);
    rh_list_append(l, l);
    rh_list_append(l, self); /* resurrects self until l's cycle is collected */
    rh_decref(l);
    rh_gc_freeze(h);
    rh_gc_unfreeze(h);
    rh_object *all = rh_gc_get_objects(h, -1);
    rh_decref(all);
    assert_int_equal(rh_gc_verify(h), 0);
    if (other_garbage && rh_gc_is_tracked(other_garbage)) {
        rh_gc_untrack(other_garbage);
        rh_gc_track(other_garbage);
    }
    rh_gc_set_threshold(h, 5, 1, 1);
    rh_gc_callback_add(h, busy_gc_cb, NULL);
}
static void busy_gc_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)info;
    (void)data;
    busy_cb_calls++;
    rh_object *n = node_new_self_cycle(h, &node_type, -1);
    rh_decref(n);
    assert_int_equal(rh_gc_collect(h, 0), 0);
    if (phase == RH_GC_STOP) rh_gc_callback_remove(h, busy_gc_cb, NULL);
}

static void test_reentrant_everything(void **state) {
    (void)state;
    fin_action = busy_finalizer;
    rh_gc_callback_add(H, busy_gc_cb, NULL);
    rh_object *a, *b;
    node_new_pair(H, &fin_type, 1, 2, &a, &b);
    other_garbage = b;
    rh_decref(a);
    rh_decref(b);
    rh_gc_collect(H, 2);
    /* a's finalizer ran first, untracked and re-tracked b: b left the
     * garbage set for generation 0 and is finalized by a later collection. */
    assert_int_equal(fin_calls, 1);
    other_garbage = NULL;
    rh_gc_enable(H);
    for (int i = 0; i < 50; i++) rh_decref(node_new(H, &node_type, -1)); /* automatic ones too */
    rh_gc_disable(H);
    while (rh_gc_collect(H, 2) > 0) {}
    assert_int_equal(nodes_destroyed[1] + nodes_destroyed[2], 2);
    assert_int_equal(fin_calls, 2);
    assert_true(busy_cb_calls >= 2);
    assert_int_equal(rh_gc_verify(H), 0);
    rh_gc_callback_remove(H, busy_gc_cb, NULL);
}

static int ouch_n;
static void ouch_finalizer(rh_object *self) {
    ouch_n++;
    if (ouch_n % 17 == 0) rh_gc_collect(rh_heap_of(self), 2);
}

/* py test_trashcan: gc.enable(); N = 150; twice: t = [t, Ouch()] N times,
 * u the same, v = {1: v, 2: Ouch()} N times; Ouch.__del__ calls
 * gc.collect() every 17th call -> no crash; every Ouch finalized. */
static void test_trashcan(void **state) {
    (void)state;
    rh_gc_enable(H);
    ouch_n = 0;
    fin_action = ouch_finalizer;
    enum { N = 150 };
    int id = 0;
    rh_object *one = rh_int(H, 1), *two = rh_int(H, 2);
    for (int count = 0; count < 2; count++) {
        for (int k = 0; k < 2; k++) {
            rh_object *t = rh_list_new(H, 0);
            for (int i = 0; i < N; i++) {
                rh_object *o = node_new(H, &fin_type, id++);
                rh_object *nt = rh_list_new(H, 0);
                rh_list_append(nt, t);
                rh_list_append(nt, o);
                rh_decref(o);
                rh_decref(t);
                t = nt;
            }
            rh_decref(t);
        }
        rh_object *v = rh_dict_new(H);
        for (int i = 0; i < N; i++) {
            rh_object *o = node_new(H, &fin_type, id++);
            rh_object *nv = rh_dict_new(H);
            rh_dict_set(nv, one, v);
            rh_dict_set(nv, two, o);
            rh_decref(o);
            rh_decref(v);
            v = nv;
        }
        rh_decref(v);
    }
    rh_gc_disable(H);
    rh_decref(one);
    rh_decref(two);
    assert_int_equal(ouch_n, 2 * 3 * N);
    assert_int_equal(nodes_destroyed_count, 2 * 3 * N);
}

/* A chain a million long, alive and then as one big cycle: the collector
 * neither recurses nor allocates (CPython's move_unreachable). Set
 * RH_GC_BIG=1 for the ten-million-long chain. Under Valgrind the chain is
 * 100000 long. Every collection runs on a thread with a 256 KiB stack, so
 * recursion per object would overflow it at any of these lengths (at least
 * 16 bytes a frame: 100000 levels need more than 1.5 MiB). */
#define DEEP_CHAIN_STACK ((size_t)256 << 10)

typedef struct collect_job {
    int generation;
    intptr_t result;
} collect_job;

static void *collect_on_thread(void *arg) {
    collect_job *j = arg;
    j->result = rh_gc_collect(H, j->generation);
    return NULL;
}

/* rh_gc_collect(H, 2) on a 256 KiB stack. */
static intptr_t collect_on_small_stack(void) {
    collect_job j = {.generation = 2, .result = -1};
    rh_run_on_small_stack(collect_on_thread, &j, DEEP_CHAIN_STACK);
    return j.result;
}

static void test_deep_chain(void **state) {
    (void)state;
    const char *big = getenv("RH_GC_BIG");
    int n = big && *big == '1' ? 10000000 : rh_test_under_valgrind() ? 100000 : 1000000;
    rh_object *first = node_new(H, &node_type, -1);
    rh_object *cur = first;
    for (int i = 1; i < n; i++) {
        rh_object *nx = node_new(H, &node_type, -1);
        node_set(cur, 0, nx);
        if (cur != first) rh_decref(cur);
        cur = nx;
    }
    /* Reachable only through `first`, traversed from the far end first. */
    assert_int_equal(collect_on_small_stack(), 0);
    assert_int_equal(nodes_destroyed_count, 0);
    node_set(cur, 0, first); /* close the ring */
    rh_decref(cur);
    rh_decref(first);
    assert_int_equal(collect_on_small_stack(), n);
    assert_int_equal(nodes_destroyed_count, n);
}

/* ---------------------------------------------------------------------------
 * Counts and generations.
 * ------------------------------------------------------------------------- */

/* py test_get_count: gc.collect(); a, b, c = gc.get_count(); x = [];
 * d, e, f = gc.get_count(); (b, c) == (0, 0); (e, f) == (0, 0); a < 5; d > a */
static void test_get_count(void **state) {
    (void)state;
    long c0[3], c1[3];
    rh_gc_collect(H, 2);
    rh_gc_get_count(H, c0);
    rh_object *x = rh_list_new(H, 0);
    rh_gc_get_count(H, c1);
    assert_int_equal(c0[1], 0);
    assert_int_equal(c0[2], 0);
    assert_int_equal(c1[1], 0);
    assert_int_equal(c1[2], 0);
    assert_true(c0[0] < 5);
    assert_true(c1[0] > c0[0]);
    assert_int_equal(c1[0], c0[0] + 1); /* refheap: exactly the one list */
    rh_decref(x);
    rh_gc_get_count(H, c1);
    assert_int_equal(c1[0], c0[0]); /* freeing a container counts down */
}

/* py test_collect_generations: gc.collect(); x = []; gc.collect(0) ->
 * count[1:] == (1, 0); gc.collect(1) -> (0, 1); gc.collect(2) -> (0, 0) */
static void test_collect_generations(void **state) {
    (void)state;
    long c[3];
    rh_gc_collect(H, 2);
    rh_object *x = rh_list_new(H, 0);
    rh_gc_collect(H, 0);
    rh_gc_get_count(H, c);
    assert_int_equal(c[1], 1);
    assert_int_equal(c[2], 0);
    rh_gc_collect(H, 1);
    rh_gc_get_count(H, c);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 1);
    rh_gc_collect(H, 2);
    rh_gc_get_count(H, c);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 0);
    rh_decref(x);
    assert_int_equal(rh_gc_collect(H, 3), -1);
    assert_int_equal(rh_err(H), RH_EVALUE);
    rh_err_clear(H);
    assert_int_equal(rh_gc_collect(H, -1), -1);
    rh_err_clear(H);
}

/* py test_get_objects: l = []; l.append(l) is in get_objects(0) only; after
 * collect(0) in generation 1 only; after collect(1) in 2; after collect(2)
 * still in 2. */
static void test_get_objects(void **state) {
    (void)state;
    rh_gc_collect(H, 2);
    rh_object *l = rh_list_new(H, 0);
    rh_list_append(l, l);
    assert_true(in_generation(0, l));
    assert_false(in_generation(1, l));
    assert_false(in_generation(2, l));
    rh_gc_collect(H, 0);
    assert_false(in_generation(0, l));
    assert_true(in_generation(1, l));
    assert_false(in_generation(2, l));
    rh_gc_collect(H, 1);
    assert_false(in_generation(0, l));
    assert_false(in_generation(1, l));
    assert_true(in_generation(2, l));
    rh_gc_collect(H, 2);
    assert_false(in_generation(0, l));
    assert_false(in_generation(1, l));
    assert_true(in_generation(2, l));
    assert_true(in_generation(-1, l));
    /* The list returned never contains itself. */
    rh_object *all = rh_gc_get_objects(H, -1);
    assert_false(list_contains(all, all));
    rh_decref(all);
    assert_null(rh_gc_get_objects(H, 3));
    assert_int_equal(rh_err(H), RH_EVALUE);
    rh_err_clear(H);
    rh_decref(l);
    assert_int_equal(rh_gc_collect(H, 2), 1);
}

/* py test_get_stats: collect(0) bumps only generation 0's collections;
 * collect(2) then bumps only generation 2's. */
static void test_get_stats(void **state) {
    (void)state;
    rh_gc_genstats old[3], st[3];
    rh_gc_get_stats(H, old);
    rh_gc_collect(H, 0);
    rh_gc_get_stats(H, st);
    assert_int_equal(st[0].collections, old[0].collections + 1);
    assert_int_equal(st[1].collections, old[1].collections);
    assert_int_equal(st[2].collections, old[2].collections);
    rh_gc_collect(H, 2);
    rh_gc_get_stats(H, st);
    assert_int_equal(st[0].collections, old[0].collections + 1);
    assert_int_equal(st[1].collections, old[1].collections);
    assert_int_equal(st[2].collections, old[2].collections + 1);
    /* collected goes to the collected generation only */
    rh_object *a = node_new_self_cycle(H, &node_type, 1);
    rh_decref(a);
    rh_gc_collect(H, 1);
    rh_gc_get_stats(H, st);
    assert_int_equal(st[1].collected, old[1].collected + 1);
    assert_int_equal(st[0].collected, old[0].collected);
    assert_int_equal(st[2].collected, old[2].collected);
}

/* Automatic collection: with threshold 10 the 11th container allocation
 * (count[0] > threshold[0]) starts a generation-0 collection, as in
 * CPython's _PyObject_GC_Link; threshold 0 disables it. */
static int auto_starts[3];
static void auto_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h;
    (void)data;
    if (phase == RH_GC_START) auto_starts[info->generation]++;
}

static void test_automatic_collection(void **state) {
    (void)state;
    /* CPython's schedule of automatic collections: on a heap of that
     * policy whatever REFHEAP_GC says (the incremental policy's schedule is
     * test_gc_incr.c's) */
    rh_heap_destroy(H);
    rh_heap_config cfg = {.gc_policy = RH_GC_POLICY_CPYTHON};
    H = rh_heap_new(&cfg);
    assert_non_null(H);
    memset(auto_starts, 0, sizeof auto_starts);
    rh_gc_collect(H, 2);
    rh_gc_callback_add(H, auto_cb, NULL);
    rh_gc_set_threshold(H, 10, 2, 2);
    rh_gc_enable(H);
    rh_object *keep[200];
    for (int i = 0; i < 10; i++) keep[i] = node_new(H, &node_type, i);
    assert_int_equal(auto_starts[0], 0);
    keep[10] = node_new(H, &node_type, 10);
    assert_int_equal(auto_starts[0], 1);
    long c[3];
    rh_gc_get_count(H, c);
    assert_int_equal(c[0], 0); /* reset by the collection, which ran before the 11th node was counted as tracked */
    assert_int_equal(c[1], 1);
    /* 11 more allocations per generation-0 collection; the third raises
     * count[1] to 3 > 2 and collects generation 1 instead. */
    for (int i = 11; i < 44; i++) keep[i] = node_new(H, &node_type, i);
    assert_int_equal(auto_starts[0], 3);
    assert_int_equal(auto_starts[1], 1);
    /* Generation 2 waits for the 25% rule: long_lived_total is 0 here, so
     * the first time count[2] exceeds 2 a full collection runs. */
    for (int i = 44; i < 200; i++) keep[i] = node_new(H, &node_type, i);
    assert_true(auto_starts[2] >= 1);
    for (int i = 0; i < 200; i++) rh_decref(keep[i]);
    rh_gc_set_threshold(H, 0, 10, 10);
    int before = auto_starts[0] + auto_starts[1] + auto_starts[2];
    for (int i = 0; i < 100; i++) rh_decref(node_new(H, &node_type, i));
    assert_int_equal(auto_starts[0] + auto_starts[1] + auto_starts[2], before);
    rh_gc_disable(H);
    assert_false(rh_gc_isenabled(H));
    rh_gc_callback_remove(H, auto_cb, NULL);
}

/* ---------------------------------------------------------------------------
 * Introspection.
 * ------------------------------------------------------------------------- */

/* py test_get_referents: alist = [1, 3, 5]; got = gc.get_referents(alist);
 * got.sort(); got == alist; atoms give [] (gc.get_referents(1, 'a') == []);
 * several objects give the concatenation. */
static void test_get_referents(void **state) {
    (void)state;
    rh_object *one = rh_int(H, 1), *three = rh_int(H, 3), *five = rh_int(H, 5);
    rh_object *alist = rh_list_new(H, 0);
    rh_list_append(alist, one);
    rh_list_append(alist, three);
    rh_list_append(alist, five);
    rh_object *got = rh_gc_get_referents(H, &alist, 1);
    assert_int_equal(rh_list_size(got), 3);
    assert_true(list_contains(got, one) && list_contains(got, three) && list_contains(got, five));
    rh_decref(got);
    rh_object *s = rh_str(H, "a");
    rh_object *atoms[2] = {one, s};
    got = rh_gc_get_referents(H, atoms, 2);
    assert_int_equal(rh_list_size(got), 0);
    rh_decref(got);
    rh_object *n = node_new(H, &node_type, 1);
    node_set(n, 0, alist);
    node_set(n, 1, s);
    rh_object *two[2] = {alist, n};
    got = rh_gc_get_referents(H, two, 2);
    assert_int_equal(rh_list_size(got), 5);
    rh_decref(got);
    rh_decref(n);
    rh_decref(s);
    rh_decref(alist);
    rh_decref(one);
    rh_decref(three);
    rh_decref(five);
}

/* get_referrers: every tracked object referencing one of the arguments;
 * never the result list; frozen objects invisible. */
static void test_get_referrers(void **state) {
    (void)state;
    rh_object *target = node_new(H, &node_type, 1);
    rh_object *a = node_new(H, &node_type, 2);
    rh_object *b = rh_list_new(H, 0);
    rh_object *c = node_new(H, &node_type, 3);
    node_set(a, 0, target);
    rh_list_append(b, target);
    rh_object *r = rh_gc_get_referrers(H, &target, 1);
    assert_int_equal(rh_list_size(r), 2);
    assert_true(list_contains(r, a));
    assert_true(list_contains(r, b));
    assert_false(list_contains(r, c));
    rh_decref(r);
    rh_gc_freeze(H);
    r = rh_gc_get_referrers(H, &target, 1);
    assert_int_equal(rh_list_size(r), 0);
    rh_decref(r);
    rh_gc_unfreeze(H);
    rh_decref(a);
    rh_decref(b);
    rh_decref(c);
    rh_decref(target);
}

/* py test_is_tracked: atoms are not tracked; lists, sets, instances are;
 * the empty tuple never; a tuple of atoms is untracked by a collection while
 * a tuple holding a list or a dict stays tracked; a dict whose last container
 * value was removed stays tracked until a full collection:
 * py: d = {"a": []}; del d["a"]: tracked after collect(0) and collect(1),
 * untracked after collect(2). */
static void test_is_tracked(void **state) {
    (void)state;
    rh_object *i = rh_int(H, 1000), *f = rh_float(H, 1.0), *s = rh_str(H, "a");
    assert_false(rh_gc_is_tracked(rh_None));
    assert_false(rh_gc_is_tracked(rh_True));
    assert_false(rh_gc_is_tracked(i));
    assert_false(rh_gc_is_tracked(f));
    assert_false(rh_gc_is_tracked(s));
    rh_object *l = rh_list_new(H, 0), *st = rh_set_new(H);
    assert_true(rh_gc_is_tracked(l));
    assert_true(rh_gc_is_tracked(st));
    rh_object *n = node_new(H, &node_type, 1);
    assert_true(rh_gc_is_tracked(n));
    rh_object *e = rh_tuple_new(H, 0);
    assert_false(rh_gc_is_tracked(e));

    rh_object *atoms = rh_tuple_pack(H, 2, i, s);
    rh_object *withlist = rh_tuple_pack(H, 1, l);
    rh_object *d0 = rh_dict_new(H);
    rh_object *withdict = rh_tuple_pack(H, 1, d0);
    assert_true(rh_gc_is_tracked(atoms));
    rh_gc_collect(H, 0);
    assert_false(rh_gc_is_tracked(atoms));
    assert_true(rh_gc_is_tracked(withlist));
    assert_true(rh_gc_is_tracked(withdict));

    rh_object *d = rh_dict_new(H);
    rh_dict_set_str(d, "a", l);
    assert_true(rh_gc_is_tracked(d));
    rh_dict_del_str(d, "a");
    assert_true(rh_gc_is_tracked(d));
    rh_gc_collect(H, 0);
    assert_true(rh_gc_is_tracked(d));
    rh_gc_collect(H, 1);
    assert_true(rh_gc_is_tracked(d));
    rh_gc_collect(H, 2);
    assert_false(rh_gc_is_tracked(d));

    rh_gc_untrack(n);
    assert_false(rh_gc_is_tracked(n));
    rh_gc_track(n);
    assert_true(rh_gc_is_tracked(n));

    rh_object *all[] = {i, f, s, l, st, n, e, atoms, withlist, d0, withdict, d};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) rh_decref(all[k]);
}

/* py test_is_finalized: gc.is_finalized(3) is False; a Lazarus whose __del__
 * stores self: False before, True once resurrected. Here both ways: by
 * refcount death, and by a collection. */
static void test_is_finalized(void **state) {
    (void)state;
    rh_object *three = rh_int(H, 3);
    assert_false(rh_gc_is_finalized(three));
    rh_decref(three);
    rh_object *laz = node_new(H, &lazarus_type, 1);
    assert_false(rh_gc_is_finalized(laz));
    rh_decref(laz); /* resurrected by its finalizer */
    assert_int_equal(lazarus_n, 1);
    assert_true(rh_gc_is_finalized(lazarus_store[0]));

    rh_object *laz2 = node_new_self_cycle(H, &lazarus_type, 2);
    rh_decref(laz2);
    assert_int_equal(rh_gc_collect(H, 2), 0); /* resurrected: nothing collected */
    assert_int_equal(lazarus_n, 2);
    assert_true(rh_gc_is_finalized(lazarus_store[1]));
    assert_true(rh_gc_is_tracked(lazarus_store[1]));
}

/* py test_resurrection_only_happens_once_per_object (self-loop Lazarus):
 * collect -> resurrected == 1; clear the store; collect -> still 1 (the
 * object dies without a second __del__). */
static void test_resurrection_only_happens_once_per_object(void **state) {
    (void)state;
    rh_gc_collect(H, 2);
    rh_object *laz = node_new_self_cycle(H, &lazarus_type, 1);
    assert_int_equal(lazarus_calls, 0);
    rh_decref(laz);
    rh_gc_collect(H, 2);
    assert_int_equal(lazarus_calls, 1);
    assert_int_equal(lazarus_n, 1);
    lazarus_release();
    assert_int_equal(lazarus_calls, 1);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_int_equal(lazarus_calls, 1);
    assert_int_equal(nodes_destroyed[1], 1);
}

/* py test_resurrection_is_transitive: laz.cargo = cargo; cargo.laz = laz;
 * cargo.me = cargo; del both; collect -> laz resurrected, laz.cargo is the
 * same cargo, intact. */
static void test_resurrection_is_transitive(void **state) {
    (void)state;
    rh_gc_collect(H, 2);
    rh_object *laz = node_new(H, &lazarus_type, 1);
    rh_object *cargo = node_new(H, &node_type, 2);
    rh_object *inner = node_new(H, &node_type, 3);
    node_set(cargo, 0, cargo);
    node_set(cargo, 2, inner);
    node_set(laz, 0, cargo);
    node_set(cargo, 1, laz);
    rh_decref(laz);
    rh_decref(cargo);
    rh_decref(inner);
    rh_gc_collect(H, 2);
    assert_int_equal(lazarus_n, 1);
    rh_object *back = lazarus_store[0];
    assert_ptr_equal(back, laz);
    assert_ptr_equal(node_kid(back, 0), cargo);
    assert_ptr_equal(node_kid(cargo, 0), cargo);
    assert_ptr_equal(node_kid(cargo, 1), laz);
    assert_ptr_equal(node_kid(cargo, 2), inner);
    assert_int_equal(node_id(inner), 3);
    assert_int_equal(nodes_destroyed_count, 0);
    lazarus_release();
    assert_int_equal(rh_gc_collect(H, 2), 3);
    assert_int_equal(nodes_destroyed_count, 3);
}

/* py test_resurrection_does_not_block_cleanup_of_other_objects, with
 * __slots__ classes (so each A is one object, no dict): 100 A() -> 100;
 * Z() -> 0; 100 A() + Z() -> 100; zs.clear() -> 2. Stats follow. */
static void test_resurrection_does_not_block_cleanup_of_other_objects(void **state) {
    (void)state;
    enum { N = 100 };
    rh_gc_genstats s0[3], s1[3];
    rh_gc_collect(H, 2);
    rh_gc_get_stats(H, s0);
    for (int i = 0; i < N; i++) {
        rh_object *a = node_new_self_cycle(H, &node_type, i);
        rh_decref(a);
    }
    assert_int_equal(rh_gc_collect(H, 2), N);
    rh_gc_get_stats(H, s1);
    assert_int_equal(s1[2].collected - s0[2].collected, N);
    assert_int_equal(s1[2].uncollectable - s0[2].uncollectable, 0);

    rh_object *z = node_new_self_cycle(H, &lazarus_type, 1000);
    rh_decref(z);
    s0[2] = s1[2];
    assert_int_equal(rh_gc_collect(H, 2), 0);
    rh_gc_get_stats(H, s1);
    assert_int_equal(s1[2].collected - s0[2].collected, 0);

    s0[2] = s1[2];
    for (int i = 0; i < N; i++) {
        rh_object *a = node_new_self_cycle(H, &node_type, N + i);
        rh_decref(a);
    }
    z = node_new(H, &lazarus_type, 1001);
    node_set(z, 0, z);
    rh_decref(z);
    assert_int_equal(rh_gc_collect(H, 2), N);
    rh_gc_get_stats(H, s1);
    assert_int_equal(s1[2].collected - s0[2].collected, N);

    s0[2] = s1[2];
    lazarus_release();
    assert_int_equal(rh_gc_collect(H, 2), 2);
    rh_gc_get_stats(H, s1);
    assert_int_equal(s1[2].collected - s0[2].collected, 2);
    assert_int_equal(s1[2].uncollectable - s0[2].uncollectable, 0);
}

/* A finalizer in a cycle runs once per object.
 * py: f <-> g with __del__ (slots): gc.collect() -> 2, __del__ ran twice. */
static void test_finalizer_cycle(void **state) {
    (void)state;
    node_garbage_pair(H, &fin_type, 1, 2);
    assert_int_equal(rh_gc_collect(H, 2), 2);
    assert_int_equal(fin_calls, 2);
    assert_int_equal(nodes_destroyed_count, 2);
}

/* py test_freeze: gc.freeze(); get_freeze_count() > 0; gc.unfreeze();
 * get_freeze_count() == 0. Frozen objects are invisible to get_objects,
 * still die by refcount, and unfreeze puts them in the oldest generation.
 * gc.freeze() resets the counts (§7; CPython 3.11.7 resets all three). */
static void test_freeze(void **state) {
    (void)state;
    rh_object *a = node_new(H, &node_type, 1);
    rh_object *b = node_new(H, &node_type, 2);
    rh_object *dies = node_new(H, &node_type, 3);
    node_set(a, 0, b);
    node_set(b, 0, a);
    rh_gc_collect(H, 1);
    rh_gc_collect(H, 1);
    rh_gc_freeze(H);
    /* py: gc.collect(1) twice -> get_count() (0, 0, 2); gc.freeze() ->
     * (0, 0, 0) */
    long c[3];
    rh_gc_get_count(H, c);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 0);
    assert_int_equal(rh_gc_get_freeze_count(H), 3);
    assert_false(in_generation(-1, a));
    rh_decref(dies);
    assert_int_equal(nodes_destroyed[3], 1);
    assert_int_equal(rh_gc_get_freeze_count(H), 2);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(rh_gc_collect(H, 2), 0); /* the collector ignores them */
    rh_gc_unfreeze(H);
    assert_int_equal(rh_gc_get_freeze_count(H), 0);
    assert_int_equal(rh_gc_collect(H, 2), 2);
}

/* ---------------------------------------------------------------------------
 * Callbacks (GCCallbackTests).
 * ------------------------------------------------------------------------- */

typedef struct cb_log {
    int starts, stops;
    int last_gen;
    intptr_t collected, uncollectable;
    size_t examined;
    uint64_t duration;
    int order_ok;
} cb_log;

static void log_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h;
    cb_log *l = data;
    if (phase == RH_GC_START) {
        if (l->starts != l->stops) l->order_ok = 0;
        l->starts++;
        if (info->collected != 0 || info->uncollectable != 0) l->order_ok = 0;
    } else {
        l->stops++;
        if (l->stops != l->starts) l->order_ok = 0;
        l->collected = info->collected;
        l->uncollectable = info->uncollectable;
        l->examined = info->examined;
        l->duration = info->duration_ns;
    }
    l->last_gen = info->generation;
}

/* py GCCallbackTests.test_collect: two callbacks, one gc.collect() -> each
 * sees one "start" and one "stop" with generation, collected, uncollectable;
 * test_collect_garbage: uncollectable objects reported at "stop". */
static void test_callback(void **state) {
    (void)state;
    cb_log l1 = {.order_ok = 1}, l2 = {.order_ok = 1};
    assert_int_equal(rh_gc_callback_add(H, log_cb, &l1), 0);
    assert_int_equal(rh_gc_callback_add(H, log_cb, &l2), 0);
    rh_object *x = node_new_self_cycle(H, &legacy_type, 1);
    rh_object *y = node_new_self_cycle(H, &node_type, 2);
    rh_object *keep = node_new(H, &node_type, 3);
    rh_decref(x);
    rh_decref(y);
    assert_int_equal(rh_gc_collect(H, 1), 2);
    for (int k = 0; k < 2; k++) {
        cb_log *l = k ? &l2 : &l1;
        assert_int_equal(l->starts, 1);
        assert_int_equal(l->stops, 1);
        assert_true(l->order_ok);
        assert_int_equal(l->last_gen, 1);
        assert_int_equal(l->collected, 1);
        assert_int_equal(l->uncollectable, 1);
        assert_int_equal(l->examined, 3); /* x, y, keep */
    }
    assert_int_equal(rh_gc_callback_remove(H, log_cb, &l1), 0);
    assert_int_equal(rh_gc_callback_remove(H, log_cb, &l1), -1);
    rh_gc_collect(H, 2);
    assert_int_equal(l1.starts, 1);
    assert_int_equal(l2.starts, 2);
    assert_int_equal(l2.last_gen, 2);
    rh_gc_callback_remove(H, log_cb, &l2);
    node_set(x, 0, NULL);
    rh_list_clear(rh_gc_garbage(H));
    rh_decref(keep);
}

/* ---------------------------------------------------------------------------
 * Debug output.
 * ------------------------------------------------------------------------- */

/* DEBUG_STATS prints CPython's three lines around a collection;
 * DEBUG_COLLECTABLE / DEBUG_UNCOLLECTABLE name each object as
 * "gc: collectable <Person 0x...>". */
static void test_debug_output(void **state) {
    (void)state;
    line_sink s = {0};
    rh_gc_set_sink(H, line_sink_fn, &s);
    rh_gc_collect(H, 2);
    rh_object *p, *q;
    node_new_pair(H, &person_type, 1, 2, &p, &q);
    rh_object *x = node_new_self_cycle(H, &legacy_type, 3);
    rh_decref(p);
    rh_decref(q);
    rh_decref(x);
    s.len = 0;
    s.text[0] = '\0';
    rh_gc_set_debug(H, RH_GC_DEBUG_STATS | RH_GC_DEBUG_COLLECTABLE | RH_GC_DEBUG_UNCOLLECTABLE);
    assert_int_equal(rh_gc_collect(H, 2), 3);
    rh_gc_set_debug(H, 0);
    assert_non_null(strstr(s.text, "gc: collecting generation 2...\n"));
    assert_non_null(strstr(s.text, "gc: objects in each generation: 3 0 0\n"));
    assert_non_null(strstr(s.text, "gc: objects in permanent generation: 0\n"));
    char want[128];
    snprintf(want, sizeof want, "gc: collectable <Person %p>\n", (void *)p);
    assert_non_null(strstr(s.text, want));
    snprintf(want, sizeof want, "gc: collectable <Person %p>\n", (void *)q);
    assert_non_null(strstr(s.text, want));
    snprintf(want, sizeof want, "gc: uncollectable <Legacy %p>\n", (void *)x);
    assert_non_null(strstr(s.text, want));
    assert_non_null(strstr(s.text, "gc: done, 3 unreachable, 1 uncollectable, 0.0"));
    assert_true(strstr(s.text, "s elapsed\n") != NULL);
    rh_gc_set_sink(H, NULL, NULL);
    node_set(x, 0, NULL);
    rh_list_clear(rh_gc_garbage(H));
}

/* ---------------------------------------------------------------------------
 * Verify traverse (beyond CPython).
 * ------------------------------------------------------------------------- */

static void test_verify_traverse(void **state) {
    (void)state;
    line_sink s = {0};
    rh_gc_set_sink(H, line_sink_fn, &s);
    rh_object *l = rh_list_new(H, 0);
    rh_object *a = node_new(H, &node_type, 1);
    rh_list_append(l, a);
    node_set(a, 0, l);
    assert_int_equal(rh_gc_verify(H), 0);
    assert_int_equal(s.lines, 0);

    rh_object *leaf = node_new(H, &node_type, 2);
    rh_object *bad = node_new(H, &badtrav_type, 3);
    node_set(bad, 0, leaf);
    rh_decref(leaf); /* one reference, reported twice */
    assert_int_equal(rh_gc_verify(H), 1);
    char want[160];
    snprintf(want, sizeof want, "BadTrav traverse reports 2 references to <Node %p> with refcount 1",
             (void *)leaf);
    assert_non_null(strstr(s.text, want));

    /* DEBUG_VERIFY runs it after each collection. */
    s.len = 0;
    s.lines = 0;
    rh_gc_set_debug(H, RH_GC_DEBUG_VERIFY);
    rh_gc_collect(H, 0);
    rh_gc_set_debug(H, 0);
    assert_int_equal(s.lines, 1);
    rh_gc_set_sink(H, NULL, NULL);
    rh_decref(bad);
    rh_decref(l);
    rh_decref(a);
    rh_gc_collect(H, 2);
}

/* The case the count cannot see: BadTrav reports its one reference to leaf
 * twice, and the other reference is held by a container the collector does
 * not track. Both traverses together, 2 reports against a count of 2, look
 * right, and a collection would take leaf for garbage (the excess equals
 * the references from outside) and clear it under its holder. In debug mode
 * the verifier also counts the untracked containers' references (the debug
 * allocator knows them all): 3 reports against a count of 2. */
static void test_verify_counts_untracked_holders(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG};
    rh_heap *h = rh_heap_new(&cfg);
    line_sink s = {0};
    rh_gc_set_sink(h, line_sink_fn, &s);
    rh_object *leaf = node_new(h, &node_type, 1);
    rh_object *bad = node_new(h, &badtrav_type, 2);
    node_set(bad, 0, leaf);
    rh_object *holder = rh_new(h, &node_type); /* never tracked */
    node_set(holder, 0, leaf);
    rh_decref(leaf);
    assert_int_equal(leaf->rh_refcnt, 2);
    uint32_t w = leaf->rh_gcword; /* 0, or the layout without links' state */
    assert_int_equal(rh_gc_verify(h), 1);
    char want[160];
    snprintf(want, sizeof want, "traverse reports 3 references to <Node %p> with refcount 2", (void *)leaf);
    assert_non_null(strstr(s.text, want));
    assert_int_equal(leaf->rh_gcword, w); /* left as the collector needs it */
    rh_gc_set_sink(h, NULL, NULL);
    rh_decref(holder);
    rh_decref(bad);
    rh_heap_destroy(h);
}

/* A reference into another heap is reported, and the verifier writes
 * nothing into that heap's object. */
static void test_verify_cross_heap(void **state) {
    (void)state;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *b = rh_heap_new(&cfg);
    line_sink s = {0};
    rh_gc_set_sink(H, line_sink_fn, &s);
    rh_object *y = node_new(b, &person_type, 1);
    rh_object *x = node_new(H, &node_type, 2);
    node_set(x, 0, y);
    uint32_t w = y->rh_gcword; /* 0, or the layout without links' state */
    y->rh_gcword = w | 7;      /* as if b's collection were running */
    assert_int_equal(rh_gc_verify(H), 1);
    assert_int_equal(y->rh_gcword, w | 7);
    y->rh_gcword = w;
    char want[160];
    snprintf(want, sizeof want, "<Node %p> references <Person %p> of another heap", (void *)x, (void *)y);
    assert_non_null(strstr(s.text, want));
    rh_gc_set_sink(H, NULL, NULL);
    rh_decref(x);
    rh_decref(y);
    rh_heap_destroy(b);
}

/* A container reachable from a tracked one, not tracked, and holding a
 * container: a cycle through it would never be collected. Untracked
 * containers that hold no container (an atomic tuple, a forgotten but
 * harmless Node) are not reported. */
static void test_verify_untracked_container(void **state) {
    (void)state;
    line_sink s = {0};
    rh_gc_set_sink(H, line_sink_fn, &s);
    rh_object *l = rh_list_new(H, 0);
    rh_object *u = rh_new(H, &node_type); /* never tracked */
    node_set(u, 0, u);                    /* a cycle the collector cannot see */
    rh_object *harmless = rh_new(H, &node_type);
    rh_object *one = rh_int(H, 1);
    rh_object *t = rh_tuple_from(H, &one, 1);
    rh_gc_collect(H, 0); /* the tuple of an int is untracked */
    assert_false(rh_gc_is_tracked(t));
    rh_list_append(l, u);
    rh_list_append(l, harmless);
    rh_list_append(l, t);
    assert_int_equal(rh_gc_verify(H), 1);
    char want[200];
    snprintf(want, sizeof want, "<list %p> references <Node %p>, a container the collector does not track",
             (void *)l, (void *)u);
    assert_non_null(strstr(s.text, want));
    rh_gc_set_sink(H, NULL, NULL);
    node_set(u, 0, NULL);
    rh_decref(u);
    rh_decref(harmless);
    rh_decref(t);
    rh_decref(one);
    rh_decref(l);
}

/* ---------------------------------------------------------------------------
 * Out of memory: the core of a collection allocates nothing.
 * ------------------------------------------------------------------------- */

static void test_collect_out_of_memory(void **state) {
    (void)state;
    rh_object *keep = node_new(H, &node_type, 1);
    for (int i = 0; i < 50; i++) {
        node_garbage_pair(H, &node_type, 10 + 2 * i, 11 + 2 * i);
    }
    rh_err_set(H, RH_EKEY, "pending");
    rh_heap_fail_after(H, 1, true);
    assert_int_equal(rh_gc_collect(H, 2), 100);
    assert_int_equal(nodes_destroyed_count, 100);
    /* the pending error survives a collection */
    assert_int_equal(rh_err(H), RH_EKEY);
    assert_string_equal(rh_errmsg(H), "pending");
    /* A legacy cycle with no memory for gc.garbage stays uncollectable in
     * the oldest generation, counted all the same. */
    assert_null(rh_new(H, &legacy_type)); /* no memory for new objects */
    rh_heap_fail_after(H, 0, false);
    rh_err_clear(H);
    rh_object *x = node_new_self_cycle(H, &legacy_type, 5000);
    rh_decref(x);
    rh_heap_fail_after(H, 1, true);
    assert_int_equal(rh_gc_collect(H, 2), 1);
    assert_true(rh_gc_is_tracked(x));
    rh_heap_fail_after(H, 0, false);
    assert_int_equal(rh_gc_collect(H, 2), 1); /* now it reaches gc.garbage */
    assert_int_equal(rh_list_size(rh_gc_garbage(H)), 1);
    node_set(x, 0, NULL);
    rh_list_clear(rh_gc_garbage(H));
    rh_decref(keep);
    rh_err_clear(H);
}

/* ---------------------------------------------------------------------------
 * Heap destruction.
 * ------------------------------------------------------------------------- */

static line_sink fini_sink;

static void leak_child(void *arg) {
    (void)arg;
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG};
    rh_heap *h = rh_heap_new(&cfg);
    rh_gc_set_sink(h, line_sink_fn, &fini_sink);
    rh_object *leaked = node_new(h, &person_type, 1);
    (void)leaked; /* never released */
    rh_object *cyc = node_new_self_cycle(h, &fin_type, 2);
    rh_decref(cyc);
    rh_heap_destroy(h);
    fprintf(stderr, "%s", fini_sink.text);
    fprintf(stderr, "fin_calls=%d destroyed2=%d\n", fin_calls, nodes_destroyed[2]);
}

/* Destroying a debug heap runs a last collection (the finalizer of the cycle
 * runs, the cycle is freed) and reports what is still referenced from
 * outside, with type and allocation site. */
static void test_heap_destroy_leak_report(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(leak_child, NULL, &c);
    assert_true(c.exited);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "fin_calls=1 destroyed2=1"));
    assert_non_null(strstr(c.err, "refheap: leak report: 1 tracked object still alive"));
    assert_non_null(strstr(c.err, "refheap: leak: <Person 0x"));
    assert_non_null(strstr(c.err, "gc_nodes.h:"));
}

/* A container never tracked (a forgotten rh_gc_track) in a cycle leaks: the
 * debug-mode report at heap destruction names it with its type and site. */
static void untracked_leak_child(void *arg) {
    (void)arg;
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG};
    rh_heap *h = rh_heap_new(&cfg);
    rh_gc_set_sink(h, line_sink_fn, &fini_sink);
    rh_object *a = rh_new(h, &person_type); /* never tracked */
    node_set(a, 0, a);
    rh_decref(a);
    rh_object *ok = rh_new(h, &node_type); /* never tracked, but freed: no report */
    rh_decref(ok);
    rh_heap_destroy(h);
    fprintf(stderr, "%s", fini_sink.text);
}

static void test_heap_destroy_leak_report_untracked(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(untracked_leak_child, NULL, &c);
    assert_true(c.exited);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "refheap: leak report: 1 untracked container still alive"));
    assert_non_null(strstr(c.err, "refheap: leak: untracked <Person 0x"));
    assert_non_null(strstr(c.err, "test_gc.c:"));
    assert_null(strstr(c.err, "<Node"));
}

/* ---------------------------------------------------------------------------
 * A (forbidden) reference from one heap's container to another's.
 * ------------------------------------------------------------------------- */

/* Heap A's list x holds y, a self-cycle of heap B: y's count is 2 (itself
 * and x). A full collection of A must not count x's reference into y's
 * scratch word: left there, it made B's next full collection see both of
 * y's references as internal, and clear y although x keeps it alive. */
static void cross_heap_scenario(void *arg) {
    (void)arg;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *a = rh_heap_new(&cfg), *b = rh_heap_new(&cfg);
    assert_non_null(a);
    assert_non_null(b);
    rh_gc_disable(a);
    rh_gc_disable(b);
    rh_object *y = rh_list_new(b, 0);
    assert_int_equal(rh_list_append(y, y), 0);
    rh_object *x = rh_list_new(a, 0);
    assert_int_equal(rh_list_append(x, y), 0); /* the cross-heap reference */
    rh_decref(y);
    uint32_t w = y->rh_gcword; /* 0, or the layout without links' state */
    assert_int_equal(rh_gc_collect(a, 2), 0);
    assert_int_equal(y->rh_gcword, w); /* A wrote nothing into B's object */
    assert_int_equal(rh_gc_collect(b, 2), 0);
    assert_int_equal(rh_list_size(y), 1); /* not cleared */
    assert_ptr_equal(rh_list_get(y, 0), y);
    rh_decref(x); /* drops y: B's next collection frees it */
    assert_int_equal(rh_gc_collect(b, 2), 1);
    rh_heap_destroy(a);
    rh_heap_destroy(b);
}

/* At RH_DEBUG >= 1 (Debug builds) the fused pass stops at the reference it
 * skips silently at level 0. */
static void test_cross_heap_reference_not_counted(void **state) {
    (void)state;
#if RH_DEBUG >= 1
    rh_child c;
    rh_run_child(cross_heap_scenario, NULL, &c);
    rh_assert_child_died_saying(&c, "refheap: fatal: collector: cross-heap reference to <list 0x");
#else
    cross_heap_scenario(NULL);
#endif
}

/* Debug mode reports the reference when a collection meets it. */
static void cross_heap_child(void *arg) {
    bool full = arg != NULL;
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG};
    rh_heap *a = rh_heap_new(&cfg), *b = rh_heap_new(&cfg);
    rh_object *y = node_new(b, &person_type, 1);
    rh_object *x = node_new(a, &node_type, 2);
    node_set(x, 0, y);
    rh_gc_collect(a, full ? 2 : 0);
    fprintf(stderr, "not reported\n");
}

static void test_cross_heap_reference_debug_report(void **state) {
    (void)state;
    for (int full = 0; full < 2; full++) {
        rh_child c;
        rh_run_child(cross_heap_child, full ? (void *)1 : NULL, &c);
        rh_assert_child_died_saying(&c, "refheap: fatal: collector: cross-heap reference");
        rh_assert_child_died_saying(&c, "<Node 0x");
        rh_assert_child_died_saying(&c, "<Person 0x");
        rh_assert_child_died_saying(&c, "gc_nodes.h:");
        rh_assert_child_died_saying(&c, "allocated at ");
    }
}

/* The pause hook's account of a collection: one pause of kind 2 for
 * collect(2), whose wall time includes the finalizer's, with the finalizer's
 * sleep counted as user time and as a voluntary context switch (the thread
 * blocked), so that a reader can tell the collector's time from time the
 * thread did not run. Both policies report through the same hook. */
static struct {
    int n;
    rh_gc_pause last;
} pauses_seen;
static void on_pause(rh_heap *h, const rh_gc_pause *p, void *data) {
    (void)h, (void)data;
    pauses_seen.n++;
    pauses_seen.last = *p;
}
static void fin_sleep(rh_object *self) {
    (void)self;
    struct timespec ts = {0, 2000000}; /* 2 ms */
    nanosleep(&ts, NULL);
}

static void test_pause_hook_counts_blocked_time(void **state) {
    (void)state;
    for (int policy = 0; policy < 2; policy++) {
        rh_heap_config cfg = {.mode = RH_MODE_POOLS,
                              .gc_policy = policy ? RH_GC_POLICY_INCREMENTAL : RH_GC_POLICY_CPYTHON};
        rh_heap *h = rh_heap_new(&cfg);
        assert_non_null(h);
        rh_gc_disable(h);
        rh_gc_set_pause_hook(h, on_pause, NULL);
        fin_calls = 0;
        fin_action = fin_sleep;
        node_garbage_pair(h, &fin_type, 1, 2);
        memset(&pauses_seen, 0, sizeof pauses_seen);
        assert_int_equal(rh_gc_collect(h, 2), 2);
        assert_int_equal(fin_calls, 2);
        assert_int_equal(pauses_seen.n, 1);
        assert_int_equal(pauses_seen.last.kind, 2);
        assert_true(pauses_seen.last.user_ns >= 4000000u); /* two sleeps of 2 ms */
        assert_true(pauses_seen.last.ns >= pauses_seen.last.user_ns);
        assert_true(pauses_seen.last.cpu_ns < pauses_seen.last.ns); /* asleep: no CPU */
#if defined(__linux__)
        assert_true(pauses_seen.last.blocked >= 2); /* each sleep blocked the thread */
#endif
        fin_action = NULL;
        rh_gc_set_pause_hook(h, NULL, NULL);
        rh_heap_destroy(h);
    }
}

/* rh_gc_track's paths. The usual one ("create, fill, track": the record
 * carries the heap of the object's creation) and the one of a container
 * tracked before (untracked since: the allocator names the heap) both
 * link the object at the end of generation 0. */
static void test_track_paths(void **state) {
    (void)state;
    rh_object *a = rh_new(H, &node_type);
    assert_non_null(a);
    assert_false(rh_gc_is_tracked(a));
    rh_gc_track(a);
    assert_true(rh_gc_is_tracked(a));
    rh_gc_untrack(a);
    assert_false(rh_gc_is_tracked(a));
    rh_gc_track(a); /* no heap hint any more */
    assert_true(rh_gc_is_tracked(a));
    /* a cycle through it is found: it is in this heap's generation 0 */
    node_set(a, 0, a);
    rh_decref(a);
    assert_int_equal(rh_gc_collect(H, 0), 1);
    assert_int_equal(nodes_destroyed_count, 1);
}

/* A finalizer that tracks its object, never tracked before, and keeps it
 * alive: the object is tracked, still marked finalized (the flag survives
 * the track, as gc.is_finalized() says in CPython), and its finalizer does
 * not run at its next death. */
static void track_and_keep(rh_object *self) {
    rh_gc_track(self);
    lazarus_finalize(self);
}

static void test_track_in_finalizer_keeps_finalized(void **state) {
    (void)state;
    fin_action = track_and_keep;
    rh_object *a = rh_new(H, &fin_type); /* never tracked */
    assert_non_null(a);
    rh_decref(a);
    assert_int_equal(fin_calls, 1);
    assert_int_equal(lazarus_n, 1);
    assert_true(lazarus_store[0] == a);
    assert_true(rh_gc_is_tracked(a));
    assert_true(rh_gc_is_finalized(a));
    lazarus_release(); /* its last reference: dies without a second finalize */
    assert_int_equal(fin_calls, 1);
    assert_int_equal(nodes_destroyed_count, 1);
}

/* Misuse of rh_gc_track stops the program with a message naming the type. */
static void track_twice_child(void *arg) {
    (void)arg;
    rh_heap *h = rh_heap_new(NULL);
    rh_object *a = rh_new(h, &person_type);
    rh_gc_track(a);
    rh_gc_track(a);
}

static void track_non_container_child(void *arg) {
    (void)arg;
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_track(rh_float(h, 1.5));
}

static void track_freed_child(void *arg) {
    (void)arg;
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG};
    rh_heap *h = rh_heap_new(&cfg);
    rh_object *a = rh_new(h, &person_type);
    rh_decref(a);
    rh_gc_track(a);
}

static void test_track_misuse(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(track_twice_child, NULL, &c);
    rh_assert_child_died_saying(&c, "rh_gc_track: object of type 'Person' at 0x");
    rh_assert_child_died_saying(&c, "is already tracked by the collector");
    rh_run_child(track_non_container_child, NULL, &c);
    rh_assert_child_died_saying(&c, "rh_gc_track: object of type 'float' at 0x");
    rh_assert_child_died_saying(&c, "is not a container (RH_TYPE_GC)");
    rh_run_child(track_freed_child, NULL, &c);
    rh_assert_child_died_saying(&c, "rh_gc_track: object of type 'Person' was freed");
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(name) GCN_TEST(name)
        T(test_list),
        T(test_dict),
        T(test_tuple),
        T(test_instance),
        T(test_newstyleclass),
        T(test_person_cycle),
        T(test_root_beside_orphan_cycle),
        T(test_three_pairs_get_count),
        T(test_legacy_finalizer),
        T(test_legacy_finalizer_reachable),
        T(test_saveall),
        T(test_del_newclass),
        T(test_collect_inside_collection),
        T(test_reentrant_everything),
        T(test_trashcan),
        T(test_deep_chain),
        T(test_get_count),
        T(test_collect_generations),
        T(test_get_objects),
        T(test_get_stats),
        T(test_automatic_collection),
        T(test_get_referents),
        T(test_get_referrers),
        T(test_is_tracked),
        T(test_is_finalized),
        T(test_resurrection_only_happens_once_per_object),
        T(test_resurrection_is_transitive),
        T(test_resurrection_does_not_block_cleanup_of_other_objects),
        T(test_finalizer_cycle),
        T(test_freeze),
        T(test_callback),
        T(test_debug_output),
        T(test_verify_traverse),
        T(test_verify_counts_untracked_holders),
        T(test_verify_cross_heap),
        T(test_verify_untracked_container),
        T(test_collect_out_of_memory),
        T(test_heap_destroy_leak_report),
        T(test_heap_destroy_leak_report_untracked),
        T(test_cross_heap_reference_not_counted),
        T(test_cross_heap_reference_debug_report),
        T(test_pause_hook_counts_blocked_time),
        T(test_track_paths),
        T(test_track_in_finalizer_keeps_finalized),
        T(test_track_misuse),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
