/*
 * test_finalize.c — weakref.finalize: once at death, call/peek/detach/alive,
 * order, at-exit. Expected outcomes from python3.11 running the equivalent
 * program (Lib/test/test_weakref.py FinalizeTestCase and the measurements
 * quoted in each test).
 */
#include "weak_testutil.h"

typedef struct fin_log {
    int n;
    int order[32];
} fin_log;

typedef struct fin_arg {
    fin_log *log;
    int tag;
} fin_arg;

static void fin_fn(void *data) {
    fin_arg *a = data;
    a->log->order[a->log->n++] = a->tag;
}

/* What most tests start from: a quiet heap, one node (id 1) and a finalizer
 * on it that logs tag 1 into `log`. */
typedef struct fin_case {
    rh_heap *h;
    fin_log log;
    fin_arg arg;
    rh_object *o; /* the node (the test's reference) */
    rh_object *f; /* its finalizer (the test's reference) */
} fin_case;

static void fin_case_begin(fin_case *c) {
    memset(c, 0, sizeof *c);
    c->h = quiet_heap();
    c->arg.log = &c->log;
    c->arg.tag = 1;
    c->o = node_new(c->h, 1);
    assert_non_null(c->o);
    c->f = rh_finalize_new(c->o, fin_fn, &c->arg);
    assert_non_null(c->f);
}

/* FinalizeTestCase.test_finalize: f = finalize(a, add, 67, 43); f.alive;
 * del a -> f.alive is False and add ran once; f() returns None afterwards. */
static void test_runs_once_at_death(void **state) {
    (void)state;
    fin_case c;
    fin_case_begin(&c);
    rh_heap *h = c.h;
    rh_object *o = c.o, *f = c.f;
    assert_non_null(f);
    assert_true(rh_is_type(f, &rh_finalize_type));
    assert_true(rh_finalize_alive(f));
    assert_int_equal(rh_refcount(o), 1);
    assert_int_equal(rh_weakref_count(o), 1);
    rh_decref(o);
    assert_int_equal(c.log.n, 1);
    assert_false(rh_finalize_alive(f));
    assert_false(rh_finalize_call(f));
    assert_int_equal(c.log.n, 1);
    rh_finalize_fn fn = NULL;
    assert_null(rh_finalize_peek(f, &fn, NULL));
    assert_null(rh_finalize_detach(f, &fn, NULL));
    assert_null(fn);
    rh_decref(f);
    rh_heap_destroy(h);
}

/* The registry keeps the finalizer: dropping the caller's reference does not
 * unregister it (Python: finalize(a, ...) without keeping the result). */
static void test_registered_without_caller_ref(void **state) {
    (void)state;
    fin_case c;
    fin_case_begin(&c);
    rh_heap *h = c.h;
    rh_object *o = c.o, *f = c.f;
    assert_int_equal(rh_refcount(f), 2); /* the caller's and the registry's */
    rh_decref(f);
    rh_decref(o);
    assert_int_equal(c.log.n, 1);
    rh_heap_destroy(h);
}

/* test_finalize: f() runs now (returns the result), then f.alive is False
 * and the death of the object does nothing more. */
static void test_call(void **state) {
    (void)state;
    fin_case c;
    fin_case_begin(&c);
    rh_heap *h = c.h;
    rh_object *o = c.o, *f = c.f;
    assert_true(rh_finalize_call(f));
    assert_int_equal(c.log.n, 1);
    assert_false(rh_finalize_alive(f));
    assert_false(rh_finalize_call(f));
    assert_int_equal(rh_weakref_count(o), 0); /* its weakref went with it */
    rh_decref(o);
    assert_int_equal(c.log.n, 1);
    rh_decref(f);
    rh_heap_destroy(h);
}

/* test_finalize: f.peek() -> (a, add, args, kwargs) while alive; f.detach()
 * returns the same and unregisters: del a then calls nothing; a second
 * detach returns None. */
static void test_peek_detach(void **state) {
    (void)state;
    fin_case c;
    fin_case_begin(&c);
    rh_heap *h = c.h;
    rh_object *o = c.o, *f = c.f;
    rh_finalize_fn fn = NULL;
    void *data = NULL;
    rh_object *got = rh_finalize_peek(f, &fn, &data);
    assert_ptr_equal(got, o);
    assert_ptr_equal(fn, fin_fn);
    assert_ptr_equal(data, &c.arg);
    rh_decref(got);
    assert_true(rh_finalize_alive(f));
    fn = NULL;
    data = NULL;
    got = rh_finalize_detach(f, &fn, &data);
    assert_ptr_equal(got, o);
    assert_ptr_equal(fn, fin_fn);
    assert_ptr_equal(data, &c.arg);
    rh_decref(got);
    assert_false(rh_finalize_alive(f));
    assert_null(rh_finalize_detach(f, NULL, NULL));
    rh_decref(o);
    assert_int_equal(c.log.n, 0);
    rh_decref(f);
    rh_heap_destroy(h);
}

/* python3.11: two finalizers on one object: del o -> [2, 1] (newest first,
 * they are weakref callbacks). */
static void test_order_on_one_object(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    fin_log log = {0};
    fin_arg a1 = {&log, 1}, a2 = {&log, 2};
    rh_object *o = node_new(h, 1);
    rh_object *f1 = rh_finalize_new(o, fin_fn, &a1);
    rh_object *f2 = rh_finalize_new(o, fin_fn, &a2);
    rh_decref(f1);
    rh_decref(f2);
    rh_decref(o);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.order[0], 2);
    assert_int_equal(log.order[1], 1);
    rh_heap_destroy(h);
}

/* python3.11: a <-> b, finalize(a, ...); del a, b; gc.collect() -> 3 (the two
 * objects and the finalizer's weakref, freed by its callback), fn ran once. */
static void test_cycle(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    fin_log log = {0};
    fin_arg arg = {&log, 1};
    rh_object *a, *b;
    node_pair(h, 1, 2, &a, &b);
    rh_object *f = rh_finalize_new(a, fin_fn, &arg);
    rh_decref(a);
    rh_decref(b);
    assert_int_equal(log.n, 0);
    assert_true(rh_finalize_alive(f));
    assert_int_equal(rh_gc_collect(h, 2), 3);
    assert_int_equal(log.n, 1);
    assert_false(rh_finalize_alive(f));
    assert_int_equal(rh_gc_collect(h, 2), 0);
    assert_int_equal(log.n, 1);
    rh_decref(f);
    rh_heap_destroy(h);
}

/* A finalizer whose fn drops the last reference to the finalizer object
 * and creates another finalizer. */
typedef struct reentrant {
    rh_object *f;      /* the test's reference, handed to fn */
    rh_object *other;
    rh_object *made;
    fin_log *log;
} reentrant;
static void fin_reentrant(void *data) {
    reentrant *r = data;
    rh_decref(r->f);
    r->f = NULL;
    static fin_arg arg;
    arg.log = r->log;
    arg.tag = 9;
    r->made = rh_finalize_new(r->other, fin_fn, &arg);
    assert_non_null(r->made);
}
static void test_fn_drops_finalizer_and_registers(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    fin_log log = {0};
    reentrant r = {.log = &log};
    rh_object *o = node_new(h, 1);
    r.other = node_new(h, 2);
    r.f = rh_finalize_new(o, fin_reentrant, &r);
    rh_decref(o);
    assert_null(r.f);
    assert_true(rh_finalize_alive(r.made));
    rh_decref(r.other);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.order[0], 9);
    rh_decref(r.made);
    rh_heap_destroy(h);
}

/* At heap destruction the finalizers of living objects run newest first;
 * one registered during that run (it is then the newest) runs next. python3.11
 * (atexit): objs 0, 1, 2 with finalize(o, f, i), f(1) registers
 * finalize(objs[0], print, "late") -> fin 2, fin 1, late, fin 0. Finalizers
 * already run or detached do not run again. */
typedef struct exit_ctx {
    fin_log *log;
    rh_object *obj0;
    fin_arg late;
} exit_ctx;
static exit_ctx exit_c;
static fin_arg exit_args[3];
static void fin_exit(void *data) {
    fin_arg *a = data;
    fin_fn(a);
    if (a->tag == 1) {
        exit_c.late.log = a->log;
        exit_c.late.tag = 100;
        rh_object *f = rh_finalize_new(exit_c.obj0, fin_fn, &exit_c.late);
        assert_non_null(f);
        rh_decref(f);
    }
}
static void test_atexit(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    fin_log log = {0};
    rh_object *objs[3];
    for (int i = 0; i < 3; i++) {
        objs[i] = node_new(h, i);
        exit_args[i].log = &log;
        exit_args[i].tag = i;
        rh_object *f = rh_finalize_new(objs[i], fin_exit, &exit_args[i]);
        rh_decref(f);
    }
    exit_c.obj0 = objs[0];
    /* one more, detached, and one called already: neither runs at exit */
    fin_arg extra = {&log, 50};
    rh_object *fd = rh_finalize_new(objs[1], fin_fn, &extra);
    rh_object *fc = rh_finalize_new(objs[2], fin_fn, &extra);
    rh_object *got = rh_finalize_detach(fd, NULL, NULL);
    rh_decref(got);
    assert_true(rh_finalize_call(fc));
    assert_int_equal(log.n, 1);
    log.n = 0;
    rh_decref(fd);
    rh_decref(fc);
    /* the objects stay alive: the heap's destruction runs the finalizers */
    rh_heap_destroy(h);
    assert_int_equal(log.n, 4);
    assert_int_equal(log.order[0], 2);
    assert_int_equal(log.order[1], 1);
    assert_int_equal(log.order[2], 100);
    assert_int_equal(log.order[3], 0);
}

/* Only weakrefable objects: finalize(1, f) is TypeError "cannot create weak
 * reference to 'int' object" in python3.11. */
static void test_not_weakrefable(void **state) {
    (void)state;
    rh_heap *h = quiet_heap();
    fin_log log = {0};
    fin_arg arg = {&log, 1};
    rh_object *i = rh_int(h, 100000);
    assert_null(rh_finalize_new(i, fin_fn, &arg));
    assert_int_equal(rh_err(h), RH_EWEAKREF);
    rh_err_clear(h);
    rh_decref(i);
    rh_object *l = rh_list_new(h, 0);
    assert_false(rh_finalize_alive(l));
    assert_false(rh_finalize_call(l));
    assert_null(rh_finalize_peek(l, NULL, NULL));
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_decref(l);
    rh_heap_destroy(h);
}

/* repr as Python's: "<finalize object at 0x..; for 'node' at 0x..>", then
 * "; dead>". */
static void test_repr(void **state) {
    (void)state;
    fin_case c;
    fin_case_begin(&c);
    rh_heap *h = c.h;
    rh_object *o = c.o, *f = c.f;
    rh_assert_repr(f, "<finalize object at %p; for 'node' at %p>", (void *)f, (void *)o);
    rh_decref(o);
    rh_assert_repr(f, "<finalize object at %p; dead>", (void *)f);
    rh_decref(f);
    rh_heap_destroy(h);
}

/* Out of memory at each allocation of rh_finalize_new leaks nothing and
 * leaves nothing registered. */
static void test_oom(void **state) {
    (void)state;
    rh_heap *h = measured_heap();
    fin_log log = {0};
    fin_arg arg = {&log, 1};
    rh_object *o = node_new(h, 1);
    int failed = 0, succeeded = 0;
    for (long n = 1; n < 10; n++) {
        rh_heap_stats st0, st1;
        rh_heap_stats_get(h, &st0);
        rh_heap_fail_after(h, n, true);
        rh_object *f = rh_finalize_new(o, fin_fn, &arg);
        rh_heap_fail_after(h, 0, false);
        if (!f) {
            failed++;
            assert_int_equal(rh_err(h), RH_ENOMEM);
            rh_err_clear(h);
        } else {
            succeeded++;
            rh_object *got = rh_finalize_detach(f, NULL, NULL);
            rh_decref(got);
            rh_decref(f);
        }
        rh_heap_stats_get(h, &st1);
        assert_int_equal(st0.bytes_in_use, st1.bytes_in_use);
        assert_int_equal(rh_weakref_count(o), 0);
    }
    /* the injector fired, and the runs reached past the last allocation */
    assert_true(failed > 0);
    assert_true(succeeded > 0);
    rh_decref(o);
    assert_int_equal(log.n, 0);
    rh_heap_destroy(h);
}

/* The finalizer's weakref escapes through getweakrefs and outlives the
 * finalizer (detached, then freed): the object's death later calls into
 * nothing (no use of the freed finalizer). python3.11: r = getweakrefs(a)
 * -> 1 ref; f.detach(); del f; del a -> nothing ran, r[0]() is None. */
static void test_escaped_weakref_outlives_finalizer(void **state) {
    (void)state;
    fin_case c;
    fin_case_begin(&c);
    rh_object *refs = rh_weakref_list(c.o);
    assert_int_equal(rh_list_size(refs), 1);
    rh_object *got = rh_finalize_detach(c.f, NULL, NULL);
    assert_ptr_equal(got, c.o);
    rh_decref(got);
    rh_decref(c.f); /* the finalizer is freed; its weakref lives in refs */
    rh_decref(c.o);
    assert_int_equal(node_destroyed, 1);
    assert_int_equal(c.log.n, 0);
    assert_false(rh_weakref_alive(rh_list_get(refs, 0)));
    rh_decref(refs);
    rh_heap_destroy(c.h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_once_at_death),
        cmocka_unit_test(test_registered_without_caller_ref),
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_peek_detach),
        cmocka_unit_test(test_order_on_one_object),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_fn_drops_finalizer_and_registers),
        cmocka_unit_test(test_atexit),
        cmocka_unit_test(test_not_weakrefable),
        cmocka_unit_test(test_repr),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_escaped_weakref_outlives_finalizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
