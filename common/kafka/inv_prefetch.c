/* inv_prefetch: see inv_prefetch.h for why librdkafka 2.0.2 needs it. */
#include "inv_prefetch.h"

#include <stdlib.h>

#include "inv_parse.h"

#define CHECK_EVERY 32      /* messages between two looks at the queue */
#define WAKE_TIMEOUT_MS 500 /* ListOffsets round trip; the fetchers woke when it was sent */

struct inv_prefetch_s {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* the consumer queue every fetch queue forwards to */
    int64_t max_msgs, max_bytes;
    double avg_len; /* moving average of payload sizes, to estimate the queue's bytes */
    unsigned since_check;
    int filled; /* the queue reached 3/4 of a limit since the last wake-up */
    inv_prefetch_stats_t stats;
};

static int64_t conf_int(rd_kafka_t *rk, const char *name, int64_t dflt) {
    char buf[64];
    size_t size = sizeof(buf);
    if (rd_kafka_conf_get(rd_kafka_conf(rk), name, buf, &size) != RD_KAFKA_CONF_OK)
        return dflt;
    int64_t v;
    return inv_parse_int64(buf, 1, INT64_MAX, &v) == 0 ? v : dflt;
}

inv_prefetch_t *inv_prefetch_new(rd_kafka_t *consumer) {
    inv_prefetch_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->rk = consumer;
    p->queue = rd_kafka_queue_get_consumer(consumer);
    p->max_msgs = conf_int(consumer, "queued.min.messages", 100000);
    p->max_bytes = conf_int(consumer, "queued.max.messages.kbytes", 65536) * 1024;
    p->avg_len = 256;
    p->stats.queue_max_msgs = p->max_msgs;
    p->stats.queue_max_bytes = p->max_bytes;
    return p;
}

void inv_prefetch_destroy(inv_prefetch_t *p) {
    if (!p)
        return;
    if (p->queue)
        rd_kafka_queue_destroy(p->queue);
    free(p);
}

/* A ListOffsets request to the leader of every assigned partition: its
 * arrival wakes that broker thread, which then puts the partitions whose
 * queue is below the limits back on its fetch list. */
static void wake_fetchers(inv_prefetch_t *p) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(p->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    if (parts->cnt > 0) {
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = RD_KAFKA_OFFSET_END; /* as a timestamp: the latest offset */
        p->stats.wakeups++;
        if (rd_kafka_offsets_for_times(p->rk, parts, WAKE_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
            p->stats.wakeup_errors++;
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

int inv_prefetch_after_poll(inv_prefetch_t *p, const rd_kafka_message_t *msg) {
    if (!p || !p->queue)
        return 0;
    if (msg) {
        if (!msg->err)
            p->avg_len += ((double)msg->len - p->avg_len) / 64;
        if (++p->since_check < CHECK_EVERY)
            return 0;
    }
    p->since_check = 0;
    int64_t len = rd_kafka_queue_length(p->queue);
    double bytes = (double)len * p->avg_len;
    if (len * 4 >= p->max_msgs * 3 || bytes * 4 >= (double)p->max_bytes * 3) {
        p->filled = 1;
        return 0;
    }
    if (!p->filled || len * 4 > p->max_msgs || bytes * 4 > (double)p->max_bytes)
        return 0;
    p->filled = 0;
    wake_fetchers(p);
    return 1;
}

const inv_prefetch_stats_t *inv_prefetch_stats(const inv_prefetch_t *p) { return &p->stats; }
