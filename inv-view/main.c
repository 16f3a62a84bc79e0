/* inv-view: the read side. Materializes stock, availability, shortages and
 * reorders into LMDB and serves the HTTP API and the web dashboard. */
#include "inv_main.h"
#include "inv_view.h"

static const inv_conf_flag_t flags[] = {
    {"state-dir", "state.dir", "DIR", "LMDB environment directory (default ./state)"},
    {"http", "http.listen", "ADDR:PORT", "serve the API and the dashboard (default 127.0.0.1:8080)"},
    {NULL, NULL, NULL, NULL},
};

static const inv_program_t program = {
    .name = "inv-view",
    .summary = "Materializes StockLevels, AvailabilityLevels, ShortageEvents and ReorderEvents into LMDB and serves\n"
               "them: an HTTP API, server-sent events and a web dashboard. Any number of replicas.",
    .default_group_id = "inv-view",
    .flags = flags,
};

static int run_view(inv_conf_t *conf, void *arg, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    (void)arg;
    return inv_view_run(conf, run, errstr, errstr_size);
}

int main(int argc, char **argv) { return inv_main_run(argc, argv, &program, run_view, NULL); }
