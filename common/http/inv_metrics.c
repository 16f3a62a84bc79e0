#include "inv_metrics.h"
#include "inv_buf.h"
#include "inv_log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double inv_metrics_latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t inv_metrics_latency_bucket_count =
    sizeof(inv_metrics_latency_buckets) / sizeof(inv_metrics_latency_buckets[0]);

typedef enum { FAM_COUNTER = 0, FAM_GAUGE, FAM_HISTOGRAM } fam_type_t;
static const char *const fam_type_names[] = {"counter", "gauge", "histogram"};

struct family;

/* One labelled series. The atomics are the only fields the hot path
 * touches; everything else is written under the registry lock. */
struct series {
    struct family *fam;
    struct series *next;
    char *labels;              /* escaped `a="b",c="d"`, "" for none */
    int hidden;                /* removed: not rendered; guarded by the registry lock */
    _Atomic uint64_t u;        /* counter: integer part */
    _Atomic uint64_t d;        /* bits of a double: counter floating part,
                                  gauge value, histogram sum */
    _Atomic uint64_t *buckets; /* histogram: n_bounds + 1 counts, not cumulative */
};

/* The public handle types are the series itself, told apart only so that the
 * compiler catches a gauge passed to a counter call. */
struct inv_metrics_counter_s {
    struct series s;
};
struct inv_metrics_gauge_s {
    struct series s;
};
struct inv_metrics_histogram_s {
    struct series s;
};

struct family {
    struct inv_metrics_s *m;
    struct family *next;
    char *name;
    char *help; /* escaped */
    fam_type_t type;
    double *bounds;
    size_t n_bounds;
    struct series *head, *tail;
};

struct inv_metrics_s {
    pthread_mutex_t lock; /* families, series lists, hidden flags */
    struct family *head, *tail;
};

/* ---- doubles in atomics ---- */

static uint64_t d2u(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double u2d(uint64_t u) {
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static void atomic_add_double(_Atomic uint64_t *p, double v) {
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (
        !atomic_compare_exchange_weak_explicit(p, &old, d2u(u2d(old) + v), memory_order_relaxed, memory_order_relaxed))
        ;
}

static double load_double(const _Atomic uint64_t *p) {
    return u2d(atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed));
}

/* ---- buffer ---- */

/* Room for extra more bytes and a NUL. */
static int buf_reserve(inv_metrics_buf_t *b, size_t extra) {
    return inv_buf_grow(&b->data, &b->cap, b->len, extra + 1, 1024);
}

static int buf_append(inv_metrics_buf_t *b, const char *s, size_t n) {
    if (buf_reserve(b, n))
        return ENOMEM;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int buf_puts(inv_metrics_buf_t *b, const char *s) { return buf_append(b, s, strlen(s)); }

void inv_metrics_buf_free(inv_metrics_buf_t *buf) {
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

/* ---- names, labels, numbers ---- */

static int valid_name(const char *s, int colon_ok) {
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
        if (!alpha && !(p > s && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* Escapes for a label value (quote too) or a HELP text (no quote). */
static int append_escaped(inv_metrics_buf_t *b, const char *s, int quote) {
    for (const char *p = s; *p; p++) {
        int rc;
        if (*p == '\\')
            rc = buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            rc = buf_append(b, "\\n", 2);
        else if (*p == '"' && quote)
            rc = buf_append(b, "\\\"", 2);
        else
            rc = buf_append(b, p, 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* Prometheus floats: shortest text that reads back as the same double,
 * integers without exponent, and the Go spellings of the specials. */
static void format_double(char *out, size_t size, double v) {
    if (isnan(v)) {
        snprintf(out, size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    } else if (v > -1e15 && v < 1e15 && (double)(int64_t)v == v) {
        snprintf(out, size, "%" PRId64, (int64_t)v);
    } else {
        snprintf(out, size, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, size, "%.17g", v);
    }
}

/* Validates labels and renders them as the text between the braces. */
static int build_labels(const char *name, const char *const *labels, fam_type_t type, char **out, char *errstr,
                        size_t errstr_size) {
    inv_metrics_buf_t b = {0};
    if (buf_append(&b, "", 0))
        return ENOMEM;
    for (size_t i = 0; labels && labels[i]; i += 2) {
        const char *ln = labels[i], *lv = labels[i + 1];
        if (!valid_name(ln, 0) || strncmp(ln, "__", 2) == 0) {
            inv_errstr(errstr, errstr_size,
                       "metrics: %s: \"%s\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)", name,
                       ln);
            goto invalid;
        }
        if (type == FAM_HISTOGRAM && strcmp(ln, "le") == 0) {
            inv_errstr(errstr, errstr_size, "metrics: %s: label name \"le\" is reserved for histogram buckets", name);
            goto invalid;
        }
        if (!lv) {
            inv_errstr(errstr, errstr_size, "metrics: %s: label \"%s\" has no value", name, ln);
            goto invalid;
        }
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(labels[j], ln) == 0) {
                inv_errstr(errstr, errstr_size, "metrics: %s: label \"%s\" is given twice", name, ln);
                goto invalid;
            }
        }
        if ((i && buf_append(&b, ",", 1)) || buf_puts(&b, ln) || buf_append(&b, "=\"", 2) ||
            append_escaped(&b, lv, 1) || buf_append(&b, "\"", 1)) {
            inv_metrics_buf_free(&b);
            return ENOMEM;
        }
    }
    *out = b.data;
    return 0;
invalid:
    inv_metrics_buf_free(&b);
    return EINVAL;
}

/* ---- registry ---- */

inv_metrics_t *inv_metrics_new(void) {
    inv_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void series_free(struct series *s) {
    free(s->labels);
    free((void *)s->buckets);
    free(s);
}

static void family_free(struct family *f) {
    struct series *s = f->head;
    while (s) {
        struct series *next = s->next;
        series_free(s);
        s = next;
    }
    free(f->name);
    free(f->help);
    free(f->bounds);
    free(f);
}

void inv_metrics_destroy(inv_metrics_t *m) {
    if (!m)
        return;
    struct family *f = m->head;
    while (f) {
        struct family *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void series_zero(struct series *s) {
    atomic_store_explicit(&s->u, 0, memory_order_relaxed);
    atomic_store_explicit(&s->d, d2u(0.0), memory_order_relaxed);
    if (s->buckets)
        for (size_t i = 0; i <= s->fam->n_bounds; i++)
            atomic_store_explicit(&s->buckets[i], 0, memory_order_relaxed);
}

static struct family *family_new(inv_metrics_t *m, const char *name, const char *help, fam_type_t type,
                                 const double *bounds, size_t n) {
    struct family *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    inv_metrics_buf_t h = {0};
    f->m = m;
    f->type = type;
    f->name = strdup(name);
    if (buf_append(&h, "", 0) || append_escaped(&h, help ? help : "", 0))
        goto fail;
    f->help = h.data;
    h.data = NULL;
    if (type == FAM_HISTOGRAM) {
        f->bounds = malloc(n * sizeof(*bounds));
        if (!f->bounds)
            goto fail;
        memcpy(f->bounds, bounds, n * sizeof(*bounds));
        f->n_bounds = n;
    }
    if (!f->name)
        goto fail;
    return f;
fail:
    inv_metrics_buf_free(&h);
    family_free(f);
    return NULL;
}

/* Finds or creates the series (name, labels) of the given type; the common
 * body of the three *_new calls. */
static int series_register(inv_metrics_t *m, const char *name, const char *help, fam_type_t type,
                           const char *const *labels, const double *bounds, size_t n, struct series **out, char *errstr,
                           size_t errstr_size) {
    *out = NULL;
    if (!valid_name(name, 1)) {
        inv_errstr(errstr, errstr_size, "metrics: \"%s\" is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                   name ? name : "(null)");
        return EINVAL;
    }
    if (type == FAM_HISTOGRAM) {
        if (!bounds || n == 0) {
            inv_errstr(errstr, errstr_size, "metrics: %s: a histogram needs at least one bucket bound", name);
            return EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
                inv_errstr(errstr, errstr_size,
                           "metrics: %s: bucket bounds must be finite and strictly increasing (bound %zu is %g)", name,
                           i, bounds[i]);
                return EINVAL;
            }
        }
    }
    char *lbl = NULL;
    int rc = build_labels(name, labels, type, &lbl, errstr, errstr_size);
    if (rc)
        return rc;

    pthread_mutex_lock(&m->lock);
    struct family *f = m->head;
    while (f && strcmp(f->name, name) != 0)
        f = f->next;
    if (f && f->type != type) {
        inv_errstr(errstr, errstr_size, "metrics: %s: already registered as a %s, not a %s", name,
                   fam_type_names[f->type], fam_type_names[type]);
        rc = EINVAL;
        goto out;
    }
    if (f && type == FAM_HISTOGRAM && (f->n_bounds != n || memcmp(f->bounds, bounds, n * sizeof(*bounds)) != 0)) {
        inv_errstr(errstr, errstr_size, "metrics: %s: bucket bounds differ from the family's first registration", name);
        rc = EINVAL;
        goto out;
    }
    int new_family = !f;
    if (new_family && !(f = family_new(m, name, help, type, bounds, n))) {
        rc = ENOMEM;
        goto out;
    }

    struct series *s = f->head;
    while (s && strcmp(s->labels, lbl) != 0)
        s = s->next;
    if (s) {
        if (s->hidden) {
            series_zero(s);
            s->hidden = 0;
        }
        *out = s;
        goto out;
    }
    /* Every handle type is a struct holding only a series, so allocating a
     * series allocates any of them. */
    s = calloc(1, sizeof(struct inv_metrics_counter_s));
    if (!s)
        goto oom;
    s->fam = f;
    s->labels = lbl;
    atomic_init(&s->u, 0);
    atomic_init(&s->d, d2u(0.0));
    if (type == FAM_HISTOGRAM) {
        s->buckets = malloc((n + 1) * sizeof(*s->buckets));
        if (!s->buckets) {
            free(s);
            goto oom;
        }
        for (size_t i = 0; i <= n; i++)
            atomic_init(&s->buckets[i], 0);
    }
    lbl = NULL;
    if (f->tail)
        f->tail->next = s;
    else
        f->head = s;
    f->tail = s;
    if (new_family) {
        if (m->tail)
            m->tail->next = f;
        else
            m->head = f;
        m->tail = f;
    }
    *out = s;
    goto out;
oom:
    if (new_family)
        family_free(f);
    rc = ENOMEM;
out:
    pthread_mutex_unlock(&m->lock);
    free(lbl);
    return rc;
}

int inv_metrics_counter_new(inv_metrics_t *m, const char *name, const char *help, const char *const *labels,
                            inv_metrics_counter_t **out, char *errstr, size_t errstr_size) {
    struct series *s;
    int rc = series_register(m, name, help, FAM_COUNTER, labels, NULL, 0, &s, errstr, errstr_size);
    *out = (inv_metrics_counter_t *)s;
    return rc;
}

int inv_metrics_gauge_new(inv_metrics_t *m, const char *name, const char *help, const char *const *labels,
                          inv_metrics_gauge_t **out, char *errstr, size_t errstr_size) {
    struct series *s;
    int rc = series_register(m, name, help, FAM_GAUGE, labels, NULL, 0, &s, errstr, errstr_size);
    *out = (inv_metrics_gauge_t *)s;
    return rc;
}

int inv_metrics_histogram_new(inv_metrics_t *m, const char *name, const char *help, const char *const *labels,
                              const double *bounds, size_t n, inv_metrics_histogram_t **out, char *errstr,
                              size_t errstr_size) {
    struct series *s;
    int rc = series_register(m, name, help, FAM_HISTOGRAM, labels, bounds, n, &s, errstr, errstr_size);
    *out = (inv_metrics_histogram_t *)s;
    return rc;
}

static void series_remove(struct series *s) {
    inv_metrics_t *m = s->fam->m;
    pthread_mutex_lock(&m->lock);
    s->hidden = 1;
    series_zero(s);
    pthread_mutex_unlock(&m->lock);
}

void inv_metrics_counter_remove(inv_metrics_counter_t *c) { series_remove(&c->s); }
void inv_metrics_gauge_remove(inv_metrics_gauge_t *g) { series_remove(&g->s); }
void inv_metrics_histogram_remove(inv_metrics_histogram_t *h) { series_remove(&h->s); }

/* ---- hot path ---- */

void inv_metrics_counter_add(inv_metrics_counter_t *c, uint64_t n) {
    atomic_fetch_add_explicit(&c->s.u, n, memory_order_relaxed);
}

void inv_metrics_counter_add_double(inv_metrics_counter_t *c, double v) {
    if (v > 0) /* also false for NaN */
        atomic_add_double(&c->s.d, v);
}

void inv_metrics_gauge_set(inv_metrics_gauge_t *g, int64_t v) {
    atomic_store_explicit(&g->s.d, d2u((double)v), memory_order_relaxed);
}

void inv_metrics_gauge_set_double(inv_metrics_gauge_t *g, double v) {
    atomic_store_explicit(&g->s.d, d2u(v), memory_order_relaxed);
}

void inv_metrics_gauge_add(inv_metrics_gauge_t *g, int64_t delta) { atomic_add_double(&g->s.d, (double)delta); }

void inv_metrics_gauge_add_double(inv_metrics_gauge_t *g, double delta) { atomic_add_double(&g->s.d, delta); }

void inv_metrics_histogram_observe(inv_metrics_histogram_t *h, double v) {
    if (isnan(v))
        return;
    const struct family *f = h->s.fam;
    size_t i = 0;
    while (i < f->n_bounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->s.buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&h->s.d, v);
}

/* ---- reading ---- */

static double counter_value(const struct series *s) {
    return (double)atomic_load_explicit((_Atomic uint64_t *)&s->u, memory_order_relaxed) + load_double(&s->d);
}

double inv_metrics_counter_value(const inv_metrics_counter_t *c) { return counter_value(&c->s); }
double inv_metrics_gauge_value(const inv_metrics_gauge_t *g) { return load_double(&g->s.d); }
double inv_metrics_histogram_sum(const inv_metrics_histogram_t *h) { return load_double(&h->s.d); }

uint64_t inv_metrics_histogram_count(const inv_metrics_histogram_t *h) {
    uint64_t n = 0;
    for (size_t i = 0; i <= h->s.fam->n_bounds; i++)
        n += atomic_load_explicit(&h->s.buckets[i], memory_order_relaxed);
    return n;
}

/* ---- rendering ---- */

/* name[suffix]{labels[,extra]} value\n */
static int render_sample(inv_metrics_buf_t *b, const char *name, const char *suffix, const char *labels,
                         const char *extra, const char *value) {
    int has_labels = labels[0] || extra;
    int rc = buf_puts(b, name) || buf_puts(b, suffix);
    if (!rc && has_labels) {
        rc = buf_append(b, "{", 1) || buf_puts(b, labels) || (labels[0] && extra && buf_append(b, ",", 1)) ||
             (extra && buf_puts(b, extra)) || buf_append(b, "}", 1);
    }
    rc = rc || buf_append(b, " ", 1) || buf_puts(b, value) || buf_append(b, "\n", 1);
    return rc ? ENOMEM : 0;
}

static int render_series(inv_metrics_buf_t *b, const struct family *f, const struct series *s) {
    char value[40];
    if (f->type == FAM_COUNTER) {
        uint64_t u = atomic_load_explicit((_Atomic uint64_t *)&s->u, memory_order_relaxed);
        double d = load_double(&s->d);
        if (d == 0)
            snprintf(value, sizeof(value), "%" PRIu64, u);
        else
            format_double(value, sizeof(value), (double)u + d);
        return render_sample(b, f->name, "", s->labels, NULL, value);
    }
    if (f->type == FAM_GAUGE) {
        format_double(value, sizeof(value), load_double(&s->d));
        return render_sample(b, f->name, "", s->labels, NULL, value);
    }
    /* Cumulative counts from one read of each bucket: _count is their sum,
     * so it always equals the +Inf bucket however the writer interleaves. */
    uint64_t cum = 0;
    char le[48];
    for (size_t i = 0; i <= f->n_bounds; i++) {
        cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->n_bounds) {
            char bound[40];
            format_double(bound, sizeof(bound), f->bounds[i]);
            snprintf(le, sizeof(le), "le=\"%s\"", bound);
        } else {
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        }
        snprintf(value, sizeof(value), "%" PRIu64, cum);
        if (render_sample(b, f->name, "_bucket", s->labels, le, value))
            return ENOMEM;
    }
    format_double(value, sizeof(value), load_double(&s->d));
    if (render_sample(b, f->name, "_sum", s->labels, NULL, value))
        return ENOMEM;
    snprintf(value, sizeof(value), "%" PRIu64, cum);
    return render_sample(b, f->name, "_count", s->labels, NULL, value);
}

int inv_metrics_render(inv_metrics_t *m, inv_metrics_buf_t *buf) {
    size_t start = buf->len;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (const struct family *f = m->head; f && !rc; f = f->next) {
        rc = buf_append(buf, "# HELP ", 7) || buf_puts(buf, f->name) || buf_append(buf, " ", 1) ||
             buf_puts(buf, f->help) || buf_append(buf, "\n# TYPE ", 8) || buf_puts(buf, f->name) ||
             buf_append(buf, " ", 1) || buf_puts(buf, fam_type_names[f->type]) || buf_append(buf, "\n", 1);
        for (const struct series *s = f->head; s && !rc; s = s->next)
            if (!s->hidden)
                rc = render_series(buf, f, s);
    }
    pthread_mutex_unlock(&m->lock);
    if (rc) {
        buf->len = start;
        if (buf->data)
            buf->data[start] = '\0';
        return ENOMEM;
    }
    if (!buf->data) /* an empty registry still yields "" */
        return buf_append(buf, "", 0);
    return 0;
}
