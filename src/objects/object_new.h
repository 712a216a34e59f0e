/*
 * object_new.h — the fast path of object creation, in line (object.c owns
 * the rest of creation and describes it in its essay, "Hot paths").
 *
 * rh__new_fast serves a fixed-size object of a valid type that fits a
 * pool, in a pools-mode heap without tools, with no call: the checks of
 * the type, the pop of the head pool of its class (memory/alloc_priv.h),
 * the header, the fields zeroed by stores, and for a container the
 * generation-0 count and, if asked, the link into generation 0 (a
 * container of a heap without list links ends in a jump to object.c's
 * rh__new_ll_tracked or _untracked, see rh__new_pool_object). Whatever
 * it does not serve is a tail call into object.c (rh__new_slow,
 * rh__new_object, rh__new_collect), which does everything out of line.
 *
 * It is a header so that the constructors of the built-in types
 * (rh_float, rh_int, rh_dict_new...) use it in line too, not only
 * rh_new_at and rh_new_tracked_at: there the type is a constant defined in
 * the same file, so its checks, its size class and its prefix are folded
 * at compile time, and the call to rh_new_at goes away. The checks stay
 * in the code for a type that is not known at compile time. A constructor
 * that fills a field after the creation (rh_int, rh_float) uses
 * rh__new_fast_try, whose unusual cases return NULL rather than call, and
 * makes its object in its own out-of-line slow path then: its fast path
 * keeps the value in its argument register, with no stack frame.
 */
#ifndef REFHEAP_OBJECT_NEW_H
#define REFHEAP_OBJECT_NEW_H

#include "collector/gc_internal.h"
#include "collector/gc_linkless_fast.h" /* the layout without links: its track in line */
#include "memory/alloc_priv.h" /* the allocator's inline fast paths */
#include "memory/trace_fast.h" /* allocation tracing's common case, in line */
#include "objects/object_internal.h"

/* The out-of-line rest (object.c). rh__new_object: every allocation the
 * fast path does not serve (debug mode, the fault injector, Valgrind,
 * malloc mode, large and variable-size objects, invalid types: it sets
 * RH_ETYPE); nitems for variable-size objects, track for "create
 * tracked". rh__new_slow: everything rh__new_fast sends away (tracing
 * alone takes the traced copy of the fast path, the rest rh__new_object).
 * rh__new_collect: a new container whose allocation made an automatic
 * collection due (the collection runs with it untracked, then it is
 * linked if asked). */
rh_object *rh__new_object(rh_heap *h, const rh_type *t, const char *file, int line, size_t nitems, bool track);
rh_object *rh__new_slow(rh_heap *h, const rh_type *t, bool track, const char *file, int line);
rh_object *rh__new_collect(rh_heap *h, rh_object *o, bool track);
/* The same for a container without list links (docs/linkless.md);
 * rh__new_track_linkless: such a container to track when the young array
 * is full (rh__gc_linkless_track, which grows it or promotes); returns o. */
rh_object *rh__new_collect_linkless(rh_heap *h, rh_object *o, bool track);
rh_object *rh__new_track_linkless(rh_heap *h, rh_object *o);
/* The end of the fast path for a container without links (its block
 * popped, its header written with word 0, its fields zeroed): the word
 * LINKLESS, the count, and for "tracked" the mark and the push in line. */
rh_object *rh__new_ll_tracked(rh_heap *h, rh_object *o);
rh_object *rh__new_ll_untracked(rh_heap *h, rh_object *o);

/* The fast path's zeroing: from the end of the header to the end of the
 * pool block, n bytes, a multiple of 16 (the header ends 16 or 32 bytes
 * into a block of (c+1)*16 bytes), p 16-aligned. The padding after the
 * fields is the block's own, so clearing it too turns a loop over the
 * fields into a ladder of 16-byte stores, one compare a rung (the small
 * objects, one or two rungs, are the common case). */
static inline void zero_block_tail(char *p, size_t n) {
    if (n == 0) return;
    memset(p, 0, 16);
    if (n <= 16) return;
    memset(p + 16, 0, 16);
    if (n <= 32) return;
    memset(p + 32, 0, 16);
    if (n <= 48) return;
    memset(p + 48, 0, 16);
    if (n <= 64) return;
    /* Larger objects: the rest 16 bytes at a time, without a call, so
     * that the fast path around it keeps its values in scratch registers
     * (memset would need them saved across it on every creation). */
    for (size_t i = 64; i < n; i += 16) memset(p + i, 0, 16);
}

/* A weakrefable type whose weaklist_offset is not an aligned pointer field
 * of the object (after the header, inside basicsize). The one statement of
 * the rule: the fast path's filter and object.c's type_ok (which names it
 * in the error) both use it. */
static inline bool rh__weaklist_offset_bad(const rh_type *t) {
    return (t->flags & RH_TYPE_WEAKREFABLE) &&
           (t->weaklist_offset < sizeof(rh_object) || t->weaklist_offset > t->basicsize - sizeof(rh_object *) ||
            t->weaklist_offset % sizeof(rh_object *) != 0);
}

/* Count 1, collector word 0: one 64-bit store of an immediate (two 32-bit
 * stores of constants are merged by the compiler into a load of a
 * constant from memory, then the store). */
_Static_assert(offsetof(rh_object, rh_gcword) == offsetof(rh_object, rh_refcnt) + sizeof(uint32_t),
               "the count and the collector word are one 64-bit word");
static inline void header_count_one(rh_object *o) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint64_t w = (uint64_t)1 << 32;
#else
    uint64_t w = 1;
#endif
    memcpy(&o->rh_refcnt, &w, sizeof w);
}

/* The fast path of object creation, for a fixed-size object of a valid
 * type that fits a pool, in a pools-mode heap without tools: the checks of
 * the type, the pop of rh__malloc_fast, the header, the fields zeroed by
 * stores, the generation-0 count and (track) the append to generation 0,
 * all in line, with no call unless an automatic collection is due. The
 * collection runs before the container is linked, as on the slow path.
 * Whatever is unusual (an empty or full head pool, a collection due) is
 * a tail call, so the common path saves no register. */

/* traced: the copy for a heap whose slow word is RH__SLOW_TRACE alone
 * (rh__new_slow, object.c): the same path, plus the block's trace with the site
 * and the type name (in line when the tracer's caches know them, else the
 * trace hook). try_only (never with traced): rh__new_fast_try's copy,
 * whose exits to rh__new_slow and rh__new_object return NULL instead.
 * Both are constants at every call, so the fast path of rh__new_fast is
 * the same code as without them.
 * The layout of the heap's containers (docs/linkless.md) is the
 * collector's, not the allocator's: the path reads it from the heap's
 * gc.linked (0 or 1, RH_TYPE_GC being bit 0), ANDed with the type's flags
 * where the prefix is computed (in place of the AND with the constant; a
 * type known at compile time not to be a container folds it away). A
 * container without prefix is of the layout without links: after the
 * pop, the header and the zeroing, the path ends in a jump to
 * rh__new_ll_tracked or rh__new_ll_untracked (object.c: the collector
 * word LINKLESS, the count, and for "create tracked" the mark set in the
 * plane of the block's leaf and the push on the young array while it has
 * room, collector/gc_linkless_fast.h), so that the linked layout's path
 * keeps its registers. */
_Static_assert(RH_TYPE_GC == 1, "a type's flags ANDed with gc.linked give 0 or 1");
RH__HOT_INLINE rh_object *rh__new_pool_object(rh_heap *h, const rh_type *t, bool track, const char *file,
                                              int line, bool traced, bool try_only) {
    if (!traced && RH_UNLIKELY(!rh__heap_fast(h))) return try_only ? NULL : rh__new_slow(h, t, track, file, line);
    size_t linked = h->gc.linked;
    if (linked > 1) __builtin_unreachable(); /* so that a type known not to be a container folds it */
    size_t prefix = (t->flags & linked) * sizeof(rh__gchead);
    /* basicsize in [16, 512] (one unsigned compare), then the class of
     * prefix + basicsize (>= 16, no overflow) below 32: the block fits a
     * pool */
    size_t c = (prefix + t->basicsize - 1) >> 4; /* rh__size_class */
    if (RH_UNLIKELY(t->basicsize - sizeof(rh_object) > RH_SMALL_MAX - sizeof(rh_object) ||
                    c >= RH_NUM_CLASSES ||
                    (!t->traverse && (t->flags & RH_TYPE_GC)) || /* a container: one test */
                    rh__weaklist_offset_bad(t)))
        return try_only ? NULL : traced ? rh__new_object(h, t, file, line, 0, track) : rh__new_slow(h, t, track, file, line);
    /* traced: the site's trace id + 1 from the trace's cache (0: not
     * there; rh__new_object calls the hook) */
    uint32_t slot = traced ? rh__trace_site_slot_value(h, file, line, t->name) : 1;
    /* untraced, the block cache first (the block freed last) */
    void *block = traced ? NULL : rh__bcache_pop(h, (unsigned)c);
    if (block == NULL) {
        if (RH_UNLIKELY(!rh__pool_can_pop(h, c) || slot == 0))
            return try_only ? NULL : rh__new_object(h, t, file, line, 0, track);
        block = rh__pool_pop(h, c, false); /* cannot fail now */
        if (traced && !rh__trace_alloc_slot(h, block, c, slot)) rh__trace_record_hook(h, block, slot);
    }
    rh_object *o = (rh_object *)(void *)((char *)block + prefix);
    header_count_one(o);
    o->rh_type = t;
    /* to the block's end: rh__class_size(c) - prefix - 16, which is
     * basicsize - 16 rounded up to 16 (prefix is 0 or 16) */
    zero_block_tail((char *)(o + 1), (t->basicsize - 1) & ~(size_t)15);
    if (prefix) {
        rh__gchead *g = RH__AS_GC(o);
        if (RH_UNLIKELY(rh__gc_count_alloc(&h->gc))) return rh__new_collect(h, o, track);
        if (track) {
            rh__gc_link_new(&h->gc, g);
        } else {
            *g = rh__gc_new_record(h);
        }
    } else if (t->flags & RH_TYPE_GC) {
        /* a container without links */
        return track ? rh__new_ll_tracked(h, o) : rh__new_ll_untracked(h, o);
    }
    return o;
}

RH__HOT_INLINE rh_object *rh__new_fast(rh_heap *h, const rh_type *t, bool track, const char *file, int line) {
    return rh__new_pool_object(h, t, track, file, line, false, false);
}

/* rh__new_fast for a constructor that fills a field after the creation
 * (rh_int, rh_float): NULL when the fast path does not serve the request,
 * with nothing done and no error set; the constructor then calls its own
 * out-of-line slow path (rh__new_slow, then the fill). After a call the
 * fill needs the value kept across it, in a saved register or the stack:
 * with every call out of its fast path, the constructor needs neither.
 * (A container's fast path may still call rh__new_collect after the pop,
 * so this pays for types without the collector's prefix.) */
RH__HOT_INLINE rh_object *rh__new_fast_try(rh_heap *h, const rh_type *t, bool track) {
    return rh__new_pool_object(h, t, track, NULL, 0, false, true);
}


#endif /* REFHEAP_OBJECT_NEW_H */
