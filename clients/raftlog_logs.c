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
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool raftlog_log_name_valid(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > RAFTLOG_MAX_LOG_NAME)
        return false;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false; /* a directory's name on every node: not these */
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == length;
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

/* ---- The catalog ---- */

/* Sends a LOGS_REQUEST and reads its LOGS_OK's logs into self->logs. */
static int s_call(raftlog_t *self, uint8_t op, const char *name,
                  const raftlog_log_settings_t *settings)
{
    self->unknown = false;
    uint64_t id = ++self->request_id;
    if (rl_wire_logs_request(&self->request, id, op, name, settings))
        return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    int rc = rl_client_call(self, &self->request, id, RL_WIRE_LOGS_OK, 0);
    if (rc)
        return rc;
    free(self->logs);
    self->logs = NULL;
    self->log_count = 0;
    char err[RL_CODEC_ERROR_SIZE] = "";
    rc = rl_wire_logs_ok(zmq_msg_data(&self->last.frame),
                         zmq_msg_size(&self->last.frame), &self->logs,
                         &self->log_count, err);
    if (rc == RL_ERR_INTERNAL)
        return rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    if (rc)
        return rl_client_fail(self, RAFTLOG_ERR_PROTOCOL,
                              "%s sent a LOGS_OK that is not valid: %s",
                              self->answered, err);
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
    rc = s_call(self, RL_WIRE_LOGS_CREATE, name, settings);
    if (rc == RAFTLOG_ERR_REJECTED)
        return s_maybe_ours(self, rc, "created");
    return rc ? rc : s_one(self, name, log);
}

int raftlog_log_delete(raftlog_t *self, const char *name)
{
    assert(self);
    int rc = s_check_name(self, name);
    if (!rc)
        rc = s_call(self, RL_WIRE_LOGS_DELETE, name, NULL);
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
    rc = s_call(self, RL_WIRE_LOGS_CONFIGURE, name, &wanted);
    return rc ? rc : s_one(self, name, log);
}

int raftlog_logs_list(raftlog_t *self, const raftlog_log_info_t **logs,
                      size_t *count)
{
    assert(self && logs && count);
    *logs = NULL;
    *count = 0;
    int rc = s_call(self, RL_WIRE_LOGS_LIST, NULL, NULL);
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

int rl_client_status_logs_take(raftlog_t *self, size_t member, const void *data,
                               size_t size, char *message, size_t message_size)
{
    assert(member < RAFTLOG_MAX_MEMBERS);
    free(self->status_logs[member]);
    self->status_logs[member] = NULL;
    self->status_log_counts[member] = 0;
    char err[RL_CODEC_ERROR_SIZE] = "";
    int rc = rl_wire_status_logs(data, size, &self->status_logs[member],
                                 &self->status_log_counts[member], err);
    if (rc == RL_ERR_INTERNAL) {
        snprintf(message, message_size, "out of memory");
        return RAFTLOG_ERR_NO_MEMORY;
    }
    if (rc) {
        snprintf(message, message_size,
                 "a STATUS_OK whose logs are not valid: %s", err);
        return RAFTLOG_ERR_PROTOCOL;
    }
    return 0;
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
