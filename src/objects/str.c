/*
 * str.c — immutable text (str) and bytes, and the per-heap intern table.
 *
 * A str holds valid UTF-8 inline after its fields, NUL-terminated, with its
 * length in bytes and in code points (both fixed at creation: the text is
 * checked and counted once) and its hash, computed on first use and cached
 * (-1 until then, as CPython's). Text that is not valid UTF-8 (overlong
 * forms, surrogates, code points above U+10FFFF, truncated sequences) is
 * refused with RH_EVALUE. A str may contain NUL characters (rh_str_n); the
 * C-string view (rh_str_cstr) then stops at the first one.
 *
 * bytes is the same shape without the text rules: any bytes, a NUL kept
 * after the last one (as CPython), the hash cached.
 *
 * The empty str and the empty bytes are static immortals shared by every
 * heap (read-only, hash 0 as in CPython); every creation of an empty one
 * returns them.
 *
 * Interning. rh_str_intern returns the one str of its heap with that text:
 * the heap's intern table (struct rh__obj_state) is an open-addressing hash
 * set of immortal strings, probed linearly, kept at most 3/4 full. An
 * interned string is made immortal when it enters the table and its hash is
 * computed then, so nothing ever writes to it again; it lives until the heap
 * is destroyed, when rh__str_fini frees every one of them and the table.
 * Strings made by rh_str are never interned behind the caller's back: two
 * rh_str calls give two objects, two rh_str_intern calls one.
 *
 * Hash. str and bytes are hashed with SipHash-1-3 (Aumasson and Bernstein's
 * keyed pseudo-random function, one compression round per 8-byte word and
 * three finalisation rounds: CPython 3.11's choice), written here from the
 * paper's definition. Its 128-bit key is a per-process secret, so the
 * attacker who picks dict keys or attribute names cannot know which ones
 * collide ("hash flooding"). The key is set once, when the first heap is
 * made (rh__hash_init, from rh_heap_new), from the environment variable
 * REFHEAP_HASHSEED, read as CPython reads PYTHONHASHSEED:
 *   unset, empty or "random": 16 bytes from the OS (getrandom);
 *   an integer N in [1, 4294967295]: the key is the first 16 bytes of the
 *     stream x = x * 214013 + 2531011 (x starting at N), one byte (x >> 16)
 *     & 0xff per step, which is the stream CPython expands its seed with;
 *   0: the key is zero, randomisation off.
 * So a fixed REFHEAP_HASHSEED gives reproducible hashes (and set orders),
 * and bytes and ASCII str hash exactly as CPython 3.11 hashes them under
 * the same PYTHONHASHSEED (non-ASCII str differ: CPython hashes its
 * one/two/four-byte code-point array, refheap its UTF-8). A value that is
 * not one of these is reported on stderr and ignored (random key).
 * The empty text hashes to 0 (as in CPython) and -1 becomes -2.
 * str and bytes with the same bytes hash alike (as ASCII str and bytes do in
 * CPython) but are never equal.
 */
#include "objects/object_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Hashing and UTF-8.
 * ------------------------------------------------------------------------- */
static inline uint64_t rotl64(uint64_t x, unsigned r) { return (x << r) | (x >> (64 - r)); }

/* The key (k0, k1). Written once, by rh__hash_init under hash_once, before
 * any heap exists to hash with; read only afterwards. */
static uint64_t hash_k0, hash_k1;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

/* Bytes p[0..8) as a little-endian word (SipHash's byte order). */
static inline uint64_t load_le64(const uint8_t *p) {
    uint64_t w = 0;
    for (unsigned i = 0; i < 8; i++) w |= (uint64_t)p[i] << (8 * i);
    return w;
}

/* One SipRound: the ARX network on the four state words. */
#define SIP_ROUND(v0, v1, v2, v3)                                          \
    do {                                                                   \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);       \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                           \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                           \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);       \
    } while (0)

/* SipHash-1-3 of data[0..n) under key (k0, k1). */
static uint64_t siphash13(uint64_t k0, uint64_t k1, const uint8_t *p, size_t n) {
    /* The initial state: the key xored with "somepseudorandomlygeneratedbytes". */
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++, p += 8) {
        uint64_t m = load_le64(p);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3); /* c = 1 compression round */
        v0 ^= m;
    }
    /* The last word: the 0..7 remaining bytes, and n mod 256 in the top byte. */
    uint64_t b = (uint64_t)(n & 0xff) << 56;
    for (size_t i = 0; i < n % 8; i++) b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3); /* d = 3 finalisation rounds */
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

rh_hash_t rh__hash_bytes(const void *data, size_t n) {
    if (n == 0) return 0;
    rh_hash_t r = (rh_hash_t)siphash13(hash_k0, hash_k1, data, n);
    return r == -1 ? -2 : r;
}

/* 16 random bytes from the OS; false if none could be had. */
static bool os_random(uint8_t out[16]) {
    size_t got = 0;
    while (got < 16) {
        ssize_t r = getrandom(out + got, 16 - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        got += (size_t)r;
    }
    if (got == 16) return true;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) return false;
    bool ok = fread(out, 1, 16, f) == 16;
    fclose(f);
    return ok;
}

static void hash_init_once(void) {
    uint8_t key[16] = {0};
    const char *env = getenv("REFHEAP_HASHSEED");
    bool random_key = true;
    if (env && *env && strcmp(env, "random") != 0) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(env, &end, 10);
        if (*env >= '0' && *env <= '9' && !*end && errno == 0 && seed <= UINT32_MAX) {
            random_key = false;
            /* 0 leaves the key zero; N expands like CPython's seed. */
            uint32_t x = (uint32_t)seed;
            for (size_t i = 0; seed && i < sizeof key; i++) {
                x = x * 214013u + 2531011u;
                key[i] = (uint8_t)((x >> 16) & 0xff);
            }
        } else {
            fprintf(stderr, "refheap: REFHEAP_HASHSEED must be \"random\" or an integer in "
                            "[0, 4294967295], not \"%s\": using a random key\n", env);
        }
    }
    if (random_key && !os_random(key)) {
        /* No OS randomness: a key that still differs between processes. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
        uint64_t b = (uint64_t)(uintptr_t)&a * UINT64_C(0x9e3779b97f4a7c15);
        memcpy(key, &a, 8);
        memcpy(key + 8, &b, 8);
    }
    memcpy(&hash_k0, key, 8); /* CPython's byte order for (k0, k1) */
    memcpy(&hash_k1, key + 8, 8);
}

void rh__hash_init(void) { pthread_once(&hash_once, hash_init_once); }

/* Checks that s[0..n) is valid UTF-8. Returns true and the number of code
 * points, or false and the offset of the first bad byte. */
static bool utf8_check(const uint8_t *s, size_t n, size_t *ncp, size_t *bad) {
    size_t i = 0, count = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; count++; continue; }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1Fu; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0Fu; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07u; min = 0x10000; }
        else goto fail;
        if (n - i < len) goto fail;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto fail;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto fail;
        i += len;
        count++;
    }
    *ncp = count;
    return true;
fail:
    *bad = i;
    return false;
}

/* Decodes the code point at s (valid UTF-8) and returns its byte length. */
static size_t utf8_decode(const uint8_t *s, uint32_t *cp) {
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if ((c & 0xE0) == 0xC0) { *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu); return 2; }
    if ((c & 0xF0) == 0xE0) {
        *cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    *cp = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    return 4;
}

/* ---------------------------------------------------------------------------
 * The str type.
 * ------------------------------------------------------------------------- */
static inline rh__str *as_str(rh_object *o) { return (rh__str *)(void *)o; }
static inline const rh__str *as_cstr(const rh_object *o) { return (const rh__str *)(const void *)o; }
static inline bool is_str(const rh_object *o) { return o->rh_type == &rh_str_type; }

static rh_hash_t str_hash(rh_object *self) {
    rh__str *s = as_str(self);
    if (s->hash == -1) s->hash = rh__hash_bytes(s->data, s->nbytes);
    return s->hash;
}

static int str_eq(rh_object *a, rh_object *b) {
    if (!is_str(b)) return 0;
    const rh__str *x = as_cstr(a), *y = as_cstr(b);
    if (x->nbytes != y->nbytes) return 0;
    if (x->hash != -1 && y->hash != -1 && x->hash != y->hash) return 0;
    return memcmp(x->data, y->data, x->nbytes) == 0;
}

/* Is this non-ASCII code point one Python's repr prints as an escape
 * (str.isprintable() false)? The control and format characters, separators
 * other than the space, private use and non-characters of the ranges text
 * actually meets; other unassigned code points are printed as they are. */
static bool cp_unprintable(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 || cp == 0x180E ||
           (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
           (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || (cp >= 0xE000 && cp <= 0xF8FF) ||
           cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) || cp == 0xFFFE || cp == 0xFFFF ||
           (cp >= 0xF0000);
}

/* Python's choice of quote: single, unless the text holds ' and no ". */
static char pick_quote(const uint8_t *s, size_t n) {
    bool single = memchr(s, '\'', n) != NULL, dbl = memchr(s, '"', n) != NULL;
    return single && !dbl ? '"' : '\'';
}

static void put_escape(rh__textbuf *w, char kind, uint32_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    rh__text_putc(w, '\\');
    rh__text_putc(w, kind);
    for (int i = digits - 1; i >= 0; i--) rh__text_putc(w, hex[(v >> (4 * i)) & 15]);
}

static void put_ascii_escaped(rh__textbuf *w, uint32_t c, char quote) {
    if (c == (uint32_t)quote || c == '\\') { rh__text_putc(w, '\\'); rh__text_putc(w, (char)c); }
    else if (c == '\t') rh__text_puts(w, "\\t");
    else if (c == '\n') rh__text_puts(w, "\\n");
    else if (c == '\r') rh__text_puts(w, "\\r");
    else if (c < 0x20 || c >= 0x7f) put_escape(w, 'x', c, 2);
    else rh__text_putc(w, (char)c);
}

static int str_repr(rh_object *self, char *buf, size_t cap) {
    const rh__str *s = as_cstr(self);
    const uint8_t *p = (const uint8_t *)s->data, *end = p + s->nbytes;
    char quote = pick_quote(p, s->nbytes);
    rh__textbuf w;
    rh__text_begin(&w, buf, cap);
    rh__text_putc(&w, quote);
    while (p < end) {
        uint32_t cp;
        size_t len = utf8_decode(p, &cp);
        if (cp < 0x80) put_ascii_escaped(&w, cp, quote);
        else if (!cp_unprintable(cp)) rh__text_putn(&w, (const char *)p, len);
        else if (cp < 0x100) put_escape(&w, 'x', cp, 2);
        else if (cp < 0x10000) put_escape(&w, 'u', cp, 4);
        else put_escape(&w, 'U', cp, 8);
        p += len;
    }
    rh__text_putc(&w, quote);
    return rh__text_end(&w);
}

static size_t str_sizeof_extra(rh_object *self) {
    return as_str(self)->nbytes + 1; /* the text and its NUL */
}

const rh_type rh_str_type = {
    .name = "str",
    .basicsize = offsetof(rh__str, data),
    .itemsize = 1,
    .flags = RH_TYPE_IMMUTABLE,
    .repr = str_repr,
    .hash = str_hash,
    .eq = str_eq,
    .sizeof_extra = str_sizeof_extra,
};

/* The empty str: read-only, immortal, interned, hash 0. The union gives the
 * flexible array its NUL. */
static const union {
    rh__str s;
    char room[sizeof(rh__str) + 1];
} empty_str = {.s = {.rh_base = {RH_IMMORTAL, 0, &rh_str_type}, .hash = 0, .nbytes = 0,
                     .length = 0, .interned = 1}};
#define EMPTY_STR ((rh_object *)&empty_str.s.rh_base)

/* A new str of nbytes bytes with room for the NUL; the caller fills data. */
static rh__str *str_alloc(rh_heap *h, size_t nbytes) {
    if (nbytes == SIZE_MAX) {
        rh_err_set(h, RH_EOVERFLOW, "str of %zu bytes is too long", nbytes);
        return NULL;
    }
    rh__str *s = (rh__str *)(void *)rh_new_var(h, &rh_str_type, nbytes + 1);
    if (!s) return NULL;
    s->hash = -1;
    s->nbytes = nbytes;
    return s;
}

/* Checks the text of a freshly filled str and counts its code points; on
 * bad UTF-8 frees it and sets RH_EVALUE. */
static rh_object *str_finish(rh_heap *h, rh__str *s) {
    size_t bad;
    s->data[s->nbytes] = '\0';
    if (!utf8_check((const uint8_t *)s->data, s->nbytes, &s->length, &bad)) {
        rh_err_set(h, RH_EVALUE, "invalid UTF-8 at byte %zu", bad);
        rh_decref(&s->rh_base);
        return NULL;
    }
    return &s->rh_base;
}

rh_object *rh_str_n(rh_heap *h, const char *utf8, size_t nbytes) {
    if (nbytes == 0) return EMPTY_STR;
    size_t length, bad;
    /* Check before allocating: bad input then costs no allocation. */
    if (!utf8_check((const uint8_t *)utf8, nbytes, &length, &bad)) {
        rh_err_set(h, RH_EVALUE, "invalid UTF-8 at byte %zu", bad);
        return NULL;
    }
    rh__str *s = str_alloc(h, nbytes);
    if (!s) return NULL;
    memcpy(s->data, utf8, nbytes);
    s->data[nbytes] = '\0';
    s->length = length;
    return &s->rh_base;
}

rh_object *rh_str(rh_heap *h, const char *utf8) {
    return rh_str_n(h, utf8, strlen(utf8));
}

rh_object *rh_str_concat(rh_heap *h, rh_object *a, rh_object *b) {
    RH__CHECK_LIVE(a, "rh_str_concat");
    RH__CHECK_LIVE(b, "rh_str_concat");
    if (!is_str(a)) { rh__err_type(h, "str concatenation", a); return NULL; }
    if (!is_str(b)) { rh__err_type(h, "str concatenation", b); return NULL; }
    const rh__str *x = as_cstr(a), *y = as_cstr(b);
    if (y->nbytes == 0) return rh_newref(a);
    if (x->nbytes == 0) return rh_newref(b);
    if (x->nbytes > SIZE_MAX / 2 - y->nbytes) {
        rh_err_set(h, RH_EOVERFLOW, "str concatenation is too long");
        return NULL;
    }
    rh__str *s = str_alloc(h, x->nbytes + y->nbytes);
    if (!s) return NULL;
    memcpy(s->data, x->data, x->nbytes);
    memcpy(s->data + x->nbytes, y->data, y->nbytes);
    s->data[s->nbytes] = '\0';
    s->length = x->length + y->length;
    return &s->rh_base;
}

rh_object *rh_str_printf(rh_heap *h, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        rh_err_set(h, RH_EVALUE, "rh_str_printf: bad format or argument");
        return NULL;
    }
    if (n == 0) {
        va_end(ap2);
        return EMPTY_STR;
    }
    rh__str *s = str_alloc(h, (size_t)n);
    if (!s) {
        va_end(ap2);
        return NULL;
    }
    vsnprintf(s->data, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return str_finish(h, s);
}

const char *rh_str_cstr(const rh_object *s) {
    RH__CHECK_LIVE(s, "rh_str_cstr");
    return is_str(s) ? as_cstr(s)->data : NULL;
}

size_t rh_str_len(const rh_object *s) {
    RH__CHECK_LIVE(s, "rh_str_len");
    return is_str(s) ? as_cstr(s)->length : 0;
}

size_t rh_str_nbytes(const rh_object *s) {
    RH__CHECK_LIVE(s, "rh_str_nbytes");
    return is_str(s) ? as_cstr(s)->nbytes : 0;
}

bool rh_str_is_interned(const rh_object *s) {
    RH__CHECK_LIVE(s, "rh_str_is_interned");
    return is_str(s) && as_cstr(s)->interned;
}

int rh_str_eq_cstr(const rh_object *s, const char *utf8) {
    RH__CHECK_LIVE(s, "rh_str_eq_cstr");
    if (!is_str(s)) return 0;
    const rh__str *x = as_cstr(s);
    size_t n = strlen(utf8);
    return x->nbytes == n && memcmp(x->data, utf8, n) == 0;
}

/* ---------------------------------------------------------------------------
 * Interning.
 * ------------------------------------------------------------------------- */
#define INTERN_MIN_CAP 64 /* first table: room for 48 names without growing */

/* The slot holding text (data, n) with hash hv, or the empty slot where it
 * would go. cap is a power of two and the table is never full. */
static size_t intern_slot(rh__str **tab, size_t cap, const char *data, size_t n, rh_hash_t hv) {
    size_t mask = cap - 1, i = (size_t)hv & mask;
    for (;;) {
        rh__str *s = tab[i];
        if (!s || (s->hash == hv && s->nbytes == n && memcmp(s->data, data, n) == 0)) return i;
        i = (i + 1) & mask;
    }
}

/* Makes room for one more string; false (RH_ENOMEM set) if the table
 * cannot grow. */
static bool intern_reserve(rh_heap *h) {
    struct rh__obj_state *st = &h->obj;
    if ((st->interned_count + 1) * 4 <= st->interned_cap * 3) return true;
    size_t cap = st->interned_cap ? st->interned_cap * 2 : INTERN_MIN_CAP;
    rh__str **tab = rh_calloc(h, cap, sizeof *tab);
    if (!tab) return false;
    for (size_t i = 0; i < st->interned_cap; i++) {
        rh__str *s = st->interned[i];
        if (s) tab[intern_slot(tab, cap, s->data, s->nbytes, s->hash)] = s;
    }
    rh_free(h, st->interned);
    st->interned = tab;
    st->interned_cap = cap;
    return true;
}

/* The interned string with this text and hash, or NULL. */
static rh__str *intern_find(rh_heap *h, const char *utf8, size_t n, rh_hash_t hv) {
    struct rh__obj_state *st = &h->obj;
    if (!st->interned_cap) return NULL;
    return st->interned[intern_slot(st->interned, st->interned_cap, utf8, n, hv)];
}

rh_object *rh__str_find_interned(rh_heap *h, const char *utf8, size_t n) {
    if (n == 0) return EMPTY_STR;
    rh__str *s = intern_find(h, utf8, n, rh__hash_bytes(utf8, n));
    return s ? &s->rh_base : NULL;
}

rh_object *rh_str_intern(rh_heap *h, const char *utf8) {
    size_t n = strlen(utf8);
    if (n == 0) return EMPTY_STR;
    struct rh__obj_state *st = &h->obj;
    rh_hash_t hv = rh__hash_bytes(utf8, n);
    rh__str *found = intern_find(h, utf8, n, hv);
    if (found) return &found->rh_base; /* immortal: the new reference costs nothing */
    rh_object *o = rh_str_n(h, utf8, n);
    if (!o) return NULL;
    if (!intern_reserve(h)) {
        rh_decref(o);
        return NULL;
    }
    rh__str *s = as_str(o);
    s->hash = hv;
    s->interned = 1;
    rh_make_immortal(o);
    st->interned[intern_slot(st->interned, st->interned_cap, s->data, n, hv)] = s;
    st->interned_count++;
    return o;
}

void rh__str_fini(rh_heap *h) {
    struct rh__obj_state *st = &h->obj;
    for (size_t i = 0; i < st->interned_cap; i++) {
        rh__str *s = st->interned[i];
        if (s) rh__obj_free(h, s, 0);
    }
    rh_free(h, st->interned);
    st->interned = NULL;
    st->interned_cap = st->interned_count = 0;
}

/* ---------------------------------------------------------------------------
 * bytes.
 * ------------------------------------------------------------------------- */
static inline const rh__bytes *as_cbytes(const rh_object *o) {
    return (const rh__bytes *)(const void *)o;
}
static inline bool is_bytes(const rh_object *o) { return o->rh_type == &rh_bytes_type; }

static rh_hash_t bytes_hash(rh_object *self) {
    rh__bytes *b = (rh__bytes *)(void *)self;
    if (b->hash == -1) b->hash = rh__hash_bytes(b->data, b->size);
    return b->hash;
}

static int bytes_eq(rh_object *a, rh_object *b) {
    if (!is_bytes(b)) return 0;
    const rh__bytes *x = as_cbytes(a), *y = as_cbytes(b);
    if (x->size != y->size) return 0;
    if (x->hash != -1 && y->hash != -1 && x->hash != y->hash) return 0;
    return memcmp(x->data, y->data, x->size) == 0;
}

static int bytes_repr(rh_object *self, char *buf, size_t cap) {
    const rh__bytes *b = as_cbytes(self);
    char quote = pick_quote(b->data, b->size);
    rh__textbuf w;
    rh__text_begin(&w, buf, cap);
    rh__text_putc(&w, 'b');
    rh__text_putc(&w, quote);
    for (size_t i = 0; i < b->size; i++) put_ascii_escaped(&w, b->data[i], quote);
    rh__text_putc(&w, quote);
    return rh__text_end(&w);
}

static size_t bytes_sizeof_extra(rh_object *self) {
    return as_cbytes(self)->size + 1; /* the bytes and the NUL after them */
}

const rh_type rh_bytes_type = {
    .name = "bytes",
    .basicsize = offsetof(rh__bytes, data),
    .itemsize = 1,
    .flags = RH_TYPE_IMMUTABLE,
    .repr = bytes_repr,
    .hash = bytes_hash,
    .eq = bytes_eq,
    .sizeof_extra = bytes_sizeof_extra,
};

static const union {
    rh__bytes b;
    char room[sizeof(rh__bytes) + 1];
} empty_bytes = {.b = {.rh_base = {RH_IMMORTAL, 0, &rh_bytes_type}, .hash = 0, .size = 0}};

rh_object *rh_bytes(rh_heap *h, const void *data, size_t n) {
    if (n == 0) return (rh_object *)&empty_bytes.b.rh_base;
    if (n == SIZE_MAX) {
        rh_err_set(h, RH_EOVERFLOW, "bytes of %zu bytes is too long", n);
        return NULL;
    }
    rh__bytes *b = (rh__bytes *)(void *)rh_new_var(h, &rh_bytes_type, n + 1);
    if (!b) return NULL;
    b->hash = -1;
    b->size = n;
    if (data) memcpy(b->data, data, n); /* else zeros (rh_new_var zeroed them) */
    b->data[n] = 0;
    return &b->rh_base;
}

const uint8_t *rh_bytes_data(const rh_object *b) {
    RH__CHECK_LIVE(b, "rh_bytes_data");
    return is_bytes(b) ? as_cbytes(b)->data : NULL;
}

size_t rh_bytes_len(const rh_object *b) {
    RH__CHECK_LIVE(b, "rh_bytes_len");
    return is_bytes(b) ? as_cbytes(b)->size : 0;
}
