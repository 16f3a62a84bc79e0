/*
 * inv_buf: the growable byte buffer, and the one growth rule every
 * growable buffer of the project follows (doubling from a first size).
 * Nothing here keeps a pointer to what it is given.
 */
#ifndef INV_BUF_H
#define INV_BUF_H

#include <stddef.h>

/* A growable byte buffer owned by the caller. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} inv_buf_t;

void inv_buf_init(inv_buf_t *b);
void inv_buf_free(inv_buf_t *b);
/* Makes room for `extra` more bytes after len. 0, or -1 when out of memory
 * (the buffer is unchanged). */
int inv_buf_reserve(inv_buf_t *b, size_t extra);
/* Appends len bytes and keeps a NUL after them (not counted in len).
 * 0, or -1 when out of memory (the buffer is unchanged). */
int inv_buf_append(inv_buf_t *b, const void *data, size_t len);

/* realloc that aborts when memory runs out, for the small, bounded
 * structures nothing sensible can be done without. */
void *inv_xrealloc(void *p, size_t n);

/* Makes *data (*cap bytes, the first len used) hold len + extra bytes,
 * doubling from first_cap (or from *cap). 0, or ENOMEM with *data and *cap
 * unchanged. */
int inv_buf_grow(char **data, size_t *cap, size_t len, size_t extra, size_t first_cap);

#endif
