/* inv-sale: SaleEvents from topic.sales become stock movements, exactly once. */
#include "inv_processor.h"

static const inv_program_t program = {
    .name = "inv-sale",
    .summary = "Turns SaleEvents (topic.sales) into StockMovements (topic.movements), exactly once.",
    .default_group_id = "inv-sale",
};

int main(int argc, char **argv) { return inv_processor_main(argc, argv, &program, INV_PROCESSOR_SALE); }
