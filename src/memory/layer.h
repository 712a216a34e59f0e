/*
 * layer.h — the one interface between the allocator's layers, in the spirit
 * of lua_Alloc and sqlite3_mem_methods: a table of a few operations
 * (rh__mem_methods) and, per heap, a stack of layers (rh__mem_layer: the
 * table, the layer's state, the layer below) whose top serves every call
 * the inline fast paths of alloc_priv.h do not.
 *
 * Two kinds of layer implement it:
 *   back ends, which own memory:
 *     pools   (backends.c) a small block (<= RH_SMALL_MAX) from the pools,
 *             anything bigger from the system allocator (sysmem.c);
 *     system  (backends.c) every block from the system allocator;
 *   shims, which own none and wrap whatever is below them:
 *     debug   (debugmem.c) a header, guards, fills, a serial and the site
 *             around each block of the layer below, quarantine after free,
 *             the one-thread-at-a-time check;
 *     fault   (fault.c) counts the allocating calls and fails the chosen
 *             one without calling below; everything else passes through;
 *     trace   (tools/trace.c) allocation tracing: enters the trace of
 *             every block the layer below hands out and forgets it before
 *             the block goes back (moves it across a realloc).
 *
 * The stacks (alloc.c's rh__alloc_init chooses them by mode; arming the
 * fault injector pushes its shim, disarming pops it; starting allocation
 * tracing pushes its shim, rh__mem_trace_set, under the fault shim if that
 * is armed, stopping pops it; rh__mem_realloc_untraced pops it for the
 * one call of a block tracing must not see, and pushes it back):
 *
 *   pools mode    pools                    (the fast paths serve most calls)
 *   malloc mode   system
 *   debug mode    debug -> pools
 *   tracing       trace -> any of the above
 *   armed         fault -> any of the above (tracing or not)
 *
 * Tracing alone in pools mode keeps in-line traced paths that do not go
 * through the stack (alloc_priv.h, memory/trace_fast.h): a small block's
 * pop and push with its trace; the trace shim serves the rest.
 *
 * The contract of every layer L (h = L->heap; "below" = L->below, NULL for
 * a back end):
 *   alloc(L, n, zero, file, line)
 *       returns a block of at least n usable bytes, 16-byte aligned, zeroed
 *       when `zero`, owned by h; or NULL when out of memory, with nothing
 *       changed (no error set, no block, no counter of alloc.c moved). The
 *       caller (alloc.c's front, or the layer above) owns the block.
 *   free(L, p, header_offset, file, line)
 *       p is not NULL. Stops the program (rh__fatal, naming file:line) when
 *       p is not a live block of h that this layer handed out; else takes
 *       the block back. header_offset is the object layer's refcount word
 *       in the block (RH__NO_REFCNT for raw memory): a shim that keeps the
 *       memory (debug's quarantine) zeroes it there.
 *   realloc(L, p, n, file, line)
 *       p is not NULL and is checked as free checks it. Returns a block of
 *       at least n bytes holding p's first min(old, n) bytes, p freed unless
 *       it is the result; or NULL when out of memory, p intact and still
 *       the caller's.
 *   usable(L, p)
 *       p's usable size if p is a live block of h from this layer, else 0.
 *   check(L, p, op, file, line)
 *       stops the program, as free would, when p may not be given to free
 *       or realloc (`op` names the call in the message); else nothing.
 *   mark(L, p, op)
 *       p is a live block of h that this layer handed out (checked as free
 *       checks it, "mark" naming the call); sets, clears or tests its mark
 *       (op: memory/marks.h) and returns whether it was set before. A back
 *       end keeps the bit (the pools' mark plane, a system block's header);
 *       a shim that hands out pointers of its own (debug) translates p to
 *       its block below and asks there; the others pass the call down.
 *   next_marked(L, w)
 *       one step of the walk w (memory/marks.h: the order and the contract
 *       a walk keeps while the program runs between steps): the next marked
 *       block of h as this layer hands it out, or NULL at the end. A back
 *       end walks its pools, then its system blocks; a shim translates
 *       the block below's pointer to its own (debug: past its header) or
 *       passes it through. In pools mode most steps do not come here:
 *       they are served in line from the word the cursor keeps (marks.h),
 *       which is why a shim of that mode may only pass the walk through.
 *   The caller unmarks a block before it frees or reallocates it: free and
 *   realloc do not look at the mark (a pool block's stays in the plane; a
 *   system block's goes with its header), except debug mode's, which stops
 *   the program on a marked block (misuse: memory/marks.h's essay).
 * The counters of calls, frees, reallocs and failures, the peak, the
 * error state and the public entry points' argument handling (NULL,
 * calloc's overflow) are alloc.c's, above every layer: a layer changes
 * only its own state (the pools', the system blocks', debug mode's, the
 * injector's countdown, the tracer's tables).
 * A back end's blocks and a shim's wrapping are the heap's until
 * rh__alloc_fini, which releases the back end's memory wholesale (the
 * shims' fini run first).
 */
#ifndef REFHEAP_MEMORY_LAYER_H
#define REFHEAP_MEMORY_LAYER_H

#include "memory/marks.h"

typedef struct rh__mem_layer rh__mem_layer; /* alloc_state.h */

typedef struct rh__mem_methods {
    const char *name; /* "pools", "system", "debug", "fault" */
    void *(*alloc)(rh__mem_layer *L, size_t n, bool zero, const char *file, int line);
    void (*free)(rh__mem_layer *L, void *p, size_t header_offset, const char *file, int line);
    void *(*realloc)(rh__mem_layer *L, void *p, size_t n, const char *file, int line);
    size_t (*usable)(rh__mem_layer *L, const void *p);
    void (*check)(rh__mem_layer *L, const void *p, const char *op, const char *file, int line);
    bool (*mark)(rh__mem_layer *L, void *p, rh__mark_op op);
    void *(*next_marked)(rh__mem_layer *L, rh__mark_walk *w);
} rh__mem_methods;

extern const rh__mem_methods rh__mem_pools;  /* backends.c */
extern const rh__mem_methods rh__mem_system; /* backends.c */
extern const rh__mem_methods rh__mem_debug;  /* debugmem.c */
extern const rh__mem_methods rh__mem_fault;  /* fault.c */
/* The trace shim's table is the tracer's (tools/trace.c, a room above,
 * passes it in): the allocator holds the stack's slot for it and never
 * names it. */

/* Pushes h's trace shim with the methods m (m not NULL) or pops it (m
 * NULL), and sets or clears RH__SLOW_TRACE with it: the shim goes on top,
 * or right under the fault shim when that is armed (alloc.c). */
void rh__mem_trace_set(rh_heap *h, const rh__mem_methods *m);

/* The stack of h from the top, names joined by '>' (e.g. "fault>debug>pools")
 * into buf (truncated to cap bytes, NUL-terminated); returns buf. For tests
 * and reports. */
char *rh__mem_stack_describe(const rh_heap *h, char *buf, size_t cap);
/* Stops the program when h's stack does not match its mode and the fault
 * bit of the slow word (RH_DEBUG >= 1 runs it when the stack changes;
 * rh__pools_check's callers at level 3 too). */
void rh__mem_stack_check(const rh_heap *h);

#endif /* REFHEAP_MEMORY_LAYER_H */
