/*
 * inv_prefetch: a small consumer prefetch queue without librdkafka's
 * one-second stall (INV_RDK_FETCH_QUEUE_STALL in inv_rdk_compat.h).
 *
 * librdkafka prefetches into the consumer queue until it holds
 * queued.min.messages messages or queued.max.messages.kbytes of payload
 * (one limit for the whole queue: every partition's fetch queue forwards
 * into it). Past either limit a partition leaves the fetch list, and in
 * 2.0.2 nothing puts it back until its broker thread wakes up for another
 * reason, at the latest after a second (rdkafka_fetcher.c,
 * rd_kafka_toppar_fetch_decide; 2.2 added fetch.queue.backoff.ms). A small
 * queue thus costs a second per queue-full of messages, which is why the
 * defaults are 100 000 messages and 64 MiB, most of a consumer's memory.
 *
 * This module lets the queue be small: it watches the queue's length as
 * the application drains it, and once a queue that reached its limit is
 * down to a quarter of it, it wakes the fetching broker threads with one
 * ListOffsets request per leader (rd_kafka_offsets_for_times), whose
 * arrival makes them re-decide which partitions to fetch. A queue that
 * never fills (a consumer keeping up) never triggers a request.
 *
 * Use from the thread that polls the consumer.
 */
#ifndef INV_PREFETCH_H
#define INV_PREFETCH_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct inv_prefetch_s inv_prefetch_t;

typedef struct {
    uint64_t wakeups;       /* requests sent to wake the fetchers */
    uint64_t wakeup_errors; /* of which failed (timed out, no leader) */
    int64_t queue_max_msgs; /* the limits read from the consumer's configuration */
    int64_t queue_max_bytes;
} inv_prefetch_stats_t;

/* Watches `consumer` (borrowed; a high-level consumer whose messages are
 * read with rd_kafka_consumer_poll). Reads its queued.min.messages and
 * queued.max.messages.kbytes. NULL only when out of memory. */
inv_prefetch_t *inv_prefetch_new(rd_kafka_t *consumer);

void inv_prefetch_destroy(inv_prefetch_t *p);

/* Call after every rd_kafka_consumer_poll with its result (msg may be
 * NULL). Checks the queue's length every few messages and on every empty
 * poll, and wakes the fetchers when it is due, which waits for the
 * ListOffsets answers (one round trip, at most 500 ms). Returns 1 when it
 * woke them, else 0. */
int inv_prefetch_after_poll(inv_prefetch_t *p, const rd_kafka_message_t *msg);

const inv_prefetch_stats_t *inv_prefetch_stats(const inv_prefetch_t *p);

#endif
