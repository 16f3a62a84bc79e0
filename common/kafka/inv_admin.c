#include "inv_admin.h"
#include "inv_log.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *key;
    const char *cleanup_policy;
} contract_topics[INV_ADMIN_TOPIC_COUNT] = {
    {"topic.sales", "delete"},     {"topic.returns", "delete"},       {"topic.restocks", "delete"},
    {"topic.movements", "delete"}, {"topic.policies", "compact"},     {"topic.stock", "compact"},
    {"topic.reorders", "delete"},  {"topic.shortages", "delete"},     {"topic.dlq", "delete"},
    {"topic.dedup", "delete"},     {"topic.reservations", "delete"},  {"topic.transfers", "delete"},
    {"topic.channels", "compact"}, {"topic.availability", "compact"}, {"topic.reservation_status", "delete"},
    {"topic.state", "compact"},
};

int inv_admin_replication(rd_kafka_t *rk, int replication, int timeout_ms, int *out, rd_kafka_resp_err_t *err) {
    *out = replication;
    *err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (replication != -1)
        return 0;
    const struct rd_kafka_metadata *md = NULL;
    if ((*err = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms)) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    *out = md->broker_cnt >= 3 ? 3 : -1;
    rd_kafka_metadata_destroy(md);
    return 0;
}

int inv_admin_topics_create(rd_kafka_t *rk, const inv_conf_t *conf, int partitions, int replication, int timeout_ms,
                            inv_topic_result_t results[INV_ADMIN_TOPIC_COUNT], char *errstr, size_t errstr_size) {
    rd_kafka_NewTopic_t *topics[INV_ADMIN_TOPIC_COUNT];
    char err[INV_ERRSTR_SIZE], retention[32];
    rd_kafka_resp_err_t md_err;
    if (inv_admin_replication(rk, replication, timeout_ms, &replication, &md_err) != 0) {
        for (int i = 0; i < INV_ADMIN_TOPIC_COUNT; i++) {
            memset(&results[i], 0, sizeof(results[i]));
            results[i].outcome = INV_TOPIC_FAILED; /* no answer at all */
        }
        return inv_errstr(errstr, errstr_size, "cannot create topics on %s: %s", inv_conf_get(conf, "brokers"),
                          rd_kafka_err2str(md_err));
    }
    snprintf(retention, sizeof(retention), "%lld", (long long)inv_conf_get_int(conf, "dedup.window.ms"));
    for (int i = 0; i < INV_ADMIN_TOPIC_COUNT; i++) {
        inv_topic_result_t *r = &results[i];
        memset(r, 0, sizeof(*r));
        snprintf(r->name, sizeof(r->name), "%s", inv_conf_get(conf, contract_topics[i].key));
        r->partitions = partitions;
        r->cleanup_policy = contract_topics[i].cleanup_policy;
        r->outcome = INV_TOPIC_FAILED;
        topics[i] = rd_kafka_NewTopic_new(r->name, partitions, replication, err, sizeof(err));
        if (!topics[i]) {
            snprintf(errstr, errstr_size, "%s: %s", contract_topics[i].key, err);
            rd_kafka_NewTopic_destroy_array(topics, (size_t)i);
            return -1;
        }
        rd_kafka_NewTopic_set_config(topics[i], "cleanup.policy", r->cleanup_policy);
        if (strcmp(contract_topics[i].key, "topic.dedup") == 0)
            rd_kafka_NewTopic_set_config(topics[i], "retention.ms", retention);
        /* with three copies, a write (acks=all, which idempotence and
         * transactions imply) needs two: one broker may fail without loss
         * or stall */
        if (replication >= 3)
            rd_kafka_NewTopic_set_config(topics[i], "min.insync.replicas", "2");
        if (strcmp(r->cleanup_policy, "compact") == 0)
            /* keep tombstones long enough for a restoring instance to see them */
            rd_kafka_NewTopic_set_config(topics[i], "delete.retention.ms", "86400000");
    }

    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof(err));
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof(err));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, topics, INV_ADMIN_TOPIC_COUNT, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    int rc = 0;
    if (!ev) {
        snprintf(errstr, errstr_size, "no answer from the brokers (%s) within %d ms", inv_conf_get(conf, "brokers"),
                 timeout_ms);
        rc = -1;
    } else if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "cannot create topics on %s: %s", inv_conf_get(conf, "brokers"),
                 rd_kafka_event_error_string(ev));
        rc = -1;
    } else {
        size_t n;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t j = 0; j < n; j++) {
            for (int i = 0; i < INV_ADMIN_TOPIC_COUNT; i++) {
                inv_topic_result_t *r = &results[i];
                if (strcmp(r->name, rd_kafka_topic_result_name(tr[j])) != 0)
                    continue;
                rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[j]);
                if (!e) {
                    r->outcome = INV_TOPIC_CREATED;
                } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    r->outcome = INV_TOPIC_EXISTED;
                } else {
                    const char *es = rd_kafka_topic_result_error_string(tr[j]);
                    snprintf(r->error, sizeof(r->error), "%s", es ? es : rd_kafka_err2str(e));
                    if (rc == 0)
                        snprintf(errstr, errstr_size, "topic %s: %s", r->name, r->error);
                    rc = -1;
                }
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy_array(topics, INV_ADMIN_TOPIC_COUNT);
    return rc;
}
