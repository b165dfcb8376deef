/* Process-wide logging to stderr, filtered by level. */
#ifndef SIOC_UTIL_LOG_H
#define SIOC_UTIL_LOG_H

#include "sioc.h"

extern int sioc__log_level;

void sioc__log_write(sioc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sioc__log(level, ...)                                                                      \
    do {                                                                                           \
        if ((int)(level) <= sioc__log_level) {                                                     \
            sioc__log_write((level), __VA_ARGS__);                                                 \
        }                                                                                          \
    } while (0)

#endif
