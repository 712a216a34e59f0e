/*
 * report.c — the heap report: one self-contained HTML file drawn from a
 * snapshot (and optionally an older one).
 *
 * Self-contained means: every style and the one small script are inline, the
 * pictures are inline SVG, and nothing is fetched (no link, no font, no
 * image URL), so the file opens the same from a CI artefact, an e-mail or a
 * machine without network. Sections:
 *   1. a summary (traced bytes now and at the peak, blocks, sites);
 *   2. live bytes by allocation site and by type, each as a squarified
 *      treemap (Bruls, Huizing and van Wijk): rectangles in order of size,
 *      laid out in rows along the shorter side of the space left, a row
 *      growing while its worst aspect ratio improves. Colour follows the file
 *      (by site) or the type name (a hash of it picks the hue); every
 *      rectangle carries a tooltip with its exact figures;
 *   3. the top growers between the two snapshots (compare_to by site), with
 *      bars proportional to the growth;
 *   4. the collector: collections, collected and uncollectable objects per
 *      generation, and the recorded pauses as a bar chart.
 * The script only adds sorting to the tables' headers and marks the page as
 * rendered (body data-ready="1"), which the headless-browser test checks.
 */
#include "tools/tools_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static void html(FILE *out, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

static void human(char *buf, size_t cap, double v) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    double a = fabs(v);
    while (a >= 1024 && i < 4) {
        a /= 1024;
        v /= 1024;
        i++;
    }
    snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static unsigned hue_of(const char *s) {
    uint32_t h = 2166136261u;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % 360;
}

typedef struct tm_rect {
    double x, y, w, h;
} tm_rect;

/* Worst aspect ratio of a row of values (sorted, biggest first) whose sum
 * is `sum`, laid along a side of length `side`. */
static double worst(const double *v, size_t n, double sum, double side) {
    double s2 = side * side, sum2 = sum * sum;
    double a = s2 * v[0] / sum2, b = sum2 / (s2 * v[n - 1]);
    return a > b ? a : b;
}

/* Squarified layout of v[0..n) (sorted, biggest first, sum = w*h). */
static void squarify(const double *v, size_t n, double x, double y, double w, double h, tm_rect *out) {
    size_t i = 0;
    while (i < n) {
        double side = w < h ? w : h;
        if (side <= 0) side = 1e-9;
        size_t j = i + 1;
        double sum = v[i], best = worst(v + i, 1, sum, side);
        while (j < n) {
            double ns = sum + v[j], r = worst(v + i, j - i + 1, ns, side);
            if (r > best) break;
            best = r;
            sum = ns;
            j++;
        }
        double thick = sum / side;
        double pos = 0;
        for (size_t k = i; k < j; k++) {
            double len = sum > 0 ? v[k] / sum * side : 0;
            if (w >= h) out[k] = (tm_rect){x, y + pos, thick, len};
            else out[k] = (tm_rect){x + pos, y, len, thick};
            pos += len;
        }
        if (w >= h) {
            x += thick;
            w -= thick;
        } else {
            y += thick;
            h -= thick;
        }
        i = j;
    }
}

#define TM_W 960.0
#define TM_H 420.0
#define TM_MAX 80

/* A treemap of stats (sorted by size, biggest first): the first TM_MAX, the
 * rest as one "others" rectangle. */
static void treemap(FILE *out, const rh_stat *st, size_t n, rh_stat_key key, const char *id) {
    size_t m = n < TM_MAX ? n : TM_MAX;
    double total = 0, others = 0;
    for (size_t i = 0; i < n; i++) {
        total += (double)st[i].size;
        if (i >= m) others += (double)st[i].size;
    }
    fprintf(out, "<svg id=\"%s\" class=\"treemap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "viewBox=\"0 0 %.0f %.0f\">\n",
            id, TM_W, TM_H, TM_W, TM_H);
    if (total <= 0) {
        fprintf(out, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#eee\"/><text x=\"20\" y=\"40\">no live traced "
                     "blocks</text></svg>\n",
                TM_W, TM_H);
        return;
    }
    size_t k = m + (others > 0);
    double *v = malloc(k * sizeof *v);
    tm_rect *r = malloc(k * sizeof *r);
    if (!v || !r) {
        free(v);
        free(r);
        fputs("</svg>\n", out);
        return;
    }
    double scale = TM_W * TM_H / total;
    /* which[i]: the stat drawn as rectangle i, SIZE_MAX for "others" */
    size_t *which = malloc(k * sizeof *which);
    if (!which) {
        free(v);
        free(r);
        fputs("</svg>\n", out);
        return;
    }
    for (size_t i = 0; i < m; i++) {
        v[i] = (double)st[i].size * scale;
        which[i] = i;
    }
    if (others > 0) {
        v[m] = others * scale;
        which[m] = SIZE_MAX;
    }
    /* "others" may outweigh the last rows: keep the values sorted */
    for (size_t i = k - 1; i > 0 && v[i] > v[i - 1]; i--) {
        double t = v[i];
        v[i] = v[i - 1];
        v[i - 1] = t;
        size_t w = which[i];
        which[i] = which[i - 1];
        which[i - 1] = w;
    }
    squarify(v, k, 0, 0, TM_W, TM_H, r);
    for (size_t i = 0; i < k; i++) {
        const rh_stat *s = NULL;
        char label[300], size[32];
        if (which[i] == SIZE_MAX) {
            human(size, sizeof size, others);
            snprintf(label, sizeof label, "%zu others", n - m);
        } else {
            s = &st[which[i]];
            human(size, sizeof size, (double)s->size);
            if (key == RH_STAT_TYPE) snprintf(label, sizeof label, "%s", s->type_name ? s->type_name : "(raw memory)");
            else if (key == RH_STAT_FILE) snprintf(label, sizeof label, "%s", s->file ? s->file : "?");
            else snprintf(label, sizeof label, "%s:%d", s->file ? s->file : "?", s->line);
        }
        const char *colour_key = s ? (key == RH_STAT_TYPE ? (s->type_name ? s->type_name : "") : s->file) : "";
        unsigned hue = hue_of(colour_key);
        fprintf(out, "<g><title>");
        html(out, label);
        if (s)
            fprintf(out, " \xe2\x80\x94 %s in %" PRIu64 " blocks (%.1f%%)", size, s->count,
                    100.0 * (double)s->size / total);
        else fprintf(out, " \xe2\x80\x94 %s", size);
        fputs("</title>", out);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" style=\"fill:hsl(%u,%d%%,%d%%)\" "
                     "stroke=\"#ffffff\" stroke-width=\"1.5\"/>",
                r[i].x, r[i].y, r[i].w, r[i].h, hue, s ? 55 : 0, s ? 62 : 80);
        if (r[i].w > 70 && r[i].h > 28) {
            size_t maxc = (size_t)(r[i].w / 7.2);
            char shown[300];
            snprintf(shown, sizeof shown, "%s", label);
            if (strlen(shown) > maxc && maxc > 3) {
                /* keep the end (the file name and line) */
                size_t L = strlen(shown);
                memmove(shown + 1, shown + L - (maxc - 1), maxc);
                shown[0] = '~';
            }
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", r[i].x + 4, r[i].y + 15);
            html(out, shown);
            fprintf(out, "</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#333\">%s</text>", r[i].x + 4,
                    r[i].y + 28, size);
        }
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
    free(which);
    free(v);
    free(r);
}

static void site_label(char *buf, size_t cap, const rh_stat *s) {
    if (s->file && s->line) snprintf(buf, cap, "%s:%d", s->file, s->line);
    else if (s->file) snprintf(buf, cap, "%s", s->file);
    else snprintf(buf, cap, "%s", s->type_name ? s->type_name : "(raw memory)");
}

static void stat_table(FILE *out, const rh_stat *st, size_t n, size_t limit, const char *what) {
    fprintf(out, "<table class=\"sortable\"><thead><tr><th>%s</th><th>size</th><th>blocks</th><th>average</th>"
                 "</tr></thead><tbody>\n",
            what);
    for (size_t i = 0; i < n && i < limit; i++) {
        char label[300], size[32], avg[32];
        site_label(label, sizeof label, &st[i]);
        human(size, sizeof size, (double)st[i].size);
        human(avg, sizeof avg, st[i].count ? (double)st[i].size / (double)st[i].count : 0);
        fputs("<tr><td>", out);
        html(out, label);
        fprintf(out, "</td><td data-v=\"%" PRIu64 "\">%s</td><td data-v=\"%" PRIu64 "\">%" PRIu64
                     "</td><td>%s</td></tr>\n",
                st[i].size, size, st[i].count, st[i].count, avg);
    }
    fputs("</tbody></table>\n", out);
}

static const char *const SCRIPT =
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  function key(td) { var v = td.getAttribute('data-v'); return v === null ? td.textContent : Number(v); }\n"
    "  var tables = document.querySelectorAll('table.sortable');\n"
    "  Array.prototype.forEach.call(tables, function (table) {\n"
    "    var heads = table.querySelectorAll('th');\n"
    "    Array.prototype.forEach.call(heads, function (th, col) {\n"
    "      th.addEventListener('click', function () {\n"
    "        var body = table.tBodies[0];\n"
    "        var rows = Array.prototype.slice.call(body.rows);\n"
    "        var desc = th.getAttribute('data-desc') !== '1';\n"
    "        rows.sort(function (a, b) {\n"
    "          var x = key(a.cells[col]), y = key(b.cells[col]);\n"
    "          return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);\n"
    "        });\n"
    "        th.setAttribute('data-desc', desc ? '1' : '0');\n"
    "        rows.forEach(function (r) { body.appendChild(r); });\n"
    "      });\n"
    "    });\n"
    "  });\n"
    "  document.body.setAttribute('data-ready', '1');\n"
    "})();\n"
    "</script>\n";

int rh_report_write_html(const rh_snapshot *now, const rh_snapshot *before, const char *title, FILE *out) {
    if (!title) title = "refheap heap report";
    size_t nsite = 0, ntype = 0, ngrow = 0;
    rh_stat *sites = rh_snapshot_statistics(now, RH_STAT_SITE, &nsite);
    rh_stat *types = rh_snapshot_statistics(now, RH_STAT_TYPE, &ntype);
    rh_stat *grow = before ? rh_snapshot_compare_to(now, before, RH_STAT_SITE, &ngrow) : NULL;
    if ((now->ntraces && (!sites || !types)) || (before && (now->ntraces || before->ntraces) && !grow)) {
        free(sites);
        free(types);
        free(grow);
        return -1;
    }
    uint64_t blocks = 0;
    for (size_t i = 0; i < now->ntraces; i++) blocks += now->traces[i].count;
    char cur[32], peak[32];
    human(cur, sizeof cur, (double)now->traced_current);
    human(peak, sizeof peak, (double)now->traced_peak);

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", out);
    html(out, title);
    fputs("</title>\n<style>\n"
          "body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fafafa}\n"
          "h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccc}\n"
          ".summary span{display:inline-block;margin-right:28px;padding:6px 10px;background:#e8eef7;"
          "border-radius:4px}\n"
          "svg.treemap{background:#fff;border:1px solid #bbb;display:block}svg text{font-family:Helvetica,Arial,"
          "sans-serif;pointer-events:none}\n"
          "table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;"
          "text-align:left}th{background:#e4e4e4;cursor:pointer}td.num{text-align:right}\n"
          ".bar{display:inline-block;height:10px;background:#d9534f;vertical-align:middle}"
          ".bar.neg{background:#5cb85c}\n"
          "</style></head>\n<body>\n<h1>",
          out);
    html(out, title);
    fprintf(out, "</h1>\n<div class=\"summary\"><span>traced now: <b>%s</b></span><span>traced peak: <b>%s</b></span>"
                 "<span>live blocks: <b>%" PRIu64 "</b></span><span>sites: <b>%zu</b></span>"
                 "<span>traceback frames: <b>%d</b></span></div>\n",
            cur, peak, blocks, nsite, now->nframes);

    fputs("<h2>Live bytes by allocation site</h2>\n", out);
    treemap(out, sites, nsite, RH_STAT_SITE, "by-site");
    stat_table(out, sites, nsite, 25, "site");
    fputs("<h2>Live bytes by type</h2>\n", out);
    treemap(out, types, ntype, RH_STAT_TYPE, "by-type");
    stat_table(out, types, ntype, 25, "type");

    if (before) {
        fputs("<h2>Top growers since the earlier snapshot</h2>\n", out);
        uint64_t maxd = 1;
        for (size_t i = 0; i < ngrow && i < 25; i++) {
            uint64_t d = grow[i].size_diff < 0 ? (uint64_t)-grow[i].size_diff : (uint64_t)grow[i].size_diff;
            if (d > maxd) maxd = d;
        }
        fputs("<table class=\"sortable\"><thead><tr><th>site</th><th>size change</th><th></th><th>size now</th>"
              "<th>blocks change</th></tr></thead><tbody>\n",
              out);
        for (size_t i = 0; i < ngrow && i < 25; i++) {
            char label[300], d[32], sz[32];
            site_label(label, sizeof label, &grow[i]);
            human(d, sizeof d, (double)grow[i].size_diff);
            human(sz, sizeof sz, (double)grow[i].size);
            uint64_t ad = grow[i].size_diff < 0 ? (uint64_t)-grow[i].size_diff : (uint64_t)grow[i].size_diff;
            fputs("<tr><td>", out);
            html(out, label);
            fprintf(out, "</td><td data-v=\"%" PRId64 "\">%s%s</td><td><span class=\"bar%s\" style=\"width:%.0fpx\">"
                         "</span></td><td data-v=\"%" PRIu64 "\">%s</td><td data-v=\"%" PRId64 "\">%+" PRId64
                         "</td></tr>\n",
                    grow[i].size_diff, grow[i].size_diff > 0 ? "+" : "", d, grow[i].size_diff < 0 ? " neg" : "",
                    200.0 * (double)ad / (double)maxd, grow[i].size, sz, grow[i].count_diff, grow[i].count_diff);
        }
        fputs("</tbody></table>\n", out);
    }

    fputs("<h2>Collector</h2>\n<table><thead><tr><th>generation</th><th>collections</th><th>collected</th>"
          "<th>uncollectable</th></tr></thead><tbody>\n",
          out);
    for (int g = 0; g < RH_GC_GENERATIONS; g++)
        fprintf(out, "<tr><td>%d</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td></tr>\n", g,
                now->gc[g].collections, now->gc[g].collected, now->gc[g].uncollectable);
    fputs("</tbody></table>\n", out);
    if (now->pause_count) {
        fprintf(out, "<p>%" PRIu64 " pauses recorded, %.3f ms in all, longest %.3f ms, mean %.3f ms.</p>\n",
                now->pause_count, (double)now->pause_total_ns / 1e6, (double)now->pause_max_ns / 1e6,
                (double)now->pause_total_ns / 1e6 / (double)now->pause_count);
        uint64_t mx = 1;
        for (size_t i = 0; i < now->npauses; i++) {
            uint64_t ns = now->pauses[i] & (((uint64_t)1 << 56) - 1);
            if (ns > mx) mx = ns;
        }
        double bw = TM_W / (double)(now->npauses ? now->npauses : 1);
        fprintf(out, "<svg class=\"pauses\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"120\">"
                     "<rect width=\"%.0f\" height=\"120\" fill=\"#fff\" stroke=\"#bbb\"/>\n",
                TM_W, TM_W);
        static const char *const colours[3] = {"#6baed6", "#fd8d3c", "#d62728"};
        for (size_t i = 0; i < now->npauses; i++) {
            unsigned gen = (unsigned)(now->pauses[i] >> 56);
            uint64_t ns = now->pauses[i] & (((uint64_t)1 << 56) - 1);
            double bh = 110.0 * (double)ns / (double)mx;
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>generation "
                         "%u: %.3f ms</title></rect>\n",
                    i * bw, 118 - bh, bw > 2 ? bw - 1 : bw, bh, colours[gen < 3 ? gen : 2], gen, (double)ns / 1e6);
        }
        fputs("</svg>\n<p>Bars: the last pauses, oldest first; blue generation 0, orange 1, red 2.</p>\n", out);
    } else {
        fputs("<p>No pauses recorded (rh_trace_record_pauses).</p>\n", out);
    }
    fputs(SCRIPT, out);
    fputs("</body></html>\n", out);
    free(sites);
    free(types);
    free(grow);
    return ferror(out) ? -1 : 0;
}
