/*
 * inv_txloop_health: what every program on inv_txloop shows of its Kafka
 * side on /healthz and /metrics, in one copy (inv-stock and the
 * processors): the "kafka" object of /healthz with the reason not to be
 * ready, and the Prometheus series of the loop's clients.
 *
 * Threads: any (the HTTP threads), on a snapshot from inv_txloop_health().
 */
#ifndef INV_TXLOOP_HEALTH_H
#define INV_TXLOOP_HEALTH_H

#include <jansson.h>
#include <stddef.h>

#include "inv_buf.h"
#include "inv_txloop.h"

/* Statistics older than this are not believed (three statistics.interval.ms):
 * a client blocked in a commit is not polled, and its view grows old. */
#define INV_TXLOOP_HEALTH_MAX_AGE_MS 15000

/* The "kafka" object of /healthz:
 *   {"stalled_seconds":S,"last_error":"...","producer_recreations":N,
 *    "coordinators":{"consumer":{"kind":"group","coordinator":"broker 1","up":true,"state":"up"},...},
 *    "brokers":{"127.0.0.1:9092/1":"up",...}}
 * and, into reason (left as it is when there is none), one sentence saying
 * why the loop is not healthy: input has waited longer than
 * max_stall_seconds for a commit ("no Kafka transaction committed for 35 s:
 * <the last error>", which replaces any reason), else a coordinator is
 * unreachable ("the group coordinator of the consumer (broker 2) is
 * unreachable: wait-coord", only when reason was empty). Views older than
 * INV_TXLOOP_HEALTH_MAX_AGE_MS are left out. NULL when out of memory; the
 * caller owns the object. */
json_t *inv_txloop_health_json(const inv_txloop_health_t *h, double max_stall_seconds, char *reason,
                               size_t reason_size);

/* Appends the loop's series to out as Prometheus text: the clients' view
 * (inv_kafka_health_prometheus: broker states, coordinators, statistics
 * age, consumer lag) and <prefix>_commit_stalled_seconds ("inv_stock",
 * "inv_processor"). 0, or -1 when out of memory. */
int inv_txloop_health_prometheus(const inv_txloop_health_t *h, const char *prefix, inv_buf_t *out);

#endif
