/*
 * inv_test_http: a blocking HTTP/1.1 GET on 127.0.0.1, for the test tools
 * that print a program's /metrics without a broker (keeper_metrics_tool,
 * processor_metrics_tool). Not for the programs.
 */
#ifndef INV_TEST_HTTP_H
#define INV_TEST_HTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* GET path on 127.0.0.1:port; the whole reply (status line, headers, body)
 * into a malloc'ed string, NULL on a socket error. */
static inline char *http_get(int port, const char *path) {
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

#endif
