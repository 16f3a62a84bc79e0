/* inv_store: real LMDB in a temporary directory, one behaviour per test. */
#include "inv_store.h"
#include "inv_test.h"

#include <errno.h>
#include <lmdb.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_OK(call)                                                \
    do {                                                              \
        int rc_ = (call);                                             \
        INV_ASSERT(rc_ == 0, "%d: %s", rc_, inv_store_strerror(rc_)); \
    } while (0)

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Each test gets a fresh directory; the previous one is removed. */
static const char *fresh_dir(void) {
    if (dir[0])
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    strcpy(dir, "/tmp/inv_store_test.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    return dir;
}

/* The sync mode of open_store(): main() runs the map and reader tests in
 * INV_STORE_SYNC_NONE too (MDB_WRITEMAP, inv-stock's default). */
static inv_store_sync_t test_sync = INV_STORE_SYNC_LAZY_META;

static inv_store_t *open_store(size_t map_size) {
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.map_size = map_size;
    o.sync = test_sync;
    inv_store_t *s = NULL;
    int rc = inv_store_open(fresh_dir(), &o, &s);
    if (rc) {
        fprintf(stderr, "inv_store_open: %s\n", inv_store_strerror(rc));
        abort();
    }
    return s;
}

static inv_stock_row_t row_of(int64_t on_hand) {
    inv_stock_row_t r = INV_STOCK_ROW_INIT;
    r.on_hand = on_hand;
    r.available = on_hand > 0 ? on_hand : 0;
    r.version = 1;
    return r;
}

typedef struct {
    int n;
    int32_t partition[16];
    char sku[16][32], loc[16][32];
    int64_t on_hand[16];
    int stop_after;
} seen_t;

static int collect(void *opaque, int32_t partition, const char *sku, const char *location, const inv_stock_row_t *row) {
    seen_t *s = opaque;
    if (s->n < 16) {
        s->partition[s->n] = partition;
        snprintf(s->sku[s->n], sizeof s->sku[0], "%s", sku);
        snprintf(s->loc[s->n], sizeof s->loc[0], "%s", location);
        s->on_hand[s->n] = row->on_hand;
    }
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static int count_rows(void *opaque, int32_t p, const char *sku, const char *loc, const inv_stock_row_t *row) {
    (void)p, (void)sku, (void)loc, (void)row;
    ++*(int *)opaque;
    return 0;
}

/* ---- rows ------------------------------------------------------------------ */

static void test_stock_row_round_trips(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t w = {.on_hand = -7,
                         .unsellable = 3,
                         .on_order = 24,
                         .available = 0,
                         .version = 12,
                         .updated_at_ms = 1700000000123,
                         .shortage = INV_SHORTAGE_OUT_OF_STOCK};
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 3, "SKU-1", "store-12", &w));
    CHECK_OK(inv_store_stock_put(t, 3, "SKU-1", "*", &w));
    CHECK_OK(inv_store_txn_commit(t));

    inv_stock_row_t r;
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    CHECK_OK(inv_store_stock_get(t, 3, "SKU-1", "store-12", &r));
    INV_ASSERT_EQ_INT(-7, r.on_hand);
    INV_ASSERT_EQ_INT(3, r.unsellable);
    INV_ASSERT_EQ_INT(24, r.on_order);
    INV_ASSERT_EQ_INT(0, r.available);
    INV_ASSERT_EQ_INT(12, r.version);
    INV_ASSERT_EQ_INT(1700000000123, r.updated_at_ms);
    INV_ASSERT_EQ_INT(INV_SHORTAGE_OUT_OF_STOCK, r.shortage);
    CHECK_OK(inv_store_stock_get(t, 3, "SKU-1", "*", &r));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 3, "SKU-1", "store-13", &r));
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_stock_delete_is_idempotent(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(1);
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "a", &r));
    CHECK_OK(inv_store_stock_delete(t, 0, "SKU-1", "a"));
    CHECK_OK(inv_store_stock_delete(t, 0, "SKU-1", "a"));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 0, "SKU-1", "a", &r));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_aborted_txn_leaves_no_trace(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(5);
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "a", &r));
    inv_store_txn_abort(t);
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 0, "SKU-1", "a", &r));
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_partitions_are_isolated(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t a = row_of(1), b = row_of(2), r;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 1, "SKU-1", "a", &a));
    CHECK_OK(inv_store_stock_put(t, 2, "SKU-1", "a", &b));
    CHECK_OK(inv_store_stock_get(t, 1, "SKU-1", "a", &r));
    INV_ASSERT_EQ_INT(1, r.on_hand);
    CHECK_OK(inv_store_stock_get(t, 2, "SKU-1", "a", &r));
    INV_ASSERT_EQ_INT(2, r.on_hand);
    int n = 0;
    CHECK_OK(inv_store_stock_scan(t, 1, count_rows, &n));
    INV_ASSERT_EQ_INT(1, n);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

/* ---- state table ------------------------------------------------------------ */

static int count_state(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    (void)key, (void)val;
    int *n = opaque;
    *n += (int)(len + val_len);
    return 0;
}

static int delete_state(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    (void)val, (void)val_len;
    return inv_store_state_delete(opaque, 1, 'h', key, len);
}

static void test_state_records_are_kept_by_partition_and_kind_and_dropped_with_it(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_state_put(t, 1, 'h', "ab", 2, "xyz", 3));
    CHECK_OK(inv_store_state_put(t, 1, 'h', "ac", 2, "", 0));
    CHECK_OK(inv_store_state_put(t, 1, 'e', "ab", 2, "q", 1));
    CHECK_OK(inv_store_state_put(t, 2, 'h', "ab", 2, "other", 5));
    char buf[8];
    size_t n = 0;
    CHECK_OK(inv_store_state_get(t, 1, 'h', "ab", 2, buf, sizeof buf, &n));
    INV_ASSERT(n == 3 && memcmp(buf, "xyz", 3) == 0);
    INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_store_state_get(t, 2, 'h', "ab", 2, buf, 2, &n));
    INV_ASSERT_EQ_INT(5, (int)n);
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_state_get(t, 1, 'h', "zz", 2, buf, sizeof buf, &n));
    int total = 0;
    CHECK_OK(inv_store_state_scan(t, 1, 'h', "a", 1, count_state, &total));
    INV_ASSERT_EQ_INT(2 + 3 + 2 + 0, total);
    CHECK_OK(inv_store_txn_commit(t));

    /* a scan may delete what it visits */
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_state_scan(t, 1, 'h', NULL, 0, delete_state, t));
    total = 0;
    CHECK_OK(inv_store_state_scan(t, 1, 'h', NULL, 0, count_state, &total));
    INV_ASSERT_EQ_INT(0, total);
    CHECK_OK(inv_store_state_get(t, 1, 'e', "ab", 2, buf, sizeof buf, &n));
    CHECK_OK(inv_store_partition_drop(t, 2));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_state_get(t, 2, 'h', "ab", 2, buf, sizeof buf, &n));
    CHECK_OK(inv_store_state_get(t, 1, 'e', "ab", 2, buf, sizeof buf, &n));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_rows_keep_committed_incoming_and_in_transit(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(9), back;
    r.committed = 2, r.incoming = 5, r.in_transit_out = 7;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "store-1", &r));
    CHECK_OK(inv_store_stock_get(t, 0, "SKU-1", "store-1", &back));
    CHECK_OK(inv_store_txn_commit(t));
    INV_ASSERT_EQ_INT(2, back.committed);
    INV_ASSERT_EQ_INT(5, back.incoming);
    INV_ASSERT_EQ_INT(7, back.in_transit_out);
    INV_ASSERT_EQ_INT(9, back.on_hand);
    inv_store_close(s);
}

static void test_an_environment_of_the_previous_format_keeps_only_its_global_tables(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(9);
    inv_rules_policy_t pol = {1, 2, 3}, back;
    inv_store_meta_t m = {10, 20, 30};
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "store-1", &r));
    CHECK_OK(inv_store_meta_put(t, 0, &m));
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "*", &pol));
    CHECK_OK(inv_store_txn_commit(t));
    char id[64];
    snprintf(id, sizeof id, "%s", inv_store_instance_id(s));
    inv_store_close(s);

    /* what a build of the previous format left: format 1 */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi g;
    CHECK_OK(mdb_env_create(&env));
    CHECK_OK(mdb_env_set_maxdbs(env, 16));
    CHECK_OK(mdb_env_open(env, dir, 0, 0600));
    CHECK_OK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK_OK(mdb_dbi_open(txn, "global", 0, &g));
    unsigned char one = 1;
    MDB_val k = {6, "format"}, v = {1, &one};
    CHECK_OK(mdb_put(txn, g, &k, &v, 0));
    CHECK_OK(mdb_txn_commit(txn));
    mdb_env_close(env);

    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    CHECK_OK(inv_store_open(dir, &o, &s));
    INV_ASSERT_EQ_INT(1, inv_store_was_reset(s));
    INV_ASSERT_EQ_STR(id, inv_store_instance_id(s));
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 0, "SKU-1", "store-1", &r));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_meta_get(t, 0, &m));
    CHECK_OK(inv_store_policy_get(t, "SKU-1", "*", &back));
    INV_ASSERT_EQ_INT(2, back.reorder_quantity);
    inv_store_txn_abort(t);
    inv_store_close(s);
    /* and it stays in the current format */
    CHECK_OK(inv_store_open(dir, &o, &s));
    INV_ASSERT_EQ_INT(0, inv_store_was_reset(s));
    inv_store_close(s);
}

static void test_partition_drop_removes_only_that_partition(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(3);
    inv_store_meta_t m = {10, 20, 30};
    inv_rules_policy_t pol = {1, 2, 3};
    char sku[32];
    int seen;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    for (int32_t p = 1; p <= 3; p++) { /* thousands of keys: several pages */
        for (int i = 0; i < 3000; i++) {
            snprintf(sku, sizeof sku, "SKU-%d", i);
            CHECK_OK(inv_store_stock_put(t, p, sku, "store-1", &r));
            CHECK_OK(inv_store_dedup_seen_or_add(t, p, sku, strlen(sku), i, &seen));
        }
        CHECK_OK(inv_store_meta_put(t, p, &m));
    }
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "*", &pol));
    CHECK_OK(inv_store_policy_offset_put(t, 0, 99));
    CHECK_OK(inv_store_txn_commit(t));

    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_partition_drop(t, 2));
    CHECK_OK(inv_store_txn_commit(t));

    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    int n1 = 0, n2 = 0, n3 = 0;
    CHECK_OK(inv_store_stock_scan(t, 1, count_rows, &n1));
    CHECK_OK(inv_store_stock_scan(t, 2, count_rows, &n2));
    CHECK_OK(inv_store_stock_scan(t, 3, count_rows, &n3));
    INV_ASSERT_EQ_INT(3000, n1);
    INV_ASSERT_EQ_INT(0, n2);
    INV_ASSERT_EQ_INT(3000, n3);
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_meta_get(t, 2, &m));
    CHECK_OK(inv_store_meta_get(t, 3, &m));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 2, "SKU-7", 5, 7, &seen));
    INV_ASSERT_EQ_INT(0, seen); /* forgotten with its partition */
    CHECK_OK(inv_store_dedup_seen_or_add(t, 1, "SKU-7", 5, 7, &seen));
    INV_ASSERT_EQ_INT(1, seen);
    /* The time index went too: pruning partition 2 finds only the new id. */
    size_t pruned;
    CHECK_OK(inv_store_dedup_prune(t, 2, INT64_MAX, 0, &pruned));
    INV_ASSERT_EQ_INT(1, pruned);
    CHECK_OK(inv_store_policy_get(t, "SKU-1", "*", &pol));
    int64_t off;
    CHECK_OK(inv_store_policy_offset_get(t, 0, &off));
    INV_ASSERT_EQ_INT(99, off);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

/* ---- lookups by SKU and scans ---------------------------------------------- */

static void put_rows_for_foreach(inv_store_t *s) {
    inv_store_txn_t *t;
    inv_stock_row_t r;
    if (inv_store_txn_begin(s, 0, &t))
        abort();
    r = row_of(1), inv_store_stock_put(t, 3, "SKU-1", "b", &r);
    r = row_of(2), inv_store_stock_put(t, 3, "SKU-1", "a", &r);
    r = row_of(3), inv_store_stock_put(t, 3, "SKU-1", "*", &r);
    r = row_of(4), inv_store_stock_put(t, 3, "SKU-10", "a", &r); /* shares the prefix "SKU-1" */
    r = row_of(5), inv_store_stock_put(t, 5, "SKU-2", "a", &r);
    r = row_of(6), inv_store_stock_put(t, 7, "SKU-1", "c", &r);
    r = row_of(7), inv_store_stock_put(t, 0, "SKU-0", "a", &r);
    if (inv_store_txn_commit(t))
        abort();
}

static void test_stock_foreach_finds_a_skus_rows_across_partitions(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    put_rows_for_foreach(s);
    seen_t seen = {0};
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    CHECK_OK(inv_store_stock_foreach(t, "SKU-1", NULL, collect, &seen));
    INV_ASSERT_EQ_INT(4, seen.n);
    INV_ASSERT_EQ_STR("*", seen.loc[0]); /* '*' sorts before letters */
    INV_ASSERT_EQ_STR("a", seen.loc[1]);
    INV_ASSERT_EQ_STR("b", seen.loc[2]);
    INV_ASSERT_EQ_INT(3, seen.partition[2]);
    INV_ASSERT_EQ_STR("c", seen.loc[3]);
    INV_ASSERT_EQ_INT(7, seen.partition[3]);
    INV_ASSERT_EQ_STR("SKU-1", seen.sku[3]);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_stock_foreach_with_location_gives_that_row(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    put_rows_for_foreach(s);
    seen_t seen = {0};
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    CHECK_OK(inv_store_stock_foreach(t, "SKU-1", "c", collect, &seen));
    INV_ASSERT_EQ_INT(1, seen.n);
    INV_ASSERT_EQ_INT(6, seen.on_hand[0]);
    seen.n = 0;
    CHECK_OK(inv_store_stock_foreach(t, "SKU-9", NULL, collect, &seen));
    INV_ASSERT_EQ_INT(0, seen.n);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_iteration_stops_with_the_callbacks_value(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    put_rows_for_foreach(s);
    seen_t seen = {.stop_after = 2};
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    INV_ASSERT_EQ_INT(42, inv_store_stock_foreach(t, "SKU-1", NULL, collect, &seen));
    INV_ASSERT_EQ_INT(2, seen.n);
    seen.n = 0;
    INV_ASSERT_EQ_INT(42, inv_store_stock_scan(t, -1, collect, &seen));
    INV_ASSERT_EQ_INT(2, seen.n);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_stock_scan_visits_every_row_in_key_order(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    put_rows_for_foreach(s);
    seen_t seen = {0};
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    CHECK_OK(inv_store_stock_scan(t, -1, collect, &seen));
    INV_ASSERT_EQ_INT(7, seen.n);
    INV_ASSERT_EQ_INT(0, seen.partition[0]);
    INV_ASSERT_EQ_STR("SKU-10", seen.sku[4]);
    INV_ASSERT_EQ_INT(7, seen.partition[6]);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

/* ---- dedup ----------------------------------------------------------------- */

static void test_dedup_reports_the_second_sighting(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    int seen = -1;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 0, "sale:T-1:0", 10, 1000, &seen));
    INV_ASSERT_EQ_INT(0, seen);
    CHECK_OK(inv_store_txn_commit(t));
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 0, "sale:T-1:0", 10, 5000, &seen));
    INV_ASSERT_EQ_INT(1, seen);
    CHECK_OK(inv_store_dedup_seen_or_add(t, 1, "sale:T-1:0", 10, 5000, &seen));
    INV_ASSERT_EQ_INT(0, seen); /* per partition */
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

/* The dedup log's id lists: '\n'-separated, empty and over-long ids passed
 * over (redo_write and the restore both read them this way). */
static void test_dedup_id_list_walk(void) {
    char list[700], id[INV_STORE_MAX_KEY + 1];
    char too_long[INV_STORE_MAX_KEY + 2];
    memset(too_long, 'x', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    int n = snprintf(list, sizeof(list), "a\n\nbb\n%s\nc", too_long);
    const char *cur = list, *end = list + n;
    INV_ASSERT_EQ_INT(1, inv_store_dedup_id_next(&cur, end, id));
    INV_ASSERT_EQ_STR("a", id);
    INV_ASSERT_EQ_INT(1, inv_store_dedup_id_next(&cur, end, id));
    INV_ASSERT_EQ_STR("bb", id);
    INV_ASSERT_EQ_INT(1, inv_store_dedup_id_next(&cur, end, id));
    INV_ASSERT_EQ_STR("c", id);
    INV_ASSERT_EQ_INT(0, inv_store_dedup_id_next(&cur, end, id));
    /* the longest id a key holds still comes through; a trailing '\n' ends nothing */
    memset(list, 'y', INV_STORE_MAX_KEY);
    list[INV_STORE_MAX_KEY] = '\n';
    cur = list;
    end = list + INV_STORE_MAX_KEY + 1;
    INV_ASSERT_EQ_INT(1, inv_store_dedup_id_next(&cur, end, id));
    INV_ASSERT_EQ_INT(INV_STORE_MAX_KEY, (long long)strlen(id));
    INV_ASSERT_EQ_INT(0, inv_store_dedup_id_next(&cur, end, id));
}

/* Any bytes round-trip through the dedup log's entries: NUL, '\n', '|',
 * 0xFF, the longest id an entry holds, and one past it is refused. */
static void test_dedup_log_entries_round_trip_any_bytes(void) {
    static unsigned char rec[4 * 70000];
    unsigned char ids[5][300];
    size_t lens[5] = {0, 1, 7, 256, 300};
    int64_t times[5] = {0, -1, INT64_MIN, INT64_MAX, 1733500000123};
    unsigned x = 12345;
    for (int i = 0; i < 5; i++)
        for (size_t k = 0; k < lens[i]; k++)
            ids[i][k] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
    memcpy(ids[2], "a\nb\0c|\xff", 7);
    size_t len = 0;
    for (int i = 0; i < 5; i++)
        len += inv_store_dedup_entry_put(rec + len, ids[i], lens[i], times[i]);
    static unsigned char longest[65536];
    memset(longest, '\n', sizeof longest);
    INV_ASSERT_EQ_INT(65535 + INV_STORE_DEDUP_ENTRY_OVERHEAD,
                      (long long)inv_store_dedup_entry_put(rec + len, longest, 65535, 7));
    len += 65535 + INV_STORE_DEDUP_ENTRY_OVERHEAD;
    INV_ASSERT_EQ_INT(0, (long long)inv_store_dedup_entry_put(rec + len, longest, 65536, 7));
    const unsigned char *cur = rec, *end = rec + len, *id;
    size_t id_len;
    int64_t at;
    for (int i = 0; i < 5; i++) {
        INV_ASSERT_EQ_INT(1, inv_store_dedup_entry_next(&cur, end, &id, &id_len, &at));
        INV_ASSERT_EQ_INT((long long)lens[i], (long long)id_len);
        INV_ASSERT(memcmp(id, ids[i], id_len) == 0, "entry %d: bytes differ", i);
        INV_ASSERT(at == times[i], "entry %d: time %lld", i, (long long)at);
    }
    INV_ASSERT_EQ_INT(1, inv_store_dedup_entry_next(&cur, end, &id, &id_len, &at));
    INV_ASSERT_EQ_INT(65535, (long long)id_len);
    INV_ASSERT_EQ_INT(0, inv_store_dedup_entry_next(&cur, end, &id, &id_len, &at));
}

/* An entry cut anywhere is reported, never read past the record. */
static void test_dedup_log_entry_cut_short_is_a_format_error(void) {
    unsigned char rec[64];
    size_t n = inv_store_dedup_entry_put(rec, "movement", 8, 42);
    for (size_t cut = 1; cut < n; cut++) {
        const unsigned char *cur = rec, *id;
        size_t id_len;
        int64_t at;
        INV_ASSERT_EQ_INT(INV_STORE_FORMAT, inv_store_dedup_entry_next(&cur, rec + cut, &id, &id_len, &at));
        INV_ASSERT(cur == rec, "cut at %zu moved the cursor", cut);
    }
}

static void test_dedup_prune_forgets_only_ids_older_than_the_cutoff(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    int seen;
    size_t pruned = 99;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 4, "m300", 4, 300, &seen));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 4, "m100", 4, 100, &seen));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 4, "m-5", 3, -5, &seen)); /* before 1970 */
    CHECK_OK(inv_store_dedup_seen_or_add(t, 4, "m200", 4, 200, &seen));
    CHECK_OK(inv_store_dedup_seen_or_add(t, 5, "other", 5, 100, &seen));
    CHECK_OK(inv_store_dedup_prune(t, 4, 250, 0, &pruned));
    INV_ASSERT_EQ_INT(3, pruned);
    CHECK_OK(inv_store_dedup_seen_or_add(t, 4, "m300", 4, 300, &seen));
    INV_ASSERT_EQ_INT(1, seen);
    CHECK_OK(inv_store_dedup_seen_or_add(t, 4, "m100", 4, 100, &seen));
    INV_ASSERT_EQ_INT(0, seen);
    CHECK_OK(inv_store_dedup_seen_or_add(t, 5, "other", 5, 100, &seen));
    INV_ASSERT_EQ_INT(1, seen);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_dedup_prune_stops_at_max_oldest_first(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    int seen;
    size_t pruned;
    char id[32];
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "sale:T-%d:0", i);
        CHECK_OK(inv_store_dedup_seen_or_add(t, 0, id, strlen(id), 1000 + i, &seen));
    }
    CHECK_OK(inv_store_dedup_prune(t, 0, INT64_MAX, 600, &pruned));
    INV_ASSERT_EQ_INT(600, pruned);
    CHECK_OK(inv_store_dedup_seen_or_add(t, 0, "sale:T-599:0", 12, 0, &seen));
    INV_ASSERT_EQ_INT(0, seen);
    CHECK_OK(inv_store_dedup_seen_or_add(t, 0, "sale:T-600:0", 12, 0, &seen));
    INV_ASSERT_EQ_INT(1, seen);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

/* ---- meta ------------------------------------------------------------------- */

static int count_meta(void *opaque, int32_t p, const inv_store_meta_t *m) {
    (void)m;
    int32_t *last = opaque;
    if (p <= last[0])
        return -1;
    last[0] = p;
    last[1]++;
    return 0;
}

static void test_meta_offsets_round_trip(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_store_meta_t m = {.input_offset = 1234, .changelog_offset = 567, .dedup_log_offset = -1}, r;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_meta_get(t, 9, &r));
    CHECK_OK(inv_store_meta_put(t, 9, &m));
    CHECK_OK(inv_store_meta_put(t, 2, &m));
    CHECK_OK(inv_store_txn_commit(t));
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    CHECK_OK(inv_store_meta_get(t, 9, &r));
    INV_ASSERT_EQ_INT(1234, r.input_offset);
    INV_ASSERT_EQ_INT(567, r.changelog_offset);
    INV_ASSERT_EQ_INT(-1, r.dedup_log_offset);
    int32_t walk[2] = {-1, 0};
    CHECK_OK(inv_store_meta_foreach(t, count_meta, walk));
    INV_ASSERT_EQ_INT(2, walk[1]);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

/* ---- policies ---------------------------------------------------------------- */

static void test_policy_put_get_and_delete(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_rules_policy_t p = {10, 24, 4}, r;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "store-12", &p));
    CHECK_OK(inv_store_policy_get(t, "SKU-1", "store-12", &r));
    INV_ASSERT_EQ_INT(10, r.reorder_point);
    INV_ASSERT_EQ_INT(24, r.reorder_quantity);
    INV_ASSERT_EQ_INT(4, r.safety_stock);
    CHECK_OK(inv_store_policy_delete(t, "SKU-1", "store-12"));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_policy_get(t, "SKU-1", "store-12", &r));
    CHECK_OK(inv_store_policy_delete(t, "SKU-1", "store-12")); /* a tombstone twice */
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_policy_lookup_falls_back_to_star_then_default(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_rules_policy_t loc = {10, 24, 4}, star = {5, 12, 2}, deflt = {0, 1, 9}, eff;
    int64_t thr;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_policy_lookup(t, "SKU-1", "store-12", &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(0, eff.reorder_point); /* nothing stored: the default */
    INV_ASSERT_EQ_INT(9, thr);
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "*", &star));
    CHECK_OK(inv_store_policy_lookup(t, "SKU-1", "store-12", &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(5, eff.reorder_point);
    INV_ASSERT_EQ_INT(2, thr);
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "store-12", &loc));
    CHECK_OK(inv_store_policy_lookup(t, "SKU-1", "store-12", &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(10, eff.reorder_point);
    INV_ASSERT_EQ_INT(4, eff.safety_stock);
    INV_ASSERT_EQ_INT(2, thr); /* the network keeps the '*' threshold */
    CHECK_OK(inv_store_policy_lookup(t, "SKU-1", "store-13", &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(5, eff.reorder_point);
    CHECK_OK(inv_store_policy_delete(t, "SKU-1", "*"));
    CHECK_OK(inv_store_policy_lookup(t, "SKU-1", "store-13", &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(0, eff.reorder_point);
    INV_ASSERT_EQ_INT(9, thr);
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static int count_policies(void *opaque, const char *sku, const char *loc, const inv_rules_policy_t *p) {
    (void)sku, (void)loc, (void)p;
    ++*(int *)opaque;
    return 0;
}

static void test_policy_foreach_and_offsets_round_trip(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_rules_policy_t p = {1, 2, 3};
    int64_t off;
    int n = 0;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "*", &p));
    CHECK_OK(inv_store_policy_put(t, "SKU-1", "a", &p));
    CHECK_OK(inv_store_policy_put(t, "SKU-2", "*", &p));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_policy_offset_get(t, 0, &off));
    CHECK_OK(inv_store_policy_offset_put(t, 0, 77));
    CHECK_OK(inv_store_policy_offset_put(t, 1, 88));
    CHECK_OK(inv_store_txn_commit(t));
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    CHECK_OK(inv_store_policy_foreach(t, count_policies, &n));
    INV_ASSERT_EQ_INT(3, n);
    CHECK_OK(inv_store_policy_offset_get(t, 1, &off));
    INV_ASSERT_EQ_INT(88, off);
    CHECK_OK(inv_store_policy_offset_get(t, 0, &off));
    INV_ASSERT_EQ_INT(77, off);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

/* ---- map growth and failures --------------------------------------------------- */

static void test_map_grows_from_64k_to_hold_100k_rows(void) {
    inv_store_t *s = open_store(64 * 1024);
    inv_store_txn_t *t;
    char sku[32];
    int retries = 0;
    for (int batch = 0; batch < 4; batch++) {
        for (;;) {
            int rc = inv_store_txn_begin(s, 0, &t);
            INV_ASSERT(rc == 0, "begin: %s", inv_store_strerror(rc));
            for (int i = batch * 25000; i < (batch + 1) * 25000 && rc == 0; i++) {
                inv_stock_row_t r = row_of(i);
                snprintf(sku, sizeof sku, "SKU-%06d", i);
                rc = inv_store_stock_put(t, i % 8, sku, "store-1", &r);
            }
            if (rc == 0)
                rc = inv_store_txn_commit(t);
            else
                inv_store_txn_abort(t);
            if (rc == 0)
                break;
            INV_ASSERT(rc == INV_STORE_MAP_FULL, "%s", inv_store_strerror(rc));
            INV_ASSERT(++retries < 40, "the map does not grow");
        }
    }
    inv_store_info_t info;
    CHECK_OK(inv_store_info(s, &info));
    INV_ASSERT(info.map_size >= 4 * 1024 * 1024, "map %llu", (unsigned long long)info.map_size);
    INV_ASSERT(info.growths > 0);
    INV_ASSERT(info.used_bytes <= info.map_size);

    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    int n = 0;
    CHECK_OK(inv_store_stock_scan(t, -1, count_rows, &n));
    INV_ASSERT_EQ_INT(100000, n);
    for (int i = 0; i < 100000; i += 997) {
        inv_stock_row_t r;
        snprintf(sku, sizeof sku, "SKU-%06d", i);
        CHECK_OK(inv_store_stock_get(t, i % 8, sku, "store-1", &r));
        INV_ASSERT_EQ_INT(i, r.on_hand);
    }
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_map_full_fails_the_txn_and_next_begin_grows(void) {
    inv_store_t *s = open_store(64 * 1024);
    inv_store_txn_t *t;
    inv_store_info_t before, after;
    char sku[32];
    int rc = 0, i;
    CHECK_OK(inv_store_info(s, &before));
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    for (i = 0; i < 100000 && rc == 0; i++) {
        inv_stock_row_t r = row_of(i);
        snprintf(sku, sizeof sku, "SKU-%06d", i);
        rc = inv_store_stock_put(t, 0, sku, "a", &r);
    }
    INV_ASSERT_EQ_INT(INV_STORE_MAP_FULL, rc);
    inv_stock_row_t r = row_of(1);
    INV_ASSERT_EQ_INT(INV_STORE_TXN_FAILED, inv_store_stock_put(t, 0, "x", "y", &r));
    INV_ASSERT_EQ_INT(INV_STORE_MAP_FULL, inv_store_txn_commit(t)); /* frees t */
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_info(s, &after));
    INV_ASSERT_EQ_INT(before.map_size * 2, after.map_size);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

static void test_too_long_key_is_refused_without_failing_the_txn(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    inv_stock_row_t r = row_of(1);
    int seen;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    INV_ASSERT_EQ_INT(INV_STORE_KEY_TOO_LONG, inv_store_stock_put(t, 0, big, "a", &r));
    INV_ASSERT_EQ_INT(INV_STORE_KEY_TOO_LONG, inv_store_dedup_seen_or_add(t, 0, big, strlen(big), 0, &seen));
    big[499] = '\0'; /* the longest movement id */
    CHECK_OK(inv_store_dedup_seen_or_add(t, 0, big, strlen(big), 0, &seen));
    CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "a", &r));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void long_string(char *buf, size_t len, char fill, char last) {
    memset(buf, fill, len);
    buf[len - 1] = last;
    buf[len] = '\0';
}

typedef struct {
    int n;
    char loc[2][300];
} long_seen_t;

static int collect_long(void *opaque, int32_t p, const char *sku, const char *loc, const inv_stock_row_t *row) {
    (void)p, (void)sku, (void)row;
    long_seen_t *ls = opaque;
    if (ls->n < 2)
        snprintf(ls->loc[ls->n], sizeof ls->loc[0], "%s", loc);
    ls->n++;
    return 0;
}

static void test_codec_sized_sku_and_location_fit_beyond_the_key_size(void) {
    /* 256 + 256 bytes (the codec's bounds): longer than an LMDB key. */
    char sku[257], loc_a[257], loc_b[257], loc_c[257];
    long_string(sku, 256, 's', 's');
    long_string(loc_a, 256, 'l', 'a');
    long_string(loc_b, 256, 'l', 'b'); /* differs from loc_a only at the end */
    long_string(loc_c, 256, 'l', 'c');
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t a = row_of(1), b = row_of(2), r;
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 0, sku, loc_a, &a));
    CHECK_OK(inv_store_stock_put(t, 0, sku, loc_b, &b));
    CHECK_OK(inv_store_stock_get(t, 0, sku, loc_a, &r));
    INV_ASSERT_EQ_INT(1, r.on_hand);
    CHECK_OK(inv_store_stock_get(t, 0, sku, loc_b, &r));
    INV_ASSERT_EQ_INT(2, r.on_hand);
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 0, sku, loc_c, &r));

    long_seen_t seen = {0};
    CHECK_OK(inv_store_stock_foreach(t, sku, NULL, collect_long, &seen));
    INV_ASSERT_EQ_INT(2, seen.n);
    INV_ASSERT(strcmp(seen.loc[0], loc_a) == 0 || strcmp(seen.loc[1], loc_a) == 0);
    INV_ASSERT(strcmp(seen.loc[0], loc_b) == 0 || strcmp(seen.loc[1], loc_b) == 0);
    seen.n = 0;
    CHECK_OK(inv_store_stock_foreach(t, sku, loc_b, collect_long, &seen));
    INV_ASSERT_EQ_INT(1, seen.n);
    INV_ASSERT_EQ_STR(loc_b, seen.loc[0]);
    seen.n = 0;
    CHECK_OK(inv_store_stock_foreach(t, sku, loc_c, collect_long, &seen));
    INV_ASSERT_EQ_INT(0, seen.n);

    CHECK_OK(inv_store_stock_delete(t, 0, sku, loc_c)); /* absent: no-op */
    CHECK_OK(inv_store_stock_delete(t, 0, sku, loc_a));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 0, sku, loc_a, &r));
    CHECK_OK(inv_store_stock_get(t, 0, sku, loc_b, &r));

    inv_rules_policy_t pol = {1, 2, 3}, star = {4, 5, 6}, eff;
    int64_t thr;
    CHECK_OK(inv_store_policy_put(t, sku, loc_a, &pol));
    CHECK_OK(inv_store_policy_put(t, sku, "*", &star));
    CHECK_OK(inv_store_policy_lookup(t, sku, loc_a, &star, &eff, &thr));
    INV_ASSERT_EQ_INT(1, eff.reorder_point);
    CHECK_OK(inv_store_policy_lookup(t, sku, loc_b, &pol, &eff, &thr));
    INV_ASSERT_EQ_INT(4, eff.reorder_point);
    CHECK_OK(inv_store_policy_delete(t, sku, loc_a));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_policy_get(t, sku, loc_a, &pol));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void test_writes_on_a_read_txn_are_refused(void) {
    inv_store_t *s = open_store(0);
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(1);
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    INV_ASSERT_EQ_INT(INV_STORE_READONLY, inv_store_stock_put(t, 0, "SKU-1", "a", &r));
    INV_ASSERT_EQ_INT(INV_STORE_READONLY, inv_store_partition_drop(t, 0));
    inv_store_txn_abort(t);
    inv_store_close(s);

    /* A read-only store: no write txn at all. */
    CHECK_OK(inv_store_open_readonly(dir, &s));
    INV_ASSERT_EQ_INT(INV_STORE_READONLY, inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    INV_ASSERT_EQ_INT(INV_STORE_NOTFOUND, inv_store_stock_get(t, 0, "SKU-1", "a", &r));
    inv_store_txn_abort(t);
    inv_store_close(s);
}

/* ---- environment -------------------------------------------------------------- */

static void test_instance_id_is_stable_across_reopen(void) {
    inv_store_t *s = open_store(0);
    char id[64];
    snprintf(id, sizeof id, "%s", inv_store_instance_id(s));
    INV_ASSERT_EQ_INT(32, strlen(id));
    INV_ASSERT(strspn(id, "0123456789abcdef") == 32);
    inv_store_close(s);
    CHECK_OK(inv_store_open(dir, NULL, &s));
    INV_ASSERT_EQ_STR(id, inv_store_instance_id(s));
    inv_store_close(s);
    CHECK_OK(inv_store_open_readonly(dir, &s));
    INV_ASSERT_EQ_STR(id, inv_store_instance_id(s));
    inv_store_close(s);

    inv_store_t *other = open_store(0); /* a new environment: a new id */
    INV_ASSERT(strcmp(id, inv_store_instance_id(other)) != 0);
    inv_store_close(other);
}

static void test_second_writer_process_is_refused(void) {
    inv_store_t *s = open_store(0), *s2 = NULL;
    pid_t pid = fork();
    INV_ASSERT(pid >= 0);
    if (pid == 0) {
        int rc = inv_store_open(dir, NULL, &s2);
        _exit(rc == INV_STORE_LOCKED ? 0 : 1);
    }
    int status;
    INV_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    INV_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the second writer was not refused");
    inv_store_close(s);
    CHECK_OK(inv_store_open(dir, NULL, &s2)); /* free again once closed */
    inv_store_close(s2);
}

static void test_state_dir_and_files_are_private(void) {
    char nested[128];
    struct stat st;
    fresh_dir();
    snprintf(nested, sizeof nested, "%s/a/state", dir);
    inv_store_t *s;
    mode_t old = umask(0);
    int rc = inv_store_open(nested, NULL, &s);
    umask(old);
    CHECK_OK(rc);
    CHECK_OK(stat(nested, &st));
    INV_ASSERT_EQ_INT(0700, st.st_mode & 0777);
    const char *files[] = {"data.mdb", "lock.mdb", "inv_store.lock"};
    for (int i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", nested, files[i]);
        INV_ASSERT(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
        INV_ASSERT((st.st_mode & 0777) == 0600, "%s: mode %o", files[i], st.st_mode & 0777);
    }
    inv_store_close(s);
}

static void test_second_open_in_the_same_process_is_refused(void) {
    inv_store_t *s = open_store(0), *r = NULL;
    INV_ASSERT_EQ_INT(EBUSY, inv_store_open_readonly(dir, &r));
    INV_ASSERT(r == NULL);
    inv_store_close(s);
    CHECK_OK(inv_store_open_readonly(dir, &r));
    INV_ASSERT_EQ_INT(EBUSY, inv_store_open(dir, NULL, &s));
    inv_store_close(r);
}

static void test_sync_modes_all_commit(void) {
    const inv_store_sync_t modes[] = {INV_STORE_SYNC_LAZY_META, INV_STORE_SYNC_FULL, INV_STORE_SYNC_NONE};
    for (int i = 0; i < 3; i++) {
        inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
        o.sync = modes[i];
        inv_store_t *s;
        inv_store_txn_t *t;
        inv_stock_row_t r = row_of(i);
        CHECK_OK(inv_store_open(fresh_dir(), &o, &s));
        CHECK_OK(inv_store_txn_begin(s, 0, &t));
        CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "a", &r));
        CHECK_OK(inv_store_txn_commit(t));
        CHECK_OK(inv_store_sync(s));
        inv_store_close(s);
        CHECK_OK(inv_store_open_readonly(dir, &s));
        CHECK_OK(inv_store_txn_begin(s, 1, &t));
        CHECK_OK(inv_store_stock_get(t, 0, "SKU-1", "a", &r));
        INV_ASSERT_EQ_INT(i, r.on_hand);
        inv_store_txn_abort(t);
        inv_store_close(s);
    }
}

/* Writes SKU-1|a = on_hand into a store opened with `sync`, then closes it. */
static void write_one(const char *d, inv_store_sync_t sync, int64_t on_hand) {
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.sync = sync;
    inv_store_t *s;
    inv_store_txn_t *t;
    inv_stock_row_t r = row_of(on_hand);
    CHECK_OK(inv_store_open(d, &o, &s));
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    CHECK_OK(inv_store_stock_put(t, 0, "SKU-1", "a", &r));
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_close(s);
}

static void put_file(const char *d, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", d, name);
    FILE *f = fopen(path, "w");
    INV_ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int file_exists(const char *d, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", d, name);
    return access(path, F_OK) == 0;
}

/* Reopens d (sync data): *on_hand = SKU-1|a's on_hand, -1 when absent;
 * *reset = inv_store_was_reset(). */
static void reopen(const char *d, int64_t *on_hand, int *reset) {
    inv_store_t *s;
    inv_store_txn_t *t;
    inv_stock_row_t r;
    CHECK_OK(inv_store_open(d, NULL, &s));
    *reset = inv_store_was_reset(s);
    CHECK_OK(inv_store_txn_begin(s, 1, &t));
    int rc = inv_store_stock_get(t, 0, "SKU-1", "a", &r);
    inv_store_txn_abort(t);
    inv_store_close(s);
    INV_ASSERT(rc == 0 || rc == INV_STORE_NOTFOUND);
    *on_hand = rc == 0 ? r.on_hand : -1;
}

static void test_unsynced_writer_records_its_boot_until_a_clean_close(void) {
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    INV_ASSERT(f && fgets(boot, sizeof boot, f));
    fclose(f);
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.sync = INV_STORE_SYNC_NONE;
    inv_store_t *s;
    CHECK_OK(inv_store_open(fresh_dir(), &o, &s));
    char path[256], got[64] = "";
    snprintf(path, sizeof path, "%s/unsynced-boot-id", dir);
    f = fopen(path, "r");
    INV_ASSERT(f && fgets(got, sizeof got, f));
    fclose(f);
    INV_ASSERT_EQ_STR(boot, got);
    inv_store_close(s);
    INV_ASSERT(!file_exists(dir, "unsynced-boot-id"));
    /* a syncing writer records nothing */
    write_one(dir, INV_STORE_SYNC_LAZY_META, 1);
    INV_ASSERT(!file_exists(dir, "unsynced-boot-id"));
}

static void test_state_of_an_unsynced_writer_in_an_earlier_boot_is_dropped(void) {
    int reset;
    int64_t on_hand;
    /* OS crash under unsynced commits: the boot record names another boot */
    write_one(fresh_dir(), INV_STORE_SYNC_NONE, 7);
    put_file(dir, "unsynced-boot-id", "00000000-0000-4000-8000-000000000000\n");
    reopen(dir, &on_hand, &reset);
    INV_ASSERT_EQ_INT(-1, on_hand);
    INV_ASSERT_EQ_INT(1, reset);
    INV_ASSERT(!file_exists(dir, "unsynced-boot-id"));
    /* process crash (kill -9) in this boot: the page cache kept every commit */
    write_one(dir, INV_STORE_SYNC_NONE, 8);
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    INV_ASSERT(f && fgets(boot, sizeof boot, f));
    fclose(f);
    put_file(dir, "unsynced-boot-id", boot);
    reopen(dir, &on_hand, &reset);
    INV_ASSERT_EQ_INT(8, on_hand);
    INV_ASSERT_EQ_INT(0, reset);
    /* a clean close after unsynced commits: kept across a reboot */
    write_one(dir, INV_STORE_SYNC_NONE, 9);
    reopen(dir, &on_hand, &reset);
    INV_ASSERT_EQ_INT(9, on_hand);
    INV_ASSERT_EQ_INT(0, reset);
}

static void test_open_readonly_of_missing_dir_fails(void) {
    inv_store_t *s = NULL;
    int rc = inv_store_open_readonly("/tmp/inv_store_test.does-not-exist", &s);
    INV_ASSERT_EQ_INT(ENOENT, rc);
    INV_ASSERT(s == NULL);
}

/* ---- other processes ------------------------------------------------------------- */

#define SNAP_ROWS 200
#define SNAP_TXNS 150

static int check_same(void *opaque, int32_t p, const char *sku, const char *loc, const inv_stock_row_t *row) {
    (void)p, (void)sku, (void)loc;
    int64_t *st = opaque; /* [0] value of the first row, [1] rows, [2] mixed */
    if (st[1]++ == 0)
        st[0] = row->on_hand;
    else if (row->on_hand != st[0])
        st[2] = 1;
    return 0;
}

/* The child: reads snapshots until it has seen the last txn. Exit codes:
 * 0 ok, 2 open failed, 3 a torn snapshot, 4 wrong row count, 5 timeout. */
static int snapshot_reader(const char *d, int ready_fd) {
    inv_store_t *s;
    if (inv_store_open_readonly(d, &s))
        return 2;
    if (write(ready_fd, "r", 1) != 1)
        return 2;
    time_t deadline = time(NULL) + 60;
    int code = 5;
    while (time(NULL) < deadline) {
        inv_store_txn_t *t;
        int64_t st[3] = {0, 0, 0};
        if (inv_store_txn_begin(s, 1, &t) != 0) {
            code = 2;
            break;
        }
        int rc = inv_store_stock_scan(t, 0, check_same, st);
        inv_store_txn_abort(t);
        if (rc != 0 || st[2]) {
            code = 3;
            break;
        }
        if (st[1] != SNAP_ROWS) {
            code = 4;
            break;
        }
        if (st[0] == SNAP_TXNS) {
            code = 0;
            break;
        }
    }
    inv_store_close(s);
    return code;
}

static void test_readonly_process_sees_whole_txns_while_the_writer_grows_the_map(void) {
    inv_store_t *s = open_store(128 * 1024);
    inv_store_txn_t *t;
    char sku[32];
    CHECK_OK(inv_store_txn_begin(s, 0, &t));
    for (int i = 0; i < SNAP_ROWS; i++) {
        inv_stock_row_t r = row_of(0);
        snprintf(sku, sizeof sku, "SKU-%d", i);
        CHECK_OK(inv_store_stock_put(t, 0, sku, "a", &r));
    }
    CHECK_OK(inv_store_txn_commit(t));
    inv_store_info_t before;
    CHECK_OK(inv_store_info(s, &before));

    int pipefd[2];
    CHECK_OK(pipe(pipefd));
    pid_t pid = fork();
    INV_ASSERT(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        _exit(snapshot_reader(dir, pipefd[1]));
    }
    close(pipefd[1]);
    char c;
    INV_ASSERT(read(pipefd[0], &c, 1) == 1, "the reader did not start");
    close(pipefd[0]);

    /* Every txn sets all rows to k and adds bulk (dedup ids in another
     * partition) so the map keeps growing under the reader. */
    int retries = 0;
    for (int k = 1; k <= SNAP_TXNS;) {
        int rc = inv_store_txn_begin(s, 0, &t);
        INV_ASSERT(rc == 0, "begin: %s", inv_store_strerror(rc));
        for (int i = 0; i < SNAP_ROWS && rc == 0; i++) {
            inv_stock_row_t r = row_of(k);
            int seen;
            snprintf(sku, sizeof sku, "SKU-%d", i);
            rc = inv_store_stock_put(t, 0, sku, "a", &r);
            if (rc == 0) {
                char id[64];
                snprintf(id, sizeof id, "sale:bulk-%d-%d:0", k, i);
                rc = inv_store_dedup_seen_or_add(t, 1, id, strlen(id), k, &seen);
            }
        }
        if (rc == 0)
            rc = inv_store_txn_commit(t);
        else
            inv_store_txn_abort(t);
        if (rc == INV_STORE_MAP_FULL) {
            INV_ASSERT(++retries < 100, "the map does not grow");
            continue;
        }
        INV_ASSERT(rc == 0, "commit: %s", inv_store_strerror(rc));
        k++;
    }
    int status;
    INV_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    INV_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader status %d", status);
    inv_store_info_t after;
    CHECK_OK(inv_store_info(s, &after));
    INV_ASSERT(after.map_size > before.map_size, "the map never grew under the reader");
    inv_store_close(s);
}

typedef struct {
    inv_store_t *store;
    atomic_int stop;
    atomic_int torn, errors, reads;
} threads_t;

static void *reader_thread(void *arg) {
    threads_t *th = arg;
    while (!atomic_load(&th->stop)) {
        inv_store_txn_t *t;
        int64_t st[3] = {0, 0, 0};
        if (inv_store_txn_begin(th->store, 1, &t) != 0) {
            atomic_fetch_add(&th->errors, 1);
            break;
        }
        int rc = inv_store_stock_scan(t, 0, check_same, st);
        inv_store_txn_abort(t);
        if (rc)
            atomic_fetch_add(&th->errors, 1);
        if (st[2] || st[1] != SNAP_ROWS)
            atomic_fetch_add(&th->torn, 1);
        atomic_fetch_add(&th->reads, 1);
    }
    return NULL;
}

static void test_reader_threads_share_the_store_while_the_writer_grows_the_map(void) {
    threads_t th = {.store = open_store(64 * 1024)};
    inv_store_txn_t *t;
    char sku[32];
    int rc0 = INV_STORE_MAP_FULL;
    for (int tries = 0; rc0 == INV_STORE_MAP_FULL && tries < 10; tries++) { /* the first begin may grow the map */
        CHECK_OK(inv_store_txn_begin(th.store, 0, &t));
        rc0 = 0;
        for (int i = 0; i < SNAP_ROWS && rc0 == 0; i++) {
            inv_stock_row_t r = row_of(0);
            snprintf(sku, sizeof sku, "SKU-%d", i);
            rc0 = inv_store_stock_put(t, 0, sku, "a", &r);
        }
        if (rc0 == 0)
            rc0 = inv_store_txn_commit(t);
        else
            inv_store_txn_abort(t);
    }
    CHECK_OK(rc0);
    pthread_t readers[3];
    for (int i = 0; i < 3; i++)
        CHECK_OK(pthread_create(&readers[i], NULL, reader_thread, &th));
    int retries = 0, failed = 0;
    for (int k = 1; k <= SNAP_TXNS && !failed;) {
        int rc = inv_store_txn_begin(th.store, 0, &t);
        for (int i = 0; i < SNAP_ROWS && rc == 0; i++) {
            inv_stock_row_t r = row_of(k);
            int seen;
            char id[64];
            snprintf(sku, sizeof sku, "SKU-%d", i);
            snprintf(id, sizeof id, "sale:bulk-%d-%d:0", k, i);
            rc = inv_store_stock_put(t, 0, sku, "a", &r);
            if (rc == 0)
                rc = inv_store_dedup_seen_or_add(t, 1, id, strlen(id), k, &seen);
        }
        if (rc == 0)
            rc = inv_store_txn_commit(t);
        else if (t)
            inv_store_txn_abort(t);
        if (rc == INV_STORE_MAP_FULL && ++retries < 100)
            continue;
        failed = rc;
        k++;
    }
    atomic_store(&th.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(readers[i], NULL);
    INV_ASSERT(failed == 0, "writer: %s", inv_store_strerror(failed));
    INV_ASSERT_EQ_INT(0, atomic_load(&th.torn));
    INV_ASSERT_EQ_INT(0, atomic_load(&th.errors));
    INV_ASSERT(atomic_load(&th.reads) > 0);
    inv_store_info_t info;
    CHECK_OK(inv_store_info(th.store, &info));
    INV_ASSERT(info.growths > 0);
    inv_store_close(th.store);
}

static void test_stale_reader_of_a_dead_process_is_cleared(void) {
    inv_store_t *s = open_store(0);
    pid_t pid = fork();
    INV_ASSERT(pid >= 0);
    if (pid == 0) { /* dies holding a read txn */
        inv_store_t *r;
        inv_store_txn_t *t;
        if (inv_store_open_readonly(dir, &r) || inv_store_txn_begin(r, 1, &t))
            _exit(2);
        _exit(0);
    }
    int status, dead = -1;
    INV_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    INV_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK_OK(inv_store_reader_check(s, &dead));
    INV_ASSERT_EQ_INT(1, dead);
    CHECK_OK(inv_store_reader_check(s, &dead));
    INV_ASSERT_EQ_INT(0, dead);
    inv_store_close(s);
}

/* ---- a full disk ------------------------------------------------------------------ */

/* The state dir of the full-disk tests: a tmpfs of a few MiB, mounted in a
 * private mount namespace of a child process (so it vanishes with the child
 * whatever happens). As root that needs CLONE_NEWNS; otherwise an
 * unprivileged user namespace maps us to root in it. */
static char tmpfs_dir[64];

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int private_mount_ns(char *why, size_t why_size) {
    if (unshare(CLONE_NEWNS) != 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64];
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
            snprintf(why, why_size, "unshare(CLONE_NEWNS): %s, and no user namespace either: %s", strerror(EPERM),
                     strerror(errno));
            return -1;
        }
        snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
        if (write_text("/proc/self/setgroups", "deny") != 0 || write_text("/proc/self/uid_map", map) != 0) {
            snprintf(why, why_size, "user namespace uid map: %s", strerror(errno));
            return -1;
        }
        snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
        if (write_text("/proc/self/gid_map", map) != 0) {
            snprintf(why, why_size, "user namespace gid map: %s", strerror(errno));
            return -1;
        }
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, why_size, "making / private: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int tmpfs_mount(size_t size, int remount) {
    char opts[64];
    snprintf(opts, sizeof opts, "size=%zu,mode=0700", size);
    return mount("tmpfs", tmpfs_dir, "tmpfs", remount ? MS_REMOUNT : 0, opts);
}

/* Frees space the way an operator does: a larger file system. */
#define GROW_TMPFS(size) INV_ASSERT(tmpfs_mount((size), 1) == 0, "remount: %s", strerror(errno))

/* Runs fn in a child with a fresh tmpfs of `size` bytes at tmpfs_dir. A
 * child killed by a signal (SIGBUS: a store of a page the disk had no room
 * for) or that cannot mount fails the test: it is never skipped. */
#define RUN_ON_TMPFS(fn, size)                                                                                       \
    do {                                                                                                             \
        strcpy(tmpfs_dir, "/tmp/inv_store_tmpfs.XXXXXX");                                                            \
        INV_ASSERT(mkdtemp(tmpfs_dir) != NULL, "mkdtemp: %s", strerror(errno));                                      \
        fflush(stderr);                                                                                              \
        pid_t pid_ = fork();                                                                                         \
        INV_ASSERT(pid_ >= 0, "fork: %s", strerror(errno));                                                          \
        if (pid_ == 0) {                                                                                             \
            char why_[256] = "";                                                                                     \
            if (private_mount_ns(why_, sizeof why_) != 0 || tmpfs_mount((size), 0) != 0) {                           \
                fprintf(stderr,                                                                                      \
                        "FAIL %s: cannot mount a tmpfs for this test (%s%s); run as root "                           \
                        "or allow unprivileged user namespaces\n",                                                   \
                        #fn, why_, why_[0] ? "" : strerror(errno));                                                  \
                _exit(2);                                                                                            \
            }                                                                                                        \
            fn();                                                                                                    \
            _exit(inv_test_cur_failed ? 1 : 0);                                                                      \
        }                                                                                                            \
        int st_;                                                                                                     \
        pid_t w_ = waitpid(pid_, &st_, 0);                                                                           \
        rmdir(tmpfs_dir);                                                                                            \
        INV_ASSERT(w_ == pid_, "waitpid: %s", strerror(errno));                                                      \
        INV_ASSERT(!WIFSIGNALED(st_), "%s: killed by signal %d (%s)", #fn, WTERMSIG(st_), strsignal(WTERMSIG(st_))); \
        INV_ASSERT(WIFEXITED(st_) && WEXITSTATUS(st_) == 0, "%s failed (exit %d)", #fn,                              \
                   WIFEXITED(st_) ? WEXITSTATUS(st_) : -1);                                                          \
    } while (0)

/* One write txn of `n` new rows SKU-<first..first+n-1>|a, redone after
 * INV_STORE_MAP_FULL (the next begin grows the map). 0 or the error. */
static int put_rows(inv_store_t *s, int first, int n) {
    for (int attempt = 0; attempt < 40; attempt++) {
        inv_store_txn_t *t;
        int rc = inv_store_txn_begin(s, 0, &t);
        if (rc)
            return rc;
        for (int i = first; i < first + n && rc == 0; i++) {
            char sku[32];
            inv_stock_row_t r = row_of(i);
            snprintf(sku, sizeof sku, "SKU-%08d", i);
            rc = inv_store_stock_put(t, 0, sku, "a", &r);
        }
        rc = rc ? (inv_store_txn_abort(t), rc) : inv_store_txn_commit(t);
        if (rc != INV_STORE_MAP_FULL)
            return rc;
    }
    return INV_STORE_MAP_FULL;
}

/* Rows SKU-<0..n-1>|a are all there with their values. */
static int rows_intact(inv_store_t *s, int n) {
    inv_store_txn_t *t;
    int count = 0, bad = 0;
    if (inv_store_txn_begin(s, 1, &t) != 0)
        return 0;
    inv_store_stock_scan(t, -1, count_rows, &count);
    for (int i = 0; i < n; i += 97) {
        char sku[32];
        inv_stock_row_t r;
        snprintf(sku, sizeof sku, "SKU-%08d", i);
        bad += inv_store_stock_get(t, 0, sku, "a", &r) != 0 || r.on_hand != i;
    }
    inv_store_txn_abort(t);
    return count == n && !bad;
}

#define FILL_BATCH 2000

/* Writes batches until one fails: *rows = rows committed, returns the error
 * (0 if the disk never filled up to max_rows). */
static int fill(inv_store_t *s, int *rows, int max_rows) {
    int rc = 0;
    for (*rows = 0; *rows < max_rows; *rows += FILL_BATCH)
        if ((rc = put_rows(s, *rows, FILL_BATCH)) != 0)
            break;
    return rc;
}

static void growth_on_a_full_disk(void) {
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.sync = INV_STORE_SYNC_NONE;
    o.map_size = 1 << 20;
    inv_store_t *s;
    inv_store_info_t before, after;
    CHECK_OK(inv_store_open(tmpfs_dir, &o, &s));
    CHECK_OK(inv_store_info(s, &before));
    INV_ASSERT(before.writemap == 1);
    int rows, rc = fill(s, &rows, 200000);
    INV_ASSERT_EQ_INT(ENOSPC, rc);
    INV_ASSERT_EQ_STR("No space left on device", inv_store_strerror(rc));
    CHECK_OK(inv_store_info(s, &after));
    /* the growth that found no room left the map as it was */
    INV_ASSERT(after.map_size < 4u << 20, "map %llu", (unsigned long long)after.map_size);
    INV_ASSERT(after.write_errors > 0 && after.last_write_error == ENOSPC, "errors %llu, last %d",
               (unsigned long long)after.write_errors, after.last_write_error);
    INV_ASSERT_EQ_INT(ENOSPC, put_rows(s, rows, FILL_BATCH)); /* still full: still an error */
    INV_ASSERT(rows_intact(s, rows), "the rows committed before the disk filled up: %d", rows);
    GROW_TMPFS(64 << 20);
    CHECK_OK(put_rows(s, rows, FILL_BATCH));
    INV_ASSERT(rows_intact(s, rows + FILL_BATCH), "after the growth: %d rows", rows + FILL_BATCH);
    CHECK_OK(inv_store_info(s, &after));
    INV_ASSERT_EQ_INT(0, after.last_write_error);
    inv_store_close(s);
}

/* inv-stock's default (MDB_WRITEMAP) on a disk that fills up: the map
 * cannot grow (ENOSPC from the next begin), instead of a SIGBUS when a
 * page of the sparse file is first written. */
static void test_full_disk_fails_the_map_growth_with_enospc(void) { RUN_ON_TMPFS(growth_on_a_full_disk, 4 << 20); }

static void map_larger_than_the_disk(void) {
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.sync = INV_STORE_SYNC_NONE;
    o.map_size = 64 << 20;
    inv_store_t *s;
    inv_store_info_t info;
    CHECK_OK(inv_store_open(tmpfs_dir, &o, &s));
    CHECK_OK(inv_store_info(s, &info));
    INV_ASSERT_EQ_INT(0, info.writemap); /* no room to reserve 64 MiB: pages go through write() */
    int rows, rc = fill(s, &rows, 200000);
    INV_ASSERT_EQ_INT(ENOSPC, rc); /* from the commit */
    INV_ASSERT(rows > 0 && rows_intact(s, rows), "rows committed before the disk filled up: %d", rows);
    GROW_TMPFS(96 << 20); /* room for the whole map next to the rest */
    CHECK_OK(put_rows(s, rows, FILL_BATCH));
    INV_ASSERT(rows_intact(s, rows + FILL_BATCH), "after the growth: %d rows", rows + FILL_BATCH);
    inv_store_close(s);
    /* the next open has room for the map again: pages in place */
    CHECK_OK(inv_store_open(tmpfs_dir, &o, &s));
    CHECK_OK(inv_store_info(s, &info));
    INV_ASSERT_EQ_INT(1, info.writemap);
    INV_ASSERT(rows_intact(s, rows + FILL_BATCH), "reopened: %d rows", rows + FILL_BATCH);
    inv_store_close(s);
}

/* A map larger than the free space: the open falls back to writing pages
 * with write(), so a full disk is ENOSPC from the commit. */
static void test_map_larger_than_the_disk_is_written_without_writemap(void) {
    RUN_ON_TMPFS(map_larger_than_the_disk, 2 << 20);
}

/* Fills the tmpfs to the last byte with a file named `name`. */
static void fill_with_file(const char *name) {
    char path[128], buf[4096] = {0};
    snprintf(path, sizeof path, "%s/%s", tmpfs_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    INV_ASSERT(fd >= 0);
    while (write(fd, buf, sizeof buf) > 0)
        ;
    while (write(fd, buf, 1) > 0)
        ;
    close(fd);
}

static void new_state_dir_on_a_full_disk(void) {
    char d[128], path[160];
    snprintf(d, sizeof d, "%s/state", tmpfs_dir);
    INV_ASSERT(mkdir(d, 0700) == 0);
    fill_with_file("filler");
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.sync = INV_STORE_SYNC_NONE;
    inv_store_t *s = NULL;
    INV_ASSERT_EQ_INT(ENOSPC, inv_store_open(d, &o, &s));
    INV_ASSERT(s == NULL);
    snprintf(path, sizeof path, "%s/filler", tmpfs_dir);
    INV_ASSERT(unlink(path) == 0);
    CHECK_OK(inv_store_open(d, &o, &s));
    CHECK_OK(put_rows(s, 0, 10));
    inv_store_close(s);
}

/* No room even for LMDB's lock file: ENOSPC from the open. */
static void test_open_of_a_new_state_dir_on_a_full_disk_is_enospc(void) {
    RUN_ON_TMPFS(new_state_dir_on_a_full_disk, 1 << 20);
}

static void reopen_on_a_full_disk(void) {
    char d[128], path[160];
    int64_t on_hand;
    int reset;
    snprintf(d, sizeof d, "%s/state", tmpfs_dir);
    write_one(d, INV_STORE_SYNC_NONE, 5);
    /* the lock file as LMDB alone leaves it: reader slots past the first
     * page never written */
    snprintf(path, sizeof path, "%s/lock.mdb", d);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    INV_ASSERT(fd >= 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 1 << 20) == 0);
    close(fd);
    fill_with_file("filler");
    /* the boot record cannot be written: the writer syncs instead */
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    o.sync = INV_STORE_SYNC_NONE;
    inv_store_t *s;
    CHECK_OK(inv_store_open(d, &o, &s));
    inv_store_close(s);
    snprintf(path, sizeof path, "%s/filler", tmpfs_dir);
    INV_ASSERT(unlink(path) == 0);
    reopen(d, &on_hand, &reset);
    INV_ASSERT_EQ_INT(0, reset);
    INV_ASSERT_EQ_INT(5, on_hand);
}

/* A reopen on a full disk keeps the state: no half-written boot record
 * that would make the next open drop the environment, and no refusal for
 * the unwritten tail of an existing lock file. */
static void test_reopen_on_a_full_disk_keeps_the_state(void) { RUN_ON_TMPFS(reopen_on_a_full_disk, 1 << 20); }

static void test_strerror_covers_own_lmdb_and_errno_codes(void) {
    const int own[] = {INV_STORE_MAP_FULL, INV_STORE_LOCKED,     INV_STORE_FORMAT,       INV_STORE_KEY_TOO_LONG,
                       INV_STORE_READONLY, INV_STORE_TXN_FAILED, INV_STORE_KEY_COLLISION};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        INV_ASSERT(own[i] >= INV_STORE_ERR_FIRST && own[i] <= INV_STORE_ERR_LAST);
        for (size_t j = 0; j < i; j++)
            INV_ASSERT(strcmp(inv_store_strerror(own[i]), inv_store_strerror(own[j])) != 0);
    }
    INV_ASSERT(strstr(inv_store_strerror(INV_STORE_NOTFOUND), "NOTFOUND") != NULL, "%s",
               inv_store_strerror(INV_STORE_NOTFOUND));
    INV_ASSERT_EQ_STR(strerror(ENOENT), inv_store_strerror(ENOENT));
}

static void test_errname_gives_constant_names_for_labels(void) {
    INV_ASSERT_EQ_STR("ENOSPC", inv_store_errname(ENOSPC));
    INV_ASSERT_EQ_STR("EDQUOT", inv_store_errname(EDQUOT));
    INV_ASSERT_EQ_STR("MDB_MAP_FULL", inv_store_errname(-30792));
    INV_ASSERT_EQ_STR("INV_STORE_MAP_FULL", inv_store_errname(INV_STORE_MAP_FULL));
    INV_ASSERT_EQ_STR("OK", inv_store_errname(0));
    INV_ASSERT_EQ_STR("unknown", inv_store_errname(-1));
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    INV_RUN(test_stock_row_round_trips);
    INV_RUN(test_dedup_id_list_walk);
    INV_RUN(test_dedup_log_entries_round_trip_any_bytes);
    INV_RUN(test_dedup_log_entry_cut_short_is_a_format_error);
    INV_RUN(test_stock_delete_is_idempotent);
    INV_RUN(test_aborted_txn_leaves_no_trace);
    INV_RUN(test_partitions_are_isolated);
    INV_RUN(test_partition_drop_removes_only_that_partition);
    INV_RUN(test_state_records_are_kept_by_partition_and_kind_and_dropped_with_it);
    INV_RUN(test_rows_keep_committed_incoming_and_in_transit);
    INV_RUN(test_an_environment_of_the_previous_format_keeps_only_its_global_tables);
    INV_RUN(test_stock_foreach_finds_a_skus_rows_across_partitions);
    INV_RUN(test_stock_foreach_with_location_gives_that_row);
    INV_RUN(test_iteration_stops_with_the_callbacks_value);
    INV_RUN(test_stock_scan_visits_every_row_in_key_order);
    INV_RUN(test_dedup_reports_the_second_sighting);
    INV_RUN(test_dedup_prune_forgets_only_ids_older_than_the_cutoff);
    INV_RUN(test_dedup_prune_stops_at_max_oldest_first);
    INV_RUN(test_meta_offsets_round_trip);
    INV_RUN(test_policy_put_get_and_delete);
    INV_RUN(test_policy_lookup_falls_back_to_star_then_default);
    INV_RUN(test_policy_foreach_and_offsets_round_trip);
    INV_RUN(test_map_grows_from_64k_to_hold_100k_rows);
    INV_RUN(test_map_full_fails_the_txn_and_next_begin_grows);
    INV_RUN(test_too_long_key_is_refused_without_failing_the_txn);
    INV_RUN(test_codec_sized_sku_and_location_fit_beyond_the_key_size);
    INV_RUN(test_writes_on_a_read_txn_are_refused);
    INV_RUN(test_instance_id_is_stable_across_reopen);
    INV_RUN(test_second_writer_process_is_refused);
    INV_RUN(test_state_dir_and_files_are_private);
    INV_RUN(test_second_open_in_the_same_process_is_refused);
    INV_RUN(test_sync_modes_all_commit);
    INV_RUN(test_unsynced_writer_records_its_boot_until_a_clean_close);
    INV_RUN(test_state_of_an_unsynced_writer_in_an_earlier_boot_is_dropped);
    INV_RUN(test_open_readonly_of_missing_dir_fails);
    INV_RUN(test_readonly_process_sees_whole_txns_while_the_writer_grows_the_map);
    INV_RUN(test_reader_threads_share_the_store_while_the_writer_grows_the_map);
    INV_RUN(test_stale_reader_of_a_dead_process_is_cleared);
    INV_RUN(test_strerror_covers_own_lmdb_and_errno_codes);
    INV_RUN(test_errname_gives_constant_names_for_labels);
    INV_RUN(test_full_disk_fails_the_map_growth_with_enospc);
    INV_RUN(test_map_larger_than_the_disk_is_written_without_writemap);
    INV_RUN(test_open_of_a_new_state_dir_on_a_full_disk_is_enospc);
    INV_RUN(test_reopen_on_a_full_disk_keeps_the_state);
    /* again with pages written in place (MDB_WRITEMAP): growth, readers, prune */
    test_sync = INV_STORE_SYNC_NONE;
    INV_RUN(test_aborted_txn_leaves_no_trace);
    INV_RUN(test_partition_drop_removes_only_that_partition);
    INV_RUN(test_state_records_are_kept_by_partition_and_kind_and_dropped_with_it);
    INV_RUN(test_rows_keep_committed_incoming_and_in_transit);
    INV_RUN(test_an_environment_of_the_previous_format_keeps_only_its_global_tables);
    INV_RUN(test_dedup_prune_stops_at_max_oldest_first);
    INV_RUN(test_map_grows_from_64k_to_hold_100k_rows);
    INV_RUN(test_map_full_fails_the_txn_and_next_begin_grows);
    INV_RUN(test_readonly_process_sees_whole_txns_while_the_writer_grows_the_map);
    INV_RUN(test_reader_threads_share_the_store_while_the_writer_grows_the_map);
    if (dir[0])
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return INV_TEST_DONE();
}
