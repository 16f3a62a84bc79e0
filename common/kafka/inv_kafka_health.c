#include "inv_kafka_health.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_time.h"

typedef struct {
    inv_kafka_client_view_t view;
    int64_t taken_ms; /* monotonic */
} client_slot_t;

struct inv_kafka_health_s {
    pthread_mutex_t lock;
    int count;
    client_slot_t slots[INV_KAFKA_HEALTH_MAX_CLIENTS];
};

const char *inv_broker_state_name(inv_broker_state_t s) {
    switch (s) {
    case INV_BROKER_UP: return "up";
    case INV_BROKER_DOWN: return "down";
    default: return "idle";
    }
}

inv_kafka_health_t *inv_kafka_health_new(void) {
    inv_kafka_health_t *h = calloc(1, sizeof(*h));
    if (h && pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    return h;
}

void inv_kafka_health_destroy(inv_kafka_health_t *h) {
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* librdkafka's broker states (rd_kafka_broker_state_names): INIT is a
 * broker never connected to; UP and UPDATE are connected; the rest are
 * on the way to a connection or have lost it. */
static inv_broker_state_t broker_state(const char *s) {
    if (!s || strcmp(s, "INIT") == 0)
        return INV_BROKER_IDLE;
    if (strcmp(s, "UP") == 0 || strcmp(s, "UPDATE") == 0)
        return INV_BROKER_UP;
    return INV_BROKER_DOWN;
}

static int is_str(const json_t *j, const char *s) { return json_is_string(j) && strcmp(json_string_value(j), s) == 0; }

static void copy_str(char *dst, size_t size, const char *src) { snprintf(dst, size, "%s", src ? src : ""); }

/* The logical broker `name` ("GroupCoordinator", "TxnCoordinator") into
 * the view's coordinator fields. */
static void coordinator_from(inv_kafka_client_view_t *v, json_t *brokers, const char *name) {
    json_t *b = json_object_get(brokers, name);
    const char *state = json_string_value(json_object_get(b, "state"));
    json_int_t id = json_integer_value(json_object_get(b, "nodeid"));
    const char *node = json_string_value(json_object_get(b, "nodename"));
    v->coordinator_up = broker_state(state) == INV_BROKER_UP;
    copy_str(v->coordinator_state, sizeof(v->coordinator_state), state ? state : "none");
    if (id >= 0 && json_is_integer(json_object_get(b, "nodeid")))
        snprintf(v->coordinator, sizeof(v->coordinator), "broker %lld", (long long)id);
    else
        copy_str(v->coordinator, sizeof(v->coordinator), node && *node ? node : "unknown");
}

static int64_t int_field(json_t *obj, const char *name) {
    json_t *j = json_object_get(obj, name);
    return json_is_integer(j) ? (int64_t)json_integer_value(j) : -1;
}

/* The partitions assigned to a consumer, with their lag (see
 * inv_kafka_partition_view_t). */
static void partitions_from(inv_kafka_client_view_t *v, json_t *topics) {
    const char *tname, *pname;
    json_t *t, *p;
    v->partition_count = 0;
    json_object_foreach(topics, tname, t) {
        json_object_foreach(json_object_get(t, "partitions"), pname, p) {
            int64_t id = int_field(p, "partition");
            /* -1 is the topic's unassigned queue; desired: assigned to us */
            if (id < 0 || !json_is_true(json_object_get(p, "desired")) ||
                v->partition_count >= INV_KAFKA_HEALTH_MAX_PARTITIONS)
                continue;
            int64_t end = int_field(p, "ls_offset");
            if (end < 0)
                end = int_field(p, "hi_offset");
            int64_t at = int_field(p, "app_offset");
            if (at < 0)
                at = int_field(p, "committed_offset");
            if (at < 0 && int_field(p, "fetchq_cnt") == 0)
                at = int_field(p, "next_offset"); /* nothing fetched waits: the fetcher is at the position */
            inv_kafka_partition_view_t *pv = &v->partitions[v->partition_count++];
            copy_str(pv->topic, sizeof(pv->topic), tname);
            pv->partition = (int32_t)id;
            pv->lag = end < 0 || at < 0 ? -1 : end > at ? end - at : 0;
        }
    }
}

static int parse(inv_kafka_client_view_t *v, const char *json, size_t len) {
    json_t *doc = json_loadb(json, len, 0, NULL);
    json_t *brokers = json_object_get(doc, "brokers");
    if (!json_is_object(brokers)) {
        json_decref(doc);
        return -1;
    }
    const char *key;
    json_t *b;
    v->broker_count = 0;
    json_object_foreach(brokers, key, b) {
        json_t *id = json_object_get(b, "nodeid");
        /* real brokers only: bootstrap entries, the internal broker and
         * the logical coordinators have no id of their own */
        if (!json_is_integer(id) || json_integer_value(id) < 0 || is_str(json_object_get(b, "source"), "logical") ||
            v->broker_count >= INV_KAFKA_HEALTH_MAX_BROKERS)
            continue;
        inv_kafka_broker_view_t *bv = &v->brokers[v->broker_count++];
        copy_str(bv->name, sizeof(bv->name), key);
        bv->id = (int32_t)json_integer_value(id);
        bv->state = broker_state(json_string_value(json_object_get(b, "state")));
    }
    if (is_str(json_object_get(doc, "type"), "consumer"))
        partitions_from(v, json_object_get(doc, "topics"));
    json_t *cgrp = json_object_get(doc, "cgrp");
    if (json_is_object(cgrp)) {
        v->coordinator_kind = INV_COORD_GROUP;
        coordinator_from(v, brokers, "GroupCoordinator");
        /* the group's own state says whether it found its coordinator */
        const char *state = json_string_value(json_object_get(cgrp, "state"));
        v->coordinator_up = v->coordinator_up && state && strcmp(state, "up") == 0;
        if (state && strcmp(state, "up") != 0)
            copy_str(v->coordinator_state, sizeof(v->coordinator_state), state);
    } else if (json_object_get(brokers, "TxnCoordinator")) {
        v->coordinator_kind = INV_COORD_TXN;
        coordinator_from(v, brokers, "TxnCoordinator");
    } else {
        v->coordinator_kind = INV_COORD_NONE;
    }
    json_decref(doc);
    return 0;
}

int inv_kafka_health_update(inv_kafka_health_t *h, const char *client, const char *json, size_t len) {
    inv_kafka_client_view_t v;
    memset(&v, 0, sizeof(v));
    copy_str(v.client, sizeof(v.client), client);
    if (parse(&v, json, len) != 0)
        return -1;
    int64_t now = inv_time_mono_ms();
    pthread_mutex_lock(&h->lock);
    int i = 0;
    while (i < h->count && strcmp(h->slots[i].view.client, v.client) != 0)
        i++;
    int rc = -1;
    if (i < INV_KAFKA_HEALTH_MAX_CLIENTS) {
        if (i == h->count)
            h->count++;
        h->slots[i].view = v;
        h->slots[i].taken_ms = now;
        rc = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void inv_kafka_health_view(inv_kafka_health_t *h, inv_kafka_health_view_t *out) {
    int64_t now = inv_time_mono_ms();
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&h->lock);
    out->client_count = h->count;
    for (int i = 0; i < h->count; i++) {
        out->clients[i] = h->slots[i].view;
        out->clients[i].age_ms = now - h->slots[i].taken_ms;
    }
    pthread_mutex_unlock(&h->lock);
}

int inv_kafka_health_brokers(const inv_kafka_health_view_t *v, inv_kafka_broker_view_t *out, int max) {
    int n = 0;
    for (int c = 0; c < v->client_count; c++) {
        for (int b = 0; b < v->clients[c].broker_count; b++) {
            const inv_kafka_broker_view_t *bv = &v->clients[c].brokers[b];
            int i = 0;
            while (i < n && out[i].id != bv->id)
                i++;
            if (i == n) {
                if (n == max)
                    continue;
                out[n++] = *bv;
            } else if (bv->state == INV_BROKER_UP ||
                       (bv->state == INV_BROKER_DOWN && out[i].state == INV_BROKER_IDLE)) {
                out[i].state = bv->state;
            }
        }
    }
    return n;
}

static int appendf(inv_buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(inv_buf_t *out, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    return inv_buf_append(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int inv_kafka_health_prometheus(const inv_kafka_health_view_t *v, inv_buf_t *out) {
    static const inv_broker_state_t states[] = {INV_BROKER_IDLE, INV_BROKER_UP, INV_BROKER_DOWN};
    int rc = appendf(out, "# HELP inv_kafka_broker_state Each Kafka client's connection to each broker: up, down "
                          "(lost, or being made), idle (never needed: librdkafka connects only where it must)\n"
                          "# TYPE inv_kafka_broker_state gauge\n");
    for (int c = 0; !rc && c < v->client_count; c++)
        for (int b = 0; !rc && b < v->clients[c].broker_count; b++)
            for (size_t s = 0; !rc && s < sizeof(states) / sizeof(states[0]); s++)
                rc = appendf(out, "inv_kafka_broker_state{client=\"%s\",broker=\"%s\",state=\"%s\"} %d\n",
                             v->clients[c].client, v->clients[c].brokers[b].name, inv_broker_state_name(states[s]),
                             v->clients[c].brokers[b].state == states[s]);
    if (!rc)
        rc = appendf(out, "# HELP inv_kafka_coordinator_up 1 while a client's coordinator (the consumer group's, the "
                          "transactional producer's) is known and connected\n"
                          "# TYPE inv_kafka_coordinator_up gauge\n");
    for (int c = 0; !rc && c < v->client_count; c++)
        if (v->clients[c].coordinator_kind != INV_COORD_NONE)
            rc = appendf(out, "inv_kafka_coordinator_up{client=\"%s\",kind=\"%s\"} %d\n", v->clients[c].client,
                         v->clients[c].coordinator_kind == INV_COORD_GROUP ? "group" : "transaction",
                         v->clients[c].coordinator_up);
    if (!rc)
        rc = appendf(out, "# HELP inv_kafka_statistics_age_seconds Age of a client's last statistics (every "
                          "statistics.interval.ms while it is polled; a client blocked in a commit is not)\n"
                          "# TYPE inv_kafka_statistics_age_seconds gauge\n");
    for (int c = 0; !rc && c < v->client_count; c++)
        rc = appendf(out, "inv_kafka_statistics_age_seconds{client=\"%s\"} %.3f\n", v->clients[c].client,
                     (double)v->clients[c].age_ms / 1000.0);
    if (!rc)
        rc = appendf(out, "# HELP inv_kafka_consumer_lag Messages of an assigned input partition after the consumer's "
                          "position (to the last stable offset), from the statistics\n"
                          "# TYPE inv_kafka_consumer_lag gauge\n");
    for (int c = 0; !rc && c < v->client_count; c++)
        for (int i = 0; !rc && i < v->clients[c].partition_count; i++)
            if (v->clients[c].partitions[i].lag >= 0)
                rc = appendf(out, "inv_kafka_consumer_lag{client=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n",
                             v->clients[c].client, v->clients[c].partitions[i].topic,
                             (int)v->clients[c].partitions[i].partition, (long long)v->clients[c].partitions[i].lag);
    return rc ? -1 : 0;
}
