/*
 * test_object_deep.c — freeing never recurses without bound (src/objects/object.c's
 * deferred deallocation, CPython's "trashcan").
 *
 * Every test runs its freeing on a thread whose stack is 256 KiB: a chain of
 * ten million containers, a million non-containers, lists nested a million
 * deep, a wide tree, and chains whose members have finalizers (some of which
 * resurrect) — with CPython 3.11 each of these is freed without a crash:
 *   x = None
 *   for i in range(10**7): x = [x]
 *   del x          # fine (the trashcan)
 * Without deferral each level would cost at least two C frames; 256 KiB
 * holds a few thousand of them, so any of these would overflow.
 *
 * Sizes are reduced under AddressSanitizer (set by the build or
 * RH_DEEP_SCALE=small) and further under Valgrind to keep the run within
 * seconds: the recursion bound is what is tested, and every reduced size
 * still exceeds 256 KiB of stack by far if freeing recursed (each level would
 * cost at least two frames of at least 16 bytes, a return address and a saved
 * register: 100000 levels need more than 3 MiB).
 */
#include "rh_test.h"

#include "internal.h"

#include <malloc.h>
#include <sys/resource.h>

#define SMALL_STACK ((size_t)256 << 10)

/* The smallest depth used anywhere: 100000 levels * 2 frames * 16 bytes is
 * more than twelve times SMALL_STACK. */
#define MIN_DEEP 100000L

static bool small_scale(void) {
#if defined(RH_SANITIZE) || defined(__SANITIZE_ADDRESS__)
    return true;
#else
    const char *s = getenv("RH_DEEP_SCALE");
    return s && strcmp(s, "small") == 0;
#endif
}

/* A size: `full` normally, `small` under the sanitizers, `valgrind` under
 * Valgrind (each test picks sizes no smaller than MIN_DEEP levels). */
static long deep_size(long full, long small, long valgrind) {
    if (rh_test_under_valgrind()) return valgrind;
    return small_scale() ? small : full;
}

static void run_on_small_stack(void *(*fn)(void *), void *arg) {
    rh_run_on_small_stack(fn, arg, SMALL_STACK);
}

/* ---------------------------------------------------------------------------
 * A container node with one "next" reference (and optional finalizer).
 * ------------------------------------------------------------------------- */
typedef struct node {
    RH_OBJECT_HEAD;
    rh_object *next;
    rh_object *weaklist;
    long id;
} node;

static long destroyed, finalized, finalized_untracked;
static long resurrect_id = -1;   /* the node with this id resurrects once */
static rh_object *resurrected;

static int node_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    node *n = (node *)self;
    if (n->next) return visit(n->next, arg);
    return 0;
}
static void node_clear(rh_object *self) { RH_CLEAR(((node *)self)->next); }
static void node_destroy(rh_object *self) {
    RH_CLEAR(((node *)self)->next);
    destroyed++;
}
static void node_finalize(rh_object *self) {
    finalized++;
    /* The finalizer sees its object alive and tracked (it was tracked). */
    if (!rh_gc_is_tracked(self)) finalized_untracked++; /* checked on the main thread */
    if (((node *)self)->id == resurrect_id) {
        resurrect_id = -1;
        resurrected = rh_newref(self);
    }
}
static const rh_type node_type = {
    .name = "Node", .basicsize = sizeof(node), .flags = RH_TYPE_GC,
    .destroy = node_destroy, .traverse = node_traverse, .clear = node_clear,
};
static const rh_type fin_node_type = {
    .name = "FinNode", .basicsize = sizeof(node), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(node, weaklist), .destroy = node_destroy,
    .traverse = node_traverse, .clear = node_clear, .finalize = node_finalize,
};

/* A chain head -> ... -> tail of n tracked nodes; returns the head. */
static rh_object *build_chain(rh_heap *h, const rh_type *t, long n) {
    rh_object *head = NULL;
    for (long i = n - 1; i >= 0; i--) {
        node *x = (node *)rh_new(h, t);
        assert_non_null(x);
        x->next = head; /* steals */
        x->id = i;
        rh_gc_track(RH_OBJ(x));
        head = RH_OBJ(x);
    }
    return head;
}

/* Drops the last reference to o on the small stack. */
static void drop_on_small_stack(rh_object *o) {
    run_on_small_stack(rh_test_decref_job, o);
}

/* The heap's generation-0 count: containers allocated and not yet freed
 * (automatic collection is off in these tests). */
static long gen0_count(rh_heap *h) {
    long count[3];
    rh_gc_get_count(h, count);
    return count[0];
}

static void test_chain_of_containers(void **state) {
    (void)state;
    long n = deep_size(10000000, 1000000, 2 * MIN_DEEP);
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h); /* building only: keep automatic collections out of the timing */
    destroyed = 0;
    rh_object *head = build_chain(h, &node_type, n);
    assert_int_equal(gen0_count(h), n); /* so that the 0 below means something */
    drop_on_small_stack(head);
    assert_int_equal(destroyed, n);
    assert_int_equal(gen0_count(h), 0); /* every tracked allocation was matched by a free */
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Non-containers holding references (deferred through their own header).
 * ------------------------------------------------------------------------- */
typedef struct chain_link {
    RH_OBJECT_HEAD;
    rh_object *next;
} chain_link;
static void link_destroy(rh_object *self) {
    RH_CLEAR(((chain_link *)self)->next);
    destroyed++;
}
static const rh_type link_type = {.name = "Link", .basicsize = sizeof(chain_link), .destroy = link_destroy};

static void test_chain_of_non_containers(void **state) {
    (void)state;
    long n = deep_size(1000000, 1000000, MIN_DEEP);
    rh_heap *h = rh_heap_new(NULL);
    destroyed = 0;
    rh_object *head = NULL;
    for (long i = 0; i < n; i++) {
        chain_link *l = (chain_link *)rh_new(h, &link_type);
        assert_non_null(l);
        l->next = head;
        head = RH_OBJ(l);
    }
    drop_on_small_stack(head);
    assert_int_equal(destroyed, n);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Deferral allocates nothing: a chain of a million non-containers freed on
 * the small stack while every allocation fails, the heap's (the fault
 * injector, persistent) and the system allocator's (the address space is
 * capped at its current size and malloc's free memory used up first). Runs
 * in a child process: the cap and the exhausted malloc must not outlive it.
 * ------------------------------------------------------------------------- */

static void *drop_without_memory(void *arg) {
    struct rlimit old;
    getrlimit(RLIMIT_AS, &old);
    struct rlimit cap = {rh_test_vm_size(), old.rlim_max};
    if (setrlimit(RLIMIT_AS, &cap) != 0) return NULL;
    /* use up what malloc has left; the blocks hold their own list */
    void *used = NULL;
    long nused = 0;
    for (size_t sz = 4096; sz >= 16; sz /= 2) {
        void *b;
        while ((b = malloc(sz)) != NULL) {
            *(void **)b = used;
            used = b;
            nused++;
        }
    }
    /* Through a volatile pointer: clang -O3 otherwise treats a successful
     * allocation as certain and folds the comparison to false. */
    void *(*volatile probe)(void *, size_t) = realloc;
    void *p = probe(NULL, 64 * sizeof(void *));
    bool exhausted = p == NULL;
    free(p);
    rh_decref((rh_object *)arg);
    setrlimit(RLIMIT_AS, &old);
    while (used) {
        void *next = *(void **)used;
        free(used);
        used = next;
    }
    fprintf(stderr, "malloc exhausted: %s after %ld blocks\n", exhausted ? "yes" : "no", nused);
    return NULL;
}

static void oom_chain_child(void *arg) {
    long n = (long)(intptr_t)arg;
    mallopt(M_ARENA_MAX, 1); /* the small-stack thread shares the capped main arena */
    rh_heap *h = rh_heap_new(NULL);
    destroyed = 0;
    rh_object *head = NULL;
    for (long i = 0; i < n; i++) {
        chain_link *l = (chain_link *)rh_new(h, &link_type);
        if (!l) return;
        l->next = head;
        head = RH_OBJ(l);
    }
    rh_heap_fail_after(h, 1, true);
    rh_run_on_small_stack(drop_without_memory, head, SMALL_STACK);
    fprintf(stderr, "destroyed %ld of %ld\n", destroyed, n);
}

static void test_chain_of_non_containers_out_of_memory(void **state) {
    (void)state;
    /* the sanitizers' and Valgrind's allocators do not live with a capped
     * address space */
    if (small_scale() || rh_test_under_valgrind()) skip();
    long n = 1000000;
    rh_child c;
    rh_run_child(oom_chain_child, (void *)(intptr_t)n, &c);
    if (!c.exited || c.status != 0) fail_msg("child died (status %d); stderr:\n%s", c.status, c.err);
    if (!strstr(c.err, "malloc exhausted: yes")) fail_msg("malloc was not exhausted:\n%s", c.err);
    char want[64];
    snprintf(want, sizeof want, "destroyed %ld of %ld", n, n);
    if (!strstr(c.err, want)) fail_msg("expected \"%s\":\n%s", want, c.err);
}

/* ---------------------------------------------------------------------------
 * Lists nested a million deep: x = None; for i in range(10**6): x = [x]
 * ------------------------------------------------------------------------- */
static void test_nested_lists(void **state) {
    (void)state;
    long n = deep_size(1000000, 1000000, MIN_DEEP);
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h);
    rh_object *x = rh_list_new(h, 0);
    assert_non_null(x);
    for (long i = 1; i < n; i++) {
        rh_object *outer = rh_list_new(h, 0);
        assert_non_null(outer);
        assert_int_equal(rh_list_append(outer, x), 0);
        rh_decref(x);
        x = outer;
    }
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    assert_true(st.bytes_in_use > 0);
    assert_int_equal(gen0_count(h), n);
    drop_on_small_stack(x);
    assert_int_equal(gen0_count(h), 0);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * A wide tree: every node holds two children in a list (fan-out 2, depth
 * 19: 2**20 - 1 nodes), so many objects wait on the deferred list at once.
 * ------------------------------------------------------------------------- */
static rh_object *build_tree(rh_heap *h, int depth) {
    rh_object *l = rh_list_new(h, 0);
    assert_non_null(l);
    if (depth > 0) {
        for (int k = 0; k < 2; k++) {
            rh_object *c = build_tree(h, depth - 1);
            assert_int_equal(rh_list_append(l, c), 0);
            rh_decref(c);
        }
    }
    return l;
}

static void test_wide_tree(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h);
    int depth = (int)deep_size(19, 16, 14);
    rh_object *tree = build_tree(h, depth);
    assert_int_equal(gen0_count(h), (2L << depth) - 1); /* 2**(depth+1) - 1 lists */
    drop_on_small_stack(tree);
    assert_int_equal(gen0_count(h), 0);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Finalizers in a deep chain: each runs exactly once (FINALIZED survives the
 * deferral), a deferred node resurrects and keeps the rest of the chain
 * alive, tracked; dropping it later frees the rest without a second
 * finalizer run for it.
 * ------------------------------------------------------------------------- */
static void test_deep_finalizers_and_resurrection(void **state) {
    (void)state;
    /* k is far past the first deferral (RH__DEALLOC_MAX_DEPTH levels) */
    long n = deep_size(200000, 200000, MIN_DEEP), k = deep_size(123457, 123457, 61729);
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h);
    destroyed = finalized = finalized_untracked = 0;
    resurrect_id = k;
    resurrected = NULL;
    rh_object *head = build_chain(h, &fin_node_type, n);
    rh_object *wr = rh_weakref_new(head, NULL, NULL);
    assert_non_null(wr);
    drop_on_small_stack(head);
    assert_false(rh_weakref_alive(wr));
    rh_decref(wr);
    /* 0..k finalized; 0..k-1 destroyed; k resurrected with k+1.. alive */
    assert_int_equal(finalized, k + 1);
    assert_int_equal(destroyed, k);
    assert_non_null(resurrected);
    assert_int_equal(((node *)resurrected)->id, k);
    assert_int_equal(rh_refcount(resurrected), 1);
    assert_true(rh_gc_is_tracked(resurrected));
    assert_true(rh_gc_is_finalized(resurrected));
    assert_int_equal(((node *)((node *)resurrected)->next)->id, k + 1);
    rh_object *again = resurrected;
    resurrected = NULL;
    drop_on_small_stack(again);
    assert_int_equal(finalized, n);   /* k's finalizer did not run again */
    assert_int_equal(finalized_untracked, 0);
    assert_int_equal(destroyed, n);
    assert_int_equal(gen0_count(h), 0);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Weak references to deferred objects. While an object waits on the
 * deferred list its count is 0 and its weak references are still linked
 * (they are cleared when the drain reaches it, in order, as CPython's
 * trashcan leaves them): a weak reference to it reads as dead (CPython
 * 3.11's PyWeakref_GET_OBJECT gives None for a count of 0), and the weak
 * references' invariant walk accepts the state. A deferred non-container is
 * linked through its own header, so its count field does not read 0 then.
 *
 * The tree: R.left = L, R.right = X; L.left and L.right are chains of 100
 * nodes, each with a weak reference in `probes`. Dropping R frees L's two
 * chains down to the depth bound, where one node of each waits; then X dies
 * and its weak reference's callback reads every probe: each is cleared, alive
 * with a count of exactly 2 (its owner's and the one taken), or dead with
 * its referent still set — the two waiting nodes.
 * ------------------------------------------------------------------------- */
typedef struct wtree {
    RH_OBJECT_HEAD;
    rh_object *left, *right, *weaklist;
} wtree;
static void wtree_clear(rh_object *self) {
    RH_CLEAR(((wtree *)self)->left);
    RH_CLEAR(((wtree *)self)->right);
}
static int wtree_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    wtree *t = (wtree *)self;
    int r = t->left ? visit(t->left, arg) : 0;
    return r ? r : t->right ? visit(t->right, arg) : 0;
}
static const rh_type wtree_plain_type = {
    .name = "WTree", .basicsize = sizeof(wtree), .flags = RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(wtree, weaklist), .destroy = wtree_clear,
};
static const rh_type wtree_gc_type = {
    .name = "WTreeGC", .basicsize = sizeof(wtree), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(wtree, weaklist), .destroy = wtree_clear,
    .traverse = wtree_traverse, .clear = wtree_clear,
};

#define PROBE_CHAIN 100
static rh_object *probes[2 * PROBE_CHAIN];
static long probe_cleared, probe_alive, probe_waiting, probe_bad, probe_calls;

static void probe_all(rh_object *wr, void *data) {
    (void)wr;
    probe_calls++;
    for (int i = 0; i < 2 * PROBE_CHAIN; i++) {
        rh_object *o = rh_weakref_get(probes[i]);
        if (o) {
            if (rh_refcount(o) == 2) probe_alive++;
            else probe_bad++;
            rh_decref(o);
        } else if (((rh__weakref *)probes[i])->referent) {
            probe_waiting++;
            if (rh_weakref_alive(probes[i])) probe_bad++;
        } else {
            probe_cleared++;
        }
    }
    rh__weak_check((rh_heap *)data); /* a waiting referent is not a broken list */
}

static rh_object *wtree_new(rh_heap *h, const rh_type *t, rh_object *left, rh_object *right) {
    wtree *x = (wtree *)rh_new(h, t);
    assert_non_null(x);
    x->left = left; /* steals */
    x->right = right;
    if (t->flags & RH_TYPE_GC) rh_gc_track(RH_OBJ(x));
    return RH_OBJ(x);
}

static rh_object *probed_chain(rh_heap *h, const rh_type *t, rh_object **probe) {
    rh_object *head = NULL;
    for (int i = 0; i < PROBE_CHAIN; i++) {
        head = wtree_new(h, t, head, NULL);
        probe[i] = rh_weakref_new(head, NULL, NULL);
        assert_non_null(probe[i]);
    }
    return head;
}

static void weakrefs_to_waiting_objects(const rh_type *t) {
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h);
    rh_object *l = wtree_new(h, t, probed_chain(h, t, probes), probed_chain(h, t, probes + PROBE_CHAIN));
    rh_object *x = wtree_new(h, t, NULL, NULL);
    rh_object *xref = rh_weakref_new(x, probe_all, h);
    assert_non_null(xref);
    rh_object *r = wtree_new(h, t, l, x);
    probe_cleared = probe_alive = probe_waiting = probe_bad = probe_calls = 0;
    rh_decref(r);
    assert_int_equal(probe_calls, 1);
    assert_int_equal(probe_bad, 0);
    assert_int_equal(probe_waiting, 2); /* one node of each chain, at the depth bound */
    assert_int_equal(probe_cleared + probe_alive + probe_waiting, 2 * PROBE_CHAIN);
    assert_true(probe_cleared > 0 && probe_alive > 0);
    for (int i = 0; i < 2 * PROBE_CHAIN; i++) {
        assert_false(rh_weakref_alive(probes[i]));
        rh_decref(probes[i]);
    }
    rh_decref(xref);
    rh__weak_check(h);
    rh_heap_destroy(h);
}

static void test_weakrefs_to_waiting_non_containers(void **state) {
    (void)state;
    weakrefs_to_waiting_objects(&wtree_plain_type);
}

static void test_weakrefs_to_waiting_containers(void **state) {
    (void)state;
    weakrefs_to_waiting_objects(&wtree_gc_type);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_of_containers),
        cmocka_unit_test(test_chain_of_non_containers),
        cmocka_unit_test(test_chain_of_non_containers_out_of_memory),
        cmocka_unit_test(test_nested_lists),
        cmocka_unit_test(test_wide_tree),
        cmocka_unit_test(test_deep_finalizers_and_resurrection),
        cmocka_unit_test(test_weakrefs_to_waiting_non_containers),
        cmocka_unit_test(test_weakrefs_to_waiting_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
