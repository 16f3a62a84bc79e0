/*
 * inv_parse: the one parser of numbers written by people (flags, config
 * values, CSV cells). Decimal only, the whole string, no leading space.
 *
 * Errors: 0 on success (*out set); INV_PARSE_EINVAL when s is not a number
 * of the type at all (empty, junk, too large for the type); INV_PARSE_ERANGE
 * when it is one but lies outside [min, max]. *out is untouched on error.
 */
#ifndef INV_PARSE_H
#define INV_PARSE_H

#include <stdint.h>

#define INV_PARSE_EINVAL (-1)
#define INV_PARSE_ERANGE (-2)

int inv_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Digits only (no sign). */
int inv_parse_uint64(const char *s, uint64_t *out);
/* A finite decimal or exponent form, as strtod reads it. */
int inv_parse_double(const char *s, double min, double max, double *out);

/* Trims the white space (isspace) around the NUL-terminated s in place:
 * writes a NUL after its last other character and returns a pointer to its
 * first, inside s. */
char *inv_parse_trim(char *s);

#endif
