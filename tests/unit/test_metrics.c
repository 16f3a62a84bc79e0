/* inv_metrics: exposition text, histogram arithmetic, series lifecycle, and
 * updates from two threads while a third renders. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "inv_metrics.h"
#include "inv_test.h"

static char errstr[512];

/* The rendered registry as a string the caller frees. */
static char *render(inv_metrics_t *m) {
    inv_metrics_buf_t b = {0};
    if (inv_metrics_render(m, &b) != 0)
        abort();
    return b.data;
}

/* The value of the sample line starting with `key ` in text; NAN if none. */
static double sample(const char *text, const char *key) {
    size_t n = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return (double)NAN;
}

static void test_small_registry_renders_exact_text(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_counter_t *sale, *ret, *secs;
    inv_metrics_gauge_t *lag;
    inv_metrics_histogram_t *lat;
    static const double bounds[] = {0.1, 1};
    INV_ASSERT_EQ_INT(0,
                      inv_metrics_counter_new(m, "inv_stock_movements_total", "Movements applied, by type.",
                                              (const char *[]){"type", "sale", NULL}, &sale, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(0, inv_metrics_gauge_new(
                             m, "inv_stock_partition_lag", "Messages behind the end.\nPer partition \\ topic.",
                             (const char *[]){"partition", "3", "topic", "a\"b", NULL}, &lag, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(0,
                      inv_metrics_counter_new(m, "inv_stock_movements_total", "ignored: the first HELP wins",
                                              (const char *[]){"type", "return", NULL}, &ret, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(0, inv_metrics_histogram_new(m, "inv_stock_latency_seconds", "Input timestamp to applied.", NULL,
                                                   bounds, 2, &lat, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(0, inv_metrics_counter_new(m, "inv_lmdb_commit_seconds_total", "Time in mdb_txn_commit.", NULL,
                                                 &secs, errstr, sizeof(errstr)));
    inv_metrics_counter_add(sale, 41);
    inv_metrics_counter_inc(sale);
    inv_metrics_counter_inc(ret);
    inv_metrics_gauge_set(lag, 1234567);
    inv_metrics_histogram_observe(lat, 0.0625);
    inv_metrics_histogram_observe(lat, 0.5);
    inv_metrics_histogram_observe(lat, 2.5);
    inv_metrics_counter_add_double(secs, 0.125);
    char *text = render(m);
    INV_ASSERT_EQ_STR("# HELP inv_stock_movements_total Movements applied, by type.\n"
                      "# TYPE inv_stock_movements_total counter\n"
                      "inv_stock_movements_total{type=\"sale\"} 42\n"
                      "inv_stock_movements_total{type=\"return\"} 1\n"
                      "# HELP inv_stock_partition_lag Messages behind the end.\\nPer partition \\\\ topic.\n"
                      "# TYPE inv_stock_partition_lag gauge\n"
                      "inv_stock_partition_lag{partition=\"3\",topic=\"a\\\"b\"} 1234567\n"
                      "# HELP inv_stock_latency_seconds Input timestamp to applied.\n"
                      "# TYPE inv_stock_latency_seconds histogram\n"
                      "inv_stock_latency_seconds_bucket{le=\"0.1\"} 1\n"
                      "inv_stock_latency_seconds_bucket{le=\"1\"} 2\n"
                      "inv_stock_latency_seconds_bucket{le=\"+Inf\"} 3\n"
                      "inv_stock_latency_seconds_sum 3.0625\n"
                      "inv_stock_latency_seconds_count 3\n"
                      "# HELP inv_lmdb_commit_seconds_total Time in mdb_txn_commit.\n"
                      "# TYPE inv_lmdb_commit_seconds_total counter\n"
                      "inv_lmdb_commit_seconds_total 0.125\n",
                      text);
    free(text);
    inv_metrics_destroy(m);
}

static void test_empty_registry_renders_empty_string(void) {
    inv_metrics_t *m = inv_metrics_new();
    char *text = render(m);
    INV_ASSERT_EQ_STR("", text);
    free(text);
    inv_metrics_destroy(m);
}

static void test_render_appends_to_the_callers_buffer(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_gauge_t *g;
    INV_ASSERT_EQ_INT(0, inv_metrics_gauge_new(m, "up", "", NULL, &g, errstr, sizeof(errstr)));
    inv_metrics_gauge_set(g, 1);
    inv_metrics_buf_t b = {0};
    INV_ASSERT_EQ_INT(0, inv_metrics_render(m, &b));
    INV_ASSERT_EQ_INT(0, inv_metrics_render(m, &b));
    INV_ASSERT_EQ_STR("# HELP up \n# TYPE up gauge\nup 1\n# HELP up \n# TYPE up gauge\nup 1\n", b.data);
    INV_ASSERT_EQ_INT(strlen(b.data), b.len);
    inv_metrics_buf_free(&b);
    INV_ASSERT(b.data == NULL && b.len == 0 && b.cap == 0, "buffer not reset");
    inv_metrics_destroy(m);
}

static void test_histogram_buckets_are_cumulative_and_le_is_inclusive(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_histogram_t *h;
    static const double bounds[] = {1, 2, 5};
    INV_ASSERT_EQ_INT(0, inv_metrics_histogram_new(m, "h", "x", (const char *[]){"p", "0", NULL}, bounds, 3, &h, errstr,
                                                   sizeof(errstr)));
    /* On a bound counts in that bucket; above the last counts only in +Inf. */
    const double obs[] = {0.5, 1, 1.5, 2, 4.75, 5, 6, 100, -3};
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
        inv_metrics_histogram_observe(h, obs[i]);
    inv_metrics_histogram_observe(h, (double)NAN); /* ignored */
    char *text = render(m);
    INV_ASSERT_EQ_STR("# HELP h x\n# TYPE h histogram\n"
                      "h_bucket{p=\"0\",le=\"1\"} 3\n"
                      "h_bucket{p=\"0\",le=\"2\"} 5\n"
                      "h_bucket{p=\"0\",le=\"5\"} 7\n"
                      "h_bucket{p=\"0\",le=\"+Inf\"} 9\n"
                      "h_sum{p=\"0\"} 117.75\n"
                      "h_count{p=\"0\"} 9\n",
                      text);
    free(text);
    INV_ASSERT_EQ_INT(9, inv_metrics_histogram_count(h));
    INV_ASSERT(inv_metrics_histogram_sum(h) == 117.75, "sum %g", inv_metrics_histogram_sum(h));
    inv_metrics_destroy(m);
}

static void test_latency_buckets_span_1ms_to_10s(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_histogram_t *h;
    INV_ASSERT_EQ_INT(0, inv_metrics_histogram_new(m, "lat_seconds", "x", NULL, inv_metrics_latency_buckets,
                                                   inv_metrics_latency_bucket_count, &h, errstr, sizeof(errstr)));
    inv_metrics_histogram_observe(h, 0.003); /* into le=0.005 */
    inv_metrics_histogram_observe(h, 11);    /* into +Inf */
    char *text = render(m);
    INV_ASSERT_EQ_INT(0, sample(text, "lat_seconds_bucket{le=\"0.001\"}"));
    INV_ASSERT_EQ_INT(0, sample(text, "lat_seconds_bucket{le=\"0.0025\"}"));
    INV_ASSERT_EQ_INT(1, sample(text, "lat_seconds_bucket{le=\"0.005\"}"));
    INV_ASSERT_EQ_INT(1, sample(text, "lat_seconds_bucket{le=\"10\"}"));
    INV_ASSERT_EQ_INT(2, sample(text, "lat_seconds_bucket{le=\"+Inf\"}"));
    INV_ASSERT_EQ_INT(13, inv_metrics_latency_bucket_count);
    free(text);
    inv_metrics_destroy(m);
}

static void test_counter_is_an_exact_integer_until_a_fraction_is_added(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_counter_t *big, *c;
    INV_ASSERT_EQ_INT(0, inv_metrics_counter_new(m, "big_total", "x", NULL, &big, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(0, inv_metrics_counter_new(m, "c_total", "x", NULL, &c, errstr, sizeof(errstr)));
    inv_metrics_counter_add(big, UINT64_C(9007199254740993)); /* 2^53 + 1: no double holds it */
    inv_metrics_counter_add(c, 3);
    inv_metrics_counter_add_double(c, -1);          /* ignored: counters only go up */
    inv_metrics_counter_add_double(c, (double)NAN); /* ignored */
    char *text = render(m);
    INV_ASSERT(strstr(text, "\nbig_total 9007199254740993\n"), "%s", text);
    INV_ASSERT(strstr(text, "\nc_total 3\n"), "%s", text);
    free(text);
    inv_metrics_counter_add_double(c, 0.5);
    text = render(m);
    INV_ASSERT(strstr(text, "\nc_total 3.5\n"), "%s", text);
    free(text);
    INV_ASSERT(inv_metrics_counter_value(c) == 3.5, "value %g", inv_metrics_counter_value(c));
    inv_metrics_destroy(m);
}

static void test_gauge_set_add_and_doubles(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_gauge_t *g;
    INV_ASSERT_EQ_INT(0, inv_metrics_gauge_new(m, "g", "x", NULL, &g, errstr, sizeof(errstr)));
    inv_metrics_gauge_set(g, -5);
    inv_metrics_gauge_add(g, 2);
    INV_ASSERT(inv_metrics_gauge_value(g) == -3, "value %g", inv_metrics_gauge_value(g));
    char *text = render(m);
    INV_ASSERT(strstr(text, "\ng -3\n"), "%s", text);
    free(text);
    inv_metrics_gauge_set_double(g, 0.1);
    inv_metrics_gauge_add_double(g, 0.2);
    text = render(m);
    INV_ASSERT(strstr(text, "\ng 0.30000000000000004\n"), "shortest round-trip text: %s", text);
    free(text);
    inv_metrics_gauge_set_double(g, 1.0 / 0.0);
    text = render(m);
    INV_ASSERT(strstr(text, "\ng +Inf\n"), "%s", text);
    free(text);
    inv_metrics_gauge_set_double(g, 2.5e-7);
    text = render(m);
    INV_ASSERT(strstr(text, "\ng 2.5e-07\n"), "%s", text);
    free(text);
    inv_metrics_destroy(m);
}

static void test_same_name_and_labels_return_the_same_handle(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_counter_t *a, *b, *c;
    INV_ASSERT_EQ_INT(
        0, inv_metrics_counter_new(m, "x_total", "x", (const char *[]){"t", "1", NULL}, &a, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(
        0, inv_metrics_counter_new(m, "x_total", "x", (const char *[]){"t", "1", NULL}, &b, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(
        0, inv_metrics_counter_new(m, "x_total", "x", (const char *[]){"t", "2", NULL}, &c, errstr, sizeof(errstr)));
    INV_ASSERT(a == b, "same series, another handle");
    INV_ASSERT(a != c, "other labels, same handle");
    inv_metrics_destroy(m);
}

static void test_invalid_registrations_are_named(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_counter_t *c;
    inv_metrics_gauge_t *g;
    inv_metrics_histogram_t *h;
    static const double bounds[] = {1, 2}, unsorted[] = {2, 1}, other[] = {1, 3};

    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_counter_new(m, "9lives", "x", NULL, &c, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: \"9lives\" is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", errstr);
    INV_ASSERT(c == NULL, "a handle despite the error");

    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_counter_new(m, "a_total", "x", (const char *[]){"ty-pe", "s", NULL}, &c,
                                                      errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: a_total: \"ty-pe\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)",
                      errstr);

    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_counter_new(m, "a_total", "x", (const char *[]){"t", "1", "t", "2", NULL}, &c,
                                                      errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: a_total: label \"t\" is given twice", errstr);

    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_histogram_new(m, "h", "x", (const char *[]){"le", "1", NULL}, bounds, 2, &h,
                                                        errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: h: label name \"le\" is reserved for histogram buckets", errstr);

    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_histogram_new(m, "h", "x", NULL, unsorted, 2, &h, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: h: bucket bounds must be finite and strictly increasing (bound 1 is 1)", errstr);

    INV_ASSERT_EQ_INT(0, inv_metrics_histogram_new(m, "h", "x", NULL, bounds, 2, &h, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_histogram_new(m, "h", "x", (const char *[]){"p", "1", NULL}, other, 2, &h,
                                                        errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: h: bucket bounds differ from the family's first registration", errstr);

    INV_ASSERT_EQ_INT(EINVAL, inv_metrics_gauge_new(m, "h", "x", NULL, &g, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("metrics: h: already registered as a histogram, not a gauge", errstr);

    /* Failed registrations leave nothing behind. */
    char *text = render(m);
    INV_ASSERT_EQ_STR("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"2\"} 0\n"
                      "h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n",
                      text);
    free(text);
    inv_metrics_destroy(m);
}

static void test_removed_series_is_hidden_and_comes_back_from_zero(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_gauge_t *p0, *p1, *again;
    INV_ASSERT_EQ_INT(
        0, inv_metrics_gauge_new(m, "lag", "x", (const char *[]){"partition", "0", NULL}, &p0, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(
        0, inv_metrics_gauge_new(m, "lag", "x", (const char *[]){"partition", "1", NULL}, &p1, errstr, sizeof(errstr)));
    inv_metrics_gauge_set(p0, 10);
    inv_metrics_gauge_set(p1, 20);
    inv_metrics_gauge_remove(p1);  /* partition 1 revoked */
    inv_metrics_gauge_set(p1, 99); /* a late update lands in the hidden series */
    char *text = render(m);
    INV_ASSERT_EQ_STR("# HELP lag x\n# TYPE lag gauge\nlag{partition=\"0\"} 10\n", text);
    free(text);
    INV_ASSERT_EQ_INT(0, inv_metrics_gauge_new(m, "lag", "x", (const char *[]){"partition", "1", NULL}, &again, errstr,
                                               sizeof(errstr)));
    INV_ASSERT(again == p1, "registering again made a new series");
    text = render(m);
    INV_ASSERT_EQ_STR("# HELP lag x\n# TYPE lag gauge\nlag{partition=\"0\"} 10\nlag{partition=\"1\"} 0\n", text);
    free(text);
    inv_metrics_gauge_remove(p0);
    inv_metrics_gauge_remove(p1);
    text = render(m);
    INV_ASSERT_EQ_STR("# HELP lag x\n# TYPE lag gauge\n", text);
    free(text);
    inv_metrics_destroy(m);
}

/* ---- two writers and a renderer ---- */

#define ITERATIONS 200000

typedef struct {
    inv_metrics_t *m;
    inv_metrics_counter_t *events;
    inv_metrics_histogram_t *latency;
    int id;
    _Atomic int *writers_left;
} writer_t;

static void *writer_main(void *arg) {
    writer_t *w = arg;
    inv_metrics_gauge_t *lag = NULL;
    for (int i = 0; i < ITERATIONS; i++) {
        inv_metrics_counter_inc(w->events);
        inv_metrics_histogram_observe(w->latency, (i % 4) * 0.25);
        if (i == ITERATIONS / 2) {
            /* A partition assigned mid-stream: registration races rendering. */
            char part[16], e[256];
            snprintf(part, sizeof(part), "%d", w->id);
            if (inv_metrics_gauge_new(w->m, "t_partition_lag", "x", (const char *[]){"partition", part, NULL}, &lag, e,
                                      sizeof(e)) != 0)
                abort();
        }
        if (lag)
            inv_metrics_gauge_set(lag, i);
    }
    atomic_fetch_sub(w->writers_left, 1);
    return NULL;
}

/* Checks one scrape; returns NULL or what is wrong. prev_events carries the
 * counter between scrapes to check it never goes back. */
static const char *check_scrape(const char *text, double *prev_events) {
    static const char *const les[] = {"0.25", "0.5", "+Inf"};
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return "last line not terminated";
        if (*p != '#') {
            const char *sp = memchr(p, ' ', (size_t)(nl - p));
            char *end;
            if (!sp)
                return "sample line without a value";
            strtod(sp + 1, &end);
            if (end != nl)
                return "value is not a number";
        }
        p = nl + 1;
    }
    double events = sample(text, "t_events_total");
    if (!(events >= *prev_events && events <= 2.0 * ITERATIONS))
        return "counter went back or past the total";
    *prev_events = events;
    double prev = 0;
    for (size_t i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof(key), "t_latency_seconds_bucket{le=\"%s\"}", les[i]);
        double v = sample(text, key);
        if (!(v >= prev))
            return "buckets not cumulative";
        prev = v;
    }
    if (sample(text, "t_latency_seconds_count") != prev)
        return "_count differs from the +Inf bucket";
    return NULL;
}

static void test_two_writers_and_a_renderer_see_consistent_exact_counts(void) {
    inv_metrics_t *m = inv_metrics_new();
    inv_metrics_counter_t *events;
    inv_metrics_histogram_t *latency;
    static const double bounds[] = {0.25, 0.5};
    INV_ASSERT_EQ_INT(0, inv_metrics_counter_new(m, "t_events_total", "x", NULL, &events, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(
        0, inv_metrics_histogram_new(m, "t_latency_seconds", "x", NULL, bounds, 2, &latency, errstr, sizeof(errstr)));
    _Atomic int writers_left = 2;
    writer_t w[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (writer_t){m, events, latency, i, &writers_left};
        INV_ASSERT_EQ_INT(0, pthread_create(&th[i], NULL, writer_main, &w[i]));
    }
    inv_metrics_buf_t b = {0};
    double prev_events = 0;
    const char *problem = NULL;
    int scrapes = 0;
    while (!problem && (atomic_load(&writers_left) > 0 || scrapes == 0)) {
        b.len = 0;
        if (inv_metrics_render(m, &b) != 0)
            abort();
        problem = check_scrape(b.data, &prev_events);
        scrapes++;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    INV_ASSERT(problem == NULL, "%s after %d scrapes in:\n%s", problem, scrapes, b.data);

    b.len = 0;
    INV_ASSERT_EQ_INT(0, inv_metrics_render(m, &b));
    problem = check_scrape(b.data, &prev_events);
    INV_ASSERT(problem == NULL, "%s in the final scrape", problem);
    INV_ASSERT_EQ_INT(2 * ITERATIONS, sample(b.data, "t_events_total"));
    /* Per writer a quarter of the observations in each of 0, 0.25 (le=0.25),
     * 0.5 (le=0.5) and 0.75 (+Inf); every partial sum is exact in binary. */
    INV_ASSERT_EQ_INT(ITERATIONS, sample(b.data, "t_latency_seconds_bucket{le=\"0.25\"}"));
    INV_ASSERT_EQ_INT(3 * ITERATIONS / 2, sample(b.data, "t_latency_seconds_bucket{le=\"0.5\"}"));
    INV_ASSERT_EQ_INT(2 * ITERATIONS, sample(b.data, "t_latency_seconds_count"));
    INV_ASSERT(sample(b.data, "t_latency_seconds_sum") == 2 * ITERATIONS * 0.375, "%s", b.data);
    INV_ASSERT_EQ_INT(ITERATIONS - 1, sample(b.data, "t_partition_lag{partition=\"0\"}"));
    INV_ASSERT_EQ_INT(ITERATIONS - 1, sample(b.data, "t_partition_lag{partition=\"1\"}"));
    fprintf(stderr, "     (%d scrapes during the updates)\n", scrapes);
    inv_metrics_buf_free(&b);
    inv_metrics_destroy(m);
}

int main(void) {
    INV_RUN(test_small_registry_renders_exact_text);
    INV_RUN(test_empty_registry_renders_empty_string);
    INV_RUN(test_render_appends_to_the_callers_buffer);
    INV_RUN(test_histogram_buckets_are_cumulative_and_le_is_inclusive);
    INV_RUN(test_latency_buckets_span_1ms_to_10s);
    INV_RUN(test_counter_is_an_exact_integer_until_a_fraction_is_added);
    INV_RUN(test_gauge_set_add_and_doubles);
    INV_RUN(test_same_name_and_labels_return_the_same_handle);
    INV_RUN(test_invalid_registrations_are_named);
    INV_RUN(test_removed_series_is_hidden_and_comes_back_from_zero);
    INV_RUN(test_two_writers_and_a_renderer_see_consistent_exact_counts);
    return INV_TEST_DONE();
}
