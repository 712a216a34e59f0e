/*
 * test_gc_random.c — randomized check of the collector against an
 * independent reachability computation.
 *
 * Each round builds a random graph of user containers (plain nodes, nodes
 * with a finalizer, nodes with a legacy finalizer), keeps references to a
 * random subset ("external" roots, held by the test), drops the others, and
 * runs a full collection. The test computes, by breadth-first search from the
 * roots over its own copy of the edges, which nodes are reachable; among the
 * unreachable ones, those reachable from an unreachable legacy node are
 * uncollectable (CPython's rule). Then it checks that
 *   - exactly the collectable unreachable nodes were destroyed (the destroy
 *     hook records each death), each once;
 *   - no reachable node was destroyed, finalized or had an edge changed;
 *   - collect() returned the number of unreachable nodes still alive before
 *     it (collected + uncollectable), when no automatic collection ran;
 *   - gc.garbage holds exactly the unreachable legacy nodes.
 * Some rounds first spread the nodes over the generations with young
 * collections (which must never free a reachable node), some run with
 * automatic collection at tiny thresholds while the graph is built, some
 * finalizers resurrect nothing but allocate. RH_GC_ROUNDS overrides the
 * number of rounds; the seed is fixed so that a failure is reproducible.
 */
#include "gc_nodes.h"

#include <stdlib.h>

#define MAXN 64

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static uint32_t below(uint32_t n) { return rnd() % n; }

static int fin_count_by_id[MAXN];
static void record_fin(rh_object *self) {
    int id = node_id(self);
    if (id >= 0 && id < MAXN) fin_count_by_id[id]++;
    /* allocate a little, as real finalizers do */
    rh_object *l = rh_list_new(rh_heap_of(self), 0);
    if (l) rh_decref(l);
}

typedef struct graph {
    int n;
    const rh_type *type[MAXN];
    int edge[MAXN][NODE_KIDS]; /* -1: none */
    bool root[MAXN];
    rh_object *obj[MAXN];
} graph;

static void bfs(const graph *g, const bool *start, bool *seen, const bool *within) {
    int queue[MAXN], qh = 0, qt = 0;
    for (int i = 0; i < g->n; i++) {
        seen[i] = false;
    }
    for (int i = 0; i < g->n; i++)
        if (start[i] && (!within || within[i])) {
            seen[i] = true;
            queue[qt++] = i;
        }
    while (qh < qt) {
        int v = queue[qh++];
        for (int k = 0; k < NODE_KIDS; k++) {
            int w = g->edge[v][k];
            if (w >= 0 && !seen[w] && (!within || within[w])) {
                seen[w] = true;
                queue[qt++] = w;
            }
        }
    }
}

/* Among the nodes `in` (alive, unreachable), which survive when the edges
 * coming from outside `in` are removed and refcounting runs: the nodes on a
 * cycle inside `in` or reachable from one (repeatedly drop nodes with no
 * incoming edge). */
static void refcount_survivors(const graph *g, const bool *in, bool *out) {
    int indeg[MAXN] = {0}, queue[MAXN], qh = 0, qt = 0;
    for (int i = 0; i < g->n; i++) {
        out[i] = in[i];
        if (!in[i]) continue;
        for (int k = 0; k < NODE_KIDS; k++)
            if (g->edge[i][k] >= 0 && in[g->edge[i][k]]) indeg[g->edge[i][k]]++;
    }
    for (int i = 0; i < g->n; i++)
        if (in[i] && indeg[i] == 0) queue[qt++] = i;
    while (qh < qt) {
        int v = queue[qh++];
        out[v] = false;
        for (int k = 0; k < NODE_KIDS; k++) {
            int w = g->edge[v][k];
            if (w >= 0 && in[w] && --indeg[w] == 0) queue[qt++] = w;
        }
    }
}

static void run_round(rh_heap *h, int round) {
    graph g;
    nodes_reset();
    memset(fin_count_by_id, 0, sizeof fin_count_by_id);
    fin_action = record_fin;
    g.n = 1 + (int)below(MAXN);
    /* Rounds with legacy finalizers are checked exactly (collect()'s value,
     * gc.garbage): no collection runs between the drops and the check.
     * The others may run automatic and young collections meanwhile. */
    bool exact = below(3) == 0;
    int legacy_pct = exact ? 10 : 0;
    int fin_pct = below(2) == 0 ? 30 : 0;
    bool autogc = !exact && below(3) == 0;
    bool young_after = !exact && below(2);
    if (autogc) {
        rh_gc_set_threshold(h, 1 + (long)below(8), 1 + (long)below(3), 1 + (long)below(3));
        rh_gc_enable(h);
    }
    for (int i = 0; i < g.n; i++) {
        uint32_t r = below(100);
        g.type[i] = (int)r < legacy_pct ? &legacy_type : (int)r < legacy_pct + fin_pct ? &fin_type : &node_type;
        g.obj[i] = node_new(h, g.type[i], i);
        g.root[i] = below(100) < 15;
        for (int k = 0; k < NODE_KIDS; k++) g.edge[i][k] = -1;
    }
    int density = 1 + (int)below(NODE_KIDS);
    for (int i = 0; i < g.n; i++)
        for (int k = 0; k < density; k++)
            if (below(3)) {
                int w = (int)below((uint32_t)g.n);
                g.edge[i][k] = w;
                node_set(g.obj[i], k, g.obj[w]);
            }
    /* Spread over the generations with young collections. */
    int spread = (int)below(3);
    for (int s = 0; s < spread; s++) rh_gc_collect(h, (int)below(2));

    /* Drop the references to non-roots, in random order. */
    int order[MAXN];
    for (int i = 0; i < g.n; i++) order[i] = i;
    for (int i = g.n - 1; i > 0; i--) {
        int j = (int)below((uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < g.n; i++)
        if (!g.root[order[i]]) rh_decref(g.obj[order[i]]);
    if (autogc) rh_gc_disable(h);

    bool reach[MAXN];
    bfs(&g, g.root, reach, NULL);

    /* A young collection must not free anything reachable. */
    if (young_after) {
        rh_gc_collect(h, (int)below(2));
        for (int i = 0; i < g.n; i++)
            if (reach[i] && nodes_destroyed[i])
                fail_msg("round %d: young collection freed reachable node %d", round, i);
    }

    /* The expected outcome of the full collection. */
    bool alive_u[MAXN], legacy_u[MAXN], fclosure[MAXN], survive[MAXN];
    int expect_collect = 0;
    for (int i = 0; i < g.n; i++) {
        alive_u[i] = !reach[i] && !nodes_destroyed[i];
        legacy_u[i] = alive_u[i] && g.type[i] == &legacy_type;
    }
    bfs(&g, legacy_u, fclosure, alive_u);  /* uncollectable set F */
    refcount_survivors(&g, fclosure, survive); /* what is left of F after the collectable part is cleared */
    int nlegacy = 0;
    for (int i = 0; i < g.n; i++) {
        if (alive_u[i] && !fclosure[i]) expect_collect++;
        if (survive[i]) expect_collect++;
        if (survive[i] && g.type[i] == &legacy_type) nlegacy++;
    }

    intptr_t got = rh_gc_collect(h, 2);
    if (exact && got != expect_collect)
        fail_msg("round %d: collect() returned %ld, expected %d", round, (long)got, expect_collect);

    for (int i = 0; i < g.n; i++) {
        bool should_die = !reach[i] && !survive[i];
        if (nodes_destroyed[i] != (should_die ? 1 : 0))
            fail_msg("round %d: node %d (%s, %s%s) destroyed %d times", round, i, g.type[i]->name,
                     reach[i] ? "reachable" : "unreachable", survive[i] ? ", uncollectable" : "",
                     nodes_destroyed[i]);
        if (reach[i]) {
            if (fin_count_by_id[i]) fail_msg("round %d: reachable node %d finalized", round, i);
            for (int k = 0; k < NODE_KIDS; k++) {
                rh_object *want = g.edge[i][k] >= 0 ? g.obj[g.edge[i][k]] : NULL;
                if (node_kid(g.obj[i], k) != want)
                    fail_msg("round %d: edge %d.%d of reachable node changed", round, i, k);
            }
        }
        if (g.type[i] == &fin_type && should_die && !fclosure[i] && fin_count_by_id[i] != 1)
            fail_msg("round %d: node %d finalized %d times", round, i, fin_count_by_id[i]);
    }
    rh_object *garbage = rh_gc_garbage(h);
    if (rh_list_size(garbage) != (size_t)nlegacy)
        fail_msg("round %d: gc.garbage holds %zu, expected %d", round, rh_list_size(garbage), nlegacy);

    /* Clean up: roots go, uncollectable cycles are broken by hand. */
    for (int i = 0; i < g.n; i++)
        if (g.root[i]) rh_decref(g.obj[i]);
    /* Legacy cycles the roots held become uncollectable now, and cycles that
     * only a legacy object (freed meanwhile) made uncollectable are left in
     * the oldest generation: repeat until nothing is found. */
    do {
        for (size_t i = 0; i < rh_list_size(garbage); i++) {
            rh_object *o = rh_list_get(garbage, (ptrdiff_t)i);
            for (int k = 0; k < NODE_KIDS; k++) node_set(o, k, NULL);
        }
        rh_list_clear(garbage);
    } while (rh_gc_collect(h, 2) > 0 || rh_list_size(garbage) > 0);
    if (nodes_destroyed_count != g.n)
        fail_msg("round %d: %d of %d nodes freed at the end", round, nodes_destroyed_count, g.n);
}

static void test_random_graphs(void **state) {
    (void)state;
    const char *env = getenv("RH_GC_ROUNDS");
    int rounds = env ? atoi(env) : 5000;
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    rh_gc_disable(h);
    for (int r = 0; r < rounds; r++) {
        run_round(h, r);
        rh_gc_set_threshold(h, 700, 10, 10);
    }
    assert_int_equal(rh_gc_verify(h), 0);
    rh_heap_destroy(h);
}

/* The same with a weak reference with a callback to some nodes, held by the
 * test: a callback runs exactly for the nodes that die, once, and finds the
 * weakref dead. */
static int wr_calls[MAXN];
static int wr_alive_in_cb;
static void wr_cb(rh_object *wr, void *data) {
    wr_calls[(intptr_t)data]++;
    if (rh_weakref_alive(wr)) wr_alive_in_cb++;
}

static void test_random_graphs_weakrefs(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h);
    for (int round = 0; round < 1000; round++) {
        nodes_reset();
        memset(wr_calls, 0, sizeof wr_calls);
        wr_alive_in_cb = 0;
        int n = 1 + (int)below(MAXN);
        rh_object *obj[MAXN], *wr[MAXN];
        bool root[MAXN];
        graph g;
        g.n = n;
        for (int i = 0; i < n; i++) {
            obj[i] = node_new(h, &node_type, i);
            g.obj[i] = obj[i];
            root[i] = below(100) < 20;
            for (int k = 0; k < NODE_KIDS; k++) g.edge[i][k] = -1;
            wr[i] = below(2) ? rh_weakref_new(obj[i], wr_cb, (void *)(intptr_t)i) : NULL;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 2; k++)
                if (below(2)) {
                    int w = (int)below((uint32_t)n);
                    g.edge[i][k] = w;
                    node_set(obj[i], k, obj[w]);
                }
        for (int i = 0; i < n; i++)
            if (!root[i]) rh_decref(obj[i]);
        bool reach[MAXN];
        bfs(&g, root, reach, NULL);
        rh_gc_collect(h, 2);
        for (int i = 0; i < n; i++) {
            if (nodes_destroyed[i] != (reach[i] ? 0 : 1))
                fail_msg("weak round %d: node %d destroyed %d", round, i, nodes_destroyed[i]);
            if (wr[i] && wr_calls[i] != (reach[i] ? 0 : 1))
                fail_msg("weak round %d: callback of node %d ran %d times", round, i, wr_calls[i]);
            if (wr[i] && rh_weakref_alive(wr[i]) != reach[i])
                fail_msg("weak round %d: weakref of node %d alive=%d", round, i, rh_weakref_alive(wr[i]));
        }
        assert_int_equal(wr_alive_in_cb, 0);
        for (int i = 0; i < n; i++) {
            if (root[i]) rh_decref(obj[i]);
            if (wr[i]) rh_decref(wr[i]);
        }
        rh_gc_collect(h, 2);
        assert_int_equal(nodes_destroyed_count, n);
    }
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_graphs),
        cmocka_unit_test(test_random_graphs_weakrefs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
