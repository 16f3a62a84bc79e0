/*
 * inv_json_flat and the JSON StockMovement fast path built on it: what the
 * scanner takes and what it declines, then the promise that matters - the
 * public decoder gives exactly what the jansson-only path gives (return
 * code, every field, error text) for the codec's cases, the malformed
 * inputs of test_codec_errors.c and thousands of generated movements.
 */
#include "inv_codec.h"
#include "inv_json_flat.h"
#include "inv_test.h"
#include "test_codec_util.h"

#include <jansson.h>
#include <limits.h>

#ifndef INV_CODEC_CASES
#error "INV_CODEC_CASES must name tests/unit/codec_cases"
#endif

/* ----------------------------------------------------------- the scanner */

enum { M_ID, M_NOTE, M_N, M_COUNT };
static const inv_json_flat_member_t members[M_COUNT] = {
    [M_ID] = {"id", INV_JSON_FLAT_STRING, 8},
    [M_NOTE] = {"note", INV_JSON_FLAT_STRING | INV_JSON_FLAT_NULL | INV_JSON_FLAT_ABSENT, 8},
    [M_N] = {"n", INV_JSON_FLAT_INT, 0},
};
static inv_json_flat_value_t v[M_COUNT];
static char scratch[64];

static int scan_len(const char *in, size_t len) {
    memset(v, 0, sizeof(v));
    return inv_json_flat_scan(in, len, members, M_COUNT, v, scratch, sizeof(scratch));
}

static int scan(const char *in) { return scan_len(in, strlen(in)); }

static void test_scans_a_compact_object(void) {
    INV_ASSERT_EQ_INT(0, scan("{\"id\":\"A-1\",\"note\":\"hi\",\"n\":42}"));
    INV_ASSERT_EQ_INT(INV_JSON_FLAT_STRING, v[M_ID].type);
    INV_ASSERT_EQ_STR("A-1", v[M_ID].str);
    INV_ASSERT_EQ_INT(3, v[M_ID].len);
    INV_ASSERT_EQ_STR("hi", v[M_NOTE].str);
    INV_ASSERT_EQ_INT(INV_JSON_FLAT_INT, v[M_N].type);
    INV_ASSERT_EQ_INT(42, v[M_N].num);
}

static void test_strings_are_nul_terminated_copies_in_the_scratch_buffer(void) {
    const char in[] = "{\"id\":\"abc\",\"note\":\"\",\"n\":0}";
    INV_ASSERT_EQ_INT(0, scan(in));
    for (int m = M_ID; m <= M_NOTE; m++) {
        INV_ASSERT(v[m].str >= scratch && v[m].str + v[m].len < scratch + sizeof(scratch), "member %d", m);
        INV_ASSERT(v[m].str[v[m].len] == '\0', "member %d", m);
    }
    INV_ASSERT_EQ_INT(0, v[M_NOTE].len);
}

static void test_json_whitespace_is_taken_wherever_json_allows_it(void) {
    static const char *ws[] = {" ", "\t", "\n", "\r", " \r\n\t  "};
    for (size_t w = 0; w < sizeof(ws) / sizeof(ws[0]); w++) {
        /* whitespace at each of the 13 places between tokens, one at a time, then all at once */
        const char *tok[] = {"{", "\"id\"", ":", "\"x\"", ",", "\"note\"", ":", "null", ",", "\"n\"", ":", "-7", "}"};
        const size_t ntok = sizeof(tok) / sizeof(tok[0]);
        for (size_t at = 0; at <= ntok + 1; at++) {
            char in[256] = "";
            for (size_t t = 0; t <= ntok; t++) {
                if (at == t || at == ntok + 1)
                    strcat(in, ws[w]);
                if (t < ntok)
                    strcat(in, tok[t]);
            }
            INV_ASSERT(scan(in) == 0, "declined %s", in);
            INV_ASSERT(v[M_N].num == -7 && v[M_NOTE].type == INV_JSON_FLAT_NULL, "%s", in);
        }
    }
}

static void test_members_come_in_any_order(void) {
    static const char *part[3] = {"\"id\":\"x\"", "\"note\":\"y\"", "\"n\":5"};
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++) {
        char in[128];
        snprintf(in, sizeof(in), "{%s,%s,%s}", part[perm[p][0]], part[perm[p][1]], part[perm[p][2]]);
        INV_ASSERT(scan(in) == 0, "declined %s", in);
        INV_ASSERT(strcmp(v[M_ID].str, "x") == 0 && strcmp(v[M_NOTE].str, "y") == 0 && v[M_N].num == 5, "%s", in);
    }
}

static void test_an_optional_member_may_be_null_or_absent(void) {
    INV_ASSERT_EQ_INT(0, scan("{\"id\":\"x\",\"note\":null,\"n\":1}"));
    INV_ASSERT_EQ_INT(INV_JSON_FLAT_NULL, v[M_NOTE].type);
    INV_ASSERT_EQ_INT(0, scan("{\"id\":\"x\",\"n\":1}"));
    INV_ASSERT_EQ_INT(INV_JSON_FLAT_ABSENT, v[M_NOTE].type);
}

static void test_integers_cover_int64(void) {
    static const struct {
        const char *text;
        int64_t value;
    } cases[] = {{"0", 0},
                 {"-1", -1},
                 {"9223372036854775807", INT64_MAX},
                 {"-9223372036854775808", INT64_MIN},
                 {"9223372036854775806", INT64_MAX - 1},
                 {"-9223372036854775807", INT64_MIN + 1},
                 {"1000000000000000000", 1000000000000000000LL}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[128];
        snprintf(in, sizeof(in), "{\"id\":\"x\",\"n\":%s}", cases[i].text);
        INV_ASSERT(scan(in) == 0, "declined %s", in);
        INV_ASSERT(v[M_N].num == cases[i].value, "%s: got %" PRId64, cases[i].text, v[M_N].num);
    }
}

static void test_utf8_strings_are_taken_byte_for_byte(void) {
    static const char *ok[] = {
        "\xc3\xbc",         /* U+00FC */
        "\xe6\x97\xa5",     /* U+65E5 */
        "\xf0\x9f\x98\x80", /* U+1F600 */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xed\x9f\xbf",     /* U+D7FF, below the surrogates */
        "\xee\x80\x80",     /* U+E000, above them */
        "\xc2\x80",         /* U+0080 */
        "\x7f/ '",          /* DEL, slash, space, quote: not escaped in JSON */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char in[128];
        snprintf(in, sizeof(in), "{\"id\":\"%s\",\"n\":1}", ok[i]);
        INV_ASSERT(scan(in) == 0, "declined case %zu", i);
        INV_ASSERT_EQ_STR(ok[i], v[M_ID].str);
    }
}

/* Each is declined: jansson either rejects it or reads it in a way the
 * scanner leaves to jansson. */
static void test_declines_everything_it_does_not_decode_exactly(void) {
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
    } bad[] = {
        /* framing */
        {"", 0},
        {"   ", 0},
        {"\xEF\xBB\xBF{\"id\":\"x\",\"n\":1}", 0},
        {"[]", 0},
        {"null", 0},
        {"{", 0},
        {"{\"id\":\"x\",\"n\":1", 0},
        {"{\"id\":\"x\",\"n\":1} x", 0},
        {"{\"id\":\"x\",\"n\":1}{}", 0},
        {"{\"id\":\"x\",\"n\":1},", 0},
        {"{\"id\":\"x\",\"n\":1}\0", 17},
        {"{\"id\":\"x\",\"n\":1,}", 0},
        {"{\"id\":\"x\" \"n\":1}", 0},
        {"{\"id\" \"x\",\"n\":1}", 0},
        {"{,}", 0},
        {"{\"id\":\"x\",,\"n\":1}", 0},
        {"{'id':'x','n':1}", 0},
        {"{id:\"x\",\"n\":1}", 0},
        {"\f{\"id\":\"x\",\"n\":1}", 0},
        {"{\v\"id\":\"x\",\"n\":1}", 0},
        {"{\xc2\xa0\"id\":\"x\",\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":1}\f", 0},
        /* strings */
        {"{\"id\":\"a\\\"b\",\"n\":1}", 0},
        {"{\"id\":\"\\u0041\",\"n\":1}", 0},
        {"{\"id\":\"a\\/\",\"n\":1}", 0},
        {"{\"i\\u0064\":\"x\",\"n\":1}", 0},
        {"{\"id\":\"a\x01\",\"n\":1}", 0},
        {"{\"id\":\"a\tb\",\"n\":1}", 0},
        {"{\"id\":\"a\nb\",\"n\":1}", 0},
        {"{\"id\":\"a\0b\",\"n\":1}", 18},
        {"{\"id\":\"abc", 0},
        {"{\"id\":\"\xff\",\"n\":1}", 0},
        {"{\"id\":\"\x80\",\"n\":1}", 0},
        {"{\"id\":\"\xc0\x80\",\"n\":1}", 0},
        {"{\"id\":\"\xc1\xbf\",\"n\":1}", 0},
        {"{\"id\":\"\xc2\",\"n\":1}", 0},
        {"{\"id\":\"\xe0\x80\x80\",\"n\":1}", 0},
        {"{\"id\":\"\xe0\x9f\xbf\",\"n\":1}", 0},
        {"{\"id\":\"\xed\xa0\x80\",\"n\":1}", 0},
        {"{\"id\":\"\xed\xbf\xbf\",\"n\":1}", 0},
        {"{\"id\":\"\xf0\x8f\xbf\xbf\",\"n\":1}", 0},
        {"{\"id\":\"\xf4\x90\x80\x80\",\"n\":1}", 0},
        {"{\"id\":\"\xf5\x80\x80\x80\",\"n\":1}", 0},
        {"{\"id\":\"\xe6\x97\",\"n\":1}", 0},
        {"{\"id\":\"\xf0\x9f\x98\",\"n\":1}", 0},
        {"{\"id\":\"\xe6\x97\xa5", 0},
        {"{\"id\":\"123456789\",\"n\":1}", 0},
        /* numbers */
        {"{\"id\":\"x\",\"n\":1.0}", 0},
        {"{\"id\":\"x\",\"n\":1e3}", 0},
        {"{\"id\":\"x\",\"n\":1E3}", 0},
        {"{\"id\":\"x\",\"n\":1.}", 0},
        {"{\"id\":\"x\",\"n\":-0}", 0},
        {"{\"id\":\"x\",\"n\":-0.0}", 0},
        {"{\"id\":\"x\",\"n\":01}", 0},
        {"{\"id\":\"x\",\"n\":00}", 0},
        {"{\"id\":\"x\",\"n\":-01}", 0},
        {"{\"id\":\"x\",\"n\":+1}", 0},
        {"{\"id\":\"x\",\"n\":-}", 0},
        {"{\"id\":\"x\",\"n\":.5}", 0},
        {"{\"id\":\"x\",\"n\":0x10}", 0},
        {"{\"id\":\"x\",\"n\":Infinity}", 0},
        {"{\"id\":\"x\",\"n\":NaN}", 0},
        {"{\"id\":\"x\",\"n\":9223372036854775808}", 0},
        {"{\"id\":\"x\",\"n\":-9223372036854775809}", 0},
        {"{\"id\":\"x\",\"n\":18446744073709551616}", 0},
        {"{\"id\":\"x\",\"n\":99999999999999999999}", 0},
        {"{\"id\":\"x\",\"n\":12a}", 0},
        {"{\"id\":\"x\",\"n\":1", 0},
        /* types */
        {"{\"id\":\"x\",\"n\":\"1\"}", 0},
        {"{\"id\":1,\"n\":1}", 0},
        {"{\"id\":null,\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":null}", 0},
        {"{\"id\":true,\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":false}", 0},
        {"{\"id\":[],\"n\":1}", 0},
        {"{\"id\":{},\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":[1]}", 0},
        {"{\"id\":\"x\",\"note\":{\"a\":1},\"n\":1}", 0},
        {"{\"id\":\"x\",\"note\":nul,\"n\":1}", 0},
        {"{\"id\":\"x\",\"note\":nulls,\"n\":1}", 0},
        {"{\"id\":\"x\",\"note\":NULL,\"n\":1}", 0},
        {"{\"id\":\"x\",\"note\":nul", 0},
        /* members */
        {"{}", 0},
        {"{\"id\":\"x\"}", 0},
        {"{\"n\":1}", 0},
        {"{\"id\":\"x\",\"id\":\"y\",\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":1,\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":1,\"note\":null,\"note\":null}", 0},
        {"{\"id\":\"x\",\"n\":1,\"x\":1}", 0},
        {"{\"ID\":\"x\",\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":1,\"\":1}", 0},
        {"{\"i\":\"x\",\"n\":1}", 0},
        {"{\"idd\":\"x\",\"n\":1}", 0},
        {"{\"id\":\"x\",\"n\":1,\"extra\":{}}", 0},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].in);
        if (scan_len(bad[i].in, len) != -1) {
            fprintf(stderr, "  case %zu taken: %.*s\n", i, (int)len, bad[i].in);
            failed++;
        }
    }
    INV_ASSERT(failed == 0, "%d inputs taken that must be declined", failed);
}

static void test_declines_strings_the_scratch_buffer_cannot_hold(void) {
    char small[6];
    memset(v, 0, sizeof(v));
    /* "1234567" and its NUL need 8 bytes */
    const char *in = "{\"id\":\"1234567\",\"n\":1}";
    INV_ASSERT_EQ_INT(-1, inv_json_flat_scan(in, strlen(in), members, M_COUNT, v, small, sizeof(small)));
    in = "{\"id\":\"12345\",\"n\":1}";
    INV_ASSERT_EQ_INT(0, inv_json_flat_scan(in, strlen(in), members, M_COUNT, v, small, sizeof(small)));
    INV_ASSERT_EQ_STR("12345", v[M_ID].str);
    in = "{\"id\":\"1\",\"n\":1}";
    INV_ASSERT_EQ_INT(-1, inv_json_flat_scan(in, strlen(in), members, M_COUNT, v, NULL, 0));
}

/* ----------------------------------------------- the codec's fast path */

static inv_schema_resolver_t resolver;
static inv_decoder_t *dec, *dec_jansson, *dec_fast_only;

#define MOVE_SALE                                                                                                 \
    "{\"movement_id\":\"sale:T-1001:0\",\"sku\":\"SKU-1\",\"location_id\":\"store-12\",\"channel\":\"store\","    \
    "\"type\":\"sale\",\"quantity\":2,\"occurred_at\":\"2026-11-22T10:00:00.000Z\",\"source\":\"pos-store-12\","  \
    "\"reservation_id\":null,\"expires_at\":null,\"transfer_id\":null,\"other_location_id\":null,\"rejected\":0," \
    "\"allow_partial\":false}"

/* Decodes in through the default and the jansson-only decoder; the two
 * must agree in return code, fields and error text. Returns 0 when they
 * do, else prints the difference. *fast_out says whether the fast path
 * alone took the input. */
static int same_as_jansson(const void *in, size_t len, int *fast_out) {
    char e1[512] = "(unset)", e2[512] = "(unset)", e3[512], what[600];
    inv_movement_t m1, m2, m3;
    int rc1 = inv_decoder_decode_movement(dec, in, len, &m1, e1, sizeof(e1));
    int rc2 = inv_decoder_decode_movement(dec_jansson, in, len, &m2, e2, sizeof(e2));
    int rc3 = inv_decoder_decode_movement(dec_fast_only, in, len, &m3, e3, sizeof(e3));
    int fast = rc3 == 0 || strcmp(e3, "not taken by the JSON fast path") != 0;
    if (fast_out)
        *fast_out = rc3 == 0;
    const char *why = NULL;
    if (rc1 != rc2)
        why = "return codes differ";
    else if (rc1 && strcmp(e1, e2) != 0)
        why = "errors differ";
    else if (movement_diff(&m1, &m2, what, sizeof(what)))
        why = what;
    else if (fast && (rc3 != rc2 || (rc3 && strcmp(e3, e2) != 0) || movement_diff(&m3, &m2, what, sizeof(what))))
        why = "the fast path alone differs from jansson";
    if (!why)
        return 0;
    fprintf(stderr,
            "  %s\n    input (%zu bytes): %.*s\n    public:  rc %d %s\n    jansson: rc %d %s\n"
            "    fast:    rc %d %s\n",
            why, len, (int)(len > 300 ? 300 : len), (const char *)in, rc1, rc1 ? e1 : "", rc2, rc2 ? e2 : "", rc3,
            rc3 ? e3 : "");
    return 1;
}

static void test_fast_path_takes_the_common_movement(void) {
    char err[256];
    inv_movement_t m;
    INV_ASSERT(inv_decoder_decode_movement(dec_fast_only, MOVE_SALE, strlen(MOVE_SALE), &m, err, sizeof(err)) == 0,
               "%s", err);
    INV_ASSERT_EQ_STR("sale:T-1001:0", m.movement_id);
    INV_ASSERT_EQ_STR("SKU-1", m.sku);
    INV_ASSERT_EQ_STR("store-12", m.location_id);
    INV_ASSERT_EQ_INT(INV_CHANNEL_STORE, m.channel);
    INV_ASSERT_EQ_INT(INV_MOVE_SALE, m.type);
    INV_ASSERT_EQ_INT(2, m.quantity);
    INV_ASSERT_EQ_INT(1795341600000LL, m.occurred_at_ms);
    INV_ASSERT_EQ_STR("pos-store-12", m.source);
}

static void test_fast_path_strings_outlive_the_input_until_the_next_decode(void) {
    char err[256];
    inv_movement_t m;
    char *in = strdup(MOVE_SALE);
    int rc = inv_decoder_decode_movement(dec_fast_only, in, strlen(in), &m, err, sizeof(err));
    memset(in, 'x', strlen(in));
    free(in);
    INV_ASSERT(rc == 0, "%s", err);
    INV_ASSERT_EQ_STR("sale:T-1001:0", m.movement_id);
    INV_ASSERT_EQ_STR("pos-store-12", m.source);
}

/* The fast path's members are the field table's, which inv_schema_check
 * proves equal to schemas/StockMovement.avsc; this pins the same from the
 * outside: a movement with exactly the schema's fields is taken, and
 * renaming any one of them makes it a message the fast path declines. */
static void test_fast_path_members_are_the_schema_fields(void) {
    json_error_t jerr;
    json_t *schema = json_loads(inv_schema_json(INV_MSG_STOCK_MOVEMENT), 0, &jerr);
    json_t *msg = json_loads(MOVE_SALE, 0, &jerr);
    INV_ASSERT(schema && msg, "%s", jerr.text);
    json_t *fields = json_object_get(schema, "fields");
    int ok = json_object_size(msg) == json_array_size(fields);
    for (size_t i = 0; ok && i < json_array_size(fields); i++)
        ok = json_object_get(msg, json_string_value(json_object_get(json_array_get(fields, i), "name"))) != NULL;
    int failed = 0;
    for (size_t i = 0; ok && i < json_array_size(fields); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(fields, i), "name"));
        char key[128], *text;
        inv_movement_t m;
        char err[256];
        snprintf(key, sizeof(key), "%s_", name);
        json_t *renamed = json_deep_copy(msg);
        json_object_set(renamed, key, json_object_get(renamed, name));
        json_object_del(renamed, name);
        text = json_dumps(renamed, JSON_COMPACT);
        if (inv_decoder_decode_movement(dec_fast_only, text, strlen(text), &m, err, sizeof(err)) != -1 ||
            strcmp(err, "not taken by the JSON fast path") != 0) {
            fprintf(stderr, "  renamed %s was taken: %s\n", name, text);
            failed++;
        }
        free(text);
        json_decref(renamed);
    }
    json_decref(schema);
    json_decref(msg);
    INV_ASSERT(ok, "the test's movement does not have the schema's fields");
    INV_ASSERT(failed == 0, "%d renamed fields taken", failed);
    inv_movement_t m;
    char err[256];
    INV_ASSERT(inv_decoder_decode_movement(dec_fast_only, MOVE_SALE, strlen(MOVE_SALE), &m, err, sizeof(err)) == 0,
               "%s", err);
}

static int same_for_lines_of(const char *path, int *count, int *fast) {
    char *text = read_file(path, NULL);
    int failed = 0;
    if (!text) {
        fprintf(stderr, "  cannot read %s\n", path);
        return 1;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        int f = 0;
        failed += same_as_jansson(line, strlen(line), &f);
        *fast += f;
        (*count)++;
    }
    free(text);
    return failed;
}

/* As in test_codec_errors.c. */
#define MOVE(channel, type, q)                                                                                  \
    "{\"movement_id\":\"m\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":" channel ",\"type\":\"" type "\"," \
    "\"quantity\":" q ",\"occurred_at\":\"2026-11-22T10:00:00Z\",\"source\":\"s\"}"

/* codec_cases/StockMovement.jsonl, the movement inputs of test_codec.c and
 * test_codec_errors.c, and the framing errors of the latter, as movements. */
static void test_public_decode_equals_jansson_on_the_codec_cases(void) {
    static const char *inputs[] = {
        "{\"movement_id\":\"count:C:0\",\"sku\":\"S\",\"location_id\":\"L\",\"channel\":null,\"type\":\"count\","
        "\"quantity\":0,\"occurred_at\":\"1970-01-01T00:00:00.000Z\",\"source\":\"x\"}",
        MOVE("\"store\"", "receipt", "5"),
        MOVE("null", "sale", "5"),
        MOVE("null", "transfer", "5"),
        MOVE("\"online\"", "return_damaged", "0"),
        MOVE("null", "count", "-2"),
        MOVE("\"b2b\"", "sale", "1"),
        MOVE("\"shop\"", "sale", "1"),
        MOVE("3", "sale", "1"),
        MOVE("\"store\"", "sale", "1.0"),
        MOVE("\"store\"", "sale", "-0"),
        MOVE("\"store\"", "sale", "9223372036854775808"),
        MOVE("null", "adjustment", "0"),
        MOVE("null", "adjustment", "-9223372036854775808"),
        "",
        "   ",
        "hello",
        "{\"event_id\":\"T-1\"",
        "{\"movement_id\":\"a\",\"movement_id\":\"b\"}",
        "\x01\x02\xff\xfe",
        "{\"movement_id\":\"T-\xff\"}",
        "{\"movement_id\":\"T-\\u0000\"}",
        "[{}]",
        "{}",
        "{\"movement_id\":17}",
        "{\"movement_id\":\"\"}",
        "\xEF\xBB\xBF" MOVE_SALE,
        "\xEF\xBB\xBF\xEF\xBB\xBF" MOVE_SALE,
        MOVE_SALE " x",
        " \t\r\n" MOVE_SALE " \t\r\n",
    };
    int failed = 0, count = 0, fast = 0;
    char path[512];
    snprintf(path, sizeof(path), "%s/StockMovement.jsonl", INV_CODEC_CASES);
    failed += same_for_lines_of(path, &count, &fast);
    INV_ASSERT(fast == count, "the fast path took %d of the %d codec cases", fast, count);
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++, count++)
        failed += same_as_jansson(inputs[i], strlen(inputs[i]), NULL);
    /* the Avro movement of test_codec.c never meets the fast path */
    unsigned char avro[128];
    size_t alen = avro_spec(avro, sizeof(avro), "@4 s:m s:S s:L u:1 e:0 e:3 l:1 l:0 s:s");
    failed += same_as_jansson(avro, alen, NULL);
    INV_ASSERT(failed == 0, "%d of %d inputs differ", failed, count + 1);
}

/* ------------------------------------------------- generated movements */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned pick(unsigned n) { return (unsigned)(next() % n); }

typedef struct {
    char *p;
    size_t len, cap;
} out_t;

static void put(out_t *o, const char *s) {
    size_t n = strlen(s);
    if (o->len + n < o->cap) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

/* Mostly nothing or JSON whitespace, now and then a byte JSON does not allow. */
static void ws(out_t *o) {
    static const char *some[] = {" ", "\t", "\n", "\r", "  ", "\r\n", " \t "};
    unsigned r = pick(1000);
    if (r < 550)
        return;
    put(o, r < 999 ? some[pick(7)] : pick(2) ? "\f" : "\v");
}

/* A string body: mostly ASCII, sometimes UTF-8, an escape, a control
 * byte or invalid UTF-8; the length is often near the field's bound. */
static void string_body(out_t *o, size_t bound) {
    static const char *odd[] = {"\xc3\xbc",         "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
                                "\xf4\x8f\xbf\xbf", "\x7f",         "\\\"",
                                "\\u00e9",          "\\n",          "\\/",
                                "\\ud83d\\ude00",   "\x01",         "\xff",
                                "\xc0\xaf",         "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xe6\x97",         "\\u0000"};
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-:_./ ";
    size_t n;
    unsigned r = pick(40);
    if (r == 0)
        n = 0;
    else if (r == 1)
        n = bound - 1 + pick(3); /* bound - 1, bound, bound + 1 */
    else
        n = 1 + pick(24);
    for (size_t i = 0; i < n; i++) {
        if (pick(200) == 0) {
            put(o, odd[pick(sizeof(odd) / sizeof(odd[0]))]);
        } else {
            char c[2] = {alpha[pick(sizeof(alpha) - 1)], 0};
            put(o, c);
        }
    }
}

static void gen_value(out_t *o, int field, int type) {
    static const char *channels[] = {"store", "online", "marketplace", "b2b"};
    static const char *types[] = {"sale",        "return_resellable", "return_damaged", "receipt", "adjustment",
                                  "count",       "reserve",           "release",        "expire",  "transfer_out",
                                  "transfer_in", "transfer_cancel"};
    static const char *odd_numbers[] = {
        "1.0", "1e3", "-0", "01", "9223372036854775808", "-9223372036854775809", "\"5\"", "null", "true", "2.5",
        "-",   "1E2", "00", "[1]"};
    char buf[64];
    switch (field) {
    case 0:
    case 1:
    case 2:
    case 7: { /* movement_id, sku, location_id, source */
        unsigned r = pick(100);
        if (r == 0) {
            put(o, pick(2) ? "17" : "null");
            return;
        }
        put(o, "\"");
        string_body(o, field == 0 ? INV_CODEC_MAX_DERIVED_ID_LEN : INV_CODEC_MAX_ID_LEN);
        put(o, "\"");
        return;
    }
    case 3: { /* channel, mostly what the type needs */
        unsigned r = pick(40);
        int restock = (type >= INV_MOVE_RECEIPT && type <= INV_MOVE_COUNT) || type >= INV_MOVE_TRANSFER_OUT;
        if (r == 0)
            put(o, pick(2) ? "\"shop\"" : pick(2) ? "3" : "\"Store\"");
        else if (r == 1)
            put(o, restock ? "\"store\"" : "null");
        else if (restock)
            put(o, "null");
        else {
            snprintf(buf, sizeof(buf), "\"%s\"", channels[pick(4)]);
            put(o, buf);
        }
        return;
    }
    case 4: /* type */
        if (pick(50) == 0)
            put(o, pick(2) ? "\"transfer\"" : "7");
        else {
            snprintf(buf, sizeof(buf), "\"%s\"", types[type]);
            put(o, buf);
        }
        return;
    case 5: { /* quantity */
        unsigned r = pick(40);
        int64_t q;
        if (r == 0) {
            put(o, odd_numbers[pick(sizeof(odd_numbers) / sizeof(odd_numbers[0]))]);
            return;
        }
        q = r == 1   ? INT64_MAX
            : r == 2 ? INT64_MIN
            : r == 3 ? (int64_t)next()
            : r == 4 ? 0
            : r == 5 ? -1 - (int64_t)pick(9)
                     : 1 + (int64_t)pick(50);
        snprintf(buf, sizeof(buf), "%" PRId64, q);
        put(o, buf);
        return;
    }
    case 6: { /* occurred_at */
        static const char *odd_times[] = {
            "\"yesterday\"",
            "1795341600000",
            "\"2026-11-22T10:00:00\"",
            "\"2026-02-30T00:00:00Z\"",
            "\"2026-11-22t10:00:00z\"",
            "\"2026-11-22 10:00:00.123456789+02:00\"",
            "\"10000-01-01T00:00:00Z\"",
            "\"0000-01-01T00:00:00+00:01\"",
            "null",
            "\"2026-11-22T10:00:00.1234567890123456789012345678901234567890123456789012345Z\""};
        if (pick(30) == 0) {
            put(o, odd_times[pick(sizeof(odd_times) / sizeof(odd_times[0]))]);
            return;
        }
        char t[32];
        const int64_t span = 253402300799999LL + 62167219200000LL;
        inv_time_format_rfc3339((int64_t)(next() % (uint64_t)(span + 1)) - 62167219200000LL, t);
        if (pick(4) == 0)
            memcpy(t + 19, "+02:00", 7); /* an offset instead of .mmmZ */
        snprintf(buf, sizeof(buf), "\"%s\"", t);
        put(o, buf);
        return;
    }
    case 8:    /* reservation_id */
    case 10:   /* transfer_id */
    case 11: { /* other_location_id */
        int wanted = field == 8 ? type == INV_MOVE_SALE || (type >= INV_MOVE_RESERVE && type <= INV_MOVE_EXPIRE)
                                : type >= INV_MOVE_TRANSFER_OUT;
        unsigned r = pick(40);
        if (r == 0)
            put(o, pick(2) ? "17" : pick(2) ? "\"\"" : "\"a|b\"");
        else if (r == 1 || !wanted || (type == INV_MOVE_SALE && pick(2)))
            put(o, "null");
        else {
            put(o, "\"");
            string_body(o, INV_CODEC_MAX_ID_LEN);
            put(o, "\"");
        }
        return;
    }
    case 9: /* expires_at */
        if (pick(40) == 0)
            put(o, pick(2) ? "\"soon\"" : "5");
        else if (type != INV_MOVE_RESERVE)
            put(o, "null");
        else
            gen_value(o, 6, type);
        return;
    case 12: /* rejected */
        if (pick(40) == 0)
            put(o, odd_numbers[pick(sizeof(odd_numbers) / sizeof(odd_numbers[0]))]);
        else
            put(o, type == INV_MOVE_TRANSFER_IN && pick(2) ? "1" : "0");
        return;
    case 13: /* allow_partial */
        if (pick(40) == 0)
            put(o, pick(2) ? "null" : pick(2) ? "1" : "\"true\"");
        else
            put(o, type == INV_MOVE_RESERVE && pick(2) ? "true" : "false");
        return;
    }
}

/* One StockMovement: the schema's members in schema or random order, each
 * sometimes dropped, repeated or joined by an unknown one, whitespace
 * between the tokens, values mostly valid. */
static size_t gen_movement(char *buf, size_t cap) {
    static const char *names[14] = {"movement_id",    "sku",          "location_id", "channel",
                                    "type",           "quantity",     "occurred_at", "source",
                                    "reservation_id", "expires_at",   "transfer_id", "other_location_id",
                                    "rejected",       "allow_partial"};
    enum { REQUIRED = 8, KNOWN = 14 };
    int order[KNOWN + 2], n = 0;
    out_t o = {buf, 0, cap};
    int type = (int)pick(12);
    /* the optional members are left out now and then: they have defaults */
    for (int i = 0; i < KNOWN; i++)
        if (i < REQUIRED || pick(4))
            order[n++] = i;
    if (pick(2))
        for (int i = n - 1; i > 0; i--) {
            int j = (int)pick((unsigned)i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    if (pick(30) == 0) /* drop one */
        order[pick((unsigned)n)] = order[n - 1], n--;
    if (pick(30) == 0) { /* repeat one */
        order[n] = order[pick((unsigned)n)];
        n++;
    }
    if (pick(30) == 0) /* an unknown member */
        order[n++] = KNOWN;
    if (pick(40) == 0)
        put(&o, "\xEF\xBB\xBF");
    ws(&o);
    put(&o, "{");
    for (int i = 0; i < n; i++) {
        if (i) {
            ws(&o);
            put(&o, ",");
        }
        ws(&o);
        put(&o, "\"");
        put(&o, order[i] < KNOWN ? names[order[i]] : "comment");
        put(&o, "\"");
        ws(&o);
        put(&o, ":");
        ws(&o);
        if (order[i] < KNOWN)
            gen_value(&o, order[i], type);
        else
            put(&o, pick(2) ? "{\"a\":[1,null]}" : "\"x\"");
        ws(&o);
    }
    put(&o, "}");
    ws(&o);
    if (pick(200) == 0)
        put(&o, pick(2) ? "x" : ",");
    return o.len;
}

static void test_public_decode_equals_jansson_on_generated_movements(void) {
    static char buf[8192];
    const int total = 5000;
    int failed = 0, fast = 0;
    for (int i = 0; i < total && failed < 10; i++) {
        size_t len = gen_movement(buf, sizeof(buf));
        /* the generator's own random cut: a prefix of the message */
        if (pick(100) == 0)
            len = pick((unsigned)len + 1);
        int f = 0;
        failed += same_as_jansson(buf, len, &f);
        fast += f;
    }
    fprintf(stderr, "     %d generated movements, %d taken by the fast path\n", total, fast);
    INV_ASSERT(failed == 0, "%d differ (stopped at 10)", failed);
    /* both paths must have been exercised for the comparison to mean much */
    INV_ASSERT(fast > total / 4 && fast < total * 9 / 10, "the fast path took %d of %d", fast, total);
}

int main(void) {
    char err[512];
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    dec_jansson = inv_decoder_new(&resolver, err, sizeof(err));
    dec_fast_only = inv_decoder_new(&resolver, err, sizeof(err));
    if (!dec || !dec_jansson || !dec_fast_only) {
        fprintf(stderr, "codec setup failed: %s\n", err);
        return 1;
    }
    inv_decoder_set_json_path(dec_jansson, INV_JSON_PATH_JANSSON);
    inv_decoder_set_json_path(dec_fast_only, INV_JSON_PATH_FAST_ONLY);
    INV_RUN(test_scans_a_compact_object);
    INV_RUN(test_strings_are_nul_terminated_copies_in_the_scratch_buffer);
    INV_RUN(test_json_whitespace_is_taken_wherever_json_allows_it);
    INV_RUN(test_members_come_in_any_order);
    INV_RUN(test_an_optional_member_may_be_null_or_absent);
    INV_RUN(test_integers_cover_int64);
    INV_RUN(test_utf8_strings_are_taken_byte_for_byte);
    INV_RUN(test_declines_everything_it_does_not_decode_exactly);
    INV_RUN(test_declines_strings_the_scratch_buffer_cannot_hold);
    INV_RUN(test_fast_path_takes_the_common_movement);
    INV_RUN(test_fast_path_strings_outlive_the_input_until_the_next_decode);
    INV_RUN(test_fast_path_members_are_the_schema_fields);
    INV_RUN(test_public_decode_equals_jansson_on_the_codec_cases);
    INV_RUN(test_public_decode_equals_jansson_on_generated_movements);
    inv_decoder_destroy(dec);
    inv_decoder_destroy(dec_jansson);
    inv_decoder_destroy(dec_fast_only);
    return INV_TEST_DONE();
}
