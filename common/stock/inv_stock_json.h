/*
 * inv_stock_json: one stored stock row as the JSON object people read
 * (`/stock/<sku>` and `invctl stock --json`): the StockLevel fields plus
 * the row's shortage_state ("none" when never short).
 */
#ifndef INV_STOCK_JSON_H
#define INV_STOCK_JSON_H

#include <jansson.h>

#include "inv_rules.h"

/* A new reference (json_decref it), or NULL when sku or location is not
 * valid UTF-8 (jansson refuses it) or on OOM. */
json_t *inv_stock_json_row(const char *sku, const char *location, const inv_stock_row_t *row);

#endif
