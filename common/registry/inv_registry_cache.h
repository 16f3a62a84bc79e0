/*
 * inv_registry_cache: schemas by id, at most `capacity` of them, the least
 * recently used dropped first. Schema ids are immutable, so an entry never
 * goes stale; the bound only caps memory. Not thread-safe: one per client.
 * Aborts when memory runs out (entries are small and few).
 */
#ifndef INV_REGISTRY_CACHE_H
#define INV_REGISTRY_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct inv_registry_cache_s inv_registry_cache_t;

/* capacity >= 1. */
inv_registry_cache_t *inv_registry_cache_new(size_t capacity);
void inv_registry_cache_destroy(inv_registry_cache_t *c);

/* The schema of id, now the most recently used, with its length in *len;
 * NULL when absent. The string is the cache's: valid until the next
 * inv_registry_cache_put (which may drop it) or _destroy. */
const char *inv_registry_cache_get(inv_registry_cache_t *c, int32_t id, size_t *len);

/* Stores a copy of schema (len bytes, NUL added) under id, dropping the
 * least recently used entry when full, and returns the copy (valid as
 * above). An id already present keeps its first schema, which is returned. */
const char *inv_registry_cache_put(inv_registry_cache_t *c, int32_t id, const char *schema, size_t len);

size_t inv_registry_cache_count(const inv_registry_cache_t *c);

#endif
