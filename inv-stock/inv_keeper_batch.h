/*
 * inv_keeper_batch: what the keeper knows of each movements partition (one
 * partition_t per partition, indexed by partition number) and what the
 * current batch did: per partition (touched, offsets, applied ids), its
 * changed rows (inv_keeper_dirty) and its input timestamps (latency).
 *
 * A batch ends in batch_reset(), after LMDB has it (or it is given up).
 * Nothing here fails: memory exhaustion aborts.
 */
#ifndef INV_KEEPER_BATCH_H
#define INV_KEEPER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "inv_codec.h"
#include "inv_counts.h"
#include "inv_keeper_dirty.h"

typedef struct {
    /* the partition, across batches */
    int assigned;             /* assigned to this instance */
    int ready;                /* restored or resumed: its lag counts for /healthz */
    int64_t next_offset;      /* next input offset to apply */
    int need_restore;         /* rebuild from the changelog before applying it */
    int64_t restore_to;       /* ... to this input offset (the group's committed one) */
    int64_t expire_sent_upto; /* expire movements are written for expiries up to this (ms), INT64_MIN: none */
    double expire_resend_at;  /* ... until then (monotonic s); after it, lines still open are written again */
    inv_counts_sweep_t sweep; /* where the count history's sweep stands */
    /* what the current batch did to it */
    int touched;            /* consumed in this batch */
    int64_t batch_next;     /* input offset after the batch */
    inv_buf_t ids;          /* applied ids as dedup-log entries (inv_store.h; kept for a redo) */
    size_t ids_sent;        /* ... of which the first ids_sent bytes are produced */
    int64_t changelog_next; /* from delivery reports: next changelog offset, -1 none */
    int64_t dedup_next;     /* ... and dedup log offset */
    int state_changed;      /* reservation or transfer lines changed (not kept for a redo: rebuilt
                               instead; the count history is in the ids) */
} partition_t;

typedef struct {
    partition_t *parts; /* part_count, indexed by partition */
    int part_count;
    dirty_set_t dirty;
    int64_t now_ms;      /* inv-stock's clock when the batch began: when its ids were applied */
    int64_t *latency_ts; /* the batch's input timestamps (ms) */
    size_t latency_len, latency_cap;
} batch_t;

/* An empty batch, no partitions; arena_bytes as for dirty_init. */
void batch_init(batch_t *b, size_t arena_bytes);
/* Frees everything (b may be zeroed). */
void batch_free(batch_t *b);

/* Partition p's entry, added (zeroed, not assigned) when p is new. The
 * pointer is valid until the next batch_partition with a larger p. */
partition_t *batch_partition(batch_t *b, int32_t p);

/* Forgets what the batch did: its changed rows, each partition's batch
 * fields, its timestamps. The partitions' own state stays. */
void batch_reset(batch_t *b);

/* Appends id (len bytes), applied at b->now_ms, to pt's ids. */
void batch_ids_add(const batch_t *b, partition_t *pt, const char *id, size_t len, const inv_store_dedup_history_t *h);

/* Records one applied movement's input timestamp (ms). */
void batch_latency_add(batch_t *b, int64_t ts);

/* Partitions touched by the batch. */
int batch_touched_count(const batch_t *b);

#endif
