/*
 * lg_args: inv-loadgen's own flags (--rate, --count, --skus, ...), kept out
 * of the shared configuration table because no other program reads them.
 *
 * inv-loadgen takes them out of argv first (lg_args_extract), hands the rest
 * to the shared start-up (inv_main_start: -b, -c, -X, --format, --help,
 * --version), then checks them against the configuration (lg_args_finish).
 * Errors name the flag, the value and what was expected, as one line.
 */
#ifndef LG_ARGS_H
#define LG_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "inv_conf.h"
#include "lg_model.h"

typedef struct {
    lg_model_conf_t model;
    double rate;         /* messages per second; 0 = as fast as possible */
    uint64_t count;      /* traffic messages; 0 = no limit */
    int64_t duration_ms; /* 0 = no limit */
    int seed_given;
    int reorder_feedback; /* --reorder-feedback */
    int no_channel_map;   /* --no-channel-map */
    int plan_policies;    /* --plan-policies */
    int64_t lead_time_ms;
    const char *oracle_path; /* borrowed from argv */
    const char *stats_path;
    /* which defaults the user overrode (some depend on other flags) */
    int receipts_given, counts_given;
} lg_args_t;

/* The --help text of the load generator's own flags (for inv_program_t). */
extern const char lg_args_help[];

/* Defaults (docs/LOADGEN.md). */
void lg_args_init(lg_args_t *a);

/* Parses and removes inv-loadgen's flags (--name VALUE or --name=VALUE)
 * from argv, compacting it and updating *argc; everything else, and every
 * argument of -b, -c, -X, --brokers, --config and the `skip_flags` (the
 * program's inv_conf_flag_t table, may be NULL), is left in place. Stops at
 * "--". All of argv is processed even after an error; the first error is
 * returned: -1 with errstr naming the flag. */
int lg_args_extract(lg_args_t *a, int *argc, char **argv, const inv_conf_flag_t *skip_flags, char *errstr,
                    size_t errstr_size);

/* Completes the model configuration from conf (output.format, the schema
 * ids, how soon holds are followed up at --rate) and checks the
 * combination: --oracle excludes --reorder-feedback and turns counts off
 * unless --counts-ratio is given; the ratios add up. 0, or -1 with errstr. */
int lg_args_finish(lg_args_t *a, const inv_conf_t *conf, char *errstr, size_t errstr_size);

/* "30", "30s", "1500ms", "5m", "2h" -> milliseconds; 0 or -1. */
int lg_args_parse_duration(const char *s, int64_t *ms);

#endif
