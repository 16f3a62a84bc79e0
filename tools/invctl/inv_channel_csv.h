/*
 * inv_channel_csv: a channel map from a CSV file, for `invctl channel
 * import`. The first line is the header
 *   channel,location_id,buffer
 * (columns in any order, all three required); each further line is one
 * ChannelLocation. No quoting: names cannot hold commas here. Blank lines
 * and lines starting with '#' are skipped.
 */
#ifndef INV_CHANNEL_CSV_H
#define INV_CHANNEL_CSV_H

#include <stdio.h>

#include "inv_codec.h"

/* Called per entry; strings valid during the call. Nonzero stops the read
 * and is returned. */
typedef int (*inv_channel_csv_cb)(void *opaque, const inv_channel_location_t *entry);

/* Reads every line of f, validating each (identifiers as the decoders
 * check them, buffer an integer from 0 to INV_CODEC_MAX_POLICY_QUANTITY)
 * before calling cb for any: a bad file produces nothing. Returns 0, cb's
 * nonzero value, or -1 with errstr "NAME:LINE: column: what is wrong". */
int inv_channel_csv_read(FILE *f, const char *name, inv_channel_csv_cb cb, void *opaque, char *errstr,
                         size_t errstr_size);

#endif
