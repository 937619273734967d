/*  rl_loop.c - signals as a file and the bounded drain; see rl_loop.h. */
#include "rl_loop.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

int rl_loop_signals_open(void)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

int rl_loop_signal_take(int fd)
{
    struct signalfd_siginfo info;
    if (read(fd, &info, sizeof(info)) != (ssize_t)sizeof(info))
        return 0;
    return (int)info.ssi_signo;
}

int rl_loop_drain(rl_loop_take_fn *take, void *arg)
{
    for (int n = 0; n < RL_LOOP_DRAIN_MAX; n++) {
        int rc = take(arg);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
    }
    return 0;
}
