/*
 * inv_view_store: inv-view's read model in LMDB (--state-dir), a
 * materialization of inventory.stock, .availability, .shortages and
 * .reorders. Each write txn stores the offsets it reflects, so a restart
 * goes on from them and an empty state dir is rebuilt from the topics.
 *
 * Contents (values are the JSON objects the API serves, built once when
 * written; K = 1-byte kind 'S' shortage | 'R' reorder, Q = 8-byte
 * big-endian sequence number):
 *   stock      sku \0 location -> StockLevel + shortage_state ("*" = network)
 *   avail      sku \0 channel  -> AvailabilityLevel
 *   shortages  Q               -> ShortageEvent + seq (newest view.history.max)
 *   reorders   Q               -> ReorderEvent + seq  (newest view.history.max)
 *   sku_events sku \0 K Q      -> the same events, newest view.history.per.sku per SKU and kind
 *   short_now  location \0 sku -> current shortage state of rows that are short
 *   meta       'o' T P         -> next offset of topic T (1 byte) partition P (4 bytes BE)
 *              'c' channel     -> channel totals (int64 units, int64 SKUs selling)
 *              "seq"           -> last sequence number given
 * A (sku, location) pair past LMDB's 511-byte key keeps a prefix of the
 * location and its 64-bit hash (the value holds the full location).
 *
 * Threads: one writer (the consumer loop), any number of readers (HTTP
 * threads, read txns not tied to their thread: MDB_NOTLS). Memory returned
 * by a read (val) is LMDB's, valid until the txn ends.
 *
 * Errors: 0, or LMDB's code (mdb_strerror), or errno; MDB_MAP_FULL means
 * view.map.size.mb is too small.
 */
#ifndef INV_VIEW_STORE_H
#define INV_VIEW_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* The topics materialized, in meta order. */
enum { VIEW_T_STOCK = 0, VIEW_T_AVAIL, VIEW_T_SHORTAGES, VIEW_T_REORDERS, VIEW_T_COUNT };

#define VIEW_KIND_SHORTAGE 'S'
#define VIEW_KIND_REORDER 'R'

typedef struct {
    MDB_env *env;
    MDB_dbi stock, avail, shortages, reorders, sku_events, short_now, meta;
    uint64_t seq;    /* last sequence number given (writer) */
    int64_t per_sku; /* view.history.per.sku */
    int64_t history; /* view.history.max */
} view_store_t;

/* Opens (creating) the environment in dir with a map of map_mb MiB. */
int view_store_open(view_store_t *s, const char *dir, int64_t map_mb, int64_t per_sku, int64_t history);
void view_store_close(view_store_t *s);

/* The key of (a, b) (sku and location or channel) into buf (>= 512
 * bytes); returns its length. */
size_t view_key(char *buf, const char *a, size_t a_len, const char *b, size_t b_len);

/* Next offset of (topic, partition) in *next: 0 or MDB_NOTFOUND. */
int view_store_offset_get(MDB_txn *t, const view_store_t *s, int topic, int32_t partition, int64_t *next);
int view_store_offset_put(MDB_txn *t, const view_store_t *s, int topic, int32_t partition, int64_t next);
/* The sum of every stored next offset: grows with every record applied,
 * the same on two replicas that reflect the same records. */
int64_t view_store_version(MDB_txn *t, const view_store_t *s);

/* Rows. put: json is the value; delete of an absent key is 0. */
int view_store_put(MDB_txn *t, MDB_dbi dbi, const char *key, size_t key_len, const char *json, size_t len);
int view_store_del(MDB_txn *t, MDB_dbi dbi, const char *key, size_t key_len);

/* The current shortage state of a row (state NULL or "none"/"restored":
 * not short). */
int view_store_short_set(MDB_txn *t, const view_store_t *s, const char *sku, size_t sku_len, const char *loc,
                         size_t loc_len, const char *state);

/* A channel's totals move by d_units available and d_skus SKUs selling. */
int view_store_channel_add(MDB_txn *t, const view_store_t *s, const char *channel, int64_t d_units, int64_t d_skus);

/* Appends an event (kind VIEW_KIND_*) with the next sequence number (in
 * *seq; json gets ,"seq":N before its closing brace by the caller: pass
 * the final text) and prunes the history to its bounds. */
int view_store_event_add(MDB_txn *t, view_store_t *s, int kind, const char *sku, size_t sku_len, uint64_t seq,
                         const char *json, size_t len);
/* The number the next event gets (then call view_store_event_add). */
uint64_t view_store_next_seq(view_store_t *s);

/* Entries in a table (mdb_stat), 0 on error. */
uint64_t view_store_count(MDB_txn *t, MDB_dbi dbi);

#endif
