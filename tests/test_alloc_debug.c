/*
 * test_alloc_debug.c — debug mode: fills, serial numbers, allocation sites,
 * quarantine, and each misuse (overrun, underrun, double free, a pointer
 * refheap never returned, a free on the wrong heap, two threads in one heap)
 * stopping a child process with a message that names the block.
 *
 * The byte patterns are CPython's debug hooks' (Objects/obmalloc.c in 3.11:
 * PYMEM_CLEANBYTE 0xCD, PYMEM_DEADBYTE 0xDD, PYMEM_FORBIDDENBYTE 0xFD).
 */
#include "rh_test.h"

#include <pthread.h>

#include "internal.h" /* white box: rh__debug_describe, rh__obj_free, rh__enter */

static rh_heap *debug_heap(size_t quarantine) {
    rh_heap_config cfg = {.mode = RH_MODE_DEBUG, .debug_quarantine = quarantine};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

static void test_fills_and_describe(void **state) {
    (void)state;
    rh_heap *h = debug_heap(0);
    int line = __LINE__ + 1;
    unsigned char *p = rh_malloc(h, 24);
    for (int i = 0; i < 24; i++) assert_int_equal(p[i], 0xCD);
    unsigned char *z = rh_calloc(h, 3, 8);
    for (int i = 0; i < 24; i++) assert_int_equal(z[i], 0);
    assert_int_equal(rh_usable_size(h, p), 24);

    rh__blockinfo bi;
    assert_true(rh__debug_describe(h, p, &bi));
    assert_int_equal(bi.serial, 1);
    assert_int_equal(bi.size, 24);
    assert_string_equal(bi.file, __FILE__);
    assert_int_equal(bi.line, line);
    assert_false(bi.freed);
    assert_null(bi.type_name);
    assert_true(rh__debug_describe(h, z, &bi));
    assert_int_equal(bi.serial, 2);

    rh_free(h, p);
    /* quarantined: still ours, recognisably dead */
    for (int i = 0; i < 24; i++) assert_int_equal(p[i], 0xDD);
    assert_true(rh__debug_describe(h, p, &bi));
    assert_true(bi.freed);
    assert_ptr_equal(rh_heap_of(p), h);

    /* not a debug block */
    int local;
    assert_false(rh__debug_describe(h, &local, &bi));
    rh_free(h, z);
    rh_heap_destroy(h);

    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *ph = rh_heap_new(&cfg);
    void *q = rh_malloc(ph, 10);
    assert_false(rh__debug_describe(ph, q, &bi)); /* other modes know nothing */
    rh_heap_destroy(ph);
}

/* Object blocks: the type name is remembered; freeing zeroes the refcount. */
static void test_object_blocks(void **state) {
    (void)state;
    rh_heap *h = debug_heap(0);
    /* a container object: [16-byte gc record | header (refcount first) | ...] */
    unsigned char *block = rh__obj_alloc(h, 64, "widget.c", 12);
    rh__debug_note_type(h, block, "Widget");
    uint32_t *refcnt = (uint32_t *)(void *)(block + 16);
    *refcnt = 5;
    rh__blockinfo bi;
    assert_true(rh__debug_describe(h, block + 16, &bi)); /* found from the object pointer too */
    assert_string_equal(bi.type_name, "Widget");
    assert_string_equal(bi.file, "widget.c");
    assert_int_equal(bi.line, 12);
    rh__obj_free(h, block, 16);
    assert_int_equal(*refcnt, 0);  /* a later incref/decref sees a dead object */
    assert_int_equal(block[0], 0xDD);
    assert_int_equal(block[20], 0xDD);
    assert_true(rh__debug_describe(h, block + 16, &bi));
    assert_true(bi.freed);
    rh_heap_destroy(h);
}

static void test_quarantine(void **state) {
    (void)state;
    rh_heap *h = debug_heap(2);
    void *a = rh_malloc(h, 8), *b = rh_malloc(h, 8), *c = rh_malloc(h, 8);
    rh_free(h, a);
    void *d = rh_malloc(h, 8);
    assert_ptr_not_equal(d, a); /* a is quarantined, not reused */
    rh_free(h, b);
    rh_free(h, c); /* the ring holds 2: a leaves it and is released */
    rh__blockinfo bi;
    assert_false(rh__debug_describe(h, a, &bi));
    assert_true(rh__debug_describe(h, b, &bi) && bi.freed);
    assert_true(rh__debug_describe(h, c, &bi) && bi.freed);
    rh_free(h, d);
    rh_heap_destroy(h);
}

/* Statistics count live blocks only: a quarantined block is reported in
 * bytes_quarantined, not in bytes_in_use or the large blocks. */
static void test_quarantine_stats(void **state) {
    (void)state;
    rh_heap *h = debug_heap(4);
    rh_heap_stats st0, st1, st2;
    rh_heap_stats_get(h, &st0);
    void *small = rh_malloc(h, 100), *big = rh_malloc(h, 5000);
    rh_heap_stats_get(h, &st1);
    assert_true(st1.bytes_in_use > st0.bytes_in_use + 5100); /* plus headers and guards */
    assert_int_equal(st1.large_blocks, st0.large_blocks + 1);
    assert_int_equal(st1.bytes_quarantined, 0);
    rh_free(h, small);
    rh_free(h, big);
    rh_heap_stats_get(h, &st2);
    assert_int_equal(st2.bytes_in_use, st0.bytes_in_use);
    assert_int_equal(st2.large_blocks, st0.large_blocks);
    assert_int_equal(st2.large_bytes, st0.large_bytes);
    /* quarantined raw bytes: what the two live blocks added */
    assert_int_equal(st2.bytes_quarantined, st1.bytes_in_use - st0.bytes_in_use);
    assert_int_equal(st2.bytes_requested, st0.bytes_requested);
    /* four more frees push both out of the 4-block ring */
    for (int i = 0; i < 4; i++) rh_free(h, rh_malloc(h, 8));
    rh_heap_stats_get(h, &st2);
    assert_int_equal(st2.bytes_in_use, st0.bytes_in_use);
    assert_int_equal(st2.large_blocks, st0.large_blocks);
    assert_true(st2.bytes_quarantined > 0 && st2.bytes_quarantined < st1.bytes_in_use - st0.bytes_in_use);
    rh_heap_destroy(h);
}

static void test_realloc_moves(void **state) {
    (void)state;
    rh_heap *h = debug_heap(0);
    char *p = rh_malloc(h, 10);
    memcpy(p, "debugmode", 10);
    char *q = rh_realloc(h, p, 12);
    assert_ptr_not_equal(p, q); /* debug mode always moves */
    assert_string_equal(q, "debugmode");
    assert_int_equal((unsigned char)q[11], 0xCD);
    rh__blockinfo bi;
    assert_true(rh__debug_describe(h, p, &bi) && bi.freed);
    assert_true(rh__debug_describe(h, q, &bi) && !bi.freed && bi.size == 12);
    char *r = rh_realloc(h, q, 100000);
    assert_string_equal(r, "debugmode");
    rh_free(h, r);
    rh_heap_destroy(h);
}

static void test_mode_from_environment(void **state) {
    (void)state;
    static const struct { const char *value; rh_mode mode; } cases[] = {
        {"debug", RH_MODE_DEBUG}, {"malloc", RH_MODE_MALLOC}, {"pools", RH_MODE_POOLS}, {"nonsense", RH_MODE_POOLS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("REFHEAP_MALLOC", cases[i].value, 1);
        rh_heap *h = rh_heap_new(NULL);
        assert_int_equal(rh_heap_mode(h), cases[i].mode);
        void *p = rh_malloc(h, 100);
        assert_non_null(p);
        rh_free(h, p);
        rh_heap_destroy(h);
        /* an explicit mode wins over the environment */
        rh_heap_config cfg = {.mode = RH_MODE_POOLS};
        h = rh_heap_new(&cfg);
        assert_int_equal(rh_heap_mode(h), RH_MODE_POOLS);
        rh_heap_destroy(h);
    }
    unsetenv("REFHEAP_MALLOC");
    rh_heap *h = rh_heap_new(NULL);
    assert_int_equal(rh_heap_mode(h), RH_MODE_POOLS);
    rh_heap_destroy(h);
    assert_string_equal(rh_mode_name(RH_MODE_DEBUG), "debug");
    assert_string_equal(rh_mode_name(RH_MODE_MALLOC), "malloc");
    assert_string_equal(rh_mode_name(RH_MODE_POOLS), "pools");
}

/* ---------------------------------------------------------------------------
 * Misuse, each in a child process
 * ------------------------------------------------------------------------- */
static void overrun(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    rh_free(h, rh_malloc(h, 5)); /* block #1 */
    char *p = rh_malloc(h, 24); /* block #2 */
    p[24] = 'x';
    rh_free(h, p);
}

static void underrun(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    char *p = rh_malloc(h, 700);
    p[-1] = 0;
    rh_free(h, p);
}

static void double_free(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    char *p = rh_malloc(h, 40);
    rh_free(h, p);
    rh_free(h, p);
}

static void foreign_pointer(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    int local;
    rh_free(h, &local);
}

static void wrong_heap(void *arg) {
    (void)arg;
    rh_heap *h1 = debug_heap(0), *h2 = debug_heap(0);
    void *p = rh_malloc(h1, 33);
    rh_free(h2, p);
}

static void dead_object(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    void *b = rh__obj_alloc(h, 48, __FILE__, __LINE__);
    rh__debug_note_type(h, b, "Widget");
    rh__obj_free(h, b, 0);
    rh__obj_free(h, b, 0);
}

static void expect(void (*fn)(void *), const char *what, const char *serial_size) {
    rh_child c;
    rh_run_child(fn, NULL, &c);
    rh_assert_child_died_saying(&c, "refheap: fatal: ");
    rh_assert_child_died_saying(&c, what);
    if (serial_size) {
        char site[512];
        rh_assert_child_died_saying(&c, serial_size);
        /* the allocation site names this file (its line: test_debug_message_names_site) */
        snprintf(site, sizeof site, "allocated at %s:", __FILE__);
        rh_assert_child_died_saying(&c, site);
    }
}

static void test_debug_overrun(void **state) {
    (void)state;
    expect(overrun, "buffer overrun", "block #2 (24 bytes, allocated at");
    expect(overrun, "byte 0 after the block is 0x78 instead of 0xFD", NULL);
}
static void test_debug_underrun(void **state) {
    (void)state;
    expect(underrun, "buffer underrun", "block #1 (700 bytes, allocated at");
    expect(underrun, "byte 1 before the block is 0x00 instead of 0xFD", NULL);
}
static void test_debug_double_free(void **state) {
    (void)state;
    expect(double_free, "double free", "block #1 (40 bytes, allocated at");
    expect(double_free, "was already freed at " __FILE__, NULL);
}
static void test_debug_foreign_pointer(void **state) {
    (void)state;
    expect(foreign_pointer, "free of a pointer refheap never returned", NULL);
}
static void test_debug_wrong_heap(void **state) {
    (void)state;
    expect(wrong_heap, "free on the wrong heap", "block #1 (33 bytes, allocated at");
}
static void test_debug_dead_object(void **state) {
    (void)state;
    expect(dead_object, "double free", "block #1 (48 bytes, allocated at");
    expect(dead_object, "holding a Widget object", NULL);
}

/* The allocation site in the message is the line of the call. */
static void test_debug_message_names_site(void **state) {
    (void)state;
    rh_child c;
    rh_run_child(overrun, NULL, &c);
    char *at = strstr(c.err, "allocated at ");
    assert_non_null(at);
    char file[512];
    int line = 0;
    assert_int_equal(sscanf(at, "allocated at %511[^:]:%d", file, &line), 2);
    assert_string_equal(file, __FILE__);
    /* the line of overrun()'s second allocation, found in this very file */
    FILE *f = fopen(__FILE__, "r");
    if (f) {
        char buf[512];
        int n = 0, want = 0, seen_overrun = 0;
        while (fgets(buf, sizeof buf, f)) {
            n++;
            if (strstr(buf, "static void overrun(void *arg)")) seen_overrun = 1;
            if (seen_overrun && strstr(buf, "rh_malloc(h, 24); /* block #2 */")) {
                want = n;
                break;
            }
        }
        fclose(f);
        assert_int_equal(line, want);
    }
}

/* Two threads in one heap: a helper thread is inside the heap (rh__enter,
 * as a subsystem's entry point would be) when the main thread allocates. */
typedef struct two_threads {
    rh_heap *h;
    pthread_barrier_t inside, never;
} two_threads;

static void *occupy(void *arg) {
    two_threads *t = arg;
    rh__enter(t->h);
    pthread_barrier_wait(&t->inside);
    for (;;) pause(); /* stays inside until the process dies */
    return NULL;
}

static void second_thread(void *arg) {
    (void)arg;
    static two_threads t;
    t.h = debug_heap(0);
    pthread_barrier_init(&t.inside, NULL, 2);
    pthread_t th;
    pthread_create(&th, NULL, occupy, &t);
    pthread_barrier_wait(&t.inside);
    void *p = rh_malloc(t.h, 8); /* the bug: another thread is inside */
    (void)p;
}

static void test_debug_second_thread(void **state) {
    (void)state;
    expect(second_thread, "used by a second thread while another thread is inside it", NULL);
    /* the same thread may nest, and a heap may move between threads */
    rh_heap *h = debug_heap(0);
    rh__enter(h);
    void *p = rh_malloc(h, 8);
    rh__leave(h);
    rh_free(h, p);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Misuse that used to go unreported (each in a child process)
 * ------------------------------------------------------------------------- */

/* An API call on a freed object: the list's block is in quarantine. */
static void api_on_freed_list(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    rh_object *l = rh_list_new(h, 0); /* freed list */
    rh_object *x = rh_int(h, 1);
    rh_decref(l);
    rh_list_append(l, x); /* the bug */
    fprintf(stderr, "not reported\n");
}

static void api_on_freed_dict(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    rh_object *d = rh_dict_new(h); /* freed dict */
    rh_decref(d);
    (void)rh_dict_size(d); /* the bug */
    fprintf(stderr, "not reported\n");
}

static void api_on_freed_instance(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    rh_class_spec spec = {.name = "Widget"};
    rh_object *cls = rh_class_new(h, &spec);
    rh_object *w = rh_instance_new(cls); /* freed instance */
    rh_object *v = rh_int(h, 2);
    rh_decref(w);
    rh_setattr(w, "size", v); /* the bug */
    fprintf(stderr, "not reported\n");
}

static void test_debug_api_on_freed_object(void **state) {
    (void)state;
    expect(api_on_freed_list, "rh_list_append: object of type 'list' was freed", NULL);
    /* the list's block: the collector's record (rh_test_gc_record of a
     * heap made as the child's is: 16 in the linked layout, none without
     * links) + the list object's 40 (CPython's sys.getsizeof([]) 56 less
     * its 16-byte GC header) */
    rh_heap *h = debug_heap(0);
    char block[128];
    snprintf(block, sizeof block, "block #1 (%zu bytes, a freed object) allocated at ", rh_test_gc_record(h) + 40);
    rh_heap_destroy(h);
    expect(api_on_freed_list, block, NULL);
    expect(api_on_freed_dict, "rh_dict_size: object of type 'dict' was freed", NULL);
    expect(api_on_freed_instance, "rh_setattr: object of type 'Widget' was freed", NULL);
}

/* An overrun of a block the program never freed is found when the heap is
 * destroyed. */
static void overrun_never_freed(void *arg) {
    (void)arg;
    rh_heap *h = debug_heap(0);
    char *p = rh_malloc(h, 24); /* never freed */
    p[24] = 'x';
    rh_heap_destroy(h);
    fprintf(stderr, "not reported\n");
}

static void test_debug_overrun_found_at_destroy(void **state) {
    (void)state;
    expect(overrun_never_freed, "buffer overrun detected at heap destruction", "block #1 (24 bytes, allocated at");
}

/* rh_heap_destroy from code the heap itself is running. */
static rh_heap *reentrant_heap;

static void destroy_from_gc_callback(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)phase, (void)info, (void)data;
    rh_heap_destroy(h);
}

static void reentrant_gc_callback(void *arg) {
    rh_heap_config cfg = {.mode = (rh_mode)(intptr_t)arg};
    rh_heap *h = rh_heap_new(&cfg);
    rh_gc_callback_add(h, destroy_from_gc_callback, NULL);
    rh_gc_collect(h, 0);
    fprintf(stderr, "not reported\n");
}

static void destroy_in_finalize(rh_object *self) {
    (void)self;
    rh_heap_destroy(reentrant_heap);
}

static const rh_type destroying_type = {
    .name = "Destroyer", .basicsize = sizeof(rh_object), .finalize = destroy_in_finalize};

/* The finalizer runs when the last reference goes. */
static void reentrant_finalizer(void *arg) {
    rh_heap_config cfg = {.mode = (rh_mode)(intptr_t)arg};
    reentrant_heap = rh_heap_new(&cfg);
    rh_object *o = rh_new(reentrant_heap, &destroying_type);
    rh_decref(o);
    fprintf(stderr, "not reported\n");
}

/* The finalizer runs during the heap's destruction (an object leaked, or
 * here a container in a cycle, dies in its last collection). */
static void destroy_in_finalize_gc(rh_object *self) {
    (void)self;
    rh_heap_destroy(reentrant_heap);
}
static int self_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    rh_object *kid = *(rh_object **)(self + 1);
    return kid ? visit(kid, arg) : 0;
}
static void self_clear(rh_object *self) { RH_CLEAR(*(rh_object **)(self + 1)); }
static const rh_type destroying_gc_type = {
    .name = "DestroyerGC", .basicsize = sizeof(rh_object) + sizeof(rh_object *), .flags = RH_TYPE_GC,
    .finalize = destroy_in_finalize_gc, .traverse = self_traverse, .clear = self_clear, .destroy = self_clear};

static void reentrant_destroy(void *arg) {
    rh_heap_config cfg = {.mode = (rh_mode)(intptr_t)arg};
    reentrant_heap = rh_heap_new(&cfg);
    rh_object *o = rh_new(reentrant_heap, &destroying_gc_type);
    *(rh_object **)(o + 1) = o; /* a self-cycle holding its own reference */
    rh_gc_track(o);
    rh_heap_destroy(reentrant_heap);
    fprintf(stderr, "not reported\n");
}

static void test_destroy_reentrant(void **state) {
    (void)state;
    rh_mode modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};
    for (int i = 0; i < 3; i++) {
        void *m = (void *)(intptr_t)modes[i];
        rh_child c;
        rh_run_child(reentrant_gc_callback, m, &c);
        rh_assert_child_died_saying(&c, "refheap: fatal: rh_heap_destroy");
        rh_assert_child_died_saying(&c, "during a collection of that heap");
        rh_run_child(reentrant_finalizer, m, &c);
        rh_assert_child_died_saying(&c, "refheap: fatal: rh_heap_destroy");
        rh_assert_child_died_saying(&c, "while an object of that heap is being destroyed");
        rh_run_child(reentrant_destroy, m, &c);
        rh_assert_child_died_saying(&c, "refheap: fatal: rh_heap_destroy");
        rh_assert_child_died_saying(&c, "while that heap is being destroyed");
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_and_describe),
        cmocka_unit_test(test_object_blocks),
        cmocka_unit_test(test_quarantine),
        cmocka_unit_test(test_quarantine_stats),
        cmocka_unit_test(test_realloc_moves),
        cmocka_unit_test(test_mode_from_environment),
        cmocka_unit_test(test_debug_overrun),
        cmocka_unit_test(test_debug_underrun),
        cmocka_unit_test(test_debug_double_free),
        cmocka_unit_test(test_debug_foreign_pointer),
        cmocka_unit_test(test_debug_wrong_heap),
        cmocka_unit_test(test_debug_dead_object),
        cmocka_unit_test(test_debug_message_names_site),
        cmocka_unit_test(test_debug_second_thread),
        cmocka_unit_test(test_debug_api_on_freed_object),
        cmocka_unit_test(test_debug_overrun_found_at_destroy),
        cmocka_unit_test(test_destroy_reentrant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
