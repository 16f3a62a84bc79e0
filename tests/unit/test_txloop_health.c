/*
 * inv_txloop_health: the Kafka part of every program's /healthz and
 * /metrics (inv-stock and the processors use this one copy). No broker:
 * health snapshots are built from librdkafka statistics documents.
 */
#include <jansson.h>
#include <string.h>

#include "inv_test.h"
#include "inv_txloop_health.h"

static const char consumer_up[] =
    "{\"type\":\"consumer\",\"brokers\":{\"127.0.0.1:9092/1\":{\"nodeid\":1,\"source\":\"learned\",\"state\":\"UP\"},"
    "\"GroupCoordinator\":{\"nodeid\":1,\"nodename\":\"127.0.0.1:9092\",\"source\":\"logical\",\"state\":\"UP\"}},"
    "\"cgrp\":{\"state\":\"up\"}}";

static const char producer_lost[] =
    "{\"brokers\":{\"127.0.0.1:9093/2\":{\"nodeid\":2,\"source\":\"learned\",\"state\":\"TRY_CONNECT\"},"
    "\"TxnCoordinator\":{\"nodeid\":2,\"nodename\":\"127.0.0.1:9093\",\"source\":\"logical\",\"state\":\"CONNECT\"}}}";

/* A snapshot of the clients' documents, stalled this long, with this error. */
static void snapshot(inv_txloop_health_t *h, const char *producer_doc, double stalled, const char *error) {
    memset(h, 0, sizeof(*h));
    inv_kafka_health_t *kh = inv_kafka_health_new();
    inv_kafka_health_update(kh, "consumer", consumer_up, strlen(consumer_up));
    if (producer_doc)
        inv_kafka_health_update(kh, "producer-0", producer_doc, strlen(producer_doc));
    inv_kafka_health_view(kh, &h->kafka);
    inv_kafka_health_destroy(kh);
    h->stalled_seconds = stalled;
    snprintf(h->last_error, sizeof(h->last_error), "%s", error);
}

static void test_a_healthy_loop_gives_no_reason(void) {
    inv_txloop_health_t h;
    snapshot(&h, NULL, 0, "");
    char reason[256] = "";
    json_t *k = inv_txloop_health_json(&h, 15, reason, sizeof(reason));
    INV_ASSERT(k != NULL);
    INV_ASSERT_EQ_STR("", reason);
    INV_ASSERT(json_is_true(json_object_get(json_object_get(json_object_get(k, "coordinators"), "consumer"), "up")));
    INV_ASSERT_EQ_STR("up", json_string_value(json_object_get(json_object_get(k, "brokers"), "127.0.0.1:9092/1")));
    json_decref(k);
}

static void test_an_unreachable_coordinator_is_the_reason(void) {
    inv_txloop_health_t h;
    snapshot(&h, producer_lost, 3, "");
    char reason[256] = "";
    json_t *k = inv_txloop_health_json(&h, 15, reason, sizeof(reason));
    INV_ASSERT_EQ_STR("the transaction coordinator of the producer-0 (broker 2) is unreachable: CONNECT", reason);
    json_decref(k);
    /* a reason found before (the caller's) is kept */
    snprintf(reason, sizeof(reason), "earlier");
    json_decref(inv_txloop_health_json(&h, 15, reason, sizeof(reason)));
    INV_ASSERT_EQ_STR("earlier", reason);
}

static void test_a_stall_longer_than_the_limit_wins_with_the_last_error(void) {
    inv_txloop_health_t h;
    snapshot(&h, producer_lost, 35.2, "commit_transaction: Broker: Not enough in-sync replicas");
    char reason[256] = "earlier";
    json_decref(inv_txloop_health_json(&h, 15, reason, sizeof(reason)));
    INV_ASSERT_EQ_STR(
        "no Kafka transaction committed for 35 s: commit_transaction: Broker: Not enough in-sync replicas", reason);
    snapshot(&h, NULL, 14.9, "");
    reason[0] = '\0';
    json_decref(inv_txloop_health_json(&h, 15, reason, sizeof(reason)));
    INV_ASSERT_EQ_STR("", reason);
}

static void test_stale_views_are_not_believed(void) {
    inv_txloop_health_t h;
    snapshot(&h, producer_lost, 0, "");
    h.kafka.clients[1].age_ms = INV_TXLOOP_HEALTH_MAX_AGE_MS + 1;
    char reason[256] = "";
    json_t *k = inv_txloop_health_json(&h, 15, reason, sizeof(reason));
    INV_ASSERT_EQ_STR("", reason);
    INV_ASSERT(json_object_get(json_object_get(k, "coordinators"), "producer-0") == NULL);
    INV_ASSERT(json_object_get(json_object_get(k, "brokers"), "127.0.0.1:9093/2") == NULL);
    json_decref(k);
}

static void test_prometheus_text_carries_the_program_prefix(void) {
    inv_txloop_health_t h;
    snapshot(&h, NULL, 2.5, "");
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT_EQ_INT(0, inv_txloop_health_prometheus(&h, "inv_processor", &out));
    INV_ASSERT_EQ_INT(0, inv_buf_append(&out, "", 1));
    INV_EXPECT(strstr(out.data, "# TYPE inv_processor_commit_stalled_seconds gauge\n") != NULL);
    INV_EXPECT(strstr(out.data, "\ninv_processor_commit_stalled_seconds 2.500\n") != NULL);
    INV_EXPECT(strstr(out.data, "inv_kafka_coordinator_up{client=\"consumer\",kind=\"group\"} 1\n") != NULL);
    inv_buf_free(&out);
}

int main(void) {
    INV_RUN(test_a_healthy_loop_gives_no_reason);
    INV_RUN(test_an_unreachable_coordinator_is_the_reason);
    INV_RUN(test_a_stall_longer_than_the_limit_wins_with_the_last_error);
    INV_RUN(test_stale_views_are_not_believed);
    INV_RUN(test_prometheus_text_carries_the_program_prefix);
    return INV_TEST_DONE();
}
