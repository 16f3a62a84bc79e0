/*
 * keeper_metrics_tool: inv-stock's Prometheus exposition without a broker,
 * for tests/integration/test_deploy_manifests.py (the Grafana dashboard must
 * use exactly the series inv-stock serves). Not a test itself.
 *
 *   keeper_metrics_tool      prints GET /metrics of inv_keeper_metrics, as
 *                            inv-stock serves it on --http, to stdout
 *
 * The series inv-stock registers only later are made to appear the way the
 * keeper makes them: a partition assigned (per-partition lag and restoring)
 * and one failed LMDB write (an lmdb_errors_total error label). Exit 0, or 1
 * with a line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_conf.h"
#include "inv_keeper_metrics.h"
#include "inv_test_http.h"

int main(void) {
    char err[512];
    inv_conf_t *conf = inv_conf_new();
    if (!conf || inv_conf_set(conf, "http.listen", "127.0.0.1:0", err, sizeof(err)) != 0) {
        fprintf(stderr, "keeper_metrics_tool: conf: %s\n", conf ? err : "out of memory");
        inv_conf_destroy(conf);
        return 1;
    }
    inv_keeper_metrics_t *m = NULL;
    if (inv_keeper_metrics_new(&m, conf, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "keeper_metrics_tool: %s\n", err);
        inv_conf_destroy(conf);
        return 1;
    }
    inv_keeper_metrics_partition_assigned(m, 0);
    inv_keeper_metrics_state_error(m, EIO);
    inv_keeper_metrics_state_ok(m);

    int rc = 1;
    char *reply = http_get(inv_keeper_metrics_http_port(m), "/metrics");
    char *body = reply ? strstr(reply, "\r\n\r\n") : NULL;
    if (!reply || strncmp(reply, "HTTP/1.1 200", 12) != 0 || !body)
        fprintf(stderr, "keeper_metrics_tool: GET /metrics: %s\n", reply ? reply : strerror(errno));
    else if (fputs(body + 4, stdout) >= 0 && fflush(stdout) == 0)
        rc = 0;
    free(reply);
    inv_keeper_metrics_destroy(m);
    inv_conf_destroy(conf);
    return rc;
}
