/*
 * invctl watch: what a person wants to see of a running inv-stock, once a
 * second: throughput and lag per movements partition (LMDB's applied offsets
 * against the topic's end), the lowest-stock rows per location and for the
 * network (an LMDB read-only snapshot, which never blocks the writer), the
 * units committed to open reservations, incoming and in transit (transfers
 * shipped, not yet received), what each sales channel may sell (the
 * instance's AvailabilityLevels, summed over its SKUs), and the latest
 * reorder and shortage events (tailing their topics).
 */
#include "watch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inv_avail.h"
#include "inv_codec_conf.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_rules.h"
#include "inv_store.h"
#include "inv_time.h"

#define MAX_ROWS INVCTL_WATCH_MAX_ROWS
#define MAX_EVENTS 8
#define MAX_PARTS 256
#define MAX_CHANNELS 16

typedef struct {
    char key[INV_ROW_KEY_MAX + 1];
    int64_t available, on_hand, on_order;
    const char *shortage;
} low_row_t;

typedef struct {
    low_row_t loc[MAX_ROWS], net[MAX_ROWS];
    int nloc, nnet, top;
    uint64_t rows;
    int64_t applied[MAX_PARTS];
    int parts_seen;
    int64_t committed;  /* units held by open reservations, every location */
    int64_t incoming;   /* units shipped to the locations, not yet received */
    int64_t in_transit; /* units shipped from them, not yet received */
    struct {
        char name[64];
        int64_t sellable; /* available_to_sell summed over SKUs */
        int64_t skus, sold_out;
    } ch[MAX_CHANNELS];
    int nch;
    inv_store_txn_t *txn;
} snapshot_t;

/* Keeps the `top` lowest-available rows, ascending. */
static void keep_lowest(low_row_t *rows, int *n, int top, const low_row_t *r) {
    int i = *n;
    if (i == top) {
        if (rows[top - 1].available <= r->available)
            return;
        i = top - 1;
    } else {
        (*n)++;
    }
    while (i > 0 && rows[i - 1].available > r->available) {
        rows[i] = rows[i - 1];
        i--;
    }
    rows[i] = *r;
}

static int scan_row(void *opaque, int32_t partition, const char *sku, const char *location,
                    const inv_stock_row_t *row) {
    (void)partition;
    snapshot_t *s = opaque;
    low_row_t r = {.available = row->available,
                   .on_hand = row->on_hand,
                   .on_order = row->on_order,
                   .shortage = inv_shortage_state_name(row->shortage)};
    inv_row_key(r.key, sizeof(r.key), sku, location);
    s->rows++;
    if (strcmp(location, "*") != 0) { /* the network row is their sum */
        s->committed += row->committed;
        s->incoming += row->incoming;
        s->in_transit += row->in_transit_out;
    }
    if (strcmp(location, "*") == 0)
        keep_lowest(s->net, &s->nnet, s->top, &r);
    else
        keep_lowest(s->loc, &s->nloc, s->top, &r);
    return 0;
}

static int scan_avail(void *opaque, const char *sku, const char *channel, const inv_avail_state_t *st) {
    (void)sku;
    snapshot_t *s = opaque;
    int i = 0;
    while (i < s->nch && strcmp(s->ch[i].name, channel) != 0)
        i++;
    if (i == s->nch) {
        if (s->nch == MAX_CHANNELS)
            return 0;
        snprintf(s->ch[s->nch++].name, sizeof(s->ch[0].name), "%s", channel);
    }
    s->ch[i].sellable += st->available_to_sell;
    s->ch[i].skus++;
    s->ch[i].sold_out += st->available_to_sell == 0;
    return 0;
}

static int scan_meta(void *opaque, int32_t partition, const inv_store_meta_t *meta) {
    snapshot_t *s = opaque;
    if (s->txn) /* a view, not a check: an unreadable partition shows without its channels */
        (void)inv_avail_foreach(s->txn, partition, scan_avail, s);
    if (partition >= 0 && partition < MAX_PARTS) {
        s->applied[partition] = meta->input_offset;
        if (partition + 1 > s->parts_seen)
            s->parts_seen = partition + 1;
    }
    return 0;
}

typedef struct {
    char line[MAX_EVENTS][200];
    int n;
} recent_t;

static void recent_add(recent_t *r, const char *text) {
    if (r->n == MAX_EVENTS) {
        memmove(r->line[0], r->line[1], sizeof(r->line[0]) * (MAX_EVENTS - 1));
        r->n--;
    }
    snprintf(r->line[r->n++], sizeof(r->line[0]), "%s", text);
}

/* One line of a reorder or shortage event; JSON or Avro through the decoder. */
static void describe_event(inv_decoder_t *dec, const rd_kafka_message_t *m, int is_reorder, char *out, size_t n) {
    char err[INV_ERRSTR_SIZE], ts[32];
    if (is_reorder) {
        inv_reorder_t r;
        if (inv_decoder_decode_reorder(dec, m->payload, m->len, &r, err, sizeof(err)) == 0) {
            inv_time_format_rfc3339(r.occurred_at_ms, ts);
            snprintf(n ? out : out, n, "%.19s  REORDER %-22.22s %-10.10s qty %-5lld on_hand %lld on_order %lld", ts,
                     r.sku, r.location_id, (long long)r.quantity, (long long)r.on_hand, (long long)r.on_order);
            return;
        }
    } else {
        inv_shortage_t s;
        if (inv_decoder_decode_shortage(dec, m->payload, m->len, &s, err, sizeof(err)) == 0) {
            inv_time_format_rfc3339(s.occurred_at_ms, ts);
            snprintf(out, n, "%.19s  %-12s %-22.22s %-10.10s available %lld (threshold %lld)", ts,
                     inv_shortage_state_to_string(s.state), s.sku, s.location_id, (long long)s.available,
                     (long long)s.threshold);
            return;
        }
    }
    snprintf(out, n, "(undecodable: %.150s)", err); /* bounded: -O2 -Werror=format-truncation */
}

static rd_kafka_t *tail_consumer(inv_conf_t *conf, const char *const topics[2], char *errstr, size_t errstr_size) {
    rd_kafka_t *rk = inv_kafka_reader_new(invctl_kafka, "invctl-watch", 0, NULL, errstr, errstr_size);
    if (!rk)
        return NULL;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < 2; t++) {
        int n = inv_kafka_partition_count(rk, topics[t], 10000, errstr, errstr_size);
        if (n < 0) {
            rd_kafka_topic_partition_list_destroy(parts);
            inv_kafka_close_destroy(rk, "the watch consumer", (int)inv_conf_get_int(conf, "shutdown.timeout.ms"));
            return NULL;
        }
        for (int p = 0; p < n; p++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_query_watermark_offsets(rk, topics[t], p, &lo, &hi, 10000);
            rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset =
                hi - MAX_EVENTS > lo ? hi - MAX_EVENTS : lo;
        }
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return rk;
}

int invctl_watch(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv) {
    (void)argc;
    (void)argv;
    int interval_ms = (int)o->interval_ms, top = (int)o->top, once = o->once;
    const char *dir = inv_conf_get(conf, "state.dir");
    const char *movements = inv_conf_get(conf, "topic.movements");
    const char *const topics[2] = {inv_conf_get(conf, "topic.reorders"), inv_conf_get(conf, "topic.shortages")};
    char errstr[INV_ERRSTR_SIZE];
    inv_codec_conf_t codec;
    inv_codec_conf_read(conf, &codec);
    inv_decoder_t *dec = inv_decoder_new(&codec.resolver, errstr, sizeof(errstr));
    rd_kafka_t *rk = dec ? tail_consumer(conf, topics, errstr, sizeof(errstr)) : NULL;
    if (!rk) {
        fprintf(stderr, "invctl: watch: %s\n", errstr);
        inv_decoder_destroy(dec);
        return 1;
    }
    recent_t reorders = {0}, shortages = {0};
    int64_t prev_total = -1;
    double prev_t = 0;
    int rc = 0;
    while (*invctl_run) {
        /* events since the last frame */
        rd_kafka_message_t *m;
        /* the first frame gives the tail of every partition a moment to arrive */
        int64_t t0 = inv_time_mono_ms();
        for (;;) {
            int first_frame_left = prev_total < 0 ? 1500 - (int)(inv_time_mono_ms() - t0) : 0;
            m = rd_kafka_consumer_poll(rk, first_frame_left > 0 ? 100 : 0);
            if (!m) {
                if (first_frame_left > 0)
                    continue;
                break;
            }
            if (!m->err && m->payload) {
                char line[200];
                int is_reorder = strcmp(rd_kafka_topic_name(m->rkt), topics[0]) == 0;
                describe_event(dec, m, is_reorder, line, sizeof(line));
                recent_add(is_reorder ? &reorders : &shortages, line);
            }
            rd_kafka_message_destroy(m);
        }
        snapshot_t snap = {.top = top};
        inv_store_t *store = NULL;
        inv_store_txn_t *txn = NULL;
        int src = inv_store_open_readonly(dir, &store);
        if (!src)
            src = inv_store_txn_begin(store, 1, &txn);
        if (!src)
            src = inv_store_stock_scan(txn, -1, scan_row, &snap);
        snap.txn = txn;
        if (!src)
            src = inv_store_meta_foreach(txn, scan_meta, &snap);
        inv_store_txn_abort(txn);
        inv_store_close(store);

        double now = inv_time_mono_s();
        int64_t total = 0, lag = 0;
        printf("\033[H\033[2J");
        printf("inventory-events  watch of %s  (Ctrl-C to stop)\n\n", dir);
        if (src) {
            printf("  state dir not readable yet: %s\n", inv_store_strerror(src));
        } else {
            printf("PARTITION  APPLIED    END        LAG   (END counts transaction markers too)\n");
            for (int p = 0; p < snap.parts_seen; p++) {
                int64_t lo = 0, hi = 0;
                rd_kafka_get_watermark_offsets(rk, movements, p, &lo, &hi);
                if (rd_kafka_query_watermark_offsets(rk, movements, p, &lo, &hi, 2000))
                    hi = -1;
                int64_t l = hi >= 0 && snap.applied[p] >= 0 ? hi - snap.applied[p] : 0;
                total += snap.applied[p] > 0 ? snap.applied[p] : 0;
                lag += l > 0 ? l : 0;
                printf("%-10d %-10lld %-10lld %lld\n", p, (long long)snap.applied[p], (long long)hi, (long long)l);
            }
            double dt = now - prev_t;
            double rate = prev_total >= 0 && dt > 0 ? (double)(total - prev_total) / dt : 0;
            printf("\nthroughput %.0f movements/s   total applied %lld   lag %lld   rows %llu\n"
                   "units committed %lld   incoming %lld   in transit %lld\n\n",
                   rate, (long long)total, (long long)lag, (unsigned long long)snap.rows, (long long)snap.committed,
                   (long long)snap.incoming, (long long)snap.in_transit);
            if (snap.nch) {
                printf("CHANNEL                AVAILABLE_TO_SELL   SKUS   SOLD_OUT\n");
                for (int i = 0; i < snap.nch; i++)
                    printf("%-22.22s %17lld %6lld %10lld\n", snap.ch[i].name, (long long)snap.ch[i].sellable,
                           (long long)snap.ch[i].skus, (long long)snap.ch[i].sold_out);
                printf("\n");
            }
            printf("LOWEST STOCK BY LOCATION                        LOWEST STOCK, NETWORK (all locations)\n");
            for (int i = 0; i < snap.top; i++) {
                char a[64] = "", b[64] = "";
                if (i < snap.nloc)
                    snprintf(a, sizeof(a), "%-28.28s %5lld %-12s", snap.loc[i].key, (long long)snap.loc[i].available,
                             snap.loc[i].shortage);
                if (i < snap.nnet)
                    snprintf(b, sizeof(b), "%-28.28s %5lld %-12s", snap.net[i].key, (long long)snap.net[i].available,
                             snap.net[i].shortage);
                printf("%-48s%s\n", a, b);
            }
        }
        printf("\nLATEST REORDERS\n");
        for (int i = reorders.n - 1; i >= 0; i--)
            printf("  %s\n", reorders.line[i]);
        printf("\nLATEST SHORTAGES\n");
        for (int i = shortages.n - 1; i >= 0; i--)
            printf("  %s\n", shortages.line[i]);
        fflush(stdout);
        prev_total = total;
        prev_t = now;
        if (once)
            break;
        for (int slept = 0; slept < interval_ms && *invctl_run; slept += 50)
            usleep(50000);
    }
    inv_kafka_close_destroy(rk, "the watch consumer", (int)inv_conf_get_int(conf, "shutdown.timeout.ms"));
    inv_decoder_destroy(dec);
    return rc;
}
