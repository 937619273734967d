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
    payload) so that truncation can roll the tip tables (producers,
    consumers: consumers.c, the catalog: catalog.c) and the configuration
    back (thesis 4.1:
    configurations take effect when appended, and are undone when the
    entry is removed), and so that committing applies them to the
    committed tables.

    The committed table goes into snapshots: snapshot_data.c encodes it.
*/
#include "raft_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
    if (rec.catalog) {
        r->cat_records++;
    }
    return 0;
}

/* A CONSUMER entry's run: its decoded operation (NULL when malformed:
   ignored), with room reserved in the consumer tables for a consumer it
   adds. No producer: a consumer entry cannot touch producer sessions. */
static int s_consumer_record(rl_raft_t *r, const rl_entry_t *e,
                             rl_raft_record_t *rec)
{
    rec->producer_id = 0;
    rec->seq = 0;
    rl_raft_consumer_op_t op;
    if (!rl_raft_consumer_op_decode(e, &op)) {
        rl_raft_trace(r, RL_RAFT_TRACE_WARN,
                      "ignored consumer entry %" PRIu64
                      " from the leader: malformed (a bug in the leader?)",
                      e->index);
        return 0;
    }
    if (op.verb != RL_RAFT_CONSUMER_DELETE &&
        !rl_raft_consumers_find(&r->cons_tip, op.name, strlen(op.name))) {
        int rc = rl_raft_consumers_reserve(r, r->cons_tip.count + 1);
        if (rc != 0) {
            return rc;
        }
    }
    rec->consumer = malloc(sizeof(*rec->consumer));
    if (!rec->consumer) {
        return RL_ERR_INTERNAL;
    }
    *rec->consumer = op;
    return 0;
}

/* Frees what rec owns; a run that was in the tail (in_tail) no longer
   needs room for a catalog change. */
static void s_record_free(rl_raft_t *r, rl_raft_record_t *rec, bool in_tail)
{
    if (rec->config) {
        rl_raft_members_clear(rec->config);
        free(rec->config);
        rec->config = NULL;
    }
    free(rec->consumer);
    rec->consumer = NULL;
    if (rec->catalog && in_tail) {
        r->cat_records--;
    }
    free(rec->catalog);
    rec->catalog = NULL;
}

/* Records newly appended entries (already in the log): runs of one
   producer batch, configuration and consumer entries, and the tip
   tables. Called after rl_raft_log_append. A configuration or consumer
   entry that does not decode is kept as a run without effect (it came
   from a leader and is ignored, never asserted). */
int rl_raft_tail_add(rl_raft_t *r, const rl_entry_t *e, size_t count)
{
    size_t i = 0;
    while (i < count) {
        rl_raft_record_t rec = {e[i].index, e[i].index, e[i].producer_id,
                                e[i].seq,   e[i].size,  NULL,
                                NULL,       NULL};
        if (e[i].type == RL_ENTRY_CATALOG) {
            int rc = rl_raft_catalog_record(r, &e[i], &rec);
            if (rc != 0) {
                return rc;
            }
            i++;
        } else if (e[i].type == RL_ENTRY_CONSUMER) {
            int rc = s_consumer_record(r, &e[i], &rec);
            if (rc != 0) {
                return rc;
            }
            i++;
        } else if (e[i].type == RL_ENTRY_CONFIG) {
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
        if (!rec.config && !rec.consumer && !rec.catalog &&
            rec.producer_id != 0 && r->tail_count > r->tail_first) {
            rl_raft_record_t *prev = &r->tail[r->tail_count - 1];
            if (!prev->config && !prev->consumer && !prev->catalog &&
                prev->producer_id == rec.producer_id && prev->seq == rec.seq &&
                prev->last + 1 == rec.first) {
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
            s_record_free(r, &rec, false);
            return rc;
        }
        if (rec.producer_id != 0) {
            rl_raft_producers_apply(&r->prod_tip, rec.producer_id, rec.seq,
                                    rec.first, rec.last);
        }
        if (rec.consumer) {
            rl_raft_consumers_apply(&r->cons_tip, rec.consumer);
        }
        if (rec.catalog) {
            rl_raft_catalog_apply(&r->cat_tip, rec.catalog, rec.first, NULL);
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

/* Drops the runs from index `from` on and rebuilds the tip tables from
   the committed ones (paper 5.3 truncation; thesis 4.1 rollback). */
void rl_raft_tail_truncate(rl_raft_t *r, uint64_t from)
{
    while (r->tail_count > r->tail_first &&
           r->tail[r->tail_count - 1].first >= from) {
        rl_raft_record_t *rec = &r->tail[--r->tail_count];
        r->tail_bytes -= rec->bytes;
        s_record_free(r, rec, true);
    }
    if (r->tail_count > r->tail_first &&
        r->tail[r->tail_count - 1].last >= from) {
        /* Only a producer run can straddle: cut it. */
        rl_raft_record_t *rec = &r->tail[r->tail_count - 1];
        rec->last = from - 1;
    }
    rl_raft_producers_copy(&r->prod_tip, &r->prod_commit);
    rl_raft_consumers_copy(&r->cons_tip, &r->cons_commit);
    rl_raft_catalog_copy(&r->cat_tip, &r->cat_commit);
    for (size_t i = r->tail_first; i < r->tail_count; i++) {
        if (r->tail[i].producer_id != 0) {
            rl_raft_producers_apply(&r->prod_tip, r->tail[i].producer_id,
                                    r->tail[i].seq, r->tail[i].first,
                                    r->tail[i].last);
        }
        if (r->tail[i].consumer) {
            rl_raft_consumers_apply(&r->cons_tip, r->tail[i].consumer);
        }
        if (r->tail[i].catalog) {
            rl_raft_catalog_apply(&r->cat_tip, r->tail[i].catalog,
                                  r->tail[i].first, NULL);
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
            r->base_config_at = rec->first;
        }
        if (rec->consumer) {
            rl_raft_consumers_apply(&r->cons_commit, rec->consumer);
        }
        if (rec->catalog) {
            rl_raft_catalog_committed(r, rec->catalog, rec->first);
        }
        s_record_free(r, rec, true);
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
        s_record_free(r, &r->tail[i], true);
    }
    r->tail_first = 0;
    r->tail_count = 0;
    r->tail_bytes = 0;
}
