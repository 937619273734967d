/*  producers.c - idempotent producers and the uncommitted tail.

    The replicated state of a log service is small: per producer id, the
    last seq appended and the indexes of that append. Every server derives
    it from its log alone (entries carry producer_id and seq), so a new
    leader answers a retried append with the original indexes (duplicate)
    even while that entry is still uncommitted in its log: prod_tip covers
    the whole log up to last_index, prod_commit only up to the commit index
    (that one goes into snapshots).

    Sessions expire deterministically, never by a clock: the table holds at
    most max_producers sessions and evicts the one whose last append has the
    lowest index (least recently appended), a function of the log alone.

    The tail records one run per batch past the commit index (metadata, no
    payload) so that truncation can roll the tip table and the
    configuration back (thesis 4.1: configurations take effect when
    appended, and are undone when the entry is removed).

    Snapshot encoding (fixed-width little endian, no msgpack):
      u32 magic 'RLP1', u32 count, then count x (u64 id, u64 seq,
      u64 first, u64 last).
*/
#include "raft_internal.h"

#include <stdlib.h>
#include <string.h>

#define RL_PRODUCERS_MAGIC 0x31504c52u /* "RLP1" */

int rl_raft_producers_init(rl_raft_producers_t *t, size_t max)
{
    t->count = 0;
    t->max = max ? max : 1;
    t->items = calloc(t->max, sizeof(*t->items));
    return t->items ? 0 : RL_ERR_INTERNAL;
}

void rl_raft_producers_close(rl_raft_producers_t *t)
{
    free(t->items);
    t->items = NULL;
    t->count = 0;
}

const rl_raft_producer_t *rl_raft_producers_find(const rl_raft_producers_t *t,
                                                 uint64_t id)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->items[i].id == id) {
            return &t->items[i];
        }
    }
    return NULL;
}

/* Records an append of producer id; at capacity evicts the session whose
   last index is lowest. */
void rl_raft_producers_apply(rl_raft_producers_t *t, uint64_t id, uint64_t seq,
                             uint64_t first, uint64_t last)
{
    rl_raft_producer_t *p = (rl_raft_producer_t *)rl_raft_producers_find(t, id);
    if (!p) {
        if (t->count < t->max) {
            p = &t->items[t->count++];
        } else {
            p = &t->items[0];
            for (size_t i = 1; i < t->count; i++) {
                if (t->items[i].last < p->last) {
                    p = &t->items[i];
                }
            }
        }
        p->id = id;
    }
    p->seq = seq;
    p->first = first;
    p->last = last;
}

int rl_raft_producers_copy(rl_raft_producers_t *dst,
                           const rl_raft_producers_t *src)
{
    if (dst->max < src->count) {
        return RL_ERR_INTERNAL;
    }
    memcpy(dst->items, src->items, src->count * sizeof(*src->items));
    dst->count = src->count;
    return 0;
}

int rl_raft_producers_encode(const rl_raft_producers_t *t, uint8_t **data,
                             size_t *size)
{
    size_t n = 8 + t->count * 32;
    uint8_t *p = malloc(n);
    if (!p) {
        return RL_ERR_INTERNAL;
    }
    rl_raft_put32(p, RL_PRODUCERS_MAGIC);
    rl_raft_put32(p + 4, (uint32_t)t->count);
    for (size_t i = 0; i < t->count; i++) {
        uint8_t *q = p + 8 + i * 32;
        rl_raft_put64(q, t->items[i].id);
        rl_raft_put64(q + 8, t->items[i].seq);
        rl_raft_put64(q + 16, t->items[i].first);
        rl_raft_put64(q + 24, t->items[i].last);
    }
    *data = p;
    *size = n;
    return 0;
}

/* Decodes a table; RL_ERR_BAD_REQUEST for anything malformed. An empty
   buffer is an empty table (the bootstrap snapshot). */
int rl_raft_producers_decode(rl_raft_producers_t *t, const uint8_t *data,
                             size_t size)
{
    t->count = 0;
    if (size == 0) {
        return 0;
    }
    if (size < 8 || rl_raft_get32(data) != RL_PRODUCERS_MAGIC) {
        return RL_ERR_BAD_REQUEST;
    }
    uint32_t count = rl_raft_get32(data + 4);
    if ((size - 8) / 32 != count || (size - 8) % 32 != 0) {
        return RL_ERR_BAD_REQUEST;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *q = data + 8 + (size_t)i * 32;
        rl_raft_producers_apply(t, rl_raft_get64(q), rl_raft_get64(q + 8),
                                rl_raft_get64(q + 16), rl_raft_get64(q + 24));
    }
    return 0;
}

static int s_tail_push(rl_raft_t *r, rl_raft_record_t rec)
{
    if (r->tail_count == r->tail_cap && r->tail_first > 0) {
        /* Reclaim the committed runs' slots: amortized O(1) per run. */
        memmove(r->tail, r->tail + r->tail_first,
                (r->tail_count - r->tail_first) * sizeof(*r->tail));
        r->tail_count -= r->tail_first;
        r->tail_first = 0;
    }
    if (r->tail_count == r->tail_cap) {
        size_t cap = r->tail_cap ? r->tail_cap * 2 : 16;
        rl_raft_record_t *p = realloc(r->tail, cap * sizeof(*p));
        if (!p) {
            return RL_ERR_INTERNAL;
        }
        r->tail = p;
        r->tail_cap = cap;
    }
    r->tail[r->tail_count++] = rec;
    r->tail_bytes += rec.bytes;
    return 0;
}

/* Records newly appended entries (already in the log): runs of one
   producer batch, configuration entries, and the tip producer table.
   Called after rl_raft_log_append. A configuration entry that does not
   decode is kept as a run without configuration (it came from a leader
   and is ignored, never asserted). */
int rl_raft_tail_add(rl_raft_t *r, const rl_entry_t *e, size_t count)
{
    size_t i = 0;
    while (i < count) {
        rl_raft_record_t rec = {e[i].index, e[i].index, e[i].producer_id,
                                e[i].seq,   e[i].size,  NULL};
        if (e[i].type == RL_ENTRY_CONFIG) {
            rec.config = malloc(sizeof(*rec.config));
            if (!rec.config) {
                return RL_ERR_INTERNAL;
            }
            memset(rec.config, 0, sizeof(*rec.config));
            int rc = rl_raft_config_decode(e[i].data, e[i].size, rec.config);
            if (rc == RL_ERR_INTERNAL) {
                free(rec.config);
                return rc;
            }
            if (rc != 0) {
                free(rec.config);
                rec.config = NULL;
            }
            i++;
        } else {
            /* One run per producer batch, and one per stretch of entries
               without producer within this call (a batch or a message),
               so the metadata stays far smaller than the entries. */
            size_t j = i + 1;
            while (j < count && e[j].type == e[i].type &&
                   e[i].type == RL_ENTRY_NORMAL &&
                   e[j].producer_id == e[i].producer_id &&
                   e[j].seq == e[i].seq) {
                rec.last = e[j].index;
                rec.bytes += e[j].size;
                j++;
            }
            i = j;
        }
        /* A continuation of the previous run (a batch split across two
           APPEND messages) extends it. */
        if (!rec.config && rec.producer_id != 0 &&
            r->tail_count > r->tail_first) {
            rl_raft_record_t *prev = &r->tail[r->tail_count - 1];
            if (!prev->config && prev->producer_id == rec.producer_id &&
                prev->seq == rec.seq && prev->last + 1 == rec.first) {
                prev->last = rec.last;
                prev->bytes += rec.bytes;
                r->tail_bytes += rec.bytes;
                rl_raft_producers_apply(&r->prod_tip, rec.producer_id, rec.seq,
                                        prev->first, prev->last);
                continue;
            }
        }
        int rc = s_tail_push(r, rec);
        if (rc != 0) {
            if (rec.config) {
                rl_raft_members_clear(rec.config);
                free(rec.config);
            }
            return rc;
        }
        if (rec.producer_id != 0) {
            rl_raft_producers_apply(&r->prod_tip, rec.producer_id, rec.seq,
                                    rec.first, rec.last);
        }
        if (rec.config) {
            rc = rl_raft_config_apply(r, rec.config, rec.first);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

static void s_record_free(rl_raft_record_t *rec)
{
    if (rec->config) {
        rl_raft_members_clear(rec->config);
        free(rec->config);
        rec->config = NULL;
    }
}

/* Drops the runs from index `from` on and rebuilds the tip table from the
   committed one (paper 5.3 truncation; thesis 4.1 rollback). */
void rl_raft_tail_truncate(rl_raft_t *r, uint64_t from)
{
    while (r->tail_count > r->tail_first &&
           r->tail[r->tail_count - 1].first >= from) {
        rl_raft_record_t *rec = &r->tail[--r->tail_count];
        r->tail_bytes -= rec->bytes;
        s_record_free(rec);
    }
    if (r->tail_count > r->tail_first &&
        r->tail[r->tail_count - 1].last >= from) {
        /* Only a producer run can straddle: cut it. */
        rl_raft_record_t *rec = &r->tail[r->tail_count - 1];
        rec->last = from - 1;
    }
    rl_raft_producers_copy(&r->prod_tip, &r->prod_commit);
    for (size_t i = r->tail_first; i < r->tail_count; i++) {
        if (r->tail[i].producer_id != 0) {
            rl_raft_producers_apply(&r->prod_tip, r->tail[i].producer_id,
                                    r->tail[i].seq, r->tail[i].first,
                                    r->tail[i].last);
        }
    }
    rl_raft_config_rollback(r);
}

/* Moves the runs up to commit into the committed table and configuration.
   A run that straddles the commit index stays in the tail whole (its
   batch is not yet committed); the committed table then lags it, which
   only matters for a snapshot, taken at run boundaries (see
   rl_raft_compact). */
int rl_raft_tail_commit(rl_raft_t *r, uint64_t commit)
{
    size_t n = r->tail_first;
    while (n < r->tail_count && r->tail[n].last <= commit) {
        rl_raft_record_t *rec = &r->tail[n];
        if (rec->producer_id != 0) {
            rl_raft_producers_apply(&r->prod_commit, rec->producer_id, rec->seq,
                                    rec->first, rec->last);
        }
        if (rec->config) {
            rl_raft_members_assign(&r->base_config, rec->config);
            free(rec->config);
            rec->config = NULL;
        }
        r->tail_bytes -= rec->bytes;
        n++;
    }
    r->tail_first = n;
    if (r->tail_first == r->tail_count) {
        r->tail_first = 0;
        r->tail_count = 0;
    }
    return 0;
}

void rl_raft_tail_clear(rl_raft_t *r)
{
    for (size_t i = r->tail_first; i < r->tail_count; i++) {
        s_record_free(&r->tail[i]);
    }
    r->tail_first = 0;
    r->tail_count = 0;
    r->tail_bytes = 0;
}
