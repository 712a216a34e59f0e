/*
 * test_gc_linkless_rounds.c — the incremental policy's rounds on heaps of
 * the layout without list links (docs/linkless.md, "S4: where it stands";
 * src/collector/gc_incr.c's essay): the phases COUNT, SCAN and FINISH
 * (COUNT makes the candidates: no MARK walk) as resumable walks of the
 * marked blocks, the suspects, rescued and doomed
 * objects in arrays, young collections between slices, the deferred
 * teardown. Every heap here is made in that layout by the test itself
 * (rh_test_heap_new sets REFHEAP_LINKLESS=1 at its creation), so ctest runs
 * them without any environment.
 *
 * The contract checked (gc_incr.c's essay and docs/linkless.md): a round
 * never finalizes, clears or frees a reachable object; all cyclic garbage is
 * gone after at most two full rounds once the program stops mutating (the
 * essay's "garbage present when a round starts is freed by the end of the
 * next round"); old cyclic garbage that no mutation touches during a round
 * is freed by that round and its teardown (its COUNT walk makes every old
 * object it passes a candidate, counting what it references, and trial
 * deletion finds every garbage structure all of whose members are
 * candidates); finalizers run once, weak
 * reference callbacks once; a round survives out of memory; a tracked
 * two-reference object is one 32-byte block while a round runs.
 *
 * The model. The test keeps its own copy of the graph of its nodes (the
 * mirror: edges, the references the test holds, which nodes it untracked)
 * and decides reachability by a breadth-first search of the mirror, cached
 * until the next mutation. The node types' hooks check it at the moment they
 * run: destroy and clear only of unreachable nodes; a finalizer at most once
 * and never for a node reachable at the start of the collection running it
 * (or reachable now, outside collections); a weak reference callback at most
 * once and never for a reachable referent. Bulk nodes (256-byte blocks,
 * about four thousand to a 1 MiB arena) come in groups: chains the test
 * holds node by node (dropped at once, whole arenas become empty and
 * rh_heap_trim releases them while a walk is in progress) and rings the
 * test holds by one node (cyclic garbage once dropped).
 *
 * Self-check: RH_LK_ROUNDS_LINKED=1 makes every heap here one of the linked
 * layout, whose rounds (lists) exist; the tests must pass there too, which
 * shows that their model and their expected figures are right. The white-box
 * reads (a word's round marks, the round's phase) then read the linked
 * layout's marks (gc_incr.c's CAND, INU, REACH and COUNT).
 *
 * Expected figures are derived from first principles (stated where used)
 * or from the contract above; none is measured from the code under test.
 */
#include "rh_test.h"

#include "internal.h"
#include "memory/marks.h" /* a whole walk: its blocks and its cost */

#include <stddef.h>

/* ---------------------------------------------------------------------------
 * Heaps, marks, phases.
 * ------------------------------------------------------------------------- */

static const rh_mode MODES[] = {RH_MODE_POOLS, RH_MODE_MALLOC, RH_MODE_DEBUG};
#define NMODES ((int)(sizeof MODES / sizeof MODES[0]))

static bool linked_check(void) {
    const char *v = getenv("RH_LK_ROUNDS_LINKED");
    return v && *v && strcmp(v, "0") != 0;
}

/* A heap of the incremental policy in the layout without links (the linked
 * layout under the self-check), automatic collection off. */
static rh_heap *round_heap(rh_mode mode) {
    rh_heap *h = rh_test_heap_new(mode, RH_GC_POLICY_INCREMENTAL, !linked_check());
    assert_int_equal(h->gc.linkless, !linked_check());
    return h;
}

/* The round's marks in an object's collector word: the layout's bits
 * (gc_state.h's RH__GCW_CAND, INU, REACH; the candidate's count in LOW),
 * or, for the self-check, gc_incr.c's private marks of the linked layout. */
typedef struct round_marks {
    uint32_t cand, inu, reach, count;
} round_marks;

static round_marks marks_of(const rh_heap *h) {
    if (h->gc.linkless) return (round_marks){RH__GCW_CAND, RH__GCW_INU, RH__GCW_REACH, RH__GCW_LOW};
    return (round_marks){0x40000000u, 0x20000000u, 0x10000000u, 0x0fffffffu};
}

/* Where a tracked object stands in the round, by its marks. */
enum { RC_OUT, RC_CAND, RC_SUSPECT, RC_REACHED, RC_OTHER, RC_UNTRACKED, RC_N };
static const char *const RC_NAME[RC_N] = {"out of the round", "candidate", "suspect",
                                          "reached",          "doomed",    "untracked"};

static int round_class(const rh_heap *h, const rh_object *o) {
    round_marks k = marks_of(h);
    uint32_t w = o->rh_gcword;
    if (!(w & k.cand)) return RC_OUT;
    if ((w & k.inu) && (w & k.reach)) return RC_OTHER; /* doomed, or a final check's chunk */
    if (w & k.inu) return RC_SUSPECT;
    if (w & k.reach) return RC_REACHED;
    return RC_CAND;
}

static rh__incr_phase phase_of(const rh_heap *h) { return h->gc.incr.phase; }
static const char *const PHASE_NAME[] = {"idle", "mark", "count", "scan", "finish"};

static rh_gc_incr_stats incr_stats(const rh_heap *h) {
    rh_gc_incr_stats st;
    rh_gc_incr_stats_get(h, &st);
    return st;
}

/* ---------------------------------------------------------------------------
 * Model nodes and the mirror.
 * ------------------------------------------------------------------------- */

#define KIDS 3
#define MAXN 8192
#define MAXW 160

typedef struct tnode {
    RH_OBJECT_HEAD;
    rh_object *weaklist;
    int id;
    rh_object *kids[KIDS];
} tnode;

static struct {
    rh_heap *h;
    int n;
    rh_object *obj[MAXN]; /* valid while alive[i]                        */
    bool alive[MAXN];
    bool untracked[MAXN]; /* untracked by the test (alive, not tracked)  */
    int edge[MAXN][KIDS]; /* -1: none                                    */
    int held[MAXN];       /* references the test holds                   */
    int fin[MAXN];        /* finalizer calls                             */
    bool has_fin[MAXN];   /* its type has a finalizer                    */
    bool seen[MAXN];      /* reachable, cached while !dirty              */
    bool dirty;
    bool snap[MAXN];      /* reachable at the start of the collection    */
    bool snap_kept[MAXN]; /* kept_closure of snap at that start          */
    int depth;            /* collections in progress (gc callbacks)      */
    struct {
        rh_object *w; /* NULL once the test dropped it */
        int target, calls;
    } wr[MAXW];
    int nwr;
    bool collect_in_cb;
    long events;
} M;

static const bool *reach(void) {
    if (!M.dirty) return M.seen;
    static int q[MAXN];
    int qh = 0, qt = 0;
    for (int i = 0; i < M.n; i++) {
        M.seen[i] = M.alive[i] && M.held[i] > 0;
        if (M.seen[i]) q[qt++] = i;
    }
    while (qh < qt) {
        int i = q[qh++];
        for (int k = 0; k < KIDS; k++) {
            int j = M.edge[i][k];
            if (j >= 0 && !M.seen[j]) {
                M.seen[j] = true;
                q[qt++] = j;
            }
        }
    }
    M.dirty = false;
    return M.seen;
}

static void mirror_reset(rh_heap *h) {
    memset(&M, 0, sizeof M);
    M.h = h;
    M.dirty = true;
}

static void t_destroy(rh_object *self) {
    tnode *n = (tnode *)self;
    int id = n->id;
    M.events++;
    if (reach()[id]) fail_msg("node %d freed while reachable (held %d, depth %d)", id, M.held[id], M.depth);
    if (!M.alive[id]) fail_msg("node %d freed twice", id);
    M.alive[id] = false;
    M.untracked[id] = false;
    for (int k = 0; k < KIDS; k++) M.edge[id][k] = -1; /* an unreachable node's: no reachability changes */
    for (int k = 0; k < KIDS; k++) RH_CLEAR(n->kids[k]);
}

static void t_clear(rh_object *self) {
    tnode *n = (tnode *)self;
    M.events++;
    if (reach()[n->id]) fail_msg("node %d cleared while reachable", n->id);
    for (int k = 0; k < KIDS; k++) M.edge[n->id][k] = -1;
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
    /* In a collection: unreachable at its start. Otherwise: unreachable now. */
    if (M.depth > 0 ? M.snap[id] : reach()[id])
        fail_msg("node %d finalized while reachable (depth %d, held %d)", id, M.depth, M.held[id]);
}

static void t_resurrect(rh_object *self) {
    t_finalize(self);
    int id = ((tnode *)self)->id;
    rh_incref(self);
    M.held[id]++; /* the test holds it now: a root */
    M.dirty = true;
}

#define TNODE_TYPE(tname)                                                                                    \
    .name = tname, .basicsize = sizeof(tnode), .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,                   \
    .weaklist_offset = offsetof(tnode, weaklist), .destroy = t_destroy, .traverse = t_traverse,             \
    .clear = t_clear

static const rh_type plain_type = {TNODE_TYPE("LkPlain")};
static const rh_type fin_type = {TNODE_TYPE("LkFin"), .finalize = t_finalize};
static const rh_type res_type = {TNODE_TYPE("LkRes"), .finalize = t_resurrect};

static void kept_closure(const bool *seen, bool *kept);

static void gc_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h, (void)info, (void)data;
    if (phase == RH_GC_START) {
        if (M.depth++ == 0) {
            memcpy(M.snap, reach(), sizeof M.snap);
            kept_closure(M.snap, M.snap_kept);
        }
    } else {
        M.depth--;
    }
}

static void wr_callback(rh_object *w, void *data) {
    int i = (int)(intptr_t)data;
    M.events++;
    if (i < 0 || i >= M.nwr || M.wr[i].w != w) fail_msg("callback of weak reference %d: not the test's", i);
    if (++M.wr[i].calls > 1) fail_msg("weak reference %d: callback ran twice", i);
    int t = M.wr[i].target;
    if (M.depth > 0 ? M.snap[t] : reach()[t]) fail_msg("callback for node %d, which was reachable", t);
    if (M.collect_in_cb) (void)rh_gc_collect(M.h, 2); /* 0 inside a collection */
}

/* A new node held by the test (one reference), tracked. */
static int node_new(const rh_type *t) {
    assert_true(M.n < MAXN);
    int id = M.n++;
    tnode *n = (tnode *)rh_new(M.h, t);
    assert_non_null(n);
    n->id = id;
    M.obj[id] = RH_OBJ(n);
    M.alive[id] = true;
    M.held[id] = 1;
    M.fin[id] = 0;
    M.has_fin[id] = t->finalize != NULL;
    for (int k = 0; k < KIDS; k++) M.edge[id][k] = -1;
    M.dirty = true;
    rh_gc_track(RH_OBJ(n));
    return id;
}

static void set_edge(int a, int k, int b) {
    tnode *n = (tnode *)M.obj[a];
    rh_object *old = n->kids[k];
    n->kids[k] = b >= 0 ? rh_newref(M.obj[b]) : NULL;
    M.edge[a][k] = b;
    M.dirty = true;
    rh_xdecref(old); /* may free: the mirror is already up to date */
}

static void drop_ref(int i) {
    M.held[i]--;
    M.dirty = true;
    rh_decref(M.obj[i]);
}

static void take_ref(int i) {
    rh_incref(M.obj[i]);
    M.held[i]++;
    M.dirty = true;
}

static void untrack(int i) {
    rh_gc_untrack(M.obj[i]);
    M.untracked[i] = true;
}

static void retrack(int i) {
    rh_gc_track(M.obj[i]);
    M.untracked[i] = false;
}

static void retrack_all(void) {
    for (int i = 0; i < M.n; i++)
        if (M.alive[i] && M.untracked[i]) retrack(i);
}

static int weakref_new(int target) {
    if (M.nwr >= MAXW) return -1;
    int i = M.nwr++;
    rh_object *w = rh_weakref_new(M.obj[target], wr_callback, (void *)(intptr_t)i);
    assert_non_null(w);
    M.wr[i].w = w;
    M.wr[i].target = target;
    M.wr[i].calls = 0;
    return i;
}

static void weakref_drop(int i) {
    rh_object *w = M.wr[i].w;
    M.wr[i].w = NULL;
    rh_decref(w);
}

/* ---------------------------------------------------------------------------
 * Bulk groups.
 * ------------------------------------------------------------------------- */

#define MAXG 12

typedef struct bnode {
    RH_OBJECT_HEAD;
    rh_object *next;
    int group, idx;
    char pad[216]; /* 248 bytes: a 256-byte block, 4096 of them to a 1 MiB arena */
} bnode;
_Static_assert(sizeof(bnode) == 248, "a bulk node fills a 256-byte block");

enum group_kind {
    G_CHAIN, /* node i references node i + 1; the test holds every node    */
    G_RING,  /* node i references node i + 1, the last node 0; held by node 0 */
    G_PAIRS  /* n / 2 two-node cycles; the test holds their even nodes     */
};
static const char *const GROUP_KIND[] = {"chain", "ring", "pairs"};

static struct group {
    enum group_kind kind;
    bool held; /* not dropped yet */
    int n, dead;
    rh_object **ref; /* the test's references (NULL once dropped), by node index */
} G[MAXG];
static int NG;

static void b_destroy(rh_object *self) {
    bnode *b = (bnode *)self;
    struct group *g = &G[b->group];
    M.events++;
    if (g->held)
        fail_msg("bulk node %d of group %d (%s) freed while held", b->idx, b->group, GROUP_KIND[g->kind]);
    g->dead++;
    RH_CLEAR(b->next);
}

static int b_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    bnode *b = (bnode *)self;
    return b->next ? visit(b->next, arg) : 0;
}

static void b_clear(rh_object *self) {
    bnode *b = (bnode *)self;
    if (G[b->group].held) fail_msg("bulk node %d of a held group %d cleared", b->idx, b->group);
    RH_CLEAR(b->next);
}

static const rh_type bulk_type = {.name = "LkBulk", .basicsize = sizeof(bnode), .flags = RH_TYPE_GC,
                                  .destroy = b_destroy, .traverse = b_traverse, .clear = b_clear};

static void groups_reset(void) {
    for (int g = 0; g < NG; g++) free(G[g].ref);
    memset(G, 0, sizeof G);
    NG = 0;
}

/* A group of n bulk nodes made at once (so that, in pools mode, it fills
 * arenas of its own after the first). */
static int group_new(rh_heap *h, int n, enum group_kind kind) {
    assert_true(NG < MAXG);
    int gi = NG++;
    struct group *g = &G[gi];
    g->kind = kind;
    g->held = true;
    g->n = n;
    g->dead = 0;
    g->ref = calloc((size_t)n, sizeof *g->ref);
    assert_non_null(g->ref);
    for (int i = 0; i < n; i++) {
        bnode *b = (bnode *)rh_new(h, &bulk_type);
        assert_non_null(b);
        b->group = gi;
        b->idx = i;
        rh_gc_track(RH_OBJ(b));
        g->ref[i] = RH_OBJ(b);
    }
    for (int i = 0; i < n; i++) {
        bnode *b = (bnode *)g->ref[i];
        int to = kind == G_PAIRS ? i ^ 1 : i + 1 < n ? i + 1 : kind == G_RING ? 0 : -1;
        if (to >= 0 && to < n) b->next = rh_newref(g->ref[to]);
    }
    /* The test keeps: every node of a chain, node 0 of a ring, the even
     * nodes of pairs. */
    for (int i = 0; i < n; i++) {
        bool keep = kind == G_CHAIN || (kind == G_RING && i == 0) || (kind == G_PAIRS && i % 2 == 0);
        if (!keep) {
            rh_decref(g->ref[i]);
            g->ref[i] = NULL;
        }
    }
    return gi;
}

/* Drops the test's references: a chain dies at once, a ring or pairs become
 * cyclic garbage. */
static void group_drop(int gi) {
    struct group *g = &G[gi];
    g->held = false;
    for (int i = 0; i < g->n; i++) {
        rh_object *o = g->ref[i];
        g->ref[i] = NULL;
        rh_xdecref(o);
    }
}

/* How many of 64 evenly spread nodes of a held chain the walk of `phase`
 * has passed: MARK (the linked layout's) marks them candidates, COUNT
 * counts each one's reference to the next (in this layout it makes the
 * next one a candidate with that count), SCAN erases the marks of
 * reachable ones. */
static int group_passed(const rh_heap *h, int gi, rh__incr_phase phase) {
    struct group *g = &G[gi];
    round_marks k = marks_of(h);
    int passed = 0;
    for (int s = 0; s < 64; s++) {
        rh_object *o = g->ref[1 + (long)s * (g->n - 2) / 63];
        uint32_t w = o->rh_gcword;
        if (phase == RH__INCR_MARK) passed += (w & k.cand) != 0;
        else if (phase == RH__INCR_COUNT) passed += (w & k.count) != 0;
        else passed += (w & k.cand) == 0;
    }
    return passed;
}

/* ---------------------------------------------------------------------------
 * Checks and drivers.
 * ------------------------------------------------------------------------- */

/* kept: the nodes reachable (seen) and those an alive untracked node
 * reaches (an untracked node's references look external to the collector,
 * so what it reaches may live on). */
static void kept_closure(const bool *seen, bool *kept) {
    static int q[MAXN];
    int qh = 0, qt = 0;
    for (int i = 0; i < M.n; i++) {
        kept[i] = seen[i] || (M.alive[i] && M.untracked[i]);
        if (kept[i]) q[qt++] = i;
    }
    while (qh < qt) {
        int i = q[qh++];
        for (int k = 0; k < KIDS; k++) {
            int j = M.edge[i][k];
            if (j >= 0 && !kept[j]) {
                kept[j] = true;
                q[qt++] = j;
            }
        }
    }
}

/* The state once every unreachable object had its chance to be collected
 * (a full collection, or two rounds after the program stopped mutating):
 * reachable => alive; unreachable and not reachable from an untracked node
 * => dead (an untracked node's references look external to the collector,
 * so what it reaches may live on); dropped groups dead, held ones whole;
 * each dead node with a finalizer finalized exactly once; each weak
 * reference the test holds dead exactly when its callback ran, once.
 * Right after a full collection (also = M.snap_kept), a node the collection
 * had to keep at its start may survive it too: an untracked node that
 * reached it may have died during the collection (cleared with garbage it
 * belonged to) after the collector counted its reference as external. */
static void check_collected(const char *when, const bool *also) {
    const bool *seen = reach();
    static bool kept[MAXN];
    kept_closure(seen, kept);
    for (int i = 0; also && i < M.n; i++) kept[i] = kept[i] || also[i];
    for (int i = 0; i < M.n; i++) {
        if (seen[i] && !M.alive[i]) fail_msg("%s: reachable node %d is dead", when, i);
        if (!kept[i] && M.alive[i])
            fail_msg("%s: unreachable node %d (%s) survived", when, i, M.obj[i]->rh_type->name);
        if (!M.alive[i] && M.has_fin[i] && M.fin[i] != 1)
            fail_msg("%s: dead node %d finalized %d times", when, i, M.fin[i]);
    }
    for (int i = 0; i < M.nwr; i++) {
        if (!M.wr[i].w) continue;
        bool alive = rh_weakref_alive(M.wr[i].w);
        if (alive == (M.wr[i].calls == 1))
            fail_msg("%s: weak reference %d to node %d %s, its callback ran %d times", when, i, M.wr[i].target,
                     alive ? "alive" : "dead", M.wr[i].calls);
        if (alive && !M.alive[M.wr[i].target]) fail_msg("%s: weak reference %d alive, its referent dead", when, i);
    }
    for (int g = 0; g < NG; g++) {
        if (G[g].held && G[g].dead) fail_msg("%s: group %d held, %d of its nodes dead", when, g, G[g].dead);
        if (!G[g].held && G[g].dead != G[g].n)
            fail_msg("%s: group %d (%s of %d) dropped, %d of its nodes dead", when, g, GROUP_KIND[G[g].kind],
                     G[g].n, G[g].dead);
    }
}

/* Slices of `work` units until `target` rounds have finished and no round or
 * teardown is in progress; at most max_steps slices.
 * Fails when rh_gc_step runs no round where one must run: two idle answers
 * in a row with no round finished between them (every heap here has old
 * objects, and rh_gc_step starts a round when none runs). */
static void run_rounds(rh_heap *h, uint64_t target, size_t work, long max_steps) {
    int idle = 0;
    uint64_t last = incr_stats(h).rounds;
    for (long s = 0; s < max_steps; s++) {
        int r = rh_gc_step(h, work);
        assert_true(r == 0 || r == 1);
        rh_gc_incr_stats st = incr_stats(h);
        if (r == 0 && st.rounds >= target) return;
        if (r == 0 && st.rounds == last) {
            if (++idle >= 2)
                fail_msg("rh_gc_step ran no round on this heap: %llu rounds finished, %llu wanted, "
                         "phase %s (no round runs on the layout without links)",
                         (unsigned long long)st.rounds, (unsigned long long)target, PHASE_NAME[phase_of(h)]);
        } else {
            idle = 0;
        }
        last = st.rounds;
    }
    fail_msg("%llu rounds not finished after %ld slices (%llu finished)", (unsigned long long)target, max_steps,
             (unsigned long long)incr_stats(h).rounds);
}

/* The end of a test: the test's references dropped, the heap destroyed
 * (its last collection runs without gc callbacks, when everything is
 * unreachable). */
static void teardown(rh_heap *h) {
    retrack_all();
    for (int i = 0; i < M.nwr; i++)
        if (M.wr[i].w) weakref_drop(i);
    for (int g = 0; g < NG; g++)
        if (G[g].held) group_drop(g);
    for (bool again = true; again;) { /* a collection may resurrect nodes: again */
        again = false;
        for (int i = 0; i < M.n; i++)
            while (M.alive[i] && M.held[i] > 0) {
                drop_ref(i);
                again = true;
            }
        if (again) (void)rh_gc_collect(h, 2);
    }
    M.depth = 1 << 20;
    memset(M.snap, 0, sizeof M.snap);
    rh_heap_destroy(h);
    groups_reset();
    memset(&M, 0, sizeof M);
}

/* Shapes (each node held by the test once, until the caller drops it). */

/* A chain made children first, so that in address order (and in tracking
 * order) each node comes before the one referencing it: the scan meets the
 * children as suspects and rescues them when it reaches the top. Returns
 * the top, the one node the test keeps holding. */
static int chain_children_first(int len, const rh_type *t) {
    int below = node_new(t);
    for (int i = 1; i < len; i++) {
        int up = node_new(t);
        set_edge(up, 0, below);
        drop_ref(below);
        below = up;
    }
    return below;
}

/* The same chain made top first: each node comes after the one referencing
 * it in address order and before it in a walk that returns the newest
 * blocks first (the system blocks' part of a walk of the marked blocks). */
static int chain_parents_first(int len, const rh_type *t) {
    int top = node_new(t), cur = top;
    for (int i = 1; i < len; i++) {
        int down = node_new(t);
        set_edge(cur, 0, down);
        drop_ref(down);
        cur = down;
    }
    return top;
}

/* A ring of three nodes of the given types; returns its first node, the
 * only one the test keeps holding. */
static int ring3(const rh_type *a, const rh_type *b, const rh_type *c) {
    int x = node_new(a), y = node_new(b), z = node_new(c);
    set_edge(x, 0, y);
    set_edge(y, 0, z);
    set_edge(z, 0, x);
    drop_ref(y);
    drop_ref(z);
    return x;
}

static void check_idle(rh_heap *h) {
    assert_int_equal(phase_of(h), RH__INCR_IDLE);
    rh__gc_check(h);
}

/* ---------------------------------------------------------------------------
 * A round over each phase, a slice after every object, the program
 * freeing, untracking and relinking candidates, suspects and rescued
 * objects between slices and releasing arenas mid-walk.
 *
 * Before the round: live chains made children first and made top first
 * (in one of the two, whatever the walk's direction, children are suspects
 * until the scan reaches the top, then rescued), live rings,
 * garbage rings of three (plain; with two finalizers; with a resurrecting
 * node), weak references with callbacks to ring nodes, three chains of bulk
 * nodes (one per walking phase, three arenas' worth each in pools mode) and
 * a bulk ring (three arenas' worth) and 600 bulk two-node cycles dropped:
 * cyclic garbage old enough to be a candidate, a structure of more suspects
 * than a final check's chunk starts from (FINAL_CHUNK, 256), which must take
 * in the rest of it, and more unconnected suspects than two chunks take, so
 * that the final check spans slices. The garbage rings
 * reference live chains: the final check takes those in and must keep
 * them. Every object is made old by a collection first, then the
 * garbage is made, then rh_gc_step(h, 1) runs the round one object a slice.
 *
 * Between slices, by the phase and by the marks the targets carry: a
 * reachable node is picked in each round class in turn (out of the round,
 * candidate, suspect, reached, untracked) and freed (every reference the
 * test and the reachable nodes hold dropped), untracked or tracked again,
 * given a new referrer, made a root, cut from one referrer, or given a new
 * young node to reference; and, in each of COUNT and SCAN (and the linked
 * layout's MARK), when the walk has passed part of that phase's bulk chain (read from the marks of
 * 64 of its nodes), the chain is dropped whole and rh_heap_trim called: in
 * pools mode at least one arena, wholly the chain's, goes back to the OS
 * under the open walk (first principles: 3 x 4096 blocks of 256 bytes made
 * at once span at least two whole 1 MiB arenas of their own).
 *
 * Expected, from the contract: no hook ever sees a reachable node destroyed,
 * cleared or finalized; when the round and its teardown end, the garbage
 * made before it (the bulk ring and pairs, the plain and finalizer rings) is dead,
 * each finalizer of it ran once, the resurrecting node is alive; then, with
 * the program no longer mutating (untracked nodes tracked again, a young
 * collection), two more rounds leave exactly the reachable nodes alive and
 * a full collection finds nothing (0).
 * ------------------------------------------------------------------------- */

static struct {
    long boundaries[5];
    long hits[5][RC_N];    /* mutations per phase and class of the target */
    int chain_group[5];    /* the chain dropped mid-walk in that phase    */
    bool released[5];
    size_t trimmed[5];
    unsigned op;
    long adopted; /* suspects left live only from outside the round */
    uint64_t rng;
} P;

static uint32_t prand(uint32_t n) { return rh_test_xorshift(&P.rng) % n; }

#define HITS_CAP 24 /* mutations per phase and class of target */

static int class_of(const rh_heap *h, int i) { return M.untracked[i] ? RC_UNTRACKED : round_class(h, M.obj[i]); }

/* A random reachable node of class cls (RC_N: any), or -1. */
static int pick_in_class(const rh_heap *h, int cls) {
    const bool *seen = reach();
    static int c[MAXN];
    int nc = 0;
    for (int i = 0; i < M.n; i++)
        if (seen[i] && (cls == RC_N || class_of(h, i) == cls)) c[nc++] = i;
    return nc ? c[prand((uint32_t)nc)] : -1;
}

static int reachable_count(void) {
    const bool *seen = reach();
    int n = 0;
    for (int i = 0; i < M.n; i++) n += seen[i];
    return n;
}

/* One mutation of the program on reachable node x (the kinds in turn). */
static void mutate_node(rh_heap *h, int x) {
    unsigned op = P.op++ % 7;
    if ((op == 0 || op == 4) && reachable_count() < 200) op = 6; /* keep a graph to mutate */
    switch (op) {
    case 0: /* free it (or leave it garbage): every reachable referrer and the test let go */
        for (int i = 0; i < M.n; i++)
            for (int k = 0; k < KIDS; k++)
                if (M.alive[i] && M.edge[i][k] == x && reach()[i]) set_edge(i, k, -1);
        while (M.alive[x] && M.held[x] > 0) drop_ref(x);
        break;
    case 1:
        if (M.untracked[x]) retrack(x);
        else untrack(x);
        break;
    case 2: { /* a new referrer */
        int a = pick_in_class(h, RC_N);
        if (a >= 0) set_edge(a, (int)prand(KIDS), x);
        break;
    }
    case 3: { /* a root on x; one dropped elsewhere */
        take_ref(x);
        int c = -1;
        for (int i = 0; i < M.n; i++)
            if (M.alive[i] && M.held[i] > 0 && i != x && (c < 0 || prand(4) == 0)) c = i;
        if (c >= 0) drop_ref(c);
        break;
    }
    case 4: { /* cut one reference to x */
        for (int i = 0; i < M.n; i++)
            for (int k = 0; k < KIDS; k++)
                if (M.alive[i] && M.edge[i][k] == x && reach()[i]) {
                    set_edge(i, k, -1);
                    return;
                }
        if (M.held[x] > 0) drop_ref(x);
        break;
    }
    case 5: /* untracked nodes tracked again (young now) */
        for (int i = 0; i < M.n; i++)
            if (M.alive[i] && M.untracked[i] && prand(2)) retrack(i);
        break;
    default: /* a new young node that x references */
        if (M.n < MAXN) {
            int y = node_new(prand(3) ? &plain_type : &fin_type);
            set_edge(x, (int)prand(KIDS), y);
            drop_ref(y);
        }
        break;
    }
}

/* Between two slices of the phase test. */
static void phase_boundary(rh_heap *h, long s) {
    rh__incr_phase ph = phase_of(h);
    P.boundaries[ph]++;

    if (ph >= RH__INCR_MARK && ph <= RH__INCR_SCAN) {
        int g = P.chain_group[ph];
        if (g >= 0 && G[g].held) {
            int passed = group_passed(h, g, ph);
            if (passed > 0 && passed < 64) {
                group_drop(g);
                P.trimmed[ph] = rh_heap_trim(h);
                P.released[ph] = true;
            }
        }
    }
    /* A class gets at most HITS_CAP mutations a phase (so that the graph is
     * not worn out before the walk reaches it, wherever the model's nodes
     * lie in address order): suspects and reached objects, there for a few
     * slices at a time, at every boundary where one is reachable; the other
     * classes in turn, at a quarter of the boundaries. */
    int x = -1;
    if (P.hits[ph][RC_SUSPECT] < HITS_CAP) x = pick_in_class(h, RC_SUSPECT);
    if (x < 0 && P.hits[ph][RC_REACHED] < HITS_CAP) x = pick_in_class(h, RC_REACHED);
    if (x < 0) {
        static const int turn[] = {RC_OUT, RC_CAND, RC_UNTRACKED};
        int want = turn[s % 3];
        if (P.hits[ph][want] >= HITS_CAP || prand(4)) return;
        x = pick_in_class(h, want);
    }
    if (x < 0) return;
    int cls = class_of(h, x);
    P.hits[ph][cls]++;
    if (cls == RC_SUSPECT && M.n < MAXN && (P.adopted == 0 || prand(2))) {
        /* Adopted: referenced only from a new young node the test holds
         * (outside the round), every other reachable referrer cut. The
         * scan will not rescue it: the final check must keep it. */
        int y = node_new(&plain_type);
        set_edge(y, 0, x);
        for (int i = 0; i < M.n; i++)
            for (int k = 0; k < KIDS; k++)
                if (i != y && M.alive[i] && M.edge[i][k] == x && reach()[i]) set_edge(i, k, -1);
        while (M.held[x] > 0) drop_ref(x);
        P.adopted++;
        return;
    }
    mutate_node(h, x);
}

static void phases_in_mode(rh_mode mode) {
    rh_heap *h = round_heap(mode);
    mirror_reset(h);
    groups_reset();
    memset(&P, 0, sizeof P);
    P.rng = 0x2545F4914F6CDD1Dull * (uint64_t)rh_test_env_long("RH_LK_ROUNDS_SEED", 1) + (uint64_t)mode;
    for (int i = 0; i < 5; i++) P.chain_group[i] = -1;
    assert_int_equal(rh_gc_callback_add(h, gc_cb, NULL), 0);
    bool pools = mode == RH_MODE_POOLS;
    /* pools mode: three arenas' worth of 256-byte blocks (4096 to an arena) */
    int bulk = pools ? 3 * 4096 : 600;
    enum { NCHAINS = 40, NLIVE = 30, NGARB = 36 };
    static const rh_type *const mix[3] = {&plain_type, &fin_type, &plain_type};
    int tops[NCHAINS];
    for (int i = 0; i < NCHAINS; i++)
        tops[i] = i % 2 ? chain_children_first(6, mix[i % 3]) : chain_parents_first(6, mix[i % 3]);
    for (int i = 0; i < NLIVE; i++) {
        int r = ring3(mix[i % 3], &plain_type, mix[(i + 1) % 3]);
        if (i % 3 == 0) (void)weakref_new(r);
    }
    int garb[NGARB];
    for (int i = 0; i < NGARB; i++) {
        switch (i % 3) {
        case 0: garb[i] = ring3(&plain_type, &plain_type, &plain_type); break;
        case 1: garb[i] = ring3(&fin_type, &plain_type, &fin_type); break;
        default: garb[i] = ring3(&res_type, &plain_type, &plain_type); break;
        }
        (void)weakref_new(M.edge[garb[i]][0]);
        /* garbage referencing live objects: the final check's chunk takes
         * them in, and must keep them */
        set_edge(M.edge[garb[i]][0], 1, tops[i % NCHAINS]);
    }
    /* this layout's round has no MARK walk (COUNT makes the candidates),
     * the linked layout's has a MARK pass */
    rh__incr_phase first = h->gc.linkless ? RH__INCR_COUNT : RH__INCR_MARK;
    if (first == RH__INCR_MARK) P.chain_group[RH__INCR_MARK] = group_new(h, bulk, G_CHAIN);
    P.chain_group[RH__INCR_COUNT] = group_new(h, bulk, G_CHAIN);
    P.chain_group[RH__INCR_SCAN] = group_new(h, bulk, G_CHAIN);
    int bring = group_new(h, bulk, G_RING);
    int bpairs = group_new(h, 1200, G_PAIRS);
    /* Everything old; nothing is garbage yet (every node is held). */
    assert_int_equal(rh_gc_collect(h, 1), 0);
    for (int i = 0; i < NGARB; i++) drop_ref(garb[i]);
    group_drop(bring);
    group_drop(bpairs);
    check_idle(h);
    long objects = M.n + 4L * bulk + 1200 + M.nwr;
    long max = 8 * objects + 100000;
    long s = 0;
    for (;; s++) {
        if (s >= max) fail_msg("round not over after %ld slices", s);
        int r = rh_gc_step(h, 1);
        if (s == 0 && r != 1)
            fail_msg("rh_gc_step(h, 1) ran no round over %ld old objects (no round runs on the layout without "
                     "links): answered %d, phase %s",
                     objects, r, PHASE_NAME[phase_of(h)]);
        if (r == 0) break; /* the round and its teardown are over */
        phase_boundary(h, s);
    }
    rh_gc_incr_stats st = incr_stats(h);
    printf("%s: one round in %ld slices (mark %ld, count %ld, scan %ld, finish %ld, teardown %ld boundaries); "
           "%llu suspects, %llu collected; trimmed %zu / %zu / %zu bytes in mark / count / scan\n",
           rh_mode_name(mode), s, P.boundaries[1], P.boundaries[2], P.boundaries[3], P.boundaries[4], P.boundaries[0],
           (unsigned long long)st.suspects, (unsigned long long)st.collected, P.trimmed[1], P.trimmed[2],
           P.trimmed[3]);
    for (int ph = 1; ph < 5; ph++) {
        printf("  %-6s", PHASE_NAME[ph]);
        for (int c = 0; c < RC_N; c++) printf(" %s %ld,", RC_NAME[c], P.hits[ph][c]);
        printf("\n");
    }
    printf("  %ld suspects adopted from outside the round\n", P.adopted);
    assert_int_equal(st.rounds, 1);
    /* The garbage made before the round: found by it, torn down. */
    if (G[bring].dead != bulk) fail_msg("bulk ring: %d of %d nodes freed by the round", G[bring].dead, bulk);
    if (G[bpairs].dead != 1200) fail_msg("bulk pairs: %d of 1200 nodes freed by the round", G[bpairs].dead);
    for (int i = 0; i < NGARB; i++) {
        int a = garb[i];
        if (i % 3 == 2) {
            assert_int_equal(M.fin[a], 1); /* finalized once, resurrected */
        } else if (M.alive[a]) {
            fail_msg("garbage ring %d (node %d) not freed by the round", i, a);
        }
        if (i % 3 == 1) assert_int_equal(M.fin[a], 1);
    }
    /* Each phase was cut with the program mutating its objects. */
    assert_true(P.hits[first][RC_CAND] > 0);
    assert_true(P.hits[first][RC_OUT] > 0);
    if (first == RH__INCR_COUNT) assert_int_equal(P.boundaries[RH__INCR_MARK], 0);
    assert_true(P.hits[RH__INCR_COUNT][RC_CAND] > 0);
    assert_true(P.hits[RH__INCR_SCAN][RC_CAND] > 0);
    assert_true(P.hits[RH__INCR_SCAN][RC_SUSPECT] > 0);
    assert_true(P.hits[RH__INCR_SCAN][RC_REACHED] + P.hits[RH__INCR_SCAN][RC_OUT] > 0);
    assert_true(P.adopted > 0);
    assert_true(P.boundaries[RH__INCR_FINISH] > 0);
    long untracked_hits = 0;
    for (int ph = 0; ph < 5; ph++) untracked_hits += P.hits[ph][RC_UNTRACKED];
    assert_true(untracked_hits > 0);
    for (int ph = first; ph <= RH__INCR_SCAN; ph++) {
        if (!P.released[ph]) fail_msg("the %s walk never had its bulk chain half passed", PHASE_NAME[ph]);
        if (pools && P.trimmed[ph] < RH_ARENA_SIZE)
            fail_msg("%s: trimming after the chain's death released %zu bytes", PHASE_NAME[ph], P.trimmed[ph]);
    }
    /* The program stops mutating: two more rounds collect everything. */
    retrack_all();
    (void)rh_gc_collect(h, 0);
    run_rounds(h, st.rounds + 2, 1, max);
    check_collected("two rounds after the last mutation", NULL);
    check_idle(h);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    teardown(h);
}

static void test_round_phases_slice_per_object(void **state) {
    (void)state;
    for (int m = 0; m < NMODES; m++) phases_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * A young collection between every two slices (the bit table's purpose: a
 * young collection's marks and the round's are distinct bits).
 *
 * Old: live chains made children first, live rings, NGARB garbage rings of
 * three plain nodes (made garbage after everything was made old). The round
 * runs one object a slice; between every two slices the program makes a
 * young two-node cycle (garbage at once) and a young node referenced from a
 * live old node (replacing the previous one, which dies: old by then), then
 * runs a young collection. From first principles: the young collection
 * frees exactly the two nodes of the cycle (the only young garbage; the
 * other young node is referenced from outside the young set) and leaves
 * every old object's collector word as it was, bit for bit (its set is the
 * young array, the round's candidates are old); the round frees exactly
 * the 3 * NGARB nodes of the old rings (the only old cyclic garbage: the
 * young cycles never reach it) and tears them down.
 * ------------------------------------------------------------------------- */

static void young_in_mode(rh_mode mode) {
    rh_heap *h = round_heap(mode);
    mirror_reset(h);
    groups_reset();
    assert_int_equal(rh_gc_callback_add(h, gc_cb, NULL), 0);
    enum { NCHAINS = 30, NLIVE = 20, NGARB = 25 };
    int tops[NCHAINS], garb[NGARB];
    for (int i = 0; i < NCHAINS; i++) tops[i] = chain_children_first(4, i % 2 ? &fin_type : &plain_type);
    for (int i = 0; i < NLIVE; i++) (void)ring3(&plain_type, &fin_type, &plain_type);
    for (int i = 0; i < NGARB; i++) {
        garb[i] = ring3(&plain_type, &plain_type, &plain_type);
        set_edge(garb[i], 1, tops[i % NCHAINS]); /* garbage referencing a live object */
    }
    int nold = M.n;
    assert_int_equal(rh_gc_collect(h, 1), 0);
    for (int i = 0; i < NGARB; i++) drop_ref(garb[i]);
    rh_gc_incr_stats st0 = incr_stats(h);
    int r = rh_gc_step(h, 1);
    if (r != 1)
        fail_msg("rh_gc_step(h, 1) ran no round over %d old objects (no round runs on the layout without links)",
                 nold);
    static uint32_t before[MAXN];
    long young_freed = 0, slices = 1, cand_seen = 0;
    round_marks k = marks_of(h);
    while (r == 1) {
        if (slices > 40 * nold + 10000) fail_msg("round not over after %ld slices", slices);
        int old_n = M.n;
        /* a young node referenced by a live old one (the previous one dies) */
        int y = node_new(&plain_type);
        set_edge(tops[slices % NCHAINS], 2, y);
        drop_ref(y);
        /* a young cycle, garbage at once */
        int a = node_new(&plain_type), b = node_new(&fin_type);
        set_edge(a, 0, b);
        set_edge(b, 0, a);
        drop_ref(a);
        drop_ref(b);
        for (int i = 0; i < old_n; i++) {
            if (!M.alive[i]) continue;
            before[i] = M.obj[i]->rh_gcword;
            cand_seen += (before[i] & k.cand) != 0;
        }
        intptr_t got = rh_gc_collect(h, 0);
        if (got != 2) fail_msg("slice %ld: the young collection freed %ld objects, 2 expected", slices, (long)got);
        young_freed += got;
        if (M.alive[a] || M.alive[b] || !M.alive[y]) fail_msg("slice %ld: young collection got it wrong", slices);
        for (int i = 0; i < old_n; i++)
            if (M.alive[i] && M.obj[i]->rh_gcword != before[i])
                fail_msg("slice %ld (%s): the young collection changed old node %d's word %08x -> %08x", slices,
                         PHASE_NAME[phase_of(h)], i, (unsigned)before[i], (unsigned)M.obj[i]->rh_gcword);
        r = rh_gc_step(h, 1);
        slices++;
        /* nodes made before this boundary are old now: the round may take
         * them (GEN1 ahead of the walk) or not (the next round's) */
        if (M.n > MAXN - 8) {
            fail_msg("more slices than the model holds nodes (%d)", M.n);
        }
    }
    rh_gc_incr_stats st = incr_stats(h);
    printf("%s: %ld slices, a young collection between each two: %ld young objects freed; the round: %llu "
           "collected, %llu cleared in the teardown; old words with a candidate's mark seen %ld times\n",
           rh_mode_name(mode), slices, young_freed, (unsigned long long)(st.collected - st0.collected),
           (unsigned long long)(st.deferred_freed - st0.deferred_freed), cand_seen);
    assert_int_equal(st.rounds - st0.rounds, 1);
    assert_true(cand_seen > 0);
    assert_int_equal(st.collected - st0.collected, 3 * NGARB);
    assert_int_equal(st.deferred_freed - st0.deferred_freed, 3 * NGARB);
    for (int i = 0; i < NGARB; i++)
        for (int j = 0, x = garb[i]; j < 3; j++, x = x + 1)
            if (M.alive[x]) fail_msg("old garbage ring %d: node %d alive after the round", i, x);
    check_collected("after the round", NULL);
    check_idle(h);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    teardown(h);
}

static void test_young_collection_between_slices(void **state) {
    (void)state;
    for (int m = 0; m < NMODES; m++) young_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * Out of memory during a round (the fault injector, rh_heap_fail_after).
 *
 * The scenario: live chains made children first, live rings, garbage rings
 * of three (plain, with finalizers, resurrecting) with weak references with
 * callbacks to them, and a bulk ring of 700 nodes (more than two final
 * check chunks of 256), all made old, then the garbage made. For n = 1,
 * 2, ...: a fresh heap with the scenario, the n-th allocation from the
 * round's first slice on fails (once; in the second pass, that one and
 * every later one) while slices of one to four objects run until the round
 * has ended (finished, or given up) and nothing is left to tear down.
 * Expected: nothing reachable is destroyed, cleared or finalized (the
 * hooks), the collector's invariants hold once the round is over
 * (rh__gc_check), and once memory is back two more rounds leave exactly the
 * reachable nodes alive, each finalizer run once, each callback once, and a
 * full collection then finds nothing. The passes end at the first n beyond
 * the allocations the round makes; a round makes some (its suspects, the
 * rescued and the doomed are arrays of the heap's raw blocks:
 * docs/linkless.md), so at least one run must have had one fail.
 * ------------------------------------------------------------------------- */

static void oom_scenario(rh_heap *h) {
    assert_int_equal(rh_gc_callback_add(h, gc_cb, NULL), 0);
    int tops[12];
    for (int i = 0; i < 12; i++) tops[i] = chain_children_first(5, i % 2 ? &fin_type : &plain_type);
    for (int i = 0; i < 10; i++) (void)ring3(&plain_type, &fin_type, &plain_type);
    int garb[24];
    for (int i = 0; i < 24; i++) {
        garb[i] = i % 3 == 0   ? ring3(&plain_type, &plain_type, &plain_type)
                  : i % 3 == 1 ? ring3(&fin_type, &plain_type, &fin_type)
                               : ring3(&res_type, &fin_type, &plain_type);
        (void)weakref_new(M.edge[garb[i]][0]);
        set_edge(garb[i], 1, tops[i % 12]); /* garbage referencing a live object */
    }
    int bring = group_new(h, 700, G_RING);
    assert_int_equal(rh_gc_collect(h, 1), 0);
    for (int i = 0; i < 24; i++) drop_ref(garb[i]);
    group_drop(bring);
}

static void oom_in_mode(rh_mode mode, bool persistent) {
    long n, failed_runs = 0;
    for (n = 1;; n++) {
        if (n > 2000) fail_msg("a round made more than 2000 allocations");
        rh_heap *h = round_heap(mode);
        mirror_reset(h);
        groups_reset();
        oom_scenario(h);
        rh_gc_incr_stats st0 = incr_stats(h);
        uint64_t a0 = rh_heap_alloc_count(h);
        long max = 20L * (M.n + 700) + 10000, s;
        int r = 1, idle = 0;
        rh_heap_fail_after(h, n, persistent);
        for (s = 0; s < max; s++) {
            r = rh_gc_step(h, (size_t)(1 + s % 4));
            rh_gc_incr_stats st = incr_stats(h);
            bool ended = st.rounds + st.rounds_abandoned > st0.rounds + st0.rounds_abandoned;
            if (r == 0 && ended) break;
            if (r == 0 && ++idle >= 2) {
                rh_heap_fail_after(h, 0, false);
                fail_msg("rh_gc_step ran no round on this heap (no round runs on the layout without links)");
            }
        }
        rh_heap_fail_after(h, 0, false);
        bool fired = rh_heap_alloc_count(h) - a0 >= (uint64_t)n;
        if (s >= max) fail_msg("%s, allocation %ld failing: the round did not end in %ld slices", rh_mode_name(mode), n, s);
        failed_runs += fired;
        rh_err_clear(h);
        check_idle(h);
        /* Memory is back: two rounds find the rest. */
        run_rounds(h, incr_stats(h).rounds + 2, 4, max);
        check_collected("memory back, two rounds later", NULL);
        check_idle(h);
        assert_int_equal(rh_gc_collect(h, 2), 0);
        teardown(h);
        if (!fired) break;
    }
    printf("%s, %s failures: a round made %ld allocations, each failed in turn\n", rh_mode_name(mode),
           persistent ? "persistent" : "one-shot", n - 1);
    if (!linked_check()) assert_true(failed_runs > 0); /* the linked layout's rounds use lists */
}

static void test_round_out_of_memory(void **state) {
    (void)state;
    for (int m = 0; m < NMODES; m++) {
        oom_in_mode(MODES[m], false);
        oom_in_mode(MODES[m], true);
    }
}

/* ---------------------------------------------------------------------------
 * The 32-byte claim while a round runs.
 *
 * A container with two references is 16 (header: count 4, collector word 4,
 * type 8) + 2 * 8 = 32 bytes, a block of the 32-byte class, with no prefix
 * in this layout (48 in the linked layout, whose record is 16 bytes: the
 * self-check expects that). N old pairs, each held by the test and
 * referencing the one before (so every one of them has a reference from
 * outside the round and none is ever a suspect, rescued or doomed), are
 * the round's candidates. While the round runs:
 *   - M = 1000 pairs made between two slices (the young array already large
 *     enough) grow the heap by exactly M blocks of the 32-byte class and
 *     M * 32 bytes in use, each rh_sizeof 32; dropped, they give it all back;
 *   - a candidate is its 32-byte block, as before the round (rh_sizeof,
 *     rh_usable_size of its block, which starts at the object);
 *   - the round keeps no memory per candidate: its side memory is an array
 *     entry per suspect, rescued or doomed object (docs/linkless.md), and
 *     there are none, so the most bytes in use above the round's start at
 *     any slice boundary is the same for N = 4096 and N = 16384.
 * The round finds no garbage (0 collected: every pair is held).
 * ------------------------------------------------------------------------- */

typedef struct pair {
    RH_OBJECT_HEAD;
    rh_object *a, *b;
} pair;
_Static_assert(sizeof(pair) == 32, "a header and two references");

static int pair_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    pair *p = (pair *)self;
    int r;
    if (p->a && (r = visit(p->a, arg)) != 0) return r;
    if (p->b && (r = visit(p->b, arg)) != 0) return r;
    return 0;
}
static void pair_clear(rh_object *self) {
    pair *p = (pair *)self;
    RH_CLEAR(p->a);
    RH_CLEAR(p->b);
}
static const rh_type pair_type = {.name = "LkPair", .basicsize = sizeof(pair), .flags = RH_TYPE_GC,
                                  .traverse = pair_traverse, .destroy = pair_clear, .clear = pair_clear};

static size_t pairs_round_overhead(long n) {
    enum { MNEW = 1000 };
    size_t per = linked_check() ? 48 : 32; /* the block of a two-reference container */
    size_t cls = per / RH_ALIGNMENT - 1;
    rh_heap *h = round_heap(RH_MODE_POOLS);
    rh_object **p = malloc((size_t)n * sizeof *p), *fresh[MNEW];
    assert_non_null(p);
    for (long i = 0; i < n; i++) {
        p[i] = rh_new_tracked(h, &pair_type);
        assert_non_null(p[i]);
        if (i) ((pair *)p[i])->a = rh_newref(p[i - 1]);
    }
    assert_int_equal(rh_gc_collect(h, 1), 0); /* old */
    /* The young array grown for MNEW entries, then emptied. */
    for (int i = 0; i < MNEW; i++) fresh[i] = rh_new_tracked(h, &pair_type);
    for (int i = 0; i < MNEW; i++) rh_decref(fresh[i]);
    rh_heap_stats base, s0, s1;
    rh_heap_stats_get(h, &base);
    int r = rh_gc_step(h, 1);
    if (r != 1) {
        for (long i = 0; i < n; i++) rh_decref(p[i]);
        free(p);
        rh_heap_destroy(h);
        fail_msg("rh_gc_step(h, 1) ran no round over %ld old pairs (no round runs on the layout without links)", n);
    }
    size_t most = 0;
    long slices = 1;
    bool made = false, saw_cand = false;
    round_marks k = marks_of(h);
    while (r == 1) {
        if (slices > 8 * n + 1000) fail_msg("round not over after %ld slices", slices);
        rh_heap_stats_get(h, &s0);
        size_t over = s0.bytes_in_use > base.bytes_in_use ? s0.bytes_in_use - base.bytes_in_use : 0;
        if (over > most) most = over;
        rh_object *mid = p[n / 2];
        if (mid->rh_gcword & k.cand) {
            saw_cand = true;
            assert_int_equal(rh_sizeof(mid), per);
            if (h->gc.linkless) {
                assert_ptr_equal(rh__obj_block(mid), mid);
                assert_int_equal(rh_usable_size(h, mid), per);
            }
        }
        if (!made && phase_of(h) == RH__INCR_SCAN) {
            made = true;
            for (int i = 0; i < MNEW; i++) {
                fresh[i] = rh_new_tracked(h, &pair_type);
                assert_non_null(fresh[i]);
                if (i) ((pair *)fresh[i])->b = rh_newref(fresh[i - 1]);
            }
            rh_heap_stats_get(h, &s1);
            assert_int_equal(s1.bytes_in_use - s0.bytes_in_use, (size_t)MNEW * per);
            assert_int_equal(s1.blocks_in_use - s0.blocks_in_use, MNEW);
            assert_int_equal(s1.classes[cls].blocks_in_use - s0.classes[cls].blocks_in_use, MNEW);
            assert_int_equal(rh_sizeof(fresh[MNEW - 1]), per);
            for (int i = MNEW - 1; i >= 0; i--) rh_decref(fresh[i]);
            rh_heap_stats_get(h, &s1);
            assert_int_equal(s1.bytes_in_use, s0.bytes_in_use);
        }
        r = rh_gc_step(h, 1);
        slices++;
    }
    rh_gc_incr_stats st = incr_stats(h);
    printf("%ld old pairs: a round of %ld slices, %zu bytes in use above its start at most; %zu bytes a pair\n", n,
           slices, most, per);
    assert_true(made);
    assert_true(saw_cand);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.collected, 0);
    assert_int_equal(st.suspects, 0);
    for (long i = 0; i < n; i++) rh_decref(p[i]);
    free(p);
    rh_heap_destroy(h);
    return most;
}

static void test_pair_32_bytes_mid_round(void **state) {
    (void)state;
    size_t small = pairs_round_overhead(4096), large = pairs_round_overhead(16384);
    assert_int_equal(small, large);
}

/* ---------------------------------------------------------------------------
 * A walk's step over system blocks.
 *
 * gc_incr.c's essay: a walk's step reads at most WALK_BUDGET (1024) words
 * and a slice charges one unit of work per SCAN_PER_UNIT (64) words read or
 * system blocks examined, so that a slice's overrun past its quota stays
 * bounded. System blocks (every block in malloc and debug modes, blocks
 * over RH_SMALL_MAX bytes in pools mode) count too: a slice of quota 1 that
 * meets thousands of unmarked system blocks before the next tracked object
 * does at most 1 + (1024 + 63) / 64 = 17 units of walk plus the one object,
 * 18 in all, whatever the number of blocks.
 * ------------------------------------------------------------------------- */

#define STEP_WORDS 1024 /* gc_incr.c's WALK_BUDGET   */
#define WORDS_PER_UNIT 64 /* gc_incr.c's SCAN_PER_UNIT */

static void system_blocks_in_mode(rh_mode mode) {
    rh_heap *h = round_heap(mode);
    mirror_reset(h);
    groups_reset();
    /* one old tracked object, so that a round starts */
    (void)node_new(&plain_type);
    assert_true(rh_gc_collect(h, 1) >= 0);
    /* then many unmarked system blocks: newer, so a walk meets them first */
    enum { NBLOCKS = 4000 };
    void **b = calloc(NBLOCKS, sizeof *b);
    assert_non_null(b);
    for (int i = 0; i < NBLOCKS; i++) assert_non_null(b[i] = rh_malloc(h, RH_SMALL_MAX + 8));
    const uint64_t most = 1 + (STEP_WORDS + WORDS_PER_UNIT - 1) / WORDS_PER_UNIT + 1;
    int slices = 0;
    for (int more = 1; more; slices++) {
        assert_true(slices < 100 * NBLOCKS); /* the round ends */
        uint64_t w0 = incr_stats(h).work;
        more = rh_gc_step(h, 1);
        assert_true(more >= 0);
        uint64_t w = incr_stats(h).work - w0;
        if (w > most) fail_msg("%s mode: a slice of quota 1 did %llu units of work (at most %llu)",
                               mode == RH_MODE_POOLS ? "pools" : mode == RH_MODE_MALLOC ? "malloc" : "debug",
                               (unsigned long long)w, (unsigned long long)most);
    }
    assert_int_equal(incr_stats(h).rounds, 1);
    for (int i = 0; i < NBLOCKS; i++) rh_free(h, b[i]);
    free(b);
    teardown(h);
}

static void test_walk_step_bounded_over_system_blocks(void **state) {
    (void)state;
    for (int m = 0; m < NMODES; m++) system_blocks_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * Empty slots of `u` in the final check.
 *
 * An object untracked while it waits on `u` leaves an empty slot there; the
 * final check passes over them. Those passes count as walk steps do (at most
 * WALK_BUDGET slots a step, one unit of work per SCAN_PER_UNIT slots), so a
 * slice of quota 1 cannot pass thousands of them: NSELF = 6000 empty slots
 * take more than one slice (a slice of quota 1 passes at most 1024 + 256,
 * one step and one chunk's range).
 * ------------------------------------------------------------------------- */

typedef struct selfnode {
    RH_OBJECT_HEAD;
    rh_object *self;
    int idx;
} selfnode;

enum { NSELF = 6000 };
static bool SELF_DEAD[NSELF];

static int self_traverse(rh_object *o, rh_visitfn visit, void *arg) {
    rh_object *s = ((selfnode *)o)->self;
    return s ? visit(s, arg) : 0;
}
static void self_clear(rh_object *o) { RH_CLEAR(((selfnode *)o)->self); }
static void self_destroy(rh_object *o) {
    SELF_DEAD[((selfnode *)o)->idx] = true;
    RH_CLEAR(((selfnode *)o)->self);
}
static const rh_type self_type = {.name = "LkSelf", .basicsize = sizeof(selfnode), .flags = RH_TYPE_GC,
                                  .traverse = self_traverse, .clear = self_clear, .destroy = self_destroy};

static void empty_slots_in_mode(rh_mode mode) {
    rh_heap *h = round_heap(mode);
    memset(SELF_DEAD, 0, sizeof SELF_DEAD);
    rh_object **o = calloc(NSELF, sizeof *o);
    assert_non_null(o);
    /* self-cycles, made old while held, then dropped: old garbage, each a
     * suspect of the next round (count 1 = reference count 1) */
    for (int i = 0; i < NSELF; i++) {
        assert_non_null(o[i] = rh_new(h, &self_type));
        ((selfnode *)o[i])->self = rh_newref(o[i]);
        ((selfnode *)o[i])->idx = i;
        rh_gc_track(o[i]);
    }
    assert_int_equal(rh_gc_collect(h, 1), 0);
    for (int i = 0; i < NSELF; i++) rh_decref(o[i]); /* alive: its own reference */
    long steps = 0;
    while (phase_of(h) != RH__INCR_FINISH) {
        assert_true(steps++ < 100L * NSELF);
        assert_int_equal(rh_gc_step(h, 1), 1);
    }
    /* every suspect leaves u: an empty slot each (the slice that reached
     * FINISH may have checked a first chunk: those are dead or doomed) */
    int left = 0;
    for (int i = 0; i < NSELF; i++)
        if (!SELF_DEAD[i]) rh_gc_untrack(o[i]), left++;
    assert_true(left >= NSELF - 256); /* one chunk at most: FINAL_CHUNK */
    assert_int_equal(rh_gc_step(h, 1), 1);
    assert_int_equal(phase_of(h), RH__INCR_FINISH);
    while (rh_gc_step(h, 1) > 0) assert_true(steps++ < 100L * NSELF);
    /* tracked again, they are garbage for a full collection */
    left = 0;
    for (int i = 0; i < NSELF; i++)
        if (!SELF_DEAD[i]) rh_gc_track(o[i]), left++;
    assert_int_equal(rh_gc_collect(h, 2), left);
    for (int i = 0; i < NSELF; i++) assert_true(SELF_DEAD[i]);
    free(o);
    rh_heap_destroy(h);
}

static void test_finish_empty_slots_bounded(void **state) {
    (void)state;
    if (linked_check()) return; /* the linked layout's u is a list: no slots */
    for (int m = 0; m < NMODES; m++) empty_slots_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * The suspects' segments given back as the final check passes them.
 *
 * `u` is a segmented array (gc_incr.c): the final check takes its suspects
 * from the head, and the segments it has passed hold nothing it will read
 * again. Freeing them all when the round ends was a pause that grew with
 * the number of suspects (hundreds of segments at once, whose memory the
 * system allocator then gave back to the system in one go: 0.5 to 0.8 ms
 * at 3M live objects, beside the slice's budget); they are freed as the
 * check passes them. The bound, from first principles: a slice of quota 1
 * in the final check takes one chunk, at most FINAL_CHUNK (256) suspects
 * and WALK_BUDGET (1024) empty slots, fewer than a segment's 4096
 * entries, so it leaves at most one segment behind; the slice that ends
 * the round frees at most the last one and the spare: no slice frees more
 * than 2 of u's segments. NSEGSELF self-cycles (old garbage, each a
 * suspect) fill 6 segments.
 * ------------------------------------------------------------------------- */

enum { NSEGSELF = 6 * 4096 - 100, SEG_FREED_MAX = 2 };
static size_t SEGSELF_DEAD;

static void segself_destroy(rh_object *o) {
    SEGSELF_DEAD++;
    RH_CLEAR(((selfnode *)o)->self);
}
static const rh_type segself_type = {.name = "LkSegSelf", .basicsize = sizeof(selfnode), .flags = RH_TYPE_GC,
                                     .traverse = self_traverse, .clear = self_clear, .destroy = segself_destroy};

/* n self-cycles made old (a young collection while held), then dropped:
 * old garbage, each alive by its own reference. */
static void make_old_self_garbage(rh_heap *h, int n) {
    rh_object **o = calloc((size_t)n, sizeof *o);
    assert_non_null(o);
    for (int i = 0; i < n; i++) {
        assert_non_null(o[i] = rh_new(h, &segself_type));
        ((selfnode *)o[i])->self = rh_newref(o[i]);
        rh_gc_track(o[i]);
    }
    assert_int_equal(rh_gc_collect(h, 0), 0); /* all old, held */
    for (int i = 0; i < n; i++) rh_decref(o[i]);
    free(o);
}

static size_t u_live_segments(const rh_heap *h) {
    rh__incr_ll_shape sh;
    rh__gc_incr_ll_shape(h, &sh);
    return sh.live[0];
}

static void finish_segments_in_mode(rh_mode mode) {
    rh_heap *h = round_heap(mode);
    (void)rh_gc_set_slice_budget(h, UINT64_MAX / 4); /* work alone bounds a slice */
    SEGSELF_DEAD = 0;
    make_old_self_garbage(h, NSEGSELF);
    size_t most = 0, peak = 0;
    long slices = 0, finish_slices = 0;
    for (int more = 1; more; slices++) {
        assert_true(slices < 100L * NSEGSELF);
        size_t before = u_live_segments(h);
        bool finish = h->gc.incr.phase == RH__INCR_FINISH;
        more = rh_gc_step(h, 1);
        assert_true(more >= 0);
        size_t after = u_live_segments(h);
        if (finish) finish_slices++;
        if (before > peak) peak = before;
        if (before > after && before - after > most) most = before - after;
        if (before > after && before - after > SEG_FREED_MAX)
            fail_msg("mode %d: a slice of quota 1 freed %zu of u's segments (at most %d)", (int)mode,
                     before - after, SEG_FREED_MAX);
    }
    rh_gc_incr_stats st = incr_stats(h);
    print_message("u's segments (mode %d): peak %zu, at most %zu freed by a slice, %ld slices in the final check\n",
                  (int)mode, peak, most, finish_slices);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.rounds_abandoned, 0);
    assert_int_equal(peak, 6); /* NSEGSELF suspects: 6 segments */
    assert_int_equal(SEGSELF_DEAD, NSEGSELF); /* every cycle collected by the round */
    assert_null(h->gc.incr.ll);                /* the state released with the teardown */
    rh_heap_destroy(h);
}

static void test_finish_frees_passed_segments(void **state) {
    (void)state;
    if (linked_check()) return; /* the linked layout's u is a list: no segments */
    for (int m = 0; m < NMODES; m++) finish_segments_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * The round's state released in a pause that ran no slice.
 *
 * When a round and its teardown are over, the round's state (its arrays'
 * last segments and directories, the chunk) is freed; those last frees let
 * the system allocator return at once the memory the arrays gave back
 * below them during the round (megabytes for a large round), so they must
 * not come on top of a slice's budget: under automatic collection the
 * state goes in the next pause that runs no slice (a young collection).
 * The pause hook sees, after each pause, whether the state is still there:
 * it must never disappear in a slice's pause (kind 3), and it must go (in
 * a young collection's pause) once the teardown is over.
 * ------------------------------------------------------------------------- */

static struct {
    bool had;
    int in_slice, in_young, pauses;
} RS;

static void rs_hook(rh_heap *h, const rh_gc_pause *p, void *data) {
    (void)data;
    bool has = h->gc.incr.ll != NULL;
    if (RS.had && !has) {
        if (p->kind == 3) RS.in_slice++;
        else RS.in_young++;
    }
    RS.had = has;
    RS.pauses++;
}

enum { NRS_OLD = 20000, NRS_STEPS = 2000000 };

static void state_release_in_mode(rh_mode mode) {
    rh_heap *h = round_heap(mode);
    memset(&RS, 0, sizeof RS);
    SEGSELF_DEAD = 0;
    make_old_self_garbage(h, NRS_OLD);
    rh_gc_set_pause_hook(h, rs_hook, NULL);
    /* Work alone bounds a slice, not the clock: under REFHEAP_DEBUG_LEVEL=3
     * every young collection walks the whole heap inside the 1 ms budget,
     * the slices then had no time left and the round never ended within
     * NRS_STEPS (2,000,000 objects made, the state never released). */
    (void)rh_gc_set_slice_budget(h, UINT64_MAX / 4);
    rh_gc_enable(h);
    /* the program: acyclic objects, one made a step and one freed every
     * second step (the oldest), so that young collections come every
     * 2 * threshold[0] steps */
    rh_object **live = calloc(NRS_STEPS, sizeof *live);
    assert_non_null(live);
    long i = 0, first = 0;
    for (; i < NRS_STEPS; i++) {
        assert_non_null(live[i] = rh_new(h, &segself_type));
        rh_gc_track(live[i]);
        if (i % 2) rh_decref(live[first++]);
        if (SEGSELF_DEAD >= NRS_OLD && RS.in_young + RS.in_slice > 0) break;
    }
    rh_gc_set_pause_hook(h, NULL, NULL);
    rh_gc_incr_stats st = incr_stats(h);
    print_message("state release (mode %d): %ld objects made, %d pauses, %llu rounds; state freed in %d young "
                  "collection pauses, %d slice pauses\n",
                  (int)mode, i, RS.pauses, (unsigned long long)st.rounds, RS.in_young, RS.in_slice);
    assert_true(st.rounds >= 1);
    assert_true(SEGSELF_DEAD >= NRS_OLD); /* the old garbage collected, its teardown over */
    assert_int_equal(RS.in_slice, 0);
    assert_true(RS.in_young >= 1);
    for (long k = first; k <= i && k < NRS_STEPS; k++) rh_decref(live[k]);
    free(live);
    rh_heap_destroy(h);
}

static void test_state_released_without_slice(void **state) {
    (void)state;
    if (linked_check()) return; /* the linked layout's round has no state to free */
    for (int m = 0; m < NMODES; m++) state_release_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * A round's work: two walks.
 *
 * gc_incr.c's essay ("Rounds without links"): the round's walks are COUNT
 * (an old block without marks becomes a candidate when the walk reaches
 * it, or when a counted referrer first meets it, and every candidate's
 * traverse counts its candidate referents) and SCAN, then the final check
 * of the suspects. A slice charges one unit per block a walk returns and
 * one per SCAN_PER_UNIT (64) plane words read or system blocks examined
 * (the walk's `scanned`), and one unit for the round's end when there is
 * no suspect. So, from first principles, a round over a heap of B tracked
 * blocks and no garbage, nothing changing while it runs, does exactly B
 * units per walk plus the walk's cost: at least 2 B, at most 2 B + 2
 * (S / 64 + 2), where S is the `scanned` of one whole walk of the same
 * heap (a walk's steps read each plane word once, budget or not; a walk
 * may add one unit for the remainder of its charge and one for the
 * round's own blocks, its state and a segment of u, which in malloc and
 * debug modes are system blocks the walk examines). Then the final
 * check: FINAL_CHUNK (256) units a chunk, a chunk taking up to 256
 * suspects (and what they reach), at least one chunk when there is a
 * suspect; one unit for the round's end; and the teardown, one unit per
 * garbage object cleared. Before (MARK, then COUNT, then SCAN) the walks
 * alone were 3 B plus three walks' cost.
 *
 * The live objects are chained in both directions (each pair references
 * the one made before it and the one made after it: in pools mode, the
 * referent behind and ahead of the walk), a third of them promoted since
 * the round before (GEN1). Beside them, old garbage present at the round's
 * start, which that round must find whole (completeness for garbage no
 * mutation touches, unchanged): rings linked forwards and backwards, of
 * old and GEN1 members mixed, and self-cycles. The invariant check after
 * the round (counters against a walk: GEN1's count moved for every
 * candidate that was GEN1).
 * ------------------------------------------------------------------------- */

#define CHUNK_OBJS 256 /* gc_incr.c's FINAL_CHUNK */

static int RW_DEAD;
static void rw_destroy(rh_object *self) {
    RW_DEAD++;
    pair_clear(self);
}
static const rh_type rw_type = {.name = "LkRoundWork", .basicsize = sizeof(pair), .flags = RH_TYPE_GC,
                                .traverse = pair_traverse, .destroy = rw_destroy, .clear = pair_clear};

/* n pairs of rw_type held in p[from .. from + n), each referencing the
 * one before (b) and the one after (a). */
static void rw_chain(rh_heap *h, rh_object **p, long from, long n) {
    for (long i = from; i < from + n; i++) assert_non_null(p[i] = rh_new_tracked(h, &rw_type));
    for (long i = from; i < from + n; i++) {
        if (i > from) ((pair *)p[i])->b = rh_newref(p[i - 1]);
        if (i + 1 < from + n) ((pair *)p[i])->a = rh_newref(p[i + 1]);
    }
}

/* A ring of n pairs (n >= 2), forwards (each references the next, the
 * last the first) or backwards; the test holds every member. */
static void rw_ring(rh_heap *h, rh_object **r, int n, bool forwards) {
    for (int i = 0; i < n; i++) assert_non_null(r[i] = rh_new_tracked(h, &rw_type));
    for (int i = 0; i < n; i++) ((pair *)r[i])->a = rh_newref(r[forwards ? (i + 1) % n : (i + n - 1) % n]);
}

static void round_work_in_mode(rh_mode mode) {
    enum { NLIVE = 30000, NRING = 40, RLEN = 7, NSELFG = 50 };
    rh_heap *h = round_heap(mode);
    (void)rh_gc_set_slice_budget(h, UINT64_MAX / 4); /* work alone bounds a slice */
    RW_DEAD = 0;
    rh_object **p = calloc(NLIVE, sizeof *p);
    static rh_object *ring[NRING][RLEN];
    assert_non_null(p);
    /* two thirds of the live pairs and the first half of each ring: old
     * (a full collection), then the rest: GEN1 (a young collection) */
    rw_chain(h, p, 0, 2 * NLIVE / 3);
    for (int k = 0; k < NRING; k++) rw_ring(h, ring[k], RLEN / 2, k % 2 == 0);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rw_chain(h, p, 2 * NLIVE / 3, NLIVE - 2 * NLIVE / 3);
    ((pair *)p[2 * NLIVE / 3])->b = rh_newref(p[2 * NLIVE / 3 - 1]); /* the old part and the new one linked */
    ((pair *)p[2 * NLIVE / 3 - 1])->a = rh_newref(p[2 * NLIVE / 3]);
    for (int k = 0; k < NRING; k++) {
        /* the ring's second half, new, spliced in: old -> new ... -> new -> old */
        int half = RLEN / 2;
        for (int i = half; i < RLEN; i++) assert_non_null(ring[k][i] = rh_new_tracked(h, &rw_type));
        bool fw = k % 2 == 0;
        for (int i = 0; i < RLEN; i++) {
            int to = fw ? (i + 1) % RLEN : (i + RLEN - 1) % RLEN;
            pair *x = (pair *)ring[k][i];
            rh_xdecref(x->a);
            x->a = rh_newref(ring[k][to]);
        }
    }
    make_old_self_garbage(h, NSELFG); /* a young collection: the new ones GEN1 */
    assert_true(h->gc.n_gen1 > 0);
    for (int k = 0; k < NRING; k++)
        for (int i = 0; i < RLEN; i++) rh_decref(ring[k][i]); /* garbage, old and GEN1 */
    RW_DEAD = 0;
    SEGSELF_DEAD = 0;
    long garbage = (long)NRING * RLEN + NSELFG;
    /* one whole walk of the heap as it is: its blocks and its cost */
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    size_t blocks = 0;
    while (rh__mark_walk_next(&w)) blocks++;
    size_t scanned = w.scanned;
    rh__mark_walk_end(&w);
    assert_int_equal(blocks, NLIVE + garbage);
    uint64_t w0 = incr_stats(h).work;
    long slices = 0;
    for (int more = 1; more; slices++) {
        assert_true(slices < 8L * NLIVE);
        more = rh_gc_step(h, 64);
        assert_true(more >= 0);
        if (slices % 16 == 0) rh__gc_check(h);
    }
    uint64_t work = incr_stats(h).work - w0;
    rh_gc_incr_stats st = incr_stats(h);
    uint64_t chunks = ((uint64_t)garbage + CHUNK_OBJS - 1) / CHUNK_OBJS;
    uint64_t least = 2 * (uint64_t)blocks + CHUNK_OBJS + 1 + (uint64_t)garbage;
    uint64_t most = 2 * (uint64_t)blocks + 2 * (scanned / WORDS_PER_UNIT + 2) + chunks * CHUNK_OBJS + 1 +
                    (uint64_t)garbage;
    print_message("round work (mode %d): %zu blocks, one walk scans %zu words: the round did %llu units "
                  "(from %llu to %llu) in %ld slices, %llu suspects, %llu collected\n",
                  (int)mode, blocks, scanned, (unsigned long long)work, (unsigned long long)least,
                  (unsigned long long)most, slices, (unsigned long long)st.suspects,
                  (unsigned long long)st.collected);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.rounds_abandoned, 0);
    if (work < least || work > most)
        fail_msg("mode %d: the round over %zu blocks did %llu units of work (from %llu to %llu)", (int)mode, blocks,
                 (unsigned long long)work, (unsigned long long)least, (unsigned long long)most);
    /* the garbage present at its start: found by the round, torn down */
    assert_int_equal(st.suspects, (uint64_t)garbage);
    assert_int_equal(st.collected, (uint64_t)garbage);
    assert_int_equal(RW_DEAD, NRING * RLEN);
    assert_int_equal(SEGSELF_DEAD, NSELFG);
    rh__gc_check(h);
    assert_int_equal(h->gc.n_gen1, 0); /* every GEN1 object was a candidate: old now */
    for (long i = 0; i < NLIVE; i++) rh_decref(p[i]);
    free(p);
    assert_int_equal(rh_gc_collect(h, 2), NLIVE);
    rh_heap_destroy(h);
}

static void test_round_work_two_walks(void **state) {
    (void)state;
    if (linked_check()) return; /* the linked layout's round marks first: three passes */
    for (int m = 0; m < NMODES; m++) round_work_in_mode(MODES[m]);
}

/* ---------------------------------------------------------------------------
 * The adversarial randomized test in this layout.
 *
 * test_gc_incr.c's approach (a random graph mutated between every pair of
 * slices, checked against the mirror) with a slice boundary after every
 * operation and what this layout adds: nodes untracked and tracked again
 * between slices, groups of bulk nodes (two arenas' worth of 256-byte blocks
 * in pools mode) made, dropped (a chain dies at once, a ring becomes cyclic
 * garbage) and the heap trimmed between slices, in the three modes.
 * Operations: nodes made (plain, with a finalizer, resurrecting), links made,
 * removed and moved, roots dropped and re-taken, weak references with
 * callbacks made, dropped and dereferenced into new roots (bringing back
 * garbage no round has found yet), callbacks that run a full collection,
 * automatic collection at tiny thresholds (young collections between
 * slices) in half the trials, a 1 ns slice budget in some, explicit
 * collections now and then (after a full one: the state check_collected
 * describes). Checked: the hooks (never a reachable node destroyed, cleared
 * or finalized; finalizers and callbacks at most once); once the program
 * stops mutating (untracked nodes tracked again, a young collection), after
 * at most two full rounds, exactly the reachable nodes alive, every dead
 * node with a finalizer finalized once, every weak reference dead exactly
 * when its callback ran once, every dropped group dead, and a full
 * collection finds nothing. RH_LK_ROUNDS_SOAK=N runs N trials and this test
 * alone; RH_LK_ROUNDS_SEED changes the first seed (and the phase test's).
 * ------------------------------------------------------------------------- */

static rh_gc_incr_stats TOT;
static long ADV_EVENTS; /* checks the hooks made */

static int live_groups(void) {
    int n = 0;
    for (int g = 0; g < NG; g++) n += G[g].held;
    return n;
}

static void adv_mutate(rh_heap *h, bool bulk) {
    uint32_t op = prand(100);
    int a = pick_in_class(h, RC_N), b = pick_in_class(h, RC_N);
    if (a < 0) {
        if (M.n < MAXN) (void)node_new(&plain_type);
        return;
    }
    take_ref(a); /* operands held for the whole operation */
    take_ref(b);
    if (op < 12) {
        if (M.n < MAXN) {
            uint32_t t = prand(10);
            int y = node_new(t < 6 ? &plain_type : t < 8 ? &fin_type : &res_type);
            if (prand(2) && y != a) set_edge(a, (int)prand(KIDS), y);
        }
    } else if (op < 34) {
        set_edge(a, (int)prand(KIDS), b);
    } else if (op < 44) {
        set_edge(a, (int)prand(KIDS), -1);
    } else if (op < 52) { /* a.k = b.j; b.j = none */
        int k = (int)prand(KIDS), j = (int)prand(KIDS), t = M.edge[b][j];
        if (t >= 0) {
            take_ref(t);
            set_edge(a, k, t);
            set_edge(b, j, -1);
            drop_ref(t);
        }
    } else if (op < 64) { /* drop a root (not one of the operands' holds) */
        static int c[MAXN];
        int nc = 0;
        for (int i = 0; i < M.n; i++)
            if (M.alive[i] && M.held[i] > (i == a) + (i == b)) c[nc++] = i;
        if (nc) drop_ref(c[prand((uint32_t)nc)]);
    } else if (op < 68) {
        take_ref(a);
    } else if (op < 74) {
        if (!M.untracked[a]) untrack(a);
        for (int i = 0; i < M.n; i++)
            if (M.alive[i] && M.untracked[i] && i != a && prand(3) == 0) retrack(i);
    } else if (op < 80) {
        (void)weakref_new(a);
    } else if (op < 85) {
        if (M.nwr) {
            int i = (int)prand((uint32_t)M.nwr);
            if (M.wr[i].w) weakref_drop(i);
        }
    } else if (op < 90) { /* dereference: the referent, garbage or not, becomes a root */
        if (M.nwr) {
            int i = (int)prand((uint32_t)M.nwr);
            rh_object *o = M.wr[i].w ? rh_weakref_get(M.wr[i].w) : NULL;
            if (o) {
                int t = M.wr[i].target;
                if (!M.alive[t] || o != M.obj[t]) fail_msg("weak reference to %d returned a dead object", t);
                M.held[t]++;
                M.dirty = true;
            }
        }
    } else if (op < 93) {
        if (bulk && live_groups() < 2 && NG < MAXG) {
            (void)group_new(h, 2 * 4096, (enum group_kind)prand(3));
        }
    } else if (op < 96) {
        if (bulk)
            for (int g = 0; g < NG; g++)
                if (G[g].held) {
                    group_drop(g);
                    (void)rh_heap_trim(h);
                    break;
                }
    } else if (M.n < MAXN) { /* a young node referenced from a (maybe old) one */
        int y = node_new(&plain_type);
        set_edge(a, (int)prand(KIDS), y);
        drop_ref(y);
    }
    drop_ref(b);
    drop_ref(a);
}

static void adv_trial(uint64_t seed, int steps, rh_mode mode, bool bulk) {
    rh_heap *h = round_heap(mode);
    mirror_reset(h);
    groups_reset();
    memset(&P, 0, sizeof P);
    P.rng = seed * 0x9E3779B97F4A7C15ull + 1;
    assert_int_equal(rh_gc_callback_add(h, gc_cb, NULL), 0);
    if (prand(2)) {
        rh_gc_enable(h);
        rh_gc_set_threshold(h, 3 + (long)prand(20), 2, 2);
        if (prand(3) == 0) (void)rh_gc_set_slice_budget(h, 1);
    }
    M.collect_in_cb = prand(4) == 0;
    /* a few old objects to start from */
    for (int i = 0; i < 8; i++) (void)chain_children_first(3, &plain_type);
    assert_true(rh_gc_collect(h, 1) >= 0);
    for (int s = 0; s < steps; s++) {
        int nm = 1 + (int)prand(3);
        for (int i = 0; i < nm; i++) {
            adv_mutate(h, bulk);
            (void)rh_gc_step(h, 1 + prand(8)); /* a slice boundary after every operation */
        }
        if (prand(60) == 0) {
            assert_true(rh_gc_collect(h, 2) >= 0);
            check_collected("after a full collection", M.snap_kept);
        } else if (prand(40) == 0) {
            assert_true(rh_gc_collect(h, (int)prand(2)) >= 0);
        }
    }
    /* The program stops mutating. */
    retrack_all();
    (void)rh_gc_collect(h, 0);
    long objects = M.n + 4L * 4096 * NG + M.nwr;
    run_rounds(h, incr_stats(h).rounds + 2, 1 + prand(16), 8 * objects + 100000);
    check_collected("two rounds after the last mutation", NULL);
    assert_int_equal(rh_gc_collect(h, 2), 0);
    rh_gc_incr_stats st = incr_stats(h);
    TOT.rounds += st.rounds, TOT.rounds_abandoned += st.rounds_abandoned, TOT.slices += st.slices;
    TOT.suspects += st.suspects, TOT.collected += st.collected, TOT.deferred_freed += st.deferred_freed;
    TOT.young_skipped += st.young_skipped;
    ADV_EVENTS += M.events;
    teardown(h);
}

static void test_adversarial_linkless(void **state) {
    (void)state;
    long trials = rh_test_env_long("RH_LK_ROUNDS_SOAK", rh_test_scaled(36, 6));
    uint64_t seed = (uint64_t)rh_test_env_long("RH_LK_ROUNDS_SEED", 1);
    memset(&TOT, 0, sizeof TOT);
    ADV_EVENTS = 0;
    for (long t = 0; t < trials; t++) {
        rh_mode mode = MODES[t % NMODES];
        bool bulk = mode == RH_MODE_POOLS && t % 2 == 0;
        adv_trial(seed + (uint64_t)t, (int)rh_test_scaled(500, 150), mode, bulk);
    }
    printf("adversarial (layout without links): %ld trials, %ld checked events; rounds %llu finished, %llu abandoned, %llu slices, "
           "%llu suspects, %llu collected by rounds, %llu cleared in deferred steps, %llu young generations "
           "promoted unexamined\n",
           trials, ADV_EVENTS, (unsigned long long)TOT.rounds, (unsigned long long)TOT.rounds_abandoned,
           (unsigned long long)TOT.slices, (unsigned long long)TOT.suspects, (unsigned long long)TOT.collected,
           (unsigned long long)TOT.deferred_freed, (unsigned long long)TOT.young_skipped);
    assert_true(ADV_EVENTS > trials); /* the hooks did run */
    assert_true(TOT.rounds > (uint64_t)trials); /* rounds did finish between mutations */
    assert_true(TOT.collected > 0);            /* and found garbage */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_phases_slice_per_object),
        cmocka_unit_test(test_young_collection_between_slices),
        cmocka_unit_test(test_round_out_of_memory),
        cmocka_unit_test(test_pair_32_bytes_mid_round),
        cmocka_unit_test(test_walk_step_bounded_over_system_blocks),
        cmocka_unit_test(test_finish_empty_slots_bounded),
        cmocka_unit_test(test_finish_frees_passed_segments),
        cmocka_unit_test(test_state_released_without_slice),
        cmocka_unit_test(test_round_work_two_walks),
        cmocka_unit_test(test_adversarial_linkless),
    };
    if (getenv("RH_LK_ROUNDS_SOAK")) cmocka_set_test_filter("test_adversarial_linkless");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
