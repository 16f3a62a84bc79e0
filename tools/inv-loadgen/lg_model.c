#include "lg_model.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lg_rng.h"
#include "lg_zipf.h"
#include "inv_time.h"
#include "inv_log.h"

/* 2026-11-02T08:00:00Z: a Monday morning, the default start of the
 * simulated clock (fixed, so a seed alone reproduces the bytes). */
#define DEFAULT_START_MS INT64_C(1793606400000)

#define BASKET_MAX 10            /* lines of a sale */
#define EVENT_MAX 100            /* lines of a receipt or an opening receipt */
#define SALES_KEEP 4096          /* recent sales a return can refer to */
#define SENT_KEEP 1024           /* recent messages a duplicate can repeat */
#define CLOCK_STEP_MAX 200       /* ms the simulated clock moves per event, 0..max */
#define HOLD_LINES_MAX 3         /* lines of a hold: an online order */
#define FOLLOWUPS_MAX (1u << 20) /* open follow-ups; a hold beyond them is left to expire */
#define HELD_MAX (1u << 20)      /* held back; beyond them sales go on time and no transfer ships */
#define TRANSFER_LINES_MAX 4     /* lines of a shipment */

typedef enum { LOC_STORE = 0, LOC_DC, LOC_WEB } loc_type_t;

typedef struct {
    char name[32];
    char pos_source[40]; /* "pos-store-3" */
    loc_type_t type;
    int64_t case_pack;
    /* SKUs sold since this location's last receipt, in no particular
     * order: what the next receipts replenish, biggest gaps first. A SKU is
     * listed at most once (pair.queued). */
    uint32_t *sold;
    size_t sold_len, sold_cap;
} location_t;

/* The books of one (sku, location). */
typedef struct {
    int64_t on_hand;
    int64_t unsellable;
    int64_t count_at; /* occurred_at of its latest count, 0 before one */
    uint8_t touched;  /* inv-stock holds a row for it */
    uint8_t queued;   /* in the location's sold queue */
} pair_t;

typedef struct {
    uint64_t seq;
    uint32_t loc;
    uint8_t channel;
    uint8_t nlines;
    uint32_t sku[BASKET_MAX];
    int32_t qty[BASKET_MAX];
} sale_rec_t;

typedef struct {
    int64_t sold; /* the gap to par */
    uint32_t sku;
} rank_t;

typedef struct {
    lg_topic_t topic;
    lg_kind_t kind;
    size_t lines;
    inv_buf_t key, value;
} sent_t;

/* The first members of an item of a heap_t. */
typedef struct {
    int64_t due;
    uint64_t order; /* ties go in the order they were pushed */
} heap_key_t;

/* A binary min-heap on (due, order) of items of `size` bytes that begin
 * with a heap_key_t; at most `max` of them. */
typedef struct {
    char *items;
    size_t n, cap, size, max;
    uint64_t next_order;
} heap_t;

/* What a hold still has coming: a fulfilling sale (one of two, when split)
 * or its release, due once the model's sequence reaches `due`. */
typedef struct {
    int64_t due;
    uint64_t order;
    uint64_t hold; /* the reservation's number */
    uint32_t loc;
    uint8_t kind; /* LG_KIND_FULFILMENT or LG_KIND_RELEASE */
    uint8_t channel;
    uint8_t nlines;
    uint32_t sku[HOLD_LINES_MAX];
    int64_t qty[HOLD_LINES_MAX];
} followup_t;

/* A message held back until the occurred_at clock reaches `due`: a late
 * sale (sent with its own occurred_at), or a receipt or cancel of a
 * shipment (dated when sent). */
typedef struct {
    int64_t due;
    uint64_t order;
    uint8_t kind; /* LG_KIND_SALE, LG_KIND_RECEIVED or LG_KIND_CANCELED */
    uint8_t channel;
    uint8_t nlines;
    uint8_t step;           /* a receipt: the first (1) or the second (2) */
    uint32_t loc, to;       /* a sale's location; a transfer's source and destination */
    uint64_t id;            /* a sale's sequence number, a transfer's number */
    int64_t occurred_at_ms; /* a sale's */
    uint32_t sku[BASKET_MAX];
    int64_t qty[BASKET_MAX];
    int64_t rejected[BASKET_MAX];
} held_t;

/* A fresh event being built. Building draws from the generator and moves the
 * clock and the sequence, but touches no books: a malformed message is a
 * plan that is never committed. */
typedef struct {
    lg_kind_t kind;
    size_t loc;
    inv_channel_t channel;
    size_t nlines;
    size_t sale_slot; /* return: slot in sales[], or SIZE_MAX */
    size_t sold_take; /* receipt: SKUs leaving the sold list (taken[]) */
    int64_t occurred_at_ms;
    const char *source;
    int has_po, has_original;
    /* holds, releases, fulfilments */
    int has_reservation, allow_partial;
    int64_t expires_at_ms;
    uint64_t hold;  /* the reservation's number */
    size_t nfollow; /* hold: the follow-ups it schedules (follow[]) */
    followup_t follow[2];
    int late; /* a sale held back (LG_KIND_SALE) */
    /* transfers: loc is the source, `to` the destination; a shipment's
     * receipts and cancel (held[]) */
    size_t to;
    uint64_t transfer;
    size_t nheld;
    held_t held[2];
    char transfer_id[80];
    char reservation_id[80];
    char event_id[80];
    char po_id[80];
    char original_id[80];
    /* lines: not cleared between plans, only the first nlines count */
    uint32_t sku[EVENT_MAX];
    int64_t qty[EVENT_MAX];
    inv_disposition_t disp[EVENT_MAX];
    int64_t rejected[EVENT_MAX]; /* a receipt of a transfer */
    uint32_t taken[EVENT_MAX];
} plan_t;

struct lg_model_s {
    lg_model_conf_t conf;
    char run_id[32];
    lg_rng_t rng;
    lg_zipf_t *zipf;
    inv_schema_resolver_t resolver;
    int32_t ids[INV_MSG_COUNT];
    inv_encoder_t *encoder;

    char **sku_names;
    char *sku_block;
    location_t *locs;
    double *loc_cdf;
    pair_t *pairs; /* [sku * locations + loc] */

    int64_t clock_ms;
    uint64_t seq;

    size_t opening_loc, opening_sku; /* next opening receipt */
    uint64_t opening_seq;
    uint64_t feedback_seq;

    sale_rec_t *sales;
    size_t nsales;
    heap_t follow; /* followup_t, due on the sequence */
    heap_t held;   /* held_t, due on the occurred_at clock */
    uint64_t hold_seq, transfer_seq;
    int64_t floor_ms;      /* the clock never goes below it: just after the latest count */
    int64_t settled_at_ms; /* latest expires_at sent, INT64_MIN for none */
    size_t ecom[2];        /* the locations that take holds: dc-1, web-1 */
    size_t necom;
    size_t channel_next; /* next entry of the channel map */
    char key_buf[300];   /* of a channel map entry or a policy */
    /* lg_model_plan_policies(): units sold per pair (the planner's private
     * model only), then the planned policy of each pair (NULL unplanned) */
    int64_t *demand;
    struct planned_s {
        int64_t reorder_point, reorder_quantity, safety_stock;
    } * planned;
    size_t policy_next;
    sent_t *sent;
    size_t nsent, sent_next;

    plan_t plan;
    rank_t *rank; /* scratch of plan_receipt */
    size_t rank_cap;
    inv_line_t lines[EVENT_MAX];
    inv_buf_t out; /* the value of the last message */
    char bad_field[64];
    char fb_event_id[INV_CODEC_MAX_ID_LEN + 1], fb_po_id[INV_CODEC_MAX_ID_LEN + 1];
    lg_stats_t stats;
};

/* ------------------------------------------------------------ small buffers */

/* A few KB: nothing sensible to do without them. */
static void buf_reserve(inv_buf_t *b, size_t extra) {
    if (inv_buf_reserve(b, extra))
        abort();
}

static void buf_put(inv_buf_t *b, const char *s, size_t n) {
    if (inv_buf_append(b, s, n))
        abort();
}

static void buf_str(inv_buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_printf(inv_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(inv_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A JSON string literal. */
static void buf_json_str(inv_buf_t *b, const char *s) {
    buf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_put(b, e, 2);
        } else if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_put(b, (const char *)&c, 1);
        }
    }
    buf_put(b, "\"", 1);
}

/* -------------------------------------------------------------- set-up */

void lg_model_conf_defaults(lg_model_conf_t *c) {
    memset(c, 0, sizeof(*c));
    c->seed = 1;
    c->locations = 10;
    c->skus = 1000;
    c->zipf = 1.1;
    c->returns_ratio = 0.05;
    c->receipts_ratio = 0.02;
    c->adjustments_ratio = 0.01;
    c->counts_ratio = 0.002;
    c->reservations_ratio = 0.1;
    c->hold_ttl_ms = 30000;
    c->transit_ms = 20000;
    c->late_delay_ms = 120000;
    c->followup_max = 1000;
    c->duplicates_ratio = 0.01;
    c->malformed_ratio = 0.001;
    c->opening_stock = 100;
    c->start_ms = DEFAULT_START_MS;
    c->format = INV_FORMAT_JSON;
    memcpy(c->schema_ids, inv_schema_default_ids, sizeof(c->schema_ids));
}

const char *lg_model_location_name(size_t n, size_t i, char *buf, size_t buf_size) {
    size_t stores = n == 1 ? 1 : n == 2 ? 1 : n - 2;
    if (i < stores)
        snprintf(buf, buf_size, "store-%zu", i + 1);
    else if (n >= 3 && i == stores)
        snprintf(buf, buf_size, "dc-1");
    else
        snprintf(buf, buf_size, "web-1");
    return buf;
}

static int ratio_ok(const char *name, double v, char *errstr, size_t n) {
    if (!(v >= 0 && v <= 1))
        return inv_errstr(errstr, n, "%s: %g is not a ratio in [0, 1]", name, v);
    return 0;
}

int lg_model_conf_check(const lg_model_conf_t *c, char *errstr, size_t n) {
    if (c->locations < 1 || c->locations > LG_MAX_LOCATIONS)
        return inv_errstr(errstr, n, "--locations: %zu is out of range [1, %d]", c->locations, LG_MAX_LOCATIONS);
    if (c->skus < 1 || c->skus > LG_MAX_SKUS)
        return inv_errstr(errstr, n, "--skus: %zu is out of range [1, %d]", c->skus, LG_MAX_SKUS);
    if (c->skus * c->locations > LG_MAX_PAIRS)
        return inv_errstr(errstr, n, "--skus x --locations: %zu x %zu is more than %d (sku, location) pairs", c->skus,
                          c->locations, LG_MAX_PAIRS);
    if (ratio_ok("--returns-ratio", c->returns_ratio, errstr, n) ||
        ratio_ok("--receipts-ratio", c->receipts_ratio, errstr, n) ||
        ratio_ok("--adjustments-ratio", c->adjustments_ratio, errstr, n) ||
        ratio_ok("--counts-ratio", c->counts_ratio, errstr, n) ||
        ratio_ok("--reservations-ratio", c->reservations_ratio, errstr, n) ||
        ratio_ok("--transfers-ratio", c->transfers_ratio, errstr, n) ||
        ratio_ok("--late-sales-ratio", c->late_sales_ratio, errstr, n) ||
        ratio_ok("--duplicates", c->duplicates_ratio, errstr, n) ||
        ratio_ok("--malformed", c->malformed_ratio, errstr, n))
        return -1;
    double shares = c->returns_ratio + c->receipts_ratio + c->adjustments_ratio + c->counts_ratio +
                    c->reservations_ratio + c->transfers_ratio;
    if (shares > 1 + 1e-9)
        return inv_errstr(errstr, n,
                          "--returns-ratio, --receipts-ratio, --adjustments-ratio, --counts-ratio, "
                          "--reservations-ratio and --transfers-ratio add up to %g, more than 1",
                          shares);
    if (c->transit_ms < 1000 || c->transit_ms > LG_MAX_DELAY_MS)
        return inv_errstr(errstr, n, "--transit-ms: %" PRId64 " is out of range [1000, %" PRId64 "]", c->transit_ms,
                          LG_MAX_DELAY_MS);
    if (c->late_delay_ms < 1000 || c->late_delay_ms > LG_MAX_DELAY_MS)
        return inv_errstr(errstr, n, "--late-sales-delay-ms: %" PRId64 " is out of range [1000, %" PRId64 "]",
                          c->late_delay_ms, LG_MAX_DELAY_MS);
    if (c->hold_ttl_ms < 1000 || c->hold_ttl_ms > LG_MAX_HOLD_TTL_MS)
        return inv_errstr(errstr, n, "--hold-ttl-ms: %" PRId64 " is out of range [1000, %" PRId64 "]", c->hold_ttl_ms,
                          LG_MAX_HOLD_TTL_MS);
    if (c->duplicates_ratio + c->malformed_ratio > 1 + 1e-9)
        return inv_errstr(errstr, n, "--duplicates and --malformed add up to %g, more than 1",
                          c->duplicates_ratio + c->malformed_ratio);
    if (c->opening_stock < 0 || c->opening_stock > INT64_C(1000000000))
        return inv_errstr(errstr, n, "--opening-stock: %" PRId64 " is out of range [0, 1000000000]", c->opening_stock);
    return 0;
}

lg_model_t *lg_model_new(const lg_model_conf_t *conf, char *errstr, size_t errstr_size) {
    if (lg_model_conf_check(conf, errstr, errstr_size))
        return NULL;
    lg_model_t *m = calloc(1, sizeof(*m));
    if (!m) {
        inv_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    m->conf = *conf;
    snprintf(m->run_id, sizeof(m->run_id), "lg%" PRIu64, conf->seed);
    lg_rng_seed(&m->rng, conf->seed);
    memcpy(m->ids, conf->schema_ids, sizeof(m->ids));
    inv_schema_resolver_static_init(&m->resolver, m->ids);
    size_t nl = conf->locations, ns = conf->skus;

    m->zipf = lg_zipf_new(ns, conf->zipf, errstr, errstr_size);
    if (!m->zipf)
        goto err;
    m->encoder = inv_encoder_new(conf->format, &m->resolver, errstr, errstr_size);
    if (!m->encoder)
        goto err;

    m->sku_names = calloc(ns, sizeof(*m->sku_names));
    m->sku_block = malloc(ns * 16);
    m->locs = calloc(nl, sizeof(*m->locs));
    m->loc_cdf = calloc(nl, sizeof(*m->loc_cdf));
    m->pairs = calloc(ns * nl, sizeof(*m->pairs));
    m->sales = calloc(SALES_KEEP, sizeof(*m->sales));
    m->sent = calloc(SENT_KEEP, sizeof(*m->sent));
    if (!m->sku_names || !m->sku_block || !m->locs || !m->loc_cdf || !m->pairs || !m->sales || !m->sent) {
        inv_errstr(errstr, errstr_size, "out of memory for %zu SKUs at %zu locations", ns, nl);
        goto err;
    }
    for (size_t i = 0; i < ns; i++) {
        m->sku_names[i] = m->sku_block + i * 16;
        snprintf(m->sku_names[i], 16, "SKU-%u", (unsigned)(i + 1));
    }
    /* Traffic weights: every store 1; the web shop a third of the stores'
     * traffic, the DC (b2b and marketplace orders) a tenth. */
    size_t stores = nl <= 2 ? 1 : nl - 2;
    double total = 0;
    for (size_t i = 0; i < nl; i++) {
        location_t *l = &m->locs[i];
        lg_model_location_name(nl, i, l->name, sizeof(l->name));
        snprintf(l->pos_source, sizeof(l->pos_source), "pos-%s", l->name);
        double w;
        if (strncmp(l->name, "store-", 6) == 0) {
            l->type = LOC_STORE, l->case_pack = 6, w = 1;
        } else if (strcmp(l->name, "dc-1") == 0) {
            l->type = LOC_DC, l->case_pack = 24, w = stores * 0.1 < 0.5 ? 0.5 : stores * 0.1;
        } else {
            l->type = LOC_WEB, l->case_pack = 12, w = stores / 3.0 < 1 ? 1 : stores / 3.0;
        }
        total += w;
        m->loc_cdf[i] = total;
    }
    for (size_t i = 0; i < nl; i++)
        m->loc_cdf[i] /= total;
    m->loc_cdf[nl - 1] = 1.0;
    /* Holds are online orders: the DC and the web shop take them (a lone
     * store ships from store). */
    for (size_t i = 0; i < nl; i++)
        if (m->locs[i].type != LOC_STORE)
            m->ecom[m->necom++] = i;
    if (m->necom == 0)
        m->ecom[m->necom++] = 0;
    m->settled_at_ms = INT64_MIN;
    m->floor_ms = INT64_MIN;
    m->follow.size = sizeof(followup_t);
    m->follow.max = FOLLOWUPS_MAX;
    m->held.size = sizeof(held_t);
    m->held.max = HELD_MAX;
    m->clock_ms = conf->start_ms;
    inv_buf_init(&m->out);
    return m;
err:
    lg_model_destroy(m);
    return NULL;
}

void lg_model_destroy(lg_model_t *m) {
    if (!m)
        return;
    lg_zipf_destroy(m->zipf);
    inv_encoder_destroy(m->encoder);
    free(m->sku_names);
    free(m->sku_block);
    if (m->locs)
        for (size_t i = 0; i < m->conf.locations; i++)
            free(m->locs[i].sold);
    free(m->locs);
    free(m->loc_cdf);
    free(m->pairs);
    free(m->sales);
    free(m->follow.items);
    free(m->held.items);
    free(m->demand);
    free(m->planned);
    free(m->rank);
    if (m->sent)
        for (size_t i = 0; i < SENT_KEEP; i++) {
            inv_buf_free(&m->sent[i].key);
            inv_buf_free(&m->sent[i].value);
        }
    free(m->sent);
    inv_buf_free(&m->out);
    free(m);
}

/* ------------------------------------------------------------- heaps */

static int heap_before(const heap_t *h, size_t a, size_t b) {
    const heap_key_t *x = (const heap_key_t *)(h->items + a * h->size),
                     *y = (const heap_key_t *)(h->items + b * h->size);
    return x->due != y->due ? x->due < y->due : x->order < y->order;
}

static void heap_swap(heap_t *h, size_t a, size_t b) {
    char t[sizeof(held_t) > sizeof(followup_t) ? sizeof(held_t) : sizeof(followup_t)];
    memcpy(t, h->items + a * h->size, h->size);
    memcpy(h->items + a * h->size, h->items + b * h->size, h->size);
    memcpy(h->items + b * h->size, t, h->size);
}

static int heap_full(const heap_t *h, size_t more) { return h->n + more > h->max; }

static const heap_key_t *heap_top(const heap_t *h) { return h->n ? (const heap_key_t *)h->items : NULL; }

/* Copies item in, its order the next one. 0, or -1 when max are held. */
static int heap_push(heap_t *h, const void *item) {
    if (h->n == h->cap) {
        if (h->cap >= h->max)
            return -1;
        size_t cap = h->cap ? h->cap * 2 : 256;
        char *n = realloc(h->items, cap * h->size);
        if (!n)
            abort();
        h->items = n;
        h->cap = cap;
    }
    size_t i = h->n++;
    memcpy(h->items + i * h->size, item, h->size);
    ((heap_key_t *)(h->items + i * h->size))->order = h->next_order++;
    while (i > 0 && heap_before(h, i, (i - 1) / 2)) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

/* Moves the first item to out; h->n > 0. */
static void heap_pop(heap_t *h, void *out) {
    memcpy(out, h->items, h->size);
    if (--h->n)
        memcpy(h->items, h->items + h->n * h->size, h->size);
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < h->n && heap_before(h, l, min))
            min = l;
        if (r < h->n && heap_before(h, r, min))
            min = r;
        if (min == i)
            break;
        heap_swap(h, i, min);
        i = min;
    }
}

/* ----------------------------------------------------------- helpers */

static pair_t *pair_of(lg_model_t *m, size_t sku, size_t loc) { return &m->pairs[sku * m->conf.locations + loc]; }

/* The occurred_at clock. It never goes back to a count's time: a change
 * made after a count is dated after it, as inv-stock's counts as of their
 * time need for the books to hold (a change at the count's millisecond
 * counts as covered by it). */
static int64_t now_ms(lg_model_t *m) {
    int64_t t = m->conf.start_ms == LG_CLOCK_WALL ? inv_time_wall_ms() : m->clock_ms;
    return t < m->floor_ms ? m->floor_ms : t;
}

/* The clock of reservation events: inv-stock expires holds on its own. */
static int64_t hold_now_ms(lg_model_t *m) { return m->conf.wall_ms ? m->conf.wall_ms() : inv_time_wall_ms(); }

static size_t pick_location(lg_model_t *m) { return lg_cdf_index(m->loc_cdf, m->conf.locations, lg_rng_unit(&m->rng)); }

static inv_channel_t pick_channel(lg_model_t *m, loc_type_t t) {
    double u = lg_rng_unit(&m->rng);
    switch (t) {
    case LOC_STORE: /* walk-in, and ship-from-store / click & collect */
        return u < 0.93 ? INV_CHANNEL_STORE : INV_CHANNEL_ONLINE;
    case LOC_WEB: return u < 0.75 ? INV_CHANNEL_ONLINE : INV_CHANNEL_MARKETPLACE;
    default: /* the DC sells wholesale and fulfils marketplace orders */
        return u < 0.6 ? INV_CHANNEL_B2B : INV_CHANNEL_MARKETPLACE;
    }
}

static const char *sale_source(const location_t *l, inv_channel_t c) {
    switch (c) {
    case INV_CHANNEL_STORE: return l->pos_source;
    case INV_CHANNEL_ONLINE: return l->type == LOC_STORE ? l->pos_source : "web-shop";
    case INV_CHANNEL_MARKETPLACE: return "marketplace-hub";
    default: return "edi-b2b";
    }
}

/* `count` distinct Zipf-popular SKUs into sku[]; count <= number of SKUs. */
static void pick_skus(lg_model_t *m, uint32_t *sku, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t s = 0;
        int fresh = 0;
        for (int tries = 0; tries < 16 && !fresh; tries++) {
            s = (uint32_t)lg_zipf_sample(m->zipf, &m->rng);
            fresh = 1;
            for (size_t j = 0; j < i; j++)
                if (sku[j] == s)
                    fresh = 0;
        }
        /* The head is exhausted (a few SKUs, a big basket): take the next
         * unused rank, deterministically. */
        while (!fresh) {
            s = (s + 1) % (uint32_t)m->conf.skus;
            fresh = 1;
            for (size_t j = 0; j < i; j++)
                if (sku[j] == s)
                    fresh = 0;
        }
        sku[i] = s;
    }
}

static size_t basket_size(lg_model_t *m) {
    /* Most baskets are small: P(1..10) = 30, 22, 15, 10, 8, 5, 4, 3, 2, 1 %. */
    static const int weights[BASKET_MAX] = {30, 22, 15, 10, 8, 5, 4, 3, 2, 1};
    int u = (int)lg_rng_below(&m->rng, 100);
    size_t n = 1;
    for (int i = 0, acc = 0; i < BASKET_MAX; i++) {
        acc += weights[i];
        if (u < acc) {
            n = (size_t)i + 1;
            break;
        }
    }
    return n < m->conf.skus ? n : m->conf.skus;
}

static int64_t unit_quantity(lg_model_t *m, inv_channel_t c) {
    if (c == INV_CHANNEL_B2B)
        return lg_rng_range(&m->rng, 6, 48);
    double u = lg_rng_unit(&m->rng);
    return u < 0.75 ? 1 : u < 0.93 ? 2 : lg_rng_range(&m->rng, 3, 5);
}

/* ------------------------------------------------------------- planning */

static void plan_ids(lg_model_t *m, plan_t *p, const char *tag) {
    snprintf(p->event_id, sizeof(p->event_id), "%s-%s-%" PRIu64, m->run_id, tag, m->seq);
}

static void plan_sale(lg_model_t *m, plan_t *p) {
    p->loc = pick_location(m);
    location_t *l = &m->locs[p->loc];
    p->channel = pick_channel(m, l->type);
    p->source = sale_source(l, p->channel);
    p->nlines = basket_size(m);
    pick_skus(m, p->sku, p->nlines);
    for (size_t i = 0; i < p->nlines; i++)
        p->qty[i] = unit_quantity(m, p->channel);
    plan_ids(m, p, "T");
    /* a till that lost its connection uploads its sales later (no draw
     * without late sales: the bytes stay those of a run without them) */
    if (m->conf.late_sales_ratio > 0 && p->channel == INV_CHANNEL_STORE &&
        lg_rng_chance(&m->rng, m->conf.late_sales_ratio) && !heap_full(&m->held, 1))
        p->late = 1;
}

static void plan_return(lg_model_t *m, plan_t *p) {
    p->sale_slot = SIZE_MAX;
    if (m->nsales == 0) {
        /* a return without a receipt: one unit of a popular SKU */
        p->loc = pick_location(m);
        p->channel = pick_channel(m, m->locs[p->loc].type);
        p->nlines = 1;
        pick_skus(m, p->sku, 1);
        p->qty[0] = 1;
    } else {
        p->sale_slot = (size_t)lg_rng_below(&m->rng, m->nsales);
        const sale_rec_t *s = &m->sales[p->sale_slot];
        p->channel = (inv_channel_t)s->channel;
        /* Store sales come back to the store; parcels go to the DC's returns
         * desk when there is one. */
        p->loc = m->locs[s->loc].type != LOC_STORE && m->conf.locations >= 3 ? m->conf.locations - 2 /* dc-1 */
                                                                             : s->loc;
        size_t n = lg_rng_chance(&m->rng, 0.7) ? 1 : 1 + (size_t)lg_rng_below(&m->rng, s->nlines);
        size_t first = (size_t)lg_rng_below(&m->rng, s->nlines);
        p->nlines = n;
        for (size_t i = 0; i < n; i++) {
            size_t j = (first + i) % s->nlines;
            p->sku[i] = s->sku[j];
            p->qty[i] = lg_rng_range(&m->rng, 1, s->qty[j]);
        }
        snprintf(p->original_id, sizeof(p->original_id), "%s-T-%" PRIu64, m->run_id, s->seq);
        p->has_original = 1;
    }
    for (size_t i = 0; i < p->nlines; i++)
        p->disp[i] = lg_rng_chance(&m->rng, 0.75) ? INV_DISPOSITION_RESELLABLE : INV_DISPOSITION_DAMAGED;
    p->source = m->locs[p->loc].type == LOC_STORE ? m->locs[p->loc].pos_source : "returns-portal";
    plan_ids(m, p, "R");
}

/* Biggest gap first; ties by SKU, so the order never depends on qsort. */
static int rank_cmp(const void *a, const void *b) {
    const rank_t *x = a, *y = b;
    if (x->sold != y->sold)
        return x->sold > y->sold ? -1 : 1;
    return x->sku < y->sku ? -1 : x->sku > y->sku;
}

static void plan_receipt(lg_model_t *m, plan_t *p) {
    p->loc = pick_location(m);
    location_t *l = &m->locs[p->loc];
    p->source = "wms";
    /* Periodic review, order up to par: every SKU sold here since its last
     * delivery is brought back up to the par level (the opening stock) in
     * whole case packs, the biggest gaps first when the list is longer than
     * one receipt. SKUs already at par leave the list without a line. */
    int64_t par = m->conf.opening_stock > 0 ? m->conf.opening_stock : 4 * l->case_pack;
    const size_t nl = m->conf.locations;
    if (m->rank_cap < l->sold_len) {
        rank_t *r = realloc(m->rank, l->sold_len * sizeof(*r));
        if (!r)
            abort();
        m->rank = r;
        m->rank_cap = l->sold_len;
    }
    size_t n = 0;
    for (size_t i = 0; i < l->sold_len; i++) {
        size_t k = l->sold[i] * nl + p->loc;
        int64_t want = m->planned ? m->planned[k].reorder_point + m->planned[k].reorder_quantity : par;
        m->rank[n++] = (rank_t){want - m->pairs[k].on_hand, l->sold[i]};
    }
    if (n > EVENT_MAX)
        qsort(m->rank, n, sizeof(*m->rank), rank_cmp);
    size_t take = n < EVENT_MAX ? n : EVENT_MAX, lines = 0;
    p->sold_take = take;
    for (size_t i = 0; i < take; i++) {
        p->taken[i] = m->rank[i].sku;
        if (m->rank[i].sold > 0) {
            p->sku[lines] = m->rank[i].sku;
            p->qty[lines++] = (m->rank[i].sold + l->case_pack - 1) / l->case_pack * l->case_pack;
        }
    }
    size_t take_lines = lines;
    p->nlines = take_lines;
    if (take_lines == 0) { /* nothing sold yet: a standing order of popular lines */
        p->nlines = 1 + (size_t)lg_rng_below(&m->rng, 3);
        if (p->nlines > m->conf.skus)
            p->nlines = m->conf.skus;
        pick_skus(m, p->sku, p->nlines);
        for (size_t i = 0; i < p->nlines; i++)
            p->qty[i] = l->case_pack;
    }
    plan_ids(m, p, "GR");
    snprintf(p->po_id, sizeof(p->po_id), "%s-PO-%" PRIu64, m->run_id, m->seq);
    p->has_po = 1;
}

static void plan_adjustment(lg_model_t *m, plan_t *p) {
    p->loc = pick_location(m);
    p->source = "inventory-app";
    p->nlines = 1 + (size_t)lg_rng_below(&m->rng, 3);
    if (p->nlines > m->conf.skus)
        p->nlines = m->conf.skus;
    pick_skus(m, p->sku, p->nlines);
    /* mostly shrinkage and damage, sometimes stock found on a shelf */
    for (size_t i = 0; i < p->nlines; i++)
        p->qty[i] = lg_rng_chance(&m->rng, 0.85) ? -lg_rng_range(&m->rng, 1, 3) : lg_rng_range(&m->rng, 1, 2);
    plan_ids(m, p, "ADJ");
}

static void plan_count(lg_model_t *m, plan_t *p) {
    p->loc = pick_location(m);
    p->source = "inventory-app";
    p->nlines = 1 + (size_t)lg_rng_below(&m->rng, 5);
    if (p->nlines > m->conf.skus)
        p->nlines = m->conf.skus;
    pick_skus(m, p->sku, p->nlines);
    /* what the books say, give or take a miscount */
    for (size_t i = 0; i < p->nlines; i++) {
        int64_t q = pair_of(m, p->sku[i], p->loc)->on_hand + lg_rng_range(&m->rng, -2, 1);
        p->qty[i] = q < 0 ? 0 : q;
    }
    plan_ids(m, p, "CNT");
}

/* ------------------------------------------------------- reservations */

static void plan_reservation_id(lg_model_t *m, plan_t *p, uint64_t hold) {
    p->hold = hold;
    p->has_reservation = 1;
    snprintf(p->reservation_id, sizeof(p->reservation_id), "%s-ORD-%" PRIu64, m->run_id, hold);
}

/* A follow-up of the hold in p, `delay` fresh events from now, for lines
 * [from, to) of it (quantities from qty[]). */
static followup_t *plan_follow(lg_model_t *m, plan_t *p, lg_kind_t kind, uint64_t delay, size_t from, size_t to,
                               const int64_t *qty) {
    followup_t *f = &p->follow[p->nfollow++];
    memset(f, 0, sizeof(*f));
    f->due = (int64_t)(m->seq + delay);
    f->hold = p->hold;
    f->loc = (uint32_t)p->loc;
    f->kind = (uint8_t)kind;
    f->channel = (uint8_t)p->channel;
    for (size_t i = from; i < to; i++) {
        f->sku[f->nlines] = p->sku[i];
        f->qty[f->nlines++] = qty[i];
    }
    return f;
}

/* An online or marketplace order holding stock at the DC or the web shop,
 * on the wall clock (expires_at = occurred_at + hold_ttl_ms). What becomes
 * of it is decided now: fulfilled by one sale or two, released, or left to
 * expire. */
static void plan_hold(lg_model_t *m, plan_t *p) {
    p->loc = m->ecom[m->necom == 1 ? 0 : lg_rng_chance(&m->rng, 0.6) ? m->necom - 1 : 0];
    const location_t *l = &m->locs[p->loc];
    /* marketplace orders ship from the DC, or the web shop without one */
    int has_dc = m->locs[m->ecom[0]].type == LOC_DC;
    int marketplace = l->type == LOC_DC               ? lg_rng_chance(&m->rng, 0.6)
                      : l->type == LOC_WEB && !has_dc ? lg_rng_chance(&m->rng, 0.25)
                                                      : 0;
    p->channel = marketplace ? INV_CHANNEL_MARKETPLACE : INV_CHANNEL_ONLINE;
    p->source = marketplace ? "marketplace-hub" : "web-shop";
    p->nlines = 1 + (size_t)lg_rng_below(&m->rng, HOLD_LINES_MAX);
    if (p->nlines > m->conf.skus)
        p->nlines = m->conf.skus;
    pick_skus(m, p->sku, p->nlines);
    for (size_t i = 0; i < p->nlines; i++)
        p->qty[i] = unit_quantity(m, p->channel);
    p->allow_partial = lg_rng_chance(&m->rng, 0.3);
    p->occurred_at_ms = hold_now_ms(m);
    p->expires_at_ms = p->occurred_at_ms + m->conf.hold_ttl_ms;
    plan_reservation_id(m, p, ++m->hold_seq);
    plan_ids(m, p, "RV");

    uint64_t fm = m->conf.followup_max ? m->conf.followup_max : 1, half = fm / 2 ? fm / 2 : 1;
    double fate = lg_rng_unit(&m->rng);
    if (fate < LG_HOLD_FULFIL_SHARE) {
        int64_t first[HOLD_LINES_MAX], second[HOLD_LINES_MAX];
        int split = lg_rng_chance(&m->rng, LG_HOLD_SPLIT_SHARE) && (p->nlines > 1 || p->qty[0] > 1);
        if (!split) {
            plan_follow(m, p, LG_KIND_FULFILMENT, (uint64_t)lg_rng_range(&m->rng, 1, (int64_t)fm), 0, p->nlines,
                        p->qty);
        } else {
            /* two parcels: the lines split between them, or one line's units */
            uint64_t d1 = (uint64_t)lg_rng_range(&m->rng, 1, (int64_t)half);
            uint64_t d2 = d1 + (uint64_t)lg_rng_range(&m->rng, 1, (int64_t)half);
            if (p->nlines > 1) {
                size_t k = 1 + (size_t)lg_rng_below(&m->rng, p->nlines - 1);
                plan_follow(m, p, LG_KIND_FULFILMENT, d1, 0, k, p->qty);
                plan_follow(m, p, LG_KIND_FULFILMENT, d2, k, p->nlines, p->qty);
            } else {
                first[0] = lg_rng_range(&m->rng, 1, p->qty[0] - 1);
                second[0] = p->qty[0] - first[0];
                plan_follow(m, p, LG_KIND_FULFILMENT, d1, 0, 1, first);
                plan_follow(m, p, LG_KIND_FULFILMENT, d2, 0, 1, second);
            }
        }
    } else if (fate < LG_HOLD_FULFIL_SHARE + LG_HOLD_RELEASE_SHARE) {
        plan_follow(m, p, LG_KIND_RELEASE, (uint64_t)lg_rng_range(&m->rng, 1, (int64_t)fm), 0, p->nlines, p->qty);
    }
}

/* The follow-up f of a hold: a sale carrying its reservation_id (the
 * simulated clock, like every sale) or its release (the wall clock). */
static void plan_followup(lg_model_t *m, plan_t *p, const followup_t *f) {
    p->kind = (lg_kind_t)f->kind;
    p->loc = f->loc;
    p->channel = (inv_channel_t)f->channel;
    p->nlines = f->nlines;
    for (size_t i = 0; i < f->nlines; i++) {
        p->sku[i] = f->sku[i];
        p->qty[i] = f->qty[i];
    }
    plan_reservation_id(m, p, f->hold);
    if (p->kind == LG_KIND_FULFILMENT) {
        p->source = sale_source(&m->locs[p->loc], p->channel);
        plan_ids(m, p, "T");
    } else {
        p->occurred_at_ms = hold_now_ms(m);
        p->source = p->channel == INV_CHANNEL_MARKETPLACE ? "marketplace-hub" : "web-shop";
        plan_ids(m, p, "RL");
    }
}

/* ------------------------------------------------------------ transfers */

static const char *location_source(const location_t *l) { return l->type == LOC_DC ? "wms" : l->pos_source; }

/* The k-th location (0-based) that is neither `a` nor `b`. */
static size_t other_location(const lg_model_t *m, size_t a, size_t b, size_t k) {
    for (size_t i = 0; i < m->conf.locations; i++)
        if (i != a && i != b && k-- == 0)
            return i;
    return a;
}

/* The lines of a receipt: of each line in `left`, all of it, or a part of
 * it (at least 1 unit, at most all but 1) when `part`; some arrive with
 * damaged units. What is received comes off `left`. */
static void plan_receipt_lines(lg_model_t *m, held_t *h, const plan_t *p, int64_t *left, int part) {
    h->nlines = 0;
    for (size_t i = 0; i < p->nlines; i++) {
        if (left[i] <= 0 || (part && left[i] < 2))
            continue;
        int64_t q = part ? lg_rng_range(&m->rng, 1, left[i] - 1) : left[i];
        left[i] -= q;
        h->sku[h->nlines] = p->sku[i];
        h->qty[h->nlines] = q;
        h->rejected[h->nlines++] =
            lg_rng_chance(&m->rng, LG_TRANSFER_REJECTED_SHARE) ? lg_rng_range(&m->rng, 1, q < 2 ? q : 2) : 0;
    }
}

/* A shipment from the DC (70%, with a DC) or a store to another location
 * that is not the DC: replenishment and rebalancing of the SKUs the source
 * has (at most half its on_hand of each, in the destination's case packs
 * from the DC). What becomes of it is decided now, as for a hold: its
 * receipts and cancel wait in m->held until the clock reaches them. 0, or
 * -1 when there is nothing to ship (the plan is then a sale). */
static int plan_transfer(lg_model_t *m, plan_t *p) {
    const size_t nl = m->conf.locations;
    if (nl < 2 || heap_full(&m->held, 2))
        return -1;
    size_t dc = m->locs[m->ecom[0]].type == LOC_DC ? m->ecom[0] : SIZE_MAX;
    size_t stores = nl <= 2 ? 1 : nl - 2;
    p->loc = dc != SIZE_MAX && lg_rng_chance(&m->rng, 0.7) ? dc : (size_t)lg_rng_below(&m->rng, stores);
    size_t others = nl - 1 - (dc != SIZE_MAX && p->loc != dc ? 1 : 0);
    if (others == 0)
        return -1;
    p->to = other_location(m, p->loc, dc, (size_t)lg_rng_below(&m->rng, others));
    const location_t *from = &m->locs[p->loc], *to = &m->locs[p->to];
    size_t want = 1 + (size_t)lg_rng_below(&m->rng, TRANSFER_LINES_MAX);
    uint32_t sku[TRANSFER_LINES_MAX];
    if (want > m->conf.skus)
        want = m->conf.skus;
    pick_skus(m, sku, want);
    p->nlines = 0;
    for (size_t i = 0; i < want; i++) {
        int64_t q = from->type == LOC_DC ? to->case_pack * lg_rng_range(&m->rng, 1, 2) : lg_rng_range(&m->rng, 1, 3);
        int64_t spare = pair_of(m, sku[i], p->loc)->on_hand / 2;
        if (q > spare)
            q = spare;
        if (q >= 1) {
            p->sku[p->nlines] = sku[i];
            p->qty[p->nlines++] = q;
        }
    }
    if (p->nlines == 0)
        return -1;
    p->transfer = ++m->transfer_seq;
    snprintf(p->transfer_id, sizeof(p->transfer_id), "%s-TR-%" PRIu64, m->run_id, p->transfer);
    snprintf(p->event_id, sizeof(p->event_id), "%s-TR-%" PRIu64 "-ship", m->run_id, p->transfer);
    p->source = location_source(from);

    int64_t transit = m->conf.transit_ms, left[EVENT_MAX];
    for (size_t i = 0; i < p->nlines; i++)
        left[i] = p->qty[i];
    held_t *first = &p->held[0], *second = &p->held[1];
    memset(p->held, 0, sizeof(p->held));
    first->due = p->occurred_at_ms + lg_rng_range(&m->rng, transit / 2, transit);
    second->due = first->due + lg_rng_range(&m->rng, 1, transit / 2);
    for (int k = 0; k < 2; k++) {
        p->held[k].kind = LG_KIND_RECEIVED;
        p->held[k].step = (uint8_t)(k + 1);
        p->held[k].loc = (uint32_t)p->loc;
        p->held[k].to = (uint32_t)p->to;
        p->held[k].id = p->transfer;
    }
    double fate = lg_rng_unit(&m->rng);
    if (fate < LG_TRANSFER_ONE_RECEIPT_SHARE) {
        plan_receipt_lines(m, first, p, left, 0);
    } else if (fate <
               LG_TRANSFER_ONE_RECEIPT_SHARE + LG_TRANSFER_TWO_RECEIPTS_SHARE + LG_TRANSFER_PARTIAL_CANCEL_SHARE) {
        int cancel = fate >= LG_TRANSFER_ONE_RECEIPT_SHARE + LG_TRANSFER_TWO_RECEIPTS_SHARE;
        plan_receipt_lines(m, first, p, left, 1);
        if (!cancel) {
            plan_receipt_lines(m, second, p, left, 0);
        } else {
            second->kind = LG_KIND_CANCELED;
            for (size_t i = 0; i < p->nlines; i++)
                if (left[i] > 0) { /* a cancel returns what is in transit */
                    second->sku[second->nlines] = p->sku[i];
                    second->qty[second->nlines++] = left[i];
                }
        }
        if (first->nlines == 0) { /* single units: nothing to split */
            int64_t due = first->due;
            *first = *second;
            first->due = due;
            first->step = 1;
            second->nlines = 0;
        }
    } else {
        first->kind = LG_KIND_CANCELED; /* before it arrives anywhere */
        for (size_t i = 0; i < p->nlines; i++) {
            first->sku[i] = p->sku[i];
            first->qty[i] = p->qty[i];
        }
        first->nlines = (uint8_t)p->nlines;
    }
    p->nheld = second->nlines ? 2 : 1;
    return 0;
}

/* Builds the next fresh event into m->plan: moves the clock and the
 * sequence, draws, and touches no books. */
static void plan_fresh(lg_model_t *m) {
    plan_t *p = &m->plan;
    memset(p, 0, offsetof(plan_t, sku));
    m->seq++;
    m->clock_ms += lg_rng_range(&m->rng, 0, CLOCK_STEP_MAX);
    p->occurred_at_ms = now_ms(m);
    const lg_model_conf_t *c = &m->conf;
    if (m->follow.n > 0 && heap_top(&m->follow)->due <= (int64_t)m->seq) {
        followup_t f;
        heap_pop(&m->follow, &f);
        plan_followup(m, p, &f);
        return;
    }
    double u = lg_rng_unit(&m->rng);
    if (u < c->returns_ratio) {
        p->kind = LG_KIND_RETURN;
        plan_return(m, p);
    } else if ((u -= c->returns_ratio) < c->receipts_ratio) {
        p->kind = LG_KIND_RECEIPT;
        plan_receipt(m, p);
    } else if ((u -= c->receipts_ratio) < c->adjustments_ratio) {
        p->kind = LG_KIND_ADJUSTMENT;
        plan_adjustment(m, p);
    } else if ((u -= c->adjustments_ratio) < c->counts_ratio) {
        p->kind = LG_KIND_COUNT;
        plan_count(m, p);
    } else if ((u -= c->counts_ratio) < c->reservations_ratio) {
        p->kind = LG_KIND_HOLD;
        plan_hold(m, p);
    } else if ((u -= c->reservations_ratio) < c->transfers_ratio) {
        p->kind = LG_KIND_SHIPPED;
        if (plan_transfer(m, p) != 0) {
            memset(p, 0, offsetof(plan_t, sku));
            p->occurred_at_ms = now_ms(m);
            p->kind = LG_KIND_SALE;
            plan_sale(m, p);
        }
    } else {
        p->kind = LG_KIND_SALE;
        plan_sale(m, p);
    }
}

static lg_topic_t topic_of(lg_kind_t k) {
    switch (k) {
    case LG_KIND_SALE:
    case LG_KIND_FULFILMENT: return LG_TOPIC_SALES;
    case LG_KIND_RETURN: return LG_TOPIC_RETURNS;
    case LG_KIND_HOLD:
    case LG_KIND_RELEASE: return LG_TOPIC_RESERVATIONS;
    case LG_KIND_CHANNEL: return LG_TOPIC_CHANNELS;
    case LG_KIND_SHIPPED:
    case LG_KIND_RECEIVED:
    case LG_KIND_CANCELED: return LG_TOPIC_TRANSFERS;
    default: return LG_TOPIC_RESTOCKS;
    }
}

static int is_reservation(lg_kind_t k) { return k == LG_KIND_HOLD || k == LG_KIND_RELEASE; }

static int is_transfer(lg_kind_t k) { return k == LG_KIND_SHIPPED || k == LG_KIND_RECEIVED || k == LG_KIND_CANCELED; }

/* The contract event of a plan; borrows the plan and the model's lines. */
static void event_of(lg_model_t *m, const plan_t *p, inv_event_t *ev) {
    memset(ev, 0, sizeof(*ev));
    ev->event_id = p->event_id;
    ev->source = p->source;
    ev->location_id = m->locs[p->loc].name;
    ev->occurred_at_ms = p->occurred_at_ms;
    switch (p->kind) {
    case LG_KIND_SALE:
    case LG_KIND_FULFILMENT:
        ev->kind = INV_EVENT_SALE;
        ev->channel = p->channel;
        ev->reservation_id = p->has_reservation ? p->reservation_id : NULL;
        break;
    case LG_KIND_RETURN:
        ev->kind = INV_EVENT_RETURN;
        ev->channel = p->channel;
        ev->original_event_id = p->has_original ? p->original_id : NULL;
        break;
    default:
        ev->kind = INV_EVENT_RESTOCK;
        ev->restock_kind = p->kind == LG_KIND_ADJUSTMENT ? INV_RESTOCK_ADJUSTMENT
                           : p->kind == LG_KIND_COUNT    ? INV_RESTOCK_COUNT
                                                         : INV_RESTOCK_RECEIPT;
        ev->purchase_order_id = p->has_po ? p->po_id : NULL;
        break;
    }
    for (size_t i = 0; i < p->nlines; i++) {
        m->lines[i].sku = m->sku_names[p->sku[i]];
        m->lines[i].quantity = p->qty[i];
        m->lines[i].disposition = p->kind == LG_KIND_RETURN ? p->disp[i] : INV_DISPOSITION_NONE;
        m->lines[i].rejected = p->kind == LG_KIND_RECEIVED ? p->rejected[i] : 0;
    }
    ev->lines = m->lines;
    ev->line_count = p->nlines;
}

/* The ReservationEvent of a hold or release plan; borrows like event_of. */
static void reservation_of(lg_model_t *m, const plan_t *p, inv_reservation_t *r) {
    inv_event_t ev;
    event_of(m, p, &ev); /* the lines */
    memset(r, 0, sizeof(*r));
    r->event_id = p->event_id;
    r->source = p->source;
    r->reservation_id = p->reservation_id;
    r->action = p->kind == LG_KIND_HOLD ? INV_RESERVATION_HOLD : INV_RESERVATION_RELEASE;
    r->location_id = m->locs[p->loc].name;
    r->channel = p->channel;
    r->occurred_at_ms = p->occurred_at_ms;
    r->has_expires_at = p->kind == LG_KIND_HOLD;
    r->expires_at_ms = r->has_expires_at ? p->expires_at_ms : 0;
    r->allow_partial = p->kind == LG_KIND_HOLD && p->allow_partial;
    r->lines = ev.lines;
    r->line_count = ev.line_count;
}

/* The TransferEvent of a transfer plan; borrows like event_of. */
static void transfer_of(lg_model_t *m, const plan_t *p, inv_transfer_t *tr) {
    inv_event_t ev;
    event_of(m, p, &ev); /* the lines */
    memset(tr, 0, sizeof(*tr));
    tr->event_id = p->event_id;
    tr->source = p->source;
    tr->transfer_id = p->transfer_id;
    tr->status = p->kind == LG_KIND_SHIPPED    ? INV_TRANSFER_SHIPPED
                 : p->kind == LG_KIND_RECEIVED ? INV_TRANSFER_RECEIVED
                                               : INV_TRANSFER_CANCELED;
    tr->from_location_id = m->locs[p->loc].name;
    tr->to_location_id = m->locs[p->to].name;
    tr->occurred_at_ms = p->occurred_at_ms;
    tr->lines = ev.lines;
    tr->line_count = ev.line_count;
}

/* Encodes the plan as its valid message into m->out. */
static int encode_plan(lg_model_t *m, const plan_t *p, char *errstr, size_t n) {
    char err[INV_ERRSTR_SIZE];
    int rc;
    if (is_reservation(p->kind)) {
        inv_reservation_t r;
        reservation_of(m, p, &r);
        rc = inv_encoder_encode_reservation(m->encoder, &r, &m->out, err, sizeof(err));
    } else if (is_transfer(p->kind)) {
        inv_transfer_t tr;
        transfer_of(m, p, &tr);
        rc = inv_encoder_encode_transfer(m->encoder, &tr, &m->out, err, sizeof(err));
    } else {
        inv_event_t ev;
        event_of(m, p, &ev);
        rc = inv_encoder_encode_event(m->encoder, &ev, &m->out, err, sizeof(err));
    }
    if (rc)
        return inv_errstr(errstr, n, "encoding %s %s: %s", lg_kind_name(p->kind), p->event_id, err);
    return 0;
}

/* ------------------------------------------------------------- the books */

static void touch(pair_t *q) { q->touched = 1; }

static void sold_push(location_t *l, uint32_t sku) {
    if (l->sold_len == l->sold_cap) {
        size_t cap = l->sold_cap ? l->sold_cap * 2 : 64;
        uint32_t *n = realloc(l->sold, cap * sizeof(*n));
        if (!n)
            abort();
        l->sold = n;
        l->sold_cap = cap;
    }
    l->sold[l->sold_len++] = sku;
}

static void commit(lg_model_t *m, const plan_t *p) {
    location_t *l = &m->locs[p->loc];
    for (size_t i = 0; i < p->nlines; i++) {
        pair_t *q = pair_of(m, p->sku[i], p->loc);
        switch (p->kind) {
        case LG_KIND_HOLD:
        case LG_KIND_RELEASE: /* committed only, 0 once every hold is closed */ touch(q); break;
        case LG_KIND_SALE:
        case LG_KIND_FULFILMENT:
            q->on_hand -= p->qty[i];
            if (m->demand)
                m->demand[p->sku[i] * m->conf.locations + p->loc] += p->qty[i];
            if (!q->queued) {
                q->queued = 1;
                sold_push(l, p->sku[i]);
            }
            touch(q);
            break;
        case LG_KIND_RETURN:
            if (p->disp[i] == INV_DISPOSITION_DAMAGED)
                q->unsellable += p->qty[i];
            else
                q->on_hand += p->qty[i];
            touch(q);
            break;
        case LG_KIND_COUNT:
            /* the row as of the count's time, which it carries from now
             * on (last_count_at: a row is published even when counted as
             * it was) */
            q->on_hand = p->qty[i];
            q->count_at = p->occurred_at_ms;
            touch(q);
            break;
        case LG_KIND_SHIPPED: /* in transit: in neither on_hand, on both rows */
            q->on_hand -= p->qty[i];
            touch(q);
            touch(pair_of(m, p->sku[i], p->to));
            if (!q->queued) { /* the source's next receipts replenish it */
                q->queued = 1;
                sold_push(l, p->sku[i]);
            }
            break;
        case LG_KIND_RECEIVED: {
            pair_t *d = pair_of(m, p->sku[i], p->to);
            d->on_hand += p->qty[i] - p->rejected[i];
            d->unsellable += p->rejected[i];
            touch(d);
            break;
        }
        case LG_KIND_CANCELED: /* what was in transit, back at the source */
            q->on_hand += p->qty[i];
            touch(q);
            break;
        default: /* receipts, opening, feedback, adjustments */
            q->on_hand += p->qty[i];
            touch(q);
            break;
        }
    }
    if (p->kind == LG_KIND_RECEIPT) {
        for (size_t i = 0; i < p->sold_take; i++) {
            pair_of(m, p->taken[i], p->loc)->queued = 0;
        }
        size_t keep = 0;
        for (size_t i = 0; i < l->sold_len; i++)
            if (pair_of(m, l->sold[i], p->loc)->queued)
                l->sold[keep++] = l->sold[i];
        l->sold_len = keep;
    }
    if (p->kind == LG_KIND_COUNT)
        m->floor_ms = p->occurred_at_ms + 1;
    for (size_t i = 0; i < p->nheld; i++)
        if (heap_push(&m->held, &p->held[i]) != 0)
            abort(); /* room was checked when planned */
    if (p->kind == LG_KIND_HOLD) {
        if (p->expires_at_ms > m->settled_at_ms)
            m->settled_at_ms = p->expires_at_ms;
        for (size_t i = 0; i < p->nfollow; i++)
            if (heap_push(&m->follow, &p->follow[i]) != 0)
                break;
    }
    if (p->kind == LG_KIND_SALE || p->kind == LG_KIND_FULFILMENT) {
        size_t slot = m->nsales < SALES_KEEP ? m->nsales++ : (size_t)(m->seq % SALES_KEEP);
        sale_rec_t *s = &m->sales[slot];
        s->seq = m->seq;
        s->loc = (uint32_t)p->loc;
        s->channel = (uint8_t)p->channel;
        s->nlines = (uint8_t)p->nlines;
        for (size_t i = 0; i < p->nlines; i++) {
            s->sku[i] = p->sku[i];
            s->qty[i] = (int32_t)(p->qty[i] > INT32_MAX ? INT32_MAX : p->qty[i]);
        }
    }
    if (p->kind == LG_KIND_RETURN && p->sale_slot != SIZE_MAX) /* one return per sale */
        m->sales[p->sale_slot] = m->sales[--m->nsales];
}

/* ------------------------------------------------------------ messages */

static void remember(lg_model_t *m, const lg_msg_t *msg) {
    sent_t *s = &m->sent[m->sent_next];
    m->sent_next = (m->sent_next + 1) % SENT_KEEP;
    if (m->nsent < SENT_KEEP)
        m->nsent++;
    s->topic = msg->topic;
    s->kind = msg->kind;
    s->lines = msg->lines;
    s->key.len = s->value.len = 0;
    buf_put(&s->key, msg->key, msg->key_len);
    buf_put(&s->value, msg->value, msg->value_len);
}

static void count_msg(lg_model_t *m, const lg_msg_t *msg) {
    m->stats.messages++;
    m->stats.bytes += msg->value_len;
    m->stats.by_topic[msg->topic]++;
    if (msg->duplicate) {
        m->stats.duplicates++;
    } else if (msg->bad) {
        m->stats.malformed++;
        m->stats.by_bad[msg->bad]++;
    } else {
        m->stats.events[msg->kind]++;
        m->stats.lines += msg->lines;
    }
}

/* A record of a global table (channels, policies) already encoded in
 * m->out, keyed "<a>|<b>", into *out. Returns 1 (a message). */
static int table_record(lg_model_t *m, lg_topic_t topic, lg_kind_t kind, const char *a, const char *b, lg_msg_t *out) {
    snprintf(m->key_buf, sizeof(m->key_buf), "%s|%s", a, b);
    memset(out, 0, sizeof(*out));
    out->topic = topic;
    out->kind = kind;
    out->key = m->key_buf;
    out->key_len = strlen(m->key_buf);
    out->value = m->out.data;
    out->value_len = m->out.len;
    out->bad_field = "";
    count_msg(m, out);
    return 1;
}

/* Encodes the plan as a valid message, commits it to the books and keeps it
 * for later duplicates. */
static int emit_valid(lg_model_t *m, lg_msg_t *out, char *errstr, size_t n) {
    const plan_t *p = &m->plan;
    if (encode_plan(m, p, errstr, n))
        return -1;
    memset(out, 0, sizeof(*out));
    out->topic = topic_of(p->kind);
    out->kind = p->kind;
    out->key = is_transfer(p->kind) ? p->transfer_id : p->event_id;
    out->key_len = strlen(out->key);
    out->value = m->out.data;
    out->value_len = m->out.len;
    out->lines = p->nlines;
    out->bad_field = "";
    commit(m, p);
    remember(m, out);
    count_msg(m, out);
    return 0;
}

/* The "lines" member of write_bad_json(), the defect in line `line`. */
static void write_bad_lines(inv_buf_t *b, const inv_event_t *ev, lg_bad_t bad, size_t line, const char *bad_value) {
    buf_str(b, ",\"lines\":[");
    for (size_t i = 0; i < ev->line_count; i++) {
        const inv_line_t *l = &ev->lines[i];
        buf_str(b, i ? ",{" : "{");
        int comma = 0;
        if (!(bad == LG_BAD_MISSING && line == i)) {
            buf_str(b, "\"sku\":");
            buf_json_str(b, l->sku);
            comma = 1;
        }
        buf_str(b, comma ? ",\"quantity\":" : "\"quantity\":");
        if (bad == LG_BAD_QUANTITY && line == i)
            buf_str(b, ev->kind == INV_EVENT_RESTOCK && ev->restock_kind == INV_RESTOCK_COUNT ? "-1" : "0");
        else if (bad == LG_BAD_TYPE && line == i)
            buf_printf(b, "\"%" PRId64 "\"", l->quantity);
        else
            buf_printf(b, "%" PRId64, l->quantity);
        if (ev->kind == INV_EVENT_RETURN) {
            buf_str(b, ",\"disposition\":");
            buf_json_str(b, bad == LG_BAD_ENUM && line == i ? bad_value : inv_disposition_to_string(l->disposition));
        }
        buf_str(b, "}");
    }
    buf_str(b, "]");
}

/* JSON of an event with one defect, written by hand as a broken POS
 * integration would (not by our encoder, which refuses to write them). */
static void write_bad_json(inv_buf_t *b, const inv_event_t *ev, lg_bad_t bad, size_t line, const char *bad_value) {
    char t[32];
    b->len = 0;
    buf_str(b, "{\"event_id\":");
    buf_json_str(b, ev->event_id);
    buf_str(b, ",\"source\":");
    buf_json_str(b, ev->source);
    if (!(bad == LG_BAD_MISSING && line == SIZE_MAX)) {
        buf_str(b, ",\"location_id\":");
        buf_json_str(b, ev->location_id);
    }
    if (ev->kind != INV_EVENT_RESTOCK) {
        buf_str(b, ",\"channel\":");
        buf_json_str(b, bad == LG_BAD_ENUM && line == SIZE_MAX ? bad_value : inv_channel_to_string(ev->channel));
    }
    buf_str(b, ",\"occurred_at\":");
    if (bad == LG_BAD_LOCAL_TIME) {
        inv_time_format_rfc3339(ev->occurred_at_ms, t);
        t[10] = ' '; /* "2026-11-02 08:00:00", no zone */
        t[19] = '\0';
    } else {
        inv_time_format_rfc3339(ev->occurred_at_ms, t);
    }
    buf_json_str(b, t);
    if (ev->kind == INV_EVENT_RETURN) {
        buf_str(b, ",\"original_event_id\":");
        if (ev->original_event_id)
            buf_json_str(b, ev->original_event_id);
        else
            buf_str(b, "null");
    }
    if (ev->kind == INV_EVENT_RESTOCK) {
        buf_str(b, ",\"kind\":");
        buf_json_str(b, bad == LG_BAD_ENUM ? bad_value : inv_restock_kind_to_string(ev->restock_kind));
        buf_str(b, ",\"purchase_order_id\":");
        if (ev->purchase_order_id)
            buf_json_str(b, ev->purchase_order_id);
        else
            buf_str(b, "null");
    }
    write_bad_lines(b, ev, bad, line, bad_value);
    buf_str(b, "}");
}

/* JSON of a ReservationEvent with one defect, as write_bad_json() writes an
 * event's; `ev` carries its lines as a sale's. LG_BAD_MISSING of the event's
 * own field (line SIZE_MAX) leaves out a hold's expires_at, a release's
 * location_id. */
static void write_bad_reservation_json(inv_buf_t *b, const inv_reservation_t *r, const inv_event_t *ev, lg_bad_t bad,
                                       size_t line, const char *bad_value) {
    char t[32];
    int hold = r->action == INV_RESERVATION_HOLD;
    int missing = bad == LG_BAD_MISSING && line == SIZE_MAX;
    b->len = 0;
    buf_str(b, "{\"event_id\":");
    buf_json_str(b, r->event_id);
    buf_str(b, ",\"source\":");
    buf_json_str(b, r->source);
    buf_str(b, ",\"reservation_id\":");
    buf_json_str(b, r->reservation_id);
    buf_str(b, hold ? ",\"action\":\"hold\"" : ",\"action\":\"release\"");
    if (!(missing && !hold)) {
        buf_str(b, ",\"location_id\":");
        buf_json_str(b, r->location_id);
    }
    buf_str(b, ",\"channel\":");
    buf_json_str(b, bad == LG_BAD_ENUM && line == SIZE_MAX ? bad_value : inv_channel_to_string(r->channel));
    buf_str(b, ",\"occurred_at\":");
    inv_time_format_rfc3339(r->occurred_at_ms, t);
    if (bad == LG_BAD_LOCAL_TIME) {
        t[10] = ' ';
        t[19] = '\0';
    }
    buf_json_str(b, t);
    if (hold && !missing) {
        buf_str(b, ",\"expires_at\":");
        inv_time_format_rfc3339(r->expires_at_ms, t);
        buf_json_str(b, t);
    }
    buf_str(b, r->allow_partial ? ",\"allow_partial\":true" : ",\"allow_partial\":false");
    write_bad_lines(b, ev, bad, line, bad_value);
    buf_str(b, "}");
}

/* JSON of a TransferEvent with one defect, as write_bad_json() writes an
 * event's: a line without sku or the event without to_location_id
 * (LG_BAD_MISSING), a line's quantity 0 or "2", a status no schema has,
 * occurred_at without a zone. */
static void write_bad_transfer_json(inv_buf_t *b, const inv_transfer_t *tr, lg_bad_t bad, size_t line,
                                    const char *bad_value) {
    char t[32];
    b->len = 0;
    buf_str(b, "{\"event_id\":");
    buf_json_str(b, tr->event_id);
    buf_str(b, ",\"source\":");
    buf_json_str(b, tr->source);
    buf_str(b, ",\"transfer_id\":");
    buf_json_str(b, tr->transfer_id);
    buf_str(b, ",\"status\":");
    buf_json_str(b, bad == LG_BAD_ENUM ? bad_value : inv_transfer_status_to_string(tr->status));
    buf_str(b, ",\"from_location_id\":");
    buf_json_str(b, tr->from_location_id);
    if (!(bad == LG_BAD_MISSING && line == SIZE_MAX)) {
        buf_str(b, ",\"to_location_id\":");
        buf_json_str(b, tr->to_location_id);
    }
    buf_str(b, ",\"occurred_at\":");
    inv_time_format_rfc3339(tr->occurred_at_ms, t);
    if (bad == LG_BAD_LOCAL_TIME) {
        t[10] = ' ';
        t[19] = '\0';
    }
    buf_json_str(b, t);
    buf_str(b, ",\"lines\":[");
    for (size_t i = 0; i < tr->line_count; i++) {
        const inv_line_t *l = &tr->lines[i];
        buf_str(b, i ? ",{" : "{");
        if (!(bad == LG_BAD_MISSING && line == i)) {
            buf_str(b, "\"sku\":");
            buf_json_str(b, l->sku);
            buf_str(b, ",");
        }
        if (bad == LG_BAD_QUANTITY && line == i)
            buf_str(b, "\"quantity\":0");
        else if (bad == LG_BAD_TYPE && line == i)
            buf_printf(b, "\"quantity\":\"%" PRId64 "\"", l->quantity);
        else
            buf_printf(b, "\"quantity\":%" PRId64, l->quantity);
        buf_printf(b, ",\"rejected\":%" PRId64 "}", l->rejected);
    }
    buf_str(b, "]}");
}

/* A symbol no schema has, in the enum of the event's kind; *line names the
 * line it goes in (SIZE_MAX: the event's own field). */
static const char *bad_enum_value(lg_model_t *m, const inv_event_t *ev, size_t *line) {
    static const char *channels[] = {"kiosk", "Store", "in-store", "mobile-app"};
    static const char *dispositions[] = {"refurbished", "Damaged", "open-box"};
    static const char *kinds[] = {"transfer", "Receipt", "cycle_count"};
    if (ev->kind == INV_EVENT_RESTOCK) {
        snprintf(m->bad_field, sizeof(m->bad_field), "kind");
        return kinds[lg_rng_below(&m->rng, 3)];
    }
    if (ev->kind == INV_EVENT_RETURN && lg_rng_chance(&m->rng, 0.5)) {
        snprintf(m->bad_field, sizeof(m->bad_field), "lines[%zu].disposition", *line);
        return dispositions[lg_rng_below(&m->rng, 3)];
    }
    *line = SIZE_MAX;
    snprintf(m->bad_field, sizeof(m->bad_field), "channel");
    return channels[lg_rng_below(&m->rng, 4)];
}

/* A valid Avro body under a schema id nobody registered. */
static int write_unregistered_id(lg_model_t *m, char *errstr, size_t n) {
    if (encode_plan(m, &m->plan, errstr, n))
        return -1;
    int32_t id = 1000;
    for (int again = 1; again;) {
        again = 0;
        for (int t = 0; t < INV_MSG_COUNT; t++)
            if (m->ids[t] == id)
                id++, again = 1;
    }
    m->out.data[1] = (char)((uint32_t)id >> 24);
    m->out.data[2] = (char)((uint32_t)id >> 16);
    m->out.data[3] = (char)((uint32_t)id >> 8);
    m->out.data[4] = (char)id;
    return 0;
}

/* Breaks the plan in one of the ways real integrations do. Nothing is
 * committed: the event never happened as far as stock is concerned. */
static int emit_malformed(lg_model_t *m, lg_msg_t *out, char *errstr, size_t n) {
    const plan_t *p = &m->plan;
    inv_event_t ev;
    event_of(m, p, &ev);
    /* a hold or release is written by hand too, its lines as a sale's */
    inv_reservation_t r;
    inv_transfer_t tr;
    int res = is_reservation(p->kind), trf = is_transfer(p->kind);
    if (res) {
        reservation_of(m, p, &r);
        ev.kind = INV_EVENT_SALE;
        ev.channel = p->channel;
    }
    if (trf)
        transfer_of(m, p, &tr);
#define WRITE_BAD(bad_, line_, value_)                                         \
    (trf   ? write_bad_transfer_json(&m->out, &tr, bad_, line_, value_)        \
     : res ? write_bad_reservation_json(&m->out, &r, &ev, bad_, line_, value_) \
           : write_bad_json(&m->out, &ev, bad_, line_, value_))
    int kinds = m->conf.format == INV_FORMAT_AVRO ? LG_BAD_SCHEMA_ID : LG_BAD_SCHEMA_ID - 1;
    lg_bad_t bad = (lg_bad_t)(1 + lg_rng_below(&m->rng, (uint64_t)kinds));
    size_t line = (size_t)lg_rng_below(&m->rng, p->nlines);
    const char *value = NULL;
    m->bad_field[0] = '\0';
    switch (bad) {
    case LG_BAD_TRUNCATED: {
        WRITE_BAD(LG_BAD_NONE, SIZE_MAX, NULL);
        m->out.len = 1 + (size_t)lg_rng_below(&m->rng, m->out.len - 1);
        break;
    }
    case LG_BAD_MISSING:
        if (lg_rng_chance(&m->rng, 0.5)) {
            line = SIZE_MAX; /* the event's location_id (a hold's expires_at) */
            snprintf(m->bad_field, sizeof(m->bad_field), "%s",
                     p->kind == LG_KIND_HOLD ? "expires_at"
                     : trf                   ? "to_location_id"
                                             : "location_id");
        } else {
            snprintf(m->bad_field, sizeof(m->bad_field), "lines[%zu].sku", line);
        }
        WRITE_BAD(bad, line, NULL);
        break;
    case LG_BAD_QUANTITY:
    case LG_BAD_TYPE:
        snprintf(m->bad_field, sizeof(m->bad_field), "lines[%zu].quantity", line);
        WRITE_BAD(bad, line, NULL);
        break;
    case LG_BAD_ENUM:
        if (trf) { /* a WMS status nobody mapped */
            static const char *statuses[] = {"in_transit", "Shipped", "delivered"};
            value = statuses[lg_rng_below(&m->rng, 3)];
            line = SIZE_MAX;
            snprintf(m->bad_field, sizeof(m->bad_field), "status");
        } else {
            value = bad_enum_value(m, &ev, &line);
        }
        WRITE_BAD(bad, line, value);
        break;
    case LG_BAD_LOCAL_TIME:
        snprintf(m->bad_field, sizeof(m->bad_field), "occurred_at");
        WRITE_BAD(bad, SIZE_MAX, NULL);
        break;
    default: /* LG_BAD_SCHEMA_ID */
        if (write_unregistered_id(m, errstr, n) != 0)
            return -1;
        break;
    }
#undef WRITE_BAD
    memset(out, 0, sizeof(*out));
    out->topic = topic_of(p->kind);
    out->kind = p->kind;
    out->bad = bad;
    out->key = trf ? p->transfer_id : p->event_id;
    out->key_len = strlen(out->key);
    out->value = m->out.data;
    out->value_len = m->out.len;
    out->lines = p->nlines;
    out->bad_field = m->bad_field;
    count_msg(m, out);
    return 0;
}

/* Keeps the late sale planned in m->plan (its books are those of when it
 * was made) for later. */
static void hold_back(lg_model_t *m) {
    const plan_t *p = &m->plan;
    held_t h;
    memset(&h, 0, sizeof(h));
    h.due = p->occurred_at_ms + m->conf.late_delay_ms;
    h.kind = LG_KIND_SALE;
    h.channel = (uint8_t)p->channel;
    h.nlines = (uint8_t)p->nlines;
    h.loc = (uint32_t)p->loc;
    h.id = m->seq;
    h.occurred_at_ms = p->occurred_at_ms;
    for (size_t i = 0; i < p->nlines; i++) {
        h.sku[i] = p->sku[i];
        h.qty[i] = p->qty[i];
    }
    commit(m, p);
    if (heap_push(&m->held, &h) != 0)
        abort(); /* room was checked when planned */
}

/* Sends the held-back message h: a late sale as it would have been sent
 * on time (its books were kept then), or a receipt or cancel of a
 * shipment, dated now. */
static int emit_held(lg_model_t *m, const held_t *h, lg_msg_t *out, char *errstr, size_t n) {
    plan_t *p = &m->plan;
    memset(p, 0, offsetof(plan_t, sku));
    p->kind = (lg_kind_t)h->kind;
    p->loc = h->loc;
    p->to = h->to;
    p->nlines = h->nlines;
    for (size_t i = 0; i < h->nlines; i++) {
        p->sku[i] = h->sku[i];
        p->qty[i] = h->qty[i];
        p->rejected[i] = h->rejected[i];
    }
    if (p->kind == LG_KIND_SALE) {
        p->channel = (inv_channel_t)h->channel;
        p->source = sale_source(&m->locs[p->loc], p->channel);
        p->occurred_at_ms = h->occurred_at_ms;
        snprintf(p->event_id, sizeof(p->event_id), "%s-T-%" PRIu64, m->run_id, h->id);
        if (encode_plan(m, p, errstr, n))
            return -1;
        int before_count = 0;
        for (size_t i = 0; i < p->nlines; i++)
            before_count |= pair_of(m, p->sku[i], p->loc)->count_at > p->occurred_at_ms;
        m->stats.late_sales++;
        m->stats.late_before_count += (uint64_t)before_count;
        memset(out, 0, sizeof(*out));
        out->topic = LG_TOPIC_SALES;
        out->kind = LG_KIND_SALE;
        out->key = p->event_id;
        out->key_len = strlen(p->event_id);
        out->value = m->out.data;
        out->value_len = m->out.len;
        out->lines = p->nlines;
        out->bad_field = "";
        remember(m, out);
        count_msg(m, out);
        return 0;
    }
    p->transfer = h->id;
    snprintf(p->transfer_id, sizeof(p->transfer_id), "%s-TR-%" PRIu64, m->run_id, h->id);
    if (p->kind == LG_KIND_RECEIVED)
        snprintf(p->event_id, sizeof(p->event_id), "%s-TR-%" PRIu64 "-recv-%u", m->run_id, h->id, (unsigned)h->step);
    else
        snprintf(p->event_id, sizeof(p->event_id), "%s-TR-%" PRIu64 "-cancel", m->run_id, h->id);
    p->source = location_source(&m->locs[p->kind == LG_KIND_RECEIVED ? p->to : p->loc]);
    p->occurred_at_ms = now_ms(m);
    return emit_valid(m, out, errstr, n);
}

int lg_model_next_held(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size) {
    if (m->held.n == 0)
        return 0;
    held_t h;
    heap_pop(&m->held, &h);
    return emit_held(m, &h, out, errstr, errstr_size) ? -1 : 1;
}

int lg_model_next(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size) {
    if (m->held.n > 0 && heap_top(&m->held)->due <= now_ms(m))
        return lg_model_next_held(m, out, errstr, errstr_size) == 1 ? 0 : -1;
    double u = lg_rng_unit(&m->rng);
    /* a duplicate wanted before anything was sent becomes a fresh event */
    if (u < m->conf.duplicates_ratio && m->nsent > 0) {
        const sent_t *s = &m->sent[lg_rng_below(&m->rng, m->nsent)];
        memset(out, 0, sizeof(*out));
        out->topic = s->topic;
        out->kind = s->kind;
        out->duplicate = 1;
        /* the slot is only overwritten by a later fresh event: valid until
         * the next call, as promised */
        out->key = s->key.data;
        out->key_len = s->key.len;
        out->value = s->value.data;
        out->value_len = s->value.len;
        out->lines = s->lines;
        out->bad_field = "";
        count_msg(m, out);
        return 0;
    }
    plan_fresh(m);
    if (u >= m->conf.duplicates_ratio && u < m->conf.duplicates_ratio + m->conf.malformed_ratio)
        return emit_malformed(m, out, errstr, errstr_size);
    while (m->plan.late) { /* what goes now is the next fresh event */
        hold_back(m);
        plan_fresh(m);
    }
    return emit_valid(m, out, errstr, errstr_size);
}

int lg_model_next_opening(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size) {
    if ((m->conf.opening_stock <= 0 && !m->planned) || m->opening_loc >= m->conf.locations)
        return 0;
    plan_t *p = &m->plan;
    memset(p, 0, sizeof(*p));
    p->kind = LG_KIND_OPENING;
    p->loc = m->opening_loc;
    p->source = "wms";
    p->occurred_at_ms = now_ms(m);
    while (p->nlines < EVENT_MAX && m->opening_sku < m->conf.skus) {
        const struct planned_s *pl = m->planned ? &m->planned[m->opening_sku * m->conf.locations + p->loc] : NULL;
        p->sku[p->nlines] = (uint32_t)m->opening_sku++;
        p->qty[p->nlines++] = pl ? pl->reorder_point + pl->reorder_quantity : m->conf.opening_stock;
    }
    if (m->opening_sku >= m->conf.skus) {
        m->opening_sku = 0;
        m->opening_loc++;
    }
    snprintf(p->event_id, sizeof(p->event_id), "%s-OPEN-%" PRIu64, m->run_id, ++m->opening_seq);
    if (emit_valid(m, out, errstr, errstr_size))
        return -1;
    return 1;
}

int lg_model_next_channel(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size) {
    /* online: every e-commerce location; marketplace: the DC, else the web
     * shop, 2 units held back; a lone store sells online only */
    size_t online = m->necom, i = m->channel_next;
    int has_marketplace = m->locs[m->ecom[0]].type != LOC_STORE;
    if (i >= online + (size_t)has_marketplace)
        return 0;
    inv_channel_location_t c = {
        .channel = i < online ? "online" : "marketplace",
        .location_id = m->locs[m->ecom[i < online ? i : 0]].name,
        .buffer = i < online ? 0 : 2,
    };
    char err[INV_ERRSTR_SIZE];
    if (inv_encoder_encode_channel_location(m->encoder, &c, &m->out, err, sizeof(err)))
        return inv_errstr(errstr, errstr_size, "encoding the channel map: %s", err);
    m->channel_next++;
    return table_record(m, LG_TOPIC_CHANNELS, LG_KIND_CHANNEL, c.channel, c.location_id, out);
}

int64_t lg_model_settled_at(const lg_model_t *m) { return m->settled_at_ms; }

static int64_t ceil_pos(double v) { return v <= 0 ? 0 : (int64_t)ceil(v); }

int lg_model_plan_policies(lg_model_t *m, double events_per_second, int64_t lead_time_ms, char *errstr,
                           size_t errstr_size) {
    if (!(events_per_second > 0))
        return inv_errstr(errstr, errstr_size, "--plan-policies: needs --rate > 0 (demand is planned per second)");
    if (m->seq || m->opening_seq || m->stats.messages)
        return inv_errstr(errstr, errstr_size, "--plan-policies: the plan comes before the first message");
    const size_t nl = m->conf.locations, pairs = m->conf.skus * nl;
    /* the same traffic without what does not sell: a private model whose
     * sales and fulfilments count per pair */
    lg_model_conf_t c = m->conf;
    c.duplicates_ratio = c.malformed_ratio = 0;
    c.opening_stock = 0;
    lg_model_t *sim = lg_model_new(&c, errstr, errstr_size);
    if (!sim)
        return -1;
    free(m->planned);
    sim->demand = calloc(pairs, sizeof(*sim->demand));
    m->planned = calloc(pairs, sizeof(*m->planned));
    if (!sim->demand || !m->planned) {
        lg_model_destroy(sim);
        free(m->planned);
        m->planned = NULL;
        return inv_errstr(errstr, errstr_size, "out of memory planning %zu policies", pairs);
    }
    uint64_t events = (uint64_t)pairs * 40;
    events = events < 200000 ? 200000 : events > 4000000 ? 4000000 : events;
    lg_msg_t msg;
    for (uint64_t i = 0; i < events; i++)
        if (lg_model_next(sim, &msg, errstr, errstr_size) != 0) {
            lg_model_destroy(sim);
            free(m->planned);
            m->planned = NULL;
            return -1;
        }
    /* Order point: the demand over the lead time plus a second of the
     * pipeline's own delay, plus safety stock of half that and the largest
     * single line (a b2b pallet at the DC); order quantity: the demand of
     * two lead times (at least 10 s), in case packs. */
    double secs = (double)events / events_per_second, lead = (double)lead_time_ms / 1000.0 + 1;
    for (size_t k = 0; k < pairs; k++) {
        const location_t *l = &m->locs[k % nl];
        double d = (double)sim->demand[k] / secs, dl = d * lead;
        struct planned_s *pl = &m->planned[k];
        pl->safety_stock = ceil_pos(dl / 2) + (l->type == LOC_DC ? 48 : 5);
        pl->reorder_point = ceil_pos(dl) + pl->safety_stock;
        int64_t q = ceil_pos(d * (2 * lead < 10 ? 10 : 2 * lead));
        pl->reorder_quantity = q < l->case_pack ? l->case_pack : (q + l->case_pack - 1) / l->case_pack * l->case_pack;
    }
    lg_model_destroy(sim);
    m->policy_next = 0;
    return 0;
}

int lg_model_next_policy(lg_model_t *m, lg_msg_t *out, char *errstr, size_t errstr_size) {
    const size_t nl = m->conf.locations;
    if (!m->planned || m->policy_next >= m->conf.skus * nl)
        return 0;
    size_t k = m->policy_next;
    const struct planned_s *pl = &m->planned[k];
    inv_policy_t pol = {
        .sku = m->sku_names[k / nl],
        .location_id = m->locs[k % nl].name,
        .reorder_point = pl->reorder_point,
        .reorder_quantity = pl->reorder_quantity,
        .safety_stock = pl->safety_stock,
    };
    char err[INV_ERRSTR_SIZE];
    if (inv_encoder_encode_policy(m->encoder, &pol, &m->out, err, sizeof(err)))
        return inv_errstr(errstr, errstr_size, "encoding the policy of %s|%s: %s", pol.sku, pol.location_id, err);
    m->policy_next++;
    return table_record(m, LG_TOPIC_POLICIES, LG_KIND_POLICY, pol.sku, pol.location_id, out);
}

/* FNV-1a, for ids too long to embed. */
static uint64_t fnv1a(const char *s) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

int lg_model_feedback(lg_model_t *m, const char *sku, const char *location_id, int64_t quantity, const char *po_id,
                      lg_msg_t *out, char *errstr, size_t errstr_size) {
    if (quantity <= 0)
        return inv_errstr(errstr, errstr_size, "reorder %s: quantity %" PRId64 " is not positive", po_id, quantity);
    if (!*sku || strlen(sku) > INV_CODEC_MAX_ID_LEN || !*location_id || strlen(location_id) > INV_CODEC_MAX_ID_LEN)
        return inv_errstr(errstr, errstr_size, "reorder %s: sku or location_id is empty or too long", po_id);
    char *event_id = m->fb_event_id, *po = m->fb_po_id;
    if (strlen(po_id) + 4 <= INV_CODEC_MAX_ID_LEN)
        snprintf(event_id, sizeof(m->fb_event_id), "rcv:%s", po_id);
    else
        snprintf(event_id, sizeof(m->fb_event_id), "rcv:%016" PRIx64, fnv1a(po_id));
    if (strlen(po_id) <= INV_CODEC_MAX_ID_LEN)
        snprintf(po, sizeof(m->fb_po_id), "%s", po_id);
    else
        snprintf(po, sizeof(m->fb_po_id), "PO-%016" PRIx64, fnv1a(po_id));
    inv_line_t line = {.sku = sku, .quantity = quantity, .disposition = INV_DISPOSITION_NONE};
    inv_event_t ev = {
        .kind = INV_EVENT_RESTOCK,
        .event_id = event_id,
        .source = "wms",
        .location_id = location_id,
        .occurred_at_ms = now_ms(m),
        .restock_kind = INV_RESTOCK_RECEIPT,
        .purchase_order_id = po,
        .lines = &line,
        .line_count = 1,
    };
    char err[INV_ERRSTR_SIZE];
    if (inv_encoder_encode_event(m->encoder, &ev, &m->out, err, sizeof(err)))
        return inv_errstr(errstr, errstr_size, "receipt for %s: %s", po_id, err);
    /* keep the books when the row is one of ours (counts stay realistic) */
    size_t s = 0, l;
    if (sscanf(sku, "SKU-%zu", &s) == 1 && s >= 1 && s <= m->conf.skus && strcmp(m->sku_names[s - 1], sku) == 0) {
        for (l = 0; l < m->conf.locations; l++)
            if (strcmp(m->locs[l].name, location_id) == 0) {
                pair_t *q = pair_of(m, s - 1, l);
                q->on_hand += quantity;
                touch(q);
                break;
            }
    }
    memset(out, 0, sizeof(*out));
    out->topic = LG_TOPIC_RESTOCKS;
    out->kind = LG_KIND_FEEDBACK;
    out->key = event_id;
    out->key_len = strlen(event_id);
    out->value = m->out.data;
    out->value_len = m->out.len;
    out->lines = 1;
    out->bad_field = "";
    count_msg(m, out);
    return 0;
}

const lg_stats_t *lg_model_stats(const lg_model_t *m) { return &m->stats; }

int lg_model_write_oracle(const lg_model_t *m, FILE *f, char *errstr, size_t errstr_size) {
    if (m->held.n > 0)
        return inv_errstr(errstr, errstr_size,
                          "writing the oracle: %zu late sales or transfer receipts still held back", m->held.n);
    char settled[40] = "null";
    if (m->settled_at_ms != INT64_MIN) {
        settled[0] = '"';
        inv_time_format_rfc3339(m->settled_at_ms, settled + 1);
        strcat(settled, "\"");
    }
    const lg_stats_t *st = &m->stats;
    fprintf(f,
            "{\"inv_loadgen_oracle\":1,\"seed\":%" PRIu64
            ",\"fields\":[\"on_hand\",\"unsellable\",\"available\",\"committed\",\"incoming\",\"in_transit_out\"],"
            "\"settled_at\":%s,\"counts\":%" PRIu64 ",\"transfers\":{\"shipped\":%" PRIu64 ",\"received\":%" PRIu64
            ",\"canceled\":%" PRIu64 "},\"late_sales\":%" PRIu64 ",\"late_sales_before_count\":%" PRIu64 ","
            "\"note\":\"expected final inventory.stock for the events inv-loadgen produced (duplicates and malformed "
            "excluded): one line per sku|location and per sku|* (network); on_order is not included because it "
            "depends on when inv-stock reorders; committed and available hold once inv-stock's clock has passed "
            "settled_at, the latest expires_at of the holds sent, and it has applied the expiries; on_hand is that "
            "of counts as of their time (late_sales_before_count late sales are dated before a count of their row "
            "sent before them); every transfer is received or canceled (nothing in transit)\"}\n",
            m->conf.seed, settled, st->events[LG_KIND_COUNT], st->events[LG_KIND_SHIPPED], st->events[LG_KIND_RECEIVED],
            st->events[LG_KIND_CANCELED], st->late_sales, st->late_before_count);
    size_t nl = m->conf.locations;
    for (size_t s = 0; s < m->conf.skus; s++) {
        int64_t on_hand = 0, unsellable = 0, available = 0;
        int any = 0;
        for (size_t l = 0; l < nl; l++) {
            const pair_t *q = &m->pairs[s * nl + l];
            if (!q->touched)
                continue;
            int64_t avail = q->on_hand > 0 ? q->on_hand : 0;
            fprintf(f,
                    "{\"key\":\"%s|%s\",\"on_hand\":%" PRId64 ",\"unsellable\":%" PRId64 ",\"available\":%" PRId64
                    ",\"committed\":0,\"incoming\":0,\"in_transit_out\":0}\n",
                    m->sku_names[s], m->locs[l].name, q->on_hand, q->unsellable, avail);
            on_hand += q->on_hand;
            unsellable += q->unsellable;
            available += avail;
            any = 1;
        }
        if (any)
            fprintf(f,
                    "{\"key\":\"%s|*\",\"on_hand\":%" PRId64 ",\"unsellable\":%" PRId64 ",\"available\":%" PRId64
                    ",\"committed\":0,\"incoming\":0,\"in_transit_out\":0}\n",
                    m->sku_names[s], on_hand, unsellable, available);
    }
    if (fflush(f) != 0 || ferror(f))
        return inv_errstr(errstr, errstr_size, "writing the oracle: %s", strerror(errno));
    return 0;
}

const char *lg_kind_name(lg_kind_t k) {
    static const char *names[LG_KIND_MAX] = {"sale",
                                             "return",
                                             "receipt",
                                             "adjustment",
                                             "count",
                                             "opening",
                                             "feedback",
                                             "hold",
                                             "release",
                                             "fulfilment",
                                             "channel_map",
                                             "policy",
                                             "transfer_shipped",
                                             "transfer_received",
                                             "transfer_canceled"};
    return (unsigned)k < LG_KIND_MAX ? names[k] : "?";
}

const char *lg_bad_name(lg_bad_t b) {
    static const char *names[LG_BAD_MAX] = {"none",         "truncated",  "missing_field", "bad_quantity",
                                            "unknown_enum", "wrong_type", "local_time",    "unknown_schema_id"};
    return (unsigned)b < LG_BAD_MAX ? names[b] : "?";
}
