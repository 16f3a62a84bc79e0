#include "inv_keeper_conf.h"

#include <string.h>

/* lmdb.sync's choices (checked by inv_conf) to inv_store's modes. */
static inv_store_sync_t sync_mode(const char *name) {
    if (strcmp(name, "full") == 0)
        return INV_STORE_SYNC_FULL;
    if (strcmp(name, "data") == 0)
        return INV_STORE_SYNC_LAZY_META;
    return INV_STORE_SYNC_NONE;
}

void keeper_conf_read(const inv_conf_t *conf, keeper_conf_t *kc) {
    inv_store_options_t store = INV_STORE_OPTIONS_DEFAULT;
    store.map_size = (size_t)inv_conf_get_int(conf, "lmdb.map.size.mb") << 20;
    store.sync = sync_mode(inv_conf_get(conf, "lmdb.sync"));
    *kc = (keeper_conf_t){
        .group_id = inv_conf_get(conf, "group.id"),
        .instance_id = inv_conf_get(conf, "instance.id"),
        .state_dir = inv_conf_get(conf, "state.dir"),
        .store = store,
        .t_movements = inv_conf_get(conf, "topic.movements"),
        .t_stock = inv_conf_get(conf, "topic.stock"),
        .t_reorders = inv_conf_get(conf, "topic.reorders"),
        .t_shortages = inv_conf_get(conf, "topic.shortages"),
        .t_dedup = inv_conf_get(conf, "topic.dedup"),
        .t_state = inv_conf_get(conf, "topic.state"),
        .t_reservation_status = inv_conf_get(conf, "topic.reservation_status"),
        .t_policies = inv_conf_get(conf, "topic.policies"),
        .t_channels = inv_conf_get(conf, "topic.channels"),
        .t_availability = inv_conf_get(conf, "topic.availability"),
        .default_policy =
            {
                .reorder_point = inv_conf_get_int(conf, "policy.default.reorder_point"),
                .reorder_quantity = inv_conf_get_int(conf, "policy.default.reorder_quantity"),
                .safety_stock = inv_conf_get_int(conf, "policy.default.safety_stock"),
            },
        .dedup_window_ms = inv_conf_get_int(conf, "dedup.window.ms"),
        .count_window_ms = inv_conf_get_int(conf, "count.window.ms"),
        .clock_skew_max_ms = inv_conf_get_int(conf, "clock.skew.max.ms"),
        .restore_confirm_timeout_ms = inv_conf_get_int(conf, "restore.confirm.timeout.ms"),
        .shutdown_timeout_ms = (int)inv_conf_get_int(conf, "shutdown.timeout.ms"),
        .http_listen = inv_conf_get(conf, "http.listen"),
        .health_max_lag = inv_conf_get_int(conf, "health.max.lag"),
        .health_max_stall_ms = inv_conf_get_int(conf, "health.max.stall.ms"),
    };
    inv_http_conf_read(conf, &kc->http);
}

int keeper_conf_default_instance_id(inv_conf_t *conf, keeper_conf_t *kc, const char *id, char *errstr,
                                    size_t errstr_size) {
    if (*kc->instance_id)
        return 0;
    if (inv_conf_set(conf, "instance.id", id, errstr, errstr_size) != 0)
        return -1;
    kc->instance_id = inv_conf_get(conf, "instance.id");
    return 0;
}
