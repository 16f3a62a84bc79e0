/* inv_policy_csv: see inv_policy_csv.h. */
#include "inv_policy_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inv_buf.h"
#include "inv_csv.h"
#include "inv_parse.h"

enum { COL_SKU, COL_LOCATION, COL_POINT, COL_QUANTITY, COL_SAFETY, COL_COUNT };
static const char *const col_names[COL_COUNT] = {"sku", "location_id", "reorder_point", "reorder_quantity",
                                                 "safety_stock"};

typedef struct {
    char *sku, *location;
    int64_t v[3];
} row_t;

typedef struct {
    row_t *rows;
    size_t len, cap;
} rows_t;

/* One policy's line, validated and kept. 0, or -1 with errstr. */
static int policy_row(void *opaque, const char *const *v, const char *name, int lineno, char *errstr,
                      size_t errstr_size) {
    rows_t *rs = opaque;
    row_t r = {0};
    for (int c = COL_SKU; c <= COL_LOCATION; c++)
        if (!*v[c]) {
            snprintf(errstr, errstr_size, "%s:%d: %s: must not be empty", name, lineno, col_names[c]);
            return -1;
        }
    for (int c = COL_POINT; c < COL_COUNT; c++) {
        int64_t x;
        if (inv_parse_int64(v[c], INT64_MIN, INT64_MAX, &x) != 0) {
            snprintf(errstr, errstr_size, "%s:%d: %s: \"%s\" is not an integer", name, lineno, col_names[c], v[c]);
            return -1;
        }
        if (x < 0 && c != COL_POINT) {
            snprintf(errstr, errstr_size, "%s:%d: %s: %lld is negative", name, lineno, col_names[c], (long long)x);
            return -1;
        }
        r.v[c - COL_POINT] = x;
    }
    if (rs->len == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->rows = inv_xrealloc(rs->rows, rs->cap * sizeof(*rs->rows));
    }
    r.sku = strdup(v[COL_SKU]);
    r.location = strdup(v[COL_LOCATION]);
    if (!r.sku || !r.location)
        abort();
    rs->rows[rs->len++] = r;
    return 0;
}

int inv_policy_csv_read(FILE *f, const char *name, inv_policy_csv_cb cb, void *opaque, char *errstr,
                        size_t errstr_size) {
    rows_t rs = {0};
    int rc = inv_csv_read(f, name, col_names, COL_COUNT, policy_row, &rs, errstr, errstr_size);
    for (size_t i = 0; i < rs.len; i++) {
        if (rc == 0) {
            inv_policy_t p = {rs.rows[i].sku, rs.rows[i].location, rs.rows[i].v[0], rs.rows[i].v[1], rs.rows[i].v[2]};
            rc = cb(opaque, &p);
        }
        free(rs.rows[i].sku);
        free(rs.rows[i].location);
    }
    free(rs.rows);
    return rc;
}
