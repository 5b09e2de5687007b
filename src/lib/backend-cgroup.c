/* SPDX-License-Identifier: MIT */
/*
 * The two cgroup rungs. Both give each run its own transient group (cgroup.c), start
 * the child straight into it (CLONE_INTO_CGROUP), learn from cgroup.events when the
 * tree is gone, kill it with cgroup.kill and read its CPU time from cpu.stat:
 *   cgroup2       the base offers memory, pids and cpu: the kernel enforces MemoryMax,
 *                 TasksMax and CPUQuota and counts OOM kills (memory.events) exactly;
 *   cgroup2-core  a controller-less group: the tree and its CPU time are exact, memory
 *                 and tasks are capped by rlimits and watched by sampling /proc.
 *
 * Privilege: write access to the base (root, or the owner of a delegated subtree).
 */
#include <signal.h>
#include <sys/epoll.h>

#include "backend.h"
#include "job.h"
#include "macro.h"
#include "placement.h"

/*
 * PLACEMENT HOOK: where the cgroup rungs find the base their run groups go under.
 * placement.c decides (corral_place(): own cgroup, CGroupBase=, a delegated systemd
 * scope, a root `corral` group, in that order) and leaves this process in
 * <base>/supervisor; cg_base_find() then locates the base and checks its controllers.
 */
static int find_base(corral_job *j, bool controllers, cg_base **ret, char why[static CG_WHY_MAX]) {
        return place_find_base(&j->policy, controllers, ret, why);
}

static int create_group(corral_job *j, bool controllers, corral_backend id, corral_enforcement *ret_enforcement,
                        char why[static CG_WHY_MAX]) {
        int r = find_base(j, controllers, &j->be.base, why);
        if (r >= 0) {
                cg_base_sweep(j->be.base);
                r = cg_group_create(j->be.base, &j->policy, controllers, &j->be.group, why);
        }
        if (r < 0) {
                j->be.base = cg_base_free(j->be.base);
                return r;
        }
        rl_plan(&j->policy, id, &j->be.rlimits, ret_enforcement);
        return 0;
}

static int cgroup2_create(corral_job *j, corral_enforcement *ret_enforcement, char why[static CG_WHY_MAX]) {
        return create_group(j, true, CORRAL_BACKEND_CGROUP2, ret_enforcement, why);
}

static int core_create(corral_job *j, corral_enforcement *ret_enforcement, char why[static CG_WHY_MAX]) {
        return create_group(j, false, CORRAL_BACKEND_CGROUP2_CORE, ret_enforcement, why);
}

static void cgroup_prepare_start(corral_job *j, spawn_request *req) {
        req->cgroup_fd = cg_group_dirfd(j->be.group);
        req->rlimits = &j->be.rlimits;
}

static size_t cgroup_event_fds(corral_job *j, int ret_fds[static BACKEND_MAX_EVENT_FDS]) {
        size_t n = 0;
        if (!j->be.group)
                return 0;
        ret_fds[n++] = cg_group_events_fd(j->be.group);
        if (cg_group_memory_events_fd(j->be.group) >= 0)
                ret_fds[n++] = cg_group_memory_events_fd(j->be.group);
        return n;
}

static int cgroup_on_event(corral_job *j, int fd) {
        char buf[512];
        (void) j;
        /* reading through this fd re-arms its notification; a removed group's files say
         * ENODEV and would stay ready for ever */
        if (pread(fd, buf, sizeof buf, 0) < 0 && (errno == ENODEV || errno == ENOENT))
                return -errno;
        return 0;
}

static int cgroup_list(corral_job *j, pid_list *ret) {
        _cleanup_free_ int *pids = NULL;
        size_t n = 0;
        int r = cg_group_pids(j->be.group, &pids, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = pid_list_add(ret, pids[i]);
        return r < 0 ? r : 0;
}

static void cgroup_signal(corral_job *j, int sig) {
        (void) cg_group_signal(j->be.group, sig);
}

static void cgroup_kill(corral_job *j) {
        if (j->be.group)
                (void) cg_group_kill(j->be.group);
}

static int cgroup_populated(corral_job *j) {
        return cg_group_populated(j->be.group);
}

static void cgroup_end_tree(corral_job *j) {
        if (cg_group_populated(j->be.group) > 0) {
                job_note_kill(j);
                (void) cg_group_kill(j->be.group);
        }
}

static int cgroup_cpu_usec(corral_job *j, uint64_t *ret) {
        return cg_group_cpu_usage(j->be.group, ret);
}

static int core_memory(corral_job *j, uint64_t *ret_bytes, uint64_t *ret_tasks) {
        pid_list l = {};
        uint64_t rss = 0;
        int r = cgroup_list(j, &l);
        if (r >= 0)
                r = backend_sample_rss(j, &l, &rss);
        if (r >= 0) {
                *ret_bytes = rss;
                *ret_tasks = l.n;
        }
        pid_list_done(&l);
        return r;
}

static int cgroup2_memory(corral_job *j, uint64_t *ret_bytes, uint64_t *ret_tasks) {
        return cg_group_memory_current(j->be.group, ret_bytes, ret_tasks);
}

static int cgroup_oom_kills(corral_job *j, uint64_t *ret) {
        return cg_group_oom_kills(j->be.group, ret);
}

/* cpu.stat for the CPU time, or rusage when it cannot be read. */
static void account_cpu(corral_job *j, const cg_stats *st, bool have_stats, backend_account *a) {
        if (have_stats) {
                a->cpu_usec = st->usage_usec;
                a->user_usec = st->user_usec;
                a->system_usec = st->system_usec;
                return;
        }
        a->user_usec = timeval_usec(j->rusage.ru_utime);
        a->system_usec = timeval_usec(j->rusage.ru_stime);
        a->cpu_usec = a->user_usec + a->system_usec;
}

static void account_events(const cg_stats *st, backend_account *a) {
        a->oom = st->oom;
        a->oom_kill = st->oom_kill;
        a->oom_group_kill = st->oom_group_kill;
        a->pids_max_events = st->pids_max_events;
        a->throttled_usec = st->throttled_usec;
}

static int cgroup2_account(corral_job *j, backend_account *ret) {
        cg_stats st = {};
        bool have = j->be.group && cg_group_stats(j->be.group, &st) >= 0;
        backend_account a = { .exact = true, .rlimit_cpu_usec = rl_cpu_soft_usec(&j->be.rlimits) };
        account_cpu(j, &st, have, &a);
        account_events(&st, &a);
        a.memory_peak = st.memory_peak;
        a.pids_peak = st.pids_peak;
        *ret = a;
        return 0;
}

static int core_account(corral_job *j, backend_account *ret) {
        cg_stats st = {};
        bool have = j->be.group && cg_group_stats(j->be.group, &st) >= 0;
        bool discarded;
        uint64_t maxrss = backend_own_maxrss(j, &discarded);
        backend_account a = {
                .memory_peak = j->rss_peak > maxrss ? j->rss_peak : maxrss,
                .pids_peak = j->tasks_peak ? j->tasks_peak : 1,
                .memory_sampled = true,
                .rlimit_cpu_usec = rl_cpu_soft_usec(&j->be.rlimits),
                .inferred = discarded ? "memory and tasks sampled from /proc: no memory or pids controller; "
                                        "rusage's peak not used (not above the caller's own, which it may hold)"
                                      : "memory and tasks sampled from /proc: no memory or pids controller",
        };
        account_cpu(j, &st, have, &a);
        account_events(&st, &a);
        *ret = a;
        return 0;
}

static void cgroup_remove(corral_job *j) {
        if (j->be.group) {
                (void) cg_group_remove(j->be.group);
                j->be.group = NULL;
        }
        j->be.base = cg_base_free(j->be.base);
        rl_rss_cache_clear(&j->be.rss_cache);
}

#define CGROUP_COMMON                                   \
        .prepare_start = cgroup_prepare_start,          \
        .event_fds = cgroup_event_fds,                  \
        .on_event = cgroup_on_event,                    \
        .list = cgroup_list,                            \
        .signal = cgroup_signal,                        \
        .kill = cgroup_kill,                            \
        .populated = cgroup_populated,                  \
        .end_tree = cgroup_end_tree,                    \
        .cpu_usec = cgroup_cpu_usec,                    \
        .oom_kills = cgroup_oom_kills,                  \
        .remove = cgroup_remove

const backend_ops backend_cgroup2 = {
        .id = CORRAL_BACKEND_CGROUP2,
        .kernel_cpu_quota = true,
        .samples_memory = false,
        .create = cgroup2_create,
        .memory = cgroup2_memory,
        .account = cgroup2_account,
        CGROUP_COMMON,
};

const backend_ops backend_cgroup2_core = {
        .id = CORRAL_BACKEND_CGROUP2_CORE,
        .kernel_cpu_quota = false,
        .samples_memory = true,
        .create = core_create,
        .memory = core_memory,
        .account = core_account,
        CGROUP_COMMON,
};
