/*
 * test_threads.c — several heaps on several threads.
 *
 * The contract (include/refheap.h): a heap is used by one thread at a time,
 * and may be handed to another thread with proper synchronisation (here: a
 * mutex around the hand-over, or pthread_join). Everything the heaps share
 * must then work: the radix tree over arena addresses (arenas unmapped by
 * one heap and mapped again by another), the registry of system blocks
 * (realloc moving a block while another heap mallocs), the per-thread state
 * of object.c and gc.c (an object created by one thread, freed by another).
 *
 * Every test is bounded by an iteration count, never by time. Run under
 * ThreadSanitizer (cmake -DREFHEAP_TSAN=ON) it must report nothing: CI does.
 */
#include "rh_test.h"

#include <malloc.h>

static const rh_mode all_modes[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};
#define NMODES (sizeof all_modes / sizeof all_modes[0])

static rh_heap *new_heap(rh_mode mode) {
    rh_heap_config cfg = {.mode = mode};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* A container type that is not tracked at creation (rh_new never tracks). */
typedef struct box {
    RH_OBJECT_HEAD;
    rh_object *item;
} box;
static int box_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    box *b = (box *)self;
    return b->item ? visit(b->item, arg) : 0;
}
static void box_destroy(rh_object *self) { RH_CLEAR(((box *)self)->item); }
static const rh_type box_type = {.name = "Box",
                                 .basicsize = sizeof(box),
                                 .flags = RH_TYPE_GC,
                                 .traverse = box_traverse,
                                 .destroy = box_destroy,
                                 .clear = box_destroy};

/* Is o on the list of generation 0 of h? */
static bool in_gen0(rh_heap *h, rh_object *o) {
    rh_object *objs = rh_gc_get_objects(h, 0);
    assert_non_null(objs);
    bool found = false;
    for (size_t i = 0; i < rh_list_size(objs); i++)
        if (rh_list_get(objs, (ptrdiff_t)i) == o) found = true;
    rh_decref(objs);
    return found;
}

/* ---------------------------------------------------------------------------
 * Item: a container tracked into the generation of its own heap, whatever
 * thread created, freed and reused the address before.
 *
 * The main thread creates X in heap h1 (it becomes the thread's most recent
 * container), then hands h1 to a worker, which frees X and creates Y at the
 * same address in heap h2 (malloc mode: glibc gives the freed chunk back to
 * the same thread at once). h2 is handed to the main thread, which tracks Y:
 * Y must go to h2's generation 0, not to h1's.
 * ------------------------------------------------------------------------- */
struct reuse_job {
    rh_heap *h1, *h2;
    rh_object *x, *y;
};
static void *reuse_worker(void *arg) {
    struct reuse_job *j = arg;
    void *old = j->x;
    rh_decref(j->x);
    j->x = NULL;
    /* a few tries: glibc's per-thread cache returns the chunk just freed */
    for (int i = 0; i < 4 && !j->y; i++) {
        rh_object *y = rh_new(j->h2, &box_type);
        assert_non_null(y);
        if ((void *)y == old) j->y = y;
        else rh_decref(y);
    }
    return NULL;
}

static void test_track_after_address_reuse_by_another_heap(void **state) {
    (void)state;
    if (rh_test_under_valgrind()) skip(); /* Valgrind's malloc never reuses a chunk at once */
    struct reuse_job j = {new_heap(RH_MODE_MALLOC), new_heap(RH_MODE_MALLOC), NULL, NULL};
    j.x = rh_new(j.h1, &box_type);
    assert_non_null(j.x);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reuse_worker, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (!j.y) {
        /* the address was not reused (a sanitizer's allocator): nothing to check */
        rh_heap_destroy(j.h1);
        rh_heap_destroy(j.h2);
        skip();
    }
    rh_gc_track(j.y);
    bool in_h2 = in_gen0(j.h2, j.y), in_h1 = in_gen0(j.h1, j.y);
    rh_gc_untrack(j.y); /* leave both heaps sound whatever happened */
    assert_true(in_h2);
    assert_false(in_h1);
    rh_decref(j.y);
    rh_heap_destroy(j.h1);
    rh_heap_destroy(j.h2);
}

/* The same through the public containers: an untracked dict tracked by
 * rh_dict_set, a tuple by rh_tuple_set_steal... all end up in their heap. */
static void test_containers_track_into_their_heap(void **state) {
    (void)state;
    for (size_t m = 0; m < NMODES; m++) {
        rh_heap *a = new_heap(all_modes[m]), *b = new_heap(all_modes[m]);
        rh_object *d = rh_dict_new(b);
        rh_object *x = rh_new(a, &box_type); /* the thread's most recent container: a's */
        rh_object *l = rh_list_new(b, 0);
        assert_non_null(d);
        assert_non_null(l);
        assert_non_null(x);
        rh_object *k = rh_str(b, "k");
        assert_int_equal(rh_dict_set(d, k, l), 0);
        rh_decref(k);
        if (rh_gc_is_tracked(d)) {
            assert_true(in_gen0(b, d));
            assert_false(in_gen0(a, d));
        }
        rh_decref(x);
        rh_decref(d);
        rh_decref(l);
        rh_heap_destroy(a);
        rh_heap_destroy(b);
    }
}

/* ---------------------------------------------------------------------------
 * The stress: heaps of every mode, each worked on by whichever thread takes
 * it next. A heap keeps a root list across hand-overs, so objects made by
 * one thread are freed by another; raw blocks (small and large) are
 * allocated, reallocated and freed, and after every operation each block
 * must still be its heap's. Small blocks are allocated by the thousand and
 * freed again so arenas are unmapped by one heap and mapped by another.
 * ------------------------------------------------------------------------- */
#define NTHREADS 4
#define NHEAPS 6
#define NRAW 16

typedef struct shared_heap {
    pthread_mutex_t lock; /* held by the thread working on the heap */
    rh_heap *h;
    rh_object *roots;     /* a list */
    void *raw[NRAW];
    size_t rawn[NRAW];
    unsigned rounds;
} shared_heap;

static shared_heap heaps[NHEAPS];
static long stress_rounds;

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One bounded batch of work on heap s (its lock held). */
static void work_on(shared_heap *s, uint64_t *rng) {
    rh_heap *h = s->h;
    /* raw blocks: sizes on both sides of the small-block threshold, and big
     * enough (over glibc's per-thread cache) that chunks freed by one
     * thread's realloc are the next malloc of another */
    for (int k = 0; k < 24; k++) {
        unsigned i = (unsigned)(next_rand(rng) % NRAW);
        size_t n = (size_t)(next_rand(rng) % 6000) + 1;
        if (!s->raw[i]) {
            s->raw[i] = rh_malloc(h, n);
            assert_non_null(s->raw[i]);
        } else if (next_rand(rng) % 3) {
            void *q = rh_realloc(h, s->raw[i], n);
            assert_non_null(q);
            s->raw[i] = q;
        } else {
            rh_free(h, s->raw[i]);
            s->raw[i] = NULL;
            continue;
        }
        s->rawn[i] = n;
        memset(s->raw[i], (int)i, n < 64 ? n : 64);
        assert_ptr_equal(rh_heap_of(s->raw[i]), h);
    }
    for (unsigned i = 0; i < NRAW; i++)
        if (s->raw[i]) assert_ptr_equal(rh_heap_of(s->raw[i]), h);

    /* objects: containers and atoms, some dropped by this thread though an
     * earlier thread made them */
    for (int k = 0; k < 40; k++) {
        uint64_t r = next_rand(rng);
        if (r % 4 == 0 && rh_list_size(s->roots) > 0) {
            rh_object *o = rh_list_pop(s->roots, (ptrdiff_t)(r / 4 % rh_list_size(s->roots)));
            assert_non_null(o);
            rh_decref(o);
            continue;
        }
        rh_object *o;
        switch (r / 4 % 4) {
        case 0: o = rh_list_new(h, 0); break;
        case 1: o = rh_dict_new(h); break;
        case 2: o = rh_new(h, &box_type); break;
        default: o = rh_str_printf(h, "s%llu", (unsigned long long)(r % 1000)); break;
        }
        assert_non_null(o);
        if (o->rh_type == &box_type) {
            /* a cycle through the roots' last item, then tracked */
            size_t n = rh_list_size(s->roots);
            if (n) ((box *)o)->item = rh_newref(rh_list_get(s->roots, (ptrdiff_t)(n - 1)));
            rh_gc_track(o);
        } else if (rh_list_size(s->roots) > 0 && r % 3 == 0) {
            rh_object *last = rh_list_get(s->roots, -1);
            if (RH_TYPE(o) == RH_TYPE(s->roots)) assert_int_equal(rh_list_append(o, last), 0);
        }
        assert_int_equal(rh_list_append(s->roots, o), 0);
        rh_decref(o);
    }
    if (s->rounds % 7 == 3) rh_gc_collect(h, 2);

    /* many small blocks, all freed: arenas come and go */
    if (s->rounds % 5 == 1) {
        enum { NB = 20000 };
        void **v = malloc(NB * sizeof *v);
        assert_non_null(v);
        for (int i = 0; i < NB; i++) {
            v[i] = rh_malloc(h, 64 + (size_t)(i % 4) * 32);
            assert_non_null(v[i]);
        }
        for (int i = 0; i < NB; i++) rh_free(h, v[i]);
        free(v);
    }
    if (rh_list_size(s->roots) > 200) rh_list_clear(s->roots);
    s->rounds++;
}

static void *stress_thread(void *arg) {
    uint64_t rng = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
    for (long r = 0; r < stress_rounds; r++) {
        shared_heap *s = &heaps[next_rand(&rng) % NHEAPS];
        pthread_mutex_lock(&s->lock);
        work_on(s, &rng);
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static void run_stress(long rounds) {
    stress_rounds = rounds;
    for (unsigned i = 0; i < NHEAPS; i++) {
        memset(&heaps[i], 0, sizeof heaps[i]);
        pthread_mutex_init(&heaps[i].lock, NULL);
        heaps[i].h = new_heap(all_modes[i % NMODES]);
        heaps[i].roots = rh_list_new(heaps[i].h, 0);
        assert_non_null(heaps[i].roots);
    }
    pthread_t t[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, stress_thread, (void *)i), 0);
    for (unsigned i = 0; i < NTHREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (unsigned i = 0; i < NHEAPS; i++) {
        shared_heap *s = &heaps[i];
        for (unsigned k = 0; k < NRAW; k++) rh_free(s->h, s->raw[k]);
        rh_decref(s->roots);
        rh_heap_destroy(s->h);
        pthread_mutex_destroy(&s->lock);
    }
}

static void test_heaps_handed_between_threads(void **state) {
    (void)state;
    /* one glibc arena for every thread: a chunk one thread frees is what
     * another mallocs next, which is what the block registry must survive */
    mallopt(M_ARENA_MAX, 1);
    run_stress(rh_test_scaled(3000, 60));
}

/* Independent heaps: each thread its own, the tree and the registry shared. */
static void *own_heap_thread(void *arg) {
    rh_heap *h = new_heap(all_modes[(uintptr_t)arg % NMODES]);
    shared_heap s;
    memset(&s, 0, sizeof s);
    s.h = h;
    s.roots = rh_list_new(h, 0);
    assert_non_null(s.roots);
    uint64_t rng = 12345 + (uintptr_t)arg;
    long n = rh_test_scaled(400, 20);
    for (long r = 0; r < n; r++) work_on(&s, &rng);
    for (unsigned k = 0; k < NRAW; k++) rh_free(h, s.raw[k]);
    rh_decref(s.roots);
    rh_heap_destroy(h);
    return NULL;
}

static void test_independent_heaps(void **state) {
    (void)state;
    pthread_t t[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, own_heap_thread, (void *)i), 0);
    for (unsigned i = 0; i < NTHREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track_after_address_reuse_by_another_heap),
        cmocka_unit_test(test_containers_track_into_their_heap),
        cmocka_unit_test(test_independent_heaps),
        cmocka_unit_test(test_heaps_handed_between_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
