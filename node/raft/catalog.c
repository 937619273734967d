/*  catalog.c - the catalog of named logs: which logs exist, their group
    ids and settings, replicated in group 0.

    Every named log is a Raft group of its own; group 0 (the `default`
    log) holds the catalog as replicated state, like durable consumers
    (consumers.c is the model): a CATALOG entry creates a log (name,
    settings), deletes one, or changes its settings. Every server of group
    0 applies the committed entries, in log order, to its committed
    catalog (cat_commit: what rl_raft_logs() reads and snapshots carry),
    and every entry of its log, committed or not, to its tip catalog
    (cat_tip, as of the last index), which a leader checks proposals
    against. Truncation rebuilds the tip from the committed catalog and the
    runs left in the tail (producers.c), so both are functions of the log
    alone.

    Rules: where the leader refuses a proposal, and where every server
    applies an entry.
    - Names: 1..64 bytes of [a-z0-9._-]; `default` is reserved (group 0
      always exists and is not in the catalog). Settings: retentions at
      most RL_RAFT_LOG_RETENTION_MAX, max entry bytes at most
      RL_MAX_ENTRY_SIZE (0 means the node's own limit or no limit).
    - create: refused (REJECTED) when the name exists at the tip; applied
      only when the name does not exist in the catalog it is applied to.
      The log gets the catalog's next group id, which then moves on: ids
      are assigned in log order, a function of the log alone, so every
      server assigns the same id to the same entry, and are never reused
      (a log deleted and created again is a new group). The next id is
      part of the catalog, in snapshots too.
    - A create also carries group 0's configuration as of its index (the
      leader's latest, in effect when it appends the entry: thesis 4.1),
      the configuration the new group starts with on every server. It is
      written into the entry, not looked up where applied: a server added
      later without a snapshot never knew the bootstrap configuration
      (it is in no entry), so it could not derive the same.
    - delete and configure: refused (REJECTED) when the name does not
      exist at the tip; applied only when it exists.
    - A create while cfg.max_logs logs exist at the tip is refused
      (TOO_LARGE). Servers apply entries with one bound, RL_RAFT_LOG_LIMIT,
      whatever their own max_logs, so that every server derives the same
      catalog.
    - Until an entry of its term commits a leader answers BUSY, as for
      consumers and configuration changes: its tip is exact (Leader
      Completeness), but a client retrying after a leader change should
      see the outcome of its first attempt before a second is judged.
    - Everything is validated where the entry is applied, by every server
      alike: an entry that does not decode (magic, size, verb, name,
      `default`, settings out of range, a delete with settings) is
      ignored, and so is any CATALOG entry in a group other than 0 (and a
      create whose members are not a valid list).

    Handing changes to the host. Each change applied to the committed
    catalog (a create, a delete, a configure that applied) is queued and
    handed out by rl_raft_ready() once the entry is durable on this server
    too (index <= persisted): a host creates or deletes a group's data
    only for an entry it cannot lose in a crash, so a group never outlives
    (or predates) the durable log that made it. A snapshot install clears
    the queue: its catalog replaces the whole table (raft.h, "Hosting
    groups").

    Memory. Both catalogs keep room for every log they can hold before the
    next rl_raft_catalog_reserve(), which recording an entry that creates
    a log calls, and the change queue keeps room for one change per
    catalog run in the tail (reserved when the run is recorded, where a
    failure still undoes the whole append). Applying entries, queueing
    changes and handing them out then never allocate.

    Encoding of a CATALOG entry's data (fixed-width little endian):
      u32 magic 'RLG1', u8 verb (1 create, 2 delete, 3 configure),
      u64 retention_bytes, u64 retention_ms, u32 max_entry_bytes (all 0
      for delete), u8 name_len (1..64), name ([a-z0-9._-], not default),
      u8 member_count (create: 1..16; others: 0), member_count x (u64 id,
      u8 voter): ids non-zero and unique.
*/
#include "raft_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RL_CATALOG_MAGIC 0x31474c52u /* "RLG1" */
#define RL_CATALOG_FIXED 26u         /* bytes before the name */
#define RL_CATALOG_MAX                                                         \
    (RL_CATALOG_FIXED + RL_RAFT_LOG_NAME_MAX + 1 + 9 * RL_MAX_MEMBERS)

static bool s_is_default(const char *name, size_t len)
{
    return len == strlen(RL_RAFT_DEFAULT_LOG) &&
           memcmp(name, RL_RAFT_DEFAULT_LOG, len) == 0;
}

bool rl_raft_catalog_settings_ok(const rl_raft_log_settings_t *s)
{
    return s->retention_bytes <= RL_RAFT_LOG_RETENTION_MAX &&
           s->retention_ms <= RL_RAFT_LOG_RETENTION_MAX &&
           s->max_entry_bytes <= RL_MAX_ENTRY_SIZE;
}

/* Decodes and validates the CATALOG entry e. */
bool rl_raft_catalog_op_decode(const rl_entry_t *e, rl_raft_catalog_op_t *op)
{
    if (!e->data || e->size <= RL_CATALOG_FIXED + 1 ||
        e->size > RL_CATALOG_MAX) {
        return false;
    }
    const uint8_t *p = e->data;
    uint8_t verb = p[4];
    size_t len = p[25];
    const char *name = (const char *)p + RL_CATALOG_FIXED;
    if (rl_raft_get32(p) != RL_CATALOG_MAGIC || verb < RL_RAFT_LOG_CREATE ||
        verb > RL_RAFT_LOG_CONFIGURE || len == 0 ||
        len > RL_RAFT_LOG_NAME_MAX || RL_CATALOG_FIXED + len + 1 > e->size ||
        !rl_raft_consumer_name_ok(name, len) || s_is_default(name, len)) {
        return false;
    }
    const uint8_t *q = p + RL_CATALOG_FIXED + len;
    size_t members = q[0];
    if (RL_CATALOG_FIXED + len + 1 + 9 * members != e->size ||
        members > RL_MAX_MEMBERS ||
        (verb == RL_RAFT_LOG_CREATE) != (members > 0)) {
        return false;
    }
    memset(op, 0, sizeof(*op));
    for (size_t i = 0; i < members; i++) {
        uint64_t id = rl_raft_get64(q + 1 + 9 * i);
        if (id == 0) {
            return false;
        }
        for (size_t k = 0; k < i; k++) {
            if (op->member_ids[k] == id) {
                return false;
            }
        }
        op->member_ids[i] = id;
        op->member_voters[i] = q[1 + 9 * i + 8] != 0;
    }
    op->member_count = members;
    op->verb = verb;
    op->settings.retention_bytes = rl_raft_get64(p + 5);
    op->settings.retention_ms = rl_raft_get64(p + 13);
    op->settings.max_entry_bytes = rl_raft_get32(p + 21);
    if (!rl_raft_catalog_settings_ok(&op->settings)) {
        return false;
    }
    if (verb == RL_RAFT_LOG_DELETE &&
        (op->settings.retention_bytes || op->settings.retention_ms ||
         op->settings.max_entry_bytes)) {
        return false;
    }
    memcpy(op->name, name, len);
    op->name[len] = '\0';
    return true;
}

void rl_raft_catalog_close(rl_raft_catalog_t *t)
{
    free(t->items);
    t->items = NULL;
    t->count = 0;
    t->cap = 0;
}

static int s_grow(rl_raft_catalog_t *t, size_t count)
{
    void *items = t->items;
    int rc = rl_raft_grow(&items, &t->cap, count, RL_RAFT_LOG_LIMIT,
                          sizeof(*t->items));
    t->items = items;
    return rc;
}

/* Room for count logs in both catalogs (see Memory above). */
int rl_raft_catalog_reserve(rl_raft_t *r, size_t count)
{
    if (count > RL_RAFT_LOG_LIMIT) {
        count = RL_RAFT_LOG_LIMIT;
    }
    int rc = s_grow(&r->cat_commit, count);
    return rc ? rc : s_grow(&r->cat_tip, count);
}

/* Room for count changes in the queue and in the handed-out array. */
static int s_reserve_events(rl_raft_t *r, size_t count)
{
    if (r->cat_events_cap >= count) {
        return 0;
    }
    size_t cap = r->cat_events_cap ? r->cat_events_cap * 2 : 8;
    while (cap < count) {
        cap *= 2;
    }
    rl_raft_log_change_t *q = realloc(r->cat_queue, cap * sizeof(*q));
    if (!q) {
        return RL_ERR_INTERNAL;
    }
    r->cat_queue = q;
    rl_raft_log_change_t *o = realloc(r->cat_out, cap * sizeof(*o));
    if (!o) {
        return RL_ERR_INTERNAL; /* the queue keeps its larger block */
    }
    r->cat_out = o;
    r->cat_events_cap = cap;
    return 0;
}

static bool s_search(const rl_raft_catalog_t *t, const char *name, size_t len,
                     size_t *at)
{
    size_t lo = 0;
    size_t hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *stored = t->items[mid].name;
        size_t stored_len = strlen(stored);
        int c = memcmp(name, stored, len < stored_len ? len : stored_len);
        if (c == 0) {
            c = len < stored_len ? -1 : (len > stored_len ? 1 : 0);
        }
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

/* The run of a CATALOG entry: its decoded operation (NULL when malformed
   or in another group than 0: ignored), room in both catalogs for a log
   it creates and room for its change. */
int rl_raft_catalog_record(rl_raft_t *r, const rl_entry_t *e,
                           rl_raft_record_t *rec)
{
    rec->producer_id = 0;
    rec->seq = 0;
    rl_raft_catalog_op_t op;
    if (r->cfg.group != 0 || !rl_raft_catalog_op_decode(e, &op)) {
        rl_raft_trace(r, RL_RAFT_TRACE_WARN,
                      "ignored catalog entry %" PRIu64
                      " from the leader: %s (a bug in the leader?)",
                      e->index,
                      r->cfg.group != 0 ? "not in group 0" : "malformed");
        return 0;
    }
    size_t at = 0;
    if (op.verb == RL_RAFT_LOG_CREATE &&
        !s_search(&r->cat_tip, op.name, strlen(op.name), &at)) {
        int rc = rl_raft_catalog_reserve(r, r->cat_tip.count + 1);
        if (rc != 0) {
            return rc;
        }
    }
    int rc = s_reserve_events(r, r->cat_queue_count + r->cat_records + 1);
    if (rc != 0) {
        return rc;
    }
    rec->catalog = malloc(sizeof(*rec->catalog));
    if (!rec->catalog) {
        return RL_ERR_INTERNAL;
    }
    *rec->catalog = op;
    return 0;
}

/* Applies one entry at index; never allocates (the caller reserved
   room). True when it changed the catalog; *change (when not NULL) then
   says how. */
bool rl_raft_catalog_apply(rl_raft_catalog_t *t, const rl_raft_catalog_op_t *op,
                           uint64_t index, rl_raft_log_change_t *change)
{
    size_t len = strlen(op->name);
    size_t at = 0;
    bool found = s_search(t, op->name, len, &at);
    rl_raft_log_info_t *log = NULL;
    rl_raft_log_info_t gone;
    switch (op->verb) {
    case RL_RAFT_LOG_CREATE:
        if (found || t->count >= RL_RAFT_LOG_LIMIT || t->count >= t->cap) {
            return false; /* full: never evicted (cap: see Memory) */
        }
        memmove(&t->items[at + 1], &t->items[at],
                (t->count - at) * sizeof(*t->items));
        t->count++;
        log = &t->items[at];
        memset(log, 0, sizeof(*log));
        memcpy(log->name, op->name, len + 1);
        log->group = t->next_group++;
        log->settings = op->settings;
        log->created = index;
        log->member_count = op->member_count;
        memcpy(log->member_ids, op->member_ids,
               op->member_count * sizeof(uint64_t));
        memcpy(log->member_voters, op->member_voters,
               op->member_count * sizeof(bool));
        break;
    case RL_RAFT_LOG_DELETE:
        if (!found) {
            return false;
        }
        gone = t->items[at];
        log = &gone;
        memmove(&t->items[at], &t->items[at + 1],
                (t->count - at - 1) * sizeof(*t->items));
        t->count--;
        break;
    default:
        if (!found) {
            return false;
        }
        log = &t->items[at];
        log->settings = op->settings;
        break;
    }
    if (change) {
        change->verb = op->verb;
        change->index = index;
        change->log = *log;
    }
    return true;
}

/* dst = src; dst has room (see Memory). */
void rl_raft_catalog_copy(rl_raft_catalog_t *dst, const rl_raft_catalog_t *src)
{
    size_t n = src->count <= dst->cap ? src->count : dst->cap;
    if (n > 0) {
        memcpy(dst->items, src->items, n * sizeof(*src->items));
    }
    dst->count = n;
    dst->next_group = src->next_group;
}

/* A catalog run at index committed: applied to the committed catalog and,
   when it changed it, queued for the host (room reserved at record). */
void rl_raft_catalog_committed(rl_raft_t *r, const rl_raft_catalog_op_t *op,
                               uint64_t index)
{
    rl_raft_log_change_t change;
    if (rl_raft_catalog_apply(&r->cat_commit, op, index, &change) &&
        r->cat_queue_count < r->cat_events_cap) {
        r->cat_queue[r->cat_queue_count++] = change;
    }
}

/* Moves the queued changes that are durable here to the handed-out
   array; returns how many. */
size_t rl_raft_catalog_ready(rl_raft_t *r)
{
    size_t n = 0;
    while (n < r->cat_queue_count && r->cat_queue[n].index <= r->persisted) {
        n++;
    }
    if (n > 0) {
        memcpy(r->cat_out, r->cat_queue, n * sizeof(*r->cat_queue));
        memmove(r->cat_queue, r->cat_queue + n,
                (r->cat_queue_count - n) * sizeof(*r->cat_queue));
        r->cat_queue_count -= n;
    }
    r->cat_out_count = n;
    return n;
}

/* The proposals: the checks of raft.h, then one CATALOG entry. */
static int s_propose(rl_raft_t *r, uint8_t verb, rl_str_t name,
                     const rl_raft_log_settings_t *settings,
                     rl_raft_proposal_t *out)
{
    memset(out, 0, sizeof(*out));
    if (r->role != RL_RAFT_LEADER || r->transfer_to) {
        out->leader = r->role == RL_RAFT_LEADER ? r->transfer_to : r->leader;
        return RL_RAFT_NOT_LEADER;
    }
    rl_raft_log_settings_t none;
    memset(&none, 0, sizeof(none));
    if (!settings) {
        settings = &none;
    }
    if (!rl_log_name_valid(name) || !rl_raft_catalog_settings_ok(settings)) {
        return RL_ERR_BAD_REQUEST;
    }
    if (s_is_default(name.ptr, name.size) || r->cfg.group != 0) {
        return RL_ERR_REJECTED;
    }
    size_t size = RL_CATALOG_FIXED + name.size;
    if (r->commit < r->term_start ||
        (r->tail_bytes > 0 && r->tail_bytes + size > r->cfg.max_uncommitted)) {
        return RL_ERR_BUSY;
    }
    size_t at = 0;
    bool exists = s_search(&r->cat_tip, name.ptr, name.size, &at);
    if (exists != (verb != RL_RAFT_LOG_CREATE)) {
        return RL_ERR_REJECTED;
    }
    if (verb == RL_RAFT_LOG_CREATE && (r->cat_tip.count >= r->cfg.max_logs ||
                                       r->cat_tip.count >= RL_RAFT_LOG_LIMIT)) {
        return RL_ERR_TOO_LARGE;
    }
    if (verb == RL_RAFT_LOG_CREATE && r->config.count == 0) {
        return RL_ERR_REJECTED; /* cannot happen: a leader is a member */
    }
    uint8_t data[RL_CATALOG_MAX];
    memset(data, 0, sizeof(data));
    rl_raft_put32(data, RL_CATALOG_MAGIC);
    data[4] = verb;
    if (verb != RL_RAFT_LOG_DELETE) {
        rl_raft_put64(data + 5, settings->retention_bytes);
        rl_raft_put64(data + 13, settings->retention_ms);
        rl_raft_put32(data + 21, settings->max_entry_bytes);
    }
    data[25] = (uint8_t)name.size;
    memcpy(data + RL_CATALOG_FIXED, name.ptr, name.size);
    /* A create carries the configuration in effect at its index: this
       leader's latest (see above). */
    uint8_t *q = data + RL_CATALOG_FIXED + name.size;
    size_t members = verb == RL_RAFT_LOG_CREATE ? r->config.count : 0;
    q[0] = (uint8_t)members;
    for (size_t i = 0; i < members; i++) {
        rl_raft_put64(q + 1 + 9 * i, r->config.members[i].id);
        q[1 + 9 * i + 8] = r->config.members[i].voter ? 1 : 0;
    }
    size += 1 + 9 * members;
    rl_entry_t e;
    memset(&e, 0, sizeof(e));
    e.type = RL_ENTRY_CATALOG;
    e.data = data;
    e.size = size;
    uint64_t at_index = r->last_index + 1;
    int rc = rl_raft_append_local(r, &e, 1);
    if (rc != 0) {
        return rc;
    }
    out->first = at_index;
    out->last = at_index;
    out->term = r->term;
    return 0;
}

int rl_raft_log_create(rl_raft_t *r, rl_str_t name,
                       const rl_raft_log_settings_t *settings,
                       rl_raft_proposal_t *out)
{
    return s_propose(r, RL_RAFT_LOG_CREATE, name, settings, out);
}

int rl_raft_log_delete(rl_raft_t *r, rl_str_t name, rl_raft_proposal_t *out)
{
    return s_propose(r, RL_RAFT_LOG_DELETE, name, NULL, out);
}

int rl_raft_log_configure(rl_raft_t *r, rl_str_t name,
                          const rl_raft_log_settings_t *settings,
                          rl_raft_proposal_t *out)
{
    return s_propose(r, RL_RAFT_LOG_CONFIGURE, name, settings, out);
}

const rl_raft_log_info_t *rl_raft_logs(const rl_raft_t *r, size_t *count)
{
    *count = r->cat_commit.count;
    return r->cat_commit.items;
}

bool rl_raft_log_find(const rl_raft_t *r, rl_str_t name,
                      rl_raft_log_info_t *log)
{
    size_t at = 0;
    if (!rl_log_name_valid(name) ||
        !s_search(&r->cat_commit, name.ptr, name.size, &at)) {
        return false;
    }
    if (log) {
        *log = r->cat_commit.items[at];
    }
    return true;
}
