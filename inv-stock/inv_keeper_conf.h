/*
 * inv_keeper_conf: every setting the keeper uses, read once at start-up from
 * inv_conf into typed fields. Nothing else in inv-stock looks a key up by
 * name; the Kafka layer's own settings are read once too
 * (inv_kafka_settings_read, in inv_keeper.c once the instance id is known).
 */
#ifndef INV_KEEPER_CONF_H
#define INV_KEEPER_CONF_H

#include <stdint.h>

#include "inv_conf.h"
#include "inv_http.h"
#include "inv_rules.h"
#include "inv_store.h"

typedef struct {
    const char *group_id;
    const char *instance_id; /* "" until inv_keeper_run takes the state dir's */
    const char *state_dir;
    inv_store_options_t store; /* lmdb.map.size.mb, lmdb.sync */
    const char *t_movements, *t_stock, *t_reorders, *t_shortages, *t_dedup, *t_policies;
    const char *t_state, *t_reservation_status;
    const char *t_channels, *t_availability;
    inv_rules_policy_t default_policy; /* policy.default.* */
    int64_t dedup_window_ms;
    int64_t count_window_ms;   /* count.window.ms */
    int64_t clock_skew_max_ms; /* clock.skew.max.ms */
    int64_t restore_confirm_timeout_ms;
    int shutdown_timeout_ms;
    const char *http_listen; /* "" = no HTTP server */
    inv_http_conf_t http;    /* http.* limits */
    int64_t health_max_lag;
    int64_t health_max_stall_ms;
} keeper_conf_t;

/* Fills *kc from conf, whose keys inv_conf has validated already (types,
 * bounds, enum choices), so this cannot fail. The strings are borrowed from
 * conf: valid while conf lives and the key is not set again. */
void keeper_conf_read(const inv_conf_t *conf, keeper_conf_t *kc);

/* Without an instance.id of its own, the instance takes `id` (its state
 * dir's), in conf too, where the Kafka layer reads it for the
 * transactional id. 0, or -1 with errstr (conf refused it). */
int keeper_conf_default_instance_id(inv_conf_t *conf, keeper_conf_t *kc, const char *id, char *errstr,
                                    size_t errstr_size);

#endif
