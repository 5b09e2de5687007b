/* SPDX-License-Identifier: MIT */
/*
 * The rlimit rung: no cgroup. Limits are rlimits applied in the child (rlimit.c); the
 * tree is what /proc shows: the main process's descendants, the run's session, and, when
 * this process is a child subreaper, escaped descendants re-parented to us. The tree is
 * killed member by member and reaped until two scans in a row find nothing; its CPU
 * time is the members' CPU clocks plus rusage of what was reaped.
 *
 * Kernel interfaces: /proc (through rlimit.c), kill(2), wait4(2), prctl subreaper state
 * (read by job.c). Privilege: none.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "backend.h"
#include "job.h"
#include "live.h"
#include "macro.h"

enum {
        TREE_ORPHANS = 1 << 0,         /* children re-parented to us (needs the subreaper) */
        TREE_SESSION = 1 << 1,         /* a /proc scan for the run's session: costly, for kills */
        TREE_SESSION_ORPHANS = 1 << 2, /* children re-parented to us in the run's session */
};

static int tree(corral_job *j, pid_list *ret, unsigned flags) {
        int r = 0;
        if (j->pid <= 0)
                return 0;
        /* Descendants that kept the run's session, wherever they were re-parented. */
        if (flags & TREE_SESSION) {
                r = rl_add_session(ret, j->pid);
                if (r < 0)
                        return r;
        }
        if (j->phase == JOB_RUNNING) {
                r = rl_add_descendants(ret, &j->pid, 1);
                if (r < 0)
                        return r;
        }
        if ((flags & TREE_SESSION_ORPHANS) && j->be.subreaper) {
                /* Other jobs' orphans are our children too: only this run's session is its. */
                pid_list skip = {}, orphans = {};
                live_mains(j, &skip);
                if (j->phase == JOB_RUNNING)
                        (void) pid_list_add(&skip, j->pid);
                r = rl_add_own_children_in_session(&orphans, &skip, j->pid);
                if (r >= 0)
                        r = rl_add_descendants(ret, orphans.pids, orphans.n);
                pid_list_done(&skip);
                pid_list_done(&orphans);
                if (r < 0)
                        return r;
        }
        if ((flags & TREE_ORPHANS) && j->be.subreaper) {
                /* Escaped descendants (setsid + double fork) were re-parented to us. */
                pid_list skip = {}, orphans = {};
                live_mains(j, &skip);
                if (j->phase == JOB_RUNNING)
                        (void) pid_list_add(&skip, j->pid);
                r = rl_add_own_children(&orphans, &skip);
                if (r >= 0)
                        r = rl_add_descendants(ret, orphans.pids, orphans.n);
                pid_list_done(&skip);
                pid_list_done(&orphans);
        }
        return r;
}

/* The cheapest flags that still find every member for a kill. A subreaper inherits
 * every orphaned member: a sole job takes all its children, one of several only those in
 * its session (a member that also left the session is found only while its parent in the
 * tree lives, as with a /proc scan for the session). Without the subreaper orphans go
 * elsewhere and only a scan of all of /proc finds them: its cost grows with the host's
 * process count, which made 32 jobs in flight 0.46x the bare loop. */
static unsigned kill_flags(const corral_job *j) {
        bool sole = live_sole_uncontained(j);
        if (j->be.subreaper)
                return sole ? TREE_ORPHANS : TREE_SESSION_ORPHANS;
        return TREE_SESSION;
}

/* For samples (CPU, memory): the same members without the costly /proc scan. */
static unsigned sample_flags(const corral_job *j) {
        return kill_flags(j) & ~TREE_SESSION;
}

static int rlimit_create(corral_job *j, corral_enforcement *ret_enforcement, char why[static CG_WHY_MAX]) {
        (void) why;
        rl_plan(&j->policy, CORRAL_BACKEND_RLIMIT, &j->be.rlimits, ret_enforcement);
        return 0;
}

static void rlimit_prepare_start(corral_job *j, spawn_request *req) {
        req->cgroup_fd = -EBADF;
        req->rlimits = &j->be.rlimits;
}

static size_t rlimit_event_fds(corral_job *j, int ret_fds[static BACKEND_MAX_EVENT_FDS]) {
        (void) j;
        (void) ret_fds;
        return 0; /* nothing tells us when a tree without a group is gone */
}

static int rlimit_on_event(corral_job *j, int fd) {
        (void) j;
        (void) fd;
        return 0;
}

static int rlimit_list(corral_job *j, pid_list *ret) {
        return tree(j, ret, sample_flags(j));
}

static void rlimit_signal(corral_job *j, int sig) {
        pid_list l = {};
        if (tree(j, &l, kill_flags(j)) >= 0)
                for (size_t i = 0; i < l.n; i++)
                        (void) kill(l.pids[i], sig);
        pid_list_done(&l);
}

static void rlimit_kill(corral_job *j) {
        rlimit_signal(j, SIGKILL);
}

static int rlimit_populated(corral_job *j) {
        (void) j;
        return 0; /* end_tree() killed and reaped the tree before returning */
}

static void rlimit_end_tree(corral_job *j) {
        /* SIGKILL every member until none is left alive, reaping the ones that are ours.
         * A scan is not atomic: a member re-parented to us between reading our children
         * and its former parent's is in neither list. So only two clean scans in a row
         * (nothing alive, nothing reaped) end it. Bounded: a member stuck in the kernel
         * (D state) does not hang the supervisor. */
        int clean = 0;
        for (int round = 0; round < 200 && clean < 2; round++) {
                pid_list l = {};
                size_t alive = 0, reaped = 0;
                if (tree(j, &l, kill_flags(j)) < 0) {
                        pid_list_done(&l);
                        return;
                }
                for (size_t i = 0; i < l.n; i++) {
                        bool ours;
                        int pid = l.pids[i];
                        if (!rl_is_zombie(pid, &ours)) {
                                job_note_kill(j);
                                (void) kill(pid, SIGKILL);
                                alive++;
                        } else if (ours) {
                                struct rusage ru;
                                if (wait4(pid, NULL, __WALL | WNOHANG, &ru) > 0) {
                                        reaped++;
                                        j->be.orphan_user_usec += timeval_usec(ru.ru_utime);
                                        j->be.orphan_system_usec += timeval_usec(ru.ru_stime);
                                }
                        }
                }
                pid_list_done(&l);
                clean = alive == 0 && reaped == 0 ? clean + 1 : 0;
                if (alive > 0)
                        usleep(1000);
        }
}

static int rlimit_cpu_usec(corral_job *j, uint64_t *ret) {
        pid_list l = {};
        uint64_t cpu = 0;
        int r = tree(j, &l, sample_flags(j));
        if (r >= 0)
                r = rl_cpu_usec(&l, &cpu);
        pid_list_done(&l);
        if (r < 0)
                return r;
        *ret = cpu + j->be.orphan_user_usec + j->be.orphan_system_usec;
        return 0;
}

static int rlimit_memory(corral_job *j, uint64_t *ret_bytes, uint64_t *ret_tasks) {
        pid_list l = {};
        uint64_t rss = 0;
        int r = tree(j, &l, sample_flags(j));
        if (r >= 0)
                r = backend_sample_rss(j, &l, &rss);
        if (r >= 0) {
                *ret_bytes = rss;
                *ret_tasks = l.n;
        }
        pid_list_done(&l);
        return r;
}

static int rlimit_oom_kills(corral_job *j, uint64_t *ret) {
        (void) j;
        *ret = 0;
        return 0;
}

static int rlimit_account(corral_job *j, backend_account *ret) {
        /* One source for the total and its split: the rusage of the main process (with the
         * children it reaped) and of every escaped member we reaped. Members that were
         * not ours to reap are not in it; SPEC's cpu_time_s = user + system holds. */
        uint64_t user = timeval_usec(j->rusage.ru_utime) + j->be.orphan_user_usec;
        uint64_t sys = timeval_usec(j->rusage.ru_stime) + j->be.orphan_system_usec;
        bool discarded;
        uint64_t maxrss = backend_own_maxrss(j, &discarded);
        *ret = (backend_account){
                .user_usec = user,
                .system_usec = sys,
                .cpu_usec = user + sys,
                .rlimit_cpu_usec = rl_cpu_soft_usec(&j->be.rlimits),
                .memory_peak = j->rss_peak > maxrss ? j->rss_peak : maxrss,
                .pids_peak = j->tasks_peak ? j->tasks_peak : 1,
                .memory_sampled = true,
                .inferred = discarded ? "memory from /proc samples, CPU time from rusage: no cgroup; rusage's "
                                        "peak not used (not above the caller's own, which it may hold)"
                                      : "memory from rusage and /proc samples, CPU time from rusage: no cgroup",
        };
        return 0;
}

static void rlimit_remove(corral_job *j) {
        rl_rss_cache_clear(&j->be.rss_cache);
}

const backend_ops backend_rlimit = {
        .id = CORRAL_BACKEND_RLIMIT,
        .kernel_cpu_quota = false,
        .samples_memory = true,
        .create = rlimit_create,
        .prepare_start = rlimit_prepare_start,
        .event_fds = rlimit_event_fds,
        .on_event = rlimit_on_event,
        .list = rlimit_list,
        .signal = rlimit_signal,
        .kill = rlimit_kill,
        .populated = rlimit_populated,
        .end_tree = rlimit_end_tree,
        .cpu_usec = rlimit_cpu_usec,
        .memory = rlimit_memory,
        .oom_kills = rlimit_oom_kills,
        .account = rlimit_account,
        .remove = rlimit_remove,
};
