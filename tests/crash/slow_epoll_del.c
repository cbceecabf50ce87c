/* slow_epoll_del.c — an LD_PRELOAD shim for test_shutdown.py: every EPOLL_CTL_DEL made by
 * the process's main thread waits 50 ms before it runs, so that a libmicrohttpd worker
 * woken meanwhile meets the half-done state of whatever the main thread is changing.
 *
 * It widens the window in which MHD_quiesce_daemon (main thread, during shutdown) and a
 * worker both remove the listening socket from the worker's epoll set; the loser's
 * epoll_ctl fails and libmicrohttpd 0.9.75 aborts ("Failed to remove listen FD from epoll
 * set"). Tessera no longer quiesces; the test proves the stop survives the widened window.
 *
 * Built without sanitizers (it is loaded ahead of the ASan runtime). On load it writes
 * "loaded" to $TESSERA_SHIM_MARK, so the test knows the shim really ran. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { SHIM_DELAY_NS = 50000000 };

__attribute__((constructor)) static void shim_mark(void) {
    const char *path = getenv("TESSERA_SHIM_MARK");
    if (path == 0) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return;
    ssize_t written = write(fd, "loaded", 6);
    (void)written;
    close(fd);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) {
    if (op == EPOLL_CTL_DEL && syscall(SYS_gettid) == getpid()) {
        struct timespec pause = {0, SHIM_DELAY_NS};
        nanosleep(&pause, 0);
    }
    return (int)syscall(SYS_epoll_ctl, epfd, op, fd, event);
}
