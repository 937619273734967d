/*  rl_front.c - a client request off a ROUTER socket; see rl_front.h. */
#include "rl_front.h"

#include <stdio.h>

int rl_front_split(zmsg_t **request, zmsg_t **envelope, zframe_t **payload,
                   rl_msg_t *msg, char *err)
{
    *envelope = zmsg_new();
    size_t frames = zmsg_size(*request);
    for (size_t i = 0; i + 1 < frames; i++)
        zmsg_append(*envelope, &(zframe_t *){zmsg_pop(*request)});
    *payload = zmsg_pop(*request);
    zmsg_destroy(request);
    if (!*payload) {
        rl_msg_init(msg, 0);
        snprintf(err, RL_CODEC_ERROR_SIZE, "empty request");
        return RL_ERR_BAD_REQUEST;
    }
    return rl_codec_decode(zframe_data(*payload), zframe_size(*payload), msg,
                           err);
}
