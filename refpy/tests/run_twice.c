/*
 * run_twice.c — refpy_run called several times in one process (as the fuzzer
 * does): every run starts from a clean interpreter. Regression test for the
 * weak-reference callback table, whose capacity outlived its storage between
 * runs (found by the fuzzer: a write through a null pointer on the second
 * run that made a weak reference with a callback).
 */
#include "refpy.h"

#include <stdio.h>
#include <string.h>

static const char *prog =
    "import gc, weakref\n"
    "class A:\n"
    "    pass\n"
    "events = []\n"
    "a = A()\n"
    "r = weakref.ref(a, lambda w: events.append('cb'))\n"
    "del a\n"
    "assert events == ['cb'], events\n"
    "b = A()\n"
    "b.self = b\n"
    "del b\n"
    "assert gc.collect() == 1\n";

int main(void) {
    for (int i = 0; i < 3; i++) {
        char *argv[] = {(char *)"run_twice", NULL};
        int st = refpy_run(prog, strlen(prog), "<run_twice>", 1, argv);
        if (st != 0) {
            fprintf(stderr, "run %d: exit status %d\n", i, st);
            return 1;
        }
    }
    printf("3 runs ok\n");
    return 0;
}
