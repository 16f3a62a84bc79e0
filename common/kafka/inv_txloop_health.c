#include "inv_txloop_health.h"

#include <stdio.h>

json_t *inv_txloop_health_json(const inv_txloop_health_t *h, double max_stall_seconds, char *reason,
                               size_t reason_size) {
    json_t *coords = json_object(), *brokers = json_object();
    for (int c = 0; c < h->kafka.client_count; c++) {
        const inv_kafka_client_view_t *v = &h->kafka.clients[c];
        if (v->coordinator_kind == INV_COORD_NONE || v->age_ms > INV_TXLOOP_HEALTH_MAX_AGE_MS)
            continue;
        const char *kind = v->coordinator_kind == INV_COORD_GROUP ? "group" : "transaction";
        json_object_set_new(coords, v->client,
                            json_pack("{s:s, s:s, s:b, s:s}", "kind", kind, "coordinator", v->coordinator, "up",
                                      v->coordinator_up, "state", v->coordinator_state));
        if (!v->coordinator_up && !*reason)
            snprintf(reason, reason_size, "the %s coordinator of the %s (%s) is unreachable: %s", kind, v->client,
                     v->coordinator, v->coordinator_state);
    }
    /* brokers as the clients saw them lately */
    inv_kafka_health_view_t fresh = {0};
    for (int c = 0; c < h->kafka.client_count; c++)
        if (h->kafka.clients[c].age_ms <= INV_TXLOOP_HEALTH_MAX_AGE_MS)
            fresh.clients[fresh.client_count++] = h->kafka.clients[c];
    inv_kafka_broker_view_t b[INV_KAFKA_HEALTH_MAX_BROKERS];
    int n = inv_kafka_health_brokers(&fresh, b, INV_KAFKA_HEALTH_MAX_BROKERS);
    for (int i = 0; i < n; i++)
        json_object_set_new(brokers, b[i].name, json_string(inv_broker_state_name(b[i].state)));
    if (h->stalled_seconds > max_stall_seconds)
        snprintf(reason, reason_size, "no Kafka transaction committed for %.0f s%s%s", h->stalled_seconds,
                 h->last_error[0] ? ": " : "", h->last_error);
    return json_pack("{s:f, s:s, s:I, s:o, s:o}", "stalled_seconds", h->stalled_seconds, "last_error", h->last_error,
                     "producer_recreations", (json_int_t)h->producer_recreations, "coordinators", coords, "brokers",
                     brokers);
}

int inv_txloop_health_prometheus(const inv_txloop_health_t *h, const char *prefix, inv_buf_t *out) {
    char stalled[512];
    int n = snprintf(stalled, sizeof(stalled),
                     "# HELP %s_commit_stalled_seconds How long input has waited for a Kafka transaction to commit "
                     "(0: nothing waits)\n# TYPE %s_commit_stalled_seconds gauge\n%s_commit_stalled_seconds %.3f\n",
                     prefix, prefix, prefix, h->stalled_seconds);
    if (n < 0 || (size_t)n >= sizeof(stalled))
        return -1;
    return inv_kafka_health_prometheus(&h->kafka, out) || inv_buf_append(out, stalled, (size_t)n) ? -1 : 0;
}
