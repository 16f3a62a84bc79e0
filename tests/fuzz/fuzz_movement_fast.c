/*
 * libFuzzer target for the JSON StockMovement fast path (inv_json_flat in
 * front of jansson in inv_decoder_decode_movement). For every input:
 *  - what the fast path alone takes, jansson takes with the same fields,
 *    and a contract error on the fast path's struct is jansson's error too;
 *  - the public decode equals the jansson-only decode in return code,
 *    every field and the error text.
 * A difference aborts, which libFuzzer reports.
 */
#include "inv_codec.h"
#include "test_codec_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inv_schema_resolver_t resolver;
static inv_decoder_t *dec, *dec_jansson, *dec_fast;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_options(void);

/* See fuzz_decode.c: Avro-C's values are not 8-byte aligned. */
const char *__lsan_default_options(void) { return "use_unaligned=1"; }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[512];
    (void)argc;
    (void)argv;
    inv_schema_resolver_static_init(&resolver, inv_schema_default_ids);
    dec = inv_decoder_new(&resolver, err, sizeof(err));
    dec_jansson = inv_decoder_new(&resolver, err, sizeof(err));
    dec_fast = inv_decoder_new(&resolver, err, sizeof(err));
    if (!dec || !dec_jansson || !dec_fast) {
        fprintf(stderr, "fuzz setup: %s\n", err);
        abort();
    }
    inv_decoder_set_json_path(dec_jansson, INV_JSON_PATH_JANSSON);
    inv_decoder_set_json_path(dec_fast, INV_JSON_PATH_FAST_ONLY);
    return 0;
}

/* Aborts unless a and b are the same result. */
static void expect_same(const char *what, int rc_a, const inv_movement_t *a, const char *err_a, int rc_b,
                        const inv_movement_t *b, const char *err_b) {
    char diff[600] = "";
    if (rc_a == rc_b && (rc_a == 0 || strcmp(err_a, err_b) == 0) && !movement_diff(a, b, diff, sizeof(diff)))
        return;
    fprintf(stderr, "%s differs from jansson: rc %d vs %d, error \"%s\" vs \"%s\" %s\n", what, rc_a, rc_b,
            rc_a ? err_a : "", rc_b ? err_b : "", diff);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512], err_jansson[512], err_fast[512];
    inv_movement_t m, m_jansson, m_fast;
    int rc_jansson = inv_decoder_decode_movement(dec_jansson, data, size, &m_jansson, err_jansson, sizeof(err_jansson));
    int rc_fast = inv_decoder_decode_movement(dec_fast, data, size, &m_fast, err_fast, sizeof(err_fast));
    int rc = inv_decoder_decode_movement(dec, data, size, &m, err, sizeof(err));
    if (rc_fast == 0 || strcmp(err_fast, "not taken by the JSON fast path") != 0)
        expect_same("the fast path", rc_fast, &m_fast, err_fast, rc_jansson, &m_jansson, err_jansson);
    expect_same("the public decode", rc, &m, err, rc_jansson, &m_jansson, err_jansson);
    return 0;
}
