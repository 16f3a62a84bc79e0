#include "inv_keeper_stall.h"

#include "inv_counts.h"

#include <stdio.h>
#include <time.h>

#include "inv_log.h"
#include "inv_time.h"

void stall_init(stall_t *s, const char *state_dir, const char *stock_topic, inv_store_t *store, batch_t *batch,
                inv_keeper_metrics_t *metrics) {
    *s = (stall_t){.state_dir = state_dir,
                   .stock_topic = stock_topic,
                   .store = store,
                   .batch = batch,
                   .metrics = metrics,
                   .commit = inv_store_txn_commit};
}

void stall_failed(stall_t *s, int rc, const char *what) {
    if (rc == INV_STORE_MAP_FULL)
        return;
    double now = inv_time_mono_s();
    if (s->metrics)
        inv_keeper_metrics_state_error(s->metrics, rc);
    s->retry_at = now + STALL_RETRY_SECONDS;
    if (rc == INV_STORE_PANIC && !s->fatal) {
        s->fatal = 1;
        snprintf(s->fatal_err, sizeof(s->fatal_err), "state dir %s: LMDB %s: %s: a restart reopens it", s->state_dir,
                 what, inv_store_strerror(rc));
    }
    if (!s->stalled)
        s->since = now;
    if (!s->stalled || rc != s->err || now - s->logged_at >= STALL_REMIND_SECONDS) {
        inv_log_error("state dir %s: LMDB %s failed: %s (%s); input held, retried every %.0f s%s", s->state_dir, what,
                      inv_store_strerror(rc), inv_store_errname(rc), STALL_RETRY_SECONDS,
                      inv_store_no_room(rc) ? " until the state dir's file system has room" : "");
        s->logged_at = now;
    }
    s->stalled = 1;
    s->err = rc;
}

void stall_describe(stall_t *s, int rc, const char *what, char *errstr, size_t errstr_size) {
    stall_failed(s, rc, what);
    snprintf(errstr, errstr_size, "state dir %s: LMDB %s: %s", s->state_dir, what, inv_store_strerror(rc));
}

void stall_ok(stall_t *s) {
    if (!s->stalled)
        return;
    inv_log_info("state dir %s: LMDB writable again after %.1f s; input resumes", s->state_dir,
                 inv_time_mono_s() - s->since);
    s->stalled = 0;
    if (s->metrics)
        inv_keeper_metrics_state_ok(s->metrics);
}

void stall_retry_later(stall_t *s) { s->retry_at = inv_time_mono_s() + STALL_RETRY_SECONDS; }

int stall_waiting(const stall_t *s) { return inv_time_mono_s() < s->retry_at; }

void stall_nap(const stall_t *s) {
    double left = s->retry_at - inv_time_mono_s();
    if (left <= 0)
        return;
    if (left > 0.1)
        left = 0.1;
    struct timespec ts = {0, (long)(left * 1e9)};
    nanosleep(&ts, NULL);
}

int stall_commit_batch(stall_t *s, inv_store_txn_t *txn) {
    int rc = s->commit(txn);
    if (rc) {
        /* Kafka has the batch, LMDB does not: kept and written again
         * (stall_redo_flush) before anything else touches LMDB. */
        stall_failed(s, rc, "commit of a batch already committed to Kafka (kept, written again)");
        s->redo = 1;
        return rc;
    }
    stall_ok(s);
    return 0;
}

/* Partition p's part of the redo in t: its ids, then its offsets. */
static int redo_partition(inv_store_txn_t *t, int32_t p, const partition_t *pt) {
    const unsigned char *cur = (const unsigned char *)pt->ids.data, *end = cur + pt->ids.len, *id;
    size_t len;
    int64_t applied_at;
    inv_store_dedup_history_t h;
    int seen, rc = 0, more;
    while (!rc && (more = inv_store_dedup_entry3_next(&cur, end, &id, &len, &applied_at, &h)) != 0) {
        rc = more < 0 ? more : inv_store_dedup_seen_or_add(t, p, id, len, applied_at, &seen);
        if (!rc && !seen) /* the count history, as the batch changed it */
            rc = inv_counts_replay(t, p, id, len, &h);
    }
    if (rc)
        return rc;
    inv_store_meta_t meta = {.input_offset = -1, .changelog_offset = -1, .dedup_log_offset = -1};
    rc = inv_store_meta_get(t, p, &meta);
    if (rc && rc != INV_STORE_NOTFOUND)
        return rc;
    meta.input_offset = pt->batch_next;
    if (pt->changelog_next >= 0)
        meta.changelog_offset = pt->changelog_next;
    if (pt->dedup_next >= 0)
        meta.dedup_log_offset = pt->dedup_next;
    return inv_store_meta_put(t, p, &meta);
}

/* Exactly what the failed txn held, short of that batch's pruning. */
static int redo_write(stall_t *s) {
    inv_store_txn_t *t = NULL;
    int rc = inv_store_txn_begin(s->store, 0, &t);
    if (!rc)
        rc = dirty_put_all(&s->batch->dirty, t);
    for (int p = 0; p < s->batch->part_count && !rc; p++)
        if (s->batch->parts[p].touched && !s->batch->parts[p].state_changed)
            rc = redo_partition(t, p, &s->batch->parts[p]);
    if (rc) {
        inv_store_txn_abort(t);
        return rc;
    }
    return s->commit(t);
}

int stall_redo_flush(stall_t *s) {
    if (!s->redo)
        return 0;
    int rc = redo_write(s);
    if (rc)
        return rc;
    inv_log_info("state dir %s: the last batch is in LMDB too now", s->state_dir);
    /* the reservation lines a batch changed are not kept for a redo: their
     * partitions are rebuilt from Kafka, which has the batch */
    for (int p = 0; p < s->batch->part_count; p++) {
        partition_t *pt = &s->batch->parts[p];
        if (pt->touched && pt->state_changed && pt->assigned) {
            pt->need_restore = 1;
            pt->restore_to = pt->batch_next;
            pt->ready = 0;
        }
    }
    s->redo = 0;
    batch_reset(s->batch);
    stall_ok(s);
    return 0;
}

int stall_redo_drop(stall_t *s, int mark_assigned) {
    int n = 0;
    for (int p = 0; p < s->batch->part_count; p++) {
        partition_t *pt = &s->batch->parts[p];
        if (!pt->touched)
            continue;
        n++;
        if (mark_assigned && pt->assigned) {
            pt->need_restore = 1;
            pt->restore_to = pt->batch_next;
            pt->ready = 0;
        }
    }
    inv_log_warn("state dir %s: the LMDB write of the last batch is given up; its %d partition(s) are rebuilt from "
                 "%s instead",
                 s->state_dir, n, s->stock_topic);
    s->redo = 0;
    batch_reset(s->batch);
    return n;
}
