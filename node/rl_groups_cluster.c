/*  rl_groups_cluster.c - what a node does for all its groups at once,
    with the cluster in view: ticks (only groups that are not quiet),
    node-level liveness (PING, waking quiet groups whose leader or voter
    is down), membership mirrored into named logs, leader spreading, and
    sweeps. See rl_groups.h.
*/
#include "rl_groups_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_codec.h"
#include "rl_logging.h"

/* True when id is in members. */
static bool s_listed(const rl_member_t *members, size_t count, uint64_t id)
{
    for (size_t i = 0; i < count; i++)
        if (members[i].id == id)
            return true;
    return false;
}

bool rl_groups_member(rl_groups_t *self, uint64_t id)
{
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    size_t count;
    const rl_member_t *members = rl_raft_members(zero, &count);
    if (s_listed(members, count, id))
        return true;
    members = rl_raft_committed_members(zero, &count);
    return s_listed(members, count, id);
}

bool rl_groups_sender_allowed(rl_groups_t *self, const rl_msg_t *msg)
{
    if (msg->group == 0)
        return true;
    if (msg->type == RL_MSG_PREVOTE || msg->type == RL_MSG_VOTE) {
        /* A candidate must be in group 0's latest configuration: one
           removed (or being removed) could win, and then lead no one. */
        size_t count;
        const rl_member_t *members =
            rl_raft_members(rl_group_raft(self->groups[0]), &count);
        return s_listed(members, count, msg->from);
    }
    if (msg->type != RL_MSG_APPEND && msg->type != RL_MSG_SNAPSHOT &&
        msg->type != RL_MSG_TIMEOUT_NOW)
        return true;
    return rl_groups_member(self, msg->from);
}

/* Wakes the quiet groups that need it because of down peers (raft.h):
   followers whose leader is down, or not a member of group 0 any more;
   leaders one of whose voters is down. */
static void s_wake(rl_groups_t *self, const rl_contacts_t *contacts,
                   int64_t now)
{
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    size_t count;
    const rl_member_t *members = rl_raft_members(zero, &count);
    uint64_t down[RL_MAX_MEMBERS];
    size_t down_count = 0;
    int64_t timeout = self->config->election_timeout_ms;
    for (size_t i = 0; i < count && down_count < RL_MAX_MEMBERS; i++) {
        if (members[i].id == self->config->id)
            continue;
        int64_t since = rl_contacts_since(contacts, members[i].id, now);
        /* Never heard from: down once this node has been up as long. */
        if (since > timeout || (since < 0 && now - self->started > timeout))
            down[down_count++] = members[i].id;
    }
    if (down_count == 0)
        return;
    for (size_t g = 1; g < self->count; g++) {
        rl_group_t *group = self->groups[g];
        if (!rl_group_quiet(group))
            continue;
        rl_raft_t *raft = rl_group_raft(group);
        rl_raft_status_t st;
        rl_raft_status(raft, &st);
        bool wake = false;
        if (st.role == RL_RAFT_LEADER) {
            size_t n;
            const rl_member_t *own = rl_raft_members(raft, &n);
            for (size_t i = 0; i < n && !wake; i++)
                for (size_t k = 0; k < down_count && !wake; k++)
                    wake = own[i].voter && own[i].id == down[k];
        } else {
            for (size_t k = 0; k < down_count && !wake; k++)
                wake = st.leader == down[k];
            wake |= st.leader && !s_listed(members, count, st.leader);
        }
        if (wake) {
            rl_raft_wake(raft);
            rl_groups_touch(self, group);
        }
    }
}

/* Node-level liveness (raft.h rl_raft_quiet): a peer that gets nothing
   else from this node for a heartbeat interval gets a PING, so that it
   can tell this node is up while every group they share is quiet. Only
   while named logs are hosted: a single-log node sends what it always
   did. */
static void s_ping(rl_groups_t *self, int64_t now)
{
    if (self->count < 2 || !self->links.peers)
        return;
    rl_group_t *zero = self->groups[0];
    size_t count;
    const rl_member_t *members = rl_raft_members(rl_group_raft(zero), &count);
    rl_msg_t ping;
    rl_msg_init(&ping, RL_MSG_PING);
    ping.cluster = rl_str(self->config->cluster_id);
    ping.from = self->config->id;
    rl_buf_t buf;
    rl_buf_init(&buf);
    for (size_t i = 0; i < count; i++) {
        uint64_t id = members[i].id;
        char endpoint[RL_MAX_ENDPOINT + 1];
        if (id == self->config->id ||
            rl_peers_spoke_to(self->links.peers, id, now,
                              self->config->heartbeat_ms) ||
            !rl_group_endpoint(zero, id, true, endpoint, sizeof(endpoint)) ||
            rl_peers_connect(self->links.peers, id, endpoint) != 0)
            continue;
        if (buf.size == 0 && rl_codec_encode(&ping, &buf, NULL) != 0)
            break;
        rl_peers_send(self->links.peers, id, buf.data, buf.size);
    }
    rl_buf_close(&buf);
}

/* Membership is made in group 0; each named log's leader mirrors its
   committed configuration, one change at a time. Every group it leads
   is looked at when that configuration changed, and each tick while a
   change waits (for the previous one to commit, or for a learner that
   is catching up); otherwise once every election timeout (groups this
   node came to lead since, learners that were down): idle, it costs
   nothing. */
static void s_mirror(rl_groups_t *self, int64_t now)
{
    if (self->count < 2)
        return;
    size_t target_count;
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    const rl_member_t *target = rl_raft_committed_members(zero, &target_count);
    uint64_t target_at = rl_raft_committed_config_index(zero);
    uint8_t *encoded = NULL;
    size_t size = 0;
    if (rl_raft_members_encode(target, target_count, target_at, &encoded,
                               &size) != 0)
        return;
    bool changed = size != self->target_seen_size ||
                   memcmp(encoded, self->target_seen, size) != 0;
    if (!changed &&
        now - self->mirrored_at < (int64_t)self->config->election_timeout_ms) {
        free(encoded);
        return;
    }
    bool pending = false;
    for (size_t i = 1; i < self->count; i++) {
        rl_group_t *group = self->groups[i];
        if (rl_group_role(group) != RL_RAFT_LEADER)
            continue;
        if (rl_group_mirror(group, target, target_count, target_at)) {
            rl_groups_touch(self, group);
            pending = true;
        }
    }
    self->mirrored_at = now;
    if (pending) {
        free(encoded); /* not done: look again at the next tick */
        free(self->target_seen);
        self->target_seen = NULL;
        self->target_seen_size = 0;
        return;
    }
    free(self->target_seen);
    self->target_seen = encoded;
    self->target_seen_size = size;
}

int rl_groups_tick(rl_groups_t *self, const rl_contacts_t *contacts,
                   int64_t now)
{
    s_wake(self, contacts, now);
    s_mirror(self, now);
    rl_groups_prune(self);
    /* Only groups that are not quiet need their ticks (quiesce.c). */
    for (size_t i = 0; i < self->active_count; i++) {
        rl_group_t *group = self->active[i];
        if (group && !rl_group_quiet(group) && rl_group_tick(group) != 0)
            return -1;
    }
    s_ping(self, now);
    return rl_groups_drive(self);
}

void rl_groups_spread(rl_groups_t *self, const rl_contacts_t *contacts,
                      int64_t now)
{
    if (now - self->spread_at < RL_GROUPS_SPREAD_MS || self->count < 2)
        return;
    self->spread_at = now;
    rl_raft_t *zero = rl_group_raft(self->groups[0]);
    size_t count;
    const rl_member_t *members = rl_raft_members(zero, &count);
    uint64_t ids[RL_MAX_MEMBERS];
    size_t led[RL_MAX_MEMBERS] = {0}, voters = 0;
    for (size_t i = 0; i < count && voters < RL_MAX_MEMBERS; i++)
        if (members[i].voter)
            ids[voters++] = members[i].id;
    if (voters < 2)
        return;
    /* Who leads what, as this node sees it. */
    for (size_t g = 0; g < self->count; g++) {
        rl_raft_status_t st;
        rl_raft_status(rl_group_raft(self->groups[g]), &st);
        for (size_t k = 0; k < voters; k++)
            led[k] += st.leader == ids[k];
    }
    size_t share = (self->count + voters - 1) / voters, mine = 0;
    for (size_t k = 0; k < voters; k++)
        if (ids[k] == self->config->id)
            mine = led[k];
    if (mine <= share)
        return;
    int64_t timeout = self->config->election_timeout_ms;
    /* One transfer a round: a named log this node leads (default last:
       it also serves the catalog), to the up-to-date voter leading the
       fewest. */
    for (size_t j = 1; j <= self->count; j++) {
        rl_group_t *group = self->groups[j % self->count];
        rl_raft_t *raft = rl_group_raft(group);
        rl_raft_status_t st;
        rl_raft_status(raft, &st);
        if (st.role != RL_RAFT_LEADER || st.transfer_to)
            continue;
        uint64_t target = 0, best_match = 0;
        size_t fewest = SIZE_MAX;
        size_t n_members;
        const rl_member_t *own = rl_raft_members(raft, &n_members);
        for (size_t k = 0; k < voters; k++) {
            uint64_t id = ids[k];
            int64_t since = rl_contacts_since(contacts, id, now);
            bool voter = false;
            for (size_t m = 0; m < n_members && !voter; m++)
                voter = own[m].id == id && own[m].voter;
            uint64_t match = rl_raft_match_of(raft, id);
            /* Alive, a voter of this group, and holding what is
               committed: the transfer is then quick (thesis 3.10). */
            if (id == self->config->id || !voter || since < 0 ||
                since > timeout || match < st.commit)
                continue;
            if (led[k] < fewest || (led[k] == fewest && match > best_match)) {
                fewest = led[k];
                target = id;
                best_match = match;
            }
        }
        /* Only when it evens things out: no ping-pong. */
        if (!target || fewest + 1 >= mine || fewest >= share)
            continue;
        rl_logf(RL_LOG_INFO,
                "leaders: node %" PRIu64 " leads %zu of %zu logs (its share "
                "is %zu): handing %s to node %" PRIu64 ", which leads %zu",
                self->config->id, mine, self->count, share,
                rl_group_name(group), target, fewest);
        rl_group_handover(group, target);
        rl_groups_touch(self, group);
        return;
    }
}

/* Named groups swept in turn at each sweep: every one about once a
   second at the node's 10 ms sweeps. */
#define S_SWEEP_SLICES 100

int rl_groups_sweep(rl_groups_t *self, int64_t now)
{
    size_t named = self->count - 1;
    size_t slice = (named + S_SWEEP_SLICES - 1) / S_SWEEP_SLICES;
    size_t from = named ? self->sweep_next % named : 0;
    /* The active groups (group 0 among them: it never goes quiet) at
       every sweep: their deadlines; then a slice of the named groups in
       turn: retention and spares. */
    for (size_t i = 0; i < self->active_count; i++) {
        rl_group_t *group = self->active[i];
        if (!group)
            continue;
        if (rl_group_sweep(group, now) != 0)
            return -1;
        rl_groups_touch(self, group);
    }
    for (size_t k = 0; k < slice; k++) {
        rl_group_t *group = self->groups[1 + (from + k) % named];
        if (*rl_group_active_mark(group))
            continue; /* swept above */
        if (rl_group_sweep(group, now) != 0)
            return -1;
        if (!rl_group_idle(group))
            rl_groups_touch(self, group);
    }
    self->sweep_next = named ? (from + slice) % named : 0;
    return rl_groups_drive(self);
}
