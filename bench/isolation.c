/* SPDX-License-Identifier: MIT */
/*
 * corral-bench-isolation: what each isolation setting costs on /bin/true, as a ratio to
 * the plain run measured in the same pass (the variants take turns, round after round,
 * so a noisy machine shifts them together), and corral side by side with bubblewrap
 * doing the same isolation.
 *
 *   corral-bench-isolation --corral PATH [--runs N] [--bwrap PATH]
 *
 * Library rows: corral_run() of /bin/true in this process (no CLI start-up), per policy:
 * plain, +SystemCallFilter (untrusted's deny-list, native only), +PrivateNetwork (a fresh
 * namespace each run: corral never reuses one for a root run, see README), +PrivateTmp,
 * +PrivatePIDs, +DynamicUser, +DynamicUser with PrivateNetwork (such runs give their
 * namespace back, so after the first one it comes from the pool), and all of untrusted's
 * isolation together. Command rows: whole
 * processes — a bare fork+exec of /bin/true, `corral run` plain and with that isolation,
 * and `bwrap` with the same namespaces (net, pid, ipc, mount: / read-only, /tmp a
 * tmpfs, --die-with-parent; bwrap loads no seccomp filter unless given a compiled one, so
 * its row has none). Prints a markdown table; medians and p90 in milliseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

extern char **environ;

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

typedef struct variant {
        const char *name;
        const char *const *settings; /* NULL-terminated Key=Value; for commands: argv */
        bool command;
        corral_policy *policy;
        double *t;
        int n;
        int failures;
} variant;

#define S(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *const untrusted_filter =
        "SystemCallFilter=~@clock @debug @keyring @module @mount @obsolete @privileged @raw-io @reboot @swap";

static int run_command(char *const argv[]) {
        int status;
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                int fd = open("/dev/null", 0);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execve(argv[0], argv, environ);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void measure(variant *v, int round) {
        double t0 = now_s();
        bool ok;

        if (v->command) {
                ok = run_command((char *const *) v->settings) == 0;
        } else {
                corral_job *job = NULL;
                corral_diag diag = {};
                ok = corral_run(v->policy, (char *[]){ "/bin/true", NULL }, &job, &diag) == 0 &&
                     corral_job_result(job)->status == CORRAL_STATUS_OK;
                if (!ok && job && round == 0)
                        fprintf(stderr, "%s: %s\n", v->name, corral_job_result(job)->error);
                corral_job_free(job);
        }
        if (!ok) {
                v->failures++;
                return;
        }
        v->t[v->n++] = now_s() - t0;
}

static double median(variant *v) {
        qsort(v->t, (size_t) v->n, sizeof v->t[0], cmp);
        return v->n ? v->t[v->n / 2] : 0;
}

static double p90(const variant *v) {
        return v->n ? v->t[(v->n * 9) / 10 < v->n ? (v->n * 9) / 10 : v->n - 1] : 0;
}

int main(int argc, char **argv) {
        const char *corral_cli = NULL, *bwrap = "/usr/bin/bwrap";
        int runs = 200, c;

        static const struct option options[] = {
                { "corral", required_argument, NULL, 'c' },
                { "runs", required_argument, NULL, 'n' },
                { "bwrap", required_argument, NULL, 'b' },
                {},
        };
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        corral_cli = optarg;
                        break;
                case 'n':
                        runs = atoi(optarg);
                        break;
                case 'b':
                        bwrap = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: %s --corral PATH [--runs N] [--bwrap PATH]\n", argv[0]);
                        return 2;
                }
        if (!corral_cli || runs < 5) {
                fprintf(stderr, "usage: %s --corral PATH [--runs N] [--bwrap PATH]\n", argv[0]);
                return 2;
        }
        (void) corral_become_subreaper();
        (void) corral_claim_cgroup(NULL);

        bool have_bwrap = access(bwrap, X_OK) == 0;
        variant vs[] = {
                { "library: plain", S("Backend=auto") },
                { "library: +SystemCallFilter (untrusted's, native)", S(untrusted_filter, "SystemCallArchitectures=native") },
                { "library: +PrivateNetwork (fresh netns)", S("PrivateNetwork=yes") },
                { "library: +PrivateTmp", S("PrivateTmp=yes") },
                { "library: +PrivatePIDs", S("PrivatePIDs=yes") },
                { "library: +DynamicUser (implies PrivateTmp, PrivateIPC, ProtectSystem=strict)", S("DynamicUser=yes") },
                { "library: +DynamicUser +PrivateNetwork (netns reused from the pool)",
                  S("DynamicUser=yes", "PrivateNetwork=yes") },
                { "library: untrusted's isolation, all of it",
                  S(untrusted_filter, "SystemCallFilter=~unshare setns", "SystemCallArchitectures=native",
                    "PrivateNetwork=yes", "PrivateTmp=yes", "PrivateIPC=yes", "ProtectSystem=strict",
                    "PrivatePIDs=yes") },
                { "command: bare fork+exec /bin/true", S("/bin/true"), true },
                { "command: corral run /bin/true", S(corral_cli, "run", "--", "/bin/true"), true },
                { "command: corral run, untrusted's isolation",
                  S(corral_cli, "run", "-p", untrusted_filter, "-p", "SystemCallFilter=~unshare setns", "-p",
                    "SystemCallArchitectures=native", "-p", "PrivateNetwork=yes", "-p", "PrivateTmp=yes", "-p",
                    "PrivateIPC=yes", "-p", "ProtectSystem=strict", "-p", "PrivatePIDs=yes", "--", "/bin/true"),
                  true },
                { "command: corral run, same namespaces, no filter",
                  S(corral_cli, "run", "-p", "PrivateNetwork=yes", "-p", "PrivateTmp=yes", "-p", "PrivateIPC=yes",
                    "-p", "ProtectSystem=strict", "-p", "PrivatePIDs=yes", "--", "/bin/true"),
                  true },
                { "command: bwrap, same namespaces (no filter)",
                  S(bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--unshare-net",
                    "--unshare-pid", "--unshare-ipc", "--die-with-parent", "/bin/true"),
                  true },
        };
        size_t n = sizeof vs / sizeof vs[0];

        for (size_t i = 0; i < n; i++) {
                vs[i].t = calloc((size_t) runs, sizeof(double));
                if (vs[i].command)
                        continue;
                corral_diag diag = {};
                if (corral_policy_new(&vs[i].policy) < 0)
                        return 1;
                for (const char *const *s = vs[i].settings; *s; s++)
                        if (corral_policy_set_assignment(vs[i].policy, *s, &diag) < 0) {
                                fprintf(stderr, "%s: %s\n", vs[i].name, diag.message);
                                return 1;
                        }
        }
        /* Each round starts at another variant: whatever the one before leaves behind (a
         * namespace the kernel tears down later, cold caches) lands on every variant alike. */
        for (int r = 0; r < runs; r++)
                for (size_t k = 0; k < n; k++) {
                        size_t i = (k + (size_t) r) % n;
                        if (strstr(vs[i].name, "bwrap") && !have_bwrap)
                                continue;
                        measure(&vs[i], r);
                }

        printf("| what | median | p90 | ratio | runs |\n|---|---|---|---|---|\n");
        double lib_base = median(&vs[0]), cmd_base = median(&vs[8]);
        for (size_t i = 0; i < n; i++) {
                if (strstr(vs[i].name, "bwrap") && !have_bwrap) {
                        printf("| %s | - | - | - | not installed |\n", vs[i].name);
                        continue;
                }
                double m = median(&vs[i]);
                double base = vs[i].command ? cmd_base : lib_base;
                printf("| %s | %.3f ms | %.3f ms | %.2f× %s | %d%s |\n", vs[i].name, m * 1e3, p90(&vs[i]) * 1e3,
                       base > 0 ? m / base : 0, vs[i].command ? "bare exec" : "plain", vs[i].n,
                       vs[i].failures ? " (some failed)" : "");
        }
        return 0;
}
