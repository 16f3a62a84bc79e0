/*
 * inv_time: the one clock every module reads, and RFC 3339 text.
 *
 * Monotonic readings measure intervals (timeouts, rates, histograms); wall
 * readings stamp what the contract calls "now" (updated_at, the time an id
 * was first applied). Nothing here fails or allocates.
 */
#ifndef INV_TIME_H
#define INV_TIME_H

#include <stdint.h>

#define INV_TIME_MIN_MS (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */
#define INV_TIME_MAX_MS (253402300799999LL) /* 9999-12-31T23:59:59.999Z */

/* CLOCK_MONOTONIC in microseconds, milliseconds, seconds. */
int64_t inv_time_mono_us(void);
int64_t inv_time_mono_ms(void);
double inv_time_mono_s(void);
/* CLOCK_MONOTONIC_COARSE (a few ms of resolution, no syscall): for checks
 * made on every message that only need to know a period has passed. */
int64_t inv_time_mono_coarse_ns(void);
/* CLOCK_REALTIME, Unix epoch milliseconds. */
int64_t inv_time_wall_ms(void);

/* RFC 3339 <-> epoch milliseconds. Parsing accepts YYYY-MM-DDTHH:MM:SS
 * with an optional fraction (digits past milliseconds truncate) and Z or an
 * offset (+02:00); 't', 'z' and a space for 'T' too; years 0000 to 9999.
 * 0, or -1 for anything else. Formatting writes "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * (25 bytes with NUL) into buf, clamping times outside the years 0000 to
 * 9999 to them. */
int inv_time_parse_rfc3339(const char *s, int64_t *ms_out);
void inv_time_format_rfc3339(int64_t ms, char buf[32]);

#endif
