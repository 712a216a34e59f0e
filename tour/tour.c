/*
 * tour.c — a guided tour of Python's memory management, performed on refheap.
 *
 * Each scenario repeats one of the articles' examples on Python's memory management in C with refheap,
 * narrates what happens, and collects the figures it measured (reference
 * counts, collect() results, generations, sizes...). When python3 is on the
 * PATH the tour also runs the same scenario as a Python script
 * (examples/python/NN_*.py), reads the figures it prints (lines "= key value"),
 * and shows both side by side. A figure is either EXACT (refheap promises
 * CPython's value: a difference is flagged as a bug) or INFO (a measurement
 * whose value depends on the implementation, such as sizes; the line that
 * explains why is printed beside it).
 *
 * Scenarios 2, 3, 6 and 10 draw the object graph as Graphviz DOT (objects as
 * nodes labelled with type and reference count, references as arrows, garbage
 * in red) and render PNG and SVG when `dot` is installed. Scenario 10 hunts
 * its leak with the library's tools (tracing, snapshots and their diff,
 * objgraph's growth, chain of referrers and retained size) and writes the
 * heap report beside the graphs.
 *
 * When refpy (the Python interpreter built on refheap, refpy/) is found, each
 * scenario's script also runs on refpy, and its output is shown beside
 * CPython's, line by line, with a verdict: the same output (standard output,
 * standard error, exit status, once addresses are normalised and the lines
 * docs/refpy.md lists as known differences are masked) or a difference, which
 * is a bug in refpy. The comparison is refpy/tests/run_compare.py's (--tour):
 * the one that also checks refpy in ctest. A script that refpy cannot run
 * declares it on its first line (`# refpy-expect: MESSAGE`, as the refusal
 * tests do), and the tour says so with that message.
 *
 * The files the tour needs are looked for in a few places each (see "Finding
 * the tour's files"), so the tour runs from its build tree, from a moved
 * build tree, and with refpy installed on the PATH.
 *
 *   tour [--list] [--scenario N] [--quiet] [--no-python] [--graphs DIR]
 *        [--refpy PATH | --no-refpy] [--require-refpy]
 */
#include "refheap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RH_SOURCE_DIR
#define RH_SOURCE_DIR "."
#endif
#ifndef RH_REFPY_PATH
#define RH_REFPY_PATH ""
#endif

/* ---------------------------------------------------------------------------
 * Output and figures
 * ------------------------------------------------------------------------- */

enum { EXACT = 0, INFO = 1 };
#define MAX_FIGS 24

typedef struct figure {
    const char *key;
    char ours[96];
    int kind;
    const char *why; /* for INFO figures: why the two may differ */
} figure;

typedef struct tour {
    bool quiet;
    bool python;
    const char *graphs;      /* directory for DOT/PNG/SVG */
    figure figs[MAX_FIGS];
    int nfigs;
    int mismatches;          /* EXACT figures that differ from CPython */
    int compared;
    char src[1024];          /* the source tree: examples/python/, refpy/tests/run_compare.py */
    char refpy[1024];        /* the refpy program, or "" */
    const char *no_refpy;    /* why refpy is not run beside CPython (refpy[0] == '\0') */
    int refpy_run;           /* scenarios run on refpy and CPython */
    int refpy_same;          /* ... with the same output */
    int refpy_refused;       /* scenarios refpy cannot run (declared by their script) */
} tour;

static tour T;

/* Narration: suppressed by --quiet. */
static void say(const char *fmt, ...) RH_PRINTF(1, 2);
static void say(const char *fmt, ...) {
    if (T.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static void fig(const char *key, int kind, const char *why, const char *fmt, ...) RH_PRINTF(4, 5);
static void fig(const char *key, int kind, const char *why, const char *fmt, ...) {
    if (T.nfigs == MAX_FIGS) return;
    figure *f = &T.figs[T.nfigs++];
    f->key = key;
    f->kind = kind;
    f->why = why;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->ours, sizeof f->ours, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------
 * Finding the tour's files
 *
 * The scripts (examples/python/) and the comparison (refpy/tests/run_compare.py)
 * live in the source tree; refpy is a program of the build tree, or installed.
 * Each is looked for in a list of places, first match wins: the place the
 * build recorded (compiled in), then places relative to this program's own
 * location (/proc/self/exe: the tour is tour/tour in its build tree, beside
 * refpy/refpy, and the build tree usually sits inside the source tree), then,
 * for refpy, the PATH (an installed refpy: `cmake --install` puts it in bin/).
 * ------------------------------------------------------------------------- */

/* The directory this program is in, or "." when the system does not say. */
static const char *self_dir(void) {
    static char dir[1024];
    if (dir[0]) return dir;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) return strcpy(dir, ".");
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = '\0';
    else strcpy(dir, slash ? "/" : ".");
    return dir;
}

/* Copies into buf the first of the `nplaces` places (NULL and "" entries skipped) where `probe`
 * (relative to the place, or "" for the place itself) is a file that passes access(mode). */
static bool find_place(char *buf, size_t cap, const char *const *places, int nplaces, const char *probe,
                       int mode) {
    for (int i = 0; i < nplaces; i++) {
        if (!places[i] || !places[i][0]) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s%s%s", places[i], probe[0] ? "/" : "", probe);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, mode) == 0) {
            snprintf(buf, cap, "%s", places[i]);
            return true;
        }
    }
    return false;
}

static void find_source(void) {
    char up2[1200];
    snprintf(up2, sizeof up2, "%s/../..", self_dir());
    const char *places[] = {RH_SOURCE_DIR, up2, "."};
    if (!find_place(T.src, sizeof T.src, places, 3, "examples/python/01_refcount.py", R_OK))
        snprintf(T.src, sizeof T.src, "%s", RH_SOURCE_DIR);
}

/* refpy: --refpy PATH when given (`given`), else the build's, else beside the tour in a build tree or
 * an installation, else on the PATH. */
static void find_refpy(const char *given) {
    if (given) {
        if (access(given, X_OK) == 0) snprintf(T.refpy, sizeof T.refpy, "%s", given);
        else T.no_refpy = "the program given with --refpy cannot be run";
        return;
    }
    char build[1200], beside[1200];
    snprintf(build, sizeof build, "%s/../refpy/refpy", self_dir());
    snprintf(beside, sizeof beside, "%s/refpy", self_dir());
    const char *places[] = {RH_REFPY_PATH, build, beside};
    if (find_place(T.refpy, sizeof T.refpy, places, 3, "", X_OK)) return;
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        char dir[1024];
        snprintf(dir, sizeof dir, "%.*s/refpy", (int)(len < 1000 ? len : 1000), path);
        const char *one[] = {len ? dir : NULL};
        if (find_place(T.refpy, sizeof T.refpy, one, 1, "", X_OK)) return;
        path += len + (path[len] == ':');
    }
    T.no_refpy = "refpy not found: build it with -DREFHEAP_REFPY=ON, or put it on the PATH";
}

/* ---------------------------------------------------------------------------
 * The scenario's script on CPython, and on refpy beside it
 * ------------------------------------------------------------------------- */

/* One line of each output, aligned (run_compare.py --tour): mark '=' identical, 'a' the same but for
 * an address, 'k' masked as a known difference (why), '!' different. */
typedef struct outrow {
    char mark;
    bool err; /* standard error */
    char c[200], r[200], why[32];
} outrow;

#define MAX_ROWS 48

typedef struct pyrun {
    bool ran;                  /* CPython ran the script to the end (exit 0) */
    bool refpy;                /* refpy ran beside it (fields below) */
    char refused[200];         /* the script says refpy cannot run it: why */
    bool same;                 /* refpy's output is CPython's */
    outrow rows[MAX_ROWS];
    int nrows, more_rows;
    char diff[24][200];
    int ndiff;
    char theirs[MAX_FIGS][96]; /* CPython's figures */
    char refpys[MAX_FIGS][96]; /* refpy's figures */
    char rmark[MAX_FIGS];      /* the mark of the line of refpy's figure */
    char rwhy[MAX_FIGS][32];   /* and its known difference, for mark 'k' */
} pyrun;

static pyrun R;

/* Copies src into dst (cap bytes), cut if longer. */
static void copy_cut(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A line "= key value": the value goes to the figure named key. */
static void take_figure(const char *line, char vals[MAX_FIGS][96], char *marks, char mark, const char *why) {
    if (line[0] != '=' || line[1] != ' ') return;
    const char *key = line + 2;
    const char *val = strchr(key, ' ');
    if (!val) return;
    for (int i = 0; i < T.nfigs; i++)
        if (strlen(T.figs[i].key) == (size_t)(val - key) && strncmp(T.figs[i].key, key, (size_t)(val - key)) == 0) {
            snprintf(vals[i], 96, "%s", val + 1);
            if (marks) {
                marks[i] = mark;
                copy_cut(R.rwhy[i], sizeof R.rwhy[i], why);
            }
        }
}

/* The script on CPython alone: its figures. */
static void run_python(const char *script) {
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "python3 '%s/examples/python/%s' 2>/dev/null", T.src, script);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        take_figure(line, R.theirs, NULL, 0, "");
    }
    R.ran = pclose(p) == 0;
}

/* Splits s at the next tab: returns the field, s moves past it. */
static char *field(char **s) {
    char *f = *s, *tab = strchr(f, '\t');
    if (tab) {
        *tab = '\0';
        *s = tab + 1;
    } else {
        *s = f + strlen(f);
    }
    return f;
}

/* The script on CPython and on refpy, compared by run_compare.py --tour (the format is in its
 * tour_report). */
static void run_python_and_refpy(const char *script) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "python3 '%s/refpy/tests/run_compare.py' --refpy '%s' --tour '%s/examples/python/%s'",
             T.src, T.refpy, T.src, script);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[1024];
    bool verdict = false;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "refused ", 8) == 0) {
            copy_cut(R.refused, sizeof R.refused, line + 8);
        } else if (strncmp(line, "exit ", 5) == 0) {
            R.ran = strncmp(line + 5, "0 ", 2) == 0;
            R.refpy = true;
        } else if (strncmp(line, "row ", 4) == 0 && strlen(line) > 9) {
            char *rest = line + 4;
            char mark = rest[0];
            bool err = strncmp(rest + 2, "err", 3) == 0;
            rest += 6;
            char *c = field(&rest), *r = field(&rest), *why = field(&rest);
            if (!err) {
                take_figure(c, R.theirs, NULL, 0, "");
                take_figure(r, R.refpys, R.rmark, mark, why);
            }
            if (R.nrows == MAX_ROWS) {
                R.more_rows++;
                continue;
            }
            outrow *o = &R.rows[R.nrows++];
            o->mark = mark;
            o->err = err;
            copy_cut(o->c, sizeof o->c, c);
            copy_cut(o->r, sizeof o->r, r);
            copy_cut(o->why, sizeof o->why, why);
        } else if (strncmp(line, "verdict ", 8) == 0) {
            verdict = true;
            R.same = strcmp(line + 8, "same") == 0;
        } else if (strncmp(line, "diff ", 5) == 0 && R.ndiff < 24) {
            copy_cut(R.diff[R.ndiff++], sizeof R.diff[0], line + 5);
        }
    }
    int status = pclose(p);
    if (R.refused[0]) {
        run_python(script); /* CPython's figures, without refpy */
        return;
    }
    if (status != 0 || !verdict) {
        /* the comparison itself failed: that is a difference too */
        R.refpy = true;
        R.same = false;
        if (R.ndiff == 0)
            snprintf(R.diff[R.ndiff++], sizeof R.diff[0], "refpy/tests/run_compare.py --tour failed (status %d)", status);
    }
}

static void begin(int n, const char *title) {
    T.nfigs = 0;
    printf("\n== %d. %s ==\n", n, title);
}

/* The next piece of s from *at (its start in *from, its length returned), `width` characters at
 * most, cut at a space when it must be cut; *at moves past it and the spaces after it. */
static int piece(const char *s, size_t *at, int width, const char **from) {
    *from = s + *at;
    size_t len = strlen(s), n = len - *at;
    if (n > (size_t)width) {
        n = (size_t)width;
        for (size_t k = n; k > (size_t)width / 2; k--)
            if (s[*at + k] == ' ') {
                n = k;
                break;
            }
    }
    *at += n;
    while (s[*at] == ' ') (*at)++;
    return (int)n;
}

/* The script's own output on CPython 3.11 beside refpy's (the figure lines are in the table). */
static void show_outputs(const char *script) {
    int width = 20;
    for (int i = 0; i < R.nrows; i++) {
        int w = (int)strlen(R.rows[i].c);
        if (w > width) width = w;
    }
    if (width > 56) width = 56;
    bool header = false;
    for (int i = 0; i < R.nrows; i++) {
        outrow *o = &R.rows[i];
        bool figs = !o->err && (o->c[0] == '=' || !o->c[0]) && (o->r[0] == '=' || !o->r[0]);
        if (figs && o->mark != '!') continue;
        if (!header) {
            printf("  The script examples/python/%s prints:\n    %-*s | %s\n", script, width, "on CPython 3.11",
                   "on refpy");
            header = true;
        }
        size_t ac = 0, ar = 0, lc = strlen(o->c), lr = strlen(o->r);
        for (bool first = true; first || ac < lc || ar < lr; first = false) {
            const char *from;
            int n = piece(o->c, &ac, width, &from);
            printf("    %-*.*s | ", width, n, from);
            n = piece(o->r, &ar, width, &from);
            const char *note = !first ? "" : o->mark == '!' ? "  DIFFERENT" : o->mark == 'a' ? "  same but the address"
                               : o->mark == 'k' ? "  known difference: " : "";
            const char *why = first && o->mark == 'k' ? o->why : "", *err = first && o->err ? "  (stderr)" : "";
            bool tail = note[0] || err[0];
            printf("%-*.*s%s%s%s\n", tail ? width : 0, n, from, note, why, err);
        }
    }
    if (R.more_rows) printf("    (%d more lines)\n", R.more_rows);
    if (!header) printf("  The script examples/python/%s prints only the figures above.\n", script);
}

/* The verdict on refpy: same output as CPython, or the difference. */
static void refpy_verdict(const char *script) {
    if (R.refused[0]) {
        T.refpy_refused++;
        printf("  refpy cannot run %s: %s\n", script, R.refused);
        return;
    }
    if (!R.refpy) return;
    T.refpy_run++;
    if (!T.quiet) show_outputs(script);
    if (!R.same) {
        printf("  refpy: output DIFFERENT from CPython 3.11's (a bug in refpy):\n");
        for (int i = 0; i < R.ndiff; i++) printf("    %s\n", R.diff[i]);
        return;
    }
    T.refpy_same++;
    int masked = 0, addrs = 0;
    char whys[128] = "";
    for (int i = 0; i < R.nrows; i++) {
        addrs += R.rows[i].mark == 'a';
        if (R.rows[i].mark != 'k') continue;
        masked++;
        if (!strstr(whys, R.rows[i].why))
            snprintf(whys + strlen(whys), sizeof whys - strlen(whys), "%s%s", whys[0] ? ", " : "", R.rows[i].why);
    }
    printf("  refpy: the same output as CPython 3.11 (stdout, stderr, exit status%s)",
           addrs ? "; addresses normalised" : "");
    if (masked)
        printf(", except %d line%s that differ%s for a known reason (%s: docs/refpy.md)", masked,
               masked == 1 ? "" : "s", masked == 1 ? "s" : "", whys);
    printf("\n");
}

static void end(const char *script) {
    memset(&R, 0, sizeof R);
    if (T.python && T.refpy[0]) run_python_and_refpy(script);
    else if (T.python) run_python(script);
    bool ran = R.ran, refpy = R.refpy && !R.refused[0];
    if (refpy)
        printf("  %-28s %-14s %-14s %-14s\n", "figure", "refheap", ran ? "CPython 3.11" : "", "refpy");
    else
        printf("  %-28s %-14s %-14s\n", "figure", "refheap", ran ? "CPython 3.11" : "");
    for (int i = 0; i < T.nfigs; i++) {
        figure *f = &T.figs[i];
        const char *mark = "";
        if (ran && R.theirs[i][0]) {
            bool same = strcmp(f->ours, R.theirs[i]) == 0;
            if (f->kind == EXACT) {
                T.compared++;
                if (!same) T.mismatches++;
                mark = same ? "same" : "DIFFERENT (bug)";
            } else {
                mark = same ? "same" : f->why;
            }
        }
        const char *theirs = ran ? R.theirs[i] : "";
        if (refpy) {
            const char *note = R.rmark[i] == 'k' ? "refpy: known difference: " : R.rmark[i] == '!' ? "refpy: DIFFERENT" : "";
            printf("  %-28s %-14s %-14s %-14s %s%s%s%s\n", f->key, f->ours, theirs, R.refpys[i], mark,
                   mark[0] && note[0] ? "; " : "", note, R.rmark[i] == 'k' ? R.rwhy[i] : "");
        } else {
            printf("  %-28s %-14s %-14s %s\n", f->key, f->ours, theirs, mark);
        }
    }
    if (!ran && T.python) printf("  (python3 did not run %s)\n", script);
    refpy_verdict(script);
}

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "tour: failed: %s\n", what);
        exit(1);
    }
}

static rh_object *must(rh_object *o, const char *what) {
    check(o != NULL, what);
    return o;
}

/* Counts the lines the collector prints (DEBUG_* flags) and echoes them. */
typedef struct sinkbuf {
    int lines;
    char last[8][160];
} sinkbuf;

static void sink_echo(const char *line, void *data) {
    sinkbuf *b = data;
    if (b->lines < 8) snprintf(b->last[b->lines], sizeof b->last[0], "%s", line);
    b->lines++;
    if (!T.quiet) printf("    | %s\n", line);
}

/* ---------------------------------------------------------------------------
 * Graphs: the objects reachable from a few starting points, as DOT.
 * ------------------------------------------------------------------------- */

typedef struct graph {
    rh_object *nodes[64];
    const char *labels[64];
    bool garbage[64];
    int n;
} graph;

static int graph_find(graph *g, rh_object *o) {
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i] == o) return i;
    return -1;
}

static void graph_add(graph *g, rh_object *o, const char *label, bool garbage) {
    if (g->n < 64 && graph_find(g, o) < 0) {
        g->nodes[g->n] = o;
        g->labels[g->n] = label;
        g->garbage[g->n] = garbage;
        g->n++;
    }
}

/* Is this object worth drawing? Classes, strings and numbers clutter the picture. */
static bool drawable(rh_object *o) {
    return rh_is_instance(o) || rh_is_type(o, &rh_list_type) || rh_is_type(o, &rh_dict_type) ||
           rh_is_type(o, &rh_tuple_type);
}

/* An arrow from node i to object r (added on the fly when it is a container
 * not drawn yet; strings and numbers are left out). */
static void graph_edge(graph *g, FILE *f, int i, rh_object *r, const char *label) {
    int j = graph_find(g, r);
    if (j < 0 && drawable(r) && g->n < 64) {
        graph_add(g, r, NULL, false);
        j = g->n - 1;
        fprintf(f, "  n%d [label=\"%s  refcount %u\"];\n", j, rh_type_name(r), rh_refcount(r));
    }
    if (j >= 0) fprintf(f, "  n%d -> n%d [label=\"%s\", fontname=Helvetica, fontsize=10];\n", i, j, label);
}

static void graph_write(rh_heap *h, graph *g, const char *name, const char *title) {
    if (!T.graphs) return;
    mkdir(T.graphs, 0777);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.dot", T.graphs, name);
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "digraph \"%s\" {\n  label=\"%s\"; labelloc=t; fontname=Helvetica;\n", name, title);
    fprintf(f, "  node [shape=box, style=\"rounded,filled\", fontname=Helvetica, fillcolor=\"#d8ecd8\"];\n");
    for (int i = 0; i < g->n; i++) {
        rh_object *o = g->nodes[i];
        fprintf(f, "  n%d [label=\"%s\\n%s  refcount %u\"%s];\n", i, g->labels[i] ? g->labels[i] : "",
                rh_type_name(o), rh_refcount(o), g->garbage[i] ? ", fillcolor=\"#f4b6b6\"" : "");
    }
    for (int i = 0; i < g->n; i++) {
        /* each reference with its name: an attribute, a list index, a dict key */
        rh_object *o = g->nodes[i];
        rh_object *named = NULL;
        if (rh_is_instance(o)) named = rh_vars(o);
        else if (rh_is_type(o, &rh_dict_type)) named = rh_newref(o);
        if (named) {
            size_t pos = 0;
            rh_object *k, *v;
            while (rh_dict_next(named, &pos, &k, &v)) {
                char key[64] = "?";
                if (rh_is_type(k, &rh_str_type)) snprintf(key, sizeof key, "%s", rh_str_cstr(k));
                graph_edge(g, f, i, v, key);
            }
            rh_decref(named);
        } else if (rh_is_type(o, &rh_list_type)) {
            for (size_t k = 0; k < rh_list_size(o); k++) {
                char idx[32];
                snprintf(idx, sizeof idx, "[%zu]", k);
                graph_edge(g, f, i, rh_list_get(o, (ptrdiff_t)k), idx);
            }
        } else {
            rh_object *list = rh_gc_get_referents(h, &o, 1);
            for (size_t k = 0; list && k < rh_list_size(list); k++)
                graph_edge(g, f, i, rh_list_get(list, (ptrdiff_t)k), "");
            rh_xdecref(list);
        }
    }
    fprintf(f, "}\n");
    fclose(f);
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "command -v dot >/dev/null 2>&1 && dot -Tpng '%s' -o '%s/%s.png' && dot -Tsvg '%s' -o '%s/%s.svg'",
             path, T.graphs, name, path, T.graphs, name);
    int rc = system(cmd);
    say("graph: %s%s", path, rc == 0 ? " (+ .png, .svg)" : " (install graphviz to render it)");
}

/* ---------------------------------------------------------------------------
 * Small helpers for the scenarios
 * ------------------------------------------------------------------------- */

static rh_object *new_class(rh_heap *h, const char *name, const char *const *slots, size_t nslots,
                            rh_class_fn fin, rh_class_fn legacy, void *data) {
    rh_class_spec spec = {.name = name, .slots = slots, .nslots = nslots,
                          .finalizer = fin, .legacy_del = legacy, .data = data};
    return must(rh_class_new(h, &spec), "class");
}

static rh_object *instance_named(rh_object *cls, const char *name) {
    rh_heap *h = rh_heap_of(cls);
    rh_object *o = must(rh_instance_new(cls), "instance");
    if (name) {
        rh_object *s = must(rh_str(h, name), "str");
        check(rh_setattr(o, "name", s) == 0, "setattr name");
        rh_decref(s);
    }
    return o;
}

static void link_attr(rh_object *from, const char *attr, rh_object *to) {
    check(rh_setattr(from, attr, to) == 0, "setattr");
}

static int alive_count(rh_object *const *weakrefs, int n) {
    int alive = 0;
    for (int i = 0; i < n; i++) alive += rh_weakref_alive(weakrefs[i]);
    return alive;
}

static const char *name_of(rh_object *o, char *buf, size_t cap) {
    rh_object *n = rh_getattr(o, "name");
    if (!n) {
        rh_err_clear(rh_heap_of(o));
        snprintf(buf, cap, "?");
    } else {
        snprintf(buf, cap, "%s", rh_str_cstr(n));
        rh_decref(n);
    }
    return buf;
}

static rh_snapshot *must_snap(rh_snapshot *s) {
    check(s != NULL, "snapshot");
    return s;
}

static rh_heap *fresh_heap(void) {
    rh_heap *h = rh_heap_new(NULL);
    check(h != NULL, "heap");
    return h;
}

/* ---------------------------------------------------------------------------
 * 1. Reference counting
 * ------------------------------------------------------------------------- */
static void scenario1(void) {
    begin(1, "Reference counting");
    rh_heap *h = fresh_heap();
    say("Every object carries a reference count. sys.getrefcount(x) shows it plus one:");
    say("the call's own argument is a temporary reference.");
    rh_object *a = must(rh_list_new(h, 0), "list");
    for (int i = 1; i <= 3; i++) rh_list_append(a, rh_int(h, i)); /* small ints are immortal */
    say("a = [1, 2, 3]        refcount %u  -> sys.getrefcount(a) would print %u", rh_refcount(a),
        rh_refcount(a) + 1);
    fig("getrefcount_one_name", EXACT, NULL, "%u", rh_refcount(a) + 1);
    rh_object *b = rh_newref(a);
    say("b = a                refcount %u  -> %u", rh_refcount(a), rh_refcount(a) + 1);
    fig("getrefcount_two_names", EXACT, NULL, "%u", rh_refcount(a) + 1);
    rh_decref(b);
    say("del b                refcount %u  -> %u", rh_refcount(a), rh_refcount(a) + 1);
    fig("getrefcount_after_del", EXACT, NULL, "%u", rh_refcount(a) + 1);
    say("(Article 001 says the last print shows 1: CPython shows 2, as refheap does.)");
    rh_object *one = rh_int(h, 1);
    say("The small int 1 is immortal: its count is %s and never changes.",
        rh_is_immortal(one) ? "RH_IMMORTAL" : "finite");
    rh_decref(a);
    rh_heap_destroy(h);
    end("01_refcount.py");
}

/* ---------------------------------------------------------------------------
 * 2. The circular-reference problem
 * ------------------------------------------------------------------------- */
static void scenario2(void) {
    begin(2, "The circular-reference problem");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    rh_gc_disable(h);
    rh_object *Person = new_class(h, "Person", NULL, 0, NULL, NULL, NULL);
    rh_object *alice = instance_named(Person, "Alice");
    rh_object *bob = instance_named(Person, "Bob");
    link_attr(alice, "friend", bob);
    link_attr(bob, "friend", alice);
    say("alice.friend = bob; bob.friend = alice   (refcounts: alice %u, bob %u)", rh_refcount(alice),
        rh_refcount(bob));
    rh_object *watch[2] = {must(rh_weakref_new(alice, NULL, NULL), "weakref"),
                           must(rh_weakref_new(bob, NULL, NULL), "weakref")};
    rh_decref(alice);
    rh_decref(bob);
    int alive = alive_count(watch, 2);
    say("del alice; del bob: each is still referenced by the other, refcount 1: %d objects alive", alive);
    fig("alive_after_del", EXACT, NULL, "%d", alive);
    graph g = {0};
    graph_add(&g, alice, "alice (name deleted)", true);
    graph_add(&g, bob, "bob (name deleted)", true);
    graph_write(h, &g, "scenario2-person-cycle", "Two Persons who are each other's friend, unreachable");
    say("gc.collect() with DEBUG_COLLECTABLE shows which objects it frees:");
    sinkbuf sb = {0};
    rh_gc_set_sink(h, sink_echo, &sb);
    rh_gc_set_debug(h, RH_GC_DEBUG_COLLECTABLE);
    intptr_t n = rh_gc_collect(h, 2);
    rh_gc_set_debug(h, 0);
    rh_gc_set_sink(h, NULL, NULL);
    say("gc.collect() -> %ld", (long)n);
    fig("collected", EXACT, NULL, "%ld", (long)n);
    fig("alive_after_collect", EXACT, NULL, "%d", alive_count(watch, 2));
    rh_decref(watch[0]);
    rh_decref(watch[1]);
    rh_decref(Person);
    rh_gc_enable(h);
    rh_heap_destroy(h);
    end("02_circular.py");
}

/* ---------------------------------------------------------------------------
 * 3. Roots
 * ------------------------------------------------------------------------- */
static void scenario3(void) {
    begin(3, "Roots: what the program can still reach");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    rh_gc_disable(h);
    rh_object *Node = new_class(h, "Node", NULL, 0, NULL, NULL, NULL);
    rh_object *root = instance_named(Node, "root");
    rh_object *t1 = instance_named(Node, "temp1");
    rh_object *t2 = instance_named(Node, "temp2");
    link_attr(t1, "next", t2);
    link_attr(t2, "next", t1);
    rh_object *w[3] = {rh_weakref_new(root, NULL, NULL), rh_weakref_new(t1, NULL, NULL),
                       rh_weakref_new(t2, NULL, NULL)};
    rh_decref(t1);
    rh_decref(t2);
    say("root is held by a variable; temp1 <-> temp2 form a cycle nobody holds.");
    say("The collector subtracts the references that come from inside the tracked set:");
    say("root keeps 1 external reference (a root); temp1 and temp2 keep 0 and are not reachable from it.");
    graph g = {0};
    graph_add(&g, root, "root (held by a variable)", false);
    graph_add(&g, t1, "temp1", true);
    graph_add(&g, t2, "temp2", true);
    graph_write(h, &g, "scenario3-roots", "A root beside an orphaned cycle");
    intptr_t n = rh_gc_collect(h, 2);
    say("Collected %ld objects", (long)n);
    fig("collected", EXACT, NULL, "%ld", (long)n);
    fig("root_alive", EXACT, NULL, "%d", rh_weakref_alive(w[0]));
    fig("orphans_alive", EXACT, NULL, "%d", alive_count(w + 1, 2));
    for (int i = 0; i < 3; i++) rh_decref(w[i]);
    rh_decref(root);
    rh_decref(Node);
    rh_heap_destroy(h);
    end("03_roots.py");
}

/* ---------------------------------------------------------------------------
 * 4. Watching a collection
 * ------------------------------------------------------------------------- */
static void scenario4(void) {
    begin(4, "Watching a collection");
    rh_heap *h = fresh_heap();
    rh_object *Circ = new_class(h, "CircularRef", NULL, 0, NULL, NULL, NULL);
    rh_gc_collect(h, 2);
    rh_gc_disable(h);
    say("gc.disable(); three pairs of CircularRef objects, each pair in a tuple in a list.");
    rh_object *objects = must(rh_list_new(h, 0), "list");
    rh_object *obj1 = NULL, *obj2 = NULL;
    for (int i = 0; i < 3; i++) {
        char n1[16], n2[16];
        snprintf(n1, sizeof n1, "obj%da", i);
        snprintf(n2, sizeof n2, "obj%db", i);
        rh_xdecref(obj1);
        rh_xdecref(obj2);
        obj1 = instance_named(Circ, n1);
        obj2 = instance_named(Circ, n2);
        link_attr(obj1, "ref", obj2);
        link_attr(obj2, "ref", obj1);
        rh_object *pair = must(rh_tuple_pack(h, 2, obj1, obj2), "tuple");
        rh_list_append(objects, pair);
        rh_decref(pair);
    }
    long c[3];
    rh_gc_get_count(h, c);
    say("Before collection: (%ld, %ld, %ld)", c[0], c[1], c[2]);
    fig("count_before", INFO, "CPython also counts a container of its own", "%ld", c[0]);
    for (size_t i = 0; i < rh_list_size(objects); i++) {
        rh_object *pair = rh_list_get(objects, (ptrdiff_t)i);
        char a[16], b[16];
        say("Breaking reference to CircularRef(%s) and CircularRef(%s)",
            name_of(rh_tuple_get(pair, 0), a, sizeof a), name_of(rh_tuple_get(pair, 1), b, sizeof b));
    }
    rh_list_clear(objects);
    intptr_t n = rh_gc_collect(h, 2);
    say("Collection found %ld objects", (long)n);
    say("Only two pairs: the loop variables obj1 and obj2 still hold the last pair.");
    fig("collected", EXACT, NULL, "%ld", (long)n);
    rh_decref(obj1);
    rh_decref(obj2);
    n = rh_gc_collect(h, 2);
    rh_gc_get_count(h, c);
    say("After del obj1, obj2: collection found %ld objects", (long)n);
    fig("collected_last_pair", EXACT, NULL, "%ld", (long)n);
    fig("count_after", EXACT, NULL, "%ld", c[0]);
    rh_gc_enable(h);
    rh_decref(objects);
    rh_decref(Circ);
    rh_heap_destroy(h);
    end("04_watch.py");
}

/* ---------------------------------------------------------------------------
 * 5. Generations
 * ------------------------------------------------------------------------- */
static int generation_of(rh_heap *h, rh_object *o) {
    for (int g = 0; g < 3; g++) {
        rh_object *objs = rh_gc_get_objects(h, g);
        bool found = false;
        for (size_t i = 0; objs && i < rh_list_size(objs) && !found; i++)
            found = rh_list_get(objs, (ptrdiff_t)i) == o;
        rh_xdecref(objs);
        if (found) return g;
    }
    return -1;
}

static void scenario5(void) {
    begin(5, "Generations");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    rh_gc_disable(h);
    long t[3], c[3];
    rh_gc_get_threshold(h, t);
    say("Thresholds (%ld, %ld, %ld): generation 0 is collected when more than %ld containers were",
        t[0], t[1], t[2], t[0]);
    say("allocated since its last collection; generation 1 after %ld collections of generation 0;", t[1]);
    say("generation 2 after %ld of generation 1 (and when the 25%% rule allows).", t[2]);
    fig("thresholds", EXACT, NULL, "%ld %ld %ld", t[0], t[1], t[2]);
    rh_object *Obj = new_class(h, "Obj", NULL, 0, NULL, NULL, NULL);
    rh_object *o = instance_named(Obj, NULL);
    say("A new object starts in generation %d.", generation_of(h, o));
    fig("gen_new", EXACT, NULL, "%d", generation_of(h, o));
    /* figure keys, as examples/python/05_generations.py prints them */
    static const char *const count_keys[3] = {"count_after_collect0", "count_after_collect1",
                                              "count_after_collect2"};
    static const char *const gen_keys[3] = {"gen_after_collect0", "gen_after_collect1",
                                            "gen_after_collect2"};
    for (int g = 0; g < 3; g++) {
        rh_gc_collect(h, g);
        rh_gc_get_count(h, c);
        fig(count_keys[g], EXACT, NULL, "%ld %ld", c[1], c[2]);
        int now = generation_of(h, o);
        say("It survives gc.collect(%d): now in generation %d; get_count() = (%ld, %ld, %ld)", g, now, c[0],
            c[1], c[2]);
        fig(gen_keys[g], EXACT, NULL, "%d", now);
    }
    say("Most objects die young, by reference counting or in a cheap young collection;");
    say("the few that survive are examined less and less often.");
    rh_decref(o);
    rh_decref(Obj);
    rh_gc_enable(h);
    rh_heap_destroy(h);
    end("05_generations.py");
}

/* ---------------------------------------------------------------------------
 * 6. Finalizers and resurrection
 * ------------------------------------------------------------------------- */
static int del_calls;
static void count_del(rh_object *self, void *data) { del_calls++; }
static void resurrect(rh_object *self, void *data) { rh_list_append((rh_object *)data, self); }
static void legacy_noop(rh_object *self, void *data) { (void)self; }

static void scenario6(void) {
    begin(6, "Finalizers, resurrection, uncollectable cycles");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    rh_gc_disable(h);

    rh_object *WithDel = new_class(h, "WithDel", NULL, 0, count_del, NULL, NULL);
    rh_object *a = instance_named(WithDel, "a"), *b = instance_named(WithDel, "b");
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    rh_decref(a);
    rh_decref(b);
    del_calls = 0;
    intptr_t n = rh_gc_collect(h, 2);
    say("A cycle of two objects with __del__: collect() -> %ld, __del__ ran %d times (once each).", (long)n,
        del_calls);
    fig("del_cycle_collected", EXACT, NULL, "%ld", (long)n);
    fig("del_calls", EXACT, NULL, "%d", del_calls);

    rh_object *survivors = must(rh_list_new(h, 0), "list");
    rh_object *Lazarus = new_class(h, "Lazarus", NULL, 0, resurrect, NULL, survivors);
    rh_object *x = instance_named(Lazarus, NULL), *y = instance_named(Lazarus, NULL);
    link_attr(x, "other", y);
    link_attr(y, "other", x);
    rh_decref(x);
    rh_decref(y);
    n = rh_gc_collect(h, 2);
    say("A pair whose __del__ stores self in a global list: collect() -> %ld; %zu resurrected.", (long)n,
        rh_list_size(survivors));
    fig("resurrect_first_collect", EXACT, NULL, "%ld", (long)n);
    fig("resurrected", EXACT, NULL, "%zu", rh_list_size(survivors));
    rh_list_clear(survivors);
    n = rh_gc_collect(h, 2);
    say("Dropped again: collect() -> %ld, and __del__ does not run a second time.", (long)n);
    fig("resurrect_second_collect", EXACT, NULL, "%ld", (long)n);

    rh_object *Legacy = new_class(h, "Legacy", NULL, 0, NULL, legacy_noop, NULL);
    rh_object *p = instance_named(Legacy, NULL), *q = instance_named(Legacy, NULL);
    link_attr(p, "other", q);
    link_attr(q, "other", p);
    graph g = {0};
    graph_add(&g, p, "p (legacy finalizer)", true);
    graph_add(&g, q, "q (legacy finalizer)", true);
    rh_decref(p);
    rh_decref(q);
    graph_write(h, &g, "scenario6-uncollectable", "A cycle with legacy finalizers: uncollectable");
    say("A cycle whose objects have a legacy finalizer (tp_del) is uncollectable. DEBUG_LEAK says:");
    sinkbuf sb = {0};
    rh_gc_set_sink(h, sink_echo, &sb);
    rh_gc_set_debug(h, RH_GC_DEBUG_LEAK);
    n = rh_gc_collect(h, 2);
    rh_gc_set_debug(h, 0);
    rh_gc_set_sink(h, NULL, NULL);
    rh_object *garbage = rh_gc_garbage(h);
    say("collect() -> %ld; gc.garbage holds %zu objects.", (long)n, rh_list_size(garbage));
    fig("uncollectable_collected", EXACT, NULL, "%ld", (long)n);
    fig("garbage_len", EXACT, NULL, "%zu", rh_list_size(garbage));
    for (size_t i = 0; i < rh_list_size(garbage); i++)
        rh_setattr(rh_list_get(garbage, (ptrdiff_t)i), "other", rh_None);
    rh_list_clear(garbage);
    rh_decref(WithDel);
    rh_decref(Lazarus);
    rh_decref(Legacy);
    rh_decref(survivors);
    rh_gc_enable(h);
    rh_heap_destroy(h);
    end("06_finalizers.py");
}

/* ---------------------------------------------------------------------------
 * 7. Weak references
 * ------------------------------------------------------------------------- */
static int cb_calls, fin_calls;
static void on_dead(rh_object *wr, void *data) { cb_calls++; }
static void on_final(void *data) { fin_calls++; }

static void scenario7(void) {
    begin(7, "Weak references: a cache that does not keep its values alive");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    rh_object *BigData = new_class(h, "BigData", NULL, 0, NULL, NULL, NULL);
    rh_object *cache = must(rh_weakvaluedict_new(h), "weakvaluedict");
    rh_object *items = must(rh_list_new(h, 0), "list");
    rh_heap_stats st0, st1;
    rh_heap_stats_get(h, &st0);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "big%d", i);
        rh_object *it = instance_named(BigData, name);
        rh_object *payload = must(rh_bytearray(h, NULL, (size_t)1 << 20), "bytearray");
        link_attr(it, "payload", payload);
        rh_decref(payload);
        rh_object *key = must(rh_str(h, name), "str");
        check(rh_weakvaluedict_set(cache, key, it) == 0, "cache set");
        rh_decref(key);
        rh_list_append(items, it);
        rh_decref(it);
    }
    rh_heap_stats_get(h, &st1);
    say("Three 1 MiB objects in a WeakValueDictionary and in a list: %zu entries, %.1f MiB in use.",
        rh_weakvaluedict_size(cache), (double)(st1.bytes_in_use - st0.bytes_in_use) / (1 << 20));
    fig("cache_len_full", EXACT, NULL, "%zu", rh_weakvaluedict_size(cache));
    rh_object *r = must(rh_weakref_new(rh_list_get(items, 0), on_dead, NULL), "weakref");
    rh_object *f = must(rh_finalize_new(rh_list_get(items, 1), on_final, NULL), "finalize");
    cb_calls = fin_calls = 0;
    rh_object *gone = rh_list_pop(items, 0);
    rh_decref(gone); /* the last strong reference to big0 */
    say("The last strong reference to big0 goes: the callback ran %d time, the cache has %zu entries.",
        cb_calls, rh_weakvaluedict_size(cache));
    fig("cache_len_after_one", EXACT, NULL, "%zu", rh_weakvaluedict_size(cache));
    fig("callback_ran", EXACT, NULL, "%d", cb_calls);
    fig("ref_dead", EXACT, NULL, "%d", !rh_weakref_alive(r));
    rh_list_clear(items);
    rh_heap_stats_get(h, &st1);
    say("items.clear(): cache has %zu entries, finalize ran %d time, %.1f MiB still in use.",
        rh_weakvaluedict_size(cache), fin_calls,
        st1.bytes_in_use > st0.bytes_in_use ? (double)(st1.bytes_in_use - st0.bytes_in_use) / (1 << 20) : 0.0);
    fig("cache_len_empty", EXACT, NULL, "%zu", rh_weakvaluedict_size(cache));
    fig("finalize_ran", EXACT, NULL, "%d", fin_calls);
    rh_decref(r);
    rh_decref(f);
    rh_decref(items);
    rh_decref(cache);
    rh_decref(BigData);
    rh_heap_destroy(h);
    end("07_weakref.py");
}

/* ---------------------------------------------------------------------------
 * 8. __slots__ versus per-instance dictionaries
 * ------------------------------------------------------------------------- */
static double bytes_per_instance(rh_heap *h, rh_object *cls, size_t n, size_t *getsizeof) {
    rh_object *objs = must(rh_list_new(h, 0), "list");
    rh_heap_stats a, b;
    rh_heap_stats_get(h, &a);
    for (size_t i = 0; i < n; i++) {
        rh_object *o = must(rh_instance_new(cls), "instance");
        rh_setattr(o, "x", rh_None);
        rh_setattr(o, "y", rh_None);
        rh_list_append(objs, o);
        rh_decref(o);
    }
    rh_heap_stats_get(h, &b);
    *getsizeof = rh_sizeof(rh_list_get(objs, 0));
    size_t list_bytes = rh_sizeof(objs);
    rh_decref(objs);
    return ((double)(b.bytes_in_use - a.bytes_in_use) - (double)list_bytes) / (double)n;
}

static void scenario8(void) {
    begin(8, "__slots__ versus per-instance dictionaries");
    rh_heap *h = fresh_heap();
    const size_t N = 1000000;
    static const char *const xy[] = {"x", "y"};
    rh_object *Plain = new_class(h, "Plain", NULL, 0, NULL, NULL, NULL);
    rh_object *Slotted = new_class(h, "Slotted", xy, 2, NULL, NULL, NULL);
    size_t gs_plain, gs_slotted;
    double plain = bytes_per_instance(h, Plain, N, &gs_plain);
    double slotted = bytes_per_instance(h, Slotted, N, &gs_slotted);
    say("A million instances with two attributes, x and y:");
    say("  plain:   rh_sizeof %zu bytes, %.1f bytes each from the heap's statistics (%.1f MiB in all)",
        gs_plain, plain, plain * (double)N / (1 << 20));
    say("  slotted: rh_sizeof %zu bytes, %.1f bytes each (%.1f MiB in all)", gs_slotted, slotted,
        slotted * (double)N / (1 << 20));
    say("__slots__ stores the attributes at fixed places in the object instead of a per-instance table.");
    const char *why = "object layouts differ (docs/object-sizes.md)";
    fig("getsizeof_plain", INFO, why, "%zu", gs_plain);
    fig("getsizeof_slotted", INFO, why, "%zu", gs_slotted);
    fig("bytes_per_plain", INFO, why, "%.0f", plain);
    fig("bytes_per_slotted", INFO, why, "%.0f", slotted);
    fig("slotted_smaller", EXACT, NULL, "%d", slotted < plain);
    rh_decref(Plain);
    rh_decref(Slotted);
    rh_heap_destroy(h);
    end("08_slots.py");
}

/* ---------------------------------------------------------------------------
 * 9. memoryview
 * ------------------------------------------------------------------------- */
static void scenario9(void) {
    begin(9, "memoryview: slicing without copying");
    rh_heap *h = fresh_heap();
    const size_t MiB = (size_t)1 << 20;
    rh_object *data = must(rh_bytearray(h, NULL, 10 * MiB), "bytearray");
    rh_heap_stats a, b;
    rh_heap_stats_get(h, &a);
    rh_object *view = must(rh_memoryview(data), "memoryview");
    rh_object *part = must(rh_memoryview_slice(view, 1024, 5 * MiB), "slice");
    rh_memoryview_mutable_data(part)[0] = 42;
    rh_heap_stats_get(h, &b);
    say("data = bytearray(10 MiB); part = memoryview(data)[1024:5 MiB]: %zu bytes allocated for the views",
        b.bytes_in_use - a.bytes_in_use);
    fig("slice_len", EXACT, NULL, "%zu", rh_memoryview_len(part));
    say("part[0] = 42 writes into data: data[1024] == %u", rh_bytearray_data(data)[1024]);
    fig("shared_write_seen", EXACT, NULL, "%u", rh_bytearray_data(data)[1024]);
    fig("copy_avoided", EXACT, NULL, "%d", b.bytes_in_use - a.bytes_in_use < 4096);
    int rc = rh_bytearray_extend(data, "x", 1);
    say("data.extend(b'x') while views exist: %s", rc < 0 ? rh_errmsg(h) : "succeeded?!");
    fig("resize_error", EXACT, NULL, "%d", rc < 0);
    rh_err_clear(h);
    rh_memoryview_release(part);
    rh_memoryview_release(view);
    rc = rh_bytearray_extend(data, "x", 1);
    check(rc == 0, "extend after release");
    say("After releasing both views the resize works: len(data) == %zu", rh_bytearray_len(data));
    fig("resize_after_release", EXACT, NULL, "%zu", rh_bytearray_len(data));
    rh_decref(part);
    rh_decref(view);
    rh_decref(data);
    rh_heap_destroy(h);
    end("09_memoryview.py");
}

/* ---------------------------------------------------------------------------
 * 10. Leaks in a garbage-collected world
 * ------------------------------------------------------------------------- */
static const char *describe(rh_object *o, rh_object *globals, rh_object *registry, char *buf, size_t cap) {
    if (o == globals) return "dict (the module's globals)";
    if (o == registry) return "list _registry";
    snprintf(buf, cap, "%s", rh_type_name(o));
    return buf;
}

static int leak_line; /* the site handle() pushes: where the leak is made */

/* handle(user): makes a Session, appends it to the global list and forgets
 * it. The pushed site names this function's line in the traces, for the
 * objects refheap's constructors make on its behalf. */
static void handle(rh_heap *h, rh_object *registry, rh_object *Session, const char *user) {
    leak_line = __LINE__ + 1;
    rh_trace_site_push(h);
    rh_object *s = instance_named(Session, user);
    rh_list_append(registry, s); /* forgotten: the leak */
    rh_decref(s);
    rh_trace_site_pop(h);
}

static size_t growth_of(rh_heap *h, const char *type) {
    size_t n, d = 0;
    rh_type_count *v = rh_objgraph_growth(h, 0, &n);
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(v[i].name, type) == 0) d = (size_t)v[i].delta;
    free(v);
    return d;
}

/* The report and the drawings of referrers, beside the other graphs. */
static void leak_files(rh_heap *h, const rh_snapshot *before, const rh_snapshot *after, rh_object *leaked) {
    if (!T.graphs) return;
    mkdir(T.graphs, 0777);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/scenario10-before.snap", T.graphs);
    rh_snapshot_save(before, path, err, sizeof err);
    snprintf(path, sizeof path, "%s/scenario10-after.snap", T.graphs);
    rh_snapshot_save(after, path, err, sizeof err);
    snprintf(path, sizeof path, "%s/scenario10-report.html", T.graphs);
    FILE *f = fopen(path, "w");
    if (f) {
        rh_report_write_html(after, before, "Scenario 10: sessions piling up in a global list", f);
        fclose(f);
        say("report: %s (rhreport turns the two .snap files beside it into the same page)", path);
    }
    snprintf(path, sizeof path, "%s/scenario10-backrefs.dot", T.graphs);
    f = fopen(path, "w");
    if (!f) return;
    rh_dot_options o = {.backrefs = true, .max_depth = 4, .title = "Who keeps session 'ben' alive (referrers)"};
    rh_objgraph_write_dot(h, &leaked, 1, &o, f);
    fclose(f);
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "command -v dot >/dev/null 2>&1 && dot -Tpng '%s' -o '%s/scenario10-backrefs.png' && "
             "dot -Tsvg '%s' -o '%s/scenario10-backrefs.svg'",
             path, T.graphs, path, T.graphs);
    int rc = system(cmd);
    say("graph: %s%s", path, rc == 0 ? " (+ .png, .svg)" : " (install graphviz to render it)");
}

static void scenario10(void) {
    begin(10, "Leaks: who keeps this object alive?");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    check(rh_trace_start(h, 0) == 0, "tracing");
    rh_trace_record_pauses(h, true);
    rh_object *globals = must(rh_dict_new(h), "dict");
    rh_object *registry = must(rh_list_new(h, 0), "list");
    rh_dict_set_str(globals, "_registry", registry);
    rh_object *Session = new_class(h, "Session", NULL, 0, NULL, NULL, NULL);
    growth_of(h, "Session"); /* objgraph.show_growth's first call: the baseline */
    rh_snapshot *before = must_snap(rh_snapshot_take(h));
    const char *users[] = {"ann", "ben", "cy"};
    for (int i = 0; i < 3; i++) handle(h, registry, Session, users[i]);
    rh_snapshot *after = must_snap(rh_snapshot_take(h));
    say("handle(user) appends each Session to a global list and forgets it: %zu sessions pile up.",
        rh_list_size(registry));
    size_t nd;
    rh_stat *diff = rh_snapshot_compare_to(after, before, RH_STAT_SITE, &nd);
    say("tracemalloc: snapshot.compare_to(before, 'lineno'), top entries:");
    for (size_t i = 0; i < nd && i < 3; i++)
        if (diff[i].size_diff || diff[i].count_diff) say("  %s:%d: +%" PRId64 " B in %+" PRId64 " blocks", strrchr(diff[i].file, '/') ? strrchr(diff[i].file, '/') + 1
                                                                                     : diff[i].file,
            diff[i].line, diff[i].size_diff, diff[i].count_diff);
    check(nd > 0 && diff[0].line == leak_line && strcmp(diff[0].file, __FILE__) == 0,
          "the diff's top entry is the leaking line in handle()");
    fig("leak_site_new_blocks", INFO, "CPython's objects and their attributes are laid out differently", "%" PRId64,
        nd ? diff[0].count_diff : 0);
    free(diff);
    size_t grown = growth_of(h, "Session");
    say("objgraph.show_growth(): Session +%zu", grown);
    fig("growth_Session", EXACT, NULL, "%zu", grown);
    rh_object *leaked = rh_list_get(registry, 1);
    rh_object *refs = must(rh_gc_get_referrers(h, &leaked, 1), "referrers");
    say("gc.get_referrers(session 'ben') -> %zu object(s); following referrers back to a root:",
        rh_list_size(refs));
    fig("referrers_of_leaked", EXACT, NULL, "%zu", rh_list_size(refs));
    fig("referrer_is_registry", EXACT, NULL, "%d",
        rh_list_size(refs) == 1 && rh_list_get(refs, 0) == registry);
    fig("registry_len", EXACT, NULL, "%zu", rh_list_size(registry));
    char buf[64];
    rh_object *cur = leaked;
    say("  Session 'ben'");
    for (int depth = 0; depth < 5; depth++) {
        rh_object *r = must(rh_gc_get_referrers(h, &cur, 1), "referrers");
        if (rh_list_size(r) == 0) {
            rh_decref(r);
            say("    (no tracked referrer: held by the program's own variable, a root)");
            break;
        }
        cur = rh_list_get(r, 0);
        say("    <- %s", describe(cur, globals, registry, buf, sizeof buf));
        rh_decref(r);
    }
    rh_decref(refs);
    rh_object *chain = must(rh_objgraph_find_backref_chain(h, leaked, NULL, 0, 0), "backref chain");
    char line[512] = "", part[96];
    for (size_t i = 0; i < rh_list_size(chain); i++) {
        rh_object *c = rh_list_get(chain, (ptrdiff_t)i);
        snprintf(part, sizeof part, "%s%s", i ? " -> " : "",
                 c == leaked ? "Session 'ben'" : describe(c, globals, registry, buf, sizeof buf));
        strncat(line, part, sizeof line - strlen(line) - 1);
    }
    say("objgraph.find_backref_chain(session 'ben'): %s", line);
    check(rh_list_size(chain) == 3 && rh_list_get(chain, 0) == globals, "the chain ends at the module's globals");
    rh_decref(chain);
    size_t rbytes = 0, rcount = 0;
    rh_objgraph_retained(h, registry, &rbytes, &rcount);
    say("_registry retains %zu objects, %zu bytes: what clearing it would free.", rcount, rbytes);
    leak_files(h, before, after, leaked);
    rh_snapshot_free(before);
    rh_snapshot_free(after);
    graph g = {0};
    graph_add(&g, globals, "globals", false);
    graph_add(&g, registry, "_registry", false);
    for (size_t i = 0; i < rh_list_size(registry); i++)
        graph_add(&g, rh_list_get(registry, (ptrdiff_t)i), users[i], false);
    graph_write(h, &g, "scenario10-leak", "A global list keeps every Session alive");
    rh_list_clear(registry);
    intptr_t n = rh_gc_collect(h, 2);
    say("_registry.clear(): the sessions die by reference counting; collect() then finds %ld.", (long)n);
    fig("collected_after_fix", EXACT, NULL, "%ld", (long)n);
    rh_decref(registry);
    rh_decref(globals);
    rh_decref(Session);
    rh_heap_destroy(h);
    end("10_leaks.py");
}

/* ---------------------------------------------------------------------------
 * 11. Pauses and monitoring
 * ------------------------------------------------------------------------- */
typedef struct pauses {
    size_t n;
    uint64_t max_ns, total_ns;
} pauses;

static void time_pause(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    pauses *p = data;
    if (phase != RH_GC_STOP) return;
    p->n++;
    p->total_ns += info->duration_ns;
    if (info->duration_ns > p->max_ns) p->max_ns = info->duration_ns;
}

static void scenario11(void) {
    begin(11, "Pauses and monitoring");
    rh_heap *h = fresh_heap();
    const size_t N = 1000000;
    static const char *const ab[] = {"a", "b"};
    rh_object *Pair = new_class(h, "Pair", ab, 2, NULL, NULL, NULL);
    pauses p = {0};
    rh_gc_callback_add(h, time_pause, &p);
    size_t base = rh_process_rss();
    rh_object *objs = must(rh_list_new(h, 0), "list");
    for (size_t i = 0; i < N; i++) {
        rh_object *o = must(rh_instance_new(Pair), "instance");
        rh_list_append(objs, o);
        rh_decref(o);
    }
    size_t up = rh_process_rss();
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    say("%zu slotted objects built with the collector on: %zu collections, longest pause %.2f ms, total %.2f ms",
        N, p.n, (double)p.max_ns / 1e6, (double)p.total_ns / 1e6);
    say("heap: %zu arenas mapped (peak %zu), %.1f MiB in use", st.arenas_current, st.arenas_peak,
        (double)st.bytes_in_use / (1 << 20));
    rh_decref(objs);
    rh_gc_collect(h, 2);
    size_t down = rh_process_rss();
    rh_heap_stats_get(h, &st);
    say("after freeing them: %zu arena(s) mapped, %zu returned to the OS in all", st.arenas_current,
        st.arenas_released);
    say("RSS: %zu KiB -> %zu KiB with the objects -> %zu KiB after freeing them", base >> 10, up >> 10,
        down >> 10);
    const char *why = "measured: depends on the implementation";
    fig("collections", INFO, why, "%zu", p.n);
    fig("max_pause_ms", INFO, why, "%.2f", (double)p.max_ns / 1e6);
    fig("rss_growth_mib", INFO, why, "%zu", (up > base ? up - base : 0) >> 20);
    fig("rss_returned_mib", INFO, why, "%zu", (up > down ? up - down : 0) >> 20);
    if (!T.quiet) {
        say("The pools after the run (sys._debugmallocstats style):");
        rh_heap_stats_print(h, stdout);
    }
    rh_gc_callback_remove(h, time_pause, &p);
    rh_decref(Pair);
    rh_heap_destroy(h);
    end("11_pauses.py");
}

/* ---------------------------------------------------------------------------
 * 12. freeze before fork
 * ------------------------------------------------------------------------- */
static void examined_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    if (phase == RH_GC_STOP) *(size_t *)data = info->examined;
}

static void scenario12(void) {
    begin(12, "gc.freeze() before fork");
    rh_heap *h = fresh_heap();
    rh_gc_collect(h, 2);
    rh_gc_disable(h);
    rh_object *Obj = new_class(h, "Obj", NULL, 0, NULL, NULL, NULL);
    rh_object *keep = must(rh_list_new(h, 0), "list");
    for (int i = 0; i < 10000; i++) {
        rh_object *o = must(rh_instance_new(Obj), "instance");
        rh_list_append(keep, o);
        rh_decref(o);
    }
    rh_gc_freeze(h);
    long c[3];
    rh_gc_get_count(h, c);
    size_t frozen = rh_gc_get_freeze_count(h);
    say("10000 objects, then gc.freeze(): %zu objects moved to the permanent generation, count0 = %ld",
        frozen, c[0]);
    fig("freeze_count_at_least_objs", EXACT, NULL, "%d", frozen >= 10000);
    fig("count0_after_freeze", EXACT, NULL, "%ld", c[0]);
    int fds[2];
    check(pipe(fds) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        size_t examined = 0;
        rh_gc_callback_add(h, examined_cb, &examined);
        rh_object *a = rh_instance_new(Obj), *b = rh_instance_new(Obj);
        rh_setattr(a, "ref", b);
        rh_setattr(b, "ref", a);
        rh_decref(a);
        rh_decref(b);
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        intptr_t n = rh_gc_collect(h, 2);
        getrusage(RUSAGE_SELF, &r1);
        char msg[128];
        int len = snprintf(msg, sizeof msg, "%ld %d %zu %ld", (long)n, rh_gc_get_freeze_count(h) >= 10000,
                           examined, r1.ru_minflt - r0.ru_minflt);
        if (write(fds[1], msg, (size_t)len) < 0) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    char msg[128] = {0};
    ssize_t got = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    long child_n = -1, minflt = -1;
    int still = 0;
    size_t examined = 0;
    if (got > 0) sscanf(msg, "%ld %d %zu %ld", &child_n, &still, &examined, &minflt);
    say("The child process collects a fresh cycle: collect() -> %ld, examining %zu objects", child_n, examined);
    say("(not the %zu frozen ones), with %ld minor page faults: the frozen pages stay shared.", frozen,
        minflt);
    fig("child_collected", EXACT, NULL, "%ld", child_n);
    fig("child_still_frozen", EXACT, NULL, "%d", still);
    rh_gc_unfreeze(h);
    fig("freeze_count_after_unfreeze", EXACT, NULL, "%zu", rh_gc_get_freeze_count(h));
    rh_decref(keep);
    rh_decref(Obj);
    rh_gc_enable(h);
    rh_heap_destroy(h);
    end("12_freeze.py");
}

/* ---------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------- */
typedef struct scenario {
    void (*run)(void);
    const char *title;
} scenario;

static const scenario SCENARIOS[] = {
    {scenario1, "Reference counting"},
    {scenario2, "The circular-reference problem"},
    {scenario3, "Roots"},
    {scenario4, "Watching a collection"},
    {scenario5, "Generations"},
    {scenario6, "Finalizers, resurrection, uncollectable cycles"},
    {scenario7, "Weak references"},
    {scenario8, "__slots__ versus per-instance dictionaries"},
    {scenario9, "memoryview"},
    {scenario10, "Leaks: who keeps this object alive?"},
    {scenario11, "Pauses and monitoring"},
    {scenario12, "gc.freeze() before fork"},
};
#define NSCENARIOS ((int)(sizeof SCENARIOS / sizeof SCENARIOS[0]))

static void usage(void) {
    puts("usage: tour [--list] [--scenario N] [--quiet] [--no-python] [--graphs DIR]\n"
         "            [--refpy PATH | --no-refpy] [--require-refpy]");
}

int main(int argc, char **argv) {
    int only = 0;
    bool no_python = false, no_refpy = false, require_refpy = false;
    const char *refpy = NULL;
    T.python = system("python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1") == 0;
    T.graphs = "tour-graphs";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (int k = 0; k < NSCENARIOS; k++) printf("%2d  %s\n", k + 1, SCENARIOS[k].title);
            return 0;
        } else if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc) {
            only = atoi(argv[++i]);
            if (only < 1 || only > NSCENARIOS) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--quiet") == 0) {
            T.quiet = true;
        } else if (strcmp(argv[i], "--no-python") == 0) {
            T.python = false;
            no_python = true;
        } else if (strcmp(argv[i], "--graphs") == 0 && i + 1 < argc) {
            T.graphs = argv[++i];
        } else if (strcmp(argv[i], "--refpy") == 0 && i + 1 < argc) {
            refpy = argv[++i];
        } else if (strcmp(argv[i], "--no-refpy") == 0) {
            no_refpy = true;
        } else if (strcmp(argv[i], "--require-refpy") == 0) {
            require_refpy = true;
        } else {
            usage();
            return 2;
        }
    }
    if (T.quiet) T.graphs = NULL;
    find_source();
    if (no_refpy) T.no_refpy = "--no-refpy";
    else if (!T.python) T.no_refpy = "no CPython 3.11 to compare it with";
    else find_refpy(refpy);
    printf("refheap %s — a tour of Python's memory management, performed in C\n", RH_VERSION_STRING);
    printf("CPython 3.11 beside it: %s\n",
           T.python ? "yes (python3)" : no_python ? "no (--no-python)" : "no (python3 3.11 not found)");
    if (T.refpy[0]) printf("The scripts on refpy beside CPython: yes (%s)\n", T.refpy);
    else printf("The scripts on refpy beside CPython: no (%s)\n", T.no_refpy);
    for (int k = 0; k < NSCENARIOS; k++)
        if (!only || only == k + 1) SCENARIOS[k].run();
    printf("\n%d exact figures compared with CPython, %d different.\n", T.compared, T.mismatches);
    int refpy_diff = T.refpy_run - T.refpy_same;
    if (T.refpy[0])
        printf("refpy beside CPython 3.11: %d of %d scenarios run, %d with the same output, %d different.\n",
               T.refpy_run, T.refpy_run + T.refpy_refused, T.refpy_same, refpy_diff);
    else if (require_refpy)
        printf("refpy beside CPython 3.11: required (--require-refpy) but not run: %s.\n", T.no_refpy);
    return T.mismatches || refpy_diff || (require_refpy && !T.refpy_run) ? 1 : 0;
}
