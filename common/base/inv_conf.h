/*
 * inv_conf: every program's configuration, as one declarative table of keys
 * with defaults and validation (inv_conf_keys[]).
 *
 * Sources, by precedence: command-line flags (-b, -X key=value, program
 * flags such as --state-dir) > environment (INV_<KEY>, dots as underscores,
 * upper case) > config file (-c FILE, key=value lines) > defaults.
 * `kafka.<prop>` keys pass <prop> through to librdkafka untouched.
 *
 * Errors: functions return 0 on success, -1 with errstr set to one line that
 * names the flag or key, the value and what was expected.
 */
#ifndef INV_CONF_H
#define INV_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { INV_CONF_STRING = 0, INV_CONF_INT, INV_CONF_ENUM } inv_conf_type_t;

typedef struct {
    const char *name;
    inv_conf_type_t type;
    const char *default_value;
    int64_t min, max;    /* INV_CONF_INT bounds, inclusive */
    const char *choices; /* INV_CONF_ENUM: "json,avro" */
    const char *doc;
} inv_conf_key_t;

extern const inv_conf_key_t inv_conf_keys[];
extern const size_t inv_conf_key_count;

typedef struct inv_conf_s inv_conf_t;

/* A program-specific long flag that sets a config key, e.g.
 * {"state-dir", "state.dir", "DIR", "LMDB environment directory"}. */
typedef struct {
    const char *flag;
    const char *key;
    const char *arg_name;
    const char *help;
} inv_conf_flag_t;

typedef struct {
    const char *name;             /* "inv-sale" */
    const char *summary;          /* one line for --help */
    const char *default_group_id; /* NULL: the program has no consumer group */
    const inv_conf_flag_t *flags; /* extra flags, terminated by {NULL} */
    const char *usage_tail;       /* e.g. "COMMAND [ARGS]" for invctl, or NULL */
    const char *commands_help;    /* extra --help text, or NULL */
    int args_anywhere;            /* flags may follow the first word that is not one (a command) */
} inv_program_t;

/* A new configuration holding every default. Never NULL (aborts on OOM). */
inv_conf_t *inv_conf_new(void);
void inv_conf_destroy(inv_conf_t *c);

/* Sets one key after validating the value. kafka.* keys are kept as given;
 * librdkafka validates them when inv_kafka builds its conf. */
int inv_conf_set(inv_conf_t *c, const char *key, const char *value, char *errstr, size_t errstr_size);

/* The value of a key of the table (never NULL). Borrowed: valid until the
 * key is set again or the conf is destroyed. A key not in the table is a
 * bug in the caller: it is logged and the process aborts, so a mistyped key
 * fails the first run that reads it instead of reading as empty. */
const char *inv_conf_get(const inv_conf_t *c, const char *key);
/* The value of an INV_CONF_INT key of the table; any other key aborts, as
 * above. */
int64_t inv_conf_get_int(const inv_conf_t *c, const char *key);

/* Iterates over the kafka.* keys set (prop without the prefix). */
size_t inv_conf_kafka_count(const inv_conf_t *c);
void inv_conf_kafka_at(const inv_conf_t *c, size_t i, const char **prop, const char **value);

/* Applies a key=value file: blank lines and lines starting with # are
 * skipped. Errors name "FILE:LINE". */
int inv_conf_load_file(inv_conf_t *c, const char *path, char *errstr, size_t errstr_size);

/* Applies INV_<KEY> variables of envp for known keys and INV_KAFKA_<PROP>
 * for librdkafka props (underscores become dots). Other INV_ variables are
 * left to scripts (INV_BROKER_PORT) and ignored here. */
int inv_conf_load_env(inv_conf_t *c, char *const *envp, char *errstr, size_t errstr_size);

#define INV_CONF_PARSED 0
#define INV_CONF_HELP 1    /* --help was given: print usage, exit 0 */
#define INV_CONF_VERSION 2 /* --version was given */

/* Parses the common flags and the program's own flags, stopping at the first
 * non-option argument (*next_arg is its index; with prog->args_anywhere the
 * flags after it are parsed too and the other words moved after them, from
 * *next_arg on, in order), then applies file, env and
 * flags in precedence order. Returns INV_CONF_PARSED, INV_CONF_HELP,
 * INV_CONF_VERSION, or -1 with errstr naming the bad flag or value. */
int inv_conf_parse_args(inv_conf_t *c, const inv_program_t *prog, int argc, char **argv, int *next_arg, char *errstr,
                        size_t errstr_size);

/* Writes --help text for prog to out. */
void inv_conf_usage(const inv_program_t *prog, FILE *out);

/* Writes the configuration reference (Markdown table) to out. */
void inv_conf_write_reference(FILE *out);

#endif
