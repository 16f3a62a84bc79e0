/*
 * inv_rdk_compat: every librdkafka bug or limitation this project works
 * around, in one place, keyed on the librdkafka it is built with.
 *
 * Each INV_RDK_* macro is 1 while the workaround is needed and names the
 * upstream issue it answers; the code behind it says `#if INV_RDK_...` or,
 * where the workaround is also harmless on a fixed librdkafka, refers to the
 * macro's name in a comment. Upgrading librdkafka past a fix turns a macro
 * to 0: grep its name to find the code that can go. Versions are
 * RD_KAFKA_VERSION values (0xMMmmrrxx). Built and tested with Debian 12's
 * 2.0.2.
 */
#ifndef INV_RDK_COMPAT_H
#define INV_RDK_COMPAT_H

#include <librdkafka/rdkafka.h>

/* The version of the headers; rd_kafka_version() tells the library loaded. */
#define INV_RDK_BUILT_WITH RD_KAFKA_VERSION

/* Cooperative rebalancing hangs, duplicates and loses assignments before
 * 2.10.0 (fixes spread over 2.4.0-2.10.0): consumers use the eager `range`
 * assignor (inv_kafka_consumer_new). */
#define INV_RDK_COOPERATIVE_UNSAFE (RD_KAFKA_VERSION < 0x020a0000)

/* The batch consume API is unsafe with seek, pause and rebalances in 2.0.x:
 * messages are taken one at a time with rd_kafka_consumer_poll (inv_txloop). */
#define INV_RDK_BATCH_CONSUME_UNSAFE (RD_KAFKA_VERSION < 0x02010000)

/* rd_kafka_seek_partitions' timeout is 1000x too short before 2.1.0
 * (librdkafka#4230): rewinds use rd_kafka_seek with timeout 0 (inv_txloop). */
#define INV_RDK_SEEK_PARTITIONS_TIMEOUT (RD_KAFKA_VERSION < 0x02010000)

/* Re-assigning while a revocation is pending trips the rktp_started
 * assertion (librdkafka#5573, open): rewinds seek, never re-assign
 * (inv_txloop). Not known fixed in any version. */
#define INV_RDK_REASSIGN_ASSERT 1

/* A partition whose fetch queue filled leaves the fetch list until its
 * broker thread wakes for another reason, up to a second later; 2.2.0 added
 * fetch.queue.backoff.ms (librdkafka#2879). inv_prefetch wakes the fetchers
 * instead, so the consumer queue can stay small. */
#define INV_RDK_FETCH_QUEUE_STALL (RD_KAFKA_VERSION < 0x02020000)

/* rd_kafka_destroy can hang forever on a leaked partition reference
 * (librdkafka#4362, #4486, #4674): inv_kafka_destroy_bounded gives up after
 * shutdown.timeout.ms. Not known fixed in every path; kept on. */
#define INV_RDK_DESTROY_MAY_HANG 1

/* An idempotent producer can fail fatally with "sequence desynchronization"
 * after a disconnect before 2.3.0 (librdkafka#4438): inv_txloop recreates a
 * producer whose error is fatal. */
#define INV_RDK_IDEMPOTENT_DESYNC_FATAL (RD_KAFKA_VERSION < 0x02030000)

/* rd_kafka_assign() is refused without a group.id: readers that assign
 * partitions themselves get a group.id they never join
 * (inv_kafka_reader_new). */
#define INV_RDK_ASSIGN_NEEDS_GROUP_ID 1

/* AddOffsetsToTxn answered CONCURRENT_TRANSACTIONS (the previous
 * transaction's markers still being written) is retried after
 * retry.backoff.ms: producers default it to 10 ms instead of 100
 * (inv_kafka_producer_new), and the engine alternates transactional
 * producers (inv_txloop). */
#define INV_RDK_CONCURRENT_TXN_BACKOFF 1

/* Each transactional producer's main thread spins in clock_gettime before
 * 2.4.0 (librdkafka#4671): a CPU cost per producer, nothing to work around;
 * listed for the figures in docs/BENCHMARKS.md. */
#define INV_RDK_TXN_CLOCK_SPIN (RD_KAFKA_VERSION < 0x02040000)

/* A transactional producer could not find a new transaction coordinator
 * while a metadata request was stuck on an unreachable broker: its
 * transactional calls time out again and again (fixed in 2.10.0). After
 * retrying a commit or abort for 2 x transaction.timeout.ms the
 * loop recreates the producer (inv_txloop.c give_up_transaction). */
#define INV_RDK_TXN_COORD_STUCK (RD_KAFKA_VERSION < 0x020a0000)

#endif
