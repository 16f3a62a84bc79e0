/*
 * inv_keeper_emit: the keeper's outputs, produced inside the batch's Kafka
 * transaction (inv_txloop_produce): ReorderEvents and ShortageEvents (to
 * partition murmur2(sku) of their topics, as everything written for a SKU),
 * ReservationStatuses (keyed by reservation_id, same partitioning), the
 * StockLevels of changed rows (to the changelog partition of their input
 * partition, with the row's shortage state in a header), the applied
 * movement ids (to the dedup log), reservation lines (to the state log,
 * inv_holds) and expire movements (to the SKU's own movements partition).
 *
 * Errors: -1 when a record could not be encoded or queued (the batch must
 * abort), with errstr where the signature has one.
 */
#ifndef INV_KEEPER_EMIT_H
#define INV_KEEPER_EMIT_H

#include "inv_codec.h"
#include "inv_keeper_batch.h"
#include "inv_keeper_metrics.h"
#include "inv_rules.h"
#include "inv_txloop.h"

typedef struct {
    inv_txloop_t *loop;            /* borrowed */
    inv_encoder_t *encoder;        /* borrowed */
    inv_keeper_metrics_t *metrics; /* borrowed */
    const char *t_stock, *t_reorders, *t_shortages, *t_dedup, *t_state, *t_reservation_status, *t_movements,
        *t_availability;
    int reorders_partitions, shortages_partitions, status_partitions, availability_partitions; /* of their topics */
    inv_buf_t buf; /* one encoded record at a time, owned */
} emit_t;

/* Produces the reorder, the shortages and the reservation status one
 * movement caused, keyed by their row (the status by its reservation_id),
 * to partition murmur2(sku), with the input's timestamp ts. */
int emit_outputs(emit_t *e, const inv_rules_out_t *out, int64_t ts, char *errstr, size_t errstr_size);
/* Produces the StockLevel of every row of the set changed since it was
 * last produced, as last written (no LMDB read), and marks it produced. */
int emit_stock_levels(emit_t *e, dirty_set_t *dirty, char *errstr, size_t errstr_size);
/* Produces the AvailabilityLevel a (stamped when produced) keyed sku|channel to partition murmur2(sku) of
 * topic.availability; a NULL a is the tombstone of (sku, channel). */
int emit_availability(emit_t *e, const char *sku, const char *channel, const inv_availability_t *a, char *errstr,
                      size_t errstr_size);
/* Produces partition p's applied ids not produced yet (pt->ids past
 * pt->ids_sent) to the dedup log as one record; with last, the record also
 * names the input offset the batch brings p to
 * (INV_RESTORE_INPUT_OFFSET_HEADER). */
int emit_ids(emit_t *e, int32_t p, partition_t *pt, int last);
/* Produces the state log record of a reservation line of partition p: its
 * value while open, a tombstone once closed. */
/* Transfer line t of (sku, transfer_id) to the state log (a tombstone once
 * settled). 0 or -1. */
int emit_transfer(emit_t *e, int32_t p, const char *sku, const char *transfer_id, const inv_rules_transfer_t *t);

int emit_hold(emit_t *e, int32_t p, const char *sku, const char *location, const char *reservation_id,
              const inv_rules_hold_t *h);
/* Produces the `expire` movement of an open line whose expiry is due, to
 * partition p of the movements topic (the SKU's own), where inv-stock
 * applies it when it reads it. Its id, expire:<reservation_id>:<hash of
 * sku, location and expiry>, is the same whoever writes it and however
 * often, so the dedup log applies it once. */
int emit_expire(emit_t *e, int32_t p, const char *sku, const char *location, const char *reservation_id,
                const inv_rules_hold_t *h, char *errstr, size_t errstr_size);

#endif
