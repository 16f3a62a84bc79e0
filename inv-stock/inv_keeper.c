#include "inv_keeper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_codec.h"
#include "inv_kafka.h"
#include "inv_keeper_metrics.h"
#include "inv_log.h"
#include "inv_codec_conf.h"
#include "inv_restore.h"
#include "inv_rules.h"
#include "inv_store.h"
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

/*
 * LMDB that cannot be written (a full disk, mostly) is reported and survived:
 * the input is held (batches abort and rewind, so nothing is applied twice
 * or lost) and the write is retried every RETRY_SECONDS until it goes
 * through. A batch waits up to HOLD_SECONDS in process() before giving up,
 * so the consumer is still polled (rebalances, SIGTERM) and the txloop logs
 * an abort that rarely; the keeper's own error line repeats every
 * REMIND_SECONDS.
 */
#define RETRY_SECONDS 1.0
#define HOLD_SECONDS 5.0
#define REMIND_SECONDS 60.0

/* What one batch did to one partition. */
typedef struct {
    int touched;            /* consumed in this batch */
    int64_t next_offset;    /* input offset after the batch */
    int64_t max_ts;         /* newest input timestamp */
    inv_buf_t ids;          /* applied movement ids, '\n'-separated (kept for redo_write) */
    size_t ids_sent;        /* ... of which the first ids_sent bytes are produced */
    int64_t changelog_next; /* from delivery reports: next changelog offset */
    int64_t dedup_next;
} batch_part_t;

/* A changed row of the batch, kept until the batch ends: the rows in the
 * order first changed (dirty[]), found through an open-addressing index of
 * row numbers (dirty_index[]). The batch reads a row here before LMDB, and
 * writes it only here: each changed row goes to LMDB once, at its final
 * value, before the commit (rows_put), not once per movement. Produced at
 * its latest value before the commit too, and earlier once EMIT_EVERY_ROWS
 * rows wait to be produced (see there). */
typedef struct {
    int32_t partition;
    uint32_t hash;
    uint32_t slot;       /* its place in dirty_index */
    int emitted;         /* produced at its current value already */
    inv_stock_row_t row; /* the row as last written in this batch */
    char *sku; /* sku '\0' location '\0', one allocation from the arena */
    char *location;
} dirty_row_t;

typedef struct {
    inv_conf_t *conf;
    const volatile sig_atomic_t *run; /* the process's run flag, borrowed */
    inv_store_t *store;
    inv_store_txn_t *txn; /* the batch's write txn, NULL between batches */
    inv_decoder_t *decoder;
    inv_encoder_t *encoder;
    inv_codec_conf_t codec;
    inv_buf_t buf;
    inv_txloop_t *loop;
    rd_kafka_t *restore_consumer;
    rd_kafka_t *policy_consumer;
    int policy_partitions;

    const char *t_stock, *t_reorders, *t_shortages, *t_dedup, *t_policies, *t_movements;
    inv_rules_policy_t deflt;
    int64_t dedup_window_ms;

    batch_part_t *parts; /* indexed by partition */
    int part_count;
    int *assigned; /* 1 when assigned to this instance */
    int *ready;    /* 1 when restored or resumed */
    int64_t *next_offset; /* next input offset to apply, per partition */

    dirty_row_t *dirty; /* dirty_len rows, room for dirty_cap */
    size_t dirty_cap, dirty_len;
    uint32_t *dirty_index; /* index_cap slots: 0 empty, else 1 + the row's number */
    size_t index_cap;
    size_t unemitted;   /* rows changed since they were last produced */
    char *arena;
    size_t arena_len, arena_cap;

    int64_t *latency_ts; /* input timestamps of the batch (ms) */
    size_t latency_len, latency_cap;

    int fatal;
    char fatal_err[512];
    inv_keeper_metrics_t *metrics;
    double last_lag_check;

    /* LMDB writes that failed: see RETRY_SECONDS */
    const char *state_dir;
    int stalled;      /* the last LMDB write failed; reported until one succeeds */
    int stall_err;    /* its inv_store code */
    double stall_since, stall_logged_at;
    double retry_at;  /* held work (below, or a batch) is tried again from then */
    int redo;         /* the last batch is in Kafka but its LMDB commit failed: parts[] and the
                         dirty rows are kept, to write it again before anything else */
    int *need_restore;    /* per partition: rebuild from the changelog before applying it */
    int64_t *restore_to;  /* ... to this input offset (the group's committed one) */
} keeper_t;

/* Whether the keeper goes on: the process runs and nothing failed for good. */
static int keeper_running(const keeper_t *k) { return *k->run && !k->fatal; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q)
        abort();
    return q;
}

/* ---- partitions ---------------------------------------------------------- */

static void ensure_partition(keeper_t *k, int32_t p) {
    if (p < k->part_count)
        return;
    int n = p + 1;
    k->parts = xrealloc(k->parts, (size_t)n * sizeof(*k->parts));
    k->assigned = xrealloc(k->assigned, (size_t)n * sizeof(int));
    k->ready = xrealloc(k->ready, (size_t)n * sizeof(int));
    k->next_offset = xrealloc(k->next_offset, (size_t)n * sizeof(int64_t));
    k->need_restore = xrealloc(k->need_restore, (size_t)n * sizeof(int));
    k->restore_to = xrealloc(k->restore_to, (size_t)n * sizeof(int64_t));
    for (int i = k->part_count; i < n; i++) {
        memset(&k->parts[i], 0, sizeof(k->parts[i]));
        k->parts[i].changelog_next = k->parts[i].dedup_next = -1;
        k->assigned[i] = k->ready[i] = k->need_restore[i] = 0;
        k->next_offset[i] = k->restore_to[i] = 0;
    }
    k->part_count = n;
}

/* ---- the batch's dirty rows ---------------------------------------------- */

static uint32_t hash_row(int32_t p, const char *sku, const char *loc) {
    uint32_t h = 2166136261u ^ (uint32_t)p;
    for (const unsigned char *s = (const unsigned char *)sku; *s; s++)
        h = (h ^ *s) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const unsigned char *s = (const unsigned char *)loc; *s; s++)
        h = (h ^ *s) * 16777619u;
    return h ? h : 1;
}

static char *arena_copy(keeper_t *k, const char *a, const char *b, char **second) {
    size_t la = strlen(a) + 1, lb = strlen(b) + 1;
    if (k->arena_len + la + lb > k->arena_cap) {
        /* Never move the arena while the set points into it: a batch that
         * outgrows it gets a fresh allocation per row instead. */
        char *s = malloc(la + lb);
        if (!s)
            abort();
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        *second = s + la;
        return s;
    }
    char *s = k->arena + k->arena_len;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    k->arena_len += la + lb;
    *second = s + la;
    return s;
}

static int in_arena(const keeper_t *k, const char *s) { return s >= k->arena && s < k->arena + k->arena_cap; }

static void dirty_grow(keeper_t *k);

/* A stock row's key with its hash, computed once per movement for both
 * the lookup and the change. */
typedef struct {
    int32_t partition;
    const char *sku, *location;
    uint32_t hash;
} row_key_t;

static row_key_t row_key(int32_t p, const char *sku, const char *loc) {
    return (row_key_t){.partition = p, .sku = sku, .location = loc, .hash = hash_row(p, sku, loc)};
}

/* The index slot of key: the one holding its row, else the empty one where
 * it would go. The index must exist (index_cap > 0). */
static size_t dirty_slot(const keeper_t *k, const row_key_t *key) {
    size_t mask = k->index_cap - 1, i = key->hash & mask;
    for (; k->dirty_index[i]; i = (i + 1) & mask) {
        const dirty_row_t *d = &k->dirty[k->dirty_index[i] - 1];
        if (d->hash == key->hash && d->partition == key->partition && strcmp(d->sku, key->sku) == 0 &&
            strcmp(d->location, key->location) == 0)
            break;
    }
    return i;
}

/* The batch's value of the row, or NULL when the batch has not changed it. */
static const inv_stock_row_t *dirty_find(const keeper_t *k, const row_key_t *key) {
    if (!k->dirty_len)
        return NULL;
    uint32_t n = k->dirty_index[dirty_slot(k, key)];
    return n ? &k->dirty[n - 1].row : NULL;
}

static void dirty_add(keeper_t *k, const row_key_t *key, const inv_stock_row_t *row) {
    if (k->dirty_len == k->dirty_cap || (k->dirty_len + 1) * 2 > k->index_cap)
        dirty_grow(k);
    size_t i = dirty_slot(k, key);
    if (k->dirty_index[i]) {
        dirty_row_t *d = &k->dirty[k->dirty_index[i] - 1];
        d->row = *row;
        if (d->emitted) {
            d->emitted = 0;
            k->unemitted++;
        }
        return;
    }
    dirty_row_t *d = &k->dirty[k->dirty_len];
    d->hash = key->hash;
    d->partition = key->partition;
    d->slot = (uint32_t)i;
    d->sku = arena_copy(k, key->sku, key->location, &d->location);
    d->row = *row;
    d->emitted = 0;
    k->unemitted++;
    k->dirty_index[i] = (uint32_t)++k->dirty_len;
}

/* Rows grow by half (they are the set's memory, ~90 bytes each); the index
 * (4 bytes a slot) doubles to stay at most half full. */
static void dirty_grow(keeper_t *k) {
    if (k->dirty_len == k->dirty_cap) {
        k->dirty_cap = k->dirty_cap ? k->dirty_cap + k->dirty_cap / 2 : 2048;
        k->dirty = xrealloc(k->dirty, k->dirty_cap * sizeof(*k->dirty));
    }
    if ((k->dirty_len + 1) * 2 <= k->index_cap)
        return;
    free(k->dirty_index);
    k->index_cap = k->index_cap ? k->index_cap * 2 : 4096;
    if (!(k->dirty_index = calloc(k->index_cap, sizeof(*k->dirty_index))))
        abort();
    size_t mask = k->index_cap - 1;
    for (size_t j = 0; j < k->dirty_len; j++) {
        dirty_row_t *d = &k->dirty[j];
        size_t i = d->hash & mask;
        while (k->dirty_index[i])
            i = (i + 1) & mask;
        d->slot = (uint32_t)i;
        k->dirty_index[i] = (uint32_t)(j + 1);
    }
}

static void dirty_reset(keeper_t *k) {
    for (size_t j = 0; j < k->dirty_len; j++) {
        dirty_row_t *d = &k->dirty[j];
        if (!in_arena(k, d->sku))
            free(d->sku);
        k->dirty_index[d->slot] = 0;
    }
    k->dirty_len = 0;
    k->unemitted = 0;
    k->arena_len = 0;
}

static void batch_reset(keeper_t *k) {
    dirty_reset(k);
    for (int p = 0; p < k->part_count; p++) {
        batch_part_t *bp = &k->parts[p];
        bp->touched = 0;
        bp->ids.len = bp->ids_sent = 0;
        bp->max_ts = 0;
        bp->changelog_next = bp->dedup_next = -1;
    }
    k->latency_len = 0;
}

/* ---- producing outputs ----------------------------------------------------- */

static int produce_keyed(keeper_t *k, const char *topic, int32_t partition, const char *sku, const char *loc,
                         int64_t ts, rd_kafka_headers_t *hdrs) {
    char key[1100];
    int n = snprintf(key, sizeof(key), "%s|%s", sku, loc);
    if (n < 0 || (size_t)n >= sizeof(key)) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    return inv_txloop_produce(k->loop, topic, partition, key, (size_t)n, k->buf.data, k->buf.len, ts, hdrs);
}

static int emit_outputs(keeper_t *k, const inv_rules_out_t *out, int64_t ts, char *errstr, size_t errstr_size) {
    if (out->has_reorder) {
        if (inv_encoder_encode_reorder(k->encoder, &out->reorder, &k->buf, errstr, errstr_size) != 0 ||
            produce_keyed(k, k->t_reorders, RD_KAFKA_PARTITION_UA, out->reorder.sku, out->reorder.location_id, ts,
                          NULL) != 0)
            return -1;
        inv_keeper_metrics_reorder(k->metrics);
    }
    for (size_t i = 0; i < out->shortage_count; i++) {
        const inv_shortage_t *s = &out->shortages[i];
        if (inv_encoder_encode_shortage(k->encoder, s, &k->buf, errstr, errstr_size) != 0 ||
            produce_keyed(k, k->t_shortages, RD_KAFKA_PARTITION_UA, s->sku, s->location_id, ts, NULL) != 0)
            return -1;
        inv_keeper_metrics_shortage(k->metrics, s->state);
    }
    return 0;
}

/* Produces the StockLevel of every row the batch changed since it was last
 * produced, to the changelog partition of its input partition. The rows
 * are the ones kept by dirty_add(), as last written: no LMDB read here. */
static int emit_stock_levels(keeper_t *k, char *errstr, size_t errstr_size) {
    for (size_t j = 0; j < k->dirty_len && k->unemitted; j++) {
        dirty_row_t *d = &k->dirty[j];
        if (d->emitted)
            continue;
        d->emitted = 1;
        k->unemitted--;
        inv_stock_level_t level;
        inv_rules_stock_level(d->sku, d->location, &d->row, &level);
        if (inv_encoder_encode_stock_level(k->encoder, &level, &k->buf, errstr, errstr_size) != 0)
            return -1;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, INV_RESTORE_SHORTAGE_HEADER, -1, inv_shortage_state_name(d->row.shortage), -1);
        if (produce_keyed(k, k->t_stock, d->partition, d->sku, d->location, 0, hdrs) != 0) {
            snprintf(errstr, errstr_size, "produce to %s failed", k->t_stock);
            return -1;
        }
    }
    return 0;
}

/* Produces partition p's applied ids not produced yet to the dedup log;
 * with last, the record also names the input offset the batch brings p to
 * (INV_RESTORE_INPUT_OFFSET_HEADER). */
static int produce_ids(keeper_t *k, int32_t p, int last) {
    batch_part_t *bp = &k->parts[p];
    rd_kafka_headers_t *hdrs = NULL;
    if (last) {
        char next[24];
        snprintf(next, sizeof(next), "%lld", (long long)bp->next_offset);
        hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, INV_RESTORE_INPUT_OFFSET_HEADER, -1, next, -1);
    }
    size_t from = bp->ids_sent + (bp->ids_sent > 0); /* past the '\n' that follows the last one sent */
    if (from > bp->ids.len)
        from = bp->ids.len;
    int rc = inv_txloop_produce(k->loop, k->t_dedup, p, NULL, 0, (const char *)bp->ids.data + from,
                                bp->ids.len - from, bp->max_ts, hdrs);
    bp->ids_sent = bp->ids.len;
    return rc;
}

/* ---- LMDB that cannot be written ----------------------------------------------- */

/* An LMDB write (or read) failed with rc. INV_STORE_MAP_FULL is no failure
 * to report: redone at once, the next begin grows the map. Anything else is
 * logged (once, then every REMIND_SECONDS), counted, makes /healthz not
 * ready, and the held work waits RETRY_SECONDS. */
static void state_failed(keeper_t *k, int rc, const char *what) {
    if (rc == INV_STORE_MAP_FULL)
        return;
    double now = now_s();
    inv_keeper_metrics_state_error(k->metrics, rc);
    k->retry_at = now + RETRY_SECONDS;
    if (rc == INV_STORE_PANIC && !k->fatal) {
        k->fatal = 1;
        snprintf(k->fatal_err, sizeof(k->fatal_err), "state dir %s: LMDB %s: %s: a restart reopens it", k->state_dir,
                 what, inv_store_strerror(rc));
    }
    if (!k->stalled)
        k->stall_since = now;
    if (!k->stalled || rc != k->stall_err || now - k->stall_logged_at >= REMIND_SECONDS) {
        inv_log_error("state dir %s: LMDB %s failed: %s (%s); input held, retried every %.0f s%s", k->state_dir, what,
                      inv_store_strerror(rc), inv_store_errname(rc), RETRY_SECONDS,
                      inv_store_no_room(rc) ? " until the state dir's file system has room" : "");
        k->stall_logged_at = now;
    }
    k->stalled = 1;
    k->stall_err = rc;
}

/* An LMDB write went through. */
static void state_ok(keeper_t *k) {
    if (!k->stalled)
        return;
    inv_log_info("state dir %s: LMDB writable again after %.1f s; input resumes", k->state_dir,
                 now_s() - k->stall_since);
    k->stalled = 0;
    inv_keeper_metrics_state_ok(k->metrics);
}

static int store_error(keeper_t *k, int rc, const char *what, char *errstr, size_t errstr_size) {
    state_failed(k, rc, what);
    snprintf(errstr, errstr_size, "state dir %s: LMDB %s: %s", k->state_dir, what, inv_store_strerror(rc));
    return INV_TXLOOP_ABORT;
}

/* Writes the batch's changed rows, at their final values, in t. */
static int rows_put(keeper_t *k, inv_store_txn_t *t) {
    int rc = 0;
    for (size_t j = 0; j < k->dirty_len && !rc; j++) {
        const dirty_row_t *d = &k->dirty[j];
        rc = inv_store_stock_put(t, d->partition, d->sku, d->location, &d->row);
    }
    return rc;
}

/* A row as the batch sees it: its own change, else LMDB's. */
static int row_get(keeper_t *k, const row_key_t *key, inv_stock_row_t *row) {
    const inv_stock_row_t *d = dirty_find(k, key);
    if (!d)
        return inv_store_stock_get(k->txn, key->partition, key->sku, key->location, row);
    *row = *d;
    return 0;
}

/*
 * The LMDB side of the last batch, once more, after its commit failed: Kafka
 * has the batch (outputs, changelog, dedup log, consumed offsets), so the
 * keeper writes what it kept of it: the changed rows at their final values,
 * the applied movement ids (with the batch's newest timestamp, as the
 * dedup log carries them) and the partitions' offsets. Exactly what the
 * failed txn held, short of this batch's pruning.
 */
static int redo_write(keeper_t *k) {
    inv_store_txn_t *t = NULL;
    int rc = inv_store_txn_begin(k->store, 0, &t);
    if (!rc)
        rc = rows_put(k, t);
    for (int p = 0; p < k->part_count && !rc; p++) {
        batch_part_t *bp = &k->parts[p];
        if (!bp->touched)
            continue;
        const char *cur = (const char *)bp->ids.data, *end = cur + bp->ids.len;
        char id[INV_STORE_MAX_KEY + 1];
        int seen;
        while (!rc && inv_store_dedup_id_next(&cur, end, id))
            rc = inv_store_dedup_seen_or_add(t, p, id, bp->max_ts, &seen);
        inv_store_meta_t meta = {.input_offset = -1, .changelog_offset = -1, .dedup_log_offset = -1};
        int mrc = rc ? rc : inv_store_meta_get(t, p, &meta);
        if (mrc && mrc != INV_STORE_NOTFOUND) {
            rc = mrc;
            break;
        }
        meta.input_offset = bp->next_offset;
        if (bp->changelog_next >= 0)
            meta.changelog_offset = bp->changelog_next;
        if (bp->dedup_next >= 0)
            meta.dedup_log_offset = bp->dedup_next;
        rc = inv_store_meta_put(t, p, &meta);
    }
    if (rc) {
        inv_store_txn_abort(t);
        return rc;
    }
    return inv_store_txn_commit(t);
}

static void batch_reset(keeper_t *k);

/* Writes the kept batch (redo_write) and, once it is in LMDB, forgets it.
 * 0, or the inv_store code of the failed write (the batch stays kept). */
static int redo_flush(keeper_t *k) {
    int rc = redo_write(k);
    if (rc)
        return rc;
    inv_log_info("state dir %s: the last batch is in LMDB too now", k->state_dir);
    k->redo = 0;
    batch_reset(k);
    state_ok(k);
    return 0;
}

/* Gives up the kept batch (its partitions' LMDB offsets stay behind the
 * group's, so they are rebuilt from the changelog): those of `still`
 * (assigned[] unless NULL) now, the others when next assigned. */
static void redo_drop(keeper_t *k, const int *still) {
    int n = 0;
    for (int p = 0; p < k->part_count; p++) {
        if (!k->parts[p].touched)
            continue;
        n++;
        if (still && still[p]) {
            k->need_restore[p] = 1;
            k->restore_to[p] = k->parts[p].next_offset;
            k->ready[p] = 0;
        }
    }
    inv_log_warn("state dir %s: the LMDB write of the last batch is given up; its %d partition(s) are rebuilt from "
                 "%s instead",
                 k->state_dir, n, k->t_stock);
    k->redo = 0;
    batch_reset(k);
}

static int restore_one(keeper_t *k, int32_t p, int64_t input_offset);

/* LMDB catches up with Kafka before anything else is applied: the kept
 * batch, then the partitions to rebuild. 0 when nothing is left. */
static int catch_up(keeper_t *k) {
    if (k->redo) {
        int rc = redo_flush(k);
        if (rc) {
            state_failed(k, rc, "write of a batch already committed to Kafka");
            return rc;
        }
    }
    for (int p = 0; p < k->part_count; p++)
        if (k->need_restore[p] && k->assigned[p] && restore_one(k, p, k->restore_to[p]) != 0)
            return -1;
    return 0;
}

static int catch_up_pending(const keeper_t *k) {
    if (k->redo)
        return 1;
    for (int p = 0; p < k->part_count; p++)
        if (k->need_restore[p] && k->assigned[p])
            return 1;
    return 0;
}

static void nap_until(double t) {
    double left = t - now_s();
    if (left <= 0)
        return;
    if (left > 0.1)
        left = 0.1; /* the run flag is checked between naps */
    struct timespec ts = {0, (long)(left * 1e9)};
    nanosleep(&ts, NULL);
}

/*
 * The first message of a batch: waits for the retry time of failed LMDB
 * writes, lets LMDB catch up, and begins the batch's write txn. After
 * HOLD_SECONDS without success it gives up (errstr set): the txloop aborts
 * the batch and rewinds, and the message comes here again.
 */
static int batch_begin(keeper_t *k, char *errstr, size_t errstr_size) {
    double give_up = now_s() + HOLD_SECONDS;
    int rc = 0;
    while (keeper_running(k)) {
        if (now_s() < k->retry_at) {
            if (now_s() >= give_up)
                break;
            nap_until(k->retry_at);
            continue;
        }
        if ((rc = catch_up(k)) == 0 && (rc = inv_store_txn_begin(k->store, 0, &k->txn)) != 0)
            state_failed(k, rc, "begin (map growth)");
        if (rc == 0)
            return 0;
        if (now_s() >= give_up)
            break;
    }
    if (k->stalled)
        snprintf(errstr, errstr_size, "state dir %s: LMDB not writable (%s): input held", k->state_dir,
                 inv_store_strerror(k->stall_err));
    else
        snprintf(errstr, errstr_size, "%s", keeper_running(k) ? "partitions to rebuild first: input held" : "stopping");
    return -1;
}

/* ---- txloop handlers -------------------------------------------------------- */

static int process(void *opaque, inv_txloop_t *loop, const rd_kafka_message_t *msg, char *errstr,
                   size_t errstr_size) {
    (void)loop;
    keeper_t *k = opaque;
    int rc;
    if (!k->txn && batch_begin(k, errstr, errstr_size) != 0)
        return INV_TXLOOP_ABORT;
    int32_t p = msg->partition;
    ensure_partition(k, p);
    batch_part_t *bp = &k->parts[p];
    bp->touched = 1;
    bp->next_offset = msg->offset + 1;
    k->next_offset[p] = msg->offset + 1;
    int64_t ts = rd_kafka_message_timestamp(msg, NULL);
    if (ts <= 0)
        ts = wall_ms();
    if (ts > bp->max_ts)
        bp->max_ts = ts;

    inv_movement_t m;
    if (inv_decoder_decode_movement(k->decoder, msg->payload, msg->len, &m, errstr, errstr_size) != 0)
        return INV_TXLOOP_DEAD_LETTER;

    inv_rules_policy_t policy;
    int64_t net_threshold;
    inv_stock_row_t loc = INV_STOCK_ROW_INIT, net = INV_STOCK_ROW_INIT;
    if ((rc = inv_store_policy_lookup(k->txn, m.sku, m.location_id, &k->deflt, &policy, &net_threshold)) != 0)
        return store_error(k, rc, "policy lookup", errstr, errstr_size);
    row_key_t loc_key = row_key(p, m.sku, m.location_id), net_key = row_key(p, m.sku, "*");
    rc = row_get(k, &loc_key, &loc);
    if (rc == INV_STORE_KEY_TOO_LONG) {
        snprintf(errstr, errstr_size, "sku and location_id: together longer than %d bytes", INV_STORE_MAX_KEY - 5);
        return INV_TXLOOP_DEAD_LETTER;
    }
    if (rc && rc != INV_STORE_NOTFOUND)
        return store_error(k, rc, "read", errstr, errstr_size);
    if ((rc = row_get(k, &net_key, &net)) != 0 && rc != INV_STORE_NOTFOUND)
        return store_error(k, rc, "read", errstr, errstr_size);

    /* Apply to copies first: an invalid movement must reach the DLQ, not
     * the set of applied ids. */
    char scratch[INV_RULES_SCRATCH_DEFAULT];
    inv_rules_out_t out;
    rc = inv_rules_apply(&m, &policy, net_threshold, &loc, &net, scratch, sizeof(scratch), &out);
    if (rc) {
        snprintf(errstr, errstr_size, "%s: %s", m.movement_id, inv_rules_strerror(rc));
        return INV_TXLOOP_DEAD_LETTER;
    }
    int seen;
    rc = inv_store_dedup_seen_or_add(k->txn, p, m.movement_id, ts, &seen);
    if (rc == INV_STORE_KEY_TOO_LONG) {
        snprintf(errstr, errstr_size, "movement_id: longer than %d bytes", INV_STORE_MAX_KEY - 12);
        return INV_TXLOOP_DEAD_LETTER;
    }
    if (rc)
        return store_error(k, rc, "dedup", errstr, errstr_size);
    if (seen) {
        inv_keeper_metrics_duplicate(k->metrics);
        return 0;
    }
    if (out.location_changed)
        dirty_add(k, &loc_key, &loc);
    if (out.network_changed)
        dirty_add(k, &net_key, &net);
    /* A batch larger than the default (batch.max.messages) would otherwise
     * hand the producer all its rows at once, at the commit: its whole
     * output in memory together. Rows changed again later are produced
     * again; the compacted changelog keeps the last. */
    if (k->unemitted >= EMIT_EVERY_ROWS && emit_stock_levels(k, errstr, errstr_size) != 0)
        return INV_TXLOOP_ABORT;
    if (emit_outputs(k, &out, ts, errstr, errstr_size) != 0)
        return INV_TXLOOP_ABORT;
    if ((bp->ids.len && inv_buf_append(&bp->ids, "\n", 1) != 0) ||
        inv_buf_append(&bp->ids, m.movement_id, strlen(m.movement_id)) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return INV_TXLOOP_ABORT;
    }
    if (bp->ids.len - bp->ids_sent >= DEDUP_RECORD_BYTES && produce_ids(k, p, 0) != 0) {
        snprintf(errstr, errstr_size, "produce to %s failed", k->t_dedup);
        return INV_TXLOOP_ABORT;
    }
    if (k->latency_len == k->latency_cap) {
        k->latency_cap = k->latency_cap ? k->latency_cap * 2 : 4096;
        k->latency_ts = xrealloc(k->latency_ts, k->latency_cap * sizeof(int64_t));
    }
    k->latency_ts[k->latency_len++] = ts;
    inv_keeper_metrics_movement(k->metrics, m.type);
    return 0;
}

static int before_commit(void *opaque, inv_txloop_t *loop) {
    (void)loop;
    keeper_t *k = opaque;
    char errstr[512];
    if (!k->txn)
        return 0;
    int wrc = rows_put(k, k->txn);
    if (wrc) {
        state_failed(k, wrc, "write of the batch's rows");
        return -1;
    }
    if (emit_stock_levels(k, errstr, sizeof(errstr)) != 0) {
        inv_log_warn("batch: %s", errstr);
        return -1;
    }
    for (int p = 0; p < k->part_count; p++) {
        batch_part_t *bp = &k->parts[p];
        if (!bp->touched)
            continue;
        /* One dedup record per partition per batch, even without ids (all
         * dead letters), naming the input offset the batch brings p to: a
         * restore waits until it sees the group's committed offset there,
         * i.e. until this transaction's commit markers are written. */
        if (produce_ids(k, p, 1) != 0)
            return -1;
        inv_store_meta_t meta = {.input_offset = -1, .changelog_offset = -1, .dedup_log_offset = -1};
        int rc = inv_store_meta_get(k->txn, p, &meta);
        if (rc && rc != INV_STORE_NOTFOUND) {
            state_failed(k, rc, "read of a partition's offsets");
            return -1;
        }
        meta.input_offset = bp->next_offset;
        size_t pruned = 0;
        if ((rc = inv_store_meta_put(k->txn, p, &meta)) != 0 ||
            (rc = inv_store_dedup_prune(k->txn, p, bp->max_ts - k->dedup_window_ms, PRUNE_PER_BATCH, &pruned)) != 0) {
            state_failed(k, rc, "write of a partition's offsets");
            return -1;
        }
    }
    return 0;
}

static void on_delivery(void *opaque, const rd_kafka_message_t *msg) {
    keeper_t *k = opaque;
    if (msg->err || msg->partition < 0 || msg->partition >= k->part_count)
        return;
    const char *topic = rd_kafka_topic_name(msg->rkt);
    batch_part_t *bp = &k->parts[msg->partition];
    if (strcmp(topic, k->t_stock) == 0 && msg->offset + 1 > bp->changelog_next)
        bp->changelog_next = msg->offset + 1;
    else if (strcmp(topic, k->t_dedup) == 0 && msg->offset + 1 > bp->dedup_next)
        bp->dedup_next = msg->offset + 1;
}

static int restore_one(keeper_t *k, int32_t p, int64_t input_offset);

static void after_commit(void *opaque, inv_txloop_t *loop) {
    (void)loop;
    keeper_t *k = opaque;
    if (!k->txn)
        return;
    /* The changelog positions are known now that every delivery is reported. */
    for (int p = 0; p < k->part_count; p++) {
        batch_part_t *bp = &k->parts[p];
        if (!bp->touched || (bp->changelog_next < 0 && bp->dedup_next < 0))
            continue;
        inv_store_meta_t meta;
        if (inv_store_meta_get(k->txn, p, &meta) == 0) {
            if (bp->changelog_next >= 0)
                meta.changelog_offset = bp->changelog_next;
            if (bp->dedup_next >= 0)
                meta.dedup_log_offset = bp->dedup_next;
            inv_store_meta_put(k->txn, p, &meta);
        }
    }
    double t0 = now_s();
    int rc = inv_store_txn_commit(k->txn);
    k->txn = NULL;
    const inv_txloop_stats_t *st = inv_txloop_stats(k->loop);
    inv_keeper_metrics_commit(k->metrics, st, now_s() - t0);
    if (rc) {
        /* Kafka has the batch, LMDB does not: the batch is kept and written
         * again (catch_up) before anything else touches LMDB. */
        state_failed(k, rc, "commit of a batch already committed to Kafka (kept, written again)");
        k->redo = 1;
        return;
    }
    state_ok(k);
    int64_t now = wall_ms();
    for (size_t i = 0; i < k->latency_len; i++)
        inv_keeper_metrics_latency(k->metrics, (double)(now - k->latency_ts[i]) / 1000.0);
    batch_reset(k);
}

static void after_abort(void *opaque, inv_txloop_t *loop) {
    (void)loop;
    keeper_t *k = opaque;
    inv_store_txn_abort(k->txn);
    k->txn = NULL;
    if (!k->redo) /* a batch held back by the kept one never touched parts[] */
        batch_reset(k);
}

/* Rebuilds partition p from the changelog (three tries for Kafka trouble,
 * one for LMDB's). On failure p is left to rebuild later (need_restore),
 * held until then; -1. */
static int restore_one(keeper_t *k, int32_t p, int64_t input_offset) {
    char errstr[512];
    for (int attempt = 1; attempt <= 3 && keeper_running(k); attempt++) {
        inv_restore_stats_t st;
        inv_keeper_metrics_restore_begin(k->metrics, p);
        if (inv_restore_partition(k->restore_consumer, k->store, k->decoder, k->t_stock, k->t_dedup, p, input_offset,
                                  k->dedup_window_ms, &st, errstr, sizeof(errstr)) == 0) {
            inv_log_info("partition %d restored from %s: %llu rows, %llu movement ids in %.3f s (%.0f keys/s)%s", p,
                         k->t_stock, (unsigned long long)st.rows, (unsigned long long)st.ids, st.seconds,
                         st.seconds > 0 ? (double)(st.rows + st.ids) / st.seconds : 0.0,
                         st.confirm_seconds > 0 ? "; waited for the last commit's markers" : "");
            inv_keeper_metrics_restore_end(k->metrics, p, st.rows + st.ids, st.seconds);
            k->need_restore[p] = 0;
            k->ready[p] = k->assigned[p];
            state_ok(k);
            return 0;
        }
        inv_store_info_t info;
        int rc = inv_store_info(k->store, &info) == 0 ? info.last_write_error : 0;
        if (rc && rc != INV_STORE_MAP_FULL) {
            char what[64];
            snprintf(what, sizeof(what), "restore of partition %d", p);
            state_failed(k, rc, what);
            break;
        }
        inv_log_warn("partition %d: restore attempt %d failed: %s", p, attempt, errstr);
        k->retry_at = now_s() + RETRY_SECONDS;
    }
    if (!k->need_restore[p])
        inv_log_warn("partition %d: held until it is rebuilt from %s (retried every %.0f s)", p, k->t_stock,
                     RETRY_SECONDS);
    k->need_restore[p] = 1;
    k->restore_to[p] = input_offset;
    k->ready[p] = 0;
    return -1;
}

static int on_assign(void *opaque, inv_txloop_t *loop, rd_kafka_topic_partition_list_t *parts) {
    keeper_t *k = opaque;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_committed(inv_txloop_consumer(loop), parts, 30000)) && keeper_running(k))
        inv_log_warn("fetching committed offsets: %s; retrying", rd_kafka_err2str(err));
    if (err)
        return -1;
    if (k->redo && redo_flush(k) != 0)
        redo_drop(k, NULL); /* the offset check below rebuilds what it touched */
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int32_t p = tp->partition;
        ensure_partition(k, p);
        k->need_restore[p] = 0;
        int64_t committed = tp->offset; /* RD_KAFKA_OFFSET_INVALID: none yet */
        inv_store_txn_t *rt = NULL;
        inv_store_meta_t meta;
        int rc = inv_store_txn_begin(k->store, 1, &rt);
        if (!rc)
            rc = inv_store_meta_get(rt, p, &meta);
        inv_store_txn_abort(rt);
        int64_t want = committed < 0 ? 0 : committed;
        if (rc == 0 && meta.input_offset == want) {
            inv_log_info("partition %d: local state is current at offset %lld", p, (long long)want);
        } else {
            inv_log_info("partition %d: local state %s (group committed offset %lld): restoring from %s", p,
                         rc == 0 ? "differs" : "absent", (long long)want, k->t_stock);
            restore_one(k, p, want); /* on failure: held, rebuilt later */
        }
        /* A group that never committed starts at the beginning (auto.offset.reset). */
        tp->offset = committed < 0 ? RD_KAFKA_OFFSET_BEGINNING : committed;
        k->next_offset[p] = want;
        k->assigned[p] = 1;
        k->ready[p] = !k->need_restore[p];
        inv_keeper_metrics_partition_assigned(k->metrics, p);
    }
    return 0;
}

static void on_revoke(void *opaque, inv_txloop_t *loop, const rd_kafka_topic_partition_list_t *parts) {
    (void)loop;
    keeper_t *k = opaque;
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < k->part_count) {
            k->assigned[p] = k->ready[p] = k->need_restore[p] = 0;
            inv_keeper_metrics_partition_revoked(k->metrics, p);
        }
    }
    /* The kept batch goes in now or never: once a partition of it has
     * moved, a restore may bring that partition past it. */
    if (k->redo && redo_flush(k) != 0)
        redo_drop(k, k->assigned);
}

/* ---- policies: the whole compacted topic, outside the group ------------------ */

static int apply_policy_message(keeper_t *k, inv_store_txn_t *txn, const rd_kafka_message_t *msg) {
    int rc = 0;
    if (!msg->payload) {
        char key[1024];
        if (msg->key && msg->key_len < sizeof(key)) {
            memcpy(key, msg->key, msg->key_len);
            key[msg->key_len] = '\0';
            char *bar = strrchr(key, '|');
            if (bar) {
                *bar = '\0';
                rc = inv_store_policy_delete(txn, key, bar + 1);
            }
        }
    } else {
        inv_policy_t pol;
        char err[512];
        if (inv_decoder_decode_policy(k->decoder, msg->payload, msg->len, &pol, err, sizeof(err)) != 0) {
            inv_log_warn("%s [%d] @%lld: ignoring an invalid ReorderPolicy: %s", rd_kafka_topic_name(msg->rkt),
                         msg->partition, (long long)msg->offset, err);
            inv_keeper_metrics_invalid_policy(k->metrics);
        } else {
            inv_rules_policy_t v = {pol.reorder_point, pol.reorder_quantity, pol.safety_stock};
            rc = inv_store_policy_put(txn, pol.sku, pol.location_id, &v);
        }
    }
    if (!rc)
        rc = inv_store_policy_offset_put(txn, msg->partition, msg->offset + 1);
    return rc;
}

/* (Re)starts the policies consumer at the offsets the policy table in LMDB
 * reflects. 0, or -1 with errstr. */
static int policies_assign(keeper_t *k, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(k->policy_partitions);
    inv_store_txn_t *rt = NULL;
    inv_store_txn_begin(k->store, 1, &rt);
    for (int p = 0; p < k->policy_partitions; p++) {
        int64_t next;
        rd_kafka_topic_partition_list_add(parts, k->t_policies, p)->offset =
            rt && inv_store_policy_offset_get(rt, p, &next) == 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    inv_store_txn_abort(rt);
    rd_kafka_resp_err_t e = rd_kafka_assign(k->policy_consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(errstr, errstr_size, "policies: assign: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* Policy updates that could not be stored are read again. */
static void policies_failed(keeper_t *k, int rc) {
    char err[256];
    state_failed(k, rc, "write of policy updates");
    if (policies_assign(k, err, sizeof(err)) != 0)
        inv_log_warn("%s", err);
}

/* Applies what the policies consumer has, waiting up to wait_ms for the
 * first message. Returns messages applied, or -1 when LMDB did not take
 * them (reported; the consumer is back at LMDB's offsets). */
static int poll_policies(keeper_t *k, int wait_ms, int *eof_count) {
    inv_store_txn_t *txn = NULL;
    int applied = 0;
    for (int i = 0; i < 10000; i++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(k->policy_consumer, i == 0 ? wait_ms : 0);
        if (!msg)
            break;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (eof_count)
                (*eof_count)++;
        } else if (msg->err) {
            inv_log_warn("policies: %s", rd_kafka_message_errstr(msg));
        } else {
            int rc = txn ? 0 : inv_store_txn_begin(k->store, 0, &txn);
            if (!rc)
                rc = apply_policy_message(k, txn, msg);
            if (rc) {
                rd_kafka_message_destroy(msg);
                inv_store_txn_abort(txn);
                policies_failed(k, rc);
                return -1;
            }
            applied++;
        }
        rd_kafka_message_destroy(msg);
    }
    if (txn) {
        int rc = inv_store_txn_commit(txn);
        if (rc) {
            policies_failed(k, rc);
            return -1;
        }
        state_ok(k);
    }
    return applied;
}

static int policies_start(keeper_t *k, char *errstr, size_t errstr_size) {
    char name[300];
    snprintf(name, sizeof(name), "%s.policies", inv_conf_get(k->conf, "group.id"));
    if (!(k->policy_consumer = inv_kafka_reader_new(k->conf, name, 1, NULL, errstr, errstr_size)))
        return -1;
    int n = inv_kafka_partition_count(k->policy_consumer, k->t_policies, 15000, errstr, errstr_size);
    if (n < 0)
        return -1;
    k->policy_partitions = n;
    if (policies_assign(k, errstr, errstr_size) != 0)
        return -1;
    /* Read the table to its end before the first movement is applied; while
     * LMDB does not take it, wait (the 60 s are for the broker). */
    int eofs = 0, total = 0;
    double t0 = now_s();
    while (eofs < n && keeper_running(k) && now_s() - t0 < 60) {
        if (now_s() < k->retry_at) {
            nap_until(k->retry_at);
            t0 = now_s();
            continue;
        }
        int got = poll_policies(k, 200, &eofs);
        if (got < 0) {
            eofs = 0; /* read again from LMDB's offsets: every end comes again */
            continue;
        }
        total += got;
    }
    if (eofs < n) {
        snprintf(errstr, errstr_size, "policies: %s not read to its end within 60 s", k->t_policies);
        return -1;
    }
    inv_log_info("policies: %d update(s) applied from %s (%d partitions)", total, k->t_policies, n);
    return 0;
}

static void tick(void *opaque, inv_txloop_t *loop) {
    keeper_t *k = opaque;
    if (k->fatal) {
        inv_txloop_stop(loop);
        return;
    }
    double now = now_s();
    /* Between batches (the batch's LMDB write txn is the only writer): held
     * LMDB work, even while no input comes, and policy updates, which wait
     * for the retry time too while LMDB writes fail. */
    if (!k->txn && now >= k->retry_at && catch_up_pending(k))
        catch_up(k);
    if (!k->txn && (!k->stalled || now >= k->retry_at))
        poll_policies(k, 0, NULL);
    if (now - k->last_lag_check >= 1.0) {
        k->last_lag_check = now;
        inv_keeper_metrics_update_lag(k->metrics, inv_txloop_consumer(loop), k->t_movements, k->assigned,
                                      k->ready, k->next_offset, k->part_count);
    }
}

/* ---- set-up ------------------------------------------------------------------- */

static int check_partitions(keeper_t *k, char *errstr, size_t errstr_size) {
    rd_kafka_t *rk = k->restore_consumer;
    int nm = inv_kafka_partition_count(rk, k->t_movements, 15000, errstr, errstr_size);
    if (nm < 0)
        return -1;
    int ns = inv_kafka_partition_count(rk, k->t_stock, 15000, errstr, errstr_size);
    if (ns < 0)
        return -1;
    int nd = inv_kafka_partition_count(rk, k->t_dedup, 15000, errstr, errstr_size);
    if (nd < 0)
        return -1;
    if (ns != nm || nd != nm) {
        snprintf(errstr, errstr_size,
                 "%s has %d partitions but %s has %d and %s %d: they must match (partition p of the "
                 "changelog belongs to movements partition p)",
                 k->t_movements, nm, k->t_stock, ns, k->t_dedup, nd);
        return -1;
    }
    ensure_partition(k, nm - 1);
    return 0;
}

int inv_keeper_run(inv_conf_t *conf, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    keeper_t k = {.conf = conf, .run = run};
    int rc = -1;
    k.t_stock = inv_conf_get(conf, "topic.stock");
    k.t_reorders = inv_conf_get(conf, "topic.reorders");
    k.t_shortages = inv_conf_get(conf, "topic.shortages");
    k.t_dedup = inv_conf_get(conf, "topic.dedup");
    k.t_policies = inv_conf_get(conf, "topic.policies");
    k.t_movements = inv_conf_get(conf, "topic.movements");
    k.deflt.reorder_point = inv_conf_get_int(conf, "policy.default.reorder_point");
    k.deflt.reorder_quantity = inv_conf_get_int(conf, "policy.default.reorder_quantity");
    k.deflt.safety_stock = inv_conf_get_int(conf, "policy.default.safety_stock");
    k.dedup_window_ms = inv_conf_get_int(conf, "dedup.window.ms");
    k.arena_cap = 1 << 20;
    k.arena = malloc(k.arena_cap);
    inv_buf_init(&k.buf);

    inv_store_options_t opts = INV_STORE_OPTIONS_DEFAULT;
    opts.map_size = (size_t)inv_conf_get_int(conf, "lmdb.map.size.mb") << 20;
    const char *sync = inv_conf_get(conf, "lmdb.sync");
    opts.sync = strcmp(sync, "full") == 0   ? INV_STORE_SYNC_FULL
                : strcmp(sync, "data") == 0 ? INV_STORE_SYNC_LAZY_META
                                            : INV_STORE_SYNC_NONE;
    k.state_dir = inv_conf_get(conf, "state.dir");
    int src = inv_store_open(k.state_dir, &opts, &k.store);
    if (src) {
        snprintf(errstr, errstr_size, "state dir %s: %s", k.state_dir, inv_store_strerror(src));
        goto out;
    }
    inv_store_info_t sinfo;
    if (opts.sync == INV_STORE_SYNC_NONE && inv_store_info(k.store, &sinfo) == 0 && !sinfo.writemap)
        inv_log_warn("state dir %s: no room to reserve the %llu MiB LMDB map: pages are written with write() (slower) "
                     "until the next start; free space or lower lmdb.map.size.mb",
                     k.state_dir, (unsigned long long)(sinfo.map_size >> 20));
    if (inv_store_was_reset(k.store))
        inv_log_warn("state dir %s: dropped the LMDB state left by an earlier boot with unsynced commits (an OS "
                     "crash may have torn it); every partition is rebuilt from %s",
                     inv_conf_get(conf, "state.dir"), k.t_stock);
    /* The transactional id comes from the state dir: a restarted instance
     * fences its dead predecessor at once. */
    if (!*inv_conf_get(conf, "instance.id"))
        inv_conf_set(conf, "instance.id", inv_store_instance_id(k.store), errstr, errstr_size);

    inv_codec_conf_read(conf, &k.codec);
    if (!(k.decoder = inv_decoder_new(&k.codec.resolver, errstr, errstr_size)) ||
        !(k.encoder = inv_encoder_new(k.codec.output_format, &k.codec.resolver, errstr, errstr_size)))
        goto out;
    if (!(k.restore_consumer = inv_restore_consumer_new(conf, errstr, errstr_size)))
        goto out;
    if (check_partitions(&k, errstr, errstr_size) != 0)
        goto out;
    if (inv_keeper_metrics_new(&k.metrics, conf, k.store, errstr, errstr_size) != 0)
        goto out;
    if (policies_start(&k, errstr, errstr_size) != 0)
        goto out;

    inv_txloop_handler_t h = {
        .opaque = &k,
        .process = process,
        .before_commit = before_commit,
        .after_commit = after_commit,
        .after_abort = after_abort,
        .on_assign = on_assign,
        .on_revoke = on_revoke,
        .on_delivery = on_delivery,
        .tick = tick,
        .run = run,
    };
    if (!(k.loop = inv_txloop_new(conf, k.t_movements, &h, errstr, errstr_size)))
        goto out;
    inv_keeper_metrics_attach(k.metrics, k.loop);
    rc = inv_txloop_run(k.loop);
    if (k.redo)
        redo_flush(&k);
    int behind = k.redo;
    for (int p = 0; p < k.part_count; p++)
        behind += k.need_restore[p];
    if (behind)
        inv_log_warn("state dir %s: stopping with LMDB behind Kafka for some partitions; they are rebuilt from %s when "
                     "next assigned",
                     k.state_dir, k.t_stock);
    if (rc != 0 || k.fatal) {
        snprintf(errstr, errstr_size, "%s", k.fatal_err[0] ? k.fatal_err : "stopped after an unrecoverable error (see log)");
        rc = -1;
    }
out:
    inv_keeper_metrics_destroy(k.metrics);
    inv_txloop_destroy(k.loop);
    inv_store_txn_abort(k.txn);
    /* What was to be committed (Kafka, LMDB) is by now: a destroy that hangs
     * (librdkafka 2.0.x) must not keep the process from exiting */
    int destroy_timeout_ms = (int)inv_conf_get_int(conf, "shutdown.timeout.ms");
    if (k.policy_consumer) {
        rd_kafka_consumer_close(k.policy_consumer);
        inv_kafka_destroy_bounded(k.policy_consumer, "the policies consumer", destroy_timeout_ms);
    }
    if (k.restore_consumer) {
        rd_kafka_consumer_close(k.restore_consumer);
        inv_kafka_destroy_bounded(k.restore_consumer, "the restore consumer", destroy_timeout_ms);
    }
    inv_encoder_destroy(k.encoder);
    inv_decoder_destroy(k.decoder);
    inv_store_close(k.store);
    for (int p = 0; p < k.part_count; p++)
        inv_buf_free(&k.parts[p].ids);
    dirty_reset(&k);
    free(k.dirty);
    free(k.dirty_index);
    free(k.arena);
    free(k.parts);
    free(k.assigned);
    free(k.ready);
    free(k.next_offset);
    free(k.need_restore);
    free(k.restore_to);
    free(k.latency_ts);
    inv_buf_free(&k.buf);
    return rc;
}
