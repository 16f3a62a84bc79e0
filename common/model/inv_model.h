/*
 * inv_model: the domain types of the contract (docs/CONTRACT.md "Message formats"),
 * their enums and the names the contract gives them, and the rules that
 * derive one model value from another (movement ids, row keys). It knows no
 * wire format: the codec translates bytes to and from these types, the rules
 * and the store see only these types.
 *
 * Strings in these structs are borrowed from whoever filled them (a decoder,
 * a store read, a caller's buffer); each producer says for how long.
 */
#ifndef INV_MODEL_H
#define INV_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    INV_CHANNEL_NONE = 0, /* absent (restock movements) */
    INV_CHANNEL_STORE,
    INV_CHANNEL_ONLINE,
    INV_CHANNEL_MARKETPLACE,
    INV_CHANNEL_B2B,
} inv_channel_t;

typedef enum {
    INV_DISPOSITION_NONE = 0, /* not a return line */
    INV_DISPOSITION_RESELLABLE,
    INV_DISPOSITION_DAMAGED,
} inv_disposition_t;

typedef enum {
    INV_RESTOCK_RECEIPT = 0,
    INV_RESTOCK_ADJUSTMENT,
    INV_RESTOCK_COUNT,
} inv_restock_kind_t;

typedef enum {
    INV_MOVE_SALE = 0,
    INV_MOVE_RETURN_RESELLABLE,
    INV_MOVE_RETURN_DAMAGED,
    INV_MOVE_RECEIPT,
    INV_MOVE_ADJUSTMENT,
    INV_MOVE_COUNT,
    /* Appended: stored and wire values of the types above never change. */
    INV_MOVE_RESERVE,
    INV_MOVE_RELEASE,
    INV_MOVE_EXPIRE,
    INV_MOVE_TRANSFER_OUT,
    INV_MOVE_TRANSFER_IN,
    INV_MOVE_TRANSFER_CANCEL,
} inv_movement_type_t;

typedef enum {
    INV_SHORTAGE_NONE = 0, /* stored state only: never emitted */
    INV_SHORTAGE_LOW,
    INV_SHORTAGE_OUT_OF_STOCK,
    INV_SHORTAGE_RESTORED,
} inv_shortage_state_t;

typedef enum {
    INV_RESERVATION_HOLD = 0,
    INV_RESERVATION_RELEASE,
} inv_reservation_action_t;

typedef enum {
    INV_TRANSFER_SHIPPED = 0,
    INV_TRANSFER_RECEIVED,
    INV_TRANSFER_CANCELED,
} inv_transfer_status_t;

typedef enum {
    INV_RESERVATION_HELD = 0,
    INV_RESERVATION_PARTIAL,
    INV_RESERVATION_REJECTED,
    INV_RESERVATION_RELEASED,
    INV_RESERVATION_EXPIRED,
    INV_RESERVATION_FULFILLED,
    INV_RESERVATION_NOT_FOUND,
} inv_reservation_state_t;

typedef enum {
    INV_EVENT_SALE = 0,
    INV_EVENT_RETURN,
    INV_EVENT_RESTOCK,
} inv_event_kind_t;

/* Enum <-> contract string ("store", "return_resellable", ...). The
 * _to_string functions return a static string; _from_string return 0 and
 * set *out, or -1 for an unknown name. */
const char *inv_channel_to_string(inv_channel_t c);
int inv_channel_from_string(const char *s, inv_channel_t *out);
const char *inv_movement_type_to_string(inv_movement_type_t t);
int inv_movement_type_from_string(const char *s, inv_movement_type_t *out);
const char *inv_shortage_state_to_string(inv_shortage_state_t s);
const char *inv_restock_kind_to_string(inv_restock_kind_t k);
const char *inv_disposition_to_string(inv_disposition_t d);
int inv_shortage_state_from_string(const char *s, inv_shortage_state_t *out);
int inv_restock_kind_from_string(const char *s, inv_restock_kind_t *out);
int inv_disposition_from_string(const char *s, inv_disposition_t *out);
const char *inv_reservation_action_to_string(inv_reservation_action_t a);
int inv_reservation_action_from_string(const char *s, inv_reservation_action_t *out);
const char *inv_transfer_status_to_string(inv_transfer_status_t s);
int inv_transfer_status_from_string(const char *s, inv_transfer_status_t *out);
const char *inv_reservation_state_to_string(inv_reservation_state_t s);
int inv_reservation_state_from_string(const char *s, inv_reservation_state_t *out);

typedef struct {
    const char *sku;
    int64_t quantity;
    inv_disposition_t disposition; /* returns only */
    int64_t rejected;              /* transfers only: units received damaged */
} inv_line_t;

/* SaleEvent, ReturnEvent or RestockEvent, by kind. */
typedef struct {
    inv_event_kind_t kind;
    const char *event_id;
    const char *source;
    const char *location_id;
    inv_channel_t channel;           /* sale, return; NONE for restock */
    int64_t occurred_at_ms;          /* Unix epoch milliseconds */
    const char *original_event_id;   /* return; NULL when absent */
    inv_restock_kind_t restock_kind; /* restock */
    const char *purchase_order_id;   /* restock; NULL when absent */
    const char *reservation_id;      /* sale; NULL when absent */
    const inv_line_t *lines;
    size_t line_count;
} inv_event_t;

typedef struct {
    const char *movement_id; /* "<type>:<event_id>:<line index>" */
    const char *sku;
    const char *location_id;
    inv_channel_t channel; /* NONE for restock movements */
    inv_movement_type_t type;
    int64_t quantity; /* as on the input line: positive, except adjustments (signed) */
    int64_t occurred_at_ms;
    const char *source;
    /* Optional, absent when NULL, 0 or false (which type needs which:
     * docs/CONTRACT.md "StockMovement"). */
    const char *reservation_id;    /* reserve, release, expire; a sale's */
    bool has_expires_at;           /* reserve */
    int64_t expires_at_ms;         /* when has_expires_at */
    const char *transfer_id;       /* transfer_* */
    const char *other_location_id; /* transfer_*: the other end */
    int64_t rejected;              /* transfer_in: units received damaged */
    bool allow_partial;            /* reserve */
} inv_movement_t;

/* ReservationEvent. */
typedef struct {
    const char *event_id;
    const char *source;
    const char *reservation_id;
    inv_reservation_action_t action;
    const char *location_id;
    inv_channel_t channel;
    int64_t occurred_at_ms;
    bool has_expires_at; /* required for a hold */
    int64_t expires_at_ms;
    bool allow_partial;
    const inv_line_t *lines; /* sku, quantity */
    size_t line_count;
} inv_reservation_t;

/* TransferEvent. */
typedef struct {
    const char *event_id;
    const char *source;
    const char *transfer_id;
    inv_transfer_status_t status;
    const char *from_location_id;
    const char *to_location_id;
    int64_t occurred_at_ms;
    const inv_line_t *lines; /* sku, quantity, rejected */
    size_t line_count;
} inv_transfer_t;

/* ChannelLocation: a location serving a channel (a free name, no '|'). */
typedef struct {
    const char *channel;
    const char *location_id;
    int64_t buffer;
} inv_channel_location_t;

/* AvailabilityLevel. */
typedef struct {
    const char *sku;
    const char *channel;
    int64_t available_to_sell;
    int64_t locations;
    int64_t updated_at_ms;
    int64_t version;
} inv_availability_t;

/* ReservationStatus. */
typedef struct {
    const char *event_id;
    const char *reservation_id;
    const char *sku;
    const char *location_id;
    inv_reservation_state_t state;
    int64_t requested;
    int64_t held;
    int64_t remaining;
    bool has_expires_at;
    int64_t expires_at_ms;
    int64_t occurred_at_ms;
} inv_reservation_status_t;

typedef struct {
    const char *sku;
    const char *location_id; /* "*" = default for every location of the SKU */
    int64_t reorder_point;
    int64_t reorder_quantity;
    int64_t safety_stock;
} inv_policy_t;

typedef struct {
    const char *sku;
    const char *location_id; /* "*" = network row */
    int64_t on_hand;
    int64_t unsellable;
    int64_t on_order;
    int64_t available;
    int64_t updated_at_ms;
    int64_t version;
    int64_t committed;        /* units held by open reservations */
    int64_t incoming;         /* shipped to the location, not yet received */
    int64_t in_transit_out;   /* shipped from it, not yet received */
    int has_last_count_at;    /* 0 before the row's first count (last_count_at null) */
    int64_t last_count_at_ms; /* time of the latest applied count */
    int64_t count_variance;   /* counted - on_hand as of the count (< 0: shrinkage), 0 before it */
} inv_stock_level_t;

typedef struct {
    const char *event_id;
    const char *sku;
    const char *location_id;
    int64_t quantity;
    int64_t on_hand;
    int64_t on_order;
    int64_t reorder_point;
    int64_t occurred_at_ms;
    const char *cause_movement_id;
} inv_reorder_t;

typedef struct {
    const char *event_id;
    const char *sku;
    const char *location_id;
    inv_shortage_state_t state;
    int64_t available;
    int64_t threshold;
    int64_t occurred_at_ms;
} inv_shortage_t;

/* An enum of the contract: its type name in schemas/ (e.g. "Channel"), a
 * word for error messages, its symbols in schema order, and the symbols as
 * one readable list ("store, online, marketplace, b2b"). Static. */
typedef struct {
    const char *name;
    int value;
} inv_enum_sym_t;

typedef struct {
    const char *name;
    const char *what;
    const inv_enum_sym_t *syms;
    int count;
    const char *list;
} inv_enum_t;

extern const inv_enum_t inv_channel_enum, inv_disposition_enum, inv_restock_kind_enum, inv_movement_type_enum,
    inv_shortage_state_enum, inv_reservation_action_enum, inv_transfer_status_enum, inv_reservation_state_enum;

/* The symbol of value v (static), or NULL when v is not one of e's. */
const char *inv_enum_name(const inv_enum_t *e, int v);
/* The position of v in schema order, or -1. */
int inv_enum_index(const inv_enum_t *e, int v);
/* The value named by the len bytes at s: 0 and *out, or -1. */
int inv_enum_parse(const inv_enum_t *e, const char *s, size_t len, int *out);

/* Stored shortage state names: the contract's symbols plus "none" for
 * INV_SHORTAGE_NONE (never emitted); an unknown name reads as NONE. */
const char *inv_shortage_state_name(inv_shortage_state_t s);
inv_shortage_state_t inv_shortage_state_from_name(const char *name);

/* ------------------------------------------------------------ movement ids */

/* The movement type of line `line` of ev: sale; return_resellable or
 * return_damaged by the line's disposition; receipt, adjustment or count by
 * the restock kind. */
inv_movement_type_t inv_movement_type_of(const inv_event_t *ev, size_t line);

/* Fills *out with the movement of line `line` of ev. The movement id
 * "<type>:<event_id>:<line index>" is written to id_buf (so a re-sent event
 * yields the same ids); a sale's reservation_id goes with its movements,
 * the other optional movement fields are absent. out borrows id_buf and
 * ev's strings. Returns 0, or -1
 * when id_buf is too small. */
int inv_movement_from_line(const inv_event_t *ev, size_t line, char *id_buf, size_t id_buf_size, inv_movement_t *out);

/* Fills *out with the movement of line `line` of a ReservationEvent, as
 * inv_movement_from_line() does: a hold becomes a `reserve` movement with
 * the reservation's channel, reservation_id, expires_at and allow_partial;
 * a release a `release` movement with its channel and reservation_id only
 * (a release movement has no expires_at and no allow_partial). The time
 * to live of a hold is not checked here (it needs configuration). 0, or -1
 * when id_buf is too small. */
int inv_movement_from_reservation_line(const inv_reservation_t *r, size_t line, char *id_buf, size_t id_buf_size,
                                       inv_movement_t *out);

/* Fills *out with the movement of line `line` of a TransferEvent, as
 * inv_movement_from_line() does, with transfer_id and no channel: shipped
 * becomes `transfer_out` at from_location_id, canceled `transfer_cancel` at
 * from_location_id (other_location_id: to_location_id, both), received
 * `transfer_in` at to_location_id with other_location_id from_location_id
 * and the line's rejected units. 0, or -1 when id_buf is too small. */
int inv_movement_from_transfer_line(const inv_transfer_t *tr, size_t line, char *id_buf, size_t id_buf_size,
                                    inv_movement_t *out);

/* ---------------------------------------------------------------- row keys */

/* The key of a stock row, policy or output record: "<sku>|<location_id>"
 * ("*" for the network or the SKU's default policy). Unambiguous because a
 * location_id never holds '|': the last '|' splits it. */
#define INV_ROW_KEY_SEP '|'
/* The longest key the contract allows: two ids and the separator. */
#define INV_ROW_KEY_MAX (2 * 256 + 1)

/* Writes the key and a NUL into buf. Returns its length, or -1 (buf[0] =
 * NUL) when it does not fit in size bytes. */
int inv_row_key(char *buf, size_t size, const char *sku, const char *location_id);
/* Splits the len bytes of key at its last '|': *sku_len bytes of sku at
 * key, then *location at key + *sku_len + 1 (not NUL-terminated, *loc_len
 * bytes). 0, or -1 when key holds no '|'. */
int inv_row_key_split(const char *key, size_t len, size_t *sku_len, const char **location, size_t *loc_len);

#endif
