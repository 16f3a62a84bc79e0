/* inv_counts: see inv_counts.h. */
#include "inv_counts.h"

#include <stdlib.h>
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

void inv_counts_batch_add(inv_counts_batch_t *b, int32_t p, const void *id, size_t id_len,
                          const inv_store_dedup_history_t *h) {
    if (b->len == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->e = realloc(b->e, b->cap * sizeof *b->e);
        if (!b->e)
            abort();
    }
    b->e[b->len++] = (inv_store_history_entry_t){p, h->row, h->at_ms, inv_store_hash64(id, id_len), h->delta};
}

void inv_counts_batch_later(const inv_counts_batch_t *b, int32_t p, uint64_t row, int64_t at_ms, int64_t *net,
                            int *has_newest, int64_t *newest_ms) {
    for (size_t i = 0; i < b->len; i++) {
        const inv_store_history_entry_t *e = &b->e[i];
        if (e->row != row || e->partition != p)
            continue;
        if (e->at_ms > at_ms)
            *net += e->delta;
        if (!*has_newest || e->at_ms > *newest_ms) {
            *has_newest = 1;
            *newest_ms = e->at_ms;
        }
    }
}

void inv_counts_batch_drop_through(inv_counts_batch_t *b, int32_t p, uint64_t row, int64_t at_ms) {
    size_t j = 0;
    for (size_t i = 0; i < b->len; i++) {
        const inv_store_history_entry_t *e = &b->e[i];
        if (!(e->row == row && e->partition == p && e->at_ms <= at_ms))
            b->e[j++] = *e;
    }
    b->len = j;
}

static int entry_cmp(const void *x, const void *y) {
    const inv_store_history_entry_t *a = x, *b = y;
    if (a->partition != b->partition)
        return a->partition < b->partition ? -1 : 1;
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    if (a->at_ms != b->at_ms)
        return a->at_ms < b->at_ms ? -1 : 1;
    return a->uniq < b->uniq ? -1 : a->uniq > b->uniq;
}

int inv_counts_batch_flush(inv_counts_batch_t *b, inv_store_txn_t *txn) {
    if (b->len > 1)
        qsort(b->e, b->len, sizeof *b->e, entry_cmp);
    int rc = inv_store_history_put_many(txn, b->e, b->len);
    b->len = 0;
    return rc;
}

void inv_counts_batch_clear(inv_counts_batch_t *b) { b->len = 0; }

void inv_counts_batch_free(inv_counts_batch_t *b) {
    free(b->e);
    *b = (inv_counts_batch_t){0};
}
