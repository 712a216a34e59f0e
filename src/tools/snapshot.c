/*
 * snapshot.c — snapshots of the traced blocks (tracemalloc.Snapshot): take,
 * group, compare, filter, save and load; and the collector's pause recorder
 * whose figures snapshots carry.
 *
 * A snapshot is plain data that owns every byte it points to. Taking one is
 * one pass over trace.c's block table: the usable sizes and counts of the
 * live blocks are summed per trace id, and each trace with a live block
 * becomes one row (file, line, type name, traceback, size, count). Rows are
 * per trace, not per block: a million live blocks from a few hundred sites
 * make a few hundred rows, so grouping and comparing cost nothing next to the
 * pass. Strings (files, type names, symbolised frames from
 * backtrace_symbols()) are copied into the snapshot's string table, once
 * each, so the snapshot outlives the heap and the process (through a file).
 *
 * statistics(key) sorts the rows by the key and merges equal neighbours;
 * compare_to does it on both snapshots and walks the two sorted lists
 * together, so a key present in one snapshot only gets a size of 0 on the
 * other side; the result is sorted by the absolute size difference.
 *
 * The file format, version 1 (docs/api.md). Text, one record per line, fields
 * separated by one space; a string field is "=" followed by its bytes with
 * every byte below 0x21, 0x7f, '%' and '=' written as %XX; "-" is no string:
 *
 *   refheap-snapshot 1
 *   nframes N
 *   traced CURRENT PEAK
 *   gc GEN COLLECTIONS COLLECTED UNCOLLECTABLE        (three lines, GEN 0..2)
 *   pauses COUNT TOTAL_NS MAX_NS N                    then N lines "p GEN NS"
 *   tracebacks N                                      then N times: "tb K" and K lines "f =FRAME"
 *   traces N                                          then N lines "t SIZE COUNT LINE TB =FILE =TYPE|-"
 *   end CHECKSUM
 *
 * CHECKSUM is the FNV-1a 64-bit hash of every byte before "end", in 16 hex
 * digits; the end line must be the file's last. tracebacks lists the
 * non-empty ones (index 1..N; 0 is the empty traceback). The loader checks
 * the checksum first, then parses each line strictly (counts bounded by the
 * bytes left, indices in range), so a truncated or corrupt file is an error
 * with the line it failed on, never a crash or a half-read snapshot.
 */
#include "tools/tools_internal.h"

#include <errno.h>
#include <execinfo.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * The snapshot's owned strings
 * ------------------------------------------------------------------------- */

typedef struct owned {
    char **strs;
    size_t n, cap;
    rh__index index;
} owned;

typedef struct str_key {
    const owned *o;
    const char *s;
    size_t len;
} str_key;

static bool str_eq(const void *ctx, uint32_t idx) {
    const str_key *k = ctx;
    return strncmp(k->o->strs[idx], k->s, k->len) == 0 && k->o->strs[idx][k->len] == '\0';
}

static uint32_t str_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

/* The snapshot's copy of s[0..len) (NULL: out of memory). */
static const char *own_n(owned *o, const char *s, size_t len) {
    uint32_t hash = str_hash(s, len);
    str_key k = {o, s, len};
    long f = rh__index_find(&o->index, hash, str_eq, &k);
    if (f >= 0) return o->strs[f];
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 32;
        char **p = realloc(o->strs, cap * sizeof *p);
        if (!p) return NULL;
        o->strs = p;
        o->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c) return NULL;
    memcpy(c, s, len);
    c[len] = '\0';
    if (rh__index_add(&o->index, hash, (uint32_t)o->n) != 0) {
        free(c);
        return NULL;
    }
    o->strs[o->n++] = c;
    return c;
}

static const char *own(owned *o, const char *s) { return own_n(o, s, strlen(s)); }

static rh_snapshot *snapshot_new(void) {
    rh_snapshot *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->rh_owned = calloc(1, sizeof(owned));
    if (!s->rh_owned) {
        free(s);
        return NULL;
    }
    return s;
}

void rh_snapshot_free(rh_snapshot *s) {
    if (!s) return;
    owned *o = s->rh_owned;
    if (o) {
        for (size_t i = 0; i < o->n; i++) free(o->strs[i]);
        free(o->strs);
        rh__index_free(&o->index);
        free(o);
    }
    for (size_t i = 0; i < s->ntracebacks; i++) free(s->tracebacks[i].frames);
    free(s->tracebacks);
    free(s->traces);
    free(s->pauses);
    free(s);
}

/* Adds the empty traceback 0 and room for n more. */
static int tracebacks_init(rh_snapshot *s, size_t n) {
    s->tracebacks = calloc(n + 1, sizeof *s->tracebacks);
    if (!s->tracebacks) return -1;
    s->ntracebacks = 1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Collector pauses
 * ------------------------------------------------------------------------- */

static void on_gc(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)data;
    struct rh__tools *T = h->tools;
    if (phase != RH_GC_STOP || !T) return;
    T->pause_count++;
    T->pause_total_ns += info->duration_ns;
    if (info->duration_ns > T->pause_max_ns) T->pause_max_ns = info->duration_ns;
    uint64_t ns = info->duration_ns & (((uint64_t)1 << 56) - 1);
    T->pause_ring[T->pause_head++ % 256] = (uint64_t)info->generation << 56 | ns;
}

int rh_trace_record_pauses(rh_heap *h, bool on) {
    struct rh__tools *T = rh__tools_get(h);
    if (!T) {
        rh__nomem(h);
        return -1;
    }
    if (on == T->pauses_on) return 0;
    if (on) {
        if (rh_gc_callback_add(h, on_gc, NULL) != 0) return -1;
    } else {
        rh_gc_callback_remove(h, on_gc, NULL);
    }
    T->pauses_on = on;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Taking a snapshot
 * ------------------------------------------------------------------------- */

typedef struct sums {
    uint64_t *size, *count;
} sums;

static void sum_block(void *block, uint32_t id, size_t size, void *arg) {
    (void)block;
    sums *s = arg;
    s->size[id] += size;
    s->count[id]++;
}

rh_snapshot *rh_snapshot_take(rh_heap *h) {
    struct rh__tools *T = h->tools;
    if (!T || !T->tracing) {
        rh_err_set(h, RH_ESTATE, "rh_snapshot_take: the heap is not tracing (rh_trace_start)");
        return NULL;
    }
#if RH_DEBUG >= 3
    rh__trace_check(h);
#endif
    rh_snapshot *s = snapshot_new();
    uint64_t *size = calloc(T->ntraces, sizeof *size), *count = calloc(T->ntraces, sizeof *count);
    uint32_t *tbmap = calloc(T->ntbs, sizeof *tbmap);
    if (!s || !size || !count || !tbmap) goto nomem;
    owned *o = s->rh_owned;
    sums sm = {size, count};
    rh__trace_each(h, sum_block, &sm);
    size_t rows = 0, ntb = 0;
    for (size_t i = 0; i < T->ntraces; i++) {
        if (!count[i]) continue;
        rows++;
        uint32_t tb = T->traces[i].traceback;
        if (tb && !tbmap[tb]) tbmap[tb] = (uint32_t)++ntb;
    }
    s->traces = calloc(rows ? rows : 1, sizeof *s->traces);
    if (!s->traces || tracebacks_init(s, ntb) != 0) goto nomem;
    s->nframes = T->nframes;
    s->traced_current = T->f.current;
    s->traced_peak = T->f.peak;
    for (size_t i = 1; i < T->ntbs; i++) {
        if (!tbmap[i]) continue;
        const rh__traceback *tb = &T->tbs[i];
        rh_snapshot_traceback *st = &s->tracebacks[tbmap[i]];
        st->frames = calloc(tb->n, sizeof *st->frames);
        if (!st->frames) goto nomem;
        st->nframes = tb->n;
        char **names = backtrace_symbols(T->frames + tb->off, (int)tb->n);
        for (uint32_t k = 0; k < tb->n; k++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%p", T->frames[tb->off + k]);
            st->frames[k] = own(o, names ? names[k] : buf);
            if (!st->frames[k]) {
                free(names);
                goto nomem;
            }
        }
        free(names);
    }
    s->ntracebacks = ntb + 1;
    for (size_t i = 0; i < T->ntraces; i++) {
        if (!count[i]) continue;
        const rh__trace *t = &T->traces[i];
        rh_snapshot_trace *r = &s->traces[s->ntraces++];
        r->file = own(o, t->file ? t->file : "?");
        r->type_name = t->type_name ? own(o, t->type_name) : NULL;
        if (!r->file || (t->type_name && !r->type_name)) goto nomem;
        r->line = t->line;
        r->traceback = t->traceback ? tbmap[t->traceback] : 0;
        r->size = size[i];
        r->count = count[i];
    }
    rh_gc_get_stats(h, s->gc);
    s->pause_count = T->pause_count;
    s->pause_total_ns = T->pause_total_ns;
    s->pause_max_ns = T->pause_max_ns;
    size_t np = T->pause_head < 256 ? T->pause_head : 256;
    s->pauses = calloc(np ? np : 1, sizeof *s->pauses);
    if (!s->pauses) goto nomem;
    for (size_t i = 0; i < np; i++) s->pauses[i] = T->pause_ring[(T->pause_head - np + i) % 256];
    s->npauses = np;
    free(size);
    free(count);
    free(tbmap);
    return s;
nomem:
    free(size);
    free(count);
    free(tbmap);
    rh_snapshot_free(s);
    rh__nomem(h);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Copying rows into a new snapshot (filters, loading)
 * ------------------------------------------------------------------------- */

/* A copy of s's tracebacks and of the rows for which keep[i] (NULL: all). */
static rh_snapshot *snapshot_copy(const rh_snapshot *s, const bool *keep) {
    rh_snapshot *c = snapshot_new();
    if (!c) return NULL;
    owned *o = c->rh_owned;
    c->nframes = s->nframes;
    c->traced_current = s->traced_current;
    c->traced_peak = s->traced_peak;
    memcpy(c->gc, s->gc, sizeof c->gc);
    c->pause_count = s->pause_count;
    c->pause_total_ns = s->pause_total_ns;
    c->pause_max_ns = s->pause_max_ns;
    c->pauses = calloc(s->npauses ? s->npauses : 1, sizeof *c->pauses);
    c->traces = calloc(s->ntraces ? s->ntraces : 1, sizeof *c->traces);
    if (!c->pauses || !c->traces || tracebacks_init(c, s->ntracebacks) != 0) goto nomem;
    memcpy(c->pauses, s->pauses, s->npauses * sizeof *c->pauses);
    c->npauses = s->npauses;
    for (size_t i = 1; i < s->ntracebacks; i++) {
        const rh_snapshot_traceback *tb = &s->tracebacks[i];
        rh_snapshot_traceback *ct = &c->tracebacks[i];
        ct->frames = calloc(tb->nframes ? tb->nframes : 1, sizeof *ct->frames);
        if (!ct->frames) goto nomem;
        c->ntracebacks = i + 1;
        ct->nframes = tb->nframes;
        for (size_t k = 0; k < tb->nframes; k++)
            if (!(ct->frames[k] = own(o, tb->frames[k]))) goto nomem;
    }
    c->ntracebacks = s->ntracebacks ? s->ntracebacks : 1;
    for (size_t i = 0; i < s->ntraces; i++) {
        if (keep && !keep[i]) continue;
        const rh_snapshot_trace *t = &s->traces[i];
        rh_snapshot_trace *r = &c->traces[c->ntraces++];
        *r = *t;
        r->file = own(o, t->file ? t->file : "?");
        r->type_name = t->type_name ? own(o, t->type_name) : NULL;
        if (!r->file || (t->type_name && !r->type_name)) goto nomem;
    }
    return c;
nomem:
    rh_snapshot_free(c);
    return NULL;
}

static bool filter_match(const rh_snapshot_filter *f, const rh_snapshot_trace *t) {
    if (f->file_pattern && fnmatch(f->file_pattern, t->file ? t->file : "?", 0) != 0) return false;
    if (f->line && f->line != t->line) return false;
    if (f->type_name) {
        if (!f->type_name[0]) return t->type_name == NULL;
        if (!t->type_name || strcmp(f->type_name, t->type_name) != 0) return false;
    }
    return true;
}

rh_snapshot *rh_snapshot_filter_traces(const rh_snapshot *s, const rh_snapshot_filter *filters, size_t n) {
    bool *keep = calloc(s->ntraces ? s->ntraces : 1, sizeof *keep);
    if (!keep) return NULL;
    bool any_inclusive = false;
    for (size_t k = 0; k < n; k++) any_inclusive |= filters[k].inclusive;
    for (size_t i = 0; i < s->ntraces; i++) {
        bool in = !any_inclusive, out = false;
        for (size_t k = 0; k < n; k++) {
            if (!filter_match(&filters[k], &s->traces[i])) continue;
            if (filters[k].inclusive) in = true;
            else out = true;
        }
        keep[i] = in && !out;
    }
    rh_snapshot *c = snapshot_copy(s, keep);
    free(keep);
    return c;
}

/* ---------------------------------------------------------------------------
 * Statistics and comparison
 * ------------------------------------------------------------------------- */

static int cmp_str(const char *a, const char *b) {
    if (a == b) return 0;
    if (!a) return -1;
    if (!b) return 1;
    return strcmp(a, b);
}

static int cmp_tb(const rh_snapshot_traceback *a, const rh_snapshot_traceback *b) {
    size_t na = a ? a->nframes : 0, nb = b ? b->nframes : 0;
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = strcmp(a->frames[i], b->frames[i]);
        if (c) return c;
    }
    return na < nb ? -1 : na > nb;
}

static int cmp_key(const rh_stat *a, const rh_stat *b) {
    int c = cmp_str(a->file, b->file);
    if (c) return c;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    c = cmp_str(a->type_name, b->type_name);
    if (c) return c;
    return cmp_tb(a->traceback, b->traceback);
}

static int qcmp_key(const void *a, const void *b) { return cmp_key(a, b); }

/* The key part of a row. */
static rh_stat key_of(const rh_snapshot *s, const rh_snapshot_trace *t, rh_stat_key key) {
    rh_stat st = {0};
    switch (key) {
    case RH_STAT_TYPE: st.type_name = t->type_name; break;
    case RH_STAT_FILE: st.file = t->file; break;
    case RH_STAT_TRACEBACK:
        st.traceback = t->traceback < s->ntracebacks ? &s->tracebacks[t->traceback] : &s->tracebacks[0];
        /* fall through */
    case RH_STAT_SITE:
        st.file = t->file;
        st.line = t->line;
        break;
    }
    st.size = t->size;
    st.count = t->count;
    return st;
}

/* s's rows grouped by key, sorted by key; *n groups. NULL when out of memory
 * (or empty, *n == 0). */
static rh_stat *group(const rh_snapshot *s, rh_stat_key key, size_t *n) {
    *n = 0;
    if (!s->ntraces) return NULL;
    rh_stat *v = malloc(s->ntraces * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < s->ntraces; i++) v[i] = key_of(s, &s->traces[i], key);
    qsort(v, s->ntraces, sizeof *v, qcmp_key);
    size_t m = 0;
    for (size_t i = 0; i < s->ntraces; i++) {
        if (m && cmp_key(&v[m - 1], &v[i]) == 0) {
            v[m - 1].size += v[i].size;
            v[m - 1].count += v[i].count;
        } else {
            v[m++] = v[i];
        }
    }
    *n = m;
    return v;
}

static uint64_t abs64(int64_t x) { return x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x; }

static int qcmp_size(const void *pa, const void *pb) {
    const rh_stat *a = pa, *b = pb;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return cmp_key(a, b);
}

static int qcmp_diff(const void *pa, const void *pb) {
    const rh_stat *a = pa, *b = pb;
    uint64_t da = abs64(a->size_diff), db = abs64(b->size_diff);
    if (da != db) return da > db ? -1 : 1;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    da = abs64(a->count_diff);
    db = abs64(b->count_diff);
    if (da != db) return da > db ? -1 : 1;
    return cmp_key(a, b);
}

rh_stat *rh_snapshot_statistics(const rh_snapshot *s, rh_stat_key key, size_t *n) {
    rh_stat *v = group(s, key, n);
    if (v) qsort(v, *n, sizeof *v, qcmp_size);
    return v;
}

rh_stat *rh_snapshot_compare_to(const rh_snapshot *now, const rh_snapshot *old, rh_stat_key key, size_t *n) {
    size_t na, nb;
    *n = 0;
    rh_stat *a = group(now, key, &na);
    rh_stat *b = group(old, key, &nb);
    if ((now->ntraces && !a) || (old->ntraces && !b) || na + nb == 0) goto out;
    rh_stat *v = malloc((na + nb) * sizeof *v);
    if (!v) goto out;
    size_t i = 0, j = 0, m = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : cmp_key(&a[i], &b[j]);
        rh_stat st;
        if (c < 0) {
            st = a[i++];
            st.size_diff = (int64_t)st.size;
            st.count_diff = (int64_t)st.count;
        } else if (c > 0) {
            st = b[j++];
            st.size_diff = -(int64_t)st.size;
            st.count_diff = -(int64_t)st.count;
            st.size = st.count = 0;
        } else {
            st = a[i];
            st.size_diff = (int64_t)(a[i].size - b[j].size);
            st.count_diff = (int64_t)(a[i].count - b[j].count);
            i++;
            j++;
        }
        v[m++] = st;
    }
    qsort(v, m, sizeof *v, qcmp_diff);
    free(a);
    free(b);
    *n = m;
    return v;
out:
    free(a);
    free(b);
    return NULL;
}

/* "12.3 KiB" like tracemalloc's _format_size. */
static void fmt_size(char *buf, size_t cap, double size, bool sign) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double a = size < 0 ? -size : size;
    int u = 0;
    while (a >= 100 * 1024.0 && u < 4) {
        a /= 1024;
        size /= 1024;
        u++;
    }
    if (u == 0 && a < 10 * 1024) snprintf(buf, cap, sign ? "%+.0f %s" : "%.0f %s", size, units[0]);
    else if (u == 0) snprintf(buf, cap, sign ? "%+.1f KiB" : "%.1f KiB", size / 1024);
    else snprintf(buf, cap, sign ? "%+.1f %s" : "%.1f %s", size, units[u]);
}

void rh_stat_print(const rh_stat *stats, size_t n, size_t limit, bool diff, FILE *out) {
    if (limit && limit < n) n = limit;
    for (size_t i = 0; i < n; i++) {
        const rh_stat *st = &stats[i];
        char size[32], sdiff[32], avg[32];
        fmt_size(size, sizeof size, (double)st->size, false);
        fmt_size(sdiff, sizeof sdiff, (double)st->size_diff, true);
        fmt_size(avg, sizeof avg, st->count ? (double)st->size / (double)st->count : 0.0, false);
        if (st->file && st->line) fprintf(out, "%s:%d: ", st->file, st->line);
        else if (st->file) fprintf(out, "%s: ", st->file);
        else fprintf(out, "%s: ", st->type_name ? st->type_name : "(raw memory)");
        if (diff)
            fprintf(out, "size=%s (%s), count=%" PRIu64 " (%+" PRId64 "), average=%s\n", size, sdiff, st->count,
                    st->count_diff, avg);
        else fprintf(out, "size=%s, count=%" PRIu64 ", average=%s\n", size, st->count, avg);
        if (st->traceback)
            for (size_t k = 0; k < st->traceback->nframes; k++) fprintf(out, "    %s\n", st->traceback->frames[k]);
    }
}

/* ---------------------------------------------------------------------------
 * Saving
 * ------------------------------------------------------------------------- */

static void set_err(char *err, size_t cap, const char *fmt, ...) RH_PRINTF(3, 4);
static void set_err(char *err, size_t cap, const char *fmt, ...) {
    if (!err || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* The output buffer, with the running checksum. */
typedef struct outbuf {
    char *p;
    size_t len, cap;
    bool failed;
} outbuf;

static void put(outbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void putf(outbuf *b, const char *fmt, ...) RH_PRINTF(2, 3);
static void putf(outbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_str(outbuf *b, const char *s) {
    if (!s) {
        put(b, " -", 2);
        return;
    }
    put(b, " =", 2);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x21 || *c == 0x7f || *c == '%' || *c == '=') putf(b, "%%%02X", *c);
        else put(b, (const char *)c, 1);
    }
}

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

int rh_snapshot_save(const rh_snapshot *s, const char *path, char *err, size_t errcap) {
    outbuf b = {0};
    putf(&b, "refheap-snapshot %d\n", RH_SNAPSHOT_FORMAT_VERSION);
    putf(&b, "nframes %d\n", s->nframes);
    putf(&b, "traced %" PRIu64 " %" PRIu64 "\n", s->traced_current, s->traced_peak);
    for (int g = 0; g < RH_GC_GENERATIONS; g++)
        putf(&b, "gc %d %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", g, s->gc[g].collections, s->gc[g].collected,
             s->gc[g].uncollectable);
    putf(&b, "pauses %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu\n", s->pause_count, s->pause_total_ns, s->pause_max_ns,
         s->npauses);
    for (size_t i = 0; i < s->npauses; i++)
        putf(&b, "p %u %" PRIu64 "\n", (unsigned)(s->pauses[i] >> 56), s->pauses[i] & (((uint64_t)1 << 56) - 1));
    putf(&b, "tracebacks %zu\n", s->ntracebacks ? s->ntracebacks - 1 : 0);
    for (size_t i = 1; i < s->ntracebacks; i++) {
        putf(&b, "tb %zu\n", s->tracebacks[i].nframes);
        for (size_t k = 0; k < s->tracebacks[i].nframes; k++) {
            put(&b, "f", 1);
            put_str(&b, s->tracebacks[i].frames[k]);
            put(&b, "\n", 1);
        }
    }
    putf(&b, "traces %zu\n", s->ntraces);
    for (size_t i = 0; i < s->ntraces; i++) {
        const rh_snapshot_trace *t = &s->traces[i];
        putf(&b, "t %" PRIu64 " %" PRIu64 " %d %zu", t->size, t->count, t->line, t->traceback);
        put_str(&b, t->file ? t->file : "?");
        put_str(&b, t->type_name);
        put(&b, "\n", 1);
    }
    if (!b.failed) putf(&b, "end %016" PRIx64 "\n", fnv1a(b.p, b.len));
    if (b.failed) {
        free(b.p);
        set_err(err, errcap, "rh_snapshot_save: out of memory");
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        set_err(err, errcap, "rh_snapshot_save: cannot open %s: %s", path, strerror(errno));
        free(b.p);
        return -1;
    }
    bool ok = fwrite(b.p, 1, b.len, f) == b.len;
    ok = (fclose(f) == 0) && ok;
    free(b.p);
    if (!ok) {
        set_err(err, errcap, "rh_snapshot_save: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------- */

typedef struct parser {
    const char *data;
    size_t len, pos;
    size_t lineno;
    char line[8192]; /* the current line, NUL-terminated */
    char *field;     /* next field within line          */
    char *err;
    size_t errcap;
    bool failed;
} parser;

static bool fail(parser *p, const char *what) {
    if (!p->failed) set_err(p->err, p->errcap, "snapshot: line %zu: %s", p->lineno, what);
    p->failed = true;
    return false;
}

/* Reads the next line (without its newline) into p->line. */
static bool next_line(parser *p) {
    if (p->failed) return false;
    p->lineno++;
    if (p->pos >= p->len) return fail(p, "unexpected end of file (truncated)");
    const char *nl = memchr(p->data + p->pos, '\n', p->len - p->pos);
    if (!nl) return fail(p, "line without its newline (truncated)");
    size_t n = (size_t)(nl - (p->data + p->pos));
    if (n >= sizeof p->line) return fail(p, "line too long");
    if (memchr(p->data + p->pos, '\0', n)) return fail(p, "NUL byte in a line");
    memcpy(p->line, p->data + p->pos, n);
    p->line[n] = '\0';
    p->pos += n + 1;
    p->field = p->line;
    return true;
}

/* The next space-separated field, or NULL. */
static char *field(parser *p) {
    if (p->failed || !p->field || !*p->field) return NULL;
    char *f = p->field;
    char *sp = strchr(f, ' ');
    if (sp) {
        *sp = '\0';
        p->field = sp + 1;
    } else {
        p->field = f + strlen(f);
    }
    return f;
}

static bool expect_word(parser *p, const char *w) {
    char *f = field(p);
    if (!f || strcmp(f, w) != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "expected \"%s\"", w);
        return fail(p, msg);
    }
    return true;
}

static bool get_u64(parser *p, uint64_t *out) {
    char *f = field(p);
    if (!f || !*f || *f == '-' || *f == '+') return fail(p, "expected an unsigned number");
    for (const char *c = f; *c; c++)
        if (*c < '0' || *c > '9') return fail(p, "expected an unsigned number");
    errno = 0;
    unsigned long long v = strtoull(f, NULL, 10);
    if (errno) return fail(p, "number out of range");
    *out = v;
    return true;
}

static bool get_int(parser *p, int *out, int lo, int hi) {
    char *f = field(p);
    if (!f || !*f) return fail(p, "expected a number");
    char *end;
    errno = 0;
    long v = strtol(f, &end, 10);
    if (*end || errno || v < lo || v > hi) return fail(p, "number missing or out of range");
    *out = (int)v;
    return true;
}

static bool end_of_line(parser *p) {
    if (p->field && *p->field) return fail(p, "unexpected extra field");
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* A string field: "-" gives *out = NULL (when allow_null), "=..." the
 * decoded text, owned by o. */
static bool get_str(parser *p, owned *o, const char **out, bool allow_null) {
    char *f = field(p);
    if (!f) return fail(p, "expected a string field");
    if (f[0] == '-' && f[1] == '\0' && allow_null) {
        *out = NULL;
        return true;
    }
    if (f[0] != '=') return fail(p, "a string field starts with '='");
    char *w = f; /* decode in place: never longer */
    for (const char *c = f + 1; *c; c++) {
        if (*c == '%') {
            int hi = hexval(c[1]), lo = hi < 0 ? -1 : hexval(c[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return fail(p, "bad %XX escape");
            *w++ = (char)(hi * 16 + lo);
            c += 2;
        } else {
            *w++ = *c;
        }
    }
    *out = own_n(o, f, (size_t)(w - f));
    if (!*out) return fail(p, "out of memory");
    return true;
}

/* A count of records, each at least min_bytes long in the bytes left. */
static bool get_count(parser *p, size_t *out, size_t min_bytes, size_t max) {
    uint64_t v;
    if (!get_u64(p, &v)) return false;
    if (v > max || v > (p->len - p->pos) / min_bytes) return fail(p, "count larger than the file allows");
    *out = (size_t)v;
    return true;
}

rh_snapshot *rh_snapshot_parse(const char *data, size_t len, char *err, size_t errcap) {
    /* the checksum line: "end " + 16 hex digits + "\n", the file's end */
    const size_t END_LEN = 4 + 16 + 1;
    if (len < END_LEN || data[len - 1] != '\n' || memcmp(data + len - END_LEN, "end ", 4) != 0 ||
        (len > END_LEN && data[len - END_LEN - 1] != '\n')) {
        set_err(err, errcap, "snapshot: no end line: the file is truncated or not a refheap snapshot");
        return NULL;
    }
    uint64_t want = 0;
    for (size_t i = 0; i < 16; i++) {
        int v = hexval(data[len - END_LEN + 4 + i]);
        if (v < 0) {
            set_err(err, errcap, "snapshot: bad checksum field in the end line");
            return NULL;
        }
        want = want << 4 | (uint64_t)v;
    }
    if (fnv1a(data, len - END_LEN) != want) {
        set_err(err, errcap, "snapshot: checksum mismatch: the file is corrupt or truncated");
        return NULL;
    }
    parser *p = calloc(1, sizeof *p);
    rh_snapshot *s = snapshot_new();
    if (!p || !s) {
        free(p);
        rh_snapshot_free(s);
        set_err(err, errcap, "snapshot: out of memory");
        return NULL;
    }
    p->data = data;
    p->len = len - END_LEN;
    p->err = err;
    p->errcap = errcap;
    owned *o = s->rh_owned;
    int version = 0;
    uint64_t u;
    size_t n;
    if (!next_line(p) || !expect_word(p, "refheap-snapshot") || !get_int(p, &version, 0, 1 << 30)) goto bad;
    if (version != RH_SNAPSHOT_FORMAT_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg, "format version %d, this library reads version %d", version,
                 RH_SNAPSHOT_FORMAT_VERSION);
        fail(p, msg);
        goto bad;
    }
    if (!end_of_line(p)) goto bad;
    if (!next_line(p) || !expect_word(p, "nframes") || !get_int(p, &s->nframes, 0, RH_TRACE_MAX_FRAMES) ||
        !end_of_line(p))
        goto bad;
    if (!next_line(p) || !expect_word(p, "traced") || !get_u64(p, &s->traced_current) ||
        !get_u64(p, &s->traced_peak) || !end_of_line(p))
        goto bad;
    for (int g = 0; g < RH_GC_GENERATIONS; g++) {
        int gen;
        if (!next_line(p) || !expect_word(p, "gc") || !get_int(p, &gen, g, g) ||
            !get_u64(p, &s->gc[g].collections) || !get_u64(p, &s->gc[g].collected) ||
            !get_u64(p, &s->gc[g].uncollectable) || !end_of_line(p))
            goto bad;
    }
    if (!next_line(p) || !expect_word(p, "pauses") || !get_u64(p, &s->pause_count) ||
        !get_u64(p, &s->pause_total_ns) || !get_u64(p, &s->pause_max_ns) || !get_count(p, &n, 6, 256) ||
        !end_of_line(p))
        goto bad;
    s->pauses = calloc(n ? n : 1, sizeof *s->pauses);
    if (!s->pauses) {
        fail(p, "out of memory");
        goto bad;
    }
    for (size_t i = 0; i < n; i++) {
        int gen;
        if (!next_line(p) || !expect_word(p, "p") || !get_int(p, &gen, 0, RH_GC_GENERATIONS - 1) ||
            !get_u64(p, &u) || !end_of_line(p))
            goto bad;
        if (u >> 56) {
            fail(p, "pause too long");
            goto bad;
        }
        s->pauses[i] = (uint64_t)gen << 56 | u;
        s->npauses = i + 1;
    }
    if (!next_line(p) || !expect_word(p, "tracebacks") || !get_count(p, &n, 5, SIZE_MAX / 2) || !end_of_line(p))
        goto bad;
    if (tracebacks_init(s, n) != 0) {
        fail(p, "out of memory");
        goto bad;
    }
    for (size_t i = 1; i <= n; i++) {
        size_t nf;
        if (!next_line(p) || !expect_word(p, "tb") || !get_count(p, &nf, 4, RH_TRACE_MAX_FRAMES) || !end_of_line(p))
            goto bad;
        rh_snapshot_traceback *tb = &s->tracebacks[i];
        tb->frames = calloc(nf ? nf : 1, sizeof *tb->frames);
        if (!tb->frames) {
            fail(p, "out of memory");
            goto bad;
        }
        s->ntracebacks = i + 1;
        tb->nframes = nf;
        for (size_t k = 0; k < nf; k++)
            if (!next_line(p) || !expect_word(p, "f") || !get_str(p, o, &tb->frames[k], false) || !end_of_line(p))
                goto bad;
    }
    if (!next_line(p) || !expect_word(p, "traces") || !get_count(p, &n, 14, SIZE_MAX / 2) || !end_of_line(p))
        goto bad;
    s->traces = calloc(n ? n : 1, sizeof *s->traces);
    if (!s->traces) {
        fail(p, "out of memory");
        goto bad;
    }
    for (size_t i = 0; i < n; i++) {
        rh_snapshot_trace *t = &s->traces[i];
        uint64_t tb;
        if (!next_line(p) || !expect_word(p, "t") || !get_u64(p, &t->size) || !get_u64(p, &t->count) ||
            !get_int(p, &t->line, -0x7fffffff, 0x7fffffff) || !get_u64(p, &tb) || !get_str(p, o, &t->file, false) ||
            !get_str(p, o, &t->type_name, true) || !end_of_line(p))
            goto bad;
        if (tb >= s->ntracebacks) {
            fail(p, "traceback index out of range");
            goto bad;
        }
        t->traceback = (size_t)tb;
        s->ntraces = i + 1;
    }
    if (p->pos != p->len) {
        p->lineno++;
        fail(p, "unexpected data before the end line");
        goto bad;
    }
    free(p);
    return s;
bad:
    free(p);
    rh_snapshot_free(s);
    return NULL;
}

rh_snapshot *rh_snapshot_load(const char *path, char *err, size_t errcap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errcap, "snapshot: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                set_err(err, errcap, "snapshot: out of memory reading %s", path);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    bool rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        set_err(err, errcap, "snapshot: cannot read %s", path);
        return NULL;
    }
    rh_snapshot *s = rh_snapshot_parse(buf, len, err, errcap);
    free(buf);
    return s;
}
