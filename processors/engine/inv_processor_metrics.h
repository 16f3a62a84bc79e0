/*
 * inv_processor_metrics: what a processor shows operators on --http
 * (http.listen, with the http.* limits): /healthz and /metrics.
 *
 * /healthz: 200 {"ready":true,"assigned_partitions":N,"kafka":{...}} while
 * the loop is healthy; 503 {"ready":false,...,"reason":"..."} while input
 * has waited longer than health.max.stall.ms for a commit, a coordinator is
 * unreachable, the schema registry is unavailable, or before the loop runs
 * (inv_txloop_health_json and inv_schema_source_health_json, as inv-stock).
 *
 * /metrics: the inv_processor_* series below, each with the label
 * kind="sale|return|restock|reservation|transfer", then the loop's Kafka
 * series (inv_kafka_*, inv_processor_commit_stalled_seconds) and the
 * registry's:
 *   inv_processor_events_total{outcome="ok|dead_letter|retry"}: inputs
 *     whose movements (ok) or dead letter committed; retry: inputs held
 *     and read again because their writer schema was unavailable
 *   inv_processor_movements_total: movements committed
 *   inv_processor_dead_letters_total{class}: dead letters committed, by
 *     class (inv_processor_error_class_name)
 *   inv_processor_transactions_total{outcome="commit|abort"},
 *   inv_processor_transaction_aborts_total{cause} (inv_txloop's causes)
 *   inv_processor_batch_size, inv_processor_kafka_commit_seconds,
 *   inv_processor_transaction_open_seconds: histograms per commit
 *   inv_processor_assigned_partitions
 * Inputs count once their transaction commits: a batch that aborts is
 * read again and counted then, so the counts match what subscribers see.
 *
 * Threads: every call below runs on the loop's thread; the HTTP handlers
 * read atomics and the loop's health only.
 */
#ifndef INV_PROCESSOR_METRICS_H
#define INV_PROCESSOR_METRICS_H

#include "inv_conf.h"
#include "inv_schema_source.h"
#include "inv_txloop.h"

typedef struct inv_processor_metrics_s inv_processor_metrics_t;

/* Registers the series with kind="<kind_name>" and, when conf's
 * http.listen is not empty, starts the HTTP server there. 0, or -1 with
 * errstr (e.g. "http.listen: cannot listen on 127.0.0.1:8080: Address
 * already in use"). */
int inv_processor_metrics_start(inv_processor_metrics_t **out, const inv_conf_t *conf, const char *kind_name,
                                char *errstr, size_t errstr_size);
/* Stops the server and frees everything. NULL is a no-op. */
void inv_processor_metrics_destroy(inv_processor_metrics_t *m);

/* The loop and the schema source /healthz and /metrics show (NULL: none
 * yet); each must outlive the HTTP server or be detached first. */
void inv_processor_metrics_attach(inv_processor_metrics_t *m, inv_txloop_t *loop);
void inv_processor_metrics_attach_schemas(inv_processor_metrics_t *m, inv_schema_source_t *schemas);

/* In the open batch: an input became `movements` movements, or a dead
 * letter of class `error_class`. Counted when the batch commits. */
void inv_processor_metrics_ok(inv_processor_metrics_t *m, size_t movements);
void inv_processor_metrics_dead_letter(inv_processor_metrics_t *m, int error_class);
/* An input held for a retry (its writer schema unavailable): counted now. */
void inv_processor_metrics_retry(inv_processor_metrics_t *m);

/* The batch committed (st: the loop's stats after it) or aborted. */
void inv_processor_metrics_committed(inv_processor_metrics_t *m, const inv_txloop_stats_t *st);
void inv_processor_metrics_aborted(inv_processor_metrics_t *m, const inv_txloop_stats_t *st);

/* The number of input partitions assigned now. */
void inv_processor_metrics_assigned(inv_processor_metrics_t *m, int partitions);

/* The HTTP port bound (0 without http.listen). */
int inv_processor_metrics_http_port(const inv_processor_metrics_t *m);

#endif
