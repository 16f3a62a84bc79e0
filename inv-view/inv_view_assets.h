/*
 * inv_view_assets: the dashboard's files (inv-view/web/), embedded in the
 * binary at build time by inv-view/embed.cmake: nothing is read from disk
 * or fetched from the network at run time.
 */
#ifndef INV_VIEW_ASSETS_H
#define INV_VIEW_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name; /* "index.html", "app.js" */
    const char *content_type;
    const char *data;
    size_t len;
} view_asset_t;

extern const view_asset_t view_assets[];
extern const size_t view_asset_count;

#endif
