/* inv_registry: the schema registry client (libcurl + jansson). */
#include "inv_registry.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_buf.h"
#include "inv_log.h"
#include "inv_registry_cache.h"

#define CONTENT_TYPE "application/vnd.schemaregistry.v1+json"
#define BODY_QUOTE_MAX 200           /* bytes of a body that is not a registry's error quoted in errstr */
#define BODY_MAX (16u * 1024 * 1024) /* a longer answer is not a registry's: the transfer fails */

struct inv_registry_s {
    char **urls;
    size_t url_count;
    size_t current; /* the URL that answered last */
    int auto_register;
    CURL *curl;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    inv_buf_t body;
    int global_counted; /* curl_global_cleanup owed at destroy */
    inv_registry_cache_t *cache;
    _Atomic uint64_t requests, failures, cache_hits, cache_misses;
};

/* An HTTP answer. error_code and message are the registry's JSON error
 * ({"error_code": 40403, "message": "..."}), when the body is one. */
typedef struct {
    long status;
    int error_code; /* 0: the body is not a registry error */
    char message[512];
} answer_t;

const char *inv_registry_strerror(int rc) {
    switch (rc) {
    case 0: return "ok";
    case INV_REGISTRY_INVALID: return "invalid argument";
    case INV_REGISTRY_NOT_FOUND: return "not found";
    case INV_REGISTRY_UNAVAILABLE: return "unavailable";
    case INV_REGISTRY_REFUSED: return "refused";
    default: return "unknown error";
    }
}

/* --- libcurl's global state ------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_once_rc;
static void global_init_once(void) { global_once_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* curl_global_init is thread-safe, and counted, when libcurl says so
 * (7.84+); otherwise it runs once and is never undone. */
static int global_acquire(int *counted) {
#ifdef CURL_VERSION_THREADSAFE
    if (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_THREADSAFE) {
        *counted = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
        return *counted ? 0 : -1;
    }
#endif
    *counted = 0;
    pthread_once(&global_once, global_init_once);
    return global_once_rc == CURLE_OK ? 0 : -1;
}

/* --- the client -------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque) {
    inv_buf_t *b = opaque;
    size_t n = size * nmemb;
    if (n > BODY_MAX - b->len)
        return 0;
    return inv_buf_append(b, data, n) == 0 ? n : 0;
}

void inv_registry_destroy(inv_registry_t *reg) {
    if (!reg)
        return;
    if (reg->curl)
        curl_easy_cleanup(reg->curl);
    curl_slist_free_all(reg->headers);
    inv_buf_free(&reg->body);
    inv_registry_cache_destroy(reg->cache);
    inv_registry_conf_urls_free(reg->urls, reg->url_count);
    if (reg->global_counted)
        curl_global_cleanup();
    free(reg);
}

static struct curl_slist *append_header(struct curl_slist *list, const char *h) {
    struct curl_slist *l = curl_slist_append(list, h);
    if (!l)
        abort();
    return l;
}

inv_registry_t *inv_registry_new(const inv_registry_conf_t *conf, char *errstr, size_t errstr_size) {
    if (!inv_registry_conf_enabled(conf)) {
        inv_errstr(errstr, errstr_size, "schema.registry.url: empty, no registry to connect to");
        return NULL;
    }
    if (inv_registry_conf_check(conf, errstr, errstr_size) != 0)
        return NULL;
    inv_registry_t *reg = calloc(1, sizeof(*reg));
    if (!reg)
        abort();
    inv_buf_init(&reg->body);
    if (inv_registry_conf_urls(conf->url, &reg->urls, &reg->url_count, errstr, errstr_size) != 0) {
        inv_registry_destroy(reg);
        return NULL;
    }
    if (global_acquire(&reg->global_counted) != 0) {
        inv_errstr(errstr, errstr_size, "schema registry: libcurl's global initialization failed");
        inv_registry_destroy(reg);
        return NULL;
    }
    reg->auto_register = conf->auto_register;
    reg->cache = inv_registry_cache_new((size_t)conf->cache_capacity);
    if (!(reg->curl = curl_easy_init())) {
        inv_errstr(errstr, errstr_size, "schema registry: curl_easy_init failed");
        inv_registry_destroy(reg);
        return NULL;
    }
    reg->headers = append_header(NULL, "Accept: " CONTENT_TYPE ", application/json");
    reg->headers = append_header(reg->headers, "Content-Type: " CONTENT_TYPE);
    CURL *c = reg->curl;
    CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                        \
    do {                                        \
        if (rc == CURLE_OK)                     \
            rc = curl_easy_setopt(c, opt, val); \
    } while (0)
    SETOPT(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for timeouts: process state is main's */
    SETOPT(CURLOPT_TIMEOUT_MS, (long)conf->request_timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)conf->request_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: CURLOPT_PROTOCOLS deprecated */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_HTTPHEADER, reg->headers);
    SETOPT(CURLOPT_USERAGENT, "inventory-events/" INV_VERSION);
    SETOPT(CURLOPT_ERRORBUFFER, reg->curl_err);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &reg->body);
    if (*conf->basic_auth_user_info) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERPWD, conf->basic_auth_user_info);
    }
    if (*conf->ssl_ca_location)
        SETOPT(CURLOPT_CAINFO, conf->ssl_ca_location);
    if (*conf->ssl_certificate_location) {
        SETOPT(CURLOPT_SSLCERT, conf->ssl_certificate_location);
        SETOPT(CURLOPT_SSLKEY, conf->ssl_key_location);
    }
#undef SETOPT
    if (rc != CURLE_OK) {
        inv_errstr(errstr, errstr_size, "schema registry: libcurl refused an option: %s", curl_easy_strerror(rc));
        inv_registry_destroy(reg);
        return NULL;
    }
    return reg;
}

void inv_registry_stats(const inv_registry_t *reg, inv_registry_stats_t *out) {
    out->requests = atomic_load_explicit(&reg->requests, memory_order_relaxed);
    out->failures = atomic_load_explicit(&reg->failures, memory_order_relaxed);
    out->cache_hits = atomic_load_explicit(&reg->cache_hits, memory_order_relaxed);
    out->cache_misses = atomic_load_explicit(&reg->cache_misses, memory_order_relaxed);
}

static void count(_Atomic uint64_t *counter) { atomic_fetch_add_explicit(counter, 1, memory_order_relaxed); }

/* Writes the sentence into errstr and returns rc, for `return fail(...)`. */
static int fail(int rc, char *errstr, size_t errstr_size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int rc, char *errstr, size_t errstr_size, const char *fmt, ...) {
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* --- requests ---------------------------------------------------------------- */

/* Reads the registry's JSON error out of the body, if it is one. */
static void read_error(const inv_buf_t *body, answer_t *a) {
    a->error_code = 0;
    a->message[0] = '\0';
    json_t *root = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    json_t *code = json_object_get(root, "error_code");
    json_t *msg = json_object_get(root, "message");
    if (json_is_integer(code) && json_integer_value(code) > 0 && json_integer_value(code) <= INT32_MAX) {
        a->error_code = (int)json_integer_value(code);
        snprintf(a->message, sizeof(a->message), "%s", json_is_string(msg) ? json_string_value(msg) : "");
    } else if (body->len) {
        /* not a registry's answer: quote its start, for the operator */
        int n = body->len > BODY_QUOTE_MAX ? BODY_QUOTE_MAX : (int)body->len;
        snprintf(a->message, sizeof(a->message), "%.*s%s", n, body->data, body->len > BODY_QUOTE_MAX ? "..." : "");
    }
    json_decref(root);
}

/* An answer the caller acts on: a success, or a registry's own refusal
 * (4xx with its error code). 401/403 (credentials), 407, 408 and 429 are
 * the transport's, so are 5xx and a 4xx without a registry error. */
static int is_registry_answer(const answer_t *a) {
    if (a->status >= 200 && a->status < 300)
        return 1;
    if (a->status < 400 || a->status >= 500 || a->error_code == 0)
        return 0;
    return a->status != 401 && a->status != 403 && a->status != 407 && a->status != 408 && a->status != 429;
}

/* One exchange with one URL. 0 with *a filled when an HTTP answer arrived
 * that is a registry's (see is_registry_answer), its body in reg->body;
 * INV_REGISTRY_UNAVAILABLE with errstr set otherwise. */
static int exchange(inv_registry_t *reg, const char *url, const char *post_body, answer_t *a, char *errstr,
                    size_t errstr_size) {
    const char *method = post_body ? "POST" : "GET";
    reg->body.len = 0;
    reg->curl_err[0] = '\0';
    CURL *c = reg->curl;
    CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, url);
    if (rc == CURLE_OK && post_body) {
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post_body));
    } else if (rc == CURLE_OK) {
        rc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    count(&reg->requests);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        count(&reg->failures);
        return fail(INV_REGISTRY_UNAVAILABLE, errstr, errstr_size, "schema registry %s %s: %s (%s)", method, url,
                    curl_easy_strerror(rc), reg->curl_err[0] ? reg->curl_err : "no detail");
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    read_error(&reg->body, a);
    if (!is_registry_answer(a)) {
        count(&reg->failures);
        return fail(INV_REGISTRY_UNAVAILABLE, errstr, errstr_size, "schema registry %s %s: HTTP %ld%s%s", method, url,
                    a->status, a->message[0] ? ": " : " (empty body)", a->message);
    }
    return 0;
}

/* One request (path after the base URL, escaped) to each URL in turn from
 * the one that answered last, until one gives a registry's answer. 0 with
 * *a, reg->body and url (the full URL that answered) filled, or
 * INV_REGISTRY_UNAVAILABLE with errstr naming the last failure. */
static int request(inv_registry_t *reg, const char *path, const char *post_body, answer_t *a, char *url,
                   size_t url_size, char *errstr, size_t errstr_size) {
    for (size_t k = 0; k < reg->url_count; k++) {
        size_t i = (reg->current + k) % reg->url_count;
        snprintf(url, url_size, "%s%s", reg->urls[i], path);
        if (exchange(reg, url, post_body, a, errstr, errstr_size) == 0) {
            reg->current = i;
            return 0;
        }
    }
    if (reg->url_count > 1) {
        char last[INV_ERRSTR_SIZE];
        snprintf(last, sizeof(last), "%s", errstr ? errstr : "");
        inv_errstr(errstr, errstr_size, "%s (each of the %zu URLs of schema.registry.url failed; the last is shown)",
                   last, reg->url_count);
    }
    return INV_REGISTRY_UNAVAILABLE;
}

/* A body of a 2xx answer that is not what the registry sends. */
static int malformed(inv_registry_t *reg, const char *method, const char *url, const char *expected, char *errstr,
                     size_t errstr_size) {
    count(&reg->failures);
    int n = reg->body.len > BODY_QUOTE_MAX ? BODY_QUOTE_MAX : (int)reg->body.len;
    return fail(INV_REGISTRY_UNAVAILABLE, errstr, errstr_size,
                "schema registry %s %s: HTTP 200 with a malformed body (expected %s): %.*s", method, url, expected, n,
                reg->body.data ? reg->body.data : "");
}

int inv_registry_schema_by_id(inv_registry_t *reg, int32_t id, const char **schema_json, size_t *len, char *errstr,
                              size_t errstr_size) {
    if (id < 0)
        return fail(INV_REGISTRY_INVALID, errstr, errstr_size, "schema registry: schema id %" PRId32 " is negative",
                    id);
    const char *hit = inv_registry_cache_get(reg->cache, id, len);
    if (hit) {
        count(&reg->cache_hits);
        *schema_json = hit;
        return 0;
    }
    count(&reg->cache_misses);

    char path[64], url[2048];
    snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
    answer_t a;
    int rc = request(reg, path, NULL, &a, url, sizeof(url), errstr, errstr_size);
    if (rc != 0)
        return rc;
    if (a.status == 404 && a.error_code == 40403)
        return fail(INV_REGISTRY_NOT_FOUND, errstr, errstr_size,
                    "schema registry GET %s: schema id %" PRId32 " not found (HTTP 404, error_code %d: %s)", url, id,
                    a.error_code, a.message);
    if (a.status >= 300) { /* a registry's error that does not say "no such id" */
        count(&reg->failures);
        return fail(INV_REGISTRY_UNAVAILABLE, errstr, errstr_size,
                    "schema registry GET %s: HTTP %ld, error_code %d: %s", url, a.status, a.error_code, a.message);
    }

    json_t *root = json_loadb(reg->body.data ? reg->body.data : "", reg->body.len, 0, NULL);
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_string(schema)) {
        json_decref(root);
        return malformed(reg, "GET", url, "{\"schema\": \"...\"}", errstr, errstr_size);
    }
    *schema_json = inv_registry_cache_put(reg->cache, id, json_string_value(schema), json_string_length(schema));
    *len = json_string_length(schema);
    json_decref(root);
    return 0;
}

/* path = prefix + the escaped subject + suffix. 0, or INV_REGISTRY_INVALID
 * with errstr set when it does not fit. */
static int subject_path(inv_registry_t *reg, const char *prefix, const char *subject, const char *suffix, char *path,
                        size_t path_size, char *errstr, size_t errstr_size) {
    char *escaped = curl_easy_escape(reg->curl, subject, 0);
    if (!escaped)
        abort();
    int n = snprintf(path, path_size, "%s%s%s", prefix, escaped, suffix);
    curl_free(escaped);
    if (n < 0 || (size_t)n >= path_size)
        return fail(INV_REGISTRY_INVALID, errstr, errstr_size, "schema registry: subject \"%.64s...\" is too long",
                    subject);
    return 0;
}

/* The request body {"schema": "...", "schemaType": "AVRO"}, to free(); NULL
 * with errstr set when the schema is not UTF-8. */
static char *schema_body(const char *subject, const char *schema_json, char *errstr, size_t errstr_size) {
    json_t *req = json_pack("{s:s, s:s}", "schema", schema_json, "schemaType", "AVRO");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        fail(INV_REGISTRY_INVALID, errstr, errstr_size,
             "schema registry: the schema for subject \"%s\" is not UTF-8 text", subject);
    return body;
}

/* POSTs {"schema": schema_json} to <prefix><subject><suffix>: as request(),
 * INV_REGISTRY_INVALID when the path or the body cannot be made. */
static int post_schema(inv_registry_t *reg, const char *prefix, const char *subject, const char *suffix,
                       const char *schema_json, answer_t *a, char *url, size_t url_size, char *errstr,
                       size_t errstr_size) {
    char path[1024];
    if (subject_path(reg, prefix, subject, suffix, path, sizeof(path), errstr, errstr_size) != 0)
        return INV_REGISTRY_INVALID;
    char *body = schema_body(subject, schema_json, errstr, errstr_size);
    if (!body)
        return INV_REGISTRY_INVALID;
    int rc = request(reg, path, body, a, url, url_size, errstr, errstr_size);
    free(body);
    return rc;
}

int inv_registry_register(inv_registry_t *reg, const char *subject, const char *schema_json, int32_t *id, char *errstr,
                          size_t errstr_size) {
    if (!subject || !*subject || !schema_json || !id)
        return fail(INV_REGISTRY_INVALID, errstr, errstr_size,
                    "schema registry: register needs a subject, a schema and an id");
    char url[2048];
    answer_t a;
    int rc = post_schema(reg, "/subjects/", subject, reg->auto_register ? "/versions" : "", schema_json, &a, url,
                         sizeof(url), errstr, errstr_size);
    if (rc != 0)
        return rc;
    if (a.status >= 300)
        return fail(INV_REGISTRY_REFUSED, errstr, errstr_size,
                    "schema registry refused the schema of subject \"%s\" (POST %s: HTTP %ld, error_code %d): %s",
                    subject, url, a.status, a.error_code, a.message);

    json_t *root = json_loadb(reg->body.data ? reg->body.data : "", reg->body.len, 0, NULL);
    json_t *jid = json_object_get(root, "id");
    json_int_t v = json_is_integer(jid) ? json_integer_value(jid) : -1;
    json_decref(root);
    if (v < 0 || v > INT32_MAX)
        return malformed(reg, "POST", url, "{\"id\": <0..2147483647>}", errstr, errstr_size);
    *id = (int32_t)v;
    return 0;
}

/* The strings of a verbose answer's "messages", joined by "; " into out. */
static void join_messages(const json_t *messages, char *out, size_t out_size) {
    size_t used = 0, i;
    json_t *m;
    out[0] = '\0';
    json_array_foreach(messages, i, m) {
        if (!json_is_string(m) || used >= out_size)
            continue;
        int n = snprintf(out + used, out_size - used, "%s%s", used ? "; " : "", json_string_value(m));
        if (n > 0)
            used += (size_t)n;
    }
}

int inv_registry_check_compatibility(inv_registry_t *reg, const char *subject, const char *schema_json, int *compatible,
                                     char *reason, size_t reason_size, char *errstr, size_t errstr_size) {
    if (!subject || !*subject || !schema_json || !compatible)
        return fail(INV_REGISTRY_INVALID, errstr, errstr_size,
                    "schema registry: a compatibility check needs a subject, a schema and a result");
    char none[1];
    if (!reason || !reason_size)
        reason = none, reason_size = sizeof(none);
    reason[0] = '\0';
    char url[2048];
    answer_t a;
    int rc = post_schema(reg, "/compatibility/subjects/", subject, "/versions/latest?verbose=true", schema_json, &a,
                         url, sizeof(url), errstr, errstr_size);
    if (rc != 0)
        return rc;
    if (a.status == 404 && (a.error_code == 40401 || a.error_code == 40402)) {
        *compatible = INV_REGISTRY_NO_VERSIONS;
        snprintf(reason, reason_size, "%s", a.message);
        return 0;
    }
    if (a.status >= 300)
        return fail(INV_REGISTRY_REFUSED, errstr, errstr_size,
                    "schema registry refused to check the schema of subject \"%s\" (POST %s: HTTP %ld, error_code "
                    "%d): %s",
                    subject, url, a.status, a.error_code, a.message);

    json_t *root = json_loadb(reg->body.data ? reg->body.data : "", reg->body.len, 0, NULL);
    json_t *verdict = json_object_get(root, "is_compatible");
    if (!json_is_boolean(verdict)) {
        json_decref(root);
        return malformed(reg, "POST", url, "{\"is_compatible\": true|false}", errstr, errstr_size);
    }
    *compatible = json_is_true(verdict) ? INV_REGISTRY_COMPATIBLE : INV_REGISTRY_INCOMPATIBLE;
    if (!*compatible)
        join_messages(json_object_get(root, "messages"), reason, reason_size);
    json_decref(root);
    return 0;
}
