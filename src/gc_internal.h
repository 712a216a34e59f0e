/*
 * gc_internal.h — the collector's interface to the rest of refheap. Owned by
 * gc.c (and gcapi.c, the introspection half of the gc module).
 *
 * The state of one heap's collector. Invariants between collections:
 *   - every tracked container is on exactly one of the lists gens[0..2] and
 *     permanent (circular, doubly linked through rh__gchead, sentinels here);
 *   - no tracked object carries the COLLECTING or UNREACHABLE flag;
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

/* Called by object allocation after a container's block was allocated (before
 * the object is returned; it is not tracked yet): counts it in generation 0
 * and may run an automatic collection. */
void rh__gc_on_alloc(rh_heap *h);
/* Called when a container's memory is freed. */
void rh__gc_on_free(rh_heap *h);

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

#endif
