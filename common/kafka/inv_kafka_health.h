/*
 * inv_kafka_health: what a program's Kafka clients know of the cluster, from
 * librdkafka's statistics (statistics.interval.ms): the state of each broker
 * connection, and whether the client's coordinator (the consumer group's,
 * or the transactional producer's) is reachable, and a consumer's lag on each
 * partition assigned to it. For /healthz and /metrics.
 *
 * librdkafka connects only to the brokers a client needs (sparse
 * connections): a broker it has no business with stays "idle", which is
 * not a fault. "down" is a connection that was up and is lost, or that
 * cannot be made.
 *
 * Threads: inv_kafka_health_update() runs where librdkafka serves the
 * statistics callback (the thread that polls the client);
 * inv_kafka_health_view() may run on any thread at the same time.
 */
#ifndef INV_KAFKA_HEALTH_H
#define INV_KAFKA_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "inv_buf.h"

#define INV_KAFKA_HEALTH_MAX_CLIENTS 4
#define INV_KAFKA_HEALTH_MAX_BROKERS 16
#define INV_KAFKA_HEALTH_MAX_PARTITIONS 64

typedef enum {
    INV_BROKER_IDLE = 0, /* never connected: the client needs nothing of it */
    INV_BROKER_UP,       /* connected */
    INV_BROKER_DOWN,     /* connecting, or the connection is lost */
} inv_broker_state_t;

/* "idle", "up", "down" (static). */
const char *inv_broker_state_name(inv_broker_state_t s);

typedef enum {
    INV_COORD_NONE = 0, /* the client has no coordinator (a plain producer) */
    INV_COORD_GROUP,    /* the consumer group's coordinator */
    INV_COORD_TXN,      /* the transactional producer's coordinator */
} inv_coord_kind_t;

typedef struct {
    char name[128]; /* "host:port/id" as librdkafka names it */
    int32_t id;
    inv_broker_state_t state;
} inv_kafka_broker_view_t;

/* One partition assigned to a consumer ("desired" in the statistics). */
typedef struct {
    char topic[256];
    int32_t partition;
    /* Messages after the consumer's position: the end (ls_offset, the last
     * stable offset of a read_committed consumer, else hi_offset) minus
     * the position (app_offset; else, when nothing was consumed since
     * the assignment, committed_offset; else, while no fetched message
     * waits, the fetcher's next_offset: a group's new, empty partition),
     * at least 0. -1 while either is
     * unknown. librdkafka's own consumer_lag is the end minus
     * committed_offset, which a consumer whose offsets are committed by a
     * transactional producer (send_offsets_to_transaction) never updates:
     * 2.0.2 reports -1 for a group that had no committed offset at the
     * assignment, and the assignment's lag otherwise. */
    int64_t lag;
} inv_kafka_partition_view_t;

typedef struct {
    char client[32]; /* the label given to inv_kafka_health_update */
    int64_t age_ms;  /* since the statistics were taken */
    inv_coord_kind_t coordinator_kind;
    int coordinator_up;         /* 1 while the coordinator is known and connected */
    char coordinator[64];       /* "broker 2" or "unknown" */
    char coordinator_state[32]; /* librdkafka's word: "up", "wait-coord", "UP", "DOWN", ... */
    int broker_count;
    inv_kafka_broker_view_t brokers[INV_KAFKA_HEALTH_MAX_BROKERS];
    int partition_count; /* consumers only; the first INV_KAFKA_HEALTH_MAX_PARTITIONS */
    inv_kafka_partition_view_t partitions[INV_KAFKA_HEALTH_MAX_PARTITIONS];
} inv_kafka_client_view_t;

typedef struct {
    int client_count;
    inv_kafka_client_view_t clients[INV_KAFKA_HEALTH_MAX_CLIENTS];
} inv_kafka_health_view_t;

typedef struct inv_kafka_health_s inv_kafka_health_t;

/* NULL when out of memory. */
inv_kafka_health_t *inv_kafka_health_new(void);
void inv_kafka_health_destroy(inv_kafka_health_t *h);

/* Takes one statistics document (json, len: librdkafka's, borrowed for
 * the call) of the client labelled `client` ("consumer", "producer-0": at
 * most INV_KAFKA_HEALTH_MAX_CLIENTS labels; more are ignored). A document
 * that does not parse is ignored: it keeps the previous view. 0, or -1 when
 * ignored. */
int inv_kafka_health_update(inv_kafka_health_t *h, const char *client, const char *json, size_t len);

/* Copies the current view into *out (clients in the order first seen). */
void inv_kafka_health_view(inv_kafka_health_t *h, inv_kafka_health_view_t *out);

/* The clients' brokers merged: each broker once, "up" if any client is up
 * to it, else "down" if any client lost it, else "idle". Fills at most max
 * entries of out and returns how many. */
int inv_kafka_health_brokers(const inv_kafka_health_view_t *v, inv_kafka_broker_view_t *out, int max);

/* Appends the view to out as Prometheus text (with HELP and TYPE lines):
 *   inv_kafka_broker_state{client,broker,state="idle|up|down"}: 1 for the
 *     broker's current state, 0 for the other two;
 *   inv_kafka_coordinator_up{client,kind="group|transaction"}: 1 while the
 *     client's coordinator is known and connected.
 *   inv_kafka_statistics_age_seconds{client}: how old the client's view is;
 *   inv_kafka_consumer_lag{client,topic,partition}: each assigned
 *     partition's lag, where it is known.
 * 0, or -1 when out of memory (out then holds part of it). */
int inv_kafka_health_prometheus(const inv_kafka_health_view_t *v, inv_buf_t *out);

#endif
