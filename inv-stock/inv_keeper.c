/*
 * The keeper's txloop handlers, wiring its modules together: the batch and
 * per-partition state (inv_keeper_batch, inv_keeper_dirty), held LMDB work
 * (inv_keeper_stall), outputs (inv_keeper_emit), the policy table
 * (inv_keeper_policies), channel availability (inv_keeper_channels),
 * restores (inv_restore) and what operators see
 * (inv_keeper_metrics). Settings come from inv_keeper_conf, read once.
 */
#include "inv_keeper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_codec.h"
#include "inv_codec_conf.h"
#include "inv_counts.h"
#include "inv_holds.h"
#include "inv_transfers.h"
#include "inv_kafka.h"
#include "inv_keeper_batch.h"
#include "inv_keeper_channels.h"
#include "inv_keeper_conf.h"
#include "inv_keeper_emit.h"
#include "inv_keeper_metrics.h"
#include "inv_keeper_policies.h"
#include "inv_keeper_stall.h"
#include "inv_log.h"
#include "inv_restore.h"
#include "inv_rules.h"
#include "inv_schema_source.h"
#include "inv_store.h"
#include "inv_time.h"
#include "inv_txloop.h"

/* Ids pruned per partition per batch: spreads pruning over time. */
#define PRUNE_PER_BATCH 2000
/* Changed rows that may wait for the commit before being produced: more
 * than a default batch changes (~9 000 rows for 16 000 movements in
 * tests/bench/bench_keeper.sh), so only larger batches produce early.
 * Lower, a row changed again after it was produced goes out twice: 2 048
 * doubled the changelog records, 8 192 added 10%, for 2-8 MiB less heap. */
#ifndef EMIT_EVERY_ROWS
#define EMIT_EVERY_ROWS 32768
#endif
/* A partition's applied ids go to the dedup log in records of at most about
 * this size (ids are up to 499 bytes: a batch's can be megabytes, over the
 * producer's message.max.bytes); the batch's last record names its input
 * offset. */
#define DEDUP_RECORD_BYTES (256 * 1024)
/* A batch waits up to HOLD_SECONDS for held LMDB work in process() before
 * giving up, so the consumer is still polled (rebalances, SIGTERM) and the
 * txloop logs an abort that rarely. */
#define HOLD_SECONDS 5.0
/* The changed rows' keys are copied into an arena of this size. */
#define ARENA_BYTES (1 << 20)
/* Expiries: looked for every EXPIRY_SCAN_SECONDS, at most EXPIRY_PER_SCAN
 * lines per partition each time; a line whose expire movement has not been
 * applied EXPIRY_RESEND_SECONDS later (a lost or aborted write) gets it
 * again, under the same id. */
#define EXPIRY_SCAN_SECONDS 1.0
#define EXPIRY_PER_SCAN 512
/* Count history rows a batch's sweep visits per touched partition: the
 * whole history is walked once per (rows / this) batches. */
#define SWEEP_PER_BATCH 200
/* Count history changes kept in memory before they are put into the
 * batch's LMDB txn (sorted, through one cursor). */
#define HISTORY_RUN 4096
#define EXPIRY_RESEND_SECONDS 30.0

typedef struct {
    keeper_conf_t kc;
    inv_kafka_settings_t kafka;       /* read once the instance id is known */
    const volatile sig_atomic_t *run; /* the process's run flag, borrowed */
    inv_store_t *store;
    inv_store_txn_t *txn; /* the batch's write txn, NULL between batches */
    inv_decoder_t *decoder;
    inv_schema_source_t *schemas;        /* where writer schemas and output ids come from */
    inv_decode_backoff_t decode_backoff; /* while movements wait for their writer schema */
    inv_encoder_t *encoder;
    inv_codec_conf_t codec;
    inv_txloop_t *loop;
    rd_kafka_t *restore_consumer;
    inv_keeper_metrics_t *metrics;
    double last_lag_check;
    int movement_partitions;    /* of topic.movements */
    batch_t batch;              /* the partitions and what the batch did to them */
    stall_t stall;              /* LMDB writes that failed, the kept batch */
    emit_t emit;                /* outputs */
    policies_t policies;        /* the policy table */
    double next_expiry_scan;    /* monotonic s */
    channels_t channels;        /* the channel table and availability */
    inv_counts_batch_t history; /* the batch's count history changes, put at its end */
} keeper_t;

/* What one movement reads and changes. */
typedef struct {
    inv_movement_t m;
    int64_t ts;
    inv_rules_in_t in; /* policies, placement, the count's history figures */
    dirty_key_t loc_key, net_key, other_key;
    inv_stock_row_t loc, net, other;
    int has_hold;                       /* the movement takes a reservation line */
    inv_rules_hold_t hold, hold_before; /* the line, as the rules leave it and as it was */
    int is_transfer;
    inv_rules_transfer_t transfer; /* the transfer line, as the rules leave it */
    uint64_t history_row;          /* inv_counts_row(sku, location) */
    inv_rules_out_t out;
    char scratch[INV_RULES_SCRATCH_DEFAULT];
} move_t;

/* Whether the keeper goes on: the process runs and nothing failed for good. */
static int keeper_running(const keeper_t *k) { return *k->run && !k->stall.fatal; }

static int store_error(keeper_t *k, int rc, const char *what, char *errstr, size_t errstr_size) {
    stall_describe(&k->stall, rc, what, errstr, errstr_size);
    return INV_TXLOOP_ABORT;
}

/* ---- restores ---------------------------------------------------------------- */

static void restored(keeper_t *k, int32_t p, const inv_restore_stats_t *st) {
    inv_log_info("partition %d restored from %s: %llu rows, %llu movement ids in %.3f s (%.0f keys/s); open lines: "
                 "%llu reservation, %llu transfer; %llu count history changes%s",
                 p, k->kc.t_stock, (unsigned long long)st->rows, (unsigned long long)st->ids, st->seconds,
                 st->seconds > 0 ? (double)(st->rows + st->ids) / st->seconds : 0.0, (unsigned long long)st->holds,
                 (unsigned long long)st->transfers, (unsigned long long)st->history,
                 st->confirm_seconds > 0 ? "; waited for the last commit's markers" : "");
    inv_keeper_metrics_restore_end(k->metrics, p, st->rows + st->ids, st->seconds);
    partition_t *pt = &k->batch.parts[p];
    pt->need_restore = 0;
    pt->ready = pt->assigned;
    inv_keeper_metrics_partition_serving(k->metrics, p, pt->ready);
    channels_partition_changed(&k->channels);
    stall_ok(&k->stall);
}

/* Rebuilds partition p from the changelog (three tries for Kafka trouble,
 * one for LMDB's). On failure p is left to rebuild later (need_restore),
 * held until then; -1. */
static int restore_one(keeper_t *k, int32_t p, int64_t input_offset) {
    char errstr[INV_ERRSTR_SIZE];
    for (int attempt = 1; attempt <= 3 && keeper_running(k); attempt++) {
        inv_restore_stats_t st;
        inv_restore_log_t availability = channels_restore_log(&k->channels, k->kc.t_availability);
        inv_keeper_metrics_restore_begin(k->metrics, p);
        if (inv_restore_partition(k->restore_consumer, k->store, k->decoder, k->kc.t_stock, k->kc.t_dedup,
                                  k->kc.t_state, p, input_offset, k->kc.dedup_window_ms,
                                  k->kc.restore_confirm_timeout_ms, &availability, &st, errstr, sizeof(errstr)) == 0) {
            restored(k, p, &st);
            return 0;
        }
        inv_store_info_t info;
        int rc = inv_store_info(k->store, &info) == 0 ? info.last_write_error : 0;
        if (rc && rc != INV_STORE_MAP_FULL) {
            char what[64];
            snprintf(what, sizeof(what), "restore of partition %d", p);
            stall_failed(&k->stall, rc, what);
            break;
        }
        inv_log_warn("partition %d: restore attempt %d failed: %s", p, attempt, errstr);
        stall_retry_later(&k->stall);
        if (st.unconfirmed)
            break; /* the try waited restore.confirm.timeout.ms already: later, not now */
    }
    partition_t *pt = &k->batch.parts[p];
    if (!pt->need_restore)
        inv_log_warn("partition %d: held until it is rebuilt from %s (retried every %.0f s)", p, k->kc.t_stock,
                     STALL_RETRY_SECONDS);
    pt->need_restore = 1;
    pt->restore_to = input_offset;
    pt->ready = 0;
    inv_keeper_metrics_partition_serving(k->metrics, p, 0);
    return -1;
}

/* ---- held LMDB work ---------------------------------------------------------- */

/* LMDB catches up with Kafka before anything else is applied: the kept
 * batch, then the partitions to rebuild. 0 when nothing is left. */
static int catch_up(keeper_t *k) {
    int rc = stall_redo_flush(&k->stall);
    if (rc) {
        stall_failed(&k->stall, rc, "write of a batch already committed to Kafka");
        return rc;
    }
    for (int p = 0; p < k->batch.part_count; p++) {
        const partition_t *pt = &k->batch.parts[p];
        if (pt->need_restore && pt->assigned && restore_one(k, p, pt->restore_to) != 0)
            return -1;
    }
    return 0;
}

static int catch_up_pending(const keeper_t *k) {
    if (k->stall.redo)
        return 1;
    for (int p = 0; p < k->batch.part_count; p++)
        if (k->batch.parts[p].need_restore && k->batch.parts[p].assigned)
            return 1;
    return 0;
}

/*
 * The first message of a batch: waits for the retry time of failed LMDB
 * writes, lets LMDB catch up, and begins the batch's write txn. After
 * HOLD_SECONDS without success it gives up (errstr set): the txloop aborts
 * the batch and rewinds, and the message comes here again.
 */
static int batch_begin(keeper_t *k, char *errstr, size_t errstr_size) {
    double give_up = inv_time_mono_s() + HOLD_SECONDS;
    int rc = 0;
    while (keeper_running(k)) {
        if (stall_waiting(&k->stall)) {
            if (inv_time_mono_s() >= give_up)
                break;
            stall_nap(&k->stall);
            continue;
        }
        if ((rc = catch_up(k)) == 0 && (rc = inv_store_txn_begin(k->store, 0, &k->txn)) != 0)
            stall_failed(&k->stall, rc, "begin (map growth)");
        if (rc == 0) {
            k->batch.now_ms = inv_time_wall_ms();
            return 0;
        }
        if (inv_time_mono_s() >= give_up)
            break;
    }
    if (k->stall.stalled)
        snprintf(errstr, errstr_size, "state dir %s: LMDB not writable (%s): input held", k->kc.state_dir,
                 inv_store_strerror(k->stall.err));
    else
        snprintf(errstr, errstr_size, "%s", keeper_running(k) ? "partitions to rebuild first: input held" : "stopping");
    return -1;
}

/* ---- one movement -------------------------------------------------------------- */

/* A row as the batch sees it: its own change, else LMDB's. */
static int row_get(keeper_t *k, const dirty_key_t *key, inv_stock_row_t *row) {
    const inv_stock_row_t *d = dirty_find(&k->batch.dirty, key);
    if (!d)
        return inv_store_stock_get(k->txn, key->partition, key->sku, key->location, row);
    *row = *d;
    return 0;
}

/* Notes msg in its partition's batch state; returns its timestamp (ms). */
static int64_t take_message(partition_t *pt, const rd_kafka_message_t *msg) {
    pt->touched = 1;
    pt->batch_next = pt->next_offset = msg->offset + 1;
    int64_t ts = rd_kafka_message_timestamp(msg, NULL);
    if (ts <= 0)
        ts = inv_time_wall_ms();
    return ts;
}

/* Maps a read error of a row or line to a dead letter (the ids cannot be
 * stored) or a store error. */
static int read_error(keeper_t *k, int rc, const char *what, char *errstr, size_t errstr_size) {
    if (rc == INV_STORE_KEY_TOO_LONG || rc == INV_STORE_KEY_COLLISION) {
        snprintf(errstr, errstr_size, "%s: %s", what, inv_store_strerror(rc));
        return INV_TXLOOP_DEAD_LETTER;
    }
    return store_error(k, rc, "read", errstr, errstr_size);
}

/* A row into *row (INV_STOCK_ROW_INIT when it does not exist yet). */
static int read_row(keeper_t *k, const dirty_key_t *key, inv_stock_row_t *row, char *errstr, size_t errstr_size) {
    *row = (inv_stock_row_t)INV_STOCK_ROW_INIT;
    int rc = row_get(k, key, row);
    if (rc == INV_STORE_KEY_TOO_LONG) {
        snprintf(errstr, errstr_size, "sku and location_id: together longer than %d bytes", INV_STORE_MAX_KEY - 5);
        return INV_TXLOOP_DEAD_LETTER;
    }
    if (rc == INV_STORE_KEY_COLLISION)
        return read_error(k, rc, "sku and location_id", errstr, errstr_size);
    if (rc && rc != INV_STORE_NOTFOUND)
        return store_error(k, rc, "read", errstr, errstr_size);
    return 0;
}

/* The movement's policies, its rows (location, network, and the other end
 * of a transfer), its reservation or transfer line, and where it lies on
 * its row's timeline (and for a count, the history after it). */
static int read_rows(keeper_t *k, int32_t p, move_t *mv, char *errstr, size_t errstr_size) {
    const inv_movement_t *m = &mv->m;
    inv_rules_in_t *in = &mv->in;
    *in = (inv_rules_in_t){.m = m, .count_window_ms = k->kc.count_window_ms};
    int rc = inv_store_policy_lookup(k->txn, m->sku, m->location_id, &k->kc.default_policy, &in->policy,
                                     &in->network_threshold);
    if (rc)
        return store_error(k, rc, "policy lookup", errstr, errstr_size);
    mv->loc_key = dirty_key(p, m->sku, m->location_id);
    mv->net_key = dirty_key(p, m->sku, "*");
    if ((rc = read_row(k, &mv->loc_key, &mv->loc, errstr, errstr_size)) ||
        (rc = read_row(k, &mv->net_key, &mv->net, errstr, errstr_size)))
        return rc;
    mv->is_transfer = inv_rules_is_transfer(m) && m->other_location_id && m->transfer_id;
    mv->transfer = (inv_rules_transfer_t){0};
    mv->other = (inv_stock_row_t)INV_STOCK_ROW_INIT;
    in->other_policy = in->policy;
    if (mv->is_transfer) {
        int64_t unused;
        if ((rc = inv_store_policy_lookup(k->txn, m->sku, m->other_location_id, &k->kc.default_policy,
                                          &in->other_policy, &unused)))
            return store_error(k, rc, "policy lookup", errstr, errstr_size);
        mv->other_key = dirty_key(p, m->sku, m->other_location_id);
        if ((rc = read_row(k, &mv->other_key, &mv->other, errstr, errstr_size)))
            return rc;
        if ((rc = inv_transfers_get(k->txn, p, m->sku, m->transfer_id, &mv->transfer)))
            return read_error(k, rc, "transfer_id", errstr, errstr_size);
    }
    mv->hold = (inv_rules_hold_t){0};
    mv->has_hold = inv_rules_needs_hold(m) && m->reservation_id;
    if (mv->has_hold && (rc = inv_holds_get(k->txn, p, m->sku, m->location_id, m->reservation_id, &mv->hold)))
        return read_error(k, rc, "reservation_id", errstr, errstr_size);
    mv->hold_before = mv->hold;
    /* The row's timeline: occurred_at, or now for a movement dated too far
     * ahead (clock.skew.max.ms). */
    int64_t now = k->batch.now_ms, ahead;
    in->placed_at_ms = __builtin_add_overflow(now, k->kc.clock_skew_max_ms, &ahead) || m->occurred_at_ms <= ahead
                           ? m->occurred_at_ms
                           : now;
    mv->history_row = inv_counts_row(m->sku, m->location_id);
    if (m->type == INV_MOVE_COUNT) {
        if ((rc = inv_counts_later(k->txn, p, mv->history_row, in->placed_at_ms, &in->later_net, &in->has_newest,
                                   &in->newest_at_ms)))
            return store_error(k, rc, "read of the count history", errstr, errstr_size);
        inv_counts_batch_later(&k->history, p, mv->history_row, in->placed_at_ms, &in->later_net, &in->has_newest,
                               &in->newest_at_ms);
    }
    return 0;
}

/* Applies the movement to copies of its rows first (an invalid movement
 * must reach the DLQ, not the set of applied ids), then records its id.
 * *seen: it was applied before. */
static int apply_rules(keeper_t *k, int32_t p, move_t *mv, int *seen, char *errstr, size_t errstr_size) {
    inv_rules_rows_t rows = {.location = &mv->loc,
                             .other = mv->is_transfer ? &mv->other : NULL,
                             .network = &mv->net,
                             .hold = mv->has_hold ? &mv->hold : NULL,
                             .transfer = mv->is_transfer ? &mv->transfer : NULL};
    int rc = inv_rules_apply_in(&mv->in, &rows, mv->scratch, sizeof(mv->scratch), &mv->out);
    if (rc == INV_RULES_ESTALE_COUNT) {
        char at[40], newest[40];
        int64_t n = mv->in.has_newest ? mv->in.newest_at_ms : mv->loc.last_count_at_ms;
        if (mv->loc.has_last_count && mv->loc.last_count_at_ms > n)
            n = mv->loc.last_count_at_ms;
        inv_time_format_rfc3339(mv->in.placed_at_ms, at);
        inv_time_format_rfc3339(n, newest);
        snprintf(errstr, errstr_size,
                 "%s: count at %s is more than count.window.ms (%lld ms) before the newest change of %s at %s (%s)",
                 mv->m.movement_id, at, (long long)k->kc.count_window_ms, mv->m.sku, mv->m.location_id, newest);
        return INV_TXLOOP_DEAD_LETTER;
    }
    if (rc) {
        snprintf(errstr, errstr_size, "%s: %s", mv->m.movement_id, inv_rules_strerror(rc));
        return INV_TXLOOP_DEAD_LETTER;
    }
    rc = inv_store_dedup_seen_or_add(k->txn, p, mv->m.movement_id, strlen(mv->m.movement_id), k->batch.now_ms, seen);
    if (rc == INV_STORE_KEY_TOO_LONG) {
        snprintf(errstr, errstr_size, "movement_id: longer than %d bytes", INV_STORE_MAX_KEY - 12);
        return INV_TXLOOP_DEAD_LETTER;
    }
    if (rc)
        return store_error(k, rc, "dedup", errstr, errstr_size);
    return 0;
}

/* Keeps the applied movement's changes and produces its outputs. */
static int record(keeper_t *k, int32_t p, partition_t *pt, move_t *mv, const rd_kafka_message_t *msg, char *errstr,
                  size_t errstr_size) {
    if (mv->out.location_changed)
        dirty_add(&k->batch.dirty, &mv->loc_key, &mv->loc);
    if (mv->out.other_changed)
        dirty_add(&k->batch.dirty, &mv->other_key, &mv->other);
    if (mv->out.network_changed)
        dirty_add(&k->batch.dirty, &mv->net_key, &mv->net);
    /* A batch larger than the default (batch.max.messages) would otherwise
     * hand the producer all its rows at once, at the commit: its whole
     * output in memory together. Rows changed again later are produced
     * again; the compacted changelog keeps the last. */
    if (k->batch.dirty.unemitted >= EMIT_EVERY_ROWS &&
        emit_stock_levels(&k->emit, &k->batch.dirty, errstr, errstr_size) != 0)
        return INV_TXLOOP_ABORT;
    if (mv->out.hold_changed) {
        const inv_movement_t *m = &mv->m;
        int rc = inv_holds_put(k->txn, p, m->sku, m->location_id, m->reservation_id, &mv->hold_before, &mv->hold);
        if (rc)
            return store_error(k, rc, "write of a reservation", errstr, errstr_size);
        if (emit_hold(&k->emit, p, m->sku, m->location_id, m->reservation_id, &mv->hold) != 0) {
            snprintf(errstr, errstr_size, "produce to %s failed", k->kc.t_state);
            return INV_TXLOOP_ABORT;
        }
        pt->state_changed = 1;
    }
    if (mv->out.transfer_changed) {
        const inv_movement_t *m = &mv->m;
        int rc = inv_transfers_put(k->txn, p, m->sku, m->transfer_id, &mv->transfer);
        if (rc)
            return store_error(k, rc, "write of a transfer line", errstr, errstr_size);
        if (emit_transfer(&k->emit, p, m->sku, m->transfer_id, &mv->transfer) != 0) {
            snprintf(errstr, errstr_size, "produce to %s failed", k->kc.t_state);
            return INV_TXLOOP_ABORT;
        }
        pt->state_changed = 1;
    }
    /* The count history, and what the dedup log carries of it. */
    size_t id_len = strlen(mv->m.movement_id);
    int rc;
    inv_store_dedup_history_t h = {.kind = 0};
    if (mv->out.history_add)
        h = (inv_store_dedup_history_t){1, mv->history_row, mv->in.placed_at_ms, mv->out.history_delta};
    else if (mv->out.count_applied)
        h = (inv_store_dedup_history_t){2, mv->history_row, mv->in.placed_at_ms, 0};
    if (h.kind == 1) {
        inv_counts_batch_add(&k->history, p, mv->m.movement_id, id_len, &h);
        /* a large batch puts its changes in runs, so the memory they take stays small */
        if (k->history.len >= HISTORY_RUN && (rc = inv_counts_batch_flush(&k->history, k->txn)) != 0)
            return store_error(k, rc, "write of the count history", errstr, errstr_size);
    } else if (h.kind == 2) {
        inv_counts_batch_drop_through(&k->history, p, h.row, h.at_ms);
        if ((rc = inv_counts_replay(k->txn, p, mv->m.movement_id, id_len, &h)) != 0)
            return store_error(k, rc, "write of the count history", errstr, errstr_size);
    }
    if (emit_outputs(&k->emit, &mv->out, mv->ts, errstr, errstr_size) != 0)
        return INV_TXLOOP_ABORT;
    if (mv->out.report) { /* applied, and reported: once, as the id is applied once */
        char reason[INV_RULES_SCRATCH_DEFAULT];
        snprintf(reason, sizeof reason, "%s: %s", mv->m.movement_id, mv->out.report);
        inv_txloop_source_t src = inv_txloop_source_of(msg);
        if (inv_txloop_dead_letter(k->loop, &src, reason) != 0) {
            snprintf(errstr, errstr_size, "produce of a report to the DLQ failed");
            return INV_TXLOOP_ABORT;
        }
    }
    batch_ids_add(&k->batch, pt, mv->m.movement_id, id_len, &h);
    if (pt->ids.len - pt->ids_sent >= DEDUP_RECORD_BYTES && emit_ids(&k->emit, p, pt, 0) != 0) {
        snprintf(errstr, errstr_size, "produce to %s failed", k->kc.t_dedup);
        return INV_TXLOOP_ABORT;
    }
    batch_latency_add(&k->batch, mv->ts);
    inv_keeper_metrics_movement(k->metrics, mv->m.type);
    return 0;
}

/* ---- txloop handlers ----------------------------------------------------------- */

static int process(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr, size_t errstr_size) {
    (void)loop;
    keeper_t *k = opaque;
    if (!k->txn && batch_begin(k, errstr, errstr_size) != 0)
        return INV_TXLOOP_ABORT;
    int32_t p = msg->partition;
    partition_t *pt = batch_partition(&k->batch, p);
    move_t mv;
    mv.ts = take_message(pt, msg);
    int rc = inv_decoder_decode_movement(k->decoder, msg->payload, msg->len, &mv.m, errstr, errstr_size);
    if (rc == INV_DECODE_RETRY) {
        /* The writer schema is unavailable (registry unreachable), not the
         * movement's fault: wait, then abort the batch so that it is
         * delivered again instead of dead-lettered. */
        inv_decode_backoff_wait(&k->decode_backoff, errstr);
        return INV_TXLOOP_ABORT;
    }
    inv_decode_backoff_done(&k->decode_backoff);
    if (rc != 0)
        return INV_TXLOOP_DEAD_LETTER;
    int seen = 0;
    rc = read_rows(k, p, &mv, errstr, errstr_size);
    if (!rc)
        rc = apply_rules(k, p, &mv, &seen, errstr, errstr_size);
    if (rc)
        return rc;
    if (seen) {
        inv_keeper_metrics_duplicate(k->metrics);
        return 0;
    }
    return record(k, p, pt, &mv, msg, errstr, errstr_size);
}

/* Partition p's end of the batch: its last dedup record, its offset in
 * LMDB, pruned ids. */
static int partition_commit(keeper_t *k, int32_t p, partition_t *pt) {
    /* One dedup record per partition per batch, even without ids (all dead
     * letters), naming the input offset the batch brings p to: a restore
     * waits until it sees the group's committed offset there, i.e. until
     * this transaction's commit markers are written. */
    if (emit_ids(&k->emit, p, pt, 1) != 0)
        return -1;
    inv_store_meta_t meta = {.input_offset = -1, .changelog_offset = -1, .dedup_log_offset = -1};
    int rc = inv_store_meta_get(k->txn, p, &meta);
    if (rc && rc != INV_STORE_NOTFOUND) {
        stall_failed(&k->stall, rc, "read of a partition's offsets");
        return -1;
    }
    meta.input_offset = pt->batch_next;
    size_t pruned = 0;
    if ((rc = inv_store_meta_put(k->txn, p, &meta)) != 0 ||
        (rc = inv_store_dedup_prune(k->txn, p, k->batch.now_ms - k->kc.dedup_window_ms, PRUNE_PER_BATCH, &pruned)) !=
            0 ||
        (rc = inv_counts_sweep(k->txn, p, k->kc.count_window_ms, &pt->sweep, SWEEP_PER_BATCH, NULL)) != 0) {
        stall_failed(&k->stall, rc, "write of a partition's offsets");
        return -1;
    }
    return 0;
}

static int dead_letter_policies(keeper_t *k, inv_txloop_t *loop, policies_t *pol, const char *topic);

static int before_commit(void *opaque, inv_txloop_t *loop) {
    keeper_t *k = opaque;
    char errstr[INV_ERRSTR_SIZE];
    if (!k->txn)
        return 0;
    if (k->policies.poison_len && dead_letter_policies(k, loop, &k->policies, k->kc.t_policies) != 0)
        return -1;
    if (k->channels.table.poison_len && dead_letter_policies(k, loop, &k->channels.table, k->kc.t_channels) != 0)
        return -1;
    int rc = dirty_put_all(&k->batch.dirty, k->txn);
    if (rc) {
        stall_failed(&k->stall, rc, "write of the batch's rows");
        return -1;
    }
    if ((rc = inv_counts_batch_flush(&k->history, k->txn)) != 0) {
        stall_failed(&k->stall, rc, "write of the count history");
        return -1;
    }
    if (channels_batch(&k->channels, k->txn, k->batch.now_ms, &rc, errstr, sizeof(errstr)) != 0) {
        if (rc)
            stall_failed(&k->stall, rc, "write of channel availability");
        else
            inv_log_warn("batch: %s", errstr);
        return -1;
    }
    if (emit_stock_levels(&k->emit, &k->batch.dirty, errstr, sizeof(errstr)) != 0) {
        inv_log_warn("batch: %s", errstr);
        return -1;
    }
    for (int p = 0; p < k->batch.part_count; p++)
        if (k->batch.parts[p].touched && partition_commit(k, p, &k->batch.parts[p]) != 0)
            return -1;
    return 0;
}

static void on_delivery(void *opaque, const rd_kafka_message_t *msg) {
    keeper_t *k = opaque;
    if (msg->err || msg->partition < 0 || msg->partition >= k->batch.part_count)
        return;
    const char *topic = rd_kafka_topic_name(msg->rkt);
    partition_t *pt = &k->batch.parts[msg->partition];
    if (strcmp(topic, k->kc.t_stock) == 0 && msg->offset + 1 > pt->changelog_next)
        pt->changelog_next = msg->offset + 1;
    else if (strcmp(topic, k->kc.t_dedup) == 0 && msg->offset + 1 > pt->dedup_next)
        pt->dedup_next = msg->offset + 1;
}

/* The changelog positions, known now that every delivery is reported. */
static void record_log_offsets(keeper_t *k) {
    for (int p = 0; p < k->batch.part_count; p++) {
        const partition_t *pt = &k->batch.parts[p];
        if (!pt->touched || (pt->changelog_next < 0 && pt->dedup_next < 0))
            continue;
        inv_store_meta_t meta;
        if (inv_store_meta_get(k->txn, p, &meta) == 0) {
            if (pt->changelog_next >= 0)
                meta.changelog_offset = pt->changelog_next;
            if (pt->dedup_next >= 0)
                meta.dedup_log_offset = pt->dedup_next;
            inv_store_meta_put(k->txn, p, &meta);
        }
    }
}

static void after_commit(void *opaque, inv_txloop_t *loop) {
    (void)loop;
    keeper_t *k = opaque;
    policies_poison_settle(&k->policies, 1);
    channels_settle(&k->channels, 1);
    if (!k->txn)
        return;
    record_log_offsets(k);
    double t0 = inv_time_mono_s();
    int rc = stall_commit_batch(&k->stall, k->txn); /* on failure the batch is kept */
    k->txn = NULL;
    inv_keeper_metrics_commit(k->metrics, inv_txloop_stats(k->loop), inv_time_mono_s() - t0);
    if (rc)
        return;
    int64_t now = inv_time_wall_ms();
    for (size_t i = 0; i < k->batch.latency_len; i++)
        inv_keeper_metrics_latency(k->metrics, (double)(now - k->batch.latency_ts[i]) / 1000.0);
    batch_reset(&k->batch);
}

static void after_abort(void *opaque, inv_txloop_t *loop) {
    (void)loop;
    keeper_t *k = opaque;
    policies_poison_settle(&k->policies, 0);
    channels_settle(&k->channels, 0);
    inv_store_txn_abort(k->txn);
    k->txn = NULL;
    inv_counts_batch_clear(&k->history);
    for (int p = 0; p < k->batch.part_count; p++) /* the expire movements of the batch are gone too */
        k->batch.parts[p].expire_sent_upto = INT64_MIN;
    if (!k->stall.redo) /* a batch held back by the kept one never touched the batch state */
        batch_reset(&k->batch);
}

/* The offsets LMDB records for partition p, read in a read txn of their
 * own: 0, or an inv_store error (INV_STORE_NOTFOUND: none recorded). */
static int stored_meta(keeper_t *k, int32_t p, inv_store_meta_t *meta) {
    inv_store_txn_t *rt = NULL;
    int rc = inv_store_txn_begin(k->store, 1, &rt);
    if (!rc)
        rc = inv_store_meta_get(rt, p, meta);
    inv_store_txn_abort(rt);
    return rc;
}

/* Takes up partition p, whose group offset is *offset (RD_KAFKA_OFFSET_INVALID:
 * none yet; rewritten to where the consumer starts): restored when LMDB
 * does not reflect that offset. */
static void assign_one(keeper_t *k, int32_t p, int64_t *offset) {
    batch_partition(&k->batch, p)->need_restore = 0;
    int64_t committed = *offset;
    inv_store_meta_t meta;
    int rc = stored_meta(k, p, &meta);
    int64_t want = committed < 0 ? 0 : committed;
    if (rc == 0 && meta.input_offset == want) {
        inv_log_info("partition %d: local state is current at offset %lld", p, (long long)want);
    } else {
        inv_log_info("partition %d: local state %s (group committed offset %lld): restoring from %s", p,
                     rc == 0 ? "differs" : "absent", (long long)want, k->kc.t_stock);
        restore_one(k, p, want); /* on failure: held, rebuilt later */
    }
    /* A group that never committed starts at the beginning (auto.offset.reset). */
    *offset = committed < 0 ? RD_KAFKA_OFFSET_BEGINNING : committed;
    partition_t *pt = &k->batch.parts[p];
    pt->next_offset = want;
    pt->assigned = 1;
    pt->expire_sent_upto = INT64_MIN;
    pt->ready = !pt->need_restore;
    inv_keeper_metrics_partition_assigned(k->metrics, p);
    inv_keeper_metrics_partition_serving(k->metrics, p, pt->ready);
}

static int on_assign(void *opaque, inv_txloop_t *loop, rd_kafka_topic_partition_list_t *parts) {
    keeper_t *k = opaque;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_committed(inv_txloop_consumer(loop), parts, 30000)) && keeper_running(k))
        inv_log_warn("fetching committed offsets: %s; retrying", rd_kafka_err2str(err));
    if (err)
        return -1;
    if (stall_redo_flush(&k->stall) != 0)
        stall_redo_drop(&k->stall, 0); /* the offset check below rebuilds what it touched */
    for (int i = 0; i < parts->cnt; i++)
        assign_one(k, parts->elems[i].partition, &parts->elems[i].offset);
    channels_partition_changed(&k->channels);
    return 0;
}

/* After an abort the consumer was rewound to the group's committed offsets.
 * LMDB reflects them, unless the loop lost track of a transaction that did
 * commit (it gave up on a stuck commit, or the producer failed fatally
 * during one): LMDB then lacks that batch, and the partitions it moved on
 * are rebuilt from Kafka as if taken over. */
static void on_rewind(void *opaque, inv_txloop_t *loop, const rd_kafka_topic_partition_list_t *committed) {
    (void)loop;
    keeper_t *k = opaque;
    if (stall_redo_flush(&k->stall) != 0)
        stall_redo_drop(&k->stall, 0); /* the check below rebuilds what it touched */
    for (int i = 0; i < committed->cnt; i++) {
        int32_t p = committed->elems[i].partition;
        if (p < 0 || p >= k->batch.part_count)
            continue;
        partition_t *pt = &k->batch.parts[p];
        if (!pt->assigned || pt->need_restore)
            continue; /* held: rebuilt at its turn */
        int64_t want = committed->elems[i].offset < 0 ? 0 : committed->elems[i].offset;
        inv_store_meta_t meta;
        int rc = stored_meta(k, p, &meta);
        if (rc == 0 && meta.input_offset == want)
            continue;
        inv_log_warn("partition %d: local state is at offset %lld but the group committed %lld (a transaction "
                     "committed after the producer gave up on it): restoring from %s",
                     p, rc == 0 ? (long long)meta.input_offset : -1LL, (long long)want, k->kc.t_stock);
        pt->ready = 0;
        inv_keeper_metrics_partition_serving(k->metrics, p, 0);
        if (restore_one(k, p, want) == 0)
            pt->next_offset = want;
    }
}

static void on_revoke(void *opaque, inv_txloop_t *loop, const rd_kafka_topic_partition_list_t *parts) {
    (void)loop;
    keeper_t *k = opaque;
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < k->batch.part_count) {
            partition_t *pt = &k->batch.parts[p];
            pt->assigned = pt->ready = pt->need_restore = 0;
            inv_keeper_metrics_partition_revoked(k->metrics, p);
        }
    }
    /* The kept batch goes in now or never: once a partition of it has
     * moved, a restore may bring that partition past it. */
    if (stall_redo_flush(&k->stall) != 0)
        stall_redo_drop(&k->stall, 1);
}

/* ---- policy records that cannot be applied ------------------------------------ */

/* The movements partition whose owner dead-letters policy record x: one
 * instance of the group does it, whatever the number of instances reading
 * the table. */
static int32_t poison_owner(const keeper_t *k, const policy_poison_t *x) {
    return x->partition % k->movement_partitions;
}

/* x's owner partition is ours, current, and consumed input in this batch:
 * the batch's dedup record for it then names the input offset the batch
 * commits, so a restore that takes the partition over waits for this
 * transaction and finds x's id (a transaction without input would name no
 * new offset, and a restore could miss it). */
static int poison_ours(const keeper_t *k, const policy_poison_t *x) {
    int32_t p = poison_owner(k, x);
    return !x->in_flight && p < k->batch.part_count && k->batch.parts[p].ready && k->batch.parts[p].touched;
}

/* Dead-letters x, a record of `topic` (the policy or the channel table),
 * into the open transaction, once: its id ("policies:<partition>:<offset>",
 * "channels:...") joins the owner partition's applied ids in the same
 * transaction, and moves with that partition (dedup log, restore) as a
 * movement's does. 0 or -1. */
static int dead_letter_policy(keeper_t *k, inv_txloop_t *loop, policy_poison_t *x, const char *topic,
                              const char *table) {
    int32_t p = poison_owner(k, x);
    char id[64];
    int n = snprintf(id, sizeof(id), "%s:%d:%lld", table, x->partition, (long long)x->offset);
    int seen, rc = inv_store_dedup_seen_or_add(k->txn, p, id, (size_t)n, k->batch.now_ms, &seen);
    if (rc) {
        stall_failed(&k->stall, rc, "write of a policy dead letter's id");
        return -1;
    }
    x->in_flight = 1;
    if (seen)
        return 0;
    inv_txloop_source_t src = {.topic = topic,
                               .partition = x->partition,
                               .offset = x->offset,
                               .key = x->key,
                               .key_len = x->key_len,
                               .value = x->value,
                               .value_len = x->value_len,
                               .timestamp_ms = x->timestamp_ms};
    if (inv_txloop_dead_letter(loop, &src, x->reason) != 0)
        return -1;
    batch_ids_add(&k->batch, &k->batch.parts[p], id, (size_t)n, NULL);
    return 0;
}

/* The records of pol's table (of `topic`) waiting to be dead-lettered
 * whose owner partition this batch consumed (poison_ours), into the batch's
 * transaction. 0, or -1 (the batch must abort). */
static int dead_letter_policies(keeper_t *k, inv_txloop_t *loop, policies_t *pol, const char *topic) {
    const char *table = pol->ops ? pol->ops->name : "policies";
    for (size_t i = 0; i < pol->poison_len; i++)
        if (poison_ours(k, &pol->poison[i]) && dead_letter_policy(k, loop, &pol->poison[i], topic, table) != 0)
            return -1;
    return 0;
}

/* ---- expiries ------------------------------------------------------------------ */

typedef struct {
    char sku[257], location[257], reservation_id[257];
    inv_rules_hold_t h;
} due_line_t;

typedef struct {
    due_line_t *lines;
    size_t len;
    int64_t after_ms; /* only lines that expire after this */
} due_list_t;

static int due_collect(void *opaque, const char *sku, const char *location, const char *rid,
                       const inv_rules_hold_t *h) {
    due_list_t *d = opaque;
    if (h->expires_at_ms <= d->after_ms)
        return 0;
    due_line_t *l = &d->lines[d->len++];
    snprintf(l->sku, sizeof(l->sku), "%s", sku);
    snprintf(l->location, sizeof(l->location), "%s", location);
    snprintf(l->reservation_id, sizeof(l->reservation_id), "%s", rid);
    l->h = *h;
    return d->len == EXPIRY_PER_SCAN ? 1 : 0;
}

/* The lines of partition p due now and not written yet, into *d: read in
 * the batch's txn when one is open, else in a read txn of their own. */
static int due_lines(keeper_t *k, int32_t p, int64_t now_ms, due_list_t *d) {
    inv_store_txn_t *t = k->txn;
    int rc = t ? 0 : inv_store_txn_begin(k->store, 1, &t);
    if (!rc)
        rc = inv_holds_due(t, p, now_ms, 0, due_collect, d);
    if (!k->txn)
        inv_store_txn_abort(t);
    return rc < 0 || rc > 1 ? rc : 0;
}

/* Writes the expire movement of every open reservation line whose expiry
 * has come, in a transaction (opened here when no input is flowing), to
 * the line's own movements partition: applied when read back, after
 * whatever came before it there, exactly once (its id is deterministic),
 * and by whichever instance owns the partition then. */
static void expire_due(keeper_t *k, inv_txloop_t *loop) {
    double now = inv_time_mono_s();
    if (now < k->next_expiry_scan || k->stall.stalled || catch_up_pending(k))
        return;
    k->next_expiry_scan = now + EXPIRY_SCAN_SECONDS;
    int64_t wall = inv_time_wall_ms();
    due_list_t d = {.lines = NULL};
    for (int p = 0; p < k->batch.part_count; p++) {
        partition_t *pt = &k->batch.parts[p];
        if (!pt->assigned || !pt->ready || pt->need_restore)
            continue;
        if (now >= pt->expire_resend_at) {
            pt->expire_sent_upto = INT64_MIN;
            pt->expire_resend_at = now + EXPIRY_RESEND_SECONDS;
        }
        if (!d.lines)
            d.lines = inv_xrealloc(NULL, EXPIRY_PER_SCAN * sizeof(*d.lines));
        d.len = 0;
        d.after_ms = pt->expire_sent_upto;
        int rc = due_lines(k, p, wall, &d);
        if (rc) {
            inv_log_warn("partition %d: reading the reservations due: %s", p, inv_store_strerror(rc));
            continue;
        }
        if (!d.len)
            continue;
        if (inv_txloop_begin(loop) != 0)
            break; /* no transaction now: the next scan */
        char errstr[INV_ERRSTR_SIZE];
        for (size_t i = 0; i < d.len; i++) {
            due_line_t *l = &d.lines[i];
            if (emit_expire(&k->emit, p, l->sku, l->location, l->reservation_id, &l->h, errstr, sizeof(errstr)) != 0) {
                inv_log_warn("partition %d: expire movement of reservation %s: %s", p, l->reservation_id, errstr);
                break;
            }
            inv_keeper_metrics_expiry_due(k->metrics);
            if (l->h.expires_at_ms > pt->expire_sent_upto)
                pt->expire_sent_upto = l->h.expires_at_ms;
        }
    }
    free(d.lines);
}

static void tick(void *opaque, inv_txloop_t *loop) {
    keeper_t *k = opaque;
    if (k->stall.fatal) {
        inv_txloop_stop(loop);
        return;
    }
    double now = inv_time_mono_s();
    /* Between batches (the batch's LMDB write txn is the only writer): held
     * LMDB work, even while no input comes, and policy updates, which wait
     * for the retry time too while LMDB writes fail. */
    if (!k->txn && now >= k->stall.retry_at && catch_up_pending(k))
        catch_up(k);
    if (!k->txn && (!k->stall.stalled || now >= k->stall.retry_at)) {
        policies_poll(&k->policies, 0, NULL);
        channels_poll(&k->channels);
    }
    /* A sweep of the channel table without input to carry it: a
     * transaction of its own (channels_batch runs in before_commit). */
    if (!k->txn && !k->stall.stalled && !catch_up_pending(k) && channels_want_txn(&k->channels) &&
        inv_txloop_begin(loop) == 0) {
        char errstr[INV_ERRSTR_SIZE];
        if (batch_begin(k, errstr, sizeof(errstr)) != 0)
            inv_log_warn("channel availability: %s", errstr);
    }
    expire_due(k, loop);
    if (now - k->last_lag_check >= 1.0) {
        k->last_lag_check = now;
        inv_keeper_metrics_update_lag(k->metrics, inv_txloop_consumer(loop), k->kc.t_movements, k->batch.parts,
                                      k->batch.part_count);
    }
}

/* ---- set-up ------------------------------------------------------------------- */

static int check_partitions(keeper_t *k, char *errstr, size_t errstr_size) {
    rd_kafka_t *rk = k->restore_consumer;
    const keeper_conf_t *kc = &k->kc;
    int nm = inv_kafka_partition_count(rk, kc->t_movements, 15000, errstr, errstr_size);
    if (nm < 0)
        return -1;
    int ns = inv_kafka_partition_count(rk, kc->t_stock, 15000, errstr, errstr_size);
    if (ns < 0)
        return -1;
    int nd = inv_kafka_partition_count(rk, kc->t_dedup, 15000, errstr, errstr_size);
    if (nd < 0)
        return -1;
    int nt = inv_kafka_partition_count(rk, kc->t_state, 15000, errstr, errstr_size);
    if (nt < 0)
        return -1;
    int na = inv_kafka_partition_count(rk, kc->t_availability, 15000, errstr, errstr_size);
    if (na < 0)
        return -1;
    if (ns != nm || nd != nm || nt != nm || na != nm) {
        snprintf(errstr, errstr_size,
                 "%s has %d partitions but %s has %d, %s %d, %s %d and %s %d: they must match (partition p of the "
                 "changelogs and of the availability belongs to movements partition p)",
                 kc->t_movements, nm, kc->t_stock, ns, kc->t_dedup, nd, kc->t_state, nt, kc->t_availability, na);
        return -1;
    }
    k->emit.availability_partitions = na;
    batch_partition(&k->batch, nm - 1);
    k->movement_partitions = nm;
    if ((k->emit.reorders_partitions = inv_kafka_partition_count(rk, kc->t_reorders, 15000, errstr, errstr_size)) < 0 ||
        (k->emit.shortages_partitions = inv_kafka_partition_count(rk, kc->t_shortages, 15000, errstr, errstr_size)) <
            0 ||
        (k->emit.status_partitions =
             inv_kafka_partition_count(rk, kc->t_reservation_status, 15000, errstr, errstr_size)) < 0)
        return -1;
    return 0;
}

/* Opens the state dir, and takes its instance id when conf has none. */
static int open_store(keeper_t *k, inv_conf_t *conf, char *errstr, size_t errstr_size) {
    keeper_conf_t *kc = &k->kc;
    int src = inv_store_open(kc->state_dir, &kc->store, &k->store);
    if (src) {
        snprintf(errstr, errstr_size, "state dir %s: %s", kc->state_dir, inv_store_strerror(src));
        return -1;
    }
    inv_store_info_t sinfo;
    if (kc->store.sync == INV_STORE_SYNC_NONE && inv_store_info(k->store, &sinfo) == 0 && !sinfo.writemap)
        inv_log_warn("state dir %s: no room to reserve the %llu MiB LMDB map: pages are written with write() (slower) "
                     "until the next start; free space or lower lmdb.map.size.mb",
                     kc->state_dir, (unsigned long long)(sinfo.map_size >> 20));
    if (inv_store_was_reset(k->store))
        inv_log_warn("state dir %s: dropped the LMDB state left by an earlier boot with unsynced commits (an OS "
                     "crash may have torn it); every partition is rebuilt from %s",
                     kc->state_dir, kc->t_stock);
    /* The transactional id comes from the state dir: a restarted instance
     * fences its dead predecessor at once. */
    keeper_conf_default_instance_id(conf, kc, inv_store_instance_id(k->store), errstr, errstr_size);
    return 0;
}

/* Everything before the loop: store, codec, consumers, metrics, policies. */
static int keeper_open(keeper_t *k, inv_conf_t *conf, char *errstr, size_t errstr_size) {
    const keeper_conf_t *kc = &k->kc;
    if (open_store(k, conf, errstr, errstr_size) != 0)
        return -1;
    inv_kafka_settings_read(conf, &k->kafka);
    inv_codec_conf_read(conf, &k->codec);
    const inv_schema_output_t outputs[] = {{INV_MSG_STOCK_LEVEL, kc->t_stock},
                                           {INV_MSG_REORDER_EVENT, kc->t_reorders},
                                           {INV_MSG_SHORTAGE_EVENT, kc->t_shortages}};
    if (inv_schema_source_open(conf, &k->codec, outputs, sizeof(outputs) / sizeof(outputs[0]), k->run, &k->schemas,
                               errstr, errstr_size) != 0)
        return -1;
    const inv_schema_resolver_t *resolver = inv_schema_source_resolver(k->schemas);
    if (!(k->decoder = inv_decoder_new(resolver, errstr, errstr_size)) ||
        !(k->encoder = inv_encoder_new(k->codec.output_format, resolver, errstr, errstr_size)))
        return -1;
    if (!(k->restore_consumer = inv_restore_consumer_new(&k->kafka, kc->group_id, errstr, errstr_size)))
        return -1;
    if (check_partitions(k, errstr, errstr_size) != 0)
        return -1;
    if (inv_keeper_metrics_start(&k->metrics, kc, k->store, errstr, errstr_size) != 0)
        return -1;
    inv_keeper_metrics_attach_schemas(k->metrics, k->schemas);
    stall_init(&k->stall, kc->state_dir, kc->t_stock, k->store, &k->batch, k->metrics);
    k->emit.encoder = k->encoder;
    k->emit.metrics = k->metrics;
    k->emit.t_stock = kc->t_stock;
    k->emit.t_reorders = kc->t_reorders;
    k->emit.t_shortages = kc->t_shortages;
    k->emit.t_dedup = kc->t_dedup;
    k->emit.t_state = kc->t_state;
    k->emit.t_reservation_status = kc->t_reservation_status;
    k->emit.t_movements = kc->t_movements;
    k->emit.t_availability = kc->t_availability;
    inv_buf_init(&k->emit.buf);
    k->policies = (policies_t){
        .topic = kc->t_policies, .store = k->store, .decoder = k->decoder, .metrics = k->metrics, .stall = &k->stall};
    k->channels = (channels_t){.table = {.topic = kc->t_channels,
                                         .store = k->store,
                                         .decoder = k->decoder,
                                         .metrics = k->metrics,
                                         .stall = &k->stall},
                               .batch = &k->batch,
                               .emit = &k->emit};
    /* both global tables fetch at once, then each is read to its end */
    if (policies_open(&k->policies, &k->kafka, kc->group_id, errstr, errstr_size) != 0 ||
        channels_open(&k->channels, &k->kafka, kc->group_id, errstr, errstr_size) != 0 ||
        policies_read(&k->policies, k->run, errstr, errstr_size) != 0)
        return -1;
    return channels_read(&k->channels, k->run, errstr, errstr_size);
}

/* After the loop: the kept batch's last chance, and what stays behind. */
static void keeper_stopped(keeper_t *k) {
    stall_redo_flush(&k->stall);
    int behind = k->stall.redo;
    for (int p = 0; p < k->batch.part_count; p++)
        behind += k->batch.parts[p].need_restore;
    if (behind)
        inv_log_warn("state dir %s: stopping with LMDB behind Kafka for some partitions; they are rebuilt from %s when "
                     "next assigned",
                     k->kc.state_dir, k->kc.t_stock);
}

static void keeper_close(keeper_t *k) {
    inv_keeper_metrics_destroy(k->metrics);
    inv_txloop_destroy(k->loop);
    inv_store_txn_abort(k->txn);
    /* What was to be committed (Kafka, LMDB) is by now: a destroy that hangs
     * (librdkafka 2.0.x) must not keep the process from exiting */
    policies_close(&k->policies, k->kc.shutdown_timeout_ms);
    channels_close(&k->channels, k->kc.shutdown_timeout_ms);
    inv_kafka_close_destroy(k->restore_consumer, "the restore consumer", k->kc.shutdown_timeout_ms);
    inv_encoder_destroy(k->encoder);
    inv_decoder_destroy(k->decoder);
    inv_schema_source_close(k->schemas);
    inv_store_close(k->store);
    inv_counts_batch_free(&k->history);
    inv_kafka_settings_free(&k->kafka);
    batch_free(&k->batch);
    inv_buf_free(&k->emit.buf);
}

int inv_keeper_run(inv_conf_t *conf, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    keeper_t k = {.run = run};
    keeper_conf_read(conf, &k.kc);
    batch_init(&k.batch, ARENA_BYTES);
    int rc = -1;
    if (keeper_open(&k, conf, errstr, errstr_size) != 0) {
        if (!*run)
            rc = 0; /* stopped during start-up (e.g. while the registry was away): a clean stop */
        goto out;
    }
    inv_txloop_handler_t h = {
        .opaque = &k,
        .process = process,
        .before_commit = before_commit,
        .after_commit = after_commit,
        .after_abort = after_abort,
        .on_assign = on_assign,
        .on_revoke = on_revoke,
        .on_rewind = on_rewind,
        .on_delivery = on_delivery,
        .tick = tick,
        .run = run,
    };
    if (!(k.loop = inv_txloop_new(&k.kafka, k.kc.t_movements, &h, errstr, errstr_size)))
        goto out;
    k.emit.loop = k.loop;
    inv_keeper_metrics_attach(k.metrics, k.loop);
    rc = inv_txloop_run(k.loop);
    keeper_stopped(&k);
    if (rc != 0 || k.stall.fatal) {
        snprintf(errstr, errstr_size, "%s",
                 k.stall.fatal_err[0] ? k.stall.fatal_err : "stopped after an unrecoverable error (see log)");
        rc = -1;
    }
out:
    keeper_close(&k);
    return rc;
}
