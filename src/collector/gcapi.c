/*
 * gcapi.c — the introspection half of Python's gc module: get_objects,
 * get_referrers, get_referents, garbage, and refheap's traverse verifier.
 * The collector itself is in gc.c.
 *
 * get_objects / get_referrers walk the generation lists (never the permanent
 * generation: frozen objects are invisible to them, as in CPython) and build
 * a new list; the list being built is tracked in generation 0 from its
 * creation, so it is skipped explicitly and never contains itself.
 * get_referents asks each object's traverse. None of them changes what is
 * tracked; they may be called from finalizers and callbacks during a
 * collection (the objects then on the collection's private lists are not
 * seen, as in CPython).
 *
 * rh_gc_verify — "is every traverse telling the truth?". A traverse that
 * reports a reference its object does not own (a borrowed pointer, a child
 * visited twice) makes the collector subtract too much: in CPython it frees
 * live objects. The verifier counts, for every object referenced by a tracked
 * object, how many times the traverses of all tracked objects report it
 * (in the object's rh_gcword, scratch space outside the core of a
 * collection): that can never exceed its reference count, since every
 * reported reference must be owned. Three passes over the tracked objects:
 * zero the counters of everything reported, count, then compare and report
 * each over-reported object once, naming the type of the first referrer met
 * (with a single referrer, the culprit); the third pass leaves every counter
 * at 0 again, as the collector requires of tracked objects between
 * collections (gc_internal.h). It also checks the lists' links,
 * that no tracked object has a zero count, and, outside a collection, that no
 * collection flag was left behind. Immortal objects are skipped (their count
 * cannot be exceeded and the static ones may be read-only). It allocates
 * nothing, so it works when memory is exhausted.
 *
 * What counting cannot catch: an over-report that stays within the count,
 * which is the dangerous one (gc.c's essay: an excess equal to the
 * references from outside the collected set frees a live object). The
 * verifier narrows it where it can:
 *   - in debug mode the live untracked containers (the debug allocator
 *     lists every live object) are referrers too, so references held by a
 *     container the collector never sees are counted;
 *   - a referent in another heap is reported (and its word never written:
 *     that heap's collector relies on it);
 *   - a container reached from a referrer but not tracked, although it holds
 *     a reference to a container and its type's untrack_check (if any) does
 *     not let it go untracked, is reported: a forgotten rh_gc_track, a cycle
 *     through it never freed.
 * References from C variables and other non-containers stay invisible: a
 * traverse that over-reports exactly by those is found only by a test that
 * drops them.
 *
 * A heap without list links (docs/linkless.md) has its tracked objects in
 * the young array and the allocator's marked blocks, and its containers'
 * rh_gcword holds their state: the verifier first audits that layout's
 * invariants (gc_linkless.c's essay), then runs the same three passes over
 * every tracked object (one walk each), counting in LOW of such a
 * container (saturating at LOW's largest value) and in the whole word of
 * a non-container; objects carrying a collection's or a round's marks are
 * not counted (LOW is theirs); the young objects get their index back at
 * the end. get_objects and get_referrers walk the same way, generation by
 * generation.
 */
#include "collector/gc_internal.h"

#include <inttypes.h>

/* ---------------------------------------------------------------------------
 * Building result lists.
 * ------------------------------------------------------------------------- */

static int append_list(rh_heap *h, rh_object *result, rh__gchead *l) {
    for (rh__gchead *g = (rh__gchead *)l->next; g != l; g = (rh__gchead *)g->next) {
        rh_object *o = RH__FROM_GC(g);
        if (o != result && h->lists->append(result, o) < 0) return -1;
    }
    return 0;
}

typedef struct linkless_append {
    rh_heap *h;
    rh_object *result;
} linkless_append;
static int append_linkless(rh_object *o, void *arg) {
    linkless_append *c = arg;
    return (o != c->result && c->h->lists->append(c->result, o) < 0) ? -1 : 0;
}

rh_object *rh_gc_get_objects(rh_heap *h, int generation) {
    if (generation < -1 || generation >= RH_GC_GENERATIONS) {
        rh_err_set(h, RH_EVALUE,
                   "generation %d: must be -1 (all) or less than the number of generations (%d)",
                   generation, RH_GC_GENERATIONS);
        return NULL;
    }
    rh__gc_incr_settle(h, false); /* the round's objects back in generation 2 */
    rh_object *result = h->lists->make(h, 0);
    if (!result) return NULL;
    int lo = generation < 0 ? 0 : generation;
    int hi = generation < 0 ? RH_GC_GENERATIONS - 1 : generation;
    for (int i = lo; i <= hi; i++) {
        linkless_append c = {h, result};
        if (h->gc.linkless && rh__gc_linkless_each(h, i, append_linkless, &c) < 0) {
            rh_decref(result);
            return NULL;
        }
        if (append_list(h, result, rh__gc_list(h, i)) < 0) {
            rh_decref(result);
            return NULL;
        }
    }
    return result;
}

typedef struct referrers_ctx {
    rh_object *const *objs;
    size_t n;
} referrers_ctx;

static int visit_is_target(rh_object *o, void *arg) {
    const referrers_ctx *c = arg;
    for (size_t i = 0; i < c->n; i++)
        if (c->objs[i] == o) return 1;
    return 0;
}

typedef struct linkless_referrers {
    rh_heap *h;
    rh_object *result;
    referrers_ctx c;
} linkless_referrers;
static int referrer_linkless(rh_object *o, void *arg) {
    linkless_referrers *l = arg;
    if (o == l->result || l->c.n == 0) return 0;
    if (o->rh_type->traverse(o, visit_is_target, &l->c) && l->h->lists->append(l->result, o) < 0) return -1;
    return 0;
}

rh_object *rh_gc_get_referrers(rh_heap *h, rh_object *const *objs, size_t n) {
    rh__gc_incr_settle(h, false);
    rh_object *result = h->lists->make(h, 0);
    if (!result) return NULL;
    referrers_ctx c = {objs, n};
    for (int i = 0; h->gc.linkless && i < RH_GC_GENERATIONS; i++) {
        linkless_referrers l = {h, result, c};
        if (rh__gc_linkless_each(h, i, referrer_linkless, &l) < 0) {
            rh_decref(result);
            return NULL;
        }
    }
    for (int i = 0; i < RH_GC_GENERATIONS; i++) {
        rh__gchead *l = rh__gc_list(h, i);
        for (rh__gchead *g = (rh__gchead *)l->next; g != l; g = (rh__gchead *)g->next) {
            rh_object *o = RH__FROM_GC(g);
            if (o == result || n == 0) continue;
            if (o->rh_type->traverse(o, visit_is_target, &c) && h->lists->append(result, o) < 0) {
                rh_decref(result);
                return NULL;
            }
        }
    }
    return result;
}

typedef struct append_ctx {
    const rh__list_ops *lists;
    rh_object *result;
} append_ctx;

static int visit_append(rh_object *o, void *arg) {
    if (!o) return 0;
    const append_ctx *c = arg;
    return c->lists->append(c->result, o) < 0 ? -1 : 0;
}

rh_object *rh_gc_get_referents(rh_heap *h, rh_object *const *objs, size_t n) {
    rh_object *result = h->lists->make(h, 0);
    if (!result) return NULL;
    append_ctx c = {h->lists, result};
    for (size_t i = 0; i < n; i++) {
        rh_object *o = objs[i];
        if (!o || !RH__IS_GC(o) || !o->rh_type->traverse) continue;
        if (o->rh_type->traverse(o, visit_append, &c)) {
            rh_decref(result);
            return NULL;
        }
    }
    return result;
}

rh_object *rh_gc_garbage(rh_heap *h) { return rh__gc_garbage_list(h); }

/* ---------------------------------------------------------------------------
 * The verifier.
 * ------------------------------------------------------------------------- */

typedef struct verify_ctx {
    rh_heap *h;
    rh_object *referrer;
    size_t problems;
} verify_ctx;

static const char *tname(const rh_object *o) { return o->rh_type->name ? o->rh_type->name : "?"; }

/* Is o an object of another heap? (Never written to: that heap's collector
 * may rely on its scratch word.) */
static bool foreign(const verify_ctx *c, const rh_object *o) {
    rh_heap *oh = rh__heap_of(o);
    return oh && oh != c->h;
}

/* Where the count of o's references is kept: the whole collector word of a
 * non-container and of a container of the linked layout (0 between
 * collections), LOW of a container without links (docs/linkless.md: its
 * other bits are its state; LOW is 0 or, while young, its index in the
 * young array, given back after the passes). cmax: the count's largest
 * value, 0 when o is not counted at all (a container without links that
 * carries a collection's or a round's marks: LOW is theirs). */
static inline bool low_count(const verify_ctx *c, const rh_object *o) {
    return c->h->gc.linkless && RH__IS_GC(o);
}
static inline uint32_t cmax(const verify_ctx *c, const rh_object *o) {
    if (!low_count(c, o)) return UINT32_MAX;
    return (o->rh_gcword & (RH__GCW_MARKS | RH__GCW_ROUND)) ? 0 : RH__GCW_LOW;
}
static inline uint32_t cget(const verify_ctx *c, const rh_object *o) {
    return low_count(c, o) ? o->rh_gcword & RH__GCW_LOW : o->rh_gcword;
}
static inline void cset(const verify_ctx *c, rh_object *o, uint32_t v) {
    o->rh_gcword = low_count(c, o) ? (o->rh_gcword & ~RH__GCW_LOW) | v : v;
}

static int visit_zero(rh_object *o, void *arg) {
    if (o && o->rh_refcnt != RH_IMMORTAL && !foreign(arg, o) && cmax(arg, o)) cset(arg, o, 0);
    return 0;
}

static int visit_count(rh_object *o, void *arg) {
    if (o && o->rh_refcnt != RH_IMMORTAL && !foreign(arg, o) && cget(arg, o) < cmax(arg, o))
        cset(arg, o, cget(arg, o) + 1);
    return 0;
}

/* May o take part in a cycle? A container that is tracked, or untracked
 * without its type's untrack_check agreeing (a tuple or dict the collector
 * untracked holds nothing that can). */
static int visit_cycle_capable(rh_object *o, void *arg) {
    (void)arg;
    if (!o || !RH__IS_GC(o)) return 0;
    if (rh__gc_tracked_any(o)) return 1;
    return !(o->rh_type->untrack_check && o->rh_type->untrack_check(o));
}

/* An untracked container that the collector should see: it holds a
 * reference to a container, and its type's untrack_check (if any) does not
 * let it go untracked. A cycle through it is never freed. */
static bool wrongly_untracked(rh_object *o) {
    if (!RH__IS_GC(o) || o->rh_refcnt == 0 || !o->rh_type->traverse || rh__gc_tracked_any(o)) return false;
    if (o->rh_type->untrack_check && o->rh_type->untrack_check(o)) return false;
    return o->rh_type->traverse(o, visit_cycle_capable, NULL) != 0;
}

static int visit_check(rh_object *o, void *arg) {
    verify_ctx *c = arg;
    if (!o || o->rh_refcnt == RH_IMMORTAL) return 0;
    if (foreign(c, o)) {
        rh__gc_printf(c->h, "gc: verify: <%s %p> references <%s %p> of another heap (%p): "
                      "objects may refer only to objects of their own heap",
                      tname(c->referrer), (void *)c->referrer, tname(o), (void *)o, (void *)rh__heap_of(o));
        c->problems++;
        return 0;
    }
    if (cmax(c, o) == 0) return 0; /* not counted */
    uint32_t n = cget(c, o);
    if (n > o->rh_refcnt) {
        rh__gc_printf(c->h, "gc: verify: %s traverse reports %" PRIu32 " references to <%s %p> with refcount %" PRIu32,
                      tname(c->referrer), n, tname(o), (void *)o, o->rh_refcnt);
        c->problems++;
    }
    /* Checked the first time it is met (its count is not 0 yet). */
    if (n != 0 && wrongly_untracked(o)) {
        rh__gc_printf(c->h, "gc: verify: <%s %p> references <%s %p>, a container the collector does not track "
                      "though it holds references to containers (a forgotten rh_gc_track?): a cycle through "
                      "it is never freed",
                      tname(c->referrer), (void *)c->referrer, tname(o), (void *)o);
        c->problems++;
    }
    /* Checked once (so reported once), and back to 0: the collector expects
     * the word of every tracked object to be 0 between collections (LOW 0,
     * for this layout's, the young ones' index given back at the end). */
    cset(c, o, 0);
    return 0;
}

/* Debug mode: the live untracked containers count as referrers too (their
 * references are "from outside" for the collector: an over-report that
 * matches them is the one that frees a live object). */
typedef struct verify_pass {
    verify_ctx *c;
    rh_visitfn visit;
} verify_pass;

static void verify_untracked(rh_object *o, void *arg) {
    verify_pass *p = arg;
    if (!RH__IS_GC(o) || o->rh_refcnt == 0 || !o->rh_type->traverse || rh__gc_tracked_any(o)) return;
    p->c->referrer = o;
    o->rh_type->traverse(o, p->visit, p->c);
}

/* The lists to verify: generations 0..2 and the permanent one. */
#define VERIFY_LISTS (RH_GC_GENERATIONS + 1)

/* The layout without list links (docs/linkless.md): its invariants
 * (gc_linkless.c's audit: the young array and its indices, every marked
 * block a live container of the layout, the counters against a walk, no
 * collection's marks outside a collection, no round's marks outside a
 * round), then the same three passes, the referrers being every tracked
 * object (one walk of the marked blocks, a collection's set included) and
 * in debug mode the untracked containers. The counts live in LOW; the
 * young objects get their index back at the end. Not run when the audit
 * found the young array or a marked block unsound. */
typedef struct verify_walk {
    verify_ctx *c;
    rh_visitfn visit;
} verify_walk;

static int verify_tracked(rh_object *o, void *arg) {
    verify_walk *v = arg;
    v->c->referrer = o;
    o->rh_type->traverse(o, v->visit, v->c);
    return 0;
}

static size_t verify_linkless(rh_heap *h, verify_ctx *c) {
    bool walkable;
    c->problems += rh__gc_linkless_audit(h, false, &walkable);
    if (!walkable) return c->problems;
    rh_visitfn passes[3] = {visit_zero, visit_count, visit_check};
    for (int p = 0; p < 3; p++) {
        verify_walk v = {c, passes[p]};
        (void)rh__gc_linkless_each(h, RH__GC_EACH_TRACKED, verify_tracked, &v);
        verify_pass vp = {c, passes[p]};
        rh__debug_each_object(h, verify_untracked, &vp);
    }
    struct rh__gc_state *st = &h->gc;
    for (size_t i = 0; i < st->nyoung; i++)
        st->young[i]->rh_gcword = (st->young[i]->rh_gcword & ~RH__GCW_LOW) | (uint32_t)i;
    return c->problems;
}

size_t rh_gc_verify(rh_heap *h) {
    rh__gc_incr_settle(h, false); /* the round's marks live in rh_gcword */
    verify_ctx c = {h, NULL, 0};
    if (h->gc.linkless) return verify_linkless(h, &c);
    bool collecting = h->gc.collecting;

    /* Structure first: a broken list must not be walked by the passes. */
    bool intact[VERIFY_LISTS];
    for (int i = 0; i < VERIFY_LISTS; i++) {
        rh__gchead *l = rh__gc_list(h, i);
        intact[i] = true;
        rh__gchead *prev = l;
        for (rh__gchead *g = (rh__gchead *)l->next;; g = (rh__gchead *)g->next) {
            if (!g || (rh__gchead *)(g->prev & ~RH__GC_FLAGS_MASK) != prev) {
                rh__gc_printf(h, "gc: verify: list of generation %d is broken after <%s %p>", i,
                              prev == l ? "head" : (RH__FROM_GC(prev)->rh_type->name ? RH__FROM_GC(prev)->rh_type->name : "?"),
                              prev == l ? (void *)l : (void *)RH__FROM_GC(prev));
                intact[i] = false;
                c.problems++;
                break;
            }
            if (g == l) break;
            rh_object *o = RH__FROM_GC(g);
            if (o->rh_refcnt == 0) {
                rh__gc_printf(h, "gc: verify: tracked object <%s %p> has refcount 0",
                              o->rh_type->name ? o->rh_type->name : "?", (void *)o);
                c.problems++;
            }
            if (!collecting && (g->prev & (RH__GC_COLLECTING | RH__GC_UNREACHABLE))) {
                rh__gc_printf(h, "gc: verify: tracked object <%s %p> carries collection flags %#x outside a collection",
                              o->rh_type->name ? o->rh_type->name : "?", (void *)o,
                              (unsigned)(g->prev & (RH__GC_COLLECTING | RH__GC_UNREACHABLE)));
                c.problems++;
            }
            prev = g;
        }
    }

    rh_visitfn passes[3] = {visit_zero, visit_count, visit_check};
    for (int p = 0; p < 3; p++) {
        for (int i = 0; i < VERIFY_LISTS; i++) {
            if (!intact[i]) continue;
            rh__gchead *l = rh__gc_list(h, i);
            for (rh__gchead *g = (rh__gchead *)l->next; g != l; g = (rh__gchead *)g->next) {
                rh_object *o = RH__FROM_GC(g);
                c.referrer = o;
                o->rh_type->traverse(o, passes[p], &c);
            }
        }
        verify_pass vp = {&c, passes[p]};
        rh__debug_each_object(h, verify_untracked, &vp);
    }
    return c.problems;
}
