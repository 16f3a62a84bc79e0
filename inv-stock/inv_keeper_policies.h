/*
 * inv_keeper_policies: the policy table. Every instance reads the whole
 * compacted topic.policies, outside the consumer group, into LMDB (with the
 * offsets it reflects, so a restart goes on from there). A ReorderPolicy
 * sets a row, a tombstone (key "sku|location_id") deletes it. A record
 * that can never be applied because of its content (undecodable, a key that
 * is not two identifiers, a row LMDB cannot key) is skipped, never retried:
 * it waits in `poison` until the keeper dead-letters it (exactly once, by
 * the owner of movements partition `partition mod movement partitions`,
 * inside a Kafka transaction: inv_keeper.c).
 *
 * Policy updates that LMDB does not take are reported through the stall
 * (inv_keeper_stall) and read again from LMDB's offsets.
 *
 * The same reader keeps any such global table: a policies_t with `ops`
 * set reads another compacted topic (the channel table: inv_keeper_channels)
 * through the ops' apply and offsets; ops NULL is the policy table.
 */
#ifndef INV_KEEPER_POLICIES_H
#define INV_KEEPER_POLICIES_H

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include "inv_codec.h"
#include "inv_kafka.h"
#include "inv_conf.h"
#include "inv_keeper_metrics.h"
#include "inv_keeper_stall.h"
#include "inv_log.h"
#include "inv_store.h"

/* A policy record that cannot be applied, waiting to be dead-lettered. */
typedef struct {
    int32_t partition;
    int64_t offset, timestamp_ms;
    void *key, *value; /* copies, owned; NULL when absent */
    size_t key_len, value_len;
    char reason[INV_ERRSTR_SIZE];
    int in_flight; /* dead-lettered in the open transaction */
} policy_poison_t;

/* Records waiting at most: past it one is logged and left out. */
#define POLICIES_POISON_MAX 10000

typedef struct policies_s policies_t;

/* What apply returns for a record at fault (dead-lettered, never retried)
 * and for one whose writer schema cannot be had now (read again later). */
#define POLICIES_POISON 1
#define POLICIES_HOLD 2

/* A global table other than the policies. */
typedef struct {
    const char *name; /* "channels": the consumer's name suffix and log lines */
    /* Applies one record (msg->payload NULL: a tombstone) in txn: 0,
     * POLICIES_POISON (err: why), POLICIES_HOLD (err: why), or an
     * inv_store code of a write that failed (read the record again). */
    int (*apply)(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err, size_t err_size);
    /* The table's topic offsets in LMDB (as inv_store_policy_offset_*). */
    int (*offset_get)(inv_store_txn_t *txn, int32_t partition, int64_t *next_offset);
    int (*offset_put)(inv_store_txn_t *txn, int32_t partition, int64_t next_offset);
    /* Counts a record that cannot be applied. */
    void (*invalid)(inv_keeper_metrics_t *m);
} policies_ops_t;

struct policies_s {
    const policies_ops_t *ops; /* NULL: the policy table */
    rd_kafka_t *consumer;      /* owned */
    policy_poison_t *poison;   /* owned, poison_len waiting */
    size_t poison_len, poison_cap;
    int partitions; /* of topic */
    const char *topic;
    inv_store_t *store; /* borrowed, as the rest */
    inv_decoder_t *decoder;
    inv_keeper_metrics_t *metrics;
    stall_t *stall;
    double hold_until; /* monotonic s: no poll before (a writer schema unavailable) */
    int hold_delay_s;  /* the current hold; 0 outside a registry outage */
};

/* Creates the consumer ("<group_id>.policies", Kafka settings ks) and
 * assigns every partition of p->topic at LMDB's offsets, without waiting;
 * p's borrowed fields must be set. Then policies_read applies the table to
 * its end, waiting while LMDB does not take it, up to 60 s for the broker,
 * while *run and no fatal LMDB error. Opening two tables before reading
 * either lets them fetch at once. 0, or -1 with errstr. */
int policies_open(policies_t *p, const inv_kafka_settings_t *ks, const char *group_id, char *errstr,
                  size_t errstr_size);
int policies_read(policies_t *p, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size);
/* Applies what the consumer has, waiting up to wait_ms for the first
 * message; counts partition ends in *eof_count (may be NULL). Returns the
 * messages applied, or -1 when LMDB did not take them (reported) or a
 * record's writer schema cannot be had now (INV_DECODE_RETRY: never a dead
 * letter; the table holds, polls return 0 for 1 s, then 2, up to 10 s); in
 * both cases the consumer is back at LMDB's offsets. */
int policies_poll(policies_t *p, int wait_ms, int *eof_count);

/* Whether the table is held for a writer schema (see policies_poll). */
int policies_holding(const policies_t *p);

/* The open transaction ended: committed, its in-flight dead letters are
 * done and forgotten; aborted, they wait again. */
void policies_poison_settle(policies_t *p, int committed);

/* Closes and destroys the consumer (bounded, INV_RDK_DESTROY_MAY_HANG) and
 * frees what waits. */
void policies_close(policies_t *p, int timeout_ms);

#endif
