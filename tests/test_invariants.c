/*
 * test_invariants.c — the checks in tiers (src/internal.h): each
 * subsystem's invariant checker passes on a healthy heap and stops the
 * program, naming the broken equation, once the state is corrupted by hand
 * (in a child process); rh__assert follows RH_DEBUG; at RH_DEBUG >= 3 every
 * collection ends with the whole-heap walk.
 */
#include "rh_test.h"

#include "internal.h" /* white box: pool headers, the checkers */

static rh_heap *new_heap(rh_mode mode) {
    rh_heap_config cfg = {.mode = mode};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* A heap with some of everything: blocks of several classes (some freed),
 * containers in two generations, a weak reference. */
static rh_heap *busy_heap(rh_mode mode, void **blocks, rh_object **objs) {
    rh_heap *h = new_heap(mode);
    for (int i = 0; i < 64; i++) blocks[i] = rh_malloc(h, (size_t)(8 + 16 * (i % 8)));
    for (int i = 0; i < 64; i += 3) {
        rh_free(h, blocks[i]);
        blocks[i] = NULL;
    }
    objs[0] = rh_list_new(h, 0);
    rh_gc_collect(h, 0); /* the list moves to generation 1 */
    objs[1] = rh_dict_new(h);
    assert_int_equal(rh_list_append(objs[0], objs[1]), 0);
    rh_class_spec spec = {.name = "Widget", .weakrefable = true};
    objs[3] = rh_class_new(h, &spec);
    assert_non_null(objs[3]);
    objs[4] = rh_instance_new(objs[3]);
    assert_non_null(objs[4]);
    objs[2] = rh_weakref_new(objs[4], NULL, NULL);
    assert_non_null(objs[2]);
    return h;
}

static void release(rh_heap *h, void **blocks, rh_object **objs) {
    rh_decref(objs[2]);
    rh_decref(objs[4]);
    rh_decref(objs[3]);
    rh_decref(objs[1]);
    rh_decref(objs[0]);
    for (int i = 0; i < 64; i++) rh_free(h, blocks[i]);
    rh_heap_destroy(h);
}

static void test_checkers_pass_on_healthy_heaps(void **state) {
    (void)state;
    rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};
    for (int m = 0; m < 3; m++) {
        void *blocks[64];
        rh_object *objs[5];
        rh_heap *h = busy_heap(modes[m], blocks, objs);
        rh__heap_check(h, "a test");
        rh__pools_check(h);
        rh__gc_check(h);
        rh__weak_check(h);
        release(h, blocks, objs);
    }
}

static void corrupt_pool_used(void *arg) {
    (void)arg;
    void *blocks[64];
    rh_object *objs[5];
    rh_heap *h = busy_heap(RH_MODE_POOLS, blocks, objs);
    rh__pool_of(blocks[1])->used++;
    rh__pools_check(h);
}

static void corrupt_pool_counter(void *arg) {
    (void)arg;
    void *blocks[64];
    rh_object *objs[5];
    rh_heap *h = busy_heap(RH_MODE_POOLS, blocks, objs);
    h->alloc.nfreed[rh__pool_of(blocks[1])->cls]++;
    rh__pools_check(h);
}

/* A pool with free blocks dropped from its class's list. */
static void corrupt_usable_list(void *arg) {
    (void)arg;
    void *blocks[64];
    rh_object *objs[5];
    rh_heap *h = busy_heap(RH_MODE_POOLS, blocks, objs);
    h->alloc.usable[rh__pool_of(blocks[1])->cls] = NULL;
    rh__pools_check(h);
}

/* A full pool left on its class's list: 32 blocks of 512 bytes fill one. */
static void corrupt_full_pool_listed(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    void *b = NULL;
    for (int i = 0; i < 32; i++) b = rh_malloc(h, 512);
    rh__pool *pool = rh__pool_of(b);
    pool->next = pool->prev = NULL;
    h->alloc.usable[pool->cls] = pool;
    rh__pools_check(h);
}

static void corrupt_gcword(void *arg) {
    (void)arg;
    void *blocks[64];
    rh_object *objs[5];
    rh_heap *h = busy_heap(RH_MODE_POOLS, blocks, objs);
    objs[0]->rh_gcword = 3;
    rh__gc_check(h);
}

static void corrupt_gc_flags(void *arg) {
    (void)arg;
    void *blocks[64];
    rh_object *objs[5];
    rh_heap *h = busy_heap(RH_MODE_POOLS, blocks, objs);
    if (h->gc.linkless) {
        /* no record: the collection's mark is a bit of the word, on an
         * old object (the walk's check; a young one is the young array's) */
        rh_gc_collect(h, 0);
        objs[4]->rh_gcword |= RH__GCW_COLLECTING;
    } else {
        RH__AS_GC(objs[4])->prev |= RH__GC_COLLECTING;
    }
    rh__gc_check(h);
}

static void corrupt_weaklist(void *arg) {
    (void)arg;
    void *blocks[64];
    rh_object *objs[5];
    rh_heap *h = busy_heap(RH_MODE_POOLS, blocks, objs);
    rh__weakref *wr = (rh__weakref *)objs[2];
    wr->wr_prev = wr;
    rh__weak_check(h);
}

static void expect_fatal(void (*fn)(void *), const char *what) {
    rh_child c;
    rh_run_child(fn, NULL, &c);
    rh_assert_child_died_saying(&c, "refheap: fatal: ");
    rh_assert_child_died_saying(&c, what);
}

static void test_checkers_find_corruption(void **state) {
    (void)state;
    expect_fatal(corrupt_pool_used, "pools: invariant broken: pool 0x");
    expect_fatal(corrupt_pool_used, "!= capacity");
    expect_fatal(corrupt_pool_counter, "blocks in use");
    expect_fatal(corrupt_usable_list, "usable list holds 0 pools, but 1 pools of the class have a free block");
    expect_fatal(corrupt_full_pool_listed, "usable list holds pool 0x");
    expect_fatal(corrupt_full_pool_listed, "that is full");
    /* the collector's part in the heap's layout (busy_heap's heaps are
     * made as this one: the linked layout, or none with REFHEAP_GC=
     * incremental unless REFHEAP_LINKLESS=0), each naming the object */
    rh_heap *h = new_heap(RH_MODE_POOLS);
    bool linkless = h->gc.linkless;
    rh_heap_destroy(h);
    expect_fatal(corrupt_gcword, "gc: invariant broken: tracked object <list 0x");
    expect_fatal(corrupt_gcword, linkless ? "has collector word 0x3: a marked block, no container of this layout"
                                          : "has collector word 3 outside a collection");
    expect_fatal(corrupt_gcword, "(allocated at ");
    expect_fatal(corrupt_gc_flags, "gc: invariant broken: tracked object <Widget 0x");
    expect_fatal(corrupt_gc_flags, linkless ? "carries collection marks 0x8000000 outside a collection"
                                            : "carries collection flags 0x2");
    expect_fatal(corrupt_weaklist, "weakref: invariant broken");
}

/* The checker of the layout without links (docs/linkless.md), on a heap
 * made with it whatever the environment: a broken word is reported, as
 * the linked layout's checker reports it, with the object's type and
 * where it came from (debug mode keeps the site: the list's in list.c,
 * the instance's in class.c), on an old object (found by the walk) and on
 * a young one (found in the young array). */
static rh_heap *linkless_heap_with(rh_object **list, rh_object **inst, rh_object **young) {
    static rh_object *cls;
    rh_heap *h = rh_test_heap_new(RH_MODE_DEBUG, RH_GC_POLICY_INCREMENTAL, true);
    assert_true(h->gc.linkless);
    *list = rh_list_new(h, 0);
    rh_class_spec spec = {.name = "Widget"};
    cls = rh_class_new(h, &spec);
    *inst = rh_instance_new(cls);
    rh_gc_collect(h, 0); /* the list and the instance are old */
    *young = rh_instance_new(cls);
    assert_true(*list && cls && *inst && *young);
    rh__gc_check(h); /* healthy */
    return h;
}

static void linkless_corrupt_young(void *arg) {
    (void)arg;
    rh_object *l, *w, *y;
    rh_heap *h = linkless_heap_with(&l, &w, &y);
    y->rh_gcword |= RH__GCW_COLLECTING;
    rh__gc_check(h);
}

static void linkless_corrupt_word(void *arg) {
    (void)arg;
    rh_object *l, *w, *y;
    rh_heap *h = linkless_heap_with(&l, &w, &y);
    l->rh_gcword = 3; /* the layout's bit lost */
    rh__gc_check(h);
}

static void linkless_corrupt_marks(void *arg) {
    (void)arg;
    rh_object *l, *w, *y;
    rh_heap *h = linkless_heap_with(&l, &w, &y);
    w->rh_gcword |= RH__GCW_COLLECTING;
    rh__gc_check(h);
}

/* The weak references' checker visits the tracked objects: in the layout
 * without links, by the walk of the marked blocks (there are no lists). */
static void linkless_corrupt_weaklist(void *arg) {
    (void)arg;
    rh_heap *h = rh_test_heap_new(RH_MODE_POOLS, RH_GC_POLICY_INCREMENTAL, true);
    rh_class_spec spec = {.name = "Widget", .weakrefable = true};
    rh_object *cls = rh_class_new(h, &spec), *w = rh_instance_new(cls);
    rh_object *old = rh_weakref_new(w, NULL, NULL);
    rh_gc_collect(h, 0); /* old ones, and a young one */
    rh_object *young = rh_weakref_new(w, NULL, NULL);
    assert_true(cls && w && old && young && h->gc.linkless);
    rh__weak_check(h); /* healthy */
    ((rh__weakref *)old)->wr_prev = (rh__weakref *)old;
    rh__weak_check(h);
}

static void test_linkless_weak_check(void **state) {
    (void)state;
    expect_fatal(linkless_corrupt_weaklist, "weakref: invariant broken");
}

static void test_linkless_checker_names_object(void **state) {
    (void)state;
    expect_fatal(linkless_corrupt_word, "gc: invariant broken: tracked object <list 0x");
    expect_fatal(linkless_corrupt_word, "has collector word 0x3");
    expect_fatal(linkless_corrupt_word, "(allocated at ");
    expect_fatal(linkless_corrupt_word, "list.c:");
    expect_fatal(linkless_corrupt_marks, "gc: invariant broken: tracked object <Widget 0x");
    expect_fatal(linkless_corrupt_marks, "carries collection marks");
    expect_fatal(linkless_corrupt_marks, "(allocated at ");
    expect_fatal(linkless_corrupt_marks, "class.c:");
    expect_fatal(linkless_corrupt_young, "gc: invariant broken: young[0] is 0x");
    expect_fatal(linkless_corrupt_young, "(<Widget>, word ");
    expect_fatal(linkless_corrupt_young, "(allocated at ");
    expect_fatal(linkless_corrupt_young, "class.c:");
}

/* rh__assert stops the program from level 2 on, naming the expression and
 * the line; below it the condition is not even evaluated. */
static int evaluated;
static bool false_and_count(void) {
    evaluated++;
    return false;
}
static void failing_assert(void *arg) {
    (void)arg;
    (void)false_and_count; /* referenced even where rh__assert drops its condition */
    rh__assert(false_and_count());
}

static void test_assert_follows_level(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(failing_assert, NULL, &c);
#if RH_DEBUG >= 2
    char want[512];
    snprintf(want, sizeof want, "refheap: fatal: assertion 'false_and_count()' failed at %s:", __FILE__);
    rh_assert_child_died_saying(&c, want);
#else
    assert_true(c.exited && c.status == 0);
    failing_assert(NULL);
    assert_int_equal(evaluated, 0);
#endif
}

/* At level 3 a collection ends with the whole-heap walk: an overrun of a
 * live debug block is found there, long before the block is freed. */
static void overrun_then_collect(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    char *p = rh_malloc(h, 40);
    p[40] = 1;
    rh_gc_collect(h, 0);
    fprintf(stderr, "collected\n");
    _exit(0); /* no destruction: it would report the overrun too */
}

static void test_level3_walks_after_collection(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(overrun_then_collect, NULL, &c);
#if RH_DEBUG >= 3
    rh_assert_child_died_saying(&c, "buffer overrun detected at the end of a collection");
#else
    assert_true(c.exited && c.status == 0);
    assert_non_null(strstr(c.err, "collected"));
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkers_pass_on_healthy_heaps),
        cmocka_unit_test(test_checkers_find_corruption),
        cmocka_unit_test(test_linkless_checker_names_object),
        cmocka_unit_test(test_linkless_weak_check),
        cmocka_unit_test(test_assert_follows_level),
        cmocka_unit_test(test_level3_walks_after_collection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
