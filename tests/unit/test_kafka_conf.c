/* inv_kafka's client defaults. Consumers: a small prefetch whose sizes
 * follow what the user sets; librdkafka refuses a consumer whose
 * fetch.max.bytes is below its message.max.bytes, so setting either one
 * alone must still give a client. Producers: a transactional one lingers
 * for commit.interval.ms (the commit flushes) in batches of 256 KiB,
 * others 5 ms. No broker needed: rd_kafka_new only checks the
 * configuration. */
#include <stdlib.h>
#include <string.h>

#include "inv_conf.h"
#include "inv_kafka.h"
#include "inv_test.h"

static char errstr[512];

/* Sets brokers and -X <k>=<v> for each pair in c. */
static void conf_set_pairs(inv_conf_t *c, const char *const *kv) {
    inv_conf_set(c, "brokers", "127.0.0.1:1", errstr, sizeof(errstr));
    for (size_t i = 0; kv && kv[i]; i += 2)
        INV_ASSERT(inv_conf_set(c, kv[i], kv[i + 1], errstr, sizeof(errstr)) == 0, "%s", errstr);
}

/* rk's value of prop, in out (empty when rk is NULL: no client could be
 * made); rk is destroyed. */
static void prop_of(rd_kafka_t *rk, const char *prop, char *out, size_t out_size) {
    out[0] = '\0';
    if (!rk)
        return;
    size_t n = out_size;
    rd_kafka_conf_get(rd_kafka_conf(rk), prop, out, &n);
    rd_kafka_destroy(rk);
}

/* A consumer made with the pairs kv (kafka.<k> for librdkafka's): the value
 * of prop it ended up with. */
static void consumer_prop(const char *const *kv, const char *prop, char *out, size_t out_size) {
    inv_conf_t *c = inv_conf_new();
    conf_set_pairs(c, kv);
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(c, &ks);
    prop_of(inv_kafka_consumer_new(&ks, "g", NULL, NULL, errstr, sizeof(errstr)), prop, out, out_size);
    inv_kafka_settings_free(&ks);
    inv_conf_destroy(c);
}

/* The same for a producer, transactional when txn_id is set. */
static void producer_prop(const char *const *kv, const char *txn_id, const char *prop, char *out, size_t out_size) {
    inv_conf_t *c = inv_conf_new();
    conf_set_pairs(c, kv);
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(c, &ks);
    rd_kafka_t *rk = inv_kafka_producer_new(&ks, txn_id, NULL, NULL, errstr, sizeof(errstr));
    inv_kafka_settings_free(&ks);
    INV_ASSERT(rk != NULL, "no producer: %s", errstr);
    prop_of(rk, prop, out, out_size);
    inv_conf_destroy(c);
}

static void test_transactional_producers_linger_for_the_commit_interval(void) {
    char v[64];
    producer_prop(NULL, "t", "linger.ms", v, sizeof(v));
    INV_ASSERT_EQ_STR("100", v);
    const char *kv[] = {"commit.interval.ms", "250", NULL};
    producer_prop(kv, "t", "linger.ms", v, sizeof(v));
    INV_ASSERT_EQ_STR("250", v);
    const char *user[] = {"kafka.linger.ms", "7", NULL};
    producer_prop(user, "t", "linger.ms", v, sizeof(v));
    INV_ASSERT_EQ_STR("7", v);
    /* librdkafka refuses a linger.ms not below message.timeout.ms */
    const char *timeout[] = {"kafka.message.timeout.ms", "50", NULL};
    producer_prop(timeout, "t", "linger.ms", v, sizeof(v));
    INV_ASSERT_EQ_STR("49", v);
    producer_prop(NULL, NULL, "linger.ms", v, sizeof(v));
    INV_ASSERT_EQ_STR("5", v);
    /* what waits for the commit goes out in batches of 256 KiB at most */
    producer_prop(NULL, "t", "batch.size", v, sizeof(v));
    INV_ASSERT_EQ_STR("262144", v);
    const char *bigger[] = {"kafka.batch.size", "1000000", NULL};
    producer_prop(bigger, "t", "batch.size", v, sizeof(v));
    INV_ASSERT_EQ_STR("1000000", v);
}

static void test_defaults_fetch_512_kib(void) {
    char v[64];
    consumer_prop(NULL, "fetch.max.bytes", v, sizeof(v));
    INV_ASSERT_EQ_STR("524288", v);
    consumer_prop(NULL, "queued.max.messages.kbytes", v, sizeof(v));
    INV_ASSERT_EQ_STR("2048", v);
}

static void test_a_smaller_fetch_alone_is_accepted(void) {
    const char *kv[] = {"kafka.fetch.max.bytes", "262144", NULL};
    char v[64];
    consumer_prop(kv, "message.max.bytes", v, sizeof(v));
    INV_ASSERT(strcmp(v, "262144") == 0, "no consumer with fetch.max.bytes=262144 alone (%s): %s", v, errstr);
}

static void test_a_larger_message_size_alone_raises_the_fetch(void) {
    const char *kv[] = {"kafka.message.max.bytes", "2000000", NULL};
    char v[64];
    consumer_prop(kv, "fetch.max.bytes", v, sizeof(v));
    INV_ASSERT(strcmp(v, "2000000") == 0, "no consumer with message.max.bytes=2000000 alone (%s): %s", v, errstr);
}

/* acks=all (every in-sync replica), which idempotence implies: with
 * min.insync.replicas=2 on three brokers a write survives one's loss. */
static void test_producers_wait_for_every_in_sync_replica(void) {
    char v[64];
    producer_prop(NULL, "t", "acks", v, sizeof(v));
    INV_ASSERT(strcmp(v, "-1") == 0 || strcmp(v, "all") == 0, "transactional producer acks=%s", v);
    producer_prop(NULL, NULL, "acks", v, sizeof(v));
    INV_ASSERT(strcmp(v, "-1") == 0 || strcmp(v, "all") == 0, "producer acks=%s", v);
}

int main(void) {
    INV_RUN(test_producers_wait_for_every_in_sync_replica);
    INV_RUN(test_defaults_fetch_512_kib);
    INV_RUN(test_a_smaller_fetch_alone_is_accepted);
    INV_RUN(test_a_larger_message_size_alone_raises_the_fetch);
    INV_RUN(test_transactional_producers_linger_for_the_commit_interval);
    return INV_TEST_DONE();
}
