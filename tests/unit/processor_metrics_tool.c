/*
 * processor_metrics_tool: a processor's Prometheus exposition without a
 * broker, for tests/integration/test_deploy_manifests.py (the Grafana
 * dashboard must use exactly the series the programs serve). Not a test
 * itself.
 *
 *   processor_metrics_tool   prints GET /metrics of inv_processor_metrics,
 *                            as inv-sale serves it on --http, to stdout
 *
 * Without a broker there is no loop, whose series come after the
 * registered ones: they are rendered here the way the HTTP handler renders
 * them (inv_txloop_health_prometheus), from a consumer's statistics
 * document of the shape librdkafka 2.0.2 writes, with one assigned
 * partition. Exit 0, or 1 with a line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_conf.h"
#include "inv_processor_metrics.h"
#include "inv_test_http.h"
#include "inv_txloop_health.h"

static const char consumer_stats[] =
    "{\"type\":\"consumer\",\"brokers\":{\"127.0.0.1:9092/1\":{\"nodeid\":1,\"source\":\"learned\",\"state\":\"UP\"},"
    "\"GroupCoordinator\":{\"nodeid\":1,\"nodename\":\"127.0.0.1:9092\",\"source\":\"logical\",\"state\":\"UP\"}},"
    "\"topics\":{\"pos.sales\":{\"partitions\":{\"0\":{\"partition\":0,\"desired\":true,\"app_offset\":5,"
    "\"committed_offset\":5,\"ls_offset\":7,\"hi_offset\":7}}}},\"cgrp\":{\"state\":\"up\"}}";

int main(void) {
    char err[512];
    inv_conf_t *conf = inv_conf_new();
    if (!conf || inv_conf_set(conf, "http.listen", "127.0.0.1:0", err, sizeof(err)) != 0) {
        fprintf(stderr, "processor_metrics_tool: conf: %s\n", conf ? err : "out of memory");
        inv_conf_destroy(conf);
        return 1;
    }
    inv_processor_metrics_t *m = NULL;
    if (inv_processor_metrics_start(&m, conf, "sale", err, sizeof(err)) != 0) {
        fprintf(stderr, "processor_metrics_tool: %s\n", err);
        inv_conf_destroy(conf);
        return 1;
    }
    int rc = 1;
    char *reply = http_get(inv_processor_metrics_http_port(m), "/metrics");
    char *body = reply ? strstr(reply, "\r\n\r\n") : NULL;
    inv_kafka_health_t *kh = inv_kafka_health_new();
    inv_txloop_health_t h;
    memset(&h, 0, sizeof(h));
    inv_buf_t loop;
    inv_buf_init(&loop);
    if (!reply || strncmp(reply, "HTTP/1.1 200", 12) != 0 || !body) {
        fprintf(stderr, "processor_metrics_tool: GET /metrics: %s\n", reply ? reply : strerror(errno));
    } else if (!kh || inv_kafka_health_update(kh, "consumer", consumer_stats, strlen(consumer_stats)) != 0) {
        fprintf(stderr, "processor_metrics_tool: the statistics document does not parse\n");
    } else {
        inv_kafka_health_view(kh, &h.kafka);
        if (inv_txloop_health_prometheus(&h, "inv_processor", &loop) == 0 && fputs(body + 4, stdout) >= 0 &&
            fwrite(loop.data, 1, loop.len, stdout) == loop.len && fflush(stdout) == 0)
            rc = 0;
    }
    inv_buf_free(&loop);
    inv_kafka_health_destroy(kh);
    free(reply);
    inv_processor_metrics_destroy(m);
    inv_conf_destroy(conf);
    return rc;
}
