/*
 * containers.c — helpers shared by the built-in containers (tuple, list,
 * dict, set): the repr writer and its recursion guard, and error helpers.
 *
 * The repr writer. Type repr hooks follow snprintf: they write at most cap-1
 * bytes plus a NUL and return the length the complete text needs. A container
 * appends its punctuation and its children's reprs into the same buffer: a
 * child gets the space that is left (or a one-byte window holding only the NUL
 * when nothing is left), and its return value is added to the running length,
 * so the final length is exact however small the buffer was. Invariant:
 * buf[min(len, cap-1)] is the terminating NUL whenever cap > 0.
 *
 * The recursion guard. A container that contains itself (l.append(l)) would
 * print forever; Python prints "[[...]]". Each container's repr pushes a frame
 * (object pointer, link to the frame above) on a per-thread stack whose frames
 * live on the C stack of the repr calls themselves, so the guard allocates
 * nothing and cannot fail. Finding o already on the stack means "print the
 * ellipsis form". The stack is also a depth counter: nesting deeper than
 * RH__REPR_MAX_DEPTH fails cleanly (as CPython raises RecursionError) instead
 * of overflowing the C stack. The linear search is bounded by that depth.
 */
#include "objects/containers.h"

#include <stdio.h>

/* ---------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------- */

void rh__repr_begin(rh__reprbuf *w, char *buf, size_t cap) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->failed = 0;
    if (cap > 0) buf[0] = '\0';
}

void rh__repr_puts(rh__reprbuf *w, const char *s) {
    size_t n = strlen(s);
    if (w->cap > 0 && w->len < w->cap - 1) {
        size_t room = w->cap - 1 - w->len;
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->buf[w->len + k] = '\0';
    }
    w->len += n;
}

void rh__repr_obj(rh__reprbuf *w, rh_object *o) {
    char scratch[1];
    char *dst;
    size_t room;
    if (w->cap == 0) {
        dst = scratch;
        room = 1;
    } else if (w->len < w->cap - 1) {
        dst = w->buf + w->len;
        room = w->cap - w->len;
    } else {
        dst = w->buf + w->cap - 1; /* only the NUL fits */
        room = 1;
    }
    int r = rh_repr(o, dst, room);
    if (r < 0) {
        w->failed = 1;
        return;
    }
    w->len += (size_t)r;
}

int rh__repr_done(rh__reprbuf *w) {
    if (w->failed) return -1;
    if (w->len > (size_t)INT32_MAX) return INT32_MAX; /* snprintf's int result */
    return (int)w->len;
}

/* ---------------------------------------------------------------------------
 * Recursion guard
 * ------------------------------------------------------------------------- */

static _Thread_local rh__repr_frame *repr_top;
static _Thread_local size_t repr_depth;

int rh__repr_enter(rh__repr_frame *f, const rh_object *o) {
    for (const rh__repr_frame *p = repr_top; p; p = p->up)
        if (p->obj == o) return 1;
    if (repr_depth >= RH__REPR_MAX_DEPTH) {
        rh__cont_err(o, RH_EOVERFLOW, "repr: maximum nesting depth exceeded");
        return -1;
    }
    f->obj = o;
    f->up = repr_top;
    repr_top = f;
    repr_depth++;
    return 0;
}

void rh__repr_leave(rh__repr_frame *f) {
    repr_top = f->up;
    repr_depth--;
}

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

void rh__cont_err(const rh_object *o, rh_error code, const char *msg) {
    if (!rh__is_heap_object(o)) return;
    rh_heap *h = rh_heap_of(o);
    if (h) rh_err_set(h, code, "%s", msg);
}

void rh__err_save(rh_heap *h, rh__saved_err *s) {
    s->code = rh_err(h);
    snprintf(s->msg, sizeof s->msg, "%s", rh_errmsg(h));
}

void rh__err_restore(rh_heap *h, const rh__saved_err *s) {
    if (s->code == RH_OK)
        rh_err_clear(h);
    else
        rh_err_set(h, s->code, "%s", s->msg);
}
