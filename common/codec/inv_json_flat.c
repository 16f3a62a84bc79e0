/*
 * inv_json_flat: the tree-free scan of a flat JSON object. Every rule here
 * mirrors jansson 2.14's load.c and utf8.c, and anything they would treat
 * differently (or reject) is declined, never decided: see inv_json_flat.h.
 */
#include "inv_json_flat.h"

#include <stdbool.h>
#include <string.h>

static size_t skip_ws(const unsigned char *s, size_t i, size_t len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* The string whose opening quote is at s[*i]: its bytes are s[*start..
 * *start + *slen), and *i moves past the closing quote. -1 to decline. */
static int scan_string(const unsigned char *s, size_t len, size_t *i, size_t *start, size_t *slen) {
    size_t k = *i + 1;
    *start = k;
    while (k < len) {
        unsigned char c = s[k];
        if (c == '"') {
            *slen = k - *start;
            *i = k + 1;
            return 0;
        }
        if (c == '\\' || c < 0x20)
            return -1;
        if (c < 0x80) {
            k++;
            continue;
        }
        size_t n = inv_utf8_char(s + k, len - k);
        if (!n)
            return -1;
        k += n;
    }
    return -1;
}

/* An integer at s[*i]; *i moves past its digits. What follows is the
 * caller's to check: "1.5" leaves ".5", which no caller takes. -1 to
 * decline: no digit, a leading zero before a digit, "-0", out of int64. */
static int scan_int(const unsigned char *s, size_t len, size_t *i, int64_t *out) {
    size_t k = *i;
    bool neg = s[k] == '-';
    if (neg)
        k++;
    if (k >= len || s[k] < '0' || s[k] > '9')
        return -1;
    if (s[k] == '0' && (neg || (k + 1 < len && s[k + 1] >= '0' && s[k + 1] <= '9')))
        return -1;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; k < len && s[k] >= '0' && s[k] <= '9'; k++) {
        unsigned d = (unsigned)(s[k] - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = !neg ? (int64_t)v : v == limit ? INT64_MIN : -(int64_t)v;
    *i = k;
    return 0;
}

/* The member named key, or count. Looked for from `from` on, wrapping
 * around: writers put the members in one order, so starting after the
 * previous member usually finds the next at the first try. */
static size_t find_member(const inv_json_flat_member_t *members, size_t count, const unsigned char *key, size_t klen,
                          size_t from) {
    for (size_t j = 0, m = from < count ? from : 0; j < count; j++, m = m + 1 < count ? m + 1 : 0)
        if (strncmp(members[m].name, (const char *)key, klen) == 0 && members[m].name[klen] == '\0')
            return m;
    return count;
}

/* One member's value at s[*i], into v. -1 to decline. */
static int scan_value(const unsigned char *s, size_t len, size_t *i, const inv_json_flat_member_t *m,
                      inv_json_flat_value_t *v, char *scratch, size_t scratch_size, size_t *used) {
    if (s[*i] == '"') {
        size_t start, slen;
        if (!(m->accept & INV_JSON_FLAT_STRING) || scan_string(s, len, i, &start, &slen) || slen > m->max_len ||
            slen >= scratch_size - *used)
            return -1;
        char *dst = scratch + *used;
        memcpy(dst, s + start, slen);
        dst[slen] = '\0';
        *used += slen + 1;
        v->type = INV_JSON_FLAT_STRING;
        v->str = dst;
        v->len = slen;
        return 0;
    }
    if (s[*i] == 'n') {
        if (!(m->accept & INV_JSON_FLAT_NULL) || len - *i < 4 || memcmp(s + *i, "null", 4) != 0)
            return -1;
        *i += 4;
        v->type = INV_JSON_FLAT_NULL;
        return 0;
    }
    if (s[*i] == 't' || s[*i] == 'f') {
        size_t n = s[*i] == 't' ? 4 : 5;
        if (!(m->accept & INV_JSON_FLAT_BOOL) || len - *i < n ||
            memcmp(s + *i, s[*i] == 't' ? "true" : "false", n) != 0)
            return -1;
        *i += n;
        v->type = INV_JSON_FLAT_BOOL;
        v->num = n == 4;
        return 0;
    }
    if (!(m->accept & INV_JSON_FLAT_INT) || scan_int(s, len, i, &v->num))
        return -1;
    v->type = INV_JSON_FLAT_INT;
    return 0;
}

int inv_json_flat_scan(const char *buf, size_t len, const inv_json_flat_member_t *members, size_t count,
                       inv_json_flat_value_t *values, char *scratch, size_t scratch_size) {
    const unsigned char *s = (const unsigned char *)buf;
    uint32_t seen = 0;
    size_t used = 0;
    if (!buf || count > INV_JSON_FLAT_MAX_MEMBERS)
        return -1;
    size_t i = skip_ws(s, 0, len);
    if (i >= len || s[i] != '{')
        return -1;
    i = skip_ws(s, i + 1, len);
    if (i < len && s[i] == '}') {
        i++;
    } else {
        for (size_t next = 0;;) {
            size_t kstart, klen;
            if (i >= len || s[i] != '"' || scan_string(s, len, &i, &kstart, &klen))
                return -1;
            size_t m = find_member(members, count, s + kstart, klen, next);
            if (m == count || (seen & (1u << m)))
                return -1;
            seen |= 1u << m;
            next = m + 1;
            i = skip_ws(s, i, len);
            if (i >= len || s[i] != ':')
                return -1;
            i = skip_ws(s, i + 1, len);
            if (i >= len || scan_value(s, len, &i, &members[m], &values[m], scratch, scratch_size, &used))
                return -1;
            i = skip_ws(s, i, len);
            if (i < len && s[i] == ',') {
                i = skip_ws(s, i + 1, len);
                continue;
            }
            if (i < len && s[i] == '}') {
                i++;
                break;
            }
            return -1;
        }
    }
    if (skip_ws(s, i, len) != len)
        return -1;
    for (size_t m = 0; m < count; m++) {
        if (seen & (1u << m))
            continue;
        if (!(members[m].accept & INV_JSON_FLAT_ABSENT))
            return -1;
        values[m].type = INV_JSON_FLAT_ABSENT;
    }
    return 0;
}

/* Bytes of the UTF-8 character at s[0..left) (left > 0), 0 when it is not
 * one: no overlong forms, no surrogates, nothing above U+10FFFF, not cut. */
size_t inv_utf8_char(const unsigned char *s, size_t left) {
    size_t n;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}
