/* SPDX-License-Identifier: MIT */
/*
 * libcorral's command API as an embedding program uses it: many jobs in one poll loop,
 * a job freed while it runs, a job that could not start (its fd must still wake the
 * loop), an interruption, and a host program whose SIGCHLD is ignored while another
 * thread calls waitpid(-1) — the run's exit status must survive both.
 *
 *     test-api BACKEND      (auto, cgroup2, cgroup2-core, rlimit); prints TAP
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"
#include "tap.h"

static const char *backend = "auto";

/* Timing bounds stretch under TCG emulation in the test VM. */
static double tap_slow(void) {
        return getenv("CR_IN_VM") ? 10 : 1;
}

static corral_policy *policy(const char *wall) {
        corral_policy *p = NULL;
        corral_diag diag = {};
        if (corral_policy_new(&p) < 0 || corral_policy_set(p, "Backend", backend, &diag) < 0 ||
            (wall && corral_policy_set(p, "RuntimeMaxSec", wall, &diag) < 0)) {
                printf("Bail out! cannot build a policy: %s\n", diag.message);
                exit(1);
        }
        return p;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Drive every job to completion in one poll loop, as an event-loop program would. */
static void run_all(corral_job **jobs, size_t n) {
        size_t left = n;
        bool done[64] = {};
        while (left > 0) {
                struct pollfd fds[64];
                for (size_t i = 0; i < n; i++)
                        fds[i] = (struct pollfd){ .fd = done[i] ? -1 : corral_job_fd(jobs[i]), .events = POLLIN };
                if (poll(fds, n, 10000) <= 0) {
                        tap_fail("poll timed out or failed with %zu jobs left", left);
                        return;
                }
                for (size_t i = 0; i < n; i++)
                        if (!done[i] && (fds[i].revents & POLLIN) && corral_job_dispatch(jobs[i]) == 1) {
                                done[i] = true;
                                left--;
                        }
        }
}

static void test_many_jobs_one_loop(void) {
        enum { N = 8 };
        corral_policy *p = policy("1s");
        corral_job *jobs[N];
        char *quick[] = { "sleep", "0.1", NULL }, *slow[] = { "sleep", "30", NULL };

        tap_begin("8 jobs in one poll loop: 4 finish, 4 hit their wall limit, each with its own verdict");
        double start = now_s();
        for (int i = 0; i < N; i++)
                if (corral_spawn(p, i % 2 ? slow : quick, &jobs[i], NULL) < 0) {
                        tap_fail("corral_spawn %d failed", i);
                        printf("Bail out!\n");
                        exit(1);
                }
        run_all(jobs, N);
        double took = now_s() - start;
        for (int i = 0; i < N; i++) {
                const corral_result *r = corral_job_result(jobs[i]);
                corral_status want = i % 2 ? CORRAL_STATUS_WALL_TIMEOUT : CORRAL_STATUS_OK;
                expect(r && r->status == want, "job %d: status %s, expected %s", i,
                       r ? corral_status_to_string(r->status) : "(no result)", corral_status_to_string(want));
                corral_job_free(jobs[i]);
        }
        /* concurrently, not one after the other: 4 × 1 s in a row would take 4 s */
        expect(took < 3.0 * tap_slow(), "the 8 jobs took %.2fs", took);
        corral_policy_free(p);
        tap_end();
}

static void test_free_running_job(void) {
        corral_policy *p = policy(NULL);
        corral_job *job;
        char *argv[] = { "sh", "-c", "sleep 300 & sleep 300", NULL };

        tap_begin("freeing a running job kills its whole tree and removes its group");
        if (corral_spawn(p, argv, &job, NULL) < 0) {
                tap_fail("corral_spawn failed");
                tap_end();
                return;
        }
        usleep(100 * 1000);
        (void) corral_job_dispatch(job);
        double start = now_s();
        corral_job_free(job);
        expect(now_s() - start < 5 * tap_slow(), "corral_job_free took %.2fs", now_s() - start);

        /* No child, no grandchild: none of our children is left, and no run group of ours. */
        expect(waitpid(-1, NULL, WNOHANG | __WALL) < 0 && errno == ECHILD, "a child of ours is still there");
        corral_doctor_report rep;
        if (corral_doctor(p, &rep) >= 0 && rep.cgroup_base[0]) {
                char cmd[700];
                snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '^run-%d\\.'", rep.cgroup_base, (int) getpid());
                expect(system(cmd) != 0, "a run-%d.* group is left under %s", (int) getpid(), rep.cgroup_base);
        }
        corral_policy_free(p);
        tap_end();
}

static void test_spawn_error_wakes_loop(void) {
        corral_policy *p = policy(NULL);
        corral_job *job;
        char *argv[] = { "/nonexistent/corral-test-command", NULL };

        tap_begin("a command that cannot start still gives a job whose fd is readable at once");
        expect(corral_spawn(p, argv, &job, NULL) == 0, "corral_spawn returned an error");
        struct pollfd pfd = { .fd = corral_job_fd(job), .events = POLLIN };
        expect(poll(&pfd, 1, 0) == 1, "the fd of a finished job is not readable");
        expect(corral_job_dispatch(job) == 1, "dispatch did not say finished");
        const corral_result *r = corral_job_result(job);
        expect(r && r->status == CORRAL_STATUS_SPAWN_ERROR, "status %s",
               r ? corral_status_to_string(r->status) : "(none)");
        expect(r && strstr(r->error, "corral-test-command"), "error does not name the command: %s",
               r ? r->error : "");
        expect(r && corral_result_exit_code(r) == 127, "exit code %d", r ? corral_result_exit_code(r) : -1);
        corral_job_free(job);
        corral_policy_free(p);
        tap_end();
}

static void test_interrupt(void) {
        corral_policy *p = policy(NULL);
        corral_job *job;
        char *argv[] = { "sleep", "300", NULL };

        tap_begin("corral_job_interrupt stops the run gracefully: interrupted, SIGTERM sent");
        if (corral_spawn(p, argv, &job, NULL) < 0) {
                tap_fail("corral_spawn failed");
                tap_end();
                return;
        }
        usleep(50 * 1000);
        corral_job_interrupt(job);
        run_all(&job, 1);
        const corral_result *r = corral_job_result(job);
        expect(r && r->status == CORRAL_STATUS_INTERRUPTED, "status %s",
               r ? corral_status_to_string(r->status) : "(none)");
        expect(r && r->evidence.n_signals_sent >= 1 && r->evidence.signals_sent[0].signal == SIGTERM,
               "no SIGTERM in evidence");
        corral_job_free(job);
        corral_policy_free(p);
        tap_end();
}

/* PIDFD_INFO_EXIT: the pidfd keeps the wait status after someone else reaped (6.15). */
static bool kernel_keeps_exit_status(void) {
        struct utsname u;
        int major = 0, minor = 0;
        if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
                return false;
        return major > 6 || (major == 6 && minor >= 15);
}

static volatile bool reaper_stop;

/* A careless host thread that reaps any child it can. */
static void *greedy_reaper(void *arg) {
        (void) arg;
        while (!reaper_stop) {
                if (waitpid(-1, NULL, WNOHANG) <= 0)
                        usleep(200);
        }
        return NULL;
}

static void test_host_cannot_steal_status(void) {
        corral_policy *p = policy(NULL);
        char *argv[] = { "sh", "-c", "sleep 0.2; exit 7", NULL };
        pthread_t t;

        tap_begin("SIGCHLD ignored and a thread reaping waitpid(-1): the exit status survives (>= 6.15) "
                  "or the result says it was taken");
        signal(SIGCHLD, SIG_IGN);
        reaper_stop = false;
        pthread_create(&t, NULL, greedy_reaper, NULL);
        for (int i = 0; i < 3; i++) {
                corral_job *job;
                if (corral_run(p, argv, &job, NULL) < 0) {
                        tap_fail("corral_run failed");
                        break;
                }
                const corral_result *r = corral_job_result(job);
                if (kernel_keeps_exit_status())
                        expect(r->status == CORRAL_STATUS_EXITED && r->has_exit_code && r->exit_code == 7,
                               "run %d: status %s exit %d", i, corral_status_to_string(r->status),
                               r->exit_code);
                else
                        /* before 6.15 the status is gone: corral must say so, never guess */
                        expect((r->status == CORRAL_STATUS_EXITED && r->exit_code == 7) ||
                                       (r->status == CORRAL_STATUS_INTERNAL_ERROR &&
                                        strstr(r->error, "another reaper") && !r->has_exit_code),
                               "run %d: status %s exit %d error '%s'", i, corral_status_to_string(r->status),
                               r->exit_code, r->error);
                corral_job_free(job);
        }
        reaper_stop = true;
        pthread_join(t, NULL);
        signal(SIGCHLD, SIG_DFL);
        corral_policy_free(p);
        tap_end();
}

/* Last: it makes this process a child subreaper, as the CLI and corrald are. */
static void test_concurrent_leftovers(void) {
        enum { N = 3 };
        corral_policy *p = policy(NULL), *slow_p = policy("2s");
        corral_job *jobs[N + 1];
        char files[N][64], script[N][256];

        tap_begin("a subreaper with several jobs: each run's leftovers die with it, the others' live on");
        if (corral_become_subreaper() < 0) {
                tap_fail("cannot become a child subreaper");
                tap_end();
                return;
        }
        /* a job that stays live throughout: the others are never the only one */
        char *slow[] = { "sleep", "30", NULL };
        expect(corral_spawn(slow_p, slow, &jobs[N], NULL) >= 0, "corral_spawn of the long job failed");
        for (int i = 0; i < N; i++) {
                snprintf(files[i], sizeof files[i], "/tmp/corral-test-api-%d-%d", (int) getpid(), i);
                /* two children that outlive the main process (re-parented to us) */
                snprintf(script[i], sizeof script[i],
                         "sleep 300 & echo $! > %s.tmp; sleep 300 & echo $! >> %s.tmp; mv %s.tmp %s; exit 0",
                         files[i], files[i], files[i], files[i]);
                char *argv[] = { "sh", "-c", script[i], NULL };
                expect(corral_spawn(p, argv, &jobs[i], NULL) >= 0, "corral_spawn %d failed", i);
        }
        double start = now_s();
        run_all(jobs, N + 1);
        double took = now_s() - start;
        for (int i = 0; i < N; i++) {
                const corral_result *r = corral_job_result(jobs[i]);
                expect(r && r->status == CORRAL_STATUS_OK, "job %d: status %s", i,
                       r ? corral_status_to_string(r->status) : "(no result)");
                FILE *f = fopen(files[i], "re");
                int pid, n = 0;
                while (f && fscanf(f, "%d", &pid) == 1) {
                        n++;
                        expect(kill(pid, 0) < 0 && errno == ESRCH, "job %d: leftover %d still exists", i, pid);
                }
                if (f)
                        fclose(f);
                expect(n == 2, "job %d: %d leftover pids recorded, expected 2", i, n);
                unlink(files[i]);
        }
        const corral_result *r = corral_job_result(jobs[N]);
        expect(r && r->status == CORRAL_STATUS_WALL_TIMEOUT, "the long job: status %s, expected wall_timeout",
               r ? corral_status_to_string(r->status) : "(no result)");
        expect(r && r->wall_time_s >= 1.9, "the long job ended after %.2fs: killed with another run's leftovers",
               r ? r->wall_time_s : 0);
        expect(took < 10 * tap_slow(), "the jobs took %.2fs", took);
        for (int i = 0; i <= N; i++)
                corral_job_free(jobs[i]);
        corral_policy_free(p);
        corral_policy_free(slow_p);
        tap_end();
}

int main(int argc, char *argv[]) {
        if (argc > 1)
                backend = argv[1];
        tap_plan(6);
        tap_diag("test-api, backend %s", backend);
        test_many_jobs_one_loop();
        test_free_running_job();
        test_spawn_error_wakes_loop();
        test_interrupt();
        test_host_cannot_steal_status();
        test_concurrent_leftovers();
        return tap_finish();
}
