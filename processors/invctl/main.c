/*
 * invctl: the operator's tool. Each command is one function below; the
 * table at the end maps command words to them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_admin.h"
#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_main.h"

static const inv_conf_flag_t invctl_flags[] = {
    {"state-dir", "state.dir", "DIR", "inv-stock's LMDB environment, for `stock`"},
    {NULL, NULL, NULL, NULL},
};

static const inv_program_t program = {
    .name = "invctl",
    .summary = "Operator tool: create topics, query stock, set reorder policies, inspect the DLQ.",
    .flags = invctl_flags,
    .usage_tail = "COMMAND [ARGS]",
    .commands_help = "Commands:\n"
                     "  topics create [--partitions N] [--replication-factor R]\n"
                     "                         create every contract topic (no-op for existing ones)\n",
};

/* A bad command-line word: one line naming it, exit 2. */
static int usage_error(const char *what, const char *detail) {
    fprintf(stderr, "invctl: %s: %s (see invctl --help)\n", what, detail);
    return 2;
}

static int parse_int_arg(const char *flag, const char *value, int min, int max, int *out) {
    char *end;
    long v = strtol(value, &end, 10);
    if (!*value || *end || v < min || v > max) {
        fprintf(stderr, "invctl: %s: \"%s\" is not an integer in [%d, %d]\n", flag, value, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int cmd_topics_create(inv_conf_t *conf, int argc, char **argv) {
    int partitions = 6, replication = -1;
    static const struct option opts[] = {
        {"partitions", required_argument, NULL, 'p'},
        {"replication-factor", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt == 'p' && parse_int_arg("--partitions", optarg, 1, 10000, &partitions) != 0)
            return 2;
        if (opt == 'r' && parse_int_arg("--replication-factor", optarg, -1, 100, &replication) != 0)
            return 2;
        if (opt == '?' || opt == ':')
            return usage_error(argv[optind - 1], opt == ':' ? "missing argument" : "unknown flag");
    }
    if (optind < argc)
        return usage_error(argv[optind], "unexpected argument");

    char errstr[1024];
    rd_kafka_t *rk = inv_kafka_admin_new(conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "invctl: %s\n", errstr);
        return 1;
    }
    inv_topic_result_t results[INV_ADMIN_TOPIC_COUNT];
    int rc = inv_admin_topics_create(rk, conf, partitions, replication, 15000, results, errstr, sizeof(errstr));
    static const char *const outcome[] = {"created", "exists", "FAILED"};
    for (int i = 0; i < INV_ADMIN_TOPIC_COUNT; i++) {
        if (results[i].outcome == INV_TOPIC_FAILED && !results[i].error[0])
            continue; /* no answer at all: reported once below */
        printf("%-8s %s (%s)%s%s\n", outcome[results[i].outcome], results[i].name, results[i].cleanup_policy,
               results[i].error[0] ? ": " : "", results[i].error);
    }
    if (rc != 0)
        fprintf(stderr, "invctl: %s\n", errstr);
    rd_kafka_destroy(rk);
    return rc == 0 ? 0 : 1;
}

typedef struct {
    const char *word1, *word2;
    int (*fn)(inv_conf_t *conf, int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"topics", "create", cmd_topics_create},
};

int main(int argc, char **argv) {
    inv_conf_t *conf = inv_conf_new();
    int next;
    int rc = inv_main_start(conf, &program, argc, argv, &next);
    const command_t *cmd = NULL;
    for (size_t i = 0; rc < 0 && next < argc && i < sizeof(commands) / sizeof(commands[0]); i++) {
        const command_t *c = &commands[i];
        if (strcmp(argv[next], c->word1) == 0 &&
            (!c->word2 || (next + 1 < argc && strcmp(argv[next + 1], c->word2) == 0)))
            cmd = c;
    }
    if (rc < 0 && !cmd)
        rc = usage_error(next < argc ? argv[next] : "COMMAND", next < argc ? "unknown command" : "missing");
    if (rc < 0) {
        int skip = cmd->word2 ? 1 : 0; /* the command's argv starts at its last word */
        inv_signals_install();
        rc = cmd->fn(conf, argc - next - skip, argv + next + skip);
    }
    inv_conf_destroy(conf);
    return rc;
}
