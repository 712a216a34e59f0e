/*
 * marks.h — a mark bit per block, and a walk over a heap's marked blocks.
 *
 * What the allocator offers, knowing nothing of what the blocks hold: any
 * live block of a heap can be marked, unmarked and tested, by the pointer
 * the heap handed out, and the marked blocks can be walked, the program
 * running between two steps of the walk. The collector's layout without
 * list links (docs/linkless.md) builds on it: a tracked container's block
 * is marked, and the old generation is the marked blocks a walk finds.
 *
 * Where the bit lives:
 *   pool blocks    the arena's mark plane (alloc_priv.h, RH__MARK_WORDS):
 *                  one bit per 16-byte granule of the arena, 8 KiB per MiB,
 *                  in the radix leaf beside the arena's meta, so a block's
 *                  bit is found from its address alone (the leaf, then a
 *                  shift and a mask); the bit of a block is the bit
 *                  of its first granule, so only block starts are ever set
 *                  and the plane, read in order, lists the marked blocks
 *                  in address order;
 *   system blocks  bit RH__LARGE_MARKED of their header (rh__large.flags);
 *   debug mode     the debug shim translates its user pointer to the raw
 *                  block under it and marks that (in the pools or a system
 *                  block, as above); a walk's raw block is translated back.
 * rh__block_mark_word gives the word and bit to a caller that has the
 * block's leaf of the tree already (one walk for an object's owner, mark
 * and free). The other inline functions below serve a heap whose back end is the pools and
 * that has no shim changing pointers (the slow word's RH__SLOW_MODE bit
 * clear: pools mode, tracing and the fault injector included) when the
 * block lies in one of its arenas: a test of the slow word, the leaf (one
 * load), the owner (one load), the word of the plane. Anything else
 * (a system block, malloc or debug mode) goes through the heap's layer
 * stack (memory/layer.h, the `mark` method), whose back ends stop the
 * program on a pointer that is not a live block of the heap, as free does.
 *
 * Marks and frees. The layer above unmarks a block before it frees (or
 * reallocates) it: the collector's layout without links unmarks a
 * container when it is untracked or dies, which it must do anyway. The
 * frees do not look at the mark, so it costs nothing to a heap that never
 * marks a block (every free of every heap would otherwise pay a load and
 * a test of the plane, 11 to 13 instructions: bench/callgrind.py).
 * Freeing or reallocating a marked block is misuse: debug mode stops the
 * program naming the block, its allocation site and the free's site;
 * rh__pools_check (RH_DEBUG 3: after every collection and at the heap's
 * destruction) reports a set bit that is not the start of a block handed
 * out; in the other modes a pool block's bit stays set on the free block
 * (the next allocation of the block returns it marked, and a walk may
 * return it while free), until pool_take gives its pool a class again:
 * it zeroes the pool's words then, so such a mark never outlives its
 * pool's class. A system block's mark goes with its header (freed; a
 * realloc of a system block clears it, sysmem.c). So, the rule kept, a
 * free block, or one waiting in the block cache, is never marked, and an
 * arena whose blocks are all free has a plane of zeros.
 *
 * The walk. A cursor (rh__mark_walk, the caller's memory) is opened with
 * rh__mark_walk_begin, stepped with rh__mark_walk_next, and must be closed
 * with rh__mark_walk_end, before the heap is destroyed: while open it is
 * linked in its heap (alloc.walks), so that the heap can keep it valid
 * (several walks may be open at once, each with its own cursor). Order: the blocks of
 * the pools in address order (arena by arena, through the heap's arenas
 * sorted by address, alloc.by_addr, kept by pools.c at every mapping and
 * release), then the system blocks in the order of the heap's list
 * (newest first). The cursor holds the address of the last pool block it
 * returned (the next step looks strictly after it, so the position never
 * depends on that block still being there), or the next system block to
 * examine (sysmem.c moves it past a block that leaves the list).
 *
 * Steps in line. A step of the pools part that finds a block in pools
 * mode (the slow word's RH__SLOW_MODE bit clear: no shim changes pointers)
 * also keeps, in the cursor, the plane word it found it in (kept) and that
 * word's bits beyond the block (rest: the marked blocks after it in the
 * word, as read). rh__mark_walk_next, in line, serves the next step from
 * them while rest is not 0: it reads the word again, ANDs it with rest (a
 * block unmarked since, or freed, is not marked now: the rule above),
 * returns the lowest bit left as the block, and keeps the bits above it.
 * Only when nothing is left does it call rh__mark_walk_step (marks.c),
 * the step through the layer stack (memory/layer.h: the trace and fault
 * shims, which pass the walk through, are not called for the steps in
 * line). A block after the cursor in the kept word whose bit was clear
 * when the word was read was marked during the walk, so leaving it out is
 * the contract's "may or may not". So when rest is not 0 but the word read
 * again has none of it left, the step out of line goes on from the next
 * word (pos moves to the kept word's last granule) with that read counted
 * against its budget and in scanned, as if it had read the word itself.
 * What could make the kept pointer wrong is handled where it happens, not
 * tested by the steps: a debug or malloc heap never keeps a word (every
 * step goes through the stack, whose shim translates pointers; malloc
 * mode has no plane); a system block is never kept (its phase follows the
 * pools'); pool_take zeroing a pool's words leaves only bits not set, which
 * the AND drops; and arena_release (pools.c) clears rest in every open walk
 * of the heap (alloc.walks) whose cursor lies in the arena it releases,
 * before the slot, its plane word included, can be taken by another arena,
 * maybe another heap's (whose marks the word would then hold). The leaf
 * of the tree holding the plane stays mapped for the life of the process
 * (pools.c), so the word itself is always readable.
 * The contract, whatever the program does between two steps (free,
 * allocate, mark, unmark, trim or decay arenas):
 *   - every block that stays marked (so live) from the walk's beginning to
 *     its end is returned exactly once: a pool block's address is crossed
 *     once by a cursor that only moves up, and a system block stays in the
 *     list, in place, while live (a realloc would move it, but a marked
 *     block is unmarked before a realloc);
 *   - a block marked or freed during the walk may or may not be returned,
 *     but never after its free (a free block is not marked, the rule kept);
 *   - an arena released between two steps is simply no longer in by_addr,
 *     and one mapped since is walked from the cursor on, if it lies ahead.
 * Cost: O(1) a step plus the words of the plane scanned (whole zero words
 * skipped, 1024 words an arena at most) plus a binary search of by_addr
 * when a step leaves an arena for a non-adjacent one; a whole walk is
 * O(arenas * 1024 + marked blocks + system blocks). A step served in
 * line is about fifteen instructions and no call (bench/bench_marks.c's
 * walk: 33.5 instructions a step of a dense plane, the walk's scan of the
 * empty words included, against 121 when every step went through the
 * stack to the pools and found its arena in the tree again). The walk
 * counts that cost in w->scanned (plane words read, the word of each
 * returned block read again by the next step, in line or not, plus system
 * blocks examined), so that a caller with a time budget (an incremental
 * round's slice) can charge the empty words it crossed as work: a walk
 * left undisturbed ends with scanned = arenas * 1024 + pool blocks
 * returned (but those in the last granule of their word, whose next step
 * starts in the next word) + system blocks. With
 * w->budget set, a step of the pools part reads at most that many plane
 * words: when it has read them without finding a block it returns NULL
 * with the walk not over, the cursor at the first word not read (an
 * address, like the cursor of a returned block), so a slice's time in a
 * step is bounded whatever the plane holds. The system blocks part is
 * bounded the same way: a step examines at most that many system blocks,
 * then returns NULL with the walk not over, the cursor at the first block
 * not examined (moved on, like any cursor, if that block leaves the list).
 */
#ifndef REFHEAP_MEMORY_MARKS_H
#define REFHEAP_MEMORY_MARKS_H

#include "memory/alloc_priv.h"

/* The operations of the layer method `mark` (memory/layer.h). */
typedef enum rh__mark_op { RH__MARK_TEST = 0, RH__MARK_SET = 1, RH__MARK_CLEAR = 2 } rh__mark_op;

/* Where a walk is. */
typedef enum rh__walk_phase { RH__WALK_POOLS = 0, RH__WALK_LARGE, RH__WALK_DONE } rh__walk_phase;

typedef struct rh__mark_walk {
    rh_heap *heap;
    rh__walk_phase phase;
    uintptr_t pos;                /* pools: where the next step looks after (see above) */
    const uint64_t *kept;         /* pools: the plane word of pos when `rest` is not 0  */
    uint64_t rest;                /* its bits beyond pos set when last read, not returned */
    struct rh__large *large;      /* system blocks: the next to examine (NULL: none)    */
    size_t scanned; /* plane words read and system blocks examined by the steps so far */
    size_t budget;  /* plane words one step may read (0: no bound); the caller's to set */
    struct rh__mark_walk *next, *prev; /* the heap's open walks (alloc.walks) */
} rh__mark_walk;

/* The mark of p, a live block of h, through h's layer stack: sets, clears
 * or tests it (op) and returns whether it was set before. Stops the program
 * when p is not a live block of h (marks.c). */
bool rh__mark_slow(rh_heap *h, void *p, rh__mark_op op);

/* The word and bit of p's mark when the in-line path may serve it (see
 * the essay): true and *w, *bit set; else false. */
RH__HOT_INLINE bool rh__mark_fast(rh_heap *h, const void *p, uint64_t **w, uint64_t *bit) {
    uintptr_t a = (uintptr_t)p;
    if (RH_UNLIKELY(h->alloc.slow & RH__SLOW_MODE)) return false;
    uintptr_t leaf = rh__radix_leaf(a);
    if (RH_UNLIKELY(leaf == 0)) return false;
    uintptr_t k = rh__leaf_index(a);
    if (RH_UNLIKELY(atomic_load_explicit(rh__leaf_owner(leaf, k), memory_order_acquire) != (uintptr_t)h))
        return false;
    rh__assert(rh__class_block_start(*rh__leaf_class(leaf, a), p));
    *w = rh__leaf_mark_word(leaf, a);
    *bit = (uint64_t)1 << rh__mark_shift(a);
    return true;
}

/* The word of p's mark (its bit in *bit) for a caller that walked the tree
 * already: p is a live pool block of a heap whose slow word has no
 * RH__SLOW_MODE bit, and leaf is rh__radix_leaf(p) (what rh__pool_owner
 * returned in *leafp). The object path's straight lines of the layout
 * without links (collector/gc_linkless_fast.h) walk the tree once for the
 * owner, the mark and the free. */
RH__HOT_INLINE uint64_t *rh__block_mark_word(uintptr_t leaf, const void *p, uint64_t *bit) {
    uintptr_t a = (uintptr_t)p;
    rh__assert(leaf != 0 && leaf == rh__radix_leaf(a) && rh__class_block_start(*rh__leaf_class(leaf, a), p));
    *bit = (uint64_t)1 << rh__mark_shift(a);
    return rh__leaf_mark_word(leaf, a);
}

/* Every bit of p's mark word but p's own (p as for rh__block_mark_word):
 * ~1 rotated left by the bit's position, one rotation where ~(1 << k)
 * takes a shift and a NOT, so that a clear is an AND into memory. */
RH__HOT_INLINE uint64_t rh__block_mark_keep(const void *p) {
    unsigned k = rh__mark_shift((uintptr_t)p);
    uint64_t x = ~(uint64_t)1;
    return (x << k) | (x >> (-k & 63));
}

/* Marks p, a live block of h. */
RH__HOT_INLINE void rh__block_mark(rh_heap *h, void *p) {
    uint64_t *w, bit;
    if (RH_LIKELY(rh__mark_fast(h, p, &w, &bit))) *w |= bit;
    else (void)rh__mark_slow(h, p, RH__MARK_SET);
}
/* Unmarks p, a live block of h. */
RH__HOT_INLINE void rh__block_unmark(rh_heap *h, void *p) {
    uint64_t *w, bit;
    if (RH_LIKELY(rh__mark_fast(h, p, &w, &bit))) *w &= ~bit;
    else (void)rh__mark_slow(h, p, RH__MARK_CLEAR);
}
/* Is p, a live block of h, marked? */
RH__HOT_INLINE bool rh__block_marked(rh_heap *h, const void *p) {
    uint64_t *w, bit;
    if (RH_LIKELY(rh__mark_fast(h, p, &w, &bit))) return (*w & bit) != 0;
    return rh__mark_slow(h, (void *)(uintptr_t)p, RH__MARK_TEST);
}

/* Opens a walk of h's marked blocks in w (the caller's memory, linked in
 * h until rh__mark_walk_end). */
void rh__mark_walk_begin(rh_heap *h, rh__mark_walk *w);
/* The next marked block after the cursor (the pointer the heap handed
 * out; in line from the kept word when it has a block left, see the
 * essay), or NULL when the walk is over (then NULL again at every call), or
 * NULL with the walk not over (rh__mark_walk_over false) when w->budget is
 * set and the step read that many plane words (or examined that many
 * system blocks) without finding a block: the cursor then stands at the
 * first word (or block) not read, and the next step goes on from there
 * (the contract is unchanged: only unmarked blocks were crossed). */
/* The step out of line: every step the kept word cannot serve (marks.c). */
void *rh__mark_walk_step(rh__mark_walk *w);
RH__HOT_INLINE void *rh__mark_walk_next(rh__mark_walk *w) {
    uint64_t rest = w->rest;
    if (RH_LIKELY(rest != 0)) {
        uint64_t word = *w->kept & rest; /* what was kept and is still marked */
        if (RH_LIKELY(word != 0)) {
            uintptr_t b = (w->pos & ~(uintptr_t)(64 * RH_ALIGNMENT - 1)) +
                          (uintptr_t)__builtin_ctzll(word) * RH_ALIGNMENT;
            w->rest = word & (word - 1);
            w->pos = b;
            w->scanned++;
            rh__assert(rh__pool_heap((const void *)b) == w->heap && !(w->heap->alloc.slow & RH__SLOW_MODE) &&
                       rh__class_block_start(*rh__leaf_class(rh__radix_leaf(b), b), (const void *)b) &&
                       w->kept == rh__leaf_mark_word(rh__radix_leaf(b), b) &&
                       ((*w->kept >> rh__mark_shift(b)) & 1));
            return (void *)b;
        }
    }
    return rh__mark_walk_step(w);
}
/* Is the walk over (its last step returned NULL for that reason)? */
static inline bool rh__mark_walk_over(const rh__mark_walk *w) { return w->phase == RH__WALK_DONE; }
/* Closes the walk (it leaves its heap's list). */
void rh__mark_walk_end(rh__mark_walk *w);

/* The back ends' parts of a step (memory/layer.h's next_marked):
 * the next marked pool block of h after w->pos, or after the kept word
 * when w->rest is not 0 (pools.c; w->pos moves to it, its word kept in
 * pools mode; w->scanned counts the words read, at most w->budget), NULL
 * when the pools have none left or with *yielded set; the next marked
 * system block from *next on (sysmem.c; *next moves past it), NULL at the
 * list's end, or NULL with *yielded set when `budget` (non-zero) blocks
 * were examined without finding one (*next then the first block not
 * examined). */
void *rh__pools_next_marked(rh_heap *h, rh__mark_walk *w, bool *yielded);
void *rh__large_next_marked(rh_heap *h, struct rh__large **next, size_t *scanned, size_t budget, bool *yielded);

#endif /* REFHEAP_MEMORY_MARKS_H */
