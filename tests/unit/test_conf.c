/* inv_conf: defaults, validation and the precedence flag > env > file > default. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inv_conf.h"
#include "inv_test.h"

static const inv_conf_flag_t flags[] = {
    {"state-dir", "state.dir", "DIR", "state"},
    {NULL, NULL, NULL, NULL},
};
static const inv_program_t prog = {.name = "t", .summary = "s", .default_group_id = "inv-test", .flags = flags};

static char errstr[512];

static int parse(inv_conf_t *c, int argc, char **argv) {
    int next;
    return inv_conf_parse_args(c, &prog, argc, argv, &next, errstr, sizeof(errstr));
}

static char *write_file(const char *text) {
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/inv-conf-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
    return path;
}

static void test_defaults_match_the_contract(void) {
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_STR("127.0.0.1:9092", inv_conf_get(c, "brokers"));
    INV_ASSERT_EQ_STR("pos.sales", inv_conf_get(c, "topic.sales"));
    INV_ASSERT_EQ_STR("inventory.movements", inv_conf_get(c, "topic.movements"));
    INV_ASSERT_EQ_STR("json", inv_conf_get(c, "output.format"));
    INV_ASSERT_EQ_STR("./state", inv_conf_get(c, "state.dir"));
    INV_ASSERT_EQ_INT(100, inv_conf_get_int(c, "commit.interval.ms"));
    INV_ASSERT_EQ_INT(604800000, inv_conf_get_int(c, "dedup.window.ms"));
    inv_conf_destroy(c);
}

static void test_program_default_group_id_applies(void) {
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", NULL};
    INV_ASSERT_EQ_INT(INV_CONF_PARSED, parse(c, 1, argv));
    INV_ASSERT_EQ_STR("inv-test", inv_conf_get(c, "group.id"));
    inv_conf_destroy(c);
}

static void test_unknown_key_is_named(void) {
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", "-X", "no.such=1", NULL};
    INV_ASSERT_EQ_INT(-1, parse(c, 3, argv));
    INV_ASSERT_EQ_STR("-X: unknown configuration key \"no.such\"", errstr);
    inv_conf_destroy(c);
}

static void test_integer_out_of_range_is_named(void) {
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_INT(-1, inv_conf_set(c, "commit.interval.ms", "0", errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("commit.interval.ms: 0 is out of range [1, 60000]", errstr);
    INV_ASSERT_EQ_INT(-1, inv_conf_set(c, "commit.interval.ms", "12ms", errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("commit.interval.ms: \"12ms\" is not an integer", errstr);
    inv_conf_destroy(c);
}

static void test_enum_value_must_be_a_choice(void) {
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_INT(-1, inv_conf_set(c, "output.format", "xml", errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("output.format: \"xml\" is not one of json,avro", errstr);
    INV_ASSERT_EQ_INT(0, inv_conf_set(c, "output.format", "avro", errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("avro", inv_conf_get(c, "output.format"));
    inv_conf_destroy(c);
}

static void test_unknown_flag_is_named(void) {
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", "--bogus", NULL};
    INV_ASSERT_EQ_INT(-1, parse(c, 2, argv));
    INV_ASSERT_EQ_STR("--bogus: unknown flag (see --help)", errstr);
    inv_conf_destroy(c);
}

static void test_program_flag_sets_its_key(void) {
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", "--state-dir", "/var/lib/inv", "-b", "k1:9092,k2:9092", NULL};
    INV_ASSERT_EQ_INT(INV_CONF_PARSED, parse(c, 5, argv));
    INV_ASSERT_EQ_STR("/var/lib/inv", inv_conf_get(c, "state.dir"));
    INV_ASSERT_EQ_STR("k1:9092,k2:9092", inv_conf_get(c, "brokers"));
    inv_conf_destroy(c);
}

static void test_precedence_flag_over_env_over_file(void) {
    char *path =
        write_file("# comment\n\ntopic.sales = from-file\ntopic.returns=from-file\ntopic.restocks=from-file\n");
    setenv("INV_TOPIC_RETURNS", "from-env", 1);
    setenv("INV_TOPIC_RESTOCKS", "from-env", 1);
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", "-c", path, "-X", "topic.restocks=from-flag", NULL};
    INV_ASSERT_EQ_INT(INV_CONF_PARSED, parse(c, 5, argv));
    INV_ASSERT_EQ_STR("from-file", inv_conf_get(c, "topic.sales"));
    INV_ASSERT_EQ_STR("from-env", inv_conf_get(c, "topic.returns"));
    INV_ASSERT_EQ_STR("from-flag", inv_conf_get(c, "topic.restocks"));
    unsetenv("INV_TOPIC_RETURNS");
    unsetenv("INV_TOPIC_RESTOCKS");
    unlink(path);
    inv_conf_destroy(c);
}

static void test_file_error_names_file_and_line(void) {
    char *path = write_file("brokers=x:1\nbatch.max.messages=-5\n");
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_INT(-1, inv_conf_load_file(c, path, errstr, sizeof(errstr)));
    char expected[256];
    snprintf(expected, sizeof(expected), "%s:2: batch.max.messages: -5 is out of range [1, 1000000]", path);
    INV_ASSERT_EQ_STR(expected, errstr);
    unlink(path);
    inv_conf_destroy(c);
}

static void test_env_maps_kafka_props_and_mixed_case_keys(void) {
    char *envp[] = {"INV_KAFKA_SECURITY_PROTOCOL=ssl", "INV_SCHEMA_ID_SALEEVENT=42", "INV_BROKER_PORT=9999",
                    "PATH=/bin", NULL};
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_INT(0, inv_conf_load_env(c, envp, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(42, inv_conf_get_int(c, "schema.id.SaleEvent"));
    INV_ASSERT_EQ_INT(1, inv_conf_kafka_count(c));
    const char *prop, *value;
    inv_conf_kafka_at(c, 0, &prop, &value);
    INV_ASSERT_EQ_STR("security.protocol", prop);
    INV_ASSERT_EQ_STR("ssl", value);
    inv_conf_destroy(c);
}

static void test_bad_env_value_names_the_variable(void) {
    char *envp[] = {"INV_OUTPUT_FORMAT=yaml", NULL};
    inv_conf_t *c = inv_conf_new();
    INV_ASSERT_EQ_INT(-1, inv_conf_load_env(c, envp, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_STR("INV_OUTPUT_FORMAT: output.format: \"yaml\" is not one of json,avro", errstr);
    inv_conf_destroy(c);
}

static void test_parsing_stops_at_the_first_command_word(void) {
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", "-b", "h:1", "topics", "create", "--partitions", "3", NULL};
    int next;
    INV_ASSERT_EQ_INT(INV_CONF_PARSED, inv_conf_parse_args(c, &prog, 7, argv, &next, errstr, sizeof(errstr)));
    INV_ASSERT_EQ_INT(3, next);
    inv_conf_destroy(c);
}

static void test_commit_interval_must_be_below_transaction_timeout(void) {
    inv_conf_t *c = inv_conf_new();
    char *argv[] = {"t", "-X", "commit.interval.ms=40000", NULL};
    INV_ASSERT_EQ_INT(-1, parse(c, 3, argv));
    INV_ASSERT_EQ_STR("commit.interval.ms: 40000 is not below transaction.timeout.ms (30000)", errstr);
    inv_conf_destroy(c);
    c = inv_conf_new();
    char *ok[] = {"t", "-X", "commit.interval.ms=40000", "-X", "transaction.timeout.ms=50000", NULL};
    INV_ASSERT_EQ_INT(INV_CONF_PARSED, parse(c, 5, ok));
    inv_conf_destroy(c);
}

/* A mistyped key in the code fails the first run that reads it: the
 * process aborts, naming the key, instead of reading "" or 0. */
static int get_in_child_dies(const char *key, int as_int) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        inv_conf_t *c = inv_conf_new();
        if (as_int)
            (void)inv_conf_get_int(c, key);
        else
            (void)inv_conf_get(c, key);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_a_key_not_in_the_table_aborts_the_caller(void) {
    INV_ASSERT(get_in_child_dies("topic.sale", 0), "inv_conf_get of a mistyped key returned");
    INV_ASSERT(get_in_child_dies("commit.interval", 1), "inv_conf_get_int of a mistyped key returned");
    INV_ASSERT(get_in_child_dies("topic.sales", 1), "inv_conf_get_int of a string key returned");
    INV_ASSERT(!get_in_child_dies("topic.sales", 0), "inv_conf_get of a known key died");
}

int main(void) {
    INV_RUN(test_defaults_match_the_contract);
    INV_RUN(test_a_key_not_in_the_table_aborts_the_caller);
    INV_RUN(test_program_default_group_id_applies);
    INV_RUN(test_unknown_key_is_named);
    INV_RUN(test_integer_out_of_range_is_named);
    INV_RUN(test_enum_value_must_be_a_choice);
    INV_RUN(test_unknown_flag_is_named);
    INV_RUN(test_program_flag_sets_its_key);
    INV_RUN(test_precedence_flag_over_env_over_file);
    INV_RUN(test_file_error_names_file_and_line);
    INV_RUN(test_env_maps_kafka_props_and_mixed_case_keys);
    INV_RUN(test_bad_env_value_names_the_variable);
    INV_RUN(test_parsing_stops_at_the_first_command_word);
    INV_RUN(test_commit_interval_must_be_below_transaction_timeout);
    return INV_TEST_DONE();
}
