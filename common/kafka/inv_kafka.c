#include "inv_kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>

#include "inv_log.h"
#include "inv_time.h"

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    inv_log_level_t l = level <= 3   ? INV_LOG_ERROR
                        : level <= 4 ? INV_LOG_WARN
                        : level <= 6 ? INV_LOG_INFO
                                     : INV_LOG_DEBUG;
    inv_log(l, "librdkafka %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    (void)opaque;
    /* Broker down / transport errors are retried by librdkafka; say so once
     * per occurrence but do not treat them as fatal here. */
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        inv_log_error("kafka fatal error: %s", reason);
    else
        inv_log_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int conf_set(rd_kafka_conf_t *kc, const char *prop, const char *value, char *errstr, size_t errstr_size) {
    char err[INV_ERRSTR_SIZE];
    if (rd_kafka_conf_set(kc, prop, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka.%s: %s", prop, err);
        return -1;
    }
    return 0;
}

void inv_kafka_settings_read(const inv_conf_t *c, inv_kafka_settings_t *ks) {
    *ks = (inv_kafka_settings_t){
        .brokers = inv_conf_get(c, "brokers"),
        .prop_count = inv_conf_kafka_count(c),
        .group_id = inv_conf_get(c, "group.id"),
        .instance_id = inv_conf_get(c, "instance.id"),
        .dlq_topic = inv_conf_get(c, "topic.dlq"),
        .transaction_timeout_ms = inv_conf_get_int(c, "transaction.timeout.ms"),
        .commit_interval_ms = inv_conf_get_int(c, "commit.interval.ms"),
        .commit_min_interval_ms = inv_conf_get_int(c, "commit.min.interval.ms"),
        .batch_max_messages = inv_conf_get_int(c, "batch.max.messages"),
        .transaction_producers = (int)inv_conf_get_int(c, "transaction.producers"),
        .shutdown_timeout_ms = (int)inv_conf_get_int(c, "shutdown.timeout.ms"),
    };
    if (ks->prop_count && !(ks->props = calloc(ks->prop_count, sizeof(*ks->props))))
        abort();
    for (size_t i = 0; i < ks->prop_count; i++)
        inv_conf_kafka_at(c, i, &ks->props[i].prop, &ks->props[i].value);
}

void inv_kafka_settings_free(inv_kafka_settings_t *ks) {
    free(ks->props);
    ks->props = NULL;
    ks->prop_count = 0;
}

rd_kafka_conf_t *inv_kafka_conf_new(const inv_kafka_settings_t *ks, const char *client_id, char *errstr,
                                    size_t errstr_size) {
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (conf_set(kc, "bootstrap.servers", ks->brokers, errstr, errstr_size) != 0 ||
        (client_id && conf_set(kc, "client.id", client_id, errstr, errstr_size) != 0)) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(kc, log_cb);
    rd_kafka_conf_set_error_cb(kc, error_cb);
    if (ks->stats_cb) {
        rd_kafka_conf_set_stats_cb(kc, ks->stats_cb);
        if (conf_set(kc, "statistics.interval.ms", "5000", errstr, errstr_size) != 0) {
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    for (size_t i = 0; i < ks->prop_count; i++) { /* after the defaults above: the user's win */
        if (conf_set(kc, ks->props[i].prop, ks->props[i].value, errstr, errstr_size) != 0) {
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    return kc;
}

int inv_kafka_conf_check(const inv_kafka_settings_t *ks, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = inv_kafka_conf_new(ks, NULL, errstr, errstr_size);
    if (!kc)
        return -1;
    rd_kafka_conf_destroy(kc);
    return 0;
}

/* The kafka.<prop> the user set, or NULL. */
static const char *user_value(const inv_kafka_settings_t *ks, const char *prop) {
    const char *v = NULL;
    for (size_t i = 0; i < ks->prop_count; i++) /* the last one set wins, as in the conf */
        if (strcmp(ks->props[i].prop, prop) == 0)
            v = ks->props[i].value;
    return v;
}

/* Applies defaults only where the user set no kafka.<prop> of that name. */
static int set_default(rd_kafka_conf_t *kc, const inv_kafka_settings_t *c, const char *prop, const char *value,
                       char *errstr, size_t errstr_size) {
    return user_value(c, prop) ? 0 : conf_set(kc, prop, value, errstr, errstr_size);
}

static rd_kafka_t *new_handle(rd_kafka_type_t type, rd_kafka_conf_t *kc, char *errstr, size_t errstr_size) {
    char err[INV_ERRSTR_SIZE];
    rd_kafka_t *rk = rd_kafka_new(type, kc, err, sizeof(err));
    if (!rk) {
        snprintf(errstr, errstr_size, "cannot create Kafka client: %s", err);
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    return rk; /* rd_kafka_new took ownership of kc */
}

/* A small prefetch queue (librdkafka's default, 100 000 messages and
 * 64 MiB, is most of a consumer's memory); whoever polls the consumer runs
 * inv_prefetch so that the fetcher does not stall on it
 * (INV_RDK_FETCH_QUEUE_STALL). A fetch response is taken whole, whatever
 * the queue holds, so fetch.max.bytes (512 KiB) bounds the peak; librdkafka
 * wants message.max.bytes, unused by a consumer, no larger. The queue holds
 * up to 4 000 messages or 2 MiB: enough that a consumer behind does not
 * drain it before the next fetch lands. max.partition.fetch.bytes stays at
 * 1 MiB: a fetch then brings a long run of one partition, which the keeper
 * coalesces into fewer changelog rows. docs/ARCHITECTURE.md, "Current
 * tuning and why". */
static int set_prefetch_defaults(rd_kafka_conf_t *kc, const inv_kafka_settings_t *c, char *errstr, size_t errstr_size) {
    /* whichever of the two the user set, the other follows it */
    const char *fetch_max = "524288", *message_max = "524288";
    const char *user_fetch = user_value(c, "fetch.max.bytes"), *user_message = user_value(c, "message.max.bytes");
    if (user_message && atoll(user_message) > atoll(fetch_max))
        fetch_max = user_message;
    if (user_fetch && atoll(user_fetch) < atoll(message_max))
        message_max = user_fetch;
    return set_default(kc, c, "queued.min.messages", "4000", errstr, errstr_size) ||
           set_default(kc, c, "queued.max.messages.kbytes", "2048", errstr, errstr_size) ||
           set_default(kc, c, "message.max.bytes", message_max, errstr, errstr_size) ||
           set_default(kc, c, "fetch.max.bytes", fetch_max, errstr, errstr_size);
}

rd_kafka_t *inv_kafka_producer_new(const inv_kafka_settings_t *c, const char *transactional_id,
                                   void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque,
                                   char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = inv_kafka_conf_new(c, transactional_id, errstr, errstr_size);
    if (!kc)
        return NULL;
    char timeout[32], linger[32] = "5";
    snprintf(timeout, sizeof(timeout), "%lld", (long long)c->transaction_timeout_ms);
    /* A transactional producer lingers as long as a transaction may stay
     * open: read_committed consumers see nothing before the commit, whose
     * flush sends at once whatever waits (librdkafka >= 1.8 ignores
     * linger.ms while flushing), so a transaction goes out as one request
     * per partition. Batches of 256 KiB (librdkafka: 1 MB) bound the memory
     * of what waits for the commit. */
    if (transactional_id) {
        long long ms = c->commit_interval_ms;
        /* librdkafka wants message.timeout.ms above linger.ms (0: no timeout) */
        const char *user_timeout = user_value(c, "message.timeout.ms");
        long long timeout_ms = user_timeout ? atoll(user_timeout) : 0;
        if (timeout_ms > 0 && timeout_ms <= ms)
            ms = timeout_ms - 1;
        snprintf(linger, sizeof(linger), "%lld", ms);
    }
    if (set_default(kc, c, "partitioner", "murmur2_random", errstr, errstr_size) != 0 ||
        set_default(kc, c, "enable.idempotence", "true", errstr, errstr_size) != 0 ||
        set_default(kc, c, "linger.ms", linger, errstr, errstr_size) != 0 ||
        (transactional_id && set_default(kc, c, "batch.size", "262144", errstr, errstr_size) != 0) ||
        set_default(kc, c, "compression.type", "lz4", errstr, errstr_size) != 0 ||
        set_default(kc, c, "queue.buffering.max.messages", "500000", errstr, errstr_size) != 0 ||
        /* INV_RDK_CONCURRENT_TXN_BACKOFF: at the default 100 ms the
         * retry is the p99 of back-to-back transactions */
        set_default(kc, c, "retry.backoff.ms", "10", errstr, errstr_size) != 0 ||
        (transactional_id && (conf_set(kc, "transactional.id", transactional_id, errstr, errstr_size) != 0 ||
                              set_default(kc, c, "transaction.timeout.ms", timeout, errstr, errstr_size) != 0))) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    if (dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(kc, dr_msg_cb);
    rd_kafka_conf_set_opaque(kc, opaque);
    return new_handle(RD_KAFKA_PRODUCER, kc, errstr, errstr_size);
}

rd_kafka_t *inv_kafka_consumer_new(const inv_kafka_settings_t *c, const char *group_id,
                                   void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                        rd_kafka_topic_partition_list_t *, void *),
                                   void *opaque, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = inv_kafka_conf_new(c, group_id, errstr, errstr_size);
    if (!kc)
        return NULL;
    if ((group_id && conf_set(kc, "group.id", group_id, errstr, errstr_size) != 0) ||
        set_default(kc, c, "isolation.level", "read_committed", errstr, errstr_size) != 0 ||
        set_default(kc, c, "enable.auto.commit", "false", errstr, errstr_size) != 0 ||
        set_default(kc, c, "enable.auto.offset.store", "false", errstr, errstr_size) != 0 ||
        set_default(kc, c, "auto.offset.reset", "earliest", errstr, errstr_size) != 0 ||
        set_default(kc, c, "partition.assignment.strategy", "range", errstr, errstr_size) != 0 ||
        /* a killed member's partitions move after 10 s, not librdkafka's 45 */
        set_default(kc, c, "session.timeout.ms", "10000", errstr, errstr_size) != 0 ||
        set_default(kc, c, "enable.partition.eof", "false", errstr, errstr_size) != 0 ||
        set_prefetch_defaults(kc, c, errstr, errstr_size) != 0) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    if (rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
    rd_kafka_conf_set_opaque(kc, opaque);
    rd_kafka_t *rk = new_handle(RD_KAFKA_CONSUMER, kc, errstr, errstr_size);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

rd_kafka_t *inv_kafka_reader_new(const inv_kafka_settings_t *c, const char *name, int partition_eof,
                                 const char *const *extra, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = inv_kafka_conf_new(c, name, errstr, errstr_size);
    if (!kc)
        return NULL;
    int rc = conf_set(kc, "group.id", name, errstr, errstr_size) ||
             set_default(kc, c, "enable.auto.commit", "false", errstr, errstr_size) ||
             set_default(kc, c, "isolation.level", "read_committed", errstr, errstr_size) ||
             conf_set(kc, "enable.partition.eof", partition_eof ? "true" : "false", errstr, errstr_size) ||
             set_prefetch_defaults(kc, c, errstr, errstr_size);
    for (size_t i = 0; !rc && extra && extra[i]; i += 2)
        rc = set_default(kc, c, extra[i], extra[i + 1], errstr, errstr_size);
    if (rc) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_t *rk = new_handle(RD_KAFKA_CONSUMER, kc, errstr, errstr_size);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

rd_kafka_t *inv_kafka_admin_new(const inv_kafka_settings_t *c, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = inv_kafka_conf_new(c, "invctl", errstr, errstr_size);
    if (!kc)
        return NULL;
    return new_handle(RD_KAFKA_PRODUCER, kc, errstr, errstr_size);
}

/* Shared by the waiting caller and the helper thread; whichever of them is
 * last to look at it frees it (the helper, when the caller gave up). */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rd_kafka_t *rk;
    int done;      /* rd_kafka_destroy returned */
    int abandoned; /* the caller stopped waiting and detached the helper */
} destroy_job_t;

static void destroy_job_free(destroy_job_t *j) {
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *destroy_main(void *arg) {
    destroy_job_t *j = arg;
    rd_kafka_destroy(j->rk);
    pthread_mutex_lock(&j->lock);
    j->done = 1;
    int abandoned = j->abandoned;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (abandoned)
        destroy_job_free(j);
    return NULL;
}

static int destroy_job_init(destroy_job_t *j) {
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&j->cond, &ca) != 0 ? -1 : 0;
    pthread_condattr_destroy(&ca);
    if (rc == 0 && pthread_mutex_init(&j->lock, NULL) != 0) {
        pthread_cond_destroy(&j->cond);
        rc = -1;
    }
    return rc;
}

int inv_kafka_destroy_bounded(rd_kafka_t *rk, const char *what, int timeout_ms) {
    if (!rk)
        return 0;
    if (timeout_ms < 0)
        timeout_ms = 0;
    destroy_job_t *j = calloc(1, sizeof(*j));
    if (j && destroy_job_init(j) != 0) {
        free(j);
        j = NULL;
    }
    pthread_t thread;
    int err = ENOMEM;
    if (j) {
        j->rk = rk;
        /* signals stay with the program's own threads, as librdkafka's do */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        err = pthread_create(&thread, NULL, destroy_main, j);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (err != 0) {
        inv_log_warn("cannot start a thread to destroy %s (%s): destroying it without a time bound", what,
                     strerror(err));
        if (j)
            destroy_job_free(j);
        rd_kafka_destroy(rk);
        return 0;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->lock);
    while (!j->done && pthread_cond_timedwait(&j->cond, &j->lock, &deadline) != ETIMEDOUT)
        ;
    int done = j->done;
    if (!done)
        j->abandoned = 1;
    pthread_mutex_unlock(&j->lock);
    if (done) {
        pthread_join(thread, NULL);
        destroy_job_free(j);
        return 0;
    }
    pthread_detach(thread);
    inv_log_warn(
        "destroying %s did not finish within %d ms: librdkafka 2.0.x's rd_kafka_destroy hang "
        "(INV_RDK_DESTROY_MAY_HANG, librdkafka#4362); going on without it (its thread and memory are left behind)",
        what, timeout_ms);
    return -1;
}

int inv_kafka_close_destroy(rd_kafka_t *rk, const char *what, int timeout_ms) {
    if (!rk)
        return 0;
    if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER && !rd_kafka_consumer_closed(rk))
        rd_kafka_consumer_close(rk);
    return inv_kafka_destroy_bounded(rk, what, timeout_ms);
}

int inv_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr, size_t errstr_size) {
    /* A topic created a moment ago may not be in every broker's metadata
     * yet: "unknown topic" is retried until the timeout. */
    int64_t t0 = inv_time_mono_ms();
    for (;;) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (err) {
            snprintf(errstr, errstr_size, "metadata for topic %s: %s", topic, rd_kafka_err2str(err));
            return -1;
        }
        int n = -1;
        err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        if (!err)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        if (n >= 0)
            return n;
        int64_t waited_ms = inv_time_mono_ms() - t0;
        if ((err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) ||
            waited_ms + 200 > timeout_ms) {
            snprintf(errstr, errstr_size, "topic %s: %s", topic, rd_kafka_err2str(err));
            return -1;
        }
        nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
    }
}

const char *inv_kafka_header_string(const rd_kafka_message_t *msg, const char *name, char *buf, size_t buf_size) {
    rd_kafka_headers_t *hdrs;
    const void *val;
    size_t size;
    if (rd_kafka_message_headers(msg, &hdrs) || rd_kafka_header_get_last(hdrs, name, &val, &size) || buf_size == 0)
        return NULL;
    if (size >= buf_size)
        size = buf_size - 1;
    if (size)
        memcpy(buf, val, size);
    buf[size] = '\0';
    return buf;
}

int inv_kafka_default_instance_id(const char *group_id, char *out, size_t out_size, char *errstr, size_t errstr_size) {
    char host[256] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    const char *dir = getenv("XDG_RUNTIME_DIR");
    if (!dir || !*dir)
        dir = "/tmp";
    for (int slot = 0; slot < 1024; slot++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/inv-%s.%d.lock", dir, group_id, slot);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(errstr, errstr_size, "instance lock %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            /* keep fd open: the lock lives as long as the process */
            snprintf(out, out_size, "%s-%d", host, slot);
            return 0;
        }
        close(fd);
    }
    snprintf(errstr, errstr_size, "no free instance slot for group %s in %s", group_id, dir);
    return -1;
}
