/*  cluster.c - the view `raftlog status` and `raftlog health` share:
    every member's STATUS, asked at once (raftlog_status_all), and what
    the answers add up to: which node leads, how many voting members
    answer, how many follow the leader, and whether that is a quorum.

    A member follows the leader when it answers in the leader's term and
    names it as leader (the leader itself counts). The cluster is healthy
    when a leader answers and a majority of the voting members follow it:
    then appends can commit. Learners never count.
*/
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int cli_cluster_ask(raftlog_t *client, cli_cluster_t *c)
{
    memset(c, 0, sizeof(*c));
    c->members = calloc(RAFTLOG_MAX_MEMBERS, sizeof(raftlog_member_status_t));
    if (!c->members)
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    int rc = raftlog_status_all(client, c->members, &c->count);
    if (rc)
        return cli_client_fail(client, rc, NULL);
    for (size_t i = 0; i < c->count; i++) {
        const raftlog_status_t *s = &c->members[i].status;
        if (c->members[i].code == 0 && strcmp(s->role, "leader") == 0 &&
            (!c->leader || s->term > c->leader->term))
            c->leader = s;
    }
    for (size_t i = 0; i < c->count; i++) {
        if (!c->members[i].member.voter)
            continue;
        c->voters++;
        c->answering += c->members[i].code == 0;
        c->following += cli_cluster_member_healthy(c, i);
    }
    c->needed = c->voters / 2 + 1;
    c->quorum = c->answering >= c->needed;
    c->healthy = c->leader && c->following >= c->needed;
    return 0;
}

bool cli_cluster_member_healthy(const cli_cluster_t *c, size_t i)
{
    const raftlog_member_status_t *m = &c->members[i];
    if (m->code != 0 || !c->leader)
        return false;
    if (&m->status == c->leader)
        return true;
    return m->status.term == c->leader->term &&
           m->status.leader == c->leader->node;
}

void cli_cluster_verdict(const cli_cluster_t *c, char *out, size_t size)
{
    if (!c->quorum)
        snprintf(out, size,
                 "no quorum: %zu of %zu voting members answer (%zu needed)",
                 c->answering, c->voters, c->needed);
    else if (!c->leader)
        snprintf(out, size,
                 "no leader known: an election may be under way (%zu of %zu "
                 "voting members answer)",
                 c->answering, c->voters);
    else if (!c->healthy)
        snprintf(out, size,
                 "node %" PRIu64 " leads term %" PRIu64 ", but only %zu of "
                 "%zu voting members follow it (%zu needed)",
                 c->leader->node, c->leader->term, c->following, c->voters,
                 c->needed);
    else
        snprintf(out, size,
                 "node %" PRIu64 " leads term %" PRIu64 "; %zu of %zu voting "
                 "members follow it (%zu needed)",
                 c->leader->node, c->leader->term, c->following, c->voters,
                 c->needed);
}

void cli_cluster_close(cli_cluster_t *c)
{
    free(c->members);
    memset(c, 0, sizeof(*c));
}
