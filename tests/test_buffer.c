/*
 * test_buffer.c — bytearray and memoryview (src/objects/buffer.c).
 *
 * Expected behaviour and messages come from CPython 3.11.7 (the python3 on
 * this machine); the Python that shows each is quoted beside the check.
 */
#include "rh_test.h"

#include <inttypes.h>

static rh_heap *new_heap(void) {
    rh_heap *h = rh_heap_new(NULL);
    assert_non_null(h);
    return h;
}

/* In debug mode freed blocks wait in quarantine and still count in
 * bytes_in_use, so exact byte accounting is checked in the other modes. */
static bool exact_accounting(rh_heap *h) { return rh_heap_mode(h) != RH_MODE_DEBUG; }

static void assert_error(rh_heap *h, rh_error code, const char *msg) {
    assert_int_equal(rh_err(h), code);
    if (msg) assert_string_equal(rh_errmsg(h), msg);
    rh_err_clear(h);
}

#define EXPORTS_MSG "Existing exports of data: object cannot be re-sized"
#define RELEASED_MSG "operation forbidden on released memoryview object"

/* ---------------------------------------------------------------------------
 * bytearray
 * ------------------------------------------------------------------------- */

static void test_bytearray_basics(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *ba = rh_bytearray(h, "hello", 5);
    assert_non_null(ba);
    assert_int_equal(rh_bytearray_len(ba), 5);
    assert_memory_equal(rh_bytearray_data(ba), "hello", 5);
    /* gc.is_tracked(bytearray(b'x')) is False: not a container. */
    assert_int_equal(rh_type_of(ba)->flags & RH_TYPE_GC, 0);
    assert_false(rh_gc_is_tracked(ba));

    rh_bytearray_data(ba)[0] = 'j'; /* mutable in place */
    assert_int_equal(rh_bytearray_extend(ba, " world", 6), 0);
    assert_int_equal(rh_bytearray_len(ba), 11);
    assert_memory_equal(rh_bytearray_data(ba), "jello world", 11);
    /* Extending with its own bytes (ba += ba) works across the reallocation. */
    for (int i = 0; i < 4; i++) assert_int_equal(rh_bytearray_extend(ba, rh_bytearray_data(ba), rh_bytearray_len(ba)), 0);
    assert_int_equal(rh_bytearray_len(ba), 11 * 16);
    assert_memory_equal(rh_bytearray_data(ba) + 11 * 15, "jello world", 11);

    /* Resize: shrinking keeps the prefix, growing adds zero bytes. */
    assert_int_equal(rh_bytearray_resize(ba, 3), 0);
    assert_memory_equal(rh_bytearray_data(ba), "jel", 3);
    assert_int_equal(rh_bytearray_resize(ba, 6), 0);
    assert_memory_equal(rh_bytearray_data(ba), "jel\0\0\0", 6);
    assert_int_equal(rh_bytearray_resize(ba, 0), 0);
    assert_int_equal(rh_bytearray_len(ba), 0);
    assert_non_null(rh_bytearray_data(ba)); /* an empty buffer still has a data pointer */
    assert_int_equal(rh_bytearray_extend(ba, "ab", 2), 0);
    assert_memory_equal(rh_bytearray_data(ba), "ab", 2);

    /* bytearray(3) is three zero bytes. */
    rh_object *z = rh_bytearray(h, NULL, 3);
    assert_memory_equal(rh_bytearray_data(z), "\0\0\0", 3);
    rh_object *e = rh_bytearray(h, NULL, 0);
    assert_int_equal(rh_bytearray_len(e), 0);

    /* bytearray(b'ab') == b'ab'; hash(bytearray()) -> TypeError: unhashable type: 'bytearray' */
    rh_object *b = rh_bytes(h, "ab", 2);
    assert_int_equal(rh_equal(ba, b), 1);
    assert_int_equal(rh_equal(ba, z), 0);
    assert_int_equal(rh_hash(ba), -1);
    assert_error(h, RH_ETYPE, "unhashable type: 'bytearray'");

    /* Wrong type. */
    assert_int_equal(rh_bytearray_resize(b, 1), -1);
    assert_error(h, RH_ETYPE, NULL);

    rh_decref(b);
    rh_decref(e);
    rh_decref(z);
    rh_decref(ba);
    rh_heap_destroy(h);
}

static void test_bytearray_repr_and_size(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    /* repr(bytearray(b'a\x00\'"\n\x7f\xff')) == 'bytearray(b\'a\\x00\\\'"\\n\\x7f\\xff\')' */
    rh_object *ba = rh_bytearray(h, "a\0'\"\n\x7f\xff", 7);
    char buf[128];
    int n = rh_repr(ba, buf, sizeof buf);
    assert_string_equal(buf, "bytearray(b'a\\x00\\'\"\\n\\x7f\\xff')");
    assert_int_equal(n, (int)strlen(buf));
    /* Only a single quote: Python switches to double quotes. */
    rh_object *q = rh_bytearray(h, "it's", 4);
    rh_repr(q, buf, sizeof buf);
    assert_string_equal(buf, "bytearray(b\"it's\")");
    /* snprintf contract: a short buffer gets a truncated, terminated prefix
     * and the full length is returned. */
    char small[8];
    assert_int_equal(rh_repr(q, small, sizeof small), (int)strlen("bytearray(b\"it's\")"));
    assert_string_equal(small, "bytearr");

    /* sys.getsizeof(bytearray()) == 56, bytearray(b'x') == 58 in CPython
     * (header + 5 words, plus the allocation with its trailing NUL).
     * refheap: header 16 + data pointer, length, capacity, export count (32)
     * = 48, plus the allocated capacity. */
    rh_object *e = rh_bytearray(h, NULL, 0);
    assert_int_equal(rh_sizeof(e), 48);
    rh_object *one = rh_bytearray(h, "x", 1);
    assert_int_equal(rh_sizeof(one), 49);
    rh_decref(one);
    rh_decref(e);
    rh_decref(q);
    rh_decref(ba);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * memoryview
 * ------------------------------------------------------------------------- */

static void test_memoryview_of_bytes(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *b = rh_bytes(h, "abcdef", 6);
    rh_object *m = rh_memoryview(b);
    assert_non_null(m);
    /* The view shows the bytes object's own memory: no copy. */
    assert_ptr_equal(rh_memoryview_data(m), rh_bytes_data(b));
    assert_int_equal(rh_memoryview_len(m), 6);
    assert_true(rh_memoryview_readonly(m)); /* memoryview(b'').readonly is True */
    /* mr[0] = 1 -> TypeError: cannot modify read-only memory */
    assert_null(rh_memoryview_mutable_data(m));
    assert_error(h, RH_ETYPE, "cannot modify read-only memory");
    /* The view keeps its base alive. */
    assert_int_equal(rh_refcount(b), 2);

    /* bytes(m[2:100]) == b'cdef'; m[5:2] == b''; m[7:9] == b'' */
    rh_object *s = rh_memoryview_slice(m, 2, 100);
    assert_ptr_equal(rh_memoryview_data(s), rh_bytes_data(b) + 2);
    assert_int_equal(rh_memoryview_len(s), 4);
    rh_object *t = rh_memoryview_tobytes(s);
    assert_memory_equal(rh_bytes_data(t), "cdef", 4);
    assert_int_equal(rh_bytes_len(t), 4);
    rh_object *empty1 = rh_memoryview_slice(m, 5, 2);
    rh_object *empty2 = rh_memoryview_slice(m, 7, 9);
    assert_int_equal(rh_memoryview_len(empty1), 0);
    assert_int_equal(rh_memoryview_len(empty2), 0);
    /* A slice of a slice: m[2:][1:3] == b'de', same memory. */
    rh_object *ss = rh_memoryview_slice(s, 1, 3);
    assert_ptr_equal(rh_memoryview_data(ss), rh_bytes_data(b) + 3);
    assert_int_equal(rh_memoryview_len(ss), 2);
    assert_true(rh_memoryview_readonly(ss));
    /* The base is referenced once, by the shared managed buffer. */
    assert_int_equal(rh_refcount(b), 2);

    /* memoryview(b'abc') == b'abc'; hash(memoryview(b'abc')) == hash(b'abc') */
    assert_int_equal(rh_equal(s, t), 1);
    assert_int_equal(rh_equal(ss, t), 0);
    assert_int_equal(rh_hash(s), rh_hash(t));

    /* repr: '<memory at 0x...>' */
    char buf[64], want[64];
    rh_repr(m, buf, sizeof buf);
    snprintf(want, sizeof want, "<memory at 0x%" PRIxPTR ">", (uintptr_t)m);
    assert_string_equal(buf, want);

    rh_object *objs[] = {ss, empty2, empty1, t, s, m};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    assert_int_equal(rh_refcount(b), 1);
    rh_decref(b);
    rh_heap_destroy(h);
}

static void test_memoryview_writes_through(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *ba = rh_bytearray(h, "hello", 5);
    rh_object *m = rh_memoryview(ba);
    assert_false(rh_memoryview_readonly(m)); /* memoryview(bytearray(2)).readonly is False */
    rh_object *s = rh_memoryview_slice(m, 1, 4);
    uint8_t *w = rh_memoryview_mutable_data(s);
    assert_ptr_equal(w, rh_bytearray_data(ba) + 1);
    memcpy(w, "ELL", 3);
    assert_memory_equal(rh_bytearray_data(ba), "hELLo", 5);
    /* A view of a view shares the memory too. */
    rh_object *mm = rh_memoryview(s);
    assert_ptr_equal(rh_memoryview_data(mm), rh_bytearray_data(ba) + 1);
    assert_int_equal(rh_memoryview_len(mm), 3);
    /* hash(memoryview(bytearray(b'abc'))) -> ValueError: cannot hash writable memoryview object */
    assert_int_equal(rh_hash(m), -1);
    assert_error(h, RH_EVALUE, "cannot hash writable memoryview object");
    rh_decref(mm);
    rh_decref(s);
    rh_decref(m);
    rh_decref(ba);
    rh_heap_destroy(h);
}

static void test_exports_block_resize(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *ba = rh_bytearray(h, "hello", 5);
    rh_object *m = rh_memoryview(ba);
    /* ba.append(1) while m exists -> BufferError: Existing exports of data: object cannot be re-sized */
    assert_int_equal(rh_bytearray_extend(ba, "!", 1), -1);
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    assert_int_equal(rh_bytearray_resize(ba, 2), -1);
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    /* Changes that keep the size are allowed (ba.extend(b''), ba[0:0] = b''). */
    assert_int_equal(rh_bytearray_extend(ba, "", 0), 0);
    assert_int_equal(rh_bytearray_resize(ba, 5), 0);
    assert_int_equal(rh_err(h), RH_OK);

    /* m.release() lifts the export; release is idempotent. */
    assert_int_equal(rh_memoryview_release(m), 0);
    assert_int_equal(rh_memoryview_release(m), 0);
    assert_int_equal(rh_bytearray_extend(ba, "!", 1), 0);
    assert_memory_equal(rh_bytearray_data(ba), "hello!", 6);
    /* m[0] after release -> ValueError: operation forbidden on released memoryview object */
    assert_null(rh_memoryview_data(m));
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_null(rh_memoryview_mutable_data(m));
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_null(rh_memoryview_tobytes(m));
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_null(rh_memoryview_slice(m, 0, 1));
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_null(rh_memoryview(m));
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_int_equal(rh_memoryview_len(m), 0);
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_int_equal(rh_hash(m), -1);
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    /* m == m is True for a released view, m == b'' is False. */
    rh_object *eb = rh_bytes(h, "", 0);
    assert_int_equal(rh_equal(m, m), 1);
    assert_int_equal(rh_equal(m, eb), 0);
    rh_decref(eb);
    char buf[64], want[64];
    rh_repr(m, buf, sizeof buf);
    snprintf(want, sizeof want, "<released memory at 0x%" PRIxPTR ">", (uintptr_t)m);
    assert_string_equal(buf, want);
    rh_decref(m);

    /* Slices share the export: CPython
     *   m = memoryview(ba); s = m[2:4]; m.release(); ba.extend(b'x') -> BufferError
     *   s.release(); ba.extend(b'x') -> fine                                     */
    m = rh_memoryview(ba);
    rh_object *s = rh_memoryview_slice(m, 2, 4);
    rh_object *mm = rh_memoryview(m);
    assert_int_equal(rh_memoryview_release(m), 0);
    assert_int_equal(rh_bytearray_extend(ba, "x", 1), -1);
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    /* The slice stays usable after its parent's release (bytes(ex) == b'll'). */
    assert_memory_equal(rh_memoryview_data(s), "ll", 2);
    assert_int_equal(rh_memoryview_release(s), 0);
    assert_int_equal(rh_bytearray_extend(ba, "x", 1), -1); /* mm still exports */
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    /* A view dying releases too (del m; ba.append(1) works). */
    rh_decref(mm);
    assert_int_equal(rh_bytearray_extend(ba, "x", 1), 0);
    rh_decref(s);
    rh_decref(m);

    /* Two independent views: both must go. */
    rh_object *v1 = rh_memoryview(ba), *v2 = rh_memoryview(ba);
    rh_decref(v1);
    assert_int_equal(rh_bytearray_resize(ba, 1), -1);
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    rh_decref(v2);
    assert_int_equal(rh_bytearray_resize(ba, 1), 0);

    /* The base outlives the user's reference while a view holds it. */
    m = rh_memoryview(ba);
    rh_decref(ba);
    assert_memory_equal(rh_memoryview_data(m), "h", 1);
    rh_decref(m); /* frees the bytearray too */
    rh_heap_destroy(h);
}

static void test_memoryview_bad_type(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *l = rh_list_new(h, 0);
    /* memoryview(1) -> TypeError: memoryview: a bytes-like object is required, not 'int' */
    assert_null(rh_memoryview(l));
    assert_error(h, RH_ETYPE, "memoryview: a bytes-like object is required, not 'list'");
    assert_int_equal(rh_memoryview_release(l), -1);
    assert_error(h, RH_ETYPE, NULL);
    rh_decref(l);

    /* memoryview(b'') works in Python. refheap's empty bytes is a static
     * immortal of no heap: rh_memoryview_in names the heap for the view. */
    rh_object *eb = rh_bytes(h, "", 0);
    assert_null(rh_memoryview(eb));
    rh_object *m = rh_memoryview_in(h, eb);
    assert_non_null(m);
    assert_int_equal(rh_memoryview_len(m), 0);
    assert_true(rh_memoryview_readonly(m));
    rh_object *t = rh_memoryview_tobytes(m);
    assert_int_equal(rh_bytes_len(t), 0);
    rh_decref(t);
    rh_decref(m);
    rh_decref(eb);

    /* A view may not cross heaps. */
    rh_heap *other = new_heap();
    rh_object *ob = rh_bytes(other, "zz", 2);
    assert_null(rh_memoryview_in(h, ob));
    assert_error(h, RH_EVALUE, NULL);
    rh_decref(ob);
    rh_heap_destroy(other);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * The large buffer: slicing copies nothing
 * ------------------------------------------------------------------------- */

#define BIG ((size_t)10 << 20) /* 10 MiB */

static void test_large_slices_share_memory(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *ba = rh_bytearray(h, NULL, BIG);
    assert_non_null(ba);
    memset(rh_bytearray_data(ba), 0xAB, BIG);
    rh_heap_stats s0, s1, s2;
    rh_heap_stats_get(h, &s0);
    size_t own0 = rh_test_gc_own_bytes(h);

    rh_object *m = rh_memoryview(ba);
    rh_object *half = rh_memoryview_slice(m, BIG / 2, BIG);
    rh_object *quarter = rh_memoryview_slice(half, 0, BIG / 4);
    rh_object *views[16];
    for (int i = 0; i < 16; i++) views[i] = rh_memoryview_slice(m, (size_t)i << 10, BIG - ((size_t)i << 10));
    rh_heap_stats_get(h, &s1);
    /* the views' bytes: not the collector's own storage (the young array
     * of the layout without links, allocated by the first tracked view) */
    size_t grown = s1.bytes_in_use - s0.bytes_in_use - (rh_test_gc_own_bytes(h) - own0);
    printf("# 19 views of a %zu-byte bytearray: bytes_in_use %zu -> %zu (+%zu)\n", BIG,
           s0.bytes_in_use, s1.bytes_in_use, grown);
    /* 19 views and one managed buffer are ~20 small objects: a few KiB,
     * nowhere near the 5 MiB a copy of `half` alone would cost. */
    assert_true(grown < 4096);
    assert_ptr_equal(rh_memoryview_data(quarter), rh_bytearray_data(ba) + BIG / 2);
    assert_int_equal(rh_memoryview_len(quarter), BIG / 4);
    assert_int_equal(rh_memoryview_data(quarter)[BIG / 4 - 1], 0xAB);
    rh_memoryview_mutable_data(quarter)[0] = 0x11;
    assert_int_equal(rh_bytearray_data(ba)[BIG / 2], 0x11);

    /* No resize while any view is held. */
    assert_int_equal(rh_bytearray_resize(ba, BIG * 2), -1);
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    assert_int_equal(rh_bytearray_len(ba), BIG);

    rh_memoryview_release(m);
    rh_memoryview_release(half);
    rh_memoryview_release(quarter);
    for (int i = 0; i < 15; i++) rh_memoryview_release(views[i]);
    assert_int_equal(rh_bytearray_extend(ba, "x", 1), -1); /* views[15] remains */
    assert_error(h, RH_EBUFFER, EXPORTS_MSG);
    rh_memoryview_release(views[15]);
    assert_int_equal(rh_bytearray_resize(ba, BIG * 2), 0);
    assert_int_equal(rh_bytearray_len(ba), BIG * 2);
    assert_int_equal(rh_bytearray_data(ba)[BIG - 1], 0xAB);
    assert_int_equal(rh_bytearray_data(ba)[BIG * 2 - 1], 0);

    for (int i = 0; i < 16; i++) rh_decref(views[i]);
    rh_decref(quarter);
    rh_decref(half);
    rh_decref(m);
    rh_decref(ba);
    rh_heap_stats_get(h, &s2);
    if (exact_accounting(h)) assert_true(s2.bytes_in_use < s0.bytes_in_use - BIG + 4096);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * The collector's view
 * ------------------------------------------------------------------------- */

static void test_tracking_and_collect(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    rh_object *b = rh_bytes(h, "x", 1);
    rh_object *m = rh_memoryview(b);
    /* gc.is_tracked(memoryview(b'x')) is True in CPython, and its one referent
     * is a tracked 'managedbuffer' whose referent is the bytes. */
    assert_true(rh_gc_is_tracked(m));
    rh_object *refs = rh_gc_get_referents(h, &m, 1);
    assert_non_null(refs);
    assert_int_equal(rh_list_size(refs), 1);
    rh_object *mb = rh_list_get(refs, 0);
    assert_string_equal(rh_type_name(mb), "managedbuffer");
    assert_true(rh_gc_is_tracked(mb));
    /* sys.getsizeof: memoryview 184, managedbuffer 128 in CPython 3.11 (both
     * carry a full Py_buffer with inline shape/strides arrays). refheap keeps
     * only what a one-dimensional byte view needs: collector record 16 +
     * header 16 + weaklist, managedbuffer, pointer, length (32) + two flags,
     * padded to 16 = 72; the managedbuffer 16 + 16 + base, data, length,
     * view count (32) + flag, padded = 72. Without the collector's record
     * (the layout without links) each is 56: rh_test_gc_record(h) + 56. */
    assert_int_equal(rh_sizeof(m), rh_test_gc_record(h) + 56);
    assert_int_equal(rh_sizeof(mb), rh_test_gc_record(h) + 56);
    rh_object *refs2 = rh_gc_get_referents(h, &mb, 1);
    assert_int_equal(rh_list_size(refs2), 1);
    assert_ptr_equal(rh_list_get(refs2, 0), b);
    rh_decref(refs2);
    rh_decref(refs);

    /* memoryviews support weak references, bytearrays do not
     * (weakref.ref(bytearray()) -> TypeError: cannot create weak reference to 'bytearray' object). */
    rh_object *wr = rh_weakref_new(m, NULL, NULL);
    assert_non_null(wr);
    rh_object *ba = rh_bytearray(h, "y", 1);
    assert_null(rh_weakref_new(ba, NULL, NULL));
    assert_error(h, RH_EWEAKREF, NULL);
    rh_decref(m);
    assert_false(rh_weakref_alive(wr));
    rh_decref(wr);

    /* CPython:
     *   a = A(); b = A(); a.b = b; b.a = a; a.m = memoryview(b'x')
     *   del a, b; gc.collect() -> 4   (2 instances, the view, its managedbuffer)
     *   ... a.m = mm = memoryview(bytearray(3)); a.n = mm[1:]; del a, b, mm
     *   gc.collect() -> 5             (a slice shares the managedbuffer) */
    rh_class_spec spec = {.name = "A"};
    rh_object *A = rh_class_new(h, &spec);
    rh_gc_collect(h, 2);
    for (int round = 0; round < 2; round++) {
        rh_object *x = rh_instance_new(A), *y = rh_instance_new(A);
        rh_setattr(x, "b", y);
        rh_setattr(y, "a", x);
        rh_object *view = rh_memoryview(round == 0 ? b : ba);
        rh_setattr(x, "m", view);
        if (round == 1) {
            rh_object *sl = rh_memoryview_slice(view, 1, 3);
            rh_setattr(x, "n", sl);
            rh_decref(sl);
        }
        rh_decref(view);
        assert_int_equal(rh_gc_verify(h), 0);
        rh_decref(x);
        rh_decref(y);
        assert_int_equal(rh_gc_collect(h, 2), round == 0 ? 4 : 5);
    }
    /* Everything the views held was let go: the bytearray may resize again. */
    assert_int_equal(rh_bytearray_resize(ba, 10), 0);
    assert_int_equal(rh_refcount(b), 1);
    rh_decref(A);
    rh_decref(ba);
    rh_decref(b);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * A collection inside a view's allocation (issue 11, item 3)
 *
 * Making a view allocates a container, which may start an automatic
 * collection; a finalizer run by it may release the source view and resize
 * the bytearray it showed. The new view must not be built from what the
 * source view held before the allocation.
 * ------------------------------------------------------------------------- */

typedef struct release_ctx {
    rh_object *view; /* released by the finalizer */
    rh_object *ba;   /* resized by the finalizer */
    int ran;
} release_ctx;

static void release_and_resize(rh_object *self, void *data) {
    (void)self;
    release_ctx *c = data;
    c->ran++;
    assert_int_equal(rh_memoryview_release(c->view), 0);
    /* No view exports the bytearray any more: it may move its storage. */
    assert_int_equal(rh_bytearray_resize(c->ba, 1u << 16), 0);
}

/* Leaves an unreachable cycle of two instances, one of them with the
 * finalizer above, in generation 0, and arms the next container allocation
 * to collect it. */
static rh_object *arm_finalizer_cycle(rh_heap *h, release_ctx *c) {
    rh_gc_disable(h);
    rh_gc_set_threshold(h, 1, 1000, 1000);
    rh_class_spec spec = {.name = "Releaser", .finalizer = release_and_resize, .data = c};
    rh_object *cls = rh_class_new(h, &spec);
    assert_non_null(cls);
    rh_gc_collect(h, 2);
    rh_object *x = rh_instance_new(cls), *y = rh_instance_new(cls);
    assert_int_equal(rh_setattr(x, "y", y), 0);
    assert_int_equal(rh_setattr(y, "x", x), 0);
    rh_decref(x);
    rh_decref(y);
    rh_gc_enable(h); /* count[0] is above threshold 1: the next allocation collects */
    return cls;
}

static void view_of_released_view(bool slice) {
    rh_heap *h = new_heap();
    rh_object *ba = rh_bytearray(h, "0123456789", 10);
    rh_object *m = rh_memoryview(ba);
    assert_non_null(m);
    release_ctx c = {m, ba, 0};
    rh_object *cls = arm_finalizer_cycle(h, &c);
    /* m[2:5] / memoryview(m) after the allocation released m: the result is
     * the released view's error, and no view exports the bytearray. */
    rh_object *v = slice ? rh_memoryview_slice(m, 2, 5) : rh_memoryview(m);
    assert_int_equal(c.ran, 2);
    assert_null(v);
    assert_error(h, RH_EBUFFER, RELEASED_MSG);
    assert_int_equal(rh_bytearray_len(ba), 1u << 16);
    assert_int_equal(rh_bytearray_resize(ba, 3), 0);
    rh_gc_set_threshold(h, 0, 0, 0);
    rh_xdecref(v);
    rh_decref(m);
    rh_decref(cls);
    rh_decref(ba);
    rh_heap_destroy(h);
}

static void test_slice_collect_releases_source(void **state) {
    (void)state;
    view_of_released_view(true);
}

static void test_view_of_view_collect_releases_source(void **state) {
    (void)state;
    view_of_released_view(false);
}

/* ---------------------------------------------------------------------------
 * Out of memory
 * ------------------------------------------------------------------------- */

static int scenario(rh_heap *h) {
    int rc = -1;
    rh_object *ba = NULL, *m = NULL, *s = NULL, *mm = NULL, *t = NULL, *b = NULL, *bm = NULL;
    if (!(ba = rh_bytearray(h, "0123456789", 10))) goto out;
    if (rh_bytearray_extend(ba, "abcdefghijklmnopqrstuvwxyz", 26) < 0) goto out;
    if (rh_bytearray_resize(ba, 1000) < 0) goto out;
    if (!(m = rh_memoryview(ba))) goto out;
    if (!(s = rh_memoryview_slice(m, 3, 9))) goto out;
    if (!(mm = rh_memoryview(s))) goto out;
    if (!(t = rh_memoryview_tobytes(mm))) goto out;
    if (!(b = rh_bytes(h, "bytes", 5))) goto out;
    if (!(bm = rh_memoryview(b))) goto out;
    if (rh_hash(bm) == -1) goto out;
    rc = 0;
out:;
    rh_object *objs[] = {bm, b, t, mm, s, m};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_xdecref(objs[i]);
    /* With every view gone, the bytearray can be resized again. */
    if (ba && rh_bytearray_resize(ba, 0) < 0) rc = -2;
    rh_xdecref(ba);
    return rc;
}

static void test_out_of_memory(void **state) {
    (void)state;
    rh_heap *h = new_heap();
    assert_int_equal(scenario(h), 0);
    int failures = rh_test_oom_each_allocation(h, scenario, 200, exact_accounting(h));
    /* bytearray object + data, extend, resize, mbuf + view, slice, view,
     * tobytes, bytes, mbuf + view, hash's temporary bytes: 13 allocations */
    assert_true(failures >= 13);
    rh_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytearray_basics),
        cmocka_unit_test(test_bytearray_repr_and_size),
        cmocka_unit_test(test_memoryview_of_bytes),
        cmocka_unit_test(test_memoryview_writes_through),
        cmocka_unit_test(test_exports_block_resize),
        cmocka_unit_test(test_memoryview_bad_type),
        cmocka_unit_test(test_large_slices_share_memory),
        cmocka_unit_test(test_tracking_and_collect),
        cmocka_unit_test(test_slice_collect_releases_source),
        cmocka_unit_test(test_view_of_view_collect_releases_source),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
