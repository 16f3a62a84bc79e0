#include "inv_restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_counts.h"
#include "inv_holds.h"
#include "inv_transfers.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_model.h"
#include "inv_parse.h"
#include "inv_prefetch.h"
#include "inv_time.h"

/* Rows per LMDB write txn while restoring: bounded txns, steady progress. */
#define RESTORE_TXN_ROWS 20000
/* Give up when a partition yields nothing for this long. */
#define RESTORE_STALL_MS 60000
/* How long a restore waits for the changelog's pending records (markers of
 * the transaction the dedup log confirmed) after the dedup log. */
#define SETTLE_SECONDS 0.2
#define RECHECK_NS 10000000L

rd_kafka_t *inv_restore_consumer_new(const inv_kafka_settings_t *ks, const char *group_id, char *errstr,
                                     size_t errstr_size) {
    /* fetch.wait.max.ms: the end of a partition shows as an empty fetch,
     * do not wait 500 ms for it. Larger fetches and queue than the
     * processing consumers: a restore reads flat out for a moment, then
     * its queue is empty again (with theirs, ~140k instead of ~440k keys/s). */
    static const char *const extra[] = {
        "fetch.wait.max.ms",
        "10",
        "fetch.max.bytes",
        "8388608",
        "max.partition.fetch.bytes",
        "4194304",
        "queued.max.messages.kbytes",
        "8192",
        "queued.min.messages",
        "20000",
        NULL,
    };
    char name[300];
    snprintf(name, sizeof(name), "%s.restore", group_id);
    return inv_kafka_reader_new(ks, name, 1, extra, errstr, errstr_size);
}

/* Polls the assigned partition until its (read_committed) end, calling cb
 * for each message; *next follows the messages read. 0, cb's value, or -1
 * with errstr. */
static int read_to_eof(rd_kafka_t *rk, inv_prefetch_t *prefetch, const char *topic, int32_t partition,
                       int (*cb)(void *opaque, const rd_kafka_message_t *msg), void *opaque, int64_t *next,
                       char *errstr, size_t errstr_size) {
    int rc = 0, done = 0;
    double last_progress = inv_time_mono_s();
    while (!done) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        inv_prefetch_after_poll(prefetch, msg);
        if (!msg) {
            if ((inv_time_mono_s() - last_progress) * 1000 > RESTORE_STALL_MS) {
                snprintf(errstr, errstr_size, "restore: no progress reading %s [%d] for %d s", topic, partition,
                         RESTORE_STALL_MS / 1000);
                rc = -1;
                break;
            }
            continue;
        }
        last_progress = inv_time_mono_s();
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            *next = msg->offset;
            done = 1;
        } else if (msg->err) {
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL || msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                snprintf(errstr, errstr_size, "restore: reading %s [%d]: %s", topic, partition,
                         rd_kafka_message_errstr(msg));
                rc = -1;
                done = 1;
            } else {
                inv_log_warn("restore: reading %s [%d]: %s", topic, partition, rd_kafka_message_errstr(msg));
            }
        } else {
            *next = msg->offset + 1;
            rc = cb(opaque, msg);
            if (rc != 0)
                done = 1;
        }
        rd_kafka_message_destroy(msg);
    }
    return rc;
}

int inv_restore_read_partition(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t from_offset,
                               int (*cb)(void *opaque, const rd_kafka_message_t *msg), void *opaque, int64_t *end,
                               int *pending, char *errstr, size_t errstr_size) {
    if (pending)
        *pending = 0;
    /* An empty partition (the usual case for a new group) needs no fetch,
     * which would cost a fetch.wait.max.ms round before the EOF. */
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t werr = rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, 15000);
    if (werr) {
        snprintf(errstr, errstr_size, "restore: watermarks of %s [%d]: %s", topic, partition, rd_kafka_err2str(werr));
        return -1;
    }
    /* hi is the last stable offset (a read_committed ListOffsets): a caller
     * that asks about pending records needs the fetch, which tells */
    if (!pending && (hi <= lo || (from_offset >= 0 && from_offset >= hi))) {
        if (end)
            *end = hi;
        return 0;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = from_offset;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        snprintf(errstr, errstr_size, "restore: assign %s [%d]: %s", topic, partition, rd_kafka_err2str(err));
        return -1;
    }
    int64_t next = from_offset < 0 ? 0 : from_offset;
    inv_prefetch_t *prefetch = inv_prefetch_new(rk);
    int rc = read_to_eof(rk, prefetch, topic, partition, cb, opaque, &next, errstr, errstr_size);
    inv_prefetch_destroy(prefetch);
    if (pending && rc == 0) {
        /* the high watermark of the last fetch: records beyond the end
         * read_committed stopped at are in an open or unmarked transaction */
        int64_t hwm = -1;
        if (rd_kafka_get_watermark_offsets(rk, topic, partition, &lo, &hwm) == RD_KAFKA_RESP_ERR_NO_ERROR)
            *pending = hwm > next;
    }
    rd_kafka_assign(rk, NULL);
    if (end)
        *end = next;
    return rc;
}

typedef struct {
    inv_store_t *store;
    inv_store_txn_t *txn;
    inv_decoder_t *decoder;
    int32_t partition;
    uint64_t in_txn;
    int64_t min_ts;
    int64_t confirmed; /* highest input offset named by a dedup record, -1 if none */
    inv_restore_stats_t *stats;
    const inv_restore_log_t *extra;
    int store_err;
    char *errstr;
    size_t errstr_size;
} restore_ctx_t;

/* Commits the chunk and begins the next one, so no txn grows unbounded. */
static int chunk(restore_ctx_t *r) {
    if (++r->in_txn < RESTORE_TXN_ROWS)
        return 0;
    int rc = inv_store_txn_commit(r->txn);
    r->txn = NULL;
    r->in_txn = 0;
    if (!rc)
        rc = inv_store_txn_begin(r->store, 0, &r->txn);
    if (rc) {
        r->store_err = rc;
        snprintf(r->errstr, r->errstr_size, "restore: LMDB: %s", inv_store_strerror(rc));
        return -1;
    }
    return 0;
}

static int restore_row(void *opaque, const rd_kafka_message_t *msg) {
    restore_ctx_t *r = opaque;
    /* the key names the row; a tombstone (no value) deletes it */
    char key[1024];
    if (!msg->key || msg->key_len == 0 || msg->key_len >= sizeof(key))
        return 0;
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    size_t sku_len, loc_len;
    const char *loc;
    if (inv_row_key_split(key, msg->key_len, &sku_len, &loc, &loc_len) != 0)
        return 0;
    key[sku_len] = '\0';
    int rc;
    if (!msg->payload) {
        rc = inv_store_stock_delete(r->txn, r->partition, key, loc);
    } else {
        inv_stock_level_t level;
        char err[INV_ERRSTR_SIZE];
        if (inv_decoder_decode_stock_level(r->decoder, msg->payload, msg->len, &level, err, sizeof(err)) != 0) {
            inv_log_warn("restore: %s [%d] @%lld: skipping an undecodable StockLevel: %s",
                         rd_kafka_topic_name(msg->rkt), msg->partition, (long long)msg->offset, err);
            return 0;
        }
        inv_stock_row_t row;
        inv_rules_row_from_level(&level, 0, &row);
        char state[32];
        const char *s = inv_kafka_header_string(msg, INV_RESTORE_SHORTAGE_HEADER, state, sizeof(state));
        row.shortage = inv_shortage_state_from_name(s);
        rc = inv_store_stock_put(r->txn, r->partition, level.sku, level.location_id, &row);
        r->stats->rows++;
    }
    if (rc) {
        r->store_err = rc;
        snprintf(r->errstr, r->errstr_size, "restore: LMDB: %s", inv_store_strerror(rc));
        return -1;
    }
    return chunk(r);
}

/* One record of the state log (open reservation lines) back into LMDB; a
 * record that is not one skipped with a warning, never a stall. */
static int restore_state(void *opaque, const rd_kafka_message_t *msg) {
    restore_ctx_t *r = opaque;
    if (!msg->key || msg->key_len == 0)
        return 0;
    int rc = INV_STORE_FORMAT;
    if (((const char *)msg->key)[0] == INV_HOLDS_KIND) {
        rc = inv_holds_log_apply(r->txn, r->partition, msg->key, msg->key_len, msg->payload,
                                 msg->payload ? msg->len : 0);
        if (rc == 0 && msg->payload)
            r->stats->holds++;
    } else if (((const char *)msg->key)[0] == INV_TRANSFERS_KIND) {
        rc = inv_transfers_log_apply(r->txn, r->partition, msg->key, msg->key_len, msg->payload,
                                     msg->payload ? msg->len : 0);
        if (rc == 0 && msg->payload)
            r->stats->transfers++;
    }
    if (rc == INV_STORE_FORMAT || rc == INV_STORE_KEY_COLLISION || rc == INV_STORE_KEY_TOO_LONG) {
        inv_log_warn("restore: %s [%d] @%lld: skipping a state record that is not an open reservation or transfer "
                     "line: %s",
                     rd_kafka_topic_name(msg->rkt), msg->partition, (long long)msg->offset, inv_store_strerror(rc));
        return 0;
    }
    if (rc) {
        r->store_err = rc;
        snprintf(r->errstr, r->errstr_size, "restore: LMDB: %s", inv_store_strerror(rc));
        return -1;
    }
    return chunk(r);
}

/* One record of the extra log, through its callback. */
static int restore_extra(void *opaque, const rd_kafka_message_t *msg) {
    restore_ctx_t *r = opaque;
    int rc = r->extra->record(r->extra->opaque, r->txn, r->partition, msg);
    if (rc) {
        r->store_err = rc;
        snprintf(r->errstr, r->errstr_size, "restore: %s: LMDB: %s", r->extra->topic, inv_store_strerror(rc));
        return -1;
    }
    r->stats->extra_records++;
    return chunk(r);
}

/* One applied id back into LMDB, with the time it was first applied, and
 * what it did to its row's count history (h NULL: nothing). */
static int restore_id(restore_ctx_t *r, const void *id, size_t len, int64_t applied_at,
                      const inv_store_dedup_history_t *h) {
    int seen, rc = inv_store_dedup_seen_or_add(r->txn, r->partition, id, len, applied_at, &seen);
    if (!rc && !seen && h && h->kind) {
        rc = inv_counts_replay(r->txn, r->partition, id, len, h);
        r->stats->history += rc == 0;
    }
    if (rc) {
        r->store_err = rc;
        snprintf(r->errstr, r->errstr_size, "restore: LMDB: %s", inv_store_strerror(rc));
        return -1;
    }
    r->stats->ids++;
    return chunk(r);
}

/* A record of the dedup log's first format: ids separated by '\n', applied
 * about when the record was written. */
static int restore_ids_first_format(restore_ctx_t *r, const rd_kafka_message_t *msg) {
    int64_t ts = rd_kafka_message_timestamp(msg, NULL);
    if (ts < r->min_ts)
        return 0;
    const char *cur = msg->payload, *end = cur + msg->len;
    char id[INV_STORE_MAX_KEY + 1];
    while (inv_store_dedup_id_next(&cur, end, id))
        if (restore_id(r, id, strlen(id), ts, NULL) != 0)
            return -1;
    return 0;
}

static int restore_ids(void *opaque, const rd_kafka_message_t *msg) {
    restore_ctx_t *r = opaque;
    char num[32];
    const char *v = inv_kafka_header_string(msg, INV_RESTORE_INPUT_OFFSET_HEADER, num, sizeof(num));
    int64_t o;
    if (v && inv_parse_int64(v, INT64_MIN, INT64_MAX, &o) == 0 && o > r->confirmed)
        r->confirmed = o;
    if (!msg->payload)
        return 0;
    char format[8];
    const char *f = inv_kafka_header_string(msg, INV_STORE_DEDUP_LOG_HEADER, format, sizeof(format));
    if (!f)
        return restore_ids_first_format(r, msg);
    int v3 = strcmp(f, INV_STORE_DEDUP_LOG_VERSION) == 0;
    if (!v3 && strcmp(f, INV_STORE_DEDUP_LOG_VERSION_2) != 0) {
        snprintf(r->errstr, r->errstr_size, "restore: %s [%d] @%lld: dedup log format \"%s\" is not known",
                 rd_kafka_topic_name(msg->rkt), msg->partition, (long long)msg->offset, f);
        return -1;
    }
    const unsigned char *cur = msg->payload, *end = cur + msg->len, *id;
    size_t len;
    int64_t applied_at;
    inv_store_dedup_history_t h = {.kind = 0};
    int more;
    while ((more = v3 ? inv_store_dedup_entry3_next(&cur, end, &id, &len, &applied_at, &h)
                      : inv_store_dedup_entry_next(&cur, end, &id, &len, &applied_at)) > 0)
        if (applied_at >= r->min_ts && restore_id(r, id, len, applied_at, &h) != 0)
            return -1;
    if (more < 0) {
        snprintf(r->errstr, r->errstr_size, "restore: %s [%d] @%lld: a dedup log entry is cut short",
                 rd_kafka_topic_name(msg->rkt), msg->partition, (long long)msg->offset);
        return -1;
    }
    return 0;
}

/* Reads r's partition of topic from the beginning, then on from where it
 * stopped while records are pending beyond its last stable offset, until
 * r->confirmed reaches confirm_to (when > 0), nothing is pending or `until`
 * passes (*timed_out = 1). Pending records are only looked for when
 * input_offset > 0 (a group that committed). *t_wait: when the first
 * re-read started, if none before. 0, or -1 with errstr. */
static int read_settled(rd_kafka_t *consumer, const char *topic, restore_ctx_t *r,
                        int (*cb)(void *opaque, const rd_kafka_message_t *msg), int64_t *end, int64_t input_offset,
                        int64_t confirm_to, double until, double *t_wait, int *timed_out, char *errstr,
                        size_t errstr_size) {
    int64_t from = RD_KAFKA_OFFSET_BEGINNING;
    *timed_out = 0;
    for (;;) {
        int pending = 0;
        int rc = inv_restore_read_partition(consumer, topic, r->partition, from, cb, r, end,
                                            input_offset > 0 ? &pending : NULL, errstr, errstr_size);
        if (rc || !pending || (confirm_to > 0 && r->confirmed >= confirm_to))
            return rc;
        if (inv_time_mono_s() > until) {
            *timed_out = 1;
            return 0;
        }
        if (*t_wait == 0)
            *t_wait = inv_time_mono_s();
        from = *end;
        nanosleep(&(struct timespec){0, RECHECK_NS}, NULL);
    }
}

int inv_restore_partition(rd_kafka_t *consumer, inv_store_t *store, inv_decoder_t *decoder, const char *stock_topic,
                          const char *dedup_topic, const char *state_topic, int32_t partition, int64_t input_offset,
                          int64_t dedup_window_ms, int64_t confirm_timeout_ms, const inv_restore_log_t *extra,
                          inv_restore_stats_t *stats, char *errstr, size_t errstr_size) {
    memset(stats, 0, sizeof(*stats));
    double t0 = inv_time_mono_s();
    restore_ctx_t r = {.store = store,
                       .decoder = decoder,
                       .partition = partition,
                       .stats = stats,
                       .extra = extra,
                       .errstr = errstr,
                       .errstr_size = errstr_size};
    r.min_ts = inv_time_wall_ms() / 1000 * 1000 - dedup_window_ms; /* whole seconds, as always */
    int rc = inv_store_txn_begin(store, 0, &r.txn);
    if (!rc)
        rc = inv_store_partition_drop(r.txn, partition);
    if (rc) {
        snprintf(errstr, errstr_size, "restore: LMDB: %s", inv_store_strerror(rc));
        inv_store_txn_abort(r.txn);
        return -1;
    }
    /* The dedup log first, until it names input_offset (see the header);
     * then the changelog, where the same transaction's markers land too. */
    r.confirmed = -1;
    double t_wait = 0;
    int timed_out = 0;
    rc =
        read_settled(consumer, dedup_topic, &r, restore_ids, &stats->dedup_end, input_offset, input_offset,
                     inv_time_mono_s() + (double)confirm_timeout_ms / 1000.0, &t_wait, &timed_out, errstr, errstr_size);
    if (!rc && timed_out) {
        snprintf(errstr, errstr_size,
                 "restore: %s [%d] does not show input offset %lld after %.1f s (last seen %lld) while records "
                 "are pending: the previous owner's last batch is not visible yet; held, restored again later",
                 dedup_topic, partition, (long long)input_offset, (double)confirm_timeout_ms / 1000.0,
                 (long long)r.confirmed);
        stats->unconfirmed = 1;
        rc = -1;
    }
    if (!rc)
        rc = read_settled(consumer, stock_topic, &r, restore_row, &stats->changelog_end, input_offset, 0,
                          inv_time_mono_s() + SETTLE_SECONDS, &t_wait, &timed_out, errstr, errstr_size);
    if (!rc && state_topic)
        rc = read_settled(consumer, state_topic, &r, restore_state, &stats->state_end, input_offset, 0,
                          inv_time_mono_s() + SETTLE_SECONDS, &t_wait, &timed_out, errstr, errstr_size);
    if (!rc && extra) {
        int64_t extra_end;
        rc = read_settled(consumer, extra->topic, &r, restore_extra, &extra_end, input_offset, 0,
                          inv_time_mono_s() + SETTLE_SECONDS, &t_wait, &timed_out, errstr, errstr_size);
        int drc = rc ? 0 : extra->done(extra->opaque, r.txn, partition, stats->extra_records);
        if (drc) {
            snprintf(errstr, errstr_size, "restore: %s: LMDB: %s", extra->topic, inv_store_strerror(drc));
            rc = -1;
        }
    }
    if (t_wait > 0)
        stats->confirm_seconds = inv_time_mono_s() - t_wait;
    if (!rc) {
        inv_store_meta_t meta = {.input_offset = input_offset,
                                 .changelog_offset = stats->changelog_end,
                                 .dedup_log_offset = stats->dedup_end};
        rc = inv_store_meta_put(r.txn, partition, &meta);
        if (!rc)
            rc = inv_store_txn_commit(r.txn);
        r.txn = NULL;
        if (rc)
            snprintf(errstr, errstr_size, "restore: LMDB: %s", inv_store_strerror(rc));
    }
    inv_store_txn_abort(r.txn);
    stats->seconds = inv_time_mono_s() - t0;
    return rc ? -1 : 0;
}
