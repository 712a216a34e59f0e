/*
 * rh_test.h — what every refheap test program shares: cmocka, iteration
 * scaling for slow runs (sanitizers, Valgrind), a way to run deliberate
 * misuse in a child process and check what it printed, and a way to run
 * code on a thread with a small stack (the deep-freeing tests).
 */
#ifndef RH_TEST_H
#define RH_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refheap.h"
#include "base/heap.h" /* the heap record: which layout its containers have */

/* Is this run under Valgrind? The CMake registration of the valgrind_* tests
 * sets REFHEAP_TEST_UNDER_VALGRIND=1 in their environment. */
static inline bool rh_test_under_valgrind(void) {
    const char *v = getenv("REFHEAP_TEST_UNDER_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

/* How much to shrink a test's iteration counts: 1 normally, more under the
 * sanitizers (ThreadSanitizer: 20) and much more under Valgrind (which runs ~50x slower). Prefer
 * rh_test_scaled, which never scales a loop down to nothing. */
static inline long rh_test_slowdown(void) {
    if (rh_test_under_valgrind()) return 50;
#if defined(RH_SANITIZE)
    return 4;
#elif defined(RH_TSAN)
    return 20;
#else
    return 1;
#endif
}

/* n / rh_test_slowdown(), but never below `floor` (the smallest count at
 * which the test still tests what it says): `for (i = 0; i < rh_test_scaled(
 * 60000, 2000); i++)`. */
static inline long rh_test_scaled(long n, long floor) {
    long s = n / rh_test_slowdown();
    return s < floor ? floor : s;
}

/* A long from the environment variable `name` (a soak's trial count, a
 * seed), or `dflt` when it is unset or empty. */
static inline long rh_test_env_long(const char *name, long dflt) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* The randomized tests' generator: xorshift64 over *state (never 0), the
 * top bits of the word. Reproducible from the seed on every platform. */
static inline uint32_t rh_test_xorshift(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (uint32_t)(*state >> 11);
}

/* A heap of `policy` in `mode` with automatic collection off, in the layout
 * of containers without list links when `linkless` (docs/linkless.md: the
 * incremental policy's layout, unless REFHEAP_LINKLESS=0 is set at the
 * heap's creation; the variable is set to "1" or "0" for the creation and
 * restored afterwards, so that the test's other heaps and its environment
 * are unaffected). */
static inline rh_heap *rh_test_heap_new(rh_mode mode, rh_gc_policy policy, bool linkless) {
    const char *was = getenv("REFHEAP_LINKLESS");
    char saved[8] = "";
    if (was) snprintf(saved, sizeof saved, "%s", was);
    setenv("REFHEAP_LINKLESS", linkless ? "1" : "0", 1);
    rh_heap_config cfg = {.mode = mode, .gc_policy = policy};
    rh_heap *h = rh_heap_new(&cfg);
    if (was) setenv("REFHEAP_LINKLESS", saved, 1);
    else unsetenv("REFHEAP_LINKLESS");
    assert_non_null(h);
    rh_gc_disable(h);
    return h;
}

/* Bytes of the collector's record in front of each container of heap h:
 * 16 (rh__gchead, two links: CPython 3.11's PyGC_Head, which its
 * sys.getsizeof counts) in the linked layout, 0 in the layout without links
 * (docs/linkless.md: an incremental-policy heap, unless REFHEAP_LINKLESS=0
 * at its creation). A figure of CPython's that counts the record is, on h,
 * that figure - 16 + rh_test_gc_record(h). */
static inline size_t rh_test_gc_record(const rh_heap *h) {
    return h->gc.linkless ? 0 : sizeof(rh__gchead);
}

/* A figure n of CPython 3.11's sys.getsizeof for a container (which counts
 * its 16-byte GC header), as rh_sizeof gives it for a container of heap h:
 * n itself on the linked layout, n - 16 on the layout without links. */
static inline size_t rh_test_cpython_size(const rh_heap *h, size_t n) {
    return n - sizeof(rh__gchead) + rh_test_gc_record(h);
}

/* The collector's own blocks in heap h, which its statistics count beside
 * the program's: the layout without links keeps its young generation in an
 * array, whose first RH__YOUNG_FIRST entries live in the heap record (no
 * block) and which beyond them is a raw block of the heap, grown by
 * doubling and kept across young collections; the linked layout has none.
 * A test counting the program's blocks or bytes subtracts these, so that
 * it does not depend on when the array grows. */
static inline size_t rh_test_gc_own_blocks(const rh_heap *h) {
    return h->gc.linkless && h->gc.young && h->gc.young != h->gc.young_first ? 1 : 0;
}

/* ... and their bytes, as requested (the array's capacity times a
 * pointer: a size of its own class, so bytes_in_use counts it alike outside
 * debug mode, whose headers and guards it does not count). */
static inline size_t rh_test_gc_own_bytes(const rh_heap *h) {
    return rh_test_gc_own_blocks(h) ? h->gc.capyoung * sizeof *h->gc.young : 0;
}

/* Runs fn(arg) on a new thread whose stack is `stack_bytes` and waits for
 * it. The deep-freeing tests drop a deeply nested structure there: if
 * freeing recursed once per level the thread would overflow its stack. */
static inline void rh_run_on_small_stack(void *(*fn)(void *), void *arg, size_t stack_bytes) {
    pthread_attr_t attr;
    pthread_t t;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, stack_bytes), 0);
    assert_int_equal(pthread_create(&t, &attr, fn, arg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

/* A thread body for rh_run_on_small_stack: drops the reference `arg`. */
static inline void *rh_test_decref_job(void *arg) {
    rh_decref((rh_object *)arg);
    return NULL;
}

/* Asserts that rh_repr(o) is exactly the printf-formatted text that follows
 * (reprs holding addresses are built with %p). */
#define rh_assert_repr(o, ...)                                                  \
    do {                                                                        \
        char rh_got_[512], rh_want_[512];                                       \
        assert_true(rh_repr((o), rh_got_, sizeof rh_got_) >= 0);                \
        snprintf(rh_want_, sizeof rh_want_, __VA_ARGS__);                       \
        assert_string_equal(rh_got_, rh_want_);                                 \
    } while (0)

/* Out of memory at each allocation of a scenario, in turn. scenario(h)
 * makes and releases its objects and returns 0 on success or -1 at its first
 * failure (anything else is a wrong result and fails the test). For n = 1,
 * 2, ... the n-th allocation of a run fails: a failed run must leave
 * RH_ENOMEM as the error and, if check_bytes, the heap's bytes_in_use as it
 * was before the loop. The loop ends at the first run that succeeds, which
 * must come before n reaches max_n. Returns how many runs failed (the caller
 * asserts it is at least the number of allocations the scenario makes). */
static inline int rh_test_oom_each_allocation(rh_heap *h, int (*scenario)(rh_heap *h), long max_n,
                                              bool check_bytes) {
    rh_heap_stats base, now;
    rh_heap_stats_get(h, &base);
    int failures = 0;
    for (long n = 1;; n++) {
        assert_true(n < max_n); /* the scenario must succeed at last */
        rh_heap_fail_after(h, n, false);
        int rc = scenario(h);
        rh_heap_fail_after(h, 0, false);
        if (rc != 0 && rc != -1) fail_msg("scenario returned %d with allocation %ld failing", rc, n);
        if (rc < 0) {
            failures++;
            assert_int_equal(rh_err(h), RH_ENOMEM);
            rh_err_clear(h);
        }
        rh_heap_stats_get(h, &now);
        if (check_bytes) assert_int_equal(now.bytes_in_use, base.bytes_in_use);
        if (rc == 0) break;
    }
    return failures;
}

/* The process's virtual memory size in bytes (VmSize of /proc/self/status;
 * 0 when unreadable): the tests that cap the address space (RLIMIT_AS) in a
 * child process cap it just above this. */
static inline size_t rh_test_vm_size(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0) kb = (size_t)strtoull(line + 7, NULL, 10);
    if (f) fclose(f);
    return kb * 1024;
}

/* Result of running fn in a child process. */
typedef struct rh_child {
    int exited;      /* 1 if it exited normally */
    int status;      /* exit status, or the signal that killed it */
    char err[8192];  /* what it wrote to stderr (truncated) */
} rh_child;

/* Runs fn(arg) in a forked child with stderr captured. The child exits 0 if
 * fn returns. */
static inline void rh_run_child(void (*fn)(void *), void *arg, rh_child *out) {
    int fds[2];
    memset(out, 0, sizeof *out);
    if (pipe(fds) != 0) { fail_msg("pipe failed"); return; }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        /* sanitizers would otherwise turn an expected abort into their own report */
        signal(SIGABRT, SIG_DFL);
        fn(arg);
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out->err + n, sizeof out->err - 1 - n)) > 0) {
        n += (size_t)r;
        if (n >= sizeof out->err - 1) break;
    }
    out->err[n] = '\0';
    /* drain anything beyond the buffer so the child never blocks */
    char sink[4096];
    while (read(fds[0], sink, sizeof sink) > 0) {}
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st)) { out->exited = 1; out->status = WEXITSTATUS(st); }
    else if (WIFSIGNALED(st)) { out->exited = 0; out->status = WTERMSIG(st); }
}

/* Asserts that the child died (abort or nonzero exit) and said `needle`. */
#define rh_assert_child_died_saying(child, needle)                              \
    do {                                                                        \
        if ((child)->exited && (child)->status == 0)                            \
            fail_msg("child survived; stderr was:\n%s", (child)->err);          \
        if (!strstr((child)->err, (needle)))                                    \
            fail_msg("expected \"%s\" in child's stderr:\n%s", (needle), (child)->err); \
    } while (0)

#endif
