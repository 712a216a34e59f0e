/*
 * internal.h — the whole of refheap's internals in one include: the heap
 * record and every room's interface, for heap.c (the heap's life cycle, the
 * top room of src/) and for the white-box tests. A file of a lower room
 * never includes it: it includes its own room's header and the headers of
 * the rooms below (docs/design.md, "The architecture"; tests/check_layers.py):
 *
 *   base/          base.h (errors, checks in tiers), heap.h (the heap record)
 *   memory/        alloc_internal.h, alloc_priv.h   the allocator
 *   weak/          weak_internal.h                  weak references, finalize
 *   collector/     gc_internal.h                    the cycle collector
 *   objects/       object_internal.h, containers.h  objects and built-in types
 *   tools/         tools_internal.h                 tracing, snapshots, objgraph
 *   heap.c         the heap's life cycle
 *
 * Names: `rh__` for functions and types shared between files, `static` for
 * everything else. Lifecycle hooks of each room are called by heap.c in
 * the order written below.
 */
#ifndef REFHEAP_INTERNAL_H
#define REFHEAP_INTERNAL_H

#include "base/heap.h"
#include "memory/alloc_internal.h"
#include "memory/alloc_priv.h"
#include "weak/weak_internal.h"
#include "collector/gc_internal.h"
#include "objects/object_internal.h"
#include "tools/tools_internal.h"

/* Lifecycle hooks (heap.c calls them in this order on creation, reverse on
 * destruction, except that rh__weak_atexit and rh__gc_fini run first; each
 * is declared in its room's header). init hooks return 0, or -1 when out of
 * memory:
 *   rh__alloc_init/fini   memory/alloc_internal.h
 *   rh__obj_init/fini     objects/object_internal.h (fini frees the interned strings)
 *   rh__gc_init/fini      collector/gc_internal.h (fini: last collection, leak report)
 *   rh__weak_init/fini    weak/weak_internal.h (and rh__weak_atexit: the
 *                         weakref.finalize callbacks still alive, newest first)
 *   rh__tools_fini        tools/tools_internal.h (stops tracing, frees the tools' state) */

#endif /* REFHEAP_INTERNAL_H */
