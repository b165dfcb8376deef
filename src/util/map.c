#include "util/map.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Eight bytes at a time (keys are mostly 20-byte ids, hashed at every lookup), then murmur3's
 * finalizer, so that the low bits the slot index takes depend on every byte. */
static size_t hash(const char *key, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
    }
    uint64_t w = 0;
    memcpy(&w, key + i, len - i);
    h ^= w;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (size_t)h;
}

static size_t home(const sioc__map *m, const char *key, size_t len)
{
    return hash(key, len) & (m->cap - 1);
}

/* Whether slot key `k` is `key` (`len` bytes). The first byte first: most slots a probe passes
 * hold another key, which strlen would walk. */
static bool same(const char *k, const char *key, size_t len)
{
    if (!len) {
        return !k[0];
    }
    return k[0] == key[0] && strlen(k) == len && memcmp(k, key, len) == 0;
}

/* The slot holding `key`, or the free slot where it would go. The map has a free slot. */
static size_t find(const sioc__map *m, const char *key, size_t len)
{
    size_t i = home(m, key, len);
    while (m->slots[i].key && !same(m->slots[i].key, key, len)) {
        i = (i + 1) & (m->cap - 1);
    }
    return i;
}

void *sioc__map_get(const sioc__map *m, const char *key, size_t len)
{
    if (!m->count) {
        return NULL;
    }
    return m->slots[find(m, key, len)].value;
}

static int grow(sioc__map *m)
{
    size_t n = m->cap ? m->cap * 2 : 16;
    sioc__map_slot *old = m->slots;
    size_t old_cap = m->cap;
    if (!(m->slots = calloc(n, sizeof(*m->slots)))) {
        m->slots = old;
        return -1;
    }
    m->cap = n;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key) {
            m->slots[find(m, old[i].key, strlen(old[i].key))] = old[i];
        }
    }
    free(old);
    return 0;
}

int sioc__map_put(sioc__map *m, const char *key, void *value)
{
    assert(key);
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0) {
        return -1;
    }
    size_t i = find(m, key, strlen(key));
    assert(!m->slots[i].key); /* not present already */
    m->slots[i] = (sioc__map_slot){key, value};
    m->count++;
    return 0;
}

/* Whether `k` lies cyclically in (i, j]: an entry at j whose home is k may not move to i. */
static bool between(size_t i, size_t k, size_t j)
{
    return i <= j ? i < k && k <= j : i < k || k <= j;
}

void *sioc__map_remove(sioc__map *m, const char *key)
{
    if (!m->count) {
        return NULL;
    }
    size_t i = find(m, key, strlen(key));
    if (!m->slots[i].key) {
        return NULL;
    }
    void *v = m->slots[i].value;
    /* Backward shift: the entries after it in its run move up where their probe allows, so that
     * no lookup stops at the hole (no tombstones). */
    for (size_t j = i;;) {
        j = (j + 1) & (m->cap - 1);
        const char *k = m->slots[j].key;
        if (!k) {
            break;
        }
        if (!between(i, home(m, k, strlen(k)), j)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (sioc__map_slot){NULL, NULL};
    m->count--;
    return v;
}

void *sioc__map_next(const sioc__map *m, size_t *pos)
{
    for (; *pos < m->cap; ++*pos) {
        if (m->slots[*pos].key) {
            return m->slots[(*pos)++].value;
        }
    }
    return NULL;
}

void sioc__map_each(const sioc__map *m, void (*fn)(void *value, void *arg), void *arg)
{
    void *v;
    for (size_t pos = 0; (v = sioc__map_next(m, &pos));) {
        fn(v, arg);
    }
}

void sioc__map_free(sioc__map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}
