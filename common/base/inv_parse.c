/* inv_parse: numbers written by people (inv_parse.h). */
#include "inv_parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int inv_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) {
    if (!s || !*s || isspace((unsigned char)*s))
        return INV_PARSE_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return INV_PARSE_EINVAL;
    if (v < min || v > max)
        return INV_PARSE_ERANGE;
    *out = v;
    return 0;
}

int inv_parse_uint64(const char *s, uint64_t *out) {
    if (!s || !isdigit((unsigned char)*s))
        return INV_PARSE_EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return INV_PARSE_EINVAL;
    *out = v;
    return 0;
}

int inv_parse_double(const char *s, double min, double max, double *out) {
    if (!s || !*s || isspace((unsigned char)*s))
        return INV_PARSE_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return INV_PARSE_EINVAL;
    if (v < min || v > max)
        return INV_PARSE_ERANGE;
    *out = v;
    return 0;
}

char *inv_parse_trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}
