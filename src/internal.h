/*
 * internal.h — what refheap's subsystems share with each other, never with users.
 *
 * The heap (struct rh_heap) is one struct made of one state struct per
 * subsystem; each subsystem owns its part and its own internal header:
 *
 *   alloc_internal.h   pools, arenas, large blocks, debug blocks (pools.c, heap.c, debugmem.c)
 *   object_internal.h  object allocation, deallocation, interning (object.c, str.c, ...)
 *   gc_internal.h      the cycle collector (gc.c)
 *   weak_internal.h    weak references and finalize (weakref.c, weakdict.c)
 *
 * Names: `rh__` for functions and types shared between files, `static` for
 * everything else. Lifecycle hooks of each subsystem are called by heap.c in
 * the order written below.
 */
#ifndef REFHEAP_INTERNAL_H
#define REFHEAP_INTERNAL_H

#include "refheap.h"

#include <stdatomic.h>
#include <string.h>

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

#define RH__GC_FINALIZED ((uintptr_t)1)   /* finalize (or legacy_del on refcount death) ran */
#define RH__GC_COLLECTING ((uintptr_t)2)  /* in the generations being collected now */
#define RH__GC_UNREACHABLE ((uintptr_t)4) /* tentatively unreachable (during a collection) */
#define RH__GC_FLAG3 ((uintptr_t)8)       /* reserved for gc.c */
#define RH__GC_FLAGS_MASK ((uintptr_t)15)

#define RH__AS_GC(o) (((rh__gchead *)(void *)(o)) - 1)
#define RH__FROM_GC(g) ((rh_object *)(void *)(((rh__gchead *)(g)) + 1))
#define RH__IS_GC(o) ((RH_TYPE(o)->flags & RH_TYPE_GC) != 0)

/* Bytes refheap puts in front of an object of type t. */
static inline size_t rh__prefix_size(const rh_type *t) {
    return (t->flags & RH_TYPE_GC) ? sizeof(rh__gchead) : 0;
}
/* The block (what the allocator returned) of an object. */
static inline void *rh__obj_block(const rh_object *o) {
    return (char *)(void *)o - rh__prefix_size(o->rh_type);
}

#include "memory/alloc_internal.h"
#include "objects/object_internal.h"
#include "collector/gc_internal.h"
#include "weak/weak_internal.h"

/* ---------------------------------------------------------------------------
 * The heap.
 * ------------------------------------------------------------------------- */
#define RH__ERRMSG_MAX 256

struct rh_heap {
    rh_mode mode;
    uint32_t magic;               /* RH__HEAP_MAGIC while alive */
    bool destroying;              /* rh_heap_destroy is running */

    rh_error err;
    char errmsg[RH__ERRMSG_MAX];

    struct rh__alloc_state alloc; /* alloc_internal.h */
    struct rh__obj_state obj;     /* object_internal.h */
    struct rh__gc_state gc;       /* gc_internal.h */
    struct rh__weak_state weak;   /* weak_internal.h */
    struct rh__tools *tools;      /* src/tools/tools_internal.h; NULL until a tool is used */
};
#define RH__HEAP_MAGIC 0x72686870u /* "rhhp" */

/* Lifecycle hooks (heap.c calls them in this order on creation, reverse on
 * destruction, except that rh__weak_atexit and rh__gc_fini run first).
 * init hooks return 0, or -1 when out of memory. */
int rh__obj_init(rh_heap *h);
void rh__obj_fini(rh_heap *h);      /* frees the interned strings */
int rh__gc_init(rh_heap *h);
void rh__gc_fini(rh_heap *h);       /* last collection; debug leak report */
int rh__weak_init(rh_heap *h);
void rh__weak_atexit(rh_heap *h);   /* weakref.finalize callbacks still alive, newest first */
void rh__weak_fini(rh_heap *h);
void rh__tools_fini(rh_heap *h);    /* src/tools: stops tracing, frees the tools' state */

/* Error helpers (heap.c). rh__nomem sets RH_ENOMEM and returns NULL. */
void *rh__nomem(rh_heap *h);
void rh__err_type(rh_heap *h, const char *op, const rh_object *o); /* "op: unsupported type 'T'" */

/* Public entry points that take an object start with RH__CHECK_LIVE(o,
 * "rh_name"). A freed object in debug mode sits in quarantine with its
 * reference count zeroed: a count of 0 sends the call to
 * rh__check_live_slow, which stops the program naming the op, the type and
 * the allocation site when the block is a freed debug block (an object
 * being destroyed also has count 0, and passes). Every mode pays one load
 * and compare of a word the call is about to read anyway; a freed block of
 * another mode is not recognised (its memory may already be reused). */
void rh__check_live_slow(const rh_object *o, const char *op);
#define RH__CHECK_LIVE(o, op)                                                   \
    do {                                                                        \
        const rh_object *rh_cl_ = (o);                                          \
        if (RH_UNLIKELY(rh_cl_ != NULL && rh_cl_->rh_refcnt == 0))              \
            rh__check_live_slow(rh_cl_, (op));                                  \
    } while (0)

/* ---------------------------------------------------------------------------
 * Checks in tiers. RH_DEBUG is fixed at compile time (CMake option
 * REFHEAP_DEBUG_LEVEL: 0 for Release and RelWithDebInfo builds, 2 for Debug
 * builds unless set); each level adds to the ones below it:
 *   0  what every build checks: misuse a user can commit that is cheap to
 *      see (RH__CHECK_LIVE, rh_heap_destroy re-entry, debug mode's checks);
 *   1  cheap checks on paths that are already slow: a cross-heap reference
 *      met by the fused full-collection pass stops the program instead of
 *      being skipped;
 *   2  internal assertions (rh__assert: "refheap: fatal: assertion ...
 *      failed at file:line");
 *   3  whole-heap invariant walks after every collection and at heap
 *      destruction (rh__heap_check: rh__pools_check, rh__gc_check,
 *      rh__weak_check, and in debug mode every live block's guards).
 * Level 3 costs a walk of the heap per collection: it is for the test
 * suite (CI runs it there), not for production.
 * ------------------------------------------------------------------------- */
#ifndef RH_DEBUG
#define RH_DEBUG 0
#endif
_Noreturn void rh__assert_fail(const char *expr, const char *file, int line);
#if RH_DEBUG >= 2
#define rh__assert(cond) (RH_LIKELY(cond) ? (void)0 : rh__assert_fail(#cond, __FILE__, __LINE__))
#else
#define rh__assert(cond) ((void)sizeof(!(cond))) /* not evaluated; its names stay used */
#endif
/* Every subsystem's invariant check, in turn (heap.c). */
void rh__heap_check(rh_heap *h, const char *when); /* when: for the messages */

/* Fatal misuse (debug checks): prints "refheap: fatal: ..." to stderr and aborts. */
_Noreturn void rh__fatal(const char *fmt, ...) RH_PRINTF(1, 2);

#endif /* REFHEAP_INTERNAL_H */
