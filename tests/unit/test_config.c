/*  test_config.c - raftlog-node's flags, config file and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rl_config.h"

#define M1 "--member", "1=tcp://127.0.0.1:7001,tcp://127.0.0.1:7101"
#define M2 "--member", "2=tcp://127.0.0.1:7002,tcp://127.0.0.1:7102"
#define M3 "--member", "3=tcp://127.0.0.1:7003,tcp://127.0.0.1:7103"

/* Parses a NULL-terminated argument list (program name added). */
static int s_parse(rl_config_t *config, char *err, ...)
{
    char *argv[64] = {"raftlog-node"};
    int argc = 1;
    va_list args;
    va_start(args, err);
    char *arg;
    while ((arg = va_arg(args, char *)) != NULL && argc < 63)
        argv[argc++] = arg;
    va_end(args);
    return rl_config_parse(config, argc, argv, err);
}

static void s_expect_error(int rc, const char *err, const char *says)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, says))
        fail_msg("expected an error with \"%s\", got \"%s\"", says, err);
    assert_null(strchr(err, '\n')); /* one line */
}

static void
a_three_member_command_line_gives_the_node_its_endpoints(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(
        s_parse(&c, err, "--id", "2", "--data", "/tmp/x", M1, M2, M3, NULL), 0);
    assert_int_equal(c.id, 2);
    assert_int_equal(c.member_count, 3);
    assert_string_equal(c.peer, "tcp://127.0.0.1:7002");
    assert_string_equal(c.client, "tcp://127.0.0.1:7102");
    assert_string_equal(c.cluster_id, "raftlog");
    assert_true(c.fsync);
    assert_int_equal(c.syncfs_from, 2);
    assert_int_equal(c.election_timeout_ms, 1000);
}

static void
values_may_follow_an_equals_sign_and_take_size_suffixes(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--id=1", "--data=/d", M1,
                             "--segment-size=8MiB", "--max-entry", "64K",
                             "--retention=2G", "--fsync=off",
                             "--log-level=debug", "--syncfs-from=0", NULL),
                     0);
    assert_int_equal(c.segment_bytes, 8u << 20);
    assert_int_equal(c.max_entry_bytes, 64u << 10);
    assert_int_equal(c.retention_bytes, 2ull << 30);
    assert_false(c.fsync);
    assert_int_equal(c.syncfs_from, 0);
    assert_int_equal(c.log_level, RL_LOG_DEBUG);
}

static void a_duplicate_member_id_is_refused(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1, "--member",
                           "1=tcp://127.0.0.1:7009,tcp://127.0.0.1:7109", NULL),
                   err, "member id 1 appears twice");
}

static void a_node_that_is_not_a_member_is_refused(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(
        s_parse(&c, err, "--id", "4", "--data", "/d", M1, M2, M3, NULL), err,
        "node id 4 is not one of the members");
}

static void members_sharing_an_endpoint_are_refused(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1, "--member",
                           "2=tcp://127.0.0.1:7001,tcp://127.0.0.1:7102", NULL),
                   err, "share an endpoint");
}

static void bad_values_are_refused_with_the_option_named(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--id", "x", NULL), err, "node id: 'x'");
    s_expect_error(s_parse(&c, err, "--id", "0", NULL), err, "1 or more");
    s_expect_error(s_parse(&c, err, "--heartbeat", "-5", NULL), err,
                   "heartbeat interval: '-5'");
    s_expect_error(s_parse(&c, err, "--segment-size", "12Q", NULL), err,
                   "segment size: '12Q'");
    s_expect_error(s_parse(&c, err, "--fsync", "sometimes", NULL), err,
                   "'on' or 'off'");
    s_expect_error(s_parse(&c, err, "--syncfs-from", "some", NULL), err,
                   "syncfs-from: 'some'");
    s_expect_error(s_parse(&c, err, "--member", "1=tcp://a:1", NULL), err,
                   "ID=PEER_ENDPOINT,CLIENT_ENDPOINT");
    s_expect_error(s_parse(&c, err, "--member", "1=http://a,tcp://b:1", NULL),
                   err, "not a ZeroMQ endpoint");
    s_expect_error(s_parse(&c, err, "--bogus", NULL), err,
                   "unknown option '--bogus'");
    s_expect_error(s_parse(&c, err, "--data", NULL), err, "needs a value");
    s_expect_error(s_parse(&c, err, "stray", NULL), err,
                   "unexpected argument 'stray'");
    s_expect_error(s_parse(&c, err, "--join=yes", NULL), err, "takes no value");
}

static void missing_essentials_are_named(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--data", "/d", M1, NULL), err,
                   "no node id");
    s_expect_error(s_parse(&c, err, "--id", "1", M1, NULL), err,
                   "no data directory");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", NULL), err,
                   "no members");
    s_expect_error(
        s_parse(&c, err, "--id", "9", "--data", "/d", "--join", NULL), err,
        "needs --peer-endpoint and --client-endpoint");
}

static void inconsistent_timing_is_refused(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--election-timeout", "200", "--heartbeat", "100",
                           NULL),
                   err, "at least 3 heartbeats");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--request-timeout", "100", NULL),
                   err, "at least the election timeout");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--max-entry", "2M", NULL),
                   err, "maximum entry size");
}

static void a_joining_node_needs_no_members(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--id", "4", "--data", "/d", "--join",
                             "--peer-endpoint", "tcp://127.0.0.1:7004",
                             "--client-endpoint", "tcp://127.0.0.1:7104", NULL),
                     0);
    assert_true(c.join);
    assert_int_equal(c.member_count, 0);
}

static void the_config_file_is_read_and_flags_override_it(void **state)
{
    (void)state;
    char path[] = "/tmp/raftlog-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fputs("cluster\n"
          "    id = demo\n"
          "node\n"
          "    id = 1\n"
          "    data = /var/lib/raftlog\n"
          "members\n"
          "    1\n"
          "        peer = tcp://127.0.0.1:7001\n"
          "        client = tcp://127.0.0.1:7101\n"
          "    2\n"
          "        peer = tcp://127.0.0.1:7002\n"
          "        client = tcp://127.0.0.1:7102\n"
          "raft\n"
          "    election_timeout_ms = 1500\n"
          "    heartbeat_ms = 150\n"
          "storage\n"
          "    syncfs_from = 5\n",
          file);
    fclose(file);
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(
        s_parse(&c, err, "--config", path, "--heartbeat", "200", NULL), 0);
    assert_string_equal(c.cluster_id, "demo");
    assert_int_equal(c.id, 1);
    assert_string_equal(c.data_dir, "/var/lib/raftlog");
    assert_int_equal(c.member_count, 2);
    assert_int_equal(c.election_timeout_ms, 1500);
    assert_int_equal(c.heartbeat_ms, 200);
    assert_int_equal(c.syncfs_from, 5);
    assert_string_equal(c.client, "tcp://127.0.0.1:7101");
    /* --member flags replace the file's members. */
    assert_int_equal(s_parse(&c, err, "--config", path, M1, NULL), 0);
    assert_int_equal(c.member_count, 1);
    unlink(path);
}

static void a_bad_value_in_the_config_file_names_file_and_key(void **state)
{
    (void)state;
    char path[] = "/tmp/raftlog-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fputs("raft\n    heartbeat_ms = fast\n", file);
    fclose(file);
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--config", path, NULL), err,
                   "raft/heartbeat_ms: heartbeat interval: 'fast'");
    unlink(path);
    s_expect_error(
        s_parse(&c, err, "--config", "/nonexistent/raftlog.cfg", NULL), err,
        "cannot be read");
}

static void an_unknown_key_in_the_config_file_is_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/raftlog-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    /* A typo (heartbeatms) would otherwise leave the default in place;
       the members section is the list's own. */
    fputs("members\n    1\n        peer = tcp://127.0.0.1:7001\n"
          "        client = tcp://127.0.0.1:7101\n"
          "raft\n    heartbeatms = 50\n",
          file);
    fclose(file);
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    s_expect_error(s_parse(&c, err, "--config", path, "--id", "1", "--data",
                           "/tmp/x", NULL),
                   err, "unknown key 'raft/heartbeatms'");
    unlink(path);
}

static void help_describes_every_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    rl_config_usage(out, "raftlog-node");
    fclose(out);
    const char *flags[] = {"--config",
                           "--cluster-id",
                           "--id",
                           "--data",
                           "--member",
                           "--peer-endpoint",
                           "--client-endpoint",
                           "--join",
                           "--election-timeout",
                           "--heartbeat",
                           "--request-timeout",
                           "--fsync",
                           "--syncfs-from",
                           "--segment-size",
                           "--retention",
                           "--retention-age",
                           "--min-free",
                           "--max-entry",
                           "--max-batch",
                           "--max-uncommitted",
                           "--max-message",
                           "--max-clients",
                           "--max-peer-connections",
                           "--max-client-queue",
                           "--max-queue",
                           "--max-parked-reads",
                           "--max-client-parked-reads",
                           "--max-read-wait",
                           "--max-consumers",
                           "--log-level",
                           "--check",
                           "--help"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strstr(text, flags[i]))
            fail_msg("--help does not mention %s", flags[i]);
    free(text);
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--help", NULL), 0);
    assert_true(c.help);
}

static void client_limits_have_defaults_flags_and_checks(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1, NULL),
                     0);
    assert_int_equal(c.max_message_bytes, RL_MAX_MESSAGE_SIZE);
    assert_int_equal(c.max_clients, 10000);
    assert_int_equal(c.max_peer_connections, 64);
    assert_int_equal(c.max_client_queue_bytes, 64u << 20);
    assert_int_equal(c.max_queue_bytes, 512u << 20);
    assert_int_equal(c.max_parked_reads, 50000);
    assert_int_equal(c.max_client_parked_reads, 10000);
    assert_int_equal(c.max_read_wait_ms, 60000);
    assert_int_equal(
        s_parse(&c, err, "--id", "1", "--data", "/d", M1, "--max-message", "1M",
                "--max-clients", "5", "--max-client-queue", "1M", "--max-queue",
                "2M", "--max-parked-reads", "10", "--max-client-parked-reads",
                "3", "--max-read-wait", "0", NULL),
        0);
    assert_int_equal(c.max_message_bytes, 1u << 20);
    assert_int_equal(c.max_clients, 5);
    assert_int_equal(c.max_client_queue_bytes, 1u << 20);
    assert_int_equal(c.max_queue_bytes, 2u << 20);
    assert_int_equal(c.max_client_parked_reads, 3);
    assert_int_equal(c.max_read_wait_ms, 0);
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--max-message", "65M", NULL),
                   err, "maximum message size");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--max-queue", "1M", NULL),
                   err, "--max-queue");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--max-parked-reads", "5", NULL),
                   err, "--max-client-parked-reads");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--max-clients", "0", NULL),
                   err, "--max-clients");
}

static void retention_by_age_takes_a_duration_with_a_unit(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1, NULL),
                     0);
    assert_int_equal(c.retention_age_ms, 0); /* keep everything */
    static const struct {
        const char *text;
        uint64_t ms;
    } cases[] = {{"7d", 7ull * 86400000},
                 {"12h", 12ull * 3600000},
                 {"90m", 90ull * 60000},
                 {"45s", 45000},
                 {"250ms", 250},
                 {"2w", 2ull * 604800000},
                 {"0", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                                 "--retention-age", cases[i].text, NULL),
                         0);
        assert_int_equal(c.retention_age_ms, cases[i].ms);
    }
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--retention-age", "7", NULL),
                   err, "'7' needs a unit: ms, s, m, h, d or w");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--retention-age", "7y", NULL),
                   err, "needs a unit");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--retention-age", "-1d", NULL),
                   err, "is not a duration");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--retention-age", "d", NULL),
                   err, "is not a duration");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--retention-age", "36600d", NULL),
                   err, "over 100 years");
}

static void the_number_of_consumers_has_a_default_and_a_bound(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1, NULL),
                     0);
    assert_int_equal(c.max_consumers, 1024);
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                             "--max-consumers", "65536", NULL),
                     0);
    assert_int_equal(c.max_consumers, 65536);
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                             "--max-consumers", "0", NULL),
                     0);
    assert_int_equal(c.max_consumers, 0); /* no durable consumers */
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--max-consumers", "65537", NULL),
                   err, "--max-consumers 65537 is over the limit of 65536");
}

static void keys_come_whole_and_the_network_needs_them_or_insecure(void **state)
{
    (void)state;
    rl_config_t c;
    char err[RL_CONFIG_ERROR_SIZE];
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", M1, "--cert",
                             "k/node1_secret", "--keys", "k/allowed", NULL),
                     0);
    assert_string_equal(c.cert, "k/node1_secret");
    assert_string_equal(c.keys_dir, "k/allowed");
    assert_string_equal(c.front_cert, "");
    assert_false(c.insecure);
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1, "--cert",
                           "k/node1_secret", NULL),
                   err, "needs both --cert");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--front-cert", "k/front_secret", NULL),
                   err, "--front-cert needs --cert");
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1, "--cert",
                           "k/n", "--keys", "k", "--insecure", NULL),
                   err, "--insecure turns CURVE off");
    /* A port the network reaches: keys, or --insecure said out loud. */
    const char *open_member = "1=tcp://0.0.0.0:7001,tcp://127.0.0.1:7101";
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", "--member",
                           open_member, NULL),
                   err, "tcp://0.0.0.0:7001 may be reached from the network");
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", "--member",
                             open_member, "--insecure", NULL),
                     0);
    assert_true(c.insecure);
    assert_int_equal(s_parse(&c, err, "--id", "1", "--data", "/d", "--member",
                             open_member, "--cert", "n", "--keys", "k", NULL),
                     0);
    s_expect_error(s_parse(&c, err, "--id", "1", "--data", "/d", M1,
                           "--client-endpoint", "tcp://*:7101", NULL),
                   err, "tcp://*:7101 may be reached");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_three_member_command_line_gives_the_node_its_endpoints),
        cmocka_unit_test(
            values_may_follow_an_equals_sign_and_take_size_suffixes),
        cmocka_unit_test(a_duplicate_member_id_is_refused),
        cmocka_unit_test(a_node_that_is_not_a_member_is_refused),
        cmocka_unit_test(members_sharing_an_endpoint_are_refused),
        cmocka_unit_test(bad_values_are_refused_with_the_option_named),
        cmocka_unit_test(missing_essentials_are_named),
        cmocka_unit_test(inconsistent_timing_is_refused),
        cmocka_unit_test(a_joining_node_needs_no_members),
        cmocka_unit_test(the_config_file_is_read_and_flags_override_it),
        cmocka_unit_test(a_bad_value_in_the_config_file_names_file_and_key),
        cmocka_unit_test(an_unknown_key_in_the_config_file_is_refused),
        cmocka_unit_test(help_describes_every_option),
        cmocka_unit_test(client_limits_have_defaults_flags_and_checks),
        cmocka_unit_test(retention_by_age_takes_a_duration_with_a_unit),
        cmocka_unit_test(the_number_of_consumers_has_a_default_and_a_bound),
        cmocka_unit_test(
            keys_come_whole_and_the_network_needs_them_or_insecure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
