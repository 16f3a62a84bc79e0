/*
 * view_metrics_tool: inv-view's Prometheus exposition without a broker, for
 * tests/integration/test_deploy_manifests.py (the Grafana dashboard must use
 * exactly the series inv-view serves). Not a test itself.
 *
 *   view_metrics_tool      prints GET /metrics of inv-view (one partition per
 *                          topic) to stdout
 *
 * Exit 0, or 1 with a line on stderr.
 */
#include <stdio.h>

#include "inv_view.h"

int main(void) {
    char err[512];
    inv_metrics_buf_t buf = {0};
    if (inv_view_metrics_sample(&buf, err, sizeof(err)) != 0) {
        fprintf(stderr, "view_metrics_tool: %s\n", err);
        return 1;
    }
    fwrite(buf.data, 1, buf.len, stdout);
    inv_metrics_buf_free(&buf);
    return 0;
}
