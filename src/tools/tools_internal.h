/*
 * tools_internal.h — what the leak and growth tools (src/tools/) share: the
 * per-heap state of tracing (trace.c), the traceback and trace tables that
 * snapshots read (snapshot.c), and objgraph's last type counts (objgraph.c).
 *
 * The tools sit on top of the library: they call the public API and the
 * collector's lists, and the allocator calls into them only through the
 * table of trace hooks it finds in h->alloc.trace (alloc_internal.h) while
 * RH__SLOW_TRACE is set. Their own memory comes from the C library's malloc,
 * never from the heap they observe, so a tool never changes the figures it
 * reports (nor traces itself).
 */
#ifndef REFHEAP_TOOLS_INTERNAL_H
#define REFHEAP_TOOLS_INTERNAL_H

#include "memory/alloc_priv.h"
#include "collector/gc_internal.h"
#include "memory/trace_fast.h"

void rh__tools_fini(rh_heap *h); /* stops tracing, frees the tools' state (heap.c calls it) */

/* The tracing hooks (memory/alloc_internal.h's rh__trace_hooks), which the
 * allocator calls through h->alloc.trace. */
void *rh__trace_alloc(rh_heap *h, void *p, size_t size, const char *file, int line, const char *type_name);
void rh__trace_free(rh_heap *h, void *p, size_t size);
void rh__trace_attach(rh_heap *h, void *p, uint32_t trace, const char *file, int line);
void rh__trace_note_type(rh_heap *h, void *block, const char *type_name);

/* A trace: where a block was allocated. Traces are interned: the table holds
 * each distinct (file, line, type name, traceback) once, and a traced block
 * stores the trace's 20-bit id. Id 0 is the overflow trace "(trace table
 * full)", used once 2^20 - 1 distinct traces exist. */
#define RH__TRACE_ID_BITS 20
#define RH__TRACE_ID_MAX (((uint32_t)1 << RH__TRACE_ID_BITS) - 1)
typedef struct rh__trace {
    const char *file;      /* the _at entry point's file (static storage)   */
    const char *type_name; /* the object's type (rh__trace_note_type), or NULL */
    int line;
    uint32_t traceback;    /* index in the traceback table; 0: no frames    */
    uint64_t hash;
} rh__trace;

/* A native traceback: frames[off .. off+n) of the heap's frame array. Index 0
 * is the empty traceback. */
typedef struct rh__traceback {
    uint64_t hash;
    uint32_t off, n;
} rh__traceback;

/* An interning index (trace.c; the tools' one hash table): open addressing
 * over record indices, capacity a power of two, load <= 1/2. A slot is
 * hash32 << 32 | (index + 1), 0 when empty: the stored hash places entries
 * again when the index grows and screens out most unequal records. */
typedef struct rh__index {
    uint64_t *slots;
    size_t cap, count;
} rh__index;

typedef struct rh__type_count_entry {
    const char *name;
    size_t count;
} rh__type_count_entry;

struct rh__tools {
    /* --- tracing (trace.c) ---------------------------------------------- */
    /* first: the hot state, which h->alloc.trace points to while tracing
     * (current and peak traced bytes, plive, last_block, the spares, the
     * arena and site caches: memory/trace_fast.h) */
    rh__trace_fast f;
    bool tracing;
    int nframes;              /* frames per traceback, 0: the site only     */
    /* Pool blocks of a pools-mode heap: side arrays beside the pools
     * (memory/trace_fast.h). arena_index maps an arena's number (address
     * >> 20, 28 bits: the index's stored hash is the key itself) to its
     * record in arenas[]; records live until tracing stops. f.acache is a
     * direct-mapped cache of that map. */
    rh__side_arena **arenas;
    size_t narenas, caparenas;
    rh__index arena_index;
    size_t side_bytes;        /* bytes of the records and arrays above      */
    unsigned fail_side;       /* white-box tests: fail the next N side allocations */
    /* The block table, for every other block (system blocks, malloc and
     * debug modes): open addressing with linear probing, capacity any
     * integer >= 1024 (an index is (hash * cap) >> 64), grown by 3/2 past a
     * load of 4/5, halved under a load of 1/4, without tombstones (a deletion shifts the rest
     * of its cluster back). An entry is (address >> 4) << 20 | trace id: the
     * heap's blocks are 16-byte aligned below 2^48, so 44 bits name the
     * block; 0 is an empty slot. */
    uint64_t *blocks;
    size_t cap, live, grow_at; /* live: entries of the block table          */
    /* f.last_block: the block traced last by the full path, and where its
     * id is, so that the type note that follows finds it directly
     * (last_side: its side slot, or NULL; else last_slot in the table) */
    size_t last_slot;
    uint32_t *last_side;
    uint64_t lost;            /* blocks not traced: out of memory           */
    /* a one-entry cache of the last (trace, type) an object's note turned
     * into a trace (the sites' cache is f.sites) */
    uint32_t type_from_cached, type_id_cached;
    const char *type_name_cached;
    /* rh_trace_site_push: sites that replace refheap's own ones */
    const char *site_file[16];
    int site_line[16];
    unsigned nsites;          /* pushes (may exceed 16: the deeper ones are ignored) */

    rh__trace *traces;        /* interned traces, by id                     */
    size_t ntraces, captraces;
    rh__index trace_index;
    rh__traceback *tbs;       /* interned tracebacks                        */
    size_t ntbs, captbs;
    rh__index tb_index;
    void **frames;            /* every traceback's frames, end to end       */
    size_t nframes_used, capframes;

    /* --- collector pauses (snapshot.c: rh_trace_record_pauses) ------------ */
    bool pauses_on;
    uint64_t pause_count, pause_total_ns, pause_max_ns;
    uint64_t pause_ring[256]; /* the last 256 pauses: generation << 56 | ns */
    size_t pause_head;

    /* --- objgraph (objgraph.c): show_growth's last counts ---------------- */
    rh__type_count_entry *growth;
    size_t ngrowth;
};

/* The heap's tools state, created on first use (NULL: out of memory). */
struct rh__tools *rh__tools_get(rh_heap *h);

/* Interning index operations (trace.c). find: the record index whose hash is
 * `hash` and for which eq(ctx, index) holds, or -1; add: enters an index
 * (-1 when out of memory); free: releases the slots. */
long rh__index_find(const rh__index *ix, uint32_t hash, bool (*eq)(const void *ctx, uint32_t idx), const void *ctx);
int rh__index_add(rh__index *ix, uint32_t hash, uint32_t idx);
void rh__index_free(rh__index *ix);

/* Usable size of a traced block (what the statistics count as in use). */
size_t rh__trace_block_size(rh_heap *h, const void *p);

/* Calls fn(block, trace id, usable size, arg) for every traced block: the
 * pool blocks of the side arrays, then the block table's. */
void rh__trace_each(rh_heap *h, void (*fn)(void *block, uint32_t id, size_t size, void *arg), void *arg);

/* Invariant check of the tracing tables (trace.c's essay); a violation
 * stops the program. Runs at RH_DEBUG >= 3 when a snapshot is taken and
 * when tracing stops; white-box tests call it. */
void rh__trace_check(rh_heap *h);

/* The finaliser of MurmurHash3: the tools' hashes of words. */
static inline uint64_t rh__mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif
