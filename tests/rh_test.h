/*
 * rh_test.h — what every refheap test program shares: cmocka, and a way to
 * run deliberate misuse in a child process and check what it printed.
 */
#ifndef RH_TEST_H
#define RH_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refheap.h"

/* How much to shrink a test's iteration counts: 1 normally, more under the
 * sanitizers and much more under Valgrind (which runs ~50x slower). Use it as
 * `for (i = 0; i < 1000000 / rh_test_slowdown(); i++)`. */
static inline long rh_test_slowdown(void) {
    if (getenv("REFHEAP_TEST_UNDER_VALGRIND")) return 50;
#if defined(RH_SANITIZE)
    return 4;
#else
    return 1;
#endif
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
