/*
 * bench_preload: the benchmark's input (tests/bench/run.sh).
 *
 *   bench_preload produce -b BROKERS -t TOPIC -n COUNT [--seed S] [--skus N]
 *                 [--locations N] [--dup-permille P] [--rate R] [--stock-take]
 *                 [--reservations P] [--transfers P] [--late P]
 *   bench_preload create -b BROKERS -p PARTITIONS TOPIC[:compact] ...
 *   bench_preload delete -b BROKERS TOPIC ...
 *
 * produce writes COUNT StockMovements (JSON, keyed by sku, murmur2
 * partitioner, lz4, idempotent: as inv-sale/inv-return/inv-restock write
 * inventory.movements) from a seeded generator, so the same seed gives the
 * same input byte for byte. With --stock-take the input opens with one
 * count (20-80 units) per (sku, location), as after a physical inventory.
 * Then the mix: 80% sales (1-3 units), 4% resellable and 1% damaged
 * returns, 11% receipts (5-25), 2.5% adjustments (+-1..5), 1.5% counts
 * (0-40); half the movements hit the hottest 10% of the SKUs;
 * P per mille are re-sent copies of a recent movement (same id: the keeper
 * must drop them). Without --rate, as fast as the broker takes them, with
 * occurred_at = 2026-11-22T00:00:00Z + i ms (deterministic output); with
 * --rate R, R movements per second with occurred_at = the wall clock at
 * produce time, for latency runs.
 *
 * With --reservations P, P per mille of the movements are reservation
 * traffic instead (the rest keeps the mix above): half of it holds
 * (`reserve` of 1-3 units, reservation_id, expires_at a year after
 * occurred_at, allow_partial on one in four), and the rest closes an open
 * hold picked at random, three times in five by a sale of its units carrying
 * its reservation_id (fulfilled), else by a `release` of them; channels
 * store, online, marketplace, b2b. Ids then carry the seed (`s43-T-5`), so
 * runs with other seeds on the same topics are not duplicates of each other.
 *
 * With --transfers P, P per mille of the movements are transfer traffic: a
 * shipment (`transfer_out` of 4-24 units from one location to another),
 * or for an open transfer picked at random, a receipt of all or part of
 * what is in transit (one in five with 1 rejected unit) or, one time in
 * six, a cancel of the rest.
 * With --late P, P per mille of the sales are dated 5 minutes before their
 * place in the sequence (a till uploading late): with the stock take and
 * the counts of the mix, some fall before a count of their row.
 *
 * Exit 0 when every message was acknowledged, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 1024
#define BASE_MS INT64_C(1795305600000) /* 2026-11-22T00:00:00Z */
#define LATE_MS INT64_C(300000)        /* how late --late sales are dated */
static long long late_permille;        /* --late */

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static void fmt_time(int64_t ms, char out[32]) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)(ms % 1000));
}

typedef struct {
    char key[32];
    size_t key_len;
    char value[512];
    size_t value_len;
} msg_t;

static long skus = 5000, locations = 20;
static char id_tag[24]; /* "s<seed>-" with --reservations, else "" */

/* extra: more members (",\"reservation_id\":...") or "". */
static void put_movement(msg_t *m, const char *type, const char *event_id, long sku, long loc, const char *channel,
                         long q, int64_t occurred_ms, const char *source_prefix, const char *extra) {
    char when[32];
    fmt_time(occurred_ms, when);
    m->key_len = (size_t)snprintf(m->key, sizeof(m->key), "SKU-%06ld", sku);
    m->value_len = (size_t)snprintf(
        m->value, sizeof(m->value),
        "{\"movement_id\":\"%s:%s:0\",\"sku\":\"SKU-%06ld\",\"location_id\":\"loc-%03ld\","
        "\"channel\":%s,\"type\":\"%s\",\"quantity\":%ld,\"occurred_at\":\"%s\",\"source\":\"%s%03ld\"%s}",
        type, event_id, sku, loc, channel, type, q, when, source_prefix, loc, extra);
}

/* A SKU: half the time one of the hottest 10%, else any. */
static long pick_sku(void) {
    uint64_t r = rnd();
    return (r & 1) ? (long)((r >> 1) % (uint64_t)(skus / 10 > 0 ? skus / 10 : 1)) : (long)((r >> 1) % (uint64_t)skus);
}

/* The stock take's i-th count: one per (sku, location). */
static void gen_stock_take(uint64_t i, int64_t occurred_ms, msg_t *m) {
    char id[64];
    snprintf(id, sizeof(id), "ST-%" PRIu64, i);
    put_movement(m, "count", id, (long)(i / (uint64_t)locations), (long)(i % (uint64_t)locations), "null",
                 20 + (long)(rnd() % 61), occurred_ms, "wms-", "");
}

/* The i-th movement of the seeded sequence. */
static void gen(uint64_t i, int64_t occurred_ms, msg_t *m) {
    static const struct {
        int permille;
        const char *type, *prefix;
        int restock;
    } mix[] = {
        {800, "sale", "T", 0},     {40, "return_resellable", "R", 0}, {10, "return_damaged", "R", 0},
        {110, "receipt", "GR", 1}, {25, "adjustment", "ADJ", 1},      {15, "count", "CNT", 1},
    };
    static const char *channels[] = {"store", "store", "store", "online", "marketplace", "b2b"};
    int pick = (int)(rnd() % 1000), t = 0;
    for (int acc = mix[0].permille; pick >= acc; acc += mix[++t].permille)
        ;
    if (t == 0 && late_permille > 0 && (long long)(rnd() % 1000) < late_permille)
        occurred_ms -= LATE_MS; /* a till uploading late */
    long sku = pick_sku();
    long loc = (long)(rnd() % (uint64_t)locations);
    long q;
    uint64_t qr = rnd();
    switch (t) {
    case 0: q = 1 + (long)(qr % 3); break;
    case 1:
    case 2: q = 1 + (long)(qr % 2); break;
    case 3: q = 5 + (long)(qr % 21); break;
    case 4: q = (1 + (long)(qr % 5)) * ((qr >> 8) & 1 ? 1 : -1); break;
    default: q = (long)(qr % 41); break;
    }
    char channel[32], id[64];
    if (mix[t].restock)
        snprintf(channel, sizeof(channel), "null");
    else
        snprintf(channel, sizeof(channel), "\"%s\"", channels[rnd() % 6]);
    snprintf(id, sizeof(id), "%s%s-%" PRIu64, id_tag, mix[t].prefix, i);
    put_movement(m, mix[t].type, id, sku, loc, channel, q, occurred_ms, mix[t].restock ? "wms-" : "pos-", "");
}

/* The open holds of --reservations, closed in random order. */
#define POOL 4096
static struct {
    uint64_t id;
    long sku, loc, q;
    int channel;
} pool[POOL];
static size_t pool_len;

/* The i-th movement when it is reservation traffic: a hold, or a sale or a
 * release closing an open one. */
static void gen_reservation(uint64_t i, int64_t occurred_ms, msg_t *m) {
    static const char *channels[] = {"store", "online", "marketplace", "b2b"};
    char id[64], channel[32], extra[160], when[32];
    int hold = pool_len == 0 || (pool_len < POOL && rnd() % 2 == 0);
    if (hold) {
        long sku = pick_sku();
        long loc = (long)(rnd() % (uint64_t)locations), q = 1 + (long)(rnd() % 3);
        int ch = (int)(rnd() % 4), partial = rnd() % 4 == 0;
        fmt_time(occurred_ms + INT64_C(365) * 86400000, when);
        snprintf(extra, sizeof(extra), ",\"reservation_id\":\"R%s%" PRIu64 "\",\"expires_at\":\"%s\"%s", id_tag, i,
                 when, partial ? ",\"allow_partial\":true" : "");
        snprintf(id, sizeof(id), "%sRV-%" PRIu64, id_tag, i);
        snprintf(channel, sizeof(channel), "\"%s\"", channels[ch]);
        put_movement(m, "reserve", id, sku, loc, channel, q, occurred_ms, "web-", extra);
        pool[pool_len].id = i;
        pool[pool_len].sku = sku;
        pool[pool_len].loc = loc;
        pool[pool_len].q = q;
        pool[pool_len].channel = ch;
        pool_len++;
        return;
    }
    size_t k = (size_t)(rnd() % pool_len);
    int sale = rnd() % 5 < 3;
    snprintf(extra, sizeof(extra), ",\"reservation_id\":\"R%s%" PRIu64 "\"", id_tag, pool[k].id);
    snprintf(id, sizeof(id), "%s%s-%" PRIu64, id_tag, sale ? "T" : "RL", i);
    snprintf(channel, sizeof(channel), "\"%s\"", channels[pool[k].channel]);
    put_movement(m, sale ? "sale" : "release", id, pool[k].sku, pool[k].loc, channel, pool[k].q, occurred_ms,
                 sale ? "pos-" : "web-", extra);
    pool[k] = pool[--pool_len];
}

/* The open transfers of --transfers. */
typedef struct {
    uint64_t id;
    long sku, from, to, in_transit;
} open_transfer_t;
static open_transfer_t tpool[POOL];
static size_t tpool_len;

/* The i-th movement when it is transfer traffic. */
static void gen_transfer(uint64_t i, int64_t occurred_ms, msg_t *m) {
    char id[64], extra[200];
    if (tpool_len == 0 || (tpool_len < POOL && rnd() % 3 == 0)) {
        long sku = pick_sku();
        long from = (long)(rnd() % (uint64_t)locations),
             to = (from + 1 + (long)(rnd() % (uint64_t)(locations - 1))) % locations;
        long q = 4 + (long)(rnd() % 21);
        snprintf(id, sizeof(id), "%sTR-%" PRIu64 "-s", id_tag, i);
        snprintf(extra, sizeof(extra), ",\"transfer_id\":\"%sTR-%" PRIu64 "\",\"other_location_id\":\"loc-%03ld\"",
                 id_tag, i, to);
        put_movement(m, "transfer_out", id, sku, from, "null", q, occurred_ms, "wms-", extra);
        tpool[tpool_len++] = (open_transfer_t){i, sku, from, to, q};
        return;
    }
    size_t k = (size_t)(rnd() % tpool_len);
    int cancel = rnd() % 6 == 0;
    long q = cancel ? tpool[k].in_transit : 1 + (long)(rnd() % (uint64_t)tpool[k].in_transit);
    long rejected = !cancel && rnd() % 5 == 0 ? 1 : 0;
    snprintf(id, sizeof(id), "%sTR-%" PRIu64 "-%s%" PRIu64, id_tag, tpool[k].id, cancel ? "c" : "r", i);
    snprintf(extra, sizeof(extra),
             ",\"transfer_id\":\"%sTR-%" PRIu64 "\",\"other_location_id\":\"loc-%03ld\",\"rejected\":%ld", id_tag,
             tpool[k].id, cancel ? tpool[k].to : tpool[k].from, rejected);
    put_movement(m, cancel ? "transfer_cancel" : "transfer_in", id, tpool[k].sku, cancel ? tpool[k].from : tpool[k].to,
                 "null", q, occurred_ms, "wms-", extra);
    tpool[k].in_transit -= q;
    if (cancel || tpool[k].in_transit == 0)
        tpool[k] = tpool[--tpool_len];
}

static long delivered, failed;
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (failed++ < 5)
            fprintf(stderr, "bench_preload: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_preload: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static int cmd_produce(int argc, char **argv) {
    const char *brokers = "127.0.0.1:9092", *topic = NULL;
    long long count = 0, seed = 1, dup_permille = 3, reservations = 0, transfers = 0, late = 0;
    int stock_take = 0;
    double rate = 0;
    static const struct option opts[] = {
        {"brokers", 1, 0, 'b'},
        {"topic", 1, 0, 't'},
        {"count", 1, 0, 'n'},
        {"seed", 1, 0, 's'},
        {"skus", 1, 0, 'k'},
        {"locations", 1, 0, 'l'},
        {"dup-permille", 1, 0, 'd'},
        {"rate", 1, 0, 'r'},
        {"stock-take", 0, 0, 'S'},
        {"reservations", 1, 0, 'R'},
        {"transfers", 1, 0, 'T'},
        {"late", 1, 0, 'L'},
        {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "b:t:n:s:k:l:d:r:SR:T:L:", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n': count = atoll(optarg); break;
        case 's': seed = atoll(optarg); break;
        case 'k': skus = atol(optarg); break;
        case 'l': locations = atol(optarg); break;
        case 'd': dup_permille = atoll(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'S': stock_take = 1; break;
        case 'R': reservations = atoll(optarg); break;
        case 'T': transfers = atoll(optarg); break;
        case 'L': late = late_permille = atoll(optarg); break;
        default: return 2;
        }
    }
    if (!topic || count <= 0 || skus <= 0 || locations <= 0) {
        fprintf(stderr, "bench_preload produce: -t TOPIC and -n COUNT > 0 are required\n");
        return 2;
    }
    if (reservations < 0 || reservations > 1000) {
        fprintf(stderr, "bench_preload produce: --reservations %lld: expected 0 to 1000 (per mille)\n", reservations);
        return 2;
    }
    if (transfers < 0 || late < 0 || transfers > 1000 || late > 1000 || reservations + transfers > 1000 ||
        (transfers > 0 && locations < 2)) {
        fprintf(stderr, "bench_preload produce: --transfers and --late: expected 0 to 1000 (per mille), with "
                        "--reservations at most 1000 in all, and 2 locations or more for transfers\n");
        return 2;
    }
    if (reservations > 0 || transfers > 0)
        snprintf(id_tag, sizeof(id_tag), "s%lld-", seed);
    rng_state = (uint64_t)seed * UINT64_C(0x2545f4914f6cdd1d) + 1;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[512];
    set(c, "bootstrap.servers", brokers);
    set(c, "partitioner", "murmur2_random");
    set(c, "enable.idempotence", "true");
    set(c, "compression.type", "lz4");
    set(c, "linger.ms", rate > 0 ? "5" : "20");
    set(c, "batch.size", "1000000");
    set(c, "batch.num.messages", "10000");
    set(c, "queue.buffering.max.messages", "1000000");
    set(c, "queue.buffering.max.kbytes", "1048576");
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_preload: %s\n", err);
        return 1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    static msg_t ring[RING];
    msg_t m;
    double t0 = mono_s();
    for (long long i = 0; i < count; i++) {
        if (rate > 0) {
            /* Paced by the millisecond: what is due goes out at once, then
             * sleep. (A sleep per message would spin at these rates and
             * take a core from the broker and the contender.) */
            double due = t0 + (double)i / rate, now;
            while ((now = mono_s()) < due) {
                rd_kafka_poll(rk, 0);
                double left = due - now;
                usleep((useconds_t)(left * 1e6 > 1000 ? 1000 : left * 1e6 < 100 ? 100 : left * 1e6));
            }
        }
        int64_t when = rate > 0 ? wall_ms() : BASE_MS + i;
        uint64_t rows = (uint64_t)skus * (uint64_t)locations;
        if (stock_take && (uint64_t)i < rows) {
            gen_stock_take((uint64_t)i, when, &m);
        } else if (i >= RING && (long long)(rnd() % 1000) < dup_permille) {
            m = ring[rnd() % RING]; /* a re-sent movement: same id, same bytes */
        } else {
            long long pick = reservations > 0 || transfers > 0 ? (long long)(rnd() % 1000) : 1000;
            if (pick < reservations)
                gen_reservation((uint64_t)i, when, &m);
            else if (pick < reservations + transfers)
                gen_transfer((uint64_t)i, when, &m);
            else
                gen((uint64_t)i, when, &m);
            ring[i % RING] = m;
        }
        for (;;) {
            if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, m.value, m.value_len, m.key,
                                 m.key_len, NULL) == 0)
                break;
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "bench_preload: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
                return 1;
            }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0 && !failed)
        rd_kafka_flush(rk, 1000);
    double dt = mono_s() - t0;
    fprintf(stderr, "bench_preload: %ld movements to %s in %.1f s (%.0f/s), %ld failed\n", delivered, topic, dt,
            (double)delivered / dt, failed);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return failed || delivered != count ? 1 : 0;
}

static rd_kafka_t *admin_client(const char *brokers) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[512];
    set(c, "bootstrap.servers", brokers);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_preload: %s\n", err);
        exit(1);
    }
    return rk;
}

/* Waits for an admin result and checks each topic's error. */
static int admin_wait(rd_kafka_queue_t *q, int create, int tolerate) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    if (!ev) {
        fprintf(stderr, "bench_preload: admin request timed out\n");
        return 1;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "bench_preload: %s\n", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return 1;
    }
    size_t n;
    const rd_kafka_topic_result_t **res =
        create ? rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n)
               : rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e && e != (rd_kafka_resp_err_t)tolerate) {
            fprintf(stderr, "bench_preload: %s: %s\n", rd_kafka_topic_result_name(res[i]), rd_kafka_err2str(e));
            rc = 1;
        }
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

static int cmd_create(int argc, char **argv) {
    const char *brokers = "127.0.0.1:9092";
    int parts = 6, o;
    while ((o = getopt(argc, argv, "b:p:")) != -1) {
        if (o == 'b')
            brokers = optarg;
        else if (o == 'p')
            parts = atoi(optarg);
        else
            return 2;
    }
    int n = argc - optind;
    if (n <= 0)
        return 0;
    rd_kafka_t *rk = admin_client(brokers);
    rd_kafka_NewTopic_t **nt = calloc((size_t)n, sizeof(*nt));
    char(*names)[512] = calloc((size_t)n, sizeof(*names));
    char err[512];
    for (int i = 0; i < n; i++) {
        char *name = names[i];
        snprintf(name, sizeof(names[i]), "%s", argv[optind + i]);
        char *colon = strchr(name, ':');
        int compact = colon && strcmp(colon + 1, "compact") == 0;
        if (colon)
            *colon = '\0';
        nt[i] = rd_kafka_NewTopic_new(name, parts, 1, err, sizeof(err));
        if (!nt[i]) {
            fprintf(stderr, "bench_preload: %s: %s\n", name, err);
            return 1;
        }
        if (compact)
            rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy", "compact");
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
    int rc = admin_wait(q, 1, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
    /* return only once the metadata shows every topic with its leaders */
    for (int i = 0; i < n && !rc; i++) {
        const char *name = names[i];
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
        int ok = 0;
        for (int attempt = 0; attempt < 300 && !ok; attempt++) {
            const rd_kafka_metadata_t *md;
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0) {
                ok = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt == parts;
                for (int p = 0; ok && p < md->topics[0].partition_cnt; p++)
                    ok = md->topics[0].partitions[p].leader >= 0 && !md->topics[0].partitions[p].err;
                rd_kafka_metadata_destroy(md);
            }
            if (!ok)
                usleep(100000);
        }
        rd_kafka_topic_destroy(rkt);
        if (!ok) {
            fprintf(stderr, "bench_preload: %s not visible in the metadata after 30 s\n", name);
            rc = 1;
        }
    }
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
    free(nt);
    free(names);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int cmd_delete(int argc, char **argv) {
    const char *brokers = "127.0.0.1:9092";
    int o;
    while ((o = getopt(argc, argv, "b:")) != -1) {
        if (o == 'b')
            brokers = optarg;
        else
            return 2;
    }
    int n = argc - optind;
    if (n <= 0)
        return 0;
    rd_kafka_t *rk = admin_client(brokers);
    rd_kafka_DeleteTopic_t **dt = calloc((size_t)n, sizeof(*dt));
    for (int i = 0; i < n; i++)
        dt[i] = rd_kafka_DeleteTopic_new(argv[optind + i]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, dt, (size_t)n, NULL, q);
    int rc = admin_wait(q, 0, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    rd_kafka_DeleteTopic_destroy_array(dt, (size_t)n);
    free(dt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_preload produce|create|delete ... (see tests/bench/preload.c)\n");
        return 2;
    }
    if (strcmp(argv[1], "produce") == 0)
        return cmd_produce(argc - 1, argv + 1);
    if (strcmp(argv[1], "create") == 0)
        return cmd_create(argc - 1, argv + 1);
    if (strcmp(argv[1], "delete") == 0)
        return cmd_delete(argc - 1, argv + 1);
    fprintf(stderr, "bench_preload: unknown command %s\n", argv[1]);
    return 2;
}
