/*
 * ast.h — refpy's syntax tree and scopes.
 *
 * One node struct serves every construct: a kind, a line, an operator code,
 * up to three child nodes (a, b, c) and three child lists (l1, l2, l3), a
 * constant or name (val, an owned reference: interned str for names), and,
 * for names, where the scope pass resolved them (scope + idx). The fields a
 * kind uses are listed next to it. Nodes are allocated with malloc: the tree
 * is the program, not a Python value, and lives until the program ends.
 *
 * Scopes. Every function, lambda, comprehension and class body has a Scope:
 * its slot names (parameters first, then the other locals, then the free
 * variables it receives from enclosing functions), which locals are cells
 * (captured by an inner function), and, for each free variable, the slot of
 * the enclosing scope its cell comes from. A name is resolved to
 *   SC_FAST   the frame's slot idx (a local of a function)
 *   SC_DEREF  the cell in slot idx (a captured local, or a free variable)
 *   SC_GLOBAL the module's dict, then the builtins
 *   SC_NAME   the namespace dict (class body, module), then globals, builtins
 * exactly as CPython's compiler decides LOAD_FAST / LOAD_DEREF / LOAD_GLOBAL
 * / LOAD_NAME.
 */
#ifndef REFPY_AST_H
#define REFPY_AST_H

#include "refpy.h"

enum NodeKind {
    /* expressions */
    N_CONST,     /* val */
    N_NAME,      /* val (interned), scope, idx */
    N_ATTR,      /* a.val */
    N_SUBSCRIPT, /* a[b] */
    N_SLICE,     /* a:b:c (any may be NULL) */
    N_CALL,      /* a(l1 positional (N_STARRED allowed), l2 keyword (N_KEYWORD: val name or NULL for **, a value)) */
    N_KEYWORD,
    N_BINOP,     /* a op b */
    N_UNARY,     /* op a */
    N_BOOLOP,    /* op (OP_AND/OP_OR) over l1 */
    N_COMPARE,   /* a, l1 comparators, l2 ops (N_CONST with op) */
    N_IFEXP,     /* a if b else c  (a = body, b = test, c = orelse) */
    N_LAMBDA,    /* def-like: args in l1 (N_ARG), body a; sc */
    N_TUPLE, N_LIST, N_SET, /* l1 */
    N_DICT,      /* keys l1 (NULL for **), values l2 */
    N_LISTCOMP, N_SETCOMP, N_GENEXP, /* a element, l1 generators (N_COMPFOR); sc */
    N_DICTCOMP,  /* a key, b value, l1 generators; sc */
    N_COMPFOR,   /* target a, iter b, ifs l1 */
    N_JOINEDSTR, /* l1 parts: N_CONST or N_FORMATTED */
    N_FORMATTED, /* value a, conversion op ('r','s','a' or 0), spec b (JOINEDSTR or NULL) */
    N_STARRED,   /* *a */
    N_NAMEDEXPR, /* a := b */
    /* statements */
    N_EXPR,      /* a */
    N_ASSIGN,    /* targets l1, value a */
    N_AUGASSIGN, /* a op= b */
    N_ANNASSIGN, /* a : b = c */
    N_IF,        /* test a, body l1, orelse l2 */
    N_WHILE,     /* test a, body l1, orelse l2 */
    N_FOR,       /* target a, iter b, body l1, orelse l2 */
    N_BREAK, N_CONTINUE, N_PASS,
    N_DEL,       /* targets l1 */
    N_GLOBAL, N_NONLOCAL, /* names l1 (N_NAME) */
    N_RETURN,    /* a or NULL */
    N_FUNCDEF,   /* val name, args l1 (N_ARG), body l2, decorators l3; sc */
    N_ARG,       /* val name, a default or NULL, op: 0 plain, 1 *args, 2 **kw, 3 keyword-only */
    N_CLASSDEF,  /* val name, bases l1, body l2, decorators l3; sc */
    N_TRY,       /* body l1, handlers l2 (N_HANDLER), orelse l3, finalbody a (N_BLOCK) */
    N_HANDLER,   /* type a or NULL, name val or NULL (b is its N_NAME target), body l1 */
    N_BLOCK,     /* l1 */
    N_RAISE,     /* exc a, cause b */
    N_WITH,      /* items l1 (N_WITHITEM), body l2 */
    N_WITHITEM,  /* ctx a, target b or NULL */
    N_IMPORT,    /* l1: N_ALIAS (val module name, b target N_NAME) */
    N_IMPORTFROM,/* val module, l1: N_ALIAS (val name, b target) */
    N_ALIAS,
    N_ASSERT,    /* test a, msg b */
    N_MODULE,    /* body l1; sc */
    N_COUNT
};

/* operators (binop, unary, comparisons, boolops) */
enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_LSHIFT,
    OP_RSHIFT, OP_BITOR, OP_BITXOR, OP_BITAND, OP_MATMUL,
    OP_NEG, OP_POS, OP_INVERT, OP_NOT,
    OP_AND, OP_OR,
    CMP_LT, CMP_LE, CMP_EQ, CMP_NE, CMP_GT, CMP_GE, CMP_IN, CMP_NOTIN, CMP_IS, CMP_ISNOT
};

enum { SC_UNRESOLVED = 0, SC_FAST, SC_DEREF, SC_GLOBAL, SC_NAME };

typedef struct NodeList {
    struct Node **v;
    int n, cap;
} NodeList;

typedef struct Node {
    int kind, line, op;
    struct Node *a, *b, *c;
    NodeList l1, l2, l3;
    O *val;
    int scope, idx;
    struct Scope *sc;
} Node;

enum { SK_MODULE, SK_FUNC, SK_CLASS };

typedef struct Scope {
    int kind;
    struct Scope *parent;
    O **names;      /* slot names (interned, borrowed: immortal) */
    int nnames, cap;
    int nlocals;    /* slots [0, nlocals) are locals; the rest are free variables */
    int nparams;    /* positional parameters (including keyword-only) */
    int npos;       /* positional parameters only */
    bool simple;    /* only positional parameters: no *args, **kw, keyword-only */
    int star, dstar;/* slot of *args / **kw, or -1 */
    char *cell;     /* per local: captured by an inner scope */
    int *free_from; /* per free variable: the enclosing scope's slot */
    O **globals;    /* names declared global */
    int nglobals, gcap;
    O **nonlocals;
    int nnonlocals, ncap;
    O **assigned;   /* names bound in this scope (analysis) */
    int nassigned, acap;
    const char *name;
    bool has_free_or_cells;
    struct NodeList uses; /* the Name nodes used in this scope (resolution) */
} Scope;

Node *parse_program(const char *src, const char *filename);  /* NULL: SyntaxError set */
void ast_free_all(void);
void node_list_push(NodeList *l, Node *n);
int scope_slot(Scope *s, O *name);  /* -1 if absent */

/* lexer */
enum TokKind { T_EOF, T_NAME, T_NUMBER, T_STRING, T_OP, T_NEWLINE, T_INDENT, T_DEDENT };
typedef struct Token {
    int kind;
    int line, col;
    const char *start;   /* into the source */
    int len;
    /* strings: decoded text (malloc'd), prefix flags */
    char *str;
    size_t slen;
    int is_bytes, is_f, is_raw;
} Token;
typedef struct TokenList {
    Token *v;
    int n, cap;
} TokenList;
/* Tokenizes src; on error sets SyntaxError (with the line) and returns -1. */
int tokenize(const char *src, TokenList *out, int first_line);
void tokens_free(TokenList *tl);

#endif
