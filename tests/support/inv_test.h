/*
 * A tiny test harness in the manner of librdkafka's tests/test.h: each test
 * is a function, each assertion prints the expression, file:line and a
 * message, and the runner prints "N passed, N failed" and exits non-zero on
 * any failure. The one set of assertions of every unit test:
 *
 *   INV_ASSERT(expr[, fmt, ...])        fails the test and returns from it
 *   INV_ASSERT_EQ_INT(expected, actual)  the same, printing both integers
 *   INV_ASSERT_EQ_STR(expected, actual)  the same, printing both strings
 *   INV_EXPECT(expr[, fmt, ...])        fails the test but carries on (for
 *                                        helpers that check many cases)
 *   INV_FAIL(fmt, ...)                  fails the test and returns from it
 *
 *   static void test_parses_a_sale(void) { INV_ASSERT_EQ_INT(1, 1); }
 *   int main(void) { INV_RUN(test_parses_a_sale); return INV_TEST_DONE(); }
 *
 * The message of INV_ASSERT and INV_EXPECT may be left out: the format
 * printed is never empty (no -Wformat-zero-length), and gcc and clang take
 * an empty __VA_ARGS__ in C11 unless -pedantic (C23 allows it outright).
 */
#ifndef INV_TEST_H
#define INV_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int inv_test_passed, inv_test_failed, inv_test_cur_failed;
static const char *inv_test_cur_name;

#define INV_FAIL(...)                                                                \
    do {                                                                             \
        fprintf(stderr, "FAIL %s (%s:%d): ", inv_test_cur_name, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                                \
        fprintf(stderr, "\n");                                                       \
        inv_test_cur_failed = 1;                                                     \
        return;                                                                      \
    } while (0)

/* One FAIL line for a failed check: the expression, then the message. */
#define INV_REPORT_(exprstr, ...)                                                                \
    do {                                                                                         \
        fprintf(stderr, "FAIL %s (%s:%d): %s:", inv_test_cur_name, __FILE__, __LINE__, exprstr); \
        fprintf(stderr, " " __VA_ARGS__);                                                        \
        fprintf(stderr, "\n");                                                                   \
        inv_test_cur_failed = 1;                                                                 \
    } while (0)

#define INV_EXPECT(expr, ...)                \
    do {                                     \
        if (!(expr))                         \
            INV_REPORT_(#expr, __VA_ARGS__); \
    } while (0)

#define INV_ASSERT(expr, ...)                \
    do {                                     \
        if (!(expr)) {                       \
            INV_REPORT_(#expr, __VA_ARGS__); \
            return;                          \
        }                                    \
    } while (0)

#define INV_ASSERT_EQ_INT(expected, actual)                                            \
    do {                                                                               \
        long long e_ = (long long)(expected), a_ = (long long)(actual);                \
        if (e_ != a_)                                                                  \
            INV_FAIL("%s == %s: expected %lld, got %lld", #expected, #actual, e_, a_); \
    } while (0)

#define INV_ASSERT_EQ_STR(expected, actual)                                                           \
    do {                                                                                              \
        const char *e_ = (expected), *a_ = (actual);                                                  \
        if (!e_ || !a_ || strcmp(e_, a_) != 0)                                                        \
            INV_FAIL("%s == %s: expected \"%s\", got \"%s\"", #expected, #actual, e_ ? e_ : "(null)", \
                     a_ ? a_ : "(null)");                                                             \
    } while (0)

#define INV_RUN(fn)                            \
    do {                                       \
        inv_test_cur_name = #fn;               \
        inv_test_cur_failed = 0;               \
        fn();                                  \
        if (inv_test_cur_failed)               \
            inv_test_failed++;                 \
        else {                                 \
            inv_test_passed++;                 \
            fprintf(stderr, "ok   %s\n", #fn); \
        }                                      \
    } while (0)

#define INV_TEST_DONE() \
    (fprintf(stderr, "%d passed, %d failed\n", inv_test_passed, inv_test_failed), inv_test_failed ? 1 : 0)

#endif
