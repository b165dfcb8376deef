#include "util/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    }
    return (size_t)h;
}

static sioc__map_entry **slot(const sioc__map *m, const char *key, size_t len)
{
    sioc__map_entry **e = &m->buckets[hash(key, len) & (m->nbuckets - 1)];
    while (*e && !(strlen((*e)->key) == len && memcmp((*e)->key, key, len) == 0)) {
        e = &(*e)->next;
    }
    return e;
}

void *sioc__map_get(const sioc__map *m, const char *key, size_t len)
{
    if (!m->count) {
        return NULL;
    }
    sioc__map_entry *e = *slot(m, key, len);
    return e ? e->value : NULL;
}

static int grow(sioc__map *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 64;
    sioc__map_entry **b = calloc(n, sizeof(*b));
    if (!b) {
        return -1;
    }
    for (size_t i = 0; i < m->nbuckets; i++) {
        sioc__map_entry *e = m->buckets[i];
        while (e) {
            sioc__map_entry *next = e->next;
            size_t j = hash(e->key, strlen(e->key)) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

int sioc__map_put(sioc__map *m, const char *key, void *value)
{
    if (m->count >= m->nbuckets && grow(m) < 0 && !m->nbuckets) {
        return -1;
    }
    sioc__map_entry *e = malloc(sizeof(*e));
    if (!e) {
        return -1;
    }
    e->key = key;
    e->value = value;
    sioc__map_entry **b = &m->buckets[hash(key, strlen(key)) & (m->nbuckets - 1)];
    e->next = *b;
    *b = e;
    m->count++;
    return 0;
}

void *sioc__map_remove(sioc__map *m, const char *key)
{
    if (!m->count) {
        return NULL;
    }
    sioc__map_entry **p = slot(m, key, strlen(key));
    sioc__map_entry *e = *p;
    if (!e) {
        return NULL;
    }
    void *v = e->value;
    *p = e->next;
    free(e);
    m->count--;
    return v;
}

void sioc__map_each(const sioc__map *m, void (*fn)(void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (sioc__map_entry *e = m->buckets[i]; e; e = e->next) {
            fn(e->value, arg);
        }
    }
}

void sioc__map_free(sioc__map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        sioc__map_entry *e = m->buckets[i];
        while (e) {
            sioc__map_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}
