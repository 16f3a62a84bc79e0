/*
 * inv_processor: the stateless per-topic processors (inv-sale, inv-return,
 * inv-restock). Decode each POS event (JSON or Avro), validate it, split it
 * into one StockMovement per line and produce the movements to
 * topic.movements keyed by SKU (murmur2, as the Java client), all inside
 * inv_txloop's transactions; an invalid event goes to the DLQ with the
 * decoder's precise reason.
 */
#ifndef INV_PROCESSOR_H
#define INV_PROCESSOR_H

#include <signal.h>
#include <stddef.h>

#include "inv_codec.h"
#include "inv_conf.h"
#include "inv_main.h"

/* Runs the processor for events of `kind` read from input_topic until *run
 * is 0 (the process's run flag, borrowed). Returns 0 on a clean stop, -1
 * with errstr on failure. */
int inv_processor_run(const inv_conf_t *conf, inv_event_kind_t kind, const char *input_topic,
                      const volatile sig_atomic_t *run, char *errstr, size_t errstr_size);

/* The whole main of inv-sale, inv-return and inv-restock: start-up
 * (inv_main_run), then the processor for `kind` on the topic named by the
 * config key topic_key. Returns the exit code. */
int inv_processor_main(int argc, char **argv, const inv_program_t *prog, inv_event_kind_t kind, const char *topic_key);

#endif
