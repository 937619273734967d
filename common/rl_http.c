/*  rl_http.c - a daemon's monitoring port over libmicrohttpd; see
    rl_http.h.

    The listening socket is made here rather than by libmicrohttpd, so that
    a failure to bind says why (errno) and the address can be any the
    resolver gives (IPv4 or IPv6), and libmicrohttpd gets it with
    MHD_OPTION_LISTEN_SOCKET.
*/
#include "rl_http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rl_http {
    struct MHD_Daemon *daemon;     /* libmicrohttpd, with its thread */
    int listen_fd;                 /* ours until the daemon runs */
    uint16_t port;                 /* bound */
    int64_t stale_ms;              /* /healthz fails past this page age */
    atomic_uint_fast64_t requests; /* answered */

    /* The page, guarded by lock: the HTTP thread copies it, the loop
       swaps it. Nothing else is done under the lock. */
    pthread_mutex_t lock;
    rl_metrics_t page;                /* the latest exposition */
    bool published;                   /* a page came */
    bool ready;                       /* the loop's judgement */
    char reason[RL_HTTP_REASON_SIZE]; /* its one-line reason */
    int64_t published_ms;             /* when (monotonic) */
};

int64_t rl_http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The address ---- */

/* Splits HOST:PORT or [HOST]:PORT into host and port. */
static int s_split(const char *listen, char *host, size_t host_size, char *port,
                   size_t port_size, char *err)
{
    const char *colon;
    const char *host_start = listen;
    size_t host_length;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':') {
            snprintf(err, 256,
                     "'%.100s' must look like [IPV6]:PORT, e.g. [::1]:9100",
                     listen);
            return -1;
        }
        host_start = listen + 1;
        host_length = (size_t)(close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || strchr(listen, ':') != colon) {
            snprintf(err, 256,
                     "'%.100s' must look like HOST:PORT, e.g. "
                     "127.0.0.1:9100 (IPv6 in brackets: [::1]:9100)",
                     listen);
            return -1;
        }
        host_length = (size_t)(colon - listen);
    }
    if (host_length == 0 || host_length >= host_size ||
        strlen(colon + 1) >= port_size) {
        snprintf(err, 256, "'%.100s': the host or port is missing or too long",
                 listen);
        return -1;
    }
    memcpy(host, host_start, host_length);
    host[host_length] = '\0';
    strcpy(port, colon + 1);
    char *end = NULL;
    long number = strtol(port, &end, 10);
    if (!port[0] || *end || number < 0 || number > 65535) {
        snprintf(err, 256,
                 "'%.100s': port '%s' is not a number from 0 to 65535", listen,
                 port);
        return -1;
    }
    return 0;
}

static int s_resolve(const char *listen, struct addrinfo **out, char *err)
{
    char host[256], port[16];
    if (s_split(listen, host, sizeof(host), port, sizeof(port), err) != 0)
        return -1;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, out);
    if (rc != 0) {
        snprintf(err, 256, "'%.100s': cannot resolve '%.60s': %s", listen, host,
                 gai_strerror(rc));
        return -1;
    }
    return 0;
}

int rl_http_check_listen(const char *listen, char *err)
{
    struct addrinfo *found = NULL;
    if (s_resolve(listen, &found, err) != 0)
        return -1;
    freeaddrinfo(found);
    return 0;
}

/* A listening socket on the first address that binds. */
static int s_listen(const char *address, uint16_t *port, char *err)
{
    struct addrinfo *found = NULL;
    char why[256];
    if (s_resolve(address, &found, why) != 0) {
        snprintf(err, 512, "metrics endpoint %s", why);
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *a = found; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd < 0) {
        snprintf(err, 512,
                 "cannot listen on %s for metrics: %s; pick another "
                 "--metrics-endpoint",
                 address, strerror(saved));
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t length = sizeof(bound);
    getsockname(fd, (struct sockaddr *)&bound, &length);
    *port = ntohs(bound.ss_family == AF_INET6
                      ? ((struct sockaddr_in6 *)&bound)->sin6_port
                      : ((struct sockaddr_in *)&bound)->sin_port);
    return fd;
}

/* ---- Answers (the HTTP thread) ---- */

static enum MHD_Result s_send(struct MHD_Connection *connection,
                              unsigned int status, const char *type,
                              const char *body, size_t size)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(
        size, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

#define S_TEXT    "text/plain; charset=utf-8"
#define S_METRICS "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result s_line(struct MHD_Connection *connection,
                              unsigned int status, const char *text)
{
    return s_send(connection, status, S_TEXT, text, strlen(text));
}

/* /metrics: a copy of the page, made under the lock. */
static enum MHD_Result s_metrics(rl_http_t *self,
                                 struct MHD_Connection *connection)
{
    pthread_mutex_lock(&self->lock);
    enum MHD_Result rc;
    if (!self->published)
        rc = s_line(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                    "starting: no metrics yet\n");
    else if (self->page.overflow || !self->page.data)
        rc = s_line(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                    "the metrics could not be rendered (out of memory); "
                    "see the daemon's log\n");
    else
        rc = s_send(connection, MHD_HTTP_OK, S_METRICS, self->page.data,
                    self->page.size);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

static enum MHD_Result
s_health(rl_http_t *self, struct MHD_Connection *connection, bool readiness)
{
    char body[RL_HTTP_REASON_SIZE + 128];
    unsigned int status;
    int64_t now = rl_http_now_ms();
    pthread_mutex_lock(&self->lock);
    int64_t age = now - self->published_ms;
    if (!self->published) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        snprintf(body, sizeof(body), "starting\n");
    } else if (age > self->stale_ms) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        snprintf(body, sizeof(body),
                 "stuck: the event loop has not run for %" PRId64 " ms\n", age);
    } else if (!readiness) {
        status = MHD_HTTP_OK;
        snprintf(body, sizeof(body), "ok\n");
    } else {
        status = self->ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        snprintf(body, sizeof(body), "%s\n", self->reason);
    }
    pthread_mutex_unlock(&self->lock);
    return s_line(connection, status, body);
}

static enum MHD_Result s_answer(void *arg, struct MHD_Connection *connection,
                                const char *url, const char *method,
                                const char *version, const char *upload_data,
                                size_t *upload_data_size, void **state)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)state;
    rl_http_t *self = arg;
    atomic_fetch_add(&self->requests, 1);
    /* Answered on the first call, before any body is read: a body is
       never wanted, and libmicrohttpd discards it (or closes). */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_line(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                      "only GET and HEAD are served here\n");
    if (strcmp(url, "/metrics") == 0)
        return s_metrics(self, connection);
    if (strcmp(url, "/healthz") == 0)
        return s_health(self, connection, false);
    if (strcmp(url, "/readyz") == 0)
        return s_health(self, connection, true);
    return s_line(connection, MHD_HTTP_NOT_FOUND,
                  "not found; this port serves /metrics, /healthz and "
                  "/readyz\n");
}

/* ---- Life cycle ---- */

rl_http_t *rl_http_new(const rl_http_config_t *config, char *err)
{
    rl_http_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->stale_ms = config->stale_ms;
    snprintf(self->reason, sizeof(self->reason), "starting");
    self->listen_fd = s_listen(config->listen, &self->port, err);
    if (self->listen_fd < 0) {
        rl_http_destroy(&self);
        return NULL;
    }
    /* One internal thread polls every connection; no error log (it would
       write to stderr from that thread, outside the daemon's logging);
       MHD_USE_ITC lets rl_http_destroy quiesce it. */
    self->daemon =
        MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL,
                         NULL, s_answer, self, MHD_OPTION_LISTEN_SOCKET,
                         self->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
                         config->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                         config->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)RL_HTTP_MEMORY_LIMIT, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, 512, "cannot start the metrics endpoint on %s: %s",
                 config->listen, errno ? strerror(errno) : "libmicrohttpd");
        rl_http_destroy(&self);
        return NULL;
    }
    return self;
}

void rl_http_destroy(rl_http_t **self_p)
{
    rl_http_t *self = *self_p;
    if (!self)
        return;
    if (self->daemon) {
        /* Quiesced first, libmicrohttpd hands the listening socket back
           rather than closing it itself: closed exactly once, below. */
        MHD_quiesce_daemon(self->daemon);
        MHD_stop_daemon(self->daemon); /* joins its thread */
    }
    if (self->listen_fd >= 0)
        close(self->listen_fd);
    rl_metrics_close(&self->page);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

uint16_t rl_http_port(const rl_http_t *self)
{
    return self->port;
}

void rl_http_publish(rl_http_t *self, rl_metrics_t *text, bool ready,
                     const char *reason, int64_t now_ms)
{
    pthread_mutex_lock(&self->lock);
    rl_metrics_t previous = self->page;
    self->page = *text;
    *text = previous;
    self->published = true;
    self->ready = ready;
    snprintf(self->reason, sizeof(self->reason), "%s", reason);
    self->published_ms = now_ms;
    pthread_mutex_unlock(&self->lock);
    rl_metrics_reset(text);
}

void rl_http_stats(const rl_http_t *self, rl_http_stats_t *stats)
{
    stats->requests =
        atomic_load(&((rl_http_t *)self)->requests); /* atomic read */
}
