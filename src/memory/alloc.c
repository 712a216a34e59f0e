/*
 * alloc.c — the allocator's front end: the public raw-memory entry points,
 * the choice of the heap's layer stack, the statistics, and the owner of a
 * pointer. Below it the layers of memory/layer.h (the fault injector's,
 * allocation tracing's and debug mode's shims, the pools and system back
 * ends; alloc_priv.h draws them); above it, whoever allocates.
 *
 * The layer stack. rh__alloc_init chooses it from the mode: pools mode is
 * the pools back end alone, malloc mode the system back end, debug mode the
 * debug shim over the pools back end; starting allocation tracing pushes
 * its shim (tools/trace.c) on top, rh__mem_trace_set, and arming the fault
 * injector pushes its own above that (fault.c). Every call the fast paths
 * below do not serve goes to h->alloc.top through the interface, after
 * this file has done what is the same in every mode: the counters of
 * calls, frees and reallocs, the failure's count and error (a layer
 * returns NULL and changes nothing), and the peak. No raw-memory entry
 * point tests the mode.
 *
 * The fast paths. Everything a pools-mode call does not need is folded into
 * one word, alloc.slow (RH__SLOW_MODE: not pools mode; RH__SLOW_FAULT: the
 * fault injector is armed; RH__SLOW_TOOLS: running under Valgrind, whose
 * client requests announce every block; RH__SLOW_TRACE: allocation tracing,
 * src/tools/trace.c, whose shim is on the stack; with tracing alone, slow
 * word exactly RH__SLOW_TRACE, a small block keeps the fast path's pop and
 * push, out of line in rh__malloc_traced and rh__free_traced, which the
 * fast paths' slow branches reach before the general slow paths, around
 * the trace's in-line common case (memory/trace_fast.h; a hook call
 * otherwise); and object.c does the same for objects, passing the type
 * name with the block). Two words derived from it (rh__alloc_slow_set
 * writes all three) put its test inside a compare the raw fast paths make
 * anyway: fast_small (RH_SMALL_MAX, 0 when the word is not 0) and
 * fast_owner (h, 1 when the word is not 0). rh_malloc_at tests the size
 * against fast_small, one compare for the word and the size, then pops a
 * block from the class's block cache, else from the head pool of the
 * class (alloc_priv.h); rh_free_at asks the radix tree which heap owns
 * the pointer and compares that owner with fast_owner, one compare for the
 * owner and the word, reads the class of its pool (two loads, no lock, no
 * hash), and pushes the block on the class's block cache, or, when that is
 * full, on its pool, whose header is entry (p >> 14) & 63 of its arena's
 * dense array (alloc_priv.h; pools.c's essay for the cache). Object
 * creation and death (object.c, object_new.h) have no such compare:
 * creation tests the word before it reads the type, which a slow heap's
 * checks must see first, and death learns the heap from the block; both
 * test it as rh__heap_fast, fast_owner == h, one compare.
 * object.c inlines the same fast paths (they live in alloc_priv.h): it
 * allocates with rh__malloc_fast and frees a dead object's block with
 * rh__pool_owner and rh__bcache_push_leaf, which need no heap from their caller:
 * rh__pool_owner's one walk of the tree yields the owner (for the
 * collector's count) and the leaf, from which rh__bcache_push_leaf reads
 * the class in the class map, as the raw free does.
 * Nothing else happens there: no mode switch, no thread check (that
 * is debug mode's, which is slow anyway), no byte counter and no peak.
 * Anything unusual (a NULL, a large block, a foreign pointer, an empty
 * class, an emptied pool) leaves for a slow path, which does the full work.
 *
 * Counters without fast-path cost. The pool layer counts the blocks of each
 * class handed out and given back (alloc.nalloc/nfreed, one increment per
 * call). From them: the pools' bytes in use (sum of the differences times
 * the block sizes); the number of allocating calls, rh_heap_alloc_count
 * (calls seen by the slow paths + blocks the fast path served, i.e. all
 * class pops minus those the slow paths made); the number of frees, likewise.
 * The peak of bytes in use is sampled (rh__note_peak) once each time the
 * heap takes a new pool (after the allocation it serves, or after the
 * failure: a sample before taking it would add nothing, the bytes in use
 * then being those after less the one block), after every slow-path
 * allocation (system blocks included) and at every statistics read. Trade-off: a peak reached and
 * left between two samples without taking a new pool is missed, by at most
 * the free blocks of the pools already in use; every figure that is a
 * current state (bytes in use, blocks, pools) stays exact.
 *
 * The fault injector. Every allocating call (malloc, calloc, realloc, object
 * allocation) counts towards rh_heap_alloc_count; arming the injector sets
 * RH__SLOW_FAULT, so armed calls reach the slow paths and the injector's
 * shim on top of the stack (fault.c), which counts down to the call that
 * must fail. A failure, injected or real, leaves everything as it was,
 * records RH_ENOMEM on the heap (here, failed()) and returns NULL.
 *
 * The block-boundary check of a pool pointer (its offset
 * in the pool a multiple of the block size: rh__pool_block_start) runs on
 * every rh_free and rh_realloc, fast path included; object deaths skip it
 * (refheap made those pointers).
 */

#include "memory/alloc_priv.h"
#include "memory/layer.h"
#include "memory/trace_fast.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Debug mode checks the calling thread, as for every allocator entry. */
size_t rh_heap_trim(rh_heap *h) {
    if (h->mode != RH_MODE_DEBUG) return rh__pools_trim(h);
    rh__enter(h);
    size_t n = rh__pools_trim(h);
    rh__leave(h);
    return n;
}

/* ---------------------------------------------------------------------------
 * The layer stack (memory/layer.h)
 * ------------------------------------------------------------------------- */

static void layer_init(rh__mem_layer *L, const rh__mem_methods *m, rh_heap *h, rh__mem_layer *below) {
    L->m = m;
    L->heap = h;
    L->state = &h->alloc;
    L->below = below;
}

/* The stack of the heap's mode: pools; system; debug over pools. The fault
 * injector's shim goes on top when armed (fault.c). */
static void choose_stack(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    layer_init(&A->back, h->mode == RH_MODE_MALLOC ? &rh__mem_system : &rh__mem_pools, h, NULL);
    A->top = &A->back;
    if (h->mode == RH_MODE_DEBUG) {
        layer_init(&A->debug, &rh__mem_debug, h, &A->back);
        A->top = &A->debug;
    }
    layer_init(&A->fault, &rh__mem_fault, h, NULL);
    layer_init(&A->trace_shim, NULL, h, NULL); /* methods: the tracer's, when pushed */
}

void rh__mem_trace_set(rh_heap *h, const rh__mem_methods *m) {
    struct rh__alloc_state *A = &h->alloc;
    bool on = m != NULL;
    /* the link that points at the layer under which the shim sits: the
     * armed fault shim's, else the top */
    rh__mem_layer **at = A->top == &A->fault ? &A->fault.below : &A->top;
    if (on && !(A->slow & RH__SLOW_TRACE)) {
        A->trace_shim.m = m;
        A->trace_shim.below = *at;
        *at = &A->trace_shim;
        rh__alloc_slow_set(h, A->slow | RH__SLOW_TRACE);
    } else if (!on && (A->slow & RH__SLOW_TRACE)) {
        *at = A->trace_shim.below;
        A->trace_shim.below = NULL;
        rh__alloc_slow_set(h, A->slow & ~RH__SLOW_TRACE);
    }
#if RH_DEBUG >= 1
    rh__mem_stack_check(h);
#endif
}

char *rh__mem_stack_describe(const rh_heap *h, char *buf, size_t cap) {
    size_t len = 0;
    if (!cap) return buf;
    buf[0] = '\0';
    for (const rh__mem_layer *L = h->alloc.top; L; L = L->below) {
        int k = snprintf(buf + len, cap - len, "%s%s", len ? ">" : "", L->m->name);
        if (k < 0 || (size_t)k >= cap - len) break;
        len += (size_t)k;
    }
    return buf;
}

void rh__mem_stack_check(const rh_heap *h) {
    const struct rh__alloc_state *A = &h->alloc;
    const rh__mem_layer *want[4];
    size_t n = 0;
    if (A->slow & RH__SLOW_FAULT) want[n++] = &A->fault;
    if (A->slow & RH__SLOW_TRACE) want[n++] = &A->trace_shim;
    if (h->mode == RH_MODE_DEBUG) want[n++] = &A->debug;
    want[n++] = &A->back;
    const rh__mem_methods *back = h->mode == RH_MODE_MALLOC ? &rh__mem_system : &rh__mem_pools;
    const rh__mem_layer *L = A->top;
    for (size_t i = 0; i < n; i++, L = L->below) {
        if (L != want[i] || L->heap != h)
            rh__fatal("allocator: layer stack of heap %p (mode %s) broken at level %zu", (void *)h,
                      rh_mode_name(h->mode), i);
    }
    if (L != NULL || A->back.m != back || (h->mode == RH_MODE_DEBUG && A->debug.m != &rh__mem_debug))
        rh__fatal("allocator: layer stack of heap %p (mode %s) does not match its mode", (void *)h,
                  rh_mode_name(h->mode));
    if (h->mode == RH_MODE_DEBUG && A->quarantine_len > A->quarantine_cap)
        rh__fatal("allocator: debug quarantine of heap %p holds %zu blocks, more than its %zu", (void *)h,
                  A->quarantine_len, A->quarantine_cap);
    bool fast = A->slow == 0;
    if (A->fast_owner != (fast ? (uintptr_t)h : (uintptr_t)1) || A->fast_small != (fast ? RH_SMALL_MAX : 0))
        rh__fatal("allocator: heap %p: the fast paths' words (owner %#" PRIxPTR ", small %zu) do not match the "
                  "slow word %#x", (void *)h, A->fast_owner, A->fast_small, A->slow);
}

void rh__alloc_slow_set(rh_heap *h, unsigned slow) {
    struct rh__alloc_state *A = &h->alloc;
    A->slow = slow;
    A->fast_owner = slow == 0 ? (uintptr_t)h : (uintptr_t)1;
    A->fast_small = slow == 0 ? RH_SMALL_MAX : 0;
}

int rh__alloc_init(rh_heap *h) {
    if (rh__pools_init(h) != 0) return -1;
    rh__alloc_slow_set(h, (h->mode != RH_MODE_POOLS ? RH__SLOW_MODE : 0u) | (h->alloc.tools ? RH__SLOW_TOOLS : 0u));
    if (h->mode == RH_MODE_DEBUG && rh__debug_init(h, h->alloc.quarantine_cap) != 0) {
        rh__pools_fini(h);
        return -1;
    }
    choose_stack(h);
#if RH_DEBUG >= 1
    rh__mem_stack_check(h);
#endif
    return 0;
}

void rh__alloc_fini(rh_heap *h) {
    if (h->mode == RH_MODE_DEBUG) rh__debug_fini(h);
    rh__large_fini(h); /* also drops the heap's debug entries from the registry */
    rh__pools_fini(h);
    memset(h->alloc.nalloc, 0, sizeof h->alloc.nalloc);
    memset(h->alloc.nfreed, 0, sizeof h->alloc.nfreed);
    h->alloc.requested = 0;
}

/* ---------------------------------------------------------------------------
 * Ownership
 * ------------------------------------------------------------------------- */

rh_heap *rh__heap_of(const void *p) {
    if (!p) return NULL;
    rh_heap *ph = rh__pool_heap(p);
    if (ph) return ph;
    rh_heap *h = rh__sysreg_find(p, NULL);
    /* a pointer one alignment unit into a system block names it too (the
     * object of a container, behind the collector's record) */
    if (!h && (uintptr_t)p > RH_ALIGNMENT) h = rh__sysreg_find((const char *)p - RH_ALIGNMENT, NULL);
    return h;
}

rh_heap *rh_heap_of(const void *obj_or_block) { return rh__heap_of(obj_or_block); }

bool rh_is_pool_block(const rh_heap *h, const void *p) {
    rh_heap *ph = rh__pool_heap(p);
    return ph && ph == h;
}

/* ---------------------------------------------------------------------------
 * Counters (the fault injector is fault.c's)
 * ------------------------------------------------------------------------- */

static uint64_t sum_counts(const uint64_t *v) {
    uint64_t t = 0;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) t += v[c];
    return t;
}

/* Calls seen by the slow paths plus pool blocks popped by the fast paths. */
uint64_t rh_heap_alloc_count(const rh_heap *h) {
    const struct rh__alloc_state *A = &h->alloc;
    return A->calls_slow + sum_counts(A->nalloc) - A->slow_pops;
}

static uint64_t free_count(const rh_heap *h) {
    const struct rh__alloc_state *A = &h->alloc;
    return A->frees_slow + sum_counts(A->nfreed) - A->slow_pushes;
}

/* Live bytes: pool blocks at their class size plus system blocks, without
 * what debug mode keeps in quarantine. */
static size_t bytes_in_use(const rh_heap *h) {
    return rh__pools_in_use(h) + h->alloc.large_bytes - h->alloc.quar_bytes;
}
size_t rh__bytes_in_use(const rh_heap *h) { return bytes_in_use(h); }

/* The sample of the peak. The pools' bytes in use are a sum over the 32
 * classes (rh__pools_in_use, 8 instructions a class), taken once a pool
 * taken: on bench workload 1(b), whose pools empty and are taken again
 * every round, 3.2 instructions a malloc in each round after the first
 * (of the malloc's 36 then). Every byte the
 * classes count lies in a block of a pool taken from its arena, so the
 * figure is at most pools_taken * RH_POOL_SIZE (+ the system blocks, -
 * the quarantine): while that bound is not above the peak, the sum could
 * not raise it and is not taken. The peak is the same as with the sum
 * taken every time. */
void rh__note_peak(rh_heap *h) {
    struct rh__alloc_state *A = &h->alloc;
    if ((size_t)A->pools_taken * RH_POOL_SIZE + A->large_bytes - A->quar_bytes <= A->peak_in_use) return;
    size_t now = bytes_in_use(h);
    if (now > A->peak_in_use) A->peak_in_use = now;
}

static void *failed(rh_heap *h) {
    h->alloc.failed++;
    return rh__nomem(h);
}

/* ---------------------------------------------------------------------------
 * Raw memory
 * ------------------------------------------------------------------------- */

/* Everything the free fast paths (alloc_priv.h) do not do inline. */
/* Tracing alone, a pool block whose trace the in-line path did not
 * forget: the hook (it asks the pools about the block), then the push. Out
 * of line, so that the common path saves no register. */
static __attribute__((noinline)) void traced_free_hook(rh_heap *h, rh__pool *pool, void *p) {
    rh__trace_free_hook(h, p, pool->cls);
    rh__pool_push(h, pool, p, false);
}

/* Tracing alone: the free of one of h's pool blocks is the fast path's
 * push after the trace's in-line forget (memory/trace_fast.h); false if p
 * is not one (NULL, a system block, a foreign pointer: the general
 * path's). */
RH__HOT_INLINE bool traced_pool_free(rh_heap *h, void *p, const char *file, int line) {
    rh__pool *pool;
    if (RH_UNLIKELY(!rh__pool_find(p, h, &pool))) return false;
    /* the fast path's boundary check first: an interior pointer would
     * otherwise be untraced and pushed as a block */
    if (RH_UNLIKELY(!rh__pool_block_start(pool, p))) rh__pool_bad_pointer(h, pool, p, "free", file, line);
    /* the trace first: its hook asks the pools about the block */
    if (RH_UNLIKELY(!rh__trace_free_try(h, p, pool->cls))) {
        traced_free_hook(h, pool, p);
        return true;
    }
    rh__pool_push(h, pool, p, false);
    return true;
}

void rh__free_slow(rh_heap *h, void *p, size_t header_offset, const char *file, int line) {
    if (!p) return;
    /* tracing alone: a pool block is the traced path's (tools: trace.c) */
    if (RH_UNLIKELY(h->alloc.slow == RH__SLOW_TRACE) && traced_pool_free(h, p, file, line)) return;
    rh__mem_layer *L = h->alloc.top;
    h->alloc.frees_slow++;
    L->m->free(L, p, header_offset, file, line);
}

void rh__free_traced(rh_heap *h, void *p, size_t header_offset, const char *file, int line) {
    if (RH_LIKELY(traced_pool_free(h, p, file, line))) return;
    rh__free_slow(h, p, header_offset, file, line); /* NULL, a system block, a foreign pointer */
}

void rh__free_missed(rh_heap *h, void *p, const char *file, int line, size_t header_offset) {
    if (h->alloc.slow == 0) {
        /* h's pool block, but not the start of a block: stops the program */
        rh__pool *pool;
        if (rh__pool_find(p, h, &pool)) rh__pool_bad_pointer(h, pool, p, "free", file, line);
    } else if (h->alloc.slow == RH__SLOW_TRACE) {
        rh__free_traced(h, p, header_offset, file, line);
        return;
    }
    rh__free_slow(h, p, header_offset, file, line);
}

/* Tracing alone, out of line so that the common path saves no register:
 * a site not in the trace's site cache, or a class whose head pool cannot
 * pop in line (the pop, then the trace: in line if it can, else the hook);
 * a block whose pool or arena the trace's caches do not know (the hook,
 * with its trace id). */
static __attribute__((noinline)) void *traced_pop_slow(rh_heap *h, unsigned c, const char *file, int line) {
    void *p = rh__pool_pop(h, c, false);
    if (RH_UNLIKELY(p == NULL)) return rh__alloc_fast_failed(h);
    return rh__trace_enter(h, p, c, file, line, NULL);
}
static __attribute__((noinline)) void *traced_record(rh_heap *h, void *p, uint32_t slot) {
    rh__trace_record_hook(h, p, slot);
    return p;
}

void *rh__malloc_traced(rh_heap *h, size_t n, const char *file, int line) {
    unsigned c = (unsigned)((n - 1) / RH_ALIGNMENT);
    uint32_t slot = rh__trace_site_slot_value(h, file, line, NULL); /* trace id + 1; 0: not cached */
    if (RH_UNLIKELY(slot == 0 || !rh__pool_can_pop(h, c))) return traced_pop_slow(h, c, file, line);
    void *p = rh__pool_pop(h, c, false); /* cannot fail now */
    if (RH_LIKELY(rh__trace_alloc_slot(h, p, c, slot))) return p;
    return traced_record(h, p, slot);
}

void *rh__alloc_fast_failed(rh_heap *h) {
    h->alloc.calls_slow++; /* the failed call counts */
    return failed(h);
}

void *rh__malloc_refill(rh_heap *h, unsigned c) {
    void *p = rh__pool_alloc_slow(h, c);
    return RH_LIKELY(p != NULL) ? p : rh__alloc_fast_failed(h);
}

void *rh__malloc_slow(rh_heap *h, size_t n, bool zero, const char *file, int line) {
    void *p;
    if (h->alloc.slow == RH__SLOW_TRACE && n <= RH_SMALL_MAX) { /* tools: trace.c */
        /* tracing alone: the fast path's pop (same counters), then the trace */
        unsigned c = rh__size_class(n);
        p = rh__pool_pop(h, c, false);
        if (!p) return rh__alloc_fast_failed(h);
        if (zero) memset(p, 0, n);
        return rh__trace_enter(h, p, c, file, line, NULL);
    }
    rh__mem_layer *L = h->alloc.top;
    h->alloc.calls_slow++; /* the call counts, failed or not */
    p = L->m->alloc(L, n, zero, file, line);
    if (!p) return failed(h);
    rh__note_peak(h);
    return p;
}

void *rh_malloc_at(rh_heap *h, size_t n, const char *file, int line) { return rh__malloc_fast(h, n, file, line); }

void rh_free_at(rh_heap *h, void *p, const char *file, int line) { rh__free_fast(h, p, RH__NO_REFCNT, file, line); }

void *rh_calloc_at(rh_heap *h, size_t count, size_t size, const char *file, int line) {
    if (size && count > SIZE_MAX / size) {
        h->alloc.failed++;
        rh_err_set(h, RH_ENOMEM, "calloc: %zu * %zu bytes overflows", count, size);
        return NULL;
    }
    return rh__malloc_slow(h, count * size, true, file, line);
}

static void *realloc_block(rh_heap *h, void *p, size_t n, const char *file, int line) {
    struct rh__alloc_state *A = &h->alloc;
    rh__mem_layer *L = A->top;
    A->reallocs++;
    A->calls_slow++; /* an allocating call too, failed or not */
    void *q = L->m->realloc(L, p, n, file, line);
    if (!q) return failed(h);
    rh__note_peak(h);
    return q;
}

void *rh_realloc_at(rh_heap *h, void *p, size_t n, const char *file, int line) {
    if (!p) return rh_malloc_at(h, n, file, line);
    return realloc_block(h, p, n, file, line);
}

void *rh__mem_realloc_untraced(rh_heap *h, void *p, size_t n) {
    const rh__mem_methods *tm = (h->alloc.slow & RH__SLOW_TRACE) ? h->alloc.trace_shim.m : NULL;
    if (tm) rh__mem_trace_set(h, NULL);
    void *q = rh_realloc(h, p, n);
    if (tm) rh__mem_trace_set(h, tm);
    return q;
}

size_t rh_usable_size(rh_heap *h, const void *p) {
    if (!p) return 0;
    rh__mem_layer *L = h->alloc.top;
    return L->m->usable(L, p);
}

/* ---------------------------------------------------------------------------
 * Object memory (object.c's door to the allocator): the same fast paths
 * ------------------------------------------------------------------------- */

void *rh__obj_alloc(rh_heap *h, size_t n, const char *file, int line) { return rh__malloc_fast(h, n, file, line); }

void rh__obj_free(rh_heap *h, void *block, size_t header_offset) {
    rh__free_fast(h, block, header_offset, RH__OBJ_FREE_SITE, 0);
}

rh_heap *rh__obj_free_slow(rh_heap *h, void *block, size_t header_offset) {
    if (!h) h = rh__heap_of(block);
    if (!h) rh__fatal("deallocation of an object whose block refheap never returned: %p", block);
    rh__free_slow(h, block, header_offset, RH__OBJ_FREE_SITE, 0);
    return h;
}

/* ---------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------- */

/* Reads a "Key:   1234 kB" line of /proc/self/status; bytes, or 0. */
static size_t proc_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t klen = strlen(key), kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = (size_t)strtoull(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb * 1024;
}

size_t rh_process_rss(void) { return proc_status_kb("VmRSS"); }
size_t rh_process_peak_rss(void) { return proc_status_kb("VmHWM"); }

void rh_heap_stats_get(rh_heap *h, rh_heap_stats *out) {
    struct rh__alloc_state *A = &h->alloc;
    memset(out, 0, sizeof *out);
    rh__note_peak(h);
    out->mode = h->mode;
    rh__pools_stats(h, out);
    out->arenas_current = A->arenas_current;
    out->arenas_peak = A->arenas_peak;
    out->arenas_allocated = A->arenas_allocated;
    out->arenas_released = A->arenas_released;
    /* debug mode: quarantined blocks are freed; they are reported apart */
    out->large_blocks = A->large_count - A->quar_large_count;
    out->blocks_in_use = (size_t)(sum_counts(A->nalloc) - sum_counts(A->nfreed)) + A->large_count -
                         A->quarantine_len;
    out->radix_leaves = rh__radix_leaves_in_use();
    out->large_bytes = A->large_bytes - A->quar_large_bytes;
    out->bytes_in_use = bytes_in_use(h);
    out->bytes_quarantined = A->quar_bytes;
    out->bytes_requested = h->mode == RH_MODE_DEBUG ? A->requested : out->bytes_in_use;
    out->bytes_mapped = A->arenas_current * RH_ARENA_SIZE + A->large_bytes;
    out->peak_bytes_in_use = A->peak_in_use;
    uint64_t allocs = rh_heap_alloc_count(h);
    out->reallocs = A->reallocs;
    out->mallocs = allocs - A->reallocs;
    out->frees = free_count(h);
    out->failed = A->failed;
    out->rss = rh_process_rss();
    out->peak_rss = rh_process_peak_rss();
}

/* One "N things * M unit = N*M" line of the printer, its "=" in the same
 * column as the "# label" lines. */
static void print_product(FILE *out, size_t n, const char *what, size_t m, const char *unit) {
    char label[64];
    snprintf(label, sizeof label, "%zu %s * %zu %s", n, what, m, unit);
    fprintf(out, "%-35s= %14zu\n", label, n * m);
}

void rh_heap_stats_print(rh_heap *h, FILE *out) {
    rh_heap_stats s;
    rh_heap_stats_get(h, &s);
    fprintf(out, "refheap heap %p, mode %s\n", (void *)h, rh_mode_name(s.mode));
    fprintf(out, "Small block threshold = %d, in %d size classes.\n\n", RH_SMALL_MAX, RH_NUM_CLASSES);
    fprintf(out, "class   size   num pools   full pools   blocks in use  avail blocks\n");
    fprintf(out, "-----   ----   ---------   ----------   -------------  ------------\n");
    size_t in_blocks = 0, avail = 0, quant = 0, cached_pools = 0;
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        const rh_class_stats *cs = &s.classes[c];
        cached_pools += cs->pools_cached;
        if (!cs->pools_used) continue;
        fprintf(out, "%5u %6zu %11zu %12zu %15zu %13zu\n", c, cs->block_size, cs->pools_used, cs->pools_full,
                cs->blocks_in_use, cs->blocks_free);
        in_blocks += cs->blocks_in_use * cs->block_size;
        avail += cs->blocks_free * cs->block_size;
        quant += cs->pools_used * (RH_POOL_SIZE % cs->block_size);
    }
    size_t unused = s.pools_empty * RH_POOL_SIZE;
    size_t cached = cached_pools * RH_POOL_SIZE;
    /* pool headers live in each arena's meta, outside the arenas: shown,
     * but not part of the arenas' total */
    size_t headers = s.arenas_current * sizeof(rh__arena);
    fprintf(out, "\n");
    fprintf(out, "# arenas allocated total           = %14zu\n", s.arenas_allocated);
    fprintf(out, "# arenas reclaimed                 = %14zu\n", s.arenas_released);
    fprintf(out, "# arenas highwater mark            = %14zu\n", s.arenas_peak);
    fprintf(out, "# arenas allocated current         = %14zu\n", s.arenas_current);
    print_product(out, s.arenas_current, "arenas", RH_ARENA_SIZE, "bytes/arena");
    fprintf(out, "\n");
    fprintf(out, "# bytes in allocated blocks        = %14zu\n", in_blocks);
    fprintf(out, "# bytes in available blocks        = %14zu\n", avail);
    print_product(out, s.pools_empty, "unused pools", RH_POOL_SIZE, "bytes");
    print_product(out, cached_pools, "cached empty pools", RH_POOL_SIZE, "bytes");
    fprintf(out, "# bytes lost to quantization       = %14zu\n", quant);
    fprintf(out, "# bytes lost to arena alignment    = %14zu\n", (size_t)0);
    fprintf(out, "Total                              = %14zu\n", in_blocks + avail + unused + cached + quant);
    fprintf(out, "# bytes in arena bookkeeping       = %14zu\n", headers);
    fprintf(out, "\n");
    fprintf(out, "# large blocks (system allocator)  = %14zu\n", s.large_blocks);
    fprintf(out, "# bytes in large blocks            = %14zu\n", s.large_bytes);
    fprintf(out, "# bytes in use / peak              = %14zu / %zu\n", s.bytes_in_use, s.peak_bytes_in_use);
    if (s.mode == RH_MODE_DEBUG)
        fprintf(out, "# bytes in quarantine              = %14zu\n", s.bytes_quarantined);
    fprintf(out, "# mallocs / reallocs / frees       = %14llu / %llu / %llu\n", (unsigned long long)s.mallocs,
            (unsigned long long)s.reallocs, (unsigned long long)s.frees);
    fprintf(out, "# failed allocations               = %14llu\n", (unsigned long long)s.failed);
    fprintf(out, "# process RSS / peak RSS           = %14zu / %zu\n", s.rss, s.peak_rss);
}
