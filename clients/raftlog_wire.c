/*  raftlog_wire.c - the named-logs part of the protocol as libraftlog
    writes and reads it; see raftlog_wire.h for why it is not proto's
    codec.

    Writing: a handful of msgpack values (a map header, a string of at
    most 255 bytes, an unsigned integer) are written by hand rather than
    with msgpack-c's packer, so that proto/ stays the only place that
    includes msgpack (docs/ARCHITECTURE.md, layers); each is the smallest
    form the spec allows, as msgpack-c writes it. Reading: a small reader
    in place below, with the rules of proto's (which is private to proto/).
*/
#include "raftlog_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Writing ---- */

static int s_put(rl_buf_t *buf, const void *bytes, size_t size)
{
    if (size > buf->capacity - buf->size) {
        size_t capacity = buf->capacity ? buf->capacity : 256;
        while (capacity - buf->size < size)
            capacity *= 2;
        uint8_t *grown = realloc(buf->data, capacity);
        if (!grown)
            return RL_ERR_INTERNAL;
        buf->data = grown;
        buf->capacity = capacity;
    }
    memcpy(buf->data + buf->size, bytes, size);
    buf->size += size;
    return 0;
}

static int s_put_uint(rl_buf_t *buf, uint64_t value)
{
    uint8_t bytes[9];
    size_t size;
    if (value <= 0x7f) {
        bytes[0] = (uint8_t)value;
        size = 1;
    } else {
        size_t width = value <= 0xff          ? 1
                       : value <= 0xffff      ? 2
                       : value <= 0xffffffffu ? 4
                                              : 8;
        bytes[0] = width == 1   ? 0xcc
                   : width == 2 ? 0xcd
                   : width == 4 ? 0xce
                                : 0xcf;
        for (size_t i = 0; i < width; i++)
            bytes[1 + i] = (uint8_t)(value >> (8 * (width - 1 - i)));
        size = 1 + width;
    }
    return s_put(buf, bytes, size);
}

/* A string of at most 255 bytes: fixstr or str8. */
static int s_put_str(rl_buf_t *buf, const char *text)
{
    size_t length = strlen(text);
    uint8_t head[2] = {(uint8_t)(0xa0 | length), 0};
    size_t head_size = 1;
    if (length > 31) {
        head[0] = 0xd9;
        head[1] = (uint8_t)length;
        head_size = 2;
    }
    int rc = s_put(buf, head, head_size);
    return rc ? rc : s_put(buf, text, length);
}

static int s_put_pair_uint(rl_buf_t *buf, const char *key, uint64_t value)
{
    int rc = s_put_str(buf, key);
    return rc ? rc : s_put_uint(buf, value);
}

static int s_put_pair_str(rl_buf_t *buf, const char *key, const char *value)
{
    int rc = s_put_str(buf, key);
    return rc ? rc : s_put_str(buf, value);
}

int rl_wire_add_log(rl_buf_t *buf, const char *name)
{
    if (buf->size == 0)
        return RL_ERR_BAD_REQUEST;
    uint8_t *head = buf->data;
    if (*head >= 0x80 && *head < 0x8f) {
        (*head)++;
    } else if (*head == 0x8f) {
        /* 15 pairs is the most a fixmap holds: 16 take a map16, two bytes
           longer. */
        uint8_t byte = 0;
        int rc = s_put(buf, &byte, 1);
        rc = rc ? rc : s_put(buf, &byte, 1);
        if (rc)
            return rc;
        memmove(buf->data + 3, buf->data + 1, buf->size - 3);
        buf->data[0] = 0xde;
        buf->data[1] = 0;
        buf->data[2] = 16;
    } else if (*head == 0xde && buf->size >= 3) {
        unsigned count = ((unsigned)head[1] << 8 | head[2]) + 1;
        if (count > 0xffff)
            return RL_ERR_BAD_REQUEST;
        head[1] = (uint8_t)(count >> 8);
        head[2] = (uint8_t)count;
    } else {
        return RL_ERR_BAD_REQUEST;
    }
    return s_put_pair_str(buf, "log", name);
}

int rl_wire_logs_request(rl_buf_t *buf, uint64_t id, uint8_t op,
                         const char *name,
                         const raftlog_log_settings_t *settings)
{
    static const char *const op_names[] = {"list", "create", "delete",
                                           "configure"};
    bool with_settings =
        op == RL_WIRE_LOGS_CREATE || op == RL_WIRE_LOGS_CONFIGURE;
    uint8_t pairs = (uint8_t)(4 + (name != NULL) + (with_settings ? 3 : 0));
    uint8_t map = (uint8_t)(0x80 | pairs);
    rl_buf_reset(buf);
    int rc = s_put(buf, &map, 1);
    rc = rc ? rc : s_put_pair_uint(buf, "version", RL_PROTOCOL_VERSION);
    rc = rc ? rc : s_put_pair_uint(buf, "type", RL_WIRE_LOGS_REQUEST);
    rc = rc ? rc : s_put_pair_uint(buf, "id", id);
    rc = rc ? rc : s_put_pair_str(buf, "op", op_names[op & 3]);
    if (name)
        rc = rc ? rc : s_put_pair_str(buf, "name", name);
    if (with_settings) {
        raftlog_log_settings_t none = {0, 0, 0};
        const raftlog_log_settings_t *s = settings ? settings : &none;
        rc = rc ? rc
                : s_put_pair_uint(buf, "retention_bytes", s->retention_bytes);
        rc = rc ? rc : s_put_pair_uint(buf, "retention_ms", s->retention_ms);
        rc = rc ? rc
                : s_put_pair_uint(buf, "max_entry_bytes", s->max_entry_bytes);
    }
    return rc;
}

/* ---- Reading ----

   A reader of msgpack in place, as small as what is read here needs: one
   value at a time, every length checked against the bytes left (an
   array's or map's count too: each item takes a byte at least), skipping
   iterative. proto's reader does the same for the codec but is private
   to proto/ (scripts/check-layers); this one goes when the codec reads
   these messages itself. */

enum { S_UINT, S_NEGATIVE, S_STR, S_ARRAY, S_MAP, S_OTHER };

/* One value as read. */
typedef struct {
    int kind;             /* S_UINT, ... */
    uint64_t uint;        /* S_UINT: the value */
    const uint8_t *bytes; /* S_STR (str or bin): the first byte */
    uint64_t length;      /* S_STR: bytes; S_ARRAY: items; S_MAP: pairs */
} s_value_t;

/* A position in a buffer, and where its errors go. */
typedef struct {
    const uint8_t *data; /* the buffer, borrowed */
    size_t size;         /* its length */
    size_t pos;          /* the next byte to read */
    char *err;           /* RL_CODEC_ERROR_SIZE bytes, or NULL */
    const char *what;    /* the message type, for errors */
} s_reader_t;

static void s_reader_init(s_reader_t *r, const void *data, size_t size,
                          char *err, const char *what)
{
    *r = (s_reader_t){data, size, 0, err, what};
}

__attribute__((format(printf, 2, 3))) static int s_fail(const s_reader_t *r,
                                                        const char *format, ...)
{
    if (r->err) {
        int used = snprintf(r->err, RL_CODEC_ERROR_SIZE, "%s: ", r->what);
        va_list args;
        va_start(args, format);
        vsnprintf(r->err + used, RL_CODEC_ERROR_SIZE - (size_t)used, format,
                  args);
        va_end(args);
    }
    return RL_ERR_BAD_REQUEST;
}

/* Reads the value at the cursor and moves past it; for an array or a map
   past its header only. */
static int s_read(s_reader_t *r, s_value_t *v)
{
    size_t left = r->size - r->pos;
    if (left == 0)
        return s_fail(r, "truncated: the data ends at byte %zu", r->pos);
    const uint8_t *p = r->data + r->pos;
    uint8_t b = p[0];
    unsigned width = 0; /* bytes of a big-endian number after b */
    enum { VALUE, LENGTH, ITEMS } number_is = VALUE; /* what it is */
    bool is_signed = false; /* an int 8..64: the number's sign decides */
    uint64_t payload = 0;   /* bytes after the header, besides a LENGTH */
    *v = (s_value_t){S_OTHER, 0, NULL, 0};
    if (b <= 0x7f) {
        v->kind = S_UINT;
        v->uint = b;
    } else if (b >= 0xe0) {
        v->kind = S_NEGATIVE;
    } else if (b <= 0x9f) {
        v->kind = b <= 0x8f ? S_MAP : S_ARRAY;
        v->length = b & 0x0f;
    } else if (b <= 0xbf) {
        v->kind = S_STR;
        payload = b & 0x1f;
    } else if (b == 0xc0 || b == 0xc2 || b == 0xc3) {
        /* nil, false, true */
    } else if (b >= 0xc4 && b <= 0xc6) { /* bin 8, 16, 32 */
        v->kind = S_STR;
        width = 1u << (b - 0xc4);
        number_is = LENGTH;
    } else if (b >= 0xd9 && b <= 0xdb) { /* str 8, 16, 32 */
        v->kind = S_STR;
        width = 1u << (b - 0xd9);
        number_is = LENGTH;
    } else if (b >= 0xc7 && b <= 0xc9) { /* ext 8, 16, 32 */
        width = 1u << (b - 0xc7);
        number_is = LENGTH;
        payload = 1;                     /* its type byte */
    } else if (b == 0xca || b == 0xcb) { /* float 32, 64 */
        payload = b == 0xca ? 4 : 8;
    } else if (b >= 0xcc && b <= 0xd3) { /* uint 8..64, int 8..64 */
        width = 1u << ((b - 0xcc) & 3);
        is_signed = b >= 0xd0;
    } else if (b >= 0xd4 && b <= 0xd8) { /* fixext 1..16 */
        payload = 1 + (1u << (b - 0xd4));
    } else if (b >= 0xdc && b <= 0xdf) { /* array, map 16, 32 */
        v->kind = b <= 0xdd ? S_ARRAY : S_MAP;
        width = b == 0xdc || b == 0xde ? 2 : 4;
        number_is = ITEMS;
    } else {
        return s_fail(r, "byte 0x%02x at %zu is not msgpack", b, r->pos);
    }
    if (width > left - 1)
        return s_fail(r, "truncated: a length at byte %zu is cut off", r->pos);
    uint64_t number = 0;
    for (unsigned i = 0; i < width; i++)
        number = number << 8 | p[1 + i];
    size_t head = 1 + width;
    if (number_is == LENGTH) {
        payload += number;
    } else if (number_is == ITEMS) {
        v->length = number;
    } else if (width) {
        /* An integer >= 0 is one in any encoding, as the codec says. */
        bool negative = is_signed && (p[1] & 0x80);
        v->kind = negative ? S_NEGATIVE : S_UINT;
        v->uint = negative ? 0 : number;
    }
    if (v->kind == S_ARRAY || v->kind == S_MAP) {
        uint64_t items = v->length * (v->kind == S_MAP ? 2 : 1);
        if (items > left - head)
            return s_fail(r,
                          "the %s at byte %zu declares %llu items but only "
                          "%zu bytes follow",
                          v->kind == S_MAP ? "map" : "array", r->pos,
                          (unsigned long long)items, left - head);
    }
    if (payload > left - head)
        return s_fail(r, "truncated: the value at byte %zu needs %llu bytes",
                      r->pos, (unsigned long long)payload);
    v->bytes = p + head;
    if (v->kind == S_STR)
        v->length = payload;
    r->pos += head + payload;
    return 0;
}

/* Moves past the value at the cursor, items and all: each read moves on
   by a byte at least, so this ends within the buffer's size in steps. */
static int s_skip(s_reader_t *r)
{
    uint64_t pending = 1;
    while (pending) {
        s_value_t v;
        int rc = s_read(r, &v);
        if (rc)
            return rc;
        pending--;
        if (v.kind == S_ARRAY || v.kind == S_MAP)
            pending += v.length * (v.kind == S_MAP ? 2 : 1);
    }
    return 0;
}

/* Moves past the items of an array or map whose header was just read
   into v (nothing for other values). */
static int s_skip_items(s_reader_t *r, const s_value_t *v)
{
    uint64_t items = v->kind == S_MAP     ? 2 * v->length
                     : v->kind == S_ARRAY ? v->length
                                          : 0;
    for (uint64_t i = 0; i < items; i++) {
        int rc = s_skip(r);
        if (rc)
            return rc;
    }
    return 0;
}

/* Whether the string value equals text. */
static bool s_is(const s_value_t *value, const char *text)
{
    size_t length = strlen(text);
    return value->kind == S_STR && value->length == length &&
           memcmp(value->bytes, text, length) == 0;
}

/* Finds key in the top-level map and leaves the reader at its value;
 *found false when absent. */
static int s_find(s_reader_t *r, const char *key, bool *found)
{
    *found = false;
    r->pos = 0;
    s_value_t map;
    int rc = s_read(r, &map);
    if (rc)
        return rc;
    if (map.kind != S_MAP)
        return s_fail(r, "a message is a map");
    for (uint64_t i = 0; i < map.length; i++) {
        s_value_t name;
        if ((rc = s_read(r, &name)))
            return rc;
        if (s_is(&name, key)) {
            *found = true;
            return 0;
        }
        if ((rc = s_skip_items(r, &name)) || (rc = s_skip(r)))
            return rc;
    }
    return 0;
}

/* Reads an unsigned integer at most max for key. */
static int s_uint(s_reader_t *r, const char *key, uint64_t max, uint64_t *out)
{
    s_value_t value;
    int rc = s_read(r, &value);
    if (rc)
        return rc;
    if (value.kind != S_UINT || value.uint > max)
        return s_fail(r,
                      "'%s' is not an unsigned integer of at most "
                      "%llu",
                      key, (unsigned long long)max);
    *out = value.uint;
    return 0;
}

/* Reads a string of at most max bytes for key into out (max + 1 bytes). */
static int s_text(s_reader_t *r, const char *key, size_t max, char *out)
{
    s_value_t value;
    int rc = s_read(r, &value);
    if (rc)
        return rc;
    if (value.kind != S_STR || value.length > max)
        return s_fail(r, "'%s' is not a string of at most %zu bytes", key, max);
    if (value.length)
        memcpy(out, value.bytes, value.length);
    out[value.length] = '\0';
    return 0;
}

int rl_wire_decode_reply(const void *data, size_t size, rl_msg_t *msg,
                         char *err)
{
    int rc = rl_codec_decode(data, size, msg, err);
    if (rc != RL_ERR_UNKNOWN_TYPE)
        return rc;
    s_reader_t r;
    s_reader_init(&r, data, size, err, "LOGS_OK");
    bool found;
    uint64_t version = 0, type = 0, id = 0;
    if (s_find(&r, "type", &found) || !found ||
        s_uint(&r, "type", 255, &type) || type != RL_WIRE_LOGS_OK)
        return rc; /* the codec's words */
    rl_msg_close(msg);
    if ((rc = s_find(&r, "version", &found)) ||
        (found && (rc = s_uint(&r, "version", UINT64_MAX, &version))))
        return rc;
    if (version != RL_PROTOCOL_VERSION) {
        s_fail(&r, "version %llu, not %d", (unsigned long long)version,
               RL_PROTOCOL_VERSION);
        return RL_ERR_UNSUPPORTED_VERSION;
    }
    if ((rc = s_find(&r, "id", &found)) ||
        (found && (rc = s_uint(&r, "id", UINT64_MAX, &id))))
        return rc;
    /* One well-formed map filling the buffer; its `logs` are checked in
       full by rl_wire_logs_ok. */
    r.pos = 0;
    if ((rc = s_skip(&r)))
        return rc;
    if (r.pos != r.size)
        return s_fail(&r, "%zu bytes after the message", r.size - r.pos);
    rl_msg_init(msg, RL_WIRE_LOGS_OK);
    msg->id = id;
    return 0;
}

/* One item of a `logs` array: a map whose known keys are read into
   either a log (info) or a log's status (status), the other NULL. */
static int s_log_item(s_reader_t *r, raftlog_log_info_t *info,
                      raftlog_log_status_t *status)
{
    s_value_t map;
    int rc = s_read(r, &map);
    if (rc)
        return rc;
    if (map.kind != S_MAP)
        return s_fail(r, "an item of 'logs' is not a map");
    char *name = info ? info->name : status->name;
    name[0] = '\0';
    bool have_group = false;
    for (uint64_t i = 0; i < map.length && rc == 0; i++) {
        s_value_t key;
        if ((rc = s_read(r, &key)))
            break;
        uint64_t value = 0;
        if (s_is(&key, "name")) {
            rc = s_text(r, "name", RAFTLOG_MAX_LOG_NAME, name);
        } else if (s_is(&key, "group")) {
            rc = s_uint(r, "group", UINT64_MAX,
                        info ? &info->group : &status->group);
            have_group = true;
        } else if (info && s_is(&key, "retention_bytes")) {
            rc = s_uint(r, "retention_bytes", UINT64_MAX,
                        &info->settings.retention_bytes);
        } else if (info && s_is(&key, "retention_ms")) {
            rc = s_uint(r, "retention_ms", UINT64_MAX,
                        &info->settings.retention_ms);
        } else if (info && s_is(&key, "max_entry_bytes")) {
            rc = s_uint(r, "max_entry_bytes", UINT32_MAX, &value);
            info->settings.max_entry_bytes = (uint32_t)value;
        } else if (status && s_is(&key, "role")) {
            rc = s_text(r, "role", sizeof(status->role) - 1, status->role);
        } else if (status && s_is(&key, "leader")) {
            rc = s_uint(r, "leader", UINT64_MAX, &status->leader);
        } else if (status && s_is(&key, "term")) {
            rc = s_uint(r, "term", UINT64_MAX, &status->term);
        } else if (status && s_is(&key, "commit")) {
            rc = s_uint(r, "commit", UINT64_MAX, &status->commit);
        } else if (status && s_is(&key, "last")) {
            rc = s_uint(r, "last", UINT64_MAX, &status->last);
        } else if (status && s_is(&key, "first")) {
            rc = s_uint(r, "first", UINT64_MAX, &status->first);
        } else if (status && s_is(&key, "lag")) {
            rc = s_uint(r, "lag", UINT64_MAX, &status->lag);
        } else if (!(rc = s_skip_items(r, &key))) {
            rc = s_skip(r); /* a key of a later version */
        }
    }
    if (rc)
        return rc;
    if (!raftlog_log_name_valid(name))
        return s_fail(r, "a log without a valid 'name' ('%s')", name);
    if (!have_group)
        return s_fail(r, "log '%s' has no 'group'", name);
    return 0;
}

/* Reads the array under `logs` into *items: raftlog_log_info_t (info:
   LOGS_OK, where `logs` is required) or raftlog_log_status_t (STATUS_OK,
   where it is optional). */
static int s_logs(const void *data, size_t size, bool info, void **items,
                  size_t *count, char *err)
{
    *items = NULL;
    *count = 0;
    s_reader_t r;
    s_reader_init(&r, data, size, err, info ? "LOGS_OK" : "STATUS_OK");
    bool found;
    int rc = s_find(&r, "logs", &found);
    if (rc)
        return rc;
    if (!found)
        return info ? s_fail(&r, "no 'logs'") : 0;
    s_value_t array;
    if ((rc = s_read(&r, &array)))
        return rc;
    if (array.kind != S_ARRAY)
        return s_fail(&r, "'logs' is not an array");
    if (array.length > RAFTLOG_MAX_LOGS)
        return s_fail(&r, "'logs' has %llu items, over the limit of %d",
                      (unsigned long long)array.length, RAFTLOG_MAX_LOGS);
    if (array.length == 0)
        return 0;
    size_t item_size =
        info ? sizeof(raftlog_log_info_t) : sizeof(raftlog_log_status_t);
    uint8_t *out = calloc(array.length, item_size);
    if (!out)
        return RL_ERR_INTERNAL;
    for (uint64_t i = 0; i < array.length && rc == 0; i++) {
        void *item = out + i * item_size;
        rc = s_log_item(&r, info ? item : NULL, info ? NULL : item);
    }
    if (rc) {
        free(out);
        return rc;
    }
    *items = out;
    *count = array.length;
    return 0;
}

int rl_wire_logs_ok(const void *data, size_t size, raftlog_log_info_t **logs,
                    size_t *count, char *err)
{
    void *items = NULL;
    int rc = s_logs(data, size, true, &items, count, err);
    *logs = items;
    return rc;
}

int rl_wire_status_logs(const void *data, size_t size,
                        raftlog_log_status_t **logs, size_t *count, char *err)
{
    void *items = NULL;
    int rc = s_logs(data, size, false, &items, count, err);
    *logs = items;
    return rc;
}

int rl_wire_reply_log(const void *data, size_t size,
                      char name[RAFTLOG_MAX_LOG_NAME + 1], char *err)
{
    name[0] = '\0';
    s_reader_t r;
    s_reader_init(&r, data, size, err, "NOT_LEADER");
    bool found;
    int rc = s_find(&r, "log", &found);
    if (rc || !found)
        return rc;
    return s_text(&r, "log", RAFTLOG_MAX_LOG_NAME, name);
}
