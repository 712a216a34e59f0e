/*
 * test_tools_snapshot.c — snapshots as plain data: statistics by site, file,
 * type and traceback; filters; the file format's round trip; and every
 * truncation and every corrupted byte of a saved file rejected with a
 * message, never a crash or a half-read snapshot.
 */
#include "rh_test.h"

static rh_heap *traced_heap(int nframes) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    assert_int_equal(rh_trace_start(h, nframes), 0);
    return h;
}

static const rh_type thing_type = {.name = "Thing", .basicsize = sizeof(rh_object) + 48};

/* A heap with three raw sites and objects of two types. */
typedef struct world {
    rh_heap *h;
    void *raw[30];
    rh_object *obj[12];
    int line_raw_a, line_raw_b, line_things;
} world;

static void world_make(world *w, int nframes) {
    w->h = traced_heap(nframes);
    w->line_raw_a = __LINE__ + 1;
    for (int i = 0; i < 20; i++) w->raw[i] = rh_malloc(w->h, 40);
    w->line_raw_b = __LINE__ + 1;
    for (int i = 20; i < 30; i++) w->raw[i] = rh_malloc(w->h, 1000);
    w->line_things = __LINE__ + 1;
    for (int i = 0; i < 8; i++) w->obj[i] = rh_new(w->h, &thing_type);
    for (int i = 8; i < 12; i++) w->obj[i] = rh_str_printf(w->h, "string %d", i);
}

static void world_free(world *w) {
    for (int i = 0; i < 30; i++) rh_free(w->h, w->raw[i]);
    for (int i = 0; i < 12; i++) rh_decref(w->obj[i]);
    rh_heap_destroy(w->h);
}

static const rh_stat *find_site(const rh_stat *v, size_t n, const char *file, int line) {
    for (size_t i = 0; i < n; i++)
        if (v[i].file && strcmp(v[i].file, file) == 0 && v[i].line == line) return &v[i];
    return NULL;
}

static void test_statistics(void **state) {
    (void)state;
    world w;
    world_make(&w, 0);
    rh_snapshot *s = rh_snapshot_take(w.h);
    assert_non_null(s);
    size_t n;
    rh_stat *v = rh_snapshot_statistics(s, RH_STAT_SITE, &n);
    const rh_stat *a = find_site(v, n, __FILE__, w.line_raw_a), *b = find_site(v, n, __FILE__, w.line_raw_b),
                  *t = find_site(v, n, __FILE__, w.line_things);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(t);
    assert_int_equal(a->count, 20);
    assert_int_equal(a->size, 20 * 48); /* the class of 40 bytes */
    assert_int_equal(b->count, 10);
    assert_int_equal(b->size, 10 * 1000);
    assert_int_equal(t->count, 8);
    assert_int_equal(t->size, 8 * 64);
    /* biggest first */
    for (size_t i = 1; i < n; i++) assert_true(v[i - 1].size >= v[i].size);
    free(v);
    v = rh_snapshot_statistics(s, RH_STAT_TYPE, &n);
    size_t things = 0, strs = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].type_name && strcmp(v[i].type_name, "Thing") == 0) things = v[i].count;
        if (v[i].type_name && strcmp(v[i].type_name, "str") == 0) strs = v[i].count;
        assert_null(v[i].file);
    }
    assert_int_equal(things, 8);
    assert_int_equal(strs, 4);
    free(v);
    /* the total over any key is the traced current */
    uint64_t total = 0;
    v = rh_snapshot_statistics(s, RH_STAT_FILE, &n);
    for (size_t i = 0; i < n; i++) total += v[i].size;
    assert_int_equal(total, s->traced_current);
    free(v);
    rh_snapshot_free(s);
    world_free(&w);
}

static void test_filters(void **state) {
    (void)state;
    world w;
    world_make(&w, 0);
    rh_snapshot *s = rh_snapshot_take(w.h);
    /* only this file */
    rh_snapshot_filter only_here = {.inclusive = true, .file_pattern = "*test_tools_snapshot.c"};
    rh_snapshot *f = rh_snapshot_filter_traces(s, &only_here, 1);
    assert_non_null(f);
    assert_int_equal(f->ntraces, 3);
    for (size_t i = 0; i < f->ntraces; i++) assert_string_equal(f->traces[i].file, __FILE__);
    rh_snapshot_free(f);
    /* this file, but not the 1000-byte line, nor raw memory */
    rh_snapshot_filter two[3] = {only_here, {.inclusive = false, .file_pattern = "*", .line = w.line_raw_b},
                                 {.inclusive = false, .type_name = ""}};
    f = rh_snapshot_filter_traces(s, two, 3);
    assert_int_equal(f->ntraces, 1);
    assert_int_equal(f->traces[0].line, w.line_things);
    assert_string_equal(f->traces[0].type_name, "Thing");
    rh_snapshot_free(f);
    /* by type */
    rh_snapshot_filter strs = {.inclusive = true, .type_name = "str"};
    f = rh_snapshot_filter_traces(s, &strs, 1);
    uint64_t count = 0;
    for (size_t i = 0; i < f->ntraces; i++) {
        assert_string_equal(f->traces[i].type_name, "str");
        count += f->traces[i].count;
    }
    assert_int_equal(count, 4);
    rh_snapshot_free(f);
    rh_snapshot_free(s);
    world_free(&w);
}

/* Two snapshots compare equal field by field (strings by content). */
static void assert_same(const rh_snapshot *a, const rh_snapshot *b) {
    assert_int_equal(a->nframes, b->nframes);
    assert_int_equal(a->traced_current, b->traced_current);
    assert_int_equal(a->traced_peak, b->traced_peak);
    assert_int_equal(a->ntraces, b->ntraces);
    assert_int_equal(a->ntracebacks, b->ntracebacks);
    assert_int_equal(a->npauses, b->npauses);
    assert_int_equal(a->pause_count, b->pause_count);
    assert_int_equal(a->pause_total_ns, b->pause_total_ns);
    assert_memory_equal(a->gc, b->gc, sizeof a->gc);
    for (size_t i = 0; i < a->npauses; i++) assert_int_equal(a->pauses[i], b->pauses[i]);
    for (size_t i = 0; i < a->ntraces; i++) {
        const rh_snapshot_trace *x = &a->traces[i], *y = &b->traces[i];
        assert_string_equal(x->file, y->file);
        assert_int_equal(x->line, y->line);
        if (x->type_name) assert_string_equal(x->type_name, y->type_name);
        else assert_null(y->type_name);
        assert_int_equal(x->traceback, y->traceback);
        assert_int_equal(x->size, y->size);
        assert_int_equal(x->count, y->count);
    }
    for (size_t i = 0; i < a->ntracebacks; i++) {
        assert_int_equal(a->tracebacks[i].nframes, b->tracebacks[i].nframes);
        for (size_t k = 0; k < a->tracebacks[i].nframes; k++)
            assert_string_equal(a->tracebacks[i].frames[k], b->tracebacks[i].frames[k]);
    }
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_round_trip(void **state) {
    (void)state;
    world w;
    world_make(&w, 4);
    rh_trace_record_pauses(w.h, true);
    rh_gc_collect(w.h, 0);
    rh_gc_collect(w.h, 2);
    /* a file name with a space, a percent sign and an equals sign */
    void *odd = rh_malloc_at(w.h, 10, "dir with space/100% odd=name.c", 7);
    rh_snapshot *s = rh_snapshot_take(w.h);
    assert_int_equal(s->npauses, 2);
    assert_int_equal(s->pauses[1] >> 56, 2);
    char err[256] = "";
    assert_int_equal(rh_snapshot_save(s, "tools_roundtrip.snap", err, sizeof err), 0);
    rh_snapshot *l = rh_snapshot_load("tools_roundtrip.snap", err, sizeof err);
    assert_non_null(l);
    assert_same(s, l);
    /* compare_to of a snapshot with its copy: no differences */
    size_t n;
    rh_stat *d = rh_snapshot_compare_to(l, s, RH_STAT_TRACEBACK, &n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d[i].size_diff, 0);
        assert_int_equal(d[i].count_diff, 0);
    }
    free(d);
    /* saving the loaded one gives the same bytes */
    assert_int_equal(rh_snapshot_save(l, "tools_roundtrip2.snap", err, sizeof err), 0);
    size_t n1, n2;
    char *b1 = read_all("tools_roundtrip.snap", &n1), *b2 = read_all("tools_roundtrip2.snap", &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    rh_snapshot_free(l);
    rh_snapshot_free(s);
    rh_free(w.h, odd);
    remove("tools_roundtrip.snap");
    remove("tools_roundtrip2.snap");
    world_free(&w);
}

/* Every prefix of a saved file, every single-byte change and a few crafted
 * files with a valid checksum but bad content are rejected with a message. */
static void test_corrupt_files_rejected(void **state) {
    (void)state;
    world w;
    world_make(&w, 2);
    rh_snapshot *s = rh_snapshot_take(w.h);
    char err[256];
    assert_int_equal(rh_snapshot_save(s, "tools_corrupt.snap", err, sizeof err), 0);
    size_t len;
    char *data = read_all("tools_corrupt.snap", &len);
    for (size_t cut = 0; cut < len; cut++) {
        err[0] = '\0';
        rh_snapshot *t = rh_snapshot_parse(data, cut, err, sizeof err);
        assert_null(t);
        assert_true(strncmp(err, "snapshot: ", 10) == 0);
    }
    rh_snapshot *ok = rh_snapshot_parse(data, len, err, sizeof err);
    assert_non_null(ok);
    rh_snapshot_free(ok);
    char *copy = malloc(len);
    size_t step = rh_test_under_valgrind() ? 7 : 1;
    for (size_t i = 0; i < len; i += step) {
        memcpy(copy, data, len);
        copy[i] ^= 0x04;
        err[0] = '\0';
        rh_snapshot *t = rh_snapshot_parse(copy, len, err, sizeof err);
        assert_null(t);
        assert_true(err[0] != '\0');
    }
    free(copy);
    free(data);
    /* crafted: valid checksums, bad content */
    const char *bodies[] = {
        "refheap-snapshot 2\n",                                                     /* a later version */
        "refheap-snapshot 1\nnframes 99\n",                                         /* too many frames */
        "refheap-snapshot 1\nnframes 0\ntraced 1 2\ngc 0 0 0 0\ngc 1 0 0 0\ngc 2 0 0 0\n"
        "pauses 0 0 0 0\ntracebacks 0\ntraces 1\nt 1 1 3 5 =f.c -\n",               /* traceback out of range */
        "refheap-snapshot 1\nnframes 0\ntraced 1 2\ngc 0 0 0 0\ngc 1 0 0 0\ngc 2 0 0 0\n"
        "pauses 0 0 0 0\ntracebacks 0\ntraces 999999999\n",                         /* count beyond the file */
        "refheap-snapshot 1\nnframes 0\ntraced -1 2\n",                             /* a sign */
        "refheap-snapshot 1\nnframes 0\ntraced 1 2\ngc 0 0 0 0\ngc 1 0 0 0\ngc 2 0 0 0\n"
        "pauses 0 0 0 0\ntracebacks 0\ntraces 1\nt 1 1 3 0 =f%0.c -\n",             /* bad escape */
        "refheap-snapshot 1\nnframes 0\ntraced 1 2\ngc 0 0 0 0\ngc 1 0 0 0\ngc 2 0 0 0\n"
        "pauses 0 0 0 0\ntracebacks 0\ntraces 0\nextra\n",                          /* trailing data */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char buf[1024];
        uint64_t hsh = 1469598103934665603ull;
        for (const char *c = bodies[i]; *c; c++) hsh = (hsh ^ (unsigned char)*c) * 1099511628211ull;
        int n = snprintf(buf, sizeof buf, "%send %016llx\n", bodies[i], (unsigned long long)hsh);
        err[0] = '\0';
        assert_null(rh_snapshot_parse(buf, (size_t)n, err, sizeof err));
        assert_true(strncmp(err, "snapshot: line ", 15) == 0);
    }
    /* the minimal valid file parses */
    {
        const char *body = "refheap-snapshot 1\nnframes 0\ntraced 1 2\ngc 0 0 0 0\ngc 1 0 0 0\ngc 2 0 0 0\n"
                           "pauses 0 0 0 0\ntracebacks 0\ntraces 1\nt 16 1 3 0 =f.c -\n";
        char buf[1024];
        uint64_t hsh = 1469598103934665603ull;
        for (const char *c = body; *c; c++) hsh = (hsh ^ (unsigned char)*c) * 1099511628211ull;
        int n = snprintf(buf, sizeof buf, "%send %016llx\n", body, (unsigned long long)hsh);
        rh_snapshot *t = rh_snapshot_parse(buf, (size_t)n, err, sizeof err);
        assert_non_null(t);
        assert_int_equal(t->ntraces, 1);
        assert_string_equal(t->traces[0].file, "f.c");
        assert_null(t->traces[0].type_name);
        rh_snapshot_free(t);
    }
    assert_null(rh_snapshot_load("no/such/file.snap", err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    remove("tools_corrupt.snap");
    rh_snapshot_free(s);
    world_free(&w);
}

/* Not tracing: no snapshot, a clear error. */
static void test_take_needs_tracing(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    assert_null(rh_snapshot_take(h));
    assert_int_equal(rh_err(h), RH_ESTATE);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt_files_rejected),
        cmocka_unit_test(test_take_needs_tracing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
