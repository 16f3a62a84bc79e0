#include "inv_stock_json.h"

#include "inv_time.h"

json_t *inv_stock_json_row(const char *sku, const char *location, const inv_stock_row_t *row) {
    inv_stock_level_t l;
    inv_rules_stock_level(sku, location, row, &l);
    char ts[32], counted[32];
    inv_time_format_rfc3339(l.updated_at_ms, ts);
    if (l.has_last_count_at)
        inv_time_format_rfc3339(l.last_count_at_ms, counted);
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:s?, s:I, s:s}", "sku", l.sku,
                     "location_id", l.location_id, "on_hand", (json_int_t)l.on_hand, "unsellable",
                     (json_int_t)l.unsellable, "on_order", (json_int_t)l.on_order, "available", (json_int_t)l.available,
                     "committed", (json_int_t)l.committed, "incoming", (json_int_t)l.incoming, "in_transit_out",
                     (json_int_t)l.in_transit_out, "updated_at", ts, "version", (json_int_t)l.version, "last_count_at",
                     l.has_last_count_at ? counted : NULL, "count_variance", (json_int_t)l.count_variance,
                     "shortage_state", inv_shortage_state_name(row->shortage));
}
