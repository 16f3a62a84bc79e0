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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "inv_conf.h"
#include "inv_keeper_metrics.h"

/* GET path on 127.0.0.1:port; the whole reply (status line, headers, body)
 * into a malloc'ed string, NULL on a socket error. */
static char *http_get(int port, const char *path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256];
    int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = recv(fd, buf + got, cap - got - 1, 0)) > 0) {
        got += (size_t)n;
        if (cap - got - 1 == 0) {
            char *p = realloc(buf, cap *= 2);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    close(fd);
    if (buf)
        buf[got] = '\0';
    return buf;
}

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
