/*
 * inv_codec: JSON and Avro (Confluent framing) codecs for every contract
 * message, driven by one table per message (record_desc_t below) that
 * inv_schema_check() proves equal to the embedded schemas/ *.avsc.
 *
 * Decoding is two steps: the bytes become a C struct (JSON through jansson,
 * Avro through Avro-C after a bounds-checking walk of the body), then the
 * struct is checked against the contract's rules. Both steps report the
 * first problem in schema order as "<field path>: <what is wrong>".
 * JSON StockMovements try a tree-free scan first (flat_to_record); what it
 * does not take whole goes to jansson, which alone words the errors.
 */
#include "inv_codec.h"
#include "inv_json_flat.h"
#include "inv_log.h"

#include <avro.h>
#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Enum fields are read and written through int pointers. */
_Static_assert(sizeof(inv_channel_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_disposition_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_restock_kind_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_movement_type_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_shortage_state_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_reservation_action_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_transfer_status_t) == sizeof(int), "enum size");
_Static_assert(sizeof(inv_reservation_state_t) == sizeof(int), "enum size");

/* ------------------------------------------------------------------ errors */

/* ------------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 prefix of s[0..len) (len when all is valid). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len) {
    size_t i = 0, n;
    while (i < len && (n = inv_utf8_char(s + i, len - i)) != 0)
        i += n;
    return i;
}

/* Writes s as a short, printable, quoted excerpt for an error message:
 * "shop", or "aaaa..." when longer than 40 bytes; control bytes and invalid
 * UTF-8 are escaped so the message stays valid UTF-8. */
static const char *quote(char *out, size_t out_size, const char *s, size_t len) {
    const size_t limit = 40;
    size_t o = 0, i = 0;
    const unsigned char *u = (const unsigned char *)s;
    if (out_size < 64)
        return "";
    out[o++] = '"';
    while (i < len && i < limit && o + 8 < out_size) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            out[o++] = (char)c;
            i++;
        } else {
            size_t ok = utf8_valid_prefix(u + i, len - i);
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (ok >= n && i + n <= limit) {
                memcpy(out + o, s + i, n);
                o += n;
                i += n;
            } else if (ok >= n) {
                break; /* cut before a character that would pass the limit */
            } else {
                o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
                i++;
            }
        }
    }
    out[o++] = '"';
    if (i < len && o + 4 < out_size) {
        memcpy(out + o - 1, "...\"", 4);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* Replaces control bytes and invalid UTF-8 in place with '?': jansson's
 * messages quote the offending input, which may be binary. */
static void sanitize(char *s) {
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t ok = utf8_valid_prefix((const unsigned char *)s + i, len - i);
        for (size_t k = i; k < i + ok; k++)
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7F)
                s[k] = '?';
        i += ok;
        if (i < len)
            s[i++] = '?';
    }
}

#define TIME_MIN_MS INV_TIME_MIN_MS
#define TIME_MAX_MS INV_TIME_MAX_MS

/* ------------------------------------------------------------------- enums */

int inv_format_from_string(const char *s, inv_format_t *out) {
    if (s && strcmp(s, "json") == 0)
        *out = INV_FORMAT_JSON;
    else if (s && strcmp(s, "avro") == 0)
        *out = INV_FORMAT_AVRO;
    else
        return -1;
    return 0;
}

const char *inv_format_to_string(inv_format_t f) {
    return f == INV_FORMAT_JSON ? "json" : f == INV_FORMAT_AVRO ? "avro" : NULL;
}

/* ---------------------------------------------------------------- messages */

typedef enum {
    FK_STRING,     /* "string" */
    FK_OPT_STRING, /* ["null", "string"], NULL when absent */
    FK_LONG,       /* "long" */
    FK_TIME,       /* long timestamp-millis; RFC 3339 in JSON */
    FK_ENUM,       /* enum */
    FK_OPT_ENUM,   /* ["null", enum]; 0 (the C enum's NONE) when absent */
    FK_LINES,      /* array of records; pointer at off, count at off2 */
    /* Fields added to a schema after its first version carry a default,
     * so that records written without them still read (BACKWARD). */
    FK_OPT_TIME, /* ["null", timestamp-millis]; the bool or int at off2 says present */
    FK_LONG_DEF, /* "long", "default": 0; 0 when absent in JSON */
    FK_BOOL_DEF, /* "boolean", "default": false; false when absent in JSON */
} field_kind_t;

typedef struct record_desc_s record_desc_t;

typedef struct {
    const char *name;
    field_kind_t kind;
    size_t off;
    size_t off2;                /* FK_LINES: offset of the size_t count */
    size_t min_len;             /* strings: bytes (0 or 1) */
    size_t max_len;             /* strings: bytes */
    const inv_enum_t *en;       /* FK_ENUM, FK_OPT_ENUM */
    const record_desc_t *items; /* FK_LINES */
    unsigned rules;             /* strings: RULE_* */
    size_t flag_size;           /* FK_OPT_TIME: sizeof the presence flag at off2 (bool or int) */
} field_desc_t;

/* What an identifier's bytes may be (the contract's identifier rules):
 * RULE_ID, UTF-8 without control characters (U+0000-U+001F, U+007F);
 * RULE_NO_SEP, and no INV_ROW_KEY_SEP ('|'), which splits row keys. */
#define RULE_ID 1u
#define RULE_NO_SEP 2u

struct record_desc_s {
    const char *name; /* Avro record name */
    const field_desc_t *fields;
    size_t count;
    size_t size; /* of the C struct */
};

#define ID(s, f) \
    { #f, FK_STRING, offsetof(s, f), 0, 1, INV_CODEC_MAX_ID_LEN, NULL, NULL, RULE_ID, 0 }
#define LOCATION_ID(s, f) \
    { #f, FK_STRING, offsetof(s, f), 0, 1, INV_CODEC_MAX_ID_LEN, NULL, NULL, RULE_ID | RULE_NO_SEP, 0 }
#define DERIVED_ID(s, f) \
    { #f, FK_STRING, offsetof(s, f), 0, 1, INV_CODEC_MAX_DERIVED_ID_LEN, NULL, NULL, RULE_ID, 0 }
#define TEXT(s, f) \
    { #f, FK_STRING, offsetof(s, f), 0, 0, INV_CODEC_MAX_ID_LEN, NULL, NULL, 0, 0 }
#define SEP_ID(s, f) LOCATION_ID(s, f)
#define OPT_SEP_ID(s, f) \
    { #f, FK_OPT_STRING, offsetof(s, f), 0, 1, INV_CODEC_MAX_ID_LEN, NULL, NULL, RULE_ID | RULE_NO_SEP, 0 }
#define OPT_ID(s, f) \
    { #f, FK_OPT_STRING, offsetof(s, f), 0, 1, INV_CODEC_MAX_ID_LEN, NULL, NULL, RULE_ID, 0 }
#define LONG(s, f) \
    { #f, FK_LONG, offsetof(s, f), 0, 0, 0, NULL, NULL, 0, 0 }
#define TIME(s, name, f) \
    { name, FK_TIME, offsetof(s, f), 0, 0, 0, NULL, NULL, 0, 0 }
#define ENUM(s, name, f, e) \
    { name, FK_ENUM, offsetof(s, f), 0, 0, 0, &e, NULL, 0, 0 }
#define OPT_ENUM(s, name, f, e) \
    { name, FK_OPT_ENUM, offsetof(s, f), 0, 0, 0, &e, NULL, 0, 0 }
#define OPT_TIME(s, name, f, has) \
    { name, FK_OPT_TIME, offsetof(s, f), offsetof(s, has), 0, 0, NULL, NULL, 0, sizeof(((s *)0)->has) }
#define LONG_DEF(s, f) \
    { #f, FK_LONG_DEF, offsetof(s, f), 0, 0, 0, NULL, NULL, 0, 0 }
#define BOOL_DEF(s, f) \
    { #f, FK_BOOL_DEF, offsetof(s, f), 0, 0, 0, NULL, NULL, 0, 0 }
#define LINES_OF(s, items) \
    { "lines", FK_LINES, offsetof(s, lines), offsetof(s, line_count), 0, 0, NULL, &items, 0, 0 }
#define LINES(items) LINES_OF(inv_event_t, items)
#define RECORD(name, fields, type) \
    { name, fields, sizeof(fields) / sizeof(fields[0]), sizeof(type) }

static const field_desc_t sale_line_fields[] = {ID(inv_line_t, sku), LONG(inv_line_t, quantity)};
static const field_desc_t return_line_fields[] = {ID(inv_line_t, sku), LONG(inv_line_t, quantity),
                                                  ENUM(inv_line_t, "disposition", disposition, inv_disposition_enum)};
static const record_desc_t sale_line = RECORD("SaleLine", sale_line_fields, inv_line_t);
static const record_desc_t return_line = RECORD("ReturnLine", return_line_fields, inv_line_t);
static const record_desc_t restock_line = RECORD("RestockLine", sale_line_fields, inv_line_t);
static const record_desc_t reservation_line = RECORD("ReservationLine", sale_line_fields, inv_line_t);
static const field_desc_t transfer_line_fields[] = {ID(inv_line_t, sku), LONG(inv_line_t, quantity),
                                                    LONG_DEF(inv_line_t, rejected)};
static const record_desc_t transfer_line = RECORD("TransferLine", transfer_line_fields, inv_line_t);

static const field_desc_t sale_fields[] = {ID(inv_event_t, event_id),
                                           TEXT(inv_event_t, source),
                                           LOCATION_ID(inv_event_t, location_id),
                                           ENUM(inv_event_t, "channel", channel, inv_channel_enum),
                                           TIME(inv_event_t, "occurred_at", occurred_at_ms),
                                           LINES(sale_line),
                                           OPT_ID(inv_event_t, reservation_id)};
static const field_desc_t return_fields[] = {ID(inv_event_t, event_id),
                                             TEXT(inv_event_t, source),
                                             LOCATION_ID(inv_event_t, location_id),
                                             ENUM(inv_event_t, "channel", channel, inv_channel_enum),
                                             TIME(inv_event_t, "occurred_at", occurred_at_ms),
                                             OPT_ID(inv_event_t, original_event_id),
                                             LINES(return_line)};
static const field_desc_t restock_fields[] = {ID(inv_event_t, event_id),
                                              TEXT(inv_event_t, source),
                                              LOCATION_ID(inv_event_t, location_id),
                                              TIME(inv_event_t, "occurred_at", occurred_at_ms),
                                              ENUM(inv_event_t, "kind", restock_kind, inv_restock_kind_enum),
                                              OPT_ID(inv_event_t, purchase_order_id),
                                              LINES(restock_line)};
static const field_desc_t movement_fields[] = {DERIVED_ID(inv_movement_t, movement_id),
                                               ID(inv_movement_t, sku),
                                               LOCATION_ID(inv_movement_t, location_id),
                                               OPT_ENUM(inv_movement_t, "channel", channel, inv_channel_enum),
                                               ENUM(inv_movement_t, "type", type, inv_movement_type_enum),
                                               LONG(inv_movement_t, quantity),
                                               TIME(inv_movement_t, "occurred_at", occurred_at_ms),
                                               TEXT(inv_movement_t, source),
                                               OPT_ID(inv_movement_t, reservation_id),
                                               OPT_TIME(inv_movement_t, "expires_at", expires_at_ms, has_expires_at),
                                               OPT_ID(inv_movement_t, transfer_id),
                                               OPT_SEP_ID(inv_movement_t, other_location_id),
                                               LONG_DEF(inv_movement_t, rejected),
                                               BOOL_DEF(inv_movement_t, allow_partial)};
static const field_desc_t policy_fields[] = {ID(inv_policy_t, sku), LOCATION_ID(inv_policy_t, location_id),
                                             LONG(inv_policy_t, reorder_point), LONG(inv_policy_t, reorder_quantity),
                                             LONG(inv_policy_t, safety_stock)};
static const field_desc_t stock_level_fields[] = {
    ID(inv_stock_level_t, sku),
    LOCATION_ID(inv_stock_level_t, location_id),
    LONG(inv_stock_level_t, on_hand),
    LONG(inv_stock_level_t, unsellable),
    LONG(inv_stock_level_t, on_order),
    LONG(inv_stock_level_t, available),
    TIME(inv_stock_level_t, "updated_at", updated_at_ms),
    LONG(inv_stock_level_t, version),
    LONG_DEF(inv_stock_level_t, committed),
    LONG_DEF(inv_stock_level_t, incoming),
    LONG_DEF(inv_stock_level_t, in_transit_out),
    OPT_TIME(inv_stock_level_t, "last_count_at", last_count_at_ms, has_last_count_at),
    LONG_DEF(inv_stock_level_t, count_variance)};
static const field_desc_t reorder_fields[] = {DERIVED_ID(inv_reorder_t, event_id),
                                              ID(inv_reorder_t, sku),
                                              LOCATION_ID(inv_reorder_t, location_id),
                                              LONG(inv_reorder_t, quantity),
                                              LONG(inv_reorder_t, on_hand),
                                              LONG(inv_reorder_t, on_order),
                                              LONG(inv_reorder_t, reorder_point),
                                              TIME(inv_reorder_t, "occurred_at", occurred_at_ms),
                                              DERIVED_ID(inv_reorder_t, cause_movement_id)};
static const field_desc_t shortage_fields[] = {DERIVED_ID(inv_shortage_t, event_id),
                                               ID(inv_shortage_t, sku),
                                               LOCATION_ID(inv_shortage_t, location_id),
                                               ENUM(inv_shortage_t, "state", state, inv_shortage_state_enum),
                                               LONG(inv_shortage_t, available),
                                               LONG(inv_shortage_t, threshold),
                                               TIME(inv_shortage_t, "occurred_at", occurred_at_ms)};

static const field_desc_t reservation_fields[] = {
    ID(inv_reservation_t, event_id),
    TEXT(inv_reservation_t, source),
    ID(inv_reservation_t, reservation_id),
    ENUM(inv_reservation_t, "action", action, inv_reservation_action_enum),
    LOCATION_ID(inv_reservation_t, location_id),
    ENUM(inv_reservation_t, "channel", channel, inv_channel_enum),
    TIME(inv_reservation_t, "occurred_at", occurred_at_ms),
    OPT_TIME(inv_reservation_t, "expires_at", expires_at_ms, has_expires_at),
    BOOL_DEF(inv_reservation_t, allow_partial),
    LINES_OF(inv_reservation_t, reservation_line)};
static const field_desc_t transfer_fields[] = {ID(inv_transfer_t, event_id),
                                               TEXT(inv_transfer_t, source),
                                               ID(inv_transfer_t, transfer_id),
                                               ENUM(inv_transfer_t, "status", status, inv_transfer_status_enum),
                                               LOCATION_ID(inv_transfer_t, from_location_id),
                                               LOCATION_ID(inv_transfer_t, to_location_id),
                                               TIME(inv_transfer_t, "occurred_at", occurred_at_ms),
                                               LINES_OF(inv_transfer_t, transfer_line)};
static const field_desc_t channel_location_fields[] = {SEP_ID(inv_channel_location_t, channel),
                                                       LOCATION_ID(inv_channel_location_t, location_id),
                                                       LONG_DEF(inv_channel_location_t, buffer)};
static const field_desc_t availability_fields[] = {ID(inv_availability_t, sku),
                                                   SEP_ID(inv_availability_t, channel),
                                                   LONG(inv_availability_t, available_to_sell),
                                                   LONG(inv_availability_t, locations),
                                                   TIME(inv_availability_t, "updated_at", updated_at_ms),
                                                   LONG(inv_availability_t, version)};
static const field_desc_t reservation_status_fields[] = {
    DERIVED_ID(inv_reservation_status_t, event_id),
    ID(inv_reservation_status_t, reservation_id),
    ID(inv_reservation_status_t, sku),
    LOCATION_ID(inv_reservation_status_t, location_id),
    ENUM(inv_reservation_status_t, "state", state, inv_reservation_state_enum),
    LONG(inv_reservation_status_t, requested),
    LONG(inv_reservation_status_t, held),
    LONG(inv_reservation_status_t, remaining),
    OPT_TIME(inv_reservation_status_t, "expires_at", expires_at_ms, has_expires_at),
    TIME(inv_reservation_status_t, "occurred_at", occurred_at_ms)};

static const record_desc_t messages[INV_MSG_COUNT] = {
    [INV_MSG_SALE_EVENT] = RECORD("SaleEvent", sale_fields, inv_event_t),
    [INV_MSG_RETURN_EVENT] = RECORD("ReturnEvent", return_fields, inv_event_t),
    [INV_MSG_RESTOCK_EVENT] = RECORD("RestockEvent", restock_fields, inv_event_t),
    [INV_MSG_STOCK_MOVEMENT] = RECORD("StockMovement", movement_fields, inv_movement_t),
    [INV_MSG_REORDER_POLICY] = RECORD("ReorderPolicy", policy_fields, inv_policy_t),
    [INV_MSG_STOCK_LEVEL] = RECORD("StockLevel", stock_level_fields, inv_stock_level_t),
    [INV_MSG_REORDER_EVENT] = RECORD("ReorderEvent", reorder_fields, inv_reorder_t),
    [INV_MSG_SHORTAGE_EVENT] = RECORD("ShortageEvent", shortage_fields, inv_shortage_t),
    [INV_MSG_RESERVATION_EVENT] = RECORD("ReservationEvent", reservation_fields, inv_reservation_t),
    [INV_MSG_TRANSFER_EVENT] = RECORD("TransferEvent", transfer_fields, inv_transfer_t),
    [INV_MSG_CHANNEL_LOCATION] = RECORD("ChannelLocation", channel_location_fields, inv_channel_location_t),
    [INV_MSG_AVAILABILITY_LEVEL] = RECORD("AvailabilityLevel", availability_fields, inv_availability_t),
    [INV_MSG_RESERVATION_STATUS] = RECORD("ReservationStatus", reservation_status_fields, inv_reservation_status_t),
};

const int32_t inv_schema_default_ids[INV_MSG_COUNT] = {14, 2, 3, 15, 5, 17, 7, 8, 9, 10, 11, 12, 13};

const char *inv_msg_type_name(inv_msg_type_t t) { return (unsigned)t < INV_MSG_COUNT ? messages[t].name : NULL; }

int inv_msg_type_from_name(const char *name, inv_msg_type_t *out) {
    for (int t = 0; name && t < INV_MSG_COUNT; t++)
        if (strcmp(messages[t].name, name) == 0) {
            *out = (inv_msg_type_t)t;
            return 0;
        }
    return -1;
}

typedef const char *cstr_t;
typedef const inv_line_t *lines_ptr_t;
#define FIELD(base, off, type) ((type *)((char *)(base) + (off)))
#define CFIELD(base, off, type) ((const type *)((const char *)(base) + (off)))

/* The presence flag of an FK_OPT_TIME field: a bool, or an int where the
 * model has one (inv_stock_level_t.has_last_count_at). */
_Static_assert(sizeof(bool) != sizeof(int), "flag_size tells bool from int");
static void set_present(void *base, const field_desc_t *f, bool present) {
    if (f->flag_size == sizeof(int))
        *FIELD(base, f->off2, int) = present;
    else
        *FIELD(base, f->off2, bool) = present;
}

static bool is_present(const void *base, const field_desc_t *f) {
    return f->flag_size == sizeof(int) ? *CFIELD(base, f->off2, int) != 0 : *CFIELD(base, f->off2, bool);
}

/* Where a field sits, for messages: "quantity" or "lines[2].quantity". */
typedef struct {
    const char *array; /* NULL at the top level */
    size_t index;
} path_t;

static const char *field_path(char *buf, size_t size, const path_t *p, const char *field) {
    if (!p || !p->array)
        return field;
    snprintf(buf, size, "%s[%zu].%s", p->array, p->index, field);
    return buf;
}

/* -------------------------------------------------------------- the buffer */

/* ---------------------------------------------------------- schema checks */

static const char *avro_type_str(avro_schema_t s) {
    switch (avro_typeof(s)) {
    case AVRO_STRING: return "string";
    case AVRO_BYTES: return "bytes";
    case AVRO_INT32: return "int";
    case AVRO_INT64: return "long";
    case AVRO_FLOAT: return "float";
    case AVRO_DOUBLE: return "double";
    case AVRO_BOOLEAN: return "boolean";
    case AVRO_NULL: return "null";
    case AVRO_RECORD: return "record";
    case AVRO_ENUM: return "enum";
    case AVRO_FIXED: return "fixed";
    case AVRO_MAP: return "map";
    case AVRO_ARRAY: return "array";
    case AVRO_UNION: return "union";
    case AVRO_LINK: return "link";
    }
    return "?";
}

static int check_enum(const char *where, avro_schema_t s, const inv_enum_t *e, char *errstr, size_t n) {
    if (!is_avro_enum(s))
        return inv_errstr(errstr, n, "%s: is %s, the codec expects enum %s", where, avro_type_str(s), e->name);
    if (strcmp(avro_schema_name(s), e->name) != 0)
        return inv_errstr(errstr, n, "%s: enum is named %s, the codec expects %s", where, avro_schema_name(s), e->name);
    int count = avro_schema_enum_number_of_symbols(s);
    for (int i = 0; i < count || i < e->count; i++) {
        const char *sym = i < count ? avro_schema_enum_get(s, i) : "(none)";
        const char *want = i < e->count ? e->syms[i].name : "(none)";
        if (strcmp(sym, want) != 0)
            return inv_errstr(errstr, n, "%s: enum %s symbol %d is %s, the codec expects %s", where, e->name, i, sym,
                              want);
    }
    return 0;
}

/* An optional field: ["null", X] with X checked by the caller. */
static int check_optional(const char *where, avro_schema_t s, json_t *jfield, avro_schema_t *branch, char *errstr,
                          size_t n) {
    if (!is_avro_union(s) || avro_schema_union_size(s) != 2 || !is_avro_null(avro_schema_union_branch(s, 0)))
        return inv_errstr(errstr, n, "%s: is %s, the codec expects a [\"null\", ...] union", where, avro_type_str(s));
    json_t *def = json_object_get(jfield, "default");
    if (!def || !json_is_null(def))
        return inv_errstr(errstr, n, "%s: optional field without \"default\": null", where);
    *branch = avro_schema_union_branch(s, 1);
    return 0;
}

static int check_record(const char *msg, avro_schema_t rs, json_t *jrec, const record_desc_t *rd, char *errstr,
                        size_t n) {
    char where[256];
    if (!is_avro_record(rs))
        return inv_errstr(errstr, n, "schema %s: %s is %s, the codec expects record %s", msg, rd->name,
                          avro_type_str(rs), rd->name);
    if (strcmp(avro_schema_name(rs), rd->name) != 0)
        return inv_errstr(errstr, n, "schema %s: record is named %s, the codec expects %s", msg, avro_schema_name(rs),
                          rd->name);
    json_t *jfields = json_object_get(jrec, "fields");
    size_t count = avro_schema_record_size(rs);
    if (count != rd->count || json_array_size(jfields) != count)
        return inv_errstr(errstr, n, "schema %s: record %s has %zu fields, the codec knows %zu", msg, rd->name, count,
                          rd->count);
    for (size_t i = 0; i < count; i++) {
        const field_desc_t *f = &rd->fields[i];
        const char *name = avro_schema_record_field_name(rs, (int)i);
        avro_schema_t fs = avro_schema_record_field_get_by_index(rs, (int)i);
        json_t *jf = json_array_get(jfields, i);
        json_t *jtype = json_object_get(jf, "type");
        if (strcmp(name, f->name) != 0)
            return inv_errstr(errstr, n, "schema %s: field %zu of %s is %s, the codec expects %s", msg, i, rd->name,
                              name, f->name);
        snprintf(where, sizeof(where), "schema %s: field %s.%s", msg, rd->name, name);
        avro_schema_t branch = NULL;
        switch (f->kind) {
        case FK_STRING:
            if (!is_avro_string(fs))
                return inv_errstr(errstr, n, "%s: is %s, the codec expects string", where, avro_type_str(fs));
            break;
        case FK_OPT_STRING:
            if (check_optional(where, fs, jf, &branch, errstr, n))
                return -1;
            if (!is_avro_string(branch))
                return inv_errstr(errstr, n, "%s: is [\"null\", %s], the codec expects [\"null\", \"string\"]", where,
                                  avro_type_str(branch));
            break;
        case FK_OPT_TIME:
            if (check_optional(where, fs, jf, &branch, errstr, n))
                return -1;
            if (!is_avro_int64(branch) || !json_is_string(json_object_get(json_array_get(jtype, 1), "logicalType")) ||
                strcmp(json_string_value(json_object_get(json_array_get(jtype, 1), "logicalType")),
                       "timestamp-millis") != 0)
                return inv_errstr(errstr, n, "%s: the codec expects [\"null\", long timestamp-millis]", where);
            break;
        case FK_LONG_DEF:
            if (!is_avro_int64(fs) || json_is_object(jtype))
                return inv_errstr(errstr, n, "%s: is %s, the codec expects a plain long", where, avro_type_str(fs));
            if (!json_is_integer(json_object_get(jf, "default")) ||
                json_integer_value(json_object_get(jf, "default")) != 0)
                return inv_errstr(errstr, n, "%s: the codec expects \"default\": 0", where);
            break;
        case FK_BOOL_DEF:
            if (!is_avro_boolean(fs))
                return inv_errstr(errstr, n, "%s: is %s, the codec expects boolean", where, avro_type_str(fs));
            if (!json_is_false(json_object_get(jf, "default")))
                return inv_errstr(errstr, n, "%s: the codec expects \"default\": false", where);
            break;
        case FK_LONG:
        case FK_TIME:
            if (!is_avro_int64(fs))
                return inv_errstr(errstr, n, "%s: is %s, the codec expects long", where, avro_type_str(fs));
            {
                const char *lt = json_string_value(json_object_get(jtype, "logicalType"));
                bool is_time = lt && strcmp(lt, "timestamp-millis") == 0;
                if (f->kind == FK_TIME && !is_time)
                    return inv_errstr(errstr, n, "%s: the codec expects logicalType timestamp-millis", where);
                if (f->kind == FK_LONG && lt)
                    return inv_errstr(errstr, n, "%s: has logicalType %s, the codec expects a plain long", where, lt);
            }
            break;
        case FK_ENUM:
            if (check_enum(where, fs, f->en, errstr, n))
                return -1;
            break;
        case FK_OPT_ENUM:
            if (check_optional(where, fs, jf, &branch, errstr, n) || check_enum(where, branch, f->en, errstr, n))
                return -1;
            break;
        case FK_LINES:
            if (!is_avro_array(fs))
                return inv_errstr(errstr, n, "%s: is %s, the codec expects an array", where, avro_type_str(fs));
            if (check_record(msg, avro_schema_array_items(fs), json_object_get(jtype, "items"), f->items, errstr, n))
                return -1;
            break;
        }
    }
    return 0;
}

int inv_schema_check(inv_msg_type_t t, const char *json, size_t len, char *errstr, size_t errstr_size) {
    if ((unsigned)t >= INV_MSG_COUNT)
        return inv_errstr(errstr, errstr_size, "unknown message type %d", (int)t);
    const char *msg = messages[t].name;
    avro_schema_t schema = NULL;
    if (!json || avro_schema_from_json_length(json, len, &schema))
        return inv_errstr(errstr, errstr_size, "schema %s: not a valid Avro schema: %s", msg, avro_strerror());
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    int r = root ? check_record(msg, schema, root, &messages[t], errstr, errstr_size)
                 : inv_errstr(errstr, errstr_size, "schema %s: not JSON: %s", msg, jerr.text);
    if (r == 0 &&
        strcmp(avro_schema_namespace(schema) ? avro_schema_namespace(schema) : "", "com.inventory.events") != 0)
        r = inv_errstr(errstr, errstr_size, "schema %s: namespace is %s, the codec expects com.inventory.events", msg,
                       avro_schema_namespace(schema) ? avro_schema_namespace(schema) : "(none)");
    json_decref(root);
    avro_schema_decref(schema);
    return r;
}

/* --------------------------------------------------------------- resolver */

static int static_lookup_id(const inv_schema_resolver_t *r, int32_t id, inv_msg_type_t *type) {
    const int32_t *ids = r->opaque;
    for (int t = 0; t < INV_MSG_COUNT; t++)
        if (ids[t] == id) {
            *type = (inv_msg_type_t)t;
            return 0;
        }
    return -1;
}

/* An id of the static map: one of ours (current schemas), or the id an
 * earlier version of a schema had (inv_schema_json_legacy) when no current
 * type was given that id. */
static const char *static_schema_of(const inv_schema_resolver_t *r, int32_t id, inv_msg_type_t *type) {
    if (static_lookup_id(r, id, type) == 0)
        return inv_schema_json(*type);
    return inv_schema_json_legacy(id, type);
}

static int32_t static_id_for(const inv_schema_resolver_t *r, inv_msg_type_t type) {
    const int32_t *ids = r->opaque;
    return (unsigned)type < INV_MSG_COUNT ? ids[type] : -1;
}

/* Our ids are written with our schemas: the embedded text. */
static int static_writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len,
                                char *errstr, size_t errstr_size) {
    inv_msg_type_t t;
    if (errstr_size)
        errstr[0] = '\0';
    if (!(*json = static_schema_of(r, id, &t)))
        return INV_SCHEMA_UNKNOWN;
    *len = strlen(*json);
    return 0;
}

void inv_schema_resolver_static_init(inv_schema_resolver_t *r, const int32_t ids[INV_MSG_COUNT]) {
    r->lookup_id = static_lookup_id;
    r->id_for = static_id_for;
    r->writer_schema = static_writer_schema;
    r->opaque = (void *)ids;
}

/* Every type needs its own id, and each id must lead back to its type. */
static int check_resolver(const inv_schema_resolver_t *r, char *errstr, size_t n) {
    if (!r || !r->id_for)
        return inv_errstr(errstr, n, "no schema resolver");
    if (!r->lookup_id)
        return 0; /* no static map (a registry): its ids are the registry's to keep apart */
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        int32_t id = r->id_for(r, (inv_msg_type_t)t);
        inv_msg_type_t back;
        if (id < 0)
            return inv_errstr(errstr, n, "schema.id.%s: %" PRId32 " is negative", messages[t].name, id);
        if (r->lookup_id(r, id, &back) || back != (inv_msg_type_t)t)
            return inv_errstr(errstr, n, "schema.id.%s: %" PRId32 " is also the id of %s", messages[t].name, id,
                              r->lookup_id(r, id, &back) ? "no type" : messages[back].name);
    }
    return 0;
}

/* One parsed schema with a reusable generic value. */
typedef struct {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    bool has_value;
} avro_slot_t;

static int slots_open(avro_slot_t slots[INV_MSG_COUNT], char *errstr, size_t n) {
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        const char *json = inv_schema_json((inv_msg_type_t)t);
        size_t len = json ? strlen(json) : 0;
        if (inv_schema_check((inv_msg_type_t)t, json, len, errstr, n))
            return -1;
        if (avro_schema_from_json_length(json, len, &slots[t].schema) ||
            !(slots[t].iface = avro_generic_class_from_schema(slots[t].schema)) ||
            avro_generic_value_new(slots[t].iface, &slots[t].value))
            return inv_errstr(errstr, n, "schema %s: %s", messages[t].name, avro_strerror());
        slots[t].has_value = true;
    }
    return 0;
}

static void slots_close(avro_slot_t slots[INV_MSG_COUNT]) {
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        if (slots[t].has_value)
            avro_value_decref(&slots[t].value);
        if (slots[t].iface)
            avro_value_iface_decref(slots[t].iface);
        if (slots[t].schema)
            avro_schema_decref(slots[t].schema);
    }
}

/* ------------------------------------------------------- writer schemas */

/*
 * Avro schema resolution, our own rather than Avro-C's resolved writer
 * (avro_resolved_writer_new): Avro-C 1.11 refuses any reader field the
 * writer lacks ("Reader field %s doesn't appear in writer", defaults are a
 * TODO in resolved-writer.c), which is the commonest evolution (a field
 * removed, or a reader newer than the writer), and its errors do not name
 * the field path. Here a writer schema is compiled once per id into a plan
 * (rs_node_t, mirroring the writer schema) that reads the writer's body
 * into the generic value of our reader schema, which avro_to_record then
 * turns into the struct with the same checks as an unresolved record.
 * Building the plan is the compatibility check, so it names the field.
 */
typedef enum {
    RS_SCALAR,  /* primitive into primitive, promoted as Avro allows */
    RS_ENUM,    /* symbols mapped by name */
    RS_RECORD,  /* fields by name; the reader's missing ones from defaults */
    RS_ARRAY,   /* kids[0]: the items */
    RS_WUNION,  /* a writer union: kids[b] reads branch b */
    RS_RBRANCH, /* into branch `branch` of the reader's union, kids[0] */
    RS_FAIL,    /* a writer branch the reader cannot take: fails its records */
} rs_op_t;

typedef struct rs_node_s rs_node_t;
struct rs_node_s {
    rs_op_t op;
    avro_schema_t w;      /* the writer's schema here (borrowed from the entry) */
    avro_type_t rtype;    /* RS_SCALAR: the reader's type */
    int branch;           /* RS_RBRANCH */
    int *enum_map;        /* RS_ENUM: reader index per writer symbol, -1 none */
    int enum_count;       /* RS_ENUM: writer symbols */
    size_t count;         /* kids */
    rs_node_t **kids;     /* RS_RECORD: per writer field, NULL = skipped */
    size_t *rindex;       /* RS_RECORD: the reader field of each writer field */
    size_t ndefaults;     /* RS_RECORD: reader fields the writer lacks */
    size_t *def_index;    /* their reader index */
    avro_schema_t *def_s; /* their reader schema (borrowed from the slot) */
    json_t **def_v;       /* their default (a reference each) */
    char *reason;         /* RS_FAIL: the error, whole */
};

static void rs_free(rs_node_t *nd) {
    if (!nd)
        return;
    for (size_t i = 0; i < nd->count; i++)
        rs_free(nd->kids[i]);
    for (size_t i = 0; i < nd->ndefaults; i++)
        json_decref(nd->def_v[i]);
    free(nd->kids);
    free(nd->rindex);
    free(nd->def_index);
    free(nd->def_s);
    free(nd->def_v);
    free(nd->enum_map);
    free(nd->reason);
    free(nd);
}

/* What a writer schema id became in a decoder. */
typedef enum {
    WS_SAME,     /* our schema: read as is */
    WS_RESOLVED, /* plan reads it into ours */
    WS_BAD,      /* cannot be resolved: reason */
    WS_FOREIGN,  /* not one of our messages: reason is what it is */
} ws_kind_t;

typedef struct ws_entry_s {
    int32_t id;
    ws_kind_t kind;
    int type; /* the message type of the writer's record, -1 for none */
    uint64_t last_use;
    avro_schema_t schema;
    rs_node_t *plan;
    char *reason;
} ws_entry_t;

static void ws_entry_clear(ws_entry_t *e) {
    rs_free(e->plan);
    free(e->reason);
    if (e->schema)
        avro_schema_decref(e->schema);
    memset(e, 0, sizeof(*e));
}

/* ---------------------------------------------------------------- decoder */

/* Longest enum symbol or RFC 3339 time the fast path takes, and room for
 * the strings of any StockMovement within the bounds (a movement_id, six
 * ids or texts and four short strings, each with its NUL); jansson takes
 * the rest. */
#define FLAT_SHORT_MAX 64
#define FLAT_SCRATCH 4096
_Static_assert(INV_CODEC_MAX_DERIVED_ID_LEN + 1 + 6 * (INV_CODEC_MAX_ID_LEN + 1) + 4 * (FLAT_SHORT_MAX + 1) <=
                   FLAT_SCRATCH,
               "the fast path's scratch holds a StockMovement at its bounds");

struct inv_decoder_s {
    const inv_schema_resolver_t *resolver;
    avro_slot_t slots[INV_MSG_COUNT];
    avro_reader_t reader;
    json_t *json_root; /* owns the strings of the last JSON decode */
    inv_line_t *lines; /* arena for the lines of the last decode */
    size_t lines_cap;
    inv_json_path_t json_path;
    char flat[FLAT_SCRATCH]; /* owns the strings of the last fast-path decode */
    /* Writer schemas by id, at most INV_CODEC_WRITER_CACHE (see ws_load). */
    ws_entry_t *ws_last;
    ws_entry_t *ws;
    size_t ws_count;
    uint64_t ws_clock;
    inv_buf_t rs_scratch; /* a resolved string on its way into Avro-C */
    const char *rs_msg;   /* the message and writer id being resolved */
    int32_t rs_id;
    inv_decode_error_t error; /* the class of the last failure (inv_decoder_last_error) */
};

/* A decoder's or encoder's Avro state: its slots (every schema, checked
 * against the codec) and a memory reader or writer (the other NULL).
 * 0, or -1 with errstr. */
static int avro_state_open(avro_slot_t slots[INV_MSG_COUNT], avro_reader_t *reader, avro_writer_t *writer, char *errstr,
                           size_t n) {
    if (slots_open(slots, errstr, n))
        return -1;
    if ((reader && !(*reader = avro_reader_memory("", 0))) || (writer && !(*writer = avro_writer_memory("", 0))))
        return inv_errstr(errstr, n, "out of memory");
    return 0;
}

inv_decoder_t *inv_decoder_new(const inv_schema_resolver_t *resolver, char *errstr, size_t errstr_size) {
    if (check_resolver(resolver, errstr, errstr_size))
        return NULL;
    inv_decoder_t *d = calloc(1, sizeof(*d));
    if (!d) {
        inv_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    d->resolver = resolver;
    inv_buf_init(&d->rs_scratch);
    if (!resolver->writer_schema) {
        inv_errstr(errstr, errstr_size, "the schema resolver has no writer_schema");
        inv_decoder_destroy(d);
        return NULL;
    }
    if (!(d->ws = calloc(INV_CODEC_WRITER_CACHE, sizeof(*d->ws)))) {
        inv_errstr(errstr, errstr_size, "out of memory");
        inv_decoder_destroy(d);
        return NULL;
    }
    if (avro_state_open(d->slots, &d->reader, NULL, errstr, errstr_size)) {
        inv_decoder_destroy(d);
        return NULL;
    }
    return d;
}

void inv_decoder_destroy(inv_decoder_t *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->ws_count; i++)
        ws_entry_clear(&d->ws[i]);
    free(d->ws);
    inv_buf_free(&d->rs_scratch);
    slots_close(d->slots);
    if (d->reader)
        avro_reader_free(d->reader);
    json_decref(d->json_root);
    free(d->lines);
    free(d);
}

static inv_line_t *lines_alloc(inv_decoder_t *d, size_t count) {
    if (count > d->lines_cap) {
        size_t cap = d->lines_cap ? d->lines_cap : 16;
        while (cap < count)
            cap *= 2;
        inv_line_t *p = realloc(d->lines, cap * sizeof(*p));
        if (!p)
            return NULL;
        d->lines = p;
        d->lines_cap = cap;
    }
    memset(d->lines, 0, count * sizeof(*d->lines));
    return d->lines;
}

/* The rules shared by JSON and Avro strings, on the decoded bytes: the
 * length, then for identifiers (f->rules) their bytes, the first offending
 * byte named by its offset in the field. UTF-8 and NUL bytes in other
 * strings are the caller's: jansson checks UTF-8 in JSON, json_to_record
 * NUL bytes (\u0000 is let through), avro_str both in Avro. */
static int check_string(const field_desc_t *f, const path_t *p, const char *s, size_t len, char *errstr, size_t n) {
    char pb[300];
    if (len < f->min_len)
        return inv_errstr(errstr, n, "%s: empty string, expected 1 to %zu bytes",
                          field_path(pb, sizeof(pb), p, f->name), f->max_len);
    if (len > f->max_len)
        return inv_errstr(errstr, n, "%s: %zu bytes, expected at most %zu", field_path(pb, sizeof(pb), p, f->name), len,
                          f->max_len);
    if (!(f->rules & RULE_ID))
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, c; i < len; i += c) {
        if (u[i] < 0x20 || u[i] == 0x7F)
            return inv_errstr(errstr, n, "%s: control character U+%04X at byte %zu",
                              field_path(pb, sizeof(pb), p, f->name), u[i], i);
        if (u[i] == INV_ROW_KEY_SEP && (f->rules & RULE_NO_SEP))
            return inv_errstr(errstr, n, "%s: '%c' at byte %zu is not allowed", field_path(pb, sizeof(pb), p, f->name),
                              INV_ROW_KEY_SEP, i);
        if (!(c = inv_utf8_char(u + i, len - i)))
            return inv_errstr(errstr, n, "%s: invalid UTF-8 at byte %zu", field_path(pb, sizeof(pb), p, f->name), i);
    }
    return 0;
}

int inv_codec_check_id(const char *field, const char *s, size_t len, int no_separator, char *errstr,
                       size_t errstr_size) {
    field_desc_t f = {.name = field,
                      .kind = FK_STRING,
                      .min_len = 1,
                      .max_len = INV_CODEC_MAX_ID_LEN,
                      .rules = RULE_ID | (no_separator ? RULE_NO_SEP : 0u)};
    return check_string(&f, NULL, s, len, errstr, errstr_size);
}

static int check_lines_count(size_t count, char *errstr, size_t n) {
    if (count == 0)
        return inv_errstr(errstr, n, "lines: empty, expected 1 to %d lines", INV_CODEC_MAX_LINES);
    if (count > INV_CODEC_MAX_LINES)
        return inv_errstr(errstr, n, "lines: %zu lines, expected at most %d", count, INV_CODEC_MAX_LINES);
    return 0;
}

static const char *json_type_str(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* "got string", or for a real number "got 2.5" (the value says why). */
static const char *json_got(char *buf, size_t size, const json_t *v) {
    if (json_is_real(v)) {
        double x = json_real_value(v);
        for (int prec = 15; prec <= 17; prec++) { /* shortest that reads back */
            snprintf(buf, size, "%.*g", prec, x);
            if (strtod(buf, NULL) == x)
                break;
        }
        if (!strpbrk(buf, ".eEni"))
            strncat(buf, ".0", size - strlen(buf) - 1);
        return buf;
    }
    return json_type_str(v);
}

static int json_to_record(inv_decoder_t *d, const record_desc_t *rd, json_t *obj, void *out, const path_t *p,
                          char *errstr, size_t n) {
    char pb[300], qb[128], gb[64];
    for (size_t i = 0; i < rd->count; i++) {
        const field_desc_t *f = &rd->fields[i];
        json_t *v = json_object_get(obj, f->name);
        const char *fp;
        switch (f->kind) {
        case FK_STRING:
        case FK_OPT_STRING:
            if (f->kind == FK_OPT_STRING && (!v || json_is_null(v))) {
                *FIELD(out, f->off, cstr_t) = NULL;
                break;
            }
            if (!v || !json_is_string(v)) {
                fp = field_path(pb, sizeof(pb), p, f->name);
                if (!v)
                    return inv_errstr(errstr, n, "%s: missing, expected a string", fp);
                return inv_errstr(errstr, n, "%s: expected a string%s, got %s", fp,
                                  f->kind == FK_OPT_STRING ? " or null" : "", json_got(gb, sizeof(gb), v));
            }
            if (check_string(f, p, json_string_value(v), json_string_length(v), errstr, n))
                return -1;
            if (!(f->rules & RULE_ID) && memchr(json_string_value(v), '\0', json_string_length(v)))
                return inv_errstr(errstr, n, "%s: contains a NUL byte", field_path(pb, sizeof(pb), p, f->name));
            *FIELD(out, f->off, cstr_t) = json_string_value(v);
            break;
        case FK_LONG:
            if (!v || !json_is_integer(v)) {
                fp = field_path(pb, sizeof(pb), p, f->name);
                if (!v)
                    return inv_errstr(errstr, n, "%s: missing, expected an integer", fp);
                return inv_errstr(errstr, n, "%s: expected an integer, got %s", fp, json_got(gb, sizeof(gb), v));
            }
            *FIELD(out, f->off, int64_t) = (int64_t)json_integer_value(v);
            break;
        case FK_LONG_DEF:
            if (!v) {
                *FIELD(out, f->off, int64_t) = 0;
                break;
            }
            if (!json_is_integer(v))
                return inv_errstr(errstr, n, "%s: expected an integer, got %s", field_path(pb, sizeof(pb), p, f->name),
                                  json_got(gb, sizeof(gb), v));
            *FIELD(out, f->off, int64_t) = (int64_t)json_integer_value(v);
            break;
        case FK_BOOL_DEF:
            if (v && !json_is_boolean(v))
                return inv_errstr(errstr, n, "%s: expected true or false, got %s",
                                  field_path(pb, sizeof(pb), p, f->name), json_got(gb, sizeof(gb), v));
            *FIELD(out, f->off, bool) = v && json_is_true(v);
            break;
        case FK_TIME:
        case FK_OPT_TIME:
            if (f->kind == FK_OPT_TIME && (!v || json_is_null(v))) {
                *FIELD(out, f->off, int64_t) = 0;
                set_present(out, f, false);
                break;
            }
            if (!v || !json_is_string(v)) {
                fp = field_path(pb, sizeof(pb), p, f->name);
                if (!v)
                    return inv_errstr(errstr, n, "%s: missing, expected an RFC 3339 time", fp);
                return inv_errstr(errstr, n, "%s: expected an RFC 3339 time string%s, got %s", fp,
                                  f->kind == FK_OPT_TIME ? " or null" : "", json_got(gb, sizeof(gb), v));
            }
            if (f->kind == FK_OPT_TIME)
                set_present(out, f, true);
            if (memchr(json_string_value(v), '\0', json_string_length(v)) ||
                inv_time_parse_rfc3339(json_string_value(v), FIELD(out, f->off, int64_t)))
                return inv_errstr(errstr, n, "%s: %s is not an RFC 3339 time", field_path(pb, sizeof(pb), p, f->name),
                                  quote(qb, sizeof(qb), json_string_value(v), json_string_length(v)));
            break;
        case FK_ENUM:
        case FK_OPT_ENUM:
            if (f->kind == FK_OPT_ENUM && (!v || json_is_null(v))) {
                *FIELD(out, f->off, int) = 0;
                break;
            }
            fp = field_path(pb, sizeof(pb), p, f->name);
            if (!v)
                return inv_errstr(errstr, n, "%s: missing, expected one of %s", fp, f->en->list);
            if (!json_is_string(v))
                return inv_errstr(errstr, n, "%s: expected a string%s, got %s", fp,
                                  f->kind == FK_OPT_ENUM ? " or null" : "", json_got(gb, sizeof(gb), v));
            if (inv_enum_parse(f->en, json_string_value(v), json_string_length(v), FIELD(out, f->off, int)))
                return inv_errstr(errstr, n, "%s: %s is not one of %s", fp,
                                  quote(qb, sizeof(qb), json_string_value(v), json_string_length(v)), f->en->list);
            break;
        case FK_LINES: {
            if (!v)
                return inv_errstr(errstr, n, "lines: missing, expected an array");
            if (!json_is_array(v))
                return inv_errstr(errstr, n, "lines: expected an array, got %s", json_got(gb, sizeof(gb), v));
            size_t count = json_array_size(v);
            if (check_lines_count(count, errstr, n))
                return -1;
            inv_line_t *lines = lines_alloc(d, count);
            if (!lines)
                return inv_errstr(errstr, n, "out of memory");
            for (size_t k = 0; k < count; k++) {
                json_t *item = json_array_get(v, k);
                path_t lp = {f->name, k};
                if (!json_is_object(item))
                    return inv_errstr(errstr, n, "lines[%zu]: expected an object, got %s", k,
                                      json_got(gb, sizeof(gb), item));
                if (json_to_record(d, f->items, item, &lines[k], &lp, errstr, n))
                    return -1;
            }
            *FIELD(out, f->off, lines_ptr_t) = lines;
            *FIELD(out, f->off2, size_t) = count;
            break;
        }
        }
    }
    return 0;
}

/* What json_to_record takes for a field, as a member of a flat object. */
static inv_json_flat_member_t flat_member(const field_desc_t *f) {
    inv_json_flat_member_t m = {f->name, INV_JSON_FLAT_STRING, FLAT_SHORT_MAX};
    switch (f->kind) {
    case FK_OPT_STRING:
        m.accept |= INV_JSON_FLAT_NULL | INV_JSON_FLAT_ABSENT;
        /* fall through */
    case FK_STRING: m.max_len = f->max_len; break;
    case FK_LONG: m.accept = INV_JSON_FLAT_INT; break;
    case FK_LONG_DEF: m.accept = INV_JSON_FLAT_INT | INV_JSON_FLAT_ABSENT; break;
    case FK_BOOL_DEF: m.accept = INV_JSON_FLAT_BOOL | INV_JSON_FLAT_ABSENT; break;
    case FK_OPT_TIME:
    case FK_OPT_ENUM: m.accept |= INV_JSON_FLAT_NULL | INV_JSON_FLAT_ABSENT; break;
    case FK_TIME:
    case FK_ENUM: break;
    case FK_LINES:
        m.accept = 0; /* never taken: the message goes to jansson */
        break;
    }
    return m;
}

/* The fast path: fills out exactly as decode_json would, without a jansson
 * tree, or returns -1 for anything it does not take whole (including a
 * value json_to_record rejects), which then goes to decode_json for the
 * verdict and the error message. The strings live in d->flat. */
static int flat_to_record(inv_decoder_t *d, const record_desc_t *rd, const char *buf, size_t len, void *out) {
    inv_json_flat_member_t members[INV_JSON_FLAT_MAX_MEMBERS];
    inv_json_flat_value_t v[INV_JSON_FLAT_MAX_MEMBERS];
    if (rd->count > INV_JSON_FLAT_MAX_MEMBERS)
        return -1;
    for (size_t i = 0; i < rd->count; i++)
        members[i] = flat_member(&rd->fields[i]);
    if (inv_json_flat_scan(buf, len, members, rd->count, v, d->flat, sizeof(d->flat)))
        return -1;
    for (size_t i = 0; i < rd->count; i++) {
        const field_desc_t *f = &rd->fields[i];
        bool null = v[i].type == INV_JSON_FLAT_NULL || v[i].type == INV_JSON_FLAT_ABSENT;
        switch (f->kind) {
        case FK_STRING:
        case FK_OPT_STRING:
            if (!null && check_string(f, NULL, v[i].str, v[i].len, NULL, 0))
                return -1;
            *FIELD(out, f->off, cstr_t) = null ? NULL : v[i].str;
            break;
        case FK_LONG:
        case FK_LONG_DEF: *FIELD(out, f->off, int64_t) = v[i].type == INV_JSON_FLAT_INT ? v[i].num : 0; break;
        case FK_BOOL_DEF: *FIELD(out, f->off, bool) = v[i].type == INV_JSON_FLAT_BOOL && v[i].num; break;
        case FK_OPT_TIME:
            set_present(out, f, !null);
            if (null) {
                *FIELD(out, f->off, int64_t) = 0;
                break;
            }
            /* fall through */
        case FK_TIME:
            if (inv_time_parse_rfc3339(v[i].str, FIELD(out, f->off, int64_t)))
                return -1;
            break;
        case FK_ENUM:
        case FK_OPT_ENUM:
            if (null)
                *FIELD(out, f->off, int) = 0;
            else if (inv_enum_parse(f->en, v[i].str, v[i].len, FIELD(out, f->off, int)))
                return -1;
            break;
        case FK_LINES: return -1;
        }
    }
    return 0;
}

static int decode_json(inv_decoder_t *d, inv_msg_type_t type, const char *buf, size_t len, void *out, char *errstr,
                       size_t n) {
    json_error_t jerr;
    /* \u0000 is let through to be named with its field and byte, as an
     * identifier's control character or another string's NUL byte. */
    d->error = INV_DECODE_ERROR_JSON;
    d->json_root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!d->json_root) {
        sanitize(jerr.text);
        return inv_errstr(errstr, n, "not JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
    }
    if (!json_is_object(d->json_root))
        return inv_errstr(errstr, n, "expected a JSON object, got %s", json_type_str(d->json_root));
    d->error = INV_DECODE_ERROR_FIELD;
    return json_to_record(d, &messages[type], d->json_root, out, NULL, errstr, n);
}

/*
 * The Avro body is walked once against its schema before Avro-C reads it:
 * Avro-C trusts lengths and counts (a corrupt one becomes a huge allocation)
 * and does not check enum indexes, so every length, count, index and varint
 * is bounded here by the bytes that are really there.
 */
#define WALK_MAX_DEPTH 32

typedef struct {
    const unsigned char *p;
    size_t pos, len;
    size_t base; /* offset of the body in the message, for positions */
    struct {
        const char *name;
        int64_t index; /* array index within this field, -1 for none */
    } path[WALK_MAX_DEPTH];
    int depth;
    int64_t max_items; /* per array, all blocks together: the contract's
                          only arrays are lines (inv_schema_check) */
    char *errstr;
    size_t errstr_size;
} walk_t;

static const char *walk_path(walk_t *w, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < w->depth && o < size; i++) {
        if (w->path[i].name)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "." : "", w->path[i].name);
        if (w->path[i].index >= 0 && o < size)
            o += (size_t)snprintf(buf + o, size - o, "[%" PRId64 "]", w->path[i].index);
    }
    return buf;
}

static int walk_fail(walk_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int walk_fail(walk_t *w, const char *fmt, ...) {
    char pb[300], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    walk_path(w, pb, sizeof(pb));
    return inv_errstr(w->errstr, w->errstr_size, "%s%s%s", pb, pb[0] ? ": " : "", msg);
}

static int walk_varint(walk_t *w, int64_t *out) {
    size_t start = w->pos;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (w->pos >= w->len)
            return walk_fail(w, "truncated Avro body at byte %zu", w->base + start);
        unsigned char b = w->p[w->pos++];
        if (i == 9 && b > 1)
            return walk_fail(w, "malformed Avro varint at byte %zu", w->base + start);
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return walk_fail(w, "malformed Avro varint at byte %zu", w->base + start);
}

static int walk_bytes(walk_t *w, const char *what) {
    size_t start = w->pos;
    int64_t len = 0;
    if (walk_varint(w, &len))
        return -1;
    if (len < 0)
        return walk_fail(w, "Avro %s length %" PRId64 " at byte %zu is negative", what, len, w->base + start);
    if ((uint64_t)len > w->len - w->pos)
        return walk_fail(w, "truncated Avro body at byte %zu (%s of %" PRId64 " bytes, %zu left)", w->base + w->pos,
                         what, len, w->len - w->pos);
    w->pos += (size_t)len;
    return 0;
}

/* Smallest encoding of a value of schema s, to bound item counts. */
static size_t min_size(avro_schema_t s, int depth) {
    if (depth > WALK_MAX_DEPTH)
        return 0;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_FLOAT: return 4;
    case AVRO_DOUBLE: return 8;
    case AVRO_FIXED: return (size_t)avro_schema_fixed_size(s);
    case AVRO_RECORD: {
        size_t sum = 0;
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            sum += min_size(avro_schema_record_field_get_by_index(s, (int)i), depth + 1);
        return sum;
    }
    case AVRO_LINK: return 0;
    default: return 1;
    }
}

static int walk_value(walk_t *w, avro_schema_t s);

static int walk_blocks(walk_t *w, avro_schema_t items, bool is_map) {
    size_t item_min = min_size(items, w->depth);
    int64_t index = 0;
    for (;;) {
        size_t start = w->pos;
        int64_t count = 0;
        if (walk_varint(w, &count))
            return -1;
        if (count == 0)
            return 0;
        if (count < 0) {
            int64_t bytes = 0;
            if (count == INT64_MIN)
                return walk_fail(w, "Avro block count %" PRId64 " at byte %zu is out of range", count, w->base + start);
            count = -count;
            if (walk_varint(w, &bytes))
                return -1;
        }
        size_t left = w->len - w->pos;
        if ((uint64_t)count > (item_min ? left / item_min : (size_t)INV_CODEC_MAX_MESSAGE))
            return walk_fail(w, "Avro block of %" PRId64 " items at byte %zu is longer than the %zu bytes left", count,
                             w->base + start, left);
        /* Avro-C allocates per item: a block header claiming too many lines
         * fails here, before avro_value_read() ever sees it. The count
         * named is the lines claimed up to this block, which is all of them
         * when the writer wrote one block (Avro-C and fastavro do). */
        if (count > w->max_items - index)
            return walk_fail(w, "%" PRId64 " lines, expected at most %" PRId64, index + count, w->max_items);
        for (int64_t i = 0; i < count; i++, index++) {
            w->path[w->depth - 1].index = index;
            if (is_map && walk_bytes(w, "map key"))
                return -1;
            if (walk_value(w, items))
                return -1;
        }
        w->path[w->depth - 1].index = -1;
    }
}

static int walk_fixed(walk_t *w, size_t size) {
    if (size > w->len - w->pos)
        return walk_fail(w, "truncated Avro body at byte %zu", w->base + w->pos);
    w->pos += size;
    return 0;
}

static int walk_enum(walk_t *w, avro_schema_t s) {
    size_t start = w->pos;
    int64_t v = 0;
    int count = avro_schema_enum_number_of_symbols(s);
    if (walk_varint(w, &v))
        return -1;
    if (v >= 0 && v < count)
        return 0;
    char list[256];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; i < count && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", avro_schema_enum_get(s, i));
    return walk_fail(w, "Avro enum index %" PRId64 " at byte %zu is not one of %s", v, w->base + start, list);
}

static int walk_record(walk_t *w, avro_schema_t s) {
    if (w->depth >= WALK_MAX_DEPTH)
        return walk_fail(w, "Avro value nested deeper than %d levels at byte %zu", WALK_MAX_DEPTH, w->base + w->pos);
    int saved = w->depth++;
    for (size_t i = 0; i < avro_schema_record_size(s); i++) {
        w->path[saved].name = avro_schema_record_field_name(s, (int)i);
        w->path[saved].index = -1;
        if (walk_value(w, avro_schema_record_field_get_by_index(s, (int)i)))
            return -1;
    }
    w->depth = saved;
    return 0;
}

static int walk_value(walk_t *w, avro_schema_t s) {
    size_t start = w->pos;
    int64_t v = 0;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN:
        if (w->pos >= w->len)
            return walk_fail(w, "truncated Avro body at byte %zu", w->base + start);
        if (w->p[w->pos] > 1)
            return walk_fail(w, "Avro boolean %u at byte %zu is not 0 or 1", w->p[w->pos], w->base + start);
        w->pos++;
        return 0;
    case AVRO_INT32:
        if (walk_varint(w, &v))
            return -1;
        return v < INT32_MIN || v > INT32_MAX
                   ? walk_fail(w, "Avro int %" PRId64 " at byte %zu is out of range", v, w->base + start)
                   : 0;
    case AVRO_INT64: return walk_varint(w, &v);
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_FIXED:
        return walk_fixed(w, is_avro_float(s) ? 4 : is_avro_double(s) ? 8 : (size_t)avro_schema_fixed_size(s));
    case AVRO_STRING:
    case AVRO_BYTES: return walk_bytes(w, is_avro_string(s) ? "string" : "bytes");
    case AVRO_ENUM: return walk_enum(w, s);
    case AVRO_UNION: {
        size_t count = avro_schema_union_size(s);
        if (walk_varint(w, &v))
            return -1;
        if (v < 0 || (uint64_t)v >= count)
            return walk_fail(w, "Avro union branch %" PRId64 " at byte %zu is out of range 0 to %zu", v,
                             w->base + start, count - 1);
        return walk_value(w, avro_schema_union_branch(s, (int)v));
    }
    case AVRO_ARRAY:
    case AVRO_MAP:
        if (w->depth == 0) { /* a top-level array gets an unnamed path entry */
            w->path[0].name = NULL;
            w->path[0].index = -1;
            w->depth = 1;
        }
        return walk_blocks(w, is_avro_array(s) ? avro_schema_array_items(s) : avro_schema_map_values(s),
                           is_avro_map(s));
    case AVRO_RECORD: return walk_record(w, s);
    case AVRO_LINK: return walk_fail(w, "recursive Avro schemas are not supported");
    }
    return walk_fail(w, "unknown Avro type at byte %zu", w->base + start);
}

static int avro_str(const field_desc_t *f, const path_t *p, avro_value_t *v, const char **out, char *errstr, size_t n) {
    char pb[300];
    const char *s;
    size_t size;
    if (avro_value_get_string(v, &s, &size))
        return inv_errstr(errstr, n, "%s: %s", field_path(pb, sizeof(pb), p, f->name), avro_strerror());
    size_t len = size ? size - 1 : 0;
    if (!(f->rules & RULE_ID) && memchr(s, '\0', len)) /* an identifier's are control characters */
        return inv_errstr(errstr, n, "%s: contains a NUL byte", field_path(pb, sizeof(pb), p, f->name));
    if (check_string(f, p, s, len, errstr, n))
        return -1;
    size_t ok = utf8_valid_prefix((const unsigned char *)s, len);
    if (ok != len)
        return inv_errstr(errstr, n, "%s: invalid UTF-8 at byte %zu", field_path(pb, sizeof(pb), p, f->name), ok);
    *out = s;
    return 0;
}

static int avro_time_check(const field_desc_t *f, const path_t *p, int64_t ms, char *errstr, size_t n) {
    char pb[300];
    if (ms < TIME_MIN_MS || ms > TIME_MAX_MS)
        return inv_errstr(errstr, n, "%s: %" PRId64 " ms is outside the years 0000 to 9999",
                          field_path(pb, sizeof(pb), p, f->name), ms);
    return 0;
}

static int avro_to_record(inv_decoder_t *d, const record_desc_t *rd, avro_value_t *rec, void *out, const path_t *p,
                          char *errstr, size_t n) {
    for (size_t i = 0; i < rd->count; i++) {
        const field_desc_t *f = &rd->fields[i];
        avro_value_t v, branch;
        int disc = 0, idx = 0;
        if (avro_value_get_by_index(rec, i, &v, NULL))
            return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
        switch (f->kind) {
        case FK_OPT_STRING:
            if (avro_value_get_discriminant(&v, &disc) || avro_value_get_current_branch(&v, &branch))
                return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
            if (disc == 0) {
                *FIELD(out, f->off, cstr_t) = NULL;
                break;
            }
            if (avro_str(f, p, &branch, FIELD(out, f->off, cstr_t), errstr, n))
                return -1;
            break;
        case FK_STRING:
            if (avro_str(f, p, &v, FIELD(out, f->off, cstr_t), errstr, n))
                return -1;
            break;
        case FK_BOOL_DEF: {
            int b = 0;
            avro_value_get_boolean(&v, &b);
            *FIELD(out, f->off, bool) = b != 0;
            break;
        }
        case FK_OPT_TIME:
            if (avro_value_get_discriminant(&v, &disc) || avro_value_get_current_branch(&v, &branch))
                return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
            set_present(out, f, disc != 0);
            if (disc == 0) {
                *FIELD(out, f->off, int64_t) = 0;
                break;
            }
            v = branch;
            /* fall through */
        case FK_LONG:
        case FK_LONG_DEF:
        case FK_TIME:
            avro_value_get_long(&v, FIELD(out, f->off, int64_t));
            if ((f->kind == FK_TIME || f->kind == FK_OPT_TIME) &&
                avro_time_check(f, p, *FIELD(out, f->off, int64_t), errstr, n))
                return -1;
            break;
        case FK_OPT_ENUM:
            if (avro_value_get_discriminant(&v, &disc) || avro_value_get_current_branch(&v, &branch))
                return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
            if (disc == 0) {
                *FIELD(out, f->off, int) = 0;
                break;
            }
            v = branch;
            /* fall through */
        case FK_ENUM:
            avro_value_get_enum(&v, &idx);
            *FIELD(out, f->off, int) = f->en->syms[idx].value; /* the walk bounded idx */
            break;
        case FK_LINES: {
            size_t count = 0;
            avro_value_get_size(&v, &count);
            if (check_lines_count(count, errstr, n))
                return -1;
            inv_line_t *lines = lines_alloc(d, count);
            if (!lines)
                return inv_errstr(errstr, n, "out of memory");
            for (size_t k = 0; k < count; k++) {
                avro_value_t item;
                path_t lp = {f->name, k};
                if (avro_value_get_by_index(&v, k, &item, NULL))
                    return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
                if (avro_to_record(d, f->items, &item, &lines[k], &lp, errstr, n))
                    return -1;
            }
            *FIELD(out, f->off, lines_ptr_t) = lines;
            *FIELD(out, f->off2, size_t) = count;
            break;
        }
        }
    }
    return 0;
}

/* "string", "record SaleLine", "union [null, string]": for the reasons. */
static const char *rs_desc(char *buf, size_t size, avro_schema_t s) {
    switch (avro_typeof(s)) {
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_FIXED: snprintf(buf, size, "%s %s", avro_type_str(s), avro_schema_name(s)); break;
    case AVRO_UNION: {
        size_t o = (size_t)snprintf(buf, size, "union [");
        for (size_t i = 0; i < avro_schema_union_size(s) && o < size; i++) {
            avro_schema_t b = avro_schema_union_branch(s, (int)i);
            bool named = is_avro_record(b) || is_avro_enum(b) || is_avro_fixed(b);
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
                                  named ? avro_schema_name(b) : avro_type_str(b));
        }
        if (o < size)
            snprintf(buf + o, size - o, "]");
        break;
    }
    default: snprintf(buf, size, "%s", avro_type_str(s)); break;
    }
    return buf;
}

typedef struct {
    const char *msg; /* the reader's message name */
    int32_t id;
    json_t *root; /* the reader schema's JSON, for defaults and named types */
    char *errstr;
    size_t n;
} rs_ctx_t;

static rs_node_t *rs_node(rs_op_t op, avro_schema_t w, size_t kids) {
    rs_node_t *nd = calloc(1, sizeof(*nd));
    if (nd && kids && !(nd->kids = calloc(kids, sizeof(*nd->kids)))) {
        free(nd);
        return NULL;
    }
    if (nd) {
        nd->op = op;
        nd->w = w;
        nd->count = kids;
    }
    return nd;
}

static rs_node_t *rs_oom(rs_ctx_t *c, rs_node_t *nd) {
    rs_free(nd);
    inv_errstr(c->errstr, c->n, "out of memory");
    return NULL;
}

static rs_node_t *rs_mismatch(rs_ctx_t *c, const char *path, avro_schema_t w, avro_schema_t r) {
    char wb[256], rb[256];
    if (!path[0])
        inv_errstr(c->errstr, c->n, "%s: writer schema %" PRId32 " is %s, reader wants %s", c->msg, c->id,
                   rs_desc(wb, sizeof(wb), w), rs_desc(rb, sizeof(rb), r));
    else
        inv_errstr(c->errstr, c->n, "%s: writer schema %" PRId32 " field %s is %s, reader wants %s", c->msg, c->id,
                   path, rs_desc(wb, sizeof(wb), w), rs_desc(rb, sizeof(rb), r));
    return NULL;
}

/* A named type's JSON definition in the reader schema (a type may be
 * written once and named after). */
static json_t *rs_find_named(json_t *node, const char *name) {
    if (json_is_object(node)) {
        const char *nm = json_string_value(json_object_get(node, "name"));
        json_t *t = json_object_get(node, "type");
        if (nm && json_is_string(t) && strcmp(nm, name) == 0 &&
            (!strcmp(json_string_value(t), "record") || !strcmp(json_string_value(t), "enum") ||
             !strcmp(json_string_value(t), "fixed")))
            return node;
        const char *key;
        json_t *v;
        json_object_foreach(node, key, v) {
            json_t *f = rs_find_named(v, name);
            if (f)
                return f;
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *f = rs_find_named(json_array_get(node, i), name);
            if (f)
                return f;
        }
    }
    return NULL;
}

/* The JSON of reader type r at node j (a name, an object or a union array). */
static json_t *rs_json(rs_ctx_t *c, json_t *j, avro_schema_t r) {
    if (json_is_string(j) && (is_avro_record(r) || is_avro_enum(r) || is_avro_fixed(r)))
        return rs_find_named(c->root, avro_schema_name(r));
    return j;
}

/* Whether a writer value of w can be read as r (after promotion when
 * `promote`): the rule that picks a reader union's branch. */
static bool rs_match(avro_schema_t w, avro_schema_t r, bool promote) {
    avro_type_t wt = avro_typeof(w), rt = avro_typeof(r);
    if (wt == rt) {
        if (wt == AVRO_RECORD || wt == AVRO_ENUM || wt == AVRO_FIXED)
            return strcmp(avro_schema_name(w), avro_schema_name(r)) == 0;
        return wt != AVRO_UNION && wt != AVRO_LINK;
    }
    if (!promote)
        return false;
    switch (wt) {
    case AVRO_INT32: return rt == AVRO_INT64 || rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_INT64: return rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_FLOAT: return rt == AVRO_DOUBLE;
    case AVRO_STRING: return rt == AVRO_BYTES;
    case AVRO_BYTES: return rt == AVRO_STRING;
    default: return false;
    }
}

/* Whether json is a valid default for r (checked once, when compiling). */
static bool rs_default_ok(rs_ctx_t *c, avro_schema_t r, json_t *j, json_t *v) {
    switch (avro_typeof(r)) {
    case AVRO_NULL: return json_is_null(v);
    case AVRO_BOOLEAN: return json_is_boolean(v);
    case AVRO_INT32:
    case AVRO_INT64: return json_is_integer(v);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: return json_is_number(v);
    case AVRO_STRING:
    case AVRO_BYTES: return json_is_string(v);
    case AVRO_ENUM: return json_is_string(v) && avro_schema_enum_get_by_name(r, json_string_value(v)) >= 0;
    case AVRO_UNION:
        return avro_schema_union_size(r) > 0 &&
               rs_default_ok(c, avro_schema_union_branch(r, 0), json_array_get(j, 0), v);
    case AVRO_ARRAY: {
        if (!json_is_array(v))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!rs_default_ok(c, avro_schema_array_items(r), NULL, json_array_get(v, i)))
                return false;
        return true;
    }
    case AVRO_RECORD: {
        json_t *jr = rs_json(c, j, r), *jf = json_object_get(jr, "fields");
        if (!json_is_object(v))
            return false;
        for (size_t i = 0; i < avro_schema_record_size(r); i++) {
            json_t *fj = json_array_get(jf, i), *fv = json_object_get(v, avro_schema_record_field_name(r, (int)i));
            if (!fv)
                fv = json_object_get(fj, "default");
            if (!fv ||
                !rs_default_ok(c, avro_schema_record_field_get_by_index(r, (int)i), json_object_get(fj, "type"), fv))
                return false;
        }
        return true;
    }
    default: return false; /* maps and fixed: none in our schemas */
    }
}

/* Sets v (of reader schema r) to a default rs_default_ok accepted. */
static int rs_set_default(avro_value_t *v, avro_schema_t r, json_t *d) {
    avro_value_t child;
    const char *s;
    switch (avro_typeof(r)) {
    case AVRO_NULL: return avro_value_set_null(v);
    case AVRO_BOOLEAN: return avro_value_set_boolean(v, json_is_true(d));
    case AVRO_INT32: return avro_value_set_int(v, (int32_t)json_integer_value(d));
    case AVRO_INT64: return avro_value_set_long(v, (int64_t)json_integer_value(d));
    case AVRO_FLOAT: return avro_value_set_float(v, (float)json_number_value(d));
    case AVRO_DOUBLE: return avro_value_set_double(v, json_number_value(d));
    case AVRO_STRING: s = json_string_value(d); return avro_value_set_string_len(v, s, json_string_length(d) + 1);
    case AVRO_BYTES: return avro_value_set_bytes(v, (void *)json_string_value(d), json_string_length(d));
    case AVRO_ENUM: return avro_value_set_enum(v, avro_schema_enum_get_by_name(r, json_string_value(d)));
    case AVRO_UNION:
        return avro_value_set_branch(v, 0, &child) || rs_set_default(&child, avro_schema_union_branch(r, 0), d);
    case AVRO_ARRAY:
        avro_value_reset(v);
        for (size_t i = 0; i < json_array_size(d); i++)
            if (avro_value_append(v, &child, NULL) ||
                rs_set_default(&child, avro_schema_array_items(r), json_array_get(d, i)))
                return -1;
        return 0;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(r); i++)
            if (avro_value_get_by_index(v, i, &child, NULL) ||
                rs_set_default(&child, avro_schema_record_field_get_by_index(r, (int)i),
                               json_object_get(d, avro_schema_record_field_name(r, (int)i))))
                return -1;
        return 0;
    default: return -1;
    }
}

static rs_node_t *rs_compile(rs_ctx_t *c, avro_schema_t w, avro_schema_t r, json_t *rj, const char *path);

static rs_node_t *rs_compile_record(rs_ctx_t *c, avro_schema_t w, avro_schema_t r, json_t *rj, const char *path) {
    size_t wn = avro_schema_record_size(w), rn = avro_schema_record_size(r);
    json_t *rfields = json_object_get(rs_json(c, rj, r), "fields");
    char sub[512];
    rs_node_t *nd = rs_node(RS_RECORD, w, wn);
    if (!nd || (wn && !(nd->rindex = calloc(wn, sizeof(size_t)))) ||
        (rn && (!(nd->def_index = calloc(rn, sizeof(size_t))) || !(nd->def_s = calloc(rn, sizeof(avro_schema_t))) ||
                !(nd->def_v = calloc(rn, sizeof(json_t *))))))
        return rs_oom(c, nd);
    for (size_t ri = 0; ri < rn; ri++) {
        const char *name = avro_schema_record_field_name(r, (int)ri);
        avro_schema_t rf = avro_schema_record_field_get_by_index(r, (int)ri);
        json_t *jf = json_array_get(rfields, ri);
        int wi = avro_schema_record_field_get_index(w, name);
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", name);
        if (wi < 0) {
            json_t *def = json_object_get(jf, "default");
            if (!def) {
                rs_free(nd);
                inv_errstr(c->errstr, c->n,
                           "%s: reader field %s has no default and the writer schema %" PRId32 " lacks it", c->msg, sub,
                           c->id);
                return NULL;
            }
            if (!rs_default_ok(c, rf, json_object_get(jf, "type"), def)) {
                rs_free(nd);
                inv_errstr(c->errstr, c->n, "%s: reader field %s has a default that is not a %s", c->msg, sub,
                           avro_type_str(rf));
                return NULL;
            }
            nd->def_index[nd->ndefaults] = ri;
            nd->def_s[nd->ndefaults] = rf;
            nd->def_v[nd->ndefaults++] = json_incref(def);
            continue;
        }
        if (!(nd->kids[wi] =
                  rs_compile(c, avro_schema_record_field_get_by_index(w, wi), rf, json_object_get(jf, "type"), sub))) {
            rs_free(nd);
            return NULL;
        }
        nd->rindex[wi] = ri;
    }
    return nd;
}

static rs_node_t *rs_compile_enum(rs_ctx_t *c, avro_schema_t w, avro_schema_t r, json_t *rj) {
    rs_node_t *nd = rs_node(RS_ENUM, w, 0);
    int wn = avro_schema_enum_number_of_symbols(w);
    if (!nd || !(nd->enum_map = calloc((size_t)wn + 1, sizeof(int))))
        return rs_oom(c, nd);
    nd->enum_count = wn;
    const char *def = json_string_value(json_object_get(rs_json(c, rj, r), "default"));
    int def_index = def ? avro_schema_enum_get_by_name(r, def) : -1;
    for (int i = 0; i < wn; i++) {
        int ri = avro_schema_enum_get_by_name(r, avro_schema_enum_get(w, i));
        nd->enum_map[i] = ri >= 0 ? ri : def_index;
    }
    return nd;
}

static rs_node_t *rs_compile(rs_ctx_t *c, avro_schema_t w, avro_schema_t r, json_t *rj, const char *path) {
    rs_node_t *nd;
    char sub[512];
    if (is_avro_link(w) || is_avro_link(r)) {
        inv_errstr(c->errstr, c->n, "%s: writer schema %" PRId32 " is recursive, which is not supported", c->msg,
                   c->id);
        return NULL;
    }
    if (is_avro_union(w)) {
        /* Avro: each writer branch resolves on its own; a branch the
         * reader cannot take fails only the records that use it. */
        size_t count = avro_schema_union_size(w), ok = 0;
        char first[512] = "";
        if (!(nd = rs_node(RS_WUNION, w, count)))
            return rs_oom(c, NULL);
        for (size_t b = 0; b < count; b++) {
            avro_schema_t wb = avro_schema_union_branch(w, (int)b);
            if ((nd->kids[b] = rs_compile(c, wb, r, rj, path))) {
                ok++;
                continue;
            }
            if (!first[0])
                snprintf(first, sizeof(first), "%s", c->errstr ? c->errstr : "");
            if (!(nd->kids[b] = rs_node(RS_FAIL, wb, 0)) || !(nd->kids[b]->reason = strdup(c->errstr ? c->errstr : "")))
                return rs_oom(c, nd);
        }
        if (ok)
            return nd;
        rs_free(nd);
        return rs_mismatch(c, path, w, r); /* no branch at all: the schema is wrong, not a record */
    }
    if (is_avro_union(r)) {
        for (int pass = 0; pass < 2; pass++)
            for (size_t b = 0; b < avro_schema_union_size(r); b++) {
                avro_schema_t rb = avro_schema_union_branch(r, (int)b);
                if (!rs_match(w, rb, pass == 1))
                    continue;
                if (!(nd = rs_node(RS_RBRANCH, w, 1)))
                    return rs_oom(c, NULL);
                nd->branch = (int)b;
                if (!(nd->kids[0] = rs_compile(c, w, rb, json_array_get(rj, b), path))) {
                    rs_free(nd);
                    return NULL;
                }
                return nd;
            }
        return rs_mismatch(c, path, w, r);
    }
    switch (avro_typeof(w)) {
    case AVRO_RECORD:
        if (!rs_match(w, r, false))
            return rs_mismatch(c, path, w, r);
        return rs_compile_record(c, w, r, rj, path);
    case AVRO_ENUM:
        if (!rs_match(w, r, false))
            return rs_mismatch(c, path, w, r);
        return rs_compile_enum(c, w, r, rj);
    case AVRO_ARRAY:
        if (!is_avro_array(r))
            return rs_mismatch(c, path, w, r);
        snprintf(sub, sizeof(sub), "%s[]", path);
        if (!(nd = rs_node(RS_ARRAY, w, 1)))
            return rs_oom(c, NULL);
        if (!(nd->kids[0] = rs_compile(c, avro_schema_array_items(w), avro_schema_array_items(r),
                                       json_object_get(rs_json(c, rj, r), "items"), sub))) {
            rs_free(nd);
            return NULL;
        }
        return nd;
    case AVRO_MAP:
    case AVRO_FIXED: return rs_mismatch(c, path, w, r); /* our reader schemas have none */
    default:
        if (!rs_match(w, r, true))
            return rs_mismatch(c, path, w, r);
        if (!(nd = rs_node(RS_SCALAR, w, 0)))
            return rs_oom(c, NULL);
        nd->rtype = avro_typeof(r);
        return nd;
    }
}

/* Reads an Avro float or double (little-endian IEEE 754). */
static double rs_read_real(walk_t *w, size_t size) {
    uint64_t bits = 0;
    for (size_t i = 0; i < size; i++)
        bits |= (uint64_t)w->p[w->pos + i] << (8 * i);
    w->pos += size;
    if (size == 4) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof(f));
        return f;
    }
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* Reads the writer's value at w->pos by plan nd into the reader's value v.
 * The body has been walked under the writer schema: lengths, counts and
 * indexes are within bounds. */
static int rs_read(inv_decoder_t *d, walk_t *w, const rs_node_t *nd, avro_value_t *v);

/* 0, or -1 with errstr (for the one error a walked body can still give). */
static int rs_avro_fail(walk_t *w) { return walk_fail(w, "Avro: %s", avro_strerror()); }

static int rs_read_scalar(inv_decoder_t *d, walk_t *w, const rs_node_t *nd, avro_value_t *v);

static int rs_read(inv_decoder_t *d, walk_t *w, const rs_node_t *nd, avro_value_t *v) {
    int64_t x = 0;
    avro_value_t child;
    switch (nd->op) {
    case RS_SCALAR: return rs_read_scalar(d, w, nd, v);
    case RS_ENUM: {
        if (walk_varint(w, &x))
            return -1;
        int ri = nd->enum_map[x]; /* the walk bounded x */
        if (ri < 0) {
            char pb[300];
            return inv_errstr(w->errstr, w->errstr_size,
                              "%s: writer schema %" PRId32 " field %s is symbol %s, which reader enum %s lacks "
                              "(no default)",
                              d->rs_msg, d->rs_id, walk_path(w, pb, sizeof(pb)), avro_schema_enum_get(nd->w, (int)x),
                              avro_schema_name(nd->w));
        }
        return avro_value_set_enum(v, ri) ? rs_avro_fail(w) : 0;
    }
    case RS_RECORD: {
        int saved = w->depth++;
        for (size_t i = 0; i < nd->count; i++) {
            w->path[saved].name = avro_schema_record_field_name(nd->w, (int)i);
            w->path[saved].index = -1;
            if (!nd->kids[i]) {
                if (walk_value(w, avro_schema_record_field_get_by_index(nd->w, (int)i)))
                    return -1;
                continue;
            }
            if (avro_value_get_by_index(v, nd->rindex[i], &child, NULL))
                return rs_avro_fail(w);
            if (rs_read(d, w, nd->kids[i], &child))
                return -1;
        }
        w->depth = saved;
        for (size_t i = 0; i < nd->ndefaults; i++)
            if (avro_value_get_by_index(v, nd->def_index[i], &child, NULL) ||
                rs_set_default(&child, nd->def_s[i], nd->def_v[i]))
                return rs_avro_fail(w);
        return 0;
    }
    case RS_ARRAY: {
        int64_t index = 0;
        avro_value_reset(v);
        for (;;) {
            if (walk_varint(w, &x))
                return -1;
            if (x == 0)
                return 0;
            if (x < 0) {
                int64_t bytes;
                x = -x;
                if (walk_varint(w, &bytes))
                    return -1;
            }
            for (int64_t i = 0; i < x; i++, index++) {
                w->path[w->depth - 1].index = index;
                if (avro_value_append(v, &child, NULL))
                    return rs_avro_fail(w);
                if (rs_read(d, w, nd->kids[0], &child))
                    return -1;
            }
            w->path[w->depth - 1].index = -1;
        }
    }
    case RS_WUNION:
        if (walk_varint(w, &x))
            return -1;
        return rs_read(d, w, nd->kids[x], v); /* the walk bounded x */
    case RS_RBRANCH:
        if (avro_value_set_branch(v, nd->branch, &child))
            return rs_avro_fail(w);
        return rs_read(d, w, nd->kids[0], &child);
    case RS_FAIL: return inv_errstr(w->errstr, w->errstr_size, "%s", nd->reason);
    }
    return -1;
}

static int rs_read_scalar(inv_decoder_t *d, walk_t *w, const rs_node_t *nd, avro_value_t *v) {
    int64_t x = 0, len = 0;
    double f = 0;
    const char *s = NULL;
    bool integral = true;
    switch (avro_typeof(nd->w)) {
    case AVRO_NULL: break;
    case AVRO_BOOLEAN: x = w->p[w->pos++]; break;
    case AVRO_INT32:
    case AVRO_INT64:
        if (walk_varint(w, &x))
            return -1;
        break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        f = rs_read_real(w, is_avro_float(nd->w) ? 4 : 8);
        integral = false;
        break;
    case AVRO_STRING:
    case AVRO_BYTES:
        if (walk_varint(w, &len))
            return -1;
        s = (const char *)w->p + w->pos;
        w->pos += (size_t)len; /* the walk bounded len */
        break;
    default: return walk_fail(w, "Avro: unexpected writer type %s", avro_type_str(nd->w));
    }
    int rc = 0;
    switch (nd->rtype) {
    case AVRO_NULL: rc = avro_value_set_null(v); break;
    case AVRO_BOOLEAN: rc = avro_value_set_boolean(v, (int)x); break;
    case AVRO_INT32: rc = avro_value_set_int(v, (int32_t)x); break;
    case AVRO_INT64: rc = avro_value_set_long(v, x); break;
    case AVRO_FLOAT: rc = avro_value_set_float(v, integral ? (float)x : (float)f); break;
    case AVRO_DOUBLE: rc = avro_value_set_double(v, integral ? (double)x : f); break;
    case AVRO_STRING:
        /* Avro-C's strings carry their NUL: copy through the scratch. */
        d->rs_scratch.len = 0;
        if (inv_buf_append(&d->rs_scratch, s, (size_t)len) || inv_buf_append(&d->rs_scratch, "", 1))
            return inv_errstr(w->errstr, w->errstr_size, "out of memory");
        rc = avro_value_set_string_len(v, d->rs_scratch.data, (size_t)len + 1);
        break;
    case AVRO_BYTES: rc = avro_value_set_bytes(v, (void *)s, (size_t)len); break;
    default: return walk_fail(w, "Avro: unexpected reader type");
    }
    return rc ? rs_avro_fail(w) : 0;
}

/* The cache entry of `id`, or NULL. The last hit is checked first: a
 * stream is mostly one id. */
static ws_entry_t *ws_find(inv_decoder_t *d, int32_t id) {
    ws_entry_t *e = d->ws_last;
    if (!e || e->id != id || !e->schema) {
        e = NULL;
        for (size_t i = 0; i < d->ws_count; i++)
            if (d->ws[i].id == id) {
                e = &d->ws[i];
                break;
            }
        if (!e)
            return NULL;
        d->ws_last = e;
    }
    e->last_use = ++d->ws_clock;
    return e;
}

/* Compiles the entry of a writer schema whose record is ours (e->type). */
static void ws_compile(inv_decoder_t *d, ws_entry_t *e) {
    char err[512] = "";
    avro_slot_t *slot = &d->slots[e->type];
    if (avro_schema_equal(e->schema, slot->schema)) {
        e->kind = WS_SAME;
        return;
    }
    const char *text = inv_schema_json((inv_msg_type_t)e->type);
    json_t *root = json_loads(text, 0, NULL);
    rs_ctx_t c = {.msg = messages[e->type].name, .id = e->id, .root = root, .errstr = err, .n = sizeof(err)};
    e->plan = root ? rs_compile(&c, e->schema, slot->schema, root, "") : NULL;
    if (!root)
        snprintf(err, sizeof(err), "out of memory");
    json_decref(root);
    e->kind = e->plan ? WS_RESOLVED : WS_BAD;
    if (!e->plan)
        e->reason = strdup(err);
}

/* Asks the resolver for id's writer schema and caches what it becomes,
 * evicting the least recently used entry when full. 0 with *out, -1 or
 * INV_DECODE_RETRY with errstr. */
static int ws_load(inv_decoder_t *d, int32_t id, ws_entry_t **out, char *errstr, size_t n) {
    const char *json = NULL;
    size_t len = 0;
    char why[400] = "", desc[256];
    int rc = d->resolver->writer_schema(d->resolver, id, &json, &len, why, sizeof(why));
    if (rc == INV_SCHEMA_RETRY) {
        inv_errstr(errstr, n, "schema id %" PRId32 ": %s", id, why[0] ? why : "not available now");
        return INV_DECODE_RETRY;
    }
    if (rc != 0)
        return inv_errstr(errstr, n, "unknown schema id %" PRId32 "%s%s", id, why[0] ? ": " : "", why);
    avro_schema_t schema = NULL;
    if (!json || avro_schema_from_json_length(json, len, &schema))
        return inv_errstr(errstr, n, "writer schema %" PRId32 " is not a valid Avro schema: %s", id, avro_strerror());
    ws_entry_t *e = NULL;
    if (d->ws_count < INV_CODEC_WRITER_CACHE) {
        e = &d->ws[d->ws_count++];
    } else {
        e = &d->ws[0];
        for (size_t i = 1; i < d->ws_count; i++)
            if (d->ws[i].last_use < e->last_use)
                e = &d->ws[i];
        ws_entry_clear(e);
    }
    e->id = id;
    e->schema = schema;
    e->last_use = ++d->ws_clock;
    e->type = -1;
    inv_msg_type_t t;
    if (is_avro_record(schema) && inv_msg_type_from_name(avro_schema_name(schema), &t) == 0) {
        e->type = (int)t;
        ws_compile(d, e);
    } else {
        e->kind = WS_FOREIGN;
        e->reason = strdup(rs_desc(desc, sizeof(desc), schema));
    }
    d->ws_last = e;
    *out = e;
    return 0;
}

static int decode_avro(inv_decoder_t *d, inv_msg_type_t type, const unsigned char *buf, size_t len, void *out,
                       char *errstr, size_t n) {
    d->error = INV_DECODE_ERROR_AVRO;
    if (len < 5)
        return inv_errstr(errstr, n, "truncated Avro header: %zu bytes, expected at least 5", len);
    d->error = INV_DECODE_ERROR_SCHEMA;
    int32_t id = (int32_t)((uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4]);
    ws_entry_t *e = ws_find(d, id);
    int rc;
    if (!e && (rc = ws_load(d, id, &e, errstr, n)) != 0)
        return rc;
    if (e->type != (int)type) {
        if (e->kind == WS_FOREIGN)
            return inv_errstr(errstr, n, "%s: writer schema %" PRId32 " is %s, reader wants %s", messages[type].name,
                              id, e->reason ? e->reason : "not a record", messages[type].name);
        return inv_errstr(errstr, n, "schema id %" PRId32 " is %s, expected %s", id, messages[e->type].name,
                          messages[type].name);
    }
    if (e->kind == WS_BAD)
        return inv_errstr(errstr, n, "%s", e->reason ? e->reason : "out of memory");
    d->error = INV_DECODE_ERROR_AVRO;
    avro_slot_t *slot = &d->slots[type];
    walk_t w = {
        .p = buf + 5, .len = len - 5, .base = 5, .max_items = INV_CODEC_MAX_LINES, .errstr = errstr, .errstr_size = n};
    if (walk_value(&w, e->schema))
        return -1;
    if (w.pos != w.len)
        return inv_errstr(errstr, n, "%zu trailing bytes after the Avro record at byte %zu", w.len - w.pos, 5 + w.pos);
    if (e->kind == WS_SAME) {
        avro_reader_memory_set_source(d->reader, (const char *)buf + 5, (int64_t)(len - 5));
        if (avro_value_read(d->reader, &slot->value))
            return inv_errstr(errstr, n, "Avro body: %s", avro_strerror());
    } else {
        walk_t r = w; /* the same bounds, for the writer fields it skips */
        r.pos = 0;
        d->rs_msg = messages[type].name;
        d->rs_id = id;
        if (rs_read(d, &r, e->plan, &slot->value))
            return -1;
    }
    d->error = INV_DECODE_ERROR_FIELD;
    return avro_to_record(d, &messages[type], &slot->value, out, NULL, errstr, n);
}

/* ------------------------------------------------------ contract validation */

static int check_quantity(const char *field, const path_t *p, int64_t q, int rule, char *errstr, size_t n) {
    char pb[300];
    const char *fp = field_path(pb, sizeof(pb), p, field);
    switch (rule) {
    case INV_MOVE_ADJUSTMENT:
        if (q == 0)
            return inv_errstr(errstr, n, "%s: 0 is not allowed, an adjustment must be non-zero", fp);
        return 0;
    case INV_MOVE_COUNT:
        if (q < 0)
            return inv_errstr(errstr, n, "%s: %" PRId64 " is negative, a count must be 0 or more", fp, q);
        return 0;
    default:
        if (q <= 0)
            return inv_errstr(errstr, n, "%s: %" PRId64 " is not positive", fp, q);
        return 0;
    }
}

static int validate_event(const inv_event_t *ev, char *errstr, size_t n) {
    int rule = INV_MOVE_SALE; /* positive */
    if (ev->kind == INV_EVENT_RESTOCK)
        rule = ev->restock_kind == INV_RESTOCK_ADJUSTMENT ? INV_MOVE_ADJUSTMENT
               : ev->restock_kind == INV_RESTOCK_COUNT    ? INV_MOVE_COUNT
                                                          : INV_MOVE_RECEIPT;
    for (size_t i = 0; i < ev->line_count; i++) {
        path_t p = {"lines", i};
        if (check_quantity("quantity", &p, ev->lines[i].quantity, rule, errstr, n))
            return -1;
    }
    return 0;
}

/* Which optional fields of a StockMovement each type needs (MV_NEED) and
 * may have (MV_MAY, a superset); the rest must be absent. */
#define MV_CHANNEL 1u
#define MV_RESERVATION 2u /* reservation_id */
#define MV_EXPIRES 4u     /* expires_at */
#define MV_TRANSFER 8u    /* transfer_id and other_location_id */
#define MV_REJECTED 16u
#define MV_PARTIAL 32u /* allow_partial */

static void movement_fields_of(inv_movement_type_t t, unsigned *need, unsigned *may) {
    switch (t) {
    case INV_MOVE_SALE: *need = MV_CHANNEL, *may = MV_CHANNEL | MV_RESERVATION; return;
    case INV_MOVE_RETURN_RESELLABLE:
    case INV_MOVE_RETURN_DAMAGED: *need = *may = MV_CHANNEL; return;
    case INV_MOVE_RECEIPT:
    case INV_MOVE_ADJUSTMENT:
    case INV_MOVE_COUNT: *need = *may = 0; return;
    case INV_MOVE_RESERVE: *need = MV_CHANNEL | MV_RESERVATION | MV_EXPIRES, *may = *need | MV_PARTIAL; return;
    case INV_MOVE_RELEASE:
    case INV_MOVE_EXPIRE: *need = *may = MV_CHANNEL | MV_RESERVATION; return;
    case INV_MOVE_TRANSFER_IN: *need = MV_TRANSFER, *may = MV_TRANSFER | MV_REJECTED; return;
    case INV_MOVE_TRANSFER_OUT:
    case INV_MOVE_TRANSFER_CANCEL: *need = *may = MV_TRANSFER; return;
    }
    *need = *may = 0;
}

/* "<field>: null, a <type> movement needs one" or "<field>: <value>, a
 * <type> movement has none (null)", for an optional field against its
 * type's rule. */
static int movement_field_rule(const char *field, bool present, const char *shown, unsigned bit, unsigned need,
                               unsigned may, const char *type, char *errstr, size_t n) {
    if (!present && (need & bit))
        return inv_errstr(errstr, n, "%s: null, a %s movement needs one", field, type);
    if (present && !(may & bit))
        return inv_errstr(errstr, n, "%s: %s, a %s movement has none (null)", field, shown, type);
    return 0;
}

static int validate_movement(const inv_movement_t *m, char *errstr, size_t n) {
    const char *type = inv_movement_type_to_string(m->type);
    unsigned need, may;
    char qb[128], tb[32];
    movement_fields_of(m->type, &need, &may);
    if ((need & MV_CHANNEL) && m->channel == INV_CHANNEL_NONE)
        return inv_errstr(errstr, n, "channel: null, a %s movement needs one of %s", type, inv_channel_enum.list);
    if (!(may & MV_CHANNEL) && m->channel != INV_CHANNEL_NONE)
        return inv_errstr(errstr, n, "channel: \"%s\", a %s movement has none (null)",
                          inv_channel_to_string(m->channel), type);
    if (check_quantity("quantity", NULL, m->quantity, (int)m->type, errstr, n))
        return -1;
#define QUOTED(s) ((s) ? quote(qb, sizeof(qb), (s), strlen(s)) : "")
    if (movement_field_rule("reservation_id", m->reservation_id != NULL, QUOTED(m->reservation_id), MV_RESERVATION,
                            need, may, type, errstr, n))
        return -1;
    if (m->has_expires_at)
        inv_time_format_rfc3339(m->expires_at_ms, tb);
    if (movement_field_rule("expires_at", m->has_expires_at, tb, MV_EXPIRES, need, may, type, errstr, n) ||
        movement_field_rule("transfer_id", m->transfer_id != NULL, QUOTED(m->transfer_id), MV_TRANSFER, need, may, type,
                            errstr, n) ||
        movement_field_rule("other_location_id", m->other_location_id != NULL, QUOTED(m->other_location_id),
                            MV_TRANSFER, need, may, type, errstr, n))
        return -1;
#undef QUOTED
    if (m->other_location_id && strcmp(m->other_location_id, m->location_id) == 0)
        return inv_errstr(errstr, n, "other_location_id: %s is location_id, expected the other end of the transfer",
                          quote(qb, sizeof(qb), m->other_location_id, strlen(m->other_location_id)));
    if (m->rejected != 0 && !(may & MV_REJECTED))
        return inv_errstr(errstr, n, "rejected: %" PRId64 ", a %s movement has none (0)", m->rejected, type);
    if (m->rejected < 0)
        return inv_errstr(errstr, n, "rejected: %" PRId64 " is negative", m->rejected);
    if (m->rejected > 0 && m->rejected > m->quantity)
        return inv_errstr(errstr, n, "rejected: %" PRId64 " is more than quantity %" PRId64, m->rejected, m->quantity);
    if (m->allow_partial && !(may & MV_PARTIAL))
        return inv_errstr(errstr, n, "allow_partial: true, a %s movement has none (false)", type);
    return 0;
}

static int validate_lines_positive(const inv_line_t *lines, size_t count, char *errstr, size_t n) {
    for (size_t i = 0; i < count; i++) {
        path_t p = {"lines", i};
        if (check_quantity("quantity", &p, lines[i].quantity, INV_MOVE_SALE, errstr, n))
            return -1;
    }
    return 0;
}

static int validate_reservation(const inv_reservation_t *r, char *errstr, size_t n) {
    if (r->action == INV_RESERVATION_HOLD) {
        char a[32], b[32];
        if (!r->has_expires_at)
            return inv_errstr(errstr, n, "expires_at: required for a hold");
        if (r->expires_at_ms <= r->occurred_at_ms) {
            inv_time_format_rfc3339(r->expires_at_ms, a);
            inv_time_format_rfc3339(r->occurred_at_ms, b);
            return inv_errstr(errstr, n, "expires_at: %s is not after occurred_at %s", a, b);
        }
    }
    return validate_lines_positive(r->lines, r->line_count, errstr, n);
}

static int validate_transfer(const inv_transfer_t *tr, char *errstr, size_t n) {
    char qb[128];
    if (strcmp(tr->from_location_id, tr->to_location_id) == 0)
        return inv_errstr(errstr, n, "to_location_id: %s is from_location_id, expected another location",
                          quote(qb, sizeof(qb), tr->to_location_id, strlen(tr->to_location_id)));
    for (size_t i = 0; i < tr->line_count; i++) {
        const inv_line_t *l = &tr->lines[i];
        path_t p = {"lines", i};
        if (check_quantity("quantity", &p, l->quantity, INV_MOVE_SALE, errstr, n))
            return -1;
        if (l->rejected != 0 && tr->status != INV_TRANSFER_RECEIVED)
            return inv_errstr(errstr, n, "lines[%zu].rejected: %" PRId64 ", a %s transfer has none (0)", i, l->rejected,
                              inv_transfer_status_to_string(tr->status));
        if (l->rejected < 0)
            return inv_errstr(errstr, n, "lines[%zu].rejected: %" PRId64 " is negative", i, l->rejected);
        if (l->rejected > l->quantity)
            return inv_errstr(errstr, n, "lines[%zu].rejected: %" PRId64 " is more than quantity %" PRId64, i,
                              l->rejected, l->quantity);
    }
    return 0;
}

static int validate_channel_location(const inv_channel_location_t *c, char *errstr, size_t n) {
    if (c->buffer < 0)
        return inv_errstr(errstr, n, "buffer: %" PRId64 " is negative", c->buffer);
    if (c->buffer > INV_CODEC_MAX_POLICY_QUANTITY)
        return inv_errstr(errstr, n, "buffer: %" PRId64 ", expected at most %" PRId64, c->buffer,
                          (int64_t)INV_CODEC_MAX_POLICY_QUANTITY);
    return 0;
}

static int validate_policy(const inv_policy_t *p, char *errstr, size_t n) {
    const struct {
        const char *name;
        int64_t v;
    } f[] = {{"reorder_point", p->reorder_point},
             {"reorder_quantity", p->reorder_quantity},
             {"safety_stock", p->safety_stock}};
    for (size_t i = 0; i < 3; i++) {
        if (f[i].v < 0)
            return inv_errstr(errstr, n, "%s: %" PRId64 " is negative", f[i].name, f[i].v);
        if (f[i].v > INV_CODEC_MAX_POLICY_QUANTITY)
            return inv_errstr(errstr, n, "%s: %" PRId64 ", expected at most %" PRId64, f[i].name, f[i].v,
                              (int64_t)INV_CODEC_MAX_POLICY_QUANTITY);
    }
    return 0;
}

static int decode(inv_decoder_t *d, inv_msg_type_t type, const void *buf, size_t len, void *out, char *errstr,
                  size_t n) {
    json_decref(d->json_root);
    d->json_root = NULL;
    memset(out, 0, messages[type].size);
    d->error = INV_DECODE_ERROR_EMPTY;
    if (!buf || len == 0)
        return inv_errstr(errstr, n, "empty message");
    d->error = INV_DECODE_ERROR_OVERSIZE;
    if (len > INV_CODEC_MAX_MESSAGE)
        return inv_errstr(errstr, n, "message of %zu bytes exceeds the limit of %d bytes", len, INV_CODEC_MAX_MESSAGE);
    const unsigned char *p = buf;
    if (p[0] == 0)
        return decode_avro(d, type, p, len, out, errstr, n);
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) { /* a UTF-8 BOM, as some POS write */
        p += 3;
        len -= 3;
    }
    if (type == INV_MSG_STOCK_MOVEMENT && d->json_path != INV_JSON_PATH_JANSSON) {
        d->error = INV_DECODE_ERROR_FIELD; /* what validation after a decode finds */
        if (flat_to_record(d, &messages[type], (const char *)p, len, out) == 0)
            return 0;
        memset(out, 0, messages[type].size); /* jansson starts from the same zeroed struct */
        d->error = INV_DECODE_ERROR_JSON;
        if (d->json_path == INV_JSON_PATH_FAST_ONLY)
            return inv_errstr(errstr, n, "not taken by the JSON fast path");
    }
    return decode_json(d, type, (const char *)p, len, out, errstr, n);
}

/* On any failure the output is zeroed: no half-decoded message escapes.
 * -1, or INV_DECODE_RETRY as decode() said. The failure's class stays in
 * d->error (a validation after a decode fails as INV_DECODE_ERROR_FIELD,
 * the class a successful decode() leaves). */
static int decoded(inv_decoder_t *d, int rc, void *out, size_t size) {
    if (rc)
        memset(out, 0, size);
    if (rc == 0 || rc == INV_DECODE_RETRY)
        d->error = INV_DECODE_ERROR_NONE;
    return rc == INV_DECODE_RETRY ? INV_DECODE_RETRY : rc ? -1 : 0;
}

void inv_decoder_set_json_path(inv_decoder_t *d, inv_json_path_t path) { d->json_path = path; }

inv_decode_error_t inv_decoder_last_error(const inv_decoder_t *d) { return d->error; }

const char *inv_decode_error_name(inv_decode_error_t e) {
    static const char *const names[INV_DECODE_ERROR_COUNT] = {"none", "empty",  "oversize", "json",
                                                              "avro", "schema", "field"};
    return (unsigned)e < INV_DECODE_ERROR_COUNT ? names[e] : "unknown";
}

int inv_decoder_decode_event(inv_decoder_t *d, inv_event_kind_t kind, const void *buf, size_t len, inv_event_t *out,
                             char *errstr, size_t errstr_size) {
    d->error = INV_DECODE_ERROR_FIELD;
    if ((unsigned)kind > INV_EVENT_RESTOCK)
        return decoded(d, inv_errstr(errstr, errstr_size, "unknown event kind %d", (int)kind), out, sizeof(*out));
    inv_msg_type_t type = kind == INV_EVENT_SALE     ? INV_MSG_SALE_EVENT
                          : kind == INV_EVENT_RETURN ? INV_MSG_RETURN_EVENT
                                                     : INV_MSG_RESTOCK_EVENT;
    int rc = decode(d, type, buf, len, out, errstr, errstr_size);
    out->kind = kind;
    if (rc == 0)
        rc = validate_event(out, errstr, errstr_size);
    return decoded(d, rc, out, sizeof(*out));
}

int inv_decoder_decode_movement(inv_decoder_t *d, const void *buf, size_t len, inv_movement_t *out, char *errstr,
                                size_t errstr_size) {
    int rc = decode(d, INV_MSG_STOCK_MOVEMENT, buf, len, out, errstr, errstr_size);
    if (rc == 0)
        rc = validate_movement(out, errstr, errstr_size);
    return decoded(d, rc, out, sizeof(*out));
}

int inv_decoder_decode_policy(inv_decoder_t *d, const void *buf, size_t len, inv_policy_t *out, char *errstr,
                              size_t errstr_size) {
    int rc = decode(d, INV_MSG_REORDER_POLICY, buf, len, out, errstr, errstr_size);
    if (rc == 0)
        rc = validate_policy(out, errstr, errstr_size);
    return decoded(d, rc, out, sizeof(*out));
}

int inv_decoder_decode_stock_level(inv_decoder_t *d, const void *buf, size_t len, inv_stock_level_t *out, char *errstr,
                                   size_t errstr_size) {
    return decoded(d, decode(d, INV_MSG_STOCK_LEVEL, buf, len, out, errstr, errstr_size), out, sizeof(*out));
}

int inv_decoder_decode_reorder(inv_decoder_t *d, const void *buf, size_t len, inv_reorder_t *out, char *errstr,
                               size_t errstr_size) {
    return decoded(d, decode(d, INV_MSG_REORDER_EVENT, buf, len, out, errstr, errstr_size), out, sizeof(*out));
}

int inv_decoder_decode_shortage(inv_decoder_t *d, const void *buf, size_t len, inv_shortage_t *out, char *errstr,
                                size_t errstr_size) {
    return decoded(d, decode(d, INV_MSG_SHORTAGE_EVENT, buf, len, out, errstr, errstr_size), out, sizeof(*out));
}

int inv_decoder_decode_reservation(inv_decoder_t *d, const void *buf, size_t len, inv_reservation_t *out, char *errstr,
                                   size_t errstr_size) {
    int rc = decode(d, INV_MSG_RESERVATION_EVENT, buf, len, out, errstr, errstr_size);
    if (rc == 0)
        rc = validate_reservation(out, errstr, errstr_size);
    return decoded(d, rc, out, sizeof(*out));
}

int inv_decoder_decode_transfer(inv_decoder_t *d, const void *buf, size_t len, inv_transfer_t *out, char *errstr,
                                size_t errstr_size) {
    int rc = decode(d, INV_MSG_TRANSFER_EVENT, buf, len, out, errstr, errstr_size);
    if (rc == 0)
        rc = validate_transfer(out, errstr, errstr_size);
    return decoded(d, rc, out, sizeof(*out));
}

int inv_decoder_decode_channel_location(inv_decoder_t *d, const void *buf, size_t len, inv_channel_location_t *out,
                                        char *errstr, size_t errstr_size) {
    int rc = decode(d, INV_MSG_CHANNEL_LOCATION, buf, len, out, errstr, errstr_size);
    if (rc == 0)
        rc = validate_channel_location(out, errstr, errstr_size);
    return decoded(d, rc, out, sizeof(*out));
}

int inv_decoder_decode_availability(inv_decoder_t *d, const void *buf, size_t len, inv_availability_t *out,
                                    char *errstr, size_t errstr_size) {
    return decoded(d, decode(d, INV_MSG_AVAILABILITY_LEVEL, buf, len, out, errstr, errstr_size), out, sizeof(*out));
}

int inv_decoder_decode_reservation_status(inv_decoder_t *d, const void *buf, size_t len, inv_reservation_status_t *out,
                                          char *errstr, size_t errstr_size) {
    return decoded(d, decode(d, INV_MSG_RESERVATION_STATUS, buf, len, out, errstr, errstr_size), out, sizeof(*out));
}

void inv_decode_backoff_wait(inv_decode_backoff_t *b, const char *why) {
    if (b->retries++ == 0)
        inv_log_warn("%s: holding the input and retrying until the writer schema is available", why);
    if (b->delay_ms < 100)
        b->delay_ms = 100;
    struct timespec ts = {.tv_sec = b->delay_ms / 1000, .tv_nsec = (long)(b->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short: the caller's loop sees its stop flag */
    b->delay_ms = b->delay_ms >= 2500 ? 5000 : b->delay_ms * 2;
}

void inv_decode_backoff_done(inv_decode_backoff_t *b) {
    if (b->retries)
        inv_log_info("writer schemas available again after %u retries", b->retries);
    b->retries = 0;
    b->delay_ms = 0;
}

/* ---------------------------------------------------------------- encoder */

struct inv_encoder_s {
    inv_format_t format;
    const inv_schema_resolver_t *resolver;
    avro_slot_t slots[INV_MSG_COUNT];
    avro_writer_t writer;
};

inv_encoder_t *inv_encoder_new(inv_format_t format, const inv_schema_resolver_t *resolver, char *errstr,
                               size_t errstr_size) {
    if (format != INV_FORMAT_JSON && format != INV_FORMAT_AVRO) {
        inv_errstr(errstr, errstr_size, "unknown output format %d", (int)format);
        return NULL;
    }
    if (format == INV_FORMAT_AVRO && check_resolver(resolver, errstr, errstr_size))
        return NULL;
    inv_encoder_t *e = calloc(1, sizeof(*e));
    if (!e) {
        inv_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    e->format = format;
    e->resolver = resolver;
    /* JSON needs no Avro state, but both formats prove the tables match the
     * schemas, so a drifted schema fails at start-up whatever the format. */
    if (avro_state_open(e->slots, NULL, &e->writer, errstr, errstr_size)) {
        inv_encoder_destroy(e);
        return NULL;
    }
    return e;
}

void inv_encoder_destroy(inv_encoder_t *e) {
    if (!e)
        return;
    slots_close(e->slots);
    if (e->writer)
        avro_writer_free(e->writer);
    free(e);
}

/* What every encoder checks: the wire format's needs, not the contract's
 * rules (tools may write invalid inputs on purpose; decoders judge them). */
static int enc_check_string(const field_desc_t *f, const path_t *p, const char *s, size_t *len_out, char *errstr,
                            size_t n) {
    char pb[300];
    if (!s)
        return inv_errstr(errstr, n, "%s: NULL, expected a string", field_path(pb, sizeof(pb), p, f->name));
    size_t len = strlen(s);
    size_t ok = utf8_valid_prefix((const unsigned char *)s, len);
    if (ok != len)
        return inv_errstr(errstr, n, "%s: invalid UTF-8 at byte %zu", field_path(pb, sizeof(pb), p, f->name), ok);
    *len_out = len;
    return 0;
}

static int enc_check_enum(const field_desc_t *f, const path_t *p, int v, int *index, char *errstr, size_t n) {
    char pb[300];
    *index = inv_enum_index(f->en, v);
    if (*index < 0)
        return inv_errstr(errstr, n, "%s: enum value %d is not a %s (%s)", field_path(pb, sizeof(pb), p, f->name), v,
                          f->en->what, f->en->list);
    return 0;
}

static int enc_check_lines(const field_desc_t *f, const void *in, char *errstr, size_t n) {
    if (*CFIELD(in, f->off2, size_t) && !*CFIELD(in, f->off, lines_ptr_t))
        return inv_errstr(errstr, n, "lines: NULL with line_count %zu", *CFIELD(in, f->off2, size_t));
    return 0;
}

/* JSON writing: every byte count below is bounded before writing. */
static void put(inv_buf_t *b, const char *s, size_t len) {
    memcpy(b->data + b->len, s, len);
    b->len += len;
}
#define PUT_LIT(b, lit) put(b, lit, sizeof(lit) - 1)

static int put_json_string(inv_buf_t *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (inv_buf_reserve(b, len * 6 + 2))
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

static void put_int64(inv_buf_t *b, int64_t v) {
    char tmp[24];
    int i = sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static int json_from_record(const record_desc_t *rd, const void *in, inv_buf_t *b, const path_t *p, char *errstr,
                            size_t n) {
    char pb[300];
    for (size_t i = 0; i < rd->count; i++) {
        const field_desc_t *f = &rd->fields[i];
        size_t nlen = strlen(f->name);
        /* separator, quoted name, colon, and the longest scalar (a time) */
        if (inv_buf_reserve(b, nlen + 4 + 32))
            return inv_errstr(errstr, n, "out of memory");
        b->data[b->len++] = i ? ',' : '{';
        b->data[b->len++] = '"';
        put(b, f->name, nlen);
        PUT_LIT(b, "\":");
        switch (f->kind) {
        case FK_STRING:
        case FK_OPT_STRING: {
            const char *s = *CFIELD(in, f->off, cstr_t);
            size_t len;
            if (f->kind == FK_OPT_STRING && !s) {
                PUT_LIT(b, "null");
                break;
            }
            if (enc_check_string(f, p, s, &len, errstr, n))
                return -1;
            if (put_json_string(b, s, len))
                return inv_errstr(errstr, n, "out of memory");
            break;
        }
        case FK_LONG:
        case FK_LONG_DEF: put_int64(b, *CFIELD(in, f->off, int64_t)); break;
        case FK_BOOL_DEF:
            if (*CFIELD(in, f->off, bool))
                PUT_LIT(b, "true");
            else
                PUT_LIT(b, "false");
            break;
        case FK_OPT_TIME:
        case FK_TIME: {
            int64_t ms = *CFIELD(in, f->off, int64_t);
            if (f->kind == FK_OPT_TIME && !is_present(in, f)) {
                PUT_LIT(b, "null");
                break;
            }
            if (ms < TIME_MIN_MS || ms > TIME_MAX_MS)
                return inv_errstr(errstr, n, "%s: %" PRId64 " ms is outside the years 0000 to 9999",
                                  field_path(pb, sizeof(pb), p, f->name), ms);
            char t[32];
            inv_time_format_rfc3339(ms, t);
            b->data[b->len++] = '"';
            put(b, t, 24);
            b->data[b->len++] = '"';
            break;
        }
        case FK_ENUM:
        case FK_OPT_ENUM: {
            int v = *CFIELD(in, f->off, int), idx;
            if (f->kind == FK_OPT_ENUM && v == 0) {
                PUT_LIT(b, "null");
                break;
            }
            if (enc_check_enum(f, p, v, &idx, errstr, n))
                return -1;
            const char *name = f->en->syms[idx].name;
            b->data[b->len++] = '"';
            put(b, name, strlen(name)); /* symbols are at most 17 bytes */
            b->data[b->len++] = '"';
            break;
        }
        case FK_LINES: {
            size_t count = *CFIELD(in, f->off2, size_t);
            const inv_line_t *lines = *CFIELD(in, f->off, lines_ptr_t);
            if (enc_check_lines(f, in, errstr, n))
                return -1;
            b->data[b->len++] = '[';
            for (size_t k = 0; k < count; k++) {
                path_t lp = {f->name, k};
                if (k) {
                    if (inv_buf_reserve(b, 1))
                        return inv_errstr(errstr, n, "out of memory");
                    b->data[b->len++] = ',';
                }
                if (json_from_record(f->items, &lines[k], b, &lp, errstr, n))
                    return -1;
            }
            if (inv_buf_reserve(b, 2))
                return inv_errstr(errstr, n, "out of memory");
            b->data[b->len++] = ']';
            break;
        }
        }
    }
    if (inv_buf_reserve(b, 2))
        return inv_errstr(errstr, n, "out of memory");
    b->data[b->len++] = '}';
    return 0;
}

/* Fills the generic value from the struct. Strings are lent to Avro-C
 * without a copy (a wrapped buffer with no free function): the value only
 * lives for this encode. */
static int avro_from_record(const record_desc_t *rd, const void *in, avro_value_t *rec, const path_t *p, char *errstr,
                            size_t n) {
    for (size_t i = 0; i < rd->count; i++) {
        const field_desc_t *f = &rd->fields[i];
        avro_value_t v, branch;
        avro_wrapped_buffer_t wb;
        int rc = 0, idx;
        size_t len;
        if (avro_value_get_by_index(rec, i, &v, NULL))
            return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
        switch (f->kind) {
        case FK_OPT_STRING:
            if (!*CFIELD(in, f->off, cstr_t)) {
                rc = avro_value_set_branch(&v, 0, &branch) || avro_value_set_null(&branch);
                break;
            }
            if (avro_value_set_branch(&v, 1, &branch))
                return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
            v = branch;
            /* fall through */
        case FK_STRING: {
            const char *s = *CFIELD(in, f->off, cstr_t);
            if (enc_check_string(f, p, s, &len, errstr, n))
                return -1;
            rc = avro_wrapped_buffer_new(&wb, s, len + 1) || avro_value_give_string_len(&v, &wb);
            break;
        }
        case FK_BOOL_DEF: rc = avro_value_set_boolean(&v, *CFIELD(in, f->off, bool) ? 1 : 0); break;
        case FK_OPT_TIME:
            if (!is_present(in, f)) {
                rc = avro_value_set_branch(&v, 0, &branch) || avro_value_set_null(&branch);
                break;
            }
            if (avro_value_set_branch(&v, 1, &branch))
                return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
            v = branch;
            /* fall through */
        case FK_LONG:
        case FK_LONG_DEF:
        case FK_TIME: {
            int64_t x = *CFIELD(in, f->off, int64_t);
            char pb[300];
            if (f->kind != FK_LONG && f->kind != FK_LONG_DEF && (x < TIME_MIN_MS || x > TIME_MAX_MS))
                return inv_errstr(errstr, n, "%s: %" PRId64 " ms is outside the years 0000 to 9999",
                                  field_path(pb, sizeof(pb), p, f->name), x);
            rc = avro_value_set_long(&v, x);
            break;
        }
        case FK_OPT_ENUM:
            if (*CFIELD(in, f->off, int) == 0) {
                rc = avro_value_set_branch(&v, 0, &branch) || avro_value_set_null(&branch);
                break;
            }
            if (avro_value_set_branch(&v, 1, &branch))
                return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
            v = branch;
            /* fall through */
        case FK_ENUM:
            if (enc_check_enum(f, p, *CFIELD(in, f->off, int), &idx, errstr, n))
                return -1;
            rc = avro_value_set_enum(&v, idx);
            break;
        case FK_LINES: {
            size_t count = *CFIELD(in, f->off2, size_t);
            const inv_line_t *lines = *CFIELD(in, f->off, lines_ptr_t);
            if (enc_check_lines(f, in, errstr, n))
                return -1;
            avro_value_reset(&v);
            for (size_t k = 0; k < count; k++) {
                avro_value_t item;
                path_t lp = {f->name, k};
                if (avro_value_append(&v, &item, NULL))
                    return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
                if (avro_from_record(f->items, &lines[k], &item, &lp, errstr, n))
                    return -1;
            }
            break;
        }
        }
        if (rc)
            return inv_errstr(errstr, n, "Avro: %s", avro_strerror());
    }
    return 0;
}

static int encode(inv_encoder_t *e, inv_msg_type_t type, const void *in, inv_buf_t *out, char *errstr, size_t n) {
    out->len = 0;
    if (!in)
        return inv_errstr(errstr, n, "nothing to encode");
    if (e->format == INV_FORMAT_JSON) {
        if (json_from_record(&messages[type], in, out, NULL, errstr, n)) {
            out->len = 0;
            return -1;
        }
        return 0;
    }
    avro_value_t *rec = &e->slots[type].value;
    if (avro_from_record(&messages[type], in, rec, NULL, errstr, n))
        return -1;
    /* Write straight into out; measure and retry only when it does not fit. */
    if (out->cap < 256 && inv_buf_reserve(out, 256))
        return inv_errstr(errstr, n, "out of memory");
    for (int attempt = 0; attempt < 2; attempt++) {
        avro_writer_memory_set_dest(e->writer, out->data + 5, (int64_t)(out->cap - 5));
        if (avro_value_write(e->writer, rec) == 0) {
            int32_t id = e->resolver->id_for(e->resolver, type);
            out->data[0] = 0;
            out->data[1] = (char)((uint32_t)id >> 24);
            out->data[2] = (char)((uint32_t)id >> 16);
            out->data[3] = (char)((uint32_t)id >> 8);
            out->data[4] = (char)id;
            out->len = 5 + (size_t)avro_writer_tell(e->writer);
            return 0;
        }
        size_t size;
        if (attempt || avro_value_sizeof(rec, &size) || inv_buf_reserve(out, 5 + size))
            break;
    }
    out->len = 0;
    return inv_errstr(errstr, n, "Avro: cannot write %s: %s", messages[type].name, avro_strerror());
}

int inv_encoder_encode_event(inv_encoder_t *e, const inv_event_t *ev, inv_buf_t *out, char *errstr,
                             size_t errstr_size) {
    if (ev && (unsigned)ev->kind > INV_EVENT_RESTOCK) {
        out->len = 0;
        return inv_errstr(errstr, errstr_size, "kind: %d is not a sale, return or restock", (int)ev->kind);
    }
    inv_msg_type_t type = !ev || ev->kind == INV_EVENT_SALE ? INV_MSG_SALE_EVENT
                          : ev->kind == INV_EVENT_RETURN    ? INV_MSG_RETURN_EVENT
                                                            : INV_MSG_RESTOCK_EVENT;
    return encode(e, type, ev, out, errstr, errstr_size);
}

int inv_encoder_encode_movement(inv_encoder_t *e, const inv_movement_t *m, inv_buf_t *out, char *errstr,
                                size_t errstr_size) {
    return encode(e, INV_MSG_STOCK_MOVEMENT, m, out, errstr, errstr_size);
}

int inv_encoder_encode_policy(inv_encoder_t *e, const inv_policy_t *p, inv_buf_t *out, char *errstr,
                              size_t errstr_size) {
    return encode(e, INV_MSG_REORDER_POLICY, p, out, errstr, errstr_size);
}

int inv_encoder_encode_stock_level(inv_encoder_t *e, const inv_stock_level_t *s, inv_buf_t *out, char *errstr,
                                   size_t errstr_size) {
    return encode(e, INV_MSG_STOCK_LEVEL, s, out, errstr, errstr_size);
}

int inv_encoder_encode_reorder(inv_encoder_t *e, const inv_reorder_t *r, inv_buf_t *out, char *errstr,
                               size_t errstr_size) {
    return encode(e, INV_MSG_REORDER_EVENT, r, out, errstr, errstr_size);
}

int inv_encoder_encode_shortage(inv_encoder_t *e, const inv_shortage_t *s, inv_buf_t *out, char *errstr,
                                size_t errstr_size) {
    return encode(e, INV_MSG_SHORTAGE_EVENT, s, out, errstr, errstr_size);
}

int inv_encoder_encode_reservation(inv_encoder_t *e, const inv_reservation_t *r, inv_buf_t *out, char *errstr,
                                   size_t errstr_size) {
    return encode(e, INV_MSG_RESERVATION_EVENT, r, out, errstr, errstr_size);
}

int inv_encoder_encode_transfer(inv_encoder_t *e, const inv_transfer_t *tr, inv_buf_t *out, char *errstr,
                                size_t errstr_size) {
    return encode(e, INV_MSG_TRANSFER_EVENT, tr, out, errstr, errstr_size);
}

int inv_encoder_encode_channel_location(inv_encoder_t *e, const inv_channel_location_t *c, inv_buf_t *out, char *errstr,
                                        size_t errstr_size) {
    return encode(e, INV_MSG_CHANNEL_LOCATION, c, out, errstr, errstr_size);
}

int inv_encoder_encode_availability(inv_encoder_t *e, const inv_availability_t *a, inv_buf_t *out, char *errstr,
                                    size_t errstr_size) {
    return encode(e, INV_MSG_AVAILABILITY_LEVEL, a, out, errstr, errstr_size);
}

int inv_encoder_encode_reservation_status(inv_encoder_t *e, const inv_reservation_status_t *s, inv_buf_t *out,
                                          char *errstr, size_t errstr_size) {
    return encode(e, INV_MSG_RESERVATION_STATUS, s, out, errstr, errstr_size);
}
