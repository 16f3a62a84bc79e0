/* invctl watch: the live terminal view of a running inv-stock. */
#ifndef INVCTL_WATCH_H
#define INVCTL_WATCH_H

#include <signal.h>

#include "inv_conf.h"

/* The process's run flag (main sets it from inv_main_signals_install()). */
extern const volatile sig_atomic_t *invctl_run;

/* `invctl watch [--interval-ms N] [--top N] [--once]`: refreshes until
 * SIGINT. Returns the exit code. */
int invctl_watch(inv_conf_t *conf, int argc, char **argv);

#endif
