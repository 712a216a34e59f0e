/*
 * object_state.h — the object layer's part of the heap record (base/heap.h).
 * Types only; the functions are in object_internal.h.
 */
#ifndef REFHEAP_OBJECT_STATE_H
#define REFHEAP_OBJECT_STATE_H

#include "base/base.h"

/* Per-heap state of the object layer: the intern table of str.c.
 *
 * The table is an open-addressing hash set of interned strings (linear
 * probing, capacity a power of two or 0 before the first interning).
 * Invariants:
 *   count < cap * 3/4 (or cap == 0 and count == 0)
 *   every non-NULL slot holds a heap str with rh_refcnt == RH_IMMORTAL and
 *   interned == 1, and no two slots hold equal texts.
 * The interned strings are immortal: nothing frees them until rh__obj_fini,
 * which frees each one and then the table. The table's memory comes from the
 * heap's allocator (rh_malloc), so it shows in the heap's statistics. */
struct rh__obj_state {
    struct rh__str **interned; /* the slots; NULL until the first interning */
    size_t interned_cap;       /* number of slots (0 or a power of two)      */
    size_t interned_count;     /* strings in the table                       */
};

#endif /* REFHEAP_OBJECT_STATE_H */
