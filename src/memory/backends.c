/*
 * backends.c — the allocator's two back ends behind the layer interface
 * (memory/layer.h): the layers that own memory, at the bottom of every
 * heap's stack.
 *
 *   pools   a block of n <= RH_SMALL_MAX bytes is popped from the pools of
 *           its size class (pools.c), anything bigger comes from the system
 *           allocator (sysmem.c). Pools mode, and the layer below debug
 *           mode's shim.
 *   system  every block from the system allocator. Malloc mode.
 *
 * Both are thin: the pools' pop and push (alloc_priv.h, the same inline
 * code the fast paths use, here with Valgrind's announcements when the heap
 * runs under it) and sysmem.c's system blocks do the work. What the back
 * ends add is the check every pointer handed back to them passes first,
 * in this order, each failure stopping the program with the call's site:
 *   1. someone owns it: a pool of some heap (the radix tree) or a registered
 *      system block: else "<op> of a pointer refheap never returned";
 *   2. the owner is this heap: else "<op> on the wrong heap";
 *   3. a pool pointer is the start of a block (rh__pool_block_start): else
 *      rh__pool_bad_pointer's message.
 * Reading nothing that may not be ours, the check is safe for any pointer.
 *
 * The pool blocks these slow-path layers pop and push are counted in
 * alloc.slow_pops / slow_pushes, so that the class counters, which every
 * pop and push moves, still tell how many calls the fast paths served
 * (alloc.c's essay: counters without fast-path cost).
 *
 * Marks (memory/marks.h): `mark` checks the pointer as free does, then
 * sets, clears or tests the bit of a pool block in its arena's mark plane
 * or the flag of a system block's header; `next_marked` steps a walk over
 * the pools (pools.c), then over the system blocks (sysmem.c). Both back
 * ends share them (malloc mode has no arenas: its walk is all system
 * blocks). Neither free nor realloc looks at a pool block's mark (the
 * caller unmarks a block before either: memory/marks.h).
 *
 * Out of memory in the pools back end: a large block (or a large realloc)
 * the system refuses is tried once more after every idle arena went back
 * (rh__pools_trim), so that memory kept for reuse never makes a call fail;
 * the pools do the same for a pool of their own (rh__pool_alloc_slow).
 *
 * realloc in the pools back end: within the same class the block stays; to
 * another class, or between a pool and a system block, it moves (so that a
 * shrunken block gives its slack back); a system block to a system block is
 * the system's realloc. In the system back end, always the latter.
 */
#include "memory/layer.h"

/* Stops the program unless p is a block of L's heap that free or realloc
 * (`op`) may take. */
static void check_owned(rh__mem_layer *L, const void *p, const char *op, const char *file, int line) {
    rh_heap *h = L->heap;
    rh_heap *ph = rh__pool_heap(p);
    rh_heap *owner = ph ? ph : rh__sysreg_find(p, NULL);
    if (!file) file = "?";
    if (!owner) rh__fatal("%s of a pointer refheap never returned at %s:%d: %p", op, file, line, p);
    if (owner != h)
        rh__fatal("%s on the wrong heap at %s:%d: block %p belongs to heap %p, not to heap %p", op, file, line, p,
                  (void *)owner, (void *)h);
    if (ph && !rh__pool_block_start(rh__pool_of(p), p)) rh__pool_bad_pointer(h, rh__pool_of(p), p, op, file, line);
}

static void *pools_alloc(rh__mem_layer *L, size_t n, bool zero, const char *file, int line) {
    (void)file, (void)line;
    rh_heap *h = L->heap;
    if (n > RH_SMALL_MAX) {
        void *p = rh__large_alloc(h, n, zero);
        /* out of memory: once more, after the idle arenas went back */
        if (!p && rh__pools_trim(h) != 0) p = rh__large_alloc(h, n, zero);
        return p;
    }
    void *p = rh__pool_pop(h, rh__size_class(n), h->alloc.tools);
    if (p) {
        h->alloc.slow_pops++;
        if (zero) memset(p, 0, n);
    }
    return p;
}

/* Gives a checked block back to where it came from (either back end). */
static void give_back(rh_heap *h, void *p) {
    if (rh__pool_heap(p)) {
        h->alloc.slow_pushes++;
        rh__pool_push(h, rh__pool_of(p), p, h->alloc.tools);
    } else {
        rh__large_free(h, p);
    }
}

static void backend_free(rh__mem_layer *L, void *p, size_t header_offset, const char *file, int line) {
    (void)header_offset; /* the memory goes back at once: nobody reads the refcount again */
    check_owned(L, p, "free", file, line);
    give_back(L->heap, p);
}

/* Moves p (oldn bytes) to a new block of n bytes from L, copying what fits. */
static void *move_block(rh__mem_layer *L, void *p, size_t oldn, size_t n) {
    void *q = L->m->alloc(L, n, false, NULL, 0);
    if (!q) return NULL;
    memcpy(q, p, oldn < n ? oldn : n);
    give_back(L->heap, p);
    return q;
}

static void *pools_realloc(rh__mem_layer *L, void *p, size_t n, const char *file, int line) {
    check_owned(L, p, "realloc", file, line);
    if (rh__pool_heap(p)) {
        unsigned c = rh__pool_of(p)->cls;
        if (n <= RH_SMALL_MAX && rh__size_class(n) == c) return p;
        return move_block(L, p, rh__class_size(c), n);
    }
    if (n <= RH_SMALL_MAX) return move_block(L, p, rh__large_head(p)->size, n);
    void *q = rh__large_realloc(L->heap, p, n);
    if (!q && rh__pools_trim(L->heap) != 0) q = rh__large_realloc(L->heap, p, n);
    return q;
}

static size_t backend_usable(rh__mem_layer *L, const void *p) {
    rh_heap *ph = rh__pool_heap(p);
    if (ph) return ph == L->heap ? rh__class_size(rh__pool_of(p)->cls) : 0;
    return rh__sysreg_find(p, NULL) == L->heap ? rh__large_head(p)->size : 0;
}

static bool backend_mark(rh__mem_layer *L, void *p, rh__mark_op op) {
    check_owned(L, p, "mark", NULL, 0);
    uintptr_t a = (uintptr_t)p;
    bool was;
    if (rh__pool_heap(p)) {
        uint64_t *w = rh__leaf_mark_word(rh__radix_leaf(a), a), bit = (uint64_t)1 << rh__mark_shift(a);
        was = (*w & bit) != 0;
        if (op == RH__MARK_SET) *w |= bit;
        else if (op == RH__MARK_CLEAR) *w &= ~bit;
    } else {
        rh__large *b = rh__large_head(p);
        was = (b->flags & RH__LARGE_MARKED) != 0;
        if (op == RH__MARK_SET) b->flags |= RH__LARGE_MARKED;
        else if (op == RH__MARK_CLEAR) b->flags &= ~RH__LARGE_MARKED;
    }
    return was;
}

static void *backend_next_marked(rh__mem_layer *L, rh__mark_walk *w) {
    rh_heap *h = L->heap;
    if (w->phase == RH__WALK_POOLS) {
        bool yielded = false;
        void *p = rh__pools_next_marked(h, w, &yielded);
        if (p || yielded) return p;
        w->phase = RH__WALK_LARGE;
        w->large = h->alloc.large;
    }
    if (w->phase == RH__WALK_LARGE) {
        bool yielded = false;
        void *p = rh__large_next_marked(h, &w->large, &w->scanned, w->budget, &yielded);
        if (p || yielded) return p;
        w->phase = RH__WALK_DONE;
    }
    return NULL;
}

const rh__mem_methods rh__mem_pools = {
    .name = "pools",
    .alloc = pools_alloc,
    .free = backend_free,
    .realloc = pools_realloc,
    .usable = backend_usable,
    .check = check_owned,
    .mark = backend_mark,
    .next_marked = backend_next_marked,
};

static void *system_alloc(rh__mem_layer *L, size_t n, bool zero, const char *file, int line) {
    (void)file, (void)line;
    return rh__large_alloc(L->heap, n, zero);
}

static void *system_realloc(rh__mem_layer *L, void *p, size_t n, const char *file, int line) {
    check_owned(L, p, "realloc", file, line);
    return rh__large_realloc(L->heap, p, n);
}

const rh__mem_methods rh__mem_system = {
    .name = "system",
    .alloc = system_alloc,
    .free = backend_free,
    .realloc = system_realloc,
    .usable = backend_usable,
    .check = check_owned,
    .mark = backend_mark,
    .next_marked = backend_next_marked,
};
