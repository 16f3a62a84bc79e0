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

/* A dropped change: a delta of 0 under an impossible uniq, skipped at the
 * flush (the slot stays, so the chains stay valid). */
#define DEAD_UNIQ UINT64_MAX
#define NONE UINT32_MAX

static size_t bucket_of(const inv_counts_batch_t *b, int32_t p, uint64_t row) {
    uint64_t x = row ^ ((uint64_t)(uint32_t)p * UINT64_C(0x9e3779b97f4a7c15));
    return (size_t)(x & (b->buckets - 1));
}

static void rehash(inv_counts_batch_t *b, size_t buckets) {
    free(b->head);
    b->buckets = buckets;
    b->head = malloc(buckets * sizeof *b->head);
    if (!b->head)
        abort();
    memset(b->head, 0xff, buckets * sizeof *b->head);
    for (size_t i = 0; i < b->len; i++) {
        size_t k = bucket_of(b, b->e[i].partition, b->e[i].row);
        b->next[i] = b->head[k];
        b->head[k] = (uint32_t)i;
    }
}

void inv_counts_batch_add(inv_counts_batch_t *b, int32_t p, const void *id, size_t id_len,
                          const inv_store_dedup_history_t *h) {
    if (b->len == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        if (b->cap >= NONE)
            abort();
        b->e = realloc(b->e, b->cap * sizeof *b->e);
        b->next = realloc(b->next, b->cap * sizeof *b->next);
        if (!b->e || !b->next)
            abort();
    }
    if (b->len >= b->buckets / 2)
        rehash(b, b->buckets ? 2 * b->buckets : 2048);
    size_t i = b->len++, k = bucket_of(b, p, h->row);
    b->e[i] = (inv_store_history_entry_t){p, h->row, h->at_ms, inv_store_hash64(id, id_len), h->delta};
    b->next[i] = b->head[k];
    b->head[k] = (uint32_t)i;
}

void inv_counts_batch_later(const inv_counts_batch_t *b, int32_t p, uint64_t row, int64_t at_ms, int64_t *net,
                            int *has_newest, int64_t *newest_ms) {
    if (!b->buckets)
        return;
    for (uint32_t i = b->head[bucket_of(b, p, row)]; i != NONE; i = b->next[i]) {
        const inv_store_history_entry_t *e = &b->e[i];
        if (e->row != row || e->partition != p || e->uniq == DEAD_UNIQ)
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
    if (!b->buckets)
        return;
    for (uint32_t i = b->head[bucket_of(b, p, row)]; i != NONE; i = b->next[i]) {
        inv_store_history_entry_t *e = &b->e[i];
        if (e->row == row && e->partition == p && e->uniq != DEAD_UNIQ && e->at_ms <= at_ms) {
            e->uniq = DEAD_UNIQ;
            e->delta = 0;
            b->dead++;
        }
    }
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
    size_t n = b->len;
    if (b->dead) { /* the dropped ones out */
        n = 0;
        for (size_t i = 0; i < b->len; i++)
            if (b->e[i].uniq != DEAD_UNIQ)
                b->e[n++] = b->e[i];
    }
    if (n > 1)
        qsort(b->e, n, sizeof *b->e, entry_cmp);
    int rc = inv_store_history_put_many(txn, b->e, n);
    inv_counts_batch_clear(b);
    return rc;
}

void inv_counts_batch_clear(inv_counts_batch_t *b) {
    if (b->head && b->len)
        memset(b->head, 0xff, b->buckets * sizeof *b->head);
    b->len = 0;
    b->dead = 0;
}

void inv_counts_batch_free(inv_counts_batch_t *b) {
    free(b->e);
    free(b->next);
    free(b->head);
    *b = (inv_counts_batch_t){0};
}
