/*
 * lg_zipf: Zipf-distributed ranks. P(rank k) is proportional to 1 / k^s for
 * k = 1..n, the popularity curve of a retail assortment (a few best sellers,
 * a long tail). The cumulative distribution is computed once; each sample is
 * one uniform draw and a binary search, O(log n), no allocation.
 */
#ifndef LG_ZIPF_H
#define LG_ZIPF_H

#include <stddef.h>

#include "lg_rng.h"

typedef struct lg_zipf_s lg_zipf_t;

/* A sampler over ranks 1..n with exponent s (0 = uniform). Returns NULL and
 * fills errstr for n < 1, s < 0 or s not finite, or when out of memory. The
 * caller owns the result (lg_zipf_destroy). */
lg_zipf_t *lg_zipf_new(size_t n, double s, char *errstr, size_t errstr_size);
void lg_zipf_destroy(lg_zipf_t *z);

/* A rank in 0..n-1 (0 = the most popular), one draw from r. */
size_t lg_zipf_sample(const lg_zipf_t *z, lg_rng_t *r);

/* The first index k of the n ascending values cdf[] with cdf[k] > u (n - 1
 * when none is): the draw of a discrete distribution given u in [0, 1). */
size_t lg_cdf_index(const double *cdf, size_t n, double u);

/* The exact probability of rank k (0-based), for tests and reports. */
double lg_zipf_probability(const lg_zipf_t *z, size_t k);

size_t lg_zipf_size(const lg_zipf_t *z);

#endif
