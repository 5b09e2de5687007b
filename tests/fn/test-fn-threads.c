/* SPDX-License-Identifier: MIT */
/*
 * test-fn-threads BACKEND: the forkserver in a multithreaded program.
 *
 * The forkserver starts first, while the program is single-threaded. Then 8 threads:
 * one takes a mutex and holds it, five churn (malloc/free, stdio into memory, another
 * mutex), and two start sandboxed functions through the forkserver -- one 200 runs
 * with corral_run_fn(), one 100 runs four at a time with the pollable API. The
 * function takes the held mutex: in the forkserver's clean copy it is free, so every
 * run must end ok with its own bytes. As a control, the same function started with
 * StartMethod=fork while the mutex is held must hang until its wall limit: that is the
 * deadlock the forkserver exists to avoid, and it shows the test can see it. At the
 * end no fd is left open that was not open before, no child is a zombie, and after
 * corral_forkserver_stop() we have no child at all. alarm() ends a test that hangs.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "fntest.h"

#define RUNS_BLOCKING 200
#define RUNS_POLLED 100
#define AT_ONCE 4
#define CHURNERS 5

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;
static atomic_bool holding;

void fn_take_lock(const void *in, size_t len, corral_out *out);

/* Takes the mutex another thread of the caller holds, allocates, answers. */
void fn_take_lock(const void *in, size_t len, corral_out *out) {
        pthread_mutex_lock(&held);
        char *copy = malloc(len + 8);
        if (!copy)
                abort();
        memcpy(copy, "ok: ", 4);
        memcpy(copy + 4, in, len);
        corral_out_write(out, copy, len + 4);
        free(copy);
        pthread_mutex_unlock(&held);
}

static void *holder(void *arg) {
        pthread_mutex_lock(&held);
        atomic_store(&holding, true);
        while (!atomic_load(&stop))
                usleep(1000);
        pthread_mutex_unlock(&held);
        return NULL;
}

static void *churner(void *arg) {
        unsigned seed = (unsigned) (uintptr_t) arg;
        while (!atomic_load(&stop)) {
                size_t n = 16 + (size_t) (rand_r(&seed) % 65536);
                char *p = malloc(n);
                if (p) {
                        snprintf(p, n, "churn %u %zu", seed, n);
                        free(p);
                }
                pthread_mutex_lock(&churn_lock);
                char *q = NULL;
                size_t qn = 0;
                FILE *f = open_memstream(&q, &qn);
                if (f) {
                        fprintf(f, "%d", rand_r(&seed));
                        fclose(f);
                }
                free(q);
                pthread_mutex_unlock(&churn_lock);
                /* busy, but leaving the CPUs to the runs (the VM has two, emulated) */
                usleep(100);
        }
        return NULL;
}

typedef struct runner_report {
        int runs, ok, wrong_bytes;
        char first_bad[512];
        double seconds, worst;
} runner_report;

/* runtime in seconds, scaled in the VM. Called from several threads: no shared state. */
static corral_policy *policy(const char *start, double runtime) {
        char kv[64];
        corral_diag d;
        snprintf(kv, sizeof kv, "RuntimeMaxSec=%.3fs", runtime * ft_slow);
        corral_policy *p = ft_policy(kv, NULL);
        if (corral_policy_set(p, "StartMethod", start, &d) < 0)
                abort();
        return p;
}

/* false once a run went wrong: a runner stops there (a deadlocked function would
 * otherwise cost its whole wall limit 200 times over) */
static bool check(runner_report *rep, const corral_result *r, const char *in) {
        char want[64];
        snprintf(want, sizeof want, "ok: %s", in);
        rep->runs++;
        if (r && r->status == CORRAL_STATUS_OK && r->fn_output.size == strlen(want) &&
            memcmp(r->fn_output.data, want, strlen(want)) == 0) {
                rep->ok++;
                return true;
        }
        if (r && r->status == CORRAL_STATUS_OK)
                rep->wrong_bytes++;
        if (!rep->first_bad[0]) {
                char *json = NULL;
                if (r)
                        (void) corral_result_to_json(r, &json);
                snprintf(rep->first_bad, sizeof rep->first_bad, "run '%s': %s", in, json ? json : "no result");
                free(json);
        }
        return false;
}

static void *runner_blocking(void *arg) {
        runner_report *rep = arg;
        double t0 = ft_now();
        for (int i = 0; i < RUNS_BLOCKING; i++) {
                char in[32];
                corral_job *job = NULL;
                corral_diag d;
                corral_policy *p = policy("forkserver", 5);
                snprintf(in, sizeof in, "blocking %d", i);
                double s = ft_now();
                int r = corral_run_fn(p, fn_take_lock, in, strlen(in), &job, &d);
                double dt = ft_now() - s;
                if (dt > rep->worst)
                        rep->worst = dt;
                corral_policy_free(p);
                bool good = check(rep, r >= 0 ? corral_job_result(job) : NULL, in);
                corral_job_free(job);
                if (!good)
                        break;
        }
        rep->seconds = ft_now() - t0;
        return NULL;
}

static void *runner_polled(void *arg) {
        runner_report *rep = arg;
        double t0 = ft_now();
        for (int round = 0; round < RUNS_POLLED / AT_ONCE; round++) {
                corral_job *jobs[AT_ONCE] = {};
                char in[AT_ONCE][32];
                for (int i = 0; i < AT_ONCE; i++) {
                        corral_diag d;
                        corral_policy *p = policy("forkserver", 5);
                        snprintf(in[i], sizeof in[i], "polled %d.%d", round, i);
                        if (corral_spawn_fn(p, fn_take_lock, in[i], strlen(in[i]), &jobs[i], &d) < 0)
                                jobs[i] = NULL;
                        corral_policy_free(p);
                }
                for (;;) {
                        struct pollfd pfd[AT_ONCE];
                        int map[AT_ONCE], n = 0;
                        for (int i = 0; i < AT_ONCE; i++)
                                if (jobs[i] && !corral_job_result(jobs[i])) {
                                        pfd[n] = (struct pollfd){ .fd = corral_job_fd(jobs[i]), .events = POLLIN };
                                        map[n++] = i;
                                }
                        if (n == 0 || poll(pfd, (nfds_t) n, 20000) <= 0)
                                break;
                        for (int k = 0; k < n; k++)
                                if (pfd[k].revents)
                                        (void) corral_job_dispatch(jobs[map[k]]);
                }
                bool good = true;
                for (int i = 0; i < AT_ONCE; i++) {
                        good &= check(rep, jobs[i] ? corral_job_result(jobs[i]) : NULL, in[i]);
                        corral_job_free(jobs[i]);
                }
                if (!good)
                        break;
        }
        rep->seconds = ft_now() - t0;
        return NULL;
}

int main(int argc, char **argv) {
        pthread_t th_holder, th_churn[CHURNERS], th_block, th_poll;
        runner_report blocking = {}, polled = {};

        ft_backend = argc > 1 ? argv[1] : "auto";
        ft_args(1, argv);
        /* A deadlock in the caller hangs: die loudly instead (meson reports a failure). */
        alarm((unsigned) (300 * ft_slow));

        tap_plan(7);
        tap_diag("backend %s", ft_backend);

        tap_begin("the forkserver starts before the program has threads");
        int r = corral_forkserver_start();
        expect(r == 0, "corral_forkserver_start: %s", strerror(-r));
        tap_end();
        char *fds_before = ft_fds();
        int n0, z0;
        pid_t server0;
        ft_children(getpid(), &n0, &z0, "corral-forksrv", &server0);
        char *server_fds_before = ft_fds_of(server0);

        pthread_create(&th_holder, NULL, holder, NULL);
        while (!atomic_load(&holding))
                usleep(1000);
        for (int i = 0; i < CHURNERS; i++)
                pthread_create(&th_churn[i], NULL, churner, (void *) (uintptr_t) (i + 1));
        pthread_create(&th_block, NULL, runner_blocking, &blocking);
        pthread_create(&th_poll, NULL, runner_polled, &polled);
        tap_diag("8 threads: 1 holds the mutex, %d churn, 2 start functions", CHURNERS);
        pthread_join(th_block, NULL);
        pthread_join(th_poll, NULL);

        tap_begin("%d runs through the forkserver from a thread while another holds the mutex: all ok",
                  RUNS_BLOCKING);
        expect(blocking.runs == RUNS_BLOCKING && blocking.ok == RUNS_BLOCKING, "%d of %d ok (%d wrong bytes); %s",
               blocking.ok, blocking.runs, blocking.wrong_bytes, blocking.first_bad);
        tap_diag("forkserver, 8 threads: %.3f ms per run (slowest %.1f ms)", blocking.seconds * 1e3 / RUNS_BLOCKING,
                 blocking.worst * 1e3);
        tap_end();

        tap_begin("%d runs, %d at a time, through the pollable API: each gets its own bytes", RUNS_POLLED,
                  AT_ONCE);
        expect(polled.runs == RUNS_POLLED && polled.ok == RUNS_POLLED, "%d of %d ok (%d wrong bytes); %s",
               polled.ok, polled.runs, polled.wrong_bytes, polled.first_bad);
        tap_diag("forkserver, %d at a time: %.3f ms per run", AT_ONCE, polled.seconds * 1e3 / RUNS_POLLED);
        tap_end();

        tap_begin("control: StartMethod=fork while the mutex is held hangs until its wall limit");
        {
                corral_job *job = NULL;
                corral_diag d;
                corral_policy *p = policy("fork", 0.5);
                r = corral_run_fn(p, fn_take_lock, "control", 7, &job, &d);
                corral_policy_free(p);
                const corral_result *res = r >= 0 ? corral_job_result(job) : NULL;
                expect(res && res->status == CORRAL_STATUS_WALL_TIMEOUT, "status %s", ft_status(res));
                ft_dump(res);
                corral_job_free(job);
        }
        tap_end();

        atomic_store(&stop, true);
        pthread_join(th_holder, NULL);
        for (int i = 0; i < CHURNERS; i++)
                pthread_join(th_churn[i], NULL);

        tap_begin("no fd leaked (/proc/self/fd before and after)");
        char *fds_after = ft_fds();
        expect(strcmp(fds_before, fds_after) == 0, "before: %s", fds_before);
        if (strcmp(fds_before, fds_after) != 0)
                tap_fail("after:  %s", fds_after);
        tap_end();

        tap_begin("no zombie: the forkserver is our only child, alive, with no child and no fd left over");
        int n, z, sn, sz;
        pid_t server;
        ft_children(getpid(), &n, &z, "corral-forksrv", &server);
        expect(z == 0, "%d zombie children", z);
        expect(n == 1 && server > 0, "%d children, forkserver pid %d", n, (int) server);
        pid_t w = waitpid(-1, NULL, WNOHANG);
        expect(w == 0, "waitpid(-1, WNOHANG) = %d (%s)", (int) w, w < 0 ? strerror(errno) : "reaped one");
        ft_children(server, &sn, &sz, NULL, NULL);
        expect(server > 0 && sn == 0, "the forkserver still has %d children (%d zombies)", sn, sz);
        char *server_fds_after = ft_fds_of(server);
        expect(server == server0 && strcmp(server_fds_before, server_fds_after) == 0,
               "the forkserver's fds: before %s, after %s", server_fds_before, server_fds_after);
        free(server_fds_before);
        free(server_fds_after);
        tap_end();

        tap_begin("after corral_forkserver_stop() we have no child at all");
        corral_forkserver_stop();
        w = waitpid(-1, NULL, WNOHANG);
        expect(w < 0 && errno == ECHILD, "waitpid(-1, WNOHANG) = %d", (int) w);
        tap_end();

        free(fds_before);
        free(fds_after);
        return tap_finish();
}
