/*
 * gc_linkless.c — tracking in the layout without list links
 * (docs/linkless.md): the young array, and track, untrack and the tests of
 * an object whose heap has gc.linkless set (stage S2 of that note), and
 * the parts of a collection of such a heap that depend on the layout
 * (stage S3): steps 1-3 over an array, step 5's partition, step 8's
 * recheck; gc.c's collect_linkless runs them with the one tail.
 *
 * State. An object of this layout has no rh__gchead; its block starts at
 * the object. "Tracked" is the allocator's mark bit of its block
 * (memory/marks.h); its rh_gcword holds LINKLESS (always), FINALIZED,
 * YOUNG/GEN1/FROZEN and, while YOUNG, its index in the young array in LOW
 * (gc_state.h). The heap's state: young[0 .. nyoung), a raw block of the
 * heap grown by doubling, its first capacity (RH__YOUNG_FIRST, 64
 * entries) in the heap's record (young_first: rh__gc_linkless_init; a
 * fresh heap holds no block) and the array kept across young collections,
 * so that making objects allocates no collector memory until the array
 * grows, but once emptied (a young collection's hand-back, a full
 * collection's set, a promotion of the whole young set by gc_incr.c)
 * not beyond twice the next young generation (young_fit: a larger block
 * shrinks to that, or goes back to young_first when 64 entries are
 * enough), so a burst of young objects is not held for the heap's life
 * while a steady program's array is not reallocated; the counters n_old
 * (marked, neither YOUNG nor FROZEN), n_gen1 (those of n_old with GEN1)
 * and n_frozen. The collector's arrays (the
 * young array, a full collection's set) are not traced by allocation
 * tracing (rh__gc_array_realloc: their sizes follow the collector's schedule, not
 * the program's allocations) but counted in the heap's statistics and
 * seen by the fault injector (docs/tuning.md).
 *
 * Invariants between operations (rh__gc_linkless_audit verifies them:
 * rh__gc_check stops at the first broken one, rh_gc_verify prints and
 * counts each):
 *   - o is YOUNG  <=>  o's block is marked and young[LOW(o)] == o;
 *   - every marked block is a live container of this layout; a tracked
 *     object neither YOUNG nor in a collection's or a round's array has
 *     LOW 0;
 *   - nyoung < RH__YOUNG_MAX (LOW's range), no entry NULL;
 *   - an unmarked (untracked) object's word is LINKLESS plus, maybe,
 *     FINALIZED: nothing else;
 *   - n_old + n_frozen + nyoung = the marked blocks of the heap, n_gen1 <=
 *     n_old (outside the window between steps 1-3 of a collection and its
 *     end, where the unreachable part of coll is counted nowhere);
 *   - an object carrying marks (MARKS) is in the collection in progress,
 *     coll[LOW] == o; an untrack puts NULL there (a tombstone); or, when
 *     the collection has no array (coll_walk: the walk-driven set below),
 *     its marks alone say it is in the set; or, while step 6 runs the
 *     weak references' callbacks, it is a weak reference waiting for its
 *     callback (WAITING alone: in no slot, counted nowhere, old again once
 *     the callbacks ran; rh__gc_linkless_wait). No object carries MARKS
 *     outside a collection (coll and coll_walk both unset);
 *   - an object carrying a round's marks (ROUND) is old (GEN OLD, counted
 *     in n_old) and in the incremental round of gc_incr.c (a candidate, a
 *     suspect on its `u`, a rescued one), or all three marks: final garbage
 *     on its `doomed`, held by the collector and counted nowhere. Outside
 *     a round (incr.phase IDLE) only `doomed` carries round marks, and
 *     none once `doomed` is empty (incr.ndoomed 0).
 *
 * Operations:
 *   track    mark the block, append to young (LOW = nyoung++). When the
 *            array is full and cannot grow (the allocator says no, or it
 *            reached RH__YOUNG_MAX), the whole young set is promoted to
 *            old first (YOUNG cleared on each, n_old += nyoung, nyoung =
 *            0): tracking never fails, and promoting is what a young
 *            collection does to survivors, so no object is lost to the
 *            collector (it is only examined later, by a full collection or
 *            a round). With no array at all (it could not be had, at
 *            the heap's creation or at the first growth) the object
 *            becomes old at once. While no automatic collection can
 *            come (trigger LONG_MAX: disabled, or threshold[0] 0) the
 *            array stops at RH__YOUNG_IDLE_MAX entries (64 Ki, 512 KiB):
 *            the track that finds it full there promotes the young set
 *            to generation 1 (GEN1, n_gen1 and n_old += nyoung, as a
 *            young generation gc_incr.c skips) and keeps the array, so
 *            the collector's memory does not grow by 8 bytes for every
 *            container made with the collector off; count[0] is not
 *            reset (CPython's figure), and collect(0) then examines the
 *            objects tracked since the last such promotion only.
 *   untrack  a YOUNG object is swap-removed (the last entry takes its
 *            slot and its index); one in a collection's set leaves a
 *            tombstone in its slot; one of a round leaves the round's
 *            arrays (gc_incr.c's rh__gc_incr_leave: a slot on `u` or
 *            `rescued` emptied; one on `doomed` stays there, held, and is
 *            found unmarked by the teardown); otherwise the counters move. Its word
 *            keeps LINKLESS and FINALIZED only, and the block is unmarked.
 *            The death of a tracked object (object.c) untracks it this way
 *            before its block is freed.
 * O(1) each, amortized for the growth. The object path's straight lines
 * (creation tracked, rh_gc_track, the last decref of a plain container in
 * a pools-mode heap) do the common cases in line (gc_linkless_fast.h: the
 * push while the array has room, the untrack of a word without a
 * collection's or round's marks, not frozen) with the same effect; the
 * rest comes here.
 *
 * Steps 1-3 of a collection over an array (stage S3; gc.c's
 * collect_linkless calls them, then the tail over the array). The set is an array of
 * tracked objects (the detached young array, or the marked blocks a walk
 * collected); no user code runs during the three passes, nothing allocates:
 *   1. each object: marks COLLECTING, LOW = 0 (the count of references
 *      from inside the set), GEN cleared for a young one. A young object
 *      has this step done by step 2 (its index is needed until then: it
 *      is what tells it from a young object of another heap): at the
 *      first reference to it that step 2 meets, counted at once, or at
 *      its own turn, whichever comes first. So has every pool object of
 *      a full collection's set in a pools-mode heap without frozen
 *      objects, young or old (the lazy fill, see full_set: the block's
 *      mark tells a member from an untracked object, the word alone
 *      cannot); the other objects of a set (a full collection's old ones
 *      under the other fill, a recheck's) have it done by a pass of
 *      their own (for the old ones, the walk that fills the array);
 *   2. each object's traverse raises LOW of every referent that carries
 *      LINKLESS and COLLECTING (saturating at RH__GCW_LOW: a saturated
 *      count under-counts, so the object looks referenced from outside
 *      and survives, which is sound), or does step 1 of one that is
 *      YOUNG with young-part[LOW] the referent, count 1; in debug mode a
 *      container referent
 *      outside the set that belongs to another heap stops the program
 *      naming both objects (gc.c's rh__gc_cross_heap_fatal);
 *   3. one scan of the array in its order splits it in place into
 *      [reachable | unreachable], as CPython's move_unreachable splits
 *      its list. Between two turns of the scan, with i its position and
 *      r the reachable prefix's end:
 *          set[0 .. r)  reachable, final words, each traversed once;
 *          set[r .. i)  tentatively unreachable: UNREACHABLE, LOW = index;
 *          set[i .. n)  not met yet: COLLECTING, LOW = count; or reached
 *                       by a traverse already (final word, no COLLECTING).
 *      At its turn an object still COLLECTING with count = refcount
 *      joins set[r .. i] (UNREACHABLE, its index, in the same store that
 *      drops its count); any other (count < refcount: referenced from
 *      outside; or reached) is swapped to set[r] (the object there, if
 *      any, takes its index) and traversed. A traverse's referent still
 *      COLLECTING leaves the set (its final word): one ahead, its word
 *      alone; one behind (UNREACHABLE), swapped to the prefix's end (its
 *      index finds it in O(1)) and traversed in its turn right after,
 *      before the scan moves on. So no object leaves the set without
 *      being traversed once, and what is never reached, scanned to the
 *      end, has no reference from outside nor from a reachable object.
 * O(set + references), no allocation, no recursion. Each object is
 * read by two passes over the array, step 2's and step 3's (and by the
 * fill of a full collection's array before them unless it is lazy), each
 * prefetching the objects it will read, which is what memory costs
 * when a set of millions of objects does not fit the caches (the
 * earlier form, a partition pass and a queue scan of the prefix after
 * it, read every object three times: 30% of the time of a full
 * collection of 3 M live instances, docs/linkless.md). Each object is
 * written by step 1 (for a full collection's old objects, the fill of
 * its array, or step 2 when the fill is lazy; for the young ones, step
 * 2), step 2's traverses (its
 * referents' counts) and once by step 3 (its final word, or the
 * unreachable part's marks and index; an object rescued from behind,
 * or moved by a swap, once more), and step 3 also notes what the tail
 * will have to do for each object found tentatively unreachable
 * (gc_walk.h's RH__GC_NEED_*: weak references, finalizers, legacy
 * finalizers), while the object is in cache. Survivors leave with their
 * marks cleared and no index (a
 * young collection's with GEN1, promoted; the caller counts them); the
 * unreachable ones keep COLLECTING|UNREACHABLE and their index in the
 * array, so that an untrack during the tail can tombstone their slot.
 * Step 3 yields the same unreachable set as CPython's move_unreachable
 * (the objects not reachable from the ones referenced from outside the
 * set), in another order. The sets: a young collection
 * detaches the young array (rh__gc_linkless_young_unreachable, survivors
 * promoted with GEN1; objects tracked during its tail start a new one;
 * after the tail the detached array is the young array again, empty, when
 * none was started, cut to young_fit's size, else freed:
 * rh__gc_linkless_young_release); a full
 * collection fills an array of n_old + nyoung entries (allocated up
 * front, or the young array's own block when it holds them and is due to
 * be cut down: full_set) with the old objects in address
 * order, by a walk, then the young ones, its walk being the old ones'
 * step 1; or, lazy (a pools-mode heap without frozen objects), every
 * tracked object in address order by one walk that reads no pool object
 * (rh__gc_linkless_full_unreachable; survivors old, generation 2; no
 * walk when no object is old); the
 * frozen objects stay out, so what they reference counts as referenced
 * from outside. Out of memory for that array (or for the young array's
 * next block; or a set larger than LOW can index), the walk-driven set
 * below. While a set
 * is collected it is counted nowhere (nyoung, n_old and n_gen1 leave it);
 * survivors are counted back as they leave.
 *
 * The walk-driven set (a full collection without its array; gc.c's
 * collect_linkless_walk and its garbage set's walk backend): the set is
 * the marked blocks that carry its marks, LOW holds no index, and every
 * pass is a walk of the marked blocks (memory/marks.h: each block marked
 * throughout is returned once, a freed one never). Steps 1-2 as over an
 * array (COLLECTING, the count in LOW). Step 3: one walk gives the
 * objects referenced from outside both marks (COLLECTING|UNREACHABLE,
 * borrowed here as "reached") and PENDING (LOW's bit 0: the counts are
 * not needed once the roots are known); the closure then scans each
 * PENDING object's referents, giving those still COLLECTING alone both
 * marks and a slot on a stack (C stack, 256 entries, or the young
 * array's spare capacity when larger), scanned depth-first; when the
 * stack is full the referent is left PENDING and another walk takes it.
 * A last walk: reached objects leave (old), the others get both marks,
 * the garbage. Step 5 is the same closure from the objects with
 * legacy_del, from both marks to UNREACHABLE alone; step 8 (the recheck)
 * is steps 1-3 again over the objects with both marks. No allocation;
 * O(walks x heap) with one walk more each time the stack overflowed
 * (one walk in all when the set's referents fit the stack while it is
 * drained depth-first). Untrack and death during the tail only unmark
 * (no slot); delete_garbage holds a reference while it asks whether its
 * object is still in the set (its marks).
 *
 * The audit (rh__gc_linkless_audit): the invariants above, by the young
 * array and one walk. As a checker (fatal) it stops the program as the
 * linked layout's does ("gc: invariant broken: tracked object <type
 * address> ... (allocated at file:line)", the site known in debug mode),
 * naming the object of the walk a problem was found on. rh_gc_verify (gcapi.c) then counts references in
 * LOW over every tracked object (rh__gc_linkless_each with
 * RH__GC_EACH_TRACKED) and gives the young ones their index back; an
 * object carrying a collection's or a round's marks is not counted (its
 * LOW is theirs). Debug mode's leak report at heap destruction
 * (rh__gc_linkless_outside): steps 1-2 over every tracked object by
 * walks, each object's references from outside reported, the words put
 * back.
 *
 * Generations for introspection and freeze (stage S5's part that needs no
 * collection): generation 0 is the young array in its order; 1 the old
 * objects with GEN1, 2 the other old ones, each in the walk's (address)
 * order; the permanent generation the FROZEN ones. The objects carrying a
 * collection's marks (its set, while its tail runs user code) are in none,
 * as CPython's unreachable list is in no generation. gc.freeze sets FROZEN
 * on every tracked object (the young array emptied, O(tracked) instead of
 * the linked layout's O(1) splice), gc.unfreeze clears it (they become old,
 * generation 2; both leave alone the set of a collection in progress, which
 * carries its marks and is counted nowhere). rh__gc_linkless_each is the
 * one "for each tracked object" of this layout: get_objects,
 * get_referrers, the verifier, the leak report and objgraph (src/tools)
 * use it. The heap is found from the address (rh__heap_of): this layout
 * has no record to carry a heap hint.
 */
#include "collector/gc_internal.h"
#include "collector/gc_linkless_fast.h" /* the swap-remove, shared with the straight lines */
#include "collector/gc_walk.h"          /* instances' references read in line */
#include "memory/marks.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>


/* Every young object becomes old without a collection: GEN `gen`, OLD or
 * GEN1 (a young collection's survivors are GEN1: promoted since the round
 * began). Callers: a track whose array cannot grow and the heap's end
 * (OLD), a young generation the incremental policy skips
 * (rh__gc_linkless_promote_young) and a track whose array is full at
 * RH__YOUNG_IDLE_MAX while no automatic collection can come (GEN1). */
static void promote_young(struct rh__gc_state *st, uint32_t gen) {
    for (size_t i = 0; i < st->nyoung; i++) {
        rh_object *o = st->young[i];
        o->rh_gcword = (o->rh_gcword & ~(RH__GCW_GEN | RH__GCW_LOW)) | gen;
    }
    if (gen == RH__GCW_GEN1) st->n_gen1 += st->nyoung;
    st->n_old += st->nyoung;
    st->nyoung = 0;
}

/* The collector's arrays (the young array, a full collection's set, a
 * round's suspects, rescued and doomed in gc_incr.c): raw
 * blocks of the heap, counted in its statistics and seen by the fault
 * injector (an allocation point whose failure is handled), but not
 * traced (rh__mem_realloc_untraced): their sizes follow the collector's
 * schedule, not the program's allocations. NULL when the allocator says
 * no; the heap's pending error is left as it was (a failed growth is no
 * error of the caller's). */
void *rh__gc_array_realloc(rh_heap *h, void *p, size_t n) {
    rh_error saved = h->err;
    char msg[RH__ERRMSG_MAX];
    if (saved != RH_OK) memcpy(msg, h->errmsg, sizeof msg);
    void *q = rh__mem_realloc_untraced(h, p, n);
    h->err = saved;
    if (saved != RH_OK) memcpy(h->errmsg, msg, sizeof msg);
    else h->errmsg[0] = '\0';
    return q;
}

/* Frees a young array (a raw block), unless it is the heap's first one,
 * young_first, inside the heap's record. */
void rh__gc_linkless_young_free(rh_heap *h, rh_object **y) {
    if (y != h->gc.young_first) rh_free(h, y);
}

/* Room for one more entry in young: grown by doubling (from young_first,
 * its entries copied, into a raw block of the heap; a raw block by
 * realloc). false when it cannot grow. */
static bool young_room(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (st->nyoung < st->capyoung) return true;
    if (st->finished || st->capyoung >= RH__YOUNG_MAX) return false;
    size_t cap = st->capyoung ? st->capyoung * 2 : RH__YOUNG_FIRST;
    if (cap > RH__YOUNG_MAX) cap = RH__YOUNG_MAX;
    bool first = st->young == st->young_first;
    rh_object **y = rh__gc_array_realloc(h, first ? NULL : st->young, cap * sizeof *y);
    if (!y) return false;
    if (first) memcpy(y, st->young_first, st->nyoung * sizeof *y);
    st->young = y;
    st->capyoung = cap;
    return true;
}

/* The capacity the young array keeps once it is empty (see the essay):
 * room for twice the next young generation, whose size is at most its
 * spacing plus one (the larger of threshold[0] and the trigger in force:
 * the incremental policy's spacing at most doubles from one young
 * collection to the next), as a power of two, at least RH__YOUNG_FIRST. */
static size_t young_keep(const struct rh__gc_state *st) {
    long next = st->threshold[0];
    if (st->trigger != LONG_MAX && st->trigger > next) next = st->trigger;
    size_t keep = RH__YOUNG_FIRST;
    while (keep < RH__YOUNG_MAX && (next < 0 || keep / 2 < (size_t)next + 1)) keep *= 2;
    return keep < RH__YOUNG_MAX ? keep : RH__YOUNG_MAX;
}

/* The young array, just emptied (a young collection's hand-back, a full
 * collection's set, a promotion without a collection), gives back the
 * capacity beyond young_keep: a raw block larger than that shrinks to it,
 * or, when young_keep is RH__YOUNG_FIRST (or the shrink is refused), is
 * freed for young_first. A steady program's array never exceeds
 * young_keep, so it is not reallocated. */
static void young_fit(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (!st->young || st->young == st->young_first || st->nyoung != 0) return;
    size_t keep = young_keep(st);
    if (st->capyoung <= keep) return;
    if (keep > RH__YOUNG_FIRST) {
        rh_object **y = rh__gc_array_realloc(h, st->young, keep * sizeof *y);
        if (y) {
            st->young = y;
            st->capyoung = keep;
            return;
        }
    }
    rh_free(h, st->young);
    st->young = st->young_first;
    st->capyoung = RH__YOUNG_FIRST;
}

/* The young array's first capacity is in the heap's record
 * (young_first, RH__YOUNG_FIRST entries): creating and tracking the
 * first objects allocates no collector memory, and a fresh heap holds no
 * block. */
void rh__gc_linkless_init(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    st->young = st->young_first;
    st->capyoung = RH__YOUNG_FIRST;
}

/* The young array a young collection detached, once its tail is done:
 * the young array again when nothing was tracked meanwhile (so the
 * objects tracked next allocate nothing; its capacity cut by young_fit),
 * else freed. */
void rh__gc_linkless_young_release(rh_heap *h, rh_object **set, size_t cap) {
    struct rh__gc_state *st = &h->gc;
    if (st->young == NULL && !st->finished) {
        rh__assert(st->nyoung == 0 && st->capyoung == 0);
        st->young = set;
        st->capyoung = cap;
        young_fit(h);
    } else {
        rh__gc_linkless_young_free(h, set);
    }
}

void rh__gc_linkless_track(rh_heap *h, rh_object *o) {
    struct rh__gc_state *st = &h->gc;
    rh__block_mark(h, o);
    uint32_t keep = o->rh_gcword & RH__GCW_KEEP;
    if (st->nyoung == st->capyoung && st->nyoung >= RH__YOUNG_IDLE_MAX && st->trigger == LONG_MAX) {
        /* no young collection will come to empty the array: its objects
         * join generation 1 unexamined, as a skipped young generation's,
         * and the array is kept for the next ones; count[0] does not move
         * (CPython's: containers made since the last young collection),
         * the next young collection counts them among its survivors */
        promote_young(st, RH__GCW_GEN1);
    } else if (!young_room(h)) {
        promote_young(st, RH__GCW_OLD);
        if (st->capyoung == 0 || st->finished) {
            o->rh_gcword = keep;
            st->n_old++;
            return;
        }
    }
    size_t i = st->nyoung++;
    st->young[i] = o;
    o->rh_gcword = keep | RH__GCW_YOUNG | (uint32_t)i;
}

/* Untrack but the mark: the counters, the slots, the word. */
static void untrack_word(rh_heap *h, rh_object *o) {
    struct rh__gc_state *st = &h->gc;
    uint32_t w = o->rh_gcword;
    if (rh__gcw_gen(w) == RH__GCW_YOUNG) {
        rh__gc_linkless_young_remove(st, o, w & RH__GCW_LOW);
    } else if ((w & RH__GCW_MARKS) == RH__GCW_WAITING) {
        /* waiting for its callback (rh__gc_linkless_wait): counted nowhere */
    } else if (w & RH__GCW_MARKS) {
        /* in the unreachable part of the collection in progress (the only
         * objects that carry marks while user code runs): a tombstone, or
         * nothing when the set has no array (the walk-driven set) */
        if (st->coll) {
            rh__assert(st->coll[w & RH__GCW_LOW] == o);
            st->coll[w & RH__GCW_LOW] = NULL;
        }
    } else if (w & RH__GCW_ROUND) {
        /* in the incremental round (gc_incr.c): its slot, if any, emptied;
         * old unless it waits on `doomed` (counted nowhere) */
        if (rh__gc_incr_leave(h, o, w)) st->n_old--;
    } else if (rh__gcw_gen(w) == RH__GCW_FROZEN) {
        st->n_frozen--;
    } else {
        st->n_old--;
        if (rh__gcw_gen(w) == RH__GCW_GEN1) st->n_gen1--;
    }
    o->rh_gcword = w & RH__GCW_KEEP;
}

void rh__gc_linkless_untrack(rh_heap *h, rh_object *o) {
    untrack_word(h, o);
    rh__block_unmark(h, o);
}

bool rh__gc_linkless_tracked(rh_heap *h, const rh_object *o) {
    return rh__block_marked(h, o);
}

/* One look-up of the mark (the test and the clear) where the in-line
 * path serves it. */
bool rh__gc_linkless_untrack_if(rh_heap *h, rh_object *o) {
    uint64_t *mw, bit;
    if (RH_LIKELY(rh__mark_fast(h, o, &mw, &bit))) {
        if (!(*mw & bit)) return false;
        untrack_word(h, o);
        *mw &= ~bit;
        return true;
    }
    if (!rh__block_marked(h, o)) return false;
    rh__gc_linkless_untrack(h, o);
    return true;
}

void rh__gc_linkless_fini(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    /* Objects that die from here on (the weak references' and objects'
     * teardown) untrack as old ones: the array goes now. */
    promote_young(st, RH__GCW_OLD);
    rh__gc_linkless_young_free(h, st->young);
    st->young = NULL;
    st->capyoung = 0;
}

/* The audit (see the essay): each problem stops the program (fatal) or
 * is printed on the gc sink as a verifier's line and counted. `at`: the
 * object the walk is at (NULL outside it), whose allocation site a fatal
 * problem names. */
typedef struct audit {
    rh_heap *h;
    bool fatal;
    size_t problems;
    const rh_object *at;
} audit;

static void RH_PRINTF(2, 3) problem(audit *a, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (a->fatal && a->at)
        rh__fatal("gc: invariant broken: %s (allocated at %s; heap %p, layout without links)", line,
                  rh_object_site(a->at), (void *)a->h);
    if (a->fatal) rh__fatal("gc: invariant broken: %s (heap %p, layout without links)", line, (void *)a->h);
    rh__gc_printf(a->h, "gc: verify: %s", line);
    a->problems++;
}

static const char *aname(const rh_object *o) {
    return o->rh_type && o->rh_type->name ? o->rh_type->name : "?";
}

size_t rh__gc_linkless_audit(rh_heap *h, bool fatal, bool *walkable) {
    struct rh__gc_state *st = &h->gc;
    audit a = {h, fatal, 0, NULL};
    bool sound = true;
    if (st->nyoung > st->capyoung || st->capyoung > RH__YOUNG_MAX || st->n_gen1 > st->n_old) {
        problem(&a, "counters: young %zu of %zu, old %zu, gen1 %zu", st->nyoung, st->capyoung, st->n_old,
                st->n_gen1);
        sound = false;
    }
    for (size_t i = 0; sound && i < st->nyoung; i++) {
        rh_object *o = st->young[i];
        if (!o || o->rh_refcnt == 0 || !(o->rh_type->flags & RH_TYPE_GC) ||
            (o->rh_gcword & ~RH__GCW_FINALIZED) != (RH__GCW_LINKLESS | RH__GCW_YOUNG | (uint32_t)i) ||
            !rh__block_marked(h, o)) {
            a.at = o;
            problem(&a, "young[%zu] is %p (<%s>, word %#x), not a tracked young container of index %zu", i,
                    (void *)o, o ? aname(o) : "no object", o ? o->rh_gcword : 0u, i);
            a.at = NULL;
            sound = false;
        }
    }
    /* a walk of the marked blocks: the objects of a collection's set
     * (MARKS) are counted nowhere, the others by the counters; a round's
     * objects (gc_incr.c) are old with LOW their count or index, its
     * garbage on `doomed` (all three marks) counted nowhere */
    bool in_round = st->incr.phase != RH__INCR_IDLE || st->incr.ndoomed != 0;
    size_t counted = 0, young = 0, gen1 = 0, frozen = 0, doomed = 0;
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        uint32_t x = o->rh_gcword;
        a.at = o;
        if (!(x & RH__GCW_LINKLESS) || !(o->rh_type->flags & RH_TYPE_GC)) {
            problem(&a, "tracked object <%s %p> has collector word %#x: a marked block, no container of this layout",
                    aname(o), (void *)o, x);
            sound = false;
            continue;
        }
        if (o->rh_refcnt == 0) problem(&a, "tracked object <%s %p> has refcount 0", aname(o), (void *)o);
        if ((x & RH__GCW_MARKS) && !st->coll && !st->coll_walk)
            problem(&a, "tracked object <%s %p> carries collection marks %#x outside a collection", aname(o),
                    (void *)o, x & RH__GCW_MARKS);
        if ((x & RH__GCW_ROUND) && !in_round)
            problem(&a, "tracked object <%s %p> carries round marks %#x outside a round", aname(o), (void *)o,
                    x & RH__GCW_ROUND);
        if ((x & RH__GCW_ROUND) && rh__gcw_gen(x) != RH__GCW_OLD)
            problem(&a, "tracked object <%s %p> carries round marks %#x but is not old (word %#x)", aname(o),
                    (void *)o, x & RH__GCW_ROUND, x);
        if (in_round && st->incr.phase == RH__INCR_IDLE && (x & RH__GCW_ROUND) &&
            (x & RH__GCW_ROUND) != RH__GCW_ROUND)
            problem(&a, "tracked object <%s %p> carries round marks %#x with no round open (only the round's "
                    "garbage waiting for its clear may)", aname(o), (void *)o, x & RH__GCW_ROUND);
        if (x & RH__GCW_MARKS) continue; /* a collection's: its LOW is the collection's */
        if ((x & RH__GCW_ROUND) == RH__GCW_ROUND) {
            doomed++; /* held by the collector on `doomed`, counted nowhere */
            continue;
        }
        counted++;
        uint32_t g = rh__gcw_gen(x), low = x & RH__GCW_LOW;
        if (g == RH__GCW_YOUNG) {
            young++;
            if (low >= st->nyoung || st->young[low] != o)
                problem(&a, "tracked object <%s %p> is young with index %u, not its slot in the young array "
                        "(%zu entries)", aname(o), (void *)o, (unsigned)low, st->nyoung);
        } else if (low && !(x & RH__GCW_ROUND)) {
            problem(&a, "tracked object <%s %p> is not young but carries index %u", aname(o), (void *)o,
                    (unsigned)low);
        }
        if (g == RH__GCW_GEN1) gen1++;
        if (g == RH__GCW_FROZEN) frozen++;
    }
    rh__mark_walk_end(&w);
    a.at = NULL;
    if (counted != st->nyoung + st->n_old + st->n_frozen || young != st->nyoung || gen1 != st->n_gen1 ||
        frozen != st->n_frozen)
        problem(&a, "%zu tracked objects outside a collection (%zu young, %zu gen1, %zu frozen; %zu more on the "
                "round's doomed); counters: young %zu, old %zu (gen1 %zu), frozen %zu", counted, young, gen1, frozen,
                doomed, st->nyoung, st->n_old, st->n_gen1, st->n_frozen);
    if (walkable) *walkable = sound;
    return a.problems;
}

void rh__gc_linkless_check(rh_heap *h) { (void)rh__gc_linkless_audit(h, true, NULL); }

/* ---------------------------------------------------------------------------
 * Steps 1-3 over an array (see the essay).
 * ------------------------------------------------------------------------- */

#define COLLECTING RH__GCW_COLLECTING   /* in the set being collected (MARKS) */
#define UNREACHABLE RH__GCW_UNREACHABLE /* in the unreachable part (MARKS)    */
_Static_assert((COLLECTING | UNREACHABLE) == RH__GCW_MARKS, "the collection's two marks");

static inline bool in_set(const rh_object *o) {
    return (o->rh_type->flags & RH_TYPE_GC) &&
           (o->rh_gcword & (RH__GCW_LINKLESS | COLLECTING)) == (RH__GCW_LINKLESS | COLLECTING);
}

static int visit_count(rh_object *o, void *arg) {
    (void)arg;
    if (o && in_set(o) && (o->rh_gcword & RH__GCW_LOW) != RH__GCW_LOW) o->rh_gcword++;
    return 0;
}

/* Step 1 of a young object of the set (its word YOUNG with its index), or
 * of any member of a full set (its word old or young): COLLECTING, GEN
 * and LOW cleared. */
static inline uint32_t young_collecting(uint32_t w) {
    return (w & ~(RH__GCW_GEN | RH__GCW_LOW)) | COLLECTING;
}

/* Step 2's context: the heap and the object traversed (debug mode's
 * report), and the set's young part whose step 1 step 2 does
 * (find_unreachable): young[0 .. nyoung), each object's LOW its index
 * there until step 1 gives it COLLECTING. */
typedef struct count_ctx {
    rh_heap *h;
    const rh_object *from;
    rh_object *const *young;
    size_t nyoung;
    bool lazy; /* a full set whose fill left the pool objects' words alone (full_set) */
} count_ctx;

/* Is o, an object of this layout not carrying COLLECTING, one of the pool
 * objects of a lazy full set (count_ctx.lazy): a block of h's pools that
 * is marked (tracked)? Such a set is every tracked object of the heap
 * (none is frozen, so no word needs reading for that); a block of
 * another heap, a system block (the fill did those objects' step 1
 * itself: their marks cannot be read in line) or an untracked object is
 * not in it (memory/marks.h: the owner is checked before the mark is
 * read). */
static inline bool lazy_member(rh_heap *h, const rh_object *o) {
    uint64_t *mw, bit;
    return rh__mark_fast(h, o, &mw, &bit) && (*mw & bit) != 0;
}

/* A container referent of step 2: counted when it is in the set (true).
 * It carries COLLECTING, or it is one of the set's young objects not met
 * yet (young[LOW] is the object: exact, so a young object of another
 * heap, which a reference must not reach anyway, is never written), or,
 * in a lazy full set, a pool object not met yet (lazy_member), whose
 * step 1 is done here with its first reference counted. */
static inline bool count_in(rh_object *o, const count_ctx *c) {
    uint32_t w = o->rh_gcword;
    if ((w & (RH__GCW_LINKLESS | COLLECTING)) == (RH__GCW_LINKLESS | COLLECTING)) {
        if ((w & RH__GCW_LOW) != RH__GCW_LOW) o->rh_gcword = w + 1;
        return true;
    }
    if ((w & (RH__GCW_LINKLESS | RH__GCW_GEN)) == (RH__GCW_LINKLESS | RH__GCW_YOUNG) &&
        (w & RH__GCW_LOW) < c->nyoung && c->young[w & RH__GCW_LOW] == o) {
        rh__assert(!(w & RH__GCW_MARKS));
        o->rh_gcword = young_collecting(w) + 1;
        return true;
    }
    if (c->lazy && (w & RH__GCW_LINKLESS) && lazy_member(c->h, o)) {
        o->rh_gcword = young_collecting(w) + 1;
        return true;
    }
    return false;
}

static int visit_count_set(rh_object *o, void *arg) {
    if (o && (o->rh_type->flags & RH_TYPE_GC)) (void)count_in(o, arg);
    return 0;
}

/* visit_count_set of debug mode: a container referent outside the set is
 * looked up; one of another heap stops the program (as gc.c's steps 1-2
 * in debug mode). */
static int visit_count_debug(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    const count_ctx *c = arg;
    if (count_in(o, c)) return 0;
    rh_heap *oh = rh__heap_of(o);
    if (oh && oh != c->h) rh__gc_cross_heap_fatal(c->h, c->from, oh, o);
    return 0;
}

/* visit_count_set of a full collection at RH_DEBUG >= 1 outside debug
 * mode: a tracked container referent outside the set that belongs to
 * another heap stops the program (as gc.c's fused first pass of the
 * linked layout). In a full collection the containers outside the set are
 * the frozen and untracked ones, so the lookup costs only references to
 * those. */
static int visit_count_full(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    const count_ctx *c = arg;
    if (count_in(o, c)) return 0;
    rh_heap *oh = rh__heap_of(o);
    if (oh && oh != c->h && rh__gc_tracked_any(o)) rh__gc_cross_heap_met(c->h, o);
    return 0;
}

typedef struct reach_ctx {
    rh_object **set;
    size_t r;        /* the reachable prefix's end */
    uint32_t gen;    /* the survivors' GEN (GEN1 after a young collection) */
    unsigned offers; /* RH__GC_NEED_OFFERS: a rescued object's type has untrack_check */
} reach_ctx;

/* A survivor's word: its marks and count or index go, GEN is the
 * collection's (the round's marks stay: gc_incr.c's final check). */
static inline uint32_t survivor_word(uint32_t w, uint32_t gen) {
    return (w & ~(RH__GCW_MARKS | RH__GCW_LOW)) | gen;
}

/* A referent met by step 3's traverse of a reachable object. Still in
 * the set (COLLECTING), it is reachable too and leaves the set (its final
 * word, OFFERS noted when its type has untrack_check):
 *   - behind the scan (UNREACHABLE: it was found tentatively unreachable
 *     at its turn, LOW its index), it is swapped to the end of the
 *     reachable prefix, where the scan traverses it before its next turn;
 *   - ahead of the scan (COLLECTING alone, LOW its count), its word alone
 *     changes: at its turn the scan finds it reachable (no COLLECTING).
 * In line in the scan's walk of instances (its test of the type's hook
 * would otherwise take it out of line: 27 instructions an object more on
 * a full collection of live slotted pairs). */
RH__HOT_INLINE int visit_reach(rh_object *o, void *arg) {
    if (!o || !in_set(o)) return 0;
    reach_ctx *c = arg;
    uint32_t w = o->rh_gcword;
    if (o->rh_type->untrack_check) c->offers = RH__GC_NEED_OFFERS;
    if (w & UNREACHABLE) {
        size_t p = w & RH__GCW_LOW, q = c->r++;
        rh_object *x = c->set[q];
        c->set[q] = o;
        c->set[p] = x;
        x->rh_gcword = (x->rh_gcword & ~RH__GCW_LOW) | (uint32_t)p; /* o itself when p == q */
    }
    o->rh_gcword = survivor_word(w, c->gen);
    return 0;
}

#if RH_DEBUG >= 3
/* Step 3's result, checked (RH_DEBUG >= 3): set[0 .. r) left the set
 * (no collection's marks), set[r .. n) carries both marks and its index,
 * and no survivor references an object of the unreachable part (which
 * the scan would have rescued): the defining property of the split. */
static int visit_split_check(rh_object *o, void *arg) {
    if (o && in_set(o))
        rh__fatal("collector (linkless): step 3 left <%s %p> unreachable, referenced by the survivor <%s %p>",
                  o->rh_type->name, (void *)o, ((const rh_object *)arg)->rh_type->name, arg);
    return 0;
}
static void split_check(rh_object **set, size_t n, size_t r) {
    for (size_t i = 0; i < n; i++) {
        uint32_t w = set[i]->rh_gcword;
        if (i < r ? (w & RH__GCW_MARKS) != 0
                  : (w & RH__GCW_MARKS) != RH__GCW_MARKS || (w & RH__GCW_LOW) != (uint32_t)i)
            rh__fatal("collector (linkless): step 3's split broken at <%s %p>, index %zu of %zu (prefix %zu), "
                      "word %#x", set[i]->rh_type->name, (void *)set[i], i, n, r, (unsigned)w);
    }
    for (size_t i = 0; i < r; i++) {
        rh_object *o = set[i];
        const rh_type *t = o->rh_type;
        RH__GC_TRAVERSE(o, t, visit_split_check, o);
    }
}
#endif

/* Step 1 of set[i] at its turn in step 2, unless a reference met before
 * did it: a young object of the set's young part set[young .. n), or a
 * pool object of a lazy full set (set[0 .. young), young and old). */
static inline void step1_at_turn(rh_object *o, size_t i, size_t young) {
    uint32_t w = o->rh_gcword;
    if (!(w & COLLECTING)) {
        rh__assert(rh__gc_linkless_obj(o) && !(w & RH__GCW_MARKS) &&
                   (i >= young ? rh__gcw_gen(w) == RH__GCW_YOUNG && (w & RH__GCW_LOW) == i - young
                               : rh__gcw_gen(w) != RH__GCW_FROZEN));
        o->rh_gcword = young_collecting(w);
    }
    (void)i;
    (void)young;
}

/* Steps 2 and 3 read the objects in the array's order, which for a full
 * collection is address order (the walk's): each prefetches the object
 * PREFETCH_AHEAD entries ahead, for writing. Full collection of 3 M live
 * instances (bench_gc collect, 3 runs of 3 collections): slotted 20.0 ->
 * 18.2 / 16.7 / 16.5 ns an object for 16 / 32 / 64 entries ahead, plain
 * 25.0 -> 23.6 / 23.1 / 22.9. */
#define PREFETCH_AHEAD 32

/* Steps 1-3 (see the essay). set[young .. n): young objects of the set
 * (the young array in its order, each one's LOW its index there), whose
 * step 1 (COLLECTING, GEN and LOW cleared) is done by step 2: at the first
 * reference to it that step 2 meets, or at its own turn, whichever comes
 * first, so that step 1 is no pass of its own over them. set[0 ..
 * young): step 1 (COLLECTING, LOW 0) by a pass of its own, unless the set is full (the
 * fill's walk wrote COLLECTING and LOW 0 with GEN cleared on those, the
 * old ones; or, lazy, left the pool objects' words to step 2: at their
 * turn, or at the first reference to one, which count_in tells from an
 * untracked object by its block's mark). full: the set is every tracked
 * object of the heap but the frozen ones (cross-heap references are
 * then looked for at RH_DEBUG >= 1). Survivors get GEN `gen`; *need,
 * when not NULL, the RH__GC_NEED_* flags of the objects found
 * tentatively unreachable at their turn (an
 * over-approximation, as gc.c's step 3), and OFFERS when a survivor's
 * type has untrack_check (noted as each leaves the set, at its turn or
 * when a traverse reaches it). Two passes over the objects, step 2's
 * and step 3's; for the young ones, the count of references from inside
 * the set becomes the index in the same store. */
static size_t find_unreachable(rh_heap *h, rh_object **set, size_t n, bool full, bool lazy, size_t young,
                               uint32_t gen, unsigned *need) {
    rh__assert(n <= RH__GCW_LOW && young <= n && (full || !lazy));
    /* 1 (the young part's in step 2) */
    if (!full) {
        for (size_t i = 0; i < young; i++) {
            rh_object *o = set[i];
            rh__assert(rh__gc_linkless_obj(o) && !(o->rh_gcword & RH__GCW_MARKS));
            o->rh_gcword = (o->rh_gcword & ~RH__GCW_LOW) | COLLECTING;
        }
    }
    /* 2 (debug mode: cross-heap references reported) */
    count_ctx cc = {h, NULL, set + young, n - young, lazy};
    if (h->mode == RH_MODE_DEBUG) {
        for (size_t i = 0; i < n; i++) {
            rh_object *o = set[i];
            step1_at_turn(o, i, young);
            const rh_type *t = o->rh_type;
            cc.from = o;
            RH__GC_TRAVERSE(o, t, visit_count_debug, &cc);
        }
    } else if (RH_DEBUG >= 1 && full) {
        for (size_t i = 0; i < n; i++) {
            rh_object *o = set[i];
            step1_at_turn(o, i, young);
            const rh_type *t = o->rh_type;
            RH__GC_TRAVERSE(o, t, visit_count_full, &cc);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            rh_object *o = set[i];
            if (i + PREFETCH_AHEAD < n) __builtin_prefetch(set[i + PREFETCH_AHEAD], 1);
            step1_at_turn(o, i, young);
            const rh_type *t = o->rh_type;
            RH__GC_TRAVERSE(o, t, visit_count_set, &cc);
        }
    }
    /* 3: one scan in the array's order, as CPython's move_unreachable
     * (see the essay). Between turns: set[0 .. r) reachable, each
     * traversed; set[r .. i) tentatively unreachable (UNREACHABLE, LOW
     * its index); set[i .. n) not met yet, each with its count, or
     * reached already by a traverse (its final word, no COLLECTING). */
    reach_ctx c = {set, 0, gen, 0};
    unsigned nd = 0;
    for (size_t i = 0; i < n; i++) {
        rh_object *o = set[i];
        if (i + PREFETCH_AHEAD < n) __builtin_prefetch(set[i + PREFETCH_AHEAD], 1);
        uint32_t w = o->rh_gcword;
        if (w & COLLECTING) {
            if ((w & RH__GCW_LOW) >= o->rh_refcnt) { /* no reference from outside the set: for now */
                o->rh_gcword = (w & ~RH__GCW_LOW) | UNREACHABLE | (uint32_t)i;
                if (need) nd |= rh__gc_garbage_needs(NULL, o, o->rh_type);
                continue;
            }
            o->rh_gcword = survivor_word(w, gen);
            if (o->rh_type->untrack_check) nd |= RH__GC_NEED_OFFERS;
        }
        /* reachable: to the prefix's end, then traversed, and so is every
         * object its traverse rescues from behind (appended to the
         * prefix), in turn, before the next turn */
        size_t k = c.r++;
        if (k != i) {
            rh_object *x = set[k];
            set[k] = o;
            set[i] = x;
            x->rh_gcword = (x->rh_gcword & ~RH__GCW_LOW) | (uint32_t)i;
        }
        do {
            rh_object *y = set[k];
            const rh_type *t = y->rh_type;
            RH__GC_TRAVERSE(y, t, visit_reach, &c);
        } while (++k < c.r);
    }
#if RH_DEBUG >= 3
    split_check(set, n, c.r);
#endif
    if (need) *need = nd | c.offers;
    return c.r;
}

size_t rh__gc_linkless_find_unreachable(rh_heap *h, rh_object **set, size_t n) {
    return find_unreachable(h, set, n, false, false, n, 0, NULL);
}

/* The young set's collection, steps 1-3: the young array is detached (a
 * fresh one takes the objects tracked from now on), its survivors are
 * promoted (old, GEN1). Returns the detached array (the caller gives it
 * to rh__gc_linkless_young_release, or frees it with rh_free), *n its
 * length, *cap its capacity, *r the survivors at its front; the
 * unreachable ones follow, as rh__gc_linkless_find_unreachable leaves them;
 * *need (when not NULL) their RH__GC_NEED_* flags, and OFFERS for the
 * survivors (find_unreachable). */
rh_object **rh__gc_linkless_young_unreachable(rh_heap *h, size_t *n, size_t *r, size_t *cap, unsigned *need) {
    struct rh__gc_state *st = &h->gc;
    rh_object **set = st->young;
    *n = st->nyoung;
    *cap = st->capyoung;
    st->young = NULL;
    st->nyoung = st->capyoung = 0;
    *r = find_unreachable(h, set, *n, false, false, 0, RH__GCW_GEN1, need);
    st->n_old += *r;
    st->n_gen1 += *r;
    st->coll = set;
    return set;
}

/* Sets (on) or clears the marks of the young objects src[0 .. n) of h
 * (live blocks, marked unless on), for full_set's walk, and copies each
 * entry to dst[i] when dst is not src (from the end: dst may overlap
 * src's end, as a move of the young array's entries up behind the old
 * ones). A heap whose marks are in line (no shim): the tree is walked
 * once for each run of objects in one arena (the young array lists the
 * objects in the order they were made, so in long runs of the same
 * arena), not for each object, the arena's leaf and owner being what
 * rh__mark_fast looks up, the same for every block of the arena; and the
 * bits of one word of the plane are gathered and written at once. */
static void young_marks(rh_heap *h, rh_object **dst, rh_object *const *src, size_t n, bool on) {
    uintptr_t arena = UINTPTR_MAX, leaf = 0;
    uint64_t *cur = NULL, acc = 0;
    for (size_t i = n; i-- > 0;) {
        rh_object *o = src[i];
        if (dst != src) dst[i] = o;
        uintptr_t x = (uintptr_t)o >> RH__ARENA_SHIFT;
        uint64_t bit, *w;
        if (x != arena) {
            if (!rh__mark_fast(h, o, &w, &bit)) { /* a system block (a large container) */
                (void)rh__mark_slow(h, o, on ? RH__MARK_SET : RH__MARK_CLEAR);
                arena = UINTPTR_MAX;
                continue;
            }
            leaf = rh__radix_leaf((uintptr_t)o);
            arena = x;
        }
        w = rh__block_mark_word(leaf, o, &bit);
        if (w != cur) {
            if (cur) *cur = on ? *cur | acc : *cur & ~acc;
            cur = w;
            acc = 0;
        }
        acc |= bit;
    }
    if (cur) *cur = on ? *cur | acc : *cur & ~acc;
}

/* The set of a full collection: every tracked object but the frozen ones,
 * in one array of n_old + nyoung entries. NULL when the array cannot be
 * had (the heap's pending error is left as it was) or LOW cannot index
 * it: nothing changed, the collection collects nothing. The array is the
 * young array itself when it has room for the set and is larger than the
 * young array kept once emptied (young_keep: it would be cut down now
 * anyway; a fresh array of millions of entries costs a page fault every
 * 512 entries, on every full collection), and the young array starts
 * again from a block of young_keep's size, allocated first (young_first
 * when that size is RH__YOUNG_FIRST; when that block cannot be had:
 * NULL, as for the set's own array). When the young array is not such a
 * block, the set's array is allocated up front and the young array cut
 * by young_fit. So a full collection asks the allocator once either way
 * (the young array's next block, or the set's array), and out of memory
 * it is the walk-driven set's all the same. The young array is emptied
 * (whatever survives a full collection is old, generation 2). Nothing
 * else runs meanwhile: no one sees a young object untracked. As for the
 * young set's collection, the set is counted nowhere while it is
 * collected (n_old, n_gen1 and nyoung 0); *n is the length, *nold where
 * the set's young part starts (find_unreachable's `young`). Three fills:
 *   - lazy (*lazy_out; some object is old, the marks are in line, a
 *     pools-mode heap without shim, and no object is frozen): every
 *     marked block is a member, so one walk of the marked blocks fills
 *     the whole array in address order, young and old alike, and reads
 *     no pool object: step 2 does the step 1 of each at its turn or at
 *     the first reference to it (count_in tells a member from an
 *     untracked object by its block's mark; the young ones' index is not
 *     needed, *nold = *n: no young part). The walk's system blocks (large
 *     containers), whose marks cannot be read in line, get their step 1
 *     here. No pass over the objects' memory, and none over the young
 *     array (full collection of 3 M live instances: plain 29.9 -> 24.5
 *     ns an object, slotted 22.2 -> 20.0, before the prefetch; on 1 M
 *     young garbage instances the walk's steps over the young ones and
 *     their lookups in step 2 cost what the young marks' two passes
 *     below cost, 48 instructions an object, and the time moved within
 *     the noise);
 *   - otherwise the fill is step 1 of the old objects (find_unreachable's
 *     `full`): the walk gives each COLLECTING, LOW 0 and GEN cleared, in
 *     address order, then the young ones follow in the young array's
 *     order, not read: their words keep YOUNG and their index in the
 *     young array, which is their index in the set's young part,
 *     set[*nold .. *n), and step 2 does their step 1. The walk skips
 *     the young and the frozen ones by their word; where marks are in
 *     line (frozen objects present), the young ones' blocks are unmarked
 *     for the walk and marked again after it (a bit of the plane each,
 *     no object read), so that the walk returns only the old and frozen
 *     ones;
 *   - no walk at all when no object is old (n_old 0: the young array's
 *     entries are the set, the frozen ones stay out anyway). */
static rh_object **full_set(rh_heap *h, size_t *n, size_t *nold_out, bool *lazy_out) {
    struct rh__gc_state *st = &h->gc;
    size_t ny = st->nyoung, nold = st->n_old, total = ny + nold, keep = young_keep(st);
    if (total >= RH__GCW_LOW) return NULL;
    rh_object **set, **next = NULL;
    bool reuse = st->young != st->young_first && st->capyoung >= total && st->capyoung > keep;
    if (reuse && keep > RH__YOUNG_FIRST) {
        next = rh__gc_array_realloc(h, NULL, keep * sizeof *next);
        if (!next) return NULL;
    }
    bool lazy = nold && !(h->alloc.slow & RH__SLOW_MODE) && st->n_frozen == 0;
    bool hide = !lazy && nold && ny && !(h->alloc.slow & RH__SLOW_MODE);
    rh_object **young = st->young;
    if (reuse) {
        set = young;
    } else {
        set = rh__gc_array_realloc(h, NULL, (total ? total : 1) * sizeof *set);
        if (!set) return NULL;
    }
    /* the young entries to set[nold .. total), unless the walk takes
     * them (lazy; their marks hidden for the walk in the same pass) */
    if (hide) young_marks(h, set + nold, young, ny, false);
    else if (!lazy && ny && set + nold != young) memmove(set + nold, young, ny * sizeof *set);
    if (nold) {
        /* the walk: every tracked object when lazy (a pool one not
         * read), else the old ones, each with its step 1 */
        size_t k = 0, want = lazy ? total : nold;
        const char *what = lazy ? "tracked objects than its counters say" : "old objects than its counter says";
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
            if (!lazy) {
                uint32_t g = rh__gcw_gen(o->rh_gcword);
                if (g == RH__GCW_FROZEN || g == RH__GCW_YOUNG) continue;
            }
            /* the array holds n_old + nyoung: a counter that is short (a
             * corrupted heap record, a collector bug) stops here, in every
             * build, instead of writing past it */
            if (k >= want)
                rh__fatal("collector (linkless): heap %p has more %s (%zu): <%s %p> is one more", (void *)h, what,
                          want, o->rh_type->name, (void *)o);
            rh__assert(rh__gc_linkless_obj(o) && !(o->rh_gcword & RH__GCW_MARKS) &&
                       rh__gcw_gen(o->rh_gcword) != RH__GCW_FROZEN);
            if (!lazy || w.phase != RH__WALK_POOLS) o->rh_gcword = young_collecting(o->rh_gcword);
            set[k++] = o;
        }
        rh__mark_walk_end(&w);
        /* and one that counts more than the walk found would leave entries
         * unwritten (stale pointers of the young array when the set is its
         * block) for steps 2-3 to read: stopped the same */
        if (k != want)
            rh__fatal("collector (linkless): heap %p has fewer %s (%zu): %zu found", (void *)h, what, want, k);
        if (hide) young_marks(h, set + nold, set + nold, ny, true);
        if (lazy) nold = total; /* no young part */
    }
    st->n_old = 0;
    st->n_gen1 = 0;
    st->nyoung = 0;
    if (reuse) {
        st->young = next ? next : st->young_first;
        st->capyoung = next ? keep : RH__YOUNG_FIRST;
    } else {
        young_fit(h);
    }
    *n = total;
    *nold_out = nold;
    *lazy_out = lazy;
    return set;
}

/* A full collection's steps 1-3: the set (full_set: its fill step 1 of
 * the old ones, or lazy, step 2 that of the old pool ones too; step 2
 * that of the young ones), steps 2-3; the survivors
 * are old (generation 2), the unreachable part as
 * rh__gc_linkless_find_unreachable leaves it, coll names the array,
 * *need (when not NULL) its RH__GC_NEED_* flags and the survivors' OFFERS.
 * NULL as full_set. */
rh_object **rh__gc_linkless_full_unreachable(rh_heap *h, size_t *n, size_t *r, unsigned *need) {
    size_t nold;
    bool lazy;
    rh_object **set = full_set(h, n, &nold, &lazy);
    if (!set) return NULL;
    *r = find_unreachable(h, set, *n, true, lazy, nold, 0, need);
    h->gc.n_old += *r;
    h->gc.coll = set;
    return set;
}

/* ---------------------------------------------------------------------------
 * The walk-driven set: a full collection without its array (see the essay).
 * ------------------------------------------------------------------------- */

#define PENDING 1u       /* in LOW: reached, its referents not looked at yet */
#define STACK_LOCAL 256  /* the closure's stack on the C stack               */

/* The closure: objects whose marks are `in` and that an object with marks
 * `out` references get `out` (PENDING, or a slot on the stack, until
 * their own referents were looked at). The stack is the C stack's array
 * or the young array's spare capacity, whichever is larger; when it is
 * full the object stays PENDING and the next walk takes it. */
typedef struct closure_ctx {
    uint32_t in, out;
    rh_object **stack;
    size_t n, cap;
    bool overflow;
} closure_ctx;

static int visit_closure(rh_object *o, void *arg) {
    closure_ctx *c = arg;
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    uint32_t w = o->rh_gcword;
    if (!(w & RH__GCW_LINKLESS) || (w & RH__GCW_MARKS) != c->in) return 0;
    w = (w & ~(RH__GCW_MARKS | RH__GCW_LOW)) | c->out;
    if (c->n < c->cap) {
        c->stack[c->n++] = o;
    } else {
        w |= PENDING;
        c->overflow = true;
    }
    o->rh_gcword = w;
    return 0;
}

static void closure_scan(closure_ctx *c, rh_object *o) {
    for (;;) {
        const rh_type *t = o->rh_type;
        RH__GC_TRAVERSE(o, t, visit_closure, c);
        if (c->n == 0) return;
        o = c->stack[--c->n];
    }
}

/* Every object reached from the ones that carry `out` and PENDING gets
 * `out`; PENDING is clear on all of them afterwards. Walks until one walk
 * left nothing PENDING behind its cursor. */
static void closure(rh_heap *h, uint32_t in, uint32_t out) {
    struct rh__gc_state *st = &h->gc;
    rh_object *local[STACK_LOCAL];
    closure_ctx c = {in, out, local, 0, STACK_LOCAL, false};
    if (st->capyoung - st->nyoung > STACK_LOCAL) {
        c.stack = st->young + st->nyoung;
        c.cap = st->capyoung - st->nyoung;
    }
    do {
        c.overflow = false;
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
            uint32_t x = o->rh_gcword;
            if ((x & RH__GCW_MARKS) != out || !(x & PENDING)) continue;
            o->rh_gcword = x & ~PENDING;
            closure_scan(&c, o);
        }
        rh__mark_walk_end(&w);
    } while (c.overflow);
}

/* Steps 1-3 by walks over the objects whose marks are `select` (their LOW
 * free: no index), as find_unreachable over an array: COLLECTING and the
 * count in LOW, the traverses, then the objects referenced from outside
 * and their closure reachable. The reachable ones leave (marks and LOW
 * cleared, old: *r counts them), the others carry COLLECTING|UNREACHABLE
 * and LOW 0 (returned: their number). full: every tracked object but the
 * frozen ones, none carrying marks (select 0), as
 * full_set (GEN cleared, the young array emptied, the
 * counters 0 while the set is collected; cross-heap references looked for
 * as in find_unreachable). */
static size_t walk_unreachable(rh_heap *h, uint32_t select, bool full, size_t *r) {
    struct rh__gc_state *st = &h->gc;
    rh__mark_walk w;
    /* 1 */
    if (full) {
        st->n_old = st->n_gen1 = st->nyoung = 0;
    }
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        uint32_t x = o->rh_gcword;
        if ((x & RH__GCW_MARKS) != select || (full && rh__gcw_gen(x) == RH__GCW_FROZEN)) continue;
        if (full) x &= ~RH__GCW_GEN;
        o->rh_gcword = (x & ~(RH__GCW_MARKS | RH__GCW_LOW)) | COLLECTING;
    }
    rh__mark_walk_end(&w);
    /* 2 */
    count_ctx cc = {h, NULL, NULL, 0, false}; /* no young part: step 1 was a walk */
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        if ((o->rh_gcword & RH__GCW_MARKS) != COLLECTING) continue;
        const rh_type *t = o->rh_type;
        cc.from = o;
        if (h->mode == RH_MODE_DEBUG) RH__GC_TRAVERSE(o, t, visit_count_debug, &cc);
        else if (RH_DEBUG >= 1 && full) RH__GC_TRAVERSE(o, t, visit_count_full, &cc);
        else RH__GC_TRAVERSE(o, t, visit_count, NULL);
    }
    rh__mark_walk_end(&w);
    /* 3: referenced from outside: reachable (both marks, PENDING); the
     * counts are not needed any more */
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        uint32_t x = o->rh_gcword;
        if ((x & RH__GCW_MARKS) != COLLECTING) continue;
        x &= ~RH__GCW_LOW;
        if ((o->rh_gcword & RH__GCW_LOW) < o->rh_refcnt) x |= UNREACHABLE | PENDING;
        o->rh_gcword = x;
    }
    rh__mark_walk_end(&w);
    closure(h, COLLECTING, COLLECTING | UNREACHABLE);
    /* the reachable ones (both marks) leave, the others get both */
    size_t nr = 0, nu = 0;
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        uint32_t x = o->rh_gcword;
        if ((x & RH__GCW_MARKS) == (COLLECTING | UNREACHABLE)) {
            o->rh_gcword = x & ~(RH__GCW_MARKS | RH__GCW_LOW);
            nr++;
        } else if ((x & RH__GCW_MARKS) == COLLECTING) {
            o->rh_gcword = x | UNREACHABLE;
            nu++;
        }
    }
    rh__mark_walk_end(&w);
    st->n_old += nr;
    *r = nr;
    return nu;
}

size_t rh__gc_linkless_full_walk(rh_heap *h, size_t *r) {
    return walk_unreachable(h, 0, true, r);
}

size_t rh__gc_linkless_recheck_walk(rh_heap *h) {
    size_t r;
    return walk_unreachable(h, COLLECTING | UNREACHABLE, false, &r);
}

size_t rh__gc_linkless_legacy_walk(rh_heap *h) {
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        uint32_t x = o->rh_gcword;
        if ((x & RH__GCW_MARKS) == (COLLECTING | UNREACHABLE) && o->rh_type->legacy_del)
            o->rh_gcword = (x & ~(RH__GCW_MARKS | RH__GCW_LOW)) | UNREACHABLE | PENDING;
    }
    rh__mark_walk_end(&w);
    closure(h, COLLECTING | UNREACHABLE, UNREACHABLE);
    size_t n = 0;
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) n += (o->rh_gcword & RH__GCW_MARKS) == UNREACHABLE;
    rh__mark_walk_end(&w);
    return n;
}

/* Step 8 (the resurrection check) over the unreachable part of a set,
 * part[0 .. n) after user code ran: the tombstones (objects untracked or
 * freed meanwhile) are squeezed out, the marks cleared, and steps 1-3 run
 * again with the current counts. Returns the new length *n (the objects
 * still tracked) and the count of the reachable ones at its front (the
 * resurrected, and what they reach: marks cleared, counted nowhere; the
 * caller promotes them); the rest is the final garbage, marked and indexed
 * relative to `part` (coll must name `part` from now on). */
size_t rh__gc_linkless_recheck(rh_heap *h, rh_object **part, size_t *n) {
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        rh_object *o = part[i];
        if (!o) continue;
        o->rh_gcword &= ~(RH__GCW_MARKS | RH__GCW_LOW);
        part[k++] = o;
    }
    *n = k;
    return rh__gc_linkless_find_unreachable(h, part, k);
}

/* The unreachable part of a set, set[0 .. n) (NULL slots skipped), all
 * survive: their marks go, they become old (with GEN1 after a young
 * collection, generation 2 after a full one). What a collection does when
 * its tail cannot run (out of memory), and what a caller does with an
 * unreachable set it does not collect. */
void rh__gc_linkless_survive(rh_heap *h, rh_object **set, size_t n, bool gen1) {
    struct rh__gc_state *st = &h->gc;
    for (size_t i = 0; i < n; i++) {
        rh_object *o = set[i];
        if (!o) continue;
        o->rh_gcword = (o->rh_gcword & RH__GCW_KEEP) | (gen1 ? RH__GCW_GEN1 : 0);
        st->n_old++;
        if (gen1) st->n_gen1++;
    }
    st->coll = NULL;
}

/* The tail's array (gc.c's garbage set, array backend) starts on the
 * unreachable part where steps 1-3 left it, set[r .. n), each object's LOW
 * its index in set. Step 5 (rh__gc_linkless_legacy) needs it at the
 * front: this moves it to set[0 .. n - r), each object's LOW its new
 * index, coll names set. Returns n - r. The survivors' slots are not
 * needed any more (they carry no marks: an untrack of one moves the
 * counters, never a slot). */
size_t rh__gc_linkless_tail_part(rh_heap *h, rh_object **set, size_t r, size_t n) {
    size_t k = n - r;
    if (r) memmove(set, set + r, k * sizeof *set);
    for (size_t i = 0; i < k; i++) set[i]->rh_gcword = (set[i]->rh_gcword & ~RH__GCW_LOW) | (uint32_t)i;
    h->gc.coll = set;
    return k;
}

/* One object of the tail's array survives: its marks and index go, it is
 * old (with GEN1 after a young collection). The caller tombstones its
 * slot. */
void rh__gc_linkless_promote(rh_heap *h, rh_object *o, bool gen1) {
    o->rh_gcword = (o->rh_gcword & RH__GCW_KEEP) | (gen1 ? RH__GCW_GEN1 : 0);
    h->gc.n_old++;
    if (gen1) h->gc.n_gen1++;
}

/* Step 5 over the tail's array a[0 .. n) (no tombstones yet: no user code
 * ran): the objects with legacy_del, and every object of the set they
 * reach, move to the end, a[end .. n), their COLLECTING cleared (they are
 * not garbage: a weak reference among them is not garbage either) but
 * UNREACHABLE and their index kept, so that an untrack during the rest of
 * the tail still finds its slot. Returns end. The end part is scanned as a
 * queue from its top down while it grows downwards. */
typedef struct legacy_ctx {
    rh_object **a;
    size_t end;
} legacy_ctx;

static void legacy_take(legacy_ctx *c, rh_object *o) {
    size_t i = o->rh_gcword & RH__GCW_LOW;
    rh_object *x = c->a[--c->end];
    c->a[c->end] = o;
    c->a[i] = x;
    x->rh_gcword = (x->rh_gcword & ~RH__GCW_LOW) | (uint32_t)i;
    o->rh_gcword = (o->rh_gcword & ~(RH__GCW_LOW | COLLECTING)) | (uint32_t)c->end;
}

static int visit_legacy(rh_object *o, void *arg) {
    if (o && in_set(o)) legacy_take(arg, o);
    return 0;
}

size_t rh__gc_linkless_legacy(rh_heap *h, rh_object **a, size_t n) {
    (void)h;
    legacy_ctx c = {a, n};
    for (size_t i = 0; i < c.end;) {
        rh_object *o = a[i];
        if (o->rh_type->legacy_del) legacy_take(&c, o); /* a[i] is another object now */
        else i++;
    }
    for (size_t k = n; k > c.end;) {
        rh_object *o = a[--k];
        const rh_type *t = o->rh_type;
        RH__GC_TRAVERSE(o, t, visit_legacy, &c);
    }
    return c.end;
}

/* Step 6's weak references whose callback runs (gc.c's handle_weakrefs):
 * as the linked layout moves them to a list of their own while the
 * callbacks run, each leaves its generation (or the legacy part of the
 * set: a tombstone) and carries WAITING alone, counted nowhere; an untrack
 * meanwhile only unmarks it. Afterwards, still waiting, it is old. */
void rh__gc_linkless_wait(rh_heap *h, rh_object *o) {
    struct rh__gc_state *st = &h->gc;
    uint32_t w = o->rh_gcword;
    if ((w & RH__GCW_MARKS) == RH__GCW_WAITING) return;
    if (rh__gcw_gen(w) == RH__GCW_YOUNG) {
        rh__gc_linkless_young_remove(st, o, w & RH__GCW_LOW);
    } else if (w & RH__GCW_MARKS) {
        if (st->coll) {
            rh__assert(st->coll[w & RH__GCW_LOW] == o);
            st->coll[w & RH__GCW_LOW] = NULL;
        }
    } else if (w & RH__GCW_ROUND) {
        if (rh__gc_incr_leave(h, o, w)) st->n_old--; /* as untrack */
    } else if (rh__gcw_gen(w) == RH__GCW_FROZEN) {
        st->n_frozen--;
    } else {
        st->n_old--;
        if (rh__gcw_gen(w) == RH__GCW_GEN1) st->n_gen1--;
    }
    o->rh_gcword = (w & RH__GCW_KEEP) | RH__GCW_WAITING;
}

void rh__gc_linkless_wait_end(rh_heap *h, rh_object *o, bool gen1) {
    if ((o->rh_gcword & RH__GCW_MARKS) != RH__GCW_WAITING || !rh__block_marked(h, o)) return;
    rh__gc_linkless_promote(h, o, gen1);
}

/* A tracked object, in a generation (no marks of a collection or a round),
 * leaves it for a round's final check: counted nowhere, its word KEEP. */
void rh__gc_linkless_take(rh_heap *h, rh_object *o) {
    struct rh__gc_state *st = &h->gc;
    uint32_t w = o->rh_gcword;
    rh__assert(!(w & (RH__GCW_MARKS | RH__GCW_ROUND)) && rh__gcw_gen(w) != RH__GCW_FROZEN);
    if (rh__gcw_gen(w) == RH__GCW_YOUNG) {
        rh__gc_linkless_young_remove(st, o, w & RH__GCW_LOW);
    } else {
        st->n_old--;
        if (rh__gcw_gen(w) == RH__GCW_GEN1) st->n_gen1--;
    }
    o->rh_gcword = w & RH__GCW_KEEP;
}

void rh__gc_linkless_promote_young(rh_heap *h) {
    promote_young(&h->gc, RH__GCW_GEN1);
    young_fit(h);
}

/* ---------------------------------------------------------------------------
 * Generations for introspection, freeze (see the essay).
 * ------------------------------------------------------------------------- */

static bool in_generation(uint32_t w, int gen) {
    /* the set of a collection in progress is in no generation (as the
     * linked layout's unreachable and legacy lists, local to the
     * collection), nor is a weak reference waiting for its callback: a
     * finalizer or callback that asks does not see them */
    if (w & RH__GCW_MARKS) return false;
    /* nor is a round's garbage waiting on `doomed` (gc_incr.c), all three
     * of the round's marks */
    if ((w & RH__GCW_ROUND) == RH__GCW_ROUND) return false;
    if (rh__gcw_gen(w) == RH__GCW_FROZEN) return gen == RH_GC_GENERATIONS;
    if (rh__gcw_gen(w) == RH__GCW_YOUNG) return gen == 0;
    if (gen == 1) return rh__gcw_gen(w) == RH__GCW_GEN1;
    if (gen == 2) return rh__gcw_gen(w) == RH__GCW_OLD;
    return false;
}

int rh__gc_linkless_each(rh_heap *h, int gen, int (*fn)(rh_object *o, void *arg), void *arg) {
    struct rh__gc_state *st = &h->gc;
    if (gen == 0) {
        for (size_t i = 0; i < st->nyoung; i++) {
            int r = fn(st->young[i], arg);
            if (r) return r;
        }
        return 0;
    }
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    int r = 0;
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        if ((gen == RH__GC_EACH_TRACKED || in_generation(o->rh_gcword, gen)) && (r = fn(o, arg)) != 0) break;
    }
    rh__mark_walk_end(&w);
    return r;
}

/* Debug mode's leak report (gc.c): steps 1-2 over every tracked object
 * (COLLECTING and the count in LOW, as a collection's), by three walks;
 * then the words are as they were (the young ones' index given back). */
static int outside_mark(rh_object *o, void *arg) {
    (void)arg;
    o->rh_gcword = (o->rh_gcword & ~RH__GCW_LOW) | COLLECTING;
    return 0;
}
static int outside_count(rh_object *o, void *arg) {
    (void)arg;
    const rh_type *t = o->rh_type;
    RH__GC_TRAVERSE(o, t, visit_count, NULL);
    return 0;
}
typedef struct outside_ctx {
    void (*fn)(rh_object *o, uint32_t outside, void *arg);
    void *arg;
    size_t n;
} outside_ctx;
static int outside_report(rh_object *o, void *arg) {
    outside_ctx *c = arg;
    uint32_t w = o->rh_gcword;
    o->rh_gcword = w & ~(RH__GCW_LOW | COLLECTING);
    c->fn(o, o->rh_refcnt - (w & RH__GCW_LOW), c->arg);
    c->n++;
    return 0;
}

size_t rh__gc_linkless_outside(rh_heap *h, void (*fn)(rh_object *o, uint32_t outside, void *arg), void *arg) {
    struct rh__gc_state *st = &h->gc;
    rh__assert(!st->coll && !st->coll_walk); /* no collection's marks */
    outside_ctx c = {fn, arg, 0};
    (void)rh__gc_linkless_each(h, RH__GC_EACH_TRACKED, outside_mark, NULL);
    (void)rh__gc_linkless_each(h, RH__GC_EACH_TRACKED, outside_count, NULL);
    (void)rh__gc_linkless_each(h, RH__GC_EACH_TRACKED, outside_report, &c);
    for (size_t i = 0; i < st->nyoung; i++)
        st->young[i]->rh_gcword = (st->young[i]->rh_gcword & ~RH__GCW_LOW) | (uint32_t)i;
    return c.n;
}

void rh__gc_linkless_freeze(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    for (size_t i = 0; i < st->nyoung; i++) {
        rh_object *o = st->young[i];
        o->rh_gcword = (o->rh_gcword & RH__GCW_KEEP) | RH__GCW_FROZEN;
    }
    st->n_frozen += st->nyoung + st->n_old;
    st->nyoung = st->n_old = st->n_gen1 = 0;
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    /* the set of a collection in progress (its marks) is the
     * collection's: counted nowhere, its words untouched; so is a round's
     * garbage waiting on `doomed` (freeze settled the round itself) */
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;)
        if (!(o->rh_gcword & RH__GCW_MARKS) && (o->rh_gcword & RH__GCW_ROUND) != RH__GCW_ROUND)
            o->rh_gcword = (o->rh_gcword & RH__GCW_KEEP) | RH__GCW_FROZEN;
    rh__mark_walk_end(&w);
}

void rh__gc_linkless_unfreeze(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (st->n_frozen == 0) return;
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;)
        if (!(o->rh_gcword & RH__GCW_MARKS) && rh__gcw_gen(o->rh_gcword) == RH__GCW_FROZEN)
            o->rh_gcword &= ~RH__GCW_GEN;
    rh__mark_walk_end(&w);
    st->n_old += st->n_frozen;
    st->n_frozen = 0;
}
