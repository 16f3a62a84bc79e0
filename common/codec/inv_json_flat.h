/*
 * inv_json_flat: scans one flat JSON object (members that are strings,
 * integers or null) into slots named by the caller, without allocating.
 *
 * It is the fast path in front of a full parser (jansson, in inv_codec.c):
 * it takes only what it decodes exactly as jansson would, and declines the
 * rest without saying why, so the full parser gives the verdict and the
 * error message. It declines:
 *  - escapes (any backslash), control bytes and invalid UTF-8 in strings
 *    (valid means jansson's rules: no overlong forms, no surrogates,
 *    nothing above U+10FFFF);
 *  - numbers with a fraction or an exponent, leading zeros, "-0", numbers
 *    outside int64; true and false unless the member takes
 *    INV_JSON_FLAT_BOOL; arrays and objects as values;
 *  - unknown or repeated members, a missing member not marked absent-ok,
 *    a value of a type its member does not accept, a string longer than
 *    its member's max_len or than the scratch buffer has room for;
 *  - anything but JSON whitespace around the object, a BOM, empty input.
 */
#ifndef INV_JSON_FLAT_H
#define INV_JSON_FLAT_H

#include <stddef.h>
#include <stdint.h>

/* What a member may be (inv_json_flat_member_t.accept, a mask) and what it
 * was (inv_json_flat_value_t.type, one bit). */
#define INV_JSON_FLAT_ABSENT (1u << 0) /* not in the object */
#define INV_JSON_FLAT_NULL (1u << 1)
#define INV_JSON_FLAT_STRING (1u << 2)
#define INV_JSON_FLAT_INT (1u << 3)  /* an integer in int64 */
#define INV_JSON_FLAT_BOOL (1u << 4) /* true or false: num 1 or 0 */

#define INV_JSON_FLAT_MAX_MEMBERS 32

typedef struct {
    const char *name; /* as written in JSON: ASCII, nothing JSON escapes */
    unsigned accept;  /* INV_JSON_FLAT_* bits */
    size_t max_len;   /* longest string taken, in bytes */
} inv_json_flat_member_t;

typedef struct {
    unsigned type;   /* one INV_JSON_FLAT_* bit */
    const char *str; /* STRING: NUL-terminated, in the scratch buffer */
    size_t len;      /* STRING: bytes, without the NUL */
    int64_t num;     /* INT; BOOL: 1 for true, 0 for false */
} inv_json_flat_value_t;

/* Scans buf[0..len) as one object whose members are among members[0..count)
 * (any order, each at most once) and fills values[i] for members[i].
 * Strings are copied into scratch, NUL-terminated, and the values point
 * there. Returns 0 when it decoded the object, -1 when it declined it (the
 * values and scratch are then unspecified). count is at most
 * INV_JSON_FLAT_MAX_MEMBERS. */
int inv_json_flat_scan(const char *buf, size_t len, const inv_json_flat_member_t *members, size_t count,
                       inv_json_flat_value_t *values, char *scratch, size_t scratch_size);

/* Bytes of the UTF-8 character at s[0..left) (left > 0): 1 for ASCII, 2-4
 * for a well-formed sequence, 0 when it is not one (an overlong form, a
 * surrogate, above U+10FFFF, cut short). What jansson accepts as UTF-8;
 * the codec's one UTF-8 check. */
size_t inv_utf8_char(const unsigned char *s, size_t left);

#endif
