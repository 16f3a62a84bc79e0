/* inv_view_api: the HTTP API, /healthz, /metrics and the dashboard's
 * assets. Every answer reads one LMDB read txn, so its rows and the
 * offsets it reports ("version", "offsets") are one consistent state.
 * docs/CONTRACT.md ("inv-view") is the reference of each route. */
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_parse.h"
#include "inv_time.h"
#include "inv_view.h"
#include "inv_view_assets.h"

#define JSON_TYPE "application/json"
#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000
#define SKU_RECENT 20 /* recent events per kind in /api/stock */

/* ---- answers ---- */

static int error(inv_http_response_t *resp, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int error(inv_http_response_t *resp, int status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return -1;
    resp->status = status;
    resp->content_type = JSON_TYPE;
    int rc = inv_http_response_printf(resp, "%s\n", s);
    free(s);
    return rc;
}

/* A JSON string of len bytes at s. */
static int append_str(inv_http_response_t *resp, const char *s, size_t len) {
    json_t *j = json_stringn(s, len);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!t)
        return inv_http_response_append(resp, "null", 4);
    int rc = inv_http_response_append(resp, t, strlen(t));
    free(t);
    return rc;
}

/* "version":V,"offsets":{...} of the state txn t reads. */
static int append_offsets(inv_http_response_t *resp, const view_t *v, MDB_txn *t) {
    static const char *const names[VIEW_T_COUNT] = {"stock", "availability", "shortages", "reorders"};
    int rc =
        inv_http_response_printf(resp, "\"version\":%lld,\"offsets\":{", (long long)view_store_version(t, &v->store));
    for (int i = 0; !rc && i < VIEW_T_COUNT; i++) {
        rc = inv_http_response_printf(resp, "%s\"%s\":[", i ? "," : "", names[i]);
        for (int32_t p = 0; !rc && p < v->t[i].partitions; p++) {
            int64_t next = 0;
            view_store_offset_get(t, &v->store, i, p, &next);
            rc = inv_http_response_printf(resp, "%s%lld", p ? "," : "", (long long)next);
        }
        if (!rc)
            rc = inv_http_response_append(resp, "]", 1);
    }
    return rc ? rc : inv_http_response_append(resp, "}", 1);
}

/* The query argument name: 0 (in out), ENOENT, 1 after answering 400, or -1. */
static int arg(const inv_http_request_t *req, inv_http_response_t *resp, const char *name, char *out, size_t size) {
    int rc = inv_http_request_arg(req, name, out, size);
    if (rc == EINVAL)
        return error(resp, 400, "%s: bad percent-encoding", name) ? -1 : 1;
    if (rc == ERANGE)
        return error(resp, 400, "%s: longer than %zu bytes", name, size - 1) ? -1 : 1;
    return rc == 0 || rc == ENOENT ? rc : -1;
}

/* limit=: 0 and *limit, or 1 after answering 400. */
static int limit_arg(const inv_http_request_t *req, inv_http_response_t *resp, int64_t *limit) {
    char buf[32];
    *limit = LIMIT_DEFAULT;
    int rc = arg(req, resp, "limit", buf, sizeof(buf));
    if (rc == ENOENT)
        return 0;
    if (rc)
        return rc;
    if (inv_parse_int64(buf, 1, LIMIT_MAX, limit) != 0)
        return error(resp, 400, "limit: \"%s\" is not an integer from 1 to %d", buf, LIMIT_MAX) ? -1 : 1;
    return 0;
}

static int begin(const view_t *v, MDB_txn **t) { return mdb_txn_begin(v->store.env, NULL, MDB_RDONLY, t); }

/* A SKU from the path: 0, or 1 after answering 400. */
static int sku_ok(const inv_http_request_t *req, inv_http_response_t *resp) {
    if (req->rest_len == 0)
        return error(resp, 400, "sku: empty, expected /api/.../<sku> (percent-encoded)") ? -1 : 1;
    if (req->rest_len > 256)
        return error(resp, 400, "sku: %zu bytes, expected at most 256", req->rest_len) ? -1 : 1;
    return 0;
}

/* Appends the values of dbi whose keys start with prefix[0..plen) as JSON
 * array items; *count gets how many. Skips those whose key `skip` says. */
static int append_prefixed(inv_http_response_t *resp, MDB_txn *t, MDB_dbi dbi, const char *prefix, size_t plen,
                           int network, int *count) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, dbi, &c);
    if (rc)
        return rc;
    MDB_val k = {plen, (void *)prefix}, val;
    int r = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
    while (!r && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
        int is_network = k.mv_size == plen + 1 && ((const char *)k.mv_data)[plen] == '*';
        if (network < 0 || network == is_network) {
            rc = inv_http_response_printf(resp, "%s%.*s", *count ? "," : "", (int)val.mv_size,
                                          (const char *)val.mv_data);
            if (rc)
                break;
            (*count)++;
        }
        r = mdb_cursor_get(c, &k, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc;
}

/* The newest `max` events of a SKU and kind, newest first. */
static int append_sku_events(inv_http_response_t *resp, MDB_txn *t, const view_t *v, const char *sku, size_t sku_len,
                             int kind, int max, int *count) {
    char lo[260], hi[260];
    memcpy(lo, sku, sku_len);
    lo[sku_len] = '\0';
    lo[sku_len + 1] = (char)kind;
    memcpy(hi, lo, sku_len + 2);
    hi[sku_len + 1] = (char)(kind + 1);
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, v->store.sku_events, &c);
    if (rc)
        return rc;
    MDB_val k = {sku_len + 2, hi}, val;
    int r = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
    r = r ? mdb_cursor_get(c, &k, &val, MDB_LAST) : mdb_cursor_get(c, &k, &val, MDB_PREV);
    int n = 0;
    while (!r && n < max && k.mv_size == sku_len + 10 && memcmp(k.mv_data, lo, sku_len + 2) == 0) {
        if ((rc = inv_http_response_printf(resp, "%s%.*s", n ? "," : "", (int)val.mv_size, (const char *)val.mv_data)))
            break;
        n++;
        r = mdb_cursor_get(c, &k, &val, MDB_PREV);
    }
    *count += n;
    mdb_cursor_close(c);
    return rc;
}

/* ---- routes ---- */

static int h_stock(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    view_t *v = opaque;
    int bad = sku_ok(req, resp);
    if (bad)
        return bad < 0 ? -1 : 0;
    MDB_txn *t;
    if (begin(v, &t))
        return -1;
    char prefix[260];
    memcpy(prefix, req->rest, req->rest_len);
    prefix[req->rest_len] = '\0';
    size_t plen = req->rest_len + 1;
    int n = 0, rows = 0;
    resp->content_type = JSON_TYPE;
    int rc = inv_http_response_append(resp, "{\"sku\":", 7);
    rc = rc ? rc : append_str(resp, req->rest, req->rest_len);
    rc = rc ? rc : inv_http_response_append(resp, ",\"locations\":[", 14);
    rc = rc ? rc : append_prefixed(resp, t, v->store.stock, prefix, plen, 0, &n);
    rows += n, n = 0;
    rc = rc ? rc : inv_http_response_append(resp, "],\"network\":", 12);
    size_t before = resp->body_len;
    rc = rc ? rc : append_prefixed(resp, t, v->store.stock, prefix, plen, 1, &n);
    if (!rc && !n)
        rc = inv_http_response_append(resp, "null", 4);
    (void)before;
    rows += n, n = 0;
    rc = rc ? rc : inv_http_response_append(resp, ",\"availability\":[", 17);
    rc = rc ? rc : append_prefixed(resp, t, v->store.avail, prefix, plen, -1, &n);
    rows += n, n = 0;
    rc = rc ? rc : inv_http_response_append(resp, "],\"recent_shortages\":[", 22);
    rc = rc ? rc : append_sku_events(resp, t, v, req->rest, req->rest_len, VIEW_KIND_SHORTAGE, SKU_RECENT, &n);
    rc = rc ? rc : inv_http_response_append(resp, "],\"recent_reorders\":[", 21);
    rc = rc ? rc : append_sku_events(resp, t, v, req->rest, req->rest_len, VIEW_KIND_REORDER, SKU_RECENT, &n);
    rows += n;
    rc = rc ? rc : inv_http_response_append(resp, "],", 2);
    rc = rc ? rc : append_offsets(resp, v, t);
    rc = rc ? rc : inv_http_response_append(resp, "}\n", 2);
    mdb_txn_abort(t);
    if (rc)
        return -1;
    if (!rows) {
        resp->body_len = 0;
        return error(resp, 404, "unknown sku");
    }
    return 0;
}

static int h_availability(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    view_t *v = opaque;
    int bad = sku_ok(req, resp);
    if (bad)
        return bad < 0 ? -1 : 0;
    char channel[300];
    int crc = arg(req, resp, "channel", channel, sizeof(channel));
    if (crc && crc != ENOENT)
        return crc < 0 ? -1 : 0;
    int has_channel = crc == 0;
    if (has_channel && !*channel)
        return error(resp, 400, "channel: empty");
    MDB_txn *t;
    if (begin(v, &t))
        return -1;
    char prefix[600];
    size_t plen;
    if (has_channel) {
        plen = view_key(prefix, req->rest, req->rest_len, channel, strlen(channel));
    } else {
        memcpy(prefix, req->rest, req->rest_len);
        prefix[req->rest_len] = '\0';
        plen = req->rest_len + 1;
    }
    int n = 0;
    resp->content_type = JSON_TYPE;
    int rc = inv_http_response_append(resp, "{\"sku\":", 7);
    rc = rc ? rc : append_str(resp, req->rest, req->rest_len);
    rc = rc ? rc : inv_http_response_append(resp, ",\"availability\":[", 17);
    if (has_channel) {
        MDB_val k = {plen, prefix}, val;
        if (!rc && mdb_get(t, v->store.avail, &k, &val) == 0) {
            rc = inv_http_response_append(resp, val.mv_data, val.mv_size);
            n = 1;
        }
    } else {
        rc = rc ? rc : append_prefixed(resp, t, v->store.avail, prefix, plen, -1, &n);
    }
    rc = rc ? rc : inv_http_response_append(resp, "],", 2);
    rc = rc ? rc : append_offsets(resp, v, t);
    rc = rc ? rc : inv_http_response_append(resp, "}\n", 2);
    int known = n;
    if (!known) {
        /* a SKU with stock rows but no availability row: known, empty */
        MDB_cursor *c;
        char sp[260];
        memcpy(sp, req->rest, req->rest_len);
        sp[req->rest_len] = '\0';
        MDB_val k = {req->rest_len + 1, sp}, val;
        if (mdb_cursor_open(t, v->store.stock, &c) == 0) {
            known = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE) == 0 && k.mv_size > req->rest_len &&
                    memcmp(k.mv_data, sp, req->rest_len + 1) == 0;
            mdb_cursor_close(c);
        }
    }
    mdb_txn_abort(t);
    if (rc)
        return -1;
    if (!known || (has_channel && !n)) {
        resp->body_len = 0;
        return has_channel && known ? error(resp, 404, "no availability for channel \"%s\"", channel)
                                    : error(resp, 404, "unknown sku");
    }
    return 0;
}

/* /api/shortages and /api/reorders: the history, newest first; with
 * since= (a seq, or an RFC 3339 time of occurred_at) oldest first after
 * it. */
static int history(const inv_http_request_t *req, inv_http_response_t *resp, view_t *v, int kind) {
    int64_t limit;
    int rc = limit_arg(req, resp, &limit);
    if (rc)
        return rc < 0 ? -1 : 0;
    char state[32] = "", location[300] = "", since[64] = "";
    int has_state = 0, has_loc = 0, has_since = 0;
    if ((rc = arg(req, resp, "state", state, sizeof(state))) == 0)
        has_state = 1;
    else if (rc != ENOENT)
        return rc < 0 ? -1 : 0;
    if ((rc = arg(req, resp, "location", location, sizeof(location))) == 0)
        has_loc = 1;
    else if (rc != ENOENT)
        return rc < 0 ? -1 : 0;
    if ((rc = arg(req, resp, "since", since, sizeof(since))) == 0)
        has_since = 1;
    else if (rc != ENOENT)
        return rc < 0 ? -1 : 0;
    if (has_state && kind == VIEW_KIND_SHORTAGE && strcmp(state, "low") && strcmp(state, "out_of_stock") &&
        strcmp(state, "restored"))
        return error(resp, 400, "state: \"%s\" is not one of low, out_of_stock, restored", state);
    if (has_loc && !*location)
        return error(resp, 400, "location: empty");
    int64_t since_seq = -1, since_ms = INT64_MIN;
    if (has_since && inv_parse_int64(since, 0, INT64_MAX, &since_seq) != 0 &&
        inv_time_parse_rfc3339(since, &since_ms) != 0)
        return error(resp, 400, "since: \"%s\" is neither a seq (integer >= 0) nor an RFC 3339 time", since);
    MDB_txn *t;
    if (begin(v, &t))
        return -1;
    MDB_cursor *c;
    if (mdb_cursor_open(t, kind == VIEW_KIND_SHORTAGE ? v->store.shortages : v->store.reorders, &c)) {
        mdb_txn_abort(t);
        return -1;
    }
    resp->content_type = JSON_TYPE;
    rc = inv_http_response_printf(resp, "{\"%s\":[", kind == VIEW_KIND_SHORTAGE ? "shortages" : "reorders");
    int forward = has_since;
    MDB_val k, val;
    int r;
    if (forward && since_seq >= 0) {
        unsigned char q[8];
        uint64_t from = (uint64_t)since_seq + 1;
        for (int i = 0; i < 8; i++)
            q[i] = (unsigned char)(from >> (56 - 8 * i));
        k.mv_size = 8;
        k.mv_data = q;
        r = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
    } else {
        r = mdb_cursor_get(c, &k, &val, forward ? MDB_FIRST : MDB_LAST);
    }
    int64_t n = 0;
    while (!rc && !r && n < limit) {
        int take = 1;
        if (has_state || has_loc || since_ms != INT64_MIN) {
            json_t *e = json_loadb(val.mv_data, val.mv_size, 0, NULL);
            const char *st = json_string_value(json_object_get(e, "state"));
            const char *loc = json_string_value(json_object_get(e, "location_id"));
            const char *at = json_string_value(json_object_get(e, "occurred_at"));
            int64_t ms = 0;
            if (has_state && (!st || strcmp(st, state)))
                take = 0;
            if (has_loc && (!loc || strcmp(loc, location)))
                take = 0;
            if (since_ms != INT64_MIN && (!at || inv_time_parse_rfc3339(at, &ms) != 0 || ms < since_ms))
                take = 0;
            json_decref(e);
        }
        if (take) {
            rc = inv_http_response_printf(resp, "%s%.*s", n ? "," : "", (int)val.mv_size, (const char *)val.mv_data);
            n++;
        }
        r = mdb_cursor_get(c, &k, &val, forward ? MDB_NEXT : MDB_PREV);
    }
    mdb_cursor_close(c);
    rc = rc ? rc : inv_http_response_append(resp, "],", 2);
    rc = rc ? rc : append_offsets(resp, v, t);
    rc = rc ? rc : inv_http_response_append(resp, "}\n", 2);
    mdb_txn_abort(t);
    return rc ? -1 : 0;
}

static int h_shortages(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    return history(req, resp, opaque, VIEW_KIND_SHORTAGE);
}

static int h_reorders(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    return history(req, resp, opaque, VIEW_KIND_REORDER);
}

static int h_skus(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    view_t *v = opaque;
    int64_t limit;
    int rc = limit_arg(req, resp, &limit);
    if (rc)
        return rc < 0 ? -1 : 0;
    char prefix[260] = "";
    rc = arg(req, resp, "prefix", prefix, sizeof(prefix));
    if (rc && rc != ENOENT)
        return rc < 0 ? -1 : 0;
    size_t plen = strlen(prefix);
    MDB_txn *t;
    MDB_cursor *c;
    if (begin(v, &t))
        return -1;
    if (mdb_cursor_open(t, v->store.stock, &c)) {
        mdb_txn_abort(t);
        return -1;
    }
    resp->content_type = JSON_TYPE;
    rc = inv_http_response_append(resp, "{\"skus\":[", 9);
    char seek[260];
    memcpy(seek, prefix, plen);
    MDB_val k = {plen, seek}, val;
    int r = plen ? mdb_cursor_get(c, &k, &val, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &val, MDB_FIRST);
    int64_t n = 0;
    while (!rc && !r && n < limit && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
        const char *key = k.mv_data;
        size_t sku_len = strnlen(key, k.mv_size);
        if (sku_len >= sizeof(seek) - 1)
            break;
        if (n)
            rc = inv_http_response_append(resp, ",", 1);
        rc = rc ? rc : append_str(resp, key, sku_len);
        n++;
        /* the next SKU: every key of this one is sku \0 ..., and no SKU
         * holds a control character, so sku \1 is past them all */
        memcpy(seek, key, sku_len);
        seek[sku_len] = '\x01';
        k.mv_size = sku_len + 1;
        k.mv_data = seek;
        r = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    rc = rc ? rc : inv_http_response_append(resp, "],", 2);
    rc = rc ? rc : append_offsets(resp, v, t);
    rc = rc ? rc : inv_http_response_append(resp, "}\n", 2);
    mdb_txn_abort(t);
    return rc ? -1 : 0;
}

static int h_overview(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    view_t *v = opaque;
    MDB_txn *t;
    MDB_cursor *c;
    if (begin(v, &t))
        return -1;
    json_t *grid = json_object(), *channels = json_object();
    if (mdb_cursor_open(t, v->store.short_now, &c) == 0) {
        MDB_val k, val;
        int r = mdb_cursor_get(c, &k, &val, MDB_FIRST);
        while (!r) {
            size_t loc_len = strnlen(k.mv_data, k.mv_size);
            char loc[600], st[32];
            snprintf(loc, sizeof(loc), "%.*s", (int)loc_len, (const char *)k.mv_data);
            snprintf(st, sizeof(st), "%.*s", (int)val.mv_size, (const char *)val.mv_data);
            json_t *row = json_object_get(grid, loc);
            if (!row) {
                row = json_object();
                json_object_set_new(grid, loc, row);
            }
            json_object_set_new(row, st, json_integer(json_integer_value(json_object_get(row, st)) + 1));
            r = mdb_cursor_get(c, &k, &val, MDB_NEXT);
        }
        mdb_cursor_close(c);
    }
    if (mdb_cursor_open(t, v->store.meta, &c) == 0) {
        MDB_val k = {1, "c"}, val;
        int r = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
        while (!r && k.mv_size >= 1 && ((const char *)k.mv_data)[0] == 'c') {
            int64_t tot[2];
            if (val.mv_size == sizeof(tot)) {
                memcpy(tot, val.mv_data, sizeof(tot));
                char ch[600];
                snprintf(ch, sizeof(ch), "%.*s", (int)k.mv_size - 1, (const char *)k.mv_data + 1);
                json_object_set_new(channels, ch,
                                    json_pack("{s:I,s:I}", "available_to_sell", (json_int_t)tot[0], "skus_selling",
                                              (json_int_t)tot[1]));
            }
            r = mdb_cursor_get(c, &k, &val, MDB_NEXT);
        }
        mdb_cursor_close(c);
    }
    json_t *o = json_pack("{s:o,s:o,s:{s:I,s:I,s:I,s:I},s:b,s:I,s:I,s:I,s:I,s:I}", "shortage_grid", grid, "channels",
                          channels, "rows", "stock", (json_int_t)view_store_count(t, v->store.stock), "availability",
                          (json_int_t)view_store_count(t, v->store.avail), "shortages",
                          (json_int_t)view_store_count(t, v->store.shortages), "reorders",
                          (json_int_t)view_store_count(t, v->store.reorders), "ready", atomic_load(&v->ready),
                          "rebuild_remaining", (json_int_t)atomic_load(&v->remaining), "changes_total",
                          (json_int_t)atomic_load(&v->changes), "last_change_ms",
                          (json_int_t)atomic_load(&v->last_change_ms), "now_ms", (json_int_t)inv_time_wall_ms(),
                          "sse_subscribers", (json_int_t)view_hub_subscribers(v->hub));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = -1;
    if (s) {
        resp->content_type = JSON_TYPE;
        size_t len = strlen(s);
        rc = inv_http_response_append(resp, s, len - 1); /* without the closing brace */
        rc = rc ? rc : inv_http_response_append(resp, ",", 1);
        rc = rc ? rc : append_offsets(resp, v, t);
        rc = rc ? rc : inv_http_response_append(resp, "}\n", 2);
        free(s);
    }
    mdb_txn_abort(t);
    return rc;
}

static int h_events(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    view_t *v = opaque;
    char sku[300], location[300];
    int rs = arg(req, resp, "sku", sku, sizeof(sku));
    if (rs && rs != ENOENT)
        return rs < 0 ? -1 : 0;
    int rl = arg(req, resp, "location", location, sizeof(location));
    if (rl && rl != ENOENT)
        return rl < 0 ? -1 : 0;
    view_sub_t *sub = view_hub_subscribe(v->hub, rs == 0 ? sku : NULL, rl == 0 ? location : NULL);
    if (!sub)
        return -1;
    resp->content_type = "text/event-stream";
    resp->stream = view_hub_read;
    resp->stream_free = view_hub_unsubscribe;
    resp->stream_cls = sub;
    return 0;
}

static int h_healthz(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    view_t *v = opaque;
    resp->content_type = JSON_TYPE;
    if (atomic_load(&v->ready))
        return inv_http_response_printf(resp, "{\"status\":\"ready\",\"changes_total\":%lld}\n",
                                        (long long)atomic_load(&v->changes));
    resp->status = 503;
    return inv_http_response_printf(resp,
                                    "{\"status\":\"unready\",\"reason\":\"rebuilding: %lld of %lld records left to the "
                                    "end offsets seen at start\",\"remaining\":%lld,\"total\":%lld}\n",
                                    (long long)atomic_load(&v->remaining), (long long)v->rebuild_total,
                                    (long long)atomic_load(&v->remaining), (long long)v->rebuild_total);
}

static int h_metrics(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)req;
    view_t *v = opaque;
    inv_metrics_gauge_set(v->g_subs, (int64_t)view_hub_subscribers(v->hub));
    inv_metrics_buf_t buf = {0};
    if (inv_metrics_render(v->metrics, &buf) != 0) {
        inv_metrics_buf_free(&buf);
        return -1;
    }
    resp->content_type = INV_METRICS_CONTENT_TYPE;
    inv_http_response_set_body(resp, buf.data, buf.len);
    return 0;
}

static int h_assets(const inv_http_request_t *req, inv_http_response_t *resp, void *opaque) {
    (void)opaque;
    const char *name = req->rest_len ? req->rest : "index.html";
    if (strncmp(name, "api/", 4) == 0 || strcmp(name, "api") == 0)
        return error(resp, 404, "no such API route");
    for (size_t i = 0; i < view_asset_count; i++)
        if (strcmp(view_assets[i].name, name) == 0) {
            resp->content_type = view_assets[i].content_type;
            return inv_http_response_append(resp, view_assets[i].data, view_assets[i].len);
        }
    return error(resp, 404, "not found");
}

const inv_http_route_t view_routes[] = {
    {"/healthz", INV_HTTP_EXACT, h_healthz, 1},
    {"/metrics", INV_HTTP_EXACT, h_metrics, 0},
    {"/api/stock/", INV_HTTP_PREFIX, h_stock, 0},
    {"/api/availability/", INV_HTTP_PREFIX, h_availability, 0},
    {"/api/shortages", INV_HTTP_EXACT, h_shortages, 0},
    {"/api/reorders", INV_HTTP_EXACT, h_reorders, 0},
    {"/api/skus", INV_HTTP_EXACT, h_skus, 0},
    {"/api/events", INV_HTTP_EXACT, h_events, 0},
    {"/api/overview", INV_HTTP_EXACT, h_overview, 0},
    {"/", INV_HTTP_PREFIX, h_assets, 0},
    {NULL, 0, NULL, 0},
};

/* ---- request metrics ---- */

static const int statuses[VIEW_STATUSES] = {200, 400, 401, 404, 405, 500, 503, 0 /* other */};

int view_api_metrics(view_t *v, char *errstr, size_t errstr_size) {
    for (int r = 0; r < VIEW_ROUTES; r++) {
        const char *route = r < VIEW_ROUTES - 1 && view_routes[r].path ? view_routes[r].path : "none";
        if (r < VIEW_ROUTES - 1 && !view_routes[r].path)
            continue;
        for (int s = 0; s < VIEW_STATUSES; s++) {
            char code[16];
            snprintf(code, sizeof(code), "%s", statuses[s] ? "" : "other");
            if (statuses[s])
                snprintf(code, sizeof(code), "%d", statuses[s]);
            const char *labels[] = {"route", route, "status", code, NULL};
            if (inv_metrics_counter_new(v->metrics, "inv_view_http_requests_total",
                                        "HTTP requests answered, by route and status", labels, &v->c_requests[r][s],
                                        errstr, errstr_size))
                return -1;
        }
    }
    return 0;
}

void view_api_observe(void *opaque, const char *route, int status) {
    view_t *v = opaque;
    int r = VIEW_ROUTES - 1;
    for (int i = 0; route && view_routes[i].path && i < VIEW_ROUTES - 1; i++)
        if (view_routes[i].path == route || strcmp(view_routes[i].path, route) == 0) {
            r = i;
            break;
        }
    int s = VIEW_STATUSES - 1;
    for (int i = 0; i < VIEW_STATUSES - 1; i++)
        if (statuses[i] == status)
            s = i;
    if (v->c_requests[r][s])
        inv_metrics_counter_inc(v->c_requests[r][s]);
}
