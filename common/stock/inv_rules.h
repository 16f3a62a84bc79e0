/*
 * inv_rules: the stock semantics of the contract (docs/CONTRACT.md, "Semantics"),
 * as pure functions over plain structs. No I/O, no allocation, no LMDB:
 * inv-stock reads rows from inv_store, calls inv_rules_apply() once per
 * movement, writes the rows back and produces the outputs.
 *
 * Rows. One inv_stock_row_t per (sku, location) and one per (sku, "*"), the
 * network row. The network row holds, field by field, the sum over every
 * location row of the SKU (available included: the sum of the per-location
 * available values, which is not max(sum of on_hand, 0) once a location is
 * oversold). It is maintained by deltas, so it is only right if every
 * movement of the SKU goes through inv_rules_apply() with the same network
 * row. A row that does not exist yet is INV_STOCK_ROW_INIT (all zero, version
 * 0, shortage NONE).
 *
 * What one movement does (inv_rules_apply):
 *   1. Quantities, on the location row, mirrored by delta on the network row:
 *        sale               on_hand -= q   (may go negative: oversell is
 *                                           recorded, never rejected)
 *        return_resellable  on_hand += q
 *        return_damaged     unsellable += q
 *        receipt            on_hand += q; on_order -= min(on_order, q)
 *        adjustment         on_hand += q   (q signed)
 *        count              on_hand as of its time (below, "Counts")
 *        reserve, release,  committed only, through the reservation line
 *        expire             (below)
 *        transfer_out,      through the transfer line, on this row and the
 *        transfer_in,       other end's (below, "Transfers")
 *        transfer_cancel
 *      then available = max(on_hand - committed, 0).
 *   2. Reorder (location row only): the position is on_hand + on_order +
 *      incoming - committed; if it is <= reorder_point, order
 *      max(reorder_quantity, reorder_point + 1 - position) and add it to
 *      on_order (location and network). The position is then above the
 *      point, so no second reorder comes until movements bring it down to
 *      the point again.
 *   3. Shortage (location row with the policy's safety_stock, network row
 *      with the network threshold), re-derived after every movement:
 *        available == 0                 -> OUT_OF_STOCK
 *        0 < available <= threshold     -> LOW
 *        available > threshold          -> RESTORED if the row was LOW or
 *                                          OUT_OF_STOCK, else unchanged
 *                                          (NONE stays NONE)
 *      An event is emitted only when the state changes, so each transition
 *      is emitted once and two consecutive events of a row always differ.
 *      A fresh row whose first movement leaves it at 0 (e.g. a damaged
 *      return) is OUT_OF_STOCK at once: it is out of stock.
 *   4. A row "changes" when on_hand, unsellable, on_order, available, committed,
 *      incoming, in_transit_out or its shortage state changes; then version += 1 and updated_at_ms = the
 *      movement's occurred_at (not a max: the last applied movement wins).
 *      A movement that changes nothing (adjustment of 0, count equal to
 *      on_hand, with no reorder and no shortage transition) leaves the row
 *      untouched and reports it unchanged: no StockLevel to produce.
 *
 * Reservation lines. One inv_rules_hold_t per (reservation_id, sku,
 * location), kept by the caller (a fresh one is all zero). Movements that
 * take one (inv_rules_needs_hold): reserve, release, expire, and a sale
 * with a reservation_id. Step 0, before the quantities:
 *   reserve q    available = max(on_hand - committed, 0) before it; granted
 *                q when available >= q, else available when allow_partial,
 *                else 0. committed += granted; the line's requested += q,
 *                held += granted, remaining += granted, and its expiry and
 *                channel become the movement's (a later hold of an open
 *                line renews it). State held | partial | rejected; a
 *                rejected hold of a closed line leaves the line alone.
 *   release q    open line (remaining > 0): min(q, remaining) goes back
 *                (committed and remaining fall), state released; no open
 *                line: nothing changes, state not_found.
 *   expire       open line whose expires_at is the movement's occurred_at
 *                (the expiry the movement was written for): every
 *                remaining unit goes back, state expired. Otherwise (the
 *                line was settled or renewed since) nothing at all, no
 *                status.
 *   sale with    open line: min(q, remaining) of the sale comes out of the
 *   reservation  line (committed falls with on_hand), state fulfilled when
 *                none remain, else held; no open line: a plain sale, state
 *                not_found.
 * Each step fills out->status (a ReservationStatus: requested is the
 * movement's quantity, or for expire the units expired; held the line's
 * granted total, or this hold's grant for reserve; remaining the line's;
 * expires_at while the line is open).
 *
 * Counts (inv_rules_apply_in). Each on_hand change is placed at
 * in->placed_at_ms (the caller's: occurred_at, or its clock for a movement
 * dated too far ahead). A change placed at or before the row's
 * last_count_at leaves on_hand alone (its other effects stay); otherwise
 * out->history_add asks the caller to remember (placed_at, history_delta).
 * A count at T with counted C: refused (INV_RULES_ESTALE_COUNT) when T is
 * more than in->count_window_ms before the row's newest change (the
 * history's newest, in->newest_at_ms, or last_count_at); nothing when T is
 * at or before last_count_at; else on_hand = C + in->later_net (the net of
 * the history placed after T), count_variance = C - (on_hand before -
 * later_net), last_count_at = T, and out->count_applied (the history
 * through T can go). The network row takes the latest last_count_at and
 * the sum of the variances.
 *
 * Transfers (inv_rules_apply_in, rows->other and rows->transfer). The line
 * of (transfer_id, sku) counts shipped, received and canceled units; in
 * transit = max(shipped - received - canceled, 0). transfer_out q at the
 * source: on_hand -= q, shipped += q. transfer_in q (rejected r) at the
 * destination: on_hand += q - r, unsellable += r, received += q.
 * transfer_cancel at the source: on_hand += in transit, canceled += it. The
 * change in transit then moves onto the source's in_transit_out and the
 * destination's incoming. A receipt beyond what was in transit, or a cancel
 * with nothing in transit, is applied and out->report says why (the caller
 * dead-letters that text). Both location rows get the reorder and shortage
 * steps; the other row's reorder id is "reorder:<movement_id>:<location>".
 *
 * Policy changes. A new policy emits nothing and touches no row by itself.
 * It applies from the next movement of that row: the next movement at the
 * location re-evaluates the reorder point and the safety stock, the next
 * movement of the SKU at any location re-evaluates the network row. So
 * raising a point above the current position reorders on the next movement
 * even if that movement raises the position (a receipt, say); lowering a
 * threshold below available turns LOW into RESTORED on the next movement.
 *
 * Restore. The contract's StockLevel carries no shortage state. With the
 * threshold unchanged since the row was written, inv_rules_shortage_derive()
 * gives the same state back (NONE and RESTORED behave identically); across a
 * threshold change it can differ, so a restore that must reproduce the
 * uninterrupted run's shortage events exactly should carry the state along
 * (e.g. in a header of the changelog record).
 *
 * Output ids are deterministic functions of the movement:
 *   reorder   "reorder:<movement_id>"
 *   status    "status:<movement_id>"
 *   shortage  "shortage:<location_id>:<state>:<movement_id>", location "*"
 *             for the network row, state "low" | "out_of_stock" | "restored".
 *
 * Errors: 0 on success, or a code in INV_RULES_ERR_FIRST..INV_RULES_ERR_LAST
 * (-30650..-30699), described by inv_rules_strerror(). On any error the rows
 * and the outputs are left as they were.
 */
#ifndef INV_RULES_H
#define INV_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "inv_model.h"

/* A movement the rules refuse: NULL argument, unknown type, location "*",
 * or a quantity out of range (sale, returns and receipt need q > 0, count
 * needs q >= 0; adjustments may be any value; reserve, release and expire
 * need q > 0 and a reservation_id; transfers are not applied yet).
 * inv-stock sends it to the DLQ. */
#define INV_RULES_EINVAL (-30650)
/* The result would not fit in int64 (absurd quantities): nothing applied. */
#define INV_RULES_EOVERFLOW (-30651)
/* The scratch buffer is smaller than inv_rules_scratch_size(movement). */
#define INV_RULES_ESCRATCH (-30652)
/* A count placed more than count_window_ms before the row's newest change:
 * refused (DLQ), nothing applied. */
#define INV_RULES_ESTALE_COUNT (-30653)
#define INV_RULES_ERR_FIRST (-30699)
#define INV_RULES_ERR_LAST (-30650)

/* A scratch buffer of this size holds the ids of any movement whose
 * movement_id and location_id are each at most 1000 bytes. */
#define INV_RULES_SCRATCH_DEFAULT 4096

/* The stored state of one row. Plain values: copy freely. */
typedef struct {
    int64_t on_hand;
    int64_t unsellable;
    int64_t on_order;
    int64_t available; /* max(on_hand - committed, 0); network row: sum of locations' */
    int64_t version;   /* +1 per change; 0 = never written */
    int64_t updated_at_ms;
    inv_shortage_state_t shortage;
    int64_t committed;      /* units held by open reservations */
    int64_t incoming;       /* shipped to the location, not yet received */
    int64_t in_transit_out; /* shipped from it, not yet received */
    int has_last_count;     /* a count was applied: last_count_at_ms is its time */
    int64_t last_count_at_ms;
    int64_t count_variance; /* that count's counted - expected (network row: the sum) */
} inv_stock_row_t;

#define INV_STOCK_ROW_INIT \
    { 0, 0, 0, 0, 0, 0, INV_SHORTAGE_NONE, 0, 0, 0, 0, 0, 0 }

/* One reservation line: (reservation_id, sku, location). All zero = none. */
typedef struct {
    int64_t requested;     /* units its holds asked for */
    int64_t held;          /* units its holds were granted */
    int64_t remaining;     /* granted, not yet released, expired or sold: > 0 = open */
    int64_t expires_at_ms; /* when the remaining units go back (inv-stock's clock) */
    inv_channel_t channel; /* of its latest hold */
} inv_rules_hold_t;

/* One transfer line: (transfer_id, sku). All zero = none. Units in transit:
 * max(shipped - received - canceled, 0). */
typedef struct {
    int64_t shipped;  /* transfer_out units */
    int64_t received; /* transfer_in units, rejected ones included */
    int64_t canceled; /* units a cancel returned to the source */
} inv_rules_transfer_t;

/* The numbers of a reorder policy, without its key. */
typedef struct {
    int64_t reorder_point;
    int64_t reorder_quantity;
    int64_t safety_stock;
} inv_rules_policy_t;

/* What one movement produced. Every string points either into the movement
 * (sku, location_id, cause_movement_id), to a static "*" (network location),
 * or into the caller's scratch buffer (event ids): valid while both the
 * movement's strings and the scratch buffer are, i.e. usually until the next
 * inv_rules_apply() with the same scratch. Encode/produce before that. */
typedef struct {
    int location_changed; /* 1: produce the location row's StockLevel */
    int other_changed;    /* 1: produce the other row's (transfers) */
    int network_changed;  /* 1: produce the network row's StockLevel */
    int has_reorder;
    inv_reorder_t reorder;       /* on_hand, on_order: after the reorder, i.e.
                              on_order includes `quantity` */
    int has_other_reorder;       /* transfers: the other location's reorder */
    inv_reorder_t other_reorder; /* event_id reorder:<movement_id>:<other location> */
    size_t shortage_count;       /* 0..3 */
    inv_shortage_t shortages[3]; /* location row's, the other row's, then network's */
    int has_status;              /* a reservation step: produce status */
    inv_reservation_status_t status;
    int hold_changed;     /* the reservation line changed: store it (a tombstone once closed) */
    int transfer_changed; /* the transfer line changed: store it */
    int history_add;      /* remember (placed_at, history_delta) in the row's count history */
    int64_t history_delta;
    int count_applied;  /* a count set the row: history placed at or before it can go */
    const char *report; /* applied, and to be reported to the DLQ with this reason */
} inv_rules_out_t;

/* What the rules need besides the rows (inv_rules_apply_in). */
typedef struct {
    const inv_movement_t *m;
    inv_rules_policy_t policy;       /* the location's effective policy */
    int64_t network_threshold;       /* the network row's safety stock */
    inv_rules_policy_t other_policy; /* transfers: the other location's effective policy */
    int64_t placed_at_ms;            /* the movement's time on the row's timeline (see "Counts") */
    int64_t count_window_ms;         /* a count placed more than this before newest_at_ms is refused */
    int64_t later_net;               /* count: the net on_hand change of the row's history placed after it */
    int has_newest;                  /* count: the row's history has a change ... */
    int64_t newest_at_ms;            /* ... and this is the newest one's time */
} inv_rules_in_t;

/* The state one movement changes, in place. */
typedef struct {
    inv_stock_row_t *location;      /* the row of m->location_id */
    inv_stock_row_t *other;         /* transfers: the row of m->other_location_id; else NULL */
    inv_stock_row_t *network;       /* the SKU's network row */
    inv_rules_hold_t *hold;         /* when inv_rules_needs_hold(m); else may be NULL */
    inv_rules_transfer_t *transfer; /* transfers: the (transfer_id, sku) line; else NULL */
} inv_rules_rows_t;

/*
 * The effective policy of a location and the network threshold, with the
 * contract's fallbacks: the (sku, location) policy, else the (sku, "*")
 * policy, else `deflt`; the network threshold is the safety_stock of the
 * (sku, "*") policy, else deflt->safety_stock. `location` and `star` may be
 * NULL (no such policy); `deflt` may not. Cannot fail.
 */
void inv_rules_policy_resolve(const inv_rules_policy_t *location, const inv_rules_policy_t *star,
                              const inv_rules_policy_t *deflt, inv_rules_policy_t *effective,
                              int64_t *network_threshold);

/* Bytes of scratch inv_rules_apply() needs for movement `m` (all its ids). */
size_t inv_rules_scratch_size(const inv_movement_t *m);

/*
 * Applies movement `m` to its location row and to the SKU's network row, in
 * place, and fills `out` (see the top of this file for the rules).
 * `policy` is the location's effective policy and `network_threshold` the
 * network row's safety stock (inv_rules_policy_resolve() or
 * inv_store_policy_lookup() give both). `location` and `network` must be
 * distinct rows of the same SKU. `hold` is the movement's reservation line
 * (changed in place); it may be NULL unless inv_rules_needs_hold(m). Event
 * ids are written to `scratch`.
 *
 * Errors: INV_RULES_EINVAL, INV_RULES_EOVERFLOW, INV_RULES_ESCRATCH; the
 * rows and `out` are then untouched.
 * Ownership: see inv_rules_out_t. Nothing is allocated.
 */
int inv_rules_apply(const inv_movement_t *m, const inv_rules_policy_t *policy, int64_t network_threshold,
                    inv_stock_row_t *location, inv_stock_row_t *network, inv_rules_hold_t *hold, char *scratch,
                    size_t scratch_size, inv_rules_out_t *out);

/*
 * The general form: every movement type, transfers included, with the
 * movement placed at in->placed_at_ms on the row's timeline. inv_rules_apply()
 * is this with placed_at = occurred_at, an empty count history and no
 * transfers. `rows->other` and `rows->transfer` are required for transfer
 * movements (other distinct from location and network).
 * Errors: as inv_rules_apply(), and INV_RULES_ESTALE_COUNT.
 */
int inv_rules_apply_in(const inv_rules_in_t *in, inv_rules_rows_t *rows, char *scratch, size_t scratch_size,
                       inv_rules_out_t *out);

/* 1 for transfer_out, transfer_in and transfer_cancel. */
int inv_rules_is_transfer(const inv_movement_t *m);

/* Units in transit on a transfer line. */
int64_t inv_rules_in_transit(const inv_rules_transfer_t *t);

/* 1 when m takes a reservation line (reserve, release, expire, a sale with
 * a reservation_id), else 0. */
int inv_rules_needs_hold(const inv_movement_t *m);

/* Fills a StockLevel view of `row` for encoding. `out` borrows `sku` and
 * `location_id` ("*" for the network row). Cannot fail. */
void inv_rules_stock_level(const char *sku, const char *location_id, const inv_stock_row_t *row,
                           inv_stock_level_t *out);

/* The shortage state a row with `available` has under `threshold` when its
 * history is unknown (restore from a StockLevel): OUT_OF_STOCK at 0, LOW up
 * to the threshold, else NONE. Cannot fail. */
inv_shortage_state_t inv_rules_shortage_derive(int64_t available, int64_t threshold);

/* A row from a StockLevel read back from the changelog, with the shortage
 * state derived under `threshold` (see "Restore" above). */
void inv_rules_row_from_level(const inv_stock_level_t *level, int64_t threshold, inv_stock_row_t *row);

/* A static sentence for any inv_rules error code; "unknown error" else. */
const char *inv_rules_strerror(int err);

#endif
