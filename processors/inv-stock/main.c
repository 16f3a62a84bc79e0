/* inv-stock: the stock keeper. Movements in, stock, reorders and shortages
 * out, exactly once, with state in LMDB that follows its partitions. */
#include <stdio.h>

#include "inv_keeper.h"
#include "inv_log.h"
#include "inv_main.h"

static const inv_conf_flag_t flags[] = {
    {"state-dir", "state.dir", "DIR", "LMDB environment directory (default ./state)"},
    {"http", "http.listen", "ADDR:PORT", "serve /healthz, /metrics, /stock/<sku>"},
    {NULL, NULL, NULL, NULL},
};

static const inv_program_t program = {
    .name = "inv-stock",
    .summary = "Applies StockMovements (topic.movements) to cross-channel stock in LMDB and emits StockLevels,\n"
               "ReorderEvents and ShortageEvents, exactly once.",
    .default_group_id = "inv-stock",
    .flags = flags,
};

int main(int argc, char **argv) {
    inv_conf_t *conf = inv_conf_new();
    int next;
    int rc = inv_main_start(conf, &program, argc, argv, &next);
    if (rc < 0 && next < argc) {
        fprintf(stderr, "inv-stock: %s: unexpected argument (see --help)\n", argv[next]);
        rc = 2;
    }
    if (rc < 0) {
        char errstr[1024];
        inv_signals_install();
        rc = inv_keeper_run(conf, errstr, sizeof(errstr)) == 0 ? 0 : 1;
        if (rc)
            inv_log_error("%s", errstr);
    }
    inv_conf_destroy(conf);
    return rc;
}
