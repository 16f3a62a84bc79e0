/*
 * inv_bytes: fixed-width integers in byte buffers, for the binary records
 * of the LMDB state and the internal logs. Little-endian for values (as
 * stored), big-endian for key parts (so that keys sort as the numbers do).
 * Pure functions on the caller's memory; nothing fails.
 */
#ifndef INV_BYTES_H
#define INV_BYTES_H

#include <stdint.h>

static inline void inv_put_le64(unsigned char *p, int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

static inline int64_t inv_get_le64(const unsigned char *p) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    return (int64_t)u;
}

/* The low `bytes` bytes of v, most significant first. */
static inline void inv_put_be(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

static inline uint64_t inv_get_be(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
