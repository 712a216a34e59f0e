/*
 * gc_controls.c — Python's gc module from C: thresholds, counts, enable and
 * disable, debug output, callbacks with pause times, statistics, freeze.
 */
#include <refheap.h>
#include <stdio.h>

static void on_gc(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    if (phase == RH_GC_STOP)
        printf("  callback: generation %d, %ld collected, %ld uncollectable, %.3f ms, %zu examined\n",
               info->generation, (long)info->collected, (long)info->uncollectable,
               (double)info->duration_ns / 1e6, info->examined);
}

static void make_cycle(rh_heap *h) {
    rh_object *a = rh_list_new(h, 0), *b = rh_list_new(h, 0);
    rh_list_append(a, b);
    rh_list_append(b, a);
    rh_decref(a);
    rh_decref(b);
}

int main(void) {
    rh_heap *h = rh_heap_new(NULL);
    long t[3], c[3];
    rh_gc_get_threshold(h, t);
    printf("gc.get_threshold() -> (%ld, %ld, %ld)\n", t[0], t[1], t[2]);
    rh_gc_callback_add(h, on_gc, NULL);

    rh_gc_disable(h);
    for (int i = 0; i < 1000; i++) make_cycle(h);
    rh_gc_get_count(h, c);
    printf("automatic collection off, 1000 cycles made: gc.get_count() -> (%ld, %ld, %ld)\n", c[0], c[1], c[2]);
    rh_gc_enable(h);
    printf("gc.collect(0):\n");
    intptr_t n = rh_gc_collect(h, 0);
    printf("  -> %ld\n", (long)n);

    printf("gc.set_debug(gc.DEBUG_STATS); gc.collect():\n");
    rh_gc_set_debug(h, RH_GC_DEBUG_STATS);
    make_cycle(h);
    rh_gc_collect(h, 2);
    rh_gc_set_debug(h, 0);

    rh_gc_genstats st[3];
    rh_gc_get_stats(h, st);
    for (int g = 0; g < 3; g++)
        printf("gc.get_stats()[%d] -> collections %llu, collected %llu, uncollectable %llu\n", g,
               (unsigned long long)st[g].collections, (unsigned long long)st[g].collected,
               (unsigned long long)st[g].uncollectable);

    rh_object *keep = rh_list_new(h, 0);
    rh_gc_freeze(h);
    printf("gc.freeze(): %zu objects frozen\n", rh_gc_get_freeze_count(h));
    rh_gc_unfreeze(h);
    rh_decref(keep);
    rh_gc_callback_remove(h, on_gc, NULL);
    rh_heap_destroy(h);
    return n == 2000 ? 0 : 1;
}
