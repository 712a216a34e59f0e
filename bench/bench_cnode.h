/*
 * bench_cnode.h — the benchmarks' hand-written C tree nodes, the baselines
 * refheap's node is compared with, written as a C programmer would:
 *   CNODE_REFCOUNT defined: a reference count by hand on mimalloc, no cycle
 *     collector: a struct with a count and two children, mi_malloc, and a
 *     decref that frees the children recursively (node_new, node_decref);
 *   otherwise: {left, right} from CNODE_MALLOC, a tree freed by a recursive
 *     walk with CNODE_FREE (node_new, node_free_tree).
 * One definition for bench_trees.c (BT_MIRC, BT_GLIBC, BT_MIMALLOC) and
 * bench_objpath.c (BO_MIRC, BO_MIMALLOC), so that both compare refheap with
 * the same code. The including file defines CNODE_COUNTER, the uint64_t it
 * counts the nodes made in.
 */
#ifndef BENCH_CNODE_H
#define BENCH_CNODE_H

#include <stdint.h>
#include <stdlib.h>

#ifndef CNODE_COUNTER
#error "CNODE_COUNTER must name the counter of nodes made"
#endif

#ifdef CNODE_REFCOUNT

#include <mimalloc.h>

typedef struct node {
    uint32_t refcnt;
    struct node *left, *right;
} node;

/* Takes ownership of l and r (their one reference moves into the node). */
static node *node_new(node *l, node *r) {
    node *n = mi_malloc(sizeof *n);
    if (!n) abort();
    n->refcnt = 1;
    n->left = l;
    n->right = r;
    CNODE_COUNTER++;
    return n;
}

static void node_decref(node *n) {
    if (n && --n->refcnt == 0) {
        node_decref(n->left);
        node_decref(n->right);
        mi_free(n);
    }
}

#else

typedef struct node {
    struct node *left, *right;
} node;

static node *node_new(node *l, node *r) {
    node *n = CNODE_MALLOC(sizeof *n);
    if (!n) abort();
    n->left = l;
    n->right = r;
    CNODE_COUNTER++;
    return n;
}

static void node_free_tree(node *n) {
    if (!n) return;
    node_free_tree(n->left);
    node_free_tree(n->right);
    CNODE_FREE(n);
}

#endif
#endif
