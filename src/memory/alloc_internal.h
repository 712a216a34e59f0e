/*
 * alloc_internal.h — the allocator's interface to the rest of refheap.
 * Owned by alloc.c / backends.c / pools.c / sysmem.c / debugmem.c / fault.c (the layers:
 * memory/layer.h). The state struct below is filled in
 * by the allocator; other subsystems use only the functions. A mark bit
 * per block and the walk over the marked blocks are in memory/marks.h
 * (in line, so it includes the allocator's private header).
 */
#ifndef REFHEAP_ALLOC_INTERNAL_H
#define REFHEAP_ALLOC_INTERNAL_H
#include "base/heap.h"

int rh__alloc_init(rh_heap *h);   /* 0 or -1 */
void rh__alloc_fini(rh_heap *h);  /* returns every byte to the OS */

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

/* Object memory. rh__obj_alloc is rh_malloc_at for an object's block.
 * rh__obj_free frees it; in debug mode the block is filled with the freed
 * pattern, quarantined, and the 32-bit word at `header_offset` (the object's
 * reference count) is set to 0 so that a later incref/decref of the dead
 * object reaches the slow path, which asks rh__debug_describe about it.
 * object.c itself uses their inline forms (rh__malloc_fast, and
 * rh__pool_owner with rh__bcache_push_leaf, in alloc_priv.h), with the same behaviour. */
void *rh__obj_alloc(rh_heap *h, size_t n, const char *file, int line);
void rh__obj_free(rh_heap *h, void *block, size_t header_offset);

/* Debug mode: remember the type name of the object living in this block
 * (shown in reports). No-op in other modes. */
void rh__debug_note_type(rh_heap *h, void *block, const char *type_name);

/* Debug mode: the object o lives in this block (where in it is the object
 * layer's business; its type name is shown in reports, and the heap's
 * destruction can find it). */
void rh__debug_note_object(rh_heap *h, void *block, rh_object *o);
/* Debug mode: checks the guards of every live block; a changed byte stops
 * the program, naming the block and `at` (when the check ran). */
void rh__debug_check_all(rh_heap *h, const char *at);
/* Debug mode: fn(o, arg) for every live object (newest first); fn must not
 * allocate or free. Nothing in other modes. */
void rh__debug_each_object(rh_heap *h, void (*fn)(rh_object *o, void *arg), void *arg);
/* ---------------------------------------------------------------------------
 * Allocation tracing's hooks. Tracing (src/tools/trace.c, a room above)
 * puts its state in h->alloc.trace (memory/trace_fast.h: this table, as
 * ->hooks, and what the in-line common case of the traced paths reads)
 * before it sets RH__SLOW_TRACE and pushes its shim on the layer stack
 * (memory/layer.h: the shim traces every call that reaches the stack).
 * While the bit is set, the traced paths of alloc.c and object.c (tracing
 * alone, pools mode) call through the table when their in-line case does
 * not apply, and object.c names a new object's type. `alloc` records
 * a new block with its site and the
 * type name of the object it will hold (NULL: raw memory, or the type is
 * named later by `note_type`; object.c's in-line traced paths pass it
 * here, one call instead of two), and returns p (its caller's tail
 * call); `free`
 * forgets a block (untraced ones are ignored); `size` is the block's usable
 * size when the caller knows it, else 0; `attach` records a block's trace:
 * RH__TRACE_NEW for a new trace at file:line, another value to put a
 * detached trace back (the shim's failed realloc) or to enter a block whose
 * trace the in-line path found but could not write (file and line unused);
 * `note_type` names the type of the
 * object in a block just allocated.
 * ------------------------------------------------------------------------- */
#define RH__TRACE_NONE UINT32_MAX
#define RH__TRACE_NEW (UINT32_MAX - 1)
typedef struct rh__trace_hooks {
    void *(*alloc)(rh_heap *h, void *p, size_t size, const char *file, int line, const char *type_name);
    void (*free)(rh_heap *h, void *p, size_t size);
    void (*attach)(rh_heap *h, void *p, uint32_t trace, const char *file, int line);
    void (*note_type)(rh_heap *h, void *block, const char *type_name);
} rh__trace_hooks;

/* Debug mode: what the allocator knows about the block containing p.
 * Returns false when not in debug mode or p is not a debug block. */
typedef struct rh__blockinfo {
    uint64_t serial;
    size_t size;
    const char *file;
    int line;
    const char *type_name; /* from rh__debug_note_type, or NULL */
    bool freed;
} rh__blockinfo;
bool rh__debug_describe(rh_heap *h, const void *p, rh__blockinfo *out);

/* Invariant checks of the allocator (RH_DEBUG >= 3; see base/base.h): every
 * equation of pools.c's essay over the heap's arenas, and (debug mode) the
 * guards of every live block. A violation stops the program. */
void rh__pools_check(rh_heap *h);

/* The heap owning a block/object pointer, or NULL if it is not refheap's
 * (immortal static objects have none). O(1). A pointer into a pool block
 * names its block wherever it points; one into a system block at its start
 * or RH_ALIGNMENT bytes in (where a container's object starts: the
 * collector's record is that long, gc_state.h). */
rh_heap *rh__heap_of(const void *p);

/* Debug-mode thread check around public entry points that touch a heap. */
void rh__enter(rh_heap *h);
void rh__leave(rh_heap *h);

/* The allocator's bytes in use (rh_heap_stats.bytes_in_use), computed now. */
size_t rh__bytes_in_use(const rh_heap *h);

/* rh_realloc (p NULL: rh_malloc) of a block that allocation tracing does
 * not trace: the library's own bookkeeping whose size follows its
 * internal schedule, not the program's allocations (the collector's
 * arrays). Tracing's shim is out of the stack for the call, so the block
 * gets no trace, in any mode; everything else is as rh_realloc (the fault
 * injector counts the call and may fail it, the statistics count the
 * block, the heap's error is set on failure). Freed with rh_free: the
 * free of an untraced block changes nothing in the trace. */
void *rh__mem_realloc_untraced(rh_heap *h, void *p, size_t n);

#endif
