/* inv_registry without a registry: settings checks, and the client against a
 * fake registry (libmicrohttpd in this process) that answers each path as a
 * Confluent registry, a proxy or a broken server would, and a closed port. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inv_conf.h"
#include "inv_log.h"
#include "inv_registry.h"
#include "inv_registry_cache.h"
#include "inv_schema_source.h"
#include "inv_test.h"

static char errstr[INV_ERRSTR_SIZE];

/* ---- the fake registry ---- */

static struct MHD_Daemon *fake;
static int fake_port;
static atomic_int fake_requests;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static char fake_last_method[16], fake_last_path[256], fake_last_body[1024], fake_last_auth[256], fake_last_verbose[16];

typedef struct {
    char body[1024];
    size_t len;
} upload_t;

static void route(const char *method, const char *path, int *status, const char **body) {
    int id;
    static _Thread_local char buf[256];
    *status = 200;
    if (strcmp(method, "GET") == 0 && sscanf(path, "/schemas/ids/%d", &id) == 1) {
        if (id >= 1 && id <= 99) {
            snprintf(buf, sizeof(buf), "{\"schema\":\"{\\\"type\\\":\\\"string\\\",\\\"doc\\\":\\\"%d\\\"}\"}", id);
            *body = buf;
        } else if (id == 404) {
            *status = 404, *body = "{\"error_code\":40403,\"message\":\"Schema 404 not found\"}";
        } else if (id == 405) {
            *status = 404, *body = "<html><body>Not Found</body></html>"; /* a proxy, not a registry */
        } else if (id == 500) {
            *status = 500, *body = "{\"error_code\":50001,\"message\":\"Error in the backend data store\"}";
        } else if (id == 401) {
            *status = 401, *body = "{\"error_code\":40101,\"message\":\"Unauthorized\"}";
        } else if (id == 600) {
            *body = "this is not json";
        } else if (id == 700) {
            usleep(1500 * 1000);
            *body = "{\"schema\":\"\\\"string\\\"\"}";
        } else {
            *status = 404, *body = "{\"error_code\":40403,\"message\":\"Schema not found\"}";
        }
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/subjects/ok-value/versions") == 0) {
        *body = "{\"id\":7}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/subjects/ok-value") == 0) {
        *body = "{\"subject\":\"ok-value\",\"version\":1,\"id\":7,\"schema\":\"\\\"string\\\"\"}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/subjects/bad-value/versions") == 0) {
        *status = 409, *body = "{\"error_code\":409,\"message\":\"Incompatible: field x was removed\"}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/subjects/missing-value") == 0) {
        *status = 404, *body = "{\"error_code\":40401,\"message\":\"Subject 'missing-value' not found.\"}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/compatibility/subjects/ok-value/versions/latest") == 0) {
        *body = "{\"is_compatible\":true}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/compatibility/subjects/bad-value/versions/latest") == 0) {
        *body = "{\"is_compatible\":false,\"messages\":[\"READER_FIELD_MISSING_DEFAULT_VALUE: b\",\"old schema: 1\"]}";
    } else if (strcmp(method, "POST") == 0 &&
               strcmp(path, "/compatibility/subjects/terse-value/versions/latest") == 0) { /* Apicurio 3.0 */
        *body = "{\"is_compatible\":false}";
    } else if (strcmp(method, "POST") == 0 &&
               strcmp(path, "/compatibility/subjects/missing-value/versions/latest") == 0) {
        *status = 404, *body = "{\"error_code\":40401,\"message\":\"Subject 'missing-value' not found.\"}";
    } else if (strcmp(method, "POST") == 0 &&
               strcmp(path, "/compatibility/subjects/invalid-value/versions/latest") == 0) {
        *status = 422, *body = "{\"error_code\":42201,\"message\":\"Invalid schema: no type\"}";
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/compatibility/subjects/odd-value/versions/latest") == 0) {
        *body = "{\"id\":3}";
    } else {
        *status = 404, *body = "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}";
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)cls, (void)version;
    upload_t *up = *con_cls;
    if (!up) {
        *con_cls = up = calloc(1, sizeof(*up));
        return up ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (n > sizeof(up->body) - 1 - up->len)
            n = sizeof(up->body) - 1 - up->len;
        memcpy(up->body + up->len, upload_data, n);
        up->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&fake_requests, 1);
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const char *verbose = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "verbose");
    pthread_mutex_lock(&fake_lock);
    snprintf(fake_last_method, sizeof(fake_last_method), "%s", method);
    snprintf(fake_last_path, sizeof(fake_last_path), "%s", url);
    snprintf(fake_last_body, sizeof(fake_last_body), "%s", up->body);
    snprintf(fake_last_auth, sizeof(fake_last_auth), "%s", auth ? auth : "");
    snprintf(fake_last_verbose, sizeof(fake_last_verbose), "%s", verbose ? verbose : "");
    pthread_mutex_unlock(&fake_lock);
    int status;
    const char *body;
    route(method, url, &status, &body);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/vnd.schemaregistry.v1+json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t) {
    (void)cls, (void)conn, (void)t;
    free(*con_cls);
    *con_cls = NULL;
}

static int fake_start(void) {
    fake = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
        MHD_OPTION_END);
    if (!fake)
        return -1;
    fake_port = MHD_get_daemon_info(fake, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

/* The same registry over TLS, with a self-signed certificate for
 * 127.0.0.1 made by openssl(1) in a temporary directory. */
static struct MHD_Daemon *fake_tls;
static int fake_tls_port;
static char tls_dir[64], tls_cert[128], tls_key[128];
static char *tls_cert_pem, *tls_key_pem;

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

static int fake_tls_start(void) {
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/test_registry.XXXXXX");
    if (!mkdtemp(tls_dir))
        return -1;
    snprintf(tls_cert, sizeof(tls_cert), "%s/cert.pem", tls_dir);
    snprintf(tls_key, sizeof(tls_key), "%s/key.pem", tls_dir);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
             tls_key, tls_cert);
    if (system(cmd) != 0 || !(tls_cert_pem = read_file(tls_cert)) || !(tls_key_pem = read_file(tls_key)))
        return -1;
    fake_tls = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem,
        MHD_OPTION_HTTPS_MEM_CERT, tls_cert_pem, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
        MHD_OPTION_END);
    if (!fake_tls)
        return -1;
    fake_tls_port = MHD_get_daemon_info(fake_tls, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static void fake_tls_stop(void) {
    if (fake_tls)
        MHD_stop_daemon(fake_tls);
    free(tls_cert_pem);
    free(tls_key_pem);
    unlink(tls_cert);
    unlink(tls_key);
    rmdir(tls_dir);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- helpers ---- */

static char url_buf[256];

static inv_registry_conf_t conf_for(const char *url) {
    inv_registry_conf_t c = {.url = url,
                             .basic_auth_user_info = "",
                             .ssl_ca_location = "",
                             .ssl_certificate_location = "",
                             .ssl_key_location = "",
                             .request_timeout_ms = 2000,
                             .cache_capacity = 100,
                             .auto_register = 1};
    return c;
}

static const char *fake_url(void) {
    snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d", fake_port);
    return url_buf;
}

static inv_registry_t *client(inv_registry_conf_t c) {
    inv_registry_t *reg = inv_registry_new(&c, errstr, sizeof(errstr));
    if (!reg)
        fprintf(stderr, "inv_registry_new: %s\n", errstr);
    return reg;
}

/* ---- settings ---- */

static void test_conf_defaults_name_no_registry(void) {
    inv_conf_t *conf = inv_conf_new();
    inv_registry_conf_t c;
    INV_ASSERT_EQ_INT(0, inv_registry_conf_read(conf, &c, errstr, sizeof(errstr)));
    INV_EXPECT(!inv_registry_conf_enabled(&c));
    INV_EXPECT(c.request_timeout_ms == 5000 && c.cache_capacity == 1000 && c.auto_register == 1);
    inv_conf_destroy(conf);
}

static void test_conf_rejects_a_url_that_is_not_http(void) {
    inv_conf_t *conf = inv_conf_new();
    INV_ASSERT_EQ_INT(0,
                      inv_conf_set(conf, "schema.registry.url", "http://ok:8081,ftp://reg:21", errstr, sizeof(errstr)));
    inv_registry_conf_t c;
    INV_EXPECT(inv_registry_conf_read(conf, &c, errstr, sizeof(errstr)) == -1);
    INV_EXPECT(strstr(errstr, "schema.registry.url") && strstr(errstr, "ftp://reg:21"), "errstr: %s", errstr);
    inv_conf_destroy(conf);
}

static void test_conf_rejects_a_url_without_host(void) {
    inv_registry_conf_t c = conf_for("http://");
    INV_EXPECT(inv_registry_conf_check(&c, errstr, sizeof(errstr)) == -1);
    INV_EXPECT(strstr(errstr, "schema.registry.url"), "errstr: %s", errstr);
}

static void test_conf_splits_and_trims_a_url_list(void) {
    char **urls;
    size_t n;
    INV_ASSERT_EQ_INT(
        0, inv_registry_conf_urls(" http://a:1 ,, https://b/apis/ccompat/v7/ ", &urls, &n, errstr, sizeof(errstr)));
    INV_EXPECT(n == 2);
    if (n == 2) {
        INV_EXPECT(strcmp(urls[0], "http://a:1") == 0, "%s", urls[0]);
        INV_EXPECT(strcmp(urls[1], "https://b/apis/ccompat/v7") == 0, "%s", urls[1]);
    }
    inv_registry_conf_urls_free(urls, n);
}

static void test_conf_rejects_a_certificate_without_key(void) {
    inv_registry_conf_t c = conf_for("https://reg:8081");
    c.ssl_certificate_location = "/etc/hostname";
    INV_EXPECT(inv_registry_conf_check(&c, errstr, sizeof(errstr)) == -1);
    INV_EXPECT(strstr(errstr, "schema.registry.ssl.key.location"), "errstr: %s", errstr);
}

static void test_conf_rejects_an_unreadable_ca_file(void) {
    inv_registry_conf_t c = conf_for("https://reg:8081");
    c.ssl_ca_location = "/nonexistent/ca.pem";
    INV_EXPECT(inv_registry_conf_check(&c, errstr, sizeof(errstr)) == -1);
    INV_EXPECT(strstr(errstr, "schema.registry.ssl.ca.location") && strstr(errstr, "/nonexistent/ca.pem"), "errstr: %s",
               errstr);
}

static void test_conf_rejects_user_info_without_colon(void) {
    inv_registry_conf_t c = conf_for("http://reg:8081");
    c.basic_auth_user_info = "justauser";
    INV_EXPECT(inv_registry_conf_check(&c, errstr, sizeof(errstr)) == -1);
    INV_EXPECT(strstr(errstr, "schema.registry.basic.auth.user.info"), "errstr: %s", errstr);
}

static void test_conf_auto_register_false_is_read(void) {
    inv_conf_t *conf = inv_conf_new();
    INV_ASSERT_EQ_INT(0, inv_conf_set(conf, "auto.register.schemas", "false", errstr, sizeof(errstr)));
    INV_EXPECT(inv_conf_set(conf, "auto.register.schemas", "yes", errstr, sizeof(errstr)) == -1);
    inv_registry_conf_t c;
    INV_ASSERT_EQ_INT(0, inv_registry_conf_read(conf, &c, errstr, sizeof(errstr)));
    INV_EXPECT(c.auto_register == 0);
    inv_conf_destroy(conf);
}

static void test_new_refuses_an_empty_url(void) {
    inv_registry_conf_t c = conf_for("");
    INV_EXPECT(inv_registry_new(&c, errstr, sizeof(errstr)) == NULL);
    INV_EXPECT(strstr(errstr, "schema.registry.url"), "errstr: %s", errstr);
}

/* ---- the cache ---- */

static void test_cache_drops_the_least_recently_used(void) {
    inv_registry_cache_t *c = inv_registry_cache_new(2);
    size_t len;
    inv_registry_cache_put(c, 1, "one", 3);
    inv_registry_cache_put(c, 2, "two", 3);
    INV_EXPECT(inv_registry_cache_get(c, 1, &len) != NULL); /* 1 is now the most recent */
    inv_registry_cache_put(c, 3, "three", 5);
    INV_EXPECT(inv_registry_cache_count(c) == 2);
    INV_EXPECT(inv_registry_cache_get(c, 2, &len) == NULL);
    const char *s = inv_registry_cache_get(c, 1, &len);
    INV_EXPECT(s && strcmp(s, "one") == 0 && len == 3);
    s = inv_registry_cache_get(c, 3, &len);
    INV_EXPECT(s && strcmp(s, "three") == 0 && len == 5);
    inv_registry_cache_destroy(c);
}

static void test_cache_holds_many_ids_within_its_bound(void) {
    inv_registry_cache_t *c = inv_registry_cache_new(1000);
    size_t len;
    for (int32_t id = 0; id < 5000; id++) {
        char s[16];
        int n = snprintf(s, sizeof(s), "%d", id);
        inv_registry_cache_put(c, id * 7919, s, (size_t)n);
    }
    INV_EXPECT(inv_registry_cache_count(c) == 1000);
    INV_EXPECT(inv_registry_cache_get(c, 3999 * 7919, &len) == NULL);
    const char *s = inv_registry_cache_get(c, 4000 * 7919, &len);
    INV_EXPECT(s && strcmp(s, "4000") == 0);
    inv_registry_cache_destroy(c);
}

/* ---- schema by id ---- */

static void test_closed_port_is_unavailable(void) {
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    inv_registry_t *reg = client(conf_for(url));
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    INV_EXPECT(inv_registry_schema_by_id(reg, 1, &s, &len, errstr, sizeof(errstr)) == INV_REGISTRY_UNAVAILABLE);
    INV_EXPECT(strstr(errstr, url) && strstr(errstr, "/schemas/ids/1"), "errstr: %s", errstr);
    inv_registry_stats_t st;
    inv_registry_stats(reg, &st);
    INV_EXPECT(st.requests == 1 && st.failures == 1 && st.cache_misses == 1, "%llu %llu",
               (unsigned long long)st.requests, (unsigned long long)st.failures);
    inv_registry_destroy(reg);
}

static void test_found_schema_is_fetched_once_then_cached(void) {
    inv_registry_t *reg = client(conf_for(fake_url()));
    INV_ASSERT(reg);
    int before = atomic_load(&fake_requests);
    const char *s;
    size_t len;
    INV_ASSERT_EQ_INT(0, inv_registry_schema_by_id(reg, 42, &s, &len, errstr, sizeof(errstr)));
    INV_EXPECT(strcmp(s, "{\"type\":\"string\",\"doc\":\"42\"}") == 0 && len == strlen(s), "got %s", s);
    INV_ASSERT_EQ_INT(0, inv_registry_schema_by_id(reg, 42, &s, &len, errstr, sizeof(errstr)));
    INV_EXPECT(strcmp(s, "{\"type\":\"string\",\"doc\":\"42\"}") == 0);
    INV_EXPECT(atomic_load(&fake_requests) - before == 1);
    INV_EXPECT(strcmp(fake_last_path, "/schemas/ids/42") == 0, "%s", fake_last_path);
    inv_registry_stats_t st;
    inv_registry_stats(reg, &st);
    INV_EXPECT(st.requests == 1 && st.cache_hits == 1 && st.cache_misses == 1 && st.failures == 0);
    inv_registry_destroy(reg);
}

static void test_cache_bound_refetches_the_dropped_id(void) {
    inv_registry_conf_t c = conf_for(fake_url());
    c.cache_capacity = 2;
    inv_registry_t *reg = client(c);
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    int before = atomic_load(&fake_requests);
    int ids[] = {1, 2, 1, 3, 1, 2}; /* 3 drops 2 (1 was used since); 2 comes back from the registry */
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        INV_ASSERT_EQ_INT(0, inv_registry_schema_by_id(reg, ids[i], &s, &len, errstr, sizeof(errstr)));
    INV_EXPECT(atomic_load(&fake_requests) - before == 4, "requests %d", atomic_load(&fake_requests) - before);
    inv_registry_stats_t st;
    inv_registry_stats(reg, &st);
    INV_EXPECT(st.cache_hits == 2 && st.cache_misses == 4);
    inv_registry_destroy(reg);
}

static void test_unknown_id_is_not_found_and_not_cached(void) {
    inv_registry_t *reg = client(conf_for(fake_url()));
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    int before = atomic_load(&fake_requests);
    INV_EXPECT(inv_registry_schema_by_id(reg, 404, &s, &len, errstr, sizeof(errstr)) == INV_REGISTRY_NOT_FOUND);
    INV_EXPECT(strstr(errstr, "/schemas/ids/404") && strstr(errstr, "Schema 404 not found"), "errstr: %s", errstr);
    INV_EXPECT(inv_registry_schema_by_id(reg, 404, &s, &len, errstr, sizeof(errstr)) == INV_REGISTRY_NOT_FOUND);
    INV_EXPECT(atomic_load(&fake_requests) - before == 2);
    inv_registry_destroy(reg);
}

static void expect_unavailable(int32_t id, const char *in_errstr) {
    inv_registry_conf_t c = conf_for(fake_url());
    c.request_timeout_ms = 300;
    inv_registry_t *reg = client(c);
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    INV_EXPECT(inv_registry_schema_by_id(reg, id, &s, &len, errstr, sizeof(errstr)) == INV_REGISTRY_UNAVAILABLE,
               "id %d", id);
    INV_EXPECT(strstr(errstr, in_errstr), "id %d, errstr: %s", id, errstr);
    inv_registry_stats_t st;
    inv_registry_stats(reg, &st);
    INV_EXPECT(st.failures == 1);
    inv_registry_destroy(reg);
}

static void test_404_that_is_not_the_registrys_is_unavailable(void) { expect_unavailable(405, "HTTP 404"); }
static void test_5xx_is_unavailable(void) { expect_unavailable(500, "Error in the backend data store"); }
static void test_401_is_unavailable(void) { expect_unavailable(401, "HTTP 401"); }
static void test_malformed_answer_is_unavailable(void) { expect_unavailable(600, "malformed"); }
static void test_timeout_is_unavailable(void) { expect_unavailable(700, "/schemas/ids/700"); }

static void test_negative_id_is_invalid(void) {
    inv_registry_t *reg = client(conf_for(fake_url()));
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    INV_EXPECT(inv_registry_schema_by_id(reg, -1, &s, &len, errstr, sizeof(errstr)) == INV_REGISTRY_INVALID);
    inv_registry_destroy(reg);
}

static void test_next_url_is_tried_when_one_is_down(void) {
    char urls[320];
    snprintf(urls, sizeof(urls), "http://127.0.0.1:%d,%s", closed_port(), fake_url());
    inv_registry_t *reg = client(conf_for(urls));
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    INV_ASSERT_EQ_INT(0, inv_registry_schema_by_id(reg, 5, &s, &len, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(0, inv_registry_schema_by_id(reg, 6, &s, &len, errstr, sizeof(errstr)));
    inv_registry_stats_t st;
    inv_registry_stats(reg, &st);
    /* the second call goes straight to the URL that answered */
    INV_EXPECT(st.requests == 3 && st.failures == 1, "requests %llu failures %llu", (unsigned long long)st.requests,
               (unsigned long long)st.failures);
    inv_registry_destroy(reg);
}

/* ---- TLS ---- */

static void test_https_with_the_registrys_ca_is_trusted(void) {
    INV_ASSERT(fake_tls, "no TLS fake registry: openssl(1) (deploy/local/install-deps.sh) or libmicrohttpd's TLS "
                         "missing");
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", fake_tls_port);
    inv_registry_conf_t c = conf_for(url);
    c.ssl_ca_location = tls_cert;
    c.ssl_certificate_location = tls_cert; /* a client certificate the server does not ask for */
    c.ssl_key_location = tls_key;
    inv_registry_t *reg = client(c);
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    INV_EXPECT(inv_registry_schema_by_id(reg, 9, &s, &len, errstr, sizeof(errstr)) == 0, "errstr: %s", errstr);
    inv_registry_destroy(reg);
}

static void test_https_with_an_unknown_ca_is_unavailable(void) {
    INV_ASSERT(fake_tls, "no TLS fake registry");
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", fake_tls_port);
    inv_registry_t *reg = client(conf_for(url));
    INV_ASSERT(reg);
    const char *s;
    size_t len;
    INV_EXPECT(inv_registry_schema_by_id(reg, 9, &s, &len, errstr, sizeof(errstr)) == INV_REGISTRY_UNAVAILABLE);
    INV_EXPECT(strstr(errstr, url) && strstr(errstr, "certificate"), "errstr: %s", errstr);
    inv_registry_destroy(reg);
}

/* ---- register ---- */

static void test_register_posts_to_versions_and_returns_the_id(void) {
    inv_registry_conf_t c = conf_for(fake_url());
    c.basic_auth_user_info = "u:p";
    inv_registry_t *reg = client(c);
    INV_ASSERT(reg);
    int32_t id = -1;
    INV_ASSERT_EQ_INT(0, inv_registry_register(reg, "ok-value", "\"string\"", &id, errstr, sizeof(errstr)));
    INV_EXPECT(id == 7);
    INV_EXPECT(strcmp(fake_last_method, "POST") == 0 && strcmp(fake_last_path, "/subjects/ok-value/versions") == 0,
               "%s %s", fake_last_method, fake_last_path);
    INV_EXPECT(strstr(fake_last_body, "\"schema\":\"\\\"string\\\"\""), "body %s", fake_last_body);
    INV_EXPECT(strcmp(fake_last_auth, "Basic dTpw") == 0, "Authorization: %s", fake_last_auth);
    inv_registry_destroy(reg);
}

static void test_register_without_auto_register_only_looks_up(void) {
    inv_registry_conf_t c = conf_for(fake_url());
    c.auto_register = 0;
    inv_registry_t *reg = client(c);
    INV_ASSERT(reg);
    int32_t id = -1;
    INV_ASSERT_EQ_INT(0, inv_registry_register(reg, "ok-value", "\"string\"", &id, errstr, sizeof(errstr)));
    INV_EXPECT(id == 7);
    INV_EXPECT(strcmp(fake_last_path, "/subjects/ok-value") == 0, "%s", fake_last_path);
    INV_EXPECT(inv_registry_register(reg, "missing-value", "\"string\"", &id, errstr, sizeof(errstr)) ==
               INV_REGISTRY_REFUSED);
    INV_EXPECT(strstr(errstr, "\"missing-value\"") && strstr(errstr, "Subject 'missing-value' not found."),
               "errstr: %s", errstr);
    inv_registry_destroy(reg);
}

static void test_incompatible_schema_is_refused_with_the_registrys_message(void) {
    inv_registry_t *reg = client(conf_for(fake_url()));
    INV_ASSERT(reg);
    int32_t id = -1;
    INV_EXPECT(inv_registry_register(reg, "bad-value", "\"string\"", &id, errstr, sizeof(errstr)) ==
               INV_REGISTRY_REFUSED);
    INV_EXPECT(strstr(errstr, "\"bad-value\"") && strstr(errstr, "HTTP 409") &&
                   strstr(errstr, "Incompatible: field x was removed"),
               "errstr: %s", errstr);
    INV_EXPECT(id == -1);
    inv_registry_destroy(reg);
}

static void test_register_to_a_closed_port_is_unavailable(void) {
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    inv_registry_t *reg = client(conf_for(url));
    INV_ASSERT(reg);
    int32_t id;
    INV_EXPECT(inv_registry_register(reg, "ok-value", "\"string\"", &id, errstr, sizeof(errstr)) ==
               INV_REGISTRY_UNAVAILABLE);
    inv_registry_destroy(reg);
}

/* ---- compatibility ---- */

static int check_compat(const char *url, const char *subject, int *compatible, char *reason, size_t reason_size) {
    inv_registry_t *reg = client(conf_for(url));
    if (!reg)
        return 99;
    int rc = inv_registry_check_compatibility(reg, subject, "\"string\"", compatible, reason, reason_size, errstr,
                                              sizeof(errstr));
    inv_registry_destroy(reg);
    return rc;
}

static void test_compatible_schema_is_compatible_and_nothing_is_registered(void) {
    int compatible = -1;
    char reason[256] = "stale";
    INV_ASSERT_EQ_INT(0, check_compat(fake_url(), "ok-value", &compatible, reason, sizeof(reason)));
    INV_EXPECT(compatible == INV_REGISTRY_COMPATIBLE && reason[0] == '\0', "compatible %d, reason %s", compatible,
               reason);
    INV_EXPECT(strcmp(fake_last_method, "POST") == 0 &&
                   strcmp(fake_last_path, "/compatibility/subjects/ok-value/versions/latest") == 0,
               "%s %s", fake_last_method, fake_last_path);
    INV_EXPECT(strcmp(fake_last_verbose, "true") == 0, "verbose=%s", fake_last_verbose);
    INV_EXPECT(strstr(fake_last_body, "\"schema\":\"\\\"string\\\"\""), "body %s", fake_last_body);
}

static void test_incompatible_schema_comes_with_the_registrys_messages(void) {
    int compatible = -1;
    char reason[256];
    INV_ASSERT_EQ_INT(0, check_compat(fake_url(), "bad-value", &compatible, reason, sizeof(reason)));
    INV_EXPECT(compatible == INV_REGISTRY_INCOMPATIBLE);
    INV_EXPECT(strcmp(reason, "READER_FIELD_MISSING_DEFAULT_VALUE: b; old schema: 1") == 0, "reason: %s", reason);
}

static void test_incompatible_without_messages_has_an_empty_reason(void) {
    int compatible = -1;
    char reason[256] = "stale";
    INV_ASSERT_EQ_INT(0, check_compat(fake_url(), "terse-value", &compatible, reason, sizeof(reason)));
    INV_EXPECT(compatible == INV_REGISTRY_INCOMPATIBLE && reason[0] == '\0', "reason: %s", reason);
}

static void test_subject_without_versions_is_compatible(void) {
    int compatible = -1;
    char reason[256];
    INV_ASSERT_EQ_INT(0, check_compat(fake_url(), "missing-value", &compatible, reason, sizeof(reason)));
    INV_EXPECT(compatible == INV_REGISTRY_NO_VERSIONS && compatible, "compatible %d", compatible);
    INV_EXPECT(strstr(reason, "Subject 'missing-value' not found."), "reason: %s", reason);
}

static void test_invalid_schema_check_is_refused_naming_the_subject(void) {
    int compatible = -1;
    INV_EXPECT(check_compat(fake_url(), "invalid-value", &compatible, NULL, 0) == INV_REGISTRY_REFUSED);
    INV_EXPECT(strstr(errstr, "\"invalid-value\"") && strstr(errstr, "HTTP 422") &&
                   strstr(errstr, "Invalid schema: no type"),
               "errstr: %s", errstr);
    INV_EXPECT(compatible == -1);
}

static void test_check_answer_without_verdict_is_unavailable(void) {
    int compatible = -1;
    INV_EXPECT(check_compat(fake_url(), "odd-value", &compatible, NULL, 0) == INV_REGISTRY_UNAVAILABLE);
    INV_EXPECT(strstr(errstr, "malformed") && strstr(errstr, "/compatibility/subjects/odd-value/versions/latest"),
               "errstr: %s", errstr);
}

static void test_check_against_a_closed_port_is_unavailable(void) {
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    int compatible = -1;
    INV_EXPECT(check_compat(url, "ok-value", &compatible, NULL, 0) == INV_REGISTRY_UNAVAILABLE);
    INV_EXPECT(strstr(errstr, url), "errstr: %s", errstr);
}

static void test_check_without_subject_is_invalid(void) {
    int compatible = -1;
    INV_EXPECT(check_compat(fake_url(), "", &compatible, NULL, 0) == INV_REGISTRY_INVALID);
}

/* ---- subjects ---- */

static void test_every_message_type_has_a_topic_key_of_the_configuration(void) {
    inv_conf_t *conf = inv_conf_new();
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        const char *key = inv_schema_topic_key((inv_msg_type_t)t);
        INV_EXPECT(key && inv_conf_get(conf, key) && *inv_conf_get(conf, key), "%s: key %s",
                   inv_msg_type_name((inv_msg_type_t)t), key ? key : "(none)");
    }
    INV_EXPECT(strcmp(inv_schema_topic_key(INV_MSG_STOCK_LEVEL), "topic.stock") == 0);
    INV_EXPECT(strcmp(inv_schema_topic_key(INV_MSG_RESERVATION_STATUS), "topic.reservation_status") == 0);
    INV_EXPECT(inv_schema_topic_key(INV_MSG_COUNT) == NULL);
    inv_conf_destroy(conf);
}

static void test_subject_is_the_topic_with_value_suffix(void) {
    char subject[32];
    INV_ASSERT_EQ_INT(0, inv_schema_subject("inventory.stock", subject, sizeof(subject)));
    INV_EXPECT(strcmp(subject, "inventory.stock-value") == 0, "%s", subject);
    INV_EXPECT(inv_schema_subject("a-topic-name-far-too-long-for-it", subject, sizeof(subject)) == -1);
}

static void test_strerror_names_every_code(void) {
    INV_EXPECT(strcmp(inv_registry_strerror(0), "ok") == 0);
    INV_EXPECT(strcmp(inv_registry_strerror(INV_REGISTRY_NOT_FOUND), "not found") == 0);
    INV_EXPECT(strcmp(inv_registry_strerror(INV_REGISTRY_UNAVAILABLE), "unavailable") == 0);
    INV_EXPECT(strcmp(inv_registry_strerror(INV_REGISTRY_REFUSED), "refused") == 0);
    INV_EXPECT(strcmp(inv_registry_strerror(INV_REGISTRY_INVALID), "invalid argument") == 0);
    INV_EXPECT(strcmp(inv_registry_strerror(-99), "unknown error") == 0);
}

int main(void) {
    if (fake_start() != 0) {
        fprintf(stderr, "could not start the fake registry\n");
        return 1;
    }
    if (fake_tls_start() != 0)
        fprintf(stderr, "could not start the TLS fake registry\n");
    INV_RUN(test_conf_defaults_name_no_registry);
    INV_RUN(test_conf_rejects_a_url_that_is_not_http);
    INV_RUN(test_conf_rejects_a_url_without_host);
    INV_RUN(test_conf_splits_and_trims_a_url_list);
    INV_RUN(test_conf_rejects_a_certificate_without_key);
    INV_RUN(test_conf_rejects_an_unreadable_ca_file);
    INV_RUN(test_conf_rejects_user_info_without_colon);
    INV_RUN(test_conf_auto_register_false_is_read);
    INV_RUN(test_new_refuses_an_empty_url);
    INV_RUN(test_cache_drops_the_least_recently_used);
    INV_RUN(test_cache_holds_many_ids_within_its_bound);
    INV_RUN(test_closed_port_is_unavailable);
    INV_RUN(test_found_schema_is_fetched_once_then_cached);
    INV_RUN(test_cache_bound_refetches_the_dropped_id);
    INV_RUN(test_unknown_id_is_not_found_and_not_cached);
    INV_RUN(test_404_that_is_not_the_registrys_is_unavailable);
    INV_RUN(test_5xx_is_unavailable);
    INV_RUN(test_401_is_unavailable);
    INV_RUN(test_malformed_answer_is_unavailable);
    INV_RUN(test_timeout_is_unavailable);
    INV_RUN(test_negative_id_is_invalid);
    INV_RUN(test_next_url_is_tried_when_one_is_down);
    INV_RUN(test_https_with_the_registrys_ca_is_trusted);
    INV_RUN(test_https_with_an_unknown_ca_is_unavailable);
    INV_RUN(test_register_posts_to_versions_and_returns_the_id);
    INV_RUN(test_register_without_auto_register_only_looks_up);
    INV_RUN(test_incompatible_schema_is_refused_with_the_registrys_message);
    INV_RUN(test_register_to_a_closed_port_is_unavailable);
    INV_RUN(test_compatible_schema_is_compatible_and_nothing_is_registered);
    INV_RUN(test_incompatible_schema_comes_with_the_registrys_messages);
    INV_RUN(test_incompatible_without_messages_has_an_empty_reason);
    INV_RUN(test_subject_without_versions_is_compatible);
    INV_RUN(test_invalid_schema_check_is_refused_naming_the_subject);
    INV_RUN(test_check_answer_without_verdict_is_unavailable);
    INV_RUN(test_check_against_a_closed_port_is_unavailable);
    INV_RUN(test_check_without_subject_is_invalid);
    INV_RUN(test_every_message_type_has_a_topic_key_of_the_configuration);
    INV_RUN(test_subject_is_the_topic_with_value_suffix);
    INV_RUN(test_strerror_names_every_code);
    MHD_stop_daemon(fake);
    fake_tls_stop();
    return INV_TEST_DONE();
}
