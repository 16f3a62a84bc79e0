/*
 * inv_counts: each stock row's count history, for counts applied as of
 * their time (docs/CONTRACT.md, "Counts as of their time"): the on_hand
 * changes placed after the row's latest count and within count.window.ms of
 * its newest change, kept in a partition's state table (inv_store_state_*)
 * beside the rows.
 *
 * Table (kind 'c' of the state table), one record per change:
 *   be64 row | be64 placed_at (sign bit flipped) | be64 uniq -> le64 delta
 * `row` is inv_counts_row(sku, location), a 64-bit hash (two rows whose
 * hashes collide would share a history: practically never); `uniq` tells
 * apart changes of one row placed at the same millisecond (a hash of the
 * movement id), so a change is one put, never a read.
 *
 * What inv-stock needs for a count of row r placed at T: the net of the
 * changes placed after T (inv_counts_later), and the newest change's time,
 * which decides whether the count is too old. Changes at or before the
 * row's latest count and those more than the window before its newest
 * change are never needed again; inv_counts_prune_through() (at a count)
 * and inv_counts_sweep() (a few records per batch) drop them.
 *
 * The history moves with its partition through the dedup log: each applied
 * id's entry carries the change it added (or the count that pruned), and a
 * restore replays them (inv-stock/inv_restore.c).
 *
 * Errors: inv_store codes (0 on success).
 */
#ifndef INV_COUNTS_H
#define INV_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "inv_store.h"

#define INV_COUNTS_KIND 'c'

/* The history key of (sku, location). Cannot fail. */
uint64_t inv_counts_row(const char *sku, const char *location);

/* Adds the change `delta` of row placed at at_ms (uniq: see the top): one
 * put. Errors: as inv_store_state_put(). */
int inv_counts_add(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, uint64_t uniq, int64_t delta);

/* Where the sweep of a partition stands: zero it to start from the first
 * record. */
typedef struct {
    unsigned char key[24];
    size_t len;    /* 0: from the start */
    uint64_t row;  /* the row being swept ... */
    int has_row;   /* ... when set */
    int64_t bound; /* its changes placed before this go */
} inv_counts_sweep_t;

/* Walks partition p's history from where *sw stopped, at most max records,
 * deleting the changes placed more than window_ms before their row's newest
 * (never needed again); *sw moves on, and back to the start after the last
 * record. A sweep of the whole partition in steps keeps the history bounded
 * by the window. *dropped (may be NULL) = records deleted.
 * Errors: as inv_store_state_scan(). */
int inv_counts_sweep(inv_store_txn_t *txn, int32_t p, int64_t window_ms, inv_counts_sweep_t *sw, size_t max,
                     size_t *dropped);

/* *net = the sum of row's changes placed after at_ms; *has_newest = 1 and
 * *newest_ms = the newest change's time when the row has any. Errors: as
 * inv_store_state_scan(), INV_STORE_FORMAT for a damaged record. */
int inv_counts_later(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, int64_t *net, int *has_newest,
                     int64_t *newest_ms);

/* Deletes row's changes placed at or before at_ms (a count at at_ms covers
 * them). Errors: as inv_store_state_scan(). */
int inv_counts_prune_through(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms);

/* Replays what an applied id's dedup log entry says it did to its row's
 * history (restore, redo): a change is added (uniq: inv_store_hash64 of the
 * id), a count prunes through its time, kind 0 does nothing. The same calls
 * the keeper made when it applied the id, so the same history (up to what
 * sweeps dropped, which no count needs).
 * Errors: as inv_counts_add(), INV_STORE_FORMAT for an unknown kind. */
int inv_counts_replay(inv_store_txn_t *txn, int32_t p, const void *id, size_t id_len,
                      const inv_store_dedup_history_t *h);

/* Records of partition p's history and their bytes (keys and values, as
 * stored): for the benchmarks. */
int inv_counts_size(inv_store_txn_t *txn, int32_t p, uint64_t *records, uint64_t *bytes);

#endif
