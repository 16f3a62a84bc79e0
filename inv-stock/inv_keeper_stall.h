/*
 * inv_keeper_stall: LMDB that cannot be written (a full disk, mostly) is
 * reported and survived. The input is held (batches abort and rewind, so
 * nothing is applied twice or lost) and the write is retried every
 * STALL_RETRY_SECONDS until it goes through; the error line repeats every
 * STALL_REMIND_SECONDS. While stalled, /healthz is not ready
 * (inv_keeper_metrics_state_error).
 *
 * A batch whose Kafka transaction committed but whose LMDB commit failed is
 * kept (the batch_t is not reset) and written again ("redo") before
 * anything else touches LMDB, or given up, in which case its partitions
 * are rebuilt from the changelog.
 *
 * Errors are inv_store codes. One stall_t per keeper, used on its loop
 * thread only.
 */
#ifndef INV_KEEPER_STALL_H
#define INV_KEEPER_STALL_H

#include <stddef.h>

#include "inv_keeper_batch.h"
#include "inv_keeper_metrics.h"
#include "inv_store.h"

#define STALL_RETRY_SECONDS 1.0
#define STALL_REMIND_SECONDS 60.0

typedef struct {
    /* borrowed, set by stall_init */
    const char *state_dir;
    const char *stock_topic; /* named in the log: where dropped partitions come from */
    inv_store_t *store;
    batch_t *batch;
    inv_keeper_metrics_t *metrics; /* NULL: not reported there */
    /* Commits an LMDB write txn, ending it either way: inv_store_txn_commit;
     * tests put a failing one here. */
    int (*commit)(inv_store_txn_t *txn);

    int stalled;             /* the last LMDB write failed; reported until one succeeds */
    int err;                 /* its inv_store code */
    double since, logged_at; /* monotonic seconds */
    double retry_at;         /* held work is tried again from then */
    int redo;                /* the batch is in Kafka but not in LMDB: kept, to write again */
    int fatal;               /* LMDB panicked: the keeper stops (fatal_err says why) */
    char fatal_err[512];
} stall_t;

void stall_init(stall_t *s, const char *state_dir, const char *stock_topic, inv_store_t *store, batch_t *batch,
                inv_keeper_metrics_t *metrics);

/* An LMDB write (or read) failed with rc, doing `what`. INV_STORE_MAP_FULL
 * is no failure to report: redone at once, the next begin grows the map.
 * Anything else is logged (once, then every STALL_REMIND_SECONDS), counted
 * in metrics, and the held work waits STALL_RETRY_SECONDS; INV_STORE_PANIC
 * is fatal. */
void stall_failed(stall_t *s, int rc, const char *what);
/* stall_failed, and a sentence for the caller's errstr. */
void stall_describe(stall_t *s, int rc, const char *what, char *errstr, size_t errstr_size);
/* An LMDB write went through: the stall, if any, is over (logged). */
void stall_ok(stall_t *s);
/* Held work waits until STALL_RETRY_SECONDS from now. */
void stall_retry_later(stall_t *s);
/* 1 while held work must wait (before retry_at). */
int stall_waiting(const stall_t *s);
/* Sleeps towards retry_at, at most 100 ms (the caller checks its run flag
 * between naps). */
void stall_nap(const stall_t *s);

/* Commits the batch's LMDB txn (taking it) after Kafka committed the batch.
 * On failure the batch is kept for stall_redo_flush (s->redo = 1) and the
 * failure reported. 0, or the inv_store code. */
int stall_commit_batch(stall_t *s, inv_store_txn_t *txn);
/* Writes the kept batch in one txn: its changed rows at their final
 * values, its applied movement ids (with the batch's newest timestamp, as
 * the dedup log carries them) and its partitions' offsets, except for the
 * partitions whose reservation lines the batch changed (not kept: those
 * are marked need_restore and rebuilt from Kafka, which has the batch);
 * then forgets it (batch_reset) and ends the stall. 0 (also when nothing is kept), or the
 * inv_store code of the failed write (the batch stays kept; not reported:
 * the caller decides). */
int stall_redo_flush(stall_t *s);
/* Gives up the kept batch (its partitions' LMDB offsets stay behind the
 * group's, so they are rebuilt from the changelog): with mark_assigned,
 * those of its partitions still assigned get need_restore now, the others
 * when next assigned (the offset check). Logged; returns how many
 * partitions the batch had touched. */
int stall_redo_drop(stall_t *s, int mark_assigned);

#endif
