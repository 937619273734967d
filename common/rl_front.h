/*  rl_front.h - a client request off a ROUTER socket, as node and broker
    receive it.

    A request arrives as [routing frames...][empty][payload]. Everything
    before the payload is the envelope the reply goes back with; the
    payload is one message in the client protocol (docs/PROTOCOL.md).
*/
#ifndef RL_FRONT_H
#define RL_FRONT_H

#include <czmq.h>

#include "rl_codec.h"

/* Splits *request into its envelope and payload and decodes the payload
   into msg. Takes over *request (destroyed, nulled). Always hands out the
   envelope in *envelope and the payload frame in *payload (NULL when the
   request had no frames); the caller destroys both, and calls
   rl_msg_close(msg) first, whatever the result: byte fields of msg point
   into the payload. Returns 0, or an rl_error_t code with a message in err
   (RL_CODEC_ERROR_SIZE bytes) to send back; msg->id is then the request's
   id when it could be read, or 0. */
int rl_front_split(zmsg_t **request, zmsg_t **envelope, zframe_t **payload,
                   rl_msg_t *msg, char *err);

#endif
