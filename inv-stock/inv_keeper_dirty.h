/*
 * inv_keeper_dirty: the rows a batch changed ("dirty" rows), kept until the
 * batch ends. The batch reads a row here before LMDB and writes it only
 * here: each changed row goes to LMDB once, at its final value, before the
 * commit, not once per movement; and it is produced (StockLevel) at its
 * latest value.
 *
 * The rows are kept in the order first changed (rows[0 .. len)), found
 * through an open-addressing index of row numbers kept at most half full.
 * Nothing here fails: memory exhaustion aborts (as librdkafka does).
 */
#ifndef INV_KEEPER_DIRTY_H
#define INV_KEEPER_DIRTY_H

#include <stddef.h>
#include <stdint.h>

#include "inv_store.h"

/* A row's key with its hash, computed once per movement for both the
 * lookup and the change. Borrows sku and location. */
typedef struct {
    int32_t partition;
    const char *sku, *location;
    uint32_t hash;
} dirty_key_t;

typedef struct {
    int32_t partition;
    uint32_t hash;
    uint32_t slot;       /* its place in the index */
    int emitted;         /* produced at its current value already */
    inv_stock_row_t row; /* the row as last written in this batch */
    char *sku;           /* sku '\0' location '\0': the set's own copy */
    char *location;
} dirty_row_t;

typedef struct {
    dirty_row_t *rows; /* len rows, room for cap */
    size_t len, cap;
    uint32_t *index; /* index_cap slots: 0 empty, else 1 + the row's number */
    size_t index_cap;
    size_t unemitted; /* rows changed since they were last produced */
    char *arena;      /* the keys' copies, while they fit */
    size_t arena_len, arena_cap;
} dirty_set_t;

/* The key of (partition, sku, location), hashed. */
dirty_key_t dirty_key(int32_t partition, const char *sku, const char *location);

/* An empty set whose keys are copied into an arena of arena_bytes (reused
 * by every batch; keys past it get an allocation each). */
void dirty_init(dirty_set_t *s, size_t arena_bytes);
/* Frees everything; s may be zeroed (never initialised). */
void dirty_free(dirty_set_t *s);

/* The batch's value of the row, or NULL when the batch has not changed it.
 * Borrowed: valid until the next dirty_add or dirty_reset. */
const inv_stock_row_t *dirty_find(const dirty_set_t *s, const dirty_key_t *key);
/* Sets the row of key to *row (a copy; the key's strings are copied the
 * first time) and marks it to be produced. */
void dirty_add(dirty_set_t *s, const dirty_key_t *key, const inv_stock_row_t *row);
/* Marks rows[j] produced at its current value. */
void dirty_mark_emitted(dirty_set_t *s, dirty_row_t *d);
/* Writes every row, at its value in the set, in txn. 0, or the first
 * inv_store code (txn is the caller's to abort). */
int dirty_put_all(const dirty_set_t *s, inv_store_txn_t *txn);
/* Forgets every row; memory is kept for the next batch. */
void dirty_reset(dirty_set_t *s);

#endif
