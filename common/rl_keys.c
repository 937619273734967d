/*  rl_keys.c - the daemons' CURVE keys; see rl_keys.h for the contract.

    A certificate file is read whole (bounded) and parsed with czmq's
    zconfig, the ZPL reader zcert itself uses, rather than with
    zcert_load: zcert_load opens NAME_secret instead of NAME whenever one
    exists, and reads without a bound, where a --keys directory needs
    exactly the file listed, and a bounded read. The key text is checked
    with zmq_z85_decode.

    Change detection: every refresh lists the directory and stats each
    file it would read, and folds (name, size, mtime, inode) into a 64-bit
    FNV-1a signature. The map is rebuilt only when the signature differs
    from the last load's, so a daemon can call it every 500 ms. A file
    rewritten in place with the same size within one mtime tick would be
    missed until its next change; writing a new file and renaming it into
    place (as `raftlog keygen` does) changes the inode, which is seen.
*/
#include "rl_keys.h"

#include "rl_logging.h"
#include "rl_msg.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Warnings kept per load; the rest are counted in one last line. */
#define S_MAX_WARNINGS 50

struct _rl_keys_t {
    char *directory;      /* as given (owned) */
    rl_key_t *keys;       /* count of them, in file-name order (owned) */
    size_t count;         /* how many */
    zhashx_t *by_key;     /* Z85 key -> rl_key_t * into keys */
    char **warnings;      /* the last load's warnings (owned) */
    size_t warning_count; /* how many kept */
    size_t warnings_lost; /* how many more there were */
    uint64_t signature;   /* of the listing the map was loaded from */
    bool loaded;          /* a load has happened */
    uint64_t generation;  /* loads so far */
    int64_t retried_ms;   /* when rl_keys_lookup_fresh last reloaded */
    bool retried;         /* it has */
    char error[RL_KEYS_ERROR_SIZE]; /* why the last refresh failed */
};

/* One file of a listing. */
typedef struct {
    char name[RL_KEYS_FILE_SIZE]; /* file name */
    int64_t modified_ns;          /* mtime */
} s_file_t;

/* ---- Roles ---- */

static const char *const s_role_names[] = {"none",  "consumer", "producer",
                                           "admin", "node",     "broker"};

const char *rl_role_name(rl_role_t role)
{
    return (unsigned)role < sizeof(s_role_names) / sizeof(s_role_names[0])
               ? s_role_names[role]
               : "none";
}

rl_role_t rl_role_parse(const char *text)
{
    for (int role = RL_ROLE_CONSUMER; text && role <= RL_ROLE_BROKER; role++)
        if (strcmp(text, s_role_names[role]) == 0)
            return (rl_role_t)role;
    return RL_ROLE_NONE;
}

/* The least client role a request needs; RL_ROLE_NONE when it is not a
   client request at all. */
static rl_role_t s_needed(int type, int op)
{
    switch (type) {
    case RL_MSG_READ_REQUEST: /* with a consumer's name too */
    case RL_MSG_STATUS_REQUEST:
    case RL_MSG_CONSUMER_COMMIT: /* a consumer moves its own position on */
        return RL_ROLE_CONSUMER;
    case RL_MSG_CONSUMERS_REQUEST:
        /* Looking is a consumer's; moving a position back or forth
           (making an application skip or redo entries) or forgetting one
           is an operator's, like a membership change. An op this
           version does not know needs the most rights. */
        return op == RL_CONSUMERS_LIST || op == RL_CONSUMERS_SHOW
                   ? RL_ROLE_CONSUMER
                   : RL_ROLE_ADMIN;
    case RL_MSG_APPEND_REQUEST:
        return RL_ROLE_PRODUCER;
    case RL_MSG_MEMBERS_REQUEST:
        /* An op this version does not know needs the most rights: it can
           only be a change. */
        return op == RL_MEMBERS_LIST ? RL_ROLE_CONSUMER : RL_ROLE_ADMIN;
    case RL_MSG_TRANSFER_REQUEST:
        return RL_ROLE_ADMIN;
    case RL_MSG_LOGS_REQUEST:
        /* Looking is a consumer's; making, removing or changing a log is
           an operator's. An op this version does not know is a change. */
        return op == RL_LOGS_LIST ? RL_ROLE_CONSUMER : RL_ROLE_ADMIN;
    default:
        return RL_ROLE_NONE;
    }
}

bool rl_keys_role_allows(rl_role_t role, int type, int op)
{
    rl_role_t needed = s_needed(type, op);
    if (needed == RL_ROLE_NONE)
        return false;
    switch (role) {
    case RL_ROLE_CONSUMER:
    case RL_ROLE_PRODUCER:
    case RL_ROLE_ADMIN:
        return needed <= role;
    case RL_ROLE_BROKER: /* its own requests; forwarded ones use as_role */
        return needed == RL_ROLE_CONSUMER;
    default: /* node keys speak the peer protocol only */
        return false;
    }
}

/* What a request is called in messages: "APPEND", "MEMBERS add", ... */
static const char *s_request_name(int type, int op)
{
    switch (type) {
    case RL_MSG_CONSUMER_COMMIT:
        return "CONSUMER_COMMIT";
    case RL_MSG_CONSUMERS_REQUEST:
        return op == RL_CONSUMERS_LIST     ? "CONSUMERS list"
               : op == RL_CONSUMERS_SHOW   ? "CONSUMERS show"
               : op == RL_CONSUMERS_RESET  ? "CONSUMERS reset"
               : op == RL_CONSUMERS_DELETE ? "CONSUMERS delete"
                                           : "CONSUMERS (a change)";
    case RL_MSG_APPEND_REQUEST:
        return "APPEND";
    case RL_MSG_READ_REQUEST:
        return "READ";
    case RL_MSG_STATUS_REQUEST:
        return "STATUS";
    case RL_MSG_TRANSFER_REQUEST:
        return "TRANSFER";
    case RL_MSG_LOGS_REQUEST:
        return op == RL_LOGS_LIST        ? "LOGS list"
               : op == RL_LOGS_CREATE    ? "LOGS create"
               : op == RL_LOGS_DELETE    ? "LOGS delete"
               : op == RL_LOGS_CONFIGURE ? "LOGS configure"
                                         : "LOGS (a change)";
    case RL_MSG_MEMBERS_REQUEST:
        return op == RL_MEMBERS_LIST     ? "MEMBERS list"
               : op == RL_MEMBERS_ADD    ? "MEMBERS add"
               : op == RL_MEMBERS_REMOVE ? "MEMBERS remove"
                                         : "MEMBERS (a change)";
    default:
        return NULL;
    }
}

void rl_keys_forbidden(rl_role_t role, int type, int op, char *out,
                       size_t out_size)
{
    const char *request = s_request_name(type, op);
    rl_role_t needed = s_needed(type, op);
    if (!request)
        snprintf(out, out_size,
                 "your key (role %s) may not send message type %d: it is "
                 "not a client request",
                 rl_role_name(role), type);
    else if (role == RL_ROLE_NODE)
        snprintf(out, out_size,
                 "your key (role node) may not %s: a node's key speaks the "
                 "peer protocol only, on peer ports; use a client key "
                 "(consumer, producer or admin)",
                 request);
    else if (role == RL_ROLE_BROKER)
        snprintf(out, out_size,
                 "your key (role broker) may not %s on its own behalf: a "
                 "broker forwards a client's request with that client's "
                 "as_key and as_role",
                 request);
    else if (role == RL_ROLE_NONE)
        snprintf(out, out_size,
                 "your key has no role here and may not %s; ask an operator "
                 "for a %s key",
                 request, rl_role_name(needed));
    else
        snprintf(out, out_size,
                 "your key (role %s) may not %s; ask an operator for a%s %s "
                 "key",
                 rl_role_name(role), request,
                 needed == RL_ROLE_ADMIN ? "n" : "", rl_role_name(needed));
}

/* ---- Reading one certificate ---- */

/* The parts of a certificate file this module uses. */
typedef struct {
    char public_key[RL_KEY_TEXT_SIZE]; /* Z85 */
    uint8_t public_bin[32];            /* decoded */
    bool has_secret;                   /* a secret key that is not zero */
    uint8_t secret_bin[32];            /* decoded, when has_secret */
    char role[16];                     /* metadata role, "" none */
    char node_id[32];                  /* metadata node-id, "" none */
    char name[RL_KEYS_NAME_SIZE];      /* metadata name, "" none */
    bool role_too_long;                /* role or node-id did not fit */
} s_cert_t;

static void s_wipe(void *data, size_t size)
{
    volatile uint8_t *p = data;
    while (size--)
        *p++ = 0;
}

/* Copies text into out (size bytes), printable ASCII only: a name goes
   into log lines and messages. */
static void s_printable(char *out, size_t size, const char *text)
{
    size_t i = 0;
    for (; text[i] && i + 1 < size; i++)
        out[i] = (unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f
                     ? '?'
                     : text[i];
    out[i] = '\0';
}

/* Copies a metadata value into out when it fits; false when it does not. */
static bool s_copy_meta(zconfig_t *root, const char *path, char *out,
                        size_t size)
{
    const char *value = zconfig_get(root, path, "");
    if (strlen(value) >= size) {
        out[0] = '\0';
        return false;
    }
    strcpy(out, value);
    return true;
}

/* Reads and parses the certificate at path. Returns 0, or -1 with error
   filled (saying what the file is not, without the path: callers name
   it). */
static int s_read_cert(const char *path, s_cert_t *cert, char *error,
                       size_t error_size)
{
    memset(cert, 0, sizeof(*cert));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(error, error_size, "cannot open it: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(error, error_size, "not a regular file");
        close(fd);
        return -1;
    }
    if (st.st_size > RL_KEYS_MAX_FILE_BYTES) {
        snprintf(error, error_size,
                 "%lld bytes, too large for a certificate (at most %d)",
                 (long long)st.st_size, RL_KEYS_MAX_FILE_BYTES);
        close(fd);
        return -1;
    }
    char *text = malloc(RL_KEYS_MAX_FILE_BYTES + 1);
    if (!text) {
        snprintf(error, error_size, "out of memory");
        close(fd);
        return -1;
    }
    size_t length = 0;
    ssize_t got;
    while (length < RL_KEYS_MAX_FILE_BYTES &&
           (got = read(fd, text + length, RL_KEYS_MAX_FILE_BYTES - length)) !=
               0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(error, error_size, "cannot read it: %s", strerror(errno));
            close(fd);
            free(text);
            return -1;
        }
        length += (size_t)got;
    }
    close(fd);
    text[length] = '\0';
    /* zconfig logs a syntax error through czmq's log (stdout by default):
       a file that plainly is no certificate is turned away before. */
    zconfig_t *root = strlen(text) == length && strstr(text, "public-key")
                          ? zconfig_str_load(text)
                          : NULL;
    s_wipe(text, length);
    free(text);
    const char *public_key =
        root ? zconfig_get(root, "curve/public-key", NULL) : NULL;
    if (!public_key || strlen(public_key) != 40 ||
        !zmq_z85_decode(cert->public_bin, public_key)) {
        snprintf(error, error_size,
                 "not a CURVE certificate (czmq's zcert format, as `raftlog "
                 "keygen` writes it, with a public-key of 40 characters)");
        zconfig_destroy(&root);
        return -1;
    }
    strcpy(cert->public_key, public_key);
    const char *secret_key = zconfig_get(root, "curve/secret-key", NULL);
    static const uint8_t zero[32];
    if (secret_key && strlen(secret_key) == 40 &&
        zmq_z85_decode(cert->secret_bin, secret_key) &&
        memcmp(cert->secret_bin, zero, sizeof(zero)) != 0)
        cert->has_secret = true;
    else
        s_wipe(cert->secret_bin, sizeof(cert->secret_bin));
    /* zconfig keeps the secret text in its tree: wipe it before freeing. */
    zconfig_t *secret_item = zconfig_locate(root, "curve/secret-key");
    if (secret_item && zconfig_value(secret_item))
        s_wipe(zconfig_value(secret_item), strlen(zconfig_value(secret_item)));
    cert->role_too_long =
        !s_copy_meta(root, "metadata/role", cert->role, sizeof(cert->role)) ||
        !s_copy_meta(root, "metadata/node-id", cert->node_id,
                     sizeof(cert->node_id));
    s_printable(cert->name, sizeof(cert->name),
                zconfig_get(root, "metadata/name", ""));
    zconfig_destroy(&root);
    return 0;
}

/* Parses a node-id: a decimal number from 1, digits only. */
static bool s_node_id(const char *text, uint64_t *id)
{
    if (!*text || strspn(text, "0123456789") != strlen(text) ||
        strlen(text) > 20)
        return false;
    errno = 0;
    unsigned long long value = strtoull(text, NULL, 10);
    if (errno || value == 0)
        return false;
    *id = value;
    return true;
}

/* Checks a certificate's role (and node-id) metadata. Returns 0 with
   role and *node_id set, or -1 with error filled. */
static int s_check_role(const s_cert_t *cert, rl_role_t *role,
                        uint64_t *node_id, char *error, size_t error_size)
{
    *role = rl_role_parse(cert->role);
    *node_id = 0;
    if (*role == RL_ROLE_NONE) {
        char shown[sizeof(cert->role)];
        s_printable(shown, sizeof(shown), cert->role);
        if (cert->role[0])
            snprintf(error, error_size,
                     "unknown role '%s' in its metadata (consumer, producer, "
                     "admin, node or broker)",
                     shown);
        else
            snprintf(error, error_size,
                     "no role in its metadata (role = consumer, producer, "
                     "admin, node or broker; `raftlog keygen --role` writes "
                     "it)");
        return -1;
    }
    if (*role == RL_ROLE_NODE && !s_node_id(cert->node_id, node_id)) {
        char shown[sizeof(cert->node_id)];
        s_printable(shown, sizeof(shown), cert->node_id);
        snprintf(error, error_size,
                 "role node without a valid node-id in its metadata (%s%s%s; "
                 "`raftlog keygen --role node --node-id N` writes it)",
                 cert->node_id[0] ? "'" : "none", cert->node_id[0] ? shown : "",
                 cert->node_id[0] ? "'" : "");
        return -1;
    }
    return 0;
}

/* ---- The directory ---- */

rl_keys_t *rl_keys_new(const char *directory)
{
    assert(directory);
    rl_keys_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->directory = strdup(directory);
    self->by_key = zhashx_new();
    if (!self->directory || !self->by_key) {
        rl_keys_destroy(&self);
        return NULL;
    }
    return self;
}

static void s_free_warnings(char **warnings, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(warnings[i]);
    free(warnings);
}

void rl_keys_destroy(rl_keys_t **self_p)
{
    assert(self_p);
    rl_keys_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->by_key);
    free(self->keys);
    s_free_warnings(self->warnings, self->warning_count);
    free(self->directory);
    free(self);
    *self_p = NULL;
}

/* A load being built: replaces the map's fields when complete. */
typedef struct {
    rl_key_t *keys;
    size_t count;
    zhashx_t *by_key;
    char **warnings;
    size_t warning_count;
    size_t warnings_lost;
    bool out_of_memory;
} s_load_t;

static void s_warn(s_load_t *load, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void s_warn(s_load_t *load, const char *format, ...)
{
    if (load->warning_count == S_MAX_WARNINGS) {
        load->warnings_lost++;
        return;
    }
    char line[2 * RL_KEYS_ERROR_SIZE + 4096 + RL_KEYS_FILE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    char *copy = strdup(line);
    if (!copy) {
        load->out_of_memory = true;
        return;
    }
    load->warnings[load->warning_count++] = copy;
}

static uint64_t s_fnv(uint64_t hash, const void *data, size_t size)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(((const s_file_t *)a)->name, ((const s_file_t *)b)->name);
}

/* Whether a directory entry is one rl_keys reads (by its name). */
static bool s_wanted(const char *name)
{
    size_t length = strlen(name);
    return name[0] != '.' &&
           !(length >= 7 && strcmp(name + length - 7, "_secret") == 0);
}

/* Lists the files to read, sorted by name, into *files (malloc'd, *count
   of them), and their signature. Names too long or beyond the bound are
   counted in *skipped_long / *skipped_many. Returns 0, or -1 with
   self->error filled. */
static int s_list(rl_keys_t *self, s_file_t **files, size_t *count,
                  uint64_t *signature, size_t *skipped_long,
                  size_t *skipped_many)
{
    *files = NULL;
    *count = *skipped_long = *skipped_many = 0;
    *signature = 14695981039346656037ULL;
    DIR *dir = opendir(self->directory);
    if (!dir) {
        snprintf(self->error, sizeof(self->error),
                 "cannot read the keys directory %s: %s", self->directory,
                 strerror(errno));
        return -1;
    }
    int dir_fd = dirfd(dir);
    size_t capacity = 0;
    s_file_t *list = NULL;
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(dir))) {
        if (!s_wanted(entry->d_name))
            continue;
        struct stat st;
        /* Follows symbolic links, as opening the file will. */
        if (fstatat(dir_fd, entry->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (strlen(entry->d_name) >= RL_KEYS_FILE_SIZE) {
            (*skipped_long)++;
            continue;
        }
        if (*count == RL_KEYS_MAX_FILES) {
            (*skipped_many)++;
            continue;
        }
        if (*count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            s_file_t *grown = realloc(list, capacity * sizeof(*list));
            if (!grown) {
                free(list);
                closedir(dir);
                snprintf(self->error, sizeof(self->error), "out of memory");
                return -1;
            }
            list = grown;
        }
        s_file_t *f = &list[(*count)++];
        strcpy(f->name, entry->d_name);
        f->modified_ns =
            (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        /* The signature does not depend on the listing's order: each
           file's hash is summed. */
        uint64_t h = s_fnv(14695981039346656037ULL, f->name, strlen(f->name));
        int64_t size = st.st_size;
        uint64_t inode = st.st_ino;
        h = s_fnv(h, &size, sizeof(size));
        h = s_fnv(h, &f->modified_ns, sizeof(f->modified_ns));
        h = s_fnv(h, &inode, sizeof(inode));
        *signature += h;
    }
    int error = errno;
    closedir(dir);
    if (error) {
        free(list);
        snprintf(self->error, sizeof(self->error),
                 "cannot list the keys directory %s: %s", self->directory,
                 strerror(error));
        return -1;
    }
    *signature = s_fnv(*signature, count, sizeof(*count));
    if (*count)
        qsort(list, *count, sizeof(*list), s_by_name);
    *files = list;
    return 0;
}

/* Reads one file into the load, or warns why not. */
static void s_load_file(rl_keys_t *self, s_load_t *load, const s_file_t *file)
{
    char path[4096 + RL_KEYS_FILE_SIZE];
    snprintf(path, sizeof(path), "%s/%s", self->directory, file->name);
    /* Warnings name the file by its path, printable. */
    char shown[sizeof(path)];
    s_printable(shown, sizeof(shown), path);
    s_cert_t cert;
    char why[RL_KEYS_ERROR_SIZE];
    rl_role_t role;
    uint64_t node_id;
    if (s_read_cert(path, &cert, why, sizeof(why)) != 0 ||
        s_check_role(&cert, &role, &node_id, why, sizeof(why)) != 0) {
        s_warn(load, "keys: %s: %s; skipped", shown, why);
        s_wipe(&cert, sizeof(cert));
        return;
    }
    if (cert.has_secret)
        s_warn(load,
               "keys: %s holds a secret key: keep secret certificates out of "
               "the --keys directory (only its public key is used)",
               shown);
    s_wipe(&cert.secret_bin, sizeof(cert.secret_bin));
    const rl_key_t *same = zhashx_lookup(load->by_key, cert.public_key);
    if (same) {
        s_warn(load, "keys: %s has the same key as %s; skipped", shown,
               same->file);
        return;
    }
    if (role != RL_ROLE_NODE && cert.node_id[0])
        s_warn(load, "keys: %s: node-id ignored for role %s", shown,
               rl_role_name(role));
    rl_key_t *k = &load->keys[load->count++];
    memset(k, 0, sizeof(*k));
    strcpy(k->key, cert.public_key);
    k->role = role;
    k->node_id = node_id;
    /* Cut to fit, said to gcc by the precision (-Wformat-truncation). */
    snprintf(k->name, sizeof(k->name), "%.*s", (int)sizeof(k->name) - 1,
             cert.name[0] ? cert.name : shown);
    strcpy(k->file, file->name);
    k->modified_ns = file->modified_ns;
    if (zhashx_insert(load->by_key, k->key, k) != 0)
        load->out_of_memory = true;
}

/* Warns of each node with more than one key. */
static void s_warn_node_twins(s_load_t *load)
{
    for (size_t i = 0; i < load->count; i++) {
        const rl_key_t *a = &load->keys[i];
        if (a->role != RL_ROLE_NODE)
            continue;
        for (size_t j = i + 1; j < load->count; j++) {
            const rl_key_t *b = &load->keys[j];
            if (b->role != RL_ROLE_NODE || b->node_id != a->node_id)
                continue;
            bool b_newer = b->modified_ns > a->modified_ns ||
                           (b->modified_ns == a->modified_ns &&
                            strcmp(b->file, a->file) > 0);
            s_warn(load,
                   "keys: node %" PRIu64 " has two keys (%s, %s): both are "
                   "accepted from it, and peers connect to it expecting the "
                   "newer file's, %s; remove the other once node %" PRIu64
                   " uses it",
                   a->node_id, a->file, b->file, b_newer ? b->file : a->file,
                   a->node_id);
        }
    }
}

int rl_keys_refresh(rl_keys_t *self)
{
    assert(self);
    s_file_t *files;
    size_t count, skipped_long, skipped_many;
    uint64_t signature;
    if (s_list(self, &files, &count, &signature, &skipped_long,
               &skipped_many) != 0)
        return -1;
    if (self->loaded && signature == self->signature) {
        free(files);
        self->error[0] = '\0';
        return 0;
    }
    s_load_t load;
    memset(&load, 0, sizeof(load));
    load.keys = calloc(count ? count : 1, sizeof(rl_key_t));
    load.warnings = calloc(S_MAX_WARNINGS, sizeof(char *));
    load.by_key = zhashx_new();
    load.out_of_memory = !load.keys || !load.warnings || !load.by_key;
    if (!load.out_of_memory) {
        /* The table points into keys and copies its keys. */
        if (skipped_long)
            s_warn(&load,
                   "keys: %zu files with names of %d bytes or more; skipped",
                   skipped_long, RL_KEYS_FILE_SIZE);
        if (skipped_many)
            s_warn(&load, "keys: more than %d files in %s; %zu skipped",
                   RL_KEYS_MAX_FILES, self->directory, skipped_many);
        for (size_t i = 0; i < count && !load.out_of_memory; i++)
            s_load_file(self, &load, &files[i]);
        s_warn_node_twins(&load);
    }
    free(files);
    if (load.out_of_memory) {
        zhashx_destroy(&load.by_key);
        free(load.keys);
        s_free_warnings(load.warnings, load.warning_count);
        snprintf(self->error, sizeof(self->error),
                 "out of memory loading the keys directory %s",
                 self->directory);
        return -1;
    }
    zhashx_destroy(&self->by_key);
    free(self->keys);
    s_free_warnings(self->warnings, self->warning_count);
    self->keys = load.keys;
    self->count = load.count;
    self->by_key = load.by_key;
    self->warnings = load.warnings;
    self->warning_count = load.warning_count;
    self->warnings_lost = load.warnings_lost;
    if (self->warnings_lost && self->warning_count) {
        /* The last kept line says how many more there were. */
        char *last = self->warnings[self->warning_count - 1];
        size_t size = strlen(last) + 64;
        char *longer = malloc(size);
        if (longer) {
            snprintf(longer, size, "%s (and %zu more warnings)", last,
                     self->warnings_lost);
            free(last);
            self->warnings[self->warning_count - 1] = longer;
        }
    }
    self->signature = signature;
    self->loaded = true;
    self->generation++;
    self->error[0] = '\0';
    return 1;
}

const char *rl_keys_error(const rl_keys_t *self)
{
    return self->error;
}

size_t rl_keys_warning_count(const rl_keys_t *self)
{
    return self->warning_count;
}

const char *rl_keys_warning(const rl_keys_t *self, size_t index)
{
    assert(index < self->warning_count);
    return self->warnings[index];
}

const char *rl_keys_directory(const rl_keys_t *self)
{
    return self->directory;
}

size_t rl_keys_count(const rl_keys_t *self)
{
    return self->count;
}

const rl_key_t *rl_keys_at(const rl_keys_t *self, size_t index)
{
    assert(index < self->count);
    return &self->keys[index];
}

const rl_key_t *rl_keys_lookup(const rl_keys_t *self, const char *key)
{
    if (!key || strlen(key) != 40)
        return NULL;
    return zhashx_lookup(self->by_key, key);
}

const rl_key_t *rl_keys_lookup_fresh(rl_keys_t *self, const char *key,
                                     int64_t now_ms)
{
    const rl_key_t *k = rl_keys_lookup(self, key);
    if (k || !key || strlen(key) != 40 ||
        (self->retried && now_ms - self->retried_ms < RL_KEYS_RETRY_MS))
        return k;
    self->retried = true;
    self->retried_ms = now_ms;
    if (rl_keys_refresh(self) != 1)
        return NULL;
    return rl_keys_lookup(self, key);
}

const rl_key_t *rl_keys_node(const rl_keys_t *self, uint64_t node_id)
{
    const rl_key_t *best = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const rl_key_t *k = &self->keys[i];
        /* Files are in name order: a later one of the same age wins. */
        if (k->role == RL_ROLE_NODE && k->node_id == node_id &&
            (!best || k->modified_ns >= best->modified_ns))
            best = k;
    }
    return best;
}

bool rl_keys_peer_allowed(const rl_keys_t *self, const char *key, uint64_t from,
                          char *why, size_t why_size)
{
    char shown[RL_KEY_TEXT_SIZE];
    s_printable(shown, sizeof(shown), key ? key : "");
    const rl_key_t *k = rl_keys_lookup(self, key);
    if (!key) {
        if (why)
            snprintf(why, why_size,
                     "a peer message from node %" PRIu64 " came over a "
                     "connection without CURVE",
                     from);
        return false;
    }
    if (!k) {
        if (why)
            snprintf(why, why_size,
                     "a peer message from node %" PRIu64 " came with key %s, "
                     "which is not in the keys directory %s",
                     from, shown, self->directory);
        return false;
    }
    if (k->role != RL_ROLE_NODE) {
        if (why)
            snprintf(why, why_size,
                     "a peer message from node %" PRIu64 " came with the key "
                     "of %s (%s), whose role is %s, not node",
                     from, k->name, k->file, rl_role_name(k->role));
        return false;
    }
    if (k->node_id != from) {
        if (why)
            snprintf(why, why_size,
                     "a peer message from node %" PRIu64 " came with the key "
                     "of node %" PRIu64 " (%s): one node posing as another",
                     from, k->node_id, k->file);
        return false;
    }
    return true;
}

uint64_t rl_keys_generation(const rl_keys_t *self)
{
    return self->generation;
}

/* ---- Certificates of one's own ---- */

zcert_t *rl_keys_load_own(const char *path, rl_role_t role, uint64_t node_id,
                          char *error, size_t error_size)
{
    assert(path);
    s_cert_t cert;
    char why[RL_KEYS_ERROR_SIZE];
    if (s_read_cert(path, &cert, why, sizeof(why)) != 0) {
        snprintf(error, error_size, "certificate %s: %s", path, why);
        return NULL;
    }
    zcert_t *result = NULL;
    rl_role_t has;
    uint64_t has_id = 0;
    if (!cert.has_secret) {
        snprintf(error, error_size,
                 "certificate %s holds no secret key: give the NAME_secret "
                 "file that `raftlog keygen NAME` wrote, not the public one",
                 path);
    } else if (role != RL_ROLE_NONE &&
               s_check_role(&cert, &has, &has_id, why, sizeof(why)) != 0) {
        snprintf(error, error_size, "certificate %s: %s", path, why);
    } else if (role != RL_ROLE_NONE && has != role) {
        snprintf(error, error_size,
                 "certificate %s has role %s, and this process needs one "
                 "with role %s (raftlog keygen NAME --role %s%s)",
                 path, rl_role_name(has), rl_role_name(role),
                 rl_role_name(role),
                 role == RL_ROLE_NODE ? " --node-id N" : "");
    } else if (role == RL_ROLE_NODE && has_id != node_id) {
        snprintf(error, error_size,
                 "certificate %s is node %" PRIu64 "'s, and this is node "
                 "%" PRIu64 ": give this node its own certificate",
                 path, has_id, node_id);
    } else {
        result = zcert_new_from(cert.public_bin, cert.secret_bin);
        if (!result)
            snprintf(error, error_size, "out of memory");
        else {
            if (cert.role[0])
                zcert_set_meta(result, "role", "%s", cert.role);
            if (cert.node_id[0])
                zcert_set_meta(result, "node-id", "%s", cert.node_id);
            if (cert.name[0])
                zcert_set_meta(result, "name", "%s", cert.name);
        }
    }
    s_wipe(&cert, sizeof(cert));
    return result;
}

int rl_keys_load_public(const char *path, char key[RL_KEY_TEXT_SIZE],
                        char *error, size_t error_size)
{
    assert(path && key);
    s_cert_t cert;
    char why[RL_KEYS_ERROR_SIZE];
    int rc = s_read_cert(path, &cert, why, sizeof(why));
    if (rc != 0)
        snprintf(error, error_size, "certificate %s: %s", path, why);
    else
        strcpy(key, cert.public_key);
    s_wipe(&cert, sizeof(cert));
    return rc;
}

/* ---- CURVE on sockets ---- */

bool rl_keys_curve_available(void)
{
    return zsys_has_curve();
}

/* ---- The ZAP handler ----

   Why not czmq's zauth: in czmq 4.2.1 (Debian 12) zauth's certificate
   store asserts that no two files of the directory hold the same public
   key (zcertstore_insert), so one `cp alice alice.bak` in a --keys
   directory aborts every daemon that reads it at its next handshake. It
   also reads subdirectories and certificates without a role, which the
   role map then refuses message by message. This handler answers ZAP
   (RFC 27) from an rl_keys_t map of the same directory instead, so the
   handshake and the per-message checks agree on which keys exist, and a
   bad file is a warning, never a crash. */

/* Where libzmq sends ZAP requests. */
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* One ZAP handler per process: libzmq has one endpoint for it. */
static atomic_bool s_auth_running;
/* Handshakes refused since start, for STATUS. */
static atomic_uint_fast64_t s_auth_refused;

/* Appends one ZMTP property (name, value) to the metadata in out (size
   used *used of room bytes); false when it does not fit. */
static bool s_property(uint8_t *out, size_t room, size_t *used,
                       const char *name, const char *value)
{
    size_t name_size = strlen(name), value_size = strlen(value);
    if (name_size > 255 || *used + 1 + name_size + 4 + value_size > room)
        return false;
    uint8_t *p = out + *used;
    *p++ = (uint8_t)name_size;
    memcpy(p, name, name_size);
    p += name_size;
    *p++ = (uint8_t)(value_size >> 24);
    *p++ = (uint8_t)(value_size >> 16);
    *p++ = (uint8_t)(value_size >> 8);
    *p++ = (uint8_t)value_size;
    memcpy(p, value, value_size);
    *used += 1 + name_size + 4 + value_size;
    return true;
}

/* Answers one ZAP request waiting on handler from the map. */
static void s_zap_answer(rl_keys_t *keys, zsock_t *handler)
{
    zmsg_t *request = zmsg_recv(handler);
    if (!request)
        return;
    /* version, request id, domain, address, routing id, mechanism,
       credentials... */
    char *version = zmsg_popstr(request);
    zframe_t *request_id = zmsg_pop(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    zframe_t *routing_id = zmsg_pop(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *credentials = zmsg_pop(request);

    const char *status = "400", *text = "not allowed";
    char user_id[RL_KEY_TEXT_SIZE] = "";
    uint8_t metadata[512];
    size_t metadata_size = 0;
    if (!version || strcmp(version, "1.0") != 0 || !request_id) {
        status = "500";
        text = "ZAP version 1.0 expected";
    } else if (mechanism && strcmp(mechanism, "NULL") == 0) {
        /* No CURVE on this connection: nothing to check here (every
           socket a daemon binds for clients or peers is a CURVE server
           once keys are given; NULL only meets inproc ones). */
        status = "200";
        text = "OK";
    } else if (mechanism && strcmp(mechanism, "CURVE") == 0 && credentials &&
               zframe_size(credentials) == 32) {
        zmq_z85_encode(user_id, zframe_data(credentials), 32);
        /* The directory as it is now: a removed certificate is refused at
           the next handshake, a new one taken at once (a stat per file,
           as zauth does per handshake). A directory that cannot be read
           leaves the last map in force. */
        rl_keys_refresh(keys);
        const rl_key_t *k = rl_keys_lookup(keys, user_id);
        if (k) {
            char node_id[24] = "";
            if (k->role == RL_ROLE_NODE)
                snprintf(node_id, sizeof(node_id), "%" PRIu64, k->node_id);
            if (s_property(metadata, sizeof(metadata), &metadata_size, "role",
                           rl_role_name(k->role)) &&
                s_property(metadata, sizeof(metadata), &metadata_size, "name",
                           k->name) &&
                (!node_id[0] ||
                 s_property(metadata, sizeof(metadata), &metadata_size,
                            "node-id", node_id))) {
                status = "200";
                text = "OK";
            }
        } else {
            /* Anyone who reaches a port can cause this line: limited, and
               the address escaped (it is libzmq's, but a log line takes
               nothing from the network unescaped). */
            static rl_log_limit_t limit = RL_LOG_LIMIT_INIT;
            char shown[RL_LOG_ESCAPE_SIZE(64)];
            rl_logf_limited(&limit, RL_LOG_WARN,
                            "refused a CURVE connection from %s: key %s is "
                            "not in the keys directory %s",
                            rl_log_escape(address ? address : "?",
                                          address ? strlen(address) : 1, shown,
                                          sizeof(shown)),
                            user_id, rl_keys_directory(keys));
            text = "the key is not in the --keys directory";
        }
    } else {
        text = "only CURVE is taken here";
    }
    if (strcmp(status, "200") != 0) {
        user_id[0] = '\0';
        metadata_size = 0;
        atomic_fetch_add(&s_auth_refused, 1);
    }
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    if (request_id)
        zmsg_append(reply, &request_id);
    else
        zmsg_addmem(reply, "", 0);
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, user_id);
    zmsg_addmem(reply, metadata, metadata_size);
    zmsg_send(&reply, handler);
    zmsg_destroy(&reply);
    zstr_free(&version);
    zframe_destroy(&request_id);
    zstr_free(&domain);
    zstr_free(&address);
    zframe_destroy(&routing_id);
    zstr_free(&mechanism);
    zframe_destroy(&credentials);
    zmsg_destroy(&request);
}

/* The ZAP handler's thread (a zactor): a REP socket on the ZAP endpoint
   and its own map of the directory (args, copied before the first
   signal). Two signals: the one zactor_new waits for, then whether the
   socket is bound (0) or not (1: the actor then only waits for $TERM). */
static void s_zap_actor(zsock_t *pipe, void *args)
{
    rl_keys_t *keys = rl_keys_new((const char *)args);
    zsock_signal(pipe, 0);
    zsock_t *handler = zsock_new(ZMQ_REP);
    if (!keys || !handler || zsock_bind(handler, S_ZAP_ENDPOINT) != 0) {
        zsock_destroy(&handler);
        rl_keys_destroy(&keys);
        zsock_signal(pipe, 1);
        char *command = zstr_recv(pipe);
        zstr_free(&command);
        return;
    }
    zsock_set_linger(handler, 0);
    rl_keys_refresh(keys);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    bool running = poller != NULL;
    while (running) {
        /* A bounded wait (house rule); nothing happens on a timeout. */
        zsock_t *which = zpoller_wait(poller, 1000);
        if (which == handler) {
            s_zap_answer(keys, handler);
        } else if (which == pipe) {
            char *command = zstr_recv(pipe);
            running = command && strcmp(command, "$TERM") != 0;
            zstr_free(&command);
        } else if (zpoller_terminated(poller)) {
            running = false;
        }
    }
    zpoller_destroy(&poller);
    /* Unbound by hand: a closed socket's inproc endpoint is released
       later, by libzmq's reaper, and a handler started again at once
       (rl_keys_auth_new after rl_keys_auth_destroy) would find it taken. */
    zsock_unbind(handler, S_ZAP_ENDPOINT);
    zsock_destroy(&handler);
    rl_keys_destroy(&keys);
}

zactor_t *rl_keys_auth_new(const char *directory, char *error,
                           size_t error_size)
{
    assert(directory);
    if (!zsys_has_curve()) {
        snprintf(error, error_size,
                 "this libzmq has no CURVE (it was built without libsodium): "
                 "install one that has, or run without keys");
        return NULL;
    }
    struct stat st;
    int found = stat(directory, &st);
    if (found != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(error, error_size, "the keys directory %s: %s", directory,
                 found != 0 ? strerror(errno) : "not a directory");
        return NULL;
    }
    if (atomic_exchange(&s_auth_running, true)) {
        snprintf(error, error_size,
                 "a ZAP handler is already running in this process (one "
                 "per process)");
        return NULL;
    }
    /* The actor's second signal says whether it is bound: once it is,
       every handshake that follows is asked about. */
    zactor_t *auth = zactor_new(s_zap_actor, (void *)directory);
    if (!auth || zsock_wait(auth) != 0) {
        zactor_destroy(&auth);
        snprintf(error, error_size,
                 "cannot start the ZAP handler for %s (is another ZAP "
                 "handler, such as czmq's zauth, bound in this process?)",
                 directory);
        atomic_store(&s_auth_running, false);
        return NULL;
    }
    return auth;
}

void rl_keys_auth_destroy(zactor_t **auth_p)
{
    assert(auth_p);
    if (!*auth_p)
        return;
    zactor_destroy(auth_p);
    atomic_store(&s_auth_running, false);
}

uint64_t rl_keys_auth_refused(void)
{
    return atomic_load(&s_auth_refused);
}

void rl_keys_set_server(zsock_t *socket, zcert_t *cert)
{
    assert(socket && cert);
    zcert_apply(cert, socket);
    zsock_set_curve_server(socket, 1);
}

void rl_keys_set_client(zsock_t *socket, zcert_t *cert, const char *server_key)
{
    assert(socket && cert && server_key && strlen(server_key) == 40);
    zcert_apply(cert, socket);
    zsock_set_curve_serverkey(socket, server_key);
}

const char *rl_keys_frame_key(zframe_t *frame)
{
    assert(frame);
    const char *key = zframe_meta(frame, "User-Id");
    return key && strlen(key) == 40 ? key : NULL;
}
