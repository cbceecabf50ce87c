/* offload.h — a small pool of threads for slow, CPU-bound request work (Argon2id password
 * hashing and checks), so the HTTP threads never block on it. */
#ifndef TESSERA_HTTP_OFFLOAD_H
#define TESSERA_HTTP_OFFLOAD_H

#include "base/status.h"

struct offload;
typedef void (*offload_fn)(void *context);

must_check enum status offload_start(int threads, struct offload **out);
/* Runs fn(context) on a pool thread. STATUS_BUSY when the queue is full or stopping. */
must_check enum status offload_submit(struct offload *offload, offload_fn fn, void *context);
/* Finishes queued jobs, joins the threads, frees. */
void offload_stop(struct offload *offload);

#endif
