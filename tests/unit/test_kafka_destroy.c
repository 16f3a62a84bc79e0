/*
 * inv_kafka_destroy_bounded: a librdkafka handle whose rd_kafka_destroy
 * hangs must not hang the program.
 *
 * The hang of librdkafka 2.0.x (librdkafka#4362: a leaked toppar reference
 * keeps a broker thread, and so rd_kafka_destroy, waiting forever) is made
 * deterministic here the documented way: a consumed message that is not
 * destroyed holds its toppar, so rd_kafka_destroy of its consumer does not
 * return while the message lives. The first test checks that premise with a
 * plain rd_kafka_destroy; releasing the message afterwards lets each hung
 * destroy finish, so the test leaves no handle, thread or memory behind
 * (rd_kafka_wait_destroyed checks it, and LeakSanitizer in build-san needs no
 * suppression).
 *
 * No broker: each consumer brings its own librdkafka mock cluster
 * (test.mock.num.brokers), which a plain producer fills.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inv_kafka.h"
#include "inv_test.h"
#include "inv_time.h"

#define TOPIC "destroy.in"
#define BOUND_MS 500
#define WATCHDOG_S 60 /* without the bound the test hangs: fail it instead */

static void sleep_ms(int ms) { nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL); }

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    for (size_t i = 0; props[i]; i += 2)
        if (rd_kafka_conf_set(kc, props[i], props[i + 1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s=%s: %s\n", props[i], props[i + 1], errstr);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    rd_kafka_t *rk = rd_kafka_new(type, kc, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(kc);
    }
    return rk;
}

/* A consumer on its own one-broker mock cluster, assigned to TOPIC [0],
 * which holds one message. */
static rd_kafka_t *consumer_with_one_message(void) {
    static const char *const cprops[] = {"test.mock.num.brokers",
                                         "1",
                                         "group.id",
                                         "destroy-test",
                                         "enable.auto.commit",
                                         "false",
                                         "log_level",
                                         "3",
                                         NULL};
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, cprops);
    if (!c)
        return NULL;
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(c);
    if (!mc || rd_kafka_mock_topic_create(mc, TOPIC, 1, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_destroy(c);
        return NULL;
    }
    const char *const pprops[] = {"bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), "log_level", "3", NULL};
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, pprops);
    int ok = p &&
             rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE("x", 1),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR &&
             rd_kafka_flush(p, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (p)
        rd_kafka_destroy(p);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ok = ok && rd_kafka_assign(c, parts) == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(parts);
    if (!ok) {
        rd_kafka_destroy(c);
        return NULL;
    }
    return c;
}

/* Polls c for its message and returns it undestroyed, after which c is
 * closed as the programs close theirs before destroying. NULL when none
 * came within 10 s. */
static rd_kafka_message_t *hold_a_message(rd_kafka_t *c) {
    rd_kafka_message_t *held = NULL;
    for (double until = inv_time_mono_s() + 10; !held && inv_time_mono_s() < until;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (m && m->err) {
            rd_kafka_message_destroy(m);
            m = NULL;
        }
        held = m;
    }
    rd_kafka_assign(c, NULL);
    rd_kafka_consumer_close(c);
    return held;
}

typedef struct {
    rd_kafka_t *rk;
    volatile sig_atomic_t returned;
} plain_destroy_t;

static void *plain_destroy_main(void *arg) {
    plain_destroy_t *d = arg;
    rd_kafka_destroy(d->rk);
    d->returned = 1;
    return NULL;
}

static void test_a_held_message_makes_plain_destroy_hang(void) {
    rd_kafka_t *c = consumer_with_one_message();
    INV_ASSERT(c != NULL, "consumer on a mock cluster");
    rd_kafka_message_t *held = hold_a_message(c);
    INV_ASSERT(held != NULL, "a message from the mock cluster");
    static plain_destroy_t d; /* outlives this test if the destroy never returns */
    d.rk = c;
    d.returned = 0;
    pthread_t t;
    INV_ASSERT_EQ_INT(0, pthread_create(&t, NULL, plain_destroy_main, &d));
    for (int waited = 0; waited < 3000 && !d.returned; waited += 50)
        sleep_ms(50);
    int hung = !d.returned;
    rd_kafka_message_destroy(held);
    double t0 = inv_time_mono_s();
    for (int waited = 0; waited < 10000 && !d.returned; waited += 50)
        sleep_ms(50);
    INV_ASSERT(d.returned, "rd_kafka_destroy returns once the message is released");
    pthread_join(t, NULL);
    INV_ASSERT(hung, "rd_kafka_destroy returned within 3 s while a message was held: the premise of the "
                     "next test is gone");
    fprintf(stderr, "     plain destroy: hung 3 s while the message was held, returned %.2f s after its release\n",
            inv_time_mono_s() - t0);
}

static void test_a_hanging_destroy_returns_minus_one_after_the_timeout(void) {
    rd_kafka_t *c = consumer_with_one_message();
    INV_ASSERT(c != NULL, "consumer on a mock cluster");
    rd_kafka_message_t *held = hold_a_message(c);
    INV_ASSERT(held != NULL, "a message from the mock cluster");
    double t0 = inv_time_mono_s();
    int rc = inv_kafka_destroy_bounded(c, "the test consumer", BOUND_MS);
    double took = inv_time_mono_s() - t0;
    c = NULL; /* abandoned to the helper thread */
    rd_kafka_message_destroy(held);
    /* the helper's destroy now finishes: every handle is gone */
    int all_gone = rd_kafka_wait_destroyed(10000);
    INV_ASSERT_EQ_INT(-1, rc);
    INV_ASSERT(took >= BOUND_MS / 1000.0 - 0.01 && took < 3.0, "returned after %.3f s for a %d ms bound", took,
               BOUND_MS);
    INV_ASSERT_EQ_INT(0, all_gone);
}

static void test_a_normal_destroy_returns_zero_at_once(void) {
    rd_kafka_t *c = consumer_with_one_message();
    INV_ASSERT(c != NULL, "consumer on a mock cluster");
    rd_kafka_message_t *m = hold_a_message(c);
    INV_ASSERT(m != NULL, "a message from the mock cluster");
    rd_kafka_message_destroy(m);
    double t0 = inv_time_mono_s();
    int rc = inv_kafka_destroy_bounded(c, "the test consumer", 10000);
    double took = inv_time_mono_s() - t0;
    INV_ASSERT_EQ_INT(0, rc);
    INV_ASSERT(took < 2.0, "took %.3f s", took);
    INV_ASSERT_EQ_INT(0, rd_kafka_wait_destroyed(1000));
}

static void test_a_null_handle_is_nothing_to_destroy(void) {
    INV_ASSERT_EQ_INT(0, inv_kafka_destroy_bounded(NULL, "nothing", 10));
}

static void on_watchdog(int sig) {
    (void)sig;
    static const char msg[] = "FAIL test_kafka_destroy: still running after the watchdog's time: a destroy hung\n";
    if (write(2, msg, sizeof(msg) - 1) < 0) {
    }
    _exit(1);
}

int main(void) {
    signal(SIGALRM, on_watchdog);
    alarm(WATCHDOG_S);
    INV_RUN(test_a_null_handle_is_nothing_to_destroy);
    INV_RUN(test_a_normal_destroy_returns_zero_at_once);
    INV_RUN(test_a_held_message_makes_plain_destroy_hang);
    INV_RUN(test_a_hanging_destroy_returns_minus_one_after_the_timeout);
    return INV_TEST_DONE();
}
