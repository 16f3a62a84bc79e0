#include "inv_main.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_kafka.h"
#include "inv_log.h"
#include "inv_registry_conf.h"

static volatile sig_atomic_t run_flag = 1;

static void on_signal(int sig) {
    (void)sig;
    run_flag = 0;
}

const volatile sig_atomic_t *inv_main_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &run_flag;
}

int inv_main_start(inv_conf_t *conf, const inv_program_t *prog, int argc, char **argv, int *next_arg) {
    char errstr[INV_ERRSTR_SIZE];
    /* One malloc arena for all threads unless MALLOC_ARENA_MAX says
     * otherwise: glibc gives each of librdkafka's threads an arena of its
     * own, and memory freed in one cannot serve another. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 1);
    inv_log_set_program(prog->name);
    int rc = inv_conf_parse_args(conf, prog, argc, argv, next_arg, errstr, sizeof(errstr));
    if (rc == INV_CONF_HELP) {
        inv_conf_usage(prog, stdout);
        return 0;
    }
    if (rc == INV_CONF_VERSION) {
        printf("%s %s\n", prog->name, INV_VERSION);
        return 0;
    }
    if (rc == 0) {
        inv_kafka_settings_t ks;
        inv_kafka_settings_read(conf, &ks);
        if (inv_kafka_conf_check(&ks, errstr, sizeof(errstr)) != 0)
            rc = -1;
        inv_kafka_settings_free(&ks);
    }
    if (rc == 0) {
        inv_registry_conf_t rs;
        if (inv_registry_conf_read(conf, &rs, errstr, sizeof(errstr)) != 0)
            rc = -1;
    }
    if (rc == 0 && inv_conf_get_int(conf, "count.window.ms") > inv_conf_get_int(conf, "dedup.window.ms")) {
        snprintf(
            errstr, sizeof(errstr),
            "count.window.ms: %lld is more than dedup.window.ms (%lld): the count history moves with the dedup log",
            (long long)inv_conf_get_int(conf, "count.window.ms"), (long long)inv_conf_get_int(conf, "dedup.window.ms"));
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", prog->name, errstr);
        return 2;
    }
    inv_log_set_level_name(inv_conf_get(conf, "log.level"));
    return -1;
}

int inv_main_run(int argc, char **argv, const inv_program_t *prog, inv_main_run_fn run, void *arg) {
    inv_conf_t *conf = inv_conf_new();
    int next_arg;
    int rc = inv_main_start(conf, prog, argc, argv, &next_arg);
    if (rc < 0 && next_arg < argc) {
        fprintf(stderr, "%s: %s: unexpected argument (see --help)\n", prog->name, argv[next_arg]);
        rc = 2;
    }
    if (rc < 0) {
        char errstr[INV_ERRSTR_SIZE];
        errstr[0] = '\0';
        const volatile sig_atomic_t *run_flag_ptr = inv_main_signals_install();
        rc = run(conf, arg, run_flag_ptr, errstr, sizeof(errstr)) == 0 ? 0 : 1;
        if (rc)
            inv_log_error("%s", errstr);
    }
    inv_conf_destroy(conf);
    return rc;
}
