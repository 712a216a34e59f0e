/*
 * objgraph.c — the object graph (Python's objgraph, and guppy's retained
 * sizes): counts by type, growth, chains of referrers, retained sizes and
 * Graphviz drawings.
 *
 * Counting by type walks the collector's generation lists, as objgraph walks
 * gc.get_objects(): tracked containers only, the frozen ones excluded. A
 * heap without list links (docs/linkless.md) has its tracked objects in
 * the young array and the allocator's marked blocks instead: both walks
 * go through gc_linkless.c's rh__gc_linkless_each (generation by
 * generation for the counts, every tracked object for the graph).
 *
 * The graph, for the three other questions. Nodes: every object on the
 * collector's lists (the permanent generation included: frozen objects hold
 * references too), every object reached from them through the types'
 * traverse hooks (untracked containers, strings, numbers), and the objects
 * the caller names. Immortal objects are left out: they are never freed and
 * the static ones may live in read-only memory. Edges: one per reference a
 * traverse reports, so an object held twice by one list has two edges.
 *
 * Numbering reuses the collector's scratch word: while the graph is built
 * each node's rh_gcword holds its index + 1 (the old word is saved and put
 * back before the function returns, as gcapi.c's verifier does), so finding
 * the node of a pointer is one load and a compare (nodes[word - 1] == o),
 * with no hash table. This is why these functions refuse to run during a
 * collection (RH_ESTATE): the collector owns the word then. The graph's
 * arrays come from the C library, and nothing is allocated from the heap
 * while the words are borrowed, so no collection can start meanwhile.
 *
 * Roots. The program's own variables are invisible to the collector; an
 * object's reference count tells how many references it has in all, the
 * graph how many come from objects. find_backref_chain calls a root one of
 * the objects the caller names or, when it names none, an object that no
 * object of the graph refers to:
 * a breadth-first search over referrers from the object stops at the first
 * root, so the chain is a shortest one. rh_objgraph_retained calls a root an
 * object with more references than the graph's edges into it, i.e. held by
 * the program (or by memory the collector cannot see); the objects retained
 * by X are X and those that no root reaches without passing through X (X's
 * subtree in the dominator tree of the graph rooted at the roots): first mark
 * everything the roots other than X reach without entering X, then what X
 * reaches outside that mark is retained. When the program drops its last
 * reference to X, exactly those objects become unreachable (by reference
 * counting, or at the next collection for cycles among them).
 */
#include "tools/tools_internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * Counting by type
 * ------------------------------------------------------------------------- */

typedef struct count_ctx {
    rh_type_count *v;
    size_t n, cap;
    rh__index index;
    bool oom;
} count_ctx;

static uint32_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

typedef struct name_key {
    const count_ctx *c;
    const char *name;
} name_key;

static bool name_eq(const void *ctx, uint32_t idx) {
    const name_key *k = ctx;
    return strcmp(k->c->v[idx].name, k->name) == 0;
}

static void count_name(count_ctx *c, const char *name, size_t add) {
    if (c->oom) return;
    uint32_t hash = name_hash(name);
    name_key k = {c, name};
    long f = rh__index_find(&c->index, hash, name_eq, &k);
    if (f >= 0) {
        c->v[f].count += add;
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        rh_type_count *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    if (rh__index_add(&c->index, hash, (uint32_t)c->n) != 0) {
        c->oom = true;
        return;
    }
    c->v[c->n++] = (rh_type_count){name, add, 0};
}

static int by_count(const void *pa, const void *pb) {
    const rh_type_count *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int by_delta(const void *pa, const void *pb) {
    const rh_type_count *a = pa, *b = pb;
    if (a->delta != b->delta) return a->delta > b->delta ? -1 : 1;
    return strcmp(a->name, b->name);
}

static const char *tname(const rh_object *o) {
    return o->rh_type && o->rh_type->name ? o->rh_type->name : "?";
}

static int count_linkless(rh_object *o, void *arg) {
    count_name(arg, tname(o), 1);
    return 0;
}

/* Tracked objects by type name (unsorted). */
static rh_type_count *count_types(rh_heap *h, size_t *n) {
    count_ctx c = {0};
    for (int g = 0; g < RH_GC_GENERATIONS; g++) {
        if (h->gc.linkless) (void)rh__gc_linkless_each(h, g, count_linkless, &c);
        rh__gchead *l = rh__gc_list(h, g);
        for (rh__gchead *x = (rh__gchead *)l->next; x != l; x = (rh__gchead *)x->next)
            count_name(&c, tname(RH__FROM_GC(x)), 1);
    }
    rh__index_free(&c.index);
    if (c.oom) {
        free(c.v);
        rh__nomem(h);
        *n = 0;
        return NULL;
    }
    *n = c.n;
    if (!c.v) c.v = malloc(sizeof *c.v); /* an empty result is not an error */
    if (!c.v) rh__nomem(h);
    return c.v;
}

static bool refuse_in_collection(rh_heap *h, const char *what) {
    if (!h->gc.collecting) return false;
    rh_err_set(h, RH_ESTATE, "%s: not allowed during a collection", what);
    return true;
}

rh_type_count *rh_objgraph_most_common_types(rh_heap *h, size_t limit, size_t *n) {
    *n = 0;
    if (refuse_in_collection(h, "rh_objgraph_most_common_types")) return NULL;
    size_t m;
    rh_type_count *v = count_types(h, &m);
    if (!v) return NULL;
    qsort(v, m, sizeof *v, by_count);
    *n = limit && limit < m ? limit : m;
    return v;
}

/* The show_ functions: one row a type, names padded to the longest, the
 * growth with its delta; the table is freed. */
static int show_counts(rh_type_count *v, size_t n, bool with_delta, FILE *out) {
    if (!v) return -1;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) w = strlen(v[i].name) > w ? strlen(v[i].name) : w;
    for (size_t i = 0; i < n; i++) {
        if (with_delta) fprintf(out, "%-*s %10zu %+10td\n", (int)w, v[i].name, v[i].count, v[i].delta);
        else fprintf(out, "%-*s %zu\n", (int)w, v[i].name, v[i].count);
    }
    free(v);
    return 0;
}

int rh_objgraph_show_most_common_types(rh_heap *h, size_t limit, FILE *out) {
    size_t n;
    rh_type_count *v = rh_objgraph_most_common_types(h, limit ? limit : 10, &n);
    return show_counts(v, n, false, out);
}

rh_type_count *rh_objgraph_growth(rh_heap *h, size_t limit, size_t *n) {
    *n = 0;
    if (refuse_in_collection(h, "rh_objgraph_growth")) return NULL;
    struct rh__tools *T = rh__tools_get(h);
    if (!T) return rh__nomem(h);
    size_t m;
    rh_type_count *v = count_types(h, &m);
    if (!v) return NULL;
    /* the peaks: names copied (a class's name may die with it) */
    rh__type_count_entry *g = realloc(T->growth, (T->ngrowth + m + 1) * sizeof *g);
    if (!g) {
        free(v);
        return rh__nomem(h);
    }
    T->growth = g;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = 0;
        while (j < T->ngrowth && strcmp(T->growth[j].name, v[i].name) != 0) j++;
        size_t before = j < T->ngrowth ? T->growth[j].count : 0;
        if (v[i].count <= before) continue;
        if (j == T->ngrowth) {
            char *name = strdup(v[i].name);
            if (!name) {
                free(v);
                return rh__nomem(h);
            }
            T->growth[T->ngrowth++] = (rh__type_count_entry){name, 0};
        }
        T->growth[j].count = v[i].count;
        v[k] = v[i];
        v[k].delta = (ptrdiff_t)(v[i].count - before);
        k++;
    }
    qsort(v, k, sizeof *v, by_delta);
    *n = limit && limit < k ? limit : k;
    return v;
}

int rh_objgraph_show_growth(rh_heap *h, size_t limit, FILE *out) {
    size_t n;
    rh_type_count *v = rh_objgraph_growth(h, limit ? limit : 10, &n);
    return show_counts(v, n, true, out);
}

/* ---------------------------------------------------------------------------
 * The graph
 * ------------------------------------------------------------------------- */

typedef struct graph {
    rh_object **nodes;
    uint32_t *oldword;
    size_t n, cap;
    uint32_t *esrc, *edst; /* edges, in discovery order        */
    size_t ne, ecap;
    size_t *off;           /* CSR by source (fwd) or target (rev) */
    uint32_t *adj;
    bool oom;
    size_t cur;            /* the node being traversed          */
} graph;

static long node_of(graph *g, rh_object *o) {
    uint32_t w = o->rh_gcword;
    if (w && w <= g->n && g->nodes[w - 1] == o) return (long)w - 1;
    if (g->oom) return -1;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        rh_object **nv = realloc(g->nodes, cap * sizeof *nv);
        if (!nv) goto oom;
        g->nodes = nv;
        uint32_t *ow = realloc(g->oldword, cap * sizeof *ow);
        if (!ow) goto oom;
        g->oldword = ow;
        g->cap = cap;
    }
    if (g->n >= UINT32_MAX - 1) goto oom;
    g->nodes[g->n] = o;
    g->oldword[g->n] = w;
    o->rh_gcword = (uint32_t)(g->n + 1);
    return (long)g->n++;
oom:
    g->oom = true;
    return -1;
}

static void add_node(graph *g, rh_object *o) {
    if (o && o->rh_refcnt != RH_IMMORTAL) node_of(g, o);
}

static int visit_edge(rh_object *o, void *arg) {
    graph *g = arg;
    if (!o || o->rh_refcnt == RH_IMMORTAL || g->oom) return 0;
    long j = node_of(g, o);
    if (j < 0) return 0;
    if (g->ne == g->ecap) {
        size_t cap = g->ecap ? g->ecap * 2 : 4096;
        uint32_t *s = realloc(g->esrc, cap * sizeof *s);
        if (!s) goto oom;
        g->esrc = s;
        uint32_t *d = realloc(g->edst, cap * sizeof *d);
        if (!d) goto oom;
        g->edst = d;
        g->ecap = cap;
    }
    g->esrc[g->ne] = (uint32_t)g->cur;
    g->edst[g->ne] = (uint32_t)j;
    g->ne++;
    return 0;
oom:
    g->oom = true;
    return 0;
}

/* Gives every node its old collector word back; frees the arrays but keeps
 * the node list when keep_nodes. */
static void graph_release(graph *g, bool keep_nodes) {
    for (size_t i = 0; i < g->n; i++) g->nodes[i]->rh_gcword = g->oldword[i];
    free(g->oldword);
    g->oldword = NULL;
    free(g->esrc);
    free(g->edst);
    free(g->off);
    free(g->adj);
    g->esrc = g->edst = g->adj = NULL;
    g->off = NULL;
    if (!keep_nodes) {
        free(g->nodes);
        g->nodes = NULL;
    }
}

static int add_linkless(rh_object *o, void *arg) {
    add_node(arg, o);
    return 0;
}

/* Builds the graph with the extra seeds; false (RH_ENOMEM set, words given
 * back) when out of memory. */
static bool graph_build(rh_heap *h, graph *g, rh_object *const *seeds, size_t nseeds) {
    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < nseeds; i++) add_node(g, seeds[i]);
    /* the layout without list links: every tracked object by a walk (the
     * only way to list them that lets add_node write their words) */
    if (h->gc.linkless) (void)rh__gc_linkless_each(h, RH__GC_EACH_TRACKED, add_linkless, g);
    for (int k = 0; k <= RH_GC_GENERATIONS; k++) {
        rh__gchead *l = rh__gc_list(h, k);
        for (rh__gchead *x = (rh__gchead *)l->next; x != l; x = (rh__gchead *)x->next) add_node(g, RH__FROM_GC(x));
    }
    for (g->cur = 0; g->cur < g->n && !g->oom; g->cur++) {
        rh_object *o = g->nodes[g->cur];
        if (RH__IS_GC(o) && o->rh_type->traverse) o->rh_type->traverse(o, visit_edge, g);
    }
    if (g->oom) {
        graph_release(g, false);
        rh__nomem(h);
        return false;
    }
    return true;
}

/* Adjacency by source (reverse == false) or by target, in CSR form. */
static bool graph_index(rh_heap *h, graph *g, bool reverse) {
    free(g->off);
    free(g->adj);
    g->off = calloc(g->n + 1, sizeof *g->off);
    g->adj = malloc((g->ne ? g->ne : 1) * sizeof *g->adj);
    if (!g->off || !g->adj) {
        graph_release(g, false);
        rh__nomem(h);
        return false;
    }
    const uint32_t *from = reverse ? g->edst : g->esrc, *to = reverse ? g->esrc : g->edst;
    for (size_t e = 0; e < g->ne; e++) g->off[from[e] + 1]++;
    for (size_t i = 0; i < g->n; i++) g->off[i + 1] += g->off[i];
    size_t *fill = malloc((g->n + 1) * sizeof *fill);
    if (!fill) {
        graph_release(g, false);
        rh__nomem(h);
        return false;
    }
    memcpy(fill, g->off, (g->n + 1) * sizeof *fill);
    for (size_t e = 0; e < g->ne; e++) g->adj[fill[from[e]]++] = to[e];
    free(fill);
    return true;
}

/* ---------------------------------------------------------------------------
 * Chains of referrers
 * ------------------------------------------------------------------------- */

rh_object *rh_objgraph_find_backref_chain(rh_heap *h, rh_object *obj, rh_object *const *roots, size_t nroots,
                                          size_t max_depth) {
    if (refuse_in_collection(h, "rh_objgraph_find_backref_chain")) return NULL;
    if (!obj || obj->rh_refcnt == RH_IMMORTAL) {
        rh_err_set(h, RH_EVALUE, "rh_objgraph_find_backref_chain: not a heap object");
        return NULL;
    }
    /* the result exists before the graph: no allocation while it is built */
    rh_object *result = rh_list_new(h, 0);
    if (!result) return NULL;
    graph g;
    if (!graph_build(h, &g, &obj, 1)) goto fail;
    bool *is_root = calloc(g.n, sizeof *is_root);
    uint32_t *parent = malloc(g.n * sizeof *parent), *depth = malloc(g.n * sizeof *depth);
    uint32_t *queue = malloc(g.n * sizeof *queue);
    uint32_t *chain = NULL;
    size_t nchain = 0;
    if (!is_root || !parent || !depth || !queue) goto oom;
    for (size_t e = 0; e < g.ne; e++) is_root[g.edst[e]] = true; /* "has a referrer" for now */
    for (size_t i = 0; i < g.n; i++) is_root[i] = !is_root[i];
    uint32_t self = (uint32_t)(result->rh_gcword - 1); /* the result list is no root */
    is_root[self] = false;
    if (nroots) {
        memset(is_root, 0, g.n * sizeof *is_root);
        for (size_t i = 0; i < nroots; i++) {
            rh_object *r = roots[i];
            if (!r || r->rh_refcnt == RH_IMMORTAL) continue;
            uint32_t w = r->rh_gcword;
            if (w && w <= g.n && g.nodes[w - 1] == r) is_root[w - 1] = true;
        }
    }
    if (!graph_index(h, &g, true)) {
        g.nodes = NULL;
        goto oom_released;
    }
    for (size_t i = 0; i < g.n; i++) parent[i] = UINT32_MAX;
    uint32_t t = (uint32_t)(obj->rh_gcword - 1);
    size_t qh = 0, qt = 0;
    queue[qt++] = t;
    parent[t] = t;
    depth[t] = 0;
    long found = -1;
    while (qh < qt) {
        uint32_t v = queue[qh++];
        if (is_root[v]) {
            found = v;
            break;
        }
        if (max_depth && depth[v] >= max_depth) continue;
        for (size_t k = g.off[v]; k < g.off[v + 1]; k++) {
            uint32_t r = g.adj[k];
            if (parent[r] != UINT32_MAX || r == self) continue;
            parent[r] = v;
            depth[r] = depth[v] + 1;
            queue[qt++] = r;
        }
    }
    if (found >= 0) {
        chain = malloc((depth[found] + 1) * sizeof *chain);
        if (!chain) goto oom;
        for (uint32_t v = (uint32_t)found;; v = parent[v]) {
            chain[nchain++] = v;
            if (v == t) break;
        }
    }
    /* the chain as object pointers, then the words go back */
    rh_object **objs = malloc((nchain ? nchain : 1) * sizeof *objs);
    if (!objs) goto oom;
    for (size_t i = 0; i < nchain; i++) objs[i] = g.nodes[chain[i]];
    graph_release(&g, false);
    free(is_root);
    free(parent);
    free(depth);
    free(queue);
    free(chain);
    for (size_t i = 0; i < nchain; i++) {
        if (rh_list_append(result, objs[i]) != 0) {
            free(objs);
            rh_decref(result);
            return NULL;
        }
    }
    free(objs);
    return result;
oom:
    graph_release(&g, false);
oom_released:
    free(is_root);
    free(parent);
    free(depth);
    free(queue);
    free(chain);
    rh__nomem(h);
fail:
    rh_decref(result);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Retained size
 * ------------------------------------------------------------------------- */

/* A walk that could not get its three scratch arrays or its index: the words
 * go back (if still borrowed), the arrays are freed, and the error is
 * out-of-memory unless the index set it already. */
static int walk_setup_failed(rh_heap *h, graph *g, void *a, void *b, void *c) {
    if (g->oldword) graph_release(g, false);
    free(a);
    free(b);
    free(c);
    if (rh_err(h) != RH_ENOMEM) rh__nomem(h);
    return -1;
}

int rh_objgraph_retained(rh_heap *h, rh_object *obj, size_t *bytes, size_t *count) {
    if (refuse_in_collection(h, "rh_objgraph_retained")) return -1;
    if (!obj || obj->rh_refcnt == RH_IMMORTAL) {
        if (bytes) *bytes = 0;
        if (count) *count = 0;
        return 0; /* immortal: freed with nothing */
    }
    graph g;
    if (!graph_build(h, &g, &obj, 1)) return -1;
    uint32_t *indeg = calloc(g.n, sizeof *indeg);
    uint8_t *mark = calloc(g.n, 1);
    uint32_t *stack = malloc((g.n + g.ne + 1) * sizeof *stack);
    if (!indeg || !mark || !stack || !graph_index(h, &g, false)) return walk_setup_failed(h, &g, indeg, mark, stack);
    for (size_t e = 0; e < g.ne; e++) indeg[g.edst[e]]++;
    uint32_t x = (uint32_t)(obj->rh_gcword - 1);
    /* 1: what the other roots reach without entering x */
    size_t sp = 0;
    mark[x] = 2;
    for (size_t i = 0; i < g.n; i++) {
        if (i == x || mark[i] || g.nodes[i]->rh_refcnt <= indeg[i]) continue;
        mark[i] = 1;
        stack[sp++] = (uint32_t)i;
        while (sp) {
            uint32_t v = stack[--sp];
            for (size_t k = g.off[v]; k < g.off[v + 1]; k++) {
                uint32_t w = g.adj[k];
                if (!mark[w]) {
                    mark[w] = 1;
                    stack[sp++] = w;
                }
            }
        }
    }
    /* 2: what x reaches outside that */
    size_t n = 0;
    stack[sp++] = x;
    rh_object **ret = malloc(g.n * sizeof *ret);
    free(indeg);
    if (!ret) {
        graph_release(&g, false);
        free(mark);
        free(stack);
        rh__nomem(h);
        return -1;
    }
    while (sp) {
        uint32_t v = stack[--sp];
        ret[n++] = g.nodes[v];
        for (size_t k = g.off[v]; k < g.off[v + 1]; k++) {
            uint32_t w = g.adj[k];
            if (!mark[w]) {
                mark[w] = 2;
                stack[sp++] = w;
            }
        }
    }
    graph_release(&g, false);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += rh_sizeof(ret[i]);
    free(ret);
    free(mark);
    free(stack);
    if (bytes) *bytes = total;
    if (count) *count = n;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Graphviz
 * ------------------------------------------------------------------------- */

static void dot_escaped(FILE *out, const char *s, size_t max) {
    size_t i = 0;
    for (; *s && i < max; s++, i++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c == '\n') fputs("\\n", out);
        else if (c < 0x20) fputc(' ', out);
        else fputc(c, out);
    }
    if (*s) fputs("...", out);
}

/* The name of the reference from a to b: a list index, a dict key, an
 * attribute; "" when none is known. Allocates only for instances (vars). */
static void edge_label(rh_object *a, rh_object *b, char *buf, size_t cap) {
    buf[0] = '\0';
    rh_object *named = NULL;
    if (rh_is_type(a, &rh_list_type)) {
        for (size_t k = 0; k < rh_list_size(a); k++)
            if (rh_list_get(a, (ptrdiff_t)k) == b) {
                snprintf(buf, cap, "[%zu]", k);
                return;
            }
        return;
    }
    if (rh_is_instance(a)) named = rh_vars(a);
    else if (rh_is_type(a, &rh_dict_type)) named = rh_newref(a);
    if (!named) {
        rh_err_clear(rh_heap_of(a));
        return;
    }
    size_t pos = 0;
    rh_object *k, *v;
    while (rh_dict_next(named, &pos, &k, &v)) {
        if (v != b && k != b) continue;
        if (rh_is_type(k, &rh_str_type)) snprintf(buf, cap, "%s%s", k == b ? "key " : "", rh_str_cstr(k));
        else snprintf(buf, cap, "%s", k == b ? "key" : "value");
        break;
    }
    rh_decref(named);
}

int rh_objgraph_write_dot(rh_heap *h, rh_object *const *objs, size_t nobjs, const rh_dot_options *opt, FILE *out) {
    if (refuse_in_collection(h, "rh_objgraph_write_dot")) return -1;
    rh_dot_options o = opt ? *opt : (rh_dot_options){0};
    if (!o.max_depth) o.max_depth = 3;
    if (!o.max_nodes) o.max_nodes = 200;
    graph g;
    if (!graph_build(h, &g, objs, nobjs)) return -1;
    uint32_t *depth = malloc((g.n ? g.n : 1) * sizeof *depth), *queue = malloc((g.n ? g.n : 1) * sizeof *queue);
    uint32_t *drawn_id = malloc((g.n ? g.n : 1) * sizeof *drawn_id);
    if (!depth || !queue || !drawn_id || !graph_index(h, &g, o.backrefs))
        return walk_setup_failed(h, &g, depth, queue, drawn_id);
    for (size_t i = 0; i < g.n; i++) drawn_id[i] = UINT32_MAX;
    size_t qh = 0, qt = 0;
    for (size_t i = 0; i < nobjs; i++) {
        rh_object *s = objs[i];
        if (!s || s->rh_refcnt == RH_IMMORTAL) continue;
        uint32_t v = s->rh_gcword - 1;
        if (drawn_id[v] != UINT32_MAX) continue;
        drawn_id[v] = (uint32_t)qt;
        depth[v] = 0;
        queue[qt++] = v;
    }
    size_t nstart = qt;
    /* breadth first: the filter is applied after the walk (user code must
     * not run while the words are borrowed) */
    while (qh < qt && qt < o.max_nodes) {
        uint32_t v = queue[qh++];
        if (depth[v] >= o.max_depth) continue;
        for (size_t k = g.off[v]; k < g.off[v + 1] && qt < o.max_nodes; k++) {
            uint32_t w = g.adj[k];
            if (drawn_id[w] != UINT32_MAX) continue;
            drawn_id[w] = (uint32_t)qt;
            depth[w] = depth[v] + 1;
            queue[qt++] = w;
        }
    }
    /* edges among the drawn nodes, as (drawn index, drawn index) */
    uint32_t *ea = malloc((g.ne ? g.ne : 1) * 2 * sizeof *ea);
    size_t nedges = 0;
    rh_object **nodes = malloc((qt ? qt : 1) * sizeof *nodes);
    if (!ea || !nodes) {
        graph_release(&g, false);
        free(depth);
        free(queue);
        free(drawn_id);
        free(ea);
        free(nodes);
        rh__nomem(h);
        return -1;
    }
    for (size_t i = 0; i < qt; i++) nodes[i] = g.nodes[queue[i]];
    for (size_t e = 0; e < g.ne; e++) {
        uint32_t a = drawn_id[g.esrc[e]], b = drawn_id[g.edst[e]];
        if (a == UINT32_MAX || b == UINT32_MAX) continue;
        ea[2 * nedges] = a;
        ea[2 * nedges + 1] = b;
        nedges++;
    }
    graph_release(&g, false);
    free(depth);
    free(queue);
    free(drawn_id);

    bool *keep = malloc((qt ? qt : 1) * sizeof *keep);
    if (!keep) {
        free(ea);
        free(nodes);
        rh__nomem(h);
        return -1;
    }
    for (size_t i = 0; i < qt; i++) keep[i] = i < nstart || !o.filter || o.filter(nodes[i], o.filter_data);
    /* labels may allocate (vars): no automatic collection meanwhile */
    bool gc_was = rh_gc_isenabled(h);
    rh_gc_disable(h);
    fprintf(out, "digraph objgraph {\n");
    if (o.title) {
        fputs("  label=\"", out);
        dot_escaped(out, o.title, 200);
        fputs("\"; labelloc=t;\n", out);
    }
    fputs("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#d8ecd8\", fontname=Helvetica];\n"
          "  edge [fontname=Helvetica, fontsize=10];\n",
          out);
    for (size_t i = 0; i < qt; i++) {
        if (!keep[i]) continue;
        char repr[96];
        rh_repr(nodes[i], repr, sizeof repr);
        fprintf(out, "  o%zu [label=\"", i);
        dot_escaped(out, tname(nodes[i]), 60);
        fputs("\\n", out);
        dot_escaped(out, repr, 40);
        fprintf(out, "\\nrefcount %u\"%s];\n", (unsigned)nodes[i]->rh_refcnt,
                i < nstart ? ", fillcolor=\"#f4d27a\"" : "");
    }
    for (size_t e = 0; e < nedges; e++) {
        uint32_t a = ea[2 * e], b = ea[2 * e + 1];
        if (!keep[a] || !keep[b]) continue;
        /* a is the referrer, b the referent, whichever way the walk went */
        char label[80];
        edge_label(nodes[a], nodes[b], label, sizeof label);
        fprintf(out, "  o%u -> o%u [label=\"", a, b);
        dot_escaped(out, label, 60);
        fputs("\"];\n", out);
    }
    fputs("}\n", out);
    if (gc_was) rh_gc_enable(h);
    free(keep);
    free(ea);
    free(nodes);
    return ferror(out) ? -1 : 0;
}
