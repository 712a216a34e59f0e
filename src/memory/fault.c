/*
 * fault.c — the fault injector, a shim of the layer interface
 * (memory/layer.h) that makes the n-th allocating call fail.
 *
 * rh_heap_fail_after(h, n, persistent) arms it: the shim is pushed on top of
 * the heap's stack (over whatever the mode put there: pools, system, or
 * debug over pools) and RH__SLOW_FAULT is set in the slow word, so that the
 * inline fast paths send every call to alloc.c's slow paths, which call the
 * top of the stack. Every allocating call that reaches the shim (alloc and
 * realloc; malloc, calloc, realloc and object allocation all become one of
 * these) counts down; the n-th fails: the shim returns NULL without calling
 * the layer below, so nothing changes anywhere (no block, no counter of the
 * layers, no debug serial), and alloc.c's front records the failure
 * (rh_heap_stats.failed, RH_ENOMEM) exactly as for a real one. A
 * persistent injector fails every later call too, until disarmed; a
 * one-shot one pops itself (and clears the bit) as it fails. Arming with
 * n <= 0 disarms. free, usable, check, mark and next_marked pass straight
 * through.
 *
 * A realloc checks its pointer (the layer below's check) before counting, so
 * a bad pointer stops the program whether or not this call is the one to
 * fail.
 *
 * Invariant: the shim is on top of the stack  <=>  RH__SLOW_FAULT is set
 * (rh__mem_stack_check); it is never below another layer, and never twice.
 */
#include "memory/alloc_priv.h"
#include "memory/layer.h"

/* Pushes (armed) or pops (disarmed) the shim so the stack and the slow bit
 * agree. */
static void set_armed(rh_heap *h, bool armed) {
    struct rh__alloc_state *A = &h->alloc;
    if (armed && A->top != &A->fault) {
        A->fault.below = A->top;
        A->top = &A->fault;
        rh__alloc_slow_set(h, A->slow | RH__SLOW_FAULT);
    } else if (!armed && A->top == &A->fault) {
        A->top = A->fault.below;
        A->fault.below = NULL;
        rh__alloc_slow_set(h, A->slow & ~RH__SLOW_FAULT);
    }
}

void rh_heap_fail_after(rh_heap *h, long n, bool persistent) {
    struct rh__alloc_state *A = &h->alloc;
    A->failing = false;
    A->fail_persistent = persistent;
    A->fail_countdown = n > 0 ? n : 0;
    set_armed(h, n > 0);
#if RH_DEBUG >= 1
    rh__mem_stack_check(h);
#endif
}

/* This allocating call's fate: true = let it through. */
static bool pass(rh__mem_layer *L) {
    struct rh__alloc_state *A = &L->heap->alloc;
    if (A->failing) return false;
    if (--A->fail_countdown > 0) return true;
    if (A->fail_persistent) A->failing = true;
    else set_armed(L->heap, false); /* L stays valid: the heap's own record */
    return false;
}

static void *fault_alloc(rh__mem_layer *L, size_t n, bool zero, const char *file, int line) {
    rh__mem_layer *below = L->below;
    if (!pass(L)) return NULL;
    return below->m->alloc(below, n, zero, file, line);
}

static void fault_free(rh__mem_layer *L, void *p, size_t header_offset, const char *file, int line) {
    L->below->m->free(L->below, p, header_offset, file, line);
}

static void *fault_realloc(rh__mem_layer *L, void *p, size_t n, const char *file, int line) {
    rh__mem_layer *below = L->below;
    below->m->check(below, p, "realloc", file, line);
    if (!pass(L)) return NULL;
    return below->m->realloc(below, p, n, file, line);
}

static size_t fault_usable(rh__mem_layer *L, const void *p) { return L->below->m->usable(L->below, p); }

static void fault_check(rh__mem_layer *L, const void *p, const char *op, const char *file, int line) {
    L->below->m->check(L->below, p, op, file, line);
}

/* Marks allocate nothing: they pass through, as the walk does. */
static bool fault_mark(rh__mem_layer *L, void *p, rh__mark_op op) { return L->below->m->mark(L->below, p, op); }

static void *fault_next_marked(rh__mem_layer *L, rh__mark_walk *w) {
    return L->below->m->next_marked(L->below, w);
}

const rh__mem_methods rh__mem_fault = {
    .name = "fault",
    .alloc = fault_alloc,
    .free = fault_free,
    .realloc = fault_realloc,
    .usable = fault_usable,
    .check = fault_check,
    .mark = fault_mark,
    .next_marked = fault_next_marked,
};
