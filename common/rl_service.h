/*  rl_service.h - telling the service manager (systemd) how a daemon is
    doing: ready, stopping, a status line, and the watchdog's keep-alive.

    A unit with Type=notify (packaging/systemd/) counts the daemon as
    started only once it says READY=1, after its sockets are bound, so
    that units ordered after it (and `systemctl start`) wait for a daemon
    that really listens. STOPPING=1 on SIGINT or SIGTERM, so `systemctl
    status` shows a graceful stop under way. STATUS= is the one line
    `systemctl status` prints (the node's readiness). With WatchdogSec= in
    the unit, systemd restarts a daemon whose loop stops pinging: the
    pings come from the loop's own timer, so a wedged loop, not only a
    dead process, is caught.

    Built over libsystemd's sd_notify() when it is found at build time
    (RL_HAVE_SYSTEMD); otherwise every call does nothing. Outside systemd
    (no $NOTIFY_SOCKET) every call does nothing either, so daemons call
    these unconditionally.
*/
#ifndef RL_SERVICE_H
#define RL_SERVICE_H

#include <stdint.h>

/* READY=1, with a STATUS= line. */
void rl_service_ready(const char *status);

/* STOPPING=1, with a STATUS= line. */
void rl_service_stopping(const char *status);

/* STATUS=status (sent only when it differs from the last one sent). */
void rl_service_status(const char *status);

/* How often to ping the watchdog, in ms: half of WatchdogSec=, or 0 when
   the watchdog is off. */
int64_t rl_service_watchdog_ms(void);

/* WATCHDOG=1. */
void rl_service_watchdog(void);

#endif
