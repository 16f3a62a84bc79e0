/* inv_rules: see inv_rules.h for the semantics. */
#include "inv_rules.h"

#include <string.h>

static const char NETWORK_LOCATION[] = "*";

#define LONGEST_STATE_NAME (sizeof "out_of_stock" - 1)

void inv_rules_policy_resolve(const inv_rules_policy_t *location, const inv_rules_policy_t *star,
                              const inv_rules_policy_t *deflt, inv_rules_policy_t *effective,
                              int64_t *network_threshold) {
    *effective = location ? *location : star ? *star : *deflt;
    *network_threshold = star ? star->safety_stock : deflt->safety_stock;
}

size_t inv_rules_scratch_size(const inv_movement_t *m) {
    size_t mid = m && m->movement_id ? strlen(m->movement_id) : 0;
    size_t loc = m && m->location_id ? strlen(m->location_id) : 0;
    size_t reorder = sizeof "reorder:" + mid;
    size_t status = sizeof "status:" + mid;
    size_t per_shortage = sizeof "shortage:" + 2 + LONGEST_STATE_NAME + mid; /* two ':' */
    return reorder + status + (per_shortage + loc) + (per_shortage + 1);
}

inv_shortage_state_t inv_rules_shortage_derive(int64_t available, int64_t threshold) {
    if (available <= 0)
        return INV_SHORTAGE_OUT_OF_STOCK;
    if (available <= threshold)
        return INV_SHORTAGE_LOW;
    return INV_SHORTAGE_NONE;
}

static inv_shortage_state_t shortage_next(inv_shortage_state_t cur, int64_t available, int64_t threshold) {
    inv_shortage_state_t s = inv_rules_shortage_derive(available, threshold);
    if (s != INV_SHORTAGE_NONE)
        return s;
    if (cur == INV_SHORTAGE_LOW || cur == INV_SHORTAGE_OUT_OF_STOCK)
        return INV_SHORTAGE_RESTORED;
    return cur;
}

static int quantity_valid(const inv_movement_t *m) {
    switch (m->type) {
    case INV_MOVE_SALE:
    case INV_MOVE_RETURN_RESELLABLE:
    case INV_MOVE_RETURN_DAMAGED:
    case INV_MOVE_RECEIPT: return m->quantity > 0;
    case INV_MOVE_COUNT: return m->quantity >= 0;
    case INV_MOVE_ADJUSTMENT: return 1;
    case INV_MOVE_RESERVE:
    case INV_MOVE_RELEASE:
    case INV_MOVE_EXPIRE: return m->quantity > 0 && m->reservation_id && m->reservation_id[0];
    case INV_MOVE_TRANSFER_OUT:
    case INV_MOVE_TRANSFER_IN:
    case INV_MOVE_TRANSFER_CANCEL: return 0; /* not applied by these rules: refused as invalid */
    }
    return 0; /* unknown type */
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* What the movement does to its reservation line (reserve, release, expire,
 * a sale with a reservation_id): *hold changes in place, *committed_delta
 * is added to the row's committed, *status (state, requested, held,
 * remaining) describes the step. 0 when the movement has no reservation
 * step, 1 when it has one. */
static int hold_step(const inv_movement_t *m, const inv_stock_row_t *row, inv_rules_hold_t *hold,
                     int64_t *committed_delta, inv_reservation_status_t *status) {
    *committed_delta = 0;
    int open = hold->remaining > 0;
    int64_t q = m->quantity;
    switch (m->type) {
    case INV_MOVE_RESERVE: {
        int64_t avail = row->on_hand - row->committed;
        if (avail < 0)
            avail = 0;
        int64_t grant = avail >= q ? q : m->allow_partial ? avail : 0;
        status->state = grant == q  ? INV_RESERVATION_HELD
                        : grant > 0 ? INV_RESERVATION_PARTIAL
                                    : INV_RESERVATION_REJECTED;
        if (grant > 0 || open) {
            if (!open)
                hold->requested = hold->held = 0;
            hold->requested += q;
            hold->held += grant;
            hold->remaining += grant;
            hold->expires_at_ms = m->expires_at_ms; /* the latest hold of the line sets its expiry */
            hold->channel = m->channel;
        }
        *committed_delta = grant;
        status->requested = q;
        status->held = grant;
        break;
    }
    case INV_MOVE_RELEASE:
    case INV_MOVE_EXPIRE:
    case INV_MOVE_SALE: {
        if (m->type == INV_MOVE_SALE && !m->reservation_id)
            return 0;
        /* an expire movement names the expiry it was written for
         * (occurred_at): a line renewed since then does not expire */
        if (!open || (m->type == INV_MOVE_EXPIRE && hold->expires_at_ms != m->occurred_at_ms)) {
            if (m->type == INV_MOVE_EXPIRE)
                return 0; /* settled already, or renewed: nothing to report */
            status->state = INV_RESERVATION_NOT_FOUND;
            status->requested = q;
            status->held = 0;
            status->remaining = 0;
            return 1;
        }
        int64_t take = m->type == INV_MOVE_EXPIRE ? hold->remaining : min64(q, hold->remaining);
        hold->remaining -= take;
        *committed_delta = -take;
        status->state = m->type == INV_MOVE_RELEASE  ? INV_RESERVATION_RELEASED
                        : m->type == INV_MOVE_EXPIRE ? INV_RESERVATION_EXPIRED
                        : hold->remaining == 0       ? INV_RESERVATION_FULFILLED
                                                     : INV_RESERVATION_HELD;
        status->requested = m->type == INV_MOVE_EXPIRE ? take : q;
        status->held = hold->held;
        break;
    }
    default: return 0;
    }
    status->remaining = hold->remaining;
    return 1;
}

static int row_differs(const inv_stock_row_t *a, const inv_stock_row_t *b) {
    return a->on_hand != b->on_hand || a->unsellable != b->unsellable || a->on_order != b->on_order ||
           a->available != b->available || a->committed != b->committed || a->incoming != b->incoming ||
           a->in_transit_out != b->in_transit_out || a->shortage != b->shortage;
}

/* Overflow-checked arithmetic: every helper returns nonzero on overflow. */
#define ADD(a, b, r) __builtin_add_overflow((a), (b), (r))
#define SUB(a, b, r) __builtin_sub_overflow((a), (b), (r))

/* Writes a NUL-terminated string built from parts into *pos, advancing it. */
static const char *put_id(char **pos, const char *const *parts, size_t n) {
    char *start = *pos, *p = *pos;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        memcpy(p, parts[i], len);
        p += len;
    }
    *p++ = '\0';
    *pos = p;
    return start;
}

int inv_rules_apply(const inv_movement_t *m, const inv_rules_policy_t *policy, int64_t network_threshold,
                    inv_stock_row_t *location, inv_stock_row_t *network, inv_rules_hold_t *hold, char *scratch,
                    size_t scratch_size, inv_rules_out_t *out) {
    if (!m || !policy || !location || !network || !out || location == network || !m->movement_id || !m->sku ||
        !m->location_id)
        return INV_RULES_EINVAL;
    if (strcmp(m->location_id, NETWORK_LOCATION) == 0 || !quantity_valid(m))
        return INV_RULES_EINVAL;
    if (inv_rules_needs_hold(m) && !hold)
        return INV_RULES_EINVAL;
    if (!scratch || scratch_size < inv_rules_scratch_size(m))
        return INV_RULES_ESCRATCH;

    inv_stock_row_t l = *location, n = *network;
    int64_t q = m->quantity, d, pos;

    /* 0. The reservation line, on a copy. */
    inv_rules_hold_t h = hold ? *hold : (inv_rules_hold_t){0};
    inv_reservation_status_t status = {0};
    int64_t committed_delta = 0;
    int has_status = hold ? hold_step(m, location, &h, &committed_delta, &status) : 0;
    if (ADD(l.committed, committed_delta, &l.committed))
        return INV_RULES_EOVERFLOW;

    /* 1. Quantities on the location row. */
    switch (m->type) {
    case INV_MOVE_SALE:
        if (SUB(l.on_hand, q, &l.on_hand))
            return INV_RULES_EOVERFLOW;
        break;
    case INV_MOVE_RETURN_RESELLABLE:
    case INV_MOVE_ADJUSTMENT:
        if (ADD(l.on_hand, q, &l.on_hand))
            return INV_RULES_EOVERFLOW;
        break;
    case INV_MOVE_RETURN_DAMAGED:
        if (ADD(l.unsellable, q, &l.unsellable))
            return INV_RULES_EOVERFLOW;
        break;
    case INV_MOVE_RECEIPT: {
        int64_t reduce = l.on_order <= 0 ? 0 : l.on_order < q ? l.on_order : q;
        if (ADD(l.on_hand, q, &l.on_hand))
            return INV_RULES_EOVERFLOW;
        l.on_order -= reduce;
        break;
    }
    case INV_MOVE_COUNT: l.on_hand = q; break;
    case INV_MOVE_RESERVE:
    case INV_MOVE_RELEASE:
    case INV_MOVE_EXPIRE: break; /* committed only (step 0) */
    case INV_MOVE_TRANSFER_OUT:
    case INV_MOVE_TRANSFER_IN:
    case INV_MOVE_TRANSFER_CANCEL: return INV_RULES_EINVAL; /* quantity_valid() refused them already */
    }
    if (SUB(l.on_hand, l.committed, &d))
        return INV_RULES_EOVERFLOW;
    l.available = d > 0 ? d : 0;

    /* 2. Reorder, on the location's position after the movement:
     * on_hand + on_order + incoming - committed. */
    int64_t reorder_qty = 0;
    if (ADD(l.on_hand, l.on_order, &pos) || ADD(pos, l.incoming, &pos) || SUB(pos, l.committed, &pos))
        return INV_RULES_EOVERFLOW;
    if (pos <= policy->reorder_point) {
        int64_t deficit; /* reorder_point + 1 - pos, >= 1 here */
        if (SUB(policy->reorder_point, pos, &deficit) || ADD(deficit, 1, &deficit))
            return INV_RULES_EOVERFLOW;
        reorder_qty = policy->reorder_quantity > deficit ? policy->reorder_quantity : deficit;
        if (ADD(l.on_order, reorder_qty, &l.on_order))
            return INV_RULES_EOVERFLOW;
    }

    /* The network row moves by the location row's deltas, field by field. */
    if (SUB(l.on_hand, location->on_hand, &d) || ADD(n.on_hand, d, &n.on_hand) ||
        SUB(l.unsellable, location->unsellable, &d) || ADD(n.unsellable, d, &n.unsellable) ||
        SUB(l.on_order, location->on_order, &d) || ADD(n.on_order, d, &n.on_order) ||
        SUB(l.available, location->available, &d) || ADD(n.available, d, &n.available) ||
        SUB(l.committed, location->committed, &d) || ADD(n.committed, d, &n.committed) ||
        SUB(l.incoming, location->incoming, &d) || ADD(n.incoming, d, &n.incoming) ||
        SUB(l.in_transit_out, location->in_transit_out, &d) || ADD(n.in_transit_out, d, &n.in_transit_out))
        return INV_RULES_EOVERFLOW;

    /* 3. Shortage states. */
    l.shortage = shortage_next(location->shortage, l.available, policy->safety_stock);
    n.shortage = shortage_next(network->shortage, n.available, network_threshold);

    /* 4. Versions. */
    int l_changed = row_differs(&l, location), n_changed = row_differs(&n, network);
    if ((l_changed && ADD(l.version, 1, &l.version)) || (n_changed && ADD(n.version, 1, &n.version)))
        return INV_RULES_EOVERFLOW;
    if (l_changed)
        l.updated_at_ms = m->occurred_at_ms;
    if (n_changed)
        n.updated_at_ms = m->occurred_at_ms;

    /* Nothing can fail past this point: publish rows and outputs. */
    memset(out, 0, sizeof *out);
    out->location_changed = l_changed;
    out->network_changed = n_changed;
    char *pos_scratch = scratch;
    if (reorder_qty > 0) {
        const char *parts[] = {"reorder:", m->movement_id};
        out->has_reorder = 1;
        out->reorder = (inv_reorder_t){
            .event_id = put_id(&pos_scratch, parts, 2),
            .sku = m->sku,
            .location_id = m->location_id,
            .quantity = reorder_qty,
            .on_hand = l.on_hand,
            .on_order = l.on_order,
            .reorder_point = policy->reorder_point,
            .occurred_at_ms = m->occurred_at_ms,
            .cause_movement_id = m->movement_id,
        };
    }
    struct {
        const char *loc;
        const inv_stock_row_t *before, *after;
        int64_t threshold;
    } rows[2] = {
        {m->location_id, location, &l, policy->safety_stock},
        {NETWORK_LOCATION, network, &n, network_threshold},
    };
    for (int i = 0; i < 2; i++) {
        if (rows[i].after->shortage == rows[i].before->shortage)
            continue;
        const char *state = inv_shortage_state_name(rows[i].after->shortage);
        const char *parts[] = {"shortage:", rows[i].loc, ":", state, ":", m->movement_id};
        out->shortages[out->shortage_count++] = (inv_shortage_t){
            .event_id = put_id(&pos_scratch, parts, 6),
            .sku = m->sku,
            .location_id = rows[i].loc,
            .state = rows[i].after->shortage,
            .available = rows[i].after->available,
            .threshold = rows[i].threshold,
            .occurred_at_ms = m->occurred_at_ms,
        };
    }
    if (has_status) {
        const char *parts[] = {"status:", m->movement_id};
        status.event_id = put_id(&pos_scratch, parts, 2);
        status.reservation_id = m->reservation_id;
        status.sku = m->sku;
        status.location_id = m->location_id;
        status.has_expires_at = h.remaining > 0;
        status.expires_at_ms = h.remaining > 0 ? h.expires_at_ms : 0;
        status.occurred_at_ms = m->occurred_at_ms;
        out->has_status = 1;
        out->status = status;
        out->hold_changed = h.requested != hold->requested || h.held != hold->held || h.remaining != hold->remaining ||
                            h.expires_at_ms != hold->expires_at_ms || h.channel != hold->channel;
        *hold = h;
    }
    *location = l;
    *network = n;
    return 0;
}

int inv_rules_needs_hold(const inv_movement_t *m) {
    return m && (m->type == INV_MOVE_RESERVE || m->type == INV_MOVE_RELEASE || m->type == INV_MOVE_EXPIRE ||
                 (m->type == INV_MOVE_SALE && m->reservation_id));
}

void inv_rules_stock_level(const char *sku, const char *location_id, const inv_stock_row_t *row,
                           inv_stock_level_t *out) {
    *out = (inv_stock_level_t){
        .sku = sku,
        .location_id = location_id,
        .on_hand = row->on_hand,
        .unsellable = row->unsellable,
        .on_order = row->on_order,
        .available = row->available,
        .updated_at_ms = row->updated_at_ms,
        .version = row->version,
        .committed = row->committed,
        .incoming = row->incoming,
        .in_transit_out = row->in_transit_out,
    };
}

void inv_rules_row_from_level(const inv_stock_level_t *level, int64_t threshold, inv_stock_row_t *row) {
    *row = (inv_stock_row_t){
        .on_hand = level->on_hand,
        .unsellable = level->unsellable,
        .on_order = level->on_order,
        .available = level->available,
        .committed = level->committed,
        .incoming = level->incoming,
        .in_transit_out = level->in_transit_out,
        .version = level->version,
        .updated_at_ms = level->updated_at_ms,
        .shortage = inv_rules_shortage_derive(level->available, threshold),
    };
}

const char *inv_rules_strerror(int err) {
    switch (err) {
    case 0: return "success";
    case INV_RULES_EINVAL: return "invalid movement (unknown type, location \"*\", or quantity out of range)";
    case INV_RULES_EOVERFLOW: return "stock quantity would overflow a 64-bit integer";
    case INV_RULES_ESCRATCH: return "scratch buffer too small for the output event ids";
    }
    return "unknown error";
}
