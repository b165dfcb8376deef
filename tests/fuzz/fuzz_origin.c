/* Fuzz target: CORS origin matching (src/transport/cors.c), as the transport calls it with a
 * request's Origin header. The first byte picks one of four configurations (a list, a list with "*"
 * and credentials, patterns, a callback); the rest is the Origin. Whatever is allowed must be the
 * origin itself or "*", never "*" with credentials, and a listed origin must always be allowed. */
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/cors.h"
#include "sioc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool team_origins(const char *origin, void *user_data)
{
    return origin && strstr(origin, ".team.example") != NULL;
}

static sioc_options *configs[4];
static regex_t patterns[2];
static size_t npatterns;

static void set_up(void)
{
    for (int i = 0; i < 4; i++) {
        sioc_options_new(&configs[i]);
    }
    sioc_options_add_cors_origin(configs[0], "http://a.example");
    sioc_options_add_cors_origin(configs[0], "https://b.example:8443");
    sioc_options_add_cors_origin(configs[1], "http://a.example");
    sioc_options_add_cors_origin(configs[1], "*");
    sioc_options_set_cors_credentials(configs[1], true);
    sioc_options_add_cors_origin_pattern(configs[2],
                                         "^https?://([a-z0-9-]+\\.)?example\\.com(:[0-9]+)?$");
    sioc_options_add_cors_origin_pattern(configs[2], "^http://localhost:[0-9]{2,5}$");
    regcomp(&patterns[0], "^https?://([a-z0-9-]+\\.)?example\\.com(:[0-9]+)?$",
            REG_EXTENDED | REG_NOSUB);
    regcomp(&patterns[1], "^http://localhost:[0-9]{2,5}$", REG_EXTENDED | REG_NOSUB);
    npatterns = 2;
    sioc_options_set_cors_origin_callback(configs[3], team_origins, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!configs[0]) {
        set_up();
    }
    if (size == 0) {
        return 0;
    }
    int which = data[0] % 4;
    char *origin = malloc(size); /* the header's value: a C string, as lws hands it over */
    if (!origin) {
        return 0;
    }
    memcpy(origin, data + 1, size - 1);
    origin[size - 1] = '\0';
    const sioc_options *o = configs[which];
    const char *allow =
        sioc__cors_match(o, which == 2 ? patterns : NULL, which == 2 ? npatterns : 0, origin);
    if (allow && allow != origin && strcmp(allow, "*") != 0) {
        abort(); /* only the origin itself or "*" */
    }
    if (which == 1 && allow != origin) {
        abort(); /* "*" with credentials reflects the origin */
    }
    if (which == 0 && strcmp(origin, "http://a.example") == 0 && allow != origin) {
        abort();
    }
    if (sioc__cors_match(o, which == 2 ? patterns : NULL, which == 2 ? npatterns : 0, NULL) &&
        which != 1 && which != 3) {
        abort(); /* a request without Origin is allowed only by "*" (or a callback that says so) */
    }
    free(origin);
    return 0;
}
