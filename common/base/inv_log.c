#include "inv_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static inv_log_level_t log_level = INV_LOG_INFO;
static const char *log_program = "inv";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int inv_log_set_level_name(const char *name) {
    for (int i = 0; i <= INV_LOG_DEBUG; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            log_level = (inv_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void inv_log_set_level(inv_log_level_t level) { log_level = level; }
inv_log_level_t inv_log_get_level(void) { return log_level; }
void inv_log_set_program(const char *name) { log_program = name; }

void inv_log(inv_log_level_t level, const char *fmt, ...) {
    if (level > log_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %-5s ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_program, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so lines of concurrent threads do not interleave. */
    fprintf(stderr, "%s\n", line);
}

int inv_errstr(char *errstr, size_t errstr_size, const char *fmt, ...) {
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return -1;
}
