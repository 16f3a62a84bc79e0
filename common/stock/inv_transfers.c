/* inv_transfers: see inv_transfers.h. */
#include "inv_transfers.h"

#include "inv_bytes.h"

#include <errno.h>
#include <string.h>

#define REC_FORMAT 1
#define ID_MAX 256
#define KEY_MAX (ID_MAX + 1 + 8) /* sku \0 be64 hash */

static int line_key(unsigned char *k, size_t *len, const char *sku, const char *tid) {
    size_t ls = strlen(sku), lt = strlen(tid);
    if (!ls || ls > ID_MAX || !lt || lt > ID_MAX)
        return INV_STORE_KEY_TOO_LONG;
    memcpy(k, sku, ls + 1);
    inv_put_be(k + ls + 1, inv_store_hash64(tid, lt), 8);
    *len = ls + 1 + 8;
    return 0;
}

void inv_transfers_log_value(unsigned char v[INV_TRANSFERS_LOG_VALUE_SIZE], const inv_rules_transfer_t *t) {
    memset(v, 0, INV_TRANSFERS_LOG_VALUE_SIZE);
    v[0] = REC_FORMAT;
    inv_put_le64(v + 8, t->shipped);
    inv_put_le64(v + 16, t->received);
    inv_put_le64(v + 24, t->canceled);
}

static int decode_fixed(const unsigned char *v, size_t n, inv_rules_transfer_t *t) {
    if (n < INV_TRANSFERS_LOG_VALUE_SIZE || v[0] != REC_FORMAT)
        return INV_STORE_FORMAT;
    *t = (inv_rules_transfer_t){
        .shipped = inv_get_le64(v + 8),
        .received = inv_get_le64(v + 16),
        .canceled = inv_get_le64(v + 24),
    };
    return 0;
}

int inv_transfers_open(const inv_rules_transfer_t *t) {
    return t->shipped == 0 ? t->received != 0 || t->canceled != 0 : inv_rules_in_transit(t) > 0;
}

/* The record under key k into v (*n bytes): 0 when it is tid's line,
 * INV_STORE_NOTFOUND when there is none, INV_STORE_KEY_COLLISION when
 * another transfer's line holds the key. */
static int read_line(inv_store_txn_t *txn, int32_t p, const unsigned char *k, size_t klen, const char *tid,
                     unsigned char *v, size_t cap, size_t *n) {
    size_t lt = strlen(tid);
    int rc = inv_store_state_get(txn, p, INV_TRANSFERS_KIND, k, klen, v, cap, n);
    if (rc == INV_STORE_FORMAT)
        return INV_STORE_KEY_COLLISION; /* longer than any line of an id within bounds */
    if (rc)
        return rc;
    if (*n != INV_TRANSFERS_LOG_VALUE_SIZE + lt || memcmp(v + INV_TRANSFERS_LOG_VALUE_SIZE, tid, lt) != 0)
        return *n > INV_TRANSFERS_LOG_VALUE_SIZE ? INV_STORE_KEY_COLLISION : INV_STORE_FORMAT;
    return 0;
}

int inv_transfers_get(inv_store_txn_t *txn, int32_t p, const char *sku, const char *transfer_id,
                      inv_rules_transfer_t *t) {
    if (!sku || !transfer_id || !t)
        return EINVAL;
    *t = (inv_rules_transfer_t){0};
    unsigned char k[KEY_MAX], v[INV_TRANSFERS_LOG_VALUE_SIZE + ID_MAX];
    size_t klen, n;
    int rc = line_key(k, &klen, sku, transfer_id);
    if (!rc)
        rc = read_line(txn, p, k, klen, transfer_id, v, sizeof v, &n);
    if (rc == INV_STORE_NOTFOUND)
        return 0;
    return rc ? rc : decode_fixed(v, n, t);
}

int inv_transfers_put(inv_store_txn_t *txn, int32_t p, const char *sku, const char *transfer_id,
                      const inv_rules_transfer_t *t) {
    if (!sku || !transfer_id || !t)
        return EINVAL;
    unsigned char k[KEY_MAX], v[INV_TRANSFERS_LOG_VALUE_SIZE + ID_MAX];
    size_t klen, n, lt = strlen(transfer_id);
    int rc = line_key(k, &klen, sku, transfer_id);
    if (rc)
        return rc;
    if (!inv_transfers_open(t))
        return inv_store_state_delete(txn, p, INV_TRANSFERS_KIND, k, klen);
    /* refuse a line whose hash another transfer's line holds */
    rc = read_line(txn, p, k, klen, transfer_id, v, sizeof v, &n);
    if (rc == INV_STORE_FORMAT)
        rc = INV_STORE_KEY_COLLISION;
    if (rc && rc != INV_STORE_NOTFOUND)
        return rc;
    inv_transfers_log_value(v, t);
    memcpy(v + INV_TRANSFERS_LOG_VALUE_SIZE, transfer_id, lt);
    return inv_store_state_put(txn, p, INV_TRANSFERS_KIND, k, klen, v, INV_TRANSFERS_LOG_VALUE_SIZE + lt);
}

typedef struct {
    inv_transfers_cb cb;
    void *opaque;
} walk_t;

static int visit(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len) {
    walk_t *w = opaque;
    const unsigned char *z = memchr(key, 0, len);
    if (!z || (size_t)(key + len - z) != 9 || val_len <= INV_TRANSFERS_LOG_VALUE_SIZE ||
        val_len > INV_TRANSFERS_LOG_VALUE_SIZE + ID_MAX)
        return INV_STORE_FORMAT;
    char sku[ID_MAX + 1], tid[ID_MAX + 1];
    size_t ls = (size_t)(z - key), lt = val_len - INV_TRANSFERS_LOG_VALUE_SIZE;
    if (ls > ID_MAX)
        return INV_STORE_FORMAT;
    memcpy(sku, key, ls);
    sku[ls] = '\0';
    memcpy(tid, (const unsigned char *)val + INV_TRANSFERS_LOG_VALUE_SIZE, lt);
    tid[lt] = '\0';
    inv_rules_transfer_t t;
    int rc = decode_fixed(val, val_len, &t);
    return rc ? rc : w->cb(w->opaque, sku, tid, &t);
}

int inv_transfers_foreach(inv_store_txn_t *txn, int32_t p, const char *sku, inv_transfers_cb cb, void *opaque) {
    if (!cb)
        return EINVAL;
    walk_t w = {cb, opaque};
    size_t ls = sku ? strlen(sku) : 0;
    if (ls > ID_MAX)
        return INV_STORE_KEY_TOO_LONG;
    return inv_store_state_scan(txn, p, INV_TRANSFERS_KIND, sku, sku ? ls + 1 : 0, visit, &w);
}

size_t inv_transfers_log_key(char *buf, size_t cap, const char *sku, const char *transfer_id) {
    size_t ls = strlen(sku), lt = strlen(transfer_id), n = 1 + ls + 1 + lt;
    if (n > cap)
        return 0;
    buf[0] = INV_TRANSFERS_KIND;
    memcpy(buf + 1, sku, ls + 1);
    memcpy(buf + 2 + ls, transfer_id, lt);
    return n;
}

int inv_transfers_log_apply(inv_store_txn_t *txn, int32_t p, const void *key, size_t key_len, const void *val,
                            size_t val_len) {
    const char *k = key;
    if (!k || key_len < 4 || k[0] != INV_TRANSFERS_KIND || key_len > INV_TRANSFERS_LOG_KEY_MAX)
        return INV_STORE_FORMAT;
    char ids[INV_TRANSFERS_LOG_KEY_MAX + 1];
    memcpy(ids, k + 1, key_len - 1);
    ids[key_len - 1] = '\0';
    const char *tid = memchr(ids, 0, key_len - 1);
    if (!tid)
        return INV_STORE_FORMAT;
    tid++;
    inv_rules_transfer_t t = {0};
    if (val && (val_len != INV_TRANSFERS_LOG_VALUE_SIZE || decode_fixed(val, val_len, &t)))
        return INV_STORE_FORMAT;
    return inv_transfers_put(txn, p, ids, tid, &t);
}
