/* inv_holds: see inv_holds.h. */
#include "inv_holds.h"

#include "inv_bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REC_FORMAT 1
#define ID_MAX 256
/* sku \0 be64 hash */
#define KEY_MAX (ID_MAX + 1 + 8)

/* location \0 reservation_id, as the record's tail and the hash's input. */
typedef struct {
    char b[2 * ID_MAX + 2];
    size_t len;
} tail_t;

static int tail_of(const char *location, const char *rid, tail_t *t) {
    size_t ll = strlen(location), lr = strlen(rid);
    if (ll > ID_MAX || lr > ID_MAX || !ll || !lr)
        return INV_STORE_KEY_TOO_LONG;
    memcpy(t->b, location, ll + 1);
    memcpy(t->b + ll + 1, rid, lr);
    t->len = ll + 1 + lr;
    return 0;
}

/* sku \0 hash64(tail): *len bytes. */
static int line_key(unsigned char *k, size_t *len, const char *sku, const tail_t *t) {
    size_t ls = strlen(sku);
    if (!ls || ls > ID_MAX)
        return INV_STORE_KEY_TOO_LONG;
    memcpy(k, sku, ls + 1);
    inv_put_be(k + ls + 1, inv_store_hash64(t->b, t->len), 8);
    *len = ls + 1 + 8;
    return 0;
}

static void encode_fixed(unsigned char *v, const inv_rules_hold_t *h) {
    memset(v, 0, INV_HOLDS_LOG_VALUE_SIZE);
    v[0] = REC_FORMAT;
    v[1] = (unsigned char)h->channel;
    inv_put_le64(v + 8, h->requested);
    inv_put_le64(v + 16, h->held);
    inv_put_le64(v + 24, h->remaining);
    inv_put_le64(v + 32, h->expires_at_ms);
}

static int decode_fixed(const unsigned char *v, size_t n, inv_rules_hold_t *h) {
    if (n < INV_HOLDS_LOG_VALUE_SIZE || v[0] != REC_FORMAT)
        return INV_STORE_FORMAT;
    *h = (inv_rules_hold_t){
        .channel = (inv_channel_t)v[1],
        .requested = inv_get_le64(v + 8),
        .held = inv_get_le64(v + 16),
        .remaining = inv_get_le64(v + 24),
        .expires_at_ms = inv_get_le64(v + 32),
    };
    return 0;
}

static void expiry_key(unsigned char *k, size_t *len, int64_t expires_at_ms, const unsigned char *lk, size_t lk_len) {
    inv_put_be(k, (uint64_t)expires_at_ms ^ ((uint64_t)1 << 63), 8); /* signed times sort as unsigned */
    memcpy(k + 8, lk, lk_len);
    *len = 8 + lk_len;
}

int inv_holds_get(inv_store_txn_t *txn, int32_t p, const char *sku, const char *location, const char *reservation_id,
                  inv_rules_hold_t *h) {
    if (!sku || !location || !reservation_id || !h)
        return EINVAL;
    *h = (inv_rules_hold_t){0};
    tail_t t;
    unsigned char k[KEY_MAX];
    size_t klen, n;
    int rc = tail_of(location, reservation_id, &t);
    if (rc || (rc = line_key(k, &klen, sku, &t)))
        return rc;
    unsigned char v[INV_HOLDS_LOG_VALUE_SIZE + sizeof t.b];
    rc = inv_store_state_get(txn, p, INV_HOLDS_KIND, k, klen, v, sizeof v, &n);
    if (rc == INV_STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (n != INV_HOLDS_LOG_VALUE_SIZE + t.len || memcmp(v + INV_HOLDS_LOG_VALUE_SIZE, t.b, t.len) != 0)
        return n > INV_HOLDS_LOG_VALUE_SIZE ? INV_STORE_KEY_COLLISION : INV_STORE_FORMAT;
    return decode_fixed(v, n, h);
}

int inv_holds_put(inv_store_txn_t *txn, int32_t p, const char *sku, const char *location, const char *reservation_id,
                  const inv_rules_hold_t *before, const inv_rules_hold_t *after) {
    if (!sku || !location || !reservation_id || !before || !after)
        return EINVAL;
    tail_t t;
    unsigned char k[KEY_MAX], xk[8 + KEY_MAX];
    size_t klen, xlen;
    int rc = tail_of(location, reservation_id, &t);
    if (rc || (rc = line_key(k, &klen, sku, &t)))
        return rc;
    int was_open = before->remaining > 0, open = after->remaining > 0;
    if (was_open && (!open || before->expires_at_ms != after->expires_at_ms)) {
        expiry_key(xk, &xlen, before->expires_at_ms, k, klen);
        if ((rc = inv_store_state_delete(txn, p, INV_HOLDS_EXPIRY_KIND, xk, xlen)))
            return rc;
    }
    if (!open)
        return inv_store_state_delete(txn, p, INV_HOLDS_KIND, k, klen);
    if (!was_open) { /* a new line: refuse one whose hash another line holds */
        unsigned char cur[INV_HOLDS_LOG_VALUE_SIZE + sizeof t.b];
        size_t n;
        rc = inv_store_state_get(txn, p, INV_HOLDS_KIND, k, klen, cur, sizeof cur, &n);
        if (rc == 0 || rc == INV_STORE_FORMAT)
            return INV_STORE_KEY_COLLISION;
        if (rc != INV_STORE_NOTFOUND)
            return rc;
    }
    unsigned char v[INV_HOLDS_LOG_VALUE_SIZE + sizeof t.b];
    encode_fixed(v, after);
    memcpy(v + INV_HOLDS_LOG_VALUE_SIZE, t.b, t.len);
    if ((rc = inv_store_state_put(txn, p, INV_HOLDS_KIND, k, klen, v, INV_HOLDS_LOG_VALUE_SIZE + t.len)))
        return rc;
    if (!was_open || before->expires_at_ms != after->expires_at_ms) {
        expiry_key(xk, &xlen, after->expires_at_ms, k, klen);
        rc = inv_store_state_put(txn, p, INV_HOLDS_EXPIRY_KIND, xk, xlen, "", 0);
    }
    return rc;
}

/* A line record (key k of klen, value v of n) to the callback. */
static int visit_line(const unsigned char *k, size_t klen, const unsigned char *v, size_t n, inv_holds_cb cb,
                      void *opaque) {
    inv_rules_hold_t h;
    const unsigned char *z = memchr(k, 0, klen);
    if (!z || (size_t)(k + klen - z) != 9 || decode_fixed(v, n, &h) != 0)
        return INV_STORE_FORMAT;
    char sku[ID_MAX + 1], tail[2 * ID_MAX + 2];
    size_t ls = (size_t)(z - k), lt = n - INV_HOLDS_LOG_VALUE_SIZE;
    if (ls > ID_MAX || lt >= sizeof tail)
        return INV_STORE_FORMAT;
    memcpy(sku, k, ls);
    sku[ls] = '\0';
    memcpy(tail, v + INV_HOLDS_LOG_VALUE_SIZE, lt);
    tail[lt] = '\0';
    const char *rid = memchr(tail, 0, lt);
    if (!rid)
        return INV_STORE_FORMAT;
    return cb(opaque, sku, tail, rid + 1, &h);
}

typedef struct {
    inv_store_txn_t *txn;
    int32_t p;
    int64_t now_ms;
    size_t max, seen;
    inv_holds_cb cb;
    void *opaque;
} due_t;

static int due_each(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    (void)val, (void)val_len;
    due_t *d = opaque;
    if (len < 8 + 10)
        return INV_STORE_FORMAT;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | key[i];
    if ((int64_t)(u ^ ((uint64_t)1 << 63)) > d->now_ms)
        return 1; /* the rest expire later */
    if (d->max && d->seen >= d->max)
        return 1;
    d->seen++;
    unsigned char v[INV_HOLDS_LOG_VALUE_SIZE + 2 * ID_MAX + 2];
    size_t n;
    int rc = inv_store_state_get(d->txn, d->p, INV_HOLDS_KIND, key + 8, len - 8, v, sizeof v, &n);
    if (rc)
        return rc;
    rc = visit_line(key + 8, len - 8, v, n, d->cb, d->opaque);
    return rc == 1 ? 2 : rc; /* keep the callback's 1 apart from "stop here" */
}

int inv_holds_due(inv_store_txn_t *txn, int32_t p, int64_t now_ms, size_t max, inv_holds_cb cb, void *opaque) {
    if (!cb)
        return EINVAL;
    due_t d = {txn, p, now_ms, max, 0, cb, opaque};
    int rc = inv_store_state_scan(txn, p, INV_HOLDS_EXPIRY_KIND, NULL, 0, due_each, &d);
    return rc == 1 ? 0 : rc == 2 ? 1 : rc;
}

typedef struct {
    inv_holds_cb cb;
    void *opaque;
} each_t;

static int line_each(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    each_t *e = opaque;
    return visit_line(key, len, val, val_len, e->cb, e->opaque);
}

int inv_holds_foreach(inv_store_txn_t *txn, int32_t p, const char *sku, inv_holds_cb cb, void *opaque) {
    if (!cb)
        return EINVAL;
    each_t e = {cb, opaque};
    size_t ls = sku ? strlen(sku) : 0;
    if (ls > ID_MAX)
        return INV_STORE_KEY_TOO_LONG;
    return inv_store_state_scan(txn, p, INV_HOLDS_KIND, sku, sku ? ls + 1 : 0, line_each, &e);
}

size_t inv_holds_log_key(char *buf, size_t cap, const char *sku, const char *location, const char *reservation_id) {
    size_t ls = strlen(sku), ll = strlen(location), lr = strlen(reservation_id);
    size_t n = 1 + ls + 1 + ll + 1 + lr;
    if (n > cap)
        return 0;
    char *p = buf;
    *p++ = INV_HOLDS_KIND;
    memcpy(p, sku, ls + 1);
    p += ls + 1;
    memcpy(p, location, ll + 1);
    p += ll + 1;
    memcpy(p, reservation_id, lr);
    return n;
}

void inv_holds_log_value(unsigned char out[INV_HOLDS_LOG_VALUE_SIZE], const inv_rules_hold_t *h) {
    encode_fixed(out, h);
}

int inv_holds_log_apply(inv_store_txn_t *txn, int32_t p, const void *key, size_t key_len, const void *val,
                        size_t val_len) {
    const char *k = key;
    if (!k || key_len < 6 || k[0] != INV_HOLDS_KIND || key_len > INV_HOLDS_LOG_KEY_MAX)
        return INV_STORE_FORMAT;
    char ids[INV_HOLDS_LOG_KEY_MAX + 1];
    memcpy(ids, k + 1, key_len - 1);
    ids[key_len - 1] = '\0';
    const char *sku = ids, *loc = memchr(ids, 0, key_len - 1);
    if (!loc)
        return INV_STORE_FORMAT;
    loc++;
    const char *rid = memchr(loc, 0, (size_t)(ids + key_len - 1 - loc));
    if (!rid)
        return INV_STORE_FORMAT;
    rid++;
    inv_rules_hold_t before, after = {0};
    int rc = inv_holds_get(txn, p, sku, loc, rid, &before);
    if (rc)
        return rc;
    if (val && (val_len != INV_HOLDS_LOG_VALUE_SIZE || (rc = decode_fixed(val, val_len, &after))))
        return INV_STORE_FORMAT;
    return inv_holds_put(txn, p, sku, loc, rid, &before, &after);
}
