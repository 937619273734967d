/*  consumers.c - durable consumers: positions the cluster remembers.

    A consumer's position (the last index it has processed) is replicated
    state, like producer sessions: a CONSUMER entry names a consumer, a
    verb and an index. Every server applies the committed entries, in log
    order, to its committed table (cons_commit: what rl_raft_consumers()
    reads and snapshots carry), and every entry of its log, committed or
    not, to its tip table (cons_tip, as of the last index), which a leader
    checks proposals against. Truncation rebuilds the tip from the
    committed table and the runs left in the tail (producers.c), as for
    producer sessions, so both tables are functions of the log alone.

    Rules: where the leader refuses a proposal, and where every server
    applies an entry.
    - commit: index at most the leader's commit index (nothing not yet
      committed can have been processed: REJECTED), and not below the
      consumer's position at the tip (STALE_SEQUENCE). Applied as
      max(position, index): the committed position never moves back but
      by a reset, whatever the order in which entries reach the log (a
      retried commit, commits of one consumer through two leaders).
    - reset: index at most the leader's commit index; applied as is.
    - delete: applied as removal. An unknown name is accepted (a retry
      after a leader change must not fail) and changes nothing.
    - A new name while cfg.max_consumers consumers exist at the tip is
      refused (TOO_LARGE): a durable position is never evicted. Servers
      apply entries with one bound, RL_RAFT_CONSUMER_LIMIT, whatever
      their own max_consumers, so that every server derives the same
      table; a leader's own bound only decides what it proposes.
    - Everything is validated where the entry is applied: an entry that
      does not decode (magic, size, verb, name, a commit or reset whose
      index is not below the entry's own index, a delete with an index)
      is ignored, by every server alike. It came from a leader, but is
      never trusted: in particular no position can name an entry at or
      after the one that sets it, so no committed position exceeds the
      commit index.

    Memory. Both tables keep room for every consumer they can hold before
    the next rl_raft_consumers_reserve(), which the tail calls before
    recording an entry that adds a consumer (where a failure still undoes
    the whole append). Applying entries and copying the committed table
    into the tip then never allocate, so a truncation or a commit cannot
    fail half way. This holds because the committed table as of index i
    was the tip table once, when i was appended, and capacity never
    shrinks (a snapshot installs both tables with room for what they hold).

    Encoding of a CONSUMER entry's data (fixed-width little endian):
      u32 magic 'RLO1', u8 verb (1 commit, 2 reset, 3 delete),
      u64 index (0 for delete), u8 name_len (1..64), name ([a-z0-9._-]).
*/
#include "raft_internal.h"

#include <stdlib.h>
#include <string.h>

#define RL_CONSUMER_MAGIC 0x314f4c52u /* "RLO1" */
#define RL_CONSUMER_FIXED 14u         /* bytes before the name */

bool rl_raft_consumer_name_ok(const char *name, size_t len)
{
    if (!name || len == 0 || len > RL_RAFT_CONSUMER_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

bool rl_raft_consumer_name_valid(rl_str_t name)
{
    return rl_raft_consumer_name_ok(name.ptr, name.size);
}

/* Decodes and validates the CONSUMER entry e (its index set). */
bool rl_raft_consumer_op_decode(const rl_entry_t *e, rl_raft_consumer_op_t *op)
{
    if (!e->data || e->size <= RL_CONSUMER_FIXED ||
        e->size > RL_CONSUMER_FIXED + RL_RAFT_CONSUMER_NAME_MAX) {
        return false;
    }
    const uint8_t *p = e->data;
    uint8_t verb = p[4];
    uint64_t index = rl_raft_get64(p + 5);
    size_t len = p[13];
    if (rl_raft_get32(p) != RL_CONSUMER_MAGIC ||
        verb < RL_RAFT_CONSUMER_COMMIT || verb > RL_RAFT_CONSUMER_DELETE ||
        RL_CONSUMER_FIXED + len != e->size ||
        !rl_raft_consumer_name_ok((const char *)p + RL_CONSUMER_FIXED, len)) {
        return false;
    }
    if (verb == RL_RAFT_CONSUMER_DELETE ? index != 0 : index >= e->index) {
        return false;
    }
    op->verb = verb;
    op->index = index;
    memcpy(op->name, p + RL_CONSUMER_FIXED, len);
    op->name[len] = '\0';
    return true;
}

void rl_raft_consumers_close(rl_raft_consumers_t *t)
{
    free(t->items);
    t->items = NULL;
    t->count = 0;
    t->cap = 0;
}

static int s_grow(rl_raft_consumers_t *t, size_t count)
{
    void *items = t->items;
    int rc = rl_raft_grow(&items, &t->cap, count, RL_RAFT_CONSUMER_LIMIT,
                          sizeof(*t->items));
    t->items = items;
    return rc;
}

/* Room for count consumers in both tables (see Memory above). */
int rl_raft_consumers_reserve(rl_raft_t *r, size_t count)
{
    if (count > RL_RAFT_CONSUMER_LIMIT) {
        count = RL_RAFT_CONSUMER_LIMIT;
    }
    int rc = s_grow(&r->cons_commit, count);
    return rc ? rc : s_grow(&r->cons_tip, count);
}

/* Byte order of (name, len) against a stored NUL-terminated name. */
static int s_compare(const char *name, size_t len, const char *stored)
{
    size_t stored_len = strlen(stored);
    int c = memcmp(name, stored, len < stored_len ? len : stored_len);
    if (c != 0) {
        return c;
    }
    return len < stored_len ? -1 : (len > stored_len ? 1 : 0);
}

/* Binary search: true when found at *at, else *at is where it goes. */
static bool s_search(const rl_raft_consumers_t *t, const char *name, size_t len,
                     size_t *at)
{
    size_t lo = 0;
    size_t hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = s_compare(name, len, t->items[mid].name);
        if (c == 0) {
            *at = mid;
            return true;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    *at = lo;
    return false;
}

const rl_raft_consumer_t *rl_raft_consumers_find(const rl_raft_consumers_t *t,
                                                 const char *name, size_t len)
{
    size_t at = 0;
    return s_search(t, name, len, &at) ? &t->items[at] : NULL;
}

/* Applies one entry; never allocates (the caller reserved room). */
void rl_raft_consumers_apply(rl_raft_consumers_t *t,
                             const rl_raft_consumer_op_t *op)
{
    size_t len = strlen(op->name);
    size_t at = 0;
    bool found = s_search(t, op->name, len, &at);
    if (op->verb == RL_RAFT_CONSUMER_DELETE) {
        if (found) {
            memmove(&t->items[at], &t->items[at + 1],
                    (t->count - at - 1) * sizeof(*t->items));
            t->count--;
        }
        return;
    }
    if (found) {
        rl_raft_consumer_t *c = &t->items[at];
        if (op->verb == RL_RAFT_CONSUMER_RESET || op->index > c->index) {
            c->index = op->index;
        }
        return;
    }
    if (t->count >= RL_RAFT_CONSUMER_LIMIT || t->count >= t->cap) {
        return; /* full: a position is never evicted (cap: see Memory) */
    }
    memmove(&t->items[at + 1], &t->items[at],
            (t->count - at) * sizeof(*t->items));
    memcpy(t->items[at].name, op->name, len + 1);
    t->items[at].index = op->index;
    t->count++;
}

/* dst = src; dst has room (see Memory). */
void rl_raft_consumers_copy(rl_raft_consumers_t *dst,
                            const rl_raft_consumers_t *src)
{
    size_t n = src->count <= dst->cap ? src->count : dst->cap;
    if (n > 0) {
        memcpy(dst->items, src->items, n * sizeof(*src->items));
    }
    dst->count = n;
}

/* The proposals: the checks of raft.h, then one CONSUMER entry. */
static int s_propose(rl_raft_t *r, uint8_t verb, rl_str_t name, uint64_t index,
                     rl_raft_proposal_t *out)
{
    memset(out, 0, sizeof(*out));
    if (r->role != RL_RAFT_LEADER || r->transfer_to) {
        out->leader = r->role == RL_RAFT_LEADER ? r->transfer_to : r->leader;
        return RL_RAFT_NOT_LEADER;
    }
    if (!rl_raft_consumer_name_valid(name)) {
        return RL_ERR_BAD_REQUEST;
    }
    size_t size = RL_CONSUMER_FIXED + name.size;
    /* Until an entry of its term commits, a new leader's commit index may
       lag the cluster's (paper 8): a valid index could be refused. */
    if (r->commit < r->term_start ||
        (r->tail_bytes > 0 && r->tail_bytes + size > r->cfg.max_uncommitted)) {
        return RL_ERR_BUSY;
    }
    if (verb != RL_RAFT_CONSUMER_DELETE && index > r->commit) {
        return RL_ERR_REJECTED;
    }
    const rl_raft_consumer_t *c =
        rl_raft_consumers_find(&r->cons_tip, name.ptr, name.size);
    if (verb == RL_RAFT_CONSUMER_COMMIT && c && index < c->index) {
        return RL_ERR_STALE_SEQUENCE;
    }
    if (verb != RL_RAFT_CONSUMER_DELETE && !c &&
        (r->cons_tip.count >= r->cfg.max_consumers ||
         r->cons_tip.count >= RL_RAFT_CONSUMER_LIMIT)) {
        return RL_ERR_TOO_LARGE;
    }
    uint8_t data[RL_CONSUMER_FIXED + RL_RAFT_CONSUMER_NAME_MAX];
    rl_raft_put32(data, RL_CONSUMER_MAGIC);
    data[4] = verb;
    rl_raft_put64(data + 5, verb == RL_RAFT_CONSUMER_DELETE ? 0 : index);
    data[13] = (uint8_t)name.size;
    memcpy(data + RL_CONSUMER_FIXED, name.ptr, name.size);
    rl_entry_t e;
    memset(&e, 0, sizeof(e));
    e.type = RL_ENTRY_CONSUMER;
    e.data = data;
    e.size = size;
    uint64_t at = r->last_index + 1;
    int rc = rl_raft_append_local(r, &e, 1);
    if (rc != 0) {
        return rc;
    }
    out->first = at;
    out->last = at;
    out->term = r->term;
    return 0;
}

int rl_raft_consumer_commit(rl_raft_t *r, rl_str_t name, uint64_t index,
                            rl_raft_proposal_t *out)
{
    return s_propose(r, RL_RAFT_CONSUMER_COMMIT, name, index, out);
}

int rl_raft_consumer_reset(rl_raft_t *r, rl_str_t name, uint64_t index,
                           rl_raft_proposal_t *out)
{
    return s_propose(r, RL_RAFT_CONSUMER_RESET, name, index, out);
}

int rl_raft_consumer_delete(rl_raft_t *r, rl_str_t name,
                            rl_raft_proposal_t *out)
{
    return s_propose(r, RL_RAFT_CONSUMER_DELETE, name, 0, out);
}

bool rl_raft_consumer_position(const rl_raft_t *r, rl_str_t name,
                               uint64_t *index)
{
    if (!rl_raft_consumer_name_valid(name)) {
        return false;
    }
    const rl_raft_consumer_t *c =
        rl_raft_consumers_find(&r->cons_commit, name.ptr, name.size);
    if (c && index) {
        *index = c->index;
    }
    return c != NULL;
}

const rl_raft_consumer_t *rl_raft_consumers(const rl_raft_t *r, size_t *count)
{
    *count = r->cons_commit.count;
    return r->cons_commit.items;
}
