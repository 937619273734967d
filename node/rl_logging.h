/*  rl_logging.h - the node's and broker's log lines on stderr.

    One line per event: an ISO-8601 UTC timestamp with milliseconds, the
    level, the process's name, and the text. Role changes, elections,
    membership changes and storage recovery are logged at info.
*/
#ifndef RL_LOGGING_H
#define RL_LOGGING_H

#include "rl_config.h"

/* Sets the name printed on every line and the most verbose level shown. */
void rl_logging_init(const char *name, int level);

/* True when a line of this level would be printed. */
bool rl_logging_enabled(int level);

/* Prints one line at level (rl_log_level_t) when enabled. */
void rl_logf(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
