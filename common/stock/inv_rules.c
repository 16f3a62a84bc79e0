/* inv_rules: see inv_rules.h for the semantics. */
#include "inv_rules.h"

#include <stdio.h>
#include <string.h>

static const char NETWORK_LOCATION[] = "*";

#define LONGEST_STATE_NAME (sizeof "out_of_stock" - 1)

void inv_rules_policy_resolve(const inv_rules_policy_t *location, const inv_rules_policy_t *star,
                              const inv_rules_policy_t *deflt, inv_rules_policy_t *effective,
                              int64_t *network_threshold) {
    *effective = location ? *location : star ? *star : *deflt;
    *network_threshold = star ? star->safety_stock : deflt->safety_stock;
}

/* The longest report text besides the ids it quotes. */
#define REPORT_TEXT 200

size_t inv_rules_scratch_size(const inv_movement_t *m) {
    size_t mid = m && m->movement_id ? strlen(m->movement_id) : 0;
    size_t loc = m && m->location_id ? strlen(m->location_id) : 0;
    size_t other = m && m->other_location_id ? strlen(m->other_location_id) : 0;
    size_t tid = m && m->transfer_id ? strlen(m->transfer_id) : 0;
    size_t sku = m && m->sku ? strlen(m->sku) : 0;
    size_t reorder = sizeof "reorder:" + mid;
    size_t status = sizeof "status:" + mid;
    size_t per_shortage = sizeof "shortage:" + 2 + LONGEST_STATE_NAME + mid; /* two ':' */
    size_t need = reorder + status + (per_shortage + loc) + (per_shortage + 1);
    if (inv_rules_is_transfer(m)) /* the other row's reorder and shortage, a report */
        need += (reorder + 1 + other) + (per_shortage + other) + REPORT_TEXT + tid + sku + loc;
    return need;
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
    case INV_MOVE_TRANSFER_CANCEL:
        return m->quantity > 0 && m->transfer_id && m->transfer_id[0] && m->other_location_id &&
               m->other_location_id[0] && strcmp(m->other_location_id, m->location_id) != 0 &&
               strcmp(m->other_location_id, NETWORK_LOCATION) != 0;
    case INV_MOVE_TRANSFER_IN:
        return m->quantity > 0 && m->rejected >= 0 && m->rejected <= m->quantity && m->transfer_id &&
               m->transfer_id[0] && m->other_location_id && m->other_location_id[0] &&
               strcmp(m->other_location_id, m->location_id) != 0 && strcmp(m->other_location_id, NETWORK_LOCATION) != 0;
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
           a->in_transit_out != b->in_transit_out || a->shortage != b->shortage ||
           a->has_last_count != b->has_last_count || a->last_count_at_ms != b->last_count_at_ms ||
           a->count_variance != b->count_variance;
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

/* A location row after its quantities changed: available, then the reorder
 * on its position (on_hand + on_order + incoming - committed). *reorder_qty
 * is what to order (0: none). */
static int finish_location(inv_stock_row_t *r, const inv_rules_policy_t *policy, int64_t *reorder_qty) {
    int64_t d, pos;
    *reorder_qty = 0;
    if (SUB(r->on_hand, r->committed, &d))
        return INV_RULES_EOVERFLOW;
    r->available = d > 0 ? d : 0;
    if (ADD(r->on_hand, r->on_order, &pos) || ADD(pos, r->incoming, &pos) || SUB(pos, r->committed, &pos))
        return INV_RULES_EOVERFLOW;
    if (pos <= policy->reorder_point) {
        int64_t deficit; /* reorder_point + 1 - pos, >= 1 here */
        if (SUB(policy->reorder_point, pos, &deficit) || ADD(deficit, 1, &deficit))
            return INV_RULES_EOVERFLOW;
        *reorder_qty = policy->reorder_quantity > deficit ? policy->reorder_quantity : deficit;
        if (ADD(r->on_order, *reorder_qty, &r->on_order))
            return INV_RULES_EOVERFLOW;
    }
    return 0;
}

/* The network row moves by a location row's deltas (before -> after), field
 * by field; last_count_at is the latest of any location's. */
static int network_add(inv_stock_row_t *n, const inv_stock_row_t *before, const inv_stock_row_t *after) {
    int64_t d;
    if (SUB(after->on_hand, before->on_hand, &d) || ADD(n->on_hand, d, &n->on_hand) ||
        SUB(after->unsellable, before->unsellable, &d) || ADD(n->unsellable, d, &n->unsellable) ||
        SUB(after->on_order, before->on_order, &d) || ADD(n->on_order, d, &n->on_order) ||
        SUB(after->available, before->available, &d) || ADD(n->available, d, &n->available) ||
        SUB(after->committed, before->committed, &d) || ADD(n->committed, d, &n->committed) ||
        SUB(after->incoming, before->incoming, &d) || ADD(n->incoming, d, &n->incoming) ||
        SUB(after->in_transit_out, before->in_transit_out, &d) || ADD(n->in_transit_out, d, &n->in_transit_out) ||
        SUB(after->count_variance, before->count_variance, &d) || ADD(n->count_variance, d, &n->count_variance))
        return INV_RULES_EOVERFLOW;
    if (after->has_last_count && (!n->has_last_count || after->last_count_at_ms > n->last_count_at_ms)) {
        n->has_last_count = 1;
        n->last_count_at_ms = after->last_count_at_ms;
    }
    return 0;
}

int64_t inv_rules_in_transit(const inv_rules_transfer_t *t) {
    int64_t it;
    if (SUB(t->shipped, t->received, &it) || SUB(it, t->canceled, &it))
        return 0; /* out of range: quantities are bounded long before */
    return it > 0 ? it : 0;
}

int inv_rules_is_transfer(const inv_movement_t *m) {
    return m &&
           (m->type == INV_MOVE_TRANSFER_OUT || m->type == INV_MOVE_TRANSFER_IN || m->type == INV_MOVE_TRANSFER_CANCEL);
}

/* Step 1 of a transfer movement on copies: the line, the location's own
 * quantities (*on_hand_delta for on_hand) and the in-transit difference on
 * both rows. *report: 1 receipt beyond the units in transit, 2 a cancel
 * with none in transit. */
static int transfer_step(const inv_movement_t *m, inv_rules_transfer_t *t, inv_stock_row_t *l, inv_stock_row_t *o,
                         int64_t *on_hand_delta, int *report, int64_t *in_transit_before) {
    int64_t q = m->quantity, before = inv_rules_in_transit(t), d;
    *report = 0;
    *in_transit_before = before;
    switch (m->type) {
    case INV_MOVE_TRANSFER_OUT:
        if (ADD(t->shipped, q, &t->shipped))
            return INV_RULES_EOVERFLOW;
        *on_hand_delta = -q;
        break;
    case INV_MOVE_TRANSFER_IN:
        if (ADD(t->received, q, &t->received) || ADD(l->unsellable, m->rejected, &l->unsellable))
            return INV_RULES_EOVERFLOW;
        *on_hand_delta = q - m->rejected;
        *report = q > before;
        break;
    default:                   /* INV_MOVE_TRANSFER_CANCEL */
        t->canceled += before; /* cannot overflow: canceled + before <= shipped - received */
        *on_hand_delta = before;
        *report = before == 0 ? 2 : 0;
        break;
    }
    d = inv_rules_in_transit(t) - before;
    /* location is the source of transfer_out and transfer_cancel, the
     * destination of transfer_in */
    inv_stock_row_t *src = m->type == INV_MOVE_TRANSFER_IN ? o : l, *dst = m->type == INV_MOVE_TRANSFER_IN ? l : o;
    if (ADD(src->in_transit_out, d, &src->in_transit_out) || ADD(dst->incoming, d, &dst->incoming))
        return INV_RULES_EOVERFLOW;
    if (src->in_transit_out < 0)
        src->in_transit_out = 0;
    if (dst->incoming < 0)
        dst->incoming = 0;
    return 0;
}

int inv_rules_apply(const inv_movement_t *m, const inv_rules_policy_t *policy, int64_t network_threshold,
                    inv_stock_row_t *location, inv_stock_row_t *network, inv_rules_hold_t *hold, char *scratch,
                    size_t scratch_size, inv_rules_out_t *out) {
    if (!m || !policy || inv_rules_is_transfer(m))
        return INV_RULES_EINVAL;
    inv_rules_in_t in = {.m = m,
                         .policy = *policy,
                         .network_threshold = network_threshold,
                         .other_policy = *policy,
                         .placed_at_ms = m->occurred_at_ms,
                         .count_window_ms = INT64_MAX};
    inv_rules_rows_t rows = {.location = location, .network = network, .hold = hold};
    return inv_rules_apply_in(&in, &rows, scratch, scratch_size, out);
}

int inv_rules_apply_in(const inv_rules_in_t *in, inv_rules_rows_t *rows, char *scratch, size_t scratch_size,
                       inv_rules_out_t *out) {
    const inv_movement_t *m = in ? in->m : NULL;
    if (!m || !rows || !out || !rows->location || !rows->network || rows->location == rows->network ||
        !m->movement_id || !m->sku || !m->location_id)
        return INV_RULES_EINVAL;
    if (strcmp(m->location_id, NETWORK_LOCATION) == 0 || !quantity_valid(m))
        return INV_RULES_EINVAL;
    if (inv_rules_needs_hold(m) && !rows->hold)
        return INV_RULES_EINVAL;
    int transfer = inv_rules_is_transfer(m);
    if (transfer && (!rows->other || !rows->transfer || rows->other == rows->location || rows->other == rows->network))
        return INV_RULES_EINVAL;
    if (!scratch || scratch_size < inv_rules_scratch_size(m))
        return INV_RULES_ESCRATCH;

    inv_stock_row_t *location = rows->location, *network = rows->network;
    inv_stock_row_t l = *location, n = *network, o = transfer ? *rows->other : (inv_stock_row_t)INV_STOCK_ROW_INIT;
    int64_t q = m->quantity, t_at = in->placed_at_ms;

    /* 0. The reservation line, on a copy. */
    inv_rules_hold_t *hold = rows->hold;
    inv_rules_hold_t h = hold ? *hold : (inv_rules_hold_t){0};
    inv_reservation_status_t status = {0};
    int64_t committed_delta = 0;
    int has_status = hold ? hold_step(m, location, &h, &committed_delta, &status) : 0;
    if (ADD(l.committed, committed_delta, &l.committed))
        return INV_RULES_EOVERFLOW;

    /* 1. Quantities on the location row (and the other row of a transfer);
     * an on_hand change is placed on the row's timeline first. */
    inv_rules_transfer_t t = transfer ? *rows->transfer : (inv_rules_transfer_t){0};
    int64_t on_hand_delta = 0, in_transit_before = 0;
    int report = 0, count_applied = 0;
    switch (m->type) {
    case INV_MOVE_SALE: on_hand_delta = -q; break;
    case INV_MOVE_RETURN_RESELLABLE:
    case INV_MOVE_ADJUSTMENT: on_hand_delta = q; break;
    case INV_MOVE_RETURN_DAMAGED:
        if (ADD(l.unsellable, q, &l.unsellable))
            return INV_RULES_EOVERFLOW;
        break;
    case INV_MOVE_RECEIPT:
        l.on_order -= l.on_order <= 0 ? 0 : l.on_order < q ? l.on_order : q;
        on_hand_delta = q;
        break;
    case INV_MOVE_COUNT: {
        int64_t newest = in->has_newest ? in->newest_at_ms : INT64_MIN, expected, counted;
        if (l.has_last_count && l.last_count_at_ms > newest)
            newest = l.last_count_at_ms;
        if (newest != INT64_MIN && newest > t_at && (uint64_t)newest - (uint64_t)t_at > (uint64_t)in->count_window_ms)
            return INV_RULES_ESTALE_COUNT; /* too old to place: refused, even behind a later count */
        if (l.has_last_count && t_at <= l.last_count_at_ms)
            break; /* a later count covers this one: nothing */
        if (SUB(l.on_hand, in->later_net, &expected) || ADD(q, in->later_net, &counted) ||
            SUB(q, expected, &l.count_variance))
            return INV_RULES_EOVERFLOW;
        l.on_hand = counted;
        l.has_last_count = 1;
        l.last_count_at_ms = t_at;
        count_applied = 1;
        break;
    }
    case INV_MOVE_RESERVE:
    case INV_MOVE_RELEASE:
    case INV_MOVE_EXPIRE: break; /* committed only (step 0) */
    case INV_MOVE_TRANSFER_OUT:
    case INV_MOVE_TRANSFER_IN:
    case INV_MOVE_TRANSFER_CANCEL: {
        int rc = transfer_step(m, &t, &l, &o, &on_hand_delta, &report, &in_transit_before);
        if (rc)
            return rc;
        break;
    }
    }
    int history_add = 0;
    if (on_hand_delta != 0 && !(l.has_last_count && t_at <= l.last_count_at_ms)) {
        if (ADD(l.on_hand, on_hand_delta, &l.on_hand))
            return INV_RULES_EOVERFLOW;
        history_add = 1;
    }

    /* 2. Available and reorders on each location row, then the network row
     * by their deltas. */
    int64_t reorder_qty = 0, other_reorder_qty = 0;
    int rc = finish_location(&l, &in->policy, &reorder_qty);
    if (!rc && transfer)
        rc = finish_location(&o, &in->other_policy, &other_reorder_qty);
    if (!rc)
        rc = network_add(&n, location, &l);
    if (!rc && transfer)
        rc = network_add(&n, rows->other, &o);
    if (rc)
        return rc;

    /* 3. Shortage states. */
    l.shortage = shortage_next(location->shortage, l.available, in->policy.safety_stock);
    if (transfer)
        o.shortage = shortage_next(rows->other->shortage, o.available, in->other_policy.safety_stock);
    n.shortage = shortage_next(network->shortage, n.available, in->network_threshold);

    /* 4. Versions. */
    int l_changed = row_differs(&l, location), n_changed = row_differs(&n, network);
    int o_changed = transfer && row_differs(&o, rows->other);
    if ((l_changed && ADD(l.version, 1, &l.version)) || (n_changed && ADD(n.version, 1, &n.version)) ||
        (o_changed && ADD(o.version, 1, &o.version)))
        return INV_RULES_EOVERFLOW;
    if (l_changed)
        l.updated_at_ms = m->occurred_at_ms;
    if (o_changed)
        o.updated_at_ms = m->occurred_at_ms;
    if (n_changed)
        n.updated_at_ms = m->occurred_at_ms;

    /* Nothing can fail past this point: publish rows and outputs. */
    memset(out, 0, sizeof *out);
    out->location_changed = l_changed;
    out->other_changed = o_changed;
    out->network_changed = n_changed;
    out->history_add = history_add;
    out->history_delta = history_add ? on_hand_delta : 0;
    out->count_applied = count_applied;
    char *pos_scratch = scratch;
    struct {
        int64_t qty;
        const char *loc;
        const inv_stock_row_t *row;
        const inv_rules_policy_t *policy;
        int *has;
        inv_reorder_t *ev;
    } reorders[2] = {
        {reorder_qty, m->location_id, &l, &in->policy, &out->has_reorder, &out->reorder},
        {other_reorder_qty, m->other_location_id, &o, &in->other_policy, &out->has_other_reorder, &out->other_reorder},
    };
    for (int i = 0; i < 2; i++) {
        if (reorders[i].qty <= 0)
            continue;
        const char *parts[] = {"reorder:", m->movement_id, ":", reorders[i].loc};
        *reorders[i].has = 1;
        *reorders[i].ev = (inv_reorder_t){
            .event_id = put_id(&pos_scratch, parts, i == 0 ? 2 : 4),
            .sku = m->sku,
            .location_id = reorders[i].loc,
            .quantity = reorders[i].qty,
            .on_hand = reorders[i].row->on_hand,
            .on_order = reorders[i].row->on_order,
            .reorder_point = reorders[i].policy->reorder_point,
            .occurred_at_ms = m->occurred_at_ms,
            .cause_movement_id = m->movement_id,
        };
    }
    struct {
        const char *loc;
        const inv_stock_row_t *before, *after;
        int64_t threshold;
    } shortage_rows[3] = {
        {m->location_id, location, &l, in->policy.safety_stock},
        {m->other_location_id, transfer ? rows->other : &o, &o, in->other_policy.safety_stock},
        {NETWORK_LOCATION, network, &n, in->network_threshold},
    };
    for (int i = 0; i < 3; i++) {
        if (shortage_rows[i].after->shortage == shortage_rows[i].before->shortage)
            continue;
        const char *state = inv_shortage_state_name(shortage_rows[i].after->shortage);
        const char *parts[] = {"shortage:", shortage_rows[i].loc, ":", state, ":", m->movement_id};
        out->shortages[out->shortage_count++] = (inv_shortage_t){
            .event_id = put_id(&pos_scratch, parts, 6),
            .sku = m->sku,
            .location_id = shortage_rows[i].loc,
            .state = shortage_rows[i].after->shortage,
            .available = shortage_rows[i].after->available,
            .threshold = shortage_rows[i].threshold,
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
    if (report) {
        size_t left = scratch_size - (size_t)(pos_scratch - scratch);
        if (report == 1)
            snprintf(pos_scratch, left,
                     "transfer %s %s: received %lld units, %lld were in transit (never shipped, or received or "
                     "canceled already): applied at %s",
                     m->transfer_id, m->sku, (long long)q, (long long)in_transit_before, m->location_id);
        else
            snprintf(pos_scratch, left, "transfer %s %s: canceled with no units in transit: nothing returned",
                     m->transfer_id, m->sku);
        out->report = pos_scratch;
    }
    if (transfer) {
        out->transfer_changed = memcmp(&t, rows->transfer, sizeof t) != 0;
        *rows->transfer = t;
        *rows->other = o;
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
        .has_last_count_at = row->has_last_count,
        .last_count_at_ms = row->last_count_at_ms,
        .count_variance = row->count_variance,
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
        .has_last_count = level->has_last_count_at,
        .last_count_at_ms = level->last_count_at_ms,
        .count_variance = level->count_variance,
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
    case INV_RULES_ESTALE_COUNT: return "count older than count.window.ms before the row's newest change";
    }
    return "unknown error";
}
