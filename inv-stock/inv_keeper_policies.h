/*
 * inv_keeper_policies: the policy table. Every instance reads the whole
 * compacted topic.policies, outside the consumer group, into LMDB (with the
 * offsets it reflects, so a restart goes on from there). A ReorderPolicy
 * sets a row, a tombstone (key "sku|location_id") deletes it; an
 * undecodable one is logged, counted and skipped.
 *
 * Policy updates that LMDB does not take are reported through the stall
 * (inv_keeper_stall) and read again from LMDB's offsets.
 */
#ifndef INV_KEEPER_POLICIES_H
#define INV_KEEPER_POLICIES_H

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include "inv_codec.h"
#include "inv_conf.h"
#include "inv_keeper_metrics.h"
#include "inv_keeper_stall.h"
#include "inv_store.h"

typedef struct {
    rd_kafka_t *consumer; /* owned */
    int partitions;       /* of topic */
    const char *topic;
    inv_store_t *store;     /* borrowed, as the rest */
    inv_decoder_t *decoder;
    inv_keeper_metrics_t *metrics;
    stall_t *stall;
} policies_t;

/* Creates the consumer ("<group_id>.policies", Kafka settings from conf),
 * assigns every partition of p->topic at LMDB's offsets and applies the
 * table to its end before returning, waiting while LMDB does not take it,
 * up to 60 s for the broker, while *run and no fatal LMDB error. p's
 * borrowed fields must be set. 0, or -1 with errstr. */
int policies_start(policies_t *p, const inv_conf_t *conf, const char *group_id, const volatile sig_atomic_t *run,
                   char *errstr, size_t errstr_size);

/* Applies what the consumer has, waiting up to wait_ms for the first
 * message; counts partition ends in *eof_count (may be NULL). Returns the
 * messages applied, or -1 when LMDB did not take them (reported; the
 * consumer is back at LMDB's offsets). */
int policies_poll(policies_t *p, int wait_ms, int *eof_count);

/* Closes and destroys the consumer, waiting at most timeout_ms for the
 * destroy (librdkafka 2.0.x can hang there). */
void policies_close(policies_t *p, int timeout_ms);

#endif
