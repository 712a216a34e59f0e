/*
 * native_class.c — a class whose instances carry native C state: an
 * interpreter's file object, say. The class spec asks for native_size bytes
 * at the end of every instance (rh_instance_native) and a destroy hook that
 * releases them once, when the instance dies, whether by reference counting
 * or by the cycle collector.
 */
#include <refheap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct file_state {
    char *buffer; /* owned by the instance: malloc'd, freed by the hook */
    size_t size;
} file_state;

static int released;

/* Runs once per instance, before its attributes are dropped. */
static void file_destroy(rh_object *self, void *class_data) {
    (void)class_data;
    file_state *fs = rh_instance_native(self);
    free(fs->buffer);
    fs->buffer = NULL;
    released++;
}

static rh_object *file_open(rh_object *cls, size_t size) {
    rh_object *f = rh_instance_new(cls);
    if (!f) return NULL;
    file_state *fs = rh_instance_native(f); /* zeroed, 16-byte aligned */
    fs->buffer = calloc(1, size);
    fs->size = size;
    return f;
}

int main(void) {
    rh_heap *h = rh_heap_new(NULL);
    rh_class_spec spec = {.name = "File", .native_size = sizeof(file_state), .destroy = file_destroy};
    rh_object *File = rh_class_new(h, &spec);

    /* Dies by reference counting: the hook runs at once. */
    rh_object *f = file_open(File, 4096);
    strcpy(((file_state *)rh_instance_native(f))->buffer, "hello");
    rh_decref(f);
    printf("after del f: %d released\n", released);

    /* Two files in a cycle (a.peer = b; b.peer = a): the collector frees them. */
    rh_object *a = file_open(File, 100), *b = file_open(File, 100);
    rh_setattr(a, "peer", b);
    rh_setattr(b, "peer", a);
    rh_decref(a);
    rh_decref(b);
    printf("cycle dropped: %d released\n", released);
    intptr_t n = rh_gc_collect(h, 2);
    printf("collected %ld, %d released\n", (long)n, released);

    rh_decref(File);
    rh_heap_destroy(h);
    return released == 3 && n == 2 ? 0 : 1;
}
