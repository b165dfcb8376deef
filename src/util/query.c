#include "util/query.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

size_t sioc__form_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            s[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
                   (lo = hex_value(s[i + 2])) >= 0) {
            s[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

/* Adds name → value; a name seen before collects its values in an array. Returns 0 or -1. */
static int add_pair(json_t *obj, const char *name, size_t nlen, const char *value, size_t vlen)
{
    json_t *v = json_stringn(value, vlen);
    json_t *key = json_stringn(name, nlen); /* only to check the name is UTF-8 */
    if (!v || !key) {
        json_decref(v);
        json_decref(key);
        return 0; /* not UTF-8: skipped */
    }
    json_decref(key);
    json_t *old = json_object_getn(obj, name, nlen);
    if (!old) {
        return json_object_setn_new(obj, name, nlen, v);
    }
    if (json_is_array(old)) {
        return json_array_append_new(old, v);
    }
    json_t *both = json_pack("[O,o]", old, v);
    return both ? json_object_setn_new(obj, name, nlen, both) : -1;
}

json_t *sioc__query_object(const char *query)
{
    json_t *obj = json_object();
    char *copy = strdup(query);
    if (!obj || !copy) {
        json_decref(obj);
        free(copy);
        return NULL;
    }
    int rc = 0;
    for (char *field = copy, *next; rc == 0 && field; field = next) {
        next = strchr(field, '&');
        if (next) {
            *next++ = '\0';
        }
        if (!*field) {
            continue;
        }
        char *eq = strchr(field, '=');
        char *value = eq ? eq + 1 : field + strlen(field);
        size_t nlen = sioc__form_decode(field, eq ? (size_t)(eq - field) : strlen(field));
        size_t vlen = sioc__form_decode(value, strlen(value));
        rc = add_pair(obj, field, nlen, value, vlen);
    }
    free(copy);
    if (rc < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
