/*
 * user_type.c — defining your own container type: a binary tree node with two
 * child references, a traverse hook (so the collector can see the references)
 * and a clear hook (so it can break cycles).
 */
#include <refheap.h>
#include <stdio.h>

typedef struct node {
    RH_OBJECT_HEAD;
    rh_object *left, *right;
    long value;
} node;

/* RH_VISIT (Py_VISIT) skips a NULL field and returns visit's nonzero result. */
static int node_traverse(rh_object *self, rh_visitfn visit, void *arg) {
    node *n = (node *)self;
    RH_VISIT(n->left);
    RH_VISIT(n->right);
    return 0;
}

static void node_clear(rh_object *self) {
    node *n = (node *)self;
    RH_CLEAR(n->left);
    RH_CLEAR(n->right);
}

/* destroy runs once, with the node already untracked; it may reuse clear
 * because clear leaves NULL behind (RH_CLEAR), so a second pass is harmless. */
static int destroyed;
static void node_destroy(rh_object *self) {
    node_clear(self);
    destroyed++;
}

static const rh_type node_type = {
    .name = "Node",
    .basicsize = sizeof(node),
    .flags = RH_TYPE_GC,
    .traverse = node_traverse,
    .clear = node_clear,
    .destroy = node_destroy,
};

static rh_object *node_new(rh_heap *h, long value) {
    node *n = RH_NEW(h, node, &node_type);
    if (!n) return NULL;
    n->value = value;
    rh_gc_track(RH_OBJ(n)); /* its fields are valid: the collector may see it now */
    return RH_OBJ(n);
}

int main(void) {
    rh_heap *h = rh_heap_new(NULL);
    /* a tree of three nodes: freed by reference counting alone */
    rh_object *root = node_new(h, 1);
    ((node *)root)->left = node_new(h, 2);
    ((node *)root)->right = node_new(h, 3);
    rh_decref(root);
    printf("tree freed by refcounting: %d nodes destroyed\n", destroyed);

    /* a cycle: a -> b -> a; only the collector can free it */
    rh_object *a = node_new(h, 10), *b = node_new(h, 20);
    ((node *)a)->left = rh_newref(b);
    ((node *)b)->left = rh_newref(a);
    rh_decref(a);
    rh_decref(b);
    printf("cycle after dropping our references: %d nodes destroyed\n", destroyed);
    intptr_t n = rh_gc_collect(h, 2);
    printf("rh_gc_collect found %ld unreachable objects; %d nodes destroyed\n", (long)n, destroyed);
    rh_heap_destroy(h);
    return (destroyed == 5 && n == 2) ? 0 : 1;
}
