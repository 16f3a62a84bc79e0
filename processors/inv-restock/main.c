/* inv-restock: RestockEvents from topic.restocks become stock movements, exactly once. */
#include "inv_processor.h"

static const inv_program_t program = {
    .name = "inv-restock",
    .summary = "Turns RestockEvents (topic.restocks) into StockMovements (topic.movements), exactly once.",
    .default_group_id = "inv-restock",
};

int main(int argc, char **argv) { return inv_processor_main(argc, argv, &program, INV_PROCESSOR_RESTOCK); }
