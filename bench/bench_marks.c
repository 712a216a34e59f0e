/*
 * bench_marks.c — the allocator's mark bit per block (src/memory/marks.h),
 * for instruction counts under callgrind. Not timed: run it at two sizes
 * and divide the difference of the counts by the difference of the sizes
 * (bench/callgrind.py's method), then subtract the "none" figure (the
 * loop alone) to get what one operation costs in line:
 *
 *   bench_marks OP N     OP = none | set | clear | test | walk
 *
 * A pools-mode heap holds BLOCKS live 32-byte blocks (two pools of one
 * class: the plane's words stay in cache, as the pool headers do on the
 * object path); step i applies OP to block i % BLOCKS. walk: every block
 * is marked, and step i is one step of a walk of the heap's marked blocks
 * (rh__mark_walk_next), a walk closed and a new one opened whenever one
 * ends: a step's cost in a dense plane (32 marked blocks a word), the
 * walk's scan of its arena's 1024 words shared by its BLOCKS steps.
 * White box: the in-line functions are the allocator's internal API.
 * Output: one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "memory/marks.h"

#define BLOCKS 1024

/* As bench_objpath.c's: the compiler must assume p is used and memory
 * changed, so nothing is hoisted out of the loop (the heap's slow word,
 * the radix root are loaded at every step, as at a real call site). */
#if defined(__GNUC__) || defined(__clang__)
#define bench_keep(p) __asm__ volatile("" : : "r"(p) : "memory")
#else
#define bench_keep(p) ((void)(p))
#endif

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s none|set|clear|test|walk N\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    long n = atol(argv[2]);
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    if (!h) return 1;
    static void *b[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) b[i] = rh_malloc(h, 32);
    unsigned long hits = 0;
    if (strcmp(op, "none") == 0) {
        for (long i = 0; i < n; i++) bench_keep(b[i % BLOCKS]);
    } else if (strcmp(op, "set") == 0) {
        for (long i = 0; i < n; i++) {
            void *p = b[i % BLOCKS];
            bench_keep(p);
            rh__block_mark(h, p);
        }
    } else if (strcmp(op, "clear") == 0) {
        for (long i = 0; i < n; i++) {
            void *p = b[i % BLOCKS];
            bench_keep(p);
            rh__block_unmark(h, p);
        }
    } else if (strcmp(op, "test") == 0) {
        for (long i = 0; i < n; i++) {
            void *p = b[i % BLOCKS];
            bench_keep(p);
            hits += rh__block_marked(h, p);
        }
    } else if (strcmp(op, "walk") == 0) {
        for (int i = 0; i < BLOCKS; i++) rh__block_mark(h, b[i]);
        rh__mark_walk w;
        rh__mark_walk_begin(h, &w);
        for (long i = 0; i < n; i++) {
            void *p = rh__mark_walk_next(&w);
            if (!p) {
                rh__mark_walk_end(&w);
                rh__mark_walk_begin(h, &w);
                p = rh__mark_walk_next(&w);
            }
            bench_keep(p);
            hits += p != NULL;
        }
        rh__mark_walk_end(&w);
    } else {
        fprintf(stderr, "bench_marks: unknown op %s\n", op);
        return 2;
    }
    for (int i = 0; i < BLOCKS; i++) {
        rh__block_unmark(h, b[i]);
        rh_free(h, b[i]);
    }
    rh_heap_destroy(h);
    printf("{\"op\": \"%s\", \"n\": %ld, \"hits\": %lu}\n", op, n, hits);
    return 0;
}
