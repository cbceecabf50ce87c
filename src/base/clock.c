/* clock.c — real and injected clocks. The fake clock is process-wide and atomic. */
#include "base/clock.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/assert.h"

static _Atomic int64_t clock_fake_s = -1; /* -1: not yet read from the environment */

void clock_set_fake(int64_t now_s) {
    verify(now_s >= 0);
    atomic_store(&clock_fake_s, now_s);
}

int64_t clock_now_s(void) {
    int64_t fake = atomic_load(&clock_fake_s);
    if (fake < 0) {
        const char *env = getenv("TESSERA_FAKE_NOW");
        fake = 0;
        if (env != 0) {
            char *end = 0;
            long long value = strtoll(env, &end, 10);
            if (end != env && *end == 0 && value > 0) fake = value;
        }
        atomic_store(&clock_fake_s, fake);
    }
    if (fake > 0) return fake;
    struct timespec ts;
    verify(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    return (int64_t)ts.tv_sec;
}

uint64_t clock_monotonic_ns(void) {
    struct timespec ts;
    verify(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
