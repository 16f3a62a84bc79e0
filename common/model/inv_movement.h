/*
 * inv_movement: how a POS event becomes stock movements, one per line.
 */
#ifndef INV_MOVEMENT_H
#define INV_MOVEMENT_H

#include <stddef.h>

#include "inv_codec.h"

/* The movement type of line `line` of ev: sale; return_resellable or
 * return_damaged by the line's disposition; receipt, adjustment or count by
 * the restock kind. */
inv_movement_type_t inv_movement_type_of(const inv_event_t *ev, size_t line);

/* Fills *out with the movement of line `line` of ev. The movement id
 * "<type>:<event_id>:<line index>" is written to id_buf (so a re-sent event
 * yields the same ids); out borrows id_buf and ev's strings. Returns 0, or -1
 * when id_buf is too small. */
int inv_movement_from_line(const inv_event_t *ev, size_t line, char *id_buf, size_t id_buf_size,
                           inv_movement_t *out);

#endif
