/* inv_holds: reservation lines in the state table, their expiry index and
 * their state log records. */
#include "inv_holds.h"
#include "inv_test.h"
#include "test_store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inv_store_t *open_store(void) { return open_store_named("inv_holds_test"); }

static inv_rules_hold_t line(int64_t remaining, int64_t expires) {
    return (inv_rules_hold_t){.requested = remaining,
                              .held = remaining,
                              .remaining = remaining,
                              .expires_at_ms = expires,
                              .channel = INV_CHANNEL_ONLINE};
}

typedef struct {
    int n;
    char last[3][300];
    int64_t expires[16];
} seen_t;

static int collect(void *opaque, const char *sku, const char *loc, const char *rid, const inv_rules_hold_t *h) {
    seen_t *s = opaque;
    if (s->n < 16)
        s->expires[s->n] = h->expires_at_ms;
    s->n++;
    snprintf(s->last[0], sizeof s->last[0], "%s", sku);
    snprintf(s->last[1], sizeof s->last[1], "%s", loc);
    snprintf(s->last[2], sizeof s->last[2], "%s", rid);
    return 0;
}

static void test_a_line_is_stored_found_and_deleted_once_closed(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    inv_rules_hold_t none = {0}, h = line(4, 1000), back;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_holds_get(t, 3, "SKU-1", "dc-1", "ORD-1", &back));
    INV_ASSERT_EQ_INT(0, back.remaining);
    CHECK_OK(inv_holds_put(t, 3, "SKU-1", "dc-1", "ORD-1", &none, &h));
    CHECK_OK(inv_holds_get(t, 3, "SKU-1", "dc-1", "ORD-1", &back));
    INV_ASSERT_EQ_INT(4, back.remaining);
    INV_ASSERT_EQ_INT(1000, back.expires_at_ms);
    INV_ASSERT_EQ_INT(INV_CHANNEL_ONLINE, back.channel);
    CHECK_OK(inv_holds_get(t, 2, "SKU-1", "dc-1", "ORD-1", &back)); /* another partition */
    INV_ASSERT_EQ_INT(0, back.remaining);
    inv_rules_hold_t closed = h;
    closed.remaining = 0;
    CHECK_OK(inv_holds_put(t, 3, "SKU-1", "dc-1", "ORD-1", &h, &closed));
    CHECK_OK(inv_holds_get(t, 3, "SKU-1", "dc-1", "ORD-1", &back));
    INV_ASSERT_EQ_INT(0, back.remaining);
    seen_t seen = {0};
    CHECK_OK(inv_holds_due(t, 3, 5000, 0, collect, &seen));
    INV_ASSERT_EQ_INT(0, seen.n);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_due_lines_come_earliest_first_and_follow_renewals(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    inv_rules_hold_t none = {0};
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    const char *rids[] = {"A", "B", "C", "D"};
    int64_t exp[] = {300, -5, 100, 900};
    for (int i = 0; i < 4; i++) {
        inv_rules_hold_t h = line(1, exp[i]);
        CHECK_OK(inv_holds_put(t, 0, "SKU-1", "dc-1", rids[i], &none, &h));
    }
    /* D renewed to 50: due now, its old expiry forgotten */
    inv_rules_hold_t d = line(1, 900), d2 = line(1, 50);
    CHECK_OK(inv_holds_put(t, 0, "SKU-1", "dc-1", "D", &d, &d2));
    seen_t seen = {0};
    CHECK_OK(inv_holds_due(t, 0, 300, 0, collect, &seen));
    INV_ASSERT_EQ_INT(4, seen.n);
    INV_ASSERT_EQ_INT(-5, seen.expires[0]);
    INV_ASSERT_EQ_INT(50, seen.expires[1]);
    INV_ASSERT_EQ_INT(100, seen.expires[2]);
    INV_ASSERT_EQ_INT(300, seen.expires[3]);
    memset(&seen, 0, sizeof seen);
    CHECK_OK(inv_holds_due(t, 0, 299, 2, collect, &seen));
    INV_ASSERT_EQ_INT(2, seen.n);
    memset(&seen, 0, sizeof seen);
    CHECK_OK(inv_holds_due(t, 0, 10000, 0, collect, &seen));
    INV_ASSERT_EQ_INT(4, seen.n);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_log_records_rebuild_the_lines_with_long_ids(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    char sku[257], loc[257], rid[257];
    memset(sku, 's', 256), memset(loc, 'l', 256), memset(rid, 'r', 256);
    sku[256] = loc[256] = rid[256] = '\0';
    loc[3] = '|';
    char key[INV_HOLDS_LOG_KEY_MAX];
    size_t klen = inv_holds_log_key(key, sizeof key, sku, loc, rid);
    INV_ASSERT_EQ_INT(INV_HOLDS_LOG_KEY_MAX, (int)klen);
    unsigned char val[INV_HOLDS_LOG_VALUE_SIZE];
    inv_rules_hold_t h = line(7, 123);
    inv_holds_log_value(val, &h);
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_holds_log_apply(t, 1, key, klen, val, sizeof val));
    seen_t seen = {0};
    CHECK_OK(inv_holds_foreach(t, 1, sku, collect, &seen));
    INV_ASSERT_EQ_INT(1, seen.n);
    INV_ASSERT_EQ_STR(sku, seen.last[0]);
    INV_ASSERT_EQ_STR(loc, seen.last[1]);
    INV_ASSERT_EQ_STR(rid, seen.last[2]);
    memset(&seen, 0, sizeof seen);
    CHECK_OK(inv_holds_due(t, 1, 123, 0, collect, &seen));
    INV_ASSERT_EQ_INT(1, seen.n);
    /* a tombstone closes it, index included */
    CHECK_OK(inv_holds_log_apply(t, 1, key, klen, NULL, 0));
    memset(&seen, 0, sizeof seen);
    CHECK_OK(inv_holds_foreach(t, 1, NULL, collect, &seen));
    CHECK_OK(inv_holds_due(t, 1, 123, 0, collect, &seen));
    INV_ASSERT_EQ_INT(0, seen.n);
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_holds_log_apply(t, 1, "x", 1, val, sizeof val));
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_holds_log_apply(t, 1, key, klen, val, 3));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

int main(void) {
    INV_RUN(test_a_line_is_stored_found_and_deleted_once_closed);
    INV_RUN(test_due_lines_come_earliest_first_and_follow_renewals);
    INV_RUN(test_log_records_rebuild_the_lines_with_long_ids);
    test_store_remove();
    return INV_TEST_DONE();
}
