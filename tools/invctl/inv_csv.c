/* inv_csv: see inv_csv.h. */
#include "inv_csv.h"

#include <stdlib.h>
#include <string.h>

#include "inv_parse.h"

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

int inv_csv_read(FILE *f, const char *name, const char *const *columns, int ncols, inv_csv_row_cb row, void *opaque,
                 char *errstr, size_t errstr_size) {
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0, have_header = 0, col_of[INV_CSV_MAX_COLUMNS];
    if (ncols > INV_CSV_MAX_COLUMNS) {
        snprintf(errstr, errstr_size, "%s: more than %d columns", name, INV_CSV_MAX_COLUMNS);
        return -1;
    }
    while (rc == 0 && getline(&line, &cap, f) != -1) {
        lineno++;
        char *s = inv_parse_trim(line);
        if (!*s || *s == '#')
            continue;
        char *fields[INV_CSV_MAX_COLUMNS];
        int n = split(s, fields, INV_CSV_MAX_COLUMNS);
        if (!have_header) {
            for (int c = 0; c < ncols && rc == 0; c++) {
                col_of[c] = -1;
                for (int i = 0; i < n; i++)
                    if (strcmp(fields[i], columns[c]) == 0)
                        col_of[c] = i;
                if (col_of[c] < 0) {
                    snprintf(errstr, errstr_size, "%s:%d: header: missing column %s", name, lineno, columns[c]);
                    rc = -1;
                }
            }
            have_header = 1;
            continue;
        }
        const char *values[INV_CSV_MAX_COLUMNS];
        for (int c = 0; c < ncols && rc == 0; c++) {
            if (col_of[c] >= n) {
                snprintf(errstr, errstr_size, "%s:%d: %s: missing", name, lineno, columns[c]);
                rc = -1;
            } else {
                values[c] = fields[col_of[c]];
            }
        }
        if (rc == 0)
            rc = row(opaque, values, name, lineno, errstr, errstr_size);
    }
    if (rc == 0 && !have_header) {
        snprintf(errstr, errstr_size, "%s: empty file (expected a header line)", name);
        rc = -1;
    }
    free(line);
    return rc;
}
