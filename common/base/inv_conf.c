#include "inv_conf.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inv_log.h"
#include "inv_parse.h"

#define I64_BIG INT64_C(1000000000000)

/* The one table of configuration keys. Order is the order of --help and of
 * docs/CONFIGURATION.md. */
const inv_conf_key_t inv_conf_keys[] = {
    {"brokers", INV_CONF_STRING, "127.0.0.1:9092", 0, 0, NULL, "Kafka bootstrap servers, host:port[,host:port...]"},
    {"group.id", INV_CONF_STRING, "", 0, 0, NULL,
     "Consumer group; defaults to the program name (inv-sale, inv-return, inv-restock, inv-reserve, inv-transfer, "
     "inv-stock; inv-view names its readers after it)"},
    {"instance.id", INV_CONF_STRING, "", 0, 0, NULL,
     "Stable name of this instance, part of its transactional id; default: host name and a per-host slot (inv-stock: "
     "kept in its state dir)"},
    {"log.level", INV_CONF_ENUM, "info", 0, 0, "error,warn,info,debug", "Lowest level logged to stderr"},
    {"output.format", INV_CONF_ENUM, "json", 0, 0, "json,avro",
     "Format of every message written (Avro in the Confluent wire format)"},
    {"topic.sales", INV_CONF_STRING, "pos.sales", 0, 0, NULL, "Input topic of SaleEvents"},
    {"topic.returns", INV_CONF_STRING, "pos.returns", 0, 0, NULL, "Input topic of ReturnEvents"},
    {"topic.restocks", INV_CONF_STRING, "pos.restocks", 0, 0, NULL, "Input topic of RestockEvents"},
    {"topic.reservations", INV_CONF_STRING, "pos.reservations", 0, 0, NULL,
     "Input topic of ReservationEvents (recommended key: reservation_id)"},
    {"topic.transfers", INV_CONF_STRING, "pos.transfers", 0, 0, NULL,
     "Input topic of TransferEvents (recommended key: transfer_id)"},
    {"topic.movements", INV_CONF_STRING, "inventory.movements", 0, 0, NULL, "StockMovements, keyed by SKU"},
    {"topic.policies", INV_CONF_STRING, "inventory.policies", 0, 0, NULL,
     "Compacted ReorderPolicies, keyed sku|location_id"},
    {"topic.channels", INV_CONF_STRING, "inventory.channels", 0, 0, NULL,
     "Compacted ChannelLocations, keyed channel|location_id"},
    {"topic.stock", INV_CONF_STRING, "inventory.stock", 0, 0, NULL,
     "Compacted StockLevels: current stock and inv-stock's changelog"},
    {"topic.availability", INV_CONF_STRING, "inventory.availability", 0, 0, NULL,
     "Compacted AvailabilityLevels, keyed sku|channel"},
    {"topic.reservation_status", INV_CONF_STRING, "inventory.reservation-status", 0, 0, NULL,
     "ReservationStatuses, keyed by reservation_id"},
    {"topic.reorders", INV_CONF_STRING, "inventory.reorders", 0, 0, NULL, "ReorderEvents"},
    {"topic.shortages", INV_CONF_STRING, "inventory.shortages", 0, 0, NULL, "ShortageEvents"},
    {"topic.dlq", INV_CONF_STRING, "inventory.dlq", 0, 0, NULL, "Dead letters: invalid inputs with their reason"},
    {"topic.dedup", INV_CONF_STRING, "inventory.stock-dedup", 0, 0, NULL,
     "inv-stock's internal log of applied movement ids, so duplicate detection moves with a partition"},
    {"topic.state", INV_CONF_STRING, "inventory.stock-state", 0, 0, NULL,
     "inv-stock's internal compacted log of a partition's other state (open reservation lines), so it moves with "
     "the partition"},
    {"schema.id.SaleEvent", INV_CONF_INT, "14", 0, INT32_MAX, NULL, "Confluent schema id of SaleEvent"},
    {"schema.id.ReturnEvent", INV_CONF_INT, "2", 0, INT32_MAX, NULL, "Confluent schema id of ReturnEvent"},
    {"schema.id.RestockEvent", INV_CONF_INT, "3", 0, INT32_MAX, NULL, "Confluent schema id of RestockEvent"},
    {"schema.id.StockMovement", INV_CONF_INT, "15", 0, INT32_MAX, NULL, "Confluent schema id of StockMovement"},
    {"schema.id.ReorderPolicy", INV_CONF_INT, "5", 0, INT32_MAX, NULL, "Confluent schema id of ReorderPolicy"},
    {"schema.id.StockLevel", INV_CONF_INT, "17", 0, INT32_MAX, NULL, "Confluent schema id of StockLevel"},
    {"schema.id.ReorderEvent", INV_CONF_INT, "7", 0, INT32_MAX, NULL, "Confluent schema id of ReorderEvent"},
    {"schema.id.ShortageEvent", INV_CONF_INT, "8", 0, INT32_MAX, NULL, "Confluent schema id of ShortageEvent"},
    {"schema.id.ReservationEvent", INV_CONF_INT, "9", 0, INT32_MAX, NULL, "Confluent schema id of ReservationEvent"},
    {"schema.id.TransferEvent", INV_CONF_INT, "10", 0, INT32_MAX, NULL, "Confluent schema id of TransferEvent"},
    {"schema.id.ChannelLocation", INV_CONF_INT, "11", 0, INT32_MAX, NULL, "Confluent schema id of ChannelLocation"},
    {"schema.id.AvailabilityLevel", INV_CONF_INT, "12", 0, INT32_MAX, NULL, "Confluent schema id of AvailabilityLevel"},
    {"schema.id.ReservationStatus", INV_CONF_INT, "13", 0, INT32_MAX, NULL, "Confluent schema id of ReservationStatus"},
    {"schema.registry.url", INV_CONF_STRING, "", 0, 0, NULL,
     "Confluent-compatible schema registry, http(s)://host:port[/path][,...] (tried in order until one answers); "
     "empty = no registry"},
    {"schema.registry.basic.auth.user.info", INV_CONF_STRING, "", 0, 0, NULL,
     "user:password for HTTP basic authentication to the schema registry; empty = none"},
    {"schema.registry.ssl.ca.location", INV_CONF_STRING, "", 0, 0, NULL,
     "PEM file of the CAs that sign the schema registry's certificate; empty = the system's CAs"},
    {"schema.registry.ssl.certificate.location", INV_CONF_STRING, "", 0, 0, NULL,
     "PEM client certificate for the schema registry (with schema.registry.ssl.key.location); empty = none"},
    {"schema.registry.ssl.key.location", INV_CONF_STRING, "", 0, 0, NULL,
     "PEM private key of schema.registry.ssl.certificate.location; empty = none"},
    {"schema.registry.request.timeout.ms", INV_CONF_INT, "5000", 100, 300000, NULL,
     "Longest time one request to the schema registry may take, connecting included; past it the registry counts as "
     "unavailable (the input is held and retried)"},
    {"schema.registry.cache.capacity", INV_CONF_INT, "1000", 1, 1000000, NULL,
     "Most writer schemas kept in memory by id; the least recently used one is dropped past it"},
    {"schema.registry.recovery.ms", INV_CONF_INT, "60000", 0, 3600000, NULL,
     "For this long after the schema registry answers again (and after start-up), an id it reports not found is "
     "held and asked again instead of dead-lettered: a registry replaying its storage (Apicurio's kafkasql) answers "
     "not found for ids it has not loaded yet. 0: not found is final at once"},
    {"auto.register.schemas", INV_CONF_ENUM, "true", 0, 0, "true,false",
     "true: outputs register their schema under <topic>-value; false: only look it up (a schema not registered "
     "there is an error)"},
    {"commit.interval.ms", INV_CONF_INT, "100", 1, 60000, NULL,
     "Longest time a transaction stays open before it commits; must be below transaction.timeout.ms"},
    {"commit.min.interval.ms", INV_CONF_INT, "10", -1, 60000, NULL,
     "Once a transaction is this old it commits as soon as no input is waiting (low latency at any load); -1 = only at "
     "commit.interval.ms or batch.max.messages"},
    {"transaction.producers", INV_CONF_INT, "2", 1, 2, NULL,
     "Transactional producers used in turn, one transaction each (2: a transaction starts while the broker still "
     "writes the previous one's commit markers; ids <group.id>-<instance.id> and <group.id>-<instance.id>.1)"},
    {"batch.max.messages", INV_CONF_INT, "20000", 1, 1000000, NULL, "Most input messages in one transaction"},
    {"transaction.timeout.ms", INV_CONF_INT, "30000", 1000, 900000, NULL,
     "How long a transaction may stay open: its outputs wait this long for a partition leader (an election after "
     "a broker loss takes 10-20 s), and the broker aborts a dead instance's transaction after it. Also the timeout "
     "of one commit or abort call; one retried for twice this long is given up and the producer recreated"},
    {"shutdown.timeout.ms", INV_CONF_INT, "5000", 1, 3600000, NULL,
     "At exit, longest wait for each Kafka client to be destroyed; after it the program exits without it (librdkafka "
     "2.0.x can hang there forever, librdkafka#4362; the work is committed by then)"},
    {"state.dir", INV_CONF_STRING, "./state", 0, 0, NULL, "inv-stock, inv-view: LMDB environment directory"},
    {"http.listen", INV_CONF_STRING, "", 0, 0, NULL,
     "inv-stock and the processors: ADDR:PORT for /healthz and /metrics (inv-stock: also /stock/<sku>); empty = "
     "off. inv-view: ADDR:PORT of its API and dashboard; empty = 127.0.0.1:8080"},
    {"http.threads", INV_CONF_INT, "2", 1, 64, NULL,
     "HTTP worker threads (http.listen), each an epoll loop over its share of the connections; handlers (inv-stock's "
     "/stock lookups) run up to this many at once. A slow or idle client never holds a thread"},
    {"http.connection.limit", INV_CONF_INT, "2048", 16, 1000000, NULL,
     "Most HTTP connections open at once, idle and slow ones included (each costs a file descriptor and up "
     "to http.connection.memory.kb); above it a new connection, /healthz too, waits in the listen backlog until one "
     "closes. Capped at start to the RLIMIT_NOFILE soft limit minus http.fd.reserve, with a warning"},
    {"http.connection.timeout.ms", INV_CONF_INT, "10000", 1000, 3600000, NULL,
     "An HTTP connection that sends and receives nothing for this long is closed (keep-alive ones too). "
     "libmicrohttpd counts whole seconds: rounded up to the next second. It measures inactivity, not the request's "
     "age: a client trickling a byte sooner keeps its connection, so http.connection.limit must exceed the connections "
     "expected"},
    {"http.per.ip.connection.limit", INV_CONF_INT, "0", 0, 1000000, NULL,
     "Most HTTP connections from one address; 0 = unlimited. Unlimited by default because the kubelet's "
     "probes come from the same address (the node, a NAT, a sidecar, localhost) as other clients: once slow clients "
     "there reached the limit, /healthz would be turned away too. http.connection.limit and http.connection.timeout.ms "
     "protect the server instead"},
    {"http.connection.memory.kb", INV_CONF_INT, "16", 4, 1024, NULL,
     "Memory per HTTP connection for its request and response headers (libmicrohttpd's pool; a longer "
     "request line or headers are refused); HTTP takes at most about http.connection.limit times this"},
    {"http.listen.backlog", INV_CONF_INT, "1024", 16, 65535, NULL,
     "Connections the kernel queues before the HTTP server accepts them (the kernel caps it at "
     "net.core.somaxconn)"},
    {"http.fd.reserve", INV_CONF_INT, "256", 0, 1000000, NULL,
     "File descriptors kept from HTTP connections for Kafka sockets, LMDB and the rest of the process: "
     "http.connection.limit is capped to the RLIMIT_NOFILE soft limit minus this"},
    {"http.tls.cert.location", INV_CONF_STRING, "", 0, 0, NULL,
     "PEM certificate (chain) of the HTTP server; with http.tls.key.location it serves HTTPS only; empty = plain HTTP"},
    {"http.tls.key.location", INV_CONF_STRING, "", 0, 0, NULL, "PEM private key of http.tls.cert.location"},
    {"http.basic.auth.user.info", INV_CONF_STRING, "", 0, 0, NULL,
     "user:password that every HTTP request but /healthz must carry (HTTP basic authentication; use TLS with it); "
     "empty = none"},
    {"view.history.per.sku", INV_CONF_INT, "50", 1, 100000, NULL,
     "inv-view: most recent ShortageEvents, and as many ReorderEvents, kept per SKU"},
    {"view.history.max", INV_CONF_INT, "10000", 1, 10000000, NULL,
     "inv-view: most recent ShortageEvents, and as many ReorderEvents, kept over every SKU (/api/shortages, "
     "/api/reorders)"},
    {"view.map.size.mb", INV_CONF_INT, "4096", 16, 1048576, NULL,
     "inv-view: LMDB map size (address space, not memory or disk); a full map stops inv-view with an error: raise it"},
    {"view.sse.buffer", INV_CONF_INT, "16384", 64, 10000000, NULL,
     "inv-view: changes kept for /api/events subscribers; one that falls further behind gets an `event: gap` and "
     "goes on from the oldest kept"},
    {"health.max.lag", INV_CONF_INT, "10000", 0, INT64_C(1000000000), NULL,
     "inv-stock: /healthz is ready only while every assigned partition lags by at most this many messages"},
    {"health.max.stall.ms", INV_CONF_INT, "15000", 1000, INT64_C(86400000), NULL,
     "inv-stock and the processors: /healthz is not ready while input has waited this long for a Kafka transaction to "
     "commit (brokers "
     "below min.insync.replicas, a lost coordinator); the body says why"},
    {"lmdb.map.size.mb", INV_CONF_INT, "64", 1, 1048576, NULL,
     "inv-stock: initial LMDB map size; it grows by itself when full"},
    {"lmdb.sync", INV_CONF_ENUM, "none", 0, 0, "none,data,full",
     "inv-stock: fsync per LMDB commit: none (the state is rebuilt from Kafka after an OS crash), data (one fdatasync, "
     "metadata lazy), full (LMDB's default, two)"},
    {"restore.confirm.timeout.ms", INV_CONF_INT, "30000", 1000, 3600000, NULL,
     "inv-stock: how long a restore waits, while records are pending, for the dedup log to show the previous owner's "
     "last committed batch; past it the partition stays held and is restored again later, never recorded at an offset "
     "it has not applied"},
    {"dedup.window.ms", INV_CONF_INT, "604800000", 60000, INT64_C(31536000000), NULL,
     "inv-stock: how long an applied movement id is kept to drop re-sent events, from when inv-stock first applied it, "
     "on its own clock (default 7 days)"},
    {"count.window.ms", INV_CONF_INT, "172800000", 60000, INT64_C(31536000000), NULL,
     "inv-stock: how far before a row's newest change a physical count may be dated and still be applied as of its "
     "time (older counts go to the DLQ); each row keeps its on_hand changes of this window; at most dedup.window.ms "
     "(default 48 h)"},
    {"clock.skew.max.ms", INV_CONF_INT, "300000", 0, INT64_C(31536000000), NULL,
     "inv-stock: a movement dated more than this after the moment inv-stock applies it is placed at that moment "
     "on its row's timeline, for counts applied as of their time (default 5 min)"},
    {"reservation.max.ttl.ms", INV_CONF_INT, "604800000", 1000, INT64_C(31536000000), NULL,
     "inv-reserve: longest time a hold may last, from its occurred_at to its expires_at; a hold expiring later goes "
     "to the DLQ (default 7 days)"},
    {"policy.default.reorder_point", INV_CONF_INT, "0", -I64_BIG, I64_BIG, NULL,
     "Reorder point where no policy is set for a SKU"},
    {"policy.default.reorder_quantity", INV_CONF_INT, "0", 0, I64_BIG, NULL,
     "Reorder quantity where no policy is set for a SKU"},
    {"policy.default.safety_stock", INV_CONF_INT, "0", 0, I64_BIG, NULL,
     "Safety stock (shortage threshold) where no policy is set for a SKU"},
};
const size_t inv_conf_key_count = sizeof(inv_conf_keys) / sizeof(inv_conf_keys[0]);

#define KEY_COUNT (sizeof(inv_conf_keys) / sizeof(inv_conf_keys[0]))

typedef struct {
    char *prop;
    char *value;
} kafka_prop_t;

struct inv_conf_s {
    char *values[KEY_COUNT];
    int64_t ints[KEY_COUNT];
    kafka_prop_t *kafka;
    size_t kafka_count;
};

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static int key_index(const char *key) {
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(inv_conf_keys[i].name, key) == 0)
            return (int)i;
    return -1;
}

static int choice_ok(const char *choices, const char *value) {
    size_t vlen = strlen(value);
    for (const char *p = choices; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0)
            return 1;
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

static int set_index(inv_conf_t *c, int i, const char *value, char *errstr, size_t errstr_size) {
    const inv_conf_key_t *k = &inv_conf_keys[i];
    int64_t v = 0;
    if (k->type == INV_CONF_INT) {
        int prc = inv_parse_int64(value, k->min, k->max, &v);
        if (prc == INV_PARSE_EINVAL) {
            snprintf(errstr, errstr_size, "%s: \"%s\" is not an integer", k->name, value);
            return -1;
        }
        if (prc == INV_PARSE_ERANGE) {
            snprintf(errstr, errstr_size, "%s: %s is out of range [%lld, %lld]", k->name, value, (long long)k->min,
                     (long long)k->max);
            return -1;
        }
    } else if (k->type == INV_CONF_ENUM && !choice_ok(k->choices, value)) {
        snprintf(errstr, errstr_size, "%s: \"%s\" is not one of %s", k->name, value, k->choices);
        return -1;
    }
    free(c->values[i]);
    c->values[i] = xstrdup(value);
    c->ints[i] = v;
    return 0;
}

inv_conf_t *inv_conf_new(void) {
    inv_conf_t *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    char err[INV_ERRSTR_SIZE];
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (set_index(c, (int)i, inv_conf_keys[i].default_value, err, sizeof(err)) != 0)
            abort(); /* a default that fails its own validation is a bug */
    return c;
}

void inv_conf_destroy(inv_conf_t *c) {
    if (!c)
        return;
    for (size_t i = 0; i < KEY_COUNT; i++)
        free(c->values[i]);
    for (size_t i = 0; i < c->kafka_count; i++) {
        free(c->kafka[i].prop);
        free(c->kafka[i].value);
    }
    free(c->kafka);
    free(c);
}

static void set_kafka(inv_conf_t *c, const char *prop, const char *value) {
    for (size_t i = 0; i < c->kafka_count; i++) {
        if (strcmp(c->kafka[i].prop, prop) == 0) {
            free(c->kafka[i].value);
            c->kafka[i].value = xstrdup(value);
            return;
        }
    }
    kafka_prop_t *n = realloc(c->kafka, (c->kafka_count + 1) * sizeof(*n));
    if (!n)
        abort();
    c->kafka = n;
    c->kafka[c->kafka_count].prop = xstrdup(prop);
    c->kafka[c->kafka_count].value = xstrdup(value);
    c->kafka_count++;
}

int inv_conf_set(inv_conf_t *c, const char *key, const char *value, char *errstr, size_t errstr_size) {
    if (strncmp(key, "kafka.", 6) == 0) {
        if (!key[6]) {
            snprintf(errstr, errstr_size, "kafka.: missing librdkafka property name");
            return -1;
        }
        set_kafka(c, key + 6, value);
        return 0;
    }
    int i = key_index(key);
    if (i < 0) {
        snprintf(errstr, errstr_size, "unknown configuration key \"%s\"", key);
        return -1;
    }
    return set_index(c, i, value, errstr, errstr_size);
}

/* A key the table does not have, asked for by the code: a typo that must
 * fail the first run, never read as empty or 0. */
static int known_index(const char *key, int want_int) {
    int i = key_index(key);
    if (i < 0 || (want_int && inv_conf_keys[i].type != INV_CONF_INT)) {
        inv_log_error("configuration key \"%s\" is not %s (a bug in the program)", key,
                      i < 0 ? "in the table" : "an integer");
        abort();
    }
    return i;
}

const char *inv_conf_get(const inv_conf_t *c, const char *key) { return c->values[known_index(key, 0)]; }

int64_t inv_conf_get_int(const inv_conf_t *c, const char *key) { return c->ints[known_index(key, 1)]; }

size_t inv_conf_kafka_count(const inv_conf_t *c) { return c->kafka_count; }

void inv_conf_kafka_at(const inv_conf_t *c, size_t i, const char **prop, const char **value) {
    *prop = c->kafka[i].prop;
    *value = c->kafka[i].value;
}

/* "key=value" into key and value, both trimmed; -1 when there is no '='. */
static int split_assignment(char *s, char **key, char **value) {
    char *eq = strchr(s, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    *key = inv_parse_trim(s);
    *value = inv_parse_trim(eq + 1);
    return **key ? 0 : -1;
}

int inv_conf_load_file(inv_conf_t *c, const char *path, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "--config: cannot open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        char *s = inv_parse_trim(line), *key, *value;
        if (!*s || *s == '#')
            continue;
        char err[INV_ERRSTR_SIZE];
        if (split_assignment(s, &key, &value) != 0) {
            snprintf(errstr, errstr_size, "%s:%d: expected key=value", path, lineno);
            rc = -1;
            break;
        }
        if (inv_conf_set(c, key, value, err, sizeof(err)) != 0) {
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, err);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* "schema.id.SaleEvent" -> "SCHEMA_ID_SALEEVENT" */
static void env_name_of(const char *key, char *out, size_t out_size) {
    size_t i = 0;
    for (; key[i] && i + 1 < out_size; i++)
        out[i] = key[i] == '.' ? '_' : (char)toupper((unsigned char)key[i]);
    out[i] = '\0';
}

int inv_conf_load_env(inv_conf_t *c, char *const *envp, char *errstr, size_t errstr_size) {
    for (; envp && *envp; envp++) {
        const char *kv = *envp;
        if (strncmp(kv, "INV_", 4) != 0)
            continue;
        const char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        char name[256];
        size_t n = (size_t)(eq - kv) - 4;
        if (n >= sizeof(name))
            continue;
        memcpy(name, kv + 4, n);
        name[n] = '\0';
        const char *value = eq + 1;
        char err[INV_ERRSTR_SIZE];
        int rc = 0;
        if (strncmp(name, "KAFKA_", 6) == 0 && name[6]) {
            char prop[256];
            size_t j = 0;
            for (const char *p = name + 6; *p && j + 1 < sizeof(prop); p++)
                prop[j++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
            prop[j] = '\0';
            set_kafka(c, prop, value);
            continue;
        }
        for (size_t i = 0; i < KEY_COUNT; i++) {
            char env_name[256];
            env_name_of(inv_conf_keys[i].name, env_name, sizeof(env_name));
            if (strcmp(env_name, name) == 0) {
                rc = set_index(c, (int)i, value, err, sizeof(err));
                break;
            }
        }
        if (rc != 0) {
            snprintf(errstr, errstr_size, "INV_%s: %s", name, err);
            return -1;
        }
    }
    return 0;
}

typedef struct {
    char *key;
    char *value;
    char *flag; /* as the user would type it, for errors */
} pending_t;

extern char **environ;

int inv_conf_parse_args(inv_conf_t *c, const inv_program_t *prog, int argc, char **argv, int *next_arg, char *errstr,
                        size_t errstr_size) {
    enum { OPT_HELP = 1000, OPT_VERSION, OPT_PROGRAM_FLAG };
    size_t nflags = 0;
    while (prog->flags && prog->flags[nflags].flag)
        nflags++;
    struct option *opts = calloc(nflags + 6, sizeof(*opts));
    pending_t *pending = calloc((size_t)argc + 1, sizeof(*pending));
    if (!opts || !pending)
        abort();
    size_t o = 0;
    opts[o++] = (struct option){"brokers", required_argument, NULL, 'b'};
    opts[o++] = (struct option){"config", required_argument, NULL, 'c'};
    opts[o++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[o++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    for (size_t i = 0; i < nflags; i++)
        opts[o++] = (struct option){prog->flags[i].flag, required_argument, NULL, OPT_PROGRAM_FLAG + (int)i};

    const char *config_file = NULL;
    size_t npending = 0;
    int rc = INV_CONF_PARSED, opt, longindex;
    opterr = 0;
    optind = 0; /* reinitialize glibc getopt */
    while (rc == INV_CONF_PARSED &&
           (opt = getopt_long(argc, argv, prog->args_anywhere ? ":b:c:X:" : "+:b:c:X:", opts, &longindex)) != -1) {
        switch (opt) {
        case 'b': pending[npending++] = (pending_t){xstrdup("brokers"), xstrdup(optarg), xstrdup("--brokers")}; break;
        case 'c': config_file = optarg; break;
        case 'X': {
            char *copy = xstrdup(optarg), *key, *value;
            if (split_assignment(copy, &key, &value) != 0) {
                snprintf(errstr, errstr_size, "-X %s: expected key=value", optarg);
                free(copy);
                rc = -1;
                break;
            }
            pending[npending++] = (pending_t){xstrdup(key), xstrdup(value), xstrdup("-X")};
            free(copy);
            break;
        }
        case OPT_HELP: rc = INV_CONF_HELP; break;
        case OPT_VERSION: rc = INV_CONF_VERSION; break;
        case ':':
            snprintf(errstr, errstr_size, "%s: missing argument", argv[optind - 1]);
            rc = -1;
            break;
        case '?':
            if (optopt)
                snprintf(errstr, errstr_size, "-%c: unknown flag (see --help)", optopt);
            else
                snprintf(errstr, errstr_size, "%s: unknown flag (see --help)", argv[optind - 1]);
            rc = -1;
            break;
        default:
            if (opt >= OPT_PROGRAM_FLAG && (size_t)(opt - OPT_PROGRAM_FLAG) < nflags) {
                const inv_conf_flag_t *f = &prog->flags[opt - OPT_PROGRAM_FLAG];
                char label[80];
                snprintf(label, sizeof(label), "--%s", f->flag);
                pending[npending++] = (pending_t){xstrdup(f->key), xstrdup(optarg), xstrdup(label)};
            }
            break;
        }
    }
    *next_arg = optind;

    if (rc == INV_CONF_PARSED && prog->default_group_id)
        set_index(c, key_index("group.id"), prog->default_group_id, errstr, errstr_size);
    if (rc == INV_CONF_PARSED && config_file && inv_conf_load_file(c, config_file, errstr, errstr_size) != 0)
        rc = -1;
    if (rc == INV_CONF_PARSED && inv_conf_load_env(c, environ, errstr, errstr_size) != 0)
        rc = -1;
    for (size_t i = 0; i < npending; i++) {
        if (rc == INV_CONF_PARSED) {
            char err[INV_ERRSTR_SIZE];
            if (inv_conf_set(c, pending[i].key, pending[i].value, err, sizeof(err)) != 0) {
                snprintf(errstr, errstr_size, "%s: %s", pending[i].flag, err);
                rc = -1;
            }
        }
        free(pending[i].key);
        free(pending[i].value);
        free(pending[i].flag);
    }
    if (rc == INV_CONF_PARSED && !*inv_conf_get(c, "brokers")) {
        snprintf(errstr, errstr_size, "brokers: must not be empty");
        rc = -1;
    }
    if (rc == INV_CONF_PARSED &&
        inv_conf_get_int(c, "commit.interval.ms") >= inv_conf_get_int(c, "transaction.timeout.ms")) {
        /* the broker aborts a transaction older than its timeout and fences
         * the producer: every batch would end that way */
        snprintf(errstr, errstr_size, "commit.interval.ms: %lld is not below transaction.timeout.ms (%lld)",
                 (long long)inv_conf_get_int(c, "commit.interval.ms"),
                 (long long)inv_conf_get_int(c, "transaction.timeout.ms"));
        rc = -1;
    }
    free(pending);
    free(opts);
    return rc;
}

void inv_conf_usage(const inv_program_t *prog, FILE *out) {
    fprintf(out, "Usage: %s [OPTIONS]%s%s\n%s\n\nOptions:\n", prog->name, prog->usage_tail ? " " : "",
            prog->usage_tail ? prog->usage_tail : "", prog->summary);
    fprintf(out, "  -b, --brokers LIST     Kafka bootstrap servers (default 127.0.0.1:9092)\n"
                 "  -c, --config FILE      key=value configuration file\n"
                 "  -X key=value           set any configuration key; kafka.<prop> goes to librdkafka\n");
    for (size_t i = 0; prog->flags && prog->flags[i].flag; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s %s", prog->flags[i].flag, prog->flags[i].arg_name);
        fprintf(out, "      %-18s %s (key %s)\n", left, prog->flags[i].help, prog->flags[i].key);
    }
    fprintf(out, "      --help             print this help and exit\n"
                 "      --version          print the version and exit\n");
    if (prog->commands_help)
        fprintf(out, "\n%s", prog->commands_help);
    fprintf(out, "\nEnvironment INV_<KEY> (dots as underscores, upper case) sets a key too;\n"
                 "precedence: flag > environment > file > default. Keys: docs/CONFIGURATION.md\n");
}

/* A Markdown table cell: a '|' would end the cell, so it is escaped. */
static void md_cell(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void inv_conf_write_reference(FILE *out) {
    fprintf(out, "| key | environment | default | accepted values | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const inv_conf_key_t *k = &inv_conf_keys[i];
        char env[256], accepted[128];
        env_name_of(k->name, env, sizeof(env));
        if (k->type == INV_CONF_INT)
            snprintf(accepted, sizeof(accepted), "integer %lld..%lld", (long long)k->min, (long long)k->max);
        else if (k->type == INV_CONF_ENUM)
            snprintf(accepted, sizeof(accepted), "%s", k->choices);
        else
            snprintf(accepted, sizeof(accepted), "string");
        fprintf(out, "| `%s` | `INV_%s` | ", k->name, env);
        if (*k->default_value) {
            fputc('`', out);
            md_cell(out, k->default_value);
            fputc('`', out);
        } else {
            fputs("(empty)", out);
        }
        fprintf(out, " | %s | ", accepted);
        md_cell(out, k->doc);
        fputs(" |\n", out);
    }
    fprintf(out, "| `kafka.<prop>` | `INV_KAFKA_<PROP>` | | librdkafka's | passed to librdkafka as `<prop>` |\n");
}
