/* permessage-deflate's zlib side (RFC 7692 §7.2). Both ends agreed to no context takeover
 * (wsframe.h), so every message stands alone: one raw-deflate compressor and one decompressor
 * serve every WebSocket, reset per message, and a broadcast is compressed once, its compressed
 * copy kept on the shared message for every connection it goes to. */
#include "transport/internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/log.h"

struct sioc__pmd {
    z_stream def, inf;
    bool def_ready, inf_ready;
};

static struct sioc__pmd *pmd_of(sioc__transport *tr)
{
    if (!tr->pmd) {
        tr->pmd = calloc(1, sizeof(*tr->pmd));
    }
    return tr->pmd;
}

sioc__msg *sioc__pmd_deflate(sioc__transport *tr, sioc__msg *m)
{
    if (m->deflated) {
        return m->deflated;
    }
    struct sioc__pmd *z = pmd_of(tr);
    if (!z) {
        return NULL;
    }
    /* -15: raw deflate, a 32 KiB window; ws's defaults otherwise. */
    if (!z->def_ready && deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                                      Z_DEFAULT_STRATEGY) != Z_OK) {
        return NULL;
    }
    z->def_ready = true;
    deflateReset(&z->def);
    size_t cap = deflateBound(&z->def, (uLong)m->len) + 16;
    sioc__msg *out = sioc__msg_alloc(cap, m->binary);
    if (!out) {
        return NULL;
    }
    z->def.next_in = (Bytef *)sioc__msg_payload(m);
    z->def.avail_in = (uInt)m->len;
    z->def.next_out = (Bytef *)sioc__msg_payload(out);
    z->def.avail_out = (uInt)cap;
    int rc = deflate(&z->def, Z_SYNC_FLUSH);
    size_t n = cap - z->def.avail_out;
    /* A sync flush ends with an empty stored block, 00 00 ff ff, which the sender leaves out. */
    if (rc != Z_OK || z->def.avail_in || z->def.avail_out == 0 || n < 4 ||
        memcmp(sioc__msg_payload(out) + n - 4, "\x00\x00\xff\xff", 4) != 0) {
        sioc__msg_unref(out);
        return NULL;
    }
    out->len = n - 4;
    sioc__msg_payload(out)[out->len] = '\0';
    out->ends_write = m->ends_write;
    m->deflated = out;
    return out;
}

int sioc__pmd_inflate(sioc__transport *tr, const void *in, size_t len, size_t max, sioc__buf *out)
{
    struct sioc__pmd *z = pmd_of(tr);
    if (!z || (!z->inf_ready && inflateInit2(&z->inf, -15) != Z_OK)) {
        return -3;
    }
    z->inf_ready = true;
    inflateReset(&z->inf);
    sioc__buf_reset(out);
    static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff}; /* what the sender left out */
    const unsigned char *parts[2] = {in, tail};
    size_t sizes[2] = {len, sizeof(tail)};
    for (int part = 0; part < 2; part++) {
        z->inf.next_in = (Bytef *)(uintptr_t)parts[part];
        z->inf.avail_in = (uInt)sizes[part];
        while (z->inf.avail_in) {
            if (sioc__buf_reserve(out, 16384) < 0) {
                return -3;
            }
            z->inf.next_out = (Bytef *)out->data + out->len;
            z->inf.avail_out = (uInt)(out->cap - out->len);
            int rc = inflate(&z->inf, Z_SYNC_FLUSH);
            out->len = out->cap - z->inf.avail_out;
            if (out->len > max) {
                return -2; /* as ws: maxPayload applies to the inflated message */
            }
            if (rc == Z_STREAM_END && part == 0 && z->inf.avail_in) {
                return -1; /* data after a final block */
            }
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
                return -1;
            }
            if (rc == Z_BUF_ERROR && z->inf.avail_out) {
                break; /* no progress possible: the rest needs more input */
            }
        }
    }
    return 0;
}

void sioc__pmd_free(sioc__transport *tr)
{
    if (tr->pmd) {
        if (tr->pmd->def_ready) {
            deflateEnd(&tr->pmd->def);
        }
        if (tr->pmd->inf_ready) {
            inflateEnd(&tr->pmd->inf);
        }
        free(tr->pmd);
        tr->pmd = NULL;
    }
}
