/*
 * parser.c — tokens to the syntax tree, and the scope pass.
 *
 * A recursive-descent parser, one function per grammar rule of Python 3.11's
 * subset that refpy runs, from `file` down to `atom`, with the usual
 * precedence ladder (lambda, if-else, or, and, not, comparisons, |, ^, &,
 * shifts, + -, * / // % @, unary, **, await-less primaries). Assignment
 * targets are parsed as expressions and then checked (a Name, Attribute,
 * Subscript, or a tuple/list of targets, one of them starred).
 *
 * f-strings are split here: the literal parts have their escapes decoded, each
 * replacement field's expression text is tokenized and parsed on its own
 * (line numbers kept), and `!r` / `!s` / `:spec` become a Formatted node.
 *
 * Constant folding, as CPython's compiler does it where it shows: a tuple
 * display whose items are all constants is one constant tuple (so that
 * `for k in ("a", "b")` allocates nothing), and a negative number literal is
 * a constant.
 *
 * The scope pass runs while parsing (recording each scope's parameters,
 * assigned names, global/nonlocal declarations and the Name nodes used in it)
 * and at the end (resolving every Name; see ast.h). A free variable is
 * threaded through every scope between its use and the function that defines
 * it, class bodies included, so closures are built from cells exactly where
 * CPython builds them.
 *
 * Constructs outside refpy's subset (async, yield, match, walrus in
 * comprehensions, decorators with arguments are fine) are SyntaxErrors or
 * NotImplementedErrors that name the construct and the line.
 */
#include "ast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char *decode_escapes(const char *s, size_t n, int is_bytes, size_t *outlen, int line);

typedef struct Parser {
    TokenList tl;
    int pos;
    Scope *sc;
    NodeList *uses;      /* Name nodes of the current scope */
    const char *filename;
} Parser;

/* all scopes, for the final resolution; each keeps its own name uses, so a
 * pointer to them stays valid while this table grows */
typedef struct ScopeUses { Scope *sc; } ScopeUses;
static ScopeUses *all_scopes;
static int nscopes, scopes_cap;

void node_list_push(NodeList *l, Node *n) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(Node *));
        if (!l->v) abort();
    }
    l->v[l->n++] = n;
}

static Node **all_nodes;
static size_t nall_nodes, all_nodes_cap;

static Node *mk(int kind, int line) {
    Node *n = calloc(1, sizeof(Node));
    if (!n) abort();
    if (nall_nodes == all_nodes_cap) {
        all_nodes_cap = all_nodes_cap ? all_nodes_cap * 2 : 1024;
        all_nodes = realloc(all_nodes, all_nodes_cap * sizeof(Node *));
        if (!all_nodes) abort();
    }
    all_nodes[nall_nodes++] = n;
    n->kind = kind;
    n->line = line;
    return n;
}

static Token *cur(Parser *p) { return &p->tl.v[p->pos]; }
static Token *peek(Parser *p, int k) {
    int i = p->pos + k;
    if (i >= p->tl.n) i = p->tl.n - 1;
    return &p->tl.v[i];
}
static bool is_op(Token *t, const char *op) {
    return t->kind == T_OP && (int)strlen(op) == t->len && !memcmp(t->start, op, (size_t)t->len);
}
static bool is_kw(Token *t, const char *kw) {
    return t->kind == T_NAME && (int)strlen(kw) == t->len && !memcmp(t->start, kw, (size_t)t->len);
}
static bool at_op(Parser *p, const char *op) { return is_op(cur(p), op); }
static bool at_kw(Parser *p, const char *kw) { return is_kw(cur(p), kw); }

static const char *keywords[] = {"False", "None", "True", "and", "as", "assert", "async", "await", "break",
                                 "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
                                 "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
                                 "pass", "raise", "return", "try", "while", "with", "yield", NULL};
static bool is_keyword_tok(Token *t) {
    if (t->kind != T_NAME) return false;
    for (int i = 0; keywords[i]; i++) if (is_kw(t, keywords[i])) return true;
    return false;
}

static Node *fail(Parser *p, const char *fmt, ...) RH_PRINTF(2, 3);
static Node *fail(Parser *p, const char *fmt, ...) {
    if (py_err_occurred()) return NULL;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    py_raise(EX_SyntaxError, "%s (line %d)", buf, cur(p)->line);
    return NULL;
}
static Node *unsupported(Parser *p, const char *what) {
    if (py_err_occurred()) return NULL;
    py_raise(EX_NotImplementedError, "refpy does not support %s (line %d)", what, cur(p)->line);
    return NULL;
}

static bool expect_op(Parser *p, const char *op) {
    if (at_op(p, op)) { p->pos++; return true; }
    Token *t = cur(p);
    if (t->kind == T_NEWLINE || t->kind == T_EOF) fail(p, "expected '%s'", op);
    else fail(p, "invalid syntax");
    return false;
}

static O *tok_name(Token *t) {
    char buf[256];
    int n = t->len < 255 ? t->len : 255;
    memcpy(buf, t->start, (size_t)n);
    buf[n] = 0;
    return intern(buf);
}

/* ---------------------------------------------------------------------------
 * Scopes (recording)
 * ------------------------------------------------------------------------- */
static bool name_in(O **v, int n, O *name) {
    for (int i = 0; i < n; i++) if (v[i] == name) return true;
    return false;
}
static void name_add(O ***v, int *n, int *cap, O *name) {
    if (name_in(*v, *n, name)) return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = realloc(*v, (size_t)*cap * sizeof(O *));
        if (!*v) abort();
    }
    (*v)[(*n)++] = name;
}
int scope_slot(Scope *s, O *name) {
    for (int i = 0; i < s->nnames; i++) if (s->names[i] == name) return i;
    return -1;
}
static int slot_add(Scope *s, O *name) {
    int i = scope_slot(s, name);
    if (i >= 0) return i;
    if (s->nnames == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->names = realloc(s->names, (size_t)s->cap * sizeof(O *));
        s->cell = realloc(s->cell, (size_t)s->cap);
        s->free_from = realloc(s->free_from, (size_t)s->cap * sizeof(int));
        if (!s->names || !s->cell || !s->free_from) abort();
    }
    s->names[s->nnames] = name;
    s->cell[s->nnames] = 0;
    s->free_from[s->nnames] = -1;
    return s->nnames++;
}

static Scope *scope_push(Parser *p, int kind, const char *name) {
    Scope *s = calloc(1, sizeof(Scope));
    if (!s) abort();
    s->kind = kind;
    s->parent = p->sc;
    s->star = s->dstar = -1;
    s->name = name;
    if (nscopes == scopes_cap) {
        scopes_cap = scopes_cap ? scopes_cap * 2 : 16;
        all_scopes = realloc(all_scopes, (size_t)scopes_cap * sizeof(ScopeUses));
        if (!all_scopes) abort();
    }
    all_scopes[nscopes].sc = s;
    nscopes++;
    p->sc = s;
    p->uses = &s->uses;
    return s;
}
static void scope_pop(Parser *p) {
    Scope *s = p->sc;
    if (s->kind == SK_FUNC) {
        for (int i = 0; i < s->nassigned; i++) {
            O *nm = s->assigned[i];
            if (!name_in(s->globals, s->nglobals, nm) && !name_in(s->nonlocals, s->nnonlocals, nm)) slot_add(s, nm);
        }
        s->nlocals = s->nnames;
    }
    p->sc = s->parent;
    p->uses = p->sc ? &p->sc->uses : NULL;
}

static Node *name_node(Parser *p, O *name, int line) {
    Node *n = mk(N_NAME, line);
    n->val = name;
    n->sc = p->sc;
    node_list_push(p->uses, n);
    return n;
}

/* Marks an expression as a binding target; checks that it can be one. */
static bool set_store(Parser *p, Node *t, bool is_del) {
    switch (t->kind) {
    case N_NAME:
        name_add(&p->sc->assigned, &p->sc->nassigned, &p->sc->acap, t->val);
        return true;
    case N_ATTR: case N_SUBSCRIPT: return true;
    case N_TUPLE: case N_LIST: {
        int stars = 0;
        for (int i = 0; i < t->l1.n; i++) {
            Node *e = t->l1.v[i];
            if (e->kind == N_STARRED) {
                if (is_del) { fail(p, "cannot delete starred"); return false; }
                if (++stars > 1) { fail(p, "multiple starred expressions in assignment"); return false; }
                if (!set_store(p, e->a, is_del)) return false;
            } else if (!set_store(p, e, is_del)) return false;
        }
        return true;
    }
    case N_CONST: fail(p, "cannot %s literal", is_del ? "delete" : "assign to"); return false;
    case N_CALL: fail(p, "cannot %s function call", is_del ? "delete" : "assign to"); return false;
    default: fail(p, "cannot %s expression", is_del ? "delete" : "assign to"); return false;
    }
}

/* ---------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------- */
static Node *p_test(Parser *p);
static Node *p_or(Parser *p);
static Node *p_bitor(Parser *p);
static Node *p_star_exprs(Parser *p, bool allow_assign_tuple);
static Node *p_comp_tail(Parser *p, int kind, Node *elt, Node *val, int line);
static Node *p_lambda(Parser *p);
static Node *p_atom_string(Parser *p);
static Node *fold_const_tuple(Node *t);

static Node *p_number(Parser *p) {
    Token *t = cur(p);
    char buf[128];
    int n = 0;
    for (int i = 0; i < t->len && n < 126; i++) if (t->start[i] != '_') buf[n++] = t->start[i];
    buf[n] = 0;
    p->pos++;
    Node *nd = mk(N_CONST, t->line);
    bool isfloat = false;
    if (!(buf[0] == '0' && n > 1 && isalpha((unsigned char)buf[1])))
        for (int i = 0; i < n; i++) if (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E') isfloat = true;
    if (isfloat) {
        nd->val = rh_float(H, strtod(buf, NULL));
    } else {
        int base = 10;
        const char *s = buf;
        if (buf[0] == '0' && n > 1) {
            char b = (char)tolower((unsigned char)buf[1]);
            if (b == 'x') base = 16; else if (b == 'o') base = 8; else if (b == 'b') base = 2;
            else {
                for (int i = 0; i < n; i++) if (buf[i] != '0') return fail(p, "leading zeros in decimal integer literals are not permitted");
            }
            if (base != 10) s = buf + 2;
        }
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, base);
        if (*end || !*s) return fail(p, "invalid %s literal", base == 16 ? "hexadecimal" : base == 8 ? "octal" : base == 2 ? "binary" : "decimal");
        if (errno || v > (unsigned long long)INT64_MAX) {
            py_raise(EX_OverflowError, "integer literal too large for refpy's 64-bit int (line %d)", t->line);
            return NULL;
        }
        nd->val = rh_int(H, (int64_t)v);
    }
    if (!nd->val) return NULL;
    return nd;
}

static int nest_depth;
/* One rule one level deeper: past 200 levels a SyntaxError rather than a
 * stack overflow. */
static Node *p_nested(Parser *p, Node *(*rule)(Parser *)) {
    if (nest_depth >= 200) return fail(p, "too many nested parentheses");
    nest_depth++;
    Node *n = rule(p);
    nest_depth--;
    return n;
}
static Node *p_atom_inner(Parser *p);
static Node *p_atom(Parser *p) { return p_nested(p, p_atom_inner); }

/* Parses one rule with scope sc and its Name uses current: the first iterable
 * of a comprehension, default values and return annotations are evaluated in
 * the enclosing scope. */
static Node *p_in_scope(Parser *p, Scope *sc, NodeList *uses, Node *(*rule)(Parser *)) {
    Scope *saved = p->sc;
    NodeList *su = p->uses;
    p->sc = sc;
    p->uses = uses;
    Node *n = rule(p);
    p->sc = saved;
    p->uses = su;
    return n;
}

/* `target := value`, at the ':=' (target already parsed). */
static Node *p_namedexpr(Parser *p, Node *target, int line) {
    p->pos++;
    if (target->kind != N_NAME) return fail(p, "cannot use assignment expressions with this target");
    Node *w = mk(N_NAMEDEXPR, line);
    set_store(p, target, false);
    w->a = target;
    if (!(w->b = p_test(p))) return NULL;
    return w;
}

/* A display or expression-list item: `*expr` (a Starred node on the line of
 * the '*') or an expression. */
static Node *p_star_or_test(Parser *p) {
    if (!at_op(p, "*")) return p_test(p);
    Node *e = mk(N_STARRED, cur(p)->line);
    p->pos++;
    if (!(e->a = p_bitor(p))) return NULL;
    return e;
}

/* The rest of a tuple or list display after its first item: `, item` up to
 * the closing bracket (a trailing comma allowed), which it consumes. */
static bool p_display_rest(Parser *p, NodeList *items, const char *close) {
    while (at_op(p, ",")) {
        p->pos++;
        if (at_op(p, close)) break;
        Node *e = p_star_or_test(p);
        if (!e) return false;
        node_list_push(items, e);
    }
    return expect_op(p, close);
}

static Node *p_atom_inner(Parser *p) {
    Token *t = cur(p);
    int line = t->line;
    if (t->kind == T_NUMBER) return p_number(p);
    if (t->kind == T_STRING) return p_atom_string(p);
    if (t->kind == T_NAME) {
        if (is_kw(t, "None") || is_kw(t, "True") || is_kw(t, "False")) {
            Node *n = mk(N_CONST, line);
            n->val = is_kw(t, "None") ? rh_None : is_kw(t, "True") ? rh_True : rh_False;
            p->pos++;
            return n;
        }
        if (is_kw(t, "yield")) return unsupported(p, "generators ('yield')");
        if (is_kw(t, "await") || is_kw(t, "async")) return unsupported(p, "async/await");
        if (is_kw(t, "lambda")) return p_lambda(p);
        if (is_keyword_tok(t)) return fail(p, "invalid syntax");
        p->pos++;
        return name_node(p, tok_name(t), line);
    }
    if (is_op(t, "...")) {
        p->pos++;
        return unsupported(p, "Ellipsis");
    }
    if (is_op(t, "(")) {
        p->pos++;
        if (at_op(p, ")")) {
            p->pos++;
            Node *n = mk(N_CONST, line);
            n->val = rh_tuple_new(H, 0);
            return n;
        }
        if (at_kw(p, "yield")) return unsupported(p, "generators ('yield')");
        Node *first = p_star_or_test(p);
        if (!first) return NULL;
        if (first->kind != N_STARRED && at_op(p, ":=") && !(first = p_namedexpr(p, first, line))) return NULL;
        if (at_kw(p, "for")) {
            Node *g = p_comp_tail(p, N_GENEXP, first, NULL, line);
            if (!g || !expect_op(p, ")")) return NULL;
            return g;
        }
        if (at_op(p, ")")) {
            p->pos++;
            if (first->kind == N_STARRED) return fail(p, "cannot use starred expression here");
            return first;
        }
        Node *tup = mk(N_TUPLE, line);
        node_list_push(&tup->l1, first);
        if (!p_display_rest(p, &tup->l1, ")")) return NULL;
        tup->op = 1; /* parenthesized */
        return fold_const_tuple(tup);
    }
    if (is_op(t, "[")) {
        p->pos++;
        Node *l = mk(N_LIST, line);
        if (at_op(p, "]")) { p->pos++; return l; }
        Node *first = p_star_or_test(p);
        if (!first) return NULL;
        if (at_kw(p, "for")) {
            Node *g = p_comp_tail(p, N_LISTCOMP, first, NULL, line);
            if (!g || !expect_op(p, "]")) return NULL;
            return g;
        }
        node_list_push(&l->l1, first);
        if (!p_display_rest(p, &l->l1, "]")) return NULL;
        return l;
    }
    if (is_op(t, "{")) {
        p->pos++;
        if (at_op(p, "}")) { p->pos++; return mk(N_DICT, line); }
        Node *k = NULL, *v = NULL;
        bool dict;
        if (at_op(p, "**")) {
            p->pos++;
            if (!(v = p_bitor(p))) return NULL;
            dict = true;
        } else {
            if (!(k = p_star_or_test(p))) return NULL;
            dict = at_op(p, ":");
            if (dict) {
                p->pos++;
                if (!(v = p_test(p))) return NULL;
            }
        }
        if (at_kw(p, "for")) {
            Node *g = p_comp_tail(p, dict ? N_DICTCOMP : N_SETCOMP, k, v, line);
            if (!g || !expect_op(p, "}")) return NULL;
            return g;
        }
        Node *d = mk(dict ? N_DICT : N_SET, line);
        node_list_push(&d->l1, k);
        if (dict) node_list_push(&d->l2, v);
        while (at_op(p, ",")) {
            p->pos++;
            if (at_op(p, "}")) break;
            if (dict) {
                if (at_op(p, "**")) {
                    p->pos++;
                    node_list_push(&d->l1, NULL);
                    if (!(v = p_bitor(p))) return NULL;
                    node_list_push(&d->l2, v);
                    continue;
                }
                if (!(k = p_test(p)) || !expect_op(p, ":") || !(v = p_test(p))) return NULL;
                node_list_push(&d->l1, k);
                node_list_push(&d->l2, v);
            } else {
                if (!(k = p_star_or_test(p))) return NULL;
                node_list_push(&d->l1, k);
            }
        }
        if (!expect_op(p, "}")) return NULL;
        return d;
    }
    if (t->kind == T_NEWLINE || t->kind == T_EOF) return fail(p, "invalid syntax");
    if (t->kind == T_INDENT) {
        py_raise(EX_IndentationError, "unexpected indent (line %d)", t->line);
        return NULL;
    }
    return fail(p, "invalid syntax");
}

/* Comprehension: the generators become a scope of their own, whose one
 * parameter ".0" is the first iterable (evaluated in the enclosing scope). */
static Node *p_comp_tail(Parser *p, int kind, Node *elt, Node *val, int line) {
    /* elt (and val) were parsed in the enclosing scope: re-home their Name
     * uses into the comprehension scope */
    Node *c = mk(kind, line);
    NodeList *outer_uses = p->uses;
    int mark = outer_uses->n;
    (void)mark;
    Scope *s = scope_push(p, SK_FUNC, kind == N_GENEXP ? "<genexpr>" : kind == N_LISTCOMP ? "<listcomp>"
                                      : kind == N_SETCOMP ? "<setcomp>" : "<dictcomp>");
    s->nparams = 1;
    slot_add(s, intern(".0"));
    c->sc = s;
    bool first = true;
    while (at_kw(p, "for")) {
        int fl = cur(p)->line;
        p->pos++;
        Node *f = mk(N_COMPFOR, fl);
        /* target list */
        Node *tgt = p_bitor(p);
        if (!tgt) return NULL;
        if (at_op(p, ",")) {
            Node *tu = mk(N_TUPLE, fl);
            node_list_push(&tu->l1, tgt);
            while (at_op(p, ",")) {
                p->pos++;
                if (at_kw(p, "in")) break;
                Node *e = p_bitor(p);
                if (!e) return NULL;
                node_list_push(&tu->l1, e);
            }
            tgt = tu;
        }
        if (!set_store(p, tgt, false)) return NULL;
        f->a = tgt;
        if (!at_kw(p, "in")) return fail(p, "expected 'in'");
        p->pos++;
        if (first) {
            /* the first iterable is evaluated outside */
            f->b = p_in_scope(p, s->parent, outer_uses, p_or);
        } else {
            f->b = p_or(p);
        }
        if (!f->b) return NULL;
        while (at_kw(p, "if")) {
            p->pos++;
            Node *cond = p_or(p);
            if (!cond) return NULL;
            node_list_push(&f->l1, cond);
        }
        node_list_push(&c->l1, f);
        first = false;
        if (at_kw(p, "async")) return unsupported(p, "async comprehensions");
    }
    /* move the element's name uses (parsed before the scope existed) */
    NodeList *inner = p->uses;
    for (int i = 0; i < outer_uses->n; i++) {
        Node *u = outer_uses->v[i];
        if (u->line < 0) continue;
        /* a use belongs to the element if it is inside elt/val: we test by
         * walking; simpler: elt/val were parsed just before, so they are the
         * uses recorded after the last statement boundary that point into
         * them. Check membership by a tree search. */
        (void)u;
    }
    /* tree search for Name nodes within elt and val */
    Node *stack[512];
    int sp = 0;
    if (elt) stack[sp++] = elt;
    if (val) stack[sp++] = val;
    while (sp > 0) {
        Node *n = stack[--sp];
        if (!n) continue;
        if (n->kind == N_NAME && n->sc == s->parent) {
            for (int i = outer_uses->n - 1; i >= 0; i--)
                if (outer_uses->v[i] == n) {
                    memmove(&outer_uses->v[i], &outer_uses->v[i + 1], (size_t)(outer_uses->n - i - 1) * sizeof(Node *));
                    outer_uses->n--;
                    break;
                }
            n->sc = s;
            node_list_push(inner, n);
        }
        if (n->kind == N_LAMBDA || n->kind == N_LISTCOMP || n->kind == N_SETCOMP || n->kind == N_GENEXP ||
            n->kind == N_DICTCOMP) {
            /* nested scopes: only their first iterable was parsed outside */
            if (n->l1.n && sp < 510) stack[sp++] = n->l1.v[0]->b;
            if (n->kind == N_LAMBDA) for (int i = 0; i < n->l1.n && sp < 510; i++) stack[sp++] = n->l1.v[i]->a;
            if (n->sc) n->sc->parent = (n->sc->parent == s->parent) ? s : n->sc->parent;
            continue;
        }
        Node *kids[3] = {n->a, n->b, n->c};
        for (int i = 0; i < 3; i++) if (kids[i] && sp < 510) stack[sp++] = kids[i];
        NodeList *ls[3] = {&n->l1, &n->l2, &n->l3};
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < ls[k]->n && sp < 510; i++) if (ls[k]->v[i]) stack[sp++] = ls[k]->v[i];
    }
    c->a = elt;
    c->b = val;
    scope_pop(p);
    return c;
}

static Node *p_arglist(Parser *p, Node *call) {
    /* after '(' */
    while (!at_op(p, ")")) {
        int line = cur(p)->line;
        if (at_op(p, "*")) {
            p->pos++;
            Node *s = mk(N_STARRED, line);
            if (!(s->a = p_test(p))) return NULL;
            if (call->l2.n) return fail(p, "iterable argument unpacking follows keyword argument unpacking");
            node_list_push(&call->l1, s);
        } else if (at_op(p, "**")) {
            p->pos++;
            Node *k = mk(N_KEYWORD, line);
            if (!(k->a = p_test(p))) return NULL;
            node_list_push(&call->l2, k);
        } else if (cur(p)->kind == T_NAME && is_op(peek(p, 1), "=") && !is_keyword_tok(cur(p))) {
            Node *k = mk(N_KEYWORD, line);
            k->val = tok_name(cur(p));
            p->pos += 2;
            if (!(k->a = p_test(p))) return NULL;
            for (int i = 0; i < call->l2.n; i++)
                if (call->l2.v[i]->val == k->val) return fail(p, "keyword argument repeated: %s", rh_str_cstr(k->val));
            node_list_push(&call->l2, k);
        } else {
            Node *e = p_test(p);
            if (!e) return NULL;
            if (at_kw(p, "for")) {
                e = p_comp_tail(p, N_GENEXP, e, NULL, line);
                if (!e) return NULL;
            } else if (at_op(p, ":=")) {
                if (!(e = p_namedexpr(p, e, line))) return NULL;
            }
            if (call->l2.n) {
                bool only_dstar = true;
                for (int i = 0; i < call->l2.n; i++) if (call->l2.v[i]->val) only_dstar = false;
                return fail(p, only_dstar ? "positional argument follows keyword argument unpacking"
                                          : "positional argument follows keyword argument");
            }
            node_list_push(&call->l1, e);
        }
        if (!at_op(p, ",")) break;
        p->pos++;
    }
    if (!expect_op(p, ")")) return NULL;
    return call;
}

static Node *p_subscript_item(Parser *p) {
    int line = cur(p)->line;
    Node *a = NULL, *b = NULL, *c = NULL;
    if (!at_op(p, ":")) {
        if (!(a = p_test(p))) return NULL;
        if (!at_op(p, ":")) return a;
    }
    p->pos++; /* ':' */
    if (!at_op(p, ":") && !at_op(p, "]") && !at_op(p, ",")) if (!(b = p_test(p))) return NULL;
    if (at_op(p, ":")) {
        p->pos++;
        if (!at_op(p, "]") && !at_op(p, ",")) if (!(c = p_test(p))) return NULL;
    }
    Node *s = mk(N_SLICE, line);
    s->a = a; s->b = b; s->c = c;
    return s;
}

static Node *p_primary(Parser *p) {
    Node *e = p_atom(p);
    if (!e) return NULL;
    while (1) {
        int line = cur(p)->line;
        if (at_op(p, ".")) {
            p->pos++;
            if (cur(p)->kind != T_NAME) return fail(p, "invalid syntax");
            Node *a = mk(N_ATTR, line);
            a->a = e;
            a->val = tok_name(cur(p));
            p->pos++;
            e = a;
        } else if (at_op(p, "(")) {
            p->pos++;
            Node *c = mk(N_CALL, line);
            c->a = e;
            if (!p_arglist(p, c)) return NULL;
            e = c;
        } else if (at_op(p, "[")) {
            p->pos++;
            Node *s = mk(N_SUBSCRIPT, line);
            s->a = e;
            Node *idx = p_subscript_item(p);
            if (!idx) return NULL;
            if (at_op(p, ",")) {
                Node *t = mk(N_TUPLE, line);
                node_list_push(&t->l1, idx);
                while (at_op(p, ",")) {
                    p->pos++;
                    if (at_op(p, "]")) break;
                    Node *x = p_subscript_item(p);
                    if (!x) return NULL;
                    node_list_push(&t->l1, x);
                }
                idx = t;
            }
            if (!expect_op(p, "]")) return NULL;
            s->b = idx;
            e = s;
        } else break;
    }
    return e;
}

static Node *p_factor(Parser *p);
static Node *p_power(Parser *p) {
    if (at_kw(p, "await")) return unsupported(p, "await");
    Node *e = p_primary(p);
    if (!e) return NULL;
    if (at_op(p, "**")) {
        int line = cur(p)->line;
        p->pos++;
        Node *b = mk(N_BINOP, line);
        b->op = OP_POW;
        b->a = e;
        if (!(b->b = p_factor(p))) return NULL;
        return b;
    }
    return e;
}
static Node *p_factor(Parser *p) {
    int line = cur(p)->line;
    if (nest_depth >= 200) return fail(p, "too many nested parentheses");
    int op = at_op(p, "-") ? OP_NEG : at_op(p, "+") ? OP_POS : at_op(p, "~") ? OP_INVERT : 0;
    if (op) {
        p->pos++;
        nest_depth++;
        Node *a = p_factor(p);
        nest_depth--;
        if (!a) return NULL;
        if (op == OP_NEG && a->kind == N_CONST && (rh_is_type(a->val, &rh_int_type) || rh_is_type(a->val, &rh_float_type))) {
            O *v = py_unary(OP_NEG, a->val);
            if (!v) return NULL;
            rh_decref(a->val);
            a->val = v;
            return a;
        }
        Node *u = mk(N_UNARY, line);
        u->op = op;
        u->a = a;
        return u;
    }
    return p_power(p);
}

typedef struct BinLevel { const char *ops[6]; int codes[6]; } BinLevel;
static const BinLevel levels[] = {
    {{"|"}, {OP_BITOR}},
    {{"^"}, {OP_BITXOR}},
    {{"&"}, {OP_BITAND}},
    {{"<<", ">>"}, {OP_LSHIFT, OP_RSHIFT}},
    {{"+", "-"}, {OP_ADD, OP_SUB}},
    {{"*", "/", "//", "%", "@"}, {OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_MATMUL}},
};
static Node *p_binlevel(Parser *p, int lv) {
    if (lv == 6) return p_factor(p);
    Node *e = p_binlevel(p, lv + 1);
    if (!e) return NULL;
    while (1) {
        int code = 0;
        for (int i = 0; i < 6 && levels[lv].ops[i]; i++) if (at_op(p, levels[lv].ops[i])) code = levels[lv].codes[i];
        if (!code) return e;
        int line = cur(p)->line;
        p->pos++;
        Node *b = mk(N_BINOP, line);
        b->op = code;
        b->a = e;
        if (!(b->b = p_binlevel(p, lv + 1))) return NULL;
        e = b;
    }
}
static Node *p_bitor(Parser *p) { return p_binlevel(p, 0); }

static int comp_op(Parser *p) {
    Token *t = cur(p);
    if (is_op(t, "<")) return CMP_LT;
    if (is_op(t, "<=")) return CMP_LE;
    if (is_op(t, "==")) return CMP_EQ;
    if (is_op(t, "!=")) return CMP_NE;
    if (is_op(t, ">")) return CMP_GT;
    if (is_op(t, ">=")) return CMP_GE;
    if (is_kw(t, "in")) return CMP_IN;
    if (is_kw(t, "not") && is_kw(peek(p, 1), "in")) return CMP_NOTIN;
    if (is_kw(t, "is")) return is_kw(peek(p, 1), "not") ? CMP_ISNOT : CMP_IS;
    return 0;
}
static Node *p_comparison(Parser *p) {
    Node *e = p_bitor(p);
    if (!e) return NULL;
    int op = comp_op(p);
    if (!op) return e;
    Node *c = mk(N_COMPARE, cur(p)->line);
    c->a = e;
    while ((op = comp_op(p))) {
        p->pos += (op == CMP_NOTIN || op == CMP_ISNOT) ? 2 : 1;
        Node *o = mk(N_CONST, 0);
        o->op = op;
        node_list_push(&c->l2, o);
        Node *r = p_bitor(p);
        if (!r) return NULL;
        node_list_push(&c->l1, r);
    }
    return c;
}
static Node *p_not(Parser *p) {
    if (at_kw(p, "not")) {
        int line = cur(p)->line;
        p->pos++;
        Node *u = mk(N_UNARY, line);
        u->op = OP_NOT;
        if (!(u->a = p_nested(p, p_not))) return NULL;
        return u;
    }
    return p_comparison(p);
}
/* `x kw y kw z` for kw "and" / "or": one BoolOp over all the operands. */
static Node *p_boolop(Parser *p, const char *kw, int op, Node *(*operand)(Parser *)) {
    Node *e = operand(p);
    if (!e || !at_kw(p, kw)) return e;
    Node *b = mk(N_BOOLOP, cur(p)->line);
    b->op = op;
    node_list_push(&b->l1, e);
    while (at_kw(p, kw)) {
        p->pos++;
        Node *x = operand(p);
        if (!x) return NULL;
        node_list_push(&b->l1, x);
    }
    return b;
}
static Node *p_and(Parser *p) { return p_boolop(p, "and", OP_AND, p_not); }
static Node *p_or(Parser *p) { return p_boolop(p, "or", OP_OR, p_and); }

/* parameters of def (until ')') or lambda (until ':') */
static bool p_params(Parser *p, Node *fn, Scope *s, const char *end) {
    int state = 0; /* 0 positional, 3 keyword-only */
    bool seen_default = false;
    while (!at_op(p, end)) {
        int line = cur(p)->line;
        Node *a = mk(N_ARG, line);
        if (at_op(p, "/")) { p->pos++; if (!at_op(p, end)) p->pos += at_op(p, ",") ? 1 : 0; continue; }
        if (at_op(p, "**")) { p->pos++; a->op = 2; }
        else if (at_op(p, "*")) {
            p->pos++;
            if (at_op(p, ",") || at_op(p, end)) {
                state = 3;
                if (at_op(p, ",")) p->pos++;
                continue;
            }
            a->op = 1;
        } else a->op = state;
        if (cur(p)->kind != T_NAME || is_keyword_tok(cur(p))) { fail(p, "invalid syntax in parameters"); return false; }
        a->val = tok_name(cur(p));
        p->pos++;
        if (at_op(p, ":") && strcmp(end, ":") != 0) {
            p->pos++;
            if (!p_test(p)) return false; /* annotation ignored */
        }
        if (at_op(p, "=")) {
            if (a->op == 1 || a->op == 2) { fail(p, "var-positional argument cannot have default value"); return false; }
            p->pos++;
            /* defaults are evaluated in the enclosing scope */
            a->a = p_in_scope(p, s->parent, &s->parent->uses, p_test);
            if (!a->a) return false;
            if (a->op == 0) seen_default = true;
        } else if (a->op == 0 && seen_default) {
            fail(p, "non-default argument follows default argument");
            return false;
        }
        if (scope_slot(s, a->val) >= 0) { fail(p, "duplicate argument '%s' in function definition", rh_str_cstr(a->val)); return false; }
        int slot = slot_add(s, a->val);
        if (a->op == 1) s->star = slot; else if (a->op == 2) s->dstar = slot; else s->nparams++;
        if (a->op == 0) s->npos++;
        node_list_push(&fn->l1, a);
        if (a->op == 1) state = 3;
        if (!at_op(p, ",")) break;
        p->pos++;
    }
    /* slots: positional and keyword-only params come first in order of
     * appearance; *args and **kw are slots too (their indices recorded). */
    s->simple = s->star < 0 && s->dstar < 0 && s->npos == s->nparams;
    return true;
}

static Node *p_lambda(Parser *p) {
    int line = cur(p)->line;
    p->pos++;
    Node *fn = mk(N_LAMBDA, line);
    fn->val = intern("<lambda>");
    Scope *s = scope_push(p, SK_FUNC, "<lambda>");
    fn->sc = s;
    if (!p_params(p, fn, s, ":")) return NULL;
    if (!expect_op(p, ":")) return NULL;
    if (!(fn->a = p_test(p))) return NULL;
    scope_pop(p);
    return fn;
}

static Node *p_test_inner(Parser *p);
static Node *p_test(Parser *p) { return p_nested(p, p_test_inner); }
static Node *p_test_inner(Parser *p) {
    if (at_kw(p, "lambda")) return p_lambda(p);
    Node *e = p_or(p);
    if (!e) return NULL;
    if (at_kw(p, "if")) {
        int line = cur(p)->line;
        p->pos++;
        Node *c = mk(N_IFEXP, line);
        c->a = e;
        if (!(c->b = p_or(p))) return NULL;
        if (!at_kw(p, "else")) return fail(p, "expected 'else' after 'if' expression");
        p->pos++;
        if (!(c->c = p_test(p))) return NULL;
        return c;
    }
    return e;
}

/* a, b, *c  (a tuple without parentheses when there is a comma) */
static Node *p_star_exprs(Parser *p, bool allow_tuple) {
    int line = cur(p)->line;
    Node *first = p_star_or_test(p);
    if (!first) return NULL;
    if (!allow_tuple || !at_op(p, ",")) {
        if (first->kind == N_STARRED && !at_op(p, ",")) {
            /* a lone starred expression is only valid as a target */
        }
        return first;
    }
    Node *t = mk(N_TUPLE, line);
    node_list_push(&t->l1, first);
    while (at_op(p, ",")) {
        p->pos++;
        Token *c = cur(p);
        if (c->kind == T_NEWLINE || is_op(c, "=") || is_op(c, ")") || is_op(c, ";") || is_op(c, ":") ||
            c->kind == T_EOF || (c->kind == T_OP && c->len == 2 && c->start[1] == '=' && c->start[0] != '=' &&
                                 c->start[0] != '<' && c->start[0] != '>' && c->start[0] != '!'))
            break;
        if (is_kw(c, "in")) break;
        Node *e = p_star_or_test(p);
        if (!e) return NULL;
        node_list_push(&t->l1, e);
    }
    return t;
}

/* ---------------------------------------------------------------------------
 * f-strings and string literals
 * ------------------------------------------------------------------------- */
static Node *const_str(const char *s, size_t n, int line) {
    Node *c = mk(N_CONST, line);
    c->val = rh_str_n(H, s, n);
    if (!c->val) { py_from_rh(); return NULL; }
    return c;
}

static Node *parse_fstring(Parser *p, const char *s, size_t n, int is_raw, int line, Node *joined);

static bool fstring_field(Parser *p, const char *s, size_t n, size_t *ip, int line, Node *joined, int is_raw) {
    size_t i = *ip; /* after '{' */
    int depth = 0;
    size_t start = i;
    char quote = 0;
    size_t expr_end = 0, conv_pos = 0, spec_pos = 0;
    bool has_conv = false, has_spec = false, self_doc = false;
    for (; i < n; i++) {
        char c = s[i];
        if (quote) { if (c == quote) quote = 0; continue; }
        if (c == '\'' || c == '"') { quote = c; continue; }
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        else if (depth == 0 && c == '!' && i + 1 < n && s[i + 1] != '=') { expr_end = i; has_conv = true; conv_pos = i + 1; break; }
        else if (depth == 0 && c == ':') { expr_end = i; has_spec = true; spec_pos = i + 1; break; }
        else if (depth == 0 && c == '}') { expr_end = i; break; }
        else if (depth == 0 && c == '=' && i + 1 < n && (s[i + 1] == '}' || s[i + 1] == '!' || s[i + 1] == ':') &&
                 i > start && s[i - 1] != '=' && s[i - 1] != '!' && s[i - 1] != '<' && s[i - 1] != '>') {
            self_doc = true;
        }
    }
    if (i >= n) { fail(p, "f-string: expecting '}'"); return false; }
    if (self_doc) { unsupported(p, "'=' in f-string fields"); return false; }
    int conv = 0;
    size_t j = expr_end;
    if (has_conv) {
        if (conv_pos >= n) { fail(p, "f-string: expecting '}'"); return false; }
        conv = s[conv_pos];
        if (conv != 'r' && conv != 's' && conv != 'a') { fail(p, "f-string: invalid conversion character"); return false; }
        j = conv_pos + 1;
        if (j < n && s[j] == ':') { has_spec = true; spec_pos = j + 1; }
        else if (j >= n || s[j] != '}') { fail(p, "f-string: expecting '}'"); return false; }
    }
    Node *spec = NULL;
    if (has_spec) {
        /* the spec runs to the matching '}' and may hold nested fields */
        size_t k = spec_pos;
        int d = 0;
        for (; k < n; k++) {
            if (s[k] == '{') d++;
            else if (s[k] == '}') { if (d == 0) break; d--; }
        }
        if (k >= n) { fail(p, "f-string: expecting '}'"); return false; }
        spec = mk(N_JOINEDSTR, line);
        if (!parse_fstring(p, s + spec_pos, k - spec_pos, is_raw, line, spec)) return false;
        j = k;
    } else if (has_conv) {
        /* j at '}' */
    } else j = expr_end;
    /* the expression text */
    size_t elen = expr_end - start;
    bool blank = true;
    for (size_t k = 0; k < elen; k++) if (!isspace((unsigned char)s[start + k])) blank = false;
    if (blank) { fail(p, "f-string: empty expression not allowed"); return false; }
    char *text = malloc(elen + 3);
    if (!text) abort();
    text[0] = '(';
    memcpy(text + 1, s + start, elen);
    text[elen + 1] = ')';
    text[elen + 2] = 0;
    TokenList tl;
    if (tokenize(text, &tl, line) < 0) {
        tokens_free(&tl);
        free(text);
        py_err_clear();
        py_raise(EX_SyntaxError, "f-string: invalid syntax (line %d)", line);
        return false;
    }
    Parser sub = {.tl = tl, .pos = 0, .sc = p->sc, .uses = p->uses, .filename = p->filename};
    Node *e = p_star_exprs(&sub, true);
    if (e && cur(&sub)->kind != T_NEWLINE && cur(&sub)->kind != T_EOF) e = fail(&sub, "f-string: invalid syntax");
    tokens_free(&sub.tl);
    free(text);
    if (!e) return false;
    Node *f = mk(N_FORMATTED, line);
    f->a = e;
    f->op = conv;
    f->b = spec;
    node_list_push(&joined->l1, f);
    *ip = j; /* at the closing '}' */
    return true;
}

/* A literal part of an f-string (escapes decoded unless raw) onto joined. */
static bool fstring_literal(const char *buf, size_t bl, int is_raw, int line, Node *joined) {
    Node *cs;
    if (is_raw) cs = const_str(buf, bl, line);
    else {
        size_t dl;
        char *d = decode_escapes(buf, bl, 0, &dl, line);
        if (!d) return false;
        cs = const_str(d, dl, line);
        free(d);
    }
    if (!cs) return false;
    node_list_push(&joined->l1, cs);
    return true;
}

static Node *parse_fstring(Parser *p, const char *s, size_t n, int is_raw, int line, Node *joined) {
    size_t lit = 0;
    char *buf = malloc(n + 1);
    if (!buf) abort();
    size_t bl = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '{' && i + 1 < n && s[i + 1] == '{') { buf[bl++] = '{'; i++; continue; }
        if (c == '}' && i + 1 < n && s[i + 1] == '}') { buf[bl++] = '}'; i++; continue; }
        if (c == '}') { free(buf); fail(p, "f-string: single '}' is not allowed"); return NULL; }
        if (c == '{') {
            if (bl) {
                if (!fstring_literal(buf, bl, is_raw, line, joined)) { free(buf); return NULL; }
                bl = 0;
            }
            i++;
            if (!fstring_field(p, s, n, &i, line, joined, is_raw)) { free(buf); return NULL; }
            continue;
        }
        buf[bl++] = c;
    }
    (void)lit;
    if (bl && !fstring_literal(buf, bl, is_raw, line, joined)) { free(buf); return NULL; }
    free(buf);
    return joined;
}

static Node *p_atom_string(Parser *p) {
    int line = cur(p)->line;
    bool any_f = false, any_b = false, any_s = false;
    for (int k = p->pos; p->tl.v[k].kind == T_STRING; k++) {
        if (p->tl.v[k].is_f) any_f = true;
        if (p->tl.v[k].is_bytes) any_b = true; else any_s = true;
    }
    if (any_b && any_s) return fail(p, "cannot mix bytes and nonbytes literals");
    if (!any_f) {
        size_t total = 0;
        for (int k = p->pos; p->tl.v[k].kind == T_STRING; k++) total += p->tl.v[k].slen;
        char *buf = malloc(total + 1);
        if (!buf) abort();
        size_t o = 0;
        for (; cur(p)->kind == T_STRING; p->pos++) {
            memcpy(buf + o, cur(p)->str, cur(p)->slen);
            o += cur(p)->slen;
        }
        Node *c = mk(N_CONST, line);
        c->val = any_b ? rh_bytes(H, buf, o) : rh_str_n(H, buf, o);
        free(buf);
        if (!c->val) { py_from_rh(); return NULL; }
        return c;
    }
    Node *j = mk(N_JOINEDSTR, line);
    for (; cur(p)->kind == T_STRING; p->pos++) {
        Token *t = cur(p);
        if (t->is_f) {
            if (!parse_fstring(p, t->str, t->slen, t->is_raw, t->line, j)) return NULL;
        } else {
            Node *c = const_str(t->str, t->slen, t->line);
            if (!c) return NULL;
            node_list_push(&j->l1, c);
        }
    }
    return j;
}

/* ---------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------- */
static bool p_block(Parser *p, NodeList *body);
static bool p_stmt(Parser *p, NodeList *body);

static bool end_simple(Parser *p) {
    if (at_op(p, ";")) { p->pos++; return true; }
    if (cur(p)->kind == T_NEWLINE) { p->pos++; return true; }
    if (cur(p)->kind == T_EOF) return true;
    fail(p, "invalid syntax");
    return false;
}

static bool is_augop(Token *t, int *op) {
    static const char *ops[] = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "|=", "^=", "&=", "@=", NULL};
    static const int codes[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_LSHIFT, OP_RSHIFT,
                                OP_BITOR, OP_BITXOR, OP_BITAND, OP_MATMUL};
    for (int i = 0; ops[i]; i++) if (is_op(t, ops[i])) { *op = codes[i]; return true; }
    return false;
}

static Node *fold_const_tuple(Node *t) {
    if (t->kind != N_TUPLE || t->l1.n == 0) return t;
    for (int i = 0; i < t->l1.n; i++) {
        Node *e = t->l1.v[i];
        if (e->kind != N_CONST) return t;
        const rh_type *ty = rh_type_of(e->val);
        if (ty == &rh_list_type || ty == &rh_dict_type || ty == &rh_set_type) return t;
    }
    O *tu = rh_tuple_new(H, (size_t)t->l1.n);
    if (!tu) return t;
    for (int i = 0; i < t->l1.n; i++) rh_tuple_set_steal(tu, (size_t)i, rh_newref(t->l1.v[i]->val));
    /* a constant tuple of atoms is never tracked (as CPython's constants) */
    bool atoms = true;
    for (int i = 0; i < t->l1.n; i++) {
        O *v = t->l1.v[i]->val;
        if (rh_is_type(v, &rh_tuple_type) ? rh_gc_is_tracked(v) : false) atoms = false;
    }
    if (atoms && rh_gc_is_tracked(tu)) rh_gc_untrack(tu);
    Node *c = mk(N_CONST, t->line);
    c->val = tu;
    return c;
}

static bool p_simple(Parser *p, NodeList *body) {
    Token *t = cur(p);
    int line = t->line;
    if (is_kw(t, "pass")) { p->pos++; node_list_push(body, mk(N_PASS, line)); return end_simple(p); }
    if (is_kw(t, "break")) { p->pos++; node_list_push(body, mk(N_BREAK, line)); return end_simple(p); }
    if (is_kw(t, "continue")) { p->pos++; node_list_push(body, mk(N_CONTINUE, line)); return end_simple(p); }
    if (is_kw(t, "return")) {
        p->pos++;
        if (p->sc->kind != SK_FUNC) { fail(p, "'return' outside function"); return false; }
        Node *r = mk(N_RETURN, line);
        if (cur(p)->kind != T_NEWLINE && !at_op(p, ";") && cur(p)->kind != T_EOF) {
            if (!(r->a = p_star_exprs(p, true))) return false;
            r->a = fold_const_tuple(r->a);
        }
        node_list_push(body, r);
        return end_simple(p);
    }
    if (is_kw(t, "del")) {
        p->pos++;
        Node *d = mk(N_DEL, line);
        while (1) {
            Node *e = p_bitor(p);
            if (!e || !set_store(p, e, true)) return false;
            node_list_push(&d->l1, e);
            if (!at_op(p, ",")) break;
            p->pos++;
            if (cur(p)->kind == T_NEWLINE) break;
        }
        node_list_push(body, d);
        return end_simple(p);
    }
    if (is_kw(t, "global") || is_kw(t, "nonlocal")) {
        bool glob = is_kw(t, "global");
        p->pos++;
        Node *g = mk(glob ? N_GLOBAL : N_NONLOCAL, line);
        while (1) {
            if (cur(p)->kind != T_NAME) { fail(p, "invalid syntax"); return false; }
            O *nm = tok_name(cur(p));
            p->pos++;
            Scope *s = p->sc;
            if (glob) name_add(&s->globals, &s->nglobals, &s->gcap, nm);
            else {
                if (s->kind != SK_FUNC) { fail(p, "nonlocal declaration not allowed at module level"); return false; }
                name_add(&s->nonlocals, &s->nnonlocals, &s->ncap, nm);
            }
            for (int i = 0; i < s->nnames; i++)
                if (s->names[i] == nm && i < s->nparams) { fail(p, "name '%s' is parameter and %s", rh_str_cstr(nm), glob ? "global" : "nonlocal"); return false; }
            if (!at_op(p, ",")) break;
            p->pos++;
        }
        node_list_push(body, g);
        return end_simple(p);
    }
    if (is_kw(t, "raise")) {
        p->pos++;
        Node *r = mk(N_RAISE, line);
        if (cur(p)->kind != T_NEWLINE && !at_op(p, ";") && cur(p)->kind != T_EOF) {
            if (!(r->a = p_test(p))) return false;
            if (at_kw(p, "from")) {
                p->pos++;
                if (!(r->b = p_test(p))) return false;
            }
        }
        node_list_push(body, r);
        return end_simple(p);
    }
    if (is_kw(t, "assert")) {
        p->pos++;
        Node *a = mk(N_ASSERT, line);
        if (!(a->a = p_test(p))) return false;
        if (at_op(p, ",")) {
            p->pos++;
            if (!(a->b = p_test(p))) return false;
        }
        node_list_push(body, a);
        return end_simple(p);
    }
    if (is_kw(t, "import")) {
        p->pos++;
        Node *im = mk(N_IMPORT, line);
        while (1) {
            if (cur(p)->kind != T_NAME) { fail(p, "invalid syntax"); return false; }
            Node *al = mk(N_ALIAS, line);
            al->val = tok_name(cur(p));
            p->pos++;
            if (at_op(p, ".")) { unsupported(p, "dotted module names in import"); return false; }
            O *target = al->val;
            if (at_kw(p, "as")) {
                p->pos++;
                if (cur(p)->kind != T_NAME) { fail(p, "invalid syntax"); return false; }
                target = tok_name(cur(p));
                p->pos++;
            }
            al->b = name_node(p, target, line);
            set_store(p, al->b, false);
            node_list_push(&im->l1, al);
            if (!at_op(p, ",")) break;
            p->pos++;
        }
        node_list_push(body, im);
        return end_simple(p);
    }
    if (is_kw(t, "from")) {
        p->pos++;
        if (cur(p)->kind != T_NAME) { if (at_op(p, ".")) unsupported(p, "relative imports"); else fail(p, "invalid syntax"); return false; }
        Node *im = mk(N_IMPORTFROM, line);
        im->val = tok_name(cur(p));
        p->pos++;
        if (at_op(p, ".")) { unsupported(p, "dotted module names in import"); return false; }
        if (!at_kw(p, "import")) { fail(p, "invalid syntax"); return false; }
        p->pos++;
        if (at_op(p, "*")) { unsupported(p, "'from ... import *'"); return false; }
        bool paren = at_op(p, "(");
        if (paren) p->pos++;
        while (1) {
            if (cur(p)->kind != T_NAME) { fail(p, "invalid syntax"); return false; }
            Node *al = mk(N_ALIAS, line);
            al->val = tok_name(cur(p));
            p->pos++;
            O *target = al->val;
            if (at_kw(p, "as")) {
                p->pos++;
                target = tok_name(cur(p));
                p->pos++;
            }
            al->b = name_node(p, target, line);
            set_store(p, al->b, false);
            node_list_push(&im->l1, al);
            if (!at_op(p, ",")) break;
            p->pos++;
            if (paren && at_op(p, ")")) break;
        }
        if (paren && !expect_op(p, ")")) return false;
        node_list_push(body, im);
        return end_simple(p);
    }
    if (is_kw(t, "yield")) { unsupported(p, "generators ('yield')"); return false; }
    /* expression statement / assignment */
    Node *e = p_star_exprs(p, true);
    if (!e) return false;
    int aop;
    if (is_augop(cur(p), &aop)) {
        p->pos++;
        if (e->kind != N_NAME && e->kind != N_ATTR && e->kind != N_SUBSCRIPT) { fail(p, "'%s' is an illegal expression for augmented assignment", e->kind == N_TUPLE ? "tuple" : "expression"); return false; }
        set_store(p, e, false);
        Node *a = mk(N_AUGASSIGN, line);
        a->op = aop;
        a->a = e;
        if (!(a->b = p_star_exprs(p, true))) return false;
        node_list_push(body, a);
        return end_simple(p);
    }
    if (at_op(p, ":") && (e->kind == N_NAME || e->kind == N_ATTR || e->kind == N_SUBSCRIPT)) {
        p->pos++;
        Node *ann = p_test(p);
        if (!ann) return false;
        if (at_op(p, "=")) {
            p->pos++;
            Node *a = mk(N_ASSIGN, line);
            set_store(p, e, false);
            node_list_push(&a->l1, e);
            if (!(a->a = p_star_exprs(p, true))) return false;
            node_list_push(body, a);
        } else {
            if (e->kind == N_NAME) set_store(p, e, false);
            node_list_push(body, mk(N_PASS, line));
        }
        return end_simple(p);
    }
    if (at_op(p, "=")) {
        Node *a = mk(N_ASSIGN, line);
        while (at_op(p, "=")) {
            p->pos++;
            if (!set_store(p, e, false)) return false;
            node_list_push(&a->l1, e);
            if (at_kw(p, "yield")) { unsupported(p, "generators ('yield')"); return false; }
            if (!(e = p_star_exprs(p, true))) return false;
        }
        a->a = fold_const_tuple(e);
        node_list_push(body, a);
        return end_simple(p);
    }
    if (e->kind == N_STARRED) { fail(p, "can't use starred expression here"); return false; }
    Node *s = mk(N_EXPR, line);
    s->a = fold_const_tuple(e);
    node_list_push(body, s);
    return end_simple(p);
}

static bool p_suite(Parser *p, NodeList *body) {
    if (!expect_op(p, ":")) return false;
    if (nest_depth >= 200) { fail(p, "too many statically nested blocks"); return false; }
    if (cur(p)->kind == T_NEWLINE) {
        p->pos++;
        if (cur(p)->kind != T_INDENT) {
            py_raise(EX_IndentationError, "expected an indented block (line %d)", cur(p)->line);
            return false;
        }
        p->pos++;
        nest_depth += 4;
        while (cur(p)->kind != T_DEDENT && cur(p)->kind != T_EOF)
            if (!p_stmt(p, body)) { nest_depth -= 4; return false; }
        nest_depth -= 4;
        if (cur(p)->kind == T_DEDENT) p->pos++;
        return true;
    }
    /* simple statements on the same line */
    while (1) {
        if (!p_simple(p, body)) return false;
        if (p->tl.v[p->pos - 1].kind == T_NEWLINE || cur(p)->kind == T_EOF) break;
    }
    return true;
}
static bool p_block(Parser *p, NodeList *body) { return p_suite(p, body); }

/* `def name` / `class name`: the node, its decorators taken over, and the
 * name bound in the enclosing scope (node->a). */
static Node *p_def_head(Parser *p, int kind, NodeList *decos) {
    int line = cur(p)->line;
    p->pos++; /* def or class */
    if (cur(p)->kind != T_NAME || is_keyword_tok(cur(p))) return fail(p, "invalid syntax");
    Node *d = mk(kind, line);
    d->val = tok_name(cur(p));
    p->pos++;
    if (decos) { d->l3 = *decos; memset(decos, 0, sizeof *decos); }
    Node *target = name_node(p, d->val, line);
    set_store(p, target, false);
    d->a = target;
    return d;
}

static bool p_funcdef(Parser *p, NodeList *body, NodeList *decos) {
    Node *fn = p_def_head(p, N_FUNCDEF, decos);
    if (!fn) return false;
    if (!expect_op(p, "(")) return false;
    Scope *s = scope_push(p, SK_FUNC, rh_str_cstr(fn->val));
    fn->sc = s;
    if (!p_params(p, fn, s, ")")) return false;
    if (!expect_op(p, ")")) return false;
    if (at_op(p, "->")) {
        p->pos++;
        if (!p_in_scope(p, s->parent, &s->parent->uses, p_test)) return false;
    }
    if (!p_block(p, &fn->l2)) return false;
    scope_pop(p);
    node_list_push(body, fn);
    return true;
}

static bool p_classdef(Parser *p, NodeList *body, NodeList *decos) {
    Node *c = p_def_head(p, N_CLASSDEF, decos);
    if (!c) return false;
    if (at_op(p, "(")) {
        p->pos++;
        while (!at_op(p, ")")) {
            if (cur(p)->kind == T_NAME && is_op(peek(p, 1), "=")) { unsupported(p, "class keywords (metaclass=...)"); return false; }
            Node *b = p_test(p);
            if (!b) return false;
            node_list_push(&c->l1, b);
            if (!at_op(p, ",")) break;
            p->pos++;
        }
        if (!expect_op(p, ")")) return false;
    }
    Scope *s = scope_push(p, SK_CLASS, rh_str_cstr(c->val));
    c->sc = s;
    if (!p_block(p, &c->l2)) return false;
    scope_pop(p);
    node_list_push(body, c);
    return true;
}

static bool p_stmt(Parser *p, NodeList *body) {
    Token *t = cur(p);
    int line = t->line;
    if (t->kind == T_INDENT) {
        py_raise(EX_IndentationError, "unexpected indent (line %d)", line);
        return false;
    }
    if (t->kind == T_NEWLINE) { p->pos++; return true; }
    if (is_op(t, "@")) {
        /* the decorators' list belongs to this holder node until the
         * definition takes it (so a syntax error leaks nothing) */
        Node *holder = mk(N_BLOCK, line);
        NodeList *decos = &holder->l1;
        while (at_op(p, "@")) {
            p->pos++;
            Node *d = p_test(p);
            if (!d) return false;
            node_list_push(decos, d);
            if (cur(p)->kind != T_NEWLINE) { fail(p, "invalid syntax"); return false; }
            p->pos++;
        }
        if (at_kw(p, "def")) return p_funcdef(p, body, decos);
        if (at_kw(p, "class")) return p_classdef(p, body, decos);
        fail(p, "invalid syntax");
        return false;
    }
    if (is_kw(t, "def")) return p_funcdef(p, body, NULL);
    if (is_kw(t, "class")) return p_classdef(p, body, NULL);
    if (is_kw(t, "async")) { unsupported(p, "async functions"); return false; }
    if (is_kw(t, "match") && peek(p, 1)->kind != T_OP && peek(p, 1)->kind != T_NEWLINE) { unsupported(p, "the match statement"); return false; }
    if (is_kw(t, "if")) {
        p->pos++;
        Node *n = mk(N_IF, line);
        if (!(n->a = p_test(p))) return false;
        if (at_op(p, ":=")) { unsupported(p, "':=' in if"); return false; }
        if (!p_block(p, &n->l1)) return false;
        node_list_push(body, n);
        while (at_kw(p, "elif")) {
            Node *e = mk(N_IF, cur(p)->line);
            p->pos++;
            if (!(e->a = p_test(p))) return false;
            if (!p_block(p, &e->l1)) return false;
            node_list_push(&n->l2, e);
            n = e;
        }
        if (at_kw(p, "else")) {
            p->pos++;
            if (!p_block(p, &n->l2)) return false;
        }
        return true;
    }
    if (is_kw(t, "while")) {
        p->pos++;
        Node *n = mk(N_WHILE, line);
        if (!(n->a = p_test(p))) return false;
        if (!p_block(p, &n->l1)) return false;
        if (at_kw(p, "else")) { p->pos++; if (!p_block(p, &n->l2)) return false; }
        node_list_push(body, n);
        return true;
    }
    if (is_kw(t, "for")) {
        p->pos++;
        Node *n = mk(N_FOR, line);
        Node *tg = p_bitor(p);
        if (!tg) return false;
        if (at_op(p, ",")) {
            Node *tu = mk(N_TUPLE, line);
            node_list_push(&tu->l1, tg);
            while (at_op(p, ",")) {
                p->pos++;
                if (at_kw(p, "in")) break;
                Node *e;
                if (at_op(p, "*")) { p->pos++; e = mk(N_STARRED, line); if (!(e->a = p_bitor(p))) return false; }
                else if (!(e = p_bitor(p))) return false;
                node_list_push(&tu->l1, e);
            }
            tg = tu;
        }
        if (!set_store(p, tg, false)) return false;
        n->a = tg;
        if (!at_kw(p, "in")) { fail(p, "invalid syntax: expected 'in'"); return false; }
        p->pos++;
        if (!(n->b = p_star_exprs(p, true))) return false;
        n->b = fold_const_tuple(n->b);
        if (!p_block(p, &n->l1)) return false;
        if (at_kw(p, "else")) { p->pos++; if (!p_block(p, &n->l2)) return false; }
        node_list_push(body, n);
        return true;
    }
    if (is_kw(t, "try")) {
        p->pos++;
        Node *n = mk(N_TRY, line);
        if (!p_block(p, &n->l1)) return false;
        while (at_kw(p, "except")) {
            Node *h = mk(N_HANDLER, cur(p)->line);
            p->pos++;
            if (at_op(p, "*")) { unsupported(p, "except*"); return false; }
            if (!at_op(p, ":")) {
                if (!(h->a = p_test(p))) return false;
                if (at_op(p, ",")) {
                    Node *tu = mk(N_TUPLE, h->line);
                    node_list_push(&tu->l1, h->a);
                    while (at_op(p, ",")) { p->pos++; Node *x = p_test(p); if (!x) return false; node_list_push(&tu->l1, x); }
                    h->a = tu;
                }
                if (at_kw(p, "as")) {
                    p->pos++;
                    if (cur(p)->kind != T_NAME) { fail(p, "invalid syntax"); return false; }
                    h->val = tok_name(cur(p));
                    p->pos++;
                    h->b = name_node(p, h->val, h->line);
                    set_store(p, h->b, false);
                }
            }
            if (!p_block(p, &h->l1)) return false;
            node_list_push(&n->l2, h);
        }
        if (at_kw(p, "else")) {
            if (!n->l2.n) { fail(p, "invalid syntax"); return false; }
            p->pos++;
            if (!p_block(p, &n->l3)) return false;
        }
        if (at_kw(p, "finally")) {
            p->pos++;
            n->a = mk(N_BLOCK, cur(p)->line);
            if (!p_block(p, &n->a->l1)) return false;
        }
        if (!n->l2.n && !n->a) { fail(p, "expected 'except' or 'finally' block"); return false; }
        node_list_push(body, n);
        return true;
    }
    if (is_kw(t, "with")) {
        p->pos++;
        Node *n = mk(N_WITH, line);
        bool paren = at_op(p, "(") ;
        (void)paren;
        while (1) {
            Node *it = mk(N_WITHITEM, cur(p)->line);
            if (!(it->a = p_test(p))) return false;
            if (at_kw(p, "as")) {
                p->pos++;
                Node *tg = p_bitor(p);
                if (!tg || !set_store(p, tg, false)) return false;
                it->b = tg;
            }
            node_list_push(&n->l1, it);
            if (!at_op(p, ",")) break;
            p->pos++;
        }
        if (!p_block(p, &n->l2)) return false;
        node_list_push(body, n);
        return true;
    }
    if (is_kw(t, "else") || is_kw(t, "elif") || is_kw(t, "except") || is_kw(t, "finally")) {
        fail(p, "invalid syntax");
        return false;
    }
    return p_simple(p, body);
}

/* ---------------------------------------------------------------------------
 * Name resolution
 * ------------------------------------------------------------------------- */
static int add_free(Scope *s, O *name, Scope *owner) {
    int i = scope_slot(s, name);
    if (i >= 0) return i;
    int from;
    if (s->parent == owner) from = scope_slot(owner, name);
    else from = add_free(s->parent, name, owner);
    i = slot_add(s, name);
    s->free_from[i] = from;
    s->has_free_or_cells = true;
    return i;
}

static bool is_local(Scope *s, O *name) {
    int i = scope_slot(s, name);
    return i >= 0 && i < s->nlocals;
}

/* Where name lives when used in scope s: sets n->scope and n->idx. */
static bool resolve(Node *n) {
    Scope *s = n->sc;
    O *name = n->val;
    if (s->kind == SK_MODULE) { n->scope = SC_GLOBAL; return true; }
    if (name_in(s->globals, s->nglobals, name)) { n->scope = SC_GLOBAL; return true; }
    if (s->kind == SK_FUNC && is_local(s, name)) {
        n->idx = scope_slot(s, name);
        n->scope = SC_FAST;
        return true;
    }
    bool nonlocal = name_in(s->nonlocals, s->nnonlocals, name);
    if (s->kind == SK_CLASS && !nonlocal) {
        /* a class body name that is assigned there lives in its namespace */
        bool assigned = name_in(s->assigned, s->nassigned, name);
        if (assigned) { n->scope = SC_NAME; return true; }
    }
    for (Scope *p = s->parent; p; p = p->parent) {
        if (p->kind == SK_CLASS) continue;
        if (p->kind == SK_MODULE) break;
        if (name_in(p->globals, p->nglobals, name)) break;
        if (is_local(p, name)) {
            p->cell[scope_slot(p, name)] = 1;
            p->has_free_or_cells = true;
            n->idx = add_free(s, name, p);
            n->scope = SC_DEREF;
            return true;
        }
    }
    if (nonlocal) {
        py_raise(EX_SyntaxError, "no binding for nonlocal '%s' found (line %d)", rh_str_cstr(name), n->line);
        return false;
    }
    n->scope = s->kind == SK_CLASS ? SC_NAME : SC_GLOBAL;
    return true;
}

Node *parse_program(const char *src, const char *filename) {
    Parser p = {.filename = filename};
    nest_depth = 0;
    if (tokenize(src, &p.tl, 1) < 0) { tokens_free(&p.tl); return NULL; }
    Node *mod = mk(N_MODULE, 1);
    Scope *s = scope_push(&p, SK_MODULE, "<module>");
    mod->sc = s;
    int first_scope = nscopes - 1;
    while (cur(&p)->kind != T_EOF) {
        if (cur(&p)->kind == T_DEDENT) { p.pos++; continue; }
        if (!p_stmt(&p, &mod->l1)) { tokens_free(&p.tl); return NULL; }
    }
    tokens_free(&p.tl);
    /* pass 1: the declarations of nonlocal names become free variables */
    for (int i = first_scope; i < nscopes; i++) {
        Scope *sc = all_scopes[i].sc;
        for (int k = 0; k < sc->nnonlocals; k++) {
            Node tmp = {.kind = N_NAME, .val = sc->nonlocals[k], .sc = sc, .line = 0};
            if (!resolve(&tmp)) return NULL;
        }
    }
    /* pass 2: every name use */
    for (int i = first_scope; i < nscopes; i++) {
        NodeList *u = &all_scopes[i].sc->uses;
        for (int k = 0; k < u->n; k++) if (!resolve(u->v[k])) return NULL;
    }
    /* pass 3: a local captured after its uses were resolved is a cell */
    for (int i = first_scope; i < nscopes; i++) {
        NodeList *u = &all_scopes[i].sc->uses;
        for (int k = 0; k < u->n; k++) {
            Node *n = u->v[k];
            if (n->scope == SC_FAST && n->sc->cell[n->idx]) n->scope = SC_DEREF;
        }
    }
    return mod;
}

/* Frees every node and scope made by the parser (at exit), dropping the
 * references the constants hold. */
void ast_free_all(void) {
    for (size_t i = 0; i < nall_nodes; i++) {
        Node *n = all_nodes[i];
        free(n->l1.v);
        free(n->l2.v);
        free(n->l3.v);
        if (n->val) rh_decref(n->val);
        free(n);
    }
    free(all_nodes);
    all_nodes = NULL;
    nall_nodes = all_nodes_cap = 0;
    for (int i = 0; i < nscopes; i++) {
        Scope *s = all_scopes[i].sc;
        free(s->uses.v);
        free(s->names);
        free(s->cell);
        free(s->free_from);
        free(s->globals);
        free(s->nonlocals);
        free(s->assigned);
        free(s);
    }
    free(all_scopes);
    all_scopes = NULL;
    nscopes = scopes_cap = 0;
}
