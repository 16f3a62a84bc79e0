#include "inv_keeper_channels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_avail.h"
#include "inv_buf.h"
#include "inv_codec.h"
#include "inv_log.h"
#include "inv_model.h"

/* ---- the table: records of topic.channels into LMDB ----------------------------- */

/* A tombstone's key: channel|location_id. 0, or POLICIES_POISON with err. */
static int split_key(const rd_kafka_message_t *msg, char *key, size_t key_size, const char **loc, char *err,
                     size_t err_size) {
    size_t ch_len, loc_len;
    if (!msg->key || !msg->key_len) {
        snprintf(err, err_size, "key: missing, expected channel|location_id");
        return POLICIES_POISON;
    }
    if (msg->key_len >= key_size || memchr(msg->key, '\0', msg->key_len)) {
        snprintf(err, err_size, "key: %zu bytes%s, expected channel|location_id of at most %d", msg->key_len,
                 msg->key_len >= key_size ? "" : " with a NUL", INV_ROW_KEY_MAX);
        return POLICIES_POISON;
    }
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    if (inv_row_key_split(key, msg->key_len, &ch_len, loc, &loc_len) != 0) {
        snprintf(err, err_size, "key: no '|', expected channel|location_id");
        return POLICIES_POISON;
    }
    key[ch_len] = '\0';
    if (inv_codec_check_id("key channel", key, ch_len, 1, err, err_size) != 0 ||
        inv_codec_check_id("key location_id", *loc, loc_len, 1, err, err_size) != 0)
        return POLICIES_POISON;
    return 0;
}

/* LMDB cannot key the entry: its content is at fault, not the state dir. */
static int content_error(int rc, const char *what, char *err, size_t err_size) {
    if (rc != INV_STORE_KEY_TOO_LONG && rc != INV_STORE_KEY_COLLISION)
        return rc;
    snprintf(err, err_size, "%s: %s", what, inv_store_strerror(rc));
    return POLICIES_POISON;
}

static int apply_channel(policies_t *p, inv_store_txn_t *txn, const rd_kafka_message_t *msg, char *err,
                         size_t err_size) {
    char key[INV_ROW_KEY_MAX + 1];
    const char *loc;
    if (!msg->payload) {
        int rc = split_key(msg, key, sizeof(key), &loc, err, err_size);
        return rc ? rc : content_error(inv_store_channel_delete(txn, key, loc), "key", err, err_size);
    }
    inv_channel_location_t cl;
    int rc = inv_decoder_decode_channel_location(p->decoder, msg->payload, msg->len, &cl, err, err_size);
    if (rc == INV_DECODE_RETRY)
        return POLICIES_HOLD;
    if (rc != 0)
        return POLICIES_POISON; /* the decoder checks the buffer's range and the identifiers */
    if (strcmp(cl.location_id, "*") == 0) {
        snprintf(err, err_size, "location_id: \"*\" is not a location");
        return POLICIES_POISON;
    }
    /* Compaction keeps the last record per key: an entry under another key
     * would outlive the tombstone of its own. */
    int n = inv_row_key(key, sizeof(key), cl.channel, cl.location_id);
    if (n < 0 || (size_t)n != msg->key_len || memcmp(key, msg->key, msg->key_len) != 0) {
        snprintf(err, err_size, "key: not the record's channel|location_id (%.*s)", n < 0 ? 0 : (int)n, key);
        return POLICIES_POISON;
    }
    return content_error(inv_store_channel_put(txn, cl.channel, cl.location_id, cl.buffer), "channel and location_id",
                         err, err_size);
}

static const policies_ops_t CHANNEL_OPS = {.name = "channels",
                                           .apply = apply_channel,
                                           .offset_get = inv_store_channel_offset_get,
                                           .offset_put = inv_store_channel_offset_put,
                                           .invalid = inv_keeper_metrics_invalid_channel};

/* ---- the table in memory ----------------------------------------------------------- */

typedef struct {
    channel_entry_t *entries; /* location and channel name: offsets into names until fixed up */
    size_t len, cap;
    size_t *channel_of; /* name offset of each entry's channel */
    inv_buf_t names;
} load_t;

static size_t add_name(inv_buf_t *b, const char *s) {
    size_t at = b->len;
    inv_buf_append(b, s, strlen(s) + 1);
    return at;
}

static int load_entry(void *opaque, const char *channel, const char *location, int64_t buffer) {
    load_t *l = opaque;
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->entries = inv_xrealloc(l->entries, l->cap * sizeof(*l->entries));
        l->channel_of = inv_xrealloc(l->channel_of, l->cap * sizeof(*l->channel_of));
    }
    /* entries come in (channel, location) order: a channel's name is stored once */
    size_t ch = l->len && strcmp(l->names.data + l->channel_of[l->len - 1], channel) == 0
                    ? l->channel_of[l->len - 1]
                    : add_name(&l->names, channel);
    l->channel_of[l->len] = ch;
    l->entries[l->len++] =
        (channel_entry_t){.location = (const char *)(uintptr_t)add_name(&l->names, location), .buffer = buffer};
    return 0;
}

static int by_location_cmp(const void *a, const void *b) {
    const channel_entry_t *x = a, *y = b;
    int c = strcmp(x->location, y->location);
    return c ? c : (x->channel > y->channel) - (x->channel < y->channel);
}

static uint64_t fnv1a(uint64_t h, const void *d, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)d)[i]) * 1099511628211ULL;
    return h;
}

static void table_free(channels_t *c) {
    free(c->channels);
    free(c->by_channel);
    free(c->by_location);
    free(c->names);
    c->channels = NULL;
    c->by_channel = c->by_location = NULL;
    c->names = NULL;
    c->channel_count = c->entry_count = 0;
}

/* Rebuilds the table from LMDB; a new hash makes the partitions be
 * checked. 0, or an inv_store code (the old table stays). */
static int reload(channels_t *c) {
    load_t l = {0};
    inv_buf_init(&l.names);
    inv_store_txn_t *rt = NULL;
    int rc = inv_store_txn_begin(c->table.store, 1, &rt);
    if (!rc)
        rc = inv_store_channel_foreach(rt, load_entry, &l);
    inv_store_txn_abort(rt);
    if (rc) {
        free(l.entries);
        free(l.channel_of);
        inv_buf_free(&l.names);
        return rc;
    }
    table_free(c);
    c->names = l.names.data; /* the arena, owned from here */
    c->entry_count = l.len;
    c->by_channel = l.entries;
    c->channels = l.len ? inv_xrealloc(NULL, l.len * sizeof(*c->channels)) : NULL;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < l.len; i++) {
        channel_entry_t *e = &c->by_channel[i];
        e->location = c->names + (uintptr_t)e->location;
        if (i == 0 || l.channel_of[i] != l.channel_of[i - 1])
            c->channels[c->channel_count++] = (channel_t){.name = c->names + l.channel_of[i], .first = i};
        c->channels[c->channel_count - 1].count++;
        e->channel = (uint32_t)(c->channel_count - 1);
        const char *name = c->channels[e->channel].name;
        h = fnv1a(h, name, strlen(name) + 1);
        h = fnv1a(h, e->location, strlen(e->location) + 1);
        h = fnv1a(h, &e->buffer, sizeof(e->buffer));
    }
    free(l.channel_of);
    if (l.len) {
        c->by_location = inv_xrealloc(NULL, l.len * sizeof(*c->by_location));
        memcpy(c->by_location, c->by_channel, l.len * sizeof(*c->by_location));
        qsort(c->by_location, l.len, sizeof(*c->by_location), by_location_cmp);
    }
    /* 0 is the empty table's hash, INV_AVAIL_HASH_UNKNOWN none's */
    if (!l.len)
        h = 0;
    else if (h == 0 || h == INV_AVAIL_HASH_UNKNOWN)
        h = 1;
    if (h != c->hash) {
        inv_log_info("channels: %zu channel(s), %zu location entr%s", c->channel_count, c->entry_count,
                     c->entry_count == 1 ? "y" : "ies");
        c->hash = h;
        c->check = 1;
    }
    return 0;
}

/* The channel named `name`, or -1. */
static long find_channel(const channels_t *c, const char *name) {
    size_t lo = 0, hi = c->channel_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(c->channels[mid].name, name);
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The first by_location entry of `location`, or entry_count. */
static size_t first_of_location(const channels_t *c, const char *location) {
    size_t lo = 0, hi = c->entry_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(c->by_location[mid].location, location) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- recomputing (sku, channel) --------------------------------------------------- */

typedef struct {
    channels_t *c;
    inv_store_txn_t *txn;
    int32_t partition;
    int64_t now_ms;
    int store_err;
    char *errstr;
    size_t errstr_size;
} run_t;

static int store_failed(run_t *r, int rc, const char *what) {
    r->store_err = rc;
    snprintf(r->errstr, r->errstr_size, "channel availability: %s: LMDB: %s", what, inv_store_strerror(rc));
    return -1;
}

/* A pair the state table cannot key is left out (logged): no record can
 * ever be kept for it. 1 for such a code, else 0. */
static int unkeyable(int rc, const char *sku, const char *channel) {
    if (rc != INV_STORE_KEY_TOO_LONG && rc != INV_STORE_KEY_COLLISION)
        return 0;
    inv_log_warn("channel availability of sku %.60s in channel %.60s: %s; not produced", sku, channel,
                 inv_store_strerror(rc));
    return 1;
}

/* Produces (sku, channel)'s new state, or its tombstone (next NULL). */
static int produce(run_t *r, const char *sku, const char *channel, const inv_avail_state_t *next) {
    inv_availability_t a;
    if (next)
        a = (inv_availability_t){.sku = sku,
                                 .channel = channel,
                                 .available_to_sell = next->available_to_sell,
                                 .locations = next->locations,
                                 .updated_at_ms = next->updated_at_ms,
                                 .version = next->version};
    if (emit_availability(r->c->emit, sku, channel, next ? &a : NULL, r->errstr, r->errstr_size) != 0)
        return -1;
    inv_keeper_metrics_availability(r->c->emit->metrics);
    return 0;
}

/* Recomputes (sku, channel ch) from the SKU's rows at the channel's
 * locations (the batch's changed rows first, else LMDB) and produces it
 * when it changed. updated_at: the latest of those rows' changes, or
 * r->now_ms when sweep or when none has a row. */
static int recompute(run_t *r, const char *sku, size_t ch, int sweep) {
    channels_t *c = r->c;
    const channel_t *chan = &c->channels[ch];
    int64_t ats = 0, updated = 0;
    for (size_t i = chan->first; i < chan->first + chan->count; i++) {
        const channel_entry_t *e = &c->by_channel[i];
        dirty_key_t key = dirty_key(r->partition, sku, e->location);
        const inv_stock_row_t *d = dirty_find(&c->batch->dirty, &key);
        inv_stock_row_t row;
        if (d) {
            row = *d;
        } else {
            int rc = inv_store_stock_get(r->txn, r->partition, sku, e->location, &row);
            if (rc == INV_STORE_NOTFOUND || rc == INV_STORE_KEY_TOO_LONG || rc == INV_STORE_KEY_COLLISION)
                continue; /* no row can be there: it adds 0 */
            if (rc)
                return store_failed(r, rc, "read of a row");
        }
        ats = inv_avail_add(ats, inv_avail_share(&row, e->buffer));
        if (row.updated_at_ms > updated)
            updated = row.updated_at_ms;
    }
    inv_avail_state_t prev, next;
    int rc = inv_avail_get(r->txn, r->partition, sku, chan->name, &prev);
    if (unkeyable(rc, sku, chan->name))
        return 0;
    if (rc && rc != INV_STORE_NOTFOUND)
        return store_failed(r, rc, "read of the last emitted state");
    if (!inv_avail_next(rc ? NULL : &prev, ats, (int64_t)chan->count, sweep || !updated ? r->now_ms : updated, &next))
        return 0;
    if ((rc = inv_avail_put(r->txn, r->partition, sku, chan->name, &next)) != 0) {
        if (unkeyable(rc, sku, chan->name))
            return 0;
        return store_failed(r, rc, "write of the emitted state");
    }
    return produce(r, sku, chan->name, &next);
}

static int recompute_all(run_t *r, const char *sku, int sweep) {
    for (size_t ch = 0; ch < r->c->channel_count; ch++)
        if (recompute(r, sku, ch, sweep) != 0)
            return -1;
    return 0;
}

typedef struct {
    run_t *r;
    const char *sku;
} gone_t;

/* A record of a channel the table no longer has: its tombstone. */
static int tombstone_gone(void *opaque, const char *channel, const inv_avail_state_t *st) {
    (void)st;
    gone_t *g = opaque;
    if (find_channel(g->r->c, channel) >= 0)
        return 0;
    int rc = inv_avail_delete(g->r->txn, g->r->partition, g->sku, channel);
    if (rc && !unkeyable(rc, g->sku, channel))
        return store_failed(g->r, rc, "delete of an emitted state");
    return produce(g->r, g->sku, channel, NULL);
}

/* ---- the batch ------------------------------------------------------------------- */

/* What the batch's changed rows ask of one SKU: the channels fed by its
 * changed locations (a bit per channel), or all of them (a SKU whose
 * network row changed and that lacks a record of some channel: new SKUs). */
typedef struct {
    const char *sku; /* the dirty set's copy */
    int32_t partition;
    uint32_t hash;
    uint64_t mask;
    int all;
} sku_work_t;

/* Whether (partition, sku) lacks a record of some channel. 1, 0, or -1. */
static int lacks_a_channel(run_t *r, const char *sku) {
    channels_t *c = r->c;
    for (size_t i = 0; i < c->channel_count; i++) {
        inv_avail_state_t st;
        int rc = inv_avail_get(r->txn, r->partition, sku, c->channels[i].name, &st);
        if (rc == 0 || unkeyable(rc, sku, c->channels[i].name))
            continue;
        if (rc != INV_STORE_NOTFOUND)
            return store_failed(r, rc, "read of the last emitted state");
        return 1;
    }
    return 0;
}

static uint32_t sku_hash(int32_t partition, const char *sku) {
    uint32_t h = 2166136261u ^ (uint32_t)partition;
    for (const unsigned char *p = (const unsigned char *)sku; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* Each SKU the batch changed once, each channel of it at most once: a hot
 * SKU changed at many locations in one batch is not recomputed per row. */
static int batch_rows(run_t *r, const dirty_set_t *dirty) {
    channels_t *c = r->c;
    size_t cap = 16;
    while (cap < 2 * dirty->len)
        cap *= 2;
    sku_work_t *w = calloc(cap, sizeof(*w));
    size_t *order = malloc(dirty->len * sizeof(*order));
    size_t n = 0;
    int rc = 0;
    if (!w || !order) {
        free(w);
        free(order);
        return store_failed(r, ENOMEM, "the batch's SKUs");
    }
    for (size_t j = 0; j < dirty->len; j++) {
        const dirty_row_t *d = &dirty->rows[j];
        uint32_t h = sku_hash(d->partition, d->sku);
        size_t slot = h & (cap - 1);
        while (w[slot].sku && (w[slot].hash != h || w[slot].partition != d->partition || strcmp(w[slot].sku, d->sku)))
            slot = (slot + 1) & (cap - 1);
        sku_work_t *x = &w[slot];
        if (!x->sku) {
            *x = (sku_work_t){.sku = d->sku, .partition = d->partition, .hash = h};
            order[n++] = slot;
        }
        if (x->all)
            continue;
        if (strcmp(d->location, "*") == 0) {
            r->partition = d->partition;
            int lacks = lacks_a_channel(r, d->sku);
            if (lacks < 0) {
                rc = -1;
                break;
            }
            x->all = lacks;
            continue;
        }
        for (size_t i = first_of_location(c, d->location);
             i < c->entry_count && strcmp(c->by_location[i].location, d->location) == 0; i++)
            x->mask |= (uint64_t)1 << c->by_location[i].channel;
    }
    for (size_t k = 0; k < n && !rc; k++) {
        const sku_work_t *x = &w[order[k]];
        r->partition = x->partition;
        for (size_t ch = 0; ch < c->channel_count && !rc; ch++)
            if ((x->all || (x->mask >> ch & 1)) && recompute(r, x->sku, ch, 0) != 0)
                rc = -1;
    }
    free(w);
    free(order);
    return rc;
}

/* The same, row by row, for a table of more channels than a mask has bits:
 * the channels a changed row feeds, for its SKU; every channel for a SKU
 * without a record of each yet (its network row stands for it). */
static int batch_row(run_t *r, const dirty_row_t *d) {
    channels_t *c = r->c;
    if (strcmp(d->location, "*") == 0) {
        int lacks = lacks_a_channel(r, d->sku);
        return lacks < 0 ? -1 : lacks ? recompute_all(r, d->sku, 0) : 0;
    }
    for (size_t i = first_of_location(c, d->location);
         i < c->entry_count && strcmp(c->by_location[i].location, d->location) == 0; i++)
        if (recompute(r, d->sku, c->by_location[i].channel, 0) != 0)
            return -1;
    return 0;
}

/* ---- the sweep --------------------------------------------------------------------- */

typedef struct {
    char **skus;
    size_t len, max;
} collect_t;

static int collect_sku(void *opaque, int32_t partition, const char *sku, const char *location,
                       const inv_stock_row_t *row) {
    (void)partition, (void)location, (void)row;
    collect_t *k = opaque;
    if (k->len && strcmp(k->skus[k->len - 1], sku) == 0)
        return 0;
    if (k->len == k->max)
        return 1; /* a SKU for the next step */
    k->skus[k->len++] = strdup(sku);
    return 0;
}

/* Sweeps partition p for at most *budget SKUs (taken off it). *done: p
 * reflects the table now. 0 or -1. */
static int sweep_partition(run_t *r, size_t *budget, int *done) {
    channels_t *c = r->c;
    inv_avail_sweep_t sw;
    int rc = inv_avail_sweep_get(r->txn, r->partition, &sw);
    if (rc)
        return store_failed(r, rc, "read of the sweep's progress");
    *done = sw.done_hash == c->hash;
    if (*done || !*budget)
        return 0;
    if (sw.target_hash != c->hash) { /* a new table: from the first SKU again */
        sw.target_hash = c->hash;
        sw.cursor[0] = '\0';
    }
    collect_t k = {.skus = inv_xrealloc(NULL, *budget * sizeof(char *)), .max = *budget};
    rc = inv_store_stock_scan_after(r->txn, r->partition, sw.cursor, collect_sku, &k);
    int out = rc < 0 || rc > 1 ? store_failed(r, rc, "scan of the partition's SKUs") : 0;
    for (size_t i = 0; i < k.len && !out; i++) {
        gone_t g = {.r = r, .sku = k.skus[i]};
        if (recompute_all(r, k.skus[i], 1) != 0)
            out = -1;
        else if ((rc = inv_avail_foreach_sku(r->txn, r->partition, k.skus[i], tombstone_gone, &g)) != 0)
            out = rc == -1 ? -1 : store_failed(r, rc, "scan of the emitted states");
    }
    if (!out) {
        if (k.len < k.max) {
            sw.done_hash = c->hash;
            sw.cursor[0] = '\0';
            *done = 1;
        } else {
            snprintf(sw.cursor, sizeof(sw.cursor), "%s", k.skus[k.len - 1]);
        }
        *budget -= k.len;
        if ((rc = inv_avail_sweep_put(r->txn, r->partition, &sw)) != 0)
            out = store_failed(r, rc, "write of the sweep's progress");
    }
    for (size_t i = 0; i < k.len; i++)
        free(k.skus[i]);
    free(k.skus);
    return out;
}

/* One step of the sweep over the partitions this instance serves. */
static int sweep(run_t *r) {
    channels_t *c = r->c;
    size_t budget = CHANNELS_SWEEP_SKUS;
    int pending = 0;
    for (int p = 0; p < c->batch->part_count; p++) {
        const partition_t *pt = &c->batch->parts[p];
        if (!pt->assigned || !pt->ready)
            continue;
        r->partition = p;
        int done = 0;
        if (sweep_partition(r, &budget, &done) != 0)
            return -1;
        pending |= !done;
    }
    c->pending = pending;
    c->check = 0;
    return 0;
}

int channels_batch(channels_t *c, inv_store_txn_t *txn, int64_t now_ms, int *store_err, char *errstr,
                   size_t errstr_size) {
    *store_err = 0;
    if (!c->entry_count && !c->pending && !c->check)
        return 0; /* no table, nothing to sweep: the batch pays nothing */
    run_t r = {.c = c, .txn = txn, .now_ms = now_ms, .errstr = errstr, .errstr_size = errstr_size};
    const dirty_set_t *dirty = &c->batch->dirty;
    if (c->entry_count && c->channel_count <= 64) {
        if (batch_rows(&r, dirty) != 0) {
            *store_err = r.store_err;
            return -1;
        }
    } else {
        for (size_t j = 0; j < dirty->len && c->entry_count; j++) {
            r.partition = dirty->rows[j].partition;
            if (batch_row(&r, &dirty->rows[j]) != 0) {
                *store_err = r.store_err;
                return -1;
            }
        }
    }
    if ((c->pending || c->check) && sweep(&r) != 0) {
        *store_err = r.store_err;
        return -1;
    }
    return 0;
}

/* ---- between batches ------------------------------------------------------------- */

int channels_open(channels_t *c, const inv_kafka_settings_t *ks, const char *group_id, char *errstr,
                  size_t errstr_size) {
    c->table.ops = &CHANNEL_OPS;
    return policies_open(&c->table, ks, group_id, errstr, errstr_size);
}

int channels_read(channels_t *c, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    if (policies_read(&c->table, run, errstr, errstr_size) != 0)
        return -1;
    int rc = reload(c);
    if (rc) {
        snprintf(errstr, errstr_size, "channels: loading the table: LMDB: %s", inv_store_strerror(rc));
        return -1;
    }
    c->check = 1;
    return 0;
}

void channels_poll(channels_t *c) {
    if (policies_poll(&c->table, 0, NULL) > 0) {
        int rc = reload(c);
        if (rc)
            inv_log_warn("channels: loading the table: LMDB: %s (kept the previous one)", inv_store_strerror(rc));
    }
}

int channels_want_txn(channels_t *c) {
    if (c->check) {
        inv_store_txn_t *rt = NULL;
        int pending = 0, rc = inv_store_txn_begin(c->table.store, 1, &rt);
        for (int p = 0; !rc && p < c->batch->part_count && !pending; p++) {
            const partition_t *pt = &c->batch->parts[p];
            inv_avail_sweep_t sw;
            if (pt->assigned && pt->ready && (rc = inv_avail_sweep_get(rt, p, &sw)) == 0)
                pending = sw.done_hash != c->hash;
        }
        inv_store_txn_abort(rt);
        if (rc)
            return 0; /* checked again at the next call */
        c->pending = pending;
        c->check = 0;
    }
    return c->pending;
}

void channels_settle(channels_t *c, int committed) {
    policies_poison_settle(&c->table, committed);
    if (!committed)
        c->check = 1;
}

void channels_partition_changed(channels_t *c) { c->check = 1; }

static int restore_record(void *opaque, inv_store_txn_t *txn, int32_t p, const rd_kafka_message_t *msg) {
    channels_t *c = opaque;
    char key[INV_ROW_KEY_MAX + 1], err[INV_ERRSTR_SIZE];
    size_t sku_len, ch_len;
    const char *channel;
    if (!msg->key || !msg->key_len || msg->key_len >= sizeof(key))
        return 0;
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    if (inv_row_key_split(key, msg->key_len, &sku_len, &channel, &ch_len) != 0)
        return 0;
    key[sku_len] = '\0';
    int rc;
    if (!msg->payload) {
        rc = inv_avail_delete(txn, p, key, channel);
    } else {
        inv_availability_t a;
        if (inv_decoder_decode_availability(c->table.decoder, msg->payload, msg->len, &a, err, sizeof(err)) != 0) {
            inv_log_warn("restore: %s [%d] @%lld: skipping an undecodable AvailabilityLevel: %s",
                         rd_kafka_topic_name(msg->rkt), msg->partition, (long long)msg->offset, err);
            return 0;
        }
        inv_avail_state_t st = {.available_to_sell = a.available_to_sell,
                                .locations = a.locations,
                                .version = a.version,
                                .updated_at_ms = a.updated_at_ms};
        rc = inv_avail_put(txn, p, a.sku, a.channel, &st);
    }
    return rc == INV_STORE_KEY_TOO_LONG || rc == INV_STORE_KEY_COLLISION ? 0 : rc;
}

/* Records from elsewhere: the partition is swept against the table. */
static int restore_done(void *opaque, inv_store_txn_t *txn, int32_t p, uint64_t records) {
    channels_t *c = opaque;
    c->check = 1;
    if (!records)
        return 0; /* nothing emitted: the empty table's state */
    inv_avail_sweep_t sw = {.done_hash = INV_AVAIL_HASH_UNKNOWN};
    return inv_avail_sweep_put(txn, p, &sw);
}

inv_restore_log_t channels_restore_log(channels_t *c, const char *topic) {
    return (inv_restore_log_t){.topic = topic, .record = restore_record, .done = restore_done, .opaque = c};
}

void channels_close(channels_t *c, int timeout_ms) {
    policies_close(&c->table, timeout_ms);
    table_free(c);
}
