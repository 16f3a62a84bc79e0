/*
 * inv_restore: rebuilds one partition of inv-stock's state from Kafka, for
 * an instance that is newly assigned a partition or whose LMDB is behind.
 *
 * Partition p of topic.stock is the changelog of movements partition p (the
 * keeper writes every changed StockLevel there, with its shortage state in
 * the `inv.shortage` header, in the same transaction as the consumed
 * offsets), partition p of topic.dedup holds the movement ids each batch
 * applied (with the time each was first applied), so duplicate detection
 * moves with the partition, and partition p of topic.state (compacted) the
 * partition's open reservation lines (inv_holds). All are read with
 * read_committed to their end.
 */
#ifndef INV_RESTORE_H
#define INV_RESTORE_H

#include <librdkafka/rdkafka.h>

#include "inv_codec.h"
#include "inv_kafka.h"
#include "inv_conf.h"
#include "inv_rules.h"
#include "inv_store.h"

/* Header of changelog records carrying the row's shortage state. */
#define INV_RESTORE_SHORTAGE_HEADER "inv.shortage"
/* Header of dedup log records: the input offset their batch brought the
 * partition to (decimal). */
#define INV_RESTORE_INPUT_OFFSET_HEADER "inv.input.offset"

typedef struct {
    uint64_t rows;          /* stock rows restored */
    uint64_t ids;           /* applied movement ids restored */
    uint64_t holds;         /* open reservation lines restored */
    uint64_t transfers;     /* open transfer lines restored */
    uint64_t history;       /* count history changes replayed */
    uint64_t extra_records; /* records of the extra log read back */
    double seconds;         /* wall time */
    int64_t changelog_end;  /* next offset of the changelog partition */
    int64_t dedup_end;      /* next offset of the dedup log partition */
    int64_t state_end;      /* next offset of the state log partition */
    double confirm_seconds; /* waited for the last committed batch's markers */
    int unconfirmed;        /* failed: the last committed batch did not show (retry later) */
} inv_restore_stats_t;

/* A consumer for restores ("<group_id>.restore", Kafka settings ks):
 * no group, read_committed, partition EOF on. NULL with errstr on failure;
 * the caller owns the handle (close, then inv_kafka_destroy_bounded). */
rd_kafka_t *inv_restore_consumer_new(const inv_kafka_settings_t *ks, const char *group_id, char *errstr,
                                     size_t errstr_size);

/*
 * Another output of the keeper that a restore reads back into partition p's
 * state: partition p of `topic` (same partition count as the movements),
 * read_committed from the beginning after the changelog, re-read for a
 * moment while records are pending, in the restore's LMDB txns. record()
 * takes one message (borrowed for the call): 0, or an inv_store code that
 * fails the restore. done() runs once after the last record, before the
 * partition's offsets are written: 0 or an inv_store code. Both get the
 * restore's current write txn.
 */
typedef struct {
    const char *topic;
    int (*record)(void *opaque, inv_store_txn_t *txn, int32_t partition, const rd_kafka_message_t *msg);
    int (*done)(void *opaque, inv_store_txn_t *txn, int32_t partition, uint64_t records);
    void *opaque;
} inv_restore_log_t;

/*
 * Drops partition p from the store, reloads it from the changelog, the
 * dedup log, the state log (state_topic; NULL: none) and the extra log
 * (extra; NULL: none), and records meta.input_offset = input_offset last, so a crash
 * midway leaves no meta and the next assignment restores again.
 *
 * A transaction's commit returns before the broker has written its commit
 * markers, and until then read_committed readers stop before it: a restore
 * that starts right after the previous owner's last commit could miss that
 * batch yet record input_offset. So the dedup log is read first, until a
 * record names input_offset (every batch writes one per partition, see
 * INV_RESTORE_INPUT_OFFSET_HEADER), re-reading while records are pending
 * beyond the last stable offset; then the changelog, re-read for a moment
 * while records are pending there. A log with nothing pending that never
 * names input_offset (written before the header existed, or expired) is
 * taken as it is. While records stay pending and input_offset does not
 * show for confirm_timeout_ms, the restore fails with stats->unconfirmed set
 * and nothing recorded: the partition must stay held and be restored again
 * later, never recorded at an offset it has not applied.
 * dedup_window_ms: ids first applied longer ago are skipped. The count
 * history is rebuilt from the dedup log's entries (format 3), as the keeper
 * built it. extra (may
 * be NULL): another log read back after the changelog (inv_restore_log_t).
 * The store must have no write txn open. 0, or -1 with errstr.
 */
int inv_restore_partition(rd_kafka_t *consumer, inv_store_t *store, inv_decoder_t *decoder, const char *stock_topic,
                          const char *dedup_topic, const char *state_topic, int32_t partition, int64_t input_offset,
                          int64_t dedup_window_ms, int64_t confirm_timeout_ms, const inv_restore_log_t *extra,
                          inv_restore_stats_t *stats, char *errstr, size_t errstr_size);

/* Reads partition p of topic from `from_offset` (or RD_KAFKA_OFFSET_BEGINNING)
 * to its read_committed end, calling cb for each message (borrowed for the
 * call; nonzero from cb stops with that value). *end = next offset after the
 * last message (may be NULL); *pending (may be NULL) = 1 when the partition
 * held records beyond that end (an open transaction, or a committed one
 * whose markers are not written yet). 0, cb's value, or -1 with errstr. */
int inv_restore_read_partition(rd_kafka_t *consumer, const char *topic, int32_t partition, int64_t from_offset,
                               int (*cb)(void *opaque, const rd_kafka_message_t *msg), void *opaque, int64_t *end,
                               int *pending, char *errstr, size_t errstr_size);

#endif
