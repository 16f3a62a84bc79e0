/* Unit tests of inv_store's callers: a fresh store in a temporary directory
 * per test, the previous one removed, and the last one removed at exit. */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_store.h"
#include "inv_test.h"

#define CHECK_OK(call)                                                \
    do {                                                              \
        int rc_ = (call);                                             \
        INV_ASSERT(rc_ == 0, "%d: %s", rc_, inv_store_strerror(rc_)); \
    } while (0)

static char test_store_dir[64];

static int test_store_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes the directory of the last store opened, if any. */
static inline void test_store_remove(void) {
    if (test_store_dir[0])
        nftw(test_store_dir, test_store_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    test_store_dir[0] = '\0';
}

/* A store of default options in a new directory /tmp/<name>.XXXXXX. */
static inline inv_store_t *open_store_named(const char *name) {
    test_store_remove();
    snprintf(test_store_dir, sizeof test_store_dir, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(test_store_dir))
        abort();
    inv_store_t *s = NULL;
    if (inv_store_open(test_store_dir, NULL, &s) != 0)
        abort();
    return s;
}

#endif
