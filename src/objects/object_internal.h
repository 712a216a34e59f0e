/*
 * object_internal.h — object allocation and deallocation shared state, and the
 * layouts of the scalar and string types.
 * Owned by object.c (allocation, deallocation, generic operations), number.c
 * (None, bool, int, float) and str.c (str, bytes, interning).
 */
#ifndef REFHEAP_OBJECT_INTERNAL_H
#define REFHEAP_OBJECT_INTERNAL_H
#include "memory/alloc_internal.h"

int rh__obj_init(rh_heap *h);          /* also hands the heap the list type (h->lists) */
void rh__obj_fini(rh_heap *h);      /* frees the interned strings */

/* The list type's table for the rooms below (base/base.h; list.c). */
extern const rh__list_ops rh__list_type_ops;

/* Is o an object that lives in a heap (not a static immortal)? */
bool rh__is_heap_object(const rh_object *o);

/* ---------------------------------------------------------------------------
 * Layouts. Other subsystems may read these fields (never write them): the
 * public accessors (rh_int_value, rh_str_cstr, ...) are the usual way.
 * ------------------------------------------------------------------------- */

/* int: one signed 64-bit value. -5..256 are static immortals (number.c). */
typedef struct rh__int {
    RH_OBJECT_HEAD;
    int64_t value;
} rh__int;

/* float */
typedef struct rh__float {
    RH_OBJECT_HEAD;
    double value;
} rh__float;

/* str: immutable UTF-8 text stored inline after the fields, NUL-terminated.
 * hash is -1 until first computed (then cached); length counts code points.
 * The type's basicsize is offsetof(rh__str, data); an instance holds
 * nbytes + 1 more bytes (the text and its NUL). */
typedef struct rh__str {
    RH_OBJECT_HEAD;
    rh_hash_t hash;
    size_t nbytes;
    size_t length;
    uint8_t interned; /* 1: the heap's intern table owns it (or it is the static empty string) */
    char data[];
} rh__str;

/* bytes: immutable, stored inline, with a NUL after the last byte (as
 * CPython) so that the data can be printed. Same layout rules as str. */
typedef struct rh__bytes {
    RH_OBJECT_HEAD;
    rh_hash_t hash;
    size_t size;
    uint8_t data[];
} rh__bytes;

/* Hash of a byte string as str and bytes compute it (never -1):
 * SipHash-1-3 under the process's key. */
rh_hash_t rh__hash_bytes(const void *data, size_t n);
/* Sets the process's hash key (once; every rh_heap_new calls it). */
void rh__hash_init(void);
/* The interned str of h with text utf8[0..n), or NULL if there is none.
 * Allocates nothing. */
rh_object *rh__str_find_interned(rh_heap *h, const char *utf8, size_t n);

/* str.c's part of rh__obj_fini: frees the interned strings and the table. */
void rh__str_fini(rh_heap *h);

/* ---------------------------------------------------------------------------
 * A small text writer with the snprintf contract, used by the repr hooks:
 * writes at most cap-1 bytes plus a NUL and counts the full length.
 * ------------------------------------------------------------------------- */
typedef struct rh__textbuf {
    char *buf;
    size_t cap;
    size_t len; /* full length so far (may exceed cap) */
} rh__textbuf;

static inline void rh__text_begin(rh__textbuf *w, char *buf, size_t cap) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    if (cap) buf[0] = '\0';
}
static inline void rh__text_putc(rh__textbuf *w, char c) {
    if (w->len + 1 < w->cap) w->buf[w->len] = c;
    w->len++;
}
static inline void rh__text_putn(rh__textbuf *w, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) rh__text_putc(w, s[i]);
}
static inline void rh__text_puts(rh__textbuf *w, const char *s) {
    rh__text_putn(w, s, strlen(s));
}
/* Terminates the text and returns the full length (INT32 range assumed by
 * the snprintf contract; longer texts report INT_MAX-like clamps). */
static inline int rh__text_end(rh__textbuf *w) {
    if (w->cap) w->buf[w->len < w->cap ? w->len : w->cap - 1] = '\0';
    return w->len > (size_t)0x7fffffff ? 0x7fffffff : (int)w->len;
}

/* Is an object of heap h being destroyed (finalizer, weakref callbacks,
 * destroy hook) on the calling thread right now? heap.c's guard against
 * rh_heap_destroy from such code. */
bool rh__obj_dying_in(const rh_heap *h);

/* Is o waiting on the calling thread's deferred list (dead, its destroy not
 * yet run)? A walk of the list: for the invariant checks only. */
bool rh__dealloc_waiting(const rh_object *o);

#endif
