#include "inv_schema_source.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_log.h"
#include "inv_time.h"

struct inv_schema_source_s {
    inv_schema_resolver_t resolver; /* over the registry; unused without one */
    const inv_codec_conf_t *codec;
    inv_registry_t *reg;            /* NULL: the static map */
    int32_t out_ids[INV_MSG_COUNT]; /* registered output ids; -1 none */
    atomic_int unavailable;
    int64_t recovery_ms;      /* schema.registry.recovery.ms */
    int64_t recovering_until; /* monotonic ms: "not found" is held until then */
    pthread_mutex_t lock;
    char last_error[256];
};

static const char *const topic_keys[INV_MSG_COUNT] = {
    [INV_MSG_SALE_EVENT] = "topic.sales",
    [INV_MSG_RETURN_EVENT] = "topic.returns",
    [INV_MSG_RESTOCK_EVENT] = "topic.restocks",
    [INV_MSG_STOCK_MOVEMENT] = "topic.movements",
    [INV_MSG_REORDER_POLICY] = "topic.policies",
    [INV_MSG_STOCK_LEVEL] = "topic.stock",
    [INV_MSG_REORDER_EVENT] = "topic.reorders",
    [INV_MSG_SHORTAGE_EVENT] = "topic.shortages",
    [INV_MSG_RESERVATION_EVENT] = "topic.reservations",
    [INV_MSG_TRANSFER_EVENT] = "topic.transfers",
    [INV_MSG_CHANNEL_LOCATION] = "topic.channels",
    [INV_MSG_AVAILABILITY_LEVEL] = "topic.availability",
    [INV_MSG_RESERVATION_STATUS] = "topic.reservation_status",
};

const char *inv_schema_topic_key(inv_msg_type_t t) { return (unsigned)t < INV_MSG_COUNT ? topic_keys[t] : NULL; }

int inv_schema_subject(const char *topic, char *out, size_t out_size) {
    int n = snprintf(out, out_size, "%s-value", topic);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

static void set_failure(inv_schema_source_t *s, int unavailable, const char *why) {
    atomic_store(&s->unavailable, unavailable);
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_error, sizeof(s->last_error), "%.*s", (int)sizeof(s->last_error) - 1, unavailable ? why : "");
    pthread_mutex_unlock(&s->lock);
}

static int32_t id_for(const inv_schema_resolver_t *r, inv_msg_type_t type) {
    const inv_schema_source_t *s = r->opaque;
    if (type < INV_MSG_COUNT && s->out_ids[type] >= 0)
        return s->out_ids[type];
    return s->codec->schema_ids[type < INV_MSG_COUNT ? type : 0];
}

/* The registry's schema text stays valid until the next request on the
 * client; the decoder parses it at once, on this same thread. */
static int writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len, char *errstr,
                         size_t errstr_size) {
    inv_schema_source_t *s = r->opaque;
    int rc = inv_registry_schema_by_id(s->reg, id, json, len, errstr, errstr_size);
    if (rc != 0 && rc != INV_REGISTRY_NOT_FOUND) {
        set_failure(s, 1, errstr);
        return INV_SCHEMA_RETRY;
    }
    int64_t now = inv_time_mono_ms();
    if (atomic_load(&s->unavailable)) { /* it answers again: it may still be loading its schemas */
        set_failure(s, 0, "");
        s->recovering_until = now + s->recovery_ms;
    }
    if (rc == 0)
        return 0;
    if (now < s->recovering_until) {
        char why[INV_ERRSTR_SIZE];
        snprintf(why, sizeof(why),
                 "%s; asked again for %.0f s more (schema.registry.recovery.ms: the registry may "
                 "still be loading)",
                 errstr, (double)(s->recovering_until - now) / 1000.0);
        snprintf(errstr, errstr_size, "%s", why);
        return INV_SCHEMA_RETRY;
    }
    return INV_SCHEMA_UNKNOWN;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One output's id, waiting out an unavailable registry. */
static int register_output(inv_schema_source_t *s, const inv_schema_output_t *o, const volatile sig_atomic_t *run,
                           char *errstr, size_t errstr_size) {
    char subject[512];
    if (inv_schema_subject(o->topic, subject, sizeof(subject)) != 0) {
        snprintf(errstr, errstr_size, "schema registry: topic \"%.64s...\" is too long for a subject", o->topic);
        return -1;
    }
    const char *schema = inv_schema_json(o->type);
    long delay_ms = 1000;
    int warned = 0;
    for (;;) {
        int32_t id = -1;
        char err[INV_ERRSTR_SIZE];
        int rc = inv_registry_register(s->reg, subject, schema, &id, err, sizeof(err));
        if (rc == 0) {
            s->out_ids[o->type] = id;
            set_failure(s, 0, "");
            inv_log_info("schema registry: %s is schema id %d under %s", inv_msg_type_name(o->type), id, subject);
            if (warned)
                inv_log_info("schema registry: answering again");
            return 0;
        }
        if (rc != INV_REGISTRY_UNAVAILABLE) {
            snprintf(errstr, errstr_size, "schema registry refused %s for subject %s: %s", inv_msg_type_name(o->type),
                     subject, err);
            return -1;
        }
        set_failure(s, 1, err);
        if (!run) {
            snprintf(errstr, errstr_size, "schema registry unavailable to register %s: %s", subject, err);
            return -1;
        }
        if (!warned++)
            inv_log_warn("schema registry unavailable while registering %s: %s; retrying", subject, err);
        for (long waited = 0; waited < delay_ms; waited += 100) {
            if (run && !*run) {
                snprintf(errstr, errstr_size, "stopped while waiting for the schema registry: %s", err);
                return -1;
            }
            sleep_ms(100);
        }
        delay_ms = delay_ms * 2 > 10000 ? 10000 : delay_ms * 2;
    }
}

int inv_schema_source_open(const inv_conf_t *conf, const inv_codec_conf_t *codec, const inv_schema_output_t *outputs,
                           size_t n_outputs, const volatile sig_atomic_t *run, inv_schema_source_t **out, char *errstr,
                           size_t errstr_size) {
    *out = NULL;
    inv_registry_conf_t rc;
    if (inv_registry_conf_read(conf, &rc, errstr, errstr_size) != 0)
        return -1;
    inv_schema_source_t *s = calloc(1, sizeof(*s));
    if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    s->codec = codec;
    s->recovery_ms = rc.recovery_ms;
    s->recovering_until = inv_time_mono_ms() + rc.recovery_ms; /* it may have started with us */
    for (int t = 0; t < INV_MSG_COUNT; t++)
        s->out_ids[t] = -1;
    if (inv_registry_conf_enabled(&rc)) {
        if (!(s->reg = inv_registry_new(&rc, errstr, errstr_size))) {
            inv_schema_source_close(s);
            return -1;
        }
        s->resolver = (inv_schema_resolver_t){.lookup_id = NULL, /* no static map: the registry keeps ids apart */
                                              .id_for = id_for,
                                              .writer_schema = writer_schema,
                                              .opaque = s};
        if (codec->output_format == INV_FORMAT_AVRO)
            for (size_t i = 0; i < n_outputs; i++)
                if (register_output(s, &outputs[i], run, errstr, errstr_size) != 0) {
                    inv_schema_source_close(s);
                    return -1;
                }
    }
    *out = s;
    return 0;
}

const inv_schema_resolver_t *inv_schema_source_resolver(const inv_schema_source_t *s) {
    return s->reg ? &s->resolver : &s->codec->resolver;
}

void inv_schema_source_health(inv_schema_source_t *s, inv_schema_source_health_t *out) {
    memset(out, 0, sizeof(*out));
    out->enabled = s->reg != NULL;
    if (!s->reg)
        return;
    out->unavailable = atomic_load(&s->unavailable);
    pthread_mutex_lock(&s->lock);
    snprintf(out->last_error, sizeof(out->last_error), "%s", s->last_error);
    pthread_mutex_unlock(&s->lock);
    inv_registry_stats(s->reg, &out->stats);
}

json_t *inv_schema_source_health_json(inv_schema_source_t *s, char *reason, size_t reason_size) {
    inv_schema_source_health_t sh;
    if (!s || (inv_schema_source_health(s, &sh), !sh.enabled))
        return NULL;
    if (sh.unavailable && !*reason)
        snprintf(reason, reason_size, "schema registry unavailable (input held, retried): %s", sh.last_error);
    return json_pack("{s:b, s:s, s:I, s:I}", "available", !sh.unavailable, "last_error", sh.last_error, "requests",
                     (json_int_t)sh.stats.requests, "failures", (json_int_t)sh.stats.failures);
}

int inv_schema_source_prometheus(inv_schema_source_t *s, inv_buf_t *out) {
    inv_schema_source_health_t sh;
    if (!s || (inv_schema_source_health(s, &sh), !sh.enabled))
        return 0;
    char text[1024];
    int n =
        snprintf(text, sizeof(text),
                 "# HELP inv_schema_registry_requests_total HTTP requests to the schema registry, by outcome "
                 "(failed: no usable answer)\n# TYPE inv_schema_registry_requests_total counter\n"
                 "inv_schema_registry_requests_total{outcome=\"answered\"} %llu\n"
                 "inv_schema_registry_requests_total{outcome=\"failed\"} %llu\n"
                 "# HELP inv_schema_registry_lookups_total Writer schemas looked up by id, by where the answer "
                 "came from\n# TYPE inv_schema_registry_lookups_total counter\n"
                 "inv_schema_registry_lookups_total{from=\"cache\"} %llu\n"
                 "inv_schema_registry_lookups_total{from=\"registry\"} %llu\n"
                 "# HELP inv_schema_registry_unavailable 1 while the schema registry gives no usable answer "
                 "(input held)\n# TYPE inv_schema_registry_unavailable gauge\ninv_schema_registry_unavailable %d\n",
                 (unsigned long long)(sh.stats.requests - sh.stats.failures), (unsigned long long)sh.stats.failures,
                 (unsigned long long)sh.stats.cache_hits, (unsigned long long)sh.stats.cache_misses, sh.unavailable);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -1;
    return inv_buf_append(out, text, (size_t)n) ? -1 : 0;
}

void inv_schema_source_close(inv_schema_source_t *s) {
    if (!s)
        return;
    inv_registry_destroy(s->reg);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
