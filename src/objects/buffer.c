/*
 * buffer.c — bytearray (a mutable byte buffer) and memoryview (views that
 * share a buffer's memory without copying).
 *
 * The object graph is CPython 3.11's, so the collector counts the same objects:
 *
 *   memoryview ──► managedbuffer ──► bytes / bytearray (the exporter)
 *   memoryview ──┘   (slices and views of views share one managedbuffer)
 *
 * A managedbuffer holds one export of its base: a reference to the base plus
 * the base's data pointer and length at export time. Exporting a bytearray
 * increments the bytearray's export count; while that count is nonzero the
 * bytearray refuses to change size (RH_EBUFFER, Python's BufferError text),
 * which is what keeps every view's pointer valid. bytes never change, so their
 * exports need no count.
 *
 * Each memoryview is a window (pointer, length, readonly flag) into its
 * managedbuffer's memory and is registered with it: the managedbuffer counts
 * its unreleased views. Releasing a view (explicitly, or when it dies) takes
 * it off that count; when the count reaches zero the managedbuffer gives the
 * export back (the bytearray may resize again) and drops its base. A released
 * view keeps its reference to the managedbuffer until it dies, as in CPython,
 * but refuses every operation (RH_EBUFFER "operation forbidden on released
 * memoryview object").
 *
 *   managedbuffer states:  exporting (base != NULL, views >= 1)
 *                          ──last view released──►  released (base == NULL)
 *   memoryview states:     live ──release / death──► released
 *
 * Tracking follows CPython: gc.is_tracked(memoryview(b'x')) and the
 * managedbuffer are tracked containers (so a cycle of two instances holding a
 * view and a slice of it makes collect() return 5, as CPython does), while a
 * bytearray is not a container and is never tracked. Bases are bytes and
 * bytearrays, which reference nothing, so no cycle can pass through a
 * managedbuffer: it needs no clear hook, and leaving it out means a view
 * can never see its memory pulled away while it is still registered.
 *
 * Allocation runs user code. Creating a view allocates a container, and that
 * may start an automatic collection whose finalizers can release any view
 * and resize any bytearray that lost its last export. So a view (and a
 * managedbuffer) is allocated blank first, and only then is the state it
 * will show read and checked: a source view released meanwhile gives the
 * released-view error, never a view registered on a released managedbuffer
 * with a stale pointer.
 *
 * The bytearray's storage is one rh_malloc block (NULL while empty) with
 * room for `cap` bytes; growth over-allocates geometrically for appends,
 * shrinking below half the capacity gives memory back.
 */
#include "objects/object_internal.h"

#include <inttypes.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------
 * Layouts
 * ------------------------------------------------------------------------- */

typedef struct bytearray_obj {
    RH_OBJECT_HEAD;
    uint8_t *data;  /* rh_malloc'd, cap bytes; NULL when cap == 0 */
    size_t len;
    size_t cap;
    size_t exports; /* managedbuffers currently exporting this buffer */
} bytearray_obj;

typedef struct mbuf_obj {
    RH_OBJECT_HEAD;
    rh_object *base; /* owned; NULL once the export was given back */
    uint8_t *data;   /* the base's memory at export time */
    size_t len;
    size_t views;    /* registered, unreleased memoryviews */
    bool readonly;
} mbuf_obj;

typedef struct memview_obj {
    RH_OBJECT_HEAD;
    rh_object *weaklist;
    rh_object *mbuf; /* owned, kept until the view dies */
    uint8_t *ptr;
    size_t len;
    bool readonly;
    bool released;
} memview_obj;

/* Largest buffer: sizes are also handled as ptrdiff_t by users (Python's
 * Py_ssize_t limit). */
#define BUF_MAX ((size_t)PTRDIFF_MAX)

/* Storage behind every empty buffer, so data accessors never return NULL for
 * a live empty buffer. Zero bytes of it are ever read or written. */
static uint8_t empty_storage[1];

static const char RELEASED_MSG[] = "operation forbidden on released memoryview object";
static const char EXPORTS_MSG[] = "Existing exports of data: object cannot be re-sized";

static bytearray_obj *as_ba(const rh_object *o) { return (bytearray_obj *)(void *)o; }
static mbuf_obj *as_mbuf(const rh_object *o) { return (mbuf_obj *)(void *)o; }
static memview_obj *as_mv(const rh_object *o) { return (memview_obj *)(void *)o; }

static bool is_bytearray(const rh_object *o) { return o && o->rh_type == &rh_bytearray_type; }
static bool is_memoryview(const rh_object *o) { return o && o->rh_type == &rh_memoryview_type; }
static bool is_bytes(const rh_object *o) { return o && o->rh_type == &rh_bytes_type; }

static rh_hash_t identity_hash(rh_object *self) {
    uint64_t p = (uint64_t)(uintptr_t)self;
    uint64_t y = (p >> 4) | (p << 60);
    rh_hash_t hv = (rh_hash_t)y;
    return hv == -1 ? -2 : hv;
}

/* The bytes of a bytes-like object: 1 with *p, *n set; 0 when o is not
 * bytes-like (or is a released view). Sets no error. */
static int bytes_like(const rh_object *o, const uint8_t **p, size_t *n) {
    if (is_bytes(o)) {
        *p = rh_bytes_data(o);
        *n = rh_bytes_len(o);
        return 1;
    }
    if (is_bytearray(o)) {
        *p = as_ba(o)->data ? as_ba(o)->data : empty_storage;
        *n = as_ba(o)->len;
        return 1;
    }
    if (is_memoryview(o) && !as_mv(o)->released) {
        *p = as_mv(o)->ptr;
        *n = as_mv(o)->len;
        return 1;
    }
    return 0;
}

static int bytes_like_eq(rh_object *self, rh_object *other) {
    const uint8_t *a, *b;
    size_t na, nb;
    if (!bytes_like(self, &a, &na) || !bytes_like(other, &b, &nb)) return self == other;
    return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

/* ---------------------------------------------------------------------------
 * repr helpers: an snprintf-contract writer and Python's bytes repr rules.
 * ------------------------------------------------------------------------- */

typedef struct outbuf {
    char *buf;
    size_t cap;
    size_t len; /* wanted length so far; may exceed cap */
} outbuf;

static void out_ch(outbuf *o, char ch) {
    if (o->len + 1 < o->cap) o->buf[o->len] = ch;
    o->len++;
}

static void out_str(outbuf *o, const char *s) {
    while (*s) out_ch(o, *s++);
}

static int out_finish(outbuf *o) {
    if (o->cap) o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len > (size_t)INT32_MAX ? INT32_MAX : (int)o->len;
}

/* b'...' as Python writes it: single quotes unless the data holds a single
 * quote and no double quote; \t \n \r \\ and the quote escaped; other bytes
 * outside 0x20..0x7e as \xhh. */
static void out_bytes_literal(outbuf *o, const uint8_t *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    bool has_single = memchr(p, '\'', n) != NULL;
    bool has_double = memchr(p, '"', n) != NULL;
    char quote = (has_single && !has_double) ? '"' : '\'';
    out_ch(o, 'b');
    out_ch(o, quote);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == (uint8_t)quote || c == '\\') {
            out_ch(o, '\\');
            out_ch(o, (char)c);
        } else if (c == '\t') {
            out_str(o, "\\t");
        } else if (c == '\n') {
            out_str(o, "\\n");
        } else if (c == '\r') {
            out_str(o, "\\r");
        } else if (c < 0x20 || c >= 0x7f) {
            out_str(o, "\\x");
            out_ch(o, hex[c >> 4]);
            out_ch(o, hex[c & 15]);
        } else {
            out_ch(o, (char)c);
        }
    }
    out_ch(o, quote);
}

/* ---------------------------------------------------------------------------
 * bytearray
 * ------------------------------------------------------------------------- */

static void bytearray_destroy(rh_object *self) {
    bytearray_obj *ba = as_ba(self);
    rh_free(rh_heap_of(self), ba->data);
    ba->data = NULL;
    ba->len = ba->cap = 0;
}

static int bytearray_repr(rh_object *self, char *buf, size_t cap) {
    bytearray_obj *ba = as_ba(self);
    outbuf o = {buf, cap, 0};
    out_str(&o, "bytearray(");
    out_bytes_literal(&o, ba->data ? ba->data : empty_storage, ba->len);
    out_ch(&o, ')');
    return out_finish(&o);
}

static size_t bytearray_sizeof_extra(rh_object *self) { return as_ba(self)->cap; }

const rh_type rh_bytearray_type = {
    .name = "bytearray",
    .basicsize = sizeof(bytearray_obj),
    .destroy = bytearray_destroy,
    .repr = bytearray_repr,
    .eq = bytes_like_eq, /* hash NULL: unhashable, as in Python */
    .sizeof_extra = bytearray_sizeof_extra,
};

rh_object *rh_bytearray(rh_heap *h, const void *data, size_t n) {
    if (n > BUF_MAX) {
        rh_err_set(h, RH_EOVERFLOW, "bytearray of %zu bytes is too large", n);
        return NULL;
    }
    bytearray_obj *ba = (bytearray_obj *)(void *)rh_new(h, &rh_bytearray_type);
    if (!ba) return NULL;
    if (n) {
        ba->data = data ? rh_malloc(h, n) : rh_calloc(h, n, 1);
        if (!ba->data) {
            rh_decref(RH_OBJ(ba));
            return NULL;
        }
        if (data) memcpy(ba->data, data, n);
        ba->cap = ba->len = n;
    }
    return RH_OBJ(ba);
}

static bytearray_obj *check_bytearray(const rh_object *o, const char *op) {
    if (is_bytearray(o)) return as_ba(o);
    rh_heap *h = o ? rh_heap_of(o) : NULL;
    if (h) rh_err_set(h, RH_ETYPE, "%s: a bytearray is required, not '%s'", op, rh_type_name(o));
    return NULL;
}

uint8_t *rh_bytearray_data(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_bytearray_data");
    bytearray_obj *ba = check_bytearray(o, "rh_bytearray_data");
    if (!ba) return NULL;
    return ba->data ? ba->data : empty_storage;
}

size_t rh_bytearray_len(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_bytearray_len");
    bytearray_obj *ba = check_bytearray(o, "rh_bytearray_len");
    return ba ? ba->len : 0;
}

/* Sets the length to n, reallocating to `want` bytes of capacity when the
 * current capacity is too small or more than twice what n needs. New bytes
 * are zero. */
static int bytearray_set_len(rh_heap *h, bytearray_obj *ba, size_t n, size_t want) {
    if (n == ba->len) return 0; /* no size change: allowed even while exported */
    if (ba->exports) {
        rh_err_set(h, RH_EBUFFER, "%s", EXPORTS_MSG);
        return -1;
    }
    if (n > ba->cap || n < ba->cap / 2) {
        if (want == 0) {
            rh_free(h, ba->data);
            ba->data = NULL;
        } else {
            uint8_t *nd = rh_realloc(h, ba->data, want);
            if (!nd) return -1;
            ba->data = nd;
        }
        ba->cap = want;
    }
    if (n > ba->len) memset(ba->data + ba->len, 0, n - ba->len);
    ba->len = n;
    return 0;
}

int rh_bytearray_resize(rh_object *o, size_t n) {
    RH__CHECK_LIVE(o, "rh_bytearray_resize");
    bytearray_obj *ba = check_bytearray(o, "rh_bytearray_resize");
    if (!ba) return -1;
    rh_heap *h = rh_heap_of(o);
    if (n > BUF_MAX) {
        rh_err_set(h, RH_EOVERFLOW, "bytearray of %zu bytes is too large", n);
        return -1;
    }
    /* An explicit resize asks for an exact size: no over-allocation. */
    return bytearray_set_len(h, ba, n, n);
}

int rh_bytearray_extend(rh_object *o, const void *data, size_t n) {
    RH__CHECK_LIVE(o, "rh_bytearray_extend");
    bytearray_obj *ba = check_bytearray(o, "rh_bytearray_extend");
    if (!ba) return -1;
    rh_heap *h = rh_heap_of(o);
    if (n == 0) return 0;
    if (n > BUF_MAX - ba->len) {
        rh_err_set(h, RH_EOVERFLOW, "bytearray of more than %zu bytes is too large", BUF_MAX);
        return -1;
    }
    size_t old = ba->len, nlen = old + n;
    /* Appending grows the capacity by an eighth beyond the need (plus a small
     * constant for tiny buffers): repeated appends cost amortised O(1) copies
     * while wasting at most ~12% of the buffer, the trade CPython makes for
     * bytearray and list. */
    size_t want = nlen;
    if (nlen > ba->cap) {
        size_t extra = (nlen >> 3) + (nlen < 9 ? 3 : 6);
        want = extra <= BUF_MAX - nlen ? nlen + extra : BUF_MAX;
    }
    /* data may point into this very bytearray (extending with itself): keep
     * its offset across the reallocation. */
    uintptr_t src = (uintptr_t)data, own = (uintptr_t)ba->data;
    bool self_alias = ba->data && src >= own && src - own < ba->cap;
    size_t src_off = self_alias ? (size_t)(src - own) : 0;
    if (bytearray_set_len(h, ba, nlen, want) < 0) return -1;
    memcpy(ba->data + old, self_alias ? ba->data + src_off : (const uint8_t *)data, n);
    return 0;
}

/* ---------------------------------------------------------------------------
 * managedbuffer (internal type)
 * ------------------------------------------------------------------------- */

/* Gives the export back and drops the base (idempotent). */
static void mbuf_release(mbuf_obj *mb) {
    rh_object *base = mb->base;
    if (!base) return;
    if (is_bytearray(base)) as_ba(base)->exports--;
    mb->base = NULL;
    mb->data = NULL;
    mb->len = 0;
    rh_decref(base);
}

static void mbuf_destroy(rh_object *self) { mbuf_release(as_mbuf(self)); }

static int mbuf_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    mbuf_obj *mb = as_mbuf(self);
    return mb->base ? visit(mb->base, arg) : 0;
}

/* Not public: reached only through a memoryview, as in CPython. */
static const rh_type mbuf_type = {
    .name = "managedbuffer",
    .basicsize = sizeof(mbuf_obj),
    .flags = RH_TYPE_GC,
    .destroy = mbuf_destroy,
    .traverse = mbuf_traverse,
    .hash = identity_hash,
};

/* A managedbuffer exporting base (bytes or bytearray), tracked, with no views
 * yet. NULL on error. */
static mbuf_obj *mbuf_new(rh_heap *h, rh_object *base) {
    mbuf_obj *mb = (mbuf_obj *)(void *)rh_new(h, &mbuf_type);
    if (!mb) return NULL;
    if (is_bytes(base)) {
        mb->data = (uint8_t *)(uintptr_t)rh_bytes_data(base);
        mb->len = rh_bytes_len(base);
        mb->readonly = true;
    } else {
        bytearray_obj *ba = as_ba(base);
        mb->data = ba->data ? ba->data : empty_storage;
        mb->len = ba->len;
        mb->readonly = false;
        ba->exports++;
    }
    mb->base = rh_newref(base);
    rh_gc_track(RH_OBJ(mb));
    return mb;
}

/* ---------------------------------------------------------------------------
 * memoryview
 * ------------------------------------------------------------------------- */

static void memview_release(memview_obj *mv) {
    if (mv->released) return;
    mv->released = true;
    mv->ptr = NULL;
    mv->len = 0;
    mbuf_obj *mb = as_mbuf(mv->mbuf);
    if (--mb->views == 0) mbuf_release(mb);
}

static void memview_clear(rh_object *self) {
    memview_obj *mv = as_mv(self);
    if (mv->mbuf) {
        memview_release(mv);
        RH_CLEAR(mv->mbuf);
    }
}

static int memview_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    memview_obj *mv = as_mv(self);
    return mv->mbuf ? visit(mv->mbuf, arg) : 0;
}

static int memview_repr(rh_object *self, char *buf, size_t cap) {
    return snprintf(buf, cap, "<%smemory at 0x%" PRIxPTR ">",
                    as_mv(self)->released ? "released " : "", (uintptr_t)self);
}

/* Python: a read-only view hashes like the bytes it shows; a writable or
 * released one is unhashable (ValueError). */
static rh_hash_t memview_hash(rh_object *self) {
    memview_obj *mv = as_mv(self);
    rh_heap *h = rh_heap_of(self);
    if (mv->released) {
        rh_err_set(h, RH_EBUFFER, "%s", RELEASED_MSG);
        return -1;
    }
    if (!mv->readonly) {
        rh_err_set(h, RH_EVALUE, "cannot hash writable memoryview object");
        return -1;
    }
    rh_object *b = rh_bytes(h, mv->ptr, mv->len);
    if (!b) return -1;
    rh_hash_t hv = rh_hash(b);
    rh_decref(b);
    return hv;
}

const rh_type rh_memoryview_type = {
    .name = "memoryview",
    .basicsize = sizeof(memview_obj),
    .flags = RH_TYPE_GC | RH_TYPE_WEAKREFABLE,
    .weaklist_offset = offsetof(memview_obj, weaklist),
    .destroy = memview_clear,
    .traverse = memview_traverse,
    .clear = memview_clear,
    .repr = memview_repr,
    .hash = memview_hash,
    .eq = bytes_like_eq,
};

/* A blank view: untracked, registered with no managedbuffer, owning nothing
 * (its destroy is then a no-op). NULL on error. Allocating it may run an
 * automatic collection, whose finalizers may release or resize anything: so
 * every view is allocated before the state it will show is read, and
 * memview_init fills it from that state afterwards. */
static memview_obj *memview_alloc(rh_heap *h) {
    return (memview_obj *)(void *)rh_new(h, &rh_memoryview_type);
}

/* Registers the blank view mv with mb, showing [ptr, ptr+len), and tracks it. */
static rh_object *memview_init(memview_obj *mv, mbuf_obj *mb, uint8_t *ptr, size_t len, bool readonly) {
    mv->mbuf = rh_newref(RH_OBJ(mb));
    mb->views++;
    mv->ptr = ptr;
    mv->len = len;
    mv->readonly = readonly;
    rh_gc_track(RH_OBJ(mv));
    return RH_OBJ(mv);
}

/* The view behind a public call, or NULL with the error set. */
static memview_obj *live_view(const rh_object *o, const char *op) {
    rh_heap *h = o ? rh_heap_of(o) : NULL;
    if (!is_memoryview(o)) {
        if (h) rh_err_set(h, RH_ETYPE, "%s: a memoryview is required, not '%s'", op, rh_type_name(o));
        return NULL;
    }
    memview_obj *mv = as_mv(o);
    if (mv->released) {
        rh_err_set(h, RH_EBUFFER, "%s", RELEASED_MSG);
        return NULL;
    }
    return mv;
}

rh_object *rh_memoryview_in(rh_heap *h, rh_object *obj) {
    RH__CHECK_LIVE(obj, "rh_memoryview_in");
    if (!h || !obj) return NULL;
    rh_heap *owner = rh_heap_of(obj);
    if (owner && owner != h) {
        rh_err_set(h, RH_EVALUE, "memoryview: the object belongs to another heap");
        return NULL;
    }
    if (is_memoryview(obj)) {
        /* Allocate first: the source may be released meanwhile. */
        memview_obj *mv = memview_alloc(h);
        if (!mv) return NULL;
        memview_obj *src = live_view(obj, "memoryview");
        if (!src) {
            rh_decref(RH_OBJ(mv));
            return NULL;
        }
        return memview_init(mv, as_mbuf(src->mbuf), src->ptr, src->len, src->readonly);
    }
    if (!is_bytes(obj) && !is_bytearray(obj)) {
        rh_err_set(h, RH_ETYPE, "memoryview: a bytes-like object is required, not '%s'",
                   rh_type_name(obj));
        return NULL;
    }
    /* The view first, then the managedbuffer, which reads obj's memory after
     * its own allocation (and then holds the export, so obj cannot change
     * size any more). */
    memview_obj *mv = memview_alloc(h);
    if (!mv) return NULL;
    mbuf_obj *mb = mbuf_new(h, obj);
    if (!mb) {
        rh_decref(RH_OBJ(mv));
        return NULL;
    }
    rh_object *r = memview_init(mv, mb, mb->data, mb->len, mb->readonly);
    rh_decref(RH_OBJ(mb)); /* the view holds it now */
    return r;
}

rh_object *rh_memoryview(rh_object *obj) {
    RH__CHECK_LIVE(obj, "rh_memoryview");
    if (!obj) return NULL;
    /* A static immortal (the empty bytes) has no heap to put the view in nor
     * to report the error on: rh_memoryview_in is the way for it. */
    return rh_memoryview_in(rh_heap_of(obj), obj);
}

rh_object *rh_memoryview_slice(rh_object *o, size_t start, size_t stop) {
    RH__CHECK_LIVE(o, "rh_memoryview_slice");
    if (!live_view(o, "rh_memoryview_slice")) return NULL;
    /* Allocate first: the source may be released meanwhile (checked again). */
    memview_obj *sl = memview_alloc(rh_heap_of(o));
    if (!sl) return NULL;
    memview_obj *mv = live_view(o, "rh_memoryview_slice");
    if (!mv) {
        rh_decref(RH_OBJ(sl));
        return NULL;
    }
    /* Clamp as Python does for non-negative bounds: each bound to the length,
     * and an empty view when stop <= start. */
    if (start > mv->len) start = mv->len;
    if (stop > mv->len) stop = mv->len;
    size_t len = stop > start ? stop - start : 0;
    return memview_init(sl, as_mbuf(mv->mbuf), mv->ptr + start, len, mv->readonly);
}

const uint8_t *rh_memoryview_data(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_memoryview_data");
    memview_obj *mv = live_view(o, "rh_memoryview_data");
    return mv ? mv->ptr : NULL;
}

uint8_t *rh_memoryview_mutable_data(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_memoryview_mutable_data");
    memview_obj *mv = live_view(o, "rh_memoryview_mutable_data");
    if (!mv) return NULL;
    if (mv->readonly) {
        rh_err_set(rh_heap_of(o), RH_ETYPE, "cannot modify read-only memory");
        return NULL;
    }
    return mv->ptr;
}

size_t rh_memoryview_len(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_memoryview_len");
    memview_obj *mv = live_view(o, "rh_memoryview_len");
    return mv ? mv->len : 0;
}

bool rh_memoryview_readonly(const rh_object *o) {
    RH__CHECK_LIVE(o, "rh_memoryview_readonly");
    return is_memoryview(o) && as_mv(o)->readonly;
}

int rh_memoryview_release(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_memoryview_release");
    if (!is_memoryview(o)) {
        rh_heap *h = o ? rh_heap_of(o) : NULL;
        if (h) rh_err_set(h, RH_ETYPE, "rh_memoryview_release: a memoryview is required, not '%s'",
                          rh_type_name(o));
        return -1;
    }
    memview_release(as_mv(o));
    return 0;
}

rh_object *rh_memoryview_tobytes(rh_object *o) {
    RH__CHECK_LIVE(o, "rh_memoryview_tobytes");
    memview_obj *mv = live_view(o, "rh_memoryview_tobytes");
    if (!mv) return NULL;
    return rh_bytes(rh_heap_of(o), mv->ptr, mv->len);
}
