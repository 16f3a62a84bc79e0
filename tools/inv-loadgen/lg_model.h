/*
 * lg_model: the load generator's traffic model. It decides what a retail
 * chain's POS integrations send next (sales, returns, receipts, adjustments,
 * counts, reservation holds and what becomes of them, transfers between
 * locations, sales uploaded late, re-sent duplicates, malformed messages),
 * encodes it, and keeps the books: the stock each
 * (sku, location) must end with once inv-stock has applied every valid
 * message it produced (the oracle).
 *
 * Deterministic: the messages are a function of lg_model_conf_t alone (the
 * seed included) as long as the clock is simulated (start_ms set), so the
 * same seed and flags give the same bytes in the same order. Kafka, timing
 * and the rate play no part; reorder-feedback receipts, which depend on what
 * inv-stock emits, are made by lg_model_feedback() and draw nothing from the
 * seeded generator, so they leave the rest of the sequence unchanged. The one
 * exception is the times of reservation events: a hold's occurred_at and
 * expires_at, and a release's occurred_at, come from conf.wall_ms (the wall
 * clock by default), because inv-stock expires holds on its own clock.
 *
 * Memory: a message returned in lg_msg_t borrows the model's buffers; it is
 * valid until the next call on the model. Copy (or produce with
 * RD_KAFKA_MSG_F_COPY) before that.
 *
 * Errors: functions return 0 on success, or -1 with errstr set.
 */
#ifndef LG_MODEL_H
#define LG_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inv_codec.h"

/* The input topic a message goes to. */
typedef enum {
    LG_TOPIC_SALES = 0,
    LG_TOPIC_RETURNS,
    LG_TOPIC_RESTOCKS,
    LG_TOPIC_RESERVATIONS,
    LG_TOPIC_TRANSFERS, /* keyed by transfer_id */
    LG_TOPIC_CHANNELS,  /* the channel map, written once at start */
    LG_TOPIC_POLICIES,  /* planned reorder policies, written once at start */
    LG_TOPIC_MAX
} lg_topic_t;

/* What a message is, for totals. */
typedef enum {
    LG_KIND_SALE = 0,
    LG_KIND_RETURN,
    LG_KIND_RECEIPT,    /* periodic replenishment */
    LG_KIND_ADJUSTMENT, /* signed: shrinkage, damage, found stock */
    LG_KIND_COUNT,      /* physical count: sets on_hand */
    LG_KIND_OPENING,    /* opening receipt at start */
    LG_KIND_FEEDBACK,   /* receipt answering a ReorderEvent */
    LG_KIND_HOLD,       /* ReservationEvent hold at an e-commerce location */
    LG_KIND_RELEASE,    /* ReservationEvent release of a hold, same lines */
    LG_KIND_FULFILMENT, /* SaleEvent with the hold's reservation_id */
    LG_KIND_CHANNEL,    /* ChannelLocation of the channel map */
    LG_KIND_POLICY,     /* ReorderPolicy planned by lg_model_plan_policies */
    LG_KIND_SHIPPED,    /* TransferEvent shipped: units leave a location */
    LG_KIND_RECEIVED,   /* TransferEvent received, part or all of a shipment */
    LG_KIND_CANCELED,   /* TransferEvent canceled: what is in transit goes back */
    LG_KIND_MAX
} lg_kind_t;

/* How a malformed message is broken: bugs seen in real POS integrations. */
typedef enum {
    LG_BAD_NONE = 0,
    LG_BAD_TRUNCATED,  /* JSON cut short: a write or buffer bug */
    LG_BAD_MISSING,    /* location_id (unconfigured terminal) or a line's sku missing */
    LG_BAD_QUANTITY,   /* a voided line sent with quantity 0 (a count: -1) */
    LG_BAD_ENUM,       /* channel "kiosk", disposition "refurbished", kind "transfer" */
    LG_BAD_TYPE,       /* quantity as a string: "2" */
    LG_BAD_LOCAL_TIME, /* occurred_at in local time without a zone */
    LG_BAD_SCHEMA_ID,  /* Avro framed with a schema id nobody registered (avro only) */
    LG_BAD_MAX
} lg_bad_t;

/* Simulated clock off: occurred_at is the wall clock (not reproducible). */
#define LG_CLOCK_WALL INT64_MIN

/* Upper bounds of the model, checked by lg_model_new. */
#define LG_MAX_LOCATIONS 1000
#define LG_MAX_SKUS 1000000
#define LG_MAX_PAIRS 5000000                  /* skus x locations: the books are dense */
#define LG_MAX_HOLD_TTL_MS INT64_C(604800000) /* reservation.max.ttl.ms's default */

/* What becomes of a hold, in these shares: fulfilled by one sale or two,
 * released, or left to expire. */
#define LG_HOLD_FULFIL_SHARE 0.75
#define LG_HOLD_RELEASE_SHARE 0.15
#define LG_HOLD_SPLIT_SHARE 0.25 /* of the fulfilled holds: two sales */

/* What becomes of a shipment, in these shares: received in one receipt, in
 * two partial receipts, canceled after a partial receipt, or canceled
 * before any; a receipt line arrives with damaged units in the last share. */
#define LG_TRANSFER_ONE_RECEIPT_SHARE 0.65
#define LG_TRANSFER_TWO_RECEIPTS_SHARE 0.15
#define LG_TRANSFER_PARTIAL_CANCEL_SHARE 0.12
#define LG_TRANSFER_REJECTED_SHARE 0.15
#define LG_MAX_DELAY_MS INT64_C(86400000) /* --transit-ms, --late-sales-delay-ms */

typedef struct {
    uint64_t seed;
    size_t locations; /* store-1..k, dc-1, web-1 (see lg_model_location_name) */
    size_t skus;      /* SKU-1 (best seller) .. SKU-n */
    double zipf;      /* popularity exponent, >= 0 */
    /* Shares of fresh events by kind; sales get the rest. Sum <= 1. The
     * follow-ups of holds (fulfilments, releases) come on top. */
    double returns_ratio, receipts_ratio, adjustments_ratio, counts_ratio, reservations_ratio;
    /* expires_at - occurred_at of every hold (wall clock) */
    int64_t hold_ttl_ms;
    /* A hold's fulfilment or release comes 1..followup_max fresh events
     * after it (lg_args sets it to about half the TTL at --rate). */
    uint32_t followup_max;
    /* The clock of reservation events (epoch ms); NULL = the wall clock.
     * Tests set a fixed one for reproducible bytes. */
    int64_t (*wall_ms)(void);
    /* Share of fresh events that are transfers (a shipment; its receipts
     * or cancel come on top), added to the shares above. */
    double transfers_ratio;
    /* A shipment's first receipt or cancel comes transit_ms / 2 ..
     * transit_ms after it, a second one up to transit_ms / 2 later, on the
     * occurred_at clock. */
    int64_t transit_ms;
    /* Share of the sales over the store channel held back (a till offline)
     * and sent late_delay_ms later on the occurred_at clock, with their own
     * occurred_at. */
    double late_sales_ratio;
    int64_t late_delay_ms;
    /* Shares of all traffic messages; sum <= 1. */
    double duplicates_ratio, malformed_ratio;
    int64_t opening_stock; /* per (sku, location); 0 = no opening receipts */
    int64_t start_ms;      /* simulated clock start (epoch ms), or LG_CLOCK_WALL */
    inv_format_t format;
    int32_t schema_ids[INV_MSG_COUNT];
} lg_model_conf_t;

/* The defaults documented in docs/LOADGEN.md (seed 1, simulated clock). */
void lg_model_conf_defaults(lg_model_conf_t *c);

/* Checks every bound and that the shares add up to at most 1; errors name
 * the inv-loadgen flag. 0, or -1 with errstr. */
int lg_model_conf_check(const lg_model_conf_t *c, char *errstr, size_t errstr_size);

typedef struct {
    lg_topic_t topic;
    lg_kind_t kind;  /* a duplicate or malformed message has its original's kind */
    lg_bad_t bad;    /* LG_BAD_NONE unless malformed */
    int duplicate;   /* 1: byte-identical re-send of an earlier message */
    const char *key; /* the event_id */
    size_t key_len;
    const void *value;
    size_t value_len;
    size_t lines;
    /* Malformed only: the field the decoder's inv.error names first
     * ("location_id", "lines[2].quantity"), or "" when the decoder cannot
     * read the message at all (LG_BAD_TRUNCATED, LG_BAD_SCHEMA_ID). */
    const char *bad_field;
} lg_msg_t;

typedef struct {
    uint64_t messages; /* everything returned, of every sort */
    uint64_t bytes;    /* value bytes */
    uint64_t by_topic[LG_TOPIC_MAX];
    uint64_t events[LG_KIND_MAX]; /* valid, first sends */
    uint64_t lines;               /* lines of those */
    uint64_t duplicates;
    uint64_t malformed;
    uint64_t by_bad[LG_BAD_MAX];
    /* late sales sent (also in events[LG_KIND_SALE]), and those of them
     * with a line dated before a count of its row sent earlier */
    uint64_t late_sales, late_before_count;
} lg_stats_t;

typedef struct lg_model_s lg_model_t;

/* A model for conf (copied). Errors: a value out of range (named), out of
 * memory, encoder creation. The caller owns the result. */
lg_model_t *lg_model_new(const lg_model_conf_t *conf, char *errstr, size_t errstr_size);
void lg_model_destroy(lg_model_t *m);

/* The next opening receipt (one per location and up to 100 SKUs): 1 and
 * *out filled, 0 when every (sku, location) has had its opening stock. */
int lg_model_next_opening(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size);

/* The next traffic message: a duplicate, a malformed message or a fresh
 * event, in the configured shares. 0, or -1 with errstr (encoder failure:
 * a bug). */
int lg_model_next(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size);

/* What is held back: the late sales and the transfers' receipts and
 * cancels not yet due, one message per call, in the order they were due,
 * whatever the clock says (at the end of a run, so that every sale of the
 * books is sent and nothing stays in transit). Counted as traffic. 1 and
 * *out filled, 0 when nothing is held back, -1 with errstr. */
int lg_model_next_held(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size);

/* The channel map, one ChannelLocation per call (key `channel|location_id`,
 * topic LG_TOPIC_CHANNELS): `online` -> the DC and the web shop, buffer 0;
 * `marketplace` -> the DC (the web shop without a DC), buffer 2; the store
 * channel is not mapped. 1 and *out filled, 0 after the last. Counted in
 * the totals as LG_KIND_CHANNEL; draws nothing from the generator. */
int lg_model_next_channel(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size);

/* Plays the planner: sizes a reorder policy for every (sku, location) to
 * this traffic's demand, measured on a private copy of the model (the same
 * flags; no duplicates, malformed messages or opening stock) over enough
 * events to see every pair's rate, at `events_per_second` fresh events per
 * second and a supplier lead time of lead_time_ms (one more second for the
 * pipeline). With D the pair's units sold per second and DL = D x (lead + 1 s):
 * safety_stock = ceil(DL / 2) + the largest line (48 at the DC, b2b; 5
 * elsewhere), reorder_point = ceil(DL) + safety_stock, reorder_quantity =
 * D x max(2 (lead + 1 s), 10 s) rounded up to case packs (6 stores, 12 web,
 * 24 DC). The opening receipts then bring each pair to reorder_point +
 * reorder_quantity (instead of opening_stock) and periodic receipts order up
 * to it. Call before the first message. Draws nothing from the model's own
 * generator. 0, or -1 with errstr (rate 0, out of memory). */
int lg_model_plan_policies(lg_model_t *m, double events_per_second, int64_t lead_time_ms, char *errstr,
                           size_t errstr_size);

/* The planned policies, one ReorderPolicy per call (key `sku|location_id`,
 * topic LG_TOPIC_POLICIES, counted as LG_KIND_POLICY): 1 and *out filled, 0
 * after the last or without a plan. */
int lg_model_next_policy(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size);

/* A receipt delivering `quantity` of sku at location_id against purchase
 * order `po_id` (the ReorderEvent's event_id). Its event_id is derived from
 * po_id, so a re-read reorder yields the same receipt, which inv-stock drops.
 * sku and location_id need not be the model's own. 0, or -1 with errstr
 * (ids over INV_CODEC_MAX_ID_LEN are hashed, never an error). */
int lg_model_feedback(lg_model_t *m, const char *sku, const char *location_id, int64_t quantity, const char *po_id,
                      lg_msg_t *out, char *errstr, size_t errstr_size);

const lg_stats_t *lg_model_stats(const lg_model_t *m);

/* Writes the oracle: a header line, then one JSON line per (sku, location)
 * the produced events touched and one per SKU for the network row "sku|*":
 *   {"key":"SKU-1|store-1","on_hand":7,"unsellable":1,"available":7,
 *    "committed":0,"incoming":0,"in_transit_out":0}
 * on_order is left out: it depends on when inv-stock reorders. committed is
 * 0 and available max(on_hand, 0) once every hold is closed: fulfilled,
 * released or expired. The header's "settled_at" is the latest expires_at of
 * any hold sent (null without holds): after it, on inv-stock's clock, no
 * line can be open whatever the order holds and their sales were applied
 * in. The header also counts the transfers by status and the late sales
 * (call after lg_model_next_held() has returned 0: nothing in transit).
 * on_hand is that of counts as of their time: a count sets the row as of
 * its occurred_at, the changes dated after it add up; the books apply every
 * change in the order of occurred_at (a late sale when it was made), and
 * the clock moves past each count. The values do not depend on the order
 * inv-stock applies things in, except with feedback receipts.
 * 0, or -1 with errstr on a write error. */
int lg_model_write_oracle(const lg_model_t *m, FILE *f, char *errstr, size_t errstr_size);

/* The names used in totals and --stats-json: "sale", "truncated", ... */
const char *lg_kind_name(lg_kind_t k);
const char *lg_bad_name(lg_bad_t b);

/* The latest expires_at of the holds sent (epoch ms), INT64_MIN for none. */
int64_t lg_model_settled_at(const lg_model_t *m);

/* Location i (0-based) of a model with n locations: "store-<i+1>", "dc-1" or
 * "web-1" (n = 1: store-1; n = 2: store-1, web-1; n >= 3: n-2 stores, dc-1,
 * web-1). Writes into buf and returns it. */
const char *lg_model_location_name(size_t n, size_t i, char *buf, size_t buf_size);

#endif
