/* SPDX-License-Identifier: MIT */
/*
 * corral-bench: measures libcorral and the corral CLI against the floor (a bare
 * fork + exec + wait in this same process) and against the tools a Debian user would
 * otherwise reach for, and prints one line per figure (see stats.c). bench/run drives
 * it natively and in the test VM and writes bench/RESULTS.md.
 *
 *   corral-bench --work PATH --corral PATH [--env host|vm] [--profile native|tcg]
 *                [--backends B,B...] [--only FIGURE,...]
 *
 * Figures: overhead-lib overhead-cli throughput kill cpu memory monitor.
 *
 * This process makes itself a child subreaper, as the corral CLI and corrald do, so
 * the fallback rungs run the way they run in corral's own programs; it never runs a
 * bare baseline and a corral job at the same time, so neither can reap the other's
 * children.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static const profile profiles[] = {
        {
                .name = "native",
                .absolute_targets = true,
                .overhead_runs = 1000,
                .cli_runs = 300,
                .tput_rounds = 7,
                .tput_jobs = 200,
                .kill_runs = 40,
                .kill_deadline_s = 0.05,
                .cpu_runs = 15,
                .cpu_limit_s = 0.2,
                .mem_runs = 10,
                .mem_limit_mib = 128,
                .monitor_runs = 3,
                .monitor_run_s = 2,
        },
        {
                /* qemu TCG: everything is ~10-50x slower; fewer runs, longer deadlines. */
                .name = "TCG",
                .absolute_targets = false,
                .overhead_runs = 150,
                .cli_runs = 40,
                .tput_rounds = 3,
                .tput_jobs = 40,
                .kill_runs = 10,
                .kill_deadline_s = 1.0,
                .cpu_runs = 5,
                .cpu_limit_s = 0.5,
                .mem_runs = 4,
                .mem_limit_mib = 64,
                .monitor_runs = 2,
                .monitor_run_s = 2,
        },
};

double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double self_cpu_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "corral-bench: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int bare_run(const char *path, char *const argv[], int out_fd) {
        int status;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (out_fd >= 0 && (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0))
                        _exit(127);
                execve(path, argv, environ);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return status;
}

int bare_start(const char *path, char *const argv[], pid_t *ret_pid, int *ret_pidfd) {
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                (void)setpgid(0, 0);
                execve(path, argv, environ);
                _exit(127);
        }
        /* Both sides set the group, so that a kill(-pid) can never come before it. */
        (void)setpgid(pid, pid);
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0) {
                int r = -errno;
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return r;
        }
        *ret_pid = pid;
        *ret_pidfd = fd;
        return 0;
}

corral_policy *bench_policy(corral_backend backend, ...) {
        corral_policy *p;
        corral_diag diag = {};
        va_list ap;

        if (corral_policy_new(&p) < 0 ||
            corral_policy_set(p, "Backend", corral_backend_to_string(backend), &diag) < 0) {
                fprintf(stderr, "corral-bench: cannot make a policy: %s\n", diag.message);
                exit(1);
        }
        va_start(ap, backend);
        for (const char *a; (a = va_arg(ap, const char *));)
                if (corral_policy_set_assignment(p, a, &diag) < 0) {
                        fprintf(stderr, "corral-bench: %s: %s\n", a, diag.message);
                        exit(1);
                }
        va_end(ap);
        return p;
}

int reap_leftovers(void) {
        char buf[4096];
        int n = 0;
        /* single-threaded: the main thread's children are all of them */
        FILE *f = fopen("/proc/thread-self/children", "re");
        if (!f)
                return -1;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        for (char *p = buf, *end;; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v <= 0)
                        continue;
                /* Say what it was: this is a bug in corral, worth a report. */
                char path[64], stat[256] = "?";
                snprintf(path, sizeof path, "/proc/%ld/stat", v);
                FILE *sf = fopen(path, "re");
                if (sf) {
                        if (!fgets(stat, sizeof stat, sf))
                                snprintf(stat, sizeof stat, "?");
                        fclose(sf);
                }
                stat[strcspn(stat, "\n")] = '\0';
                progress("left behind by a run: %s", stat);
                (void)kill((pid_t)v, SIGKILL);
                (void)waitpid((pid_t)v, NULL, __WALL);
                n++;
        }
        return n;
}

char *bench_which(const char *name) {
        const char *path = getenv("PATH");
        if (!path)
                path = "/usr/bin:/bin";
        for (const char *d = path; *d;) {
                size_t len = strcspn(d, ":");
                char buf[4096];
                snprintf(buf, sizeof buf, "%.*s/%s", (int)len, d, name);
                if (len > 0 && access(buf, X_OK) == 0)
                        return strdup(buf);
                d += len;
                if (*d == ':')
                        d++;
        }
        return NULL;
}

static const struct {
        const char *name;
        void (*run)(const bench *b);
} figures[] = {
        {"overhead-lib", fig_overhead_lib},
        {"overhead-cli", fig_overhead_cli},
        {"throughput", fig_throughput},
        {"kill", fig_kill},
        {"cpu", fig_cpu},
        {"memory", fig_memory},
        {"monitor", fig_monitor},
};

static bool listed(const char *list, const char *word) {
        size_t n = strlen(word);
        for (const char *p = list; p && *p;) {
                size_t len = strcspn(p, ",");
                if (len == n && strncmp(p, word, n) == 0)
                        return true;
                p += len;
                if (*p == ',')
                        p++;
        }
        return false;
}

static _Noreturn void usage(int code) {
        fprintf(code ? stderr : stdout,
                "usage: corral-bench --work PATH --corral PATH [--env host|vm] [--profile native|tcg]\n"
                "                    [--backends B,B...] [--only FIGURE,...]\n"
                "figures:");
        for (size_t i = 0; i < sizeof figures / sizeof *figures; i++)
                fprintf(code ? stderr : stdout, " %s", figures[i].name);
        fputc('\n', code ? stderr : stdout);
        exit(code);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                {"work", required_argument, NULL, 'w'},
                {"corral", required_argument, NULL, 'c'},
                {"env", required_argument, NULL, 'e'},
                {"profile", required_argument, NULL, 'p'},
                {"backends", required_argument, NULL, 'b'},
                {"only", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        bench b = {.env = "host", .prof = &profiles[0]};
        const char *backends = "cgroup2-core,rlimit", *only = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'w':
                        b.work = optarg;
                        break;
                case 'c':
                        b.corral_cli = optarg;
                        break;
                case 'e':
                        b.env = optarg;
                        break;
                case 'p':
                        if (strcmp(optarg, "native") == 0)
                                b.prof = &profiles[0];
                        else if (strcmp(optarg, "tcg") == 0)
                                b.prof = &profiles[1];
                        else
                                usage(2);
                        break;
                case 'b':
                        backends = optarg;
                        break;
                case 'o':
                        only = optarg;
                        break;
                case 'h':
                        usage(0);
                default:
                        usage(2);
                }
        if (optind != argc || !b.work || !b.corral_cli)
                usage(2);
        for (const char *p = backends; *p;) {
                char name[32];
                size_t len = strcspn(p, ",");
                snprintf(name, sizeof name, "%.*s", (int)len, p);
                corral_backend be;
                if (corral_backend_from_string(name, &be) < 0 || be == CORRAL_BACKEND_AUTO ||
                    b.n_backends >= _CORRAL_BACKEND_MAX) {
                        fprintf(stderr, "corral-bench: bad backend '%s'\n", name);
                        return 2;
                }
                b.backends[b.n_backends++] = be;
                p += len;
                if (*p == ',')
                        p++;
        }
        b.true_path = access("/bin/true", X_OK) == 0 ? "/bin/true" : bench_which("true");
        if (!b.true_path || access(b.work, X_OK) < 0 || access(b.corral_cli, X_OK) < 0) {
                fprintf(stderr, "corral-bench: need /bin/true, %s and %s\n", b.work, b.corral_cli);
                return 1;
        }
        if (corral_become_subreaper() < 0) {
                fprintf(stderr, "corral-bench: cannot become a child subreaper\n");
                return 1;
        }
        /* A job whose caller went away must not stall the benchmark on a full pipe. */
        signal(SIGPIPE, SIG_IGN);

        for (size_t i = 0; i < sizeof figures / sizeof *figures; i++) {
                if (only && !listed(only, figures[i].name))
                        continue;
                double t0 = now_s();
                progress("%s ...", figures[i].name);
                figures[i].run(&b);
                progress("%s took %.1f s", figures[i].name, now_s() - t0);
        }
        return 0;
}
