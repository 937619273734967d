/*  test_metrics.c - the monitoring port's parts: the Prometheus text
    format and histograms (common/rl_metrics.h), what the node exports and
    how it judges readiness (node/rl_node_metrics.h), and the HTTP port
    itself (common/rl_http.h) on a loopback port the kernel picks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rl_http.h"
#include "rl_metrics.h"
#include "rl_node_metrics.h"

/* ---- The text format ---- */

static void test_a_family_is_announced_then_its_samples_follow(void **state)
{
    (void)state;
    rl_metrics_t m;
    rl_metrics_init(&m);
    rl_labels_t labels = {0};
    rl_labels_add_u64(&labels, "node", 3);
    rl_metrics_family(&m, "raftlog_x_total", RL_METRICS_COUNTER, "Things.");
    rl_metrics_u64(&m, "raftlog_x_total", &labels, 18446744073709551615u);
    rl_metrics_u64(&m, "raftlog_x_total", NULL, 0);
    assert_string_equal(m.data, "# HELP raftlog_x_total Things.\n"
                                "# TYPE raftlog_x_total counter\n"
                                "raftlog_x_total{node=\"3\"} "
                                "18446744073709551615\n"
                                "raftlog_x_total 0\n");
    assert_false(m.overflow);
    rl_metrics_reset(&m);
    assert_int_equal(m.size, 0);
    assert_string_equal(m.data, "");
    rl_metrics_close(&m);
}

static void test_label_values_and_help_text_are_escaped(void **state)
{
    (void)state;
    rl_metrics_t m;
    rl_metrics_init(&m);
    rl_labels_t labels = {0};
    rl_labels_add(rl_labels_add(&labels, "node", "1"), "cluster", "a\"b\\c\nd");
    rl_metrics_family(&m, "raftlog_info", RL_METRICS_GAUGE,
                      "Back\\slash and\nnewline, \"quotes\" kept.");
    rl_metrics_u64(&m, "raftlog_info", &labels, 1);
    assert_string_equal(
        m.data,
        "# HELP raftlog_info Back\\\\slash and\\nnewline, \"quotes\" kept.\n"
        "# TYPE raftlog_info gauge\n"
        "raftlog_info{node=\"1\",cluster=\"a\\\"b\\\\c\\nd\"} 1\n");
    rl_metrics_close(&m);
}

static void test_a_label_set_too_long_is_not_written(void **state)
{
    (void)state;
    char value[600];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    rl_labels_t labels = {0};
    rl_labels_add(&labels, "log", value);
    assert_true(labels.overflow);
    rl_metrics_t m;
    rl_metrics_init(&m);
    rl_metrics_u64(&m, "raftlog_x", &labels, 1);
    assert_true(m.overflow); /* never served cut */
    rl_metrics_close(&m);
}

static void test_floats_are_written_in_their_shortest_exact_form(void **state)
{
    (void)state;
    rl_metrics_t m;
    rl_metrics_init(&m);
    rl_metrics_double(&m, "a", NULL, 0.04);
    rl_metrics_double(&m, "b", NULL, 1.0 / 3.0);
    rl_metrics_double(&m, "c", NULL, 1e300 * 1e300);
    rl_metrics_double(&m, "d", NULL, 0.0 / 0.0 * 0.0);
    assert_string_equal(m.data, "a 0.04\nb 0.3333333333333333\nc +Inf\n"
                                "d NaN\n");
    rl_metrics_close(&m);
}

static void test_a_page_past_the_maximum_size_is_marked_cut(void **state)
{
    (void)state;
    rl_metrics_t m;
    rl_metrics_init(&m);
    for (int i = 0; i < 300000 && !m.overflow; i++)
        rl_metrics_u64(&m, "raftlog_a_fairly_long_metric_name", NULL, 1);
    assert_true(m.overflow);
    assert_true(m.size <= RL_METRICS_MAX_SIZE);
    rl_metrics_close(&m);
}

/* ---- Histograms ---- */

static void test_histogram_buckets_are_cumulative_up_to_inf(void **state)
{
    (void)state;
    rl_histogram_t h = {0};
    rl_histogram_observe(&h, 50);       /* on a bound: in it (le) */
    rl_histogram_observe(&h, 51);       /* the next one */
    rl_histogram_observe(&h, -5);       /* a clock step back: 0 */
    rl_histogram_observe(&h, 20000000); /* 20 s: above every bound */
    assert_int_equal(h.count, 4);
    assert_int_equal(h.sum_us, 50 + 51 + 20000000);
    rl_metrics_t m;
    rl_metrics_init(&m);
    rl_labels_t labels = {0};
    rl_labels_add(&labels, "node", "1");
    rl_metrics_histogram(&m, "raftlog_l_seconds", &labels, &h);
    assert_non_null(strstr(m.data, "raftlog_l_seconds_bucket{node=\"1\","
                                   "le=\"5e-05\"} 2\n"
                                   "raftlog_l_seconds_bucket{node=\"1\","
                                   "le=\"0.0001\"} 3\n"));
    assert_non_null(strstr(m.data, "raftlog_l_seconds_bucket{node=\"1\","
                                   "le=\"10\"} 3\n"
                                   "raftlog_l_seconds_bucket{node=\"1\","
                                   "le=\"+Inf\"} 4\n"
                                   "raftlog_l_seconds_sum{node=\"1\"} "
                                   "20.000101\n"
                                   "raftlog_l_seconds_count{node=\"1\"} 4\n"));
    /* Every bucket line, in order, never decreasing. */
    size_t lines = 0;
    unsigned long long previous = 0;
    for (const char *at = strstr(m.data, "_bucket"); at;
         at = strstr(at + 1, "_bucket")) {
        unsigned long long count = strtoull(strchr(at, '}') + 2, NULL, 10);
        assert_true(count >= previous);
        previous = count;
        lines++;
    }
    assert_int_equal(lines, RL_HISTOGRAM_BUCKETS + 1);
    rl_metrics_close(&m);
}

static void test_a_quantile_bound_is_the_bucket_that_reaches_it(void **state)
{
    (void)state;
    rl_histogram_t h = {0};
    assert_int_equal(rl_histogram_quantile_bound(&h, 0.99), 0);
    for (int i = 0; i < 98; i++)
        rl_histogram_observe(&h, 300); /* the 500 us bucket */
    rl_histogram_observe(&h, 4000);    /* 5 ms */
    rl_histogram_observe(&h, 4000);
    assert_int_equal(rl_histogram_quantile_bound(&h, 0.5), 500);
    assert_int_equal(rl_histogram_quantile_bound(&h, 0.99), 5000);
    rl_histogram_observe(&h, 60000000);
    assert_int_equal(rl_histogram_quantile_bound(&h, 1.0), UINT32_MAX);
}

/* ---- The node's exports and readiness ---- */

static rl_member_t s_members[3] = {
    {1, true, {"tcp://a:1", 9}, {"tcp://a:2", 9}},
    {2, true, {"tcp://b:1", 9}, {"tcp://b:2", 9}},
    {3, true, {"tcp://c:1", 9}, {"tcp://c:2", 9}},
};

typedef struct {
    rl_status_input_t status;
    rl_group_metrics_t group;
    rl_histogram_t append, fsync;
    uint64_t match[3];
    rl_contacts_t contacts;
    rl_latencies_t latencies;
    rl_node_metrics_group_t groups[1];
    rl_node_metrics_input_t in;
} s_node_t;

/* Node 1 of three, leading term 4 at now = 10000 ms with both peers
   heard 100 ms ago, election timeout 1000 ms. */
static void s_node(s_node_t *n)
{
    memset(n, 0, sizeof(*n));
    rl_status_input_t *s = &n->status;
    s->node_id = 1;
    s->raft = (rl_raft_status_t){.role = RL_RAFT_LEADER,
                                 .term = 4,
                                 .leader = 1,
                                 .commit = 90,
                                 .last_index = 100,
                                 .member = true,
                                 .voter = true};
    s->members = s_members;
    s->member_count = 3;
    n->match[1] = 95;
    n->match[2] = 60;
    s->match = n->match;
    s->contacts = &n->contacts;
    s->latencies = &n->latencies;
    s->first = 1;
    s->last = 100;
    s->now = 10000;
    rl_contacts_touch(&n->contacts, 2, 9900);
    rl_contacts_touch(&n->contacts, 3, 9900);
    n->group = (rl_group_metrics_t){.append_latency = &n->append,
                                    .fsync_latency = &n->fsync};
    n->groups[0].status = s;
    n->groups[0].group = &n->group;
    rl_labels_add(&n->groups[0].labels, "node", "1");
    n->in = (rl_node_metrics_input_t){.labels = n->groups[0].labels,
                                      .version = "0.1.0",
                                      .cluster_id = "it",
                                      .groups = n->groups,
                                      .group_count = 1,
                                      .election_timeout_ms = 1000,
                                      .open_fds = -1};
}

static rl_readiness_t s_judge(const s_node_t *n)
{
    rl_readiness_t r;
    rl_node_readiness(&n->in, &r);
    return r;
}

static void test_a_leader_that_hears_a_majority_is_ready(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    rl_readiness_t r = s_judge(&n);
    assert_true(r.ready);
    assert_string_equal(r.reason, "ready: leader of term 4; 3 of 3 voters "
                                  "heard within 1000 ms (2 needed)");
    /* One peer silent: still a majority. */
    rl_contacts_touch(&n.contacts, 3, 8000);
    assert_true(s_judge(&n).ready);
}

static void test_a_leader_that_hears_no_majority_is_not_ready(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    rl_contacts_touch(&n.contacts, 2, 8000);
    rl_contacts_touch(&n.contacts, 3, 8999);
    rl_readiness_t r = s_judge(&n);
    assert_false(r.ready);
    assert_string_equal(r.reason, "not ready: leader of term 4; 1 of 3 "
                                  "voters heard within 1000 ms (2 needed)");
}

static void test_a_follower_is_ready_while_it_hears_its_leader(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    n.status.raft.role = RL_RAFT_FOLLOWER;
    n.status.raft.leader = 2;
    rl_contacts_touch(&n.contacts, 2, 9000); /* exactly a timeout ago */
    rl_readiness_t r = s_judge(&n);
    assert_true(r.ready);
    assert_string_equal(r.reason, "ready: follower of node 2 in term 4, heard "
                                  "1000 ms ago");
    rl_contacts_touch(&n.contacts, 2, 8999);
    r = s_judge(&n);
    assert_false(r.ready);
    assert_string_equal(r.reason,
                        "not ready: follower of node 2 in term 4, not heard "
                        "from it for 1001 ms (election timeout 1000 ms)");
    rl_contacts_forget(&n.contacts, 2);
    r = s_judge(&n);
    assert_false(r.ready);
    assert_non_null(strstr(r.reason, "never heard from it"));
}

static void test_without_a_leader_a_node_is_not_ready(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    n.status.raft.role = RL_RAFT_CANDIDATE;
    n.status.raft.leader = 0;
    rl_readiness_t r = s_judge(&n);
    assert_false(r.ready);
    assert_string_equal(r.reason, "not ready: no leader known in term 4");
}

static void test_a_learner_is_not_ready(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    n.status.raft.role = RL_RAFT_FOLLOWER;
    n.status.raft.leader = 2;
    n.status.raft.voter = false;
    rl_readiness_t r = s_judge(&n);
    assert_false(r.ready);
    assert_non_null(strstr(r.reason, "a learner"));
}

static void test_a_low_or_stalled_disk_makes_a_node_not_ready(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    n.in.disk_low = true;
    n.in.min_free_bytes = 1000;
    n.status.counters.disk_free_bytes = 10;
    rl_readiness_t r = s_judge(&n);
    assert_false(r.ready);
    assert_string_equal(r.reason, "not ready: disk space low: 10 bytes free, "
                                  "under --min-free 1000");
    n.in.disk_low = false;
    n.group.sync_running_us = 1000 * 1000; /* exactly a timeout: fine */
    assert_true(s_judge(&n).ready);
    n.group.sync_running_us = 2500 * 1000;
    r = s_judge(&n);
    assert_false(r.ready);
    assert_non_null(strstr(r.reason, "fdatasync has been running for 2500 ms"));
    n.group.sync_running_us = 0;
    n.group.failed = true;
    assert_false(s_judge(&n).ready);
}

static void test_a_stopping_node_is_not_ready(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    n.in.stopping = true;
    rl_readiness_t r = s_judge(&n);
    assert_false(r.ready);
    assert_string_equal(r.reason, "not ready: shutting down");
}

static bool s_has_line(const char *text, const char *line)
{
    size_t length = strlen(line);
    for (const char *at = text; (at = strstr(at, line)); at++)
        if ((at == text || at[-1] == '\n') && at[length] == '\n')
            return true;
    return false;
}

static void test_the_node_exports_its_figures_by_family(void **state)
{
    (void)state;
    s_node_t n;
    s_node(&n);
    n.status.counters.appended_entries = 77;
    n.status.counters.leader_changes = 2;
    n.in.errors[RL_ERR_BUSY] = 7;
    n.in.errors[RL_ERR_TIMEOUT] = 1;
    n.in.errors[RL_ERR_SHUTTING_DOWN] = 6;
    n.in.peer_dropped_wrong_cluster = 9;
    n.status.raft.dropped_bad_term = 5;
    rl_histogram_observe(&n.append, 700);
    rl_readiness_t r = s_judge(&n);
    rl_metrics_t m;
    rl_metrics_init(&m);
    rl_node_metrics_render(&n.in, &r, &m);
    const char *lines[] = {
        "raftlog_build_info{node=\"1\",version=\"0.1.0\",cluster=\"it\"} 1",
        "raftlog_role{node=\"1\",role=\"leader\"} 1",
        "raftlog_role{node=\"1\",role=\"follower\"} 0",
        "raftlog_term{node=\"1\"} 4",
        "raftlog_appended_entries_total{node=\"1\"} 77",
        "raftlog_leader_changes_total{node=\"1\"} 2",
        "raftlog_commit_index{node=\"1\"} 90",
        "raftlog_peer_match_index{node=\"1\",peer=\"3\"} 60",
        "raftlog_peer_lag_entries{node=\"1\",peer=\"2\"} 5",
        "raftlog_peer_lag_entries{node=\"1\",peer=\"3\"} 40",
        "raftlog_peer_last_contact_seconds{node=\"1\",peer=\"2\"} 0.1",
        "raftlog_errors_total{node=\"1\",code=\"BUSY\"} 7",
        "raftlog_errors_total{node=\"1\",code=\"TIMEOUT\"} 1",
        "raftlog_errors_total{node=\"1\",code=\"SHUTTING_DOWN\"} 6",
        "raftlog_errors_total{node=\"1\",code=\"NO_SPACE\"} 0",
        "raftlog_peer_messages_rejected_total{node=\"1\",reason=\"wrong_"
        "cluster\"} 9",
        "raftlog_peer_messages_rejected_total{node=\"1\",reason=\"bad_term\"} "
        "5",
        "raftlog_append_latency_seconds_count{node=\"1\"} 1",
        "raftlog_ready{node=\"1\"} 1",
        "# TYPE raftlog_fsync_latency_seconds histogram",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        if (!s_has_line(m.data, lines[i]))
            fail_msg("no line '%s' in:\n%s", lines[i], m.data);
    /* Each family announced once (its samples are contiguous). */
    for (const char *at = strstr(m.data, "# TYPE "); at;
         at = strstr(at + 1, "# TYPE ")) {
        char name[128];
        assert_int_equal(sscanf(at, "# TYPE %127s", name), 1);
        char again[160];
        snprintf(again, sizeof(again), "# TYPE %s ", name);
        assert_null(strstr(at + 1, again));
    }
    /* A follower has no view of its peers' progress. */
    n.status.raft.role = RL_RAFT_FOLLOWER;
    n.status.raft.leader = 2;
    rl_metrics_reset(&m);
    rl_node_metrics_render(&n.in, &r, &m);
    assert_null(strstr(m.data, "raftlog_peer_lag_entries{"));
    assert_true(s_has_line(m.data, "raftlog_role{node=\"1\",role=\"follower\"} "
                                   "1"));
    rl_metrics_close(&m);
}

/* ---- The HTTP port ---- */

/* GET (or another method) path from port: the status code, and the body
   in body (size bytes). HTTP/1.0, so the server closes when done. */
static int s_http(uint16_t port, const char *method, const char *path,
                  char *body, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval timeout = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char request[256];
    int n = snprintf(request, sizeof(request),
                     "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    assert_int_equal(send(fd, request, (size_t)n, 0), n);
    static char response[1 << 16];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(response) - 1 &&
           (r = recv(fd, response + got, sizeof(response) - 1 - got, 0)) > 0)
        got += (size_t)r;
    close(fd);
    response[got] = '\0';
    int code = 0;
    if (sscanf(response, "HTTP/1.%*d %d", &code) != 1)
        return -1;
    const char *start = strstr(response, "\r\n\r\n");
    snprintf(body, size, "%s", start ? start + 4 : "");
    return code;
}

static void test_the_port_serves_the_published_page_and_verdicts(void **state)
{
    (void)state;
    char err[512];
    rl_http_config_t config = {"127.0.0.1:0", 4, 10, 5000};
    rl_http_t *http = rl_http_new(&config, err);
    assert_non_null(http);
    uint16_t port = rl_http_port(http);
    assert_true(port > 0);
    char body[4096];
    assert_int_equal(s_http(port, "GET", "/metrics", body, sizeof(body)), 503);
    assert_int_equal(s_http(port, "GET", "/readyz", body, sizeof(body)), 503);
    assert_string_equal(body, "starting\n");

    rl_metrics_t page;
    rl_metrics_init(&page);
    rl_metrics_u64(&page, "raftlog_x", NULL, 42);
    rl_http_publish(http, &page, false, "not ready: no leader known in term 2",
                    rl_http_now_ms());
    assert_int_equal(page.size, 0); /* handed back empty, to render into */
    assert_int_equal(s_http(port, "GET", "/metrics", body, sizeof(body)), 200);
    assert_string_equal(body, "raftlog_x 42\n");
    assert_int_equal(s_http(port, "GET", "/healthz", body, sizeof(body)), 200);
    assert_string_equal(body, "ok\n");
    assert_int_equal(s_http(port, "GET", "/readyz", body, sizeof(body)), 503);
    assert_string_equal(body, "not ready: no leader known in term 2\n");
    assert_int_equal(s_http(port, "POST", "/metrics", body, sizeof(body)), 405);
    assert_int_equal(s_http(port, "GET", "/other", body, sizeof(body)), 404);
    assert_int_equal(s_http(port, "HEAD", "/metrics", body, sizeof(body)), 200);
    assert_string_equal(body, ""); /* headers only */

    rl_metrics_u64(&page, "raftlog_x", NULL, 43);
    rl_http_publish(http, &page, true, "ready: leader", rl_http_now_ms());
    assert_int_equal(s_http(port, "GET", "/readyz", body, sizeof(body)), 200);
    assert_string_equal(body, "ready: leader\n");
    assert_int_equal(s_http(port, "GET", "/metrics", body, sizeof(body)), 200);
    assert_string_equal(body, "raftlog_x 43\n");

    /* A page older than stale_ms: the loop is stuck. */
    rl_metrics_u64(&page, "raftlog_x", NULL, 44);
    rl_http_publish(http, &page, true, "ready: leader",
                    rl_http_now_ms() - 60000);
    assert_int_equal(s_http(port, "GET", "/healthz", body, sizeof(body)), 503);
    assert_non_null(strstr(body, "stuck: the event loop has not run for"));
    assert_int_equal(s_http(port, "GET", "/readyz", body, sizeof(body)), 503);

    rl_http_stats_t stats;
    rl_http_stats(http, &stats);
    assert_int_equal(stats.requests, 12);
    rl_metrics_close(&page);
    rl_http_destroy(&http);
    assert_null(http);
    rl_http_destroy(&http); /* idempotent */
}

static void test_connections_over_the_limit_wait_for_a_free_one(void **state)
{
    (void)state;
    char err[512];
    rl_http_config_t config = {"127.0.0.1:0", 2, 10, 5000};
    rl_http_t *http = rl_http_new(&config, err);
    assert_non_null(http);
    rl_metrics_t page;
    rl_metrics_init(&page);
    rl_metrics_u64(&page, "raftlog_x", NULL, 1);
    rl_http_publish(http, &page, true, "ready", rl_http_now_ms());
    uint16_t port = rl_http_port(http);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
    }
    /* Two idle connections hold both places: the third's request is not
       taken (its connection waits in the kernel's backlog), so no answer
       comes within half a second. */
    const char request[] = "GET /metrics HTTP/1.0\r\n\r\n";
    assert_int_equal(send(fds[2], request, sizeof(request) - 1, 0),
                     (ssize_t)sizeof(request) - 1);
    struct timeval brief = {0, 500000};
    setsockopt(fds[2], SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof(brief));
    char response[4096];
    ssize_t r = recv(fds[2], response, sizeof(response) - 1, 0);
    assert_true(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    /* One idle connection goes: the waiting request is served. */
    close(fds[0]);
    struct timeval patient = {10, 0};
    setsockopt(fds[2], SOL_SOCKET, SO_RCVTIMEO, &patient, sizeof(patient));
    size_t got = 0;
    while (got < sizeof(response) - 1 &&
           (r = recv(fds[2], response + got, sizeof(response) - 1 - got, 0)) >
               0)
        got += (size_t)r;
    response[got] = '\0';
    if (!strstr(response, " 200 "))
        fail_msg("response: %s", response);
    assert_non_null(strstr(response, "raftlog_x 1\n"));
    close(fds[1]);
    close(fds[2]);
    rl_metrics_close(&page);
    rl_http_destroy(&http);
}

static void test_a_bad_or_busy_address_is_refused_with_the_reason(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(rl_http_check_listen("127.0.0.1", err), -1);
    assert_non_null(strstr(err, "must look like HOST:PORT"));
    assert_int_equal(rl_http_check_listen("127.0.0.1:99999", err), -1);
    assert_non_null(strstr(err, "is not a number from 0 to 65535"));
    assert_int_equal(rl_http_check_listen("[::1:80", err), -1);
    assert_int_equal(rl_http_check_listen("127.0.0.1:9100", err), 0);
    assert_int_equal(rl_http_check_listen("[::1]:9100", err), 0);

    rl_http_config_t config = {"127.0.0.1:0", 2, 10, 5000};
    rl_http_t *first = rl_http_new(&config, err);
    assert_non_null(first);
    char taken[64];
    snprintf(taken, sizeof(taken), "127.0.0.1:%u", rl_http_port(first));
    config.listen = taken;
    rl_http_t *second = rl_http_new(&config, err);
    assert_null(second);
    assert_non_null(strstr(err, "Address already in use"));
    assert_non_null(strstr(err, "--metrics-endpoint"));
    rl_http_destroy(&first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_family_is_announced_then_its_samples_follow),
        cmocka_unit_test(test_label_values_and_help_text_are_escaped),
        cmocka_unit_test(test_a_label_set_too_long_is_not_written),
        cmocka_unit_test(test_floats_are_written_in_their_shortest_exact_form),
        cmocka_unit_test(test_a_page_past_the_maximum_size_is_marked_cut),
        cmocka_unit_test(test_histogram_buckets_are_cumulative_up_to_inf),
        cmocka_unit_test(test_a_quantile_bound_is_the_bucket_that_reaches_it),
        cmocka_unit_test(test_a_leader_that_hears_a_majority_is_ready),
        cmocka_unit_test(test_a_leader_that_hears_no_majority_is_not_ready),
        cmocka_unit_test(test_a_follower_is_ready_while_it_hears_its_leader),
        cmocka_unit_test(test_without_a_leader_a_node_is_not_ready),
        cmocka_unit_test(test_a_learner_is_not_ready),
        cmocka_unit_test(test_a_low_or_stalled_disk_makes_a_node_not_ready),
        cmocka_unit_test(test_a_stopping_node_is_not_ready),
        cmocka_unit_test(test_the_node_exports_its_figures_by_family),
        cmocka_unit_test(test_the_port_serves_the_published_page_and_verdicts),
        cmocka_unit_test(test_connections_over_the_limit_wait_for_a_free_one),
        cmocka_unit_test(test_a_bad_or_busy_address_is_refused_with_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
