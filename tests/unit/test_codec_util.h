/*
 * Helpers shared by the codec tests, codec_tool, the fuzz targets and the
 * benchmark: decode and encode any message type through one call, and a
 * tiny text notation for hand-written Avro messages.
 */
#ifndef TEST_CODEC_UTIL_H
#define TEST_CODEC_UTIL_H

#include "inv_codec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef union {
    inv_event_t ev;
    inv_movement_t mv;
    inv_policy_t po;
    inv_stock_level_t sl;
    inv_reorder_t ro;
    inv_shortage_t sh;
    inv_reservation_t rv;
    inv_transfer_t tr;
    inv_channel_location_t cl;
    inv_availability_t av;
    inv_reservation_status_t rs;
} any_msg_t;

static inline int any_decode(inv_decoder_t *d, inv_msg_type_t t, const void *buf, size_t len, any_msg_t *m, char *err,
                             size_t n) {
    switch (t) {
    case INV_MSG_SALE_EVENT: return inv_decoder_decode_event(d, INV_EVENT_SALE, buf, len, &m->ev, err, n);
    case INV_MSG_RETURN_EVENT: return inv_decoder_decode_event(d, INV_EVENT_RETURN, buf, len, &m->ev, err, n);
    case INV_MSG_RESTOCK_EVENT: return inv_decoder_decode_event(d, INV_EVENT_RESTOCK, buf, len, &m->ev, err, n);
    case INV_MSG_STOCK_MOVEMENT: return inv_decoder_decode_movement(d, buf, len, &m->mv, err, n);
    case INV_MSG_REORDER_POLICY: return inv_decoder_decode_policy(d, buf, len, &m->po, err, n);
    case INV_MSG_STOCK_LEVEL: return inv_decoder_decode_stock_level(d, buf, len, &m->sl, err, n);
    case INV_MSG_REORDER_EVENT: return inv_decoder_decode_reorder(d, buf, len, &m->ro, err, n);
    case INV_MSG_SHORTAGE_EVENT: return inv_decoder_decode_shortage(d, buf, len, &m->sh, err, n);
    case INV_MSG_RESERVATION_EVENT: return inv_decoder_decode_reservation(d, buf, len, &m->rv, err, n);
    case INV_MSG_TRANSFER_EVENT: return inv_decoder_decode_transfer(d, buf, len, &m->tr, err, n);
    case INV_MSG_CHANNEL_LOCATION: return inv_decoder_decode_channel_location(d, buf, len, &m->cl, err, n);
    case INV_MSG_AVAILABILITY_LEVEL: return inv_decoder_decode_availability(d, buf, len, &m->av, err, n);
    case INV_MSG_RESERVATION_STATUS: return inv_decoder_decode_reservation_status(d, buf, len, &m->rs, err, n);
    default: snprintf(err, n, "bad type"); return -1;
    }
}

static inline int any_encode(inv_encoder_t *e, inv_msg_type_t t, const any_msg_t *m, inv_buf_t *out, char *err,
                             size_t n) {
    switch (t) {
    case INV_MSG_SALE_EVENT:
    case INV_MSG_RETURN_EVENT:
    case INV_MSG_RESTOCK_EVENT: return inv_encoder_encode_event(e, &m->ev, out, err, n);
    case INV_MSG_STOCK_MOVEMENT: return inv_encoder_encode_movement(e, &m->mv, out, err, n);
    case INV_MSG_REORDER_POLICY: return inv_encoder_encode_policy(e, &m->po, out, err, n);
    case INV_MSG_STOCK_LEVEL: return inv_encoder_encode_stock_level(e, &m->sl, out, err, n);
    case INV_MSG_REORDER_EVENT: return inv_encoder_encode_reorder(e, &m->ro, out, err, n);
    case INV_MSG_SHORTAGE_EVENT: return inv_encoder_encode_shortage(e, &m->sh, out, err, n);
    case INV_MSG_RESERVATION_EVENT: return inv_encoder_encode_reservation(e, &m->rv, out, err, n);
    case INV_MSG_TRANSFER_EVENT: return inv_encoder_encode_transfer(e, &m->tr, out, err, n);
    case INV_MSG_CHANNEL_LOCATION: return inv_encoder_encode_channel_location(e, &m->cl, out, err, n);
    case INV_MSG_AVAILABILITY_LEVEL: return inv_encoder_encode_availability(e, &m->av, out, err, n);
    case INV_MSG_RESERVATION_STATUS: return inv_encoder_encode_reservation_status(e, &m->rs, out, err, n);
    default: snprintf(err, n, "bad type"); return -1;
    }
}

/* Names the first field in which two movements differ (strings by value,
 * NULL only equal to NULL) into what; 0 when they are the same. */
static inline int movement_diff(const inv_movement_t *a, const inv_movement_t *b, char *what, size_t n) {
    const struct {
        const char *name, *x, *y;
    } s[] = {{"movement_id", a->movement_id, b->movement_id},
             {"sku", a->sku, b->sku},
             {"location_id", a->location_id, b->location_id},
             {"source", a->source, b->source},
             {"reservation_id", a->reservation_id, b->reservation_id},
             {"transfer_id", a->transfer_id, b->transfer_id},
             {"other_location_id", a->other_location_id, b->other_location_id}};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if ((!s[i].x) != (!s[i].y) || (s[i].x && strcmp(s[i].x, s[i].y) != 0)) {
            snprintf(what, n, "%s: \"%s\" != \"%s\"", s[i].name, s[i].x ? s[i].x : "(null)",
                     s[i].y ? s[i].y : "(null)");
            return 1;
        }
    const struct {
        const char *name;
        int64_t x, y;
    } v[] = {{"channel", a->channel, b->channel},
             {"type", a->type, b->type},
             {"quantity", a->quantity, b->quantity},
             {"occurred_at_ms", a->occurred_at_ms, b->occurred_at_ms},
             {"has_expires_at", a->has_expires_at, b->has_expires_at},
             {"expires_at_ms", a->expires_at_ms, b->expires_at_ms},
             {"rejected", a->rejected, b->rejected},
             {"allow_partial", a->allow_partial, b->allow_partial}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (v[i].x != v[i].y) {
            snprintf(what, n, "%s: %" PRId64 " != %" PRId64, v[i].name, v[i].x, v[i].y);
            return 1;
        }
    return 0;
}

/* Reads a whole file (NUL-terminated); NULL when it cannot. Caller frees. */
static inline char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
            } else {
                buf = p;
            }
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

/*
 * Hand-written Avro messages: space-separated tokens
 *   @N      Confluent header with schema id N
 *   s:TEXT  string (TEXT has no spaces)       S:N  a bare length N (varint)
 *   l:N     long (zigzag varint); e:N enum index, u:N union branch and
 *           a:N array block count are longs too
 *   x:HEX   raw bytes
 * e.g. "@1 s:T-1 s:pos s:store-1 e:0 l:0 a:1 s:SKU-1 l:2 a:0".
 * Returns the length written into out (at most cap), or 0 on a bad spec.
 */
static inline size_t avro_put_long(unsigned char *out, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80) {
        out[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    out[n++] = (unsigned char)z;
    return n;
}

static inline size_t avro_spec(unsigned char *out, size_t cap, const char *spec) {
    size_t n = 0;
    const char *p = spec;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ' ');
        size_t tlen = end ? (size_t)(end - p) : strlen(p);
        if (n + tlen + 16 > cap)
            return 0;
        if (p[0] == '@') {
            uint32_t id = (uint32_t)strtoll(p + 1, NULL, 10);
            out[n++] = 0;
            out[n++] = (unsigned char)(id >> 24);
            out[n++] = (unsigned char)(id >> 16);
            out[n++] = (unsigned char)(id >> 8);
            out[n++] = (unsigned char)id;
        } else if (p[0] == 's' && p[1] == ':') {
            n += avro_put_long(out + n, (int64_t)(tlen - 2));
            memcpy(out + n, p + 2, tlen - 2);
            n += tlen - 2;
        } else if (strchr("Sleua", p[0]) && p[1] == ':') {
            n += avro_put_long(out + n, strtoll(p + 2, NULL, 10));
        } else if (p[0] == 'x' && p[1] == ':') {
            for (size_t i = 2; i + 1 < tlen; i += 2) {
                char hex[3] = {p[i], p[i + 1], 0};
                out[n++] = (unsigned char)strtoul(hex, NULL, 16);
            }
        } else {
            return 0;
        }
        p += tlen;
    }
    return n;
}

#endif
