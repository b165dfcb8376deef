/* Process-wide logging to stderr, filtered by level: a line of text, or (sioc__log_json) one JSON
 * object per line for log shippers, {"time", "level", "message"} and the fields a line has. */
#ifndef SIOC_UTIL_LOG_H
#define SIOC_UTIL_LOG_H

#include <stdbool.h>

#include "sioc.h"

extern int sioc__log_level;
extern bool sioc__log_json;

/* What a line is about, for the JSON form (NULL members are left out): the Engine.IO session id,
 * the socket id, the namespace, the client's address, the reason something ended. */
typedef struct sioc__log_fields {
    const char *sid;
    const char *socket;
    const char *nsp;
    const char *address;
    const char *reason;
} sioc__log_fields;

void sioc__log_write(sioc_log_level level, const sioc__log_fields *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sioc__log(level, ...)                                                                      \
    do {                                                                                           \
        if ((int)(level) <= sioc__log_level) {                                                     \
            sioc__log_write((level), NULL, __VA_ARGS__);                                           \
        }                                                                                          \
    } while (0)

/* The same with fields, which are only looked at when the level lets the line through:
 * sioc__log_with(SIOC_LOG_INFO, ((sioc__log_fields){.sid = ...}), "...", ...). */
#define sioc__log_with(level, fields, ...)                                                         \
    do {                                                                                           \
        if ((int)(level) <= sioc__log_level) {                                                     \
            sioc__log_fields log_fields_ = fields;                                                 \
            sioc__log_write((level), &log_fields_, __VA_ARGS__);                                   \
        }                                                                                          \
    } while (0)

#endif
