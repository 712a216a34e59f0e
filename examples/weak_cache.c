/*
 * weak_cache.c — a cache that does not keep its values alive: a weak-value
 * dictionary of large objects empties when the program drops them.
 */
#include <refheap.h>
#include <stdio.h>

int main(void) {
    rh_heap *h = rh_heap_new(NULL);
    rh_class_spec spec = {.name = "Image"}; /* weakrefable, as a Python class */
    rh_object *Image = rh_class_new(h, &spec);
    rh_object *cache = rh_weakvaluedict_new(h);

    rh_object *img = rh_instance_new(Image);
    rh_object *pixels = rh_bytearray(h, NULL, 4u << 20); /* 4 MiB */
    rh_setattr(img, "pixels", pixels);
    rh_decref(pixels);
    rh_object *key = rh_str(h, "logo.png");
    rh_weakvaluedict_set(cache, key, img);
    printf("cached: %zu entry\n", rh_weakvaluedict_size(cache));

    rh_object *again = rh_weakvaluedict_get(cache, key); /* a new strong reference */
    printf("lookup while in use: %s\n", again == img ? "hit" : "miss");
    rh_decref(again);

    rh_decref(img); /* the program's last strong reference: the image dies now */
    rh_object *gone = rh_weakvaluedict_get(cache, key);
    printf("after the last reference went: %zu entries, lookup %s\n", rh_weakvaluedict_size(cache),
           gone ? "hit" : "miss");
    int ok = gone == NULL && rh_weakvaluedict_size(cache) == 0;
    rh_decref(key);
    rh_decref(cache);
    rh_decref(Image);
    rh_heap_destroy(h);
    return ok ? 0 : 1;
}
