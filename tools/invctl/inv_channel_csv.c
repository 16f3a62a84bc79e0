#include "inv_channel_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inv_log.h"
#include "inv_parse.h"

enum { COL_CHANNEL, COL_LOCATION, COL_BUFFER, COL_COUNT };
static const char *const col_names[COL_COUNT] = {"channel", "location_id", "buffer"};

typedef struct {
    char *channel, *location;
    int64_t buffer;
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

/* The header: where each column is. 0, or -1 with errstr. */
static int header(char **fields, int n, int col_of[COL_COUNT], const char *name, int lineno, char *errstr,
                  size_t errstr_size) {
    for (int c = 0; c < COL_COUNT; c++) {
        col_of[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(fields[i], col_names[c]) == 0)
                col_of[c] = i;
        if (col_of[c] < 0) {
            snprintf(errstr, errstr_size, "%s:%d: header: missing column %s", name, lineno, col_names[c]);
            return -1;
        }
    }
    return 0;
}

/* One entry's line. 0, or -1 with errstr. */
static int entry(char **fields, int n, const int col_of[COL_COUNT], row_t *r, const char *name, int lineno,
                 char *errstr, size_t errstr_size) {
    char why[INV_ERRSTR_SIZE];
    for (int c = 0; c < COL_COUNT; c++) {
        if (col_of[c] >= n) {
            snprintf(errstr, errstr_size, "%s:%d: %s: missing", name, lineno, col_names[c]);
            return -1;
        }
        const char *v = fields[col_of[c]];
        if (c != COL_BUFFER) {
            if (inv_codec_check_id(col_names[c], v, strlen(v), 1, why, sizeof(why)) != 0) {
                snprintf(errstr, errstr_size, "%s:%d: %s", name, lineno, why);
                return -1;
            }
            if (c == COL_LOCATION && strcmp(v, "*") == 0) {
                snprintf(errstr, errstr_size, "%s:%d: location_id: \"*\" is not a location", name, lineno);
                return -1;
            }
        } else if (inv_parse_int64(v, 0, INV_CODEC_MAX_POLICY_QUANTITY, &r->buffer) != 0) {
            snprintf(errstr, errstr_size, "%s:%d: buffer: \"%s\" is not an integer from 0 to %lld", name, lineno, v,
                     (long long)INV_CODEC_MAX_POLICY_QUANTITY);
            return -1;
        }
    }
    return 0;
}

int inv_channel_csv_read(FILE *f, const char *name, inv_channel_csv_cb cb, void *opaque, char *errstr,
                         size_t errstr_size) {
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0, have_header = 0, col_of[COL_COUNT];
    row_t *rows = NULL;
    size_t nrows = 0, rows_cap = 0;
    while (rc == 0 && getline(&line, &cap, f) != -1) {
        lineno++;
        char *s = inv_parse_trim(line);
        if (!*s || *s == '#')
            continue;
        char *fields[16];
        int n = split(s, fields, 16);
        if (!have_header) {
            rc = header(fields, n, col_of, name, lineno, errstr, errstr_size);
            have_header = 1;
            continue;
        }
        row_t r = {0};
        if ((rc = entry(fields, n, col_of, &r, name, lineno, errstr, errstr_size)) != 0)
            break;
        r.channel = strdup(fields[col_of[COL_CHANNEL]]);
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
            inv_channel_location_t e = {rows[i].channel, rows[i].location, rows[i].buffer};
            rc = cb(opaque, &e);
        }
        free(rows[i].channel);
        free(rows[i].location);
    }
    free(rows);
    free(line);
    return rc;
}
