/* inv_opts: a program's or command's own flags (inv_opts.h). */
#include "inv_opts.h"
#include "inv_log.h"

#include <stdio.h>
#include <string.h>

/* Does `arg` (a common flag) take the next word as its value? */
static int common_takes_value(const char *arg, const inv_conf_flag_t *prog_flags) {
    if (strcmp(arg, "-b") == 0 || strcmp(arg, "-c") == 0 || strcmp(arg, "-X") == 0 || strcmp(arg, "--brokers") == 0 ||
        strcmp(arg, "--config") == 0)
        return 1;
    for (size_t i = 0; prog_flags && prog_flags[i].flag; i++)
        if (strncmp(arg, "--", 2) == 0 && strcmp(arg + 2, prog_flags[i].flag) == 0)
            return 1;
    return 0;
}

/* The option `arg` names (NULL: none of opts) and its "=value" part. */
static const inv_opt_t *find(const inv_opt_t *opts, size_t n, const char *arg, const char **inline_value) {
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) {
            *inline_value = eq ? eq + 1 : NULL;
            return &opts[i];
        }
    return NULL;
}

int inv_opts_extract(const inv_opt_t *opts, size_t n, inv_opt_apply_fn apply, void *opaque, int *argc, char **argv,
                     const inv_conf_flag_t *prog_flags, char *errstr, size_t errstr_size) {
    int rc = 0, out = 1, i = 1;
    char err[INV_ERRSTR_SIZE];
    while (i < *argc && strcmp(argv[i], "--") != 0) {
        const char *value = NULL;
        const inv_opt_t *o = find(opts, n, argv[i], &value);
        if (!o) {
            if (common_takes_value(argv[i], prog_flags) && i + 1 < *argc)
                argv[out++] = argv[i++];
            argv[out++] = argv[i++];
            continue;
        }
        i++;
        int r = -1;
        if (!o->has_arg && value)
            snprintf(err, sizeof(err), "--%s: takes no value", o->name);
        else if (o->has_arg && !value && i >= *argc)
            snprintf(err, sizeof(err), "--%s: missing argument", o->name);
        else
            r = apply(opaque, o->id, o->has_arg ? (value ? value : argv[i++]) : "", err, sizeof(err));
        if (r && rc == 0) {
            snprintf(errstr, errstr_size, "%s", err);
            rc = -1;
        }
    }
    while (i < *argc)
        argv[out++] = argv[i++];
    argv[out] = NULL;
    *argc = out;
    return rc;
}
