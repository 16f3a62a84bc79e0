/*
 * processor_tool: the processors' engine as a filter, without Kafka, for
 * checking an integration test's expectations offline
 * (tests/integration/test_reserve_transfer_processors.py offline).
 *
 *   processor_tool KIND [TTL_MS]   KIND: sale, return, restock, reservation
 *                                  or transfer; TTL_MS: reservation.max.ttl.ms
 *                                  (default 7 days)
 *
 * Reads one input message per line on stdin, as hex (an empty line is an
 * empty message), and writes one line per message: "OK " and the message's
 * JSON StockMovements separated by tabs (JSON escapes every tab), or
 * "ERROR <reason>" (the dead letter's inv.error). Default schema ids.
 */
#include "inv_processor.h"

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

int main(int argc, char **argv) {
    static const char *const names[] = {"sale", "return", "restock", "reservation", "transfer"};
    int kind = -1;
    for (int i = 0; argc >= 2 && i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(argv[1], names[i]) == 0)
            kind = i;
    inv_processor_limits_t limits = {.reservation_max_ttl_ms = 604800000};
    if (argc == 3)
        limits.reservation_max_ttl_ms = strtoll(argv[2], NULL, 10);
    if (kind < 0 || argc > 3 || limits.reservation_max_ttl_ms <= 0) {
        fprintf(stderr, "usage: processor_tool sale|return|restock|reservation|transfer [TTL_MS]\n");
        return 2;
    }
    char err[1024];
    inv_schema_resolver_t resolver;
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
    inv_decoder_t *d = inv_decoder_new(&resolver, err, sizeof(err));
    inv_encoder_t *e = d ? inv_encoder_new(INV_FORMAT_JSON, &resolver, err, sizeof(err)) : NULL;
    if (!e) {
        fprintf(stderr, "processor_tool: %s\n", err);
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
        if (unhex(line, &len)) {
            printf("ERROR not hex\n");
            continue;
        }
        inv_processor_input_t in;
        if (inv_processor_decode(d, (inv_processor_kind_t)kind, &limits, line, len, &in, err, sizeof(err)) != 0) {
            printf("ERROR %s\n", err);
            continue;
        }
        printf("OK ");
        for (size_t i = 0; i < in.line_count; i++) {
            char id[1024];
            inv_movement_t m;
            if (inv_processor_movement(&in, i, id, sizeof(id), &m) != 0 ||
                inv_encoder_encode_movement(e, &m, &out, err, sizeof(err)) != 0) {
                printf("%sERROR line %zu", i ? "\t" : "", i);
                continue;
            }
            printf("%s%.*s", i ? "\t" : "", (int)out.len, out.data);
        }
        putchar('\n');
    }
    free(line);
    inv_buf_free(&out);
    inv_encoder_destroy(e);
    inv_decoder_destroy(d);
    return 0;
}
