/*  keygen.c - `raftlog keygen NAME`: writes a CURVE certificate pair with
    czmq's zcert, DIR/NAME (public, 0644) and DIR/NAME_secret (0600), with
    the metadata raftlog's servers read: name, role and, for a node,
    node-id (docs/SECURITY.md).

    The secret file is created 0600 whatever the umask: the files are
    written under umask 077 to hidden temporary names, fsynced, given
    their modes, then moved into place -- the secret first, so that a
    public certificate never exists without its secret -- and the
    directory is fsynced, so that a key handed out survives a power loss.
    Without --force they are linked into place (link(2) fails when a file
    is there, even one that appeared meanwhile); with it, renamed over
    the old ones. A server's --keys directory sees each file appear whole.
*/
#include "cli.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_option_t s_options[] = {
    {CLI_O_ROLE, "role", 0, "ROLE",
     "consumer (the default: READ, STATUS, MEMBERS list, consumer "
     "commits, CONSUMERS list and show), producer (and APPEND), admin (and "
     "membership changes, leadership transfer, CONSUMERS reset and delete), "
     "node (a node's own key) or broker"},
    {CLI_O_NODE_ID, "node-id", 0, "N",
     "the node's id (--id of raftlog-node); needed with --role node"},
    {CLI_O_DIR, "dir", 0, "DIR",
     "write the files in DIR (default: the current directory; created with "
     "mode 0700 when missing)"},
    {CLI_O_FORCE, "force", 0, NULL,
     "replace NAME and NAME_secret when they exist (every server that "
     "allowed the old key then needs the new public certificate)"},
    {CLI_O_JSON, "json", 0, NULL,
     "print {\"name\",\"role\",\"public_key\",\"public\",\"secret\"} (and "
     "\"node_id\") instead of lines"},
    {0, NULL, 0, NULL, NULL}};

static const char *const s_roles[] = {"consumer", "producer", "admin",
                                      "node",     "broker",   NULL};

#define S_MAX_NAME 64

/* Whether name can be a certificate's file name and metadata name. */
static bool s_usable_name(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > S_MAX_NAME || name[0] == '.' ||
        (length >= 7 && strcmp(name + length - 7, "_secret") == 0))
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == length;
}

/* Makes dir and its missing parents, each 0700 whatever the umask. */
static int s_make_directory(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return cli_fail(CLI_EXIT_USAGE, "--dir: the path is too long");
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) == 0) {
            if (chmod(path, 0700) != 0)
                return cli_fail(CLI_EXIT_FAILED, "%s: %s", path,
                                strerror(errno));
        } else if (errno != EEXIST) {
            return cli_fail(CLI_EXIT_FAILED, "cannot make the directory %s: %s",
                            path, strerror(errno));
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_fail(CLI_EXIT_FAILED, "--dir %s is not a directory", dir);
    return 0;
}

/* fsync of a file or directory by path. */
static int s_sync(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int error = errno;
    close(fd);
    errno = error;
    return rc;
}

/* Moves from to to: renamed over it with force, else linked (failing
   when to exists) and from removed. */
static int s_install(const char *from, const char *to, bool force)
{
    if (force)
        return rename(from, to);
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

/* The checks on the arguments: NAME, --role, --node-id. */
static int s_check(const cli_args_t *a, const char **role)
{
    if (a->arg_count != 1)
        return cli_fail(CLI_EXIT_USAGE,
                        "give one NAME (usage: raftlog keygen NAME [--role "
                        "ROLE] [--node-id N] [--dir DIR])");
    if (!s_usable_name(a->args[0]))
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' cannot name a key: use 1 to %d letters, digits, "
                        "'.', '_' or '-', not starting with '.' nor ending "
                        "in _secret",
                        a->args[0], S_MAX_NAME);
    *role = a->role ? a->role : "consumer";
    bool known = false;
    for (const char *const *r = s_roles; *r; r++)
        known = known || strcmp(*r, *role) == 0;
    if (!known) {
        const char *close = cli_suggest(*role, s_roles);
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' is not a role (consumer, producer, admin, node "
                        "or broker)%s%s%s",
                        *role, close ? "; did you mean '" : "",
                        close ? close : "", close ? "'?" : "");
    }
    if (strcmp(*role, "node") == 0 && !a->node_id)
        return cli_fail(CLI_EXIT_USAGE,
                        "--role node needs --node-id N, the node's --id: a "
                        "node's key proves which node it is");
    if (strcmp(*role, "node") != 0 && a->node_id)
        return cli_fail(CLI_EXIT_USAGE,
                        "--node-id is for --role node only (this key's role "
                        "is %s)",
                        *role);
    return 0;
}

static int s_print(const cli_args_t *a, const char *role, zcert_t *cert,
                   const char *public_path, const char *secret_path)
{
    if (a->json) {
        json_t *out =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", a->args[0], "role", role,
                      "public_key", zcert_public_txt(cert), "public",
                      public_path, "secret", secret_path);
        if (out && a->node_id)
            json_object_set_new(out, "node_id", cli_json_uint(a->node_id));
        return cli_json_print(out);
    }
    printf("public key: %s\n", zcert_public_txt(cert));
    printf("public certificate: %s (for the servers' --keys directory)\n",
           public_path);
    printf("secret certificate: %s (keep it private: a client's --key, a "
           "node's or broker's --cert)\n",
           secret_path);
    return 0;
}

static int s_keygen(raftlog_t *client, cli_args_t *a)
{
    (void)client;
    const char *role = NULL; /* gcc -O2 cannot see s_role sets it */
    int rc = s_check(a, &role);
    if (rc)
        return rc;
    if (!zsys_has_curve())
        return cli_fail(CLI_EXIT_FAILED,
                        "this libzmq has no CURVE (it was built without "
                        "libsodium): install one that has (Debian's "
                        "libzmq5 does)");
    const char *dir = a->dir && *a->dir ? a->dir : ".";
    if ((rc = s_make_directory(dir)))
        return rc;
    const char *name = a->args[0];
    char public_path[4200], secret_path[4200], temporary[4200],
        temporary_secret[4300];
    snprintf(public_path, sizeof(public_path), "%s/%s", dir, name);
    snprintf(secret_path, sizeof(secret_path), "%s/%s_secret", dir, name);
    snprintf(temporary, sizeof(temporary), "%s/.%s.keygen-%ld", dir, name,
             (long)getpid());
    snprintf(temporary_secret, sizeof(temporary_secret), "%s_secret",
             temporary);
    struct stat st;
    if (!a->force)
        for (int i = 0; i < 2; i++) {
            const char *path = i == 0 ? public_path : secret_path;
            if (lstat(path, &st) == 0)
                return cli_fail(CLI_EXIT_FAILED,
                                "%s exists: keygen does not replace a key "
                                "(--force does; then every server that "
                                "allowed the old key needs the new public "
                                "certificate)",
                                path);
        }

    zcert_t *cert = zcert_new();
    if (!cert)
        return cli_fail(CLI_EXIT_FAILED, "out of memory");
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", role);
    if (a->node_id)
        zcert_set_meta(cert, "node-id", "%" PRIu64, a->node_id);
    /* zcert_save changes the umask itself (czmq's zsys_file_mode_*):
       ours is set around it and put back after. */
    mode_t umask_before = umask(077);
    int saved = zcert_save(cert, temporary);
    umask(umask_before);
    const char *failed = NULL;
    if (saved != 0)
        failed = "write";
    else if (chmod(temporary, 0644) != 0 || chmod(temporary_secret, 0600) != 0)
        failed = "set the mode of";
    else if (s_sync(temporary) != 0 || s_sync(temporary_secret) != 0)
        failed = "sync";
    else if (s_install(temporary_secret, secret_path, a->force) != 0)
        failed = "install";
    else if (s_install(temporary, public_path, a->force) != 0) {
        int error = errno;
        if (!a->force)
            unlink(secret_path); /* no secret without its public file */
        errno = error;
        failed = "install";
    }
    int error = errno;
    unlink(temporary);
    unlink(temporary_secret);
    if (failed) {
        zcert_destroy(&cert);
        return cli_fail(CLI_EXIT_FAILED, "cannot %s the certificate %s: %s",
                        failed, public_path,
                        error == EEXIST ? "it appeared meanwhile"
                                        : strerror(error));
    }
    if (s_sync(dir) != 0) {
        zcert_destroy(&cert);
        return cli_fail(CLI_EXIT_FAILED, "cannot sync the directory %s: %s",
                        dir, strerror(errno));
    }
    rc = s_print(a, role, cert, public_path, secret_path);
    zcert_destroy(&cert);
    return rc;
}

const cli_command_t cli_keygen = {
    "keygen",
    "NAME [--role ROLE] [--node-id N] [--dir DIR] [--force] [--json]",
    "write a key (a CURVE certificate pair)",
    "Writes DIR/NAME, the public certificate, for the servers' --keys\n"
    "directory, and DIR/NAME_secret (mode 0600), the secret one: a client's\n"
    "--key, a node's or broker's --cert. Both carry NAME and the role (and\n"
    "a node's id) that the servers read. Prints the public key (Z85) and\n"
    "the two paths. An existing key is never replaced without --force.\n"
    "Roles: consumer reads (READ, STATUS, MEMBERS list) and commits\n"
    "durable consumers' positions, producer also appends, admin also changes\n"
    "membership, moves leadership, and resets or deletes consumers; node\n"
    "and broker are the servers' own keys.",
    s_options,
    s_keygen,
    true};
