/*
 * sysmem.c — blocks from the system allocator, and the registry that makes
 * them recognisable.
 *
 * Requests above RH_SMALL_MAX in pools mode, every request in malloc mode, and
 * the raw blocks of debug mode that do not fit a pool come from malloc. Each
 * such block carries a 32-byte header (rh__large: list links, requested size,
 * flags: its mark, memory/marks.h) in front of the user's bytes (the owning
 * heap is the registry's); glibc's malloc returns 16-byte
 * aligned memory and the header is a multiple of 16, so the user's pointer is
 * 16-byte aligned too. The heap links its blocks in a list, newest first, so
 * destroying the heap frees every one of them; the list is also the order in
 * which a walk of the marked blocks (memory/marks.h) meets the system
 * blocks, and a block leaving it (free, realloc) first moves any open walk's
 * cursor that is on it to the block after it.
 *
 * The registry. "Whose block is this?" must be answerable for any pointer
 * without reading memory that may not be ours: a static object or a stack
 * address has no header in front of it, and reading there would be a wild
 * read. So every live system block's user pointer is entered in one
 * process-wide hash set (open addressing, linear probing, multiplicative hash
 * of the address), mapping it to its heap and its kind (plain system block, or
 * debug block). Only a pointer found there is ever dereferenced.
 *
 *   Invariants: load (live / capacity) <= 1/2 after every insertion; no
 *   tombstones (deletion shifts later members of the cluster back), so a probe
 *   stops at the first empty slot; capacity is a power of two >= REG_MIN.
 *
 * Several heaps on several threads share the registry: a reader-writer lock
 * protects it (lookups share it, insertions and deletions take it alone), and
 * every operation is O(1) expected. The table grows by doubling and shrinks
 * when it falls under 1/8 full, so it gives its memory back too.
 *
 * realloc of a system block holds the write lock across the call to
 * realloc(): the moment realloc frees the old chunk, another thread's malloc
 * may return that address and register it for its own heap, so the old
 * entry must be re-keyed to the new address before anyone can insert or look
 * up again. The price: lookups and insertions of other threads wait for one
 * realloc (its copy included); a key is never in the table twice.
 */
#include "memory/marks.h"

#include <pthread.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * The registry
 * ------------------------------------------------------------------------- */

/* Smallest table: 1024 slots (16 KiB) cover a program with a few hundred live
 * large blocks without any resize. */
#define REG_MIN ((size_t)1024)
#define REG_KIND_MASK ((uintptr_t)15) /* heaps are malloc'ed: 16-byte aligned */

typedef struct regslot {
    uintptr_t key; /* user pointer, 0: empty */
    uintptr_t val; /* heap | kind            */
} regslot;

static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static regslot *reg_slots;
static size_t reg_cap;  /* 0 or a power of two */
static size_t reg_live;

static size_t reg_hash(uintptr_t k) {
    uint64_t x = (uint64_t)(k >> 4) * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
    return (size_t)(x ^ (x >> 29));
}

/* Under the write lock: rebuilds the table with `cap` slots. -1: no memory. */
static int reg_resize(size_t cap) {
    regslot *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < reg_cap; i++) {
        if (!reg_slots[i].key) continue;
        size_t j = reg_hash(reg_slots[i].key) & (cap - 1);
        while (s[j].key) j = (j + 1) & (cap - 1);
        s[j] = reg_slots[i];
    }
    free(reg_slots);
    reg_slots = s;
    reg_cap = cap;
    return 0;
}

/* Under the write lock: room for one more entry. */
static int reg_make_room(void) {
    if ((reg_live + 1) * 2 <= reg_cap) return 0;
    return reg_resize(reg_cap ? reg_cap * 2 : REG_MIN);
}

/* Under the write lock, with room made: enters p. */
static void reg_insert(const void *p, uintptr_t val) {
    size_t j = reg_hash((uintptr_t)p) & (reg_cap - 1);
    while (reg_slots[j].key) j = (j + 1) & (reg_cap - 1);
    reg_slots[j].key = (uintptr_t)p;
    reg_slots[j].val = val;
    reg_live++;
}

int rh__sysreg_add(const void *p, rh_heap *h, uintptr_t kind) {
    pthread_rwlock_wrlock(&reg_lock);
    if (reg_make_room() != 0) {
        pthread_rwlock_unlock(&reg_lock);
        return -1;
    }
    reg_insert(p, (uintptr_t)h | kind);
    pthread_rwlock_unlock(&reg_lock);
    return 0;
}

/* Under the write lock: empties slot j and moves later members of its
 * cluster back so that no probe is cut short. */
static void reg_delete_slot(size_t j) {
    size_t mask = reg_cap - 1;
    size_t i = j;
    for (;;) {
        reg_slots[i].key = 0;
        size_t k = i;
        for (;;) {
            k = (k + 1) & mask;
            if (!reg_slots[k].key) goto done;
            size_t home = reg_hash(reg_slots[k].key) & mask;
            /* can slot k's entry move to i? only if its home is not in (i, k] */
            bool stays = (i <= k) ? (i < home && home <= k) : (i < home || home <= k);
            if (!stays) break;
        }
        reg_slots[i] = reg_slots[k];
        i = k;
    }
done:
    reg_live--;
}

static void reg_maybe_shrink(void) {
    while (reg_cap > REG_MIN && reg_live * 8 < reg_cap)
        if (reg_resize(reg_cap / 2) != 0) break; /* no memory: keep the bigger table */
    if (reg_live == 0 && reg_cap) {
        free(reg_slots);
        reg_slots = NULL;
        reg_cap = 0;
    }
}

/* Under the write lock: removes p, returning its value (0 if absent). */
static uintptr_t reg_remove(const void *p) {
    if (!reg_cap) return 0;
    size_t j = reg_hash((uintptr_t)p) & (reg_cap - 1);
    while (reg_slots[j].key) {
        if (reg_slots[j].key == (uintptr_t)p) {
            uintptr_t v = reg_slots[j].val;
            reg_delete_slot(j);
            return v;
        }
        j = (j + 1) & (reg_cap - 1);
    }
    return 0;
}

void rh__sysreg_del(const void *p) {
    pthread_rwlock_wrlock(&reg_lock);
    reg_remove(p);
    reg_maybe_shrink();
    pthread_rwlock_unlock(&reg_lock);
}

void rh__sysreg_del_heap(rh_heap *h) {
    pthread_rwlock_wrlock(&reg_lock);
    /* A deletion shifts later entries back, possibly into a slot already
     * passed (when a cluster wraps around the table's end): sweep until a
     * sweep finds nothing. Runs once per heap destruction. */
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; i < reg_cap; i++) {
            while (reg_slots[i].key && (reg_slots[i].val & ~REG_KIND_MASK) == (uintptr_t)h) {
                reg_delete_slot(i);
                again = true;
            }
        }
    }
    reg_maybe_shrink();
    pthread_rwlock_unlock(&reg_lock);
}

rh_heap *rh__sysreg_find(const void *p, uintptr_t *kind) {
    rh_heap *h = NULL;
    pthread_rwlock_rdlock(&reg_lock);
    if (reg_cap) {
        size_t j = reg_hash((uintptr_t)p) & (reg_cap - 1);
        while (reg_slots[j].key) {
            if (reg_slots[j].key == (uintptr_t)p) {
                h = (rh_heap *)(reg_slots[j].val & ~REG_KIND_MASK);
                if (kind) *kind = reg_slots[j].val & REG_KIND_MASK;
                break;
            }
            j = (j + 1) & (reg_cap - 1);
        }
    }
    pthread_rwlock_unlock(&reg_lock);
    return h;
}

/* ---------------------------------------------------------------------------
 * System blocks
 * ------------------------------------------------------------------------- */
_Static_assert(_Alignof(max_align_t) >= RH_ALIGNMENT, "malloc returns 16-byte aligned memory");

static void link_block(rh_heap *h, rh__large *L) {
    L->prev = NULL;
    L->next = h->alloc.large;
    if (L->next) L->next->prev = L;
    h->alloc.large = L;
}

/* A block leaves the list (freed, or moved by realloc): an open walk of
 * the marked blocks whose cursor is on it moves past it (memory/marks.h). */
static void unlink_block(rh_heap *h, rh__large *L) {
    for (rh__mark_walk *w = h->alloc.walks; w; w = w->next)
        if (w->large == L) w->large = L->next;
    if (L->prev) L->prev->next = L->next;
    else h->alloc.large = L->next;
    if (L->next) L->next->prev = L->prev;
}

void *rh__large_alloc(rh_heap *h, size_t n, bool zero) {
    if (n > SIZE_MAX - sizeof(rh__large)) return NULL;
    rh__large *L = zero ? calloc(1, sizeof *L + n) : malloc(sizeof *L + n);
    if (!L) return NULL;
    if (rh__sysreg_add(L + 1, h, RH__KIND_LARGE) != 0) {
        free(L);
        return NULL;
    }
    L->size = n;
    L->flags = 0;
    link_block(h, L);
    h->alloc.large_count++;
    h->alloc.large_bytes += n;
    return L + 1;
}

void *rh__large_realloc(rh_heap *h, void *p, size_t n) {
    if (n > SIZE_MAX - sizeof(rh__large)) return NULL;
    rh__large *old = rh__large_head(p);
    size_t oldn = old->size;
    unlink_block(h, old);
    /* The registry's write lock is held across realloc(): once realloc has
     * freed the old chunk, another thread may malloc that address and
     * register it, and until p's entry is re-keyed the registry would hold
     * the address twice, for two heaps. Under the lock nobody registers,
     * looks up or removes anything until p's entry names the new address. */
    pthread_rwlock_wrlock(&reg_lock);
    rh__large *L = realloc(old, sizeof *L + n);
    if (L && L != old) {
        uintptr_t v = reg_remove(p);
        reg_insert(L + 1, v); /* the removal made room: the load is what it was */
    }
    pthread_rwlock_unlock(&reg_lock);
    if (!L) {
        link_block(h, old);
        return NULL;
    }
    L->size = n;
    L->flags &= ~RH__LARGE_MARKED; /* a realloc's result is unmarked (memory/marks.h) */
    link_block(h, L);
    h->alloc.large_bytes += n - oldn;
    return L + 1;
}

void rh__large_free(rh_heap *h, void *p) {
    rh__large *L = rh__large_head(p);
    rh__sysreg_del(p);
    unlink_block(h, L);
    h->alloc.large_count--;
    h->alloc.large_bytes -= L->size;
    free(L);
}

void *rh__large_next_marked(rh_heap *h, rh__large **next, size_t *scanned, size_t budget, bool *yielded) {
    (void)h;
    rh__large *L = *next;
    for (size_t k = 0; L; L = L->next) {
        if (budget && k == budget) { /* yield: L, not examined, is the next */
            *next = L;
            *yielded = true;
            return NULL;
        }
        k++;
        ++*scanned;
        if (L->flags & RH__LARGE_MARKED) break;
    }
    *next = L ? L->next : NULL;
    return L ? L + 1 : NULL;
}

void rh__large_fini(rh_heap *h) {
    rh__sysreg_del_heap(h);
    rh__large *L = h->alloc.large;
    while (L) {
        rh__large *next = L->next;
        free(L);
        L = next;
    }
    h->alloc.large = NULL;
    h->alloc.large_count = 0;
    h->alloc.large_bytes = 0;
}
