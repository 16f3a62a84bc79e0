/*
 * inv_transfers: inv-stock's open transfer lines, one per (transfer_id,
 * sku), kept in a partition's state table (inv_store_state_*) beside the
 * SKU's rows; and their records in the state log (topic.state), so that
 * units in transit move with their partition.
 *
 * A line is kept until it is settled (shipped > 0 and nothing in transit,
 * see inv_rules_in_transit()); a settled line is deleted and its log record
 * is a tombstone. A line received before its shipment (shipped 0) is kept.
 *
 * Table (kind 't' of the state table):
 *   't'  sku \0 hash64(transfer_id) -> line record (its fixed part, then
 *        transfer_id in full: two ids whose hashes collide are told apart,
 *        never merged: INV_STORE_KEY_COLLISION for the second)
 * State log records: key 't' sku \0 transfer_id, value the fixed part
 * (INV_TRANSFERS_LOG_VALUE_SIZE bytes), or no value (a tombstone).
 *
 * Errors: inv_store codes (0 on success).
 */
#ifndef INV_TRANSFERS_H
#define INV_TRANSFERS_H

#include <stddef.h>
#include <stdint.h>

#include "inv_rules.h"
#include "inv_store.h"

#define INV_TRANSFERS_KIND 't'
#define INV_TRANSFERS_LOG_VALUE_SIZE 32
/* The longest state log key: 't', two ids of at most 256 bytes, a NUL. */
#define INV_TRANSFERS_LOG_KEY_MAX (1 + 2 * 256 + 1)

/* 1 when a line with these totals is kept (not settled), else 0. */
int inv_transfers_open(const inv_rules_transfer_t *t);

/* The line of (sku, transfer_id) in partition p into *t; all zero when
 * there is none. Errors: INV_STORE_KEY_COLLISION, INV_STORE_KEY_TOO_LONG,
 * INV_STORE_FORMAT, EINVAL, LMDB codes (never NOTFOUND). */
int inv_transfers_get(inv_store_txn_t *txn, int32_t p, const char *sku, const char *transfer_id,
                      inv_rules_transfer_t *t);

/* Stores the line (deleting it once settled). Errors: as
 * inv_store_state_put(), INV_STORE_KEY_COLLISION. */
int inv_transfers_put(inv_store_txn_t *txn, int32_t p, const char *sku, const char *transfer_id,
                      const inv_rules_transfer_t *t);

/* Called per open line; nonzero stops the iteration with that value. */
typedef int (*inv_transfers_cb)(void *opaque, const char *sku, const char *transfer_id, const inv_rules_transfer_t *t);
/* The open lines of sku in partition p (every SKU when sku is NULL). */
int inv_transfers_foreach(inv_store_txn_t *txn, int32_t p, const char *sku, inv_transfers_cb cb, void *opaque);

/* The state log key of a line into buf: its length, or 0 when it does not
 * fit in cap. */
size_t inv_transfers_log_key(char *buf, size_t cap, const char *sku, const char *transfer_id);
/* The state log value of an open line. */
void inv_transfers_log_value(unsigned char out[INV_TRANSFERS_LOG_VALUE_SIZE], const inv_rules_transfer_t *t);

/* Applies one state log record to partition p (restore): an open line is
 * stored, a tombstone (val NULL) deletes it. Errors: INV_STORE_FORMAT (not
 * a line record), and those of inv_transfers_put(). */
int inv_transfers_log_apply(inv_store_txn_t *txn, int32_t p, const void *key, size_t key_len, const void *val,
                            size_t val_len);

#endif
