/*  test_options.c - the option table parser and value parsers shared by
    raftlog-node and raftlog-broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <string.h>

#include "rl_options.h"

typedef struct {
    uint64_t size;     /* --size */
    size_t item_count; /* --item values */
} s_config_t;

static int s_set_size(void *config, const char *v, char *err)
{
    s_config_t *c = config;
    return rl_options_u64("size", v, 0, UINT64_MAX, true, &c->size, err);
}

static int s_add_item(void *config, const char *v, char *err)
{
    (void)v;
    (void)err;
    s_config_t *c = config;
    c->item_count++;
    return 0;
}

static void s_clear_items(void *config)
{
    s_config_t *c = config;
    c->item_count = 0;
}

static const rl_option_t s_options[] = {
    RL_OPTION_CONFIG,
    {"size", "x/size", "BYTES", NULL, "a size", s_set_size, false},
    {"item", NULL, "ITEM", NULL, "an item", s_add_item, true},
    RL_OPTION_HELP,
};

static const rl_options_t s_spec = {
    .options = s_options,
    .count = sizeof(s_options) / sizeof(s_options[0]),
    .flag_width = 20,
    .clear_list = s_clear_items,
};

static void list_flags_replace_the_list_and_help_is_reported(void **state)
{
    (void)state;
    s_config_t c = {0, 5}; /* as if a file had given five items */
    char *argv[] = {"p", "--item", "a", "--size=2K", "--item=b", "--help"};
    bool help;
    char err[RL_OPTIONS_ERROR_SIZE];
    assert_int_equal(rl_options_parse(&s_spec, &c, 6, argv, &help, err), 0);
    assert_int_equal(c.item_count, 2);
    assert_int_equal(c.size, 2048);
    assert_true(help);
}

static void bad_values_name_the_option_and_the_range(void **state)
{
    (void)state;
    char err[RL_OPTIONS_ERROR_SIZE];
    uint32_t n32;
    assert_int_equal(rl_options_u32("liveness", "0", 1, 100, false, &n32, err),
                     -1);
    assert_string_equal(err, "liveness: '0' is not a whole number from 1 to "
                             "100; fix the value");
    uint64_t n64;
    assert_int_equal(
        rl_options_u64("size", "8MiB", 0, UINT64_MAX, true, &n64, err), 0);
    assert_int_equal(n64, 8u << 20);
    bool on;
    assert_int_equal(rl_options_on_off("fsync", "maybe", &on, err), -1);
    assert_string_equal(err, "fsync: 'maybe' must be 'on' or 'off'");
    int level;
    assert_int_equal(rl_options_log_level("debug", &level, err), 0);
    assert_int_equal(level, 3);
}

static void only_loopback_and_local_endpoints_are_local(void **state)
{
    (void)state;
    const char *local[] = {"tcp://127.0.0.1:7001", "tcp://127.9.8.7:1",
                           "tcp://localhost:7001", "tcp://[::1]:7001",
                           "tcp://lo:7001",        "ipc:///tmp/raftlog.sock",
                           "inproc://node"};
    const char *remote[] = {"tcp://*:7001",
                            "tcp://0.0.0.0:7001",
                            "tcp://10.0.0.1:7001",
                            "tcp://128.0.0.1:7001",
                            "tcp://127.0.0.1.evil.example:7001",
                            "tcp://eth0:7001",
                            "tcp://[::]:7001",
                            "tcp://127.0.0.256:7001"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (!rl_options_endpoint_is_local(local[i]))
            fail_msg("%s is local", local[i]);
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
        if (rl_options_endpoint_is_local(remote[i]))
            fail_msg("%s is not local", remote[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_flags_replace_the_list_and_help_is_reported),
        cmocka_unit_test(bad_values_name_the_option_and_the_range),
        cmocka_unit_test(only_loopback_and_local_endpoints_are_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
