/* inv_counts: see inv_counts.h. */
#include "inv_counts.h"

#include <string.h>

#include "inv_bytes.h"

#define KEY_SIZE 24

uint64_t inv_counts_row(const char *sku, const char *location) {
    char buf[2 * 1024 + 2];
    size_t a = strlen(sku), b = strlen(location);
    if (a + b + 1 > sizeof buf) { /* beyond the contract's bounds: hash in two steps */
        uint64_t h[2] = {inv_store_hash64(sku, a), inv_store_hash64(location, b)};
        return inv_store_hash64(h, sizeof h);
    }
    memcpy(buf, sku, a);
    buf[a] = '\0';
    memcpy(buf + a + 1, location, b);
    return inv_store_hash64(buf, a + 1 + b);
}

static void make_key(unsigned char k[KEY_SIZE], uint64_t row, int64_t at_ms, uint64_t uniq) {
    inv_put_be(k, row, 8);
    inv_put_be(k + 8, (uint64_t)at_ms ^ (UINT64_C(1) << 63), 8);
    inv_put_be(k + 16, uniq, 8);
}

static int64_t key_at(const unsigned char *k) { return (int64_t)(inv_get_be(k + 8, 8) ^ (UINT64_C(1) << 63)); }

typedef struct {
    inv_store_txn_t *txn;
    int32_t p;
    int64_t at_ms;  /* later: the count's time; prune: the bound */
    int64_t net;    /* later */
    int has_newest; /* later */
    int64_t newest; /* later */
    size_t max;     /* prune: most records to delete (0: all) */
    size_t deleted; /* prune */
} walk_t;

static int later_cb(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    walk_t *w = opaque;
    if (len != KEY_SIZE || val_len != 8)
        return INV_STORE_FORMAT;
    int64_t at = key_at(key), d = inv_get_le64((const unsigned char *)val);
    if (at > w->at_ms && __builtin_add_overflow(w->net, d, &w->net))
        return INV_STORE_FORMAT;
    w->has_newest = 1;
    w->newest = at; /* key order: the last one seen is the newest */
    return 0;
}

int inv_counts_later(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, int64_t *net, int *has_newest,
                     int64_t *newest_ms) {
    unsigned char prefix[8];
    inv_put_be(prefix, row, 8);
    walk_t w = {.txn = txn, .p = p, .at_ms = at_ms};
    int rc = inv_store_state_scan(txn, p, INV_COUNTS_KIND, prefix, sizeof prefix, later_cb, &w);
    if (rc)
        return rc;
    *net = w.net;
    *has_newest = w.has_newest;
    *newest_ms = w.newest;
    return 0;
}

/* Deletes records placed at or before w->at_ms, oldest first; stops at
 * the first later one (1) or after w->max deletions (1). */
static int prune_cb(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    (void)val;
    (void)val_len;
    walk_t *w = opaque;
    if (len != KEY_SIZE)
        return INV_STORE_FORMAT;
    if (key_at(key) > w->at_ms)
        return 1;
    int rc = inv_store_state_delete(w->txn, w->p, INV_COUNTS_KIND, key, len);
    if (rc)
        return rc;
    w->deleted++;
    return w->max && w->deleted >= w->max ? 1 : 0;
}

static int prune(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, size_t max) {
    unsigned char prefix[8];
    inv_put_be(prefix, row, 8);
    walk_t w = {.txn = txn, .p = p, .at_ms = at_ms, .max = max};
    int rc = inv_store_state_scan(txn, p, INV_COUNTS_KIND, prefix, sizeof prefix, prune_cb, &w);
    return rc == 1 ? 0 : rc;
}

int inv_counts_prune_through(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms) {
    return prune(txn, p, row, at_ms, 0);
}

int inv_counts_add(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, uint64_t uniq, int64_t delta) {
    unsigned char k[KEY_SIZE], v[8];
    make_key(k, row, at_ms, uniq);
    inv_put_le64(v, delta);
    return inv_store_state_put(txn, p, INV_COUNTS_KIND, k, sizeof k, v, sizeof v);
}

typedef struct {
    inv_store_txn_t *txn;
    int32_t p;
    int64_t window_ms;
    inv_counts_sweep_t *sw;
    size_t max, visited, dropped;
} sweep_t;

#define SWEEP_STOP 1

static int sweep_cb(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    (void)val;
    (void)val_len;
    sweep_t *s = opaque;
    inv_counts_sweep_t *sw = s->sw;
    if (len != KEY_SIZE)
        return INV_STORE_FORMAT;
    if (s->visited++ >= s->max) { /* resume here next time */
        memcpy(sw->key, key, KEY_SIZE);
        sw->len = KEY_SIZE;
        return SWEEP_STOP;
    }
    uint64_t row = inv_get_be(key, 8);
    if (!sw->has_row || sw->row != row) { /* a new row: its newest change */
        unsigned char last[KEY_SIZE];
        size_t n;
        int rc = inv_store_state_last(s->txn, s->p, INV_COUNTS_KIND, key, 8, last, sizeof last, &n);
        if (rc)
            return rc;
        if (n != KEY_SIZE)
            return INV_STORE_FORMAT;
        int64_t newest = key_at(last);
        sw->row = row;
        sw->has_row = 1;
        sw->bound = __builtin_sub_overflow(newest, s->window_ms, &sw->bound) ? INT64_MIN : sw->bound;
    }
    if (key_at(key) >= sw->bound)
        return 0;
    int rc = inv_store_state_delete(s->txn, s->p, INV_COUNTS_KIND, key, len);
    s->dropped += rc == 0;
    return rc;
}

int inv_counts_sweep(inv_store_txn_t *txn, int32_t p, int64_t window_ms, inv_counts_sweep_t *sw, size_t max,
                     size_t *dropped) {
    sweep_t s = {.txn = txn, .p = p, .window_ms = window_ms, .sw = sw, .max = max};
    int rc = inv_store_state_scan_from(txn, p, INV_COUNTS_KIND, sw->key, sw->len, sweep_cb, &s);
    if (rc == 0) /* the end: from the start next time */
        *sw = (inv_counts_sweep_t){0};
    if (dropped)
        *dropped = s.dropped;
    return rc == SWEEP_STOP ? 0 : rc;
}

int inv_counts_replay(inv_store_txn_t *txn, int32_t p, const void *id, size_t id_len,
                      const inv_store_dedup_history_t *h) {
    switch (h->kind) {
    case 0: return 0;
    case 1: return inv_counts_add(txn, p, h->row, h->at_ms, inv_store_hash64(id, id_len), h->delta);
    case 2: return inv_counts_prune_through(txn, p, h->row, h->at_ms);
    }
    return INV_STORE_FORMAT;
}

static int size_cb(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    (void)key;
    (void)val;
    uint64_t *acc = opaque;
    acc[0]++;
    acc[1] += len + 5 + val_len; /* the stored key holds the partition and the kind too */
    return 0;
}

int inv_counts_size(inv_store_txn_t *txn, int32_t p, uint64_t *records, uint64_t *bytes) {
    uint64_t acc[2] = {0, 0};
    int rc = inv_store_state_scan(txn, p, INV_COUNTS_KIND, NULL, 0, size_cb, acc);
    *records = acc[0];
    *bytes = acc[1];
    return rc;
}
