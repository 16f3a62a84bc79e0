/*
 * inv_metrics: a registry of counters, gauges and histograms rendered in the
 * Prometheus text exposition format 0.0.4.
 *
 * Threads: one writer (the processing loop) registers series and updates
 * them; another thread (the HTTP server) renders. Updates are lock-free C11
 * atomics on a handle returned at registration: no lookup, no allocation,
 * no lock. One registry mutex is taken only by registration, removal and
 * rendering, so series may be added after start-up (per-partition gauges on
 * assignment) while a scrape runs. Updating one handle from several threads
 * is also safe (the adds are atomic); only registration and removal assume
 * the writer thread.
 *
 * Series and their names:
 *   - A family is a metric name with one type and one HELP text. Families
 *     render in registration order, each with its HELP and TYPE line once,
 *     then its series in registration order.
 *   - A series is a family plus a label set given at registration as
 *     name/value pairs ending with NULL: (const char *[]){"type", "sale",
 *     NULL}. NULL or {NULL} means no labels. Values are escaped on output.
 *   - Registering the same name and labels again returns the same handle, so
 *     a partition assigned again reuses its series.
 *
 * Handles stay valid until inv_metrics_destroy(), even after *_remove():
 * removal hides the series and zeroes it (an update racing a revocation
 * lands in a hidden series, never in freed memory), and registering it
 * again shows it from 0. Memory therefore grows only with the number of
 * distinct series ever registered (for partitions: bounded by the partition
 * count).
 *
 * Errors: registration returns 0, EINVAL (bad name, label, bounds, or a name
 * already registered with another type or other buckets; errstr names it)
 * or ENOMEM. Rendering returns 0 or ENOMEM.
 */
#ifndef INV_METRICS_H
#define INV_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The Content-Type of inv_metrics_render's output. */
#define INV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct inv_metrics_s inv_metrics_t;
typedef struct inv_metrics_counter_s inv_metrics_counter_t;
typedef struct inv_metrics_gauge_s inv_metrics_gauge_t;
typedef struct inv_metrics_histogram_s inv_metrics_histogram_t;

/* A growable, NUL-terminated text buffer. Start from {0}. data is malloc'd:
 * release it with inv_metrics_buf_free(), or take it (e.g. to hand to
 * inv_http_response_set_body) and free() it yourself. */
typedef struct {
    char *data;
    size_t len; /* bytes of text, without the NUL */
    size_t cap;
} inv_metrics_buf_t;

/* Latency buckets in seconds, 1 ms to 10 s, for end-to-end and commit
 * timings. */
extern const double inv_metrics_latency_buckets[];
extern const size_t inv_metrics_latency_bucket_count;

/* An empty registry, or NULL when out of memory. */
inv_metrics_t *inv_metrics_new(void);
/* Frees the registry and every handle it returned. No thread may update or
 * render it any more. NULL is a no-op. */
void inv_metrics_destroy(inv_metrics_t *m);

/* Registers (or finds) a counter series. name: [a-zA-Z_:][a-zA-Z0-9_:]*;
 * help: one line (newlines and backslashes are escaped); labels: see above.
 * On success *out is the handle, owned by the registry. */
int inv_metrics_counter_new(inv_metrics_t *m, const char *name, const char *help, const char *const *labels,
                            inv_metrics_counter_t **out, char *errstr, size_t errstr_size);
/* Registers (or finds) a gauge series; as inv_metrics_counter_new. */
int inv_metrics_gauge_new(inv_metrics_t *m, const char *name, const char *help, const char *const *labels,
                          inv_metrics_gauge_t **out, char *errstr, size_t errstr_size);
/* Registers (or finds) a histogram series with upper bounds bounds[0..n-1]:
 * finite, strictly increasing, n >= 1 (the +Inf bucket is implicit). Every
 * series of one family must use the same bounds. The array is copied. The
 * label name "le" is reserved. */
int inv_metrics_histogram_new(inv_metrics_t *m, const char *name, const char *help, const char *const *labels,
                              const double *bounds, size_t n, inv_metrics_histogram_t **out, char *errstr,
                              size_t errstr_size);

/* Hides a series from rendering and zeroes it; see "Handles" above. Writer
 * thread only. */
void inv_metrics_counter_remove(inv_metrics_counter_t *c);
void inv_metrics_gauge_remove(inv_metrics_gauge_t *g);
void inv_metrics_histogram_remove(inv_metrics_histogram_t *h);

/* Hot path: one atomic add (a compare-and-swap for doubles). A counter keeps
 * an integer and a floating part; it renders as an exact integer while only
 * integers were added. Negative or NaN amounts are ignored: counters only go
 * up. */
void inv_metrics_counter_add(inv_metrics_counter_t *c, uint64_t n);
void inv_metrics_counter_add_double(inv_metrics_counter_t *c, double v);
#define inv_metrics_counter_inc(c) inv_metrics_counter_add((c), 1)

/* Hot path: a gauge holds a double (integers are exact up to 2^53, which
 * covers offsets and lags). set is one atomic store, add a compare-and-swap. */
void inv_metrics_gauge_set(inv_metrics_gauge_t *g, int64_t v);
void inv_metrics_gauge_set_double(inv_metrics_gauge_t *g, double v);
void inv_metrics_gauge_add(inv_metrics_gauge_t *g, int64_t delta);
void inv_metrics_gauge_add_double(inv_metrics_gauge_t *g, double delta);

/* Hot path: counts v in the first bucket whose bound is >= v (Prometheus
 * "le" is inclusive) and adds it to the sum: two atomic operations. NaN is
 * ignored. The count is the sum of the buckets, so a scrape always shows
 * _count equal to the +Inf bucket. */
void inv_metrics_histogram_observe(inv_metrics_histogram_t *h, double v);

/* Current values, for tests and for /healthz-style decisions. */
double inv_metrics_counter_value(const inv_metrics_counter_t *c);
double inv_metrics_gauge_value(const inv_metrics_gauge_t *g);
uint64_t inv_metrics_histogram_count(const inv_metrics_histogram_t *h);
double inv_metrics_histogram_sum(const inv_metrics_histogram_t *h);

/* Appends the whole exposition to buf (growing it). Safe to call from any
 * thread while the writer updates and registers. On ENOMEM buf keeps its
 * previous contents. */
int inv_metrics_render(inv_metrics_t *m, inv_metrics_buf_t *buf);

/* Frees buf->data and resets buf to {0}. */
void inv_metrics_buf_free(inv_metrics_buf_t *buf);

#endif
