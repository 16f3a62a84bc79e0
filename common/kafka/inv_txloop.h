/*
 * inv_txloop: the consume-transform-produce engine every processor runs.
 *
 * One consumer group on one input topic, one transactional producer. Messages
 * are handled in batches: the first message of a batch begins a Kafka
 * transaction, every output and dead letter of the batch is produced inside
 * it, and the batch ends after batch.max.messages messages or
 * commit.interval.ms, with the consumed offsets sent to the transaction
 * (KIP-447) and one commit. Never a commit per message.
 *
 * Failures follow librdkafka's examples/transactions.c: an abortable error
 * aborts the transaction and rewinds the consumer to the committed offsets
 * (by rd_kafka_seek with timeout 0: INV_RDK_SEEK_PARTITIONS_TIMEOUT,
 * INV_RDK_REASSIGN_ASSERT); a fatal producer error (fenced, epoch bumped,
 * INV_RDK_IDEMPOTENT_DESYNC_FATAL) recreates the producer, then rewinds. So read_committed subscribers see
 * each input's outputs exactly once.
 *
 * The eager `range` assignor is used (INV_RDK_COOPERATIVE_UNSAFE); on
 * revocation the open transaction commits before the partitions go.
 * Messages come from rd_kafka_consumer_poll, one at a time, because the batch
 * consume API is unsafe with rebalances (INV_RDK_BATCH_CONSUME_UNSAFE).
 */
#ifndef INV_TXLOOP_H
#define INV_TXLOOP_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdint.h>

#include "inv_kafka.h"
#include "inv_kafka_health.h"

typedef struct inv_txloop_s inv_txloop_t;

/* process() returns 0 when handled, INV_TXLOOP_DEAD_LETTER (errstr set)
 * to send the input to the DLQ with errstr as its inv.error, or
 * INV_TXLOOP_ABORT to abort the whole batch and rewind (e.g. a local store
 * failure that a retry can fix). */
#define INV_TXLOOP_DEAD_LETTER (-1)
#define INV_TXLOOP_ABORT (-2)

typedef struct {
    void *opaque;
    /* Called for each input message inside the open transaction. The
     * message is borrowed for the duration of the call. */
    int (*process)(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size);
    /* Optional: last chance to produce before the batch commits. Non-zero
     * aborts the batch. */
    int (*before_commit)(void *opaque, inv_txloop_t *loop);
    /* Optional: the Kafka transaction committed. */
    void (*after_commit)(void *opaque, inv_txloop_t *loop);
    /* Optional: the Kafka transaction aborted; the consumer will re-deliver
     * from the committed offsets. */
    void (*after_abort)(void *opaque, inv_txloop_t *loop);
    /* Optional: partitions are being assigned. The handler may set each
     * element's .offset to where consumption must start (default: the
     * group's committed offset). Non-zero: the loop stops with an error. */
    int (*on_assign)(void *opaque, inv_txloop_t *loop, rd_kafka_topic_partition_list_t *parts);
    /* Optional: after an abort the consumer was rewound to the group's
     * committed offsets, which `committed` holds (one element per assigned
     * partition; borrowed for the call). When the loop gave up on a
     * transaction whose outcome it could not learn (INV_TXLOOP_ABORT_STUCK,
     * a fatal error during the commit), the transaction may have committed
     * after all: state kept beside Kafka is then checked against these
     * offsets. */
    void (*on_rewind)(void *opaque, inv_txloop_t *loop, const rd_kafka_topic_partition_list_t *committed);
    /* Optional: partitions were revoked, after the open transaction ended. */
    void (*on_revoke)(void *opaque, inv_txloop_t *loop, const rd_kafka_topic_partition_list_t *parts);
    /* Optional: a delivery report of a message this loop produced. */
    void (*on_delivery)(void *opaque, const rd_kafka_message_t *msg);
    /* Optional: called once per loop iteration (about every 100 ms at most). */
    void (*tick)(void *opaque, inv_txloop_t *loop);
    /* Optional, borrowed: the loop ends once *run is 0 (the process's run
     * flag, cleared by its signal handler). NULL: only inv_txloop_stop(). */
    const volatile sig_atomic_t *run;
} inv_txloop_handler_t;

/* Why a transaction was aborted. */
typedef enum {
    INV_TXLOOP_ABORT_HANDLER = 0, /* process() or before_commit() asked for it */
    INV_TXLOOP_ABORT_OUTPUT,      /* a produce or delivery failed */
    INV_TXLOOP_ABORT_TXN,         /* a transactional call failed abortably (broker, coordinator) */
    INV_TXLOOP_ABORT_FATAL,       /* the producer failed fatally (fenced, epoch): recreated */
    INV_TXLOOP_ABORT_REBALANCE,   /* a rebalance error with a transaction open */
    INV_TXLOOP_ABORT_STOP,        /* the loop stopped after an unrecoverable error */
    INV_TXLOOP_ABORT_STUCK,       /* a commit or abort retried too long: the producer recreated */
    INV_TXLOOP_ABORT_CAUSES
} inv_txloop_abort_cause_t;

/* "handler", "output", "transaction", "fatal", "rebalance", "stop", "stuck" (static). */
const char *inv_txloop_abort_cause_name(inv_txloop_abort_cause_t cause);

typedef struct {
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t dead_letters;
    uint64_t txn_commits;
    uint64_t txn_aborts;
    uint64_t txn_aborts_by_cause[INV_TXLOOP_ABORT_CAUSES]; /* they add up to txn_aborts */
    uint64_t producer_recreations;
    uint64_t last_batch_size;
    double last_commit_seconds; /* Kafka side of the last commit: offsets sent, flush, EndTxn */
    double last_open_seconds;   /* the last committed transaction, from its first input to its commit's start */
} inv_txloop_stats_t;

/* Creates the loop: consumer in group.id subscribed to input_topic, and a
 * transactional producer with id "<group.id>-<instance.id>" (instance.id
 * defaults to inv_kafka_default_instance_id()), from the Kafka layer's
 * settings. The settings and the handler are borrowed: they must outlive
 * the loop. No network I/O yet. NULL with errstr on failure. */
inv_txloop_t *inv_txloop_new(const inv_kafka_settings_t *ks, const char *input_topic,
                             const inv_txloop_handler_t *handler, char *errstr, size_t errstr_size);

/* Runs until the handler's run flag is cleared or inv_txloop_stop() is
 * called, then finishes the open transaction and leaves the group. 0 on a clean stop, -1 on an
 * unrecoverable error (logged). */
int inv_txloop_run(inv_txloop_t *loop);

void inv_txloop_destroy(inv_txloop_t *loop);

/* Asks inv_txloop_run() to finish the open transaction and return. Safe
 * from a handler callback and from a signal handler. */
void inv_txloop_stop(inv_txloop_t *loop);

/* Opens a transaction without an input, for a handler that must produce
 * on its own (from tick: expiries, recomputed outputs); a no-op while one
 * is open. The batch then ends as any batch does (commit.interval.ms,
 * before_commit first), committing no offsets if no input joined it, and
 * on an abort after_abort runs as usual. 0, or -1 when none can be opened
 * now (a rebalance or the stop under way, the producer being recreated, a
 * failed begin): try again later. */
int inv_txloop_begin(inv_txloop_t *loop);
/* 1 while a transaction is open. */
int inv_txloop_in_transaction(const inv_txloop_t *loop);

/* Produces one message inside the open transaction. partition may be
 * RD_KAFKA_PARTITION_UA (murmur2 of the key, as the Java client). Bytes are
 * copied. timestamp_ms 0 means now; processors pass the input's timestamp
 * so end-to-end latency can be measured downstream. headers (may be NULL)
 * are owned by the loop from here on, whatever the result. 0, or -1 when
 * the message could not be queued (the batch will abort). */
int inv_txloop_produce(inv_txloop_t *loop, const char *topic, int32_t partition, const void *key, size_t key_len,
                       const void *value, size_t value_len, int64_t timestamp_ms, rd_kafka_headers_t *headers);

/* Where a dead letter came from: its topic, partition, offset, key, bytes
 * and timestamp (0: now). Borrowed for the call. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    int64_t timestamp_ms;
} inv_txloop_source_t;

/* Produces a dead letter of src into the open transaction, to topic.dlq:
 * src's key and bytes, headers inv.error (reason), inv.source.topic,
 * inv.source.partition, inv.source.offset. Bytes too large to copy are
 * left out (header inv.value.omitted: their size). The loop does this
 * itself for an input its handler dead-letters. 0, or -1 (the batch will
 * abort). */
int inv_txloop_dead_letter(inv_txloop_t *loop, const inv_txloop_source_t *src, const char *reason);

/* The source of a consumed message, borrowing its topic, key and bytes
 * (valid while msg is). Cannot fail. */
inv_txloop_source_t inv_txloop_source_of(const rd_kafka_message_t *msg);

const inv_txloop_stats_t *inv_txloop_stats(const inv_txloop_t *loop);

/* How the loop fares with the cluster, for /healthz and /metrics. */
typedef struct {
    /* Since the first transaction after the last commit began: how long
     * input has waited for a commit (aborts and retries included). 0 while
     * nothing waits. */
    double stalled_seconds;
    /* The last error of a transactional call or a delivery since the last
     * commit ("" when none), e.g. "commit_transaction: Broker: Not enough
     * in-sync replicas". */
    char last_error[256];
    uint64_t producer_recreations;
    /* The loop's clients ("consumer", "producer-0", "producer-1") from
     * librdkafka's statistics, every statistics.interval.ms (5 s). */
    inv_kafka_health_view_t kafka;
} inv_txloop_health_t;

/* Fills *out. Safe from any thread while the loop runs (the HTTP thread). */
void inv_txloop_health(inv_txloop_t *loop, inv_txloop_health_t *out);

/* The consumer, for handlers that need committed offsets or watermarks. */
rd_kafka_t *inv_txloop_consumer(inv_txloop_t *loop);

/* The transactional id this instance uses. */
const char *inv_txloop_transactional_id(const inv_txloop_t *loop);

#endif
