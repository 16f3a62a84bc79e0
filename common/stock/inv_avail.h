/*
 * inv_avail: channel availability (docs/CONTRACT.md, "Channel
 * availability"). available_to_sell(sku, channel) is the sum over the
 * channel's locations of max(on_hand - committed - buffer, 0); a location
 * without a row adds 0. The computation is pure (no I/O, no allocation);
 * what inv-stock last emitted per (sku, channel) is kept in inv_store's
 * per-partition state table under kind INV_AVAIL_KIND, so it moves with
 * the partition (inv_store_partition_drop() removes it, a restore rebuilds
 * it from topic.availability).
 *
 * Records of kind INV_AVAIL_KIND, per partition P:
 *   sku \0 channel          -> state (INV_AVAIL_RECORD_SIZE bytes)
 *   sku \0 channel-prefix \0 hash64(channel) -> state, then the channel in
 *                              full (the long form, when sku \0 channel
 *                              exceeds the state table's key budget); a
 *                              hash collision is INV_STORE_KEY_COLLISION
 *   \0                      -> the sweep's progress (inv_avail_sweep_t);
 *                              no SKU is empty, so it names none
 *
 * Errors: inv_store codes (0 on success). Memory: nothing borrows from
 * LMDB; callbacks get copies valid during the call.
 */
#ifndef INV_AVAIL_H
#define INV_AVAIL_H

#include <stddef.h>
#include <stdint.h>

#include "inv_rules.h"
#include "inv_store.h"

/* The state table kind of availability records ('h', 'e', 't' are the
 * reservations'). */
#define INV_AVAIL_KIND 'a'
/* A sweep cursor is a SKU: at most this many bytes. */
#define INV_AVAIL_CURSOR_MAX 1024

/* One location's share: max(on_hand - committed - buffer, 0), 0 for a
 * NULL row (no stock ever at the location). Saturates instead of
 * overflowing. Cannot fail. */
int64_t inv_avail_share(const inv_stock_row_t *row, int64_t buffer);
/* sum + share, saturating at INT64_MAX (shares are >= 0). */
int64_t inv_avail_add(int64_t sum, int64_t share);

/* What inv-stock last emitted for a (sku, channel). */
typedef struct {
    int64_t available_to_sell;
    int64_t locations;
    int64_t version; /* of that record: 1 for the first, +1 per change */
    int64_t updated_at_ms;
} inv_avail_state_t;

/*
 * Change detection. prev: the last emitted state, or NULL when none was.
 * When available_to_sell or locations differ from prev's (or there is no
 * prev), fills *next (version prev's + 1, or 1; updated_at_ms as given)
 * and returns 1: emit it. Otherwise returns 0 and *next = *prev. Cannot
 * fail.
 */
int inv_avail_next(const inv_avail_state_t *prev, int64_t available_to_sell, int64_t locations, int64_t updated_at_ms,
                   inv_avail_state_t *next);

/* Reads the state of (sku, channel) in partition p. Errors:
 * INV_STORE_NOTFOUND (never emitted, or tombstoned), INV_STORE_FORMAT,
 * INV_STORE_KEY_COLLISION, INV_STORE_KEY_TOO_LONG, EINVAL, LMDB codes. */
int inv_avail_get(inv_store_txn_t *txn, int32_t p, const char *sku, const char *channel, inv_avail_state_t *st);
/* Errors: as inv_store_state_put(), INV_STORE_KEY_COLLISION. */
int inv_avail_put(inv_store_txn_t *txn, int32_t p, const char *sku, const char *channel, const inv_avail_state_t *st);
/* Deleting a missing state is not an error. Errors: as inv_avail_put(). */
int inv_avail_delete(inv_store_txn_t *txn, int32_t p, const char *sku, const char *channel);

/* Called per channel of a SKU with a state, in key order; `channel` is a
 * NUL-terminated copy valid during the call. The callback may write to the
 * txn. Nonzero stops with that value. */
typedef int (*inv_avail_cb)(void *opaque, const char *channel, const inv_avail_state_t *st);
/* Errors: as inv_store_state_scan(), INV_STORE_FORMAT. */
int inv_avail_foreach_sku(inv_store_txn_t *txn, int32_t p, const char *sku, inv_avail_cb cb, void *opaque);

/* Called per (sku, channel) state of a partition, in key order; both
 * strings are copies valid during the call. Nonzero stops with that value.
 * Errors: as inv_avail_foreach_sku(). */
typedef int (*inv_avail_all_cb)(void *opaque, const char *sku, const char *channel, const inv_avail_state_t *st);
int inv_avail_foreach(inv_store_txn_t *txn, int32_t p, inv_avail_all_cb cb, void *opaque);

/*
 * A partition's progress towards a channel table: done_hash is the table
 * (inv-stock's hash of it) whose every (sku, channel) the partition's
 * records reflect; target_hash the table a sweep under way works towards,
 * having finished every SKU up to `cursor` ("" = none yet). A partition
 * without the record reflects the empty table (hash 0).
 */
typedef struct {
    uint64_t done_hash, target_hash;
    char cursor[INV_AVAIL_CURSOR_MAX + 1];
} inv_avail_sweep_t;

/* A hash no table has: a partition whose records come from elsewhere (a
 * restore) and must be checked against the table. */
#define INV_AVAIL_HASH_UNKNOWN UINT64_MAX

/* Errors (get): INV_STORE_FORMAT, EINVAL, LMDB codes; absent is not an
 * error (zeros: the empty table). put: as inv_store_state_put(), EINVAL
 * for a cursor over INV_AVAIL_CURSOR_MAX bytes. */
int inv_avail_sweep_get(inv_store_txn_t *txn, int32_t p, inv_avail_sweep_t *sw);
int inv_avail_sweep_put(inv_store_txn_t *txn, int32_t p, const inv_avail_sweep_t *sw);

#endif
