/*
 * inv_registry_conf: the schema registry client's settings, read from a
 * configuration once at start-up (keys named as Confluent's clients name
 * them) and checked there, so that a bad URL stops the program before it
 * consumes anything.
 */
#ifndef INV_REGISTRY_CONF_H
#define INV_REGISTRY_CONF_H

#include <stdint.h>

#include "inv_conf.h"

typedef struct {
    const char *url;                      /* schema.registry.url: "" = no registry; "a,b": tried in order */
    const char *basic_auth_user_info;     /* schema.registry.basic.auth.user.info: "" or user:password */
    const char *ssl_ca_location;          /* schema.registry.ssl.ca.location: "" = the system's CAs */
    const char *ssl_certificate_location; /* schema.registry.ssl.certificate.location: "" = none */
    const char *ssl_key_location;         /* schema.registry.ssl.key.location: "" = none */
    int64_t request_timeout_ms;           /* schema.registry.request.timeout.ms */
    int64_t cache_capacity;               /* schema.registry.cache.capacity: schemas kept by id */
    int64_t recovery_ms;                  /* schema.registry.recovery.ms: "not found" held this long after an outage */
    int auto_register;                    /* auto.register.schemas: 1 register, 0 look up only */
} inv_registry_conf_t;

/* Fills *out from conf and checks it (inv_registry_conf_check). The strings
 * are borrowed from conf: valid until those keys are set again or conf is
 * destroyed (inv_registry_new copies what it keeps). Returns 0, or -1 with
 * errstr naming the key, its value and what was expected. */
int inv_registry_conf_read(const inv_conf_t *conf, inv_registry_conf_t *out, char *errstr, size_t errstr_size);

/* Checks a filled struct: every URL of the list http:// or https:// with a
 * host; user info "user:password"; certificate and key given together; each
 * file named readable; timeout and capacity positive. Returns 0, or -1 with
 * errstr naming the key. An empty url is valid (no registry). */
int inv_registry_conf_check(const inv_registry_conf_t *c, char *errstr, size_t errstr_size);

/* Splits a schema.registry.url list into its URLs, each trimmed of white
 * space and of trailing slashes, and checks each (http:// or https://, a
 * host). On 0, *urls is a new array of *count new strings (at least one),
 * freed with inv_registry_conf_urls_free. -1 with errstr naming the key and
 * the bad item; nothing to free then. */
int inv_registry_conf_urls(const char *list, char ***urls, size_t *count, char *errstr, size_t errstr_size);
void inv_registry_conf_urls_free(char **urls, size_t count);

/* 1 when c names a registry (url not empty), else 0. */
int inv_registry_conf_enabled(const inv_registry_conf_t *c);

#endif
