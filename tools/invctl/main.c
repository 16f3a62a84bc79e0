/*
 * invctl: the operator's tool. Each command is one function below; the
 * table at the end maps command words to them.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inv_schema_source.h"
#include "inv_admin.h"
#include "inv_codec.h"
#include "inv_avail.h"
#include "inv_holds.h"
#include "inv_transfers.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_main.h"
#include "inv_opts.h"
#include "inv_parse.h"
#include "inv_channel_csv.h"
#include "inv_policy_csv.h"
#include "inv_codec_conf.h"
#include "inv_rules.h"
#include "inv_stock_json.h"
#include "inv_store.h"
#include "watch.h"

static const inv_conf_flag_t invctl_flags[] = {
    {"state-dir", "state.dir", "DIR",
     "inv-stock's LMDB environment, for `stock`, `reservations`, `transfers`, `watch`"},
    {NULL, NULL, NULL, NULL},
};

static const inv_program_t program = {
    .name = "invctl",
    .summary = "Operator tool: create topics, query stock, set reorder policies and channels, inspect the DLQ, "
               "check and register the schemas.",
    .flags = invctl_flags,
    .usage_tail = "COMMAND [ARGS]",
    .args_anywhere = 1,
    .commands_help = "Commands:\n"
                     "  topics create [--partitions N] [--replication-factor R]\n"
                     "                         create every contract topic (no-op for existing ones)\n"
                     "  config reference       print the configuration reference (Markdown)\n"
                     "  stock SKU [LOCATION] [--json]\n"
                     "                         read stock from inv-stock's LMDB (--state-dir) while it runs\n"
                     "                         (each row with its count variance and last count),\n"
                     "                         and (without LOCATION or --json) what each channel may sell\n"
                     "  reservations [SKU] [--json]\n"
                     "                         open reservation holds (of SKU) in inv-stock's LMDB (--state-dir)\n"
                     "  transfers [SKU] [--json]\n"
                     "                         open transfer lines (of SKU): shipped, received, canceled, in transit\n"
                     "  policy set SKU LOCATION --reorder-point N --reorder-quantity N --safety-stock N\n"
                     "                         publish a ReorderPolicy (LOCATION * = default of the SKU)\n"
                     "  policy delete SKU LOCATION\n"
                     "                         publish a tombstone for that policy\n"
                     "  policy import FILE.csv publish every policy of a CSV file (header: sku,location_id,\n"
                     "                         reorder_point,reorder_quantity,safety_stock)\n"
                     "  channel set CHANNEL LOCATION [--buffer N]\n"
                     "                         publish a ChannelLocation: LOCATION serves CHANNEL, N units\n"
                     "                         held back from it (default 0)\n"
                     "  channel delete CHANNEL LOCATION\n"
                     "                         publish a tombstone: LOCATION no longer serves CHANNEL\n"
                     "  channel import FILE.csv\n"
                     "                         publish every entry of a CSV file (header: channel,location_id,\n"
                     "                         buffer)\n"
                     "  dlq [--max N]          print the newest N (default 20) dead letters per partition\n"
                     "  watch [--interval-ms N] [--top N] [--once]\n"
                     "                         live view of a running inv-stock (--state-dir): throughput, lag,\n"
                     "                         units committed, incoming and in transit, lowest stock per\n"
                     "                         location and network, latest reorders/shortages\n"
                     "  schemas check [DIR]    ask the registry (schema.registry.url) whether each DIR/<Name>.avsc\n"
                     "                         (DIR: default ./schemas; its subdirectories are not read) is\n"
                     "                         compatible with the latest version of its subject <topic>-value\n"
                     "                         (the topic.* key of the topic that carries Name); exit 1 if one\n"
                     "                         is not, or the registry is unavailable\n"
                     "  schemas register [DIR] register each DIR/<Name>.avsc under its subject and print its id\n"
                     "                         (whatever auto.register.schemas says); exit 1 on a refusal\n",
};

/* A bad command-line word: one line naming it, exit 2. */
static int usage_error(const char *what, const char *detail) {
    fprintf(stderr, "invctl: %s: %s (see invctl --help)\n", what, detail);
    return 2;
}

static int cmd_topics_create(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)argc;
    (void)argv;
    int partitions = (int)o->partitions, replication = (int)o->replication;
    char errstr[INV_ERRSTR_SIZE];
    rd_kafka_t *rk = inv_kafka_admin_new(invctl_kafka, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "invctl: %s\n", errstr);
        return 1;
    }
    inv_topic_result_t results[INV_ADMIN_TOPIC_COUNT];
    int rc = inv_admin_topics_create(rk, conf, partitions, replication, 15000, results, errstr, sizeof(errstr));
    static const char *const outcome[] = {"created", "exists", "FAILED"};
    for (int i = 0; i < INV_ADMIN_TOPIC_COUNT; i++) {
        if (results[i].outcome == INV_TOPIC_FAILED && !results[i].error[0])
            continue; /* no answer at all: reported once below */
        printf("%-8s %s (%s)%s%s\n", outcome[results[i].outcome], results[i].name, results[i].cleanup_policy,
               results[i].error[0] ? ": " : "", results[i].error);
    }
    if (rc != 0)
        fprintf(stderr, "invctl: %s\n", errstr);
    inv_kafka_close_destroy(rk, "the admin client", (int)inv_conf_get_int(conf, "shutdown.timeout.ms"));
    return rc == 0 ? 0 : 1;
}

static int cmd_config_reference(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)conf;
    (void)o;
    (void)argc;
    (void)argv;
    printf("# Configuration reference\n\n"
           "Generated by `invctl config reference` from the table in common/base/inv_conf.c; do not edit.\n"
           "Every program takes every key (keys a program does not use are ignored by it).\n"
           "Precedence: flag (`-X key=value`, `-b`, program flags) > environment > file (`-c`) > default.\n\n");
    inv_conf_write_reference(stdout);
    return 0;
}

/* ---- stock ----------------------------------------------------------------- */

typedef struct {
    int json;
    int rows;
} stock_print_t;

static int print_stock_row(void *opaque, int32_t partition, const char *sku, const char *location,
                           const inv_stock_row_t *row) {
    stock_print_t *sp = opaque;
    inv_stock_level_t lv;
    inv_rules_stock_level(sku, location, row, &lv);
    char ts[32], counted[32] = "-";
    inv_time_format_rfc3339(lv.updated_at_ms, ts);
    if (lv.has_last_count_at)
        inv_time_format_rfc3339(lv.last_count_at_ms, counted);
    if (sp->json) {
        json_t *obj = inv_stock_json_row(sku, location, row);
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{\"error\":\"sku or location is not valid UTF-8\"}");
        free(text);
        json_decref(obj);
    } else
        printf("%-20s %-14s %9lld %9lld %9lld %10lld %8lld %8lld %8lld %8lld %7lld  %-12s %-24s %-24s  p%d\n", sku,
               location, (long long)lv.on_hand, (long long)lv.committed, (long long)lv.available,
               (long long)lv.unsellable, (long long)lv.on_order, (long long)lv.incoming, (long long)lv.in_transit_out,
               (long long)lv.count_variance, (long long)lv.version, inv_shortage_state_name(row->shortage), ts, counted,
               partition);
    sp->rows++;
    return 0;
}

typedef struct {
    inv_store_txn_t *txn;
    const char *sku;
    int lines;
} avail_print_t;

static int print_avail(void *opaque, const char *channel, const inv_avail_state_t *st) {
    avail_print_t *ap = opaque;
    if (!ap->lines++)
        printf("\n%-20s %-22s %17s %9s %7s\n", "SKU", "CHANNEL", "AVAILABLE_TO_SELL", "LOCATIONS", "VERSION");
    printf("%-20s %-22s %17lld %9lld %7lld\n", ap->sku, channel, (long long)st->available_to_sell,
           (long long)st->locations, (long long)st->version);
    return 0;
}

static int avail_of_partition(void *opaque, int32_t partition, const inv_store_meta_t *meta) {
    (void)meta;
    avail_print_t *ap = opaque;
    return inv_avail_foreach_sku(ap->txn, partition, ap->sku, print_avail, ap);
}

static int cmd_stock(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    stock_print_t sp = {.json = o->json};
    const char *pos[2] = {argv[0], argc > 1 ? argv[1] : NULL};
    const char *dir = inv_conf_get(conf, "state.dir");
    inv_store_t *store = NULL;
    inv_store_txn_t *txn = NULL;
    int rc = inv_store_open_readonly(dir, &store);
    if (!rc)
        rc = inv_store_txn_begin(store, 1, &txn); /* one snapshot for every row printed */
    if (rc) {
        fprintf(stderr, "invctl: state dir %s: %s\n", dir, inv_store_strerror(rc));
        inv_store_close(store);
        return 1;
    }
    if (!sp.json)
        printf("%-20s %-14s %9s %9s %9s %10s %8s %8s %8s %8s %7s  %-12s %-24s %-24s\n", "SKU", "LOCATION", "ON_HAND",
               "COMMITTED", "AVAILABLE", "UNSELLABLE", "ON_ORDER", "INCOMING", "IN_TRANS", "VARIANCE", "VERSION",
               "SHORTAGE", "UPDATED_AT", "LAST_COUNT_AT");
    rc = inv_store_stock_foreach(txn, pos[0], pos[1], print_stock_row, &sp);
    if (!rc && !sp.json && !pos[1] && sp.rows) { /* what each channel may sell of it */
        avail_print_t ap = {.txn = txn, .sku = pos[0]};
        rc = inv_store_meta_foreach(txn, avail_of_partition, &ap);
    }
    inv_store_txn_abort(txn);
    inv_store_close(store);
    if (rc) {
        fprintf(stderr, "invctl: reading %s: %s\n", dir, inv_store_strerror(rc));
        return 1;
    }
    if (!sp.rows) {
        fprintf(stderr, "invctl: no stock known for %s%s%s in %s\n", pos[0], pos[1] ? " at " : "", pos[1] ? pos[1] : "",
                dir);
        return 1;
    }
    return 0;
}

/* ---- reservations ------------------------------------------------------------- */

typedef struct {
    int json;
    int lines;
    int32_t partition;
} holds_print_t;

static int print_hold(void *opaque, const char *sku, const char *location, const char *rid, const inv_rules_hold_t *h) {
    holds_print_t *hp = opaque;
    char ts[32];
    inv_time_format_rfc3339(h->expires_at_ms, ts);
    const char *channel = inv_enum_name(&inv_channel_enum, (int)h->channel);
    if (hp->json) {
        json_t *obj = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:s}", "reservation_id", rid, "sku", sku,
                                "location_id", location, "channel", channel, "requested", (json_int_t)h->requested,
                                "held", (json_int_t)h->held, "remaining", (json_int_t)h->remaining, "expires_at", ts);
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{\"error\":\"an id is not valid UTF-8\"}");
        free(text);
        json_decref(obj);
    } else
        printf("%-20s %-20s %-14s %-12s %9lld %6lld %9lld  %s  p%d\n", rid, sku, location, channel ? channel : "-",
               (long long)h->requested, (long long)h->held, (long long)h->remaining, ts, hp->partition);
    hp->lines++;
    return 0;
}

typedef struct {
    inv_store_txn_t *txn;
    const char *sku;
    holds_print_t *hp;
} holds_scan_t;

static int holds_of_partition(void *opaque, int32_t partition, const inv_store_meta_t *meta) {
    (void)meta;
    holds_scan_t *hs = opaque;
    hs->hp->partition = partition;
    return inv_holds_foreach(hs->txn, partition, hs->sku, print_hold, hs->hp);
}

/* Calls per_partition for every partition of the instance's LMDB
 * (--state-dir), in one read txn. 0, or 1 (reported). */
static int scan_state(inv_conf_t *conf, inv_store_meta_cb per_partition, void *opaque, inv_store_txn_t **txn_out) {
    const char *dir = inv_conf_get(conf, "state.dir");
    inv_store_t *store = NULL;
    inv_store_txn_t *txn = NULL;
    int rc = inv_store_open_readonly(dir, &store);
    if (!rc)
        rc = inv_store_txn_begin(store, 1, &txn);
    if (rc) {
        fprintf(stderr, "invctl: state dir %s: %s\n", dir, inv_store_strerror(rc));
        inv_store_close(store);
        return 1;
    }
    *txn_out = txn;
    rc = inv_store_meta_foreach(txn, per_partition, opaque);
    inv_store_txn_abort(txn);
    inv_store_close(store);
    if (rc) {
        fprintf(stderr, "invctl: reading %s: %s\n", dir, inv_store_strerror(rc));
        return 1;
    }
    return 0;
}

/* The open reservation lines of a SKU (or of every SKU) in an instance's
 * LMDB, partition by partition. */
static int cmd_reservations(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    holds_print_t hp = {.json = o->json};
    if (!hp.json)
        printf("%-20s %-20s %-14s %-12s %9s %6s %9s  %s\n", "RESERVATION", "SKU", "LOCATION", "CHANNEL", "REQUESTED",
               "HELD", "REMAINING", "EXPIRES_AT");
    holds_scan_t hs = {NULL, argc > 0 ? argv[0] : NULL, &hp};
    if (scan_state(conf, holds_of_partition, &hs, &hs.txn))
        return 1;
    if (!hp.lines && argc > 0) {
        fprintf(stderr, "invctl: no open reservation of %s in %s\n", argv[0], inv_conf_get(conf, "state.dir"));
        return 1;
    }
    return 0;
}

/* ---- transfers ------------------------------------------------------------------ */

static int print_transfer(void *opaque, const char *sku, const char *tid, const inv_rules_transfer_t *t) {
    holds_print_t *hp = opaque;
    int64_t in_transit = inv_rules_in_transit(t);
    if (hp->json) {
        json_t *obj = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "transfer_id", tid, "sku", sku, "shipped",
                                (json_int_t)t->shipped, "received", (json_int_t)t->received, "canceled",
                                (json_int_t)t->canceled, "in_transit", (json_int_t)in_transit);
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{\"error\":\"an id is not valid UTF-8\"}");
        free(text);
        json_decref(obj);
    } else
        printf("%-20s %-20s %8lld %8lld %8lld %10lld  p%d\n", tid, sku, (long long)t->shipped, (long long)t->received,
               (long long)t->canceled, (long long)in_transit, hp->partition);
    hp->lines++;
    return 0;
}

static int transfers_of_partition(void *opaque, int32_t partition, const inv_store_meta_t *meta) {
    (void)meta;
    holds_scan_t *hs = opaque;
    hs->hp->partition = partition;
    return inv_transfers_foreach(hs->txn, partition, hs->sku, print_transfer, hs->hp);
}

/* The open transfer lines (units in transit, or received before shipped)
 * of a SKU or of every SKU. */
static int cmd_transfers(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    holds_print_t hp = {.json = o->json};
    if (!hp.json)
        printf("%-20s %-20s %8s %8s %8s %10s\n", "TRANSFER", "SKU", "SHIPPED", "RECEIVED", "CANCELED", "IN_TRANSIT");
    holds_scan_t hs = {NULL, argc > 0 ? argv[0] : NULL, &hp};
    if (scan_state(conf, transfers_of_partition, &hs, &hs.txn))
        return 1;
    if (!hp.lines && argc > 0) {
        fprintf(stderr, "invctl: no open transfer of %s in %s\n", argv[0], inv_conf_get(conf, "state.dir"));
        return 1;
    }
    return 0;
}

/* ---- policies ----------------------------------------------------------------- */

typedef struct {
    rd_kafka_t *rk;
    inv_encoder_t *enc;
    inv_codec_conf_t codec;
    inv_schema_source_t *schemas; /* the registry's id for the message under <topic>-value, if any */
    int destroy_timeout_ms;
    inv_buf_t buf;
    const char *topic;
    const char *one, *many; /* what is sent: "policy", "policies" */
    int sent;
} policy_out_t;

/* A producer of a compacted table's records (ReorderPolicy to
 * topic.policies, ChannelLocation to topic.channels). */
static int table_out_open(policy_out_t *po, inv_conf_t *conf, const char *topic_key, inv_msg_type_t msg,
                          const char *one, const char *many) {
    char errstr[INV_ERRSTR_SIZE];
    memset(po, 0, sizeof(*po));
    po->topic = inv_conf_get(conf, topic_key);
    po->one = one;
    po->many = many;
    inv_codec_conf_read(conf, &po->codec);
    po->destroy_timeout_ms = (int)inv_conf_get_int(conf, "shutdown.timeout.ms");
    inv_buf_init(&po->buf);
    const inv_schema_output_t out = {msg, po->topic};
    if (inv_schema_source_open(conf, &po->codec, &out, 1, NULL, &po->schemas, errstr, sizeof(errstr)) != 0 ||
        !(po->enc = inv_encoder_new(po->codec.output_format, inv_schema_source_resolver(po->schemas), errstr,
                                    sizeof(errstr))) ||
        !(po->rk = inv_kafka_producer_new(invctl_kafka, NULL, NULL, NULL, errstr, sizeof(errstr)))) {
        fprintf(stderr, "invctl: %s\n", errstr);
        return -1;
    }
    return 0;
}

static int policy_out_open(policy_out_t *po, inv_conf_t *conf) {
    return table_out_open(po, conf, "topic.policies", INV_MSG_REORDER_POLICY, "policy", "policies");
}

/* Flushes and reports: every record must be acknowledged by the broker. */
static int policy_out_close(policy_out_t *po) {
    int rc = 0;
    if (po->rk) {
        rd_kafka_flush(po->rk, 30000);
        if (rd_kafka_outq_len(po->rk) > 0) {
            fprintf(stderr, "invctl: %d %s not acknowledged by %s within 30 s\n", rd_kafka_outq_len(po->rk),
                    rd_kafka_outq_len(po->rk) == 1 ? po->one : po->many, po->topic);
            rc = 1;
        }
        inv_kafka_close_destroy(po->rk, "the producer", po->destroy_timeout_ms);
    }
    inv_encoder_destroy(po->enc);
    inv_schema_source_close(po->schemas);
    inv_buf_free(&po->buf);
    return rc;
}

/* Queues one record (value NULL: a tombstone) of key; 0 or 1. */
static int table_produce(policy_out_t *po, const char *key, const void *value, size_t len) {
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(po->rk, RD_KAFKA_V_TOPIC(po->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                    RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(po->rk, 100);
    if (err) {
        fprintf(stderr, "invctl: %s %s: %s\n", po->one, key, rd_kafka_err2str(err));
        return 1;
    }
    po->sent++;
    return 0;
}

static int policy_send(void *opaque, const inv_policy_t *p) {
    policy_out_t *po = opaque;
    char key[INV_ROW_KEY_MAX + 1], errstr[INV_ERRSTR_SIZE];
    if (inv_row_key(key, sizeof(key), p->sku, p->location_id) < 0) {
        fprintf(stderr, "invctl: policy %s|%s: sku and location_id longer than the contract's 256 bytes each\n", p->sku,
                p->location_id);
        return 1;
    }
    const void *value = NULL;
    size_t len = 0;
    if (p->reorder_point != INT64_MIN) { /* INT64_MIN marks a tombstone */
        if (inv_encoder_encode_policy(po->enc, p, &po->buf, errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "invctl: policy %s: %s\n", key, errstr);
            return 1;
        }
        value = po->buf.data;
        len = po->buf.len;
    }
    return table_produce(po, key, value, len);
}

static int cmd_policy_set(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)argc;
    static const struct {
        int bit;
        const char *flag;
    } required[] = {{INVCTL_OPT_REORDER_POINT, "--reorder-point"},
                    {INVCTL_OPT_REORDER_QUANTITY, "--reorder-quantity"},
                    {INVCTL_OPT_SAFETY_STOCK, "--safety-stock"}};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!(o->seen & (1u << required[i].bit)))
            return usage_error(required[i].flag, "missing");
    inv_policy_t p = {argv[0], argv[1], o->reorder_point, o->reorder_quantity, o->safety_stock};
    policy_out_t po;
    int rc = policy_out_open(&po, conf) != 0 || policy_send(&po, &p) != 0;
    rc |= policy_out_close(&po);
    if (!rc)
        printf("policy %s|%s published to %s\n", p.sku, p.location_id, po.topic);
    return rc ? 1 : 0;
}

static int cmd_policy_delete(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)o;
    (void)argc;
    inv_policy_t p = {argv[0], argv[1], INT64_MIN, 0, 0};
    policy_out_t po;
    int rc = policy_out_open(&po, conf) != 0 || policy_send(&po, &p) != 0;
    rc |= policy_out_close(&po);
    if (!rc)
        printf("policy %s|%s deleted (tombstone on %s)\n", p.sku, p.location_id, po.topic);
    return rc ? 1 : 0;
}

/* A table's records from a CSV file (or - for stdin): every line checked
 * before the first is sent (the reader's rule), then the count published. */
typedef int (*table_read_fn)(FILE *f, const char *name, policy_out_t *po, char *errstr, size_t errstr_size);

static int table_import(inv_conf_t *conf, const char *path, int (*out_open)(policy_out_t *, inv_conf_t *),
                        table_read_fn read, const char *one, const char *many) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "invctl: %s: cannot open\n", path);
        return 1;
    }
    policy_out_t po;
    char errstr[INV_ERRSTR_SIZE];
    int rc = out_open(&po, conf);
    if (!rc) {
        rc = read(f, path, &po, errstr, sizeof(errstr));
        if (rc < 0)
            fprintf(stderr, "invctl: %s\n", errstr);
    }
    rc = (rc != 0) | policy_out_close(&po);
    if (f != stdin)
        fclose(f);
    if (!rc)
        printf("%d %s published to %s\n", po.sent, po.sent == 1 ? one : many, po.topic);
    return rc ? 1 : 0;
}

static int read_policies(FILE *f, const char *name, policy_out_t *po, char *errstr, size_t errstr_size) {
    return inv_policy_csv_read(f, name, policy_send, po, errstr, errstr_size);
}

static int cmd_policy_import(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)o;
    (void)argc;
    return table_import(conf, argv[0], policy_out_open, read_policies, "policy", "policies");
}

/* ---- channels ------------------------------------------------------------------ */

static int channel_out_open(policy_out_t *po, inv_conf_t *conf) {
    return table_out_open(po, conf, "topic.channels", INV_MSG_CHANNEL_LOCATION, "channel entry", "channel entries");
}

/* Publishes c, or its tombstone when c->buffer is INT64_MIN. 0 or 1. */
static int channel_send(void *opaque, const inv_channel_location_t *c) {
    policy_out_t *po = opaque;
    char key[INV_ROW_KEY_MAX + 1], errstr[INV_ERRSTR_SIZE];
    if (inv_codec_check_id("channel", c->channel, strlen(c->channel), 1, errstr, sizeof(errstr)) != 0 ||
        inv_codec_check_id("location_id", c->location_id, strlen(c->location_id), 1, errstr, sizeof(errstr)) != 0 ||
        inv_row_key(key, sizeof(key), c->channel, c->location_id) < 0) {
        fprintf(stderr, "invctl: channel %s|%s: %s\n", c->channel, c->location_id, errstr);
        return 1;
    }
    if (c->buffer == INT64_MIN)
        return table_produce(po, key, NULL, 0);
    if (inv_encoder_encode_channel_location(po->enc, c, &po->buf, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "invctl: channel %s: %s\n", key, errstr);
        return 1;
    }
    return table_produce(po, key, po->buf.data, po->buf.len);
}

static int channel_one(inv_conf_t *conf, const inv_channel_location_t *c, const char *done) {
    policy_out_t po;
    int rc = channel_out_open(&po, conf) != 0 || channel_send(&po, c) != 0;
    rc |= policy_out_close(&po);
    if (!rc)
        printf("channel %s|%s %s %s\n", c->channel, c->location_id, done, po.topic);
    return rc ? 1 : 0;
}

static int cmd_channel_set(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)argc;
    inv_channel_location_t c = {argv[0], argv[1], o->buffer};
    return channel_one(conf, &c, "published to");
}

static int cmd_channel_delete(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)o;
    (void)argc;
    inv_channel_location_t c = {argv[0], argv[1], INT64_MIN};
    return channel_one(conf, &c, "deleted (tombstone) on");
}

static int read_channels(FILE *f, const char *name, policy_out_t *po, char *errstr, size_t errstr_size) {
    return inv_channel_csv_read(f, name, channel_send, po, errstr, errstr_size);
}

static int cmd_channel_import(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)o;
    (void)argc;
    return table_import(conf, argv[0], channel_out_open, read_channels, "channel entry", "channel entries");
}

/* ---- dlq ---------------------------------------------------------------------- */

static int cmd_dlq(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)argc;
    (void)argv;
    int max = (int)o->max;
    char errstr[INV_ERRSTR_SIZE];
    const char *topic = inv_conf_get(conf, "topic.dlq");
    rd_kafka_t *rk = inv_kafka_reader_new(invctl_kafka, "invctl-dlq", 1, NULL, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "invctl: %s\n", errstr);
        return 1;
    }
    int n = inv_kafka_partition_count(rk, topic, 15000, errstr, sizeof(errstr));
    if (n < 0) {
        fprintf(stderr, "invctl: %s\n", errstr);
        inv_kafka_close_destroy(rk, "the dead-letter consumer", (int)inv_conf_get_int(conf, "shutdown.timeout.ms"));
        return 1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
    int want_eof = 0;
    for (int p = 0; p < n; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 15000) || hi <= lo)
            continue;
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi - max > lo ? hi - max : lo;
        want_eof++;
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    int eofs = 0, shown = 0;
    while (eofs < want_eof && *invctl_run) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "invctl: %s\n", rd_kafka_message_errstr(m));
        } else {
            char e[1024], st[256], sp[16], so[32], ts[32];
            inv_time_format_rfc3339(rd_kafka_message_timestamp(m, NULL), ts);
            printf("%s  %s[%s]@%s  key=%.*s\n  error: %s\n  value: %.*s%s\n", ts,
                   inv_kafka_header_string(m, "inv.source.topic", st, sizeof(st)) ? st : "?",
                   inv_kafka_header_string(m, "inv.source.partition", sp, sizeof(sp)) ? sp : "?",
                   inv_kafka_header_string(m, "inv.source.offset", so, sizeof(so)) ? so : "?", (int)m->key_len,
                   m->key ? (const char *)m->key : "", inv_kafka_header_string(m, "inv.error", e, sizeof(e)) ? e : "?",
                   (int)(m->len > 300 ? 300 : m->len), m->payload ? (const char *)m->payload : "",
                   m->len > 300 ? "..." : "");
            shown++;
        }
        rd_kafka_message_destroy(m);
    }
    printf("%d dead letter(s) shown from %s\n", shown, topic);
    inv_kafka_close_destroy(rk, "the dead-letter consumer", (int)inv_conf_get_int(conf, "shutdown.timeout.ms"));
    return 0;
}

/* ---- schemas ------------------------------------------------------------------- */

/* One <Name>.avsc of a schemas directory and the subject it belongs to. */
typedef struct {
    char file[256]; /* "StockLevel.avsc" */
    char subject[512];
    char *json; /* the file's text */
} schema_file_t;

typedef struct {
    schema_file_t *files;
    size_t n;
    inv_registry_t *reg;
} schema_set_t;

static int is_avsc(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 5 && strcmp(e->d_name + n - 5, ".avsc") == 0;
}

/* The whole of a file, NUL-terminated, to free(); NULL with errno. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    inv_buf_t b;
    inv_buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (inv_buf_append(&b, chunk, n) != 0)
            abort();
    int bad = ferror(f);
    fclose(f);
    if (bad || inv_buf_append(&b, "", 1) != 0) {
        inv_buf_free(&b);
        errno = EIO;
        return NULL;
    }
    return b.data;
}

static void schemas_close(schema_set_t *set) {
    for (size_t i = 0; i < set->n; i++)
        free(set->files[i].json);
    free(set->files);
    inv_registry_destroy(set->reg);
    memset(set, 0, sizeof(*set));
}

/* Reads every <Name>.avsc directly in dir (not its subdirectories), maps
 * each to the subject of the topic that carries it, and opens a registry
 * client (registering: whatever auto.register.schemas says). 0, or the exit
 * code (reported). */
static int schemas_open(inv_conf_t *conf, const char *dir, int registering, schema_set_t *set) {
    char errstr[INV_ERRSTR_SIZE];
    memset(set, 0, sizeof(*set));
    inv_registry_conf_t rc;
    if (inv_registry_conf_read(conf, &rc, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "invctl: %s\n", errstr);
        return 2;
    }
    if (!inv_registry_conf_enabled(&rc)) {
        fprintf(stderr, "invctl: schema.registry.url: not set; `schemas` needs a registry "
                        "(-X schema.registry.url=http://HOST:8081)\n");
        return 2;
    }
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_avsc, alphasort);
    if (n < 0) {
        fprintf(stderr, "invctl: schemas directory %s: %s\n", dir, strerror(errno));
        return 2;
    }
    set->files = calloc((size_t)n + 1, sizeof(*set->files));
    if (!set->files)
        abort();
    int code = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (code || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        char type_name[256];
        snprintf(type_name, sizeof(type_name), "%.*s", (int)(strlen(name) - 5), name);
        inv_msg_type_t type;
        if (inv_msg_type_from_name(type_name, &type) != 0) {
            fprintf(stderr, "invctl: %s: no message of the contract is named %s, so no topic carries it\n", path,
                    type_name);
            code = 1;
            continue;
        }
        schema_file_t *f = &set->files[set->n];
        snprintf(f->file, sizeof(f->file), "%s", name);
        const char *topic = inv_conf_get(conf, inv_schema_topic_key(type));
        if (inv_schema_subject(topic, f->subject, sizeof(f->subject)) != 0) {
            fprintf(stderr, "invctl: %s: topic %s is too long for a subject\n", inv_schema_topic_key(type), topic);
            code = 2;
            continue;
        }
        if (!(f->json = read_text(path))) {
            fprintf(stderr, "invctl: %s: cannot read: %s\n", path, strerror(errno));
            code = 1;
            continue;
        }
        set->n++;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!code && !set->n) {
        fprintf(stderr, "invctl: schemas directory %s holds no <Name>.avsc file\n", dir);
        code = 2;
    }
    rc.auto_register = registering ? 1 : rc.auto_register;
    if (!code && !(set->reg = inv_registry_new(&rc, errstr, sizeof(errstr)))) {
        fprintf(stderr, "invctl: %s\n", errstr);
        code = 2;
    }
    if (code)
        schemas_close(set);
    return code;
}

/* Whether each schema may be registered under its subject, by the
 * subject's compatibility level against its latest version. */
static int cmd_schemas_check(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)o;
    schema_set_t set;
    int code = schemas_open(conf, argc > 0 ? argv[0] : "schemas", 0, &set);
    if (code)
        return code;
    size_t bad = 0;
    for (size_t i = 0; i < set.n && !code; i++) {
        const schema_file_t *f = &set.files[i];
        char reason[1024], errstr[INV_ERRSTR_SIZE];
        int compatible = 0;
        int rc = inv_registry_check_compatibility(set.reg, f->subject, f->json, &compatible, reason, sizeof(reason),
                                                  errstr, sizeof(errstr));
        if (rc == INV_REGISTRY_UNAVAILABLE) {
            fprintf(stderr, "invctl: %s\n", errstr);
            code = 1;
        } else if (rc != 0) {
            printf("%-26s %-40s REFUSED: %s\n", f->file, f->subject, errstr);
            bad++;
        } else if (compatible == INV_REGISTRY_NO_VERSIONS) {
            printf("%-26s %-40s compatible (no versions yet)\n", f->file, f->subject);
        } else if (compatible) {
            printf("%-26s %-40s compatible\n", f->file, f->subject);
        } else {
            printf("%-26s %-40s INCOMPATIBLE: %s\n", f->file, f->subject,
                   reason[0] ? reason : "the registry gave no reason (register would quote its refusal)");
            bad++;
        }
    }
    if (!code && bad)
        fprintf(stderr, "invctl: %zu of %zu schemas may not be registered under their subjects\n", bad, set.n);
    schemas_close(&set);
    return code || bad ? 1 : 0;
}

/* Registers each schema under its subject (its id if it is there already). */
static int cmd_schemas_register(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)o;
    schema_set_t set;
    int code = schemas_open(conf, argc > 0 ? argv[0] : "schemas", 1, &set);
    if (code)
        return code;
    size_t refused = 0;
    for (size_t i = 0; i < set.n && !code; i++) {
        const schema_file_t *f = &set.files[i];
        char errstr[INV_ERRSTR_SIZE];
        int32_t id = -1;
        int rc = inv_registry_register(set.reg, f->subject, f->json, &id, errstr, sizeof(errstr));
        if (rc == INV_REGISTRY_UNAVAILABLE) {
            fprintf(stderr, "invctl: %s\n", errstr);
            code = 1;
        } else if (rc != 0) {
            fprintf(stderr, "invctl: %s: %s\n", f->file, errstr);
            refused++;
        } else {
            printf("%-26s %-40s id %d\n", f->file, f->subject, (int)id);
        }
    }
    if (!code && refused)
        fprintf(stderr, "invctl: %zu of %zu schemas refused by the registry\n", refused, set.n);
    schemas_close(&set);
    return code || refused ? 1 : 0;
}

/* ---- the command line ---------------------------------------------------------- */

static const inv_opt_t invctl_opts[] = {
    {"partitions", 1, INVCTL_OPT_PARTITIONS},
    {"replication-factor", 1, INVCTL_OPT_REPLICATION},
    {"json", 0, INVCTL_OPT_JSON},
    {"reorder-point", 1, INVCTL_OPT_REORDER_POINT},
    {"reorder-quantity", 1, INVCTL_OPT_REORDER_QUANTITY},
    {"safety-stock", 1, INVCTL_OPT_SAFETY_STOCK},
    {"max", 1, INVCTL_OPT_MAX},
    {"interval-ms", 1, INVCTL_OPT_INTERVAL_MS},
    {"top", 1, INVCTL_OPT_TOP},
    {"once", 0, INVCTL_OPT_ONCE},
    {"buffer", 1, INVCTL_OPT_BUFFER},
};

/* Bounds of each integer flag, and where its value goes. */
static int64_t *int_target(invctl_opts_t *o, int id, int64_t *min, int64_t *max) {
    *min = 0;
    *max = INT64_MAX;
    switch (id) {
    case INVCTL_OPT_PARTITIONS: *min = 1, *max = 10000; return &o->partitions;
    case INVCTL_OPT_REPLICATION: *min = -1, *max = 100; return &o->replication;
    case INVCTL_OPT_REORDER_POINT: *min = -INT64_C(1000000000000); return &o->reorder_point;
    case INVCTL_OPT_REORDER_QUANTITY: return &o->reorder_quantity;
    case INVCTL_OPT_SAFETY_STOCK: return &o->safety_stock;
    case INVCTL_OPT_MAX: *min = 1, *max = 1000000; return &o->max;
    case INVCTL_OPT_INTERVAL_MS: *min = 1, *max = 60000; return &o->interval_ms;
    case INVCTL_OPT_TOP: *min = 1, *max = INVCTL_WATCH_MAX_ROWS; return &o->top;
    case INVCTL_OPT_BUFFER: *max = INV_CODEC_MAX_POLICY_QUANTITY; return &o->buffer;
    }
    return NULL;
}

typedef struct {
    invctl_opts_t opts;
    int bad_value; /* the error is a flag's value, not the command line's shape */
} parsed_t;

static int apply_opt(void *opaque, int id, const char *value, char *errstr, size_t errstr_size) {
    parsed_t *p = opaque;
    invctl_opts_t *o = &p->opts;
    o->seen |= 1u << id;
    if (id == INVCTL_OPT_JSON || id == INVCTL_OPT_ONCE) {
        *(id == INVCTL_OPT_JSON ? &o->json : &o->once) = 1;
        return 0;
    }
    int64_t min, max, *target = int_target(o, id, &min, &max);
    if (inv_parse_int64(value, min, max, target) == 0)
        return 0;
    p->bad_value = 1;
    if (max == INT64_MAX)
        snprintf(errstr, errstr_size, "--%s: \"%s\" is not an integer >= %lld", invctl_opts[id].name, value,
                 (long long)min);
    else
        snprintf(errstr, errstr_size, "--%s: \"%s\" is not an integer in [%lld, %lld]", invctl_opts[id].name, value,
                 (long long)min, (long long)max);
    return -1;
}

#define OPT(x) (1u << INVCTL_OPT_##x)

typedef struct {
    const char *word1, *word2;
    int (*fn)(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv);
    unsigned opts;          /* the flags it takes */
    int min_args, max_args; /* words after the command */
    const char *args_help;  /* what the words are, for "expected ..." */
} command_t;

static const command_t commands[] = {
    {"topics", "create", cmd_topics_create, OPT(PARTITIONS) | OPT(REPLICATION), 0, 0, NULL},
    {"config", "reference", cmd_config_reference, 0, 0, 0, NULL},
    {"stock", NULL, cmd_stock, OPT(JSON), 1, 2, "missing SKU"},
    {"reservations", NULL, cmd_reservations, OPT(JSON), 0, 1, "expected at most a SKU"},
    {"transfers", NULL, cmd_transfers, OPT(JSON), 0, 1, "expected at most a SKU"},
    {"policy", "set", cmd_policy_set, OPT(REORDER_POINT) | OPT(REORDER_QUANTITY) | OPT(SAFETY_STOCK), 2, 2,
     "expected SKU LOCATION"},
    {"policy", "delete", cmd_policy_delete, 0, 2, 2, "expected SKU LOCATION"},
    {"policy", "import", cmd_policy_import, 0, 1, 1, "expected FILE.csv"},
    {"channel", "set", cmd_channel_set, OPT(BUFFER), 2, 2, "expected CHANNEL LOCATION"},
    {"channel", "delete", cmd_channel_delete, 0, 2, 2, "expected CHANNEL LOCATION"},
    {"channel", "import", cmd_channel_import, 0, 1, 1, "expected FILE.csv"},
    {"dlq", NULL, cmd_dlq, OPT(MAX), 0, 0, NULL},
    {"watch", NULL, invctl_watch, OPT(INTERVAL_MS) | OPT(TOP) | OPT(ONCE), 0, 0, NULL},
    {"schemas", "check", cmd_schemas_check, 0, 0, 1, "expected at most a DIR"},
    {"schemas", "register", cmd_schemas_register, 0, 0, 1, "expected at most a DIR"},
};

static const command_t *find_command(int argc, char **argv) {
    for (size_t i = 0; argc > 0 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        const command_t *c = &commands[i];
        if (strcmp(argv[0], c->word1) == 0 && (!c->word2 || (argc > 1 && strcmp(argv[1], c->word2) == 0)))
            return c;
    }
    return NULL;
}

/* The command's shape: its flags and its number of words. -1 to go on, or 2. */
static int check_command(const command_t *cmd, const invctl_opts_t *o, int nargs, char **args) {
    for (size_t i = 0; i < INVCTL_OPT_COUNT; i++)
        if ((o->seen & (1u << i)) && !(cmd->opts & (1u << i))) {
            char flag[64];
            snprintf(flag, sizeof(flag), "--%s", invctl_opts[i].name);
            return usage_error(flag, "unknown flag");
        }
    if (nargs > cmd->max_args)
        return usage_error(args[cmd->max_args], "unexpected argument");
    if (nargs < cmd->min_args)
        return usage_error(cmd->word2 ? cmd->word2 : cmd->word1, cmd->args_help);
    return -1;
}

static const volatile sig_atomic_t not_stopped = 1;
const volatile sig_atomic_t *invctl_run = &not_stopped;
const inv_kafka_settings_t *invctl_kafka;

int main(int argc, char **argv) {
    inv_conf_t *conf = inv_conf_new();
    parsed_t p = {.opts = {.partitions = 6, .replication = -1, .max = 20, .interval_ms = 1000, .top = 8}};
    char opt_err[INV_ERRSTR_SIZE];
    int opt_rc = inv_opts_extract(invctl_opts, INVCTL_OPT_COUNT, apply_opt, &p, &argc, argv, invctl_flags, opt_err,
                                  sizeof(opt_err));
    int next;
    int rc = inv_main_start(conf, &program, argc, argv, &next);
    if (rc < 0 && opt_rc != 0) {
        fprintf(stderr, p.bad_value ? "invctl: %s\n" : "invctl: %s (see invctl --help)\n", opt_err);
        rc = 2;
    }
    const command_t *cmd = rc < 0 ? find_command(argc - next, argv + next) : NULL;
    if (rc < 0 && !cmd)
        rc = usage_error(next < argc ? argv[next] : "COMMAND", next < argc ? "unknown command" : "missing");
    if (rc < 0) {
        int words = cmd->word2 ? 2 : 1;
        rc = check_command(cmd, &p.opts, argc - next - words, argv + next + words);
    }
    if (rc < 0) {
        int words = cmd->word2 ? 2 : 1;
        inv_kafka_settings_t ks;
        inv_kafka_settings_read(conf, &ks);
        invctl_kafka = &ks;
        invctl_run = inv_main_signals_install();
        rc = cmd->fn(conf, &p.opts, argc - next - words, argv + next + words);
        inv_kafka_settings_free(&ks);
    }
    inv_conf_destroy(conf);
    return rc;
}
