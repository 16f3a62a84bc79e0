/*
 * invctl: the operator's tool. Each command is one function below; the
 * table at the end maps command words to them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_admin.h"
#include "inv_codec.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_main.h"
#include "inv_parse.h"
#include "inv_policy_csv.h"
#include "inv_codec_conf.h"
#include "inv_rules.h"
#include "inv_stock_json.h"
#include "inv_store.h"
#include "watch.h"

static const inv_conf_flag_t invctl_flags[] = {
    {"state-dir", "state.dir", "DIR", "inv-stock's LMDB environment, for `stock`"},
    {NULL, NULL, NULL, NULL},
};

static const inv_program_t program = {
    .name = "invctl",
    .summary = "Operator tool: create topics, query stock, set reorder policies, inspect the DLQ.",
    .flags = invctl_flags,
    .usage_tail = "COMMAND [ARGS]",
    .commands_help = "Commands:\n"
                     "  topics create [--partitions N] [--replication-factor R]\n"
                     "                         create every contract topic (no-op for existing ones)\n"
                     "  config reference       print the configuration reference (Markdown)\n"
                     "  stock SKU [LOCATION] [--json]\n"
                     "                         read stock from inv-stock's LMDB (--state-dir) while it runs\n"
                     "  policy set SKU LOCATION --reorder-point N --reorder-quantity N --safety-stock N\n"
                     "                         publish a ReorderPolicy (LOCATION * = default of the SKU)\n"
                     "  policy delete SKU LOCATION\n"
                     "                         publish a tombstone for that policy\n"
                     "  policy import FILE.csv publish every policy of a CSV file (header: sku,location_id,\n"
                     "                         reorder_point,reorder_quantity,safety_stock)\n"
                     "  dlq [--max N]          print the newest N (default 20) dead letters per partition\n"
                     "  watch [--interval-ms N] [--top N] [--once]\n"
                     "                         live view of a running inv-stock (--state-dir): throughput, lag,\n"
                     "                         lowest stock per location and network, latest reorders/shortages\n",
};

/* A bad command-line word: one line naming it, exit 2. */
static int usage_error(const char *what, const char *detail) {
    fprintf(stderr, "invctl: %s: %s (see invctl --help)\n", what, detail);
    return 2;
}

static int parse_int_arg(const char *flag, const char *value, int min, int max, int *out) {
    int64_t v;
    if (inv_parse_int64(value, min, max, &v) != 0) {
        fprintf(stderr, "invctl: %s: \"%s\" is not an integer in [%d, %d]\n", flag, value, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int cmd_topics_create(inv_conf_t *conf, int argc, char **argv) {
    int partitions = 6, replication = -1;
    static const struct option opts[] = {
        {"partitions", required_argument, NULL, 'p'},
        {"replication-factor", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 0; /* 0, not 1: glibc then forgets the previous parse (its "+" mode too) */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt == 'p' && parse_int_arg("--partitions", optarg, 1, 10000, &partitions) != 0)
            return 2;
        if (opt == 'r' && parse_int_arg("--replication-factor", optarg, -1, 100, &replication) != 0)
            return 2;
        if (opt == '?' || opt == ':')
            return usage_error(argv[optind - 1], opt == ':' ? "missing argument" : "unknown flag");
    }
    if (optind < argc)
        return usage_error(argv[optind], "unexpected argument");

    char errstr[1024];
    rd_kafka_t *rk = inv_kafka_admin_new(conf, errstr, sizeof(errstr));
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

static int cmd_config_reference(inv_conf_t *conf, int argc, char **argv) {
    (void)conf;
    if (argc > 1)
        return usage_error(argv[1], "unexpected argument");
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
    char ts[32];
    inv_time_format_rfc3339(row->updated_at_ms, ts);
    if (sp->json) {
        json_t *obj = inv_stock_json_row(sku, location, row);
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{\"error\":\"sku or location is not valid UTF-8\"}");
        free(text);
        json_decref(obj);
    } else
        printf("%-20s %-14s %9lld %10lld %8lld %9lld %7lld  %-12s %s  p%d\n", sku, location, (long long)row->on_hand,
               (long long)row->unsellable, (long long)row->on_order, (long long)row->available,
               (long long)row->version, inv_shortage_state_name(row->shortage), ts, partition);
    sp->rows++;
    return 0;
}

static int cmd_stock(inv_conf_t *conf, int argc, char **argv) {
    stock_print_t sp = {0};
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            sp.json = 1;
        } else if (argv[i][0] == '-' && argv[i][1])
            return usage_error(argv[i], "unknown flag");
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            return usage_error(argv[i], "unexpected argument");
    }
    if (!pos[0])
        return usage_error("stock", "missing SKU");
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
        printf("%-20s %-14s %9s %10s %8s %9s %7s  %-12s %s\n", "SKU", "LOCATION", "ON_HAND", "UNSELLABLE", "ON_ORDER",
               "AVAILABLE", "VERSION", "SHORTAGE", "UPDATED_AT");
    rc = inv_store_stock_foreach(txn, pos[0], pos[1], print_stock_row, &sp);
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

/* ---- policies ----------------------------------------------------------------- */

typedef struct {
    rd_kafka_t *rk;
    inv_encoder_t *enc;
    inv_codec_conf_t codec;
    int destroy_timeout_ms;
    inv_buf_t buf;
    const char *topic;
    int sent;
} policy_out_t;

static int policy_out_open(policy_out_t *po, inv_conf_t *conf) {
    char errstr[512];
    memset(po, 0, sizeof(*po));
    po->topic = inv_conf_get(conf, "topic.policies");
    inv_codec_conf_read(conf, &po->codec);
    po->destroy_timeout_ms = (int)inv_conf_get_int(conf, "shutdown.timeout.ms");
    inv_buf_init(&po->buf);
    if (!(po->enc = inv_encoder_new(po->codec.output_format, &po->codec.resolver, errstr, sizeof(errstr))) ||
        !(po->rk = inv_kafka_producer_new(conf, NULL, NULL, NULL, errstr, sizeof(errstr)))) {
        fprintf(stderr, "invctl: %s\n", errstr);
        return -1;
    }
    return 0;
}

/* Flushes and reports: every policy must be acknowledged by the broker. */
static int policy_out_close(policy_out_t *po) {
    int rc = 0;
    if (po->rk) {
        rd_kafka_flush(po->rk, 30000);
        if (rd_kafka_outq_len(po->rk) > 0) {
            fprintf(stderr, "invctl: %d polic%s not acknowledged by %s within 30 s\n", rd_kafka_outq_len(po->rk),
                    rd_kafka_outq_len(po->rk) == 1 ? "y" : "ies", po->topic);
            rc = 1;
        }
        inv_kafka_close_destroy(po->rk, "the policies producer", po->destroy_timeout_ms);
    }
    inv_encoder_destroy(po->enc);
    inv_buf_free(&po->buf);
    return rc;
}

static int policy_send(void *opaque, const inv_policy_t *p) {
    policy_out_t *po = opaque;
    char key[1100], errstr[512];
    snprintf(key, sizeof(key), "%s|%s", p->sku, p->location_id);
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
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(po->rk, RD_KAFKA_V_TOPIC(po->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                    RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(po->rk, 100);
    if (err) {
        fprintf(stderr, "invctl: policy %s: %s\n", key, rd_kafka_err2str(err));
        return 1;
    }
    po->sent++;
    return 0;
}

static int parse_i64_arg(const char *flag, const char *value, int64_t min, int64_t *out) {
    int64_t v;
    if (inv_parse_int64(value, min, INT64_MAX, &v) != 0) {
        fprintf(stderr, "invctl: %s: \"%s\" is not an integer >= %lld\n", flag, value, (long long)min);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_policy_set(inv_conf_t *conf, int argc, char **argv) {
    static const struct option opts[] = {
        {"reorder-point", required_argument, NULL, 'p'},
        {"reorder-quantity", required_argument, NULL, 'q'},
        {"safety-stock", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    int64_t v[3] = {INT64_MIN, INT64_MIN, INT64_MIN};
    int opt;
    optind = 0; /* 0, not 1: glibc then forgets the previous parse (its "+" mode too) */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return usage_error(argv[optind - 1], opt == ':' ? "missing argument" : "unknown flag");
        int i = opt == 'p' ? 0 : opt == 'q' ? 1 : 2;
        if (parse_i64_arg(opts[i].name, optarg, i == 0 ? -INT64_C(1000000000000) : 0, &v[i]) != 0)
            return 2;
    }
    if (argc - optind != 2)
        return usage_error("policy set", "expected SKU LOCATION");
    for (int i = 0; i < 3; i++)
        if (v[i] == INT64_MIN) {
            char flag[64];
            snprintf(flag, sizeof(flag), "--%s", opts[i].name);
            return usage_error(flag, "missing");
        }
    inv_policy_t p = {argv[optind], argv[optind + 1], v[0], v[1], v[2]};
    policy_out_t po;
    int rc = policy_out_open(&po, conf) != 0 || policy_send(&po, &p) != 0;
    rc |= policy_out_close(&po);
    if (!rc)
        printf("policy %s|%s published to %s\n", p.sku, p.location_id, po.topic);
    return rc ? 1 : 0;
}

static int cmd_policy_delete(inv_conf_t *conf, int argc, char **argv) {
    if (argc != 3)
        return usage_error("policy delete", "expected SKU LOCATION");
    inv_policy_t p = {argv[1], argv[2], INT64_MIN, 0, 0};
    policy_out_t po;
    int rc = policy_out_open(&po, conf) != 0 || policy_send(&po, &p) != 0;
    rc |= policy_out_close(&po);
    if (!rc)
        printf("policy %s|%s deleted (tombstone on %s)\n", p.sku, p.location_id, po.topic);
    return rc ? 1 : 0;
}

static int cmd_policy_import(inv_conf_t *conf, int argc, char **argv) {
    if (argc != 2)
        return usage_error("policy import", "expected FILE.csv");
    FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
    if (!f) {
        fprintf(stderr, "invctl: %s: cannot open\n", argv[1]);
        return 1;
    }
    policy_out_t po;
    char errstr[512];
    int rc = policy_out_open(&po, conf);
    if (!rc) {
        rc = inv_policy_csv_read(f, argv[1], policy_send, &po, errstr, sizeof(errstr));
        if (rc < 0)
            fprintf(stderr, "invctl: %s\n", errstr);
    }
    rc = (rc != 0) | policy_out_close(&po);
    if (f != stdin)
        fclose(f);
    if (!rc)
        printf("%d polic%s published to %s\n", po.sent, po.sent == 1 ? "y" : "ies", po.topic);
    return rc ? 1 : 0;
}

/* ---- dlq ---------------------------------------------------------------------- */

static int cmd_dlq(inv_conf_t *conf, int argc, char **argv) {
    int max = 20;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
            if (parse_int_arg("--max", argv[++i], 1, 1000000, &max) != 0)
                return 2;
        } else {
            return usage_error(argv[i], "unexpected argument");
        }
    }
    char errstr[512];
    const char *topic = inv_conf_get(conf, "topic.dlq");
    rd_kafka_t *rk = inv_kafka_reader_new(conf, "invctl-dlq", 1, NULL, errstr, sizeof(errstr));
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

/* `--state-dir DIR` may also follow the command words ("invctl stock SKU
 * --state-dir DIR"): apply it and remove it from argv. -1 to go on, or 2. */
static int take_state_dir(inv_conf_t *conf, int *argc, char **argv, int from) {
    for (int i = from; i < *argc; i++) {
        int joined = strncmp(argv[i], "--state-dir=", 12) == 0;
        if (!joined && strcmp(argv[i], "--state-dir") != 0)
            continue;
        const char *dir = joined ? argv[i] + 12 : i + 1 < *argc ? argv[i + 1] : NULL;
        char errstr[512];
        if (!dir)
            return usage_error("--state-dir", "missing argument");
        if (inv_conf_set(conf, "state.dir", dir, errstr, sizeof(errstr)) != 0)
            return usage_error("--state-dir", errstr);
        int n = joined ? 1 : 2;
        memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof(char *));
        *argc -= n;
        i--;
    }
    return -1;
}

typedef struct {
    const char *word1, *word2;
    int (*fn)(inv_conf_t *conf, int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"topics", "create", cmd_topics_create},
    {"config", "reference", cmd_config_reference},
    {"stock", NULL, cmd_stock},
    {"policy", "set", cmd_policy_set},
    {"policy", "delete", cmd_policy_delete},
    {"policy", "import", cmd_policy_import},
    {"dlq", NULL, cmd_dlq},
    {"watch", NULL, invctl_watch},
};

static const volatile sig_atomic_t not_stopped = 1;
const volatile sig_atomic_t *invctl_run = &not_stopped;

int main(int argc, char **argv) {
    inv_conf_t *conf = inv_conf_new();
    int next;
    int rc = inv_main_start(conf, &program, argc, argv, &next);
    const command_t *cmd = NULL;
    for (size_t i = 0; rc < 0 && next < argc && i < sizeof(commands) / sizeof(commands[0]); i++) {
        const command_t *c = &commands[i];
        if (strcmp(argv[next], c->word1) == 0 &&
            (!c->word2 || (next + 1 < argc && strcmp(argv[next + 1], c->word2) == 0)))
            cmd = c;
    }
    if (rc < 0 && !cmd)
        rc = usage_error(next < argc ? argv[next] : "COMMAND", next < argc ? "unknown command" : "missing");
    if (rc < 0)
        rc = take_state_dir(conf, &argc, argv, next);
    if (rc < 0) {
        int skip = cmd->word2 ? 1 : 0; /* the command's argv starts at its last word */
        invctl_run = inv_main_signals_install();
        rc = cmd->fn(conf, argc - next - skip, argv + next + skip);
    }
    inv_conf_destroy(conf);
    return rc;
}
