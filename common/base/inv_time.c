/* inv_time: the one clock, and RFC 3339 text. */
#include "inv_time.h"

#include <string.h>
#include <time.h>

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t inv_time_mono_us(void) { return clock_ns(CLOCK_MONOTONIC) / 1000; }
int64_t inv_time_mono_ms(void) { return clock_ns(CLOCK_MONOTONIC) / 1000000; }
double inv_time_mono_s(void) { return (double)clock_ns(CLOCK_MONOTONIC) / 1e9; }
int64_t inv_time_mono_coarse_ns(void) { return clock_ns(CLOCK_MONOTONIC_COARSE); }
int64_t inv_time_wall_ms(void) { return clock_ns(CLOCK_REALTIME) / 1000000; }

#define MS_PER_DAY 86400000LL

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 29;
    return dm[m - 1];
}

int inv_time_parse_rfc3339(const char *s, int64_t *ms_out) {
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        /* Milliseconds are the first three digits; further ones truncate. */
        int nd = 0;
        for (; *p >= '0' && *p <= '9'; nd++, p++)
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
        for (; nd < 3; nd++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t t =
        days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
    t -= (int64_t)sign * ((int64_t)oh * 3600 + om * 60) * 1000;
    if (t < INV_TIME_MIN_MS || t > INV_TIME_MAX_MS)
        return -1;
    *ms_out = t;
    return 0;
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ"; times outside the years 0000-9999 are
 * clamped to them (the encoders reject such times before they get here). */
void inv_time_format_rfc3339(int64_t ms, char buf[32]) {
    if (ms < INV_TIME_MIN_MS)
        ms = INV_TIME_MIN_MS;
    if (ms > INV_TIME_MAX_MS)
        ms = INV_TIME_MAX_MS;
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Written digit by digit: this runs for every time of every JSON output. */
    unsigned r = (unsigned)rem, yy = (unsigned)y;
    const unsigned parts[7] = {yy, m, d, r / 3600000, r / 60000 % 60, r / 1000 % 60, r % 1000};
    static const char layout[] = "0000-00-00T00:00:00.000Z";
    memcpy(buf, layout, sizeof(layout));
    /* end position (exclusive) of each part in the layout */
    static const int ends[7] = {4, 7, 10, 13, 16, 19, 23};
    for (int i = 0; i < 7; i++) {
        unsigned v = parts[i];
        for (int k = ends[i] - 1; v && k >= 0 && buf[k] >= '0' && buf[k] <= '9'; k--, v /= 10)
            buf[k] = (char)('0' + v % 10);
    }
}
