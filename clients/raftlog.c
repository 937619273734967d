/*  raftlog.c - the C client library's client object: its life cycle, its
    settings, its endpoints and its errors; see raftlog.h for the contract.

    The library's other files each do one job: raftlog_curve.c loads the
    CURVE keys; raftlog_call.c is the Lazy Pirate loop every request goes
    through, and raftlog_link.c one attempt of it (connect, send, wait);
    raftlog_append.c, raftlog_read.c (with the tail), raftlog_status.c,
    raftlog_members.c and raftlog_consumers.c are the requests.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- Errors ---- */

int rl_client_fail(raftlog_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(self->error, sizeof(self->error), format, args);
    va_end(args);
    return code;
}

const char *raftlog_error_name(int code)
{
    switch (code) {
    case RAFTLOG_ERR_UNAVAILABLE:
        return "UNAVAILABLE";
    case RAFTLOG_ERR_PROTOCOL:
        return "PROTOCOL";
    case RAFTLOG_ERR_NO_MEMORY:
        return "NO_MEMORY";
    case RAFTLOG_ERR_INVALID:
        return "INVALID";
    case RAFTLOG_ERR_INTERRUPTED:
        return "INTERRUPTED";
    case RAFTLOG_ERR_AUTH:
        return "AUTH";
    default:
        return rl_error_name(code);
    }
}

const char *raftlog_error(const raftlog_t *self)
{
    return self->error;
}

const char *raftlog_endpoint(const raftlog_t *self)
{
    return self->answered;
}

bool raftlog_outcome_unknown(const raftlog_t *self)
{
    return self->unknown;
}

/* ---- Life cycle ---- */

static uint64_t s_random_id(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        id = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^
             ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)&id;
    }
    return id ? id : 1;
}

raftlog_t *raftlog_new(void)
{
    raftlog_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->timeout_ms = 6000;
    self->connect_timeout_ms = 1000;
    self->retries = 10;
    self->producer_id = s_random_id();
    self->next_seq = 1;
    rl_buf_init(&self->request);
    rl_buf_init(&self->append);
    return self;
}

void raftlog_destroy(raftlog_t **self_p)
{
    assert(self_p);
    raftlog_t *self = *self_p;
    if (!self)
        return;
    rl_link_close(&self->link);
    zcert_destroy(&self->curve.cert);
    rl_attempt_release(&self->last);
    rl_buf_close(&self->request);
    rl_buf_close(&self->append);
    free(self->entries);
    free(self->consumers);
    free(self->logs);
    rl_client_status_logs_clear(self);
    free(self);
    *self_p = NULL;
}

/* Adds an endpoint unless present; returns its position, or -1 when the
   list is full or the endpoint malformed. */
int rl_client_add_endpoint(raftlog_t *self, const char *endpoint, size_t length)
{
    if (length == 0 || length > RAFTLOG_MAX_ENDPOINT ||
        (strncmp(endpoint, "tcp://", 6) && strncmp(endpoint, "ipc://", 6) &&
         strncmp(endpoint, "inproc://", 9)))
        return -1;
    for (size_t i = 0; i < self->endpoint_count; i++)
        if (strlen(self->endpoints[i]) == length &&
            memcmp(self->endpoints[i], endpoint, length) == 0)
            return (int)i;
    if (self->endpoint_count == RL_CLIENT_MAX_ENDPOINTS)
        return -1;
    memcpy(self->endpoints[self->endpoint_count], endpoint, length);
    self->endpoints[self->endpoint_count][length] = '\0';
    return (int)self->endpoint_count++;
}

int raftlog_connect(raftlog_t *self, const char *endpoints)
{
    assert(self);
    if (!endpoints || !*endpoints)
        endpoints = getenv(RAFTLOG_ENDPOINTS_ENV);
    if (!endpoints || !*endpoints)
        endpoints = RAFTLOG_DEFAULT_NODES;
    rl_link_close(&self->link);
    self->endpoint_count = 0;
    self->current = 0;
    const char *p = endpoints;
    while (*p) {
        size_t skip = strspn(p, ", \t\n");
        p += skip;
        size_t length = strcspn(p, ", \t\n");
        if (length == 0)
            break;
        if (rl_client_add_endpoint(self, p, length) < 0) {
            int shown = length > 80 ? 80 : (int)length;
            self->endpoint_count = 0;
            return rl_client_fail(
                self, RAFTLOG_ERR_INVALID,
                "'%.*s' is not a usable endpoint (write it like "
                "tcp://127.0.0.1:7101; at most %d of them)",
                shown, p, RL_CLIENT_MAX_ENDPOINTS);
        }
        p += length;
    }
    if (self->endpoint_count == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "no endpoints given");
    self->error[0] = '\0';
    return 0;
}

/* ---- Settings ---- */

void raftlog_set_timeout(raftlog_t *self, int timeout_ms)
{
    assert(self && timeout_ms > 0);
    self->timeout_ms = timeout_ms;
}

void raftlog_set_connect_timeout(raftlog_t *self, int timeout_ms)
{
    assert(self && timeout_ms > 0);
    self->connect_timeout_ms = timeout_ms;
}

void raftlog_set_retries(raftlog_t *self, int retries)
{
    assert(self && retries >= 0);
    self->retries = retries;
}

void raftlog_set_progress(raftlog_t *self, raftlog_progress_fn *progress,
                          void *arg)
{
    assert(self);
    self->progress = progress;
    self->progress_arg = arg;
}

void raftlog_set_producer(raftlog_t *self, uint64_t producer_id,
                          uint64_t next_seq)
{
    assert(self && producer_id != 0 && next_seq != 0);
    self->producer_id = producer_id;
    self->next_seq = next_seq;
    self->have_append = false;
}

void raftlog_producer(const raftlog_t *self, uint64_t *producer_id,
                      uint64_t *next_seq)
{
    if (producer_id)
        *producer_id = self->producer_id;
    if (next_seq)
        *next_seq = self->next_seq;
}
