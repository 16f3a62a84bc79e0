#include "inv_keeper_policies.h"

#include <stdio.h>
#include <string.h>

#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_model.h"
#include "inv_time.h"

/* The broker's share of reading the table at start-up. */
#define START_SECONDS 60
/* Messages applied in one LMDB txn per poll. */
#define POLL_MAX 10000

static int delete_policy(inv_store_txn_t *txn, const rd_kafka_message_t *msg) {
    char key[1024];
    size_t sku_len, loc_len;
    const char *loc;
    if (!msg->key || msg->key_len >= sizeof(key))
        return 0;
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    if (inv_row_key_split(key, msg->key_len, &sku_len, &loc, &loc_len) != 0)
        return 0;
    key[sku_len] = '\0';
    return inv_store_policy_delete(txn, key, loc);
}

static int apply_message(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg) {
    int rc = 0;
    if (!msg->payload) {
        rc = delete_policy(txn, msg);
    } else {
        inv_policy_t pol;
        char err[512];
        if (inv_decoder_decode_policy(p->decoder, msg->payload, msg->len, &pol, err, sizeof(err)) != 0) {
            inv_log_warn("%s [%d] @%lld: ignoring an invalid ReorderPolicy: %s", rd_kafka_topic_name(msg->rkt),
                         msg->partition, (long long)msg->offset, err);
            inv_keeper_metrics_invalid_policy(p->metrics);
        } else {
            inv_rules_policy_t v = {pol.reorder_point, pol.reorder_quantity, pol.safety_stock};
            rc = inv_store_policy_put(txn, pol.sku, pol.location_id, &v);
        }
    }
    if (!rc)
        rc = inv_store_policy_offset_put(txn, msg->partition, msg->offset + 1);
    return rc;
}

/* (Re)starts the consumer at the offsets the table in LMDB reflects. */
static int assign(policies_t *p, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(p->partitions);
    inv_store_txn_t *rt = NULL;
    inv_store_txn_begin(p->store, 1, &rt);
    for (int i = 0; i < p->partitions; i++) {
        int64_t next;
        rd_kafka_topic_partition_list_add(parts, p->topic, i)->offset =
            rt && inv_store_policy_offset_get(rt, i, &next) == 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    inv_store_txn_abort(rt);
    rd_kafka_resp_err_t e = rd_kafka_assign(p->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(errstr, errstr_size, "policies: assign: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* Policy updates that could not be stored are read again. */
static void failed(policies_t *p, int rc) {
    char err[256];
    stall_failed(p->stall, rc, "write of policy updates");
    if (assign(p, err, sizeof(err)) != 0)
        inv_log_warn("%s", err);
}

int policies_poll(policies_t *p, int wait_ms, int *eof_count) {
    inv_store_txn_t *txn = NULL;
    int applied = 0;
    for (int i = 0; i < POLL_MAX; i++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(p->consumer, i == 0 ? wait_ms : 0);
        if (!msg)
            break;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (eof_count)
                (*eof_count)++;
        } else if (msg->err) {
            inv_log_warn("policies: %s", rd_kafka_message_errstr(msg));
        } else {
            int rc = txn ? 0 : inv_store_txn_begin(p->store, 0, &txn);
            if (!rc)
                rc = apply_message(p, txn, msg);
            if (rc) {
                rd_kafka_message_destroy(msg);
                inv_store_txn_abort(txn);
                failed(p, rc);
                return -1;
            }
            applied++;
        }
        rd_kafka_message_destroy(msg);
    }
    if (txn) {
        int rc = inv_store_txn_commit(txn);
        if (rc) {
            failed(p, rc);
            return -1;
        }
        stall_ok(p->stall);
    }
    return applied;
}

/* Reads the table to its end before the first movement is applied; while
 * LMDB does not take it, waits (the START_SECONDS are for the broker). */
static int read_to_end(policies_t *p, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    int eofs = 0, total = 0;
    double t0 = inv_time_mono_s();
    while (eofs < p->partitions && *run && !p->stall->fatal && inv_time_mono_s() - t0 < START_SECONDS) {
        if (stall_waiting(p->stall)) {
            stall_nap(p->stall);
            t0 = inv_time_mono_s();
            continue;
        }
        int got = policies_poll(p, 200, &eofs);
        if (got < 0) {
            eofs = 0; /* read again from LMDB's offsets: every end comes again */
            continue;
        }
        total += got;
    }
    if (eofs < p->partitions) {
        snprintf(errstr, errstr_size, "policies: %s not read to its end within %d s", p->topic, START_SECONDS);
        return -1;
    }
    inv_log_info("policies: %d update(s) applied from %s (%d partitions)", total, p->topic, p->partitions);
    return 0;
}

int policies_start(policies_t *p, const inv_conf_t *conf, const char *group_id, const volatile sig_atomic_t *run,
                   char *errstr, size_t errstr_size) {
    char name[300];
    snprintf(name, sizeof(name), "%s.policies", group_id);
    if (!(p->consumer = inv_kafka_reader_new(conf, name, 1, NULL, errstr, errstr_size)))
        return -1;
    int n = inv_kafka_partition_count(p->consumer, p->topic, 15000, errstr, errstr_size);
    if (n < 0)
        return -1;
    p->partitions = n;
    if (assign(p, errstr, errstr_size) != 0)
        return -1;
    return read_to_end(p, run, errstr, errstr_size);
}

void policies_close(policies_t *p, int timeout_ms) {
    if (!p->consumer)
        return;
    rd_kafka_consumer_close(p->consumer);
    inv_kafka_destroy_bounded(p->consumer, "the policies consumer", timeout_ms);
    p->consumer = NULL;
}
