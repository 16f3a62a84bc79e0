/*
 * libFuzzer target for one decoder, chosen at build time by FUZZ_MSG, or
 * the three event decoders with FUZZ_EVENTS (tests/fuzz/CMakeLists.txt
 * builds one binary per decoder function).
 *
 * Beyond "no crash, leak or sanitizer report", every input that decodes
 * must survive both encoders and decode again to the same message: its JSON
 * and Avro encodings are re-encoded from the re-decoded struct and must be
 * byte for byte the same. A violation aborts, which libFuzzer reports.
 */
#include "inv_codec.h"
#include "test_codec_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if !defined(FUZZ_MSG) && !defined(FUZZ_EVENTS)
#error "define FUZZ_MSG as a message type (INV_MSG_...), or FUZZ_EVENTS"
#endif

static inv_schema_resolver_t resolver;
static inv_decoder_t *dec, *dec2;

#ifdef FUZZ_EVENTS
/* Schema id FUZZ_WRITER_ID is a SaleEvent written with another schema, so
 * that the event decoders also run schema resolution: fields reordered, an
 * optional one added, location_id optional, quantity an int, Channel's
 * symbols reordered with one more. The other ids are the static ones. */
#define FUZZ_WRITER_ID 100
static const char fuzz_writer[] =
    "{\"type\":\"record\",\"name\":\"SaleEvent\",\"fields\":["
    "{\"name\":\"lines\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"SaleLine\","
    "\"fields\":[{\"name\":\"quantity\",\"type\":\"int\"},{\"name\":\"sku\",\"type\":\"string\"}]}}},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"channel\",\"type\":{\"type\":\"enum\",\"name\":\"Channel\","
    "\"symbols\":[\"kiosk\",\"b2b\",\"store\",\"online\",\"marketplace\"]}},"
    "{\"name\":\"occurred_at\",\"type\":\"long\"},{\"name\":\"source\",\"type\":\"string\"},"
    "{\"name\":\"location_id\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"event_id\",\"type\":\"string\"}]}";
static inv_schema_resolver_t static_resolver;

static int fuzz_writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len, char *errstr,
                              size_t errstr_size) {
    (void)r;
    if (id != FUZZ_WRITER_ID)
        return static_resolver.writer_schema(&static_resolver, id, json, len, errstr, errstr_size);
    *json = fuzz_writer;
    *len = sizeof(fuzz_writer) - 1;
    return 0;
}
#endif
static inv_encoder_t *enc[2];
static inv_buf_t first[2], second;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_options(void);

/* Avro-C places its value instances 4 bytes into their allocations, so the
 * pointers inside a live decoder or encoder are not 8-byte aligned and
 * LeakSanitizer, which by default only follows aligned pointers, reports
 * everything they hold as leaked. */
const char *__lsan_default_options(void) { return "use_unaligned=1"; }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[512];
    (void)argc;
    (void)argv;
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
#ifdef FUZZ_EVENTS
    static_resolver = resolver;
    resolver.writer_schema = fuzz_writer_schema;
#endif
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    dec2 = inv_decoder_new(&resolver, err, sizeof(err));
    enc[0] = inv_encoder_new(INV_FORMAT_JSON, &resolver, err, sizeof(err));
    enc[1] = inv_encoder_new(INV_FORMAT_AVRO, &resolver, err, sizeof(err));
    if (!dec || !dec2 || !enc[0] || !enc[1]) {
        fprintf(stderr, "fuzz setup: %s\n", err);
        abort();
    }
    inv_buf_init(&first[0]);
    inv_buf_init(&first[1]);
    inv_buf_init(&second);
    return 0;
}

static void round_trip(inv_msg_type_t t, const any_msg_t *m) {
    char err[512];
    for (int f = 0; f < 2; f++) {
        const char *format = f ? "avro" : "json";
        any_msg_t back;
        if (any_encode(enc[f], t, m, &first[f], err, sizeof(err))) {
            fprintf(stderr, "decoded %s does not encode as %s: %s\n", inv_msg_type_name(t), format, err);
            abort();
        }
        if (any_decode(dec2, t, first[f].data, first[f].len, &back, err, sizeof(err))) {
            fprintf(stderr, "%s encoded as %s does not decode: %s\n", inv_msg_type_name(t), format, err);
            abort();
        }
        if (any_encode(enc[f], t, &back, &second, err, sizeof(err)) || second.len != first[f].len ||
            memcmp(second.data, first[f].data, second.len) != 0) {
            fprintf(stderr, "%s: the %s round trip changed the message\n", inv_msg_type_name(t), format);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    any_msg_t m;
#ifdef FUZZ_EVENTS
    /* one target for the three event decoders: same bytes, each kind */
    for (int t = INV_MSG_SALE_EVENT; t <= INV_MSG_RESTOCK_EVENT; t++)
        if (any_decode(dec, (inv_msg_type_t)t, data, size, &m, err, sizeof(err)) == 0)
            round_trip((inv_msg_type_t)t, &m);
#else
    if (any_decode(dec, FUZZ_MSG, data, size, &m, err, sizeof(err)) == 0)
        round_trip(FUZZ_MSG, &m);
#endif
    return 0;
}
