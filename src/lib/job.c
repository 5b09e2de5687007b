/* SPDX-License-Identifier: MIT */
/*
 * A job's life: pick the backend (the ladder cgroup2 -> cgroup2-core -> rlimit),
 * create the run group, start the child, hand the epoll set to the monitor, and once
 * the tree is gone read the kernel's accounting, decide the verdict, remove the group.
 * Every path that gives up still produces a finished job with a result and leaves no
 * group, fd or process behind.
 *
 * Also the process-wide pieces: the list of live jobs (a subreaper must know which of
 * its children are whose), corral_become_subreaper() and corral_claim_cgroup().
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkserver.h"
#include "job.h"
#include "macro.h"
#include "spawn.h"

extern char **environ;

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static corral_job *live_head;

static void live_add(corral_job *j) {
        pthread_mutex_lock(&live_lock);
        j->live_next = live_head;
        if (live_head)
                live_head->live_prev = j;
        live_head = j;
        j->live = true;
        pthread_mutex_unlock(&live_lock);
}

static void live_remove(corral_job *j) {
        pthread_mutex_lock(&live_lock);
        if (j->live) {
                if (j->live_prev)
                        j->live_prev->live_next = j->live_next;
                else
                        live_head = j->live_next;
                if (j->live_next)
                        j->live_next->live_prev = j->live_prev;
                j->live = false;
                j->live_next = j->live_prev = NULL;
        }
        pthread_mutex_unlock(&live_lock);
}

/* The main pids of every other live job, and the forkserver (our child, but not a run's
 * escaped descendant): never ours to kill or reap. */
static void live_mains(const corral_job *self, pid_list *ret) {
        pid_t server = forkserver_pid();
        if (server > 0)
                (void) pid_list_add(ret, server);
        pthread_mutex_lock(&live_lock);
        for (corral_job *j = live_head; j; j = j->live_next)
                if (j != self && j->pid > 0)
                        (void) pid_list_add(ret, j->pid);
        pthread_mutex_unlock(&live_lock);
}

bool job_sole_fallback_job(const corral_job *self) {
        bool sole = true;
        pthread_mutex_lock(&live_lock);
        for (corral_job *j = live_head; j; j = j->live_next)
                if (j != self && !j->group)
                        sole = false;
        pthread_mutex_unlock(&live_lock);
        return sole;
}

int job_tree(corral_job *j, pid_list *ret, unsigned flags) {
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
        if ((flags & TREE_ORPHANS) && j->subreaper) {
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

unsigned job_tree_kill_flags(const corral_job *j) {
        bool sole = job_sole_fallback_job(j);
        if (j->subreaper && sole)
                return TREE_ORPHANS;
        return TREE_SESSION | (sole ? TREE_ORPHANS : 0);
}

static bool is_zombie(int pid, bool *ret_ours) {
        char path[32], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        *ret_ours = false;
        if (!f)
                return true; /* gone */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        char state;
        int ppid;
        if (!p || sscanf(p + 2, "%c %d", &state, &ppid) != 2)
                return true;
        *ret_ours = ppid == getpid();
        return state == 'Z' || state == 'X';
}

void job_reap_orphans(corral_job *j) {
        /* SIGKILL every member until none is left alive, reaping the ones that are ours.
         * A scan is not atomic: a member re-parented to us between reading our children
         * and its former parent's is in neither list. So only two clean scans in a row
         * (nothing alive, nothing reaped) end it. Bounded: a member stuck in the kernel
         * (D state) does not hang the supervisor. */
        int clean = 0;
        for (int round = 0; round < 200 && clean < 2; round++) {
                pid_list l = {};
                size_t alive = 0, reaped = 0;
                if (job_tree(j, &l, job_tree_kill_flags(j)) < 0) {
                        pid_list_done(&l);
                        return;
                }
                for (size_t i = 0; i < l.n; i++) {
                        bool ours;
                        int pid = l.pids[i];
                        if (!is_zombie(pid, &ours)) {
                                if (!j->killed) {
                                        j->killed = true;
                                        job_signal_sent(j, SIGKILL);
                                }
                                (void) kill(pid, SIGKILL);
                                alive++;
                        } else if (ours) {
                                struct rusage ru;
                                if (wait4(pid, NULL, __WALL | WNOHANG, &ru) > 0) {
                                        reaped++;
                                        j->orphan_cpu_usec +=
                                                (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * USEC_PER_SEC +
                                                (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
                                }
                        }
                }
                pid_list_done(&l);
                clean = alive == 0 && reaped == 0 ? clean + 1 : 0;
                if (alive > 0)
                        usleep(1000);
        }
}

/* A subreaper inherits the run's dead orphans: reap them, or they linger as zombies. */
static void reap_zombie_orphans(corral_job *j) {
        pid_list skip = {}, mine = {};
        if (!j->subreaper)
                return;
        live_mains(j, &skip);
        if (rl_add_own_children(&mine, &skip) >= 0)
                for (size_t i = 0; i < mine.n; i++) {
                        bool ours;
                        if (is_zombie(mine.pids[i], &ours) && ours)
                                (void) waitpid(mine.pids[i], NULL, __WALL | WNOHANG);
                }
        pid_list_done(&skip);
        pid_list_done(&mine);
}

static double usec_to_s(uint64_t usec) {
        return (double) usec / 1e6;
}

static uint64_t timeval_usec(struct timeval tv) {
        return (uint64_t) tv.tv_sec * USEC_PER_SEC + (uint64_t) tv.tv_usec;
}

static void release_resources(corral_job *j) {
        if (j->group) {
                if (j->epfd >= 0) {
                        /* After rmdir the event fds report errors forever: leave epoll first. */
                        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, cg_group_events_fd(j->group), NULL);
                        if (cg_group_memory_events_fd(j->group) >= 0)
                                (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, cg_group_memory_events_fd(j->group),
                                                 NULL);
                }
                (void) cg_group_remove(j->group);
                j->group = NULL;
        }
        j->base = cg_base_free(j->base);
        for (size_t i = 0; i < j->n_watches; i++)
                if (j->epfd >= 0)
                        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, j->watches[i].fd, NULL);
        j->n_watches = 0;
        j->pidfd = safe_close(j->pidfd);
        j->timerfd = safe_close(j->timerfd);
        rl_rss_cache_clear(&j->rss_cache);
        for (int i = 0; i < 2; i++)
                j->capture[i].fd = safe_close(j->capture[i].fd);
        live_remove(j);
}

/* The job ends here without having run: a finished result, and an fd that stays readable. */
static _printf_(4, 5) void job_fail(corral_job *j, corral_status status, int err, const char *fmt, ...) {
        va_list ap;
        corral_result *res = j->result;

        res->status = status;
        res->error_errno = err;
        va_start(ap, fmt);
        vsnprintf(res->error, sizeof res->error, fmt, ap);
        va_end(ap);
        res->backend = j->backend;
        res->precise = false;

        if (j->pid > 0 && j->pidfd >= 0) {
                siginfo_t info;
                (void) syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
                (void) spawn_wait_pidfd(j->pidfd, &info, NULL, WEXITED);
        }
        if (j->group)
                (void) cg_group_kill(j->group);
        release_resources(j);

        j->done_fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->done_fd >= 0)
                (void) epoll_ctl(j->epfd, EPOLL_CTL_ADD, j->done_fd,
                                 &(struct epoll_event){ .events = EPOLLIN, .data.fd = j->done_fd });
        j->phase = JOB_DONE;
}

/* How exec went, once the report pipe says it (EOF: it worked). */
static void on_exec_report(void *userdata, int fd) {
        corral_job *j = userdata;
        int r = spawn_read_report(fd, &j->exec_failure);
        if (r == -EAGAIN)
                return;
        j->exec_failed = r == 1;
        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, fd, NULL);
        for (size_t i = 0; i < j->n_watches; i++)
                if (j->watches[i].fd == fd)
                        j->watches[i] = j->watches[--j->n_watches];
        j->report_fd = safe_close(j->report_fd);
}

void job_finish(corral_job *j) {
        corral_result *res = j->result;

        /* The child wrote its report before it exited: it is there to read now. */
        if (j->report_fd >= 0)
                on_exec_report(j, j->report_fd);
        if (j->exec_failed) {
                char what[200];
                spawn_failure_describe(&j->exec_failure, what, sizeof what);
                j->pid = 0;
                res->status = CORRAL_STATUS_SPAWN_ERROR;
                res->error_errno = j->exec_failure.err;
                snprintf(res->error, sizeof res->error, "%s: %s", j->name, what);
                res->backend = j->backend;
                res->wall_time_s = usec_to_s(j->exit_usec - j->start_usec);
                if (j->group)
                        reap_zombie_orphans(j);
                release_resources(j);
                j->phase = JOB_DONE;
                return;
        }
        verdict_input in = {
                .backend = j->backend,
                .exit_how = j->info.si_code,
                .exit_value = j->info.si_status,
                .action = j->action,
                .oom_kill_before_action = j->oom_kill_before_action,
                .cpu_limit_usec = j->policy.cpu_time_max_usec,
                .memory_limit = j->policy.memory_max,
        };
        cg_stats st = {};
        bool have_stats = j->group && cg_group_stats(j->group, &st) >= 0;
        uint64_t maxrss = (uint64_t) j->rusage.ru_maxrss * 1024;

        res->backend = j->backend;
        res->wall_time_s = usec_to_s(j->exit_usec - j->start_usec);
        if (have_stats) {
                res->cpu_time_s = usec_to_s(st.usage_usec);
                res->user_time_s = usec_to_s(st.user_usec);
                res->system_time_s = usec_to_s(st.system_usec);
                in.cpu_usage_usec = st.usage_usec;
        } else {
                uint64_t user = timeval_usec(j->rusage.ru_utime), sys = timeval_usec(j->rusage.ru_stime);
                res->user_time_s = usec_to_s(user);
                res->system_time_s = usec_to_s(sys);
                in.cpu_usage_usec = user + sys + j->orphan_cpu_usec;
                res->cpu_time_s = usec_to_s(in.cpu_usage_usec);
        }

        if (j->backend == CORRAL_BACKEND_CGROUP2) {
                res->memory_peak_bytes = st.memory_peak;
                res->pids_peak = st.pids_peak;
                res->oom_kills = st.oom_kill;
                res->pids_limit_hits = st.pids_max_events;
                in.oom = st.oom;
                in.oom_kill = st.oom_kill;
        } else {
                res->memory_peak_bytes = j->rss_peak > maxrss ? j->rss_peak : maxrss;
                res->pids_peak = j->tasks_peak ? j->tasks_peak : 1;
                in.rss_peak = res->memory_peak_bytes;
        }
        res->evidence.oom = st.oom;
        res->evidence.oom_kill = st.oom_kill;
        res->evidence.oom_group_kill = st.oom_group_kill;
        res->evidence.pids_max = st.pids_max_events;
        res->evidence.cpu_throttled_s = usec_to_s(st.throttled_usec);
        res->evidence.memory_max_bytes = j->policy.memory_max == CORRAL_INFINITY ? 0 : j->policy.memory_max;
        res->evidence.rss_peak_sampled_bytes = j->rss_peak;

        if (j->status_lost) {
                /* exit_code and signal stay null */
        } else if (j->info.si_code == CLD_EXITED) {
                res->has_exit_code = true;
                res->exit_code = j->info.si_status;
        } else
                res->signal = j->info.si_status;

        verdict v;
        verdict_decide(&in, &v);
        res->status = v.status;
        res->evidence.limit_hit = v.limit_hit;
        if (v.limit_hit && strcmp(v.limit_hit, "RuntimeMaxSec") == 0)
                res->evidence.deadline_s = usec_to_s(j->policy.runtime_max_usec);
        else if (v.limit_hit && strcmp(v.limit_hit, "CPUTimeMaxSec") == 0)
                res->evidence.deadline_s = usec_to_s(j->policy.cpu_time_max_usec);
        if (v.note)
                snprintf(res->error, sizeof res->error, "%s", v.note);
        if (j->status_lost) {
                /* A limit corral acted on is still known; how the process ended is not. */
                if (v.status == CORRAL_STATUS_OK || v.status == CORRAL_STATUS_EXITED ||
                    v.status == CORRAL_STATUS_SIGNALED)
                        res->status = CORRAL_STATUS_INTERNAL_ERROR;
                snprintf(res->error, sizeof res->error,
                         "the exit status was taken by another reaper in this process (SIGCHLD "
                         "ignored, or waitpid(-1)); Linux >= 6.15 keeps it for corral");
        }

        if (j->backend == CORRAL_BACKEND_CGROUP2) {
                res->precise = v.inferred == NULL;
                res->evidence.inferred = v.inferred;
        } else {
                res->precise = false;
                res->evidence.inferred =
                        v.inferred ? v.inferred
                        : j->backend == CORRAL_BACKEND_CGROUP2_CORE
                                ? "memory and tasks sampled from /proc: no memory or pids controller"
                                : "memory from rusage and /proc samples, CPU time from rusage: no cgroup";
        }

        reap_zombie_orphans(j);
        if (j->starter.finish)
                j->starter.finish(j->starter.userdata, res);
        for (int i = 0; i < 2; i++) {
                corral_bytes *dst = i == 0 ? &res->stdout_capture : &res->stderr_capture;
                *dst = j->capture[i].bytes;
                j->capture[i].bytes = (corral_bytes){};
                /* Captured but silent is "", not absent: data is non-NULL whenever captured. */
                if (j->policy.capture_output && !dst->data)
                        dst->data = calloc(1, 1);
        }
        release_resources(j);
        j->phase = JOB_DONE;
}

static int job_new(const corral_policy *p, corral_job **ret) {
        corral_job *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->result = calloc(1, sizeof *j->result);
        if (!j->result) {
                free(j);
                return -ENOMEM;
        }
        j->policy = *p;
        j->pidfd = j->timerfd = j->done_fd = j->report_fd = -EBADF;
        j->capture[0].fd = j->capture[1].fd = -EBADF;
        j->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (j->epfd < 0) {
                int r = negative_errno();
                free(j->result);
                free(j);
                return r;
        }
        *ret = j;
        return 0;
}

/* One cgroup rung: a base and a group in it, or why not. */
static int try_cgroup_rung(corral_job *j, corral_backend rung, char why[static CG_WHY_MAX]) {
        bool controllers = rung == CORRAL_BACKEND_CGROUP2;
        int r = cg_base_find(controllers, &j->base, why);
        if (r >= 0) {
                cg_base_sweep(j->base);
                r = cg_group_create(j->base, &j->policy, controllers, &j->group, why);
        }
        if (r < 0) {
                j->base = cg_base_free(j->base);
                return r;
        }
        j->backend = rung;
        return 0;
}

/* Climb down the ladder until a rung works; an explicitly requested rung must work. */
static int choose_backend(corral_job *j) {
        static const corral_backend cgroup_rungs[] = { CORRAL_BACKEND_CGROUP2, CORRAL_BACKEND_CGROUP2_CORE };
        corral_backend want = j->policy.backend;

        for (size_t i = 0; i < ELEMENTSOF(cgroup_rungs); i++) {
                corral_backend rung = cgroup_rungs[i];
                char why[CG_WHY_MAX];
                if (want != CORRAL_BACKEND_AUTO && want != rung)
                        continue;
                int r = try_cgroup_rung(j, rung, why);
                if (r >= 0)
                        return 0;
                if (want == rung) {
                        j->backend = want;
                        job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, -r, "backend %s is not usable here: %s",
                                 corral_backend_to_string(rung), why);
                        return r;
                }
        }
        j->backend = CORRAL_BACKEND_RLIMIT;
        return 0;
}

static const char *first_unenforced(const corral_enforcement *e) {
        if (e->memory == CORRAL_ENFORCER_NONE)
                return "MemoryMax";
        if (e->tasks == CORRAL_ENFORCER_NONE)
                return "TasksMax";
        if (e->cpu_quota == CORRAL_ENFORCER_NONE)
                return "CPUQuota";
        if (e->cpu_time == CORRAL_ENFORCER_NONE)
                return "CPUTimeMaxSec";
        return NULL;
}

static int open_captures(corral_job *j, int stdio[3]) {
        for (int i = 0; i < 2; i++) {
                int fds[2];
                if (pipe2(fds, O_CLOEXEC) < 0)
                        return negative_errno();
                (void) fcntl(fds[0], F_SETFL, O_NONBLOCK);
                j->capture[i].fd = fds[0];
                j->capture[i].cap = j->policy.capture_max;
                stdio[i + 1] = fds[1];
        }
        return 0;
}

static int command_start(void *userdata, const spawn_request *req, pid_t *ret_pid, int *ret_pidfd,
                         spawn_failure *ret_failure) {
        corral_job *j = userdata;
        spawn_request async = *req;
        async.ret_report_fd = &j->report_fd;
        return spawn_start(&async, ret_pid, ret_pidfd, ret_failure);
}

static int command_reap(void *userdata, int pidfd, siginfo_t *ret_info, struct rusage *ret_usage) {
        int r = spawn_wait_pidfd(pidfd, ret_info, ret_usage, WEXITED | WNOHANG);
        if (r < 0)
                return r;
        if (r == 1)
                return 0; /* from the pidfd: another reaper was first */
        return ret_info->si_pid == 0 ? -EAGAIN : 0;
}

static const job_starter command_starter = {
        .start = command_start,
        .reap = command_reap,
};

int job_add_watch(corral_job *j, int fd, void (*on_ready)(void *userdata, int fd), void *userdata) {
        if (j->n_watches >= JOB_MAX_WATCHES)
                return -ENOSPC;
        if (epoll_ctl(j->epfd, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = EPOLLIN, .data.fd = fd }) < 0)
                return negative_errno();
        j->watches[j->n_watches++] = (job_watch){ fd, on_ready, userdata };
        return 0;
}

void job_remove_watch(corral_job *j, int fd) {
        for (size_t i = 0; i < j->n_watches; i++)
                if (j->watches[i].fd == fd) {
                        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, fd, NULL);
                        /* monitor_dispatch matches each event to one watch: a moved entry is
                         * never the one it is looking at */
                        j->watches[i] = j->watches[--j->n_watches];
                        return;
                }
}

int job_spawn(const corral_policy *p, char *const argv[], const job_starter *starter, corral_job **ret,
              corral_diag *diag) {
        _cleanup_free_ char *path = NULL;
        int stdio[3] = { -1, -1, -1 };
        corral_job *j;
        int r;

        if (diag)
                diag->message[0] = '\0';
        if (!p || !argv || !argv[0] || !ret) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "no command to run");
                return -EINVAL;
        }
        r = job_new(p, &j);
        if (r < 0)
                return r;
        *ret = j;
        j->starter = starter ? *starter : command_starter;
        if (!starter)
                j->starter.userdata = j;
        j->name = strdup(argv[0]);
        if (!j->name) {
                job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, ENOMEM, "out of memory");
                return 0;
        }
        {
                int v = 0;
                if (prctl(PR_GET_CHILD_SUBREAPER, &v) >= 0)
                        j->subreaper = v != 0;
        }

        if (choose_backend(j) < 0)
                return 0;

        rl_plan(&j->policy, j->backend, &j->rlimits, &j->result->enforcement);
        const char *unenforced = first_unenforced(&j->result->enforcement);
        if (unenforced && j->policy.refuse_unenforced) {
                job_fail(j, CORRAL_STATUS_SPAWN_ERROR, EOPNOTSUPP,
                         "%s cannot be enforced on the %s backend (Unenforced=refuse)", unenforced,
                         corral_backend_to_string(j->backend));
                return 0;
        }

        if (!starter) {
                r = spawn_resolve(argv[0], &path);
                if (r < 0) {
                        job_fail(j, CORRAL_STATUS_SPAWN_ERROR, -r, "%s: %s", argv[0],
                                 r == -ENOENT ? "command not found" : strerror(-r));
                        return 0;
                }
        }
        if (j->policy.capture_output) {
                r = open_captures(j, stdio);
                if (r < 0) {
                        job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, -r, "cannot create capture pipes: %s",
                                 strerror(-r));
                        return 0;
                }
        }

        spawn_request req = {
                .path = path,
                .argv = argv,
                .envp = environ,
                .cgroup_fd = j->group ? cg_group_dirfd(j->group) : -EBADF,
                .rlimits = &j->rlimits,
                .stdio = { stdio[0], stdio[1], stdio[2] },
                .keep_fds = { -1, -1 },
        };
        spawn_failure failure;
        live_add(j);
        j->start_usec = now_usec();
        r = j->starter.start(j->starter.userdata, &req, &j->pid, &j->pidfd, &failure);
        safe_close(stdio[1]);
        safe_close(stdio[2]);
        if (r < 0) {
                j->pid = 0;
                job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, -r, "cannot start %s: %s", argv[0], strerror(-r));
                return 0;
        }
        if (r == 0) {
                char what[200];
                j->pid = 0;
                spawn_failure_describe(&failure, what, sizeof what);
                job_fail(j, CORRAL_STATUS_SPAWN_ERROR, failure.err, "%s: %s", argv[0], what);
                return 0;
        }

        if (j->report_fd >= 0) {
                r = job_add_watch(j, j->report_fd, on_exec_report, j);
                if (r < 0) {
                        job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, -r, "cannot watch the run: %s", strerror(-r));
                        return 0;
                }
        }
        r = monitor_start(j);
        if (r < 0) {
                job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, -r, "cannot watch the run: %s", strerror(-r));
                return 0;
        }
        return 0;
}

_public_ int corral_spawn(const corral_policy *p, char *const argv[], corral_job **ret, corral_diag *diag) {
        return job_spawn(p, argv, NULL, ret, diag);
}

_public_ int corral_job_fd(const corral_job *job) {
        return job ? job->epfd : -EBADF;
}

_public_ int corral_job_dispatch(corral_job *job) {
        if (!job)
                return -EINVAL;
        if (job->phase == JOB_DONE)
                return 1;
        return monitor_dispatch(job);
}

_public_ int corral_job_interrupt(corral_job *job) {
        if (!job)
                return -EINVAL;
        monitor_act(job, VERDICT_ACTION_INTERRUPT);
        return 0;
}

_public_ const corral_result *corral_job_result(const corral_job *job) {
        return job && job->phase == JOB_DONE ? job->result : NULL;
}

static void result_free(corral_result *r) {
        if (!r)
                return;
        free(r->stdout_capture.data);
        free(r->stderr_capture.data);
        free(r->fn_output.data);
        free(r->crash_report);
        free(r);
}

_public_ corral_job *corral_job_free(corral_job *job) {
        if (!job)
                return NULL;
        if (job->phase != JOB_DONE) {
                /* Nothing outlives the run, even when the caller walks away. */
                monitor_kill_everything(job);
                for (int i = 0; i < 10000 && corral_job_dispatch(job) == 0; i++)
                        (void) poll(&(struct pollfd){ .fd = job->epfd, .events = POLLIN }, 1, 100);
                if (job->phase != JOB_DONE)
                        release_resources(job);
        }
        for (int i = 0; i < 2; i++)
                free(job->capture[i].bytes.data);
        if (job->starter.release)
                job->starter.release(job->starter.userdata);
        safe_close(job->done_fd);
        safe_close(job->report_fd);
        free(job->name);
        safe_close(job->epfd);
        result_free(job->result);
        free(job);
        return NULL;
}

int job_wait(corral_job *job, corral_job **ret) {
        int r;
        for (;;) {
                r = corral_job_dispatch(job);
                if (r != 0)
                        break;
                if (poll(&(struct pollfd){ .fd = job->epfd, .events = POLLIN }, 1, -1) < 0 && errno != EINTR) {
                        r = negative_errno();
                        break;
                }
        }
        if (r < 0) {
                corral_job_free(job);
                return r;
        }
        *ret = job;
        return 0;
}

_public_ int corral_run(const corral_policy *p, char *const argv[], corral_job **ret, corral_diag *diag) {
        corral_job *job;
        int r = corral_spawn(p, argv, &job, diag);
        if (r < 0)
                return r;
        return job_wait(job, ret);
}

_public_ int corral_become_subreaper(void) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return negative_errno();
        return 0;
}

_public_ int corral_claim_cgroup(corral_diag *diag) {
        char why[CG_WHY_MAX];
        int r = cg_claim_own(why);
        if (diag)
                snprintf(diag->message, sizeof diag->message, "%s", why);
        return r;
}
