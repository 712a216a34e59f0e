/*
 * gc_incr.c — the incremental collection policy (RH_GC_POLICY_INCREMENTAL):
 * young collections as CPython's, the old generation processed in bounded
 * slices between which the program runs, work paced by allocation, and the
 * garbage torn down in bounded steps. The CPython policy (gc.c alone) is not
 * affected: every hook here is a no-op for it.
 *
 * Why. CPython's full collection walks every tracked object in one pause, and
 * its 25% rule is defeated by programs that build large temporary structures:
 * the pauses grow with the heap (issue 13: 218-387 ms with 3M live objects).
 * Here a full pass over the old generation is cut into slices of about a
 * millisecond each, and the only pause whose length depends on the data is
 * proportional to the garbage found, not to the heap.
 *
 * Young collections. Each automatic collection is CPython's collection of
 * generation 0 (gc.c's collect_main, unchanged): the count of every young
 * object already includes every reference from old objects, so nothing like a
 * remembered set is needed. Survivors go to generation 1, which in this
 * policy means "promoted since the last round started".
 *
 * A round. At its start, generations 1 and 2 are merged and moved, whole, to
 * the round's private list `a`: that set G (the candidates) is the old
 * generation at the round's start. Objects made later are never candidates.
 * The round then runs three phases, each a walk that takes the head of `a`,
 * does a bounded amount of work on it and moves it elsewhere, so the walk's
 * position is always "the head of a list" and never a pointer into an object
 * that the program may free in between (an object freed by reference counting
 * mid-round unlinks itself from whatever list holds it, as always, and so
 * leaves the round by itself):
 *   MARK   every object of `a` gets the round's mark in its rh_gcword (the
 *          collector's scratch word; CAND) and moves to `b`; when `a` is
 *          empty, `b` becomes `a`. Marking first makes "is this referent a
 *          candidate" a one-bit question for the next phase.
 *   COUNT  each object's traverse adds one to the count (low bits of
 *          rh_gcword) of each candidate it references; `a` -> `b`, then
 *          `b` becomes `a`. A count is "references from inside G", as in
 *          CPython's subtract_refs, but the references were counted at
 *          different moments.
 *   SCAN   CPython's move_unreachable, cut in slices: the head o of `a` is
 *          reachable if it was reached (REACH) or if its reference count
 *          differs from its count (a reference from outside G, or a change
 *          since counting); then its traverse marks its candidate referents
 *          REACH (those already in `u` go back to `a`'s tail), its marks are
 *          erased (rh_gcword = 0) and it returns to generation 2, out of the
 *          round. Otherwise it moves to `u` (the suspects, mark INU).
 * When `a` is empty the round ends with the final check, in chunks:
 *   FINISH a chunk is the next FINAL_CHUNK suspects, every suspect they
 *          reach (a garbage structure is always checked whole), and, up to
 *          a bound, the tracked objects outside the round they reference;
 *          trial deletion (gc.c's steps 1-3, rh__gc_find_unreachable) over
 *          the chunk alone, with the current reference counts; then
 *          CPython's exact tail (rh__gc_tail, the same code as a full
 *          collection: weakrefs cleared and callbacks, legacy finalizers to
 *          gc.garbage, finalizers once, the resurrection check), except
 *          that the clearing of the final garbage is deferred (below).
 *          Survivors return to generation 2. A slice runs as many chunks as
 *          its budget allows; the longest pause is the chunk of the largest
 *          connected piece of garbage.
 * The phases and the final check call each object's traverse as gc.c's
 * passes do (gc_walk.h): class instances' references are read in line.
 *
 * Soundness. Trial deletion over any set S of tracked objects, with the
 * counts of one instant, keeps exactly the objects of S that have a
 * reference from outside S or are reachable inside S from one that has. An
 * object it rejects therefore has no reference but from other rejected
 * objects: nothing outside them can reach them, which is what "garbage"
 * means. This holds for any S, so it does not matter how the suspects were
 * chosen, nor what the program did while the round's slices ran: a mutation
 * can only make a live object look dead to the slices (the final check then
 * keeps it) or make garbage look live (the next round finds it). The final
 * check costs O(|S| + edges inside S), not O(heap). Garbage cannot become
 * reachable again between the final check and the tail: the only ways back
 * are a weakref dereference (the tail clears those weakrefs before any user
 * code runs) and gc.get_objects / get_referrers (they do not see the
 * suspects during the final pause, which runs no user code before the
 * weakrefs are cleared). User code run by the tail may resurrect objects;
 * the tail's resurrection check handles that exactly as in a full
 * collection. A chunk is such an S: checking the suspects a chunk at a
 * time, with the program running between chunks, is as sound as checking
 * them at once. Before the check, the tracked objects the chunk reaches that
 * are not in the round (objects newer than the round, mostly) are added to
 * it, up to CLOSURE_FACTOR per suspect (trial deletion over a larger set is
 * just as sound). Without them, young garbage held only by the round's
 * garbage would die by reference counting during the clear, and its weakref
 * callbacks would run where CPython's full collection, which sees the whole
 * garbage at once, clears those weakrefs silently (a callback weakref stored
 * inside its own referent is the common case). With the closure the final
 * check sees what a full collection would see of this garbage. Nothing is
 * taken in while objects are frozen (they may be among the referents).
 *
 * Invariants (between slices, phase != IDLE):
 *   - the objects of `a`, `b` and `u` are tracked, carry CAND in rh_gcword,
 *     and no other tracked object does (gc.c's handle_weakrefs erases the
 *     word of a weakref it takes off a list; rh_gc_track zeroes it);
 *   - MARK: objects of `b` carry CAND only; COUNT: objects of `a` CAND and a
 *     count of 0 or more references counted so far; SCAN: objects of `u`
 *     carry INU, objects of `a` may carry REACH;
 *   - no object of the round carries COLLECTING or UNREACHABLE, so young
 *     collections (which only touch COLLECTING objects' words) and the round
 *     never disturb each other;
 *   - every other tracked object's rh_gcword is 0, as gc.c requires.
 * Anything that needs gc.c's own invariant on every tracked object (a full
 * collection, freeze/unfreeze, the verifier, get_objects, get_referrers,
 * heap destruction) first calls rh__gc_incr_settle, which abandons the round:
 * its objects' words are erased and they return to generation 2, O(|G|)
 * header writes and no user code.
 *
 * Heaps without list links (docs/linkless.md; "Rounds without links"
 * below). Their containers are on no list: a tracked one is a marked block
 * of the allocator (memory/marks.h), the young ones are also in an array.
 * A round is the same final check after two phases, COUNT and SCAN, MARK
 * being folded into COUNT; each phase is a resumable walk of the marked
 * blocks (one walk per phase, in address order, its cursor an address,
 * never an object), taking only the blocks whose rh_gcword says they are
 * in the phase's state:
 *   COUNT  an old block (GEN OLD or GEN1, tracked in this heap) without
 *          marks becomes a candidate (CAND, GEN1 becomes OLD) when the
 *          walk reaches it, with a count of 0, or before, when a counted
 *          referrer first meets it, with a count of 1: the walk reaching
 *          it later traverses it and keeps its count. A candidate's
 *          traverse raises LOW (the count) of its candidate referents,
 *          saturating. G is "old when the walk, or a referrer the walk
 *          counted, met it".
 *   SCAN   a CAND block is reachable if REACH or its count differs from its
 *          reference count; then its referents are reached (a CAND one gets
 *          REACH; a suspect behind the walk leaves `u` for `rescued`, which
 *          the slice scans before the walk goes on) and its marks erased.
 *          Otherwise it goes on `u` (INU, LOW its index there).
 *   FINISH chunks of `u` as above, gathered into an array, checked by
 *          gc_linkless.c's steps 1-3 over an array and the one tail of gc.c
 *          over its array backend (rh__gc_tail_array), step 9 deferred: the
 *          final garbage is held and put on the array `doomed`.
 * `u`, `rescued` and `doomed` are segmented arrays of the heap's raw
 * blocks: fixed segments of SEG_LEN entries allocated one at a time and a
 * small directory of their pointers, so that a push costs at most one
 * segment's allocation and never copies the entries (a contiguous array
 * doubled by realloc copied all of them, a pause that grew with the
 * number of suspects: several ms at 3M live objects); while it fills, each
 * holds at most one segment beyond what its entries need; `u` gives back each segment
 * the final check has passed as it passes it (within the pause's
 * SEG_GIVE_BACK below: freeing them all at the round's end made that
 * slice's frees grow with the suspects, and held their memory through the
 * final check). A vector emptied at once (the end of the final check,
 * settle, a round's start) keeps its segments as spares, which the next
 * pushes take and the end of each pause gives back, SEG_GIVE_BACK at most
 * a pause (freed at once, they were a pause that grew with the suspects:
 * 1724 segments, over 100 ms, at the end of binary-trees' round over its
 * long-lived tree). The round's state goes once no round and no teardown
 * is left and every segment is back, in a pause that runs no slice (its
 * last frees may let the system allocator return at once the memory the
 * arrays freed below them), or in rh_gc_step or settle. The final check's
 * chunk stays contiguous (steps 1-3 and the tail take one array) and
 * doubles: it is as large as the chunk's check, whose pause is
 * proportional to it anyway, never to the heap. The round's marks are
 * rh_gcword's own bits (CAND, INU, REACH: RH__GCW_ROUND in gc_state.h),
 * apart from a collection's (COLLECTING, UNREACHABLE), so that a young
 * collection between two slices and the round never disturb each other
 * (the invariant above). The soundness argument above carries
 * over unchanged: it never used the order or completeness of the phases,
 * only that the final check is trial deletion with current counts; a walk
 * that misses an object (tracked after the cursor passed it, freed,
 * untracked) or meets one twice in different states can only make garbage
 * look live (the next round finds it) or a live object a suspect (the
 * final check keeps it). So with COUNT making the candidates: a
 * referrer counted before its referent became a candidate (the referent
 * was young or untracked then, and old before the walk reached it) leaves
 * the count too low, and a reference dropped after it was counted leaves
 * it too high; the first only makes garbage look live, the second at most
 * a live object a suspect. A referent behind the walk found old without
 * marks became old after the walk passed it (a promotion, a doomed
 * object's survivor of its clear): it becomes a candidate never
 * traversed, whose referents' counts miss its references (they look
 * live). What the phases guarantee besides is completeness for garbage
 * nothing touches: a garbage structure all of whose members are old at
 * the round's start and which no mutation touches during the round is
 * found by that round. Each member is a block marked throughout the walk,
 * so the COUNT walk returns it exactly once (marks.h's contract) and
 * traverses it as a candidate; each member it references is old and
 * tracked, so a candidate already or one from then on: every reference
 * between members is counted exactly once, whichever way it points in
 * address order. Nothing outside the structure references it, so each
 * member's count is its reference count; no reachable object reaches it,
 * so SCAN leaves every member on `u`, and the final check's chunk, which
 * takes whatever its suspects reach, rejects it whole. That is the
 * argument of the three walks (MARK first: every member a candidate
 * before any count) with "a candidate before its first counted referrer
 * meets it" in its place. The cost: two walks instead of three, each old
 * object visited twice (2 |G| units and two walks of the plane, where
 * MARK made it 3 |G| and three), and, for a referent without marks, a
 * test of its block's mark (its heap's, the plane's word: the in-line
 * path of marks.h in pools mode) instead of MARK's visit of every object.
 * An allocation that fails (the round's state, `u`,
 * `rescued`, a chunk, `doomed`) degrades the same way: the object is kept
 * as reachable, stays a suspect, the chunk is smaller, the round is
 * abandoned and settled, or the garbage is cleared at once. What the walks
 * add is memory safety: a walk never returns a freed block (memory/marks.h's
 * contract: every block marked throughout is returned exactly once, one
 * freed is never returned after its free, arenas released mid-walk are
 * skipped); the arrays never hold a dead object (an untrack, and so a
 * death, of an object on `u` or `rescued` empties its slot, found by LOW;
 * `doomed` holds a reference on each, and an object untracked while on it
 * is found unmarked there and only cleared and let go); and every mark of
 * the round is erased before an object leaves it (the end of its scan, the
 * final check, settle's walk), so no tracked object outside the round
 * carries one. Work is objects visited plus the walks' cost, one unit per
 * SCAN_PER_UNIT plane words read (or system blocks examined), each step
 * reading at most WALK_BUDGET words (or blocks), and the empty slots of `u`
 * FINISH passes, counted the same way, so that a slice's overrun past its
 * clock stays bounded; no unit costs more as the arrays grow (a push is
 * O(1), without a copy), so a slice's pause is its budget plus that
 * overrun whatever the round's size.
 *
 * Freeing in bounded steps. The final garbage of a round is not cleared in
 * the final pause: each object gets a reference held by the collector and
 * waits on `doomed`. Each later slice (or the next full collection, or heap
 * destruction) takes objects off `doomed`: clear (drop its references), then
 * drop the collector's reference. Because every doomed object is held, a
 * clear can only free objects that are not doomed: the cleared ones whose
 * last reference it drops, and their acyclic, untracked or young remains. A
 * million-object cycle is thus torn down a few thousand objects per slice
 * instead of in one cascade (the cost is amortized: one clear of an object
 * holding the last references to many cleared ones frees them all). Objects
 * still alive after their clear (held by a doomed object not cleared yet, or
 * whose type has no clear) join generation 2 at the end of the step, as
 * delete_garbage moves such survivors to the older generation; they die when
 * the later clear drops their last reference. Doomed objects are
 * unreachable, finalized, and their weakrefs are cleared: the program cannot
 * see them (they are on no generation list). With DEBUG_SAVEALL nothing is
 * deferred.
 *
 * Pacing. Work is measured in objects visited (one per object per phase).
 * The rule: old-generation work is a bounded multiple of what was promoted,
 * every mechanism backs off while it finds nothing, and a hard trigger on
 * the allocator's bytes bounds the memory garbage can take meanwhile; a
 * program that never makes cyclic garbage pays a few walks of its young
 * objects and a logarithmic number of rounds.
 *   Rounds. Each young collection adds its survivors to `promoted` and,
 *   while a round runs, credits WORK_PER_PROMOTED units of old-generation
 *   work per survivor (the back-off below spaces rounds out; it never slows
 *   a round down, which would let garbage pile up). The garbage a round
 *   cannot see is what the program makes between its start and its end: with
 *   P promotions between rounds and about v |G| units per round (v = 3
 *   visits per candidate over lists, 2 in the layout without links, whose
 *   COUNT makes the candidates), the most cyclic garbage waiting is about
 *   P + v |G| / WORK_PER_PROMOTED objects (at RATIO_MIN: (1/4 + 3/48) |G| =
 *   1.25 x the CPython policy's |G| / 4 over lists, (1/4 + 2/48) |G| = 1.17 x
 *   without links), plus what a teardown has not freed yet. A larger credit means denser
 *   slices while a round runs, not longer ones, and the same work per
 *   round. A slice spends at most
 *   the credit, and at most the slice budget of time (the clock is read
 *   every CLOCK_EVERY objects; a slice aims at the budget less
 *   1/BUDGET_MARGIN_DIV, so that the objects between two reads still fit
 *   when each is a cache miss). A round starts when promoted >= ratio *
 *   old_size (old_size: the round's candidates that survived it), or when
 *   the allocator's bytes in use exceed bytes_base * (1 + growth) +
 *   BYTES_SLACK (bytes_base: their figure when the last round ended): the
 *   hard trigger, which also lets slices run on time alone until the round
 *   ends. A round that finds nothing doubles the ratio (from RATIO_MIN,
 *   CPython's 25% rule, up to RATIO_MAX) and the growth (from GROWTH_MIN up
 *   to GROWTH_MAX); one that finds garbage resets both, and the young
 *   back-off. So in a program that makes no cyclic garbage, round k + 1
 *   needs min(2^k / 4, RATIO_MAX) * old_size promotions after round k
 *   started: about log2(4 P / old_size) rounds for P promotions, each about
 *   v * old_size units, and the bytes trigger fires only when the live
 *   bytes triple (plus the slack) in between. A slice that runs out of time
 *   with credit left (the round lags behind the promotions paying for it)
 *   brings the next pause closer (threshold[0] / BEHIND_DIVISOR
 *   allocations), so work keeps pace by more pauses, never by longer ones.
 *   Young collections. One that finds nothing, with no round running, doubles
 *   the spacing of the next (threshold[0] times young_mult) while it stays
 *   within YOUNG_SPACING_MAX allocations and while a collection twice as
 *   large would take at most 1/YOUNG_BUDGET_DIV of the slice budget (it
 *   halves the spacing when it took more): a young collection visits about
 *   as many objects as there were allocations, 10-20 ns each when they are
 *   packed, up to 200 ns when they are scattered over a large heap, so the
 *   measured time, not the count, keeps its pause well under the budget.
 *   One that finds nothing at the largest spacing so allowed is followed
 *   by YOUNG_SKIP young generations promoted
 *   unexamined (the list merged into generation 1: O(1), no gc callbacks,
 *   no pause reported, counted in promoted like survivors, and in
 *   stats.young_skipped): one young generation in YOUNG_SKIP + 1 is then
 *   walked. While a round or a teardown runs, the spacing is threshold[0]
 *   and nothing is skipped, so slices keep their pace. A young collection
 *   that finds garbage ends the young back-off and, if generations were
 *   skipped since the one before (their garbage went to the old generation
 *   unexamined), the rounds' back-off too. Skipping changes no soundness
 *   argument: a young collection's survivors join generation 1 in the same
 *   way, and rounds (and full collections) examine any set of tracked
 *   objects, however they got there. It changes when young garbage dies:
 *   garbage in a skipped young generation waits for a round (or a full
 *   collection). A program that starts making young garbage steadily
 *   sends at most YOUNG_SKIP + 1 young generations of it (up to
 *   (YOUNG_SKIP + 1) * YOUNG_SPACING_MAX allocations) there: the next walked
 *   one finds garbage and ends both back-offs, so the next round comes at
 *   the 25% rule.
 * A program that never promotes pays nothing but its young collections.
 */
#include "collector/gc_internal.h"
#include "collector/gc_walk.h" /* instances' references read in line */
#include "memory/marks.h"          /* rounds without links: walks */

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* Marks in rh_gcword of the round's objects. Bit 31 is left clear: it is
 * the layout without links' LINKLESS bit (gc_state.h), which the death path
 * reads, and objects die between slices with these marks set. */
#define CAND 0x40000000u  /* a candidate of the round in progress            */
#define INU 0x20000000u   /* on the suspects list `u` (scan phase)           */
#define REACH 0x10000000u /* reached from a reachable object (scan phase)    */
#define COUNT 0x0fffffffu /* references counted from inside G (saturating)   */

/* Pacing constants. */
#define WORK_PER_PROMOTED 48.0 /* a round (~3 visits per candidate over
                                 lists, ~2 without links) ends within
                                 ~|G|/16 (|G|/24) promotions, so garbage
                                 waits ~(RATIO_MIN + 1/16) |G|: 1.25 x
                                 the CPython policy's RATIO_MIN |G| (1.17 x) */
#define RATIO_MIN 0.25        /* CPython's 25% rule                        */
#define RATIO_MAX 256.0       /* the most fruitless rounds back off to     */
#define GROWTH_MIN 0.5        /* hard trigger: bytes in use grown by 1/2... */
#define GROWTH_MAX 2.0        /* ...up to 2 after fruitless rounds...      */
#define BYTES_SLACK ((size_t)8 << 20) /* ...plus 8 MiB since the last round    */
#define FINAL_CHUNK 256       /* suspects per final check (a slice runs as
                                 many as its budget allows)               */
#define CLOSURE_FACTOR 2      /* a check takes in at most this many objects */
#define CLOSURE_SLACK 1024    /* per suspect (plus this) outside the chunk */
#define YOUNG_SPACING_MAX 32768 /* young collections finding nothing are
                                 spaced out by doublings of threshold[0]
                                 up to this many allocations (a young
                                 collection visits about that many objects:
                                 well under the slice budget)             */
#define YOUNG_BUDGET_DIV 2    /* ...and while a young collection takes at
                                 most this fraction of the slice budget:
                                 objects scattered over a large heap cost
                                 a cache miss each                        */
#define YOUNG_SKIP 7          /* then each young collection finding nothing
                                 is followed by this many young
                                 generations promoted unexamined          */
#define BEHIND_DIVISOR 8      /* a lagging round: slices this much closer  */
#define CLOCK_EVERY 64        /* objects between two reads of the clock    */
#define BUDGET_MARGIN_DIV 16  /* a slice aims at the budget less 1/16      */
#define DOOMED_MIN 4096       /* garbage objects cleared per slice at least
                                 (within the time budget): garbage must not
                                 outlive the program's appetite for memory */

static inline rh__gchead *head_of(rh__gchead *l) { return (rh__gchead *)l->next; }
static inline bool is_empty(const rh__gchead *l) { return l->next == (uintptr_t)l; }

/* A tracked candidate of the round in progress. */
static inline bool is_cand(rh_object *o) {
    return (o->rh_type->flags & RH_TYPE_GC) && RH__AS_GC(o)->next != 0 && (o->rh_gcword & CAND);
}

void rh__gc_incr_init(rh_heap *h) {
    struct rh__gc_incr *r = &h->gc.incr;
    rh__gc_list_init(&r->a);
    rh__gc_list_init(&r->b);
    rh__gc_list_init(&r->u);
    rh__gc_list_init(&r->doomed);
    r->phase = RH__INCR_IDLE;
    r->budget_ns = RH_GC_SLICE_BUDGET_NS;
    r->ratio = RATIO_MIN;
    r->growth = GROWTH_MIN;
    r->young_mult = 1;
}

/* ---------------------------------------------------------------------------
 * The phases.
 * ------------------------------------------------------------------------- */

RH__HOT_INLINE int visit_count_cand(rh_object *o, void *arg) {
    (void)arg;
    if (o && is_cand(o) && (o->rh_gcword & COUNT) != COUNT) o->rh_gcword++;
    return 0;
}

RH__HOT_INLINE int visit_reach(rh_object *o, void *arg) {
    if (!o || !is_cand(o)) return 0;
    if (o->rh_gcword & INU) {
        /* A suspect after all: back to `a`, where the scan meets it again. */
        o->rh_gcword &= ~INU;
        rh__gc_list_move(RH__AS_GC(o), (rh__gchead *)arg);
    }
    o->rh_gcword |= REACH;
    return 0;
}

static void start_round(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    rh__gc_list_merge(&st->gens[1], &st->gens[2]);
    rh__gc_list_merge(&st->gens[2], &r->a);
    r->phase = RH__INCR_MARK;
    r->candidates = 0;
    r->promoted = 0;
    st->count[1] = 0;
    st->count[2] = 0;
}

/* Erases the marks of a list's objects and moves them to `to`. */
static void unmark_all(rh__gchead *l, rh__gchead *to) {
    for (rh__gchead *g = (rh__gchead *)l->next; g != l; g = (rh__gchead *)g->next)
        RH__FROM_GC(g)->rh_gcword = 0;
    rh__gc_list_merge(l, to);
}

/* The closure of the suspects joins the final check (see the essay):
 * tracked objects they reference that are not in the round, up to a bound. */
typedef struct pull_ctx {
    rh__gchead *set;
    size_t left;
} pull_ctx;

/* Taken in: every suspect waiting for a later chunk (CAND | INU without
 * REACH, which marks the chunk's members), and tracked objects outside the
 * round while the bound lasts. */
RH__HOT_INLINE int visit_pull(rh_object *o, void *arg) {
    pull_ctx *c = arg;
    if (!o || !(o->rh_type->flags & RH_TYPE_GC) || RH__AS_GC(o)->next == 0 ||
        (RH__AS_GC(o)->prev & (RH__GC_COLLECTING | RH__GC_UNREACHABLE)))
        return 0;
    uint32_t w = o->rh_gcword;
    if (w & CAND) {
        if ((w & (INU | REACH)) != INU) return 0;
    } else {
        if (!c->left) return 0;
        c->left--;
    }
    o->rh_gcword = CAND | INU | REACH;
    rh__gc_list_move(RH__AS_GC(o), c->set);
    return 0;
}

static size_t list_count(const rh__gchead *l) {
    size_t n = 0;
    for (const rh__gchead *g = (const rh__gchead *)l->next; g != l; g = (const rh__gchead *)g->next) n++;
    return n;
}

/* The end of a final check of either layout: the generation's and the
 * policy's statistics, the caller's info, DEBUG_VERIFY's check. Returns
 * the objects found unreachable (collected + uncollectable). */
static intptr_t final_check_end(rh_heap *h, int gen, rh_gc_info *info, uint64_t t0, size_t examined, intptr_t m,
                                intptr_t n) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    st->stats[gen].collections++;
    st->stats[gen].collected += (uint64_t)m;
    st->stats[gen].uncollectable += (uint64_t)n;
    r->stats.collected += (uint64_t)m;
    r->found += (size_t)(m + n);
    info->generation = gen;
    info->collected = m;
    info->uncollectable = n;
    info->duration_ns = rh__gc_now_ns() - t0;
    info->examined = examined;
    if (st->debug & RH_GC_DEBUG_VERIFY) (void)rh_gc_verify(h);
    return m + n;
}

/* The final check and CPython's tail (run through rh__gc_run: gc callbacks
 * see a collection of generation 2). */
static intptr_t finish_body(rh_heap *h, int gen, rh_gc_info *info) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    uint64_t t0 = rh__gc_now_ns();
    _Alignas(16) rh__gchead set;
    _Alignas(16) rh__gchead unreachable;
    _Alignas(16) rh__gchead dl;
    rh__gc_list_init(&set);
    rh__gc_list_init(&dl);
    /* This chunk: the next FINAL_CHUNK suspects. */
    size_t nsusp = 0;
    while (!is_empty(&r->u) && nsusp < FINAL_CHUNK) {
        rh__gchead *g = head_of(&r->u);
        RH__FROM_GC(g)->rh_gcword |= REACH;
        rh__gc_list_move(g, &set);
        nsusp++;
    }
    /* The chunk's closure: all the suspects it reaches, and objects outside
     * the round up to a bound. Frozen objects never join a collection: none
     * from outside the round is taken while anything is frozen (a referent
     * could be in the permanent list). */
    pull_ctx c = {&set, is_empty(&st->permanent) ? nsusp * CLOSURE_FACTOR + CLOSURE_SLACK : 0};
    for (rh__gchead *g = head_of(&set); g != &set; g = head_of(g)) {
        rh_object *o = RH__FROM_GC(g);
        RH__GC_TRAVERSE(o, o->rh_type, visit_pull, &c);
    }
    size_t examined = list_count(&set);
    r->stats.suspects += examined;
    unsigned need = 0;
    size_t nunreachable = rh__gc_find_unreachable(h, &set, &unreachable, &need);
    rh__gc_list_merge(&set, &st->gens[2]); /* survivors (marks erased by steps 1-3) */
    intptr_t m = 0, n = 0;
    rh__gc_tail(h, &unreachable, nunreachable, need, &st->gens[2], &dl, &m, &n);
    r->ndoomed += list_count(&dl);
    rh__gc_list_merge(&dl, &r->doomed);

    return final_check_end(h, gen, info, t0, examined, m, n);
}

/* The round is over: pacing for the next one. A round that found nothing
 * backs off, one that found garbage resets the ratio. */
static void end_round(rh_heap *h) {
    struct rh__gc_incr *r = &h->gc.incr;
    r->phase = RH__INCR_IDLE;
    r->stats.rounds++;
    if (r->found == 0) {
        r->ratio = r->ratio * 2 > RATIO_MAX ? RATIO_MAX : r->ratio * 2;
        r->growth = r->growth * 2 > GROWTH_MAX ? GROWTH_MAX : r->growth * 2;
    } else {
        r->ratio = RATIO_MIN;
        r->growth = GROWTH_MIN;
        r->young_mult = 1;
        r->young_skip = 0;
    }
    r->old_size = r->candidates > r->found ? r->candidates - r->found : 0;
    r->bytes_base = rh__bytes_in_use(h);
    r->credit = 0;
    r->candidates = 0;
    r->found = 0;
}

/* Clears deferred garbage: at most `quota` objects, until `deadline`. */
static size_t clear_doomed(rh_heap *h, size_t quota, uint64_t deadline) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    size_t done = 0;
    _Alignas(16) rh__gchead cleared; /* alive after their clear, for now */
    rh__gc_list_init(&cleared);
    while (!is_empty(&r->doomed) && done < quota) {
        if (done && done % CLOCK_EVERY == 0 && rh__gc_now_ns() >= deadline) break;
        rh__gchead *g = head_of(&r->doomed);
        rh_object *o = RH__FROM_GC(g);
        rh__gc_list_move(g, &cleared);
        void (*clear)(rh_object *) = o->rh_type->clear;
        if (clear) clear(o);
        rh_decref(o); /* the collector's reference: o dies now unless held */
        done++;
    }
    /* Cleared objects still alive: some may die when later clears drop their
     * last reference. They wait in generation 2 (as delete_garbage's
     * survivors), where a collection finds them if they are still garbage. */
    rh__gc_list_merge(&cleared, &st->gens[2]);
    r->ndoomed = r->ndoomed > done ? r->ndoomed - done : 0;
    if (is_empty(&r->doomed)) r->ndoomed = 0;
    r->stats.deferred_freed += done;
    return done;
}

/* One slice: deferred garbage first, then the round's phases. Returns the
 * work done. st->collecting must be set. */
static size_t slice(rh_heap *h, size_t quota, uint64_t deadline) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    size_t done = 0;
    if (!is_empty(&r->doomed))
        done += clear_doomed(h, quota > DOOMED_MIN ? quota : DOOMED_MIN, deadline);
    while (done < quota && r->phase != RH__INCR_IDLE) {
        if (done && done % CLOCK_EVERY == 0 && rh__gc_now_ns() >= deadline) break;
        if (r->phase == RH__INCR_FINISH) {
            /* The final check, one chunk of suspects per slice. */
            if (is_empty(&r->u)) {
                end_round(h);
                return done + 1;
            }
            (void)rh__gc_run(h, RH_GC_GENERATIONS - 1, true, finish_body);
            done += FINAL_CHUNK;
            if (rh__gc_now_ns() >= deadline) break;
            continue;
        }
        if (is_empty(&r->a)) {
            switch (r->phase) {
            case RH__INCR_MARK:
                rh__gc_list_merge(&r->b, &r->a);
                r->phase = RH__INCR_COUNT;
                break;
            case RH__INCR_COUNT:
                rh__gc_list_merge(&r->b, &r->a);
                r->phase = RH__INCR_SCAN;
                break;
            default:
                /* Scan done: the final check follows, chunk by chunk. */
                r->phase = RH__INCR_FINISH;
                break;
            }
            continue;
        }
        rh__gchead *g = head_of(&r->a);
        rh_object *o = RH__FROM_GC(g);
        __builtin_prefetch((void *)g->next, 1);
        switch (r->phase) {
        case RH__INCR_MARK:
            o->rh_gcword = CAND;
            r->candidates++;
            rh__gc_list_move(g, &r->b);
            break;
        case RH__INCR_COUNT:
            RH__GC_TRAVERSE(o, o->rh_type, visit_count_cand, NULL);
            rh__gc_list_move(g, &r->b);
            break;
        default: {
            uint32_t w = o->rh_gcword, c = w & COUNT;
            if (!(w & CAND) || (w & REACH) || c == COUNT || c != o->rh_refcnt) {
                RH__GC_TRAVERSE(o, o->rh_type, visit_reach, &r->a);
                o->rh_gcword = 0;
                rh__gc_list_move(g, &st->gens[2]);
            } else {
                o->rh_gcword = w | INU;
                rh__gc_list_move(g, &r->u);
            }
            break;
        }
        }
        done++;
    }
    return done;
}

/* ---------------------------------------------------------------------------
 * Rounds without links (a heap with gc.linkless; see the essay and
 * docs/linkless.md, "S4"). The phases are walks of the marked blocks
 * (memory/marks.h), the suspects, the rescued ones and the garbage waiting
 * for its clear are segmented arrays of the heap's raw blocks (segvec
 * below); the marks are
 * rh_gcword's ROUND bits (gc_state.h), apart from a collection's:
 *   CAND          a candidate (GEN OLD); LOW its count (COUNT, SCAN).
 *                 Between two slices of COUNT, an old block the walk has
 *                 passed is a candidate (unless it became old after), and
 *                 one ahead of it is a candidate with a count of 1 or more
 *                 if a counted referrer met it, else has no marks
 *   CAND|REACH    a candidate reached before the scan's walk met it
 *   CAND|INU      a suspect: u[LOW] == o
 *   INU|REACH     a suspect reached after the walk passed it: rescued[LOW]
 *                 == o, to be scanned (the slice drains it before the walk
 *                 goes on)
 *   CAND|INU|REACH  final garbage on `doomed`, held by the collector,
 *                 counted nowhere (also, while a chunk of the final check is
 *                 put together and no user code runs, that chunk's members)
 * Candidates, suspects and rescued ones are counted as old (n_old).
 * ------------------------------------------------------------------------- */

#define LL_CAND RH__GCW_CAND
#define LL_SUSPECT (RH__GCW_CAND | RH__GCW_INU)
#define LL_RESCUED (RH__GCW_INU | RH__GCW_REACH)
#define LL_DOOMED RH__GCW_ROUND
#define LL_ROUND RH__GCW_ROUND
#define LL_LOW RH__GCW_LOW
/* Plane words a walk's step may read, or system blocks it may examine
 * (memory/marks.h): one arena's plane (8 KiB), WALK_BUDGET / SCAN_PER_UNIT
 * units of work. */
#define WALK_BUDGET 1024
/* Plane words read (or system blocks examined) per unit of work: what a
 * slice charges for the walk's cost, rh__mark_walk.scanned (the ratio is
 * measured in docs/linkless.md, "S4"). */
#define SCAN_PER_UNIT 64

/* The final check's chunk: a contiguous array (gc_linkless.c's steps 1-3
 * take one), grown by doubling. */
typedef struct objvec {
    rh_object **a;
    size_t n, cap;
} objvec;

/* The suspects, the rescued ones and the garbage waiting for its clear: a
 * segmented vector, so that a push never copies the entries. Entry i is
 * slot i & SEG_MASK of segment i >> SEG_SHIFT; segments of SEG_LEN entries
 * are allocated one at a time, and only the directory of their pointers
 * (at most LL_LOW / SEG_LEN of them) doubles. A vector holds the segments
 * its entries need and at most one more (a pop that empties a segment
 * frees the one past it), or spares after vec_clear, which ll_release
 * gives back at the end of each pause, SEG_GIVE_BACK at most: the pause
 * that empties a vector of millions of entries frees none of them. The
 * suspects' also give back, from the head, the segments whose entries the
 * final check has all passed (vec_drop_passed: their directory entries
 * NULL, below `head`), one at a time as it passes them, so that its
 * memory does not wait for the round's end. */
#define SEG_SHIFT 12
#define SEG_LEN ((size_t)1 << SEG_SHIFT) /* 4096 entries: 32 KiB */
#define SEG_MASK (SEG_LEN - 1)
#define SEG_GIVE_BACK 8 /* spare segments freed by one pause at most: 256 KiB */

typedef struct segvec {
    rh_object ***seg; /* the directory: nseg segments           */
    size_t n;         /* entries                                */
    size_t nseg, dcap; /* segments held; the directory's room   */
    size_t head;      /* segments below it freed (NULL), passed */
} segvec;

struct rh__incr_ll {
    rh__mark_walk walk;
    bool walking;   /* walk open (COUNT, SCAN)                    */
    size_t charged; /* walk.scanned already charged as work      */
    size_t uhead;   /* FINISH: the next slot of u to check       */
    segvec u, rescued, doomed;
    objvec chunk;
    size_t give;    /* segments this pause may still free: SEG_GIVE_BACK
                       a pause, shared by the final check's passed
                       segments and the spares given back at its end */
};

/* Room for `more` entries in the chunk (an index must fit LOW). */
static bool chunk_reserve(rh_heap *h, objvec *v, size_t more) {
    if (v->n + more <= v->cap) return true;
    if (v->n + more >= LL_LOW) return false;
    size_t cap = v->cap ? v->cap * 2 : 64;
    while (cap < v->n + more) cap *= 2;
    if (cap > LL_LOW) cap = LL_LOW;
    rh_object **a = rh__gc_array_realloc(h, v->a, cap * sizeof *a);
    if (!a) return false;
    v->a = a;
    v->cap = cap;
    return true;
}

/* Appends o to the chunk; returns its index, or (size_t)-1 out of memory. */
static size_t chunk_push(rh_heap *h, objvec *v, rh_object *o) {
    if (!chunk_reserve(h, v, 1)) return (size_t)-1;
    v->a[v->n] = o;
    return v->n++;
}

static void chunk_free(rh_heap *h, objvec *v) {
    rh_free(h, v->a);
    v->a = NULL;
    v->n = v->cap = 0;
}

static inline rh_object **vec_slot(const segvec *v, size_t i) {
    return &v->seg[i >> SEG_SHIFT][i & SEG_MASK];
}

/* Entry i (i < n, its segment not freed). */
static inline rh_object *vec_at(const segvec *v, size_t i) { return *vec_slot(v, i); }

/* The slot of entry i if it holds o (i < n, its segment not freed), else
 * NULL. */
static inline rh_object **vec_find(const segvec *v, size_t i, const rh_object *o) {
    if (i >= v->n || !v->seg[i >> SEG_SHIFT]) return NULL;
    rh_object **slot = vec_slot(v, i);
    return *slot == o ? slot : NULL;
}

/* Appends o; returns its index, or (size_t)-1 out of memory (a segment or
 * the directory could not be had; v is unchanged). An index must fit LOW. */
static size_t vec_push(rh_heap *h, segvec *v, rh_object *o) {
    size_t i = v->n;
    if (i + 1 >= LL_LOW) return (size_t)-1;
    size_t s = i >> SEG_SHIFT;
    if (s == v->nseg || !v->seg[s]) { /* a new segment, or one freed at the head */
        if (s == v->dcap) {
            size_t dcap = v->dcap ? v->dcap * 2 : 8;
            rh_object ***d = rh__gc_array_realloc(h, v->seg, dcap * sizeof *d);
            if (!d) return (size_t)-1;
            v->seg = d;
            v->dcap = dcap;
        }
        rh_object **a = rh__gc_array_realloc(h, NULL, SEG_LEN * sizeof *a);
        if (!a) return (size_t)-1;
        v->seg[s] = a;
        if (s == v->nseg) v->nseg++;
    }
    v->seg[s][i & SEG_MASK] = o;
    v->n = i + 1;
    return i;
}

/* Frees segments past the first `keep`, at most *budget of them (the
 * budget spent is taken off it; a slot freed at the head already costs
 * nothing): whether v spans `keep` segments at most now. */
static bool vec_give_back(rh_heap *h, segvec *v, size_t keep, size_t *budget) {
    while (v->nseg > keep && (*budget || !v->seg[v->nseg - 1])) {
        rh_object **a = v->seg[--v->nseg];
        if (a) {
            rh_free(h, a);
            (*budget)--;
        }
    }
    if (v->head > v->nseg) v->head = v->nseg;
    return v->nseg <= keep;
}

/* Frees segments past the one after those n entries need, SEG_GIVE_BACK
 * at most. */
static void vec_trim(rh_heap *h, segvec *v) {
    size_t budget = SEG_GIVE_BACK;
    (void)vec_give_back(h, v, ((v->n + SEG_MASK) >> SEG_SHIFT) + 1, &budget);
}

/* Frees the segments all of whose entries are below `upto` (the final
 * check has passed them: every such slot is empty, and nothing reads them
 * again; vec_find sees no entry there), at most *budget of them (taken off
 * it); those left wait for a later pass, or become spares. */
static void vec_drop_passed(rh_heap *h, segvec *v, size_t upto, size_t *budget) {
    while (*budget && v->head < v->nseg && ((v->head + 1) << SEG_SHIFT) <= upto) {
        rh_free(h, v->seg[v->head]);
        v->seg[v->head++] = NULL;
        (*budget)--;
    }
}

/* Removes and returns the last entry (n > 0). */
static rh_object *vec_pop(rh_heap *h, segvec *v) {
    rh_object *o = vec_at(v, --v->n);
    if ((v->n & SEG_MASK) == 0) vec_trim(h, v);
    return o;
}

/* Empties v; its segments stay (spares: the next pushes take them, the
 * ends of pauses give them back, ll_release); those freed at the head stay
 * NULL until a push needs them again. */
static void vec_clear(segvec *v) {
    v->n = 0;
    v->head = 0;
}

/* Frees v, which holds no segment. */
static void vec_free(rh_heap *h, segvec *v) {
    rh__assert(v->nseg == 0);
    rh_free(h, v->seg);
    v->seg = NULL;
    v->n = v->dcap = v->head = 0;
}

static inline bool ll_doomed_left(const struct rh__incr_ll *ll) { return ll && ll->doomed.n; }

/* Is o a container of this layout carrying exactly the round's marks m
 * (and no collection's)? */
static inline bool ll_is(const rh_object *o, uint32_t m) {
    return (o->rh_type->flags & RH_TYPE_GC) &&
           (o->rh_gcword & (RH__GCW_LINKLESS | RH__GCW_MARKS | LL_ROUND)) == (RH__GCW_LINKLESS | m);
}

/* o's slot in v, if o is there (LOW its index): emptied. */
static void vec_leave(segvec *v, rh_object *o) {
    rh_object **slot = vec_find(v, o->rh_gcword & LL_LOW, o);
    if (slot) *slot = NULL;
}

bool rh__gc_incr_leave(rh_heap *h, rh_object *o, uint32_t w) {
    struct rh__incr_ll *ll = h->gc.incr.ll;
    uint32_t m = w & LL_ROUND;
    if (m == LL_DOOMED) return false; /* held: the teardown finds it unmarked */
    if (!ll) return true;
    if (m == LL_SUSPECT) vec_leave(&ll->u, o);
    else if (m == LL_RESCUED) vec_leave(&ll->rescued, o);
    return true;
}

bool rh__gc_incr_doom(rh_heap *h, rh_object *o) {
    struct rh__incr_ll *ll = h->gc.incr.ll;
    if (!ll || vec_push(h, &ll->doomed, o) == (size_t)-1) return false;
    o->rh_gcword = (o->rh_gcword & RH__GCW_KEEP) | LL_DOOMED;
    rh_incref(o);
    h->gc.incr.ndoomed++;
    return true;
}

void rh__gc_incr_ll_shape(const rh_heap *h, rh__incr_ll_shape *out) {
    memset(out, 0, sizeof *out);
    const struct rh__incr_ll *ll = h->gc.incr.ll;
    if (!ll) return;
    const segvec *v[3] = {&ll->u, &ll->rescued, &ll->doomed};
    for (int i = 0; i < 3; i++) {
        out->n[i] = v[i]->n;
        out->nseg[i] = v[i]->nseg;
        for (size_t s = 0; s < v[i]->nseg; s++) out->live[i] += v[i]->seg[s] != NULL;
    }
    out->seg_len = SEG_LEN;
}

static void ll_walk_open(struct rh__incr_ll *ll, rh_heap *h) {
    rh__mark_walk_begin(h, &ll->walk);
    ll->walk.budget = WALK_BUDGET;
    ll->walking = true;
    ll->charged = 0;
}

static void ll_walk_close(struct rh__incr_ll *ll) {
    if (!ll->walking) return;
    rh__mark_walk_end(&ll->walk);
    ll->walking = false;
}

/* The walk's cost since the last charge, in units of work. */
static size_t ll_charge(struct rh__incr_ll *ll) {
    size_t units = (ll->walk.scanned - ll->charged) / SCAN_PER_UNIT;
    ll->charged += units * SCAN_PER_UNIT;
    return units;
}

static bool start_round_ll(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    if (!r->ll) {
        r->ll = rh__gc_array_realloc(h, NULL, sizeof *r->ll);
        if (!r->ll) return false; /* out of memory: no round for now */
        memset(r->ll, 0, sizeof *r->ll);
        r->ll->give = SEG_GIVE_BACK;
    }
    struct rh__incr_ll *ll = r->ll;
    vec_clear(&ll->u);
    vec_clear(&ll->rescued);
    ll->uhead = 0;
    ll_walk_open(ll, h);
    r->phase = RH__INCR_COUNT; /* no MARK walk: COUNT makes the candidates */
    r->candidates = 0;
    r->promoted = 0;
    st->count[1] = 0;
    st->count[2] = 0;
    return true;
}

/* The round is abandoned: every mark but `doomed`'s erased by a walk (the
 * objects stay old, generation 2), the arrays emptied. O(tracked objects),
 * no user code. The objects of a final check's chunk in its tail carry a
 * collection's marks, not the round's: the tail keeps them. */
static void settle_round_ll(rh_heap *h) {
    struct rh__incr_ll *ll = h->gc.incr.ll;
    ll_walk_close(ll);
    rh__mark_walk w;
    rh__mark_walk_begin(h, &w);
    for (rh_object *o; (o = rh__mark_walk_next(&w)) != NULL;) {
        uint32_t x = o->rh_gcword;
        if ((x & LL_ROUND) && (x & LL_ROUND) != LL_DOOMED && !(x & RH__GCW_MARKS))
            o->rh_gcword = x & ~(LL_ROUND | LL_LOW);
    }
    rh__mark_walk_end(&w);
    vec_clear(&ll->u);
    vec_clear(&ll->rescued);
    ll->uhead = 0;
}

/* The end of a pause: the arrays' spare segments given back, at most what
 * the pause has left of SEG_GIVE_BACK (`all`: every one, where the pause
 * is O(heap) anyway), and, if `state`, the arrays go when nothing is left
 * in them (no round, no teardown) and every segment is back; not called
 * while a final check's tail runs, which uses the chunk. */
static void ll_release(rh_heap *h, bool all, bool state) {
    struct rh__gc_incr *r = &h->gc.incr;
    struct rh__incr_ll *ll = r->ll;
    if (!ll) return;
    size_t budget = all ? SIZE_MAX : ll->give;
    ll->give = SEG_GIVE_BACK; /* the next pause's */
    bool idle = r->phase == RH__INCR_IDLE && !ll->doomed.n;
    segvec *v[3] = {&ll->u, &ll->rescued, &ll->doomed};
    bool back = true;
    for (int i = 0; i < 3; i++)
        back &= vec_give_back(h, v[i], idle ? 0 : ((v[i]->n + SEG_MASK) >> SEG_SHIFT) + 1, &budget);
    if (!idle || !back || !state) return;
    ll_walk_close(ll);
    vec_free(h, &ll->u);
    vec_free(h, &ll->rescued);
    vec_free(h, &ll->doomed);
    chunk_free(h, &ll->chunk);
    rh_free(h, ll);
    r->ll = NULL;
}

/* Is o, a container of this layout, tracked in h (its block marked, h's
 * own)? A (forbidden) reference into another heap must leave that heap's
 * objects untouched: the pools' in-line test of the mark names the owner,
 * anything else asks the allocator for the heap first. COUNT's new
 * candidates and the final check's pull (visit_pull_ll) both ask here. */
static inline bool ll_tracked_here(rh_heap *h, const rh_object *o) {
    uint64_t *mw, bit;
    if (RH_LIKELY(rh__mark_fast(h, o, &mw, &bit))) return (*mw & bit) != 0;
    return rh__heap_of(o) == h && rh__block_marked(h, o);
}

/* o (tracked in this heap, old: GEN OLD or GEN1, without marks) joins the
 * round: CAND, GEN OLD (GEN1's count moves), `count` references from
 * inside the round counted so far. */
static inline void ll_enter(struct rh__gc_state *st, rh_object *o, uint32_t w, uint32_t count) {
    if (rh__gcw_gen(w) == RH__GCW_GEN1) st->n_gen1--;
    o->rh_gcword = (w & ~(RH__GCW_GEN | LL_LOW)) | LL_CAND | count;
    st->incr.candidates++;
}

/* Old, without marks: what the COUNT walk makes a candidate. */
static inline bool ll_old_free(uint32_t w) {
    return !(w & (RH__GCW_MARKS | LL_ROUND)) && (rh__gcw_gen(w) == RH__GCW_OLD || rh__gcw_gen(w) == RH__GCW_GEN1);
}

/* COUNT: a candidate referent's count goes up (saturating); an old one
 * without marks, tracked here, becomes a candidate with a count of 1 (the
 * walk, reaching it later, traverses it and keeps the count). */
RH__HOT_INLINE int visit_count_ll(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    uint32_t w = o->rh_gcword;
    uint32_t m = w & (RH__GCW_LINKLESS | RH__GCW_MARKS | LL_ROUND);
    if (m == (RH__GCW_LINKLESS | LL_CAND)) {
        if ((w & LL_LOW) != LL_LOW) o->rh_gcword = w + 1;
    } else if (m == RH__GCW_LINKLESS && ll_old_free(w) && ll_tracked_here(arg, o)) {
        ll_enter(&((rh_heap *)arg)->gc, o, w, 1);
    }
    return 0;
}

/* SCAN: a reachable object's referents. A candidate gets REACH; a suspect
 * (behind the walk) leaves u for `rescued`, or stays a suspect when that
 * array cannot grow (the final check then keeps it: sound). */
static int visit_reach_ll(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    uint32_t w = o->rh_gcword;
    if ((w & (RH__GCW_LINKLESS | RH__GCW_MARKS | RH__GCW_CAND)) != (RH__GCW_LINKLESS | RH__GCW_CAND))
        return 0;
    uint32_t m = w & LL_ROUND;
    if (m == LL_CAND) {
        o->rh_gcword = w | RH__GCW_REACH;
    } else if (m == LL_SUSPECT) {
        rh_heap *h = arg;
        struct rh__incr_ll *ll = h->gc.incr.ll;
        rh_object **slot = vec_find(&ll->u, w & LL_LOW, o);
        if (!slot) return 0; /* not this heap's */
        size_t k = vec_push(h, &ll->rescued, o);
        if (k == (size_t)-1) return 0;
        *slot = NULL;
        o->rh_gcword = (w & ~(LL_ROUND | LL_LOW)) | LL_RESCUED | (uint32_t)k;
    }
    return 0;
}

/* o is reachable: its referents are reached, its marks erased (old). */
static inline void reachable_ll(rh_heap *h, rh_object *o) {
    RH__GC_TRAVERSE(o, o->rh_type, visit_reach_ll, h);
    o->rh_gcword &= ~(LL_ROUND | LL_LOW);
}

/* The final check's chunk (as visit_pull): suspects waiting for a later
 * chunk, and tracked objects outside the round while the bound lasts. A
 * member carries LL_DOOMED while the chunk is put together. */
typedef struct pull_ll {
    rh_heap *h;
    size_t left;
} pull_ll;

static int visit_pull_ll(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    pull_ll *c = arg;
    rh_heap *h = c->h;
    struct rh__incr_ll *ll = h->gc.incr.ll;
    uint32_t w = o->rh_gcword;
    if ((w & (RH__GCW_LINKLESS | RH__GCW_MARKS)) != RH__GCW_LINKLESS) return 0;
    uint32_t m = w & LL_ROUND;
    if (m == LL_SUSPECT) {
        rh_object **slot = vec_find(&ll->u, w & LL_LOW, o);
        if (!slot) return 0;
        if (chunk_push(h, &ll->chunk, o) == (size_t)-1) return 0;
        *slot = NULL;
        h->gc.n_old--;
        o->rh_gcword = (w & RH__GCW_KEEP) | LL_DOOMED;
        return 0;
    }
    if (m || !c->left || rh__gcw_gen(w) == RH__GCW_FROZEN) return 0;
    if (!ll_tracked_here(h, o)) return 0;
    if (chunk_push(h, &ll->chunk, o) == (size_t)-1) return 0;
    c->left--;
    rh__gc_linkless_take(h, o);
    o->rh_gcword |= LL_DOOMED;
    return 0;
}

/* The final check of one chunk of u and the tail (through rh__gc_run: gc
 * callbacks see a collection of generation 2), the clear deferred to
 * `doomed`. The chunk array has room for one object (the caller saw to
 * it). */
static intptr_t finish_body_ll(rh_heap *h, int gen, rh_gc_info *info) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    struct rh__incr_ll *ll = r->ll;
    uint64_t t0 = rh__gc_now_ns();
    objvec *c = &ll->chunk;
    c->n = 0;
    size_t nsusp = 0, skip = 0; /* empty slots passed: WALK_BUDGET at most */
    while (ll->uhead < ll->u.n && nsusp < FINAL_CHUNK) {
        rh_object *o = vec_at(&ll->u, ll->uhead);
        if (!o) {
            if (++skip > WALK_BUDGET) break;
            ll->uhead++;
            continue;
        }
        if (chunk_push(h, c, o) == (size_t)-1) break; /* out of memory: a smaller chunk */
        *vec_slot(&ll->u, ll->uhead++) = NULL;
        st->n_old--;
        o->rh_gcword = (o->rh_gcword & RH__GCW_KEEP) | LL_DOOMED;
        nsusp++;
    }
    pull_ll pc = {h, st->n_frozen == 0 ? nsusp * CLOSURE_FACTOR + CLOSURE_SLACK : 0};
    for (size_t i = 0; i < c->n; i++) {
        rh_object *o = c->a[i];
        RH__GC_TRAVERSE(o, o->rh_type, visit_pull_ll, &pc);
    }
    size_t n = c->n;
    for (size_t i = 0; i < n; i++) c->a[i]->rh_gcword &= RH__GCW_KEEP;
    r->stats.suspects += n;
    size_t reach = rh__gc_linkless_find_unreachable(h, c->a, n);
    st->n_old += reach; /* survivors: old, generation 2 */
    intptr_t m = 0, nn = 0;
    if (reach < n) rh__gc_tail_array(h, c->a, reach, n, true, &m, &nn);
    c->n = 0;

    return final_check_end(h, gen, info, t0, n, m, nn);
}

/* Clears deferred garbage from the end of `doomed`: at most `quota`
 * objects, until `deadline`. An object still tracked with its marks after
 * its clear is alive for now (held by garbage not cleared yet, or without
 * a clear): old, generation 2. One the program untracked meanwhile (its
 * marks gone) is only cleared and let go. */
static size_t clear_doomed_ll(rh_heap *h, size_t quota, uint64_t deadline) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    struct rh__incr_ll *ll = r->ll;
    size_t done = 0;
    while (ll->doomed.n && done < quota) {
        if (done && done % CLOCK_EVERY == 0 && rh__gc_now_ns() >= deadline) break;
        rh_object *o = vec_pop(h, &ll->doomed);
        void (*clear)(rh_object *) = o->rh_type->clear;
        if (clear) clear(o);
        if (ll_is(o, LL_DOOMED)) {
            o->rh_gcword &= RH__GCW_KEEP;
            st->n_old++;
        }
        rh_decref(o); /* the collector's reference: o dies now unless held */
        done++;
    }
    r->ndoomed = ll->doomed.n;
    r->stats.deferred_freed += done;
    return done;
}

/* One slice of a heap without links: deferred garbage first, then the
 * round's phases. Work: one unit per object a walk returns or the slice
 * takes off an array, FINAL_CHUNK per chunk of the final check, and the
 * walks' cost, one unit per SCAN_PER_UNIT plane words read. */
static size_t slice_ll(rh_heap *h, size_t quota, uint64_t deadline) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    size_t done = 0;
    if (ll_doomed_left(r->ll))
        done += clear_doomed_ll(h, quota > DOOMED_MIN ? quota : DOOMED_MIN, deadline);
    size_t clock = done + CLOCK_EVERY;
    while (done < quota && r->phase != RH__INCR_IDLE) {
        if (done >= clock) {
            clock = done + CLOCK_EVERY;
            if (rh__gc_now_ns() >= deadline) break;
        }
        struct rh__incr_ll *ll = r->ll;
        if (r->phase == RH__INCR_FINISH) {
            /* empty slots (their objects untracked) passed as a walk's
             * plane words are: WALK_BUDGET a step, charged */
            size_t skip = 0;
            while (ll->uhead < ll->u.n && !vec_at(&ll->u, ll->uhead) && skip < WALK_BUDGET) ll->uhead++, skip++;
            vec_drop_passed(h, &ll->u, ll->uhead, &ll->give); /* within the pause's SEG_GIVE_BACK */
            if (skip == WALK_BUDGET) {
                done += 1 + skip / SCAN_PER_UNIT;
                continue;
            }
            if (ll->uhead == ll->u.n) {
                vec_clear(&ll->u);
                ll->uhead = 0;
                end_round(h);
                return done + 1;
            }
            if (!chunk_reserve(h, &ll->chunk, 1)) {
                /* out of memory for the check: the round is abandoned, its
                 * suspects old again (the next round sees them) */
                settle_round_ll(h);
                r->phase = RH__INCR_IDLE;
                r->candidates = 0;
                r->stats.rounds_abandoned++;
                break;
            }
            (void)rh__gc_run(h, RH_GC_GENERATIONS - 1, true, finish_body_ll);
            vec_drop_passed(h, &ll->u, ll->uhead, &ll->give);
            done += FINAL_CHUNK;
            if (rh__gc_now_ns() >= deadline) break;
            continue;
        }
        if (r->phase == RH__INCR_SCAN && ll->rescued.n) {
            rh_object *o = vec_pop(h, &ll->rescued);
            if (o) reachable_ll(h, o);
            done++;
            continue;
        }
        rh_object *o = rh__mark_walk_next(&ll->walk);
        done += ll_charge(ll);
        if (!o) {
            if (!rh__mark_walk_over(&ll->walk)) continue; /* the step's budget ran out */
            ll_walk_close(ll);
            if (r->phase == RH__INCR_SCAN) {
                r->phase = RH__INCR_FINISH;
                ll->uhead = 0;
            } else {
                r->phase = RH__INCR_SCAN;
                ll_walk_open(ll, h);
            }
            continue;
        }
        uint32_t w = o->rh_gcword;
        switch (r->phase) {
        case RH__INCR_COUNT:
            /* an old block without marks becomes a candidate here (count
             * 0), one a counted referrer made a candidate keeps its count */
            if (ll_old_free(w)) ll_enter(st, o, w, 0);
            else if (!ll_is(o, LL_CAND)) break;
            RH__GC_TRAVERSE(o, o->rh_type, visit_count_ll, h);
            break;
        default: {
            if (!ll_is(o, LL_CAND) && !ll_is(o, LL_CAND | RH__GCW_REACH)) break;
            uint32_t cnt = w & LL_LOW;
            size_t k;
            if ((w & RH__GCW_REACH) || cnt == LL_LOW || cnt != o->rh_refcnt ||
                (k = vec_push(h, &ll->u, o)) == (size_t)-1)
                reachable_ll(h, o); /* out of memory for u: kept, sound */
            else
                o->rh_gcword = (w & ~LL_LOW) | RH__GCW_INU | (uint32_t)k;
            break;
        }
        }
        done++;
    }
    return done;
}

/* ---------------------------------------------------------------------------
 * Entry points.
 * ------------------------------------------------------------------------- */

/* The policy's tests and actions that depend on the layout. */
static inline bool doomed_empty(rh_heap *h) {
    return h->gc.linkless ? !ll_doomed_left(h->gc.incr.ll) : is_empty(&h->gc.incr.doomed);
}
static inline bool old_empty(rh_heap *h) {
    return h->gc.linkless ? h->gc.n_old == 0 : is_empty(&h->gc.gens[1]) && is_empty(&h->gc.gens[2]);
}
static void start_round_any(rh_heap *h) {
    /* a round whose state cannot be made (out of memory) is counted
     * abandoned, so that the program sees it in rh_gc_incr_stats */
    if (h->gc.linkless) {
        if (!start_round_ll(h)) h->gc.incr.stats.rounds_abandoned++;
    } else {
        start_round(h);
    }
}

static bool round_due(rh_heap *h, bool *hard) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    *hard = false;
    if (old_empty(h)) return false;
    if ((double)r->promoted >= r->ratio * (double)r->old_size) return true;
    size_t bytes = rh__bytes_in_use(h);
    if ((double)bytes > (double)r->bytes_base * (1 + r->growth) + (double)BYTES_SLACK) {
        *hard = true;
        return true;
    }
    return false;
}

/* The slice budget's deadline counted from t; a budget too large for the
 * clock (UINT64_MAX: no limit) never wraps around into the past. */
static uint64_t deadline_from(const struct rh__gc_incr *r, uint64_t t) {
    return r->budget_ns > UINT64_MAX - t ? UINT64_MAX : t + r->budget_ns;
}

/* A slice that must end by `deadline` (the budget counts from the start of
 * the pause, young collection included). */
static void run_slice(rh_heap *h, size_t quota, uint64_t deadline) {
    struct rh__gc_incr *r = &h->gc.incr;
    h->gc.user_ns = 0;
    /* Aim a little early: the clock is read every CLOCK_EVERY objects, and
     * on a large cold heap (a cache and TLB miss per object) that many can
     * take tens of microseconds. */
    uint64_t margin = r->budget_ns / BUDGET_MARGIN_DIV;
    uint64_t aim = deadline > margin ? deadline - margin : 0;
    size_t done = h->gc.linkless ? slice_ll(h, quota, aim) : slice(h, quota, aim);
    r->stats.slices++;
    r->stats.work += done;
    r->credit = r->credit > (double)done ? r->credit - (double)done : 0;
}

void rh__gc_incr_alloc_slow(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    /* One pause for the young collection and the slice after it. */
    rh__gc_pause_mark p0 = {0};
    if (st->pause_hook) p0 = rh__gc_pause_begin();
    rh_gc_pause_hook hook = st->pause_hook;
    st->pause_hook = NULL;
    uint64_t start = rh__gc_now_ns();
    long young = st->count[0];
    intptr_t freed = 0;
    bool skip = r->young_skip > 0 && r->phase == RH__INCR_IDLE && doomed_empty(h);
    if (skip) {
        /* Young back-off at its end: this young generation joins the old
         * one unexamined (what a young collection finding nothing would
         * do, without the walk); rounds examine it (see the essay). */
        r->young_skip--;
        r->skipped = true;
        if (st->linkless) rh__gc_linkless_promote_young(h);
        else rh__gc_list_merge(&st->gens[0], &st->gens[1]);
        st->count[0] = 0;
        r->stats.young_skipped++;
    } else {
        freed = rh__gc_collect_gen(h, 0);
    }
    uint64_t young_ns = rh__gc_now_ns() - start;
    uint64_t user = st->user_ns;
    size_t promoted = young > (long)freed ? (size_t)(young - (long)freed) : 0;
    r->promoted += promoted;
    /* Young back-off: collections that find nothing are spaced out (more
     * short-lived objects then die before any collection sees them), then
     * alternate with skipped ones. One that finds garbage ends the back-off;
     * if young generations were skipped since the last one, garbage may
     * have been promoted with them: the rounds' back-off ends too. */
    if (freed > 0) {
        r->young_mult = 1;
        r->young_skip = 0;
        if (r->skipped) {
            r->ratio = RATIO_MIN;
            r->growth = GROWTH_MIN;
        }
        r->skipped = false;
    } else if (!skip) {
        /* The spacing doubles while a young collection twice as large would
         * still fit in 1/YOUNG_BUDGET_DIV of the slice budget (and within
         * YOUNG_SPACING_MAX), halves when this one did not fit; at its
         * largest, skipping starts. */
        r->skipped = false;
        uint64_t aim = r->budget_ns / YOUNG_BUDGET_DIV;
        if (young_ns > aim && r->young_mult > 1)
            r->young_mult /= 2;
        else if (young_ns * 2 <= aim && st->threshold[0] > 0 &&
                 r->young_mult * 2 <= YOUNG_SPACING_MAX / st->threshold[0])
            r->young_mult *= 2;
        else
            r->young_skip = YOUNG_SKIP;
    }
    bool hard = false;
    if (r->phase == RH__INCR_IDLE && round_due(h, &hard)) {
        start_round_any(h);
        r->credit = 0;
    } else if (r->phase != RH__INCR_IDLE && !hard) {
        (void)round_due(h, &hard); /* only the bytes trigger matters here */
    }
    if (r->phase != RH__INCR_IDLE) r->credit += WORK_PER_PROMOTED * (double)promoted;
    int kind = 0;
    if (r->phase != RH__INCR_IDLE || !doomed_empty(h)) {
        size_t quota = hard ? SIZE_MAX : (size_t)r->credit;
        if (quota > 0 || !doomed_empty(h)) {
            run_slice(h, quota, deadline_from(r, start));
            user += st->user_ns;
            kind = 3;
        }
    }
    /* While a round or a teardown is in progress, slices come at every
     * young collection's normal spacing. threshold[0] may have grown since
     * the spacing was doubled (rh_gc_set_threshold, maybe from a gc
     * callback): the spacing stays within YOUNG_SPACING_MAX (or
     * threshold[0] if larger), which also keeps the product from
     * overflowing. */
    if (r->phase != RH__INCR_IDLE || !doomed_empty(h)) r->young_mult = 1;
    long mult_max = st->threshold[0] > 0 ? YOUNG_SPACING_MAX / st->threshold[0] : 1;
    if (mult_max < 1) mult_max = 1;
    if (r->young_mult > mult_max) r->young_mult = mult_max;
    long next = st->threshold[0] * (long)r->young_mult;
    /* Behind: the slice ran out of time with credit left (the round lags
     * behind the promotions that pay for it). The next pause comes sooner,
     * so that the work keeps pace without any pause growing. */
    if (kind == 3 && r->credit >= 1.0 && r->phase != RH__INCR_IDLE) {
        next = st->threshold[0] / BEHIND_DIVISOR;
        if (next < 1) next = 1;
    }
    if (st->trigger != LONG_MAX) st->trigger = next;
    /* Spare segments go back SEG_GIVE_BACK a pause; the round's state only
     * in a pause that ran no slice (the next young collection after the
     * teardown): its last frees let the system allocator return to the
     * system, in one call, the memory that the arrays gave back below them
     * during the round (5 to 6 MiB, 0.4 to 0.9 ms, at 3M live objects),
     * which would come on top of a slice's budget. */
    if (st->linkless) ll_release(h, false, kind == 0);
    st->pause_hook = hook;
    if (hook && !(skip && kind == 0)) rh__gc_report_pause(h, &p0, kind, user);
}

int rh_gc_step(rh_heap *h, size_t work) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    if (st->policy != RH_GC_POLICY_INCREMENTAL || st->collecting || st->finished) return -1;
    st->collecting = true;
    rh__gc_pause_mark p0 = {0};
    if (st->pause_hook) p0 = rh__gc_pause_begin();
    if (r->phase == RH__INCR_IDLE && doomed_empty(h) && !old_empty(h)) start_round_any(h);
    run_slice(h, work ? work : SIZE_MAX, deadline_from(r, rh__gc_now_ns()));
    if (st->pause_hook) rh__gc_report_pause(h, &p0, 3, st->user_ns);
    st->collecting = false;
    int more = r->phase != RH__INCR_IDLE || !doomed_empty(h);
    if (st->linkless) ll_release(h, false, true);
    return more;
}

void rh__gc_incr_settle(rh_heap *h, bool drain) {
    struct rh__gc_state *st = &h->gc;
    struct rh__gc_incr *r = &st->incr;
    if (st->linkless) {
        if (r->phase != RH__INCR_IDLE) {
            settle_round_ll(h);
            r->phase = RH__INCR_IDLE;
            r->candidates = 0;
            r->stats.rounds_abandoned++;
        }
        if (drain && ll_doomed_left(r->ll) && !st->collecting) {
            st->collecting = true;
            while (r->ll->doomed.n) (void)clear_doomed_ll(h, SIZE_MAX, UINT64_MAX);
            st->collecting = false;
        }
        if (!st->collecting) ll_release(h, true, true);
        return;
    }
    if (r->phase != RH__INCR_IDLE) {
        unmark_all(&r->a, &st->gens[2]);
        unmark_all(&r->b, &st->gens[2]);
        unmark_all(&r->u, &st->gens[2]);
        r->phase = RH__INCR_IDLE;
        r->candidates = 0;
        r->stats.rounds_abandoned++;
    }
    if (drain && !is_empty(&r->doomed) && !st->collecting) {
        st->collecting = true;
        while (!is_empty(&r->doomed)) (void)clear_doomed(h, SIZE_MAX, UINT64_MAX);
        st->collecting = false;
    }
}

uint64_t rh_gc_set_slice_budget(rh_heap *h, uint64_t ns) {
    uint64_t old = h->gc.incr.budget_ns;
    h->gc.incr.budget_ns = ns ? ns : RH_GC_SLICE_BUDGET_NS;
    return old;
}

void rh_gc_incr_stats_get(const rh_heap *h, rh_gc_incr_stats *out) {
    *out = h->gc.incr.stats;
    out->deferred_pending = h->gc.incr.ndoomed;
    out->candidates = h->gc.incr.phase != RH__INCR_IDLE ? h->gc.incr.candidates : 0;
}
