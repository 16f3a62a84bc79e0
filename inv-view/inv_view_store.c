#include "inv_view_store.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_KEY 511

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

size_t view_key(char *buf, const char *a, size_t a_len, const char *b, size_t b_len) {
    if (a_len > 256)
        a_len = 256; /* the codec's bound: never longer */
    memcpy(buf, a, a_len);
    buf[a_len] = '\0';
    size_t room = MAX_KEY - a_len - 1;
    if (b_len <= room) {
        memcpy(buf + a_len + 1, b, b_len);
        return a_len + 1 + b_len;
    }
    /* prefix, 0x01, hash: unique in practice, never equal to a short key */
    size_t keep = room - 9;
    memcpy(buf + a_len + 1, b, keep);
    buf[a_len + 1 + keep] = '\x01';
    uint64_t h = fnv1a(b, b_len);
    for (int i = 0; i < 8; i++)
        buf[a_len + 2 + keep + (size_t)i] = (char)(h >> (56 - 8 * i));
    return MAX_KEY;
}

static void be64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

int view_store_open(view_store_t *s, const char *dir, int64_t map_mb, int64_t per_sku, int64_t history) {
    memset(s, 0, sizeof(*s));
    s->per_sku = per_sku;
    s->history = history;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return errno;
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, 8);
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, (size_t)map_mb << 20);
    if (!rc)
        rc = mdb_env_set_maxreaders(s->env, 256);
    /* The view is rebuilt from Kafka after an OS crash; a process crash
     * loses no committed txn. */
    if (!rc)
        rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_NOSYNC | MDB_NORDAHEAD, 0644);
    MDB_txn *t = NULL;
    if (!rc)
        rc = mdb_txn_begin(s->env, NULL, 0, &t);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"stock", &s->stock},       {"avail", &s->avail},           {"shortages", &s->shortages},
               {"reorders", &s->reorders}, {"sku_events", &s->sku_events}, {"short_now", &s->short_now},
               {"meta", &s->meta}};
    for (size_t i = 0; !rc && i < sizeof(dbs) / sizeof(dbs[0]); i++)
        rc = mdb_dbi_open(t, dbs[i].name, MDB_CREATE, dbs[i].dbi);
    if (!rc) {
        MDB_val k = {3, "seq"}, v;
        if (mdb_get(t, s->meta, &k, &v) == 0 && v.mv_size == sizeof(uint64_t))
            memcpy(&s->seq, v.mv_data, sizeof(uint64_t));
        rc = mdb_txn_commit(t);
        t = NULL;
    }
    if (t)
        mdb_txn_abort(t);
    if (rc && s->env) {
        mdb_env_close(s->env);
        s->env = NULL;
    }
    return rc;
}

void view_store_close(view_store_t *s) {
    if (s->env)
        mdb_env_close(s->env);
    s->env = NULL;
}

static size_t offset_key(unsigned char *k, int topic, int32_t partition) {
    k[0] = 'o';
    k[1] = (unsigned char)topic;
    for (int i = 0; i < 4; i++)
        k[2 + i] = (unsigned char)((uint32_t)partition >> (24 - 8 * i));
    return 6;
}

int view_store_offset_get(MDB_txn *t, const view_store_t *s, int topic, int32_t partition, int64_t *next) {
    unsigned char kb[6];
    MDB_val k = {offset_key(kb, topic, partition), kb}, v;
    int rc = mdb_get(t, s->meta, &k, &v);
    if (!rc && v.mv_size == sizeof(int64_t))
        memcpy(next, v.mv_data, sizeof(int64_t));
    else if (!rc)
        rc = MDB_NOTFOUND;
    return rc;
}

int view_store_offset_put(MDB_txn *t, const view_store_t *s, int topic, int32_t partition, int64_t next) {
    unsigned char kb[6];
    MDB_val k = {offset_key(kb, topic, partition), kb}, v = {sizeof(next), &next};
    return mdb_put(t, s->meta, &k, &v, 0);
}

int64_t view_store_version(MDB_txn *t, const view_store_t *s) {
    MDB_cursor *c;
    int64_t sum = 0;
    if (mdb_cursor_open(t, s->meta, &c) != 0)
        return 0;
    MDB_val k = {1, "o"}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (!rc && k.mv_size == 6 && ((const char *)k.mv_data)[0] == 'o') {
        int64_t o;
        if (v.mv_size == sizeof(o)) {
            memcpy(&o, v.mv_data, sizeof(o));
            sum += o;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return sum;
}

int view_store_put(MDB_txn *t, MDB_dbi dbi, const char *key, size_t key_len, const char *json, size_t len) {
    MDB_val k = {key_len, (void *)key}, v = {len, (void *)json};
    return mdb_put(t, dbi, &k, &v, 0);
}

int view_store_del(MDB_txn *t, MDB_dbi dbi, const char *key, size_t key_len) {
    MDB_val k = {key_len, (void *)key};
    int rc = mdb_del(t, dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int view_store_short_set(MDB_txn *t, const view_store_t *s, const char *sku, size_t sku_len, const char *loc,
                         size_t loc_len, const char *state) {
    char key[MAX_KEY + 1];
    size_t n = view_key(key, loc, loc_len, sku, sku_len);
    if (!state || !strcmp(state, "none") || !strcmp(state, "restored"))
        return view_store_del(t, s->short_now, key, n);
    return view_store_put(t, s->short_now, key, n, state, strlen(state));
}

int view_store_channel_add(MDB_txn *t, const view_store_t *s, const char *channel, int64_t d_units, int64_t d_skus) {
    char key[MAX_KEY + 1];
    size_t n = strlen(channel);
    if (n > 300)
        return 0;
    key[0] = 'c';
    memcpy(key + 1, channel, n);
    MDB_val k = {n + 1, key}, v;
    int64_t tot[2] = {0, 0};
    if (mdb_get(t, s->meta, &k, &v) == 0 && v.mv_size == sizeof(tot))
        memcpy(tot, v.mv_data, sizeof(tot));
    tot[0] += d_units;
    tot[1] += d_skus;
    v.mv_size = sizeof(tot);
    v.mv_data = tot;
    return mdb_put(t, s->meta, &k, &v, 0);
}

uint64_t view_store_next_seq(view_store_t *s) { return s->seq + 1; }

/* Deletes the oldest entries of dbi past `keep` (dbi ordered by age). */
static int prune_table(MDB_txn *t, MDB_dbi dbi, int64_t keep) {
    uint64_t n = view_store_count(t, dbi);
    if ((int64_t)n <= keep)
        return 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, dbi, &c);
    MDB_val k, v;
    for (uint64_t i = 0; !rc && i < n - (uint64_t)keep; i++) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        if (!rc)
            rc = mdb_cursor_del(c, 0);
    }
    mdb_cursor_close(c);
    return rc;
}

int view_store_event_add(MDB_txn *t, view_store_t *s, int kind, const char *sku, size_t sku_len, uint64_t seq,
                         const char *json, size_t len) {
    unsigned char q[8];
    be64(q, seq);
    MDB_dbi dbi = kind == VIEW_KIND_SHORTAGE ? s->shortages : s->reorders;
    MDB_val k = {8, q}, v = {len, (void *)json};
    int rc = mdb_put(t, dbi, &k, &v, MDB_APPEND);
    if (!rc)
        rc = prune_table(t, dbi, s->history);
    /* per SKU: sku \0 K Q */
    char key[256 + 1 + 1 + 8];
    if (sku_len > 256)
        sku_len = 256;
    memcpy(key, sku, sku_len);
    key[sku_len] = '\0';
    key[sku_len + 1] = (char)kind;
    memcpy(key + sku_len + 2, q, 8);
    MDB_val sk = {sku_len + 10, key}, sv = {len, (void *)json};
    if (!rc)
        rc = mdb_put(t, s->sku_events, &sk, &sv, 0);
    if (!rc) {
        /* Count this SKU's events of this kind; drop the oldest past per_sku. */
        MDB_cursor *c;
        rc = mdb_cursor_open(t, s->sku_events, &c);
        if (rc)
            return rc;
        MDB_val ck = {sku_len + 2, key}, cv;
        int64_t count = 0;
        int r = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
        while (!r && ck.mv_size == sku_len + 10 && memcmp(ck.mv_data, key, sku_len + 2) == 0) {
            count++;
            r = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
        }
        for (int64_t extra = count - s->per_sku; !rc && extra > 0; extra--) {
            ck.mv_size = sku_len + 2;
            ck.mv_data = key;
            rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
            if (!rc)
                rc = mdb_cursor_del(c, 0);
        }
        mdb_cursor_close(c);
    }
    if (!rc) {
        s->seq = seq;
        MDB_val mk = {3, "seq"}, mv = {sizeof(seq), &seq};
        rc = mdb_put(t, s->meta, &mk, &mv, 0);
    }
    return rc;
}

uint64_t view_store_count(MDB_txn *t, MDB_dbi dbi) {
    MDB_stat st;
    return mdb_stat(t, dbi, &st) == 0 ? st.ms_entries : 0;
}
