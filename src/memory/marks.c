/*
 * marks.c — the out-of-line half of memory/marks.h (whose essay is the
 * design): a mark through the heap's layer stack, and the walk's cursor
 * (open, close, and the step out of line, over the stack's next_marked,
 * for what the step in line cannot serve).
 */
#include "memory/layer.h"

bool rh__mark_slow(rh_heap *h, void *p, rh__mark_op op) {
    rh__mem_layer *top = h->alloc.top;
    return top->m->mark(top, p, op);
}

void rh__mark_walk_begin(rh_heap *h, rh__mark_walk *w) {
    w->heap = h;
    w->phase = RH__WALK_POOLS;
    w->pos = 0;
    w->kept = NULL;
    w->rest = 0;
    w->large = NULL;
    w->scanned = 0;
    w->budget = 0;
    w->prev = NULL;
    w->next = h->alloc.walks;
    if (w->next) w->next->prev = w;
    h->alloc.walks = w;
}

void *rh__mark_walk_step(rh__mark_walk *w) {
    if (w->phase == RH__WALK_DONE) return NULL;
    rh__mem_layer *top = w->heap->alloc.top;
    return top->m->next_marked(top, w);
}

void rh__mark_walk_end(rh__mark_walk *w) {
    rh_heap *h = w->heap;
    if (w->prev) w->prev->next = w->next;
    else h->alloc.walks = w->next;
    if (w->next) w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->rest = 0;
    w->large = NULL;
    w->phase = RH__WALK_DONE;
}
