/*
 * refheap.h — the one public header of refheap.
 *
 * refheap is Python's memory management as a C library: a private heap of
 * small-block memory pools (pymalloc's design), reference-counted objects with
 * immortal singletons, CPython 3.11's generational cycle collector, weak
 * references, and the controls of Python's `gc` and `sys` modules.
 *
 * Conventions
 *   - Every public name starts with `rh_` (types, functions) or `RH_` (macros,
 *     constants). Names starting with `rh__` are internal but must be visible
 *     for the inline fast paths; do not call them.
 *   - "new reference": the caller owns one reference and must rh_decref it.
 *     "borrowed reference": valid as long as its owner keeps it; do not decref.
 *     Setters (list append, dict set, setattr, ...) never steal: they take their
 *     own reference. The only stealing functions say "steals" in their comment.
 *   - Functions returning an object return NULL on error; functions returning
 *     int return 0 on success and -1 on error. The error is kept on the heap:
 *     rh_err() / rh_errmsg(). A lookup that finds nothing is not an error unless
 *     its comment says so (then it sets RH_EKEY / RH_EATTR / RH_EINDEX).
 *   - Creating a container (rh_new or rh_new_tracked of an RH_TYPE_GC type,
 *     and every built-in constructor of lists, dicts, tuples, sets, instances,
 *     views...) may run
 *     an automatic collection, and with it finalizers and callbacks, that is,
 *     arbitrary code: a borrowed reference (rh_list_get, rh_dict_get, ...)
 *     may die across such a call. Take a new reference first when it must
 *     survive. refheap's own functions read their arguments' state after such
 *     an allocation, never before.
 *   - One heap is used by one thread at a time (like one CPython interpreter
 *     under its GIL). Several heaps may live in one process; objects of
 *     different heaps must never reference each other.
 */
#ifndef REFHEAP_H
#define REFHEAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is compiled with hidden visibility; what this header declares
 * is its exported interface. */
#if defined(RH_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC visibility push(default)
#endif

#define RH_VERSION_MAJOR 0
#define RH_VERSION_MINOR 1
#define RH_VERSION_PATCH 0
#define RH_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define RH_LIKELY(x) __builtin_expect(!!(x), 1)
#define RH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RH_LIKELY(x) (x)
#define RH_UNLIKELY(x) (x)
#define RH_PRINTF(f, a)
#endif

/* ======================================================================
 * 1. Heaps, errors and raw memory
 * ==================================================================== */

typedef struct rh_heap rh_heap;

/* Allocator modes. RH_MODE_DEFAULT reads the environment variable
 * REFHEAP_MALLOC ("pools", "malloc" or "debug") and falls back to pools. */
typedef enum rh_mode {
    RH_MODE_DEFAULT = 0,
    RH_MODE_POOLS = 1,  /* small blocks from pools, large from the system   */
    RH_MODE_MALLOC = 2, /* every block from the system allocator (Valgrind) */
    RH_MODE_DEBUG = 3   /* pools' semantics plus guards, fills, serials,
                           allocation sites, object checks, and a check
                           that no two threads are inside the allocator of
                           one heap at once                                */
} rh_mode;

/* Collection policies (docs/tuning.md says which to pick). RH_GC_POLICY_DEFAULT
 * reads the environment variable REFHEAP_GC ("cpython" or "incremental") and
 * falls back to CPython's policy; a policy named in the config wins over it. */
typedef enum rh_gc_policy {
    RH_GC_POLICY_DEFAULT = 0,
    RH_GC_POLICY_CPYTHON = 1,    /* CPython 3.11's generations, exactly          */
    RH_GC_POLICY_INCREMENTAL = 2 /* young collections + the old generation in
                                    bounded slices paced by allocation       */
} rh_gc_policy;

typedef struct rh_heap_config {
    rh_mode mode;
    /* Debug mode only: how many freed blocks are kept poisoned (not reused)
     * so that a later use of them is recognised. 0 picks the default. */
    size_t debug_quarantine;
    rh_gc_policy gc_policy;
    /* Pools and debug modes: how long (milliseconds) an arena that became
     * empty stays mapped, beyond the one empty arena always kept, before it
     * goes back to the OS, so that a program that frees a burst and then
     * allocates again does not fault its pages in anew. 0 picks the default:
     * the environment variable REFHEAP_ARENA_DECAY_MS if set (0 there: at
     * once), else RH_ARENA_DECAY_DEFAULT_MS. RH_ARENA_DECAY_NOW (negative):
     * at once. There is no background thread: an arena whose delay has run
     * out is released by the heap's next allocation or free that takes a
     * slow path (a pool taken, filled or emptied), or by rh_heap_trim. */
    long arena_decay_ms;
} rh_heap_config;
#define RH_ARENA_DECAY_DEFAULT_MS 1000L
#define RH_ARENA_DECAY_NOW (-1L)

/* Error codes, kept per heap. */
typedef enum rh_error {
    RH_OK = 0,
    RH_ENOMEM,    /* out of memory (real or injected)                        */
    RH_EOVERFLOW, /* integer overflow, size overflow                         */
    RH_ETYPE,     /* wrong type for the operation; unhashable key            */
    RH_EKEY,      /* key not found                                           */
    RH_EINDEX,    /* index out of range                                      */
    RH_EVALUE,    /* bad value (e.g. float to int of a NaN)                  */
    RH_EATTR,     /* attribute not found / not settable                      */
    RH_EBUFFER,   /* resize of a buffer while a view exports it; released view */
    RH_EWEAKREF,  /* the type does not support weak references               */
    RH_ESTATE,    /* operation not allowed now (e.g. dict changed size while iterating) */
    RH_EZERODIV   /* division by zero                                        */
} rh_error;

/* Creates a heap. cfg may be NULL (defaults). Returns NULL if the system is
 * out of memory. Creating a heap maps no arena yet. */
rh_heap *rh_heap_new(const rh_heap_config *cfg);

/* Destroys a heap: runs the weakref.finalize callbacks still due (newest
 * first, automatic collection off), then a last full collection (finalizers of
 * unreachable objects run; gc callbacks are not called), then frees every
 * object and returns every byte to the OS. In debug mode, every container
 * still alive at that point (the roots the program did not release and what
 * they keep alive) is reported as a leak, with its type, reference count and
 * allocation site, on the gc sink. Must not be called from a collection. */
void rh_heap_destroy(rh_heap *h);

/* Returns every empty arena of the heap to the OS now (the one kept mapped
 * and those waiting out their decay delay, with the empty pools each size
 * class keeps cached in them). Returns the bytes unmapped. */
size_t rh_heap_trim(rh_heap *h);

rh_mode rh_heap_mode(const rh_heap *h);
const char *rh_mode_name(rh_mode m);

/* The heap an object (or block) belongs to. O(1). */
rh_heap *rh_heap_of(const void *obj_or_block);

rh_error rh_err(const rh_heap *h);
const char *rh_errmsg(const rh_heap *h);          /* "" when no error   */
void rh_err_clear(rh_heap *h);
void rh_err_set(rh_heap *h, rh_error code, const char *fmt, ...) RH_PRINTF(3, 4);
const char *rh_error_name(rh_error code);          /* "RH_ENOMEM", ...   */

/* Raw memory with the C standard's contracts: rh_free(h, NULL) is a no-op,
 * rh_realloc(h, NULL, n) allocates, rh_calloc checks n*size for overflow, a
 * 0-byte request returns a unique pointer. Every block is 16-byte aligned.
 * Failure returns NULL and sets RH_ENOMEM. The macros record the call site
 * (shown by debug mode); the _at functions are the real entry points.
 * rh_free / rh_realloc of a pointer refheap did not return (one inside a
 * block, an object's: objects are released with rh_decref) stop the program
 * with a message naming the block: pools mode checks the block boundary
 * always, debug mode also recognises any object's block. */
void *rh_malloc_at(rh_heap *h, size_t n, const char *file, int line);
void *rh_calloc_at(rh_heap *h, size_t count, size_t size, const char *file, int line);
void *rh_realloc_at(rh_heap *h, void *p, size_t n, const char *file, int line);
void rh_free_at(rh_heap *h, void *p, const char *file, int line);
#define rh_malloc(h, n) rh_malloc_at((h), (n), __FILE__, __LINE__)
#define rh_calloc(h, c, s) rh_calloc_at((h), (c), (s), __FILE__, __LINE__)
#define rh_realloc(h, p, n) rh_realloc_at((h), (p), (n), __FILE__, __LINE__)
#define rh_free(h, p) rh_free_at((h), (p), __FILE__, __LINE__)

/* Usable size of a block (its size class for pool blocks). */
size_t rh_usable_size(rh_heap *h, const void *p);

/* Does p point into one of this heap's pools? O(1), safe for any pointer. */
bool rh_is_pool_block(const rh_heap *h, const void *p);

/* Fault injection: the n-th allocation from now (n >= 1) fails; if
 * `persistent`, every allocation after it fails too. n <= 0 switches the
 * injector off. Applies to every allocation of the heap, objects included. */
void rh_heap_fail_after(rh_heap *h, long n, bool persistent);
/* How many allocations were made through the heap (counts injected ones). */
uint64_t rh_heap_alloc_count(const rh_heap *h);

/* Pools geometry (see src/memory/pools.c for the reasoning). */
#define RH_ALIGNMENT 16
#define RH_SMALL_MAX 512                   /* largest pooled request      */
#define RH_NUM_CLASSES (RH_SMALL_MAX / RH_ALIGNMENT) /* 32 size classes   */
#define RH_POOL_SIZE ((size_t)16 << 10)    /* 16 KiB                      */
#define RH_ARENA_SIZE ((size_t)1 << 20)    /* 1 MiB                       */

typedef struct rh_class_stats {
    size_t block_size;    /* bytes per block of this class                 */
    size_t pools_used;    /* pools of this class with at least one block in use
                             (or waiting, free, in the heap's block cache) */
    size_t pools_full;    /* of those, pools with every block in use       */
    size_t blocks_in_use; /* blocks handed out and not freed               */
    size_t blocks_free;   /* free blocks in this class's used pools (carved or not) */
    size_t pools_cached;  /* 0 or 1: an empty pool kept for this class (not in
                             pools_used nor pools_empty; pools_total = pools_empty
                             + the sum of pools_used + pools_cached) */
} rh_class_stats;

/* A snapshot of the heap's allocator. Plain data: copy it, diff it. */
typedef struct rh_heap_stats {
    rh_mode mode;
    rh_class_stats classes[RH_NUM_CLASSES];
    size_t arenas_current;     /* arenas mapped now                         */
    size_t arenas_peak;        /* most arenas mapped at once                */
    size_t arenas_allocated;   /* arenas ever mapped                        */
    size_t arenas_released;    /* arenas ever returned to the OS            */
    size_t pools_total;        /* pools in the mapped arenas                */
    size_t pools_empty;        /* pools free for any size class             */
    size_t blocks_in_use;      /* THE count of live blocks: every block handed
                                  out and not freed, small and large, in
                                  every mode (debug mode: without the
                                  quarantined ones); as sys.getallocatedblocks() */
    size_t large_blocks;       /* blocks from the system allocator, live    */
    size_t large_bytes;        /* their requested bytes (debug mode: with
                                  header and guards; not the quarantined)  */
    size_t bytes_requested;    /* sum of live requests (small and large); pools
                                  mode keeps no request size for small blocks
                                  and counts them at their class size       */
    size_t bytes_in_use;       /* live blocks rounded to their class + large
                                  (debug mode: with headers and guards; the
                                  quarantined blocks are not live)          */
    size_t bytes_mapped;       /* arena bytes mapped + large bytes          */
    size_t peak_bytes_in_use;  /* sampled when the heap grows (new pool or
                                  system block) and at each stats read: may
                                  miss a peak within the pools already used */
    uint64_t mallocs, frees, reallocs, failed; /* operation counters (mallocs
                                counts failed attempts too)              */
    size_t rss, peak_rss;      /* of the whole process, from /proc (bytes)  */
    size_t bytes_quarantined;  /* debug mode: raw bytes of freed blocks held
                                  in quarantine (0 in other modes)          */
    size_t radix_leaves;       /* process-wide: leaves of the arena address
                                  tree holding memory (those with an arena of
                                  any heap; 0 once every heap is destroyed) */
} rh_heap_stats;

void rh_heap_stats_get(rh_heap *h, rh_heap_stats *out);
/* Prints the pools' usage in the spirit of sys._debugmallocstats(). */
void rh_heap_stats_print(rh_heap *h, FILE *out);
/* Process RSS and peak RSS in bytes (0 if /proc is unavailable). */
size_t rh_process_rss(void);
size_t rh_process_peak_rss(void);

/* ======================================================================
 * 2. Objects and types
 * ==================================================================== */

struct rh_type;

/* The object header (16 bytes). Objects of container types (RH_TYPE_GC) also
 * carry the collector's 16-byte link record in front of the header; user code
 * never sees it. rh_refcnt == RH_IMMORTAL marks an immortal object. */
typedef struct rh_object {
    uint32_t rh_refcnt;
    uint32_t rh_gcword; /* collector scratch; do not touch */
    const struct rh_type *rh_type;
} rh_object;

/* Put this first in a user struct: struct point { RH_OBJECT_HEAD; double x; }; */
#define RH_OBJECT_HEAD rh_object rh_base

#define RH_IMMORTAL UINT32_MAX
#define RH_OBJ(p) ((rh_object *)(p))
#define RH_TYPE(o) (RH_OBJ(o)->rh_type)

typedef int64_t rh_hash_t;          /* -1 means "error" as in CPython */
/* The function a traverse hook calls for each reference. visit(NULL, arg) is
 * allowed and does nothing (every visit function refheap passes ignores a
 * NULL referent), so a traverse may report fields without testing them. */
typedef int (*rh_visitfn)(rh_object *obj, void *arg);

/* Py_VISIT: in a traverse hook whose parameters are named `visit` and `arg`,
 * visits o (any object pointer; skipped when NULL) and returns from the hook
 * with visit's result when it is nonzero. o is evaluated once.
 *   static int node_traverse(rh_object *self, rh_visitfn visit, void *arg) {
 *       RH_VISIT(((node *)self)->left);
 *       RH_VISIT(((node *)self)->right);
 *       return 0;
 *   } */
#define RH_VISIT(o)                                                          \
    do {                                                                     \
        rh_object *rh__vo = (rh_object *)(void *)(o);                        \
        if (rh__vo) {                                                        \
            int rh__vr = visit(rh__vo, arg);                                 \
            if (rh__vr) return rh__vr;                                       \
        }                                                                    \
    } while (0)

/* Type flags. */
#define RH_TYPE_GC (1u << 0)          /* container: may form cycles; has traverse */
#define RH_TYPE_WEAKREFABLE (1u << 1) /* supports weak references (weaklist_offset) */
#define RH_TYPE_IMMUTABLE (1u << 2)   /* instances never change after creation */
#define RH_TYPE_UNTRACK_AT_FULL (1u << 3) /* untrack_check runs at full collections only */
#define RH_TYPE_HEAPTYPE (1u << 4)    /* made at run time (classes); instances own a reference to it */

/* A type: its layout and its hooks.
 *
 * Lifetime: refheap keeps a pointer to the rh_type in every object of the
 * type and reads it until the object's block is freed (after destroy
 * returns), and, for objects still alive when their heap is destroyed, until
 * rh_heap_destroy returns (debug mode names their type in its leak report).
 * So an rh_type must stay valid and unchanged as long as any object of it
 * exists; static (const) storage is the usual choice. (Classes made by
 * rh_class_new own their instances' type and free it after the last
 * instance.)
 *
 * The order of the hooks (traverse runs at any collection, any number of
 * times, and only reports):
 *   death by reference counting: finalize (once in the object's life; may
 *     resurrect), its weak references cleared (their callbacks run),
 *     legacy_del (may resurrect), destroy (once), the memory freed;
 *   death in a collection (an unreachable cycle without legacy_del): its
 *     weak references cleared (callbacks run), finalize (once; may resurrect
 *     the cycle), clear (breaks the cycle), and when the count reaches 0
 *     the steps of a death by reference counting that are left: destroy,
 *     the memory freed.
 * From the moment it starts to die (its count reached 0) a container is
 * untracked: a container that was tracked is tracked again while finalize or
 * legacy_del runs, and destroy runs with it untracked (destroy need not, and
 * must not, call rh_gc_untrack or rh_gc_track on it).
 * clear and destroy may be one function when it is idempotent: each field
 * it drops is set to NULL first (RH_CLEAR), native storage it frees is
 * marked freed, and the object stays a valid, empty object after clear
 * (other objects of the dying cycle, their finalizers and weakref callbacks,
 * may still look at it before its own destroy runs). */
typedef struct rh_type {
    const char *name;
    size_t basicsize;  /* size of the struct, header included             */
    size_t itemsize;   /* for variable-size objects: bytes per item       */
    unsigned flags;
    /* Offset of an `rh_object *` field that refheap uses as the head of the
     * object's weak-reference list (RH_TYPE_WEAKREFABLE). */
    size_t weaklist_offset;

    /* destroy: drop the references the object owns and release what it
     * allocated. Called once, when the object dies, after its finalizer and
     * after its weak references were cleared, with the object untracked (and
     * after clear if a collection cleared it). refheap frees the object's
     * memory afterwards. May be NULL. Must not resurrect. May allocate and drop
     * references (which may run other objects' hooks). */
    void (*destroy)(rh_object *self);
    /* traverse: call visit(child, arg) for every object reference the object
     * owns (NULL references may be skipped or passed: visit ignores them);
     * stop and return a nonzero value visit returns (RH_VISIT does both).
     * Required for RH_TYPE_GC. Must only report: no allocation, no reference
     * count change, no other call into refheap. */
    int (*traverse)(rh_object *self, rh_visitfn visit, void *arg);
    /* clear: drop the references that may form cycles (tp_clear). The object
     * must stay valid for destroy afterwards. NULL for immutable containers
     * whose references are broken through other members of the cycle. */
    void (*clear)(rh_object *self);
    /* finalize: PEP 442 finalizer. Runs at most once in the object's life,
     * before the object is destroyed; may resurrect the object by storing a
     * new reference to it. May be NULL. */
    void (*finalize)(rh_object *self);
    /* legacy_del: the tp_del analogue. An unreachable cycle containing an
     * object with legacy_del is uncollectable and goes to the garbage list.
     * When such an object dies by reference counting, legacy_del runs like a
     * finalizer. May be NULL. */
    void (*legacy_del)(rh_object *self);
    /* repr: write a representation into buf (snprintf contract: returns the
     * length it wanted). NULL gives "<TypeName 0x...>". */
    int (*repr)(rh_object *self, char *buf, size_t cap);
    /* hash: NULL means unhashable (RH_ETYPE). Must not return -1 on success. */
    rh_hash_t (*hash)(rh_object *self);
    /* eq: 1 equal, 0 different, -1 error. NULL means identity. */
    int (*eq)(rh_object *self, rh_object *other);
    /* sizeof_extra: every byte the object accounts for beyond basicsize
     * (sys.getsizeof): its inline items (itemsize * n for variable-size
     * objects) plus storage it owns outside its block. NULL: none. */
    size_t (*sizeof_extra)(rh_object *self);
    /* untrack_check: for containers that are often full of atoms (tuples,
     * dicts): return nonzero when nothing the object references can form a
     * cycle, so the collector may untrack it. May be NULL. */
    int (*untrack_check)(rh_object *self);
    void *user_data; /* free for the type's author (classes keep their class here) */
} rh_type;

/* Allocation of objects. The result has a reference count of 1, its memory
 * after the header is zeroed, and a container is NOT yet tracked: call
 * rh_gc_track() once its fields are valid (as with PyObject_GC_New/Track).
 * rh_new_var allocates basicsize + nitems * itemsize bytes. NULL on error. */
rh_object *rh_new_at(rh_heap *h, const rh_type *type, const char *file, int line);
rh_object *rh_new_var_at(rh_heap *h, const rh_type *type, size_t nitems, const char *file, int line);
#define rh_new(h, type) rh_new_at((h), (type), __FILE__, __LINE__)
#define rh_new_var(h, type, n) rh_new_var_at((h), (type), (n), __FILE__, __LINE__)
#define RH_NEW(h, ctype, type) ((ctype *)rh_new((h), (type)))
/* "Create tracked": the same, and a container comes back already tracked by
 * the collector (a non-container as from rh_new), so no rh_gc_track follows.
 * Use it when the type's traverse accepts the freshly zeroed object (NULL
 * references, zero counts), as every built-in container's does: a
 * collection started while the fields are being filled (by an allocation)
 * sees the container with its references so far. The common case, a
 * fixed-size object of at most 512 bytes in a pools-mode heap, is served
 * without any further call: allocation, header, zeroing and the link into
 * generation 0 are all in line. */
rh_object *rh_new_tracked_at(rh_heap *h, const rh_type *type, const char *file, int line);
rh_object *rh_new_var_tracked_at(rh_heap *h, const rh_type *type, size_t nitems, const char *file, int line);
#define rh_new_tracked(h, type) rh_new_tracked_at((h), (type), __FILE__, __LINE__)
#define rh_new_var_tracked(h, type, n) rh_new_var_tracked_at((h), (type), (n), __FILE__, __LINE__)
#define RH_NEW_TRACKED(h, ctype, type) ((ctype *)rh_new_tracked((h), (type)))

/* Slow paths of the inline reference counting; do not call directly. */
void rh__dealloc(rh_object *o);
void rh__refcnt_error(rh_object *o, const char *op);

static inline void rh_incref(rh_object *o) {
    uint32_t n = o->rh_refcnt + 1u;
    if (RH_UNLIKELY(n <= 1u)) { /* immortal (wraps to 0) or a dead object (0 -> 1) */
        if (n == 1u) rh__refcnt_error(o, "incref");
        return;
    }
    o->rh_refcnt = n;
}

static inline void rh_decref(rh_object *o) {
    uint32_t rc = o->rh_refcnt;
    if (RH_UNLIKELY(rc <= 1u || rc == RH_IMMORTAL)) {
        if (rc == 1u) { /* the last reference: tested first */
            o->rh_refcnt = 0;
            rh__dealloc(o);
        } else if (rc == 0u) {
            rh__refcnt_error(o, "decref");
        } /* else immortal */
        return;
    }
    o->rh_refcnt = rc - 1u;
}

static inline void rh_xincref(rh_object *o) { if (o) rh_incref(o); }
static inline void rh_xdecref(rh_object *o) { if (o) rh_decref(o); }
/* Returns o after taking a new reference to it (Py_NewRef). */
static inline rh_object *rh_newref(rh_object *o) { rh_incref(o); return o; }
static inline rh_object *rh_xnewref(rh_object *o) { rh_xincref(o); return o; }

/* The address of a field as a pointer to its own type, taken once, so that
 * RH_CLEAR(roots[i++]) evaluates `roots[i++]` once. __typeof__ does not
 * evaluate its operand. Other compilers get a cast: their fields must then
 * be declared rh_object *. */
#if defined(__GNUC__) || defined(__clang__)
#define RH__FIELD_ADDR(field) (&(field))
#define RH__FIELD_PTR_TYPE(field) __typeof__(field) *
#else
#define RH__FIELD_ADDR(field) ((rh_object **)&(field))
#define RH__FIELD_PTR_TYPE(field) rh_object **
#endif

/* Py_CLEAR: set the field to NULL first, then drop the old reference (a
 * destructor run by the drop sees the field already empty). The field
 * expression is evaluated once; it may be any pointer to an object type. */
#define RH_CLEAR(field)                                                      \
    do {                                                                     \
        RH__FIELD_PTR_TYPE(field) rh__pp = RH__FIELD_ADDR(field);            \
        rh_object *rh__tmp = (rh_object *)(void *)*rh__pp;                   \
        if (rh__tmp) { *rh__pp = NULL; rh_decref(rh__tmp); }                 \
    } while (0)
/* Py_SETREF: store the new value (whose reference the field takes), then drop
 * the old one, so a destructor triggered by the drop sees a valid field. The
 * field and the value are each evaluated once. */
#define RH_SETREF(field, value)                                              \
    do {                                                                     \
        RH__FIELD_PTR_TYPE(field) rh__pp = RH__FIELD_ADDR(field);            \
        rh_object *rh__old = (rh_object *)(void *)*rh__pp;                   \
        *rh__pp = (value);                                                   \
        rh_xdecref(rh__old);                                                 \
    } while (0)

/* The reference count. CPython's sys.getrefcount(x) prints this plus one,
 * since its argument holds a reference for the call. Immortal: RH_IMMORTAL. */
static inline uint32_t rh_refcount(const rh_object *o) { return o->rh_refcnt; }
static inline bool rh_is_immortal(const rh_object *o) { return o->rh_refcnt == RH_IMMORTAL; }
/* Makes an object immortal: its count never changes again and it is never
 * destroyed (its destroy hook does not run; what it references stays alive);
 * its memory is returned with the heap's when the heap is destroyed. */
void rh_make_immortal(rh_object *o);

static inline const rh_type *rh_type_of(const rh_object *o) { return o->rh_type; }
static inline const char *rh_type_name(const rh_object *o) { return o->rh_type->name; }
static inline bool rh_is_type(const rh_object *o, const rh_type *t) { return o->rh_type == t; }

/* Generic operations through the type hooks. */
rh_hash_t rh_hash(rh_object *o);                 /* -1 and RH_ETYPE if unhashable */
int rh_equal(rh_object *a, rh_object *b);        /* 1, 0, or -1 on error          */
int rh_repr(rh_object *o, char *buf, size_t cap);/* snprintf contract             */
/* sys.getsizeof: header, the collector's link record for containers (16
 * bytes; none in the incremental policy's layout without links), the
 * instance block and the storage the object owns. */
size_t rh_sizeof(rh_object *o);

/* Debug: the allocation site of an object ("file:line", in a per-thread
 * buffer valid until the next call), or "?" when the heap is not in debug mode.
 * Objects made by a built-in constructor (lists, instances, ...) report the
 * line inside refheap that allocated them; objects made by the caller's own
 * rh_new report the caller's line. */
const char *rh_object_site(const rh_object *o);

/* ======================================================================
 * 3. Built-in types
 * ==================================================================== */

extern const rh_type rh_none_type, rh_bool_type, rh_int_type, rh_float_type,
    rh_str_type, rh_bytes_type, rh_tuple_type, rh_list_type, rh_dict_type,
    rh_set_type, rh_class_type, rh_bytearray_type, rh_memoryview_type,
    rh_weakref_type, rh_finalize_type, rh_weakvaluedict_type,
    rh_weakkeydict_type, rh_weakset_type;

/* Immortal singletons, shared by every heap (static storage, never written). */
extern rh_object rh__none_obj, rh__true_obj, rh__false_obj;
#define rh_None (&rh__none_obj)
#define rh_True (&rh__true_obj)
#define rh_False (&rh__false_obj)
static inline rh_object *rh_bool(bool v) { return v ? rh_True : rh_False; }

/* int: 64-bit. -5..256 are immortal and shared. Arithmetic that overflows
 * fails with RH_EOVERFLOW instead of wrapping. */
#define RH_SMALL_INT_MIN (-5)
#define RH_SMALL_INT_MAX 256
rh_object *rh_int(rh_heap *h, int64_t v);               /* new reference */
int64_t rh_int_value(const rh_object *o);               /* int or bool; 0 for other types */
rh_object *rh_int_add(rh_heap *h, rh_object *a, rh_object *b);
rh_object *rh_int_sub(rh_heap *h, rh_object *a, rh_object *b);
rh_object *rh_int_mul(rh_heap *h, rh_object *a, rh_object *b);
rh_object *rh_int_floordiv(rh_heap *h, rh_object *a, rh_object *b); /* Python's floor division */

/* float */
rh_object *rh_float(rh_heap *h, double v);
double rh_float_value(const rh_object *o);   /* float, or an int/bool converted; 0.0 for other types */

/* str: immutable UTF-8, hash cached. Identifier-like strings can be interned
 * (one immortal object per heap per text). str and bytes hash with
 * SipHash-1-3 under a per-process random key, so set order varies between
 * runs as in CPython; REFHEAP_HASHSEED=N fixes the key as PYTHONHASHSEED=N
 * does (0: no randomisation), see docs/tuning.md. */
rh_object *rh_str(rh_heap *h, const char *utf8);               /* NUL-terminated */
rh_object *rh_str_n(rh_heap *h, const char *utf8, size_t nbytes);
rh_object *rh_str_intern(rh_heap *h, const char *utf8);        /* new reference to the interned string */
rh_object *rh_str_concat(rh_heap *h, rh_object *a, rh_object *b);
rh_object *rh_str_printf(rh_heap *h, const char *fmt, ...) RH_PRINTF(2, 3);
/* The accessors below return NULL / 0 / false for an object that is not a str. */
const char *rh_str_cstr(const rh_object *s);  /* NUL-terminated, borrowed */
size_t rh_str_len(const rh_object *s);        /* in code points            */
size_t rh_str_nbytes(const rh_object *s);     /* in bytes                  */
bool rh_str_is_interned(const rh_object *s);
int rh_str_eq_cstr(const rh_object *s, const char *utf8);  /* 1 or 0 */

/* bytes: immutable */
rh_object *rh_bytes(rh_heap *h, const void *data, size_t n);
const uint8_t *rh_bytes_data(const rh_object *b);   /* NULL / 0 for a non-bytes */
size_t rh_bytes_len(const rh_object *b);

/* tuple: immutable, items stored inline. Untracked when all items are atoms. */
rh_object *rh_tuple_new(rh_heap *h, size_t n);   /* items are None until set */
rh_object *rh_tuple_pack(rh_heap *h, size_t n, ...); /* n rh_object* (taken by new reference) */
rh_object *rh_tuple_from(rh_heap *h, rh_object *const *items, size_t n);
size_t rh_tuple_size(const rh_object *t);
rh_object *rh_tuple_get(const rh_object *t, size_t i);           /* borrowed; NULL+RH_EINDEX if out of range */
/* Only for filling a tuple you just created and nobody else has seen: steals item. */
void rh_tuple_set_steal(rh_object *t, size_t i, rh_object *item);

/* list */
rh_object *rh_list_new(rh_heap *h, size_t n);    /* n items, all None */
size_t rh_list_size(const rh_object *l);
rh_object *rh_list_get(const rh_object *l, ptrdiff_t i);   /* borrowed; negative from the end; NULL+RH_EINDEX */
int rh_list_set(rh_object *l, ptrdiff_t i, rh_object *item);
int rh_list_append(rh_object *l, rh_object *item);
int rh_list_insert(rh_object *l, ptrdiff_t i, rh_object *item);
rh_object *rh_list_pop(rh_object *l, ptrdiff_t i);         /* new reference */
int rh_list_remove(rh_object *l, rh_object *item);         /* first equal item; RH_EVALUE if absent */
ptrdiff_t rh_list_index(rh_object *l, rh_object *item);    /* -1 if absent (no error); -2 if a comparison failed */
int rh_list_clear(rh_object *l);
int rh_list_reverse(rh_object *l);

/* dict: insertion-ordered, keys hashed and compared through the type hooks. */
rh_object *rh_dict_new(rh_heap *h);
size_t rh_dict_size(const rh_object *d);
int rh_dict_set(rh_object *d, rh_object *key, rh_object *value);
rh_object *rh_dict_get(rh_object *d, rh_object *key);  /* borrowed; NULL if absent (error only if unhashable,
                                                          a key's eq failed, or it mutated d: RH_ESTATE) */
int rh_dict_del(rh_object *d, rh_object *key);         /* RH_EKEY if absent */
int rh_dict_contains(rh_object *d, rh_object *key);    /* 1, 0, -1 */
int rh_dict_set_str(rh_object *d, const char *key, rh_object *value);
rh_object *rh_dict_get_str(rh_object *d, const char *key); /* borrowed */
int rh_dict_del_str(rh_object *d, const char *key);
int rh_dict_clear(rh_object *d);
/* Iteration: size_t pos = 0; while (rh_dict_next(d, &pos, &k, &v)) ...
 * k and v are borrowed. The dict must not change size meanwhile. */
bool rh_dict_next(const rh_object *d, size_t *pos, rh_object **key, rh_object **value);
rh_object *rh_dict_keys(rh_object *d);   /* new list */

/* set */
rh_object *rh_set_new(rh_heap *h);
size_t rh_set_size(const rh_object *s);
int rh_set_add(rh_object *s, rh_object *key);
int rh_set_discard(rh_object *s, rh_object *key);   /* 1 removed, 0 absent, -1 error */
int rh_set_contains(rh_object *s, rh_object *key);  /* 1, 0, -1 */
int rh_set_clear(rh_object *s);
bool rh_set_next(const rh_object *s, size_t *pos, rh_object **key);

/* Classes made at run time, like Python's `class` statement.
 * slots == NULL: instances keep attributes in a small hash table owned by the
 * instance, not a dict object (as CPython 3.11 keeps its inline values), so
 * the collector sees one object per instance.
 * slots != NULL: instances have exactly these nslots attributes (__slots__),
 * stored inline, and are smaller.
 *
 * Weak references follow Python: instances of a plain class support them
 * (every Python class has __weakref__) unless `no_weakref` is set, which
 * saves 8 bytes per instance; instances of a slotted class support them only
 * when `weakrefable` is set (Python: '__weakref__' in __slots__).
 * `weakrefable` on a plain class changes nothing; asking for both is
 * RH_EVALUE.
 *
 * Native state: `native_size` bytes at the end of every instance, zeroed at
 * creation and 16-byte aligned (rh_instance_native), for the embedder's C
 * state (a file descriptor, a buffer pointer...). The collector never looks
 * at them: keep object references in attributes, not there.
 *
 * `destroy` (instance_destroy) runs exactly once per instance, when it dies:
 * after its finalizer and after its weak references were cleared, with the
 * instance already untracked, and before refheap drops the instance's
 * attributes and its reference to the class. It may read the native state and
 * the attributes (a collected cycle's instances may have had them dropped
 * already by the collector's clear, as in CPython), release native resources,
 * allocate, and drop references it holds elsewhere; it must not resurrect the
 * instance (store a new reference to it). Instances still alive when their
 * heap is destroyed are not destroyed one by one: their hook does not run. */
typedef void (*rh_class_fn)(rh_object *self, void *class_data);
typedef struct rh_class_spec {
    const char *name;
    const char *const *slots; /* NULL: attribute dictionary per instance */
    size_t nslots;
    bool weakrefable;         /* slotted classes: instances support weak references */
    rh_class_fn finalizer;    /* __del__ (PEP 442): may resurrect; NULL if none */
    rh_class_fn legacy_del;   /* tp_del analogue: cycles containing it are uncollectable */
    void *data;               /* passed to finalizer / legacy_del / destroy */
    bool no_weakref;          /* plain classes: instances without weak references */
    rh_class_fn destroy;      /* instance_destroy: see above; NULL if none */
    size_t native_size;       /* bytes of native state per instance; 0: none */
} rh_class_spec;
rh_object *rh_class_new(rh_heap *h, const rh_class_spec *spec); /* new reference to the class */
const char *rh_class_name(const rh_object *cls);
rh_object *rh_instance_new(rh_object *cls);          /* tracked; new reference */
rh_object *rh_instance_class(const rh_object *inst); /* borrowed */
/* The instance's native state (spec.native_size bytes), or NULL if its class
 * has none or inst is not an instance. Valid until the instance is freed. */
void *rh_instance_native(rh_object *inst);
bool rh_is_instance(const rh_object *o);
/* getattr, hasattr and delattr allocate nothing (the name is not interned:
 * only setattr interns the names it stores). */
rh_object *rh_getattr(rh_object *o, const char *name);  /* new reference; NULL+RH_EATTR if absent */
int rh_setattr(rh_object *o, const char *name, rh_object *value); /* value NULL: delattr */
int rh_delattr(rh_object *o, const char *name);         /* RH_EATTR if absent */
int rh_hasattr(rh_object *o, const char *name);
/* vars(o): a new dict of the instance's attributes (name -> value). For a
 * slotted instance it holds the slots that are set (Python's vars() raises
 * TypeError there). RH_ETYPE for an object that is not an instance. */
rh_object *rh_vars(rh_object *o);

/* bytearray and memoryview */
rh_object *rh_bytearray(rh_heap *h, const void *data, size_t n); /* data may be NULL: zeros */
uint8_t *rh_bytearray_data(rh_object *ba);
size_t rh_bytearray_len(const rh_object *ba);
int rh_bytearray_resize(rh_object *ba, size_t n);   /* RH_EBUFFER while a view exists */
int rh_bytearray_extend(rh_object *ba, const void *data, size_t n);
/* A view of a bytes or bytearray object (or of another view), sharing its
 * memory. The view lives in obj's heap; the empty bytes is a static immortal
 * that belongs to no heap, so a view of it needs rh_memoryview_in. */
rh_object *rh_memoryview(rh_object *obj);
rh_object *rh_memoryview_in(rh_heap *h, rh_object *obj); /* the same, in heap h */
rh_object *rh_memoryview_slice(rh_object *mv, size_t start, size_t stop); /* a view; clamped like Python */
const uint8_t *rh_memoryview_data(const rh_object *mv);   /* NULL after release */
uint8_t *rh_memoryview_mutable_data(rh_object *mv);       /* NULL if read-only or released */
size_t rh_memoryview_len(const rh_object *mv);
bool rh_memoryview_readonly(const rh_object *mv);
int rh_memoryview_release(rh_object *mv);   /* lifts the export; later access is RH_EBUFFER */
rh_object *rh_memoryview_tobytes(rh_object *mv);

/* ======================================================================
 * 4. The cycle collector (Python's gc module)
 * ==================================================================== */

#define RH_GC_GENERATIONS 3
#define RH_GC_DEBUG_STATS (1u << 0)
#define RH_GC_DEBUG_COLLECTABLE (1u << 1)
#define RH_GC_DEBUG_UNCOLLECTABLE (1u << 2)
#define RH_GC_DEBUG_SAVEALL (1u << 5)
#define RH_GC_DEBUG_LEAK (RH_GC_DEBUG_COLLECTABLE | RH_GC_DEBUG_UNCOLLECTABLE | RH_GC_DEBUG_SAVEALL)
/* Beyond CPython: check every traverse against the reference counts after each collection. */
#define RH_GC_DEBUG_VERIFY (1u << 8)

/* gc.collect(generation): collects generations 0..generation (0, 1 or 2).
 * Returns unreachable objects found plus uncollectable ones, as CPython;
 * 0 when a collection is already running; -1 with RH_EVALUE for a bad generation. */
intptr_t rh_gc_collect(rh_heap *h, int generation);
void rh_gc_enable(rh_heap *h);
void rh_gc_disable(rh_heap *h);
bool rh_gc_isenabled(const rh_heap *h);
void rh_gc_get_threshold(const rh_heap *h, long out[3]);
/* Sets the thresholds (t0 == 0 disables automatic collection, as in CPython). */
void rh_gc_set_threshold(rh_heap *h, long t0, long t1, long t2);
void rh_gc_get_count(const rh_heap *h, long out[3]);
unsigned rh_gc_set_debug(rh_heap *h, unsigned flags);   /* returns the previous flags */
unsigned rh_gc_get_debug(const rh_heap *h);

typedef struct rh_gc_genstats {
    uint64_t collections;
    uint64_t collected;
    uint64_t uncollectable;
} rh_gc_genstats;
void rh_gc_get_stats(const rh_heap *h, rh_gc_genstats out[3]);

typedef enum rh_gc_phase { RH_GC_START = 0, RH_GC_STOP = 1 } rh_gc_phase;
typedef struct rh_gc_info {
    int generation;
    intptr_t collected;     /* at STOP */
    intptr_t uncollectable; /* at STOP */
    uint64_t duration_ns;   /* at STOP: the pause                      */
    size_t examined;        /* at STOP: objects in the collected generations */
} rh_gc_info;
typedef void (*rh_gc_callback)(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data);
int rh_gc_callback_add(rh_heap *h, rh_gc_callback cb, void *data);
int rh_gc_callback_remove(rh_heap *h, rh_gc_callback cb, void *data); /* 0 removed, -1 absent */

/* Where DEBUG_* output goes (a line at a time, without the newline).
 * NULL restores the default: stderr. */
typedef void (*rh_gc_sink)(const char *line, void *data);
void rh_gc_set_sink(rh_heap *h, rh_gc_sink sink, void *data);

void rh_gc_track(rh_object *o);      /* container only; once its fields are valid */
void rh_gc_untrack(rh_object *o);
bool rh_gc_is_tracked(const rh_object *o);
bool rh_gc_is_finalized(const rh_object *o);

void rh_gc_freeze(rh_heap *h);
void rh_gc_unfreeze(rh_heap *h);
size_t rh_gc_get_freeze_count(const rh_heap *h);

/* New lists, as Python's functions return. generation -1: all generations. */
rh_object *rh_gc_get_objects(rh_heap *h, int generation);
rh_object *rh_gc_get_referrers(rh_heap *h, rh_object *const *objs, size_t n);
rh_object *rh_gc_get_referents(rh_heap *h, rh_object *const *objs, size_t n);
/* gc.garbage: the heap's garbage list (borrowed; the user may clear it). The
 * list is created on first use: NULL with RH_ENOMEM if that fails. */
rh_object *rh_gc_garbage(rh_heap *h);

/* The heap's collection policy (never RH_GC_POLICY_DEFAULT) and its name. */
rh_gc_policy rh_gc_get_policy(const rh_heap *h);
const char *rh_gc_policy_name(rh_gc_policy p);

/* Incremental policy only (the calls do nothing under CPython's policy):
 *
 * rh_gc_set_slice_budget: the most time one slice of old-generation work may
 * take, in nanoseconds (default RH_GC_SLICE_BUDGET_NS; 0 restores it).
 * Returns the previous budget.
 *
 * rh_gc_step: one slice now, whatever the pacing says: starts a round if none
 * is running, then does at most `work` units (objects visited; 0: the slice
 * budget alone bounds it). Returns 1 if a round is still in progress after
 * it, 0 if not, -1 under CPython's policy or inside a collection. Automatic
 * collection need not be enabled. */
#define RH_GC_SLICE_BUDGET_NS 1000000u
uint64_t rh_gc_set_slice_budget(rh_heap *h, uint64_t ns);
int rh_gc_step(rh_heap *h, size_t work);

/* The incremental policy's counters (all 0 under CPython's policy). */
typedef struct rh_gc_incr_stats {
    uint64_t rounds;          /* rounds finished                              */
    uint64_t rounds_abandoned; /* rounds given up (full collection, freeze...) */
    uint64_t slices;          /* slices run (rh_gc_step included)            */
    uint64_t work;            /* objects visited by slices                    */
    uint64_t suspects;        /* objects a round's scan left as suspects      */
    uint64_t collected;       /* of those, confirmed garbage and collected    */
    uint64_t deferred_freed;  /* garbage objects cleared in later slices      */
    size_t deferred_pending;  /* garbage waiting to be cleared now            */
    size_t candidates;        /* objects in the round in progress (0: none)   */
    uint64_t young_skipped;   /* young generations promoted unexamined (back-off) */
} rh_gc_incr_stats;
void rh_gc_incr_stats_get(const rh_heap *h, rh_gc_incr_stats *out);

/* Every pause of the collector, reported as it ends: a collection (kind 0,
 * 1, 2: the generation; gc callbacks included) or, under the incremental
 * policy, a slice (kind 3: an automatic young collection and the slice after
 * it, or rh_gc_step; a slice that ends a round includes the round's final
 * check and tail). ns: wall-clock time; cpu_ns: the thread's CPU time (what
 * the collector cost when the machine is shared); user_ns: the part of ns
 * spent in weakref callbacks and finalizers. preempted, blocked: the
 * thread's involuntary and voluntary context switches during the pause, as
 * the OS counts them (Linux: getrusage(RUSAGE_THREAD); elsewhere 0): a
 * pause with either above 0 includes time the thread did not run (the OS gave
 * the CPU to another process, or user code slept or waited), so its wall
 * time is not all the collector's. NULL removes the hook. */
typedef struct rh_gc_pause {
    int kind;
    uint64_t ns, cpu_ns, user_ns;
    uint32_t preempted, blocked;
} rh_gc_pause;
typedef void (*rh_gc_pause_hook)(rh_heap *h, const rh_gc_pause *p, void *data);
void rh_gc_set_pause_hook(rh_heap *h, rh_gc_pause_hook hook, void *data);

/* Checks every tracked object's traverse against the reference counts.
 * Returns the number of problems found (each reported on the sink). */
size_t rh_gc_verify(rh_heap *h);

/* ======================================================================
 * 5. Weak references (Python's weakref module)
 * ==================================================================== */

/* Called once, with the weak reference (already cleared: rh_weakref_get
 * returns NULL) and the user's data, when the referent is about to be
 * finalized and freed (CPython's "about to be finalized"):
 *   - death by reference counting: during the referent's deallocation, after
 *     its finalize and before its legacy_del and destroy; its count is 0;
 *   - in a collection: once the referent is found unreachable and every weak
 *     reference to the unreachable objects has been cleared, but before any
 *     of their finalizers or clear hooks ran: the referent and the rest of
 *     the garbage are still in memory and intact, only unreachable; they are
 *     freed afterwards unless a finalizer resurrects them.
 * The referent must not be touched through a stale pointer in either case.
 * A callback does not run if its weak reference died first or is itself
 * part of the garbage, nor for weak references a legacy_del made to its
 * own object (they are cleared silently after it, as CPython does).
 * May drop the last reference to wr, allocate, create weak references (not
 * to the dying referent), or call rh_gc_collect (which returns 0 when the
 * callback runs inside a collection). The heap's error state is saved before
 * and restored after the call: an error the callback sets does not reach the
 * caller. */
typedef void (*rh_weakref_callback)(rh_object *wr, void *data);

/* weakref.ref(obj[, callback]). Without a callback the same weak reference is
 * returned for the same object (new reference to it); each one with a
 * callback is new. RH_EWEAKREF for types that do not support weak references
 * (the static singletons and small ints belong to no heap: NULL is returned
 * without an error). Callbacks run newest first. Weak references are
 * hashable (the referent's hash, remembered after its death; RH_ETYPE "weak
 * object has gone away" if never hashed) and compare equal by referent while
 * both live, by identity otherwise.
 * Python's weakref.proxy has no C analogue: keep the weak reference and call
 * rh_weakref_get at each use (NULL once the referent is gone). */
rh_object *rh_weakref_new(rh_object *obj, rh_weakref_callback cb, void *data);
/* A new weak reference to obj without a callback that is not the shared one
 * (CPython: an instance of a subclass of weakref.ref): each call returns a
 * different object, so each holder can have its own. It behaves as any weak
 * reference (get, alive, hash, equality); rh_weakref_new(obj, NULL, NULL)
 * never returns it. Errors as rh_weakref_new. */
rh_object *rh_weakref_new_unshared(rh_object *obj);
/* wr(): new reference to the referent, or NULL (no error) once it is gone. */
rh_object *rh_weakref_get(rh_object *wr);
bool rh_weakref_alive(const rh_object *wr);
size_t rh_weakref_count(rh_object *obj);       /* weakref.getweakrefcount */
rh_object *rh_weakref_list(rh_object *obj);    /* weakref.getweakrefs: new list */

/* WeakValueDictionary / WeakKeyDictionary / WeakSet. Entries vanish when their
 * referent dies; during an iteration the removal is deferred until the last
 * iterator ends. While an iterator is open, a set/add/del/discard that would
 * change the number of entries fails with RH_ESTATE (Python raises "changed
 * size during iteration"); replacing a value is allowed. Keys of weak-key
 * dictionaries, values of weak-value dictionaries and weak-set items must be
 * weakrefable (RH_EWEAKREF). */
rh_object *rh_weakvaluedict_new(rh_heap *h);
int rh_weakvaluedict_set(rh_object *d, rh_object *key, rh_object *value);
rh_object *rh_weakvaluedict_get(rh_object *d, rh_object *key); /* new reference or NULL */
int rh_weakvaluedict_del(rh_object *d, rh_object *key);        /* RH_EKEY if absent */
size_t rh_weakvaluedict_size(rh_object *d);   /* live entries */

rh_object *rh_weakkeydict_new(rh_heap *h);
int rh_weakkeydict_set(rh_object *d, rh_object *key, rh_object *value);
rh_object *rh_weakkeydict_get(rh_object *d, rh_object *key);   /* new reference or NULL */
int rh_weakkeydict_del(rh_object *d, rh_object *key);          /* RH_EKEY if absent */
size_t rh_weakkeydict_size(rh_object *d);

rh_object *rh_weakset_new(rh_heap *h);
int rh_weakset_add(rh_object *s, rh_object *item);
int rh_weakset_discard(rh_object *s, rh_object *item);  /* 1 removed, 0 absent, -1 error */
int rh_weakset_contains(rh_object *s, rh_object *item); /* 1, 0 (also for non-weakrefable items), -1 */
size_t rh_weakset_size(rh_object *s);

/* Iteration over any weak container. While an iterator is open, entries
 * whose referent dies are not removed (they are skipped); removal happens when
 * the last iterator of that container ends. key/value are new references
 * (value is NULL for a weak set; either pointer may be NULL if unwanted).
 * Returns false at the end, which also ends the iterator; rh_weakiter_end
 * must be called when stopping early and is harmless after the end. The
 * iterator holds a reference to the container. */
typedef struct rh_weakiter {
    rh_object *container;
    size_t pos;
    bool open;
} rh_weakiter;
void rh_weakiter_begin(rh_weakiter *it, rh_object *container);
bool rh_weakiter_next(rh_weakiter *it, rh_object **key, rh_object **value);
void rh_weakiter_end(rh_weakiter *it);

/* weakref.finalize(obj, fn, data): fn(data) runs once when obj dies, or at
 * heap destruction if obj is still alive (newest first). Returns a new
 * reference to the finalizer object (which stays registered even if the caller
 * drops it). */
typedef void (*rh_finalize_fn)(void *data);
rh_object *rh_finalize_new(rh_object *obj, rh_finalize_fn fn, void *data);
bool rh_finalize_alive(const rh_object *f);
/* peek/detach: give the referent (new reference) and fn/data while alive; detach also unregisters. */
rh_object *rh_finalize_peek(rh_object *f, rh_finalize_fn *fn, void **data);
rh_object *rh_finalize_detach(rh_object *f, rh_finalize_fn *fn, void **data);
/* Calls it now if still alive (finalize.__call__); returns true if it ran. */
bool rh_finalize_call(rh_object *f);

/* ======================================================================
 * 6. Tools: tracing, snapshots, object graph, heap report
 *    (Python's tracemalloc and objgraph; docs/tuning.md walks through a
 *    leak hunt with them, docs/python-to-c.md maps each function)
 * ==================================================================== */

/* --- Allocation tracing (tracemalloc) ---------------------------------
 * Off by default, and free when off: the allocator's fast paths test one
 * word that tracing sets, so while it is on every allocation, free and
 * realloc of the heap takes the slow path, which records or forgets the
 * block: its allocation site (the file:line of the _at entry point, e.g. the
 * caller of rh_malloc or rh_new), the type of the object living in it, and
 * optionally a native backtrace (glibc's backtrace()) of up to nframes
 * frames. Each distinct trace and traceback is stored once; a traced pool
 * block costs a 4-byte slot in an array beside its pool (one slot per block
 * of the pool, made with the pool's first traced block, dropped with its
 * last: 4 bytes a block in full pools), any other block (system blocks,
 * malloc and debug modes) one 8-byte entry in an open-addressing table kept
 * between 8/15 and 4/5 full while the traced set grows (10 to 15 bytes a
 * block), halved when frees leave it under a quarter full. Sizes are
 * usable sizes (a pool block's class size), as the heap's statistics count
 * them. Blocks allocated before rh_trace_start are simply untraced. The
 * tools' own memory comes from the C library, not from the heap. */
#define RH_TRACE_MAX_FRAMES 64
/* tracemalloc.start(nframes): nframes 0 records the site only; 1..64 adds
 * that many native frames (the innermost are refheap's entry points). 0, or
 * -1 with RH_EVALUE (bad nframes), RH_ESTATE (called during a collection or
 * while already tracing with another nframes) or RH_ENOMEM. */
int rh_trace_start(rh_heap *h, int nframes);
/* tracemalloc.stop(): forgets every trace. RH_ESTATE during a collection. */
int rh_trace_stop(rh_heap *h);
bool rh_trace_is_tracing(const rh_heap *h);
int rh_trace_get_nframes(const rh_heap *h);        /* -1 when not tracing */
/* tracemalloc.get_traced_memory(): current and peak traced bytes. */
void rh_trace_get_traced_memory(const rh_heap *h, size_t *current, size_t *peak);
void rh_trace_reset_peak(rh_heap *h);             /* peak = current      */
size_t rh_trace_count(const rh_heap *h);          /* traced live blocks  */
/* tracemalloc.get_tracemalloc_memory(): bytes of the tracing tables. */
size_t rh_trace_get_memory(const rh_heap *h);

/* The site of an allocation made inside refheap (rh_list_new, rh_str,
 * rh_instance_new, a list growing...) is refheap's own line. Between
 * rh_trace_site_push and rh_trace_site_pop such allocations are attributed
 * to the pushed site instead (allocations made with the caller's own file
 * and line keep theirs). Pushes nest (up to 16; the innermost wins); they
 * cost nothing when tracing is off. */
void rh_trace_site_push_at(rh_heap *h, const char *file, int line);
void rh_trace_site_pop(rh_heap *h);
#define rh_trace_site_push(h) rh_trace_site_push_at((h), __FILE__, __LINE__)

/* Where one traced block or object was allocated. */
typedef struct rh_trace_info {
    const char *file;          /* static storage (the caller's __FILE__) */
    int line;
    const char *type_name;     /* type of the object in the block, or NULL */
    size_t size;               /* usable size of the block               */
    size_t nframes;
    void *frames[RH_TRACE_MAX_FRAMES]; /* return addresses, innermost first */
} rh_trace_info;
/* tracemalloc.get_object_traceback(): false when not traced. */
bool rh_trace_get_object_traceback(const rh_object *o, rh_trace_info *out);
bool rh_trace_get_block_traceback(rh_heap *h, const void *block, rh_trace_info *out);

/* --- Collector pauses -------------------------------------------------
 * Registers (on) or removes (off) a gc callback that records the pause of
 * each collection for snapshots and the report. 0, or -1 (RH_ENOMEM). */
int rh_trace_record_pauses(rh_heap *h, bool on);

/* --- Snapshots (tracemalloc.Snapshot) ---------------------------------
 * Plain data owned by the snapshot: the live traced blocks aggregated by
 * trace (one row per distinct site + type + traceback), tracebacks as
 * symbolised frame strings, and the collector's statistics and pauses. */
typedef struct rh_snapshot_traceback {
    size_t nframes;
    const char **frames;       /* "function+0x1c (object file)", innermost first */
} rh_snapshot_traceback;
typedef struct rh_snapshot_trace {
    const char *file;
    int line;
    const char *type_name;     /* NULL: raw memory (not an object)        */
    size_t traceback;          /* index in tracebacks; 0: no frames       */
    uint64_t size, count;      /* live bytes and blocks                   */
} rh_snapshot_trace;
typedef struct rh_snapshot {
    int nframes;               /* the traceback limit it was taken with   */
    uint64_t traced_current, traced_peak;
    size_t ntraces;
    rh_snapshot_trace *traces;
    size_t ntracebacks;        /* >= 1: tracebacks[0] is the empty one    */
    rh_snapshot_traceback *tracebacks;
    rh_gc_genstats gc[RH_GC_GENERATIONS];
    uint64_t pause_count, pause_total_ns, pause_max_ns;
    size_t npauses;            /* the last pauses recorded (<= 256)       */
    uint64_t *pauses;          /* generation << 56 | nanoseconds, oldest first */
    void *rh_owned;            /* the snapshot's strings; do not touch    */
} rh_snapshot;

/* tracemalloc.take_snapshot(): NULL with RH_ESTATE when not tracing, or
 * RH_ENOMEM. Takes one pass over the traced blocks. */
rh_snapshot *rh_snapshot_take(rh_heap *h);
void rh_snapshot_free(rh_snapshot *s);

/* Snapshot.filter_traces: a trace is kept when it matches one of the
 * inclusive filters (or there is none) and none of the exclusive ones. */
typedef struct rh_snapshot_filter {
    bool inclusive;
    const char *file_pattern;  /* fnmatch(3) pattern, NULL: any file      */
    int line;                  /* 0: any line                             */
    const char *type_name;     /* NULL: any; "": raw memory only          */
} rh_snapshot_filter;
/* A new snapshot holding the kept traces (NULL when out of memory). */
rh_snapshot *rh_snapshot_filter_traces(const rh_snapshot *s, const rh_snapshot_filter *filters, size_t n);

/* Snapshot.statistics(key_type) and Snapshot.compare_to(old, key_type). */
typedef enum rh_stat_key {
    RH_STAT_SITE = 0,          /* 'lineno': file and line                 */
    RH_STAT_FILE = 1,          /* 'filename'                              */
    RH_STAT_TYPE = 2,          /* the object's type name                  */
    RH_STAT_TRACEBACK = 3      /* 'traceback': site and frames            */
} rh_stat_key;
typedef struct rh_stat {
    const char *file;          /* NULL for RH_STAT_TYPE                   */
    int line;                  /* 0 for RH_STAT_FILE and RH_STAT_TYPE     */
    const char *type_name;     /* RH_STAT_TYPE only (NULL: raw memory)    */
    const rh_snapshot_traceback *traceback; /* RH_STAT_TRACEBACK only     */
    uint64_t size, count;
    int64_t size_diff, count_diff; /* compare_to: against the old snapshot */
} rh_stat;
/* An array of *n statistics, biggest size first (free() it; its pointers
 * point into the snapshots). NULL with *n == 0 when empty or out of memory. */
rh_stat *rh_snapshot_statistics(const rh_snapshot *s, rh_stat_key key, size_t *n);
/* Sorted by absolute size difference, then size, biggest first. */
rh_stat *rh_snapshot_compare_to(const rh_snapshot *now, const rh_snapshot *old, rh_stat_key key, size_t *n);
/* Prints "file:line: size=12.3 KiB (+1.2 KiB), count=10 (+2), average=..."
 * lines, at most limit (0: all). */
void rh_stat_print(const rh_stat *stats, size_t n, size_t limit, bool diff, FILE *out);

/* Files: a versioned text format (docs/api.md). save returns 0 or -1;
 * load returns NULL for a missing, truncated or corrupt file; both put a
 * message in err (errcap bytes; may be NULL). */
#define RH_SNAPSHOT_FORMAT_VERSION 1
int rh_snapshot_save(const rh_snapshot *s, const char *path, char *err, size_t errcap);
rh_snapshot *rh_snapshot_load(const char *path, char *err, size_t errcap);
rh_snapshot *rh_snapshot_parse(const char *data, size_t len, char *err, size_t errcap);

/* --- The object graph (objgraph) ---------------------------------------
 * The graph: every object the collector tracks (the frozen ones included)
 * and every object they reference, found with the types' traverse; an edge
 * per reference. Immortal objects are left out (never freed). These
 * functions refuse to run during a collection (RH_ESTATE). */
typedef struct rh_type_count {
    const char *name;
    size_t count;
    ptrdiff_t delta;           /* show_growth: increase since the last call */
} rh_type_count;
/* objgraph.most_common_types: tracked objects by type name, most numerous
 * first, at most limit (0: all). An array of *n (free() it); NULL on error. */
rh_type_count *rh_objgraph_most_common_types(rh_heap *h, size_t limit, size_t *n);
int rh_objgraph_show_most_common_types(rh_heap *h, size_t limit, FILE *out);
/* objgraph.growth: the types whose count exceeds the highest count seen at
 * the previous calls (the first call reports every type against 0). */
rh_type_count *rh_objgraph_growth(rh_heap *h, size_t limit, size_t *n);
int rh_objgraph_show_growth(rh_heap *h, size_t limit, FILE *out);

/* objgraph.find_backref_chain: a shortest chain of references from a root to
 * obj, as a new list [root, ..., obj]. A root is one of the given roots;
 * when none is given, an object no object of the graph refers to (held only
 * by the program's own variables). max_depth bounds the references followed (0: no bound). An
 * empty list when no root leads to obj; NULL on error. */
rh_object *rh_objgraph_find_backref_chain(rh_heap *h, rh_object *obj, rh_object *const *roots, size_t nroots,
                                          size_t max_depth);

/* The objects that would be freed with obj: obj and every object that is
 * reachable from the program's roots only through it. Here the roots are the
 * objects whose reference count exceeds the references the graph holds to
 * them (the program holds the difference). Sizes are rh_sizeof (header,
 * collector record, items, owned storage). 0, or -1 on error. */
int rh_objgraph_retained(rh_heap *h, rh_object *obj, size_t *bytes, size_t *count);

/* objgraph.show_refs / show_backrefs as Graphviz DOT. */
typedef struct rh_dot_options {
    bool backrefs;             /* follow referrers instead of referents   */
    size_t max_depth;          /* 0: 3, as objgraph                       */
    size_t max_nodes;          /* 0: 200                                  */
    /* Objects for which filter returns false are not drawn (NULL: all). */
    bool (*filter)(rh_object *o, void *data);
    void *filter_data;
    const char *title;
} rh_dot_options;
int rh_objgraph_write_dot(rh_heap *h, rh_object *const *objs, size_t n, const rh_dot_options *opt, FILE *out);

/* --- The heap report --------------------------------------------------
 * One self-contained HTML file (no network, no external script): live bytes
 * by site and by type as SVG treemaps, the top growers since `before`
 * (NULL: none), and the collector's statistics and pauses from `now`. */
int rh_report_write_html(const rh_snapshot *now, const rh_snapshot *before, const char *title, FILE *out);

#if defined(RH_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* REFHEAP_H */
