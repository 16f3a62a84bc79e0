/*
 * inv_txloop against librdkafka's mock cluster, no real broker: injected
 * transactional errors (retriable and abortable), and a broker gone for
 * longer than the loop retries a commit, must still give each input
 * exactly one committed output.
 *
 * Limits of the librdkafka 2.0.2 mock cluster, and how this test copes
 * (src/rdkafka_mock_handlers.c):
 *  - TxnOffsetCommit is answered but its offsets are not stored, so a group's
 *    committed offsets would stay unset and every rewind would go back to the
 *    beginning. after_commit therefore commits the very offsets the
 *    transaction carried with rd_kafka_commit (what a real broker's
 *    TxnOffsetCommit + EndTxn would have made visible).
 *  - EndTxn writes no markers and Fetch reports no aborted transactions, so a
 *    read_committed consumer also sees outputs of aborted transactions that
 *    reached the log. Each output value carries the number of the batch
 *    (transaction) it was produced in; the checker keeps the outputs of the
 *    batches the loop reported committed (after_commit) and drops those it
 *    reported aborted (after_abort), as a broker's abort markers would.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_conf.h"
#include "inv_log.h"
#include "inv_test.h"
#include "inv_txloop.h"
#include "inv_time.h"
#include <unistd.h>

#define N_INPUT 2000
#define IN_PARTS 2
#define MAX_BATCHES 8192
#define DEADLINE_S 25.0
#define OUTAGE_S \
    16.0 /* past one call librdkafka may block for ~9 s plus the loop retrying for 2 x transaction.timeout.ms (2 s) */

/* librdkafka protocol ApiKeys (RD_KAFKAP_* are not in the public headers) */
#define API_ADD_PARTITIONS_TO_TXN 24
#define API_ADD_OFFSETS_TO_TXN 25
#define API_END_TXN 26

#define IN_TOPIC "txmock.in"
#define OUT_TOPIC "txmock.out"
#define DLQ_TOPIC "txmock.dlq"

enum { BATCH_UNKNOWN = 0, BATCH_OPEN, BATCH_COMMITTED, BATCH_ABORTED };

typedef struct {
    rd_kafka_mock_cluster_t *mcluster;
    unsigned char batch_state[MAX_BATCHES];
    unsigned batch_seq; /* current batch, when batch_open */
    int batch_open;
    int64_t batch_next[IN_PARTS];     /* next offset per partition in the open batch, -1 none */
    int64_t committed_next[IN_PARTS]; /* next offset per partition committed so far */
    int64_t end_offset[IN_PARTS];     /* input high watermarks */
    unsigned char handled[N_INPUT];
    int commits, aborts, shim_commit_errors, overflow;
    atomic_int stage; /* mid-run injections done */
    int outage;       /* the fault is the broker going away (OUTAGE_S), not injected errors */
    pthread_t outage_thread;
    int outage_started;
    inv_txloop_t *loop;
    atomic_int sampling;
    double max_stalled; /* inv_txloop_health while the loop runs (another thread) */
    char stall_error[256];
    int timed_out;
    double t0;
} harness_t;

static int parse_id(const void *p, size_t len, int *id, unsigned *seq) {
    char buf[64];
    if (!p || len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (seq)
        return sscanf(buf, "id-%d|%u", id, seq) == 2 ? 0 : -1;
    return sscanf(buf, "id-%d", id) == 1 ? 0 : -1;
}

static int h_process(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr,
                     size_t errstr_size) {
    harness_t *h = opaque;
    int id;
    if (parse_id(msg->payload, msg->len, &id, NULL) != 0 || id < 0 || id >= N_INPUT || msg->partition < 0 ||
        msg->partition >= IN_PARTS) {
        snprintf(errstr, errstr_size, "unexpected input");
        return INV_TXLOOP_DEAD_LETTER;
    }
    if (!h->batch_open) {
        if (h->batch_seq + 1 >= MAX_BATCHES) {
            h->overflow = 1;
            inv_txloop_stop(loop);
            return 0;
        }
        h->batch_seq++;
        h->batch_open = 1;
        h->batch_state[h->batch_seq] = BATCH_OPEN;
        for (int p = 0; p < IN_PARTS; p++)
            h->batch_next[p] = -1;
    }
    h->handled[id] = 1;
    h->batch_next[msg->partition] = msg->offset + 1;
    char key[48], value[48];
    int klen = snprintf(key, sizeof(key), "%d/%lld", msg->partition, (long long)msg->offset);
    int vlen = snprintf(value, sizeof(value), "id-%05d|%u", id, h->batch_seq);
    if (inv_txloop_produce(loop, OUT_TOPIC, 0, key, (size_t)klen, value, (size_t)vlen, 0, NULL) != 0)
        return INV_TXLOOP_ABORT;
    return 0;
}

static void push_errors(harness_t *h, int16_t api, size_t cnt, ...) {
    va_list ap;
    va_start(ap, cnt);
    rd_kafka_resp_err_t errs[8];
    for (size_t i = 0; i < cnt && i < 8; i++)
        errs[i] = va_arg(ap, rd_kafka_resp_err_t);
    va_end(ap);
    rd_kafka_mock_push_request_errors_array(h->mcluster, api, cnt, errs);
}

/* The transaction coordinator (broker 2, which leads nothing) goes away for
 * OUTAGE_S while the coordinator lookups keep naming it: the open
 * transaction's commit times out again and again until the loop gives up
 * on it, as librdkafka 2.0.2 does when stuck looking for a new coordinator. */
static void *outage_main(void *arg) {
    harness_t *h = arg;
    rd_kafka_mock_broker_set_down(h->mcluster, 2);
    usleep((useconds_t)(OUTAGE_S * 1e6));
    rd_kafka_mock_broker_set_up(h->mcluster, 2);
    atomic_store(&h->stage, 2);
    return NULL;
}

/* What /healthz would see: the loop's health, read from another thread. */
static void *sampler_main(void *arg) {
    harness_t *h = arg;
    while (atomic_load(&h->sampling)) {
        inv_txloop_health_t hl;
        inv_txloop_health(h->loop, &hl);
        if (hl.stalled_seconds > h->max_stalled) {
            h->max_stalled = hl.stalled_seconds;
            if (hl.last_error[0])
                snprintf(h->stall_error, sizeof(h->stall_error), "%s", hl.last_error);
        }
        usleep(100000);
    }
    return NULL;
}

static void h_after_commit(void *opaque, inv_txloop_t *loop) {
    harness_t *h = opaque;
    h->commits++;
    if (!h->batch_open)
        return;
    h->batch_state[h->batch_seq] = BATCH_COMMITTED;
    h->batch_open = 0;
    /* the mock drops TxnOffsetCommit offsets: store them as the broker would */
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(IN_PARTS);
    for (int p = 0; p < IN_PARTS; p++)
        if (h->batch_next[p] >= 0) {
            rd_kafka_topic_partition_list_add(offs, IN_TOPIC, p)->offset = h->batch_next[p];
            h->committed_next[p] = h->batch_next[p];
        }
    rd_kafka_resp_err_t err = rd_kafka_commit(inv_txloop_consumer(loop), offs, 0);
    if (err) {
        fprintf(stderr, "shim commit: %s\n", rd_kafka_err2str(err));
        h->shim_commit_errors++;
    }
    rd_kafka_topic_partition_list_destroy(offs);

    /* mid-run faults, once some offsets are committed, so the rewind goes
     * to a non-zero position */
    if (h->outage) {
        if (h->commits == 4 && h->stage == 0) {
            h->stage = 1;
            h->outage_started = pthread_create(&h->outage_thread, NULL, outage_main, h) == 0;
        }
        return;
    }
    if (h->commits == 4 && h->stage == 0) {
        h->stage = 1;
        /* retriable (retried inside librdkafka), then abortable: the
         * partition is never added, so nothing of that transaction is
         * written */
        push_errors(h, API_ADD_PARTITIONS_TO_TXN, 3, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
        push_errors(h, API_END_TXN, 2, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    } else if (h->commits == 8 && h->stage == 1) {
        h->stage = 2;
        /* abortable once the outputs are already in the log */
        push_errors(h, API_ADD_OFFSETS_TO_TXN, 2, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                    RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
    }
}

static void h_after_abort(void *opaque, inv_txloop_t *loop) {
    (void)loop;
    harness_t *h = opaque;
    h->aborts++;
    if (!h->batch_open)
        return;
    h->batch_state[h->batch_seq] = BATCH_ABORTED;
    h->batch_open = 0;
}

static void h_tick(void *opaque, inv_txloop_t *loop) {
    harness_t *h = opaque;
    if (inv_time_mono_s() - h->t0 > DEADLINE_S + (h->outage ? 2 * OUTAGE_S : 0)) {
        h->timed_out = 1;
        inv_txloop_stop(loop);
        return;
    }
    if (h->batch_open)
        return;
    for (int i = 0; i < N_INPUT; i++)
        if (!h->handled[i])
            return;
    for (int p = 0; p < IN_PARTS; p++)
        if (h->committed_next[p] < h->end_offset[p])
            return;
    if (atomic_load(&h->stage) < 2)
        return;
    inv_txloop_stop(loop);
}

static rd_kafka_t *plain_client(rd_kafka_type_t type, const char *bootstraps, const char *const *props) {
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (bootstraps && rd_kafka_conf_set(kc, "bootstrap.servers", bootstraps, errstr, sizeof(errstr)))
        goto fail;
    for (size_t i = 0; props && props[i]; i += 2)
        if (rd_kafka_conf_set(kc, props[i], props[i + 1], errstr, sizeof(errstr)))
            goto fail;
    rd_kafka_t *rk = rd_kafka_new(type, kc, errstr, sizeof(errstr));
    if (!rk)
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return rk;
fail:
    fprintf(stderr, "conf: %s\n", errstr);
    rd_kafka_conf_destroy(kc);
    return NULL;
}

static int produce_input(const char *bootstraps, harness_t *h) {
    static const char *const props[] = {"linger.ms", "5", NULL};
    rd_kafka_t *p = plain_client(RD_KAFKA_PRODUCER, bootstraps, props);
    if (!p)
        return -1;
    for (int i = 0; i < N_INPUT; i++) {
        char key[32], value[32];
        int kl = snprintf(key, sizeof(key), "k%d", i);
        int vl = snprintf(value, sizeof(value), "id-%05d", i);
        rd_kafka_resp_err_t err;
        while ((err = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(IN_TOPIC), RD_KAFKA_V_PARTITION(i % IN_PARTS),
                                        RD_KAFKA_V_KEY(key, (size_t)kl), RD_KAFKA_V_VALUE(value, (size_t)vl),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (err) {
            fprintf(stderr, "produce input: %s\n", rd_kafka_err2str(err));
            rd_kafka_destroy(p);
            return -1;
        }
    }
    int rc = rd_kafka_flush(p, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
    for (int part = 0; rc == 0 && part < IN_PARTS; part++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(p, IN_TOPIC, part, &lo, &hi, 5000))
            rc = -1;
        else
            h->end_offset[part] = hi;
    }
    rd_kafka_destroy(p);
    return rc;
}

/* Reads the output partition from the beginning to its end with a
 * read_committed consumer; counts[id] gets the outputs of committed batches. */
static int read_output(const char *bootstraps, const harness_t *h, int *counts, int *aborted_in_log,
                       int *unknown_in_log, int *total) {
    static const char *const props[] = {"group.id",
                                        "txmock-reader",
                                        "isolation.level",
                                        "read_committed",
                                        "enable.partition.eof",
                                        "true",
                                        "enable.auto.commit",
                                        "false",
                                        NULL};
    rd_kafka_t *c = plain_client(RD_KAFKA_CONSUMER, bootstraps, props);
    if (!c)
        return -1;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, OUT_TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    int rc = -1;
    double until = inv_time_mono_s() + 10;
    while (inv_time_mono_s() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            rc = 0;
            break;
        }
        if (m->err) {
            fprintf(stderr, "read output: %s\n", rd_kafka_message_errstr(m));
        } else {
            int id;
            unsigned seq;
            (*total)++;
            if (parse_id(m->payload, m->len, &id, &seq) != 0 || id < 0 || id >= N_INPUT || seq >= MAX_BATCHES)
                (*unknown_in_log)++;
            else if (h->batch_state[seq] == BATCH_COMMITTED)
                counts[id]++;
            else if (h->batch_state[seq] == BATCH_ABORTED)
                (*aborted_in_log)++;
            else
                (*unknown_in_log)++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(c, NULL);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return rc;
}

static int set(inv_conf_t *c, const char *k, const char *v) {
    char errstr[256];
    if (inv_conf_set(c, k, v, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "inv_conf_set %s: %s\n", k, errstr);
        return -1;
    }
    return 0;
}

static void run(int outage) {
    static harness_t h; /* large: keep it off the stack */
    static int counts[N_INPUT];
    memset(&h, 0, sizeof(h));
    h.outage = outage;
    memset(counts, 0, sizeof(counts));
    double t_start = inv_time_mono_s();

    char errstr[512];
    rd_kafka_t *mrk = plain_client(RD_KAFKA_PRODUCER, NULL, NULL);
    INV_ASSERT(mrk != NULL, "throwaway producer for the mock cluster");
    h.mcluster = rd_kafka_mock_cluster_new(mrk, outage ? 3 : 1);
    INV_ASSERT(h.mcluster != NULL, "mock cluster");
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(h.mcluster);
    INV_ASSERT_EQ_INT(RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_mock_topic_create(h.mcluster, IN_TOPIC, IN_PARTS, 1));
    INV_ASSERT_EQ_INT(RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_mock_topic_create(h.mcluster, OUT_TOPIC, 1, 1));
    INV_ASSERT_EQ_INT(RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_mock_topic_create(h.mcluster, DLQ_TOPIC, 1, 1));
    if (outage) { /* broker 1 leads everything and coordinates the group; broker 2 the transactions */
        for (int p = 0; p < IN_PARTS; p++)
            rd_kafka_mock_partition_set_leader(h.mcluster, IN_TOPIC, p, 1);
        rd_kafka_mock_partition_set_leader(h.mcluster, OUT_TOPIC, 0, 1);
        rd_kafka_mock_partition_set_leader(h.mcluster, DLQ_TOPIC, 0, 1);
        rd_kafka_mock_coordinator_set(h.mcluster, "group", "txmock", 1);
        rd_kafka_mock_coordinator_set(h.mcluster, "transaction", "txmock-t1", 2);
        rd_kafka_mock_coordinator_set(h.mcluster, "transaction", "txmock-t1.1", 2);
    }
    INV_ASSERT_EQ_INT(0, produce_input(bootstraps, &h));
    INV_ASSERT_EQ_INT(N_INPUT, h.end_offset[0] + h.end_offset[1]);

    inv_conf_t *conf = inv_conf_new();
    int bad = set(conf, "brokers", bootstraps) || set(conf, "group.id", "txmock") || set(conf, "instance.id", "t1") ||
              set(conf, "topic.dlq", DLQ_TOPIC) || set(conf, "batch.max.messages", "100") ||
              set(conf, "commit.interval.ms", "100") || (outage && set(conf, "transaction.timeout.ms", "2000"));
    INV_ASSERT(!bad, "configuration");

    /* faults in the very first transactions: retriable ones, then an
     * abortable AddPartitionsToTxn (rewind with nothing committed yet) */
    if (!outage)
        push_errors(&h, API_ADD_PARTITIONS_TO_TXN, 3, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);

    inv_txloop_handler_t handler = {
        .opaque = &h,
        .process = h_process,
        .after_commit = h_after_commit,
        .after_abort = h_after_abort,
        .tick = h_tick,
    };
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(conf, &ks);
    inv_txloop_t *loop = inv_txloop_new(&ks, IN_TOPIC, &handler, errstr, sizeof(errstr));
    INV_ASSERT(loop != NULL, "inv_txloop_new: %s", errstr);
    h.t0 = inv_time_mono_s();
    h.loop = loop;
    atomic_store(&h.sampling, 1);
    pthread_t sampler;
    INV_ASSERT_EQ_INT(0, pthread_create(&sampler, NULL, sampler_main, &h));
    int rc = inv_txloop_run(loop);
    atomic_store(&h.sampling, 0);
    pthread_join(sampler, NULL);
    if (h.outage_started)
        pthread_join(h.outage_thread, NULL);
    inv_txloop_stats_t stats = *inv_txloop_stats(loop);
    inv_txloop_destroy(loop);
    inv_kafka_settings_free(&ks);
    inv_conf_destroy(conf);

    int aborted_in_log = 0, unknown_in_log = 0, total = 0;
    int read_rc = read_output(bootstraps, &h, counts, &aborted_in_log, &unknown_in_log, &total);

    rd_kafka_mock_cluster_destroy(h.mcluster);
    rd_kafka_destroy(mrk);

    fprintf(stderr,
            "     txloop: in %llu out %llu commits %llu aborts %llu producer recreations %llu; "
            "output log %d (of aborted batches %d); %.1f s\n",
            (unsigned long long)stats.messages_in, (unsigned long long)stats.messages_out,
            (unsigned long long)stats.txn_commits, (unsigned long long)stats.txn_aborts,
            (unsigned long long)stats.producer_recreations, total, aborted_in_log, inv_time_mono_s() - t_start);

    INV_ASSERT_EQ_INT(0, rc);
    INV_ASSERT(!h.timed_out, "not every input committed within %.0f s", DEADLINE_S);
    INV_ASSERT(!h.overflow, "more than %d batches", MAX_BATCHES);
    INV_ASSERT_EQ_INT(2, h.stage);
    INV_ASSERT_EQ_INT(0, h.shim_commit_errors);
    INV_ASSERT_EQ_INT(0, read_rc);
    INV_ASSERT_EQ_INT(0, unknown_in_log);
    INV_ASSERT(stats.txn_aborts > 0, "the abort-and-rewind path must have run");
    INV_ASSERT_EQ_INT(stats.txn_aborts, h.aborts);
    /* the injected errors are the broker's: counted as such, every abort has a cause */
    uint64_t by_cause = 0;
    for (int c = 0; c < INV_TXLOOP_ABORT_CAUSES; c++)
        by_cause += stats.txn_aborts_by_cause[c];
    INV_ASSERT_EQ_INT(stats.txn_aborts, by_cause);
    if (outage) {
        /* the commit that could not complete was given up on, the producer
         * recreated, and the stall showed while it lasted */
        INV_ASSERT(stats.txn_aborts_by_cause[INV_TXLOOP_ABORT_STUCK] > 0, "no transaction given up as stuck");
        INV_ASSERT(stats.producer_recreations > 0, "the producer was not recreated");
        INV_ASSERT(h.max_stalled >= 4.0, "the health showed a stall of %.1f s only", h.max_stalled);
        INV_ASSERT(h.stall_error[0], "the health gave no error during the stall");
        fprintf(stderr, "     longest stall seen by the health: %.1f s (%s)\n", h.max_stalled, h.stall_error);
    } else {
        INV_ASSERT(stats.txn_aborts_by_cause[INV_TXLOOP_ABORT_TXN] > 0, "no abort counted as a transaction error");
    }
    INV_ASSERT_EQ_INT(stats.txn_commits, h.commits);
    INV_ASSERT_EQ_INT(0, stats.dead_letters);
    /* rewinds re-delivered something, else the aborts proved nothing */
    INV_ASSERT(stats.messages_in > N_INPUT, "messages_in %llu", (unsigned long long)stats.messages_in);
    int missing = 0, dup = 0, first_bad = -1;
    for (int i = 0; i < N_INPUT; i++) {
        if (counts[i] != 1 && first_bad < 0)
            first_bad = i;
        missing += counts[i] == 0;
        dup += counts[i] > 1;
    }
    INV_ASSERT(missing == 0 && dup == 0, "%d input(s) without a committed output, %d with several (first: id %d x%d)",
               missing, dup, first_bad, first_bad >= 0 ? counts[first_bad] : 0);
}

static void test_injected_txn_errors_still_commit_each_input_exactly_once(void) { run(0); }

static void test_a_commit_retried_too_long_is_given_up_and_each_input_still_commits_once(void) { run(1); }

int main(void) {
    inv_log_set_level(INV_LOG_WARN);
    INV_RUN(test_injected_txn_errors_still_commit_each_input_exactly_once);
    INV_RUN(test_a_commit_retried_too_long_is_given_up_and_each_input_still_commits_once);
    return INV_TEST_DONE();
}
