/*
 * inv_http: a small HTTP/1.1 server for /healthz, /metrics and /stock/<sku>,
 * over libmicrohttpd (Debian libmicrohttpd-dev 0.9.75).
 *
 * Routes are matched in array order on the path (the query is not part of
 * it): an exact route matches only its path, a prefix route every path that
 * starts with its prefix and hands the handler the rest, percent-decoded
 * (SKUs may hold any UTF-8 and reserved characters). Around the handlers the
 * server answers by itself, with JSON bodies:
 *   404 {"error":"not found"}                  no route matches
 *   405 {"error":"method not allowed"}         a route matches but the method
 *                                              is not GET or HEAD (Allow: GET, HEAD)
 *   400 {"error":"bad percent-encoding"}       a prefix route's rest holds a
 *                                              bad %-escape or %00
 *   500 {"error":"internal error"}             the handler returned non-zero
 *                                              or its body could not be built
 *   401 {"error":"authentication required"}   http.basic.auth.user.info is set and
 *                                              the request lacks those credentials
 *                                              (routes with no_auth excepted)
 * HEAD runs the GET handler; libmicrohttpd drops the body.
 *
 * TLS: with http.tls.cert.location and http.tls.key.location (PEM files,
 * read once at start) the server speaks HTTPS only (libmicrohttpd with
 * GnuTLS). Basic authentication (http.basic.auth.user.info, "user:password")
 * guards every route but those marked no_auth (probes: /healthz); the
 * credentials are compared in constant time. Without TLS they cross the
 * network in clear.
 *
 * Streaming responses (server-sent events): a handler may set resp->stream
 * instead of a body. libmicrohttpd then asks stream() for bytes as the
 * client takes them (chunked encoding); stream() answering 0 puts the
 * connection to sleep (suspended: no thread, no timeout, no poll) until
 * inv_http_stream_wake() is called with the handle stream() was given. So
 * any number of subscribers wait without holding a worker thread.
 *
 * Threads: handlers run on libmicrohttpd's threads (a pool of http.threads,
 * default two, so a slow /stock lookup does not hold up /healthz), possibly
 * that many at once; they must be thread-safe with each other and with the
 * writer thread. libmicrohttpd's own messages go to inv_log at debug level.
 *
 * Connections: each worker thread runs its own epoll loop over its share of
 * the connections, and libmicrohttpd reads and writes them without blocking:
 * a client that sends its request a byte at a time, or nothing at all, costs
 * a file descriptor and a little memory (http.connection.memory.kb) but
 * never a thread, and a handler is called only once the request's headers
 * are complete. So /healthz keeps answering while up to
 * http.connection.limit connections are open, slow or idle, even from the
 * probe's own address (no per-address limit by default). Above the limit a
 * new connection waits in the listen backlog until one closes. A connection
 * is closed after http.connection.timeout.ms without a byte either way
 * (libmicrohttpd: inactivity, not the age of the request, so a client that
 * trickles a byte more often keeps its slot: the limit must stay above the
 * number of connections expected).
 */
#ifndef INV_HTTP_H
#define INV_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "inv_conf.h"

typedef struct inv_http_s inv_http_t;

typedef struct {
    const char *method; /* "GET" or "HEAD" */
    const char *path;   /* as received, not decoded, without "?query" */
    const char *rest;   /* prefix routes: path after the prefix, decoded; "" for exact routes */
    size_t rest_len;    /* strlen(rest): a decoded NUL is refused with 400 */
    void *internal_;    /* the connection, for inv_http_request_arg */
} inv_http_request_t;

/* What a handler fills. Status starts at 200, content_type at
 * "text/plain; charset=utf-8", the body empty. content_type is borrowed and
 * must outlive the call (a string literal). The body is owned by the
 * response: build it with the calls below. */
typedef struct inv_http_stream_s inv_http_stream_t;

/* A streaming body's source: copies up to max bytes into buf and returns
 * how many; 0 when nothing is ready (the connection sleeps until
 * inv_http_stream_wake(stream)); -1 to end the response. Runs on a worker
 * thread; must not block. */
typedef long (*inv_http_stream_fn)(void *cls, inv_http_stream_t *stream, char *buf, size_t max);

typedef struct {
    int status;
    const char *content_type;
    char *body;
    size_t body_len, body_cap;
    /* A streaming response: stream non-NULL (the body is then ignored).
     * stream_free(stream_cls) runs once when the connection is done with it
     * (closed by either side, or the server stopping); after it returns,
     * the stream handle is gone: no wake may follow. */
    inv_http_stream_fn stream;
    void (*stream_free)(void *cls);
    void *stream_cls;
} inv_http_response_t;

/* Returns 0 to send resp, anything else to send a 500 instead. req and the
 * strings in it are valid only during the call. opaque is inv_http_start's. */
typedef int (*inv_http_handler_t)(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque);

#define INV_HTTP_EXACT 0
#define INV_HTTP_PREFIX 1

typedef struct {
    const char *path; /* starts with '/': "/metrics", "/stock/" */
    int match;        /* INV_HTTP_EXACT or INV_HTTP_PREFIX */
    inv_http_handler_t handler;
    int no_auth; /* served without basic authentication (probes) */
} inv_http_route_t;

/* Listens on addr_port and serves routes (an array ending with a route whose
 * path is NULL; copied, so it need not outlive the call) until
 * inv_http_stop(). addr_port is "HOST:PORT": "127.0.0.1:8080", "[::1]:8080",
 * "localhost:8080", or ":8080" for every IPv4 interface (0.0.0.0); PORT 0
 * picks a free port (see inv_http_port).
 * Returns the server, or NULL with errstr set to one line naming the
 * address and the reason:
 *   http.listen: "x" is not ADDR:PORT
 *   http.listen: cannot resolve "host" in "host:80": <reason>
 *   http.listen: cannot listen on 127.0.0.1:8080: Address already in use
 *   http: route 2: <what is wrong>
 *   http: cannot start the server on 127.0.0.1:8080: <libmicrohttpd's reason> */
inv_http_t *inv_http_start(const char *addr_port, const inv_http_route_t *routes, void *opaque, char *errstr,
                           size_t errstr_size);

/* The server's limits, read once from the http.* keys (docs/CONFIGURATION.md
 * says what each one means). */
typedef struct {
    unsigned threads;                 /* http.threads */
    unsigned connection_limit;        /* http.connection.limit, before the fd cap */
    unsigned connection_timeout_ms;   /* http.connection.timeout.ms */
    unsigned per_ip_connection_limit; /* http.per.ip.connection.limit, 0 = none */
    size_t connection_memory;         /* http.connection.memory.kb, in bytes */
    int listen_backlog;               /* http.listen.backlog */
    unsigned fd_reserve;              /* http.fd.reserve */
    char tls_cert_file[1024];         /* http.tls.cert.location; "" = plain HTTP */
    char tls_key_file[1024];          /* http.tls.key.location */
    char basic_auth[512];             /* http.basic.auth.user.info, "user:password"; "" = none */
    /* Not from the configuration: when set, called with the server's opaque
     * after every answer, with the path of the route that matched (NULL:
     * none) and the status sent (streams: when they start). For metrics. */
    void (*observe)(void *opaque, const char *route, int status);
} inv_http_conf_t;

/* Fills out from conf's http.* keys (copied: conf may go); NULL conf: their
 * defaults. A path or user:password too long for out is cut (and then
 * fails to open or to match). */
void inv_http_conf_read(const inv_conf_t *conf, inv_http_conf_t *out);

/* inv_http_start with those limits (NULL: the defaults, which is what
 * inv_http_start uses). A TLS file that cannot be read, or an
 * http.basic.auth.user.info without ':', fails the start naming the key. At start the connection limit is capped to the
 * process's RLIMIT_NOFILE soft limit minus fd_reserve, with one warning
 * through inv_log when that lowers it (see inv_http_connection_limit). The
 * timeout is rounded up to whole seconds, libmicrohttpd's unit. */
inv_http_t *inv_http_start_conf(const char *addr_port, const inv_http_route_t *routes, void *opaque,
                                const inv_http_conf_t *conf, char *errstr, size_t errstr_size);

/* The bound TCP port (useful after asking for port 0). */
int inv_http_port(const inv_http_t *server);

/* The connection limit in force: conf's, or lower when RLIMIT_NOFILE
 * capped it. */
unsigned inv_http_connection_limit(const inv_http_t *server);

/* Stops accepting, waits for running handlers, closes the socket and frees
 * the server. NULL is a no-op. */
void inv_http_stop(inv_http_t *server);

/* Wakes a streaming response whose source answered 0: the source is asked
 * again soon. Safe from any thread, at any time until the stream's
 * stream_free has returned (the caller keeps those two apart, e.g. under
 * one lock). */
void inv_http_stream_wake(inv_http_stream_t *stream);

/* Appends len bytes (or a printf result) to the body. 0 or ENOMEM. */
int inv_http_response_append(inv_http_response_t *resp, const void *data, size_t len);
int inv_http_response_printf(inv_http_response_t *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets status and an application/json body: doc, compact, then a newline.
 * Takes doc (decref'd whatever the result). 0, or ENOMEM. */
int inv_http_response_json(inv_http_response_t *resp, int status, json_t *doc);

/* Replaces the body with data, a malloc'd buffer of len bytes that the
 * response now owns (frees) - e.g. an inv_metrics_buf_t's data, without a
 * copy. */
void inv_http_response_set_body(inv_http_response_t *resp, char *data, size_t len);

/* The query argument `name` (e.g. "location" in "/stock/A1?location=DC%201"),
 * decoded ('+' is a space) into out (NUL-terminated).
 * Returns 0, ENOENT when absent, EINVAL for a bad escape or %00, ERANGE when
 * out is too small. */
int inv_http_request_arg(const inv_http_request_t *req, const char *name, char *out, size_t out_size);

/* Strict percent-decoding of in[0..in_len) into out, which needs in_len + 1
 * bytes; *out_len gets the decoded length and out is NUL-terminated. With
 * plus_is_space, '+' decodes to ' ' (query strings). Returns 0, or EINVAL
 * for '%' not followed by two hex digits or for %00. */
int inv_http_percent_decode(const char *in, size_t in_len, int plus_is_space, char *out, size_t *out_len);

#endif
