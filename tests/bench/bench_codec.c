/*
 * bench_codec: decode and encode rates of the codec, per message and
 * format (a micro-benchmark, not a test). Each row runs one operation on
 * one message in a loop for about INV_BENCH_SECONDS (default 1) of CPU
 * time and prints messages/s and MB/s of encoded bytes. A second table
 * compares the JSON StockMovement decode paths (the tree-free fast path,
 * the default, jansson only) on a compact, a pretty-printed and an
 * escaped movement; the fast path declines the last. A third table decodes
 * Avro through a resolver standing for a schema registry with a warm cache:
 * our own schema under a registry id, and an evolved writer schema (ours
 * with one optional field appended) read through schema resolution, each
 * against the static path.
 *
 *   build/bin/bench_codec            # see docs/BENCHMARKS.md, "Codecs"
 */
#include "inv_codec.h"
#include "test_codec_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile int64_t sink;

/* Decodes one movement in a loop for `budget` s of CPU time: movements/s,
 * or -1 when a decode fails (a fast-only decoder that declines it). */
static double movement_rate(inv_decoder_t *d, const char *json, double budget) {
    inv_movement_t m;
    char err[512];
    long n = 0;
    double start = now(), elapsed;
    do {
        for (int k = 0; k < 1000; k++) {
            if (inv_decoder_decode_movement(d, json, strlen(json), &m, err, sizeof(err)))
                return -1;
            sink += m.quantity;
        }
        n += 1000;
        elapsed = now() - start;
    } while (elapsed < budget);
    return (double)n / elapsed;
}

static const struct {
    const char *label;
    const char *json;
} movements[] = {
    {"compact",
     "{\"movement_id\":\"sale:T-1001:0\",\"sku\":\"SKU-000001\",\"location_id\":\"store-12\",\"channel\":\"store\","
     "\"type\":\"sale\",\"quantity\":2,\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"source\":\"pos-store-12\"}"},
    {"pretty, null channel",
     "{\n  \"movement_id\": \"receipt:GR-5:0\",\n  \"sku\": \"SKU-000001\",\n  \"location_id\": \"store-12\",\n"
     "  \"channel\": null,\n  \"type\": \"receipt\",\n  \"quantity\": 24,\n"
     "  \"occurred_at\": \"2026-11-21T06:00:00.000Z\",\n  \"source\": \"wms\"\n}\n"},
    /* an escape: the fast path declines it, so the default pays both */
    {"escaped, to jansson",
     "{\"movement_id\":\"sale:T-1001:0\",\"sku\":\"SKU\\/000001\",\"location_id\":\"store-12\",\"channel\":\"store\","
     "\"type\":\"sale\",\"quantity\":2,\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"source\":\"pos-store-12\"}"},
};

typedef struct {
    const char *label;
    inv_msg_type_t type;
    const char *json; /* the message, as JSON */
} bench_msg_t;

static const bench_msg_t msgs[] = {
    {"SaleEvent, 1 line", INV_MSG_SALE_EVENT,
     "{\"event_id\":\"T-1001\",\"source\":\"pos-store-12\",\"location_id\":\"store-12\",\"channel\":\"store\","
     "\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"lines\":[{\"sku\":\"SKU-000001\",\"quantity\":2}]}"},
    {"SaleEvent, 10 lines", INV_MSG_SALE_EVENT,
     "{\"event_id\":\"T-1002\",\"source\":\"pos-store-12\",\"location_id\":\"store-12\",\"channel\":\"store\","
     "\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"lines\":[{\"sku\":\"SKU-000001\",\"quantity\":2},"
     "{\"sku\":\"SKU-000002\",\"quantity\":1},{\"sku\":\"SKU-000003\",\"quantity\":5},{\"sku\":\"SKU-000004\","
     "\"quantity\":1},"
     "{\"sku\":\"SKU-000005\",\"quantity\":3},{\"sku\":\"SKU-000006\",\"quantity\":1},{\"sku\":\"SKU-000007\","
     "\"quantity\":12},"
     "{\"sku\":\"SKU-000008\",\"quantity\":1},{\"sku\":\"SKU-000009\",\"quantity\":2},{\"sku\":\"SKU-000010\","
     "\"quantity\":1}]}"},
    {"StockMovement", INV_MSG_STOCK_MOVEMENT,
     "{\"movement_id\":\"sale:T-1001:0\",\"sku\":\"SKU-000001\",\"location_id\":\"store-12\",\"channel\":\"store\","
     "\"type\":\"sale\",\"quantity\":2,\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"source\":\"pos-store-12\"}"},
    {"StockLevel", INV_MSG_STOCK_LEVEL,
     "{\"sku\":\"SKU-000001\",\"location_id\":\"store-12\",\"on_hand\":22,\"unsellable\":0,\"on_order\":24,"
     "\"available\":22,\"updated_at\":\"2026-11-22T10:00:00.000Z\",\"version\":3}"},
};

/* A registry with every schema cached: id 200 + t is our schema of type t
 * as a registry spells it (its own id, the same text), id 100 + t ours with
 * an optional field appended (a producer's newer version). */
#define REGISTRY_SAME 200
#define REGISTRY_EVOLVED 100
static char *evolved[INV_MSG_COUNT];

static int registry_writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len,
                                  char *errstr, size_t errstr_size) {
    (void)r;
    (void)errstr;
    (void)errstr_size;
    if (id >= REGISTRY_SAME && id < REGISTRY_SAME + INV_MSG_COUNT)
        *json = inv_schema_json((inv_msg_type_t)(id - REGISTRY_SAME));
    else if (id >= REGISTRY_EVOLVED && id < REGISTRY_EVOLVED + INV_MSG_COUNT && evolved[id - REGISTRY_EVOLVED])
        *json = evolved[id - REGISTRY_EVOLVED];
    else
        return INV_SCHEMA_UNKNOWN;
    *len = strlen(*json);
    return 0;
}

static int32_t registry_id_for(const inv_schema_resolver_t *r, inv_msg_type_t t) {
    (void)r;
    return REGISTRY_SAME + (int32_t)t;
}

/* Our schema of t with {"name":"bench_note","type":["null","string"],"default":null} appended. */
static char *evolve(inv_msg_type_t t) {
    json_t *doc = json_loads(inv_schema_json(t), 0, NULL);
    json_array_append_new(json_object_get(doc, "fields"),
                          json_pack("{s:s, s:[s,s], s:n}", "name", "bench_note", "type", "null", "string", "default"));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* Decodes wire in a loop for `budget` s of CPU time: msgs/s, or -1. */
static double decode_rate(inv_decoder_t *d, inv_msg_type_t t, const inv_buf_t *wire, double budget) {
    any_msg_t m;
    char err[512];
    long n = 0;
    double start = now(), elapsed;
    do {
        for (int k = 0; k < 1000; k++)
            if (any_decode(d, t, wire->data, wire->len, &m, err, sizeof(err))) {
                fprintf(stderr, "bench_codec: %s\n", err);
                return -1;
            }
        n += 1000;
        elapsed = now() - start;
    } while (elapsed < budget);
    return (double)n / elapsed;
}

/* The third table: Avro decode by the static map against a registry. */
static int registry_table(const inv_schema_resolver_t *r, inv_decoder_t *d, inv_encoder_t *avro, double budget) {
    char err[512];
    inv_schema_resolver_t reg = {
        .lookup_id = NULL, .id_for = registry_id_for, .writer_schema = registry_writer_schema, .opaque = NULL};
    inv_decoder_t *rd = inv_decoder_new(&reg, err, sizeof(err));
    if (!rd) {
        fprintf(stderr, "bench_codec: %s\n", err);
        return -1;
    }
    printf("\n%-20s %-30s %6s %14s %10s\n", "Avro decode", "writer schema", "bytes", "msgs/s", "vs static");
    int rc = 0;
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]) && !rc; i++) {
        const bench_msg_t *b = &msgs[i];
        any_msg_t m;
        inv_buf_t wire[3];
        for (int k = 0; k < 3; k++)
            inv_buf_init(&wire[k]);
        if (!evolved[b->type])
            evolved[b->type] = evolve(b->type);
        rc = any_decode(d, b->type, b->json, strlen(b->json), &m, err, sizeof(err)) ||
             any_encode(avro, b->type, &m, &wire[0], err, sizeof(err));
        (void)r;
        for (int k = 1; !rc && k < 3; k++) {
            /* the same bytes under the registry's id; the evolved one also
             * carries the appended field's null (union branch 0) */
            rc = inv_buf_append(&wire[k], wire[0].data, wire[0].len) || (k == 2 && inv_buf_append(&wire[k], "\0", 1));
            if (!rc) {
                int32_t id = (k == 1 ? REGISTRY_SAME : REGISTRY_EVOLVED) + (int32_t)b->type;
                unsigned char be[4] = {(unsigned char)(id >> 24), (unsigned char)(id >> 16), (unsigned char)(id >> 8),
                                       (unsigned char)id};
                memcpy(wire[k].data + 1, be, 4);
            }
        }
        if (rc) {
            fprintf(stderr, "bench_codec: %s: %s\n", b->label, err);
        } else {
            static const char *labels[] = {"ours, static schema.id", "ours, registry id (cached)",
                                           "evolved: resolved (cached)"};
            double base = 0;
            for (int k = 0; k < 3 && !rc; k++) {
                double rate = decode_rate(k ? rd : d, b->type, &wire[k], budget);
                if (rate < 0) {
                    rc = -1;
                    break;
                }
                if (k == 0)
                    base = rate;
                printf("%-20s %-30s %6zu %14.0f %9.2fx\n", b->label, labels[k], wire[k].len, rate, rate / base);
                fflush(stdout);
            }
        }
        for (int k = 0; k < 3; k++)
            inv_buf_free(&wire[k]);
    }
    inv_decoder_destroy(rd);
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        free(evolved[t]);
        evolved[t] = NULL;
    }
    return rc;
}

int main(void) {
    double budget = getenv("INV_BENCH_SECONDS") ? atof(getenv("INV_BENCH_SECONDS")) : 1.0;
    char err[512];
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    inv_encoder_t *enc[2] = {inv_encoder_new(INV_FORMAT_JSON, &r, err, sizeof(err)),
                             inv_encoder_new(INV_FORMAT_AVRO, &r, err, sizeof(err))};
    if (!d || !enc[0] || !enc[1]) {
        fprintf(stderr, "bench_codec: %s\n", err);
        return 1;
    }
    inv_buf_t wire[2], out;
    inv_buf_init(&wire[0]);
    inv_buf_init(&wire[1]);
    inv_buf_init(&out);
    printf("%-20s %-6s %-7s %6s %14s %10s\n", "message", "format", "op", "bytes", "msgs/s", "MB/s");
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        const bench_msg_t *b = &msgs[i];
        any_msg_t m;
        for (int f = 0; f < 2; f++) {
            if (any_decode(d, b->type, b->json, strlen(b->json), &m, err, sizeof(err)) ||
                any_encode(enc[f], b->type, &m, &wire[f], err, sizeof(err))) {
                fprintf(stderr, "bench_codec: %s: %s\n", b->label, err);
                return 1;
            }
        }
        for (int f = 0; f < 2; f++) {
            for (int op = 0; op < 2; op++) { /* 0 decode, 1 encode */
                long n = 0;
                double start = now(), elapsed;
                /* the decoded struct for encoding comes from this format */
                any_decode(d, b->type, wire[f].data, wire[f].len, &m, err, sizeof(err));
                do {
                    for (int k = 0; k < 1000; k++) {
                        int rc = op == 0 ? any_decode(d, b->type, wire[f].data, wire[f].len, &m, err, sizeof(err))
                                         : any_encode(enc[f], b->type, &m, &out, err, sizeof(err));
                        if (rc) {
                            fprintf(stderr, "bench_codec: %s: %s\n", b->label, err);
                            return 1;
                        }
                        sink += (int64_t)out.len;
                    }
                    n += 1000;
                    elapsed = now() - start;
                } while (elapsed < budget);
                printf("%-20s %-6s %-7s %6zu %14.0f %10.1f\n", b->label, f ? "avro" : "json", op ? "encode" : "decode",
                       wire[f].len, (double)n / elapsed, (double)n * (double)wire[f].len / elapsed / 1e6);
                fflush(stdout);
            }
        }
    }

    static const struct {
        const char *label;
        inv_json_path_t path;
    } paths[] = {{"fast path only", INV_JSON_PATH_FAST_ONLY},
                 {"default", INV_JSON_PATH_FAST},
                 {"jansson only", INV_JSON_PATH_JANSSON}};
    printf("\n%-22s %-16s %6s %14s %10s\n", "StockMovement json", "decode path", "bytes", "msgs/s", "vs jansson");
    for (size_t i = 0; i < sizeof(movements) / sizeof(movements[0]); i++) {
        double rates[3];
        size_t len = strlen(movements[i].json);
        for (int p = 2; p >= 0; p--) { /* jansson first: the others are relative to it */
            inv_decoder_set_json_path(d, paths[p].path);
            rates[p] = movement_rate(d, movements[i].json, budget);
            if (rates[p] < 0 && paths[p].path != INV_JSON_PATH_FAST_ONLY) {
                fprintf(stderr, "bench_codec: %s: does not decode\n", movements[i].label);
                return 1;
            }
        }
        for (int p = 0; p < 3; p++) {
            if (rates[p] < 0)
                printf("%-22s %-16s %6zu %14s\n", movements[i].label, paths[p].label, len, "declined");
            else
                printf("%-22s %-16s %6zu %14.0f %9.2fx\n", movements[i].label, paths[p].label, len, rates[p],
                       rates[p] / rates[2]);
        }
        fflush(stdout);
    }
    inv_decoder_set_json_path(d, INV_JSON_PATH_FAST);
    if (registry_table(&r, d, enc[1], budget) != 0)
        return 1;

    inv_buf_free(&wire[0]);
    inv_buf_free(&wire[1]);
    inv_buf_free(&out);
    inv_encoder_destroy(enc[0]);
    inv_encoder_destroy(enc[1]);
    inv_decoder_destroy(d);
    return 0;
}
