/*
 * test_tools_report.c — the heap report: a self-contained HTML page (no
 * external resource of any kind) with both treemaps, the growers table led
 * by the planted leak, and the collector's figures and pauses.
 *
 * With REFHEAP_REPORT_DIR set, the snapshots and the page are also written
 * there: tests/chromium_report.py renders them in a headless browser.
 */
#include "rh_test.h"

static size_t count_sub(const char *s, const char *sub) {
    size_t n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
    return n;
}

static const rh_type blob_type = {.name = "Blob", .basicsize = sizeof(rh_object) + 112};

static void test_report_is_self_contained_and_names_the_leak(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    assert_int_equal(rh_trace_start(h, 0), 0);
    assert_int_equal(rh_trace_record_pauses(h, true), 0);
    /* a steady part: a few sites of raw memory and objects */
    void *steady[64];
    for (int i = 0; i < 64; i++) steady[i] = rh_malloc(h, (size_t)(16 * (1 + i % 20)));
    rh_object *keep = rh_list_new(h, 0);
    for (int i = 0; i < 50; i++) {
        rh_object *s = rh_str_printf(h, "steady %d", i);
        rh_list_append(keep, s);
        rh_decref(s);
    }
    rh_gc_collect(h, 0);
    rh_snapshot *before = rh_snapshot_take(h);
    /* the leak: Blobs piling up in a list */
    int leak_line = __LINE__ + 2;
    for (int i = 0; i < 400; i++) {
        rh_object *b = rh_new(h, &blob_type);
        rh_list_append(keep, b);
        rh_decref(b);
    }
    rh_gc_collect(h, 1);
    rh_gc_collect(h, 2);
    rh_snapshot *after = rh_snapshot_take(h);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(rh_report_write_html(after, before, "leak <hunt>", f), 0);
    fclose(f);
    assert_true(strncmp(buf, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(buf, "leak &lt;hunt&gt;")); /* escaped */
    assert_int_equal(count_sub(buf, "class=\"treemap\""), 2);
    assert_non_null(strstr(buf, "Top growers"));
    /* the first grower is the leak's line */
    char site[256];
    snprintf(site, sizeof site, "%s:%d", __FILE__, leak_line);
    const char *grow = strstr(buf, "Top growers");
    const char *first_row = strstr(grow, "<tr><td>");
    assert_non_null(first_row);
    assert_true(strncmp(first_row + 8, site, strlen(site)) == 0);
    /* the Blob type in the type treemap */
    assert_non_null(strstr(buf, "<title>Blob"));
    /* collector: three generations, three pauses */
    assert_non_null(strstr(buf, "3 pauses recorded"));
    /* self-contained: nothing fetched */
    assert_null(strstr(buf, "src="));
    assert_null(strstr(buf, "href="));
    assert_null(strstr(buf, "url("));
    assert_null(strstr(buf, "@import"));
    assert_int_equal(count_sub(buf, "http"), count_sub(buf, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_int_equal(count_sub(buf, "<script>"), 1);
    free(buf);

    const char *dir = getenv("REFHEAP_REPORT_DIR");
    if (dir) {
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/before.snap", dir);
        assert_int_equal(rh_snapshot_save(before, path, err, sizeof err), 0);
        snprintf(path, sizeof path, "%s/after.snap", dir);
        assert_int_equal(rh_snapshot_save(after, path, err, sizeof err), 0);
        snprintf(path, sizeof path, "%s/report.html", dir);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        assert_int_equal(rh_report_write_html(after, before, "refheap heap report (test)", o), 0);
        fclose(o);
        snprintf(path, sizeof path, "%s/leak_site.txt", dir);
        o = fopen(path, "w");
        fprintf(o, "%s\n", site);
        fclose(o);
    }
    rh_snapshot_free(before);
    rh_snapshot_free(after);
    for (int i = 0; i < 64; i++) rh_free(h, steady[i]);
    rh_decref(keep);
    rh_heap_destroy(h);
}

/* An empty snapshot still gives a complete page. */
static void test_empty_report(void **state) {
    (void)state;
    rh_heap *h = rh_heap_new(NULL);
    assert_int_equal(rh_trace_start(h, 0), 0);
    rh_snapshot *s = rh_snapshot_take(h);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(rh_report_write_html(s, NULL, NULL, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "no live traced blocks"));
    assert_non_null(strstr(buf, "</html>"));
    assert_null(strstr(buf, "Top growers"));
    free(buf);
    rh_snapshot_free(s);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_is_self_contained_and_names_the_leak),
        cmocka_unit_test(test_empty_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
