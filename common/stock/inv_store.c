/* inv_store: LMDB state of inv-stock; see inv_store.h for the layout. */
#include "inv_store.h"

#include "inv_bytes.h"
#include "inv_time.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

_Static_assert(INV_STORE_NOTFOUND == MDB_NOTFOUND, "INV_STORE_NOTFOUND must be MDB_NOTFOUND");
_Static_assert(INV_STORE_PANIC == MDB_PANIC, "INV_STORE_PANIC must be MDB_PANIC");
_Static_assert(INV_STORE_ERR_FIRST > MDB_LAST_ERRCODE, "own codes must not overlap LMDB's");

enum { DB_STOCK, DB_DEDUP, DB_DEDUP_TIME, DB_PMETA, DB_POLICY, DB_GLOBAL, DB_STATE, DB_HISTORY, DB_COUNT };
static const char *const DB_NAMES[DB_COUNT] = {
    "stock", "dedup", "dedup_time", "pmeta", "policy", "global", "state", "history",
};
/* history: be32 partition | be64 row -> sorted duplicates of HIST_VALUE
 * bytes: be64 placed_at (sign flipped) | be64 uniq | le64 delta */
#define HIST_VALUE 24

/* The environment's format. 1: rows without committed, incoming and
 * in_transit_out, no state table; 2: rows without last_count_at and
 * count_variance, no count history. Opened for writing, an environment of
 * an earlier format loses its per-partition state (rebuilt from Kafka) and
 * becomes 3. */
#define FORMAT_VERSION 3
/* The format byte of policy and meta records (unchanged since 1) and of
 * stock rows. */
#define REC_FORMAT 1
#define ROW_FORMAT 3
#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define MIN_MAP_PAGES 16
#define READER_CHECK_INTERVAL_NS 1000000000LL
/* A growth ahead of need that found no room is tried again after this. */
#define GROWTH_RETRY_NS 1000000000LL
#define LOCK_FILE "inv_store.lock"
/* Present while a writer runs without syncing its commits: the boot it ran
 * in. Found at open with another boot id, the OS crashed (or rebooted)
 * under unsynced commits and the environment is dropped. */
#define BOOT_FILE "unsynced-boot-id"
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* Record sizes: a format byte, 7 reserved bytes, then little-endian int64s. */
#define ROW_SIZE (8 + 11 * 8)
#define POLICY_SIZE (8 + 3 * 8)
#define META_SIZE (8 + 3 * 8)

static const char KEY_FORMAT[] = "format";
static const char KEY_INSTANCE_ID[] = "instance_id";
static const char KEY_POLICY_OFFSET[] = "poff"; /* + be32 partition */
/* The channel table in `global`: "chl\0" channel \0 location -> buffer
 * (a record of CHANNEL_SIZE), and its topic's offsets "coff" + be32. */
static const char KEY_CHANNEL[] = "chl";         /* with its NUL: 4 bytes */
static const char KEY_CHANNEL_OFFSET[] = "coff"; /* + be32 partition */
#define CHANNEL_SIZE (8 + 8)

/* Environments open in this process, by directory: LMDB forbids opening one
 * twice in a process (closing the second drops the first's locks). Entries
 * of another pid were inherited through fork() and do not count. */
typedef struct open_env_s {
    dev_t dev;
    ino_t ino;
    pid_t pid;
    struct open_env_s *next;
} open_env_t;
static open_env_t *open_envs;
static pthread_mutex_t open_envs_lock = PTHREAD_MUTEX_INITIALIZER;

struct inv_store_s {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    int readonly;
    int lock_fd;
    size_t psize;
    size_t maxkey;
    /* Held shared by every open txn of this process, exclusively while the
     * map is resized: mdb_env_set_mapsize() needs no txn in the process. */
    pthread_rwlock_t map_lock;
    atomic_int grow_pending;
    atomic_uint_fast64_t growths;
    atomic_int_fast64_t next_growth_ns; /* no growth ahead of need before this */
    atomic_int map_lost;                /* a failed resize could not map the old size again */
    atomic_uint_fast64_t write_errors;
    atomic_int last_write_error;
    int writemap;   /* MDB_WRITEMAP: the map's blocks are reserved up front */
    int env_opened; /* mdb_env_open succeeded on env */
    atomic_int_fast64_t last_reader_check_ns;
    char instance_id[64];
    open_env_t *registered;
    char boot_file[4200]; /* BOOT_FILE's path when this writer syncs lazily */
    int was_reset;
};

struct inv_store_txn_s {
    inv_store_t *store;
    MDB_txn *txn;
    int readonly;
    int failed; /* first error of a write operation, 0 if none */
};

/* ---- encoding ------------------------------------------------------------ */

/* Signed times sort as unsigned big-endian once the sign bit is flipped. */
static uint64_t time_bias(int64_t ms) { return (uint64_t)ms ^ ((uint64_t)1 << 63); }
static int64_t time_unbias(uint64_t u) { return (int64_t)(u ^ ((uint64_t)1 << 63)); }

typedef struct {
    unsigned char b[INV_STORE_MAX_KEY];
    size_t len, max;
} skey_t;

static void key_init(skey_t *k, size_t max) {
    k->len = 0;
    k->max = max < sizeof k->b ? max : sizeof k->b;
}

static int key_add(skey_t *k, const void *d, size_t n) {
    if (n > k->max - k->len)
        return INV_STORE_KEY_TOO_LONG;
    if (n) /* d may be NULL for an empty part (memcpy wants a pointer even for 0 bytes) */
        memcpy(k->b + k->len, d, n);
    k->len += n;
    return 0;
}

static int key_add_be(skey_t *k, uint64_t v, int bytes) {
    unsigned char b[8];
    inv_put_be(b, v, bytes);
    return key_add(k, b, (size_t)bytes);
}

/* The hash of a long key's second string; a unit test swaps in a weak one
 * to make collisions (tests/unit/test_store_collision.c). */
#ifndef INV_STORE_KEY_HASH
#define INV_STORE_KEY_HASH inv_store_hash64
#endif

uint64_t inv_store_hash64(const void *s, size_t n) {
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)s)[i]) * 1099511628211ULL;
    return h;
}

/*
 * The stock and policy keys: [P] a \0 b. When that exceeds LMDB's key size
 * (a 256-byte sku with a 256-byte location does), the long form
 * [P] a \0 b-prefix \0 hash64(b) is used instead and the record carries b
 * in full after its fixed part: a second \0 in a key marks the long form,
 * and a hash collision is detected by comparing b, never merged.
 */
static int key_pair(skey_t *k, const char *a, const char *b, int *long_form) {
    size_t la = strlen(a), lb = strlen(b);
    *long_form = 0;
    if (k->len + la + 1 + lb <= k->max) {
        int rc = key_add(k, a, la + 1);
        return rc ? rc : key_add(k, b, lb);
    }
    if (k->len + la + 1 + 1 + 8 > k->max || lb > INV_STORE_MAX_LONG_PART)
        return INV_STORE_KEY_TOO_LONG;
    size_t keep = k->max - k->len - la - 1 - 1 - 8;
    *long_form = 1;
    key_add(k, a, la + 1);
    key_add(k, b, keep);
    key_add(k, "", 1);
    return key_add_be(k, INV_STORE_KEY_HASH(b, lb), 8);
}

static MDB_val key_val(skey_t *k) { return (MDB_val){k->len, k->b}; }

static int has_prefix(const MDB_val *k, const skey_t *prefix) {
    return k->mv_size >= prefix->len && memcmp(k->mv_data, prefix->b, prefix->len) == 0;
}

static int32_t key_partition(const MDB_val *k) { return (int32_t)inv_get_be(k->mv_data, 4); }

/* Buffers for the NUL-terminated copies of a pair key's strings. */
typedef struct {
    char key[INV_STORE_MAX_KEY + 1];
    char b[INV_STORE_MAX_LONG_PART + 1];
} pair_buf_t;

/* Splits the pair key at `off` of an entry whose record has a `fixed`-size
 * part into copies of a and b (b from the record in the long form), and
 * checks the record's size. */
static int pair_split(const MDB_val *k, size_t off, const MDB_val *v, size_t fixed, pair_buf_t *buf, const char **a,
                      const char **b) {
    if (k->mv_size < off || k->mv_size - off > INV_STORE_MAX_KEY)
        return INV_STORE_FORMAT;
    size_t n = k->mv_size - off;
    memcpy(buf->key, (const char *)k->mv_data + off, n);
    buf->key[n] = '\0';
    const char *z = memchr(buf->key, '\0', n);
    if (!z)
        return INV_STORE_FORMAT;
    *a = buf->key;
    *b = z + 1;
    int long_form = memchr(z + 1, '\0', n - (size_t)(z + 1 - buf->key)) != NULL;
    if (!long_form)
        return v->mv_size == fixed ? 0 : INV_STORE_FORMAT;
    if (v->mv_size <= fixed || v->mv_size - fixed > INV_STORE_MAX_LONG_PART)
        return INV_STORE_FORMAT;
    memcpy(buf->b, (const char *)v->mv_data + fixed, v->mv_size - fixed);
    buf->b[v->mv_size - fixed] = '\0';
    *b = buf->b;
    return 0;
}

static void row_encode(unsigned char v[ROW_SIZE], const inv_stock_row_t *r) {
    memset(v, 0, ROW_SIZE);
    v[0] = ROW_FORMAT;
    v[1] = (unsigned char)r->shortage;
    v[2] = r->has_last_count ? 1 : 0;
    int64_t f[11] = {r->on_hand,        r->unsellable,       r->on_order,      r->available,
                     r->version,        r->updated_at_ms,    r->committed,     r->incoming,
                     r->in_transit_out, r->last_count_at_ms, r->count_variance};
    for (int i = 0; i < 11; i++)
        inv_put_le64(v + 8 + 8 * i, f[i]);
}

static int row_decode(const MDB_val *val, inv_stock_row_t *r) {
    const unsigned char *v = val->mv_data;
    if (val->mv_size < ROW_SIZE || v[0] != ROW_FORMAT || v[1] > INV_SHORTAGE_RESTORED || v[2] > 1)
        return INV_STORE_FORMAT;
    *r = (inv_stock_row_t){
        .on_hand = inv_get_le64(v + 8),
        .unsellable = inv_get_le64(v + 16),
        .on_order = inv_get_le64(v + 24),
        .available = inv_get_le64(v + 32),
        .version = inv_get_le64(v + 40),
        .updated_at_ms = inv_get_le64(v + 48),
        .shortage = (inv_shortage_state_t)v[1],
        .committed = inv_get_le64(v + 56),
        .incoming = inv_get_le64(v + 64),
        .in_transit_out = inv_get_le64(v + 72),
        .has_last_count = v[2] == 1,
        .last_count_at_ms = inv_get_le64(v + 80),
        .count_variance = inv_get_le64(v + 88),
    };
    return 0;
}

/* Policy and meta records: three int64s behind the format byte. */
static void triple_encode(unsigned char v[POLICY_SIZE], int64_t a, int64_t b, int64_t c) {
    memset(v, 0, POLICY_SIZE);
    v[0] = REC_FORMAT;
    inv_put_le64(v + 8, a);
    inv_put_le64(v + 16, b);
    inv_put_le64(v + 24, c);
}

static int triple_decode(const MDB_val *val, int64_t *a, int64_t *b, int64_t *c) {
    const unsigned char *v = val->mv_data;
    if (val->mv_size < POLICY_SIZE || v[0] != REC_FORMAT)
        return INV_STORE_FORMAT;
    *a = inv_get_le64(v + 8);
    *b = inv_get_le64(v + 16);
    *c = inv_get_le64(v + 24);
    return 0;
}

/* ---- txn plumbing -------------------------------------------------------- */

static int check_read(const inv_store_txn_t *t) {
    if (!t)
        return EINVAL;
    return t->failed ? INV_STORE_TXN_FAILED : 0;
}

static int check_write(const inv_store_txn_t *t) {
    if (!t)
        return EINVAL;
    if (t->readonly)
        return INV_STORE_READONLY;
    return t->failed ? INV_STORE_TXN_FAILED : 0;
}

/*
 * LMDB's write() of dirty pages (mdb_page_flush: at commit, or when a big
 * txn spills) reports a write that stopped short as EIO ("short write,
 * filesystem full?"), and that is how a full disk usually shows, in the
 * middle of a run of pages. Told apart from a real I/O error by the file
 * system having no block left for us.
 */
static int precise_write_error(inv_store_t *s, int rc) {
    struct statvfs vfs;
    int fd;
    if (rc != EIO || s->writemap || mdb_env_get_fd(s->env, &fd) != 0 || fstatvfs(fd, &vfs) != 0)
        return rc;
    uint64_t blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail; /* root may use the reserve */
    return blocks * vfs.f_frsize < s->psize ? ENOSPC : rc;
}

static void note_write_error(inv_store_t *s, int rc) {
    if (rc != INV_STORE_MAP_FULL)
        atomic_fetch_add(&s->write_errors, 1);
    atomic_store(&s->last_write_error, rc);
}

/* A write operation failed: LMDB has poisoned the txn, remember why. */
static int write_failed(inv_store_txn_t *t, int rc) {
    if (rc == MDB_MAP_FULL) {
        atomic_store(&t->store->grow_pending, 1);
        rc = INV_STORE_MAP_FULL;
    }
    rc = precise_write_error(t->store, rc);
    if (!t->failed) {
        t->failed = rc;
        note_write_error(t->store, rc);
    }
    return rc;
}

static int txn_put(inv_store_txn_t *t, int db, skey_t *k, void *data, size_t size, unsigned flags) {
    MDB_val key = key_val(k), val = {size, data};
    int rc = mdb_put(t->txn, t->store->dbi[db], &key, &val, flags);
    if (rc == MDB_KEYEXIST)
        return rc;
    return rc ? write_failed(t, rc) : 0;
}

static int txn_del(inv_store_txn_t *t, int db, skey_t *k) {
    MDB_val key = key_val(k);
    int rc = mdb_del(t->txn, t->store->dbi[db], &key, NULL);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? write_failed(t, rc) : 0;
}

static int txn_get(inv_store_txn_t *t, int db, skey_t *k, MDB_val *val) {
    MDB_val key = key_val(k);
    return mdb_get(t->txn, t->store->dbi[db], &key, val);
}

/* The fixed-size record of partition p under key_of(p): 0, EINVAL (p < 0
 * or no out), a read error, MDB_NOTFOUND, or INV_STORE_FORMAT when its size
 * is not `size`. */
static int txn_get_sized(inv_store_txn_t *t, int db, void (*key_of)(const inv_store_txn_t *, skey_t *, int32_t),
                         int32_t p, const void *out, size_t size, MDB_val *v) {
    int rc = check_read(t);
    if (rc || p < 0 || !out)
        return rc ? rc : EINVAL;
    skey_t k;
    key_of(t, &k, p);
    if ((rc = txn_get(t, db, &k, v)))
        return rc;
    return v->mv_size == size ? 0 : INV_STORE_FORMAT;
}

static int tail_is(const MDB_val *v, size_t fixed, const char *full) {
    size_t n = strlen(full);
    return v->mv_size == fixed + n && memcmp((const char *)v->mv_data + fixed, full, n) == 0;
}

/* Pair-keyed records (stock, policy): a fixed part, plus `full` (the
 * pair's second string) in the long form. A get or a put of a long key
 * whose record belongs to another string is INV_STORE_KEY_COLLISION: the
 * pair can never be stored, and its caller must not retry. */
static int rec_get(inv_store_txn_t *t, int db, skey_t *k, int long_form, const char *full, size_t fixed, MDB_val *v) {
    int rc = txn_get(t, db, k, v);
    if (rc)
        return rc;
    if (!long_form)
        return v->mv_size == fixed ? 0 : INV_STORE_FORMAT;
    return tail_is(v, fixed, full) ? 0 : INV_STORE_KEY_COLLISION;
}

static int rec_put(inv_store_txn_t *t, int db, skey_t *k, int long_form, const char *full, const unsigned char *fixed,
                   size_t fixed_size) {
    size_t n = long_form ? strlen(full) : 0;
    if (long_form) {
        MDB_val cur;
        int rc = txn_get(t, db, k, &cur);
        if (rc == 0 && !tail_is(&cur, fixed_size, full))
            return INV_STORE_KEY_COLLISION;
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    MDB_val key = key_val(k), val = {fixed_size + n, NULL};
    int rc = mdb_put(t->txn, t->store->dbi[db], &key, &val, MDB_RESERVE);
    if (rc)
        return write_failed(t, rc);
    memcpy(val.mv_data, fixed, fixed_size);
    if (n)
        memcpy((unsigned char *)val.mv_data + fixed_size, full, n);
    return 0;
}

static int rec_del(inv_store_txn_t *t, int db, skey_t *k, int long_form, const char *full, size_t fixed_size) {
    if (long_form) {
        MDB_val cur;
        int rc = rec_get(t, db, k, 1, full, fixed_size, &cur);
        if (rc)
            return rc == MDB_NOTFOUND || rc == INV_STORE_KEY_COLLISION ? 0 : rc;
    }
    return txn_del(t, db, k);
}

static void maybe_reader_check(inv_store_t *s) {
    int_fast64_t now = inv_time_mono_coarse_ns(), last = atomic_load(&s->last_reader_check_ns);
    if (now - last < READER_CHECK_INTERVAL_NS)
        return;
    if (atomic_compare_exchange_strong(&s->last_reader_check_ns, &last, now))
        mdb_reader_check(s->env, NULL);
}

static uint64_t used_bytes(const inv_store_t *s, const MDB_envinfo *info) {
    return ((uint64_t)info->me_last_pgno + 1) * s->psize;
}

int inv_store_no_room(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

/*
 * With MDB_WRITEMAP, LMDB extends data.mdb to the map size with ftruncate()
 * (a sparse file) and writes pages by storing into the shared mapping, so
 * on a full disk the first store into a page without a block is a SIGBUS.
 * Reserving the blocks of [from, to) here turns that into ENOSPC now.
 */
static int reserve_map(inv_store_t *s, uint64_t from, uint64_t to) {
    int fd, rc;
    if (!s->writemap || to <= from)
        return 0;
    if ((rc = mdb_env_get_fd(s->env, &fd)) != 0)
        return rc;
    do
        rc = posix_fallocate(fd, (off_t)from, (off_t)(to - from));
    while (rc == EINTR);
    return rc;
}

/* Sets the map size (0: the size the environment records) and reserves its
 * new blocks. On failure the map is back at `old`, which with MDB_WRITEMAP
 * truncates the file to it and so releases a partial reservation. Needs no
 * txn open in the process (map_lock held exclusively, or opening). */
static int resize_map(inv_store_t *s, size_t old, size_t size) {
    int rc = mdb_env_set_mapsize(s->env, size);
    if (rc == 0 && s->writemap) {
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        rc = reserve_map(s, old, info.me_mapsize);
    }
    if (rc && mdb_env_set_mapsize(s->env, old) != 0)
        atomic_store(&s->map_lost, 1); /* LMDB has no mapping left: no txn may begin */
    return rc;
}

/* Doubles the map when the last write txn overflowed it or more than 3/4 is
 * used. Waits for the process's open txns: the mapping moves. A growth
 * ahead of need that finds no room is not an error (the map still has
 * room; tried again a second later); one after INV_STORE_MAP_FULL is. */
static int maybe_grow(inv_store_t *s) {
    MDB_envinfo info;
    pthread_rwlock_rdlock(&s->map_lock);
    mdb_env_info(s->env, &info);
    pthread_rwlock_unlock(&s->map_lock);
    if (!atomic_load(&s->grow_pending) && (used_bytes(s, &info) * 4 <= (uint64_t)info.me_mapsize * 3 ||
                                           inv_time_mono_coarse_ns() < atomic_load(&s->next_growth_ns)))
        return 0;

    int rc = 0;
    pthread_rwlock_wrlock(&s->map_lock);
    mdb_env_info(s->env, &info); /* another thread may have grown it */
    int pending = atomic_exchange(&s->grow_pending, 0);
    uint64_t used = used_bytes(s, &info), size = info.me_mapsize;
    if (pending || used * 4 > size * 3) {
        do
            size *= 2;
        while (used * 4 > size * 3);
        rc = resize_map(s, info.me_mapsize, (size_t)size);
        if (rc == 0) {
            atomic_fetch_add(&s->growths, 1);
        } else {
            atomic_store(&s->grow_pending, pending);
            if (!pending && inv_store_no_room(rc) && !atomic_load(&s->map_lost)) {
                atomic_store(&s->next_growth_ns, inv_time_mono_coarse_ns() + GROWTH_RETRY_NS);
                rc = 0;
            }
        }
    }
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

/* Another process grew the map beyond ours: adopt its size. */
static int adopt_map_size(inv_store_t *s) {
    MDB_envinfo info;
    pthread_rwlock_wrlock(&s->map_lock);
    mdb_env_info(s->env, &info);
    int rc = resize_map(s, info.me_mapsize, 0);
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

int inv_store_txn_begin(inv_store_t *s, int readonly, inv_store_txn_t **out) {
    if (!s || !out)
        return EINVAL;
    *out = NULL;
    if (!readonly && s->readonly)
        return INV_STORE_READONLY;
    inv_store_txn_t *t = calloc(1, sizeof *t);
    if (!t)
        return ENOMEM;
    t->store = s;
    t->readonly = readonly != 0;
    int rc;
    if (!readonly) {
        maybe_reader_check(s);
        if ((rc = maybe_grow(s)) != 0)
            goto fail;
    }
    for (int attempt = 0;; attempt++) {
        if (atomic_load(&s->map_lost)) {
            rc = MDB_PANIC;
            goto fail;
        }
        pthread_rwlock_rdlock(&s->map_lock);
        rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &t->txn);
        if (rc == 0)
            break;
        pthread_rwlock_unlock(&s->map_lock);
        if (rc != MDB_MAP_RESIZED || attempt == 3 || (rc = adopt_map_size(s)) != 0)
            goto fail;
    }
    *out = t;
    return 0;
fail:
    if (!readonly)
        note_write_error(s, rc);
    free(t);
    return rc;
}

static void txn_free(inv_store_txn_t *t) {
    pthread_rwlock_unlock(&t->store->map_lock);
    free(t);
}

int inv_store_txn_commit(inv_store_txn_t *t) {
    if (!t)
        return EINVAL;
    int rc;
    if (t->readonly) {
        mdb_txn_abort(t->txn);
        rc = 0;
    } else if (t->failed) {
        mdb_txn_abort(t->txn);
        rc = t->failed;
    } else {
        rc = mdb_txn_commit(t->txn);
        if (rc == MDB_MAP_FULL) {
            atomic_store(&t->store->grow_pending, 1);
            rc = INV_STORE_MAP_FULL;
        }
        if (rc)
            note_write_error(t->store, rc = precise_write_error(t->store, rc));
        else if (atomic_load(&t->store->last_write_error))
            atomic_store(&t->store->last_write_error, 0);
    }
    txn_free(t);
    return rc;
}

void inv_store_txn_abort(inv_store_txn_t *t) {
    if (!t)
        return;
    mdb_txn_abort(t->txn);
    txn_free(t);
}

/* ---- open and close ------------------------------------------------------- */

static int mkdir_p(const char *dir) {
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return n ? ENAMETOOLONG : EINVAL;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return errno;
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

static void make_instance_id(char out[33]) {
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof r) { /* no getrandom: still unique enough per host */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
        for (size_t i = got; i < sizeof r; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            r[i] = (unsigned char)(x >> 56);
        }
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Claims `dir` for this process: EBUSY if it is open here already. */
static int env_register(inv_store_t *s, const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno;
    pid_t pid = getpid();
    int rc = 0;
    pthread_mutex_lock(&open_envs_lock);
    for (open_env_t *e = open_envs; e; e = e->next)
        if (e->dev == st.st_dev && e->ino == st.st_ino && e->pid == pid)
            rc = EBUSY;
    if (!rc) {
        open_env_t *e = malloc(sizeof *e);
        if (!e) {
            rc = ENOMEM;
        } else {
            *e = (open_env_t){st.st_dev, st.st_ino, pid, open_envs};
            open_envs = e;
            s->registered = e;
        }
    }
    pthread_mutex_unlock(&open_envs_lock);
    return rc;
}

static void env_unregister(inv_store_t *s) {
    if (!s->registered)
        return;
    pthread_mutex_lock(&open_envs_lock);
    for (open_env_t **pe = &open_envs; *pe; pe = &(*pe)->next) {
        if (*pe == s->registered) {
            *pe = s->registered->next;
            break;
        }
    }
    pthread_mutex_unlock(&open_envs_lock);
    free(s->registered);
    s->registered = NULL;
}

static inv_store_t *store_new(void) {
    inv_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->lock_fd = -1;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Readers must not starve a growth the writer waits for. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->map_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return s;
}

static void store_free(inv_store_t *s) {
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    env_unregister(s);
    pthread_rwlock_destroy(&s->map_lock);
    free(s);
}

/* Opens the named DBs, checks the format and reads (or, writable, creates)
 * the instance id, in one txn. */
static int store_init_dbs(inv_store_t *s) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0, &txn);
    if (rc)
        return rc;
    for (int i = 0; i < DB_COUNT && !rc; i++)
        rc = mdb_dbi_open(txn, DB_NAMES[i],
                          (s->readonly ? 0 : MDB_CREATE) | (i == DB_HISTORY ? MDB_DUPSORT | MDB_DUPFIXED : 0),
                          &s->dbi[i]);
    if (rc == MDB_NOTFOUND)
        rc = INV_STORE_FORMAT; /* an LMDB env, but not ours */

    MDB_dbi g = s->dbi[DB_GLOBAL];
    MDB_val k = {sizeof KEY_FORMAT - 1, (void *)KEY_FORMAT}, v;
    if (!rc) {
        rc = mdb_get(txn, g, &k, &v);
        if (rc == 0 && v.mv_size == 1 && *(unsigned char *)v.mv_data >= 1 &&
            *(unsigned char *)v.mv_data < FORMAT_VERSION && !s->readonly) {
            /* rows of an earlier format: the partitions are rebuilt */
            static const int per_partition[] = {DB_STOCK, DB_DEDUP, DB_DEDUP_TIME, DB_PMETA, DB_STATE, DB_HISTORY};
            for (size_t i = 0; i < sizeof per_partition / sizeof per_partition[0] && !rc; i++)
                rc = mdb_drop(txn, s->dbi[per_partition[i]], 0);
            unsigned char f = FORMAT_VERSION;
            v = (MDB_val){1, &f};
            if (!rc)
                rc = mdb_put(txn, g, &k, &v, 0);
            s->was_reset = rc == 0;
        } else if (rc == 0 && (v.mv_size != 1 || *(unsigned char *)v.mv_data != FORMAT_VERSION)) {
            rc = INV_STORE_FORMAT;
        } else if (rc == MDB_NOTFOUND && !s->readonly) {
            unsigned char f = FORMAT_VERSION;
            v = (MDB_val){1, &f};
            rc = mdb_put(txn, g, &k, &v, 0);
        } else if (rc == MDB_NOTFOUND) {
            rc = INV_STORE_FORMAT;
        }
    }
    k = (MDB_val){sizeof KEY_INSTANCE_ID - 1, (void *)KEY_INSTANCE_ID};
    if (!rc) {
        rc = mdb_get(txn, g, &k, &v);
        if (rc == 0 && v.mv_size > 0 && v.mv_size < sizeof s->instance_id) {
            memcpy(s->instance_id, v.mv_data, v.mv_size);
            s->instance_id[v.mv_size] = '\0';
        } else if (rc == 0) {
            rc = INV_STORE_FORMAT;
        } else if (rc == MDB_NOTFOUND && !s->readonly) {
            make_instance_id(s->instance_id);
            v = (MDB_val){strlen(s->instance_id), s->instance_id};
            rc = mdb_put(txn, g, &k, &v, 0);
        }
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn); /* keeps the DB handles */
}

static int store_env_create(inv_store_t *s, unsigned max_readers) {
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, DB_COUNT);
    if (!rc && max_readers)
        rc = mdb_env_set_maxreaders(s->env, max_readers);
    return rc;
}

static void store_env_sizes(inv_store_t *s) {
    MDB_stat st;
    mdb_env_stat(s->env, &st);
    s->psize = st.ms_psize;
    s->maxkey = (size_t)mdb_env_get_maxkeysize(s->env);
}

static int read_small_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n = read(fd, buf, size - 1);
    int rc = n < 0 ? errno : 0;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return rc;
}

/* Drops an environment that an OS crash may have left with lost or torn
 * unsynced commits (see BOOT_FILE), then, for a writer that will not sync
 * its commits, records the current boot. Falls back to syncing commits
 * (*sync = LAZY_META) when the boot cannot be recorded. */
static int boot_guard(inv_store_t *s, const char *dir, inv_store_sync_t *sync) {
    char boot[64] = "", recorded[64] = "", path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, BOOT_FILE);
    if (read_small_file(BOOT_ID_PATH, boot, sizeof boot) != 0 || !boot[0])
        boot[0] = '\0';
    int rc = read_small_file(path, recorded, sizeof recorded);
    if (rc == 0 && (!boot[0] || strcmp(boot, recorded) != 0)) {
        static const char *const files[] = {"data.mdb", "lock.mdb"};
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
            char f[4200];
            snprintf(f, sizeof f, "%s/%s", dir, files[i]);
            if (unlink(f) != 0 && errno != ENOENT)
                return errno;
        }
        if (unlink(path) != 0 && errno != ENOENT)
            return errno;
        s->was_reset = 1;
    } else if (rc != 0 && rc != ENOENT) {
        return rc;
    }
    if (*sync != INV_STORE_SYNC_NONE)
        return 0;
    /* Written aside and renamed: a write that fails (a full disk) must not
     * leave a truncated record, which the next open would take for
     * another boot's. */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = boot[0] ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int ok = fd >= 0 && write(fd, boot, strlen(boot)) == (ssize_t)strlen(boot) && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    if (!ok && fd >= 0)
        unlink(tmp);
    int dfd = ok ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    ok = ok && dfd >= 0 && fsync(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    if (ok) {
        snprintf(s->boot_file, sizeof s->boot_file, "%s", path);
    } else {
        *sync = INV_STORE_SYNC_LAZY_META;
        /* This boot's record, of a writer that crashed: kept until a clean
         * close has synced everything, then removed. */
        if (rc == 0)
            snprintf(s->boot_file, sizeof s->boot_file, "%s", path);
    }
    return 0;
}

/*
 * LMDB writes its lock file through a shared mapping too (the header when it
 * creates it, reader slots later), so a hole in it is the same SIGBUS on a
 * full disk. Its blocks are reserved before LMDB opens it: FALLOC_FL_KEEP_SIZE,
 * since LMDB sizes the file itself (and a larger one changes its reader
 * count). LMDB's table is 128 bytes plus 64 per reader slot; an existing
 * file keeps its size. A full disk is ENOSPC only when LMDB would have to
 * extend the file: one it sized before (an older inv_store, no reservation)
 * has its header page written, and the pages after it hold reader slots
 * beyond the first ~60, which inv-stock never uses at once.
 * No environment of `dir` is open in this process (env_register), so
 * closing this descriptor drops none of LMDB's fcntl locks.
 */
static int reserve_lock_file(const char *dir, unsigned max_readers) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    off_t page = sysconf(_SC_PAGESIZE), need = ((off_t)(max_readers ? max_readers : 126) + 2) * 64;
    off_t size = fstat(fd, &st) == 0 ? st.st_size : 0, len = size > need ? size : need;
    len = (len + page - 1) / page * page;
    int rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, len) == 0 ? 0 : errno;
    close(fd);
    if (rc == EOPNOTSUPP || rc == ENOSYS)
        return 0; /* no fallocate there: as LMDB alone */
    return inv_store_no_room(rc) && size >= need ? 0 : rc;
}

/* Opens the LMDB environment with `flags` (MDB_WRITEMAP: reserving the
 * whole map) and its named DBs. */
static int env_open(inv_store_t *s, const char *dir, unsigned flags, size_t map, unsigned max_readers) {
    int rc;
    s->writemap = (flags & MDB_WRITEMAP) != 0;
    if ((rc = store_env_create(s, max_readers)) || (rc = mdb_env_set_mapsize(s->env, map)) ||
        (rc = mdb_env_open(s->env, dir, flags, 0600)))
        return rc;
    s->env_opened = 1;
    store_env_sizes(s);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    if ((rc = reserve_map(s, 0, info.me_mapsize)) != 0)
        return rc;
    mdb_reader_check(s->env, NULL);
    atomic_store(&s->last_reader_check_ns, inv_time_mono_coarse_ns());

    /* The first txn of a tiny map can itself overflow it. */
    for (int i = 0; (rc = store_init_dbs(s)) == MDB_MAP_FULL && i < 8; i++) {
        mdb_env_info(s->env, &info);
        if ((rc = resize_map(s, info.me_mapsize, info.me_mapsize * 2)) != 0)
            break;
    }
    return rc;
}

/* Closes an environment opened with MDB_WRITEMAP whose map could not be
 * reserved, and truncates data.mdb back to the pages in use: ftruncate()
 * made it as large as the map, and a partial reservation may hold blocks
 * that the writes to come need. Pages past the last one in use belong to
 * no committed txn, so no reader (of any process) looks at them. */
static void env_close_unreserved(inv_store_t *s, const char *dir) {
    uint64_t used = 0;
    MDB_envinfo info;
    if (s->env_opened && mdb_env_info(s->env, &info) == 0)
        used = used_bytes(s, &info);
    mdb_env_close(s->env);
    s->env = NULL;
    s->env_opened = 0;
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (used && stat(path, &st) == 0 && (uint64_t)st.st_size > used && truncate(path, (off_t)used) != 0)
        return; /* only space given back; the writes to come report what they lack */
}

/* The end of an open: the store in *out, or freed when rc says it failed. */
static int store_opened(inv_store_t *s, int rc, inv_store_t **out) {
    if (rc) {
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int inv_store_open(const char *dir, const inv_store_options_t *opts, inv_store_t **out) {
    if (!dir || !out)
        return EINVAL;
    *out = NULL;
    inv_store_options_t o = INV_STORE_OPTIONS_DEFAULT;
    if (opts)
        o = *opts;
    if (o.sync != INV_STORE_SYNC_LAZY_META && o.sync != INV_STORE_SYNC_FULL && o.sync != INV_STORE_SYNC_NONE)
        return EINVAL;
    int rc = mkdir_p(dir);
    if (rc)
        return rc;

    inv_store_t *s = store_new();
    if (!s)
        return ENOMEM;
    if ((rc = env_register(s, dir)) != 0)
        goto fail;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, LOCK_FILE);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        rc = errno;
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? INV_STORE_LOCKED : errno;
        goto fail;
    }

    if ((rc = boot_guard(s, dir, &o.sync)) != 0 || (rc = reserve_lock_file(dir, o.max_readers)) != 0)
        goto fail;

    size_t page = (size_t)sysconf(_SC_PAGESIZE), map = o.map_size ? o.map_size : DEFAULT_MAP_SIZE;
    if (map < MIN_MAP_PAGES * page)
        map = MIN_MAP_PAGES * page;
    map = (map + page - 1) / page * page;
    unsigned flags = MDB_NOTLS;
    if (o.sync == INV_STORE_SYNC_LAZY_META)
        flags |= MDB_NOMETASYNC;
    else if (o.sync == INV_STORE_SYNC_NONE)
        flags |= MDB_NOSYNC | MDB_WRITEMAP; /* pages written in place: no copy, no write() per dirty page */
    rc = env_open(s, dir, flags, map, o.max_readers);
    if (rc && inv_store_no_room(rc) && (flags & MDB_WRITEMAP)) {
        /* No room for the whole map: pages go through write(), which
         * reports a full disk as ENOSPC from the commit. */
        env_close_unreserved(s, dir);
        rc = env_open(s, dir, flags & ~MDB_WRITEMAP, map, o.max_readers);
    }
fail:
    return store_opened(s, rc, out);
}

int inv_store_open_readonly(const char *dir, inv_store_t **out) {
    if (!dir || !out)
        return EINVAL;
    *out = NULL;
    inv_store_t *s = store_new();
    if (!s)
        return ENOMEM;
    s->readonly = 1;
    int rc = env_register(s, dir);
    if (rc)
        goto fail;
    /* Map size 0: the size the writer last committed. */
    if ((rc = store_env_create(s, 0)) || (rc = mdb_env_open(s->env, dir, MDB_RDONLY | MDB_NOTLS, 0600)))
        goto fail;
    store_env_sizes(s);
    for (int attempt = 0; (rc = store_init_dbs(s)) == MDB_MAP_RESIZED && attempt < 3; attempt++)
        if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0)
            break;
fail:
    return store_opened(s, rc, out);
}

void inv_store_close(inv_store_t *s) {
    if (!s)
        return;
    /* Synced: nothing an OS crash could lose, the boot record can go. */
    if (!s->readonly && s->env && mdb_env_sync(s->env, 1) == 0 && s->boot_file[0])
        unlink(s->boot_file);
    store_free(s);
}

const char *inv_store_instance_id(const inv_store_t *s) { return s ? s->instance_id : NULL; }

int inv_store_was_reset(const inv_store_t *s) { return s ? s->was_reset : 0; }

int inv_store_sync(inv_store_t *s) {
    if (!s)
        return EINVAL;
    if (s->readonly)
        return INV_STORE_READONLY;
    return mdb_env_sync(s->env, 1);
}

int inv_store_reader_check(inv_store_t *s, int *dead) {
    if (!s)
        return EINVAL;
    int d = 0, rc = mdb_reader_check(s->env, &d);
    if (dead)
        *dead = d;
    atomic_store(&s->last_reader_check_ns, inv_time_mono_coarse_ns());
    return rc;
}

int inv_store_info(inv_store_t *s, inv_store_info_t *info) {
    if (!s || !info)
        return EINVAL;
    MDB_envinfo ei;
    pthread_rwlock_rdlock(&s->map_lock);
    int rc = mdb_env_info(s->env, &ei);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc)
        return rc;
    *info = (inv_store_info_t){
        .map_size = ei.me_mapsize,
        .used_bytes = used_bytes(s, &ei),
        .growths = atomic_load(&s->growths),
        .reader_slots = ei.me_numreaders,
        .max_readers = ei.me_maxreaders,
        .writemap = s->writemap,
        .write_errors = atomic_load(&s->write_errors),
        .last_write_error = atomic_load(&s->last_write_error),
    };
    return 0;
}

/* ---- stock rows ------------------------------------------------------------ */

static int stock_key(const inv_store_txn_t *t, skey_t *k, int32_t p, const char *sku, const char *location,
                     int *long_form) {
    if (p < 0 || !sku || !location)
        return EINVAL;
    key_init(k, t->store->maxkey);
    int rc = key_add_be(k, (uint32_t)p, 4);
    return rc ? rc : key_pair(k, sku, location, long_form);
}

int inv_store_stock_get(inv_store_txn_t *t, int32_t p, const char *sku, const char *location, inv_stock_row_t *row) {
    skey_t k;
    MDB_val v;
    int lf, rc = check_read(t);
    if (rc || !row || (rc = stock_key(t, &k, p, sku, location, &lf)))
        return rc ? rc : EINVAL;
    if ((rc = rec_get(t, DB_STOCK, &k, lf, location, ROW_SIZE, &v)))
        return rc;
    return row_decode(&v, row);
}

int inv_store_stock_put(inv_store_txn_t *t, int32_t p, const char *sku, const char *location,
                        const inv_stock_row_t *row) {
    skey_t k;
    unsigned char v[ROW_SIZE];
    int lf, rc = check_write(t);
    if (rc || !row || (rc = stock_key(t, &k, p, sku, location, &lf)))
        return rc ? rc : EINVAL;
    row_encode(v, row);
    return rec_put(t, DB_STOCK, &k, lf, location, v, sizeof v);
}

int inv_store_stock_delete(inv_store_txn_t *t, int32_t p, const char *sku, const char *location) {
    skey_t k;
    int lf, rc = check_write(t);
    if (rc || (rc = stock_key(t, &k, p, sku, location, &lf)))
        return rc;
    return rec_del(t, DB_STOCK, &k, lf, location, ROW_SIZE);
}

/* Decodes a stock entry and hands it to cb. */
static int stock_visit(const MDB_val *key, const MDB_val *val, inv_store_stock_cb cb, void *opaque) {
    pair_buf_t buf;
    const char *sku, *loc;
    inv_stock_row_t row;
    int rc;
    if (key->mv_size < 4)
        return INV_STORE_FORMAT;
    if ((rc = pair_split(key, 4, val, ROW_SIZE, &buf, &sku, &loc)) || (rc = row_decode(val, &row)))
        return rc;
    return cb(opaque, key_partition(key), sku, loc, &row);
}

/* Calls cb for every entry of `prefix` from the cursor's SET_RANGE on it. */
static int cursor_visit_prefix(MDB_cursor *c, skey_t *prefix, inv_store_stock_cb cb, void *opaque) {
    MDB_val key = key_val(prefix), val;
    int rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(&key, prefix)) {
        if ((rc = stock_visit(&key, &val, cb, opaque)) != 0)
            return rc;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int inv_store_stock_foreach(inv_store_txn_t *t, const char *sku, const char *location, inv_store_stock_cb cb,
                            void *opaque) {
    int rc = check_read(t);
    if (rc || !sku || !cb)
        return rc ? rc : EINVAL;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_STOCK], &c)))
        return rc;
    /* Jump from partition to partition: the first key at or after P tells
     * the next partition present. */
    uint64_t p = 0;
    while (p <= INT32_MAX) {
        skey_t start, probe;
        key_init(&start, t->store->maxkey);
        key_add_be(&start, p, 4);
        MDB_val key = key_val(&start), val;
        if ((rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE)) != 0)
            break;
        if (key.mv_size < 4) {
            rc = INV_STORE_FORMAT;
            break;
        }
        int32_t q = key_partition(&key);
        int lf;
        if (location) {
            if ((rc = stock_key(t, &probe, q, sku, location, &lf)))
                break;
            key = key_val(&probe);
            rc = mdb_cursor_get(c, &key, &val, MDB_SET_KEY);
            if (rc == 0 && (!lf || tail_is(&val, ROW_SIZE, location)))
                rc = stock_visit(&key, &val, cb, opaque);
            else if (rc == 0 || rc == MDB_NOTFOUND)
                rc = 0;
        } else {
            if ((rc = stock_key(t, &probe, q, sku, "", &lf)))
                break;
            rc = cursor_visit_prefix(c, &probe, cb, opaque);
        }
        if (rc)
            break;
        p = (uint64_t)q + 1;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int inv_store_stock_scan(inv_store_txn_t *t, int32_t partition, inv_store_stock_cb cb, void *opaque) {
    int rc = check_read(t);
    if (rc || !cb)
        return rc ? rc : EINVAL;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_STOCK], &c)))
        return rc;
    skey_t prefix;
    key_init(&prefix, t->store->maxkey);
    if (partition >= 0)
        key_add_be(&prefix, (uint32_t)partition, 4);
    if (prefix.len) {
        rc = cursor_visit_prefix(c, &prefix, cb, opaque);
    } else {
        MDB_val key, val;
        rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
        while (rc == 0) {
            if ((rc = stock_visit(&key, &val, cb, opaque)) != 0)
                break;
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    mdb_cursor_close(c);
    return rc;
}

int inv_store_stock_scan_after(inv_store_txn_t *t, int32_t partition, const char *after_sku, inv_store_stock_cb cb,
                               void *opaque) {
    int rc = check_read(t);
    if (rc || partition < 0 || !cb)
        return rc ? rc : EINVAL;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_STOCK], &c)))
        return rc;
    skey_t prefix, from;
    key_init(&prefix, t->store->maxkey);
    key_add_be(&prefix, (uint32_t)partition, 4);
    from = prefix;
    /* every key of after_sku's rows is P after_sku \0 ...: P after_sku \1
     * sorts after them all and before the next SKU's (no control bytes) */
    if (after_sku && *after_sku && (key_add(&from, after_sku, strlen(after_sku)) || key_add(&from, "\1", 1))) {
        mdb_cursor_close(c);
        return INV_STORE_KEY_TOO_LONG;
    }
    MDB_val key = key_val(&from), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(&key, &prefix)) {
        if ((rc = stock_visit(&key, &val, cb, opaque)) != 0)
            break;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- dedup ----------------------------------------------------------------- */

int inv_store_dedup_seen_or_add(inv_store_txn_t *t, int32_t p, const void *movement_id, size_t n, int64_t ts_ms,
                                int *seen) {
    int rc = check_write(t);
    if (rc || p < 0 || !movement_id || !n || !seen)
        return rc ? rc : EINVAL;
    skey_t k, tk;
    key_init(&k, t->store->maxkey);
    key_init(&tk, t->store->maxkey);
    if ((rc = key_add_be(&k, (uint32_t)p, 4)) || (rc = key_add(&k, movement_id, n)) ||
        (rc = key_add_be(&tk, (uint32_t)p, 4)) || (rc = key_add_be(&tk, time_bias(ts_ms), 8)) ||
        (rc = key_add(&tk, movement_id, n)))
        return rc;
    unsigned char v[8];
    inv_put_le64(v, ts_ms);
    rc = txn_put(t, DB_DEDUP, &k, v, sizeof v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        *seen = 1;
        return 0;
    }
    if (rc || (rc = txn_put(t, DB_DEDUP_TIME, &tk, v, 0, 0)))
        return rc;
    *seen = 0;
    return 0;
}

size_t inv_store_dedup_entry_put(unsigned char *dst, const void *id, size_t id_len, int64_t applied_at_ms) {
    if (id_len > 0xFFFF)
        return 0;
    inv_put_be(dst, id_len, 2);
    memcpy(dst + 2, id, id_len);
    inv_put_be(dst + 2 + id_len, (uint64_t)applied_at_ms, 8);
    return id_len + INV_STORE_DEDUP_ENTRY_OVERHEAD;
}

int inv_store_dedup_entry_next(const unsigned char **cur, const unsigned char *end, const unsigned char **id,
                               size_t *id_len, int64_t *applied_at_ms) {
    size_t left = (size_t)(end - *cur);
    if (left == 0)
        return 0;
    if (left < 2)
        return INV_STORE_FORMAT;
    size_t n = (size_t)inv_get_be(*cur, 2);
    if (left - 2 < n + 8)
        return INV_STORE_FORMAT;
    *id = *cur + 2;
    *id_len = n;
    *applied_at_ms = (int64_t)inv_get_be(*cur + 2 + n, 8);
    *cur += n + INV_STORE_DEDUP_ENTRY_OVERHEAD;
    return 1;
}

/* Zigzag varints (see inv_store.h): at most 10 bytes. */
static size_t varint_put(unsigned char *p, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63), n = 0;
    while (z >= 0x80) {
        p[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    p[n++] = (unsigned char)z;
    return (size_t)n;
}

/* 0 with *v and *p moved past it; -1 for one cut short, longer than 10
 * bytes, beyond 64 bits or not in its shortest form. */
static int varint_get(const unsigned char **p, const unsigned char *end, int64_t *v) {
    uint64_t z = 0;
    for (int i = 0; i < 10 && *p + i < end; i++) {
        unsigned char b = (*p)[i];
        if (i == 9 && b > 1)
            return -1;
        z |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return -1; /* not the shortest form */
            *p += i + 1;
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return 0;
        }
    }
    return -1;
}

size_t inv_store_dedup_entry3_put(unsigned char *dst, const void *id, size_t id_len, int64_t applied_at_ms,
                                  const inv_store_dedup_history_t *h) {
    int kind = h ? h->kind : 0;
    if (kind < 0 || kind > 2)
        return 0;
    size_t n = inv_store_dedup_entry_put(dst, id, id_len, applied_at_ms);
    if (!n)
        return 0;
    unsigned char *p = dst + n, *start = p;
    *p++ = (unsigned char)kind;
    if (kind >= 1) {
        inv_put_be(p, h->row, 8);
        p += 8;
        p += varint_put(p, (int64_t)((uint64_t)applied_at_ms - (uint64_t)h->at_ms)); /* wraps, and back */
    }
    if (kind == 1)
        p += varint_put(p, h->delta);
    return n + (size_t)(p - start);
}

int inv_store_dedup_entry3_next(const unsigned char **cur, const unsigned char *end, const unsigned char **id,
                                size_t *id_len, int64_t *applied_at_ms, inv_store_dedup_history_t *h) {
    const unsigned char *p = *cur;
    int rc = inv_store_dedup_entry_next(&p, end, id, id_len, applied_at_ms);
    if (rc != 1)
        return rc;
    if (p >= end || *p > 2)
        return INV_STORE_FORMAT;
    *h = (inv_store_dedup_history_t){.kind = *p++};
    if (h->kind >= 1) {
        int64_t back;
        if (end - p < 8)
            return INV_STORE_FORMAT;
        h->row = inv_get_be(p, 8);
        p += 8;
        if (varint_get(&p, end, &back))
            return INV_STORE_FORMAT;
        h->at_ms = (int64_t)((uint64_t)*applied_at_ms - (uint64_t)back);
    }
    if (h->kind == 1 && varint_get(&p, end, &h->delta))
        return INV_STORE_FORMAT;
    *cur = p;
    return 1;
}

int inv_store_dedup_id_next(const char **cur, const char *end, char id[INV_STORE_MAX_KEY + 1]) {
    while (*cur < end) {
        const char *p = *cur, *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        *cur = nl ? nl + 1 : end;
        if (n > 0 && n <= INV_STORE_MAX_KEY) {
            memcpy(id, p, n);
            id[n] = '\0';
            return 1;
        }
    }
    return 0;
}

int inv_store_dedup_prune(inv_store_txn_t *t, int32_t p, int64_t older_than_ms, size_t max, size_t *pruned) {
    size_t n = 0;
    int rc = check_write(t);
    if (pruned)
        *pruned = 0;
    if (rc || p < 0)
        return rc ? rc : EINVAL;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_DEDUP_TIME], &c)))
        return rc;
    skey_t prefix;
    key_init(&prefix, t->store->maxkey);
    key_add_be(&prefix, (uint32_t)p, 4);
    MDB_val key = key_val(&prefix), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(&key, &prefix) && (max == 0 || n < max)) {
        if (key.mv_size < 12) {
            rc = INV_STORE_FORMAT;
            break;
        }
        if (time_unbias(inv_get_be((const unsigned char *)key.mv_data + 4, 8)) >= older_than_ms)
            break;
        skey_t id;
        key_init(&id, t->store->maxkey);
        key_add_be(&id, (uint32_t)p, 4);
        if ((rc = key_add(&id, (const char *)key.mv_data + 12, key.mv_size - 12)) || (rc = txn_del(t, DB_DEDUP, &id)))
            break;
        if ((rc = mdb_cursor_del(c, 0)) != 0) {
            rc = write_failed(t, rc);
            break;
        }
        n++;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT); /* the entry after the deleted one */
    }
    mdb_cursor_close(c);
    if (pruned)
        *pruned = n;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- per-partition meta -------------------------------------------------- */

static void partition_key(const inv_store_txn_t *t, skey_t *k, int32_t p) {
    key_init(k, t->store->maxkey);
    key_add_be(k, (uint32_t)p, 4);
}

int inv_store_meta_get(inv_store_txn_t *t, int32_t p, inv_store_meta_t *meta) {
    MDB_val v;
    int rc = txn_get_sized(t, DB_PMETA, partition_key, p, meta, META_SIZE, &v);
    if (rc)
        return rc;
    return triple_decode(&v, &meta->input_offset, &meta->changelog_offset, &meta->dedup_log_offset);
}

int inv_store_meta_put(inv_store_txn_t *t, int32_t p, const inv_store_meta_t *meta) {
    int rc = check_write(t);
    if (rc || p < 0 || !meta)
        return rc ? rc : EINVAL;
    skey_t k;
    unsigned char v[META_SIZE];
    partition_key(t, &k, p);
    triple_encode(v, meta->input_offset, meta->changelog_offset, meta->dedup_log_offset);
    return txn_put(t, DB_PMETA, &k, v, sizeof v, 0);
}

/* Calls each(ctx, key, value) for every record of db in key order, until
 * it returns non-zero (returned). 0 at the end, or an LMDB error. */
static int db_foreach(inv_store_txn_t *t, int db, int (*each)(void *ctx, const MDB_val *k, const MDB_val *v),
                      void *ctx) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &c);
    if (rc)
        return rc;
    MDB_val key, val;
    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
        if ((rc = each(ctx, &key, &val)))
            break;
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
    inv_store_meta_cb cb;
    inv_store_policy_cb policy_cb;
    void *opaque;
} foreach_ctx_t;

static int meta_each(void *ctx, const MDB_val *key, const MDB_val *val) {
    foreach_ctx_t *f = ctx;
    inv_store_meta_t m;
    if (key->mv_size != 4 || val->mv_size != META_SIZE)
        return INV_STORE_FORMAT;
    int rc = triple_decode(val, &m.input_offset, &m.changelog_offset, &m.dedup_log_offset);
    return rc ? rc : f->cb(f->opaque, key_partition(key), &m);
}

int inv_store_meta_foreach(inv_store_txn_t *t, inv_store_meta_cb cb, void *opaque) {
    int rc = check_read(t);
    if (rc || !cb)
        return rc ? rc : EINVAL;
    foreach_ctx_t f = {.cb = cb, .opaque = opaque};
    return db_foreach(t, DB_PMETA, meta_each, &f);
}

int inv_store_partition_drop(inv_store_txn_t *t, int32_t p) {
    static const int dbs[] = {DB_STOCK, DB_DEDUP, DB_DEDUP_TIME, DB_PMETA, DB_STATE, DB_HISTORY};
    int rc = check_write(t);
    if (rc || p < 0)
        return rc ? rc : EINVAL;
    skey_t prefix;
    partition_key(t, &prefix, p);
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0] && !rc; i++) {
        MDB_cursor *c;
        if ((rc = mdb_cursor_open(t->txn, t->store->dbi[dbs[i]], &c)))
            break;
        MDB_val key = key_val(&prefix), val;
        rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
        while (rc == 0 && has_prefix(&key, &prefix)) {
            if ((rc = mdb_cursor_del(c, 0)) != 0) {
                rc = write_failed(t, rc);
                break;
            }
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
        }
        mdb_cursor_close(c);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

/* ---- per-partition state table ------------------------------------------------ */

static int state_key(const inv_store_txn_t *t, skey_t *k, int32_t p, unsigned char kind, const void *key, size_t len) {
    if (p < 0 || (!key && len))
        return EINVAL;
    key_init(k, t->store->maxkey);
    key_add_be(k, (uint32_t)p, 4);
    key_add(k, &kind, 1);
    return key_add(k, key, len);
}

int inv_store_state_get(inv_store_txn_t *t, int32_t p, unsigned char kind, const void *key, size_t len, void *buf,
                        size_t cap, size_t *val_len) {
    skey_t k;
    MDB_val v;
    int rc = check_read(t);
    if (rc || (!buf && cap) || !val_len || (rc = state_key(t, &k, p, kind, key, len)))
        return rc ? rc : EINVAL;
    if ((rc = txn_get(t, DB_STATE, &k, &v)))
        return rc;
    *val_len = v.mv_size;
    if (v.mv_size > cap)
        return INV_STORE_FORMAT;
    memcpy(buf, v.mv_data, v.mv_size);
    return 0;
}

int inv_store_state_put(inv_store_txn_t *t, int32_t p, unsigned char kind, const void *key, size_t len, const void *val,
                        size_t val_len) {
    skey_t k;
    int rc = check_write(t);
    if (rc || (!val && val_len) || (rc = state_key(t, &k, p, kind, key, len)))
        return rc ? rc : EINVAL;
    return txn_put(t, DB_STATE, &k, (void *)val, val_len, 0);
}

int inv_store_state_delete(inv_store_txn_t *t, int32_t p, unsigned char kind, const void *key, size_t len) {
    skey_t k;
    int rc = check_write(t);
    if (rc || (rc = state_key(t, &k, p, kind, key, len)))
        return rc;
    return txn_del(t, DB_STATE, &k);
}

/* Visits the records of (p, kind) from the first key >= start (start_len
 * bytes after partition and kind) while their key starts with the first
 * prefix_len bytes of start. */
static int state_walk(inv_store_txn_t *t, int32_t p, unsigned char kind, const void *start, size_t start_len,
                      size_t prefix_len, inv_store_state_cb cb, void *opaque) {
    skey_t k;
    int rc = check_read(t);
    if (rc || !cb || (rc = state_key(t, &k, p, kind, start, start_len)))
        return rc ? rc : EINVAL;
    skey_t prefix = k;
    prefix.len = 5 + prefix_len;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_STATE], &c)))
        return rc;
    MDB_val key = key_val(&k), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(&key, &prefix)) {
        /* copies: the callback may write to the txn, which may move pages */
        unsigned char kb[INV_STORE_MAX_KEY];
        size_t kn = key.mv_size - 5;
        memcpy(kb, (const unsigned char *)key.mv_data + 5, kn);
        unsigned char small[64];
        void *vb = val.mv_size <= sizeof small ? small : malloc(val.mv_size);
        if (!vb) {
            rc = ENOMEM;
            break;
        }
        memcpy(vb, val.mv_data, val.mv_size);
        size_t vn = val.mv_size;
        rc = cb(opaque, kb, kn, vb, vn);
        if (vb != small)
            free(vb);
        if (rc)
            break;
        /* the callback may have changed the table: seek past this key again */
        key = (MDB_val){kn + 5, NULL};
        unsigned char again[INV_STORE_MAX_KEY];
        memcpy(again, k.b, 5);
        memcpy(again + 5, kb, kn);
        key.mv_data = again;
        rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
        if (rc == 0 && key.mv_size == kn + 5 && memcmp(key.mv_data, again, kn + 5) == 0)
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int inv_store_state_scan(inv_store_txn_t *t, int32_t p, unsigned char kind, const void *prefix, size_t len,
                         inv_store_state_cb cb, void *opaque) {
    return state_walk(t, p, kind, prefix, len, len, cb, opaque);
}

/* ---- count history ------------------------------------------------------------ */

static void hist_key(const inv_store_txn_t *t, skey_t *k, int32_t p, uint64_t row) {
    key_init(k, t->store->maxkey);
    key_add_be(k, (uint32_t)p, 4);
    key_add_be(k, row, 8);
}

static int64_t hist_at(const MDB_val *v) { return time_unbias(inv_get_be(v->mv_data, 8)); }
static int64_t hist_delta(const MDB_val *v) { return inv_get_le64((const unsigned char *)v->mv_data + 16); }

int inv_store_history_put(inv_store_txn_t *t, int32_t p, uint64_t row, int64_t at_ms, uint64_t uniq, int64_t delta) {
    int rc = check_write(t);
    if (rc || p < 0)
        return rc ? rc : EINVAL;
    skey_t k;
    hist_key(t, &k, p, row);
    unsigned char v[HIST_VALUE];
    inv_put_be(v, time_bias(at_ms), 8);
    inv_put_be(v + 8, uniq, 8);
    inv_put_le64(v + 16, delta);
    rc = txn_put(t, DB_HISTORY, &k, v, sizeof v, MDB_NODUPDATA);
    return rc == MDB_KEYEXIST ? 0 : rc; /* the same change again: kept once */
}

int inv_store_history_put_many(inv_store_txn_t *t, const inv_store_history_entry_t *e, size_t n) {
    int rc = check_write(t);
    if (rc || (!e && n))
        return rc ? rc : EINVAL;
    MDB_cursor *c;
    if (n == 0 || (rc = mdb_cursor_open(t->txn, t->store->dbi[DB_HISTORY], &c)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        if (e[i].partition < 0) {
            rc = EINVAL;
            break;
        }
        skey_t k;
        hist_key(t, &k, e[i].partition, e[i].row);
        unsigned char v[HIST_VALUE];
        inv_put_be(v, time_bias(e[i].at_ms), 8);
        inv_put_be(v + 8, e[i].uniq, 8);
        inv_put_le64(v + 16, e[i].delta);
        MDB_val key = key_val(&k), val = {sizeof v, v};
        rc = mdb_cursor_put(c, &key, &val, MDB_NODUPDATA);
        if (rc == MDB_KEYEXIST)
            rc = 0;
        else if (rc)
            rc = write_failed(t, rc);
    }
    mdb_cursor_close(c);
    return rc;
}

int inv_store_history_after(inv_store_txn_t *t, int32_t p, uint64_t row, int64_t after_ms, int64_t *net,
                            int *has_newest, int64_t *newest_ms) {
    int rc = check_read(t);
    if (rc || p < 0 || !net || !has_newest || !newest_ms)
        return rc ? rc : EINVAL;
    *net = 0;
    *has_newest = 0;
    skey_t k;
    hist_key(t, &k, p, row);
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_HISTORY], &c)))
        return rc;
    MDB_val key = key_val(&k), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET);
    if (rc == 0 && (rc = mdb_cursor_get(c, &key, &val, MDB_LAST_DUP)) == 0) {
        *has_newest = 1;
        *newest_ms = hist_at(&val);
        /* from the first change after after_ms to the last */
        unsigned char from[HIST_VALUE] = {0};
        if (after_ms == INT64_MAX) {
            rc = MDB_NOTFOUND;
        } else {
            inv_put_be(from, time_bias(after_ms + 1), 8);
            MDB_val fv = {sizeof from, from};
            key = key_val(&k);
            rc = mdb_cursor_get(c, &key, &fv, MDB_GET_BOTH_RANGE);
            val = fv;
        }
        while (rc == 0) {
            if (val.mv_size != HIST_VALUE || __builtin_add_overflow(*net, hist_delta(&val), net)) {
                rc = INV_STORE_FORMAT;
                break;
            }
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT_DUP);
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Deletes the duplicates of key k placed before `before` (at most max; 0:
 * no limit), oldest first. Each step seeks the key's first duplicate
 * afresh: no reliance on where a delete leaves a DUPSORT cursor. *dropped
 * grows. */
static int hist_drop_before(inv_store_txn_t *t, MDB_cursor *c, skey_t *k, int64_t before, size_t max, size_t *dropped) {
    int rc = 0;
    for (size_t n = 0; !max || n < max; n++) {
        MDB_val key = key_val(k), val;
        if ((rc = mdb_cursor_get(c, &key, &val, MDB_SET)) != 0 ||
            (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST_DUP)) != 0)
            break;
        if (hist_at(&val) >= before)
            break;
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            return write_failed(t, rc);
        ++*dropped;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int inv_store_history_drop_through(inv_store_txn_t *t, int32_t p, uint64_t row, int64_t upto_ms, size_t *dropped) {
    int rc = check_write(t);
    if (rc || p < 0)
        return rc ? rc : EINVAL;
    size_t n = 0;
    skey_t k;
    hist_key(t, &k, p, row);
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_HISTORY], &c)))
        return rc;
    rc = hist_drop_before(t, c, &k, upto_ms == INT64_MAX ? INT64_MAX : upto_ms + 1, 0, &n);
    if (upto_ms == INT64_MAX && rc == 0) { /* everything: the last one too */
        MDB_val key = key_val(&k), val;
        if ((rc = mdb_cursor_get(c, &key, &val, MDB_SET)) == 0 && (rc = mdb_cursor_del(c, MDB_NODUPDATA)) != 0)
            rc = write_failed(t, rc);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    mdb_cursor_close(c);
    if (dropped)
        *dropped = n;
    return rc;
}

int inv_store_history_sweep(inv_store_txn_t *t, int32_t p, int64_t window_ms, uint64_t *resume_row, size_t max,
                            size_t *dropped) {
    int rc = check_write(t);
    if (rc || p < 0 || !resume_row)
        return rc ? rc : EINVAL;
    size_t n = 0, rows = 0;
    int at_end = 1;
    skey_t k;
    hist_key(t, &k, p, *resume_row);
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_HISTORY], &c)))
        return rc;
    MDB_val key = key_val(&k), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size == 12 && (int32_t)inv_get_be(key.mv_data, 4) == p) {
        uint64_t row = inv_get_be((const unsigned char *)key.mv_data + 4, 8);
        if (rows++ >= max) { /* resume at this row next time */
            *resume_row = row;
            at_end = 0;
            break;
        }
        if ((rc = mdb_cursor_get(c, &key, &val, MDB_LAST_DUP)) != 0)
            break;
        int64_t bound;
        if (__builtin_sub_overflow(hist_at(&val), window_ms, &bound))
            bound = INT64_MIN;
        hist_key(t, &k, p, row);
        if ((rc = hist_drop_before(t, c, &k, bound, 0, &n)) != 0 || row == UINT64_MAX)
            break;
        hist_key(t, &k, p, row + 1); /* the next row */
        key = key_val(&k);
        rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && at_end)
        *resume_row = 0; /* the end: from the start next time */
    mdb_cursor_close(c);
    if (dropped)
        *dropped = n;
    return rc;
}

int inv_store_history_size(inv_store_txn_t *t, int32_t p, uint64_t *rows, uint64_t *records) {
    int rc = check_read(t);
    if (rc || p < 0 || !rows || !records)
        return rc ? rc : EINVAL;
    *rows = *records = 0;
    skey_t k;
    partition_key(t, &k, p);
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_HISTORY], &c)))
        return rc;
    MDB_val key = key_val(&k), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(&key, &k)) {
        size_t count;
        if ((rc = mdb_cursor_count(c, &count)) != 0)
            break;
        ++*rows;
        *records += count;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT_NODUP);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- policies ---------------------------------------------------------------- */

static int policy_key(const inv_store_txn_t *t, skey_t *k, const char *sku, const char *location, int *long_form) {
    if (!sku || !location)
        return EINVAL;
    key_init(k, t->store->maxkey);
    return key_pair(k, sku, location, long_form);
}

int inv_store_policy_get(inv_store_txn_t *t, const char *sku, const char *location, inv_rules_policy_t *pol) {
    skey_t k;
    MDB_val v;
    int lf, rc = check_read(t);
    if (rc || !pol || (rc = policy_key(t, &k, sku, location, &lf)))
        return rc ? rc : EINVAL;
    if ((rc = rec_get(t, DB_POLICY, &k, lf, location, POLICY_SIZE, &v)))
        return rc;
    return triple_decode(&v, &pol->reorder_point, &pol->reorder_quantity, &pol->safety_stock);
}

int inv_store_policy_put(inv_store_txn_t *t, const char *sku, const char *location, const inv_rules_policy_t *pol) {
    skey_t k;
    unsigned char v[POLICY_SIZE];
    int lf, rc = check_write(t);
    if (rc || !pol || (rc = policy_key(t, &k, sku, location, &lf)))
        return rc ? rc : EINVAL;
    triple_encode(v, pol->reorder_point, pol->reorder_quantity, pol->safety_stock);
    return rec_put(t, DB_POLICY, &k, lf, location, v, sizeof v);
}

int inv_store_policy_delete(inv_store_txn_t *t, const char *sku, const char *location) {
    skey_t k;
    int lf, rc = check_write(t);
    if (rc || (rc = policy_key(t, &k, sku, location, &lf)))
        return rc;
    return rec_del(t, DB_POLICY, &k, lf, location, POLICY_SIZE);
}

int inv_store_policy_lookup(inv_store_txn_t *t, const char *sku, const char *location, const inv_rules_policy_t *deflt,
                            inv_rules_policy_t *effective, int64_t *network_threshold) {
    if (!deflt || !effective || !network_threshold || !location)
        return EINVAL;
    inv_rules_policy_t loc, star;
    int has_loc = 0, has_star = 0;
    int rc = strcmp(location, "*") == 0 ? MDB_NOTFOUND : inv_store_policy_get(t, sku, location, &loc);
    if (rc == 0)
        has_loc = 1;
    else if (rc != MDB_NOTFOUND && rc != INV_STORE_KEY_COLLISION) /* a pair that can have no policy */
        return rc;
    rc = inv_store_policy_get(t, sku, "*", &star);
    if (rc == 0)
        has_star = 1;
    else if (rc != MDB_NOTFOUND)
        return rc;
    inv_rules_policy_resolve(has_loc ? &loc : NULL, has_star ? &star : NULL, deflt, effective, network_threshold);
    return 0;
}

static int policy_each(void *ctx, const MDB_val *key, const MDB_val *val) {
    foreach_ctx_t *f = ctx;
    pair_buf_t buf;
    const char *sku, *loc;
    inv_rules_policy_t pol;
    int rc = pair_split(key, 0, val, POLICY_SIZE, &buf, &sku, &loc);
    if (!rc)
        rc = triple_decode(val, &pol.reorder_point, &pol.reorder_quantity, &pol.safety_stock);
    return rc ? rc : f->policy_cb(f->opaque, sku, loc, &pol);
}

int inv_store_policy_foreach(inv_store_txn_t *t, inv_store_policy_cb cb, void *opaque) {
    int rc = check_read(t);
    if (rc || !cb)
        return rc ? rc : EINVAL;
    foreach_ctx_t f = {.policy_cb = cb, .opaque = opaque};
    return db_foreach(t, DB_POLICY, policy_each, &f);
}

static void policy_offset_key(const inv_store_txn_t *t, skey_t *k, int32_t p) {
    key_init(k, t->store->maxkey);
    key_add(k, KEY_POLICY_OFFSET, sizeof KEY_POLICY_OFFSET - 1);
    key_add_be(k, (uint32_t)p, 4);
}

int inv_store_policy_offset_get(inv_store_txn_t *t, int32_t p, int64_t *next_offset) {
    MDB_val v;
    int rc = txn_get_sized(t, DB_GLOBAL, policy_offset_key, p, next_offset, 8, &v);
    if (rc)
        return rc;
    *next_offset = inv_get_le64(v.mv_data);
    return 0;
}

int inv_store_policy_offset_put(inv_store_txn_t *t, int32_t p, int64_t next_offset) {
    int rc = check_write(t);
    if (rc || p < 0)
        return rc ? rc : EINVAL;
    skey_t k;
    unsigned char v[8];
    policy_offset_key(t, &k, p);
    inv_put_le64(v, next_offset);
    return txn_put(t, DB_GLOBAL, &k, v, sizeof v, 0);
}

/* ---- channel table (global) ----------------------------------------------------- */

static int channel_key(const inv_store_txn_t *t, skey_t *k, const char *channel, const char *location, int *long_form) {
    if (!channel || !location)
        return EINVAL;
    key_init(k, t->store->maxkey);
    key_add(k, KEY_CHANNEL, sizeof KEY_CHANNEL);
    return key_pair(k, channel, location, long_form);
}

int inv_store_channel_put(inv_store_txn_t *t, const char *channel, const char *location, int64_t buffer) {
    skey_t k;
    unsigned char v[CHANNEL_SIZE] = {REC_FORMAT};
    int lf, rc = check_write(t);
    if (rc || (rc = channel_key(t, &k, channel, location, &lf)))
        return rc;
    inv_put_le64(v + 8, buffer);
    return rec_put(t, DB_GLOBAL, &k, lf, location, v, sizeof v);
}

int inv_store_channel_delete(inv_store_txn_t *t, const char *channel, const char *location) {
    skey_t k;
    int lf, rc = check_write(t);
    if (rc || (rc = channel_key(t, &k, channel, location, &lf)))
        return rc;
    return rec_del(t, DB_GLOBAL, &k, lf, location, CHANNEL_SIZE);
}

int inv_store_channel_foreach(inv_store_txn_t *t, inv_store_channel_cb cb, void *opaque) {
    int rc = check_read(t);
    if (rc || !cb)
        return rc ? rc : EINVAL;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->store->dbi[DB_GLOBAL], &c)))
        return rc;
    skey_t prefix;
    key_init(&prefix, t->store->maxkey);
    key_add(&prefix, KEY_CHANNEL, sizeof KEY_CHANNEL);
    MDB_val key = key_val(&prefix), val;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(&key, &prefix)) {
        pair_buf_t buf;
        const char *channel, *loc;
        if ((rc = pair_split(&key, prefix.len, &val, CHANNEL_SIZE, &buf, &channel, &loc)))
            break;
        if (((const unsigned char *)val.mv_data)[0] != REC_FORMAT) {
            rc = INV_STORE_FORMAT;
            break;
        }
        if ((rc = cb(opaque, channel, loc, inv_get_le64((const unsigned char *)val.mv_data + 8))))
            break;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static void channel_offset_key(const inv_store_txn_t *t, skey_t *k, int32_t p) {
    key_init(k, t->store->maxkey);
    key_add(k, KEY_CHANNEL_OFFSET, sizeof KEY_CHANNEL_OFFSET - 1);
    key_add_be(k, (uint32_t)p, 4);
}

int inv_store_channel_offset_get(inv_store_txn_t *t, int32_t p, int64_t *next_offset) {
    MDB_val v;
    int rc = txn_get_sized(t, DB_GLOBAL, channel_offset_key, p, next_offset, 8, &v);
    if (rc)
        return rc;
    *next_offset = inv_get_le64(v.mv_data);
    return 0;
}

int inv_store_channel_offset_put(inv_store_txn_t *t, int32_t p, int64_t next_offset) {
    int rc = check_write(t);
    if (rc || p < 0)
        return rc ? rc : EINVAL;
    skey_t k;
    unsigned char v[8];
    channel_offset_key(t, &k, p);
    inv_put_le64(v, next_offset);
    return txn_put(t, DB_GLOBAL, &k, v, sizeof v, 0);
}

/* ---- errors ----------------------------------------------------------------- */

const char *inv_store_strerror(int err) {
    switch (err) {
    case INV_STORE_MAP_FULL: return "LMDB map full: abort the batch and retry (the map grows at the next begin)";
    case INV_STORE_LOCKED: return "state dir is open for writing by another process";
    case INV_STORE_FORMAT: return "state has an unknown format or is damaged: rebuild it";
    case INV_STORE_KEY_TOO_LONG: return "key too long for LMDB (sku + location or movement id)";
    case INV_STORE_READONLY: return "write on a read-only transaction or store";
    case INV_STORE_TXN_FAILED: return "transaction already failed: abort it";
    case INV_STORE_KEY_COLLISION: return "two long (sku, location) keys share a hash: this row cannot be stored";
    }
    return mdb_strerror(err); /* LMDB codes, errno values and 0 */
}

const char *inv_store_errname(int err) {
    switch (err) {
    case 0: return "OK";
    case INV_STORE_MAP_FULL: return "INV_STORE_MAP_FULL";
    case INV_STORE_LOCKED: return "INV_STORE_LOCKED";
    case INV_STORE_FORMAT: return "INV_STORE_FORMAT";
    case INV_STORE_KEY_TOO_LONG: return "INV_STORE_KEY_TOO_LONG";
    case INV_STORE_READONLY: return "INV_STORE_READONLY";
    case INV_STORE_TXN_FAILED: return "INV_STORE_TXN_FAILED";
    case INV_STORE_KEY_COLLISION: return "INV_STORE_KEY_COLLISION";
    case MDB_KEYEXIST: return "MDB_KEYEXIST";
    case MDB_NOTFOUND: return "MDB_NOTFOUND";
    case MDB_PAGE_NOTFOUND: return "MDB_PAGE_NOTFOUND";
    case MDB_CORRUPTED: return "MDB_CORRUPTED";
    case MDB_PANIC: return "MDB_PANIC";
    case MDB_VERSION_MISMATCH: return "MDB_VERSION_MISMATCH";
    case MDB_INVALID: return "MDB_INVALID";
    case MDB_MAP_FULL: return "MDB_MAP_FULL";
    case MDB_DBS_FULL: return "MDB_DBS_FULL";
    case MDB_READERS_FULL: return "MDB_READERS_FULL";
    case MDB_TLS_FULL: return "MDB_TLS_FULL";
    case MDB_TXN_FULL: return "MDB_TXN_FULL";
    case MDB_CURSOR_FULL: return "MDB_CURSOR_FULL";
    case MDB_PAGE_FULL: return "MDB_PAGE_FULL";
    case MDB_MAP_RESIZED: return "MDB_MAP_RESIZED";
    case MDB_INCOMPATIBLE: return "MDB_INCOMPATIBLE";
    case MDB_BAD_RSLOT: return "MDB_BAD_RSLOT";
    case MDB_BAD_TXN: return "MDB_BAD_TXN";
    case MDB_BAD_VALSIZE: return "MDB_BAD_VALSIZE";
    case MDB_BAD_DBI: return "MDB_BAD_DBI";
    }
    const char *name = err > 0 ? strerrorname_np(err) : NULL;
    return name ? name : "unknown";
}
