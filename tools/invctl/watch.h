/* invctl watch: the live terminal view of a running inv-stock. */
#ifndef INVCTL_WATCH_H
#define INVCTL_WATCH_H

#include "inv_conf.h"

/* `invctl watch [--interval-ms N] [--top N] [--once]`: refreshes until
 * SIGINT. Returns the exit code. */
int invctl_watch(inv_conf_t *conf, int argc, char **argv);

#endif
