/*  rl_log_hard_state.c - the Raft hard state file (current term and
    voted-for, paper figure 2), replaced atomically on every change and
    loaded on open.

    hardstate, 32 bytes: magic "RLHS", version, term, voted-for, reserved,
    CRC32C of the 28 bytes before it.
*/
#include "rl_log_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

int rl_log_hard_state_load(rl_log_t *log)
{
    uint8_t *data;
    size_t size;
    int rc = rl_log_file_load(log, HARDSTATE_NAME, "hard state", HARDSTATE_SIZE,
                              &data, &size);
    if (rc == ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    char path[PATH_MAX];
    rl_log_path(log, path, HARDSTATE_NAME);
    /* The file is replaced by rename, never written in place, so it cannot
       be torn: any damage is real and must not be papered over (a node
       forgetting its vote could vote twice in one term). */
    if (size != HARDSTATE_SIZE || rl_log_get32(data) != HARDSTATE_MAGIC ||
        rl_log_get32(data + 28) != rl_crc32c(0, data, 28)) {
        free(data);
        return rl_log_errorf(
            log, EBADMSG,
            "hard state %s is damaged (size %zu, bad magic or checksum); "
            "restore it from a backup, or move the data directory away to "
            "start this node empty",
            path, size);
    }
    log->hard_term = rl_log_get64(data + 8);
    log->hard_vote = rl_log_get64(data + 16);
    free(data);
    return 0;
}

int rl_log_set_hard_state(rl_log_t *log, uint64_t term, uint64_t voted_for)
{
    int rc = rl_log_require_writable(log);
    if (rc != 0)
        return rc;
    uint8_t data[HARDSTATE_SIZE] = {0};
    rl_log_put32(data, HARDSTATE_MAGIC);
    rl_log_put32(data + 4, FORMAT_VERSION);
    rl_log_put64(data + 8, term);
    rl_log_put64(data + 16, voted_for);
    rl_log_put32(data + 28, rl_crc32c(0, data, 28));
    rc = rl_log_file_replace(log, HARDSTATE_NAME, data, sizeof data);
    if (rc == 0) {
        log->hard_term = term;
        log->hard_vote = voted_for;
    }
    return rc;
}

void rl_log_hard_state(const rl_log_t *log, uint64_t *term, uint64_t *voted_for)
{
    *term = log->hard_term;
    *voted_for = log->hard_vote;
}
