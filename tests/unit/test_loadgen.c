/*
 * inv-loadgen's deterministic parts, no broker: the Zipf sampler, the
 * traffic model (reproducible bytes, contract-valid events, reservation
 * holds and what becomes of them, transfers and late sales, the channel
 * map, duplicates, malformed messages the decoder rejects for the stated
 * reason, the oracle against an independent model of the decoded events,
 * counts as of their time included) and the flags.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_codec.h"
#include "inv_conf.h"
#include "inv_test.h"
#include "lg_args.h"
#include "lg_model.h"
#include "lg_zipf.h"

/* ------------------------------------------------------------ helpers */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* A hash of everything a run of `count` traffic messages sends, in order:
 * topic, key and value of each message, opening receipts first. */
static uint64_t run_hash(const lg_model_conf_t *c, size_t count) {
    char err[512];
    lg_model_t *m = lg_model_new(c, err, sizeof(err));
    if (!m) {
        fprintf(stderr, "lg_model_new: %s\n", err);
        return 0;
    }
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    lg_msg_t msg;
    while (lg_model_next_opening(m, &msg, err, sizeof(err)) > 0) {
        h = fnv(h, &msg.topic, sizeof(msg.topic));
        h = fnv(h, msg.key, msg.key_len);
        h = fnv(h, msg.value, msg.value_len);
    }
    for (size_t i = 0; i < count; i++) {
        if (lg_model_next(m, &msg, err, sizeof(err)) != 0) {
            fprintf(stderr, "lg_model_next: %s\n", err);
            lg_model_destroy(m);
            return 0;
        }
        h = fnv(h, &msg.topic, sizeof(msg.topic));
        h = fnv(h, msg.key, msg.key_len);
        h = fnv(h, msg.value, msg.value_len);
    }
    lg_model_destroy(m);
    return h;
}

static inv_event_kind_t kind_of_topic(lg_topic_t t) {
    return t == LG_TOPIC_SALES ? INV_EVENT_SALE : t == LG_TOPIC_RETURNS ? INV_EVENT_RETURN : INV_EVENT_RESTOCK;
}

/* A message as its topic's decoder reads it: an event, or a
 * ReservationEvent (*is_res set) whose event_id and lines are copied into
 * ev. */
static int decode_msg(inv_decoder_t *d, const lg_msg_t *msg, inv_event_t *ev, inv_reservation_t *res, int *is_res,
                      char *err, size_t n) {
    if (msg->topic == LG_TOPIC_TRANSFERS) { /* lines and times only: what a shipment is made of */
        inv_transfer_t tr;
        *is_res = 0;
        if (inv_decoder_decode_transfer(d, msg->value, msg->value_len, &tr, err, n))
            return -1;
        memset(ev, 0, sizeof(*ev));
        ev->event_id = tr.event_id;
        ev->location_id = tr.from_location_id;
        ev->occurred_at_ms = tr.occurred_at_ms;
        ev->lines = tr.lines;
        ev->line_count = tr.line_count;
        return 0;
    }
    *is_res = msg->topic == LG_TOPIC_RESERVATIONS;
    if (!*is_res)
        return inv_decoder_decode_event(d, kind_of_topic(msg->topic), msg->value, msg->value_len, ev, err, n);
    if (inv_decoder_decode_reservation(d, msg->value, msg->value_len, res, err, n))
        return -1;
    memset(ev, 0, sizeof(*ev));
    ev->event_id = res->event_id;
    ev->location_id = res->location_id;
    ev->channel = res->channel;
    ev->lines = res->lines;
    ev->line_count = res->line_count;
    return 0;
}

/* The reservation clock of the tests: fixed, so bytes reproduce. */
#define FAKE_WALL_MS INT64_C(1796000000000)
static int64_t fake_wall(void) { return FAKE_WALL_MS; }

static lg_model_conf_t small_conf(uint64_t seed) {
    lg_model_conf_t c;
    lg_model_conf_defaults(&c);
    c.seed = seed;
    c.skus = 60;
    c.locations = 5;
    c.opening_stock = 20;
    c.duplicates_ratio = 0.05;
    c.malformed_ratio = 0.05;
    c.counts_ratio = 0;
    c.wall_ms = fake_wall;
    return c;
}

/* ----------------------------------------------------------------- zipf */

static void test_zipf_probabilities_follow_the_power_law(void) {
    char err[256];
    lg_zipf_t *z = lg_zipf_new(1000, 1.1, err, sizeof(err));
    INV_ASSERT(z != NULL, "%s", err);
    double sum = 0;
    for (size_t k = 0; k < 1000; k++) {
        sum += lg_zipf_probability(z, k);
        if (k)
            INV_ASSERT(lg_zipf_probability(z, k) < lg_zipf_probability(z, k - 1), "rank %zu", k);
    }
    INV_ASSERT(fabs(sum - 1) < 1e-9, "sum %.12f", sum);
    /* P(1) / P(k) = k^s */
    double r = lg_zipf_probability(z, 0) / lg_zipf_probability(z, 9);
    INV_ASSERT(fabs(r - pow(10, 1.1)) < 1e-6, "P(1)/P(10) = %f", r);
    lg_zipf_destroy(z);
}

static void test_zipf_samples_match_the_distribution(void) {
    char err[256];
    const size_t n = 200, draws = 1000000;
    lg_zipf_t *z = lg_zipf_new(n, 1.1, err, sizeof(err));
    INV_ASSERT(z != NULL, "%s", err);
    size_t *hist = calloc(n, sizeof(*hist));
    lg_rng_t r;
    lg_rng_seed(&r, 42);
    for (size_t i = 0; i < draws; i++) {
        size_t k = lg_zipf_sample(z, &r);
        if (k >= n) {
            free(hist);
            lg_zipf_destroy(z);
            INV_FAIL("sample %zu out of range", k);
        }
        hist[k]++;
    }
    /* every rank within 5 standard deviations of its expectation, and the
     * total variation distance small */
    double tv = 0;
    for (size_t k = 0; k < n; k++) {
        double p = lg_zipf_probability(z, k), want = p * (double)draws;
        double sd = sqrt((double)draws * p * (1 - p));
        tv += fabs((double)hist[k] / (double)draws - p) / 2;
        if (fabs((double)hist[k] - want) > 5 * sd + 1) {
            size_t got = hist[k];
            free(hist);
            lg_zipf_destroy(z);
            INV_FAIL("rank %zu: %zu draws, expected %.0f +- %.0f", k, got, want, sd);
        }
    }
    free(hist);
    lg_zipf_destroy(z);
    INV_ASSERT(tv < 0.01, "total variation distance %f", tv);
}

static void test_zipf_exponent_zero_is_uniform(void) {
    char err[256];
    lg_zipf_t *z = lg_zipf_new(4, 0, err, sizeof(err));
    INV_ASSERT(z != NULL, "%s", err);
    for (size_t k = 0; k < 4; k++)
        INV_ASSERT(fabs(lg_zipf_probability(z, k) - 0.25) < 1e-12, "rank %zu", k);
    lg_zipf_destroy(z);
}

static void test_zipf_rejects_no_ranks_and_negative_exponents(void) {
    char err[256] = "";
    INV_ASSERT(lg_zipf_new(0, 1.1, err, sizeof(err)) == NULL);
    INV_ASSERT(strstr(err, "0 ranks") != NULL, "%s", err);
    INV_ASSERT(lg_zipf_new(10, -1, err, sizeof(err)) == NULL);
    INV_ASSERT(strstr(err, "exponent") != NULL, "%s", err);
    INV_ASSERT(lg_zipf_new(10, NAN, err, sizeof(err)) == NULL);
}

/* ---------------------------------------------------------------- model */

static void test_same_seed_and_flags_give_the_same_bytes(void) {
    lg_model_conf_t c = small_conf(7);
    uint64_t a = run_hash(&c, 20000), b = run_hash(&c, 20000);
    INV_ASSERT(a != 0 && a == b, "%016llx != %016llx", (unsigned long long)a, (unsigned long long)b);
    c.format = INV_FORMAT_AVRO;
    uint64_t x = run_hash(&c, 5000), y = run_hash(&c, 5000);
    INV_ASSERT(x != 0 && x == y, "avro: %016llx != %016llx", (unsigned long long)x, (unsigned long long)y);
}

static void test_another_seed_gives_other_bytes(void) {
    lg_model_conf_t c = small_conf(7), d = small_conf(8);
    INV_ASSERT(run_hash(&c, 1000) != run_hash(&d, 1000));
}

static void test_the_start_time_is_part_of_the_bytes(void) {
    /* with the simulated clock the start time is part of the bytes */
    lg_model_conf_t c = small_conf(7), d = small_conf(7);
    d.start_ms += 1000;
    INV_ASSERT(run_hash(&c, 100) != run_hash(&d, 100));
}

/* Decodes every message of a run and checks the contract and the model's
 * promises: valid events decode as the kind of their topic with key =
 * event_id; a duplicate repeats an earlier message byte for byte; sales use
 * the channels of their location's type; returns use both dispositions;
 * baskets have 1 to 10 lines. */
static void test_valid_events_decode_and_duplicates_repeat_earlier_bytes(void) {
    char err[512];
    lg_model_conf_t c = small_conf(11);
    c.locations = 6; /* store-1..4, dc-1, web-1 */
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t res;
    inv_schema_resolver_static_init(&res, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&res, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);

    enum { N = 30000 };
    uint64_t *seen = calloc(N + 100, sizeof(*seen));
    size_t nseen = 0, dups = 0, valid = 0, damaged = 0, resellable = 0, with_original = 0;
    size_t channel_at[3][5] = {{0}}; /* [store|dc|web][channel] */
    size_t basket[11] = {0};
    int failed = 0;
    lg_msg_t msg;
    for (int i = 0; i < N && !failed; i++) {
        int opening = lg_model_next_opening(m, &msg, err, sizeof(err));
        if (opening < 0 || (!opening && lg_model_next(m, &msg, err, sizeof(err)) != 0)) {
            fprintf(stderr, "model: %s\n", err);
            failed = 1;
            break;
        }
        uint64_t h = fnv(fnv(UINT64_C(0xcbf29ce484222325), &msg.topic, sizeof(msg.topic)), msg.value, msg.value_len);
        if (msg.duplicate) {
            int found = 0;
            for (size_t j = 0; j < nseen && !found; j++)
                found = seen[j] == h;
            if (!found) {
                fprintf(stderr, "duplicate %.*s repeats no earlier message\n", (int)msg.key_len, msg.key);
                failed = 1;
            }
            dups++;
            continue;
        }
        if (msg.bad)
            continue;
        seen[nseen++] = h;
        valid++;
        inv_event_t ev;
        inv_reservation_t res;
        int is_res;
        if (decode_msg(d, &msg, &ev, &res, &is_res, err, sizeof(err))) {
            fprintf(stderr, "valid %s %.*s does not decode: %s\n", lg_kind_name(msg.kind), (int)msg.key_len, msg.key,
                    err);
            failed = 1;
            break;
        }
        if (strlen(ev.event_id) != msg.key_len || memcmp(ev.event_id, msg.key, msg.key_len) != 0) {
            fprintf(stderr, "key %.*s is not the event_id %s\n", (int)msg.key_len, msg.key, ev.event_id);
            failed = 1;
        }
        if (is_res)
            continue;
        if (ev.kind == INV_EVENT_SALE && msg.kind == LG_KIND_SALE) {
            int t = strncmp(ev.location_id, "store-", 6) == 0 ? 0 : strcmp(ev.location_id, "dc-1") == 0 ? 1 : 2;
            channel_at[t][ev.channel]++;
            basket[ev.line_count <= 10 ? ev.line_count : 0]++;
            if (ev.line_count < 1 || ev.line_count > 10)
                failed = 1;
        }
        if (ev.kind == INV_EVENT_RETURN) {
            with_original += ev.original_event_id != NULL;
            for (size_t l = 0; l < ev.line_count; l++)
                ev.lines[l].disposition == INV_DISPOSITION_DAMAGED ? damaged++ : resellable++;
        }
    }
    free(seen);
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(!failed);
    INV_ASSERT(dups > N * 0.04 && dups < N * 0.06, "%zu duplicates", dups);
    INV_ASSERT(damaged > 0 && resellable > damaged, "dispositions: %zu resellable, %zu damaged", resellable, damaged);
    INV_ASSERT(with_original > 0);
    /* stores: store and online; dc: b2b and marketplace; web: online and marketplace */
    INV_ASSERT(channel_at[0][INV_CHANNEL_STORE] > channel_at[0][INV_CHANNEL_ONLINE] &&
               channel_at[0][INV_CHANNEL_ONLINE] > 0);
    INV_ASSERT(channel_at[0][INV_CHANNEL_B2B] == 0 && channel_at[0][INV_CHANNEL_MARKETPLACE] == 0);
    INV_ASSERT(channel_at[1][INV_CHANNEL_B2B] > 0 && channel_at[1][INV_CHANNEL_MARKETPLACE] > 0);
    INV_ASSERT(channel_at[1][INV_CHANNEL_STORE] == 0 && channel_at[1][INV_CHANNEL_ONLINE] == 0);
    INV_ASSERT(channel_at[2][INV_CHANNEL_ONLINE] > 0 && channel_at[2][INV_CHANNEL_MARKETPLACE] > 0);
    INV_ASSERT(channel_at[2][INV_CHANNEL_STORE] == 0 && channel_at[2][INV_CHANNEL_B2B] == 0);
    INV_ASSERT(basket[1] > basket[2] && basket[2] > basket[5] && basket[10] > 0, "baskets 1:%zu 2:%zu 5:%zu 10:%zu",
               basket[1], basket[2], basket[5], basket[10]);
}

/* Every malformed message is rejected by the decoder, and the error names
 * the field the model says it broke ("not JSON" for a truncation, "unknown
 * schema id" for a foreign id). Every kind of defect occurs. */
static void check_malformed(inv_format_t format) {
    char err[512];
    lg_model_conf_t c = small_conf(3);
    c.format = format;
    c.malformed_ratio = 1;
    c.duplicates_ratio = 0;
    c.counts_ratio = 0.05; /* counts refuse -1, not 0 */
    c.transfers_ratio = 0.1;
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t res;
    inv_schema_resolver_static_init(&res, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&res, err, sizeof(err));
    INV_ASSERT(d != NULL, "%s", err);
    lg_msg_t msg;
    while (lg_model_next_opening(m, &msg, err, sizeof(err)) > 0)
        ;
    size_t by_bad[LG_BAD_MAX] = {0}, by_hold_field[2] = {0}, transfers = 0;
    int failed = 0;
    for (int i = 0; i < 5000 && !failed; i++) {
        if (lg_model_next(m, &msg, err, sizeof(err)) != 0 || !msg.bad) {
            fprintf(stderr, "message %d: not malformed (%s)\n", i, err);
            failed = 1;
            break;
        }
        by_bad[msg.bad]++;
        inv_event_t ev;
        inv_reservation_t res;
        int is_res;
        by_hold_field[0] += msg.kind == LG_KIND_HOLD;
        by_hold_field[1] += msg.kind == LG_KIND_HOLD && strcmp(msg.bad_field, "expires_at") == 0;
        transfers += msg.kind == LG_KIND_SHIPPED;
        if (decode_msg(d, &msg, &ev, &res, &is_res, err, sizeof(err)) == 0) {
            fprintf(stderr, "%s message accepted: %.*s\n", lg_bad_name(msg.bad), (int)msg.value_len,
                    (const char *)msg.value);
            failed = 1;
            break;
        }
        char want[128];
        if (msg.bad == LG_BAD_TRUNCATED)
            snprintf(want, sizeof(want), "not JSON: ");
        else if (msg.bad == LG_BAD_SCHEMA_ID)
            snprintf(want, sizeof(want), "unknown schema id ");
        else
            snprintf(want, sizeof(want), "%s: ", msg.bad_field);
        if (strncmp(err, want, strlen(want)) != 0) {
            fprintf(stderr, "%s message: error \"%s\", expected it to start with \"%s\"; message %.*s\n",
                    lg_bad_name(msg.bad), err, want, (int)msg.value_len, (const char *)msg.value);
            failed = 1;
        }
    }
    inv_decoder_destroy(d);
    const lg_stats_t *s = lg_model_stats(m);
    int counted = s->malformed == 5000;
    lg_model_destroy(m);
    INV_ASSERT(!failed);
    INV_ASSERT(counted);
    INV_ASSERT(by_hold_field[0] > 100 && by_hold_field[1] > 0, "%zu malformed holds, %zu without expires_at",
               by_hold_field[0], by_hold_field[1]);
    INV_ASSERT(transfers > 100, "%zu malformed shipments", transfers);
    for (int b = 1; b < LG_BAD_MAX; b++) {
        if (b == LG_BAD_SCHEMA_ID && format == INV_FORMAT_JSON)
            INV_ASSERT(by_bad[b] == 0, "schema id defects in JSON mode");
        else
            INV_ASSERT(by_bad[b] > 0, "no %s message", lg_bad_name((lg_bad_t)b));
    }
}

static void test_malformed_json_is_rejected_for_the_stated_reason(void) { check_malformed(INV_FORMAT_JSON); }
static void test_malformed_in_avro_mode_is_rejected_for_the_stated_reason(void) { check_malformed(INV_FORMAT_AVRO); }

/* The exact inv.error of a few defects, as the DLQ shows them. */
static void test_malformed_errors_read_like_the_dlq(void) {
    char err[512];
    lg_model_conf_t c = small_conf(5);
    c.malformed_ratio = 1;
    c.duplicates_ratio = 0;
    c.returns_ratio = c.receipts_ratio = c.adjustments_ratio = 0; /* sales only */
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t res;
    inv_schema_resolver_static_init(&res, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&res, err, sizeof(err));
    lg_msg_t msg;
    int got_quantity = 0, got_type = 0, got_location = 0;
    for (int i = 0; i < 500; i++) {
        if (lg_model_next(m, &msg, err, sizeof(err)) != 0)
            break;
        inv_event_t ev;
        char want[160];
        inv_decoder_decode_event(d, INV_EVENT_SALE, msg.value, msg.value_len, &ev, err, sizeof(err));
        if (msg.bad == LG_BAD_QUANTITY) {
            snprintf(want, sizeof(want), "%s: 0 is not positive", msg.bad_field);
            got_quantity += strcmp(err, want) == 0 ? 1 : -1000;
        } else if (msg.bad == LG_BAD_TYPE) {
            snprintf(want, sizeof(want), "%s: expected an integer, got string", msg.bad_field);
            got_type += strcmp(err, want) == 0 ? 1 : -1000;
        } else if (msg.bad == LG_BAD_MISSING && strcmp(msg.bad_field, "location_id") == 0) {
            got_location += strcmp(err, "location_id: missing, expected a string") == 0 ? 1 : -1000;
        }
    }
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(got_quantity > 0 && got_type > 0 && got_location > 0, "%d %d %d", got_quantity, got_type, got_location);
}

/* The oracle equals the stock computed here from the decoded valid events
 * alone (duplicates and malformed messages excluded), per location and for
 * the network row, under the contract's rules rather than the model's
 * books: a count sets on_hand as of its occurred_at (the latest count of a
 * row wins; a change dated at or before it is covered, one dated after it
 * adds up, whatever the order they come in), a shipment takes on_hand off
 * its source, a receipt adds the good units at the destination and the
 * damaged ones to unsellable, a cancel returns what is still in transit. */
enum { OR_SKUS = 60, OR_LOCS = 5, OR_CHANGES = 4096, OR_LINES = 8192 };
typedef struct {
    long long unsellable, count, count_at, nchanges;
    long long at[OR_CHANGES], delta[OR_CHANGES];
    int counted, touched;
} or_row_t;
typedef struct {
    long long transfer;
    int sku;
    long long in_transit;
} or_line_t;

static void or_change(or_row_t *r, long long at, long long delta) {
    if (r->nchanges < OR_CHANGES) {
        r->at[r->nchanges] = at;
        r->delta[r->nchanges++] = delta;
    }
    r->touched = 1;
}

static long long or_on_hand(const or_row_t *r) {
    long long v = r->counted ? r->count : 0;
    for (long long i = 0; i < r->nchanges; i++)
        if (!r->counted || r->at[i] > r->count_at)
            v += r->delta[i];
    return v;
}

static long long *or_transit(or_line_t *lines, size_t *n, long long transfer, int sku) {
    for (size_t i = 0; i < *n; i++)
        if (lines[i].transfer == transfer && lines[i].sku == sku)
            return &lines[i].in_transit;
    lines[*n] = (or_line_t){transfer, sku, 0};
    return &lines[(*n)++].in_transit;
}

static void check_oracle(lg_model_conf_t c, int messages) {
    char err[512];
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t res;
    inv_schema_resolver_static_init(&res, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&res, err, sizeof(err));
    static or_row_t rows[OR_SKUS][OR_LOCS];
    static or_line_t tlines[OR_LINES];
    size_t ntlines = 0;
    memset(rows, 0, sizeof(rows));
    char names[OR_LOCS][32];
    for (int l = 0; l < OR_LOCS; l++)
        lg_model_location_name(OR_LOCS, (size_t)l, names[l], sizeof(names[l]));
    lg_msg_t msg;
    int failed = 0;
    for (int i = 0; !failed; i++) {
        int rc = 1;
        if (i >= messages) { /* the end of the run: what is held back */
            rc = lg_model_next_held(m, &msg, err, sizeof(err));
            if (rc <= 0) {
                failed = rc < 0;
                break;
            }
        } else if (!lg_model_next_opening(m, &msg, err, sizeof(err)) && lg_model_next(m, &msg, err, sizeof(err))) {
            failed = 1;
        }
        if (failed || msg.duplicate || msg.bad)
            continue;
        inv_event_t ev;
        inv_reservation_t rv;
        inv_transfer_t tr;
        int is_res;
        if (msg.topic == LG_TOPIC_TRANSFERS) {
            if (inv_decoder_decode_transfer(d, msg.value, msg.value_len, &tr, err, sizeof(err))) {
                failed = 1;
                break;
            }
            long long n = atoll(strrchr(tr.transfer_id, '-') + 1);
            int from = 0, to = 0;
            while (from < OR_LOCS && strcmp(names[from], tr.from_location_id) != 0)
                from++;
            while (to < OR_LOCS && strcmp(names[to], tr.to_location_id) != 0)
                to++;
            INV_ASSERT(from < OR_LOCS && to < OR_LOCS && from != to, "%s -> %s", tr.from_location_id,
                       tr.to_location_id);
            INV_ASSERT(strncmp(msg.key, tr.transfer_id, msg.key_len) == 0 && strlen(tr.transfer_id) == msg.key_len);
            for (size_t k = 0; k < tr.line_count; k++) {
                int s = atoi(tr.lines[k].sku + 4) - 1;
                long long q = tr.lines[k].quantity, r = tr.lines[k].rejected, *t = or_transit(tlines, &ntlines, n, s);
                INV_ASSERT(ntlines < OR_LINES && q > 0 && r >= 0 && r <= q);
                if (tr.status == INV_TRANSFER_SHIPPED) {
                    INV_ASSERT(r == 0);
                    *t += q;
                    or_change(&rows[s][from], tr.occurred_at_ms, -q);
                    rows[s][to].touched = 1;
                } else if (tr.status == INV_TRANSFER_RECEIVED) {
                    INV_ASSERT(q <= *t, "transfer %lld SKU-%d: received %lld, %lld in transit", n, s + 1, q, *t);
                    *t -= q;
                    or_change(&rows[s][to], tr.occurred_at_ms, q - r);
                    rows[s][to].unsellable += r;
                } else {
                    INV_ASSERT(r == 0 && q == *t, "transfer %lld SKU-%d: cancel of %lld, %lld in transit", n, s + 1, q,
                               *t);
                    or_change(&rows[s][from], tr.occurred_at_ms, *t);
                    *t = 0;
                }
            }
            continue;
        }
        if (decode_msg(d, &msg, &ev, &rv, &is_res, err, sizeof(err))) {
            failed = 1;
            break;
        }
        int l = 0;
        while (l < OR_LOCS && strcmp(names[l], ev.location_id) != 0)
            l++;
        for (size_t k = 0; k < ev.line_count && l < OR_LOCS; k++) {
            int s = atoi(ev.lines[k].sku + 4) - 1;
            long long q = ev.lines[k].quantity, at = ev.occurred_at_ms;
            or_row_t *r = &rows[s][l];
            if (is_res)
                r->touched = 1; /* committed only: 0 once every hold is closed */
            else if (ev.kind == INV_EVENT_SALE)
                or_change(r, at, -q);
            else if (ev.kind == INV_EVENT_RETURN && ev.lines[k].disposition == INV_DISPOSITION_DAMAGED)
                r->unsellable += q, r->touched = 1;
            else if (ev.kind == INV_EVENT_RESTOCK && ev.restock_kind == INV_RESTOCK_COUNT) {
                if (!r->counted || at > r->count_at)
                    r->count = q, r->count_at = at, r->counted = 1;
                r->touched = 1;
            } else {
                or_change(r, at, q); /* resellable returns, receipts, adjustments (signed) */
            }
        }
    }
    inv_decoder_destroy(d);
    for (size_t i = 0; i < ntlines; i++)
        INV_EXPECT(tlines[i].in_transit == 0, "transfer %lld SKU-%d: %lld still in transit", tlines[i].transfer,
                   tlines[i].sku + 1, tlines[i].in_transit);
    for (int s = 0; s < OR_SKUS; s++)
        for (int l = 0; l < OR_LOCS; l++)
            INV_ASSERT(rows[s][l].nchanges < OR_CHANGES);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int wrc = lg_model_write_oracle(m, f, err, sizeof(err));
    fclose(f);
    lg_model_destroy(m);
    INV_ASSERT(!failed && wrc == 0, "%s", err);

    char want[256];
    size_t nrows = 0;
    for (int s = 0; s < OR_SKUS && !failed; s++) {
        long long noh = 0, nun = 0, nav = 0;
        int any = 0;
        for (int l = 0; l < OR_LOCS; l++) {
            const or_row_t *r = &rows[s][l];
            if (!r->touched)
                continue;
            long long oh = or_on_hand(r), av = oh > 0 ? oh : 0;
            snprintf(want, sizeof(want),
                     "{\"key\":\"SKU-%d|%s\",\"on_hand\":%lld,\"unsellable\":%lld,\"available\":%lld,\"committed\":0,"
                     "\"incoming\":0,\"in_transit_out\":0}\n",
                     s + 1, names[l], oh, r->unsellable, av);
            if (!strstr(text, want)) {
                fprintf(stderr, "oracle lacks %s", want);
                failed = 1;
            }
            noh += oh, nun += r->unsellable, nav += av, any = 1, nrows++;
        }
        if (any) {
            snprintf(want, sizeof(want),
                     "{\"key\":\"SKU-%d|*\",\"on_hand\":%lld,\"unsellable\":%lld,\"available\":%lld,\"committed\":0,"
                     "\"incoming\":0,\"in_transit_out\":0}\n",
                     s + 1, noh, nun, nav);
            if (!strstr(text, want)) {
                fprintf(stderr, "oracle lacks %s", want);
                failed = 1;
            }
            nrows++;
        }
    }
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    int header = strncmp(text, "{\"inv_loadgen_oracle\":1,", 24) == 0;
    free(text);
    INV_ASSERT(!failed);
    INV_ASSERT(header);
    INV_ASSERT(lines == nrows + 1, "%zu lines, %zu rows", lines, nrows);
}

static void test_oracle_is_the_sum_of_the_valid_events(void) { check_oracle(small_conf(99), 20000); }

/* With counts, transfers and late sales: the late sales dated before a
 * count of their row sent earlier are covered by it, and the oracle says so. */
static void test_oracle_holds_counts_as_of_their_time_with_transfers_and_late_sales(void) {
    lg_model_conf_t c = small_conf(77);
    c.counts_ratio = 0.05;
    c.transfers_ratio = 0.05;
    c.late_sales_ratio = 0.2;
    c.late_delay_ms = 60000;
    c.transit_ms = 5000;
    check_oracle(c, 20000);
}

/* A shipment leaves dc-1 or a store for another location that is not the
 * DC, keyed by its transfer_id; its receipts and cancel come transit_ms / 2
 * or more after it, every fate occurs (one receipt, two, a cancel after a
 * partial receipt, a cancel before any), some lines arrive damaged. A late
 * sale comes late_delay_ms after its occurred_at, and some are dated before
 * a count of their row sent before them. */
static void test_transfers_settle_and_late_sales_come_late(void) {
    char err[512];
    lg_model_conf_t c = small_conf(5);
    c.duplicates_ratio = c.malformed_ratio = 0;
    c.counts_ratio = 0.05;
    c.transfers_ratio = 0.05;
    c.late_sales_ratio = 0.1;
    c.late_delay_ms = 30000;
    c.transit_ms = 4000;
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t res;
    inv_schema_resolver_static_init(&res, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&res, err, sizeof(err));
    enum { MAX_TR = 4096 };
    static long long shipped_at[MAX_TR];
    static int steps[MAX_TR];
    memset(shipped_at, 0, sizeof(shipped_at));
    memset(steps, 0, sizeof(steps));
    size_t status[3] = {0}, second = 0, cancel_after = 0, cancel_before = 0, rejected = 0, late = 0, bad = 0;
    long long clock = 0;
    lg_msg_t msg;
    for (int i = 0; i < 30000; i++) {
        int rc = lg_model_next_opening(m, &msg, err, sizeof(err));
        if (!rc && lg_model_next(m, &msg, err, sizeof(err)) != 0)
            break;
        if (msg.topic == LG_TOPIC_TRANSFERS) {
            inv_transfer_t tr;
            INV_ASSERT(inv_decoder_decode_transfer(d, msg.value, msg.value_len, &tr, err, sizeof(err)) == 0, "%s", err);
            long long n = atoll(strrchr(tr.transfer_id, '-') + 1);
            INV_ASSERT(n > 0 && n < MAX_TR && msg.key_len == strlen(tr.transfer_id));
            INV_ASSERT(strcmp(tr.to_location_id, "dc-1") != 0 && strcmp(tr.to_location_id, tr.from_location_id) != 0);
            status[tr.status]++;
            if (tr.status == INV_TRANSFER_SHIPPED) {
                shipped_at[n] = tr.occurred_at_ms;
            } else {
                bad += tr.occurred_at_ms < shipped_at[n] + c.transit_ms / 2;
                second += tr.status == INV_TRANSFER_RECEIVED && strstr(tr.event_id, "-recv-2") != NULL;
                cancel_after += tr.status == INV_TRANSFER_CANCELED && steps[n] > 0;
                cancel_before += tr.status == INV_TRANSFER_CANCELED && steps[n] == 0;
                steps[n]++;
            }
            for (size_t k = 0; k < tr.line_count; k++)
                rejected += tr.lines[k].rejected > 0;
            clock = tr.occurred_at_ms > clock ? tr.occurred_at_ms : clock;
            continue;
        }
        if (msg.topic == LG_TOPIC_RESERVATIONS) /* on the wall clock */
            continue;
        inv_event_t ev;
        INV_ASSERT(
            inv_decoder_decode_event(d, kind_of_topic(msg.topic), msg.value, msg.value_len, &ev, err, sizeof(err)) == 0,
            "%s", err);
        if (ev.occurred_at_ms < clock) {
            /* a late sale: sent once the clock passed its time + the delay
             * (the clock seen here may lag the model's by the event the
             * model planned last, itself a sale held back) */
            late++;
            INV_ASSERT(ev.kind == INV_EVENT_SALE && ev.channel == INV_CHANNEL_STORE);
            INV_ASSERT(clock + 1000 >= ev.occurred_at_ms + c.late_delay_ms, "%s: %lld ms late", ev.event_id,
                       clock - ev.occurred_at_ms);
        }
        clock = ev.occurred_at_ms > clock ? ev.occurred_at_ms : clock;
    }
    const lg_stats_t *st = lg_model_stats(m);
    uint64_t late_sales = st->late_sales, before_count = st->late_before_count;
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(status[0] > 100 && status[1] > 100 && status[2] > 10, "shipped %zu received %zu canceled %zu", status[0],
               status[1], status[2]);
    INV_ASSERT(second > 0 && cancel_after > 0 && cancel_before > 0 && rejected > 0,
               "second receipts %zu, cancels after %zu and before %zu a receipt, damaged lines %zu", second,
               cancel_after, cancel_before, rejected);
    INV_ASSERT(bad == 0, "%zu receipts or cancels sooner than transit_ms / 2", bad);
    INV_ASSERT(late > 50 && late == late_sales, "%zu late sales seen, %llu counted", late,
               (unsigned long long)late_sales);
    INV_ASSERT(before_count > 0 && before_count < late_sales, "%llu of %llu before a count",
               (unsigned long long)before_count, (unsigned long long)late_sales);
}

static void test_feedback_receipt_answers_the_reorder(void) {
    char err[512];
    lg_model_conf_t c = small_conf(1);
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t res;
    inv_schema_resolver_static_init(&res, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&res, err, sizeof(err));
    lg_msg_t msg;
    inv_event_t ev;
    int rc = lg_model_feedback(m, "SKU-3", "store-2", 24, "reorder:sale:lg1-T-9:0", &msg, err, sizeof(err));
    int drc =
        rc == 0 ? inv_decoder_decode_event(d, INV_EVENT_RESTOCK, msg.value, msg.value_len, &ev, err, sizeof(err)) : -1;
    int ok = drc == 0 && msg.topic == LG_TOPIC_RESTOCKS && msg.kind == LG_KIND_FEEDBACK &&
             ev.restock_kind == INV_RESTOCK_RECEIPT && strcmp(ev.purchase_order_id, "reorder:sale:lg1-T-9:0") == 0 &&
             strcmp(ev.event_id, "rcv:reorder:sale:lg1-T-9:0") == 0 && ev.line_count == 1 &&
             ev.lines[0].quantity == 24 && strcmp(ev.lines[0].sku, "SKU-3") == 0 &&
             strcmp(ev.location_id, "store-2") == 0;
    /* a reorder id too long to embed is hashed, never refused */
    char longid[600];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    int rc2 = lg_model_feedback(m, "SKU-3", "store-2", 1, longid, &msg, err, sizeof(err));
    int drc2 =
        rc2 == 0 ? inv_decoder_decode_event(d, INV_EVENT_RESTOCK, msg.value, msg.value_len, &ev, err, sizeof(err)) : -1;
    int bad_qty = lg_model_feedback(m, "SKU-3", "store-2", 0, "r", &msg, err, sizeof(err));
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(ok, "rc %d decode %d: %s", rc, drc, err);
    INV_ASSERT(drc2 == 0, "long id: %s", err);
    INV_ASSERT(bad_qty == -1);
}

static void test_model_rejects_impossible_shares(void) {
    char err[512] = "";
    lg_model_conf_t c = small_conf(1);
    c.returns_ratio = 0.7;
    c.receipts_ratio = 0.4;
    INV_ASSERT(lg_model_new(&c, err, sizeof(err)) == NULL);
    INV_ASSERT(strstr(err, "add up to") != NULL, "%s", err);
    c = small_conf(1);
    c.skus = 1000000;
    c.locations = 1000;
    INV_ASSERT(lg_model_new(&c, err, sizeof(err)) == NULL);
    INV_ASSERT(strstr(err, "pairs") != NULL, "%s", err);
}

static void test_locations_are_stores_a_dc_and_a_web_shop(void) {
    char b[32];
    INV_ASSERT_EQ_STR("store-1", lg_model_location_name(1, 0, b, sizeof(b)));
    INV_ASSERT_EQ_STR("web-1", lg_model_location_name(2, 1, b, sizeof(b)));
    INV_ASSERT_EQ_STR("store-8", lg_model_location_name(10, 7, b, sizeof(b)));
    INV_ASSERT_EQ_STR("dc-1", lg_model_location_name(10, 8, b, sizeof(b)));
    INV_ASSERT_EQ_STR("web-1", lg_model_location_name(10, 9, b, sizeof(b)));
}

/* ---------------------------------------------------------- reservations */

/* One hold as the tests follow it: what it asked for and what came after. */
typedef struct {
    char id[64];
    char loc[32];
    inv_channel_t channel;
    size_t seq; /* message number of the hold */
    size_t nlines;
    int sku[3];
    long long qty[3], sold[3], released[3];
    int sales, releases;
    size_t last_seq;
} hold_t;

static int line_index(const hold_t *h, const char *sku) {
    for (size_t i = 0; i < h->nlines; i++)
        if (h->sku[i] == atoi(sku + 4))
            return (int)i;
    return -1;
}

/* Holds are online or marketplace orders at dc-1 and web-1 on the wall
 * clock, expiring hold_ttl_ms after they are placed; marketplace orders ship
 * from the DC. */
static void test_holds_are_online_orders_at_the_dc_and_the_web_shop(void) {
    char err[512];
    lg_model_conf_t c = small_conf(21);
    c.hold_ttl_ms = 45000;
    c.duplicates_ratio = c.malformed_ratio = 0;
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    lg_msg_t msg;
    size_t holds = 0, bad = 0, at[2][3] = {{0}}; /* [dc|web][online|marketplace|other] */
    for (int i = 0; i < 20000; i++) {
        if (lg_model_next_opening(m, &msg, err, sizeof(err)) == 0 && lg_model_next(m, &msg, err, sizeof(err)) != 0)
            break;
        if (msg.kind != LG_KIND_HOLD)
            continue;
        inv_reservation_t res;
        if (msg.topic != LG_TOPIC_RESERVATIONS ||
            inv_decoder_decode_reservation(d, msg.value, msg.value_len, &res, err, sizeof(err)) != 0) {
            bad++;
            continue;
        }
        holds++;
        int where = strcmp(res.location_id, "dc-1") == 0 ? 0 : strcmp(res.location_id, "web-1") == 0 ? 1 : -1;
        int ch = res.channel == INV_CHANNEL_ONLINE ? 0 : res.channel == INV_CHANNEL_MARKETPLACE ? 1 : 2;
        if (where < 0 || res.action != INV_RESERVATION_HOLD || !res.has_expires_at ||
            res.occurred_at_ms != FAKE_WALL_MS || res.expires_at_ms != FAKE_WALL_MS + 45000 || res.line_count < 1 ||
            res.line_count > 3 || strncmp(res.reservation_id, "lg21-ORD-", 9) != 0 ||
            strcmp(res.event_id, msg.key) != 0)
            bad++;
        else
            at[where][ch]++;
    }
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(bad == 0, "%zu holds off the contract or the model (%s)", bad, err);
    /* about 10% of fresh events */
    INV_ASSERT(holds > 1400 && holds < 2600, "%zu holds in 20000 messages", holds);
    INV_ASSERT(at[0][0] > 0 && at[0][1] > 0 && at[1][0] > 0, "dc %zu/%zu web %zu", at[0][0], at[0][1], at[1][0]);
    INV_ASSERT(at[1][1] == 0 && at[0][2] == 0 && at[1][2] == 0, "marketplace at web-1 or another channel");
}

/* Every hold is fulfilled by sales carrying its reservation_id (same
 * location, channel and lines, in one sale or two), released with the same
 * lines, or left to expire, in about the documented shares, and its
 * follow-ups come within followup_max fresh events. */
static void test_every_hold_is_fulfilled_released_or_left_to_expire(void) {
    char err[512];
    lg_model_conf_t c = small_conf(23);
    c.duplicates_ratio = c.malformed_ratio = 0;
    c.reservations_ratio = 0.2;
    c.followup_max = 300;
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    enum { N = 40000, MAXH = 12000 };
    hold_t *h = calloc(MAXH, sizeof(*h));
    size_t nh = 0, fresh = 0, strays = 0;
    int failed = 0;
    lg_msg_t msg;
    while (lg_model_next_opening(m, &msg, err, sizeof(err)) > 0)
        ;
    for (size_t i = 0; i < N && !failed; i++) {
        if (lg_model_next(m, &msg, err, sizeof(err)) != 0)
            break;
        fresh++;
        inv_event_t ev;
        inv_reservation_t res;
        int is_res;
        if (decode_msg(d, &msg, &ev, &res, &is_res, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: %s\n", lg_kind_name(msg.kind), err);
            failed = 1;
            break;
        }
        const char *rid = is_res ? res.reservation_id : ev.reservation_id;
        if (msg.kind == LG_KIND_HOLD && nh < MAXH) {
            hold_t *x = &h[nh++];
            snprintf(x->id, sizeof(x->id), "%s", rid);
            snprintf(x->loc, sizeof(x->loc), "%s", res.location_id);
            x->channel = res.channel;
            x->seq = x->last_seq = fresh;
            x->nlines = res.line_count;
            for (size_t k = 0; k < res.line_count; k++)
                x->sku[k] = atoi(res.lines[k].sku + 4), x->qty[k] = res.lines[k].quantity;
            continue;
        }
        if ((msg.kind == LG_KIND_FULFILMENT) != (!is_res && rid != NULL) ||
            (msg.kind == LG_KIND_RELEASE) != (is_res && res.action == INV_RESERVATION_RELEASE)) {
            fprintf(stderr, "%s %s: kind and reservation_id disagree\n", lg_kind_name(msg.kind), msg.key);
            failed = 1;
        }
        if (!rid)
            continue;
        hold_t *x = NULL;
        for (size_t j = nh; j-- > 0 && !x;)
            if (strcmp(h[j].id, rid) == 0)
                x = &h[j];
        if (!x || strcmp(x->loc, ev.location_id) != 0 || x->channel != ev.channel) {
            strays++;
            continue;
        }
        x->last_seq = fresh;
        *(is_res ? &x->releases : &x->sales) += 1;
        for (size_t k = 0; k < ev.line_count; k++) {
            int li = line_index(x, ev.lines[k].sku);
            if (li < 0)
                strays++;
            else
                (is_res ? x->released : x->sold)[li] += ev.lines[k].quantity;
        }
    }
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    size_t fulfilled = 0, split = 0, released = 0, open = 0, late = 0, wrong = 0, counted = 0;
    for (size_t j = 0; j < nh; j++) {
        hold_t *x = &h[j];
        if (x->seq + 300 + 1 > fresh)
            continue; /* its follow-ups may still be due */
        counted++;
        late += x->last_seq > x->seq + 300;
        int all_sold = 1, all_released = 1;
        for (size_t k = 0; k < x->nlines; k++) {
            all_sold &= x->sold[k] == x->qty[k];
            all_released &= x->released[k] == x->qty[k];
        }
        if (x->sales && !x->releases && all_sold)
            fulfilled++, split += x->sales == 2;
        else if (x->releases == 1 && !x->sales && all_released)
            released++;
        else if (!x->sales && !x->releases)
            open++;
        else
            wrong++;
    }
    free(h);
    INV_ASSERT(!failed);
    INV_ASSERT(strays == 0 && wrong == 0 && late == 0, "%zu strays, %zu holds with other lines, %zu late", strays,
               wrong, late);
    double n = (double)counted;
    INV_ASSERT(counted > 3000, "%zu holds", counted);
    INV_ASSERT(fabs(fulfilled / n - 0.75) < 0.03 && fabs(released / n - 0.15) < 0.03 && fabs(open / n - 0.10) < 0.03,
               "fulfilled %zu, released %zu, left to expire %zu of %zu", fulfilled, released, open, counted);
    INV_ASSERT(split > fulfilled / 10 && split < fulfilled / 3, "%zu of %zu fulfilled in two sales", split, fulfilled);
}

/* Without reservations no hold, release or fulfilment is sent, and the
 * rest of the traffic is what it was before holds existed. */
static void test_reservations_ratio_zero_sends_no_reservation(void) {
    char err[512];
    lg_model_conf_t c = small_conf(9);
    c.reservations_ratio = 0;
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    lg_msg_t msg;
    for (int i = 0; i < 5000; i++)
        if (lg_model_next(m, &msg, err, sizeof(err)) != 0)
            break;
    const lg_stats_t *s = lg_model_stats(m);
    int none = s->by_topic[LG_TOPIC_RESERVATIONS] == 0 && s->events[LG_KIND_FULFILMENT] == 0 &&
               s->events[LG_KIND_HOLD] == 0 && s->events[LG_KIND_SALE] > 0;
    lg_model_destroy(m);
    INV_ASSERT(none);
}

/* The channel map: online -> dc-1 and web-1, marketplace -> dc-1 with a
 * buffer of 2, keyed channel|location_id; no store; then nothing more. */
static void test_channel_map_serves_online_and_marketplace_from_the_dc(void) {
    char err[512];
    lg_model_conf_t c = small_conf(1);
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    char got[8][96];
    int n = 0, rc;
    lg_msg_t msg;
    while (n < 8 && (rc = lg_model_next_channel(m, &msg, err, sizeof(err))) > 0) {
        inv_channel_location_t cl;
        if (inv_decoder_decode_channel_location(d, msg.value, msg.value_len, &cl, err, sizeof(err)) != 0) {
            rc = -1;
            break;
        }
        snprintf(got[n++], sizeof(got[0]), "%.*s %s %s %lld %d", (int)msg.key_len, msg.key, cl.channel, cl.location_id,
                 (long long)cl.buffer, msg.topic == LG_TOPIC_CHANNELS && msg.kind == LG_KIND_CHANNEL);
    }
    int again = lg_model_next_channel(m, &msg, err, sizeof(err));
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(rc == 0 && again == 0, "%s", err);
    INV_ASSERT_EQ_INT(3, n);
    INV_ASSERT_EQ_STR("online|dc-1 online dc-1 0 1", got[0]);
    INV_ASSERT_EQ_STR("online|web-1 online web-1 0 1", got[1]);
    INV_ASSERT_EQ_STR("marketplace|dc-1 marketplace dc-1 2 1", got[2]);
}

/* The oracle says when it holds for committed: after the latest expires_at
 * of the holds sent; null without holds. */
static void test_oracle_settles_after_the_last_hold_expires(void) {
    char err[512];
    lg_model_conf_t c = small_conf(4);
    c.hold_ttl_ms = 60000;
    char *text = NULL, *text0 = NULL;
    size_t len = 0;
    int rc = 0;
    for (int pass = 0; pass < 2; pass++) {
        lg_model_t *m = lg_model_new(&c, err, sizeof(err));
        INV_ASSERT(m != NULL, "%s", err);
        lg_msg_t msg;
        for (int i = 0; i < 2000; i++)
            rc |= lg_model_next(m, &msg, err, sizeof(err));
        FILE *f = open_memstream(pass ? &text0 : &text, &len);
        rc |= lg_model_write_oracle(m, f, err, sizeof(err));
        fclose(f);
        lg_model_destroy(m);
        c.reservations_ratio = 0;
    }
    int with = strstr(text, "\"fields\":[\"on_hand\",\"unsellable\",\"available\",\"committed\",\"incoming\","
                            "\"in_transit_out\"],\"settled_at\":\"2026-11-30T00:54:20.000Z\"") != NULL;
    int without = strstr(text0, "\"settled_at\":null") != NULL;
    free(text);
    free(text0);
    INV_ASSERT(rc == 0, "%s", err);
    INV_ASSERT(with && without);
}

/* ------------------------------------------------------------- planning */

/* The planner sizes every pair's policy to its demand: a best seller's
 * order point is far above a tail SKU's, safety stock is below the order
 * point, quantities come in case packs, the DC keeps a pallet of safety;
 * the opening receipts bring each pair to reorder point + quantity. */
static void test_planned_policies_follow_each_pairs_demand(void) {
    char err[512];
    lg_model_conf_t c = small_conf(31);
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    INV_ASSERT(m != NULL, "%s", err);
    int rc = lg_model_plan_policies(m, 200, 2000, err, sizeof(err));
    INV_ASSERT(rc == 0, "%s", err);
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    enum { SKUS = 60, LOCS = 5 }; /* store-1..3, dc-1, web-1 */
    static long long rp[SKUS][LOCS], rq[SKUS][LOCS], ss[SKUS][LOCS], opened[SKUS][LOCS];
    memset(opened, 0, sizeof(opened));
    char names[LOCS][32];
    for (int l = 0; l < LOCS; l++)
        lg_model_location_name(LOCS, (size_t)l, names[l], sizeof(names[l]));
    size_t n = 0, bad = 0;
    lg_msg_t msg;
    while (lg_model_next_policy(m, &msg, err, sizeof(err)) > 0) {
        inv_policy_t pol;
        if (msg.topic != LG_TOPIC_POLICIES || msg.kind != LG_KIND_POLICY ||
            inv_decoder_decode_policy(d, msg.value, msg.value_len, &pol, err, sizeof(err)) != 0) {
            bad++;
            continue;
        }
        int s = atoi(pol.sku + 4) - 1, l = 0;
        while (l < LOCS && strcmp(names[l], pol.location_id) != 0)
            l++;
        char key[64];
        snprintf(key, sizeof(key), "%s|%s", pol.sku, pol.location_id);
        if (s < 0 || s >= SKUS || l == LOCS || msg.key_len != strlen(key) || memcmp(msg.key, key, msg.key_len) != 0) {
            bad++;
            continue;
        }
        rp[s][l] = pol.reorder_point, rq[s][l] = pol.reorder_quantity, ss[s][l] = pol.safety_stock;
        n++;
    }
    while (lg_model_next_opening(m, &msg, err, sizeof(err)) > 0) {
        inv_event_t ev;
        if (inv_decoder_decode_event(d, INV_EVENT_RESTOCK, msg.value, msg.value_len, &ev, err, sizeof(err)) != 0) {
            bad++;
            continue;
        }
        int l = 0;
        while (l < LOCS && strcmp(names[l], ev.location_id) != 0)
            l++;
        for (size_t k = 0; k < ev.line_count && l < LOCS; k++)
            opened[atoi(ev.lines[k].sku + 4) - 1][l] += ev.lines[k].quantity;
    }
    int late = lg_model_plan_policies(m, 200, 2000, err, sizeof(err));
    inv_decoder_destroy(d);
    lg_model_destroy(m);
    INV_ASSERT(bad == 0 && n == SKUS * LOCS, "%zu policies, %zu bad (%s)", n, bad, err);
    INV_ASSERT(late == -1, "planning after the first message");
    for (int s = 0; s < SKUS; s++)
        for (int l = 0; l < LOCS; l++) {
            int64_t pack = l < 3 ? 6 : l == 3 ? 24 : 12;
            INV_ASSERT(ss[s][l] >= (l == 3 ? 48 : 5) && rp[s][l] >= ss[s][l] && rq[s][l] >= pack &&
                           rq[s][l] % pack == 0,
                       "SKU-%d|%s: %lld/%lld/%lld", s + 1, names[l], rp[s][l], rq[s][l], ss[s][l]);
            INV_ASSERT(opened[s][l] == rp[s][l] + rq[s][l], "SKU-%d|%s opened at %lld, policy %lld + %lld", s + 1,
                       names[l], opened[s][l], rp[s][l], rq[s][l]);
        }
    /* the best seller needs far more cover than the tail */
    INV_ASSERT(rp[0][0] > 2 * rp[SKUS - 1][0] && rq[0][0] > rq[SKUS - 1][0], "SKU-1 %lld/%lld, SKU-60 %lld/%lld",
               rp[0][0], rq[0][0], rp[SKUS - 1][0], rq[SKUS - 1][0]);
}

/* The plan scales with the rate: twice the events per second, about twice
 * the demand over the lead time. */
static void test_planned_order_points_scale_with_the_rate(void) {
    char err[512];
    long long point[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        lg_model_conf_t c = small_conf(33);
        lg_model_t *m = lg_model_new(&c, err, sizeof(err));
        INV_ASSERT(m != NULL, "%s", err);
        int rc = lg_model_plan_policies(m, i ? 2000 : 1000, 5000, err, sizeof(err));
        inv_schema_resolver_t r;
        inv_schema_resolver_static_init(&r, inv_schema_default_ids);
        inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
        lg_msg_t msg;
        inv_policy_t pol;
        if (rc == 0 && lg_model_next_policy(m, &msg, err, sizeof(err)) == 1 &&
            inv_decoder_decode_policy(d, msg.value, msg.value_len, &pol, err, sizeof(err)) == 0)
            point[i] = pol.reorder_point - pol.safety_stock; /* SKU-1|store-1: the lead time's demand */
        inv_decoder_destroy(d);
        lg_model_destroy(m);
    }
    INV_ASSERT(point[0] > 20 && fabs((double)point[1] / (double)point[0] - 2) < 0.2, "%lld at 1000/s, %lld at 2000/s",
               point[0], point[1]);
    lg_model_conf_t c = small_conf(33);
    lg_model_t *m = lg_model_new(&c, err, sizeof(err));
    int rc = lg_model_plan_policies(m, 0, 5000, err, sizeof(err));
    lg_model_destroy(m);
    INV_ASSERT(rc == -1 && strncmp(err, "--plan-policies: needs --rate > 0", 33) == 0, "%s", err);
}

/* ---------------------------------------------------------------- flags */

static void test_own_flags_are_taken_out_and_the_rest_left(void) {
    char *argv[] = {"inv-loadgen",
                    "-b",
                    "h:9092",
                    "--rate",
                    "500",
                    "-X",
                    "--count=9",
                    "--count=7",
                    "--format",
                    "avro",
                    "--reorder-feedback",
                    "--skus=50",
                    "--bogus",
                    NULL};
    int argc = 13;
    lg_args_t a;
    lg_args_init(&a);
    char err[256] = "";
    static const inv_conf_flag_t skip[] = {{"format", "output.format", "x", "y"}, {NULL, NULL, NULL, NULL}};
    INV_ASSERT(lg_args_extract(&a, &argc, argv, skip, err, sizeof(err)) == 0, "%s", err);
    INV_ASSERT_EQ_INT(8, argc);
    INV_ASSERT_EQ_STR("-b", argv[1]);
    INV_ASSERT_EQ_STR("h:9092", argv[2]);
    INV_ASSERT_EQ_STR("-X", argv[3]);
    INV_ASSERT_EQ_STR("--count=9", argv[4]); /* the -X value, not ours */
    INV_ASSERT_EQ_STR("--format", argv[5]);
    INV_ASSERT_EQ_STR("avro", argv[6]);
    INV_ASSERT_EQ_STR("--bogus", argv[7]);
    INV_ASSERT(argv[8] == NULL);
    INV_ASSERT(a.rate == 500);
    INV_ASSERT_EQ_INT(7, a.count);
    INV_ASSERT_EQ_INT(50, a.model.skus);
    INV_ASSERT(a.reorder_feedback);
}

static void expect_flag_error(const char *flag, const char *value, const char *want) {
    char *argv[] = {"inv-loadgen", (char *)flag, (char *)value, NULL};
    int argc = value ? 3 : 2;
    lg_args_t a;
    lg_args_init(&a);
    char err[256] = "";
    int rc = lg_args_extract(&a, &argc, argv, NULL, err, sizeof(err));
    INV_EXPECT(rc == -1 && strncmp(err, want, strlen(want)) == 0, "%s %s: rc %d, error \"%s\", expected \"%s...\"",
               flag, value ? value : "", rc, err, want);
}

static void test_bad_flag_values_name_the_flag(void) {
    expect_flag_error("--rate", "fast", "--rate: \"fast\" is not");
    expect_flag_error("--rate", "-1", "--rate: \"-1\" is not");
    expect_flag_error("--count", "1e3", "--count: \"1e3\" is not");
    expect_flag_error("--duration", "5 minutes", "--duration: \"5 minutes\" is not");
    expect_flag_error("--locations", "0", "--locations: \"0\" is not");
    expect_flag_error("--skus", "2000000", "--skus: \"2000000\" is not");
    expect_flag_error("--zipf", "-1", "--zipf: \"-1\" is not");
    expect_flag_error("--returns-ratio", "1.5", "--returns-ratio: \"1.5\" is not a ratio");
    expect_flag_error("--duplicates", "x", "--duplicates: \"x\" is not a ratio");
    expect_flag_error("--seed", "-3", "--seed: \"-3\" is not");
    expect_flag_error("--start-time", "yesterday", "--start-time: \"yesterday\" is not");
    expect_flag_error("--opening-stock", "-1", "--opening-stock: \"-1\" is not");
    expect_flag_error("--lead-time-ms", "soon", "--lead-time-ms: \"soon\" is not");
    expect_flag_error("--oracle", NULL, "--oracle: missing argument");
    expect_flag_error("--reorder-feedback=yes", NULL, "--reorder-feedback: takes no value");
    expect_flag_error("--reservations-ratio", "2", "--reservations-ratio: \"2\" is not a ratio");
    expect_flag_error("--hold-ttl-ms", "999", "--hold-ttl-ms: \"999\" is not");
    expect_flag_error("--hold-ttl-ms", "604800001", "--hold-ttl-ms: \"604800001\" is not");
    expect_flag_error("--no-channel-map=1", NULL, "--no-channel-map: takes no value");
    expect_flag_error("--plan-policies=yes", NULL, "--plan-policies: takes no value");
    expect_flag_error("--transfers-ratio", "1.5", "--transfers-ratio: \"1.5\" is not a ratio");
    expect_flag_error("--transit-ms", "999", "--transit-ms: \"999\" is not");
    expect_flag_error("--late-sales-ratio", "often", "--late-sales-ratio: \"often\" is not a ratio");
    expect_flag_error("--late-sales-delay-ms", "86400001", "--late-sales-delay-ms: \"86400001\" is not");
}

/* --reservations-ratio, --hold-ttl-ms and --no-channel-map land in the
 * configuration; follow-ups come within about half the TTL at the rate; the
 * shares still add up to at most 1. */
static void test_reservation_flags_configure_the_model(void) {
    char *argv[] = {
        "inv-loadgen", "--reservations-ratio", "0.25", "--hold-ttl-ms=20000", "--no-channel-map", "--rate", "400",
        NULL};
    int argc = 7;
    lg_args_t a;
    lg_args_init(&a);
    char err[256] = "";
    inv_conf_t *conf = inv_conf_new();
    int rc1 = lg_args_extract(&a, &argc, argv, NULL, err, sizeof(err));
    int rc2 = rc1 ? -1 : lg_args_finish(&a, conf, err, sizeof(err));
    lg_args_t b;
    lg_args_init(&b);
    b.model.reservations_ratio = 0.95;
    int rc3 = lg_args_finish(&b, conf, err, sizeof(err));
    char err3[256];
    snprintf(err3, sizeof(err3), "%s", err);
    lg_args_init(&b);
    b.plan_policies = 1;
    b.rate = 0;
    int rc4 = lg_args_finish(&b, conf, err, sizeof(err));
    inv_conf_destroy(conf);
    INV_ASSERT(rc1 == 0 && rc2 == 0, "%s", err);
    INV_ASSERT_EQ_INT(1, argc);
    INV_ASSERT(a.model.reservations_ratio == 0.25 && a.model.hold_ttl_ms == 20000 && a.no_channel_map);
    INV_ASSERT_EQ_INT(4000, a.model.followup_max); /* 400/s x 20 s / 2 */
    INV_ASSERT(rc3 == -1 && strstr(err3, "--transfers-ratio add up to") != NULL, "%s", err3);
    INV_ASSERT(rc4 == -1 && strncmp(err, "--plan-policies: needs --rate > 0", 33) == 0, "%s", err);
}

/* --oracle excludes --reorder-feedback; it turns counts off unless
 * --counts-ratio is given (counts as of their time do not depend on the
 * order inv-stock applies movements in). The transfer and late-sale flags
 * land in the model and count in the shares. */
static void test_oracle_excludes_feedback_and_takes_counts_when_asked(void) {
    inv_conf_t *conf = inv_conf_new();
    char err[256] = "";
    lg_args_t a;
    lg_args_init(&a);
    a.oracle_path = "o.jsonl";
    int rc1 = lg_args_finish(&a, conf, err, sizeof(err));
    double counts = a.model.counts_ratio;
    a.reorder_feedback = 1;
    int rc2 = lg_args_finish(&a, conf, err, sizeof(err));
    char err2[256];
    snprintf(err2, sizeof(err2), "%s", err);
    char *argv[] = {"inv-loadgen",
                    "--oracle",
                    "o.jsonl",
                    "--counts-ratio",
                    "0.1",
                    "--transfers-ratio",
                    "0.03",
                    "--transit-ms=8000",
                    "--late-sales-ratio",
                    "0.02",
                    "--late-sales-delay-ms",
                    "90000",
                    NULL};
    int argc = 12;
    lg_args_init(&a);
    int rc3 = lg_args_extract(&a, &argc, argv, NULL, err, sizeof(err));
    rc3 = rc3 ? rc3 : lg_args_finish(&a, conf, err, sizeof(err));
    lg_args_t b;
    lg_args_init(&b);
    b.model.returns_ratio = 0.5;
    b.model.transfers_ratio = 0.6;
    char err5[256];
    int rc5 = lg_args_finish(&b, conf, err5, sizeof(err5));
    lg_args_init(&b);
    b.reorder_feedback = 1;
    int rc4 = lg_args_finish(&b, conf, err, sizeof(err));
    double receipts = b.model.receipts_ratio;
    inv_conf_destroy(conf);
    INV_ASSERT(rc1 == 0 && counts == 0);
    INV_ASSERT(rc2 == -1 && strncmp(err2, "--oracle: cannot be used with --reorder-feedback", 48) == 0, "%s", err2);
    INV_ASSERT(rc3 == 0 && a.model.counts_ratio == 0.1, "%s", err);
    INV_ASSERT(a.model.transfers_ratio == 0.03 && a.model.transit_ms == 8000);
    INV_ASSERT(a.model.late_sales_ratio == 0.02 && a.model.late_delay_ms == 90000);
    INV_ASSERT(rc5 == -1 && strstr(err5, "--transfers-ratio add up to") != NULL, "%s", err5);
    INV_ASSERT(rc4 == 0 && receipts == 0, "receipts %g with feedback", receipts);
}

static void test_durations_take_units(void) {
    int64_t ms = -1;
    INV_ASSERT(lg_args_parse_duration("30", &ms) == 0 && ms == 30000);
    INV_ASSERT(lg_args_parse_duration("1500ms", &ms) == 0 && ms == 1500);
    INV_ASSERT(lg_args_parse_duration("2.5s", &ms) == 0 && ms == 2500);
    INV_ASSERT(lg_args_parse_duration("5m", &ms) == 0 && ms == 300000);
    INV_ASSERT(lg_args_parse_duration("2h", &ms) == 0 && ms == 7200000);
    INV_ASSERT(lg_args_parse_duration("5d", &ms) == -1);
    INV_ASSERT(lg_args_parse_duration("-5", &ms) == -1);
    INV_ASSERT(lg_args_parse_duration("", &ms) == -1);
}

int main(void) {
    INV_RUN(test_zipf_probabilities_follow_the_power_law);
    INV_RUN(test_zipf_samples_match_the_distribution);
    INV_RUN(test_zipf_exponent_zero_is_uniform);
    INV_RUN(test_zipf_rejects_no_ranks_and_negative_exponents);
    INV_RUN(test_same_seed_and_flags_give_the_same_bytes);
    INV_RUN(test_another_seed_gives_other_bytes);
    INV_RUN(test_the_start_time_is_part_of_the_bytes);
    INV_RUN(test_valid_events_decode_and_duplicates_repeat_earlier_bytes);
    INV_RUN(test_malformed_json_is_rejected_for_the_stated_reason);
    INV_RUN(test_malformed_in_avro_mode_is_rejected_for_the_stated_reason);
    INV_RUN(test_malformed_errors_read_like_the_dlq);
    INV_RUN(test_oracle_is_the_sum_of_the_valid_events);
    INV_RUN(test_oracle_holds_counts_as_of_their_time_with_transfers_and_late_sales);
    INV_RUN(test_transfers_settle_and_late_sales_come_late);
    INV_RUN(test_feedback_receipt_answers_the_reorder);
    INV_RUN(test_holds_are_online_orders_at_the_dc_and_the_web_shop);
    INV_RUN(test_every_hold_is_fulfilled_released_or_left_to_expire);
    INV_RUN(test_reservations_ratio_zero_sends_no_reservation);
    INV_RUN(test_channel_map_serves_online_and_marketplace_from_the_dc);
    INV_RUN(test_oracle_settles_after_the_last_hold_expires);
    INV_RUN(test_planned_policies_follow_each_pairs_demand);
    INV_RUN(test_planned_order_points_scale_with_the_rate);
    INV_RUN(test_model_rejects_impossible_shares);
    INV_RUN(test_locations_are_stores_a_dc_and_a_web_shop);
    INV_RUN(test_own_flags_are_taken_out_and_the_rest_left);
    INV_RUN(test_bad_flag_values_name_the_flag);
    INV_RUN(test_oracle_excludes_feedback_and_takes_counts_when_asked);
    INV_RUN(test_durations_take_units);
    INV_RUN(test_reservation_flags_configure_the_model);
    return INV_TEST_DONE();
}
