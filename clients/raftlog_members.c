/*  raftlog_members.c - the configuration in libraftlog: listing, adding
    and removing members (MEMBERS_REQUEST), and moving leadership
    (TRANSFER_REQUEST); see raftlog.h.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <string.h>

/* Sends a MEMBERS_REQUEST and copies the configuration out. */
static int s_members(raftlog_t *self, uint8_t op, const rl_member_t *member,
                     raftlog_member_t *members, size_t *count)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_MEMBERS_REQUEST);
    msg.body.members_request.op = op;
    if (member)
        msg.body.members_request.member = *member;
    uint64_t id;
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_MEMBERS_OK, 0);
    if (rc)
        return rc;
    const rl_members_ok_t *ok = &self->last.reply.body.members_ok;
    if (count)
        *count = 0;
    for (size_t i = 0;
         members && count && i < ok->member_count && i < RAFTLOG_MAX_MEMBERS;
         i++) {
        rl_client_member(&members[i], &ok->members[i]);
        (*count)++;
    }
    return 0;
}

int raftlog_members(raftlog_t *self, raftlog_member_t *members, size_t *count)
{
    assert(self && members && count);
    return s_members(self, RL_MEMBERS_LIST, NULL, members, count);
}

int raftlog_member_add(raftlog_t *self, uint64_t id, const char *peer,
                       const char *client, raftlog_member_t *members,
                       size_t *count)
{
    assert(self);
    if (id == 0 || !peer || !client || !*peer || !*client ||
        strlen(peer) > RAFTLOG_MAX_ENDPOINT ||
        strlen(client) > RAFTLOG_MAX_ENDPOINT)
        return rl_client_fail(
            self, RAFTLOG_ERR_INVALID,
            "adding a member needs an id (1 or more), a peer and "
            "a client endpoint (at most %d bytes each)",
            RAFTLOG_MAX_ENDPOINT);
    rl_member_t member = {id, false, rl_str(peer), rl_str(client)};
    return s_members(self, RL_MEMBERS_ADD, &member, members, count);
}

int raftlog_member_remove(raftlog_t *self, uint64_t id,
                          raftlog_member_t *members, size_t *count)
{
    assert(self);
    if (id == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "member ids start at 1");
    rl_member_t member = {id, false, {NULL, 0}, {NULL, 0}};
    return s_members(self, RL_MEMBERS_REMOVE, &member, members, count);
}

int raftlog_transfer(raftlog_t *self, uint64_t target, uint64_t *leader)
{
    assert(self);
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_TRANSFER_REQUEST);
    msg.body.transfer_request.target = target;
    uint64_t id;
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (!rc)
        rc = rl_client_call(self, &self->request, id, RL_MSG_TRANSFER_OK, 0);
    if (!rc && leader)
        *leader = self->last.reply.body.transfer_ok.leader;
    return rc;
}
