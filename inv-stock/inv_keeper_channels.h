/*
 * inv_keeper_channels: channel availability (docs/CONTRACT.md, "Channel
 * availability"). Three parts:
 *
 * The channel table. Every instance reads the whole compacted
 * topic.channels, outside the group, into LMDB with its offsets, through
 * the policy table's reader (inv_keeper_policies, with this module's ops):
 * a ChannelLocation sets (channel, location) -> buffer, a tombstone keyed
 * channel|location_id deletes it; a record that cannot be applied
 * (undecodable, buffer out of range, a key that is not the value's
 * channel|location_id) waits in table.poison to be dead-lettered once
 * (inv_keeper.c), counted in inv_stock_invalid_channels_total. In memory
 * the table is indexed by location for the batch and by channel for the
 * sweep, and hashed: the hash names the table a partition reflects.
 *
 * The batch (channels_batch, from before_commit, after the batch's rows are
 * in LMDB): for each row the batch changed, every channel that includes
 * its location is recomputed for the row's SKU; a SKU without a record yet
 * gets every channel. A record is produced only when available_to_sell or
 * locations differ from what was last emitted, which the partition's state
 * table keeps (inv_avail). With no table and nothing to sweep this costs
 * nothing.
 *
 * The sweep. After a table change (and after a restore) every SKU of each
 * assigned partition is recomputed under the new table, SWEEP_SKUS per
 * batch at most, resuming where the last one stopped (inv_avail_sweep_t,
 * in the partition's state: it moves and rolls back with it). It rides on
 * input batches and, without input, on transactions the keeper opens from
 * tick (channels_want_txn). (sku, channel) records of a channel that is
 * gone from the table are tombstoned.
 *
 * Restore: the state comes back from partition p of topic.availability
 * (channels_restore_log), the last record per key being what was last
 * emitted; the partition is then swept against the current table.
 *
 * Errors: functions returning int give 0, or -1 with errstr; *store_err
 * (where present) then holds the inv_store code of an LMDB failure, or 0
 * when the failure was Kafka's (a produce).
 */
#ifndef INV_KEEPER_CHANNELS_H
#define INV_KEEPER_CHANNELS_H

#include <signal.h>
#include <stdint.h>

#include "inv_keeper_batch.h"
#include "inv_keeper_emit.h"
#include "inv_keeper_policies.h"
#include "inv_restore.h"
#include "inv_store.h"

/* SKUs swept per batch at most, over every partition. */
#define CHANNELS_SWEEP_SKUS 2000

/* One (channel, location, buffer) of the table. */
typedef struct {
    const char *location; /* into the names arena */
    uint32_t channel;     /* index into channels */
    int64_t buffer;
} channel_entry_t;

typedef struct {
    const char *name;    /* into the names arena */
    size_t first, count; /* its entries in by_channel */
} channel_t;

typedef struct {
    policies_t table; /* the reader of topic.channels; its borrowed fields as for the policies */
    /* the table in memory, rebuilt from LMDB when it changes */
    channel_t *channels; /* sorted by name */
    size_t channel_count;
    channel_entry_t *by_channel, *by_location; /* entry_count each */
    size_t entry_count;
    char *names; /* owned arena of the strings */
    uint64_t hash;
    /* the sweep */
    int check;   /* the partitions' progress must be read again */
    int pending; /* a partition does not reflect the table yet */
    /* borrowed */
    batch_t *batch;
    emit_t *emit;
} channels_t;

/* Reads topic.channels to its end (as policies_open, then policies_read:
 * the policy table may be fetched meanwhile) and loads the table.
 * c->table's borrowed fields (topic, store, decoder, metrics, stall) and
 * c->batch, c->emit must be set. 0, or -1 with errstr. */
int channels_open(channels_t *c, const inv_kafka_settings_t *ks, const char *group_id, char *errstr,
                  size_t errstr_size);
int channels_read(channels_t *c, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size);

/* Between batches: applies what the channels consumer has; a changed table
 * is reloaded and the partitions checked against it. */
void channels_poll(channels_t *c);

/* 1 when a sweep waits and no input may come to carry it: the keeper then
 * opens a transaction (inv_txloop_begin) and an LMDB write txn, and
 * channels_batch sweeps in its before_commit. Reads the partitions'
 * progress when it must (a read txn; call it between batches only). */
int channels_want_txn(channels_t *c);

/* The batch's availability and a step of the sweep, in txn (the batch's
 * write txn, its changed rows already written) and its Kafka transaction.
 * now_ms: the batch's clock, the updated_at of swept records. */
int channels_batch(channels_t *c, inv_store_txn_t *txn, int64_t now_ms, int *store_err, char *errstr,
                   size_t errstr_size);

/* The open transaction ended: aborted, LMDB's sweep progress went back
 * too and is read again. */
void channels_settle(channels_t *c, int committed);

/* A partition was assigned or restored: check it against the table. */
void channels_partition_changed(channels_t *c);

/* The restore's extra log: partition p of topic.availability (topic
 * borrowed) into p's availability state. */
inv_restore_log_t channels_restore_log(channels_t *c, const char *topic);

/* Frees the table and closes the consumer (bounded). */
void channels_close(channels_t *c, int timeout_ms);

#endif
