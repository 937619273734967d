/*  rl_keys_roles.c - the roles table of docs/SECURITY.md: role names,
    which role may make which client request, and the FORBIDDEN message
    that says which key to ask for. Pure functions; see rl_keys.h.
*/
#include "rl_keys.h"

#include "rl_msg.h"

#include <stdio.h>
#include <string.h>

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
