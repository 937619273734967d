/*  rl_conns.c - a bound socket's connections; see rl_conns.h. */
#include "rl_conns.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "rl_logging.h"

/* What a descriptor is to us. */
enum {
    S_NONE = 0,    /* not a connection we know */
    S_COUNTED = 1, /* a connection kept, counted */
    S_CLOSING = 2  /* over the limit, shut down, not yet disconnected */
};

struct rl_conns {
    zsock_t *watched;           /* the socket watched (borrowed) */
    zsock_t *monitor;           /* PAIR receiving its monitor's events */
    char what[32];              /* "client", "peer": for log lines */
    char flag[32];              /* the option that sets the limit */
    uint32_t limit;             /* connections allowed at once */
    uint32_t count;             /* connections now */
    uint64_t refused;           /* closed for being over the limit */
    uint32_t closing;           /* of those, not yet disconnected */
    uint64_t handshakes_failed; /* ZMTP handshakes that failed (CURVE) */
    rl_conns_gone_fn *gone;     /* told of disconnects */
    void *gone_arg;             /* its argument */
    uint8_t *live;              /* live[fd]: S_COUNTED or S_CLOSING */
    size_t live_cap;            /* slots in live */
};

void rl_conns_monitor_stop(zsock_t *watched, zsock_t **monitor_p)
{
    if (!*monitor_p)
        return;
    zmq_socket_monitor(zsock_resolve(watched), NULL, 0);
    zsock_destroy(monitor_p);
}

rl_conns_t *rl_conns_new(zsock_t *socket, const char *what, const char *flag,
                         uint32_t limit, rl_conns_gone_fn *gone, void *arg)
{
    rl_conns_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->watched = socket;
    snprintf(self->what, sizeof(self->what), "%s", what);
    snprintf(self->flag, sizeof(self->flag), "%s", flag);
    self->limit = limit;
    self->gone = gone;
    self->gone_arg = arg;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "inproc://rl-conns-%p", (void *)self);
    if (zmq_socket_monitor(zsock_resolve(socket), endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(self->monitor = zsock_new_pair(endpoint))) {
        rl_conns_destroy(&self);
        return NULL;
    }
    return self;
}

void rl_conns_destroy(rl_conns_t **self_p)
{
    rl_conns_t *self = *self_p;
    if (!self)
        return;
    rl_conns_monitor_stop(self->watched, &self->monitor);
    free(self->live);
    free(self);
    *self_p = NULL;
}

zsock_t *rl_conns_socket(rl_conns_t *self)
{
    return self->monitor;
}

void rl_conns_set_limit(rl_conns_t *self, uint32_t limit)
{
    self->limit = limit;
}

uint32_t rl_conns_limit(const rl_conns_t *self)
{
    return self->limit;
}

uint32_t rl_conns_count(const rl_conns_t *self)
{
    return self->count;
}

uint64_t rl_conns_refused(const rl_conns_t *self)
{
    return self->refused;
}

uint32_t rl_conns_closing(const rl_conns_t *self)
{
    return self->closing;
}

uint64_t rl_conns_handshakes_failed(const rl_conns_t *self)
{
    return self->handshakes_failed;
}

int rl_conns_source_fd(zmq_msg_t *part)
{
    return zmq_msg_get(part, ZMQ_SRCFD);
}

/* Makes live[fd] exist. Returns 0, or -1 when out of memory. */
static int s_grow(rl_conns_t *self, int fd)
{
    if ((size_t)fd < self->live_cap)
        return 0;
    size_t cap = self->live_cap ? self->live_cap : 1024;
    while (cap <= (size_t)fd)
        cap *= 2;
    uint8_t *grown = realloc(self->live, cap);
    if (!grown)
        return -1;
    memset(grown + self->live_cap, 0, cap - self->live_cap);
    self->live = grown;
    self->live_cap = cap;
    return 0;
}

/* True when fd is still a connection accepted at endpoint (the event's
   address): a TCP socket on the endpoint's port, or a Unix socket on its
   path. */
static bool s_is_ours(int fd, const char *endpoint)
{
    struct sockaddr_storage local;
    socklen_t length = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &length) != 0)
        return false;
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        const char *colon = strrchr(endpoint, ':');
        long port = colon ? strtol(colon + 1, NULL, 10) : -1;
        if (local.ss_family == AF_INET)
            return ntohs(((struct sockaddr_in *)&local)->sin_port) == port;
        if (local.ss_family == AF_INET6)
            return ntohs(((struct sockaddr_in6 *)&local)->sin6_port) == port;
        return false;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0 && local.ss_family == AF_UNIX)
        return strcmp(((struct sockaddr_un *)&local)->sun_path, endpoint + 6) ==
               0;
    return false;
}

static void s_accepted(rl_conns_t *self, int fd, const char *endpoint)
{
    static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    if (fd < 0 || s_grow(self, fd) != 0)
        return;
    if (self->live[fd] == S_NONE && self->count < self->limit) {
        self->live[fd] = S_COUNTED;
        self->count++;
        return;
    }
    if (self->live[fd] != S_NONE)
        return;
    /* Over the limit: the newest connection goes, uncounted. Its
       DISCONNECTED event follows. */
    if (s_is_ours(fd, endpoint) && shutdown(fd, SHUT_RDWR) == 0) {
        self->live[fd] = S_CLOSING;
        self->closing++;
        self->refused++;
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "closed a new %s connection: %u are open, the "
                        "limit is %u (raise %s, or the descriptor limit)",
                        self->what, self->count, self->limit, self->flag);
    }
}

static void s_disconnected(rl_conns_t *self, int fd)
{
    if (fd < 0 || (size_t)fd >= self->live_cap || self->live[fd] == S_NONE)
        return;
    if (self->live[fd] == S_COUNTED)
        self->count--;
    else
        self->closing--;
    self->live[fd] = S_NONE;
    /* Told for a refused connection too: it may have sent a request
       before it was refused. */
    if (self->gone)
        self->gone(self->gone_arg, fd);
}

void rl_conns_process(rl_conns_t *self)
{
    void *monitor = zsock_resolve(self->monitor);
    for (;;) {
        /* [uint16 event, uint32 value][address] (libzmq 4.x, v1). */
        zmq_msg_t head, address;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            return;
        }
        zmq_msg_init(&address);
        if (zmq_msg_more(&head))
            zmq_msg_recv(&address, monitor, 0);
        if (zmq_msg_size(&head) >= 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&head), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, 4);
            char endpoint[300];
            size_t size = zmq_msg_size(&address) < sizeof(endpoint) - 1
                              ? zmq_msg_size(&address)
                              : sizeof(endpoint) - 1;
            memcpy(endpoint, zmq_msg_data(&address), size);
            endpoint[size] = '\0';
            if (event == ZMQ_EVENT_ACCEPTED)
                s_accepted(self, (int)value, endpoint);
            else if (event == ZMQ_EVENT_DISCONNECTED)
                s_disconnected(self, (int)value);
            else
                self->handshakes_failed++; /* a DISCONNECTED follows */
        }
        zmq_msg_close(&address);
        zmq_msg_close(&head);
    }
}
