/*
 * inv_codec: every malformed input is rejected with the exact message that
 * becomes the DLQ's inv.error header. One table row per case: the message
 * type expected, the input (JSON text, an Avro spec in the notation of
 * test_codec_util.h, or a generated input), the error.
 */
#include "inv_codec.h"
#include "inv_test.h"
#include "test_codec_util.h"

#include <avro.h>
#include <malloc.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INV_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define INV_TEST_ASAN 1
#endif
#ifdef INV_TEST_ASAN
/* <sanitizer/allocator_interface.h>, which not every compiler installs */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

typedef enum { IN_JSON, IN_AVRO, IN_GEN } input_kind_t;

typedef struct {
    inv_msg_type_t type;
    input_kind_t kind;
    const char *input; /* JSON text, Avro spec, or generator name */
    const char *error;
} error_case_t;

#define SALE(body)                                                                                \
    "{\"event_id\":\"T-1\",\"source\":\"pos\",\"location_id\":\"store-1\",\"channel\":\"store\"," \
    "\"occurred_at\":\"2026-11-22T10:00:00Z\"," body "}"
#define SALE_LINES(lines) SALE("\"lines\":[" lines "]")
#define LINE "{\"sku\":\"SKU-1\",\"quantity\":1}"
#define RETURN(lines)                                                                           \
    "{\"event_id\":\"R-1\",\"source\":\"web\",\"location_id\":\"dc-1\",\"channel\":\"online\"," \
    "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"lines\":[" lines "]}"
#define RESTOCK(kind, lines)                                                                                      \
    "{\"event_id\":\"G-1\",\"source\":\"wms\",\"location_id\":\"dc-1\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," \
    "\"kind\":\"" kind "\",\"lines\":[" lines "]}"
#define MOVE(channel, type, q)                                                                                  \
    "{\"movement_id\":\"m\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":" channel ",\"type\":\"" type "\"," \
    "\"quantity\":" q ",\"occurred_at\":\"2026-11-22T10:00:00Z\",\"source\":\"s\"}"
#define AVRO_SALE_HEAD "@14 s:T-1 s:pos s:store-1 e:0 l:1795341600000"
#define RESV(action, rest)                                                                              \
    "{\"event_id\":\"RV-1\",\"source\":\"web\",\"reservation_id\":\"ORD-1\",\"action\":\"" action "\"," \
    "\"location_id\":\"dc-1\",\"channel\":\"online\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," rest "}"
#define RESV_LINES "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2}]"
#define XFER(status, to, lines)                                                                             \
    "{\"event_id\":\"TR-1\",\"source\":\"wms\",\"transfer_id\":\"TR-9\",\"status\":\"" status "\","         \
    "\"from_location_id\":\"dc-1\",\"to_location_id\":\"" to "\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," \
    "\"lines\":[" lines "]}"
/* A movement with the new optional fields: rest is ",\"field\":value..." */
#define MOVEX(channel, type, q, rest)                                                                           \
    "{\"movement_id\":\"m\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":" channel ",\"type\":\"" type "\"," \
    "\"quantity\":" q ",\"occurred_at\":\"2026-11-22T10:00:00Z\",\"source\":\"s\"" rest "}"

static const error_case_t cases[] = {
    /* framing */
    {INV_MSG_SALE_EVENT, IN_JSON, "", "empty message"},
    {INV_MSG_SALE_EVENT, IN_GEN, "oversized", "message of 1048577 bytes exceeds the limit of 1048576 bytes"},
    /* not JSON */
    {INV_MSG_SALE_EVENT, IN_JSON, "   ", "not JSON: '[' or '{' expected near end of file at line 1 column 3"},
    {INV_MSG_SALE_EVENT, IN_JSON, "hello", "not JSON: '[' or '{' expected near 'hello' at line 1 column 5"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\"",
     "not JSON: '}' expected near end of file at line 1 column 17"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(LINE) " x",
     "not JSON: end of file expected near 'x' at line 1 column 153"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"event_id\":\"T-2\"}",
     "not JSON: duplicate object key near '\"event_id\"' at line 1 column 28"},
    {INV_MSG_SALE_EVENT, IN_JSON, "\x01\x02\xff\xfe", "not JSON: '[' or '{' expected near '?' at line 1 column 1"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-\xff\"}",
     "not JSON: unable to decode byte 0xff near '\"T-' at line 1 column 15"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-\\u0000\"}", "event_id: control character U+0000 at byte 2"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"p\\u0000s\",\"location_id\":\"s\",\"channel\":\"store\","
     "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"lines\":[{\"sku\":\"S\",\"quantity\":1}]}",
     "source: contains a NUL byte"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"p\",\"location_id\":\"s\",\"channel\":\"store\","
     "\"occurred_at\":\"2026-11-22T10:00:00Z\\u0000x\",\"lines\":[{\"sku\":\"S\",\"quantity\":1}]}",
     "occurred_at: \"2026-11-22T10:00:00Z\\u0000x\" is not an RFC 3339 time"},
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
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"a very long \\\"channel\\\" \\n value "
     "that goes on and on\"}",
     "channel: \"a very long \\\"channel\\\" \\u000a value that goes ...\" is not one of store, online, marketplace, "
     "b2b"},
    /* times */
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\"}",
     "occurred_at: missing, expected an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":"
     "\"yesterday\"}",
     "occurred_at: \"yesterday\" is not an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":"
     "1795341600000}",
     "occurred_at: expected an RFC 3339 time string, got integer"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"2026-13-"
     "01T00:00:00Z\"}",
     "occurred_at: \"2026-13-01T00:00:00Z\" is not an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"2026-02-"
     "30T00:00:00Z\"}",
     "occurred_at: \"2026-02-30T00:00:00Z\" is not an RFC 3339 time"},
    {INV_MSG_SALE_EVENT, IN_JSON,
     "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\",\"occurred_at\":\"2026-11-"
     "22T10:00:00\"}",
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
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":0}"),
     "lines[0].quantity: 0 is not positive"},
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
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("\"store\"", "receipt", "5"),
     "channel: \"store\", a receipt movement has none (null)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("null", "sale", "5"),
     "channel: null, a sale movement needs one of store, online, marketplace, b2b"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("null", "transfer", "5"),
     "type: \"transfer\" is not one of sale, return_resellable, return_damaged, receipt, adjustment, count, reserve, "
     "release, expire, transfer_out, transfer_in, transfer_cancel"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("\"online\"", "return_damaged", "0"), "quantity: 0 is not positive"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVE("null", "count", "-2"),
     "quantity: -2 is negative, a count must be 0 or more"},
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
    {INV_MSG_STOCK_LEVEL, IN_JSON,
     "{\"sku\":\"S\",\"location_id\":\"*\",\"on_hand\":1,\"unsellable\":0,\"on_order\":0,\"available\":1,"
     "\"updated_at\":\"2026-11-22T10:00:00Z\",\"version\":1,\"last_count_at\":1795341600000}",
     "last_count_at: expected an RFC 3339 time string or null, got integer"},
    {INV_MSG_STOCK_LEVEL, IN_JSON,
     "{\"sku\":\"S\",\"location_id\":\"*\",\"on_hand\":1,\"unsellable\":0,\"on_order\":0,\"available\":1,"
     "\"updated_at\":\"2026-11-22T10:00:00Z\",\"version\":1,\"last_count_at\":\"yesterday\"}",
     "last_count_at: \"yesterday\" is not an RFC 3339 time"},
    {INV_MSG_STOCK_LEVEL, IN_JSON,
     "{\"sku\":\"S\",\"location_id\":\"*\",\"on_hand\":1,\"unsellable\":0,\"on_order\":0,\"available\":1,"
     "\"updated_at\":\"2026-11-22T10:00:00Z\",\"version\":1,\"count_variance\":null}",
     "count_variance: expected an integer, got null"},
    /* Avro framing */
    {INV_MSG_SALE_EVENT, IN_AVRO, "x:000000", "truncated Avro header: 3 bytes, expected at least 5"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@18 s:T-1", "unknown schema id 18"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@17 s:T-1", "schema id 17 is StockLevel, expected SaleEvent"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "x:00ffffffff s:T-1", "unknown schema id -1"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@15 s:m", "schema id 15 is StockMovement, expected SaleEvent"},
    {INV_MSG_RETURN_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:0 u:0", "schema id 14 is SaleEvent, expected ReturnEvent"},
    /* Avro bodies */
    {INV_MSG_SALE_EVENT, IN_AVRO, "@1", "event_id: truncated Avro body at byte 5"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos S:20 x:41424344",
     "location_id: truncated Avro body at byte 14 (string of 20 bytes, 4 left)"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 S:-3", "source: Avro string length -3 at byte 9 is negative"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 S:2147483647",
     "event_id: truncated Avro body at byte 10 (string of 2147483647 bytes, 0 left)"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos s:store-1 e:7 l:0 a:0 u:0",
     "channel: Avro enum index 7 at byte 21 is not one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos s:store-1 e:-1 l:0 a:0 u:0",
     "channel: Avro enum index -1 at byte 21 is not one of store, online, marketplace, b2b"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos s:store-1 e:0 x:ffffffffffffffffffff01 a:0 u:0",
     "occurred_at: malformed Avro varint at byte 22"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos s:store-1 e:0 x:8080",
     "occurred_at: truncated Avro body at byte 22"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1000000 s:SKU-1 l:1 a:0 u:0",
     "lines: Avro block of 1000000 items at byte 28 is longer than the 9 bytes left"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " x:ffffffffffffffffff01",
     "lines: Avro block count -9223372036854775808 at byte 28 is out of range"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:2 s:SKU-1 l:1 s:SKU-2",
     "lines[1].quantity: truncated Avro body at byte 42"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 s:SKU-1 l:1 a:0 u:0 x:0000",
     "2 trailing bytes after the Avro record at byte 38"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:0 u:0", "lines: empty, expected 1 to 1000 lines"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:3 s:SKU-1 l:1 s:SKU-2 l:1 s:SKU-3 l:-3 a:0 u:0",
     "lines[2].quantity: -3 is not positive"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 S:3 x:41ff42 l:1 a:0 u:0",
     "lines[0].sku: invalid UTF-8 at byte 1"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 S:3 x:410042 l:1 a:0 u:0",
     "lines[0].sku: control character U+0000 at byte 1"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 S:3 x:700071 s:store-1 e:0 l:0 a:1 s:SKU-1 l:1 a:0 u:0",
     "source: contains a NUL byte"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 S:3 x:70ff71 s:store-1 e:0 l:0 a:1 s:SKU-1 l:1 a:0 u:0",
     "source: invalid UTF-8 at byte 1"},
    /* identifiers */
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\\n\"}", "event_id: control character U+000A at byte 3"},
    {INV_MSG_SALE_EVENT, IN_JSON, "{\"event_id\":\"T-1\",\"source\":\"s\",\"location_id\":\"store|1\"}",
     "location_id: '|' at byte 5 is not allowed"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE_LINES(LINE "," LINE ",{\"sku\":\"SKU\\t3\",\"quantity\":1}"),
     "lines[2].sku: control character U+0009 at byte 3"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:3 s:SKU-1 l:1 s:SKU-2 l:1 S:5 x:534b550933 l:1 a:0 u:0",
     "lines[2].sku: control character U+0009 at byte 3"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos s:store|1 e:0 l:0 a:1 s:SKU-1 l:1 a:0 u:0",
     "location_id: '|' at byte 5 is not allowed"},
    {INV_MSG_SALE_EVENT, IN_AVRO, AVRO_SALE_HEAD " a:1 S:9 x:534b552dc3bc2dc0af l:1 a:0 u:0",
     "lines[0].sku: invalid UTF-8 at byte 7"},
    {INV_MSG_RETURN_EVENT, IN_JSON,
     "{\"event_id\":\"R-1\",\"source\":\"web\",\"location_id\":\"dc-1\",\"channel\":\"online\","
     "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"original_event_id\":\"T-\x7f\",\"lines\":[]}",
     "original_event_id: control character U+007F at byte 2"},
    {INV_MSG_RESTOCK_EVENT, IN_JSON,
     "{\"event_id\":\"G-1\",\"source\":\"wms\",\"location_id\":\"dc-1\",\"occurred_at\":\"2026-11-22T10:00:00Z\","
     "\"kind\":\"receipt\",\"purchase_order_id\":\"PO\\r9\",\"lines\":[]}",
     "purchase_order_id: control character U+000D at byte 2"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     "{\"movement_id\":\"sale:T\\u001f1:0\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":\"store\",\"type\":"
     "\"sale\","
     "\"quantity\":1,\"occurred_at\":\"2026-11-22T10:00:00Z\",\"source\":\"s\"}",
     "movement_id: control character U+001F at byte 6"},
    {INV_MSG_REORDER_POLICY, IN_JSON,
     "{\"sku\":\"S\",\"location_id\":\"*\",\"reorder_point\":1000000000001,\"reorder_quantity\":24,\"safety_stock\":4}",
     "reorder_point: 1000000000001, expected at most 1000000000000"},
    /* lines bounded on the Avro block header, before any line is read */
    {INV_MSG_SALE_EVENT, IN_GEN, "avro_1001_lines", "lines: 1001 lines, expected at most 1000"},
    {INV_MSG_SALE_EVENT, IN_AVRO, "@14 s:T-1 s:pos s:store-1 e:0 l:253402300800000 a:1 s:SKU-1 l:1 a:0 u:0",
     "occurred_at: 253402300800000 ms is outside the years 0000 to 9999"},
    {INV_MSG_RETURN_EVENT, IN_AVRO, "@2 s:R-1 s:web s:dc-1 e:1 l:0 u:2 s:T-1 a:0",
     "original_event_id: Avro union branch 2 at byte 20 is out of range 0 to 1"},
    {INV_MSG_RETURN_EVENT, IN_AVRO, "@2 s:R-1 s:web s:dc-1 e:1 l:0 u:0 a:1 s:SKU-1 l:1 e:2 a:0",
     "lines[0].disposition: Avro enum index 2 at byte 29 is not one of resellable, damaged"},
    {INV_MSG_STOCK_MOVEMENT, IN_AVRO, "@15 s:m s:S s:L u:1 e:0 e:3 l:1 l:0 s:s u:0 u:0 u:0 u:0 l:0 x:00",
     "channel: \"store\", a receipt movement has none (null)"},
    {INV_MSG_SALE_EVENT, IN_GEN, "avro_garbage", "event_id: Avro string length -1 at byte 5 is negative"},
    /* a sale's reservation_id follows the identifier rules */
    {INV_MSG_SALE_EVENT, IN_JSON, SALE("\"lines\":[" LINE "],\"reservation_id\":\"\""),
     "reservation_id: empty string, expected 1 to 256 bytes"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE("\"lines\":[" LINE "],\"reservation_id\":\"O\\u0007\""),
     "reservation_id: control character U+0007 at byte 1"},
    {INV_MSG_SALE_EVENT, IN_JSON, SALE("\"lines\":[" LINE "],\"reservation_id\":5"),
     "reservation_id: expected a string or null, got integer"},
    /* reservations */
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("hold", RESV_LINES), "expires_at: required for a hold"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("hold", "\"expires_at\":null," RESV_LINES),
     "expires_at: required for a hold"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("hold", "\"expires_at\":\"2026-11-22T10:00:00Z\"," RESV_LINES),
     "expires_at: 2026-11-22T10:00:00.000Z is not after occurred_at 2026-11-22T10:00:00.000Z"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("hold", "\"expires_at\":\"soon\"," RESV_LINES),
     "expires_at: \"soon\" is not an RFC 3339 time"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("hold", "\"expires_at\":1," RESV_LINES),
     "expires_at: expected an RFC 3339 time string or null, got integer"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON,
     RESV("hold", "\"expires_at\":\"2026-11-22T11:00:00Z\",\"allow_partial\":\"yes\"," RESV_LINES),
     "allow_partial: expected true or false, got string"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON,
     RESV("hold", "\"expires_at\":\"2026-11-22T11:00:00Z\",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":0}]"),
     "lines[0].quantity: 0 is not positive"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("release", "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":-1}]"),
     "lines[0].quantity: -1 is not positive"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON, RESV("cancel", RESV_LINES), "action: \"cancel\" is not one of hold, release"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON,
     "{\"event_id\":\"RV-1\",\"source\":\"web\",\"reservation_id\":\"ORD\\n1\",\"action\":\"release\","
     "\"location_id\":\"dc-1\",\"channel\":\"online\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," RESV_LINES "}",
     "reservation_id: control character U+000A at byte 3"},
    {INV_MSG_RESERVATION_EVENT, IN_JSON,
     "{\"event_id\":\"RV-1\",\"source\":\"web\",\"action\":\"release\",\"location_id\":\"dc-1\","
     "\"channel\":\"online\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," RESV_LINES "}",
     "reservation_id: missing, expected a string"},
    /* hold, expires_at absent (union branch 0), in Avro */
    {INV_MSG_RESERVATION_EVENT, IN_AVRO, "@9 s:RV-1 s:web s:ORD-1 e:0 s:dc-1 e:1 l:0 u:0 x:00 a:1 s:SKU-1 l:2 a:0",
     "expires_at: required for a hold"},
    {INV_MSG_RESERVATION_EVENT, IN_AVRO, "@9 s:RV-1 s:web s:ORD-1 e:2 s:dc-1 e:1 l:0 u:0 x:00 a:1 s:SKU-1 l:2 a:0",
     "action: Avro enum index 2 at byte 20 is not one of hold, release"},
    /* transfers */
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("shipped", "dc-1", "{\"sku\":\"SKU-1\",\"quantity\":1}"),
     "to_location_id: \"dc-1\" is from_location_id, expected another location"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("shipped", "store|1", "{\"sku\":\"SKU-1\",\"quantity\":1}"),
     "to_location_id: '|' at byte 5 is not allowed"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("shipped", "store-1", "{\"sku\":\"SKU-1\",\"quantity\":0}"),
     "lines[0].quantity: 0 is not positive"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("shipped", "store-1", "{\"sku\":\"SKU-1\",\"quantity\":3,\"rejected\":1}"),
     "lines[0].rejected: 1, a shipped transfer has none (0)"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON,
     XFER("canceled", "store-1",
          "{\"sku\":\"SKU-1\",\"quantity\":3},{\"sku\":\"SKU-2\",\"quantity\":3,\"rejected\":3}"),
     "lines[1].rejected: 3, a canceled transfer has none (0)"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("received", "store-1", "{\"sku\":\"SKU-1\",\"quantity\":3,\"rejected\":4}"),
     "lines[0].rejected: 4 is more than quantity 3"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("received", "store-1", "{\"sku\":\"SKU-1\",\"quantity\":3,\"rejected\":-1}"),
     "lines[0].rejected: -1 is negative"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON,
     XFER("received", "store-1", "{\"sku\":\"SKU-1\",\"quantity\":3,\"rejected\":null}"),
     "lines[0].rejected: expected an integer, got null"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("lost", "store-1", "{\"sku\":\"SKU-1\",\"quantity\":3}"),
     "status: \"lost\" is not one of shipped, received, canceled"},
    {INV_MSG_TRANSFER_EVENT, IN_JSON, XFER("shipped", "store-1", ""), "lines: empty, expected 1 to 1000 lines"},
    {INV_MSG_TRANSFER_EVENT, IN_AVRO, "@10 s:TR-1 s:wms s:TR-9 e:1 s:dc-1 s:dc-1 l:0 a:1 s:SKU-1 l:1 l:0 a:0",
     "to_location_id: \"dc-1\" is from_location_id, expected another location"},
    /* channel locations */
    {INV_MSG_CHANNEL_LOCATION, IN_JSON, "{\"channel\":\"online|eu\",\"location_id\":\"dc-1\",\"buffer\":2}",
     "channel: '|' at byte 6 is not allowed"},
    {INV_MSG_CHANNEL_LOCATION, IN_JSON, "{\"channel\":\"\",\"location_id\":\"dc-1\"}",
     "channel: empty string, expected 1 to 256 bytes"},
    {INV_MSG_CHANNEL_LOCATION, IN_JSON, "{\"channel\":\"online\",\"location_id\":\"dc-1\",\"buffer\":-1}",
     "buffer: -1 is negative"},
    {INV_MSG_CHANNEL_LOCATION, IN_JSON, "{\"channel\":\"online\",\"location_id\":\"dc-1\",\"buffer\":1000000000001}",
     "buffer: 1000000000001, expected at most 1000000000000"},
    /* availability and reservation status: form and identifiers */
    {INV_MSG_AVAILABILITY_LEVEL, IN_JSON,
     "{\"sku\":\"S\",\"channel\":\"a|b\",\"available_to_sell\":1,\"locations\":1,"
     "\"updated_at\":\"2026-11-22T10:00:00Z\",\"version\":1}",
     "channel: '|' at byte 1 is not allowed"},
    {INV_MSG_RESERVATION_STATUS, IN_JSON,
     "{\"event_id\":\"e\",\"reservation_id\":\"r\",\"sku\":\"S\",\"location_id\":\"L\",\"state\":\"open\","
     "\"requested\":1,\"held\":1,\"remaining\":1,\"expires_at\":null,\"occurred_at\":\"2026-11-22T10:00:00Z\"}",
     "state: \"open\" is not one of held, partial, rejected, released, expired, fulfilled, not_found"},
    /* movements: which type needs or may have which new field */
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("\"online\"", "reserve", "2", ",\"expires_at\":\"2026-11-23T10:00:00Z\""),
     "reservation_id: null, a reserve movement needs one"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("\"online\"", "reserve", "2", ",\"reservation_id\":\"ORD-1\""),
     "expires_at: null, a reserve movement needs one"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("null", "release", "2", ",\"reservation_id\":\"ORD-1\""),
     "channel: null, a release movement needs one of store, online, marketplace, b2b"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("\"online\"", "expire", "0", ",\"reservation_id\":\"ORD-1\""),
     "quantity: 0 is not positive"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("\"online\"", "release", "2", ",\"reservation_id\":\"ORD-1\",\"expires_at\":\"2026-11-23T10:00:00Z\""),
     "expires_at: 2026-11-23T10:00:00.000Z, a release movement has none (null)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("\"online\"", "release", "2", ",\"reservation_id\":\"ORD-1\",\"allow_partial\":true"),
     "allow_partial: true, a release movement has none (false)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("null", "receipt", "2", ",\"reservation_id\":\"ORD-1\""),
     "reservation_id: \"ORD-1\", a receipt movement has none (null)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("\"store\"", "sale", "2", ",\"transfer_id\":\"TR-9\""),
     "transfer_id: \"TR-9\", a sale movement has none (null)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("null", "transfer_out", "2", ",\"other_location_id\":\"store-1\""),
     "transfer_id: null, a transfer_out movement needs one"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("null", "transfer_in", "2", ",\"transfer_id\":\"TR-9\""),
     "other_location_id: null, a transfer_in movement needs one"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("\"store\"", "transfer_in", "2", ",\"transfer_id\":\"TR-9\",\"other_location_id\":\"dc-1\""),
     "channel: \"store\", a transfer_in movement has none (null)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("null", "transfer_out", "2", ",\"transfer_id\":\"TR-9\",\"other_location_id\":\"L\""),
     "other_location_id: \"L\" is location_id, expected the other end of the transfer"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("null", "transfer_out", "2", ",\"transfer_id\":\"TR-9\",\"other_location_id\":\"a|b\""),
     "other_location_id: '|' at byte 1 is not allowed"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("null", "transfer_out", "2", ",\"transfer_id\":\"TR-9\",\"other_location_id\":\"dc-1\",\"rejected\":1"),
     "rejected: 1, a transfer_out movement has none (0)"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("null", "transfer_in", "2", ",\"transfer_id\":\"TR-9\",\"other_location_id\":\"dc-1\",\"rejected\":3"),
     "rejected: 3 is more than quantity 2"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON,
     MOVEX("null", "transfer_in", "2", ",\"transfer_id\":\"TR-9\",\"other_location_id\":\"dc-1\",\"rejected\":-1"),
     "rejected: -1 is negative"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("\"store\"", "sale", "2", ",\"allow_partial\":null"),
     "allow_partial: expected true or false, got null"},
    {INV_MSG_STOCK_MOVEMENT, IN_JSON, MOVEX("\"store\"", "sale", "2", ",\"rejected\":1.5"),
     "rejected: expected an integer, got 1.5"},
    /* a reserve movement without expires_at, in Avro */
    {INV_MSG_STOCK_MOVEMENT, IN_AVRO, "@15 s:m s:S s:L u:1 e:1 e:6 l:1 l:0 s:s u:1 s:ORD-1 u:0 u:0 u:0 l:0 x:01",
     "expires_at: null, a reserve movement needs one"},
};

/* Inputs too big or too repetitive to write out. */
static unsigned char *generate(const char *name, size_t *len) {
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
    } else if (strcmp(name, "avro_1001_lines") == 0) { /* empty skus: the count fails first */
        buf = malloc(64 + 2 * 1001 + 1);
        *len = avro_spec(buf, 64, AVRO_SALE_HEAD " a:1001");
        memset(buf + *len, 0, 2 * 1001 + 1);
        *len += 2 * 1001 + 1;
    } else if (strcmp(name, "avro_garbage") == 0) {
        *len = 64;
        buf = malloc(*len);
        memset(buf, 0xff, *len);
        memcpy(buf, "\x00\x00\x00\x00\x01", 5);
        buf[5] = 0x01; /* zigzag -1 */
    }
    return buf;
}

static void test_malformed_inputs_are_rejected_with_exact_messages(void) {
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

/* Each failure falls in one class of a small fixed set, by the stage of the
 * decode that found it (the processors count dead letters by class). */
static void test_each_failure_has_the_class_of_its_stage(void) {
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    char err[512];
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);
    static const struct {
        input_kind_t kind;
        const char *input;
        inv_decode_error_t want;
    } cases[] = {
        {IN_JSON, SALE_LINES(LINE), INV_DECODE_ERROR_NONE},
        {IN_JSON, "", INV_DECODE_ERROR_EMPTY},
        {IN_GEN, "oversize", INV_DECODE_ERROR_OVERSIZE},
        {IN_JSON, "{\"event_id\":", INV_DECODE_ERROR_JSON},
        {IN_JSON, "[1]", INV_DECODE_ERROR_JSON},
        {IN_JSON, SALE("\"lines\":7"), INV_DECODE_ERROR_FIELD},
        {IN_JSON, SALE_LINES("{\"sku\":\"SKU-1\",\"quantity\":0}"), INV_DECODE_ERROR_FIELD},
        {IN_JSON, SALE_LINES("{\"sku\":\"SKU\\u0001\",\"quantity\":1}"), INV_DECODE_ERROR_FIELD},
        {IN_AVRO, "x:000000", INV_DECODE_ERROR_AVRO},
        {IN_AVRO, AVRO_SALE_HEAD " a:2 s:SKU-1 l:1 s:SKU-2", INV_DECODE_ERROR_AVRO},
        {IN_AVRO, "@9999 s:T-1", INV_DECODE_ERROR_SCHEMA},
        {IN_AVRO, "@2 s:R-1", INV_DECODE_ERROR_SCHEMA},
        {IN_AVRO, AVRO_SALE_HEAD " a:1 s:SKU-1 l:0 a:0 u:0", INV_DECODE_ERROR_FIELD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char *buf = NULL;
        size_t len = 0;
        if (cases[i].kind == IN_JSON) {
            len = strlen(cases[i].input);
            buf = (unsigned char *)strdup(cases[i].input);
        } else if (cases[i].kind == IN_AVRO) {
            buf = malloc(4096);
            len = avro_spec(buf, 4096, cases[i].input);
        } else {
            len = INV_CODEC_MAX_MESSAGE + 1;
            buf = malloc(len);
            memset(buf, ' ', len);
        }
        inv_event_t ev;
        strcpy(err, "");
        int rc = inv_decoder_decode_event(d, INV_EVENT_SALE, buf, len, &ev, err, sizeof(err));
        inv_decode_error_t got = inv_decoder_last_error(d);
        INV_EXPECT(got == cases[i].want, "case %zu (%.50s): class %s, expected %s (rc %d: %s)", i, cases[i].input,
                   inv_decode_error_name(got), inv_decode_error_name(cases[i].want), rc, err);
        INV_EXPECT((rc == 0) == (cases[i].want == INV_DECODE_ERROR_NONE), "case %zu: rc %d", i, rc);
        free(buf);
    }
    inv_decoder_destroy(d);
    INV_ASSERT_EQ_STR("oversize", inv_decode_error_name(INV_DECODE_ERROR_OVERSIZE));
    INV_ASSERT_EQ_STR("unknown", inv_decode_error_name(INV_DECODE_ERROR_COUNT));
}

/* A failed decode leaves a zeroed struct, never half a message. */
static void test_a_failed_decode_leaves_no_stale_values(void) {
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

static void test_error_strings_fit_small_buffers(void) {
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

/* ------------------------------------------------------------ identifiers
 * Each rule is checked on the same content in both formats: the message is
 * built as a struct, written by the JSON and the Avro encoder (which judge
 * nothing but UTF-8) and decoded again. */

static inv_schema_resolver_t resolver;
static inv_decoder_t *dec;
static inv_encoder_t *enc[2]; /* JSON, Avro */

/* Decodes m as type t from both encodings: both must give want (NULL:
 * both decode, and every string of m comes back). Failures are printed. */
static int both_formats(inv_msg_type_t t, const any_msg_t *m, const char *want) {
    int failed = 0;
    for (int f = 0; f < 2; f++) {
        char err[512] = "";
        inv_buf_t out;
        any_msg_t back;
        inv_buf_init(&out);
        if (any_encode(enc[f], t, m, &out, err, sizeof(err))) {
            fprintf(stderr, "  cannot encode: %s\n", err);
            inv_buf_free(&out);
            return 1;
        }
        int rc = any_decode(dec, t, out.data, out.len, &back, err, sizeof(err));
        if (want ? rc != -1 || strcmp(err, want) != 0 : rc != 0) {
            fprintf(stderr, "  %s %s:\n    want: %s\n    got:  %s (rc %d)\n", f ? "avro" : "json", inv_msg_type_name(t),
                    want ? want : "(decodes)", rc ? err : "(decodes)", rc);
            failed = 1;
        }
        inv_buf_free(&out);
    }
    return failed;
}

static inv_line_t sale_lines[3];

/* A valid SaleEvent of three lines. */
static any_msg_t sale(void) {
    any_msg_t m;
    memset(&m, 0, sizeof(m));
    for (int i = 0; i < 3; i++)
        sale_lines[i] = (inv_line_t){.sku = "SKU-1", .quantity = 1};
    m.ev = (inv_event_t){.kind = INV_EVENT_SALE,
                         .event_id = "T-1",
                         .source = "pos",
                         .location_id = "store-1",
                         .channel = INV_CHANNEL_STORE,
                         .occurred_at_ms = 1795341600000,
                         .lines = sale_lines,
                         .line_count = 3};
    return m;
}

static any_msg_t policy(const char *sku, const char *location_id, int64_t point, int64_t quantity, int64_t safety) {
    any_msg_t m;
    memset(&m, 0, sizeof(m));
    m.po = (inv_policy_t){sku, location_id, point, quantity, safety};
    return m;
}

static void test_every_control_character_in_an_id_is_rejected_naming_it_and_its_byte(void) {
    int failed = 0;
    for (int c = 1; c <= 0x7F; c = c == 0x1F ? 0x7F : c + 1) {
        char id[8], want[128];
        snprintf(id, sizeof(id), "T-1%c", c); /* byte 3, as a POS newline would be */
        any_msg_t m = sale();
        m.ev.event_id = id;
        snprintf(want, sizeof(want), "event_id: control character U+%04X at byte 3", c);
        failed += both_formats(INV_MSG_SALE_EVENT, &m, want);
        m = sale();
        sale_lines[2].sku = id + 2;
        snprintf(want, sizeof(want), "lines[2].sku: control character U+%04X at byte 1", c);
        failed += both_formats(INV_MSG_SALE_EVENT, &m, want);
    }
    INV_ASSERT(failed == 0, "%d failed", failed);
}

/* A NUL is an identifier's control character in Avro as in JSON (\u0000). */
static void test_a_nul_byte_in_an_avro_id_is_a_control_character(void) {
    unsigned char buf[256];
    char err[256];
    inv_event_t ev;
    size_t len = avro_spec(buf, sizeof(buf), "@14 S:4 x:542d0031 s:pos s:store-1 e:0 l:0 a:1 s:SKU-1 l:1 a:0 u:0");
    int rc = inv_decoder_decode_event(dec, INV_EVENT_SALE, buf, len, &ev, err, sizeof(err));
    INV_ASSERT_EQ_INT(-1, rc);
    INV_ASSERT_EQ_STR("event_id: control character U+0000 at byte 2", err);
}

static void test_a_pipe_in_a_location_id_is_rejected_in_every_message(void) {
    const char *want = "location_id: '|' at byte 5 is not allowed";
    int failed = 0;
    any_msg_t m = sale();
    m.ev.location_id = "store|12";
    failed += both_formats(INV_MSG_SALE_EVENT, &m, want);
    m = policy("SKU-1", "store|12", 1, 1, 1);
    failed += both_formats(INV_MSG_REORDER_POLICY, &m, want);
    memset(&m, 0, sizeof(m));
    m.mv = (inv_movement_t){.movement_id = "sale:T-1:0",
                            .sku = "S",
                            .location_id = "store|12",
                            .channel = INV_CHANNEL_STORE,
                            .type = INV_MOVE_SALE,
                            .quantity = 1,
                            .source = "s"};
    failed += both_formats(INV_MSG_STOCK_MOVEMENT, &m, want);
    memset(&m, 0, sizeof(m));
    m.sl = (inv_stock_level_t){.sku = "S", .location_id = "store|12"};
    failed += both_formats(INV_MSG_STOCK_LEVEL, &m, want);
    memset(&m, 0, sizeof(m));
    m.ro = (inv_reorder_t){.event_id = "reorder:m", .sku = "S", .location_id = "store|12", .cause_movement_id = "m"};
    failed += both_formats(INV_MSG_REORDER_EVENT, &m, want);
    memset(&m, 0, sizeof(m));
    m.sh = (inv_shortage_t){.event_id = "shortage:m", .sku = "S", .location_id = "store|12", .state = INV_SHORTAGE_LOW};
    failed += both_formats(INV_MSG_SHORTAGE_EVENT, &m, want);
    INV_ASSERT(failed == 0, "%d failed", failed);
}

/* Only location_id splits row keys: a '|' elsewhere is an ordinary byte. */
static void test_a_pipe_in_an_event_id_or_sku_is_legal(void) {
    any_msg_t m = sale();
    m.ev.event_id = "T|1";
    sale_lines[0].sku = "SKU|1";
    INV_ASSERT(both_formats(INV_MSG_SALE_EVENT, &m, NULL) == 0);
}

static void test_hostile_but_printable_ids_are_legal_and_read_back_byte_exactly(void) {
    static const char *ids[] = {
        "Ünïcødé-✓", "📦🛒😀",     "quote\"d",        "back\\slash", "a b  c",       "*",
        "日本語",    "\xf4\x8f\xbf\xbf", "U+0080:\xc2\x80", "'single'",    "{\"json\":1}", "sale:T-1:0"};
    int failed = 0;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        any_msg_t m = sale();
        m.ev.event_id = m.ev.location_id = sale_lines[1].sku = ids[i];
        failed += both_formats(INV_MSG_SALE_EVENT, &m, NULL);
        char err[256];
        inv_buf_t out;
        inv_event_t back;
        inv_buf_init(&out);
        for (int f = 0; f < 2; f++) {
            int rc = inv_encoder_encode_event(enc[f], &m.ev, &out, err, sizeof(err)) ||
                     inv_decoder_decode_event(dec, INV_EVENT_SALE, out.data, out.len, &back, err, sizeof(err));
            if (rc || strcmp(back.event_id, ids[i]) || strcmp(back.location_id, ids[i]) ||
                strcmp(back.lines[1].sku, ids[i])) {
                fprintf(stderr, "  %s: %s did not read back\n", f ? "avro" : "json", ids[i]);
                failed++;
            }
        }
        inv_buf_free(&out);
    }
    INV_ASSERT(failed == 0, "%d failed", failed);
}

/* JSON cannot carry invalid UTF-8 (jansson words that error); Avro can. */
static void test_invalid_utf8_in_an_avro_id_is_rejected_naming_the_byte(void) {
    static const struct {
        const char *hex, *what;
        size_t at;
    } bad[] = {{"534b552dc0af", "overlong '/'", 4},         {"534b552de080af", "overlong 3 bytes", 4},
               {"534b552df08080af", "overlong 4 bytes", 4}, {"534b552deda080", "surrogate U+D800", 4},
               {"534b552df4908080", "above U+10FFFF", 4},   {"534b552de697", "cut", 4},
               {"534b552d80", "lone continuation", 4},      {"534b552dff", "0xff", 4},
               {"c3bc2dc3", "cut after a valid one", 3}};
    int failed = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[256], err[256], want[128];
        unsigned char buf[256];
        inv_event_t ev;
        snprintf(spec, sizeof(spec), AVRO_SALE_HEAD " a:1 S:%zu x:%s l:1 a:0 u:0", strlen(bad[i].hex) / 2, bad[i].hex);
        size_t len = avro_spec(buf, sizeof(buf), spec);
        snprintf(want, sizeof(want), "lines[0].sku: invalid UTF-8 at byte %zu", bad[i].at);
        int rc = inv_decoder_decode_event(dec, INV_EVENT_SALE, buf, len, &ev, err, sizeof(err));
        if (rc != -1 || strcmp(err, want) != 0) {
            fprintf(stderr, "  %s: want %s, got %s\n", bad[i].what, want, err);
            failed++;
        }
    }
    INV_ASSERT(failed == 0, "%d failed", failed);
}

static void test_the_first_offending_byte_of_an_id_is_named(void) {
    int failed = 0;
    any_msg_t m = sale();
    m.ev.location_id = "a|b\nc";
    failed += both_formats(INV_MSG_SALE_EVENT, &m, "location_id: '|' at byte 1 is not allowed");
    m.ev.location_id = "ü\tb|c";
    failed += both_formats(INV_MSG_SALE_EVENT, &m, "location_id: control character U+0009 at byte 2");
    INV_ASSERT(failed == 0, "%d failed", failed);
}

static void test_an_id_of_256_bytes_is_legal_and_257_bytes_is_not(void) {
    char id[258] = "x"; /* "x" and 128 two-byte characters: 257 bytes */
    for (int i = 0; i < 128; i++)
        memcpy(id + 1 + 2 * i, "\xc3\xa9", 2);
    any_msg_t m = sale();
    m.ev.event_id = id + 1;
    sale_lines[0].sku = id + 1;
    int failed = both_formats(INV_MSG_SALE_EVENT, &m, NULL);
    sale_lines[0].sku = id;
    failed += both_formats(INV_MSG_SALE_EVENT, &m, "lines[0].sku: 257 bytes, expected at most 256");
    INV_ASSERT(failed == 0, "%d failed", failed);
}

static void test_an_empty_id_is_rejected(void) {
    any_msg_t m = policy("", "*", 1, 1, 1);
    int failed = both_formats(INV_MSG_REORDER_POLICY, &m, "sku: empty string, expected 1 to 256 bytes");
    m = sale();
    sale_lines[1].sku = "";
    failed += both_formats(INV_MSG_SALE_EVENT, &m, "lines[1].sku: empty string, expected 1 to 256 bytes");
    INV_ASSERT(failed == 0, "%d failed", failed);
}

/* movement_id is derived ("<type>:<event_id>:<line>", up to 1024 bytes):
 * an event_id's '|' may be in it, a control character may not. */
static void test_a_movement_id_follows_the_id_rules_up_to_1024_bytes(void) {
    char id[1026];
    memset(id, 'm', 1025);
    id[1025] = '\0';
    any_msg_t m;
    memset(&m, 0, sizeof(m));
    m.mv = (inv_movement_t){.movement_id = "sale:T|1:0",
                            .sku = "S",
                            .location_id = "L",
                            .channel = INV_CHANNEL_STORE,
                            .type = INV_MOVE_SALE,
                            .quantity = 1,
                            .source = "s"};
    int failed = both_formats(INV_MSG_STOCK_MOVEMENT, &m, NULL);
    m.mv.movement_id = "sale:T\n1:0";
    failed += both_formats(INV_MSG_STOCK_MOVEMENT, &m, "movement_id: control character U+000A at byte 6");
    m.mv.movement_id = "sale:T\x7f:0";
    failed += both_formats(INV_MSG_STOCK_MOVEMENT, &m, "movement_id: control character U+007F at byte 6");
    m.mv.movement_id = id + 1;
    failed += both_formats(INV_MSG_STOCK_MOVEMENT, &m, NULL);
    m.mv.movement_id = id;
    failed += both_formats(INV_MSG_STOCK_MOVEMENT, &m, "movement_id: 1025 bytes, expected at most 1024");
    INV_ASSERT(failed == 0, "%d failed", failed);
}

static void test_the_ids_of_outputs_read_back_follow_the_same_rules(void) {
    any_msg_t m;
    memset(&m, 0, sizeof(m));
    m.ro = (inv_reorder_t){
        .event_id = "reorder:sale:T-1:0", .sku = "S", .location_id = "L", .cause_movement_id = "sale:T\t1:0"};
    int failed = both_formats(INV_MSG_REORDER_EVENT, &m, "cause_movement_id: control character U+0009 at byte 6");
    memset(&m, 0, sizeof(m));
    m.sh =
        (inv_shortage_t){.event_id = "shortage:*:low:m", .sku = "S\x1b", .location_id = "*", .state = INV_SHORTAGE_LOW};
    failed += both_formats(INV_MSG_SHORTAGE_EVENT, &m, "sku: control character U+001B at byte 1");
    memset(&m, 0, sizeof(m));
    m.sl = (inv_stock_level_t){.sku = "S", .location_id = "*"};
    failed += both_formats(INV_MSG_STOCK_LEVEL, &m, NULL);
    INV_ASSERT(failed == 0, "%d failed", failed);
}

static void test_a_policy_for_location_star_is_legal(void) {
    any_msg_t m = policy("SKU-1", "*", 3, 12, 2);
    INV_ASSERT(both_formats(INV_MSG_REORDER_POLICY, &m, NULL) == 0);
}

static void test_policy_values_above_the_bound_are_rejected_naming_field_and_bound(void) {
    const int64_t max = INV_CODEC_MAX_POLICY_QUANTITY;
    int failed = 0;
    any_msg_t m = policy("S", "L", max, max, max);
    failed += both_formats(INV_MSG_REORDER_POLICY, &m, NULL);
    m = policy("S", "L", max + 1, 0, 0);
    failed += both_formats(INV_MSG_REORDER_POLICY, &m, "reorder_point: 1000000000001, expected at most 1000000000000");
    m = policy("S", "L", 0, INT64_MAX, 0);
    failed += both_formats(INV_MSG_REORDER_POLICY, &m,
                           "reorder_quantity: 9223372036854775807, expected at most 1000000000000");
    m = policy("S", "L", 0, 0, max + 1);
    failed += both_formats(INV_MSG_REORDER_POLICY, &m, "safety_stock: 1000000000001, expected at most 1000000000000");
    INV_ASSERT(failed == 0, "%d failed", failed);
}

/* Avro: the line count is bounded on the array's block headers, all blocks
 * together (a negative count is followed by the block's byte size), and
 * before any line is looked at, as jansson's array size is in JSON. */
static void test_a_line_count_above_1000_is_rejected_before_any_line_in_both_formats(void) {
    static const char *blocks[] = {"a:600", "a:-600 l:1200"};
    int failed = 0;
    for (size_t b = 0; b < 2; b++) {
        unsigned char buf[64 + 4 * 1200];
        char err[256];
        inv_event_t ev;
        size_t len = avro_spec(buf, 64, AVRO_SALE_HEAD);
        for (int k = 0; k < 2; k++) { /* two blocks of 600 empty lines */
            len += avro_spec(buf + len, 64, blocks[b]);
            memset(buf + len, 0, 1200);
            len += 1200;
        }
        buf[len++] = 0;
        int rc = inv_decoder_decode_event(dec, INV_EVENT_SALE, buf, len, &ev, err, sizeof(err));
        if (rc != -1 || strcmp(err, "lines: 1200 lines, expected at most 1000") != 0) {
            fprintf(stderr, "  blocks %s: %s\n", blocks[b], err);
            failed++;
        }
    }
    /* JSON: 1001 lines whose first is bad; the count is the error */
    inv_line_t lines[1001];
    for (int i = 0; i < 1001; i++)
        lines[i] = (inv_line_t){.sku = i ? "SKU-1" : "", .quantity = 1};
    any_msg_t m = sale();
    m.ev.lines = lines;
    m.ev.line_count = 1001;
    failed += both_formats(INV_MSG_SALE_EVENT, &m, "lines: 1001 lines, expected at most 1000");
    m.ev.line_count = 1000;
    failed += both_formats(INV_MSG_SALE_EVENT, &m, "lines[0].sku: empty string, expected 1 to 256 bytes");
    INV_ASSERT(failed == 0, "%d failed", failed);
}

/* Bytes of heap in use by the process: ASan's count under ASan (its
 * allocator replaces glibc's, which then reports nothing), else glibc's. */
static size_t heap_in_use(void) {
#ifdef INV_TEST_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks + mallinfo2().hblkhd;
#endif
}

/* Every byte Avro-C asks for goes through its allocator: count the growth. */
typedef struct {
    struct avro_allocator_state next;
    size_t requested;
} avro_count_t;

static void *avro_counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    avro_count_t *c = ud;
    if (nsize > osize)
        c->requested += nsize - osize;
    return c->next.alloc(c->next.user_data, ptr, osize, nsize);
}

/* A SaleEvent of 500000 lines of 2 bytes each (an empty sku, quantity 0)
 * in one Avro block: about 1 MB, within the message size limit. Avro-C
 * would allocate a generic record per line before any check of ours. */
static void test_an_avro_sale_of_500000_lines_is_rejected_before_allocating_them(void) {
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    char err[256];
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);
    const size_t lines = 500000;
    unsigned char *buf = malloc(64 + 2 * lines + 16);
    INV_ASSERT(buf != NULL);
    size_t len = avro_spec(buf, 64, AVRO_SALE_HEAD);
    len += avro_put_long(buf + len, (int64_t)lines);
    memset(buf + len, 0, 2 * lines);
    len += 2 * lines;
    buf[len++] = 0; /* the end of the array */
    INV_ASSERT(len <= INV_CODEC_MAX_MESSAGE, "%zu bytes", len);

    inv_event_t ev;
    avro_count_t count = {AVRO_CURRENT_ALLOCATOR, 0};
    avro_set_allocator(avro_counting_alloc, &count);
    size_t before = heap_in_use();
    int rc = inv_decoder_decode_event(d, INV_EVENT_SALE, buf, len, &ev, err, sizeof(err));
    size_t after = heap_in_use();
    avro_set_allocator(count.next.alloc, count.next.user_data);
    free(buf);
    inv_decoder_destroy(d);
    INV_ASSERT_EQ_INT(-1, rc);
    INV_ASSERT_EQ_STR("lines: 500000 lines, expected at most 1000", err);
    INV_ASSERT(count.requested < 1024 * 1024, "Avro-C allocated %zu bytes", count.requested);
    INV_ASSERT(after < before + 1024 * 1024, "the heap grew by %zu bytes", after - before);
}

int main(void) {
    char err[512];
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    enc[0] = inv_encoder_new(INV_FORMAT_JSON, &resolver, err, sizeof(err));
    enc[1] = inv_encoder_new(INV_FORMAT_AVRO, &resolver, err, sizeof(err));
    if (!dec || !enc[0] || !enc[1]) {
        fprintf(stderr, "codec setup failed: %s\n", err);
        return 1;
    }
    INV_RUN(test_malformed_inputs_are_rejected_with_exact_messages);
    INV_RUN(test_a_failed_decode_leaves_no_stale_values);
    INV_RUN(test_error_strings_fit_small_buffers);
    INV_RUN(test_every_control_character_in_an_id_is_rejected_naming_it_and_its_byte);
    INV_RUN(test_a_nul_byte_in_an_avro_id_is_a_control_character);
    INV_RUN(test_a_pipe_in_a_location_id_is_rejected_in_every_message);
    INV_RUN(test_a_pipe_in_an_event_id_or_sku_is_legal);
    INV_RUN(test_hostile_but_printable_ids_are_legal_and_read_back_byte_exactly);
    INV_RUN(test_invalid_utf8_in_an_avro_id_is_rejected_naming_the_byte);
    INV_RUN(test_the_first_offending_byte_of_an_id_is_named);
    INV_RUN(test_an_id_of_256_bytes_is_legal_and_257_bytes_is_not);
    INV_RUN(test_an_empty_id_is_rejected);
    INV_RUN(test_a_movement_id_follows_the_id_rules_up_to_1024_bytes);
    INV_RUN(test_the_ids_of_outputs_read_back_follow_the_same_rules);
    INV_RUN(test_a_policy_for_location_star_is_legal);
    INV_RUN(test_policy_values_above_the_bound_are_rejected_naming_field_and_bound);
    INV_RUN(test_a_line_count_above_1000_is_rejected_before_any_line_in_both_formats);
    INV_RUN(test_an_avro_sale_of_500000_lines_is_rejected_before_allocating_them);
    INV_RUN(test_each_failure_has_the_class_of_its_stage);
    inv_encoder_destroy(enc[1]);
    inv_encoder_destroy(enc[0]);
    inv_decoder_destroy(dec);
    return INV_TEST_DONE();
}
