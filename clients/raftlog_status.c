/*  raftlog_status.c - libraftlog's STATUS: of whichever node answers, of
    exactly one node, or of every member of the configuration at once.

    Asking every member is what `raftlog status` and `raftlog health` are
    built on. The members are asked in parallel, once each and without
    retries (raftlog_link.c runs the attempts side by side), so the table
    costs the slowest member's time, and a member that is down costs at
    most the connect timeout -- nothing at all when its port refuses the
    connection.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void rl_client_copy(char *dest, size_t size, rl_str_t str)
{
    size_t length = str.size < size - 1 ? str.size : size - 1;
    if (length)
        memcpy(dest, str.ptr, length);
    dest[length] = '\0';
}

void rl_client_member(raftlog_member_t *out, const rl_member_t *in)
{
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    out->voter = in->voter;
    rl_client_copy(out->peer, sizeof(out->peer), in->peer_addr);
    rl_client_copy(out->client, sizeof(out->client), in->client_addr);
    out->last_contact_ms = -1;
}

/* Copies a STATUS_OK out of the wire form. */
static void s_status(raftlog_status_t *status, const rl_status_ok_t *ok)
{
    memset(status, 0, sizeof(*status));
    status->node = ok->id;
    rl_client_copy(status->role, sizeof(status->role), ok->role);
    status->term = ok->term;
    status->leader = ok->leader;
    status->commit = ok->commit;
    status->last = ok->last;
    status->first = ok->first;
    for (size_t i = 0; i < ok->member_count && i < RAFTLOG_MAX_MEMBERS; i++) {
        rl_client_member(&status->members[i], &ok->members[i].member);
        status->members[i].match = ok->members[i].match_index;
        status->members[i].last_contact_ms = ok->members[i].last_contact_ms;
        status->member_count++;
    }
    for (size_t i = 0; i < ok->counter_count && i < RAFTLOG_MAX_COUNTERS; i++) {
        rl_client_copy(status->counters[i].name,
                       sizeof(status->counters[i].name), ok->counters[i].name);
        status->counters[i].value = ok->counters[i].value;
        status->counter_count++;
    }
}

/* What one attempt of a single-node STATUS came to: 0 with a STATUS_OK in
   attempt->reply, or an error code with message (size bytes) filled. */
static int s_judge(const rl_attempt_t *attempt, char *message, size_t size)
{
    if (attempt->result == RL_ATTEMPT_INTERRUPTED) {
        snprintf(message, size, "interrupted by a signal");
        return RAFTLOG_ERR_INTERRUPTED;
    }
    if (attempt->result != RL_ATTEMPT_ANSWERED) {
        snprintf(message, size, "%s", attempt->why);
        return attempt->result == RL_ATTEMPT_AUTH ||
                       attempt->result == RL_ATTEMPT_HANDSHAKE
                   ? RAFTLOG_ERR_AUTH
                   : RAFTLOG_ERR_UNAVAILABLE;
    }
    const rl_msg_t *reply = &attempt->reply;
    if (reply->type == RL_MSG_ERROR) {
        const rl_error_reply_t *e = &reply->body.error;
        snprintf(message, size, "%s: %.*s", rl_error_name(e->code),
                 (int)e->message.size, e->message.ptr ? e->message.ptr : "");
        return e->code ? e->code : RAFTLOG_ERR_PROTOCOL;
    }
    if (reply->type != RL_MSG_STATUS_OK) {
        snprintf(message, size, "%s answered %s to STATUS", attempt->endpoint,
                 rl_msg_type_name(reply->type));
        return RAFTLOG_ERR_PROTOCOL;
    }
    return 0;
}

/* Keeps the logs of the STATUS_OK a single-node STATUS got, as member 0's.
   Returns 0 or an error code with self->error. */
static int s_logs(raftlog_t *self, rl_attempt_t *a)
{
    int rc = rl_client_status_logs_take(self, 0, &a->reply.body.status_ok);
    if (rc)
        return rl_client_fail(self, rc, "out of memory");
    self->status_asked = 1;
    return 0;
}

static int s_encode(raftlog_t *self, uint64_t *id)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_STATUS_REQUEST);
    return rl_client_encode(self, &msg, &self->request, id);
}

int raftlog_status(raftlog_t *self, const char *endpoint,
                   raftlog_status_t *status)
{
    assert(self && status);
    uint64_t id;
    int rc = s_encode(self, &id);
    if (rc)
        return rc;
    rl_client_status_logs_clear(self);
    if (!endpoint) {
        rc = rl_client_call(self, &self->request, id, RL_MSG_STATUS_OK, 0);
        if (rc)
            return rc;
        s_status(status, &self->last.reply.body.status_ok);
        return s_logs(self, &self->last);
    }
    rc = rl_client_secure(self);
    if (rc)
        return rc;
    rl_link_t link = {NULL, NULL};
    rl_attempt_t *a = &self->last;
    a->link = &link;
    a->curve = &self->curve;
    a->endpoint = endpoint;
    a->request = &self->request;
    a->request_id = id;
    a->reply_timeout_ms = self->timeout_ms;
    rl_attempts_run(a, 1, self->connect_timeout_ms);
    rl_link_close(&link);
    if (a->sent && a->result != RL_ATTEMPT_ANSWERED)
        self->unknown = true; /* for the record: STATUS changes nothing */
    if (a->result == RL_ATTEMPT_ANSWERED)
        self->ever_answered = true;
    rc = s_judge(a, self->error, sizeof(self->error));
    if (rc)
        return rc;
    snprintf(self->answered, sizeof(self->answered), "%s", endpoint);
    self->error[0] = '\0';
    s_status(status, &a->reply.body.status_ok);
    return s_logs(self, a);
}

int raftlog_status_all(raftlog_t *self, raftlog_member_status_t *members,
                       size_t *count)
{
    assert(self && members && count);
    *count = 0;
    raftlog_status_t *first = malloc(sizeof(*first));
    rl_attempt_t *attempts = calloc(RAFTLOG_MAX_MEMBERS, sizeof(*attempts));
    rl_link_t links[RAFTLOG_MAX_MEMBERS];
    memset(links, 0, sizeof(links));
    int rc = first && attempts
                 ? raftlog_status(self, NULL, first)
                 : rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    uint64_t id = 0;
    rl_client_status_logs_clear(self);
    if (!rc)
        rc = s_encode(self, &id);
    size_t n = rc ? 0 : first->member_count;
    size_t asked = 0; /* attempts[k] asks members[ask[k]] */
    size_t ask[RAFTLOG_MAX_MEMBERS];
    for (size_t i = 0; i < n; i++) {
        raftlog_member_status_t *m = &members[i];
        memset(m, 0, sizeof(*m));
        m->member = first->members[i];
        if (strncmp(m->member.client, "tcp://", 6) &&
            strncmp(m->member.client, "ipc://", 6)) {
            m->code = RAFTLOG_ERR_PROTOCOL;
            snprintf(m->error, sizeof(m->error),
                     "the configuration gives it no usable client endpoint");
            continue;
        }
        rl_attempt_t *a = &attempts[asked];
        a->link = &links[asked];
        a->curve = &self->curve;
        a->endpoint = m->member.client;
        a->request = &self->request;
        a->request_id = id;
        a->reply_timeout_ms = self->timeout_ms;
        ask[asked++] = i;
    }
    int interrupted =
        rl_attempts_run(attempts, asked, self->connect_timeout_ms);
    for (size_t k = 0; k < asked; k++) {
        raftlog_member_status_t *m = &members[ask[k]];
        m->took_ms = attempts[k].took_ms;
        m->code = s_judge(&attempts[k], m->error, sizeof(m->error));
        if (!m->code)
            s_status(&m->status, &attempts[k].reply.body.status_ok);
        if (!m->code && (m->code = rl_client_status_logs_take(
                             self, ask[k], &attempts[k].reply.body.status_ok)))
            snprintf(m->error, sizeof(m->error), "out of memory");
        if (attempts[k].result == RL_ATTEMPT_ANSWERED)
            self->ever_answered = true;
        rl_attempt_release(&attempts[k]);
        rl_link_close(&links[k]);
    }
    free(attempts);
    free(first);
    if (interrupted)
        return rl_client_fail(self, interrupted, "interrupted by a signal");
    *count = n;
    self->status_asked = n;
    return rc;
}
