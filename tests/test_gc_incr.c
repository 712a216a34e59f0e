/*
 * test_gc_incr.c — the incremental collection policy (src/collector/gc_incr.c).
 *
 * Policy selection: the config wins over REFHEAP_GC; CPython's policy
 * ignores the incremental calls.
 *
 * The adversarial test: a random graph of nodes (plain, with a finalizer,
 * resurrecting) mutated between every pair of slices (rh_gc_step with a few
 * units of work, so that every phase of a round is cut by mutations): links
 * made, removed and moved, roots dropped and re-taken, nodes created, weak
 * references (with callbacks) created, dropped, and dereferenced into new
 * roots (bringing back garbage the collector has not found yet), finalizers
 * that resurrect, callbacks that run a full collection, and automatic
 * collection at tiny thresholds. The test keeps its own copy of the graph
 * (the mirror: edges, the references it holds) and checks, against a
 * breadth-first search of the mirror:
 *   - no node reachable from the test's references is ever cleared or
 *     freed (checked in the clear and destroy hooks, at that moment);
 *   - no node reachable at the start of a collection is finalized in it,
 *     and no weakref callback runs for a referent that was;
 *   - a finalizer runs at most once per node;
 *   - after every explicit full collection, the nodes alive are exactly the
 *     reachable ones.
 * A third of the automatic trials run with a 1 ns slice budget, under
 * which young collections that find nothing start skipping young
 * generations (promoted unexamined; the count is printed).
 * RH_GC_INCR_SOAK=N runs N trials (the default is a few dozen), and this
 * test alone; the seed is fixed (RH_GC_INCR_SEED overrides it) so a failure
 * is reproducible.
 *
 * Bounded freeing: a large cycle found by a round is torn down over several
 * slices (the deferred count shrinks step by step), and a full collection in
 * the middle of a round or of a teardown is complete.
 *
 * Pacing: a program that makes no cyclic garbage walks few young
 * generations and runs few rounds (bounds derived from gc_incr.c's rule),
 * and the back-off ends once it starts making garbage; the young spacing
 * stays within its bound when threshold[0] is raised after the back-off.
 * A slice budget of UINT64_MAX (no time limit) lets a slice run to the end.
 *
 * Class instances: a round finds cycles through slotted and plain
 * instances, whose references its phases read in line.
 */
#include "rh_test.h"

#include <stddef.h>

/* ---------------------------------------------------------------------------
 * Nodes and the mirror.
 * ------------------------------------------------------------------------- */

#define KIDS 3
#define MAXN 160
#define MAXW 48

typedef struct tnode {
    RH_OBJECT_HEAD;
    rh_object *weaklist;
    int id;
    rh_object *kids[KIDS];
} tnode;

static struct {
    rh_heap *h;
    int n;                  /* nodes created in this trial            */
    rh_object *obj[MAXN];   /* valid while alive[i]                   */
    bool alive[MAXN];
    int edge[MAXN][KIDS];   /* -1: none                               */
    int held[MAXN];         /* references the test holds              */
    int fin[MAXN];          /* finalizer calls                        */
    bool snap[MAXN];        /* reachable at the start of the collection */
    int depth;              /* collections in progress (gc callbacks) */
    struct {
        rh_object *w;
        int target;
    } wr[MAXW];
    int nwr;
    bool collect_in_cb;
    long events;            /* checks made                            */
} M;
static rh_gc_incr_stats TOT; /* the rounds' figures over all trials */

static int T_TR, T_STEP;
/* RH_GC_INCR_TRACE=1: every mutation and death on stderr (to debug a failure). */
#define TRACE(...)                                                             \
    do {                                                                       \
        if (getenv("RH_GC_INCR_TRACE")) fprintf(stderr, __VA_ARGS__);          \
    } while (0)
static void reach(bool *seen) {
    int q[MAXN], qh = 0, qt = 0;
    for (int i = 0; i < M.n; i++) {
        seen[i] = M.alive[i] && M.held[i] > 0;
        if (seen[i]) q[qt++] = i;
    }
    while (qh < qt) {
        int i = q[qh++];
        for (int k = 0; k < KIDS; k++) {
            int j = M.edge[i][k];
            if (j >= 0 && !seen[j]) {
                seen[j] = true;
                q[qt++] = j;
            }
        }
    }
}

static bool reachable_now(int id) {
    bool seen[MAXN];
    reach(seen);
    return seen[id];
}

static void mirror_clear_edges(int id) {
    for (int k = 0; k < KIDS; k++) M.edge[id][k] = -1;
}

static void t_destroy(rh_object *self) {
    tnode *n = (tnode *)self;
    int id = n->id;
    M.events++;
    TRACE("  destroy %d depth %d\n", id, M.depth);
    if (reachable_now(id)) {
        for (int i = 0; i < M.n; i++)
            for (int k = 0; k < KIDS; k++)
                if (M.edge[i][k] == id) printf("  parent %d (alive %d held %d)\n", i, M.alive[i], M.held[i]);
        fail_msg("node %d freed while reachable (depth %d held %d fin %d)", id, M.depth, M.held[id], M.fin[id]);
    }
    if (M.depth > 0 && M.snap[id] && !M.alive[id]) fail_msg("node %d freed twice", id);
    M.alive[id] = false;
    mirror_clear_edges(id);
    for (int k = 0; k < KIDS; k++) RH_CLEAR(n->kids[k]);
}

static void t_clear(rh_object *self) {
    tnode *n = (tnode *)self;
    M.events++;
    if (reachable_now(n->id)) fail_msg("node %d cleared while reachable", n->id);
    mirror_clear_edges(n->id);
    for (int k = 0; k < KIDS; k++) RH_CLEAR(n->kids[k]);
}

static int t_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    tnode *n = (tnode *)self;
    for (int k = 0; k < KIDS; k++)
        if (n->kids[k]) {
            int r = visit(n->kids[k], arg);
            if (r) return r;
        }
    return 0;
}

static void t_finalize(rh_object *self) {
    int id = ((tnode *)self)->id;
    M.events++;
    if (++M.fin[id] > 1) fail_msg("node %d finalized twice", id);
    /* In a collection: unreachable at its start. By refcount: unreachable now. */
    if (M.depth > 0 ? M.snap[id] : reachable_now(id)) {
        for (int i = 0; i < M.n; i++)
            for (int k = 0; k < KIDS; k++)
                if (M.edge[i][k] == id) fprintf(stderr, "  parent %d.%d (alive %d held %d real %p rc %u fin %d reach %d)\n", i, k, M.alive[i], M.held[i], (void*)((tnode*)M.obj[i])->kids[k], (unsigned)M.obj[i]->rh_refcnt, M.fin[i], (int)reachable_now(i));
    }
    if (M.depth > 0 ? M.snap[id] : reachable_now(id))
        fail_msg("trial %d step %d: node %d %p finalized while reachable (depth %d, held %d, now %d)", T_TR, T_STEP, id, (void*)self, M.depth, M.held[id],
                 (int)reachable_now(id));
}

static void t_resurrect(rh_object *self) {
    t_finalize(self);
    int id = ((tnode *)self)->id;
    TRACE("  resurrect %d depth %d\n", id, M.depth);
    rh_incref(self);
    M.held[id]++; /* the test holds it now: a root */
}

#define TNODE_TYPE(tname)                                                      \
    .name = tname, .basicsize = sizeof(tnode), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE, \
    .weaklist_offset = offsetof(tnode, weaklist), .destroy = t_destroy,         \
    .traverse = t_traverse, .clear = t_clear

static const rh_type plain_type = {TNODE_TYPE("TPlain")};
static const rh_type fin_type = {TNODE_TYPE("TFin"), .finalize = t_finalize};
static const rh_type res_type = {TNODE_TYPE("TRes"), .finalize = t_resurrect};

static void gc_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h, (void)info, (void)data;
    if (phase == RH_GC_START) {
        if (M.depth++ == 0) reach(M.snap);
    } else {
        M.depth--;
    }
}

static void wr_callback(rh_object *w, void *data) {
    (void)data;
    M.events++;
    int target = -1;
    for (int i = 0; i < M.nwr; i++)
        if (M.wr[i].w == w) target = M.wr[i].target;
    assert_true(target >= 0); /* only test-held weakrefs have callbacks */
    if (M.depth > 0 ? M.snap[target] : reachable_now(target))
        fail_msg("callback for node %d, which was reachable", target);
    if (M.collect_in_cb) (void)rh_gc_collect(M.h, 2); /* 0 inside a collection */
}

/* ---------------------------------------------------------------------------
 * Mutations (only ever on nodes reachable in the mirror: the others may be
 * freed by the collector at any time).
 * ------------------------------------------------------------------------- */

static uint64_t rs;
static uint32_t rnd(void) { return rh_test_xorshift(&rs); }
static uint32_t below(uint32_t n) { return rnd() % n; }

/* A random reachable node, or -1. */
static int pick(void) {
    bool seen[MAXN];
    reach(seen);
    int c[MAXN], nc = 0;
    for (int i = 0; i < M.n; i++)
        if (seen[i]) c[nc++] = i;
    return nc ? c[below((uint32_t)nc)] : -1;
}

static void set_edge(int a, int k, int b) {
    TRACE(" set %d.%d = %d (was %d)\n", a, k, b, M.edge[a][k]);
    tnode *n = (tnode *)M.obj[a];
    rh_object *old = n->kids[k];
    n->kids[k] = b >= 0 ? rh_newref(M.obj[b]) : NULL;
    M.edge[a][k] = b;
    rh_xdecref(old); /* may free: the mirror is already up to date */
}

static void drop_ref(int i) {
    TRACE(" drop %d (held %d)\n", i, M.held[i]);
    M.held[i]--;
    rh_decref(M.obj[i]);
}

static void op_new(void) {
    if (M.n >= MAXN) return;
    int id = M.n++;
    uint32_t r = below(10);
    const rh_type *t = r < 6 ? &plain_type : r < 8 ? &fin_type : &res_type;
    tnode *n = (tnode *)rh_new(M.h, t);
    assert_non_null(n);
    n->id = id;
    M.obj[id] = RH_OBJ(n);
    TRACE(" new %d %s\n", id, t->name);
    M.alive[id] = true;
    M.held[id] = 1;
    M.fin[id] = 0;
    mirror_clear_edges(id);
    rh_gc_track(RH_OBJ(n));
    /* Often linked from a reachable node at once. */
    int a = pick();
    if (a >= 0 && a != id && below(2)) set_edge(a, (int)below(KIDS), id);
}

static void mutate(void) {
    uint32_t op = below(100);
    int a = pick(), b = pick();
    if (a < 0) {
        op_new();
        return;
    }
    /* Operands are held for the whole operation (a link removed may make
     * the other operand unreachable half-way). */
    rh_incref(M.obj[a]);
    M.held[a]++;
    rh_incref(M.obj[b]);
    M.held[b]++;
    if (op < 15) {
        op_new();
    } else if (op < 40) { /* link */
        set_edge(a, (int)below(KIDS), b);
    } else if (op < 50) { /* unlink */
        set_edge(a, (int)below(KIDS), -1);
    } else if (op < 60) { /* move a reference: a.k = b.j; b.j = none */
        int k = (int)below(KIDS), j = (int)below(KIDS);
        int t = M.edge[b][j];
        if (t >= 0) {
            rh_incref(M.obj[t]); /* keep it across the two steps */
            M.held[t]++;
            set_edge(a, k, t);
            set_edge(b, j, -1);
            drop_ref(t);
        }
    } else if (op < 75) { /* drop a root */
        int c[MAXN], nc = 0;
        for (int i = 0; i < M.n; i++)
            if (M.alive[i] && M.held[i] > (i == a) + (i == b)) c[nc++] = i; /* not our operand holds */
        if (nc) drop_ref(c[below((uint32_t)nc)]);
    } else if (op < 80) { /* re-take a root on a reachable node */
        rh_incref(M.obj[a]);
        M.held[a]++;
    } else if (op < 88) { /* a weakref with a callback */
        if (M.nwr < MAXW) {
            rh_object *w = rh_weakref_new(M.obj[a], wr_callback, NULL);
            assert_non_null(w);
            M.wr[M.nwr].w = w;
            M.wr[M.nwr].target = a;
            M.nwr++;
        }
    } else if (op < 93) { /* drop a weakref */
        if (M.nwr) {
            int i = (int)below((uint32_t)M.nwr);
            rh_object *w = M.wr[i].w;
            M.wr[i] = M.wr[--M.nwr];
            rh_decref(w);
        }
    } else { /* dereference a weakref: its referent, garbage or not, becomes a root */
        if (M.nwr) {
            int i = (int)below((uint32_t)M.nwr);
            rh_object *o = rh_weakref_get(M.wr[i].w);
            if (o) {
                int t = M.wr[i].target;
                if (!M.alive[t] || o != M.obj[t]) fail_msg("weakref to %d returned a dead object", t);
                M.held[t]++;
            }
        }
    }
    drop_ref(b);
    drop_ref(a);
}

static void check_after_full(void) {
    bool seen[MAXN];
    reach(seen);
    for (int i = 0; i < M.n; i++) {
        if (seen[i] && !M.alive[i]) fail_msg("reachable node %d is dead", i);
        if (!seen[i] && M.alive[i]) fail_msg("unreachable node %d survived a full collection", i);
    }
}

static void trial(uint64_t seed, int steps) {
    memset(&M, 0, sizeof M);
    rs = seed * 0x9E3779B97F4A7C15ull + 1;
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .gc_policy = RH_GC_POLICY_INCREMENTAL};
    if (getenv("RH_GC_INCR_CPYTHON")) cfg.gc_policy = RH_GC_POLICY_CPYTHON; /* the test's own check */
    M.h = rh_heap_new(&cfg);
    assert_non_null(M.h);
    assert_int_equal(rh_gc_callback_add(M.h, gc_cb, NULL), 0);
    bool automatic = below(2);
    if (automatic) {
        rh_gc_set_threshold(M.h, 3 + (long)below(20), 2, 2);
        /* a 1 ns slice budget: every young collection overruns its share,
         * so one that finds nothing starts the skipping of young
         * generations (promoted unexamined) whenever no round runs */
        if (below(3) == 0) rh_gc_set_slice_budget(M.h, 1);
    } else {
        rh_gc_disable(M.h);
    }
    M.collect_in_cb = below(4) == 0;
    for (int s = 0; s < steps; s++) {
        T_STEP = s;
        TRACE("step %d\n", s);
        int nm = 1 + (int)below(3);
        for (int i = 0; i < nm; i++) {
            mutate();
            { /* the mirror is exact for every reachable node */
                bool seen[MAXN];
                reach(seen);
                for (int x = 0; x < M.n; x++)
                    if (seen[x])
                        for (int k = 0; k < KIDS; k++) {
                            rh_object *want = M.edge[x][k] >= 0 ? M.obj[M.edge[x][k]] : NULL;
                            if (((tnode *)M.obj[x])->kids[k] != want)
                                fail_msg("step %d: mirror of %d.%d stale (%d)", s, x, k, M.edge[x][k]);
                        }
            }
        }
        (void)rh_gc_step(M.h, 1 + below(12));
        if (below(60) == 0) {
            assert_true(rh_gc_collect(M.h, 2) >= 0);
            check_after_full();
        } else if (below(40) == 0) {
            assert_true(rh_gc_collect(M.h, (int)below(2)) >= 0);
        }
    }
    assert_true(rh_gc_collect(M.h, 2) >= 0);
    check_after_full();
    assert_int_equal(rh_gc_verify(M.h), 0);
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(M.h, &st);
    TOT.rounds += st.rounds, TOT.rounds_abandoned += st.rounds_abandoned, TOT.slices += st.slices;
    TOT.suspects += st.suspects, TOT.collected += st.collected, TOT.deferred_freed += st.deferred_freed;
    TOT.young_skipped += st.young_skipped;
    /* Tear down: the test's references, then the heap. */
    for (int i = 0; i < M.nwr; i++) rh_decref(M.wr[i].w);
    M.nwr = 0;
    /* (Dropping a root may resurrect a node already passed: loop until none.) */
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < M.n; i++)
            while (M.held[i] > 0) {
                drop_ref(i);
                again = true;
            }
    }
    M.depth = 1 << 20; /* destruction runs its collection without gc callbacks: */
    memset(M.snap, 0, sizeof M.snap); /* everything is unreachable now */
    rh_heap_destroy(M.h);
}

static void test_adversarial(void **state) {
    (void)state;
    long trials = rh_test_env_long("RH_GC_INCR_SOAK", rh_test_scaled(60, 6));
    uint64_t seed = (uint64_t)rh_test_env_long("RH_GC_INCR_SEED", 1);
    long events = 0;
    for (long t = 0; t < trials; t++) {
        T_TR = (int)t;
        trial(seed + (uint64_t)t, (int)rh_test_scaled(600, 150));
        events += M.events;
    }
    printf("adversarial: %ld trials, %ld checked events; rounds %llu finished, %llu abandoned, "
           "%llu slices, %llu suspects, %llu collected by rounds, %llu cleared in deferred steps, "
           "%llu young generations promoted unexamined\n",
           trials, events, (unsigned long long)TOT.rounds, (unsigned long long)TOT.rounds_abandoned,
           (unsigned long long)TOT.slices, (unsigned long long)TOT.suspects,
           (unsigned long long)TOT.collected, (unsigned long long)TOT.deferred_freed,
           (unsigned long long)TOT.young_skipped);
    assert_true(events > trials); /* the hooks did run */
    if (!getenv("RH_GC_INCR_CPYTHON")) {
        assert_true(TOT.rounds > (uint64_t)trials);  /* rounds did finish between mutations */
        assert_true(TOT.collected > 0);              /* and found garbage */
    }
}

/* ---------------------------------------------------------------------------
 * Policy selection.
 * ------------------------------------------------------------------------- */

static void test_policy_selection(void **state) {
    (void)state;
    setenv("REFHEAP_GC", "incremental", 1);
    rh_heap *h = rh_heap_new(NULL);
    assert_int_equal(rh_gc_get_policy(h), RH_GC_POLICY_INCREMENTAL);
    rh_heap_destroy(h);
    rh_heap_config cfg = {.gc_policy = RH_GC_POLICY_CPYTHON};
    h = rh_heap_new(&cfg); /* the config wins */
    assert_int_equal(rh_gc_get_policy(h), RH_GC_POLICY_CPYTHON);
    assert_int_equal(rh_gc_step(h, 10), -1);
    rh_heap_destroy(h);
    setenv("REFHEAP_GC", "cpython", 1);
    h = rh_heap_new(NULL);
    assert_int_equal(rh_gc_get_policy(h), RH_GC_POLICY_CPYTHON);
    rh_heap_destroy(h);
    unsetenv("REFHEAP_GC");
    h = rh_heap_new(NULL);
    assert_int_equal(rh_gc_get_policy(h), RH_GC_POLICY_CPYTHON);
    rh_heap_destroy(h);
    cfg.gc_policy = (rh_gc_policy)7;
    assert_null(rh_heap_new(&cfg));
    assert_string_equal(rh_gc_policy_name(RH_GC_POLICY_INCREMENTAL), "incremental");
    uint64_t old;
    cfg.gc_policy = RH_GC_POLICY_INCREMENTAL;
    h = rh_heap_new(&cfg);
    old = rh_gc_set_slice_budget(h, 5000);
    assert_int_equal(old, RH_GC_SLICE_BUDGET_NS);
    assert_int_equal(rh_gc_set_slice_budget(h, 0), 5000);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * A large cycle: found by a round, torn down in bounded steps; a full
 * collection in the middle of a round finds everything.
 * ------------------------------------------------------------------------- */

/* A heap of the incremental policy in pools mode. */
static rh_heap *incr_heap(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .gc_policy = RH_GC_POLICY_INCREMENTAL};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

/* A new tracked node outside the mirror (id 0), no references. */
static rh_object *new_tracked(rh_heap *h) {
    rh_object *o = rh_new(h, &plain_type);
    assert_non_null(o);
    ((tnode *)o)->id = 0;
    rh_gc_track(o);
    return o;
}

static rh_object *ring(rh_heap *h, int n) {
    rh_object *first = new_tracked(h), *prev = first;
    for (int i = 1; i < n; i++) {
        rh_object *o = new_tracked(h);
        ((tnode *)prev)->kids[0] = o; /* owns the new reference */
        prev = o;
    }
    ((tnode *)prev)->kids[0] = rh_newref(first);
    return first;
}

/* The destroy hook of ring nodes checks the mirror: keep it empty (node 0,
 * never reachable: held 0). */
static void mirror_idle(void) {
    memset(&M, 0, sizeof M);
    M.n = 1;
}

static void test_large_cycle_freed_in_steps(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    rh_gc_disable(h);
    int n = (int)rh_test_scaled(200000, 20000);
    rh_object *r = ring(h, n);
    assert_int_equal(rh_gc_collect(h, 1), 0); /* into generation 2: old */
    rh_decref(r);
    rh_gc_incr_stats st;
    int steps = 0;
    while (rh_gc_step(h, 1000) == 1 && steps < 100000) steps++;
    rh_gc_incr_stats_get(h, &st);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.collected, (uint64_t)n);
    /* Deferred clearing: at most max(1000, DOOMED_MIN = 4096) per step. */
    assert_int_equal(st.deferred_freed, (uint64_t)n);
    assert_true(steps > n / 4096);
    assert_int_equal(st.deferred_pending, 0);
    long c[3];
    rh_gc_get_count(h, c);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rh_heap_destroy(h);
}

static void test_full_collection_mid_round(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    rh_gc_disable(h);
    rh_object *r1 = ring(h, 1000), *r2 = ring(h, 500);
    assert_int_equal(rh_gc_collect(h, 1), 0);
    rh_decref(r1);
    /* mid-round: 2100 units visit each of the 1500 old objects in the
     * first pass and 600 in the second (three passes over lists, two
     * walks without links: 3000 units at least either way) */
    for (int i = 0; i < 3; i++) assert_int_equal(rh_gc_step(h, 700), 1);
    rh_decref(r2); /* garbage made during the round */
    assert_int_equal(rh_gc_collect(h, 2), 1500); /* complete, as CPython */
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(h, &st);
    assert_int_equal(st.rounds_abandoned, 1);
    assert_int_equal(st.candidates, 0);
    assert_int_equal(rh_gc_verify(h), 0);
    /* And in the middle of a teardown: the rest is cleared first. */
    rh_object *r3 = ring(h, 20000);
    assert_int_equal(rh_gc_collect(h, 1), 0);
    rh_decref(r3);
    while (rh_gc_step(h, 0) == 1) {
        rh_gc_incr_stats_get(h, &st);
        if (st.deferred_pending) break;
    }
    rh_gc_incr_stats_get(h, &st);
    assert_true(st.deferred_pending > 0);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rh_gc_incr_stats_get(h, &st);
    assert_int_equal(st.deferred_pending, 0);
    rh_heap_stats hs;
    rh_heap_stats_get(h, &hs);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Pacing: a program that makes no cyclic garbage pays little.
 *
 * L old objects (held throughout), then N allocations in batches of B held
 * in an array and dropped together (binary-trees' pattern: every object
 * survives its young collection, then dies by reference counting). Nothing
 * is ever cyclic garbage, so every young collection and every round finds
 * nothing. The slice budget is an hour, so no slice ever stops on time and
 * no young collection is too long for the spacing to double: the schedule
 * depends on allocation counts alone. From gc_incr.c's rule:
 *
 * Rounds. A round starts when the objects promoted since the last round
 * started reach ratio * old_size (or on the bytes trigger, which cannot
 * fire here: at most (L + B) objects, under 5 MB, are alive, below its
 * 8 MiB slack). old_size >= L (the L objects are in every round), the first
 * round starts at once (old_size 0), and each round finding nothing doubles
 * the ratio from 0.25 up to 256. Round k + 1 therefore needs
 * min(0.25 * 2^k, 256) * L promotions after round k started, and at most
 * N + L objects are promoted in all: R is at most the largest number whose
 * rounds 2..R fit in N + L promotions. (Before this rule, the ratio stopped
 * at 32: about 8 + (N - 64 L) / (32 L) rounds.)
 *
 * Young collections. While no round runs, one that finds nothing doubles
 * the spacing from threshold[0] = 700 up to 22400 (the largest doubling
 * within 32768 allocations: 5 doublings), and after that each one is
 * followed by 7 young generations promoted unexamined. A round resets the
 * spacing to 700 while it runs; it is paid 48 units of work per object
 * promoted and needs at most 3 * (L + B) + 4 units (three visits per
 * candidate, one per phase change), so it spans at most
 * ceil((3 * (L + B) + 4) / (48 * 700)) + 1 young collections, after which
 * the doublings start again (5 more). So the young collections that walk
 * the young generation number at most
 *     6 + ceil((N + L) / 22401 / 8) + 1 + R * (ceil((3 (L + B) + 4) / 33600) + 1 + 5).
 * (Before this rule, the spacing stopped at 2800 and every young
 * generation was walked: about N / 2801 collections.)
 * ------------------------------------------------------------------------- */

static void test_no_cyclic_garbage_pays_little(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    (void)rh_gc_set_slice_budget(h, 3600ull * 1000000000ull);
    long th[3];
    rh_gc_get_threshold(h, th);
    assert_int_equal(th[0], 700);
    const long L = 2000, B = 50000;
    const long N = rh_test_scaled(2000000, 100000);
    rh_object **old = malloc((size_t)L * sizeof *old), **batch = malloc((size_t)B * sizeof *batch);
    assert_non_null(old);
    assert_non_null(batch);
    for (long i = 0; i < L; i++) {
        old[i] = new_tracked(h);
    }
    long made = 0;
    while (made < N) {
        long n = N - made < B ? N - made : B;
        for (long i = 0; i < n; i++) {
            batch[i] = new_tracked(h);
            if (i & 1) ((tnode *)batch[i])->kids[0] = rh_newref(batch[i - 1]); /* pairs, acyclic */
        }
        for (long i = 0; i < n; i++) rh_decref(batch[i]);
        made += n;
    }
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(h, &st);
    rh_gc_genstats gs[3];
    rh_gc_get_stats(h, gs);
    long rmax = 1; /* the largest R whose rounds 2..R fit in N + L promotions */
    for (double need = 0, ratio = 0.5;; ratio = ratio * 2 > 256 ? 256 : ratio * 2) {
        need += ratio * (double)L; /* round rmax + 1 */
        if (need > (double)(N + L)) break;
        rmax++;
    }
    long per_round = (3 * (L + B) + 4 + 33599) / 33600 + 1 + 5;
    long walked_max = 6 + ((N + L) / 22401 + 7) / 8 + 1 + rmax * per_round;
    printf("no cyclic garbage: %ld allocations; %llu rounds (at most %ld), %llu young collections "
           "(at most %ld), %llu units of round work\n",
           N + L, (unsigned long long)st.rounds, rmax, (unsigned long long)gs[0].collections, walked_max,
           (unsigned long long)st.work);
    assert_true(st.rounds >= 1);
    assert_true(st.rounds <= (uint64_t)rmax);
    assert_true(gs[0].collections <= (uint64_t)walked_max);
    assert_int_equal(st.collected, 0);
    assert_int_equal(gs[0].collected, 0);
    /* Then the program starts making cyclic garbage (two-object cycles):
     * the back-off must end. At most the 7 young generations promoted
     * unexamined after the last young collection that found nothing, and
     * the one being filled, 8 * 22401 objects in all, escape the young
     * collections; once one finds garbage they all walk again. */
    const long G = 2 * rh_test_scaled(150000, 100000);
    for (long i = 0; i < G / 2; i++) {
        rh_object *a = new_tracked(h), *b = new_tracked(h);
        ((tnode *)a)->kids[0] = rh_newref(b);
        ((tnode *)b)->kids[0] = rh_newref(a);
        rh_decref(a);
        rh_decref(b);
    }
    rh_gc_get_stats(h, gs);
    rh_gc_incr_stats_get(h, &st);
    printf("then %ld objects of cyclic garbage: %llu collected by young collections, %llu by rounds\n", G,
           (unsigned long long)gs[0].collected, (unsigned long long)st.collected);
    assert_true(gs[0].collected + st.collected >= (uint64_t)(G - 8 * 22401));
    for (long i = 0; i < L; i++) rh_decref(old[i]);
    free(old);
    free(batch);
    (void)rh_gc_collect(h, 2);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rh_heap_destroy(h);
}


/* The young spacing stays within YOUNG_SPACING_MAX = 32768 allocations
 * (gc_incr.c's rule) when threshold[0] grows after the back-off has spaced
 * young collections out: at threshold[0] = 1 the spacing may reach 32768
 * times the threshold, which at threshold[0] = 700 would be 22.9 million
 * allocations (and at larger thresholds an overflow of the product). In
 * the binary-trees pattern count[0] is the number of objects allocated
 * since the last young collection (or young generation promoted
 * unexamined) that are still alive, all of them here until the batch is
 * dropped: it must never exceed 32768. */
static void test_young_spacing_after_threshold_raised(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    (void)rh_gc_set_slice_budget(h, 3600ull * 1000000000ull);
    const long B = 40000;
    rh_object **batch = malloc((size_t)B * sizeof *batch);
    assert_non_null(batch);
    long maxcount = 0;
    for (int phase = 0; phase < 2; phase++) {
        rh_gc_set_threshold(h, phase == 0 ? 1 : 700, 10, 10);
        long N = phase == 0 ? rh_test_scaled(400000, 200000) : rh_test_scaled(2000000, 400000);
        for (long made = 0; made < N; made += B) {
            for (long i = 0; i < B; i++) {
                batch[i] = new_tracked(h);
                long c[3];
                rh_gc_get_count(h, c);
                if (phase == 1 && c[0] > maxcount) maxcount = c[0];
            }
            for (long i = 0; i < B; i++) rh_decref(batch[i]);
        }
    }
    printf("threshold 1 then 700: count[0] at most %ld\n", maxcount);
    assert_true(maxcount <= 32768);
    free(batch);
    rh_heap_destroy(h);
}

/* A slice budget as large as the type allows (UINT64_MAX ns: no time limit)
 * bounds nothing: rh_gc_step(h, 0) then runs a whole round in one slice (the
 * garbage it finds is cleared by the next), instead of the deadline
 * (now + budget) wrapping around to the past and stopping every slice at
 * its first clock reading. */
static void test_unbounded_slice_budget(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    rh_gc_disable(h);
    (void)rh_gc_set_slice_budget(h, UINT64_MAX);
    rh_object *r = ring(h, 5000);
    assert_int_equal(rh_gc_collect(h, 1), 0); /* into generation 2: old */
    rh_decref(r);
    assert_int_equal(rh_gc_step(h, 0), 1); /* the round, whole: the ring is doomed */
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(h, &st);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.collected, 5000);
    assert_int_equal(rh_gc_step(h, 0), 0); /* the teardown, whole */
    rh_gc_incr_stats_get(h, &st);
    assert_int_equal(st.deferred_freed, 5000);
    assert_int_equal(st.deferred_pending, 0);
    rh_heap_destroy(h);
}

/* A round finds cycles through class instances, whose references its
 * phases read in line (gc_walk.h), in each layout: slotted without and with
 * a weaklist (the walk stops before it), and plain (the attribute table).
 * In each, a pair of instances referencing each other through the last
 * slot (the others None) is garbage and a second such pair is alive. From
 * first principles: the round collects exactly the two garbage instances
 * (the class is held by the test), clears the weakref to one of them, and
 * leaves the live pair, its weakref and its references untouched. */
static void test_round_finds_instance_cycles(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    rh_gc_disable(h);
    static const char *const slots[] = {"s0", "s1", "s2"};
    for (int k = 0; k < 3; k++) {
        rh_class_spec spec = {.name = "Inst"};
        if (k < 2) {
            spec.slots = slots;
            spec.nslots = 3;
            spec.weakrefable = k == 1;
        }
        rh_object *cls = rh_class_new(h, &spec);
        assert_non_null(cls);
        rh_object *p[4], *wr[2];
        for (int i = 0; i < 4; i++) {
            p[i] = rh_instance_new(cls);
            assert_non_null(p[i]);
            assert_int_equal(rh_setattr(p[i], "s0", rh_None), 0);
            assert_int_equal(rh_setattr(p[i], "s1", rh_None), 0);
        }
        for (int i = 0; i < 4; i++) assert_int_equal(rh_setattr(p[i], "s2", p[i ^ 1]), 0);
        for (int i = 0; i < 2; i++) {
            wr[i] = k == 0 ? NULL : rh_weakref_new(p[2 * i], NULL, NULL);
            assert_true(k == 0 || wr[i] != NULL);
        }
        assert_int_equal(rh_gc_collect(h, 1), 0); /* into generation 2: old */
        rh_gc_incr_stats st0, st;
        rh_gc_incr_stats_get(h, &st0);
        rh_decref(p[2]);
        rh_decref(p[3]);
        int steps = 0;
        while (rh_gc_step(h, 100) == 1 && steps < 10000) steps++;
        rh_gc_incr_stats_get(h, &st);
        assert_int_equal(st.rounds - st0.rounds, 1);
        assert_int_equal(st.collected - st0.collected, 2);
        assert_int_equal(st.deferred_pending, 0);
        if (k) {
            assert_true(rh_weakref_alive(wr[0]));
            assert_false(rh_weakref_alive(wr[1]));
        }
        for (int i = 0; i < 2; i++) {
            assert_int_equal(rh_refcount(p[i]), 2);
            rh_object *got = rh_getattr(p[i], "s2");
            assert_ptr_equal(got, p[i ^ 1]);
            rh_decref(got);
        }
        assert_int_equal(rh_gc_verify(h), 0);
        rh_decref(p[0]);
        rh_decref(p[1]);
        assert_int_equal(rh_gc_collect(h, 2), 2);
        for (int i = 0; i < 2; i++) rh_xdecref(wr[i]);
        rh_decref(cls);
    }
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * How much cyclic garbage waits, under churn (issue 13's "most cyclic garbage
 * left uncollected"). L old objects in P = L / 2 two-object cycles, each held
 * by the test; every step replaces a random held cycle by a new one, so the
 * old cycle becomes garbage and the new one is promoted by the next young
 * collection. The slice budget is unbounded, so the work done is what the
 * pacing credits, never what a clock allows: the figures are deterministic.
 *
 * A round sees only the garbage among its candidates, the old generation at
 * its start; garbage made after that waits for the next round. So just
 * before round k + 1's garbage is freed, what waits is what was made from
 * round k's start on:
 *   - until round k + 1 starts: 0.25 * old_size promotions (RATIO_MIN; a
 *     round that finds garbage resets the ratio), each step promoting one
 *     cycle and making one of garbage; old_size (round k's candidates less
 *     its garbage) is at most L plus the garbage made during round k;
 *     plus up to one young spacing (22400 allocations at threshold 700:
 *     promotions are counted at young collections);
 *   - during round k + 1: its work, about 3 visits per candidate (|G| <=
 *     L + the garbage above) plus one per phase change, paid by
 *     WORK_PER_PROMOTED units per promoted object;
 *   - during its teardown: the found garbage at max(4096, the credit) objects
 *     a slice, one slice per young collection (700 allocations).
 * With 48 units per promotion: g <= 0.25 (L + 3 |G| / 48) + 3 |G| / 48 + 22400
 * + teardown, which with |G| <= 1.5 L stays under 0.37 L + 22400 + 4096.
 * The bound holds once a round has found garbage: the rounds of the build,
 * which found none, backed the ratio off (up to 256: then the first garbage
 * waits for the bytes trigger, as the essay of gc_incr.c says), and the
 * first round to find garbage resets it; the figure is sampled from the end
 * of that round's teardown on.
 * With the 16 units of the earlier pacing the second term alone was
 * 3 * 1.25 L / 16 = 0.23 L, and the waiting garbage reached 0.46 L.
 * ------------------------------------------------------------------------- */

static void test_garbage_waiting_bounded_under_churn(void **state) {
    (void)state;
    mirror_idle();
    rh_heap *h = incr_heap();
    (void)rh_gc_set_slice_budget(h, 3600ull * 1000000000ull);
    const long P = rh_test_scaled(200000, 30000), L = 2 * P, steps = 3 * L;
    rh_object **hold = malloc((size_t)P * sizeof *hold);
    assert_non_null(hold);
    rh_heap_stats hs;
    rh_heap_stats_get(h, &hs);
    size_t bytes_empty = hs.bytes_in_use;
    for (long i = 0; i < P; i++) {
        rh_object *a = new_tracked(h), *b = new_tracked(h);
        ((tnode *)a)->kids[0] = b; /* owns the new reference */
        ((tnode *)b)->kids[0] = rh_newref(a);
        hold[i] = a;
    }
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rh_heap_stats_get(h, &hs);
    double node_bytes = (double)(hs.bytes_in_use - bytes_empty) / (double)L;
    size_t bytes_live = hs.bytes_in_use;
    double gmax = 0;
    bool steady = false; /* a round found garbage, and freed it: no back-off */
    uint32_t x = 12345;
    for (long s = 0; s < steps; s++) {
        x = x * 1103515245u + 12345u;
        long i = (long)((x >> 8) % (uint32_t)P);
        rh_object *a = new_tracked(h), *b = new_tracked(h);
        ((tnode *)a)->kids[0] = b;
        ((tnode *)b)->kids[0] = rh_newref(a);
        rh_object *old = hold[i];
        hold[i] = a;
        rh_decref(old);
        if ((s & 63) == 63 && steady) {
            rh_heap_stats_get(h, &hs);
            double g = ((double)hs.bytes_in_use - (double)bytes_live) / node_bytes;
            if (g > gmax) gmax = g;
        }
        if (!steady && (s & 63) == 63) {
            rh_gc_incr_stats q;
            rh_gc_incr_stats_get(h, &q);
            steady = q.collected > 0 && q.deferred_pending == 0;
        }
    }
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(h, &st);
    double bound = 0.37 * (double)L + 22400 + 4096;
    printf("churn of %ld old objects, %ld steps: %llu rounds, %llu collected; most garbage waiting %.0f "
           "objects (%.3f L), bound %.0f\n",
           L, steps, (unsigned long long)st.rounds, (unsigned long long)st.collected, gmax, gmax / (double)L,
           bound);
    assert_true(st.rounds >= 3);
    assert_true(st.collected > 0);
    assert_true(gmax <= bound);
    for (long i = 0; i < P; i++) rh_decref(hold[i]);
    free(hold);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_selection),
        cmocka_unit_test(test_large_cycle_freed_in_steps),
        cmocka_unit_test(test_full_collection_mid_round),
        cmocka_unit_test(test_adversarial),
        cmocka_unit_test(test_no_cyclic_garbage_pays_little),
        cmocka_unit_test(test_young_spacing_after_threshold_raised),
        cmocka_unit_test(test_unbounded_slice_budget),
        cmocka_unit_test(test_round_finds_instance_cycles),
        cmocka_unit_test(test_garbage_waiting_bounded_under_churn),
    };
    /* A soak runs the adversarial test alone. */
    if (getenv("RH_GC_INCR_SOAK")) cmocka_set_test_filter("test_adversarial");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
