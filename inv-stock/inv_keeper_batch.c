#include "inv_keeper_batch.h"

#include <stdlib.h>
#include <string.h>

#include "inv_store.h"
#include "inv_buf.h"

#define FIRST_LATENCIES 4096

void batch_init(batch_t *b, size_t arena_bytes) {
    memset(b, 0, sizeof(*b));
    dirty_init(&b->dirty, arena_bytes);
}

void batch_free(batch_t *b) {
    for (int p = 0; p < b->part_count; p++)
        inv_buf_free(&b->parts[p].ids);
    dirty_free(&b->dirty);
    free(b->parts);
    free(b->latency_ts);
    memset(b, 0, sizeof(*b));
}

static void part_batch_reset(partition_t *pt) {
    pt->touched = 0;
    pt->ids.len = pt->ids_sent = 0;
    pt->changelog_next = pt->dedup_next = -1;
    pt->state_changed = 0;
}

partition_t *batch_partition(batch_t *b, int32_t p) {
    if (p >= b->part_count) {
        int n = p + 1;
        b->parts = inv_xrealloc(b->parts, (size_t)n * sizeof(*b->parts));
        for (int i = b->part_count; i < n; i++) {
            memset(&b->parts[i], 0, sizeof(b->parts[i]));
            b->parts[i].expire_sent_upto = INT64_MIN;
            part_batch_reset(&b->parts[i]);
        }
        b->part_count = n;
    }
    return &b->parts[p];
}

void batch_reset(batch_t *b) {
    dirty_reset(&b->dirty);
    for (int p = 0; p < b->part_count; p++)
        part_batch_reset(&b->parts[p]);
    b->latency_len = 0;
}

void batch_ids_add(const batch_t *b, partition_t *pt, const char *id, size_t len, const inv_store_dedup_history_t *h) {
    if (inv_buf_reserve(&pt->ids, len + INV_STORE_DEDUP_ENTRY3_OVERHEAD_MAX) != 0)
        abort();
    pt->ids.len += inv_store_dedup_entry3_put((unsigned char *)pt->ids.data + pt->ids.len, id, len, b->now_ms, h);
}

void batch_latency_add(batch_t *b, int64_t ts) {
    if (b->latency_len == b->latency_cap) {
        b->latency_cap = b->latency_cap ? b->latency_cap * 2 : FIRST_LATENCIES;
        b->latency_ts = inv_xrealloc(b->latency_ts, b->latency_cap * sizeof(int64_t));
    }
    b->latency_ts[b->latency_len++] = ts;
}

int batch_touched_count(const batch_t *b) {
    int n = 0;
    for (int p = 0; p < b->part_count; p++)
        n += b->parts[p].touched;
    return n;
}
