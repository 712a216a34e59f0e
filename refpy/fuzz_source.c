/*
 * fuzz_source.c — libFuzzer harness: arbitrary bytes as a refpy program.
 *
 * Each input runs as a whole program on a fresh heap (refpy_run), with the
 * fuzzing restrictions of refpy_fuzz_mode: no os, _testcapi, tracemalloc or
 * open(), sizes of repeated sequences and byte buffers capped, a budget of
 * statements and iterator steps (a `while True:` ends with a RuntimeError),
 * recursion limited to 200 calls. Anything else is fair game: malformed text
 * must end in a SyntaxError, and any program in a Python exception or a clean
 * exit, never a crash, a hang or a leak (build with ASan/UBSan: the heap is
 * destroyed after every input, so LeakSanitizer sees every byte).
 * Run it with -close_fd_mask=3: the programs' output is not wanted.
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DREFHEAP_FUZZ=ON -DREFHEAP_BENCH=OFF
 *   cmake --build build-fuzz --target refpy_fuzz_source
 *   mkdir -p build-fuzz/refpy-corpus
 *   build-fuzz/refpy/refpy_fuzz_source -close_fd_mask=3 -max_total_time=3600 -max_len=4096 \
 *       build-fuzz/refpy-corpus refpy/tests/lang refpy/tests/snippets examples/python
 * (the first directory receives the inputs found; the others seed it).
 */
#include "refpy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* run with -close_fd_mask=3 to silence the programs' output (libFuzzer
     * keeps its own copy of stderr for its reports) */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    char *src = malloc(size + 1);
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = 0;
    refpy_fuzz_mode = 1;
    refpy_steps_left = 20000;
    char *argv[] = {(char *)"<fuzz>", NULL};
    refpy_run(src, size, "<fuzz>", 1, argv);
    free(src);
    return 0;
}
