/*
 * exec_loop.c - N fork+execve of one program, each waited for, for bench/guard.sh: the exec
 * latency a guard adds. Before timing, one exec must succeed (the known answer: a guard that
 * denies the program makes no figure). Prints "N execs S s US us/exec" and exits 1 when any
 * exec failed.
 *   sgs_exec_loop N PROGRAM
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* 0 when PROGRAM ran and exited 0 */
static int
exec_once(char *program)
{
    const pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char *const argv[] = {program, NULL};
        execve(program, argv, environ);
        _exit(errno == EPERM || errno == EACCES ? 126 : 127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    char *end = NULL;
    const unsigned long n = argc == 3 ? strtoul(argv[1], &end, 10) : 0;
    if (argc != 3 || n == 0 || *end != '\0') {
        fprintf(stderr, "usage: sgs_exec_loop N PROGRAM\n");
        return 2;
    }
    if (exec_once(argv[2]) != 0) {
        fprintf(stderr, "sgs_exec_loop: %s does not run: no figure\n", argv[2]);
        return 1;
    }
    struct timespec t0, t1;
    unsigned long failed = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < n; i++)
        failed += exec_once(argv[2]) != 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%lu execs %.3f s %.1f us/exec\n", n, s, s * 1e6 / (double)n);
    if (failed > 0)
        fprintf(stderr, "sgs_exec_loop: %lu of %lu execs failed\n", failed, n);
    return failed > 0;
}
