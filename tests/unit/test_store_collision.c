/* inv_store's long keys when two (sku, location) pairs share a key hash.
 * A 64-bit hash collision cannot be made on purpose, so this test compiles
 * inv_store.c with a hash that collides for every location of one length:
 * what the store then does is what it does on a real collision. */
#define INV_STORE_KEY_HASH(s, n) ((void)(s), (uint64_t)(n))
#include "../../common/stock/inv_store.c"

#include <ftw.h>
#include <unistd.h>

#include "inv_test.h"

static char dir[64] = "/tmp/inv_store_collision.XXXXXX";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A sku of 256 bytes and locations of 256 bytes that differ only after the
 * part the key keeps: every such pair takes the long form, and with the test
 * hash they all share one key. */
static char sku[257], loc_a[257], loc_b[257];

static void make_ids(void) {
    memset(sku, 's', 256);
    memset(loc_a, 'l', 256);
    memset(loc_b, 'l', 256);
    loc_a[255] = 'a';
    loc_b[255] = 'b';
}

static void test_a_colliding_pair_is_reported_never_stored_or_read_as_another(void) {
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    inv_store_t *s = NULL;
    INV_ASSERT_EQ_INT(0, inv_store_open(dir, &o, &s));
    inv_store_txn_t *t = NULL;
    INV_ASSERT_EQ_INT(0, inv_store_txn_begin(s, 0, &t));
    inv_stock_row_t a = INV_STOCK_ROW_INIT, got;
    a.on_hand = 7;
    INV_ASSERT_EQ_INT(0, inv_store_stock_put(t, 0, sku, loc_a, &a));
    /* the second pair's key holds the first one's row: never read as its own */
    INV_ASSERT_EQ_INT(INV_STORE_KEY_COLLISION, inv_store_stock_get(t, 0, sku, loc_b, &got));
    INV_ASSERT_EQ_INT(INV_STORE_KEY_COLLISION, inv_store_stock_put(t, 0, sku, loc_b, &a));
    INV_ASSERT_EQ_INT(0, inv_store_stock_get(t, 0, sku, loc_a, &got));
    INV_ASSERT_EQ_INT(7, got.on_hand);
    /* a policy of the second pair: refused; a lookup falls back, a delete deletes nothing */
    inv_rules_policy_t pol = {1, 2, 3}, eff, deflt = {10, 20, 30};
    int64_t thr;
    INV_ASSERT_EQ_INT(0, inv_store_policy_put(t, sku, loc_a, &pol));
    INV_ASSERT_EQ_INT(INV_STORE_KEY_COLLISION, inv_store_policy_put(t, sku, loc_b, &pol));
    INV_ASSERT_EQ_INT(0, inv_store_policy_lookup(t, sku, loc_b, &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(10, eff.reorder_point);
    INV_ASSERT_EQ_INT(0, inv_store_policy_delete(t, sku, loc_b));
    INV_ASSERT_EQ_INT(0, inv_store_policy_lookup(t, sku, loc_a, &deflt, &eff, &thr));
    INV_ASSERT_EQ_INT(1, eff.reorder_point);
    inv_store_txn_abort(t);
    inv_store_close(s);
}

int main(void) {
    if (!mkdtemp(dir))
        return 1;
    make_ids();
    INV_RUN(test_a_colliding_pair_is_reported_never_stored_or_read_as_another);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return INV_TEST_DONE();
}
