/*
 * fuzz_seeds: writes the seed corpora of the fuzz targets from
 * tests/unit/codec_cases: every case as JSON and as Avro, into
 * OUT/<target>/<Name>-<n>.json|.avro; and from REJECTED (the format is in
 * tests/fuzz/rejected_seeds.txt) inputs every decoder must reject, into
 * OUT/<target>/rejected-<line>.json|.avro. A case that no longer decodes,
 * or a rejected input that does, fails the run: the seeds would be stale.
 *
 *   fuzz_seeds CASES_DIR OUT_DIR [REJECTED]
 */
#include "inv_codec.h"
#include "test_codec_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *target_of(inv_msg_type_t t) {
    switch (t) {
    case INV_MSG_SALE_EVENT:
    case INV_MSG_RETURN_EVENT:
    case INV_MSG_RESTOCK_EVENT: return "event";
    case INV_MSG_STOCK_MOVEMENT: return "movement";
    case INV_MSG_REORDER_POLICY: return "policy";
    case INV_MSG_STOCK_LEVEL: return "stock_level";
    case INV_MSG_REORDER_EVENT: return "reorder";
    case INV_MSG_RESERVATION_EVENT: return "reservation";
    case INV_MSG_TRANSFER_EVENT: return "transfer";
    case INV_MSG_CHANNEL_LOCATION: return "channel_location";
    case INV_MSG_AVAILABILITY_LEVEL: return "availability";
    case INV_MSG_RESERVATION_STATUS: return "reservation_status";
    default: return "shortage";
    }
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* The seeds of a REJECTED file; their number, or -1. */
static int write_rejected(inv_decoder_t *d, const char *file, const char *out_dir) {
    size_t len;
    char *text = read_file(file, &len);
    if (!text) {
        fprintf(stderr, "fuzz_seeds: cannot read %s\n", file);
        return -1;
    }
    int written = 0, lineno = 0, rc = 0;
    for (char *line = text, *next; line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!*line || *line == '#')
            continue;
        char name[32], format[8], path[1024], err[512];
        int skip = 0;
        inv_msg_type_t t;
        if (sscanf(line, "%31s %7s %n", name, format, &skip) != 2 || !skip || inv_msg_type_from_name(name, &t) ||
            (strcmp(format, "json") && strcmp(format, "avro"))) {
            fprintf(stderr, "fuzz_seeds: %s:%d: expected <message name> json|avro <input>\n", file, lineno);
            rc = -1;
            break;
        }
        const char *input = line + skip;
        unsigned char avro[4096];
        const void *bytes = input;
        size_t size = strlen(input);
        if (format[0] == 'a') {
            bytes = avro;
            if (!(size = avro_spec(avro, sizeof(avro), input))) {
                fprintf(stderr, "fuzz_seeds: %s:%d: bad Avro notation\n", file, lineno);
                rc = -1;
                break;
            }
        }
        any_msg_t m;
        if (any_decode(d, t, bytes, size, &m, err, sizeof(err)) == 0) {
            fprintf(stderr, "fuzz_seeds: %s:%d: decodes, but is listed as rejected\n", file, lineno);
            rc = -1;
            break;
        }
        snprintf(path, sizeof(path), "%s/%s/rejected-%d.%s", out_dir, target_of(t), lineno, format);
        if (write_file(path, bytes, size)) {
            rc = -1;
            break;
        }
        written++;
    }
    free(text);
    return rc ? rc : written;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: fuzz_seeds CASES_DIR OUT_DIR [REJECTED]\n");
        return 2;
    }
    char err[512], path[1024];
    inv_schema_resolver_t r;
    inv_schema_resolver_static_init(&r, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&r, err, sizeof(err));
    inv_encoder_t *e = inv_encoder_new(INV_FORMAT_AVRO, &r, err, sizeof(err));
    if (!d || !e) {
        fprintf(stderr, "fuzz_seeds: %s\n", err);
        return 1;
    }
    inv_buf_t out;
    inv_buf_init(&out);
    int written = 0, rc = 0;
    mkdir(argv[2], 0777);
    for (int t = 0; t < INV_MSG_COUNT && rc == 0; t++) {
        const char *name = inv_msg_type_name((inv_msg_type_t)t);
        snprintf(path, sizeof(path), "%s/%s", argv[2], target_of((inv_msg_type_t)t));
        mkdir(path, 0777);
        snprintf(path, sizeof(path), "%s/%s.jsonl", argv[1], name);
        char *text = read_file(path, NULL);
        if (!text) {
            fprintf(stderr, "fuzz_seeds: cannot read %s\n", path);
            rc = 1;
            break;
        }
        int n = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
            any_msg_t m;
            snprintf(path, sizeof(path), "%s/%s/%s-%d.json", argv[2], target_of((inv_msg_type_t)t), name, n);
            if (write_file(path, line, strlen(line)) ||
                any_decode(d, (inv_msg_type_t)t, line, strlen(line), &m, err, sizeof(err)) ||
                any_encode(e, (inv_msg_type_t)t, &m, &out, err, sizeof(err))) {
                fprintf(stderr, "fuzz_seeds: %s case %d: %s\n", name, n, err);
                rc = 1;
                break;
            }
            snprintf(path, sizeof(path), "%s/%s/%s-%d.avro", argv[2], target_of((inv_msg_type_t)t), name, n);
            if (write_file(path, out.data, out.len)) {
                rc = 1;
                break;
            }
            written += 2;
        }
        free(text);
    }
    if (rc == 0 && argc == 4) {
        int n = write_rejected(d, argv[3], argv[2]);
        if (n < 0)
            rc = 1;
        else
            written += n;
    }
    inv_buf_free(&out);
    inv_encoder_destroy(e);
    inv_decoder_destroy(d);
    if (rc == 0)
        fprintf(stderr, "fuzz_seeds: %d seeds in %s\n", written, argv[2]);
    return rc;
}
