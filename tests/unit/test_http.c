/* inv_http: routing, decoding, the server's own answers and listen errors,
 * checked with a plain socket client so the test needs nothing installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "inv_http.h"
#include "inv_metrics.h"
#include "inv_test.h"

static char errstr[512];

/* ---- a minimal HTTP/1.1 client ---- */

typedef struct {
    int status;
    char head[4096]; /* status line and headers */
    char body[8192];
    size_t body_len;
} reply_t;

/* Sends raw request text to 127.0.0.1:port (or [::1] with v6) and reads
 * the reply until the server closes, giving up on a connect, send or recv
 * that takes longer than timeout_ms. Returns 0, or -1 on a socket error or
 * a timeout. */
static int exchange_within(int port, int v6, const char *request, int timeout_ms, reply_t *out) {
    memset(out, 0, sizeof(*out));
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect() too */
    int rc;
    if (v6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        a.sin6_addr = in6addr_loopback;
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    }
    size_t len = strlen(request);
    if (rc != 0 || send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    static char raw[sizeof(out->head) + sizeof(out->body)];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(raw) - 1 && (n = recv(fd, raw + got, sizeof(raw) - 1 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    raw[got] = '\0';
    char *end = strstr(raw, "\r\n\r\n");
    if (!end || sscanf(raw, "HTTP/1.1 %d", &out->status) != 1)
        return -1;
    size_t head_len = (size_t)(end - raw) + 2;
    if (head_len >= sizeof(out->head))
        return -1;
    memcpy(out->head, raw, head_len);
    out->body_len = got - head_len - 2;
    memcpy(out->body, end + 4, out->body_len);
    out->body[out->body_len] = '\0';
    return 0;
}

static int exchange(int port, int v6, const char *request, reply_t *out) {
    return exchange_within(port, v6, request, 5000, out);
}

static int request(int port, const char *method, const char *target, reply_t *out) {
    char req[2048];
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, target);
    return exchange(port, 0, req, out);
}

/* The value of header name (case-insensitive) or "" */
static const char *header(const reply_t *r, const char *name) {
    static char value[512];
    size_t n = strlen(name);
    value[0] = '\0';
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s", (int)(e ? e - v : (ptrdiff_t)strlen(v)), v);
            break;
        }
    }
    return value;
}

/* ---- handlers ---- */

static int on_healthz(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    (void)opaque;
    return inv_http_response_append(resp, "ok\n", 3);
}

/* Echoes what the server handed over; "missing" is an unknown SKU and
 * "boom" a failing handler. */
static int on_stock(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)opaque;
    if (strcmp(req->rest, "missing") == 0) {
        resp->status = 404;
        resp->content_type = "application/json";
        return inv_http_response_printf(resp, "{\"error\":\"unknown sku\"}");
    }
    if (strcmp(req->rest, "boom") == 0) {
        inv_http_response_printf(resp, "half a body");
        return -1;
    }
    char location[64];
    int rc = inv_http_request_arg(req, "location", location, sizeof(location));
    return inv_http_response_printf(resp, "method=%s path=%s rest=%s len=%zu location=%s", req->method, req->path,
                                    req->rest, req->rest_len,
                                    rc == 0        ? location
                                    : rc == ENOENT ? "(none)"
                                                   : "(bad)");
}

static int on_metrics(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    inv_metrics_buf_t b = {0};
    if (inv_metrics_render(opaque, &b) != 0)
        return -1;
    resp->content_type = INV_METRICS_CONTENT_TYPE;
    inv_http_response_set_body(resp, b.data, b.len);
    return 0;
}

static const inv_http_route_t routes[] = {
    {"/healthz", INV_HTTP_EXACT, on_healthz, 0},
    {"/metrics", INV_HTTP_EXACT, on_metrics, 0},
    {"/stock/", INV_HTTP_PREFIX, on_stock, 0},
    {NULL, 0, NULL, 0},
};

static inv_http_t *start(const char *addr, void *opaque) {
    errstr[0] = '\0';
    return inv_http_start(addr, routes, opaque, errstr, sizeof(errstr));
}

/* ---- tests ---- */

static void test_exact_route_serves_the_handler_response(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/healthz", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT_EQ_STR("ok\n", r.body);
    INV_ASSERT_EQ_STR("text/plain; charset=utf-8", header(&r, "Content-Type"));
    INV_ASSERT_EQ_STR("3", header(&r, "Content-Length"));
    inv_http_stop(s);
}

static void test_exact_route_matches_only_its_path(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    const char *misses[] = {"/healthzz", "/healthz/", "/health", "/stock", "/", "/HEALTHZ"};
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        reply_t r;
        INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", misses[i], &r));
        INV_ASSERT(r.status == 404, "%s gave %d", misses[i], r.status);
    }
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/healthz?verbose=1", &r));
    INV_ASSERT_EQ_INT(200, r.status); /* the query is not part of the path */
    inv_http_stop(s);
}

static void test_unknown_path_is_404_json(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/nope", &r));
    INV_ASSERT_EQ_INT(404, r.status);
    INV_ASSERT_EQ_STR("{\"error\":\"not found\"}\n", r.body);
    INV_ASSERT_EQ_STR("application/json", header(&r, "Content-Type"));
    inv_http_stop(s);
}

static void test_methods_other_than_get_are_405(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, exchange(inv_http_port(s), 0,
                                  "POST /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                  "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
                                  &r));
    INV_ASSERT_EQ_INT(405, r.status);
    INV_ASSERT_EQ_STR("{\"error\":\"method not allowed\"}\n", r.body);
    INV_ASSERT_EQ_STR("GET, HEAD", header(&r, "Allow"));
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "DELETE", "/stock/A1", &r));
    INV_ASSERT_EQ_INT(405, r.status);
    inv_http_stop(s);
}

static void test_head_runs_the_get_handler_without_a_body(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "HEAD", "/healthz", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT_EQ_INT(0, r.body_len);
    INV_ASSERT_EQ_STR("3", header(&r, "Content-Length"));
    inv_http_stop(s);
}

static void test_prefix_route_hands_over_the_decoded_rest(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    /* "café/€ 1+2": UTF-8 escapes, an escaped slash and space, a literal
     * '+' (a path is not a form: '+' stays '+'). */
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/caf%C3%A9%2F%E2%82%ac%201+2", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT_EQ_STR("method=GET path=/stock/caf%C3%A9%2F%E2%82%ac%201+2 rest=caf\xc3\xa9/\xe2\x82\xac 1+2 "
                      "len=13 location=(none)",
                      r.body);
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/", &r));
    INV_ASSERT_EQ_STR("method=GET path=/stock/ rest= len=0 location=(none)", r.body);
    inv_http_stop(s);
}

static void test_raw_utf8_in_the_path_passes_through(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/\xc3\xa9t\xc3\xa9", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT(strstr(r.body, " rest=\xc3\xa9t\xc3\xa9 len=5 "), "%s", r.body);
    inv_http_stop(s);
}

static void test_bad_percent_encoding_is_400(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    const char *bad[] = {"/stock/%zz", "/stock/a%00b", "/stock/%4", "/stock/%"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply_t r;
        INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", bad[i], &r));
        INV_ASSERT(r.status == 400, "%s gave %d", bad[i], r.status);
        INV_ASSERT_EQ_STR("{\"error\":\"bad percent-encoding\"}\n", r.body);
    }
    inv_http_stop(s);
}

static void test_query_argument_is_decoded(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/A1?x=1&location=DC%201+north", &r));
    INV_ASSERT_EQ_STR("method=GET path=/stock/A1 rest=A1 len=2 location=DC 1 north", r.body);
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/A1?location=%zz", &r));
    INV_ASSERT_EQ_STR("method=GET path=/stock/A1 rest=A1 len=2 location=(bad)", r.body);
    inv_http_stop(s);
}

static void test_handler_status_and_content_type_are_sent(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/missing", &r));
    INV_ASSERT_EQ_INT(404, r.status);
    INV_ASSERT_EQ_STR("application/json", header(&r, "Content-Type"));
    INV_ASSERT_EQ_STR("{\"error\":\"unknown sku\"}", r.body);
    inv_http_stop(s);
}

static void test_failing_handler_becomes_500(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/stock/boom", &r));
    INV_ASSERT_EQ_INT(500, r.status);
    INV_ASSERT_EQ_STR("{\"error\":\"internal error\"}\n", r.body);
    inv_http_stop(s);
}

static void test_metrics_route_serves_a_rendered_registry(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_counter_t *c;
    INV_ASSERT_EQ_INT(0, inv_metrics_counter_new(m, "inv_test_total", "Test.", NULL, &c, errstr, sizeof(errstr)));
    inv_metrics_counter_add(c, 7);
    inv_http_t *s = start("127.0.0.1:0", m);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/metrics", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT_EQ_STR(INV_METRICS_CONTENT_TYPE, header(&r, "Content-Type"));
    INV_ASSERT_EQ_STR("# HELP inv_test_total Test.\n# TYPE inv_test_total counter\ninv_test_total 7\n", r.body);
    inv_http_stop(s);
    inv_metrics_destroy(m);
}

static void test_many_requests_in_a_row(void) {
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    for (int i = 0; i < 200; i++) {
        reply_t r;
        INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", i % 2 ? "/healthz" : "/stock/x", &r));
        INV_ASSERT_EQ_INT(200, r.status);
    }
    inv_http_stop(s);
}

static void test_port_zero_picks_a_free_port(void) {
    inv_http_t *a = start("127.0.0.1:0", NULL);
    INV_ASSERT(a != NULL, "%s", errstr);
    inv_http_t *b = start("127.0.0.1:0", NULL);
    INV_ASSERT(b != NULL, "%s", errstr);
    INV_ASSERT(inv_http_port(a) > 0 && inv_http_port(b) > 0 && inv_http_port(a) != inv_http_port(b), "ports %d %d",
               inv_http_port(a), inv_http_port(b));
    inv_http_stop(a);
    inv_http_stop(b);
}

static void test_port_in_use_is_named_with_the_address(void) {
    inv_http_t *a = start("127.0.0.1:0", NULL);
    INV_ASSERT(a != NULL, "%s", errstr);
    char addr[64], expected[160];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", inv_http_port(a));
    inv_http_t *b = start(addr, NULL);
    INV_ASSERT(b == NULL, "a second server on %s", addr);
    snprintf(expected, sizeof(expected), "http.listen: cannot listen on \"%s\": Address already in use", addr);
    INV_ASSERT_EQ_STR(expected, errstr);
    inv_http_stop(a);
}

static void test_stop_releases_the_port(void) {
    inv_http_t *a = start("127.0.0.1:0", NULL);
    INV_ASSERT(a != NULL, "%s", errstr);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", inv_http_port(a));
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(a), "GET", "/healthz", &r));
    inv_http_stop(a);
    inv_http_t *b = start(addr, NULL);
    INV_ASSERT(b != NULL, "%s", errstr);
    inv_http_stop(b);
}

static void test_address_not_on_this_host_is_named(void) {
    /* 192.0.2.0/24 is TEST-NET-1: never a local address. */
    inv_http_t *s = start("192.0.2.1:0", NULL);
    INV_ASSERT(s == NULL, "listening on TEST-NET");
    INV_ASSERT_EQ_STR("http.listen: cannot listen on \"192.0.2.1:0\": Cannot assign requested address", errstr);
}

static void test_malformed_addresses_are_rejected(void) {
    const char *bad[] = {"x",
                         "8080",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:http",
                         "127.0.0.1:65536",
                         "127.0.0.1:-1",
                         "::1:8080",
                         "[::1]8080",
                         "[]:80",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char expected[128];
        inv_http_t *s = start(bad[i], NULL);
        INV_ASSERT(s == NULL, "\"%s\" accepted", bad[i]);
        snprintf(expected, sizeof(expected), "http.listen: \"%s\" is not ADDR:PORT", bad[i]);
        INV_ASSERT_EQ_STR(expected, errstr);
    }
}

static void test_empty_host_listens_on_all_interfaces(void) {
    inv_http_t *s = start(":0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/healthz", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    inv_http_stop(s);
}

static void test_ipv6_loopback_in_brackets(void) {
    inv_http_t *s = start("[::1]:0", NULL);
    if (!s && (strstr(errstr, "Cannot assign") || strstr(errstr, "not supported") || strstr(errstr, "resolve"))) {
        fprintf(stderr, "     (no IPv6 here: %s)\n", errstr);
        return;
    }
    INV_ASSERT(s != NULL, "%s", errstr);
    reply_t r;
    INV_ASSERT_EQ_INT(
        0, exchange(inv_http_port(s), 1, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    inv_http_stop(s);
}

static void test_bad_route_is_named(void) {
    static const inv_http_route_t bad[] = {
        {"/healthz", INV_HTTP_EXACT, on_healthz, 0},
        {"stock/", INV_HTTP_PREFIX, on_stock, 0},
        {NULL, 0, NULL, 0},
    };
    inv_http_t *s = inv_http_start("127.0.0.1:0", bad, NULL, errstr, sizeof(errstr));
    INV_ASSERT(s == NULL, "accepted a relative route");
    INV_ASSERT_EQ_STR("http: route 1 (\"stock/\"): the path must start with '/'", errstr);
}

static void test_percent_decode_is_strict(void) {
    char out[32];
    size_t n;
    INV_ASSERT_EQ_INT(0, inv_http_percent_decode("a%2Fb+c", 7, 0, out, &n));
    INV_ASSERT_EQ_STR("a/b+c", out);
    INV_ASSERT_EQ_INT(5, n);
    INV_ASSERT_EQ_INT(0, inv_http_percent_decode("a%2fb+c", 7, 1, out, &n));
    INV_ASSERT_EQ_STR("a/b c", out);
    INV_ASSERT_EQ_INT(EINVAL, inv_http_percent_decode("%0", 2, 0, out, &n));
    INV_ASSERT_EQ_INT(EINVAL, inv_http_percent_decode("%g0", 3, 0, out, &n));
    INV_ASSERT_EQ_INT(EINVAL, inv_http_percent_decode("x%00", 4, 0, out, &n));
    /* Only in_len bytes are read: a cut escape is an error, not a peek. */
    INV_ASSERT_EQ_INT(0, inv_http_percent_decode("%41%42", 3, 0, out, &n));
    INV_ASSERT_EQ_STR("A", out);
    INV_ASSERT_EQ_INT(EINVAL, inv_http_percent_decode("%41%42", 5, 0, out, &n));
}

/* ---- limits: many slow connections, idle timeout ---- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A non-blocking TCP connection to 127.0.0.1:port, under way; -1 when no
 * socket could be made. */
static int connect_nonblocking(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits up to timeout_ms for fd to be closed by the server (recv gives 0 or
 * a reset). Returns the milliseconds it took, or -1 if it stayed open. */
static double ms_until_closed(int fd, int timeout_ms) {
    double t0 = now_ms();
    for (;;) {
        int left = timeout_ms - (int)(now_ms() - t0);
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return now_ms() - t0;
    }
}

/* Raises the soft RLIMIT_NOFILE to the hard one; returns the hard one. */
static rlim_t raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_max;
}

#define SLOW_CONNECTIONS 1000

/* The slow clients: the even ones send a request line a byte at a time
 * (never finishing it), the odd ones nothing at all. */
typedef struct {
    int fds[SLOW_CONNECTIONS];
    atomic_int stop;
} slow_clients_t;

static void *trickle(void *arg) {
    slow_clients_t *sc = arg;
    static const char line[] = "GET /healthz?padding=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (size_t tick = 0; !atomic_load(&sc->stop); tick++) {
        for (int i = 0; i < SLOW_CONNECTIONS; i += 2)
            if (sc->fds[i] >= 0)
                send(sc->fds[i], &line[tick % (sizeof(line) - 1)], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        usleep(200 * 1000); /* a byte every 200 ms each: well inside the 10 s idle timeout */
    }
    return NULL;
}

static void test_healthz_answers_within_a_second_beside_1000_slow_connections(void) {
    /* Both ends of every connection live in this process. */
    rlim_t hard = raise_nofile();
    if (hard != RLIM_INFINITY && hard < 2 * SLOW_CONNECTIONS + 100)
        INV_FAIL("cannot run: RLIMIT_NOFILE hard limit %llu is below %d (%d client and %d server descriptors); "
                 "raise it (ulimit -Hn) - this test must not pass without running",
                 (unsigned long long)hard, 2 * SLOW_CONNECTIONS + 100, SLOW_CONNECTIONS, SLOW_CONNECTIONS);
    /* The defaults, as inv-stock starts the server. */
    inv_http_t *s = start("127.0.0.1:0", NULL);
    INV_ASSERT(s != NULL, "%s", errstr);
    int port = inv_http_port(s);
    static slow_clients_t sc;
    atomic_store(&sc.stop, 0);
    for (int i = 0; i < SLOW_CONNECTIONS; i++)
        sc.fds[i] = connect_nonblocking(port);
    pthread_t th;
    int th_rc = pthread_create(&th, NULL, trickle, &sc);

    /* Every connection established (accepted by the kernel, at least). */
    int connected = 0;
    double t0 = now_ms();
    for (int i = 0; i < SLOW_CONNECTIONS; i++) {
        struct pollfd p = {.fd = sc.fds[i], .events = POLLOUT};
        int left = 3000 - (int)(now_ms() - t0);
        int err = 0;
        socklen_t len = sizeof(err);
        if (sc.fds[i] >= 0 && poll(&p, 1, left > 0 ? left : 0) == 1 &&
            getsockopt(sc.fds[i], SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
            connected++;
    }
    usleep(300 * 1000); /* let the server accept them and the trickle start */

    double worst = 0;
    int answered = 0;
    for (int probe = 0; probe < 5; probe++) {
        reply_t r;
        double p0 = now_ms();
        int rc =
            exchange_within(port, 0, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 2000, &r);
        double took = now_ms() - p0;
        if (took > worst)
            worst = took;
        if (rc == 0 && r.status == 200 && took < 1000)
            answered++;
        else
            fprintf(stderr, "     probe %d: rc %d status %d after %.0f ms\n", probe, rc, r.status, took);
        usleep(200 * 1000);
    }
    /* Still open: the server dropped none of them (the idle timeout is 10 s). */
    int open = 0;
    for (int i = 0; i < SLOW_CONNECTIONS; i++) {
        struct pollfd p = {.fd = sc.fds[i], .events = POLLIN};
        if (sc.fds[i] >= 0 && poll(&p, 1, 0) == 0)
            open++;
    }
    atomic_store(&sc.stop, 1);
    if (th_rc == 0)
        pthread_join(th, NULL);
    for (int i = 0; i < SLOW_CONNECTIONS; i++)
        if (sc.fds[i] >= 0)
            close(sc.fds[i]);
    inv_http_stop(s);
    fprintf(stderr, "     /healthz beside %d slow connections (%d established, %d still open): worst %.1f ms\n",
            SLOW_CONNECTIONS, connected, open, worst);
    INV_ASSERT_EQ_INT(0, th_rc);
    INV_ASSERT(answered == 5, "%d of 5 probes answered 200 within 1 s (worst %.0f ms)", answered, worst);
    INV_ASSERT_EQ_INT(SLOW_CONNECTIONS, connected);
    INV_ASSERT_EQ_INT(SLOW_CONNECTIONS, open);
}

static void test_idle_connection_is_closed_after_the_timeout(void) {
    inv_conf_t *conf = inv_conf_new();
    INV_ASSERT_EQ_INT(0, inv_conf_set(conf, "http.connection.timeout.ms", "1000", errstr, sizeof(errstr)));
    inv_http_conf_t hc;
    inv_http_conf_read(conf, &hc);
    inv_conf_destroy(conf);
    inv_http_t *s = inv_http_start_conf("127.0.0.1:0", routes, NULL, &hc, errstr, sizeof(errstr));
    INV_ASSERT(s != NULL, "%s", errstr);
    int idle = connect_nonblocking(inv_http_port(s));
    int partial = connect_nonblocking(inv_http_port(s));
    struct pollfd p = {.fd = partial, .events = POLLOUT};
    poll(&p, 1, 1000);
    send(partial, "GET /hea", 8, MSG_NOSIGNAL); /* a request line cut short, then silence */
    double idle_ms = ms_until_closed(idle, 5000), partial_ms = ms_until_closed(partial, 5000);
    /* The server still serves. */
    reply_t r;
    int rc = request(inv_http_port(s), "GET", "/healthz", &r);
    close(idle);
    close(partial);
    inv_http_stop(s);
    INV_ASSERT(idle_ms >= 900 && idle_ms < 3000, "idle connection closed after %.0f ms (-1: never)", idle_ms);
    /* partial was measured after idle: it is closed about when idle was */
    INV_ASSERT(partial_ms >= 0 && partial_ms < 1500, "partial request closed after %.0f ms more (-1: never)",
               partial_ms);
    INV_ASSERT_EQ_INT(0, rc);
    INV_ASSERT_EQ_INT(200, r.status);
}

static void test_conf_read_takes_every_http_key(void) {
    inv_http_conf_t d;
    inv_http_conf_read(NULL, &d);
    INV_ASSERT_EQ_INT(2, d.threads);
    INV_ASSERT_EQ_INT(2048, d.connection_limit);
    INV_ASSERT_EQ_INT(10000, d.connection_timeout_ms);
    INV_ASSERT_EQ_INT(0, d.per_ip_connection_limit);
    INV_ASSERT_EQ_INT(16 * 1024, d.connection_memory);
    INV_ASSERT_EQ_INT(1024, d.listen_backlog);
    INV_ASSERT_EQ_INT(256, d.fd_reserve);
    inv_conf_t *conf = inv_conf_new();
    const char *kv[][2] = {{"http.threads", "3"},
                           {"http.connection.limit", "100"},
                           {"http.connection.timeout.ms", "1500"},
                           {"http.per.ip.connection.limit", "7"},
                           {"http.connection.memory.kb", "8"},
                           {"http.listen.backlog", "32"},
                           {"http.fd.reserve", "10"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        INV_ASSERT(inv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)) == 0, "%s", errstr);
    inv_http_conf_t c;
    inv_http_conf_read(conf, &c);
    inv_conf_destroy(conf);
    INV_ASSERT_EQ_INT(3, c.threads);
    INV_ASSERT_EQ_INT(100, c.connection_limit);
    INV_ASSERT_EQ_INT(1500, c.connection_timeout_ms);
    INV_ASSERT_EQ_INT(7, c.per_ip_connection_limit);
    INV_ASSERT_EQ_INT(8 * 1024, c.connection_memory);
    INV_ASSERT_EQ_INT(32, c.listen_backlog);
    INV_ASSERT_EQ_INT(10, c.fd_reserve);
}

static void test_connection_limit_is_capped_by_rlimit_nofile(void) {
    struct rlimit saved;
    INV_ASSERT_EQ_INT(0, getrlimit(RLIMIT_NOFILE, &saved));
    INV_ASSERT(saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= 600, "hard limit %llu",
               (unsigned long long)saved.rlim_max);
    struct rlimit low = {600, saved.rlim_max};
    INV_ASSERT_EQ_INT(0, setrlimit(RLIMIT_NOFILE, &low));
    inv_http_t *s = start("127.0.0.1:0", NULL); /* logs one warning */
    setrlimit(RLIMIT_NOFILE, &saved);
    INV_ASSERT(s != NULL, "%s", errstr);
    unsigned capped = inv_http_connection_limit(s);
    reply_t r;
    int rc = request(inv_http_port(s), "GET", "/healthz", &r);
    inv_http_stop(s);
    INV_ASSERT_EQ_INT(600 - 256, capped); /* the soft limit minus http.fd.reserve */
    INV_ASSERT_EQ_INT(0, rc);
    INV_ASSERT_EQ_INT(200, r.status);
    s = start("127.0.0.1:0", NULL); /* the limit restored: no cap */
    INV_ASSERT(s != NULL, "%s", errstr);
    capped = inv_http_connection_limit(s);
    inv_http_stop(s);
    INV_ASSERT_EQ_INT(2048, capped);
}

static void test_per_ip_limit_when_set_turns_away_the_next_connection(void) {
    inv_http_conf_t hc;
    inv_http_conf_read(NULL, &hc);
    hc.per_ip_connection_limit = 2;
    inv_http_t *s = inv_http_start_conf("127.0.0.1:0", routes, NULL, &hc, errstr, sizeof(errstr));
    INV_ASSERT(s != NULL, "%s", errstr);
    int a = connect_nonblocking(inv_http_port(s)), b = connect_nonblocking(inv_http_port(s));
    usleep(200 * 1000); /* accepted, idle */
    reply_t r;
    int rc = request(inv_http_port(s), "GET", "/healthz", &r); /* the third from 127.0.0.1 */
    close(a);
    close(b);
    usleep(200 * 1000);
    reply_t r2;
    int rc2 = request(inv_http_port(s), "GET", "/healthz", &r2);
    inv_http_stop(s);
    INV_ASSERT(rc != 0, "a third connection from one address was served (status %d)", r.status);
    INV_ASSERT_EQ_INT(0, rc2);
    INV_ASSERT_EQ_INT(200, r2.status);
}

static void test_basic_auth_guards_every_route_but_probes(void) {
    inv_conf_t *conf = inv_conf_new();
    INV_ASSERT_EQ_INT(0, inv_conf_set(conf, "http.basic.auth.user.info", "u:p", errstr, sizeof(errstr)));
    inv_http_conf_t hc;
    inv_http_conf_read(conf, &hc);
    inv_conf_destroy(conf);
    static const inv_http_route_t guarded[] = {
        {"/healthz", INV_HTTP_EXACT, on_healthz, 1},
        {"/stock/", INV_HTTP_PREFIX, on_stock, 0},
        {NULL, 0, NULL, 0},
    };
    inv_http_t *s = inv_http_start_conf("127.0.0.1:0", guarded, NULL, &hc, errstr, sizeof(errstr));
    INV_ASSERT(s != NULL, "%s", errstr);
    int port = inv_http_port(s);
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(port, "GET", "/stock/A", &r));
    INV_ASSERT_EQ_INT(401, r.status);
    INV_ASSERT(strstr(header(&r, "WWW-Authenticate"), "Basic") != NULL, "%s", r.head);
    INV_ASSERT_EQ_INT(0, request(port, "GET", "/healthz", &r));
    INV_ASSERT_EQ_INT(200, r.status);
    /* base64("u:p") = dTpw, base64("u:x") = dTp4 */
    INV_ASSERT_EQ_INT(0, exchange(port, 0,
                                  "GET /stock/A HTTP/1.1\r\nHost: l\r\nAuthorization: Basic dTpw\r\nConnection: "
                                  "close\r\n\r\n",
                                  &r));
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT_EQ_INT(0, exchange(port, 0,
                                  "GET /stock/A HTTP/1.1\r\nHost: l\r\nAuthorization: Basic dTp4\r\nConnection: "
                                  "close\r\n\r\n",
                                  &r));
    INV_ASSERT_EQ_INT(401, r.status);
    inv_http_stop(s);
    conf = inv_conf_new();
    INV_ASSERT_EQ_INT(0, inv_conf_set(conf, "http.basic.auth.user.info", "nocolon", errstr, sizeof(errstr)));
    inv_http_conf_read(conf, &hc);
    inv_conf_destroy(conf);
    INV_ASSERT(inv_http_start_conf("127.0.0.1:0", guarded, NULL, &hc, errstr, sizeof(errstr)) == NULL, "started");
    INV_ASSERT(strstr(errstr, "http.basic.auth.user.info") != NULL, "%s", errstr);
}

/* A stream that sends "first", sleeps until woken, sends "second", ends. */
typedef struct {
    pthread_mutex_t lock;
    int step;
    inv_http_stream_t *stream;
    int freed;
} stream_state_t;

static long stream_src(void *cls, inv_http_stream_t *stream, char *buf, size_t max) {
    stream_state_t *st = cls;
    pthread_mutex_lock(&st->lock);
    st->stream = stream;
    long n = 0;
    if (st->step == 0) {
        n = snprintf(buf, max, "first;");
        st->step = 1;
    } else if (st->step == 2) {
        n = snprintf(buf, max, "second;");
        st->step = 3;
    } else if (st->step == 3) {
        n = -1;
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

static void stream_done(void *cls) {
    stream_state_t *st = cls;
    pthread_mutex_lock(&st->lock);
    st->freed = 1;
    st->stream = NULL;
    pthread_mutex_unlock(&st->lock);
}

static stream_state_t the_stream = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, 0};

static int on_stream(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    (void)opaque;
    resp->content_type = "text/event-stream";
    resp->stream = stream_src;
    resp->stream_free = stream_done;
    resp->stream_cls = &the_stream;
    return 0;
}

static void *wake_later(void *arg) {
    (void)arg;
    usleep(300 * 1000);
    pthread_mutex_lock(&the_stream.lock);
    the_stream.step = 2;
    if (the_stream.stream)
        inv_http_stream_wake(the_stream.stream);
    pthread_mutex_unlock(&the_stream.lock);
    return NULL;
}

static void test_stream_sleeps_until_woken_then_ends(void) {
    static const inv_http_route_t sr[] = {{"/events", INV_HTTP_EXACT, on_stream, 0}, {NULL, 0, NULL, 0}};
    inv_http_t *s = inv_http_start("127.0.0.1:0", sr, NULL, errstr, sizeof(errstr));
    INV_ASSERT(s != NULL, "%s", errstr);
    pthread_t th;
    pthread_create(&th, NULL, wake_later, NULL);
    double t0 = now_ms();
    reply_t r;
    INV_ASSERT_EQ_INT(0, request(inv_http_port(s), "GET", "/events", &r));
    double took = now_ms() - t0;
    pthread_join(th, NULL);
    INV_ASSERT_EQ_INT(200, r.status);
    INV_ASSERT(strstr(header(&r, "Content-Type"), "text/event-stream") != NULL, "%s", r.head);
    const char *a = strstr(r.body, "first;"), *b = strstr(r.body, "second;");
    INV_ASSERT(a && b && a < b, "body %s", r.body);
    INV_ASSERT(took >= 250, "the stream ended after %.0f ms, before the wake", took);
    inv_http_stop(s);
    INV_ASSERT_EQ_INT(1, the_stream.freed);
}

int main(void) {
    INV_RUN(test_exact_route_serves_the_handler_response);
    INV_RUN(test_basic_auth_guards_every_route_but_probes);
    INV_RUN(test_stream_sleeps_until_woken_then_ends);
    INV_RUN(test_exact_route_matches_only_its_path);
    INV_RUN(test_unknown_path_is_404_json);
    INV_RUN(test_methods_other_than_get_are_405);
    INV_RUN(test_head_runs_the_get_handler_without_a_body);
    INV_RUN(test_prefix_route_hands_over_the_decoded_rest);
    INV_RUN(test_raw_utf8_in_the_path_passes_through);
    INV_RUN(test_bad_percent_encoding_is_400);
    INV_RUN(test_query_argument_is_decoded);
    INV_RUN(test_handler_status_and_content_type_are_sent);
    INV_RUN(test_failing_handler_becomes_500);
    INV_RUN(test_metrics_route_serves_a_rendered_registry);
    INV_RUN(test_many_requests_in_a_row);
    INV_RUN(test_port_zero_picks_a_free_port);
    INV_RUN(test_port_in_use_is_named_with_the_address);
    INV_RUN(test_stop_releases_the_port);
    INV_RUN(test_address_not_on_this_host_is_named);
    INV_RUN(test_malformed_addresses_are_rejected);
    INV_RUN(test_empty_host_listens_on_all_interfaces);
    INV_RUN(test_ipv6_loopback_in_brackets);
    INV_RUN(test_bad_route_is_named);
    INV_RUN(test_percent_decode_is_strict);
    INV_RUN(test_conf_read_takes_every_http_key);
    INV_RUN(test_connection_limit_is_capped_by_rlimit_nofile);
    INV_RUN(test_per_ip_limit_when_set_turns_away_the_next_connection);
    INV_RUN(test_idle_connection_is_closed_after_the_timeout);
    INV_RUN(test_healthz_answers_within_a_second_beside_1000_slow_connections);
    return INV_TEST_DONE();
}
