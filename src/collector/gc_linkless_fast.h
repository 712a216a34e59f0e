/*
 * gc_linkless_fast.h — the in-line halves of track and untrack in the
 * layout without list links (docs/linkless.md; gc_linkless.c's essay
 * states the state and its invariants), for the object path's straight
 * lines: creation tracked (object.c's rh__new_ll_tracked, where
 * objects/object_new.h's fast path ends for a container of this layout),
 * rh_gc_track of a container created untracked (gc.c), and the last
 * decref (object.c).
 *
 * The straight lines walk the allocator's tree once (rh__radix_leaf_known
 * for a block just popped, rh__pool_owner at death) and take the block's
 * mark word from the leaf (memory/marks.h, rh__block_mark_word): a heap
 * whose slow word is 0 is in pools mode with no shim, so a container's
 * block is a pool block and its mark is in the arena's plane. What they
 * do:
 *   push     a young array with room (nyoung < capyoung, so the index fits
 *            LOW: capyoung <= RH__YOUNG_MAX): young[nyoung] = o, the word
 *            YOUNG with the index in LOW (LINKLESS and FINALIZED kept), the
 *            mark set. A full array (first use, growth, promotion of the
 *            whole set when it cannot grow) is gc_linkless.c's
 *            rh__gc_linkless_track, out of line.
 *   untrack  of a word without MARKS or ROUND bits and not FROZEN: YOUNG
 *            is swap-removed (the last entry takes the slot and the index,
 *            which is its word minus the distance, its old index being
 *            n - 1) and its mark cleared without reading it (an AND of
 *            the word with the mark's bit rotated out, memory/marks.h's
 *            rh__block_mark_keep: rh__gc_linkless_untrack_young, the
 *            common death's); OLD or GEN1 with its mark set leaves n_old
 *            (and n_gen1); OLD without its mark was not tracked: nothing.
 *            The mark is cleared.
 *   untrack  of a word with UNREACHABLE (the unreachable part of a
 *            collection's set, or its legacy part, during the tail: the
 *            objects a collection frees die with it): its slot in the
 *            collection's array (coll) tombstoned, none in the walk-driven
 *            set; the mark cleared. For object.c's death of such an
 *            object, the common death of a full collection's garbage,
 *            which would otherwise look its heap and its mark up three
 *            times out of line.
 * Every other word (a round's marks, WAITING, FROZEN) is
 * rh__gc_linkless_untrack's, out of line; so are the words above in any
 * other case (the heap's slow word not 0, a type with finalizers, weak
 * references to the object or, for the first untrack, to its type's
 * objects at all, the trashcan's bound reached).
 * Each is O(1) and keeps gc_linkless.c's invariants: YOUNG <=> marked and
 * young[LOW] == o; n_old + n_frozen + nyoung = the marked blocks, n_gen1 <=
 * n_old.
 * Debug builds assert the young index and that the mark agrees with the
 * word (YOUNG is marked; a pushed object was not tracked).
 */
#ifndef REFHEAP_GC_LINKLESS_FAST_H
#define REFHEAP_GC_LINKLESS_FAST_H

#include "collector/gc_internal.h"
#include "memory/marks.h"

/* Swap-removes young[i] (o, YOUNG): the last entry takes its slot and
 * index. rh__gc_linkless_untrack's YOUNG branch and the straight line.
 * The last entry's LOW is its index n - 1, so its new index is written
 * as a subtraction of n - 1 - i from its word (one instruction that
 * reads and writes memory, where masking LOW and ORing i in took four). */
RH__HOT_INLINE void rh__gc_linkless_young_remove(struct rh__gc_state *st, rh_object *o, size_t i) {
    rh__assert(i < st->nyoung && st->young[i] == o);
    (void)o;
    size_t n = --st->nyoung;
    rh_object *last = st->young[n];
    /* (o itself may be last, its word already rewritten by the caller:
     * then nothing moves and 0 is subtracted) */
    rh__assert(i == n || ((last->rh_gcword & RH__GCW_LOW) == n && rh__gcw_gen(last->rh_gcword) == RH__GCW_YOUNG));
    st->young[i] = last;
    last->rh_gcword -= (uint32_t)(n - i);
}

/* Tracks o (a live container of this layout, untracked, whose word is
 * `keep`, LINKLESS and maybe FINALIZED, or 0 for an object being created
 * with keep LINKLESS; its block's mark is bit `bit` of *mw) when the
 * young array has room: true. false: nothing done, the caller calls
 * rh__gc_linkless_track. */
RH__HOT_INLINE bool rh__gc_linkless_push(struct rh__gc_state *st, rh_object *o, uint32_t keep, uint64_t *mw,
                                         uint64_t bit) {
    size_t i = st->nyoung;
    if (RH_UNLIKELY(i >= st->capyoung)) return false;
    rh__assert(!(*mw & bit) && st->capyoung <= RH__YOUNG_MAX);
    st->young[i] = o;
    st->nyoung = i + 1;
    /* (a new object's word is still 0 from its header's store) */
    rh__assert((keep == o->rh_gcword || o->rh_gcword == 0) && (keep & ~RH__GCW_KEEP) == 0 &&
               (keep & RH__GCW_LINKLESS));
    o->rh_gcword = keep | RH__GCW_YOUNG | (uint32_t)i;
    *mw |= bit;
    return true;
}

/* Does the straight line's untrack take the word w (no MARKS, no ROUND
 * bits, not FROZEN)? */
static inline bool rh__gc_linkless_plain_word(uint32_t w) {
    return (w & (RH__GCW_MARKS | RH__GCW_ROUND)) == 0 && rh__gcw_gen(w) != RH__GCW_FROZEN;
}

/* Untracks o, a container of this layout whose word w passes
 * rh__gc_linkless_plain_word and is YOUNG (its block's mark is in *mw,
 * set; rh__block_mark_word): the mark cleared without reading it (one AND
 * into memory of rh__block_mark_keep), the word LINKLESS and FINALIZED
 * only, the swap-remove. */
RH__HOT_INLINE void rh__gc_linkless_untrack_young(struct rh__gc_state *st, rh_object *o, uint32_t w, uint64_t *mw) {
    uint64_t keep = rh__block_mark_keep(o);
    rh__assert(rh__gc_linkless_plain_word(w) && rh__gcw_gen(w) == RH__GCW_YOUNG && (*mw & ~keep));
    *mw &= keep;
    o->rh_gcword = w & RH__GCW_KEEP;
    rh__gc_linkless_young_remove(st, o, w & RH__GCW_LOW);
}

/* Untracks o, a container of this layout whose word w passes
 * rh__gc_linkless_plain_word, if it is tracked (its block's mark is bit
 * `bit` of *mw); its word keeps LINKLESS and FINALIZED only. */
RH__HOT_INLINE void rh__gc_linkless_untrack_plain(struct rh__gc_state *st, rh_object *o, uint32_t w, uint64_t *mw,
                                                  uint64_t bit) {
    rh__assert(rh__gc_linkless_plain_word(w));
    /* the mark and the word first: fewer values live in the branches */
    uint64_t m = *mw;
    *mw = m & ~bit;
    o->rh_gcword = w & RH__GCW_KEEP;
    /* most containers die young: that branch falls through */
    if (RH_LIKELY(rh__gcw_gen(w) == RH__GCW_YOUNG)) {
        rh__assert(m & bit);
        rh__gc_linkless_young_remove(st, o, w & RH__GCW_LOW);
    } else if (m & bit) {
        rh__assert((w & RH__GCW_LOW) == 0 && st->n_old > 0);
        st->n_old--;
        if (rh__gcw_gen(w) == RH__GCW_GEN1) st->n_gen1--;
    } else {
        rh__assert((w & ~RH__GCW_KEEP) == 0); /* untracked */
    }
}

/* Untracks o, a tracked container of this layout whose word w carries
 * UNREACHABLE (a collection's unreachable or legacy part) and whose
 * block's mark is bit `bit` of *mw: what rh__gc_linkless_untrack does for
 * such a word (its slot in coll, when the set has an array, tombstoned);
 * its word keeps LINKLESS and FINALIZED only. */
RH__HOT_INLINE void rh__gc_linkless_untrack_set(struct rh__gc_state *st, rh_object *o, uint32_t w, uint64_t *mw,
                                                uint64_t bit) {
    rh__assert((w & RH__GCW_UNREACHABLE) && (*mw & bit));
    if (st->coll) {
        rh__assert(st->coll[w & RH__GCW_LOW] == o);
        st->coll[w & RH__GCW_LOW] = NULL;
    }
    *mw &= ~bit;
    o->rh_gcword = w & RH__GCW_KEEP;
}

#endif /* REFHEAP_GC_LINKLESS_FAST_H */
