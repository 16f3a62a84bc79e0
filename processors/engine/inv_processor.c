#include "inv_processor.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "inv_codec_conf.h"
#include "inv_log.h"
#include "inv_main.h"
#include "inv_model.h"
#include "inv_processor_metrics.h"
#include "inv_schema_source.h"
#include "inv_time.h"
#include "inv_txloop.h"

/* ------------------------------------------------------- the kinds of input */

typedef struct kind_s kind_t;
struct kind_s {
    const char *topic_key;
    const char *name;            /* the kind label of the metrics */
    inv_event_kind_t event_kind; /* sale, return, restock: the codec's kind */
    int (*decode)(const kind_t *k, inv_decoder_t *d, const inv_processor_limits_t *limits, const void *buf, size_t len,
                  inv_processor_input_t *in, char *errstr, size_t errstr_size);
    int (*movement)(const inv_processor_input_t *in, size_t line, char *id_buf, size_t id_buf_size, inv_movement_t *m);
};

static int decode_event(const kind_t *k, inv_decoder_t *d, const inv_processor_limits_t *limits, const void *buf,
                        size_t len, inv_processor_input_t *in, char *errstr, size_t errstr_size) {
    (void)limits;
    int rc = inv_decoder_decode_event(d, k->event_kind, buf, len, &in->u.event, errstr, errstr_size);
    in->line_count = in->u.event.line_count;
    return rc;
}

static int movement_of_event(const inv_processor_input_t *in, size_t line, char *id_buf, size_t id_buf_size,
                             inv_movement_t *m) {
    return inv_movement_from_line(&in->u.event, line, id_buf, id_buf_size, m);
}

/* The time to live of a hold is bounded by configuration, so it is checked
 * here rather than by the codec. */
static int check_hold_ttl(const inv_reservation_t *r, int64_t max_ttl_ms, char *errstr, size_t errstr_size) {
    if (r->action != INV_RESERVATION_HOLD || !r->has_expires_at)
        return 0;
    /* both times lie in the years 0000 to 9999 (the codec checks): no overflow */
    if (r->expires_at_ms - r->occurred_at_ms <= max_ttl_ms)
        return 0;
    char a[32], b[32];
    inv_time_format_rfc3339(r->expires_at_ms, a);
    inv_time_format_rfc3339(r->occurred_at_ms, b);
    return inv_errstr(errstr, errstr_size,
                      "expires_at: %s is more than reservation.max.ttl.ms (%" PRId64 " ms) after occurred_at %s", a,
                      max_ttl_ms, b);
}

static int decode_reservation(const kind_t *k, inv_decoder_t *d, const inv_processor_limits_t *limits, const void *buf,
                              size_t len, inv_processor_input_t *in, char *errstr, size_t errstr_size) {
    (void)k;
    int rc = inv_decoder_decode_reservation(d, buf, len, &in->u.reservation, errstr, errstr_size);
    in->line_count = in->u.reservation.line_count;
    if (rc != 0)
        return rc;
    return check_hold_ttl(&in->u.reservation, limits->reservation_max_ttl_ms, errstr, errstr_size);
}

static int movement_of_reservation(const inv_processor_input_t *in, size_t line, char *id_buf, size_t id_buf_size,
                                   inv_movement_t *m) {
    return inv_movement_from_reservation_line(&in->u.reservation, line, id_buf, id_buf_size, m);
}

static int decode_transfer(const kind_t *k, inv_decoder_t *d, const inv_processor_limits_t *limits, const void *buf,
                           size_t len, inv_processor_input_t *in, char *errstr, size_t errstr_size) {
    (void)k;
    (void)limits;
    int rc = inv_decoder_decode_transfer(d, buf, len, &in->u.transfer, errstr, errstr_size);
    in->line_count = in->u.transfer.line_count;
    return rc;
}

static int movement_of_transfer(const inv_processor_input_t *in, size_t line, char *id_buf, size_t id_buf_size,
                                inv_movement_t *m) {
    return inv_movement_from_transfer_line(&in->u.transfer, line, id_buf, id_buf_size, m);
}

/* One entry per kind: adding a processor is adding a line here. */
static const kind_t kinds[] = {
    [INV_PROCESSOR_SALE] = {"topic.sales", "sale", INV_EVENT_SALE, decode_event, movement_of_event},
    [INV_PROCESSOR_RETURN] = {"topic.returns", "return", INV_EVENT_RETURN, decode_event, movement_of_event},
    [INV_PROCESSOR_RESTOCK] = {"topic.restocks", "restock", INV_EVENT_RESTOCK, decode_event, movement_of_event},
    [INV_PROCESSOR_RESERVATION] = {.topic_key = "topic.reservations",
                                   .name = "reservation",
                                   .decode = decode_reservation,
                                   .movement = movement_of_reservation},
    [INV_PROCESSOR_TRANSFER] = {.topic_key = "topic.transfers",
                                .name = "transfer",
                                .decode = decode_transfer,
                                .movement = movement_of_transfer},
};

static const kind_t *kind_of(inv_processor_kind_t kind) {
    return (unsigned)kind < sizeof(kinds) / sizeof(kinds[0]) ? &kinds[kind] : NULL;
}

const char *inv_processor_topic_key(inv_processor_kind_t kind) {
    const kind_t *k = kind_of(kind);
    return k ? k->topic_key : NULL;
}

const char *inv_processor_kind_name(inv_processor_kind_t kind) {
    const kind_t *k = kind_of(kind);
    return k ? k->name : NULL;
}

const char *inv_processor_error_class_name(int error_class) {
    if (error_class == INV_PROCESSOR_ERROR_RULE)
        return "rule";
    return inv_decode_error_name((inv_decode_error_t)error_class);
}

void inv_processor_limits_read(const inv_conf_t *conf, inv_processor_limits_t *out) {
    *out = (inv_processor_limits_t){.reservation_max_ttl_ms = inv_conf_get_int(conf, "reservation.max.ttl.ms")};
}

int inv_processor_decode(inv_decoder_t *d, inv_processor_kind_t kind, const inv_processor_limits_t *limits,
                         const void *buf, size_t len, inv_processor_input_t *in, char *errstr, size_t errstr_size) {
    memset(in, 0, sizeof(*in));
    in->kind = kind;
    const kind_t *k = kind_of(kind);
    if (!k)
        return inv_errstr(errstr, errstr_size, "unknown processor kind %d", (int)kind);
    int rc = k->decode(k, d, limits, buf, len, in, errstr, errstr_size);
    if (rc != 0)
        in->line_count = 0;
    if (rc == -1) /* the decoder found nothing wrong: a rule of ours did */
        in->error_class = inv_decoder_last_error(d) != INV_DECODE_ERROR_NONE ? (int)inv_decoder_last_error(d)
                                                                             : INV_PROCESSOR_ERROR_RULE;
    return rc;
}

int inv_processor_movement(const inv_processor_input_t *in, size_t line, char *id_buf, size_t id_buf_size,
                           inv_movement_t *m) {
    const kind_t *k = kind_of(in->kind);
    if (!k || line >= in->line_count)
        return -1;
    return k->movement(in, line, id_buf, id_buf_size, m);
}

/* ------------------------------------------------------------ the processor */

typedef struct {
    inv_processor_kind_t kind;
    inv_processor_limits_t limits;
    const char *movements_topic;
    inv_decoder_t *decoder;
    inv_encoder_t *encoder;
    inv_buf_t buf;
    inv_decode_backoff_t backoff;
    inv_processor_metrics_t *metrics;
} processor_t;

static int process(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size) {
    processor_t *p = opaque;
    inv_processor_input_t in;
    int rc = inv_processor_decode(p->decoder, p->kind, &p->limits, msg->payload, msg->len, &in, errstr, errstr_size);
    if (rc == INV_DECODE_RETRY) {
        /* The writer schema is unavailable (registry unreachable), not the
         * input's fault: wait, then abort the batch so that the input is
         * delivered again instead of dead-lettered. */
        inv_processor_metrics_retry(p->metrics);
        inv_decode_backoff_wait(&p->backoff, errstr);
        return INV_TXLOOP_ABORT;
    }
    inv_decode_backoff_done(&p->backoff);
    if (rc != 0) {
        inv_processor_metrics_dead_letter(p->metrics, in.error_class);
        return INV_TXLOOP_DEAD_LETTER;
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    if (ts < 0)
        ts = 0;
    for (size_t i = 0; i < in.line_count; i++) {
        char id[1024];
        inv_movement_t m;
        if (inv_processor_movement(&in, i, id, sizeof(id), &m) != 0) {
            snprintf(errstr, errstr_size, "event_id: too long for a movement id");
            inv_processor_metrics_dead_letter(p->metrics, INV_DECODE_ERROR_FIELD);
            return INV_TXLOOP_DEAD_LETTER;
        }
        if (inv_encoder_encode_movement(p->encoder, &m, &p->buf, errstr, errstr_size) != 0)
            return INV_TXLOOP_ABORT; /* our own output failed: a bug or OOM, never the input's fault */
        if (inv_txloop_produce(loop, p->movements_topic, RD_KAFKA_PARTITION_UA, m.sku, strlen(m.sku), p->buf.data,
                               p->buf.len, ts, NULL) != 0) {
            snprintf(errstr, errstr_size, "produce to %s failed", p->movements_topic);
            return INV_TXLOOP_ABORT;
        }
    }
    inv_processor_metrics_ok(p->metrics, in.line_count);
    return 0;
}

static void after_commit(void *opaque, inv_txloop_t *loop) {
    processor_t *p = opaque;
    inv_processor_metrics_committed(p->metrics, inv_txloop_stats(loop));
}

static void after_abort(void *opaque, inv_txloop_t *loop) {
    processor_t *p = opaque;
    inv_processor_metrics_aborted(p->metrics, inv_txloop_stats(loop));
}

static int on_assign(void *opaque, inv_txloop_t *loop, rd_kafka_topic_partition_list_t *parts) {
    (void)loop;
    processor_t *p = opaque;
    inv_processor_metrics_assigned(p->metrics, parts->cnt);
    return 0;
}

static void on_revoke(void *opaque, inv_txloop_t *loop, const rd_kafka_topic_partition_list_t *parts) {
    (void)loop;
    (void)parts;
    processor_t *p = opaque;
    inv_processor_metrics_assigned(p->metrics, 0); /* eager rebalancing: every partition goes */
}

int inv_processor_run(const inv_conf_t *conf, inv_processor_kind_t kind, const char *input_topic,
                      const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    if (!kind_of(kind))
        return inv_errstr(errstr, errstr_size, "unknown processor kind %d", (int)kind);
    inv_codec_conf_t codec;
    inv_codec_conf_read(conf, &codec);
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(conf, &ks);
    processor_t p = {.kind = kind, .movements_topic = inv_conf_get(conf, "topic.movements")};
    inv_processor_limits_read(conf, &p.limits);
    inv_buf_init(&p.buf);
    int rc = -1;
    inv_txloop_t *loop = NULL;
    inv_schema_source_t *schemas = NULL;
    const inv_schema_output_t outputs[] = {{INV_MSG_STOCK_MOVEMENT, p.movements_topic}};
    /* first, so that a probe gets its answer while the registry is awaited */
    if (inv_processor_metrics_start(&p.metrics, conf, kind_of(kind)->name, errstr, errstr_size) != 0)
        goto out;
    if (inv_schema_source_open(conf, &codec, outputs, 1, run, &schemas, errstr, errstr_size) != 0) {
        if (!*run)
            rc = 0; /* stopped while waiting for the registry: a clean stop */
        goto out;
    }
    inv_processor_metrics_attach_schemas(p.metrics, schemas);
    p.decoder = inv_decoder_new(inv_schema_source_resolver(schemas), errstr, errstr_size);
    if (!p.decoder)
        goto out;
    p.encoder = inv_encoder_new(codec.output_format, inv_schema_source_resolver(schemas), errstr, errstr_size);
    if (!p.encoder)
        goto out;
    inv_txloop_handler_t h = {.opaque = &p,
                              .process = process,
                              .after_commit = after_commit,
                              .after_abort = after_abort,
                              .on_assign = on_assign,
                              .on_revoke = on_revoke,
                              .run = run};
    loop = inv_txloop_new(&ks, input_topic, &h, errstr, errstr_size);
    if (!loop)
        goto out;
    inv_processor_metrics_attach(p.metrics, loop);
    rc = inv_txloop_run(loop);
    if (rc != 0)
        snprintf(errstr, errstr_size, "stopped after an unrecoverable Kafka error (see log)");
    const inv_txloop_stats_t *st = inv_txloop_stats(loop);
    inv_log_info(
        "events %llu, movements+dead letters %llu, dead letters %llu, transactions %llu committed %llu aborted",
        (unsigned long long)st->messages_in, (unsigned long long)st->messages_out, (unsigned long long)st->dead_letters,
        (unsigned long long)st->txn_commits, (unsigned long long)st->txn_aborts);
out:
    inv_processor_metrics_destroy(p.metrics); /* the HTTP server first: it reads the loop and the schemas */
    inv_txloop_destroy(loop);
    inv_encoder_destroy(p.encoder);
    inv_decoder_destroy(p.decoder);
    inv_schema_source_close(schemas);
    inv_buf_free(&p.buf);
    inv_kafka_settings_free(&ks);
    return rc;
}

static int run_processor(inv_conf_t *conf, void *arg, const volatile sig_atomic_t *run, char *errstr,
                         size_t errstr_size) {
    inv_processor_kind_t kind = *(const inv_processor_kind_t *)arg;
    return inv_processor_run(conf, kind, inv_conf_get(conf, inv_processor_topic_key(kind)), run, errstr, errstr_size);
}

static const inv_conf_flag_t processor_flags[] = {
    {"http", "http.listen", "ADDR:PORT", "serve /healthz and /metrics"},
    {NULL, NULL, NULL, NULL},
};

int inv_processor_main(int argc, char **argv, const inv_program_t *prog, inv_processor_kind_t kind) {
    if (!kind_of(kind))
        return 1;
    inv_program_t with_flags = *prog;
    if (!with_flags.flags)
        with_flags.flags = processor_flags;
    return inv_main_run(argc, argv, &with_flags, run_processor, &kind);
}
