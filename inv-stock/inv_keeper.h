/*
 * inv_keeper: the stock keeper (inv-stock). One consumer group on
 * topic.movements; the owner of partition p owns every SKU in p. Each batch
 * applies its movements in one LMDB write txn and, in one Kafka transaction,
 * produces the changed StockLevels (to partition p of topic.stock: the
 * changelog), the ReorderEvents and ShortageEvents, the applied movement ids
 * (to partition p of topic.dedup) and the consumed offsets. LMDB commits only
 * after Kafka has, and records the input offset it reflects; an assigned
 * partition whose LMDB offset differs from the group's committed offset is
 * rebuilt from the changelog (inv_restore). Policies come from the whole
 * compacted topic.policies, read outside the group by every instance.
 */
#ifndef INV_KEEPER_H
#define INV_KEEPER_H

#include <signal.h>
#include <stddef.h>

#include "inv_conf.h"

/* Runs until *run is 0 (the process's run flag, borrowed). conf may be
 * updated (instance.id from the state dir). 0 on a clean stop, -1 with
 * errstr on failure. */
int inv_keeper_run(inv_conf_t *conf, const volatile sig_atomic_t *run, char *errstr, size_t errstr_size);

#endif
