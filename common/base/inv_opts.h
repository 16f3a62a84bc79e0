/*
 * inv_opts: a program's or a command's own flags, beside the common ones
 * inv_conf_parse_args() reads (-b, -c, -X, --help, --version and the
 * program's config flags).
 *
 * The one flag parser of the project works in two steps: inv_opts_extract()
 * takes a program's or command's own flags out of argv, wherever they stand,
 * then inv_conf_parse_args() reads the common flags from what is left. So
 * `invctl topics create -b host:9092 --partitions 3` and
 * `invctl -b host:9092 topics create --partitions 3` mean the same.
 */
#ifndef INV_OPTS_H
#define INV_OPTS_H

#include <stddef.h>

#include "inv_conf.h"

/* --name VALUE or --name=VALUE when has_arg, else --name alone. */
typedef struct {
    const char *name; /* without the leading "--" */
    int has_arg;
    int id; /* handed to the apply function */
} inv_opt_t;

/* Applies one flag (value "" for a flag without one). 0, or -1 with errstr
 * naming the flag, the value and what was expected. */
typedef int (*inv_opt_apply_fn)(void *opaque, int id, const char *value, char *errstr, size_t errstr_size);

/* Takes every flag of opts[0..n) out of argv[1..*argc), in order, calling
 * apply for each; compacts argv (argv[*argc] = NULL after it). Whatever is
 * not one of opts stays in place, and so does the value that follows a
 * common flag taking one (-b, -c, -X, --brokers, --config, and the flags of
 * prog_flags, which may be NULL). "--" ends the scan. The whole of argv is
 * gone through even after an error; the first error is returned: -1 with
 * errstr ("--top: missing argument", "--once: takes no value", or apply's
 * sentence). */
int inv_opts_extract(const inv_opt_t *opts, size_t n, inv_opt_apply_fn apply, void *opaque, int *argc, char **argv,
                     const inv_conf_flag_t *prog_flags, char *errstr, size_t errstr_size);

#endif
