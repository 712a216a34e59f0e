/*
 * gc_walk.h — the collector's passes read the references of class instances
 * in line. Shared by gc.c (counting and marking reachable in a collection)
 * and gc_incr.c (a round's phases and final check), so that both walk the
 * same references, in the same order, the same way.
 *
 * The two kinds of containers (gc_internal.h) are recognised by their
 * traverse's address: rh__gc_inline_refs_traverse (slotted instances without
 * native state) and rh__gc_attr_table_traverse (plain instances). Each of
 * those traverses is the walk below, called through a pointer; a pass calls
 * the walk itself, forced in line with its visitor a constant at the call,
 * so that visiting such an object's references makes no call at all. Any
 * other container's traverse is called through its type as always.
 *
 * Also here: what the rest of a collection will have to do for its garbage
 * (RH__GC_NEED_*), noted by both layouts' step 3 for each object it finds
 * tentatively unreachable, while that object is in cache.
 */
#ifndef REFHEAP_GC_WALK_H
#define REFHEAP_GC_WALK_H

#include "collector/gc_internal.h"
#include "memory/alloc_priv.h" /* RH__HOT_INLINE */
#include "weak/weak_internal.h"  /* the garbage's needs: weak references */

/* The references of a container with inline references, in the order its
 * traverse reports them: the class, then the non-NULL fields from the end
 * of the header up to the weaklist, or to the end of the object. */
RH__HOT_INLINE int rh__gc_inline_refs_walk(rh_object *o, rh_visitfn visit, void *arg) {
    const rh_type *t = o->rh_type;
    int r = visit((rh_object *)t->user_data, arg);
    if (r) return r;
    size_t end = (t->flags & RH_TYPE_WEAKREFABLE) ? t->weaklist_offset : t->basicsize;
    rh_object **s = (rh_object **)(void *)(o + 1), **e = (rh_object **)(void *)((char *)o + end);
    for (; s < e; s++) {
        if (*s && (r = visit(*s, arg)) != 0) return r;
    }
    return 0;
}

/* The references of a container with an attribute table, in the order its
 * traverse reports them: the class, then the values of the set entries in
 * table order. */
RH__HOT_INLINE int rh__gc_attr_table_walk(rh_object *o, rh_visitfn visit, void *arg) {
    int r = visit((rh_object *)o->rh_type->user_data, arg);
    if (r) return r;
    const rh__attr_inst *pi = (const rh__attr_inst *)(void *)o;
    const rh__attr_entry *e = pi->table;
    if (e) {
        for (uint32_t i = 0; i <= pi->mask; i++) {
            if (e[i].key && (r = visit(e[i].value, arg)) != 0) return r;
        }
    }
    return 0;
}

/* o's traverse with `visit` (t: o's type; the result is not used), walked in
 * line for the two kinds of instances. */
#define RH__GC_TRAVERSE(o, t, visit, arg)                                       \
    do {                                                                        \
        if ((t)->traverse == rh__gc_inline_refs_traverse)                       \
            (void)rh__gc_inline_refs_walk((o), (visit), (arg));                 \
        else if ((t)->traverse == rh__gc_attr_table_traverse)                   \
            (void)rh__gc_attr_table_walk((o), (visit), (arg));                  \
        else                                                                    \
            (void)(t)->traverse((o), (visit), (arg));                           \
    } while (0)

/* What the rest of a collection has to do for the garbage set: noted by
 * step 3 for every object it moves to the unreachable part (an
 * over-approximation: an object rescued afterwards still counts), and
 * again, over the final set, by the legacy pass when that runs (objects it
 * moves to `finalizers` afterwards still count). Both layouts' step 3
 * notes them while the object is in cache. The
 * layout without links notes one thing more, for its survivors: OFFERS,
 * a survivor whose type has untrack_check (a tuple, a dict), without
 * which collect_linkless's pass of offers over the survivors would offer
 * nothing and is skipped. */
#define RH__GC_NEED_WEAKREFS 1u  /* a weakref, or a weakly referenced object   */
#define RH__GC_NEED_FINALIZE 2u  /* an object whose finalize has not run yet   */
#define RH__GC_NEED_LEGACY 4u    /* an object with a legacy finalizer          */
#define RH__GC_NEED_OFFERS 8u    /* a survivor whose type has untrack_check    */

/* The RH__GC_NEED_* flags of one object about to join the garbage set. g:
 * its record (the linked layout), NULL for the layout without links, whose
 * FINALIZED is in the collector word. (This form, FINALIZED read only for
 * a type with finalize, keeps step 3's loop as it was: a flag computed by
 * the caller costs 2 instructions an object in bench/callgrind.py's tree
 * row.) */
static inline unsigned rh__gc_garbage_needs(rh__gchead *g, rh_object *o, const rh_type *t) {
    if (t->legacy_del) return RH__GC_NEED_LEGACY;
    unsigned need = 0;
    if (t->finalize && !(g ? (g->prev & RH__GC_FINALIZED) : (o->rh_gcword & RH__GCW_FINALIZED)))
        need |= RH__GC_NEED_FINALIZE;
    if (((t->flags & RH_TYPE_WEAKREFABLE) && *rh__weaklist_of(o)) || rh__is_weakref(o))
        need |= RH__GC_NEED_WEAKREFS;
    return need;
}

#endif
