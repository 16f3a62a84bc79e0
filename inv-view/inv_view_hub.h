/*
 * inv_view_hub: the live feed behind /api/events. The consumer loop
 * publishes each committed change (a server-sent event, already formatted)
 * into a ring of the newest `capacity`; every subscriber reads the ring from
 * where it joined, through its own filter (sku, location), in publication
 * order: per SKU that is the order of the SKU's partition. A subscriber more
 * than `capacity` changes behind gets "event: gap" (data {"missed":N}) and
 * goes on from the oldest kept. Every ping interval an idle subscriber gets
 * a comment line, so proxies and the HTTP timeout keep the stream open.
 *
 * Threads: publish and ping from the loop; subscribe, read and unsubscribe
 * from HTTP threads. One mutex; publication wakes the sleeping
 * subscribers under it, so a wake never reaches a stream already freed.
 */
#ifndef INV_VIEW_HUB_H
#define INV_VIEW_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "inv_http.h"

typedef struct view_hub_s view_hub_t;
typedef struct view_sub_s view_sub_t;

view_hub_t *view_hub_new(size_t capacity);
/* Wakes and ends every stream (their next read returns -1), then frees
 * the ring; subscribers still attached are freed by their stream_free. */
void view_hub_close(view_hub_t *h);
void view_hub_destroy(view_hub_t *h);

/* Whether anyone listens (the loop skips formatting events otherwise). */
int view_hub_has_subscribers(view_hub_t *h);
size_t view_hub_subscribers(view_hub_t *h);

/* Publication of a batch: begin, add each change, end (wakes readers).
 * sku/location are the filter keys; text is the whole event, copied. */
void view_hub_begin(view_hub_t *h);
void view_hub_add(view_hub_t *h, const char *sku, const char *location, const char *text, size_t len);
void view_hub_end(view_hub_t *h);
/* A keep-alive comment to every subscriber. */
void view_hub_ping(view_hub_t *h);

/* A subscriber from now on, with optional filters (NULL: any); NULL when
 * out of memory. Its read and free are an inv_http stream's. */
view_sub_t *view_hub_subscribe(view_hub_t *h, const char *sku, const char *location);
long view_hub_read(void *sub, inv_http_stream_t *stream, char *buf, size_t max);
void view_hub_unsubscribe(void *sub);

#endif
