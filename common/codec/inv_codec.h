/*
 * inv_codec: decode and encode every contract message (schemas/ *.avsc).
 *
 * Inputs are JSON or Avro in the Confluent wire format (byte 0 = 0x00, a
 * 4-byte big-endian schema id, the Avro binary body), told apart by the first
 * byte. Outputs are JSON or Avro with the same framing, by output format.
 *
 * Memory: a decoded struct borrows all of its strings and arrays from the
 * decoder that filled it; they stay valid until the next decode call on that
 * decoder or until inv_decoder_destroy(). Copy what must outlive that.
 * Encoders write into an inv_buf_t owned by the caller and reused across calls.
 *
 * Errors: every function returns 0 on success or -1 (decoders also
 * INV_DECODE_RETRY, see inv_decoder_decode_event()), and on -1 fills
 * errstr with one sentence naming the field, the value and what was
 * expected, e.g. "lines[2].quantity: -3 is not positive". These strings are
 * the DLQ's inv.error header. errstr may be NULL (errstr_size 0); a short
 * buffer gets a truncated message. The first problem in schema order wins.
 *
 * What decoding checks (the contract, docs/CONTRACT.md "Message formats"):
 *  - framing: not empty, at most INV_CODEC_MAX_MESSAGE bytes; byte 0 = 0x00
 *    is Avro (5-byte header, a schema id whose writer schema is the
 *    expected message and resolves into ours, a body that is exactly one
 *    record under that writer schema: no truncation, no trailing bytes;
 *    see inv_decoder_decode_event() on resolution), anything
 *    else is JSON (one object, after an optional UTF-8 BOM; duplicate keys
 *    are errors, unknown keys are ignored for forward compatibility);
 *  - every field of the schema present with its type (optional fields may
 *    be absent or null; a long or boolean with a default may be absent and
 *    takes it: 0 or false); JSON integers only (no 2.0, no 1e3), in int64;
 *    times are RFC 3339 in JSON (fractions and offsets accepted) and lie in
 *    the years 0000 to 9999; enums are the schema's symbols exactly;
 *    strings are UTF-8 without NUL bytes, within the INV_CODEC_MAX_* bounds;
 *  - identifiers, in every message (event_id, sku, location_id,
 *    original_event_id, purchase_order_id, reservation_id, transfer_id,
 *    from_ and to_location_id, other_location_id, the channel names of
 *    ChannelLocation and AvailabilityLevel, and the derived movement_id,
 *    cause_movement_id and output event_id): not empty, UTF-8 without
 *    control characters (U+0000-U+001F, U+007F); location ids and channel
 *    names hold no '|' (INV_ROW_KEY_SEP). "*" is a legal location_id to the codec (a policy's
 *    SKU default; inv-stock refuses movements at it). The first offending
 *    byte is named by its 0-based offset in the field's decoded bytes, the
 *    same in JSON and Avro:
 *      "event_id: control character U+000A at byte 3"
 *      "location_id: '|' at byte 5 is not allowed"
 *      "lines[2].sku: invalid UTF-8 at byte 7"   (Avro; JSON: "not JSON: ...")
 *      "sku: empty string, expected 1 to 256 bytes"
 *      "event_id: 257 bytes, expected at most 256"
 *  - events: 1 to INV_CODEC_MAX_LINES lines ("lines: 1001 lines, expected
 *    at most 1000"), checked in Avro on the array's block headers before
 *    Avro-C allocates a line; quantity > 0 for sales, returns and receipts,
 *    != 0 for adjustments, >= 0 for counts;
 *  - movements: the same quantity rules by type; channel set for sales and
 *    returns, null for receipts, adjustments and counts;
 *  - policies: reorder_point, reorder_quantity, safety_stock from 0 to
 *    INV_CODEC_MAX_POLICY_QUANTITY ("reorder_point: 1000000000001, expected
 *    at most 1000000000000"); a channel location's buffer the same;
 *  - reservations: quantity > 0; a hold has expires_at ("expires_at:
 *    required for a hold") after occurred_at;
 *  - transfers: quantity > 0; to_location_id is not from_location_id;
 *    a line's rejected is 0 to quantity, and 0 unless the status is
 *    received;
 *  - movements of the new types: which of reservation_id, expires_at,
 *    transfer_id, other_location_id, rejected and allow_partial a type
 *    needs or may have (docs/CONTRACT.md "StockMovement"), e.g.
 *    "expires_at: null, a reserve movement needs one",
 *    "transfer_id: \"TR-9\", a sale movement has none (null)".
 * Rules that need configuration (a hold's longest time to live) are the
 * consumer's. StockLevel, ReorderEvent, ShortageEvent, AvailabilityLevel
 * and ReservationStatus are checked for form and identifiers only.
 *
 * Encoders check only what the wire needs (required strings non-NULL and
 * UTF-8, enums in range, times in the years 0000 to 9999), not the rules
 * above: a tool may write an invalid input on purpose; decoders judge it.
 *
 * Threads: a decoder or encoder is used by one thread at a time; create one
 * per thread. Both are created once and reused: no schema is parsed per
 * message. Avro-C places its value instances at a 4-byte offset, so
 * LeakSanitizer (which follows aligned pointers only) reports the contents
 * of a decoder or encoder still alive at exit as leaks: destroy them before
 * exiting, or run with LSAN_OPTIONS=use_unaligned=1.
 */
#ifndef INV_CODEC_H
#define INV_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "inv_buf.h"
#include "inv_model.h"
#include "inv_time.h"

/* Largest message a decoder accepts (bytes); larger ones are rejected. */
#define INV_CODEC_MAX_MESSAGE (1024 * 1024)
/* Bounds enforced by the decoders (and documented in schemas/ *.avsc):
 * event_id, source, location_id, sku, original_event_id, purchase_order_id
 * are at most INV_CODEC_MAX_ID_LEN bytes (ids, sku and location_id at least
 * 1); movement_id, cause_movement_id and the event_id of output messages,
 * which are derived from other ids, at most INV_CODEC_MAX_DERIVED_ID_LEN.
 * An event has 1 to INV_CODEC_MAX_LINES lines. */
#define INV_CODEC_MAX_ID_LEN 256
#define INV_CODEC_MAX_DERIVED_ID_LEN 1024
#define INV_CODEC_MAX_LINES 1000
/* Largest reorder_point, reorder_quantity and safety_stock a policy may
 * have (10^12). It keeps the reorder arithmetic of inv_rules_apply()
 * (position = on_hand + on_order; quantity = max(reorder_quantity,
 * reorder_point + 1 - position)) far from int64 overflow for any stock
 * level a real location holds, so a policy alone never makes the rules
 * refuse every movement at its location. Line quantities are not bounded:
 * an overflow they cause is refused per movement by the rules. */
#define INV_CODEC_MAX_POLICY_QUANTITY INT64_C(1000000000000)

/* The contract's message names, used for schema ids and files. */
typedef enum {
    INV_MSG_SALE_EVENT = 0,
    INV_MSG_RETURN_EVENT,
    INV_MSG_RESTOCK_EVENT,
    INV_MSG_STOCK_MOVEMENT,
    INV_MSG_REORDER_POLICY,
    INV_MSG_STOCK_LEVEL,
    INV_MSG_REORDER_EVENT,
    INV_MSG_SHORTAGE_EVENT,
    INV_MSG_RESERVATION_EVENT,
    INV_MSG_TRANSFER_EVENT,
    INV_MSG_CHANNEL_LOCATION,
    INV_MSG_AVAILABILITY_LEVEL,
    INV_MSG_RESERVATION_STATUS,
    INV_MSG_COUNT
} inv_msg_type_t;

const char *inv_msg_type_name(inv_msg_type_t t); /* "SaleEvent", ... */
/* "SaleEvent" -> INV_MSG_SALE_EVENT (for schema.id.<Name> keys); 0 or -1. */
int inv_msg_type_from_name(const char *name, inv_msg_type_t *out);

/* Default Confluent schema ids (config schema.id.<Name>): SaleEvent=14,
 * ReturnEvent=2, RestockEvent=3, StockMovement=15, ReorderPolicy=5,
 * StockLevel=17, ReorderEvent=7, ShortageEvent=8, ReservationEvent=9,
 * TransferEvent=10, ChannelLocation=11, AvailabilityLevel=12,
 * ReservationStatus=13. A schema that changes gets a new id; its earlier
 * version keeps the old one (inv_schema_json_legacy). */
extern const int32_t inv_schema_default_ids[INV_MSG_COUNT];

/* The .avsc text of schemas/<Name>.avsc, embedded at build time (static,
 * NUL-terminated; NULL for an unknown type). No schema file is read at run
 * time. */
const char *inv_schema_json(inv_msg_type_t t);

/* The earlier version of a changed schema under the static id it had
 * (schemas/v1/: SaleEvent 1, StockMovement 4, StockLevel 6; schemas/v2/:
 * StockLevel 16), and its type in *type; NULL for any other id. Without a registry, a record written under
 * such an id by an earlier build (or a producer that kept the old schema) is
 * read with that version as its writer schema, unless schema.id.<Name> gives
 * the id to a current schema. Static, NUL-terminated. */
const char *inv_schema_json_legacy(int32_t id, inv_msg_type_t *type);

/* Checks that an Avro schema (JSON text) is exactly what the codec reads and
 * writes for `t`: same fields in the same order, same types, same enum
 * symbols, timestamp-millis on times, ["null", X] unions for optional fields.
 * The decoders and encoders run it on every embedded schema when created, so
 * schemas/ and the C side cannot drift apart. 0, or -1 with errstr. */
int inv_schema_check(inv_msg_type_t t, const char *json, size_t len, char *errstr, size_t errstr_size);

/*
 * Schema resolution: maps a Confluent schema id to the schema its records
 * were written with, and a message type to the id it is written under. The
 * static resolver is a map from configuration (schema.id.<Name>=<id>); a
 * schema registry client implements the same interface.
 *
 * Threads: a decoder or encoder calls its resolver from the one thread that
 * uses it; a resolver shared by several decoders on several threads must
 * make its calls safe for that itself. None of the calls may block for
 * long: writer_schema() runs inside a decode, once per id and decoder (the
 * decoder keeps what it built from the answer, see INV_CODEC_WRITER_CACHE).
 */
typedef struct inv_schema_resolver_s inv_schema_resolver_t;

/* writer_schema()'s answers besides 0. */
#define INV_SCHEMA_UNKNOWN (-1) /* no schema has this id: the record's fault */
#define INV_SCHEMA_RETRY (-2)   /* cannot tell now (a registry unreachable) */

struct inv_schema_resolver_s {
    /* Returns 0 and sets *type for an id `id_for` hands out; -1 otherwise.
     * Used when a decoder or encoder is created, to check that no two
     * types share an id; decoding asks writer_schema() instead. NULL for a
     * resolver without a static map (a schema registry): no check then. */
    int (*lookup_id)(const inv_schema_resolver_t *r, int32_t id, inv_msg_type_t *type);
    /* Returns the id under which `type` is written (encoders). */
    int32_t (*id_for)(const inv_schema_resolver_t *r, inv_msg_type_t type);
    /* The writer schema of `id` (Avro schema JSON text, not necessarily
     * NUL-terminated): 0 with *json and *len set; the text is borrowed from
     * the resolver and stays valid until the resolver is destroyed (the
     * decoder parses it before returning and keeps no pointer into it).
     * INV_SCHEMA_UNKNOWN: no such id; the record goes to the dead letters
     * ("unknown schema id 99", followed by ": <errstr>" when errstr is not
     * empty). INV_SCHEMA_RETRY: the answer is not available now (e.g. the
     * registry is unreachable or answered 5xx); not the record's fault: the
     * decode returns INV_DECODE_RETRY and the caller holds the input and
     * tries again later. On both errors errstr says why (it may be left
     * empty for UNKNOWN). Ids are immutable: an answer of 0 for an id must
     * never change; UNKNOWN and RETRY are not remembered by the decoder. */
    int (*writer_schema)(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len, char *errstr,
                         size_t errstr_size);
    void *opaque;
};

/* A resolver over a fixed table: ids[t] is the schema id of message type t,
 * and its writer schema is the embedded schemas/<Name>.avsc (records are
 * written with our own schema). The returned resolver borrows `ids`, which
 * must outlive it. */
void inv_schema_resolver_static_init(inv_schema_resolver_t *r, const int32_t ids[INV_MSG_COUNT]);

/* The largest number of writer schemas a decoder keeps resolved at once
 * (ids seen most recently; the others are asked for again when seen). */
#define INV_CODEC_WRITER_CACHE 64

/* A decode's answer when the resolver said INV_SCHEMA_RETRY for the
 * record's writer schema id: errstr says why; the record itself was not
 * judged. Hold it and retry after a back-off; never dead-letter it. */
#define INV_DECODE_RETRY (-2)

typedef struct inv_decoder_s inv_decoder_t;

/* Creates a decoder. The resolver is borrowed and must outlive the decoder;
 * it needs writer_schema. Returns NULL and fills errstr when a schema fails
 * to load or to match the codec (inv_schema_check), or when the resolver
 * gives two types one id ("schema.id.StockMovement: 3 is also the id of
 * RestockEvent"). */
inv_decoder_t *inv_decoder_new(const inv_schema_resolver_t *resolver, char *errstr, size_t errstr_size);
void inv_decoder_destroy(inv_decoder_t *d);

/* How a decoder reads JSON StockMovements, the keeper's hot path. The
 * default scans the common, well-formed message without building a tree
 * or allocating (inv_json_flat.h) and hands everything else to jansson;
 * either way the result is the same, error messages included. The other
 * two are for tests and benchmarks that compare the paths. */
typedef enum {
    INV_JSON_PATH_FAST = 0,  /* the fast path, jansson for the rest (default) */
    INV_JSON_PATH_JANSSON,   /* jansson only */
    INV_JSON_PATH_FAST_ONLY, /* the fast path only: what it does not take
                                fails with "not taken by the JSON fast path" */
} inv_json_path_t;

void inv_decoder_set_json_path(inv_decoder_t *d, inv_json_path_t path);

/* What the last failed decode of a decoder found, as one of a small fixed
 * set of classes: for counting dead letters by class (their reasons are
 * free text). Each class is one stage of the decode, whatever the message
 * type:
 *   empty     no bytes
 *   oversize  more than INV_CODEC_MAX_MESSAGE bytes
 *   json      not JSON, or not a JSON object
 *   avro      Avro framing or body: a truncated header, a body that does
 *             not match its writer schema, trailing bytes
 *   schema    the Avro schema id: unknown, of another message type, not a
 *             valid schema, or not resolvable into ours
 *   field     a field breaks the contract: missing, of the wrong type, a
 *             value out of range, a bad identifier, a rule across fields
 * The classes and their names are stable: dashboards and alerts use them. */
typedef enum {
    INV_DECODE_ERROR_NONE = 0, /* the last decode succeeded, or asked for a retry */
    INV_DECODE_ERROR_EMPTY,
    INV_DECODE_ERROR_OVERSIZE,
    INV_DECODE_ERROR_JSON,
    INV_DECODE_ERROR_AVRO,
    INV_DECODE_ERROR_SCHEMA,
    INV_DECODE_ERROR_FIELD,
    INV_DECODE_ERROR_COUNT
} inv_decode_error_t;

/* The class of the last decode's failure (NONE after a success). */
inv_decode_error_t inv_decoder_last_error(const inv_decoder_t *d);

/* "none", "empty", "oversize", "json", "avro", "schema", "field" (static). */
const char *inv_decode_error_name(inv_decode_error_t e);

/* Decodes a SaleEvent, ReturnEvent or RestockEvent (as `kind` expects) from
 * JSON or Confluent-framed Avro, and validates it against the contract.
 * An Avro message whose schema id names another type is an error. The
 * other decoders do the same for their message. On error *out is zeroed.
 * The input buffer is not retained: it may be freed after the call.
 * Returns 0, -1 (errstr: the reason, for the dead letters), or
 * INV_DECODE_RETRY (errstr: why the writer schema is not available now).
 *
 * Avro records are read with the writer schema of their id (the resolver's
 * writer_schema()). A writer schema equal to ours (avro_schema_equal) reads
 * as is; another one is resolved into ours by Avro's schema resolution
 * rules, once per id and decoder: fields matched by name in any order,
 * writer fields we lack skipped, our fields the writer lacks set from
 * their defaults, int -> long -> float -> double and string <-> bytes
 * promoted, unions resolved by branch on either side, enum symbols by name
 * (an unknown one takes our enum's default, if any). A writer schema that
 * cannot be resolved fails every record of its id with a reason naming the
 * field, e.g.
 *   "SaleEvent: writer schema 17 field lines[].quantity is string, reader wants long"
 *   "SaleEvent: reader field location_id has no default and the writer schema 17 lacks it"
 *   "SaleEvent: writer schema 17 is record PurchaseOrder, reader wants SaleEvent"
 * and a record whose value the reader cannot take (a writer union branch
 * or enum symbol with no counterpart) fails alone, e.g.
 *   "SaleEvent: writer schema 17 field channel is symbol kiosk, which reader enum Channel lacks (no default)"
 * A body malformed under its writer schema fails with the byte offset, as
 * under ours; the contract's checks then apply to the resolved record. */
int inv_decoder_decode_event(inv_decoder_t *d, inv_event_kind_t kind, const void *buf, size_t len, inv_event_t *out,
                             char *errstr, size_t errstr_size);
int inv_decoder_decode_movement(inv_decoder_t *d, const void *buf, size_t len, inv_movement_t *out, char *errstr,
                                size_t errstr_size);
int inv_decoder_decode_policy(inv_decoder_t *d, const void *buf, size_t len, inv_policy_t *out, char *errstr,
                              size_t errstr_size);
int inv_decoder_decode_stock_level(inv_decoder_t *d, const void *buf, size_t len, inv_stock_level_t *out, char *errstr,
                                   size_t errstr_size);
int inv_decoder_decode_reorder(inv_decoder_t *d, const void *buf, size_t len, inv_reorder_t *out, char *errstr,
                               size_t errstr_size);
int inv_decoder_decode_shortage(inv_decoder_t *d, const void *buf, size_t len, inv_shortage_t *out, char *errstr,
                                size_t errstr_size);
int inv_decoder_decode_reservation(inv_decoder_t *d, const void *buf, size_t len, inv_reservation_t *out, char *errstr,
                                   size_t errstr_size);
int inv_decoder_decode_transfer(inv_decoder_t *d, const void *buf, size_t len, inv_transfer_t *out, char *errstr,
                                size_t errstr_size);
int inv_decoder_decode_channel_location(inv_decoder_t *d, const void *buf, size_t len, inv_channel_location_t *out,
                                        char *errstr, size_t errstr_size);
int inv_decoder_decode_availability(inv_decoder_t *d, const void *buf, size_t len, inv_availability_t *out,
                                    char *errstr, size_t errstr_size);
int inv_decoder_decode_reservation_status(inv_decoder_t *d, const void *buf, size_t len, inv_reservation_status_t *out,
                                          char *errstr, size_t errstr_size);

/* A consumer's back-off while decodes return INV_DECODE_RETRY (the schema
 * registry unreachable): the caller aborts its batch so that the input is
 * delivered again, and waits here first. Zero-initialize; one per thread. */
typedef struct {
    unsigned delay_ms; /* the next wait: 100 ms, doubling up to 5 s */
    unsigned retries;  /* waits in this outage */
} inv_decode_backoff_t;

/* After INV_DECODE_RETRY: logs `why` (a warning) at the first retry of an
 * outage only, then sleeps the current delay and doubles it. */
void inv_decode_backoff_wait(inv_decode_backoff_t *b, const char *why);
/* After any other answer: ends an outage (logged once) and resets. */
void inv_decode_backoff_done(inv_decode_backoff_t *b);

/* Checks the len bytes at s against the identifier rules the decoders
 * apply (1 to INV_CODEC_MAX_ID_LEN bytes of UTF-8 without control
 * characters; no '|' when no_separator), for identifiers that come from
 * elsewhere than a message's body: a record key. 0, or -1 with errstr
 * naming `field` and the byte, worded as the decoders word it. */
int inv_codec_check_id(const char *field, const char *s, size_t len, int no_separator, char *errstr,
                       size_t errstr_size);

typedef enum { INV_FORMAT_JSON = 0, INV_FORMAT_AVRO } inv_format_t;

/* "json" | "avro" (output.format) <-> inv_format_t; 0 or -1. */
int inv_format_from_string(const char *s, inv_format_t *out);
const char *inv_format_to_string(inv_format_t f);

typedef struct inv_encoder_s inv_encoder_t;

/* Creates an encoder writing `format`. The resolver is borrowed (it may be
 * NULL for INV_FORMAT_JSON). Same failures as inv_decoder_new(). */
inv_encoder_t *inv_encoder_new(inv_format_t format, const inv_schema_resolver_t *resolver, char *errstr,
                               size_t errstr_size);
void inv_encoder_destroy(inv_encoder_t *e);

/* Each encode replaces out's contents (out->len = bytes written; 0 after
 * an error), growing out->data only when the message does not fit. */
int inv_encoder_encode_event(inv_encoder_t *e, const inv_event_t *ev, inv_buf_t *out, char *errstr, size_t errstr_size);
int inv_encoder_encode_movement(inv_encoder_t *e, const inv_movement_t *m, inv_buf_t *out, char *errstr,
                                size_t errstr_size);
int inv_encoder_encode_policy(inv_encoder_t *e, const inv_policy_t *p, inv_buf_t *out, char *errstr,
                              size_t errstr_size);
int inv_encoder_encode_stock_level(inv_encoder_t *e, const inv_stock_level_t *s, inv_buf_t *out, char *errstr,
                                   size_t errstr_size);
int inv_encoder_encode_reorder(inv_encoder_t *e, const inv_reorder_t *r, inv_buf_t *out, char *errstr,
                               size_t errstr_size);
int inv_encoder_encode_shortage(inv_encoder_t *e, const inv_shortage_t *s, inv_buf_t *out, char *errstr,
                                size_t errstr_size);
int inv_encoder_encode_reservation(inv_encoder_t *e, const inv_reservation_t *r, inv_buf_t *out, char *errstr,
                                   size_t errstr_size);
int inv_encoder_encode_transfer(inv_encoder_t *e, const inv_transfer_t *tr, inv_buf_t *out, char *errstr,
                                size_t errstr_size);
int inv_encoder_encode_channel_location(inv_encoder_t *e, const inv_channel_location_t *c, inv_buf_t *out, char *errstr,
                                        size_t errstr_size);
int inv_encoder_encode_availability(inv_encoder_t *e, const inv_availability_t *a, inv_buf_t *out, char *errstr,
                                    size_t errstr_size);
int inv_encoder_encode_reservation_status(inv_encoder_t *e, const inv_reservation_status_t *s, inv_buf_t *out,
                                          char *errstr, size_t errstr_size);

#endif
