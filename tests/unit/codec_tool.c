/*
 * codec_tool: the codec as a filter, for cross-checks with other
 * implementations (tests/integration/test_codec_fastavro.py) and for
 * making fuzz seeds.
 *
 *   codec_tool FROM2TO TYPE   with FROM2TO one of json2avro, avro2json,
 *                             json2json, avro2avro and TYPE a message name
 *                             (SaleEvent, ..., ShortageEvent)
 *
 *   codec_tool FROM2TO TYPE ID=FILE...
 *                             the same, Avro records with schema id ID
 *                             written with the writer schema in FILE
 *                             (read through schema resolution)
 *
 * Reads one message per line on stdin (JSON text, or Avro as hex) and
 * writes one line per message on stdout: the converted message (hex for
 * Avro), or "ERROR <message>" when it does not decode or encode. Default
 * schema ids. Exit 0 unless the arguments are wrong.
 */
#include "inv_codec.h"
#include "test_codec_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unhex(char *s, size_t *len) {
    size_t n = strlen(s);
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        char hex[3] = {s[i], s[i + 1], 0};
        char *end;
        long v = strtol(hex, &end, 16);
        if (*end)
            return -1;
        s[i / 2] = (char)v;
    }
    *len = n / 2;
    return 0;
}

/* Writer schemas from ID=FILE arguments, else the static resolver's. */
#define MAX_WRITERS 16
static struct {
    int32_t id;
    char *json;
    size_t len;
} writers[MAX_WRITERS];
static int writer_count;
static inv_schema_resolver_t static_resolver;

static int tool_writer_schema(const inv_schema_resolver_t *r, int32_t id, const char **json, size_t *len, char *errstr,
                              size_t errstr_size) {
    (void)r;
    for (int i = 0; i < writer_count; i++)
        if (writers[i].id == id) {
            *json = writers[i].json;
            *len = writers[i].len;
            return 0;
        }
    return static_resolver.writer_schema(&static_resolver, id, json, len, errstr, errstr_size);
}

static int add_writer(const char *arg) {
    char *end;
    long id = strtol(arg, &end, 10);
    if (end == arg || *end != '=' || writer_count == MAX_WRITERS)
        return -1;
    writers[writer_count].id = (int32_t)id;
    if (!(writers[writer_count].json = read_file(end + 1, &writers[writer_count].len)))
        return -1;
    writer_count++;
    return 0;
}

int main(int argc, char **argv) {
    inv_msg_type_t type;
    int bad_writer = 0;
    for (int i = 3; i < argc; i++)
        bad_writer |= add_writer(argv[i]);
    if (argc < 3 || bad_writer || inv_msg_type_from_name(argv[2], &type) ||
        (strcmp(argv[1], "json2avro") && strcmp(argv[1], "avro2json") && strcmp(argv[1], "json2json") &&
         strcmp(argv[1], "avro2avro"))) {
        fprintf(stderr,
                "usage: codec_tool json2avro|avro2json|json2json|avro2avro TYPE [ID=WRITER.avsc...] < in > out\n");
        return 2;
    }
    int from_avro = strncmp(argv[1], "avro", 4) == 0;
    int to_avro = strcmp(argv[1] + 5, "avro") == 0;
    char err[512];
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&static_resolver, inv_schema_default_ids);
    r = static_resolver;
    r.writer_schema = tool_writer_schema;
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    inv_encoder_t *e = d ? inv_encoder_new(to_avro ? INV_FORMAT_AVRO : INV_FORMAT_JSON, &r, err, sizeof(err)) : NULL;
    if (!e) {
        fprintf(stderr, "codec_tool: %s\n", err);
        inv_decoder_destroy(d);
        return 1;
    }
    inv_buf_t out;
    inv_buf_init(&out);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        any_msg_t m;
        if (from_avro && unhex(line, &len)) {
            printf("ERROR not hex\n");
            continue;
        }
        if (any_decode(d, type, line, len, &m, err, sizeof(err)) || any_encode(e, type, &m, &out, err, sizeof(err))) {
            printf("ERROR %s\n", err);
            continue;
        }
        if (to_avro)
            for (size_t i = 0; i < out.len; i++)
                printf("%02x", (unsigned char)out.data[i]);
        else
            fwrite(out.data, 1, out.len, stdout);
        putchar('\n');
    }
    free(line);
    inv_buf_free(&out);
    inv_encoder_destroy(e);
    inv_decoder_destroy(d);
    for (int i = 0; i < writer_count; i++)
        free(writers[i].json);
    return 0;
}
