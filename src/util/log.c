#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int sioc__log_level = SIOC_LOG_WARN;

void sioc__log_write(sioc_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    va_list ap;
    va_start(ap, fmt);
    /* One write per line so concurrent processes do not interleave within a line. */
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s sioc %s: ", stamp, names[level & 3]);
    if (n > 0 && (size_t)n < sizeof(line)) {
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    }
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
