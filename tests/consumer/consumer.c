/* A tiny program built against the installed refheap (pkg-config and CMake). */
#include <refheap.h>
#include <stdio.h>

int main(void) {
    rh_heap *h = rh_heap_new(NULL);
    if (!h) return 1;
    rh_object *a = rh_list_new(h, 0), *b = rh_list_new(h, 0);
    rh_list_append(a, b);
    rh_list_append(b, a);          /* a cycle */
    rh_decref(a);
    rh_decref(b);
    intptr_t n = rh_gc_collect(h, 2);
    printf("consumer: collect() found %ld unreachable objects\n", (long)n);
    rh_heap_destroy(h);
    return n == 2 ? 0 : 1;
}
