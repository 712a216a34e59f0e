/*
 * main.c — the refpy program: `refpy FILE [ARGS...]` or `refpy < FILE`.
 *
 * Creates the one heap, the built-in namespace and modules, runs the file as
 * module __main__, prints an escaping exception as CPython's traceback (exit
 * status 1), then tears everything down: the module's globals are released
 * (as CPython clears __main__ at exit), and rh_heap_destroy runs the pending
 * weakref.finalize callbacks and frees every object.
 */
#include "ast.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void set_source_text(const char *s);

#ifndef REFPY_NO_MAIN
static char *read_all(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); return NULL; }
            buf = nb;
        }
    }
    buf[n] = 0;
    *len = n;
    return buf;
}
#endif

/* The offset of the first byte that is not valid UTF-8, or -1. */
static long bad_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
        else return (long)i;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return (long)i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return (long)i;
        i += k + 1;
    }
    return -1;
}

extern char *refpy_stack_base;

int refpy_run(const char *src, size_t len, const char *path, int argc, char **argv) {
    char stack_mark;
    refpy_stack_base = &stack_mark;
    if (strlen(src) != len) {
        fprintf(stderr, "SyntaxError: source code cannot contain null bytes\n");
        return 1;
    }
    long bad = bad_utf8((const unsigned char *)src, len);
    if (bad >= 0) {
        char *rp = path && path[0] != '<' ? realpath(path, NULL) : NULL;
        int line = 1;
        for (long i = 0; i < bad; i++) if (src[i] == '\n') line++;
        fprintf(stderr, "SyntaxError: Non-UTF-8 code starting with '\\x%02x' in file %s on line %d, but no encoding declared; "
                "see https://peps.python.org/pep-0263/ for details\n", (unsigned char)src[bad], rp ? rp : path ? path : "<stdin>", line);
        free(rp);
        return 1;
    }
    H = rh_heap_new(NULL);
    if (!H) { fprintf(stderr, "refpy: cannot create the heap\n"); return 2; }
    objects_reset();
    builtins_reset();
    objects_init();
    builtins_init();
    modules_init();
    set_source_text(src);
    O *sysm = import_module(intern("sys"));
    O *av = getattr_s(sysm, "argv");
    for (int i = 1; i < argc; i++) {
        O *s = rh_str(H, argv[i]);
        if (s) { rh_list_append(av, s); rh_decref(s); }
    }
    if (argc <= 1) { O *s = rh_str(H, ""); rh_list_append(av, s); rh_decref(s); }
    rh_decref(av);
    rh_decref(sysm);
    int status = 0;
    /* CPython names the main script by its absolute path */
    char *real = path && path[0] != '<' ? realpath(path, NULL) : NULL;
    O *globals = run_module_source(src, real ? real : path ? path : "<stdin>", "__main__");
    if (py_err_occurred()) {
        if (py_err_matches(py_exc[EX_SystemExit])) {
            O *e = py_err_fetch();
            O *args = getattr_s(e, "args");
            if (args && rh_tuple_size(args) > 0) {
                O *c = rh_tuple_get(args, 0);
                if (py_is_int(c)) status = (int)rh_int_value(c);
                else if (c != rh_None) { O *s = py_str(c); if (s) { fprintf(stderr, "%s\n", rh_str_cstr(s)); rh_decref(s); } status = 1; }
            }
            if (!args) py_err_clear();
            rh_xdecref(args);
            rh_decref(e);
            py_err_clear();
        } else {
            py_err_print();
            status = 1;
        }
    }
    fflush(stdout);
    interp_atexit();
    if (globals) {
        rh_dict_clear(globals);
        rh_decref(globals);
    }
    if (py_err_occurred()) py_err_clear();
    /* CPython collects once more at shutdown, with the classes alive */
    rh_gc_collect(H, 2);
    if (py_err_occurred()) py_err_clear();
    fflush(stdout);
    interp_fini();
    ast_free_all();
    if (py_err_occurred()) py_err_clear();
    rh_heap_destroy(H);
    H = NULL;
    interp_shutting_down = false;
    objects_reset();
    set_source_text(NULL);
    free(real);
    refpy_stack_base = NULL;
    fflush(stdout);
    return status;
}

#ifndef REFPY_NO_MAIN
int main(int argc, char **argv) {
    const char *path = NULL;
    if (argc > 1 && strcmp(argv[1], "-") != 0) path = argv[1];
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: refpy [FILE | -] [ARGS...]\nRuns a subset of Python 3.11 on refheap (see docs/refpy.md).\n");
        return 0;
    }
    FILE *f = path ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "refpy: can't open file '%s': [Errno 2] No such file or directory\n", path);
        return 2;
    }
    size_t len;
    char *src = read_all(f, &len);
    if (path) fclose(f);
    if (!src) { fprintf(stderr, "refpy: out of memory\n"); return 2; }
    int status = refpy_run(src, len, path, argc, argv);
    free(src);
    return status;
}
#endif
