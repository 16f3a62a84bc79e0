#include "inv_keeper_policies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_kafka.h"
#include "inv_keeper_dirty.h"
#include "inv_log.h"
#include "inv_model.h"
#include "inv_time.h"
#include "inv_buf.h"

/* The broker's share of reading the table at start-up. */
#define START_SECONDS 60
/* Messages applied in one LMDB txn per poll. */
#define POLL_MAX 10000

static int apply_policy(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err, size_t err_size);

static const policies_ops_t POLICY_OPS = {.name = "policies",
                                          .apply = apply_policy,
                                          .offset_get = inv_store_policy_offset_get,
                                          .offset_put = inv_store_policy_offset_put,
                                          .invalid = inv_keeper_metrics_invalid_policy};

static const policies_ops_t *ops(const policies_t *p) { return p->ops ? p->ops : &POLICY_OPS; }

/* Keeps msg to be dead-lettered with `reason`, once per (partition, offset):
 * a rewind to LMDB's offsets brings it again. */
static void poison(policies_t *p, const rd_kafka_message_t *msg, const char *reason) {
    ops(p)->invalid(p->metrics);
    for (size_t i = 0; i < p->poison_len; i++)
        if (p->poison[i].partition == msg->partition && p->poison[i].offset == msg->offset)
            return;
    inv_log_warn("%s [%d] @%lld: a %s record that cannot be applied, to be dead-lettered: %s", p->topic, msg->partition,
                 (long long)msg->offset, ops(p)->name, reason);
    if (p->poison_len == POLICIES_POISON_MAX) {
        inv_log_error("%s [%d] @%lld: %d %s records already wait to be dead-lettered: this one is left out", p->topic,
                      msg->partition, (long long)msg->offset, POLICIES_POISON_MAX, ops(p)->name);
        return;
    }
    if (p->poison_len == p->poison_cap) {
        p->poison_cap = p->poison_cap ? p->poison_cap * 2 : 16;
        p->poison = inv_xrealloc(p->poison, p->poison_cap * sizeof(*p->poison));
    }
    policy_poison_t *x = &p->poison[p->poison_len++];
    *x = (policy_poison_t){.partition = msg->partition,
                           .offset = msg->offset,
                           .timestamp_ms = rd_kafka_message_timestamp(msg, NULL),
                           .key_len = msg->key_len,
                           .value_len = msg->len};
    x->key = msg->key_len ? inv_xrealloc(NULL, msg->key_len) : NULL;
    x->value = msg->payload && msg->len ? inv_xrealloc(NULL, msg->len) : NULL;
    if (x->key)
        memcpy(x->key, msg->key, msg->key_len);
    if (x->value)
        memcpy(x->value, msg->payload, msg->len);
    snprintf(x->reason, sizeof(x->reason), "%s", reason);
}

/* A tombstone's key: two identifiers around the last '|'. 0, or -1 with
 * the reason in err. */
static int split_key(const rd_kafka_message_t *msg, char *key, size_t key_size, const char **loc, char *err,
                     size_t err_size) {
    size_t sku_len, loc_len;
    if (!msg->key || !msg->key_len) {
        snprintf(err, err_size, "key: missing, expected sku|location_id");
        return -1;
    }
    if (msg->key_len >= key_size || memchr(msg->key, '\0', msg->key_len)) {
        snprintf(err, err_size, "key: %zu bytes%s, expected sku|location_id of at most %d", msg->key_len,
                 msg->key_len >= key_size ? "" : " with a NUL", INV_ROW_KEY_MAX);
        return -1;
    }
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    if (inv_row_key_split(key, msg->key_len, &sku_len, loc, &loc_len) != 0) {
        snprintf(err, err_size, "key: no '|', expected sku|location_id");
        return -1;
    }
    key[sku_len] = '\0';
    if (inv_codec_check_id("key sku", key, sku_len, 0, err, err_size) != 0 ||
        (strcmp(*loc, "*") != 0 && inv_codec_check_id("key location_id", *loc, loc_len, 1, err, err_size) != 0))
        return -1;
    return 0;
}

/* What put and delete return when the record itself is at fault. */
#define POISON POLICIES_POISON
#define HOLD POLICIES_HOLD /* the record's writer schema is unavailable now: read it again later */

/* LMDB cannot key the record: its content is at fault, not the state dir. */
static int content_error(int rc, const char *what, char *err, size_t err_size) {
    if (rc != INV_STORE_KEY_TOO_LONG && rc != INV_STORE_KEY_COLLISION)
        return rc;
    snprintf(err, err_size, "%s: %s", what, inv_store_strerror(rc));
    return POISON;
}

static int delete_policy(inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err, size_t err_size) {
    char key[INV_ROW_KEY_MAX + 1];
    const char *loc;
    if (split_key(msg, key, sizeof(key), &loc, err, err_size) != 0)
        return POISON;
    return content_error(inv_store_policy_delete(txn, key, loc), "key", err, err_size);
}

static int put_policy(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err, size_t err_size) {
    inv_policy_t pol;
    int rc = inv_decoder_decode_policy(p->decoder, msg->payload, msg->len, &pol, err, err_size);
    if (rc == INV_DECODE_RETRY)
        return HOLD;
    if (rc != 0)
        return POISON;
    /* Compaction keeps the last record per key: a policy under another key
     * would outlive the tombstone of its own. */
    char key[INV_ROW_KEY_MAX + 1];
    int n = inv_row_key(key, sizeof(key), pol.sku, pol.location_id);
    if (n < 0 || (size_t)n != msg->key_len || memcmp(key, msg->key, msg->key_len) != 0) {
        snprintf(err, err_size, "key: not the policy's sku|location_id (%s)", key);
        return POISON;
    }
    inv_rules_policy_t v = {pol.reorder_point, pol.reorder_quantity, pol.safety_stock};
    return content_error(inv_store_policy_put(txn, pol.sku, pol.location_id, &v), "sku and location_id", err, err_size);
}

static int apply_policy(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err,
                        size_t err_size) {
    return msg->payload ? put_policy(p, txn, msg, err, err_size) : delete_policy(txn, msg, err, err_size);
}

/* Applies one record in txn, or keeps it to be dead-lettered. 0 (the
 * offset moves on either way), HOLD (err: why; nothing done), or an LMDB
 * error (read the record again). */
static int apply_message(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err,
                         size_t err_size) {
    int rc = ops(p)->apply(p, txn, msg, err, err_size);
    if (rc == HOLD)
        return HOLD;
    if (rc == POISON) {
        poison(p, msg, err);
        rc = 0;
    }
    if (!rc)
        rc = ops(p)->offset_put(txn, msg->partition, msg->offset + 1);
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
            rt && ops(p)->offset_get(rt, i, &next) == 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    inv_store_txn_abort(rt);
    rd_kafka_resp_err_t e = rd_kafka_assign(p->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(errstr, errstr_size, "%s: assign: %s", ops(p)->name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* Policy updates that could not be stored are read again. */
static void failed(policies_t *p, int rc) {
    char err[INV_ERRSTR_SIZE];
    stall_failed(p->stall, rc, p->ops ? "write of channel table updates" : "write of policy updates");
    if (assign(p, err, sizeof(err)) != 0)
        inv_log_warn("%s", err);
}

/* A record waits for its writer schema (the registry unreachable): the
 * table stays where it is, the consumer goes back to LMDB's offsets, and
 * the next poll is in 1 s, then 2, 4, up to 10. */
static void hold(policies_t *p, const char *why) {
    char err[INV_ERRSTR_SIZE];
    if (!p->hold_delay_s) {
        inv_log_warn("%s: held until the writer schema can be had: %s", ops(p)->name, why);
        p->hold_delay_s = 1;
    } else if (p->hold_delay_s < 10) {
        p->hold_delay_s = p->hold_delay_s * 2 > 10 ? 10 : p->hold_delay_s * 2;
    }
    p->hold_until = inv_time_mono_s() + p->hold_delay_s;
    if (assign(p, err, sizeof(err)) != 0)
        inv_log_warn("%s", err);
}

int policies_holding(const policies_t *p) { return inv_time_mono_s() < p->hold_until; }

int policies_poll(policies_t *p, int wait_ms, int *eof_count) {
    inv_store_txn_t *txn = NULL;
    int applied = 0, held = 0;
    char why[INV_ERRSTR_SIZE];
    if (policies_holding(p))
        return 0;
    for (int i = 0; i < POLL_MAX && !held; i++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(p->consumer, i == 0 ? wait_ms : 0);
        if (!msg)
            break;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (eof_count)
                (*eof_count)++;
        } else if (msg->err) {
            inv_log_warn("%s: %s", ops(p)->name, rd_kafka_message_errstr(msg));
        } else {
            int rc = txn ? 0 : inv_store_txn_begin(p->store, 0, &txn);
            if (!rc)
                rc = apply_message(p, txn, msg, why, sizeof(why));
            if (rc == HOLD) {
                held = 1;
                rc = 0;
            } else if (!rc) {
                applied++;
            }
            if (rc) {
                rd_kafka_message_destroy(msg);
                inv_store_txn_abort(txn);
                failed(p, rc);
                return -1;
            }
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
    if (held) {
        hold(p, why);
        return -1; /* back at LMDB's offsets: every partition end comes again */
    }
    if (p->hold_delay_s && applied > 0) {
        inv_log_info("%s: writer schemas answer again", ops(p)->name);
        p->hold_delay_s = 0;
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
        if (policies_holding(p)) { /* a registry outage is not the broker's START_SECONDS */
            struct timespec nap = {0, 100 * 1000000L};
            nanosleep(&nap, NULL);
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
        snprintf(errstr, errstr_size, "%s: %s not read to its end within %d s", ops(p)->name, p->topic, START_SECONDS);
        return -1;
    }
    inv_log_info("%s: %d update(s) applied from %s (%d partitions)", ops(p)->name, total, p->topic, p->partitions);
    return 0;
}

int policies_open(policies_t *p, const inv_kafka_settings_t *ks, const char *group_id, char *errstr,
                  size_t errstr_size) {
    char name[300];
    snprintf(name, sizeof(name), "%s.%s", group_id, ops(p)->name);
    if (!(p->consumer = inv_kafka_reader_new(ks, name, 1, NULL, errstr, errstr_size)))
        return -1;
    int n = inv_kafka_partition_count(p->consumer, p->topic, 15000, errstr, errstr_size);
    if (n < 0)
        return -1;
    p->partitions = n;
    return assign(p, errstr, errstr_size);
}

int policies_read(policies_t *p, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    return read_to_end(p, run, errstr, errstr_size);
}

void policies_poison_settle(policies_t *p, int committed) {
    size_t out = 0;
    for (size_t i = 0; i < p->poison_len; i++) {
        policy_poison_t *x = &p->poison[i];
        if (committed && x->in_flight) {
            free(x->key);
            free(x->value);
            continue;
        }
        x->in_flight = 0;
        p->poison[out++] = *x;
    }
    p->poison_len = out;
}

void policies_close(policies_t *p, int timeout_ms) {
    inv_kafka_close_destroy(p->consumer, p->ops ? "the channels consumer" : "the policies consumer", timeout_ms);
    p->consumer = NULL;
    for (size_t i = 0; i < p->poison_len; i++) {
        free(p->poison[i].key);
        free(p->poison[i].value);
    }
    free(p->poison);
    p->poison = NULL;
    p->poison_len = p->poison_cap = 0;
}
