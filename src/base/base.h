/*
 * base.h — the bottom room of src/: what every other room may use. The public
 * header, the error helpers and fatal stops, and the checks in tiers. It
 * declares no room's state (base/heap.h, the heap record, composes those) and
 * calls nothing above it: base/base.c implements what is declared here.
 */
#ifndef REFHEAP_BASE_H
#define REFHEAP_BASE_H

#include "refheap.h"

#include <stdatomic.h>
#include <string.h>

#define RH__ERRMSG_MAX 256 /* longest heap error message, NUL included */

/* The list type as the rooms below objects/ use it: gc.garbage and the gc
 * module's introspection (collector/), rh_weakref_list (weak/). These rooms
 * hand lists to the user but do not call the built-in types, which sit
 * above them: objects/list.c fills in one table of its public functions
 * (rh__list_type_ops) and rh__obj_init puts it in the heap record (h->lists). */
typedef struct rh__list_ops {
    rh_object *(*make)(rh_heap *h, size_t n); /* rh_list_new: n Nones */
    size_t (*size)(const rh_object *l);
    int (*set)(rh_object *l, ptrdiff_t i, rh_object *item);
    int (*append)(rh_object *l, rh_object *item);
    rh_object *(*pop)(rh_object *l, ptrdiff_t i); /* new reference */
} rh__list_ops;

/* Error helpers (base.c). rh__nomem sets RH_ENOMEM and returns NULL. */
void *rh__nomem(rh_heap *h);
void rh__err_type(rh_heap *h, const char *op, const rh_object *o); /* "op: unsupported type 'T'" */

/* ---------------------------------------------------------------------------
 * Checks in tiers. RH_DEBUG is fixed at compile time (CMake option
 * REFHEAP_DEBUG_LEVEL: 0 for Release and RelWithDebInfo builds, 2 for Debug
 * builds unless set); each level adds to the ones below it:
 *   0  what every build checks: misuse a user can commit that is cheap to
 *      see (RH__CHECK_LIVE, rh_heap_destroy re-entry, debug mode's checks);
 *   1  cheap checks on paths that are already slow: a cross-heap reference
 *      met by the fused full-collection pass stops the program instead of
 *      being skipped;
 *   2  internal assertions (rh__assert: "refheap: fatal: assertion ...
 *      failed at file:line");
 *   3  whole-heap invariant walks after every collection and at heap
 *      destruction (rh__heap_check: rh__pools_check, rh__gc_check,
 *      rh__weak_check, and in debug mode every live block's guards).
 * Level 3 costs a walk of the heap per collection: it is for the test
 * suite (CI runs it there), not for production.
 * ------------------------------------------------------------------------- */
#ifndef RH_DEBUG
#define RH_DEBUG 0
#endif
_Noreturn void rh__assert_fail(const char *expr, const char *file, int line);
#if RH_DEBUG >= 2
#define rh__assert(cond) (RH_LIKELY(cond) ? (void)0 : rh__assert_fail(#cond, __FILE__, __LINE__))
#else
#define rh__assert(cond) ((void)sizeof(!(cond))) /* not evaluated; its names stay used */
#endif

/* Fatal misuse (debug checks): prints "refheap: fatal: ..." to stderr and aborts. */
_Noreturn void rh__fatal(const char *fmt, ...) RH_PRINTF(1, 2);

#endif /* REFHEAP_BASE_H */
