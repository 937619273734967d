/*  raftlog_curve.c - libraftlog's CURVE keys: the client's certificate and
    the server's public one, read from files (raftlog_set_curve) or from
    $RAFTLOG_KEY and $RAFTLOG_SERVER_KEY at the first request; see
    raftlog.h. Keys that cannot be set leave the client refusing every
    request with why, never falling back to no security.
*/
#include "raftlog_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the certificate at path (named what in messages, e.g. "--key
   FILE" is the caller's; here "the client's certificate") into *cert.
   A file that plainly is no certificate is refused before czmq parses it:
   zconfig logs its syntax errors on czmq's log stream. Returns 0, or
   RAFTLOG_ERR_INVALID with self->error. */
static int s_load_cert(raftlog_t *self, const char *path, const char *what,
                       bool need_secret, zcert_t **cert)
{
    *cert = NULL;
    FILE *file = fopen(path, "re");
    if (!file)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s %s: %s", what,
                              path, strerror(errno));
    char text[8192];
    size_t length = fread(text, 1, sizeof(text) - 1, file);
    bool whole = feof(file) && !ferror(file);
    int error = ferror(file) ? errno : 0;
    fclose(file);
    text[length] = '\0';
    if (error)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s %s: %s", what,
                              path, strerror(error));
    bool looks_right = whole && strlen(text) == length &&
                       strstr(text, "curve") && strstr(text, "public-key");
    bool has_secret = looks_right && strstr(text, "secret-key");
    memset(text, 0, sizeof(text)); /* it may hold a secret key */
    /* zcert_load would read PATH_secret instead when there is one; the
       file named is the one meant. */
    zconfig_t *root = looks_right ? zconfig_load(path) : NULL;
    const char *public_text =
        root ? zconfig_get(root, "curve/public-key", NULL) : NULL;
    const char *secret_text =
        root ? zconfig_get(root, "curve/secret-key", NULL) : NULL;
    uint8_t public_key[32], secret_key[32] = {0};
    static const uint8_t zero[32];
    int rc = 0;
    if (!public_text || strlen(public_text) != 40 ||
        !zmq_z85_decode(public_key, public_text))
        rc = rl_client_fail(self, RAFTLOG_ERR_INVALID,
                            "%s %s is not a CURVE certificate (czmq's zcert "
                            "format, as `raftlog keygen` writes it)",
                            what, path);
    else if (need_secret &&
             (!has_secret || !secret_text || strlen(secret_text) != 40 ||
              !zmq_z85_decode(secret_key, secret_text) ||
              memcmp(secret_key, zero, sizeof(zero)) == 0))
        rc = rl_client_fail(self, RAFTLOG_ERR_INVALID,
                            "%s %s holds no secret key: give the NAME_secret "
                            "file that `raftlog keygen NAME` wrote",
                            what, path);
    else if (!(*cert = zcert_new_from(public_key, secret_key)))
        rc = rl_client_fail(self, RAFTLOG_ERR_NO_MEMORY, "out of memory");
    zconfig_t *secret_item =
        root ? zconfig_locate(root, "curve/secret-key") : NULL;
    if (secret_item && zconfig_value(secret_item))
        memset(zconfig_value(secret_item), 0,
               strlen(zconfig_value(secret_item)));
    zconfig_destroy(&root);
    memset(secret_key, 0, sizeof(secret_key));
    return rc;
}

/* Loads both files into self->curve. Returns 0 or an error code. */
static int s_set_curve(raftlog_t *self, const char *key_file,
                       const char *server_key_file)
{
    if (!key_file || !server_key_file || !*key_file || !*server_key_file)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "CURVE needs two files: the client's "
                              "certificate (its _secret file) and the "
                              "server's public certificate");
    if (!zsys_has_curve())
        return rl_client_fail(self, RAFTLOG_ERR_INVALID,
                              "this libzmq has no CURVE (it was built "
                              "without libsodium): a client with keys "
                              "needs one that has");
    zcert_t *cert, *server;
    int rc =
        s_load_cert(self, key_file, "the client's certificate", true, &cert);
    if (rc)
        return rc;
    rc = s_load_cert(self, server_key_file, "the server's certificate", false,
                     &server);
    if (rc) {
        zcert_destroy(&cert);
        return rc;
    }
    self->curve.cert = cert;
    snprintf(self->curve.server_key, sizeof(self->curve.server_key), "%s",
             zcert_public_txt(server));
    zcert_destroy(&server);
    snprintf(self->curve.key_file, sizeof(self->curve.key_file), "%s",
             key_file);
    snprintf(self->curve.server_key_file, sizeof(self->curve.server_key_file),
             "%s", server_key_file);
    return 0;
}

/* Keys that could not be set leave the client refusing every request
   (with why) until they are: never a silent fall back to no security. */
static int s_curve_failed(raftlog_t *self, int rc)
{
    self->curve_failed = true;
    snprintf(self->curve_why, sizeof(self->curve_why), "%s", self->error);
    return rc;
}

int raftlog_set_curve(raftlog_t *self, const char *key_file,
                      const char *server_key_file)
{
    assert(self);
    rl_link_close(&self->link); /* its connection used the old keys */
    zcert_destroy(&self->curve.cert);
    self->curve_set = true;
    self->curve_failed = false;
    if (!key_file && !server_key_file)
        return 0;
    int rc = s_set_curve(self, key_file, server_key_file);
    if (rc)
        return s_curve_failed(self, rc);
    self->error[0] = '\0';
    return 0;
}

int rl_client_secure(raftlog_t *self)
{
    if (!self->curve_set) {
        self->curve_set = true;
        const char *key = getenv(RAFTLOG_KEY_ENV);
        const char *server_key = getenv(RAFTLOG_SERVER_KEY_ENV);
        key = key && *key ? key : NULL;
        server_key = server_key && *server_key ? server_key : NULL;
        if (!key != !server_key)
            return s_curve_failed(
                self, rl_client_fail(
                          self, RAFTLOG_ERR_INVALID,
                          "$%s is set and $%s is not: a client with a key "
                          "needs both (its own certificate and the server's "
                          "public one)",
                          key ? RAFTLOG_KEY_ENV : RAFTLOG_SERVER_KEY_ENV,
                          key ? RAFTLOG_SERVER_KEY_ENV : RAFTLOG_KEY_ENV));
        int rc = key ? s_set_curve(self, key, server_key) : 0;
        if (rc) {
            char message[sizeof(self->error)];
            snprintf(message, sizeof(message), "%s", self->error);
            return s_curve_failed(
                self,
                rl_client_fail(self, rc, "%.900s (from $%s and $%s)", message,
                               RAFTLOG_KEY_ENV, RAFTLOG_SERVER_KEY_ENV));
        }
    }
    if (self->curve_failed)
        return rl_client_fail(self, RAFTLOG_ERR_INVALID, "%s", self->curve_why);
    return 0;
}
