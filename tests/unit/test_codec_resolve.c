/*
 * inv_codec: Avro records written with another schema than ours (a schema
 * registry's writer schema) are read through Avro schema resolution; what
 * cannot be resolved fails with a reason naming the field; a resolver that
 * cannot answer now makes the decode say INV_DECODE_RETRY.
 *
 * The test resolver serves writer schemas from a table, our embedded
 * schemas for the default ids, and counts its calls.
 */
#include "inv_codec.h"
#include "inv_test.h"
#include "test_codec_util.h"

static char err[512];

/* Writer schemas, written with ' for " (served with "). */
/* The user's case: our fields in another order plus an optional one. */
#define SALE_REORDERED                                                                                                 \
    "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["                                \
    "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'quantity','" \
    "type':'long'},{'name':'sku','type':'string'}]}}},"                                                                \
    "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"                                  \
    "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"     \
    "{'name':'cashier','type':['null','string'],'default':null},"                                                      \
    "{'name':'location_id','type':'string'},"                                                                          \
    "{'name':'source','type':'string'},"                                                                               \
    "{'name':'event_id','type':'string'}"                                                                              \
    "]}"
#define SALE_REORDERED_BODY "a:1 l:2 s:SKU-1 a:0 l:1795341600000 e:3 u:1 s:alice s:store-1 s:pos s:T-1"

typedef struct {
    int32_t id;
    const char *text;
} served_t;

static const served_t served[] = {
    {17, SALE_REORDERED},
    /* ReturnEvent without its optional original_event_id */
    {18, "{'type':'record','name':'ReturnEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':'string'},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'ReturnLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'long'},{'name':'disposition','type':{'type':'enum','name':'"
         "Disposition','symbols':['resellable','damaged']}}]}}}"
         "]}"},
    /* int -> long, bytes -> string */
    {19, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':'string'},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'bytes'},{'name':'quantity','type':'int'}]}}}"
         "]}"},
    /* Channel's symbols in another order, plus one we lack */
    {20, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':'string'},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['kiosk','b2b','store','online','"
         "marketplace']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'long'}]}}}"
         "]}"},
    /* location_id optional in the writer: its null fails only the records that carry it */
    {22, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':['null','string'],'default':null},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'long'}]}}}"
         "]}"},
    /* writer fields of every kind we do not know, skipped */
    {23,
     "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
     "{'name':'tags','type':{'type':'map','values':'long'}},"
     "{'name':'event_id','type':'string'},"
     "{'name':'hash','type':{'type':'fixed','name':'H','size':4}},"
     "{'name':'source','type':'string'},"
     "{'name':'till','type':{'type':'record','name':'Till','fields':[{'name':'n','type':'double'},{'name':'open','type'"
     ":'boolean'},{'name':'f','type':'float'}]}},"
     "{'name':'location_id','type':'string'},"
     "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
     "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
     "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','type':"
     "'string'},{'name':'extra','type':{'type':'array','items':'string'}},{'name':'quantity','type':'long'}]}}}"
     "]}"},
    /* cannot be resolved: a quantity as a string */
    {30, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':'string'},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'string'}]}}}"
         "]}"},
    /* cannot be resolved: no location_id */
    {31, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'long'}]}}}"
         "]}"},
    /* cannot be resolved: not a SaleEvent */
    {32, "{'type':'record','name':'PurchaseOrder','namespace':'com.inventory.events','fields':["
         "{'name':'po','type':'string'}"
         "]}"},
    /* cannot be resolved: channel as a string */
    {33, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':'string'},"
         "{'name':'channel','type':'string'},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'long'}]}}}"
         "]}"},
    /* our SaleEvent as a registry returns it: no docs */
    {40, "{'type':'record','name':'SaleEvent','namespace':'com.inventory.events','fields':["
         "{'name':'event_id','type':'string'},"
         "{'name':'source','type':'string'},"
         "{'name':'location_id','type':'string'},"
         "{'name':'channel','type':{'type':'enum','name':'Channel','symbols':['store','online','marketplace','b2b']}},"
         "{'name':'occurred_at','type':{'type':'long','logicalType':'timestamp-millis'}},"
         "{'name':'lines','type':{'type':'array','items':{'type':'record','name':'SaleLine','fields':[{'name':'sku','"
         "type':'string'},{'name':'quantity','type':'long'}]}}},"
         "{'name':'reservation_id','type':['null','string'],'default':null}"
         "]}"},
};

/* Ids from 1000 on serve SALE_REORDERED (the cache-bound test). */
#define MANY_FIRST 1000
#define SERVED (sizeof(served) / sizeof(served[0]))

typedef struct {
    int calls;
    int32_t retry_id;       /* answers INV_SCHEMA_RETRY for this id */
    char *json[SERVED + 1]; /* served[i].text with " for ', then SALE_REORDERED */
} test_resolver_t;

static test_resolver_t tr;

static int test_lookup_id(const inv_schema_resolver_t *r, int32_t id, inv_msg_type_t *type) {
    (void)r;
    for (int t = 0; t < INV_MSG_COUNT; t++)
        if (inv_schema_default_ids[t] == id) {
            *type = (inv_msg_type_t)t;
            return 0;
        }
    return -1;
}

static int32_t test_id_for(const inv_schema_resolver_t *r, inv_msg_type_t type) {
    (void)r;
    return inv_schema_default_ids[type];
}

static int test_writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len, char *errstr,
                              size_t n) {
    test_resolver_t *t = r->opaque;
    inv_msg_type_t type;
    t->calls++;
    if (id == t->retry_id) {
        snprintf(errstr, n, "registry unreachable");
        return INV_SCHEMA_RETRY;
    }
    *json = NULL;
    for (size_t i = 0; i < SERVED; i++)
        if (served[i].id == id)
            *json = t->json[i];
    if (id >= MANY_FIRST)
        *json = t->json[SERVED];
    if (!*json && test_lookup_id(r, id, &type) == 0)
        *json = inv_schema_json(type);
    if (!*json) {
        snprintf(errstr, n, "subject not found");
        return INV_SCHEMA_UNKNOWN;
    }
    *len = strlen(*json);
    return 0;
}

static inv_schema_resolver_t resolver = {test_lookup_id, test_id_for, test_writer_schema, &tr};

static size_t spec(unsigned char *buf, size_t cap, int32_t id, const char *body) {
    char s[1024];
    snprintf(s, sizeof(s), "@%d %s", (int)id, body);
    size_t n = avro_spec(buf, cap, s);
    return n;
}

/* Decodes a SaleEvent written with schema `id`; 0, -1 or INV_DECODE_RETRY. */
static int decode_sale(inv_decoder_t *d, int32_t id, const char *body, inv_event_t *ev) {
    unsigned char buf[1024];
    size_t n = spec(buf, sizeof(buf), id, body);
    return inv_decoder_decode_event(d, INV_EVENT_SALE, buf, n, ev, err, sizeof(err));
}

#define SALE_BODY "s:T-1 s:pos s:store-1 e:0 l:1795341600000 a:1 s:SKU-1 l:2 a:0"

static char *double_quoted(const char *text) {
    char *s = strdup(text);
    for (char *p = s; p && *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static inv_decoder_t *new_decoder(void) {
    tr.calls = 0;
    tr.retry_id = -1;
    for (size_t i = 0; i <= SERVED && !tr.json[i]; i++)
        tr.json[i] = double_quoted(i < SERVED ? served[i].text : SALE_REORDERED);
    return inv_decoder_new(&resolver, err, sizeof(err));
}

static void test_reordered_fields_and_an_added_optional_field_read_by_name(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    int rc = decode_sale(d, 17, SALE_REORDERED_BODY, &ev);
    INV_EXPECT(rc == 0, "%s", err);
    INV_EXPECT(ev.event_id && strcmp(ev.event_id, "T-1") == 0);
    INV_EXPECT(ev.source && strcmp(ev.source, "pos") == 0);
    INV_EXPECT(ev.location_id && strcmp(ev.location_id, "store-1") == 0);
    INV_EXPECT(ev.channel == INV_CHANNEL_B2B);
    INV_EXPECT(ev.occurred_at_ms == 1795341600000);
    INV_EXPECT(ev.line_count == 1 && strcmp(ev.lines[0].sku, "SKU-1") == 0 && ev.lines[0].quantity == 2);
    /* fifty of them, as the user's AvroSerializer wrote: one resolver call */
    for (int i = 0; i < 50; i++)
        INV_EXPECT(decode_sale(d, 17, SALE_REORDERED_BODY, &ev) == 0, "%s", err);
    INV_EXPECT(tr.calls == 1, "resolver called %d times", tr.calls);
    inv_decoder_destroy(d);
}

static void test_a_removed_optional_field_takes_its_default(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    unsigned char buf[256];
    size_t n = spec(buf, sizeof(buf), 18, "s:R-1 s:web s:dc-1 e:1 l:0 a:1 s:SKU-1 l:1 e:1 a:0");
    inv_event_t ev;
    int rc = inv_decoder_decode_event(d, INV_EVENT_RETURN, buf, n, &ev, err, sizeof(err));
    INV_EXPECT(rc == 0, "%s", err);
    INV_EXPECT(ev.original_event_id == NULL);
    INV_EXPECT(ev.channel == INV_CHANNEL_ONLINE);
    INV_EXPECT(ev.line_count == 1 && ev.lines[0].disposition == INV_DISPOSITION_DAMAGED);
    inv_decoder_destroy(d);
}

static void test_int_promotes_to_long_and_bytes_to_string(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    int rc = decode_sale(d, 19, "s:T-1 s:pos s:store-1 e:0 l:0 a:2 s:SKU-1 l:-7 s:SKU-2 l:2147483647 a:0", &ev);
    INV_EXPECT(rc == -1 && strcmp(err, "lines[0].quantity: -7 is not positive") == 0,
               "the contract's checks apply after resolution: %s", err);
    rc = decode_sale(d, 19, "s:T-1 s:pos s:store-1 e:0 l:0 a:2 s:SKU-1 l:7 s:SKU-2 l:2147483647 a:0", &ev);
    INV_ASSERT(rc == 0, "%s", err);
    INV_EXPECT(ev.line_count == 2 && ev.lines[0].quantity == 7 && ev.lines[1].quantity == 2147483647);
    INV_EXPECT(strcmp(ev.lines[1].sku, "SKU-2") == 0);
    inv_decoder_destroy(d);
}

static void test_enum_symbols_resolve_by_name(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    INV_EXPECT(decode_sale(d, 20, "s:T-1 s:pos s:store-1 e:1 l:0 a:1 s:SKU-1 l:2 a:0", &ev) == 0, "%s", err);
    INV_EXPECT(ev.channel == INV_CHANNEL_B2B);
    INV_EXPECT(decode_sale(d, 20, "s:T-1 s:pos s:store-1 e:4 l:0 a:1 s:SKU-1 l:2 a:0", &ev) == 0, "%s", err);
    INV_EXPECT(ev.channel == INV_CHANNEL_MARKETPLACE);
    /* a symbol we lack: that record fails (Channel has no default), not the id */
    INV_EXPECT(decode_sale(d, 20, "s:T-1 s:pos s:store-1 e:0 l:0 a:1 s:SKU-1 l:2 a:0", &ev) == -1);
    INV_EXPECT(strcmp(err, "SaleEvent: writer schema 20 field channel is symbol kiosk, which reader enum Channel "
                           "lacks (no default)") == 0,
               "%s", err);
    INV_EXPECT(ev.event_id == NULL, "no half-decoded event");
    inv_decoder_destroy(d);
}

static void test_a_writer_union_branch_the_reader_lacks_fails_only_its_records(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    INV_EXPECT(decode_sale(d, 22, "s:T-1 s:pos u:1 s:store-1 e:0 l:0 a:1 s:SKU-1 l:2 a:0", &ev) == 0, "%s", err);
    INV_EXPECT(ev.location_id && strcmp(ev.location_id, "store-1") == 0);
    INV_EXPECT(decode_sale(d, 22, "s:T-1 s:pos u:0 e:0 l:0 a:1 s:SKU-1 l:2 a:0", &ev) == -1);
    INV_EXPECT(strcmp(err, "SaleEvent: writer schema 22 field location_id is null, reader wants string") == 0, "%s",
               err);
    inv_decoder_destroy(d);
}

static void test_writer_fields_we_lack_are_skipped_whatever_their_type(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    /* tags {a: 1} in one block of 1 (negative count with a byte size), hash, till {n, open, f} */
    int rc = decode_sale(d, 23,
                         "l:-1 l:3 s:a l:1 a:0 s:T-1 x:01020304 s:pos x:000000000000f03f x:01 x:0000803f s:store-1 e:2 "
                         "l:1795341600000 a:1 s:SKU-1 a:2 s:x s:y a:0 l:3 a:0",
                         &ev);
    INV_ASSERT(rc == 0, "%s", err);
    INV_EXPECT(strcmp(ev.event_id, "T-1") == 0 && strcmp(ev.source, "pos") == 0);
    INV_EXPECT(strcmp(ev.location_id, "store-1") == 0 && ev.channel == INV_CHANNEL_MARKETPLACE);
    INV_EXPECT(ev.line_count == 1 && strcmp(ev.lines[0].sku, "SKU-1") == 0 && ev.lines[0].quantity == 3);
    inv_decoder_destroy(d);
}

static void test_unresolvable_writer_schemas_name_the_field(void) {
    static const struct {
        int32_t id;
        const char *error;
    } cases[] = {
        {30, "SaleEvent: writer schema 30 field lines[].quantity is string, reader wants long"},
        {31, "SaleEvent: reader field location_id has no default and the writer schema 31 lacks it"},
        {32, "SaleEvent: writer schema 32 is record PurchaseOrder, reader wants SaleEvent"},
        {33, "SaleEvent: writer schema 33 field channel is string, reader wants enum Channel"},
        {3, "schema id 3 is RestockEvent, expected SaleEvent"},
        {41, "unknown schema id 41: subject not found"},
    };
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        inv_event_t ev;
        for (int again = 0; again < 2; again++) { /* the first time and from the cache */
            INV_EXPECT(decode_sale(d, cases[i].id, SALE_BODY, &ev) == -1, "id %d", (int)cases[i].id);
            INV_EXPECT(strcmp(err, cases[i].error) == 0, "id %d: got \"%s\", expected \"%s\"", (int)cases[i].id, err,
                       cases[i].error);
        }
    }
    inv_decoder_destroy(d);
}

static void test_a_malformed_body_keeps_its_byte_offset_under_the_writer_schema(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    /* cut inside the cashier: header 5, lines 9, time 6, enum, branch, length at 22 of "alice" */
    INV_EXPECT(decode_sale(d, 17, "a:1 l:2 s:SKU-1 a:0 l:1795341600000 e:3 u:1 x:0a616c", &ev) == -1);
    INV_EXPECT(strcmp(err, "cashier: truncated Avro body at byte 23 (string of 5 bytes, 2 left)") == 0, "%s", err);
    INV_EXPECT(decode_sale(d, 17, SALE_REORDERED_BODY " x:00", &ev) == -1);
    INV_EXPECT(strcmp(err, "1 trailing bytes after the Avro record at byte 44") == 0, "%s", err);
    inv_decoder_destroy(d);
}

static void test_the_cache_keeps_at_most_its_bound_and_drops_the_least_recent(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    for (int32_t i = 0; i <= INV_CODEC_WRITER_CACHE; i++) /* one more id than it holds */
        INV_ASSERT(decode_sale(d, MANY_FIRST + i, SALE_REORDERED_BODY, &ev) == 0, "%s", err);
    INV_ASSERT_EQ_INT(INV_CODEC_WRITER_CACHE + 1, tr.calls);
    INV_ASSERT(decode_sale(d, MANY_FIRST + INV_CODEC_WRITER_CACHE, SALE_REORDERED_BODY, &ev) == 0, "%s", err);
    INV_ASSERT(decode_sale(d, MANY_FIRST + 1, SALE_REORDERED_BODY, &ev) == 0, "%s", err);
    INV_ASSERT_EQ_INT(INV_CODEC_WRITER_CACHE + 1, tr.calls); /* both still there */
    INV_ASSERT(decode_sale(d, MANY_FIRST, SALE_REORDERED_BODY, &ev) == 0, "%s", err);
    INV_ASSERT_EQ_INT(INV_CODEC_WRITER_CACHE + 2, tr.calls); /* the first was dropped: asked again */
    inv_decoder_destroy(d);
}

static void test_retry_from_the_resolver_is_its_own_code_and_not_remembered(void) {
    inv_decoder_t *d = new_decoder();
    INV_ASSERT(d, "%s", err);
    inv_event_t ev;
    tr.retry_id = 17;
    INV_EXPECT(decode_sale(d, 17, SALE_REORDERED_BODY, &ev) == INV_DECODE_RETRY);
    INV_EXPECT(strcmp(err, "schema id 17: registry unreachable") == 0, "%s", err);
    INV_EXPECT(ev.event_id == NULL && ev.line_count == 0, "nothing decoded");
    INV_EXPECT(decode_sale(d, 17, SALE_REORDERED_BODY, &ev) == INV_DECODE_RETRY);
    INV_EXPECT(tr.calls == 2, "asked again: %d", tr.calls);
    tr.retry_id = -1; /* the registry is back */
    INV_EXPECT(decode_sale(d, 17, SALE_REORDERED_BODY, &ev) == 0, "%s", err);
    /* movements too */
    tr.retry_id = 15;
    unsigned char buf[256];
    size_t n = spec(buf, sizeof(buf), 15, "s:m s:S s:L u:0 e:3 l:1 l:0 s:s u:0 u:0 u:0 u:0 l:0 x:00");
    inv_movement_t m;
    INV_EXPECT(inv_decoder_decode_movement(d, buf, n, &m, err, sizeof(err)) == INV_DECODE_RETRY, "%s", err);
    tr.retry_id = -1;
    INV_EXPECT(inv_decoder_decode_movement(d, buf, n, &m, err, sizeof(err)) == 0, "%s", err);
    inv_decoder_destroy(d);
}

/* Our own schema, from the static resolver or as a registry spells it, is
 * read as before: what our encoder wrote comes back unchanged. */
static void test_our_own_schema_reads_as_before(void) {
    static const int32_t ids[INV_MSG_COUNT] = {40, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    inv_schema_resolver_t st;
    inv_schema_resolver_static_init(&st, ids);
    inv_encoder_t *e = inv_encoder_new(INV_FORMAT_AVRO, &st, err, sizeof(err));
    inv_decoder_t *ds = inv_decoder_new(&st, err, sizeof(err));
    inv_decoder_t *dr = new_decoder();
    INV_ASSERT(e && ds && dr, "%s", err);
    inv_line_t lines[] = {{.sku = "SKU-1", .quantity = 2}, {.sku = "SKU-ü", .quantity = 5}};
    inv_event_t in = {.kind = INV_EVENT_SALE,
                      .event_id = "T-1",
                      .source = "pos",
                      .location_id = "store-1",
                      .channel = INV_CHANNEL_ONLINE,
                      .occurred_at_ms = 1795341600000,
                      .lines = lines,
                      .line_count = 2},
                ev;
    inv_buf_t out;
    inv_buf_init(&out);
    INV_ASSERT(inv_encoder_encode_event(e, &in, &out, err, sizeof(err)) == 0, "%s", err);
    for (int k = 0; k < 2; k++) {
        inv_decoder_t *d = k ? dr : ds; /* the registry's id 40 is our SaleEvent without docs */
        INV_EXPECT(inv_decoder_decode_event(d, INV_EVENT_SALE, out.data, out.len, &ev, err, sizeof(err)) == 0, "%s",
                   err);
        INV_EXPECT(strcmp(ev.event_id, "T-1") == 0 && ev.channel == INV_CHANNEL_ONLINE && ev.line_count == 2 &&
                   strcmp(ev.lines[1].sku, "SKU-ü") == 0 && ev.lines[1].quantity == 5);
    }
    inv_buf_free(&out);
    inv_encoder_destroy(e);
    inv_decoder_destroy(ds);
    inv_decoder_destroy(dr);
}

static void test_the_retry_backoff_doubles_and_resets(void) {
    inv_decode_backoff_t b = {0};
    inv_decode_backoff_wait(&b, "schema id 17: registry unreachable"); /* 100 ms, logged */
    INV_EXPECT(b.retries == 1 && b.delay_ms == 200, "%u %u", b.retries, b.delay_ms);
    inv_decode_backoff_wait(&b, "schema id 17: registry unreachable"); /* 200 ms, not logged */
    INV_EXPECT(b.retries == 2 && b.delay_ms == 400, "%u %u", b.retries, b.delay_ms);
    inv_decode_backoff_done(&b);
    INV_EXPECT(b.retries == 0 && b.delay_ms == 0);
}

int main(void) {
    INV_RUN(test_reordered_fields_and_an_added_optional_field_read_by_name);
    INV_RUN(test_a_removed_optional_field_takes_its_default);
    INV_RUN(test_int_promotes_to_long_and_bytes_to_string);
    INV_RUN(test_enum_symbols_resolve_by_name);
    INV_RUN(test_a_writer_union_branch_the_reader_lacks_fails_only_its_records);
    INV_RUN(test_writer_fields_we_lack_are_skipped_whatever_their_type);
    INV_RUN(test_unresolvable_writer_schemas_name_the_field);
    INV_RUN(test_a_malformed_body_keeps_its_byte_offset_under_the_writer_schema);
    INV_RUN(test_the_cache_keeps_at_most_its_bound_and_drops_the_least_recent);
    INV_RUN(test_retry_from_the_resolver_is_its_own_code_and_not_remembered);
    INV_RUN(test_our_own_schema_reads_as_before);
    INV_RUN(test_the_retry_backoff_doubles_and_resets);
    for (size_t i = 0; i <= SERVED; i++)
        free(tr.json[i]);
    return INV_TEST_DONE();
}
