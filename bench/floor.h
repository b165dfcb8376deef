/*
 * What the two floor servers (floor.c, floor-lws.c) say and read alike: a server frame's header,
 * the open and CONNECT packets, and the Socket.IO packets of bench/run.py's loads. Not a product
 * (bench/README.md, "At the floor").
 */
#ifndef FLOOR_H
#define FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define FLOOR_PING_INTERVAL_MS 25000
#define FLOOR_MAX_MESSAGE (1000 * 1000)

/* A server frame's header (FIN, `opcode`, unmasked) for `n` bytes of payload; its length. */
static inline size_t floor_frame_header(unsigned char h[10], int opcode, size_t n)
{
    h[0] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        h[1] = (unsigned char)n;
        return 2;
    }
    if (n < 65536) {
        h[1] = 126, h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++) {
        h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    }
    return 10;
}

/* The Engine.IO open packet for session `sid`; its length. */
static inline size_t floor_open_packet(char out[160], const char *sid)
{
    int n = snprintf(out, 160,
                     "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":20000,"
                     "\"maxPayload\":%d}",
                     sid, FLOOR_PING_INTERVAL_MS, FLOOR_MAX_MESSAGE);
    return (size_t)n;
}

/* The CONNECT answer for session `sid` (the socket id: the sid with another first letter). */
static inline size_t floor_connect_answer(char out[64], const char *sid)
{
    return (size_t)snprintf(out, 64, "40{\"sid\":\"S%s\"}", sid + 1);
}

/* The relay's frame head for `n` bytes of what followed `42["msg"`: the header, then
 * `42["serverMsg"`. Its length. */
static inline size_t floor_relay_head(unsigned char h[32], size_t n)
{
    static const char prefix[] = "42[\"serverMsg\"";
    size_t hl = floor_frame_header(h, 1, sizeof(prefix) - 1 + n);
    memcpy(h + hl, prefix, sizeof(prefix) - 1);
    return hl + sizeof(prefix) - 1;
}

typedef enum floor_kind { FLOOR_OTHER, FLOOR_CONNECT, FLOOR_MSG, FLOOR_ECHO } floor_kind;

/* FLOOR_MSG: `body` is what followed `42["msg"`; FLOOR_ECHO: `head` is the ack's start,
 * `43<id>[`, and `body` the arguments that follow it. */
typedef struct floor_packet {
    const char *body;
    size_t len;
    char head[32];
    size_t head_len;
} floor_packet;

/* A Socket.IO packet (an Engine.IO message without its '4'): CONNECT, an event `msg`, an event
 * `echo` with an ack id, or anything else (ignored). */
static inline floor_kind floor_read_packet(const char *p, size_t n, floor_packet *out)
{
    if (n >= 1 && p[0] == '0') {
        return FLOOR_CONNECT;
    }
    if (n < 2 || p[0] != '2') {
        return FLOOR_OTHER;
    }
    size_t i = 1;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        i++;
    }
    size_t id_len = i - 1 < 20 ? i - 1 : 20;
    if (n - i > 7 && memcmp(p + i, "[\"msg\"", 6) == 0) {
        out->body = p + i + 6, out->len = n - i - 6;
        return FLOOR_MSG;
    }
    if (!id_len || n - i <= 8 || memcmp(p + i, "[\"echo\"", 7) != 0) {
        return FLOOR_OTHER;
    }
    /* 42<id>["echo",a,b] -> 43<id>[a,b] */
    memcpy(out->head, "43", 2);
    memcpy(out->head + 2, p + 1, id_len);
    out->head_len = 2 + id_len;
    out->head[out->head_len++] = '[';
    out->body = p + i + 7, out->len = n - i - 7;
    if (out->len && out->body[0] == ',') {
        out->body++, out->len--;
    }
    return FLOOR_ECHO;
}

/* The command line: --port P, --host H (127.0.0.1), --write W (floor-lws's; NULL if not given). */
typedef struct floor_args {
    int port;
    const char *host;
    const char *write;
} floor_args;

/* Reads the command line and raises the descriptor limit to its hard limit (the idle scenario
 * holds 19,000 connections); returns the arguments, and in `*fds` the limit now in force. */
static inline floor_args floor_start(int argc, char **argv, rlim_t *fds)
{
    floor_args a = {.port = 0, .host = "127.0.0.1", .write = NULL};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) {
            a.port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--host") == 0) {
            a.host = argv[i + 1];
        } else if (strcmp(argv[i], "--write") == 0) {
            a.write = argv[i + 1];
        }
    }
    struct rlimit rl = {0, 0};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    *fds = rl.rlim_cur;
    return a;
}

#endif
