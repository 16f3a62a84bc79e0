/* invctl's commands' shared pieces: the flags of every command (parsed
 * once, by inv_opts, wherever they stand) and the live terminal view. */
#ifndef INVCTL_WATCH_H
#define INVCTL_WATCH_H

#include <signal.h>
#include <stdint.h>

#include "inv_conf.h"
#include "inv_kafka.h"

/* The process's run flag (main sets it from inv_main_signals_install()). */
extern const volatile sig_atomic_t *invctl_run;
/* The Kafka layer's settings, read once by main before a command runs. */
extern const inv_kafka_settings_t *invctl_kafka;

/* Every command's flags; `seen` has bit (1 << INVCTL_OPT_x) for each given. */
enum {
    INVCTL_OPT_PARTITIONS,
    INVCTL_OPT_REPLICATION,
    INVCTL_OPT_JSON,
    INVCTL_OPT_REORDER_POINT,
    INVCTL_OPT_REORDER_QUANTITY,
    INVCTL_OPT_SAFETY_STOCK,
    INVCTL_OPT_MAX,
    INVCTL_OPT_INTERVAL_MS,
    INVCTL_OPT_TOP,
    INVCTL_OPT_ONCE,
    INVCTL_OPT_BUFFER,
    INVCTL_OPT_COUNT
};

typedef struct {
    int64_t partitions, replication;                       /* topics create */
    int json;                                              /* stock */
    int64_t reorder_point, reorder_quantity, safety_stock; /* policy set */
    int64_t buffer;                                        /* channel set */
    int64_t max;                                           /* dlq */
    int64_t interval_ms, top;                              /* watch */
    int once;                                              /* watch */
    unsigned seen;
} invctl_opts_t;

/* Most rows `watch --top` shows. */
#define INVCTL_WATCH_MAX_ROWS 12

/* `invctl watch [--interval-ms N] [--top N] [--once]`: refreshes until
 * SIGINT. argv holds no words after `watch` (the caller checked). Returns
 * the exit code. */
int invctl_watch(inv_conf_t *conf, const invctl_opts_t *o, int argc, char **argv);

#endif
