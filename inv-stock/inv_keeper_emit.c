#include "inv_keeper_emit.h"

#include <stdio.h>
#include <string.h>

#include "inv_holds.h"
#include "inv_transfers.h"
#include "inv_model.h"
#include "inv_restore.h"

/* Room for the longest sku and location_id of a stored row (long ids). */
#define KEY_BYTES 1100

static int produce_keyed(emit_t *e, const char *topic, int32_t partition, const char *sku, const char *loc, int64_t ts,
                         rd_kafka_headers_t *hdrs) {
    char key[KEY_BYTES];
    int n = inv_row_key(key, sizeof(key), sku, loc);
    if (n < 0) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    return inv_txloop_produce(e->loop, topic, partition, key, (size_t)n, e->buf.data, e->buf.len, ts, hdrs);
}

/* The partition of sku's records in a topic of n partitions: murmur2 of the
 * sku, as the Java client and the movements topic place it. */
static int32_t sku_partition(const char *sku, int n) {
    return rd_kafka_msg_partitioner_murmur2(NULL, sku, strlen(sku), n, NULL, NULL);
}

int emit_outputs(emit_t *e, const inv_rules_out_t *out, int64_t ts, char *errstr, size_t errstr_size) {
    const inv_reorder_t *reorders[2] = {out->has_reorder ? &out->reorder : NULL,
                                        out->has_other_reorder ? &out->other_reorder : NULL};
    for (int i = 0; i < 2; i++) {
        const inv_reorder_t *r = reorders[i];
        if (!r)
            continue;
        if (inv_encoder_encode_reorder(e->encoder, r, &e->buf, errstr, errstr_size) != 0 ||
            produce_keyed(e, e->t_reorders, sku_partition(r->sku, e->reorders_partitions), r->sku, r->location_id, ts,
                          NULL) != 0)
            return -1;
        inv_keeper_metrics_reorder(e->metrics);
    }
    for (size_t i = 0; i < out->shortage_count; i++) {
        const inv_shortage_t *s = &out->shortages[i];
        if (inv_encoder_encode_shortage(e->encoder, s, &e->buf, errstr, errstr_size) != 0 ||
            produce_keyed(e, e->t_shortages, sku_partition(s->sku, e->shortages_partitions), s->sku, s->location_id, ts,
                          NULL) != 0)
            return -1;
        inv_keeper_metrics_shortage(e->metrics, s->state);
    }
    if (out->has_status) {
        const inv_reservation_status_t *s = &out->status;
        if (inv_encoder_encode_reservation_status(e->encoder, s, &e->buf, errstr, errstr_size) != 0 ||
            inv_txloop_produce(e->loop, e->t_reservation_status, sku_partition(s->sku, e->status_partitions),
                               s->reservation_id, strlen(s->reservation_id), e->buf.data, e->buf.len, ts, NULL) != 0)
            return -1;
        inv_keeper_metrics_reservation(e->metrics, s->state);
    }
    return 0;
}

int emit_availability(emit_t *e, const char *sku, const char *channel, const inv_availability_t *a, char *errstr,
                      size_t errstr_size) {
    char key[KEY_BYTES];
    int n = inv_row_key(key, sizeof(key), sku, channel);
    if (n < 0) {
        snprintf(errstr, errstr_size, "%s: key of sku %.40s and channel %.40s too long", e->t_availability, sku,
                 channel);
        return -1;
    }
    if (a && inv_encoder_encode_availability(e->encoder, a, &e->buf, errstr, errstr_size) != 0)
        return -1;
    if (inv_txloop_produce(e->loop, e->t_availability, sku_partition(sku, e->availability_partitions), key, (size_t)n,
                           a ? e->buf.data : NULL, a ? e->buf.len : 0, 0, NULL) != 0) {
        snprintf(errstr, errstr_size, "produce to %s failed", e->t_availability);
        return -1;
    }
    return 0;
}

int emit_stock_levels(emit_t *e, dirty_set_t *dirty, char *errstr, size_t errstr_size) {
    for (size_t j = 0; j < dirty->len && dirty->unemitted; j++) {
        dirty_row_t *d = &dirty->rows[j];
        if (d->emitted)
            continue;
        dirty_mark_emitted(dirty, d);
        inv_stock_level_t level;
        inv_rules_stock_level(d->sku, d->location, &d->row, &level);
        if (inv_encoder_encode_stock_level(e->encoder, &level, &e->buf, errstr, errstr_size) != 0)
            return -1;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, INV_RESTORE_SHORTAGE_HEADER, -1, inv_shortage_state_name(d->row.shortage), -1);
        if (produce_keyed(e, e->t_stock, d->partition, d->sku, d->location, 0, hdrs) != 0) {
            snprintf(errstr, errstr_size, "produce to %s failed", e->t_stock);
            return -1;
        }
    }
    return 0;
}

int emit_ids(emit_t *e, int32_t p, partition_t *pt, int last) {
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    rd_kafka_header_add(hdrs, INV_STORE_DEDUP_LOG_HEADER, -1, INV_STORE_DEDUP_LOG_VERSION, -1);
    if (last) {
        char next[24];
        snprintf(next, sizeof(next), "%lld", (long long)pt->batch_next);
        rd_kafka_header_add(hdrs, INV_RESTORE_INPUT_OFFSET_HEADER, -1, next, -1);
    }
    /* Stamped now (0), whatever the inputs' timestamps: the topic's
     * retention, dedup.window.ms, then runs on inv-stock's clock too. */
    size_t from = pt->ids_sent;
    int rc = inv_txloop_produce(e->loop, e->t_dedup, p, NULL, 0, pt->ids.data + from, pt->ids.len - from, 0, hdrs);
    pt->ids_sent = pt->ids.len;
    return rc;
}

int emit_hold(emit_t *e, int32_t p, const char *sku, const char *location, const char *reservation_id,
              const inv_rules_hold_t *h) {
    char key[INV_HOLDS_LOG_KEY_MAX];
    size_t klen = inv_holds_log_key(key, sizeof(key), sku, location, reservation_id);
    if (!klen)
        return -1;
    unsigned char val[INV_HOLDS_LOG_VALUE_SIZE];
    inv_holds_log_value(val, h);
    int open = h->remaining > 0;
    return inv_txloop_produce(e->loop, e->t_state, p, key, klen, open ? val : NULL, open ? sizeof(val) : 0, 0, NULL);
}

int emit_transfer(emit_t *e, int32_t p, const char *sku, const char *transfer_id, const inv_rules_transfer_t *t) {
    char key[INV_TRANSFERS_LOG_KEY_MAX];
    size_t klen = inv_transfers_log_key(key, sizeof(key), sku, transfer_id);
    if (!klen)
        return -1;
    unsigned char val[INV_TRANSFERS_LOG_VALUE_SIZE];
    inv_transfers_log_value(val, t);
    int open = inv_transfers_open(t);
    return inv_txloop_produce(e->loop, e->t_state, p, key, klen, open ? val : NULL, open ? sizeof(val) : 0, 0, NULL);
}

int emit_expire(emit_t *e, int32_t p, const char *sku, const char *location, const char *reservation_id,
                const inv_rules_hold_t *h, char *errstr, size_t errstr_size) {
    /* the hash tells apart the lines (sku, location) of one reservation
     * and the expiries of a line renewed since */
    char what[2 * 256 + 2 + 24];
    int n = snprintf(what, sizeof(what), "%s%c%s%c%lld", sku, 0, location, 0, (long long)h->expires_at_ms);
    char id[300];
    snprintf(id, sizeof(id), "expire:%s:%016llx", reservation_id,
             (unsigned long long)inv_store_hash64(what, n > 0 && (size_t)n < sizeof(what) ? (size_t)n : 0));
    inv_movement_t m = {
        .movement_id = id,
        .sku = sku,
        .location_id = location,
        .channel = h->channel,
        .type = INV_MOVE_EXPIRE,
        .quantity = h->remaining,
        .occurred_at_ms = h->expires_at_ms, /* the expiry it is written for */
        .source = "inv-stock",
        .reservation_id = reservation_id,
    };
    if (inv_encoder_encode_movement(e->encoder, &m, &e->buf, errstr, errstr_size) != 0)
        return -1;
    return inv_txloop_produce(e->loop, e->t_movements, p, sku, strlen(sku), e->buf.data, e->buf.len, 0, NULL);
}
