/* SPDX-License-Identifier: MIT */
/*
 * bench-work: the programs the benchmarks run under corral. Each mode does one thing
 * and keeps doing it until it is killed, so that what is measured is corral's
 * reaction, not the workload's own end.
 *
 *   bench-work sleep SECONDS           sleep (a program that is idle at its deadline)
 *   bench-work spin THREADS SECONDS    keep THREADS threads busy for SECONDS of wall time
 *   bench-work tree N SECONDS          N processes in all (this one included), then sleep
 *   bench-work alloc STEP_MIB MAX_MIB  malloc and touch STEP_MIB at a time up to MAX_MIB,
 *                                      then hold it; exit 3 when an allocation fails
 *
 * The SECONDS bounds are safety nets for a limit that is not enforced; a benchmark
 * that sees one of them reached counts the run as a miss. Exit: 0 when the safety
 * net ran out, 3 on allocation failure, 2 on bad arguments.
 * Deliberately not linked against libcorral: its memory and start-up are the
 * workload's own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static _Noreturn void usage(void) {
        fprintf(stderr, "usage: bench-work sleep SECONDS | spin THREADS SECONDS | tree N SECONDS | "
                        "alloc STEP_MIB MAX_MIB\n");
        exit(2);
}

static unsigned long arg_ul(const char *s) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v == 0)
                usage();
        return v;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t sink;

static void *spin_thread(void *arg) {
        double until = *(const double *)arg;
        /* Check the clock only now and then: the loop must stay on the CPU. */
        while (now_s() < until)
                for (unsigned i = 0; i < 100000; i++)
                        sink = sink + 1;
        return NULL;
}

static int spin(unsigned long threads, unsigned long seconds) {
        double until = now_s() + (double)seconds;
        pthread_t t[64];
        if (threads > 64)
                usage();
        for (unsigned long i = 1; i < threads; i++)
                if (pthread_create(&t[i], NULL, spin_thread, &until) != 0)
                        return 1;
        spin_thread(&until);
        for (unsigned long i = 1; i < threads; i++)
                pthread_join(t[i], NULL);
        return 0;
}

static void sleep_s(unsigned long seconds) {
        struct timespec ts = {.tv_sec = (time_t)seconds};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/*
 * A two-level tree: the root forks ~sqrt(N) children, each of which forks its share of
 * grandchildren, so that a kill has to find processes that are not the root's children.
 * The root sleeps only once every member has said it is up (one byte each on a pipe).
 */
static int tree(unsigned long n, unsigned long seconds) {
        int ready[2];
        unsigned long fanout = 1;
        while ((fanout + 1) * (fanout + 1) <= n)
                fanout++;
        if (pipe(ready) < 0)
                return 1;
        unsigned long left = n - 1; /* members still to start, the root excluded */
        for (unsigned long c = 0; c < fanout && left > 0; c++) {
                unsigned long share = left / (fanout - c); /* this child and its children */
                left -= share;
                pid_t pid = fork();
                if (pid < 0)
                        return 1;
                if (pid == 0) {
                        for (unsigned long g = 1; g < share; g++) {
                                pid_t gp = fork();
                                if (gp < 0)
                                        _exit(1);
                                if (gp == 0) {
                                        (void)!write(ready[1], "g", 1);
                                        sleep_s(seconds);
                                        _exit(0);
                                }
                        }
                        (void)!write(ready[1], "c", 1);
                        sleep_s(seconds);
                        _exit(0);
                }
        }
        close(ready[1]);
        char b;
        for (unsigned long up = 1; up < n;)
                if (read(ready[0], &b, 1) == 1)
                        up++;
                else if (errno != EINTR)
                        break;
        sleep_s(seconds);
        return 0;
}

static int alloc(unsigned long step_mib, unsigned long max_mib) {
        long page = sysconf(_SC_PAGESIZE);
        if (page <= 0)
                page = 4096;
        for (unsigned long done = 0; done < max_mib; done += step_mib) {
                size_t len = step_mib * MIB;
                /* Never freed: the memory must stay charged until the kill. */
                volatile unsigned char *p = malloc(len);
                if (!p)
                        return 3;
                for (size_t i = 0; i < len; i += (size_t)page)
                        p[i] = 1;
        }
        sleep_s(60);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
                sleep_s(arg_ul(argv[2]));
                return 0;
        }
        if (argc == 4 && strcmp(argv[1], "spin") == 0)
                return spin(arg_ul(argv[2]), arg_ul(argv[3]));
        if (argc == 4 && strcmp(argv[1], "tree") == 0)
                return tree(arg_ul(argv[2]), arg_ul(argv[3]));
        if (argc == 4 && strcmp(argv[1], "alloc") == 0)
                return alloc(arg_ul(argv[2]), arg_ul(argv[3]));
        usage();
}
