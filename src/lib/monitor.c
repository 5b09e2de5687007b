/* SPDX-License-Identifier: MIT */
/*
 * Theory of operation. Each job owns one epoll set, and that epoll fd is the fd a
 * caller polls. In it:
 *   - the pidfd of the main process: readable once it exited (we reap it with
 *     waitid(P_PIDFD), never waitpid(-1));
 *   - one timerfd (CLOCK_MONOTONIC, absolute), armed for the earliest of: the wall
 *     deadline, the next CPU check, the next fallback memory sample, the end of the
 *     grace period;
 *   - cgroup.events (EPOLLPRI): "populated 0" once the whole tree is gone;
 *   - memory.events (EPOLLPRI, cgroup2): OOM kills as the kernel counts them;
 *   - capture pipes, when output is captured.
 * Nothing polls in a loop: the CPU check is armed at the earliest moment the tree could
 * reach its budget (remaining budget / CPUs it may use), memory is sampled only on the
 * fallback rungs (no memory controller) and only with MemoryMax set.
 *
 * Who kills whom: on a limit the monitor records the action first (the first one
 * wins), sends SIGTERM to every task, and arms the grace timer; when it fires, or at
 * once without grace, cgroup.kill (cgroup rungs) or SIGKILL to every member of the
 * tree (rlimit). When the main process exits, whatever it left behind is killed at
 * once: nothing outlives the run.
 */
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "job.h"
#include "macro.h"
#include "spawn.h"

#define SAMPLE_INTERVAL_USEC (20 * USEC_PER_MSEC)
#define SAMPLE_INTERVAL_MAX_USEC (200 * USEC_PER_MSEC)
/* How fast a tree is assumed to fault memory in when spacing the fallback's samples:
 * two CPUs touching fresh pages (measured 1.2-2.5 GiB/s each on our 2-CPU hosts). The
 * watch is the second net: RLIMIT_DATA already caps each process exactly. */
#define SAMPLE_GROWTH_BYTES_PER_SEC (4ULL << 30)
#define CPU_CHECK_FLOOR_USEC (1 * USEC_PER_MSEC)

static int rearm(corral_job *j) {
        uint64_t next = j->wall_deadline;
        if (j->cpu_check_at < next)
                next = j->cpu_check_at;
        if (j->sample_at < next)
                next = j->sample_at;
        if (j->kill_at < next)
                next = j->kill_at;

        struct itimerspec its = {};
        if (next != NEVER) {
                /* 0 would disarm the timer: a deadline in the past fires at once */
                uint64_t at = next ? next : 1;
                its.it_value.tv_sec = (time_t) (at / USEC_PER_SEC);
                its.it_value.tv_nsec = (long) (at % USEC_PER_SEC * NSEC_PER_USEC);
        }
        if (timerfd_settime(j->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return negative_errno();
        return 0;
}

static void schedule_cpu_check(corral_job *j, uint64_t now, uint64_t used) {
        uint64_t limit = j->policy.cpu_time_max_usec;
        uint64_t remaining = used < limit ? limit - used : 0;
        uint64_t wait = (uint64_t) ((double) remaining / j->cpu_rate);
        j->cpu_check_at = now + (wait < CPU_CHECK_FLOOR_USEC ? CPU_CHECK_FLOOR_USEC : wait);
}

/* How many CPUs the tree may keep busy at once: affinity, capped by CPUQuota. */
static double cpu_rate(const corral_job *j) {
        cpu_set_t set;
        double n = 1;
        if (sched_getaffinity(0, sizeof set, &set) >= 0)
                n = CPU_COUNT(&set);
        if (j->ops->kernel_cpu_quota && j->policy.cpu_quota_ppm > 0) {
                double q = (double) j->policy.cpu_quota_ppm / 1e6;
                if (q < n)
                        n = q;
        }
        return n > 0 ? n : 1;
}

static int watch(corral_job *j, int fd, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.fd = fd };
        if (epoll_ctl(j->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return negative_errno();
        return 0;
}

static void unwatch(corral_job *j, int fd) {
        if (fd >= 0)
                (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int monitor_start(corral_job *j) {
        uint64_t now = j->start_usec;
        int r;

        j->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (j->timerfd < 0)
                return negative_errno();
        r = watch(j, j->timerfd, EPOLLIN);
        if (r < 0)
                return r;
        r = watch(j, j->pidfd, EPOLLIN);
        if (r < 0)
                return r;
        j->n_event_fds = j->ops->event_fds(j, j->event_fds);
        for (size_t i = 0; i < j->n_event_fds; i++) {
                r = watch(j, j->event_fds[i], EPOLLPRI);
                if (r < 0)
                        return r;
        }
        for (int i = 0; i < 2; i++)
                if (j->capture[i].fd >= 0) {
                        r = watch(j, j->capture[i].fd, EPOLLIN);
                        if (r < 0)
                                return r;
                }

        j->wall_deadline = j->policy.runtime_max_usec == CORRAL_INFINITY
                                   ? NEVER
                                   : now + j->policy.runtime_max_usec;
        j->cpu_check_at = j->sample_at = j->kill_at = NEVER;
        j->cpu_rate = cpu_rate(j);
        if (j->policy.cpu_time_max_usec != CORRAL_INFINITY)
                schedule_cpu_check(j, now, 0);
        if (j->ops->samples_memory && j->policy.memory_max != CORRAL_INFINITY)
                j->sample_at = now + SAMPLE_INTERVAL_USEC;
        return rearm(j);
}

void monitor_kill_everything(corral_job *j) {
        if (j->killed)
                return;
        j->kill_at = NEVER;
        job_note_kill(j);
        j->ops->kill(j);
}

void monitor_act(corral_job *j, verdict_action action) {
        if (j->action != VERDICT_ACTION_NONE || j->phase != JOB_RUNNING)
                return;

        /* Decide races by what happened first: an OOM kill the kernel already counted,
         * or CPU time already past its budget, came before this action. */
        uint64_t kills = 0;
        if (j->ops->oom_kills(j, &kills) >= 0 && kills > 0)
                j->oom_kill_before_action = true;
        if (action == VERDICT_ACTION_WALL && j->policy.cpu_time_max_usec != CORRAL_INFINITY) {
                uint64_t used;
                if (j->ops->cpu_usec(j, &used) >= 0 && used >= j->policy.cpu_time_max_usec)
                        action = VERDICT_ACTION_CPU;
        }
        j->action = action;
        j->action_usec = now_usec();
        j->wall_deadline = j->cpu_check_at = j->sample_at = NEVER;

        /* Out of memory gets no grace: the kernel's OOM killer gives none either; nor does a
         * call the filter denied (the kernel's seccomp kill gives none). */
        if (action == VERDICT_ACTION_MEMORY || action == VERDICT_ACTION_SYSCALL ||
            j->policy.timeout_stop_usec == 0) {
                monitor_kill_everything(j);
                (void) rearm(j);
                return;
        }
        job_note_signal(j, SIGTERM);
        j->ops->signal(j, SIGTERM);
        j->kill_at = j->action_usec + j->policy.timeout_stop_usec;
        /* An interruption arrives outside the timer's handler: arm the grace period now. */
        (void) rearm(j);
}

/* The memory watch of rungs without a kernel memory limit. */
static void sample_memory(corral_job *j, uint64_t now) {
        uint64_t rss = 0, tasks = 0;

        if (j->ops->memory(j, &rss, &tasks) >= 0) {
                if (rss > j->rss_peak)
                        j->rss_peak = rss;
                if (tasks > j->tasks_peak)
                        j->tasks_peak = tasks;
        }
        /* Like the CPU check: sample again when the tree could first reach the limit at
         * the assumed growth rate, between 20 ms and 200 ms from now. */
        uint64_t headroom = rss < j->policy.memory_max ? j->policy.memory_max - rss : 0;
        uint64_t wait = headroom / (SAMPLE_GROWTH_BYTES_PER_SEC / USEC_PER_SEC);
        if (wait < SAMPLE_INTERVAL_USEC)
                wait = SAMPLE_INTERVAL_USEC;
        if (wait > SAMPLE_INTERVAL_MAX_USEC)
                wait = SAMPLE_INTERVAL_MAX_USEC;
        j->sample_at = now + wait;
        if (rss > j->policy.memory_max)
                monitor_act(j, VERDICT_ACTION_MEMORY);
}

static void on_timer(corral_job *j) {
        uint64_t expirations, now = now_usec();
        ssize_t _unused_ n = read(j->timerfd, &expirations, sizeof expirations);

        if (j->wall_deadline <= now)
                monitor_act(j, VERDICT_ACTION_WALL);
        if (j->sample_at <= now)
                sample_memory(j, now);
        if (j->cpu_check_at <= now) {
                uint64_t used;
                if (j->ops->cpu_usec(j, &used) < 0)
                        j->cpu_check_at = now + SAMPLE_INTERVAL_USEC;
                else if (used >= j->policy.cpu_time_max_usec)
                        monitor_act(j, VERDICT_ACTION_CPU);
                else
                        schedule_cpu_check(j, now, used);
        }
        if (j->kill_at <= now)
                monitor_kill_everything(j);
        (void) rearm(j);
}

static void on_main_exit(corral_job *j) {
        int r = j->starter.reap(j->starter.userdata, j->pidfd, &j->info, &j->rusage);
        if (r == -EAGAIN)
                return; /* not yet: a spurious wake-up */
        if (r < 0) {
                /* It ended, but how is unknowable: the result will say so. */
                memset(&j->info, 0, sizeof j->info);
                j->status_lost = true;
        }
        j->exit_usec = now_usec();
        unwatch(j, j->pidfd);
        j->pidfd = safe_close(j->pidfd);
        j->phase = JOB_DRAINING;
        j->wall_deadline = j->cpu_check_at = j->sample_at = j->kill_at = NEVER;
        (void) rearm(j);

        /* Whatever the main process left behind dies now. */
        j->ops->end_tree(j);
}

/* Read one chunk; returns -EAGAIN when nothing is there yet. */
static int on_capture(corral_job *j, int fd) {
        for (int i = 0; i < 2; i++) {
                capture_stream *c = &j->capture[i];
                if (c->fd != fd)
                        continue;
                char buf[65536];
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0) {
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                return -EAGAIN;
                        unwatch(j, fd);
                        c->fd = safe_close(c->fd);
                        return 0;
                }
                size_t keep = (size_t) n;
                if (c->bytes.size + keep > c->cap) {
                        keep = c->cap - c->bytes.size;
                        c->bytes.truncated = true;
                }
                if (keep > 0) {
                        unsigned char *p = realloc(c->bytes.data, c->bytes.size + keep + 1);
                        if (!p) {
                                c->bytes.truncated = true;
                                return 0;
                        }
                        memcpy(p + c->bytes.size, buf, keep);
                        c->bytes.size += keep;
                        p[c->bytes.size] = '\0';
                        c->bytes.data = p;
                }
        }
        return 0;
}

/* Take what the tree wrote before it died, so a finished result holds all of it. A
 * pipe still open elsewhere (an escaped process) is not waited for. */
static void drain_captures(corral_job *j) {
        for (int i = 0; i < 2; i++) {
                while (j->capture[i].fd >= 0)
                        if (on_capture(j, j->capture[i].fd) == -EAGAIN)
                                break;
                unwatch(j, j->capture[i].fd);
                j->capture[i].fd = safe_close(j->capture[i].fd);
        }
}

static bool is_event_fd(const corral_job *j, int fd) {
        for (size_t i = 0; i < j->n_event_fds; i++)
                if (j->event_fds[i] == fd)
                        return true;
        return false;
}

int monitor_dispatch(corral_job *j) {
        struct epoll_event evs[8];

        if (j->phase == JOB_DONE)
                return 1;
        int n = epoll_wait(j->epfd, evs, ELEMENTSOF(evs), 0);
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();

        for (int i = 0; i < n; i++) {
                int fd = evs[i].data.fd;
                if (fd == j->timerfd)
                        on_timer(j);
                else if (fd == j->pidfd)
                        on_main_exit(j);
                else if (is_event_fd(j, fd)) {
                        if (j->ops->on_event(j, fd) < 0)
                                unwatch(j, fd);
                }
                else {
                        bool handled = false;
                        for (size_t w = 0; w < j->n_watches; w++)
                                if (j->watches[w].fd == fd) {
                                        j->watches[w].on_ready(j->watches[w].userdata, fd);
                                        handled = true;
                                }
                        if (!handled)
                                (void) on_capture(j, fd);
                }
        }

        if (j->phase == JOB_DRAINING && j->ops->populated(j) == 0) {
                drain_captures(j);
                return 1;
        }
        return 0;
}
