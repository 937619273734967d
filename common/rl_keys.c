/*  rl_keys.c - the --keys directory as a map of allowed public keys
    (key -> role, name, node-id), loaded when the directory changes, and
    the lookups the daemons make in it; see rl_keys.h for the contract.
    One certificate is read by rl_keys_cert.c; the roles table is
    rl_keys_roles.c, the ZAP handler rl_keys_zap.c.

    Change detection: every refresh lists the directory and stats each
    file it would read, and folds (name, size, mtime, inode) into a 64-bit
    FNV-1a signature. The map is rebuilt only when the signature differs
    from the last load's, so a daemon can call it every 500 ms. A file
    rewritten in place with the same size within one mtime tick would be
    missed until its next change; writing a new file and renaming it into
    place (as `raftlog keygen` does) changes the inode, which is seen.
*/
#include "rl_keys.h"

#include "rl_keys_cert.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    rl_keys_printable(shown, sizeof(shown), path);
    rl_keys_cert_t cert;
    char why[RL_KEYS_ERROR_SIZE];
    rl_role_t role;
    uint64_t node_id;
    if (rl_keys_cert_read(path, &cert, why, sizeof(why)) != 0 ||
        rl_keys_cert_role(&cert, &role, &node_id, why, sizeof(why)) != 0) {
        s_warn(load, "keys: %s: %s; skipped", shown, why);
        rl_keys_wipe(&cert, sizeof(cert));
        return;
    }
    if (cert.has_secret)
        s_warn(load,
               "keys: %s holds a secret key: keep secret certificates out of "
               "the --keys directory (only its public key is used)",
               shown);
    rl_keys_wipe(&cert.secret_bin, sizeof(cert.secret_bin));
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
    rl_keys_printable(shown, sizeof(shown), key ? key : "");
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
