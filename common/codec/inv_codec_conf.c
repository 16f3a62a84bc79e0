/* inv_codec_conf: the codec's settings from a configuration. */
#include "inv_codec_conf.h"

#include <stdio.h>

void inv_codec_conf_read(const inv_conf_t *conf, inv_codec_conf_t *out) {
    for (int t = 0; t < INV_MSG_COUNT; t++) {
        char key[64];
        snprintf(key, sizeof(key), "schema.id.%s", inv_msg_type_name((inv_msg_type_t)t));
        out->schema_ids[t] = (int32_t)inv_conf_get_int(conf, key);
    }
    if (inv_format_from_string(inv_conf_get(conf, "output.format"), &out->output_format) != 0)
        out->output_format = INV_FORMAT_JSON;
    inv_schema_resolver_static_init(&out->resolver, out->schema_ids);
}
