#include "inv_keeper_metrics.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_http.h"
#include "inv_keeper_conf.h"
#include "inv_log.h"
#include "inv_metrics.h"
#include "inv_rules.h"
#include "inv_avail.h"
#include "inv_stock_json.h"
#include "inv_txloop_health.h"

#define MAX_PARTITIONS 4096

struct inv_keeper_metrics_s {
    inv_metrics_t *reg;
    inv_http_t *http;
    inv_store_t *store;
    _Atomic(inv_txloop_t *) loop;           /* read by the HTTP thread */
    _Atomic(inv_schema_source_t *) schemas; /* likewise */
    int64_t max_lag;
    double max_stall_seconds; /* health.max.stall.ms */
    atomic_int ready;
    atomic_int assigned_count;
    atomic_int state_writable; /* 0 while LMDB writes fail */
    atomic_int ever_assigned;
    inv_txloop_stats_t last; /* loop counters already published */

    inv_metrics_counter_t *movements[INV_MOVE_TRANSFER_CANCEL + 1]; /* by type, every type */
    inv_metrics_counter_t *duplicates, *reorders, *invalid_policies, *invalid_channels, *dead_letters;
    inv_metrics_counter_t *availability;
    inv_metrics_counter_t *shortages[INV_SHORTAGE_RESTORED + 1];
    inv_metrics_counter_t *reservations[INV_RESERVATION_NOT_FOUND + 1];
    inv_metrics_counter_t *expiries_due;
    inv_metrics_counter_t *txn_commits, *txn_aborts, *restore_keys;
    inv_metrics_counter_t *aborts_by_cause[INV_TXLOOP_ABORT_CAUSES];
    inv_metrics_counter_t *restore_seconds;
    inv_metrics_histogram_t *batch_size, *commit_seconds, *kafka_commit_seconds, *open_seconds, *latency;
    inv_metrics_gauge_t *assigned, *ready_gauge, *map_bytes, *used_bytes, *state_dir_full;
    inv_metrics_gauge_t *resident_anon, *resident_file;
    atomic_int serving[MAX_PARTITIONS]; /* the partition's rows are this instance's, current */
    inv_metrics_gauge_t *lag[MAX_PARTITIONS];
    inv_metrics_gauge_t *restoring[MAX_PARTITIONS];
};

static const double batch_buckets[] = {1, 10, 100, 1000, 5000, 10000, 50000, 100000};

#define LMDB_ERRORS_HELP "Failed LMDB writes (begin, commit, restore, policies), by error"

static int partition_series(inv_keeper_metrics_t *m, int32_t p) {
    if (p < 0 || p >= MAX_PARTITIONS)
        return -1;
    if (m->lag[p])
        return 0;
    char pn[16], err[256];
    snprintf(pn, sizeof(pn), "%d", p);
    const char *labels[] = {"partition", pn, NULL};
    if (inv_metrics_gauge_new(m->reg, "inv_stock_partition_lag",
                              "Messages of an assigned movements partition not yet applied", labels, &m->lag[p], err,
                              sizeof(err)) ||
        inv_metrics_gauge_new(m->reg, "inv_stock_partition_restoring",
                              "1 while a partition is being rebuilt from the changelog", labels, &m->restoring[p], err,
                              sizeof(err))) {
        inv_log_warn("metrics: %s", err);
        return -1;
    }
    return 0;
}

/* ---- HTTP ---------------------------------------------------------------- */

static int h_healthz(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    inv_keeper_metrics_t *m = opaque;
    int writable = atomic_load(&m->state_writable), ready = atomic_load(&m->ready) && writable;
    char reason[512] = "";
    if (!writable)
        snprintf(reason, sizeof(reason), "LMDB writes fail in the state dir (input held, retried)");
    json_t *doc = json_pack("{s:b, s:i}", "ready", 0, "assigned_partitions", atomic_load(&m->assigned_count));
    if (!writable)
        json_object_set_new(doc, "state_writable", json_false());
    inv_txloop_t *loop = atomic_load(&m->loop);
    if (loop) {
        inv_txloop_health_t h;
        inv_txloop_health(loop, &h);
        json_object_set_new(doc, "kafka", inv_txloop_health_json(&h, m->max_stall_seconds, reason, sizeof(reason)));
    }
    json_t *registry = inv_schema_source_health_json(atomic_load(&m->schemas), reason, sizeof(reason));
    if (registry)
        json_object_set_new(doc, "schema_registry", registry);
    if (*reason)
        ready = 0;
    else if (!ready)
        snprintf(reason, sizeof(reason), "%s",
                 atomic_load(&m->ever_assigned)
                     ? "a partition is being restored, held, or lags by more than health.max.lag"
                     : "no movements partition assigned yet");
    json_object_set_new(doc, "ready", json_boolean(ready));
    if (!ready)
        json_object_set_new(doc, "reason", json_string(reason));
    return inv_http_response_json(resp, ready ? 200 : 503, doc) ? -1 : 0;
}

static int h_metrics(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    inv_keeper_metrics_t *m = opaque;
    inv_metrics_buf_t buf = {0};
    if (inv_metrics_render(m->reg, &buf) != 0)
        return -1;
    inv_txloop_t *loop = atomic_load(&m->loop);
    if (loop) { /* the brokers as the loop's clients see them, fresh at each scrape */
        inv_txloop_health_t h;
        inv_txloop_health(loop, &h);
        inv_buf_t kafka;
        inv_buf_init(&kafka);
        char *joined = NULL;
        int rc = inv_txloop_health_prometheus(&h, "inv_stock", &kafka) ||
                 inv_schema_source_prometheus(atomic_load(&m->schemas), &kafka);
        if (!rc && (joined = malloc(buf.len + kafka.len + 1))) {
            memcpy(joined, buf.data, buf.len);
            memcpy(joined + buf.len, kafka.data, kafka.len);
            joined[buf.len + kafka.len] = '\0';
            free(buf.data);
            buf.data = joined;
            buf.len += kafka.len;
            buf.cap = buf.len + 1;
        }
        inv_buf_free(&kafka);
        if (!joined) {
            inv_metrics_buf_free(&buf);
            return -1;
        }
    }
    resp->content_type = INV_METRICS_CONTENT_TYPE;
    inv_http_response_set_body(resp, buf.data, buf.len);
    return 0;
}

typedef struct {
    inv_keeper_metrics_t *m;
    json_t *doc;
    inv_store_txn_t *txn;
} stock_doc_t;

static int collect_availability(void *opaque, const char *channel, const inv_avail_state_t *st) {
    json_array_append_new(opaque, json_pack("{s:s, s:I, s:I, s:I}", "channel", channel, "available_to_sell",
                                            (json_int_t)st->available_to_sell, "locations", (json_int_t)st->locations,
                                            "version", (json_int_t)st->version));
    return 0;
}

/* A row of a partition this instance serves; rows a revoked partition left
 * in LMDB are stale, and another instance answers for them. */
static int collect_row(void *opaque, int32_t partition, const char *sku, const char *location,
                       const inv_stock_row_t *row) {
    stock_doc_t *sd = opaque;
    if (partition < 0 || partition >= MAX_PARTITIONS || !atomic_load(&sd->m->serving[partition]))
        return 0;
    json_t *doc = sd->doc;
    json_t *level = inv_stock_json_row(sku, location, row);
    if (strcmp(location, "*") == 0) {
        json_object_set_new(doc, "network", level);
        /* the SKU's channel availability, as last emitted */
        return inv_avail_foreach_sku(sd->txn, partition, sku, collect_availability,
                                     json_object_get(doc, "availability"));
    } else
        json_array_append_new(json_object_get(doc, "locations"), level);
    return 0;
}

static int h_stock(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    inv_keeper_metrics_t *m = opaque;
    char location[512];
    int has_loc = inv_http_request_arg(req, "location", location, sizeof(location)) == 0;
    resp->content_type = "application/json";
    json_t *doc = json_pack("{s:s, s:n, s:[], s:[]}", "sku", req->rest, "network", "locations", "availability");
    if (!doc) {
        resp->status = 400;
        return inv_http_response_printf(resp, "{\"error\":\"sku is not valid UTF-8\"}\n");
    }
    inv_store_txn_t *txn = NULL;
    int rc = inv_store_txn_begin(m->store, 1, &txn);
    if (!rc)
        rc = inv_store_stock_foreach(txn, req->rest, has_loc ? location : NULL, collect_row,
                                     &(stock_doc_t){.m = m, .doc = doc, .txn = txn});
    inv_store_txn_abort(txn);
    if (rc) {
        json_decref(doc);
        resp->status = 500;
        return inv_http_response_printf(resp, "{\"error\":\"LMDB: %s\"}\n", inv_store_strerror(rc));
    }
    if (json_array_size(json_object_get(doc, "locations")) == 0 && json_is_null(json_object_get(doc, "network"))) {
        json_decref(doc);
        resp->status = 404;
        return inv_http_response_printf(resp, "{\"error\":\"no stock known for this sku\"}\n");
    }
    return inv_http_response_json(resp, 200, doc) ? -1 : 0;
}

/* ---- set-up ------------------------------------------------------------------ */

#define REG(call)                                              \
    do {                                                       \
        if ((call) != 0) {                                     \
            snprintf(errstr, errstr_size, "metrics: %s", err); \
            inv_keeper_metrics_destroy(m);                     \
            return -1;                                         \
        }                                                      \
    } while (0)

int inv_keeper_metrics_new(inv_keeper_metrics_t **out, const inv_conf_t *conf, inv_store_t *store, char *errstr,
                           size_t errstr_size) {
    keeper_conf_t kc;
    keeper_conf_read(conf, &kc);
    return inv_keeper_metrics_start(out, &kc, store, errstr, errstr_size);
}

int inv_keeper_metrics_start(inv_keeper_metrics_t **out, const keeper_conf_t *kc, inv_store_t *store, char *errstr,
                             size_t errstr_size) {
    const char *listen = kc->http_listen;
    int64_t max_lag = kc->health_max_lag;
    inv_keeper_metrics_t *m = calloc(1, sizeof(*m));
    if (!m || !(m->reg = inv_metrics_new())) {
        free(m);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    m->store = store;
    m->max_lag = max_lag;
    m->max_stall_seconds = (double)kc->health_max_stall_ms / 1000.0;
    atomic_store(&m->state_writable, 1);
    char err[INV_ERRSTR_SIZE];
    for (int t = 0; t <= INV_MOVE_TRANSFER_CANCEL; t++) {
        const char *labels[] = {"type", inv_movement_type_to_string((inv_movement_type_t)t), NULL};
        REG(inv_metrics_counter_new(m->reg, "inv_stock_movements_total", "Movements applied, by type", labels,
                                    &m->movements[t], err, sizeof(err)));
    }
    REG(inv_metrics_counter_new(m->reg, "inv_stock_duplicates_total", "Movements dropped as already applied", NULL,
                                &m->duplicates, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_dead_letters_total",
                                "Inputs sent to the DLQ: invalid movements and policy records", NULL, &m->dead_letters,
                                err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_reorders_total", "ReorderEvents emitted", NULL, &m->reorders, err,
                                sizeof(err)));
    for (int s = INV_SHORTAGE_LOW; s <= INV_SHORTAGE_RESTORED; s++) {
        const char *labels[] = {"state", inv_shortage_state_to_string((inv_shortage_state_t)s), NULL};
        REG(inv_metrics_counter_new(m->reg, "inv_stock_shortages_total", "ShortageEvents emitted, by state", labels,
                                    &m->shortages[s], err, sizeof(err)));
    }
    for (int s = INV_RESERVATION_HELD; s <= INV_RESERVATION_NOT_FOUND; s++) {
        const char *labels[] = {"state", inv_reservation_state_to_string((inv_reservation_state_t)s), NULL};
        REG(inv_metrics_counter_new(m->reg, "inv_stock_reservation_statuses_total",
                                    "ReservationStatuses emitted, by state", labels, &m->reservations[s], err,
                                    sizeof(err)));
    }
    REG(inv_metrics_counter_new(m->reg, "inv_stock_expiries_due_total",
                                "expire movements written for reservation lines whose expiry came (a line's is "
                                "written again after 30 s until applied; applied once)",
                                NULL, &m->expiries_due, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_invalid_policies_total", "Undecodable ReorderPolicies ignored", NULL,
                                &m->invalid_policies, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_invalid_channels_total",
                                "ChannelLocation records that cannot be applied (dead-lettered)", NULL,
                                &m->invalid_channels, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_availability_total",
                                "AvailabilityLevels and their tombstones produced", NULL, &m->availability, err,
                                sizeof(err)));
    const char *commit_l[] = {"outcome", "commit", NULL}, *abort_l[] = {"outcome", "abort", NULL};
    REG(inv_metrics_counter_new(m->reg, "inv_stock_transactions_total", "Kafka transactions, by outcome", commit_l,
                                &m->txn_commits, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_transactions_total", "Kafka transactions, by outcome", abort_l,
                                &m->txn_aborts, err, sizeof(err)));
    for (int c = 0; c < INV_TXLOOP_ABORT_CAUSES; c++) {
        const char *cause_l[] = {"cause", inv_txloop_abort_cause_name((inv_txloop_abort_cause_t)c), NULL};
        REG(inv_metrics_counter_new(m->reg, "inv_stock_transaction_aborts_total",
                                    "Aborted Kafka transactions, by cause (handler, output, transaction: a broker or "
                                    "coordinator error, fatal: the producer recreated, rebalance, stop)",
                                    cause_l, &m->aborts_by_cause[c], err, sizeof(err)));
    }
    REG(inv_metrics_histogram_new(m->reg, "inv_stock_batch_size", "Input messages per transaction", NULL, batch_buckets,
                                  sizeof(batch_buckets) / sizeof(batch_buckets[0]), &m->batch_size, err, sizeof(err)));
    REG(inv_metrics_histogram_new(m->reg, "inv_stock_lmdb_commit_seconds", "LMDB write txn commit time", NULL,
                                  inv_metrics_latency_buckets, inv_metrics_latency_bucket_count, &m->commit_seconds,
                                  err, sizeof(err)));
    REG(inv_metrics_histogram_new(m->reg, "inv_stock_kafka_commit_seconds",
                                  "Kafka transaction commit time (offsets sent, outputs flushed, EndTxn)", NULL,
                                  inv_metrics_latency_buckets, inv_metrics_latency_bucket_count,
                                  &m->kafka_commit_seconds, err, sizeof(err)));
    REG(inv_metrics_histogram_new(
        m->reg, "inv_stock_transaction_open_seconds", "From a transaction's first input to the start of its commit",
        NULL, inv_metrics_latency_buckets, inv_metrics_latency_bucket_count, &m->open_seconds, err, sizeof(err)));
    REG(inv_metrics_histogram_new(m->reg, "inv_stock_end_to_end_latency_seconds",
                                  "From the input event's Kafka timestamp to its movement applied and committed", NULL,
                                  inv_metrics_latency_buckets, inv_metrics_latency_bucket_count, &m->latency, err,
                                  sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_restore_keys_total", "Rows and movement ids restored from Kafka",
                                NULL, &m->restore_keys, err, sizeof(err)));
    REG(inv_metrics_counter_new(m->reg, "inv_stock_restore_seconds_total", "Time spent restoring partitions", NULL,
                                &m->restore_seconds, err, sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_assigned_partitions", "Movements partitions owned by this instance",
                              NULL, &m->assigned, err, sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_ready", "1 when /healthz reports ready", NULL, &m->ready_gauge, err,
                              sizeof(err)));
    const char *anon_l[] = {"kind", "anonymous", NULL}, *file_l[] = {"kind", "file", NULL};
    const char *resident_help = "Resident memory: anonymous (the process's own heap and stacks) and file (mostly "
                                "LMDB's mapped state: page cache, shared and reclaimable)";
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_resident_memory_bytes", resident_help, anon_l, &m->resident_anon, err,
                              sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_resident_memory_bytes", resident_help, file_l, &m->resident_file, err,
                              sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_lmdb_map_bytes", "LMDB map size", NULL, &m->map_bytes, err,
                              sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_lmdb_used_bytes", "LMDB pages in use", NULL, &m->used_bytes, err,
                              sizeof(err)));
    inv_metrics_counter_t *enospc;
    const char *enospc_l[] = {"error", "ENOSPC", NULL};
    REG(inv_metrics_counter_new(m->reg, "inv_stock_lmdb_errors_total", LMDB_ERRORS_HELP, enospc_l, &enospc, err,
                                sizeof(err)));
    REG(inv_metrics_gauge_new(m->reg, "inv_stock_state_dir_full",
                              "1 while LMDB writes fail for lack of space in the state dir (input held, retried)", NULL,
                              &m->state_dir_full, err, sizeof(err)));
    if (listen && *listen) {
        static const inv_http_route_t routes[] = {
            {"/healthz", INV_HTTP_EXACT, h_healthz, 1},
            {"/metrics", INV_HTTP_EXACT, h_metrics, 0},
            {"/stock/", INV_HTTP_PREFIX, h_stock, 0},
            {NULL, 0, NULL, 0},
        };
        m->http = inv_http_start_conf(listen, routes, m, &kc->http, errstr, errstr_size);
        if (!m->http) {
            inv_keeper_metrics_destroy(m);
            return -1;
        }
        inv_log_info("http: serving /healthz, /metrics, /stock/<sku> on port %d", inv_http_port(m->http));
    }
    *out = m;
    return 0;
}

void inv_keeper_metrics_destroy(inv_keeper_metrics_t *m) {
    if (!m)
        return;
    inv_http_stop(m->http);
    inv_metrics_destroy(m->reg);
    free(m);
}

void inv_keeper_metrics_attach(inv_keeper_metrics_t *m, inv_txloop_t *loop) { atomic_store(&m->loop, loop); }
void inv_keeper_metrics_attach_schemas(inv_keeper_metrics_t *m, inv_schema_source_t *schemas) {
    atomic_store(&m->schemas, schemas);
}

void inv_keeper_metrics_movement(inv_keeper_metrics_t *m, inv_movement_type_t type) {
    if ((int)type >= 0 && type <= INV_MOVE_TRANSFER_CANCEL)
        inv_metrics_counter_inc(m->movements[type]);
}
void inv_keeper_metrics_duplicate(inv_keeper_metrics_t *m) { inv_metrics_counter_inc(m->duplicates); }
void inv_keeper_metrics_reorder(inv_keeper_metrics_t *m) { inv_metrics_counter_inc(m->reorders); }
void inv_keeper_metrics_shortage(inv_keeper_metrics_t *m, inv_shortage_state_t state) {
    if (state >= INV_SHORTAGE_LOW && state <= INV_SHORTAGE_RESTORED)
        inv_metrics_counter_inc(m->shortages[state]);
}
void inv_keeper_metrics_reservation(inv_keeper_metrics_t *m, inv_reservation_state_t state) {
    if ((int)state >= INV_RESERVATION_HELD && state <= INV_RESERVATION_NOT_FOUND)
        inv_metrics_counter_inc(m->reservations[state]);
}
void inv_keeper_metrics_expiry_due(inv_keeper_metrics_t *m) { inv_metrics_counter_inc(m->expiries_due); }
void inv_keeper_metrics_invalid_policy(inv_keeper_metrics_t *m) { inv_metrics_counter_inc(m->invalid_policies); }
void inv_keeper_metrics_invalid_channel(inv_keeper_metrics_t *m) { inv_metrics_counter_inc(m->invalid_channels); }
void inv_keeper_metrics_availability(inv_keeper_metrics_t *m) { inv_metrics_counter_inc(m->availability); }
void inv_keeper_metrics_commit(inv_keeper_metrics_t *m, const inv_txloop_stats_t *st, double lmdb_commit_seconds) {
    inv_metrics_histogram_observe(m->open_seconds, st->last_open_seconds);
    inv_metrics_histogram_observe(m->kafka_commit_seconds, st->last_commit_seconds);
    inv_metrics_histogram_observe(m->commit_seconds, lmdb_commit_seconds);
    inv_metrics_histogram_observe(m->batch_size, (double)st->last_batch_size);
}
void inv_keeper_metrics_latency(inv_keeper_metrics_t *m, double seconds) {
    inv_metrics_histogram_observe(m->latency, seconds < 0 ? 0 : seconds);
}
void inv_keeper_metrics_restore_begin(inv_keeper_metrics_t *m, int32_t p) {
    if (partition_series(m, p) == 0)
        inv_metrics_gauge_set(m->restoring[p], 1);
}
void inv_keeper_metrics_restore_end(inv_keeper_metrics_t *m, int32_t p, uint64_t keys, double seconds) {
    if (partition_series(m, p) == 0)
        inv_metrics_gauge_set(m->restoring[p], 0);
    inv_metrics_counter_add(m->restore_keys, keys);
    inv_metrics_counter_add_double(m->restore_seconds, seconds);
}
void inv_keeper_metrics_partition_assigned(inv_keeper_metrics_t *m, int32_t p) {
    atomic_store(&m->ever_assigned, 1);
    partition_series(m, p);
}
void inv_keeper_metrics_partition_serving(inv_keeper_metrics_t *m, int32_t p, int serving) {
    if (p >= 0 && p < MAX_PARTITIONS)
        atomic_store(&m->serving[p], serving ? 1 : 0);
}
void inv_keeper_metrics_partition_revoked(inv_keeper_metrics_t *m, int32_t p) {
    inv_keeper_metrics_partition_serving(m, p, 0);
    if (p >= 0 && p < MAX_PARTITIONS && m->lag[p]) {
        /* hidden until registered again on the next assignment */
        inv_metrics_gauge_remove(m->lag[p]);
        inv_metrics_gauge_remove(m->restoring[p]);
        m->lag[p] = m->restoring[p] = NULL;
    }
    atomic_store(&m->ready, 0);
}

/* This process's resident memory from /proc/self/status: RssAnon, and
 * RssFile + RssShmem (bytes). 0, or -1 when it cannot be read. */
static int resident_memory(int64_t *anon, int64_t *file) {
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long long kb;
    int found = 0;
    *anon = *file = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "RssAnon: %lld kB", &kb) == 1) {
            *anon = kb * 1024;
            found |= 1;
        } else if (sscanf(line, "RssFile: %lld kB", &kb) == 1 || sscanf(line, "RssShmem: %lld kB", &kb) == 1) {
            *file += kb * 1024;
            found |= 2;
        }
    }
    fclose(f);
    return found == 3 ? 0 : -1;
}

void inv_keeper_metrics_update_lag(inv_keeper_metrics_t *m, rd_kafka_t *consumer, const char *topic,
                                   const partition_t *parts, int count) {
    int all_ready = atomic_load(&m->ever_assigned), n = 0;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(count > 0 ? count : 1);
    for (int p = 0; p < count; p++)
        if (parts[p].assigned)
            rd_kafka_topic_partition_list_add(pos, topic, p);
    rd_kafka_position(consumer, pos);
    for (int i = 0; i < pos->cnt; i++) {
        int32_t p = pos->elems[i].partition;
        n++;
        int64_t lo, hi;
        int64_t lag = -1;
        /* librdkafka has no position for a partition that delivered nothing
         * since it was assigned (an idle, caught-up one): the keeper knows
         * where it starts */
        int64_t at = pos->elems[i].offset >= 0 ? pos->elems[i].offset : parts[p].next_offset;
        if (rd_kafka_get_watermark_offsets(consumer, topic, p, &lo, &hi) == 0 && hi >= 0)
            lag = hi - (at > lo ? at : lo);
        if (partition_series(m, p) == 0)
            inv_metrics_gauge_set(m->lag[p], lag < 0 ? 0 : lag);
        if (!parts[p].ready || lag < 0 || lag > m->max_lag)
            all_ready = 0;
    }
    rd_kafka_topic_partition_list_destroy(pos);
    atomic_store(&m->assigned_count, n);
    atomic_store(&m->ready, all_ready);
    inv_metrics_gauge_set(m->assigned, n);
    inv_metrics_gauge_set(m->ready_gauge, all_ready && atomic_load(&m->state_writable));
    inv_txloop_t *loop = atomic_load(&m->loop);
    if (loop) {
        const inv_txloop_stats_t *st = inv_txloop_stats(loop);
        inv_metrics_counter_add(m->txn_commits, st->txn_commits - m->last.txn_commits);
        inv_metrics_counter_add(m->txn_aborts, st->txn_aborts - m->last.txn_aborts);
        for (int c = 0; c < INV_TXLOOP_ABORT_CAUSES; c++)
            inv_metrics_counter_add(m->aborts_by_cause[c], st->txn_aborts_by_cause[c] - m->last.txn_aborts_by_cause[c]);
        inv_metrics_counter_add(m->dead_letters, st->dead_letters - m->last.dead_letters);
        m->last = *st;
    }
    int64_t anon, file;
    if (resident_memory(&anon, &file) == 0) {
        inv_metrics_gauge_set(m->resident_anon, anon);
        inv_metrics_gauge_set(m->resident_file, file);
    }
    inv_store_info_t info;
    if (inv_store_info(m->store, &info) == 0) {
        inv_metrics_gauge_set(m->map_bytes, (int64_t)info.map_size);
        inv_metrics_gauge_set(m->used_bytes, (int64_t)info.used_bytes);
    }
}

void inv_keeper_metrics_state_error(inv_keeper_metrics_t *m, int err) {
    char e[256];
    const char *labels[] = {"error", inv_store_errname(err), NULL};
    inv_metrics_counter_t *c;
    if (inv_metrics_counter_new(m->reg, "inv_stock_lmdb_errors_total", LMDB_ERRORS_HELP, labels, &c, e, sizeof(e)) == 0)
        inv_metrics_counter_inc(c);
    else
        inv_log_warn("metrics: %s", e);
    inv_metrics_gauge_set(m->state_dir_full, err == ENOSPC || err == EDQUOT || err == EFBIG);
    atomic_store(&m->state_writable, 0);
    inv_metrics_gauge_set(m->ready_gauge, 0);
}

void inv_keeper_metrics_state_ok(inv_keeper_metrics_t *m) {
    inv_metrics_gauge_set(m->state_dir_full, 0);
    atomic_store(&m->state_writable, 1);
}

int inv_keeper_metrics_http_port(const inv_keeper_metrics_t *m) { return m->http ? inv_http_port(m->http) : 0; }
