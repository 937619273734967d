/*  rl_front.c - a daemon's client front door; see rl_front.h. */
#include "rl_front.h"

#include <stdarg.h>
#include <stdio.h>

#include "rl_logging.h"

/* Requests queued in and replies queued out per client connection, in
   messages (ZeroMQ's high-water marks). */
#define S_QUEUE_MESSAGES 100000

struct rl_front {
    zsock_t *router; /* the front door */
    rl_buf_t buf;    /* encoding buffer, reused */
};

rl_front_t *rl_front_new(const char *endpoint, char *err)
{
    rl_front_t *self = calloc(1, sizeof(*self));
    if (!self) {
        snprintf(err, 512, "out of memory");
        return NULL;
    }
    rl_buf_init(&self->buf);
    self->router = zsock_new(ZMQ_ROUTER);
    if (self->router) {
        zsock_set_linger(self->router, 0);
        zsock_set_sndhwm(self->router, S_QUEUE_MESSAGES);
        zsock_set_rcvhwm(self->router, S_QUEUE_MESSAGES);
    }
    if (!self->router || zsock_bind(self->router, "%s", endpoint) < 0) {
        snprintf(err, 512,
                 "cannot listen for clients on %s: %s (is the port in use?)",
                 endpoint, zmq_strerror(zmq_errno()));
        rl_front_destroy(&self);
        return NULL;
    }
    return self;
}

void rl_front_destroy(rl_front_t **self_p)
{
    rl_front_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy(&self->router);
    rl_buf_close(&self->buf);
    free(self);
    *self_p = NULL;
}

zsock_t *rl_front_socket(rl_front_t *self)
{
    return self->router;
}

void rl_front_set_linger(rl_front_t *self, int ms)
{
    zsock_set_linger(self->router, ms);
}

int rl_front_recv(rl_front_t *self, rl_front_request_t *request)
{
    memset(request, 0, sizeof(*request));
    if (!(zsock_events(self->router) & ZMQ_POLLIN))
        return -1;
    zmsg_t *message = zmsg_recv(self->router);
    if (!message)
        return -1;
    request->envelope = zmsg_new();
    size_t frames = zmsg_size(message);
    for (size_t i = 0; i + 1 < frames; i++)
        zmsg_append(request->envelope, &(zframe_t *){zmsg_pop(message)});
    request->payload = zmsg_pop(message);
    zmsg_destroy(&message);
    if (!request->payload) {
        rl_msg_init(&request->msg, 0);
        snprintf(request->why, sizeof(request->why), "empty request");
        request->error = RL_ERR_BAD_REQUEST;
        return 0;
    }
    request->error = rl_codec_decode(zframe_data(request->payload),
                                     zframe_size(request->payload),
                                     &request->msg, request->why);
    return 0;
}

void rl_front_request_close(rl_front_request_t *request)
{
    rl_msg_close(&request->msg);
    zframe_destroy(&request->payload);
    zmsg_destroy(&request->envelope);
}

int rl_front_reply(rl_front_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    rl_buf_reset(&self->buf);
    char err[RL_CODEC_ERROR_SIZE];
    if (rl_codec_encode(msg, &self->buf, err) != 0) {
        rl_logf(RL_LOG_ERROR, "cannot encode a %s reply: %s",
                rl_msg_type_name(msg->type), err);
        zmsg_destroy(envelope);
        return -1;
    }
    zmsg_addmem(*envelope, self->buf.data, self->buf.size);
    /* A client that went away makes the ROUTER drop this; never blocks. */
    zmsg_send(envelope, self->router);
    zmsg_destroy(envelope);
    return 0;
}

int rl_front_error(rl_front_t *self, zmsg_t **envelope, uint64_t id, int code,
                   uint64_t first, const char *format, ...)
{
    char text[RL_MAX_ERROR_MESSAGE];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_ERROR);
    msg.id = id;
    msg.body.error.code = (uint16_t)code;
    msg.body.error.message = rl_str(text);
    msg.body.error.first = first;
    return rl_front_reply(self, envelope, &msg);
}
