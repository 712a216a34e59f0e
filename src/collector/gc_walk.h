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
 */
#ifndef REFHEAP_GC_WALK_H
#define REFHEAP_GC_WALK_H

#include "collector/gc_internal.h"
#include "memory/alloc_priv.h" /* RH__HOT_INLINE */

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

#endif
