/*  rl_io.c - the default rl_io_t: straight to libc. */
#include "rl_io.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* open(2) is variadic, so it needs a wrapper to fit the table. */
static int s_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags, mode);
}

static const rl_io_t s_libc = {
    .open = s_open,
    .close = close,
    .pwrite = pwrite,
    .pread = pread,
    .fdatasync = fdatasync,
    .fsync = fsync,
    .ftruncate = ftruncate,
    .rename = rename,
    .unlink = unlink,
    .dup = dup,
    .syncfs = syncfs,
};

const rl_io_t *rl_io_libc(void)
{
    return &s_libc;
}
