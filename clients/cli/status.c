/*  status.c - `raftlog status`: the cluster at a glance, one row per
    member (role, term, commit and last index, and from the leader's view
    the replication lag and the time since last contact), asked of every
    member at once; then one row per named log (its leader, term, commit
    and lag) from what the members report of each log they host. --log
    NAME narrows both to that log.

    It exits 0 when a majority of the voting members answer (even during
    an election), and 3 when they do not: "no quorum: 1 of 3 voting
    members answer (2 needed)".
*/
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const cli_option_t s_options[] = {
    {CLI_O_JSON, "json", 0, NULL, "print one JSON object instead of a table"},
    CLI_LOG_OPTION,
    {0, NULL, 0, NULL, NULL}};

/* The leader's view of member id, or NULL. */
static const raftlog_member_t *s_view(const raftlog_status_t *leader,
                                      uint64_t id)
{
    for (size_t i = 0; leader && i < leader->member_count; i++)
        if (leader->members[i].id == id)
            return &leader->members[i];
    return NULL;
}

static uint64_t s_lag(const raftlog_status_t *leader,
                      const raftlog_member_t *view)
{
    return leader->last > view->match ? leader->last - view->match : 0;
}

/* ---- Named logs ---- */

/* One log as the members report it. */
typedef struct {
    const raftlog_log_status_t *leader; /* the line of the node that leads
                                           it in the highest term, or NULL */
    const raftlog_log_status_t *first;  /* the first line seen of it */
    uint64_t lag; /* the farthest replica's entries behind the leader's
                     last index (0 without a leader) */
} s_log_t;

/* Member i's lines, one per log it hosts, in *lines; 0 when it did not
   answer STATUS. */
static size_t s_member_lines(raftlog_t *client, const cli_cluster_t *c,
                             size_t i, const raftlog_log_status_t **lines)
{
    size_t n = 0;
    if (c->members[i].code != 0 ||
        raftlog_status_logs(client, i, lines, &n) != 0)
        return 0;
    return n;
}

/* The position of the log named name among logs[0..count), or count. */
static size_t s_find(const s_log_t *logs, size_t count, const char *name)
{
    size_t at = 0;
    while (at < count && strcmp(logs[at].first->name, name) != 0)
        at++;
    return at;
}

/* The logs the members report, by name in the order first seen, in *out
   (allocated: the caller frees it); returns how many. The lines it points
   to are the client's, valid until its next call. */
static size_t s_logs(raftlog_t *client, const cli_cluster_t *c, s_log_t **out)
{
    *out = NULL;
    size_t count = 0, capacity = 0;
    s_log_t *logs = NULL;
    for (size_t i = 0; i < c->count; i++) {
        const raftlog_log_status_t *lines = NULL;
        size_t n = s_member_lines(client, c, i, &lines);
        for (size_t k = 0; k < n; k++) {
            const raftlog_log_status_t *line = &lines[k];
            size_t at = s_find(logs, count, line->name);
            if (at == count) {
                if (count == capacity) {
                    size_t more = capacity ? 2 * capacity : 16;
                    s_log_t *grown = realloc(logs, more * sizeof(*logs));
                    if (!grown)
                        break;
                    logs = grown;
                    capacity = more;
                }
                logs[count++] = (s_log_t){NULL, line, 0};
            }
            s_log_t *log = &logs[at];
            if (strcmp(line->role, "leader") == 0 &&
                (!log->leader || line->term > log->leader->term))
                log->leader = line;
        }
    }
    /* The lag, once every leader is known. */
    for (size_t i = 0; i < c->count; i++) {
        const raftlog_log_status_t *lines = NULL;
        size_t n = s_member_lines(client, c, i, &lines);
        for (size_t k = 0; k < n; k++) {
            size_t at = s_find(logs, count, lines[k].name);
            const raftlog_log_status_t *leader =
                at < count ? logs[at].leader : NULL;
            if (leader && leader->last > lines[k].last &&
                leader->last - lines[k].last > logs[at].lag)
                logs[at].lag = leader->last - lines[k].last;
        }
    }
    *out = logs;
    return count;
}

/* One member's view of a log, for JSON. */
static json_t *s_json_log_line(uint64_t node, const raftlog_log_status_t *l)
{
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "node", cli_json_uint(node),
        "role", cli_json_text(l->role), "leader", cli_json_uint(l->leader),
        "term", cli_json_uint(l->term), "commit", cli_json_uint(l->commit),
        "last", cli_json_uint(l->last), "first", cli_json_uint(l->first),
        "uncommitted", cli_json_uint(l->lag));
}

/* The logs as a JSON array: each log with its leader's view and every
   member's line. NULL when out of memory. */
static json_t *s_json_logs(raftlog_t *client, const cli_cluster_t *c)
{
    s_log_t *logs;
    size_t count = s_logs(client, c, &logs);
    json_t *array = json_array();
    for (size_t at = 0; array && at < count; at++) {
        const raftlog_log_status_t *l = logs[at].leader;
        json_t *nodes = json_array();
        for (size_t i = 0; nodes && i < c->count; i++) {
            const raftlog_log_status_t *lines = NULL;
            size_t n = s_member_lines(client, c, i, &lines);
            for (size_t k = 0; k < n; k++)
                if (strcmp(lines[k].name, logs[at].first->name) == 0)
                    json_array_append_new(
                        nodes,
                        s_json_log_line(c->members[i].member.id, &lines[k]));
        }
        json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name",
                              cli_json_text(logs[at].first->name), "group",
                              cli_json_uint(logs[at].first->group), "leader",
                              cli_json_uint(l ? l->leader : 0), "term",
                              cli_json_uint(l ? l->term : 0), "commit",
                              cli_json_uint(l ? l->commit : 0), "last",
                              cli_json_uint(l ? l->last : 0), "lag",
                              cli_json_uint(logs[at].lag), "nodes",
                              nodes ? nodes : json_null());
        if (!o || json_array_append_new(array, o) != 0) {
            json_decref(array);
            array = NULL;
        }
    }
    free(logs);
    return array;
}

static void s_print_logs(raftlog_t *client, const cli_cluster_t *c)
{
    s_log_t *logs;
    size_t count = s_logs(client, c, &logs);
    if (count)
        printf("\n%-24s %6s %6s %6s %10s %10s %8s\n", "LOG", "GROUP", "LEADER",
               "TERM", "COMMIT", "LAST", "LAG");
    for (size_t at = 0; at < count; at++) {
        const raftlog_log_status_t *l = logs[at].leader;
        char name[RAFTLOG_MAX_LOG_NAME + 1];
        cli_printable(logs[at].first->name, name, sizeof(name));
        if (l)
            printf("%-24s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %10" PRIu64
                   " %10" PRIu64 " %8" PRIu64 "\n",
                   name, logs[at].first->group, l->leader, l->term, l->commit,
                   l->last, logs[at].lag);
        else
            printf("%-24s %6" PRIu64 " %6s %6s %10s %10s %8s\n", name,
                   logs[at].first->group, "none", "-", "-", "-", "-");
    }
    free(logs);
}

/* ---- Members ---- */

static json_t *s_json_member(const void *context, size_t i)
{
    const cli_cluster_t *c = context;
    const raftlog_member_status_t *row = &c->members[i];
    const raftlog_member_t *m = &row->member;
    const raftlog_status_t *s = row->code == 0 ? &row->status : NULL;
    const raftlog_member_t *v = s_view(c->leader, m->id);
    json_t *o =
        json_pack("{s:o,s:b,s:o,s:o,s:b}", "id", cli_json_uint(m->id), "voter",
                  m->voter, "client", cli_json_text(m->client), "peer",
                  cli_json_text(m->peer), "reachable", s != NULL);
    if (o && s)
        json_object_update_new(
            o, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:f}", "role",
                         cli_json_text(s->role), "term", cli_json_uint(s->term),
                         "leader", cli_json_uint(s->leader), "commit",
                         cli_json_uint(s->commit), "last",
                         cli_json_uint(s->last), "first",
                         cli_json_uint(s->first), "took_ms", row->took_ms));
    else if (o)
        json_object_set_new(o, "error", cli_json_text(row->error));
    if (o && v)
        json_object_update_new(
            o, json_pack("{s:o,s:o,s:I}", "match", cli_json_uint(v->match),
                         "lag", cli_json_uint(s_lag(c->leader, v)),
                         "last_contact_ms", (json_int_t)v->last_contact_ms));
    return o;
}

static int s_print_json(raftlog_t *client, const cli_cluster_t *c)
{
    json_t *members = cli_json_array(c->count, s_json_member, c);
    json_t *logs = s_json_logs(client, c);
    const raftlog_status_t *l = c->leader;
    return cli_json_print(json_pack(
        "{s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:I,s:o,s:o}", "log",
        cli_json_text(raftlog_log_name(client)), "leader",
        cli_json_uint(l ? l->node : 0), "term", cli_json_uint(l ? l->term : 0),
        "commit", cli_json_uint(l ? l->commit : 0), "quorum", c->quorum,
        "voters", (json_int_t)c->voters, "answering", (json_int_t)c->answering,
        "needed", (json_int_t)c->needed, "members", members, "logs",
        logs ? logs : json_null()));
}

static void s_print_table(raftlog_t *client, const cli_cluster_t *c)
{
    const raftlog_status_t *leader = c->leader;
    char verdict[200];
    cli_cluster_verdict(c, verdict, sizeof(verdict));
    if (strcmp(raftlog_log_name(client), RAFTLOG_DEFAULT_LOG) != 0)
        printf("log: %s\n", raftlog_log_name(client));
    if (leader)
        printf("leader: node %" PRIu64 ", term %" PRIu64 ", commit %" PRIu64
               ", last %" PRIu64 "\n\n",
               leader->node, leader->term, leader->commit, leader->last);
    else
        printf("leader: none (%s)\n\n", verdict);
    printf("%-4s %-26s %-12s %6s %10s %10s %8s %8s\n", "ID", "ENDPOINT", "ROLE",
           "TERM", "COMMIT", "LAST", "LAG", "CONTACT");
    for (size_t i = 0; i < c->count; i++) {
        const raftlog_member_t *m = &c->members[i].member;
        const raftlog_status_t *s =
            c->members[i].code == 0 ? &c->members[i].status : NULL;
        const raftlog_member_t *v = s_view(leader, m->id);
        char lag[24] = "-", contact[24] = "-";
        if (leader && v) {
            snprintf(lag, sizeof(lag), "%" PRIu64, s_lag(leader, v));
            if (v->last_contact_ms >= 0 && m->id != leader->node)
                snprintf(contact, sizeof(contact), "%" PRId64 "ms",
                         v->last_contact_ms);
        }
        char endpoint[RAFTLOG_MAX_ENDPOINT + 1], role[40];
        cli_printable(m->client, endpoint, sizeof(endpoint));
        if (s)
            printf("%-4" PRIu64 " %-26s %-12s %6" PRIu64 " %10" PRIu64
                   " %10" PRIu64 " %8s %8s\n",
                   m->id, endpoint, cli_printable(s->role, role, sizeof(role)),
                   s->term, s->commit, s->last, lag, contact);
        else
            printf("%-4" PRIu64 " %-26s %-12s %6s %10s %10s %8s %8s\n", m->id,
                   endpoint, "unreachable", "-", "-", "-", lag, contact);
    }
    bool any_unreachable = false;
    for (size_t i = 0; i < c->count; i++)
        if (c->members[i].code != 0) {
            char why[sizeof(c->members[i].error)];
            printf("\nnode %" PRIu64 ": %s", c->members[i].member.id,
                   cli_printable(c->members[i].error, why, sizeof(why)));
            any_unreachable = true;
        }
    if (any_unreachable)
        printf("\n");
    s_print_logs(client, c);
    if (leader && !c->quorum)
        printf("\n%s\n", verdict);
}

static int s_status(raftlog_t *client, cli_args_t *a)
{
    if (a->arg_count)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    int rc = cli_use_log(client, a);
    if (rc)
        return rc;
    cli_cluster_t cluster;
    rc = cli_cluster_ask(client, &cluster);
    if (!rc) {
        if (a->json)
            rc = s_print_json(client, &cluster);
        else
            s_print_table(client, &cluster);
    }
    if (!rc && !cluster.quorum)
        rc = CLI_EXIT_UNAVAILABLE;
    cli_cluster_close(&cluster);
    return rc;
}

const cli_command_t cli_status = {
    "status",
    "[--log NAME] [--json]",
    "the cluster at a glance",
    "Asks every member for its STATUS, all at once, and prints one row "
    "each: role,\nterm, commit and last index, and, from the leader's view, "
    "replication lag\n(entries behind the leader's last index) and time "
    "since last contact. A\nmember that does not answer is shown as "
    "unreachable, with the reason below\nthe table. Exits 3 when no "
    "majority of the voting members answers (no\nquorum), else 0; 'raftlog "
    "health' judges whether appends can commit.\n\n"
    "Then one row per named log: its leader, term, commit and last index\n"
    "(as its leader reports them) and its lag (how many entries the\n"
    "farthest replica is behind the leader's last index). --log NAME shows\n"
    "that log alone: the member table is then that log's.",
    s_options,
    s_status,
    false};
