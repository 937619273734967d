/*  rl_intake.c - the peer-message intake; see rl_intake.h. */
#include "rl_intake.h"

#include <czmq.h>
#include <inttypes.h>
#include <string.h>

#include "rl_codec.h"
#include "rl_logging.h"

/* With CURVE: whether msg came on a connection whose key is the
   certificate of the node in its `from`; when not, counts and logs it. */
static bool s_sender_allowed(rl_intake_t *self, zframe_t *frame,
                             const rl_msg_t *msg)
{
    static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    char why[RL_KEYS_ERROR_SIZE];
    const char *key = rl_keys_frame_key(frame);
    /* A node key added a moment ago is in the map before it is judged. */
    rl_keys_lookup_fresh(self->keys, key, zclock_mono());
    if (rl_keys_peer_allowed(self->keys, key, msg->from, why, sizeof(why)))
        return true;
    self->dropped_key++;
    /* Anyone with a key in the directory can cause this: limited, and
       escaped (the text holds a key from the wire). */
    char shown[RL_LOG_ESCAPE_SIZE(RL_KEYS_ERROR_SIZE)];
    rl_logf_limited(&limit, RL_LOG_WARN, "dropped a %s: %s",
                    rl_msg_type_name(msg->type),
                    rl_log_escape(why, strlen(why), shown, sizeof(shown)));
    return false;
}

int rl_intake_take(void *arg)
{
    /* Anyone who reaches the peer port can send these at will: limited,
       and the cluster id escaped (a newline in it would forge a line). */
    static rl_log_limit_t bad_limit = RL_LOG_LIMIT_INIT;
    static rl_log_limit_t cluster_limit = RL_LOG_LIMIT_INIT;
    rl_intake_t *self = arg;
    zframe_t *frame;
    if (rl_peers_recv(self->peers, &frame) != 0)
        return 0;
    rl_msg_t msg;
    rl_group_t *group = NULL;
    char err[RL_CODEC_ERROR_SIZE] = "not a peer message type";
    if (rl_codec_decode(zframe_data(frame), zframe_size(frame), &msg, err) !=
            0 ||
        !rl_msg_is_node(msg.type)) {
        char shown[RL_LOG_ESCAPE_SIZE(RL_CODEC_ERROR_SIZE)];
        self->dropped_bad++;
        rl_logf_limited(&bad_limit, RL_LOG_DEBUG,
                        "dropped a bad peer message: %s",
                        rl_log_escape(err, strlen(err), shown, sizeof(shown)));
    } else if (msg.cluster.size != strlen(self->cluster_id) ||
               memcmp(msg.cluster.ptr, self->cluster_id, msg.cluster.size) !=
                   0) {
        char shown[RL_LOG_ESCAPE_SIZE(RL_MAX_CLUSTER_ID)];
        self->dropped_wrong_cluster++;
        rl_logf_limited(&cluster_limit, RL_LOG_WARN,
                        "dropped a message from node %" PRIu64 " of cluster "
                        "'%s'; this node is in cluster '%s': check its "
                        "--cluster-id",
                        msg.from,
                        rl_log_escape(msg.cluster.ptr, msg.cluster.size, shown,
                                      sizeof(shown)),
                        self->cluster_id);
    } else if (self->keys && !s_sender_allowed(self, frame, &msg)) {
        /* Dropped: said in s_sender_allowed. */
    } else if (msg.type == RL_MSG_PING) {
        /* Node-level liveness only; members only, as below. */
        if (rl_groups_member(self->groups, msg.from))
            rl_contacts_touch(self->contacts, msg.from, zclock_mono());
    } else if (!(group = rl_groups_by_id(self->groups, msg.group))) {
        /* Not created here yet, or deleted: Raft's retries make up. */
        rl_groups_count_dropped(self->groups);
    } else if (!rl_groups_sender_allowed(self->groups, &msg)) {
        /* A leader of a named log must be a member of group 0. */
        rl_groups_count_dropped(self->groups);
    } else if (rl_group_step(group, &msg)) {
        /* Members only: a stranger's claimed ids must not fill the
           table of last contacts. */
        rl_contacts_touch(self->contacts, msg.from, zclock_mono());
        rl_groups_touch(self->groups, group);
    }
    rl_msg_close(&msg);
    zframe_destroy(&frame);
    return 1;
}
