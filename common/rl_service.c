/*  rl_service.c - notifications to systemd; see rl_service.h. */
#include "rl_service.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifdef RL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* The last STATUS= sent, to send a line only when it changes (the loop's
   thread only). */
static char s_last_status[256];

static void s_notify(const char *state, const char *status)
{
#ifdef RL_HAVE_SYSTEMD
    if (status) {
        snprintf(s_last_status, sizeof(s_last_status), "%s", status);
        sd_notifyf(0, "%s%sSTATUS=%s", state, state[0] ? "\n" : "",
                   s_last_status);
    } else {
        sd_notify(0, state);
    }
#else
    (void)state;
    if (status)
        snprintf(s_last_status, sizeof(s_last_status), "%s", status);
#endif
}

void rl_service_ready(const char *status)
{
    s_notify("READY=1", status);
}

void rl_service_stopping(const char *status)
{
    s_notify("STOPPING=1", status);
}

void rl_service_status(const char *status)
{
    if (strncmp(status, s_last_status, sizeof(s_last_status) - 1) == 0)
        return;
    s_notify("", status);
}

int64_t rl_service_watchdog_ms(void)
{
#ifdef RL_HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
        return (int64_t)(usec / 2000);
#endif
    return 0;
}

void rl_service_watchdog(void)
{
    s_notify("WATCHDOG=1", NULL);
}
