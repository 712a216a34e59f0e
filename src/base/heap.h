/*
 * heap.h — the heap record: struct rh_heap, one state struct per room.
 *
 * Each room keeps the data of its part of a heap in its own state header
 * (memory/alloc_state.h, objects/object_state.h, collector/gc_state.h,
 * weak/weak_state.h: types only, including nothing from src/ but base/base.h)
 * and touches only its own member; this record composes them, so that the
 * fast paths can reach h->alloc and h->gc with one offset and no call. It is
 * the one header of a room that includes headers of rooms above it, and only
 * their state headers (tests/check_layers.py enforces both).
 */
#ifndef REFHEAP_BASE_HEAP_H
#define REFHEAP_BASE_HEAP_H

#include "base/base.h"
#include "memory/alloc_state.h"
#include "objects/object_state.h"
#include "collector/gc_state.h"
#include "weak/weak_state.h"

struct rh__tools; /* src/tools/tools_internal.h */

struct rh_heap {
    rh_mode mode;
    uint32_t magic;               /* RH__HEAP_MAGIC while alive */
    bool destroying;              /* rh_heap_destroy is running */

    rh_error err;
    char errmsg[RH__ERRMSG_MAX];

    struct rh__alloc_state alloc; /* memory/alloc_state.h */
    struct rh__obj_state obj;     /* objects/object_state.h */
    struct rh__gc_state gc;       /* collector/gc_state.h */
    struct rh__weak_state weak;   /* weak/weak_state.h */
    struct rh__tools *tools;      /* src/tools/tools_internal.h; NULL until a tool is used */
    const rh__list_ops *lists;    /* the list type, for the rooms below it (base/base.h) */
};
#define RH__HEAP_MAGIC 0x72686870u /* "rhhp" */

#endif /* REFHEAP_BASE_HEAP_H */
