/* SPDX-License-Identifier: MIT */
/*
 * corral-soak: many runs in one process through the pollable API, then a count of what
 * they left behind. Every run's fd sits in one epoll set, up to --parallel jobs at once;
 * the workloads cycle through every status of the contract (ok, exited, signaled,
 * wall_timeout, cpu_timeout, memory_limit, spawn_error, interrupted; two of them with
 * their output captured). Afterwards the
 * process must hold the fds, threads and children it had before the first run, no run
 * group of its own may be left in the cgroup base, and its RSS must be within
 * --rss-slack of where it was after the first 100 runs.
 *
 *   corral-soak --progs DIR [--runs N] [--parallel K] [--backend B] [--rss-slack KIB] [--only KIND]
 *               [--connect SOCKET [--daemon-pid PID]]
 *
 * With --connect every run goes through corrald (corral_client_spawn); --daemon-pid adds
 * corrald's own fds, children, run groups and RSS drift to the checks.
 *
 * DIR holds the built tests/programs (cr-exit, cr-spin, cr-alloc). Prints "soak KEY VALUE"
 * lines (bench/soak turns them into bench/SOAK.md) and exits 1 when a run got another
 * status than its workload's, or anything leaked.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

enum { KIND_OK, KIND_EXITED, KIND_SIGNALED, KIND_WALL, KIND_CPU, KIND_MEMORY, KIND_SPAWN, KIND_INTERRUPT, N_KINDS };

static const struct {
        const char *name;
        corral_status expect;
        const char *props[4];
} kinds[N_KINDS] = {
        [KIND_OK] = { "ok", CORRAL_STATUS_OK, { "RuntimeMaxSec=60s" } },
        [KIND_EXITED] = { "exited", CORRAL_STATUS_EXITED, { "RuntimeMaxSec=60s" } },
        [KIND_SIGNALED] = { "signaled", CORRAL_STATUS_SIGNALED, { "RuntimeMaxSec=60s", "CaptureOutput=yes" } },
        [KIND_WALL] = { "wall_timeout", CORRAL_STATUS_WALL_TIMEOUT, { "RuntimeMaxSec=50ms", "TimeoutStopSec=50ms" } },
        [KIND_CPU] = { "cpu_timeout", CORRAL_STATUS_CPU_TIMEOUT, { "CPUTimeMaxSec=20ms", "RuntimeMaxSec=60s" } },
        [KIND_MEMORY] = { "memory_limit", CORRAL_STATUS_MEMORY_LIMIT, { "MemoryMax=32M", "RuntimeMaxSec=60s", "CaptureOutput=yes" } },
        [KIND_SPAWN] = { "spawn_error", CORRAL_STATUS_SPAWN_ERROR, { "RuntimeMaxSec=60s" } },
        [KIND_INTERRUPT] = { "interrupted", CORRAL_STATUS_INTERRUPTED, { "RuntimeMaxSec=60s", "TimeoutStopSec=50ms" } },
};

typedef struct slot {
        corral_job *job;
        int kind;
        bool busy;
} slot;

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long proc_status_field(pid_t pid, const char *key) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "re");
        char line[256];
        long v = -1;
        size_t n = strlen(key);
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, key, n) == 0 && line[n] == ':')
                        v = strtol(line + n + 1, NULL, 10);
        if (f)
                fclose(f);
        return v;
}

static long status_field(const char *key) {
        return proc_status_field(getpid(), key);
}

static int count_dir(const char *path, const char *prefix);

static int proc_count_fds(pid_t pid) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        return count_dir(path, NULL);
}

/* Where corrald puts its run groups: its own cgroup, or the parent of its supervisor leaf. */
static void daemon_base(pid_t pid, char *buf, size_t size) {
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) pid);
        FILE *f = fopen(path, "re");
        buf[0] = '\0';
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        char *cg = line + 3;
                        size_t n = strlen(cg);
                        if (n >= 11 && strcmp(cg + n - 11, "/supervisor") == 0)
                                cg[n - 11] = '\0';
                        snprintf(buf, size, "/sys/fs/cgroup/unified%s", cg);
                        if (access(buf, F_OK) < 0)
                                snprintf(buf, size, "/sys/fs/cgroup%s", cg);
                }
        if (f)
                fclose(f);
}

static void list_fds(const char *when) {
        if (!getenv("SOAK_DEBUG"))
                return;
        DIR *d = opendir("/proc/self/fd");
        for (struct dirent *e; d && (e = readdir(d));) {
                char path[300], target[300] = "";
                snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n > 0)
                        target[n] = '\0';
                fprintf(stderr, "fd %s %s -> %s\n", when, e->d_name, target);
        }
        if (d)
                closedir(d);
}

static int count_dir(const char *path, const char *prefix) {
        DIR *d = opendir(path);
        if (!d)
                return -1;
        int n = 0;
        for (struct dirent *e; (e = readdir(d));)
                if (e->d_name[0] != '.' && (!prefix || strncmp(e->d_name, prefix, strlen(prefix)) == 0))
                        n++;
        closedir(d);
        return n;
}

/* Processes whose parent is pid (zombies included): what a run left unreaped. */
static int count_children(pid_t self) {
        DIR *d = opendir("/proc");
        int n = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
                char path[64], buf[512];
                if (e->d_name[0] < '0' || e->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
                FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                size_t got = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[got] = '\0';
                const char *rp = strrchr(buf, ')');
                char state;
                int ppid;
                if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == self)
                        n++;
        }
        if (d)
                closedir(d);
        return n;
}

static void usage(void) {
        fprintf(stderr, "usage: corral-soak --progs DIR [--runs N] [--parallel K] [--backend B] [--rss-slack KIB] [--only KIND]\n");
        exit(2);
}

int main(int argc, char **argv) {
        const char *progs = NULL, *backend = "auto";
        long runs = 10000, parallel = 32, rss_slack_kib = 1024;
        int only = -1; /* --only KIND: one workload (to reproduce a problem) */
        const char *connect_path = NULL; /* --connect SOCKET: every run through corrald */
        pid_t daemon_pid = 0;            /* --daemon-pid: count corrald's fds, RSS, children too */
        static const struct option opts[] = {
                { "progs", required_argument, NULL, 'p' },    { "runs", required_argument, NULL, 'n' },
                { "parallel", required_argument, NULL, 'j' }, { "backend", required_argument, NULL, 'b' },
                { "rss-slack", required_argument, NULL, 'r' }, { "only", required_argument, NULL, 'o' },
                { "connect", required_argument, NULL, 'c' },  { "daemon-pid", required_argument, NULL, 'd' }, {},
        };
        for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;)
                switch (c) {
                case 'p': progs = optarg; break;
                case 'n': runs = strtol(optarg, NULL, 10); break;
                case 'j': parallel = strtol(optarg, NULL, 10); break;
                case 'b': backend = optarg; break;
                case 'r': rss_slack_kib = strtol(optarg, NULL, 10); break;
                case 'c': connect_path = optarg; break;
                case 'd': daemon_pid = (pid_t) strtol(optarg, NULL, 10); break;
                case 'o':
                        only = -1;
                        for (int k = 0; k < N_KINDS; k++)
                                if (strcmp(optarg, kinds[k].name) == 0)
                                        only = k;
                        if (only < 0)
                                usage();
                        break;
                default: usage();
                }
        if (!progs || runs < 100 || parallel < 1 || parallel > 1024 || optind != argc)
                usage();

        /* The soak's only children are corral's: orphans of the rlimit rung come back here. */
        corral_become_subreaper();

        char exit_prog[4096], spin_prog[4096], alloc_prog[4096];
        snprintf(exit_prog, sizeof exit_prog, "%s/cr-exit", progs);
        snprintf(spin_prog, sizeof spin_prog, "%s/cr-spin", progs);
        snprintf(alloc_prog, sizeof alloc_prog, "%s/cr-alloc", progs);
        char *const argvs[N_KINDS][5] = {
                [KIND_OK] = { exit_prog, "0", NULL },
                [KIND_EXITED] = { exit_prog, "3", NULL },
                [KIND_SIGNALED] = { exit_prog, "--signal", "SEGV", NULL },
                [KIND_WALL] = { exit_prog, "--sleep", "inf", NULL },
                [KIND_CPU] = { spin_prog, "30", NULL },
                [KIND_MEMORY] = { alloc_prog, "256", NULL },
                [KIND_SPAWN] = { "/nonexistent/corral-soak-no-such-program", NULL },
                [KIND_INTERRUPT] = { exit_prog, "--sleep", "inf", NULL },
        };

        char group_prefix[64];
        corral_policy *pol[N_KINDS];
        for (int k = 0; k < N_KINDS; k++) {
                corral_diag diag = {};
                if (corral_policy_new(&pol[k]) < 0 ||
                    (!connect_path && corral_policy_set(pol[k], "Backend", backend, &diag) < 0))
                        goto bad_policy;
                for (int i = 0; i < 4 && kinds[k].props[i]; i++)
                        if (corral_policy_set_assignment(pol[k], kinds[k].props[i], &diag) < 0)
                                goto bad_policy;
                continue;
        bad_policy:
                fprintf(stderr, "corral-soak: %s\n", diag.message);
                return 2;
        }
        corral_doctor_report rep = {};
        corral_client *client = NULL;
        /* corrald's baseline before our first connection to it (connect checks it answers). */
        int d_fds_before = daemon_pid > 0 ? proc_count_fds(daemon_pid) : 0;
        int d_children_before = daemon_pid > 0 ? count_children(daemon_pid) : 0;
        if (connect_path) {
                corral_diag diag = {};
                int r = corral_client_connect(connect_path, &client, &diag);
                if (r < 0) {
                        fprintf(stderr, "corral-soak: %s\n", diag.message);
                        return 2;
                }
                backend = "corrald";
                if (daemon_pid > 0)
                        daemon_base(daemon_pid, rep.cgroup_base, sizeof rep.cgroup_base);
                snprintf(group_prefix, sizeof group_prefix, "run-%d.", (int) daemon_pid);
        } else {
                corral_doctor(pol[0], &rep);
                snprintf(group_prefix, sizeof group_prefix, "run-%d.", (int) getpid());
        }

        /* Baselines before the soak's epoll set exists (it is closed before the count after). */
        int fds_before = count_dir("/proc/self/fd", NULL);
        list_fds("before");
        int ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) {
                perror("corral-soak: epoll_create1");
                return 1;
        }
        long threads_before = status_field("Threads");
        int children_before = count_children(getpid());
        long d_rss_after_100 = -1;
        int groups_before = rep.cgroup_base[0] ? count_dir(rep.cgroup_base, group_prefix) : 0;

        slot *slots = calloc((size_t) parallel, sizeof *slots);
        long started = 0, finished = 0, mismatches = 0, spawn_failures = 0, split_inconsistent = 0, lost_wakeups = 0;
        double quiet_s = 0;
        long seen[_CORRAL_STATUS_MAX] = {}, per_kind_ok[N_KINDS] = {};
        long rss_after_100 = -1, rss_peak = 0;
        double start = now_s(), max_cpu_split_err = 0;
        int exit_code = 0;

        while (finished < runs) {
                for (long s = 0; s < parallel && started < runs; s++) {
                        if (slots[s].busy)
                                continue;
                        int kind = only >= 0 ? only : (int) (started % N_KINDS);
                        corral_diag diag = {};
                        corral_job *job = NULL;
                        int r = client ? corral_client_spawn(client, pol[kind], argvs[kind], NULL, &job, &diag)
                                       : corral_spawn(pol[kind], argvs[kind], &job, &diag);
                        started++;
                        if (r < 0) {
                                fprintf(stderr, "corral-soak: corral_spawn: %s (%s)\n", strerror(-r), diag.message);
                                spawn_failures++;
                                finished++;
                                continue;
                        }
                        if (kind == KIND_INTERRUPT)
                                corral_job_interrupt(job);
                        slots[s] = (slot){ .job = job, .kind = kind, .busy = true };
                        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) s };
                        if (epoll_ctl(ep, EPOLL_CTL_ADD, corral_job_fd(job), &ev) < 0) {
                                perror("corral-soak: epoll_ctl");
                                return 1;
                        }
                }

                struct epoll_event evs[64];
                int n = epoll_wait(ep, evs, 64, 5000);
                if (n < 0 && errno != EINTR) {
                        perror("corral-soak: epoll_wait");
                        return 1;
                }
                if (n == 0) {
                        /* Every job has a 60 s backstop at most: 5 s of silence is worth a look. A job
                         * that finishes when dispatched without its fd having woken us is a lost
                         * wakeup, a bug of the pollable API. */
                        quiet_s += 5;
                        for (long s = 0; s < parallel; s++) {
                                if (!slots[s].busy)
                                        continue;
                                int r = corral_job_dispatch(slots[s].job);
                                fprintf(stderr, "corral-soak: %g s without a wakeup: a %s job (slot %ld, fd %d) %s\n",
                                        quiet_s, kinds[slots[s].kind].name, s, corral_job_fd(slots[s].job),
                                        r == 1 ? "had finished: lost wakeup" : r == 0 ? "still runs" : strerror(-r));
                                if (r == 1) {
                                        lost_wakeups++;
                                        evs[n++] = (struct epoll_event){ .data.u64 = (uint64_t) s };
                                }
                        }
                        if (quiet_s >= 90) {
                                fprintf(stderr, "corral-soak: no job woke the loop for 90 s (%ld finished)\n", finished);
                                return 1;
                        }
                        if (n == 0)
                                continue;
                } else
                        quiet_s = 0;
                for (int i = 0; i < n; i++) {
                        slot *sl = &slots[evs[i].data.u64];
                        if (!sl->busy)
                                continue;
                        /* A lost wakeup was dispatched above already: its result is there. */
                        int r = corral_job_result(sl->job) ? 1 : corral_job_dispatch(sl->job);
                        if (r < 0) {
                                fprintf(stderr, "corral-soak: corral_job_dispatch: %s\n", strerror(-r));
                                return 1;
                        }
                        if (r == 0)
                                continue;
                        const corral_result *res = corral_job_result(sl->job);
                        seen[res->status]++;
                        if (res->status == kinds[sl->kind].expect)
                                per_kind_ok[sl->kind]++;
                        else if (mismatches++ < 10)
                                fprintf(stderr, "corral-soak: a %s run ended %s (%s)\n", kinds[sl->kind].name,
                                        corral_status_to_string(res->status), res->error);
                        /* SPEC: cpu_time_s = user_time_s + system_time_s (to the microsecond it prints). */
                        double err = fabs(res->cpu_time_s - (res->user_time_s + res->system_time_s));
                        if (err > 2e-6)
                                split_inconsistent++;
                        if (err > max_cpu_split_err)
                                max_cpu_split_err = err;
                        epoll_ctl(ep, EPOLL_CTL_DEL, corral_job_fd(sl->job), NULL);
                        corral_job_free(sl->job);
                        *sl = (slot){};
                        finished++;
                        long rss = status_field("VmRSS");
                        if (rss > rss_peak)
                                rss_peak = rss;
                        if (finished == 100) {
                                rss_after_100 = rss;
                                if (daemon_pid > 0)
                                        d_rss_after_100 = proc_status_field(daemon_pid, "VmRSS");
                        }
                }
        }
        double elapsed = now_s() - start;
        free(slots);
        close(ep);
        for (int k = 0; k < N_KINDS; k++)
                corral_policy_free(pol[k]);

        /* A run that ends leaves its last reaps to the kernel: give zombies a moment. */
        if (client)
                corral_client_free(client);
        int children_after = count_children(getpid());
        int d_children_after = daemon_pid > 0 ? count_children(daemon_pid) : 0;
        for (int i = 0; i < 100 && (children_after > children_before || d_children_after > d_children_before); i++) {
                usleep(20000);
                children_after = count_children(getpid());
                d_children_after = daemon_pid > 0 ? count_children(daemon_pid) : 0;
        }
        /* corrald closes a finished run's connection and fds on its own schedule: settle. */
        int d_fds_after = daemon_pid > 0 ? proc_count_fds(daemon_pid) : 0;
        for (int i = 0; i < 100 && daemon_pid > 0 && d_fds_after != d_fds_before; i++) {
                usleep(20000);
                d_fds_after = proc_count_fds(daemon_pid);
        }
        long d_rss_end = daemon_pid > 0 ? proc_status_field(daemon_pid, "VmRSS") : 0;
        int fds_after = count_dir("/proc/self/fd", NULL);
        list_fds("after");
        long threads_after = status_field("Threads");
        int groups_after = rep.cgroup_base[0] ? count_dir(rep.cgroup_base, group_prefix) : 0;
        long rss_end = status_field("VmRSS");
        long rss_drift = rss_end - rss_after_100;

        printf("soak backend %s\n", backend);
        printf("soak cgroup_base %s\n", rep.cgroup_base[0] ? rep.cgroup_base : "-");
        printf("soak runs %ld\n", finished);
        printf("soak parallel %ld\n", parallel);
        printf("soak elapsed_s %.1f\n", elapsed);
        printf("soak runs_per_s %.0f\n", (double) finished / elapsed);
        for (int k = 0; k < N_KINDS; k++)
                if (only < 0 || k == only)
                        printf("soak kind %s %ld/%ld\n", kinds[k].name, per_kind_ok[k],
                               only >= 0 ? runs : runs / N_KINDS + (k < runs % N_KINDS));
        for (int s = 0; s < _CORRAL_STATUS_MAX; s++)
                if (seen[s])
                        printf("soak seen %s %ld\n", corral_status_to_string((corral_status) s), seen[s]);
        printf("soak mismatches %ld\n", mismatches);
        printf("soak spawn_failures %ld\n", spawn_failures);
        printf("soak lost_wakeups %ld\n", lost_wakeups);
        printf("soak cpu_split_inconsistent %ld\n", split_inconsistent);
        printf("soak cpu_split_max_err_s %.6f\n", max_cpu_split_err);
        printf("soak leaked_fds %d\n", fds_after - fds_before);
        printf("soak leaked_threads %ld\n", threads_after - threads_before);
        printf("soak leaked_children %d\n", children_after - children_before);
        printf("soak leaked_cgroups %d\n", groups_after - groups_before);
        printf("soak rss_after_100_kib %ld\n", rss_after_100);
        printf("soak rss_end_kib %ld\n", rss_end);
        printf("soak rss_peak_kib %ld\n", rss_peak);
        printf("soak rss_drift_kib %ld\n", rss_drift);
        if (daemon_pid > 0) {
                printf("soak daemon_leaked_fds %d\n", d_fds_after - d_fds_before);
                printf("soak daemon_leaked_children %d\n", d_children_after - d_children_before);
                printf("soak daemon_rss_after_100_kib %ld\n", d_rss_after_100);
                printf("soak daemon_rss_end_kib %ld\n", d_rss_end);
                printf("soak daemon_rss_drift_kib %ld\n", d_rss_end - d_rss_after_100);
        }

        if (mismatches || spawn_failures || lost_wakeups)
                exit_code = 1;
        if (fds_after != fds_before || threads_after != threads_before || children_after != children_before ||
            groups_after != groups_before)
                exit_code = 1;
        if (labs(rss_drift) > rss_slack_kib)
                exit_code = 1;
        if (daemon_pid > 0 && (d_fds_after != d_fds_before || d_children_after != d_children_before ||
                               labs(d_rss_end - d_rss_after_100) > rss_slack_kib))
                exit_code = 1;
        printf("soak verdict %s\n", exit_code ? "FAIL" : "pass");
        return exit_code;
}
