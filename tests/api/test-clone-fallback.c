/* SPDX-License-Identifier: MIT */
/*
 * Where clone3 is refused (Docker's older seccomp profile, valgrind, kernels before 5.7)
 * corral clones without CLONE_INTO_CGROUP and the child joins its group itself. A stop
 * that came before that join once found the group empty: cgroup.kill killed nothing, the
 * run never ended and its process outlived it (found by bench/soak under valgrind). This
 * program refuses clone3 for itself with a seccomp filter (ENOSYS), then stops runs the
 * moment they are spawned, with no grace (the kill is immediate) and with a short one.
 *
 *     test-clone-fallback BACKEND      prints TAP
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"
#include "tap.h"

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Processes whose parent is this one: a run's process that outlived its run. */
static int children(void) {
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
                int ppid;
                if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == getpid())
                        n++;
        }
        if (d)
                closedir(d);
        return n;
}

static void stop_at_once(const char *backend, const char *grace, int runs) {
        corral_policy *p = NULL;
        corral_diag diag = {};
        char *argv[] = { "sleep", "30", NULL };

        tap_begin("%s, clone3 refused, TimeoutStopSec=%s: %d runs interrupted right after corral_spawn all end "
                  "interrupted within 5 s, their process dead",
                  backend, grace, runs);
        if (corral_policy_new(&p) < 0 || corral_policy_set(p, "Backend", backend, &diag) < 0 ||
            corral_policy_set(p, "RuntimeMaxSec", "20s", &diag) < 0 ||
            corral_policy_set(p, "TimeoutStopSec", grace, &diag) < 0) {
                tap_fail("policy: %s", diag.message);
                tap_end();
                return;
        }
        for (int i = 0; i < runs; i++) {
                corral_job *job = NULL;
                if (corral_spawn(p, argv, &job, &diag) < 0) {
                        tap_fail("run %d: corral_spawn failed: %s", i, diag.message);
                        break;
                }
                corral_job_interrupt(job);
                double start = now_s();
                while (corral_job_dispatch(job) == 0 && now_s() - start < 5)
                        (void) poll(&(struct pollfd){ corral_job_fd(job), POLLIN }, 1, 500);
                const corral_result *r = corral_job_result(job);
                if (!r) {
                        tap_fail("run %d: no result %.1f s after the interrupt (the kill missed the child)", i,
                                 now_s() - start);
                        /* corral_job_free would wait for it: leave it, the process exits soon */
                        break;
                }
                if (r->status != CORRAL_STATUS_INTERRUPTED)
                        tap_fail("run %d: status %s, expected interrupted", i, corral_status_to_string(r->status));
                corral_job_free(job);
                if (children() > 0) {
                        tap_fail("run %d: a process of the run outlived it", i);
                        break;
                }
        }
        corral_policy_free(p);
        tap_end();
}

int main(int argc, char *argv[]) {
        const char *backend = argc > 1 ? argv[1] : "auto";

        scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
        if (!f || seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0 || seccomp_load(f) < 0) {
                printf("1..0 # SKIP cannot install a seccomp filter refusing clone3\n");
                return 0;
        }
        seccomp_release(f);

        tap_plan(2);
        tap_diag("test-clone-fallback, backend %s", backend);
        stop_at_once(backend, "0", 20);
        stop_at_once(backend, "10ms", 10);
        return tap_finish();
}
