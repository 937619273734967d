/*  health.c - `raftlog health`: whether the cluster can take appends, for
    scripts and monitoring, like `etcdctl endpoint health`.

    Asks every member at once and prints one line each (healthy when it
    answers and follows the leader, with how long it took), then the
    cluster's verdict. Exits 0 when a leader answers and a majority of the
    voting members follow it, 3 otherwise (no quorum, no leader, or a
    leader too few follow).
*/
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static const cli_option_t s_options[] = {
    {CLI_O_JSON, "json", 0, NULL, "print one JSON object instead of lines"},
    {0, NULL, 0, NULL, NULL}};

static json_t *s_json_member(const void *context, size_t i)
{
    const cli_cluster_t *c = context;
    const raftlog_member_status_t *row = &c->members[i];
    json_t *o = json_pack(
        "{s:o,s:b,s:o,s:b,s:f}", "id", cli_json_uint(row->member.id), "voter",
        row->member.voter, "client", cli_json_text(row->member.client),
        "healthy", cli_cluster_member_healthy(c, i), "took_ms", row->took_ms);
    if (o && row->code == 0)
        json_object_update_new(
            o,
            json_pack("{s:o,s:o,s:o}", "role", cli_json_text(row->status.role),
                      "term", cli_json_uint(row->status.term), "leader",
                      cli_json_uint(row->status.leader)));
    else if (o)
        json_object_set_new(o, "error", cli_json_text(row->error));
    return o;
}

static int s_print_json(const cli_cluster_t *c, const char *verdict)
{
    json_t *members = cli_json_array(c->count, s_json_member, c);
    const raftlog_status_t *l = c->leader;
    return cli_json_print(json_pack(
        "{s:b,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:o}", "healthy", c->healthy,
        "verdict", verdict, "leader", cli_json_uint(l ? l->node : 0), "term",
        cli_json_uint(l ? l->term : 0), "voters", (json_int_t)c->voters,
        "answering", (json_int_t)c->answering, "following",
        (json_int_t)c->following, "needed", (json_int_t)c->needed, "members",
        members));
}

static void s_print_lines(const cli_cluster_t *c, const char *verdict)
{
    for (size_t i = 0; i < c->count; i++) {
        const raftlog_member_status_t *row = &c->members[i];
        char endpoint[RAFTLOG_MAX_ENDPOINT + 1], text[sizeof(row->error)];
        printf("node %" PRIu64 " %s: ", row->member.id,
               cli_printable(row->member.client, endpoint, sizeof(endpoint)));
        if (row->code != 0) {
            printf("unhealthy: %s\n",
                   cli_printable(row->error, text, sizeof(text)));
            continue;
        }
        const raftlog_status_t *s = &row->status;
        cli_printable(s->role, text, sizeof(text));
        if (cli_cluster_member_healthy(c, i))
            printf("healthy (%s, term %" PRIu64 "), took %.1f ms\n", text,
                   s->term, row->took_ms);
        else if (!row->member.voter)
            printf("not following (%s, term %" PRIu64 ", leader %" PRIu64
                   "; a learner, not counted)\n",
                   text, s->term, s->leader);
        else
            printf("unhealthy: %s in term %" PRIu64 ", %s\n", text, s->term,
                   s->leader ? "following another leader" : "knows no leader");
    }
    printf("cluster: %s: %s\n", c->healthy ? "healthy" : "unhealthy", verdict);
}

static int s_health(raftlog_t *client, cli_args_t *a)
{
    if (a->arg_count)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->args[0]);
    cli_cluster_t cluster;
    int rc = cli_cluster_ask(client, &cluster);
    if (!rc) {
        char verdict[200];
        cli_cluster_verdict(&cluster, verdict, sizeof(verdict));
        if (a->json)
            rc = s_print_json(&cluster, verdict);
        else
            s_print_lines(&cluster, verdict);
        if (!rc && !cluster.healthy)
            rc = CLI_EXIT_UNAVAILABLE;
    }
    cli_cluster_close(&cluster);
    return rc;
}

const cli_command_t cli_health = {
    "health",
    "[--json]",
    "exit 0 only when the cluster can take appends",
    "Asks every member, all at once, and prints one line each: healthy "
    "when it\nanswers and follows the leader (with how long it took), or why "
    "not; then the\ncluster's verdict. Exits 0 when a leader answers and a "
    "majority of the\nvoting members follow it, else 3 (no quorum, no leader, "
    "or too few\nfollowing), like 'etcdctl endpoint health'.",
    s_options,
    s_health,
    false};
