/*  rl_status.c - STATUS assembly; see rl_status.h. */
#include "rl_status.h"

#include <stdlib.h>
#include <string.h>

void rl_latencies_add(rl_latencies_t *self, int64_t microseconds)
{
    if (microseconds < 0)
        microseconds = 0;
    self->samples[self->count++ % RL_STATUS_LATENCIES] =
        (uint32_t)(microseconds > UINT32_MAX ? UINT32_MAX : microseconds);
}

void rl_contacts_touch(rl_contacts_t *self, uint64_t id, int64_t now)
{
    for (size_t i = 0; i < RL_MAX_MEMBERS; i++) {
        if (self->rows[i].id == id || self->rows[i].id == 0) {
            self->rows[i].id = id;
            self->rows[i].when = now;
            return;
        }
    }
}

void rl_contacts_forget(rl_contacts_t *self, uint64_t id)
{
    for (size_t i = 0; i < RL_MAX_MEMBERS; i++)
        if (self->rows[i].id == id) {
            /* Keep the used rows first: touch takes the first free one. */
            size_t last = i;
            while (last + 1 < RL_MAX_MEMBERS && self->rows[last + 1].id)
                last++;
            self->rows[i] = self->rows[last];
            self->rows[last].id = 0;
            self->rows[last].when = 0;
            return;
        }
}

int64_t rl_contacts_since(const rl_contacts_t *self, uint64_t id, int64_t now)
{
    for (size_t i = 0; i < RL_MAX_MEMBERS; i++)
        if (self->rows[i].id == id && self->rows[i].when)
            return now - self->rows[i].when;
    return -1;
}

static int s_compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A learner is a follower outside the voters; "precandidate" is spelt as
   PROTOCOL.md has it. */
static const char *s_role(const rl_raft_status_t *st)
{
    if (st->member && !st->voter && st->role == RL_RAFT_FOLLOWER)
        return "learner";
    if (st->role == RL_RAFT_PRE_CANDIDATE)
        return "precandidate";
    return rl_raft_role_name(st->role);
}

void rl_status_build(const rl_status_input_t *in, uint64_t id,
                     rl_status_reply_t *out)
{
    const rl_raft_status_t *st = &in->raft;
    size_t count =
        in->member_count < RL_MAX_MEMBERS ? in->member_count : RL_MAX_MEMBERS;
    uint64_t lag = 0;
    for (size_t i = 0; i < count; i++) {
        rl_member_status_t *row = &out->rows[i];
        bool self = in->members[i].id == in->node_id;
        row->member = in->members[i];
        row->match_index = self ? st->persisted : in->match[i];
        row->last_contact_ms =
            self ? 0
                 : rl_contacts_since(in->contacts, in->members[i].id, in->now);
        if (st->role == RL_RAFT_LEADER &&
            st->last_index - row->match_index > lag)
            lag = st->last_index - row->match_index;
    }

    const rl_latencies_t *l = in->latencies;
    size_t measured =
        l->count < RL_STATUS_LATENCIES ? (size_t)l->count : RL_STATUS_LATENCIES;
    uint32_t sorted[RL_STATUS_LATENCIES];
    memcpy(sorted, l->samples, measured * sizeof(uint32_t));
    qsort(sorted, measured, sizeof(uint32_t), s_compare_u32);

    const rl_node_counters_t *c = &in->counters;
    const rl_counter_t counters[] = {
        {rl_str("append_requests"), c->append_requests},
        {rl_str("appended_entries"), c->appended_entries},
        {rl_str("appended_bytes"), c->appended_bytes},
        {rl_str("reads"), c->reads},
        {rl_str("elections"), c->elections},
        {rl_str("leader_changes"), c->leader_changes},
        {rl_str("timeouts"), c->timeouts},
        {rl_str("bad_requests"), c->bad_requests},
        {rl_str("fsyncs"), c->fsyncs},
        {rl_str("group_commits"), c->group_commits},
        {rl_str("spare_segments"), c->spare_segments},
        {rl_str("filesystem_syncs"), c->filesystem_syncs},
        {rl_str("fsync_p50_us"), measured ? sorted[measured / 2] : 0},
        {rl_str("fsync_p99_us"), measured ? sorted[(measured * 99) / 100] : 0},
        {rl_str("fsync_max_us"), measured ? sorted[measured - 1] : 0},
        {rl_str("replication_lag"), lag},
        {rl_str("pending_requests"), c->pending_requests},
        {rl_str("disk_free_bytes"), c->disk_free_bytes},
        {rl_str("uptime_ms"), c->uptime_ms},
        {rl_str("parked_reads"), c->parked_reads},
        {rl_str("parked_reads_refused"), c->parked_reads_refused},
        {rl_str("parked_reads_released"), c->parked_reads_released},
        {rl_str("read_waits_cut"), c->read_waits_cut},
        {rl_str("clients"), c->clients},
        {rl_str("max_clients"), c->max_clients},
        {rl_str("clients_refused"), c->clients_refused},
        {rl_str("peer_connections"), c->peer_connections},
        {rl_str("peer_connections_refused"), c->peer_connections_refused},
        {rl_str("queued_reply_bytes"), c->queued_reply_bytes},
        {rl_str("busy_queue_full"), c->busy_queue_full},
        {rl_str("fd_limit"), c->fd_limit},
        {rl_str("fd_limit_at_start"), c->fd_limit_at_start},
        {rl_str("log_lines_suppressed"), c->log_lines_suppressed},
        {rl_str("peer_dropped_non_member"), in->raft.dropped_non_member},
        {rl_str("peer_dropped_bad_term"), in->raft.dropped_bad_term},
        {rl_str("insecure"), c->insecure},
        {rl_str("keys"), c->keys},
        {rl_str("forbidden"), c->forbidden},
        {rl_str("handshakes_failed"), c->handshakes_failed},
        {rl_str("keys_refused"), c->keys_refused},
        {rl_str("peer_dropped_key"), c->peer_dropped_key},
        {rl_str("peer_messages_sent"), c->peer_messages_sent},
        {rl_str("peer_frames_sent"), c->peer_frames_sent},
        {rl_str("peer_dropped_no_group"), c->peer_dropped_no_group},
        {rl_str("peer_dropped_frames"), c->peer_dropped_frames},
        {rl_str("logs"), c->logs},
        {rl_str("logs_quiet"), c->logs_quiet},
    };
    _Static_assert(sizeof(counters) / sizeof(counters[0]) <=
                       RL_STATUS_MAX_COUNTERS,
                   "raise RL_STATUS_MAX_COUNTERS");
    memcpy(out->counters, counters, sizeof(counters));

    rl_msg_init(&out->msg, RL_MSG_STATUS_OK);
    out->msg.id = id;
    rl_status_ok_t *s = &out->msg.body.status_ok;
    s->id = in->node_id;
    s->role = rl_str(s_role(st));
    s->term = st->term;
    s->leader = st->leader;
    s->commit = st->commit;
    s->last = in->last;
    s->first = in->first;
    s->first_time = in->first_time;
    s->members = out->rows;
    s->member_count = count;
    s->counters = out->counters;
    s->counter_count = sizeof(counters) / sizeof(counters[0]);
}
