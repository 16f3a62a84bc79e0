/*
 * libFuzzer target for the dedup log's readers (inv_store.h): any record
 * bytes, in any format, are read without a crash, a read past the end or a
 * sanitizer report. Every entry read in formats 2 and 3 writes back
 * (inv_store_dedup_entry_put, _entry3_put) to exactly the bytes it was read from:
 * a violation aborts, which libFuzzer reports. The first format's reader
 * never returns an id longer than INV_STORE_MAX_KEY (that format is not
 * binary-safe: a NUL inside cuts an id short, which is why it was
 * replaced).
 */
#include "inv_store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char out[1 << 17];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the current format: entries back to their own bytes */
    const unsigned char *cur = data, *end = data + size, *id;
    size_t len, written = 0;
    int64_t at;
    int rc;
    while ((rc = inv_store_dedup_entry_next(&cur, end, &id, &len, &at)) == 1) {
        if (id < data || id + len > end || len + INV_STORE_DEDUP_ENTRY_OVERHEAD > sizeof(out) - written)
            abort();
        size_t n = inv_store_dedup_entry_put(out + written, id, len, at);
        if (n != len + INV_STORE_DEDUP_ENTRY_OVERHEAD)
            abort();
        written += n;
    }
    if (rc != 0 && rc != INV_STORE_FORMAT)
        abort();
    if (written != (size_t)(cur - data) || memcmp(out, data, written) != 0)
        abort();
    /* format 3: entries with their count history part, back to their bytes */
    inv_store_dedup_history_t h;
    cur = data;
    written = 0;
    while ((rc = inv_store_dedup_entry3_next(&cur, end, &id, &len, &at, &h)) == 1) {
        if (id < data || id + len > end || len + INV_STORE_DEDUP_ENTRY3_OVERHEAD_MAX > sizeof(out) - written)
            abort();
        size_t n = inv_store_dedup_entry3_put(out + written, id, len, at, &h);
        if (n == 0 || n > len + INV_STORE_DEDUP_ENTRY3_OVERHEAD_MAX)
            abort();
        written += n;
    }
    if (rc != 0 && rc != INV_STORE_FORMAT)
        abort();
    if (written != (size_t)(cur - data) || memcmp(out, data, written) != 0)
        abort();
    /* the first format: ids between '\n's */
    const char *c = (const char *)data, *e = c + size;
    char first[INV_STORE_MAX_KEY + 1];
    while (inv_store_dedup_id_next(&c, e, first)) {
        if (strlen(first) > INV_STORE_MAX_KEY)
            abort();
    }
    return 0;
}
