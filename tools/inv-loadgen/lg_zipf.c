#include "lg_zipf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct lg_zipf_s {
    size_t n;
    double *cdf; /* cdf[k] = P(rank <= k), cdf[n-1] == 1 */
};

lg_zipf_t *lg_zipf_new(size_t n, double s, char *errstr, size_t errstr_size) {
    if (n < 1) {
        snprintf(errstr, errstr_size, "zipf: %zu ranks, expected at least 1", n);
        return NULL;
    }
    if (!isfinite(s) || s < 0) {
        snprintf(errstr, errstr_size, "zipf: exponent %g, expected a finite number >= 0", s);
        return NULL;
    }
    lg_zipf_t *z = calloc(1, sizeof(*z));
    double *cdf = malloc(n * sizeof(*cdf));
    if (!z || !cdf) {
        free(z);
        free(cdf);
        snprintf(errstr, errstr_size, "zipf: out of memory for %zu ranks", n);
        return NULL;
    }
    /* Sum from the smallest weight up: the tail's tiny terms are not lost
     * against the head's large ones. */
    double total = 0;
    for (size_t k = n; k-- > 0;)
        total += pow((double)(k + 1), -s);
    double acc = 0;
    for (size_t k = 0; k < n; k++) {
        acc += pow((double)(k + 1), -s) / total;
        cdf[k] = acc;
    }
    cdf[n - 1] = 1.0; /* rounding must never leave a gap above the last rank */
    z->n = n;
    z->cdf = cdf;
    return z;
}

void lg_zipf_destroy(lg_zipf_t *z) {
    if (!z)
        return;
    free(z->cdf);
    free(z);
}

size_t lg_cdf_index(const double *cdf, size_t n, double u) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

size_t lg_zipf_sample(const lg_zipf_t *z, lg_rng_t *r) { return lg_cdf_index(z->cdf, z->n, lg_rng_unit(r)); }

double lg_zipf_probability(const lg_zipf_t *z, size_t k) {
    if (k >= z->n)
        return 0;
    return k == 0 ? z->cdf[0] : z->cdf[k] - z->cdf[k - 1];
}

size_t lg_zipf_size(const lg_zipf_t *z) { return z->n; }
