/* Content codings (src/util/compress.c): Accept-Encoding read as Node's
 * accepts().encodings(["gzip", "deflate"]) reads it (the expectations below are the negotiator
 * package's answers, npm), and what is compressed inflates back to the same bytes with its wrapper.
 */
#include <check.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "util/compress.h"

START_TEST(accept_encoding_as_negotiator_reads_it)
{
    static const struct {
        const char *header;
        sioc__encoding want;
    } cases[] = {
        {NULL, SIOC__ENC_IDENTITY},
        {"", SIOC__ENC_IDENTITY},
        {"gzip", SIOC__ENC_GZIP},
        {"deflate", SIOC__ENC_DEFLATE},
        {"gzip, deflate", SIOC__ENC_GZIP},
        {"deflate, gzip", SIOC__ENC_DEFLATE},
        {"gzip;q=0.5, deflate", SIOC__ENC_DEFLATE},
        {"gzip;q=0, *", SIOC__ENC_DEFLATE},
        {"*", SIOC__ENC_GZIP},
        {"br", SIOC__ENC_IDENTITY},
        {"identity", SIOC__ENC_IDENTITY},
        {"gzip;q=0", SIOC__ENC_IDENTITY},
        {"GZIP", SIOC__ENC_GZIP},
        {" deflate ;q=0.8 , gzip;q=0.8", SIOC__ENC_DEFLATE},
        {"*;q=0.5, deflate;q=0.5", SIOC__ENC_DEFLATE},
        {"deflate;q=0.5, *", SIOC__ENC_GZIP},
        {"gzip, deflate, br, zstd", SIOC__ENC_GZIP},
        {"x;q=1, *;q=0", SIOC__ENC_IDENTITY},
        {"gzip;q=0.001", SIOC__ENC_GZIP},
        {"gzip;q=1.5", SIOC__ENC_GZIP},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(sioc__accept_encoding(cases[i].header) == cases[i].want, "%s",
                      cases[i].header ? cases[i].header : "(none)");
    }
    ck_assert_str_eq(sioc__encoding_name(SIOC__ENC_GZIP), "gzip");
    ck_assert_str_eq(sioc__encoding_name(SIOC__ENC_DEFLATE), "deflate");
    ck_assert_ptr_null(sioc__encoding_name(SIOC__ENC_IDENTITY));
}
END_TEST

/* Inflates `in` with zlib's automatic gzip/zlib detection; the wrapper seen in *gzip. */
static size_t inflate_all(const sioc__buf *in, unsigned char *out, size_t cap, bool *gzip)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 32), Z_OK);
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    *gzip = (unsigned char)in->data[0] == 0x1f && (unsigned char)in->data[1] == 0x8b;
    size_t n = cap - z.avail_out;
    inflateEnd(&z);
    return n;
}

START_TEST(compressed_bytes_inflate_back)
{
    static unsigned char text[20000], back[20000];
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = (unsigned char)("4[\"serverMsg\",\"hello\"]\x1e"[i % 24]);
    }
    sioc__buf out = {0};
    bool gzip;
    ck_assert_int_eq(sioc__compress(SIOC__ENC_GZIP, text, sizeof(text), &out), 0);
    ck_assert_uint_lt(out.len, sizeof(text) / 10);
    ck_assert_uint_eq(inflate_all(&out, back, sizeof(back), &gzip), sizeof(text));
    ck_assert(gzip);
    ck_assert_int_eq(memcmp(back, text, sizeof(text)), 0);
    ck_assert_int_eq(sioc__compress(SIOC__ENC_DEFLATE, text, sizeof(text), &out), 0);
    ck_assert_int_eq((unsigned char)out.data[0], 0x78); /* zlib's header */
    ck_assert_uint_eq(inflate_all(&out, back, sizeof(back), &gzip), sizeof(text));
    ck_assert(!gzip);
    ck_assert_int_eq(memcmp(back, text, sizeof(text)), 0);
    ck_assert_int_eq(sioc__compress(SIOC__ENC_GZIP, "", 0, &out), 0); /* empty: still a stream */
    ck_assert_uint_gt(out.len, 0);
    ck_assert_int_eq(sioc__compress(SIOC__ENC_IDENTITY, text, 10, &out), -1);
    sioc__buf_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util_compress");
    TCase *tc = tcase_create("compress");
    tcase_add_test(tc, accept_encoding_as_negotiator_reads_it);
    tcase_add_test(tc, compressed_bytes_inflate_back);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
