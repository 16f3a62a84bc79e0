/*
 * schemas/ is the source of truth: the embedded copies (common/codec/inv_schemas.c)
 * must be byte for byte the files, every field and type must carry a doc,
 * and inv_schema_check() must catch any drift between a schema and the
 * codec's tables.
 */
#include "inv_codec.h"
#include "inv_test.h"
#include "test_codec_util.h"

#include <jansson.h>

#ifndef INV_SCHEMA_DIR
#error "INV_SCHEMA_DIR must name schemas/"
#endif

static char err[512];

static void test_embedded_schemas_are_the_files(void) {
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.avsc", INV_SCHEMA_DIR, inv_msg_type_name((inv_msg_type_t)t));
        char *text = read_file(path, NULL);
        INV_ASSERT(text != NULL, "cannot read %s", path);
        int same = inv_schema_json((inv_msg_type_t)t) && strcmp(text, inv_schema_json((inv_msg_type_t)t)) == 0;
        free(text);
        INV_ASSERT(same, "%s differs from common/codec/inv_schemas.c: run `cmake -P common/codec/inv_schemas.cmake`",
                   path);
    }
    INV_ASSERT(inv_schema_json(INV_MSG_COUNT) == NULL);
}

static void test_every_schema_matches_the_codec(void) {
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        const char *json = inv_schema_json((inv_msg_type_t)t);
        INV_ASSERT(inv_schema_check((inv_msg_type_t)t, json, strlen(json), err, sizeof(err)) == 0, "%s", err);
    }
}

/* Walks a schema's JSON: every record, enum and field has a non-empty doc. */
static int docs_missing(json_t *node, const char *where, char *out, size_t n) {
    if (json_is_array(node)) { /* a union */
        for (size_t i = 0; i < json_array_size(node); i++)
            if (docs_missing(json_array_get(node, i), where, out, n))
                return 1;
        return 0;
    }
    if (!json_is_object(node))
        return 0;
    const char *type = json_string_value(json_object_get(node, "type"));
    const char *doc = json_string_value(json_object_get(node, "doc"));
    if (type && (!strcmp(type, "record") || !strcmp(type, "enum")) && (!doc || !*doc)) {
        snprintf(out, n, "%s: %s %s has no doc", where, type, json_string_value(json_object_get(node, "name")));
        return 1;
    }
    json_t *fields = json_object_get(node, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        const char *fdoc = json_string_value(json_object_get(f, "doc"));
        if (!fdoc || !*fdoc) {
            snprintf(out, n, "%s: field %s has no doc", where, json_string_value(json_object_get(f, "name")));
            return 1;
        }
        if (docs_missing(json_object_get(f, "type"), where, out, n))
            return 1;
    }
    return docs_missing(json_object_get(node, "items"), where, out, n);
}

static void test_every_field_and_type_has_a_doc(void) {
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        json_error_t jerr;
        json_t *root = json_loads(inv_schema_json((inv_msg_type_t)t), 0, &jerr);
        INV_ASSERT(root != NULL, "%s", jerr.text);
        int missing = docs_missing(root, inv_msg_type_name((inv_msg_type_t)t), err, sizeof(err));
        json_decref(root);
        INV_ASSERT(!missing, "%s", err);
    }
}

/* Replaces the first `from` in the schema of t and checks the result. */
static int check_edited(inv_msg_type_t t, const char *from, const char *to) {
    const char *orig = inv_schema_json(t);
    const char *at = strstr(orig, from);
    if (!at) {
        snprintf(err, sizeof(err), "test bug: \"%s\" not in %s", from, inv_msg_type_name(t));
        return 99;
    }
    size_t len = strlen(orig) - strlen(from) + strlen(to);
    char *edited = malloc(len + 1);
    size_t head = (size_t)(at - orig);
    memcpy(edited, orig, head);
    strcpy(edited + head, to);
    strcat(edited, at + strlen(from));
    int rc = inv_schema_check(t, edited, len, err, sizeof(err));
    free(edited);
    return rc;
}

static void test_schema_drift_is_caught(void) {
    static const struct {
        inv_msg_type_t type;
        const char *from, *to, *error;
    } cases[] = {
        {INV_MSG_SALE_EVENT, "\"name\": \"quantity\"", "\"name\": \"qty\"",
         "schema SaleEvent: field 1 of SaleLine is qty, the codec expects quantity"},
        {INV_MSG_SALE_EVENT, "\"symbols\": [\"store\", \"online\"", "\"symbols\": [\"online\", \"store\"",
         "schema SaleEvent: field SaleEvent.channel: enum Channel symbol 0 is online, the codec expects store"},
        {INV_MSG_SALE_EVENT, "\"b2b\"]", "\"b2b\", \"kiosk\"]",
         "schema SaleEvent: field SaleEvent.channel: enum Channel symbol 4 is kiosk, the codec expects (none)"},
        {INV_MSG_RETURN_EVENT, "\"type\": [\"null\", \"string\"]", "\"type\": [\"string\", \"null\"]",
         "schema ReturnEvent: field ReturnEvent.original_event_id: is union, the codec expects a [\"null\", ...] "
         "union"},
        {INV_MSG_RESTOCK_EVENT, ", \"default\": null", "",
         "schema RestockEvent: field RestockEvent.purchase_order_id: optional field without \"default\": null"},
        {INV_MSG_STOCK_MOVEMENT, "{\"type\": \"long\", \"logicalType\": \"timestamp-millis\"}", "\"long\"",
         "schema StockMovement: field StockMovement.occurred_at: the codec expects logicalType timestamp-millis"},
        {INV_MSG_REORDER_POLICY, "\"name\": \"safety_stock\", \"type\": \"long\"",
         "\"name\": \"safety_stock\", \"type\": \"int\"",
         "schema ReorderPolicy: field ReorderPolicy.safety_stock: is int, the codec expects long"},
        {INV_MSG_STOCK_LEVEL, "\"fields\": [",
         "\"fields\": [{\"name\": \"extra\", \"type\": \"string\", \"doc\": \"x\"},",
         "schema StockLevel: record StockLevel has 14 fields, the codec knows 13"},
        {INV_MSG_STOCK_LEVEL, "\"name\": \"committed\", \"type\": \"long\", \"default\": 0",
         "\"name\": \"committed\", \"type\": \"long\", \"default\": 1",
         "schema StockLevel: field StockLevel.committed: the codec expects \"default\": 0"},
        {INV_MSG_STOCK_LEVEL, "\"name\": \"count_variance\", \"type\": \"long\", \"default\": 0",
         "\"name\": \"count_variance\", \"type\": \"long\"",
         "schema StockLevel: field StockLevel.count_variance: the codec expects \"default\": 0"},
        {INV_MSG_STOCK_LEVEL,
         "\"name\": \"last_count_at\", \"type\": [\"null\", {\"type\": \"long\", \"logicalType\": "
         "\"timestamp-millis\"}]",
         "\"name\": \"last_count_at\", \"type\": [\"null\", \"long\"]",
         "schema StockLevel: field StockLevel.last_count_at: the codec expects [\"null\", long timestamp-millis]"},
        {INV_MSG_STOCK_MOVEMENT, "\"type\": \"boolean\", \"default\": false", "\"type\": \"boolean\"",
         "schema StockMovement: field StockMovement.allow_partial: the codec expects \"default\": false"},
        {INV_MSG_STOCK_MOVEMENT, ", \"transfer_cancel\"]", "]",
         "schema StockMovement: field StockMovement.type: enum MovementType symbol 11 is (none), the codec expects "
         "transfer_cancel"},
        {INV_MSG_RESERVATION_EVENT, "[\"null\", {\"type\": \"long\", \"logicalType\": \"timestamp-millis\"}]",
         "[\"null\", \"long\"]",
         "schema ReservationEvent: field ReservationEvent.expires_at: the codec expects [\"null\", long "
         "timestamp-millis]"},
        {INV_MSG_TRANSFER_EVENT, "\"name\": \"rejected\", \"type\": \"long\"",
         "\"name\": \"rejected\", \"type\": \"int\"",
         "schema TransferEvent: field TransferLine.rejected: is int, the codec expects a plain long"},
        {INV_MSG_REORDER_EVENT, "\"namespace\": \"com.inventory.events\"", "\"namespace\": \"com.example\"",
         "schema ReorderEvent: namespace is com.example, the codec expects com.inventory.events"},
        {INV_MSG_SHORTAGE_EVENT, "\"name\": \"ShortageState\"", "\"name\": \"State\"",
         "schema ShortageEvent: field ShortageEvent.state: enum is named State, the codec expects ShortageState"},
        {INV_MSG_SHORTAGE_EVENT, "\"type\": \"record\"", "\"type\": \"recrod\"",
         "schema ShortageEvent: not a valid Avro schema: Unknown Avro \"type\": recrod"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = check_edited(cases[i].type, cases[i].from, cases[i].to);
        INV_ASSERT(rc == -1, "case %zu: rc %d: %s", i, rc, err);
        INV_ASSERT_EQ_STR(cases[i].error, err);
    }
}

int main(void) {
    INV_RUN(test_embedded_schemas_are_the_files);
    INV_RUN(test_every_schema_matches_the_codec);
    INV_RUN(test_every_field_and_type_has_a_doc);
    INV_RUN(test_schema_drift_is_caught);
    return INV_TEST_DONE();
}
