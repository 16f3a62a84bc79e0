/* inv_policy_csv: the CSV that `invctl policy import` publishes. */
#include <stdio.h>
#include <string.h>

#include "inv_policy_csv.h"
#include "inv_test.h"

static char got[1024];
static char errstr[512];

static int collect(void *opaque, const inv_policy_t *p) {
    (void)opaque;
    size_t n = strlen(got);
    snprintf(got + n, sizeof(got) - n, "%s|%s:%lld/%lld/%lld;", p->sku, p->location_id, (long long)p->reorder_point,
             (long long)p->reorder_quantity, (long long)p->safety_stock);
    return 0;
}

static int read_text(const char *text) {
    got[0] = '\0';
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc = inv_policy_csv_read(f, "p.csv", collect, NULL, errstr, sizeof(errstr));
    fclose(f);
    return rc;
}

static void test_reads_every_policy_in_header_order(void) {
    INV_ASSERT_EQ_INT(0, read_text("safety_stock,sku,location_id,reorder_quantity,reorder_point\n"
                                   "4,SKU-1,store-12,24,10\n\n# comment\n1, SKU-2 ,*,12,-1\n"));
    INV_ASSERT_EQ_STR("SKU-1|store-12:10/24/4;SKU-2|*:-1/12/1;", got);
}

static void test_missing_header_column_is_named(void) {
    INV_ASSERT_EQ_INT(-1, read_text("sku,location_id,reorder_point,reorder_quantity\nA,b,1,2\n"));
    INV_ASSERT_EQ_STR("p.csv:1: header: missing column safety_stock", errstr);
}

static void test_bad_number_names_line_and_column_and_publishes_nothing(void) {
    INV_ASSERT_EQ_INT(-1, read_text("sku,location_id,reorder_point,reorder_quantity,safety_stock\n"
                                    "A,b,1,2,3\nA,c,1,two,3\n"));
    INV_ASSERT_EQ_STR("p.csv:3: reorder_quantity: \"two\" is not an integer", errstr);
    INV_ASSERT_EQ_STR("", got);
}

static void test_negative_quantity_is_refused(void) {
    INV_ASSERT_EQ_INT(-1, read_text("sku,location_id,reorder_point,reorder_quantity,safety_stock\nA,b,1,2,-3\n"));
    INV_ASSERT_EQ_STR("p.csv:2: safety_stock: -3 is negative", errstr);
}

static void test_empty_sku_and_short_line_are_refused(void) {
    INV_ASSERT_EQ_INT(-1, read_text("sku,location_id,reorder_point,reorder_quantity,safety_stock\n,b,1,2,3\n"));
    INV_ASSERT_EQ_STR("p.csv:2: sku: must not be empty", errstr);
    INV_ASSERT_EQ_INT(-1, read_text("sku,location_id,reorder_point,reorder_quantity,safety_stock\nA,b,1\n"));
    INV_ASSERT_EQ_STR("p.csv:2: reorder_quantity: missing", errstr);
}

static void test_empty_file_is_an_error(void) {
    INV_ASSERT_EQ_INT(-1, read_text(""));
    INV_ASSERT_EQ_STR("p.csv: empty file (expected a header line)", errstr);
}

int main(void) {
    INV_RUN(test_reads_every_policy_in_header_order);
    INV_RUN(test_missing_header_column_is_named);
    INV_RUN(test_bad_number_names_line_and_column_and_publishes_nothing);
    INV_RUN(test_negative_quantity_is_refused);
    INV_RUN(test_empty_sku_and_short_line_are_refused);
    INV_RUN(test_empty_file_is_an_error);
    return INV_TEST_DONE();
}
