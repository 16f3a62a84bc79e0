/*
 * inv_codec: every malformed input is rejected with the exact message that
 * becomes the DLQ's inv.error header. One table row per case: the message
 * type expected, the input (JSON text, an Avro spec in the notation of
 * test_codec_util.h, or a generated input), the error.
 */
#include "inv_codec.h"
#include "inv_test.h"
#include "test_codec_util.h"

typedef enum { IN_JSON, IN_AVRO, IN_GEN } input_kind_t;

typedef struct {
    inv_msg_type_t type;
    input_kind_t kind;
    const char *input; /* JSON text, Avro spec, or generator name */
    const char *error;
} error_case_t;

#define SALE(body)                                                                                          \
    "{\"event_id\":\"T-1\",\"source\":\"pos\",\"location_id\":\"store-1\",\"channel\":\"store\","              \
    "\"occurred_at\":\"2026-11-22T10:00:00Z\"," body "}"
#define SALE_LINES(lines) SALE("\"lines\":[" lines "]")
#define LINE "{\"sku\":\"SKU-1\",\"quantity\":1}"
#define RETURN(lines)                                                                                       \
    "{\"event_id\":\"R-1\",\"source\":\"web\",\"location_id\":\"dc-1\",\"channel\":\"online\","               \
    "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"lines\":[" lines "]}"
#define RESTOCK(kind, lines)                                                                                \
    "{\"event_id\":\"G-1\",\"source\":\"wms\",\"location_id\":\"dc-1\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," \
    "\"kind\":\"" kind "\",\"lines\":[" lines "]}"
#define MOVE(channel, type, q)                                                                              \
    "{\"movement_id\":\"m\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":" channel ",\"type\":\"" type "\"," \
    "\"quantity\":" q ",\"occurred_at\":\"2026-11-22T10:00:00Z\",\"source\":\"s\"}"
#define AVRO_SALE_HEAD "@1 s:T-1 s:pos s:store-1 e:0 l:1795341600000"

static const error_case_t cases[] = {
    /* framing */
    {INV_MSG_SALE_EVENT, IN_JSON, "", "empty message"},
    {INV_MSG_SALE_EVENT, IN_GEN, "oversized", "message of 1048577 bytes exceeds the limit of 1048576 bytes"},
    /* not JSON */
    {INV_MSG_SALE_EVENT, IN_JSON, "   ", "not JSON: '[' or '{' expected near end of file at line 1 column 3"},
    {INV_MSG_SALE_EVENT, IN_JSON, "hello", "not JSON: '[' or '{' expected near 'hello' at line 1 column 5"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\"", "not JSON: '}' expected near end of file at line 1 column 17"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(LINE) " x", "not JSON: end of file expected near 'x' at line 1 column 153"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"event_id\":\"T-2\"}",
     "not JSON: duplicate object key near '\"event_id\"' at line 1 column 28"},
    {INV_MSG_SALE_EVENT, IN_JSON, "\x01\x02\xff\xfe", "not JSON: '[' or '{' expected near '?' at line 1 column 1"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-\xff\"}",
     "not JSON: unable to decode byte 0xff near '\"T-' at line 1 column 15"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-\\u0000\"}",
     "not JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"T-\\u0000\"' at line 1 column 22"},
    {INV_MSG_SALE_EVENT, IN_GEN, "deep", "not JSON: maximum parsing depth reached near '[' at line 1 column 2060"},
    {INV_MSG_SALE_EVENT, IN_JSON, "[" SALE_LINES(LINE) "]", "expected a JSON object, got array"},
    /* missing fields and wrong types */
    {INV_MSG_SALE_EVENT, IN_JSON, "{}", "event_id: missing, expected a string"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":17}", "event_id: expected a string, got integer"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"\"}", "event_id: empty string, expected 1 to 256 bytes"},
    {INV_MSG_SALE_EVENT, IN_GEN, "long_event_id", "event_id: 257 bytes, expected at most 256"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":null}", "source: expected a string, got null"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\"}", "location_id: missing, expected a string"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":[\"x\"]}",
     "location_id: expected a string, got array"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\"}",
     "channel: missing, expected one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"shop\"}",
     "channel: \"shop\" is not one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"Store\"}",
     "channel: \"Store\" is not one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":3}",
     "channel: expected a string, got integer"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"a very long \\\"channel\\\" \\n value that goes on and on\"}",
     "channel: \"a very long \\\"channel\\\" \\u000a value that goes ...\" is not one of store, online, marketplace, b2b"},
    /* times */
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\"}",
     "occurred_at: missing, expected an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"yesterday\"}",
     "occurred_at: \"yesterday\" is not an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":1795341600000}",
     "occurred_at: expected an RFC 3339 time string, got integer"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"2026-13-01T00:00:00Z\"}",
     "occurred_at: \"2026-13-01T00:00:00Z\" is not an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"2026-02-30T00:00:00Z\"}",
     "occurred_at: \"2026-02-30T00:00:00Z\" is not an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"2026-11-22T10:00:00\"}",
     "occurred_at: \"2026-11-22T10:00:00\" is not an RFC 3339 time"},
    /* lines */
    {INV_MSG_SALE_EVENT, IN_JSON, SALE("\"x\":1"), "lines: missing, expected an array"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(""), "lines: empty, expected 1 to 1000 lines"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE("\"lines\":" LINE), "lines: expected an array, got object"},
    {INV_MSG_SALE_EVENT, IN_GEN, "1001_lines", "lines: 1001 lines, expected at most 1000"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(LINE ",\"SKU-2\""), "lines[1]: expected an object, got string"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"quantity\":1}"), "lines[0].sku: missing, expected a string"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"\",\"quantity\":1}"),
     "lines[0].sku: empty string, expected 1 to 256 bytes"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\"}"), "lines[0].quantity: missing, expected an integer"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(LINE ",{\"sku\":\"SKU-1\",\"quantity\":\"2\"}"),
     "lines[1].quantity: expected an integer, got string"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":2.5}"),
     "lines[0].quantity: expected an integer, got 2.5"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":2.0}"),
     "lines[0].quantity: expected an integer, got 2.0"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":1e3}"),
     "lines[0].quantity: expected an integer, got 1000.0"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":true}"),
     "lines[0].quantity: expected an integer, got boolean"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":9223372036854775808}"),
     "not JSON: too big integer near '9223372036854775808' at line 1 column 166"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":-9223372036854775809}"),
     "not JSON: too big negative integer near '-9223372036854775809' at line 1 column 167"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":1e400}"),
     "not JSON: real number overflow near '1e400' at line 1 column 152"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(LINE "," LINE ",{\"sku\":\"SKU-3\",\"quantity\":-3}"),
     "lines[2].quantity: -3 is not positive"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":0}"), "lines[0].quantity: 0 is not positive"},
    /* returns */
    {INV_MSG_RETURN_EVENT, IN_JSON, RETURN(LINE), "lines[0].disposition: missing, expected one of resellable, damaged"},
    {INV_MSG_RETURN_EVENT, IN_JSON, RETURN("{\"sku\":\"SKU-1\",\"quantity\":1,\"disposition\":\"broken\"}"),
     "lines[0].disposition: \"broken\" is not one of resellable, damaged"},
    {INV_MSG_RETURN_EVENT, IN_JSON, RETURN("{\"sku\":\"SKU-1\",\"quantity\":-1,\"disposition\":\"damaged\"}"),
     "lines[0].quantity: -1 is not positive"},
    {INV_MSG_RETURN_EVENT, IN_JSON,
     "{\"event_id\":\"R-1\",\"source\":\"web\",\"location_id\":\"dc-1\",\"channel\":\"online\","
     "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"original_event_id\":1001,\"lines\":[]}",
     "original_event_id: expected a string or null, got integer"},
    {INV_MSG_RETURN_EVENT, IN_JSON,
     "{\"event_id\":\"R-1\",\"source\":\"web\",\"location_id\":\"dc-1\",\"channel\":\"online\","
     "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"original_event_id\":\"\",\"lines\":[]}",
     "original_event_id: empty string, expected 1 to 256 bytes"},
    /* restocks */
    {INV_MSG_RESTOCK_EVENT, IN_JSON, RESTOCK("gift", LINE), "kind: \"gift\" is not one of receipt, adjustment, count"},
    {INV_MSG_RESTOCK_EVENT, IN_JSON, RESTOCK("receipt", "{\"sku\":\"SKU-1\",\"quantity\":-5}"),
     "lines[0].quantity: -5 is not positive"},
    {INV_MSG_RESTOCK_EVENT, IN_JSON, RESTOCK("adjustment", LINE ",{\"sku\":\"SKU-1\",\"quantity\":0}"),
     "lines[1].quantity: 0 is not allowed, an adjustment must be non-zero"},
    {INV_MSG_RESTOCK_EVENT, IN_JSON, RESTOCK("count", "{\"sku\":\"SKU-1\",\"quantity\":-1}"),
     "lines[0].quantity: -1 is negative, a count must be 0 or more"},
    /* outputs read back */
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("\"store\"", "receipt", "5"), "channel: \"store\", a receipt movement has none (null)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("null", "sale", "5"),
     "channel: null, a sale movement needs one of store, online, marketplace, b2b"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("null", "transfer", "5"),
     "type: \"transfer\" is not one of sale, return_resellable, return_damaged, receipt, adjustment, count"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("\"online\"", "return_damaged", "0"), "quantity: 0 is not positive"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("null", "count", "-2"), "quantity: -2 is negative, a count must be 0 or more"},
    {INV_MSG_REORDER_POLICY, IN_JSON,
     "{\"sku\":\"S\",\"location_id\":\"*\",\"reorder_point\":10,\"reorder_quantity\":-24,\"safety_stock\":4}",
     "reorder_quantity: -24 is negative"},
    {INV_MSG_SHORTAGE_EVENT, IN_JSON,
     "{\"event_id\":\"e\",\"sku\":\"S\",\"location_id\":\"*\",\"state\":\"none\",\"available\":0,\"threshold\":0,"
     "\"occurred_at\":\"2026-11-22T10:00:00Z\"}",
     "state: \"none\" is not one of low, out_of_stock, restored"},
    {INV_MSG_STOCK_LEVEL, IN_JSON,
     "{\"sku\":\"S\",\"location_id\":\"*\",\"on_hand\":1,\"unsellable\":0,\"on_order\":0,\"available\":1,"
     "\"updated_at\":\"2026-11-22T10:00:00Z\"}",
     "version: missing, expected an integer"},
    /* Avro framing */
    {INV_MSG_SALE_EVENT, IN_AVRO, "x:000000", "truncated Avro header: 3 bytes, expected at least 5"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@17 s:T-1", "unknown schema id 17"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "x:00ffffffff s:T-1", "unknown schema id -1"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@4 s:m", "schema id 4 is StockMovement, expected SaleEvent"},
    {INV_MSG_RETURN_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:0", "schema id 1 is SaleEvent, expected ReturnEvent"},
    /* Avro bodies */
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1", "event_id: truncated Avro body at byte 5"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 s:pos S:20 x:41424344",
     "location_id: truncated Avro body at byte 14 (string of 20 bytes, 4 left)"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 S:-3", "source: Avro string length -3 at byte 9 is negative"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 S:2147483647", "event_id: truncated Avro body at byte 10 (string of 2147483647 bytes, 0 left)"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 s:pos s:store-1 e:7 l:0 a:0",
     "channel: Avro enum index 7 at byte 21 is not one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 s:pos s:store-1 e:-1 l:0 a:0",
     "channel: Avro enum index -1 at byte 21 is not one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 s:pos s:store-1 e:0 x:ffffffffffffffffffff01 a:0",
     "occurred_at: malformed Avro varint at byte 22"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 s:pos s:store-1 e:0 x:8080", "occurred_at: truncated Avro body at byte 22"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1000000 s:SKU-1 l:1 a:0",
     "lines: Avro block of 1000000 items at byte 28 is longer than the 8 bytes left"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " x:ffffffffffffffffff01",
     "lines: Avro block count -9223372036854775808 at byte 28 is out of range"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:2 s:SKU-1 l:1 s:SKU-2", "lines[1].quantity: truncated Avro body at byte 42"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 s:SKU-1 l:1 a:0 x:0000",
     "2 trailing bytes after the Avro record at byte 37"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:0", "lines: empty, expected 1 to 1000 lines"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:3 s:SKU-1 l:1 s:SKU-2 l:1 s:SKU-3 l:-3 a:0",
     "lines[2].quantity: -3 is not positive"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 S:3 x:41ff42 l:1 a:0",
     "lines[0].sku: not valid UTF-8 at byte 1 of the string"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 S:3 x:410042 l:1 a:0", "lines[0].sku: contains a NUL byte"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1 s:T-1 s:pos s:store-1 e:0 l:253402300800000 a:1 s:SKU-1 l:1 a:0",
     "occurred_at: 253402300800000 ms is outside the years 0000 to 9999"},
    {INV_MSG_RETURN_EVENT, IN_AVRO, "@2 s:R-1 s:web s:dc-1 e:1 l:0 u:2 s:T-1 a:0",
     "original_event_id: Avro union branch 2 at byte 20 is out of range 0 to 1"},
    {INV_MSG_RETURN_EVENT, IN_AVRO, "@2 s:R-1 s:web s:dc-1 e:1 l:0 u:0 a:1 s:SKU-1 l:1 e:2 a:0",
     "lines[0].disposition: Avro enum index 2 at byte 29 is not one of resellable, damaged"},
    {INV_MSG_STOCK_MOVEMENT, IN_AVRO, "@4 s:m s:S s:L u:1 e:0 e:3 l:1 l:0 s:s",
     "channel: \"store\", a receipt movement has none (null)"},
    {INV_MSG_SALE_EVENT, IN_GEN, "avro_garbage", "event_id: Avro string length -1 at byte 5 is negative"},
};

/* Inputs too big or too repetitive to write out. */
static unsigned char *generate(const char *name, size_t *len)
{
    unsigned char *buf = NULL;
    if (strcmp(name, "oversized") == 0) {
        *len = INV_CODEC_MAX_MESSAGE + 1;
        buf = malloc(*len);
        memset(buf, ' ', *len);
        buf[0] = '{';
        buf[*len - 1] = '}';
    } else if (strcmp(name, "deep") == 0) {
        const char *head = "{\"event_id\":[";
        size_t hl = strlen(head);
        *len = hl + 3000;
        buf = malloc(*len);
        memcpy(buf, head, hl);
        memset(buf + hl, '[', 3000);
    } else if (strcmp(name, "long_event_id") == 0) {
        *len = 14 + 257 + 2;
        buf = malloc(*len);
        memcpy(buf, "{\"event_id\":\"", 13);
        memset(buf + 13, 'e', 257);
        memcpy(buf + 13 + 257, "\"}", 2);
        *len = 13 + 257 + 2;
    } else if (strcmp(name, "1001_lines") == 0) {
        const char *head = SALE("\"lines\":[");
        size_t hl = strlen(head) - 1, ll = strlen(LINE);
        *len = hl + 1001 * (ll + 1) + 1;
        buf = malloc(*len);
        memcpy(buf, head, hl);
        for (int i = 0; i < 1001; i++) {
            memcpy(buf + hl + (size_t)i * (ll + 1), LINE, ll);
            buf[hl + (size_t)i * (ll + 1) + ll] = i < 1000 ? ',' : ']';
        }
        buf[*len - 1] = '}';
    } else if (strcmp(name, "avro_garbage") == 0) {
        *len = 64;
        buf = malloc(*len);
        memset(buf, 0xff, *len);
        memcpy(buf, "\x00\x00\x00\x00\x01", 5);
        buf[5] = 0x01; /* zigzag -1 */
    }
    return buf;
}

static void test_malformed_inputs_are_rejected_with_exact_messages(void)
{
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    char err[512];
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);
    size_t n = sizeof(cases) / sizeof(cases[0]);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const error_case_t *c = &cases[i];
        unsigned char *buf = NULL;
        size_t len = 0;
        if (c->kind == IN_JSON) {
            len = strlen(c->input);
            buf = malloc(len + 1);
            memcpy(buf, c->input, len + 1);
        } else if (c->kind == IN_AVRO) {
            buf = malloc(4096);
            len = avro_spec(buf, 4096, c->input);
        } else {
            buf = generate(c->input, &len);
        }
        if (!buf || (c->kind != IN_JSON && len == 0)) {
            fprintf(stderr, "  case %zu: bad input spec %s\n", i, c->input);
            failed++;
            free(buf);
            continue;
        }
        any_msg_t m;
        strcpy(err, "(none)");
        int rc = any_decode(d, c->type, buf, len, &m, err, sizeof(err));
        if (rc != -1 || strcmp(err, c->error) != 0) {
            fprintf(stderr, "  case %zu (%s, %.60s):\n    want: %s\n    got:  %s (rc %d)\n", i,
                    inv_msg_type_name(c->type), c->input, c->error, err, rc);
            failed++;
        }
        free(buf);
    }
    inv_decoder_destroy(d);
    INV_ASSERT(failed == 0, "%d of %zu cases failed", failed, n);
    INV_ASSERT(n >= 40, "only %zu cases", n);
    fprintf(stderr, "     %zu malformed inputs\n", n);
}

/* A failed decode leaves a zeroed struct, never half a message. */
static void test_a_failed_decode_leaves_no_stale_values(void)
{
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    char err[256];
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);
    inv_event_t ev;
    const char *good = SALE_LINES(LINE);
    const char *bad = SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":\"x\"}");
    int rc1 = inv_decoder_decode_event(d, INV_EVENT_SALE, good, strlen(good), &ev, err, sizeof(err));
    int rc2 = inv_decoder_decode_event(d, INV_EVENT_SALE, bad, strlen(bad), &ev, err, sizeof(err));
    inv_decoder_destroy(d);
    INV_ASSERT(rc1 == 0 && rc2 == -1, "%d %d", rc1, rc2);
    INV_ASSERT(ev.line_count == 0 && ev.lines == NULL && ev.event_id == NULL, "line_count %zu", ev.line_count);
}

static void test_error_strings_fit_small_buffers(void)
{
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    char err[16];
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);
    inv_event_t ev;
    memset(err, 'x', sizeof(err));
    int rc = inv_decoder_decode_event(d, INV_EVENT_SALE, "{}", 2, &ev, err, sizeof(err));
    int rc2 = inv_decoder_decode_event(d, INV_EVENT_SALE, "{}", 2, &ev, NULL, 0);
    inv_decoder_destroy(d);
    INV_ASSERT(rc == -1 && rc2 == -1, "%d %d", rc, rc2);
    INV_ASSERT_EQ_STR("event_id: missi", err);
}

int main(void)
{
    INV_RUN(test_malformed_inputs_are_rejected_with_exact_messages);
    INV_RUN(test_a_failed_decode_leaves_no_stale_values);
    INV_RUN(test_error_strings_fit_small_buffers);
    return INV_TEST_DONE();
}
