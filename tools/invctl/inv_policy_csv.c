#include "inv_policy_csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inv_parse.h"

enum { COL_SKU, COL_LOCATION, COL_POINT, COL_QUANTITY, COL_SAFETY, COL_COUNT };
static const char *const col_names[COL_COUNT] = {"sku", "location_id", "reorder_point", "reorder_quantity",
                                                 "safety_stock"};

typedef struct {
    char *sku, *location;
    int64_t v[3];
} row_t;

/* Splits line in place at commas; returns the field count (at most max). */
static int split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        fields[n++] = inv_parse_trim(p);
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

int inv_policy_csv_read(FILE *f, const char *name, inv_policy_csv_cb cb, void *opaque, char *errstr,
                        size_t errstr_size) {
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0, col_of[COL_COUNT];
    row_t *rows = NULL;
    size_t nrows = 0, rows_cap = 0;
    int have_header = 0;
    while (rc == 0 && getline(&line, &cap, f) != -1) {
        lineno++;
        char *s = inv_parse_trim(line);
        if (!*s || *s == '#')
            continue;
        char *fields[16];
        int n = split(s, fields, 16);
        if (!have_header) {
            for (int c = 0; c < COL_COUNT; c++) {
                col_of[c] = -1;
                for (int i = 0; i < n; i++)
                    if (strcmp(fields[i], col_names[c]) == 0)
                        col_of[c] = i;
                if (col_of[c] < 0) {
                    snprintf(errstr, errstr_size, "%s:%d: header: missing column %s", name, lineno, col_names[c]);
                    rc = -1;
                    break;
                }
            }
            have_header = 1;
            continue;
        }
        row_t r = {0};
        for (int c = 0; c < COL_COUNT && rc == 0; c++) {
            if (col_of[c] >= n) {
                snprintf(errstr, errstr_size, "%s:%d: %s: missing", name, lineno, col_names[c]);
                rc = -1;
                break;
            }
            const char *v = fields[col_of[c]];
            if (c <= COL_LOCATION) {
                if (!*v) {
                    snprintf(errstr, errstr_size, "%s:%d: %s: must not be empty", name, lineno, col_names[c]);
                    rc = -1;
                }
                continue;
            }
            int64_t x;
            if (inv_parse_int64(v, INT64_MIN, INT64_MAX, &x) != 0) {
                snprintf(errstr, errstr_size, "%s:%d: %s: \"%s\" is not an integer", name, lineno, col_names[c], v);
                rc = -1;
            } else if (x < 0 && c != COL_POINT) {
                snprintf(errstr, errstr_size, "%s:%d: %s: %lld is negative", name, lineno, col_names[c], (long long)x);
                rc = -1;
            } else {
                r.v[c - COL_POINT] = x;
            }
        }
        if (rc)
            break;
        r.sku = strdup(fields[col_of[COL_SKU]]);
        r.location = strdup(fields[col_of[COL_LOCATION]]);
        if (nrows == rows_cap) {
            rows_cap = rows_cap ? rows_cap * 2 : 64;
            row_t *nr = realloc(rows, rows_cap * sizeof(*rows));
            if (!nr)
                abort();
            rows = nr;
        }
        rows[nrows++] = r;
    }
    if (rc == 0 && !have_header) {
        snprintf(errstr, errstr_size, "%s: empty file (expected a header line)", name);
        rc = -1;
    }
    for (size_t i = 0; i < nrows; i++) {
        if (rc == 0) {
            inv_policy_t p = {rows[i].sku, rows[i].location, rows[i].v[0], rows[i].v[1], rows[i].v[2]};
            rc = cb(opaque, &p);
        }
        free(rows[i].sku);
        free(rows[i].location);
    }
    free(rows);
    free(line);
    return rc;
}
