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
 *       heap's statistics (bytes_in_use delta) and from the process RSS delta,
 *       what a program pays: the collector at its default thresholds, the
 *       baseline taken after a warm-up (MEM_WARMUP objects of the kind made
 *       and dropped, then a full collection) so that the heap's fixed
 *       structures exist before it.
 *   churn KIND N STEPS                  workload 6: build N live objects with
 *       the collector on, then STEPS steps each replacing a random pair with a
 *       new one (the old pair becomes cyclic garbage); every collection's
 *       pause during the steps is recorded through rh_gc_set_pause_hook
 *       (young and full collections and incremental slices alike). With
 *       BENCH_PAUSE_LOG=FILE in the environment, every one of them is also
 *       written to FILE in order, timed from the first step (bench_common.h's
 *       pause timeline): run.py draws its pause charts from it.
 *   cycle KIND N                        one ring of N objects dropped, then
 *       collected: by slices (incremental) or one full collection (CPython's);
 *       every pause recorded (the incremental policy's longest is the final
 *       check of the ring, its teardown is spread over later slices).
 * Any command may end with "cpython" or "incremental": the collection
 * policy (default: REFHEAP_GC, else CPython's).
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

/* Every pause of the collector (young and full collections, incremental
 * slices), with the part spent in finalizers and callbacks. */
static double user_ns_total;
static bench_pause_log cpu_pauses;
/* The pauses the thread ran through (no context switch: the OS did not
 * preempt it and it did not block): on a shared machine their wall time is
 * the collector's own. */
static bench_pause_log calm_pauses;
static size_t preempted_pauses;
static void on_pause(rh_heap *h, const rh_gc_pause *p, void *data) {
    (void)data;
    uint64_t ns = p->ns, user_ns = p->user_ns, work = incr_work_since(h);
    if (!recording) return;
    bench_pause_push(&pauses, (double)ns);
    bench_pause_push(&cpu_pauses, (double)p->cpu_ns);
    if (p->preempted || p->blocked) preempted_pauses++;
    else bench_pause_push(&calm_pauses, (double)ns);
    user_ns_total += (double)user_ns;
    bench_timeline_add(ns, p->cpu_ns, user_ns, p->kind, p->preempted, p->blocked, work);
}

/* The collection policy: the last argument "cpython" or "incremental", else
 * REFHEAP_GC (rh_heap_new's default). */
static rh_gc_policy policy;

static void setup(void) {
    rh_heap_config cfg = {.mode = RH_MODE_POOLS, .gc_policy = policy};
    heap = rh_heap_new(&cfg);
    if (!heap) exit(3);
    static const char *const ab[2] = {"a", "b"};
    rh_class_spec plain = {.name = "Plain"};
    rh_class_spec slots = {.name = "Slots", .slots = ab, .nslots = 2};
    cls_plain = rh_class_new(heap, &plain);
    cls_slots = rh_class_new(heap, &slots);
    if (!cls_plain || !cls_slots) die("rh_class_new");
    rh_gc_set_pause_hook(heap, on_pause, NULL);
}

static void teardown(void) {
    rh_decref(cls_plain);
    rh_decref(cls_slots);
    rh_gc_set_pause_hook(heap, NULL, NULL);
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

/* One timed full collection over npairs pairs of the given shape, emitted. */
static void timed_collect(const char *kind, size_t npairs, const char *shape) {
    uint64_t t0 = bench_now_ns();
    intptr_t got = rh_gc_collect(heap, 2);
    uint64_t t = bench_now_ns() - t0;
    bench_emit("collect", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"shape\": \"%s\", "
               "\"ns_per_obj\": %.4f, \"collected\": %lld, \"seconds\": %.6f",
               kind, 2 * npairs, shape, (double)t / (double)(2 * npairs), (long long)got, (double)t / 1e9);
}

static void cmd_collect(const char *kind, size_t n, const char *shape, int reps) {
    size_t npairs = n / 2;
    rh_gc_disable(heap);
    rh_gc_collect(heap, 2);
    if (strcmp(shape, "alive") == 0) {
        rh_object **hold = build_pairs(kind, npairs);
        rh_gc_collect(heap, 2);
        for (int r = 0; r < reps; r++) timed_collect(kind, npairs, "alive");
        drop_pairs(hold, npairs);
    } else {
        for (int r = 0; r < reps; r++) {
            rh_object **hold = build_pairs(kind, npairs);
            drop_pairs(hold, npairs);
            timed_collect(kind, npairs, "garbage");
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
    bench_pauses cps = bench_pause_summary(cpu_pauses.ns, cpu_pauses.n);
    rh_gc_incr_stats ist;
    rh_gc_incr_stats_get(heap, &ist);
    rh_gc_genstats gst[3];
    rh_gc_get_stats(heap, gst);
    bench_emit("build", "\"impl\": \"refheap\", \"policy\": \"%s\", \"kind\": \"%s\", \"n\": %zu, \"gc\": \"%s\", \"seconds\": %.6f, "
               "\"ns_per_obj\": %.4f, \"collections\": %zu, \"pause_total_ns\": %.0f, \"pause_max_ns\": %.0f, "
               "\"pause_p99_ns\": %.0f, \"user_ns\": %.0f, \"peak_rss\": %zu, \"pause_cpu_max_ns\": %.0f, "
               "\"pause_cpu_p99_ns\": %.0f, \"young_collections\": %llu, \"incr_rounds\": %llu, \"incr_work\": %llu",
               rh_gc_policy_name(rh_gc_get_policy(heap)), kind, 2 * npairs, on ? "on" : "off", (double)t / 1e9,
               (double)t / (double)(2 * npairs), ps.count, ps.total_ns, ps.max_ns, ps.p99_ns, user_ns_total,
               bench_peak_rss(), cps.max_ns, cps.p99_ns, (unsigned long long)gst[0].collections,
               (unsigned long long)ist.rounds, (unsigned long long)ist.work);
    rh_gc_disable(heap); /* the teardown's freeing is not measured */
    drop_pairs(hold, npairs);
}

#define MEM_WARMUP 5000 /* py_gc.py's MEM_WARMUP */

static void cmd_mem(const char *kind, size_t n) {
    rh_object **hold = bench_map(n * sizeof *hold);
    memset(hold, 0, n * sizeof *hold); /* make the array resident before the RSS baseline */
    rh_gc_enable(heap);
    for (size_t i = 0; i < MEM_WARMUP && i < n; i++) hold[i] = make(kind, NULL);
    for (size_t i = 0; i < MEM_WARMUP && i < n; i++) {
        rh_decref(hold[i]);
        hold[i] = NULL;
    }
    rh_gc_collect(heap, 2);
    rh_heap_stats s0, sh, s1;
    rh_heap_stats_get(heap, &s0);
    size_t rss0 = bench_rss();
    size_t half = n / 2;
    for (size_t i = 0; i < half; i++) hold[i] = make(kind, NULL);
    rh_heap_stats_get(heap, &sh);
    for (size_t i = half; i < n; i++) hold[i] = make(kind, NULL);
    rh_heap_stats_get(heap, &s1);
    size_t rss1 = bench_rss();
    size_t sz = rh_sizeof(hold[0]);
    /* marginal: the second half's bytes per object, which leaves out what
     * the heap holds once whatever its size (its fixed structures) */
    bench_emit("mem", "\"impl\": \"refheap\", \"kind\": \"%s\", \"n\": %zu, \"stats_bytes_per_obj\": %.3f, "
               "\"marginal_bytes_per_obj\": %.3f, "
               "\"requested_bytes_per_obj\": %.3f, \"rss_bytes_per_obj\": %.3f, \"sizeof\": %zu",
               kind, n, (double)(s1.bytes_in_use - s0.bytes_in_use) / (double)n,
               (double)(s1.bytes_in_use - sh.bytes_in_use) / (double)(n - half),
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
    rh_heap_stats hs;
    rh_heap_stats_get(heap, &hs);
    size_t bytes_empty = hs.bytes_in_use;
    rh_object **hold = build_pairs(kind, npairs);
    /* The live pairs stay npairs, all of one shape: what the heap holds
     * beyond them is garbage not freed yet (uncollected, or found and
     * waiting to be cleared), in pairs of pair_bytes. Sampled every 1024
     * steps; the most is reported. */
    rh_heap_stats_get(heap, &hs);
    size_t bytes_live = hs.bytes_in_use;
    double pair_bytes = (double)(bytes_live - bytes_empty) / (double)npairs;
    double garbage_max = 0;
    uint32_t x = 12345;
    rh_gc_genstats st0[3], st[3];
    rh_gc_get_stats(heap, st0);
    recording = 1;
    bench_timeline_start();
    uint64_t t0 = bench_now_ns();
    for (uint64_t s = 0; s < steps; s++) {
        x = (x * LCG_MUL + LCG_ADD) & LCG_MASK;
        size_t i = x % npairs;
        rh_object *old = hold[i];
        hold[i] = make_pair(kind);
        rh_decref(old);
        if ((s & 1023) == 1023) {
            rh_heap_stats_get(heap, &hs);
            double g = 2.0 * ((double)hs.bytes_in_use - (double)bytes_live) / pair_bytes;
            if (g > garbage_max) garbage_max = g;
        }
    }
    uint64_t t = bench_now_ns() - t0;
    recording = 0;
    rh_gc_get_stats(heap, st);
    bench_pauses ps = bench_pause_summary(pauses.ns, pauses.n);
    bench_pauses cps = bench_pause_summary(cpu_pauses.ns, cpu_pauses.n);
    bench_pauses calm = bench_pause_summary(calm_pauses.ns, calm_pauses.n);
    rh_gc_incr_stats ist;
    rh_gc_incr_stats_get(heap, &ist);
    /* Cyclic garbage still uncollected at the end (one full collection finds
     * it, after clearing what a round found and has not freed yet). */
    size_t pending = ist.deferred_pending;
    intptr_t left = rh_gc_collect(heap, 2) + (intptr_t)pending;
    bench_emit("churn", "\"impl\": \"refheap\", \"policy\": \"%s\", \"kind\": \"%s\", \"n\": %zu, \"steps\": %llu, \"seconds\": %.6f, "
               "\"pauses\": %zu, \"pause_max_ns\": %.0f, \"pause_p99_ns\": %.0f, \"pause_total_ns\": %.0f, "
               "\"user_ns\": %.0f, \"full_collections\": %llu, \"peak_rss\": %zu, \"garbage_left\": %lld, "
               "\"pause_cpu_max_ns\": %.0f, \"pause_cpu_p99_ns\": %.0f, \"incr_rounds\": %llu, "
               "\"incr_abandoned\": %llu, \"incr_work\": %llu, \"incr_collected\": %llu, \"garbage_max\": %.0f, "
               "\"pause_calm_max_ns\": %.0f, \"pause_calm_p99_ns\": %.0f, \"pauses_preempted\": %zu",
               rh_gc_policy_name(rh_gc_get_policy(heap)), kind, 2 * npairs, (unsigned long long)steps,
               (double)t / 1e9, ps.count, ps.max_ns, ps.p99_ns, ps.total_ns, user_ns_total,
               (unsigned long long)(st[2].collections - st0[2].collections), bench_peak_rss(), (long long)left,
               cps.max_ns, cps.p99_ns, (unsigned long long)ist.rounds, (unsigned long long)ist.rounds_abandoned,
               (unsigned long long)ist.work, (unsigned long long)ist.collected, garbage_max,
               calm.max_ns, calm.p99_ns, preempted_pauses);
    rh_gc_disable(heap);
    drop_pairs(hold, npairs);
}

/* One ring of N objects (each x.a = the next), dropped, then found and
 * freed by the collector: the incremental policy by slices (rh_gc_step
 * with the default budget, the ring in the old generation), CPython's by one
 * full collection. Reports every pause: the longest is the final check. */
static void cmd_cycle(const char *kind, size_t n) {
    rh_gc_disable(heap);
    rh_object *first = make(kind, NULL), *prev = first;
    rh_incref(first);
    for (size_t i = 1; i < n; i++) {
        rh_object *o = make(kind, NULL);
        link_to(kind, prev, o);
        rh_decref(prev);
        prev = o;
    }
    link_to(kind, prev, first);
    rh_decref(prev);
    rh_gc_collect(heap, 1); /* into the old generation */
    rh_decref(first);
    recording = 1;
    uint64_t t0 = bench_now_ns();
    intptr_t found = 0;
    if (rh_gc_get_policy(heap) == RH_GC_POLICY_INCREMENTAL) {
        while (rh_gc_step(heap, 0) == 1) {}
        rh_gc_incr_stats ist;
        rh_gc_incr_stats_get(heap, &ist);
        found = (intptr_t)ist.collected;
    } else {
        found = rh_gc_collect(heap, 2);
    }
    uint64_t t = bench_now_ns() - t0;
    recording = 0;
    bench_pauses ps = bench_pause_summary(pauses.ns, pauses.n);
    bench_pauses cps = bench_pause_summary(cpu_pauses.ns, cpu_pauses.n);
    bench_emit("cycle", "\"impl\": \"refheap\", \"policy\": \"%s\", \"kind\": \"%s\", \"n\": %zu, \"collected\": %lld, "
               "\"seconds\": %.6f, \"pauses\": %zu, \"pause_max_ns\": %.0f, \"pause_cpu_max_ns\": %.0f, "
               "\"pause_cpu_p99_ns\": %.0f",
               rh_gc_policy_name(rh_gc_get_policy(heap)), kind, n, (long long)found, (double)t / 1e9, ps.count,
               ps.max_ns, cps.max_ns, cps.p99_ns);
}

int main(int argc, char **argv) {
    bench_check_build(argv[0]);
    if (argc < 4) {
        fprintf(stderr, "usage: %s collect KIND N alive|garbage REPS | build KIND N on|off | "
                        "mem KIND N | churn KIND N STEPS   [cpython|incremental]\n", argv[0]);
        return 1;
    }
    const char *cmd = argv[1], *kind = argv[2];
    size_t n = (size_t)strtoull(argv[3], NULL, 10);
    const char *last = argv[argc - 1];
    if (strcmp(last, "cpython") == 0) policy = RH_GC_POLICY_CPYTHON;
    else if (strcmp(last, "incremental") == 0) policy = RH_GC_POLICY_INCREMENTAL;
    bench_timeline_open();
    setup();
    if (strcmp(cmd, "collect") == 0 && argc >= 6) {
        cmd_collect(kind, n, argv[4], atoi(argv[5]));
    } else if (strcmp(cmd, "build") == 0 && argc >= 5) {
        cmd_build(kind, n, strcmp(argv[4], "off") != 0);
    } else if (strcmp(cmd, "mem") == 0) {
        cmd_mem(kind, n);
    } else if (strcmp(cmd, "cycle") == 0) {
        cmd_cycle(kind, n);
    } else if (strcmp(cmd, "churn") == 0 && argc >= 5) {
        cmd_churn(kind, n, strtoull(argv[4], NULL, 10));
    } else {
        fprintf(stderr, "bad command\n");
        return 1;
    }
    teardown();
    bench_timeline_close();
    return 0;
}
