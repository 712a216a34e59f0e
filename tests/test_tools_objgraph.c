/*
 * test_tools_objgraph.c — the object graph: counts by type, growth since the
 * last call, the chain of referrers ending at the planted holder, retained
 * sizes equal to the bytes freed when the object dies, and the DOT drawing's
 * depth limit and filter. The collector's scratch words are given back.
 */
#include "rh_test.h"

#include "internal.h" /* white box: the collector's scratch word */

static rh_heap *heap_in(rh_mode m) {
    rh_heap_config cfg = {.mode = m};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

static rh_object *new_class(rh_heap *h, const char *name) {
    rh_class_spec spec = {.name = name, .weakrefable = true};
    rh_object *c = rh_class_new(h, &spec);
    assert_non_null(c);
    return c;
}

static size_t count_of(const rh_type_count *v, size_t n, const char *name, ptrdiff_t *delta) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) {
            if (delta) *delta = v[i].delta;
            return v[i].count;
        }
    if (delta) *delta = 0;
    return 0;
}

static void test_most_common_types_and_growth(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    rh_object *cls = new_class(h, "Leaky");
    rh_object *keep = rh_list_new(h, 0);
    for (int i = 0; i < 7; i++) {
        rh_object *o = rh_instance_new(cls);
        rh_list_append(keep, o);
        rh_decref(o);
    }
    size_t n;
    rh_type_count *v = rh_objgraph_most_common_types(h, 0, &n);
    assert_non_null(v);
    assert_int_equal(count_of(v, n, "Leaky", NULL), 7);
    for (size_t i = 1; i < n; i++) assert_true(v[i - 1].count >= v[i].count);
    free(v);
    /* growth: the first call sets the peaks */
    v = rh_objgraph_growth(h, 0, &n);
    ptrdiff_t d;
    assert_int_equal(count_of(v, n, "Leaky", &d), 7);
    assert_int_equal(d, 7);
    free(v);
    for (int i = 0; i < 5; i++) {
        rh_object *o = rh_instance_new(cls);
        rh_list_append(keep, o);
        rh_decref(o);
    }
    v = rh_objgraph_growth(h, 0, &n);
    assert_int_equal(n, 1); /* only Leaky grew */
    assert_string_equal(v[0].name, "Leaky");
    assert_int_equal(v[0].count, 12);
    assert_int_equal(v[0].delta, 5);
    free(v);
    /* shrinking and growing back below the peak is no growth */
    rh_list_clear(keep);
    rh_object *o = rh_instance_new(cls);
    v = rh_objgraph_growth(h, 0, &n);
    assert_int_equal(n, 0);
    free(v);
    rh_decref(o);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(rh_objgraph_show_most_common_types(h, 5, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "list"));
    free(buf);
    rh_decref(keep);
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* The planted holder: a list the test holds, containing a dict, containing
 * a list, containing the object. Other referrers lead nowhere shorter. */
static void test_backref_chain_ends_at_the_holder(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    rh_object *cls = new_class(h, "Session");
    rh_object *holder = rh_list_new(h, 0);
    rh_object *d = rh_dict_new(h);
    rh_object *reg = rh_list_new(h, 0);
    rh_object *obj = rh_instance_new(cls);
    rh_list_append(holder, d);
    rh_dict_set_str(d, "_registry", reg);
    rh_list_append(reg, obj);
    /* a longer path too: holder2 -> a -> b -> c -> obj */
    rh_object *holder2 = rh_list_new(h, 0), *a = rh_list_new(h, 0), *b = rh_list_new(h, 0), *c = rh_list_new(h, 0);
    rh_list_append(holder2, a);
    rh_list_append(a, b);
    rh_list_append(b, c);
    rh_list_append(c, obj);
    rh_decref(a);
    rh_decref(b);
    rh_decref(c);
    /* 0, or the state of a container without list links (docs/linkless.md) */
    uint32_t wholder = holder->rh_gcword, wobj = obj->rh_gcword;
    rh_object *chain = rh_objgraph_find_backref_chain(h, obj, NULL, 0, 0);
    assert_non_null(chain);
    assert_int_equal(rh_list_size(chain), 4);
    assert_ptr_equal(rh_list_get(chain, 0), holder);
    assert_ptr_equal(rh_list_get(chain, 1), d);
    assert_ptr_equal(rh_list_get(chain, 2), reg);
    assert_ptr_equal(rh_list_get(chain, 3), obj);
    rh_decref(chain);
    /* the scratch words are back as they were */
    assert_int_equal(holder->rh_gcword, wholder);
    assert_int_equal(obj->rh_gcword, wobj);
    assert_int_equal(rh_gc_verify(h), 0);
    /* explicit roots: the longer path when it is the only root named */
    chain = rh_objgraph_find_backref_chain(h, obj, &holder2, 1, 0);
    assert_int_equal(rh_list_size(chain), 5);
    assert_ptr_equal(rh_list_get(chain, 0), holder2);
    rh_decref(chain);
    /* a depth bound shorter than the path: no chain */
    chain = rh_objgraph_find_backref_chain(h, obj, NULL, 0, 2);
    assert_int_equal(rh_list_size(chain), 0);
    rh_decref(chain);
    rh_decref(holder2);
    rh_decref(obj);
    rh_decref(reg);
    rh_decref(d);
    rh_decref(holder);
    rh_decref(cls);
    rh_heap_destroy(h);
}

/* Bytes in use, as debug mode counts them: the sum of live requests. */
static size_t requested(rh_heap *h) {
    rh_heap_stats st;
    rh_heap_stats_get(h, &st);
    return st.bytes_requested;
}

/* X: a list of three instances, each with a string and a list attribute;
 * one of them also held by a list the program keeps (not retained), and a
 * cycle inside X's part (freed by the collector). */
static void test_retained_equals_bytes_freed(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_DEBUG);
    rh_object *cls = new_class(h, "Node");
    rh_object *other = rh_list_new(h, 0);
    rh_object *x = rh_list_new(h, 0);
    for (int i = 0; i < 3; i++) {
        rh_object *n = rh_instance_new(cls);
        rh_object *s = rh_str_printf(h, "node number %d with a longer name", i);
        rh_object *l = rh_list_new(h, 0);
        rh_object *big = rh_int(h, 1000000 + i);
        rh_list_append(l, big);
        rh_list_append(l, n); /* a cycle: n -> l -> n */
        rh_setattr(n, "name", s);
        rh_setattr(n, "items", l);
        rh_list_append(x, n);
        if (i == 1) rh_list_append(other, n); /* shared: survives x */
        rh_decref(big);
        rh_decref(l);
        rh_decref(s);
        rh_decref(n);
    }
    rh_gc_collect(h, 2);
    size_t bytes = 0, count = 0;
    assert_int_equal(rh_objgraph_retained(h, x, &bytes, &count), 0);
    /* x, and for nodes 0 and 2: the node, its str, its list, its int */
    assert_int_equal(count, 1 + 2 * 4);
    size_t before = requested(h);
    rh_decref(x);
    rh_gc_collect(h, 2);
    size_t after = requested(h);
    assert_int_equal(before - after, bytes);
    /* the shared node, now held by the program alone: itself and its part
     * (clearing `other` frees its item array too: done before measuring) */
    rh_object *n1 = rh_newref(rh_list_get(other, 0));
    rh_list_clear(other);
    assert_int_equal(rh_objgraph_retained(h, n1, &bytes, &count), 0);
    assert_int_equal(count, 4);
    before = requested(h);
    rh_decref(n1);
    rh_gc_collect(h, 2);
    assert_int_equal(before - requested(h), bytes);
    assert_int_equal(rh_gc_verify(h), 0);
    rh_decref(other);
    rh_decref(cls);
    rh_heap_destroy(h);
}

static bool not_str(rh_object *o, void *data) {
    (void)data;
    return !rh_is_type(o, &rh_str_type);
}

static size_t count_sub(const char *s, const char *sub) {
    size_t n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
    return n;
}

static void test_dot_depth_and_filter(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    /* a chain of lists l0 -> l1 -> ... -> l5, each also holding a str */
    rh_object *l[6];
    for (int i = 0; i < 6; i++) {
        l[i] = rh_list_new(h, 0);
        rh_object *s = rh_str_printf(h, "level %d", i);
        rh_list_append(l[i], s);
        rh_decref(s);
        if (i) rh_list_append(l[i - 1], l[i]);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rh_dot_options o = {.max_depth = 2, .title = "a \"quoted\" title"};
    assert_int_equal(rh_objgraph_write_dot(h, &l[0], 1, &o, f), 0);
    fclose(f);
    /* depth 2: l0, its str and l1 (depth 1), l1's str and l2 (depth 2) */
    assert_int_equal(count_sub(buf, "[label=\"list"), 3);
    assert_int_equal(count_sub(buf, "[label=\"str"), 2);
    assert_non_null(strstr(buf, "-> o"));
    assert_non_null(strstr(buf, "[label=\"[1]\"]")); /* l0[1] is l1 */
    assert_non_null(strstr(buf, "a \\\"quoted\\\" title"));
    free(buf);
    /* filter: no strings */
    buf = NULL;
    f = open_memstream(&buf, &len);
    o.filter = not_str;
    assert_int_equal(rh_objgraph_write_dot(h, &l[0], 1, &o, f), 0);
    fclose(f);
    assert_int_equal(count_sub(buf, "[label=\"str"), 0);
    assert_int_equal(count_sub(buf, "[label=\"list"), 3);
    free(buf);
    /* referrers of l3, depth 3: l3, l2, l1, l0 */
    buf = NULL;
    f = open_memstream(&buf, &len);
    rh_dot_options back = {.backrefs = true, .max_depth = 3};
    assert_int_equal(rh_objgraph_write_dot(h, &l[3], 1, &back, f), 0);
    fclose(f);
    assert_int_equal(count_sub(buf, "[label=\"list"), 4);
    /* arrows point from referrer to referent, named by the referrer:
     * l0 -> l1, l1 -> l2, l2 -> l3, each "[1]" */
    assert_int_equal(count_sub(buf, "[label=\"[1]\"]"), 3);
    free(buf);
    assert_int_equal(rh_gc_verify(h), 0);
    for (int i = 5; i >= 0; i--) rh_decref(l[i]);
    rh_heap_destroy(h);
}

/* Inside a collection the scratch words are the collector's: refused. */
static int cb_rc = 0;
static rh_error cb_err;
static void in_cb(rh_heap *h, rh_gc_phase phase, const rh_gc_info *info, void *data) {
    (void)info;
    (void)data;
    if (phase != RH_GC_START) return;
    size_t b, c;
    cb_rc = rh_objgraph_retained(h, (rh_object *)data, &b, &c);
    cb_err = rh_err(h);
}

static void test_refused_during_collection(void **state) {
    (void)state;
    rh_heap *h = heap_in(RH_MODE_POOLS);
    rh_object *l = rh_list_new(h, 0);
    rh_gc_callback_add(h, in_cb, l);
    rh_gc_collect(h, 0);
    rh_gc_callback_remove(h, in_cb, l);
    assert_int_equal(cb_rc, -1);
    assert_int_equal(cb_err, RH_ESTATE);
    rh_decref(l);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_most_common_types_and_growth),
        cmocka_unit_test(test_backref_chain_ends_at_the_holder),
        cmocka_unit_test(test_retained_equals_bytes_freed),
        cmocka_unit_test(test_dot_depth_and_filter),
        cmocka_unit_test(test_refused_during_collection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
