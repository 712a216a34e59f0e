/*
 * rhreport — turns snapshots saved with rh_snapshot_save into the heap
 * report (one self-contained HTML file) or a text table, like tracemalloc's
 * Snapshot.statistics / compare_to printed by a script.
 *
 *   rhreport [--text] [--by site|file|type|traceback] [--limit N]
 *            [--title TEXT] [-o OUT] NOW.snap [BEFORE.snap]
 *
 * With BEFORE, the table is the comparison (biggest change first) and the
 * report has its top growers. Exit status: 0, 1 on a bad snapshot or an
 * unwritable output, 2 on a usage error.
 */
#include <refheap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--text] [--by site|file|type|traceback] [--limit N] [--title TEXT] [-o OUT]\n"
            "          NOW.snap [BEFORE.snap]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv) {
    bool text = false;
    rh_stat_key key = RH_STAT_SITE;
    size_t limit = 20;
    const char *out_path = NULL, *title = NULL, *paths[2] = {NULL, NULL};
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--text") == 0) text = true;
        else if (strcmp(a, "--by") == 0 && i + 1 < argc) {
            const char *k = argv[++i];
            if (strcmp(k, "site") == 0) key = RH_STAT_SITE;
            else if (strcmp(k, "file") == 0) key = RH_STAT_FILE;
            else if (strcmp(k, "type") == 0) key = RH_STAT_TYPE;
            else if (strcmp(k, "traceback") == 0) key = RH_STAT_TRACEBACK;
            else usage(argv[0]);
        } else if (strcmp(a, "--limit") == 0 && i + 1 < argc) limit = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--title") == 0 && i + 1 < argc) title = argv[++i];
        else if (strcmp(a, "-o") == 0 && i + 1 < argc) out_path = argv[++i];
        else if (a[0] == '-' && a[1]) usage(argv[0]);
        else if (npaths < 2) paths[npaths++] = a;
        else usage(argv[0]);
    }
    if (npaths == 0) usage(argv[0]);
    char err[512];
    rh_snapshot *snap[2] = {NULL, NULL};
    for (int i = 0; i < npaths; i++) {
        snap[i] = rh_snapshot_load(paths[i], err, sizeof err);
        if (!snap[i]) {
            fprintf(stderr, "rhreport: %s: %s\n", paths[i], err);
            rh_snapshot_free(snap[0]);
            return 1;
        }
    }
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        perror(out_path);
        rh_snapshot_free(snap[0]);
        rh_snapshot_free(snap[1]);
        return 1;
    }
    int rc = 0;
    if (text) {
        size_t n;
        rh_stat *v = snap[1] ? rh_snapshot_compare_to(snap[0], snap[1], key, &n)
                             : rh_snapshot_statistics(snap[0], key, &n);
        fprintf(out, "%s %s, %zu entries%s\n", snap[1] ? "compared with" : "snapshot",
                snap[1] ? paths[1] : paths[0], n, limit && n > limit ? " (top shown)" : "");
        rh_stat_print(v, n, limit, snap[1] != NULL, out);
        free(v);
    } else {
        rc = rh_report_write_html(snap[0], snap[1], title, out);
    }
    if (out != stdout && fclose(out) != 0) rc = -1;
    rh_snapshot_free(snap[0]);
    rh_snapshot_free(snap[1]);
    if (rc != 0) fprintf(stderr, "rhreport: cannot write the output\n");
    return rc != 0;
}
