/*
 * bench_state_size: what inv-stock's LMDB environment holds per stock row,
 * for docs/BENCHMARKS.md.
 *
 *   bench_state_size STATE_DIR [PARTITIONS]
 *
 * Opens the state dir read-only (inv-stock may run) and prints the number
 * of location rows (network rows `*` not counted), the count history's
 * records and bytes (keys and values as stored, without LMDB's page
 * overhead) over partitions 0..PARTITIONS-1 (default 6), and the bytes of
 * history per location row. Exit 0, 1 on a store error, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_counts.h"
#include "inv_store.h"

static int count_row(void *opaque, int32_t p, const char *sku, const char *location, const inv_stock_row_t *row) {
    (void)p, (void)sku, (void)row;
    if (strcmp(location, "*") != 0)
        ++*(unsigned long long *)opaque;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_state_size STATE_DIR [PARTITIONS]\n");
        return 2;
    }
    int parts = argc == 3 ? atoi(argv[2]) : 6;
    if (parts <= 0) {
        fprintf(stderr, "bench_state_size: PARTITIONS: expected a positive number\n");
        return 2;
    }
    inv_store_t *s;
    inv_store_txn_t *t;
    int rc = inv_store_open_readonly(argv[1], &s);
    if (rc || (rc = inv_store_txn_begin(s, 1, &t))) {
        fprintf(stderr, "bench_state_size: %s: %s\n", argv[1], inv_store_strerror(rc));
        return 1;
    }
    unsigned long long rows = 0, hrows = 0, records = 0, bytes = 0;
    for (int p = 0; p < parts && !rc; p++) {
        uint64_t hr, r, b;
        if ((rc = inv_store_stock_scan(t, p, count_row, &rows)) == 0 &&
            (rc = inv_counts_size(t, p, &hr, &r, &b)) == 0) {
            hrows += hr;
            records += r;
            bytes += b;
        }
    }
    inv_store_txn_commit(t);
    inv_store_close(s);
    if (rc) {
        fprintf(stderr, "bench_state_size: %s: %s\n", argv[1], inv_store_strerror(rc));
        return 1;
    }
    printf("state: %llu location rows, count history of %llu rows: %llu changes, %llu bytes = %.1f bytes per row\n",
           rows, hrows, records, bytes, rows ? (double)bytes / (double)rows : 0.0);
    return 0;
}
