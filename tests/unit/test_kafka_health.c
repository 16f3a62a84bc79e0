/*
 * inv_kafka_health: librdkafka statistics documents (the shape of
 * STATISTICS.md, as librdkafka 2.0.2 writes them) into broker and
 * coordinator states, merged views and Prometheus text. No broker.
 */
#include <string.h>

#include "inv_kafka_health.h"
#include "inv_test.h"

/* A consumer in a group: broker 1 up, broker 2 lost, broker 3 never
 * needed; the bootstrap entry and the internal broker have no id. */
static const char consumer_up[] =
    "{\"name\":\"inv-stock#consumer-1\",\"type\":\"consumer\",\"brokers\":{"
    "\"127.0.0.1:19092/bootstrap\":{\"name\":\"127.0.0.1:19092/bootstrap\",\"nodeid\":-1,\"source\":\"configured\","
    "\"state\":\"UP\"},"
    "\":0/internal\":{\"name\":\":0/internal\",\"nodeid\":-1,\"source\":\"internal\",\"state\":\"UP\"},"
    "\"127.0.0.1:19092/1\":{\"name\":\"127.0.0.1:19092/1\",\"nodeid\":1,\"source\":\"learned\",\"state\":\"UP\"},"
    "\"127.0.0.1:19093/2\":{\"name\":\"127.0.0.1:19093/2\",\"nodeid\":2,\"source\":\"learned\",\"state\":\"DOWN\"},"
    "\"127.0.0.1:19094/3\":{\"name\":\"127.0.0.1:19094/3\",\"nodeid\":3,\"source\":\"learned\",\"state\":\"INIT\"},"
    "\"GroupCoordinator\":{\"name\":\"GroupCoordinator\",\"nodeid\":1,\"nodename\":\"127.0.0.1:19092\","
    "\"source\":\"logical\",\"state\":\"UP\"}},"
    "\"cgrp\":{\"state\":\"up\",\"join_state\":\"steady\"}}";

/* The same consumer looking for its coordinator. */
static const char consumer_wait[] =
    "{\"brokers\":{\"127.0.0.1:19092/1\":{\"nodeid\":1,\"source\":\"learned\",\"state\":\"UP\"},"
    "\"GroupCoordinator\":{\"nodeid\":-1,\"nodename\":\"\",\"source\":\"logical\",\"state\":\"DOWN\"}},"
    "\"cgrp\":{\"state\":\"wait-coord\"}}";

/* A transactional producer whose coordinator (broker 2) is gone, and which
 * is up to broker 3. */
static const char producer_lost[] =
    "{\"brokers\":{\"127.0.0.1:19093/2\":{\"nodeid\":2,\"source\":\"learned\",\"state\":\"TRY_CONNECT\"},"
    "\"127.0.0.1:19094/3\":{\"nodeid\":3,\"source\":\"learned\",\"state\":\"UP\"},"
    "\"TxnCoordinator\":{\"nodeid\":2,\"nodename\":\"127.0.0.1:19093\",\"source\":\"logical\",\"state\":\"CONNECT\"}},"
    "\"eos\":{\"txn_state\":\"BeginCommit\"}}";

/* A read_committed consumer on pos.sales: partition 0 consumed up to 90 of
 * a last stable offset of 100 (librdkafka's consumer_lag, from the
 * committed offset of the assignment, says 60); partition 1 assigned and
 * idle since (no app_offset: its committed offset stands); partition 2
 * assigned with nothing known yet; partition 3 not ours; -1 the topic's
 * unassigned queue; partition 4 new to the group and empty (the fetcher at
 * 0); partition 5 new, its 3 messages fetched and not consumed yet. */
static const char consumer_lag[] =
    "{\"type\":\"consumer\",\"brokers\":{},\"topics\":{\"pos.sales\":{\"topic\":\"pos.sales\",\"partitions\":{"
    "\"0\":{\"partition\":0,\"desired\":true,\"app_offset\":90,\"committed_offset\":40,\"hi_offset\":101,"
    "\"ls_offset\":100,\"consumer_lag\":60},"
    "\"1\":{\"partition\":1,\"desired\":true,\"app_offset\":-1001,\"committed_offset\":7,\"hi_offset\":7,"
    "\"ls_offset\":7,\"consumer_lag\":0},"
    "\"2\":{\"partition\":2,\"desired\":true,\"app_offset\":-1001,\"committed_offset\":-1001,\"hi_offset\":-1,"
    "\"ls_offset\":-1,\"consumer_lag\":-1},"
    "\"4\":{\"partition\":4,\"desired\":true,\"app_offset\":-1001,\"committed_offset\":-1001,\"fetchq_cnt\":0,"
    "\"next_offset\":0,\"hi_offset\":0,\"ls_offset\":0,\"consumer_lag\":-1},"
    "\"5\":{\"partition\":5,\"desired\":true,\"app_offset\":-1001,\"committed_offset\":-1001,\"fetchq_cnt\":3,"
    "\"next_offset\":3,\"hi_offset\":3,\"ls_offset\":3,\"consumer_lag\":-1},"
    "\"3\":{\"partition\":3,\"desired\":false,\"app_offset\":5,\"hi_offset\":9,\"ls_offset\":9},"
    "\"-1\":{\"partition\":-1,\"desired\":false}}}}}";

static const inv_kafka_broker_view_t *broker(const inv_kafka_client_view_t *v, int id) {
    for (int i = 0; i < v->broker_count; i++)
        if (v->brokers[i].id == id)
            return &v->brokers[i];
    return NULL;
}

static void test_real_brokers_only_with_their_connection_state(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    INV_ASSERT_EQ_INT(0, inv_kafka_health_update(h, "consumer", consumer_up, strlen(consumer_up)));
    inv_kafka_health_view_t v;
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(1, v.client_count);
    const inv_kafka_client_view_t *c = &v.clients[0];
    INV_ASSERT_EQ_STR("consumer", c->client);
    INV_ASSERT_EQ_INT(3, c->broker_count); /* not the bootstrap, internal or logical entries */
    INV_ASSERT_EQ_INT(INV_BROKER_UP, broker(c, 1)->state);
    INV_ASSERT_EQ_INT(INV_BROKER_DOWN, broker(c, 2)->state);
    INV_ASSERT_EQ_INT(INV_BROKER_IDLE, broker(c, 3)->state);
    INV_ASSERT_EQ_STR("127.0.0.1:19093/2", broker(c, 2)->name);
    INV_ASSERT(c->age_ms >= 0 && c->age_ms < 5000);
    inv_kafka_health_destroy(h);
}

static void test_group_coordinator_is_up_only_when_the_group_says_so(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    inv_kafka_health_view_t v;
    inv_kafka_health_update(h, "consumer", consumer_up, strlen(consumer_up));
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(INV_COORD_GROUP, v.clients[0].coordinator_kind);
    INV_ASSERT_EQ_INT(1, v.clients[0].coordinator_up);
    INV_ASSERT_EQ_STR("broker 1", v.clients[0].coordinator);
    /* a newer document replaces the client's view */
    inv_kafka_health_update(h, "consumer", consumer_wait, strlen(consumer_wait));
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(1, v.client_count);
    INV_ASSERT_EQ_INT(0, v.clients[0].coordinator_up);
    INV_ASSERT_EQ_STR("wait-coord", v.clients[0].coordinator_state);
    INV_ASSERT_EQ_STR("unknown", v.clients[0].coordinator);
    inv_kafka_health_destroy(h);
}

static void test_transaction_coordinator_lost(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    inv_kafka_health_view_t v;
    inv_kafka_health_update(h, "producer-0", producer_lost, strlen(producer_lost));
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(INV_COORD_TXN, v.clients[0].coordinator_kind);
    INV_ASSERT_EQ_INT(0, v.clients[0].coordinator_up);
    INV_ASSERT_EQ_STR("broker 2", v.clients[0].coordinator);
    INV_ASSERT_EQ_STR("CONNECT", v.clients[0].coordinator_state);
    INV_ASSERT_EQ_INT(INV_BROKER_DOWN, broker(&v.clients[0], 2)->state);
    inv_kafka_health_destroy(h);
}

static void test_a_document_that_does_not_parse_keeps_the_previous_view(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    inv_kafka_health_view_t v;
    inv_kafka_health_update(h, "consumer", consumer_up, strlen(consumer_up));
    INV_ASSERT_EQ_INT(-1, inv_kafka_health_update(h, "consumer", "{\"brokers\":", 11));
    INV_ASSERT_EQ_INT(-1, inv_kafka_health_update(h, "consumer", "[]", 2));
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(1, v.clients[0].coordinator_up);
    INV_ASSERT_EQ_INT(3, v.clients[0].broker_count);
    inv_kafka_health_destroy(h);
}

static void test_merged_brokers_up_wins_then_down(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    inv_kafka_health_view_t v;
    inv_kafka_health_update(h, "consumer", consumer_up, strlen(consumer_up));
    inv_kafka_health_update(h, "producer-0", producer_lost, strlen(producer_lost));
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(2, v.client_count);
    inv_kafka_broker_view_t b[INV_KAFKA_HEALTH_MAX_BROKERS];
    int n = inv_kafka_health_brokers(&v, b, INV_KAFKA_HEALTH_MAX_BROKERS);
    INV_ASSERT_EQ_INT(3, n);
    for (int i = 0; i < n; i++) {
        /* 1: up for the consumer; 2: lost by both; 3: idle for one, up for the other */
        inv_broker_state_t want = b[i].id == 2 ? INV_BROKER_DOWN : INV_BROKER_UP;
        INV_EXPECT(b[i].state == want, "broker %d: %s", b[i].id, inv_broker_state_name(b[i].state));
    }
    INV_ASSERT_EQ_INT(1, inv_kafka_health_brokers(&v, b, 1)); /* bounded by max */
    inv_kafka_health_destroy(h);
}

static void test_prometheus_text_has_one_series_per_state(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    inv_kafka_health_view_t v;
    inv_kafka_health_update(h, "consumer", consumer_up, strlen(consumer_up));
    inv_kafka_health_update(h, "producer-0", producer_lost, strlen(producer_lost));
    inv_kafka_health_view(h, &v);
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT_EQ_INT(0, inv_kafka_health_prometheus(&v, &out));
    INV_ASSERT_EQ_INT(0, inv_buf_append(&out, "", 1));
    const char *text = out.data;
    INV_EXPECT(strstr(text, "# TYPE inv_kafka_broker_state gauge\n") != NULL);
    INV_EXPECT(strstr(text, "inv_kafka_broker_state{client=\"consumer\",broker=\"127.0.0.1:19093/2\",state=\"down\"} "
                            "1\n") != NULL);
    INV_EXPECT(strstr(text, "inv_kafka_broker_state{client=\"consumer\",broker=\"127.0.0.1:19093/2\",state=\"up\"} "
                            "0\n") != NULL);
    INV_EXPECT(strstr(text, "inv_kafka_coordinator_up{client=\"consumer\",kind=\"group\"} 1\n") != NULL);
    INV_EXPECT(strstr(text, "inv_kafka_coordinator_up{client=\"producer-0\",kind=\"transaction\"} 0\n") != NULL);
    /* 3 + 2 brokers, 3 states each */
    int series = 0;
    for (const char *p = text; (p = strstr(p, "\ninv_kafka_broker_state{")) != NULL; p++)
        series++;
    INV_ASSERT_EQ_INT(15, series);
    inv_buf_free(&out);
    inv_kafka_health_destroy(h);
}

static void test_clients_beyond_the_bound_are_ignored(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    char name[16];
    for (int i = 0; i < INV_KAFKA_HEALTH_MAX_CLIENTS; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        INV_ASSERT_EQ_INT(0, inv_kafka_health_update(h, name, consumer_up, strlen(consumer_up)));
    }
    INV_ASSERT_EQ_INT(-1, inv_kafka_health_update(h, "one-more", consumer_up, strlen(consumer_up)));
    INV_ASSERT_EQ_INT(0, inv_kafka_health_update(h, "c0", consumer_wait, strlen(consumer_wait)));
    inv_kafka_health_view_t v;
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(INV_KAFKA_HEALTH_MAX_CLIENTS, v.client_count);
    inv_kafka_health_destroy(h);
}

static void test_consumer_lag_per_assigned_partition_from_its_position(void) {
    inv_kafka_health_t *h = inv_kafka_health_new();
    inv_kafka_health_view_t v;
    INV_ASSERT_EQ_INT(0, inv_kafka_health_update(h, "consumer", consumer_lag, strlen(consumer_lag)));
    /* a producer's partitions are its outputs: no lag */
    static const char producer[] = "{\"type\":\"producer\",\"brokers\":{},\"topics\":{\"out\":{\"partitions\":{"
                                   "\"0\":{\"partition\":0,\"desired\":true,\"app_offset\":1,\"hi_offset\":9}}}}}";
    INV_ASSERT_EQ_INT(0, inv_kafka_health_update(h, "producer-0", producer, strlen(producer)));
    inv_kafka_health_view(h, &v);
    INV_ASSERT_EQ_INT(5, v.clients[0].partition_count);
    INV_ASSERT_EQ_INT(0, v.clients[1].partition_count);
    const inv_kafka_partition_view_t *p = v.clients[0].partitions;
    int64_t lag[6] = {-2, -2, -2, -2, -2, -2};
    for (int i = 0; i < 5; i++) {
        INV_EXPECT(strcmp(p[i].topic, "pos.sales") == 0, "topic %s", p[i].topic);
        if (p[i].partition >= 0 && p[i].partition < 6)
            lag[p[i].partition] = p[i].lag;
    }
    INV_EXPECT(lag[3] == -2, "partition 3 is not assigned");
    INV_EXPECT(lag[4] == 0, "partition 4: lag %lld", (long long)lag[4]);
    INV_EXPECT(lag[5] == -1, "partition 5: lag %lld", (long long)lag[5]);
    INV_EXPECT(lag[0] == 10, "partition 0: lag %lld, expected 100 - 90", (long long)lag[0]);
    INV_EXPECT(lag[1] == 0, "partition 1: lag %lld", (long long)lag[1]);
    INV_EXPECT(lag[2] == -1, "partition 2: lag %lld", (long long)lag[2]);

    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT_EQ_INT(0, inv_kafka_health_prometheus(&v, &out));
    INV_ASSERT_EQ_INT(0, inv_buf_append(&out, "", 1));
    INV_EXPECT(strstr(out.data, "# TYPE inv_kafka_consumer_lag gauge\n") != NULL);
    INV_EXPECT(
        strstr(out.data, "inv_kafka_consumer_lag{client=\"consumer\",topic=\"pos.sales\",partition=\"0\"} 10\n"));
    INV_EXPECT(strstr(out.data, "inv_kafka_consumer_lag{client=\"consumer\",topic=\"pos.sales\",partition=\"1\"} 0\n"));
    INV_EXPECT(!strstr(out.data, "partition=\"2\""), "an unknown lag is left out");
    inv_buf_free(&out);
    inv_kafka_health_destroy(h);
}

int main(void) {
    INV_RUN(test_real_brokers_only_with_their_connection_state);
    INV_RUN(test_group_coordinator_is_up_only_when_the_group_says_so);
    INV_RUN(test_transaction_coordinator_lost);
    INV_RUN(test_a_document_that_does_not_parse_keeps_the_previous_view);
    INV_RUN(test_merged_brokers_up_wins_then_down);
    INV_RUN(test_prometheus_text_has_one_series_per_state);
    INV_RUN(test_clients_beyond_the_bound_are_ignored);
    INV_RUN(test_consumer_lag_per_assigned_partition_from_its_position);
    return INV_TEST_DONE();
}
