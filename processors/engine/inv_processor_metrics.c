#include "inv_processor_metrics.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_http.h"
#include "inv_log.h"
#include "inv_metrics.h"
#include "inv_processor.h"
#include "inv_txloop_health.h"

struct inv_processor_metrics_s {
    inv_metrics_t *reg;
    inv_http_t *http;
    _Atomic(inv_txloop_t *) loop;           /* read by the HTTP threads */
    _Atomic(inv_schema_source_t *) schemas; /* likewise */
    atomic_int assigned_count;
    double max_stall_seconds; /* health.max.stall.ms */

    /* the open batch, counted when it commits */
    uint64_t pending_ok, pending_movements, pending_dead[INV_PROCESSOR_ERROR_CLASSES];
    inv_txloop_stats_t last; /* the loop's counters already published */

    inv_metrics_counter_t *ok, *dead_letter, *retry, *movements;
    inv_metrics_counter_t *dead_by_class[INV_PROCESSOR_ERROR_CLASSES];
    inv_metrics_counter_t *txn_commits, *txn_aborts, *aborts_by_cause[INV_TXLOOP_ABORT_CAUSES];
    inv_metrics_histogram_t *batch_size, *kafka_commit_seconds, *open_seconds;
    inv_metrics_gauge_t *assigned;
};

static const double batch_buckets[] = {1, 10, 100, 1000, 5000, 10000, 50000, 100000};

/* ---- HTTP ---------------------------------------------------------------- */

static int h_healthz(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    inv_processor_metrics_t *m = opaque;
    char reason[512] = "";
    json_t *doc = json_pack("{s:b, s:i}", "ready", 0, "assigned_partitions", atomic_load(&m->assigned_count));
    if (!doc)
        return -1;
    inv_txloop_t *loop = atomic_load(&m->loop);
    if (loop) {
        inv_txloop_health_t h;
        inv_txloop_health(loop, &h);
        json_object_set_new(doc, "kafka", inv_txloop_health_json(&h, m->max_stall_seconds, reason, sizeof(reason)));
    } else {
        snprintf(reason, sizeof(reason), "starting: not consuming yet");
    }
    json_t *registry = inv_schema_source_health_json(atomic_load(&m->schemas), reason, sizeof(reason));
    if (registry)
        json_object_set_new(doc, "schema_registry", registry);
    int ready = !*reason;
    json_object_set_new(doc, "ready", json_boolean(ready));
    if (!ready)
        json_object_set_new(doc, "reason", json_string(reason));
    return inv_http_response_json(resp, ready ? 200 : 503, doc) ? -1 : 0;
}

static int h_metrics(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    inv_processor_metrics_t *m = opaque;
    inv_metrics_buf_t buf = {0};
    if (inv_metrics_render(m->reg, &buf) != 0)
        return -1;
    inv_buf_t tail;
    inv_buf_init(&tail);
    int rc = 0;
    inv_txloop_t *loop = atomic_load(&m->loop);
    if (loop) { /* the brokers as the loop's clients see them, fresh at each scrape */
        inv_txloop_health_t h;
        inv_txloop_health(loop, &h);
        rc = inv_txloop_health_prometheus(&h, "inv_processor", &tail);
    }
    rc = rc || inv_schema_source_prometheus(atomic_load(&m->schemas), &tail);
    if (rc == 0 && tail.len > 0) {
        char *joined = malloc(buf.len + tail.len + 1);
        if (joined) {
            memcpy(joined, buf.data, buf.len);
            memcpy(joined + buf.len, tail.data, tail.len);
            joined[buf.len + tail.len] = '\0';
            free(buf.data);
            buf.data = joined;
            buf.len += tail.len;
            buf.cap = buf.len + 1;
        } else {
            rc = -1;
        }
    }
    inv_buf_free(&tail);
    if (rc != 0) {
        inv_metrics_buf_free(&buf);
        return -1;
    }
    resp->content_type = INV_METRICS_CONTENT_TYPE;
    inv_http_response_set_body(resp, buf.data, buf.len);
    return 0;
}

/* ---- series -------------------------------------------------------------- */

#define REG(call)                                              \
    do {                                                       \
        if ((call) != 0) {                                     \
            snprintf(errstr, errstr_size, "metrics: %s", err); \
            inv_processor_metrics_destroy(m);                  \
            return -1;                                         \
        }                                                      \
    } while (0)

int inv_processor_metrics_start(inv_processor_metrics_t **out, const inv_conf_t *conf, const char *kind_name,
                                char *errstr, size_t errstr_size) {
    *out = NULL;
    inv_processor_metrics_t *m = calloc(1, sizeof(*m));
    if (!m || !(m->reg = inv_metrics_new())) {
        free(m);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    m->max_stall_seconds = (double)inv_conf_get_int(conf, "health.max.stall.ms") / 1000.0;
    char err[INV_ERRSTR_SIZE];
    const char *events_help = "Inputs by outcome: ok (movements committed), dead_letter (sent to the DLQ, committed), "
                              "retry (held and read again: writer schema unavailable)";
    const char *ok_l[] = {"kind", kind_name, "outcome", "ok", NULL};
    const char *dl_l[] = {"kind", kind_name, "outcome", "dead_letter", NULL};
    const char *retry_l[] = {"kind", kind_name, "outcome", "retry", NULL};
    const char *kind_l[] = {"kind", kind_name, NULL};
    REG(inv_metrics_counter_new(m->reg, "inv_processor_events_total", events_help, ok_l, &m->ok, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_processor_events_total", events_help, dl_l, &m->dead_letter, err,
                                sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_processor_events_total", events_help, retry_l, &m->retry, err,
                                sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_processor_movements_total", "StockMovements produced and committed",
                                kind_l, &m->movements, err, sizeof(err)));
    for (int c = INV_DECODE_ERROR_NONE + 1; c < INV_PROCESSOR_ERROR_CLASSES; c++) {
        const char *class_l[] = {"kind", kind_name, "class", inv_processor_error_class_name(c), NULL};
        REG(inv_metrics_counter_new(m->reg, "inv_processor_dead_letters_total",
                                    "Inputs sent to the DLQ and committed, by class (empty, oversize, json, avro, "
                                    "schema, field: the decoder's stage; rule: a configured rule such as "
                                    "reservation.max.ttl.ms)",
                                    class_l, &m->dead_by_class[c], err, sizeof(err)));
    }
    const char *commit_l[] = {"kind", kind_name, "outcome", "commit", NULL};
    const char *abort_l[] = {"kind", kind_name, "outcome", "abort", NULL};
    REG(inv_metrics_counter_new(m->reg, "inv_processor_transactions_total", "Kafka transactions, by outcome", commit_l,
                                &m->txn_commits, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_processor_transactions_total", "Kafka transactions, by outcome", abort_l,
                                &m->txn_aborts, err, sizeof(err)));
    for (int c = 0; c < INV_TXLOOP_ABORT_CAUSES; c++) {
        const char *cause_l[] = {"kind", kind_name, "cause", inv_txloop_abort_cause_name((inv_txloop_abort_cause_t)c),
                                 NULL};
        REG(inv_metrics_counter_new(m->reg, "inv_processor_transaction_aborts_total",
                                    "Aborted Kafka transactions, by cause (handler: held for the schema registry, "
                                    "output, transaction: a broker or coordinator error, fatal: the producer "
                                    "recreated, rebalance, stop, stuck)",
                                    cause_l, &m->aborts_by_cause[c], err, sizeof(err)));
    }
    REG(inv_metrics_histogram_new(m->reg, "inv_processor_batch_size", "Input messages per committed transaction",
                                  kind_l, batch_buckets, sizeof(batch_buckets) / sizeof(batch_buckets[0]),
                                  &m->batch_size, err, sizeof(err)));
    REG(inv_metrics_histogram_new(m->reg, "inv_processor_kafka_commit_seconds",
                                  "Kafka transaction commit time (offsets sent, outputs flushed, EndTxn)", kind_l,
                                  inv_metrics_latency_buckets, inv_metrics_latency_bucket_count,
                                  &m->kafka_commit_seconds, err, sizeof(err)));
    REG(inv_metrics_histogram_new(
        m->reg, "inv_processor_transaction_open_seconds", "From a transaction's first input to the start of its commit",
        kind_l, inv_metrics_latency_buckets, inv_metrics_latency_bucket_count, &m->open_seconds, err, sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_processor_assigned_partitions", "Input partitions owned by this instance",
                              kind_l, &m->assigned, err, sizeof(err)));
    const char *listen = inv_conf_get(conf, "http.listen");
    if (*listen) {
        static const inv_http_route_t routes[] = {
            {"/healthz", INV_HTTP_EXACT, h_healthz, 1},
            {"/metrics", INV_HTTP_EXACT, h_metrics, 0},
            {NULL, 0, NULL, 0},
        };
        inv_http_conf_t hc;
        inv_http_conf_read(conf, &hc);
        m->http = inv_http_start_conf(listen, routes, m, &hc, errstr, errstr_size);
        if (!m->http) {
            inv_processor_metrics_destroy(m);
            return -1;
        }
        inv_log_info("http: serving /healthz, /metrics on port %d", inv_http_port(m->http));
    }
    *out = m;
    return 0;
}

void inv_processor_metrics_destroy(inv_processor_metrics_t *m) {
    if (!m)
        return;
    inv_http_stop(m->http);
    inv_metrics_destroy(m->reg);
    free(m);
}

void inv_processor_metrics_attach(inv_processor_metrics_t *m, inv_txloop_t *loop) {
    atomic_store(&m->loop, loop);
    if (loop)
        m->last = *inv_txloop_stats(loop);
}

void inv_processor_metrics_attach_schemas(inv_processor_metrics_t *m, inv_schema_source_t *schemas) {
    atomic_store(&m->schemas, schemas);
}

void inv_processor_metrics_ok(inv_processor_metrics_t *m, size_t movements) {
    m->pending_ok++;
    m->pending_movements += movements;
}

void inv_processor_metrics_dead_letter(inv_processor_metrics_t *m, int error_class) {
    if (error_class <= INV_DECODE_ERROR_NONE || error_class >= INV_PROCESSOR_ERROR_CLASSES)
        error_class = INV_DECODE_ERROR_FIELD; /* a reason without a stage: the event's content */
    m->pending_dead[error_class]++;
}

void inv_processor_metrics_retry(inv_processor_metrics_t *m) { inv_metrics_counter_inc(m->retry); }

static void drop_pending(inv_processor_metrics_t *m) {
    m->pending_ok = m->pending_movements = 0;
    memset(m->pending_dead, 0, sizeof(m->pending_dead));
}

/* The loop's transaction counters since the last call. */
static void publish_transactions(inv_processor_metrics_t *m, const inv_txloop_stats_t *st) {
    inv_metrics_counter_add(m->txn_commits, st->txn_commits - m->last.txn_commits);
    inv_metrics_counter_add(m->txn_aborts, st->txn_aborts - m->last.txn_aborts);
    for (int c = 0; c < INV_TXLOOP_ABORT_CAUSES; c++)
        inv_metrics_counter_add(m->aborts_by_cause[c], st->txn_aborts_by_cause[c] - m->last.txn_aborts_by_cause[c]);
    m->last = *st;
}

void inv_processor_metrics_committed(inv_processor_metrics_t *m, const inv_txloop_stats_t *st) {
    uint64_t dead = 0;
    for (int c = 0; c < INV_PROCESSOR_ERROR_CLASSES; c++) {
        if (m->pending_dead[c])
            inv_metrics_counter_add(m->dead_by_class[c], m->pending_dead[c]);
        dead += m->pending_dead[c];
    }
    inv_metrics_counter_add(m->ok, m->pending_ok);
    inv_metrics_counter_add(m->dead_letter, dead);
    inv_metrics_counter_add(m->movements, m->pending_movements);
    drop_pending(m);
    inv_metrics_histogram_observe(m->batch_size, (double)st->last_batch_size);
    inv_metrics_histogram_observe(m->kafka_commit_seconds, st->last_commit_seconds);
    inv_metrics_histogram_observe(m->open_seconds, st->last_open_seconds);
    publish_transactions(m, st);
}

void inv_processor_metrics_aborted(inv_processor_metrics_t *m, const inv_txloop_stats_t *st) {
    drop_pending(m);
    publish_transactions(m, st);
}

void inv_processor_metrics_assigned(inv_processor_metrics_t *m, int partitions) {
    atomic_store(&m->assigned_count, partitions);
    inv_metrics_gauge_set(m->assigned, partitions);
}

int inv_processor_metrics_http_port(const inv_processor_metrics_t *m) {
    return m && m->http ? inv_http_port(m->http) : 0;
}
