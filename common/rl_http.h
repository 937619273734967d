/*  rl_http.h - a daemon's monitoring port: GET /metrics (Prometheus text
    format), /healthz and /readyz, over libmicrohttpd.

    Threads. libmicrohttpd answers on a thread of its own, but a daemon's
    state belongs to its loop thread, which takes no locks (house rule).
    So the loop publishes a page: every so often it renders the whole
    exposition and judges its readiness, and hands both over with
    rl_http_publish(), which swaps buffers under a mutex; the HTTP thread
    copies the latest page under the same mutex. Neither thread ever waits
    for the other longer than a copy of the page (about 20 KB). A scrape
    therefore sees values at most one publishing period old (the node
    publishes every 500 ms), and costs the loop nothing, however often it
    comes: the rendering is the loop's, on its own timer.

    Health. /healthz answers 200 while the loop publishes; when the last
    page is older than config.stale_ms the loop is stuck (the process is
    up but serves nothing), and /healthz answers 503 saying for how long.
    /readyz answers 200 or 503 as the loop's last judgement says, with its
    one-line reason as the body. Before the first page, all three answer
    503 "starting".

    Bounds, since this is a network port too (docs/SECURITY.md, "Limits"):
    at most config.max_connections at once (more are closed as they are
    accepted), an idle connection closed after config.timeout_s, at most
    RL_HTTP_MEMORY_LIMIT bytes per connection for its request line and
    headers (a larger request is refused by libmicrohttpd), no request
    body read (only GET and HEAD are served; anything else gets 405).
    The port is read-only and unauthenticated: bind it to loopback, or to
    an interface only the monitoring system reaches.
*/
#ifndef RL_HTTP_H
#define RL_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "rl_metrics.h"

typedef struct rl_http rl_http_t;

/* Bytes of request line and headers a connection may hold. */
#define RL_HTTP_MEMORY_LIMIT (16u << 10)

/* Longest readiness reason kept, bytes. */
#define RL_HTTP_REASON_SIZE 256

/* How to run the port. */
typedef struct {
    const char *listen;       /* HOST:PORT, [IPV6]:PORT (port 0: any) */
    unsigned max_connections; /* at once, >= 1 */
    unsigned timeout_s;       /* an idle connection is closed after this */
    int64_t stale_ms;         /* /healthz fails past this page age */
} rl_http_config_t;

/* What the HTTP thread has done, for the daemon's own metrics. */
typedef struct {
    uint64_t requests; /* requests answered, any path */
} rl_http_stats_t;

/* Parses HOST:PORT (an IPv4 or IPv6 literal, "localhost", or a name the
   resolver knows; IPv6 in brackets) without binding. Returns 0, or -1
   with one line in err (256 bytes). */
int rl_http_check_listen(const char *listen, char *err);

/* Binds and starts the HTTP thread. Returns NULL with one line in err
   (512 bytes) when it cannot (the address is in use, say). Call it after
   rl_loop_signals_open() so that the thread does not take the signals. */
rl_http_t *rl_http_new(const rl_http_config_t *config, char *err);

/* Stops the thread, closes the port, frees everything; nulls *self_p.
   Idempotent. */
void rl_http_destroy(rl_http_t **self_p);

/* The port bound (useful with port 0). */
uint16_t rl_http_port(const rl_http_t *self);

/* Publishes a page: the exposition in *text (swapped with the previous
   page's buffer, which *text holds on return, emptied, to render the next
   one into: no allocation in the steady state), and the readiness
   judgement with its reason (one line, cut to RL_HTTP_REASON_SIZE). A
   text marked overflow is not served: /metrics answers 500 until a good
   one comes. now_ms is the caller's monotonic clock (CLOCK_MONOTONIC,
   milliseconds), which the HTTP thread reads too. */
void rl_http_publish(rl_http_t *self, rl_metrics_t *text, bool ready,
                     const char *reason, int64_t now_ms);

/* Fills *stats (counters kept by the HTTP thread, read atomically). */
void rl_http_stats(const rl_http_t *self, rl_http_stats_t *stats);

/* CLOCK_MONOTONIC in milliseconds (czmq's zclock_mono() reads the same
   clock). */
int64_t rl_http_now_ms(void);

#endif
