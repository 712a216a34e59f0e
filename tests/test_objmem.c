/*
 * test_objmem.c — object memory through the allocator's inline paths
 * (object.c's rh__malloc_fast and rh__obj_free_any): in every mode, objects
 * small and large, containers and not, created and dropped, leave the
 * statistics exact (every allocation matched by one free, bytes in use back
 * to where they were, generation 0's count back to its start); an object is
 * freed to the heap that owns it, whichever heap was used last; and the
 * fault injector still fails object allocation cleanly.
 *
 * Every expected figure is a count of the calls the test itself makes.
 * The collector's own storage is apart: a heap of the layout without links
 * keeps its young generation in an array (a block of the heap, allocated
 * at a tracking, grown by doubling, kept until a young collection frees
 * it), so each test, automatic collection off, makes that storage first
 * (collector_storage_first) and checks that the collector's own blocks did
 * not change while it counted (rh_test_gc_own_blocks, _bytes).
 */
#include "rh_test.h"

static const rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};

typedef struct box {
    rh_object ob;
    rh_object *item;
} box;

static int box_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    box *b = (box *)self;
    if (b->item) return visit(b->item, arg);
    return 0;
}
static void box_clear(rh_object *self) { RH_CLEAR(((box *)self)->item); }

/* A container and a plain variable-size type: with 100 items of 8 bytes the
 * blocks go past the 512-byte small-block limit, so system blocks are
 * covered too. */
static const rh_type box_type = {
    .name = "Box", .basicsize = sizeof(box), .flags = RH_TYPE_GC,
    .destroy = box_clear, .traverse = box_traverse, .clear = box_clear,
};
static const rh_type blob_type = {.name = "Blob", .basicsize = sizeof(rh_object), .itemsize = 8};

enum { N = 3000 };

static rh_object *make(rh_heap *h, int i) {
    if (i % 3 == 0) {
        box *b = RH_NEW(h, box, &box_type);
        if (b && i % 2) rh_gc_track(RH_OBJ(b));
        return RH_OBJ(b);
    }
    return rh_new_var(h, &blob_type, (size_t)(i % 7 == 0 ? 100 : i % 40));
}

/* The collector's own storage, made before a test's first snapshot: n
 * tracked containers created and dropped, so that whatever the collector
 * allocates for the containers it tracks (the young array of the layout
 * without links, with room for n) exists before the test counts, and the
 * test's figures are its own calls (automatic collection off meanwhile,
 * so that the n are tracked at once). Nothing in the linked layout. */
static void collector_storage_first(rh_heap *h, int n) {
    static rh_object *tmp[N];
    assert_true(n <= N);
    bool enabled = rh_gc_isenabled(h);
    rh_gc_disable(h); /* all n young at once: no collection empties the array */
    for (int i = 0; i < n; i++) {
        box *b = RH_NEW(h, box, &box_type);
        assert_non_null(b);
        rh_gc_track(RH_OBJ(b));
        tmp[i] = RH_OBJ(b);
    }
    for (int i = 0; i < n; i++) rh_decref(tmp[i]);
    if (enabled) rh_gc_enable(h);
}

static void test_stats_exact(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap_config cfg = {.mode = modes[m]};
        rh_heap *h = rh_heap_new(&cfg);
        rh_gc_disable(h);
        collector_storage_first(h, N); /* room for the N / 6 tracked boxes */
        size_t own_blocks = rh_test_gc_own_blocks(h), own_bytes = rh_test_gc_own_bytes(h);
        rh_heap_stats s0, s1;
        long g0[3], g1[3];
        rh_gc_get_count(h, g0);
        rh_heap_stats_get(h, &s0);
        static rh_object *objs[N];
        for (int i = 0; i < N; i++) assert_non_null(objs[i] = make(h, i));
        /* drop in an order unlike creation: odd slots, then even ones */
        for (int i = 1; i < N; i += 2) rh_decref(objs[i]);
        for (int i = 0; i < N; i += 2) rh_decref(objs[i]);
        rh_heap_stats_get(h, &s1);
        rh_gc_get_count(h, g1);
        assert_int_equal(rh_test_gc_own_blocks(h), own_blocks);
        assert_int_equal(rh_test_gc_own_bytes(h), own_bytes);
        assert_int_equal(s1.mallocs - s0.mallocs, N);
        assert_int_equal(s1.frees - s0.frees, N);
        assert_int_equal(s1.bytes_in_use, s0.bytes_in_use);
        assert_int_equal(s1.large_blocks, s0.large_blocks);
        assert_int_equal(g1[0], g0[0]);
        rh_heap_destroy(h);
    }
}

/* Objects of two heaps freed interleaved: each free lands on its own heap. */
static void test_two_heaps(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap_config cfg = {.mode = modes[m]};
        rh_heap *ha = rh_heap_new(&cfg), *hb = rh_heap_new(&cfg);
        /* no automatic collection: a young collection of the layout without
         * links frees its array and the next track allocates another, the
         * collector's blocks and frees among the test's */
        rh_gc_disable(ha);
        rh_gc_disable(hb);
        collector_storage_first(ha, N);
        collector_storage_first(hb, N);
        size_t own_a = rh_test_gc_own_bytes(ha), own_b = rh_test_gc_own_bytes(hb);
        rh_heap_stats a0, b0, a1, b1;
        rh_heap_stats_get(ha, &a0);
        rh_heap_stats_get(hb, &b0);
        static rh_object *objs[N];
        /* heap A gets indexes i with i % 4 != 3, heap B the others */
        for (int i = 0; i < N; i++) assert_non_null(objs[i] = make(i % 4 == 3 ? hb : ha, i));
        for (int i = N - 1; i >= 0; i--) rh_decref(objs[i]);
        rh_heap_stats_get(ha, &a1);
        rh_heap_stats_get(hb, &b1);
        assert_int_equal(rh_test_gc_own_bytes(ha), own_a);
        assert_int_equal(rh_test_gc_own_bytes(hb), own_b);
        assert_int_equal(a1.frees - a0.frees, N - N / 4);
        assert_int_equal(b1.frees - b0.frees, N / 4);
        assert_int_equal(a1.bytes_in_use, a0.bytes_in_use);
        assert_int_equal(b1.bytes_in_use, b0.bytes_in_use);
        rh_heap_destroy(ha);
        rh_heap_destroy(hb);
    }
}

/* The armed injector reaches object allocation (it sets the slow word):
 * the third allocating call fails with RH_ENOMEM, nothing is left behind. */
static void test_fault_injector(void **state) {
    (void)state;
    for (size_t m = 0; m < 3; m++) {
        rh_heap_config cfg = {.mode = modes[m]};
        rh_heap *h = rh_heap_new(&cfg);
        collector_storage_first(h, 1); /* its one tracked box: make(h, 3) */
        size_t own_bytes = rh_test_gc_own_bytes(h);
        rh_heap_stats s0, s1;
        rh_heap_stats_get(h, &s0);
        rh_heap_fail_after(h, 3, false);
        rh_object *a = make(h, 1), *b = make(h, 3);
        assert_non_null(a);
        assert_non_null(b);
        assert_null(make(h, 2));
        assert_int_equal(rh_err(h), RH_ENOMEM);
        rh_err_clear(h);
        rh_object *c = make(h, 4); /* disarmed: one failure only */
        assert_non_null(c);
        rh_decref(a);
        rh_decref(b);
        rh_decref(c);
        rh_heap_stats_get(h, &s1);
        assert_int_equal(rh_test_gc_own_bytes(h), own_bytes);
        assert_int_equal(s1.failed - s0.failed, 1);
        assert_int_equal(s1.frees - s0.frees, 3);
        assert_int_equal(s1.bytes_in_use, s0.bytes_in_use);
        rh_heap_destroy(h);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_exact),
        cmocka_unit_test(test_two_heaps),
        cmocka_unit_test(test_fault_injector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
