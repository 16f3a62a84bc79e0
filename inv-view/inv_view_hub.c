#include "inv_view_hub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *sku, *location, *text;
    size_t len;
} entry_t;

struct view_sub_s {
    view_hub_t *hub;
    char *sku, *location; /* filters, NULL = any */
    uint64_t next;        /* the next change to consider */
    size_t sent;          /* bytes of change `next` already sent */
    uint64_t pings;       /* pings seen */
    inv_http_stream_t *stream;
    int hello; /* the opening comment is sent */
    view_sub_t *prev, *nxt;
};

struct view_hub_s {
    pthread_mutex_t lock;
    entry_t *ring;
    size_t cap;
    uint64_t head; /* changes published; ring[i % cap] holds change i for i in [head - cap, head) */
    uint64_t pings;
    int closed;
    view_sub_t *subs;
    size_t n_subs;
};

view_hub_t *view_hub_new(size_t capacity) {
    view_hub_t *h = calloc(1, sizeof(*h));
    if (!h || !(h->ring = calloc(capacity, sizeof(entry_t)))) {
        free(h);
        return NULL;
    }
    h->cap = capacity;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

static void wake_all(view_hub_t *h) {
    for (view_sub_t *s = h->subs; s; s = s->nxt)
        if (s->stream)
            inv_http_stream_wake(s->stream);
}

void view_hub_close(view_hub_t *h) {
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->closed = 1;
    wake_all(h);
    pthread_mutex_unlock(&h->lock);
}

static void entry_free(entry_t *e) {
    free(e->sku);
    free(e->location);
    free(e->text);
    memset(e, 0, sizeof(*e));
}

void view_hub_destroy(view_hub_t *h) {
    if (!h)
        return;
    for (size_t i = 0; i < h->cap; i++)
        entry_free(&h->ring[i]);
    free(h->ring);
    /* subscribers left belong to streams the server has freed by now */
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int view_hub_has_subscribers(view_hub_t *h) {
    pthread_mutex_lock(&h->lock);
    int any = h->subs != NULL;
    pthread_mutex_unlock(&h->lock);
    return any;
}

size_t view_hub_subscribers(view_hub_t *h) {
    pthread_mutex_lock(&h->lock);
    size_t n = h->n_subs;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void view_hub_begin(view_hub_t *h) { pthread_mutex_lock(&h->lock); }

void view_hub_add(view_hub_t *h, const char *sku, const char *location, const char *text, size_t len) {
    entry_t *e = &h->ring[h->head % h->cap];
    entry_free(e);
    e->sku = strdup(sku ? sku : "");
    e->location = strdup(location ? location : "");
    e->text = malloc(len + 1);
    if (!e->sku || !e->location || !e->text) {
        entry_free(e);
        e->text = strdup(": dropped (out of memory)\n\n");
        e->len = e->text ? strlen(e->text) : 0;
    } else {
        memcpy(e->text, text, len);
        e->text[len] = '\0';
        e->len = len;
    }
    h->head++;
}

void view_hub_end(view_hub_t *h) {
    wake_all(h);
    pthread_mutex_unlock(&h->lock);
}

void view_hub_ping(view_hub_t *h) {
    pthread_mutex_lock(&h->lock);
    h->pings++;
    wake_all(h);
    pthread_mutex_unlock(&h->lock);
}

view_sub_t *view_hub_subscribe(view_hub_t *h, const char *sku, const char *location) {
    view_sub_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->hub = h;
    if ((sku && !(s->sku = strdup(sku))) || (location && !(s->location = strdup(location)))) {
        free(s->sku);
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&h->lock);
    s->next = h->head;
    s->pings = h->pings;
    s->nxt = h->subs;
    if (h->subs)
        h->subs->prev = s;
    h->subs = s;
    h->n_subs++;
    pthread_mutex_unlock(&h->lock);
    return s;
}

void view_hub_unsubscribe(void *sub) {
    view_sub_t *s = sub;
    view_hub_t *h = s->hub;
    pthread_mutex_lock(&h->lock);
    if (s->prev)
        s->prev->nxt = s->nxt;
    else
        h->subs = s->nxt;
    if (s->nxt)
        s->nxt->prev = s->prev;
    h->n_subs--;
    pthread_mutex_unlock(&h->lock);
    free(s->sku);
    free(s->location);
    free(s);
}

static int wanted(const view_sub_t *s, const entry_t *e) {
    return (!s->sku || strcmp(s->sku, e->sku) == 0) && (!s->location || strcmp(s->location, e->location) == 0);
}

long view_hub_read(void *sub, inv_http_stream_t *stream, char *buf, size_t max) {
    view_sub_t *s = sub;
    view_hub_t *h = s->hub;
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    s->stream = stream;
    if (h->closed) {
        pthread_mutex_unlock(&h->lock);
        return -1;
    }
    if (!s->hello) {
        /* a first line at once: the client sees the stream open */
        n = (size_t)snprintf(buf, max, ": inv-view events\nretry: 2000\n\n");
        s->hello = 1;
    }
    uint64_t oldest = h->head > h->cap ? h->head - h->cap : 0;
    if (s->next < oldest) {
        int w = snprintf(buf + n, max - n, "event: gap\ndata: {\"missed\":%llu}\n\n",
                         (unsigned long long)(oldest - s->next));
        if (w > 0 && (size_t)w < max - n)
            n += (size_t)w;
        s->next = oldest;
        s->sent = 0;
    }
    while (s->next < h->head && n < max) {
        const entry_t *e = &h->ring[s->next % h->cap];
        if (!wanted(s, e)) {
            s->next++;
            continue;
        }
        size_t take = e->len - s->sent;
        if (take > max - n)
            take = max - n;
        memcpy(buf + n, e->text + s->sent, take);
        n += take;
        s->sent += take;
        if (s->sent == e->len) {
            s->next++;
            s->sent = 0;
        }
    }
    if (n == 0 && s->pings != h->pings) {
        n = (size_t)snprintf(buf, max, ":\n\n");
        s->pings = h->pings;
    }
    pthread_mutex_unlock(&h->lock);
    return (long)n;
}
