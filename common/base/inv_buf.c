/* inv_buf: the growable byte buffer (inv_buf.h). */
#include "inv_buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *inv_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q)
        abort();
    return q;
}

int inv_buf_grow(char **data, size_t *cap, size_t len, size_t extra, size_t first_cap) {
    if (*cap - len >= extra)
        return 0;
    size_t n = *cap ? *cap : first_cap;
    while (n - len < extra) {
        if (n > SIZE_MAX / 2)
            return ENOMEM;
        n *= 2;
    }
    char *p = realloc(*data, n);
    if (!p)
        return ENOMEM;
    *data = p;
    *cap = n;
    return 0;
}

void inv_buf_init(inv_buf_t *b) {
    b->data = NULL;
    b->len = b->cap = 0;
}

void inv_buf_free(inv_buf_t *b) {
    free(b->data);
    inv_buf_init(b);
}

int inv_buf_reserve(inv_buf_t *b, size_t extra) { return inv_buf_grow(&b->data, &b->cap, b->len, extra, 256) ? -1 : 0; }

int inv_buf_append(inv_buf_t *b, const void *data, size_t len) {
    if (inv_buf_reserve(b, len + 1))
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}
