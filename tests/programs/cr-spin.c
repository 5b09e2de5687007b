/* SPDX-License-Identifier: MIT */
/*
 * cr-spin: burn CPU, for CPU-time limits and CPU accounting.
 *
 *   cr-spin [-j THREADS] [--child] [--wall] [--pidfile FILE] SECONDS
 *
 * Each of THREADS threads (default 1) spins until it has used SECONDS of CPU
 * time itself (so a loaded machine or a slow VM stretches the wall time, not the
 * work), or with --wall until SECONDS of wall time have passed. --child does the
 * spinning in a forked child while the parent only waits: CPU burned by a
 * descendant, not by the process corral started. The parent passes on the
 * child's exit code, or re-raises the signal it died of. --pidfile writes
 * "PID top" and, with --child, "PID child" lines once the spinning starts.
 *
 * Exit: 0 when done; 2 on bad arguments.
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "common.h"

static const char usage[] = "[-j THREADS] [--child] [--wall] [--pidfile FILE] SECONDS";

static double seconds;
static bool by_wall;

static int write_pidfile(const char *path, pid_t child)
{
        char tmp[4096];
        FILE *f;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
                return -1;
        f = fopen(tmp, "we");
        if (!f)
                return -1;
        fprintf(f, "%ld top\n", (long)getpid());
        if (child > 0)
                fprintf(f, "%ld child\n", (long)child);
        if (fclose(f) != 0 || rename(tmp, path) < 0)
                return -1;
        return 0;
}

static void *spin(void *arg)
{
        volatile uint64_t x = 0;
        clockid_t clock = by_wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
        double end = now_s(clock) + seconds;

        (void)arg;
        for (;;) {
                for (int i = 0; i < 200000; i++)
                        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                if (now_s(clock) >= end)
                        break;
        }
        return NULL;
}

static int run_threads(uint64_t n)
{
        pthread_t *t = calloc(n, sizeof(*t));
        uint64_t started = 0;

        if (!t) {
                say("out of memory");
                return 3;
        }
        /* Thread 0 is the caller itself; the others are extra. */
        for (uint64_t i = 1; i < n; i++) {
                int r = pthread_create(&t[i], NULL, spin, NULL);
                if (r != 0) {
                        say("pthread_create: %s", strerror(r));
                        break;
                }
                started++;
        }
        spin(NULL);
        for (uint64_t i = 1; i <= started; i++)
                pthread_join(t[i], NULL);
        free(t);
        say("spun %g s (%s) in %llu threads", seconds, by_wall ? "wall" : "CPU",
            (unsigned long long)started + 1);
        return 0;
}

int main(int argc, char **argv)
{
        uint64_t threads = 1;
        bool child = false;
        const char *pidfile = NULL;
        int i;

        prog_init(argc, argv);
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--threads") == 0) {
                        if (i + 1 >= argc || parse_u64(argv[++i], 1024, &threads) < 0 || threads == 0)
                                usage_exit(usage);
                } else if (strcmp(argv[i], "--child") == 0) {
                        child = true;
                } else if (strcmp(argv[i], "--wall") == 0) {
                        by_wall = true;
                } else if (strcmp(argv[i], "--pidfile") == 0) {
                        if (i + 1 >= argc)
                                usage_exit(usage);
                        pidfile = argv[++i];
                } else if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                } else {
                        usage_exit(usage);
                }
        }
        if (argc - i != 1 || parse_seconds(argv[i], &seconds) < 0)
                usage_exit(usage);

        if (!child) {
                if (pidfile && write_pidfile(pidfile, 0) < 0)
                        say("cannot write %s: %s", pidfile, strerror(errno));
                return run_threads(threads);
        }

        pid_t pid = fork();
        if (pid < 0) {
                say("fork: %s", strerror(errno));
                return 3;
        }
        if (pid == 0)
                _exit(run_threads(threads));
        if (pidfile && write_pidfile(pidfile, pid) < 0)
                say("cannot write %s: %s", pidfile, strerror(errno));

        int status;
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        say("waitpid: %s", strerror(errno));
                        return 3;
                }
        }
        if (WIFSIGNALED(status)) {
                say("the spinning child died of signal %d; passing it on", WTERMSIG(status));
                return reraise(WTERMSIG(status));
        }
        return WEXITSTATUS(status);
}
