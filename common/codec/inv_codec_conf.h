/*
 * inv_codec_conf: the codec's settings, read from a configuration once at
 * start-up: the Confluent schema id of every message type (schema.id.<Name>)
 * and the format outputs are written in (output.format).
 */
#ifndef INV_CODEC_CONF_H
#define INV_CODEC_CONF_H

#include "inv_codec.h"
#include "inv_conf.h"

typedef struct {
    int32_t schema_ids[INV_MSG_COUNT]; /* in inv_msg_type_t order */
    inv_format_t output_format;
    /* A static resolver over schema_ids: it points into this struct, so
     * keep the struct where it is (do not copy it) while the resolver, or a
     * decoder or encoder made with it, is in use. */
    inv_schema_resolver_t resolver;
} inv_codec_conf_t;

/* Fills *out from conf, whose values inv_conf has already validated. */
void inv_codec_conf_read(const inv_conf_t *conf, inv_codec_conf_t *out);

#endif
