/* inv-stock: the stock keeper. Movements in, stock, reorders and shortages
 * out, exactly once, with state in LMDB that follows its partitions. */
#include "inv_keeper.h"
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

static int run_keeper(inv_conf_t *conf, void *arg, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size) {
    (void)arg;
    return inv_keeper_run(conf, run, errstr, errstr_size);
}

int main(int argc, char **argv) { return inv_main_run(argc, argv, &program, run_keeper, NULL); }
