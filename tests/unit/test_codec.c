/*
 * inv_codec: round trips of every contract message through JSON and Avro,
 * the helpers (enums, times, resolver, buffers), and what the encoders
 * refuse. The malformed inputs are in test_codec_errors.c, the schemas in
 * test_codec_schemas.c.
 */
#include "inv_codec.h"
#include "inv_test.h"
#include "test_codec_util.h"

#include <limits.h>

#ifndef INV_CODEC_CASES
#error "INV_CODEC_CASES must name tests/unit/codec_cases"
#endif

static inv_schema_resolver_t resolver;
static inv_decoder_t *dec;
static inv_encoder_t *enc_json, *enc_avro;
static char err[512];

/* Calls fn(type, line, len) for every line of codec_cases/<Name>.jsonl. */
static int for_each_case(void (*fn)(inv_msg_type_t, const char *, size_t, int *), int *failed) {
    int count = 0;
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.jsonl", INV_CODEC_CASES, inv_msg_type_name((inv_msg_type_t)t));
        char *text = read_file(path, NULL);
        if (!text) {
            fprintf(stderr, "cannot read %s\n", path);
            *failed = 1;
            return 0;
        }
        for (char *line = strtok(text, "\n"); line && !*failed; line = strtok(NULL, "\n")) {
            fn((inv_msg_type_t)t, line, strlen(line), failed);
            count++;
        }
        free(text);
    }
    return count;
}

static void json_round_trip(inv_msg_type_t t, const char *line, size_t len, int *failed) {
    any_msg_t m;
    inv_buf_t out;
    inv_buf_init(&out);
    if (any_decode(dec, t, line, len, &m, err, sizeof(err))) {
        fprintf(stderr, "%s: decode failed: %s\n  %s\n", inv_msg_type_name(t), err, line);
        *failed = 1;
    } else if (any_encode(enc_json, t, &m, &out, err, sizeof(err))) {
        fprintf(stderr, "%s: encode failed: %s\n", inv_msg_type_name(t), err);
        *failed = 1;
    } else if (out.len != len || memcmp(out.data, line, len) != 0) {
        fprintf(stderr, "%s: JSON differs\n  in:  %s\n  out: %.*s\n", inv_msg_type_name(t), line, (int)out.len,
                out.data);
        *failed = 1;
    }
    inv_buf_free(&out);
}

static void test_every_message_round_trips_json_to_struct_to_json(void) {
    int failed = 0;
    int n = for_each_case(json_round_trip, &failed);
    INV_ASSERT(!failed, "see above");
    INV_ASSERT(n >= 2 * INV_MSG_COUNT, "only %d cases", n);
}

/* JSON -> struct -> Avro A -> struct -> Avro B: A == B, and the struct
 * decoded from Avro writes the original JSON again. */
static void avro_round_trip(inv_msg_type_t t, const char *line, size_t len, int *failed) {
    any_msg_t m;
    inv_buf_t a, b, j;
    inv_buf_init(&a);
    inv_buf_init(&b);
    inv_buf_init(&j);
    if (any_decode(dec, t, line, len, &m, err, sizeof(err)) || any_encode(enc_avro, t, &m, &a, err, sizeof(err)) ||
        any_decode(dec, t, a.data, a.len, &m, err, sizeof(err)) || any_encode(enc_avro, t, &m, &b, err, sizeof(err)) ||
        any_encode(enc_json, t, &m, &j, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n  %s\n", inv_msg_type_name(t), err, line);
        *failed = 1;
    } else if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        fprintf(stderr, "%s: Avro bytes differ after a round trip\n", inv_msg_type_name(t));
        *failed = 1;
    } else if (j.len != len || memcmp(j.data, line, len) != 0) {
        fprintf(stderr, "%s: JSON after Avro differs\n  in:  %s\n  out: %.*s\n", inv_msg_type_name(t), line, (int)j.len,
                j.data);
        *failed = 1;
    } else if (a.data[0] != 0 || a.data[4] != (char)inv_schema_default_ids[t]) {
        fprintf(stderr, "%s: bad Confluent header\n", inv_msg_type_name(t));
        *failed = 1;
    }
    inv_buf_free(&a);
    inv_buf_free(&b);
    inv_buf_free(&j);
}

static void test_every_message_round_trips_avro_to_struct_to_avro(void) {
    int failed = 0;
    for_each_case(avro_round_trip, &failed);
    INV_ASSERT(!failed, "see above");
}

static void test_decoded_sale_has_the_contract_values(void) {
    inv_event_t ev;
    const char *in =
        "{\"event_id\":\"T-1001\",\"source\":\"pos-store-12\",\"location_id\":\"store-12\","
        "\"channel\":\"store\",\"occurred_at\":\"2026-11-22T10:00:00Z\","
        "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2},{\"sku\":\"SKU-ü\",\"quantity\":9223372036854775807}]}";
    INV_ASSERT(inv_decoder_decode_event(dec, INV_EVENT_SALE, in, strlen(in), &ev, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_INT(INV_EVENT_SALE, ev.kind);
    INV_ASSERT_EQ_STR("T-1001", ev.event_id);
    INV_ASSERT_EQ_STR("pos-store-12", ev.source);
    INV_ASSERT_EQ_STR("store-12", ev.location_id);
    INV_ASSERT_EQ_INT(INV_CHANNEL_STORE, ev.channel);
    INV_ASSERT_EQ_INT(1795341600000LL, ev.occurred_at_ms);
    INV_ASSERT(ev.original_event_id == NULL && ev.purchase_order_id == NULL);
    INV_ASSERT_EQ_INT(2, ev.line_count);
    INV_ASSERT_EQ_STR("SKU-1", ev.lines[0].sku);
    INV_ASSERT_EQ_INT(2, ev.lines[0].quantity);
    INV_ASSERT_EQ_STR("SKU-ü", ev.lines[1].sku);
    INV_ASSERT_EQ_INT(INT64_MAX, ev.lines[1].quantity);
    INV_ASSERT_EQ_INT(INV_DISPOSITION_NONE, ev.lines[0].disposition);
}

static void test_decoded_return_and_restock_carry_their_own_fields(void) {
    inv_event_t ev;
    const char *ret = "{\"event_id\":\"R-77\",\"source\":\"web\",\"location_id\":\"dc-1\",\"channel\":\"online\","
                      "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"original_event_id\":\"T-1001\","
                      "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":1,\"disposition\":\"damaged\"}]}";
    const char *rst = "{\"event_id\":\"GR-5\",\"source\":\"wms\",\"location_id\":\"store-12\","
                      "\"occurred_at\":\"2026-11-22T10:00:00Z\",\"kind\":\"adjustment\","
                      "\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":-4}]}";
    INV_ASSERT(inv_decoder_decode_event(dec, INV_EVENT_RETURN, ret, strlen(ret), &ev, err, sizeof(err)) == 0, "%s",
               err);
    INV_ASSERT_EQ_STR("T-1001", ev.original_event_id);
    INV_ASSERT_EQ_INT(INV_DISPOSITION_DAMAGED, ev.lines[0].disposition);
    INV_ASSERT(inv_decoder_decode_event(dec, INV_EVENT_RESTOCK, rst, strlen(rst), &ev, err, sizeof(err)) == 0, "%s",
               err);
    INV_ASSERT_EQ_INT(INV_EVENT_RESTOCK, ev.kind);
    INV_ASSERT_EQ_INT(INV_RESTOCK_ADJUSTMENT, ev.restock_kind);
    INV_ASSERT_EQ_INT(INV_CHANNEL_NONE, ev.channel);
    INV_ASSERT(ev.purchase_order_id == NULL, "an absent optional field is NULL");
    INV_ASSERT_EQ_INT(-4, ev.lines[0].quantity);
}

static void test_unknown_json_fields_are_ignored(void) {
    inv_policy_t p;
    const char *in = "{\"future\":{\"nested\":[1,2,{\"x\":null}]},\"sku\":\"SKU-1\",\"location_id\":\"*\","
                     "\"reorder_point\":10,\"reorder_quantity\":24,\"safety_stock\":4,\"zzz\":true}";
    INV_ASSERT(inv_decoder_decode_policy(dec, in, strlen(in), &p, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_STR("*", p.location_id);
    INV_ASSERT_EQ_INT(24, p.reorder_quantity);
}

static void test_json_may_start_with_a_utf8_bom_and_end_with_whitespace(void) {
    inv_policy_t p;
    const char *in = "\xEF\xBB\xBF {\"sku\":\"S\",\"location_id\":\"*\",\"reorder_point\":1,"
                     "\"reorder_quantity\":2,\"safety_stock\":3}\r\n";
    INV_ASSERT(inv_decoder_decode_policy(dec, in, strlen(in), &p, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_INT(3, p.safety_stock);
}

static void test_json_times_accept_fractions_and_offsets(void) {
    static const struct {
        const char *in;
        int64_t ms;
    } cases[] = {
        {"2026-11-22T10:00:00Z", 1795341600000LL},
        {"2026-11-22T10:00:00.5Z", 1795341600500LL},
        {"2026-11-22T10:00:00.123456789Z", 1795341600123LL},
        {"2026-11-22T12:00:00+02:00", 1795341600000LL},
        {"2026-11-22T05:30:00.25-04:30", 1795341600250LL},
        {"2026-11-22t10:00:00z", 1795341600000LL},
        {"2026-11-22 10:00:00Z", 1795341600000LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2024-02-29T00:00:00Z", 1709164800000LL},
        {"0000-01-01T00:00:00Z", -62167219200000LL},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 0;
        INV_ASSERT(inv_time_parse_rfc3339(cases[i].in, &ms) == 0, "%s", cases[i].in);
        INV_ASSERT(ms == cases[i].ms, "%s: %" PRId64 " != %" PRId64, cases[i].in, ms, cases[i].ms);
    }
}

static void test_json_times_reject_what_is_not_rfc3339(void) {
    static const char *bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T10:00:00",
        "2026-11-22T10:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-22T24:00:00Z",
        "2026-11-22T10:60:00Z",
        "2026-11-22T10:00:60Z",
        "2026-11-22T10:00:00.Z",
        "2026-11-22T10:00:00+0200",
        "2026-11-22T10:00:00+24:00",
        "2026-11-22T10:00:00Z ",
        " 2026-11-22T10:00:00Z",
        "+2026-11-22T10:00:00Z",
        "20261-11-22T10:00:00Z",
        "2026-1-22T10:00:00Z",
        "0000-01-01T00:00:00+00:01",
        "yesterday",
        "2026-11-22X10:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-11-00T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        INV_ASSERT(inv_time_parse_rfc3339(bad[i], &ms) == -1, "\"%s\" was accepted", bad[i]);
        INV_ASSERT(ms == 42, "output written on failure");
    }
}

static void test_time_format_round_trips_over_the_whole_range(void) {
    char buf[32];
    uint64_t x = 88172645463325252ULL;
    const int64_t span = 253402300799999LL + 62167219200000LL;
    inv_time_format_rfc3339(1795341600123LL, buf);
    INV_ASSERT_EQ_STR("2026-11-22T10:00:00.123Z", buf);
    inv_time_format_rfc3339(-1, buf);
    INV_ASSERT_EQ_STR("1969-12-31T23:59:59.999Z", buf);
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % (uint64_t)(span + 1)) - 62167219200000LL, back;
        inv_time_format_rfc3339(ms, buf);
        INV_ASSERT(strlen(buf) == 24, "%s", buf);
        INV_ASSERT(inv_time_parse_rfc3339(buf, &back) == 0 && back == ms, "%" PRId64 " -> %s", ms, buf);
    }
}

static void test_enum_names_round_trip(void) {
    for (int c = INV_CHANNEL_STORE; c <= INV_CHANNEL_B2B; c++) {
        inv_channel_t back;
        INV_ASSERT(inv_channel_from_string(inv_channel_to_string((inv_channel_t)c), &back) == 0 &&
                   back == (inv_channel_t)c);
    }
    for (int t = INV_MOVE_SALE; t <= INV_MOVE_TRANSFER_CANCEL; t++) {
        inv_movement_type_t back;
        INV_ASSERT(inv_movement_type_from_string(inv_movement_type_to_string((inv_movement_type_t)t), &back) == 0 &&
                   back == (inv_movement_type_t)t);
    }
    for (int s = INV_SHORTAGE_LOW; s <= INV_SHORTAGE_RESTORED; s++) {
        inv_shortage_state_t back;
        INV_ASSERT(inv_shortage_state_from_string(inv_shortage_state_to_string((inv_shortage_state_t)s), &back) == 0 &&
                   back == (inv_shortage_state_t)s);
    }
    for (int k = INV_RESTOCK_RECEIPT; k <= INV_RESTOCK_COUNT; k++) {
        inv_restock_kind_t back;
        INV_ASSERT(inv_restock_kind_from_string(inv_restock_kind_to_string((inv_restock_kind_t)k), &back) == 0 &&
                   back == (inv_restock_kind_t)k);
    }
    for (int d = INV_DISPOSITION_RESELLABLE; d <= INV_DISPOSITION_DAMAGED; d++) {
        inv_disposition_t back;
        INV_ASSERT(inv_disposition_from_string(inv_disposition_to_string((inv_disposition_t)d), &back) == 0 &&
                   back == (inv_disposition_t)d);
    }
    INV_ASSERT_EQ_STR("return_damaged", inv_movement_type_to_string(INV_MOVE_RETURN_DAMAGED));
    INV_ASSERT_EQ_STR("out_of_stock", inv_shortage_state_to_string(INV_SHORTAGE_OUT_OF_STOCK));
    INV_ASSERT(inv_channel_to_string(INV_CHANNEL_NONE) == NULL, "NONE has no name");
    INV_ASSERT(inv_shortage_state_to_string(INV_SHORTAGE_NONE) == NULL, "NONE has no name");
    inv_channel_t c;
    INV_ASSERT(inv_channel_from_string("Store", &c) == -1, "names are exact");
    INV_ASSERT(inv_channel_from_string(NULL, &c) == -1);
}

static void test_new_enums_have_the_schema_names_and_movement_types_are_appended(void) {
    /* stored and written values of the first six types never change */
    INV_ASSERT_EQ_INT(5, INV_MOVE_COUNT);
    INV_ASSERT_EQ_INT(6, INV_MOVE_RESERVE);
    INV_ASSERT_EQ_INT(11, INV_MOVE_TRANSFER_CANCEL);
    INV_ASSERT_EQ_STR("transfer_cancel", inv_movement_type_to_string(INV_MOVE_TRANSFER_CANCEL));
    INV_ASSERT_EQ_STR("release", inv_reservation_action_to_string(INV_RESERVATION_RELEASE));
    INV_ASSERT_EQ_STR("canceled", inv_transfer_status_to_string(INV_TRANSFER_CANCELED));
    INV_ASSERT_EQ_STR("not_found", inv_reservation_state_to_string(INV_RESERVATION_NOT_FOUND));
    for (int a = INV_RESERVATION_HOLD; a <= INV_RESERVATION_RELEASE; a++) {
        inv_reservation_action_t back;
        INV_ASSERT(inv_reservation_action_from_string(inv_reservation_action_to_string((inv_reservation_action_t)a),
                                                      &back) == 0 &&
                   back == (inv_reservation_action_t)a);
    }
    for (int s = INV_TRANSFER_SHIPPED; s <= INV_TRANSFER_CANCELED; s++) {
        inv_transfer_status_t back;
        INV_ASSERT(inv_transfer_status_from_string(inv_transfer_status_to_string((inv_transfer_status_t)s), &back) ==
                       0 &&
                   back == (inv_transfer_status_t)s);
    }
    for (int s = INV_RESERVATION_HELD; s <= INV_RESERVATION_NOT_FOUND; s++) {
        inv_reservation_state_t back;
        INV_ASSERT(inv_reservation_state_from_string(inv_reservation_state_to_string((inv_reservation_state_t)s),
                                                     &back) == 0 &&
                   back == (inv_reservation_state_t)s);
    }
    inv_transfer_status_t ts;
    INV_ASSERT(inv_transfer_status_from_string("cancelled", &ts) == -1, "names are exact");
    INV_ASSERT(inv_reservation_state_to_string((inv_reservation_state_t)7) == NULL);
}

static void test_decoded_reservation_and_transfer_carry_their_fields(void) {
    inv_reservation_t rv;
    inv_transfer_t tr;
    const char *hold = "{\"event_id\":\"RV-1\",\"source\":\"web\",\"reservation_id\":\"ORD-123\",\"action\":\"hold\","
                       "\"location_id\":\"dc-1\",\"channel\":\"online\",\"occurred_at\":\"2026-11-22T10:00:00Z\","
                       "\"expires_at\":\"2026-11-22T10:30:00Z\",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2}]}";
    INV_ASSERT(inv_decoder_decode_reservation(dec, hold, strlen(hold), &rv, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_STR("ORD-123", rv.reservation_id);
    INV_ASSERT_EQ_INT(INV_RESERVATION_HOLD, rv.action);
    INV_ASSERT_EQ_INT(INV_CHANNEL_ONLINE, rv.channel);
    INV_ASSERT(rv.has_expires_at && rv.expires_at_ms == 1795341600000LL + 30 * 60 * 1000, "expires_at");
    INV_ASSERT(!rv.allow_partial, "allow_partial defaults to false");
    INV_ASSERT_EQ_INT(1, rv.line_count);
    INV_ASSERT_EQ_INT(2, rv.lines[0].quantity);
    const char *recv =
        "{\"event_id\":\"TR-9-recv\",\"source\":\"wms\",\"transfer_id\":\"TR-9\",\"status\":\"received\","
        "\"from_location_id\":\"dc-1\",\"to_location_id\":\"store-12\","
        "\"occurred_at\":\"2026-11-23T09:00:00Z\",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":24,"
        "\"rejected\":2},{\"sku\":\"SKU-2\",\"quantity\":1}]}";
    INV_ASSERT(inv_decoder_decode_transfer(dec, recv, strlen(recv), &tr, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_STR("TR-9", tr.transfer_id);
    INV_ASSERT_EQ_INT(INV_TRANSFER_RECEIVED, tr.status);
    INV_ASSERT_EQ_STR("dc-1", tr.from_location_id);
    INV_ASSERT_EQ_STR("store-12", tr.to_location_id);
    INV_ASSERT_EQ_INT(2, tr.line_count);
    INV_ASSERT_EQ_INT(2, tr.lines[0].rejected);
    INV_ASSERT_EQ_INT(0, tr.lines[1].rejected); /* absent: its default */
}

static void test_a_sale_movement_carries_the_sales_reservation_id(void) {
    inv_line_t line = {.sku = "SKU-1", .quantity = 2};
    inv_event_t sale = {.kind = INV_EVENT_SALE,
                        .event_id = "T-1",
                        .source = "web",
                        .location_id = "dc-1",
                        .channel = INV_CHANNEL_ONLINE,
                        .reservation_id = "ORD-123",
                        .lines = &line,
                        .line_count = 1},
                restock = sale;
    restock.kind = INV_EVENT_RESTOCK;
    char id[64];
    inv_movement_t m;
    memset(&m, 0xAB, sizeof(m)); /* every field is set, whatever was there */
    INV_ASSERT(inv_movement_from_line(&sale, 0, id, sizeof(id), &m) == 0);
    INV_ASSERT_EQ_STR("ORD-123", m.reservation_id);
    INV_ASSERT(!m.has_expires_at && !m.transfer_id && !m.other_location_id && m.rejected == 0 && !m.allow_partial);
    INV_ASSERT(inv_movement_from_line(&restock, 0, id, sizeof(id), &m) == 0);
    INV_ASSERT(m.reservation_id == NULL, "only sales carry it");
}

/* 1 when the encoded bytes (not NUL-terminated) end with tail. */
static int ends_with(const inv_buf_t *b, const char *tail) {
    size_t n = strlen(tail);
    return b->len >= n && memcmp(b->data + b->len - n, tail, n) == 0;
}

/* Writes sl with enc, reads it back into *back; the bytes stay in out. */
static int stock_level_round_trip(inv_encoder_t *enc, const inv_stock_level_t *sl, inv_buf_t *out,
                                  inv_stock_level_t *back) {
    if (inv_encoder_encode_stock_level(enc, sl, out, err, sizeof(err)))
        return -1;
    memset(back, 0xAB, sizeof(*back)); /* every field is set, whatever was there */
    return inv_decoder_decode_stock_level(dec, out->data, out->len, back, err, sizeof(err));
}

static void test_a_stock_level_carries_its_last_count_and_variance_in_json_and_avro(void) {
    inv_stock_level_t sl = {.sku = "SKU-1",
                            .location_id = "store-12",
                            .on_hand = 20,
                            .available = 20,
                            .updated_at_ms = 1795341600000LL,
                            .version = 5,
                            .has_last_count_at = 1,
                            .last_count_at_ms = 1795339800000LL,
                            .count_variance = -3},
                      back;
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT(stock_level_round_trip(enc_json, &sl, &out, &back) == 0, "%s", err);
    INV_ASSERT(ends_with(&out, ",\"last_count_at\":\"2026-11-22T09:30:00.000Z\",\"count_variance\":-3}"), "%.*s",
               (int)out.len, out.data);
    INV_ASSERT(back.has_last_count_at == 1 && back.last_count_at_ms == 1795339800000LL && back.count_variance == -3,
               "JSON: has %d at %lld variance %lld", back.has_last_count_at, (long long)back.last_count_at_ms,
               (long long)back.count_variance);
    INV_ASSERT(stock_level_round_trip(enc_avro, &sl, &out, &back) == 0, "%s", err);
    INV_ASSERT_EQ_INT(17, out.data[4]);
    INV_ASSERT(back.has_last_count_at == 1 && back.last_count_at_ms == 1795339800000LL && back.count_variance == -3,
               "Avro: has %d at %lld variance %lld", back.has_last_count_at, (long long)back.last_count_at_ms,
               (long long)back.count_variance);
    inv_buf_free(&out);
}

static void test_a_stock_level_before_any_count_has_a_null_last_count_and_no_variance(void) {
    inv_stock_level_t sl = {.sku = "SKU-1", .location_id = "*", .on_hand = 4, .version = 1}, back;
    sl.last_count_at_ms = 1795339800000LL; /* not present: not written */
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT(stock_level_round_trip(enc_json, &sl, &out, &back) == 0, "%s", err);
    INV_ASSERT(ends_with(&out, ",\"last_count_at\":null,\"count_variance\":0}"), "%.*s", (int)out.len, out.data);
    INV_ASSERT(back.has_last_count_at == 0 && back.last_count_at_ms == 0 && back.count_variance == 0, "JSON");
    INV_ASSERT(stock_level_round_trip(enc_avro, &sl, &out, &back) == 0, "%s", err);
    INV_ASSERT(back.has_last_count_at == 0 && back.last_count_at_ms == 0 && back.count_variance == 0, "Avro");
    inv_buf_free(&out);
    /* a JSON StockLevel of an earlier producer, without either field */
    const char *old = "{\"sku\":\"SKU-1\",\"location_id\":\"dc-1\",\"on_hand\":3,\"unsellable\":0,\"on_order\":0,"
                      "\"available\":3,\"updated_at\":\"2026-11-22T10:00:00Z\",\"version\":2}";
    memset(&back, 0xAB, sizeof(back));
    INV_ASSERT(inv_decoder_decode_stock_level(dec, old, strlen(old), &back, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT(back.has_last_count_at == 0 && back.last_count_at_ms == 0 && back.count_variance == 0, "old JSON");
}

static void test_message_type_names_and_formats(void) {
    static const char *names[INV_MSG_COUNT] = {
        "SaleEvent",       "ReturnEvent",       "RestockEvent",     "StockMovement",    "ReorderPolicy",
        "StockLevel",      "ReorderEvent",      "ShortageEvent",    "ReservationEvent", "TransferEvent",
        "ChannelLocation", "AvailabilityLevel", "ReservationStatus"};
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        inv_msg_type_t back;
        INV_ASSERT_EQ_STR(names[t], inv_msg_type_name((inv_msg_type_t)t));
        INV_ASSERT(inv_msg_type_from_name(inv_msg_type_name((inv_msg_type_t)t), &back) == 0 &&
                   back == (inv_msg_type_t)t);
        /* a schema that changed got a new id: SaleEvent, StockMovement and
         * StockLevel left 1, 4 and 6 to their earlier version, and StockLevel
         * left 16 to its second */
        static const int32_t ids[] = {14, 2, 3, 15, 5, 17, 7, 8, 9, 10, 11, 12, 13};
        INV_ASSERT_EQ_INT(ids[t], inv_schema_default_ids[t]);
    }
    INV_ASSERT(inv_msg_type_name(INV_MSG_COUNT) == NULL);
    inv_format_t f;
    INV_ASSERT(inv_format_from_string("avro", &f) == 0 && f == INV_FORMAT_AVRO);
    INV_ASSERT(inv_format_from_string("json", &f) == 0 && f == INV_FORMAT_JSON);
    INV_ASSERT(inv_format_from_string("xml", &f) == -1);
    INV_ASSERT_EQ_STR("avro", inv_format_to_string(INV_FORMAT_AVRO));
}

static void test_static_resolver_maps_ids_both_ways(void) {
    static const int32_t ids[INV_MSG_COUNT] = {101, 102, 103, 104, 105, 106, 107, 1 << 30, 109, 110, 111, 112, 113};
    inv_schema_resolver_t r;
    inv_msg_type_t t;
    inv_schema_resolver_static_init(&r, ids);
    INV_ASSERT(r.lookup_id(&r, 103, &t) == 0 && t == INV_MSG_RESTOCK_EVENT);
    INV_ASSERT(r.lookup_id(&r, 1 << 30, &t) == 0 && t == INV_MSG_SHORTAGE_EVENT);
    INV_ASSERT(r.lookup_id(&r, 1, &t) == -1);
    INV_ASSERT_EQ_INT(104, r.id_for(&r, INV_MSG_STOCK_MOVEMENT));
}

static void test_avro_header_carries_the_configured_schema_id(void) {
    static const int32_t ids[INV_MSG_COUNT] = {11, 12, 13, 0x01020304, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, ids);
    inv_encoder_t *e = inv_encoder_new(INV_FORMAT_AVRO, &r, err, sizeof(err));
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    INV_ASSERT(e && d, "%s", err);
    inv_movement_t m = {.movement_id = "receipt:GR-5:0",
                        .sku = "SKU-1",
                        .location_id = "s",
                        .type = INV_MOVE_RECEIPT,
                        .quantity = 24,
                        .occurred_at_ms = 0,
                        .source = "wms"},
                   back;
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = inv_encoder_encode_movement(e, &m, &out, err, sizeof(err));
    int ok = rc == 0 && out.len > 5 && memcmp(out.data, "\x00\x01\x02\x03\x04", 5) == 0;
    int rc2 = inv_decoder_decode_movement(d, out.data, out.len, &back, err, sizeof(err));
    int rc3 = inv_decoder_decode_movement(dec, out.data, out.len, &back, err, sizeof(err));
    inv_buf_free(&out);
    inv_encoder_destroy(e);
    inv_decoder_destroy(d);
    INV_ASSERT(ok, "header is 00 01020304");
    INV_ASSERT(rc2 == 0, "%s", err);
    INV_ASSERT(rc3 == -1, "the default ids do not know 16909060");
    INV_ASSERT_EQ_STR("unknown schema id 16909060", err);
}

static void test_decoder_refuses_ids_shared_by_two_types(void) {
    static const int32_t ids[INV_MSG_COUNT] = {1, 2, 3, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    static const int32_t neg[INV_MSG_COUNT] = {1, 2, 3, 4, 5, -6, 7, 8};
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, ids);
    INV_ASSERT(inv_decoder_new(&r, err, sizeof(err)) == NULL);
    INV_ASSERT_EQ_STR("schema.id.StockMovement: 3 is also the id of RestockEvent", err);
    INV_ASSERT(inv_encoder_new(INV_FORMAT_AVRO, &r, err, sizeof(err)) == NULL);
    inv_schema_resolver_static_init(&r, neg);
    INV_ASSERT(inv_decoder_new(&r, err, sizeof(err)) == NULL);
    INV_ASSERT_EQ_STR("schema.id.StockLevel: -6 is negative", err);
    INV_ASSERT(inv_encoder_new((inv_format_t)7, &resolver, err, sizeof(err)) == NULL);
    INV_ASSERT_EQ_STR("unknown output format 7", err);
}

static void test_json_encoder_needs_no_resolver(void) {
    inv_encoder_t *e = inv_encoder_new(INV_FORMAT_JSON, NULL, err, sizeof(err));
    INV_ASSERT(e != NULL, "%s", err);
    inv_policy_t p = {.sku = "SKU-1", .location_id = "*", .reorder_point = 1, .reorder_quantity = 2, .safety_stock = 3};
    inv_buf_t out;
    inv_buf_init(&out);
    int rc = inv_encoder_encode_policy(e, &p, &out, err, sizeof(err));
    int same = rc == 0 && out.len == strlen("{\"sku\":\"SKU-1\",\"location_id\":\"*\",\"reorder_point\":1,"
                                            "\"reorder_quantity\":2,\"safety_stock\":3}");
    inv_buf_free(&out);
    inv_encoder_destroy(e);
    INV_ASSERT(same, "%s", err);
}

static void test_restock_movements_write_a_null_channel(void) {
    inv_movement_t m = {.movement_id = "count:C:0",
                        .sku = "S",
                        .location_id = "L",
                        .channel = INV_CHANNEL_NONE,
                        .type = INV_MOVE_COUNT,
                        .quantity = 0,
                        .occurred_at_ms = 0,
                        .source = "x"};
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT(inv_encoder_encode_movement(enc_json, &m, &out, err, sizeof(err)) == 0, "%s", err);
    const char *want =
        "{\"movement_id\":\"count:C:0\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":null,"
        "\"type\":\"count\",\"quantity\":0,\"occurred_at\":\"1970-01-01T00:00:00.000Z\",\"source\":\"x\","
        "\"reservation_id\":null,\"expires_at\":null,\"transfer_id\":null,\"other_location_id\":null,\"rejected\":0,"
        "\"allow_partial\":false}";
    int same = out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
    inv_buf_free(&out);
    INV_ASSERT(same, "want %s", want);
}

static void test_json_strings_are_escaped(void) {
    const char *hostile = "a\"b\\c\n\x01\x1f\x7f/é";
    inv_policy_t p = {.sku = hostile, .location_id = "L"};
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT(inv_encoder_encode_policy(enc_json, &p, &out, err, sizeof(err)) == 0, "%s", err);
    const char *want = "{\"sku\":\"a\\\"b\\\\c\\n\\u0001\\u001f\x7f/é\",\"location_id\":\"L\",\"reorder_point\":0,"
                       "\"reorder_quantity\":0,\"safety_stock\":0}";
    int same = out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
    /* read back in a string that may hold control characters (not an id) */
    inv_movement_t m = {
        .movement_id = "count:C-1:0", .sku = "S", .location_id = "L", .type = INV_MOVE_COUNT, .source = hostile};
    inv_movement_t back;
    int rc = inv_encoder_encode_movement(enc_json, &m, &out, err, sizeof(err)) ||
             inv_decoder_decode_movement(dec, out.data, out.len, &back, err, sizeof(err));
    inv_buf_free(&out);
    INV_ASSERT(same, "want %s", want);
    INV_ASSERT(rc == 0 && strcmp(back.source, hostile) == 0, "%s", err);
}

/* The encoders check what the wire needs, nothing of the contract: a tool can
 * write a sale with a negative quantity, and the decoder rejects it. */
static void test_encoders_write_contract_violations_the_decoder_rejects(void) {
    inv_line_t line = {.sku = "SKU-1", .quantity = -3};
    inv_event_t ev = {.kind = INV_EVENT_SALE,
                      .event_id = "",
                      .source = "s",
                      .location_id = "l",
                      .channel = INV_CHANNEL_STORE,
                      .lines = &line,
                      .line_count = 1};
    inv_buf_t out;
    inv_event_t back;
    inv_buf_init(&out);
    INV_ASSERT(inv_encoder_encode_event(enc_avro, &ev, &out, err, sizeof(err)) == 0, "%s", err);
    int rc = inv_decoder_decode_event(dec, INV_EVENT_SALE, out.data, out.len, &back, err, sizeof(err));
    inv_buf_free(&out);
    INV_ASSERT(rc == -1);
    INV_ASSERT_EQ_STR("event_id: empty string, expected 1 to 256 bytes", err);
}

static void expect_encode_error(inv_encoder_t *e, const inv_event_t *ev, const char *want) {
    inv_buf_t out;
    inv_buf_init(&out);
    out.len = 99;
    int rc = inv_encoder_encode_event(e, ev, &out, err, sizeof(err));
    size_t len = out.len;
    inv_buf_free(&out);
    INV_EXPECT(rc == -1 && len == 0 && strcmp(err, want) == 0, "%s: rc %d len %zu, \"%s\", want \"%s\"",
               inv_format_to_string(e == enc_json ? INV_FORMAT_JSON : INV_FORMAT_AVRO), rc, len, err, want);
}

static void test_encoders_refuse_what_cannot_be_written(void) {
    inv_line_t lines[2] = {{.sku = "SKU-1", .quantity = 1, .disposition = INV_DISPOSITION_RESELLABLE},
                           {.sku = NULL, .quantity = 1, .disposition = INV_DISPOSITION_DAMAGED}};
    inv_event_t ev = {.kind = INV_EVENT_RETURN,
                      .event_id = "R",
                      .source = "s",
                      .location_id = "l",
                      .channel = INV_CHANNEL_STORE,
                      .lines = lines,
                      .line_count = 2};
    for (int f = 0; f < 2; f++) {
        inv_encoder_t *e = f ? enc_avro : enc_json;
        inv_event_t x = ev;
        lines[1].sku = NULL;
        expect_encode_error(e, &x, "lines[1].sku: NULL, expected a string");
        lines[1].sku = "bad \xc3\x28 utf8";
        expect_encode_error(e, &x, "lines[1].sku: invalid UTF-8 at byte 4");
        lines[1].sku = "ok";
        lines[1].disposition = INV_DISPOSITION_NONE;
        expect_encode_error(e, &x, "lines[1].disposition: enum value 0 is not a disposition (resellable, damaged)");
        lines[1].disposition = INV_DISPOSITION_DAMAGED;
        x.channel = INV_CHANNEL_NONE;
        expect_encode_error(e, &x, "channel: enum value 0 is not a channel (store, online, marketplace, b2b)");
        x.channel = INV_CHANNEL_B2B;
        x.occurred_at_ms = INT64_MAX;
        expect_encode_error(e, &x, "occurred_at: 9223372036854775807 ms is outside the years 0000 to 9999");
        x.occurred_at_ms = 0;
        x.lines = NULL;
        expect_encode_error(e, &x, "lines: NULL with line_count 2");
        x.lines = lines;
        x.kind = (inv_event_kind_t)9;
        expect_encode_error(e, &x, "kind: 9 is not a sale, return or restock");
        x.kind = INV_EVENT_RETURN;
        x.event_id = NULL;
        expect_encode_error(e, &x, "event_id: NULL, expected a string");
    }
}

static void test_encoders_refuse_a_last_count_outside_the_years_0000_to_9999(void) {
    inv_stock_level_t sl = {.sku = "S", .location_id = "L", .has_last_count_at = 1, .last_count_at_ms = INT64_MIN};
    for (int f = 0; f < 2; f++) {
        inv_buf_t out;
        inv_buf_init(&out);
        int rc = inv_encoder_encode_stock_level(f ? enc_avro : enc_json, &sl, &out, err, sizeof(err));
        INV_EXPECT(rc == -1 && out.len == 0, "rc %d len %zu", rc, out.len);
        INV_EXPECT(strcmp(err, "last_count_at: -9223372036854775808 ms is outside the years 0000 to 9999") == 0, "%s",
                   err);
        inv_buf_free(&out);
    }
}

static void test_decoder_reuses_its_line_arena(void) {
    const char *a = "{\"event_id\":\"A\",\"source\":\"s\",\"location_id\":\"l\",\"channel\":\"store\","
                    "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"lines\":[{\"sku\":\"X\",\"quantity\":1},"
                    "{\"sku\":\"Y\",\"quantity\":1}]}";
    inv_event_t e1, e2;
    INV_ASSERT(inv_decoder_decode_event(dec, INV_EVENT_SALE, a, strlen(a), &e1, err, sizeof(err)) == 0, "%s", err);
    const inv_line_t *first = e1.lines;
    INV_ASSERT(inv_decoder_decode_event(dec, INV_EVENT_SALE, a, strlen(a), &e2, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT(e2.lines == first, "the lines array is reused, not reallocated");
}

/* The largest event the contract allows: 1000 lines of 256-byte SKUs,
 * through both formats (the Avro one outgrows the encoder's first buffer). */
static void test_largest_event_round_trips(void) {
    static inv_line_t lines[INV_CODEC_MAX_LINES];
    static char skus[INV_CODEC_MAX_LINES][INV_CODEC_MAX_ID_LEN + 1];
    for (int i = 0; i < INV_CODEC_MAX_LINES; i++) {
        memset(skus[i], 'a' + i % 26, INV_CODEC_MAX_ID_LEN);
        snprintf(skus[i], 8, "%06d", i);
        skus[i][6] = '-';
        lines[i].sku = skus[i];
        lines[i].quantity = INT64_MAX - i;
    }
    inv_event_t ev = {.kind = INV_EVENT_RESTOCK,
                      .event_id = skus[7],
                      .source = "s",
                      .location_id = skus[8],
                      .restock_kind = INV_RESTOCK_COUNT,
                      .purchase_order_id = skus[9],
                      .occurred_at_ms = 1,
                      .lines = lines,
                      .line_count = INV_CODEC_MAX_LINES};
    for (int f = 0; f < 2; f++) {
        inv_buf_t out;
        inv_event_t back;
        inv_buf_init(&out);
        int rc = inv_encoder_encode_event(f ? enc_avro : enc_json, &ev, &out, err, sizeof(err));
        int rc2 =
            rc ? -1 : inv_decoder_decode_event(dec, INV_EVENT_RESTOCK, out.data, out.len, &back, err, sizeof(err));
        size_t len = out.len;
        inv_buf_free(&out);
        INV_ASSERT(rc == 0 && rc2 == 0, "%s", err);
        INV_ASSERT(len > INV_CODEC_MAX_LINES * INV_CODEC_MAX_ID_LEN);
        INV_ASSERT_EQ_INT(INV_CODEC_MAX_LINES, back.line_count);
        INV_ASSERT_EQ_STR(skus[999], back.lines[999].sku);
        INV_ASSERT_EQ_INT(INT64_MAX - 999, back.lines[999].quantity);
        INV_ASSERT_EQ_STR(skus[9], back.purchase_order_id);
    }
}

/* Avro lets a writer split an array into blocks, with a negative count
 * followed by the block's byte size; fastavro and Java may do so. */
static void test_avro_arrays_in_several_blocks_decode(void) {
    unsigned char buf[256];
    size_t len =
        avro_spec(buf, sizeof(buf), "@14 s:T-1 s:pos s:store-1 e:1 l:0 a:1 s:A l:1 a:-2 l:6 s:B l:2 s:C l:3 a:0 u:0");
    inv_event_t ev;
    INV_ASSERT(len > 0);
    INV_ASSERT(inv_decoder_decode_event(dec, INV_EVENT_SALE, buf, len, &ev, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_INT(3, ev.line_count);
    INV_ASSERT_EQ_STR("C", ev.lines[2].sku);
    INV_ASSERT_EQ_INT(3, ev.lines[2].quantity);
    INV_ASSERT_EQ_INT(INV_CHANNEL_ONLINE, ev.channel);
}

static void test_encoding_reuses_the_callers_buffer(void) {
    inv_policy_t p = {.sku = "SKU-1", .location_id = "L", .reorder_point = 1};
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT(inv_encoder_encode_policy(enc_avro, &p, &out, err, sizeof(err)) == 0, "%s", err);
    char *data = out.data;
    size_t len = out.len;
    for (int i = 0; i < 100; i++)
        inv_encoder_encode_policy(enc_avro, &p, &out, err, sizeof(err));
    int same = out.data == data && out.len == len;
    inv_buf_free(&out);
    INV_ASSERT(same, "no reallocation for messages that fit");
    INV_ASSERT(out.data == NULL && out.len == 0 && out.cap == 0);
}

static void test_buf_append_grows_and_keeps_a_nul(void) {
    inv_buf_t b;
    inv_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        INV_ASSERT_EQ_INT(0, inv_buf_append(&b, "ab", 2));
    INV_ASSERT_EQ_INT(2000, b.len);
    INV_ASSERT(b.cap > b.len && b.data[b.len] == '\0', "cap %zu", b.cap);
    INV_ASSERT(memcmp(b.data + 1996, "abab", 4) == 0, "tail %.4s", b.data + 1996);
    inv_buf_free(&b);
    INV_ASSERT(b.data == NULL && b.len == 0, "freed");
}

int main(void) {
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    enc_json = inv_encoder_new(INV_FORMAT_JSON, &resolver, err, sizeof(err));
    enc_avro = inv_encoder_new(INV_FORMAT_AVRO, &resolver, err, sizeof(err));
    if (!dec || !enc_json || !enc_avro) {
        fprintf(stderr, "codec setup failed: %s\n", err);
        return 1;
    }
    INV_RUN(test_every_message_round_trips_json_to_struct_to_json);
    INV_RUN(test_every_message_round_trips_avro_to_struct_to_avro);
    INV_RUN(test_decoded_sale_has_the_contract_values);
    INV_RUN(test_decoded_return_and_restock_carry_their_own_fields);
    INV_RUN(test_unknown_json_fields_are_ignored);
    INV_RUN(test_json_may_start_with_a_utf8_bom_and_end_with_whitespace);
    INV_RUN(test_json_times_accept_fractions_and_offsets);
    INV_RUN(test_json_times_reject_what_is_not_rfc3339);
    INV_RUN(test_time_format_round_trips_over_the_whole_range);
    INV_RUN(test_enum_names_round_trip);
    INV_RUN(test_new_enums_have_the_schema_names_and_movement_types_are_appended);
    INV_RUN(test_decoded_reservation_and_transfer_carry_their_fields);
    INV_RUN(test_a_sale_movement_carries_the_sales_reservation_id);
    INV_RUN(test_a_stock_level_carries_its_last_count_and_variance_in_json_and_avro);
    INV_RUN(test_a_stock_level_before_any_count_has_a_null_last_count_and_no_variance);
    INV_RUN(test_message_type_names_and_formats);
    INV_RUN(test_static_resolver_maps_ids_both_ways);
    INV_RUN(test_avro_header_carries_the_configured_schema_id);
    INV_RUN(test_decoder_refuses_ids_shared_by_two_types);
    INV_RUN(test_json_encoder_needs_no_resolver);
    INV_RUN(test_restock_movements_write_a_null_channel);
    INV_RUN(test_json_strings_are_escaped);
    INV_RUN(test_encoders_write_contract_violations_the_decoder_rejects);
    INV_RUN(test_encoders_refuse_what_cannot_be_written);
    INV_RUN(test_encoders_refuse_a_last_count_outside_the_years_0000_to_9999);
    INV_RUN(test_decoder_reuses_its_line_arena);
    INV_RUN(test_largest_event_round_trips);
    INV_RUN(test_avro_arrays_in_several_blocks_decode);
    INV_RUN(test_encoding_reuses_the_callers_buffer);
    INV_RUN(test_buf_append_grows_and_keeps_a_nul);
    inv_decoder_destroy(dec);
    inv_encoder_destroy(enc_json);
    inv_encoder_destroy(enc_avro);
    return INV_TEST_DONE();
}
