/* inv-transfer: TransferEvents from topic.transfers become transfer_out,
 * transfer_in and transfer_cancel movements, exactly once. */
#include "inv_processor.h"

static const inv_program_t program = {
    .name = "inv-transfer",
    .summary = "Turns TransferEvents (topic.transfers) into transfer StockMovements (topic.movements), exactly once.",
    .default_group_id = "inv-transfer",
};

int main(int argc, char **argv) { return inv_processor_main(argc, argv, &program, INV_PROCESSOR_TRANSFER); }
