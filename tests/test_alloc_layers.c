/*
 * test_alloc_layers.c — the allocator's layer stack (src/memory/layer.h):
 * the stack each mode builds, the fault injector's shim pushed over it and
 * popped again, and the shim's promise that a failed call changes nothing
 * in the layers below (statistics, blocks, debug serials), over debug mode
 * and over malloc mode as over the pools; allocation tracing's shim pushed
 * while tracing, under the fault injector's whichever came first, and what
 * it traces through the stack.
 */
#include "rh_test.h"

#include "internal.h" /* white box: rh__debug_describe */
#include "memory/layer.h" /* white box: the stack's accessor and check */
#include "memory/alloc_priv.h" /* white box: the block cache's count */

static rh_heap *new_heap(rh_mode mode) {
    rh_heap_config cfg = {.mode = mode};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

static const char *stack_of(rh_heap *h) {
    static char buf[64];
    return rh__mem_stack_describe(h, buf, sizeof buf);
}

/* Every mode's stack, with and without the armed injector: pushed once
 * however often it is armed, popped by disarming or by its one-shot
 * failure, kept by a persistent one until disarmed. */
static void test_stack_of_each_mode(void **state) {
    (void)state;
    static const struct {
        rh_mode mode;
        const char *stack, *armed;
    } cases[] = {
        {RH_MODE_POOLS, "pools", "fault>pools"},
        {RH_MODE_MALLOC, "system", "fault>system"},
        {RH_MODE_DEBUG, "debug>pools", "fault>debug>pools"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_heap *h = new_heap(cases[i].mode);
        assert_string_equal(stack_of(h), cases[i].stack);
        rh__mem_stack_check(h);
        rh_heap_fail_after(h, 5, false);
        rh_heap_fail_after(h, 2, false); /* re-armed: still one shim */
        assert_string_equal(stack_of(h), cases[i].armed);
        rh__mem_stack_check(h);
        void *a = rh_malloc(h, 24);
        assert_non_null(a);
        assert_string_equal(stack_of(h), cases[i].armed);
        assert_null(rh_malloc(h, 24)); /* the second call fails, the shim leaves */
        assert_string_equal(stack_of(h), cases[i].stack);
        rh__mem_stack_check(h);
        rh_heap_fail_after(h, 1, true);
        assert_null(rh_malloc(h, 24));
        assert_null(rh_malloc(h, 2000));
        assert_string_equal(stack_of(h), cases[i].armed);
        rh_heap_fail_after(h, 0, false);
        assert_string_equal(stack_of(h), cases[i].stack);
        rh__mem_stack_check(h);
        rh_err_clear(h);
        rh_free(h, a);
        rh_heap_destroy(h);
    }
}

/* The figures a failed call must leave alone: everything but the call
 * counters, the failures and the process's RSS. */
static void assert_same_memory(const rh_heap_stats *a, const rh_heap_stats *b) {
    assert_memory_equal(a->classes, b->classes, sizeof a->classes);
    assert_int_equal(a->arenas_current, b->arenas_current);
    assert_int_equal(a->arenas_allocated, b->arenas_allocated);
    assert_int_equal(a->pools_total, b->pools_total);
    assert_int_equal(a->pools_empty, b->pools_empty);
    assert_int_equal(a->blocks_in_use, b->blocks_in_use);
    assert_int_equal(a->large_blocks, b->large_blocks);
    assert_int_equal(a->large_bytes, b->large_bytes);
    assert_int_equal(a->bytes_requested, b->bytes_requested);
    assert_int_equal(a->bytes_in_use, b->bytes_in_use);
    assert_int_equal(a->bytes_mapped, b->bytes_mapped);
    assert_int_equal(a->peak_bytes_in_use, b->peak_bytes_in_use);
    assert_int_equal(a->frees, b->frees);
    assert_int_equal(a->bytes_quarantined, b->bytes_quarantined);
}

/* A heap with live blocks of both kinds and, in debug mode, one in
 * quarantine; the fault injector fails a malloc, a calloc, a large malloc
 * and two reallocs in turn: each returns NULL with RH_ENOMEM, counts as one
 * call and one failure, and leaves the memory figures, the blocks (a
 * realloc's block keeps its bytes and stays live) and debug mode's serials
 * as they were. */
static void fault_changes_nothing(rh_mode mode) {
    rh_heap *h = new_heap(mode);
    char *small = rh_malloc(h, 40), *large = rh_malloc(h, 3000), *gone = rh_malloc(h, 100);
    assert_non_null(small);
    assert_non_null(large);
    assert_non_null(gone);
    memset(small, 'a', 40);
    memset(large, 'b', 3000);
    rh_free(h, gone);
    for (int op = 0; op < 5; op++) {
        rh_heap_stats before, after;
        rh_heap_stats_get(h, &before);
        rh_heap_fail_after(h, 1, false);
        void *r;
        switch (op) {
        case 0: r = rh_malloc(h, 24); break;
        case 1: r = rh_calloc(h, 3, 16); break;
        case 2: r = rh_malloc(h, 5000); break;
        case 3: r = rh_realloc(h, small, 400); break;
        default: r = rh_realloc(h, large, 100); break;
        }
        assert_null(r);
        assert_int_equal(rh_err(h), RH_ENOMEM);
        rh_err_clear(h);
        rh_heap_stats_get(h, &after);
        assert_same_memory(&before, &after);
        assert_int_equal(after.failed, before.failed + 1);
        assert_int_equal(after.mallocs + after.reallocs, before.mallocs + before.reallocs + 1);
        assert_int_equal(after.reallocs, before.reallocs + (op >= 3));
        assert_string_equal(stack_of(h), mode == RH_MODE_MALLOC ? "system"
                                         : mode == RH_MODE_DEBUG ? "debug>pools" : "pools");
    }
    for (int i = 0; i < 40; i++) assert_int_equal(small[i], 'a');
    for (int i = 0; i < 3000; i++) assert_int_equal(large[i], 'b');
    assert_true(rh_usable_size(h, small) >= 40);
    assert_true(rh_usable_size(h, large) >= 3000);
    if (mode == RH_MODE_DEBUG) {
        /* the three blocks took serials 1-3; the failed calls took none */
        rh__blockinfo bi;
        assert_true(rh__debug_describe(h, small, &bi) && !bi.freed && bi.serial == 1 && bi.size == 40);
        assert_true(rh__debug_describe(h, large, &bi) && !bi.freed && bi.serial == 2 && bi.size == 3000);
        void *next = rh_malloc(h, 8);
        assert_true(rh__debug_describe(h, next, &bi) && bi.serial == 4);
        rh_free(h, next);
    }
    rh_free(h, small);
    rh_free(h, large);
    rh_heap_destroy(h);
}

static void test_fault_over_debug_changes_nothing(void **state) {
    (void)state;
    fault_changes_nothing(RH_MODE_DEBUG);
}
static void test_fault_over_malloc_changes_nothing(void **state) {
    (void)state;
    fault_changes_nothing(RH_MODE_MALLOC);
}
static void test_fault_over_pools_changes_nothing(void **state) {
    (void)state;
    fault_changes_nothing(RH_MODE_POOLS);
}

/* A realloc of a bad pointer stops the program even when the armed
 * injector was to fail that very call (the pointer is checked first). */
static rh_mode child_mode;
static void realloc_foreign_armed(void *arg) {
    (void)arg;
    rh_heap *h = new_heap(child_mode);
    static char local[64];
    rh_heap_fail_after(h, 1, false);
    void *r = rh_realloc(h, local, 10);
    (void)r;
}
static void test_fault_realloc_checks_pointer_first(void **state) {
    (void)state;
    static const rh_mode modes[] = {RH_MODE_DEBUG, RH_MODE_MALLOC, RH_MODE_POOLS};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        child_mode = modes[i];
        rh_child c;
        rh_run_child(realloc_foreign_armed, NULL, &c);
        rh_assert_child_died_saying(&c, "realloc of a pointer refheap never returned");
    }
}

/* Allocation tracing pushes its shim while it traces, in every mode: on
 * top, or under the armed fault injector's shim whichever was set first;
 * stopping pops it. Through the stack it traces what the in-line traced
 * paths do not serve: a large block, calloc, a realloc (the trace moves to
 * the new block at the realloc's site; a failed one leaves the old block's
 * trace), every block of malloc and debug modes. */
static void test_trace_shim_on_the_stack(void **state) {
    (void)state;
    static const struct {
        rh_mode mode;
        const char *stack, *traced, *armed, *armed_only;
    } cases[] = {
        {RH_MODE_POOLS, "pools", "trace>pools", "fault>trace>pools", "fault>pools"},
        {RH_MODE_MALLOC, "system", "trace>system", "fault>trace>system", "fault>system"},
        {RH_MODE_DEBUG, "debug>pools", "trace>debug>pools", "fault>trace>debug>pools", "fault>debug>pools"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_heap *h = new_heap(cases[i].mode);
        assert_int_equal(rh_trace_start(h, 0), 0);
        assert_string_equal(stack_of(h), cases[i].traced);
        rh__mem_stack_check(h);
        rh_heap_fail_after(h, 100, false); /* armed after: on top */
        assert_string_equal(stack_of(h), cases[i].armed);
        rh__mem_stack_check(h);
        assert_int_equal(rh_trace_stop(h), 0); /* popped from under the fault shim */
        assert_string_equal(stack_of(h), cases[i].armed_only);
        rh__mem_stack_check(h);
        assert_int_equal(rh_trace_start(h, 0), 0); /* started while armed: under it */
        assert_string_equal(stack_of(h), cases[i].armed);
        rh__mem_stack_check(h);
        rh_heap_fail_after(h, 0, false);
        assert_string_equal(stack_of(h), cases[i].traced);

        /* what the stack serves is traced */
        int line = __LINE__ + 1;
        void *big = rh_malloc_at(h, 3000, "shim.c", line);
        void *zeroed = rh_calloc_at(h, 10, 7, "shim.c", line + 1);
        void *moved = rh_malloc_at(h, 40, "shim.c", line + 2);
        assert_non_null(big);
        assert_non_null(zeroed);
        assert_non_null(moved);
        moved = rh_realloc_at(h, moved, 2500, "shim.c", line + 3);
        assert_non_null(moved);
        rh_heap_fail_after(h, 1, false);
        assert_null(rh_realloc_at(h, big, 5000, "shim.c", line + 4)); /* fails: big keeps its trace */
        rh_err_clear(h);
        rh_trace_info ti;
        assert_true(rh_trace_get_block_traceback(h, big, &ti));
        assert_int_equal(ti.line, line);
        assert_true(ti.size >= 3000);
        assert_true(rh_trace_get_block_traceback(h, zeroed, &ti));
        assert_int_equal(ti.line, line + 1);
        assert_true(rh_trace_get_block_traceback(h, moved, &ti));
        assert_int_equal(ti.line, line + 3);
        assert_true(ti.size >= 2500);
        assert_int_equal(rh_trace_count(h), 3);
        size_t cur;
        rh_trace_get_traced_memory(h, &cur, NULL);
        assert_int_equal(cur, rh_usable_size(h, big) + rh_usable_size(h, zeroed) + rh_usable_size(h, moved));
        rh_free(h, big);
        rh_free(h, zeroed);
        rh_free(h, moved);
        assert_int_equal(rh_trace_count(h), 0);
        rh_trace_get_traced_memory(h, &cur, NULL);
        assert_int_equal(cur, 0);
        assert_int_equal(rh_trace_stop(h), 0);
        assert_string_equal(stack_of(h), cases[i].stack);
        rh__mem_stack_check(h);
        rh_heap_destroy(h);
    }
}

/* The stack check stops the program when the stack does not match the
 * mode or the slow word's fault bit, or when the words the fast paths
 * compare with do not match the slow word (a heap whose slow word is set
 * but whose fast_owner is the heap would cache blocks in debug mode or
 * under tracing; a fast heap whose fast_small is 0 would never allocate
 * fast). */
static void broken_stack(void *arg) {
    int which = *(int *)arg;
    rh_heap *h = new_heap(which == 0 ? RH_MODE_DEBUG : RH_MODE_POOLS);
    if (which == 0) h->alloc.top = &h->alloc.back;       /* debug mode without its shim */
    else if (which == 1) h->alloc.slow |= RH__SLOW_FAULT; /* the bit without the shim */
    /* the words of the other state of the slow word (under Valgrind it
     * has TOOLS, so the fast paths' words are those of a slow heap) */
    else if (which == 2) h->alloc.fast_owner = h->alloc.slow ? (uintptr_t)h : (uintptr_t)1;
    else h->alloc.fast_small = h->alloc.slow ? RH_SMALL_MAX : 0;
    rh__mem_stack_check(h);
}
static void test_stack_check_catches_mismatch(void **state) {
    (void)state;
    for (int which = 0; which < 4; which++) {
        rh_child c;
        rh_run_child(broken_stack, &which, &c);
        rh_assert_child_died_saying(&c, which < 2 ? "refheap: fatal: allocator: layer stack of heap"
                                                  : "the fast paths' words (owner");
    }
}

/* The words the fast paths compare with follow the slow word through
 * every change of it: arming and disarming the fault injector, starting
 * and stopping tracing. A pools-mode heap without tools frees into the
 * block cache while its slow word is 0 and never while it is not. */
static void test_fast_words_follow_slow_word(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    if (h->alloc.tools) {
        rh_heap_destroy(h);
        skip(); /* under Valgrind the slow word always has TOOLS */
    }
    void *p = rh_malloc(h, 32);
    for (int step = 0; step < 5; step++) {
        if (step == 1) rh_heap_fail_after(h, 1000, false);
        if (step == 2) rh_heap_fail_after(h, 0, false);
        if (step == 3) assert_int_equal(rh_trace_start(h, 1), 0);
        if (step == 4) assert_int_equal(rh_trace_stop(h), 0);
        bool fast = h->alloc.slow == 0;
        assert_true(fast == (step == 0 || step == 2 || step == 4));
        assert_int_equal(h->alloc.fast_owner, fast ? (uintptr_t)h : (uintptr_t)1);
        assert_int_equal(h->alloc.fast_small, fast ? RH_SMALL_MAX : 0);
        rh__mem_stack_check(h);
        unsigned before = rh__bcache_count(&h->alloc, 1);
        rh_free(h, p);
        assert_int_equal(rh__bcache_count(&h->alloc, 1), before + (fast ? 1u : 0u));
        assert_non_null(p = rh_malloc(h, 32));
    }
    rh_free(h, p);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_of_each_mode),
        cmocka_unit_test(test_fault_over_debug_changes_nothing),
        cmocka_unit_test(test_fault_over_malloc_changes_nothing),
        cmocka_unit_test(test_fault_over_pools_changes_nothing),
        cmocka_unit_test(test_fault_realloc_checks_pointer_first),
        cmocka_unit_test(test_stack_check_catches_mismatch),
        cmocka_unit_test(test_fast_words_follow_slow_word),
        cmocka_unit_test(test_trace_shim_on_the_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
