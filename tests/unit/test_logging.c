/*  test_logging.c - log lines the network can cause (common/rl_logging.h):
    escaped so that they cannot forge lines, rate-limited with a count of
    what was suppressed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <string.h>

#include "rl_logging.h"

static void test_a_newline_from_the_wire_cannot_start_a_line(void **state)
{
    (void)state;
    char out[RL_LOG_ESCAPE_SIZE(64)];
    const char forged[] = "prod\n2026-01-01T00:00:00.000Z ERROR node 1: x";
    rl_log_escape(forged, strlen(forged), out, sizeof(out));
    assert_null(strchr(out, '\n'));
    assert_non_null(strstr(out, "prod\\n2026"));
}

static void test_quotes_backslashes_and_control_bytes_are_escaped(void **state)
{
    (void)state;
    char out[RL_LOG_ESCAPE_SIZE(16)];
    const char in[] = {'a',  '\'', '"',  '\\',   '\t',
                       '\r', 0x1b, 0x00, '\x9b', '~'};
    rl_log_escape(in, sizeof(in), out, sizeof(out));
    assert_string_equal(out, "a\\'\\\"\\\\\\t\\r\\x1b\\x00\\x9b~");
}

static void test_what_does_not_fit_is_cut_and_marked(void **state)
{
    (void)state;
    char out[12];
    rl_log_escape("abcdefghijklmnop", 16, out, sizeof(out));
    assert_string_equal(out, "abcdefgh...");
    /* Exactly fitting input is not marked. */
    rl_log_escape("abcdefghijk", 11, out, sizeof(out));
    assert_string_equal(out, "abcdefghijk");
    /* A worst case fits the documented size. */
    char big[RL_LOG_ESCAPE_SIZE(3)];
    rl_log_escape("\xff\xff\xff", 3, big, sizeof(big));
    assert_string_equal(big, "\\xff\\xff\\xff");
}

static void
test_a_flood_passes_a_burst_per_window_and_counts_the_rest(void **state)
{
    (void)state;
    rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    uint64_t suppressed = 99;
    int passed = 0;
    for (int i = 0; i < 1000; i++)
        passed += rl_log_limit_pass(&limit, 1000 + i, &suppressed);
    assert_int_equal(passed, RL_LOG_LIMIT_BURST);
    assert_int_equal(suppressed, 0);
    /* The next window: the first line says how many were dropped. */
    assert_true(
        rl_log_limit_pass(&limit, 1000 + RL_LOG_LIMIT_WINDOW_MS, &suppressed));
    assert_int_equal(suppressed, 1000 - RL_LOG_LIMIT_BURST);
    assert_true(
        rl_log_limit_pass(&limit, 1001 + RL_LOG_LIMIT_WINDOW_MS, &suppressed));
    assert_int_equal(suppressed, 0);
}

static void test_limited_lines_are_counted_for_status(void **state)
{
    (void)state;
    rl_logging_init("test", RL_LOG_ERROR); /* prints only errors */
    rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
    uint64_t before = rl_logging_suppressed();
    for (int i = 0; i < RL_LOG_LIMIT_BURST + 5; i++)
        rl_logf_limited(&limit, RL_LOG_ERROR, "line %d", i);
    assert_int_equal(rl_logging_suppressed() - before, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_newline_from_the_wire_cannot_start_a_line),
        cmocka_unit_test(test_quotes_backslashes_and_control_bytes_are_escaped),
        cmocka_unit_test(test_what_does_not_fit_is_cut_and_marked),
        cmocka_unit_test(
            test_a_flood_passes_a_burst_per_window_and_counts_the_rest),
        cmocka_unit_test(test_limited_lines_are_counted_for_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
