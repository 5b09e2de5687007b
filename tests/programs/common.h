/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the test workloads in tests/programs: argument parsing that
 * rejects garbage, and one-line messages prefixed with the program's name.
 *
 * The workloads are small on purpose: each does one thing the integration
 * suites need (eat memory, burn CPU, fork, daemonize, handle SIGTERM) and says
 * what it did on stderr, so corral's JSON stays the last line of stdout.
 */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024ULL * 1024ULL)

/* Set from argv[0] by each main(); used as the message prefix. */
static const char *prog = "cr-test";

static inline void prog_init(int argc, char **argv)
{
        if (argc > 0 && argv[0] && argv[0][0]) {
                const char *slash = strrchr(argv[0], '/');
                prog = slash ? slash + 1 : argv[0];
        }
}

/* One line on stderr, written at once so that lines of several processes never mix. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        int n, m;

        n = snprintf(line, sizeof(line), "%s: ", prog);
        if (n < 0 || (size_t)n >= sizeof(line))
                return;
        va_start(ap, fmt);
        m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                return;
        n += m;
        if ((size_t)n > sizeof(line) - 2)
                n = (int)sizeof(line) - 2;
        line[n++] = '\n';
        (void)!write(STDERR_FILENO, line, (size_t)n);
}

/* A usage error: the usage line and exit 2, so a typo in a test never looks like a result. */
__attribute__((noreturn)) static inline void usage_exit(const char *usage)
{
        fprintf(stderr, "usage: %s %s\n", prog, usage);
        exit(2);
}

/* Whole decimal number in [0, max]; 0 on success, -1 on garbage. */
static inline int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        char *end = NULL;
        unsigned long long v;

        if (!s || !*s || *s == '-' || *s == '+')
                return -1;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || !end || *end != '\0' || v > max)
                return -1;
        *ret = v;
        return 0;
}

/* Non-negative finite number of seconds (fractions allowed). */
static inline int parse_seconds(const char *s, double *ret)
{
        char *end = NULL;
        double v;

        if (!s || !*s || *s == '-' || *s == '+')
                return -1;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || !end || *end != '\0' || !(v >= 0.0) || v > 1e9)
                return -1;
        *ret = v;
        return 0;
}

static inline double now_s(clockid_t clock)
{
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static inline void sleep_forever(void)
{
        for (;;)
                pause();
}

/* Sleep for s seconds, resuming after signal handlers; s < 0 sleeps forever. */
static inline void sleep_s(double s)
{
        if (s < 0)
                sleep_forever();
        double deadline = now_s(CLOCK_MONOTONIC) + s;
        for (;;) {
                double left = deadline - now_s(CLOCK_MONOTONIC);
                if (left <= 0)
                        return;
                struct timespec ts = {
                        .tv_sec = (time_t)left,
                        .tv_nsec = (long)((left - (double)(time_t)left) * 1e9),
                };
                nanosleep(&ts, NULL);
        }
}

/* write() all of buf, retrying short writes and EINTR. */
static inline int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/*
 * Die of sig the way the process we stand for died (as a shell does), without a
 * core file: the default disposition, unblocked, RLIMIT_CORE 0. Returns 128+sig
 * only if the signal did not kill us.
 */
static inline int reraise(int sig)
{
        struct rlimit no_core = { 0, 0 };
        sigset_t set;

        setrlimit(RLIMIT_CORE, &no_core);
        signal(sig, SIG_DFL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
        return 128 + sig;
}
