/*
 * debugmem.c — debug mode: every block wrapped in a header and guards, filled
 * with known patterns, registered, and quarantined after free; and the check
 * that a heap is used by one thread at a time.
 *
 * The idea is CPython's PYTHONMALLOC=debug, written anew. Debug mode is a
 * shim of the layer interface (memory/layer.h): it wraps the layer below it
 * (the pools back end: debug -> pools, so a raw block is a pool block when
 * it fits, else a system block) and calls it only through that interface,
 * for the raw block under each debug block and to give it back. A debug
 * block is a raw block of the layer below laid out as
 *
 *   [ header 80 | front guard 16 | user's n bytes | tail guard 16 ]
 *                                ^ the pointer the user gets (16-aligned)
 *
 * The header holds the requested size, a serial number (1, 2, 3 ... per
 * heap), the allocation site (file:line), the type name of the object living
 * in the block (rh__debug_note_type; with the object's address,
 * rh__debug_note_object), once freed the site of the free, and while live
 * the links of the heap's list of live blocks (alloc.debug_live, newest
 * first). That list is what lets the heap's destruction check the guards
 * of every block the program never freed (rh__debug_check_all) and report
 * the containers left alive without being tracked (rh__debug_each_object,
 * gc.c's leak report).
 * Guards are GUARD_BYTE; new memory is NEW_BYTE (unless calloc'ed), freed
 * memory DEAD_BYTE, the patterns CPython uses, so a dump is recognisable.
 *
 * Every live or quarantined block's user pointer is in the system-block
 * registry (sysmem.c) with kind RH__KIND_DEBUG, so a free can tell, without
 * reading memory that is not ours:
 *   - a pointer refheap never returned (absent from the registry),
 *   - a block of another heap (registered to that heap),
 *   - a double free (registered, header says freed),
 *   - an underrun or overrun (a guard byte changed).
 * Each stops the program through rh__fatal with the block's serial number,
 * size, allocation site and what was wrong.
 *
 * States of a block: live -> quarantined (filled with DEAD_BYTE, header marks
 * where it was freed, still registered) -> released (unregistered, raw block
 * freed) when `quarantine` later frees push it out of the ring. A quarantined
 * block is freed as far as the statistics go: its raw bytes are counted in
 * alloc.quar_bytes (and, for a system block, quar_large_bytes/count), which
 * the statistics subtract from bytes in use and large blocks and report as
 * bytes_quarantined. Quarantine is
 * what lets a double free, or an incref of a dead object (its refcount word is
 * zeroed by rh__obj_free), be recognised rather than hit a reused block.
 *
 * Marks (memory/marks.h): the shim marks, unmarks and tests a debug block
 * through the raw block under it (after check_block: a pointer that is not
 * a live debug block of the heap stops the program), and a walk's raw block
 * is translated back to its user pointer. A quarantined block is never
 * marked: the free of a marked block (or its realloc) stops the program,
 * naming the block, its allocation site and the site of the free, before
 * anything changes.
 *
 * realloc in debug mode always moves the block (new serial, old one freed),
 * so code that keeps a stale pointer across a realloc touches freed memory.
 *
 * Thread check: rh__enter claims the heap for the calling thread (an atomic
 * compare-and-swap of the owner) and counts nesting; rh__leave releases it at
 * depth 0. A second thread entering while the owner is inside is reported.
 */
#include "memory/layer.h"

#include <inttypes.h>
#include <stdlib.h>

#define GUARD_BYTE 0xFD /* around every block            */
#define NEW_BYTE 0xCD   /* fresh, uninitialised memory   */
#define DEAD_BYTE 0xDD  /* freed memory                  */
#define GUARD_SIZE 16   /* one alignment unit on each side keeps the user's pointer aligned */

/* Freed blocks kept before their memory is reused: long enough that a stale
 * pointer used soon after the free lands in a recognisable dead block, small
 * enough (at most 1024 blocks) to keep the debug heap's footprint modest. */
#define DEFAULT_QUARANTINE 1024

typedef struct dbghead {
    size_t size;
    uint64_t serial;
    const char *file;      /* allocation site                  */
    const char *type_name; /* rh__debug_note_type, or NULL     */
    const char *free_file; /* NULL while live                  */
    int line, free_line;
    rh_object *obj;        /* rh__debug_note_object, or NULL: read only while live */
    struct dbghead *prev, *next; /* the heap's live blocks (alloc.debug_live) */
    uint64_t unused;       /* keeps the size a multiple of 16  */
} dbghead;
_Static_assert(sizeof(dbghead) % RH_ALIGNMENT == 0, "debug header keeps the user's pointer aligned");

#define FRONT (sizeof(dbghead) + GUARD_SIZE)
#define OVERHEAD (FRONT + GUARD_SIZE)

static dbghead *head_of(const void *p) { return (dbghead *)(void *)((char *)p - FRONT); }

int rh__debug_init(rh_heap *h, size_t quarantine) {
    struct rh__alloc_state *A = &h->alloc;
    A->quarantine_cap = quarantine ? quarantine : DEFAULT_QUARANTINE;
    A->quarantine = calloc(A->quarantine_cap, sizeof(void *));
    return A->quarantine ? 0 : -1;
}

void rh__debug_fini(rh_heap *h) {
    /* the blocks the program never freed: a guard overwritten there was
     * never checked by a free */
    rh__debug_check_all(h, "heap destruction");
    h->alloc.debug_live = NULL;
    /* the quarantined blocks' raw memory is freed with the pools and the
     * system blocks; their registry entries with the heap's other entries */
    free(h->alloc.quarantine);
    h->alloc.quarantine = NULL;
    h->alloc.quarantine_len = h->alloc.quarantine_head = 0;
    h->alloc.quar_bytes = h->alloc.quar_large_bytes = h->alloc.quar_large_count = 0;
}

static void *debug_alloc(rh__mem_layer *L, size_t n, bool zero, const char *file, int line) {
    rh_heap *h = L->heap;
    rh__mem_layer *below = L->below;
    if (n > SIZE_MAX - OVERHEAD) return NULL;
    char *raw = below->m->alloc(below, n + OVERHEAD, false, file, line);
    if (!raw) return NULL;
    char *p = raw + FRONT;
    if (rh__sysreg_add(p, h, RH__KIND_DEBUG) != 0) {
        below->m->free(below, raw, RH__NO_REFCNT, file, line);
        return NULL;
    }
    dbghead *d = (dbghead *)(void *)raw;
    d->size = n;
    d->serial = ++h->alloc.serial;
    d->file = file ? file : "?";
    d->line = line;
    d->type_name = NULL;
    d->free_file = NULL;
    d->free_line = 0;
    d->obj = NULL;
    d->prev = NULL;
    d->next = h->alloc.debug_live;
    if (d->next) d->next->prev = d;
    h->alloc.debug_live = d;
    memset(raw + sizeof *d, GUARD_BYTE, GUARD_SIZE);
    memset(p, zero ? 0 : NEW_BYTE, n);
    memset(p + n, GUARD_BYTE, GUARD_SIZE);
    h->alloc.requested += n;
    return p;
}

#define BLOCK_FMT "block #%" PRIu64 " (%zu bytes, allocated at %s:%d%s%s%s)"
#define BLOCK_ARGS(d)                                                                  \
    (d)->serial, (d)->size, (d)->file, (d)->line, (d)->type_name ? ", holding a " : "", \
        (d)->type_name ? (d)->type_name : "", (d)->type_name ? " object" : ""

/* Stops the program if a guard byte of block p changed; `at` says when the
 * check ran ("free of file:line", "heap destruction"). */
static void check_guards(const dbghead *d, const void *p, const char *at) {
    const unsigned char *g = (const unsigned char *)p - GUARD_SIZE;
    for (size_t i = 0; i < GUARD_SIZE; i++)
        if (g[i] != GUARD_BYTE)
            rh__fatal("debug: buffer underrun detected at %s: " BLOCK_FMT
                      ": byte %zd before the block is 0x%02X instead of 0x%02X",
                      at, BLOCK_ARGS(d), (ssize_t)(GUARD_SIZE - i), g[i], GUARD_BYTE);
    g = (const unsigned char *)p + d->size;
    for (size_t i = 0; i < GUARD_SIZE; i++)
        if (g[i] != GUARD_BYTE)
            rh__fatal("debug: buffer overrun detected at %s: " BLOCK_FMT
                      ": byte %zu after the block is 0x%02X instead of 0x%02X",
                      at, BLOCK_ARGS(d), i, g[i], GUARD_BYTE);
}

/* Validates p for `op` ("free", "realloc") on heap h; returns its header. */
static dbghead *check_block(rh_heap *h, const void *p, const char *op, const char *file, int line) {
    uintptr_t kind = 0;
    rh_heap *owner = rh__sysreg_find(p, &kind);
    if (!owner) owner = rh__pool_heap(p);
    if (!file) file = "?";
    if (owner && owner != h) {
        if (kind == RH__KIND_DEBUG && owner->mode == RH_MODE_DEBUG) {
            dbghead *d = head_of(p);
            rh__fatal("debug: %s on the wrong heap at %s:%d: " BLOCK_FMT " belongs to heap %p, not to heap %p",
                      op, file, line, BLOCK_ARGS(d), (void *)owner, (void *)h);
        }
        rh__fatal("debug: %s on the wrong heap at %s:%d: block %p belongs to heap %p, not to heap %p", op, file,
                  line, p, (void *)owner, (void *)h);
    }
    if (!owner || kind != RH__KIND_DEBUG)
        rh__fatal("debug: %s of a pointer refheap never returned at %s:%d: %p", op, file, line, p);
    dbghead *d = head_of(p);
    if (d->free_file)
        rh__fatal("debug: double free at %s:%d: " BLOCK_FMT " was already freed at %s:%d", file, line,
                  BLOCK_ARGS(d), d->free_file, d->free_line);
    char at[256];
    snprintf(at, sizeof at, "%s of %s:%d", op, file, line);
    check_guards(d, p, at);
    return d;
}

/* Stops the program if block p (header d) is marked: `op` ("free",
 * "realloc") would drop a mark its owner still relies on. */
static void check_unmarked(rh__mem_layer *L, const dbghead *d, void *p, const char *op, const char *file,
                           int line) {
    rh__mem_layer *below = L->below;
    if (below->m->mark(below, (char *)p - FRONT, RH__MARK_TEST))
        rh__fatal("debug: %s of a marked block at %s:%d: " BLOCK_FMT
                  " is still marked; a marked block is unmarked before it is freed",
                  op, file ? file : "?", line, BLOCK_ARGS(d));
}

/* Adds (sign +1) or removes (-1) a quarantined block's raw bytes from the
 * quarantine's totals. */
static void quarantine_account(rh_heap *h, const void *p, int sign) {
    struct rh__alloc_state *A = &h->alloc;
    const char *raw = (const char *)p - FRONT;
    size_t bytes;
    if (rh__pool_heap(raw)) {
        bytes = rh__class_size(rh__pool_of(raw)->cls);
    } else {
        bytes = rh__large_head(raw)->size;
        A->quar_large_bytes += sign > 0 ? bytes : -bytes;
        A->quar_large_count += sign > 0 ? 1 : (size_t)-1;
    }
    A->quar_bytes += sign > 0 ? bytes : -bytes;
}

/* Gives a quarantined block's raw memory back to the layer below (the
 * free at file:line pushed it out of the ring). */
static void release(rh__mem_layer *L, void *p, const char *file, int line) {
    quarantine_account(L->heap, p, -1);
    rh__sysreg_del(p);
    L->below->m->free(L->below, (char *)p - FRONT, RH__NO_REFCNT, file, line);
}

static void debug_free_block(rh__mem_layer *L, void *p, size_t header_offset, const char *file, int line) {
    rh_heap *h = L->heap;
    struct rh__alloc_state *A = &h->alloc;
    dbghead *d = check_block(h, p, "free", file, line);
    /* rh_free of a live object first: a tracked container's block is
     * marked too, and "released with rh_decref" is the message it needs */
    if (header_offset == RH__NO_REFCNT && d->type_name) /* rh_free, not an object's death */
        rh__fatal("debug: free of a live object at %s:%d: " BLOCK_FMT
                  "; an object is released with rh_decref, never freed",
                  file ? file : "?", line, BLOCK_ARGS(d));
    check_unmarked(L, d, p, "free", file, line);
    if (d->prev) d->prev->next = d->next;
    else A->debug_live = d->next;
    if (d->next) d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->obj = NULL;
    memset(p, DEAD_BYTE, d->size);
    if (header_offset != RH__NO_REFCNT && header_offset + sizeof(uint32_t) <= d->size)
        memset((char *)p + header_offset, 0, sizeof(uint32_t));
    d->free_file = file ? file : "?";
    d->free_line = line;
    A->requested -= d->size;
    if (A->quarantine_len == A->quarantine_cap) {
        release(L, A->quarantine[A->quarantine_head], file, line);
        A->quarantine_len--;
        A->quarantine_head = (A->quarantine_head + 1) % A->quarantine_cap;
    }
    rh__assert(A->quarantine_len < A->quarantine_cap);
    A->quarantine[(A->quarantine_head + A->quarantine_len) % A->quarantine_cap] = p;
    A->quarantine_len++;
    quarantine_account(h, p, +1);
}

static void *debug_realloc_block(rh__mem_layer *L, void *p, size_t n, const char *file, int line) {
    dbghead *d = check_block(L->heap, p, "realloc", file, line);
    check_unmarked(L, d, p, "realloc", file, line);
    void *q = debug_alloc(L, n, false, file, line);
    if (!q) return NULL;
    memcpy(q, p, d->size < n ? d->size : n);
    debug_free_block(L, p, RH__NO_REFCNT, file, line);
    return q;
}

/* The shim's operations (memory/layer.h): each inside the thread check. */
static void *debug_layer_alloc(rh__mem_layer *L, size_t n, bool zero, const char *file, int line) {
    rh__enter(L->heap);
    void *p = debug_alloc(L, n, zero, file, line);
    rh__leave(L->heap);
    return p;
}

static void debug_layer_free(rh__mem_layer *L, void *p, size_t header_offset, const char *file, int line) {
    rh__enter(L->heap);
    debug_free_block(L, p, header_offset, file, line);
    rh__leave(L->heap);
}

static void *debug_layer_realloc(rh__mem_layer *L, void *p, size_t n, const char *file, int line) {
    rh__enter(L->heap);
    void *q = debug_realloc_block(L, p, n, file, line);
    rh__leave(L->heap);
    return q;
}

static size_t debug_layer_usable(rh__mem_layer *L, const void *p) {
    return rh__debug_describe(L->heap, p, NULL) ? head_of(p)->size : 0;
}

static void debug_layer_check(rh__mem_layer *L, const void *p, const char *op, const char *file, int line) {
    (void)check_block(L->heap, p, op, file, line);
}

static bool debug_layer_mark(rh__mem_layer *L, void *p, rh__mark_op op) {
    rh_heap *h = L->heap;
    rh__enter(h);
    uintptr_t kind = 0;
    if (rh__sysreg_find(p, &kind) == h && kind == RH__KIND_DEBUG && head_of(p)->free_file) {
        const dbghead *d = head_of(p);
        rh__fatal("debug: mark of a freed block: " BLOCK_FMT " was freed at %s:%d", BLOCK_ARGS(d), d->free_file,
                  d->free_line);
    }
    (void)check_block(h, p, "mark", NULL, 0);
    bool was = L->below->m->mark(L->below, (char *)p - FRONT, op);
    rh__leave(h);
    return was;
}
static void *debug_layer_next_marked(rh__mem_layer *L, rh__mark_walk *w) {
    char *raw = L->below->m->next_marked(L->below, w);
    return raw ? raw + FRONT : NULL;
}
const rh__mem_methods rh__mem_debug = {
    .name = "debug",
    .alloc = debug_layer_alloc,
    .free = debug_layer_free,
    .realloc = debug_layer_realloc,
    .usable = debug_layer_usable,
    .check = debug_layer_check,
    .mark = debug_layer_mark,
    .next_marked = debug_layer_next_marked,
};

void rh__debug_note_type(rh_heap *h, void *block, const char *type_name) {
    if (h->mode != RH_MODE_DEBUG || !block) return;
    head_of(block)->type_name = type_name;
}

void rh__debug_note_object(rh_heap *h, void *block, rh_object *o) {
    if (h->mode != RH_MODE_DEBUG || !block) return;
    head_of(block)->type_name = o->rh_type->name;
    head_of(block)->obj = o;
}

void rh__check_live_slow(const rh_object *o, const char *op) {
    rh_heap *h = rh__heap_of(o);
    rh__blockinfo bi;
    if (!h || h->mode != RH_MODE_DEBUG || !rh__debug_describe(h, o, &bi) || !bi.freed) return;
    rh__fatal("%s: object of type '%s' was freed: block #%" PRIu64 " (%zu bytes, a freed object) allocated at "
              "%s:%d; an object must not be used after its last reference is gone",
              op, bi.type_name ? bi.type_name : "?", bi.serial, bi.size, bi.file ? bi.file : "?", bi.line);
}

void rh__debug_check_all(rh_heap *h, const char *at) {
    if (h->mode != RH_MODE_DEBUG) return;
    for (const dbghead *d = h->alloc.debug_live; d; d = d->next) check_guards(d, (const char *)d + FRONT, at);
}

void rh__debug_each_object(rh_heap *h, void (*fn)(rh_object *o, void *arg), void *arg) {
    if (h->mode != RH_MODE_DEBUG) return;
    for (dbghead *d = h->alloc.debug_live, *next; d; d = next) {
        next = d->next; /* fn must not free blocks; the next one is read first all the same */
        if (d->obj) fn(d->obj, arg);
    }
}

/* A debug block is found by its user pointer, or by a pointer one
 * alignment unit into it (rh__heap_of's rule: the object of a container,
 * behind the collector's record). */
bool rh__debug_describe(rh_heap *h, const void *p, rh__blockinfo *out) {
    if (!p) return false;
    const char *candidates[2] = {p, (const char *)p - RH_ALIGNMENT};
    for (int i = 0; i < 2; i++) {
        uintptr_t kind = 0;
        if ((uintptr_t)candidates[i] < RH_ALIGNMENT) break;
        rh_heap *owner = rh__sysreg_find(candidates[i], &kind);
        if (!owner || kind != RH__KIND_DEBUG || (h && owner != h) || owner->mode != RH_MODE_DEBUG) continue;
        const dbghead *d = head_of(candidates[i]);
        if (out) {
            out->serial = d->serial;
            out->size = d->size;
            out->file = d->file;
            out->line = d->line;
            out->type_name = d->type_name;
            out->freed = d->free_file != NULL;
        }
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * One thread at a time
 * ------------------------------------------------------------------------- */
static _Thread_local char thread_marker; /* its address identifies the thread */

void rh__enter(rh_heap *h) {
    if (h->mode != RH_MODE_DEBUG) return;
    uintptr_t me = (uintptr_t)&thread_marker;
    uintptr_t cur = 0;
    if (atomic_compare_exchange_strong(&h->alloc.owner, &cur, me)) {
        h->alloc.depth = 1;
        return;
    }
    if (cur == me) {
        h->alloc.depth++;
        return;
    }
    rh__fatal("debug: heap %p used by a second thread while another thread is inside it "
              "(a heap is used by one thread at a time)",
              (void *)h);
}

void rh__leave(rh_heap *h) {
    if (h->mode != RH_MODE_DEBUG) return;
    if (h->alloc.depth && --h->alloc.depth == 0) atomic_store(&h->alloc.owner, (uintptr_t)0);
}
