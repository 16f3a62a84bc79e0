/* inv_registry_conf: the registry client's settings from a configuration. */
#include "inv_registry_conf.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "inv_buf.h"
#include "inv_log.h"
#include "inv_parse.h"

#define KEY_URL "schema.registry.url"

/* One item of the list: http(s)://host[:port][/path], as curl parses it. */
static int check_url(const char *item, char *errstr, size_t errstr_size) {
    if (strncasecmp(item, "http://", 7) != 0 && strncasecmp(item, "https://", 8) != 0)
        return inv_errstr(errstr, errstr_size, "%s: \"%s\" is not an http:// or https:// URL", KEY_URL, item);
    CURLU *u = curl_url();
    if (!u)
        abort();
    char *host = NULL;
    int bad = curl_url_set(u, CURLUPART_URL, item, 0) != CURLUE_OK ||
              curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host;
    curl_free(host);
    curl_url_cleanup(u);
    if (bad)
        return inv_errstr(errstr, errstr_size, "%s: \"%s\" is not a URL with a host (http(s)://host:port[/path])",
                          KEY_URL, item);
    return 0;
}

void inv_registry_conf_urls_free(char **urls, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(urls[i]);
    free(urls);
}

int inv_registry_conf_urls(const char *list, char ***urls, size_t *count, char *errstr, size_t errstr_size) {
    char *copy = strdup(list);
    if (!copy)
        abort();
    char **out = NULL;
    size_t n = 0;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *item = inv_parse_trim(tok);
        size_t len = strlen(item);
        while (len > 0 && item[len - 1] == '/')
            item[--len] = '\0';
        if (len == 0)
            continue;
        if ((rc = check_url(item, errstr, errstr_size)) != 0)
            break;
        out = inv_xrealloc(out, (n + 1) * sizeof(*out));
        if (!(out[n] = strdup(item)))
            abort();
        n++;
    }
    free(copy);
    if (rc == 0 && n == 0)
        rc = inv_errstr(errstr, errstr_size, "%s: \"%s\" holds no URL (expected http(s)://host:port[,...])", KEY_URL,
                        list);
    if (rc != 0) {
        inv_registry_conf_urls_free(out, n);
        return -1;
    }
    *urls = out;
    *count = n;
    return 0;
}

static int check_file(const char *key, const char *path, char *errstr, size_t errstr_size) {
    if (*path && access(path, R_OK) != 0)
        return inv_errstr(errstr, errstr_size, "%s: cannot read \"%s\": %s", key, path, strerror(errno));
    return 0;
}

int inv_registry_conf_check(const inv_registry_conf_t *c, char *errstr, size_t errstr_size) {
    if (inv_registry_conf_enabled(c)) {
        char **urls;
        size_t n;
        if (inv_registry_conf_urls(c->url, &urls, &n, errstr, errstr_size) != 0)
            return -1;
        inv_registry_conf_urls_free(urls, n);
    }
    if (*c->basic_auth_user_info && !strchr(c->basic_auth_user_info, ':'))
        return inv_errstr(errstr, errstr_size,
                          "schema.registry.basic.auth.user.info: expected user:password, got a value without ':'");
    if (!*c->ssl_certificate_location != !*c->ssl_key_location)
        return inv_errstr(errstr, errstr_size,
                          "schema.registry.ssl.certificate.location and schema.registry.ssl.key.location: set both "
                          "or neither (certificate \"%s\", key \"%s\")",
                          c->ssl_certificate_location, c->ssl_key_location);
    if (check_file("schema.registry.ssl.ca.location", c->ssl_ca_location, errstr, errstr_size) != 0 ||
        check_file("schema.registry.ssl.certificate.location", c->ssl_certificate_location, errstr, errstr_size) != 0 ||
        check_file("schema.registry.ssl.key.location", c->ssl_key_location, errstr, errstr_size) != 0)
        return -1;
    if (c->request_timeout_ms <= 0)
        return inv_errstr(errstr, errstr_size, "schema.registry.request.timeout.ms: %lld is not positive",
                          (long long)c->request_timeout_ms);
    if (c->cache_capacity <= 0)
        return inv_errstr(errstr, errstr_size, "schema.registry.cache.capacity: %lld is not positive",
                          (long long)c->cache_capacity);
    return 0;
}

int inv_registry_conf_read(const inv_conf_t *conf, inv_registry_conf_t *out, char *errstr, size_t errstr_size) {
    out->url = inv_conf_get(conf, KEY_URL);
    out->basic_auth_user_info = inv_conf_get(conf, "schema.registry.basic.auth.user.info");
    out->ssl_ca_location = inv_conf_get(conf, "schema.registry.ssl.ca.location");
    out->ssl_certificate_location = inv_conf_get(conf, "schema.registry.ssl.certificate.location");
    out->ssl_key_location = inv_conf_get(conf, "schema.registry.ssl.key.location");
    out->request_timeout_ms = inv_conf_get_int(conf, "schema.registry.request.timeout.ms");
    out->cache_capacity = inv_conf_get_int(conf, "schema.registry.cache.capacity");
    out->recovery_ms = inv_conf_get_int(conf, "schema.registry.recovery.ms");
    out->auto_register = strcmp(inv_conf_get(conf, "auto.register.schemas"), "true") == 0;
    return inv_registry_conf_check(out, errstr, errstr_size);
}

int inv_registry_conf_enabled(const inv_registry_conf_t *c) { return c->url && c->url[0] != '\0'; }
