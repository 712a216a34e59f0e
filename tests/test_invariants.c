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
    RH__AS_GC(objs[4])->prev |= RH__GC_COLLECTING;
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
    expect_fatal(corrupt_gcword, "gc: invariant broken: tracked object <list 0x");
    expect_fatal(corrupt_gcword, "has collector word 3 outside a collection");
    expect_fatal(corrupt_gc_flags, "<Widget 0x");
    expect_fatal(corrupt_gc_flags, "carries collection flags 0x2");
    expect_fatal(corrupt_weaklist, "weakref: invariant broken");
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
        cmocka_unit_test(test_assert_follows_level),
        cmocka_unit_test(test_level3_walks_after_collection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
