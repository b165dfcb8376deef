#include "transport/cors.h"

#include <string.h>

const char *sioc__cors_match(const sioc_options *o, const regex_t *patterns, size_t npatterns,
                             const char *origin)
{
    for (size_t i = 0; i < o->cors_count; i++) {
        if (strcmp(o->cors_origins[i], "*") == 0) {
            return o->cors_credentials && origin ? origin : "*";
        }
        if (origin && strcmp(o->cors_origins[i], origin) == 0) {
            return origin;
        }
    }
    for (size_t i = 0; origin && i < npatterns; i++) {
        if (regexec(&patterns[i], origin, 0, NULL, 0) == 0) {
            return origin;
        }
    }
    if (o->cors_cb && o->cors_cb(origin, o->cors_data)) {
        return origin ? origin : "*";
    }
    return NULL;
}
