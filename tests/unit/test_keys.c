/*  test_keys.c - the daemons' CURVE keys (common/rl_keys): the --keys
    directory map and its reloads, own certificates, the roles table, and
    a CURVE server behind the ZAP handler in this process, all without starting
   any other process. Certificates are written with czmq's zcert into temporary
   directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three headers it needs */

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rl_conns.h" /* rl_conns_monitor_stop */
#include "rl_keys.h"
#include "rl_msg.h"

/* ---- helpers ---- */

static char *s_tempdir(void)
{
    char *dir = strdup("/tmp/raftlog-keys-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

/* Removes dir and what it holds (files and one level of directories). */
static void s_remove_tree(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (unlink(path) != 0)
                s_remove_tree(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Writes a certificate with the given metadata (NULL: left out) as the
   public file dir/file (and dir/file_secret when secret); returns it (the
   caller destroys it). */
static zcert_t *s_cert(const char *dir, const char *file, const char *role,
                       const char *node_id, bool secret)
{
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    zcert_set_meta(cert, "name", "%s", file);
    if (role)
        zcert_set_meta(cert, "role", "%s", role);
    if (node_id)
        zcert_set_meta(cert, "node-id", "%s", node_id);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    assert_int_equal(
        secret ? zcert_save(cert, path) : zcert_save_public(cert, path), 0);
    return cert;
}

/* As s_cert, keeping only the public key text (41 bytes). */
static void s_public(const char *dir, const char *file, const char *role,
                     const char *node_id, char *key)
{
    zcert_t *cert = s_cert(dir, file, role, node_id, false);
    if (key)
        strcpy(key, zcert_public_txt(cert));
    zcert_destroy(&cert);
}

static void s_write(const char *dir, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void s_remove(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    assert_int_equal(unlink(path), 0);
}

/* Whether some warning of the last load contains every one of the words
   (a NULL-terminated list). */
static bool s_warned(const rl_keys_t *keys, const char *const *words)
{
    for (size_t i = 0; i < rl_keys_warning_count(keys); i++) {
        const char *w = rl_keys_warning(keys, i);
        bool all = true;
        for (const char *const *word = words; *word; word++)
            all = all && strstr(w, *word);
        if (all)
            return true;
    }
    return false;
}

#define WARNED(keys, ...)                                                      \
    s_warned(keys, (const char *const[]){__VA_ARGS__, NULL})

static void s_print_warnings(const rl_keys_t *keys)
{
    for (size_t i = 0; i < rl_keys_warning_count(keys); i++)
        print_message("warning: %s\n", rl_keys_warning(keys, i));
}

/* ---- the directory map ---- */

static void a_directory_maps_each_key_to_its_role_node_id_and_name(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    char alice[41], node2[41], broker[41];
    s_public(dir, "alice", "producer", NULL, alice);
    s_public(dir, "node2", "node", "2", node2);
    s_public(dir, "broker", "broker", NULL, broker);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_non_null(keys);
    assert_int_equal(rl_keys_refresh(keys), 1);
    s_print_warnings(keys);
    assert_int_equal(rl_keys_count(keys), 3);
    assert_int_equal(rl_keys_warning_count(keys), 0);
    const rl_key_t *k = rl_keys_lookup(keys, alice);
    assert_non_null(k);
    assert_int_equal(k->role, RL_ROLE_PRODUCER);
    assert_int_equal(k->node_id, 0);
    assert_string_equal(k->name, "alice");
    assert_string_equal(k->file, "alice");
    k = rl_keys_lookup(keys, node2);
    assert_non_null(k);
    assert_int_equal(k->role, RL_ROLE_NODE);
    assert_int_equal(k->node_id, 2);
    assert_int_equal(rl_keys_lookup(keys, broker)->role, RL_ROLE_BROKER);
    /* In file-name order. */
    assert_string_equal(rl_keys_at(keys, 0)->file, "alice");
    assert_string_equal(rl_keys_at(keys, 2)->file, "node2");
    assert_null(
        rl_keys_lookup(keys, "0000000000000000000000000000000000000000"));
    assert_null(rl_keys_lookup(keys, "short"));
    assert_null(rl_keys_lookup(keys, NULL));
    assert_string_equal(rl_keys_directory(keys), dir);
    rl_keys_destroy(&keys);
    assert_null(keys);
    rl_keys_destroy(&keys);
    s_remove_tree(dir);
    free(dir);
}

static void
secret_files_hidden_files_and_subdirectories_are_not_read(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    zcert_t *alice = s_cert(dir, "alice", "consumer", NULL, true);
    char hidden[41];
    s_public(dir, ".hidden", "admin", NULL, hidden);
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char deep[41];
    s_public(sub, "deep", "admin", NULL, deep);
    /* A secret file alone, its public one elsewhere. */
    zcert_t *bob = zcert_new();
    char path[600];
    snprintf(path, sizeof(path), "%s/bob_secret", dir);
    zcert_set_meta(bob, "role", "admin");
    assert_int_equal(zcert_save_secret(bob, path), 0);

    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    s_print_warnings(keys);
    assert_int_equal(rl_keys_count(keys), 1);
    assert_non_null(rl_keys_lookup(keys, zcert_public_txt(alice)));
    assert_null(rl_keys_lookup(keys, hidden));
    assert_null(rl_keys_lookup(keys, deep));
    assert_null(rl_keys_lookup(keys, zcert_public_txt(bob)));
    /* alice_secret lies next to alice: not read, so no secret warning. */
    assert_int_equal(rl_keys_warning_count(keys), 0);
    rl_keys_destroy(&keys);
    zcert_destroy(&alice);
    zcert_destroy(&bob);
    s_remove_tree(dir);
    free(dir);
}

static void
a_certificate_without_a_valid_role_is_skipped_with_a_warning(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    char good[41];
    s_public(dir, "good", "admin", NULL, good);
    s_public(dir, "wizard", "wizard", NULL, NULL);
    s_public(dir, "nobody", NULL, NULL, NULL);
    s_public(dir, "node-without-id", "node", NULL, NULL);
    s_public(dir, "node-zero", "node", "0", NULL);
    s_public(dir, "node-minus", "node", "-3", NULL);
    s_write(dir, "README", "these are the keys\n");
    char *big = malloc(RL_KEYS_MAX_FILE_BYTES + 2);
    assert_non_null(big);
    memset(big, '#', RL_KEYS_MAX_FILE_BYTES + 1);
    big[RL_KEYS_MAX_FILE_BYTES + 1] = '\0';
    s_write(dir, "huge", big);
    free(big);
    char consumer_with_id[41];
    s_public(dir, "reader", "consumer", "4", consumer_with_id);

    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    s_print_warnings(keys);
    assert_int_equal(rl_keys_count(keys), 2);
    assert_non_null(rl_keys_lookup(keys, good));
    const rl_key_t *reader = rl_keys_lookup(keys, consumer_with_id);
    assert_non_null(reader);
    assert_int_equal(reader->node_id, 0);
    assert_true(WARNED(keys, "wizard:", "unknown role 'wizard'", "skipped"));
    assert_true(WARNED(keys, "nobody:", "no role", "skipped"));
    assert_true(WARNED(keys, "node-without-id:", "node-id", "skipped"));
    assert_true(WARNED(keys, "node-zero:", "'0'", "skipped"));
    assert_true(WARNED(keys, "node-minus:", "'-3'", "skipped"));
    assert_true(WARNED(keys, "README:", "not a CURVE certificate"));
    assert_true(WARNED(keys, "huge:", "too large"));
    assert_true(WARNED(keys, "reader:", "node-id ignored"));
    assert_int_equal(rl_keys_warning_count(keys), 8);
    rl_keys_destroy(&keys);
    s_remove_tree(dir);
    free(dir);
}

static void
a_public_file_holding_a_secret_key_is_used_and_warned_about(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    zcert_t *carol = zcert_new();
    zcert_set_meta(carol, "role", "producer");
    char path[512];
    snprintf(path, sizeof(path), "%s/carol", dir);
    /* The secret certificate under a public name. */
    assert_int_equal(zcert_save_secret(carol, path), 0);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_non_null(rl_keys_lookup(keys, zcert_public_txt(carol)));
    assert_true(WARNED(keys, "carol", "holds a secret key"));
    rl_keys_destroy(&keys);
    zcert_destroy(&carol);
    s_remove_tree(dir);
    free(dir);
}

static void two_files_with_one_key_keep_the_first_and_warn(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    zcert_t *cert = s_cert(dir, "a-admin", "admin", NULL, false);
    /* zcert_set_meta does not replace a value: a copy gets the other. */
    zcert_t *copy =
        zcert_new_from(zcert_public_key(cert), zcert_secret_key(cert));
    zcert_set_meta(copy, "role", "consumer");
    char path[512];
    snprintf(path, sizeof(path), "%s/b-consumer", dir);
    assert_int_equal(zcert_save_public(copy, path), 0);
    zcert_destroy(&copy);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_int_equal(rl_keys_count(keys), 1);
    assert_int_equal(rl_keys_lookup(keys, zcert_public_txt(cert))->role,
                     RL_ROLE_ADMIN);
    assert_true(WARNED(keys, "b-consumer has the same key as a-admin"));
    rl_keys_destroy(&keys);
    zcert_destroy(&cert);
    s_remove_tree(dir);
    free(dir);
}

static void the_map_is_reloaded_only_when_the_directory_changed(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    char alice[41];
    s_public(dir, "alice", "producer", NULL, alice);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_generation(keys), 0);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_int_equal(rl_keys_generation(keys), 1);
    assert_int_equal(rl_keys_refresh(keys), 0);
    assert_int_equal(rl_keys_refresh(keys), 0);
    assert_int_equal(rl_keys_generation(keys), 1);

    /* Added: seen at the next refresh. */
    zcert_t *bob = s_cert(dir, "bob", "consumer", NULL, false);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_int_equal(rl_keys_generation(keys), 2);
    assert_non_null(rl_keys_lookup(keys, zcert_public_txt(bob)));
    assert_int_equal(rl_keys_refresh(keys), 0);

    /* Removed: revoked at the next refresh. */
    s_remove(dir, "alice");
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_null(rl_keys_lookup(keys, alice));
    assert_int_equal(rl_keys_count(keys), 1);

    /* Replaced by a new file renamed over it (as keygen does), with
       another role: the new role holds. A hidden temporary file is not a
       change. */
    zcert_t *admin =
        zcert_new_from(zcert_public_key(bob), zcert_secret_key(bob));
    zcert_set_meta(admin, "role", "admin");
    char temporary[512], final[512];
    snprintf(temporary, sizeof(temporary), "%s/.bob.tmp", dir);
    snprintf(final, sizeof(final), "%s/bob", dir);
    assert_int_equal(zcert_save_public(admin, temporary), 0);
    zcert_destroy(&admin);
    assert_int_equal(rl_keys_refresh(keys), 0);
    assert_int_equal(rename(temporary, final), 0);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_int_equal(rl_keys_lookup(keys, zcert_public_txt(bob))->role,
                     RL_ROLE_ADMIN);
    assert_int_equal(rl_keys_generation(keys), 4);
    rl_keys_destroy(&keys);
    zcert_destroy(&bob);
    s_remove_tree(dir);
    free(dir);
}

static void a_key_added_a_moment_ago_is_found_by_a_fresh_lookup(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    char alice[41], bob[41], carol[41];
    s_public(dir, "alice", "producer", NULL, alice);
    /* Not in the map yet; a fresh lookup reloads once and finds it. */
    assert_null(rl_keys_lookup(keys, alice));
    assert_non_null(rl_keys_lookup_fresh(keys, alice, 1000));
    assert_int_equal(rl_keys_generation(keys), 2);
    /* Within RL_KEYS_RETRY_MS of that reload, a miss does not reload. */
    s_public(dir, "bob", "consumer", NULL, bob);
    assert_null(rl_keys_lookup_fresh(keys, bob, 1000 + RL_KEYS_RETRY_MS - 1));
    assert_int_equal(rl_keys_generation(keys), 2);
    assert_non_null(rl_keys_lookup_fresh(keys, bob, 1000 + RL_KEYS_RETRY_MS));
    /* A key found needs no reload; one nowhere costs one per period. */
    s_public(dir, "carol", "consumer", NULL, carol);
    assert_non_null(rl_keys_lookup_fresh(keys, alice, 5000));
    assert_int_equal(rl_keys_generation(keys), 3);
    assert_null(rl_keys_lookup_fresh(keys, "nobody", 5000));
    assert_non_null(rl_keys_lookup_fresh(keys, carol, 5000));
    assert_int_equal(rl_keys_generation(keys), 4);
    rl_keys_destroy(&keys);
    s_remove_tree(dir);
    free(dir);
}

static void an_unreadable_directory_keeps_the_map_and_says_why(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    char alice[41];
    s_public(dir, "alice", "producer", NULL, alice);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_string_equal(rl_keys_error(keys), "");
    char moved[512];
    snprintf(moved, sizeof(moved), "%s.moved", dir);
    assert_int_equal(rename(dir, moved), 0);
    assert_int_equal(rl_keys_refresh(keys), -1);
    assert_non_null(strstr(rl_keys_error(keys), dir));
    assert_non_null(strstr(rl_keys_error(keys), "No such file"));
    assert_non_null(rl_keys_lookup(keys, alice));
    assert_int_equal(rename(moved, dir), 0);
    assert_int_equal(rl_keys_refresh(keys), 0); /* the same as loaded */
    assert_string_equal(rl_keys_error(keys), "");
    rl_keys_destroy(&keys);

    keys = rl_keys_new("/nonexistent/raftlog-keys");
    assert_int_equal(rl_keys_refresh(keys), -1);
    assert_int_equal(rl_keys_count(keys), 0);
    assert_null(rl_keys_lookup(keys, alice));
    rl_keys_destroy(&keys);
    s_remove_tree(dir);
    free(dir);
}

static void s_set_mtime(const char *dir, const char *file, time_t seconds)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void a_node_with_two_keys_is_reached_with_the_newer_one(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    char old_key[41], new_key[41], node1[41];
    s_public(dir, "node1", "node", "1", node1);
    s_public(dir, "node2-new", "node", "2", new_key);
    s_public(dir, "node2-old", "node", "2", old_key);
    s_set_mtime(dir, "node2-old", 1000000);
    s_set_mtime(dir, "node2-new", 2000000);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    s_print_warnings(keys);
    assert_string_equal(rl_keys_node(keys, 2)->key, new_key);
    assert_string_equal(rl_keys_node(keys, 1)->key, node1);
    assert_null(rl_keys_node(keys, 3));
    assert_true(WARNED(keys, "node 2 has two keys", "node2-new, node2-old",
                       "newer file's, node2-new"));
    /* Both are node 2's while the rotation lasts. */
    assert_true(rl_keys_peer_allowed(keys, old_key, 2, NULL, 0));
    assert_true(rl_keys_peer_allowed(keys, new_key, 2, NULL, 0));
    /* The old one made newer: it is the one to connect with. */
    s_set_mtime(dir, "node2-old", 3000000);
    assert_int_equal(rl_keys_refresh(keys), 1);
    assert_string_equal(rl_keys_node(keys, 2)->key, old_key);
    rl_keys_destroy(&keys);
    s_remove_tree(dir);
    free(dir);
}

static void
a_peer_message_is_allowed_only_with_its_senders_node_key(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    char node1[41], alice[41], broker[41];
    s_public(dir, "node1", "node", "1", node1);
    s_public(dir, "alice", "admin", NULL, alice);
    s_public(dir, "broker", "broker", NULL, broker);
    rl_keys_t *keys = rl_keys_new(dir);
    assert_int_equal(rl_keys_refresh(keys), 1);
    char why[RL_KEYS_ERROR_SIZE];
    assert_true(rl_keys_peer_allowed(keys, node1, 1, why, sizeof(why)));
    assert_false(rl_keys_peer_allowed(keys, node1, 2, why, sizeof(why)));
    assert_non_null(strstr(why, "from node 2 came with the key of node 1"));
    assert_false(rl_keys_peer_allowed(keys, alice, 1, why, sizeof(why)));
    assert_non_null(strstr(why, "role is admin, not node"));
    assert_false(rl_keys_peer_allowed(keys, broker, 1, why, sizeof(why)));
    assert_false(rl_keys_peer_allowed(
        keys, "1111111111111111111111111111111111111111", 1, why, sizeof(why)));
    assert_non_null(strstr(why, "not in the keys directory"));
    assert_false(rl_keys_peer_allowed(keys, NULL, 1, why, sizeof(why)));
    assert_non_null(strstr(why, "without CURVE"));
    rl_keys_destroy(&keys);
    s_remove_tree(dir);
    free(dir);
}

/* ---- roles ---- */

static void role_names_parse_back_and_unknown_names_are_no_role(void **state)
{
    (void)state;
    for (int role = RL_ROLE_CONSUMER; role <= RL_ROLE_BROKER; role++)
        assert_int_equal(rl_role_parse(rl_role_name((rl_role_t)role)), role);
    assert_int_equal(rl_role_parse("Admin"), RL_ROLE_NONE);
    assert_int_equal(rl_role_parse(""), RL_ROLE_NONE);
    assert_int_equal(rl_role_parse("none"), RL_ROLE_NONE);
    assert_int_equal(rl_role_parse(NULL), RL_ROLE_NONE);
    assert_string_equal(rl_role_name((rl_role_t)99), "none");
}

static void roles_allow_what_the_design_table_says(void **state)
{
    (void)state;
    enum {
        READ,
        STATUS,
        LIST,
        APPEND,
        ADD,
        REMOVE,
        TRANSFER,
        COMMIT,
        C_LIST,
        C_SHOW,
        C_RESET,
        C_DELETE,
        COUNT
    };
    const int type[COUNT] = {
        RL_MSG_READ_REQUEST,      RL_MSG_STATUS_REQUEST,
        RL_MSG_MEMBERS_REQUEST,   RL_MSG_APPEND_REQUEST,
        RL_MSG_MEMBERS_REQUEST,   RL_MSG_MEMBERS_REQUEST,
        RL_MSG_TRANSFER_REQUEST,  RL_MSG_CONSUMER_COMMIT,
        RL_MSG_CONSUMERS_REQUEST, RL_MSG_CONSUMERS_REQUEST,
        RL_MSG_CONSUMERS_REQUEST, RL_MSG_CONSUMERS_REQUEST};
    const int op[COUNT] = {0,
                           0,
                           RL_MEMBERS_LIST,
                           0,
                           RL_MEMBERS_ADD,
                           RL_MEMBERS_REMOVE,
                           0,
                           0,
                           RL_CONSUMERS_LIST,
                           RL_CONSUMERS_SHOW,
                           RL_CONSUMERS_RESET,
                           RL_CONSUMERS_DELETE};
    /* Rows: none, consumer, producer, admin, node, broker. Columns as
       the enum: the roles table of docs/SECURITY.md. */
    const bool table[6][COUNT] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0},
        {1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0},
    };
    for (int role = RL_ROLE_NONE; role <= RL_ROLE_BROKER; role++)
        for (int r = 0; r < COUNT; r++) {
            if (rl_keys_role_allows((rl_role_t)role, type[r], op[r]) !=
                table[role][r])
                fail_msg("role %s, request %d (op %d): expected %d",
                         rl_role_name((rl_role_t)role), type[r], op[r],
                         table[role][r]);
        }
    /* A MEMBERS op this version does not know needs admin. */
    assert_false(
        rl_keys_role_allows(RL_ROLE_PRODUCER, RL_MSG_MEMBERS_REQUEST, 7));
    assert_true(rl_keys_role_allows(RL_ROLE_ADMIN, RL_MSG_MEMBERS_REQUEST, 7));
    /* So does a CONSUMERS op it does not know. */
    assert_false(
        rl_keys_role_allows(RL_ROLE_PRODUCER, RL_MSG_CONSUMERS_REQUEST, 9));
    assert_true(
        rl_keys_role_allows(RL_ROLE_ADMIN, RL_MSG_CONSUMERS_REQUEST, 9));
    /* Peer messages and replies are no client request. */
    assert_false(rl_keys_role_allows(RL_ROLE_ADMIN, RL_MSG_VOTE, 0));
    assert_false(rl_keys_role_allows(RL_ROLE_NODE, RL_MSG_APPEND, 0));
    assert_false(rl_keys_role_allows(RL_ROLE_ADMIN, RL_MSG_APPEND_OK, 0));
    assert_false(rl_keys_role_allows(RL_ROLE_ADMIN, 200, 0));
}

static void a_refusal_names_the_role_and_the_key_to_ask_for(void **state)
{
    (void)state;
    char out[RL_KEYS_ERROR_SIZE];
    rl_keys_forbidden(RL_ROLE_CONSUMER, RL_MSG_APPEND_REQUEST, 0, out,
                      sizeof(out));
    assert_string_equal(out, "your key (role consumer) may not APPEND; ask an "
                             "operator for a producer key");
    rl_keys_forbidden(RL_ROLE_PRODUCER, RL_MSG_MEMBERS_REQUEST, RL_MEMBERS_ADD,
                      out, sizeof(out));
    assert_string_equal(out, "your key (role producer) may not MEMBERS add; "
                             "ask an operator for an admin key");
    rl_keys_forbidden(RL_ROLE_PRODUCER, RL_MSG_TRANSFER_REQUEST, 0, out,
                      sizeof(out));
    assert_non_null(strstr(out, "may not TRANSFER; ask an operator for an "
                                "admin key"));
    rl_keys_forbidden(RL_ROLE_NODE, RL_MSG_READ_REQUEST, 0, out, sizeof(out));
    assert_non_null(strstr(out, "(role node) may not READ"));
    assert_non_null(strstr(out, "peer protocol only"));
    rl_keys_forbidden(RL_ROLE_BROKER, RL_MSG_APPEND_REQUEST, 0, out,
                      sizeof(out));
    assert_non_null(strstr(out, "as_role"));
    rl_keys_forbidden(RL_ROLE_ADMIN, RL_MSG_VOTE, 0, out, sizeof(out));
    assert_non_null(strstr(out, "not a client request"));
    rl_keys_forbidden(RL_ROLE_PRODUCER, RL_MSG_CONSUMERS_REQUEST,
                      RL_CONSUMERS_RESET, out, sizeof(out));
    assert_string_equal(out, "your key (role producer) may not CONSUMERS "
                             "reset; ask an operator for an admin key");
    rl_keys_forbidden(RL_ROLE_CONSUMER, RL_MSG_CONSUMERS_REQUEST,
                      RL_CONSUMERS_DELETE, out, sizeof(out));
    assert_non_null(strstr(out, "may not CONSUMERS delete; ask an operator "
                                "for an admin key"));
    /* Cut to the room given, NUL included. */
    rl_keys_forbidden(RL_ROLE_CONSUMER, RL_MSG_APPEND_REQUEST, 0, out, 10);
    assert_string_equal(out, "your key ");
}

/* ---- own certificates ---- */

static void
an_own_certificate_needs_its_secret_its_role_and_its_node_id(void **state)
{
    (void)state;
    char *dir = s_tempdir();
    zcert_t *node1 = s_cert(dir, "node1", "node", "1", true);
    zcert_t *front = s_cert(dir, "front", "consumer", NULL, true);
    char path[512], error[RL_KEYS_ERROR_SIZE];
    snprintf(path, sizeof(path), "%s/node1_secret", dir);

    zcert_t *own =
        rl_keys_load_own(path, RL_ROLE_NODE, 1, error, sizeof(error));
    assert_non_null(own);
    assert_string_equal(zcert_public_txt(own), zcert_public_txt(node1));
    assert_string_equal(zcert_secret_txt(own), zcert_secret_txt(node1));
    assert_string_equal(zcert_meta(own, "role"), "node");
    assert_string_equal(zcert_meta(own, "node-id"), "1");
    zcert_destroy(&own);

    assert_null(rl_keys_load_own(path, RL_ROLE_NODE, 2, error, sizeof(error)));
    assert_non_null(strstr(error, "is node 1's, and this is node 2"));
    assert_null(
        rl_keys_load_own(path, RL_ROLE_BROKER, 0, error, sizeof(error)));
    assert_non_null(strstr(error, "has role node"));
    assert_non_null(strstr(error, "--role broker"));

    /* The public file has no secret to prove who we are. */
    snprintf(path, sizeof(path), "%s/node1", dir);
    assert_null(rl_keys_load_own(path, RL_ROLE_NODE, 1, error, sizeof(error)));
    assert_non_null(strstr(error, "holds no secret key"));
    assert_non_null(strstr(error, "NAME_secret"));

    snprintf(path, sizeof(path), "%s/missing_secret", dir);
    assert_null(rl_keys_load_own(path, RL_ROLE_NODE, 1, error, sizeof(error)));
    assert_non_null(strstr(error, path));
    assert_non_null(strstr(error, "No such file"));

    s_write(dir, "junk", "public-key = \"too short\"\n");
    snprintf(path, sizeof(path), "%s/junk", dir);
    assert_null(rl_keys_load_own(path, RL_ROLE_NONE, 0, error, sizeof(error)));
    assert_non_null(strstr(error, "not a CURVE certificate"));

    /* A front door's certificate: any role. */
    snprintf(path, sizeof(path), "%s/front_secret", dir);
    own = rl_keys_load_own(path, RL_ROLE_NONE, 0, error, sizeof(error));
    assert_non_null(own);
    assert_string_equal(zcert_public_txt(own), zcert_public_txt(front));
    zcert_destroy(&own);

    /* The broker's --server-key: a public certificate. */
    char key[RL_KEY_TEXT_SIZE];
    snprintf(path, sizeof(path), "%s/front", dir);
    assert_int_equal(rl_keys_load_public(path, key, error, sizeof(error)), 0);
    assert_string_equal(key, zcert_public_txt(front));
    snprintf(path, sizeof(path), "%s/nothing", dir);
    assert_int_equal(rl_keys_load_public(path, key, error, sizeof(error)), -1);
    assert_non_null(strstr(error, "nothing"));

    zcert_destroy(&node1);
    zcert_destroy(&front);
    s_remove_tree(dir);
    free(dir);
}

/* ---- CURVE sockets behind the ZAP handler ---- */

/* A monitor on socket, reporting every event; and the next event it
   reports within a deadline (0 when none). Stopped with
   rl_conns_monitor_stop before its reader closes: an event sent to a
   closed reader blocks libzmq's I/O thread, and every later TCP handshake
   of the process with it (rl_conns.h). */
static zsock_t *s_monitor(zsock_t *socket, const char *name)
{
    assert_int_equal(
        zmq_socket_monitor(zsock_resolve(socket), name, ZMQ_EVENT_ALL), 0);
    zsock_t *monitor = zsock_new(ZMQ_PAIR);
    assert_non_null(monitor);
    assert_int_equal(zsock_connect(monitor, "%s", name), 0);
    return monitor;
}

/* Waits (up to 5 s, a deadline) for one of the events in mask; returns it,
   or 0 when none came. */
static unsigned s_wait_event(zsock_t *monitor, unsigned mask)
{
    int64_t deadline = zclock_mono() + 5000;
    while (zclock_mono() < deadline) {
        zmq_pollitem_t item = {zsock_resolve(monitor), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)(deadline - zclock_mono())) <= 0)
            continue;
        zmsg_t *msg = zmsg_recv(monitor);
        assert_non_null(msg);
        uint16_t event;
        memcpy(&event, zframe_data(zmsg_first(msg)), sizeof(event));
        zmsg_destroy(&msg);
        if (event & mask)
            return event;
    }
    return 0;
}

/* Receives one message on socket within 5 s (a deadline); NULL when none
   came. */
static zmsg_t *s_receive(zsock_t *socket, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve(socket), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    return zmsg_recv(socket);
}

/* A DEALER with the client certificate, connected to endpoint. */
static zsock_t *s_client(zcert_t *cert, const char *server_key,
                         const char *endpoint)
{
    zsock_t *client = zsock_new(ZMQ_DEALER);
    assert_non_null(client);
    zsock_set_linger(client, 0);
    rl_keys_set_client(client, cert, server_key);
    assert_int_equal(zsock_connect(client, "%s", endpoint), 0);
    return client;
}

static void
a_curve_server_behind_the_zap_handler_takes_listed_keys_only(void **state)
{
    (void)state;
    assert_true(rl_keys_curve_available());
    char *dir = s_tempdir();
    zcert_t *listed = s_cert(dir, "alice", "producer", NULL, false);
    zcert_t *unlisted = zcert_new();
    zcert_t *server = zcert_new();
    char error[RL_KEYS_ERROR_SIZE];

    assert_null(rl_keys_auth_new("/nonexistent/raftlog", error, sizeof(error)));
    assert_non_null(strstr(error, "/nonexistent/raftlog"));
    zactor_t *auth = rl_keys_auth_new(dir, error, sizeof(error));
    assert_non_null(auth);
    zactor_t *second = rl_keys_auth_new(dir, error, sizeof(error));
    assert_null(second);
    assert_non_null(strstr(error, "already running"));

    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(router, 0);
    rl_keys_set_server(router, server);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d", port);

    /* A listed key gets in, and its messages carry it as User-Id. */
    zsock_t *client = s_client(listed, zcert_public_txt(server), endpoint);
    assert_int_equal(zstr_send(client, "hello"), 0);
    zmsg_t *msg = s_receive(router, 5000);
    assert_non_null(msg);
    zframe_t *body = zmsg_last(msg);
    assert_non_null(rl_keys_frame_key(body));
    assert_string_equal(rl_keys_frame_key(body), zcert_public_txt(listed));
    /* The handler passes the certificate's metadata on, as of the
       handshake. */
    assert_string_equal(zframe_meta(body, "role"), "producer");
    assert_string_equal(zframe_meta(body, "name"), "alice");
    zmsg_destroy(&msg);

    /* An unlisted key is refused at the handshake: the client's monitor
       says so, and nothing reaches the server. */
    zsock_t *stranger = zsock_new(ZMQ_DEALER);
    zsock_set_linger(stranger, 0);
    rl_keys_set_client(stranger, unlisted, zcert_public_txt(server));
    zsock_t *monitor = s_monitor(stranger, "inproc://test-keys-stranger");
    assert_int_equal(zsock_connect(stranger, "%s", endpoint), 0);
    assert_int_equal(s_wait_event(monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    zstr_send(stranger, "let me in");
    assert_null(s_receive(router, 100));
    rl_conns_monitor_stop(stranger, &monitor);
    zsock_destroy(&stranger);

    /* The certificate removed: the handler refuses the next connection. */
    s_remove(dir, "alice");
    zsock_t *again = zsock_new(ZMQ_DEALER);
    zsock_set_linger(again, 0);
    rl_keys_set_client(again, listed, zcert_public_txt(server));
    monitor = s_monitor(again, "inproc://test-keys-again");
    assert_int_equal(zsock_connect(again, "%s", endpoint), 0);
    assert_int_equal(s_wait_event(monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    rl_conns_monitor_stop(again, &monitor);
    zsock_destroy(&again);

    /* A connection without CURVE has no key. */
    zsock_t *plain_server = zsock_new(ZMQ_ROUTER);
    zsock_t *plain_client = zsock_new(ZMQ_DEALER);
    assert_int_equal(zsock_bind(plain_server, "inproc://test-keys-plain"), 0);
    assert_int_equal(zsock_connect(plain_client, "inproc://test-keys-plain"),
                     0);
    zstr_send(plain_client, "plain");
    msg = s_receive(plain_server, 5000);
    assert_non_null(msg);
    assert_null(rl_keys_frame_key(zmsg_last(msg)));
    zmsg_destroy(&msg);
    zsock_destroy(&plain_client);
    zsock_destroy(&plain_server);

    zsock_destroy(&client);
    zsock_destroy(&router);
    rl_keys_auth_destroy(&auth);
    assert_null(auth);
    rl_keys_auth_destroy(&auth);
    /* Stopped, it may start again. */
    auth = rl_keys_auth_new(dir, error, sizeof(error));
    assert_non_null(auth);
    rl_keys_auth_destroy(&auth);
    zcert_destroy(&listed);
    zcert_destroy(&unlisted);
    zcert_destroy(&server);
    s_remove_tree(dir);
    free(dir);
}

/* What czmq's zauth could not do (why rl_keys has a ZAP handler of its
   own): two files with one key abort zauth's process; certificates
   without a role, or in a subdirectory, pass zauth and then fail every
   request. Here the first is a warning and the others are refused at the
   handshake, as the map says. */
static void the_zap_handler_survives_a_duplicate_and_refuses_a_key_without_role(
    void **state)
{
    (void)state;
    char *dir = s_tempdir();
    zcert_t *listed = s_cert(dir, "alice", "producer", NULL, false);
    char path[512];
    snprintf(path, sizeof(path), "%s/alice.bak", dir);
    assert_int_equal(zcert_save_public(listed, path), 0);
    zcert_t *roleless = s_cert(dir, "nobody", NULL, NULL, false);
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    zcert_t *nested = s_cert(path, "deep", "admin", NULL, false);
    zcert_t *server = zcert_new();
    char error[RL_KEYS_ERROR_SIZE];
    zactor_t *auth = rl_keys_auth_new(dir, error, sizeof(error));
    assert_non_null(auth);
    uint64_t refused = rl_keys_auth_refused();

    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(router, 0);
    rl_keys_set_server(router, server);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d", port);

    zsock_t *client = s_client(listed, zcert_public_txt(server), endpoint);
    assert_int_equal(zstr_send(client, "hello"), 0);
    zmsg_t *msg = s_receive(router, 5000);
    assert_non_null(msg);
    assert_string_equal(rl_keys_frame_key(zmsg_last(msg)),
                        zcert_public_txt(listed));
    zmsg_destroy(&msg);

    zcert_t *refused_certs[] = {roleless, nested};
    for (size_t i = 0; i < 2; i++) {
        zsock_t *other = zsock_new(ZMQ_DEALER);
        zsock_set_linger(other, 0);
        rl_keys_set_client(other, refused_certs[i], zcert_public_txt(server));
        char name[64];
        snprintf(name, sizeof(name), "inproc://test-keys-refused-%zu", i);
        zsock_t *monitor = s_monitor(other, name);
        assert_int_equal(zsock_connect(other, "%s", endpoint), 0);
        assert_int_equal(
            s_wait_event(monitor, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                      ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
        rl_conns_monitor_stop(other, &monitor);
        zsock_destroy(&other);
    }
    assert_true(rl_keys_auth_refused() >= refused + 2);

    zsock_destroy(&client);
    zsock_destroy(&router);
    rl_keys_auth_destroy(&auth);
    zcert_destroy(&listed);
    zcert_destroy(&roleless);
    zcert_destroy(&nested);
    zcert_destroy(&server);
    s_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_directory_maps_each_key_to_its_role_node_id_and_name),
        cmocka_unit_test(
            secret_files_hidden_files_and_subdirectories_are_not_read),
        cmocka_unit_test(
            a_certificate_without_a_valid_role_is_skipped_with_a_warning),
        cmocka_unit_test(
            a_public_file_holding_a_secret_key_is_used_and_warned_about),
        cmocka_unit_test(two_files_with_one_key_keep_the_first_and_warn),
        cmocka_unit_test(the_map_is_reloaded_only_when_the_directory_changed),
        cmocka_unit_test(a_key_added_a_moment_ago_is_found_by_a_fresh_lookup),
        cmocka_unit_test(an_unreadable_directory_keeps_the_map_and_says_why),
        cmocka_unit_test(a_node_with_two_keys_is_reached_with_the_newer_one),
        cmocka_unit_test(
            a_peer_message_is_allowed_only_with_its_senders_node_key),
        cmocka_unit_test(role_names_parse_back_and_unknown_names_are_no_role),
        cmocka_unit_test(roles_allow_what_the_design_table_says),
        cmocka_unit_test(a_refusal_names_the_role_and_the_key_to_ask_for),
        cmocka_unit_test(
            an_own_certificate_needs_its_secret_its_role_and_its_node_id),
        cmocka_unit_test(
            a_curve_server_behind_the_zap_handler_takes_listed_keys_only),
        cmocka_unit_test(
            the_zap_handler_survives_a_duplicate_and_refuses_a_key_without_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
