/*
 * inv_main: the start-up every program shares. Parses flags, file and
 * environment into conf, answers --help and --version, and checks every
 * value (librdkafka properties and the schema registry's settings included)
 * before any network I/O.
 */
#ifndef INV_MAIN_H
#define INV_MAIN_H

#include <signal.h>
#include <stddef.h>

#include "inv_conf.h"

/* Returns -1 when the program should go on (args from argv[*next_arg]),
 * otherwise the exit code: 0 after --help/--version, 2 after a bad flag or
 * value (one line on stderr naming it). */
int inv_main_start(inv_conf_t *conf, const inv_program_t *prog, int argc, char **argv, int *next_arg);

/* The main of a program that takes no arguments besides flags: start-up
 * (above), then, with SIGINT/SIGTERM handled, run(conf, arg, run flag, ...), whose
 * non-zero return is logged with its errstr. Returns the exit code: 0, 1
 * after a failed run, 2 after a bad flag or a stray argument. */
typedef int (*inv_main_run_fn)(inv_conf_t *conf, void *arg, const volatile sig_atomic_t *run, char *errstr,
                               size_t errstr_size);
int inv_main_run(int argc, char **argv, const inv_program_t *prog, inv_main_run_fn run, void *arg);

/* Installs SIGINT/SIGTERM handlers that only clear the process's run flag,
 * ignores SIGPIPE, and returns the flag (1 until a signal comes). The
 * process owns it; libraries borrow it read-only to know when to stop. */
const volatile sig_atomic_t *inv_main_signals_install(void);

#endif
