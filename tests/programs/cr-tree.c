/* SPDX-License-Identifier: MIT */
/*
 * cr-tree: a process tree built to escape a naive kill, for the "nothing
 * survives" guarantee.
 *
 *   cr-tree [--exit] PIDFILE
 *
 *   top            ignores SIGTERM; sleeps forever, or exits 0 with --exit
 *   └─ child       ignores SIGTERM, sleeps forever
 *      └─ middle   setsid(), forks the daemon and exits (the double fork)
 *         └─ daemon    new session, re-parented to a subreaper or init,
 *            │         ignores SIGTERM, sleeps forever
 *            └─ worker own process group, ignores SIGTERM, sleeps forever
 *
 * Once all are running, top writes PIDFILE (via a rename, so a reader never sees
 * half of it): one line per live process, "PID ROLE", top included. A test reads
 * it after `corral run` returned and checks with kill -0 that none is left.
 *
 * Exit: 0 with --exit; otherwise only killed. 2 on bad arguments, 3 on failure.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"

static const char usage[] = "[--exit] PIDFILE";

#define N_REPORTS 3 /* child, daemon, worker */

static void report(int fd, const char *role)
{
        char line[64];
        int n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), role);

        /* One short write to a pipe is atomic: lines from the processes never mix. */
        if (n > 0)
                write_all(fd, line, (size_t)n);
        close(fd);
}

static void ignore_term(void)
{
        struct sigaction sa = { .sa_handler = SIG_IGN };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
}

int main(int argc, char **argv)
{
        bool do_exit = false;
        const char *pidfile;
        int pipefd[2];
        pid_t pid;
        int i;

        prog_init(argc, argv);
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--exit") == 0)
                        do_exit = true;
                else
                        usage_exit(usage);
        }
        if (argc - i != 1)
                usage_exit(usage);
        pidfile = argv[i];

        ignore_term(); /* inherited by every descendant */
        if (pipe(pipefd) < 0) {
                say("pipe: %s", strerror(errno));
                return 3;
        }

        pid = fork();
        if (pid < 0) {
                say("fork: %s", strerror(errno));
                return 3;
        }
        if (pid == 0) {
                /* child */
                close(pipefd[0]);
                pid_t middle = fork();
                if (middle == 0) {
                        /* middle: leave the session, fork the daemon, vanish */
                        setsid();
                        pid_t daemon = fork();
                        if (daemon == 0) {
                                pid_t worker = fork();
                                if (worker == 0) {
                                        setpgid(0, 0);
                                        report(pipefd[1], "worker");
                                        sleep_forever();
                                }
                                report(pipefd[1], "daemon");
                                sleep_forever();
                        }
                        _exit(daemon < 0 ? 3 : 0);
                }
                if (middle > 0)
                        waitpid(middle, NULL, 0);
                report(pipefd[1], "child");
                sleep_forever();
        }

        close(pipefd[1]);
        char buf[512];
        size_t len = 0;
        int lines = 0;
        while (lines < N_REPORTS && len < sizeof(buf) - 1) {
                ssize_t n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (ssize_t k = 0; k < n; k++)
                        if (buf[len + (size_t)k] == '\n')
                                lines++;
                len += (size_t)n;
        }
        close(pipefd[0]);
        if (lines < N_REPORTS) {
                say("only %d of %d descendants reported", lines, N_REPORTS);
                return 3;
        }

        char tmp[4096];
        int r = snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
        if (r < 0 || (size_t)r >= sizeof(tmp)) {
                say("path too long: %s", pidfile);
                return 2;
        }
        FILE *f = fopen(tmp, "we");
        if (!f) {
                say("cannot write %s: %s", tmp, strerror(errno));
                return 3;
        }
        fprintf(f, "%ld top\n", (long)getpid());
        fwrite(buf, 1, len, f);
        if (fclose(f) != 0 || rename(tmp, pidfile) < 0) {
                say("cannot write %s: %s", pidfile, strerror(errno));
                return 3;
        }
        say("%d descendants running, pids in %s", N_REPORTS, pidfile);

        if (do_exit)
                return 0;
        sleep_forever();
}
