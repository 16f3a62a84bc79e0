/* inv-reserve: ReservationEvents from topic.reservations become reserve and
 * release movements, exactly once. */
#include "inv_processor.h"

static const inv_program_t program = {
    .name = "inv-reserve",
    .summary = "Turns ReservationEvents (topic.reservations) into reserve and release StockMovements "
               "(topic.movements), exactly once.",
    .default_group_id = "inv-reserve",
};

int main(int argc, char **argv) { return inv_processor_main(argc, argv, &program, INV_PROCESSOR_RESERVATION); }
