/* inv_registry_cache: a bounded LRU map of schema id -> schema text. */
#include "inv_registry_cache.h"

#include <stdlib.h>
#include <string.h>

#include "inv_buf.h"

typedef struct entry_s {
    int32_t id;
    char *schema;
    size_t len;
    struct entry_s *hnext;       /* bucket chain */
    struct entry_s *prev, *next; /* recency list: head = most recent */
} entry_t;

struct inv_registry_cache_s {
    size_t capacity, count;
    entry_t **buckets;
    size_t nbuckets; /* a power of two, grown to keep chains short */
    entry_t *head, *tail;
};

static size_t bucket_of(const inv_registry_cache_t *c, int32_t id) {
    uint32_t h = (uint32_t)id * 2654435761u; /* Knuth's multiplicative hash */
    return (size_t)(h ^ (h >> 16)) & (c->nbuckets - 1);
}

inv_registry_cache_t *inv_registry_cache_new(size_t capacity) {
    inv_registry_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->capacity = capacity ? capacity : 1;
    c->nbuckets = 16;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets)
        abort();
    return c;
}

void inv_registry_cache_destroy(inv_registry_cache_t *c) {
    if (!c)
        return;
    for (entry_t *e = c->head, *next; e; e = next) {
        next = e->next;
        free(e->schema);
        free(e);
    }
    free(c->buckets);
    free(c);
}

static void list_unlink(inv_registry_cache_t *c, entry_t *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(inv_registry_cache_t *c, entry_t *e) {
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static entry_t *find(const inv_registry_cache_t *c, int32_t id) {
    for (entry_t *e = c->buckets[bucket_of(c, id)]; e; e = e->hnext)
        if (e->id == id)
            return e;
    return NULL;
}

static void bucket_remove(inv_registry_cache_t *c, entry_t *e) {
    entry_t **pp = &c->buckets[bucket_of(c, e->id)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
}

static void grow_buckets(inv_registry_cache_t *c) {
    size_t old_n = c->nbuckets;
    entry_t **old = c->buckets;
    c->nbuckets = old_n * 2;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets)
        abort();
    for (size_t i = 0; i < old_n; i++)
        for (entry_t *e = old[i], *next; e; e = next) {
            next = e->hnext;
            size_t b = bucket_of(c, e->id);
            e->hnext = c->buckets[b];
            c->buckets[b] = e;
        }
    free(old);
}

const char *inv_registry_cache_get(inv_registry_cache_t *c, int32_t id, size_t *len) {
    entry_t *e = find(c, id);
    if (!e)
        return NULL;
    if (c->head != e) {
        list_unlink(c, e);
        list_push_front(c, e);
    }
    *len = e->len;
    return e->schema;
}

const char *inv_registry_cache_put(inv_registry_cache_t *c, int32_t id, const char *schema, size_t len) {
    size_t ignored;
    const char *have = inv_registry_cache_get(c, id, &ignored);
    if (have)
        return have;
    if (c->count == c->capacity) {
        entry_t *lru = c->tail;
        bucket_remove(c, lru);
        list_unlink(c, lru);
        free(lru->schema);
        free(lru);
        c->count--;
    }
    entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        abort();
    e->schema = inv_xrealloc(NULL, len + 1);
    memcpy(e->schema, schema, len);
    e->schema[len] = '\0';
    e->id = id;
    e->len = len;
    if (c->count >= c->nbuckets)
        grow_buckets(c);
    size_t b = bucket_of(c, id);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    list_push_front(c, e);
    c->count++;
    return e->schema;
}

size_t inv_registry_cache_count(const inv_registry_cache_t *c) { return c->count; }
