/*  rl_loop.c - signals as a file and the bounded drain; see rl_loop.h. */
#include "rl_loop.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
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

int rl_loop_raise_fd_limit(uint64_t *before, uint64_t *after)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    *before = *after = limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) == 0)
            *after = limit.rlim_cur;
    }
    return 0;
}

long rl_loop_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    long count = -1; /* the directory's own descriptor */
    while (readdir(dir))
        count++;
    closedir(dir);
    return count - 2; /* "." and ".." */
}

uint32_t rl_loop_client_limit(uint32_t wanted, uint64_t fd_limit, long open_fds,
                              uint32_t counted, uint32_t reserve)
{
    if (open_fds < 0)
        return wanted;
    uint64_t others =
        (uint64_t)open_fds > counted ? (uint64_t)open_fds - counted : 0;
    uint64_t used = others + reserve;
    if (fd_limit <= used)
        return 0;
    uint64_t room = fd_limit - used;
    return room < wanted ? (uint32_t)room : wanted;
}
