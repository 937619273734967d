/*  rl_group_logs.c - LOGS_REQUEST on group 0, the `default` log's group,
    which holds the catalog of named logs: list is answered from the
    committed catalog by any node; create, delete and configure are
    proposed by the leader of group 0 as CATALOG entries and answered once
    committed (raft.h, "The catalog of named logs"). See rl_group.h.
*/
#include "rl_group_private.h"

#include <inttypes.h>
#include <string.h>

_Static_assert(RL_MAX_LOG_NAME == RL_RAFT_LOG_NAME_MAX,
               "a log name on the wire is one the core takes");
_Static_assert(RL_MAX_LOGS == RL_RAFT_LOG_LIMIT + 1,
               "LOGS_OK must hold every log a catalog can, and default");

/* A log of the catalog as LOGS_OK describes it (name borrowed). */
static rl_log_desc_t s_describe(const rl_raft_log_info_t *log)
{
    return (rl_log_desc_t){.name = rl_str(log->name),
                           .group = log->group,
                           .retention_bytes = log->settings.retention_bytes,
                           .retention_ms = log->settings.retention_ms,
                           .max_entry_bytes = log->settings.max_entry_bytes};
}

/* The `default` log as LOGS_OK describes it: the node's own flags are
   its settings, so the answer says those of the node that answers. */
static rl_log_desc_t s_describe_default(const rl_group_t *self)
{
    return (rl_log_desc_t){.name = rl_str(RL_RAFT_DEFAULT_LOG),
                           .group = 0,
                           .retention_bytes = self->config->retention_bytes,
                           .retention_ms = self->config->retention_age_ms,
                           .max_entry_bytes = self->config->max_entry_bytes};
}

static void s_reply_logs(rl_group_t *self, zmsg_t **envelope, uint64_t id,
                         rl_log_desc_t *logs, size_t count)
{
    rl_msg_t msg;
    rl_msg_init(&msg, RL_MSG_LOGS_OK);
    msg.id = id;
    msg.body.logs_ok.logs = logs;
    msg.body.logs_ok.log_count = count;
    rl_group_reply(self, envelope, &msg);
}

/* LOGS list: `default` first, then the committed catalog by name. */
static void s_reply_list(rl_group_t *self, zmsg_t **envelope, uint64_t id)
{
    size_t count;
    const rl_raft_log_info_t *table = rl_raft_logs(self->raft, &count);
    rl_log_desc_t *logs = malloc((count + 1) * sizeof(*logs));
    if (!logs) {
        S_ERROR(self, envelope, id, RL_ERR_INTERNAL, 0,
                "out of memory on the node");
        return;
    }
    logs[0] = s_describe_default(self);
    for (size_t i = 0; i < count; i++)
        logs[i + 1] = s_describe(&table[i]);
    s_reply_logs(self, envelope, id, logs, count + 1);
    free(logs);
}

/* What a core refusal of a catalog change means, for the client. */
static void s_refused(rl_group_t *self, zmsg_t **envelope, uint64_t id, int rc,
                      uint8_t op, const char *name)
{
    switch (rc) {
    case RL_ERR_BAD_REQUEST:
        S_ERROR(self, envelope, id, rc, 0,
                "LOGS: a setting is out of range (retention_bytes and "
                "retention_ms at most %" PRIu64 ", max_entry_bytes at most "
                "%u)",
                RL_RAFT_LOG_RETENTION_MAX, RL_MAX_ENTRY_SIZE);
        break;
    case RL_ERR_BUSY:
        S_ERROR(self, envelope, id, rc, 0,
                "node %" PRIu64 " leads but has not committed an entry of "
                "its term yet, or too much data is waiting to commit; retry "
                "in a moment",
                self->config->id);
        break;
    case RL_ERR_REJECTED:
        if (strcmp(name, RL_RAFT_DEFAULT_LOG) == 0)
            S_ERROR(self, envelope, id, rc, 0,
                    "the log 'default' always exists: it cannot be "
                    "created, deleted or configured (its settings are the "
                    "nodes' --retention, --retention-age and --max-entry)");
        else if (op == RL_LOGS_CREATE)
            S_ERROR(self, envelope, id, rc, 0,
                    "a log named %s exists already (or its creation is "
                    "waiting to commit): raftlog logs list",
                    name);
        else
            S_ERROR(self, envelope, id, RL_ERR_NOT_FOUND, 0,
                    "no log named %s (or its deletion is waiting to "
                    "commit): raftlog logs list",
                    name);
        break;
    case RL_ERR_TOO_LARGE: {
        size_t count;
        rl_raft_logs(self->raft, &count);
        S_ERROR(self, envelope, id, rc, 0,
                "this cluster keeps at most %u named logs (--max-logs of the "
                "leader, node %" PRIu64 ") and has %zu: delete one first, or "
                "raise the limit",
                self->config->max_logs, self->config->id, count);
        break;
    }
    default:
        S_ERROR(self, envelope, id, rc, 0,
                "the leader refused the change to log %s", name);
    }
}

void rl_group_logs(rl_group_t *self, zmsg_t **envelope, const rl_msg_t *msg)
{
    const rl_logs_request_t *req = &msg->body.logs_request;
    if (req->op == RL_LOGS_LIST) {
        s_reply_list(self, envelope, msg->id);
        return;
    }
    static const char *const names[] = {"list", "create", "delete",
                                        "configure"};
    if (!rl_log_name_valid(req->name)) {
        S_ERROR(self, envelope, msg->id, RL_ERR_BAD_REQUEST, 0,
                "LOGS %s 'name': a log's name is 1 to %u characters of "
                "a-z, 0-9, '.', '_' and '-'",
                names[req->op], RL_MAX_LOG_NAME);
        return;
    }
    char name[RL_MAX_LOG_NAME + 1];
    rl_group_name_copy(name, req->name);
    rl_raft_log_settings_t settings = {req->retention_bytes, req->retention_ms,
                                       req->max_entry_bytes};
    rl_raft_log_info_t before;
    bool existed = rl_raft_log_find(self->raft, req->name, &before);
    rl_raft_proposal_t out;
    rl_group_clock(self);
    int rc =
        req->op == RL_LOGS_CREATE
            ? rl_raft_log_create(self->raft, req->name, &settings, &out)
        : req->op == RL_LOGS_DELETE
            ? rl_raft_log_delete(self->raft, req->name, &out)
            : rl_raft_log_configure(self->raft, req->name, &settings, &out);
    if (rc == RL_RAFT_NOT_LEADER) {
        rl_group_reply_not_leader(self, envelope, msg->id, out.leader);
        return;
    }
    if (rc != 0) {
        s_refused(self, envelope, msg->id, rc, req->op, name);
        return;
    }
    rl_logf(RL_LOG_INFO, "logs: %s %s proposed at index %" PRIu64,
            names[req->op], name, out.last);
    rl_pending_t *p =
        rl_group_park(self, envelope, msg->id, RL_PENDING_CATALOG,
                      self->config->request_timeout_ms, out.last, NULL, NULL);
    if (p) {
        p->term = out.term;
        p->consumer_op = req->op;
        p->first = existed ? before.group : 0; /* delete: the group gone */
        memcpy(p->consumer, name, sizeof(name));
    }
}

void rl_group_answer_catalog(rl_group_t *self, rl_pending_t *p)
{
    uint64_t term = 0;
    if (rl_log_term(self->log, p->index, &term) != 0 || term != p->term) {
        /* Another leader's entries replaced ours: not done. */
        rl_group_reply_not_leader(self, &p->envelope, p->id, self->leader);
        return;
    }
    rl_raft_log_info_t log;
    rl_log_desc_t desc;
    if (p->consumer_op != RL_LOGS_DELETE &&
        rl_raft_log_find(self->raft, rl_str(p->consumer), &log)) {
        desc = s_describe(&log);
    } else {
        /* Deleted (or, after a create, deleted again since). */
        desc = (rl_log_desc_t){.name = rl_str(p->consumer), .group = p->first};
    }
    s_reply_logs(self, &p->envelope, p->id, &desc, 1);
}
