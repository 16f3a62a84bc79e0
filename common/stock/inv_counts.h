/*
 * inv_counts: each stock row's count history, for counts applied as of
 * their time (docs/CONTRACT.md, "Counts as of their time"): the on_hand
 * changes placed after the row's latest count and within count.window.ms of
 * its newest change, kept in inv_store's history table beside the rows.
 *
 * A row's history is keyed by inv_counts_row(sku, location), a 64-bit hash
 * (two rows whose hashes collide would share a history: practically never).
 * A change is one insert: (placed_at, a hash of the movement id, delta).
 *
 * What inv-stock needs for a count of row r placed at T: the net of the
 * changes placed after T (inv_counts_later), and the newest change's time,
 * which decides whether the count is too old. Changes at or before the
 * row's latest count and those more than the window before its newest
 * change are never needed again; inv_counts_replay() of a count (at the
 * count) and inv_counts_sweep() (a few rows per batch) drop them.
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

/* The history key of (sku, location). Cannot fail. */
uint64_t inv_counts_row(const char *sku, const char *location);

/* *net = the sum of row's changes placed after at_ms; *has_newest = 1 and
 * *newest_ms = the newest change's time when the row has any. */
int inv_counts_later(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, int64_t *net, int *has_newest,
                     int64_t *newest_ms);

/* Does what an applied id's dedup log entry says it did to its row's
 * history, when the keeper applies it and again in a restore or a redo: a
 * change is added (uniq: inv_store_hash64 of the id), a count drops the
 * changes through its time, kind 0 does nothing. The same calls, so the
 * same history (up to what sweeps dropped, which no count needs).
 * Errors: as inv_store_history_put(), INV_STORE_FORMAT for an unknown kind. */
int inv_counts_replay(inv_store_txn_t *txn, int32_t p, const void *id, size_t id_len,
                      const inv_store_dedup_history_t *h);

/*
 * The changes of a batch, kept in memory until its end and then put in
 * (partition, row, time) order through one cursor (inv_counts_batch_flush):
 * far cheaper than one insert per movement. Until then a count sees them
 * through inv_counts_batch_later() and drops them with
 * inv_counts_batch_drop_through(). Owns its memory; a zeroed struct is an
 * empty batch.
 */
typedef struct {
    inv_store_history_entry_t *e;
    uint32_t *next; /* per change: the previous one of its row's chain, UINT32_MAX at the end */
    size_t len, cap;
    uint32_t *head; /* per bucket of (partition, row): its newest change, UINT32_MAX none */
    size_t buckets;
    size_t dead; /* changes dropped by a count, skipped at the flush */
} inv_counts_batch_t;

/* Keeps a change (as inv_counts_replay() would put it). Cannot fail (aborts
 * when out of memory, as the rest of the batch state does). */
void inv_counts_batch_add(inv_counts_batch_t *b, int32_t p, const void *id, size_t id_len,
                          const inv_store_dedup_history_t *h);
/* Adds the kept changes of (p, row) placed after at_ms to *net, and moves
 * *has_newest / *newest_ms to a newer kept change. */
void inv_counts_batch_later(const inv_counts_batch_t *b, int32_t p, uint64_t row, int64_t at_ms, int64_t *net,
                            int *has_newest, int64_t *newest_ms);
/* Forgets the kept changes of (p, row) placed at or before at_ms. */
void inv_counts_batch_drop_through(inv_counts_batch_t *b, int32_t p, uint64_t row, int64_t at_ms);
/* Puts the kept changes into txn, sorted, and empties the batch (also on
 * error: the txn is then failed). Errors: as inv_store_history_put_many(). */
int inv_counts_batch_flush(inv_counts_batch_t *b, inv_store_txn_t *txn);
/* Empties the batch (an aborted batch). */
void inv_counts_batch_clear(inv_counts_batch_t *b);
/* Frees its memory. */
void inv_counts_batch_free(inv_counts_batch_t *b);

/* Where the sweep of a partition stands: zero it to start from the first row. */
typedef struct {
    uint64_t next_row;
} inv_counts_sweep_t;

/* At most max rows of partition p from where *sw stopped: drops the changes
 * placed more than window_ms before their row's newest (never needed
 * again); *sw moves on, back to the start after the last row. Walking the
 * whole partition in steps keeps the history bounded by the window.
 * *dropped (may be NULL) = changes deleted. */
int inv_counts_sweep(inv_store_txn_t *txn, int32_t p, int64_t window_ms, inv_counts_sweep_t *sw, size_t max,
                     size_t *dropped);

/* Partition p's history: rows with one, their changes, and the bytes those
 * take as stored (key and value of each change, without LMDB's overhead):
 * for the benchmarks. */
int inv_counts_size(inv_store_txn_t *txn, int32_t p, uint64_t *rows, uint64_t *records, uint64_t *bytes);

#endif
