/* sgs_fan_floor MOUNT - bench/guard.sh's floor: the least any fanotify exec guard can add to an
   exec. Marks MOUNT (a mount mark) for FAN_OPEN_EXEC_PERM, prints "watching" on stderr once the
   mark is in place, then answers FAN_ALLOW to every event without looking at it: one event read,
   one response, one close per exec. What is left over "no guard" is the kernel's permission round
   trip and the two wakeups of this machine, the cost every guard pays before doing any work of
   its own. Root only; runs until killed (the kernel allows what is pending when it dies). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sgs_fan_floor MOUNT\n");
        return 2;
    }
    const int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM, AT_FDCWD,
                                 argv[1]) != 0) {
        fprintf(stderr, "sgs_fan_floor: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    fprintf(stderr, "sgs_fan_floor: watching %s\n", argv[1]);
    char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
    for (;;) {
        const ssize_t len = read(fan, buf, sizeof(buf));
        if (len < 0 && errno == EINTR)
            continue;
        if (len <= 0) {
            fprintf(stderr, "sgs_fan_floor: read: %s\n", len < 0 ? strerror(errno) : "end");
            return 1;
        }
        const struct fanotify_event_metadata *m = (const void *)buf;
        for (ssize_t left = len; FAN_EVENT_OK(m, left); m = FAN_EVENT_NEXT(m, left)) {
            if (m->fd < 0)
                continue;
            const struct fanotify_response r = {.fd = m->fd, .response = FAN_ALLOW};
            while (write(fan, &r, sizeof(r)) < 0 && errno == EINTR) {
            }
            close(m->fd);
        }
    }
}
