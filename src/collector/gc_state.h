/*
 * gc_state.h — the collector's part of the heap record (base/heap.h): the
 * per-object record in front of every container and the per-heap state of
 * the collector. Types only; the functions are in gc_internal.h.
 *
 * The state of one heap's collector. Invariants between collections (of a
 * heap with the linked layout; a heap without list links, gc.linkless, keeps
 * gc_linkless.c's instead, and its lists stay empty):
 *   - every tracked container is on exactly one of the lists gens[0..2] and
 *     permanent (circular, doubly linked through rh__gchead, sentinels here);
 *   - no tracked object carries the COLLECTING or UNREACHABLE flag;
 *   - every tracked object's rh_gcword is 0 (the collector's scratch word:
 *     a full collection relies on it to fuse its first two passes);
 *   - count[0] = containers allocated minus containers freed since the last
 *     collection (never below 0); count[g] (g > 0) = collections of
 *     generation g-1 since the last collection of generation g;
 *   - long_lived_total = survivors of the last full collection,
 *     long_lived_pending = objects moved from generation 1 into 2 since then.
 * During a collection (collecting == true) the collected generations sit on
 * lists local to the collection; see the essay in gc.c.
 */
#ifndef REFHEAP_GC_STATE_H
#define REFHEAP_GC_STATE_H

#include "base/base.h"

/* ---------------------------------------------------------------------------
 * The collector's per-object record.
 *
 * Every object of an RH_TYPE_GC type is allocated with this 16-byte record in
 * front of its header (so the object pointer stays 16-byte aligned):
 *
 *     [ rh__gchead | rh_object header | type's fields ... ]
 *       ^ block      ^ object pointer
 *
 * next == 0 means "not tracked". While tracked, next and prev link the object
 * into its generation's circular list (both point at other rh__gchead records,
 * which are 16-byte aligned), and the low 4 bits of prev hold flags.
 * A new container's prev holds, above the flags, the heap that allocated it
 * (heaps are malloc'ed: 16-byte aligned) until it is first tracked; once it
 * has been tracked, an untracked container's prev holds only flags (0 above
 * them), and rh_gc_track asks the allocator for the heap (rh__gc_heap_hint).
 * The flags:
 * ------------------------------------------------------------------------- */
typedef struct rh__gchead {
    uintptr_t next;
    uintptr_t prev;
} rh__gchead;
/* The allocator finds the block of a pointer RH_ALIGNMENT bytes into a
 * system block (rh__heap_of, debug descriptions): a container's object. */
_Static_assert(sizeof(rh__gchead) == RH_ALIGNMENT, "the record is one alignment unit");

#define RH__GC_FINALIZED ((uintptr_t)1)   /* finalize (or legacy_del on refcount death) ran */
#define RH__GC_COLLECTING ((uintptr_t)2)  /* in the generations being collected now */
#define RH__GC_UNREACHABLE ((uintptr_t)4) /* tentatively unreachable (during a collection) */
#define RH__GC_FLAG3 ((uintptr_t)8)       /* reserved for gc.c */
#define RH__GC_FLAGS_MASK ((uintptr_t)15)

#define RH__AS_GC(o) (((rh__gchead *)(void *)(o)) - 1)
#define RH__FROM_GC(g) ((rh_object *)(void *)(((rh__gchead *)(g)) + 1))
#define RH__IS_GC(o) ((RH_TYPE(o)->flags & RH_TYPE_GC) != 0)

/* Bytes refheap puts in front of an object of type t in a heap with the
 * linked layout (the CPython policy's). */
static inline size_t rh__prefix_size(const rh_type *t) {
    return (t->flags & RH_TYPE_GC) ? sizeof(rh__gchead) : 0;
}

/* ---------------------------------------------------------------------------
 * The layout without list links (docs/linkless.md). A heap whose
 * gc.linkless is set (an incremental-policy heap, unless REFHEAP_LINKLESS=0
 * at its creation: rh__gc_layout_init) gives its containers no
 * rh__gchead: the block starts at the object. Such an object's collector
 * state is its rh_gcword and the allocator's mark bit of its block
 * (memory/marks.h), which means "tracked". The bits of rh_gcword:
 *   LINKLESS   the object has this layout: set at creation, never cleared,
 *              never set under the linked layout (whose tracked objects keep
 *              rh_gcword 0 between collections, and whose collections and
 *              rounds use bits 30 and below only);
 *   FINALIZED  its finalizer (or legacy_del at refcount death) ran;
 *   GEN        (2 bits) which set a tracked object is in: OLD (0), YOUNG
 *              (in the young array, gc.young; LOW is its index there), GEN1
 *              (promoted since the last round started: the incremental
 *              policy's generation 1), FROZEN (gc.freeze()'d). A value of
 *              the field, not a bit: test it with rh__gcw_gen(w) == ...;
 *   MARKS      a collection's marks (COLLECTING 27, UNREACHABLE 26; during
 *              steps 1-3 of the walk-driven set gc_linkless.c borrows both,
 *              on the set's objects only, for "reached");
 *   ROUND      an incremental round's marks (CAND 25, INU 24, REACH 23):
 *              distinct from MARKS so that a young collection running
 *              between two slices of a round neither reads a round's mark
 *              as its own nor writes one (the collection's set, the young
 *              array, and the round's candidates, old, are disjoint);
 *   LOW        YOUNG: the index in the young array; during steps 1-3 of a
 *              collection the count of references from inside the set,
 *              then the index in the collection's array; else 0.
 * Tracked <=> the block is marked; YOUNG <=> marked and young[LOW] == o;
 * old = marked and neither YOUNG nor FROZEN (found by a walk, counted in
 * n_old). The layout is the collector's alone (the allocator's slow word
 * does not carry it): creation reads it from `linked` (below, beside the
 * trigger), ANDed with the type's flags where the fast path computes the
 * prefix. The straight lines of object.c and gc.c tell the layouts apart
 * without a load of their own: death takes only objects whose collector
 * word is 0 (the count is 0 there, so the count and the word are read as
 * one 64-bit word), rh_gc_track only those whose count and word, read as
 * one 64-bit word, are positive (LINKLESS is its sign). The others leave
 * them by a jump; this layout's own straight lines (gc_linkless_fast.h,
 * object.c's dealloc_linkless, gc.c's track_linkless) follow.
 * ------------------------------------------------------------------------- */
#define RH__GCW_LINKLESS 0x80000000u
#define RH__GCW_FINALIZED 0x40000000u
#define RH__GCW_GEN 0x30000000u    /* the GEN field: one of the four below */
#define RH__GCW_OLD 0x00000000u    /* GEN: old                              */
#define RH__GCW_YOUNG 0x10000000u  /* GEN: in the young array               */
#define RH__GCW_GEN1 0x20000000u   /* GEN: promoted since the round began   */
#define RH__GCW_FROZEN 0x30000000u /* GEN: frozen                           */
#define RH__GCW_MARKS 0x0c000000u
#define RH__GCW_COLLECTING 0x08000000u  /* MARKS: in the collection's set      */
#define RH__GCW_UNREACHABLE 0x04000000u /* MARKS: in its unreachable part     */
#define RH__GCW_ROUND 0x03800000u
#define RH__GCW_CAND 0x02000000u  /* ROUND: a candidate of the round        */
#define RH__GCW_INU 0x01000000u   /* ROUND: a suspect (scan phase)          */
#define RH__GCW_REACH 0x00800000u /* ROUND: reached from a reachable object */
#define RH__GCW_LOW 0x007fffffu
/* the sum equals the OR only if no two fields share a bit */
_Static_assert((uint64_t)RH__GCW_LINKLESS + RH__GCW_FINALIZED + RH__GCW_GEN + RH__GCW_MARKS + RH__GCW_ROUND +
                       RH__GCW_LOW ==
                   0xffffffffu,
               "rh_gcword's fields are disjoint and cover the word");
/* COLLECTING without UNREACHABLE, while a collection's tail runs the weak
 * references' callbacks: a weak reference waiting for its callback, out of
 * every generation and counted nowhere (gc_linkless.c,
 * rh__gc_linkless_wait). The tail's objects carry both marks (the garbage)
 * or UNREACHABLE alone (step 5's legacy part); COLLECTING alone means
 * "in the set, not yet reached" only during steps 1-3, when nothing waits,
 * and a collection does not start while another one's tail runs. */
#define RH__GCW_WAITING RH__GCW_COLLECTING
/* Bits an object keeps when it is untracked. */
#define RH__GCW_KEEP (RH__GCW_LINKLESS | RH__GCW_FINALIZED)
/* The young array holds fewer objects than this (LOW's range). */
#define RH__YOUNG_MAX ((size_t)RH__GCW_LOW)
/* The young array's first capacity (in the heap's record). */
#ifndef RH__YOUNG_FIRST
#define RH__YOUNG_FIRST 64
#endif
/* While no automatic collection can come (trigger LONG_MAX: disabled,
 * threshold[0] 0), the young array grows no further than this: full, the
 * young set is promoted unexamined (gc_linkless.c, rh__gc_linkless_track).
 * A build may set both lower: -DRH__YOUNG_FIRST=4 -DRH__YOUNG_IDLE_MAX=4
 * make nearly every soak trial with the collector off promote
 * (docs/linkless.md, "The young array while the collector is off"). */
#ifndef RH__YOUNG_IDLE_MAX
#define RH__YOUNG_IDLE_MAX ((size_t)1 << 16)
#endif

/* Does o (a container) have the layout without links? */
static inline uint32_t rh__gcw_gen(uint32_t w) {
    return w & RH__GCW_GEN;
}
static inline bool rh__gc_linkless_obj(const rh_object *o) {
    return (o->rh_gcword & RH__GCW_LINKLESS) != 0;
}
/* Bytes in front of o (a live object of either layout). */
static inline size_t rh__obj_prefix(const rh_object *o) {
    return ((o->rh_type->flags & RH_TYPE_GC) && !rh__gc_linkless_obj(o)) ? sizeof(rh__gchead) : 0;
}
/* The block (what the allocator returned) of an object. */
static inline void *rh__obj_block(const rh_object *o) {
    return (char *)(void *)o - rh__obj_prefix(o);
}

/* A registered rh_gc_callback. */
typedef struct rh__gc_cbentry {
    rh_gc_callback cb;
    void *data;
} rh__gc_cbentry;

/* The incremental policy's state (owned by gc_incr.c, whose essay states its
 * invariants). The lists are private to the round: their objects are tracked
 * and counted as generation 2 (get_objects and friends settle the round
 * first, see rh__gc_incr_settle). */
typedef enum rh__incr_phase {
    RH__INCR_IDLE = 0, /* no round                                         */
    RH__INCR_MARK,     /* marking the candidates (a -> b; the linked layout
                          only)                                            */
    RH__INCR_COUNT,    /* counting references inside the set (a -> b;
                          without links, the walk that makes the
                          candidates too: a round starts here)             */
    RH__INCR_SCAN,     /* reachable -> gens[2], suspects -> u              */
    RH__INCR_FINISH    /* the final check, a chunk of u per slice         */
} rh__incr_phase;

struct rh__gc_incr {
    _Alignas(16) rh__gchead a;     /* the round's objects still to process   */
    _Alignas(16) rh__gchead b;     /* processed in the current phase         */
    _Alignas(16) rh__gchead u;     /* suspects (scan phase)                  */
    _Alignas(16) rh__gchead doomed; /* confirmed garbage waiting to be cleared */
    rh__incr_phase phase;
    size_t candidates;             /* objects that entered the round         */
    uint64_t budget_ns;            /* time budget of one slice               */
    double credit;                 /* old-generation work owed (objects)     */
    double ratio;                  /* promoted / old size that starts a round */
    double growth;                 /* bytes growth (over bytes_base) that does */
    size_t promoted;               /* objects promoted since the last round  */
    size_t old_size;               /* gens[2] at the last round's start      */
    size_t bytes_base;             /* allocator bytes after the last round   */
    size_t ndoomed;
    size_t found;                  /* garbage found by the round so far      */
    long young_mult;               /* young back-off: trigger = threshold[0] * this */
    long young_skip;               /* young generations still to promote unexamined */
    bool skipped;                  /* one was, since the last young collection */
    rh_gc_incr_stats stats;
    /* A heap without list links (gc.linkless): the round's walk and arrays
     * (gc_incr.c, "Rounds without links"), a raw block of the heap made at
     * the first round, freed when no round and no teardown is left. */
    struct rh__incr_ll *ll;
};

struct rh__gc_state {
    /* List sentinels. 16-byte aligned so that their addresses leave the low
     * four bits of rh__gchead.prev free for the flags. */
    _Alignas(16) rh__gchead gens[RH_GC_GENERATIONS];
    _Alignas(16) rh__gchead permanent; /* gc.freeze()'s generation */

    long threshold[RH_GC_GENERATIONS];
    long count[RH_GC_GENERATIONS];
    /* count[0] above this sends an allocation to rh__gc_alloc_slow: it is
     * threshold[0] while automatic collection may run (enabled, threshold[0]
     * != 0, not finished) and LONG_MAX otherwise, so the allocation fast path
     * tests one word whatever the settings (gc.c keeps it in step). */
    long trigger;
    /* 1 when the containers have the record in front, 0 without list
     * links (!linkless), beside the trigger: a type's flags ANDed with it
     * say whether its objects have the record (RH_TYPE_GC is bit 0); the
     * creation's fast path reads the layout here (objects/object_new.h).
     * A word, so that the AND takes it from memory as it is. */
    size_t linked;
    size_t long_lived_total;
    size_t long_lived_pending;

    bool enabled;    /* automatic collection (gc.enable / gc.disable)       */
    bool collecting; /* a collection (or the last one, at destruction) runs */
    bool finished;   /* rh__gc_fini ran: no more automatic collections      */
    unsigned debug;  /* RH_GC_DEBUG_* flags                                 */

    rh_gc_genstats stats[RH_GC_GENERATIONS];

    rh_object *garbage; /* gc.garbage: a list (h->lists), made on first need */

    rh__gc_cbentry *callbacks; /* gc.callbacks, in registration order       */
    size_t ncallbacks, capcallbacks;

    rh_gc_sink sink; /* NULL: stderr */
    void *sink_data;

    rh_gc_policy policy; /* CPYTHON or INCREMENTAL (never DEFAULT)         */
    /* The layout without list links (docs/linkless.md; gc_linkless.c):
     * set at heap creation, never changed. young[0 .. nyoung) is the young
     * generation (capacity capyoung, a raw block of the heap); n_old the
     * tracked objects neither young nor frozen, n_gen1 those of them with
     * GEN1, n_frozen the frozen ones. */
    bool linkless;
    rh_object **coll; /* the array of the collection in progress: an
                         object carrying its marks has its index there */
    bool coll_walk;   /* the collection in progress has no array (a full
                         collection's walk-driven set): its objects carry
                         its marks and no index */
    rh_object **young;
    size_t nyoung, capyoung;
    size_t n_old, n_gen1, n_frozen;
    rh_gc_pause_hook pause_hook;
    void *pause_data;
    uint64_t user_ns;    /* time in callbacks and finalizers, last collection */
    uint64_t tail_t0;    /* start of the collection, for DEBUG_STATS's "done" */
    struct rh__gc_incr incr; /* RH_GC_POLICY_INCREMENTAL only              */
    /* The layout without links: the young array's first RH__YOUNG_FIRST
     * entries, in the heap's record (young points here until it grows;
     * gc_linkless.c). */
    rh_object *young_first[RH__YOUNG_FIRST];
};

#endif /* REFHEAP_GC_STATE_H */
