/* inv_keeper_stall: LMDB writes that fail are held, redone, or given up.
 * A real LMDB in a temp dir; failures are injected through stall_t.commit. */
#include "inv_keeper_stall.h"
#include "inv_test.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include "inv_time.h"

static char dir[64];
static inv_store_t *store;
static batch_t batch;
static stall_t st;
static int failures_left; /* commits that fail before they go through */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* A commit that fails with ENOSPC (the disk is full) failures_left times. */
static int commit_enospc(inv_store_txn_t *txn) {
    if (failures_left > 0) {
        failures_left--;
        inv_store_txn_abort(txn);
        return ENOSPC;
    }
    return inv_store_txn_commit(txn);
}

/* A fresh store and an empty batch, stall_t on them, commits failing
 * `failures` times. */
static int setup(int failures) {
    snprintf(dir, sizeof(dir), "/tmp/test_keeper_stall.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    inv_store_options_t opts = INV_STORE_OPTIONS_DEFAULT;
    if (inv_store_open(dir, &opts, &store) != 0)
        return -1;
    batch_init(&batch, 4096);
    stall_init(&st, dir, "inventory.stock", store, &batch, NULL);
    st.commit = commit_enospc;
    failures_left = failures;
    return 0;
}

static void teardown(void) {
    batch_free(&batch);
    inv_store_close(store);
    store = NULL;
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* What a batch leaves: row (sku-1, store-1) = 5 in partition p, ids m1 and
 * m2, input offset 42, changelog up to 7. */
static void batch_of_partition(int32_t p) {
    partition_t *pt = batch_partition(&batch, p);
    pt->touched = 1;
    pt->batch_next = pt->next_offset = 42;
    pt->changelog_next = 7;
    batch.now_ms = inv_time_wall_ms();
    batch_ids_add(&batch, pt, "m1", 2, NULL);
    batch_ids_add(&batch, pt, "m2", 2, NULL);
    inv_stock_row_t r = INV_STOCK_ROW_INIT;
    r.on_hand = 5;
    r.version = 1;
    dirty_key_t k = dirty_key(p, "sku-1", "store-1");
    dirty_add(&batch.dirty, &k, &r);
}

/* The batch's LMDB txn as the keeper writes it, committed through the stall. */
static int commit_batch(void) {
    inv_store_txn_t *t = NULL;
    int rc = inv_store_txn_begin(store, 0, &t);
    if (!rc)
        rc = dirty_put_all(&batch.dirty, t);
    if (rc) {
        inv_store_txn_abort(t);
        return rc;
    }
    return stall_commit_batch(&st, t);
}

/* The stored row of (sku-1, store-1) in p: its on_hand, or -1 when absent. */
static int64_t stored_on_hand(int32_t p) {
    inv_store_txn_t *t = NULL;
    inv_stock_row_t r;
    int64_t v = -1;
    if (inv_store_txn_begin(store, 1, &t) == 0 && inv_store_stock_get(t, p, "sku-1", "store-1", &r) == 0)
        v = r.on_hand;
    inv_store_txn_abort(t);
    return v;
}

static void test_a_commit_that_fails_keeps_the_batch_for_a_redo(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    INV_ASSERT_EQ_INT(ENOSPC, commit_batch());
    INV_ASSERT_EQ_INT(1, st.redo);
    INV_ASSERT_EQ_INT(1, batch.dirty.len);
    INV_ASSERT_EQ_INT(1, batch.parts[0].touched);
    INV_ASSERT_EQ_INT(-1, stored_on_hand(0));
    teardown();
}

static void test_a_commit_that_fails_holds_input_until_the_retry_time(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    double before = inv_time_mono_s();
    commit_batch();
    INV_ASSERT_EQ_INT(1, st.stalled);
    INV_ASSERT_EQ_INT(ENOSPC, st.err);
    INV_ASSERT(stall_waiting(&st));
    INV_ASSERT(st.retry_at >= before + STALL_RETRY_SECONDS);
    INV_ASSERT_EQ_INT(0, st.fatal);
    teardown();
}

static void test_a_redo_writes_the_kept_rows_ids_and_offsets(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    commit_batch();
    INV_ASSERT_EQ_INT(0, stall_redo_flush(&st));
    INV_ASSERT_EQ_INT(5, stored_on_hand(0));
    inv_store_txn_t *t = NULL;
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(store, 0, &t));
    inv_store_meta_t meta;
    int seen1 = 0, seen2 = 0, rc = inv_store_meta_get(t, 0, &meta);
    inv_store_dedup_seen_or_add(t, 0, "m1", 2, 0, &seen1);
    inv_store_dedup_seen_or_add(t, 0, "m2", 2, 0, &seen2);
    inv_store_txn_abort(t);
    INV_ASSERT_EQ_INT(0, rc);
    INV_ASSERT_EQ_INT(42, meta.input_offset);
    INV_ASSERT_EQ_INT(7, meta.changelog_offset);
    INV_ASSERT(seen1 && seen2, "applied ids recorded: m1 %d, m2 %d", seen1, seen2);
    teardown();
}

static void test_a_redo_that_goes_through_ends_the_stall_and_the_batch(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    commit_batch();
    INV_ASSERT_EQ_INT(0, stall_redo_flush(&st));
    INV_ASSERT_EQ_INT(0, st.redo);
    INV_ASSERT_EQ_INT(0, st.stalled);
    INV_ASSERT_EQ_INT(0, batch.dirty.len);
    INV_ASSERT_EQ_INT(0, batch.parts[0].touched);
    teardown();
}

static void test_a_redo_that_fails_again_keeps_the_batch(void) {
    INV_ASSERT(setup(2) == 0);
    batch_of_partition(0);
    commit_batch();
    INV_ASSERT_EQ_INT(ENOSPC, stall_redo_flush(&st));
    INV_ASSERT_EQ_INT(1, st.redo);
    INV_ASSERT_EQ_INT(1, batch.dirty.len);
    INV_ASSERT_EQ_INT(-1, stored_on_hand(0));
    /* and the next try writes it */
    INV_ASSERT_EQ_INT(0, stall_redo_flush(&st));
    INV_ASSERT_EQ_INT(5, stored_on_hand(0));
    teardown();
}

static void test_nothing_kept_is_nothing_to_redo(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    INV_ASSERT_EQ_INT(0, stall_redo_flush(&st));
    INV_ASSERT_EQ_INT(1, failures_left); /* no write was tried */
    INV_ASSERT_EQ_INT(1, batch.dirty.len);
    teardown();
}

static void test_a_dropped_redo_reports_its_partitions_and_rebuilds_the_assigned_ones(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    batch_of_partition(2);
    batch.parts[0].assigned = batch.parts[0].ready = 1;
    commit_batch();
    INV_ASSERT_EQ_INT(2, stall_redo_drop(&st, 1));
    INV_ASSERT_EQ_INT(1, batch.parts[0].need_restore);
    INV_ASSERT_EQ_INT(42, batch.parts[0].restore_to);
    INV_ASSERT_EQ_INT(0, batch.parts[0].ready);
    INV_ASSERT_EQ_INT(0, batch.parts[2].need_restore); /* not assigned: the offset check at assignment rebuilds it */
    INV_ASSERT_EQ_INT(0, st.redo);
    INV_ASSERT_EQ_INT(0, batch.dirty.len);
    INV_ASSERT_EQ_INT(-1, stored_on_hand(0));
    teardown();
}

static void test_a_redo_dropped_at_assignment_marks_no_partition(void) {
    INV_ASSERT(setup(1) == 0);
    batch_of_partition(0);
    batch.parts[0].assigned = 1;
    commit_batch();
    INV_ASSERT_EQ_INT(1, stall_redo_drop(&st, 0));
    INV_ASSERT_EQ_INT(0, batch.parts[0].need_restore);
    INV_ASSERT_EQ_INT(0, st.redo);
    teardown();
}

static void test_a_full_map_is_no_stall(void) {
    INV_ASSERT(setup(0) == 0);
    stall_failed(&st, INV_STORE_MAP_FULL, "write");
    INV_ASSERT_EQ_INT(0, st.stalled);
    INV_ASSERT(!stall_waiting(&st));
    teardown();
}

static void test_a_panic_stops_the_keeper(void) {
    INV_ASSERT(setup(0) == 0);
    stall_failed(&st, INV_STORE_PANIC, "commit");
    INV_ASSERT_EQ_INT(1, st.fatal);
    INV_ASSERT(strstr(st.fatal_err, dir) != NULL, "fatal_err names the state dir: %s", st.fatal_err);
    teardown();
}

int main(void) {
    INV_RUN(test_a_commit_that_fails_keeps_the_batch_for_a_redo);
    INV_RUN(test_a_commit_that_fails_holds_input_until_the_retry_time);
    INV_RUN(test_a_redo_writes_the_kept_rows_ids_and_offsets);
    INV_RUN(test_a_redo_that_goes_through_ends_the_stall_and_the_batch);
    INV_RUN(test_a_redo_that_fails_again_keeps_the_batch);
    INV_RUN(test_nothing_kept_is_nothing_to_redo);
    INV_RUN(test_a_dropped_redo_reports_its_partitions_and_rebuilds_the_assigned_ones);
    INV_RUN(test_a_redo_dropped_at_assignment_marks_no_partition);
    INV_RUN(test_a_full_map_is_no_stall);
    INV_RUN(test_a_panic_stops_the_keeper);
    return INV_TEST_DONE();
}
