/* offload.c — fixed pool of worker threads over a bounded ring of jobs. */
#include "http/offload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/assert.h"
#include "base/mem.h"

#define OFFLOAD_MAX_THREADS 8
#define OFFLOAD_QUEUE 256

struct offload_job {
    offload_fn fn;
    void *context;
};

struct offload {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct offload_job jobs[OFFLOAD_QUEUE];
    unsigned head, count;
    bool stopping;
    int threads;
    pthread_t thread[OFFLOAD_MAX_THREADS];
};

static void *offload_main(void *arg) {
    struct offload *offload = arg;
    for (;;) {
        verify(pthread_mutex_lock(&offload->lock) == 0);
        while (offload->count == 0 && !offload->stopping) {
            verify(pthread_cond_wait(&offload->wake, &offload->lock) == 0);
        }
        if (offload->count == 0) {
            verify(pthread_mutex_unlock(&offload->lock) == 0);
            return 0;
        }
        struct offload_job job = offload->jobs[offload->head];
        offload->head = (offload->head + 1) % OFFLOAD_QUEUE;
        offload->count--;
        verify(pthread_mutex_unlock(&offload->lock) == 0);
        job.fn(job.context);
    }
}

enum status offload_start(int threads, struct offload **out) {
    verify(threads > 0 && threads <= OFFLOAD_MAX_THREADS && out != 0);
    struct offload *offload = mem_calloc(1, sizeof *offload);
    verify(pthread_mutex_init(&offload->lock, 0) == 0);
    verify(pthread_cond_init(&offload->wake, 0) == 0);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&offload->thread[i], 0, offload_main, offload) != 0) {
            offload->threads = i;
            offload_stop(offload);
            return STATUS_NOMEM;
        }
    }
    offload->threads = threads;
    *out = offload;
    return STATUS_OK;
}

enum status offload_submit(struct offload *offload, offload_fn fn, void *context) {
    verify(offload != 0 && fn != 0);
    enum status status = STATUS_OK;
    verify(pthread_mutex_lock(&offload->lock) == 0);
    if (offload->stopping || offload->count == OFFLOAD_QUEUE) {
        status = STATUS_BUSY;
    } else {
        offload->jobs[(offload->head + offload->count) % OFFLOAD_QUEUE] =
            (struct offload_job){fn, context};
        offload->count++;
        verify(pthread_cond_signal(&offload->wake) == 0);
    }
    verify(pthread_mutex_unlock(&offload->lock) == 0);
    return status;
}

void offload_stop(struct offload *offload) {
    verify(offload != 0);
    verify(pthread_mutex_lock(&offload->lock) == 0);
    offload->stopping = true;
    verify(pthread_cond_broadcast(&offload->wake) == 0);
    verify(pthread_mutex_unlock(&offload->lock) == 0);
    for (int i = 0; i < offload->threads; i++)
        verify(pthread_join(offload->thread[i], 0) == 0);
    pthread_cond_destroy(&offload->wake);
    pthread_mutex_destroy(&offload->lock);
    free(offload);
}
