/*  log.c - the core's window on the log: the host's read-only view plus
    the entries appended since the last ready batch (raft.h, "Log storage").

    The core never keeps the log. Terms and entries below pend_first come
    from the view; pend_first..last_index are the pending entries, which
    the host has not been handed yet. Truncation (paper 5.3: "if an
    existing entry conflicts with a new one, delete it and all that follow
    it") only moves last_index and pend_first back: the host performs it
    when it writes the batch, whose entries start at the truncation point.
*/
#include "raft_internal.h"

#include <stdlib.h>
#include <string.h>

/* Term of the entry at index; 0 for index 0. RL_ERR_OUT_OF_RANGE past
   the end or below the snapshot. */
int rl_raft_log_term(rl_raft_t *r, uint64_t index, uint64_t *term)
{
    if (index == 0) {
        *term = 0;
        return 0;
    }
    if (index == r->snap_index) {
        *term = r->snap_term;
        return 0;
    }
    if (index > r->last_index || index < r->snap_index) {
        return RL_ERR_OUT_OF_RANGE;
    }
    if (index >= r->pend_first) {
        *term = r->pend[index - r->pend_first].term;
        return 0;
    }
    if (r->cfg.view.term_at(r->cfg.view.ctx, index, term) != 0) {
        return RL_ERR_OUT_OF_RANGE;
    }
    return 0;
}

/* Time of the entry at index (0 for index 0; at the snapshot's index,
   the time its data records). RL_ERR_OUT_OF_RANGE outside the log,
   RL_ERR_INTERNAL when the view cannot read it. */
int rl_raft_log_time(rl_raft_t *r, uint64_t index, uint64_t *time)
{
    *time = 0;
    if (index == 0) {
        return 0;
    }
    if (index == r->snap_index) {
        *time = r->snap_time;
        return 0;
    }
    if (index > r->last_index || index < r->snap_index) {
        return RL_ERR_OUT_OF_RANGE;
    }
    if (index >= r->pend_first) {
        *time = r->pend[index - r->pend_first].time;
        return 0;
    }
    rl_entry_t e;
    memset(&e, 0, sizeof(e));
    size_t count = 0;
    if (r->cfg.view.read(r->cfg.view.ctx, index, 1, 0, &e, &count) != 0 ||
        count != 1) {
        return RL_ERR_INTERNAL;
    }
    *time = e.time;
    return 0;
}

/* First index the core can read: above the snapshot, in the view. */
uint64_t rl_raft_log_first(rl_raft_t *r)
{
    uint64_t first = r->snap_index + 1;
    uint64_t view_first = r->cfg.view.first_index(r->cfg.view.ctx);
    if (view_first > first && view_first < r->pend_first) {
        first = view_first;
    }
    return first;
}

void rl_raft_log_free_entries(rl_entry_t *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free((void *)entries[i].data);
    }
    free(entries);
}

/* Copies entries from..(at most max_count, about max_bytes, at least one)
   into one block owned by the message `owner` (rl_msg_alloc: released by
   rl_msg_close); *out points into it. */
int rl_raft_log_read(rl_raft_t *r, uint64_t from, size_t max_count,
                     size_t max_bytes, rl_msg_t *owner, rl_entry_t **out,
                     size_t *count)
{
    *out = NULL;
    *count = 0;
    if (from < rl_raft_log_first(r) || from > r->last_index) {
        return RL_ERR_OUT_OF_RANGE;
    }
    uint64_t avail = r->last_index - from + 1;
    size_t n = avail < max_count ? (size_t)avail : max_count;
    if (n == 0) {
        n = 1;
    }
    rl_entry_t *tmp = calloc(n, sizeof(*tmp));
    if (!tmp) {
        return RL_ERR_INTERNAL;
    }
    size_t got = 0;
    size_t bytes = 0;
    if (from < r->pend_first) {
        uint64_t view_avail = r->pend_first - from;
        size_t want = view_avail < n ? (size_t)view_avail : n;
        size_t vcount = 0;
        if (r->cfg.view.read(r->cfg.view.ctx, from, want, max_bytes, tmp,
                             &vcount) != 0 ||
            vcount == 0 || vcount > want) {
            free(tmp);
            return RL_ERR_INTERNAL;
        }
        got = vcount;
        for (size_t i = 0; i < got; i++) {
            bytes += tmp[i].size;
        }
    }
    /* Continue from the pending entries when the view part was whole. */
    while (got < n && from + got >= r->pend_first &&
           (got == 0 || bytes < max_bytes)) {
        const rl_entry_t *e = &r->pend[from + got - r->pend_first];
        if (got > 0 && bytes + e->size > max_bytes) {
            break;
        }
        tmp[got++] = *e;
        bytes += e->size;
    }
    uint8_t *mem = rl_msg_alloc(owner, got * sizeof(rl_entry_t) + bytes + 1);
    if (!mem) {
        free(tmp);
        return RL_ERR_INTERNAL;
    }
    rl_entry_t *entries = (rl_entry_t *)mem;
    uint8_t *data = mem + got * sizeof(rl_entry_t);
    for (size_t i = 0; i < got; i++) {
        entries[i] = tmp[i];
        entries[i].index = from + i;
        if (tmp[i].size > 0) {
            memcpy(data, tmp[i].data, tmp[i].size);
            entries[i].data = data;
            data += tmp[i].size;
        } else {
            entries[i].data = NULL;
        }
    }
    free(tmp);
    *out = entries;
    *count = got;
    return 0;
}

/* Appends copies of entries (entries[0].index == last_index + 1) to the
   pending batch. All or nothing. */
int rl_raft_log_append(rl_raft_t *r, const rl_entry_t *entries, size_t count)
{
    if (count == 0) {
        return 0;
    }
    if (r->pend_count + count > r->pend_cap) {
        size_t cap = r->pend_cap ? r->pend_cap : 16;
        while (cap < r->pend_count + count) {
            cap *= 2;
        }
        rl_entry_t *p = realloc(r->pend, cap * sizeof(*p));
        if (!p) {
            return RL_ERR_INTERNAL;
        }
        r->pend = p;
        r->pend_cap = cap;
    }
    size_t done = 0;
    for (; done < count; done++) {
        rl_entry_t e = entries[done];
        if (e.size > 0) {
            uint8_t *copy = malloc(e.size);
            if (!copy) {
                break;
            }
            memcpy(copy, e.data, e.size);
            e.data = copy;
        } else {
            e.data = NULL;
        }
        r->pend[r->pend_count + done] = e;
    }
    if (done < count) {
        for (size_t i = 0; i < done; i++) {
            free((void *)r->pend[r->pend_count + i].data);
        }
        return RL_ERR_INTERNAL;
    }
    if (r->pend_count == 0) {
        r->pend_first = entries[0].index;
    }
    r->pend_count += count;
    r->last_index = entries[count - 1].index;
    r->last_term = entries[count - 1].term;
    r->last_time = entries[count - 1].time;
    return 0;
}

/* Forgets entries from index `from` on (from > commit). */
void rl_raft_log_truncate(rl_raft_t *r, uint64_t from)
{
    if (from > r->last_index) {
        return;
    }
    if (r->pend_count > 0 && from >= r->pend_first) {
        size_t keep = (size_t)(from - r->pend_first);
        for (size_t i = keep; i < r->pend_count; i++) {
            free((void *)r->pend[i].data);
        }
        r->pend_count = keep;
    } else {
        for (size_t i = 0; i < r->pend_count; i++) {
            free((void *)r->pend[i].data);
        }
        r->pend_count = 0;
        r->pend_first = from;
    }
    r->last_index = from - 1;
    uint64_t term = 0;
    if (rl_raft_log_term(r, r->last_index, &term) != 0) {
        term = 0;
    }
    r->last_term = term;
    /* When the view cannot read it back, the time we had is kept: times
       never decrease along a log, so it bounds the new last entry's from
       above, and stamps taken from it still never go back. */
    uint64_t time = 0;
    if (rl_raft_log_time(r, r->last_index, &time) == 0) {
        r->last_time = time;
    }
    if (r->persisted > r->last_index) {
        r->persisted = r->last_index;
    }
}

/* Election restriction (paper 5.4.1): a log is at least as up to date as
   ours when its last term is higher, or equal with an index as high. */
bool rl_raft_log_up_to_date(rl_raft_t *r, uint64_t last_index,
                            uint64_t last_term)
{
    return last_term > r->last_term ||
           (last_term == r->last_term && last_index >= r->last_index);
}
