/*  raftlog_logs.c - named logs in libraftlog: the log a client's requests
    concern (raftlog_set_log), the catalog's requests (LOGS_REQUEST:
    create, delete, configure, list) and the logs each node reported in
    its STATUS; see raftlog.h, "Named logs".

    Every catalog request goes through rl_client_call, so it follows
    NOT_LEADER to the catalog's leader (the `default` log's) and retries
    as any request does. Creating and deleting are not idempotent on the
    wire: a retry of a create whose first attempt committed without an
    answer reaching us gets REJECTED ("exists"), of a delete NOT_FOUND.
    Such an error is not turned into a success (another client may have
    done it), but its message says that this call may have done it.

    The bytes are proto's codec's (rl_codec.h), as for every request: what
    is here is the step between its rl_log_desc_t and raftlog.h's types.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The public bounds are the protocol's, which the codec enforces. */
_Static_assert(RAFTLOG_MAX_LOG_NAME == RL_MAX_LOG_NAME, "log name bound");
_Static_assert(RAFTLOG_MAX_LOGS == RL_MAX_LOGS, "logs in a reply");

bool raftlog_log_name_valid(const char *name)
{
    return rl_log_name_valid(rl_str(name));
}

/* Fails with RAFTLOG_ERR_INVALID unless name is a log name. */
static int s_check_name(raftlog_t *self, const char *name)
{
    if (raftlog_log_name_valid(name))
        return 0;
    return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                          "'%.80s' is not a log name: 1 to %d characters of "
                          "a-z, 0-9, '.', '_' and '-'",
                          name ? name : "", RAFTLOG_MAX_LOG_NAME);
}

int raftlog_set_log(raftlog_t *self, const char *name)
{
    assert(self);
    if (!name || !*name || strcmp(name, RAFTLOG_DEFAULT_LOG) == 0) {
        self->log[0] = '\0';
        return 0;
    }
    int rc = s_check_name(self, name);
    if (rc)
        return rc;
    snprintf(self->log, sizeof(self->log), "%s", name);
    return 0;
}

const char *raftlog_log_name(const raftlog_t *self)
{
    return self->log[0] ? self->log : RAFTLOG_DEFAULT_LOG;
}

/* ---- From the wire form ----

   The codec has checked what these copy: every name is a log's name (so
   it fits), every role at most 32 bytes, at most RL_MAX_LOGS logs. */

int rl_client_logs_info(const rl_log_desc_t *logs, size_t count,
                        raftlog_log_info_t **out)
{
    raftlog_log_info_t *info = count ? calloc(count, sizeof(*info)) : NULL;
    *out = info;
    if (count && !info)
        return RAFTLOG_ERR_NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        rl_client_copy(info[i].name, sizeof(info[i].name), logs[i].name);
        info[i].group = logs[i].group;
        info[i].settings = (raftlog_log_settings_t){logs[i].retention_bytes,
                                                    logs[i].retention_ms,
                                                    logs[i].max_entry_bytes};
    }
    return 0;
}

int rl_client_logs_status(const rl_log_desc_t *logs, size_t count,
                          raftlog_log_status_t **out)
{
    raftlog_log_status_t *status =
        count ? calloc(count, sizeof(*status)) : NULL;
    *out = status;
    if (count && !status)
        return RAFTLOG_ERR_NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        const rl_log_desc_t *in = &logs[i];
        raftlog_log_status_t *log = &status[i];
        rl_client_copy(log->name, sizeof(log->name), in->name);
        rl_client_copy(log->role, sizeof(log->role), in->role);
        log->group = in->group;
        log->leader = in->leader;
        log->term = in->term;
        log->commit = in->commit;
        log->last = in->last;
        log->first = in->first;
        log->lag = in->lag;
    }
    return 0;
}

/* ---- The catalog ---- */

void rl_client_logs_request(rl_msg_t *msg, uint8_t op, const char *name,
                            const raftlog_log_settings_t *settings)
{
    rl_msg_init(msg, RL_MSG_LOGS_REQUEST);
    rl_logs_request_t *request = &msg->body.logs_request;
    request->op = op;
    request->name = rl_str(name);
    if (settings && (op == RL_LOGS_CREATE || op == RL_LOGS_CONFIGURE)) {
        request->retention_bytes = settings->retention_bytes;
        request->retention_ms = settings->retention_ms;
        request->max_entry_bytes = settings->max_entry_bytes;
    }
}

/* Sends a LOGS_REQUEST and keeps its LOGS_OK's logs in self->logs. */
static int s_call(raftlog_t *self, uint8_t op, const char *name,
                  const raftlog_log_settings_t *settings)
{
    rl_msg_t msg;
    rl_client_logs_request(&msg, op, name, settings);
    uint64_t id;
    int rc = rl_client_encode(self, &msg, &self->request, &id);
    if (rc)
        return rc;
    rc = rl_client_call(self, &self->request, id, RL_MSG_LOGS_OK, 0);
    if (rc)
        return rc;
    free(self->logs);
    self->log_count = 0;
    const rl_logs_ok_t *ok = &self->last.reply.body.logs_ok;
    if ((rc = rl_client_logs_info(ok->logs, ok->log_count, &self->logs)))
        return rl_client_fail(self, rc, "out of memory");
    self->log_count = ok->log_count;
    return 0;
}

/* The one log of a LOGS_OK answering a request about name, into *log
   (may be NULL). */
static int s_one(raftlog_t *self, const char *name, raftlog_log_info_t *log)
{
    if (self->log_count != 1 || strcmp(self->logs[0].name, name) != 0)
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s answered about %zu logs, not about '%s' "
                              "alone",
                              self->answered, self->log_count, name);
    if (log)
        *log = self->logs[0];
    return 0;
}

/* An error that a retry of this call may have caused itself: an earlier
   attempt went unanswered (self->unknown) and may have done what the
   call asked. Says so. */
static int s_maybe_ours(raftlog_t *self, int rc, const char *done)
{
    if (!self->unknown)
        return rc;
    size_t length = strlen(self->error);
    snprintf(self->error + length, sizeof(self->error) - length,
             " (an earlier attempt of this call got no answer: it may have "
             "%s it)",
             done);
    return rc;
}

int raftlog_log_create(raftlog_t *self, const char *name,
                       const raftlog_log_settings_t *settings,
                       raftlog_log_info_t *log)
{
    assert(self);
    int rc = s_check_name(self, name);
    if (rc)
        return rc;
    rc = s_call(self, RL_LOGS_CREATE, name, settings);
    if (rc == RAFTLOG_ERR_REJECTED)
        return s_maybe_ours(self, rc, "created");
    return rc ? rc : s_one(self, name, log);
}

int raftlog_log_delete(raftlog_t *self, const char *name)
{
    assert(self);
    int rc = s_check_name(self, name);
    if (!rc)
        rc = s_call(self, RL_LOGS_DELETE, name, NULL);
    if (rc == RAFTLOG_ERR_NOT_FOUND)
        return s_maybe_ours(self, rc, "deleted");
    return rc;
}

int raftlog_log_configure(raftlog_t *self, const char *name,
                          const raftlog_log_settings_t *settings,
                          unsigned which, raftlog_log_info_t *log)
{
    assert(self && settings);
    int rc = s_check_name(self, name);
    if (rc)
        return rc;
    if ((which & RAFTLOG_SET_ALL) == 0)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "configuring log '%s' changes nothing: name a "
                              "setting to change",
                              name);
    raftlog_log_settings_t wanted = *settings;
    if ((which & RAFTLOG_SET_ALL) != RAFTLOG_SET_ALL) {
        /* The protocol sets all three: keep the others as they are. */
        const raftlog_log_info_t *logs;
        size_t count;
        if ((rc = raftlog_logs_list(self, &logs, &count)))
            return rc;
        const raftlog_log_info_t *now = NULL;
        for (size_t i = 0; i < count && !now; i++)
            if (strcmp(logs[i].name, name) == 0)
                now = &logs[i];
        if (!now)
            return rl_client_fail(self, RAFTLOG_ERR_NOT_FOUND,
                                  "no log named %s: see `raftlog logs list`, "
                                  "or create it with `raftlog logs create %s`",
                                  name, name);
        if (!(which & RAFTLOG_SET_RETENTION_BYTES))
            wanted.retention_bytes = now->settings.retention_bytes;
        if (!(which & RAFTLOG_SET_RETENTION_MS))
            wanted.retention_ms = now->settings.retention_ms;
        if (!(which & RAFTLOG_SET_MAX_ENTRY_BYTES))
            wanted.max_entry_bytes = now->settings.max_entry_bytes;
    }
    rc = s_call(self, RL_LOGS_CONFIGURE, name, &wanted);
    return rc ? rc : s_one(self, name, log);
}

int raftlog_logs_list(raftlog_t *self, const raftlog_log_info_t **logs,
                      size_t *count)
{
    assert(self && logs && count);
    *logs = NULL;
    *count = 0;
    int rc = s_call(self, RL_LOGS_LIST, NULL, NULL);
    if (rc)
        return rc;
    *logs = self->logs;
    *count = self->log_count;
    return 0;
}

/* ---- The logs of STATUS ---- */

void rl_client_status_logs_clear(raftlog_t *self)
{
    for (size_t i = 0; i < RAFTLOG_MAX_MEMBERS; i++) {
        free(self->status_logs[i]);
        self->status_logs[i] = NULL;
        self->status_log_counts[i] = 0;
    }
    self->status_asked = 0;
}

int rl_client_status_logs_take(raftlog_t *self, size_t member,
                               const rl_status_ok_t *ok)
{
    assert(member < RAFTLOG_MAX_MEMBERS);
    free(self->status_logs[member]);
    self->status_log_counts[member] = 0;
    /* None from a node of before named logs: the codec leaves them 0. */
    int rc = rl_client_logs_status(ok->logs, ok->log_count,
                                   &self->status_logs[member]);
    if (rc == 0)
        self->status_log_counts[member] = ok->log_count;
    return rc;
}

int raftlog_status_logs(const raftlog_t *self, size_t member,
                        const raftlog_log_status_t **logs, size_t *count)
{
    assert(self && logs && count);
    *logs = NULL;
    *count = 0;
    if (member >= self->status_asked)
        return RAFTLOG_ERR_INVALID;
    *logs = self->status_logs[member];
    *count = self->status_log_counts[member];
    return 0;
}
