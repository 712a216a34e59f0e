/*
 * bench/novalgrind/valgrind/memcheck.h — wraps Valgrind's header in the
 * instruction-count build of bench/callgrind.py only (that build puts
 * bench/novalgrind first on the include path; no other build sees this file).
 *
 * refheap's allocator includes <valgrind/memcheck.h> when it exists and asks
 * RUNNING_ON_VALGRIND when a heap is made: under any Valgrind tool, callgrind
 * included, the pools then announce every block to Valgrind on their
 * out-of-line slow paths, which is right for memcheck and wrong for counting
 * the instructions of the normal path. This header includes the real one,
 * then makes RUNNING_ON_VALGRIND 0 and the block announcements nothing, so
 * under callgrind the library runs exactly the code it runs outside Valgrind.
 * (The real header is included first so that a request this list does not
 * name still compiles; such a request would cost its few instructions here
 * just as it does outside Valgrind.)
 */
#ifndef RH_BENCH_NOVALGRIND_MEMCHECK_H
#define RH_BENCH_NOVALGRIND_MEMCHECK_H

#include_next <valgrind/memcheck.h>

#undef RUNNING_ON_VALGRIND
#undef VALGRIND_CREATE_MEMPOOL
#undef VALGRIND_DESTROY_MEMPOOL
#undef VALGRIND_MEMPOOL_ALLOC
#undef VALGRIND_MEMPOOL_FREE
#undef VALGRIND_MAKE_MEM_NOACCESS
#undef VALGRIND_MAKE_MEM_UNDEFINED
#undef VALGRIND_MAKE_MEM_DEFINED
#undef VALGRIND_MALLOCLIKE_BLOCK
#undef VALGRIND_FREELIKE_BLOCK
#undef VALGRIND_RESIZEINPLACE_BLOCK

#define RUNNING_ON_VALGRIND 0
#define VALGRIND_CREATE_MEMPOOL(a, r, z) ((void)0)
#define VALGRIND_DESTROY_MEMPOOL(a) ((void)0)
#define VALGRIND_MEMPOOL_ALLOC(a, p, n) ((void)0)
#define VALGRIND_MEMPOOL_FREE(a, p) ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(p, n) ((void)0)
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#define VALGRIND_MALLOCLIKE_BLOCK(p, n, rz, z) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(p, rz) ((void)0)
#define VALGRIND_RESIZEINPLACE_BLOCK(p, o, n, rz) ((void)0)

#endif
