/*
 * inv_view: the read side. Reads inventory.stock, .availability,
 * .shortages and .reorders (read_committed, every partition, assigned
 * outside any consumer group) into LMDB (inv_view_store), publishes each
 * committed change to /api/events subscribers (inv_view_hub) and serves the
 * HTTP API and the dashboard (inv_view_api). Any number of replicas, each
 * with its own state dir, answer any SKU.
 *
 * Start-up: the offsets stored in LMDB (none: the beginning) are where each
 * partition resumes; the end offsets seen at start are what "caught up"
 * means: /healthz answers 503 with the remaining count until every
 * partition reached its end (or the end of its committed records).
 */
#ifndef INV_VIEW_H
#define INV_VIEW_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "inv_conf.h"
#include "inv_http.h"
#include "inv_metrics.h"
#include "inv_view_hub.h"
#include "inv_view_store.h"

/* Routes counted by /metrics (inv_view_http_requests_total). */
#define VIEW_ROUTES 12
#define VIEW_STATUSES 8

typedef struct {
    int32_t partitions;
    int64_t *start;  /* offset resumed from, per partition */
    int64_t *target; /* end offset seen at start */
    int64_t *next;   /* next offset applied (writer; atomically read for metrics by the writer only) */
    int *eof;        /* reached its end once */
    inv_metrics_gauge_t **g_offset, **g_end, **g_lag;
} view_topic_t;

typedef struct view_s {
    view_store_t store;
    view_hub_t *hub;
    const char *topics[VIEW_T_COUNT];
    view_topic_t t[VIEW_T_COUNT];
    inv_metrics_t *metrics;
    inv_metrics_gauge_t *g_ready, *g_remaining, *g_rebuild_total, *g_rows[VIEW_T_COUNT], *g_subs, *g_last_change;
    inv_metrics_counter_t *c_applied[VIEW_T_COUNT], *c_invalid[VIEW_T_COUNT], *c_changes;
    inv_metrics_counter_t *c_requests[VIEW_ROUTES][VIEW_STATUSES];
    atomic_int ready;
    atomic_llong remaining;      /* records to the start's end offsets */
    atomic_llong last_change_ms; /* wall time of the newest change applied */
    atomic_llong changes;        /* changes applied since start */
    int64_t rebuild_total;
    const char *listen;
} view_t;

/* Runs inv-view until *run clears. 0, or -1 with errstr. */
int inv_view_run(inv_conf_t *conf, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size);

/* The routes (inv_view_api.c) and the metrics observer. */
extern const inv_http_route_t view_routes[];
void view_api_observe(void *opaque, const char *route, int status);
/* Registers the per-route request counters. 0 or -1. */
int view_api_metrics(view_t *v, char *errstr, size_t errstr_size);

#endif
