/*  rl_shared_options.c - the setters of the option rows both daemons
    take alike; see rl_shared_options.h. */
#include "rl_shared_options.h"

#include <string.h>

#include "rl_http.h"
#include "rl_msg.h" /* RL_MAX_MESSAGE_SIZE */

/* The limits a daemon takes on any connection's bytes: the protocol's
   bound on a message, and room for at least one in a client's queue. */
#define S_MIN_MESSAGE (64u << 10)
#define S_MIN_QUEUE   (64u << 10)
/* Connections a daemon can be asked to take at once; the descriptor
   limit lowers it in practice (rl_front_fit_clients). */
#define S_MAX_CLIENTS 10000000

int rl_shared_set_max_message(uint32_t *field, const char *value, char *err)
{
    return rl_options_u32("maximum message size", value, S_MIN_MESSAGE,
                          RL_MAX_MESSAGE_SIZE, true, field, err);
}

int rl_shared_set_max_clients(uint32_t *field, const char *value, char *err)
{
    return rl_options_u32("maximum clients (--max-clients)", value, 1,
                          S_MAX_CLIENTS, false, field, err);
}

int rl_shared_set_max_client_queue(uint64_t *field, const char *value,
                                   char *err)
{
    return rl_options_u64("maximum client queue", value, S_MIN_QUEUE,
                          UINT64_MAX, true, field, err);
}

int rl_shared_set_max_queue(uint64_t *field, const char *value, char *err)
{
    return rl_options_u64("maximum queue", value, S_MIN_QUEUE, UINT64_MAX, true,
                          field, err);
}

int rl_shared_set_max_read_wait(uint32_t *field, const char *value, char *err)
{
    return rl_options_u32("maximum read wait", value, 0, UINT32_MAX, false,
                          field, err);
}

/* --metrics-endpoint HOST:PORT; "off" (or empty) turns it off. */
int rl_shared_set_metrics_endpoint(char (*field)[RL_METRICS_ENDPOINT_SIZE],
                                   const char *value, char *err)
{
    char *endpoint = *field;
    char why[256];
    if (!value[0] || strcmp(value, "off") == 0)
        endpoint[0] = '\0';
    else if (rl_http_check_listen(value, why) != 0)
        return rl_options_fail(err, "metrics endpoint: %s", why);
    else if (strlen(value) >= RL_METRICS_ENDPOINT_SIZE)
        return rl_options_fail(err, "metrics endpoint: '%.40s...' is too long",
                               value);
    else
        memcpy(endpoint, value, strlen(value) + 1);
    return 0;
}

int rl_shared_set_max_metrics_connections(uint32_t *field, const char *value,
                                          char *err)
{
    return rl_options_u32("maximum metrics connections", value, 1, 1024, false,
                          field, err);
}

int rl_shared_set_log_level(int *field, const char *value, char *err)
{
    return rl_options_log_level(value, field, err);
}

int rl_shared_set_insecure(bool *field, const char *value, char *err)
{
    /* The flag gives "true"; the file may say on, off, true or false. */
    if (strcmp(value, "true") == 0)
        value = "on";
    else if (strcmp(value, "false") == 0)
        value = "off";
    return rl_options_on_off("insecure", value, field, err);
}
