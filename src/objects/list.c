/*
 * list.c — the mutable sequence: a fixed header and a separately allocated,
 * over-allocated array of item pointers.
 *
 * Layout and invariants (rh__list):
 *     0 <= size <= allocated;   items == NULL  iff  allocated == 0;
 *     items[0..size) each hold one reference; items[size..allocated) are junk.
 * The array comes from rh_malloc/rh_realloc on the list's heap and is the
 * storage rh_sizeof adds (allocated * 8), so a list's figures follow
 * sys.getsizeof: [] is 56 bytes, [None] * n is 56 + 8n.
 *
 * Growth (the shape of CPython 3.11's list_resize, re-derived): a request for
 * `newsize` slots keeps the array when it is big enough and not more than
 * twice too big; otherwise the new capacity is newsize + newsize/8 + 6,
 * rounded down to a multiple of 4 — unless the request jumps so far past the
 * current size that this margin would be smaller than the jump, in which case
 * it is just newsize rounded up to a multiple of 4. Appending one at a time
 * therefore gives capacities 0, 4, 8, 16, 24, 32, 40, 52, ... (measured
 * sizes 56, 88, 120, 184, 248, ...). Growing can fail (RH_ENOMEM) and then
 * leaves the list untouched; shrinking never fails: if the smaller block
 * cannot be had, the list keeps the bigger one and the heap's error is left
 * as it was.
 *
 * Re-entrancy. rh_decref of an item and rh_equal can run arbitrary code
 * (finalizers, user eq hooks) that may mutate this very list. So: an item is
 * unlinked from the list (and the list made consistent) before its reference
 * is dropped; items compared are held by a reference during the comparison;
 * loops re-read `size` on every step and never keep pointers into `items`
 * across a call that may run user code.
 *
 * Tracking: lists are always tracked (CPython: gc.is_tracked([]) is True),
 * from creation until death.
 */
#include "objects/containers.h"
#include "objects/object_new.h" /* creation's fast path, in line */

typedef struct rh__list {
    RH_OBJECT_HEAD;
    size_t size;
    rh_object **items;
    size_t allocated;
} rh__list;

#define LST(o) ((rh__list *)(void *)(o))

/* [] is 56 bytes in CPython 3.11 with the collector's record. */
_Static_assert(sizeof(rh__list) == 40, "list object: 40 bytes + 16-byte collector record = 56");

/* Largest item count whose array (with over-allocation margin) is still
 * addressable: the growth formula adds an eighth plus 6, and the byte size is
 * 8 times that. */
#define LIST_MAX_ITEMS (SIZE_MAX / (2 * sizeof(rh_object *)))
/* Growth policy constants (see the essay): margin = newsize/8 + 6, then
 * rounded to a multiple of 4 slots. */
#define LIST_GROW_SHIFT 3
#define LIST_GROW_PAD 6
#define LIST_GROW_ROUND ((size_t)3)

/* Makes the array fit `newsize` items (the caller changes `size` itself).
 * Growing: 0, or -1 with RH_ENOMEM/RH_EOVERFLOW and nothing changed.
 * Shrinking: always 0. */
static int list_fit(rh__list *l, size_t newsize) {
    size_t alloc = l->allocated;
    if (alloc >= newsize && newsize >= (alloc >> 1)) return 0;
    rh_heap *h = rh_heap_of(l);
    bool growing = newsize > alloc;
    if (newsize > LIST_MAX_ITEMS) {
        rh_err_set(h, RH_EOVERFLOW, "list: %zu items is too many", newsize);
        return -1;
    }
    size_t target = 0;
    if (newsize > 0) {
        target = (newsize + (newsize >> LIST_GROW_SHIFT) + LIST_GROW_PAD) & ~LIST_GROW_ROUND;
        if (newsize > l->size && newsize - l->size > target - newsize)
            target = (newsize + LIST_GROW_ROUND) & ~LIST_GROW_ROUND;
    }
    if (target == 0) {
        rh_free(h, l->items);
        l->items = NULL;
        l->allocated = 0;
        return 0;
    }
    rh__saved_err saved;
    if (!growing) rh__err_save(h, &saved);
    rh_object **p = rh_realloc(h, l->items, target * sizeof(rh_object *));
    if (!p) {
        if (growing) return -1;
        rh__err_restore(h, &saved); /* keep the larger array; nothing failed */
        return 0;
    }
    l->items = p;
    l->allocated = target;
    return 0;
}

/* Normalises a Python-style index (negative counts from the end). Returns
 * false when it is out of [0, size). */
static bool list_index_ok(const rh__list *l, ptrdiff_t i, size_t *out) {
    if (i < 0) {
        size_t back = (size_t)(-(i + 1)) + 1; /* -i without overflow */
        if (back > l->size) return false;
        *out = l->size - back;
        return true;
    }
    if ((size_t)i >= l->size) return false;
    *out = (size_t)i;
    return true;
}

/* Detaches the whole array, then drops the references last to first (the
 * order CPython's list clear uses) and frees it. Safe against items whose
 * destruction touches the list: it is already empty. */
static void list_drop_all(rh__list *l) {
    rh_object **items = l->items;
    size_t n = l->size;
    l->items = NULL;
    l->size = 0;
    l->allocated = 0;
    if (!items) return;
    while (n-- > 0) rh_xdecref(items[n]);
    rh_free(rh_heap_of(l), items);
}

/* ---------------------------------------------------------------------------
 * Type hooks
 * ------------------------------------------------------------------------- */

static void list_destroy(rh_object *self) { list_drop_all(LST(self)); }

static void list_clear_hook(rh_object *self) { list_drop_all(LST(self)); }

static int list_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    rh__list *l = LST(self);
    for (size_t i = 0; i < l->size; i++) {
        if (l->items[i]) {
            int r = visit(l->items[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static int list_repr(rh_object *self, char *buf, size_t cap) {
    rh__list *l = LST(self);
    rh__reprbuf w;
    rh__repr_begin(&w, buf, cap);
    if (l->size == 0) {
        rh__repr_puts(&w, "[]");
        return rh__repr_done(&w);
    }
    rh__repr_frame f;
    int e = rh__repr_enter(&f, self);
    if (e < 0) return -1;
    if (e > 0) {
        rh__repr_puts(&w, "[...]");
        return rh__repr_done(&w);
    }
    rh__repr_puts(&w, "[");
    for (size_t i = 0; i < l->size && !w.failed; i++) {
        if (i) rh__repr_puts(&w, ", ");
        rh_object *it = rh_newref(l->items[i]); /* a child's repr may mutate us */
        rh__repr_obj(&w, it);
        rh_decref(it);
    }
    rh__repr_puts(&w, "]");
    rh__repr_leave(&f);
    return rh__repr_done(&w);
}

static int list_eq(rh_object *self, rh_object *other) {
    if (self == other) return 1;
    if (other->rh_type != &rh_list_type) return 0;
    rh__list *a = LST(self), *b = LST(other);
    if (a->size != b->size) return 0;
    size_t i = 0;
    for (; i < a->size && i < b->size; i++) {
        rh_object *x = rh_newref(a->items[i]);
        rh_object *y = rh_newref(b->items[i]);
        int r = rh__item_eq(x, y);
        rh_decref(x);
        rh_decref(y);
        if (r <= 0) return r;
    }
    /* An eq hook may have changed the lengths meanwhile (CPython does the same). */
    return a->size == b->size;
}

static size_t list_sizeof_extra(rh_object *self) {
    return LST(self)->allocated * sizeof(rh_object *);
}

const rh_type rh_list_type = {
    .name = "list",
    .basicsize = sizeof(rh__list),
    .itemsize = 0,
    .flags = RH_TYPE_GC,
    .destroy = list_destroy,
    .traverse = list_traverse,
    .clear = list_clear_hook,
    .repr = list_repr,
    .hash = NULL, /* unhashable */
    .eq = list_eq,
    .sizeof_extra = list_sizeof_extra,
    .untrack_check = NULL, /* always tracked */
};

/* ---------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------- */

rh_object *rh_list_new(rh_heap *h, size_t n) {
    if (n > LIST_MAX_ITEMS) {
        rh_err_set(h, RH_EOVERFLOW, "list: %zu items is too many", n);
        return NULL;
    }
    rh_object **items = NULL;
    if (n > 0) {
        items = rh_malloc(h, n * sizeof(rh_object *));
        if (!items) return NULL;
        for (size_t i = 0; i < n; i++) items[i] = rh_None; /* immortal: no count */
    }
    /* tracked at creation: the fields are set without an allocation between */
    rh_object *o = rh__new_fast(h, &rh_list_type, true, __FILE__, __LINE__);
    if (!o) {
        rh_free(h, items);
        return NULL;
    }
    rh__list *l = LST(o);
    l->items = items;
    l->size = n;
    l->allocated = n;
    return o;
}

size_t rh_list_size(const rh_object *l) {
    RH__CHECK_LIVE(l, "rh_list_size");
    return LST(l)->size;
}

rh_object *rh_list_get(const rh_object *lo, ptrdiff_t i) {
    RH__CHECK_LIVE(lo, "rh_list_get");
    const rh__list *l = LST(lo);
    size_t k;
    if (!list_index_ok(l, i, &k)) {
        rh_err_set(rh_heap_of(lo), RH_EINDEX, "list index out of range");
        return NULL;
    }
    return l->items[k];
}

int rh_list_set(rh_object *lo, ptrdiff_t i, rh_object *item) {
    RH__CHECK_LIVE(lo, "rh_list_set");
    rh__list *l = LST(lo);
    size_t k;
    if (!list_index_ok(l, i, &k)) {
        rh_err_set(rh_heap_of(lo), RH_EINDEX, "list assignment index out of range");
        return -1;
    }
    rh_object *old = l->items[k];
    l->items[k] = rh_newref(item);
    rh_decref(old);
    return 0;
}

int rh_list_append(rh_object *lo, rh_object *item) {
    RH__CHECK_LIVE(lo, "rh_list_append");
    rh__list *l = LST(lo);
    if (list_fit(l, l->size + 1) < 0) return -1;
    l->items[l->size++] = rh_newref(item);
    return 0;
}

int rh_list_insert(rh_object *lo, ptrdiff_t i, rh_object *item) {
    RH__CHECK_LIVE(lo, "rh_list_insert");
    rh__list *l = LST(lo);
    size_t n = l->size, k;
    /* list.insert clamps: below the start inserts first, past the end appends. */
    if (i < 0) {
        size_t back = (size_t)(-(i + 1)) + 1;
        k = back > n ? 0 : n - back;
    } else {
        k = (size_t)i > n ? n : (size_t)i;
    }
    if (list_fit(l, n + 1) < 0) return -1;
    memmove(&l->items[k + 1], &l->items[k], (n - k) * sizeof(rh_object *));
    l->items[k] = rh_newref(item);
    l->size = n + 1;
    return 0;
}

rh_object *rh_list_pop(rh_object *lo, ptrdiff_t i) {
    RH__CHECK_LIVE(lo, "rh_list_pop");
    rh__list *l = LST(lo);
    if (l->size == 0) {
        rh_err_set(rh_heap_of(lo), RH_EINDEX, "pop from empty list");
        return NULL;
    }
    size_t k;
    if (!list_index_ok(l, i, &k)) {
        rh_err_set(rh_heap_of(lo), RH_EINDEX, "pop index out of range");
        return NULL;
    }
    rh_object *v = l->items[k];
    memmove(&l->items[k], &l->items[k + 1], (l->size - k - 1) * sizeof(rh_object *));
    l->size--;
    list_fit(l, l->size); /* shrinking: cannot fail */
    return v;             /* the list's reference passes to the caller */
}

/* Removes items[k] and drops its reference after the list is consistent. */
static void list_del_at(rh__list *l, size_t k) {
    rh_object *v = l->items[k];
    memmove(&l->items[k], &l->items[k + 1], (l->size - k - 1) * sizeof(rh_object *));
    l->size--;
    list_fit(l, l->size);
    rh_decref(v);
}

/* The index of the first item equal to `item`; -1 if none, -2 if a
 * comparison failed (error set). Each item is held while it is compared:
 * the comparison may run code that changes the list. */
static ptrdiff_t list_find(rh__list *l, rh_object *item) {
    for (size_t i = 0; i < l->size; i++) {
        rh_object *x = rh_newref(l->items[i]);
        int r = rh__item_eq(x, item);
        rh_decref(x);
        if (r < 0) return -2;
        if (r > 0) return (ptrdiff_t)i;
    }
    return -1;
}

int rh_list_remove(rh_object *lo, rh_object *item) {
    RH__CHECK_LIVE(lo, "rh_list_remove");
    rh__list *l = LST(lo);
    ptrdiff_t i = list_find(l, item);
    if (i == -2) return -1;
    if (i >= 0) {
        if ((size_t)i < l->size) list_del_at(l, (size_t)i); /* the list may have shrunk meanwhile */
        return 0;
    }
    rh_err_set(rh_heap_of(lo), RH_EVALUE, "list.remove(x): x not in list");
    return -1;
}

ptrdiff_t rh_list_index(rh_object *lo, rh_object *item) {
    RH__CHECK_LIVE(lo, "rh_list_index");
    return list_find(LST(lo), item);
}

int rh_list_clear(rh_object *lo) {
    RH__CHECK_LIVE(lo, "rh_list_clear");
    list_drop_all(LST(lo));
    return 0;
}

int rh_list_reverse(rh_object *lo) {
    RH__CHECK_LIVE(lo, "rh_list_reverse");
    rh__list *l = LST(lo);
    if (l->size < 2) return 0;
    for (size_t a = 0, b = l->size - 1; a < b; a++, b--) {
        rh_object *t = l->items[a];
        l->items[a] = l->items[b];
        l->items[b] = t;
    }
    return 0;
}

const rh__list_ops rh__list_type_ops = {
    .make = rh_list_new,
    .size = rh_list_size,
    .set = rh_list_set,
    .append = rh_list_append,
    .pop = rh_list_pop,
};
