/*
 * inv_schema_source: where a program's Avro schemas come from. Without
 * schema.registry.url, the static map of schema.id.<Name> (inv_codec_conf).
 * With it, a schema registry (inv_registry): decoders ask it for the writer
 * schema of each id they meet, and, when outputs are written in Avro, each
 * output's schema is registered (auto.register.schemas=true) or looked up
 * under "<topic>-value" (Confluent's TopicNameStrategy) at start-up and
 * encoders write that id.
 *
 * A registry that cannot be reached is never the record's fault: decoders
 * get INV_SCHEMA_RETRY from the resolver (the caller holds the input and
 * retries), and the start-up registration retries with a back-off. Nor is
 * an id it reports not found within schema.registry.recovery.ms (60 s) of
 * answering again after an outage, or of start-up: a registry replaying its
 * storage answers "not found" for ids it has not loaded yet. Past that, not
 * found is final (INV_SCHEMA_UNKNOWN: the record is dead-lettered). A
 * registry that refuses our schema (incompatible with the subject's
 * versions) is a start-up error naming the subject and quoting the registry.
 *
 * Threads: the resolver and the registry client are used by one thread (the
 * program's loop); inv_schema_source_health() may be called from any thread.
 */
#ifndef INV_SCHEMA_SOURCE_H
#define INV_SCHEMA_SOURCE_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#include "inv_buf.h"
#include "inv_codec.h"
#include "inv_codec_conf.h"
#include "inv_conf.h"
#include "inv_registry.h"

typedef struct inv_schema_source_s inv_schema_source_t;

/* An output of the program: its message type and the topic it goes to. */
typedef struct {
    inv_msg_type_t type;
    const char *topic;
} inv_schema_output_t;

/* The configuration key of the topic that carries messages of type t
 * ("topic.stock" for StockLevel, "topic.sales" for SaleEvent, ...), whose
 * subject is "<topic>-value"; NULL for a type out of range. */
const char *inv_schema_topic_key(inv_msg_type_t t);

/* The subject of topic's values, "<topic>-value" (Confluent's
 * TopicNameStrategy), into out. 0, or -1 when it does not fit. */
int inv_schema_subject(const char *topic, char *out, size_t out_size);

/*
 * Opens the source for a program whose codec settings are *codec (borrowed:
 * keep it where it is while the source lives) and whose outputs are
 * outputs[0..n_outputs) (borrowed for the call). With a registry and
 * codec->output_format avro, registers or looks up each output's schema,
 * retrying an unavailable registry every 1 to 10 s while *run is non-zero,
 * with one warning per outage (run NULL: one try, for one-shot tools).
 * Returns 0 and *out, or -1 with errstr: a bad schema.registry.* setting,
 * the registry refusing a schema ("schema registry refused subject
 * inventory.movements-value: <its message>"), or *run cleared while waiting.
 */
int inv_schema_source_open(const inv_conf_t *conf, const inv_codec_conf_t *codec, const inv_schema_output_t *outputs,
                           size_t n_outputs, const volatile sig_atomic_t *run, inv_schema_source_t **out, char *errstr,
                           size_t errstr_size);

/* The resolver for inv_decoder_new / inv_encoder_new; valid while the
 * source lives. Without a registry, &codec->resolver. */
const inv_schema_resolver_t *inv_schema_source_resolver(const inv_schema_source_t *s);

/* What /healthz and /metrics show of the registry. */
typedef struct {
    int enabled;                /* a registry is configured */
    int unavailable;            /* the last request to it failed to get an answer */
    char last_error[256];       /* that failure ("" when none) */
    inv_registry_stats_t stats; /* requests, failures, cache hits and misses */
} inv_schema_source_health_t;

/* Fills *out. Safe from any thread. */
void inv_schema_source_health(inv_schema_source_t *s, inv_schema_source_health_t *out);

/* The "schema_registry" object of /healthz,
 * {"available":B,"last_error":"...","requests":N,"failures":N}, and while the
 * registry is unavailable "schema registry unavailable (input held,
 * retried): <the error>" into reason when reason is empty. NULL without a
 * registry (or out of memory); the caller owns the object. Safe from any
 * thread; s may be NULL. */
json_t *inv_schema_source_health_json(inv_schema_source_t *s, char *reason, size_t reason_size);

/* Appends the registry's series (inv_schema_registry_requests_total{outcome},
 * inv_schema_registry_lookups_total{from}, inv_schema_registry_unavailable)
 * to out as Prometheus text; nothing without a registry (s may be NULL). 0,
 * or -1 when out of memory. Safe from any thread. */
int inv_schema_source_prometheus(inv_schema_source_t *s, inv_buf_t *out);

/* Frees the source and its registry client. NULL is a no-op. */
void inv_schema_source_close(inv_schema_source_t *s);

#endif
