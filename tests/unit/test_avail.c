/* inv_avail: channel availability (the computation, change detection and
 * the records kept per partition), and inv_store's channel table. */
#include "inv_avail.h"
#include "inv_test.h"
#include "test_store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inv_store_t *open_store(void) { return open_store_named("inv_avail_test"); }

static inv_stock_row_t row(int64_t on_hand, int64_t committed) {
    inv_stock_row_t r = INV_STOCK_ROW_INIT;
    r.on_hand = on_hand;
    r.committed = committed;
    int64_t d;
    r.available = __builtin_sub_overflow(on_hand, committed, &d) ? INT64_MAX : d > 0 ? d : 0;
    r.version = 1;
    return r;
}

/* available_to_sell of a channel whose locations hold rows[i] with buffers[i]. */
static int64_t ats(const inv_stock_row_t *rows, const int64_t *buffers, size_t n) {
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = inv_avail_add(sum, inv_avail_share(&rows[i], buffers[i]));
    return sum;
}

static void test_a_buffer_clamps_one_location_to_zero_while_the_others_still_count(void) {
    inv_stock_row_t rows[] = {row(3, 0), row(10, 0), row(7, 0)};
    int64_t buffers[] = {5, 2, 0};
    /* max(3-5,0) + max(10-2,0) + max(7-0,0) */
    INV_ASSERT_EQ_INT(0 + 8 + 7, ats(rows, buffers, 3));
}

static void test_committed_units_are_not_available_to_sell(void) {
    inv_stock_row_t rows[] = {row(10, 4), row(6, 6)};
    int64_t buffers[] = {1, 0};
    INV_ASSERT_EQ_INT((10 - 4 - 1) + 0, ats(rows, buffers, 2));
}

static void test_an_oversold_location_adds_nothing_rather_than_taking_away(void) {
    inv_stock_row_t rows[] = {row(-5, 0), row(4, 0)};
    int64_t buffers[] = {0, 0};
    INV_ASSERT_EQ_INT(4, ats(rows, buffers, 2));
}

static void test_a_location_without_a_row_adds_nothing(void) { INV_ASSERT_EQ_INT(0, inv_avail_share(NULL, 0)); }

static void test_absurd_quantities_saturate_instead_of_overflowing(void) {
    inv_stock_row_t big = row(INT64_MAX, INT64_MIN + 1); /* on_hand - committed past INT64_MAX */
    INV_ASSERT_EQ_INT(INT64_MAX, inv_avail_share(&big, 0));
    INV_ASSERT_EQ_INT(INT64_MAX, inv_avail_add(INT64_MAX - 1, 5));
    inv_stock_row_t small = row(5, 0);
    INV_ASSERT_EQ_INT(0, inv_avail_share(&small, INT64_MAX));
}

static void test_the_first_value_is_emitted_as_version_1(void) {
    inv_avail_state_t next;
    INV_ASSERT_EQ_INT(1, inv_avail_next(NULL, 0, 2, 1000, &next));
    INV_ASSERT_EQ_INT(1, next.version);
    INV_ASSERT_EQ_INT(0, next.available_to_sell);
    INV_ASSERT_EQ_INT(2, next.locations);
    INV_ASSERT_EQ_INT(1000, next.updated_at_ms);
}

static void test_an_unchanged_value_is_not_emitted_again(void) {
    inv_avail_state_t prev = {.available_to_sell = 7, .locations = 2, .version = 4, .updated_at_ms = 10}, next;
    INV_ASSERT_EQ_INT(0, inv_avail_next(&prev, 7, 2, 99, &next));
    INV_ASSERT_EQ_INT(4, next.version);
    INV_ASSERT_EQ_INT(10, next.updated_at_ms);
}

static void test_a_change_of_available_or_of_locations_is_emitted_with_the_next_version(void) {
    inv_avail_state_t prev = {.available_to_sell = 7, .locations = 2, .version = 4, .updated_at_ms = 10}, next;
    INV_ASSERT_EQ_INT(1, inv_avail_next(&prev, 6, 2, 20, &next));
    INV_ASSERT_EQ_INT(5, next.version);
    INV_ASSERT_EQ_INT(20, next.updated_at_ms);
    INV_ASSERT_EQ_INT(1, inv_avail_next(&prev, 7, 3, 30, &next));
    INV_ASSERT_EQ_INT(5, next.version);
    INV_ASSERT_EQ_INT(3, next.locations);
}

typedef struct {
    char channels[4][300];
    int64_t ats[4];
    int n;
} seen_t;

static int see(void *opaque, const char *channel, const inv_avail_state_t *st) {
    seen_t *s = opaque;
    if (s->n < 4) {
        snprintf(s->channels[s->n], sizeof(s->channels[0]), "%s", channel);
        s->ats[s->n++] = st->available_to_sell;
    }
    return 0;
}

static void test_states_are_kept_per_partition_sku_and_channel(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(s, 0, &t));
    inv_avail_state_t a = {5, 2, 1, 100}, b = {9, 1, 3, 200}, got;
    INV_ASSERT_EQ_INT(0, inv_avail_put(t, 0, "SKU-1", "online", &a));
    INV_ASSERT_EQ_INT(0, inv_avail_put(t, 0, "SKU-1", "b2b", &b));
    INV_ASSERT_EQ_INT(0, inv_avail_put(t, 0, "SKU-10", "online", &b));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_avail_get(t, 1, "SKU-1", "online", &got));
    INV_ASSERT_EQ_INT(0, inv_avail_get(t, 0, "SKU-1", "online", &got));
    INV_ASSERT_EQ_INT(5, got.available_to_sell);
    INV_ASSERT_EQ_INT(1, got.version);
    seen_t seen = {0};
    INV_ASSERT_EQ_INT(0, inv_avail_foreach_sku(t, 0, "SKU-1", see, &seen));
    INV_ASSERT_EQ_INT(2, seen.n); /* not SKU-10's */
    INV_ASSERT_EQ_STR("b2b", seen.channels[0]);
    INV_ASSERT_EQ_STR("online", seen.channels[1]);
    INV_ASSERT_EQ_INT(0, inv_avail_delete(t, 0, "SKU-1", "b2b"));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_avail_get(t, 0, "SKU-1", "b2b", &got));
    INV_ASSERT_EQ_INT(0, inv_store_partition_drop(t, 0));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_avail_get(t, 0, "SKU-1", "online", &got));
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_a_long_sku_and_channel_round_trip(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    char sku[257], ch1[257], ch2[257];
    memset(sku, 'S', 256), sku[256] = '\0';
    memset(ch1, 'c', 256), ch1[256] = '\0';
    memcpy(ch2, ch1, sizeof ch2), ch2[255] = 'd'; /* differs past the key's budget */
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(s, 0, &t));
    inv_avail_state_t a = {1, 1, 1, 1}, b = {2, 2, 2, 2}, got;
    INV_ASSERT_EQ_INT(0, inv_avail_put(t, 3, sku, ch1, &a));
    INV_ASSERT_EQ_INT(0, inv_avail_put(t, 3, sku, ch2, &b));
    INV_ASSERT_EQ_INT(0, inv_avail_get(t, 3, sku, ch1, &got));
    INV_ASSERT_EQ_INT(1, got.available_to_sell);
    INV_ASSERT_EQ_INT(0, inv_avail_get(t, 3, sku, ch2, &got));
    INV_ASSERT_EQ_INT(2, got.available_to_sell);
    seen_t seen = {0};
    INV_ASSERT_EQ_INT(0, inv_avail_foreach_sku(t, 3, sku, see, &seen));
    INV_ASSERT_EQ_INT(2, seen.n);
    INV_ASSERT(strcmp(seen.channels[0], ch1) == 0 || strcmp(seen.channels[1], ch1) == 0);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_the_sweep_progress_round_trips_and_is_absent_as_the_empty_table(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(s, 0, &t));
    inv_avail_sweep_t sw;
    INV_ASSERT_EQ_INT(0, inv_avail_sweep_get(t, 2, &sw));
    INV_ASSERT_EQ_INT(0, sw.done_hash);
    INV_ASSERT_EQ_STR("", sw.cursor);
    sw = (inv_avail_sweep_t){.done_hash = 7, .target_hash = INV_AVAIL_HASH_UNKNOWN};
    strcpy(sw.cursor, "SKU-42");
    INV_ASSERT_EQ_INT(0, inv_avail_sweep_put(t, 2, &sw));
    inv_avail_sweep_t got;
    INV_ASSERT_EQ_INT(0, inv_avail_sweep_get(t, 2, &got));
    INV_ASSERT(got.done_hash == 7 && got.target_hash == INV_AVAIL_HASH_UNKNOWN);
    INV_ASSERT_EQ_STR("SKU-42", got.cursor);
    seen_t seen = {0}; /* the progress record names no SKU */
    INV_ASSERT_EQ_INT(0, inv_avail_foreach_sku(t, 2, "SKU-42", see, &seen));
    INV_ASSERT_EQ_INT(0, seen.n);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

typedef struct {
    char text[512];
} table_t;

static int table_line(void *opaque, const char *channel, const char *location, int64_t buffer) {
    table_t *tb = opaque;
    size_t n = strlen(tb->text);
    snprintf(tb->text + n, sizeof(tb->text) - n, "%s|%s=%lld;", channel, location, (long long)buffer);
    return 0;
}

static void test_the_channel_table_keeps_entries_and_their_offsets(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(s, 0, &t));
    INV_ASSERT_EQ_INT(0, inv_store_channel_put(t, "online", "dc-1", 2));
    INV_ASSERT_EQ_INT(0, inv_store_channel_put(t, "online", "store-1", 0));
    INV_ASSERT_EQ_INT(0, inv_store_channel_put(t, "b2b", "dc-1", 5));
    INV_ASSERT_EQ_INT(0, inv_store_channel_put(t, "online", "dc-1", 3)); /* replaces */
    INV_ASSERT_EQ_INT(0, inv_store_channel_delete(t, "b2b", "dc-1"));
    INV_ASSERT_EQ_INT(0, inv_store_channel_delete(t, "b2b", "nowhere")); /* a tombstone of nothing */
    INV_ASSERT_EQ_INT(0, inv_store_channel_offset_put(t, 1, 42));
    table_t tb = {{0}};
    INV_ASSERT_EQ_INT(0, inv_store_channel_foreach(t, table_line, &tb));
    INV_ASSERT_EQ_STR("online|dc-1=3;online|store-1=0;", tb.text);
    int64_t off;
    INV_ASSERT_EQ_INT(0, inv_store_channel_offset_get(t, 1, &off));
    INV_ASSERT_EQ_INT(42, off);
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_channel_offset_get(t, 0, &off));
    inv_rules_policy_t pol; /* the policy table is another */
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_policy_get(t, "online", "dc-1", &pol));
    INV_ASSERT_EQ_INT(0, inv_store_txn_commit(t));
    inv_store_close(s);
}

static int count_sku(void *opaque, int32_t partition, const char *sku, const char *location, const inv_stock_row_t *r) {
    (void)partition, (void)location, (void)r;
    table_t *tb = opaque;
    size_t n = strlen(tb->text);
    snprintf(tb->text + n, sizeof(tb->text) - n, "%s,", sku);
    return 0;
}

static void test_a_partition_scan_resumes_after_a_sku(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(s, 0, &t));
    inv_stock_row_t r = row(1, 0);
    const char *skus[] = {"A", "AB", "B"};
    for (int i = 0; i < 3; i++) {
        INV_ASSERT_EQ_INT(0, inv_store_stock_put(t, 0, skus[i], "*", &r));
        INV_ASSERT_EQ_INT(0, inv_store_stock_put(t, 0, skus[i], "s1", &r));
    }
    INV_ASSERT_EQ_INT(0, inv_store_stock_put(t, 1, "C", "s1", &r));
    table_t tb = {{0}};
    INV_ASSERT_EQ_INT(0, inv_store_stock_scan_after(t, 0, "A", count_sku, &tb));
    INV_ASSERT_EQ_STR("AB,AB,B,B,", tb.text);
    tb.text[0] = '\0';
    INV_ASSERT_EQ_INT(0, inv_store_stock_scan_after(t, 0, "", count_sku, &tb));
    INV_ASSERT_EQ_STR("A,A,AB,AB,B,B,", tb.text);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

int main(void) {
    INV_RUN(test_a_buffer_clamps_one_location_to_zero_while_the_others_still_count);
    INV_RUN(test_committed_units_are_not_available_to_sell);
    INV_RUN(test_an_oversold_location_adds_nothing_rather_than_taking_away);
    INV_RUN(test_a_location_without_a_row_adds_nothing);
    INV_RUN(test_absurd_quantities_saturate_instead_of_overflowing);
    INV_RUN(test_the_first_value_is_emitted_as_version_1);
    INV_RUN(test_an_unchanged_value_is_not_emitted_again);
    INV_RUN(test_a_change_of_available_or_of_locations_is_emitted_with_the_next_version);
    INV_RUN(test_states_are_kept_per_partition_sku_and_channel);
    INV_RUN(test_a_long_sku_and_channel_round_trip);
    INV_RUN(test_the_sweep_progress_round_trips_and_is_absent_as_the_empty_table);
    INV_RUN(test_the_channel_table_keeps_entries_and_their_offsets);
    INV_RUN(test_a_partition_scan_resumes_after_a_sku);
    test_store_remove();
    return INV_TEST_DONE();
}
