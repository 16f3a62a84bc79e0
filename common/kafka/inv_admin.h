/*
 * inv_admin: the contract's topics, created and described through the Kafka
 * Admin API.
 */
#ifndef INV_ADMIN_H
#define INV_ADMIN_H

#include <librdkafka/rdkafka.h>

#include "inv_conf.h"

typedef enum { INV_TOPIC_CREATED = 0, INV_TOPIC_EXISTED, INV_TOPIC_FAILED } inv_topic_outcome_t;

typedef struct {
    char name[256];
    int partitions;
    const char *cleanup_policy; /* "compact" or "delete" (static) */
    inv_topic_outcome_t outcome;
    char error[256]; /* INV_TOPIC_FAILED: why */
} inv_topic_result_t;

#define INV_ADMIN_TOPIC_COUNT 16

/* The replication factor topics get, in *out: `replication` when it is not
 * -1; otherwise 3 on a cluster of at least three brokers, else -1 (the
 * broker's default). 0, or -1 with *err when the brokers did not answer
 * within timeout_ms. */
int inv_admin_replication(rd_kafka_t *rk, int replication, int timeout_ms, int *out, rd_kafka_resp_err_t *err);

/*
 * Creates every topic of the contract (names from conf's topic.* keys) with
 * `partitions` partitions each and the replication factor
 * inv_admin_replication() picks; with three or more copies each topic gets
 * min.insync.replicas=2. inventory.policies, inventory.stock,
 * inventory.channels and inventory.availability are compacted; the dedup
 * log is deleted after dedup.window.ms. A topic that
 * exists is left as it is (INV_TOPIC_EXISTED). Fills results[] (one per
 * topic) and returns 0 when none failed, -1 otherwise (errstr: the first
 * failure, or an unreachable broker within timeout_ms).
 */
int inv_admin_topics_create(rd_kafka_t *rk, const inv_conf_t *conf, int partitions, int replication, int timeout_ms,
                            inv_topic_result_t results[INV_ADMIN_TOPIC_COUNT], char *errstr, size_t errstr_size);

#endif
