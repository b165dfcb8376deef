#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/jsonw.h"

int sioc__log_level = SIOC_LOG_WARN;
bool sioc__log_json;

/* A JSON string member; bytes that are not UTF-8 become '?', so that the line stays JSON. */
static void member(sioc__buf *b, const char *key, const char *value)
{
    if (!value) {
        return;
    }
    sioc__buf_append(b, ",\"", 2);
    sioc__buf_append(b, key, strlen(key));
    sioc__buf_append(b, "\":", 2);
    size_t n = strlen(value);
    if (sioc__json_append_string(b, value, n) == -2) {
        char copy[1024];
        size_t k = n < sizeof(copy) ? n : sizeof(copy) - 1;
        for (size_t i = 0; i < k; i++) {
            copy[i] = (unsigned char)value[i] < 0x80 ? value[i] : '?';
        }
        sioc__json_append_string(b, copy, k);
    }
}

static void write_json(const char *stamp, const char *level, const char *message,
                       const sioc__log_fields *f)
{
    sioc__buf b = {0};
    sioc__buf_append(&b, "{\"time\":\"", 9);
    sioc__buf_append(&b, stamp, strlen(stamp));
    sioc__buf_append(&b, "\"", 1);
    member(&b, "level", level);
    member(&b, "message", message);
    if (f) {
        member(&b, "sid", f->sid);
        member(&b, "socket", f->socket);
        member(&b, "namespace", f->nsp);
        member(&b, "address", f->address);
        member(&b, "reason", f->reason);
    }
    if (sioc__buf_append(&b, "}\n", 2) == 0) {
        fwrite(b.data, 1, b.len, stderr); /* one write: lines of processes do not interleave */
    }
    sioc__buf_free(&b);
}

void sioc__log_write(sioc_log_level level, const sioc__log_fields *fields, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (sioc__log_json) {
        write_json(stamp, names[level & 3], message, fields);
        return;
    }
    /* One write per line so concurrent processes do not interleave within a line. */
    fprintf(stderr, "%s sioc %s: %s\n", stamp, names[level & 3], message);
}
