/*
 * base.c — what base/base.h declares and the heap record's own fields: the
 * heap's error state, the fatal stops, the mode's name. Every room calls it;
 * it calls nothing in src/.
 *
 * Errors are per heap: a code and a formatted message, kept until cleared or
 * overwritten. Misuse that cannot be reported as an error (a free of a
 * foreign pointer or of a pointer inside a pool block, a guard overwritten,
 * two threads in one heap) stops the program through rh__fatal with a
 * message on stderr.
 */

#include "base/heap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

rh_error rh_err(const rh_heap *h) { return h->err; }
const char *rh_errmsg(const rh_heap *h) { return h->errmsg; }

void rh_err_clear(rh_heap *h) {
    h->err = RH_OK;
    h->errmsg[0] = '\0';
}

void rh_err_set(rh_heap *h, rh_error code, const char *fmt, ...) {
    h->err = code;
    if (!fmt) {
        snprintf(h->errmsg, sizeof h->errmsg, "%s", rh_error_name(code));
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->errmsg, sizeof h->errmsg, fmt, ap);
    va_end(ap);
}

const char *rh_error_name(rh_error code) {
    static const char *const names[] = {
        "RH_OK",     "RH_ENOMEM", "RH_EOVERFLOW", "RH_ETYPE",   "RH_EKEY",    "RH_EINDEX",
        "RH_EVALUE", "RH_EATTR",  "RH_EBUFFER",   "RH_EWEAKREF", "RH_ESTATE", "RH_EZERODIV",
    };
    if ((unsigned)code < sizeof names / sizeof names[0]) return names[code];
    return "RH_E?";
}

void *rh__nomem(rh_heap *h) {
    rh_err_set(h, RH_ENOMEM, "out of memory");
    return NULL;
}

void rh__err_type(rh_heap *h, const char *op, const rh_object *o) {
    const char *name = (o && o->rh_type && o->rh_type->name) ? o->rh_type->name : "?";
    rh_err_set(h, RH_ETYPE, "%s: unsupported type '%s'", op, name);
}

_Noreturn void rh__fatal(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("refheap: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

_Noreturn void rh__assert_fail(const char *expr, const char *file, int line) {
    rh__fatal("assertion '%s' failed at %s:%d", expr, file, line);
}

/* ---------------------------------------------------------------------------
 * The mode
 * ------------------------------------------------------------------------- */

const char *rh_mode_name(rh_mode m) {
    switch (m) {
    case RH_MODE_DEFAULT: return "default";
    case RH_MODE_POOLS: return "pools";
    case RH_MODE_MALLOC: return "malloc";
    case RH_MODE_DEBUG: return "debug";
    }
    return "?";
}

rh_mode rh_heap_mode(const rh_heap *h) { return h->mode; }
