#include "inv_view.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inv_codec.h"
#include "inv_codec_conf.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_model.h"
#include "inv_schema_source.h"
#include "inv_time.h"

/* Messages applied in one LMDB write txn at most. */
#define BATCH_MAX 5000
#define PING_SECONDS 5.0

static const char *const topic_keys[VIEW_T_COUNT] = {"topic.stock", "topic.availability", "topic.shortages",
                                                     "topic.reorders"};
static const char *const topic_labels[VIEW_T_COUNT] = {"stock", "availability", "shortages", "reorders"};

typedef struct {
    view_t *v;
    rd_kafka_t *consumer;
    inv_decoder_t *decoder;
    inv_kafka_settings_t ks;
    inv_codec_conf_t codec;
    inv_schema_source_t *schemas;
    const volatile sig_atomic_t *run;
    int publish;  /* someone listens to /api/events: format changes for them */
    inv_buf_t ev; /* the batch's events, each NUL-separated: sku \0 location \0 text \0 */
} loop_t;

/* ---- JSON helpers ---- */

static char *dumps(json_t *j, size_t *len) {
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (s && len)
        *len = strlen(s);
    return s;
}

static void set_time(json_t *o, const char *name, int64_t ms) {
    char t[32];
    inv_time_format_rfc3339(ms, t);
    json_object_set_new(o, name, json_string(t));
}

/* Queues one change for the hub (published after the commit). */
static void queue_event(loop_t *l, const char *type, const char *sku, size_t sku_len, const char *loc, size_t loc_len,
                        const char *row, const rd_kafka_message_t *msg) {
    if (!l->publish)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "sku", json_stringn(sku, sku_len));
    json_object_set_new(o, "location", json_stringn(loc, loc_len));
    json_object_set_new(o, "partition", json_integer(msg->partition));
    json_object_set_new(o, "offset", json_integer(msg->offset));
    json_object_set_new(o, "row", row ? json_loads(row, 0, NULL) : json_null());
    size_t len;
    char *data = dumps(o, &len);
    if (!data)
        return;
    char head[64];
    int hn = snprintf(head, sizeof(head), "event: %s\ndata: ", type);
    inv_buf_append(&l->ev, sku, sku_len);
    inv_buf_append(&l->ev, "", 1);
    inv_buf_append(&l->ev, loc, loc_len);
    inv_buf_append(&l->ev, "", 1);
    inv_buf_append(&l->ev, head, (size_t)hn);
    inv_buf_append(&l->ev, data, len);
    inv_buf_append(&l->ev, "\n\n", 3);
    free(data);
}

static void publish_events(loop_t *l) {
    if (!l->ev.len)
        return;
    view_hub_begin(l->v->hub);
    const char *p = (const char *)l->ev.data, *end = p + l->ev.len;
    while (p < end) {
        const char *sku = p;
        const char *loc = sku + strlen(sku) + 1;
        const char *text = loc + strlen(loc) + 1;
        size_t tl = strlen(text);
        view_hub_add(l->v->hub, sku, loc, text, tl);
        p = text + tl + 1;
    }
    view_hub_end(l->v->hub);
    l->ev.len = 0;
}

/* ---- applying records ---- */

#define SKIP 1 /* the record is at fault: counted, logged, passed */
#define HOLD 2 /* its writer schema is not available now */

static int split(const rd_kafka_message_t *msg, const char **a, size_t *a_len, const char **b, size_t *b_len) {
    if (!msg->key || !msg->key_len || msg->key_len > 1024 || memchr(msg->key, '\0', msg->key_len))
        return -1;
    if (inv_row_key_split(msg->key, msg->key_len, a_len, b, b_len) != 0)
        return -1;
    *a = msg->key;
    return 0;
}

static int apply_stock(loop_t *l, MDB_txn *t, const rd_kafka_message_t *msg, char *err, size_t err_size) {
    view_store_t *s = &l->v->store;
    const char *sku, *loc;
    size_t sku_len, loc_len;
    char key[512];
    if (split(msg, &sku, &sku_len, &loc, &loc_len) != 0) {
        snprintf(err, err_size, "key: expected sku|location_id");
        return SKIP;
    }
    size_t kn = view_key(key, sku, sku_len, loc, loc_len);
    if (!msg->payload) {
        int rc = view_store_del(t, s->stock, key, kn);
        if (!rc)
            rc = view_store_short_set(t, s, sku, sku_len, loc, loc_len, NULL);
        if (!rc)
            queue_event(l, "stock", sku, sku_len, loc, loc_len, NULL, msg);
        return rc;
    }
    inv_stock_level_t lv;
    int rc = inv_decoder_decode_stock_level(l->decoder, msg->payload, msg->len, &lv, err, err_size);
    if (rc == INV_DECODE_RETRY)
        return HOLD;
    if (rc)
        return SKIP;
    char shortage[32] = "none";
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv;
    size_t hl;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, "inv.shortage", &hv, &hl) == RD_KAFKA_RESP_ERR_NO_ERROR && hv &&
        hl < sizeof(shortage)) {
        memcpy(shortage, hv, hl);
        shortage[hl] = '\0';
    }
    json_t *o = json_object();
    json_object_set_new(o, "sku", json_string(lv.sku));
    json_object_set_new(o, "location_id", json_string(lv.location_id));
    json_object_set_new(o, "on_hand", json_integer(lv.on_hand));
    json_object_set_new(o, "committed", json_integer(lv.committed));
    json_object_set_new(o, "available", json_integer(lv.available));
    json_object_set_new(o, "unsellable", json_integer(lv.unsellable));
    json_object_set_new(o, "on_order", json_integer(lv.on_order));
    json_object_set_new(o, "incoming", json_integer(lv.incoming));
    json_object_set_new(o, "in_transit_out", json_integer(lv.in_transit_out));
    set_time(o, "updated_at", lv.updated_at_ms);
    json_object_set_new(o, "version", json_integer(lv.version));
    if (lv.has_last_count_at)
        set_time(o, "last_count_at", lv.last_count_at_ms);
    else
        json_object_set_new(o, "last_count_at", json_null());
    json_object_set_new(o, "count_variance", json_integer(lv.count_variance));
    json_object_set_new(o, "shortage_state", json_string(shortage));
    size_t len;
    char *row = dumps(o, &len);
    if (!row) {
        snprintf(err, err_size, "not representable as JSON");
        return SKIP;
    }
    rc = view_store_put(t, s->stock, key, kn, row, len);
    if (!rc)
        rc = view_store_short_set(t, s, sku, sku_len, loc, loc_len, shortage);
    if (!rc)
        queue_event(l, "stock", sku, sku_len, loc, loc_len, row, msg);
    free(row);
    return rc;
}

/* available_to_sell of a stored availability row, 0 when none. */
static int64_t stored_ats(MDB_txn *t, MDB_dbi dbi, const char *key, size_t kn, int *found) {
    MDB_val k = {kn, (void *)key}, v;
    *found = 0;
    if (mdb_get(t, dbi, &k, &v) != 0)
        return 0;
    json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    int64_t ats = json_integer_value(json_object_get(j, "available_to_sell"));
    json_decref(j);
    *found = 1;
    return ats;
}

static int apply_avail(loop_t *l, MDB_txn *t, const rd_kafka_message_t *msg, char *err, size_t err_size) {
    view_store_t *s = &l->v->store;
    const char *sku, *ch;
    size_t sku_len, ch_len;
    char key[512], chan[300];
    if (split(msg, &sku, &sku_len, &ch, &ch_len) != 0 || ch_len >= sizeof(chan)) {
        snprintf(err, err_size, "key: expected sku|channel");
        return SKIP;
    }
    memcpy(chan, ch, ch_len);
    chan[ch_len] = '\0';
    size_t kn = view_key(key, sku, sku_len, ch, ch_len);
    int found;
    int64_t old = stored_ats(t, s->avail, key, kn, &found);
    if (!msg->payload) {
        int rc = view_store_del(t, s->avail, key, kn);
        if (!rc && found)
            rc = view_store_channel_add(t, s, chan, -old, old > 0 ? -1 : 0);
        if (!rc)
            queue_event(l, "availability", sku, sku_len, "", 0, NULL, msg);
        return rc;
    }
    inv_availability_t a;
    int rc = inv_decoder_decode_availability(l->decoder, msg->payload, msg->len, &a, err, err_size);
    if (rc == INV_DECODE_RETRY)
        return HOLD;
    if (rc)
        return SKIP;
    json_t *o = json_object();
    json_object_set_new(o, "sku", json_string(a.sku));
    json_object_set_new(o, "channel", json_string(a.channel));
    json_object_set_new(o, "available_to_sell", json_integer(a.available_to_sell));
    json_object_set_new(o, "locations", json_integer(a.locations));
    set_time(o, "updated_at", a.updated_at_ms);
    json_object_set_new(o, "version", json_integer(a.version));
    size_t len;
    char *row = dumps(o, &len);
    if (!row) {
        snprintf(err, err_size, "not representable as JSON");
        return SKIP;
    }
    rc = view_store_put(t, s->avail, key, kn, row, len);
    if (!rc)
        rc = view_store_channel_add(t, s, chan, a.available_to_sell - old,
                                    (a.available_to_sell > 0) - (found && old > 0));
    if (!rc)
        queue_event(l, "availability", sku, sku_len, "", 0, row, msg);
    free(row);
    return rc;
}

static int apply_event(loop_t *l, MDB_txn *t, int kind, const rd_kafka_message_t *msg, char *err, size_t err_size) {
    view_store_t *s = &l->v->store;
    if (!msg->payload)
        return 0; /* history topics have no tombstones: nothing to delete */
    uint64_t seq = view_store_next_seq(s);
    json_t *o = json_object();
    const char *sku, *loc;
    int rc;
    if (kind == VIEW_KIND_SHORTAGE) {
        inv_shortage_t e;
        rc = inv_decoder_decode_shortage(l->decoder, msg->payload, msg->len, &e, err, err_size);
        if (!rc) {
            json_object_set_new(o, "event_id", json_string(e.event_id));
            json_object_set_new(o, "sku", json_string(e.sku));
            json_object_set_new(o, "location_id", json_string(e.location_id));
            json_object_set_new(o, "state", json_string(inv_shortage_state_to_string(e.state)));
            json_object_set_new(o, "available", json_integer(e.available));
            json_object_set_new(o, "threshold", json_integer(e.threshold));
            set_time(o, "occurred_at", e.occurred_at_ms);
            sku = e.sku;
            loc = e.location_id;
        }
    } else {
        inv_reorder_t e;
        rc = inv_decoder_decode_reorder(l->decoder, msg->payload, msg->len, &e, err, err_size);
        if (!rc) {
            json_object_set_new(o, "event_id", json_string(e.event_id));
            json_object_set_new(o, "sku", json_string(e.sku));
            json_object_set_new(o, "location_id", json_string(e.location_id));
            json_object_set_new(o, "quantity", json_integer(e.quantity));
            json_object_set_new(o, "on_hand", json_integer(e.on_hand));
            json_object_set_new(o, "on_order", json_integer(e.on_order));
            json_object_set_new(o, "reorder_point", json_integer(e.reorder_point));
            set_time(o, "occurred_at", e.occurred_at_ms);
            json_object_set_new(o, "cause_movement_id", json_string(e.cause_movement_id));
            sku = e.sku;
            loc = e.location_id;
        }
    }
    if (rc) {
        json_decref(o);
        return rc == INV_DECODE_RETRY ? HOLD : SKIP;
    }
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    size_t len;
    char *row = dumps(o, &len);
    if (!row) {
        snprintf(err, err_size, "not representable as JSON");
        return SKIP;
    }
    rc = view_store_event_add(t, s, kind, sku, strlen(sku), seq, row, len);
    if (!rc)
        queue_event(l, kind == VIEW_KIND_SHORTAGE ? "shortage" : "reorder", sku, strlen(sku), loc, strlen(loc), row,
                    msg);
    free(row);
    return rc;
}

static int topic_of(const loop_t *l, const rd_kafka_message_t *msg) {
    const char *name = rd_kafka_topic_name(msg->rkt);
    for (int i = 0; i < VIEW_T_COUNT; i++)
        if (strcmp(name, l->v->topics[i]) == 0)
            return i;
    return -1;
}

static int apply(loop_t *l, MDB_txn *t, int ti, const rd_kafka_message_t *msg) {
    char err[INV_ERRSTR_SIZE] = "";
    int rc;
    switch (ti) {
    case VIEW_T_STOCK: rc = apply_stock(l, t, msg, err, sizeof(err)); break;
    case VIEW_T_AVAIL: rc = apply_avail(l, t, msg, err, sizeof(err)); break;
    case VIEW_T_SHORTAGES: rc = apply_event(l, t, VIEW_KIND_SHORTAGE, msg, err, sizeof(err)); break;
    default: rc = apply_event(l, t, VIEW_KIND_REORDER, msg, err, sizeof(err)); break;
    }
    if (rc == HOLD) {
        inv_log_warn("%s [%d] @%lld: held until its writer schema can be had: %s", l->v->topics[ti], msg->partition,
                     (long long)msg->offset, err);
        return HOLD;
    }
    if (rc == SKIP) {
        inv_metrics_counter_inc(l->v->c_invalid[ti]);
        inv_log_warn("%s [%d] @%lld: record not applied: %s", l->v->topics[ti], msg->partition, (long long)msg->offset,
                     err);
        rc = 0;
    }
    if (!rc)
        rc = view_store_offset_put(t, &l->v->store, ti, msg->partition, msg->offset + 1);
    return rc;
}

/* ---- progress ---- */

static void update_progress(view_t *v) {
    int64_t remaining = 0;
    for (int i = 0; i < VIEW_T_COUNT; i++) {
        view_topic_t *t = &v->t[i];
        for (int32_t p = 0; p < t->partitions; p++)
            if (!t->eof[p] && t->next[p] < t->target[p])
                remaining += t->target[p] - t->next[p];
    }
    atomic_store(&v->remaining, remaining);
    inv_metrics_gauge_set(v->g_remaining, remaining);
    if (!remaining && !atomic_load(&v->ready)) {
        atomic_store(&v->ready, 1);
        inv_metrics_gauge_set(v->g_ready, 1);
        inv_log_info("caught up with the end offsets seen at start: ready");
    }
}

static void update_lag(loop_t *l) {
    view_t *v = l->v;
    for (int i = 0; i < VIEW_T_COUNT; i++) {
        view_topic_t *t = &v->t[i];
        for (int32_t p = 0; p < t->partitions; p++) {
            int64_t lo = -1, hi = -1;
            rd_kafka_get_watermark_offsets(l->consumer, v->topics[i], p, &lo, &hi);
            inv_metrics_gauge_set(t->g_offset[p], t->next[p]);
            if (hi >= 0) {
                inv_metrics_gauge_set(t->g_end[p], hi);
                inv_metrics_gauge_set(t->g_lag[p], hi > t->next[p] ? hi - t->next[p] : 0);
            }
        }
    }
    MDB_txn *rt;
    if (mdb_txn_begin(v->store.env, NULL, MDB_RDONLY, &rt) == 0) {
        MDB_dbi dbis[VIEW_T_COUNT] = {v->store.stock, v->store.avail, v->store.shortages, v->store.reorders};
        for (int i = 0; i < VIEW_T_COUNT; i++)
            inv_metrics_gauge_set(v->g_rows[i], (int64_t)view_store_count(rt, dbis[i]));
        mdb_txn_abort(rt);
    }
    inv_metrics_gauge_set(v->g_subs, (int64_t)view_hub_subscribers(v->hub));
}

/* ---- the loop ---- */

/* Back to the offsets LMDB holds (after a failed or held batch). */
static int assign_all(loop_t *l, char *errstr, size_t errstr_size) {
    view_t *v = l->v;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < VIEW_T_COUNT; i++)
        for (int32_t p = 0; p < v->t[i].partitions; p++)
            rd_kafka_topic_partition_list_add(parts, v->topics[i], p)->offset =
                v->t[i].next[p] > 0 ? v->t[i].next[p] : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(l->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e)
        return inv_errstr(errstr, errstr_size, "assign: %s", rd_kafka_err2str(e));
    return 0;
}

/* One batch: poll, apply in one write txn, commit, publish. Returns 0, or
 * -1 (fatal: errstr). */
static int batch(loop_t *l, char *errstr, size_t errstr_size) {
    view_t *v = l->v;
    MDB_txn *t = NULL;
    int n = 0, held = 0, rc = 0;
    int64_t newest_ms = 0;
    /* offsets applied in this txn, to move the in-memory copy on commit */
    static struct {
        int ti;
        int32_t p;
        int64_t next;
    } moved[BATCH_MAX];
    l->publish = view_hub_has_subscribers(v->hub);
    l->ev.len = 0;
    for (int i = 0; i < BATCH_MAX && !held; i++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(l->consumer, i == 0 ? 100 : 0);
        if (!msg)
            break;
        int ti = topic_of(l, msg);
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (ti >= 0 && msg->partition < v->t[ti].partitions)
                v->t[ti].eof[msg->partition] = 1;
        } else if (msg->err) {
            inv_log_warn("consumer: %s", rd_kafka_message_errstr(msg));
        } else if (ti >= 0 && msg->partition < v->t[ti].partitions) {
            if (!t && (rc = mdb_txn_begin(v->store.env, NULL, 0, &t)) != 0) {
                rd_kafka_message_destroy(msg);
                break;
            }
            rc = apply(l, t, ti, msg);
            if (rc == HOLD) {
                held = 1;
                rc = 0;
            } else if (rc) {
                rd_kafka_message_destroy(msg);
                break;
            } else {
                moved[n].ti = ti;
                moved[n].p = msg->partition;
                moved[n].next = msg->offset + 1;
                n++;
                int64_t ts = rd_kafka_message_timestamp(msg, NULL);
                if (ts > newest_ms)
                    newest_ms = ts;
                inv_metrics_counter_inc(v->c_applied[ti]);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    if (!rc && t) {
        rc = mdb_txn_commit(t);
        t = NULL;
    }
    if (t)
        mdb_txn_abort(t);
    if (rc) {
        snprintf(errstr, errstr_size, "state dir: LMDB write failed: %s%s", mdb_strerror(rc),
                 rc == MDB_MAP_FULL ? " (raise view.map.size.mb)" : "");
        return -1;
    }
    for (int i = 0; i < n; i++)
        v->t[moved[i].ti].next[moved[i].p] = moved[i].next;
    if (n) {
        atomic_fetch_add(&v->changes, n);
        inv_metrics_counter_add(v->c_changes, (uint64_t)n);
        int64_t now = inv_time_wall_ms();
        atomic_store(&v->last_change_ms, now);
        inv_metrics_gauge_set_double(v->g_last_change, (double)now / 1000.0);
        (void)newest_ms;
    }
    publish_events(l);
    if (held) {
        /* applied records are committed; the held one comes again */
        if (assign_all(l, errstr, errstr_size) != 0)
            return -1;
        struct timespec nap = {1, 0};
        nanosleep(&nap, NULL);
    }
    update_progress(v);
    return 0;
}

/* ---- set-up ---- */

static int topic_setup(loop_t *l, int i, MDB_txn *rt, char *errstr, size_t errstr_size) {
    view_t *v = l->v;
    view_topic_t *t = &v->t[i];
    int n = inv_kafka_partition_count(l->consumer, v->topics[i], 15000, errstr, errstr_size);
    if (n < 0)
        return -1;
    t->partitions = n;
    t->start = calloc((size_t)n, sizeof(int64_t));
    t->target = calloc((size_t)n, sizeof(int64_t));
    t->next = calloc((size_t)n, sizeof(int64_t));
    t->eof = calloc((size_t)n, sizeof(int));
    t->g_offset = calloc((size_t)n, sizeof(void *));
    t->g_end = calloc((size_t)n, sizeof(void *));
    t->g_lag = calloc((size_t)n, sizeof(void *));
    if (!t->start || !t->target || !t->next || !t->eof || !t->g_offset || !t->g_end || !t->g_lag)
        return inv_errstr(errstr, errstr_size, "out of memory");
    for (int32_t p = 0; p < n; p++) {
        int64_t next = 0, lo = 0, hi = 0;
        if (view_store_offset_get(rt, &v->store, i, p, &next) != 0)
            next = 0;
        t->start[p] = t->next[p] = next;
        rd_kafka_resp_err_t e;
        /* a topic just created has no leader for a moment */
        for (int tries = 0;; tries++) {
            e = rd_kafka_query_watermark_offsets(l->consumer, v->topics[i], p, &lo, &hi, 15000);
            if (!e || tries >= 30 || !*l->run)
                break;
            struct timespec nap = {0, 500 * 1000000L};
            nanosleep(&nap, NULL);
        }
        if (e)
            return inv_errstr(errstr, errstr_size, "%s [%d]: end offset: %s", v->topics[i], p, rd_kafka_err2str(e));
        t->target[p] = hi;
        if (next < lo && next > 0)
            inv_log_warn("%s [%d]: resuming at %lld, below the log start %lld (records compacted or deleted meanwhile)",
                         v->topics[i], p, (long long)next, (long long)lo);
        char ps[16];
        snprintf(ps, sizeof(ps), "%d", p);
        const char *labels[] = {"topic", topic_labels[i], "partition", ps, NULL};
        inv_metrics_gauge_t *g_start;
        if (inv_metrics_gauge_new(v->metrics, "inv_view_start_offset",
                                  "Offset each partition resumed from at start (0: rebuilt from the beginning)", labels,
                                  &g_start, errstr, errstr_size) ||
            inv_metrics_gauge_new(v->metrics, "inv_view_offset", "Next offset to apply, per partition", labels,
                                  &t->g_offset[p], errstr, errstr_size) ||
            inv_metrics_gauge_new(v->metrics, "inv_view_end_offset", "End offset of the partition (high watermark)",
                                  labels, &t->g_end[p], errstr, errstr_size) ||
            inv_metrics_gauge_new(v->metrics, "inv_view_lag", "Records not applied yet, per partition", labels,
                                  &t->g_lag[p], errstr, errstr_size))
            return -1;
        inv_metrics_gauge_set(g_start, next);
        inv_metrics_gauge_set(t->g_offset[p], next);
        inv_metrics_gauge_set(t->g_end[p], hi);
        if (hi > next)
            v->rebuild_total += hi - next;
    }
    return 0;
}

static int metrics_setup(view_t *v, char *errstr, size_t errstr_size) {
    if (!(v->metrics = inv_metrics_new()))
        return inv_errstr(errstr, errstr_size, "out of memory");
    if (inv_metrics_gauge_new(v->metrics, "inv_view_ready",
                              "1 once caught up with the end offsets seen at start (/healthz 200)", NULL, &v->g_ready,
                              errstr, errstr_size) ||
        inv_metrics_gauge_new(v->metrics, "inv_view_rebuild_remaining_records",
                              "Records left to the end offsets seen at start", NULL, &v->g_remaining, errstr,
                              errstr_size) ||
        inv_metrics_gauge_new(v->metrics, "inv_view_rebuild_total_records",
                              "Records between the stored offsets and the end offsets seen at start", NULL,
                              &v->g_rebuild_total, errstr, errstr_size) ||
        inv_metrics_gauge_new(v->metrics, "inv_view_sse_subscribers", "Open /api/events streams", NULL, &v->g_subs,
                              errstr, errstr_size) ||
        inv_metrics_gauge_new(v->metrics, "inv_view_last_change_timestamp_seconds",
                              "Wall time of the newest change applied", NULL, &v->g_last_change, errstr, errstr_size) ||
        inv_metrics_counter_new(v->metrics, "inv_view_changes_total", "Records applied since start", NULL,
                                &v->c_changes, errstr, errstr_size))
        return -1;
    static const char *const tables[VIEW_T_COUNT] = {"stock", "availability", "shortages", "reorders"};
    for (int i = 0; i < VIEW_T_COUNT; i++) {
        const char *tl[] = {"table", tables[i], NULL};
        const char *ll[] = {"topic", topic_labels[i], NULL};
        if (inv_metrics_gauge_new(v->metrics, "inv_view_rows", "Rows in the read model, per table", tl, &v->g_rows[i],
                                  errstr, errstr_size) ||
            inv_metrics_counter_new(v->metrics, "inv_view_records_applied_total", "Records applied, per topic", ll,
                                    &v->c_applied[i], errstr, errstr_size) ||
            inv_metrics_counter_new(v->metrics, "inv_view_invalid_records_total",
                                    "Records that could not be decoded or keyed (logged and passed), per topic", ll,
                                    &v->c_invalid[i], errstr, errstr_size))
            return -1;
    }
    return view_api_metrics(v, errstr, errstr_size);
}

static void topics_free(view_t *v) {
    for (int i = 0; i < VIEW_T_COUNT; i++) {
        view_topic_t *t = &v->t[i];
        free(t->start);
        free(t->target);
        free(t->next);
        free(t->eof);
        free(t->g_offset);
        free(t->g_end);
        free(t->g_lag);
    }
}

int inv_view_run(inv_conf_t *conf, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    view_t v = {0};
    loop_t l = {.v = &v, .run = run};
    inv_http_t *http = NULL;
    int rc = -1;
    for (int i = 0; i < VIEW_T_COUNT; i++)
        v.topics[i] = inv_conf_get(conf, topic_keys[i]);
    const char *dir = inv_conf_get(conf, "state.dir");
    v.listen = inv_conf_get(conf, "http.listen");
    if (!*v.listen)
        v.listen = "127.0.0.1:8080";
    inv_buf_init(&l.ev);
    int src =
        view_store_open(&v.store, dir, inv_conf_get_int(conf, "view.map.size.mb"),
                        inv_conf_get_int(conf, "view.history.per.sku"), inv_conf_get_int(conf, "view.history.max"));
    if (src) {
        snprintf(errstr, errstr_size, "state dir %s: %s", dir, mdb_strerror(src));
        return -1;
    }
    if (!(v.hub = view_hub_new((size_t)inv_conf_get_int(conf, "view.sse.buffer")))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    inv_kafka_settings_read(conf, &l.ks);
    inv_codec_conf_read(conf, &l.codec);
    if (inv_schema_source_open(conf, &l.codec, NULL, 0, run, &l.schemas, errstr, errstr_size) != 0)
        goto out;
    if (!(l.decoder = inv_decoder_new(inv_schema_source_resolver(l.schemas), errstr, errstr_size)))
        goto out;
    char name[300];
    snprintf(name, sizeof(name), "%s.view", l.ks.group_id && *l.ks.group_id ? l.ks.group_id : "inv-view");
    if (!(l.consumer = inv_kafka_reader_new(&l.ks, name, 1, NULL, errstr, errstr_size)))
        goto out;
    if (metrics_setup(&v, errstr, errstr_size) != 0)
        goto out;
    MDB_txn *rt;
    if ((src = mdb_txn_begin(v.store.env, NULL, MDB_RDONLY, &rt)) != 0) {
        snprintf(errstr, errstr_size, "state dir %s: %s", dir, mdb_strerror(src));
        goto out;
    }
    for (int i = 0; i < VIEW_T_COUNT; i++)
        if (topic_setup(&l, i, rt, errstr, errstr_size) != 0) {
            mdb_txn_abort(rt);
            goto out;
        }
    int64_t version = view_store_version(rt, &v.store);
    mdb_txn_abort(rt);
    inv_metrics_gauge_set(v.g_rebuild_total, v.rebuild_total);
    inv_log_info("%s from the offsets in %s (sum %lld): %lld record(s) to the end offsets seen at start",
                 version ? "resuming" : "rebuilding", dir, (long long)version, (long long)v.rebuild_total);
    update_progress(&v);
    if (assign_all(&l, errstr, errstr_size) != 0)
        goto out;
    inv_http_conf_t hc;
    inv_http_conf_read(conf, &hc);
    hc.observe = view_api_observe;
    if (!(http = inv_http_start_conf(v.listen, view_routes, &v, &hc, errstr, errstr_size)))
        goto out;
    inv_log_info("serving the API and the dashboard on %s://%s/", *hc.tls_cert_file ? "https" : "http", v.listen);
    double last_lag = 0, last_ping = inv_time_mono_s();
    while (*run) {
        if (batch(&l, errstr, errstr_size) != 0)
            goto out;
        double now = inv_time_mono_s();
        if (now - last_lag >= 1.0) {
            last_lag = now;
            update_lag(&l);
        }
        if (now - last_ping >= PING_SECONDS) {
            last_ping = now;
            view_hub_ping(v.hub);
        }
    }
    rc = 0;
out:
    view_hub_close(v.hub);
    inv_http_stop(http);
    if (l.consumer)
        inv_kafka_close_destroy(l.consumer, "the view consumer", (int)inv_conf_get_int(conf, "shutdown.timeout.ms"));
    inv_decoder_destroy(l.decoder);
    inv_schema_source_close(l.schemas);
    inv_kafka_settings_free(&l.ks);
    view_hub_destroy(v.hub);
    inv_metrics_destroy(v.metrics);
    topics_free(&v);
    inv_buf_free(&l.ev);
    view_store_close(&v.store);
    if (rc && !*run)
        rc = 0; /* stopped during start-up */
    return rc;
}

int inv_view_metrics_sample(inv_metrics_buf_t *out, char *errstr, size_t errstr_size) {
    view_t v = {0};
    int rc = -1;
    if (metrics_setup(&v, errstr, errstr_size) == 0) {
        rc = 0;
        /* the per-partition series, as topic_setup registers them (one partition) */
        for (int i = 0; i < VIEW_T_COUNT && !rc; i++) {
            const char *labels[] = {"topic", topic_labels[i], "partition", "0", NULL};
            inv_metrics_gauge_t *g;
            rc = inv_metrics_gauge_new(v.metrics, "inv_view_start_offset",
                                       "Offset each partition resumed from at start (0: rebuilt from the beginning)",
                                       labels, &g, errstr, errstr_size) ||
                         inv_metrics_gauge_new(v.metrics, "inv_view_offset", "Next offset to apply, per partition",
                                               labels, &g, errstr, errstr_size) ||
                         inv_metrics_gauge_new(v.metrics, "inv_view_end_offset",
                                               "End offset of the partition (high watermark)", labels, &g, errstr,
                                               errstr_size) ||
                         inv_metrics_gauge_new(v.metrics, "inv_view_lag", "Records not applied yet, per partition",
                                               labels, &g, errstr, errstr_size)
                     ? -1
                     : 0;
        }
        if (!rc && inv_metrics_render(v.metrics, out) != 0)
            rc = inv_errstr(errstr, errstr_size, "out of memory");
    }
    inv_metrics_destroy(v.metrics);
    return rc;
}
