/*  alloc_meter.c - the heap meter of alloc_meter.h, on the sanitizer
    allocator's hooks. */
#include "alloc_meter.h"

#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define RL_ALLOC_METER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RL_ALLOC_METER_ASAN 1
#endif
#endif

#ifdef RL_ALLOC_METER_ASAN
/* From <sanitizer/allocator_interface.h>, which gcc does not ship; both
   runtimes provide the functions. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));
int __sanitizer_get_ownership(const volatile void *p);
size_t __sanitizer_get_allocated_size(const volatile void *p);

/* Per thread, so that another thread's allocations (libFuzzer's, say) do
   not count. */
static _Thread_local bool s_counting;
static _Thread_local int64_t s_live; /* bytes allocated minus freed */
static _Thread_local int64_t s_peak; /* highest s_live */
static bool s_installed;

static void s_on_malloc(const volatile void *ptr, size_t size)
{
    (void)ptr;
    if (!s_counting)
        return;
    s_live += (int64_t)size;
    if (s_live > s_peak)
        s_peak = s_live;
}

/* Runs before the block is released, while its size can still be read. */
static void s_on_free(const volatile void *ptr)
{
    if (!s_counting || !ptr || !__sanitizer_get_ownership(ptr))
        return;
    s_live -= (int64_t)__sanitizer_get_allocated_size(ptr);
}

bool rl_alloc_meter_works(void)
{
    return true;
}

void rl_alloc_meter_start(void)
{
    if (!s_installed) {
        __sanitizer_install_malloc_and_free_hooks(s_on_malloc, s_on_free);
        s_installed = true;
    }
    s_live = 0;
    s_peak = 0;
    s_counting = true;
}

size_t rl_alloc_meter_stop(void)
{
    s_counting = false;
    return (size_t)s_peak;
}
#else
bool rl_alloc_meter_works(void)
{
    return false;
}

void rl_alloc_meter_start(void)
{
}

size_t rl_alloc_meter_stop(void)
{
    return 0;
}
#endif
