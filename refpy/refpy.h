/*
 * refpy.h — the declarations shared by refpy's files.
 *
 * refpy is a small Python 3.11 interpreter whose every value is an object of
 * refheap (include/refheap.h, the only refheap header it uses). The pipeline:
 *
 *   lexer.c    source text -> tokens (INDENT/DEDENT, string prefixes)
 *   parser.c   tokens -> AST (ast.h), f-strings parsed into JoinedStr nodes,
 *              then a scope pass that resolves every name to a fast slot, a
 *              cell, a global or a namespace lookup (as CPython's symtable)
 *   eval.c     a tree-walking evaluator over the AST; frames are C structs
 *              on the C stack (CPython 3.11's frames are not objects either),
 *              holding real references in their slots
 *   objects.c  refpy's own object types (functions, cells, classes, modules,
 *              bound methods, iterators, ...) defined through rh_type with
 *              traverse/clear/destroy, and the generic operations
 *              (attributes, arithmetic, comparison, repr)
 *   builtins.c the built-in functions and the methods of built-in types
 *   modules.c  gc, sys, weakref, time (thin layers over refheap's API)
 *   main.c     the program: reads a file or standard input, runs it
 *
 * Conventions follow refheap's: a function returning rh_object * returns a
 * new reference or NULL with a Python exception set (py_raise); a function
 * returning int returns 0 / -1 (or 1/0/-1 for predicates).
 */
#ifndef REFPY_H
#define REFPY_H

#include "refheap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef rh_object O;

/* The one heap of the process's interpreter. */
extern rh_heap *H;

/* ---- AST (ast.h) ---- */
struct Node;
struct Scope;

/* ---- exceptions ---- */
/* The built-in exception classes (Class objects). */
enum {
    EX_BaseException, EX_Exception, EX_TypeError, EX_ValueError, EX_NameError,
    EX_UnboundLocalError, EX_AttributeError, EX_KeyError, EX_IndexError,
    EX_LookupError, EX_ZeroDivisionError, EX_ArithmeticError, EX_OverflowError,
    EX_RuntimeError, EX_NotImplementedError, EX_RecursionError, EX_StopIteration,
    EX_AssertionError, EX_ImportError, EX_ModuleNotFoundError, EX_SyntaxError,
    EX_BufferError, EX_MemoryError, EX_OSError, EX_KeyboardInterrupt,
    EX_SystemExit, EX_UnicodeDecodeError, EX_IndentationError, EX_ReferenceError,
    EX_FileNotFoundError, EX_GeneratorExit,
    EX_COUNT
};
extern O *py_exc[EX_COUNT];

/* Sets the current exception to a new instance of cls with the message. */
O *py_raise(int ex, const char *fmt, ...) RH_PRINTF(2, 3);
/* Sets the current exception to exc (takes a new reference). */
void py_raise_obj(O *exc);
/* Translates refheap's error (rh_err) into a Python exception. */
O *py_from_rh(void);
bool py_err_occurred(void);
bool py_err_matches(O *cls);  /* current exception is an instance of cls */
O *py_err_fetch(void);        /* new reference to the current exception; clears */
void py_err_clear(void);
void py_err_print(void);      /* traceback + message on stderr; clears */
/* Traceback entries are added as the exception leaves each frame. */
void py_tb_add(const char *func, int line);
/* The traceback saved with a caught exception (restored by a bare raise). */
typedef struct TB TB;
TB *py_tb_take(void);
void py_tb_restore(TB *tb);
void py_tb_free(TB *tb);
void py_write_unraisable(const char *where, O *obj);

/* ---- object types defined by refpy ---- */
extern rh_type T_function, T_cell, T_class, T_module, T_method, T_builtin,
    T_iter, T_range, T_file, T_slice, T_property, T_super;

typedef O *(*cfunc)(O *self, O **args, size_t n, O *kw);

typedef struct Builtin {
    RH_OBJECT_HEAD;
    const char *name;
    cfunc fn;
    O *self;       /* bound receiver (NULL for a plain function) */
    O *weaklist;
    int is_method; /* a method of a built-in type: self comes first */
} Builtin;

typedef struct Cell {
    RH_OBJECT_HEAD;
    O *ref;
} Cell;

typedef struct Function {
    RH_OBJECT_HEAD;
    O *weaklist;
    struct Node *def;   /* FunctionDef / Lambda / comprehension node */
    struct Scope *sc;
    O *name;            /* str */
    O *qualname;        /* str */
    O *globals;         /* dict */
    O *defaults;        /* tuple or NULL */
    O *kwdefaults;      /* dict or NULL */
    O *closure;         /* tuple of cells or NULL */
    O *dict;            /* attributes, or NULL */
} Function;

typedef struct Class {
    RH_OBJECT_HEAD;
    O *weaklist;
    O *name;            /* str */
    O *dict;            /* class namespace */
    struct Class *base; /* NULL only for object */
    O *rhcls;           /* refheap class of the instances, NULL for built-ins */
    const rh_type *bt;  /* built-in type this class names, or NULL */
    int exc;            /* exception class */
    int has_del;
    int legacy;         /* _testcapi.with_tp_del */
    int slotted;
    int has_props;      /* a property in the class or its bases */
    cfunc ctor;         /* built-in types: the constructor */
} Class;

typedef struct Method {
    RH_OBJECT_HEAD;
    O *func;
    O *self;
} Method;

typedef struct Module {
    RH_OBJECT_HEAD;
    O *weaklist;
    O *name;
    O *dict;
} Module;

typedef struct Slice {
    RH_OBJECT_HEAD;
    O *start, *stop, *step;
} Slice;

typedef struct Range {
    RH_OBJECT_HEAD;
    int64_t start, stop, step;
} Range;

typedef struct Property {
    RH_OBJECT_HEAD;
    O *fget, *fset;
} Property;

/* Iterators: one type, several kinds. */
enum { IT_SEQ, IT_DICT_KEYS, IT_DICT_VALUES, IT_DICT_ITEMS, IT_SET, IT_RANGE,
       IT_STR, IT_ENUM, IT_ZIP, IT_CALL, IT_FILE, IT_WEAK, IT_REVERSED, IT_MAP };
typedef struct Iter {
    RH_OBJECT_HEAD;
    int kind;
    O *seq;        /* what is iterated (owned) */
    O *extra;      /* enumerate/zip/map: second object (owned) */
    int64_t i, end, step;
    size_t pos, size;
    rh_weakiter wit;
} Iter;

/* ---- the object model ---- */
O *make_class(O *name, Class *base, O *ns);
O *new_class_builtin(const char *name, Class *base, const rh_type *bt, cfunc ctor);
void class_add_method(Class *c, const char *name, cfunc fn);
O *new_descr(const char *name, cfunc fn);

Class *type_of(O *o);              /* borrowed */
O *class_of_rhcls(O *rhcls);       /* borrowed Class for a refheap class */
bool is_subclass(Class *c, Class *base);
bool isinstance_of(O *o, Class *c);
O *class_lookup(Class *c, O *name); /* borrowed; NULL (no error) if absent */
O *class_lookup_s(Class *c, const char *name);
extern Class *C_object, *C_int, *C_float, *C_str, *C_bool, *C_none, *C_list,
    *C_tuple, *C_dict, *C_set, *C_bytes, *C_bytearray, *C_memoryview, *C_type,
    *C_function, *C_range, *C_weakref, *C_slice, *C_frozenset;

O *new_builtin(const char *name, cfunc fn, O *self);
O *new_method(O *func, O *self);
O *new_cell(O *v);
O *new_module(const char *name);
O *new_iter(int kind, O *seq);

O *getattr_o(O *o, O *name);                 /* new ref; AttributeError */
O *getattr_s(O *o, const char *name);
int setattr_o(O *o, O *name, O *v);          /* v NULL: delete */
/* Looks up a method for a call without making a bound method: *self_out
 * receives o (borrowed) when the result must be called with o first. */
O *getmethod(O *o, O *name, bool *unbound);
O *call(O *f, O **args, size_t n, O *kw);    /* kw: dict or NULL */
O *call0(O *f);
O *call1(O *f, O *a);
O *call2(O *f, O *a, O *b);
O *call_method_s(O *o, const char *name, O **args, size_t n);

O *py_repr(O *o);
O *py_str(O *o);
int py_truth(O *o);                /* 1, 0, -1 */
int py_eq(O *a, O *b);             /* 1, 0, -1 */
O *py_richcmp(O *a, O *b, int op); /* op: ast comparison code */
int py_lt(O *a, O *b);             /* 1, 0, -1 */
rh_hash_t py_hash(O *o);
O *py_binop(int op, O *a, O *b);   /* op: ast binop code */
O *py_inplace(int op, O *a, O *b);
O *py_unary(int op, O *a);
O *py_iter(O *o);
O *py_next(O *it);                 /* NULL without error at the end */
O *py_getitem(O *o, O *k);
int py_setitem(O *o, O *k, O *v);
int py_delitem(O *o, O *k);
int py_contains(O *c, O *v);       /* 1, 0, -1 */
int64_t py_len(O *o);              /* -1 on error */
O *py_format(O *v, O *spec);       /* format(v, spec) */
O *py_str_mod(O *fmt, O *args);    /* fmt % args */
O *py_str_format(O *fmt, O **args, size_t n, O *kw);
O *py_list_from(O *iterable);      /* new list */
O *py_tuple_from(O *iterable);
bool py_is_str(O *o);
bool py_is_int(O *o);              /* int or bool */
O *py_int_from(int64_t v);
O *str_from_cstr(const char *s);
O *intern(const char *s);
O *intern_lit(const char *lit);     /* the same for string literals (cached by address) */          /* new reference to the interned string (immortal) */
int py_index(O *o, int64_t *out);  /* int-like to int64; TypeError */
O *seq_concat(O *a, O *b);
O *seq_repeat(O *a, int64_t n);
O *set_binop(int op, O *a, O *b);
O *py_sort(O *list, O *key, bool reverse); /* sorts in place; returns None */

/* ---- the evaluator ---- */
O *run_module_source(const char *src, const char *filename, const char *modname);
O *call_function(Function *f, O **args, size_t n, O *kw);
extern O *builtins_dict;
extern const char *current_file;
int current_line(void);
void builtins_init(void);
void modules_init(void);
O *import_module(O *name);
void objects_init(void);
O *method_table_lookup(const rh_type *t, O *name, O *self); /* bound builtin or NULL */
void interp_fini(void);
extern int recursion_depth;
/* Fuzzing: no os/_testcapi/tracemalloc/open, sizes capped, a step budget. */
extern int refpy_fuzz_mode;
extern long refpy_steps_left;
int refpy_step(void);               /* -1 (RuntimeError set) when the budget is spent */
/* Runs a whole program on a fresh heap: the process's `refpy FILE` minus
 * argument handling. Returns the exit status. */
int refpy_run(const char *src, size_t len, const char *path, int argc, char **argv);
void objects_reset(void);
/* Exit: the pending weakref.finalize callbacks run (CPython's atexit hook),
 * then, once the program's globals are gone, no Python code runs any more. */
void interp_atexit(void);
extern bool interp_shutting_down;
void builtins_reset(void);

#endif
