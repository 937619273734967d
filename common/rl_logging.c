/*  rl_logging.c - log lines on stderr; see rl_logging.h. */
#include "rl_logging.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static char s_name[32] = "raftlog";
static int s_level = RL_LOG_INFO;

void rl_logging_init(const char *name, int level)
{
    snprintf(s_name, sizeof(s_name), "%s", name);
    s_level = level;
}

bool rl_logging_enabled(int level)
{
    return level <= s_level;
}

void rl_logf(int level, const char *format, ...)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (!rl_logging_enabled(level))
        return;
    struct timeval now;
    gettimeofday(&now, NULL);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (int)(now.tv_usec / 1000),
                     names[level < 0   ? 0
                           : level > 3 ? 3
                                       : level],
                     s_name);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list args;
    va_start(args, format);
    vsnprintf(line + n, sizeof(line) - (size_t)n, format, args);
    va_end(args);
    /* One write per line, so lines of concurrent processes do not mix. */
    size_t length = strlen(line);
    if (length + 1 < sizeof(line)) {
        line[length++] = '\n';
        line[length] = '\0';
    }
    fputs(line, stderr);
}
