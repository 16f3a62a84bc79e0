#include "inv_processor.h"

#include <stdio.h>
#include <string.h>

#include "inv_codec_conf.h"
#include "inv_log.h"
#include "inv_main.h"
#include "inv_model.h"
#include "inv_schema_source.h"
#include "inv_txloop.h"

typedef struct {
    inv_event_kind_t kind;
    const char *movements_topic;
    inv_decoder_t *decoder;
    inv_encoder_t *encoder;
    inv_buf_t buf;
    inv_decode_backoff_t backoff;
} processor_t;

static int process(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size) {
    processor_t *p = opaque;
    inv_event_t ev;
    int rc = inv_decoder_decode_event(p->decoder, p->kind, msg->payload, msg->len, &ev, errstr, errstr_size);
    if (rc == INV_DECODE_RETRY) {
        /* The writer schema is unavailable (registry unreachable), not the
         * input's fault: wait, then abort the batch so that the input is
         * delivered again instead of dead-lettered. */
        inv_decode_backoff_wait(&p->backoff, errstr);
        return INV_TXLOOP_ABORT;
    }
    inv_decode_backoff_done(&p->backoff);
    if (rc != 0)
        return INV_TXLOOP_DEAD_LETTER;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    if (ts < 0)
        ts = 0;
    for (size_t i = 0; i < ev.line_count; i++) {
        char id[1024];
        inv_movement_t m;
        if (inv_movement_from_line(&ev, i, id, sizeof(id), &m) != 0) {
            snprintf(errstr, errstr_size, "event_id: too long for a movement id");
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
    return 0;
}

int inv_processor_run(const inv_conf_t *conf, inv_event_kind_t kind, const char *input_topic,
                      const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    inv_codec_conf_t codec;
    inv_codec_conf_read(conf, &codec);
    inv_kafka_settings_t ks;
    inv_kafka_settings_read(conf, &ks);
    processor_t p = {.kind = kind, .movements_topic = inv_conf_get(conf, "topic.movements")};
    inv_buf_init(&p.buf);
    int rc = -1;
    inv_txloop_t *loop = NULL;
    inv_schema_source_t *schemas = NULL;
    const inv_schema_output_t outputs[] = {{INV_MSG_STOCK_MOVEMENT, p.movements_topic}};
    if (inv_schema_source_open(conf, &codec, outputs, 1, run, &schemas, errstr, errstr_size) != 0) {
        if (!*run)
            rc = 0; /* stopped while waiting for the registry: a clean stop */
        goto out;
    }
    p.decoder = inv_decoder_new(inv_schema_source_resolver(schemas), errstr, errstr_size);
    if (!p.decoder)
        goto out;
    p.encoder = inv_encoder_new(codec.output_format, inv_schema_source_resolver(schemas), errstr, errstr_size);
    if (!p.encoder)
        goto out;
    inv_txloop_handler_t h = {.opaque = &p, .process = process, .run = run};
    loop = inv_txloop_new(&ks, input_topic, &h, errstr, errstr_size);
    if (!loop)
        goto out;
    rc = inv_txloop_run(loop);
    if (rc != 0)
        snprintf(errstr, errstr_size, "stopped after an unrecoverable Kafka error (see log)");
    const inv_txloop_stats_t *st = inv_txloop_stats(loop);
    inv_log_info(
        "events %llu, movements+dead letters %llu, dead letters %llu, transactions %llu committed %llu aborted",
        (unsigned long long)st->messages_in, (unsigned long long)st->messages_out, (unsigned long long)st->dead_letters,
        (unsigned long long)st->txn_commits, (unsigned long long)st->txn_aborts);
out:
    inv_txloop_destroy(loop);
    inv_encoder_destroy(p.encoder);
    inv_decoder_destroy(p.decoder);
    inv_schema_source_close(schemas);
    inv_buf_free(&p.buf);
    inv_kafka_settings_free(&ks);
    return rc;
}

typedef struct {
    inv_event_kind_t kind;
    const char *topic_key;
} processor_args_t;

static int run_processor(inv_conf_t *conf, void *arg, const volatile sig_atomic_t *run, char *errstr,
                         size_t errstr_size) {
    const processor_args_t *a = arg;
    return inv_processor_run(conf, a->kind, inv_conf_get(conf, a->topic_key), run, errstr, errstr_size);
}

int inv_processor_main(int argc, char **argv, const inv_program_t *prog, inv_event_kind_t kind, const char *topic_key) {
    processor_args_t a = {.kind = kind, .topic_key = topic_key};
    return inv_main_run(argc, argv, prog, run_processor, &a);
}
