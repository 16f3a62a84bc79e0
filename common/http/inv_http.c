#include "inv_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inv_log.h"
#include "inv_buf.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define APPLICATION_JSON "application/json"

struct route {
    char *path;
    size_t len;
    int match;
    inv_http_handler_t handler;
    int no_auth;
};

/* A streaming response in flight: on the server's list until
 * libmicrohttpd frees it. */
struct inv_http_stream_s {
    inv_http_t *srv;
    struct MHD_Connection *conn;
    inv_http_stream_fn fn;
    void (*free_fn)(void *cls);
    void *cls;
    pthread_mutex_t lock; /* suspended, woken */
    int suspended;        /* the connection sleeps in libmicrohttpd */
    int woken;            /* a wake came while the source ran */
    struct inv_http_stream_s *prev, *next;
};

struct inv_http_s {
    struct MHD_Daemon *daemon;
    struct route *routes;
    size_t n_routes;
    void *opaque;
    int port;
    unsigned conn_limit; /* in force, after the RLIMIT_NOFILE cap */
    /* While MHD_start_daemon runs, the last message it logs, to explain a
     * failure in errstr. */
    pthread_mutex_t log_lock;
    int starting;
    char start_msg[256];
    /* Streaming responses, so that a stop wakes the sleeping ones first
     * (libmicrohttpd must not stop with a connection suspended). */
    pthread_mutex_t streams_lock;
    struct inv_http_stream_s *streams;
    int stopping;
    void (*observe)(void *opaque, const char *route, int status);
    char *auth_user, *auth_pass; /* basic authentication; NULL = none */
    char *tls_cert, *tls_key;    /* PEM contents; NULL = plain HTTP */
};

/* ---- responses ---- */

/* Room for extra more bytes and a NUL. */
static int body_reserve(inv_http_response_t *r, size_t extra) {
    return inv_buf_grow(&r->body, &r->body_cap, r->body_len, extra + 1, 256);
}

int inv_http_response_append(inv_http_response_t *resp, const void *data, size_t len) {
    if (body_reserve(resp, len))
        return ENOMEM;
    if (len)
        memcpy(resp->body + resp->body_len, data, len);
    resp->body_len += len;
    resp->body[resp->body_len] = '\0';
    return 0;
}

int inv_http_response_printf(inv_http_response_t *resp, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    int rc = n < 0 ? EINVAL : body_reserve(resp, (size_t)n);
    if (!rc) {
        vsnprintf(resp->body + resp->body_len, (size_t)n + 1, fmt, ap2);
        resp->body_len += (size_t)n;
    }
    va_end(ap2);
    return rc;
}

void inv_http_response_set_body(inv_http_response_t *resp, char *data, size_t len) {
    free(resp->body);
    resp->body = data;
    resp->body_len = resp->body_cap = len;
}

/* ---- decoding ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int inv_http_percent_decode(const char *in, size_t in_len, int plus_is_space, char *out, size_t *out_len) {
    size_t j = 0;
    for (size_t i = 0; i < in_len; i++) {
        char c = in[i];
        if (c == '%') {
            if (in_len - i < 3)
                return EINVAL;
            int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
            if (h < 0 || l < 0 || (h | l) == 0)
                return EINVAL;
            out[j++] = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[j++] = ' ';
        } else if (c == '\0') {
            return EINVAL;
        } else {
            out[j++] = c;
        }
    }
    out[j] = '\0';
    *out_len = j;
    return 0;
}

int inv_http_request_arg(const inv_http_request_t *req, const char *name, char *out, size_t out_size) {
    const char *raw = NULL;
    size_t raw_len = 0;
    if (MHD_lookup_connection_value_n(req->internal_, MHD_GET_ARGUMENT_KIND, name, strlen(name), &raw, &raw_len) !=
        MHD_YES)
        return ENOENT;
    if (!raw) /* "?name" without '=' */
        raw = "", raw_len = 0;
    char *tmp = out;
    if (out_size < raw_len + 1 && !(tmp = malloc(raw_len + 1)))
        return ENOMEM;
    size_t len;
    int rc = inv_http_percent_decode(raw, raw_len, 1, tmp, &len);
    if (!rc && tmp != out) {
        if (len + 1 > out_size)
            rc = ERANGE;
        else
            memcpy(out, tmp, len + 1);
    }
    if (tmp != out)
        free(tmp);
    return rc;
}

/* ---- serving ---- */

/* MHD decodes the path before the handler sees it; keep it raw so that the
 * prefix routes can decode only the rest, strictly, once. Query arguments
 * stay raw too and inv_http_request_arg decodes them. */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    (void)conn;
    return strlen(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    inv_http_t *srv = cls;
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    inv_log_debug("http: libmicrohttpd: %s", msg);
    pthread_mutex_lock(&srv->log_lock);
    if (srv->starting)
        snprintf(srv->start_msg, sizeof(srv->start_msg), "%s", msg);
    pthread_mutex_unlock(&srv->log_lock);
}

/* Queues body (taking ownership of a malloc'd one when owned). */
static enum MHD_Result send_response(struct MHD_Connection *conn, unsigned status, const char *content_type, char *body,
                                     size_t len, int owned, const char *allow) {
    struct MHD_Response *r;
    if (owned && body)
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    else
        r = MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, const char *json, const char *allow) {
    return send_response(conn, status, APPLICATION_JSON, (char *)json, strlen(json), 0, allow);
}

/* ---- streaming ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    struct inv_http_stream_s *st = cls;
    pthread_mutex_lock(&st->srv->streams_lock);
    int stopping = st->srv->stopping;
    pthread_mutex_unlock(&st->srv->streams_lock);
    if (stopping)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&st->lock);
    st->woken = 0;
    pthread_mutex_unlock(&st->lock);
    long n = st->fn(st->cls, st, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > 0)
        return (ssize_t)n;
    /* Nothing now: sleep until a wake, unless one came meanwhile (then
     * libmicrohttpd simply asks again). */
    pthread_mutex_lock(&st->lock);
    if (!st->woken) {
        st->suspended = 1;
        MHD_suspend_connection(st->conn);
    }
    pthread_mutex_unlock(&st->lock);
    return 0;
}

void inv_http_stream_wake(inv_http_stream_t *st) {
    pthread_mutex_lock(&st->lock);
    if (st->suspended) {
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    } else {
        st->woken = 1;
    }
    pthread_mutex_unlock(&st->lock);
}

static void stream_free(void *cls) {
    struct inv_http_stream_s *st = cls;
    inv_http_t *srv = st->srv;
    pthread_mutex_lock(&srv->streams_lock);
    if (st->prev)
        st->prev->next = st->next;
    else
        srv->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    pthread_mutex_unlock(&srv->streams_lock);
    if (st->free_fn)
        st->free_fn(st->cls);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static enum MHD_Result send_stream(inv_http_t *srv, struct MHD_Connection *conn, const inv_http_response_t *resp) {
    struct inv_http_stream_s *st = calloc(1, sizeof(*st));
    if (!st) {
        if (resp->stream_free)
            resp->stream_free(resp->stream_cls);
        return MHD_NO;
    }
    *st = (struct inv_http_stream_s){
        .srv = srv, .conn = conn, .fn = resp->stream, .free_fn = resp->stream_free, .cls = resp->stream_cls};
    pthread_mutex_init(&st->lock, NULL);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (!r) {
        st->srv = NULL;
        if (st->free_fn)
            st->free_fn(st->cls);
        pthread_mutex_destroy(&st->lock);
        free(st);
        return MHD_NO;
    }
    pthread_mutex_lock(&srv->streams_lock);
    st->next = srv->streams;
    if (srv->streams)
        srv->streams->prev = st;
    srv->streams = st;
    pthread_mutex_unlock(&srv->streams_lock);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r); /* frees st (stream_free) once the connection is done */
    return ret;
}

/* ---- authentication ---- */

/* Constant-time equality of a and the NUL-terminated secret b. */
static int same_secret(const char *a, const char *b) {
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < lb; i++)
        diff |= (unsigned char)((i < la ? (unsigned char)a[i] : 0) ^ (unsigned char)b[i]);
    return a && diff == 0;
}

static int authorized(const inv_http_t *srv, struct MHD_Connection *conn) {
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    int ok = same_secret(user, srv->auth_user) & same_secret(pass, srv->auth_pass);
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

static enum MHD_Result send_auth_required(struct MHD_Connection *conn) {
    static const char body[] = "{\"error\":\"authentication required\"}\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, APPLICATION_JSON);
    enum MHD_Result ret = MHD_queue_basic_auth_fail_response(conn, "inventory-events", r);
    MHD_destroy_response(r);
    return ret;
}

static void observe(const inv_http_t *srv, const struct route *route, int status) {
    if (srv->observe)
        srv->observe(srv->opaque, route ? route->path : NULL, status);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    inv_http_t *srv = cls;
    const struct route *route = NULL;
    for (size_t i = 0; i < srv->n_routes && !route; i++) {
        const struct route *r = &srv->routes[i];
        if (r->match == INV_HTTP_EXACT ? strcmp(url, r->path) == 0 : strncmp(url, r->path, r->len) == 0)
            route = r;
    }
    if (srv->auth_user && !(route && route->no_auth) && !authorized(srv, conn)) {
        observe(srv, route, MHD_HTTP_UNAUTHORIZED);
        return send_auth_required(conn);
    }
    if (!route) {
        observe(srv, NULL, MHD_HTTP_NOT_FOUND);
        return send_json(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}\n", NULL);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        observe(srv, route, MHD_HTTP_METHOD_NOT_ALLOWED);
        return send_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "{\"error\":\"method not allowed\"}\n", "GET, HEAD");
    }

    inv_http_request_t req = {.method = method, .path = url, .rest = "", .rest_len = 0, .internal_ = conn};
    char *rest = NULL;
    if (route->match == INV_HTTP_PREFIX) {
        size_t raw_len = strlen(url) - route->len;
        if (!(rest = malloc(raw_len + 1)))
            return send_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"internal error\"}\n", NULL);
        if (inv_http_percent_decode(url + route->len, raw_len, 0, rest, &req.rest_len) != 0) {
            free(rest);
            observe(srv, route, MHD_HTTP_BAD_REQUEST);
            return send_json(conn, MHD_HTTP_BAD_REQUEST, "{\"error\":\"bad percent-encoding\"}\n", NULL);
        }
        req.rest = rest;
    }
    inv_http_response_t resp = {.status = MHD_HTTP_OK, .content_type = TEXT_PLAIN};
    int rc = route->handler(&req, &resp, srv->opaque);
    free(rest);
    if (rc != 0 || resp.status < 100 || resp.status > 599 || !resp.content_type) {
        if (rc == 0)
            inv_log_warn("http: handler for %s set status %d (content type %s): sending 500", url, resp.status,
                         resp.content_type ? resp.content_type : "NULL");
        free(resp.body);
        if (resp.stream && resp.stream_free)
            resp.stream_free(resp.stream_cls);
        observe(srv, route, MHD_HTTP_INTERNAL_SERVER_ERROR);
        return send_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"internal error\"}\n", NULL);
    }
    observe(srv, route, resp.status);
    if (resp.stream) {
        free(resp.body);
        return send_stream(srv, conn, &resp);
    }
    return send_response(conn, (unsigned)resp.status, resp.content_type, resp.body, resp.body_len, 1, NULL);
}

/* ---- start and stop ---- */

/* Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (HOST then "0.0.0.0"). */
static int split_addr(const char *s, char *host, size_t host_size, char *port, size_t port_size) {
    if (!s)
        return -1;
    const char *colon, *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        if (hlen == 0)
            return -1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen)) /* a bare IPv6 address needs brackets */
            return -1;
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || plen >= port_size || strspn(p, "0123456789") != plen || atoi(p) > 65535)
        return -1;
    if (hlen == 0) {
        h = "0.0.0.0";
        hlen = strlen(h);
    }
    if (hlen >= host_size)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, p, plen + 1);
    return 0;
}

/* A bound, listening socket for addr_port, or -1 with errstr. */
static int listen_on(const char *addr_port, int backlog, int *family, char *errstr, size_t errstr_size) {
    char host[256], port[8];
    if (split_addr(addr_port, host, sizeof(host), port, sizeof(port)) != 0) {
        inv_errstr(errstr, errstr_size, "http.listen: \"%s\" is not ADDR:PORT", addr_port ? addr_port : "(null)");
        return -1;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai == EAI_NONAME
#ifdef EAI_ADDRFAMILY
        || gai == EAI_ADDRFAMILY || gai == EAI_NODATA
#endif
    ) {
        /* AI_ADDRCONFIG hides 127.0.0.1 and ::1 on a host whose only
         * interface is loopback; ask again without it. */
        hints.ai_flags &= ~AI_ADDRCONFIG;
        gai = getaddrinfo(host, port, &hints, &res);
    }
    if (gai != 0) {
        inv_errstr(errstr, errstr_size, "http.listen: cannot resolve \"%s\" in \"%s\": %s", host, addr_port,
                   gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        /* A restart must not wait for the old socket's TIME_WAIT. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
            err = errno;
            close(fd);
            fd = -1;
            continue;
        }
        *family = ai->ai_family;
    }
    freeaddrinfo(res);
    if (fd < 0)
        inv_errstr(errstr, errstr_size, "http.listen: cannot listen on \"%s\": %s", addr_port, strerror(err));
    return fd;
}

static int bound_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static void server_free(inv_http_t *srv) {
    for (size_t i = 0; i < srv->n_routes; i++)
        free(srv->routes[i].path);
    free(srv->routes);
    pthread_mutex_destroy(&srv->log_lock);
    pthread_mutex_destroy(&srv->streams_lock);
    free(srv->auth_user); /* auth_pass points into it */
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}

void inv_http_conf_read(const inv_conf_t *conf, inv_http_conf_t *out) {
    inv_conf_t *defaults = conf ? NULL : inv_conf_new();
    const inv_conf_t *c = conf ? conf : defaults;
    /* The table's bounds keep every value within unsigned and int. */
    *out = (inv_http_conf_t){
        .threads = (unsigned)inv_conf_get_int(c, "http.threads"),
        .connection_limit = (unsigned)inv_conf_get_int(c, "http.connection.limit"),
        .connection_timeout_ms = (unsigned)inv_conf_get_int(c, "http.connection.timeout.ms"),
        .per_ip_connection_limit = (unsigned)inv_conf_get_int(c, "http.per.ip.connection.limit"),
        .connection_memory = (size_t)inv_conf_get_int(c, "http.connection.memory.kb") * 1024,
        .listen_backlog = (int)inv_conf_get_int(c, "http.listen.backlog"),
        .fd_reserve = (unsigned)inv_conf_get_int(c, "http.fd.reserve"),
    };
    snprintf(out->tls_cert_file, sizeof(out->tls_cert_file), "%s", inv_conf_get(c, "http.tls.cert.location"));
    snprintf(out->tls_key_file, sizeof(out->tls_key_file), "%s", inv_conf_get(c, "http.tls.key.location"));
    snprintf(out->basic_auth, sizeof(out->basic_auth), "%s", inv_conf_get(c, "http.basic.auth.user.info"));
    inv_conf_destroy(defaults);
}

/* The connection limit that fits the process's file descriptors: every
 * connection is one, and fd_reserve stay for Kafka, LMDB and the rest. Past
 * RLIMIT_NOFILE accept() fails with EMFILE and libmicrohttpd stops accepting
 * until a connection closes, /healthz included; and librdkafka would fail
 * to open its sockets. One warning when this lowers the configured limit. */
static unsigned fd_capped_limit(const inv_http_conf_t *conf, const char *addr_port) {
    unsigned limit = conf->connection_limit;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return limit;
    rlim_t room = rl.rlim_cur > (rlim_t)conf->fd_reserve ? rl.rlim_cur - conf->fd_reserve : 0;
    if (room >= limit)
        return limit;
    unsigned capped = room > 16 ? (unsigned)room : 16;
    inv_log_warn("http: %s: http.connection.limit %u lowered to %u: the file descriptor limit (RLIMIT_NOFILE) is "
                 "%llu and http.fd.reserve keeps %u for Kafka and LMDB; raise it (ulimit -n, LimitNOFILE=) to serve "
                 "more connections",
                 addr_port, limit, capped, (unsigned long long)rl.rlim_cur, conf->fd_reserve);
    return capped;
}

/* The whole of a small file (a PEM), NUL-terminated, or NULL with errstr. */
static char *read_small_file(const char *key, const char *path, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t len = 0, cap = 0;
    if (!f) {
        inv_errstr(errstr, errstr_size, "%s: cannot read \"%s\": %s", key, path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (inv_buf_grow(&data, &cap, len, 4096, 4096) != 0) {
            inv_errstr(errstr, errstr_size, "%s: out of memory", key);
            break;
        }
        size_t n = fread(data + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0 || len > 1024 * 1024)
            break;
    }
    int bad = ferror(f) || len > 1024 * 1024;
    fclose(f);
    if (data && bad)
        inv_errstr(errstr, errstr_size, "%s: \"%s\" is not a readable PEM file of at most 1 MiB", key, path);
    if (!data || bad) {
        free(data);
        return NULL;
    }
    data[len] = '\0';
    return data;
}

/* TLS files and basic authentication from conf into srv. 0 or -1. */
static int security_setup(inv_http_t *srv, const inv_http_conf_t *conf, char *errstr, size_t errstr_size) {
    const char *cert = conf->tls_cert_file, *key = conf->tls_key_file;
    if (!*cert != !*key) {
        inv_errstr(errstr, errstr_size, "%s: set http.tls.cert.location and http.tls.key.location together",
                   *cert ? "http.tls.key.location" : "http.tls.cert.location");
        return -1;
    }
    if (*cert && (!(srv->tls_cert = read_small_file("http.tls.cert.location", cert, errstr, errstr_size)) ||
                  !(srv->tls_key = read_small_file("http.tls.key.location", key, errstr, errstr_size))))
        return -1;
    const char *auth = conf->basic_auth;
    if (*auth) {
        char *colon = strchr(auth, ':');
        if (!colon || colon == auth) {
            inv_errstr(errstr, errstr_size, "http.basic.auth.user.info: expected user:password");
            return -1;
        }
        if (!(srv->auth_user = strdup(auth))) {
            inv_errstr(errstr, errstr_size, "http: out of memory");
            return -1;
        }
        srv->auth_pass = srv->auth_user + (colon - auth) + 1;
        srv->auth_user[colon - auth] = '\0';
    }
    return 0;
}

inv_http_t *inv_http_start(const char *addr_port, const inv_http_route_t *routes, void *opaque, char *errstr,
                           size_t errstr_size) {
    return inv_http_start_conf(addr_port, routes, opaque, NULL, errstr, errstr_size);
}

inv_http_t *inv_http_start_conf(const char *addr_port, const inv_http_route_t *routes, void *opaque,
                                const inv_http_conf_t *conf, char *errstr, size_t errstr_size) {
    inv_http_conf_t defaults;
    if (!conf) {
        inv_http_conf_read(NULL, &defaults);
        conf = &defaults;
    }
    size_t n = 0;
    for (; routes && routes[n].path; n++) {
        const inv_http_route_t *r = &routes[n];
        const char *why = r->path[0] != '/' ? "the path must start with '/'"
                          : !r->handler     ? "no handler"
                          : r->match != INV_HTTP_EXACT && r->match != INV_HTTP_PREFIX
                              ? "match must be INV_HTTP_EXACT or INV_HTTP_PREFIX"
                              : NULL;
        if (why) {
            inv_errstr(errstr, errstr_size, "http: route %zu (\"%s\"): %s", n, r->path, why);
            return NULL;
        }
    }
    inv_http_t *srv = calloc(1, sizeof(*srv));
    if (!srv || (n && !(srv->routes = calloc(n, sizeof(*srv->routes))))) {
        free(srv);
        inv_errstr(errstr, errstr_size, "http: out of memory");
        return NULL;
    }
    pthread_mutex_init(&srv->log_lock, NULL);
    pthread_mutex_init(&srv->streams_lock, NULL);
    srv->opaque = opaque;
    srv->observe = conf->observe;
    if (security_setup(srv, conf, errstr, errstr_size) != 0) {
        server_free(srv);
        return NULL;
    }
    for (; srv->n_routes < n; srv->n_routes++) {
        struct route *r = &srv->routes[srv->n_routes];
        if (!(r->path = strdup(routes[srv->n_routes].path))) {
            server_free(srv);
            inv_errstr(errstr, errstr_size, "http: out of memory");
            return NULL;
        }
        r->len = strlen(r->path);
        r->match = routes[srv->n_routes].match;
        r->handler = routes[srv->n_routes].handler;
        r->no_auth = routes[srv->n_routes].no_auth;
    }

    int family = AF_INET;
    int fd = listen_on(addr_port, conf->listen_backlog, &family, errstr, errstr_size);
    if (fd < 0) {
        server_free(srv);
        return NULL;
    }
    srv->port = bound_port(fd);
    struct stat st;
    fstat(fd, &st);

    /* epoll: select() cannot watch a descriptor past FD_SETSIZE (1024), and
     * poll() walks every connection on each wake-up. */
    unsigned flags = MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (srv->tls_cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {srv->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
        flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
    else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL_INTERNAL_THREAD;
    else
        flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->conn_limit = fd_capped_limit(conf, addr_port);
    /* libmicrohttpd splits the limit between the threads (a full thread
     * stops accepting and leaves new connections to the others): at least
     * one each. */
    unsigned threads = conf->threads < 1 ? 1 : conf->threads > srv->conn_limit ? srv->conn_limit : conf->threads;
    unsigned timeout_s = (conf->connection_timeout_ms + 999) / 1000; /* rounded up: 0 would mean never */
    if (timeout_s == 0)
        timeout_s = 1;
    inv_log_debug("http: %s: %u threads, up to %u connections (%u from one address, 0 = any), %zu bytes each, "
                  "closed after %u s idle",
                  addr_port, threads, srv->conn_limit, conf->per_ip_connection_limit, conf->connection_memory,
                  timeout_s);
    srv->starting = 1;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET,
        (MHD_socket)fd, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, srv->conn_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->per_ip_connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, conf->connection_memory, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    pthread_mutex_lock(&srv->log_lock);
    srv->starting = 0;
    pthread_mutex_unlock(&srv->log_lock);
    if (!srv->daemon) {
        /* Whether MHD closed the socket it was given differs between
         * versions: close it only if fd still is that socket. */
        struct stat now;
        if (fstat(fd, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
            close(fd);
        inv_errstr(errstr, errstr_size, "http: cannot start the server on \"%s\": %s", addr_port,
                   srv->start_msg[0] ? srv->start_msg : "libmicrohttpd gave no reason");
        server_free(srv);
        return NULL;
    }
    return srv;
}

int inv_http_port(const inv_http_t *server) { return server->port; }

unsigned inv_http_connection_limit(const inv_http_t *server) { return server->conn_limit; }

void inv_http_stop(inv_http_t *server) {
    if (!server)
        return;
    /* Sleeping streams wake to end (their source is not asked again). */
    pthread_mutex_lock(&server->streams_lock);
    server->stopping = 1;
    for (struct inv_http_stream_s *st = server->streams; st; st = st->next)
        inv_http_stream_wake(st);
    pthread_mutex_unlock(&server->streams_lock);
    MHD_stop_daemon(server->daemon); /* closes the listening socket too */
    server_free(server);
}

int inv_http_response_json(inv_http_response_t *resp, int status, json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return ENOMEM;
    resp->status = status;
    resp->content_type = "application/json";
    int rc = inv_http_response_printf(resp, "%s\n", text);
    free(text);
    return rc;
}
