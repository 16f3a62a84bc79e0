#include "inv_txloop.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_kafka.h"
#include "inv_kafka_health.h"
#include "inv_log.h"
#include "inv_time.h"
#include "inv_prefetch.h"

#define TOPIC_CACHE_MAX 16
#define MAX_PRODUCERS 2

typedef struct {
    char *name;
    rd_kafka_topic_t *rkt;
} topic_slot_t;

/* One transactional producer. The loop uses its producers in turn, one
 * transaction each: while the broker still writes one transaction's commit
 * markers, the next one already runs under another transactional id, which
 * the coordinator would otherwise answer with CONCURRENT_TRANSACTIONS (and
 * librdkafka retry after a back-off, INV_RDK_CONCURRENT_TXN_BACKOFF). Only one transaction is ever
 * open: the next begins after the previous commit returned. */
typedef struct {
    rd_kafka_t *rk;
    char transactional_id[544];
    topic_slot_t topics[TOPIC_CACHE_MAX];
    size_t topic_count;
} producer_t;

struct inv_txloop_s {
    const inv_kafka_settings_t *ks; /* &ks_own */
    inv_kafka_settings_t ks_own;    /* the caller's, with the statistics callback */
    inv_txloop_handler_t h;
    char *input_topic;
    char *dlq_topic;
    char group_id[256];
    char transactional_id[512];
    rd_kafka_t *consumer;
    producer_t producers[MAX_PRODUCERS];
    int producer_count;
    int current; /* the producer of the open (or next) transaction */
    inv_prefetch_t *prefetch;

    int in_txn;
    int batch_failed;                     /* a produce or delivery failed: the batch must abort */
    int in_rebalance;                     /* inside the rebalance callback */
    int stop_error;                       /* unrecoverable: leave the loop */
    volatile sig_atomic_t stop_requested; /* inv_txloop_stop() */
    int closing;                          /* the run is over: only the last commit and the group leave remain */
    uint64_t batch_count;
    int64_t txn_deadline_us;
    int64_t txn_early_us; /* from then on, commit as soon as no input waits */
    int64_t txn_begin_us; /* when the open transaction began (its first input) */
    int64_t min_interval_us;
    int64_t batch_max;
    int64_t interval_us;
    int destroy_timeout_ms;                   /* shutdown.timeout.ms */
    rd_kafka_topic_partition_list_t *offsets; /* next offset per consumed partition */
    rd_kafka_topic_partition_t *last_offset_slot;

    inv_txloop_stats_t stats;

    /* Health, read from other threads (inv_txloop_health). */
    inv_kafka_health_t *health;
    atomic_llong pending_since_us; /* the first transaction since the last commit began; 0: nothing pending */
    atomic_ullong recreations;     /* stats.producer_recreations, for other threads */
    pthread_mutex_t error_lock;
    char last_error[256];   /* the last transactional or delivery error since the last commit */
    int64_t retry_since_us; /* the open transaction's commit (or abort) has been retried since then */
    int64_t stuck_us;       /* ... and after this long the producer is recreated (INV_RDK_TXN_COORD_STUCK) */
    int txn_call_ms;        /* the timeout of one send_offsets, commit or abort call */
};

static int64_t now_us(void) { return inv_time_mono_us(); }

static void set_error(inv_txloop_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(inv_txloop_t *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&l->error_lock);
    vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
    pthread_mutex_unlock(&l->error_lock);
    va_end(ap);
}

/* Whether the loop goes on taking input. */
static int running(const inv_txloop_t *l) { return !l->stop_error && !l->stop_requested && (!l->h.run || *l->h.run); }

/* Whether a failed call may be retried: while running, and while closing
 * (the last commit and the group leave run their course). */
static int may_retry(const inv_txloop_t *l) { return l->closing || running(l); }

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    inv_txloop_t *l = opaque;
    if (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        /* an aborted transaction's outputs, dropped on purpose. Reported
         * when the producer is next polled, i.e. during the next batch,
         * which they must not fail; nor is a line per message wanted. */
    } else if (msg->err) {
        inv_log_warn("delivery to %s [%d] failed: %s", rd_kafka_topic_name(msg->rkt), msg->partition,
                     rd_kafka_err2str(msg->err));
        set_error(l, "delivery to %s [%d] failed: %s", rd_kafka_topic_name(msg->rkt), msg->partition,
                  rd_kafka_err2str(msg->err));
        l->batch_failed = 1;
    }
    if (l->h.on_delivery)
        l->h.on_delivery(l->h.opaque, msg);
}

static void clear_topic_cache(producer_t *pr) {
    for (size_t i = 0; i < pr->topic_count; i++) {
        rd_kafka_topic_destroy(pr->topics[i].rkt);
        free(pr->topics[i].name);
    }
    pr->topic_count = 0;
}

static rd_kafka_topic_t *topic_handle(inv_txloop_t *l, const char *name) {
    producer_t *pr = &l->producers[l->current];
    for (size_t i = 0; i < pr->topic_count; i++)
        if (strcmp(pr->topics[i].name, name) == 0)
            return pr->topics[i].rkt;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(pr->rk, name, NULL);
    if (rkt && pr->topic_count < TOPIC_CACHE_MAX) {
        pr->topics[pr->topic_count].name = strdup(name);
        pr->topics[pr->topic_count].rkt = rkt;
        if (pr->topics[pr->topic_count].name) {
            pr->topic_count++;
            return rkt;
        }
    }
    /* not cacheable: rd_kafka_topic_new returns the same handle per name,
     * so dropping our reference leaves the producer's own */
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return rkt;
}

/* Creates producer i and fences (aborts) whatever an earlier incarnation
 * of its transactional id left open. */
static int producer_create(inv_txloop_t *l, int i) {
    char errstr[INV_ERRSTR_SIZE];
    producer_t *pr = &l->producers[i];
    pr->rk = inv_kafka_producer_new(l->ks, pr->transactional_id, dr_msg_cb, l, errstr, sizeof(errstr));
    if (!pr->rk) {
        inv_log_error("%s", errstr);
        return -1;
    }
    while (may_retry(l)) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(pr->rk, 30000);
        if (!error)
            return 0;
        int retriable =
            rd_kafka_error_is_retriable(error) || rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__TIMED_OUT;
        inv_log_warn("init_transactions(%s): %s%s", pr->transactional_id, rd_kafka_error_string(error),
                     retriable ? "; retrying" : "");
        rd_kafka_error_destroy(error);
        if (!retriable)
            return -1;
    }
    return -1;
}

static void producer_destroy_bounded(const inv_txloop_t *l, producer_t *pr) {
    char what[600];
    snprintf(what, sizeof(what), "the transactional producer %s", pr->transactional_id);
    inv_kafka_destroy_bounded(pr->rk, what, l->destroy_timeout_ms);
    pr->rk = NULL;
}

static void producer_destroy(inv_txloop_t *l, int i) {
    producer_t *pr = &l->producers[i];
    if (!pr->rk)
        return;
    clear_topic_cache(pr);
    rd_kafka_purge(pr->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* a destroy that hangs (INV_RDK_DESTROY_MAY_HANG) would stop the loop for good;
     * the producer being replaced is of no more use, so it may stay behind */
    producer_destroy_bounded(l, pr);
}

/* The producer of the open (or next) transaction; NULL while it is being
 * recreated. */
static rd_kafka_t *producer(const inv_txloop_t *l) { return l->producers[l->current].rk; }

static void reset_batch(inv_txloop_t *l) {
    rd_kafka_topic_partition_list_destroy(l->offsets);
    l->offsets = rd_kafka_topic_partition_list_new(8);
    l->last_offset_slot = NULL;
    l->in_txn = 0;
    l->batch_failed = 0;
    l->batch_count = 0;
    l->retry_since_us = 0;
}

/* Back to the group's committed offsets: what the aborted batch consumed
 * will be delivered again. By seek, not by assign(): re-assigning while a
 * revocation is pending (a session lost during a broker restart) trips
 * the rktp_started assertion when the revoke callback then unassigns
 * (INV_RDK_REASSIGN_ASSERT). rd_kafka_seek with timeout 0 is
 * asynchronous and purges what was already fetched. */
static void rewind_consumer(inv_txloop_t *l) {
    if (l->in_rebalance)
        return; /* the partitions are going away anyway */
    rd_kafka_topic_partition_list_t *assignment = NULL;
    if (rd_kafka_assignment(l->consumer, &assignment) || !assignment)
        return;
    if (assignment->cnt > 0) {
        rd_kafka_resp_err_t err;
        while ((err = rd_kafka_committed(l->consumer, assignment, 10000)) && may_retry(l))
            inv_log_warn("fetching committed offsets to rewind: %s; retrying", rd_kafka_err2str(err));
        int rewound = 0;
        for (int i = 0; i < assignment->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &assignment->elems[i];
            /* no commit yet: where auto.offset.reset=earliest starts */
            int64_t offset = tp->offset >= 0 ? tp->offset : RD_KAFKA_OFFSET_BEGINNING;
            rd_kafka_topic_t *rkt = rd_kafka_topic_new(l->consumer, tp->topic, NULL);
            err = rd_kafka_seek(rkt, tp->partition, offset, 0);
            rd_kafka_topic_destroy(rkt);
            if (err)
                inv_log_debug("rewind %s [%d]: %s", tp->topic, tp->partition, rd_kafka_err2str(err));
            else
                rewound++;
        }
        inv_log_info("rewound %d partition(s) to the committed offsets", rewound);
        if (!err && l->h.on_rewind)
            l->h.on_rewind(l->h.opaque, l, assignment);
    }
    rd_kafka_topic_partition_list_destroy(assignment);
}

static void recreate_producer(inv_txloop_t *l) {
    l->stats.producer_recreations++;
    atomic_store(&l->recreations, l->stats.producer_recreations);
    inv_log_warn("recreating the transactional producer %s", l->producers[l->current].transactional_id);
    producer_destroy(l, l->current);
    if (producer_create(l, l->current) != 0 && may_retry(l))
        l->stop_error = 1;
}

/* The batch is over without a commit: the handler forgets it. */
static void batch_dropped(inv_txloop_t *l, inv_txloop_abort_cause_t cause) {
    l->stats.txn_aborts++;
    l->stats.txn_aborts_by_cause[cause]++;
    if (l->h.after_abort)
        l->h.after_abort(l->h.opaque, l);
    reset_batch(l);
}

/* Whether the open transaction's commit or abort has been retried for
 * longer than stuck_us, counting from the first retry. librdkafka 2.0.2 can
 * stay stuck looking up a new transaction coordinator while a metadata
 * request waits on a broker that is gone (INV_RDK_TXN_COORD_STUCK): the
 * calls then time out forever. */
static int retried_too_long(inv_txloop_t *l) {
#if !INV_RDK_TXN_COORD_STUCK
    return 0; /* the client finds its coordinator again by itself */
#endif
    int64_t now = now_us();
    if (!l->retry_since_us)
        l->retry_since_us = now;
    return now - l->retry_since_us > l->stuck_us;
}

/* The producer gave up on (or never learnt) the open transaction's
 * outcome: a new producer under the same transactional id settles it
 * (InitProducerId completes a commit the coordinator logged, aborts
 * anything else), and the rewind to the group's committed offsets then
 * starts after whatever did commit. */
static void give_up_transaction(inv_txloop_t *l, const char *what) {
    inv_log_warn("%s has not completed for %.0f s: recreating the transactional producer %s "
                 "(librdkafka before 2.10.0 can stay stuck looking for a new coordinator); "
                 "the consumer resumes from the group's committed offsets",
                 what, (double)(now_us() - l->retry_since_us) / 1e6, l->producers[l->current].transactional_id);
    set_error(l, "%s stuck for %.0f s: producer recreated", what, (double)(now_us() - l->retry_since_us) / 1e6);
    batch_dropped(l, INV_TXLOOP_ABORT_STUCK);
    if (l->closing)
        return; /* on the way out: whoever takes the id next settles the transaction */
    recreate_producer(l);
    rewind_consumer(l);
}

static void abort_batch(inv_txloop_t *l, inv_txloop_abort_cause_t cause) {
    while (l->in_txn && producer(l)) {
        /* in slices (-1 would wait forever in 2.0.2); a retriable timeout
         * is resumed by calling again (rdkafka.h) */
        rd_kafka_error_t *error = rd_kafka_abort_transaction(producer(l), l->txn_call_ms);
        if (!error)
            break;
        inv_log_warn("abort_transaction: %s", rd_kafka_error_string(error));
        set_error(l, "abort_transaction: %s", rd_kafka_error_string(error));
        int fatal = rd_kafka_error_is_fatal(error), retriable = rd_kafka_error_is_retriable(error);
        rd_kafka_error_destroy(error);
        if (fatal) {
            recreate_producer(l);
            break;
        }
        if (!retriable || !may_retry(l))
            break;
        if (retried_too_long(l)) {
            give_up_transaction(l, "abort_transaction");
            return;
        }
    }
    batch_dropped(l, cause);
    rewind_consumer(l);
}

/* Handles a failed transactional call. Returns 1 to retry the call, 0 when
 * the batch has been aborted (and the consumer rewound). */
static int txn_error(inv_txloop_t *l, const char *what, rd_kafka_error_t *error) {
    inv_log_warn("%s: %s", what, rd_kafka_error_string(error));
    set_error(l, "%s: %s", what, rd_kafka_error_string(error));
    int retriable = rd_kafka_error_is_retriable(error);
    int abortable = rd_kafka_error_txn_requires_abort(error);
    int fatal = rd_kafka_error_is_fatal(error);
    rd_kafka_error_destroy(error);
    if (retriable && !abortable && !fatal && may_retry(l)) {
        if (!retried_too_long(l))
            return 1;
        give_up_transaction(l, what);
        return 0;
    }
    if (fatal) {
        batch_dropped(l, INV_TXLOOP_ABORT_FATAL);
        recreate_producer(l);
        rewind_consumer(l);
        return 0;
    }
    abort_batch(l, INV_TXLOOP_ABORT_TXN);
    return 0;
}

static int begin_batch(inv_txloop_t *l) {
    rd_kafka_error_t *error = rd_kafka_begin_transaction(producer(l));
    if (error) {
        int fatal = rd_kafka_error_is_fatal(error);
        inv_log_warn("begin_transaction: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        if (fatal)
            recreate_producer(l);
        return -1;
    }
    l->in_txn = 1;
    int64_t now = now_us();
    long long none = 0;
    atomic_compare_exchange_strong(&l->pending_since_us, &none, (long long)now);
    l->txn_deadline_us = now + l->interval_us;
    l->txn_early_us = now + l->min_interval_us;
    l->txn_begin_us = now;
    return 0;
}

static void commit_batch(inv_txloop_t *l) {
    if (!l->in_txn)
        return;
    double open_seconds = (double)(now_us() - l->txn_begin_us) / 1e6;
    if (l->batch_failed || (l->h.before_commit && l->h.before_commit(l->h.opaque, l) != 0) || l->batch_failed) {
        abort_batch(l, l->batch_failed ? INV_TXLOOP_ABORT_OUTPUT : INV_TXLOOP_ABORT_HANDLER);
        return;
    }
    int64_t t_prepared = now_us();
    if (l->offsets->cnt > 0) {
        for (;;) {
            /* in slices too: one call with -1 can wait out a whole
             * coordinator outage before the loop may judge it stuck (2.0.2
             * may still hold one call for its request timeout, ~9 s) */
            rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(l->consumer);
            rd_kafka_error_t *error =
                rd_kafka_send_offsets_to_transaction(producer(l), l->offsets, cgmd, l->txn_call_ms);
            rd_kafka_consumer_group_metadata_destroy(cgmd);
            if (!error)
                break;
            if (!txn_error(l, "send_offsets_to_transaction", error))
                return;
        }
    }
    for (;;) {
        /* In slices of transaction.timeout.ms: librdkafka retries inside
         * each until the outcome is known, and a retriable timeout is
         * resumed by calling again (txn_error). -1 would wait forever in
         * 2.0.2 (no cap), also when stuck (INV_RDK_TXN_COORD_STUCK). */
        rd_kafka_error_t *error = rd_kafka_commit_transaction(producer(l), l->txn_call_ms);
        if (!error)
            break;
        if (!txn_error(l, "commit_transaction", error))
            return;
    }
    if (l->batch_failed) {
        /* cannot happen after a successful commit, which flushes and checks */
        inv_log_error("a delivery failed inside a committed transaction");
    }
    l->stats.last_commit_seconds = (double)(now_us() - t_prepared) / 1e6;
    l->stats.last_open_seconds = open_seconds;
    l->stats.txn_commits++;
    l->stats.last_batch_size = l->batch_count;
    atomic_store(&l->pending_since_us, 0);
    set_error(l, "%s", "");
    if (l->h.after_commit)
        l->h.after_commit(l->h.opaque, l);
    reset_batch(l);
    l->current = (l->current + 1) % l->producer_count; /* the next transaction goes to the next producer */
}

/* librdkafka's statistics of the loop's clients (every
 * statistics.interval.ms, served by the polls) into l->health. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
    inv_txloop_t *l = opaque;
    char client[32] = "consumer";
    for (int i = 0; i < l->producer_count; i++)
        if (rk == l->producers[i].rk)
            snprintf(client, sizeof(client), "producer-%d", i);
    if (rk == l->consumer || strcmp(client, "consumer") != 0)
        inv_kafka_health_update(l->health, client, json, json_len);
    return 0; /* librdkafka frees json */
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    inv_txloop_t *l = opaque;
    l->in_rebalance = 1;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        inv_log_info("assigned %d partition(s) of %s", parts->cnt, l->input_topic);
        if (l->h.on_assign && l->h.on_assign(l->h.opaque, l, parts) != 0) {
            l->stop_error = 1;
        }
        rd_kafka_assign(rk, parts);
    } else {
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            inv_log_info("revoking %d partition(s) of %s", parts->cnt, l->input_topic);
            commit_batch(l); /* still a member of this generation: the offsets are accepted */
        } else {
            inv_log_warn("rebalance error: %s", rd_kafka_err2str(err));
            if (l->in_txn)
                abort_batch(l, INV_TXLOOP_ABORT_REBALANCE);
        }
        if (l->h.on_revoke)
            l->h.on_revoke(l->h.opaque, l, parts);
        rd_kafka_assign(rk, NULL);
        atomic_store(&l->pending_since_us, 0); /* what was pending is another member's now */
    }
    l->in_rebalance = 0;
}

inv_txloop_t *inv_txloop_new(const inv_kafka_settings_t *ks, const char *input_topic,
                             const inv_txloop_handler_t *handler, char *errstr, size_t errstr_size) {
    inv_txloop_t *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    /* the loop's clients report their statistics to l->health */
    l->ks_own = *ks;
    l->ks_own.stats_cb = stats_cb;
    l->ks = &l->ks_own;
    l->h = *handler;
    pthread_mutex_init(&l->error_lock, NULL);
    l->stuck_us = 2 * ks->transaction_timeout_ms * 1000;
    l->txn_call_ms = (int)ks->transaction_timeout_ms;
    if (!(l->health = inv_kafka_health_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        inv_txloop_destroy(l);
        return NULL;
    }
    l->input_topic = strdup(input_topic);
    l->dlq_topic = strdup(ks->dlq_topic);
    l->batch_max = ks->batch_max_messages;
    l->interval_us = ks->commit_interval_ms * 1000;
    l->destroy_timeout_ms = ks->shutdown_timeout_ms;
    l->min_interval_us = ks->commit_min_interval_ms;
    if (l->min_interval_us > 0)
        l->min_interval_us *= 1000;
    l->offsets = rd_kafka_topic_partition_list_new(8);
    snprintf(l->group_id, sizeof(l->group_id), "%s", ks->group_id);
    char instance[256];
    const char *iid = ks->instance_id;
    if (!*iid) {
        if (inv_kafka_default_instance_id(l->group_id, instance, sizeof(instance), errstr, errstr_size) != 0) {
            inv_txloop_destroy(l);
            return NULL;
        }
        iid = instance;
    }
    snprintf(l->transactional_id, sizeof(l->transactional_id), "%s-%s", l->group_id, iid);
    /* the first keeps the id of a single-producer loop, so an upgrade
     * fences what the previous version left open */
    l->producer_count = ks->transaction_producers;
    if (l->producer_count < 1 || l->producer_count > MAX_PRODUCERS)
        l->producer_count = MAX_PRODUCERS;
    for (int i = 0; i < l->producer_count; i++)
        snprintf(l->producers[i].transactional_id, sizeof(l->producers[i].transactional_id), i ? "%s.%d" : "%s",
                 l->transactional_id, i);
    l->consumer = inv_kafka_consumer_new(l->ks, l->group_id, rebalance_cb, l, errstr, errstr_size);
    if (!l->consumer || !(l->prefetch = inv_prefetch_new(l->consumer))) {
        if (l->consumer)
            snprintf(errstr, errstr_size, "out of memory");
        inv_txloop_destroy(l);
        return NULL;
    }
    return l;
}

/* Queues one message; QUEUE_FULL waits for room. On failure the headers
 * are destroyed and the error returned, without failing the batch. */
static rd_kafka_resp_err_t produce_once(inv_txloop_t *l, const char *topic, int32_t partition, const void *key,
                                        size_t key_len, const void *value, size_t value_len, int64_t timestamp_ms,
                                        rd_kafka_headers_t *headers) {
    rd_kafka_topic_t *rkt = topic_handle(l, topic);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer(l), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (!err) {
            l->stats.messages_out++;
            return err;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer(l), 50); /* wait for deliveries to free room */
            continue;
        }
        if (headers)
            rd_kafka_headers_destroy(headers);
        return err;
    }
}

int inv_txloop_produce(inv_txloop_t *l, const char *topic, int32_t partition, const void *key, size_t key_len,
                       const void *value, size_t value_len, int64_t timestamp_ms, rd_kafka_headers_t *headers) {
    rd_kafka_resp_err_t err = produce_once(l, topic, partition, key, key_len, value, value_len, timestamp_ms, headers);
    if (!err)
        return 0;
    inv_log_warn("produce to %s: %s", topic, rd_kafka_err2str(err));
    l->batch_failed = 1;
    return -1;
}

static rd_kafka_headers_t *dead_letter_headers(const inv_txloop_source_t *src, const char *reason) {
    char partition[16], offset[32];
    snprintf(partition, sizeof(partition), "%d", src->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)src->offset);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(5);
    rd_kafka_header_add(hdrs, "inv.error", -1, reason, -1);
    rd_kafka_header_add(hdrs, "inv.source.topic", -1, src->topic, -1);
    rd_kafka_header_add(hdrs, "inv.source.partition", -1, partition, -1);
    rd_kafka_header_add(hdrs, "inv.source.offset", -1, offset, -1);
    return hdrs;
}

int inv_txloop_dead_letter(inv_txloop_t *l, const inv_txloop_source_t *src, const char *reason) {
    l->stats.dead_letters++;
    inv_log_debug("dead letter %s [%d] @%lld: %s", src->topic, src->partition, (long long)src->offset, reason);
    int64_t ts = src->timestamp_ms > 0 ? src->timestamp_ms : 0;
    rd_kafka_resp_err_t err = produce_once(l, l->dlq_topic, RD_KAFKA_PARTITION_UA, src->key, src->key_len, src->value,
                                           src->value_len, ts, dead_letter_headers(src, reason));
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        /* An input too large to copy (over the producer's message.max.bytes)
         * would otherwise abort every batch it lands in, forever. Its bytes
         * stay in the source topic at inv.source.offset; the dead letter
         * says so instead of carrying them. */
        char size[32];
        snprintf(size, sizeof(size), "%zu", src->value_len);
        rd_kafka_headers_t *hdrs = dead_letter_headers(src, reason);
        rd_kafka_header_add(hdrs, "inv.value.omitted", -1, size, -1);
        inv_log_warn("dead letter %s [%d] @%lld: %zu bytes are too large to copy; sent without its value", src->topic,
                     src->partition, (long long)src->offset, src->value_len);
        err = produce_once(l, l->dlq_topic, RD_KAFKA_PARTITION_UA, src->key, src->key_len, NULL, 0, ts, hdrs);
    }
    if (err) {
        inv_log_warn("produce to %s: %s", l->dlq_topic, rd_kafka_err2str(err));
        l->batch_failed = 1;
        return -1;
    }
    return 0;
}

inv_txloop_source_t inv_txloop_source_of(const rd_kafka_message_t *msg) {
    return (inv_txloop_source_t){.topic = rd_kafka_topic_name(msg->rkt),
                                 .partition = msg->partition,
                                 .offset = msg->offset,
                                 .key = msg->key,
                                 .key_len = msg->key_len,
                                 .value = msg->payload,
                                 .value_len = msg->len,
                                 .timestamp_ms = rd_kafka_message_timestamp(msg, NULL)};
}

static void dead_letter(inv_txloop_t *l, const rd_kafka_message_t *msg, const char *reason) {
    inv_txloop_source_t src = inv_txloop_source_of(msg);
    inv_txloop_dead_letter(l, &src, reason);
}

static void record_offset(inv_txloop_t *l, const rd_kafka_message_t *msg) {
    rd_kafka_topic_partition_t *slot = l->last_offset_slot;
    if (!slot || slot->partition != msg->partition) {
        const char *topic = rd_kafka_topic_name(msg->rkt);
        slot = rd_kafka_topic_partition_list_find(l->offsets, topic, msg->partition);
        if (!slot)
            slot = rd_kafka_topic_partition_list_add(l->offsets, topic, msg->partition);
        l->last_offset_slot = slot;
    }
    slot->offset = msg->offset + 1;
}

static void handle_message(inv_txloop_t *l, rd_kafka_message_t *msg) {
    if (msg->err) {
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return;
        inv_log_warn("consume: %s", rd_kafka_message_errstr(msg));
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
            l->stop_error = 1;
        }
        return;
    }
    if (!l->in_txn && begin_batch(l) != 0) {
        rewind_consumer(l); /* this message will come again */
        return;
    }
    char errstr[INV_ERRSTR_SIZE];
    errstr[0] = '\0';
    int rc = l->h.process(l->h.opaque, l, msg, errstr, sizeof(errstr));
    if (rc == INV_TXLOOP_DEAD_LETTER)
        dead_letter(l, msg, errstr[0] ? errstr : "invalid message");
    l->stats.messages_in++;
    record_offset(l, msg);
    l->batch_count++;
    if (rc == INV_TXLOOP_ABORT) {
        inv_log_warn("batch aborted by the handler: %s", errstr);
        abort_batch(l, INV_TXLOOP_ABORT_HANDLER);
    }
}

/* The next input, or NULL after a wait bounded by the open transaction's
 * commit time. An old enough transaction commits as soon as the input is
 * drained, rather than wait for a fetch that may be on its way: latency at
 * half load matters more than larger transactions. */
static rd_kafka_message_t *next_input(inv_txloop_t *l) {
    int64_t now = now_us();
    rd_kafka_message_t *msg;
    if (l->in_txn && l->min_interval_us >= 0 && now >= l->txn_early_us) {
        if (!(msg = rd_kafka_consumer_poll(l->consumer, 0)))
            commit_batch(l);
    } else {
        int timeout_ms = 100;
        if (l->in_txn) {
            int64_t until = l->min_interval_us >= 0 ? l->txn_early_us : l->txn_deadline_us;
            int64_t left = (until - now + 999) / 1000;
            timeout_ms = left < 0 ? 0 : left < 100 ? (int)left : 100;
        }
        msg = rd_kafka_consumer_poll(l->consumer, timeout_ms);
    }
    inv_prefetch_after_poll(l->prefetch, msg);
    return msg;
}

/* One turn of the loop: an input if one comes, then whatever is due. */
static void step(inv_txloop_t *l) {
    rd_kafka_message_t *msg = next_input(l);
    if (msg) {
        handle_message(l, msg);
        rd_kafka_message_destroy(msg);
    }
    /* delivery reports: every so often is enough, since the commit
     * flushes and serves them anyway, and QUEUE_FULL polls too */
    if (!msg || (l->stats.messages_in & 1023) == 0)
        rd_kafka_poll(producer(l), 0);
    if (l->in_txn && (l->batch_failed || (int64_t)l->batch_count >= l->batch_max || now_us() >= l->txn_deadline_us))
        commit_batch(l);
    if (l->h.tick)
        l->h.tick(l->h.opaque, l);
}

static int subscribe(inv_txloop_t *l) {
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, l->input_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(l->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        inv_log_error("subscribe to %s: %s", l->input_topic, rd_kafka_err2str(err));
        return -1;
    }
    inv_log_info("consuming %s in group %s as %s", l->input_topic, l->group_id, l->transactional_id);
    return 0;
}

int inv_txloop_run(inv_txloop_t *l) {
    for (int i = 0; i < l->producer_count; i++)
        if (producer_create(l, i) != 0)
            return -1;
    if (subscribe(l) != 0)
        return -1;
    while (running(l))
        step(l);
    int rc = l->stop_error ? -1 : 0;
    l->closing = 1;
    if (l->in_txn) {
        if (rc == 0)
            commit_batch(l);
        else
            abort_batch(l, INV_TXLOOP_ABORT_STOP);
    }
    const inv_prefetch_stats_t *pf = inv_prefetch_stats(l->prefetch);
    inv_log_info("leaving group %s; woke the fetchers %llu time(s) (%llu failed) for a prefetch queue of %lld "
                 "messages or %lld KiB",
                 l->group_id, (unsigned long long)pf->wakeups, (unsigned long long)pf->wakeup_errors,
                 (long long)pf->queue_max_msgs, (long long)(pf->queue_max_bytes / 1024));
    rd_kafka_consumer_close(l->consumer);
    l->closing = 0;
    return rc;
}

void inv_txloop_destroy(inv_txloop_t *l) {
    if (!l)
        return;
    inv_prefetch_destroy(l->prefetch);
    if (l->consumer) {
        char what[300];
        snprintf(what, sizeof(what), "the consumer of group %s", l->group_id);
        inv_kafka_close_destroy(l->consumer, what, l->destroy_timeout_ms);
        l->consumer = NULL;
    }
    for (int i = 0; i < l->producer_count; i++) {
        producer_t *pr = &l->producers[i];
        if (!pr->rk)
            continue;
        clear_topic_cache(pr);
        rd_kafka_flush(pr->rk, 10000);
        if (rd_kafka_outq_len(pr->rk) > 0)
            inv_log_warn("%d message(s) still queued at exit", rd_kafka_outq_len(pr->rk));
        producer_destroy_bounded(l, pr);
    }
    rd_kafka_topic_partition_list_destroy(l->offsets);
    free(l->input_topic);
    free(l->dlq_topic);
    inv_kafka_health_destroy(l->health);
    pthread_mutex_destroy(&l->error_lock);
    free(l);
}

void inv_txloop_stop(inv_txloop_t *l) { l->stop_requested = 1; }

int inv_txloop_begin(inv_txloop_t *l) {
    if (l->in_txn)
        return 0;
    if (l->in_rebalance || l->closing || !producer(l))
        return -1;
    return begin_batch(l);
}

int inv_txloop_in_transaction(const inv_txloop_t *l) { return l->in_txn; }

const char *inv_txloop_abort_cause_name(inv_txloop_abort_cause_t cause) {
    static const char *const names[INV_TXLOOP_ABORT_CAUSES] = {"handler",   "output", "transaction", "fatal",
                                                               "rebalance", "stop",   "stuck"};
    return cause < INV_TXLOOP_ABORT_CAUSES ? names[cause] : "unknown";
}

const inv_txloop_stats_t *inv_txloop_stats(const inv_txloop_t *l) { return &l->stats; }
rd_kafka_t *inv_txloop_consumer(inv_txloop_t *l) { return l->consumer; }
const char *inv_txloop_transactional_id(const inv_txloop_t *l) { return l->transactional_id; }

void inv_txloop_health(inv_txloop_t *l, inv_txloop_health_t *out) {
    memset(out, 0, sizeof(*out));
    long long since = atomic_load(&l->pending_since_us);
    out->stalled_seconds = since ? (double)(now_us() - since) / 1e6 : 0;
    out->producer_recreations = atomic_load(&l->recreations);
    pthread_mutex_lock(&l->error_lock);
    snprintf(out->last_error, sizeof(out->last_error), "%s", l->last_error);
    pthread_mutex_unlock(&l->error_lock);
    inv_kafka_health_view(l->health, &out->kafka);
}
