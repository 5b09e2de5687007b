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
 * namespace each run, made by the run's child: corral never reuses one for a root run, see
 * README), +PrivateTmp,
 * +PrivatePIDs, +DynamicUser, +DynamicUser with PrivateNetwork (such runs give their
 * namespace back, so after the first one it comes from the pool), and all of untrusted's
 * isolation together. Command rows: whole
 * processes — a bare fork+exec of /bin/true, `corral run` plain and with that isolation,
 * and `bwrap` with the same namespaces (net, pid, ipc, mount: / read-only, /tmp a
 * tmpfs, --die-with-parent; bwrap loads no seccomp filter unless given a compiled one, so
 * its row has none), and nsjail (--nsjail PATH) doing the same namespaces in its one-shot
 * mode, without and with a kafel policy equivalent to untrusted's filter (--nsjail-policy,
 * written by bench/isolation-run from `corral policy check`: the names plus every x32
 * number, which kafel can only list one by one), and with the names alone
 * (--nsjail-policy-names: cheaper for kafel to compile, but x32 calls pass; the goal is
 * judged against the first, the same filter, and shown against the second too).
 *
 * Prints two markdown tables: every variant's median and p90 in milliseconds with its
 * ratio to its baseline, then the command rows' cost over the floor: the median over
 * rounds of (variant - bare fork+exec of the same round), so that load drifting between
 * rounds cancels, and corral's cost as a fraction of nsjail's.
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
        const char *missing; /* not measured, and why */
        corral_policy *policy;
        double *t; /* by round; -1 where the run failed */
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
                v->t[round] = -1;
                return;
        }
        v->t[round] = now_s() - t0;
}

/* The q-quantile of the rounds where both a and (if given) b ran: of a, or of a - b. */
static double quantile(const variant *a, const variant *b, int runs, double q, int *ret_n) {
        double *x = calloc((size_t) runs, sizeof(double));
        int n = 0;
        for (int r = 0; x && r < runs; r++)
                if (a->t[r] >= 0 && (!b || b->t[r] >= 0))
                        x[n++] = a->t[r] - (b ? b->t[r] : 0);
        qsort(x, (size_t) n, sizeof x[0], cmp);
        double v = n ? x[(int) (q * n) < n ? (int) (q * n) : n - 1] : 0;
        free(x);
        if (ret_n)
                *ret_n = n;
        return v;
}

int main(int argc, char **argv) {
        const char *corral_cli = NULL, *bwrap = "/usr/bin/bwrap", *nsjail = NULL, *nsjail_policy = NULL,
                   *nsjail_names = NULL;
        int runs = 200, c;

        static const struct option options[] = {
                { "corral", required_argument, NULL, 'c' },
                { "runs", required_argument, NULL, 'n' },
                { "bwrap", required_argument, NULL, 'b' },
                { "nsjail", required_argument, NULL, 'j' },
                { "nsjail-policy", required_argument, NULL, 'k' },
                { "nsjail-policy-names", required_argument, NULL, 'K' },
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
                case 'j':
                        nsjail = optarg;
                        break;
                case 'k':
                        nsjail_policy = optarg;
                        break;
                case 'K':
                        nsjail_names = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: %s --corral PATH [--runs N] [--bwrap PATH] [--nsjail PATH [--nsjail-policy KAFEL] [--nsjail-policy-names KAFEL]]\n", argv[0]);
                        return 2;
                }
        if (!corral_cli || runs < 5) {
                fprintf(stderr, "usage: %s --corral PATH [--runs N] [--bwrap PATH] [--nsjail PATH [--nsjail-policy KAFEL] [--nsjail-policy-names KAFEL]]\n", argv[0]);
                return 2;
        }
        (void) corral_become_subreaper();
        (void) corral_claim_cgroup(NULL);

        const char *no_bwrap = access(bwrap, X_OK) == 0 ? NULL : "not measured: bwrap not found";
        const char *no_nsjail = nsjail && access(nsjail, X_OK) == 0 ? NULL : "not measured: nsjail not found";
        const char *no_kafel = no_nsjail ? no_nsjail : nsjail_policy ? NULL : "not measured: no --nsjail-policy";
        const char *no_names = no_nsjail ? no_nsjail : nsjail_names ? NULL : "not measured: no --nsjail-policy-names";
        /* nsjail: one-shot and quiet; the namespaces corral's untrusted makes as root (mount
         * with / read-only, tmpfs /tmp and /var/tmp, pid with its own /proc, net with lo up,
         * ipc) and none it does not (user, uts, cgroup); the parent's rlimits (corral sets
         * none without limits in the policy), no cgroup (nsjail makes none without a cgroup
         * limit), niceness unchanged (its default is 19) and no time limit (corral's default
         * is none). */
#define NSJAIL_ARGS(...)                                                                                          \
        S(nsjail ? nsjail : "nsjail", "-Mo", "--really_quiet", "--chroot", "/", "--disable_clone_newuser",        \
          "--disable_clone_newuts", "--disable_clone_newcgroup", "--disable_rlimits", "--nice_level", "0",        \
          "--time_limit", "0", "--tmpfsmount", "/tmp", "--tmpfsmount", "/var/tmp", "--proc_rw", __VA_ARGS__)
        variant vs[] = {
                { "library: plain", S("Backend=auto") },
                { "library: +SystemCallFilter (untrusted's, native)", S(untrusted_filter, "SystemCallArchitectures=native") },
                { "library: +PrivateNetwork (a fresh netns, made by the child)", S("PrivateNetwork=yes") },
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
                  true, no_bwrap },
                { "command: nsjail -Mo, same namespaces, no filter", NSJAIL_ARGS("--", "/bin/true"), true, no_nsjail },
                { "command: nsjail -Mo, same namespaces + untrusted's filter (kafel)",
                  NSJAIL_ARGS("--seccomp_string", nsjail_policy ? nsjail_policy : "", "--", "/bin/true"), true,
                  no_kafel },
                { "command: nsjail -Mo, same namespaces + untrusted's filter names (kafel, no x32 rule)",
                  NSJAIL_ARGS("--seccomp_string", nsjail_names ? nsjail_names : "", "--", "/bin/true"), true,
                  no_names },
        };
        size_t n = sizeof vs / sizeof vs[0];
        enum { LIB_BASE = 0, CMD_BASE = 8, CORRAL_UNTRUSTED = 10, NSJAIL_ALL = 14, NSJAIL_NAMES = 15 };

        for (size_t i = 0; i < n; i++) {
                vs[i].t = calloc((size_t) runs, sizeof(double));
                if (!vs[i].t)
                        return 1;
                for (int r = 0; r < runs; r++)
                        vs[i].t[r] = -1;
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
                        if (!vs[i].missing)
                                measure(&vs[i], r);
                }

        printf("| what | median | p90 | ratio | runs |\n|---|---|---|---|---|\n");
        double lib_base = quantile(&vs[LIB_BASE], NULL, runs, 0.5, NULL);
        double cmd_base = quantile(&vs[CMD_BASE], NULL, runs, 0.5, NULL);
        for (size_t i = 0; i < n; i++) {
                if (vs[i].missing) {
                        printf("| %s | - | - | - | %s |\n", vs[i].name, vs[i].missing);
                        continue;
                }
                int got;
                double m = quantile(&vs[i], NULL, runs, 0.5, &got);
                double base = vs[i].command ? cmd_base : lib_base;
                printf("| %s | %.3f ms | %.3f ms | %.2f× %s | %d%s |\n", vs[i].name, m * 1e3,
                       quantile(&vs[i], NULL, runs, 0.9, NULL) * 1e3, base > 0 ? m / base : 0,
                       vs[i].command ? "bare exec" : "plain", got, vs[i].failures ? " (some failed)" : "");
        }

        /* What each tool adds to the floor, paired by round. The goal is judged against
         * nsjail with the same filter (names + x32), and shown against its names-only row
         * too (not the same filter: x32 calls pass there, but kafel compiles it faster). */
        double same = vs[NSJAIL_ALL].missing ? 0 : quantile(&vs[NSJAIL_ALL], &vs[CMD_BASE], runs, 0.5, NULL);
        double names = vs[NSJAIL_NAMES].missing ? 0 : quantile(&vs[NSJAIL_NAMES], &vs[CMD_BASE], runs, 0.5, NULL);
        printf("\n| command | cost over the floor (median of per-round differences) | ÷ nsjail, same namespaces and filter |\n"
               "|---|---|---|\n");
        for (size_t i = CMD_BASE + 1; i < n; i++) {
                if (vs[i].missing) {
                        printf("| %s | - | %s |\n", vs[i].name, vs[i].missing);
                        continue;
                }
                double cost = quantile(&vs[i], &vs[CMD_BASE], runs, 0.5, NULL);
                if (same > 0)
                        printf("| %s | %.3f ms | %.2f× |\n", vs[i].name, cost * 1e3, cost / same);
                else
                        printf("| %s | %.3f ms | - |\n", vs[i].name, cost * 1e3);
        }
        double mine = quantile(&vs[CORRAL_UNTRUSTED], &vs[CMD_BASE], runs, 0.5, NULL);
        if (same > 0) {
                printf("\nGoal (`untrusted` costs less than half of nsjail with the same namespaces and filter): "
                       "%.2f× — %s.", mine / same, mine < 0.5 * same ? "met" : "missed");
                if (names > 0)
                        printf(" Against nsjail's names-only filter row (x32 calls not denied: not the same "
                               "filter, but cheaper for kafel): %.2f× — %s.",
                               mine / names, mine < 0.5 * names ? "would be met" : "would be missed");
                printf("\n");
        } else {
                printf("\nGoal (`untrusted` costs less than half of nsjail with the same namespaces and filter): "
                       "not measured (%s).\n", vs[NSJAIL_ALL].missing);
        }
        return 0;
}
