/*
 * gc_internal.h — the collector's interface to the rest of refheap. Owned by
 * gc.c (and gcapi.c, the introspection half of the gc module).
 *
 * The state of one heap's collector. Invariants between collections:
 *   - every tracked container is on exactly one of the lists gens[0..2] and
 *     permanent (circular, doubly linked through rh__gchead, sentinels here);
 *   - no tracked object carries the COLLECTING or UNREACHABLE flag;
 *   - every tracked object's rh_gcword is 0 (the collector's scratch word:
 *     a full collection relies on it to fuse its first two passes);
 *   - count[0] = containers allocated minus containers freed since the last
 *     collection (never below 0); count[g] (g > 0) = collections of
 *     generation g-1 since the last collection of generation g;
 *   - long_lived_total = survivors of the last full collection,
 *     long_lived_pending = objects moved from generation 1 into 2 since then.
 * During a collection (collecting == true) the collected generations sit on
 * lists local to the collection; see the essay in gc.c.
 */
#ifndef REFHEAP_GC_INTERNAL_H
#define REFHEAP_GC_INTERNAL_H

/* A registered rh_gc_callback. */
typedef struct rh__gc_cbentry {
    rh_gc_callback cb;
    void *data;
} rh__gc_cbentry;

struct rh__gc_state {
    /* List sentinels. 16-byte aligned so that their addresses leave the low
     * four bits of rh__gchead.prev free for the flags. */
    _Alignas(16) rh__gchead gens[RH_GC_GENERATIONS];
    _Alignas(16) rh__gchead permanent; /* gc.freeze()'s generation */

    long threshold[RH_GC_GENERATIONS];
    long count[RH_GC_GENERATIONS];
    /* count[0] above this sends an allocation to rh__gc_alloc_slow: it is
     * threshold[0] while automatic collection may run (enabled, threshold[0]
     * != 0, not finished) and LONG_MAX otherwise, so the allocation fast path
     * tests one word whatever the settings (gc.c keeps it in step). */
    long trigger;
    size_t long_lived_total;
    size_t long_lived_pending;

    bool enabled;    /* automatic collection (gc.enable / gc.disable)       */
    bool collecting; /* a collection (or the last one, at destruction) runs */
    bool finished;   /* rh__gc_fini ran: no more automatic collections      */
    unsigned debug;  /* RH_GC_DEBUG_* flags                                 */

    rh_gc_genstats stats[RH_GC_GENERATIONS];

    rh_object *garbage; /* gc.garbage: a list, created on first need        */

    rh__gc_cbentry *callbacks; /* gc.callbacks, in registration order       */
    size_t ncallbacks, capcallbacks;

    rh_gc_sink sink; /* NULL: stderr */
    void *sink_data;
};

/* Object allocation, after a container's block was allocated (before the
 * object is returned; it is not tracked yet), calls
 *     if (rh__gc_count_alloc(&h->gc)) rh__gc_alloc_slow(h);
 * which counts it in generation 0 and, past `trigger`, may run an automatic
 * collection. (Inline halves take the state: struct rh_heap is complete
 * only after this header.) */
void rh__gc_alloc_slow(rh_heap *h);
static inline bool rh__gc_count_alloc(struct rh__gc_state *st) {
    return RH_UNLIKELY(++st->count[0] > st->trigger);
}
/* Called when a container's memory is freed. */
static inline void rh__gc_count_free(struct rh__gc_state *st) {
    if (st->count[0] > 0) st->count[0]--;
}

/* A new container's record, written by object.c as it allocates one:
 * untracked (next 0), and the allocating heap kept in prev above the flags,
 * so that rh_gc_track of a container never tracked before (the usual
 * "create, fill, track") finds its heap in the object's own memory, without
 * asking the allocator. The hint lives and dies with the object, so it
 * names the right heap whatever thread created, freed or reused what. */
static inline rh__gchead rh__gc_new_record(rh_heap *h) {
    return (rh__gchead){0, (uintptr_t)h};
}
/* The heap hint of an untracked container: its heap, or NULL once it has
 * been tracked (untracking keeps flags only). */
static inline rh_heap *rh__gc_heap_hint(const rh__gchead *g) {
    return (rh_heap *)(g->prev & ~RH__GC_FLAGS_MASK);
}

/* Links an untracked container (its record's links are ignored; its flags
 * are dropped but FINALIZED) at the end of generation 0: the append of
 * rh_gc_track and of object.c's "create tracked" fast path, inline. The
 * sentinel carries no flags. */
static inline void rh__gc_link_young(struct rh__gc_state *st, rh__gchead *g) {
    rh__gchead *l = &st->gens[0];
    rh__gchead *tail = (rh__gchead *)(l->prev & ~RH__GC_FLAGS_MASK);
    g->next = (uintptr_t)l;
    g->prev = (uintptr_t)tail | (g->prev & RH__GC_FINALIZED);
    tail->next = (uintptr_t)g;
    l->prev = (uintptr_t)g;
}
/* The same for a container just allocated (no flag to keep). */
static inline void rh__gc_link_new(struct rh__gc_state *st, rh__gchead *g) {
    rh__gchead *l = &st->gens[0];
    rh__gchead *tail = (rh__gchead *)(l->prev & ~RH__GC_FLAGS_MASK);
    g->next = (uintptr_t)l;
    g->prev = (uintptr_t)tail;
    tail->next = (uintptr_t)g;
    l->prev = (uintptr_t)g;
}

/* Unlinks a tracked container from whatever list holds it and marks it
 * untracked (next = 0), keeping only the FINALIZED flag. The untrack of
 * rh_gc_untrack and of object death (object.c), inline. */
static inline void rh__gc_untrack_node(rh__gchead *g) {
    rh__gchead *p = (rh__gchead *)(g->prev & ~RH__GC_FLAGS_MASK), *n = (rh__gchead *)g->next;
    p->next = (uintptr_t)n;
    n->prev = (uintptr_t)p | (n->prev & RH__GC_FLAGS_MASK);
    g->next = 0;
    g->prev &= RH__GC_FINALIZED;
}

/* Writes one line to the heap's gc sink (stderr by default). printf-style;
 * the line is formatted into a fixed buffer (no allocation) and truncated at
 * RH__GC_LINE_MAX - 1 bytes. */
#define RH__GC_LINE_MAX 512
void rh__gc_printf(rh_heap *h, const char *fmt, ...) RH_PRINTF(2, 3);

/* The list sentinel of generation g (0..2), or of the permanent generation
 * for g == RH_GC_GENERATIONS (gcapi.c walks them). */
rh__gchead *rh__gc_list(rh_heap *h, int g);

/* gc.garbage, created on first need; NULL (RH_ENOMEM) when out of memory. */
rh_object *rh__gc_garbage_list(rh_heap *h);

/* Invariant check (RH_DEBUG >= 3; see internal.h): the invariants above
 * over every tracked object. A violation stops the program. */
void rh__gc_check(rh_heap *h);

#endif
