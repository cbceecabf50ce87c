/* clock.h — the one source of time. Tests and replay inject a fixed or moving clock;
 * nothing else calls time() or clock_gettime() for business time. */
#ifndef TESSERA_BASE_CLOCK_H
#define TESSERA_BASE_CLOCK_H

#include <stdint.h>

int64_t clock_now_s(void);         /* business time, Unix seconds (injectable) */
uint64_t clock_monotonic_ns(void); /* for latency measurement only */
/* Fixes business time at now_s (tests); 0 returns to the real clock. Also read from the
 * environment variable TESSERA_FAKE_NOW at the first call. */
void clock_set_fake(int64_t now_s);

#endif
