/*
 * finalizer.c — __del__ in C: a finalizer runs once per object life, even when
 * the object is in a cycle, and may resurrect its object.
 */
#include <refheap.h>
#include <stdio.h>

static int runs;
static void on_del(rh_object *self, void *data) {
    runs++;
    rh_object *name = rh_getattr(self, "name");
    printf("  __del__ of %s\n", name ? rh_str_cstr(name) : "?");
    rh_xdecref(name);
    if (data) rh_list_append((rh_object *)data, self); /* resurrect: store self somewhere reachable */
}

static rh_object *named(rh_object *cls, const char *name) {
    rh_object *o = rh_instance_new(cls);
    rh_object *s = rh_str(rh_heap_of(cls), name);
    rh_setattr(o, "name", s);
    rh_decref(s);
    return o;
}

int main(void) {
    rh_heap *h = rh_heap_new(NULL);
    rh_gc_disable(h);
    rh_class_spec spec = {.name = "Resource", .finalizer = on_del};
    rh_object *Resource = rh_class_new(h, &spec);

    printf("refcount death:\n");
    rh_decref(named(Resource, "file"));

    printf("a cycle, found by the collector:\n");
    rh_object *a = named(Resource, "a"), *b = named(Resource, "b");
    rh_setattr(a, "peer", b);
    rh_setattr(b, "peer", a);
    rh_decref(a);
    rh_decref(b);
    intptr_t n = rh_gc_collect(h, 2);
    printf("  collect() -> %ld\n", (long)n);

    printf("resurrection:\n");
    rh_object *graveyard = rh_list_new(h, 0);
    rh_class_spec lspec = {.name = "Lazarus", .finalizer = on_del, .data = graveyard};
    rh_object *Lazarus = rh_class_new(h, &lspec);
    rh_decref(named(Lazarus, "lazarus"));
    printf("  resurrected objects: %zu\n", rh_list_size(graveyard));
    rh_list_clear(graveyard); /* dies for good: its finalizer already ran and does not run again */
    rh_gc_collect(h, 2);
    printf("  finalizer runs in all: %d\n", runs);

    rh_decref(graveyard);
    rh_decref(Lazarus);
    rh_decref(Resource);
    rh_heap_destroy(h);
    return (runs == 4 && n == 2) ? 0 : 1;
}
