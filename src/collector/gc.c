/*
 * gc.c — the generational cycle collector: tracking, generations, one
 * collection, automatic triggering, statistics, callbacks, debug output,
 * freeze, and the collector's part of heap destruction. The introspection
 * half of Python's gc module (get_objects, get_referrers, get_referents,
 * garbage, verify) is in gcapi.c.
 *
 * Source. CPython 3.11's Modules/gcmodule.c gives the semantics (what is
 * collected, in which order things happen, every figure collect() returns);
 * the code here is written from that description. REFERENCE.md §3 and §7.
 *
 * Per-object state. A container carries rh__gchead {next, prev} in front of
 * its header (gc_state.h). next == 0: untracked. While tracked, next/prev
 * link it into one circular list with a sentinel: a generation (gens[0..2]),
 * the permanent generation of gc.freeze, or, during a collection, a list
 * local to the collection. The low four bits of prev are flags:
 *   FINALIZED    finalize ran (kept across untrack/track: once per life);
 *   COLLECTING   the object is in the set being collected now;
 *   UNREACHABLE  the object is on the tentatively-unreachable list (it
 *                may stay set on the garbage set until step 8 or 9: see
 *                step 5).
 * The header's 32-bit rh_gcword is 0 for every tracked object between
 * collections (rh_gc_track writes it; a collection leaves 0 behind in every
 * object it scanned, the verifier in every object it counted). During steps
 * 1-3 it counts the references to the object from inside the set being
 * collected, so gc_refs (CPython's "references from outside") is
 * rh_refcnt - rh_gcword, and the object is reachable from outside exactly
 * when the two differ. The count is only as true as the traverses: one that
 * misses a reference it owns makes its referent look referenced from
 * outside (a cycle through it is never freed: a leak, never a wrong free);
 * one that reports a reference it does not own (a borrowed pointer, a child
 * visited twice) raises the count by the excess. An excess above the
 * references from outside only makes the object look reachable, but an
 * excess EQUAL to them makes a live object look unreachable: it is
 * finalized and cleared while still in use. Nothing at run time can tell
 * that case from a true one (the outside references are what the count
 * cannot see), so traverses must never over-report; RH_GC_DEBUG_VERIFY
 * (rh_gc_verify, gcapi.c) catches what can be caught: a referent reported
 * more often than its count allows, a referent in another heap, an
 * untracked container that only a forgotten rh_gc_track left so. Unlike
 * CPython, which packs gc_refs into prev, the lists stay doubly linked all
 * the time, so any object may be untracked (unlinked) at any moment: a
 * finalizer freeing an object of the garbage set just removes it from
 * whatever list it is on.
 *
 * One collection of generation g (collect_main), CPython 3.11's order:
 *   0. counts: count[g+1]++, count[0..g] = 0; merge gens 0..g into young
 *      (= gens[g]); old = gens[g+1], or young itself when g is the oldest.
 *   1. update_refs: count = 0, COLLECTING set, for all of young.
 *   2. subtract_refs: each object's traverse raises the count of every
 *      referent that is COLLECTING. Now refcount - count (gc_refs) counts
 *      references from outside young.
 *      In a full collection with an empty permanent generation, young holds
 *      every object the heap tracks, so "referent in young" is "referent
 *      tracked by this heap": steps 1 and 2 fuse into one walk
 *      (count_refs_all), each traverse raising counts that are already 0
 *      by the invariant above. A referent is counted when it already
 *      carries COLLECTING (walked: in the set) or, not walked yet, when it
 *      is tracked and owned by this heap (two loads in the radix tree): a
 *      (forbidden) reference into another heap must not write there, or
 *      the stale count makes that heap's next collection free a live
 *      object (at RH_DEBUG >= 1 it stops the program instead). Only pools
 *      mode fuses (there the ownership test is cheap); debug mode runs
 *      steps 1 and 2 apart and stops at a cross-heap reference with both
 *      objects' types and allocation sites. Walking a large old
 *      generation is a chain of cache misses (list order is not address
 *      order); one walk fewer, and a prefetch of the next record while the
 *      current object's referents load, halve the cost of a full
 *      collection of a scattered heap.
 *      Neither step depends on the order of the objects, so both walk the
 *      list from its two ends at once (WALK_BOTH_ENDS): two independent
 *      chains of misses instead of one.
 *      Both steps, and step 3, call each object's traverse, except for
 *      containers with inline references or an attribute table
 *      (gc_internal.h: class instances, slotted or plain), whose
 *      references they read in line (RH__GC_TRAVERSE, gc_walk.h): the
 *      same references in the same order, without an indirect call per
 *      object and per reference.
 *   3. move_unreachable: a single scan of young used as a queue. An object
 *      with gc_refs > 0 is reachable: its traverse marks what it references
 *      (count set to 0, i.e. gc_refs = refcount > 0, for objects not
 *      scanned yet; objects already on the unreachable list go back to
 *      young's tail marked so, and the scan meets them again); COLLECTING is
 *      cleared and the count reset to 0 once scanned. An object met with
 *      gc_refs == 0 moves to the unreachable list with UNREACHABLE set and
 *      its count reset to 0 (whatever becomes of it, the invariant holds),
 *      and its NEED_* flags are noted (what steps 5-7 will have to do; see
 *      the shortcuts below) while it is in cache.
 *      No recursion, no allocation: a chain ten million long is one pass.
 *      Survivors whose type has untrack_check (tuples) are offered
 *      untracking right after their scan (equivalent to CPython's separate
 *      untrack_tuples pass over the same list order).
 *   4. survivors: in a full collection, types with RH_TYPE_UNTRACK_AT_FULL
 *      (dicts) are offered untracking, long_lived_total = survivors and
 *      long_lived_pending = 0; otherwise young merges into old (and a
 *      generation-1 collection adds its survivors to long_lived_pending).
 *   5. legacy finalizers: unreachable objects whose type has legacy_del, and
 *      everything reachable from them, move to the `finalizers` list
 *      (COLLECTING cleared): they are uncollectable. This pass runs only if
 *      step 3 moved an object with legacy_del to the unreachable list; it
 *      clears UNREACHABLE on the garbage. When it does not run, the garbage
 *      keeps UNREACHABLE (nothing reads it before step 8, whose step 1
 *      clears it; step 9 clears it on an object that survives its clear,
 *      and untracking clears it on one that is freed).
 *   6. weak references (handle_weakrefs): every weakref that is itself
 *      unreachable is cleared; every weakref to an unreachable object is
 *      cleared, and those with a callback that are not themselves garbage
 *      get a reference and are queued; after all the clearing the callbacks
 *      run in that order (newest first per referent), each exactly once; a
 *      callback weakref freed by dropping our reference counts as
 *      collected, one still tracked then moves to old. The queue is chained
 *      through the cleared weakrefs' wr_next; the tracked ones also wait on
 *      a local list, out of every generation (as in CPython 3.11, whose
 *      queue is that list: get_objects does not show them). Since the list
 *      is not the queue, a callback may untrack, track or drop any queued
 *      weakref without losing its callback or our reference.
 *   7. finalize_garbage: type->finalize on each unreachable object not yet
 *      FINALIZED (flag set first).
 *   8. resurrection: steps 1-3 again on the unreachable set alone; objects a
 *      finalizer made reachable again, and what they reach, move to old.
 *   9. delete_garbage: type->clear on each remaining object (or, with
 *      DEBUG_SAVEALL, an append to gc.garbage); an object still there after
 *      its clear moves to old.
 *  10. uncollectable objects are counted; those with legacy_del (all of them
 *      with DEBUG_SAVEALL) are appended to gc.garbage; the list joins old.
 * Returns collected (step 9's set plus step 6's freed weakrefs) plus
 * uncollectable, as CPython. Steps 5-10 are collect_tail, which the
 * incremental policy's final check (gc_incr.c) calls too: one copy of
 * CPython's order for both policies (with the incremental policy, step 9's
 * clearing may be deferred to later slices) and both layouts: it works on
 * a garbage set (gset) whose list backend is the lists above, in their
 * order, and whose array backend is the layout without links' array.
 *
 * Shortcuts that change no outcome: step 3 notes, for the objects it moves
 * to the unreachable list, whether any has a legacy finalizer, is a weakref
 * or weakly referenced, or has a finalize still to run (an
 * over-approximation: an object rescued later still counts; the legacy
 * pass, when it runs, recomputes the last three over the final set). Step 5
 * runs only for the first, steps 6 and 7 only for the others, and step 8
 * only if some callback or finalizer actually ran (without user code
 * nothing can have been resurrected). Collecting pure garbage thus costs
 * steps 1-3 and 9: three walks of the garbage.
 *
 * No allocation before step 6: out of memory, a collection still frees
 * cycles. Steps 6 to 10 run user code (callbacks, finalizers, clear hooks)
 * and may allocate; gc.garbage is created by the first append that needs it.
 *
 * Re-entrancy: what user code may do while a collection runs. Code run from a
 * collection (gc callbacks, weakref callbacks, finalizers, clear and destroy
 * hooks) may allocate (an allocation counts in generation 0 but never starts a
 * nested collection), create and drop references and cycles, free objects of
 * the garbage set (they are unlinked from the collection's lists), create
 * weak references, track and untrack objects, call rh_gc_collect (it returns
 * 0 and does nothing), freeze, unfreeze, read counts, statistics and object
 * lists, change thresholds and debug flags, and add or remove gc callbacks
 * (the callback array is walked by index, as CPython walks gc.callbacks).
 * traverse hooks run during steps 2, 3, 5 and 8 and must only report
 * references: no allocation, no reference count change, no call into refheap
 * other than the visit function. untrack_check must only look at its object.
 * Untracking an object of the garbage set takes it out of the collection
 * (tracking it again puts it in generation 0). The debug sink is called
 * between steps 5 and 6 and must not touch the heap. rh_heap_destroy must
 * not be called from inside a collection: it stops the program with a
 * message (heap.c checks, in every mode). The heap's pending error is the
 * same after a collection as before it.
 *
 * Automatic collection: each container allocation bumps count[0] (inline,
 * rh__gc_count_alloc); once count[0] > threshold[0] (when enabled,
 * threshold[0] != 0 and no collection runs; the first three conditions are
 * folded into the one word `trigger`, so the allocation fast path makes one
 * compare) rh__gc_alloc_slow collects the oldest generation whose count
 * exceeds its threshold, generation 2 only when long_lived_pending is at
 * least 25% of long_lived_total (CPython's gc_collect_generations). Under
 * the incremental policy (RH_GC_POLICY_INCREMENTAL, chosen per heap)
 * rh__gc_alloc_slow hands over to gc_incr.c instead, and a full
 * collection, freeze, unfreeze and heap destruction first settle its round
 * (rh__gc_incr_settle); nothing else in this file depends on the policy.
 *
 * The layout without list links (docs/linkless.md, gc_linkless.c): a heap
 * with gc.linkless set (rh__gc_layout_init, at creation) has containers
 * without rh__gchead, tracked by the allocator's mark bit and the young
 * array; rh_gc_track, rh_gc_untrack and the tests dispatch on the object's
 * LINKLESS bit. Its collections (collect_linkless) run gc_linkless.c's
 * steps 1-3 over an array (the young array, or every tracked object but
 * the frozen ones) and the same tail as the lists, over the garbage set's
 * array backend (see "The garbage set" below); its automatic collections
 * are gc_incr.c's (young collections and rounds, the rounds over walks;
 * a round's final check runs the same tail with step 9 deferred to
 * gc_incr.c's `doomed`, rh__gc_tail_array), and a collection of generation
 * 1, a full one in this layout, settles the round first as generation 2's
 * does. A full collection that cannot have its array (out of memory, or
 * a set beyond LOW's range) runs over the walk-driven set instead
 * (collect_linkless_walk, the garbage set's walk backend): no allocation
 * before step 6 holds for this layout too. gc.c's lists stay empty:
 * freeze, unfreeze and the freeze count (here), get_objects, get_referrers
 * and the verifier (gcapi.c), debug mode's leak report (here) and objgraph
 * go to gc_linkless.c's walks for such a heap; at RH_DEBUG >= 1 its full
 * collections stop at a reference to another heap's tracked container,
 * as the fused pass does.
 *
 * Tracking: rh_gc_track appends to generation 0 of the object's heap. A
 * container that was never tracked carries its heap in its own record
 * (object.c writes it there at allocation: rh__gc_new_record), so the usual
 * "create, fill, track" sequence needs no lookup of the heap from the
 * address; a container tracked again after an untrack asks the allocator.
 * The append itself is rh__gc_link_young (gc_internal.h), shared with
 * object.c's "create tracked" path (rh_new_tracked_at), which links a new
 * container into generation 0 in line, after any automatic collection its
 * allocation started.
 */
#include "collector/gc_internal.h"
#include "collector/gc_linkless_fast.h" /* the layout without links: rh_gc_track's push in line */
#include "weak/weak_internal.h"
#include "memory/alloc_priv.h" /* rh__pool_heap, rh__sysreg_find: the fused pass's ownership test */
#include "collector/gc_walk.h"  /* instances' references read in line */
#include "memory/marks.h"        /* the walk-driven garbage set */

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* CPython's default thresholds (gc.get_threshold() == (700, 10, 10)). */
#define GC_THRESHOLD0 700
#define GC_THRESHOLD1 10
#define GC_THRESHOLD2 10
/* A full collection starts automatically only when the objects promoted into
 * generation 2 since the last full collection exceed 1/GC_LONG_LIVED_RATIO
 * of the survivors of that collection (CPython: 25%): the cost of a full
 * collection is proportional to everything alive, so this keeps the total
 * cost of building a large live structure linear instead of quadratic. */
#define GC_LONG_LIVED_RATIO 4
/* Lines of the debug-mode leak report at heap destruction before it is
 * summarised: enough to see every leaked object of a test or a small
 * program, bounded so that a large leak does not flood the sink. */
#define GC_LEAK_REPORT_MAX 1000

#define F_FINALIZED RH__GC_FINALIZED
#define F_COLLECTING RH__GC_COLLECTING
#define F_UNREACHABLE RH__GC_UNREACHABLE
#define F_MASK RH__GC_FLAGS_MASK

/* ---------------------------------------------------------------------------
 * Lists. Circular, doubly linked, with a sentinel (itself an rh__gchead with
 * no flags). prev carries the node's flags, which every link update keeps.
 * ------------------------------------------------------------------------- */

static inline rh__gchead *g_next(const rh__gchead *g) { return (rh__gchead *)g->next; }
static inline rh__gchead *g_prev(const rh__gchead *g) { return (rh__gchead *)(g->prev & ~F_MASK); }
static inline void g_set_prev(rh__gchead *g, rh__gchead *p) {
    g->prev = (uintptr_t)p | (g->prev & F_MASK);
}

static inline void list_init(rh__gchead *l) {
    l->next = (uintptr_t)l;
    l->prev = (uintptr_t)l;
}
static inline bool list_empty(const rh__gchead *l) { return l->next == (uintptr_t)l; }

static inline void list_unlink(rh__gchead *g) {
    rh__gchead *p = g_prev(g), *n = g_next(g);
    p->next = (uintptr_t)n;
    g_set_prev(n, p);
}
/* Appends a node that is on no list (its links are ignored). */
static inline void list_append(rh__gchead *g, rh__gchead *l) {
    rh__gchead *tail = g_prev(l);
    g->next = (uintptr_t)l;
    g_set_prev(g, tail);
    tail->next = (uintptr_t)g;
    g_set_prev(l, g);
}
static inline void list_move(rh__gchead *g, rh__gchead *l) {
    list_unlink(g);
    list_append(g, l);
}
/* Appends all of `from` to `to`; `from` becomes empty. */
static void list_merge(rh__gchead *from, rh__gchead *to) {
    if (!list_empty(from)) {
        rh__gchead *first = g_next(from), *last = g_prev(from), *tail = g_prev(to);
        tail->next = (uintptr_t)first;
        g_set_prev(first, tail);
        last->next = (uintptr_t)to;
        g_set_prev(to, last);
    }
    list_init(from);
}
static size_t list_size(const rh__gchead *l) {
    size_t n = 0;
    for (const rh__gchead *g = g_next(l); g != l; g = g_next(g)) n++;
    return n;
}
/* Unlinks g and marks it untracked, keeping only FINALIZED. */
#define untrack_node rh__gc_untrack_node

static inline const char *type_name(const rh_object *o) {
    return o->rh_type->name ? o->rh_type->name : "?";
}

/* ---------------------------------------------------------------------------
 * Debug output.
 * ------------------------------------------------------------------------- */

void rh__gc_printf(rh_heap *h, const char *fmt, ...) {
    char line[RH__GC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (h->gc.sink) h->gc.sink(line, h->gc.sink_data);
    else fprintf(stderr, "%s\n", line);
}

void rh_gc_set_sink(rh_heap *h, rh_gc_sink sink, void *data) {
    h->gc.sink = sink;
    h->gc.sink_data = sink ? data : NULL;
}

/* ---------------------------------------------------------------------------
 * Tracking.
 * ------------------------------------------------------------------------- */

/* Every track the straight lines (rh_gc_track's, track_linkless) do not
 * take: the misuse checks that stop the program (a dead object, a
 * non-container, one already tracked), a container tracked before, whose
 * record lost its heap hint, so the allocator is asked, and the layout
 * without links' other cases (a full young array, no pool block). Out of
 * line, so that the common track keeps no register across a call and
 * needs no stack frame. */
static __attribute__((noinline)) void track_slow(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_gc_track");
    if (RH_UNLIKELY(!RH__IS_GC(o)))
        rh__fatal("rh_gc_track: object of type '%s' at %p is not a container (RH_TYPE_GC)",
                  type_name(o), (void *)o);
    if (rh__gc_linkless_obj(o)) {
        /* the layout without links (gc_linkless.c): no record, no hint.
         * A pool block of a heap without pointer-changing shim: one walk
         * of the tree for the heap and the mark, the push in line when the
         * young array has room (gc_linkless_fast.h) */
        uintptr_t leaf;
        rh_heap *ph = rh__pool_owner(o, &leaf);
        if (ph && !(ph->alloc.slow & RH__SLOW_MODE)) {
            uint64_t bit, *mw = rh__block_mark_word(leaf, o, &bit);
            if (RH_UNLIKELY(*mw & bit))
                rh__fatal("rh_gc_track: object of type '%s' at %p is already tracked by the collector",
                          type_name(o), (void *)o);
            if (RH_LIKELY(rh__gc_linkless_push(&ph->gc, o, o->rh_gcword & RH__GCW_KEEP, mw, bit))) return;
        }
        rh_heap *lh = rh__heap_of(o);
        if (RH_UNLIKELY(!lh))
            rh__fatal("rh_gc_track: object of type '%s' at %p belongs to no heap", type_name(o),
                      (void *)o);
        if (RH_UNLIKELY(rh__gc_linkless_tracked(lh, o)))
            rh__fatal("rh_gc_track: object of type '%s' at %p is already tracked by the collector",
                      type_name(o), (void *)o);
        rh__gc_linkless_track(lh, o);
        return;
    }
    rh__gchead *g = RH__AS_GC(o);
    if (RH_UNLIKELY(g->next != 0))
        rh__fatal("rh_gc_track: object of type '%s' at %p is already tracked by the collector",
                  type_name(o), (void *)o);
    /* Never tracked before: the heap is in the record (gc_internal.h).
     * Otherwise ask the allocator. */
    rh_heap *h = rh__gc_heap_hint(g);
    if (RH_UNLIKELY(!h)) {
        h = rh__heap_of(g);
        if (RH_UNLIKELY(!h))
            rh__fatal("rh_gc_track: object of type '%s' at %p belongs to no heap", type_name(o),
                      (void *)o);
    }
    rh__assert(rh__heap_of(g) == h); /* the record's heap hint named the right heap */
    o->rh_gcword = 0;          /* the collector's invariant for tracked objects */
    rh__gc_link_young(&h->gc, g); /* keeps only the once-per-life flag */
}

/* Is o live (count != 0) and not of the layout without links? One test of
 * the header's count and collector word read as a 64-bit word where the
 * word's LINKLESS bit is the sign: positive <=> not LINKLESS and not both
 * 0. A container of the linked layout whose count is 0 has collector word
 * 0 (the straight line of death takes only such, dealloc_slow clears it),
 * so "not both 0" is "count != 0" for it. */
static inline bool live_linked(const rh_object *o) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    int64_t hw;
    memcpy(&hw, &o->rh_refcnt, sizeof hw);
    return hw > 0;
#else
    return o->rh_refcnt != 0 && !rh__gc_linkless_obj(o);
#endif
}

/* The track of a container of the layout without links (its word has
 * LINKLESS): the straight line of a live container, untracked, whose
 * block is a pool block of a heap without pointer-changing shim and whose
 * young array has room: one walk of the tree for the heap and the mark,
 * the push in line (gc_linkless_fast.h). Anything else, the misuses
 * included, is track_slow's, which checks everything again in order.
 * Out of line and a leaf whose exits are jumps, so that neither it nor
 * rh_gc_track saves a register. */
static __attribute__((noinline)) void track_linkless(rh_object *o) {
    uintptr_t leaf;
    rh_heap *h;
    if (RH_LIKELY(o->rh_refcnt != 0 && RH__IS_GC(o) && (h = rh__pool_owner(o, &leaf)) != NULL &&
                  !(h->alloc.slow & RH__SLOW_MODE))) {
        uint64_t bit, *mw = rh__block_mark_word(leaf, o, &bit);
        if (RH_LIKELY(!(*mw & bit)) && rh__gc_linkless_push(&h->gc, o, o->rh_gcword & RH__GCW_KEEP, mw, bit))
            return;
    }
    track_slow(o);
}

/* The usual track, "create, fill, track": a live container of the linked
 * layout, untracked, whose record still carries the heap hint of its
 * creation. A container without links goes to track_linkless; anything
 * else to track_slow, which checks everything again in order. */
void rh_gc_track(rh_object *o) {
    /* (o NULL faults at the first load, as in track_slow) */
    if (RH_LIKELY(live_linked(o) && RH__IS_GC(o))) {
        rh__gchead *g = RH__AS_GC(o);
        rh_heap *h = rh__gc_heap_hint(g);
        if (RH_LIKELY(g->next == 0 && h != NULL)) {
            rh__assert(rh__heap_of(g) == h);
            o->rh_gcword = 0;
            rh__gc_link_young(&h->gc, g);
            return;
        }
    }
    if (rh__gc_linkless_obj(o)) track_linkless(o);
    else track_slow(o);
}

void rh_gc_untrack(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_gc_untrack");
    if (!RH__IS_GC(o)) return;
    if (rh__gc_linkless_obj(o)) {
        (void)rh__gc_linkless_untrack_if(rh__heap_of(o), o);
        return;
    }
    rh__gchead *g = RH__AS_GC(o);
    if (g->next != 0) untrack_node(g);
}

bool rh_gc_is_tracked(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_gc_is_tracked");
    return RH__IS_GC(o) && rh__gc_tracked_any(o);
}

bool rh_gc_is_finalized(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_gc_is_finalized");
    if (!RH__IS_GC(o)) return false;
    if (rh__gc_linkless_obj(o)) return (o->rh_gcword & RH__GCW_FINALIZED) != 0;
    return (RH__AS_GC(o)->prev & F_FINALIZED) != 0;
}

/* ---------------------------------------------------------------------------
 * Steps 1-3: which objects of a list are unreachable from outside it.
 * ------------------------------------------------------------------------- */

static inline void check_alive(rh_object *o) {
    if (RH_UNLIKELY(o->rh_refcnt == 0))
        rh__fatal("collector: tracked object of type '%s' at %p has reference count 0 "
                  "(it died but was left tracked)", type_name(o), (void *)o);
}

/* Walks every node of a list once, in no particular order, calling
 * STEP(node): two cursors, one from each end, meeting in the middle. Steps
 * 1 and 2 do not depend on the order of the objects, and on a large list
 * scattered in memory each step of a single cursor waits for the miss on
 * the next record: two independent chains keep two misses in flight (each
 * cursor also prefetches its next record while its object's referents
 * load). STEP must not change the links of the list. */
#define WALK_BOTH_ENDS(list, STEP)                                              \
    do {                                                                        \
        rh__gchead *wf_ = g_next(list), *wb_ = g_prev(list);                    \
        while (wf_ != (list)) {                                                 \
            if (wf_ == wb_) {                                                   \
                STEP(wf_);                                                      \
                break;                                                          \
            }                                                                   \
            rh__gchead *wfn_ = g_next(wf_), *wbp_ = g_prev(wb_);                \
            __builtin_prefetch(wfn_, 1);                                        \
            __builtin_prefetch(wbp_, 1);                                        \
            STEP(wf_);                                                          \
            STEP(wb_);                                                          \
            if (wfn_ == wb_) break; /* the cursors met */                       \
            wf_ = wfn_;                                                         \
            wb_ = wbp_;                                                         \
        }                                                                       \
    } while (0)

int rh__gc_inline_refs_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    return rh__gc_inline_refs_walk(self, visit, arg);
}

int rh__gc_attr_table_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    return rh__gc_attr_table_walk(self, visit, arg);
}

/* Step 1 for one object. Clears a stale UNREACHABLE too: step 8 runs this
 * on the garbage set, whose objects may still carry it (see step 5). */
#define UPDATE_REFS_STEP(g)                                                     \
    do {                                                                        \
        rh__gchead *ug_ = (g);                                                  \
        rh_object *uo_ = RH__FROM_GC(ug_);                                      \
        check_alive(uo_);                                                       \
        uo_->rh_gcword = 0;                                                     \
        ug_->prev = (ug_->prev & ~(uintptr_t)F_UNREACHABLE) | F_COLLECTING;     \
        n++;                                                                    \
    } while (0)

/* Step 1. Returns the number of objects in the list. */
static size_t update_refs(rh__gchead *young) {
    size_t n = 0;
    WALK_BOTH_ENDS(young, UPDATE_REFS_STEP);
    return n;
}

RH__HOT_INLINE int visit_count(rh_object *o, void *arg) {
    (void)arg;
    if (o && (o->rh_type->flags & RH_TYPE_GC) && (RH__AS_GC(o)->prev & F_COLLECTING))
        o->rh_gcword++; /* an over-reporting traverse raises it: see the essay */
    return 0;
}

/* Debug mode: "allocated at file:line" of o into buf (rh_object_site's
 * buffer is shared by all its calls). */
static const char *site_into(const rh_object *o, char *buf, size_t n) {
    snprintf(buf, n, "%s", rh_object_site(o));
    return buf;
}

/* Debug mode: a reference from `from` (a container of heap h) to `to`, an
 * object of another heap. Refheap's heaps share nothing: the collector of
 * one cannot see the other's references, and would count or clear wrongly. */
_Noreturn void rh__gc_cross_heap_fatal(rh_heap *h, const rh_object *from, rh_heap *oh, const rh_object *to) {
    char s1[256], s2[256];
    rh__fatal("collector: cross-heap reference: <%s %p> (allocated at %s) of heap %p refers to "
              "<%s %p> (allocated at %s) of heap %p; an object may refer only to objects of its own heap",
              type_name(from), (void *)from, site_into(from, s1, sizeof s1), (void *)h, type_name(to),
              (void *)to, site_into(to, s2, sizeof s2), (void *)oh);
}

_Noreturn void rh__gc_cross_heap_met(rh_heap *h, const rh_object *to) {
    char site[256];
    rh__fatal("collector: cross-heap reference to <%s %p> (allocated at %s) of heap %p, met by a "
              "full collection of heap %p; an object may refer only to objects of its own heap",
              type_name(to), (void *)to, site_into(to, site, sizeof site), (void *)rh__heap_of(to), (void *)h);
}

typedef struct debug_count_ctx {
    rh_heap *h;
    const rh_object *from;
} debug_count_ctx;

/* visit_count of debug mode: also looks up the heap of every container
 * referent outside the set (slow: a registry lookup per reference). */
static int visit_count_debug(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    if (RH__AS_GC(o)->prev & F_COLLECTING) {
        o->rh_gcword++;
        return 0;
    }
    debug_count_ctx *c = arg;
    rh_heap *oh = rh__heap_of(o);
    if (oh && oh != c->h) rh__gc_cross_heap_fatal(c->h, c->from, oh, o);
    return 0;
}

#define SUBTRACT_REFS_STEP(g)                                                   \
    do {                                                                        \
        rh_object *so_ = RH__FROM_GC(g);                                        \
        RH__GC_TRAVERSE(so_, so_->rh_type, visit_count, NULL);                  \
    } while (0)

#define SUBTRACT_REFS_DEBUG_STEP(g)                                             \
    do {                                                                        \
        rh_object *so_ = RH__FROM_GC(g);                                        \
        dc.from = so_;                                                          \
        RH__GC_TRAVERSE(so_, so_->rh_type, visit_count_debug, &dc);             \
    } while (0)

/* Step 2. h: the heap in debug mode (cross-heap references are reported),
 * else NULL. */
static void subtract_refs(rh__gchead *young, rh_heap *h) {
    if (h) {
        debug_count_ctx dc = {h, NULL};
        WALK_BOTH_ENDS(young, SUBTRACT_REFS_DEBUG_STEP);
    } else {
        WALK_BOTH_ENDS(young, SUBTRACT_REFS_STEP);
    }
}

/* Steps 1 and 2 in one pass, for a full collection with an empty permanent
 * generation: the set is then every tracked object, so a referent belongs to
 * it exactly when it is tracked, and its counter (0 between collections)
 * can be raised before its own turn comes. One walk of the list instead of
 * two: in a large old generation each walk costs a cache miss per object. */
/* Is the container whose record is g an object of heap h? Pools mode
 * (the only mode that fuses): two loads for a pool block, a registry
 * lookup for a large object. */
static inline bool owned_by(rh_heap *h, const rh__gchead *g) {
    rh_heap *ph = rh__pool_heap(g);
    if (RH_LIKELY(ph != NULL)) return ph == h;
    return rh__sysreg_find(g, NULL) == h;
}

/* A referent already walked carries COLLECTING: it is in the set. One not
 * walked yet is counted only if it is tracked and the heap's own: a
 * (forbidden) reference into another heap must leave that heap's objects
 * untouched, or the stale count makes its next collection free a live
 * object. The ownership test runs for about half the references (those
 * to objects the walk has not reached yet). */
RH__HOT_INLINE int visit_count_tracked(rh_object *o, void *arg) {
    if (o && (o->rh_type->flags & RH_TYPE_GC)) {
        rh__gchead *g = RH__AS_GC(o);
        if ((g->prev & F_COLLECTING) || (g->next != 0 && owned_by((rh_heap *)arg, g))) {
            o->rh_gcword++;
        } else if (RH_DEBUG >= 1 && g->next != 0) {
            rh__gc_cross_heap_met((rh_heap *)arg, o);
        }
    }
    return 0;
}

#define COUNT_REFS_STEP(g)                                                      \
    do {                                                                        \
        rh__gchead *cg_ = (g);                                                  \
        rh_object *co_ = RH__FROM_GC(cg_);                                      \
        check_alive(co_);                                                       \
        cg_->prev |= F_COLLECTING;                                              \
        RH__GC_TRAVERSE(co_, co_->rh_type, visit_count_tracked, h);             \
        n++;                                                                    \
    } while (0)

static size_t count_refs_all(rh__gchead *young, rh_heap *h) {
    size_t n = 0;
    WALK_BOTH_ENDS(young, COUNT_REFS_STEP);
    return n;
}

RH__HOT_INLINE int visit_reachable(rh_object *o, void *arg) {
    if (!o || !(o->rh_type->flags & RH_TYPE_GC)) return 0;
    rh__gchead *g = RH__AS_GC(o);
    uintptr_t p = g->prev;
    if (!(p & F_COLLECTING)) return 0; /* outside the set, or already scanned */
    if (p & F_UNREACHABLE) {
        /* Tentatively unreachable after all: back to young's tail, where the
         * scan will meet it again. */
        list_unlink(g);
        g->prev &= ~F_UNREACHABLE;
        list_append(g, (rh__gchead *)arg);
    }
    o->rh_gcword = 0; /* reachable: the count of a live object is never 0 */
    return 0;
}

/* What the rest of a collection has to do for the garbage set, and the
 * flags of one object (gc_walk.h: the layout without links' step 3 notes
 * them too). */
#define NEED_WEAKREFS RH__GC_NEED_WEAKREFS
#define NEED_FINALIZE RH__GC_NEED_FINALIZE
#define NEED_LEGACY RH__GC_NEED_LEGACY
#define garbage_needs rh__gc_garbage_needs

/* Step 3. Moves the objects of young that are unreachable from outside it to
 * `unreachable` (flags COLLECTING | UNREACHABLE); the survivors stay in young
 * with COLLECTING cleared. With `untrack`, survivors whose type has an
 * untrack_check (and not RH_TYPE_UNTRACK_AT_FULL) are offered untracking;
 * *atfull counts survivors of RH_TYPE_UNTRACK_AT_FULL types with a hook.
 * Returns the number of survivors still tracked; *scanned receives the
 * number of survivors including the ones untracked, *need the NEED_* flags
 * of every object moved to `unreachable` (each is in cache at that moment,
 * which spares step 5 a walk of the garbage when it holds no legacy
 * finalizer). */
static inline size_t move_unreachable(rh__gchead *young, rh__gchead *unreachable, bool untrack,
                                      size_t *atfull, size_t *scanned, unsigned *need) {
    size_t survivors = 0, untracked = 0;
    unsigned nd = 0;
    rh__gchead *g = g_next(young);
    while (g != young) {
        rh_object *o = RH__FROM_GC(g);
        __builtin_prefetch(g_next(g), 1); /* usually the next one scanned (and written) */
        if (o->rh_refcnt != o->rh_gcword) {
            const rh_type *t = o->rh_type;
            RH__GC_TRAVERSE(o, t, visit_reachable, young);
            rh__gchead *next = g_next(g); /* the traverse may have appended */
            g->prev &= ~F_COLLECTING;
            o->rh_gcword = 0;
            survivors++;
            if (untrack && t->untrack_check) {
                if (t->flags & RH_TYPE_UNTRACK_AT_FULL) (*atfull)++;
                else if (t->untrack_check(o)) {
                    untrack_node(g);
                    untracked++;
                }
            }
            g = next;
        } else {
            rh__gchead *next = g_next(g);
            nd |= garbage_needs(g, o, o->rh_type);
            list_move(g, unreachable);
            g->prev |= F_UNREACHABLE;
            o->rh_gcword = 0;
            g = next;
        }
    }
    *need = nd;
    *scanned = survivors;
    return survivors - untracked;
}

/* Steps 1-3 on `young` (CPython's deduce_unreachable). *examined receives the
 * size of young on entry, *nunreachable the size of `unreachable` on return,
 * *need its NEED_* flags (over-approximated, see move_unreachable).
 * Returns the survivors still tracked. */
static size_t deduce_unreachable(rh_heap *h, rh__gchead *young, rh__gchead *unreachable, bool untrack,
                                 bool all_tracked, size_t *examined, size_t *nunreachable,
                                 size_t *atfull, unsigned *need) {
    size_t scanned;
    if (all_tracked) {
        *examined = count_refs_all(young, h);
    } else {
        *examined = update_refs(young);
        subtract_refs(young, h->mode == RH_MODE_DEBUG ? h : NULL);
    }
    list_init(unreachable);
    size_t survivors = move_unreachable(young, unreachable, untrack, atfull, &scanned, need);
    *nunreachable = *examined - scanned;
    return survivors;
}

/* Step 4, full collections: offers untracking to the survivors whose type
 * waits for full collections (dicts). Returns how many were untracked. */
static size_t untrack_at_full(rh__gchead *young) {
    size_t n = 0;
    rh__gchead *g = g_next(young);
    while (g != young) {
        rh__gchead *next = g_next(g);
        rh_object *o = RH__FROM_GC(g);
        const rh_type *t = o->rh_type;
        if ((t->flags & RH_TYPE_UNTRACK_AT_FULL) && t->untrack_check && t->untrack_check(o)) {
            untrack_node(g);
            n++;
        }
        g = next;
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * The garbage set of steps 5-10: one tail (CPython's order of the steps,
 * written once) over two backends.
 *   list   the linked layout: a list of rh__gchead (the unreachable list,
 *          `finalizers`), flags in prev; survivors move to `old`.
 *   array  the layout without links (gc_linkless.c): a[lo .. hi) of the
 *          collection's array (coll), NULL slots are tombstones (an
 *          untrack or a death during the tail writes them), FINALIZED in
 *          the collector word; a survivor is promoted (old, GEN1 after a
 *          young collection) and its slot tombstoned.
 *   walk   the same layout's full collection without an array (out of
 *          memory for it: gc_linkless.c's walk-driven set): the set is
 *          the marked blocks whose collector word carries `marks` (the
 *          garbage both marks, the legacy part UNREACHABLE alone), found
 *          by a walk (memory/marks.h: a block freed meanwhile is never
 *          returned, one untracked loses its marks); a survivor is
 *          promoted, which takes its marks. "Still in the set" reads the
 *          object, so delete_garbage holds a reference across the test.
 * Iteration tolerates any removal by user code: the list backend moves
 * each object to the cursor's `seen` list before it is handed out (and
 * merges `seen` back at the end: the order is kept), the array backend
 * walks indices. "Still in the set" after user code ran on the object
 * handed out last: the list's `seen` ends with it; the array's slot still
 * holds it. The backend is a branch on `list`, in the tail only.
 * ------------------------------------------------------------------------- */

typedef struct gset {
    rh__gchead *list; /* list backend; NULL: array backend */
    rh_object **a;
    size_t lo, hi;
    bool gen1; /* array: survivors get GEN1 (a young collection) */
    bool walk; /* the walk backend (list and a NULL) */
    uint32_t marks; /* walk: the set's objects' marks (RH__GCW_MARKS) */
    rh_heap *h;     /* walk: the heap */
    bool defer; /* array: step 9 hands the final garbage to gc_incr.c */
} gset;

typedef struct gcur {
    _Alignas(16) rh__gchead seen;
    size_t i;
    rh__mark_walk w;
} gcur;

static inline void gs_open(const gset *s, gcur *c) {
    if (s->list) list_init(&c->seen);
    c->i = s->lo;
    if (s->walk) rh__mark_walk_begin(s->h, &c->w);
}
static inline rh_object *gs_next(const gset *s, gcur *c) {
    if (s->list) {
        if (list_empty(s->list)) return NULL;
        rh__gchead *g = g_next(s->list);
        list_move(g, &c->seen);
        return RH__FROM_GC(g);
    }
    if (s->walk) {
        for (rh_object *o; (o = rh__mark_walk_next(&c->w)) != NULL;)
            if ((o->rh_gcword & RH__GCW_MARKS) == s->marks) return o;
        return NULL;
    }
    while (c->i < s->hi) {
        rh_object *o = s->a[c->i++];
        if (o) return o;
    }
    return NULL;
}
static inline void gs_close(const gset *s, gcur *c) {
    if (s->walk) rh__mark_walk_end(&c->w);
    /* seen, then what was not handed out: the order kept */
    if (!s->list || list_empty(&c->seen)) return;
    if (!list_empty(s->list)) list_merge(s->list, &c->seen);
    list_merge(&c->seen, s->list);
}
/* Is o, handed out last by gs_next, still in the set? (The walk backend
 * reads o: the caller holds a reference.) */
static inline bool gs_holds_last(const gset *s, const gcur *c, const rh_object *o) {
    if (s->list) return g_prev(&c->seen) == RH__AS_GC(o);
    if (s->walk) return rh__block_marked(s->h, o) && (o->rh_gcword & RH__GCW_MARKS) == s->marks;
    return s->a[c->i - 1] == o;
}
/* o, handed out last, leaves the set and survives. */
static inline void gs_survive_last(rh_heap *h, const gset *s, gcur *c, rh_object *o, rh__gchead *old) {
    if (s->list) {
        rh__gchead *g = RH__AS_GC(o);
        g->prev &= ~(F_COLLECTING | F_UNREACHABLE);
        list_move(g, old);
    } else {
        if (!s->walk) s->a[c->i - 1] = NULL;
        rh__gc_linkless_promote(h, o, s->gen1);
    }
}
static inline bool gs_finalized(const gset *s, const rh_object *o) {
    return s->list ? (RH__AS_GC(o)->prev & F_FINALIZED) != 0 : (o->rh_gcword & RH__GCW_FINALIZED) != 0;
}
static inline void gs_set_finalized(const gset *s, rh_object *o) {
    if (s->list) RH__AS_GC(o)->prev |= F_FINALIZED;
    else o->rh_gcword |= RH__GCW_FINALIZED;
}
/* Is the container o (any container of the heap) in the garbage itself? */
static inline bool gs_in_garbage(const gset *s, const rh_object *o) {
    if (s->list) return (RH__AS_GC(o)->prev & F_COLLECTING) != 0;
    /* the garbage carries both marks in the tail (a waiting weak reference
     * COLLECTING alone, the legacy part UNREACHABLE alone: gc_state.h) */
    return (o->rh_gcword & (RH__GCW_LINKLESS | RH__GCW_MARKS)) == (RH__GCW_LINKLESS | RH__GCW_MARKS);
}
/* The objects still in the set. */
static size_t gs_count(const gset *s) {
    size_t n = 0;
    if (s->list) {
        for (rh__gchead *g = g_next(s->list); g != s->list; g = g_next(g)) n++;
    } else if (s->walk) {
        gcur c;
        gs_open(s, &c);
        while (gs_next(s, &c)) n++;
        gs_close(s, &c);
    } else {
        for (size_t i = s->lo; i < s->hi; i++) n += s->a[i] != NULL;
    }
    return n;
}
/* Everything still in the set survives (the legacy part at the end). */
static void gs_survive_all(rh_heap *h, gset *s, rh__gchead *old) {
    if (s->list) {
        list_merge(s->list, old);
        return;
    }
    if (s->walk) {
        gcur c;
        gs_open(s, &c);
        for (rh_object *o; (o = gs_next(s, &c)) != NULL;) rh__gc_linkless_promote(h, o, s->gen1);
        gs_close(s, &c);
        return;
    }
    for (size_t i = s->lo; i < s->hi; i++) {
        rh_object *o = s->a[i];
        if (!o) continue;
        s->a[i] = NULL;
        rh__gc_linkless_promote(h, o, s->gen1);
    }
}

/* ---------------------------------------------------------------------------
 * Step 5: legacy finalizers.
 * ------------------------------------------------------------------------- */

static int visit_move(rh_object *o, void *arg) {
    if (o && (o->rh_type->flags & RH_TYPE_GC)) {
        rh__gchead *g = RH__AS_GC(o);
        if (g->prev & F_COLLECTING) {
            list_move(g, (rh__gchead *)arg);
            g->prev &= ~F_COLLECTING;
        }
    }
    return 0;
}

/* Moves the unreachable objects with legacy_del, and what they reach, to
 * `finalizers`; returns the NEED_* flags of the rest (never NEED_LEGACY) and
 * the size of `finalizers`. Clears UNREACHABLE on every object it sees.
 * Called only when step 3 met a legacy finalizer. */
static unsigned move_legacy_finalizers(rh__gchead *unreachable, rh__gchead *finalizers,
                                       size_t *nfinalizers) {
    unsigned need = 0;
    rh__gchead *g = g_next(unreachable);
    while (g != unreachable) {
        rh__gchead *next = g_next(g);
        rh_object *o = RH__FROM_GC(g);
        g->prev &= ~F_UNREACHABLE;
        unsigned nd = garbage_needs(g, o, o->rh_type);
        if (nd & NEED_LEGACY) {
            g->prev &= ~F_COLLECTING;
            list_move(g, finalizers);
        } else {
            need |= nd;
        }
        g = next;
    }
    *nfinalizers = 0;
    /* Everything reachable from them: the list grows while it is walked. */
    for (g = g_next(finalizers); g != finalizers; g = g_next(g)) {
        rh_object *o = RH__FROM_GC(g);
        o->rh_type->traverse(o, visit_move, finalizers);
        (*nfinalizers)++;
    }
    return need;
}

/* Step 5 over the garbage set s: the legacy part goes to fin (list: the
 * `finalizers` list; array: the end of s's range, s shrinking); returns
 * the NEED_* flags of the rest and the legacy part's size. */
static unsigned legacy_split(rh_heap *h, gset *s, gset *fin, size_t *nfin) {
    if (s->list) return move_legacy_finalizers(s->list, fin->list, nfin);
    if (s->walk) {
        *nfin = rh__gc_linkless_legacy_walk(h);
        *fin = *s;
        fin->marks = RH__GCW_UNREACHABLE;
        unsigned need = 0;
        gcur c;
        gs_open(s, &c);
        for (rh_object *o; (o = gs_next(s, &c)) != NULL;) need |= garbage_needs(NULL, o, o->rh_type);
        gs_close(s, &c);
        return need;
    }
    /* the set at the front of its array first (step 5 indexes what it
     * moves from there; no user code ran: no tombstone) */
    if (s->lo) {
        s->hi = rh__gc_linkless_tail_part(h, s->a, s->lo, s->hi);
        s->lo = 0;
    }
    size_t end = rh__gc_linkless_legacy(h, s->a + s->lo, s->hi - s->lo) + s->lo;
    fin->a = s->a;
    fin->lo = end;
    fin->hi = s->hi;
    s->hi = end;
    *nfin = fin->hi - fin->lo;
    unsigned need = 0;
    for (size_t i = s->lo; i < s->hi; i++) {
        rh_object *o = s->a[i];
        need |= garbage_needs(NULL, o, o->rh_type);
    }
    return need;
}

/* ---------------------------------------------------------------------------
 * Step 6: weak references. Returns the callback weakrefs freed by dropping
 * the reference the collector held during their callback.
 * ------------------------------------------------------------------------- */

static intptr_t handle_weakrefs(rh_heap *h, const gset *s, rh__gchead *old, bool *ran_callbacks) {
    /* The weakrefs whose callback will run, chained through wr_next (free
     * once a weakref is cleared: weak_internal.h); the tracked ones wait on
     * wrcb, out of the generations. */
    rh__weakref *first = NULL, *last = NULL;
    _Alignas(16) rh__gchead wrcb;
    list_init(&wrcb);
    intptr_t freed = 0;

    gcur cur;
    gs_open(s, &cur);
    for (rh_object *o; (o = gs_next(s, &cur)) != NULL;) {
        /* A weakref in the garbage is cleared and never calls back: its
         * callback could otherwise see objects already cleared. */
        if (rh__is_weakref(o)) rh__weakref_clear((rh__weakref *)o);
        if (!(o->rh_type->flags & RH_TYPE_WEAKREFABLE)) continue;
        rh__weakref **head = rh__weaklist_of(o);
        rh__weakref *wr;
        while ((wr = *head) != NULL) {
            rh__weakref_clear(wr); /* unlinks: *head moves on */
            rh_object *wo = RH_OBJ(wr);
            if (!wr->callback || wo->rh_refcnt == 0) continue; /* none, or wr is dying */
            if (gs_in_garbage(s, wo)) continue; /* wr is garbage itself */
            rh_incref(wo);
            /* out of the generations while it waits (the linked layout: on
             * wrcb; the layout without links: its WAITING mark) */
            if (!s->list) {
                if (rh__gc_linkless_tracked(h, wo)) rh__gc_linkless_wait(h, wo);
            } else if (RH__AS_GC(wo)->next != 0) {
                list_move(RH__AS_GC(wo), &wrcb);
                wo->rh_gcword = 0; /* it leaves any incremental round (gc_incr.c) */
            }
            if (last) last->wr_next = wr;
            else first = wr;
            last = wr;
        }
    }
    gs_close(s, &cur);

    /* Every weakref to the garbage is dead now: the callbacks can run. */
    *ran_callbacks = first != NULL;
    while (first) {
        rh__weakref *wr = first;
        first = wr->wr_next;
        wr->wr_next = NULL;
        rh__weakref_run_callback(h, wr);
        rh_object *wo = RH_OBJ(wr);
        if (wo->rh_refcnt == 1) {
            freed++; /* our reference is the last one */
            rh_decref(wo);
            continue;
        }
        rh_decref(wo);
        if (!s->list) {
            rh__gc_linkless_wait_end(h, wo, s->gen1); /* still waiting: old */
            continue;
        }
        rh__gchead *wg = RH__AS_GC(wo);
        if (wg->next != 0) list_move(wg, old); /* from wrcb, or wherever a callback tracked it */
    }
    return freed;
}

/* ---------------------------------------------------------------------------
 * Step 7: finalizers. Each object leaves the cursor (the list backend
 * moves it to `seen`) before its finalizer runs, so whatever the finalizer
 * frees or moves, the loop always takes the head of what is left.
 * ------------------------------------------------------------------------- */

static bool finalize_garbage(const gset *s) {
    bool ran = false;
    gcur cur;
    gs_open(s, &cur);
    for (rh_object *o; (o = gs_next(s, &cur)) != NULL;) {
        void (*fin)(rh_object *) = o->rh_type->finalize;
        if (fin && !gs_finalized(s, o)) {
            gs_set_finalized(s, o);
            rh_incref(o);
            fin(o);
            rh_decref(o);
            ran = true;
        }
    }
    gs_close(s, &cur);
    return ran;
}

/* ---------------------------------------------------------------------------
 * Steps 9-10: breaking the garbage, and gc.garbage.
 * ------------------------------------------------------------------------- */

/* gc.garbage, created on first need (NULL when out of memory). CPython's
 * list exists from the interpreter's start, so its creation is not counted
 * as an allocation in generation 0 (get_count stays what CPython shows). */
rh_object *rh__gc_garbage_list(rh_heap *h) {
    if (!h->gc.garbage) {
        rh_object *l = h->lists->make(h, 0);
        if (h->gc.garbage) {
            /* The list's allocation ran a collection that made gc.garbage
             * (for uncollectable objects): keep that one. */
            rh_xdecref(l);
        } else {
            h->gc.garbage = l;
            if (l && h->gc.count[0] > 0) h->gc.count[0]--;
        }
    }
    return h->gc.garbage;
}
#define garbage_list rh__gc_garbage_list

static void delete_garbage(rh_heap *h, const gset *s, rh__gchead *old) {
    gcur cur;
    gs_open(s, &cur);
    for (rh_object *o; (o = gs_next(s, &cur)) != NULL;) {
        rh__assert(o->rh_refcnt != 0 && (s->list ? o->rh_gcword == 0 : rh__gc_linkless_obj(o)));
        if (s->walk) rh_incref(o); /* gs_holds_last reads o */
        if (h->gc.debug & RH_GC_DEBUG_SAVEALL) {
            rh_object *gl = garbage_list(h);
            if (gl) (void)h->lists->append(gl, o); /* on failure o just survives */
        } else {
            void (*clear)(rh_object *) = o->rh_type->clear;
            if (clear) {
                rh_incref(o);
                clear(o);
                rh_decref(o);
            }
        }
        /* Still alive (saved, or clear did not break its cycle): it waits
         * in the next generation and may die later. */
        if (gs_holds_last(s, &cur, o)) gs_survive_last(h, s, &cur, o, old);
        if (s->walk) rh_decref(o);
    }
    gs_close(s, &cur);
}

static void handle_legacy_finalizers(rh_heap *h, gset *fin, rh__gchead *old) {
    gcur cur;
    gs_open(fin, &cur);
    for (rh_object *o; (o = gs_next(fin, &cur)) != NULL;) {
        if ((h->gc.debug & RH_GC_DEBUG_SAVEALL) || o->rh_type->legacy_del) {
            rh_object *gl = garbage_list(h);
            if (!gl || h->lists->append(gl, o) < 0) break;
        }
    }
    gs_close(fin, &cur);
    gs_survive_all(h, fin, old);
}

/* ---------------------------------------------------------------------------
 * One collection.
 * ------------------------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void print_generations(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (st->linkless) { /* the young array, GEN1, the other old ones, frozen */
        rh__gc_printf(h, "gc: objects in each generation: %zu %zu %zu", st->nyoung, st->n_gen1,
                      st->n_old - st->n_gen1);
        rh__gc_printf(h, "gc: objects in permanent generation: %zu", st->n_frozen);
        return;
    }
    rh__gc_printf(h, "gc: objects in each generation: %zu %zu %zu", list_size(&st->gens[0]),
                  list_size(&st->gens[1]), list_size(&st->gens[2]));
    rh__gc_printf(h, "gc: objects in permanent generation: %zu", list_size(&st->permanent));
}

static void debug_object(rh_heap *h, const char *what, rh_object *o) {
    rh__gc_printf(h, "gc: %s <%s %p>", what, type_name(o), (void *)o);
}

/* Steps 5-10 (see rh__gc_tail in gc_internal.h): what follows the search
 * for the unreachable set, in a collection and at the end of an incremental
 * round alike, over the garbage set `u` of either backend (`defer` is the
 * list backend's only). The array backend's range is the unreachable part
 * where steps 1-3 left it, a[lo .. hi) (lo: the survivors before it),
 * each object's LOW its index in the array (coll), so that no pass moves
 * or reindexes it when nothing needs that: step 5 first moves it to the
 * front (lo 0), step 8 indexes the final garbage in its part (coll then
 * names the part). */
static void collect_tail(rh_heap *h, gset *u, size_t nunreachable, unsigned need, rh__gchead *old,
                         rh__gchead *defer, intptr_t *mp, intptr_t *np) {
    struct rh__gc_state *st = &h->gc;
    rh__assert(st->collecting);
    rh__assert(u->list || !defer);
    intptr_t m = 0; /* collected   */
    intptr_t n = 0; /* uncollectable */
    /* Step 5. */
    _Alignas(16) rh__gchead finalizers;
    list_init(&finalizers);
    gset fin = {.list = u->list ? &finalizers : NULL, .gen1 = u->gen1};
    size_t nfinalizers = 0;
    if (need & NEED_LEGACY) need = legacy_split(h, u, &fin, &nfinalizers);

    if (st->debug & RH_GC_DEBUG_COLLECTABLE) {
        gcur cur;
        gs_open(u, &cur);
        for (rh_object *o; (o = gs_next(u, &cur)) != NULL;) debug_object(h, "collectable", o);
        gs_close(u, &cur);
    }

    /* Steps 6-8: user code runs from here on. Each step is skipped when
     * steps 3 and 5 saw nothing for it to do; when no callback and no
     * finalizer ran, nothing can have been resurrected and step 8 is skipped
     * too (the garbage set is exactly what it was). */
    bool user_code = false;
    uint64_t u0 = (need & (NEED_WEAKREFS | NEED_FINALIZE)) ? now_ns() : 0;
    if (need & NEED_WEAKREFS) m += handle_weakrefs(h, u, old, &user_code);
    if ((need & NEED_FINALIZE) && finalize_garbage(u)) user_code = true;
    if (u0) st->user_ns += now_ns() - u0;
    _Alignas(16) rh__gchead final_unreachable;
    gset dead = *u;
    size_t ndead;
    if (u->list) {
        dead.list = &final_unreachable;
        if (user_code) {
            size_t candidates = 0, unused = 0;
            unsigned unused_need = 0;
            (void)deduce_unreachable(h, u->list, &final_unreachable, false, false, &candidates, &ndead,
                                     &unused, &unused_need);
            list_merge(u->list, old); /* the resurrected (flags already clear) */
        } else {
            list_init(&final_unreachable);
            list_merge(u->list, &final_unreachable);
            ndead = nunreachable - nfinalizers;
        }
    } else if (user_code && u->walk) {
        ndead = rh__gc_linkless_recheck_walk(h); /* the resurrected promoted */
    } else if (user_code) {
        /* the resurrected (and what they reach) first, promoted; the slots
         * the squeeze left behind emptied */
        size_t k = u->hi - u->lo;
        size_t r = rh__gc_linkless_recheck(h, u->a + u->lo, &k);
        /* indexed in its part from now on (a set not at its array's
         * front had no step 5: nothing else of the array is indexed) */
        rh__assert(u->lo == 0 || nfinalizers == 0);
        st->coll = u->a + u->lo;
        for (size_t i = u->lo + k; i < u->hi; i++) u->a[i] = NULL;
        for (size_t i = u->lo; i < u->lo + r; i++) {
            rh__gc_linkless_promote(h, u->a[i], u->gen1);
            u->a[i] = NULL;
        }
        dead.lo = u->lo + r;
        dead.hi = u->lo + k;
        ndead = k - r;
    } else if (!u->list && !u->walk && !(need & (NEED_WEAKREFS | NEED_FINALIZE)) &&
               !(st->debug & RH_GC_DEBUG_COLLECTABLE)) {
        /* nothing ran since step 3 (no weak reference cleared, no
         * finalizer, no line printed on the sink): no slot was tombstoned,
         * and the set is its range (no pass over it to count) */
        ndead = u->hi - u->lo;
    } else {
        ndead = gs_count(u);
    }

    /* Step 9. */
    m += (intptr_t)ndead;
    if (defer && !(st->debug & RH_GC_DEBUG_SAVEALL)) {
        /* The caller clears them later, in bounded steps (gc_incr.c). */
        while (!list_empty(&final_unreachable)) {
            rh__gchead *g = g_next(&final_unreachable);
            g->prev &= ~(F_COLLECTING | F_UNREACHABLE);
            rh_incref(RH__FROM_GC(g));
            list_move(g, defer);
        }
    } else if (!u->list && u->defer && !(st->debug & RH_GC_DEBUG_SAVEALL)) {
        /* The same over the array backend: each object held and put on
         * gc_incr.c's `doomed`; what cannot be (out of memory) is cleared
         * now. */
        gcur cur;
        gs_open(&dead, &cur);
        for (rh_object *o; (o = gs_next(&dead, &cur)) != NULL;)
            if (rh__gc_incr_doom(h, o)) dead.a[cur.i - 1] = NULL;
        delete_garbage(h, &dead, old);
    } else {
        delete_garbage(h, &dead, old);
    }

    /* Step 10. */
    {
        gcur cur;
        gs_open(&fin, &cur);
        for (rh_object *o; (o = gs_next(&fin, &cur)) != NULL;) {
            n++;
            if (st->debug & RH_GC_DEBUG_UNCOLLECTABLE) debug_object(h, "uncollectable", o);
        }
        gs_close(&fin, &cur);
    }
    *mp = m;
    *np = n;
    if (st->debug & RH_GC_DEBUG_STATS)
        rh__gc_printf(h, "gc: done, %" PRIdPTR " unreachable, %" PRIdPTR " uncollectable, %.4fs elapsed",
                      n + m, n, (double)(now_ns() - st->tail_t0) / 1e9);
    handle_legacy_finalizers(h, &fin, old);
}

/* Steps 3-4's offer of untracking to a survivor of a collection of
 * generation gen (tuples; dicts at generation-2 collections only). */
static bool linkless_offer(rh_heap *h, rh_object *o, int gen) {
    const rh_type *t = o->rh_type;
    if (t->untrack_check && (gen == RH_GC_GENERATIONS - 1 || !(t->flags & RH_TYPE_UNTRACK_AT_FULL)) &&
        t->untrack_check(o)) {
        rh__gc_linkless_untrack(h, o);
        return true;
    }
    return false;
}

typedef struct offer_ctx {
    rh_heap *h;
    int gen;
    size_t untracked;
} offer_ctx;
static int offer_each(rh_object *o, void *arg) {
    offer_ctx *c = arg;
    c->untracked += linkless_offer(c->h, o, c->gen);
    return 0;
}

/* A full collection without its array (it could not be allocated, or
 * the set is more than LOW can index): gc_linkless.c's walk-driven set,
 * then the tail over the walk backend. No allocation before step 6, as
 * the linked layout's collections. */
static void collect_linkless_walk(rh_heap *h, int gen, size_t *examined, intptr_t *m, intptr_t *n) {
    struct rh__gc_state *st = &h->gc;
    size_t r = 0;
    *examined = st->nyoung + st->n_old;
    st->coll_walk = true;
    size_t nu = rh__gc_linkless_full_walk(h, &r);
    st->long_lived_pending = 0;
    offer_ctx oc = {h, gen, 0};
    (void)rh__gc_linkless_each(h, RH_GC_GENERATIONS - 1, offer_each, &oc);
    st->long_lived_total = r - oc.untracked;
    gset u = {.walk = true, .marks = RH__GCW_COLLECTING | RH__GCW_UNREACHABLE, .h = h};
    unsigned need = 0;
    gcur c;
    gs_open(&u, &c);
    for (rh_object *o; (o = gs_next(&u, &c)) != NULL;) need |= garbage_needs(NULL, o, o->rh_type);
    gs_close(&u, &c);
    collect_tail(h, &u, nu, need, NULL, NULL, m, n);
    st->coll_walk = false;
}

/* The end of a collection of either layout: its statistics, the caller's
 * info, DEBUG_VERIFY's check and, at RH_DEBUG 3, the heap's invariants.
 * Returns the objects found unreachable (collected + uncollectable). */
static intptr_t collection_end(rh_heap *h, int gen, rh_gc_info *info, uint64_t t0, size_t examined, intptr_t m,
                               intptr_t n) {
    struct rh__gc_state *st = &h->gc;
    uint64_t t1 = now_ns();
    st->stats[gen].collections++;
    st->stats[gen].collected += (uint64_t)m;
    st->stats[gen].uncollectable += (uint64_t)n;
    info->generation = gen;
    info->collected = m;
    info->uncollectable = n;
    info->duration_ns = t1 - t0;
    info->examined = examined;
    if (st->debug & RH_GC_DEBUG_VERIFY) (void)rh_gc_verify(h);
#if RH_DEBUG >= 3
    rh__heap_check(h, "the end of a collection");
#endif
    return n + m;
}

/* A collection of a heap without list links (docs/linkless.md): gen 0
 * collects the young array (survivors old with GEN1), gen 1 and 2 every
 * tracked object but the frozen ones (survivors generation 2; this layout
 * has no middle generation of its own: GEN1 only counts what young
 * collections promoted). Steps 1-3 are gc_linkless.c's over an array, the
 * tail is collect_tail over the array backend. A full collection whose
 * array cannot be allocated runs over the walk-driven set instead
 * (collect_linkless_walk). */
static intptr_t collect_linkless(rh_heap *h, int gen, rh_gc_info *info, uint64_t t0) {
    struct rh__gc_state *st = &h->gc;
    if (gen + 1 < RH_GC_GENERATIONS) st->count[gen + 1]++;
    for (int i = 0; i <= gen; i++) st->count[i] = 0;
    bool young = gen == 0;
    size_t examined = 0, r = 0, cap = 0;
    unsigned need = 0;
    rh_object **set = young ? rh__gc_linkless_young_unreachable(h, &examined, &r, &cap, &need)
                            : rh__gc_linkless_full_unreachable(h, &examined, &r, &need);
    intptr_t m = 0, n = 0;
    if (set) {
        if (young) {
            st->long_lived_pending += r;
        } else {
            st->long_lived_pending = 0;
            st->long_lived_total = r;
        }
        /* steps 3-4's offers of untracking to the survivors (tuples; dicts
         * at generation-2 collections only), in the array's order; no pass
         * when no survivor's type has untrack_check (OFFERS not noted) */
        for (size_t i = 0; (need & RH__GC_NEED_OFFERS) && i < r; i++) {
            if (linkless_offer(h, set[i], gen)) {
                if (!young) st->long_lived_total--;
                else st->long_lived_pending--;
            }
        }
        /* the tail over the unreachable part where step 3 left it, each
         * object's LOW its index in set (coll) */
        gset u = {.a = set, .lo = r, .hi = examined, .gen1 = young};
        collect_tail(h, &u, examined - r, need, NULL, NULL, &m, &n);
        st->coll = NULL;
        if (young) rh__gc_linkless_young_release(h, set, cap);
        else rh_free(h, set);
    } else if (!young) {
        collect_linkless_walk(h, gen, &examined, &m, &n);
    }
    return collection_end(h, gen, info, t0, examined, m, n);
}

/* Collects generations 0..gen. Must run with st->collecting set. */
static intptr_t collect_main(rh_heap *h, int gen, rh_gc_info *info) {
    struct rh__gc_state *st = &h->gc;
    uint64_t t0 = now_ns();
    st->tail_t0 = t0;

    if (st->debug & RH_GC_DEBUG_STATS) {
        rh__gc_printf(h, "gc: collecting generation %d...", gen);
        print_generations(h);
    }
    if (st->linkless) return collect_linkless(h, gen, info, t0);

    if (gen + 1 < RH_GC_GENERATIONS) st->count[gen + 1]++;
    for (int i = 0; i <= gen; i++) st->count[i] = 0;
    for (int i = 0; i < gen; i++) list_merge(&st->gens[i], &st->gens[gen]);
    rh__gchead *young = &st->gens[gen];
    rh__gchead *old = gen + 1 < RH_GC_GENERATIONS ? &st->gens[gen + 1] : young;

    /* Steps 1-4. */
    _Alignas(16) rh__gchead unreachable;
    size_t examined = 0, nunreachable = 0, atfull = 0;
    unsigned need = 0;
    /* A full collection with nothing frozen holds every tracked object:
     * steps 1 and 2 fuse into one pass (in pools mode, where the ownership
     * test of a referent is two loads; see visit_count_tracked). */
    bool all_tracked = young == old && list_empty(&st->permanent) && h->mode == RH_MODE_POOLS;
    size_t survivors = deduce_unreachable(h, young, &unreachable, true, all_tracked, &examined,
                                          &nunreachable, &atfull, &need);
    if (young != old) {
        if (gen == RH_GC_GENERATIONS - 2) st->long_lived_pending += survivors;
        list_merge(young, old);
    } else {
        if (atfull) survivors -= untrack_at_full(young);
        st->long_lived_pending = 0;
        st->long_lived_total = survivors;
    }

    intptr_t m = 0, n = 0;
    gset u = {.list = &unreachable};
    collect_tail(h, &u, nunreachable, need, old, NULL, &m, &n);
    return collection_end(h, gen, info, t0, examined, m, n);
}

static void invoke_callbacks(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info) {
    /* By index: a callback may add or remove callbacks. */
    for (size_t i = 0; i < h->gc.ncallbacks; i++) {
        rh__gc_cbentry e = h->gc.callbacks[i];
        e.cb(h, phase, info, e.data);
    }
}

/* A collection (`body`: collect_main, or gc_incr.c's end of a round) with
 * its start and stop callbacks. st->collecting must be set. The heap's
 * pending error is kept across it; the pause hook, if any, gets the pause. */
intptr_t rh__gc_run(rh_heap *h, int gen, bool callbacks, rh__gc_body body) {
    rh_error saved = h->err;
    char msg[RH__ERRMSG_MAX];
    if (saved != RH_OK) memcpy(msg, h->errmsg, sizeof msg);

    rh__gc_pause_mark p0 = {0};
    if (h->gc.pause_hook) p0 = rh__gc_pause_begin();
    h->gc.user_ns = 0;
    rh_gc_info info = {.generation = gen};
    if (callbacks && h->gc.ncallbacks) invoke_callbacks(h, RH_GC_START, &info);
    intptr_t r = body(h, gen, &info);
    if (callbacks && h->gc.ncallbacks) invoke_callbacks(h, RH_GC_STOP, &info);
    if (h->gc.pause_hook && body == collect_main)
        rh__gc_report_pause(h, &p0, gen, h->gc.user_ns);

    h->err = saved;
    if (saved != RH_OK) memcpy(h->errmsg, msg, sizeof msg);
    else h->errmsg[0] = '\0';
    return r;
}

static intptr_t collect_with_callbacks(rh_heap *h, int gen, bool callbacks) {
    return rh__gc_run(h, gen, callbacks, collect_main);
}

intptr_t rh__gc_collect_gen(rh_heap *h, int gen) { return collect_with_callbacks(h, gen, true); }

/* CPython's gc_collect_generations: the oldest generation over its threshold,
 * generation 2 only past the 25% rule. */
static void collect_generations(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    for (int i = RH_GC_GENERATIONS - 1; i >= 0; i--) {
        if (st->count[i] > st->threshold[i]) {
            if (i == RH_GC_GENERATIONS - 1 &&
                st->long_lived_pending < st->long_lived_total / GC_LONG_LIVED_RATIO)
                continue;
            (void)collect_with_callbacks(h, i, true);
            break;
        }
    }
}

/* count[0] passed `trigger` (rh__gc_count_alloc, inline in gc_internal.h):
 * trigger is threshold[0] only while enabled, threshold[0] != 0 and not
 * finished, so what is left to check is a collection already running. */
void rh__gc_alloc_slow(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (st->collecting) return;
    st->collecting = true;
    if (st->policy == RH_GC_POLICY_INCREMENTAL) rh__gc_incr_alloc_slow(h);
    else collect_generations(h);
    st->collecting = false;
}

/* Recomputes `trigger` after a change of enabled, threshold[0] or finished. */
static void update_trigger(struct rh__gc_state *st) {
    st->trigger = (st->enabled && st->threshold[0] != 0 && !st->finished) ? st->threshold[0] : LONG_MAX;
}

intptr_t rh_gc_collect(rh_heap *h, int generation) {
    if (generation < 0 || generation >= RH_GC_GENERATIONS) {
        rh_err_set(h, RH_EVALUE, "invalid generation %d (must be 0, 1 or 2)", generation);
        return -1;
    }
    struct rh__gc_state *st = &h->gc;
    if (st->collecting || st->finished) return 0;
    /* Incremental policy: a full collection is complete and stop-the-world;
     * the round in progress is given up and deferred garbage cleared first. */
    if (st->policy == RH_GC_POLICY_INCREMENTAL &&
        (generation == RH_GC_GENERATIONS - 1 || (st->linkless && generation > 0)))
        rh__gc_incr_settle(h, true); /* a heap without links: generation 1 is a full one too */
    st->collecting = true;
    intptr_t r = collect_with_callbacks(h, generation, true);
    st->collecting = false;
    return r;
}

/* ---------------------------------------------------------------------------
 * Life of the collector.
 * ------------------------------------------------------------------------- */

int rh__gc_init(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    memset(st, 0, sizeof *st);
    for (int i = 0; i < RH_GC_GENERATIONS; i++) list_init(&st->gens[i]);
    list_init(&st->permanent);
    st->threshold[0] = GC_THRESHOLD0;
    st->threshold[1] = GC_THRESHOLD1;
    st->threshold[2] = GC_THRESHOLD2;
    st->enabled = true;
    st->linked = 1;
    const char *e = getenv("REFHEAP_GC");
    st->policy = e && strcmp(e, "incremental") == 0 ? RH_GC_POLICY_INCREMENTAL : RH_GC_POLICY_CPYTHON;
    rh__gc_incr_init(h);
    update_trigger(st);
    return 0;
}

/* The layout of the heap's containers (docs/linkless.md), once its policy
 * is known (heap.c, after the config's policy): without list links for the
 * incremental policy, unless the environment variable REFHEAP_LINKLESS is
 * "0" at the heap's creation (the policy's linked layout, kept for
 * comparison: bench/callgrind.py's "-inc" rows, the tests' runs of both);
 * the CPython policy always keeps its links (docs/design.md). */
void rh__gc_layout_init(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    const char *e = getenv("REFHEAP_LINKLESS");
    st->linkless = st->policy == RH_GC_POLICY_INCREMENTAL && !(e && strcmp(e, "0") == 0);
    st->linked = st->linkless ? 0 : 1;
    if (st->linkless) rh__gc_linkless_init(h);
    update_trigger(st);
}

/* Drops gc.garbage (its objects lose that reference). */
static void drop_garbage(rh_heap *h) {
    rh_object *gl = h->gc.garbage;
    h->gc.garbage = NULL;
    if (gl) rh_decref(gl);
}

/* One line of the leak report (the first GC_LEAK_REPORT_MAX). */
typedef struct leak_line {
    rh_heap *h;
    size_t shown;
} leak_line;

static void leak_print(rh_object *o, uint32_t outside, void *arg) {
    leak_line *l = arg;
    if (l->shown++ >= GC_LEAK_REPORT_MAX) return;
    rh__gc_printf(l->h, "refheap: leak: <%s %p> refcount %" PRIu32 " (%" PRIu32
                  " from outside the heap's containers), allocated at %s",
                  type_name(o), (void *)o, o->rh_refcnt, outside, rh_object_site(o));
}

/* Debug mode: every object still tracked after the last collections, with
 * its references from outside the heap's containers (recomputed with steps
 * 1-2 over all of them: a leak root has some, objects it keeps alive none). */
static void leak_report(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (st->linkless) {
        /* every tracked object, by walks (gc_linkless.c): no collection's
         * set exists now, so the counters hold them all */
        size_t total = st->nyoung + st->n_old + st->n_frozen;
        if (total == 0) return;
        rh__gc_printf(h, "refheap: leak report: %zu tracked object%s still alive at heap destruction",
                      total, total == 1 ? "" : "s");
        leak_line l = {h, 0};
        (void)rh__gc_linkless_outside(h, leak_print, &l);
        if (total > GC_LEAK_REPORT_MAX)
            rh__gc_printf(h, "refheap: leak: ... and %zu more", total - GC_LEAK_REPORT_MAX);
        return;
    }
    _Alignas(16) rh__gchead all;
    list_init(&all);
    for (int i = 0; i < RH_GC_GENERATIONS; i++) list_merge(&st->gens[i], &all);
    list_merge(&st->permanent, &all);
    size_t total = update_refs(&all);
    if (total == 0) return;
    subtract_refs(&all, NULL);
    rh__gc_printf(h, "refheap: leak report: %zu tracked object%s still alive at heap destruction",
                  total, total == 1 ? "" : "s");
    leak_line l = {h, 0};
    for (rh__gchead *g = g_next(&all); g != &all; g = g_next(g)) {
        rh_object *o = RH__FROM_GC(g);
        g->prev &= ~F_COLLECTING;
        uint32_t outside = o->rh_refcnt - o->rh_gcword;
        o->rh_gcword = 0;
        leak_print(o, outside, &l);
    }
    if (total > GC_LEAK_REPORT_MAX)
        rh__gc_printf(h, "refheap: leak: ... and %zu more", total - GC_LEAK_REPORT_MAX);
    list_merge(&all, &st->gens[RH_GC_GENERATIONS - 1]);
}

/* Debug mode: live containers the collector does not track (the debug
 * allocator knows every live object). A container that should be tracked
 * and is not (a forgotten rh_gc_track) leaks every cycle through it without
 * a word from the tracked objects' report. */
typedef struct untracked_report {
    rh_heap *h;
    size_t n;
    bool print;
} untracked_report;

static void report_untracked(rh_object *o, void *arg) {
    untracked_report *r = arg;
    if (!RH__IS_GC(o) || o->rh_refcnt == 0 || o->rh_refcnt == RH_IMMORTAL || rh__gc_tracked_any(o)) return;
    if (r->print && r->n < GC_LEAK_REPORT_MAX)
        rh__gc_printf(r->h, "refheap: leak: untracked <%s %p> refcount %" PRIu32 ", allocated at %s "
                      "(not tracked by the collector: a cycle through it is never freed; "
                      "a forgotten rh_gc_track?)",
                      type_name(o), (void *)o, o->rh_refcnt, rh_object_site(o));
    r->n++;
}

static void leak_report_untracked(rh_heap *h) {
    untracked_report r = {h, 0, false};
    rh__debug_each_object(h, report_untracked, &r);
    if (r.n == 0) return;
    size_t total = r.n;
    rh__gc_printf(h, "refheap: leak report: %zu untracked container%s still alive at heap destruction",
                  total, total == 1 ? "" : "s");
    r = (untracked_report){h, 0, true};
    rh__debug_each_object(h, report_untracked, &r);
    if (total > GC_LEAK_REPORT_MAX)
        rh__gc_printf(h, "refheap: leak: ... and %zu more", total - GC_LEAK_REPORT_MAX);
}

void rh__gc_fini(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    if (!st->collecting && !st->finished) {
        rh__gc_incr_settle(h, true);
        st->collecting = true;
        (void)collect_with_callbacks(h, RH_GC_GENERATIONS - 1, false);
        /* Objects saved by DEBUG_SAVEALL die now; legacy cycles come back to a
         * new gc.garbage, which is dropped too (they stay, uncollectable). */
        st->debug &= ~(unsigned)RH_GC_DEBUG_SAVEALL;
        if (st->garbage) {
            drop_garbage(h);
            (void)collect_with_callbacks(h, RH_GC_GENERATIONS - 1, false);
            drop_garbage(h);
        }
        st->collecting = false;
    }
    st->finished = true;
    st->enabled = false;
    update_trigger(st);
    if (rh_heap_mode(h) == RH_MODE_DEBUG) {
        leak_report(h);
        leak_report_untracked(h);
    }
    rh_free(h, st->callbacks);
    st->callbacks = NULL;
    st->ncallbacks = st->capcallbacks = 0;
    if (st->linkless) rh__gc_linkless_fini(h);
}

/* ---------------------------------------------------------------------------
 * Invariant check (RH_DEBUG >= 3 after every collection and at heap
 * destruction; white-box tests call it directly). The invariants of
 * gc_internal.h between collections, over every tracked object:
 *   lists: circular, g->next->prev == g (flag bits aside), sentinels
 *          without flags;
 *   each tracked object: a container of a live type, count != 0, owned by
 *          this heap, rh_gcword == 0, neither COLLECTING nor UNREACHABLE
 *          nor FLAG3 (the last two only outside a collection's steps);
 *   counts: 0 <= count[g].
 * O(tracked objects); one heap lookup per object.
 * ------------------------------------------------------------------------- */

void rh__gc_check(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    for (int i = 0; i <= RH_GC_GENERATIONS; i++) {
        rh__gchead *l = rh__gc_list(h, i);
        if (l->prev & F_MASK) rh__fatal("gc: invariant broken: generation %d's sentinel carries flags", i);
        rh__gchead *prev = l;
        for (rh__gchead *g = g_next(l);; g = g_next(g)) {
            if (!g || g_prev(g) != prev)
                rh__fatal("gc: invariant broken: list of generation %d is broken after %p", i, (void *)prev);
            if (g == l) break;
            rh_object *o = RH__FROM_GC(g);
            if (!o->rh_type || !RH__IS_GC(o))
                rh__fatal("gc: invariant broken: tracked object %p in generation %d is not a container",
                          (void *)o, i);
            if (o->rh_refcnt == 0)
                rh__fatal("gc: invariant broken: tracked object <%s %p> has reference count 0 (allocated at %s)",
                          type_name(o), (void *)o, rh_object_site(o));
            if (rh__heap_of(o) != h)
                rh__fatal("gc: invariant broken: tracked object <%s %p> in generation %d of heap %p belongs to "
                          "heap %p (allocated at %s)", type_name(o), (void *)o, i, (void *)h,
                          (void *)rh__heap_of(o), rh_object_site(o));
            if (o->rh_gcword != 0)
                rh__fatal("gc: invariant broken: tracked object <%s %p> has collector word %" PRIu32
                          " outside a collection (allocated at %s)", type_name(o), (void *)o, o->rh_gcword,
                          rh_object_site(o));
            if (g->prev & (F_COLLECTING | F_UNREACHABLE | RH__GC_FLAG3))
                rh__fatal("gc: invariant broken: tracked object <%s %p> carries collection flags %#x outside "
                          "a collection", type_name(o), (void *)o,
                          (unsigned)(g->prev & (F_COLLECTING | F_UNREACHABLE | RH__GC_FLAG3)));
            prev = g;
        }
    }
    for (int i = 0; i < RH_GC_GENERATIONS; i++)
        if (st->count[i] < 0) rh__fatal("gc: invariant broken: count[%d] = %ld < 0", i, st->count[i]);
    if (st->linkless) rh__gc_linkless_check(h);
}

/* The weak references' invariants over every tracked object: the lists'
 * objects, and in the layout without links (no lists) the marked blocks'
 * by a walk. */
static int weak_check_one(rh_object *o, void *h) {
    rh__weak_check_object(h, o);
    return 0;
}
void rh__weak_check(rh_heap *h) {
    for (int i = 0; i <= RH_GC_GENERATIONS; i++) {
        rh__gchead *l = rh__gc_list(h, i);
        for (rh__gchead *g = (rh__gchead *)l->next; g != l; g = (rh__gchead *)g->next)
            rh__weak_check_object(h, RH__FROM_GC(g));
    }
    if (h->gc.linkless) (void)rh__gc_linkless_each(h, RH__GC_EACH_TRACKED, weak_check_one, h);
}

void rh__heap_check(rh_heap *h, const char *when) {
    if (h->mode != RH_MODE_MALLOC) rh__pools_check(h);
    rh__gc_check(h);
    rh__weak_check(h);
    rh__debug_check_all(h, when);
}

/* ---------------------------------------------------------------------------
 * Controls.
 * ------------------------------------------------------------------------- */

void rh_gc_enable(rh_heap *h) {
    h->gc.enabled = true;
    update_trigger(&h->gc);
}
void rh_gc_disable(rh_heap *h) {
    h->gc.enabled = false;
    update_trigger(&h->gc);
}
bool rh_gc_isenabled(const rh_heap *h) { return h->gc.enabled; }

void rh_gc_get_threshold(const rh_heap *h, long out[3]) {
    for (int i = 0; i < RH_GC_GENERATIONS; i++) out[i] = h->gc.threshold[i];
}

void rh_gc_set_threshold(rh_heap *h, long t0, long t1, long t2) {
    h->gc.threshold[0] = t0;
    h->gc.threshold[1] = t1;
    h->gc.threshold[2] = t2;
    update_trigger(&h->gc);
}

void rh_gc_get_count(const rh_heap *h, long out[3]) {
    for (int i = 0; i < RH_GC_GENERATIONS; i++) out[i] = h->gc.count[i];
}

unsigned rh_gc_set_debug(rh_heap *h, unsigned flags) {
    unsigned old = h->gc.debug;
    h->gc.debug = flags;
    return old;
}

unsigned rh_gc_get_debug(const rh_heap *h) { return h->gc.debug; }

void rh_gc_get_stats(const rh_heap *h, rh_gc_genstats out[3]) {
    for (int i = 0; i < RH_GC_GENERATIONS; i++) out[i] = h->gc.stats[i];
}

int rh_gc_callback_add(rh_heap *h, rh_gc_callback cb, void *data) {
    struct rh__gc_state *st = &h->gc;
    if (!cb) {
        rh_err_set(h, RH_EVALUE, "gc callback must not be NULL");
        return -1;
    }
    if (st->ncallbacks == st->capcallbacks) {
        size_t cap = st->capcallbacks ? st->capcallbacks * 2 : 4;
        rh__gc_cbentry *p = rh_realloc(h, st->callbacks, cap * sizeof *p);
        if (!p) return -1; /* RH_ENOMEM set by the allocator */
        st->callbacks = p;
        st->capcallbacks = cap;
    }
    st->callbacks[st->ncallbacks++] = (rh__gc_cbentry){cb, data};
    return 0;
}

int rh_gc_callback_remove(rh_heap *h, rh_gc_callback cb, void *data) {
    struct rh__gc_state *st = &h->gc;
    for (size_t i = 0; i < st->ncallbacks; i++) {
        if (st->callbacks[i].cb == cb && st->callbacks[i].data == data) {
            memmove(&st->callbacks[i], &st->callbacks[i + 1],
                    (st->ncallbacks - i - 1) * sizeof st->callbacks[0]);
            st->ncallbacks--;
            return 0;
        }
    }
    return -1;
}

/* gc.freeze(): CPython 3.11.7 resets every generation's count, not only
 * generation 0's (measured: get_count() (0, 0, 2) -> (0, 0, 0)). */
void rh_gc_freeze(rh_heap *h) {
    struct rh__gc_state *st = &h->gc;
    rh__gc_incr_settle(h, false);
    if (st->linkless) rh__gc_linkless_freeze(h);
    for (int i = 0; i < RH_GC_GENERATIONS; i++) {
        list_merge(&st->gens[i], &st->permanent);
        st->count[i] = 0;
    }
}

void rh_gc_unfreeze(rh_heap *h) {
    rh__gc_incr_settle(h, false);
    if (h->gc.linkless) rh__gc_linkless_unfreeze(h);
    list_merge(&h->gc.permanent, &h->gc.gens[RH_GC_GENERATIONS - 1]);
}

size_t rh_gc_get_freeze_count(const rh_heap *h) {
    return h->gc.linkless ? h->gc.n_frozen : list_size(&h->gc.permanent);
}

/* For gcapi.c: the list sentinel of generation g (0..2), or the permanent
 * generation for g == RH_GC_GENERATIONS. */
rh__gchead *rh__gc_list(rh_heap *h, int g) {
    return g < RH_GC_GENERATIONS ? &h->gc.gens[g] : &h->gc.permanent;
}

/* ---------------------------------------------------------------------------
 * For gc_incr.c: the list primitives and the halves of a collection.
 * ------------------------------------------------------------------------- */

void rh__gc_list_init(rh__gchead *l) { list_init(l); }
void rh__gc_list_move(rh__gchead *g, rh__gchead *l) { list_move(g, l); }
void rh__gc_list_merge(rh__gchead *from, rh__gchead *to) { list_merge(from, to); }

size_t rh__gc_find_unreachable(rh_heap *h, rh__gchead *set, rh__gchead *unreachable, unsigned *need) {
    size_t examined = 0, nunreachable = 0, atfull = 0;
    (void)deduce_unreachable(h, set, unreachable, false, false, &examined, &nunreachable, &atfull, need);
    return nunreachable;
}

void rh__gc_tail(rh_heap *h, rh__gchead *unreachable, size_t nunreachable, unsigned need,
                 rh__gchead *old, rh__gchead *defer, intptr_t *m, intptr_t *n) {
    h->gc.tail_t0 = now_ns();
    gset u = {.list = unreachable};
    collect_tail(h, &u, nunreachable, need, old, defer, m, n);
}

void rh__gc_tail_array(rh_heap *h, rh_object **set, size_t r, size_t n, bool defer, intptr_t *m,
                       intptr_t *nn) {
    h->gc.tail_t0 = now_ns();
    h->gc.coll = set;
    unsigned need = 0;
    for (size_t i = r; i < n; i++) need |= garbage_needs(NULL, set[i], set[i]->rh_type);
    gset u = {.a = set, .lo = r, .hi = n, .defer = defer};
    collect_tail(h, &u, n - r, need, NULL, NULL, m, nn);
    h->gc.coll = NULL;
}

uint64_t rh__gc_now_ns(void) { return now_ns(); }

static uint64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread's involuntary and voluntary context switches so far (0 where
 * the OS does not count them per thread). */
static void switches(long *preempted, long *blocked) {
#if defined(RUSAGE_THREAD)
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        *preempted = ru.ru_nivcsw;
        *blocked = ru.ru_nvcsw;
        return;
    }
#endif
    *preempted = *blocked = 0;
}

rh__gc_pause_mark rh__gc_pause_begin(void) {
    rh__gc_pause_mark m = {now_ns(), cpu_ns(), 0, 0};
    switches(&m.preempted, &m.blocked);
    return m;
}

static uint32_t count_since(long now, long then) {
    return now > then ? (uint32_t)(now - then) : 0;
}

void rh__gc_report_pause(rh_heap *h, const rh__gc_pause_mark *m, int kind, uint64_t user_ns) {
    if (!h->gc.pause_hook) return;
    long preempted, blocked;
    switches(&preempted, &blocked);
    rh_gc_pause p = {kind, now_ns() - m->wall, cpu_ns() - m->cpu, user_ns,
                     count_since(preempted, m->preempted), count_since(blocked, m->blocked)};
    h->gc.pause_hook(h, &p, h->gc.pause_data);
}

void rh_gc_set_pause_hook(rh_heap *h, rh_gc_pause_hook hook, void *data) {
    h->gc.pause_hook = hook;
    h->gc.pause_data = hook ? data : NULL;
}

rh_gc_policy rh_gc_get_policy(const rh_heap *h) { return h->gc.policy; }

const char *rh_gc_policy_name(rh_gc_policy p) {
    switch (p) {
    case RH_GC_POLICY_DEFAULT: return "default";
    case RH_GC_POLICY_CPYTHON: return "cpython";
    case RH_GC_POLICY_INCREMENTAL: return "incremental";
    }
    return "?";
}
