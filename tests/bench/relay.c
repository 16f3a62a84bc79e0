/*
 * bench_relay: the exactly-once floor. The keeper's own Kafka engine
 * (inv_txloop: one consumer group, one transactional producer, the same
 * commit cadence and the same defaults) with nothing in between: every
 * message of topic.movements is produced as it is, same key, same
 * partition, same timestamp, to topic.stock, inside the loop's
 * transactions, with the consumed offsets. What a read_committed reader of
 * topic.stock sees is what Kafka transactions cost on this machine, without
 * LMDB, rules or codecs (tests/bench/bench_keeper.sh, phase eos-floor).
 *
 *   bench_relay [-b BROKERS] [-X key=value ...]     (the common flags of every program)
 *
 * Not a product program: built with the benchmarks, run by hand.
 */
#include <stdio.h>

#include "inv_conf.h"
#include "inv_log.h"
#include "inv_main.h"
#include "inv_txloop.h"

static const inv_program_t program = {
    .name = "bench_relay",
    .summary = "Relays topic.movements to topic.stock as is, exactly once (the keeper's Kafka engine alone).",
    .default_group_id = "bench-relay",
};

static int relay(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size) {
    const char *out = opaque;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    if (inv_txloop_produce(loop, out, msg->partition, msg->key, msg->key_len, msg->payload, msg->len, ts < 0 ? 0 : ts,
                           NULL) != 0) {
        snprintf(errstr, errstr_size, "produce to %s failed", out);
        return INV_TXLOOP_ABORT;
    }
    return 0;
}

static int run_relay(inv_conf_t *conf, void *arg, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    (void)arg;
    inv_txloop_handler_t h = {.opaque = (void *)inv_conf_get(conf, "topic.stock"), .process = relay, .run = run};
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(conf, &ks);
    inv_txloop_t *loop = inv_txloop_new(&ks, inv_conf_get(conf, "topic.movements"), &h, errstr, errstr_size);
    if (!loop) {
        inv_kafka_settings_free(&ks);
        return -1;
    }
    int rc = inv_txloop_run(loop);
    if (rc != 0)
        snprintf(errstr, errstr_size, "stopped after an unrecoverable Kafka error (see log)");
    const inv_txloop_stats_t *st = inv_txloop_stats(loop);
    inv_log_info("relayed %llu message(s) in %llu transaction(s), %llu aborted", (unsigned long long)st->messages_in,
                 (unsigned long long)st->txn_commits, (unsigned long long)st->txn_aborts);
    inv_txloop_destroy(loop);
    inv_kafka_settings_free(&ks);
    return rc;
}

int main(int argc, char **argv) { return inv_main_run(argc, argv, &program, run_relay, NULL); }
