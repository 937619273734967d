/*  rl_broker_logs.c - which node leads each log, as the broker sees it.

    Every log of the cluster is its own Raft group, with a leader and terms
    of its own (docs/BROKER.md, "Leader tracking"). The default log is
    always there; named logs are learnt from what the nodes say, never from
    what a client names: each STATUS_OK's `logs` (the broker's polls list
    every log a node hosts) and each NOT_LEADER naming a `log`. So a client
    cannot make the broker hold anything for a log that does not exist;
    --max-logs bounds the table all the same. A log that no node lists any
    more (deleted) is forgotten after RL_BROKER_LOG_GRACE_MS.

    The rules of one log's leader are the single log's of before, per log:
    a claim of an older term than one already seen is ignored (Raft paper
    5.1: terms act as a logical clock).
*/
#include "rl_broker_private.h"

#include <inttypes.h>
#include <string.h>

#include "rl_logging.h"

static void s_free_log(void **item)
{
    free(*item);
    *item = NULL;
}

int rl_broker_logs_new(rl_broker_t *self)
{
    rl_broker_log_t *d = &self->default_log;
    memset(d, 0, sizeof(*d));
    d->leader = -1;
    d->leaderless = zclock_mono();
    self->logs = zhashx_new(); /* string keys, copied */
    if (!self->logs)
        return -1;
    zhashx_set_destructor(self->logs, s_free_log);
    return 0;
}

void rl_broker_logs_destroy(rl_broker_t *self)
{
    zhashx_destroy(&self->logs);
}

size_t rl_broker_log_count(const rl_broker_t *self)
{
    return self->logs ? zhashx_size(self->logs) : 0;
}

/* name as a C string in out; false when it is no log name's length. */
static bool s_name(rl_str_t name, char out[RL_MAX_LOG_NAME + 1])
{
    if (name.size > RL_MAX_LOG_NAME)
        return false;
    memcpy(out, name.ptr, name.size);
    out[name.size] = '\0';
    return true;
}

static bool s_is_default(rl_str_t name)
{
    return name.size == 0 ||
           (name.size == 7 && memcmp(name.ptr, "default", 7) == 0);
}

rl_broker_log_t *rl_broker_log_find(const rl_broker_t *self, rl_str_t name)
{
    if (s_is_default(name))
        return (rl_broker_log_t *)&self->default_log;
    char key[RL_MAX_LOG_NAME + 1];
    if (!s_name(name, key))
        return NULL;
    return zhashx_lookup(self->logs, key);
}

rl_broker_log_t *rl_broker_log_learn(rl_broker_t *self, rl_str_t name)
{
    rl_broker_log_t *log = rl_broker_log_find(self, name);
    char key[RL_MAX_LOG_NAME + 1];
    if (log || !s_name(name, key))
        return log;
    if (zhashx_size(self->logs) >= self->config.max_logs) {
        self->n_logs_full++;
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        rl_logf_limited(&limit, RL_LOG_WARN,
                        "the broker tracks %u logs (--max-logs) and the "
                        "nodes name more: requests for the others follow "
                        "each NOT_LEADER on their own; raise --max-logs",
                        self->config.max_logs);
        return NULL;
    }
    log = calloc(1, sizeof(*log));
    if (!log)
        return NULL;
    memcpy(log->name, key, sizeof(key));
    log->leader = -1;
    log->leaderless = log->heard = zclock_mono();
    zhashx_insert(self->logs, key, log);
    return log;
}

/* The log's name for log lines ("the default log", "log 'orders'"). */
static const char *s_label(const rl_broker_log_t *log, char *out, size_t size)
{
    if (!log->name[0])
        return "the default log";
    char shown[RL_LOG_ESCAPE_SIZE(RL_MAX_LOG_NAME)];
    snprintf(out, size, "log '%s'",
             rl_log_escape(log->name, strlen(log->name), shown, sizeof(shown)));
    return out;
}

void rl_broker_set_leader(rl_broker_t *self, rl_broker_log_t *log, int index,
                          uint64_t term, const char *why)
{
    if (term > log->leader_term)
        log->leader_term = term;
    if (index == log->leader)
        return;
    self->n_leader_changes++;
    log->leader = index;
    /* The default log's leader is the cluster's news (info); with many
       logs, their leaders move all the time (debug). */
    int level = log->name[0] ? RL_LOG_DEBUG : RL_LOG_INFO;
    char label[96];
    if (index < 0) {
        log->leaderless = zclock_mono();
        rl_logf(level, "%s: no leader known (term %" PRIu64 ", %s)",
                s_label(log, label, sizeof(label)), log->leader_term, why);
        /* Poll everyone at once: the next leader is found sooner. */
        for (size_t i = 0; i < self->node_count; i++)
            if (self->nodes[i].alive)
                self->nodes[i].next_poll = 0;
        return;
    }
    log->leaderless = 0;
    rl_logf(level,
            "%s: leader is node %" PRIu64 " at %s (term %" PRIu64 ", %s)",
            s_label(log, label, sizeof(label)), self->nodes[index].id,
            self->nodes[index].endpoint, log->leader_term, why);
    rl_broker_dispatch_waiting(self);
}

void rl_broker_learn_leader(rl_broker_t *self, rl_broker_log_t *log, int index,
                            bool leads, uint64_t term, uint64_t leader_id)
{
    if (leads && term >= log->leader_term) {
        rl_broker_set_leader(self, log, index, term, "its STATUS");
    } else if (!leads && term > log->leader_term) {
        /* A newer term: whoever led before is deposed. */
        int claimed = rl_broker_node_by_id(self, leader_id);
        if (claimed >= 0 && self->nodes[claimed].alive)
            rl_broker_set_leader(self, log, claimed, term,
                                 "a follower's STATUS");
        else
            rl_broker_set_leader(self, log, -1, term, "a newer term began");
    } else if (!leads && index == log->leader && term >= log->leader_term) {
        rl_broker_set_leader(self, log, -1, term, "the leader stepped down");
    }
}

void rl_broker_node_lost(rl_broker_t *self, int index, const char *why)
{
    if (self->default_log.leader == index)
        rl_broker_set_leader(self, &self->default_log, -1,
                             self->default_log.leader_term, why);
    for (rl_broker_log_t *log = zhashx_first(self->logs); log;
         log = zhashx_next(self->logs))
        if (log->leader == index)
            rl_broker_set_leader(self, log, -1, log->leader_term, why);
}

/* What s_learn_one needs. */
typedef struct {
    rl_broker_t *broker; /* the broker */
    int index;           /* the node that listed the logs */
    int64_t now;         /* zclock_mono() */
} s_lister_t;

static void s_learn_one(void *arg, const rl_peek_log_t *listed)
{
    s_lister_t *lister = arg;
    rl_broker_t *self = lister->broker;
    rl_broker_log_t *log = rl_broker_log_learn(self, listed->name);
    if (!log)
        return;
    log->listed[lister->index] = self->nodes[lister->index].logs_polls;
    log->heard = lister->now;
    bool leads =
        listed->role.size == 6 && memcmp(listed->role.ptr, "leader", 6) == 0;
    rl_broker_learn_leader(self, log, lister->index, leads, listed->term,
                           listed->leader);
}

void rl_broker_learn_logs(rl_broker_t *self, int index, const uint8_t *data,
                          size_t size)
{
    rl_broker_node_t *n = &self->nodes[index];
    s_lister_t lister = {self, index, zclock_mono()};
    bool found;
    char err[RL_CODEC_ERROR_SIZE];
    /* Counted first: the logs listed now carry this count. */
    n->logs_polls++;
    int rc = rl_peek_status_logs(data, size, s_learn_one, &lister, &found, err);
    n->lists_logs = found && rc == 0;
    if (rc) {
        static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
        char shown[RL_LOG_ESCAPE_SIZE(RL_CODEC_ERROR_SIZE)];
        rl_logf_limited(
            &limit, RL_LOG_WARN, "the logs in a STATUS from %s do not read: %s",
            n->endpoint, rl_log_escape(err, strlen(err), shown, sizeof(shown)));
    }
}

/* True when no live node that lists its logs listed this one last time. */
static bool s_unlisted(const rl_broker_t *self, const rl_broker_log_t *log)
{
    bool asked = false;
    for (size_t i = 0; i < self->node_count; i++) {
        const rl_broker_node_t *n = &self->nodes[i];
        if (!n->alive || !n->lists_logs)
            continue;
        asked = true;
        if (log->listed[i] == n->logs_polls)
            return false;
    }
    return asked;
}

void rl_broker_sweep_logs(rl_broker_t *self, int64_t now)
{
    if (now - self->logs_checked < 1000)
        return;
    self->logs_checked = now;
    zlistx_t *gone = NULL;
    for (rl_broker_log_t *log = zhashx_first(self->logs); log;
         log = zhashx_next(self->logs)) {
        if (now - log->heard < RL_BROKER_LOG_GRACE_MS || !s_unlisted(self, log))
            continue;
        if (!gone && !(gone = zlistx_new()))
            return;
        zlistx_add_end(gone, log);
    }
    if (!gone)
        return;
    for (rl_broker_log_t *log = zlistx_first(gone); log;
         log = zlistx_next(gone)) {
        char label[96];
        rl_logf(RL_LOG_DEBUG, "%s: no node lists it any more; forgotten",
                s_label(log, label, sizeof(label)));
        zhashx_delete(self->logs, log->name);
    }
    zlistx_destroy(&gone);
}
