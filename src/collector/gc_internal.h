/*
 * gc_internal.h — the collector's interface to the rest of refheap. Owned by
 * gc.c (and gcapi.c, the introspection half of the gc module, and gc_incr.c,
 * the incremental policy). Its state is in gc_state.h.
 */
#ifndef REFHEAP_GC_INTERNAL_H
#define REFHEAP_GC_INTERNAL_H

#include "memory/alloc_internal.h"

int rh__gc_init(rh_heap *h);
void rh__gc_fini(rh_heap *h);       /* last collection; debug leak report */

/* Object allocation, after a container's block was allocated (before the
 * object is returned; it is not tracked yet), calls
 *     if (rh__gc_count_alloc(&h->gc)) rh__gc_alloc_slow(h);
 * which counts it in generation 0 and, past `trigger`, may run an automatic
 * collection. (The inline halves take the collector's state alone.) */
void rh__gc_alloc_slow(rh_heap *h);
static inline bool rh__gc_count_alloc(struct rh__gc_state *st) {
    return RH_UNLIKELY(++st->count[0] > st->trigger);
}
/* Called when a container's memory is freed: the count drops by one but
 * not below 0 (written as the decrement and a test of its sign, which
 * compiles to four instructions, one fewer than the test first). */
static inline void rh__gc_count_free(struct rh__gc_state *st) {
    long n = st->count[0] - 1;
    if (n >= 0) st->count[0] = n;
}

/* A new container's record, written by object.c as it allocates one:
 * untracked (next 0), and the allocating heap kept in prev above the flags,
 * so that rh_gc_track of a container never tracked before (the usual
 * "create, fill, track") finds its heap in the object's own memory, without
 * asking the allocator. The hint lives and dies with the object, so it
 * names the right heap whatever thread created, freed or reused what. */
static inline rh__gchead rh__gc_new_record(rh_heap *h) {
    return (rh__gchead){0, (uintptr_t)h};
}
/* The heap hint of an untracked container: its heap, or NULL once it has
 * been tracked (untracking keeps flags only). */
static inline rh_heap *rh__gc_heap_hint(const rh__gchead *g) {
    return (rh_heap *)(g->prev & ~RH__GC_FLAGS_MASK);
}

/* Links an untracked container (its record's links are ignored; its flags
 * are dropped but FINALIZED) at the end of generation 0: the append of
 * rh_gc_track and of object.c's "create tracked" fast path, inline. A
 * sentinel carries no flags (gc.c's lists keep them 0, and rh__gc_check
 * checks it), so its prev is the tail's address as it is, and it gets g's
 * address alone. */
static inline void rh__gc_link_young(struct rh__gc_state *st, rh__gchead *g) {
    rh__gchead *l = &st->gens[0];
    rh__gchead *tail = (rh__gchead *)l->prev;
    g->next = (uintptr_t)l;
    g->prev = (uintptr_t)tail | (g->prev & RH__GC_FINALIZED);
    tail->next = (uintptr_t)g;
    l->prev = (uintptr_t)g;
}
/* The same for a container just allocated (no flag to keep). The store
 * to the tail sits between g's two words so that the compiler writes them
 * with two plain stores (side by side, gcc packs them into one vector
 * store, built with three more instructions). */
static inline void rh__gc_link_new(struct rh__gc_state *st, rh__gchead *g) {
    rh__gchead *l = &st->gens[0];
    rh__gchead *tail = (rh__gchead *)l->prev;
    g->prev = (uintptr_t)tail;
    tail->next = (uintptr_t)g;
    g->next = (uintptr_t)l;
    l->prev = (uintptr_t)g;
}

/* Unlinks a tracked container from whatever list holds it and marks it
 * untracked (next = 0), keeping only the FINALIZED flag. The untrack of
 * rh_gc_untrack and of object death (object.c), inline. */
static inline void rh__gc_untrack_node(rh__gchead *g) {
    rh__gchead *p = (rh__gchead *)(g->prev & ~RH__GC_FLAGS_MASK), *n = (rh__gchead *)g->next;
    p->next = (uintptr_t)n;
    n->prev = (uintptr_t)p | (n->prev & RH__GC_FLAGS_MASK);
    g->next = 0;
    g->prev &= RH__GC_FINALIZED;
}

/* The layout without list links (docs/linkless.md; gc_linkless.c, whose
 * essay states the invariants). rh__gc_layout_init (gc.c) decides it at
 * heap creation, once the policy is known: the incremental policy's
 * layout, unless REFHEAP_LINKLESS=0 asks for its linked one. track/untrack take a live
 * container of h of that layout, untracked / tracked respectively. */
void rh__gc_layout_init(rh_heap *h);
/* The collector's arrays (young, a collection's set, a round's): a raw
 * block of the heap grown or made by realloc, not traced, the heap's
 * pending error kept; NULL when the allocator says no (gc_linkless.c). */
void *rh__gc_array_realloc(rh_heap *h, void *p, size_t n);
void rh__gc_linkless_track(rh_heap *h, rh_object *o);
void rh__gc_linkless_untrack(rh_heap *h, rh_object *o);
bool rh__gc_linkless_tracked(rh_heap *h, const rh_object *o);
/* Untracks o if it is tracked; returns whether it was. */
bool rh__gc_linkless_untrack_if(rh_heap *h, rh_object *o);
void rh__gc_linkless_fini(rh_heap *h);
/* Steps 1-3 over set[0 .. n) (gc_linkless.c's essay): splits it in place into
 * [reachable | unreachable] and returns the reachable count. */
size_t rh__gc_linkless_find_unreachable(rh_heap *h, rh_object **set, size_t n);
/* The young set's steps 1-3 over the young array, detached (*cap its
 * capacity); young_release, after the tail: that array back as the
 * young array if none was made meanwhile, else freed (young_free: a
 * young array freed, unless it is the heap record's young_first). init:
 * the young array's first capacity, at heap creation. */
void rh__gc_linkless_young_free(rh_heap *h, rh_object **y);
rh_object **rh__gc_linkless_young_unreachable(rh_heap *h, size_t *n, size_t *r, size_t *cap, unsigned *need);
void rh__gc_linkless_young_release(rh_heap *h, rh_object **set, size_t cap);
void rh__gc_linkless_init(rh_heap *h);
void rh__gc_linkless_survive(rh_heap *h, rh_object **set, size_t n, bool gen1);
rh_object **rh__gc_linkless_full_unreachable(rh_heap *h, size_t *n, size_t *r, unsigned *need);
size_t rh__gc_linkless_recheck(rh_heap *h, rh_object **part, size_t *n);
/* The tail over an array (gc.c's garbage set, array backend), which
 * starts on the unreachable part where steps 1-3 left it: that part moved
 * to the front and reindexed (for step 5); one object promoted; step 5's
 * partition (returns where the legacy part starts). */
size_t rh__gc_linkless_tail_part(rh_heap *h, rh_object **set, size_t r, size_t n);
void rh__gc_linkless_promote(rh_heap *h, rh_object *o, bool gen1);
size_t rh__gc_linkless_legacy(rh_heap *h, rh_object **a, size_t n);
/* A full collection without its array (out of memory, or a set too
 * large for LOW): steps 1-3 by walks of the marked blocks, the garbage
 * found by its marks (both) and not indexed; returns its size, *r the
 * survivors (old). Step 8 and step 5 over such a set: the resurrected
 * promoted, the final garbage returned; the legacy part given
 * UNREACHABLE alone, its size returned. */
size_t rh__gc_linkless_full_walk(rh_heap *h, size_t *r);
size_t rh__gc_linkless_recheck_walk(rh_heap *h);
size_t rh__gc_linkless_legacy_walk(rh_heap *h);
/* Step 6: o (tracked) waits for its weak reference's callback out of the
 * generations; afterwards, if it still waits, it is old (GEN1 after a
 * young collection). */
void rh__gc_linkless_wait(rh_heap *h, rh_object *o);
void rh__gc_linkless_wait_end(rh_heap *h, rh_object *o, bool gen1);
/* An incremental round of such a heap (gc_incr.c): the tracked object o
 * leaves its generation (the young array's swap-remove, or the counters),
 * its word KEEP alone, counted nowhere (a member of a round's final check). */
void rh__gc_linkless_take(rh_heap *h, rh_object *o);
/* The young set joins the old one unexamined (GEN1), as a young collection
 * that found nothing would leave it. */
void rh__gc_linkless_promote_young(rh_heap *h);
/* Debug mode: `from` (of heap h) refers to `to` (of heap oh): stops the
 * program naming both (gc.c). */
_Noreturn void rh__gc_cross_heap_fatal(rh_heap *h, const rh_object *from, rh_heap *oh, const rh_object *to);
/* At RH_DEBUG >= 1: a full collection of h met `to`, a tracked container
 * of another heap: stops the program naming it (gc.c). */
_Noreturn void rh__gc_cross_heap_met(rh_heap *h, const rh_object *to);
/* fn(o, arg) on each object of generation gen (0..2, or RH_GC_GENERATIONS:
 * the permanent one, or RH__GC_EACH_TRACKED: every tracked object, a
 * collection's set included, in the walk's order) until it returns
 * non-zero (returned); all but generation 0 by a walk of the marked
 * blocks. fn may write the objects' collector words only with
 * RH__GC_EACH_TRACKED (the generations are told by those words), save
 * that in a walk (every generation but 0) it may untrack the object it
 * was given (unmarked: the walk does not meet it again). */
#define RH__GC_EACH_TRACKED (-1)
int rh__gc_linkless_each(rh_heap *h, int gen, int (*fn)(rh_object *o, void *arg), void *arg);
void rh__gc_linkless_freeze(rh_heap *h);
void rh__gc_linkless_unfreeze(rh_heap *h);
/* The invariants of gc_linkless.c's essay: stops the program at the first
 * broken one. */
void rh__gc_linkless_check(rh_heap *h);
/* The same, each broken one printed on the gc sink (a "gc: verify:" line)
 * and counted (returned); *walkable (if not NULL) tells whether the young
 * array and the marked blocks are sound enough to be walked and
 * traversed (rh_gc_verify's passes). */
size_t rh__gc_linkless_audit(rh_heap *h, bool fatal, bool *walkable);
/* Debug mode's leak report: fn(o, outside, arg) on each tracked object,
 * outside = its references from outside the heap's tracked objects (its
 * count minus the references their traverses report); the collector
 * words are as they were afterwards. Returns the objects. */
size_t rh__gc_linkless_outside(rh_heap *h, void (*fn)(rh_object *o, uint32_t outside, void *arg), void *arg);
/* Is o (a live container of either layout) tracked? The linked layout
 * reads its record; the other asks the allocator for the block's mark. */
static inline bool rh__gc_tracked_any(const rh_object *o) {
    if (rh__gc_linkless_obj(o)) return rh__gc_linkless_tracked(rh__heap_of(o), o);
    return RH__AS_GC(o)->next != 0;
}

/* Containers with inline references. A type whose traverse is
 * rh__gc_inline_refs_traverse owns exactly these references, reported in
 * this order: (rh_object *)type->user_data, the object that owns the type
 * (a class, which each of its instances holds a reference to), then the
 * non-NULL rh_object * fields from the end of the header up to the
 * weak-reference list when the type has one (RH_TYPE_WEAKREFABLE), else up
 * to basicsize. Slotted class instances without native state are such
 * (class.c). The collector's own passes (gc.c: counting and marking
 * reachable; gc_incr.c: a round's phases and final check) recognise this
 * traverse by its address and walk the fields in line (gc_walk.h), with no
 * indirect call per object or per reference; every other visitor
 * (get_referents, objgraph, the verifier) calls it as any traverse. */
int rh__gc_inline_refs_traverse(rh_object *self, rh_visitfn visit, void *arg);

/* Containers with an attribute table: plain class instances (class.c, which
 * describes the table's two modes), laid out as rh__attr_inst. Their traverse
 * is rh__gc_attr_table_traverse: (rh_object *)type->user_data (the class),
 * then the value of every entry whose key is set, in table order. The
 * collector's passes walk them in line too. */
typedef struct rh__attr_entry {
    rh_object *key;   /* an interned string, or NULL for an empty slot */
    rh_object *value; /* owned reference; non-NULL when key is */
} rh__attr_entry;
typedef struct rh__attr_inst {
    RH_OBJECT_HEAD;
    rh__attr_entry *table;
    uint32_t used;
    uint32_t mask; /* capacity - 1; 0 while there is no table */
} rh__attr_inst;
int rh__gc_attr_table_traverse(rh_object *self, rh_visitfn visit, void *arg);

/* Writes one line to the heap's gc sink (stderr by default). printf-style;
 * the line is formatted into a fixed buffer (no allocation) and truncated at
 * RH__GC_LINE_MAX - 1 bytes. */
#define RH__GC_LINE_MAX 512
void rh__gc_printf(rh_heap *h, const char *fmt, ...) RH_PRINTF(2, 3);

/* The list sentinel of generation g (0..2), or of the permanent generation
 * for g == RH_GC_GENERATIONS (gcapi.c walks them). */
rh__gchead *rh__gc_list(rh_heap *h, int g);

/* gc.garbage, created on first need; NULL (RH_ENOMEM) when out of memory. */
rh_object *rh__gc_garbage_list(rh_heap *h);

/* ---------------------------------------------------------------------------
 * Between gc.c and gc_incr.c (the incremental policy). gc.c exports its list
 * primitives and the two halves of a collection; gc_incr.c exports the hooks
 * gc.c calls at its few policy decision points.
 * ------------------------------------------------------------------------- */
void rh__gc_list_init(rh__gchead *l);
void rh__gc_list_move(rh__gchead *g, rh__gchead *l);
void rh__gc_list_merge(rh__gchead *from, rh__gchead *to);
/* Steps 1-3 over `set` alone, with the current counts: the unreachable part
 * moves to `unreachable`; survivors stay in `set` (flags cleared). Returns
 * the number of unreachable objects; *need gets their NEED_* flags. */
size_t rh__gc_find_unreachable(rh_heap *h, rh__gchead *set, rh__gchead *unreachable, unsigned *need);
/* Steps 5-10 of a collection over `unreachable` (from rh__gc_find_unreachable
 * or step 3): survivors of any step move to `old`. With `defer` non-NULL
 * (and no DEBUG_SAVEALL) step 9 is left to the caller: the final garbage is
 * moved to `defer`, each object with a reference the caller owns. *m and *n
 * receive collected and uncollectable as collect() counts them. */
void rh__gc_tail(rh_heap *h, rh__gchead *unreachable, size_t nunreachable, unsigned need,
                 rh__gchead *old, rh__gchead *defer, intptr_t *m, intptr_t *n);
/* A collection body run with gc callbacks, the pending error kept and the
 * pause reported (as collect_with_callbacks does for collect_main). */
typedef intptr_t (*rh__gc_body)(rh_heap *h, int gen, rh_gc_info *info);
intptr_t rh__gc_run(rh_heap *h, int gen, bool callbacks, rh__gc_body body);
/* One ordinary collection of generations 0..gen (with callbacks). */
intptr_t rh__gc_collect_gen(rh_heap *h, int gen);
uint64_t rh__gc_now_ns(void);
/* Pause measurement for the pause hook: begin (only when a hook is set),
 * then report with the kind and the time spent in user code. The clocks
 * and the thread's context switch counts at the start. */
typedef struct rh__gc_pause_mark {
    uint64_t wall, cpu;
    long preempted, blocked;
} rh__gc_pause_mark;
rh__gc_pause_mark rh__gc_pause_begin(void);
void rh__gc_report_pause(rh_heap *h, const rh__gc_pause_mark *m, int kind, uint64_t user_ns);

void rh__gc_incr_init(rh_heap *h);
/* Automatic collection under the incremental policy (from rh__gc_alloc_slow,
 * with st->collecting set). */
void rh__gc_incr_alloc_slow(rh_heap *h);
/* Brings the round's objects back into generation 2 (round abandoned, its
 * marks erased) and, with `drain`, clears every deferred garbage object now.
 * For full collections, freeze, the verifier, get_objects/get_referrers and
 * heap destruction. Does nothing inside a collection. */
void rh__gc_incr_settle(rh_heap *h, bool drain);
/* A heap without list links: o (word w, carrying a round's mark) leaves the
 * round's arrays (its slot on the suspects or the rescued ones emptied).
 * Returns whether it is counted as old (false: it is on `doomed`, counted
 * nowhere and held by the collector, which finds it there unmarked). */
bool rh__gc_incr_leave(rh_heap *h, rh_object *o, uint32_t w);
/* Step 9 of a round's final check deferred: the final garbage object o is
 * held (a reference) and waits on `doomed`. false: out of memory, the
 * caller clears it now. */
bool rh__gc_incr_doom(rh_heap *h, rh_object *o);
/* The shape of a heap without links' round arrays (tests): for the
 * suspects, the rescued ones and `doomed` (in that order), their entries,
 * the segments their directories span (gc_incr.c's segmented vectors) and
 * of those the ones allocated (`live`: the final check frees the suspects'
 * segments it has passed), and the entries of a segment. All 0 when the
 * round's state is not allocated. */
typedef struct rh__incr_ll_shape {
    size_t n[3], nseg[3], live[3], seg_len;
} rh__incr_ll_shape;
void rh__gc_incr_ll_shape(const rh_heap *h, rh__incr_ll_shape *out);
/* Steps 5-10 of a collection over the array set[r .. n), the unreachable
 * part that rh__gc_linkless_find_unreachable left there (a heap without
 * list links); with `defer` step 9 hands the final garbage to
 * rh__gc_incr_doom. Survivors are old, generation 2. */
void rh__gc_tail_array(rh_heap *h, rh_object **set, size_t r, size_t n, bool defer, intptr_t *m,
                       intptr_t *nn);
/* Invariant check (RH_DEBUG >= 3; see base/base.h): the invariants above
 * over every tracked object. A violation stops the program. */
void rh__gc_check(rh_heap *h);
/* The weak references' invariants (rh__weak_check_object) over every
 * tracked object. */
void rh__weak_check(rh_heap *h);
/* Every room's invariant check, in turn: the pools' (not in malloc mode),
 * the collector's, the weak references' and, in debug mode, the guards of
 * every live block (`when` names the moment in the messages). The
 * collector runs it after every collection at RH_DEBUG >= 3; heap.c at
 * destruction. */
void rh__heap_check(rh_heap *h, const char *when);

#endif
