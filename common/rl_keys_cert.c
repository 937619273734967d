/*  rl_keys_cert.c - reading one certificate file (see rl_keys_cert.h),
    and a daemon's own certificates (rl_keys_load_own, rl_keys_load_public
    of rl_keys.h).

    A certificate file is read whole (bounded) and parsed with czmq's
    zconfig, the ZPL reader zcert itself uses, rather than with
    zcert_load: zcert_load opens NAME_secret instead of NAME whenever one
    exists, and reads without a bound, where a --keys directory needs
    exactly the file listed, and a bounded read. The key text is checked
    with zmq_z85_decode.
*/
#include "rl_keys_cert.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rl_keys_wipe(void *data, size_t size)
{
    volatile uint8_t *p = data;
    while (size--)
        *p++ = 0;
}

void rl_keys_printable(char *out, size_t size, const char *text)
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

int rl_keys_cert_read(const char *path, rl_keys_cert_t *cert, char *error,
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
    rl_keys_wipe(text, length);
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
        rl_keys_wipe(cert->secret_bin, sizeof(cert->secret_bin));
    /* zconfig keeps the secret text in its tree: wipe it before freeing. */
    zconfig_t *secret_item = zconfig_locate(root, "curve/secret-key");
    if (secret_item && zconfig_value(secret_item))
        rl_keys_wipe(zconfig_value(secret_item),
                     strlen(zconfig_value(secret_item)));
    cert->role_too_long =
        !s_copy_meta(root, "metadata/role", cert->role, sizeof(cert->role)) ||
        !s_copy_meta(root, "metadata/node-id", cert->node_id,
                     sizeof(cert->node_id));
    rl_keys_printable(cert->name, sizeof(cert->name),
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

int rl_keys_cert_role(const rl_keys_cert_t *cert, rl_role_t *role,
                      uint64_t *node_id, char *error, size_t error_size)
{
    *role = rl_role_parse(cert->role);
    *node_id = 0;
    if (*role == RL_ROLE_NONE) {
        char shown[sizeof(cert->role)];
        rl_keys_printable(shown, sizeof(shown), cert->role);
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
        rl_keys_printable(shown, sizeof(shown), cert->node_id);
        snprintf(error, error_size,
                 "role node without a valid node-id in its metadata (%s%s%s; "
                 "`raftlog keygen --role node --node-id N` writes it)",
                 cert->node_id[0] ? "'" : "none", cert->node_id[0] ? shown : "",
                 cert->node_id[0] ? "'" : "");
        return -1;
    }
    return 0;
}

/* ---- Certificates of one's own ---- */

zcert_t *rl_keys_load_own(const char *path, rl_role_t role, uint64_t node_id,
                          char *error, size_t error_size)
{
    assert(path);
    rl_keys_cert_t cert;
    char why[RL_KEYS_ERROR_SIZE];
    if (rl_keys_cert_read(path, &cert, why, sizeof(why)) != 0) {
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
               rl_keys_cert_role(&cert, &has, &has_id, why, sizeof(why)) != 0) {
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
    rl_keys_wipe(&cert, sizeof(cert));
    return result;
}

int rl_keys_load_public(const char *path, char key[RL_KEY_TEXT_SIZE],
                        char *error, size_t error_size)
{
    assert(path && key);
    rl_keys_cert_t cert;
    char why[RL_KEYS_ERROR_SIZE];
    int rc = rl_keys_cert_read(path, &cert, why, sizeof(why));
    if (rc != 0)
        snprintf(error, error_size, "certificate %s: %s", path, why);
    else
        strcpy(key, cert.public_key);
    rl_keys_wipe(&cert, sizeof(cert));
    return rc;
}
