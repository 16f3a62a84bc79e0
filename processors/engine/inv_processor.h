/*
 * inv_processor: the stateless per-topic processors (inv-sale, inv-return,
 * inv-restock, inv-reserve, inv-transfer). Decode each input event (JSON or
 * Avro), validate it, split it into one StockMovement per line and produce
 * the movements to topic.movements keyed by SKU (murmur2, as the Java
 * client), all inside inv_txloop's transactions; an invalid event goes to
 * the DLQ with the decoder's precise reason.
 *
 * Each kind of input is one entry of the engine's table (inv_processor.c):
 * its input topic key, its decoder and how a line becomes a movement.
 */
#ifndef INV_PROCESSOR_H
#define INV_PROCESSOR_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "inv_codec.h"
#include "inv_conf.h"
#include "inv_main.h"
#include "inv_model.h"

/* What a processor reads. */
typedef enum {
    INV_PROCESSOR_SALE = 0,    /* SaleEvent, topic.sales */
    INV_PROCESSOR_RETURN,      /* ReturnEvent, topic.returns */
    INV_PROCESSOR_RESTOCK,     /* RestockEvent, topic.restocks */
    INV_PROCESSOR_RESERVATION, /* ReservationEvent, topic.reservations */
    INV_PROCESSOR_TRANSFER,    /* TransferEvent, topic.transfers */
} inv_processor_kind_t;

/* The config key of the input topic of `kind` ("topic.sales", ...). */
const char *inv_processor_topic_key(inv_processor_kind_t kind);

/* The rules of a processor that need configuration. */
typedef struct {
    int64_t reservation_max_ttl_ms; /* reservation.max.ttl.ms: a hold's longest life */
} inv_processor_limits_t;

void inv_processor_limits_read(const inv_conf_t *conf, inv_processor_limits_t *out);

/* The classes of a processor's dead letters, a small fixed set for the
 * metrics (the reasons themselves are free text): the decoder's
 * (inv_decode_error_t: empty, oversize, json, avro, schema, field), and
 * "rule" for a rule of the program's configuration that the decoded event
 * breaks (a hold's reservation.max.ttl.ms). */
#define INV_PROCESSOR_ERROR_RULE ((int)INV_DECODE_ERROR_COUNT)
#define INV_PROCESSOR_ERROR_CLASSES (INV_PROCESSOR_ERROR_RULE + 1)

/* "empty", "oversize", "json", "avro", "schema", "field", "rule" (static);
 * "none" for INV_DECODE_ERROR_NONE, "unknown" out of range. */
const char *inv_processor_error_class_name(int error_class);

/* The short name of `kind` ("sale", "return", "restock", "reservation",
 * "transfer"), the kind label of its metrics; NULL when unknown. */
const char *inv_processor_kind_name(inv_processor_kind_t kind);

/* One decoded input: the model value of its kind and its number of lines.
 * Its strings are borrowed from the decoder (valid until its next decode). */
typedef struct {
    int error_class; /* after a failed decode: its class (INV_DECODE_ERROR_*, INV_PROCESSOR_ERROR_RULE) */
    inv_processor_kind_t kind;
    union {
        inv_event_t event; /* sale, return, restock */
        inv_reservation_t reservation;
        inv_transfer_t transfer;
    } u;
    size_t line_count;
} inv_processor_input_t;

/* Decodes and validates one input of `kind` (what the codec checks, then
 * the rules of `limits`: a hold's expires_at at most
 * reservation_max_ttl_ms after its occurred_at, "expires_at:
 * 2026-11-29T10:00:00.001Z is more than reservation.max.ttl.ms (604800000
 * ms) after occurred_at 2026-11-22T10:00:00.000Z"). Returns 0, -1 with
 * errstr (the dead letter's reason) and in->error_class, or
 * INV_DECODE_RETRY (errstr: why the writer schema is not available now;
 * hold the input). */
int inv_processor_decode(inv_decoder_t *d, inv_processor_kind_t kind, const inv_processor_limits_t *limits,
                         const void *buf, size_t len, inv_processor_input_t *in, char *errstr, size_t errstr_size);

/* Fills *m with the movement of line `line` of in (inv_movement_from_line
 * and its siblings): movement id "<type>:<event_id>:<line>" in id_buf,
 * which *m borrows with in's strings. 0, or -1 when id_buf is too small. */
int inv_processor_movement(const inv_processor_input_t *in, size_t line, char *id_buf, size_t id_buf_size,
                           inv_movement_t *m);

/* Runs the processor for inputs of `kind` read from input_topic until *run
 * is 0 (the process's run flag, borrowed). With http.listen set, serves
 * /healthz and /metrics there (inv_processor_metrics) from before the
 * first connection to Kafka. Returns 0 on a clean stop, -1 with errstr on
 * failure (e.g. the HTTP address is in use). */
int inv_processor_run(const inv_conf_t *conf, inv_processor_kind_t kind, const char *input_topic,
                      const volatile sig_atomic_t *run, char *errstr, size_t errstr_size);

/* The whole main of a processor: start-up (inv_main_run, with the flag
 * --http ADDR:PORT for http.listen besides prog's), then the processor for
 * `kind` on the topic named by its config key. Returns the exit code. */
int inv_processor_main(int argc, char **argv, const inv_program_t *prog, inv_processor_kind_t kind);

#endif
