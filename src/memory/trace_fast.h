/*
 * trace_fast.h — the common case of allocation tracing, in line in the
 * allocator's traced paths (alloc.c's rh__malloc_traced and
 * rh__free_traced, object.c's traced creation and death), and the part of
 * the tracer's state (src/tools/trace.c) that it reads. It lives in the
 * allocator's room, which compiles it in; the tracer, a room above, owns
 * the state (the first member of its struct rh__tools), fills its caches
 * and keeps its invariants.
 *
 * While the heap's slow word is RH__SLOW_TRACE alone (pools mode, no fault
 * injector, no Valgrind), a small block is popped from and pushed to its
 * pool as on the untraced fast paths, and its trace is entered or forgotten
 * here, without a call, when:
 *   an allocation: its (file, line, type name) is in the site cache, a
 *     direct-mapped cache of RH__TRACE_SCACHE entries -> trace id (filled
 *     by trace.c with the site only, after a pushed site has replaced
 *     refheap's own, and emptied when a site is pushed), its pool is the
 *     one its class's entry of the pool cache names (pcache: the pool of
 *     that class whose array an allocation used last) or its arena is in
 *     the arena cache (acache: the direct-mapped cache of arena number ->
 *     the tracer's record of the arena), and its pool has a side array of
 *     the block's class (one that holds an id, or its class's spare left
 *     in place: then it is in use again);
 *   a free: its pool is in the pool cache or its arena in the arena
 *     cache; then its pool's array (none, or the spare: the block is
 *     untraced) gives its id, and the slot is cleared, unless it is the
 *     array's last id while its class has a spare already (that spare is
 *     freed: trace.c).
 * Everything else (a miss of either cache, tracebacks, a new pool or arena)
 * calls the hook (h->alloc.trace->hooks), whose full path also fills the
 * caches. Both halves keep the tracer's counters exact: traced bytes
 * (current), their peak, and traced pool blocks (plive). The invariants
 * behind the shortcuts (an array holding an id proves its pool is carved
 * for its class in a mapped arena of this heap; a spare has no id) are
 * trace.c's essay's.
 */
#ifndef REFHEAP_TRACE_FAST_H
#define REFHEAP_TRACE_FAST_H

#include "memory/alloc_priv.h"

/* The side storage of pool blocks (trace.c): for every arena that held a
 * traced block, one record of 64 pool entries; for every pool holding a
 * traced block, one array of trace ids by block position. */
typedef struct rh__side_pool {
    uint32_t count;           /* non-zero slots                             */
    uint32_t magic;           /* rh__class_divmagic[cls]: slot = offset * magic >> 32 */
    uint16_t size;            /* rh__class_size(cls)                        */
    uint8_t cls;              /* the pool's size class when the array was made */
    uint32_t ids[];           /* capacity(cls) slots: trace id + 1, 0: untraced */
} rh__side_pool;
#define RH__TRACE_ACACHE 256 /* entries of the tracer's arena cache (a power of two) */
typedef struct rh__side_arena {
    uintptr_t base;           /* the arena's 1 MiB-aligned address          */
    unsigned npools;          /* non-NULL entries of pools[]                */
    rh__side_pool *pools[RH__POOLS_PER_ARENA];
} rh__side_arena;
typedef struct rh__arena_cached {
    uint32_t key;             /* arena number (address >> 20)               */
    rh__side_arena *arena;
} rh__arena_cached;

/* An entry of the pool cache: the pool (its address, base) of class c
 * whose array an allocation of class c used last, that array and the
 * tracer's record of its arena. base 0: none. While base is not 0, sp is
 * ar->pools[(base >> 14) mod 64] and of class c (trace.c clears the entry
 * when it takes an array from its pool). */
typedef struct rh__pool_cached {
    uintptr_t base;
    rh__side_pool *sp;
    rh__side_arena *ar;
} rh__pool_cached;

/* An entry of the site cache: (file, line, type name) -> trace id + 1 (the
 * value of a side array's slot). An empty entry has line INT_MIN (a NULL
 * file at line 0 is a real site). */
#define RH__TRACE_SCACHE 64 /* entries of the site cache (a power of two) */
typedef struct rh__site_cached {
    const char *file, *type;
    int line;
    uint32_t slot;            /* trace id + 1                               */
} rh__site_cached;

/* The tracer's hot state; h->alloc.trace points to it while RH__SLOW_TRACE
 * is set (it is the first member of trace.c's struct rh__tools). */
typedef struct rh__trace_fast {
    const rh__trace_hooks *hooks; /* the out-of-line rest (alloc_internal.h) */
    uint64_t current, peak;   /* traced bytes (usable sizes)                */
    size_t plive;             /* traced pool blocks (non-zero slots)        */
    void *last_block;         /* the block traced last by the full path (trace.c) */
    /* spare[c]: the array of class c emptied last, all zeros, left in its
     * pool (spare_arena[c]->pools[spare_pool[c]]) for the next pool of
     * class c that needs one; NULL: none. */
    rh__side_pool *spare[RH_NUM_CLASSES];
    rh__side_arena *spare_arena[RH_NUM_CLASSES];
    uint8_t spare_pool[RH_NUM_CLASSES];
    /* slot (number mod 256) holds the arena looked up last among those
     * numbers (key UINT32_MAX: none) */
    rh__arena_cached acache[RH__TRACE_ACACHE];
    rh__site_cached sites[RH__TRACE_SCACHE];
    rh__pool_cached pcache[RH_NUM_CLASSES];
} rh__trace_fast;

/* The site cache's slot of (file, line, type). */
RH__HOT_INLINE rh__site_cached *rh__trace_site_slot(rh__trace_fast *F, const char *file, int line,
                                                    const char *type) {
    uintptr_t x = ((uintptr_t)file ^ (uintptr_t)type) >> 4 ^ (uintptr_t)(unsigned)line;
    return &F->sites[x & (RH__TRACE_SCACHE - 1)];
}

/* The arena cache's slot of arena number key. */
RH__HOT_INLINE rh__arena_cached *rh__trace_acache(rh__trace_fast *F, uint32_t key) {
    return &F->acache[key & (RH__TRACE_ACACHE - 1)];
}

/* p's slot in its pool's array: offset / s by the multiplication of
 * rh__pool_block_start's constant M = ceil(2^32 / s) (trace.c's essay). */
RH__HOT_INLINE uint32_t rh__trace_side_index(uintptr_t a, const rh__side_pool *sp) {
    uint32_t off = (uint32_t)(a & (RH_POOL_SIZE - 1));
    return (uint32_t)(((uint64_t)off * sp->magic) >> 32);
}

/* The trace id + 1 of a new block allocated at file:line for an object of
 * type `type` (NULL: raw memory) from the site cache, or 0: not cached
 * (the caller calls the allocation hook, rh__trace_alloc_hook). */
RH__HOT_INLINE uint32_t rh__trace_site_slot_value(rh_heap *h, const char *file, int line, const char *type) {
    const rh__site_cached *s = rh__trace_site_slot(h->alloc.trace, file, line, type);
    return RH_LIKELY(s->file == file && s->line == line && s->type == type) ? s->slot : 0;
}

/* Enters p, a block of class c just popped from its pool, with trace id
 * slot - 1 (slot from rh__trace_site_slot_value, not 0), in line; false:
 * the caller calls rh__trace_record_hook. */
RH__HOT_INLINE bool rh__trace_alloc_slot(rh_heap *h, void *p, unsigned c, uint32_t slot) {
    rh__trace_fast *F = h->alloc.trace;
    uintptr_t a = (uintptr_t)p, base = a & ~(uintptr_t)(RH_POOL_SIZE - 1);
    rh__pool_cached *pc = &F->pcache[c];
    rh__side_pool *sp = pc->sp;
    if (RH_UNLIKELY(pc->base != base)) { /* another pool: its arena's record, through the arena cache */
        uint32_t key = (uint32_t)(a >> RH__ARENA_SHIFT);
        const rh__arena_cached *e = rh__trace_acache(F, key);
        if (RH_UNLIKELY(e->key != key)) return false;
        sp = e->arena->pools[(a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1)];
        if (RH_UNLIKELY(sp == NULL || sp->cls != c)) return false;
        *pc = (rh__pool_cached){base, sp, e->arena};
    }
    uint32_t *ids = &sp->ids[rh__trace_side_index(a, sp)];
    rh__assert(*ids == 0); /* a block just popped is not traced */
    *ids = slot;
    if (RH_UNLIKELY(sp->count++ == 0)) F->spare[c] = NULL; /* the spare in place: in use */
    F->plive++;
    uint64_t cur = F->current + sp->size;
    F->current = cur;
    if (cur > F->peak) F->peak = cur;
    return true;
}

/* The hook of an allocation (the full path); returns p. */
static inline void *rh__trace_alloc_hook(rh_heap *h, void *p, unsigned c, const char *file, int line,
                                         const char *type) {
    return h->alloc.trace->hooks->alloc(h, p, rh__class_size(c), file, line, type);
}

/* The trace of pool block p of class c, allocated at file:line (type: the
 * object's type name, or NULL): in line when the site and the pool are in
 * the caches, else the hook. Returns p. */
static inline void *rh__trace_enter(rh_heap *h, void *p, unsigned c, const char *file, int line, const char *type) {
    uint32_t slot = rh__trace_site_slot_value(h, file, line, type); /* trace id + 1; 0: not cached */
    if (slot != 0 && rh__trace_alloc_slot(h, p, c, slot)) return p;
    return rh__trace_alloc_hook(h, p, c, file, line, type);
}

/* The hook that enters p with a known trace (slot: its id + 1; the full
 * path). */
static inline void rh__trace_record_hook(rh_heap *h, void *p, uint32_t slot) {
    h->alloc.trace->hooks->attach(h, p, slot - 1, NULL, 0);
}

/* Forgets p, a pool block of h of class c about to be pushed back (its
 * start checked), in line; false: the caller calls the hook,
 * rh__trace_free_hook, before the push. */
RH__HOT_INLINE bool rh__trace_free_try(rh_heap *h, void *p, unsigned c) {
    rh__trace_fast *F = h->alloc.trace;
    uintptr_t a = (uintptr_t)p;
    const rh__pool_cached *pc = &F->pcache[c];
    rh__side_pool *sp = pc->sp;
    rh__side_arena *ar = pc->ar;
    if (RH_UNLIKELY(pc->base != (a & ~(uintptr_t)(RH_POOL_SIZE - 1)))) {
        uint32_t key = (uint32_t)(a >> RH__ARENA_SHIFT);
        const rh__arena_cached *e = rh__trace_acache(F, key);
        if (RH_UNLIKELY(e->key != key)) return false;
        ar = e->arena;
        sp = ar->pools[(a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1)];
        if (sp == NULL) return true; /* no array: an untraced block */
    }
    if (sp->count == 0) return true; /* the spare (no id): an untraced block */
    uint32_t *slot = &sp->ids[rh__trace_side_index(a, sp)];
    if (*slot == 0) return true; /* an untraced block */
    if (RH_UNLIKELY(sp->count == 1 && F->spare[c] != NULL)) return false; /* the old spare is freed */
    *slot = 0;
    if (--sp->count == 0) { /* the array stays as its class's spare */
        F->spare[c] = sp;
        F->spare_arena[c] = ar;
        F->spare_pool[c] = (uint8_t)((a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1));
    }
    F->plive--;
    F->current -= sp->size;
    if (RH_UNLIKELY(p == F->last_block)) F->last_block = NULL;
    return true;
}

/* The hook of a free (the full path). */
static inline void rh__trace_free_hook(rh_heap *h, void *p, unsigned c) {
    h->alloc.trace->hooks->free(h, p, rh__class_size(c));
}

#endif /* REFHEAP_TRACE_FAST_H */
