/*
 * inv_codec: every schema changed since an earlier release stays BACKWARD
 * compatible: records written with an earlier version (schemas/v1/, then
 * schemas/v2/: each changed schema as it was before)
 * decode through Avro schema resolution, served as the writer schema of
 * their id, to the same model values as before, the new fields at their
 * defaults (NULL, 0, false). test_schema_backward.py checks the same
 * schemas with fastavro's resolution.
 */
#include "inv_codec.h"
#include "inv_test.h"
#include "test_codec_util.h"

#ifndef INV_SCHEMAS_DIR
#error "INV_SCHEMAS_DIR must name schemas/"
#endif

static char err[512];

/* The earlier schemas, each served under 100 * its version + its type's
 * default id (v1 StockLevel 117, v2 StockLevel 217). */
static const struct {
    inv_msg_type_t type;
    int version; /* schemas/v<version>/ */
} changed[] = {
    {INV_MSG_SALE_EVENT, 1}, {INV_MSG_STOCK_MOVEMENT, 1}, {INV_MSG_STOCK_LEVEL, 1}, {INV_MSG_STOCK_LEVEL, 2}};
#define CHANGED (sizeof(changed) / sizeof(changed[0]))
#define PREVIOUS_ID(t, version) (100 * (version) + inv_schema_default_ids[t])
static char *previous[CHANGED];

static int32_t prev_id_for(const inv_schema_resolver_t *r, inv_msg_type_t type) {
    (void)r;
    return inv_schema_default_ids[type];
}

static int prev_writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len, char *errstr,
                              size_t n) {
    (void)r;
    for (size_t i = 0; i < CHANGED; i++)
        if (id == PREVIOUS_ID(changed[i].type, changed[i].version)) {
            *json = previous[i];
            *len = strlen(*json);
            return 0;
        }
    for (int t = 0; t < INV_MSG_COUNT; t++)
        if (id == inv_schema_default_ids[t]) {
            *json = inv_schema_json((inv_msg_type_t)t);
            *len = strlen(*json);
            return 0;
        }
    snprintf(errstr, n, "no schema %d", (int)id);
    return INV_SCHEMA_UNKNOWN;
}

/* No static map: the ids above 100 are extra writer schemas, as a
 * registry serves them. */
static inv_schema_resolver_t resolver = {NULL, prev_id_for, prev_writer_schema, NULL};
static inv_decoder_t *dec;
static inv_encoder_t *enc_json;

static size_t old_record(unsigned char *buf, size_t cap, inv_msg_type_t t, int version, const char *body) {
    char s[1024];
    snprintf(s, sizeof(s), "@%d %s", (int)PREVIOUS_ID(t, version), body);
    return avro_spec(buf, cap, s);
}

/* Decodes the record of schemas/v<version>/ and writes it as JSON with our
 * encoder. */
static int old_to_json(inv_msg_type_t t, int version, const char *body, any_msg_t *m, char *json, size_t size) {
    unsigned char buf[1024];
    inv_buf_t out;
    size_t n = old_record(buf, sizeof(buf), t, version, body);
    inv_buf_init(&out);
    int rc = any_decode(dec, t, buf, n, m, err, sizeof(err)) || any_encode(enc_json, t, m, &out, err, sizeof(err));
    if (rc == 0)
        snprintf(json, size, "%.*s", (int)out.len, out.data);
    inv_buf_free(&out);
    return rc;
}

static void test_the_previous_schemas_are_not_ours(void) {
    for (size_t i = 0; i < CHANGED; i++)
        INV_ASSERT(strcmp(previous[i], inv_schema_json(changed[i].type)) != 0, "%s v%d did not change",
                   inv_msg_type_name(changed[i].type), changed[i].version);
}

static void test_a_sale_written_with_the_previous_schema_reads_without_a_reservation(void) {
    any_msg_t m;
    char json[1024];
    INV_ASSERT(old_to_json(INV_MSG_SALE_EVENT, 1,
                           "s:T-1 s:pos s:store-1 e:1 l:1795341600000 a:2 s:SKU-1 l:2 s:SKU-2 l:5 a:0", &m, json,
                           sizeof(json)) == 0,
               "%s", err);
    INV_ASSERT_EQ_STR("T-1", m.ev.event_id);
    INV_ASSERT_EQ_INT(INV_CHANNEL_ONLINE, m.ev.channel);
    INV_ASSERT_EQ_INT(2, m.ev.line_count);
    INV_ASSERT_EQ_INT(5, m.ev.lines[1].quantity);
    INV_ASSERT(m.ev.reservation_id == NULL, "reservation_id defaults to null");
    INV_ASSERT_EQ_STR("{\"event_id\":\"T-1\",\"source\":\"pos\",\"location_id\":\"store-1\",\"channel\":\"online\","
                      "\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"lines\":[{\"sku\":\"SKU-1\",\"quantity\":2},"
                      "{\"sku\":\"SKU-2\",\"quantity\":5}],\"reservation_id\":null}",
                      json);
}

static void test_movements_of_every_previous_type_read_with_the_new_fields_absent(void) {
    static const struct {
        const char *body, *type;
    } cases[] = {
        {"s:sale:T-1:0 s:SKU-1 s:store-1 u:1 e:0 e:0 l:2 l:1795341600000 s:pos", "sale"},
        {"s:return_resellable:R-1:0 s:SKU-1 s:store-1 u:1 e:1 e:1 l:1 l:1795341600000 s:web", "return_resellable"},
        {"s:return_damaged:R-1:1 s:SKU-1 s:store-1 u:1 e:2 e:2 l:1 l:1795341600000 s:web", "return_damaged"},
        {"s:receipt:GR-1:0 s:SKU-1 s:store-1 u:0 e:3 l:24 l:1795341600000 s:wms", "receipt"},
        {"s:adjustment:A-1:0 s:SKU-1 s:store-1 u:0 e:4 l:-3 l:1795341600000 s:wms", "adjustment"},
        {"s:count:C-1:0 s:SKU-1 s:store-1 u:0 e:5 l:0 l:1795341600000 s:wms", "count"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        any_msg_t m;
        char json[1024], want[256];
        INV_ASSERT(old_to_json(INV_MSG_STOCK_MOVEMENT, 1, cases[i].body, &m, json, sizeof(json)) == 0, "case %zu: %s",
                   i, err);
        INV_ASSERT_EQ_STR(cases[i].type, inv_movement_type_to_string(m.mv.type));
        INV_ASSERT(m.mv.reservation_id == NULL && !m.mv.has_expires_at && m.mv.expires_at_ms == 0 &&
                       m.mv.transfer_id == NULL && m.mv.other_location_id == NULL && m.mv.rejected == 0 &&
                       !m.mv.allow_partial,
                   "case %zu: a new field is not at its default", i);
        snprintf(want, sizeof(want),
                 ",\"source\":\"%s\",\"reservation_id\":null,\"expires_at\":null,\"transfer_id\":null,"
                 "\"other_location_id\":null,\"rejected\":0,\"allow_partial\":false}",
                 m.mv.source);
        INV_ASSERT(strlen(json) > strlen(want) && strcmp(json + strlen(json) - strlen(want), want) == 0, "case %zu: %s",
                   i, json);
    }
}

static void test_a_stock_level_written_with_the_previous_schema_has_nothing_committed_or_in_transit(void) {
    any_msg_t m;
    char json[1024];
    INV_ASSERT(old_to_json(INV_MSG_STOCK_LEVEL, 1, "s:SKU-1 s:* l:-3 l:1 l:24 l:0 l:1795341600000 l:7", &m, json,
                           sizeof(json)) == 0,
               "%s", err);
    INV_ASSERT_EQ_INT(-3, m.sl.on_hand);
    INV_ASSERT_EQ_INT(24, m.sl.on_order);
    INV_ASSERT_EQ_INT(7, m.sl.version);
    INV_ASSERT(m.sl.has_last_count_at == 0 && m.sl.count_variance == 0, "no count before counts were carried");
    INV_ASSERT_EQ_STR("{\"sku\":\"SKU-1\",\"location_id\":\"*\",\"on_hand\":-3,\"unsellable\":1,\"on_order\":24,"
                      "\"available\":0,\"updated_at\":\"2026-11-22T10:00:00.000Z\",\"version\":7,\"committed\":0,"
                      "\"incoming\":0,\"in_transit_out\":0,\"last_count_at\":null,\"count_variance\":0}",
                      json);
}

static void test_a_stock_level_written_with_the_second_schema_has_no_last_count_and_no_variance(void) {
    any_msg_t m;
    char json[1024];
    INV_ASSERT(old_to_json(INV_MSG_STOCK_LEVEL, 2, "s:SKU-1 s:dc-1 l:10 l:1 l:0 l:8 l:1795341600000 l:4 l:2 l:5 l:7",
                           &m, json, sizeof(json)) == 0,
               "%s", err);
    INV_ASSERT(m.sl.committed == 2 && m.sl.incoming == 5 && m.sl.in_transit_out == 7, "v2 fields kept");
    INV_ASSERT(m.sl.has_last_count_at == 0 && m.sl.last_count_at_ms == 0 && m.sl.count_variance == 0,
               "has %d at %lld variance %lld", m.sl.has_last_count_at, (long long)m.sl.last_count_at_ms,
               (long long)m.sl.count_variance);
    INV_ASSERT_EQ_STR("{\"sku\":\"SKU-1\",\"location_id\":\"dc-1\",\"on_hand\":10,\"unsellable\":1,\"on_order\":0,"
                      "\"available\":8,\"updated_at\":\"2026-11-22T10:00:00.000Z\",\"version\":4,\"committed\":2,"
                      "\"incoming\":5,\"in_transit_out\":7,\"last_count_at\":null,\"count_variance\":0}",
                      json);
}

/* A record of the previous version and the same record under our schema
 * (the new fields at their defaults) decode to the same model values. */
static void test_the_same_record_under_either_version_decodes_the_same(void) {
    unsigned char a[512], b[512];
    inv_movement_t old_m, new_m;
    char what[256];
    size_t na = old_record(a, sizeof(a), INV_MSG_STOCK_MOVEMENT, 1,
                           "s:sale:T-1:0 s:SKU-1 s:store-1 u:1 e:3 e:0 l:2 l:1795341600000 s:pos");
    size_t nb = avro_spec(b, sizeof(b),
                          "@15 s:sale:T-1:0 s:SKU-1 s:store-1 u:1 e:3 e:0 l:2 l:1795341600000 s:pos u:0 u:0 u:0 u:0 "
                          "l:0 x:00");
    INV_ASSERT(inv_decoder_decode_movement(dec, a, na, &old_m, err, sizeof(err)) == 0, "%s", err);
    char id_old[64], sku_old[64];
    snprintf(id_old, sizeof(id_old), "%s", old_m.movement_id);
    snprintf(sku_old, sizeof(sku_old), "%s", old_m.sku);
    INV_ASSERT(inv_decoder_decode_movement(dec, b, nb, &new_m, err, sizeof(err)) == 0, "%s", err);
    old_m.movement_id = id_old; /* the strings of the first decode are gone */
    old_m.sku = sku_old;
    old_m.location_id = new_m.location_id;
    old_m.source = new_m.source;
    INV_ASSERT(movement_diff(&old_m, &new_m, what, sizeof(what)) == 0, "%s", what);
}

/* Without a registry, the ids our earlier builds wrote (SaleEvent 1,
 * StockMovement 4, StockLevel 6, then StockLevel 16) are read with that
 * earlier schema, and today's schemas have ids of their own (14, 15, 17):
 * data already in the topics stays readable across the upgrade, and
 * nothing is misread. */
static void test_the_static_map_reads_the_ids_of_the_previous_schemas_with_them(void) {
    inv_schema_resolver_t st;
    inv_schema_resolver_static_init(&st, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&st, err, sizeof(err));
    INV_ASSERT(d, "%s", err);
    unsigned char buf[512];
    inv_event_t ev;
    size_t n = avro_spec(buf, sizeof(buf), "@1 s:T-1 s:pos s:store-1 e:0 l:1795341600000 a:1 s:SKU-1 l:2 a:0");
    INV_EXPECT(inv_decoder_decode_event(d, INV_EVENT_SALE, buf, n, &ev, err, sizeof(err)) == 0, "%s", err);
    INV_EXPECT(ev.line_count == 1 && ev.lines[0].quantity == 2 && ev.reservation_id == NULL);
    n = avro_spec(buf, sizeof(buf), "@14 s:T-1 s:pos s:store-1 e:0 l:1795341600000 a:1 s:SKU-1 l:2 a:0 u:1 s:ORD-1");
    INV_EXPECT(inv_decoder_decode_event(d, INV_EVENT_SALE, buf, n, &ev, err, sizeof(err)) == 0, "%s", err);
    INV_EXPECT(ev.reservation_id && strcmp(ev.reservation_id, "ORD-1") == 0);
    inv_movement_t m;
    n = avro_spec(buf, sizeof(buf), "@4 s:sale:T-1:0 s:SKU-1 s:store-1 u:1 e:3 e:0 l:2 l:1795341600000 s:pos");
    INV_EXPECT(inv_decoder_decode_movement(d, buf, n, &m, err, sizeof(err)) == 0, "%s", err);
    INV_EXPECT(m.quantity == 2 && m.reservation_id == NULL && m.rejected == 0);
    inv_stock_level_t sl;
    n = avro_spec(buf, sizeof(buf), "@6 s:SKU-1 s:* l:-3 l:1 l:24 l:0 l:1795341600000 l:7");
    INV_EXPECT(inv_decoder_decode_stock_level(d, buf, n, &sl, err, sizeof(err)) == 0, "%s", err);
    INV_EXPECT(sl.on_order == 24 && sl.version == 7 && sl.committed == 0);
    INV_EXPECT(!sl.has_last_count_at && sl.count_variance == 0);
    n = avro_spec(buf, sizeof(buf), "@16 s:SKU-1 s:dc-1 l:10 l:1 l:0 l:8 l:1795341600000 l:4 l:2 l:5 l:7");
    INV_EXPECT(inv_decoder_decode_stock_level(d, buf, n, &sl, err, sizeof(err)) == 0, "%s", err);
    INV_EXPECT(sl.version == 4 && sl.in_transit_out == 7 && !sl.has_last_count_at && sl.count_variance == 0);
    n = avro_spec(buf, sizeof(buf),
                  "@17 s:SKU-1 s:dc-1 l:10 l:1 l:0 l:8 l:1795341600000 l:4 l:2 l:5 l:7 u:1 l:1795339800000 l:-3");
    INV_EXPECT(inv_decoder_decode_stock_level(d, buf, n, &sl, err, sizeof(err)) == 0, "%s", err);
    INV_EXPECT(sl.in_transit_out == 7 && sl.has_last_count_at && sl.last_count_at_ms == 1795339800000LL &&
               sl.count_variance == -3);
    /* an id a current schema is given keeps it: the earlier version steps aside */
    int32_t ids[INV_MSG_COUNT];
    memcpy(ids, inv_schema_default_ids, sizeof(ids));
    ids[INV_MSG_SALE_EVENT] = 1;
    inv_schema_resolver_t mine;
    inv_schema_resolver_static_init(&mine, ids);
    inv_decoder_t *d1 = inv_decoder_new(&mine, err, sizeof(err));
    INV_ASSERT(d1, "%s", err);
    n = avro_spec(buf, sizeof(buf), "@1 s:T-1 s:pos s:store-1 e:0 l:1795341600000 a:1 s:SKU-1 l:2 a:0 u:1 s:ORD-1");
    INV_EXPECT(inv_decoder_decode_event(d1, INV_EVENT_SALE, buf, n, &ev, err, sizeof(err)) == 0, "%s", err);
    inv_decoder_destroy(d1);
    inv_decoder_destroy(d);
}

int main(void) {
    for (size_t i = 0; i < CHANGED; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/v%d/%s.avsc", INV_SCHEMAS_DIR, changed[i].version,
                 inv_msg_type_name(changed[i].type));
        if (!(previous[i] = read_file(path, NULL))) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
    }
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    inv_schema_resolver_t st;
    inv_schema_resolver_static_init(&st, inv_schema_default_ids);
    enc_json = inv_encoder_new(INV_FORMAT_JSON, &st, err, sizeof(err));
    if (!dec || !enc_json) {
        fprintf(stderr, "codec setup failed: %s\n", err);
        return 1;
    }
    INV_RUN(test_the_static_map_reads_the_ids_of_the_previous_schemas_with_them);
    INV_RUN(test_the_previous_schemas_are_not_ours);
    INV_RUN(test_a_sale_written_with_the_previous_schema_reads_without_a_reservation);
    INV_RUN(test_movements_of_every_previous_type_read_with_the_new_fields_absent);
    INV_RUN(test_a_stock_level_written_with_the_previous_schema_has_nothing_committed_or_in_transit);
    INV_RUN(test_a_stock_level_written_with_the_second_schema_has_no_last_count_and_no_variance);
    INV_RUN(test_the_same_record_under_either_version_decodes_the_same);
    inv_decoder_destroy(dec);
    inv_encoder_destroy(enc_json);
    for (size_t i = 0; i < CHANGED; i++)
        free(previous[i]);
    return INV_TEST_DONE();
}
