/*
 * bench_common.h — what every benchmark program of refheap shares.
 *
 * The benchmark programs are small, single-purpose executables; bench/run.py
 * builds them, runs each one as its own process (so that peak RSS, read from
 * /proc/self/status VmHWM, belongs to one allocator and one workload), repeats
 * every run and prints the tables. This header gives them:
 *
 *   - a build guard: a benchmark refuses to run unless it was compiled with
 *     optimisation, NDEBUG and no sanitizer (timings of a debug or sanitizer
 *     build say nothing about the library);
 *   - a monotonic clock in nanoseconds;
 *   - one pseudo-random generator (splitmix64, fixed seed) so that every
 *     allocator sees exactly the same sequence of sizes and indices;
 *   - harness memory taken straight from mmap, so the arrays that describe a
 *     workload never go through the allocator under test;
 *   - RSS and peak RSS of the process from /proc/self/status;
 *   - one output format: each result is one line of JSON on stdout, with
 *     a "bench" key naming the measurement. run.py parses nothing else.
 *
 * Everything is static inline: each program is a single translation unit.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(RH_SANITIZE)
#define BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#ifndef BENCH_SANITIZED
#define BENCH_SANITIZED 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RH_BENCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define RH_BENCH_UNUSED __attribute__((unused))
#else
#define RH_BENCH_PRINTF(f, a)
#define RH_BENCH_UNUSED
#endif

/* Refuses to measure a build whose numbers would mislead: no NDEBUG, no
 * optimisation (__OPTIMIZE__ is predefined by gcc and clang from -O1 up),
 * or a sanitizer. BENCH_ALLOW_ANY_BUILD=1 in the environment lets the
 * programs run anyway for a smoke test; results are then marked. */
static inline void bench_check_build(const char *prog) {
    const char *why = NULL;
#if BENCH_SANITIZED
    why = "built with a sanitizer";
#elif !defined(NDEBUG)
    why = "built without NDEBUG (a debug build)";
#elif !defined(__OPTIMIZE__)
    why = "built without optimisation";
#endif
    if (why) {
        const char *allow = getenv("BENCH_ALLOW_ANY_BUILD");
        if (allow && strcmp(allow, "1") == 0) {
            fprintf(stderr, "%s: WARNING: %s; figures are meaningless\n", prog, why);
            return;
        }
        fprintf(stderr, "%s: refusing to run: %s. Use bench/run.py, which makes a Release build.\n",
                prog, why);
        exit(2);
    }
}

static inline uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, passes BigCrush,
 * and is trivially reproducible in Python for the scripts that need the same
 * sequence. */
typedef struct bench_rng {
    uint64_t s;
} bench_rng;

/* The one seed of the suite: every program starts its sequences from it. */
#define BENCH_SEED UINT64_C(0x5EED0F4EF4EA9001)

static inline uint64_t bench_rng_next(bench_rng *r) {
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, n) by Lemire's multiply-shift; the tiny bias for n far below
 * 2^32 is irrelevant here and identical for every allocator. */
static inline uint32_t bench_rng_below(bench_rng *r, uint32_t n) {
    return (uint32_t)(((bench_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Harness memory: anonymous mappings, invisible to the allocator under test.
 * Aborts on failure (a benchmark without its arrays cannot continue). */
static inline void *bench_map(size_t bytes) {
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "bench: mmap of %zu bytes failed: %s\n", bytes, strerror(errno));
        exit(3);
    }
    return p;
}

static inline void bench_unmap(void *p, size_t bytes) {
    if (p) munmap(p, bytes ? bytes : 1);
}

/* Value in bytes of one "VmXXX:   1234 kB" line of /proc/self/status, 0 if absent. */
static inline size_t bench_status_bytes(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t klen = strlen(key), kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = (size_t)strtoull(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb * 1024u;
}

static inline size_t bench_rss(void) { return bench_status_bytes("VmRSS"); }
static inline size_t bench_peak_rss(void) { return bench_status_bytes("VmHWM"); }

static RH_BENCH_UNUSED int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Summary of a list of pause durations in nanoseconds: count, max, p99
 * (nearest-rank) and total. Sorts the array in place. */
typedef struct bench_pauses {
    size_t count;
    double max_ns, p99_ns, total_ns;
} bench_pauses;

static inline bench_pauses bench_pause_summary(double *ns, size_t n) {
    bench_pauses s = {n, 0, 0, 0};
    if (n == 0) return s;
    qsort(ns, n, sizeof *ns, bench_cmp_double);
    for (size_t i = 0; i < n; i++) s.total_ns += ns[i];
    s.max_ns = ns[n - 1];
    size_t rank = (size_t)((99 * n + 99) / 100); /* ceil(0.99 n), 1-based */
    s.p99_ns = ns[rank - 1];
    return s;
}

/* A growable array of pause durations kept in harness memory, filled from
 * collector callbacks (which must not allocate through the heap under test). */
typedef struct bench_pause_log {
    double *ns;
    size_t n, cap;
} bench_pause_log;

static inline void bench_pause_push(bench_pause_log *log, double ns) {
    if (log->n == log->cap) {
        size_t ncap = log->cap ? log->cap * 2 : 4096;
        double *p = bench_map(ncap * sizeof *p);
        if (log->n) memcpy(p, log->ns, log->n * sizeof *p);
        bench_unmap(log->ns, log->cap * sizeof *p);
        log->ns = p;
        log->cap = ncap;
    }
    log->ns[log->n++] = ns;
}

/* The pause timeline, for bench/run.py's charts. When the environment
 * variable BENCH_PAUSE_LOG names a file, bench_timeline_open creates it and
 * every pause handed to bench_timeline_add becomes one CSV line
 *     start_ns,ns,cpu_ns,user_ns,kind,preempted,blocked,work
 * where start_ns is when the pause began (the clock read in the hook, which
 * runs right after the pause, minus its length) counted from the last
 * bench_timeline_start; preempted and blocked are the pause hook's context
 * switches (either above 0: the wall time includes time the thread did not
 * run), and work the incremental policy's units of work done in the pause
 * (rh_gc_incr_stats.work, read in the hook: a struct copy), so that a pause
 * much longer than its work costs elsewhere (the machine took the CPU, or a
 * step stalled) tells itself from one that did more work. Lines go out through stdio's buffer, not into
 * memory, so recording a timeline does not grow the process's peak RSS; it
 * costs one formatted line per pause, outside the measured pauses. Without
 * the variable every function here does nothing. */
static FILE *bench_timeline RH_BENCH_UNUSED;
static uint64_t bench_timeline_t0 RH_BENCH_UNUSED;

static RH_BENCH_UNUSED void bench_timeline_open(void) {
    const char *path = getenv("BENCH_PAUSE_LOG");
    if (!path || !*path) return;
    bench_timeline = fopen(path, "w");
    if (!bench_timeline) {
        fprintf(stderr, "bench: cannot write the pause timeline %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fputs("start_ns,ns,cpu_ns,user_ns,kind,preempted,blocked,work\n", bench_timeline);
    bench_timeline_t0 = bench_now_ns();
}

static RH_BENCH_UNUSED void bench_timeline_start(void) { bench_timeline_t0 = bench_now_ns(); }

static RH_BENCH_UNUSED void bench_timeline_add(uint64_t ns, uint64_t cpu_ns, uint64_t user_ns, int kind,
                                                unsigned preempted, unsigned blocked, uint64_t work) {
    if (!bench_timeline) return;
    uint64_t end = bench_now_ns() - bench_timeline_t0;
    fprintf(bench_timeline, "%llu,%llu,%llu,%llu,%d,%u,%u,%llu\n", (unsigned long long)(end > ns ? end - ns : 0),
            (unsigned long long)ns, (unsigned long long)cpu_ns, (unsigned long long)user_ns, kind, preempted,
            blocked, (unsigned long long)work);
}

static RH_BENCH_UNUSED void bench_timeline_close(void) {
    if (!bench_timeline) return;
    if (fclose(bench_timeline) != 0) {
        fprintf(stderr, "bench: writing the pause timeline failed: %s\n", strerror(errno));
        exit(2);
    }
    bench_timeline = NULL;
}

/* One result line: {"bench": name, <fmt expanded>} — fmt holds the remaining
 * JSON members, e.g. "\"ns_per_op\": %.3f". */
static inline void bench_emit(const char *name, const char *fmt, ...) RH_BENCH_PRINTF(2, 3);
static inline void bench_emit(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("{\"bench\": \"%s\", ", name);
    vprintf(fmt, ap);
    printf("}\n");
    fflush(stdout);
    va_end(ap);
}

#endif /* BENCH_COMMON_H */
