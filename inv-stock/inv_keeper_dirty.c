#include "inv_keeper_dirty.h"
#include "inv_buf.h"

#include <stdlib.h>
#include <string.h>

/* First sizes: rows grow by half (they are the set's memory, ~90 bytes
 * each); the index (4 bytes a slot) doubles to stay at most half full. */
#define FIRST_ROWS 2048
#define FIRST_SLOTS 4096

static uint32_t hash_row(int32_t p, const char *sku, const char *loc) {
    uint32_t h = 2166136261u ^ (uint32_t)p;
    for (const unsigned char *s = (const unsigned char *)sku; *s; s++)
        h = (h ^ *s) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const unsigned char *s = (const unsigned char *)loc; *s; s++)
        h = (h ^ *s) * 16777619u;
    return h ? h : 1;
}

dirty_key_t dirty_key(int32_t p, const char *sku, const char *loc) {
    return (dirty_key_t){.partition = p, .sku = sku, .location = loc, .hash = hash_row(p, sku, loc)};
}

void dirty_init(dirty_set_t *s, size_t arena_bytes) {
    memset(s, 0, sizeof(*s));
    s->arena = inv_xrealloc(NULL, arena_bytes ? arena_bytes : 1);
    s->arena_cap = arena_bytes;
}

static int in_arena(const dirty_set_t *s, const char *p) { return p >= s->arena && p < s->arena + s->arena_cap; }

void dirty_free(dirty_set_t *s) {
    if (s->index)
        dirty_reset(s);
    free(s->rows);
    free(s->index);
    free(s->arena);
    memset(s, 0, sizeof(*s));
}

/* sku '\0' location '\0' in one piece, *location pointing at the second. */
static char *copy_key(dirty_set_t *s, const char *sku, const char *loc, char **location) {
    size_t la = strlen(sku) + 1, lb = strlen(loc) + 1;
    char *c;
    if (s->arena_len + la + lb > s->arena_cap) {
        /* Never move the arena while the set points into it: a batch that
         * outgrows it gets a fresh allocation per row instead. */
        c = inv_xrealloc(NULL, la + lb);
    } else {
        c = s->arena + s->arena_len;
        s->arena_len += la + lb;
    }
    memcpy(c, sku, la);
    memcpy(c + la, loc, lb);
    *location = c + la;
    return c;
}

/* The index slot of key: the one holding its row, else the empty one where
 * it would go. The index must exist (index_cap > 0). */
static size_t find_slot(const dirty_set_t *s, const dirty_key_t *key) {
    size_t mask = s->index_cap - 1, i = key->hash & mask;
    for (; s->index[i]; i = (i + 1) & mask) {
        const dirty_row_t *d = &s->rows[s->index[i] - 1];
        if (d->hash == key->hash && d->partition == key->partition && strcmp(d->sku, key->sku) == 0 &&
            strcmp(d->location, key->location) == 0)
            break;
    }
    return i;
}

const inv_stock_row_t *dirty_find(const dirty_set_t *s, const dirty_key_t *key) {
    if (!s->len)
        return NULL;
    uint32_t n = s->index[find_slot(s, key)];
    return n ? &s->rows[n - 1].row : NULL;
}

static void grow(dirty_set_t *s) {
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap + s->cap / 2 : FIRST_ROWS;
        s->rows = inv_xrealloc(s->rows, s->cap * sizeof(*s->rows));
    }
    if ((s->len + 1) * 2 <= s->index_cap)
        return;
    free(s->index);
    s->index_cap = s->index_cap ? s->index_cap * 2 : FIRST_SLOTS;
    if (!(s->index = calloc(s->index_cap, sizeof(*s->index))))
        abort();
    size_t mask = s->index_cap - 1;
    for (size_t j = 0; j < s->len; j++) {
        dirty_row_t *d = &s->rows[j];
        size_t i = d->hash & mask;
        while (s->index[i])
            i = (i + 1) & mask;
        d->slot = (uint32_t)i;
        s->index[i] = (uint32_t)(j + 1);
    }
}

void dirty_add(dirty_set_t *s, const dirty_key_t *key, const inv_stock_row_t *row) {
    if (s->len == s->cap || (s->len + 1) * 2 > s->index_cap)
        grow(s);
    size_t i = find_slot(s, key);
    if (s->index[i]) {
        dirty_row_t *d = &s->rows[s->index[i] - 1];
        d->row = *row;
        if (d->emitted) {
            d->emitted = 0;
            s->unemitted++;
        }
        return;
    }
    dirty_row_t *d = &s->rows[s->len];
    d->hash = key->hash;
    d->partition = key->partition;
    d->slot = (uint32_t)i;
    d->sku = copy_key(s, key->sku, key->location, &d->location);
    d->row = *row;
    d->emitted = 0;
    s->unemitted++;
    s->index[i] = (uint32_t)++s->len;
}

void dirty_mark_emitted(dirty_set_t *s, dirty_row_t *d) {
    if (d->emitted)
        return;
    d->emitted = 1;
    s->unemitted--;
}

int dirty_put_all(const dirty_set_t *s, inv_store_txn_t *txn) {
    int rc = 0;
    for (size_t j = 0; j < s->len && !rc; j++) {
        const dirty_row_t *d = &s->rows[j];
        rc = inv_store_stock_put(txn, d->partition, d->sku, d->location, &d->row);
    }
    return rc;
}

void dirty_reset(dirty_set_t *s) {
    for (size_t j = 0; j < s->len; j++) {
        dirty_row_t *d = &s->rows[j];
        if (!in_arena(s, d->sku))
            free(d->sku);
        s->index[d->slot] = 0;
    }
    s->len = 0;
    s->unemitted = 0;
    s->arena_len = 0;
}
