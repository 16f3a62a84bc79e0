/*
 * inv_kafka: librdkafka handles built from the Kafka layer's settings
 * (inv_kafka_settings_t, read once from the configuration) with the
 * defaults the contract needs, plus small helpers shared by every program.
 *
 * Errors: constructors return NULL and fill errstr; other calls return 0 or
 * -1 with errstr filled. Nothing here exits.
 */
#ifndef INV_KAFKA_H
#define INV_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "inv_rdk_compat.h"

#include "inv_conf.h"

/* A kafka.<prop> the user set: prop without the prefix, and its value. */
typedef struct {
    const char *prop, *value;
} inv_kafka_prop_t;

/* Every setting of the Kafka layer, read once at start-up. The strings are
 * borrowed from the inv_conf_t read (valid while it lives and the key is not
 * set again); props is owned (inv_kafka_settings_free). Handles and loops
 * made from the settings borrow them: keep them until those are destroyed. */
typedef struct {
    const char *brokers;
    inv_kafka_prop_t *props; /* kafka.<prop> keys, in the order set */
    size_t prop_count;
    const char *group_id, *instance_id; /* group.id, instance.id ("": default) */
    const char *dlq_topic;              /* topic.dlq */
    int64_t transaction_timeout_ms;     /* transaction.timeout.ms */
    int64_t commit_interval_ms;         /* commit.interval.ms */
    int64_t commit_min_interval_ms;     /* commit.min.interval.ms */
    int64_t batch_max_messages;         /* batch.max.messages */
    int transaction_producers;          /* transaction.producers */
    int shutdown_timeout_ms;            /* shutdown.timeout.ms */
    /* Not from the configuration: when set, every client made from these
     * settings gets it as librdkafka's statistics callback (with the
     * client's opaque), and statistics.interval.ms 5000 unless
     * kafka.statistics.interval.ms says otherwise. inv_txloop sets it on
     * its own copy. */
    int (*stats_cb)(rd_kafka_t *rk, char *json, size_t json_len, void *opaque);
} inv_kafka_settings_t;

/* Reads the Kafka layer's settings from c (whose values inv_conf has
 * validated). Aborts when out of memory. */
void inv_kafka_settings_read(const inv_conf_t *c, inv_kafka_settings_t *ks);
/* Frees what inv_kafka_settings_read allocated (ks may be zeroed). */
void inv_kafka_settings_free(inv_kafka_settings_t *ks);

/* A librdkafka conf with bootstrap.servers, client.id, logging routed to
 * inv_log and every kafka.<prop> key applied. The caller owns the result.
 * Fails, naming the property, when librdkafka rejects a kafka.* value. */
rd_kafka_conf_t *inv_kafka_conf_new(const inv_kafka_settings_t *ks, const char *client_id, char *errstr,
                                    size_t errstr_size);

/* Checks that librdkafka accepts every kafka.* property; no network I/O.
 * Programs call it at start-up so a bad value exits 2 before touching Kafka. */
int inv_kafka_conf_check(const inv_kafka_settings_t *ks, char *errstr, size_t errstr_size);

/* A producer that partitions by key with murmur2 as the Java client does,
 * idempotent, and transactional when transactional_id is not NULL (the
 * caller then calls rd_kafka_init_transactions). dr_msg_cb (may be NULL)
 * gets every delivery report with `opaque`. */
rd_kafka_t *inv_kafka_producer_new(const inv_kafka_settings_t *ks, const char *transactional_id,
                                   void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque,
                                   char *errstr, size_t errstr_size);

/* A read_committed consumer in group_id with manual offset handling, the
 * eager range assignor (INV_RDK_COOPERATIVE_UNSAFE) and, if rebalance_cb is
 * not NULL, that rebalance callback with `opaque`. group_id NULL makes a
 * consumer for manual assignment only. */
rd_kafka_t *inv_kafka_consumer_new(const inv_kafka_settings_t *ks, const char *group_id,
                                   void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                        rd_kafka_topic_partition_list_t *, void *),
                                   void *opaque, char *errstr, size_t errstr_size);

/* A consumer that reads partitions it assigns itself (restores, the
 * policies table, invctl): read_committed, no auto commit, and partition EOF
 * events when partition_eof is set. `name` is its client.id and group.id
 * (INV_RDK_ASSIGN_NEEDS_GROUP_ID), and since
 * the consumer never subscribes nor commits it never joins that group.
 * extra: more librdkafka properties as NULL-terminated name/value pairs (may
 * be NULL); the user's kafka.* settings still win over them. */
rd_kafka_t *inv_kafka_reader_new(const inv_kafka_settings_t *ks, const char *name, int partition_eof,
                                 const char *const *extra, char *errstr, size_t errstr_size);

/* An admin-capable handle (a plain producer without transactions). */
rd_kafka_t *inv_kafka_admin_new(const inv_kafka_settings_t *ks, char *errstr, size_t errstr_size);

/*
 * Destroys rk (rd_kafka_destroy), waiting at most timeout_ms for it. For the
 * handles a long-running program destroys at exit, after its state is
 * committed: rd_kafka_destroy can hang forever (INV_RDK_DESTROY_MAY_HANG),
 * and a process stuck there only goes with kill -9.
 *
 * The destroy runs on a helper thread. Returns 0 once it returned, or -1
 * after timeout_ms with one warning naming `what` ("the policies consumer"):
 * the thread is then left running (detached) and the handle is never freed,
 * so the caller must not touch rk again and should be on its way out.
 * Either way rk is no longer the caller's. When no thread can be started the
 * handle is destroyed on the calling thread, without a bound.
 */
int inv_kafka_destroy_bounded(rd_kafka_t *rk, const char *what, int timeout_ms);

/* How every program lets go of a client: a consumer not yet closed is
 * closed first (rd_kafka_consumer_close: it leaves its group), then the
 * handle goes through inv_kafka_destroy_bounded(). rk may be NULL (0).
 * Returns what inv_kafka_destroy_bounded() returns; rk is no longer the
 * caller's either way. */
int inv_kafka_close_destroy(rd_kafka_t *rk, const char *what, int timeout_ms);

/* Number of partitions of topic, or -1 with errstr (unknown topic, broker
 * unreachable within timeout_ms). */
int inv_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr, size_t errstr_size);

/* The value of header `name` as a NUL-terminated copy in buf (truncated to
 * buf_size), or NULL when the message has no such header. */
const char *inv_kafka_header_string(const rd_kafka_message_t *msg, const char *name, char *buf, size_t buf_size);

/*
 * A default instance id: "<hostname>-<slot>", where slot is the lowest
 * number whose lock file (in $XDG_RUNTIME_DIR or /tmp, per group) this
 * process can flock. A process restarted after kill -9 gets its slot back, so
 * its transactional id fences the dead instance's open transaction at once
 * instead of waiting for the broker's transaction timeout. The lock is held
 * until the process exits.
 */
int inv_kafka_default_instance_id(const char *group_id, char *out, size_t out_size, char *errstr, size_t errstr_size);

#endif
