/* WebSocket frames (RFC 6455 §5) as a server reads and writes them: sans-I/O, so the rules are
 * unit tested and fuzzed. libwebsockets 4.1.6 performs the opening handshake; after the 101 sioc
 * reads and writes the frames itself, because lws accepts unmasked client frames and gives no
 * callback between a frame's header and its payload (a header declaring 2^40 bytes went
 * unanswered). The errors are the ones Node's `ws` closes with. */
#ifndef SIOC_TRANSPORT_WSFRAME_H
#define SIOC_TRANSPORT_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SIOC__WS_CONTINUATION = 0x0,
    SIOC__WS_TEXT = 0x1,
    SIOC__WS_BINARY = 0x2,
    SIOC__WS_CLOSE = 0x8,
    SIOC__WS_PING = 0x9,
    SIOC__WS_PONG = 0xA,
};

/* Close statuses (RFC 6455 §7.4.1). */
enum {
    SIOC__WS_NORMAL = 1000,
    SIOC__WS_GOING_AWAY = 1001,
    SIOC__WS_PROTOCOL_ERROR = 1002,
    SIOC__WS_NO_STATUS = 1005,
    SIOC__WS_INVALID_DATA = 1007,
    SIOC__WS_POLICY = 1008,
    SIOC__WS_TOO_BIG = 1009,
};

/* The most a control frame carries (§5.5). */
#define SIOC__WS_CONTROL_MAX 125

/* A frame header: 2 bytes, 2 or 8 of extended length, 4 of mask key. */
#define SIOC__WS_HEADER_MAX 14

/* Where the reader stands in a connection's input. Zero it to begin; sioc__ws_rx_free lets go of
 * what a control frame split over several reads left. */
typedef struct sioc__ws_rx {
    uint64_t remaining;               /* payload bytes of the current frame still to come */
    uint8_t *ctl;                     /* a control frame's payload gathered over reads (malloc'd) */
    uint8_t hdr[SIOC__WS_HEADER_MAX]; /* the header being gathered */
    uint8_t hlen;                     /* bytes of it so far */
    uint8_t mask[4];
    uint8_t mpos;    /* the mask byte the next payload byte takes */
    uint8_t opcode;  /* of the current frame */
    uint8_t message; /* TEXT or BINARY while a message is in progress, else 0 */
    uint8_t utf8;    /* the text message's UTF-8 decoder state (0: between characters) */
    uint8_t ctl_len;
    uint8_t hdr_first; /* the current frame's first header byte (FIN, RSV, opcode) */
    bool fin;
    bool in_payload; /* the header is complete */
    bool pmd;        /* permessage-deflate was agreed: RSV1 marks a compressed message */
    bool compressed; /* the message in progress is (its bytes are checked once inflated) */
} sioc__ws_rx;

typedef enum sioc__ws_event_kind {
    SIOC__WS_NEED = 0, /* the input is used up */
    SIOC__WS_FRAME,    /* a data frame's header: `opcode` (of the message), `length` declared */
    SIOC__WS_DATA,    /* message bytes, unmasked in place: `data`, `len`; `last` ends the message */
    SIOC__WS_PING_EV, /* a PING: `data`, `len` (its payload, to send back) */
    SIOC__WS_PONG_EV, /* a PONG */
    SIOC__WS_CLOSE_EV, /* a CLOSE: `code` (SIOC__WS_NO_STATUS without one), reason in `data` */
    SIOC__WS_ERROR,    /* the peer broke the protocol: close with `code`; nothing more is read */
} sioc__ws_event_kind;

typedef struct sioc__ws_event {
    sioc__ws_event_kind kind;
    uint8_t opcode;
    bool first;      /* FRAME: the message's first frame */
    bool compressed; /* FRAME, DATA: the message is compressed (permessage-deflate) */
    bool last;
    uint16_t code;
    uint64_t length;
    const uint8_t *data; /* borrowed: into the input, or into the reader until its next call */
    size_t len;
    const char *why; /* ERROR: for the log */
} sioc__ws_event;

/* Reads the next event from `*in` (`*len` bytes, unmasked in place: the buffer is the caller's and
 * writable), advancing both past what it used. Call until it returns SIOC__WS_NEED; after
 * SIOC__WS_ERROR the reader stays in error. Returns the event's kind. */
sioc__ws_event_kind sioc__ws_rx_next(sioc__ws_rx *rx, uint8_t **in, size_t *len,
                                     sioc__ws_event *ev);

void sioc__ws_rx_free(sioc__ws_rx *rx);

/* Writes the header of an unmasked, final frame of `opcode` carrying `len` bytes into `out`;
 * returns its length (2, 4 or 10). `rsv1`: a compressed message (permessage-deflate). */
size_t sioc__ws_header(uint8_t out[10], unsigned opcode, uint64_t len);
size_t sioc__ws_header_rsv1(uint8_t out[10], unsigned opcode, uint64_t len, bool rsv1);

/* Whether `p` holds complete, valid UTF-8 (a compressed text message, once inflated). */
bool sioc__ws_utf8_valid(const uint8_t *p, size_t n);

/* permessage-deflate (RFC 7692) as sioc agrees to it: whether the request's
 * Sec-WebSocket-Extensions (`offers`, NULL for none) holds a permessage-deflate offer sioc can
 * take: its parameters known, none twice, values in range, and the server's window not made
 * smaller than 2^15. The answer is then SIOC__WS_PMD_RESPONSE: no context takeover either way,
 * so that a message is compressed once for every connection and no connection keeps zlib state
 * between messages. */
#define SIOC__WS_PMD_RESPONSE                                                                      \
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
bool sioc__ws_pmd_acceptable(const char *offers);

/* Whether a close status may be sent by a peer (§7.4, as `ws` checks it). */
bool sioc__ws_status_valid(unsigned code);

#endif
