/*
 * inv_holds: inv-stock's open reservation lines, one per (reservation_id,
 * sku, location), kept in a partition's state table (inv_store_state_*)
 * beside the SKU's stock rows, with an index by expiry; and their records
 * in the state log (topic.state), so that open reservations move with
 * their partition.
 *
 * Only open lines (remaining > 0) are kept: a line that closes (released,
 * expired, fulfilled) is deleted, and its log record is a tombstone.
 *
 * Tables (kinds of the state table):
 *   'h'  sku \0 hash64(location \0 reservation_id)  -> line record
 *   'e'  be64(expires_at, sign-flipped) sku \0 hash64(...) -> (empty)
 * The record holds location \0 reservation_id in full after its fixed
 * part: two lines whose hashes collide are told apart, never merged
 * (INV_STORE_KEY_COLLISION for the second; practically never happens).
 *
 * State log records: key 'h' sku \0 location \0 reservation_id, value the
 * line's fixed part (INV_HOLDS_LOG_VALUE_SIZE bytes), or no value (a
 * tombstone) when it closed. The topic is compacted: the last record of
 * each open line remains.
 *
 * Errors: inv_store codes (0 on success). Strings given to callbacks are
 * NUL-terminated copies valid only during the call.
 */
#ifndef INV_HOLDS_H
#define INV_HOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "inv_rules.h"
#include "inv_store.h"

#define INV_HOLDS_KIND 'h'
#define INV_HOLDS_EXPIRY_KIND 'e'
#define INV_HOLDS_LOG_VALUE_SIZE 40
/* The longest state log key: 'h', three ids of at most 256 bytes, two NULs. */
#define INV_HOLDS_LOG_KEY_MAX (1 + 3 * 256 + 2)

/* The line of (sku, location, reservation_id) in partition p into *h; all
 * zero when there is none. Errors: INV_STORE_KEY_COLLISION,
 * INV_STORE_KEY_TOO_LONG, INV_STORE_FORMAT, EINVAL, LMDB codes (never
 * NOTFOUND). */
int inv_holds_get(inv_store_txn_t *txn, int32_t p, const char *sku, const char *location, const char *reservation_id,
                  inv_rules_hold_t *h);

/* Stores the line's new value *after (deleting it once closed), keeping
 * the expiry index right; *before is the value inv_holds_get() gave.
 * Errors: as inv_store_state_put(), INV_STORE_KEY_COLLISION. */
int inv_holds_put(inv_store_txn_t *txn, int32_t p, const char *sku, const char *location, const char *reservation_id,
                  const inv_rules_hold_t *before, const inv_rules_hold_t *after);

/* Called per line; nonzero stops the iteration with that value. */
typedef int (*inv_holds_cb)(void *opaque, const char *sku, const char *location, const char *reservation_id,
                            const inv_rules_hold_t *h);

/* The open lines of partition p that expire at or before now_ms, earliest
 * first, at most max (0: no limit). The callback must not change lines.
 * Returns 0, cb's value, or an error. */
int inv_holds_due(inv_store_txn_t *txn, int32_t p, int64_t now_ms, size_t max, inv_holds_cb cb, void *opaque);

/* The open lines of sku in partition p (every SKU when sku is NULL). */
int inv_holds_foreach(inv_store_txn_t *txn, int32_t p, const char *sku, inv_holds_cb cb, void *opaque);

/* The state log key of a line into buf (at least INV_HOLDS_LOG_KEY_MAX
 * bytes for ids within the contract's bounds): its length, or 0 when it
 * does not fit in cap. */
size_t inv_holds_log_key(char *buf, size_t cap, const char *sku, const char *location, const char *reservation_id);
/* The state log value of an open line. */
void inv_holds_log_value(unsigned char out[INV_HOLDS_LOG_VALUE_SIZE], const inv_rules_hold_t *h);

/* Applies one state log record to partition p (restore): an open line is
 * stored, a tombstone (val NULL) deletes it. Errors: INV_STORE_FORMAT (not
 * a line record: wrong kind, size or format), and those of
 * inv_holds_put(). */
int inv_holds_log_apply(inv_store_txn_t *txn, int32_t p, const void *key, size_t key_len, const void *val,
                        size_t val_len);

#endif
