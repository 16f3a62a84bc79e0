#include "inv_movement.h"

#include <stdio.h>

inv_movement_type_t inv_movement_type_of(const inv_event_t *ev, size_t line) {
    switch (ev->kind) {
    case INV_EVENT_SALE:
        return INV_MOVE_SALE;
    case INV_EVENT_RETURN:
        return ev->lines[line].disposition == INV_DISPOSITION_DAMAGED ? INV_MOVE_RETURN_DAMAGED
                                                                      : INV_MOVE_RETURN_RESELLABLE;
    case INV_EVENT_RESTOCK:
    default:
        switch (ev->restock_kind) {
        case INV_RESTOCK_ADJUSTMENT:
            return INV_MOVE_ADJUSTMENT;
        case INV_RESTOCK_COUNT:
            return INV_MOVE_COUNT;
        case INV_RESTOCK_RECEIPT:
        default:
            return INV_MOVE_RECEIPT;
        }
    }
}

int inv_movement_from_line(const inv_event_t *ev, size_t line, char *id_buf, size_t id_buf_size,
                           inv_movement_t *out) {
    inv_movement_type_t type = inv_movement_type_of(ev, line);
    int n = snprintf(id_buf, id_buf_size, "%s:%s:%zu", inv_movement_type_to_string(type), ev->event_id, line);
    if (n < 0 || (size_t)n >= id_buf_size)
        return -1;
    out->movement_id = id_buf;
    out->sku = ev->lines[line].sku;
    out->location_id = ev->location_id;
    out->channel = ev->kind == INV_EVENT_RESTOCK ? INV_CHANNEL_NONE : ev->channel;
    out->type = type;
    out->quantity = ev->lines[line].quantity;
    out->occurred_at_ms = ev->occurred_at_ms;
    out->source = ev->source;
    return 0;
}
