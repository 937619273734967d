/*  rl_front.h - a daemon's client front door: one ROUTER socket that REQ
    and DEALER clients connect to (docs/PROTOCOL.md section 1), as node and
    broker both run it.

    A request arrives as [routing frames...][empty][payload]. Everything
    before the payload is the envelope the reply goes back with; the
    payload is one message in the client protocol. rl_front_recv() splits
    and decodes it; rl_front_reply() encodes a reply and sends it along an
    envelope. Sending never blocks: a reply to a client that went away is
    dropped by the ROUTER.

    One thread owns a front (the daemon's loop thread).
*/
#ifndef RL_FRONT_H
#define RL_FRONT_H

#include <czmq.h>

#include "rl_codec.h"

typedef struct rl_front rl_front_t;

/* A request taken off the front door. Close it with
   rl_front_request_close() whatever happened to it. */
typedef struct {
    zmsg_t *envelope;  /* routing frames to reply with (owned; a handler
                          that keeps the request waiting takes it over and
                          nulls this) */
    zframe_t *payload; /* the request's bytes (owned), NULL when it had no
                          frames; byte fields of msg point into it */
    rl_msg_t msg;      /* the decoded request; msg.id is the request's id
                          even when error is set (0 when unreadable) */
    int error;         /* 0, or the rl_error_t to answer with */
    char why[RL_CODEC_ERROR_SIZE]; /* with error: what was wrong */
} rl_front_request_t;

/* Binds a ROUTER at endpoint. Returns NULL with one line in err (512
   bytes) when it cannot (e.g. the port is in use). */
rl_front_t *rl_front_new(const char *endpoint, char *err);

/* Closes the socket (its linger applies) and nulls *self_p. Idempotent. */
void rl_front_destroy(rl_front_t **self_p);

/* The ROUTER, for the event loop. */
zsock_t *rl_front_socket(rl_front_t *self);

/* Lets replies still queued leave for up to ms after the socket closes
   (a daemon stopping calls this after its last replies). */
void rl_front_set_linger(rl_front_t *self, int ms);

/* Takes one request without blocking. Returns 0 with *request filled (its
   error set when the payload does not decode), or -1 when none waits. */
int rl_front_recv(rl_front_t *self, rl_front_request_t *request);

/* Frees what a request still owns. Safe to call twice. */
void rl_front_request_close(rl_front_request_t *request);

/* Encodes msg, sends it along *envelope (taken over and nulled, sent or
   not). Returns 0, or -1 when msg cannot be encoded (logged: a bug). */
int rl_front_reply(rl_front_t *self, zmsg_t **envelope, const rl_msg_t *msg);

/* Sends an ERROR reply with code and a printf-style message (cut at the
   protocol's RL_MAX_ERROR_MESSAGE bytes); first is the OUT_OF_RANGE
   field, 0 otherwise. Takes over *envelope like rl_front_reply(). */
int rl_front_error(rl_front_t *self, zmsg_t **envelope, uint64_t id, int code,
                   uint64_t first, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

#endif
