/*
 * inv_log: leveled, timestamped logging to stderr.
 */
#ifndef INV_LOG_H
#define INV_LOG_H

#include <stddef.h>

typedef enum { INV_LOG_ERROR = 0, INV_LOG_WARN, INV_LOG_INFO, INV_LOG_DEBUG } inv_log_level_t;

/* Sets the lowest level printed; "error", "warn", "info" or "debug".
 * Returns 0, or -1 for an unknown name. */
int inv_log_set_level_name(const char *name);
void inv_log_set_level(inv_log_level_t level);
inv_log_level_t inv_log_get_level(void);

/* Names the program in every line ("inv-sale"). The string is borrowed. */
void inv_log_set_program(const char *name);

void inv_log(inv_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The size of every error-sentence buffer (the errstr of the functions that
 * take one): room for a sentence that names a field and its place. */
#define INV_ERRSTR_SIZE 1024

/* Writes the sentence into errstr (nothing when errstr is NULL or
 * errstr_size 0) and returns -1, for `return inv_errstr(...)`. */
int inv_errstr(char *errstr, size_t errstr_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define inv_log_error(...) inv_log(INV_LOG_ERROR, __VA_ARGS__)
#define inv_log_warn(...) inv_log(INV_LOG_WARN, __VA_ARGS__)
#define inv_log_info(...) inv_log(INV_LOG_INFO, __VA_ARGS__)
#define inv_log_debug(...) inv_log(INV_LOG_DEBUG, __VA_ARGS__)

#endif
