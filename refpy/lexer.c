/*
 * lexer.c — Python source text to tokens.
 *
 * One pass over the text produces the whole token list. Indentation follows
 * Python's rule: at the start of each logical line (outside brackets, not a
 * blank or comment-only line) the column is compared with a stack of
 * indentation levels; a deeper column pushes a level and emits INDENT, a
 * shallower one pops levels, emitting one DEDENT each, and must land exactly
 * on a level ("unindent does not match any outer indentation level"). Inside
 * (), [] and {} newlines and indentation are ignored; a backslash at the end
 * of a line joins it with the next. Tabs advance to the next multiple of 8.
 *
 * Strings: the prefix letters (r, b, f in any case and order) are recorded
 * on the token; the text between the quotes (single, double or triple) is
 * decoded here, escapes included, except for raw strings and f-strings, whose
 * text is kept verbatim (an f-string's escapes are decoded by the parser
 * after it has split the replacement fields out). Numbers are kept as text
 * and converted by the parser.
 *
 * Every error is a SyntaxError naming the line; the lexer never reads past
 * the terminating NUL.
 */
#include "ast.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void push(TokenList *tl, Token t) {
    if (tl->n == tl->cap) {
        tl->cap = tl->cap ? tl->cap * 2 : 256;
        tl->v = realloc(tl->v, (size_t)tl->cap * sizeof(Token));
        if (!tl->v) abort();
    }
    tl->v[tl->n++] = t;
}

void tokens_free(TokenList *tl) {
    for (int i = 0; i < tl->n; i++) free(tl->v[i].str);
    free(tl->v);
    tl->v = NULL;
    tl->n = tl->cap = 0;
}

static int put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes backslash escapes of s[0..n) into a new buffer. bytes: \x gives a
 * byte, not a code point. Returns NULL (SyntaxError set) on a bad escape. */
char *decode_escapes(const char *s, size_t n, int is_bytes, size_t *outlen, int line);
char *decode_escapes(const char *s, size_t n, int is_bytes, size_t *outlen, int line) {
    char *out = malloc(n * 4 + 1);
    if (!out) abort();
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) { out[o++] = c; continue; }
        char e = s[++i];
        switch (e) {
        case '\n': break;
        case '\\': out[o++] = '\\'; break;
        case '\'': out[o++] = '\''; break;
        case '"': out[o++] = '"'; break;
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'v': out[o++] = '\v'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            unsigned long v = 0; int k = 0;
            while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7') { v = v * 8 + (unsigned long)(s[i] - '0'); i++; k++; }
            i--;
            if (is_bytes) out[o++] = (char)(v & 0xFF); else o += (size_t)put_utf8(out + o, v);
            break;
        }
        case 'x': case 'u': case 'U': {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (is_bytes && e != 'x') { out[o++] = '\\'; out[o++] = e; break; }
            unsigned long v = 0;
            for (int k = 0; k < digits; k++) {
                if (i + 1 >= n || !isxdigit((unsigned char)s[i + 1])) {
                    free(out);
                    py_raise(EX_SyntaxError, "(unicode error) truncated \\%cXX escape (line %d)", e, line);
                    return NULL;
                }
                char d = s[++i];
                v = v * 16 + (unsigned long)(isdigit((unsigned char)d) ? d - '0' : (tolower((unsigned char)d) - 'a' + 10));
            }
            if (is_bytes) out[o++] = (char)v;
            else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
                free(out);
                py_raise(EX_SyntaxError, "(unicode error) illegal Unicode character (line %d)", line);
                return NULL;
            } else o += (size_t)put_utf8(out + o, v);
            break;
        }
        case 'N':
            free(out);
            py_raise(EX_SyntaxError, "\\N{...} escapes are not supported by refpy (line %d)", line);
            return NULL;
        default: out[o++] = '\\'; out[o++] = e; break;
        }
    }
    out[o] = 0;
    *outlen = o;
    return out;
}

static const char *ops3[] = {"**=", "//=", ">>=", "<<=", "...", NULL};
static const char *ops2[] = {"**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", "+=", "-=", "*=", "/=",
                             "%=", "&=", "|=", "^=", "@=", ":=", NULL};
static const char ops1[] = "+-*/%@<>=.,:;()[]{}&|^~!";

static int err(int line, const char *msg) {
    py_raise(EX_SyntaxError, "%s (line %d)", msg, line);
    return -1;
}

int tokenize(const char *src, TokenList *out, int first_line) {
    const char *p = src;
    int line = first_line;
    int indents[128];
    int nind = 1;
    indents[0] = 0;
    int depth = 0;       /* bracket nesting */
    bool at_bol = true;  /* at the beginning of a logical line */
    memset(out, 0, sizeof *out);
    while (1) {
        if (at_bol && depth == 0) {
            /* measure the indentation */
            int col = 0;
            const char *q = p;
            while (*q == ' ' || *q == '\t' || *q == '\f') {
                if (*q == '\t') col = (col / 8 + 1) * 8; else if (*q == ' ') col++; else col = 0;
                q++;
            }
            if (*q == '#' || *q == '\n' || *q == '\r' || (*q == '\\' && q[1] == '\n')) {
                /* blank or comment line: no indentation change */
                while (*q && *q != '\n') q++;
                if (*q == '\n') { q++; line++; p = q; continue; }
                p = q;
                continue;
            }
            if (*q == 0) { p = q; break; }
            p = q;
            if (col > indents[nind - 1]) {
                if (nind >= 100) return err(line, "too many levels of indentation");
                indents[nind++] = col;
                push(out, (Token){.kind = T_INDENT, .line = line, .start = p});
            } else {
                while (col < indents[nind - 1]) {
                    nind--;
                    push(out, (Token){.kind = T_DEDENT, .line = line, .start = p});
                }
                if (col != indents[nind - 1]) {
                    py_raise(EX_IndentationError, "unindent does not match any outer indentation level (line %d)", line);
                    return -1;
                }
            }
            at_bol = false;
        }
        char c = *p;
        if (c == 0) break;
        if (c == ' ' || c == '\t' || c == '\f' || c == '\r') { p++; continue; }
        if (c == '#') { while (*p && *p != '\n') p++; continue; }
        if (c == '\\' && p[1] == '\n') { p += 2; line++; continue; }
        if (c == '\\' && p[1] == '\r' && p[2] == '\n') { p += 3; line++; continue; }
        if (c == '\n') {
            if (depth == 0 && out->n > 0 && out->v[out->n - 1].kind != T_NEWLINE &&
                out->v[out->n - 1].kind != T_INDENT && out->v[out->n - 1].kind != T_DEDENT)
                push(out, (Token){.kind = T_NEWLINE, .line = line, .start = p});
            p++;
            line++;
            if (depth == 0) at_bol = true;
            continue;
        }
        Token t = {.line = line, .start = p};
        /* string prefix? */
        const char *q = p;
        int is_b = 0, is_f = 0, is_r = 0, is_u = 0;
        while (isalpha((unsigned char)*q) && q - p < 3) {
            char l = (char)tolower((unsigned char)*q);
            if (l == 'b') is_b++; else if (l == 'f') is_f++; else if (l == 'r') is_r++; else if (l == 'u') is_u++;
            else break;
            q++;
        }
        if ((*q == '\'' || *q == '"') && q - p == is_b + is_f + is_r + is_u && is_b <= 1 && is_f <= 1 &&
            is_r <= 1 && is_u <= 1 && !(is_b && is_f) && !(is_u && (is_b || is_r || is_f))) {
            char quote = *q;
            int triple = q[1] == quote && q[2] == quote;
            const char *body = q + (triple ? 3 : 1);
            const char *e = body;
            int start_line = line;
            while (1) {
                if (*e == 0) return err(start_line, triple ? "unterminated triple-quoted string literal"
                                                           : "unterminated string literal");
                if (*e == '\\' && e[1]) {
                    if (e[1] == '\n') line++;
                    e += 2;
                    continue;
                }
                if (*e == '\n') {
                    if (!triple) return err(start_line, "unterminated string literal");
                    line++;
                }
                if (*e == quote && (!triple || (e[1] == quote && e[2] == quote))) break;
                e++;
            }
            t.kind = T_STRING;
            t.line = start_line;
            t.is_bytes = is_b;
            t.is_f = is_f;
            t.is_raw = is_r;
            size_t n = (size_t)(e - body);
            if (is_r || is_f) {
                t.str = malloc(n + 1);
                if (!t.str) abort();
                memcpy(t.str, body, n);
                t.str[n] = 0;
                t.slen = n;
            } else {
                t.str = decode_escapes(body, n, is_b, &t.slen, start_line);
                if (!t.str) return -1;
            }
            if (is_b) {
                for (size_t k = 0; k < n; k++)
                    if ((unsigned char)body[k] >= 0x80) {
                        free(t.str);
                        return err(start_line, "bytes can only contain ASCII literal characters");
                    }
            }
            p = e + (triple ? 3 : 1);
            t.len = (int)(p - t.start);
            push(out, t);
            continue;
        }
        if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
            while (isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80) p++;
            t.kind = T_NAME;
            t.len = (int)(p - t.start);
            push(out, t);
            continue;
        }
        if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p[1]))) {
            if (c == '0' && (p[1] == 'x' || p[1] == 'X' || p[1] == 'o' || p[1] == 'O' || p[1] == 'b' || p[1] == 'B')) {
                p += 2;
                while (isalnum((unsigned char)*p) || *p == '_') p++;
            } else {
                while (isdigit((unsigned char)*p) || *p == '_') p++;
                if (*p == '.') { p++; while (isdigit((unsigned char)*p) || *p == '_') p++; }
                if (*p == 'e' || *p == 'E') {
                    const char *r = p + 1;
                    if (*r == '+' || *r == '-') r++;
                    if (isdigit((unsigned char)*r)) { p = r; while (isdigit((unsigned char)*p) || *p == '_') p++; }
                }
                if (*p == 'j' || *p == 'J') return err(line, "complex numbers are not supported by refpy");
            }
            if (isalpha((unsigned char)*p) || *p == '_') return err(line, "invalid decimal literal");
            t.kind = T_NUMBER;
            t.len = (int)(p - t.start);
            push(out, t);
            continue;
        }
        t.kind = T_OP;
        int len = 0;
        for (int k = 0; ops3[k]; k++) if (!strncmp(p, ops3[k], 3)) { len = 3; break; }
        if (!len) for (int k = 0; ops2[k]; k++) if (!strncmp(p, ops2[k], 2)) { len = 2; break; }
        if (!len && strchr(ops1, c)) len = 1;
        if (!len || (len == 1 && c == '!')) {
            char msg[64];
            if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) snprintf(msg, sizeof msg, "invalid non-printable character U+%04X", (unsigned char)c);
            else snprintf(msg, sizeof msg, "invalid character '%c'", c);
            return err(line, msg);
        }
        if (c == '(' || c == '[' || c == '{') depth++;
        if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "unmatched '%c'", c);
                return err(line, msg);
            }
            depth--;
        }
        p += len;
        t.len = len;
        push(out, t);
    }
    if (depth > 0) return err(line, "'(' was never closed");
    if (out->n > 0 && out->v[out->n - 1].kind != T_NEWLINE && out->v[out->n - 1].kind != T_DEDENT &&
        out->v[out->n - 1].kind != T_INDENT)
        push(out, (Token){.kind = T_NEWLINE, .line = line, .start = p});
    while (nind > 1) { nind--; push(out, (Token){.kind = T_DEDENT, .line = line, .start = p}); }
    push(out, (Token){.kind = T_EOF, .line = line, .start = p});
    return 0;
}
