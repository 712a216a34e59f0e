/*
 * object.c — objects: allocation, death by reference counting, and the
 * generic operations that go through a type's hooks.
 *
 * Layout. An object is a 16-byte header {refcount, collector word, type}
 * followed by its type's fields; objects of container types (RH_TYPE_GC)
 * have the collector's 16-byte record (rh__gchead) in front, so the block
 * the allocator hands out starts 16 bytes before the object pointer. Every
 * byte of the block is written once, by rh_new_at: the collector's record
 * (untracked: next 0; prev: the heap, see "Hot paths"), the header (count 1, collector word 0, the
 * type) and the fields zeroed (word stores in line for the usual small
 * objects). A new container is untracked (the caller tracks it once its
 * fields are valid), so the collector cannot see a half-built object.
 * A heap without list links (docs/linkless.md: gc.linkless, the incremental
 * policy's default layout) gives its containers no record: the
 * block starts at the object, whose collector word is RH__GCW_LINKLESS
 * from creation on (collector/gc_state.h). The layout is the collector's
 * business: the allocator's slow word does not carry it, so raw blocks and
 * objects that are not containers take the same fast paths in every heap.
 * Creation reads it from the heap (gc.linked, ANDed with the type's
 * flags where the fast path computes the prefix: no instruction added):
 * a container without prefix ends the fast path in a jump to
 * rh__new_ll_tracked or _untracked, which give it the word LINKLESS, count
 * it and, for "create tracked", set the block's mark in the leaf's plane
 * and push it on the young array while it has room
 * (collector/gc_linkless_fast.h; a full array is gc_linkless.c's track);
 * rh__new_object does the same out of line. Its deaths leave the straight
 * line by the word (obj_plain: LINKLESS is the sign of the OR it tests)
 * for dealloc_linkless, this layout's straight line (a plain type, a word
 * without a collection's or a round's marks, a heap whose slow word is 0,
 * the depth under the trashcan's bound: one walk of the tree for the heap
 * and the mark; a young object with destroy, the common case, untracked
 * in line, then destroy and the free as below, the tree walked again
 * after destroy without its tests, the block being known; any other,
 * not frozen, the same in dealloc_ll_rest), or for an object of a
 * collection's garbage dealloc_linkless_other (the same line, the untrack
 * a tombstone in the collection's array), else dealloc_slow, which
 * untracks through gc_linkless.c; free_block_ll pushes a pool block of
 * such a heap as the fast free does, else frees it the slow way.
 *
 * Hot paths (a container's create / track / untrack / destroy / free). A
 * new container is counted in generation 0 inline (one increment, one
 * compare against the collector's trigger word), and its collector record
 * carries its heap until it is first tracked (rh__gc_new_record), which
 * rh_gc_track uses instead of looking the heap up from the address: the
 * hint is in the object's own memory, so it cannot outlive the object or
 * name another heap. "Create tracked" (rh_new_tracked_at, rh__new_fast in
 * objects/object_new.h, which the built-in constructors use in line too) does
 * it all in one straight line without a call: type checks, the pool pop,
 * header, zeroing to the end of the block by a computed jump, the count
 * and the append to generation 0 (an automatic collection due runs first,
 * out of line, with the container still untracked); anything unusual is a
 * tail call to rh__new_object; the fields are zeroed by stores, never by a
 * call, so the path keeps its values in scratch registers. The death of an
 * object of a plain type (neither finalize, legacy_del nor weak
 * references, and a collector word of 0: two tests, see obj_plain) is one
 * straight line: for a type with destroy the
 * depth check (past the bound, the untrack and the deferral are out of
 * line), the untrack (inline) and a jump to dealloc_destroy_gc or _plain
 * (destroy, one test of the "something was deferred" flag, and the free
 * of a block whose start each copy knows without reading the type again),
 * else the free at once (non-containers, in line) or the untrack and the
 * free (containers, rare without destroy: out of line in dealloc_free_gc,
 * so that the others save no register); the rest, and the check of a finalizer
 * that dropped its own temporary reference (its type is not plain), is
 * dealloc_slow. Only the copies with destroy keep a register across a call
 * (the thread's state: the object and its depth are read back from it
 * after destroy, see dealloc_destroy); every other exit is a jump, and the
 * per-thread state is reached without a call (initial-exec TLS). Allocation and free use the allocator's
 * inline fast paths of pools mode (alloc_priv.h, the one allocator header
 * object.c includes, through object_new.h): rh__malloc_fast (the slow word, the size, the head
 * pool's pop) and rh__pool_owner, which walks the address tree once
 * to find both the owning heap and the leaf; a container's
 * free is counted for the collector, then the block is pushed
 * (rh__bcache_push_leaf: its class from the leaf's class map, then on the
 * block cache, else on its pool, whose header's address is computed only
 * then and whose slow path is a jump): no call into the allocator
 * and no second lookup. Debug mode, the fault injector and Valgrind set
 * the allocator's slow word, so they still get every check, out of line.
 * Allocation tracing sets it too; when it is the only bit (tracing alone,
 * RH__SLOW_TRACE), creation takes a traced copy of the fast path
 * (rh__new_slow -> rh__new_pool_object): the same pop, header and collector count
 * plus the trace of the block with its site and type name, in line
 * (memory/trace_fast.h: the site's trace id from the tracer's site cache,
 * written in the pool's side array; a miss calls the trace hook); a death's
 * free hands the fast path's one walk of the tree (owner and leaf)
 * to free_block_slow, which forgets the trace (in line, or the hook),
 * counts the free for the collector and pushes the block. The collector's
 * counts, and so its automatic collections, are the same traced or not.
 *
 * Life. The inline rh_decref calls rh__dealloc when the count goes from 1 to
 * 0. rh__dealloc follows CPython 3.11's subtype_dealloc and
 * PyObject_CallFinalizerFromDealloc:
 *   1. untrack a tracked container, so that a collection triggered from here
 *      on (by a finalizer, a weakref callback) never sees a dying object;
 *   2. finalize (PEP 442): once in the object's life for containers (the
 *      FINALIZED bit of the collector record), at every death for other
 *      types (they have nowhere to keep the bit, as in CPython). It runs
 *      with a temporary reference (count 1) and, for a container that was
 *      tracked, tracked again; if the count is above 1 afterwards the object
 *      was resurrected: the temporary reference is dropped and the object
 *      lives on, still tracked;
 *   3. clear the weak references to it (their callbacks run here);
 *   4. legacy_del (tp_del) runs like a finalizer, at every death; weak
 *      references it made to the object are then cleared without their
 *      callbacks (CPython's subtype_dealloc), so none outlives the object
 *      (steps 2 and 3 need no such pass: what finalize makes, step 3 clears,
 *      and a callback cannot make a weak reference to an object whose count
 *      is 0);
 *   5. destroy drops the references the object owns; the block is freed.
 * (Steps 2-4 are skipped without a test per step when the type has none of
 * them: see "Hot paths" above.)
 * States of an object as rh__dealloc sees it:
 *   LIVE (count >= 1) -> DYING (count 0, in rh__dealloc) -> FINALIZING (count
 *   >= 1 with a temporary reference) -> DYING or LIVE (resurrected) ...
 *   -> DESTROYING (count 0, destroy running) -> FREED.
 * A finalizer that leaves its object with a count of 0 (it dropped the
 * temporary reference) or with another type is a fatal misuse: it is reported
 * before anything is freed twice.
 *
 * Bounded recursion (CPython's "trashcan"). destroy drops references, which
 * may kill children, whose destroy kills grandchildren...: a chain of ten
 * million objects would need ten million nested C frames. A per-thread
 * counter holds the nesting of rh__dealloc; past RH__DEALLOC_MAX_DEPTH an
 * object that could recurse (it has destroy, a finalizer, legacy_del or
 * weak references) is not destroyed but put on a per-thread deferred list,
 * and the outermost rh__dealloc drains that list before returning, each
 * deferred object starting again at depth 1. The C stack therefore never
 * holds more than RH__DEALLOC_MAX_DEPTH nested deaths, whatever the shape of
 * the garbage. Deferred containers are linked through their collector record
 * (they are untracked, so it is free: next stays 0, the link goes in the
 * upper bits of prev, the flag bits are kept); containers without list
 * links wait on two lists of their own (deferred_ll, same order), linked
 * through their header's first word as below, their FINALIZED bit in the
 * link's bit 0, the collector word rebuilt when popped; other deferred
 * objects are linked through the first word of their own header, their count and
 * collector word (the object is dead: its count is 0 and a non-container's
 * collector word is unused), both set back to 0 when it is popped. Deferring
 * allocates nothing, so it works under persistent out-of-memory too, and the
 * bound holds whatever the allocators do. A weak reference is unlinked from
 * its referent's list when it is deferred (CPython frees a weakref at once):
 * user code run by the drain never finds a dead one there (rh_weakref_new
 * would hand it out again). The weak references *to* a deferred object stay
 * linked until the drain reaches it (their callbacks run then, in order) and
 * read as dead meanwhile: a deferred container's count is 0, and a deferred
 * non-container, whose count field holds the link, is marked in its weaklist
 * slot (weak_internal.h). (While deferred, a non-container's count field
 * holds the link: an incref or decref of it, a use after its death, goes
 * unreported; debug mode still names the object once freed.)
 *
 * Reference-count misuse. The inline paths call rh__refcnt_error for an
 * incref of an object whose count is 0 and for a decref of such an object.
 * In debug mode the allocator keeps freed blocks poisoned with their count
 * set to 0, and describes a block (type, allocation site, freed or not), so
 * the message names all three; in other modes the message names the type
 * only when the object is known to be alive (it is being destroyed in this
 * thread), because the memory of a freed object cannot be trusted.
 *
 * Immortals (RH_IMMORTAL count) are never written by incref/decref; the static
 * ones (None, True, False, small ints, the empty str and bytes) belong to no
 * heap. rh_make_immortal on a heap object: see the comment there.
 */
#include "objects/object_new.h" /* the fast path of creation, in line */
#include "weak/weak_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * The static immortal singletons.
 * ------------------------------------------------------------------------- */
rh_object rh__none_obj = {RH_IMMORTAL, 0, &rh_none_type};
rh_object rh__true_obj = {RH_IMMORTAL, 0, &rh_bool_type};
rh_object rh__false_obj = {RH_IMMORTAL, 0, &rh_bool_type};

/* ---------------------------------------------------------------------------
 * Per-thread deallocation state.
 * ------------------------------------------------------------------------- */

/* How many deaths may nest on the C stack before further ones are deferred.
 * Each level costs the frames of rh__dealloc and the type's destroy (a few
 * hundred bytes; a finalizer or weakref callback adds its own), so 50 levels
 * stay within a few tens of KiB even under AddressSanitizer, far inside a
 * 256 KiB thread stack; and garbage less deep than 50 (nearly all of it) is
 * freed without touching the deferred list. CPython uses the same figure
 * (PyTrash_UNWIND_LEVEL). */
#define RH__DEALLOC_MAX_DEPTH 50

typedef struct rh__dealloc_tls {
    unsigned depth; /* nested rh__dealloc bodies running in this thread */
    /* Objects whose body is running (DYING, FINALIZING or DESTROYING), one
     * per depth level (depth never exceeds RH__DEALLOC_MAX_DEPTH; levels
     * beyond the array would not be recorded). Lets the misuse report name
     * the type of an object known to be alive. */
    rh_object *active[RH__DEALLOC_MAX_DEPTH + 1];
    /* The object whose finalizer (or legacy_del) runs innermost now. */
    rh_object *finalizing;
    /* Deferred containers: one list of those that were tracked when they
     * died (re-tracked around their finalizer), one of the others. Linked
     * through rh__gchead.prev; NULL-terminated. */
    rh__gchead *deferred_gc[2];
    /* The same two lists for containers of the layout without links
     * (docs/linkless.md), which have no record: linked through the first
     * word of their header, as the non-containers below, with their
     * FINALIZED bit in the link's bit 0 (see defer). */
    rh_object *deferred_ll[2];
    /* Deferred non-containers: a LIFO list linked through the first word of
     * each object's header (see defer); NULL-terminated. */
    rh_object *deferred;
    /* Something was deferred since the last drain: the one word the
     * outermost death tests before returning. */
    bool pending;
} rh__dealloc_tls;

_Static_assert(offsetof(rh_object, rh_type) == sizeof(uintptr_t),
               "the count and the collector word together hold a deferred object's link");
/* A deferred linkless container's FINALIZED bit, in its link (objects are
 * RH_ALIGNMENT-aligned). */
#define RH__LL_LINK_FINALIZED ((uintptr_t)1)

/* The initial-exec model: the state is reached at a fixed offset from the
 * thread pointer, with no call to __tls_get_addr, which the default model
 * of position-independent code needs (the compiler must then assume a call
 * on every death, and keep its registers in saved ones). The cost is that
 * the shared library takes these few hundred bytes from the static TLS
 * block, which glibc sizes with room for them when the library is loaded
 * by dlopen. */
#if defined(__GNUC__) || defined(__clang__)
#define RH__TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define RH__TLS_FAST
#endif
static _Thread_local rh__dealloc_tls tls RH__TLS_FAST;

/* The next object of a list linked through the first word of the
 * header (deferred non-containers and linkless containers). */
static inline rh_object *header_link(const rh_object *d) {
    uintptr_t link;
    memcpy(&link, d, sizeof link);
    return (rh_object *)(link & ~(uintptr_t)RH__LL_LINK_FINALIZED);
}

bool rh__dealloc_waiting(const rh_object *o) {
    for (int k = 0; k < 2; k++)
        for (rh__gchead *g = tls.deferred_gc[k]; g; g = (rh__gchead *)(g->prev & ~RH__GC_FLAGS_MASK))
            if (RH__FROM_GC(g) == o) return true;
    for (int k = 0; k < 2; k++)
        for (rh_object *d = tls.deferred_ll[k]; d; d = header_link(d))
            if (d == o) return true;
    for (rh_object *d = tls.deferred; d;) {
        if (d == o) return true;
        uintptr_t link;
        memcpy(&link, d, sizeof link);
        d = (rh_object *)link;
    }
    return false;
}

static bool is_active(const rh_object *o) {
    unsigned n = tls.depth < RH__DEALLOC_MAX_DEPTH + 1 ? tls.depth : RH__DEALLOC_MAX_DEPTH + 1;
    for (unsigned i = 0; i < n; i++)
        if (tls.active[i] == o) return true;
    return false;
}

/* Is the container o tracked (either layout)? */
static inline bool gc_tracked(const rh_object *o) {
    return rh__gc_tracked_any(o);
}

/* Sets the container o's FINALIZED bit (either layout); returns whether it
 * was set before. */
static bool gc_set_finalized(rh_object *o) {
    if (rh__gc_linkless_obj(o)) {
        bool was = (o->rh_gcword & RH__GCW_FINALIZED) != 0;
        o->rh_gcword |= RH__GCW_FINALIZED;
        return was;
    }
    rh__gchead *g = RH__AS_GC(o);
    bool was = (g->prev & RH__GC_FINALIZED) != 0;
    g->prev |= RH__GC_FINALIZED;
    return was;
}

/* ---------------------------------------------------------------------------
 * Allocation.
 * ------------------------------------------------------------------------- */

/* A type descriptor refheap cannot use sets RH_ETYPE (checked at every
 * allocation: a handful of predictable branches). */
static bool type_ok(rh_heap *h, const rh_type *t) {
    if (RH_UNLIKELY(t->basicsize < sizeof(rh_object))) {
        rh_err_set(h, RH_ETYPE, "type '%s': basicsize %zu is smaller than the object header",
                   t->name ? t->name : "?", t->basicsize);
        return false;
    }
    if (RH_UNLIKELY((t->flags & RH_TYPE_GC) && !t->traverse)) {
        rh_err_set(h, RH_ETYPE, "type '%s' is a container (RH_TYPE_GC) without traverse",
                   t->name ? t->name : "?");
        return false;
    }
    if (RH_UNLIKELY(rh__weaklist_offset_bad(t))) {
        rh_err_set(h, RH_ETYPE, "type '%s': weaklist_offset %zu is not an aligned field of the object",
                   t->name ? t->name : "?", t->weaklist_offset);
        return false;
    }
    return true;
}

/* Zeroes n bytes at p. Small multiples of 8 (the fields of most objects)
 * are cleared by word stores in line: a call to memset costs more than the
 * stores, and its wide stores would be read back at once, piecewise, by the
 * header writes and the track that follow. */
#define SMALL_ZERO_MAX 64
static inline void zero_fields(char *p, size_t n) {
    if (RH_LIKELY(n <= SMALL_ZERO_MAX && n % 8 == 0)) {
        for (size_t i = 0; i < SMALL_ZERO_MAX / 8; i++) {
            if (i * 8 >= n) break;
            memset(p + i * 8, 0, 8);
        }
        return;
    }
    memset(p, 0, n);
}

/* Every allocation the fast path (object_new.h) does not serve: debug mode, the
 * fault injector, Valgrind (the allocator's slow word), malloc mode, large
 * objects, variable-size objects and invalid types. `track`: the "create
 * tracked" variant (rh_new_tracked_at). */
__attribute__((noinline)) rh_object *rh__new_object(rh_heap *h, const rh_type *t, const char *file, int line,
                                                    size_t nitems, bool track) {
    if (!type_ok(h, t)) return NULL;
    /* a container: counted for the collector; with the linked layout, the
     * collector's record in front (docs/linkless.md: not in a heap of the
     * layout without links) */
    bool gc = (t->flags & RH_TYPE_GC) != 0;
    size_t prefix = h->gc.linkless ? 0 : rh__prefix_size(t);
    size_t n;
    if (RH_UNLIKELY(__builtin_add_overflow(prefix, t->basicsize, &n))) {
        rh_err_set(h, RH_EOVERFLOW, "size of a '%s' object (basicsize %zu) overflows",
                   t->name ? t->name : "?", t->basicsize);
        return NULL;
    }
    if (nitems) {
        size_t items;
        if (RH_UNLIKELY(__builtin_mul_overflow(nitems, t->itemsize, &items) ||
                        __builtin_add_overflow(n, items, &n))) {
            rh_err_set(h, RH_EOVERFLOW, "size of a '%s' object with %zu items overflows",
                       t->name, nitems);
            return NULL;
        }
    }
    void *block;
    bool typed = false; /* the trace hook had the type name with the block */
    if (h->alloc.slow == RH__SLOW_TRACE && n - 1 < RH_SMALL_MAX) {
        /* tracing alone: the fast path's pop, then the trace with the type
         * (in line if the tracer's caches know the site and the pool, else
         * one hook call) */
        unsigned c = rh__size_class(n);
        block = rh__pool_pop(h, c, false);
        if (RH_UNLIKELY(!block)) return rh__alloc_fast_failed(h);
        (void)rh__trace_enter(h, block, c, file, line, t->name);
        typed = true;
    } else {
        block = rh__malloc_fast(h, n, file, line); /* rh__obj_alloc, in line */
        if (RH_UNLIKELY(!block)) return NULL; /* the allocator set RH_ENOMEM */
    }
    /* Every byte is written once: the collector's record (untracked, with
     * the heap hint), the header (count 1, collector word 0, or LINKLESS
     * for a container without record, the type), and the fields zeroed. */
    rh_object *o = (rh_object *)(void *)((char *)block + prefix);
    if (prefix) *RH__AS_GC(o) = rh__gc_new_record(h);
    o->rh_refcnt = 1;
    o->rh_gcword = (gc && !prefix) ? RH__GCW_LINKLESS : 0;
    o->rh_type = t;
    zero_fields((char *)(o + 1), n - prefix - sizeof(rh_object));
    /* The new container is complete and untracked: an automatic collection
     * started here cannot see it. Debug mode names the object only after
     * that collection, so the verifier's walk of the untracked containers
     * (gcapi.c) does not reach an object its constructor has not filled. */
    if (gc && rh__gc_count_alloc(&h->gc)) rh__gc_alloc_slow(h);
    if (RH_UNLIKELY(h->alloc.slow & (RH__SLOW_MODE | RH__SLOW_TRACE))) {
        if (h->mode == RH_MODE_DEBUG) rh__debug_note_object(h, block, o);
        if ((h->alloc.slow & RH__SLOW_TRACE) && !typed) h->alloc.trace->hooks->note_type(h, block, t->name);
    }
    /* "Create tracked": linked only now, after that collection. */
    if (gc && track) {
        if (prefix) rh__gc_link_new(&h->gc, RH__AS_GC(o));
        else rh__gc_linkless_track(h, o);
    }
    return o;
}

/* A new container whose allocation makes an automatic collection due: the
 * collection runs with the container untracked (its record carries the
 * heap hint), then it is linked if asked. Out of line, so that the fast
 * path (object_new.h) makes no call that needs its registers afterwards. */
__attribute__((noinline)) rh_object *rh__new_collect(rh_heap *h, rh_object *o, bool track) {
    rh__gchead *g = RH__AS_GC(o);
    *g = rh__gc_new_record(h);
    rh__gc_alloc_slow(h);
    if (track) rh__gc_link_new(&h->gc, g);
    return o;
}
__attribute__((noinline)) rh_object *rh__new_collect_linkless(rh_heap *h, rh_object *o, bool track) {
    rh__gc_alloc_slow(h);
    if (track) rh__gc_linkless_track(h, o);
    return o;
}
__attribute__((noinline)) rh_object *rh__new_track_linkless(rh_heap *h, rh_object *o) {
    rh__gc_linkless_track(h, o);
    return o;
}
__attribute__((noinline)) rh_object *rh__new_ll_untracked(rh_heap *h, rh_object *o) {
    o->rh_gcword = RH__GCW_LINKLESS;
    if (RH_UNLIKELY(rh__gc_count_alloc(&h->gc))) return rh__new_collect_linkless(h, o, false);
    return o;
}
/* The block is o, just popped from h's pools: its leaf is there, and
 * needs neither a range nor an owner test. */
__attribute__((noinline)) rh_object *rh__new_ll_tracked(rh_heap *h, rh_object *o) {
    /* the word (0 from the header's store) is written once, by the push,
     * or LINKLESS before the exits */
    if (RH_UNLIKELY(rh__gc_count_alloc(&h->gc))) {
        o->rh_gcword = RH__GCW_LINKLESS;
        return rh__new_collect_linkless(h, o, true);
    }
    uint64_t bit, *mw = rh__block_mark_word(rh__radix_leaf_known((uintptr_t)o), o, &bit);
    if (RH_UNLIKELY(!rh__gc_linkless_push(&h->gc, o, RH__GCW_LINKLESS, mw, bit))) {
        o->rh_gcword = RH__GCW_LINKLESS;
        return rh__new_track_linkless(h, o);
    }
    return o;
}

/* Everything rh__new_fast does not serve: with tracing alone (pools mode,
 * no other slow bit) the traced copy of the fast path; in a pools-mode
 * heap of the layout without links (no other slow bit) that layout's copy;
 * else rh__new_object. */
/* The two copies of the fast path, each a function of its own, so that
 * rh__new_slow is a test and a jump (the traced copy's calls would give
 * the other one a stack frame). */
static __attribute__((noinline)) rh_object *new_traced(rh_heap *h, const rh_type *t, bool track, const char *file,
                                                      int line) {
    return rh__new_pool_object(h, t, track, file, line, true, false);
}
__attribute__((noinline)) rh_object *rh__new_slow(rh_heap *h, const rh_type *t, bool track, const char *file,
                                                 int line) {
    if (h->alloc.slow == RH__SLOW_TRACE) return new_traced(h, t, track, file, line);
    return rh__new_object(h, t, file, line, 0, track);
}

rh_object *rh_new_at(rh_heap *h, const rh_type *type, const char *file, int line) {
    return rh__new_fast(h, type, false, file, line);
}

rh_object *rh_new_tracked_at(rh_heap *h, const rh_type *type, const char *file, int line) {
    return rh__new_fast(h, type, true, file, line);
}

rh_object *rh_new_var_at(rh_heap *h, const rh_type *type, size_t nitems, const char *file, int line) {
    return rh__new_object(h, type, file, line, nitems, false);
}

rh_object *rh_new_var_tracked_at(rh_heap *h, const rh_type *type, size_t nitems, const char *file, int line) {
    return rh__new_object(h, type, file, line, nitems, true);
}

/* ---------------------------------------------------------------------------
 * Death.
 * ------------------------------------------------------------------------- */

/* A block the fast free below does not take (debug mode, tools, a system
 * block...): freed the slow way, then counted for the collector. h, leaf:
 * what the fast path's walk of the tree found (h NULL: not a pool block),
 * from which the pool header is computed here.
 * A pool block of a heap that is tracing alone (pools mode, slow word
 * RH__SLOW_TRACE) takes the fast path's steps without walking again: the
 * trace is forgotten (in line, or by the hook), the collector counts it,
 * the push. */
static __attribute__((noinline)) void free_block_slow(rh_heap *h, void *block, uintptr_t leaf, bool gc) {
    if (h && h->alloc.slow == RH__SLOW_TRACE) {
        rh__pool *pool = rh__leaf_pool(leaf, block);
        if (!rh__trace_free_try(h, block, pool->cls)) rh__trace_free_hook(h, block, pool->cls);
        if (gc) rh__gc_count_free(&h->gc);
        rh__pool_push(h, pool, block, false);
        return;
    }
    h = rh__obj_free_slow(h, block, gc ? sizeof(rh__gchead) : 0);
    if (gc) rh__gc_count_free(&h->gc);
}

/* gc: the object is a container (the caller knows its type from before
 * destroy ran, so the type is not loaded again). A container's free is
 * counted for the collector before its block is pushed, so that the push,
 * which may leave for the pools' slow path, is the last thing done: every
 * exit is a tail call and the path keeps no register across a call. */
static inline void free_block_gc(rh_object *o, bool gc) {
    void *block = gc ? (void *)RH__AS_GC(o) : (void *)o;
    uintptr_t leaf;
    rh_heap *h = rh__pool_owner(block, &leaf); /* the slow word tested here */
    /* two calls, so that h needs no copy into a register both share */
    if (RH_UNLIKELY(h == NULL)) {
        free_block_slow(NULL, block, leaf, gc);
        return;
    }
    if (RH_UNLIKELY(!rh__heap_fast(h))) {
        free_block_slow(h, block, leaf, gc);
        return;
    }
    if (gc) rh__gc_count_free(&h->gc);
    rh__bcache_push_leaf(h, leaf, block);
}
/* The free of a container of the layout without links, whose block
 * starts at the object: a pool block of a heap whose slow word is 0 takes
 * the push of the fast path, after the collector's count; else the slow
 * free. */
static __attribute__((noinline)) void free_block_ll_slow(rh_heap *h, rh_object *o) {
    h = rh__obj_free_slow(h, o, 0);
    rh__gc_count_free(&h->gc);
}
/* The same after destroy, for a block that was a pool block of a heap
 * before it (dealloc_linkless walked the tree for it): the tree walked
 * again without its tests, the slow word tested again (destroy may have
 * started tracing or armed the fault injector). */
static inline void free_block_ll_known(rh_object *o) {
    uintptr_t leaf;
    rh_heap *h = rh__pool_owner_known(o, &leaf);
    rh__assert(h != NULL && h == rh__heap_of(o));
    if (RH_UNLIKELY(!rh__heap_fast(h))) {
        free_block_ll_slow(h, o);
        return;
    }
    rh__gc_count_free(&h->gc);
    rh__bcache_push_leaf(h, leaf, o);
}
static inline void free_block_ll(rh_object *o) {
    uintptr_t leaf;
    rh_heap *h = rh__pool_owner(o, &leaf);
    if (RH_UNLIKELY(h == NULL || !rh__heap_fast(h))) {
        free_block_ll_slow(h, o);
        return;
    }
    rh__gc_count_free(&h->gc);
    rh__bcache_push_leaf(h, leaf, o);
}
/* Where an object's block starts and whether its free is counted for the
 * collector: a non-container (PLAIN), a container of the linked layout
 * (GC: the record in front) or of the layout without links (LL). */
enum { FREE_PLAIN = 0, FREE_GC = 1, FREE_LL = 2 };
static inline void free_block_kind(rh_object *o, unsigned kind) {
    if (kind == FREE_LL) free_block_ll_known(o);
    else free_block_gc(o, kind == FREE_GC);
}
/* The free of any object (the slow paths of death). */
static inline void free_block(rh_object *o) {
    if (RH_UNLIKELY(rh__gc_linkless_obj(o))) {
        free_block_ll(o);
        return;
    }
    free_block_gc(o, (o->rh_type->flags & RH_TYPE_GC) != 0);
}

/* Runs fn (finalize or legacy_del) with a temporary reference. Returns true
 * if the object was resurrected (it lives on; the caller must stop). */
static bool run_finalizer(rh_object *o, void (*fn)(rh_object *), bool tracked) {
    const rh_type *t = o->rh_type;
    o->rh_refcnt = 1;
    if (tracked) rh_gc_track(o);
    rh_object *outer = tls.finalizing;
    tls.finalizing = o;
    fn(o);
    tls.finalizing = outer;
    if (RH_UNLIKELY(o->rh_type != t))
        rh__fatal("finalizer left object in a broken state: its type changed from '%s' "
                  "(object at %p allocated at %s)", t->name, (void *)o, rh_object_site(o));
    if (RH_UNLIKELY(o->rh_refcnt == 0))
        rh__fatal("finalizer left object in a broken state: reference count 0 "
                  "(object of type '%s' at %p allocated at %s)", t->name, (void *)o, rh_object_site(o));
    if (o->rh_refcnt != 1) {
        /* Resurrected: somebody stored a new reference. Drop ours; the object
         * stays tracked if it was (it was re-tracked above). An object the
         * finalizer made immortal keeps its immortal count. */
        if (o->rh_refcnt != RH_IMMORTAL) o->rh_refcnt--;
        return true;
    }
    o->rh_refcnt = 0;
    /* Untracked again before the object goes on dying (also if the
     * finalizer tracked a container that was not tracked), without the
     * marks a round may have given it meanwhile (see obj_plain). */
    if ((t->flags & RH_TYPE_GC) && gc_tracked(o)) rh_gc_untrack(o);
    if ((t->flags & RH_TYPE_GC) && !rh__gc_linkless_obj(o)) o->rh_gcword = 0;
    return false;
}

/* Steps 2-5 of the death of an object that may recurse. Runs at depth >= 1;
 * `tracked` tells whether the container was tracked when it began to die. */
static void dealloc_body(rh_object *o, bool tracked) {
    const rh_type *t = o->rh_type;
    bool gc = (t->flags & RH_TYPE_GC) != 0;
    if (tls.depth <= RH__DEALLOC_MAX_DEPTH + 1) tls.active[tls.depth - 1] = o;

    if (t->finalize) {
        bool run = true;
        if (gc && gc_set_finalized(o)) run = false;
        if (run && run_finalizer(o, t->finalize, tracked)) goto out;
    }
    if ((t->flags & RH_TYPE_WEAKREFABLE) && *rh__weaklist_of(o) != NULL) {
        /* Callbacks run here and may start a collection: the object is
         * untracked (count 0), so the collector cannot see it. */
        rh__weakref_clear_all(o);
    }
    if (t->legacy_del) {
        /* Runs at every death (not gated by FINALIZED), but marks it, so
         * gc.is_finalized() is true for an object it resurrected. */
        if (gc) (void)gc_set_finalized(o);
        if (run_finalizer(o, t->legacy_del, tracked)) goto out;
        if (t->flags & RH_TYPE_WEAKREFABLE) rh__weakref_clear_only(o);
    }
    if (t->destroy) t->destroy(o);
    free_block(o);
out:
    if (tls.depth <= RH__DEALLOC_MAX_DEPTH + 1) tls.active[tls.depth - 1] = NULL;
}

static void defer(rh_object *o, bool tracked) {
    tls.pending = true;
    /* A dead weakref must not stay findable from its referent's list while
     * it waits (user code run by the drain would get it back from
     * rh_weakref_new, list or count with a count of 0): unlink it now, as
     * CPython's weakref dealloc does at once. Unlinking allocates nothing
     * and kills nothing; its destroy later finds it cleared. */
    if (rh__is_weakref(o)) rh__weakref_clear((rh__weakref *)o);
    if ((o->rh_type->flags & RH_TYPE_GC) && rh__gc_linkless_obj(o)) {
        /* no record: the link in the header (count and collector word),
         * FINALIZED in its bit 0 (LINKLESS is implied by the list); the
         * weak references learn it is gone from its weaklist slot, as for
         * a non-container */
        uintptr_t link = (uintptr_t)tls.deferred_ll[tracked] |
                         ((o->rh_gcword & RH__GCW_FINALIZED) ? RH__LL_LINK_FINALIZED : 0);
        memcpy(o, &link, sizeof link);
        tls.deferred_ll[tracked] = o;
        if (o->rh_type->flags & RH_TYPE_WEAKREFABLE) rh__weaklist_set_waiting(o, true);
        return;
    }
    if (o->rh_type->flags & RH_TYPE_GC) {
        rh__gchead *g = RH__AS_GC(o);
        /* next stays 0 (untracked); the link uses the bits above the flags. */
        g->prev = (uintptr_t)tls.deferred_gc[tracked] | (g->prev & RH__GC_FLAGS_MASK);
        tls.deferred_gc[tracked] = g;
        return;
    }
    /* The link overwrites the count (0) and the collector word (unused by
     * a non-container); pop_deferred sets both back to 0. */
    uintptr_t link = (uintptr_t)tls.deferred;
    memcpy(o, &link, sizeof link);
    tls.deferred = o;
    /* Its count no longer reads 0: its weak references learn that it is
     * gone from its weaklist slot (weak_internal.h). */
    if (o->rh_type->flags & RH_TYPE_WEAKREFABLE) rh__weaklist_set_waiting(o, true);
}

/* Pops one deferred object; false when the lists are empty. */
static bool pop_deferred(rh_object **o, bool *tracked) {
    for (int k = 1; k >= 0; k--) {
        rh__gchead *g = tls.deferred_gc[k];
        if (g) {
            tls.deferred_gc[k] = (rh__gchead *)(g->prev & ~RH__GC_FLAGS_MASK);
            g->prev &= RH__GC_FLAGS_MASK;
            *o = RH__FROM_GC(g);
            *tracked = k != 0;
            return true;
        }
        rh_object *d = tls.deferred_ll[k];
        if (d) {
            uintptr_t link;
            memcpy(&link, d, sizeof link);
            tls.deferred_ll[k] = (rh_object *)(link & ~RH__LL_LINK_FINALIZED);
            d->rh_refcnt = 0;
            d->rh_gcword = RH__GCW_LINKLESS | ((link & RH__LL_LINK_FINALIZED) ? RH__GCW_FINALIZED : 0);
            if (d->rh_type->flags & RH_TYPE_WEAKREFABLE) rh__weaklist_set_waiting(d, false);
            *o = d;
            *tracked = k != 0;
            return true;
        }
    }
    if (tls.deferred) {
        rh_object *d = tls.deferred;
        uintptr_t link;
        memcpy(&link, d, sizeof link);
        tls.deferred = (rh_object *)link;
        d->rh_refcnt = 0;
        d->rh_gcword = 0;
        if (d->rh_type->flags & RH_TYPE_WEAKREFABLE) rh__weaklist_set_waiting(d, false);
        *o = d;
        *tracked = false;
        return true;
    }
    return false;
}

static void drain_deferred(void) {
    rh_object *o;
    bool tracked;
    while (pop_deferred(&o, &tracked)) {
        tls.depth = 1;
        dealloc_body(o, tracked);
        tls.depth = 0;
    }
    tls.pending = false;
}

/* The death of an object that is not plain, or of any object whose
 * finalizer runs right now (a finalizer that dropped its own temporary
 * reference is reported here). */
static __attribute__((noinline)) void dealloc_slow(rh_object *o) {
    if (RH_UNLIKELY(o == tls.finalizing))
        rh__fatal("finalizer left object in a broken state: it dropped its own temporary "
                  "reference (object of type '%s' at %p allocated at %s)",
                  o->rh_type->name, (void *)o, rh_object_site(o));
    const rh_type *t = o->rh_type;
    bool tracked = false;
    if ((t->flags & RH_TYPE_GC) && rh__gc_linkless_obj(o)) {
        tracked = rh__gc_linkless_untrack_if(rh__heap_of(o), o);
    } else if (t->flags & RH_TYPE_GC) {
        rh__gchead *g = RH__AS_GC(o);
        tracked = g->next != 0;
        if (tracked) rh__gc_untrack_node(g);
        /* round marks left by an untrack (see obj_plain) go: a container of
         * the linked layout whose count is 0 has collector word 0, which
         * rh_gc_track's straight line relies on (gc.c) */
        o->rh_gcword = 0;
    }
    if (tls.depth >= RH__DEALLOC_MAX_DEPTH) {
        defer(o, tracked);
        return;
    }
    tls.depth++;
    dealloc_body(o, tracked);
    if (--tls.depth == 0 && tls.pending) drain_deferred();
}

/* A plain object: its type has no finalize, no legacy_del, no weak
 * references, and its collector word is 0 (not a container of the layout
 * without links, docs/linkless.md, whose word has LINKLESS; nor one left
 * with an incremental round's marks by an untrack in the middle of the
 * round); it dies in the straight line of rh__dealloc. One test of the OR
 * of two adjacent pointers (on the line the type pointer was just loaded
 * for) and the header's count and collector word read as one 64-bit word
 * (the count is 0 here: the decref just made it so), one OR with a
 * memory operand; the flag is tested apart, on the register the flag word
 * is loaded in anyway (folding it into the OR costs one instruction
 * more). */
static inline bool obj_plain(const rh_object *o, const rh_type *t, uint64_t *x) {
    uint64_t hw;
    memcpy(&hw, &o->rh_refcnt, sizeof hw);
    *x = (uint64_t)(uintptr_t)t->finalize | (uint64_t)(uintptr_t)t->legacy_del | hw;
    return *x == 0 && !(t->flags & RH_TYPE_WEAKREFABLE);
}

/* The outermost death of the straight line, when something was deferred:
 * the drain, then o's block. Out of line: dealloc_destroy keeps
 * nothing but the thread's state across a call. */
static __attribute__((noinline)) void drain_then_free(rh_object *o, unsigned kind) {
    drain_deferred();
    free_block_kind(o, kind);
}

/* The death of a plain object whose type has destroy, at depth d < the
 * trashcan's bound (rh__dealloc checked it): the depth is counted around
 * the call (the only user code of the straight line, and the only way
 * this death can nest another). Out of line, so that only here a register
 * is kept across a call (the thread's state) and the
 * deaths without destroy stay a leaf; one copy for containers and one for
 * the others, so that neither reads the type again after destroy to know
 * where the block starts (kind: FREE_PLAIN, FREE_GC or FREE_LL). d is a size_t: the caller's 32-bit load of the
 * depth leaves it zero-extended, which an unsigned parameter would make
 * the callee do again before indexing active[]. */
RH__HOT_INLINE void dealloc_destroy(rh_object *o, void (*destroy)(rh_object *), size_t d, unsigned kind) {
    tls.depth = (unsigned)d + 1;
    tls.active[d] = o; /* is_active reads levels below depth only: no clearing */
    destroy(o);
    /* The deaths destroy caused have restored the depth to d + 1, and
     * wrote only the levels above d of active[] (a nested death records
     * itself at its own level; the drain runs at depth 0 only): so d and
     * o are read back from the thread's state rather than kept across the
     * call in saved registers. The deferred objects are
     * drained before o's block is freed: nothing refers to o now. */
    d = tls.depth - 1;
    o = tls.active[d];
    tls.depth = (unsigned)d;
    if (RH_UNLIKELY(tls.pending) && d == 0) {
        drain_then_free(o, kind);
        return;
    }
    free_block_kind(o, kind);
}
static __attribute__((noinline)) void dealloc_destroy_gc(rh_object *o, void (*destroy)(rh_object *), size_t d) {
    dealloc_destroy(o, destroy, d, FREE_GC);
}
static __attribute__((noinline)) void dealloc_destroy_plain(rh_object *o, void (*destroy)(rh_object *), size_t d) {
    dealloc_destroy(o, destroy, d, FREE_PLAIN);
}
/* The destroy and free of dealloc_linkless's straight line, the object
 * untracked (the tree walked again by the free after destroy). */
static __attribute__((noinline)) void dealloc_destroy_ll(rh_object *o, void (*destroy)(rh_object *), size_t d) {
    dealloc_destroy(o, destroy, d, FREE_LL);
}
/* dealloc_linkless's straight line for an object that is not young or
 * whose type has no destroy (h, leaf: the walk's): the untrack of any
 * generation, then destroy and the free, or the free at once. */
static __attribute__((noinline)) void dealloc_ll_rest(rh_object *o, rh_heap *h, uintptr_t leaf) {
    if (RH_UNLIKELY(rh__gcw_gen(o->rh_gcword) == RH__GCW_FROZEN)) {
        dealloc_slow(o);
        return;
    }
    uint64_t bit, *mw = rh__block_mark_word(leaf, o, &bit);
    rh__gc_linkless_untrack_plain(&h->gc, o, o->rh_gcword, mw, bit);
    void (*destroy)(rh_object *) = o->rh_type->destroy;
    if (destroy) {
        dealloc_destroy(o, destroy, tls.depth, FREE_LL);
        return;
    }
    rh__gc_count_free(&h->gc);
    rh__bcache_push_leaf(h, leaf, o);
}

/* Untracks a dying container if it is tracked. */
static inline void untrack_dying(rh_object *o) {
    rh__gchead *g = RH__AS_GC(o);
    if (g->next != 0) rh__gc_untrack_node(g);
}

/* The death of a plain container without destroy (rare: a container
 * usually owns references): the untrack and the free. Out of line, so that
 * its registers are not saved on the path of the other deaths without
 * destroy, which keep everything in scratch registers. */
static __attribute__((noinline)) void dealloc_free_gc(rh_object *o) {
    untrack_dying(o);
    free_block_gc(o, true);
}

/* A plain object with destroy whose death would nest past the trashcan's
 * bound: untracked if it was tracked, then deferred (it remembers which). */
static __attribute__((noinline)) void dealloc_defer_plain(rh_object *o) {
    bool tracked = false;
    if (o->rh_type->flags & RH_TYPE_GC) {
        tracked = gc_tracked(o);
        if (tracked) rh__gc_untrack_node(RH__AS_GC(o));
    }
    defer(o, tracked);
}

/* The death dealloc_linkless's straight line does not take. One case has
 * a line of its own: the object is in the unreachable (or legacy) part of
 * a collection's set (its word carries UNREACHABLE: a collection's tail is
 * freeing it), its type and heap otherwise as the straight line wants them
 * (no finalizers, no weak reference to it: a type with weak references
 * whose list is empty dies as dealloc_body would kill it, which clears
 * only a list that is not; a pool block of a heap whose slow word is 0,
 * the trashcan's bound not reached with destroy): one walk of
 * the tree, the untrack in line (collector/gc_linkless_fast.h: its slot
 * in the collection's array tombstoned, the mark cleared), then destroy
 * and the free as the straight line's. That is how every object of a
 * full collection's garbage dies; dealloc_slow would look its heap and
 * mark up three times more (rh__gc_linkless_untrack_if) before the
 * free's own walk. Anything else is dealloc_slow's.
 *
 * set_untrack does the checks and the untrack (false when o is not such
 * an object: nothing done), out of line and returning before destroy
 * runs: a chain of such deaths nests one level per object up to
 * the trashcan's bound, and the frames live across destroy are only
 * dealloc_linkless_other's and dealloc_set_destroy's, small in every
 * build (an unoptimized one keeps the locals of every function inlined
 * here in the frame). */
static __attribute__((noinline)) bool set_untrack(rh_object *o) {
    const rh_type *t = o->rh_type;
    uint32_t w = o->rh_gcword;
    uintptr_t leaf;
    rh_heap *h;
    if (!(w & RH__GCW_UNREACHABLE) || ((uintptr_t)t->finalize | (uintptr_t)t->legacy_del) != 0 ||
        ((t->flags & RH_TYPE_WEAKREFABLE) && *rh__weaklist_of(o) != NULL) ||
        (t->destroy && tls.depth >= RH__DEALLOC_MAX_DEPTH) || (h = rh__pool_owner(o, &leaf)) == NULL ||
        !rh__heap_fast(h))
        return false;
    rh__assert((t->flags & RH_TYPE_GC) && o->rh_refcnt == 0);
    uint64_t bit, *mw = rh__block_mark_word(leaf, o, &bit);
    rh__gc_linkless_untrack_set(&h->gc, o, w, mw, bit);
    return true;
}
/* Its destroy and free (the tree walked again by the free). */
static __attribute__((noinline)) void dealloc_set_destroy(rh_object *o, void (*destroy)(rh_object *), size_t d) {
    if (destroy) dealloc_destroy(o, destroy, d, FREE_LL);
    else free_block_ll_known(o);
}
static __attribute__((noinline)) void dealloc_linkless_other(rh_object *o) {
    if (!set_untrack(o)) {
        dealloc_slow(o);
        return;
    }
    dealloc_set_destroy(o, o->rh_type->destroy, tls.depth);
}

/* The death of a container of the layout without links (docs/linkless.md,
 * collector word LINKLESS, so never plain): its straight line when its
 * type has neither finalize, legacy_del nor weak references, its word
 * neither a collection's nor a round's marks nor FROZEN
 * (rh__gc_linkless_plain_word), its block a pool block of a heap whose
 * slow word is 0, and the depth under the trashcan's bound. One walk of
 * the tree (rh__pool_owner) gives the heap, the mark's word and the
 * free's leaf. A young object whose type has destroy (the common death)
 * is untracked here, in line (collector/gc_linkless_fast.h: the mark
 * cleared, the swap-remove), and the jump to dealloc_destroy_ll does
 * destroy and the free as the linked layout's straight line
 * (dealloc_destroy, the free walking the tree again after destroy rather
 * than keeping the leaf in a saved register): this function is a leaf
 * whose every exit is a jump, and the untrack's values are dead before
 * destroy is called, so neither function saves a register for them.
 * Any other generation (its untrack reads the mark: an old object
 * without it was not tracked) and a type without destroy take
 * dealloc_ll_rest, the same steps out of line (FROZEN, not young, is
 * tested there). Anything else is dealloc_linkless_other's (a
 * collection's garbage) or dealloc_slow, which untracks through
 * gc_linkless.c. The depth is tested with or without destroy (one test
 * fewer): past the bound, an object without destroy is deferred by
 * dealloc_slow as any other object there is. */
static __attribute__((noinline)) void dealloc_linkless(rh_object *o) {
    const rh_type *t = o->rh_type;
    uint32_t w = o->rh_gcword;
    void (*destroy)(rh_object *) = t->destroy;
    size_t d = tls.depth;
    uintptr_t leaf;
    rh_heap *h;
    /* (the word first: a collection's garbage leaves at once) */
    if (RH_UNLIKELY((w & (RH__GCW_MARKS | RH__GCW_ROUND)) != 0 ||
                    ((uintptr_t)t->finalize | (uintptr_t)t->legacy_del) != 0 ||
                    (t->flags & RH_TYPE_WEAKREFABLE) || d >= RH__DEALLOC_MAX_DEPTH ||
                    (h = rh__pool_owner(o, &leaf)) == NULL || !rh__heap_fast(h))) {
        dealloc_linkless_other(o);
        return;
    }
    rh__assert((t->flags & RH_TYPE_GC) && o->rh_refcnt == 0);
    if (RH_UNLIKELY(rh__gcw_gen(w) != RH__GCW_YOUNG || !destroy)) {
        dealloc_ll_rest(o, h, leaf);
        return;
    }
    uint64_t bit, *mw = rh__block_mark_word(leaf, o, &bit);
    (void)bit; /* the untrack clears it by rh__block_mark_keep */
    rh__gc_linkless_untrack_young(&h->gc, o, w, mw);
    dealloc_destroy_ll(o, destroy, d);
}

/* A finalizer that drops its object's temporary reference is caught in
 * dealloc_slow: the object's type has finalize or legacy_del, so it is not
 * plain (run_finalizer reports a finalizer that changed the type). */
void rh__dealloc(rh_object *o) {
    const rh_type *t = o->rh_type;
    uint64_t x;
    if (RH_UNLIKELY(!obj_plain(o, t, &x))) {
        /* Little-endian, the word's LINKLESS is the sign of the header's
         * 64-bit word, and so of the OR, whose flags are still there
         * (code pointers lie below 2^63 in the usual address spaces; one
         * that does not sends an object of the linked layout to
         * dealloc_linkless, whose checks send it on to dealloc_slow) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        bool ll = (int64_t)x < 0;
#else
        bool ll = rh__gc_linkless_obj(o);
#endif
        if (ll) dealloc_linkless(o);
        else dealloc_slow(o);
        return;
    }
    /* The straight line: untrack, destroy, free. An object without destroy
     * cannot recurse and is freed at once. One past the trashcan's bound
     * is untracked and deferred out of line (so the line carries no "was
     * it tracked" flag). The flag word is tested where each branch needs
     * it (one test of a bit of the register it was loaded in), not kept as
     * a flag computed before the branch on destroy (an AND more). */
    uint32_t flags = t->flags;
    void (*destroy)(rh_object *) = t->destroy;
    if (destroy) {
        size_t d = tls.depth;
        if (RH_UNLIKELY(d >= RH__DEALLOC_MAX_DEPTH)) {
            dealloc_defer_plain(o);
            return;
        }
        if (flags & RH_TYPE_GC) {
            untrack_dying(o);
            dealloc_destroy_gc(o, destroy, d);
        } else {
            dealloc_destroy_plain(o, destroy, d);
        }
        return;
    }
    if (flags & RH_TYPE_GC) {
        dealloc_free_gc(o);
    } else {
        free_block_gc(o, false); /* a copy each: neither tests gc again */
    }
}

/* ---------------------------------------------------------------------------
 * Misuse of reference counts.
 * ------------------------------------------------------------------------- */
void rh__refcnt_error(rh_object *o, const char *op) {
    bool decref = strcmp(op, "decref") == 0;
    rh_heap *h = rh__heap_of(o);
    rh__blockinfo bi;
    if (h && rh__debug_describe(h, o, &bi)) {
        const char *tn = bi.type_name ? bi.type_name : "?";
        if (bi.freed)
            rh__fatal("%s of freed object of type '%s' allocated at %s:%d (block serial %" PRIu64 ")%s",
                      op, tn, bi.file ? bi.file : "?", bi.line, bi.serial,
                      decref ? ": a decref below zero, one more decref than references" : "");
        rh__fatal("%s of object of type '%s' allocated at %s:%d whose reference count is 0 "
                  "(block serial %" PRIu64 ")%s",
                  decref ? "decref below zero" : "incref", tn, bi.file ? bi.file : "?", bi.line,
                  bi.serial, decref ? "" : ": it is being destroyed");
    }
    if (is_active(o) || o == tls.finalizing)
        rh__fatal("%s of object of type '%s' at %p whose reference count is 0 (it is being destroyed)",
                  decref ? "decref below zero" : "incref", o->rh_type->name, (void *)o);
    rh__fatal("%s of object at %p whose reference count is 0: it was freed or is being destroyed%s "
              "(create the heap in debug mode, or set REFHEAP_MALLOC=debug, to learn its type "
              "and allocation site)",
              op, (void *)o, decref ? " (a decref below zero)" : "");
}

/* ---------------------------------------------------------------------------
 * Immortality and introspection.
 * ------------------------------------------------------------------------- */

/* Makes o immortal. The count stops changing and o is never destroyed: its
 * destroy hook never runs, so the references it holds keep their targets
 * alive for the life of the heap. Its memory (and theirs) is returned to the
 * OS with the heap's arenas and system blocks when the heap is destroyed;
 * storage o owns outside its heap (a FILE *, system memory of its own) is
 * not released. Interned strings are the exception: rh__obj_fini frees them
 * one by one. A container stays tracked: the collector sees its huge count
 * as references from outside, so it and what it reaches always survive. */
void rh_make_immortal(rh_object *o) {
    if (o->rh_refcnt == RH_IMMORTAL) return; /* static immortals may be read-only */
    o->rh_refcnt = RH_IMMORTAL;
}

bool rh__is_heap_object(const rh_object *o) {
    return rh__heap_of(o) != NULL;
}

static _Thread_local char site_buf[256];

const char *rh_object_site(const rh_object *o) {
    rh_heap *h = rh__heap_of(o);
    rh__blockinfo bi;
    if (!h || h->mode != RH_MODE_DEBUG || !rh__debug_describe(h, o, &bi) || !bi.file) return "?";
    snprintf(site_buf, sizeof site_buf, "%s:%d", bi.file, bi.line);
    return site_buf;
}

/* rh_sizeof = collector record (16 for containers) + basicsize + what the
 * type's sizeof_extra hook reports. Convention: sizeof_extra returns every
 * byte the object accounts for beyond basicsize — its inline items
 * (itemsize * length for variable-size objects, which refheap does not record)
 * plus storage it allocated separately (a list's item array, a dict's
 * table). Figures beside CPython's are in docs/object-sizes.md. */
size_t rh_sizeof(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_sizeof");
    const rh_type *t = o->rh_type;
    size_t n = rh__obj_prefix(o) + t->basicsize;
    if (t->sizeof_extra) n += t->sizeof_extra(o);
    return n;
}

/* ---------------------------------------------------------------------------
 * Generic operations.
 * ------------------------------------------------------------------------- */
rh_hash_t rh_hash(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_hash");
    const rh_type *t = o->rh_type;
    if (RH_LIKELY(t->hash != NULL)) return t->hash(o);
    rh_heap *h = rh__heap_of(o);
    if (h) rh_err_set(h, RH_ETYPE, "unhashable type: '%s'", t->name);
    return -1;
}

/* Identity first (as PyObject_RichCompareBool); then the left operand's eq
 * hook; if that says "different" (or there is none) and the right operand's
 * type differs, the right's hook gets its turn, the loose analogue of
 * Python's reflected __eq__ after NotImplemented. */
/* The hooks of containers call rh_equal on their items, so comparing two
 * deeply nested structures recurses once per level: past EQ_MAX_DEPTH nested
 * calls the comparison fails with RH_EOVERFLOW (CPython raises RecursionError
 * at its recursion limit, 1000) instead of overflowing the C stack. */
#define EQ_MAX_DEPTH 1000
static _Thread_local unsigned eq_depth;

int rh_equal(rh_object *a, rh_object *b) {
    RH__CHECK_LIVE(a, "rh_equal");
    RH__CHECK_LIVE(b, "rh_equal");
    if (a == b) return 1;
    const rh_type *ta = a->rh_type, *tb = b->rh_type;
    if (!ta->eq && !tb->eq) return 0;
    if (RH_UNLIKELY(eq_depth >= EQ_MAX_DEPTH)) {
        rh_heap *h = rh__is_heap_object(a) ? rh_heap_of(a) : rh__is_heap_object(b) ? rh_heap_of(b) : NULL;
        if (h) rh_err_set(h, RH_EOVERFLOW, "comparison: maximum nesting depth exceeded");
        return -1;
    }
    eq_depth++;
    int r = 0;
    if (ta->eq) r = ta->eq(a, b);
    if (r == 0 && tb != ta && tb->eq) r = tb->eq(b, a);
    eq_depth--;
    return r;
}

int rh_repr(rh_object *o, char *buf, size_t cap) {
    RH__CHECK_LIVE(o, "rh_repr");
    const rh_type *t = o->rh_type;
    if (t->repr) return t->repr(o, buf, cap);
    return snprintf(buf, cap, "<%s 0x%" PRIxPTR ">", t->name, (uintptr_t)o);
}

/* ---------------------------------------------------------------------------
 * Lifecycle hooks. The object layer's only per-heap state is the intern
 * table (str.c), which starts empty; rh__str_fini frees it.
 * ------------------------------------------------------------------------- */
int rh__obj_init(rh_heap *h) {
    rh__hash_init(); /* the str hash's key, once per process */
    memset(&h->obj, 0, sizeof h->obj);
    h->lists = &rh__list_type_ops;
    return 0;
}

void rh__obj_fini(rh_heap *h) {
    rh__str_fini(h);
    /* The heap's remaining objects die with its memory, without being freed
     * one by one. Nothing allocates from here on. */
}

bool rh__obj_dying_in(const rh_heap *h) {
    unsigned n = tls.depth < RH__DEALLOC_MAX_DEPTH + 1 ? tls.depth : RH__DEALLOC_MAX_DEPTH + 1;
    for (unsigned i = 0; i < n; i++)
        if (tls.active[i] && rh__heap_of(tls.active[i]) == h) return true;
    return tls.finalizing && rh__heap_of(tls.finalizing) == h;
}
