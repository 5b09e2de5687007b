/* SPDX-License-Identifier: MIT */
/*
 * corral-bench-service: what a request through corrald costs, measured from the client.
 *
 *   corral-bench-service SOCKET CORRAL_CLI [RUNS] [SECONDS]
 *
 * Per request of /bin/true (median and p99 over RUNS, interleaved in rounds of 10 so that
 * the three see the same machine): the bare floor (fork + exec + wait), one request
 * through corrald (corral_client_spawn + dispatch until the result), and `corral run` as a
 * process (fork + exec of the CLI, which runs /bin/true itself). Then throughput for
 * SECONDS at 1, 8 and 32 concurrent clients: through corrald (that many jobs in flight
 * from one poll loop, each on its own connection) against that many `corral run`
 * processes in flight. Prints a markdown table; the goals are in the last column.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
        qsort(v, n, sizeof *v, cmp);
        size_t i = (size_t) (p / 100.0 * (double) n + 0.999999);
        return v[i == 0 ? 0 : i - 1];
}

static pid_t start_process(char *const argv[]) {
        pid_t pid = fork();
        if (pid == 0) {
                int fd = open("/dev/null", 0);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static int wait_process(pid_t pid) {
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double run_floor(void) {
        char *argv[] = { "/bin/true", NULL };
        double t = now();
        if (wait_process(start_process(argv)) != 0)
                return -1;
        return now() - t;
}

static double run_cli(const char *cli, const char *sock) {
        char connect[512];
        snprintf(connect, sizeof connect, "--connect=%s", sock);
        /* the CLI run locally: its own cgroup, monitor and result, like a user's `corral run` */
        char *argv[] = { (char *) cli, "run", "--", "/bin/true", NULL };
        double t = now();
        if (wait_process(start_process(argv)) != 0)
                return -1;
        return now() - t;
}

static corral_job *spawn_remote(corral_client *c, const corral_policy *p, corral_spawn_attr *a) {
        char *argv[] = { "/bin/true", NULL };
        corral_job *job;
        corral_diag diag;
        if (corral_client_spawn(c, p, argv, a, &job, &diag) < 0) {
                fprintf(stderr, "corral-bench-service: %s\n", diag.message);
                return NULL;
        }
        return job;
}

static double run_remote(corral_client *c, const corral_policy *p, corral_spawn_attr *a) {
        double t = now();
        corral_job *job = spawn_remote(c, p, a);
        if (!job)
                return -1;
        while (corral_job_dispatch(job) == 0)
                (void) poll(&(struct pollfd){ corral_job_fd(job), POLLIN, 0 }, 1, -1);
        const corral_result *r = corral_job_result(job);
        bool ok = r && r->status == CORRAL_STATUS_OK;
        corral_job_free(job);
        return ok ? now() - t : -1;
}

/* requests/s through corrald with k jobs in flight for secs */
static double tput_remote(corral_client *c, const corral_policy *p, corral_spawn_attr *a, int k, double secs) {
        corral_job *jobs[64] = {};
        struct pollfd pfd[64];
        long done = 0;
        double t0 = now(), end = t0 + secs;
        for (int i = 0; i < k; i++)
                jobs[i] = spawn_remote(c, p, a);
        while (now() < end) {
                for (int i = 0; i < k; i++)
                        pfd[i] = (struct pollfd){ jobs[i] ? corral_job_fd(jobs[i]) : -1, POLLIN, 0 };
                (void) poll(pfd, (nfds_t) k, 100);
                for (int i = 0; i < k; i++) {
                        if (!jobs[i] || corral_job_dispatch(jobs[i]) == 0)
                                continue;
                        const corral_result *r = corral_job_result(jobs[i]);
                        if (r && r->status == CORRAL_STATUS_OK)
                                done++;
                        corral_job_free(jobs[i]);
                        jobs[i] = spawn_remote(c, p, a);
                }
        }
        double t = now() - t0;
        for (int i = 0; i < k; i++)
                corral_job_free(jobs[i]);
        return (double) done / t;
}

/* `corral run` processes per second with k in flight for secs */
static double tput_cli(const char *cli, int k, double secs) {
        char *argv[] = { (char *) cli, "run", "--", "/bin/true", NULL };
        pid_t pids[64];
        long done = 0;
        double t0 = now(), end = t0 + secs;
        for (int i = 0; i < k; i++)
                pids[i] = start_process(argv);
        int running = k;
        while (running > 0) {
                int st;
                pid_t pid = wait(&st);
                if (pid < 0)
                        break;
                for (int i = 0; i < k; i++)
                        if (pids[i] == pid) {
                                if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                                        done++;
                                pids[i] = now() < end ? start_process(argv) : -1;
                                if (pids[i] < 0)
                                        running--;
                        }
        }
        return (double) done / (now() - t0);
}

int main(int argc, char *argv[]) {
        if (argc < 3) {
                fprintf(stderr, "usage: corral-bench-service SOCKET CORRAL_CLI [RUNS] [SECONDS]\n");
                return 2;
        }
        const char *sock = argv[1], *cli = argv[2];
        int runs = argc > 3 ? atoi(argv[3]) : 200;
        double secs = argc > 4 ? atof(argv[4]) : 2.0;
        corral_client *c;
        corral_policy *p;
        corral_spawn_attr *a;
        corral_diag diag;
        if (corral_client_connect(sock, &c, &diag) < 0) {
                fprintf(stderr, "corral-bench-service: %s\n", diag.message);
                return 1;
        }
        int devnull = open("/dev/null", 2);
        corral_policy_new(&p);
        corral_spawn_attr_new(&a);
        corral_spawn_attr_set_stdio(a, devnull, devnull, devnull);

        double *f = calloc((size_t) runs, sizeof *f), *r = calloc((size_t) runs, sizeof *r),
               *l = calloc((size_t) runs, sizeof *l);
        int n = 0, nl = 0;
        for (int i = 0; i < 20; i++) /* warm up: page cache, the daemon's allocator */
                (void) run_remote(c, p, a);
        while (n < runs) {
                for (int k = 0; k < 10 && n < runs; k++, n++) {
                        f[n] = run_floor();
                        r[n] = run_remote(c, p, a);
                        if (k % 2 == 0 && nl < runs)
                                l[nl++] = run_cli(cli, sock);
                        if (f[n] < 0 || r[n] < 0) {
                                fprintf(stderr, "corral-bench-service: a run failed\n");
                                return 1;
                        }
                }
        }
        double fm = pct(f, (size_t) n, 50), f99 = pct(f, (size_t) n, 99);
        double rm = pct(r, (size_t) n, 50), r99 = pct(r, (size_t) n, 99);
        double lm = pct(l, (size_t) nl, 50), l99 = pct(l, (size_t) nl, 99);
        printf("| figure | median | p99 | ratio | goal |\n|---|---|---|---|---|\n");
        printf("| floor: fork+exec+wait of /bin/true | %.3f ms | %.3f ms | 1.00 | |\n", fm * 1e3, f99 * 1e3);
        printf("| one request through corrald (client-side) | %.3f ms | %.3f ms | %.2f x floor | <= 1.5 x floor: %s |\n",
               rm * 1e3, r99 * 1e3, rm / fm, rm / fm <= 1.5 ? "met" : "MISSED");
        printf("| `corral run` as a process | %.3f ms | %.3f ms | %.2f x floor | |\n", lm * 1e3, l99 * 1e3, lm / fm);
        for (int k = 1; k <= 32; k *= k == 1 ? 8 : 4) {
                double tr = tput_remote(c, p, a, k, secs), tc = tput_cli(cli, k, secs);
                printf("| throughput, %d concurrent clients: corrald | %.0f req/s | | %.2f x `corral run` (%.0f/s) | >= 3 x: %s |\n",
                       k, tr, tr / tc, tc, tr / tc >= 3 ? "met" : "MISSED");
        }
        corral_spawn_attr_free(a);
        corral_policy_free(p);
        corral_client_free(c);
        return 0;
}
