/* inv_channel_csv: see inv_channel_csv.h. */
#include "inv_channel_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inv_buf.h"
#include "inv_csv.h"
#include "inv_log.h"
#include "inv_parse.h"

enum { COL_CHANNEL, COL_LOCATION, COL_BUFFER, COL_COUNT };
static const char *const col_names[COL_COUNT] = {"channel", "location_id", "buffer"};

typedef struct {
    char *channel, *location;
    int64_t buffer;
} row_t;

typedef struct {
    row_t *rows;
    size_t len, cap;
} rows_t;

/* One entry's line, validated and kept. 0, or -1 with errstr. */
static int channel_row(void *opaque, const char *const *v, const char *name, int lineno, char *errstr,
                       size_t errstr_size) {
    rows_t *rs = opaque;
    row_t r = {0};
    char why[INV_ERRSTR_SIZE];
    for (int c = COL_CHANNEL; c <= COL_LOCATION; c++)
        if (inv_codec_check_id(col_names[c], v[c], strlen(v[c]), 1, why, sizeof(why)) != 0) {
            snprintf(errstr, errstr_size, "%s:%d: %s", name, lineno, why);
            return -1;
        }
    if (strcmp(v[COL_LOCATION], "*") == 0) {
        snprintf(errstr, errstr_size, "%s:%d: location_id: \"*\" is not a location", name, lineno);
        return -1;
    }
    if (inv_parse_int64(v[COL_BUFFER], 0, INV_CODEC_MAX_POLICY_QUANTITY, &r.buffer) != 0) {
        snprintf(errstr, errstr_size, "%s:%d: buffer: \"%s\" is not an integer from 0 to %lld", name, lineno,
                 v[COL_BUFFER], (long long)INV_CODEC_MAX_POLICY_QUANTITY);
        return -1;
    }
    if (rs->len == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->rows = inv_xrealloc(rs->rows, rs->cap * sizeof(*rs->rows));
    }
    r.channel = strdup(v[COL_CHANNEL]);
    r.location = strdup(v[COL_LOCATION]);
    if (!r.channel || !r.location)
        abort();
    rs->rows[rs->len++] = r;
    return 0;
}

int inv_channel_csv_read(FILE *f, const char *name, inv_channel_csv_cb cb, void *opaque, char *errstr,
                         size_t errstr_size) {
    rows_t rs = {0};
    int rc = inv_csv_read(f, name, col_names, COL_COUNT, channel_row, &rs, errstr, errstr_size);
    for (size_t i = 0; i < rs.len; i++) {
        if (rc == 0) {
            inv_channel_location_t e = {rs.rows[i].channel, rs.rows[i].location, rs.rows[i].buffer};
            rc = cb(opaque, &e);
        }
        free(rs.rows[i].channel);
        free(rs.rows[i].location);
    }
    free(rs.rows);
    return rc;
}
