/*
 * inv_policy_csv: reorder policies from a CSV file, for `invctl policy
 * import`. The first line is the header
 *   sku,location_id,reorder_point,reorder_quantity,safety_stock
 * (columns in any order, all five required); each further line is one
 * policy. No quoting: SKUs and locations cannot hold commas here.
 */
#ifndef INV_POLICY_CSV_H
#define INV_POLICY_CSV_H

#include <stdio.h>

#include "inv_codec.h"

/* Called per policy; strings valid during the call. Nonzero stops the read
 * and is returned. */
typedef int (*inv_policy_csv_cb)(void *opaque, const inv_policy_t *policy);

/* Reads every line of f, validating each before calling cb for any: a bad
 * file produces nothing. Returns 0, cb's nonzero value, or -1 with errstr
 * "NAME:LINE: column: what is wrong". */
int inv_policy_csv_read(FILE *f, const char *name, inv_policy_csv_cb cb, void *opaque, char *errstr,
                        size_t errstr_size);

#endif
