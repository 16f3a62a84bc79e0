/* inv_counts (each row's count history) and inv_transfers (transfer lines)
 * in the state table, and the dedup log entries that carry the history. */
#include "inv_counts.h"
#include "inv_test.h"
#include "test_store_util.h"
#include "inv_transfers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inv_store_t *open_store(void) { return open_store_named("inv_counts_test"); }

static void later(inv_store_txn_t *t, uint64_t row, int64_t at, int64_t want_net, int want_has, int64_t want_newest) {
    int64_t net = -999, newest = -999;
    int has = -1;
    CHECK_OK(inv_counts_later(t, 0, row, at, &net, &has, &newest));
    INV_ASSERT_EQ_INT(want_net, net);
    INV_ASSERT_EQ_INT(want_has, has);
    if (want_has)
        INV_ASSERT_EQ_INT(want_newest, newest);
}

static void test_history_sums_the_changes_after_a_time(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    uint64_t r = inv_counts_row("SKU-1", "store-1"), other = inv_counts_row("SKU-1", "store-2");
    INV_ASSERT(r != other);
    later(t, r, 0, 0, 0, 0);
    CHECK_OK(inv_store_history_put(t, 0, r, 600, 1, -2));
    CHECK_OK(inv_store_history_put(t, 0, r, 605, 2, -3));
    CHECK_OK(inv_store_history_put(t, 0, r, 605, 3, 10)); /* same ms, another change */
    CHECK_OK(inv_store_history_put(t, 0, r, -50, 4, 7));  /* before 1970 still sorts first */
    CHECK_OK(inv_store_history_put(t, 0, other, 700, 5, 100));
    later(t, r, 599, 5, 1, 605);
    later(t, r, 600, 7, 1, 605); /* at or before the count: not after it */
    later(t, r, 605, 0, 1, 605);
    later(t, r, -100, 12, 1, 605);
    CHECK_OK(inv_store_history_drop_through(t, 0, r, 600, NULL));
    later(t, r, -100, 7, 1, 605);
    later(t, other, 0, 100, 1, 700);
    uint64_t rows, recs, bytes;
    CHECK_OK(inv_counts_size(t, 0, &rows, &recs, &bytes));
    INV_ASSERT_EQ_INT(2, rows);
    INV_ASSERT_EQ_INT(3, recs);
    INV_ASSERT_EQ_INT(2 * 12 + 3 * 24, bytes);
    /* a partition dropped takes its history along, and only its own */
    for (int i = 0; i < 50; i++) {
        CHECK_OK(inv_store_history_put(t, 1, r, i, (uint64_t)i, 1));
        CHECK_OK(inv_store_history_put(t, 1, other, i, (uint64_t)i, 1));
    }
    CHECK_OK(inv_store_partition_drop(t, 1));
    int64_t net1 = -1, newest1;
    int has1 = -1;
    CHECK_OK(inv_counts_later(t, 1, r, -100, &net1, &has1, &newest1));
    INV_ASSERT(net1 == 0 && has1 == 0);
    uint64_t r1, n1, b1;
    CHECK_OK(inv_counts_size(t, 1, &r1, &n1, &b1));
    INV_ASSERT_EQ_INT(0, n1);
    /* the same change again is kept once */
    CHECK_OK(inv_store_history_put(t, 0, other, 700, 5, 100));
    later(t, other, 0, 100, 1, 700);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_sweep_drops_what_lies_beyond_the_window(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    uint64_t r = inv_counts_row("SKU-1", "store-1"), quiet = inv_counts_row("SKU-2", "store-1");
    for (int i = 0; i < 10; i++)
        CHECK_OK(inv_store_history_put(t, 0, r, i * 100, (uint64_t)i, 1));
    CHECK_OK(inv_store_history_put(t, 0, r, 2000, 99, 1));                 /* 0..900 are more than 1000 before it */
    CHECK_OK(inv_store_history_put(t, 0, quiet, 10, 1, 5));                /* alone: its newest, kept */
    CHECK_OK(inv_store_history_put(t, 0, r, 1000, 98, 1));                 /* exactly the window before: kept */
    CHECK_OK(inv_store_history_put(t, 0, 0xffffffffffffffffULL, 5, 1, 1)); /* the last row of the key space */
    later(t, r, -1, 12, 1, 2000);
    inv_counts_sweep_t sw = {0};
    size_t dropped = 0, total = 0;
    /* in steps of one row: it stops, resumes where it stopped, wraps */
    for (int i = 0; i < 3; i++) { /* a row at a time, then from the start again */
        CHECK_OK(inv_counts_sweep(t, 0, 1000, &sw, 1, &dropped));
        total += dropped;
    }
    INV_ASSERT_EQ_INT(10, total);
    later(t, r, -1, 2, 1, 2000);
    later(t, quiet, -1, 5, 1, 10);
    later(t, 0xffffffffffffffffULL, -1, 1, 1, 5);
    CHECK_OK(inv_counts_sweep(t, 0, 1000, &sw, 100, &dropped));
    INV_ASSERT_EQ_INT(0, dropped);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_dedup_entries_carry_the_history_and_replay_it(void) {
    unsigned char rec[512];
    size_t len = 0;
    inv_store_dedup_history_t hs[3] = {{.kind = 0},
                                       {.kind = 1, .row = 0x0123456789abcdefULL, .at_ms = -5, .delta = -3},
                                       {.kind = 2, .row = 42, .at_ms = 1795300000000}};
    const char *ids[3] = {"sale:A:0", "receipt:B:1", "count:C:0"};
    for (int i = 0; i < 3; i++)
        len += inv_store_dedup_entry3_put(rec + len, ids[i], strlen(ids[i]), 1000 + i, &hs[i]);
    /* ids and their times, then the history parts: kind 0 is 1 byte; kind
     * 1 is 1 + 8 + 2 (1006 ms back) + 1 (-3); kind 2 is 1 + 8 + 6 (a time
     * decades from the entry's) */
    INV_ASSERT_EQ_INT(3 * 10 + 8 + 11 + 9 + 1 + 12 + 15, len);
    const unsigned char *cur = rec, *end = rec + len, *id;
    size_t id_len;
    int64_t at;
    inv_store_dedup_history_t h;
    for (int i = 0; i < 3; i++) {
        INV_ASSERT_EQ_INT(1, inv_store_dedup_entry3_next(&cur, end, &id, &id_len, &at, &h));
        INV_ASSERT(id_len == strlen(ids[i]) && memcmp(id, ids[i], id_len) == 0);
        INV_ASSERT_EQ_INT(1000 + i, at);
        INV_ASSERT_EQ_INT(hs[i].kind, h.kind);
        INV_ASSERT(h.row == hs[i].row && h.at_ms == hs[i].at_ms && h.delta == hs[i].delta);
    }
    INV_ASSERT_EQ_INT(0, inv_store_dedup_entry3_next(&cur, end, &id, &id_len, &at, &h));
    /* cut anywhere inside an entry: refused, never misread */
    for (size_t cut = 1; cut < 10 + 11 + 12; cut++) {
        const unsigned char *c = rec + 10 + 8 + 1;
        int rc = inv_store_dedup_entry3_next(&c, rec + 10 + 8 + 1 + cut, &id, &id_len, &at, &h);
        INV_ASSERT_EQ_INT(INV_STORE_FORMAT, rc);
    }
    /* a varint not in its shortest form (1006 back as 3 bytes) is refused */
    unsigned char odd[64];
    size_t on = inv_store_dedup_entry3_put(odd, "x", 1, 2000, &hs[1]);
    INV_ASSERT_EQ_INT(10 + 1 + 1 + 8 + 2 + 1, on); /* 2005 back: zigzag 4010, two bytes */
    unsigned char longer[64];
    memcpy(longer, odd, 10 + 1 + 1 + 8);
    longer[20] = odd[20] | 0x80;
    longer[21] = odd[21] | 0x80;
    longer[22] = 0x00;
    longer[23] = odd[22];
    cur = longer;
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_store_dedup_entry3_next(&cur, longer + 24, &id, &id_len, &at, &h));
    /* extreme times and deltas round-trip (the distance wraps, and back) */
    inv_store_dedup_history_t far = {.kind = 1, .row = 1, .at_ms = INT64_MIN, .delta = INT64_MAX};
    on = inv_store_dedup_entry3_put(odd, "y", 1, INT64_MAX, &far);
    cur = odd;
    INV_ASSERT_EQ_INT(1, inv_store_dedup_entry3_next(&cur, odd + on, &id, &id_len, &at, &h));
    INV_ASSERT(h.at_ms == INT64_MIN && h.delta == INT64_MAX && at == INT64_MAX);
    rec[10 + 8] = 7; /* an unknown history kind */
    cur = rec;
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_store_dedup_entry3_next(&cur, end, &id, &id_len, &at, &h));
    INV_ASSERT_EQ_INT(0,
                      (long long)inv_store_dedup_entry3_put(rec, "x", 1, 0, &(inv_store_dedup_history_t){.kind = 3}));

    /* replaying the calls rebuilds the same history */
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    inv_store_dedup_history_t add = {.kind = 1, .row = 7, .at_ms = 500, .delta = 4};
    CHECK_OK(inv_counts_replay(t, 0, "a", 1, &add));
    add.at_ms = 700;
    CHECK_OK(inv_counts_replay(t, 0, "b", 1, &add));
    CHECK_OK(inv_counts_replay(t, 0, "b2", 2, &add)); /* same time, another id: both kept */
    later(t, 7, 0, 12, 1, 700);
    inv_store_dedup_history_t count = {.kind = 2, .row = 7, .at_ms = 600};
    CHECK_OK(inv_counts_replay(t, 0, "c", 1, &count));
    later(t, 7, 0, 8, 1, 700);
    CHECK_OK(inv_counts_replay(t, 0, "d", 1, &(inv_store_dedup_history_t){.kind = 0}));
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_counts_replay(t, 0, "e", 1, &(inv_store_dedup_history_t){.kind = 5}));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_batch_keeps_changes_until_its_end(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    uint64_t r = inv_counts_row("SKU-1", "store-1");
    CHECK_OK(inv_store_history_put(t, 0, r, 100, 1, 5)); /* an earlier batch's */
    inv_counts_batch_t b = {0};
    for (int i = 0; i < 3000; i++) { /* out of order, other rows and partitions between */
        char id[32];
        int n = snprintf(id, sizeof id, "sale:%d:0", i);
        inv_store_dedup_history_t h = {.kind = 1, .row = i % 3 ? r : (uint64_t)i, .at_ms = 3000 - i, .delta = -1};
        inv_counts_batch_add(&b, i % 7 ? 0 : 1, id, (size_t)n, &h);
    }
    int64_t net = 0, newest = 0;
    int has = 0;
    CHECK_OK(inv_counts_later(t, 0, r, 0, &net, &has, &newest));
    INV_ASSERT_EQ_INT(5, net); /* LMDB alone: the batch is not there yet */
    inv_counts_batch_later(&b, 0, r, 0, &net, &has, &newest);
    /* i % 3 != 0 and i % 7 != 0: 1714 of them */
    INV_ASSERT_EQ_INT(5 - 1714, net);
    INV_ASSERT_EQ_INT(2999, newest);
    inv_counts_batch_drop_through(&b, 0, r, 1500); /* a count at 1500 */
    CHECK_OK(inv_store_history_drop_through(t, 0, r, 1500, NULL));
    CHECK_OK(inv_counts_batch_flush(&b, t));
    INV_ASSERT_EQ_INT(0, b.len);
    later(t, r, 0, -857, 1, 2999); /* placed 1501..2999: i 1..1499 with i % 3 and i % 7 nonzero */
    inv_counts_batch_free(&b);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

typedef struct {
    int n;
    char sku[300], tid[300];
    inv_rules_transfer_t t;
} seen_t;

static int collect(void *opaque, const char *sku, const char *tid, const inv_rules_transfer_t *t) {
    seen_t *s = opaque;
    s->n++;
    snprintf(s->sku, sizeof s->sku, "%s", sku);
    snprintf(s->tid, sizeof s->tid, "%s", tid);
    s->t = *t;
    return 0;
}

static void test_transfer_lines_are_kept_until_settled(void) {
    inv_store_t *s = open_store();
    inv_store_txn_t *t;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    inv_rules_transfer_t got, shipped = {.shipped = 24}, part = {.shipped = 24, .received = 10},
                              done = {.shipped = 24, .received = 10, .canceled = 14}, early = {.received = 5};
    CHECK_OK(inv_transfers_get(t, 0, "SKU-1", "TR-9", &got));
    INV_ASSERT_EQ_INT(0, got.shipped + got.received + got.canceled);
    INV_ASSERT(inv_transfers_open(&shipped) && inv_transfers_open(&part) && !inv_transfers_open(&done));
    INV_ASSERT(inv_transfers_open(&early)); /* received before its shipment: kept for it */
    CHECK_OK(inv_transfers_put(t, 0, "SKU-1", "TR-9", &part));
    CHECK_OK(inv_transfers_put(t, 0, "SKU-1", "TR-\xc3\xbc", &early));
    CHECK_OK(inv_transfers_get(t, 0, "SKU-1", "TR-9", &got));
    INV_ASSERT(got.shipped == 24 && got.received == 10 && got.canceled == 0);
    seen_t seen = {0};
    CHECK_OK(inv_transfers_foreach(t, 0, "SKU-1", collect, &seen));
    INV_ASSERT_EQ_INT(2, seen.n);
    CHECK_OK(inv_transfers_put(t, 0, "SKU-1", "TR-9", &done));
    CHECK_OK(inv_transfers_get(t, 0, "SKU-1", "TR-9", &got));
    INV_ASSERT_EQ_INT(0, got.shipped);
    seen = (seen_t){0};
    CHECK_OK(inv_transfers_foreach(t, 0, NULL, collect, &seen));
    INV_ASSERT_EQ_INT(1, seen.n);
    INV_ASSERT_EQ_STR("TR-\xc3\xbc", seen.tid);
    INV_ASSERT_EQ_INT(5, seen.t.received);

    /* the state log: a record restores the line, a tombstone removes it */
    char key[INV_TRANSFERS_LOG_KEY_MAX];
    unsigned char val[INV_TRANSFERS_LOG_VALUE_SIZE];
    size_t klen = inv_transfers_log_key(key, sizeof key, "SKU-2", "TR-1");
    INV_ASSERT_EQ_INT(1 + 5 + 1 + 4, klen);
    inv_transfers_log_value(val, &shipped);
    CHECK_OK(inv_transfers_log_apply(t, 1, key, klen, val, sizeof val));
    CHECK_OK(inv_transfers_get(t, 1, "SKU-2", "TR-1", &got));
    INV_ASSERT_EQ_INT(24, got.shipped);
    CHECK_OK(inv_transfers_log_apply(t, 1, key, klen, NULL, 0));
    CHECK_OK(inv_transfers_get(t, 1, "SKU-2", "TR-1", &got));
    INV_ASSERT_EQ_INT(0, got.shipped);
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_transfers_log_apply(t, 1, "hSKU\0x", 6, val, sizeof val));
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_transfers_log_apply(t, 1, key, klen, val, 3));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

int main(void) {
    INV_RUN(test_history_sums_the_changes_after_a_time);
    INV_RUN(test_sweep_drops_what_lies_beyond_the_window);
    INV_RUN(test_dedup_entries_carry_the_history_and_replay_it);
    INV_RUN(test_batch_keeps_changes_until_its_end);
    INV_RUN(test_transfer_lines_are_kept_until_settled);
    test_store_remove();
    return INV_TEST_DONE();
}
