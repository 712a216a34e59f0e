/*
 * heap.c — the heap's life cycle, at the top of src/: creating a heap (its
 * mode chosen, every room's init hook run in layer order) and destroying it.
 *
 * A heap owns all memory of one refheap world. Creating one maps nothing; it
 * runs the subsystems' init hooks in order (allocator, objects, collector,
 * weak references) and undoes the earlier ones if a later one fails.
 * Destroying it runs the weakref.finalize callbacks still due, the collector's
 * last collection, then the fini hooks in reverse order; the allocator's
 * fini, last, unmaps every arena and frees every system block, so no byte of
 * the heap survives it.
 *
 * Modes (rh_mode). RH_MODE_DEFAULT is resolved once, at creation, from the
 * environment variable REFHEAP_MALLOC ("pools", "malloc", "debug"; anything
 * else means pools). The mode never changes afterwards.
 *
 * What the heap record (base/heap.h) holds besides the rooms' states, the
 * error state and the mode, is read and written by base/base.c; the
 * allocator's entry points and statistics are memory/alloc.c's, its fault
 * injector memory/fault.c's.
 */

#include "internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * Modes and life cycle
 * ------------------------------------------------------------------------- */

static rh_mode mode_from_env(void) {
    const char *e = getenv("REFHEAP_MALLOC");
    if (e && strcmp(e, "malloc") == 0) return RH_MODE_MALLOC;
    if (e && strcmp(e, "debug") == 0) return RH_MODE_DEBUG;
    return RH_MODE_POOLS;
}

/* The arena decay delay of a new heap (see rh_heap_config.arena_decay_ms). */
static uint64_t decay_from(long ms) {
    if (ms < 0) return 0;
    if (ms > 0) return (uint64_t)ms;
    const char *e = getenv("REFHEAP_ARENA_DECAY_MS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == '\0' && v >= 0) return (uint64_t)v;
    }
    return (uint64_t)RH_ARENA_DECAY_DEFAULT_MS;
}

rh_heap *rh_heap_new(const rh_heap_config *cfg) {
    rh_mode mode = cfg ? cfg->mode : RH_MODE_DEFAULT;
    if (mode == RH_MODE_DEFAULT) mode = mode_from_env();
    if (mode != RH_MODE_POOLS && mode != RH_MODE_MALLOC && mode != RH_MODE_DEBUG) return NULL;
    if (cfg && (unsigned)cfg->gc_policy > RH_GC_POLICY_INCREMENTAL) return NULL;
    void *mem = NULL;
    /* 16-byte alignment: the block registry keeps a kind in the low bits */
    if (posix_memalign(&mem, RH_ALIGNMENT, sizeof(rh_heap)) != 0) return NULL;
    rh_heap *h = mem;
    memset(h, 0, sizeof *h);
    h->mode = mode;
    h->magic = RH__HEAP_MAGIC;
    h->alloc.quarantine_cap = cfg ? cfg->debug_quarantine : 0;
    h->alloc.decay_ms = decay_from(cfg ? cfg->arena_decay_ms : 0);
    if (rh__alloc_init(h) != 0) goto fail_alloc;
    if (rh__obj_init(h) != 0) goto fail_obj;
    if (rh__gc_init(h) != 0) goto fail_gc;
    /* A policy named in the config wins over REFHEAP_GC (read by rh__gc_init). */
    if (cfg && cfg->gc_policy != RH_GC_POLICY_DEFAULT) h->gc.policy = cfg->gc_policy;
    rh__gc_layout_init(h); /* the containers' layout follows the policy */
    if (rh__weak_init(h) != 0) goto fail_weak;
    h->weak.referent_waiting = rh__dealloc_waiting; /* the invariant check's test (weak_state.h) */
    return h;
fail_weak:
    rh__gc_fini(h);
fail_gc:
    rh__obj_fini(h);
fail_obj:
    rh__alloc_fini(h);
fail_alloc:
    h->magic = 0;
    free(h);
    return NULL;
}

/* rh_heap_destroy from code the heap is running (a gc callback, a
 * finalizer, a weakref callback, a destroy or clear hook) would free the
 * heap under its caller, who goes on using it: stopped in every mode. */
static void check_destroy_reentry(rh_heap *h) {
    if (h->destroying)
        rh__fatal("rh_heap_destroy(%p) called while that heap is being destroyed (from a finalizer, "
                  "weakref callback or hook run by its destruction)", (void *)h);
    if (h->gc.collecting)
        rh__fatal("rh_heap_destroy(%p) called during a collection of that heap (from a gc callback, "
                  "finalizer, weakref callback or clear hook)", (void *)h);
    if (rh__obj_dying_in(h))
        rh__fatal("rh_heap_destroy(%p) called while an object of that heap is being destroyed (from "
                  "its finalizer, a weakref callback or a destroy hook)", (void *)h);
}

void rh_heap_destroy(rh_heap *h) {
    if (!h) return;
    check_destroy_reentry(h);
#if RH_DEBUG >= 3
    rh__heap_check(h, "heap destruction");
#endif
    h->destroying = true;
    rh__tools_fini(h);
    rh__weak_atexit(h);
    rh__gc_fini(h);
    rh__weak_fini(h);
    rh__obj_fini(h);
    rh__alloc_fini(h);
    h->magic = 0;
    free(h);
}
