/*
 * trace.c — allocation tracing (Python's tracemalloc), one more layer around
 * the allocator.
 *
 * Switching on. rh_trace_start sets RH__SLOW_TRACE in the heap's slow word
 * (alloc.slow), the word every fast path of pools mode tests first. From then
 * on every allocation, free and realloc of the heap goes through the slow
 * paths of memory/alloc.c, which call the hooks below through the table
 * rh_trace_start put in h->alloc.trace, after the allocator did its work
 * (allocations) or before (frees). Nothing else in the allocator knows about
 * tracing; with the bit clear the fast paths are exactly what they were.
 *
 * What a traced block costs. One 64-bit entry in the block table: the block's
 * address shifted right by 4 (the heap's blocks are 16-byte aligned below
 * 2^48: 44 bits) above a 20-bit trace id. The table is open addressing with
 * linear probing over any capacity (a slot is (hash * cap) >> 64, Lemire's
 * reduction), grown by half past a load of 4/5, so while the traced set grows
 * or holds steady its load stays between 8/15 and 4/5: 10 to 15 bytes per
 * live block. When frees bring it under a quarter full it is halved (so at
 * most 32 bytes per live block while the set shrinks, and the memory comes
 * back). Deletion shifts the rest of the cluster back (no tombstones), so a
 * probe stops at the first empty slot.
 * Sizes are not stored: the usable size of a live block is known to the
 * allocator (class size of a pool block, header of a system or debug block)
 * and is asked when needed (counters, snapshots).
 *
 * Traces and tracebacks are interned. A trace is (file, line, type name,
 * traceback): file and line come from the _at entry point; the type name is
 * added by object.c right after an object's block is allocated
 * (rh__trace_note_type re-interns the block's trace with the type, finding
 * the block through last_block/last_slot without a second probe). A traceback
 * is the native backtrace() of nframes frames, hashed and stored once in the
 * frame array. Both tables use rh__index, the tools' one hash index. Their
 * memory grows with distinct sites and call stacks, not with blocks. When
 * 2^20 - 1 distinct traces exist, further ones share trace 0, "(trace table
 * full)".
 *
 * Counters. current = sum of the usable sizes of the traced live blocks;
 * peak = the highest current since the start or the last reset. A block
 * allocated before the start is untraced: its free finds no entry and
 * changes nothing. A block that cannot be entered for lack of memory is left
 * untraced and counted in `lost` (the allocation itself succeeds).
 *
 * Invariants: live = number of non-zero entries; live <= grow_at < cap;
 * cap >= 1024; live >= cap / 4 unless cap is the initial 1024;
 * every entry's trace id < ntraces; current = sum of sizes of live entries.
 * Tracing is switched only outside a collection (a collection's frees must
 * meet the table it started with).
 */
#include "tools/tools_internal.h"

#include <execinfo.h>
#include <limits.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * The interning index (shared by the tools)
 * ------------------------------------------------------------------------- */

#define INDEX_MIN 64

long rh__index_find(const rh__index *ix, uint32_t hash, bool (*eq)(const void *ctx, uint32_t idx), const void *ctx) {
    if (!ix->cap) return -1;
    size_t mask = ix->cap - 1;
    for (size_t j = hash & mask;; j = (j + 1) & mask) {
        uint64_t s = ix->slots[j];
        if (!s) return -1;
        if ((uint32_t)(s >> 32) == hash && eq(ctx, (uint32_t)s - 1u)) return (long)((uint32_t)s - 1u);
    }
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

static void trace_tables_free(struct rh__tools *T) {
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
    T->current = T->peak = T->lost = 0;
    T->last_block = NULL;
    T->site_file_cached = NULL;
    T->site_line_cached = INT_MIN; /* no site: a NULL file at line 0 is a real one */
    T->type_name_cached = NULL;
    T->type_from_cached = UINT32_MAX;
}

void rh__tools_fini(rh_heap *h) {
    struct rh__tools *T = h->tools;
    if (!T) return;
    h->alloc.slow &= ~RH__SLOW_TRACE;
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

/* Frames skipped at the top of a backtrace: this file's capture and the
 * hook (rh__trace_alloc / rh__trace_attach). The next ones are refheap's
 * slow path and entry point, then the caller. */
#define SKIP_FRAMES 2

__attribute__((noinline)) static uint32_t capture(struct rh__tools *T) {
    void *buf[RH_TRACE_MAX_FRAMES + SKIP_FRAMES];
    int n = backtrace(buf, T->nframes + SKIP_FRAMES);
    if (n <= SKIP_FRAMES) return 0;
    return tb_intern(T, buf + SKIP_FRAMES, (uint32_t)(n - SKIP_FRAMES));
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
    T->last_block = NULL;
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
    T->last_block = p;
    T->last_slot = j;
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
    T->last_block = NULL;
    /* under a quarter full: half the slots (a failure keeps the table) */
    if (T->live < T->cap / 4 && T->cap / 2 >= TABLE_MIN) table_resize(T, T->cap / 2);
}

size_t rh__trace_block_size(rh_heap *h, const void *p) { return rh_usable_size(h, p); }

static void count_in(struct rh__tools *T, uint64_t size) {
    T->current += size;
    if (T->current > T->peak) T->peak = T->current;
}

/* ---------------------------------------------------------------------------
 * The hooks (alloc.c's slow paths, object.c, through h->alloc.trace)
 * ------------------------------------------------------------------------- */

RH__HOT_INLINE void record(rh_heap *h, struct rh__tools *T, void *p, uint32_t id, size_t size) {
    if (!table_insert(T, p, id)) {
        T->lost++;
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
}

void rh_trace_site_pop(rh_heap *h) {
    struct rh__tools *T = h->tools;
    if (T && T->nsites) T->nsites--;
}

__attribute__((noinline)) void rh__trace_alloc(rh_heap *h, void *p, size_t size, const char *file, int line) {
    struct rh__tools *T = h->tools;
    site_of(T, &file, &line);
    uint32_t id;
    if (T->nframes) {
        id = trace_intern(T, file, line, NULL, capture(T));
    } else if (file == T->site_file_cached && line == T->site_line_cached) {
        id = T->site_id_cached; /* the same site as the last allocation */
    } else {
        id = trace_intern(T, file, line, NULL, 0);
        T->site_file_cached = file;
        T->site_line_cached = line;
        T->site_id_cached = id;
    }
    record(h, T, p, id, size);
}

void rh__trace_free(rh_heap *h, void *p, size_t size) {
    struct rh__tools *T = h->tools;
    size_t j = table_find(T, block_key(p));
    if (j == SIZE_MAX) return;
    T->current -= size ? size : rh__trace_block_size(h, p);
    table_delete(T, j);
}

uint32_t rh__trace_detach(rh_heap *h, void *p) {
    struct rh__tools *T = h->tools;
    size_t j = table_find(T, block_key(p));
    if (j == SIZE_MAX) return RH__TRACE_NONE;
    uint32_t id = ENTRY_ID(T->blocks[j]);
    T->current -= rh__trace_block_size(h, p);
    table_delete(T, j);
    return id;
}

__attribute__((noinline)) void rh__trace_attach(rh_heap *h, void *p, uint32_t trace, const char *file, int line) {
    struct rh__tools *T = h->tools;
    if (trace == RH__TRACE_NONE) return;
    if (trace == RH__TRACE_NEW) {
        site_of(T, &file, &line);
        uint32_t tb = T->nframes ? capture(T) : 0;
        trace = trace_intern(T, file, line, NULL, tb);
    }
    record(h, T, p, trace, 0);
}

void rh__trace_note_type(rh_heap *h, void *block, const char *type_name) {
    struct rh__tools *T = h->tools;
    size_t j;
    if (T->last_block == block) j = T->last_slot;
    else if ((j = table_find(T, block_key(block))) == SIZE_MAX) return;
    uint32_t from = ENTRY_ID(T->blocks[j]), id;
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
    T->blocks[j] = (T->blocks[j] & ~(uint64_t)RH__TRACE_ID_MAX) | id;
}

static const rh__trace_hooks trace_hooks = {
    .alloc = rh__trace_alloc,
    .free = rh__trace_free,
    .detach = rh__trace_detach,
    .attach = rh__trace_attach,
    .note_type = rh__trace_note_type,
};

void rh__trace_each(rh_heap *h, void (*fn)(void *block, uint32_t id, void *arg), void *arg) {
    struct rh__tools *T = h->tools;
    if (!T) return;
    for (size_t i = 0; i < T->cap; i++) {
        uint64_t e = T->blocks[i];
        if (e) fn((void *)(uintptr_t)(ENTRY_KEY(e) << 4), ENTRY_ID(e), arg);
    }
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
    h->alloc.trace = &trace_hooks;
    h->alloc.slow |= RH__SLOW_TRACE;
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
    h->alloc.slow &= ~RH__SLOW_TRACE;
    T->tracing = false;
    trace_tables_free(T);
    return 0;
}

bool rh_trace_is_tracing(const rh_heap *h) { return h->tools && h->tools->tracing; }

int rh_trace_get_nframes(const rh_heap *h) { return rh_trace_is_tracing(h) ? h->tools->nframes : -1; }

void rh_trace_get_traced_memory(const rh_heap *h, size_t *current, size_t *peak) {
    const struct rh__tools *T = h->tools;
    bool on = T && T->tracing;
    if (current) *current = on ? (size_t)T->current : 0;
    if (peak) *peak = on ? (size_t)T->peak : 0;
}

void rh_trace_reset_peak(rh_heap *h) {
    if (rh_trace_is_tracing(h)) h->tools->peak = h->tools->current;
}

size_t rh_trace_count(const rh_heap *h) { return rh_trace_is_tracing(h) ? h->tools->live : 0; }

size_t rh_trace_get_memory(const rh_heap *h) {
    const struct rh__tools *T = h->tools;
    if (!T || !T->tracing) return 0;
    return T->cap * sizeof(uint64_t) + T->captraces * sizeof(rh__trace) + T->captbs * sizeof(rh__traceback) +
           T->capframes * sizeof(void *) + (T->trace_index.cap + T->tb_index.cap) * sizeof(uint64_t);
}

bool rh_trace_get_block_traceback(rh_heap *h, const void *block, rh_trace_info *out) {
    if (!h || !rh_trace_is_tracing(h) || !block) return false;
    const struct rh__tools *T = h->tools;
    size_t j = table_find(T, block_key(block));
    if (j == SIZE_MAX || ((uintptr_t)block & 15)) return false;
    const rh__trace *t = &T->traces[ENTRY_ID(T->blocks[j])];
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
