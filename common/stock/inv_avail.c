/* inv_avail: channel availability; see inv_avail.h. */
#include "inv_avail.h"

#include "inv_bytes.h"

#include <errno.h>
#include <string.h>

/* A state record: a format byte, 7 reserved, then four little-endian
 * int64s (available_to_sell, locations, version, updated_at_ms). */
#define RECORD_FORMAT 1
#define RECORD_SIZE (8 + 4 * 8)
#define SWEEP_FIXED 16
/* inv_store_state_*: keys of at most INV_STORE_MAX_KEY - 5 bytes. */
#define KEY_BUDGET (INV_STORE_MAX_KEY - 5)

int64_t inv_avail_share(const inv_stock_row_t *row, int64_t buffer) {
    if (!row)
        return 0;
    /* __int128 keeps absurd values (oversold rows, huge buffers) exact */
    __int128 v = (__int128)row->on_hand - row->committed - buffer;
    if (v <= 0)
        return 0;
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

int64_t inv_avail_add(int64_t sum, int64_t share) { return share > INT64_MAX - sum ? INT64_MAX : sum + share; }

int inv_avail_next(const inv_avail_state_t *prev, int64_t available_to_sell, int64_t locations, int64_t updated_at_ms,
                   inv_avail_state_t *next) {
    if (prev && prev->available_to_sell == available_to_sell && prev->locations == locations) {
        *next = *prev;
        return 0;
    }
    *next = (inv_avail_state_t){.available_to_sell = available_to_sell,
                                .locations = locations,
                                .version = prev ? prev->version + 1 : 1,
                                .updated_at_ms = updated_at_ms};
    return 1;
}

/* The key of (sku, channel); *long_form when the channel is cut and hashed. */
static int make_key(const char *sku, const char *channel, unsigned char *key, size_t *len, int *long_form) {
    size_t ls = strlen(sku), lc = strlen(channel);
    if (!ls || !lc)
        return EINVAL;
    *long_form = 0;
    if (ls + 1 + lc <= KEY_BUDGET) {
        memcpy(key, sku, ls + 1);
        memcpy(key + ls + 1, channel, lc);
        *len = ls + 1 + lc;
        return 0;
    }
    if (ls + 1 + 1 + 8 > KEY_BUDGET)
        return INV_STORE_KEY_TOO_LONG;
    size_t keep = KEY_BUDGET - ls - 1 - 1 - 8;
    memcpy(key, sku, ls + 1);
    memcpy(key + ls + 1, channel, keep);
    key[ls + 1 + keep] = '\0';
    uint64_t h = inv_store_hash64(channel, lc);
    for (int i = 0; i < 8; i++)
        key[ls + 2 + keep + i] = (unsigned char)(h >> (56 - 8 * i));
    *len = KEY_BUDGET;
    *long_form = 1;
    return 0;
}

static int decode(const unsigned char *v, size_t n, inv_avail_state_t *st) {
    if (n < RECORD_SIZE || v[0] != RECORD_FORMAT)
        return INV_STORE_FORMAT;
    st->available_to_sell = inv_get_le64(v + 8);
    st->locations = inv_get_le64(v + 16);
    st->version = inv_get_le64(v + 24);
    st->updated_at_ms = inv_get_le64(v + 32);
    return 0;
}

int inv_avail_get(inv_store_txn_t *txn, int32_t p, const char *sku, const char *channel, inv_avail_state_t *st) {
    unsigned char key[KEY_BUDGET], val[RECORD_SIZE + INV_STORE_MAX_LONG_PART];
    size_t len, n;
    int lf;
    if (!sku || !channel || !st)
        return EINVAL;
    int rc = make_key(sku, channel, key, &len, &lf);
    if (!rc)
        rc = inv_store_state_get(txn, p, INV_AVAIL_KIND, key, len, val, sizeof val, &n);
    if (rc)
        return rc;
    if (lf && (n != RECORD_SIZE + strlen(channel) || memcmp(val + RECORD_SIZE, channel, n - RECORD_SIZE) != 0))
        return INV_STORE_KEY_COLLISION;
    if (!lf && n != RECORD_SIZE)
        return INV_STORE_FORMAT;
    return decode(val, n, st);
}

int inv_avail_put(inv_store_txn_t *txn, int32_t p, const char *sku, const char *channel, const inv_avail_state_t *st) {
    unsigned char key[KEY_BUDGET], val[RECORD_SIZE + INV_STORE_MAX_LONG_PART] = {RECORD_FORMAT};
    size_t len, lc = channel ? strlen(channel) : 0;
    int lf;
    if (!sku || !channel || !st)
        return EINVAL;
    int rc = make_key(sku, channel, key, &len, &lf);
    if (rc)
        return rc;
    if (lf) {
        inv_avail_state_t cur;
        rc = inv_avail_get(txn, p, sku, channel, &cur);
        if (rc && rc != INV_STORE_NOTFOUND)
            return rc;
        if (lc > INV_STORE_MAX_LONG_PART)
            return INV_STORE_KEY_TOO_LONG;
        memcpy(val + RECORD_SIZE, channel, lc);
    }
    inv_put_le64(val + 8, st->available_to_sell);
    inv_put_le64(val + 16, st->locations);
    inv_put_le64(val + 24, st->version);
    inv_put_le64(val + 32, st->updated_at_ms);
    return inv_store_state_put(txn, p, INV_AVAIL_KIND, key, len, val, RECORD_SIZE + (lf ? lc : 0));
}

int inv_avail_delete(inv_store_txn_t *txn, int32_t p, const char *sku, const char *channel) {
    unsigned char key[KEY_BUDGET];
    size_t len;
    int lf;
    if (!sku || !channel)
        return EINVAL;
    int rc = make_key(sku, channel, key, &len, &lf);
    if (rc)
        return rc;
    if (lf) {
        inv_avail_state_t cur;
        rc = inv_avail_get(txn, p, sku, channel, &cur);
        if (rc)
            return rc == INV_STORE_NOTFOUND || rc == INV_STORE_KEY_COLLISION ? 0 : rc;
    }
    return inv_store_state_delete(txn, p, INV_AVAIL_KIND, key, len);
}

typedef struct {
    size_t sku_len;
    inv_avail_cb cb;
    void *opaque;
} each_t;

static int each(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    each_t *e = opaque;
    char channel[INV_STORE_MAX_LONG_PART + 1];
    const unsigned char *c = key + e->sku_len + 1;
    size_t n = len - e->sku_len - 1;
    inv_avail_state_t st;
    int rc = decode(val, val_len, &st);
    if (rc)
        return rc;
    if (memchr(c, '\0', n)) { /* the long form: the channel is in the record */
        n = val_len - RECORD_SIZE;
        c = (const unsigned char *)val + RECORD_SIZE;
    } else if (val_len != RECORD_SIZE) {
        return INV_STORE_FORMAT;
    }
    if (n > INV_STORE_MAX_LONG_PART)
        return INV_STORE_FORMAT;
    memcpy(channel, c, n);
    channel[n] = '\0';
    return e->cb(e->opaque, channel, &st);
}

int inv_avail_foreach_sku(inv_store_txn_t *txn, int32_t p, const char *sku, inv_avail_cb cb, void *opaque) {
    if (!sku || !*sku || !cb)
        return EINVAL;
    size_t ls = strlen(sku);
    if (ls + 1 > KEY_BUDGET)
        return INV_STORE_KEY_TOO_LONG;
    each_t e = {.sku_len = ls, .cb = cb, .opaque = opaque};
    return inv_store_state_scan(txn, p, INV_AVAIL_KIND, sku, ls + 1, each, &e);
}

static const unsigned char SWEEP_KEY[1] = {0};

int inv_avail_sweep_get(inv_store_txn_t *txn, int32_t p, inv_avail_sweep_t *sw) {
    unsigned char val[SWEEP_FIXED + INV_AVAIL_CURSOR_MAX];
    size_t n;
    if (!sw)
        return EINVAL;
    memset(sw, 0, sizeof(*sw));
    int rc = inv_store_state_get(txn, p, INV_AVAIL_KIND, SWEEP_KEY, 1, val, sizeof val, &n);
    if (rc == INV_STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (n < SWEEP_FIXED)
        return INV_STORE_FORMAT;
    sw->done_hash = (uint64_t)inv_get_le64(val);
    sw->target_hash = (uint64_t)inv_get_le64(val + 8);
    memcpy(sw->cursor, val + SWEEP_FIXED, n - SWEEP_FIXED);
    sw->cursor[n - SWEEP_FIXED] = '\0';
    return 0;
}

int inv_avail_sweep_put(inv_store_txn_t *txn, int32_t p, const inv_avail_sweep_t *sw) {
    unsigned char val[SWEEP_FIXED + INV_AVAIL_CURSOR_MAX];
    size_t n = sw ? strnlen(sw->cursor, sizeof sw->cursor) : 0;
    if (!sw || n > INV_AVAIL_CURSOR_MAX)
        return EINVAL;
    inv_put_le64(val, (int64_t)sw->done_hash);
    inv_put_le64(val + 8, (int64_t)sw->target_hash);
    memcpy(val + SWEEP_FIXED, sw->cursor, n);
    return inv_store_state_put(txn, p, INV_AVAIL_KIND, SWEEP_KEY, 1, val, SWEEP_FIXED + n);
}

typedef struct {
    inv_avail_all_cb cb;
    void *opaque;
    const char *sku; /* of the record being visited */
} all_t;

static int all_one(void *opaque, const char *channel, const inv_avail_state_t *st) {
    all_t *a = opaque;
    return a->cb(a->opaque, a->sku, channel, st);
}

static int all_each(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    all_t *a = opaque;
    const unsigned char *z = memchr(key, '\0', len);
    if (!z || z == key)
        return 0; /* the sweep's progress (key "\0"), not a state */
    char sku[KEY_BUDGET + 1];
    size_t ls = (size_t)(z - key);
    memcpy(sku, key, ls);
    sku[ls] = '\0';
    a->sku = sku;
    each_t e = {.sku_len = ls, .cb = all_one, .opaque = a};
    return each(&e, key, len, val, val_len);
}

int inv_avail_foreach(inv_store_txn_t *txn, int32_t p, inv_avail_all_cb cb, void *opaque) {
    if (!cb)
        return EINVAL;
    all_t a = {.cb = cb, .opaque = opaque};
    return inv_store_state_scan(txn, p, INV_AVAIL_KIND, NULL, 0, all_each, &a);
}
