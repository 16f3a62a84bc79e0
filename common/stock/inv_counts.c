/* inv_counts: see inv_counts.h. */
#include "inv_counts.h"

#include <string.h>

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

int inv_counts_later(inv_store_txn_t *txn, int32_t p, uint64_t row, int64_t at_ms, int64_t *net, int *has_newest,
                     int64_t *newest_ms) {
    return inv_store_history_after(txn, p, row, at_ms, net, has_newest, newest_ms);
}

int inv_counts_replay(inv_store_txn_t *txn, int32_t p, const void *id, size_t id_len,
                      const inv_store_dedup_history_t *h) {
    switch (h->kind) {
    case 0: return 0;
    case 1: return inv_store_history_put(txn, p, h->row, h->at_ms, inv_store_hash64(id, id_len), h->delta);
    case 2: return inv_store_history_drop_through(txn, p, h->row, h->at_ms, NULL);
    }
    return INV_STORE_FORMAT;
}

int inv_counts_sweep(inv_store_txn_t *txn, int32_t p, int64_t window_ms, inv_counts_sweep_t *sw, size_t max,
                     size_t *dropped) {
    return inv_store_history_sweep(txn, p, window_ms, &sw->next_row, max, dropped);
}

int inv_counts_size(inv_store_txn_t *txn, int32_t p, uint64_t *rows, uint64_t *records, uint64_t *bytes) {
    int rc = inv_store_history_size(txn, p, rows, records);
    *bytes = rc ? 0 : *rows * 12 + *records * 24; /* a key per row, 24-byte changes */
    return rc;
}
