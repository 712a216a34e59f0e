/*
 * bench_alloc.c — workload 1: the allocator alone, single thread.
 *
 * One source, one executable per allocator (the CMake file compiles it once
 * per BA_* macro). Separate executables are the sound way to compare
 * allocators that all want to be `malloc`: Debian's jemalloc and tcmalloc
 * export plain malloc/free, and libmimalloc.so exports malloc too, so two of
 * them in one process would interpose on each other. Each process also gives
 * its own peak RSS (VmHWM).
 *
 *   a   alloc and free one 32-byte block, repeated `iters` times.
 *       ns/op = time / iters (one op = one malloc + one free).
 *   b   allocate `n` blocks of uniformly random sizes 8..512, free them in a
 *       random order; `rounds` rounds, each with its own sizes and order.
 *       ns/op = time / (2 n rounds) (malloc and free each count as one op).
 *   c   churn: fill `n` live blocks with sizes drawn from the Python-like set
 *       {16,32,48,64,96,128,256,512}, then `steps` steps, each freeing a
 *       random live block and allocating a new one of a random size in its
 *       place. ns/op = time / steps (one op = one free + one malloc). The
 *       initial fill is not timed.
 *
 * Same sequence for every allocator: sizes and indices come from
 * bench_common.h's splitmix64 with the suite's fixed seed, generated into
 * mmap'd harness arrays before the timed loops (workload c generates them in
 * chunks of CHURN_CHUNK steps, each outside the timed region). Every block
 * gets its first byte written, as a real program would touch its memory; a
 * volatile sink keeps the compiler from deleting malloc/free pairs.
 *
 * Output: one JSON line per workload with ns_per_op, the process's RSS just
 * before the workload, its peak RSS afterwards, and which shared object
 * provides `malloc` in this process (a check that the interposition worked).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#if defined(BA_MIMALLOC)
#include <mimalloc.h>
#define BA_MALLOC(n) mi_malloc(n)
#define BA_FREE(p) mi_free(p)
#define BA_INIT() ((void)0)
#elif defined(BA_PYMALLOC)
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define BA_MALLOC(n) PyMem_Malloc(n)
#define BA_FREE(p) PyMem_Free(p)
/* PyMem_Malloc needs an initialised interpreter and the GIL, which the main
 * thread holds after Py_InitializeEx. 0: no signal handlers. */
#define BA_INIT() Py_InitializeEx(0)
#elif defined(BA_BOEHM)
#include <gc.h>
/* Boehm GC as an explicit allocator: collection disabled (the block pointers
 * live in harness memory the collector does not scan), GC_FREE to free. */
#define BA_MALLOC(n) GC_MALLOC(n)
#define BA_FREE(p) GC_FREE(p)
#define BA_INIT() do { GC_INIT(); GC_disable(); } while (0)
#elif defined(BA_REFHEAP)
#include "refheap.h"
static rh_heap *ba_heap;
static int ba_trace = -1; /* --trace N: allocation tracing with N frames (0: the site only) */
#define BA_MALLOC(n) rh_malloc(ba_heap, (n))
#define BA_FREE(p) rh_free(ba_heap, (p))
static void ba_refheap_init(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    ba_heap = rh_heap_new(&cfg);
    if (!ba_heap || (ba_trace >= 0 && rh_trace_start(ba_heap, ba_trace) != 0)) {
        fprintf(stderr, "rh_heap_new / rh_trace_start failed\n");
        exit(3);
    }
}
#define BA_INIT() ba_refheap_init()
#else /* glibc, jemalloc, tcmalloc: the system malloc of this executable */
#define BA_MALLOC(n) malloc(n)
#define BA_FREE(p) free(p)
#define BA_INIT() ((void)0)
#endif

#ifndef BA_NAME
#error "BA_NAME must name the allocator"
#endif

/* Steps of workload c generated per chunk: 1 Mi steps = 5 MiB of harness
 * arrays, large enough that the untimed generation between chunks is rare,
 * small enough not to dominate RSS. */
#define CHURN_CHUNK ((size_t)1 << 20)
/* Workload b's sizes: uniform over [B_MIN, B_MAX]. */
#define B_MIN 8u
#define B_MAX 512u

static const uint16_t churn_sizes[8] = {16, 32, 48, 64, 96, 128, 256, 512};

static void *volatile sink;

static const char *malloc_provider(void) {
    Dl_info info;
    void *(*fn)(size_t) = malloc;
    if (dladdr((void *)(uintptr_t)fn, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        return slash ? slash + 1 : info.dli_fname;
    }
    return "?";
}

static void emit(const char *workload, double ns_per_op, size_t rss0, uint64_t ops) {
    int trace = -1;
    size_t trace_bytes = 0, traced = 0;
#if defined(BA_REFHEAP)
    trace = ba_trace;
    if (trace >= 0) {
        trace_bytes = rh_trace_get_memory(ba_heap);
        traced = rh_trace_count(ba_heap);
    }
#endif
    bench_emit("alloc", "\"allocator\": \"%s\", \"workload\": \"%s\", \"ns_per_op\": %.4f, "
               "\"ops\": %llu, \"rss_before\": %zu, \"peak_rss\": %zu, \"malloc_from\": \"%s\", "
               "\"trace_frames\": %d, \"trace_bytes\": %zu, \"traced_blocks\": %zu",
               BA_NAME, workload, ns_per_op, (unsigned long long)ops, rss0, bench_peak_rss(),
               malloc_provider(), trace, trace_bytes, traced);
}

static void work_a(uint64_t iters) {
    size_t rss0 = bench_rss();
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        char *p = BA_MALLOC(32);
        p[0] = (char)i;
        sink = p;
        BA_FREE(p);
    }
    uint64_t t = bench_now_ns() - t0;
    emit("a", (double)t / (double)iters, rss0, iters);
}

static void work_b(size_t n, unsigned rounds) {
    bench_rng rng = {BENCH_SEED};
    uint16_t *sizes = bench_map(n * sizeof *sizes);
    uint32_t *order = bench_map(n * sizeof *order);
    void **blocks = bench_map(n * sizeof *blocks);
    size_t rss0 = bench_rss();
    uint64_t total = 0;
    for (unsigned r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            sizes[i] = (uint16_t)(B_MIN + bench_rng_below(&rng, B_MAX - B_MIN + 1));
            order[i] = (uint32_t)i;
        }
        for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = bench_rng_below(&rng, (uint32_t)(i + 1));
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++) {
            char *p = BA_MALLOC(sizes[i]);
            p[0] = (char)i;
            blocks[i] = p;
        }
        for (size_t i = 0; i < n; i++) BA_FREE(blocks[order[i]]);
        total += bench_now_ns() - t0;
    }
    uint64_t ops = 2u * (uint64_t)n * rounds;
    emit("b", (double)total / (double)ops, rss0, ops);
}

static void work_c(size_t n, uint64_t steps) {
    bench_rng rng = {BENCH_SEED ^ 0xC};
    void **blocks = bench_map(n * sizeof *blocks);
    uint32_t *idx = bench_map(CHURN_CHUNK * sizeof *idx);
    uint8_t *cls = bench_map(CHURN_CHUNK * sizeof *cls);
    size_t rss0 = bench_rss();
    for (size_t i = 0; i < n; i++) {
        char *p = BA_MALLOC(churn_sizes[bench_rng_below(&rng, 8)]);
        p[0] = (char)i;
        blocks[i] = p;
    }
    uint64_t total = 0, done = 0;
    while (done < steps) {
        size_t m = (steps - done) < CHURN_CHUNK ? (size_t)(steps - done) : CHURN_CHUNK;
        for (size_t i = 0; i < m; i++) {
            idx[i] = bench_rng_below(&rng, (uint32_t)n);
            cls[i] = (uint8_t)bench_rng_below(&rng, 8);
        }
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < m; i++) {
            uint32_t k = idx[i];
            BA_FREE(blocks[k]);
            char *p = BA_MALLOC(churn_sizes[cls[i]]);
            p[0] = (char)i;
            blocks[k] = p;
        }
        total += bench_now_ns() - t0;
        done += m;
    }
    emit("c", (double)total / (double)steps, rss0, steps);
    for (size_t i = 0; i < n; i++) BA_FREE(blocks[i]);
}

static void usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [--trace FRAMES] a ITERS | b NBLOCKS ROUNDS | c NLIVE STEPS\n"
            "  --trace: refheap only, allocation tracing on (FRAMES 0: the site only)\n"
            "  allocator: %s\n", prog, BA_NAME);
    exit(1);
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
#if defined(BA_REFHEAP)
    if (argc >= 3 && strcmp(argv[1], "--trace") == 0) {
        ba_trace = atoi(argv[2]);
        argc -= 2;
        argv += 2;
    }
#endif
    if (argc < 3) usage(argv[0]);
    BA_INIT();
    if (strcmp(argv[1], "a") == 0) {
        work_a(strtoull(argv[2], NULL, 10));
    } else if (strcmp(argv[1], "b") == 0 && argc >= 4) {
        work_b((size_t)strtoull(argv[2], NULL, 10), (unsigned)strtoul(argv[3], NULL, 10));
    } else if (strcmp(argv[1], "c") == 0 && argc >= 4) {
        work_c((size_t)strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
    } else {
        usage(argv[0]);
    }
#if defined(BA_REFHEAP)
    rh_heap_destroy(ba_heap);
#endif
    return 0;
}
