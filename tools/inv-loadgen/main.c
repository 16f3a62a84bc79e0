/*
 * inv-loadgen: realistic POS traffic onto the input topics (topic.sales,
 * topic.returns, topic.restocks, topic.reservations, topic.transfers), a channel map onto
 * topic.channels and planned reorder policies onto topic.policies, for demos,
 * tests and benchmarks. What is
 * sent is decided by lg_model (seeded, reproducible); this file is the Kafka
 * side: pacing, the producer, reorder feedback, progress and totals.
 *
 * Key: the event_id. Events spread evenly over the partitions whatever the
 * number of locations (keying by location_id would pile a 3-store demo onto
 * one or two partitions and cap the processors' parallelism), a re-sent
 * duplicate lands on its original's partition as a retrying POS's would,
 * and nothing is lost in ordering: the input topics are never ordered
 * with each other anyway, and the processors re-key every movement by SKU.
 * Transfers are keyed by transfer_id, as the contract recommends: a
 * shipment, its receipts and its cancel stay in order.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inv_codec.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_main.h"
#include "lg_args.h"
#include "lg_model.h"
#include "lg_rng.h"
#include "inv_time.h"

static const inv_conf_flag_t conf_flags[] = {
    {"format", "output.format", "json|avro", "message format; Avro in the Confluent framing, ids schema.id.<Name>"},
    {NULL, NULL, NULL, NULL},
};

static const inv_program_t program = {
    .name = "inv-loadgen",
    .summary = "Realistic POS traffic (sales, some uploaded late, returns, receipts, adjustments, counts,\n"
               "reservation holds with their fulfilments, releases and expiries, transfers between locations,\n"
               "duplicates, malformed messages) onto topic.sales, topic.returns, topic.restocks,\n"
               "topic.reservations and topic.transfers, a channel map onto topic.channels and,\n"
               "with --plan-policies, reorder policies sized to that demand onto topic.policies; seeded and\n"
               "reproducible.",
    .flags = conf_flags,
    .commands_help = lg_args_help,
};

/* A reorder waiting for its lead time. */
typedef struct {
    int64_t due_ms; /* monotonic */
    char *sku, *location_id, *po_id;
    int64_t quantity;
} pending_t;

typedef struct {
    lg_args_t args;
    inv_conf_t *conf;
    lg_model_t *model;
    rd_kafka_t *producer;
    rd_kafka_topic_t *topics[LG_TOPIC_MAX];
    rd_kafka_t *reorders; /* --reorder-feedback */
    inv_decoder_t *decoder;
    inv_schema_resolver_t resolver;
    int32_t ids[INV_MSG_COUNT];
    pending_t *pending;
    size_t pending_head, pending_len, pending_cap;
    uint64_t reorders_seen, reorders_bad;

    uint64_t traffic; /* traffic messages handed to the producer */
    uint64_t delivered, failed;
    int64_t start_ms, last_progress_ms;
    uint64_t last_progress_msgs;
} loadgen_t;

/* The process's run flag, cleared by SIGINT/SIGTERM. */
static const volatile sig_atomic_t not_stopped = 1;
static const volatile sig_atomic_t *run_flag = &not_stopped;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    loadgen_t *g = opaque;
    if (msg->err) {
        if (g->failed++ < 10)
            inv_log_error("delivery to %s failed: %s", rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
    } else {
        g->delivered++;
    }
}

static void progress(loadgen_t *g, int64_t now) {
    if (now - g->last_progress_ms < 1000)
        return;
    const lg_stats_t *s = lg_model_stats(g->model);
    double secs = (double)(now - g->last_progress_ms) / 1000.0;
    double rate = (double)(s->messages - g->last_progress_msgs) / secs;
    char fb[96] = "";
    if (g->reorders)
        snprintf(fb, sizeof(fb), ", reorders %" PRIu64 " (%zu pending)", g->reorders_seen, g->pending_len);
    inv_log_info("%.0fs: %" PRIu64 " sent (%.0f/s), %" PRIu64 " delivered, queue %d; %" PRIu64 " sales, %" PRIu64
                 " returns, %" PRIu64 " restocks, %" PRIu64 " reservations, %" PRIu64 " transfers, %" PRIu64
                 " duplicates, %" PRIu64 " malformed%s",
                 (double)(now - g->start_ms) / 1000.0, s->messages, rate, g->delivered, rd_kafka_outq_len(g->producer),
                 s->events[LG_KIND_SALE], s->events[LG_KIND_RETURN],
                 s->events[LG_KIND_RECEIPT] + s->events[LG_KIND_ADJUSTMENT] + s->events[LG_KIND_COUNT] +
                     s->events[LG_KIND_OPENING] + s->events[LG_KIND_FEEDBACK],
                 s->events[LG_KIND_HOLD] + s->events[LG_KIND_RELEASE],
                 s->events[LG_KIND_SHIPPED] + s->events[LG_KIND_RECEIVED] + s->events[LG_KIND_CANCELED], s->duplicates,
                 s->malformed, fb);
    g->last_progress_ms = now;
    g->last_progress_msgs = s->messages;
}

/* Hands one message to librdkafka (copied), waiting while its queue is full. */
static int produce(loadgen_t *g, const lg_msg_t *m) {
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            g->producer, RD_KAFKA_V_RKT(g->topics[m->topic]), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE((void *)m->value, m->value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!err)
            return 0;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            inv_log_error("produce to %s: %s", rd_kafka_topic_name(g->topics[m->topic]), rd_kafka_err2str(err));
            g->failed++;
            return -1;
        }
        /* Every queued message is delivered or fails within
         * message.timeout.ms, so this wait ends even if the broker is gone. */
        rd_kafka_poll(g->producer, 5);
        progress(g, inv_time_mono_ms());
    }
}

/* ---------------------------------------------------------- reorder feedback */

static void pending_push(loadgen_t *g, const inv_reorder_t *r, int64_t due) {
    if (g->pending_head + g->pending_len == g->pending_cap) {
        if (g->pending_head) {
            memmove(g->pending, g->pending + g->pending_head, g->pending_len * sizeof(*g->pending));
            g->pending_head = 0;
        } else {
            size_t cap = g->pending_cap ? g->pending_cap * 2 : 256;
            pending_t *n = realloc(g->pending, cap * sizeof(*n));
            if (!n)
                abort();
            g->pending = n;
            g->pending_cap = cap;
        }
    }
    pending_t *p = &g->pending[g->pending_head + g->pending_len++];
    p->due_ms = due;
    p->sku = strdup(r->sku);
    p->location_id = strdup(r->location_id);
    p->po_id = strdup(r->event_id);
    p->quantity = r->quantity;
    if (!p->sku || !p->location_id || !p->po_id)
        abort();
}

static void pending_free(pending_t *p) {
    free(p->sku);
    free(p->location_id);
    free(p->po_id);
}

/* Reads what reorders arrived (waiting up to timeout_ms) and delivers the
 * receipts that are due. */
static int feedback_poll(loadgen_t *g, int timeout_ms) {
    rd_kafka_message_t *rm;
    while ((rm = rd_kafka_consumer_poll(g->reorders, timeout_ms)) != NULL) {
        timeout_ms = 0;
        if (rm->err) {
            if (rm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                inv_log_warn("reading reorders: %s", rd_kafka_message_errstr(rm));
        } else {
            inv_reorder_t r;
            char err[INV_ERRSTR_SIZE];
            if (inv_decoder_decode_reorder(g->decoder, rm->payload, rm->len, &r, err, sizeof(err)) != 0) {
                if (g->reorders_bad++ < 10)
                    inv_log_warn("reorder at %s [%d] offset %" PRId64 " ignored: %s", rd_kafka_topic_name(rm->rkt),
                                 (int)rm->partition, rm->offset, err);
            } else {
                g->reorders_seen++;
                pending_push(g, &r, inv_time_mono_ms() + g->args.lead_time_ms);
            }
        }
        rd_kafka_message_destroy(rm);
    }
    int64_t now = inv_time_mono_ms();
    while (g->pending_len && g->pending[g->pending_head].due_ms <= now) {
        pending_t *p = &g->pending[g->pending_head];
        lg_msg_t msg;
        char err[INV_ERRSTR_SIZE];
        int rc = 0;
        if (lg_model_feedback(g->model, p->sku, p->location_id, p->quantity, p->po_id, &msg, err, sizeof(err)) != 0)
            inv_log_warn("no receipt: %s", err);
        else
            rc = produce(g, &msg);
        pending_free(p);
        g->pending_head++;
        g->pending_len--;
        if (rc)
            return -1;
    }
    return 0;
}

static int feedback_open(loadgen_t *g, char *errstr, size_t n) {
    const char *topic = inv_conf_get(g->conf, "topic.reorders");
    /* INV_RDK_ASSIGN_NEEDS_GROUP_ID: this consumer only assigns (from the end) and never commits, so it never
     * joins that group. */
    char group[300];
    const char *gid = inv_conf_get(g->conf, "group.id");
    snprintf(group, sizeof(group), "%s.reorders", *gid ? gid : "inv-loadgen");
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(g->conf, &ks);
    g->reorders = inv_kafka_consumer_new(&ks, group, NULL, NULL, errstr, n);
    inv_kafka_settings_free(&ks);
    if (!g->reorders)
        return -1;
    int parts = inv_kafka_partition_count(g->reorders, topic, 10000, errstr, n);
    if (parts < 0)
        return -1;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tl, topic, p)->offset = RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t err = rd_kafka_assign(g->reorders, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    if (err) {
        snprintf(errstr, n, "assigning %s: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    inv_schema_resolver_static_init(&g->resolver, g->ids);
    g->decoder = inv_decoder_new(&g->resolver, errstr, n);
    return g->decoder ? 0 : -1;
}

/* ---------------------------------------------------------------- producer */

/* Throughput settings, unless the user set them (-X kafka.<prop>=...):
 * batches of up to 1 MB / 10000 messages filled for up to 10 ms (fewer,
 * fuller produce requests: the broker, not this process, is what limits the
 * rate on a small machine), and a queue deep enough to ride out a slow
 * broker for a few seconds at full speed. */
static void producer_defaults(inv_conf_t *conf) {
    static const char *defaults[][2] = {
        {"linger.ms", "10"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
    };
    char err[INV_ERRSTR_SIZE];
    for (size_t d = 0; d < sizeof(defaults) / sizeof(defaults[0]); d++) {
        int set = 0;
        for (size_t i = 0; i < inv_conf_kafka_count(conf); i++) {
            const char *prop, *value;
            inv_conf_kafka_at(conf, i, &prop, &value);
            if (strcmp(prop, defaults[d][0]) == 0)
                set = 1;
        }
        char key[128];
        snprintf(key, sizeof(key), "kafka.%s", defaults[d][0]);
        if (!set)
            inv_conf_set(conf, key, defaults[d][1], err, sizeof(err));
    }
}

static int producer_open(loadgen_t *g, char *errstr, size_t n) {
    producer_defaults(g->conf);
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(g->conf, &ks);
    g->producer = inv_kafka_producer_new(&ks, NULL, on_delivery, g, errstr, n);
    inv_kafka_settings_free(&ks);
    if (!g->producer)
        return -1;
    static const char *keys[LG_TOPIC_MAX] = {"topic.sales",        "topic.returns",   "topic.restocks",
                                             "topic.reservations", "topic.transfers", "topic.channels",
                                             "topic.policies"};
    for (int t = 0; t < LG_TOPIC_MAX; t++) {
        if ((t == LG_TOPIC_RESERVATIONS && g->args.model.reservations_ratio <= 0) ||
            (t == LG_TOPIC_TRANSFERS && g->args.model.transfers_ratio <= 0) ||
            (t == LG_TOPIC_CHANNELS && g->args.no_channel_map) || (t == LG_TOPIC_POLICIES && !g->args.plan_policies))
            continue; /* not needed: a deployment without it still runs */
        const char *name = inv_conf_get(g->conf, keys[t]);
        /* fail now, not after message.timeout.ms, when a topic is missing */
        if (inv_kafka_partition_count(g->producer, name, 10000, errstr, n) < 0)
            return -1;
        g->topics[t] = rd_kafka_topic_new(g->producer, name, NULL);
        if (!g->topics[t]) {
            snprintf(errstr, n, "topic %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the run */

/* How many traffic messages may go now (at most 2000) at the rate, and,
 * when none, how long to wait; t0 moves on after a stall (no burst). */
static uint64_t paced(loadgen_t *g, int64_t now, int64_t *t0, int *wait_ms) {
    const lg_args_t *a = &g->args;
    if (a->rate <= 0)
        return 2000;
    double due = (double)(now - *t0) / 1000.0 * a->rate + 1;
    /* fallen behind by more than a second (a stall): do not burst */
    if (due - (double)g->traffic > a->rate + 1) {
        *t0 = now - (int64_t)((double)g->traffic / a->rate * 1000.0);
        due = (double)g->traffic + 1;
    }
    uint64_t allowed = due > (double)g->traffic ? (uint64_t)(due - (double)g->traffic) : 0;
    if (allowed > 2000)
        allowed = 2000;
    if (!allowed) {
        double next_ms = ((double)g->traffic / a->rate) * 1000.0 - (double)(now - *t0);
        *wait_ms = next_ms < 1 ? 1 : next_ms > 100 ? 100 : (int)ceil(next_ms);
    }
    return allowed;
}

/* Produces every message next() gives, as fast as the producer takes them,
 * until it has none (or, with stoppable, the run is stopped). 0, or -1
 * (logged). */
static int send_each(loadgen_t *g, int (*next)(lg_model_t *, lg_msg_t *, char *, size_t), int stoppable) {
    char err[INV_ERRSTR_SIZE];
    lg_msg_t msg;
    int rc = 0;
    while ((!stoppable || *run_flag) && (rc = next(g->model, &msg, err, sizeof(err))) > 0) {
        if (produce(g, &msg))
            return -1;
        rd_kafka_poll(g->producer, 0);
        progress(g, inv_time_mono_ms());
    }
    if (stoppable && !*run_flag)
        return 0;
    if (rc < 0) {
        inv_log_error("%s", err);
        return -1;
    }
    return 0;
}

static int run(loadgen_t *g) {
    char err[INV_ERRSTR_SIZE];
    lg_msg_t msg;
    g->start_ms = g->last_progress_ms = inv_time_mono_ms();
    /* the planned policies, the channel map, then the opening stock, as fast
     * as the producer takes them */
    if (send_each(g, lg_model_next_policy, 1) || (!g->args.no_channel_map && send_each(g, lg_model_next_channel, 1)) ||
        send_each(g, lg_model_next_opening, 1))
        return -1;
    const lg_args_t *a = &g->args;
    int64_t t0 = inv_time_mono_ms(); /* pacing: message k is due at t0 + k / rate */
    while (*run_flag) {
        int64_t now = inv_time_mono_ms();
        if ((a->count && g->traffic >= a->count) || (a->duration_ms && now - g->start_ms >= a->duration_ms))
            break;
        int wait_ms = 0;
        uint64_t allowed = paced(g, now, &t0, &wait_ms);
        if (a->count && allowed > a->count - g->traffic)
            allowed = a->count - g->traffic;
        for (uint64_t i = 0; i < allowed && *run_flag; i++) {
            if (lg_model_next(g->model, &msg, err, sizeof(err)) != 0) {
                inv_log_error("%s", err);
                return -1;
            }
            if (produce(g, &msg))
                return -1;
            g->traffic++;
        }
        if (g->reorders) {
            if (feedback_poll(g, wait_ms))
                return -1;
            rd_kafka_poll(g->producer, 0);
        } else {
            rd_kafka_poll(g->producer, wait_ms);
        }
        progress(g, inv_time_mono_ms());
    }
    /* what is held back goes now, on top of --count: every late sale of the
     * books is sent and every transfer is received or canceled */
    return send_each(g, lg_model_next_held, 0);
}

/* Waits for every queued message: each is delivered or fails within
 * message.timeout.ms. Returns the number still queued (0 = all done). */
static int flush_all(loadgen_t *g) {
    int64_t deadline = inv_time_mono_ms() + 15 * 60 * 1000;
    while (rd_kafka_outq_len(g->producer) > 0 && inv_time_mono_ms() < deadline) {
        rd_kafka_flush(g->producer, 1000);
        progress(g, inv_time_mono_ms());
    }
    return rd_kafka_outq_len(g->producer);
}

static void print_totals(loadgen_t *g, double secs, int undelivered) {
    const lg_stats_t *s = lg_model_stats(g->model);
    fprintf(stderr, "inv-loadgen: totals after %.1fs (seed %" PRIu64 "): %" PRIu64 " messages (%.0f/s), %.1f MB\n",
            secs, g->args.model.seed, s->messages, secs > 0 ? (double)s->messages / secs : 0.0, (double)s->bytes / 1e6);
    fprintf(stderr, "  events:");
    for (int k = 0; k < LG_KIND_MAX; k++)
        fprintf(stderr, " %s %" PRIu64 "%s", lg_kind_name((lg_kind_t)k), s->events[k],
                k + 1 < LG_KIND_MAX ? "," : "\n");
    fprintf(stderr,
            "  lines %" PRIu64 ", late sales %" PRIu64 " (%" PRIu64
            " dated before a count sent earlier), duplicates %" PRIu64 ", malformed %" PRIu64 " (",
            s->lines, s->late_sales, s->late_before_count, s->duplicates, s->malformed);
    for (int b = 1; b < LG_BAD_MAX; b++)
        fprintf(stderr, "%s %" PRIu64 "%s", lg_bad_name((lg_bad_t)b), s->by_bad[b], b + 1 < LG_BAD_MAX ? ", " : ")\n");
    fprintf(stderr, "  delivered %" PRIu64 ", failed %" PRIu64 ", undelivered %d", g->delivered, g->failed,
            undelivered);
    if (g->reorders)
        fprintf(stderr, "; reorders read %" PRIu64 ", receipts sent %" PRIu64 ", still in lead time %zu",
                g->reorders_seen, s->events[LG_KIND_FEEDBACK], g->pending_len);
    fprintf(stderr, "\n");
}

static int write_stats(loadgen_t *g, FILE *f, double secs, int undelivered) {
    const lg_stats_t *s = lg_model_stats(g->model);
    fprintf(f, "{\"seed\":%" PRIu64 ",\"elapsed_s\":%.3f,\"messages\":%" PRIu64 ",\"rate\":%.1f,\"bytes\":%" PRIu64,
            g->args.model.seed, secs, s->messages, secs > 0 ? (double)s->messages / secs : 0.0, s->bytes);
    fprintf(f,
            ",\"by_topic\":{\"sales\":%" PRIu64 ",\"returns\":%" PRIu64 ",\"restocks\":%" PRIu64
            ",\"reservations\":%" PRIu64 ",\"transfers\":%" PRIu64 ",\"channels\":%" PRIu64 ",\"policies\":%" PRIu64
            "}",
            s->by_topic[LG_TOPIC_SALES], s->by_topic[LG_TOPIC_RETURNS], s->by_topic[LG_TOPIC_RESTOCKS],
            s->by_topic[LG_TOPIC_RESERVATIONS], s->by_topic[LG_TOPIC_TRANSFERS], s->by_topic[LG_TOPIC_CHANNELS],
            s->by_topic[LG_TOPIC_POLICIES]);
    fprintf(f, ",\"events\":{");
    for (int k = 0; k < LG_KIND_MAX; k++)
        fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", lg_kind_name((lg_kind_t)k), s->events[k]);
    fprintf(f,
            "},\"lines\":%" PRIu64 ",\"late_sales\":%" PRIu64 ",\"late_sales_before_count\":%" PRIu64
            ",\"duplicates\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"malformed_by_kind\":{",
            s->lines, s->late_sales, s->late_before_count, s->duplicates, s->malformed);
    for (int b = 1; b < LG_BAD_MAX; b++)
        fprintf(f, "%s\"%s\":%" PRIu64, b > 1 ? "," : "", lg_bad_name((lg_bad_t)b), s->by_bad[b]);
    fprintf(f, "},\"expected_dlq\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"undelivered\":%d",
            s->malformed, g->delivered, g->failed, undelivered);
    fprintf(f, ",\"reorders_read\":%" PRIu64 ",\"receipts_pending\":%zu", g->reorders_seen, g->pending_len);
    char settled[32];
    int64_t at = lg_model_settled_at(g->model);
    if (at != INT64_MIN)
        inv_time_format_rfc3339(at, settled);
    fprintf(f, ",\"settled_at\":%s%s%s}\n", at != INT64_MIN ? "\"" : "", at != INT64_MIN ? settled : "null",
            at != INT64_MIN ? "\"" : "");
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

static uint64_t random_seed(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
    return lg_rng_splitmix64(&x) % 1000000000u; /* short enough to retype */
}

int main(int argc, char **argv) {
    loadgen_t g;
    memset(&g, 0, sizeof(g));
    lg_args_init(&g.args);
    char err[INV_ERRSTR_SIZE], ext_err[INV_ERRSTR_SIZE];
    int ext_rc = lg_args_extract(&g.args, &argc, argv, conf_flags, ext_err, sizeof(ext_err));
    g.conf = inv_conf_new();
    int next;
    int rc = inv_main_start(g.conf, &program, argc, argv, &next);
    FILE *oracle = NULL, *stats = NULL;
    if (rc < 0 && next < argc) {
        fprintf(stderr, "inv-loadgen: %s: unexpected argument (see --help)\n", argv[next]);
        rc = 2;
    }
    if (rc < 0 && ext_rc != 0) {
        fprintf(stderr, "inv-loadgen: %s\n", ext_err);
        rc = 2;
    }
    if (rc < 0 && lg_args_finish(&g.args, g.conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "inv-loadgen: %s\n", err);
        rc = 2;
    }
    if (rc < 0 && g.args.oracle_path && !(oracle = fopen(g.args.oracle_path, "w"))) {
        fprintf(stderr, "inv-loadgen: --oracle: cannot create \"%s\": %m\n", g.args.oracle_path);
        rc = 2;
    }
    if (rc < 0 && g.args.stats_path && !(stats = fopen(g.args.stats_path, "w"))) {
        fprintf(stderr, "inv-loadgen: --stats-json: cannot create \"%s\": %m\n", g.args.stats_path);
        rc = 2;
    }
    if (rc >= 0)
        goto done;

    if (!g.args.seed_given)
        g.args.model.seed = random_seed();
    memcpy(g.ids, g.args.model.schema_ids, sizeof(g.ids));
    g.model = lg_model_new(&g.args.model, err, sizeof(err));
    if (!g.model) {
        fprintf(stderr, "inv-loadgen: %s\n", err);
        rc = 2;
        goto done;
    }
    if (g.args.plan_policies) {
        const lg_model_conf_t *c = &g.args.model;
        double fresh = g.args.rate * (1 - c->duplicates_ratio - c->malformed_ratio);
        int64_t t0 = inv_time_mono_ms();
        if (lg_model_plan_policies(g.model, fresh, g.args.lead_time_ms, err, sizeof(err)) != 0) {
            fprintf(stderr, "inv-loadgen: %s\n", err);
            rc = 2;
            goto done;
        }
        inv_log_info("planned %zu reorder policies for %.0f events/s and a %" PRId64 " ms lead time in %" PRId64 " ms",
                     c->skus * c->locations, fresh, g.args.lead_time_ms, inv_time_mono_ms() - t0);
    }
    inv_log_info("seed %" PRIu64 "%s; %zu locations, %zu SKUs (zipf %.2f), %s, rate %s", g.args.model.seed,
                 g.args.seed_given ? "" : " (pass --seed to repeat this run)", g.args.model.locations,
                 g.args.model.skus, g.args.model.zipf, inv_format_to_string(g.args.model.format),
                 g.args.rate > 0 ? "limited" : "as fast as possible");
    run_flag = inv_main_signals_install();
    /* the consumer first: the producer's defaults go into conf */
    if ((g.args.reorder_feedback && feedback_open(&g, err, sizeof(err)) != 0) ||
        producer_open(&g, err, sizeof(err)) != 0) {
        inv_log_error("%s", err);
        rc = 1;
        goto done;
    }
    int run_rc = run(&g);
    int undelivered = flush_all(&g);
    double secs = (double)(inv_time_mono_ms() - g.start_ms) / 1000.0;
    print_totals(&g, secs, undelivered);
    rc = run_rc == 0 && undelivered == 0 && g.failed == 0 ? 0 : 1;
    if (rc)
        inv_log_error("not every message was delivered (%" PRIu64 " failed, %d undelivered)%s", g.failed, undelivered,
                      oracle ? ": no oracle written" : "");
    if (oracle && rc == 0 && lg_model_write_oracle(g.model, oracle, err, sizeof(err)) != 0) {
        inv_log_error("--oracle %s: %s", g.args.oracle_path, err);
        rc = 1;
    }
    if (stats && write_stats(&g, stats, secs, undelivered) != 0) {
        inv_log_error("--stats-json %s: write failed", g.args.stats_path);
        rc = 1;
    }

done:
    if (oracle && fclose(oracle) != 0 && rc == 0)
        rc = 1;
    if (stats)
        fclose(stats);
    int destroy_timeout_ms = (int)inv_conf_get_int(g.conf, "shutdown.timeout.ms");
    inv_kafka_close_destroy(g.reorders, "the reorders consumer", destroy_timeout_ms);
    for (size_t i = 0; i < g.pending_len; i++)
        pending_free(&g.pending[g.pending_head + i]);
    free(g.pending);
    inv_decoder_destroy(g.decoder);
    for (int t = 0; t < LG_TOPIC_MAX; t++)
        if (g.topics[t])
            rd_kafka_topic_destroy(g.topics[t]);
    inv_kafka_close_destroy(g.producer, "the producer", destroy_timeout_ms);
    lg_model_destroy(g.model);
    inv_conf_destroy(g.conf);
    return rc;
}
