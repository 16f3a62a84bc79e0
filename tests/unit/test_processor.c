/* inv_processor without a broker: how each kind of input is decoded, judged
 * and split into movements that inv-stock's decoder accepts. */
#include "inv_processor.h"
#include "inv_test.h"

#include <stdint.h>
#include <string.h>

static inv_decoder_t *dec;
static inv_encoder_t *enc;
static inv_schema_resolver_t resolver;
static const inv_processor_limits_t WEEK = {.reservation_max_ttl_ms = 604800000};
static char err[512];

#define HOLD(expires, extra)                                                                                 \
    "{\"event_id\":\"RV-1\",\"source\":\"web\",\"reservation_id\":\"ORD-123\",\"action\":\"hold\","          \
    "\"location_id\":\"dc-1\",\"channel\":\"online\",\"occurred_at\":\"2026-11-22T10:00:00Z\"" expires extra \
    ",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2},{\"sku\":\"SKU-2\",\"quantity\":5}]}"

#define TRANSFER(status, rejected)                                                                               \
    "{\"event_id\":\"TR-9-" status "\",\"source\":\"wms\",\"transfer_id\":\"TR-9\",\"status\":\"" status         \
    "\",\"from_location_id\":\"dc-1\",\"to_location_id\":\"store-12\",\"occurred_at\":\"2026-11-22T10:00:00Z\"," \
    "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":24,\"rejected\":" rejected "}]}"

static int decode(inv_processor_kind_t kind, const char *json, const inv_processor_limits_t *limits,
                  inv_processor_input_t *in) {
    err[0] = '\0';
    return inv_processor_decode(dec, kind, limits, json, strlen(json), in, err, sizeof(err));
}

/* The movement of line `line`, encoded as JSON into out and decoded again by
 * a second decoder, as inv-stock reads it: 0, or -1 with err. */
static int movement_survives_the_keeper(const inv_processor_input_t *in, size_t line, inv_movement_t *m,
                                        inv_buf_t *out) {
    static char id[1024];
    if (inv_processor_movement(in, line, id, sizeof(id), m) != 0)
        return -1;
    if (inv_encoder_encode_movement(enc, m, out, err, sizeof(err)) != 0)
        return -1;
    inv_decoder_t *keeper = inv_decoder_new(&resolver, err, sizeof(err));
    if (!keeper)
        return -1;
    inv_movement_t back;
    int rc = inv_decoder_decode_movement(keeper, out->data, out->len, &back, err, sizeof(err));
    inv_decoder_destroy(keeper);
    return rc;
}

static void test_each_kind_reads_its_own_topic_key(void) {
    INV_ASSERT_EQ_STR("topic.sales", inv_processor_topic_key(INV_PROCESSOR_SALE));
    INV_ASSERT_EQ_STR("topic.returns", inv_processor_topic_key(INV_PROCESSOR_RETURN));
    INV_ASSERT_EQ_STR("topic.restocks", inv_processor_topic_key(INV_PROCESSOR_RESTOCK));
    INV_ASSERT_EQ_STR("topic.reservations", inv_processor_topic_key(INV_PROCESSOR_RESERVATION));
    INV_ASSERT_EQ_STR("topic.transfers", inv_processor_topic_key(INV_PROCESSOR_TRANSFER));
    INV_ASSERT(inv_processor_topic_key((inv_processor_kind_t)99) == NULL);
}

static void test_new_topics_and_ttl_have_contract_defaults(void) {
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_STR("pos.reservations", inv_conf_get(c, "topic.reservations"));
    INV_ASSERT_EQ_STR("pos.transfers", inv_conf_get(c, "topic.transfers"));
    INV_ASSERT_EQ_STR("inventory.channels", inv_conf_get(c, "topic.channels"));
    INV_ASSERT_EQ_STR("inventory.availability", inv_conf_get(c, "topic.availability"));
    INV_ASSERT_EQ_STR("inventory.reservation-status", inv_conf_get(c, "topic.reservation_status"));
    inv_processor_limits_t l;
    inv_processor_limits_read(c, &l);
    INV_ASSERT_EQ_INT(604800000, l.reservation_max_ttl_ms);
    INV_ASSERT(inv_conf_set(c, "reservation.max.ttl.ms", "0", err, sizeof(err)) != 0, "0 ms accepted");
    INV_ASSERT_EQ_INT(0, inv_conf_set(c, "reservation.max.ttl.ms", "3600000", err, sizeof(err)));
    inv_processor_limits_read(c, &l);
    INV_ASSERT_EQ_INT(3600000, l.reservation_max_ttl_ms);
    inv_conf_destroy(c);
}

static void test_sale_lines_still_become_sale_movements(void) {
    const char *s = "{\"event_id\":\"T-1\",\"source\":\"pos\",\"location_id\":\"store-12\",\"channel\":\"store\","
                    "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2}]}";
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_SALE, s, &WEEK, &in));
    INV_ASSERT_EQ_INT(1, in.line_count);
    inv_movement_t m;
    char id[64];
    INV_ASSERT_EQ_INT(0, inv_processor_movement(&in, 0, id, sizeof(id), &m));
    INV_ASSERT_EQ_STR("sale:T-1:0", m.movement_id);
    INV_ASSERT_EQ_INT(INV_MOVE_SALE, m.type);
    INV_ASSERT_EQ_INT(-1, inv_processor_movement(&in, 1, id, sizeof(id), &m));
}

static void test_hold_becomes_reserve_movements_with_every_reservation_field(void) {
    inv_processor_input_t in;
    INV_ASSERT(decode(INV_PROCESSOR_RESERVATION,
                      HOLD(",\"expires_at\":\"2026-11-22T10:30:00Z\"", ",\"allow_partial\":true"), &WEEK, &in) == 0,
               "%s", err);
    INV_ASSERT_EQ_INT(2, in.line_count);
    inv_movement_t m;
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = movement_survives_the_keeper(&in, 1, &m, &out);
    const char *want = "{\"movement_id\":\"reserve:RV-1:1\",\"sku\":\"SKU-2\",\"location_id\":\"dc-1\","
                       "\"channel\":\"online\",\"type\":\"reserve\",\"quantity\":5,"
                       "\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"source\":\"web\","
                       "\"reservation_id\":\"ORD-123\",\"expires_at\":\"2026-11-22T10:30:00.000Z\","
                       "\"transfer_id\":null,\"other_location_id\":null,\"rejected\":0,\"allow_partial\":true}";
    INV_EXPECT(rc == 0, "%s", err);
    INV_EXPECT(out.len == strlen(want) && memcmp(want, out.data, out.len) == 0, "%.*s", (int)out.len,
               (const char *)out.data);
    inv_buf_free(&out);
    INV_ASSERT_EQ_STR("reserve:RV-1:1", m.movement_id);
    INV_ASSERT_EQ_INT(INV_MOVE_RESERVE, m.type);
    INV_ASSERT(m.has_expires_at && m.allow_partial);
}

static void test_release_becomes_release_movements_without_hold_fields(void) {
    const char *rel = "{\"event_id\":\"RV-2\",\"source\":\"web\",\"reservation_id\":\"ORD-123\",\"action\":\"release\","
                      "\"location_id\":\"dc-1\",\"channel\":\"online\",\"occurred_at\":\"2026-11-22T11:00:00Z\","
                      "\"expires_at\":\"2027-11-22T10:00:00Z\",\"allow_partial\":true,"
                      "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2}]}";
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_RESERVATION, rel, &WEEK, &in));
    inv_movement_t m;
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = movement_survives_the_keeper(&in, 0, &m, &out);
    inv_buf_free(&out);
    INV_ASSERT(rc == 0, "%s", err);
    INV_ASSERT_EQ_STR("release:RV-2:0", m.movement_id);
    INV_ASSERT_EQ_INT(INV_MOVE_RELEASE, m.type);
    INV_ASSERT_EQ_STR("ORD-123", m.reservation_id);
    INV_ASSERT_EQ_INT(INV_CHANNEL_ONLINE, m.channel);
    INV_ASSERT(!m.has_expires_at && !m.allow_partial);
}

static void test_hold_expiring_exactly_at_the_ttl_is_accepted(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(
        0, decode(INV_PROCESSOR_RESERVATION, HOLD(",\"expires_at\":\"2026-11-29T10:00:00Z\"", ""), &WEEK, &in));
}

static void test_hold_expiring_after_the_ttl_goes_to_the_dlq(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(
        -1, decode(INV_PROCESSOR_RESERVATION, HOLD(",\"expires_at\":\"2026-11-29T10:00:00.001Z\"", ""), &WEEK, &in));
    INV_ASSERT_EQ_STR("expires_at: 2026-11-29T10:00:00.001Z is more than reservation.max.ttl.ms (604800000 ms) "
                      "after occurred_at 2026-11-22T10:00:00.000Z",
                      err);
    INV_ASSERT_EQ_INT(0, in.line_count);
    inv_processor_limits_t hour = {.reservation_max_ttl_ms = 3600000};
    INV_ASSERT_EQ_INT(
        -1, decode(INV_PROCESSOR_RESERVATION, HOLD(",\"expires_at\":\"2026-11-22T11:00:01Z\"", ""), &hour, &in));
    INV_ASSERT_EQ_STR("expires_at: 2026-11-22T11:00:01.000Z is more than reservation.max.ttl.ms (3600000 ms) "
                      "after occurred_at 2026-11-22T10:00:00.000Z",
                      err);
}

/* Dead letters are counted by class: the decoder's stage, or "rule" for a
 * rule of the program's configuration. */
static void test_each_dead_letter_has_a_class(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(
        -1, decode(INV_PROCESSOR_RESERVATION, HOLD(",\"expires_at\":\"2026-11-29T10:00:00.001Z\"", ""), &WEEK, &in));
    INV_ASSERT_EQ_STR("rule", inv_processor_error_class_name(in.error_class));
    INV_ASSERT_EQ_INT(-1, decode(INV_PROCESSOR_RESERVATION, HOLD("", ""), &WEEK, &in));
    INV_ASSERT_EQ_STR("field", inv_processor_error_class_name(in.error_class));
    INV_ASSERT_EQ_INT(-1, decode(INV_PROCESSOR_SALE, "{\"event_id\"", &WEEK, &in));
    INV_ASSERT_EQ_STR("json", inv_processor_error_class_name(in.error_class));
    INV_ASSERT_EQ_INT(-1, decode(INV_PROCESSOR_TRANSFER, "", &WEEK, &in));
    INV_ASSERT_EQ_STR("empty", inv_processor_error_class_name(in.error_class));
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_TRANSFER, TRANSFER("shipped", "0"), &WEEK, &in));
    INV_ASSERT_EQ_INT(0, in.error_class);
    INV_ASSERT_EQ_STR("transfer", inv_processor_kind_name(INV_PROCESSOR_TRANSFER));
    INV_ASSERT(inv_processor_kind_name((inv_processor_kind_t)99) == NULL, "an unknown kind has a name");
}

static void test_hold_without_expires_at_goes_to_the_dlq(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(-1, decode(INV_PROCESSOR_RESERVATION, HOLD("", ""), &WEEK, &in));
    INV_ASSERT_EQ_STR("expires_at: required for a hold", err);
}

static void test_shipped_becomes_transfer_out_at_the_source(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_TRANSFER, TRANSFER("shipped", "0"), &WEEK, &in));
    inv_movement_t m;
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = movement_survives_the_keeper(&in, 0, &m, &out);
    inv_buf_free(&out);
    INV_ASSERT(rc == 0, "%s", err);
    INV_ASSERT_EQ_STR("transfer_out:TR-9-shipped:0", m.movement_id);
    INV_ASSERT_EQ_INT(INV_MOVE_TRANSFER_OUT, m.type);
    INV_ASSERT_EQ_STR("dc-1", m.location_id);
    INV_ASSERT_EQ_STR("store-12", m.other_location_id);
    INV_ASSERT_EQ_STR("TR-9", m.transfer_id);
    INV_ASSERT_EQ_INT(INV_CHANNEL_NONE, m.channel);
    INV_ASSERT_EQ_INT(24, m.quantity);
}

static void test_received_becomes_transfer_in_at_the_destination_with_rejected(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_TRANSFER, TRANSFER("received", "3"), &WEEK, &in));
    inv_movement_t m;
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = movement_survives_the_keeper(&in, 0, &m, &out);
    inv_buf_free(&out);
    INV_ASSERT(rc == 0, "%s", err);
    INV_ASSERT_EQ_STR("transfer_in:TR-9-received:0", m.movement_id);
    INV_ASSERT_EQ_INT(INV_MOVE_TRANSFER_IN, m.type);
    INV_ASSERT_EQ_STR("store-12", m.location_id);
    INV_ASSERT_EQ_STR("dc-1", m.other_location_id);
    INV_ASSERT_EQ_INT(3, m.rejected);
}

static void test_canceled_becomes_transfer_cancel_at_the_source(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_TRANSFER, TRANSFER("canceled", "0"), &WEEK, &in));
    inv_movement_t m;
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = movement_survives_the_keeper(&in, 0, &m, &out);
    inv_buf_free(&out);
    INV_ASSERT(rc == 0, "%s", err);
    INV_ASSERT_EQ_STR("transfer_cancel:TR-9-canceled:0", m.movement_id);
    INV_ASSERT_EQ_INT(INV_MOVE_TRANSFER_CANCEL, m.type);
    INV_ASSERT_EQ_STR("dc-1", m.location_id);
    INV_ASSERT_EQ_STR("store-12", m.other_location_id);
    INV_ASSERT_EQ_INT(0, m.rejected);
}

static void test_rejected_on_a_shipped_transfer_goes_to_the_dlq(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(-1, decode(INV_PROCESSOR_TRANSFER, TRANSFER("shipped", "1"), &WEEK, &in));
    INV_ASSERT_EQ_STR("lines[0].rejected: 1, a shipped transfer has none (0)", err);
}

static void test_input_of_another_kind_is_judged_by_its_own_schema(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(-1,
                      decode(INV_PROCESSOR_TRANSFER, HOLD(",\"expires_at\":\"2026-11-22T10:30:00Z\"", ""), &WEEK, &in));
    INV_ASSERT_EQ_STR("transfer_id: missing, expected a string", err);
}

static void test_movement_id_too_long_for_the_buffer_fails(void) {
    inv_processor_input_t in;
    INV_ASSERT_EQ_INT(0, decode(INV_PROCESSOR_TRANSFER, TRANSFER("shipped", "0"), &WEEK, &in));
    char id[8];
    inv_movement_t m;
    INV_ASSERT_EQ_INT(-1, inv_processor_movement(&in, 0, id, sizeof(id), &m));
}

int main(void) {
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    enc = inv_encoder_new(INV_FORMAT_JSON, &resolver, err, sizeof(err));
    if (!dec || !enc) {
        fprintf(stderr, "codec: %s\n", err);
        return 1;
    }
    INV_RUN(test_each_kind_reads_its_own_topic_key);
    INV_RUN(test_new_topics_and_ttl_have_contract_defaults);
    INV_RUN(test_sale_lines_still_become_sale_movements);
    INV_RUN(test_hold_becomes_reserve_movements_with_every_reservation_field);
    INV_RUN(test_release_becomes_release_movements_without_hold_fields);
    INV_RUN(test_hold_expiring_exactly_at_the_ttl_is_accepted);
    INV_RUN(test_hold_expiring_after_the_ttl_goes_to_the_dlq);
    INV_RUN(test_hold_without_expires_at_goes_to_the_dlq);
    INV_RUN(test_each_dead_letter_has_a_class);
    INV_RUN(test_shipped_becomes_transfer_out_at_the_source);
    INV_RUN(test_received_becomes_transfer_in_at_the_destination_with_rejected);
    INV_RUN(test_canceled_becomes_transfer_cancel_at_the_source);
    INV_RUN(test_rejected_on_a_shipped_transfer_goes_to_the_dlq);
    INV_RUN(test_input_of_another_kind_is_judged_by_its_own_schema);
    INV_RUN(test_movement_id_too_long_for_the_buffer_fails);
    inv_encoder_destroy(enc);
    inv_decoder_destroy(dec);
    return INV_TEST_DONE();
}
