/*
 * inv_store: inv-stock's local state in LMDB, one environment per instance
 * (--state-dir). It is a materialization of Kafka: the changelog
 * (inventory.stock) and the committed offsets are the truth, and every
 * partition's state records the input offset it reflects, so a state that
 * is behind, lost or damaged is detected by comparing offsets and rebuilt.
 *
 * Contents, all keyed so that one input partition's state can be dropped or
 * rebuilt alone (P = 4-byte big-endian partition number):
 *   stock       P sku \0 location  -> row (inv_stock_row_t), "*" = network row
 *               (over-long pairs: see "Key budget" below)
 *   dedup       P movement_id      -> first-seen time (ms)
 *   dedup_time  P time movement_id -> (empty): the pruning index, by time
 *   pmeta       P                  -> inv_store_meta_t (offsets)
 *   state       P kind key         -> bytes: a partition's other state (the
 *               caller's records by kind, e.g. reservation lines)
 *   policy      sku \0 location    -> inv_rules_policy_t (global, no P)
 *   global      "instance_id", "format", "poff" P (policies topic offsets),
 *               "chl\0" channel \0 location -> buffer (the channel table,
 *               global, no P), "coff" P (channels topic offsets)
 * Values are fixed-size binary records that start with a format byte
 * (long-form stock and policy records append the full location).
 * The ordering of stock keys makes a SKU's rows of one partition adjacent;
 * a SKU's partition is found by probing each partition present (a handful
 * of B-tree seeks), so there is no secondary index to keep right.
 *
 * Typical batch (the only writer; one write txn per poll batch):
 *   inv_store_txn_begin(s, 0, &t);
 *   for each movement: dedup_seen_or_add, policy_lookup, stock_get x2
 *                      (rows changed earlier in the batch: the caller's),
 *                      inv_rules_apply
 *   stock_put for each changed row, at its final value
 *   inv_store_meta_put(t, p, &meta);   ... Kafka commit ...
 *   rc = inv_store_txn_commit(t);
 *   on INV_STORE_MAP_FULL anywhere: inv_store_txn_abort(t) (if not yet
 *   ended) and run the batch again: the next begin grows the map. If the
 *   LMDB commit itself fails after the Kafka commit, the local state is
 *   only behind: apply the same batch again (the rules are deterministic)
 *   or let the offset check rebuild the partition.
 *
 * A full disk. Every write path reports it as an error, never a signal:
 * ENOSPC (or EDQUOT, EFBIG) from inv_store_open(), from the begin of a
 * write txn whose map must grow (MDB_WRITEMAP, see INV_STORE_SYNC_NONE),
 * or from the commit (pages written with write()). The txn is then gone
 * and the store unchanged and usable: free space and redo the batch.
 * Rebuilding a partition: drop it and write its meta last, in the final
 * txn of the restore; a crash in between leaves no meta (NOTFOUND), which
 * says "rebuild again".
 *
 * Threads. One inv_store_t may be shared by threads: one writer thread and
 * any number of readers (HTTP). A txn is used by one thread at a time; read
 * txns are not tied to their thread (MDB_NOTLS). A thread must not begin a
 * txn while it holds another one open: map growth waits for every open txn
 * of the process, so that would deadlock.
 *
 * Memory. Nothing returned borrows from LMDB: rows, policies and meta are
 * copied into the caller's structs, and the strings given to callbacks are
 * NUL-terminated copies valid only during the call. (Were a function to
 * return LMDB memory, it would be valid until the end of the txn.)
 *
 * Errors. 0 on success. LMDB's own codes pass through (-30799..-30780, see
 * mdb_strerror), INV_STORE_NOTFOUND is LMDB's MDB_NOTFOUND, errno values
 * are positive (EINVAL for a bad argument), and inv_store's own codes are in
 * INV_STORE_ERR_FIRST..INV_STORE_ERR_LAST (-30649..-30600).
 * inv_store_strerror() describes all of them.
 */
#ifndef INV_STORE_H
#define INV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "inv_rules.h"

#define INV_STORE_NOTFOUND (-30798) /* == MDB_NOTFOUND: no such key */
/* == MDB_PANIC: the environment is unusable (a failed write of LMDB's
 * meta page, or a map that could not be restored after a failed growth):
 * close the store and open it again. */
#define INV_STORE_PANIC (-30795)

/* The map was full. The write txn is dead: abort it (or let commit report
 * it), then redo the batch; the next inv_store_txn_begin() grows the map. */
#define INV_STORE_MAP_FULL (-30600)
/* Another process has this state dir open for writing. */
#define INV_STORE_LOCKED (-30601)
/* A stored record or the environment has an unknown format (written by a
 * newer version, or damaged): rebuild the state. */
#define INV_STORE_FORMAT (-30602)
/* A sku, location or movement id beyond the key budget below. */
#define INV_STORE_KEY_TOO_LONG (-30603)
/* A write on a read-only txn or store. */
#define INV_STORE_READONLY (-30604)
/* An operation on a write txn after an earlier operation failed; commit
 * returns the first error instead. */
#define INV_STORE_TXN_FAILED (-30605)
/* Two different long (sku, location) pairs share a key hash (see "Key
 * budget"): the second can never be stored (a get or put of it returns
 * this; a delete of it deletes nothing). Practically never happens; a
 * caller treats it as a fault of the input, never as one to retry. */
#define INV_STORE_KEY_COLLISION (-30606)
#define INV_STORE_ERR_FIRST (-30649)
#define INV_STORE_ERR_LAST (-30600)

/* Key budget. LMDB keys are at most 511 bytes. A (sku, location) pair
 * longer than the key fits anyway: the key then holds a prefix of the
 * location and its 64-bit hash, and the record holds the full location
 * (transparent to callers; ordering by location is then approximate). What
 * is refused with INV_STORE_KEY_TOO_LONG: a sku over 497 bytes, a location
 * over INV_STORE_MAX_LONG_PART bytes, a movement id over 499 bytes. The
 * codec's bounds (256-byte ids, derived ids of at most ~280 bytes in
 * practice) always fit. */
#define INV_STORE_MAX_KEY 511
#define INV_STORE_MAX_LONG_PART 4096

typedef struct inv_store_s inv_store_t;
typedef struct inv_store_txn_s inv_store_txn_t;

/*
 * Durability of a committed write txn against an operating-system crash or
 * power loss. A process crash (kill -9) loses no committed txn in any mode.
 */
typedef enum {
    /* Default. One fdatasync per commit, metadata page unsynced
     * (MDB_NOMETASYNC): an OS crash may lose the last txn but never corrupts
     * the file. The lost tail is recovered like any stale state: the
     * partition's stored input offset is then below the group's committed
     * offset, and the caller rebuilds it from the changelog. */
    INV_STORE_SYNC_LAZY_META = 0,
    /* Two syncs per commit (LMDB's default): an OS crash loses nothing. */
    INV_STORE_SYNC_FULL,
    /* No sync at commit (MDB_NOSYNC), flushed at close and by
     * inv_store_sync(); dirty pages are written in place in the memory map
     * (MDB_WRITEMAP: no copy and no write() per page). The data file is as
     * large as the map and its blocks are reserved (posix_fallocate) at
     * open and at every growth, since a store into a page the disk has no
     * block for would be a SIGBUS: a full disk is ENOSPC from the growth
     * instead, and the map keeps its size. When the open finds no room for
     * the whole map, the environment is opened without MDB_WRITEMAP
     * (inv_store_info().writemap == 0): dirty pages are then written with
     * write() as in the other modes, and a full disk is ENOSPC from the
     * commit; the next open tries MDB_WRITEMAP again. (Copy-on-write file
     * systems, btrfs and ZFS, do not keep a reservation for overwrites:
     * use lmdb.sync=data there.) Fastest; a process crash still loses
     * nothing, but an OS crash may lose recent txns and, on file systems
     * that reorder writes, tear the file. So while such a writer runs, the state dir
     * records the boot it runs in ("unsynced-boot-id", removed by a clean
     * close); an open that finds another boot there deletes the environment
     * first (inv_store_was_reset() then says so) and the caller rebuilds
     * it from Kafka. Where the boot id cannot be read or recorded, commits
     * are synced as with LAZY_META. */
    INV_STORE_SYNC_NONE,
} inv_store_sync_t;

typedef struct {
    size_t map_size;       /* initial map size in bytes; 0 = 64 MiB. It grows
                              by itself, so this only saves early growths. */
    inv_store_sync_t sync; /* see inv_store_sync_t */
    unsigned max_readers;  /* concurrent read txns, all processes; 0 = 126 */
} inv_store_options_t;

#define INV_STORE_OPTIONS_DEFAULT \
    { 0, INV_STORE_SYNC_LAZY_META, 0 }

/*
 * Opens (creating if needed) the environment in `dir` for writing: the
 * directory is created 0700 (with missing parents), files 0600. Takes an
 * exclusive lock on the dir (a second writer gets INV_STORE_LOCKED), clears
 * stale reader slots, and creates the instance id on first use.
 * `opts` may be NULL (defaults). On success *out is the caller's; close it
 * with inv_store_close().
 * An environment is opened once per process (an LMDB rule: a second open
 * and its close would drop the first one's locks); threads of the writer's
 * process read through read txns of this same store.
 * Errors: errno values (EACCES, ENOTDIR, EBUSY: already open in this
 * process, ENOSPC/EDQUOT: no room for LMDB's lock file or a new
 * environment's first pages, ...), INV_STORE_LOCKED, INV_STORE_FORMAT,
 * LMDB codes (MDB_INVALID: not an LMDB file, ...). No room for the map of
 * INV_STORE_SYNC_NONE is not an error: see there.
 */
int inv_store_open(const char *dir, const inv_store_options_t *opts, inv_store_t **out);

/*
 * Opens an existing environment read-only (MDB_RDONLY), for invctl and
 * tools: works while another process has it open for writing, never blocks
 * that writer, and follows the writer's map growth. Only read txns can be
 * begun. Needs write access to the lock file (same user as the writer).
 * Not for the writer's own process (EBUSY): use its read txns there.
 * Errors: ENOENT (no environment in dir), EBUSY, INV_STORE_FORMAT, errno
 * and LMDB codes.
 */
int inv_store_open_readonly(const char *dir, inv_store_t **out);

/* Flushes (writable stores) and closes. Every txn must be ended first.
 * NULL is a no-op. */
void inv_store_close(inv_store_t *store);

/* The instance's random id (32 hex characters), generated once when the
 * environment is created and kept across restarts: the base of the
 * transactional id. Owned by the store, valid until inv_store_close(). */
const char *inv_store_instance_id(const inv_store_t *store);

/* Forces a flush to disk (useful with INV_STORE_SYNC_NONE).
 * Errors: errno values; INV_STORE_READONLY on a read-only store. */
int inv_store_sync(inv_store_t *store);

/* 1 when inv_store_open() dropped the state it found: the environment
 * because an OS crash may have torn it (see INV_STORE_SYNC_NONE), or the
 * per-partition state of an environment of the previous format (policies,
 * policy offsets and the instance id are kept); else 0. Either way every
 * partition is rebuilt from Kafka. */
int inv_store_was_reset(const inv_store_t *store);

/* Clears reader slots left by dead processes (they pin old pages, so the
 * file grows). Done at open and at most once a second at write begin; call
 * it directly to force one. *dead (may be NULL) = slots cleared.
 * Errors: LMDB codes. */
int inv_store_reader_check(inv_store_t *store, int *dead);

typedef struct {
    uint64_t map_size;     /* bytes reserved for the map now */
    uint64_t used_bytes;   /* high-water mark of pages in use */
    uint64_t growths;      /* map growths since open */
    unsigned reader_slots; /* reader slots used so far (high-water mark) */
    unsigned max_readers;
    int writemap;          /* 1: pages written in place, the map's blocks reserved */
    uint64_t write_errors; /* write txns failed since open (begin, an operation
                              or commit; INV_STORE_MAP_FULL not counted) */
    int last_write_error;  /* the latest such error, INV_STORE_MAP_FULL
                              included; 0 again once a write txn commits */
} inv_store_info_t;

/* Sizes and counters for /metrics and for callers that learn of a store
 * failure through another module (last_write_error). Errors: EINVAL. */
int inv_store_info(inv_store_t *store, inv_store_info_t *info);

/* ---- transactions ------------------------------------------------------ */

/*
 * Begins a txn. Read-only txns (readonly != 0) see a fixed snapshot, never
 * block the writer and are never blocked by it; keep them short (a long one
 * pins old pages). At most one write txn is open at a time (a second
 * begin waits). Before a write txn the map is doubled when it is more than
 * 75% used or when the previous write txn hit INV_STORE_MAP_FULL. With
 * MDB_WRITEMAP the growth reserves the new blocks first: if the disk has no
 * room, a growth ahead of need is skipped (tried again a second later) and
 * one after INV_STORE_MAP_FULL fails the begin with ENOSPC (EDQUOT, EFBIG),
 * the map keeping its size; begin again once there is room.
 * Errors: INV_STORE_READONLY (write txn on a read-only store), ENOMEM,
 * ENOSPC/EDQUOT/EFBIG (write txns), INV_STORE_PANIC, LMDB codes
 * (MDB_READERS_FULL, ...).
 */
int inv_store_txn_begin(inv_store_t *store, int readonly, inv_store_txn_t **txn);

/* Commits and frees the txn, whatever the result; a read txn just ends.
 * If an operation in the txn failed, the txn is aborted and that first
 * error returned. A failed commit changes nothing in the store.
 * Errors: INV_STORE_MAP_FULL, errno (EIO; ENOSPC, EDQUOT: a full disk,
 * when pages are written with write()), LMDB codes. */
int inv_store_txn_commit(inv_store_txn_t *txn);

/* Discards and frees the txn. NULL is a no-op. */
void inv_store_txn_abort(inv_store_txn_t *txn);

/* ---- stock rows -------------------------------------------------------- */

/* Reads the row of (sku, location) in `partition` into *row.
 * Errors: INV_STORE_NOTFOUND (a fresh row: use INV_STOCK_ROW_INIT),
 * INV_STORE_FORMAT, INV_STORE_KEY_TOO_LONG, INV_STORE_KEY_COLLISION (the
 * pair can never be stored), EINVAL, LMDB codes. */
int inv_store_stock_get(inv_store_txn_t *txn, int32_t partition, const char *sku, const char *location,
                        inv_stock_row_t *row);

/* Writes the row of (sku, location) in `partition` (location "*" for the
 * network row). Errors: INV_STORE_MAP_FULL, INV_STORE_KEY_TOO_LONG,
 * INV_STORE_KEY_COLLISION, INV_STORE_READONLY, INV_STORE_TXN_FAILED,
 * EINVAL, LMDB codes. */
int inv_store_stock_put(inv_store_txn_t *txn, int32_t partition, const char *sku, const char *location,
                        const inv_stock_row_t *row);

/* Deletes a row; deleting a missing row is not an error (tombstones).
 * Errors: as inv_store_stock_put(). */
int inv_store_stock_delete(inv_store_txn_t *txn, int32_t partition, const char *sku, const char *location);

/* Called once per row. `sku` and `location` are NUL-terminated copies and
 * `row` a decoded copy, valid only during the call. Return 0 to go on, or
 * nonzero to stop: the iteration then returns that value unchanged. */
typedef int (*inv_store_stock_cb)(void *opaque, int32_t partition, const char *sku, const char *location,
                                  const inv_stock_row_t *row);

/*
 * Calls cb for every row of `sku` in every partition, in (partition,
 * location) order, the network row "*" included; with `location` non-NULL
 * only for that one row. Cost: two B-tree seeks per partition present plus
 * the rows found. Returns 0 (also when nothing matched), cb's nonzero value,
 * or an error: INV_STORE_FORMAT, INV_STORE_KEY_TOO_LONG, EINVAL, LMDB codes.
 */
int inv_store_stock_foreach(inv_store_txn_t *txn, const char *sku, const char *location, inv_store_stock_cb cb,
                            void *opaque);

/*
 * Calls cb for every row of `partition`, or of every partition when
 * partition < 0, in key order (partition, sku, location): for full views
 * ("lowest stock") and for publishing or checking a partition's state.
 * Returns as inv_store_stock_foreach().
 */
int inv_store_stock_scan(inv_store_txn_t *txn, int32_t partition, inv_store_stock_cb cb, void *opaque);

/*
 * Calls cb for every row of `partition` (>= 0) whose sku sorts after
 * `after_sku` (NULL or "": from the first), in key order: a walk over a
 * partition's SKUs in bounded steps, each resuming after the last SKU the
 * previous step finished. Returns as inv_store_stock_foreach(), and
 * INV_STORE_KEY_TOO_LONG when after_sku cannot be a stored SKU.
 */
int inv_store_stock_scan_after(inv_store_txn_t *txn, int32_t partition, const char *after_sku, inv_store_stock_cb cb,
                               void *opaque);

/* ---- applied movement ids (duplicate detection) ------------------------- */

/*
 * Records the movement id (its `len` bytes, any bytes) as applied in
 * `partition` at `applied_at_ms` unless it is there already; *seen = 1 if
 * it was (a duplicate: skip the movement), 0 if it was just added. A repeat
 * keeps the first time. `applied_at_ms` is what pruning compares: the time
 * inv-stock first applied the id, on its own clock, never a record's
 * timestamp or occurred_at, so a record stamped days ahead or behind
 * neither expires other ids nor itself. Errors: INV_STORE_KEY_TOO_LONG,
 * INV_STORE_MAP_FULL, INV_STORE_READONLY, INV_STORE_TXN_FAILED, EINVAL (an
 * empty id), LMDB codes.
 */
int inv_store_dedup_seen_or_add(inv_store_txn_t *txn, int32_t partition, const void *movement_id, size_t len,
                                int64_t applied_at_ms, int *seen);

/*
 * The dedup log (topic.dedup) holds, per partition, the ids inv-stock
 * applied and when it first applied each, so that duplicate detection and
 * its window move with the partition. A record is a run of entries:
 *   u16 big-endian length | the id's bytes | i64 big-endian applied-at (ms)
 * Any bytes round-trip. Records in this format carry the header
 * INV_STORE_DEDUP_LOG_HEADER with the value INV_STORE_DEDUP_LOG_VERSION;
 * a record without it is of the first format (ids separated by '\n', no
 * times), read with inv_store_dedup_id_next().
 */
#define INV_STORE_DEDUP_LOG_HEADER "inv.dedup.format"
#define INV_STORE_DEDUP_LOG_VERSION "3"
#define INV_STORE_DEDUP_LOG_VERSION_2 "2" /* entries without a count history part */
#define INV_STORE_DEDUP_ENTRY_OVERHEAD 10 /* bytes of a format-2 entry besides the id */
/* The most bytes of a format-3 entry besides the id. */
#define INV_STORE_DEDUP_ENTRY3_OVERHEAD_MAX (INV_STORE_DEDUP_ENTRY_OVERHEAD + 1 + 8 + 10 + 10)

/* What an applied id did to its row's count history (inv_counts), carried
 * by its dedup log entry in format 3 so that a restore rebuilds the history:
 *   kind 0  nothing                  byte 0
 *   kind 1  a change: row, at, delta byte 1, be64 row, varint(applied_at - at), varint(delta)
 *   kind 2  a count at `at`: row, at byte 2, be64 row, varint(applied_at - at)
 * varint: zigzag, then 7 bits a byte, low first (as protobuf's sint64), in
 * its shortest form only (so every entry has one encoding); the time as a
 * distance from the entry's applied_at, mostly a few bytes. */
typedef struct {
    int kind;
    uint64_t row;
    int64_t at_ms;
    int64_t delta;
} inv_store_dedup_history_t;

/* Writes the entry of id (id_len bytes) first applied at applied_at_ms to
 * dst, which has room for id_len + INV_STORE_DEDUP_ENTRY_OVERHEAD bytes.
 * Returns the bytes written, or 0 (nothing written) when id_len > 65535. */
size_t inv_store_dedup_entry_put(unsigned char *dst, const void *id, size_t id_len, int64_t applied_at_ms);

/* Reads the entry at *cur (before end): 1, with *id pointing into the
 * record (not NUL-terminated, *id_len bytes: valid as long as the record
 * is), *applied_at_ms, and *cur moved past the entry; 0 at end;
 * INV_STORE_FORMAT (*cur unchanged) when the entry is cut short. */
int inv_store_dedup_entry_next(const unsigned char **cur, const unsigned char *end, const unsigned char **id,
                               size_t *id_len, int64_t *applied_at_ms);

/* Format 3: a format-2 entry followed by its history part (h NULL: kind
 * 0). dst has room for id_len + INV_STORE_DEDUP_ENTRY3_OVERHEAD_MAX bytes.
 * Returns the bytes written, or 0 when id_len > 65535 or h->kind is not
 * 0..2. */
size_t inv_store_dedup_entry3_put(unsigned char *dst, const void *id, size_t id_len, int64_t applied_at_ms,
                                  const inv_store_dedup_history_t *h);
/* Reads a format-3 entry as inv_store_dedup_entry_next() does a format-2
 * one, its history part into *h. INV_STORE_FORMAT also for an unknown
 * history kind. */
int inv_store_dedup_entry3_next(const unsigned char **cur, const unsigned char *end, const unsigned char **id,
                                size_t *id_len, int64_t *applied_at_ms, inv_store_dedup_history_t *h);

/*
 * The dedup log's first format, for records written before the current
 * one: ids separated by '\n'. Copies the id at *cur into id
 * (NUL-terminated) and moves *cur past it. 1 when an id was copied; 0 at
 * `end`. Empty ids and ids of more than INV_STORE_MAX_KEY bytes (never
 * applied: too long for a key) are passed over.
 */
int inv_store_dedup_id_next(const char **cur, const char *end, char id[INV_STORE_MAX_KEY + 1]);

/*
 * Forgets at most `max` (0 = no limit) ids of `partition` recorded before
 * `older_than_ms`, oldest first, through the time index: cost proportional
 * to what is pruned. Call it once per batch with a modest max to spread the
 * work. *pruned (may be NULL) = ids removed.
 * Errors: as inv_store_dedup_seen_or_add().
 */
int inv_store_dedup_prune(inv_store_txn_t *txn, int32_t partition, int64_t older_than_ms, size_t max, size_t *pruned);

/* ---- per-partition state table ------------------------------------------ */

/*
 * Records of a partition's state besides stock rows and applied ids, for
 * callers that encode their own (inv_holds: reservation lines and their
 * expiry index). A record is (partition, kind, key bytes) -> value bytes;
 * `kind` separates the callers' tables. Keys are at most
 * INV_STORE_MAX_KEY - 5 bytes (INV_STORE_KEY_TOO_LONG beyond), values any
 * size. inv_store_partition_drop() removes them with the partition.
 */

/* Copies the value into buf (cap bytes); *val_len = its size.
 * Errors: INV_STORE_NOTFOUND, INV_STORE_FORMAT (larger than cap: *val_len
 * says how large), INV_STORE_KEY_TOO_LONG, EINVAL, LMDB codes. */
int inv_store_state_get(inv_store_txn_t *txn, int32_t partition, unsigned char kind, const void *key, size_t len,
                        void *buf, size_t cap, size_t *val_len);
/* Errors: as inv_store_stock_put(). */
int inv_store_state_put(inv_store_txn_t *txn, int32_t partition, unsigned char kind, const void *key, size_t len,
                        const void *val, size_t val_len);
/* Deleting a missing record is not an error. Errors: as inv_store_stock_put(). */
int inv_store_state_delete(inv_store_txn_t *txn, int32_t partition, unsigned char kind, const void *key, size_t len);

/* Called per record with copies of its key (without partition and kind)
 * and value, valid during the call; it may write to the txn (even delete
 * the record). Nonzero stops the scan with that value. */
typedef int (*inv_store_state_cb)(void *opaque, const unsigned char *key, size_t len, const void *val, size_t val_len);
/* Calls cb for the records of (partition, kind) whose key starts with
 * prefix (len bytes; 0: all), in key order. Returns 0, cb's value, or an
 * error: ENOMEM, INV_STORE_KEY_TOO_LONG, EINVAL, LMDB codes. */
int inv_store_state_scan(inv_store_txn_t *txn, int32_t partition, unsigned char kind, const void *prefix, size_t len,
                         inv_store_state_cb cb, void *opaque);
/* ---- count history ---------------------------------------------------- */

/*
 * Each stock row's on_hand changes by the time they are placed at (the
 * semantics are inv_counts'): per (partition, row) a sorted set of
 * (placed_at, uniq, delta), in a DUPSORT table so that a change is one
 * insert into its row's small set, not into one big tree.
 * `row` is the caller's 64-bit key of (sku, location); `uniq` tells apart
 * changes of a row placed at the same millisecond (the same triple twice is
 * kept once). inv_store_partition_drop() removes a partition's history.
 */
int inv_store_history_put(inv_store_txn_t *txn, int32_t partition, uint64_t row, int64_t at_ms, uint64_t uniq,
                          int64_t delta);
/* One change, for inv_store_history_put_many(). */
typedef struct {
    int32_t partition;
    uint64_t row;
    int64_t at_ms;
    uint64_t uniq;
    int64_t delta;
} inv_store_history_entry_t;

/* Puts n changes through one cursor: in (partition, row, at_ms, uniq)
 * order, each insert lands next to the previous one and LMDB skips the
 * descent from the root. Any order is correct. Errors: as
 * inv_store_history_put(). */
int inv_store_history_put_many(inv_store_txn_t *txn, const inv_store_history_entry_t *e, size_t n);
/* *net = the sum of row's deltas placed after after_ms; *has_newest = 1 and
 * *newest_ms = its newest change's time when it has any. Errors: EINVAL,
 * INV_STORE_FORMAT (a sum beyond int64), LMDB codes. */
int inv_store_history_after(inv_store_txn_t *txn, int32_t partition, uint64_t row, int64_t after_ms, int64_t *net,
                            int *has_newest, int64_t *newest_ms);
/* Deletes row's changes placed at or before upto_ms; *dropped (may be NULL)
 * = how many. Errors: as inv_store_stock_put(). */
int inv_store_history_drop_through(inv_store_txn_t *txn, int32_t partition, uint64_t row, int64_t upto_ms,
                                   size_t *dropped);
/* From row *resume_row on (0: the first), at most max rows of the
 * partition: deletes each row's changes placed more than window_ms before
 * its newest. *resume_row = where to go on next time (0 after the last
 * row). *dropped (may be NULL) = changes deleted. Errors: as
 * inv_store_stock_put(). */
int inv_store_history_sweep(inv_store_txn_t *txn, int32_t partition, int64_t window_ms, uint64_t *resume_row,
                            size_t max, size_t *dropped);
/* Rows with a history in the partition, and their changes. */
int inv_store_history_size(inv_store_txn_t *txn, int32_t partition, uint64_t *rows, uint64_t *records);

/* ---- per-partition meta ------------------------------------------------- */

/* Where a partition's state stands. -1 in a field = not known. */
typedef struct {
    int64_t input_offset;     /* next inventory.movements offset to apply */
    int64_t changelog_offset; /* next offset of inventory.stock partition p
                                 after the last committed batch */
    int64_t dedup_log_offset; /* next offset of the dedup log (if any) */
} inv_store_meta_t;

/* Errors: INV_STORE_NOTFOUND (no state for the partition: rebuild it),
 * INV_STORE_FORMAT, EINVAL, LMDB codes. */
int inv_store_meta_get(inv_store_txn_t *txn, int32_t partition, inv_store_meta_t *meta);

/* Errors: INV_STORE_MAP_FULL, INV_STORE_READONLY, INV_STORE_TXN_FAILED,
 * EINVAL, LMDB codes. */
int inv_store_meta_put(inv_store_txn_t *txn, int32_t partition, const inv_store_meta_t *meta);

/* Calls cb for every partition that has meta, in partition order; stop and
 * return values as inv_store_stock_cb. */
typedef int (*inv_store_meta_cb)(void *opaque, int32_t partition, const inv_store_meta_t *meta);
int inv_store_meta_foreach(inv_store_txn_t *txn, inv_store_meta_cb cb, void *opaque);

/*
 * Removes everything of `partition`: stock rows, applied ids, their time
 * index, its state records and its meta. Policies and policy offsets are global and stay.
 * Cost: one delete per key in one txn, so a partition of millions of keys
 * makes a large txn (LMDB may then return MDB_TXN_FULL).
 * Errors: INV_STORE_MAP_FULL, INV_STORE_READONLY, INV_STORE_TXN_FAILED,
 * EINVAL, LMDB codes.
 */
int inv_store_partition_drop(inv_store_txn_t *txn, int32_t partition);

/* ---- policies (global table) -------------------------------------------- */

/* Errors: INV_STORE_NOTFOUND, INV_STORE_FORMAT, INV_STORE_KEY_TOO_LONG,
 * EINVAL, LMDB codes. */
int inv_store_policy_get(inv_store_txn_t *txn, const char *sku, const char *location, inv_rules_policy_t *policy);

/* location "*" = the SKU's default. Errors: INV_STORE_KEY_TOO_LONG,
 * INV_STORE_KEY_COLLISION, INV_STORE_MAP_FULL, INV_STORE_READONLY,
 * INV_STORE_TXN_FAILED, EINVAL, LMDB codes. */
int inv_store_policy_put(inv_store_txn_t *txn, const char *sku, const char *location, const inv_rules_policy_t *policy);

/* A tombstone: deleting a missing policy is not an error.
 * Errors: as inv_store_policy_put(). */
int inv_store_policy_delete(inv_store_txn_t *txn, const char *sku, const char *location);

/*
 * The effective policy of (sku, location) and the SKU's network threshold,
 * with the contract's fallbacks (see inv_rules_policy_resolve()): the
 * (sku, location) policy, else (sku, "*"), else *deflt (the config
 * default); the threshold is the (sku, "*") safety_stock, else
 * deflt->safety_stock. Two B-tree lookups. Errors: INV_STORE_FORMAT,
 * INV_STORE_KEY_TOO_LONG, EINVAL, LMDB codes (never NOTFOUND).
 */
int inv_store_policy_lookup(inv_store_txn_t *txn, const char *sku, const char *location,
                            const inv_rules_policy_t *deflt, inv_rules_policy_t *effective, int64_t *network_threshold);

/* Calls cb for every stored policy in (sku, location) order. Strings are
 * copies valid during the call; stop and return values as
 * inv_store_stock_cb. */
typedef int (*inv_store_policy_cb)(void *opaque, const char *sku, const char *location,
                                   const inv_rules_policy_t *policy);
int inv_store_policy_foreach(inv_store_txn_t *txn, inv_store_policy_cb cb, void *opaque);

/* The next offset of inventory.policies partition `partition` that the
 * policy table reflects. get: INV_STORE_NOTFOUND when never stored.
 * Errors otherwise as inv_store_meta_get() / inv_store_meta_put(). */
int inv_store_policy_offset_get(inv_store_txn_t *txn, int32_t partition, int64_t *next_offset);
int inv_store_policy_offset_put(inv_store_txn_t *txn, int32_t partition, int64_t next_offset);

/* The 64-bit hash (FNV-1a) of n bytes that long keys use; for callers of
 * the state table that must shorten their keys the same way. */
uint64_t inv_store_hash64(const void *s, size_t n);
/* ---- channel table (global) ---------------------------------------------- */

/* The ChannelLocations of topic.channels: (channel, location) -> buffer.
 * Global like the policies (every instance keeps the whole table), keyed
 * as policies are (long pairs in the long form, collisions detected). */

/* Errors: INV_STORE_KEY_TOO_LONG, INV_STORE_KEY_COLLISION,
 * INV_STORE_MAP_FULL, INV_STORE_READONLY, INV_STORE_TXN_FAILED, EINVAL,
 * LMDB codes. */
int inv_store_channel_put(inv_store_txn_t *txn, const char *channel, const char *location, int64_t buffer);
/* A tombstone: deleting a missing entry is not an error.
 * Errors: as inv_store_channel_put(). */
int inv_store_channel_delete(inv_store_txn_t *txn, const char *channel, const char *location);

/* Called per entry, in (channel, location) order, with NUL-terminated
 * copies valid during the call; stop and return values as
 * inv_store_stock_cb. */
typedef int (*inv_store_channel_cb)(void *opaque, const char *channel, const char *location, int64_t buffer);
/* Errors: INV_STORE_FORMAT, EINVAL, LMDB codes. */
int inv_store_channel_foreach(inv_store_txn_t *txn, inv_store_channel_cb cb, void *opaque);

/* The next offset of topic.channels partition `partition` the table
 * reflects; as inv_store_policy_offset_get() / _put(). */
int inv_store_channel_offset_get(inv_store_txn_t *txn, int32_t partition, int64_t *next_offset);
int inv_store_channel_offset_put(inv_store_txn_t *txn, int32_t partition, int64_t next_offset);

/* ---- errors -------------------------------------------------------------- */

/* A static sentence for any code an inv_store function returns: own codes,
 * LMDB codes and errno values (ENOSPC: "No space left on device"). */
const char *inv_store_strerror(int err);

/* The code's constant name, static: "ENOSPC", "MDB_MAP_FULL",
 * "INV_STORE_LOCKED", "OK" for 0, "unknown" otherwise; for metric labels. */
const char *inv_store_errname(int err);

/* 1 when err says the state dir's file system has no room (ENOSPC, EDQUOT,
 * EFBIG: the disk, the quota or the file size limit), else 0. */
int inv_store_no_room(int err);

#endif
