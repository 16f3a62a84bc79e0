/*
 * lg_rng: the load generator's one source of randomness, xoshiro256**
 * seeded through splitmix64 (Blackman and Vigna). Every decision of the
 * traffic model draws from one lg_rng_t, so the same seed gives the same
 * sequence of messages on every machine: nothing here depends on the libc's
 * rand() or on time.
 */
#ifndef LG_RNG_H
#define LG_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} lg_rng_t;

static inline uint64_t lg_rng_splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Seeds the generator; any seed (0 included) gives a usable state. */
static inline void lg_rng_seed(lg_rng_t *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = lg_rng_splitmix64(&x);
}

static inline uint64_t lg_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t lg_rng_next(lg_rng_t *r) {
    uint64_t *s = r->s;
    uint64_t result = lg_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lg_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double lg_rng_unit(lg_rng_t *r) { return (double)(lg_rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n) for n >= 1 (multiply-shift: no modulo bias worth
 * measuring for the small n used here, and no loop, so the number of draws
 * per decision is fixed). */
static inline uint64_t lg_rng_below(lg_rng_t *r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)lg_rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi], lo <= hi. */
static inline int64_t lg_rng_range(lg_rng_t *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)lg_rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* 1 with probability p. */
static inline int lg_rng_chance(lg_rng_t *r, double p) { return lg_rng_unit(r) < p; }

#endif
