/*
 * inv_registry: a client of a Confluent-compatible schema registry (the
 * Confluent REST API; Apicurio serves it at /apis/ccompat/v7), over libcurl
 * and jansson.
 *
 * What a call returns tells the caller what to do with the record at hand:
 *   0                        done
 *   INV_REGISTRY_NOT_FOUND   the registry answered that the schema id does
 *                            not exist: a property of the record (dead-letter it)
 *   INV_REGISTRY_REFUSED     the registry refused a schema (incompatible,
 *                            invalid, not registered): a property of the schema
 *   INV_REGISTRY_UNAVAILABLE no usable answer: connection refused, timeout,
 *                            TLS, HTTP 5xx, 401/403, an answer not from a
 *                            registry (a 404 without a registry error code, a
 *                            malformed body). Not the record's fault: hold the
 *                            input and retry later (this library never retries
 *                            nor sleeps; the caller decides the backoff)
 *   INV_REGISTRY_INVALID     a bad argument or configuration
 * Each failing call also writes one sentence into errstr (errstr_size bytes,
 * INV_ERRSTR_SIZE is enough) naming the URL and the HTTP status, the curl
 * error or the registry's message verbatim.
 *
 * URLs: schema.registry.url may list several; a request goes to the one that
 * last answered, and on UNAVAILABLE to each of the others in turn. Any
 * answer from a registry (found, not found, refused) ends the round.
 *
 * Threads: a client is used by one thread at a time (it keeps one curl
 * handle and its connections alive between requests);
 * inv_registry_stats() may be called from any thread at any time (it reads
 * atomics, for /metrics). Clients of different threads are independent.
 *
 * libcurl's global state: inv_registry_new() initializes it and
 * inv_registry_destroy() releases it. Since libcurl 7.84 (Debian 12 has
 * 7.88) curl_global_init is thread-safe and counted when curl reports
 * CURL_VERSION_THREADSAFE, so nothing is asked of main. With an older or
 * non-thread-safe libcurl the first inv_registry_new() initializes it once
 * (pthread_once) and it is never released: create the first client before
 * starting threads that use libcurl otherwise.
 *
 * The library never exits, never writes to stdout and touches no process
 * state (no signals: CURLOPT_NOSIGNAL).
 */
#ifndef INV_REGISTRY_H
#define INV_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "inv_registry_conf.h"

#define INV_REGISTRY_INVALID (-1)
#define INV_REGISTRY_NOT_FOUND (-2)
#define INV_REGISTRY_UNAVAILABLE (-3)
#define INV_REGISTRY_REFUSED (-4)

typedef struct inv_registry_s inv_registry_t;

/* Counts since inv_registry_new. A request is one HTTP exchange with one
 * URL (a call may make several); a failure is a request that ended
 * UNAVAILABLE. Cache hits and misses count inv_registry_schema_by_id calls. */
typedef struct {
    uint64_t requests;
    uint64_t failures;
    uint64_t cache_hits;
    uint64_t cache_misses;
} inv_registry_stats_t;

/* A client for conf, which must name a registry (inv_registry_conf_enabled).
 * conf is checked again (inv_registry_conf_check) and copied: it may go
 * once this returns. Sends nothing: an unreachable registry shows on the
 * first request. Returns the client, or NULL with errstr set (a bad conf,
 * no registry named, libcurl failed to initialize). Free with
 * inv_registry_destroy. */
inv_registry_t *inv_registry_new(const inv_registry_conf_t *conf, char *errstr, size_t errstr_size);

/* Frees the client, its cache and its connections. NULL is a no-op. Every
 * schema string it returned becomes invalid. */
void inv_registry_destroy(inv_registry_t *reg);

/* The writer schema of id: GET <url>/schemas/ids/<id>, or the cache (ids
 * are immutable, so a schema once fetched is kept, at most
 * schema.registry.cache.capacity of them, least recently used dropped
 * first). On 0, *schema_json is the schema's text (NUL-terminated, *len
 * bytes) owned by the client: valid until the next inv_registry_schema_by_id
 * on this client (which may drop it from the cache) or inv_registry_destroy,
 * whichever comes first; parse or copy it before then.
 * Errors: INV_REGISTRY_NOT_FOUND (HTTP 404 with the registry's error code
 * 40403, and only that), INV_REGISTRY_UNAVAILABLE (every other failure: a
 * 404 without 40403 is a wrong URL or a proxy, not a missing id),
 * INV_REGISTRY_INVALID (id < 0). Nothing is cached on error. */
int inv_registry_schema_by_id(inv_registry_t *reg, int32_t id, const char **schema_json, size_t *len, char *errstr,
                              size_t errstr_size);

/* The id of schema_json (an Avro schema, as text) under subject. With
 * auto.register.schemas=true: POST <url>/subjects/<subject>/versions, which
 * registers it or answers the id it already has; with false: POST
 * <url>/subjects/<subject>, a lookup only. Not cached: call it once per
 * subject and schema and keep the id. Both strings are borrowed for the call.
 * Errors: INV_REGISTRY_REFUSED (HTTP 409 incompatible, 422 invalid, 404 with a
 * registry error code: subject or schema not registered), errstr naming the
 * subject and holding the registry's message verbatim;
 * INV_REGISTRY_UNAVAILABLE; INV_REGISTRY_INVALID (empty subject, NULL). */
int inv_registry_register(inv_registry_t *reg, const char *subject, const char *schema_json, int32_t *id, char *errstr,
                          size_t errstr_size);

/* What inv_registry_check_compatibility found; non-zero means compatible. */
#define INV_REGISTRY_INCOMPATIBLE 0
#define INV_REGISTRY_COMPATIBLE 1
#define INV_REGISTRY_NO_VERSIONS 2 /* the subject has no version yet: nothing to break */

/* Whether schema_json (an Avro schema, as text) may be registered under
 * subject: POST <url>/compatibility/subjects/<subject>/versions/latest
 * ?verbose=true, judged by the subject's compatibility level (or the
 * registry's global one) against its latest version. Registers nothing.
 * Both strings are borrowed for the call.
 * On 0, *compatible is INV_REGISTRY_COMPATIBLE, INV_REGISTRY_INCOMPATIBLE,
 * or INV_REGISTRY_NO_VERSIONS when the registry answers 404 with error code
 * 40401 (no such subject) or 40402 (no such version): a subject nobody has
 * registered under is compatible with anything. Apicurio 3.0 answers
 * {"is_compatible": true} for such a subject instead, so there it shows as
 * COMPATIBLE. reason (reason_size bytes; may be NULL) gets the registry's
 * explanation when it gives one: for INCOMPATIBLE the "messages" of the
 * verbose answer joined by "; " (Confluent sends them; Apicurio 3.0 sends
 * none, reason is then ""), for NO_VERSIONS its message; "" otherwise.
 * Errors: INV_REGISTRY_REFUSED (a registry error other than 40401/40402,
 * e.g. HTTP 422 error_code 42201 for a schema that is not valid Avro),
 * errstr naming the subject and holding the registry's message verbatim;
 * INV_REGISTRY_UNAVAILABLE; INV_REGISTRY_INVALID (empty subject, NULL). */
int inv_registry_check_compatibility(inv_registry_t *reg, const char *subject, const char *schema_json, int *compatible,
                                     char *reason, size_t reason_size, char *errstr, size_t errstr_size);

/* Fills *out with the client's counters. Thread-safe (see above). */
void inv_registry_stats(const inv_registry_t *reg, inv_registry_stats_t *out);

/* A static name for a return code of this library: "ok", "not found",
 * "refused", "unavailable", "invalid argument", or "unknown error". */
const char *inv_registry_strerror(int rc);

#endif
