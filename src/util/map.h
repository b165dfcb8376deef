/* A string-keyed hash map (sid → session). Keys are borrowed: they must live inside the value and
 * stay unchanged while it is in the map. Open addressing with linear probing: no allocation per
 * entry (a session, a socket and its own room each had one), and a walk over every value reads
 * one array in order. */
#ifndef SIOC_UTIL_MAP_H
#define SIOC_UTIL_MAP_H

#include <stddef.h>

typedef struct sioc__map_slot {
    const char *key; /* NULL: a free slot */
    void *value;
} sioc__map_slot;

typedef struct sioc__map {
    sioc__map_slot *slots; /* at most three quarters in use */
    size_t cap;            /* a power of two, or 0 */
    size_t count;
} sioc__map;

/* The value under `key` (of `len` bytes), or NULL. */
void *sioc__map_get(const sioc__map *m, const char *key, size_t len);
/* Adds `key` → `value`; `key` must not be present. Returns 0, or -1 when out of memory. */
int sioc__map_put(sioc__map *m, const char *key, void *value);
/* Removes `key` and returns its value, or NULL when absent. */
void *sioc__map_remove(sioc__map *m, const char *key);
/* Iteration: the first value at or after *pos (start at 0), *pos moved past it; NULL at the end.
 * The map must not change while it is walked. */
void *sioc__map_next(const sioc__map *m, size_t *pos);
/* Calls `fn` for every value; `fn` must not change the map. */
void sioc__map_each(const sioc__map *m, void (*fn)(void *value, void *arg), void *arg);
void sioc__map_free(sioc__map *m);

#endif
