/*
 * test_str.c — str, bytes and interning (src/objects/str.c).
 *
 * Expected figures come from CPython 3.11.7 (the python3 on this machine;
 * the expression is quoted beside them) or from the layout documented in
 * src/objects/object_internal.h.
 */
#include "rh_test.h"

#include "internal.h"

#include <inttypes.h>

static rh_heap *new_heap(rh_mode mode) {
    rh_heap_config cfg = {.mode = mode};
    rh_heap *h = rh_heap_new(&cfg);
    assert_non_null(h);
    return h;
}

static const char *repr_of(rh_object *o) {
    static char buf[256];
    int n = rh_repr(o, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    return buf;
}

/* ---------------------------------------------------------------------------
 * str.
 * ------------------------------------------------------------------------- */
static void test_str_basics(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *s = rh_str(h, "héllo wörld 日本 😀");
    assert_non_null(s);
    assert_string_equal(rh_type_name(s), "str");
    /* len('héllo wörld 日本 😀') -> 16; len(....encode()) -> 25 */
    assert_int_equal(rh_str_len(s), 16);
    assert_int_equal(rh_str_nbytes(s), 25);
    assert_string_equal(rh_str_cstr(s), "héllo wörld 日本 😀");
    assert_int_equal(rh_str_eq_cstr(s, "héllo wörld 日本 😀"), 1);
    assert_int_equal(rh_str_eq_cstr(s, "héllo"), 0);
    assert_int_equal(rh_refcount(s), 1);
    assert_false(rh_str_is_interned(s));
    /* Two creations, two objects, equal. */
    rh_object *t = rh_str(h, "héllo wörld 日本 😀");
    assert_ptr_not_equal(s, t);
    assert_int_equal(rh_equal(s, t), 1);
    assert_int_equal(rh_hash(s), rh_hash(t));
    /* An embedded NUL is part of the text: 'a\0b' has length 3 */
    rh_object *z = rh_str_n(h, "a\0b", 3);
    assert_int_equal(rh_str_len(z), 3);
    assert_int_equal(rh_str_nbytes(z), 3);
    assert_string_equal(rh_str_cstr(z), "a");
    rh_object *a = rh_str(h, "a");
    assert_int_equal(rh_equal(z, a), 0);
    /* Accessors on other types */
    assert_null(rh_str_cstr(rh_None));
    assert_int_equal(rh_str_len(rh_None), 0);
    assert_int_equal(rh_str_nbytes(rh_None), 0);
    assert_false(rh_str_is_interned(rh_None));
    assert_int_equal(rh_str_eq_cstr(rh_None, "None"), 0);
    rh_decref(s);
    rh_decref(t);
    rh_decref(z);
    rh_decref(a);
    rh_heap_destroy(h);
}

static void test_str_empty_singleton(void **state) {
    (void)state;
    rh_heap *h1 = new_heap(RH_MODE_POOLS), *h2 = new_heap(RH_MODE_POOLS);
    /* '' is a static immortal shared by every heap; hash('') -> 0 */
    rh_object *e = rh_str(h1, "");
    assert_ptr_equal(e, rh_str_n(h2, "xyz", 0));
    assert_ptr_equal(e, rh_str_intern(h1, ""));
    assert_true(rh_is_immortal(e));
    assert_true(rh_str_is_interned(e));
    assert_int_equal(rh_hash(e), 0);
    assert_int_equal(rh_str_len(e), 0);
    assert_string_equal(rh_str_cstr(e), "");
    assert_string_equal(repr_of(e), "''");
    assert_null(rh_heap_of(e));
    /* sys.getsizeof('') -> 49 in CPython; refheap: 41 + the NUL */
    assert_int_equal(rh_sizeof(e), 42);
    rh_object *x = rh_str(h1, "x");
    rh_object *cat = rh_str_concat(h1, e, x);
    assert_ptr_equal(cat, x); /* '' + x is x itself */
    rh_decref(cat);
    cat = rh_str_concat(h1, x, e);
    assert_ptr_equal(cat, x);
    rh_decref(cat);
    assert_ptr_equal(rh_str_printf(h1, "%s", ""), e);
    rh_decref(x);
    rh_heap_destroy(h1);
    rh_heap_destroy(h2);
}

static void test_str_invalid_utf8(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    struct { const char *bytes; size_t n; size_t bad; } cases[] = {
        {"ab\xff", 3, 2},             /* never valid in UTF-8 */
        {"\xc3", 1, 0},               /* truncated two-byte sequence */
        {"x\xc0\xaf", 3, 1},          /* overlong '/' */
        {"\xe0\x80\xaf", 3, 0},       /* overlong, three bytes */
        {"\xed\xa0\x80", 3, 0},       /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4, 0},   /* U+110000, above the last code point */
        {"ok\x80", 3, 2},             /* lone continuation byte */
        {"\xe6\x97", 2, 0},           /* truncated three-byte sequence */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_null(rh_str_n(h, cases[i].bytes, cases[i].n));
        assert_int_equal(rh_err(h), RH_EVALUE);
        char want[64];
        snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", cases[i].bad);
        assert_string_equal(rh_errmsg(h), want);
        rh_err_clear(h);
    }
    /* printf producing bad UTF-8 is refused too, without a leak */
    assert_null(rh_str_printf(h, "%s", "\xff"));
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);
    /* The largest code point and a 4-byte sequence are fine: len('\U0010ffff') -> 1 */
    rh_object *s = rh_str(h, "\xf4\x8f\xbf\xbf");
    assert_int_equal(rh_str_len(s), 1);
    rh_decref(s);
    rh_heap_destroy(h);
}

static void test_str_concat_printf(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *a = rh_str(h, "日本"), *b = rh_str(h, "語!");
    rh_object *c = rh_str_concat(h, a, b);
    assert_string_equal(rh_str_cstr(c), "日本語!");
    assert_int_equal(rh_str_len(c), 4);   /* len('日本語!') -> 4 */
    assert_int_equal(rh_str_nbytes(c), 10);
    assert_null(rh_str_concat(h, a, rh_None));
    assert_int_equal(rh_err(h), RH_ETYPE);
    assert_non_null(strstr(rh_errmsg(h), "'NoneType'"));
    rh_err_clear(h);
    assert_null(rh_str_concat(h, rh_int(h, 1), a));
    assert_int_equal(rh_err(h), RH_ETYPE);
    rh_err_clear(h);
    rh_object *p = rh_str_printf(h, "%s has %d items, %.1f%%", "list", 3, 99.5);
    assert_string_equal(rh_str_cstr(p), "list has 3 items, 99.5%");
    assert_int_equal(rh_str_len(p), 23);
    /* A long one, past any stack buffer */
    char big[3001];
    memset(big, 'x', 3000);
    big[3000] = '\0';
    rh_object *q = rh_str_printf(h, "<%s>", big);
    assert_int_equal(rh_str_len(q), 3002);
    assert_int_equal(rh_sizeof(q), 41 + 3002 + 1);
    /* Out of memory leaves nothing behind */
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_str_concat(h, a, b));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_str_printf(h, "%d", 12345));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_str(h, "abc"));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_object *objs[] = {a, b, c, p, q};
    for (size_t i = 0; i < 5; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

static void test_str_repr(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    struct { const char *text; const char *repr; } cases[] = {
        {"abc", "'abc'"},
        {"it's", "\"it's\""},                       /* repr("it's") */
        {"a\"b", "'a\"b'"},                         /* repr('a"b') */
        {"both ' and \"", "'both \\' and \"'"},     /* repr('both \' and "') */
        /* repr('\n\t\\ \x01\x7f\x80\xa0\xad\u2028\u200b\ue000😀é日本') */
        {"\n\t\\ \x01\x7f\xc2\x80\xc2\xa0\xc2\xad\xe2\x80\xa8\xe2\x80\x8b\xee\x80\x80😀é日本",
         "'\\n\\t\\\\ \\x01\\x7f\\x80\\xa0\\xad\\u2028\\u200b\\ue000😀é日本'"},
        {"\r", "'\\r'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rh_object *s = rh_str(h, cases[i].text);
        assert_string_equal(repr_of(s), cases[i].repr);
        rh_decref(s);
    }
    /* snprintf contract */
    rh_object *s = rh_str(h, "abcdef");
    char small[4];
    assert_int_equal(rh_repr(s, small, sizeof small), 8);
    assert_string_equal(small, "'ab");
    assert_int_equal(rh_repr(s, NULL, 0), 8);
    rh_decref(s);
    rh_heap_destroy(h);
}

static void test_str_hash_eq(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *a = rh_str(h, "key"), *b = rh_str(h, "key"), *c = rh_str(h, "kez");
    rh__str *ra = (rh__str *)a;
    assert_int_equal(ra->hash, -1);         /* not computed yet */
    rh_hash_t ha = rh_hash(a);
    assert_true(ha != -1);
    assert_int_equal(ra->hash, ha);         /* cached */
    assert_int_equal(rh_hash(a), ha);
    assert_int_equal(rh_hash(b), ha);
    assert_int_equal(ha, rh__hash_bytes("key", 3));
    assert_int_equal(rh_equal(a, b), 1);
    assert_int_equal(rh_equal(a, c), 0);
    assert_true(rh_hash(c) != ha);
    /* 'key' == b'key' -> False (although their hashes agree) */
    rh_object *k = rh_bytes(h, "key", 3);
    assert_int_equal(rh_equal(a, k), 0);
    assert_int_equal(rh_equal(k, a), 0);
    assert_int_equal(rh_hash(k), ha);
    /* 'key' == 1 -> False */
    assert_int_equal(rh_equal(a, rh_int(h, 1)), 0);
    /* Well mixed: 10000 short keys, no two hashes share their low 32 bits
     * beyond what chance allows (birthday bound ~0.01 expected). */
    size_t n = 10000, dup = 0;
    uint32_t *low = malloc(n * sizeof *low);
    for (size_t i = 0; i < n; i++) {
        char key[16];
        int len = snprintf(key, sizeof key, "k%zu", i);
        low[i] = (uint32_t)rh__hash_bytes(key, (size_t)len);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) dup += low[i] == low[j];
    free(low);
    assert_true(dup <= 1);
    rh_decref(a);
    rh_decref(b);
    rh_decref(c);
    rh_decref(k);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * Interning.
 * ------------------------------------------------------------------------- */
static void test_intern(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* sys.intern('name') is sys.intern('na' + 'me') -> True */
    rh_object *a = rh_str_intern(h, "name");
    rh_object *b = rh_str_intern(h, "name");
    assert_ptr_equal(a, b);
    assert_true(rh_str_is_interned(a));
    assert_true(rh_is_immortal(a));
    assert_ptr_equal(rh_heap_of(a), h);
    /* A plain str with the same text is another object, equal to it. */
    rh_object *c = rh_str(h, "name");
    assert_ptr_not_equal(a, c);
    assert_false(rh_str_is_interned(c));
    assert_int_equal(rh_equal(a, c), 1);
    assert_int_equal(rh_hash(a), rh_hash(c));
    /* Immortal: decref does nothing. */
    for (int i = 0; i < 10; i++) rh_decref(a);
    assert_int_equal(rh_refcount(a), RH_IMMORTAL);
    assert_string_equal(rh_str_cstr(a), "name");
    /* Each heap has its own table. */
    rh_heap *h2 = new_heap(RH_MODE_POOLS);
    rh_object *a2 = rh_str_intern(h2, "name");
    assert_ptr_not_equal(a, a2);
    assert_ptr_equal(rh_heap_of(a2), h2);
    /* Many names: the table grows and every one stays unique. */
    rh_object *names[1000];
    for (int i = 0; i < 1000; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "attr_%d", i);
        names[i] = rh_str_intern(h, buf);
        assert_non_null(names[i]);
    }
    for (int i = 0; i < 1000; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "attr_%d", i);
        assert_ptr_equal(rh_str_intern(h, buf), names[i]);
        assert_true(rh_str_eq_cstr(names[i], buf));
    }
    assert_int_equal(h->obj.interned_count, 1001);
    assert_ptr_equal(rh_str_intern(h, "name"), a);
    /* Invalid text is refused. */
    assert_null(rh_str_intern(h, "\xff"));
    assert_int_equal(rh_err(h), RH_EVALUE);
    rh_err_clear(h);
    rh_decref(c);
    /* Destroying the heap frees every interned string (ASan and Valgrind
     * would report a leak otherwise). */
    rh_heap_destroy(h);
    rh_heap_destroy(h2);
}

static void test_intern_out_of_memory(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    /* The string's allocation fails */
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_str_intern(h, "alpha"));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    /* The table's allocation fails: the new string is freed again */
    rh_heap_fail_after(h, 2, false);
    assert_null(rh_str_intern(h, "alpha"));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    assert_int_equal(h->obj.interned_count, 0);
    rh_object *a = rh_str_intern(h, "alpha");
    assert_non_null(a);
    assert_ptr_equal(rh_str_intern(h, "alpha"), a);
    rh_heap_destroy(h);
}

/* ---------------------------------------------------------------------------
 * bytes.
 * ------------------------------------------------------------------------- */
static void test_bytes(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *b = rh_bytes(h, "a\0b\xff", 4);
    assert_string_equal(rh_type_name(b), "bytes");
    assert_int_equal(rh_bytes_len(b), 4);
    assert_memory_equal(rh_bytes_data(b), "a\0b\xff", 4);
    assert_int_equal(rh_bytes_data(b)[4], 0); /* kept NUL-terminated */
    /* sys.getsizeof(b'abc') -> 36, as here: 32 + 3 + 1 */
    rh_object *abc = rh_bytes(h, "abc", 3);
    assert_int_equal(rh_sizeof(abc), 36);
    /* sys.getsizeof(b'a' * 100) -> 133 */
    rh_object *hundred = rh_bytes(h, NULL, 100); /* NULL: zeros */
    assert_int_equal(rh_sizeof(hundred), 133);
    for (int i = 0; i < 100; i++) assert_int_equal(rh_bytes_data(hundred)[i], 0);
    /* b'' is a static immortal; sys.getsizeof(b'') -> 33 */
    rh_object *e = rh_bytes(h, "zzz", 0);
    assert_true(rh_is_immortal(e));
    assert_ptr_equal(e, rh_bytes(h, NULL, 0));
    assert_int_equal(rh_sizeof(e), 33);
    assert_int_equal(rh_hash(e), 0);           /* hash(b'') -> 0 */
    assert_string_equal(repr_of(e), "b''");
    /* equality and hash */
    rh_object *abc2 = rh_bytes(h, "abc", 3);
    assert_int_equal(rh_equal(abc, abc2), 1);
    assert_int_equal(rh_hash(abc), rh_hash(abc2));
    assert_int_equal(rh_equal(abc, b), 0);
    assert_int_equal(rh_equal(abc, e), 0);
    assert_int_equal(rh_equal(abc, rh_None), 0);
    /* repr(b"\x00'a\\\n\xff\t\r") -> b"\x00'a\\\n\xff\t\r"; repr(b'"') -> b'"';
     * repr(b'\'"') -> b'\'"' */
    rh_object *r1 = rh_bytes(h, "\x00'a\\\n\xff\t\r", 8);
    assert_string_equal(repr_of(r1), "b\"\\x00'a\\\\\\n\\xff\\t\\r\"");
    rh_object *r2 = rh_bytes(h, "\"", 1);
    assert_string_equal(repr_of(r2), "b'\"'");
    rh_object *r3 = rh_bytes(h, "'\"", 2);
    assert_string_equal(repr_of(r3), "b'\\'\"'");
    assert_string_equal(repr_of(abc), "b'abc'");
    /* accessors on other types */
    assert_null(rh_bytes_data(rh_None));
    assert_int_equal(rh_bytes_len(rh_None), 0);
    /* out of memory */
    rh_heap_fail_after(h, 1, false);
    assert_null(rh_bytes(h, "abc", 3));
    assert_int_equal(rh_err(h), RH_ENOMEM);
    rh_err_clear(h);
    rh_object *objs[] = {b, abc, hundred, abc2, r1, r2, r3};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) rh_decref(objs[i]);
    rh_heap_destroy(h);
}

/* sizes of str beside CPython's (docs/object-sizes.md):
 *   sys.getsizeof('abc') -> 52, 'a'*100 -> 149, 'é' -> 74
 * refheap: 41-byte fixed part + UTF-8 bytes + NUL. */
static void test_str_sizes(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_POOLS);
    rh_object *abc = rh_str(h, "abc");
    assert_int_equal(rh_sizeof(abc), 45);
    char hundred[101];
    memset(hundred, 'a', 100);
    hundred[100] = '\0';
    rh_object *a100 = rh_str(h, hundred);
    assert_int_equal(rh_sizeof(a100), 142);
    rh_object *e = rh_str(h, "é");
    assert_int_equal(rh_sizeof(e), 44);
    assert_int_equal(offsetof(rh__str, data), 41);
    rh_decref(abc);
    rh_decref(a100);
    rh_decref(e);
    rh_heap_destroy(h);
}

/* Strings in a debug heap: allocation sites and interning at destruction. */
static void test_str_debug_heap(void **state) {
    (void)state;
    rh_heap *h = new_heap(RH_MODE_DEBUG);
    rh_object *s = rh_str(h, "debug");
    assert_non_null(strstr(rh_object_site(s), "str.c:"));
    rh_object *i = rh_str_intern(h, "interned");
    assert_true(rh_str_is_interned(i));
    rh_decref(s);
    rh_heap_destroy(h); /* frees the interned string through the debug allocator */
}

/* ---------------------------------------------------------------------------
 * The seeded hash. The key is fixed once per process (at the first heap), so
 * each seed is tried in a child process: this program run again with
 * --print-hashes under a chosen REFHEAP_HASHSEED.
 * ------------------------------------------------------------------------- */
static const char *self_path;

static const char *const HASH_TEXTS[] = {"abc", "a", "abcdefgh", "abcdefghijklmnopq",
                                         "hello world, this is a longer key"};
#define N_HASH_TEXTS (sizeof HASH_TEXTS / sizeof HASH_TEXTS[0])

static int print_hashes(void) {
    rh_heap *h = rh_heap_new(NULL);
    if (!h) return 1;
    for (size_t i = 0; i < N_HASH_TEXTS; i++) {
        rh_object *s = rh_str(h, HASH_TEXTS[i]);
        rh_object *b = rh_bytes(h, HASH_TEXTS[i], strlen(HASH_TEXTS[i]));
        printf("%" PRId64 " %" PRId64 "\n", rh_hash(s), rh_hash(b));
        rh_decref(s);
        rh_decref(b);
    }
    rh_heap_destroy(h);
    return 0;
}

/* Runs this program with --print-hashes under REFHEAP_HASHSEED=seed (NULL:
 * unset) and reads the str hashes it printed (asserting bytes agree). */
static void child_hashes(const char *seed, int64_t out[N_HASH_TEXTS]) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s%s%s '%s' --print-hashes 2>&1",
             seed ? "REFHEAP_HASHSEED='" : "env -u REFHEAP_HASHSEED", seed ? seed : "",
             seed ? "'" : "", self_path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    for (size_t i = 0; i < N_HASH_TEXTS; i++) {
        long long hs, hb;
        assert_int_equal(fscanf(f, "%lld %lld", &hs, &hb), 2);
        assert_int_equal(hs, hb); /* str and bytes with the same bytes hash alike */
        out[i] = hs;
    }
    assert_int_equal(pclose(f), 0);
}

/* Under a fixed seed, bytes and ASCII str hash as CPython 3.11's do under
 * the same PYTHONHASHSEED:
 *   PYTHONHASHSEED=0 python3 -c "print(hash(b'abc'), hash(b'a'), hash(b'abcdefgh'),
 *       hash(b'abcdefghijklmnopq'), hash('hello world, this is a longer key'))"
 * and the same for seeds 1 and 12345. */
static void test_hash_seed_fixed(void **state) {
    (void)state;
    static const struct {
        const char *seed;
        int64_t want[N_HASH_TEXTS];
    } cases[] = {
        {"0", {INT64_C(-4594863902769663758), INT64_C(4644417185603328019), INT64_C(4574395652268504554),
               INT64_C(7044894726457044172), INT64_C(4382781962126752261)}},
        {"1", {INT64_C(-4667308735975688587), INT64_C(-3012895188637184397), INT64_C(-202642195356325900),
               INT64_C(7300304297962845018), INT64_C(4257392664963082844)}},
        {"12345", {INT64_C(2962436275791859092), INT64_C(-8961251314296359281), INT64_C(1658905534166424097),
                   INT64_C(1416313666208749350), INT64_C(3640605890642698965)}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t got[N_HASH_TEXTS];
        child_hashes(cases[c].seed, got);
        for (size_t i = 0; i < N_HASH_TEXTS; i++) assert_int_equal(got[i], cases[c].want[i]);
    }
}

/* Unset (or "random"), the key comes from the OS: two runs differ (two equal
 * 64-bit hashes from independent keys: chance 2^-64). A bad value is
 * reported and ignored. */
static void test_hash_seed_random(void **state) {
    (void)state;
    int64_t a[N_HASH_TEXTS], b[N_HASH_TEXTS], c[N_HASH_TEXTS];
    child_hashes(NULL, a);
    child_hashes(NULL, b);
    child_hashes("random", c);
    assert_true(a[0] != b[0] && a[0] != c[0] && b[0] != c[0]);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "REFHEAP_HASHSEED=banana '%s' --print-hashes 2>&1 >/dev/null", self_path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(pclose(f), 0);
    assert_string_equal(line, "refheap: REFHEAP_HASHSEED must be \"random\" or an integer in "
                              "[0, 4294967295], not \"banana\": using a random key\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--print-hashes") == 0) return print_hashes();
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_basics),
        cmocka_unit_test(test_str_empty_singleton),
        cmocka_unit_test(test_str_invalid_utf8),
        cmocka_unit_test(test_str_concat_printf),
        cmocka_unit_test(test_str_repr),
        cmocka_unit_test(test_str_hash_eq),
        cmocka_unit_test(test_hash_seed_fixed),
        cmocka_unit_test(test_hash_seed_random),
        cmocka_unit_test(test_intern),
        cmocka_unit_test(test_intern_out_of_memory),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_str_sizes),
        cmocka_unit_test(test_str_debug_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
