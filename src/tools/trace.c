/*
 * trace.c — allocation tracing (Python's tracemalloc), one more layer around
 * the allocator.
 *
 * Switching on. rh_trace_start sets RH__SLOW_TRACE in the heap's slow word
 * (alloc.slow), the word every fast path of pools mode tests first, and
 * pushes this file's shim on the heap's layer stack (memory/layer.h;
 * alloc.c's rh__mem_trace_set puts it on top, or under the armed fault
 * injector's). From then on every allocation, free and realloc of the heap
 * leaves the untraced fast paths. Every call that reaches the stack meets
 * the shim, which enters a block's trace after the layers below served it,
 * forgets it before they take it back, and moves it across a realloc.
 * When the slow word is RH__SLOW_TRACE alone (pools mode, no fault
 * injector, no Valgrind) a pool block keeps the fast path's pop and push,
 * out of line but without the layer stack: alloc.c's rh__malloc_traced and
 * rh__free_traced for raw memory (and its slow paths for calloc and 0
 * bytes), and object.c's traced copy of its creation path and its traced
 * free, which pass an object's type name with its block (one walk of the
 * address tree per death); their common case enters or forgets the trace
 * in line (below), the rest calls the hooks in the table rh_trace_start
 * put in h->alloc.trace. A block from the stack gets its type afterwards
 * (object.c calls note_type). Nothing else in the allocator knows about
 * tracing; with the bit clear and the shim popped the fast paths and the
 * stack are exactly what they were.
 *
 * Where a block's trace id is kept. Two places, chosen by the block alone:
 *
 * 1. Pool blocks of a pools-mode heap: side arrays beside the pools. A pool
 *    holding a traced block has an array of 32-bit slots, one per block of
 *    its class (capacity(c) = P / s, P = 16 KiB, s = (c+1)*16), slot = trace
 *    id + 1, 0 = untraced. Block p's slot is (p mod P) / s, computed as
 *    ((p mod P) * M) >> 32 with the allocator's M = ceil(2^32 / s) (exact for
 *    every offset below P: the error is under 2^-18 < 1/s). Arrays hang from
 *    a record per arena (address a: arena number a >> 20, pool (a >> 14) mod
 *    64), records found through a direct-mapped cache of 256 arena numbers
 *    in front of rh__index (the tools' one hash index, keyed by a bijective
 *    hash of the arena number). So a pool block's trace costs 4 bytes per
 *    slot of a pool that holds a traced block: 4 bytes a block in full
 *    pools, 4 * capacity(c) / (traced blocks in the pool) in general (no
 *    per-16-byte granule: a 512-byte block has one 4-byte slot).
 *    An array whose last id goes stays in its pool, empty, as its class's
 *    spare (one per class; the previous spare is freed), and is taken by the
 *    next pool of that class that needs one: a block allocated and freed
 *    alone does not allocate an array each time. Records are kept until
 *    tracing stops (528 bytes per arena that held a traced block).
 * 2. Everything else (system blocks, every block in malloc and debug modes:
 *    debug blocks carry the debug header inside their pool block): the
 *    block table, one 64-bit entry per block, the block's address shifted
 *    right by 4 (16-byte aligned below 2^48: 44 bits) above a 20-bit trace
 *    id. Open addressing with linear probing over any capacity (a slot is
 *    (hash * cap) >> 64, Lemire's reduction), grown by half past a load of
 *    4/5, so while the traced set grows or holds steady its load stays
 *    between 8/15 and 4/5: 10 to 15 bytes per live block. When frees bring
 *    it under a quarter full it is halved (so at most 32 bytes per live block
 *    while the set shrinks, and the memory comes back). Deletion shifts the
 *    rest of the cluster back (no tombstones), so a probe stops at the first
 *    empty slot.
 * Sizes are not stored: the usable size of a live block is known (an
 * array's class size; the allocator's header of a system or debug block,
 * asked when needed).
 *
 * Why arrays: the block table scatters blocks allocated together over the
 * whole table, so with a million live blocks every allocation and free
 * missed the cache once more, and each probe cost a hash; a pool's array is
 * as local as the pool (a tree built in one pool writes consecutive slots).
 *
 * The common case is in line in the allocator's traced paths, without a
 * call (memory/trace_fast.h, with the hot state it reads, T->f, to which
 * h->alloc.trace points): an allocation whose (file, line, type name) is
 * in the site cache (a direct-mapped cache of 64 entries -> trace id,
 * filled only with the site only, and emptied when a site is pushed, so
 * that it never holds one of refheap's own sites that a pushed site
 * replaces; the in-line path tests neither) into a pool with an array of
 * the block's class (the pool cache: per class, the pool whose array an
 * allocation used last; else the arena cache, then the record), a free
 * whose pool the pool cache or the arena cache finds (if it takes the
 * array's last id, the array becomes the spare unless one exists). No
 * radix walk for the trace there: the allocator's own walk (a free) or pop
 * (an allocation) has named the block's pool and class; an array that
 * holds an id proves its pool is carved for its class in a mapped arena of
 * this heap, and an array of the class of the pool a block was just popped
 * from is that pool's (an empty spare included). Everything else (another
 * site, a new pool or arena, a stale spare, tracebacks) calls a hook, whose
 * full path asks the allocator whether the block is a pool block
 * (rh__pool_lookup) and fills the caches. The pool cache never names an
 * array that left its pool (spare_detach clears its entry); the arena
 * cache names records, which live until tracing stops.
 *
 * Traces and tracebacks are interned. A trace is (file, line, type name,
 * traceback): file and line come from the _at entry point; the type name
 * comes with the allocation of an object's pool block while tracing alone
 * (object.c), else object.c adds it right after the block is allocated
 * (rh__trace_note_type re-interns the block's trace with the type through
 * a one-entry cache of (trace, type) -> trace, finding the block's slot
 * through last_block/last_side/last_slot, which the full path of an
 * allocation sets, without a second lookup). A
 * traceback is the native backtrace() of nframes frames starting at the
 * hook's caller, hashed and stored once in the frame array. Both tables use
 * rh__index. Their memory grows with distinct sites and call stacks, not
 * with blocks. When 2^20 - 1 distinct traces exist, further ones share
 * trace 0, "(trace table full)".
 *
 * Counters. current = sum of the usable sizes of the traced live blocks;
 * peak = the highest current since the start or the last reset. A block
 * allocated before the start is untraced: its free finds no id and changes
 * nothing. So is a block of the collector's arrays (the young array and a
 * full collection's set of the layout without list links): the collector
 * allocates them through rh__mem_realloc_untraced (memory/alloc_internal.h),
 * which takes this shim off the stack and clears RH__SLOW_TRACE for the
 * call, so that the traced bytes are the program's blocks only (their
 * sizes follow the collector's schedule; docs/tuning.md). A block that cannot be entered for lack of memory (a record, an
 * array, a bigger table) is left untraced and counted in `lost` (the
 * allocation itself succeeds).
 *
 * Invariants (rh__trace_check walks them; at RH_DEBUG >= 3 at every
 * snapshot and at rh_trace_stop):
 *   block table:  live = #non-zero entries;  live <= grow_at < cap;
 *                 cap >= 1024;  live >= cap / 4 unless cap = 1024
 *   side arrays:  for an array A of pool (R, i):  A.count = #non-zero slots;
 *                 A.count > 0  =>  pool i of arena R.base is carved for
 *                 class A.cls in a mapped arena of this heap, used >= A.count;
 *                 A.count = 0  <=>  A = spare[A.cls] (all zeros);
 *                 R.npools = #arrays of R;  plive = sum of A.count
 *   both:         every id < ntraces;
 *                 current = sum over live traced blocks of their usable size;
 *                 side_bytes = bytes of records + arrays
 *   rh_trace_count = live + plive
 * A pool emptied and carved for another class has no array with an id (its
 * last traced block's free took it), so no stale id reaches the new class;
 * a spare left in it is replaced when the new class's first traced block
 * comes (its class differs). The same for an arena released and mapped
 * again, at the same address or not.
 * Tracing is switched only outside a collection (a collection's frees must
 * meet the tables it started with).
 */
#include "tools/tools_internal.h"
#include "memory/layer.h"

#include <execinfo.h>
#include <limits.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * The interning index (shared by the tools)
 * ------------------------------------------------------------------------- */

#define INDEX_MIN 64

/* eq NULL: the hash is the key itself (an injective hash), so equal hashes
 * are equal keys (the arena map below). In line where it is hot. */
typedef bool (*index_eq)(const void *ctx, uint32_t idx);
RH__HOT_INLINE long index_find(const rh__index *ix, uint32_t hash, index_eq eq, const void *ctx) {
    if (!ix->cap) return -1;
    size_t mask = ix->cap - 1;
    for (size_t j = hash & mask;; j = (j + 1) & mask) {
        uint64_t s = ix->slots[j];
        if (!s) return -1;
        if ((uint32_t)(s >> 32) == hash && (!eq || eq(ctx, (uint32_t)s - 1u))) return (long)((uint32_t)s - 1u);
    }
}

long rh__index_find(const rh__index *ix, uint32_t hash, bool (*eq)(const void *ctx, uint32_t idx), const void *ctx) {
    return index_find(ix, hash, eq, ctx);
}

static void index_put(uint64_t *slots, size_t cap, uint64_t s) {
    size_t mask = cap - 1;
    size_t j = (uint32_t)(s >> 32) & mask;
    while (slots[j]) j = (j + 1) & mask;
    slots[j] = s;
}

int rh__index_add(rh__index *ix, uint32_t hash, uint32_t idx) {
    if ((ix->count + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : INDEX_MIN;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return -1;
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slots[i]) index_put(slots, cap, ix->slots[i]);
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    index_put(ix->slots, ix->cap, (uint64_t)hash << 32 | (uint64_t)(idx + 1u));
    ix->count++;
    return 0;
}

void rh__index_free(rh__index *ix) {
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->count = 0;
}

/* ---------------------------------------------------------------------------
 * The tools' state
 * ------------------------------------------------------------------------- */

struct rh__tools *rh__tools_get(rh_heap *h) {
    if (!h->tools) h->tools = calloc(1, sizeof *h->tools);
    return h->tools;
}

static void side_free_all(struct rh__tools *T);

/* Empties the site cache (memory/trace_fast.h). */
static void sites_clear(struct rh__tools *T) {
    for (size_t k = 0; k < RH__TRACE_SCACHE; k++)
        T->f.sites[k] = (rh__site_cached){NULL, NULL, INT_MIN, 0}; /* a NULL file at line 0 is a real site */
}

static void trace_tables_free(struct rh__tools *T) {
    side_free_all(T);
    free(T->blocks);
    free(T->traces);
    free(T->tbs);
    free(T->frames);
    rh__index_free(&T->trace_index);
    rh__index_free(&T->tb_index);
    T->blocks = NULL;
    T->traces = NULL;
    T->tbs = NULL;
    T->frames = NULL;
    T->cap = T->live = T->grow_at = 0;
    T->ntraces = T->captraces = T->ntbs = T->captbs = T->nframes_used = T->capframes = 0;
    T->f.current = T->f.peak = T->lost = 0;
    T->f.last_block = NULL;
    T->last_side = NULL;
    T->fail_side = 0;
    sites_clear(T);
    T->type_name_cached = NULL;
    T->type_from_cached = UINT32_MAX;
}

void rh__tools_fini(rh_heap *h) {
    struct rh__tools *T = h->tools;
    if (!T) return;
    rh__mem_trace_set(h, NULL);
    trace_tables_free(T);
    /* the pause recorder's callback, if any, stays registered: it finds
     * no tools state and does nothing (the heap is going away) */
    for (size_t i = 0; i < T->ngrowth; i++) free((char *)T->growth[i].name);
    free(T->growth);
    free(T);
    h->tools = NULL;
}

/* ---------------------------------------------------------------------------
 * Traces and tracebacks
 * ------------------------------------------------------------------------- */

static uint64_t trace_hash(const char *file, int line, const char *type, uint32_t tb) {
    return rh__mix64((uint64_t)(uintptr_t)file ^ rh__mix64((uint64_t)(uintptr_t)type + (uint64_t)(unsigned)line) ^
                     ((uint64_t)tb << 40));
}

typedef struct trace_key {
    const struct rh__tools *T;
    const char *file, *type;
    int line;
    uint32_t tb;
} trace_key;

static bool trace_eq(const void *ctx, uint32_t idx) {
    const trace_key *k = ctx;
    const rh__trace *t = &k->T->traces[idx];
    return t->file == k->file && t->line == k->line && t->type_name == k->type && t->traceback == k->tb;
}

/* The id of the trace (file, line, type, tb), entered if new; 0 (the
 * overflow trace) when the table is full or out of memory. */
static uint32_t trace_intern(struct rh__tools *T, const char *file, int line, const char *type, uint32_t tb) {
    uint64_t hash = trace_hash(file, line, type, tb);
    trace_key k = {T, file, type, line, tb};
    long found = rh__index_find(&T->trace_index, (uint32_t)hash, trace_eq, &k);
    if (found >= 0) return (uint32_t)found;
    if (T->ntraces > RH__TRACE_ID_MAX) return 0;
    if (T->ntraces == T->captraces) {
        size_t cap = T->captraces ? T->captraces * 2 : 64;
        rh__trace *t = realloc(T->traces, cap * sizeof *t);
        if (!t) return 0;
        T->traces = t;
        T->captraces = cap;
    }
    uint32_t id = (uint32_t)T->ntraces;
    if (rh__index_add(&T->trace_index, (uint32_t)hash, id) != 0) return 0;
    T->traces[id] = (rh__trace){file, type, line, tb, hash};
    T->ntraces++;
    return id;
}

typedef struct tb_key {
    const struct rh__tools *T;
    void *const *frames;
    uint32_t n;
} tb_key;

static bool tb_eq(const void *ctx, uint32_t idx) {
    const tb_key *k = ctx;
    const rh__traceback *t = &k->T->tbs[idx];
    return t->n == k->n && memcmp(k->T->frames + t->off, k->frames, k->n * sizeof(void *)) == 0;
}

/* The index of this traceback, entered if new; 0 (no frames) when out of
 * memory. */
static uint32_t tb_intern(struct rh__tools *T, void *const *frames, uint32_t n) {
    if (n == 0) return 0;
    uint64_t hash = n;
    for (uint32_t i = 0; i < n; i++) hash = rh__mix64(hash ^ (uint64_t)(uintptr_t)frames[i]);
    tb_key k = {T, frames, n};
    long found = rh__index_find(&T->tb_index, (uint32_t)hash, tb_eq, &k);
    if (found >= 0) return (uint32_t)found;
    if (T->ntbs == T->captbs) {
        size_t cap = T->captbs * 2;
        rh__traceback *t = realloc(T->tbs, cap * sizeof *t);
        if (!t) return 0;
        T->tbs = t;
        T->captbs = cap;
    }
    if (T->nframes_used + n > T->capframes) {
        size_t cap = T->capframes * 2;
        while (cap < T->nframes_used + n) cap *= 2;
        void **f = realloc(T->frames, cap * sizeof *f);
        if (!f) return 0;
        T->frames = f;
        T->capframes = cap;
    }
    uint32_t id = (uint32_t)T->ntbs;
    if (rh__index_add(&T->tb_index, (uint32_t)hash, id) != 0) return 0;
    memcpy(T->frames + T->nframes_used, frames, n * sizeof(void *));
    T->tbs[id] = (rh__traceback){hash, (uint32_t)T->nframes_used, n};
    T->nframes_used += n;
    T->ntbs++;
    return id;
}

/* The frames of a traceback start at the hook's caller, `from` (the hook's
 * return address, in refheap's slow path or entry point; the caller of
 * those comes next): the frames above it (this file's, as many as the
 * compiler left: inlined or tail-called ones are not there) are dropped.
 * If `from` is not among the first SLACK_FRAMES, the frames start after the
 * first two (capture and the hook). */
#define SLACK_FRAMES 4

__attribute__((noinline)) static uint32_t capture(struct rh__tools *T, const void *from) {
    void *buf[RH_TRACE_MAX_FRAMES + SLACK_FRAMES];
    int n = backtrace(buf, T->nframes + SLACK_FRAMES);
    int skip = 2;
    for (int k = 0; k < n && k < SLACK_FRAMES; k++)
        if (buf[k] == from) {
            skip = k;
            break;
        }
    if (n <= skip) return 0;
    if (n - skip > T->nframes) n = skip + T->nframes;
    return tb_intern(T, buf + skip, (uint32_t)(n - skip));
}

/* ---------------------------------------------------------------------------
 * The block table
 * ------------------------------------------------------------------------- */

#define TABLE_MIN 1024
#define ENTRY_KEY(e) ((e) >> RH__TRACE_ID_BITS)
#define ENTRY_ID(e) ((uint32_t)((e) & RH__TRACE_ID_MAX))

static inline uint64_t block_key(const void *p) { return (uint64_t)(uintptr_t)p >> 4; }

static inline size_t home_of(uint64_t key, size_t cap) {
    uint64_t x = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(((unsigned __int128)x * cap) >> 64);
}

static int table_resize(struct rh__tools *T, size_t cap) {
    uint64_t *b = calloc(cap, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < T->cap; i++) {
        uint64_t e = T->blocks[i];
        if (!e) continue;
        size_t j = home_of(ENTRY_KEY(e), cap);
        while (b[j]) j = j + 1 == cap ? 0 : j + 1;
        b[j] = e;
    }
    free(T->blocks);
    T->blocks = b;
    T->cap = cap;
    T->grow_at = cap / 5 * 4;
    T->f.last_block = NULL;
    return 0;
}

/* The slot holding key, or SIZE_MAX. */
static inline size_t table_find(const struct rh__tools *T, uint64_t key) {
    if (!T->cap) return SIZE_MAX;
    size_t j = home_of(key, T->cap);
    for (;;) {
        uint64_t e = T->blocks[j];
        if (!e) return SIZE_MAX;
        if (ENTRY_KEY(e) == key) return j;
        j = j + 1 == T->cap ? 0 : j + 1;
    }
}

/* Enters p with trace id; false when out of memory. */
RH__HOT_INLINE bool table_insert(struct rh__tools *T, void *p, uint32_t id) {
    if (T->live + 1 > T->grow_at && table_resize(T, T->cap ? T->cap + T->cap / 2 : TABLE_MIN) != 0) return false;
    uint64_t key = block_key(p);
    size_t j = home_of(key, T->cap);
    while (T->blocks[j]) j = j + 1 == T->cap ? 0 : j + 1;
    T->blocks[j] = key << RH__TRACE_ID_BITS | id;
    T->live++;
    T->f.last_block = p;
    T->last_slot = j;
    T->last_side = NULL;
    return true;
}

/* Empties slot j and shifts the later members of its cluster back. */
static void table_delete(struct rh__tools *T, size_t j) {
    size_t cap = T->cap, i = j;
    for (;;) {
        T->blocks[i] = 0;
        size_t k = i;
        for (;;) {
            k = k + 1 == cap ? 0 : k + 1;
            uint64_t e = T->blocks[k];
            if (!e) goto done;
            size_t home = home_of(ENTRY_KEY(e), cap);
            /* the entry at k stays unless its home lies outside (i, k] */
            size_t d_home = home >= i ? home - i : home + cap - i;
            size_t d_k = k >= i ? k - i : k + cap - i;
            if (d_home == 0 || d_home > d_k) break;
        }
        T->blocks[i] = T->blocks[k];
        i = k;
    }
done:
    T->live--;
    T->f.last_block = NULL;
    /* under a quarter full: half the slots (a failure keeps the table) */
    if (T->live < T->cap / 4 && T->cap / 2 >= TABLE_MIN) table_resize(T, T->cap / 2);
}

/* ---------------------------------------------------------------------------
 * The side arrays of pool blocks
 * ------------------------------------------------------------------------- */

/* The pool header of p when p is a pool block of h in pools mode (debug
 * mode's pool blocks carry its header: the block table keeps them). */
RH__HOT_INLINE const rh__pool *pool_block(rh_heap *h, const void *p) {
    return h->mode == RH_MODE_POOLS ? rh__pool_lookup(p, h) : NULL;
}

/* p's slot in its pool's array (rh__trace_side_index): offset / s by the
 * multiplication of rh__pool_block_start's constant M = ceil(2^32 / s):
 * for off < 2^14, off * M / 2^32 = off / s + e with 0 <= e < 2^-18 < 1/s,
 * so the floor is exact (checked for every class by the tests: every block
 * is found). */
#define side_index rh__trace_side_index

static inline size_t side_pool_bytes(unsigned c) {
    return sizeof(rh__side_pool) + RH_POOL_SIZE / rh__class_size(c) * sizeof(uint32_t);
}

/* The arena map's hash: the arena number (28 bits) through a bijection of
 * 32-bit words, so equal hashes are equal arenas. */
static inline uint32_t arena_hash(uint32_t key) {
    uint32_t x = key * 0x9E3779B1u;
    return x ^ (x >> 15);
}

static void *side_alloc(struct rh__tools *T, size_t n) {
    if (RH_UNLIKELY(T->fail_side)) {
        T->fail_side--;
        return NULL;
    }
    void *p = calloc(1, n);
    if (p) T->side_bytes += n;
    return p;
}

static void side_release(struct rh__tools *T, void *p, size_t n) {
    free(p);
    T->side_bytes -= n;
}

static inline rh__arena_cached *acache_of(struct rh__tools *T, uint32_t key) {
    return rh__trace_acache(&T->f, key);
}

static rh__side_arena *side_arena_lookup(struct rh__tools *T, uint32_t key) {
    long i = index_find(&T->arena_index, arena_hash(key), NULL, NULL);
    if (i < 0) return NULL;
    *acache_of(T, key) = (rh__arena_cached){key, T->arenas[i]};
    return T->arenas[i];
}

/* The record of the arena holding a, or NULL: none yet (the cache, then
 * the map). */
RH__HOT_INLINE rh__side_arena *side_arena_find(struct rh__tools *T, uintptr_t a) {
    uint32_t key = (uint32_t)(a >> RH__ARENA_SHIFT);
    const rh__arena_cached *e = acache_of(T, key);
    if (RH_LIKELY(e->key == key)) return e->arena;
    return side_arena_lookup(T, key);
}

/* A new record for the arena holding a; NULL when out of memory. */
static rh__side_arena *side_arena_new(struct rh__tools *T, uintptr_t a) {
    if (T->narenas == T->caparenas) {
        size_t cap = T->caparenas ? T->caparenas * 2 : 16;
        rh__side_arena **v = realloc(T->arenas, cap * sizeof *v);
        if (!v) return NULL;
        T->arenas = v;
        T->caparenas = cap;
    }
    rh__side_arena *r = side_alloc(T, sizeof *r);
    if (!r) return NULL;
    uint32_t key = (uint32_t)(a >> RH__ARENA_SHIFT);
    if (rh__index_add(&T->arena_index, arena_hash(key), (uint32_t)T->narenas) != 0) {
        side_release(T, r, sizeof *r);
        return NULL;
    }
    r->base = a & ~(uintptr_t)(RH_ARENA_SIZE - 1);
    T->arenas[T->narenas++] = r;
    *acache_of(T, key) = (rh__arena_cached){key, r};
    return r;
}

/* Detaches the spare array of class c from its pool; returns it. */
static rh__side_pool *spare_detach(struct rh__tools *T, unsigned c) {
    rh__side_pool *sp = T->f.spare[c];
    /* the pool cache names no array that left its pool (trace_fast.h;
     * only entry c can name an array of class c) */
    if (T->f.pcache[c].sp == sp) T->f.pcache[c].base = 0;
    T->f.spare_arena[c]->pools[T->f.spare_pool[c]] = NULL;
    T->f.spare_arena[c]->npools--;
    T->f.spare[c] = NULL;
    return sp;
}

/* Pool i of arena ar gets an array for class c (the spare one if any: all
 * zeros); NULL when out of memory. A spare left in this pool for another
 * class (the pool was emptied and carved again) goes first. */
static rh__side_pool *side_pool_new(struct rh__tools *T, rh__side_arena *ar, unsigned i, unsigned c) {
    rh__side_pool *old = ar->pools[i];
    if (old) { /* a spare of another class: the pool was carved again */
        unsigned oc = old->cls;
        rh__assert(old->count == 0 && T->f.spare[oc] == old);
        side_release(T, spare_detach(T, oc), side_pool_bytes(oc));
    }
    rh__side_pool *sp;
    if (T->f.spare[c]) sp = spare_detach(T, c);
    else if (!(sp = side_alloc(T, side_pool_bytes(c)))) return NULL;
    sp->cls = (uint8_t)c;
    sp->size = (uint16_t)rh__class_size(c);
    sp->magic = rh__class_divmagic[c];
    ar->pools[i] = sp;
    ar->npools++;
    return sp;
}

/* Enters pool block p (in pool `pool`) with trace id; false when out of
 * memory. */
RH__HOT_INLINE bool side_insert(struct rh__tools *T, void *p, const rh__pool *pool, uint32_t id) {
    uintptr_t a = (uintptr_t)p;
    rh__side_arena *ar = side_arena_find(T, a);
    if (RH_UNLIKELY(!ar) && !(ar = side_arena_new(T, a))) return false;
    unsigned i = (unsigned)(a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1);
    rh__side_pool *sp = ar->pools[i];
    if (RH_UNLIKELY(!sp || sp->cls != pool->cls) && !(sp = side_pool_new(T, ar, i, pool->cls))) return false;
    uint32_t *slot = &sp->ids[side_index(a, sp)];
    rh__assert(*slot == 0);
    *slot = id + 1;
    if (sp->count++ == 0 && T->f.spare[sp->cls] == sp) T->f.spare[sp->cls] = NULL; /* the spare in place: in use */
    T->f.plive++;
    T->f.last_block = p;
    T->last_side = slot;
    return true;
}

/* The slot of pool block at a, or NULL when no array covers it. */
RH__HOT_INLINE uint32_t *side_slot(struct rh__tools *T, uintptr_t a) {
    rh__side_arena *ar = side_arena_find(T, a);
    if (!ar) return NULL;
    rh__side_pool *sp = ar->pools[(a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1)];
    return sp ? &sp->ids[side_index(a, sp)] : NULL;
}

/* Pool i of arena ar holds no traced block any more: its array (all
 * zeros) stays there as its class's spare, the previous spare is freed (a
 * block that comes and goes alone keeps its pool's array). */
static void side_pool_done(struct rh__tools *T, rh__side_arena *ar, unsigned i) {
    unsigned c = ar->pools[i]->cls;
    if (T->f.spare[c]) side_release(T, spare_detach(T, c), side_pool_bytes(c));
    T->f.spare[c] = ar->pools[i];
    T->f.spare_arena[c] = ar;
    T->f.spare_pool[c] = (uint8_t)i;
}

/* Forgets pool block p: its trace id, or RH__TRACE_NONE (untraced). An
 * array whose last id goes becomes its class's spare. */
RH__HOT_INLINE uint32_t side_take(struct rh__tools *T, void *p) {
    uintptr_t a = (uintptr_t)p;
    rh__side_arena *ar = side_arena_find(T, a);
    if (!ar) return RH__TRACE_NONE;
    unsigned i = (unsigned)(a >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1);
    rh__side_pool *sp = ar->pools[i];
    if (!sp) return RH__TRACE_NONE;
    uint32_t *slot = &sp->ids[side_index(a, sp)];
    uint32_t v = *slot;
    if (!v) return RH__TRACE_NONE;
    *slot = 0;
    T->f.plive--;
    if (RH_UNLIKELY(--sp->count == 0)) side_pool_done(T, ar, i);
    return v - 1;
}

static void side_free_all(struct rh__tools *T) {
    for (size_t k = 0; k < T->narenas; k++) {
        for (unsigned i = 0; i < RH__POOLS_PER_ARENA; i++) free(T->arenas[k]->pools[i]);
        free(T->arenas[k]);
    }
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) T->f.spare[c] = NULL; /* freed with their pools */
    free(T->arenas);
    rh__index_free(&T->arena_index);
    T->arenas = NULL;
    T->narenas = T->caparenas = 0;
    for (size_t k = 0; k < RH__TRACE_ACACHE; k++)
        T->f.acache[k] = (rh__arena_cached){UINT32_MAX, NULL}; /* arena numbers have 28 bits */
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) T->f.pcache[c] = (rh__pool_cached){0, NULL, NULL};
    T->f.plive = T->side_bytes = 0;
}

size_t rh__trace_block_size(rh_heap *h, const void *p) { return rh_usable_size(h, p); }

static void count_in(struct rh__tools *T, uint64_t size) {
    T->f.current += size;
    if (T->f.current > T->f.peak) T->f.peak = T->f.current;
}

/* ---------------------------------------------------------------------------
 * The hooks (alloc.c's slow paths, object.c, through h->alloc.trace)
 * ------------------------------------------------------------------------- */

RH__HOT_INLINE void record(rh_heap *h, struct rh__tools *T, void *p, uint32_t id, size_t size) {
    const rh__pool *pool = pool_block(h, p);
    if (RH_LIKELY(pool != NULL)) {
        if (RH_UNLIKELY(!side_insert(T, p, pool, id))) {
            T->lost++;
            T->f.last_block = NULL;
            return;
        }
        count_in(T, rh__class_size(pool->cls));
        return;
    }
    if (!table_insert(T, p, id)) {
        T->lost++;
        T->f.last_block = NULL;
        return;
    }
    count_in(T, size ? size : rh__trace_block_size(h, p));
}

/* Is file one of refheap's sources? They share this file's directory
 * prefix up to "src/" (CMake passes absolute paths). */
static bool internal_file(const char *file) {
    static const char *const me = __FILE__;
    static size_t prefix = 0;
    if (!prefix) {
        const char *s = strstr(me, "src/tools/trace.c");
        prefix = s ? (size_t)(s - me) + 4 : (size_t)-1;
    }
    return file && prefix != (size_t)-1 && strncmp(file, me, prefix) == 0;
}

/* The site to record: the innermost pushed site replaces refheap's own. */
static inline void site_of(const struct rh__tools *T, const char **file, int *line) {
    if (RH_UNLIKELY(T->nsites) && internal_file(*file)) {
        unsigned i = (T->nsites < 16 ? T->nsites : 16) - 1;
        *file = T->site_file[i];
        *line = T->site_line[i];
    }
}

void rh_trace_site_push_at(rh_heap *h, const char *file, int line) {
    struct rh__tools *T = h->tools;
    if (!T) return;
    if (T->nsites < 16) {
        T->site_file[T->nsites] = file;
        T->site_line[T->nsites] = line;
    }
    T->nsites++;
    /* the site cache may hold one of refheap's own sites, which a pushed
     * site now replaces (while sites are pushed it only ever holds sites
     * after the replacement, which stay right after the pop) */
    sites_clear(T);
}

void rh_trace_site_pop(rh_heap *h) {
    struct rh__tools *T = h->tools;
    if (T && T->nsites) T->nsites--;
}

/* The trace of a new block at file:line holding an object of type `type`
 * (NULL: raw memory, or a type named later), from the site cache or
 * interned. */
static uint32_t site_trace(struct rh__tools *T, const char *file, int line, const char *type) {
    rh__site_cached *s = rh__trace_site_slot(&T->f, file, line, type);
    if (file == s->file && line == s->line && type == s->type) return s->slot - 1;
    uint32_t id = trace_intern(T, file, line, type, 0);
    *s = (rh__site_cached){file, type, line, id + 1};
    return id;
}

/* The rest of an allocation's tracing; from: the hook's return address. */
static __attribute__((noinline)) void alloc_slow(rh_heap *h, void *p, size_t size, const char *file, int line,
                                                 const char *type, const void *from) {
    struct rh__tools *T = h->tools;
    site_of(T, &file, &line);
    uint32_t id = T->nframes ? trace_intern(T, file, line, type, capture(T, from)) : site_trace(T, file, line, type);
    record(h, T, p, id, size);
}

/* The hook of an allocation: the full path (the common case is in line in
 * the allocator's traced paths, memory/trace_fast.h). */
void *rh__trace_alloc(rh_heap *h, void *p, size_t size, const char *file, int line, const char *type_name) {
    alloc_slow(h, p, size, file, line, type_name, __builtin_return_address(0));
    return p;
}

/* Forgets p: its trace id, or RH__TRACE_NONE (untraced); subtracts its size. */
RH__HOT_INLINE uint32_t forget(rh_heap *h, struct rh__tools *T, void *p, size_t size) {
    if (p == T->f.last_block) T->f.last_block = NULL;
    const rh__pool *pool = pool_block(h, p);
    if (RH_LIKELY(pool != NULL)) {
        uint32_t id = side_take(T, p);
        if (id != RH__TRACE_NONE) T->f.current -= rh__class_size(pool->cls);
        return id;
    }
    size_t j = table_find(T, block_key(p));
    if (j == SIZE_MAX) return RH__TRACE_NONE;
    uint32_t id = ENTRY_ID(T->blocks[j]);
    T->f.current -= size ? size : rh__trace_block_size(h, p);
    table_delete(T, j);
    return id;
}

/* The hook of a free: the full path (the common case is in line in the
 * allocator's traced paths, memory/trace_fast.h). */
void rh__trace_free(rh_heap *h, void *p, size_t size) { forget(h, h->tools, p, size); }

__attribute__((noinline)) void rh__trace_attach(rh_heap *h, void *p, uint32_t trace, const char *file, int line) {
    struct rh__tools *T = h->tools;
    if (trace == RH__TRACE_NONE) return;
    if (trace == RH__TRACE_NEW) {
        site_of(T, &file, &line);
        uint32_t tb = T->nframes ? capture(T, __builtin_return_address(0)) : 0;
        trace = trace_intern(T, file, line, NULL, tb);
    }
    record(h, T, p, trace, 0);
}

void rh__trace_note_type(rh_heap *h, void *block, const char *type_name) {
    struct rh__tools *T = h->tools;
    uint32_t *side = NULL;
    size_t j = SIZE_MAX;
    if (T->f.last_block == block) {
        side = T->last_side;
        j = T->last_slot;
        if (side && !*side) return;
    } else if (pool_block(h, block)) {
        side = side_slot(T, (uintptr_t)block);
        if (!side || !*side) return;
    } else if ((j = table_find(T, block_key(block))) == SIZE_MAX) {
        return;
    }
    uint32_t from = side ? *side - 1 : ENTRY_ID(T->blocks[j]), id;
    if (from == T->type_from_cached && type_name == T->type_name_cached) {
        id = T->type_id_cached; /* the same site and type as the last object */
    } else {
        const rh__trace *t = &T->traces[from];
        if (t->type_name == type_name) return;
        id = trace_intern(T, t->file, t->line, type_name, t->traceback);
        T->type_from_cached = from;
        T->type_name_cached = type_name;
        T->type_id_cached = id;
    }
    if (side) *side = id + 1;
    else T->blocks[j] = (T->blocks[j] & ~(uint64_t)RH__TRACE_ID_MAX) | id;
}

static const rh__trace_hooks trace_hooks = {
    .alloc = rh__trace_alloc,
    .free = rh__trace_free,
    .attach = rh__trace_attach,
    .note_type = rh__trace_note_type,
};

/* ---------------------------------------------------------------------------
 * The trace shim (memory/layer.h): on the heap's layer stack while tracing,
 * it traces every block the layers below serve (every call the in-line
 * traced paths do not take): the block's trace entered after an
 * allocation, forgotten before a free, moved across a realloc (detached
 * first; a failed realloc puts it back on the old block, a new block gets
 * a new trace at the realloc's site).
 * ------------------------------------------------------------------------- */

static void *shim_alloc(rh__mem_layer *L, size_t n, bool zero, const char *file, int line) {
    rh__mem_layer *below = L->below;
    void *p = below->m->alloc(below, n, zero, file, line);
    if (p) alloc_slow(L->heap, p, 0, file, line, NULL, __builtin_return_address(0));
    return p;
}

static void shim_free(rh__mem_layer *L, void *p, size_t header_offset, const char *file, int line) {
    forget(L->heap, L->heap->tools, p, 0);
    L->below->m->free(L->below, p, header_offset, file, line);
}

static void *shim_realloc(rh__mem_layer *L, void *p, size_t n, const char *file, int line) {
    rh_heap *h = L->heap;
    rh__mem_layer *below = L->below;
    uint32_t trace = forget(h, h->tools, p, 0);
    void *q = below->m->realloc(below, p, n, file, line);
    rh__trace_attach(h, q ? q : p, q ? RH__TRACE_NEW : trace, file, line);
    return q;
}

static size_t shim_usable(rh__mem_layer *L, const void *p) { return L->below->m->usable(L->below, p); }

static void shim_check(rh__mem_layer *L, const void *p, const char *op, const char *file, int line) {
    L->below->m->check(L->below, p, op, file, line);
}

/* Marks and walks change no block: they pass through. */
static bool shim_mark(rh__mem_layer *L, void *p, rh__mark_op op) { return L->below->m->mark(L->below, p, op); }

static void *shim_next_marked(rh__mem_layer *L, rh__mark_walk *w) { return L->below->m->next_marked(L->below, w); }

static const rh__mem_methods trace_shim_methods = {
    .name = "trace",
    .alloc = shim_alloc,
    .free = shim_free,
    .realloc = shim_realloc,
    .usable = shim_usable,
    .check = shim_check,
    .mark = shim_mark,
    .next_marked = shim_next_marked,
};

void rh__trace_each(rh_heap *h, void (*fn)(void *block, uint32_t id, size_t size, void *arg), void *arg) {
    struct rh__tools *T = h->tools;
    if (!T) return;
    for (size_t k = 0; k < T->narenas; k++) {
        const rh__side_arena *ar = T->arenas[k];
        for (unsigned i = 0; ar->npools && i < RH__POOLS_PER_ARENA; i++) {
            const rh__side_pool *sp = ar->pools[i];
            if (!sp) continue;
            size_t s = rh__class_size(sp->cls), n = RH_POOL_SIZE / s;
            char *base = (char *)ar->base + (size_t)i * RH_POOL_SIZE;
            for (size_t b = 0; b < n; b++)
                if (sp->ids[b]) fn(base + b * s, sp->ids[b] - 1, s, arg);
        }
    }
    for (size_t i = 0; i < T->cap; i++) {
        uint64_t e = T->blocks[i];
        if (e) {
            void *p = (void *)(uintptr_t)(ENTRY_KEY(e) << 4);
            fn(p, ENTRY_ID(e), rh__trace_block_size(h, p), arg);
        }
    }
}

/* The invariants of the essay, walked; a violation stops the program. */
void rh__trace_check(rh_heap *h) {
    struct rh__tools *T = h->tools;
    if (!T || !T->tracing) return;
    uint64_t bytes = 0;
    size_t plive = 0, live = 0, side = T->narenas * sizeof(rh__side_arena);
    for (size_t k = 0; k < T->narenas; k++) {
        const rh__side_arena *ar = T->arenas[k];
        if (ar->base & (RH_ARENA_SIZE - 1)) rh__fatal("trace: arena record %p not aligned", (void *)ar->base);
        if (index_find(&T->arena_index, arena_hash((uint32_t)(ar->base >> RH__ARENA_SHIFT)), NULL, NULL) != (long)k)
            rh__fatal("trace: arena record %zu not in the arena map", k);
        unsigned npools = 0;
        for (unsigned i = 0; i < RH__POOLS_PER_ARENA; i++) {
            const rh__side_pool *sp = ar->pools[i];
            if (!sp) continue;
            npools++;
            side += side_pool_bytes(sp->cls);
            char *base = (char *)ar->base + (size_t)i * RH_POOL_SIZE;
            if (sp->count == 0) { /* its class's spare, all zeros (checked below) */
                if (T->f.spare[sp->cls] != sp || T->f.spare_arena[sp->cls] != ar || T->f.spare_pool[sp->cls] != i)
                    rh__fatal("trace: empty side array of pool %p is not the spare of class %u", (void *)base,
                              (unsigned)sp->cls);
                continue;
            }
            const rh__pool *pool = rh__pool_lookup(base, h);
            if (!pool || pool->cls != sp->cls || pool->used < sp->count || sp->size != rh__class_size(sp->cls) ||
                sp->magic != rh__class_divmagic[sp->cls])
                rh__fatal("trace: side array of pool %p (class %u, %u ids) does not match its pool", (void *)base,
                          (unsigned)sp->cls, (unsigned)sp->count);
            size_t s = rh__class_size(sp->cls), n = RH_POOL_SIZE / s, count = 0;
            for (size_t b = 0; b < n; b++) {
                if (!sp->ids[b]) continue;
                if (sp->ids[b] - 1 >= T->ntraces) rh__fatal("trace: block %p has trace %u of %zu", (void *)(base + b * s),
                                                            (unsigned)sp->ids[b] - 1, T->ntraces);
                count++;
            }
            if (count != sp->count)
                rh__fatal("trace: side array of pool %p counts %u ids, holds %zu", (void *)base, (unsigned)sp->count,
                          count);
            plive += count;
            bytes += count * s;
        }
        if (npools != ar->npools) rh__fatal("trace: arena record %p counts %u arrays, holds %u", (void *)ar->base,
                                            ar->npools, npools);
    }
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        const rh__side_pool *sp = T->f.spare[c];
        if (!sp) continue;
        if (sp->count || T->f.spare_arena[c]->pools[T->f.spare_pool[c]] != sp)
            rh__fatal("trace: spare array of class %u is not an empty array in place", c);
        for (size_t b = 0; b < RH_POOL_SIZE / rh__class_size(c); b++)
            if (sp->ids[b]) rh__fatal("trace: spare array of class %u holds an id", c);
    }
    for (size_t i = 0; i < T->cap; i++) {
        uint64_t e = T->blocks[i];
        if (!e) continue;
        if (ENTRY_ID(e) >= T->ntraces) rh__fatal("trace: table entry %zu has trace %u", i, ENTRY_ID(e));
        live++;
        bytes += rh__trace_block_size(h, (void *)(uintptr_t)(ENTRY_KEY(e) << 4));
    }
    /* the caches of the in-line paths (trace_fast.h) name what the tables
     * hold */
    for (size_t k = 0; k < RH__TRACE_ACACHE; k++) {
        const rh__arena_cached *e = &T->f.acache[k];
        if (e->key == UINT32_MAX) continue;
        if ((e->key & (RH__TRACE_ACACHE - 1)) != k || !e->arena ||
            e->arena->base != (uintptr_t)e->key << RH__ARENA_SHIFT)
            rh__fatal("trace: arena cache entry %zu names the wrong record", k);
    }
    for (unsigned c = 0; c < RH_NUM_CLASSES; c++) {
        const rh__pool_cached *pc = &T->f.pcache[c];
        if (!pc->base) continue;
        if ((pc->base & (RH_POOL_SIZE - 1)) || !pc->ar ||
            pc->ar->base != (pc->base & ~(uintptr_t)(RH_ARENA_SIZE - 1)) ||
            pc->ar->pools[(pc->base >> RH__POOL_SHIFT) & (RH__POOLS_PER_ARENA - 1)] != pc->sp || pc->sp->cls != c)
            rh__fatal("trace: pool cache entry of class %u names an array not in its pool", c);
    }
    for (size_t k = 0; k < RH__TRACE_SCACHE; k++) {
        const rh__site_cached *e = &T->f.sites[k];
        if (e->line == INT_MIN) continue;
        const rh__trace *t = e->slot - 1 < T->ntraces ? &T->traces[e->slot - 1] : NULL;
        /* trace 0, the overflow trace, stands for any site once the table is full */
        if (rh__trace_site_slot(&T->f, e->file, e->line, e->type) != e || !t ||
            (e->slot != 1 &&
             (t->file != e->file || t->line != e->line || t->type_name != e->type || t->traceback != 0)))
            rh__fatal("trace: site cache entry %zu does not match trace %u", k, (unsigned)e->slot - 1);
    }
    if (plive != T->f.plive || live != T->live || bytes != T->f.current || side != T->side_bytes ||
        live > T->grow_at || T->grow_at >= T->cap)
        rh__fatal("trace: counters off (side %zu/%zu, table %zu/%zu, bytes %llu/%llu, side bytes %zu/%zu)", plive,
                  T->f.plive, live, T->live, (unsigned long long)bytes, (unsigned long long)T->f.current, side,
                  T->side_bytes);
}

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

int rh_trace_start(rh_heap *h, int nframes) {
    if (nframes < 0 || nframes > RH_TRACE_MAX_FRAMES) {
        rh_err_set(h, RH_EVALUE, "rh_trace_start: nframes %d out of 0..%d", nframes, RH_TRACE_MAX_FRAMES);
        return -1;
    }
    if (h->gc.collecting) {
        rh_err_set(h, RH_ESTATE, "rh_trace_start: not allowed during a collection");
        return -1;
    }
    struct rh__tools *T = rh__tools_get(h);
    if (!T) {
        rh__nomem(h);
        return -1;
    }
    if (T->tracing) {
        if (T->nframes == nframes) return 0;
        rh_err_set(h, RH_ESTATE, "rh_trace_start: already tracing with %d frames", T->nframes);
        return -1;
    }
    trace_tables_free(T); /* empty, with the caches reset */
    T->captbs = 64;
    T->capframes = 256;
    T->tbs = malloc(T->captbs * sizeof *T->tbs);
    T->frames = malloc(T->capframes * sizeof *T->frames);
    if (!T->tbs || !T->frames || table_resize(T, TABLE_MIN) != 0) goto nomem;
    T->tbs[0] = (rh__traceback){0, 0, 0}; /* the empty traceback */
    T->ntbs = 1;
    if (trace_intern(T, "(trace table full)", 0, NULL, 0) != 0 || T->ntraces != 1) goto nomem;
    T->nframes = nframes;
    T->tracing = true;
    T->f.hooks = &trace_hooks;
    h->alloc.trace = &T->f;
    rh__mem_trace_set(h, &trace_shim_methods); /* the shim and the slow bit */
    return 0;
nomem:
    trace_tables_free(T);
    rh__nomem(h);
    return -1;
}

int rh_trace_stop(rh_heap *h) {
    if (h->gc.collecting) {
        rh_err_set(h, RH_ESTATE, "rh_trace_stop: not allowed during a collection");
        return -1;
    }
    struct rh__tools *T = h->tools;
    if (!T || !T->tracing) return 0;
#if RH_DEBUG >= 3
    rh__trace_check(h);
#endif
    rh__mem_trace_set(h, NULL);
    T->tracing = false;
    trace_tables_free(T);
    return 0;
}

bool rh_trace_is_tracing(const rh_heap *h) { return h->tools && h->tools->tracing; }

int rh_trace_get_nframes(const rh_heap *h) { return rh_trace_is_tracing(h) ? h->tools->nframes : -1; }

void rh_trace_get_traced_memory(const rh_heap *h, size_t *current, size_t *peak) {
    const struct rh__tools *T = h->tools;
    bool on = T && T->tracing;
    if (current) *current = on ? (size_t)T->f.current : 0;
    if (peak) *peak = on ? (size_t)T->f.peak : 0;
}

void rh_trace_reset_peak(rh_heap *h) {
    if (rh_trace_is_tracing(h)) h->tools->f.peak = h->tools->f.current;
}

size_t rh_trace_count(const rh_heap *h) { return rh_trace_is_tracing(h) ? h->tools->live + h->tools->f.plive : 0; }

size_t rh_trace_get_memory(const rh_heap *h) {
    const struct rh__tools *T = h->tools;
    if (!T || !T->tracing) return 0;
    return T->cap * sizeof(uint64_t) + T->captraces * sizeof(rh__trace) + T->captbs * sizeof(rh__traceback) +
           T->capframes * sizeof(void *) + (T->trace_index.cap + T->tb_index.cap) * sizeof(uint64_t) +
           T->side_bytes + T->caparenas * sizeof(rh__side_arena *) + T->arena_index.cap * sizeof(uint64_t);
}

bool rh_trace_get_block_traceback(rh_heap *h, const void *block, rh_trace_info *out) {
    if (!h || !rh_trace_is_tracing(h) || !block || ((uintptr_t)block & 15)) return false;
    struct rh__tools *T = h->tools;
    uint32_t id;
    const rh__pool *pool = pool_block(h, block);
    if (pool) {
        if (!rh__pool_block_start(pool, block)) return false;
        const uint32_t *slot = side_slot(T, (uintptr_t)block);
        if (!slot || !*slot) return false;
        id = *slot - 1;
    } else {
        size_t j = table_find(T, block_key(block));
        if (j == SIZE_MAX) return false;
        id = ENTRY_ID(T->blocks[j]);
    }
    const rh__trace *t = &T->traces[id];
    if (out) {
        out->file = t->file;
        out->line = t->line;
        out->type_name = t->type_name;
        out->size = rh__trace_block_size(h, block);
        const rh__traceback *tb = &T->tbs[t->traceback];
        out->nframes = tb->n;
        memcpy(out->frames, T->frames + tb->off, tb->n * sizeof(void *));
    }
    return true;
}

bool rh_trace_get_object_traceback(const rh_object *o, rh_trace_info *out) {
    if (!o) return false;
    rh_heap *h = rh__heap_of(o);
    return h && rh_trace_get_block_traceback(h, rh__obj_block(o), out);
}
