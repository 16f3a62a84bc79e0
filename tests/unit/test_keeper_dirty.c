/* inv_keeper_dirty: the set of rows a batch changed. */
#include "inv_keeper_dirty.h"
#include "inv_test.h"

#include <stdio.h>
#include <string.h>

static inv_stock_row_t row_of(int64_t on_hand) {
    inv_stock_row_t r = INV_STOCK_ROW_INIT;
    r.on_hand = on_hand;
    r.version = 1;
    return r;
}

static dirty_key_t key(int32_t p, const char *sku, const char *loc) { return dirty_key(p, sku, loc); }

static void test_an_empty_set_finds_nothing(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k = key(0, "sku-1", "store-1");
    INV_ASSERT(dirty_find(&s, &k) == NULL);
    dirty_free(&s);
}

static void test_a_row_added_is_found_with_its_value(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k = key(3, "sku-1", "store-1");
    inv_stock_row_t r = row_of(7);
    dirty_add(&s, &k, &r);
    const inv_stock_row_t *got = dirty_find(&s, &k);
    INV_ASSERT(got != NULL);
    INV_ASSERT_EQ_INT(7, got->on_hand);
    INV_ASSERT_EQ_INT(1, s.len);
    INV_ASSERT_EQ_STR("sku-1", s.rows[0].sku);
    INV_ASSERT_EQ_STR("store-1", s.rows[0].location);
    INV_ASSERT_EQ_INT(3, s.rows[0].partition);
    dirty_free(&s);
}

static void test_a_row_not_added_is_not_found(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k = key(0, "sku-1", "store-1"), other = key(0, "sku-2", "store-1");
    inv_stock_row_t r = row_of(1);
    dirty_add(&s, &k, &r);
    INV_ASSERT(dirty_find(&s, &other) == NULL);
    dirty_free(&s);
}

static void test_partition_sku_and_location_each_tell_rows_apart(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t keys[] = {key(0, "a", "b"), key(1, "a", "b"), key(0, "ab", ""), key(0, "a", "*"), key(0, "b", "a")};
    size_t n = sizeof(keys) / sizeof(keys[0]);
    for (size_t i = 0; i < n; i++) {
        inv_stock_row_t r = row_of((int64_t)i);
        dirty_add(&s, &keys[i], &r);
    }
    INV_ASSERT_EQ_INT(n, s.len);
    for (size_t i = 0; i < n; i++) {
        const inv_stock_row_t *got = dirty_find(&s, &keys[i]);
        INV_ASSERT(got != NULL, "key %zu", i);
        INV_ASSERT_EQ_INT(i, got->on_hand);
    }
    dirty_free(&s);
}

static void test_adding_a_row_again_replaces_its_value_in_place(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k = key(0, "sku-1", "store-1");
    inv_stock_row_t a = row_of(1), b = row_of(2);
    dirty_add(&s, &k, &a);
    dirty_add(&s, &k, &b);
    INV_ASSERT_EQ_INT(1, s.len);
    INV_ASSERT_EQ_INT(2, dirty_find(&s, &k)->on_hand);
    dirty_free(&s);
}

static void test_the_set_keeps_its_own_copy_of_a_key(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    char sku[16] = "sku-1", loc[16] = "store-1";
    dirty_key_t k = key(0, sku, loc);
    inv_stock_row_t r = row_of(5);
    dirty_add(&s, &k, &r);
    strcpy(sku, "XXXXX");
    strcpy(loc, "YYYYYYY");
    dirty_key_t again = key(0, "sku-1", "store-1");
    INV_ASSERT(dirty_find(&s, &again) != NULL);
    INV_ASSERT_EQ_STR("sku-1", s.rows[0].sku);
    dirty_free(&s);
}

static void test_a_changed_row_is_to_be_produced_until_marked(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k = key(0, "sku-1", "store-1");
    inv_stock_row_t r = row_of(1);
    dirty_add(&s, &k, &r);
    INV_ASSERT_EQ_INT(1, s.unemitted);
    dirty_mark_emitted(&s, &s.rows[0]);
    dirty_mark_emitted(&s, &s.rows[0]);
    INV_ASSERT_EQ_INT(0, s.unemitted);
    INV_ASSERT_EQ_INT(1, s.rows[0].emitted);
    dirty_free(&s);
}

static void test_a_row_changed_after_it_was_produced_is_to_be_produced_again(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k = key(0, "sku-1", "store-1");
    inv_stock_row_t r = row_of(1);
    dirty_add(&s, &k, &r);
    dirty_mark_emitted(&s, &s.rows[0]);
    dirty_add(&s, &k, &r);
    INV_ASSERT_EQ_INT(1, s.unemitted);
    INV_ASSERT_EQ_INT(0, s.rows[0].emitted);
    dirty_free(&s);
}

static void test_reset_forgets_every_row(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t k1 = key(0, "sku-1", "store-1"), k2 = key(1, "sku-2", "*");
    inv_stock_row_t r = row_of(1);
    dirty_add(&s, &k1, &r);
    dirty_add(&s, &k2, &r);
    dirty_reset(&s);
    INV_ASSERT_EQ_INT(0, s.len);
    INV_ASSERT_EQ_INT(0, s.unemitted);
    INV_ASSERT(dirty_find(&s, &k1) == NULL);
    /* the index is empty too, not only the count */
    dirty_add(&s, &k2, &r);
    INV_ASSERT(dirty_find(&s, &k1) == NULL);
    INV_ASSERT(dirty_find(&s, &k2) != NULL);
    dirty_free(&s);
}

static void test_growth_keeps_every_row_findable(void) {
    dirty_set_t s;
    dirty_init(&s, 1 << 20);
    enum { N = 20000 }; /* several growths of rows and index */
    char sku[32];
    for (int i = 0; i < N; i++) {
        snprintf(sku, sizeof(sku), "sku-%d", i);
        dirty_key_t k = key(i % 7, sku, "store");
        inv_stock_row_t r = row_of(i);
        dirty_add(&s, &k, &r);
    }
    INV_ASSERT_EQ_INT(N, s.len);
    INV_ASSERT(s.index_cap >= 2 * (size_t)N, "index at most half full: %zu slots", s.index_cap);
    for (int i = 0; i < N; i++) {
        snprintf(sku, sizeof(sku), "sku-%d", i);
        dirty_key_t k = key(i % 7, sku, "store");
        const inv_stock_row_t *got = dirty_find(&s, &k);
        INV_ASSERT(got != NULL, "row %d lost", i);
        INV_ASSERT_EQ_INT(i, got->on_hand);
    }
    dirty_free(&s);
}

static void test_keys_with_the_same_hash_are_told_apart(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    /* Keys built by hand with one hash: every one probes the same slots. */
    const char *skus[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    size_t n = sizeof(skus) / sizeof(skus[0]);
    for (size_t i = 0; i < n; i++) {
        dirty_key_t k = {.partition = 0, .sku = skus[i], .location = "x", .hash = 12345};
        inv_stock_row_t r = row_of((int64_t)i);
        dirty_add(&s, &k, &r);
    }
    INV_ASSERT_EQ_INT(n, s.len);
    for (size_t i = 0; i < n; i++) {
        dirty_key_t k = {.partition = 0, .sku = skus[i], .location = "x", .hash = 12345};
        const inv_stock_row_t *got = dirty_find(&s, &k);
        INV_ASSERT(got != NULL, "sku %s", skus[i]);
        INV_ASSERT_EQ_INT(i, got->on_hand);
    }
    dirty_key_t absent = {.partition = 0, .sku = "z", .location = "x", .hash = 12345};
    INV_ASSERT(dirty_find(&s, &absent) == NULL);
    dirty_free(&s);
}

static void test_keys_with_the_same_hash_differing_in_location_or_partition_are_told_apart(void) {
    dirty_set_t s;
    dirty_init(&s, 4096);
    dirty_key_t keys[] = {
        {.partition = 0, .sku = "a", .location = "x", .hash = 7},
        {.partition = 0, .sku = "a", .location = "y", .hash = 7},
        {.partition = 1, .sku = "a", .location = "x", .hash = 7},
    };
    for (int i = 0; i < 3; i++) {
        inv_stock_row_t r = row_of(i);
        dirty_add(&s, &keys[i], &r);
    }
    INV_ASSERT_EQ_INT(3, s.len);
    for (int i = 0; i < 3; i++)
        INV_ASSERT_EQ_INT(i, dirty_find(&s, &keys[i])->on_hand);
    dirty_free(&s);
}

static void test_keys_past_the_arena_get_their_own_copy(void) {
    dirty_set_t s;
    dirty_init(&s, 16); /* room for one small key */
    char sku[32];
    for (int i = 0; i < 50; i++) {
        snprintf(sku, sizeof(sku), "a-longer-sku-%d", i);
        dirty_key_t k = key(0, sku, "store");
        inv_stock_row_t r = row_of(i);
        dirty_add(&s, &k, &r);
    }
    for (int i = 0; i < 50; i++) {
        snprintf(sku, sizeof(sku), "a-longer-sku-%d", i);
        dirty_key_t k = key(0, sku, "store");
        INV_ASSERT(dirty_find(&s, &k) != NULL, "row %d", i);
    }
    dirty_reset(&s); /* frees the copies: the leak checker sees */
    dirty_free(&s);
}

static void test_put_all_writes_nothing_for_an_empty_set(void) {
    dirty_set_t s;
    dirty_init(&s, 16);
    INV_ASSERT_EQ_INT(0, dirty_put_all(&s, NULL)); /* no row: the txn is not touched */
    dirty_free(&s);
}

int main(void) {
    INV_RUN(test_an_empty_set_finds_nothing);
    INV_RUN(test_a_row_added_is_found_with_its_value);
    INV_RUN(test_a_row_not_added_is_not_found);
    INV_RUN(test_partition_sku_and_location_each_tell_rows_apart);
    INV_RUN(test_adding_a_row_again_replaces_its_value_in_place);
    INV_RUN(test_the_set_keeps_its_own_copy_of_a_key);
    INV_RUN(test_a_changed_row_is_to_be_produced_until_marked);
    INV_RUN(test_a_row_changed_after_it_was_produced_is_to_be_produced_again);
    INV_RUN(test_reset_forgets_every_row);
    INV_RUN(test_growth_keeps_every_row_findable);
    INV_RUN(test_keys_with_the_same_hash_are_told_apart);
    INV_RUN(test_keys_with_the_same_hash_differing_in_location_or_partition_are_told_apart);
    INV_RUN(test_keys_past_the_arena_get_their_own_copy);
    INV_RUN(test_put_all_writes_nothing_for_an_empty_set);
    return INV_TEST_DONE();
}
