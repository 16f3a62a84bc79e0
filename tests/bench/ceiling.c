/*
 * bench_ceiling: the raw librdkafka ceiling and the benchmark's measuring
 * tools (tests/bench/run.sh).
 *
 *   bench_ceiling drain -b BROKERS -g GROUP -t TOPIC
 *       The ceiling contender: a plain consumer in GROUP (read_committed, as
 *       inv-stock) that reads TOPIC with rd_kafka_consumer_poll, does nothing
 *       with the messages, and commits its offsets every 100 ms (auto
 *       commit), until SIGTERM.
 *
 *   bench_ceiling watch -b BROKERS -g GROUP -t TOPIC [-T TIMEOUT_S] -- CMD ARGS...
 *       Runs CMD (one contender), polls GROUP's committed offsets of TOPIC
 *       every 50 ms until they reach the high watermark of every partition,
 *       then reads the contender's CPU time (utime+stime, all threads, from
 *       /proc/PID/stat) and peak RSS (VmHWM) at that moment, sends SIGTERM and
 *       waits for the exit (wait4 rusage). Prints one line of key=value:
 *         wall_s      start of CMD -> committed offsets cover the input
 *         first_s     start of CMD -> first committed offset seen (start-up)
 *         cpu_s       user+sys CPU seconds of CMD at that moment
 *         hwm_kb      VmHWM at that moment (peak resident set)
 *         anon_kb     peak RssAnon seen by the 50 ms samples (RSS without
 *                     file-backed pages such as LMDB's memory map)
 *         exit_cpu_s, maxrss_kb, exit  from wait4 after SIGTERM
 *         others_cpu_s  busy CPU seconds of the rest of the machine during
 *                     wall_s (the broker, and anything else running: a
 *                     noisy-neighbour check)
 *       Exit 0 when covered and CMD exited 0 (or 143, a JVM) after SIGTERM.
 *
 *   bench_ceiling wait -b BROKERS -g GROUP -t TOPIC [-T TIMEOUT_S]
 *       Waits until GROUP's committed offsets of TOPIC reach the current high
 *       watermarks (a contender started elsewhere is up and current). Exit 0,
 *       or 1 on timeout.
 *
 *   bench_ceiling latency -b BROKERS -t TOPIC -f FIELD -w WARMUP_S -m MEASURE_S
 *                 [--skip-network] [--drain-s S] [--partition P]
 *       End-to-end latency probe: a read_committed consumer of TOPIC (from
 *       its end) that, for each message, takes the RFC 3339 time in FIELD
 *       (updated_at of a StockLevel, occurred_at of a StockMovement) and
 *       records receive wall time - that time, for messages whose time lies
 *       in [start + WARMUP_S, start + WARMUP_S + MEASURE_S]. Skips network
 *       rows ("location_id":"*") with --skip-network; reads only partition P
 *       (from its end) with --partition. Stops DRAIN_S (10)
 *       after the window ends; prints count, p50, p99, p999, max in ms.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t run = 1;
static void on_signal(int sig) {
    (void)sig;
    run = 0;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_ceiling: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static rd_kafka_t *consumer(const char *brokers, const char *group, int autocommit) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[512];
    set(c, "bootstrap.servers", brokers);
    set(c, "group.id", group);
    set(c, "isolation.level", "read_committed");
    set(c, "auto.offset.reset", "earliest");
    set(c, "enable.auto.commit", autocommit ? "true" : "false");
    if (autocommit)
        set(c, "auto.commit.interval.ms", "100");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_ceiling: %s\n", err);
        exit(1);
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* ---- drain: the ceiling ---------------------------------------------------- */

static int cmd_drain(const char *brokers, const char *group, const char *topic) {
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    rd_kafka_t *rk = consumer(brokers, group, 1);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        fprintf(stderr, "bench_ceiling: subscribe: %s\n", rd_kafka_err2str(err));
        return 1;
    }
    long long n = 0, bytes = 0;
    while (run) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            n++;
            bytes += (long long)m->len;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    fprintf(stderr, "bench_ceiling drain: %lld messages, %lld bytes\n", n, bytes);
    return 0;
}

/* ---- watch: run one contender and measure it ------------------------------ */

static long proc_status_kb(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atol(line + n + 1);
            break;
        }
    fclose(f);
    return v;
}

static double proc_cpu_s(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    /* after ')': state(3) ppid(4) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU seconds of the whole machine so far (every CPU, /proc/stat). */
static double machine_busy_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 8)
        return -1;
    /* user nice system idle iowait irq softirq steal: busy = all but idle and iowait */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static int cmd_watch(const char *brokers, const char *group, const char *topic, double timeout_s, char **cmd) {
    /* a handle with the contender's group.id for rd_kafka_committed(); it
     * never subscribes, so it never joins the group */
    rd_kafka_t *rk = consumer(brokers, group, 0);
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 15000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "bench_ceiling watch: metadata of %s: %s\n", topic,
                rd_kafka_err2str(err ? err : md->topics[0].err));
        return 1;
    }
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t *hw = calloc((size_t)parts, sizeof(*hw)), total = 0;
    for (int p = 0; p < parts; p++) {
        int64_t lo;
        if ((err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hw[p], 15000))) {
            fprintf(stderr, "bench_ceiling watch: watermarks: %s\n", rd_kafka_err2str(err));
            return 1;
        }
        total += hw[p];
    }
    double t0 = mono_s(), busy0 = machine_busy_s(), busy = -1;
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        execvp(cmd[0], cmd);
        perror(cmd[0]);
        _exit(127);
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(list, topic, p);
    double first = -1, wall = -1, cpu = -1;
    long hwm = -1, anon_peak = 0;
    int status = 0, exited = 0;
    struct rusage ru;
    while (mono_s() - t0 < timeout_s) {
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid) {
            exited = 1;
            fprintf(stderr, "bench_ceiling watch: %s exited before covering the input (status %d)\n", cmd[0], status);
            break;
        }
        long anon = proc_status_kb(pid, "RssAnon");
        if (anon > anon_peak)
            anon_peak = anon;
        for (int p = 0; p < parts; p++)
            list->elems[p].offset = RD_KAFKA_OFFSET_INVALID;
        err = rd_kafka_committed(rk, list, 5000);
        if (!err) {
            int64_t done = 0;
            int covered = 1;
            for (int p = 0; p < parts; p++) {
                int64_t o = list->elems[p].offset;
                if (o > 0)
                    done += o < hw[p] ? o : hw[p];
                if (o < hw[p])
                    covered = 0;
            }
            if (done > 0 && first < 0)
                first = mono_s() - t0;
            if (covered) {
                wall = mono_s() - t0;
                cpu = proc_cpu_s(pid);
                hwm = proc_status_kb(pid, "VmHWM");
                busy = machine_busy_s() - busy0;
                break;
            }
        }
        usleep(50000);
    }
    if (!exited) {
        kill(pid, SIGTERM);
        double stop = mono_s();
        while (!exited) {
            pid_t w = wait4(pid, &status, WNOHANG, &ru);
            if (w == pid)
                exited = 1;
            else if (mono_s() - stop > 60) {
                fprintf(stderr, "bench_ceiling watch: %s ignores SIGTERM for 60 s: SIGKILL\n", cmd[0]);
                kill(pid, SIGKILL);
                wait4(pid, &status, 0, &ru);
                exited = 1;
            } else {
                usleep(20000);
            }
        }
    }
    double exit_cpu =
        (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("messages=%" PRId64 " wall_s=%.3f first_s=%.3f cpu_s=%.2f hwm_kb=%ld anon_kb=%ld exit_cpu_s=%.2f "
           "maxrss_kb=%ld others_cpu_s=%.2f exit=%d\n",
           total, wall, first, cpu, hwm, anon_peak, exit_cpu, ru.ru_maxrss, busy >= 0 && cpu >= 0 ? busy - cpu : -1,
           code);
    fflush(stdout);
    rd_kafka_topic_partition_list_destroy(list);
    free(hw);
    rd_kafka_destroy(rk);
    /* a JVM that ran its shutdown hooks after SIGTERM exits 143 */
    return wall > 0 && (code == 0 || code == 128 + SIGTERM) ? 0 : 1;
}

static int cmd_wait(const char *brokers, const char *group, const char *topic, double timeout_s) {
    rd_kafka_t *rk = consumer(brokers, group, 0);
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 15000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "bench_ceiling wait: metadata of %s failed\n", topic);
        return 1;
    }
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
    int64_t *hw = calloc((size_t)parts, sizeof(*hw));
    for (int p = 0; p < parts; p++) {
        int64_t lo;
        rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hw[p], 15000);
        rd_kafka_topic_partition_list_add(list, topic, p);
    }
    double t0 = mono_s();
    int covered = 0;
    while (!covered && mono_s() - t0 < timeout_s) {
        for (int p = 0; p < parts; p++)
            list->elems[p].offset = RD_KAFKA_OFFSET_INVALID;
        if (rd_kafka_committed(rk, list, 5000) == 0) {
            covered = 1;
            for (int p = 0; p < parts; p++)
                if (list->elems[p].offset < hw[p])
                    covered = 0;
        }
        if (!covered)
            usleep(100000);
    }
    rd_kafka_topic_partition_list_destroy(list);
    free(hw);
    rd_kafka_destroy(rk);
    if (!covered)
        fprintf(stderr, "bench_ceiling wait: %s did not cover %s within %.0f s\n", group, topic, timeout_s);
    return covered ? 0 : 1;
}

/* ---- latency probe --------------------------------------------------------- */

static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" as written by both keepers and the preloader. */
static int64_t parse_time(const char *s, size_t n) {
    if (n < 24 || s[4] != '-' || s[10] != 'T' || s[19] != '.' || s[23] != 'Z')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2), mi = digits(s + 14, 2),
        sec = digits(s + 17, 2), ms = digits(s + 20, 3);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 || ms < 0)
        return -1;
    return days_from_civil(y, mo, d) * 86400000 + h * 3600000LL + mi * 60000LL + sec * 1000LL + ms;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_latency(const char *brokers, const char *topic, const char *field, double warmup, double measure,
                       double drain, int skip_network, int partition) {
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    char group[256], needle[128];
    snprintf(group, sizeof(group), "bench-latency-%d-%lld", (int)getpid(), (long long)wall_ms());
    snprintf(needle, sizeof(needle), "\"%s\":\"", field);
    size_t needle_len = strlen(needle);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[512];
    set(c, "bootstrap.servers", brokers);
    set(c, "group.id", group);
    set(c, "isolation.level", "read_committed");
    set(c, "auto.offset.reset", "earliest");
    set(c, "enable.auto.commit", "false");
    set(c, "fetch.wait.max.ms", "10");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_ceiling: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    if (partition >= 0) {
        /* one partition is a fair sample and keeps the probe's own load small */
        rd_kafka_topic_partition_list_add(sub, topic, partition)->offset = RD_KAFKA_OFFSET_END;
        rd_kafka_assign(rk, sub);
    } else {
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(rk, sub);
    }
    rd_kafka_topic_partition_list_destroy(sub);
    int64_t start = wall_ms(), from = start + (int64_t)(warmup * 1000), until = from + (int64_t)(measure * 1000);
    size_t cap = 1 << 20, len = 0;
    int64_t *lat = malloc(cap * sizeof(*lat));
    long long seen = 0, late = 0;
    while (run && wall_ms() < until + (int64_t)(drain * 1000)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (!m)
            continue;
        int64_t now = wall_ms();
        if (!m->err && m->payload) {
            seen++;
            const char *p = m->payload;
            const char *f = memmem(p, m->len, needle, needle_len);
            if (f && !(skip_network && memmem(p, m->len, "\"location_id\":\"*\"", 17))) {
                f += needle_len;
                int64_t t = parse_time(f, m->len - (size_t)(f - p));
                if (t >= from && t <= until) {
                    if (len == cap)
                        lat = realloc(lat, (cap *= 2) * sizeof(*lat));
                    lat[len++] = now - t;
                } else if (t > until) {
                    late++;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (!len) {
        printf("count=0 p50_ms=nan p99_ms=nan p999_ms=nan max_ms=nan seen=%lld\n", seen);
        return 1;
    }
    qsort(lat, len, sizeof(*lat), cmp_i64);
#define PCT(q) lat[(size_t)((double)(len - 1) * (q))]
    printf("count=%zu p50_ms=%" PRId64 " p99_ms=%" PRId64 " p999_ms=%" PRId64 " max_ms=%" PRId64 " seen=%lld\n", len,
           PCT(0.50), PCT(0.99), PCT(0.999), lat[len - 1], seen);
    free(lat);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_ceiling drain|watch|wait|latency ... (see tests/bench/ceiling.c)\n");
        return 2;
    }
    const char *cmd = argv[1], *brokers = "127.0.0.1:9092", *group = NULL, *topic = NULL, *field = "updated_at";
    double timeout = 1800, warmup = 15, measure = 30, drain = 10;
    int skip_network = 0, partition = -1;
    static const struct option opts[] = {
        {"brokers", 1, 0, 'b'},      {"group", 1, 0, 'g'},     {"topic", 1, 0, 't'},   {"timeout", 1, 0, 'T'},
        {"field", 1, 0, 'f'},        {"warmup", 1, 0, 'w'},    {"measure", 1, 0, 'm'}, {"drain-s", 1, 0, 'D'},
        {"skip-network", 0, 0, 'N'}, {"partition", 1, 0, 'P'}, {0, 0, 0, 0},
    };
    int o;
    optind = 2;
    while ((o = getopt_long(argc, argv, "+b:g:t:T:f:w:m:D:NP:", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = optarg; break;
        case 'g': group = optarg; break;
        case 't': topic = optarg; break;
        case 'T': timeout = atof(optarg); break;
        case 'f': field = optarg; break;
        case 'w': warmup = atof(optarg); break;
        case 'm': measure = atof(optarg); break;
        case 'D': drain = atof(optarg); break;
        case 'N': skip_network = 1; break;
        case 'P': partition = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!topic) {
        fprintf(stderr, "bench_ceiling %s: -t TOPIC is required\n", cmd);
        return 2;
    }
    if (strcmp(cmd, "drain") == 0 && group)
        return cmd_drain(brokers, group, topic);
    if (strcmp(cmd, "watch") == 0 && group && optind < argc)
        return cmd_watch(brokers, group, topic, timeout, argv + optind);
    if (strcmp(cmd, "wait") == 0 && group)
        return cmd_wait(brokers, group, topic, timeout);
    if (strcmp(cmd, "latency") == 0)
        return cmd_latency(brokers, topic, field, warmup, measure, drain, skip_network, partition);
    fprintf(stderr, "bench_ceiling: bad command line (see tests/bench/ceiling.c)\n");
    return 2;
}
