/* inv_channel_csv: the CSV that `invctl channel import` publishes. */
#include <stdio.h>
#include <string.h>

#include "inv_channel_csv.h"
#include "inv_test.h"

static char got[1024];
static char errstr[512];

static int collect(void *opaque, const inv_channel_location_t *c) {
    (void)opaque;
    size_t n = strlen(got);
    snprintf(got + n, sizeof(got) - n, "%s|%s:%lld;", c->channel, c->location_id, (long long)c->buffer);
    return 0;
}

static int read_text(const char *text) {
    got[0] = '\0';
    errstr[0] = '\0';
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc = inv_channel_csv_read(f, "c.csv", collect, NULL, errstr, sizeof(errstr));
    fclose(f);
    return rc;
}

static void test_reads_every_entry_in_header_order(void) {
    INV_ASSERT_EQ_INT(0,
                      read_text("buffer,channel,location_id\n2,online,dc-1\n\n# comment\n0, marketplace-eu , dc-2\n"));
    INV_ASSERT_EQ_STR("online|dc-1:2;marketplace-eu|dc-2:0;", got);
}

static void test_a_missing_header_column_is_named(void) {
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id\nonline,dc-1\n"));
    INV_ASSERT_EQ_STR("c.csv:1: header: missing column buffer", errstr);
}

static void test_a_bad_buffer_names_line_and_field_and_publishes_nothing(void) {
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id,buffer\nonline,dc-1,1\nonline,dc-2,-1\n"));
    INV_ASSERT_EQ_STR("c.csv:3: buffer: \"-1\" is not an integer from 0 to 1000000000000", errstr);
    INV_ASSERT_EQ_STR("", got);
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id,buffer\nonline,dc-1,1000000000001\n"));
    INV_ASSERT_EQ_STR("c.csv:2: buffer: \"1000000000001\" is not an integer from 0 to 1000000000000", errstr);
}

static void test_names_are_checked_as_the_contract_says(void) {
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id,buffer\non|line,dc-1,1\n"));
    INV_ASSERT_EQ_STR("c.csv:2: channel: '|' at byte 2 is not allowed", errstr);
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id,buffer\nonline,,1\n"));
    INV_ASSERT(strncmp(errstr, "c.csv:2: location_id: empty", 27) == 0, "%s", errstr);
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id,buffer\nonline,*,1\n"));
    INV_ASSERT_EQ_STR("c.csv:2: location_id: \"*\" is not a location", errstr);
}

static void test_a_short_line_and_an_empty_file_are_refused(void) {
    INV_ASSERT_EQ_INT(-1, read_text("channel,location_id,buffer\nonline,dc-1\n"));
    INV_ASSERT_EQ_STR("c.csv:2: buffer: missing", errstr);
    INV_ASSERT_EQ_INT(-1, read_text(""));
    INV_ASSERT_EQ_STR("c.csv: empty file (expected a header line)", errstr);
}

int main(void) {
    INV_RUN(test_reads_every_entry_in_header_order);
    INV_RUN(test_a_missing_header_column_is_named);
    INV_RUN(test_a_bad_buffer_names_line_and_field_and_publishes_nothing);
    INV_RUN(test_names_are_checked_as_the_contract_says);
    INV_RUN(test_a_short_line_and_an_empty_file_are_refused);
    return INV_TEST_DONE();
}
