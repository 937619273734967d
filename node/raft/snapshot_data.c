/*  snapshot_data.c - the data of a snapshot: what a server must still
    know of the entries a snapshot replaces (the time of its last entry,
    the producer sessions, the durable consumers, group 0's catalog of
    named logs), encoded and decoded.

    Layout, version 4 (fixed-width little endian, no msgpack): magic
    'RLS4', version 2's fields after its magic, then where the snapshot's
    configuration came from:
      u64 config_at       the index of its CONFIG entry (0: the bootstrap
                          members), at most the snapshot's last index
      u64 mirrors         in a named log's group, its stamp (mirror.c)
    then version 3's catalog. Written once a log was ever created, as
    version 3 was, or when mirrors is not 0 (a named log's group); a
    snapshot of another version gives config_at = its last index (no
    configuration change between the two) and mirrors = 0.
    Version 3: version 2 below, then the catalog:
      u64 next_group      the id the next log created gets (>= 1)
      u32 log count, count x (u8 name_len, name, u64 group, u64 created,
                          u64 retention_bytes, u64 retention_ms,
                          u32 max_entry_bytes, u8 member_count,
                          member_count x (u64 id, u8 voter)), names
                          1..64 bytes of [a-z0-9._-] but `default`,
                          strictly ascending in byte order; groups 1 ..
                          next_group - 1, unique; created at most the
                          snapshot's last index; members at most 16,
                          ids non-zero and unique; settings in range
    Version 3 is written only once a log was ever created (next_group >
    1): until then snapshots stay in version 2, which servers of before
    the catalog read.
    Version 2:
      u32 magic 'RLS2'
      u64 time            time of the entry at the snapshot's last index
                          (0: not stamped)
      u32 producer count, count x (u64 id, u64 seq, u64 first, u64 last)
      u32 consumer count, count x (u8 name_len, name, u64 index), names
                          1..64 bytes of [a-z0-9._-], strictly ascending
                          in byte order (so unique), indexes below the
                          snapshot's last index
    Version 1, written before timestamps and consumers, is still read:
      u32 magic 'RLP1', u32 count, count x (u64 id, u64 seq, u64 first,
      u64 last); time 0 and no consumers.
    Empty data is the bootstrap state: no producers, no consumers, time 0.

    The data arrives from the leader in SNAPSHOT chunks, or from the
    host's disk: everything is checked, and anything off refuses the whole
    snapshot (RL_ERR_BAD_REQUEST).
*/
#include "raft_internal.h"

#include <stdlib.h>
#include <string.h>

#define RL_STATE_V1_MAGIC 0x31504c52u /* "RLP1" */
#define RL_STATE_V2_MAGIC 0x32534c52u /* "RLS2" */
#define RL_STATE_V3_MAGIC 0x33534c52u /* "RLS3" */
#define RL_STATE_V4_MAGIC 0x34534c52u /* "RLS4" */
#define RL_PRODUCER_SIZE  32u         /* bytes of one producer */
#define RL_LOG_FIXED      38u         /* bytes of a log but name, members */

int rl_raft_state_encode(const rl_raft_producers_t *producers,
                         const rl_raft_consumers_t *consumers,
                         const rl_raft_catalog_t *catalog, uint64_t time,
                         const rl_raft_state_config_t *config, uint8_t **data,
                         size_t *size)
{
    bool v4 = (catalog && catalog->next_group > 1) || config->mirrors != 0;
    size_t n = 4 + 8 + 4 + producers->count * RL_PRODUCER_SIZE + 4;
    for (size_t i = 0; i < consumers->count; i++) {
        n += 1 + strlen(consumers->items[i].name) + 8;
    }
    if (v4) {
        n += 16 + 8 + 4;
        for (size_t i = 0; catalog && i < catalog->count; i++) {
            n += RL_LOG_FIXED + strlen(catalog->items[i].name) +
                 9 * catalog->items[i].member_count;
        }
    }
    uint8_t *p = malloc(n);
    if (!p) {
        return RL_ERR_INTERNAL;
    }
    rl_raft_put32(p, v4 ? RL_STATE_V4_MAGIC : RL_STATE_V2_MAGIC);
    rl_raft_put64(p + 4, time);
    rl_raft_put32(p + 12, (uint32_t)producers->count);
    uint8_t *q = p + 16;
    for (size_t i = 0; i < producers->count; i++) {
        const rl_raft_producer_t *pr = &producers->items[i];
        rl_raft_put64(q, pr->id);
        rl_raft_put64(q + 8, pr->seq);
        rl_raft_put64(q + 16, pr->first);
        rl_raft_put64(q + 24, pr->last);
        q += RL_PRODUCER_SIZE;
    }
    rl_raft_put32(q, (uint32_t)consumers->count);
    q += 4;
    for (size_t i = 0; i < consumers->count; i++) {
        size_t len = strlen(consumers->items[i].name);
        q[0] = (uint8_t)len;
        memcpy(q + 1, consumers->items[i].name, len);
        rl_raft_put64(q + 1 + len, consumers->items[i].index);
        q += 1 + len + 8;
    }
    if (v4) {
        rl_raft_put64(q, config->config_at);
        rl_raft_put64(q + 8, config->mirrors);
        q += 16;
        rl_raft_put64(q, catalog ? catalog->next_group : 1);
        rl_raft_put32(q + 8, catalog ? (uint32_t)catalog->count : 0);
        q += 12;
        for (size_t i = 0; catalog && i < catalog->count; i++) {
            const rl_raft_log_info_t *log = &catalog->items[i];
            size_t len = strlen(log->name);
            q[0] = (uint8_t)len;
            memcpy(q + 1, log->name, len);
            q += 1 + len;
            rl_raft_put64(q, log->group);
            rl_raft_put64(q + 8, log->created);
            rl_raft_put64(q + 16, log->settings.retention_bytes);
            rl_raft_put64(q + 24, log->settings.retention_ms);
            rl_raft_put32(q + 32, log->settings.max_entry_bytes);
            q[36] = (uint8_t)log->member_count;
            q += 37;
            for (size_t m = 0; m < log->member_count; m++) {
                rl_raft_put64(q, log->member_ids[m]);
                q[8] = log->member_voters[m] ? 1 : 0;
                q += 9;
            }
        }
    }
    *data = p;
    *size = n;
    return 0;
}

/* count producers of 32 bytes at data[*pos], at most size. */
static int s_decode_producers(rl_raft_producers_t *t, const uint8_t *data,
                              size_t size, size_t *pos, uint32_t count)
{
    if ((uint64_t)count * RL_PRODUCER_SIZE > size - *pos) {
        return RL_ERR_BAD_REQUEST;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *q = data + *pos;
        rl_raft_producers_apply(t, rl_raft_get64(q), rl_raft_get64(q + 8),
                                rl_raft_get64(q + 16), rl_raft_get64(q + 24));
        *pos += RL_PRODUCER_SIZE;
    }
    return 0;
}

static int s_decode_consumers(rl_raft_consumers_t *t, const uint8_t *data,
                              size_t size, size_t *pos, uint64_t last_index)
{
    if (size - *pos < 4) {
        return RL_ERR_BAD_REQUEST;
    }
    uint32_t count = rl_raft_get32(data + *pos);
    *pos += 4;
    /* At least 10 bytes each: refuse a count the data cannot hold before
       allocating for it. */
    if (count > RL_RAFT_CONSUMER_LIMIT || (uint64_t)count * 10 > size - *pos) {
        return RL_ERR_BAD_REQUEST;
    }
    if (count > 0) {
        t->items = malloc(count * sizeof(*t->items));
        if (!t->items) {
            return RL_ERR_INTERNAL;
        }
        t->cap = count;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (size - *pos < 1) {
            return RL_ERR_BAD_REQUEST;
        }
        size_t len = data[*pos];
        if (size - *pos - 1 < len + 8 ||
            !rl_raft_consumer_name_ok((const char *)data + *pos + 1, len)) {
            return RL_ERR_BAD_REQUEST;
        }
        rl_raft_consumer_t *c = &t->items[i];
        memcpy(c->name, data + *pos + 1, len);
        c->name[len] = '\0';
        c->index = rl_raft_get64(data + *pos + 1 + len);
        *pos += 1 + len + 8;
        if (c->index >= last_index ||
            (i > 0 && strcmp(t->items[i - 1].name, c->name) >= 0)) {
            return RL_ERR_BAD_REQUEST;
        }
        t->count = i + 1;
    }
    return 0;
}

static bool s_log_ok(const rl_raft_log_info_t *log, uint64_t last_index,
                     uint64_t next_group)
{
    if (log->group == 0 || log->group >= next_group || log->created == 0 ||
        log->created > last_index ||
        !rl_raft_catalog_settings_ok(&log->settings) ||
        strcmp(log->name, RL_RAFT_DEFAULT_LOG) == 0) {
        return false;
    }
    for (size_t m = 0; m < log->member_count; m++) {
        if (log->member_ids[m] == 0) {
            return false;
        }
        for (size_t k = 0; k < m; k++) {
            if (log->member_ids[k] == log->member_ids[m]) {
                return false;
            }
        }
    }
    return true;
}

static int s_decode_catalog(rl_raft_catalog_t *t, const uint8_t *data,
                            size_t size, size_t *pos, uint64_t last_index)
{
    if (size - *pos < 12) {
        return RL_ERR_BAD_REQUEST;
    }
    t->next_group = rl_raft_get64(data + *pos);
    uint32_t count = rl_raft_get32(data + *pos + 8);
    *pos += 12;
    /* At least RL_LOG_FIXED + 1 bytes each: refuse a count the data
       cannot hold before allocating for it. */
    if (t->next_group == 0 || count > RL_RAFT_LOG_LIMIT ||
        (uint64_t)count * (RL_LOG_FIXED + 1) > size - *pos) {
        return RL_ERR_BAD_REQUEST;
    }
    if (count > 0) {
        t->items = calloc(count, sizeof(*t->items));
        if (!t->items) {
            return RL_ERR_INTERNAL;
        }
        t->cap = count;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (size - *pos < 1) {
            return RL_ERR_BAD_REQUEST;
        }
        size_t len = data[*pos];
        if (size - *pos - 1 < len + RL_LOG_FIXED - 1 ||
            !rl_raft_consumer_name_ok((const char *)data + *pos + 1, len)) {
            return RL_ERR_BAD_REQUEST;
        }
        rl_raft_log_info_t *log = &t->items[i];
        memcpy(log->name, data + *pos + 1, len);
        log->name[len] = '\0';
        const uint8_t *q = data + *pos + 1 + len;
        log->group = rl_raft_get64(q);
        log->created = rl_raft_get64(q + 8);
        log->settings.retention_bytes = rl_raft_get64(q + 16);
        log->settings.retention_ms = rl_raft_get64(q + 24);
        log->settings.max_entry_bytes = rl_raft_get32(q + 32);
        log->member_count = q[36];
        *pos += 1 + len + RL_LOG_FIXED - 1;
        if (log->member_count > RL_MAX_MEMBERS ||
            size - *pos < 9 * log->member_count) {
            return RL_ERR_BAD_REQUEST;
        }
        for (size_t m = 0; m < log->member_count; m++) {
            log->member_ids[m] = rl_raft_get64(data + *pos);
            log->member_voters[m] = data[*pos + 8] != 0;
            *pos += 9;
        }
        if (!s_log_ok(log, last_index, t->next_group) ||
            (i > 0 && strcmp(t->items[i - 1].name, log->name) >= 0)) {
            return RL_ERR_BAD_REQUEST;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (t->items[k].group == log->group) {
                return RL_ERR_BAD_REQUEST;
            }
        }
        t->count = i + 1;
    }
    return 0;
}

/* Decodes the data of the snapshot at last_index into producers
   (initialised by the caller, emptied first), consumers and catalog
   (empty, owned by the caller afterwards: rl_raft_consumers_close and
   rl_raft_catalog_close, on failure too), *time and *config. Empty data
   (the bootstrap state) leaves config as the caller set it. */
int rl_raft_state_decode(const uint8_t *data, size_t size, uint64_t last_index,
                         rl_raft_producers_t *producers,
                         rl_raft_consumers_t *consumers,
                         rl_raft_catalog_t *catalog, uint64_t *time,
                         rl_raft_state_config_t *config)
{
    producers->count = 0;
    memset(consumers, 0, sizeof(*consumers));
    memset(catalog, 0, sizeof(*catalog));
    catalog->next_group = 1;
    *time = 0;
    if (size == 0) {
        return 0;
    }
    config->config_at = last_index;
    config->mirrors = 0;
    if (!data || size < 8) {
        return RL_ERR_BAD_REQUEST;
    }
    size_t pos = 8;
    int rc = 0;
    if (rl_raft_get32(data) == RL_STATE_V1_MAGIC) {
        rc = s_decode_producers(producers, data, size, &pos,
                                rl_raft_get32(data + 4));
    } else if ((rl_raft_get32(data) == RL_STATE_V2_MAGIC ||
                rl_raft_get32(data) == RL_STATE_V3_MAGIC ||
                rl_raft_get32(data) == RL_STATE_V4_MAGIC) &&
               size >= 16) {
        uint32_t magic = rl_raft_get32(data);
        *time = rl_raft_get64(data + 4);
        pos = 16;
        rc = s_decode_producers(producers, data, size, &pos,
                                rl_raft_get32(data + 12));
        if (rc == 0) {
            rc = s_decode_consumers(consumers, data, size, &pos, last_index);
        }
        if (rc == 0 && magic == RL_STATE_V4_MAGIC) {
            if (size - pos < 16 || rl_raft_get64(data + pos) > last_index) {
                rc = RL_ERR_BAD_REQUEST;
            } else {
                config->config_at = rl_raft_get64(data + pos);
                config->mirrors = rl_raft_get64(data + pos + 8);
                pos += 16;
            }
        }
        if (rc == 0 && magic != RL_STATE_V2_MAGIC) {
            rc = s_decode_catalog(catalog, data, size, &pos, last_index);
        }
    } else {
        return RL_ERR_BAD_REQUEST;
    }
    if (rc == 0 && pos != size) {
        rc = RL_ERR_BAD_REQUEST;
    }
    return rc;
}
