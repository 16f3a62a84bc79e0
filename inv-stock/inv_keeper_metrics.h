/*
 * inv_keeper_metrics: what inv-stock shows operators. The Prometheus series
 * of the keeper (inv_metrics), its readiness, and the HTTP endpoints of
 * --http (inv_http): /healthz, /metrics, /stock/<sku>[?location=L].
 *
 * Threads: every call below except the HTTP handlers runs on the keeper's
 * loop thread; the handlers read atomics and LMDB read txns only.
 */
#ifndef INV_KEEPER_METRICS_H
#define INV_KEEPER_METRICS_H

#include <librdkafka/rdkafka.h>

#include "inv_codec.h"
#include "inv_conf.h"
#include "inv_keeper_batch.h"
#include "inv_keeper_conf.h"
#include "inv_schema_source.h"
#include "inv_store.h"
#include "inv_txloop.h"

typedef struct inv_keeper_metrics_s inv_keeper_metrics_t;

/* Registers the series and, when kc->http_listen is not empty (ADDR:PORT),
 * starts the HTTP server with kc->http's limits; kc->health_max_lag makes
 * /healthz. store is borrowed for /stock. 0, or -1 with errstr (e.g. the
 * address is in use). */
int inv_keeper_metrics_start(inv_keeper_metrics_t **out, const keeper_conf_t *kc, inv_store_t *store, char *errstr,
                             size_t errstr_size);
/* inv_keeper_metrics_start with the settings of conf (inv_keeper_conf). */
int inv_keeper_metrics_new(inv_keeper_metrics_t **out, const inv_conf_t *conf, inv_store_t *store, char *errstr,
                           size_t errstr_size);
/* Stops the server and frees everything. NULL is a no-op. */
void inv_keeper_metrics_destroy(inv_keeper_metrics_t *m);

/* The loop whose counters (transactions, dead letters) are published. */
void inv_keeper_metrics_attach(inv_keeper_metrics_t *m, inv_txloop_t *loop);
/* The schema source whose registry (if any) /healthz and /metrics show;
 * it must outlive m's HTTP server. */
void inv_keeper_metrics_attach_schemas(inv_keeper_metrics_t *m, inv_schema_source_t *schemas);

void inv_keeper_metrics_movement(inv_keeper_metrics_t *m, inv_movement_type_t type);
void inv_keeper_metrics_duplicate(inv_keeper_metrics_t *m);
void inv_keeper_metrics_reorder(inv_keeper_metrics_t *m);
void inv_keeper_metrics_shortage(inv_keeper_metrics_t *m, inv_shortage_state_t state);
void inv_keeper_metrics_reservation(inv_keeper_metrics_t *m, inv_reservation_state_t state);
void inv_keeper_metrics_expiry_due(inv_keeper_metrics_t *m);
void inv_keeper_metrics_invalid_policy(inv_keeper_metrics_t *m);
/* A ChannelLocation record that cannot be applied (to be dead-lettered). */
void inv_keeper_metrics_invalid_channel(inv_keeper_metrics_t *m);
/* One AvailabilityLevel (or its tombstone) produced. */
void inv_keeper_metrics_availability(inv_keeper_metrics_t *m);
/* One batch committed: how long its transaction was open, its Kafka and
 * LMDB commit times and its message count (the txloop's stats of it). */
void inv_keeper_metrics_commit(inv_keeper_metrics_t *m, const inv_txloop_stats_t *st, double lmdb_commit_seconds);
/* End-to-end latency of one movement: input timestamp to applied. */
void inv_keeper_metrics_latency(inv_keeper_metrics_t *m, double seconds);
void inv_keeper_metrics_restore_begin(inv_keeper_metrics_t *m, int32_t partition);
void inv_keeper_metrics_restore_end(inv_keeper_metrics_t *m, int32_t partition, uint64_t keys, double seconds);
void inv_keeper_metrics_partition_assigned(inv_keeper_metrics_t *m, int32_t partition);
/* Whether /stock answers for partition p's rows: only while p is assigned
 * and its rows are current (restored or resumed). */
void inv_keeper_metrics_partition_serving(inv_keeper_metrics_t *m, int32_t p, int serving);
void inv_keeper_metrics_partition_revoked(inv_keeper_metrics_t *m, int32_t partition);

/* An LMDB write failed with `err` (an inv_store code): counted in
 * inv_stock_lmdb_errors_total{error="<inv_store_errname>"}; while the error
 * is a full disk (ENOSPC, EDQUOT, EFBIG) inv_stock_state_dir_full is 1. From
 * here until inv_keeper_metrics_state_ok(), /healthz is not ready. */
void inv_keeper_metrics_state_error(inv_keeper_metrics_t *m, int err);
/* LMDB took a write again. */
void inv_keeper_metrics_state_ok(inv_keeper_metrics_t *m);

/* Refreshes per-partition lag from librdkafka's cached watermarks (no
 * network I/O), the loop's counters, LMDB sizes and readiness: ready once
 * partitions were assigned, every assigned one ready (restored or resumed),
 * each one's lag at most health.max.lag, and the LMDB state writable.
 * parts: the keeper's `count` partitions (borrowed for the call); their
 * next_offset stands in for partitions librdkafka has no position for yet. */
void inv_keeper_metrics_update_lag(inv_keeper_metrics_t *m, rd_kafka_t *consumer, const char *topic,
                                   const partition_t *parts, int count);

/* The HTTP port bound (0 without --http). */
int inv_keeper_metrics_http_port(const inv_keeper_metrics_t *m);

#endif
