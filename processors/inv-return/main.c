/* inv-return: ReturnEvents from topic.returns become stock movements, exactly once. */
#include "inv_processor.h"

static const inv_program_t program = {
    .name = "inv-return",
    .summary = "Turns ReturnEvents (topic.returns) into StockMovements (topic.movements), exactly once.",
    .default_group_id = "inv-return",
};

int main(int argc, char **argv) { return inv_processor_main(argc, argv, &program, INV_PROCESSOR_RETURN); }
