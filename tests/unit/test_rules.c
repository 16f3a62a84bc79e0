/* inv_rules: the contract's stock semantics, one behaviour per test. */
#include "inv_rules.h"
#include "inv_test.h"

#include <stdint.h>

/* A policy under which nothing but the quantities happens: no reorder ever
 * (the point is far below any position) and no low state (threshold 0). */
static const inv_rules_policy_t QUIET = {INT64_MIN / 2, 0, 0};

static char scratch[INV_RULES_SCRATCH_DEFAULT];

static inv_movement_t mv(inv_movement_type_t type, const char *location, int64_t q, const char *id) {
    return (inv_movement_t){
        .movement_id = id,
        .sku = "SKU-1",
        .location_id = location,
        .channel = INV_CHANNEL_STORE,
        .type = type,
        .quantity = q,
        .occurred_at_ms = 1700000000000,
        .source = "test",
    };
}

/* Applies one movement at store-1 to (loc, net) and returns the result. */
static int apply_at(inv_stock_row_t *loc, inv_stock_row_t *net, const char *location, inv_movement_type_t type,
                    int64_t q, const inv_rules_policy_t *pol, int64_t net_threshold, inv_rules_out_t *out) {
    inv_movement_t m = mv(type, location, q, "sale:T-1:0");
    return inv_rules_apply(&m, pol, net_threshold, loc, net, NULL, scratch, sizeof scratch, out);
}

static int apply(inv_stock_row_t *loc, inv_stock_row_t *net, inv_movement_type_t type, int64_t q,
                 const inv_rules_policy_t *pol, inv_rules_out_t *out) {
    return apply_at(loc, net, "store-1", type, q, pol, pol->safety_stock, out);
}

/* ---- quantities ---------------------------------------------------------- */

static void test_sale_decrements_on_hand_and_available(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 3, &QUIET, &out));
    INV_ASSERT_EQ_INT(7, loc.on_hand);
    INV_ASSERT_EQ_INT(7, loc.available);
    INV_ASSERT_EQ_INT(7, net.on_hand);
    INV_ASSERT_EQ_INT(7, net.available);
    INV_ASSERT(out.location_changed && out.network_changed);
}

static void test_oversell_drives_on_hand_negative_with_available_zero(void) {
    inv_stock_row_t loc = {.on_hand = 2, .available = 2}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 5, &QUIET, &out));
    INV_ASSERT_EQ_INT(-3, loc.on_hand);
    INV_ASSERT_EQ_INT(0, loc.available);
    INV_ASSERT_EQ_INT(-3, net.on_hand);
    INV_ASSERT_EQ_INT(0, net.available);
}

static void test_resellable_return_adds_to_on_hand(void) {
    inv_stock_row_t loc = {.on_hand = 1, .available = 1}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RETURN_RESELLABLE, 2, &QUIET, &out));
    INV_ASSERT_EQ_INT(3, loc.on_hand);
    INV_ASSERT_EQ_INT(3, loc.available);
    INV_ASSERT_EQ_INT(0, loc.unsellable);
    INV_ASSERT_EQ_INT(3, net.on_hand);
}

static void test_damaged_return_adds_to_unsellable_only(void) {
    inv_stock_row_t loc = {.on_hand = 1, .available = 1}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RETURN_DAMAGED, 2, &QUIET, &out));
    INV_ASSERT_EQ_INT(1, loc.on_hand);
    INV_ASSERT_EQ_INT(1, loc.available);
    INV_ASSERT_EQ_INT(2, loc.unsellable);
    INV_ASSERT_EQ_INT(2, net.unsellable);
    INV_ASSERT_EQ_INT(1, net.on_hand);
}

static void test_receipt_adds_on_hand_and_reduces_on_order(void) {
    inv_stock_row_t loc = {.on_hand = 1, .available = 1, .on_order = 24}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 20, &QUIET, &out));
    INV_ASSERT_EQ_INT(21, loc.on_hand);
    INV_ASSERT_EQ_INT(4, loc.on_order);
    INV_ASSERT_EQ_INT(4, net.on_order);
}

static void test_receipt_reduces_on_order_not_below_zero(void) {
    /* The network row also has 10 on order at another location: it loses
     * only what this location actually had on order. */
    inv_stock_row_t loc = {.on_order = 5}, net = {.on_order = 15};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 8, &QUIET, &out));
    INV_ASSERT_EQ_INT(0, loc.on_order);
    INV_ASSERT_EQ_INT(10, net.on_order);
    INV_ASSERT_EQ_INT(8, loc.on_hand);
}

static void test_adjustment_is_signed(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_ADJUSTMENT, -4, &QUIET, &out));
    INV_ASSERT_EQ_INT(6, loc.on_hand);
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_ADJUSTMENT, 5, &QUIET, &out));
    INV_ASSERT_EQ_INT(11, loc.on_hand);
    INV_ASSERT_EQ_INT(11, net.on_hand);
}

static void test_count_sets_on_hand_absolutely(void) {
    inv_stock_row_t loc = {.on_hand = -4, .available = 0, .unsellable = 3, .on_order = 7}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_COUNT, 9, &QUIET, &out));
    INV_ASSERT_EQ_INT(9, loc.on_hand);
    INV_ASSERT_EQ_INT(9, loc.available);
    INV_ASSERT_EQ_INT(3, loc.unsellable);
    INV_ASSERT_EQ_INT(7, loc.on_order);
}

static void test_count_moves_network_by_the_difference(void) {
    /* Network: this location (12) plus another (30). */
    inv_stock_row_t loc = {.on_hand = 12, .available = 12}, net = {.on_hand = 42, .available = 42};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_COUNT, 5, &QUIET, &out));
    INV_ASSERT_EQ_INT(35, net.on_hand);
    INV_ASSERT_EQ_INT(35, net.available);
}

static void test_count_of_zero_is_valid(void) {
    inv_stock_row_t loc = {.on_hand = 3, .available = 3}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_COUNT, 0, &QUIET, &out));
    INV_ASSERT_EQ_INT(0, loc.on_hand);
}

/* ---- versions ------------------------------------------------------------ */

static void test_each_change_bumps_version_and_sets_updated_at(void) {
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    inv_movement_t m = mv(INV_MOVE_RECEIPT, "store-1", 5, "restock:GR-1:0");
    m.occurred_at_ms = 1000;
    INV_ASSERT_EQ_INT(0, inv_rules_apply(&m, &QUIET, 0, &loc, &net, NULL, scratch, sizeof scratch, &out));
    INV_ASSERT_EQ_INT(1, loc.version);
    INV_ASSERT_EQ_INT(1, net.version);
    m.occurred_at_ms = 500; /* late: still the last applied */
    INV_ASSERT_EQ_INT(0, inv_rules_apply(&m, &QUIET, 0, &loc, &net, NULL, scratch, sizeof scratch, &out));
    INV_ASSERT_EQ_INT(2, loc.version);
    INV_ASSERT_EQ_INT(500, loc.updated_at_ms);
    INV_ASSERT_EQ_INT(500, net.updated_at_ms);
}

static void test_movement_changing_nothing_leaves_rows_untouched(void) {
    inv_stock_row_t loc = {.on_hand = 4, .available = 4, .version = 2, .updated_at_ms = 9}, net = loc;
    inv_rules_out_t out;
    /* a count that finds what was expected still records when it was taken */
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_COUNT, 4, &QUIET, &out));
    INV_ASSERT(out.location_changed && out.network_changed);
    INV_ASSERT_EQ_INT(0, loc.count_variance);
    INV_ASSERT_EQ_INT(1, loc.has_last_count);
    loc.updated_at_ms = net.updated_at_ms = 9;
    /* the same count again (same time): covered by the latest count */
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_COUNT, 7, &QUIET, &out));
    INV_ASSERT(!out.location_changed && !out.network_changed);
    INV_ASSERT_EQ_INT(4, loc.on_hand);
    INV_ASSERT_EQ_INT(3, loc.version);
    INV_ASSERT_EQ_INT(9, loc.updated_at_ms);
    INV_ASSERT_EQ_INT(3, net.version);
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_ADJUSTMENT, 0, &QUIET, &out));
    INV_ASSERT(!out.location_changed && !out.network_changed);
}

/* ---- reorder ------------------------------------------------------------- */

static const inv_rules_policy_t REORDER = {.reorder_point = 10, .reorder_quantity = 24, .safety_stock = 0};

static void test_reorder_fires_at_the_point_with_reorder_quantity(void) {
    inv_stock_row_t loc = {.on_hand = 11, .available = 11}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &REORDER, &out));
    INV_ASSERT(out.has_reorder);
    INV_ASSERT_EQ_INT(24, out.reorder.quantity);
    INV_ASSERT_EQ_INT(10, out.reorder.on_hand);
    INV_ASSERT_EQ_INT(24, out.reorder.on_order); /* after the reorder */
    INV_ASSERT_EQ_INT(10, out.reorder.reorder_point);
    INV_ASSERT_EQ_STR("SKU-1", out.reorder.sku);
    INV_ASSERT_EQ_STR("store-1", out.reorder.location_id);
    INV_ASSERT_EQ_STR("sale:T-1:0", out.reorder.cause_movement_id);
    INV_ASSERT_EQ_INT(1700000000000, out.reorder.occurred_at_ms);
    INV_ASSERT_EQ_INT(24, loc.on_order);
}

static void test_no_reorder_above_the_point(void) {
    inv_stock_row_t loc = {.on_hand = 13, .available = 13}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 2, &REORDER, &out));
    INV_ASSERT(!out.has_reorder);
    INV_ASSERT_EQ_INT(0, loc.on_order);
}

static void test_no_second_reorder_until_position_falls_to_the_point_again(void) {
    inv_stock_row_t loc = {.on_hand = 11, .available = 11}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &REORDER, &out)); /* 10+0 -> order 24 */
    INV_ASSERT(out.has_reorder);
    /* Position 34: sales down to 11 order nothing. */
    for (int i = 0; i < 23; i++) {
        INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &REORDER, &out));
        INV_ASSERT(!out.has_reorder, "reordered again at position %lld", (long long)(loc.on_hand + loc.on_order));
    }
    /* The receipt moves stock from on_order to on_hand: position unchanged. */
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 24, &REORDER, &out));
    INV_ASSERT(!out.has_reorder);
    INV_ASSERT_EQ_INT(11, loc.on_hand + loc.on_order);
    /* Back at the point: the second reorder. */
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &REORDER, &out));
    INV_ASSERT(out.has_reorder);
    INV_ASSERT_EQ_INT(24, out.reorder.quantity);
}

static void test_reorder_quantity_covers_the_deficit_far_below_the_point(void) {
    inv_stock_row_t loc = {.on_hand = 5, .available = 5}, net = loc;
    inv_rules_out_t out;
    /* Oversell to -30: position -30, point 10 -> 10 + 1 + 30 = 41 > 24. */
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 35, &REORDER, &out));
    INV_ASSERT(out.has_reorder);
    INV_ASSERT_EQ_INT(41, out.reorder.quantity);
    INV_ASSERT_EQ_INT(11, loc.on_hand + loc.on_order); /* just above the point */
}

static void test_reorder_adds_to_network_on_order(void) {
    inv_stock_row_t loc = {.on_hand = 11, .available = 11}, net = {.on_hand = 50, .available = 50, .on_order = 6};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &REORDER, &out));
    INV_ASSERT(out.has_reorder);
    INV_ASSERT_EQ_INT(30, net.on_order);
}

static void test_raised_point_reorders_on_next_movement_even_a_receipt(void) {
    inv_stock_row_t loc = {.on_hand = 20, .available = 20}, net = loc;
    inv_rules_out_t out;
    inv_rules_policy_t raised = {.reorder_point = 30, .reorder_quantity = 5};
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 2, &raised, &out));
    INV_ASSERT(out.has_reorder);
    INV_ASSERT_EQ_INT(9, out.reorder.quantity); /* 30 + 1 - 22 */
}

/* ---- shortage ------------------------------------------------------------ */

static const inv_rules_policy_t SAFETY4 = {.reorder_point = INT64_MIN / 2, .reorder_quantity = 0, .safety_stock = 4};

static void test_shortage_low_when_available_falls_to_safety_stock_once(void) {
    inv_stock_row_t loc = {.on_hand = 6, .available = 6}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &SAFETY4, &out)); /* 5 */
    INV_ASSERT_EQ_INT(0, out.shortage_count);
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &SAFETY4, &out)); /* 4 */
    INV_ASSERT_EQ_INT(2, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_LOW, out.shortages[0].state);
    INV_ASSERT_EQ_STR("store-1", out.shortages[0].location_id);
    INV_ASSERT_EQ_INT(4, out.shortages[0].available);
    INV_ASSERT_EQ_INT(4, out.shortages[0].threshold);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_LOW, loc.shortage);
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 1, &SAFETY4, &out)); /* 3: still low */
    INV_ASSERT_EQ_INT(0, out.shortage_count);
}

static void test_shortage_out_of_stock_at_zero_once(void) {
    inv_stock_row_t loc = {.on_hand = 2, .available = 2, .shortage = INV_SHORTAGE_LOW}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 2, &SAFETY4, &out));
    INV_ASSERT_EQ_INT(2, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_OUT_OF_STOCK, out.shortages[0].state);
    INV_ASSERT_EQ_INT(0, out.shortages[0].available);
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_SALE, 2, &SAFETY4, &out)); /* oversold: still out */
    INV_ASSERT_EQ_INT(0, out.shortage_count);
}

static void test_shortage_restored_when_above_safety_stock_again(void) {
    inv_stock_row_t loc = {.on_hand = 0, .available = 0, .shortage = INV_SHORTAGE_OUT_OF_STOCK}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 5, &SAFETY4, &out));
    INV_ASSERT_EQ_INT(2, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_RESTORED, out.shortages[0].state);
    INV_ASSERT_EQ_INT(5, out.shortages[0].available);
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 5, &SAFETY4, &out));
    INV_ASSERT_EQ_INT(0, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_RESTORED, loc.shortage);
}

static void test_shortage_out_of_stock_to_low_when_refilled_below_threshold(void) {
    inv_stock_row_t loc = {.on_hand = -2, .available = 0, .shortage = INV_SHORTAGE_OUT_OF_STOCK}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RETURN_RESELLABLE, 5, &SAFETY4, &out)); /* 3 */
    INV_ASSERT_EQ_INT(2, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_LOW, out.shortages[0].state);
    INV_ASSERT_EQ_INT(3, out.shortages[0].available);
}

static void test_fresh_row_above_threshold_emits_nothing(void) {
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RECEIPT, 10, &SAFETY4, &out));
    INV_ASSERT_EQ_INT(0, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_NONE, loc.shortage);
}

static void test_lowered_threshold_restores_on_next_movement(void) {
    inv_stock_row_t loc = {.on_hand = 4, .available = 4, .shortage = INV_SHORTAGE_LOW}, net = loc;
    inv_rules_out_t out;
    inv_rules_policy_t lowered = SAFETY4;
    lowered.safety_stock = 2;
    INV_ASSERT_EQ_INT(0, apply(&loc, &net, INV_MOVE_RETURN_DAMAGED, 1, &lowered, &out));
    INV_ASSERT_EQ_INT(2, out.shortage_count);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_RESTORED, out.shortages[0].state);
    INV_ASSERT_EQ_INT(2, out.shortages[0].threshold);
}

/* ---- the network row ----------------------------------------------------- */

static void test_network_row_sums_every_field_across_locations(void) {
    inv_stock_row_t a = INV_STOCK_ROW_INIT, b = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply_at(&a, &net, "store-1", INV_MOVE_RECEIPT, 15, &REORDER, 0, &out));
    INV_ASSERT(!out.has_reorder);
    INV_ASSERT_EQ_INT(0, apply_at(&b, &net, "dc-1", INV_MOVE_RECEIPT, 3, &REORDER, 0, &out));
    INV_ASSERT(out.has_reorder); /* dc-1 at 3 <= 10: orders 24 */
    INV_ASSERT_EQ_INT(0, apply_at(&b, &net, "dc-1", INV_MOVE_RETURN_DAMAGED, 2, &REORDER, 0, &out));
    INV_ASSERT_EQ_INT(0, apply_at(&a, &net, "store-1", INV_MOVE_SALE, 5, &REORDER, 0, &out));
    INV_ASSERT(out.has_reorder); /* store-1 at 10: orders 24 */
    INV_ASSERT_EQ_INT(a.on_hand + b.on_hand, net.on_hand);
    INV_ASSERT_EQ_INT(a.unsellable + b.unsellable, net.unsellable);
    INV_ASSERT_EQ_INT(a.on_order + b.on_order, net.on_order);
    INV_ASSERT_EQ_INT(48, net.on_order);
    INV_ASSERT_EQ_INT(a.available + b.available, net.available);
}

static void test_network_available_is_the_sum_of_location_available(void) {
    /* store-1 oversold to -5 counts 0, dc-1 has 8: network on_hand 3, available 8. */
    inv_stock_row_t a = INV_STOCK_ROW_INIT, b = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply_at(&b, &net, "dc-1", INV_MOVE_RECEIPT, 8, &QUIET, 0, &out));
    INV_ASSERT_EQ_INT(0, apply_at(&a, &net, "store-1", INV_MOVE_SALE, 5, &QUIET, 0, &out));
    INV_ASSERT_EQ_INT(3, net.on_hand);
    INV_ASSERT_EQ_INT(8, net.available);
}

static void test_network_shortage_uses_the_network_threshold(void) {
    /* Location threshold 0, network threshold 10. */
    inv_stock_row_t a = {.on_hand = 12, .available = 12}, net = a;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply_at(&a, &net, "store-1", INV_MOVE_SALE, 2, &QUIET, 10, &out));
    INV_ASSERT_EQ_INT(1, out.shortage_count);
    INV_ASSERT_EQ_STR("*", out.shortages[0].location_id);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_LOW, out.shortages[0].state);
    INV_ASSERT_EQ_INT(10, out.shortages[0].threshold);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_NONE, a.shortage);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_LOW, net.shortage);
}

static void test_network_stays_ok_while_another_location_runs_out(void) {
    inv_stock_row_t a = {.on_hand = 1, .available = 1}, net = {.on_hand = 21, .available = 21};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply_at(&a, &net, "store-1", INV_MOVE_SALE, 1, &SAFETY4, 4, &out));
    INV_ASSERT_EQ_INT(1, out.shortage_count);
    INV_ASSERT_EQ_STR("store-1", out.shortages[0].location_id);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_OUT_OF_STOCK, out.shortages[0].state);
    INV_ASSERT(out.network_changed);
}

/* ---- ids and strings ----------------------------------------------------- */

static void test_event_ids_are_deterministic_from_the_movement(void) {
    inv_rules_policy_t pol = {.reorder_point = 10, .reorder_quantity = 24, .safety_stock = 4};
    inv_movement_t m = mv(INV_MOVE_SALE, "store-12", 1, "sale:T-1001:0");
    for (int round = 0; round < 2; round++) {
        inv_stock_row_t loc = {.on_hand = 1, .available = 1}, net = loc;
        inv_rules_out_t out;
        INV_ASSERT_EQ_INT(0, inv_rules_apply(&m, &pol, 4, &loc, &net, NULL, scratch, sizeof scratch, &out));
        INV_ASSERT_EQ_STR("reorder:sale:T-1001:0", out.reorder.event_id);
        INV_ASSERT_EQ_INT(2, out.shortage_count);
        INV_ASSERT_EQ_STR("shortage:store-12:out_of_stock:sale:T-1001:0", out.shortages[0].event_id);
        INV_ASSERT_EQ_STR("shortage:*:out_of_stock:sale:T-1001:0", out.shortages[1].event_id);
        memset(scratch, 'x', sizeof scratch); /* the next round must rebuild them */
    }
}

static void test_ids_fit_exactly_in_scratch_size(void) {
    inv_rules_policy_t pol = {.reorder_point = 10, .reorder_quantity = 1, .safety_stock = 4};
    inv_movement_t m = mv(INV_MOVE_SALE, "store-12", 1, "sale:T-1001:0");
    inv_stock_row_t loc = {.on_hand = 1, .available = 1, .shortage = INV_SHORTAGE_LOW}, net = loc;
    inv_rules_out_t out;
    size_t need = inv_rules_scratch_size(&m);
    char small[256];
    INV_ASSERT(need <= sizeof small);
    INV_ASSERT_EQ_INT(INV_RULES_ESCRATCH, inv_rules_apply(&m, &pol, 4, &loc, &net, NULL, small, need - 1, &out));
    INV_ASSERT_EQ_INT(1, loc.on_hand); /* untouched */
    INV_ASSERT_EQ_INT(0, inv_rules_apply(&m, &pol, 4, &loc, &net, NULL, small, need, &out));
    INV_ASSERT_EQ_STR("shortage:*:out_of_stock:sale:T-1001:0", out.shortages[1].event_id);
}

static void test_outputs_borrow_the_movement_strings(void) {
    inv_movement_t m = mv(INV_MOVE_SALE, "store-1", 20, "sale:T-9:3");
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, inv_rules_apply(&m, &REORDER, 0, &loc, &net, NULL, scratch, sizeof scratch, &out));
    INV_ASSERT(out.reorder.sku == m.sku && out.reorder.location_id == m.location_id &&
               out.reorder.cause_movement_id == m.movement_id);
    INV_ASSERT(out.shortages[0].sku == m.sku && out.shortages[0].location_id == m.location_id);
}

/* ---- policies ------------------------------------------------------------ */

static void test_policy_falls_back_from_location_to_star_to_default(void) {
    inv_rules_policy_t loc = {1, 2, 3}, star = {4, 5, 6}, deflt = {7, 8, 9}, eff;
    int64_t thr;
    inv_rules_policy_resolve(&loc, &star, &deflt, &eff, &thr);
    INV_ASSERT_EQ_INT(1, eff.reorder_point);
    INV_ASSERT_EQ_INT(3, eff.safety_stock);
    INV_ASSERT_EQ_INT(6, thr);
    inv_rules_policy_resolve(NULL, &star, &deflt, &eff, &thr);
    INV_ASSERT_EQ_INT(4, eff.reorder_point);
    INV_ASSERT_EQ_INT(5, eff.reorder_quantity);
    INV_ASSERT_EQ_INT(6, thr);
    inv_rules_policy_resolve(NULL, NULL, &deflt, &eff, &thr);
    INV_ASSERT_EQ_INT(7, eff.reorder_point);
    INV_ASSERT_EQ_INT(9, thr);
}

static void test_network_threshold_ignores_the_location_policy(void) {
    inv_rules_policy_t loc = {1, 2, 3}, deflt = {7, 8, 9}, eff;
    int64_t thr;
    inv_rules_policy_resolve(&loc, NULL, &deflt, &eff, &thr);
    INV_ASSERT_EQ_INT(3, eff.safety_stock);
    INV_ASSERT_EQ_INT(9, thr);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_non_positive_sale_is_refused(void) {
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, apply(&loc, &net, INV_MOVE_SALE, 0, &QUIET, &out));
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, apply(&loc, &net, INV_MOVE_RECEIPT, -1, &QUIET, &out));
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, apply(&loc, &net, INV_MOVE_COUNT, -1, &QUIET, &out));
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, apply(&loc, &net, (inv_movement_type_t)42, 1, &QUIET, &out));
    INV_ASSERT_EQ_INT(0, loc.version);
}

static void test_movement_at_location_star_is_refused(void) {
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, apply_at(&loc, &net, "*", INV_MOVE_SALE, 1, &QUIET, 0, &out));
}

static void test_overflow_is_refused_and_rows_stay_unchanged(void) {
    inv_stock_row_t loc = {.on_hand = INT64_MAX - 1, .available = INT64_MAX - 1}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(INV_RULES_EOVERFLOW, apply(&loc, &net, INV_MOVE_RECEIPT, 5, &QUIET, &out));
    INV_ASSERT_EQ_INT(INT64_MAX - 1, loc.on_hand);
    INV_ASSERT_EQ_INT(0, loc.version);
    /* The location fits but the network sum does not. */
    inv_stock_row_t a = {.on_hand = 1, .available = 1}, n2 = {.on_hand = INT64_MAX, .available = INT64_MAX};
    INV_ASSERT_EQ_INT(INV_RULES_EOVERFLOW, apply(&a, &n2, INV_MOVE_RETURN_RESELLABLE, 1, &QUIET, &out));
    INV_ASSERT_EQ_INT(1, a.on_hand);
}

/* ---- restore helpers ----------------------------------------------------- */

static void test_level_round_trips_through_a_row(void) {
    inv_stock_row_t row = {.on_hand = 3,
                           .unsellable = 1,
                           .on_order = 24,
                           .available = 3,
                           .version = 7,
                           .updated_at_ms = 99,
                           .shortage = INV_SHORTAGE_LOW};
    inv_stock_level_t lvl;
    inv_rules_stock_level("SKU-1", "*", &row, &lvl);
    INV_ASSERT_EQ_STR("*", lvl.location_id);
    INV_ASSERT_EQ_INT(7, lvl.version);
    inv_stock_row_t back;
    inv_rules_row_from_level(&lvl, 4, &back);
    INV_ASSERT_EQ_INT(row.on_hand, back.on_hand);
    INV_ASSERT_EQ_INT(row.unsellable, back.unsellable);
    INV_ASSERT_EQ_INT(row.on_order, back.on_order);
    INV_ASSERT_EQ_INT(row.available, back.available);
    INV_ASSERT_EQ_INT(row.version, back.version);
    INV_ASSERT_EQ_INT(row.updated_at_ms, back.updated_at_ms);
    INV_ASSERT_EQ_INT(row.shortage, back.shortage);
}

static void test_derived_shortage_state_follows_available(void) {
    INV_ASSERT_EQ_INT(INV_SHORTAGE_OUT_OF_STOCK, inv_rules_shortage_derive(0, 4));
    INV_ASSERT_EQ_INT(INV_SHORTAGE_LOW, inv_rules_shortage_derive(4, 4));
    INV_ASSERT_EQ_INT(INV_SHORTAGE_NONE, inv_rules_shortage_derive(5, 4));
}

static void test_strerror_names_every_code(void) {
    INV_ASSERT(strcmp(inv_rules_strerror(INV_RULES_EINVAL), "unknown error") != 0);
    INV_ASSERT(strcmp(inv_rules_strerror(INV_RULES_EOVERFLOW), "unknown error") != 0);
    INV_ASSERT(strcmp(inv_rules_strerror(INV_RULES_ESCRATCH), "unknown error") != 0);
    INV_ASSERT_EQ_STR("unknown error", inv_rules_strerror(-1));
}

static void test_shortage_names_cover_none_and_round_trip(void) {
    INV_ASSERT_EQ_STR("none", inv_shortage_state_name(INV_SHORTAGE_NONE));
    for (int st = INV_SHORTAGE_NONE; st <= INV_SHORTAGE_RESTORED; st++)
        INV_ASSERT_EQ_INT(st, inv_shortage_state_from_name(inv_shortage_state_name((inv_shortage_state_t)st)));
    INV_ASSERT_EQ_INT(INV_SHORTAGE_NONE, inv_shortage_state_from_name(NULL));
    INV_ASSERT_EQ_INT(INV_SHORTAGE_NONE, inv_shortage_state_from_name("bogus"));
}

/* ---- reservations ---------------------------------------------------------- */

/* Applies a reservation step q of type at store-1 with the line *h. */
static int step(inv_stock_row_t *loc, inv_stock_row_t *net, inv_rules_hold_t *h, inv_movement_type_t type, int64_t q,
                int allow_partial, const char *rid, inv_rules_out_t *out) {
    inv_movement_t m = mv(type, "store-1", q, "reserve:RV-1:0");
    m.reservation_id = rid;
    m.allow_partial = allow_partial;
    if (type == INV_MOVE_RESERVE) {
        m.has_expires_at = 1;
        m.expires_at_ms = 1700000600000;
    }
    if (type == INV_MOVE_EXPIRE)
        m.occurred_at_ms = 1700000600000; /* the expiry it was written for */
    return inv_rules_apply(&m, &QUIET, 0, loc, net, h, scratch, sizeof scratch, out);
}

static void test_hold_within_available_is_held_in_full(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_RESERVE, 4, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(10, loc.on_hand);
    INV_ASSERT_EQ_INT(4, loc.committed);
    INV_ASSERT_EQ_INT(6, loc.available);
    INV_ASSERT_EQ_INT(4, net.committed);
    INV_ASSERT_EQ_INT(6, net.available);
    INV_ASSERT_EQ_INT(1, out.has_status);
    INV_ASSERT_EQ_INT(INV_RESERVATION_HELD, out.status.state);
    INV_ASSERT_EQ_INT(4, out.status.held);
    INV_ASSERT_EQ_INT(4, out.status.remaining);
    INV_ASSERT_EQ_INT(1, out.status.has_expires_at);
    INV_ASSERT_EQ_STR("status:reserve:RV-1:0", out.status.event_id);
    INV_ASSERT_EQ_INT(1, out.hold_changed);
    INV_ASSERT_EQ_INT(4, h.remaining);
    INV_ASSERT_EQ_INT(1, out.location_changed);
}

static void test_hold_beyond_available_is_partial_or_rejected(void) {
    inv_stock_row_t loc = {.on_hand = 3, .available = 3}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_RESERVE, 5, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_REJECTED, out.status.state);
    INV_ASSERT_EQ_INT(0, loc.committed);
    INV_ASSERT_EQ_INT(0, out.hold_changed);
    INV_ASSERT_EQ_INT(0, out.location_changed);
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_RESERVE, 5, 1, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_PARTIAL, out.status.state);
    INV_ASSERT_EQ_INT(3, out.status.held);
    INV_ASSERT_EQ_INT(5, out.status.requested);
    INV_ASSERT_EQ_INT(3, loc.committed);
    INV_ASSERT_EQ_INT(0, loc.available);
    /* nothing left: a partial hold now gets nothing */
    inv_rules_hold_t h2 = {0};
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h2, INV_MOVE_RESERVE, 1, 1, "ORD-2", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_REJECTED, out.status.state);
    INV_ASSERT_EQ_INT(3, loc.committed);
}

static void test_release_without_a_hold_is_not_found_and_changes_nothing(void) {
    inv_stock_row_t loc = {.on_hand = 3, .available = 3}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_RELEASE, 2, 0, "ORD-9", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_NOT_FOUND, out.status.state);
    INV_ASSERT_EQ_INT(0, out.hold_changed);
    INV_ASSERT_EQ_INT(0, out.location_changed);
    INV_ASSERT_EQ_INT(0, loc.committed);
}

static void test_release_returns_the_remaining_units(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    step(&loc, &net, &h, INV_MOVE_RESERVE, 4, 0, "ORD-1", &out);
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_RELEASE, 1, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_RELEASED, out.status.state);
    INV_ASSERT_EQ_INT(3, out.status.remaining);
    INV_ASSERT_EQ_INT(3, loc.committed);
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_RELEASE, 99, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(0, out.status.remaining);
    INV_ASSERT_EQ_INT(0, out.status.has_expires_at);
    INV_ASSERT_EQ_INT(0, loc.committed);
    INV_ASSERT_EQ_INT(10, loc.available);
}

static void test_sale_fulfils_part_of_a_hold_then_the_rest(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    step(&loc, &net, &h, INV_MOVE_RESERVE, 4, 0, "ORD-1", &out);
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_SALE, 1, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_HELD, out.status.state);
    INV_ASSERT_EQ_INT(3, out.status.remaining);
    INV_ASSERT_EQ_INT(9, loc.on_hand);
    INV_ASSERT_EQ_INT(3, loc.committed);
    INV_ASSERT_EQ_INT(6, loc.available); /* unchanged by a sale of reserved units */
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_SALE, 5, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_FULFILLED, out.status.state);
    INV_ASSERT_EQ_INT(4, loc.on_hand);
    INV_ASSERT_EQ_INT(0, loc.committed);
    INV_ASSERT_EQ_INT(4, loc.available);
    /* a sale of a settled reservation is a plain sale */
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_SALE, 1, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_NOT_FOUND, out.status.state);
    INV_ASSERT_EQ_INT(3, loc.on_hand);
}

static void test_expiry_releases_what_remains_once(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    step(&loc, &net, &h, INV_MOVE_RESERVE, 4, 0, "ORD-1", &out);
    step(&loc, &net, &h, INV_MOVE_SALE, 1, 0, "ORD-1", &out);
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_EXPIRE, 3, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(INV_RESERVATION_EXPIRED, out.status.state);
    INV_ASSERT_EQ_INT(3, out.status.requested);
    INV_ASSERT_EQ_INT(0, loc.committed);
    INV_ASSERT_EQ_INT(9, loc.available);
    /* a second expiry finds nothing to do and reports nothing */
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_EXPIRE, 3, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(0, out.has_status);
    INV_ASSERT_EQ_INT(0, out.location_changed);
}

static void test_expiry_of_a_renewed_hold_changes_nothing(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    step(&loc, &net, &h, INV_MOVE_RESERVE, 4, 0, "ORD-1", &out);
    h.expires_at_ms += 60000; /* renewed by a later hold */
    INV_ASSERT_EQ_INT(0, step(&loc, &net, &h, INV_MOVE_EXPIRE, 4, 0, "ORD-1", &out));
    INV_ASSERT_EQ_INT(0, out.has_status);
    INV_ASSERT_EQ_INT(4, loc.committed);
}

static void test_reservation_steps_need_a_line_and_an_id(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    inv_movement_t m = mv(INV_MOVE_RESERVE, "store-1", 1, "reserve:RV-1:0");
    m.reservation_id = "ORD-1";
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL,
                      inv_rules_apply(&m, &QUIET, 0, &loc, &net, NULL, scratch, sizeof scratch, &out));
    m.reservation_id = NULL;
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, inv_rules_apply(&m, &QUIET, 0, &loc, &net, &h, scratch, sizeof scratch, &out));
    m.reservation_id = "ORD-1";
    m.quantity = 0;
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, inv_rules_apply(&m, &QUIET, 0, &loc, &net, &h, scratch, sizeof scratch, &out));
}

static void test_reorder_position_subtracts_committed(void) {
    inv_rules_policy_t pol = {5, 10, 0};
    inv_stock_row_t loc = {.on_hand = 8, .available = 8}, net = loc;
    inv_rules_hold_t h = {0};
    inv_rules_out_t out;
    inv_movement_t m = mv(INV_MOVE_RESERVE, "store-1", 3, "reserve:RV-1:0");
    m.reservation_id = "ORD-1";
    m.has_expires_at = 1;
    m.expires_at_ms = 1700000600000;
    INV_ASSERT_EQ_INT(0, inv_rules_apply(&m, &pol, 0, &loc, &net, &h, scratch, sizeof scratch, &out));
    INV_ASSERT_EQ_INT(1, out.has_reorder); /* 8 - 3 = 5 <= 5 */
    INV_ASSERT_EQ_INT(10, out.reorder.quantity);
    INV_ASSERT_EQ_INT(10, loc.on_order);
}

/* ---- transfers ------------------------------------------------------------- */

typedef struct {
    inv_stock_row_t src, dst, net;
    inv_rules_transfer_t line;
} transfer_rig_t;

/* One transfer movement of TR-9 between dc-1 (source) and store-12. */
static int transfer(transfer_rig_t *r, inv_movement_type_t type, int64_t q, int64_t rejected,
                    const inv_rules_policy_t *dst_policy, inv_rules_out_t *out) {
    int in = type == INV_MOVE_TRANSFER_IN;
    inv_movement_t m = mv(type, in ? "store-12" : "dc-1", q, in ? "transfer_in:TR-9-r:0" : "transfer_out:TR-9:0");
    m.transfer_id = "TR-9";
    m.other_location_id = in ? "dc-1" : "store-12";
    m.rejected = rejected;
    inv_rules_in_t ri = {.m = &m,
                         .policy = in ? *dst_policy : QUIET,
                         .other_policy = in ? QUIET : *dst_policy,
                         .placed_at_ms = m.occurred_at_ms,
                         .count_window_ms = INT64_MAX};
    inv_rules_rows_t rows = {
        .location = in ? &r->dst : &r->src, .other = in ? &r->src : &r->dst, .network = &r->net, .transfer = &r->line};
    return inv_rules_apply_in(&ri, &rows, scratch, sizeof scratch, out);
}

static void test_transfer_shipped_received_in_part_with_rejects_then_canceled(void) {
    transfer_rig_t r = {.src = {.on_hand = 100, .available = 100}, .dst = INV_STOCK_ROW_INIT};
    r.net = r.src;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_OUT, 24, 0, &QUIET, &out));
    INV_ASSERT_EQ_INT(76, r.src.on_hand);
    INV_ASSERT_EQ_INT(24, r.src.in_transit_out);
    INV_ASSERT_EQ_INT(24, r.dst.incoming);
    INV_ASSERT_EQ_INT(76, r.net.on_hand);
    INV_ASSERT_EQ_INT(24, r.net.in_transit_out);
    INV_ASSERT(out.location_changed && out.other_changed && out.network_changed && out.transfer_changed);
    INV_ASSERT(!out.report);
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_IN, 10, 2, &QUIET, &out));
    INV_ASSERT_EQ_INT(8, r.dst.on_hand);
    INV_ASSERT_EQ_INT(2, r.dst.unsellable);
    INV_ASSERT_EQ_INT(14, r.dst.incoming);
    INV_ASSERT_EQ_INT(14, r.src.in_transit_out);
    INV_ASSERT_EQ_INT(84, r.net.on_hand);
    INV_ASSERT_EQ_INT(2, r.net.unsellable);
    INV_ASSERT_EQ_INT(14, r.net.in_transit_out);
    INV_ASSERT_EQ_INT(14, r.net.incoming);
    INV_ASSERT(!out.report);
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_CANCEL, 24, 0, &QUIET, &out));
    INV_ASSERT_EQ_INT(90, r.src.on_hand);
    INV_ASSERT_EQ_INT(0, r.src.in_transit_out);
    INV_ASSERT_EQ_INT(0, r.dst.incoming);
    INV_ASSERT_EQ_INT(98, r.net.on_hand); /* 100 shipped from, 2 of them rejected */
    INV_ASSERT_EQ_INT(0, r.net.in_transit_out);
    INV_ASSERT_EQ_INT(0, inv_rules_in_transit(&r.line));
    /* a second cancel finds nothing in transit: applied as nothing, reported */
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_CANCEL, 24, 0, &QUIET, &out));
    INV_ASSERT_EQ_INT(90, r.src.on_hand);
    INV_ASSERT(out.report != NULL);
    INV_ASSERT_EQ_STR("transfer TR-9 SKU-1: canceled with no units in transit: nothing returned", out.report);
}

static void test_receipt_of_an_unknown_transfer_is_applied_and_reported(void) {
    transfer_rig_t r = {.src = INV_STOCK_ROW_INIT, .dst = INV_STOCK_ROW_INIT, .net = INV_STOCK_ROW_INIT};
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_IN, 5, 1, &QUIET, &out));
    INV_ASSERT_EQ_INT(4, r.dst.on_hand);
    INV_ASSERT_EQ_INT(1, r.dst.unsellable);
    INV_ASSERT_EQ_INT(0, r.dst.incoming);
    INV_ASSERT_EQ_INT(0, r.src.in_transit_out);
    INV_ASSERT_EQ_STR("transfer TR-9 SKU-1: received 5 units, 0 were in transit (never shipped, or received or "
                      "canceled already): applied at store-12",
                      out.report);
    /* its shipment, arriving after it, puts nothing in transit */
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_OUT, 5, 0, &QUIET, &out));
    INV_ASSERT_EQ_INT(-5, r.src.on_hand);
    INV_ASSERT_EQ_INT(0, r.src.in_transit_out);
    INV_ASSERT_EQ_INT(0, r.dst.incoming);
}

static void test_transfer_reorders_at_the_other_end_under_its_own_id(void) {
    transfer_rig_t r = {.src = {.on_hand = 50, .available = 50}, .dst = INV_STOCK_ROW_INIT};
    r.net = r.src;
    inv_rules_policy_t store = {.reorder_point = 30, .reorder_quantity = 12, .safety_stock = 0};
    inv_rules_out_t out;
    /* the destination's position counts the units coming: 0 + 24 <= 30 */
    INV_ASSERT_EQ_INT(0, transfer(&r, INV_MOVE_TRANSFER_OUT, 24, 0, &store, &out));
    INV_ASSERT(!out.has_reorder && out.has_other_reorder);
    INV_ASSERT_EQ_STR("reorder:transfer_out:TR-9:0:store-12", out.other_reorder.event_id);
    INV_ASSERT_EQ_STR("store-12", out.other_reorder.location_id);
    INV_ASSERT_EQ_INT(12, out.other_reorder.quantity);
    INV_ASSERT_EQ_INT(12, r.dst.on_order);
    INV_ASSERT_EQ_INT(12, r.net.on_order);
}

static void test_transfer_needs_its_other_end_and_line(void) {
    inv_movement_t m = mv(INV_MOVE_TRANSFER_OUT, "dc-1", 3, "transfer_out:TR-1:0");
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    inv_rules_out_t out;
    /* the simple form refuses transfers */
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL,
                      inv_rules_apply(&m, &QUIET, 0, &loc, &net, NULL, scratch, sizeof scratch, &out));
    m.transfer_id = "TR-1";
    m.other_location_id = "dc-1"; /* to itself */
    inv_stock_row_t other = INV_STOCK_ROW_INIT;
    inv_rules_transfer_t line = {0};
    inv_rules_in_t in = {.m = &m, .policy = QUIET, .other_policy = QUIET, .count_window_ms = INT64_MAX};
    inv_rules_rows_t rows = {.location = &loc, .other = &other, .network = &net, .transfer = &line};
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, inv_rules_apply_in(&in, &rows, scratch, sizeof scratch, &out));
    m.other_location_id = "store-2";
    rows.transfer = NULL;
    INV_ASSERT_EQ_INT(INV_RULES_EINVAL, inv_rules_apply_in(&in, &rows, scratch, sizeof scratch, &out));
    rows.transfer = &line;
    INV_ASSERT_EQ_INT(0, inv_rules_apply_in(&in, &rows, scratch, sizeof scratch, &out));
    INV_ASSERT_EQ_INT(3, other.incoming);
}

/* ---- counts as of their time ----------------------------------------------- */

/* Applies a movement at store-1 placed at `at`, with the history figures a
 * count needs (later: the net of changes placed after it). */
static int apply_placed(inv_stock_row_t *loc, inv_stock_row_t *net, inv_movement_type_t type, int64_t q, int64_t at,
                        int64_t later, int64_t newest, inv_rules_out_t *out) {
    inv_movement_t m = mv(type, "store-1", q, "count:C-1:0");
    m.occurred_at_ms = at;
    inv_rules_in_t in = {.m = &m,
                         .policy = QUIET,
                         .other_policy = QUIET,
                         .placed_at_ms = at,
                         .count_window_ms = 1000,
                         .later_net = later,
                         .has_newest = newest != INT64_MIN,
                         .newest_at_ms = newest};
    inv_rules_rows_t rows = {.location = loc, .network = net};
    return inv_rules_apply_in(&in, &rows, scratch, sizeof scratch, out);
}

static void test_count_is_applied_as_of_its_time(void) {
    /* 50 on hand; a sale of 2 placed at 605 was applied; a count of 40 at
     * 600 arrives: on_hand = 40 - 2, and the row had 52 as of 600 */
    inv_stock_row_t loc = {.on_hand = 50, .available = 50}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_COUNT, 40, 600, -2, 605, &out));
    INV_ASSERT_EQ_INT(38, loc.on_hand);
    INV_ASSERT_EQ_INT(-12, loc.count_variance);
    INV_ASSERT_EQ_INT(600, loc.last_count_at_ms);
    INV_ASSERT(out.count_applied && !out.history_add);
    INV_ASSERT_EQ_INT(38, net.on_hand);
    INV_ASSERT_EQ_INT(-12, net.count_variance);
    INV_ASSERT_EQ_INT(600, net.last_count_at_ms);
    /* a sale placed at 595 arrives late: the count covered it */
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_SALE, 3, 595, 0, INT64_MIN, &out));
    INV_ASSERT_EQ_INT(38, loc.on_hand);
    INV_ASSERT(!out.history_add);
    /* one placed after it counts, and is remembered */
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_SALE, 3, 601, 0, INT64_MIN, &out));
    INV_ASSERT_EQ_INT(35, loc.on_hand);
    INV_ASSERT(out.history_add);
    INV_ASSERT_EQ_INT(-3, out.history_delta);
    /* an earlier count, arriving after the later one, changes nothing */
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_COUNT, 99, 590, 0, 601, &out));
    INV_ASSERT_EQ_INT(35, loc.on_hand);
    INV_ASSERT(!out.location_changed && !out.count_applied);
}

static void test_late_change_before_a_count_keeps_its_other_effects(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10, .on_order = 6, .has_last_count = 1, .last_count_at_ms = 600},
                    net = loc;
    inv_rules_out_t out;
    /* a receipt dated before the count: on_hand stays, on_order falls */
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_RECEIPT, 4, 500, 0, INT64_MIN, &out));
    INV_ASSERT_EQ_INT(10, loc.on_hand);
    INV_ASSERT_EQ_INT(2, loc.on_order);
    /* a damaged return: unsellable is not counted */
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_RETURN_DAMAGED, 1, 500, 0, INT64_MIN, &out));
    INV_ASSERT_EQ_INT(1, loc.unsellable);
}

static void test_count_older_than_the_window_is_refused(void) {
    inv_stock_row_t loc = {.on_hand = 10, .available = 10}, net = loc;
    inv_rules_out_t out;
    INV_ASSERT_EQ_INT(INV_RULES_ESTALE_COUNT, apply_placed(&loc, &net, INV_MOVE_COUNT, 4, 1000, 0, 2001, &out));
    INV_ASSERT_EQ_INT(10, loc.on_hand);
    INV_ASSERT_EQ_INT(0, loc.has_last_count);
    /* exactly the window: applied */
    INV_ASSERT_EQ_INT(0, apply_placed(&loc, &net, INV_MOVE_COUNT, 4, 1001, 0, 2001, &out));
    INV_ASSERT_EQ_INT(4, loc.on_hand);
}

int main(void) {
    INV_RUN(test_shortage_names_cover_none_and_round_trip);
    INV_RUN(test_sale_decrements_on_hand_and_available);
    INV_RUN(test_oversell_drives_on_hand_negative_with_available_zero);
    INV_RUN(test_resellable_return_adds_to_on_hand);
    INV_RUN(test_damaged_return_adds_to_unsellable_only);
    INV_RUN(test_receipt_adds_on_hand_and_reduces_on_order);
    INV_RUN(test_receipt_reduces_on_order_not_below_zero);
    INV_RUN(test_adjustment_is_signed);
    INV_RUN(test_count_sets_on_hand_absolutely);
    INV_RUN(test_count_moves_network_by_the_difference);
    INV_RUN(test_count_of_zero_is_valid);
    INV_RUN(test_each_change_bumps_version_and_sets_updated_at);
    INV_RUN(test_movement_changing_nothing_leaves_rows_untouched);
    INV_RUN(test_reorder_fires_at_the_point_with_reorder_quantity);
    INV_RUN(test_no_reorder_above_the_point);
    INV_RUN(test_no_second_reorder_until_position_falls_to_the_point_again);
    INV_RUN(test_reorder_quantity_covers_the_deficit_far_below_the_point);
    INV_RUN(test_reorder_adds_to_network_on_order);
    INV_RUN(test_raised_point_reorders_on_next_movement_even_a_receipt);
    INV_RUN(test_shortage_low_when_available_falls_to_safety_stock_once);
    INV_RUN(test_shortage_out_of_stock_at_zero_once);
    INV_RUN(test_shortage_restored_when_above_safety_stock_again);
    INV_RUN(test_shortage_out_of_stock_to_low_when_refilled_below_threshold);
    INV_RUN(test_fresh_row_above_threshold_emits_nothing);
    INV_RUN(test_lowered_threshold_restores_on_next_movement);
    INV_RUN(test_network_row_sums_every_field_across_locations);
    INV_RUN(test_network_available_is_the_sum_of_location_available);
    INV_RUN(test_network_shortage_uses_the_network_threshold);
    INV_RUN(test_network_stays_ok_while_another_location_runs_out);
    INV_RUN(test_event_ids_are_deterministic_from_the_movement);
    INV_RUN(test_ids_fit_exactly_in_scratch_size);
    INV_RUN(test_outputs_borrow_the_movement_strings);
    INV_RUN(test_policy_falls_back_from_location_to_star_to_default);
    INV_RUN(test_network_threshold_ignores_the_location_policy);
    INV_RUN(test_non_positive_sale_is_refused);
    INV_RUN(test_movement_at_location_star_is_refused);
    INV_RUN(test_overflow_is_refused_and_rows_stay_unchanged);
    INV_RUN(test_level_round_trips_through_a_row);
    INV_RUN(test_derived_shortage_state_follows_available);
    INV_RUN(test_hold_within_available_is_held_in_full);
    INV_RUN(test_hold_beyond_available_is_partial_or_rejected);
    INV_RUN(test_release_without_a_hold_is_not_found_and_changes_nothing);
    INV_RUN(test_release_returns_the_remaining_units);
    INV_RUN(test_sale_fulfils_part_of_a_hold_then_the_rest);
    INV_RUN(test_expiry_releases_what_remains_once);
    INV_RUN(test_expiry_of_a_renewed_hold_changes_nothing);
    INV_RUN(test_reservation_steps_need_a_line_and_an_id);
    INV_RUN(test_reorder_position_subtracts_committed);
    INV_RUN(test_strerror_names_every_code);
    INV_RUN(test_transfer_shipped_received_in_part_with_rejects_then_canceled);
    INV_RUN(test_receipt_of_an_unknown_transfer_is_applied_and_reported);
    INV_RUN(test_transfer_reorders_at_the_other_end_under_its_own_id);
    INV_RUN(test_transfer_needs_its_other_end_and_line);
    INV_RUN(test_count_is_applied_as_of_its_time);
    INV_RUN(test_late_change_before_a_count_keeps_its_other_effects);
    INV_RUN(test_count_older_than_the_window_is_refused);
    return INV_TEST_DONE();
}
