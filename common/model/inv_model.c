/* inv_model: the contract's enums, movement ids and row keys (inv_model.h). */
#include "inv_model.h"

#include <stdio.h>
#include <string.h>

static const inv_enum_sym_t channel_syms[] = {
    {"store", INV_CHANNEL_STORE},
    {"online", INV_CHANNEL_ONLINE},
    {"marketplace", INV_CHANNEL_MARKETPLACE},
    {"b2b", INV_CHANNEL_B2B},
};
static const inv_enum_sym_t disposition_syms[] = {
    {"resellable", INV_DISPOSITION_RESELLABLE},
    {"damaged", INV_DISPOSITION_DAMAGED},
};
static const inv_enum_sym_t restock_kind_syms[] = {
    {"receipt", INV_RESTOCK_RECEIPT},
    {"adjustment", INV_RESTOCK_ADJUSTMENT},
    {"count", INV_RESTOCK_COUNT},
};
static const inv_enum_sym_t movement_type_syms[] = {
    {"sale", INV_MOVE_SALE},
    {"return_resellable", INV_MOVE_RETURN_RESELLABLE},
    {"return_damaged", INV_MOVE_RETURN_DAMAGED},
    {"receipt", INV_MOVE_RECEIPT},
    {"adjustment", INV_MOVE_ADJUSTMENT},
    {"count", INV_MOVE_COUNT},
    {"reserve", INV_MOVE_RESERVE},
    {"release", INV_MOVE_RELEASE},
    {"expire", INV_MOVE_EXPIRE},
    {"transfer_out", INV_MOVE_TRANSFER_OUT},
    {"transfer_in", INV_MOVE_TRANSFER_IN},
    {"transfer_cancel", INV_MOVE_TRANSFER_CANCEL},
};
static const inv_enum_sym_t shortage_state_syms[] = {
    {"low", INV_SHORTAGE_LOW},
    {"out_of_stock", INV_SHORTAGE_OUT_OF_STOCK},
    {"restored", INV_SHORTAGE_RESTORED},
};
static const inv_enum_sym_t reservation_action_syms[] = {
    {"hold", INV_RESERVATION_HOLD},
    {"release", INV_RESERVATION_RELEASE},
};
static const inv_enum_sym_t transfer_status_syms[] = {
    {"shipped", INV_TRANSFER_SHIPPED},
    {"received", INV_TRANSFER_RECEIVED},
    {"canceled", INV_TRANSFER_CANCELED},
};
static const inv_enum_sym_t reservation_state_syms[] = {
    {"held", INV_RESERVATION_HELD},           {"partial", INV_RESERVATION_PARTIAL},
    {"rejected", INV_RESERVATION_REJECTED},   {"released", INV_RESERVATION_RELEASED},
    {"expired", INV_RESERVATION_EXPIRED},     {"fulfilled", INV_RESERVATION_FULFILLED},
    {"not_found", INV_RESERVATION_NOT_FOUND},
};

#define ENUM_DESC(aname, what, syms, list) \
    { aname, what, syms, (int)(sizeof(syms) / sizeof(syms[0])), list }
const inv_enum_t inv_channel_enum = ENUM_DESC("Channel", "channel", channel_syms, "store, online, marketplace, b2b");
const inv_enum_t inv_disposition_enum =
    ENUM_DESC("Disposition", "disposition", disposition_syms, "resellable, damaged");
const inv_enum_t inv_restock_kind_enum =
    ENUM_DESC("RestockKind", "restock kind", restock_kind_syms, "receipt, adjustment, count");
const inv_enum_t inv_movement_type_enum =
    ENUM_DESC("MovementType", "movement type", movement_type_syms,
              "sale, return_resellable, return_damaged, receipt, adjustment, count, reserve, release, expire, "
              "transfer_out, transfer_in, transfer_cancel");
const inv_enum_t inv_shortage_state_enum =
    ENUM_DESC("ShortageState", "shortage state", shortage_state_syms, "low, out_of_stock, restored");
const inv_enum_t inv_reservation_action_enum =
    ENUM_DESC("ReservationAction", "reservation action", reservation_action_syms, "hold, release");
const inv_enum_t inv_transfer_status_enum =
    ENUM_DESC("TransferStatus", "transfer status", transfer_status_syms, "shipped, received, canceled");
const inv_enum_t inv_reservation_state_enum =
    ENUM_DESC("ReservationState", "reservation state", reservation_state_syms,
              "held, partial, rejected, released, expired, fulfilled, not_found");

const char *inv_enum_name(const inv_enum_t *e, int v) {
    for (int i = 0; i < e->count; i++)
        if (e->syms[i].value == v)
            return e->syms[i].name;
    return NULL;
}

int inv_enum_index(const inv_enum_t *e, int v) {
    for (int i = 0; i < e->count; i++)
        if (e->syms[i].value == v)
            return i;
    return -1;
}

int inv_enum_parse(const inv_enum_t *e, const char *s, size_t len, int *out) {
    for (int i = 0; i < e->count; i++)
        if (strlen(e->syms[i].name) == len && memcmp(e->syms[i].name, s, len) == 0) {
            *out = e->syms[i].value;
            return 0;
        }
    return -1;
}

const char *inv_channel_to_string(inv_channel_t c) { return inv_enum_name(&inv_channel_enum, (int)c); }
const char *inv_movement_type_to_string(inv_movement_type_t t) {
    return inv_enum_name(&inv_movement_type_enum, (int)t);
}
const char *inv_shortage_state_to_string(inv_shortage_state_t s) {
    return inv_enum_name(&inv_shortage_state_enum, (int)s);
}
const char *inv_restock_kind_to_string(inv_restock_kind_t k) { return inv_enum_name(&inv_restock_kind_enum, (int)k); }
const char *inv_disposition_to_string(inv_disposition_t d) { return inv_enum_name(&inv_disposition_enum, (int)d); }
const char *inv_reservation_action_to_string(inv_reservation_action_t a) {
    return inv_enum_name(&inv_reservation_action_enum, (int)a);
}
const char *inv_transfer_status_to_string(inv_transfer_status_t s) {
    return inv_enum_name(&inv_transfer_status_enum, (int)s);
}
const char *inv_reservation_state_to_string(inv_reservation_state_t s) {
    return inv_enum_name(&inv_reservation_state_enum, (int)s);
}

#define ENUM_FROM_STRING(fn, type, desc)                   \
    int fn(const char *s, type *out) {                     \
        int v;                                             \
        if (!s || inv_enum_parse(&desc, s, strlen(s), &v)) \
            return -1;                                     \
        *out = (type)v;                                    \
        return 0;                                          \
    }
ENUM_FROM_STRING(inv_channel_from_string, inv_channel_t, inv_channel_enum)
ENUM_FROM_STRING(inv_movement_type_from_string, inv_movement_type_t, inv_movement_type_enum)
ENUM_FROM_STRING(inv_shortage_state_from_string, inv_shortage_state_t, inv_shortage_state_enum)
ENUM_FROM_STRING(inv_restock_kind_from_string, inv_restock_kind_t, inv_restock_kind_enum)
ENUM_FROM_STRING(inv_disposition_from_string, inv_disposition_t, inv_disposition_enum)
ENUM_FROM_STRING(inv_reservation_action_from_string, inv_reservation_action_t, inv_reservation_action_enum)
ENUM_FROM_STRING(inv_transfer_status_from_string, inv_transfer_status_t, inv_transfer_status_enum)
ENUM_FROM_STRING(inv_reservation_state_from_string, inv_reservation_state_t, inv_reservation_state_enum)

const char *inv_shortage_state_name(inv_shortage_state_t s) {
    const char *name = inv_shortage_state_to_string(s);
    return name ? name : "none";
}

inv_shortage_state_t inv_shortage_state_from_name(const char *name) {
    inv_shortage_state_t s;
    return inv_shortage_state_from_string(name, &s) == 0 ? s : INV_SHORTAGE_NONE;
}

inv_movement_type_t inv_movement_type_of(const inv_event_t *ev, size_t line) {
    switch (ev->kind) {
    case INV_EVENT_SALE: return INV_MOVE_SALE;
    case INV_EVENT_RETURN:
        return ev->lines[line].disposition == INV_DISPOSITION_DAMAGED ? INV_MOVE_RETURN_DAMAGED
                                                                      : INV_MOVE_RETURN_RESELLABLE;
    case INV_EVENT_RESTOCK:
    default:
        switch (ev->restock_kind) {
        case INV_RESTOCK_ADJUSTMENT: return INV_MOVE_ADJUSTMENT;
        case INV_RESTOCK_COUNT: return INV_MOVE_COUNT;
        case INV_RESTOCK_RECEIPT:
        default: return INV_MOVE_RECEIPT;
        }
    }
}

/* The one builder of "<type>:<event_id>:<line index>". 0, or -1 when it
 * does not fit. */
static int movement_id(char *id_buf, size_t id_buf_size, inv_movement_type_t type, const char *event_id, size_t line) {
    int n = snprintf(id_buf, id_buf_size, "%s:%s:%zu", inv_movement_type_to_string(type), event_id, line);
    return n < 0 || (size_t)n >= id_buf_size ? -1 : 0;
}

int inv_movement_from_line(const inv_event_t *ev, size_t line, char *id_buf, size_t id_buf_size, inv_movement_t *out) {
    inv_movement_type_t type = inv_movement_type_of(ev, line);
    if (movement_id(id_buf, id_buf_size, type, ev->event_id, line) != 0)
        return -1;
    *out = (inv_movement_t){
        .movement_id = id_buf,
        .sku = ev->lines[line].sku,
        .location_id = ev->location_id,
        .channel = ev->kind == INV_EVENT_RESTOCK ? INV_CHANNEL_NONE : ev->channel,
        .type = type,
        .quantity = ev->lines[line].quantity,
        .occurred_at_ms = ev->occurred_at_ms,
        .source = ev->source,
        .reservation_id = ev->kind == INV_EVENT_SALE ? ev->reservation_id : NULL,
    };
    return 0;
}

int inv_movement_from_reservation_line(const inv_reservation_t *r, size_t line, char *id_buf, size_t id_buf_size,
                                       inv_movement_t *out) {
    bool hold = r->action == INV_RESERVATION_HOLD;
    inv_movement_type_t type = hold ? INV_MOVE_RESERVE : INV_MOVE_RELEASE;
    if (movement_id(id_buf, id_buf_size, type, r->event_id, line) != 0)
        return -1;
    *out = (inv_movement_t){
        .movement_id = id_buf,
        .sku = r->lines[line].sku,
        .location_id = r->location_id,
        .channel = r->channel,
        .type = type,
        .quantity = r->lines[line].quantity,
        .occurred_at_ms = r->occurred_at_ms,
        .source = r->source,
        .reservation_id = r->reservation_id,
        /* a release movement has neither: it gives back what remains */
        .has_expires_at = hold && r->has_expires_at,
        .expires_at_ms = hold && r->has_expires_at ? r->expires_at_ms : 0,
        .allow_partial = hold && r->allow_partial,
    };
    return 0;
}

int inv_movement_from_transfer_line(const inv_transfer_t *tr, size_t line, char *id_buf, size_t id_buf_size,
                                    inv_movement_t *out) {
    inv_movement_type_t type = tr->status == INV_TRANSFER_RECEIVED   ? INV_MOVE_TRANSFER_IN
                               : tr->status == INV_TRANSFER_CANCELED ? INV_MOVE_TRANSFER_CANCEL
                                                                     : INV_MOVE_TRANSFER_OUT;
    if (movement_id(id_buf, id_buf_size, type, tr->event_id, line) != 0)
        return -1;
    /* a transfer_in happens at the destination; shipping and canceling at the source */
    bool in = type == INV_MOVE_TRANSFER_IN;
    *out = (inv_movement_t){
        .movement_id = id_buf,
        .sku = tr->lines[line].sku,
        .location_id = in ? tr->to_location_id : tr->from_location_id,
        .channel = INV_CHANNEL_NONE,
        .type = type,
        .quantity = tr->lines[line].quantity,
        .occurred_at_ms = tr->occurred_at_ms,
        .source = tr->source,
        .transfer_id = tr->transfer_id,
        .other_location_id = in ? tr->from_location_id : tr->to_location_id,
        .rejected = in ? tr->lines[line].rejected : 0,
    };
    return 0;
}

int inv_row_key(char *buf, size_t size, const char *sku, const char *location_id) {
    int n = snprintf(buf, size, "%s%c%s", sku, INV_ROW_KEY_SEP, location_id);
    if (n < 0 || (size_t)n >= size) {
        if (size)
            buf[0] = '\0';
        return -1;
    }
    return n;
}

int inv_row_key_split(const char *key, size_t len, size_t *sku_len, const char **location, size_t *loc_len) {
    const char *bar = memrchr(key, INV_ROW_KEY_SEP, len);
    if (!bar)
        return -1;
    *sku_len = (size_t)(bar - key);
    *location = bar + 1;
    *loc_len = len - *sku_len - 1;
    return 0;
}
