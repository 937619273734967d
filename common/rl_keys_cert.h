/*  rl_keys_cert.h - reading one certificate file, for rl_keys's modules
    only (not part of rl_keys.h's contract): the parts of a czmq zcert
    file that the --keys map and a daemon's own certificate use, read with
    a bound, and its role metadata checked.

    Layers: libc, czmq (zconfig), libzmq (zmq_z85_decode).
*/
#ifndef RL_KEYS_CERT_H
#define RL_KEYS_CERT_H

#include "rl_keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The parts of a certificate file rl_keys uses. Holds a secret key when
   has_secret: wipe it (rl_keys_wipe) before it leaves scope. */
typedef struct {
    char public_key[RL_KEY_TEXT_SIZE]; /* Z85 */
    uint8_t public_bin[32];            /* decoded */
    bool has_secret;                   /* a secret key that is not zero */
    uint8_t secret_bin[32];            /* decoded, when has_secret */
    char role[16];                     /* metadata role, "" none */
    char node_id[32];                  /* metadata node-id, "" none */
    char name[RL_KEYS_NAME_SIZE];      /* metadata name, "" none */
    bool role_too_long;                /* role or node-id did not fit */
} rl_keys_cert_t;

/* Zeroes size bytes at data in a way the compiler keeps (secrets). */
void rl_keys_wipe(void *data, size_t size);

/* Copies text into out (size bytes, with the NUL), printable ASCII only,
   any other byte as '?': a name goes into log lines and messages. */
void rl_keys_printable(char *out, size_t size, const char *text);

/* Reads and parses the certificate at path (at most
   RL_KEYS_MAX_FILE_BYTES). Returns 0, or -1 with error filled (saying
   what the file is not, without the path: callers name it). */
int rl_keys_cert_read(const char *path, rl_keys_cert_t *cert, char *error,
                      size_t error_size);

/* Checks a certificate's role (and, for role node, node-id) metadata.
   Returns 0 with *role and *node_id set (0 unless role node), or -1 with
   error filled. */
int rl_keys_cert_role(const rl_keys_cert_t *cert, rl_role_t *role,
                      uint64_t *node_id, char *error, size_t error_size);

#endif
