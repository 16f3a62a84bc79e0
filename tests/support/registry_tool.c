/*
 * registry_tool: inv_registry from the command line, for
 * tests/integration/test_registry.py (not a test itself).
 *
 *   registry_tool [-X key=value]... get ID...
 *   registry_tool [-X key=value]... register SUBJECT SCHEMA_JSON
 *
 * -X sets a configuration key (schema.registry.url, auto.register.schemas,
 * ...). One client serves every ID of a `get`, so a repeated ID comes from
 * its cache. Prints "schema ID JSON" per ID or "id N" to stdout, then
 * "stats requests=N failures=N cache_hits=N cache_misses=N". The first
 * failure stops it, with "error NAME: ERRSTR" on stdout and the exit code
 * 3 not found, 4 unavailable, 5 refused, 6 invalid; 2 for a bad usage or
 * configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_conf.h"
#include "inv_log.h"
#include "inv_parse.h"
#include "inv_registry.h"

static int usage(void) {
    fprintf(stderr, "usage: registry_tool [-X key=value]... get ID... | register SUBJECT SCHEMA_JSON\n");
    return 2;
}

static int exit_code(int rc) {
    switch (rc) {
    case 0: return 0;
    case INV_REGISTRY_NOT_FOUND: return 3;
    case INV_REGISTRY_UNAVAILABLE: return 4;
    case INV_REGISTRY_REFUSED: return 5;
    default: return 6;
    }
}

static int run(inv_registry_t *reg, int argc, char **argv, char *errstr, size_t errstr_size) {
    if (strcmp(argv[0], "get") == 0 && argc >= 2) {
        for (int i = 1; i < argc; i++) {
            int64_t id;
            if (inv_parse_int64(argv[i], INT32_MIN, INT32_MAX, &id) != 0)
                return inv_errstr(errstr, errstr_size, "get: \"%s\" is not a schema id", argv[i]), INV_REGISTRY_INVALID;
            const char *schema;
            size_t len;
            int rc = inv_registry_schema_by_id(reg, (int32_t)id, &schema, &len, errstr, errstr_size);
            if (rc != 0)
                return rc;
            printf("schema %s %.*s\n", argv[i], (int)len, schema);
        }
        return 0;
    }
    if (strcmp(argv[0], "register") == 0 && argc == 3) {
        int32_t id;
        int rc = inv_registry_register(reg, argv[1], argv[2], &id, errstr, errstr_size);
        if (rc == 0)
            printf("id %d\n", (int)id);
        return rc;
    }
    return inv_errstr(errstr, errstr_size, "unknown command or wrong arguments: %s", argv[0]), INV_REGISTRY_INVALID;
}

int main(int argc, char **argv) {
    char errstr[INV_ERRSTR_SIZE];
    inv_conf_t *conf = inv_conf_new();
    int i = 1;
    for (; i + 1 < argc && strcmp(argv[i], "-X") == 0; i += 2) {
        char *eq = strchr(argv[i + 1], '=');
        if (!eq) {
            inv_conf_destroy(conf);
            return usage();
        }
        *eq = '\0';
        if (inv_conf_set(conf, argv[i + 1], eq + 1, errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "registry_tool: %s\n", errstr);
            inv_conf_destroy(conf);
            return 2;
        }
    }
    if (i >= argc) {
        inv_conf_destroy(conf);
        return usage();
    }
    inv_registry_conf_t rc_conf;
    inv_registry_t *reg = NULL;
    if (inv_registry_conf_read(conf, &rc_conf, errstr, sizeof(errstr)) != 0 ||
        !(reg = inv_registry_new(&rc_conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "registry_tool: %s\n", errstr);
        inv_conf_destroy(conf);
        return 2;
    }
    int rc = run(reg, argc - i, argv + i, errstr, sizeof(errstr));
    if (rc != 0)
        printf("error %s: %s\n", inv_registry_strerror(rc), errstr);
    inv_registry_stats_t st;
    inv_registry_stats(reg, &st);
    printf("stats requests=%llu failures=%llu cache_hits=%llu cache_misses=%llu\n", (unsigned long long)st.requests,
           (unsigned long long)st.failures, (unsigned long long)st.cache_hits, (unsigned long long)st.cache_misses);
    inv_registry_destroy(reg);
    inv_conf_destroy(conf);
    return exit_code(rc);
}
