#include "lg_args.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inv_codec_conf.h"
#include "inv_opts.h"
#include "inv_parse.h"

const char lg_args_help[] =
    "Traffic (traffic messages = fresh events, duplicates and malformed messages):\n"
    "      --rate N            messages per second, 0 = as fast as possible (default 1000)\n"
    "      --count N           stop after N traffic messages (default 0 = no limit)\n"
    "      --duration D        stop after D: 30, 30s, 1500ms, 5m, 2h (default 0 = no limit)\n"
    "      --locations N       store-1..store-(N-2), dc-1, web-1 (default 10)\n"
    "      --skus N            SKU-1 (best seller) .. SKU-N (default 1000)\n"
    "      --zipf S            popularity exponent, P(SKU-k) ~ 1/k^S (default 1.1)\n"
    "      --returns-ratio R   share of fresh events that are returns (default 0.05)\n"
    "      --receipts-ratio R  share that are replenishment receipts (default 0.02, 0 with --reorder-feedback)\n"
    "      --adjustments-ratio R  share that are signed adjustments (default 0.01)\n"
    "      --counts-ratio R    share that are physical counts (default 0.002; with --oracle 0 unless given)\n"
    "      --reservations-ratio R  share that are online and marketplace holds at dc-1 and web-1 on\n"
    "                          pos.reservations (default 0.1); 75% are then fulfilled by a sale with the\n"
    "                          reservation_id (a quarter of them in two), 15% released, 10% left to expire\n"
    "      --hold-ttl-ms N     a hold's expires_at - occurred_at, both on the wall clock whatever\n"
    "                          --start-time says (default 30000, 1000..604800000)\n"
    "      --transfers-ratio R share that are shipments between locations on pos.transfers, from dc-1 or a\n"
    "                          store to a store or web-1 (default 0); each is received in one or two\n"
    "                          receipts, some with damaged units, or canceled after a partial receipt or before\n"
    "                          any\n"
    "      --transit-ms N      a shipment's first receipt or cancel comes N/2..N ms after it, a second one up\n"
    "                          to N/2 later, on the occurred_at clock (default 20000, 1000..86400000)\n"
    "      --late-sales-ratio R  share of the sales over the store channel held back, as by a till offline, and\n"
    "                          sent late with their own occurred_at (default 0)\n"
    "      --late-sales-delay-ms N  how late, on the occurred_at clock (default 120000, 1000..86400000)\n"
    "      --no-channel-map    do not write the channel map to topic.channels at start (online -> dc-1 and\n"
    "                          web-1, marketplace -> dc-1 with a buffer of 2)\n"
    "      --duplicates R      share of messages re-sent byte-identical (default 0.01)\n"
    "      --malformed R       share of messages broken as POS integrations break them (default 0.001)\n"
    "      --opening-stock N   opening receipt of N per (sku, location) at start, 0 = none (default 100)\n"
    "      --seed N            reproducible: same seed and flags, same bytes (default: random, printed)\n"
    "      --start-time T      occurred_at clock start, RFC 3339 (default 2026-11-02T08:00:00Z), or `now`\n"
    "                          for the wall clock (not reproducible)\n"
    "Feedback and results:\n"
    "      --reorder-feedback  read topic.reorders (read_committed, from its end) and deliver a receipt\n"
    "                          for each reorder after --lead-time-ms\n"
    "      --lead-time-ms N    supplier lead time (default 5000)\n"
    "      --plan-policies     size a reorder policy per sku|location to this traffic's demand at --rate\n"
    "                          and --lead-time-ms, write them to topic.policies at start, and open each\n"
    "                          pair at its reorder point + quantity instead of --opening-stock\n"
    "      --oracle FILE       write the expected final on_hand, unsellable, available, committed per\n"
    "                          sku|location and sku|* (JSON lines; not with --reorder-feedback);\n"
    "                          committed and available hold after the header's settled_at (every hold closed)\n"
    "      --stats-json FILE   write the totals (expected_dlq = malformed) as JSON at exit\n";

typedef enum {
    F_RATE = 0,
    F_COUNT,
    F_DURATION,
    F_LOCATIONS,
    F_SKUS,
    F_ZIPF,
    F_RETURNS,
    F_RECEIPTS,
    F_ADJUSTMENTS,
    F_COUNTS,
    F_RESERVATIONS,
    F_HOLD_TTL,
    F_TRANSFERS,
    F_TRANSIT,
    F_LATE_SALES,
    F_LATE_DELAY,
    F_NO_CHANNEL_MAP,
    F_DUPLICATES,
    F_MALFORMED,
    F_OPENING,
    F_SEED,
    F_START,
    F_FEEDBACK,
    F_LEAD,
    F_PLAN,
    F_ORACLE,
    F_STATS,
} flag_id_t;

static const inv_opt_t flags[] = {
    {"rate", 1, F_RATE},
    {"count", 1, F_COUNT},
    {"duration", 1, F_DURATION},
    {"locations", 1, F_LOCATIONS},
    {"skus", 1, F_SKUS},
    {"zipf", 1, F_ZIPF},
    {"returns-ratio", 1, F_RETURNS},
    {"receipts-ratio", 1, F_RECEIPTS},
    {"adjustments-ratio", 1, F_ADJUSTMENTS},
    {"counts-ratio", 1, F_COUNTS},
    {"reservations-ratio", 1, F_RESERVATIONS},
    {"hold-ttl-ms", 1, F_HOLD_TTL},
    {"transfers-ratio", 1, F_TRANSFERS},
    {"transit-ms", 1, F_TRANSIT},
    {"late-sales-ratio", 1, F_LATE_SALES},
    {"late-sales-delay-ms", 1, F_LATE_DELAY},
    {"no-channel-map", 0, F_NO_CHANNEL_MAP},
    {"duplicates", 1, F_DUPLICATES},
    {"malformed", 1, F_MALFORMED},
    {"opening-stock", 1, F_OPENING},
    {"seed", 1, F_SEED},
    {"start-time", 1, F_START},
    {"reorder-feedback", 0, F_FEEDBACK},
    {"lead-time-ms", 1, F_LEAD},
    {"plan-policies", 0, F_PLAN},
    {"oracle", 1, F_ORACLE},
    {"stats-json", 1, F_STATS},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

void lg_args_init(lg_args_t *a) {
    memset(a, 0, sizeof(*a));
    lg_model_conf_defaults(&a->model);
    a->rate = 1000;
    a->lead_time_ms = 5000;
}

int lg_args_parse_duration(const char *s, int64_t *ms) {
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !isfinite(v) || v < 0)
        return -1;
    double scale;
    if (!*end || strcmp(end, "s") == 0)
        scale = 1000;
    else if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else if (strcmp(end, "h") == 0)
        scale = 3600000;
    else
        return -1;
    if (v * scale > 1e15)
        return -1;
    *ms = (int64_t)llround(v * scale);
    return 0;
}

#define BAD(expect)                                                              \
    do {                                                                         \
        snprintf(errstr, n, "--%s: \"%s\" is not %s", flags[f].name, v, expect); \
        return -1;                                                               \
    } while (0)

static int apply(void *opaque, int id, const char *v, char *errstr, size_t n) {
    lg_args_t *a = opaque;
    flag_id_t f = (flag_id_t)id;
    int64_t i;
    double d;
    switch (f) {
    case F_RATE:
        if (inv_parse_double(v, 0, 1e8, &a->rate))
            BAD("a rate in [0, 100000000] messages per second");
        break;
    case F_COUNT:
        if (inv_parse_int64(v, 0, INT64_MAX, &i))
            BAD("a count >= 0");
        a->count = (uint64_t)i;
        break;
    case F_DURATION:
        if (lg_args_parse_duration(v, &a->duration_ms))
            BAD("a duration such as 30, 30s, 1500ms, 5m or 2h");
        break;
    case F_LOCATIONS:
        if (inv_parse_int64(v, 1, LG_MAX_LOCATIONS, &i))
            BAD("an integer in [1, 1000]");
        a->model.locations = (size_t)i;
        break;
    case F_SKUS:
        if (inv_parse_int64(v, 1, LG_MAX_SKUS, &i))
            BAD("an integer in [1, 1000000]");
        a->model.skus = (size_t)i;
        break;
    case F_ZIPF:
        if (inv_parse_double(v, 0, 10, &a->model.zipf))
            BAD("an exponent in [0, 10]");
        break;
    case F_RETURNS:
    case F_RECEIPTS:
    case F_ADJUSTMENTS:
    case F_COUNTS:
    case F_RESERVATIONS:
    case F_TRANSFERS:
    case F_LATE_SALES:
    case F_DUPLICATES:
    case F_MALFORMED:
        if (inv_parse_double(v, 0, 1, &d))
            BAD("a ratio in [0, 1]");
        if (f == F_RETURNS)
            a->model.returns_ratio = d;
        else if (f == F_RECEIPTS)
            a->model.receipts_ratio = d, a->receipts_given = 1;
        else if (f == F_ADJUSTMENTS)
            a->model.adjustments_ratio = d;
        else if (f == F_COUNTS)
            a->model.counts_ratio = d, a->counts_given = 1;
        else if (f == F_RESERVATIONS)
            a->model.reservations_ratio = d;
        else if (f == F_TRANSFERS)
            a->model.transfers_ratio = d;
        else if (f == F_LATE_SALES)
            a->model.late_sales_ratio = d;
        else if (f == F_DUPLICATES)
            a->model.duplicates_ratio = d;
        else
            a->model.malformed_ratio = d;
        break;
    case F_OPENING:
        if (inv_parse_int64(v, 0, INT64_C(1000000000), &a->model.opening_stock))
            BAD("an integer in [0, 1000000000]");
        break;
    case F_SEED: {
        uint64_t s;
        if (inv_parse_uint64(v, &s) != 0)
            BAD("an unsigned 64-bit integer");
        a->model.seed = s;
        a->seed_given = 1;
        break;
    }
    case F_START:
        if (strcmp(v, "now") == 0)
            a->model.start_ms = LG_CLOCK_WALL;
        else if (inv_time_parse_rfc3339(v, &a->model.start_ms) != 0)
            BAD("an RFC 3339 time (2026-11-02T08:00:00Z) or now");
        break;
    case F_HOLD_TTL:
        if (inv_parse_int64(v, 1000, LG_MAX_HOLD_TTL_MS, &a->model.hold_ttl_ms))
            BAD("milliseconds in [1000, 604800000]");
        break;
    case F_TRANSIT:
    case F_LATE_DELAY:
        if (inv_parse_int64(v, 1000, LG_MAX_DELAY_MS, &i))
            BAD("milliseconds in [1000, 86400000]");
        if (f == F_TRANSIT)
            a->model.transit_ms = i;
        else
            a->model.late_delay_ms = i;
        break;
    case F_NO_CHANNEL_MAP: a->no_channel_map = 1; break;
    case F_FEEDBACK: a->reorder_feedback = 1; break;
    case F_PLAN: a->plan_policies = 1; break;
    case F_LEAD:
        if (inv_parse_int64(v, 0, INT64_C(86400000), &a->lead_time_ms))
            BAD("milliseconds in [0, 86400000]");
        break;
    case F_ORACLE:
    case F_STATS:
        if (!*v)
            BAD("a file name");
        if (f == F_ORACLE)
            a->oracle_path = v;
        else
            a->stats_path = v;
        break;
    }
    return 0;
}

int lg_args_extract(lg_args_t *a, int *argc, char **argv, const inv_conf_flag_t *skip_flags, char *errstr,
                    size_t errstr_size) {
    return inv_opts_extract(flags, NFLAGS, apply, a, argc, argv, skip_flags, errstr, errstr_size);
}

int lg_args_finish(lg_args_t *a, const inv_conf_t *conf, char *errstr, size_t errstr_size) {
    inv_codec_conf_t codec;
    inv_codec_conf_read(conf, &codec);
    a->model.format = codec.output_format;
    memcpy(a->model.schema_ids, codec.schema_ids, sizeof(a->model.schema_ids));
    if (a->oracle_path && a->reorder_feedback) {
        snprintf(errstr, errstr_size,
                 "--oracle: cannot be used with --reorder-feedback (the receipts it adds "
                 "depend on when inv-stock reorders)");
        return -1;
    }
    /* Counts as of their time do not depend on the order inv-stock applies
     * movements in, but an oracle run keeps them off unless asked for. */
    if (a->oracle_path && !a->counts_given)
        a->model.counts_ratio = 0;
    if (a->plan_policies && !(a->rate > 0)) {
        snprintf(errstr, errstr_size, "--plan-policies: needs --rate > 0 (demand is planned per second)");
        return -1;
    }
    if (a->reorder_feedback && !a->receipts_given)
        a->model.receipts_ratio = 0; /* the reorders' receipts replenish */
    /* A hold's fulfilment or release within about half its TTL at the
     * rate, so that it comes before the expiry while the pipeline keeps up. */
    double window = a->rate > 0 ? a->rate * (double)a->model.hold_ttl_ms / 1000.0 / 2 : 2000;
    a->model.followup_max = window < 10 ? 10 : window > 100000 ? 100000 : (uint32_t)window;
    return lg_model_conf_check(&a->model, errstr, errstr_size);
}
