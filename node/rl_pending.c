/*  rl_pending.c - the table of waiting client requests; see rl_pending.h.

    Three indexed binary min-heaps over the same records (by index, by
    deadline, and by time for the READs waiting for an entry stamped at
    or after one): each record knows its slot in each, so that a record
    taken out through one order leaves the others in O(log n) too; and
    doubly linked lists per kind and per owner.
*/
#include "rl_pending.h"

#include <stdlib.h>

enum { S_BY_INDEX = 0, S_BY_DEADLINE = 1, S_BY_TIME = 2, S_HEAPS = 3 };

typedef struct {
    rl_pending_t **items; /* the heap, items[0] smallest */
    size_t count;         /* records in it */
    size_t cap;           /* slots allocated */
} s_heap_t;

struct rl_pending_table {
    s_heap_t heaps[S_HEAPS];               /* by index, deadline, time */
    rl_pending_t *kinds[RL_PENDING_KINDS]; /* each kind's list, newest first */
    size_t kind_count[RL_PENDING_KINDS];   /* records of each kind */
    void *user;                            /* rl_pending_table_set_user */
};

/* What a record waits for in heap which. Transfers wait for no index and
   are not in the index heap; a READ from a time that no entry is stamped
   at or after yet (read.from 0) waits in the time heap instead. */
static uint64_t s_key(const rl_pending_t *p, int which)
{
    if (which == S_BY_DEADLINE)
        return (uint64_t)p->deadline;
    if (which == S_BY_TIME)
        return p->read.from_time;
    return p->kind == RL_PENDING_READ ? p->read.from : p->index;
}

static bool s_in_time_heap(const rl_pending_t *p)
{
    return p->kind == RL_PENDING_READ && p->read.from == 0 &&
           p->read.from_time != 0;
}

static bool s_in_index_heap(const rl_pending_t *p)
{
    return p->kind != RL_PENDING_TRANSFER && !s_in_time_heap(p);
}

static void s_place(s_heap_t *heap, int which, size_t slot, rl_pending_t *p)
{
    heap->items[slot] = p;
    p->slot[which] = slot;
}

static void s_sift_up(s_heap_t *heap, int which, size_t slot)
{
    rl_pending_t *p = heap->items[slot];
    uint64_t key = s_key(p, which);
    while (slot > 0) {
        size_t parent = (slot - 1) / 2;
        if (s_key(heap->items[parent], which) <= key)
            break;
        s_place(heap, which, slot, heap->items[parent]);
        slot = parent;
    }
    s_place(heap, which, slot, p);
}

static void s_sift_down(s_heap_t *heap, int which, size_t slot)
{
    rl_pending_t *p = heap->items[slot];
    uint64_t key = s_key(p, which);
    for (;;) {
        size_t child = 2 * slot + 1;
        if (child >= heap->count)
            break;
        if (child + 1 < heap->count && s_key(heap->items[child + 1], which) <
                                           s_key(heap->items[child], which))
            child++;
        if (s_key(heap->items[child], which) >= key)
            break;
        s_place(heap, which, slot, heap->items[child]);
        slot = child;
    }
    s_place(heap, which, slot, p);
}

static int s_push(s_heap_t *heap, int which, rl_pending_t *p)
{
    if (heap->count == heap->cap) {
        size_t cap = heap->cap ? 2 * heap->cap : 64;
        rl_pending_t **grown = realloc(heap->items, cap * sizeof(*grown));
        if (!grown)
            return -1;
        heap->items = grown;
        heap->cap = cap;
    }
    s_place(heap, which, heap->count++, p);
    s_sift_up(heap, which, heap->count - 1);
    return 0;
}

static void s_remove(s_heap_t *heap, int which, rl_pending_t *p)
{
    size_t slot = p->slot[which];
    if (slot == SIZE_MAX)
        return;
    p->slot[which] = SIZE_MAX;
    rl_pending_t *last = heap->items[--heap->count];
    if (slot == heap->count)
        return;
    s_place(heap, which, slot, last);
    /* The moved record may belong above or below its new slot. */
    s_sift_up(heap, which, slot);
    s_sift_down(heap, which, last->slot[which]);
}

/* Takes p out of every order. */
static rl_pending_t *s_take(rl_pending_table_t *self, rl_pending_t *p)
{
    for (int which = 0; which < S_HEAPS; which++)
        s_remove(&self->heaps[which], which, p);
    rl_pending_t *prev = p->kind_prev, *next = p->kind_next;
    if (prev)
        prev->kind_next = next;
    else
        self->kinds[p->kind] = next;
    if (next)
        next->kind_prev = prev;
    p->kind_prev = p->kind_next = NULL;
    self->kind_count[p->kind]--;
    if (p->owner) {
        if (p->owner_prev)
            p->owner_prev->owner_next = p->owner_next;
        else
            p->owner->head = p->owner_next;
        if (p->owner_next)
            p->owner_next->owner_prev = p->owner_prev;
        p->owner_prev = p->owner_next = NULL;
        p->owner->count--;
    }
    p->table = NULL;
    return p;
}

rl_pending_table_t *rl_pending_table_new(void)
{
    return calloc(1, sizeof(rl_pending_table_t));
}

void rl_pending_table_destroy(rl_pending_table_t **self_p)
{
    rl_pending_table_t *self = *self_p;
    if (!self)
        return;
    rl_pending_t *p;
    while ((p = rl_pending_take_any(self)))
        rl_pending_free(&p);
    for (int which = 0; which < S_HEAPS; which++)
        free(self->heaps[which].items);
    free(self);
    *self_p = NULL;
}

rl_pending_t *rl_pending_new(zmsg_t **envelope, uint64_t id, int kind,
                             int64_t deadline)
{
    rl_pending_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->envelope = *envelope;
    *envelope = NULL;
    p->id = id;
    p->kind = kind;
    p->deadline = deadline;
    for (int which = 0; which < S_HEAPS; which++)
        p->slot[which] = SIZE_MAX;
    return p;
}

int rl_pending_put(rl_pending_table_t *self, rl_pending_t *p)
{
    if (s_push(&self->heaps[S_BY_DEADLINE], S_BY_DEADLINE, p) != 0)
        return -1;
    int which = s_in_time_heap(p) ? S_BY_TIME : S_BY_INDEX;
    if ((which == S_BY_TIME || s_in_index_heap(p)) &&
        s_push(&self->heaps[which], which, p) != 0) {
        s_remove(&self->heaps[S_BY_DEADLINE], S_BY_DEADLINE, p);
        return -1;
    }
    p->kind_prev = NULL;
    p->kind_next = self->kinds[p->kind];
    if (p->kind_next)
        p->kind_next->kind_prev = p;
    self->kinds[p->kind] = p;
    self->kind_count[p->kind]++;
    if (p->owner) {
        p->owner_prev = NULL;
        p->owner_next = p->owner->head;
        if (p->owner_next)
            p->owner_next->owner_prev = p;
        p->owner->head = p;
        p->owner->count++;
    }
    p->table = self;
    return 0;
}

rl_pending_t *rl_pending_take_committed(rl_pending_table_t *self,
                                        uint64_t commit)
{
    s_heap_t *heap = &self->heaps[S_BY_INDEX];
    if (heap->count == 0 || s_key(heap->items[0], S_BY_INDEX) > commit)
        return NULL;
    return s_take(self, heap->items[0]);
}

rl_pending_t *rl_pending_take_stamped(rl_pending_table_t *self, uint64_t time)
{
    s_heap_t *heap = &self->heaps[S_BY_TIME];
    if (heap->count == 0 || s_key(heap->items[0], S_BY_TIME) > time)
        return NULL;
    return s_take(self, heap->items[0]);
}

rl_pending_t *rl_pending_take_expired(rl_pending_table_t *self, int64_t now)
{
    s_heap_t *heap = &self->heaps[S_BY_DEADLINE];
    if (heap->count == 0 || heap->items[0]->deadline > now)
        return NULL;
    return s_take(self, heap->items[0]);
}

rl_pending_t *rl_pending_take_kind(rl_pending_table_t *self, int kind)
{
    return self->kinds[kind] ? s_take(self, self->kinds[kind]) : NULL;
}

rl_pending_t *rl_pending_take_owned(rl_front_held_t *owner)
{
    rl_pending_t *p = owner->head;
    return p ? s_take(p->table, p) : NULL;
}

void rl_pending_table_set_user(rl_pending_table_t *self, void *user)
{
    self->user = user;
}

void *rl_pending_user_of(const rl_pending_t *p)
{
    return p->table ? p->table->user : NULL;
}

rl_pending_t *rl_pending_take_any(rl_pending_table_t *self)
{
    s_heap_t *heap = &self->heaps[S_BY_DEADLINE];
    return heap->count ? s_take(self, heap->items[0]) : NULL;
}

void rl_pending_free(rl_pending_t **p_p)
{
    rl_pending_t *p = *p_p;
    if (!p)
        return;
    zmsg_destroy(&p->envelope);
    free(p);
    *p_p = NULL;
}

size_t rl_pending_count(const rl_pending_table_t *self)
{
    return self->heaps[S_BY_DEADLINE].count;
}

size_t rl_pending_count_kind(const rl_pending_table_t *self, int kind)
{
    return self->kind_count[kind];
}

uint64_t rl_pending_next_index(const rl_pending_table_t *self)
{
    const s_heap_t *heap = &self->heaps[S_BY_INDEX];
    return heap->count ? s_key(heap->items[0], S_BY_INDEX) : UINT64_MAX;
}
