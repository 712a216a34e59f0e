/*
 * bench_gc.c — workloads 3 to 6 on refheap's side: the cycle collector and
 * the objects' footprint, through the public API only. bench/py_gc.py is the
 * same program for CPython 3.11; the two must stay shape-for-shape equal.
 *
 * Object kinds (KIND):
 *   node    a user-defined container type with two object references
 *           (the smallest tracked two-reference object the API allows);
 *   slots   an instance of a class made with rh_class_new and slots {a, b};
 *   plain   an instance of a class without slots (attribute dictionary),
 *           attributes a and b set;
 *   list2   a list of two items (None, None)        — `mem` only;
 *   tuple2  a tuple of two items (None, None)       — `mem` only.
 *
 * The shape of workloads 3, 4 and 6 is a two-object cycle: x.a = y, y.a = x,
 * x.b = y.b = None. "Alive" pairs are held from a C array (harness memory,
 * not a tracked object), "garbage" pairs are the same pairs after the array
 * dropped its references: only the collector can free them.
 *
 * Commands:
 *   collect KIND N alive|garbage REPS   workload 3: the collector off while
 *       building, then REPS timed full collections (rh_gc_collect(h, 2)).
 *       alive: one build, one untimed warm-up collection, REPS collections of
 *       the same N live objects. garbage: REPS times build N objects, drop
 *       them, time the collection (which must return N).
 *   build KIND N on|off                 workload 4: time to build N live
 *       objects with the collector at its default thresholds, or disabled.
 *   mem KIND N                          workload 5: bytes per object from the
 *       heap's statistics (bytes_in_use delta) and from the process RSS delta.
 *   churn KIND N STEPS                  workload 6: build N live objects with
 *       the collector on, then STEPS steps each replacing a random pair with a
 *       new one (the old pair becomes cyclic garbage); every collection's
 *       pause during the steps is recorded through rh_gc_callback_add.
 *       The index sequence is a 31-bit LCG that py_gc.py reproduces exactly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_node.h"
#include "refheap.h"

static rh_heap *heap;
static rh_object *cls_plain, *cls_slots;
static bench_pause_log pauses;
static int recording;

static void die(const char *what) {
    fprintf(stderr, "bench_gc: %s failed: %s\n", what, rh_errmsg(heap));
    exit(3);
}

static void on_gc(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)h;
    (void)data;
    if (phase == RH_GC_STOP && recording) bench_pause_push(&pauses, (double)info->duration_ns);
}

static void setup(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS};
    heap = rh_heap_new(&cfg);
    if (!heap) exit(3);
    static const char *const ab[2] = {"a", "b"};
    rh_class_spec plain = {.name = "Plain"};
    rh_class_spec slots = {.name = "Slots", .slots = ab, .nslots = 2};
    cls_plain = rh_class_new(heap, &plain);
    cls_slots = rh_class_new(heap, &slots);
    if (!cls_plain || !cls_slots) die("rh_class_new");
    if (rh_gc_callback_add(heap, on_gc, NULL) != 0) die("rh_gc_callback_add");
}

static void teardown(void) {
    rh_decref(cls_plain);
    rh_decref(cls_slots);
    rh_gc_callback_remove(heap, on_gc, NULL);
    rh_heap_destroy(heap);
}

/* One object of the kind, with a = ref (may be NULL: None) and b = None. */
static rh_object *make(const char *kind, rh_object *ref) {
    rh_object *o;
    if (strcmp(kind, "node") == 0) {
        node *n = RH_NEW(heap, node, &node_type);
        if (!n) die("rh_new");
        n->left = ref ? rh_newref(ref) : NULL;
        rh_gc_track(RH_OBJ(n));
        return RH_OBJ(n);
    }
    if (strcmp(kind, "plain") == 0 || strcmp(kind, "slots") == 0) {
        o = rh_instance_new(kind[0] == 'p' ? cls_plain : cls_slots);
        if (!o) die("rh_instance_new");
        if (rh_setattr(o, "a", ref ? ref : rh_None) != 0 || rh_setattr(o, "b", rh_None) != 0)
            die("rh_setattr");
        return o;
    }
    if (strcmp(kind, "list2") == 0) {
        o = rh_list_new(heap, 2);
        if (!o) die("rh_list_new");
        return o;
    }
    if (strcmp(kind, "tuple2") == 0) {
        o = rh_tuple_pack(heap, 2, rh_None, rh_None);
        if (!o) die("rh_tuple_pack");
        return o;
    }
    fprintf(stderr, "unknown kind %s\n", kind);
    exit(1);
}

/* Points x.a at y (x was made with a = None). */
static void link_to(const char *kind, rh_object *x, rh_object *y) {
    if (kind[0] == 'n') {
        RH_SETREF(((node *)x)->left, rh_newref(y));
    } else if (rh_setattr(x, "a", y) != 0) {
        die("rh_setattr");
    }
}

/* A two-object cycle; returns x (new reference), y is kept alive by x. */
static rh_object *make_pair(const char *kind) {
    rh_object *x = make(kind, NULL);
    rh_object *y = make(kind, x);
    link_to(kind, x, y);
    rh_decref(y);
    return x;
}

static rh_object **build_pairs(const char *kind, size_t npairs) {
    rh_object **hold = bench_map(npairs * sizeof *hold);
    for (size_t i = 0; i < npairs; i++) hold[i] = make_pair(kind);
    return hold;
}

static void drop_pairs(rh_object **hold, size_t npairs) {
    for (size_t i = 0; i < npairs; i++) rh_decref(hold[i]);
    bench_unmap(hold, npairs * sizeof *hold);
}

static void cmd_collect(const char *kind, size_t n, const char *shape, int reps) {
    size_t npairs = n / 2;
    rh_gc_disable(heap);
    rh_gc_collect(heap, 2);
    if (strcmp(shape, "alive") == 0) {
        rh_object **hold = build_pairs(kind, npairs);
        rh_gc_collect(heap, 2);
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = bench_now_ns();
            intptr_t got = rh_gc_collect(heap, 2);
            uint64_t t = bench_now_ns() - t0;
            bench_emit("collect", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"shape\": \"alive\", "
                       "\"ns_per_obj\": %.4f, \"collected\": %lld, \"seconds\": %.6f",
                       kind, 2 * npairs, (double)t / (double)(2 * npairs), (long long)got, (double)t / 1e9);
        }
        drop_pairs(hold, npairs);
    } else {
        for (int r = 0; r < reps; r++) {
            rh_object **hold = build_pairs(kind, npairs);
            drop_pairs(hold, npairs);
            uint64_t t0 = bench_now_ns();
            intptr_t got = rh_gc_collect(heap, 2);
            uint64_t t = bench_now_ns() - t0;
            bench_emit("collect", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"shape\": \"garbage\", "
                       "\"ns_per_obj\": %.4f, \"collected\": %lld, \"seconds\": %.6f",
                       kind, 2 * npairs, (double)t / (double)(2 * npairs), (long long)got, (double)t / 1e9);
        }
    }
    rh_gc_enable(heap);
}

static void cmd_build(const char *kind, size_t n, int on) {
    size_t npairs = n / 2;
    rh_gc_collect(heap, 2);
    if (!on) rh_gc_disable(heap);
    recording = 1;
    uint64_t t0 = bench_now_ns();
    rh_object **hold = build_pairs(kind, npairs);
    uint64_t t = bench_now_ns() - t0;
    recording = 0;
    bench_pauses ps = bench_pause_summary(pauses.ns, pauses.n);
    bench_emit("build", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"gc\": \"%s\", \"seconds\": %.6f, "
               "\"ns_per_obj\": %.4f, \"collections\": %zu, \"pause_total_ns\": %.0f, \"pause_max_ns\": %.0f",
               kind, 2 * npairs, on ? "on" : "off", (double)t / 1e9, (double)t / (double)(2 * npairs),
               ps.count, ps.total_ns, ps.max_ns);
    rh_gc_disable(heap); /* the teardown's freeing is not measured */
    drop_pairs(hold, npairs);
}

static void cmd_mem(const char *kind, size_t n) {
    rh_object **hold = bench_map(n * sizeof *hold);
    memset(hold, 0, n * sizeof *hold); /* make the array resident before the RSS baseline */
    rh_gc_disable(heap);
    rh_gc_collect(heap, 2);
    rh_heap_stats s0, s1;
    rh_heap_stats_get(heap, &s0);
    size_t rss0 = bench_rss();
    for (size_t i = 0; i < n; i++) hold[i] = make(kind, NULL);
    rh_heap_stats_get(heap, &s1);
    size_t rss1 = bench_rss();
    size_t sz = rh_sizeof(hold[0]);
    bench_emit("mem", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"stats_bytes_per_obj\": %.3f, "
               "\"requested_bytes_per_obj\": %.3f, \"rss_bytes_per_obj\": %.3f, \"sizeof\": %zu",
               kind, n, (double)(s1.bytes_in_use - s0.bytes_in_use) / (double)n,
               (double)(s1.bytes_requested - s0.bytes_requested) / (double)n,
               ((double)rss1 - (double)rss0) / (double)n, sz);
    for (size_t i = 0; i < n; i++) rh_decref(hold[i]);
    bench_unmap(hold, n * sizeof *hold);
}

/* The 31-bit LCG of ANSI C's example rand(); py_gc.py uses the same constants. */
#define LCG_MUL 1103515245u
#define LCG_ADD 12345u
#define LCG_MASK 0x7fffffffu

static void cmd_churn(const char *kind, size_t n, uint64_t steps) {
    size_t npairs = n / 2;
    rh_object **hold = build_pairs(kind, npairs);
    uint32_t x = 12345;
    rh_gc_genstats st0[3], st[3];
    rh_gc_get_stats(heap, st0);
    recording = 1;
    uint64_t t0 = bench_now_ns();
    for (uint64_t s = 0; s < steps; s++) {
        x = (x * LCG_MUL + LCG_ADD) & LCG_MASK;
        size_t i = x % npairs;
        rh_object *old = hold[i];
        hold[i] = make_pair(kind);
        rh_decref(old);
    }
    uint64_t t = bench_now_ns() - t0;
    recording = 0;
    rh_gc_get_stats(heap, st);
    bench_pauses ps = bench_pause_summary(pauses.ns, pauses.n);
    bench_emit("churn", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"steps\": %llu, \"seconds\": %.6f, "
               "\"pauses\": %zu, \"pause_max_ns\": %.0f, \"pause_p99_ns\": %.0f, \"pause_total_ns\": %.0f, "
               "\"full_collections\": %llu, \"peak_rss\": %zu",
               kind, 2 * npairs, (unsigned long long)steps, (double)t / 1e9, ps.count, ps.max_ns,
               ps.p99_ns, ps.total_ns, (unsigned long long)(st[2].collections - st0[2].collections), bench_peak_rss());
    rh_gc_disable(heap);
    drop_pairs(hold, npairs);
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
    if (argc < 4) {
        fprintf(stderr, "usage: %s collect KIND N alive|garbage REPS | build KIND N on|off | "
                        "mem KIND N | churn KIND N STEPS\n", argv[0]);
        return 1;
    }
    const char *cmd = argv[1], *kind = argv[2];
    size_t n = (size_t)strtoull(argv[3], NULL, 10);
    setup();
    if (strcmp(cmd, "collect") == 0 && argc >= 6) {
        cmd_collect(kind, n, argv[4], atoi(argv[5]));
    } else if (strcmp(cmd, "build") == 0 && argc >= 5) {
        cmd_build(kind, n, strcmp(argv[4], "off") != 0);
    } else if (strcmp(cmd, "mem") == 0) {
        cmd_mem(kind, n);
    } else if (strcmp(cmd, "churn") == 0 && argc >= 5) {
        cmd_churn(kind, n, strtoull(argv[4], NULL, 10));
    } else {
        fprintf(stderr, "bad command\n");
        return 1;
    }
    teardown();
    return 0;
}
