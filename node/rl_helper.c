/*  rl_helper.c - a helper thread with one job; see rl_helper.h. */
#include "rl_helper.h"

#include <assert.h>
#include <string.h>

struct rl_helper {
    zactor_t *actor;       /* the thread and its pipe */
    rl_helper_run_fn *run; /* what it runs (read by the thread) */
    bool busy;             /* a job is in hand */
};

/* The thread: runs each job it is handed (a pointer), one at a time, and
   answers with its result, until $TERM. */
static void s_thread(zsock_t *pipe, void *args)
{
    rl_helper_run_fn *run = *(rl_helper_run_fn **)args;
    zsock_signal(pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        zframe_t *first = zmsg_first(msg);
        bool term = zframe_streq(first, "$TERM");
        void *job = NULL;
        if (!term && zframe_size(first) == sizeof(job))
            memcpy(&job, zframe_data(first), sizeof(job));
        zmsg_destroy(&msg);
        if (term)
            break;
        if (job)
            zsock_send(pipe, "i", run(job));
    }
}

rl_helper_t *rl_helper_new(rl_helper_run_fn *run)
{
    rl_helper_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->run = run;
    self->actor = zactor_new(s_thread, &self->run);
    if (!self->actor) {
        free(self);
        return NULL;
    }
    return self;
}

void rl_helper_destroy(rl_helper_t **self_p)
{
    rl_helper_t *self = *self_p;
    if (!self)
        return;
    if (self->busy)
        rl_helper_result(self);
    zactor_destroy(&self->actor);
    free(self);
    *self_p = NULL;
}

zsock_t *rl_helper_socket(rl_helper_t *self)
{
    return (zsock_t *)self->actor;
}

void rl_helper_start(rl_helper_t *self, void *job)
{
    assert(!self->busy);
    self->busy = true;
    zsock_send(self->actor, "p", job);
}

bool rl_helper_busy(const rl_helper_t *self)
{
    return self->busy;
}

int rl_helper_result(rl_helper_t *self)
{
    assert(self->busy);
    int rc = -1;
    zsock_recv(self->actor, "i", &rc);
    self->busy = false;
    return rc;
}
