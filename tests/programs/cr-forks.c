/* SPDX-License-Identifier: MIT */
/*
 * cr-forks: try to have N sleeping child processes at once, for task limits
 * (cgroup pids.max, RLIMIT_NPROC).
 *
 *   cr-forks [--hold SECONDS] N
 *
 * Forks N times (a refused fork is counted and the next one still tried), keeps
 * the children for SECONDS (default 0), then kills and reaps them and prints
 * "cr-forks: K of N forks succeeded" on stdout. A refused fork is the limit
 * working, not a failure of the program.
 *
 * Exit: 0 whatever the count; 2 on bad arguments.
 */
#include <signal.h>
#include <sys/wait.h>

#include "common.h"

static const char usage[] = "[--hold SECONDS] N";

int main(int argc, char **argv)
{
        uint64_t n = 0, ok = 0;
        double hold = 0;
        int first_errno = 0;
        pid_t *kids;
        int i;

        prog_init(argc, argv);
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--hold") == 0) {
                        if (i + 1 >= argc || parse_seconds(argv[++i], &hold) < 0)
                                usage_exit(usage);
                } else {
                        usage_exit(usage);
                }
        }
        if (argc - i != 1 || parse_u64(argv[i], 1000000, &n) < 0)
                usage_exit(usage);

        kids = calloc(n ? n : 1, sizeof(*kids));
        if (!kids) {
                say("out of memory");
                return 3;
        }
        for (uint64_t k = 0; k < n; k++) {
                pid_t pid = fork();
                if (pid == 0)
                        sleep_forever();
                if (pid < 0) {
                        if (!first_errno)
                                first_errno = errno;
                        continue;
                }
                kids[ok++] = pid;
        }
        if (first_errno)
                say("%llu forks refused, first with: %s", (unsigned long long)(n - ok),
                    strerror(first_errno));
        if (hold > 0)
                sleep_s(hold);
        for (uint64_t k = 0; k < ok; k++)
                kill(kids[k], SIGKILL);
        for (uint64_t k = 0; k < ok; k++)
                while (waitpid(kids[k], NULL, 0) < 0 && errno == EINTR)
                        ;
        free(kids);
        printf("cr-forks: %llu of %llu forks succeeded\n", (unsigned long long)ok,
               (unsigned long long)n);
        return 0;
}
