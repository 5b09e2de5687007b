/* SPDX-License-Identifier: MIT */
/*
 * A job's life, and the owner of the job: take a rung from the ladder (backend.c),
 * which creates the run's container, start the child into it (spawn.c, or a function's
 * starter), hand the epoll set to the monitor, and once the monitor says the tree is
 * gone write the result (outcome.c) and remove the container. Every path that gives up
 * still produces a finished job with a result and leaves no group, fd or process behind.
 *
 * Also the process-wide calls corral_become_subreaper() and corral_claim_cgroup().
 */
#include <fcntl.h>
#include <poll.h>
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

#include "attr.h"
#include "client.h"
#include "job.h"
#include "live.h"
#include "macro.h"
#include "spawn.h"

extern char **environ;

static void release_resources(corral_job *j) {
        /* After rmdir a group's event fds report errors forever: leave epoll first. */
        for (size_t i = 0; i < j->n_event_fds; i++)
                if (j->epfd >= 0)
                        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, j->event_fds[i], NULL);
        j->n_event_fds = 0;
        if (j->ops)
                j->ops->remove(j);
        for (size_t i = 0; i < j->n_watches; i++)
                if (j->epfd >= 0)
                        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, j->watches[i].fd, NULL);
        j->n_watches = 0;
        j->pidfd = safe_close(j->pidfd);
        j->timerfd = safe_close(j->timerfd);
        for (int i = 0; i < 2; i++)
                j->capture[i].fd = safe_close(j->capture[i].fd);
        iso_release(j);
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
        res->backend = j->ops ? j->ops->id : j->policy.backend;
        res->precise = false;

        if (j->pid > 0 && j->pidfd >= 0) {
                siginfo_t info;
                (void) syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL, 0);
                (void) spawn_wait_pidfd(j->pidfd, &info, NULL, WEXITED);
                j->pid = 0;
        }
        if (j->ops)
                j->ops->kill(j);
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
        if (r == 1 && j->exec_failure.step == SPAWN_STEP_PIDNS_EXIT) {
                /* PrivatePIDs=: not a failure, the program's own end, from its init */
                j->pidns_status_known = true;
                j->pidns_status = j->exec_failure.detail;
                r = 0;
        }
        j->exec_failed = r == 1;
        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, fd, NULL);
        for (size_t i = 0; i < j->n_watches; i++)
                if (j->watches[i].fd == fd)
                        j->watches[i] = j->watches[--j->n_watches];
        j->report_fd = safe_close(j->report_fd);
}

/* The tree is gone: the result, then nothing of the run is left. */
static void job_finish(corral_job *j) {
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
                res->backend = j->ops->id;
                res->wall_time_s = (double) (j->exit_usec - j->start_usec) / 1e6;
                live_reap_zombie_orphans(j);
                release_resources(j);
                j->phase = JOB_DONE;
                return;
        }
        outcome_write(j);
        live_reap_zombie_orphans(j);
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
        return job_spawn_with(p, argv, starter, NULL, ret, diag);
}

int job_spawn_with(const corral_policy *p, char *const argv[], const job_starter *starter,
                   const corral_spawn_attr *attr, corral_job **ret, corral_diag *diag) {
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
        j->caller_image = starter != NULL;
        if (!starter)
                j->starter.userdata = j;
        j->name = strdup(argv[0]);
        if (!j->name) {
                job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, ENOMEM, "out of memory");
                return 0;
        }
        char why[CG_WHY_MAX];
        r = backend_choose(j, &j->ops, &j->result->enforcement, why);
        if (r < 0) {
                job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, -r, "backend %s is not usable here: %s",
                         corral_backend_to_string(j->policy.backend), why);
                return 0;
        }
        const char *unenforced = first_unenforced(&j->result->enforcement);
        if (unenforced && j->policy.refuse_unenforced) {
                job_fail(j, CORRAL_STATUS_SPAWN_ERROR, EOPNOTSUPP,
                         "%s cannot be enforced on the %s backend (Unenforced=refuse)", unenforced,
                         corral_backend_to_string(j->ops->id));
                return 0;
        }

        bool relative_to_cwd = attr && (attr->cwd_fd >= 0 || attr->cwd_path) && argv[0][0] != '/' &&
                               strchr(argv[0], '/');
        if (!starter && relative_to_cwd) {
                /* "./prog" names a file in the run's working directory, which we enter only
                 * in the child: exec reports it if it is not there. */
                path = strdup(argv[0]);
                if (!path) {
                        job_fail(j, CORRAL_STATUS_INTERNAL_ERROR, ENOMEM, "out of memory");
                        return 0;
                }
        } else if (!starter) {
                /* A run with its own environment is searched in that environment's PATH. */
                const char *search = attr && attr->env ? attr_env_path(attr) : NULL;
                if (attr && attr->env && !search)
                        search = "/usr/local/bin:/usr/bin:/bin";
                r = spawn_resolve_in(argv[0], search, &path);
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

        if (starter && starter->function && iso_unsupported_for_functions(&j->policy)) {
                job_fail(j, CORRAL_STATUS_SPAWN_ERROR, EOPNOTSUPP, "%s", iso_unsupported_for_functions(&j->policy));
                return 0;
        }
        {
                char iwhy[320];
                r = iso_prepare(j, iwhy, sizeof iwhy);
                if (r < 0) {
                        job_fail(j, CORRAL_STATUS_SPAWN_ERROR, -r, "%s", iwhy);
                        return 0;
                }
        }

        spawn_credentials creds = {};
        spawn_cwd cwd = { -EBADF, NULL };
        if (attr) {
                for (int i = 0; i < 3; i++)
                        if (stdio[i] < 0)
                                stdio[i] = attr->stdio[i]; /* the attribute keeps owning it */
                if (attr->has_credentials)
                        creds = (spawn_credentials){ attr->uid, attr->gid, attr->groups, attr->n_groups };
                cwd = (spawn_cwd){ attr->cwd_fd, attr->cwd_path };
        }
        const spawn_credentials *credentials = attr && attr->has_credentials ? &creds : NULL;
        if (iso_credentials(j)) {
                /* DynamicUser= narrows a caller's credentials; User=/Group= would replace them */
                if (credentials && (j->policy.iso.user_set || j->policy.iso.group_set)) {
                        job_fail(j, CORRAL_STATUS_SPAWN_ERROR, EPERM,
                                 "User=/Group= cannot override the credentials the run was given");
                        return 0;
                }
                credentials = iso_credentials(j);
        }
        spawn_request req = {
                .path = path,
                .argv = argv,
                .envp = attr && attr->env ? attr->env : environ,
                .stdio = { stdio[0], stdio[1], stdio[2] },
                .keep_fds = { -1, -1 },
                .iso = iso_request(j),
                .credentials = credentials,
                .cwd = attr && (cwd.fd >= 0 || cwd.path) ? &cwd : NULL,
        };
        j->ops->prepare_start(j, &req);
        spawn_failure failure;
        live_add(j);
        j->start_usec = now_usec();
        r = j->starter.start(j->starter.userdata, &req, &j->pid, &j->pidfd, &failure);
        struct rusage self;
        if (getrusage(RUSAGE_SELF, &self) == 0)
                j->caller_maxrss = (uint64_t) self.ru_maxrss * 1024;
        if (j->caller_image && j->policy.start_method == CORRAL_START_FORK)
                j->caller_rss = rl_self_rss();
        if (j->policy.capture_output) {
                safe_close(stdio[1]);
                safe_close(stdio[2]);
        }
        iso_started(j);
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

_public_ int corral_spawn_with(const corral_policy *p, char *const argv[], const corral_spawn_attr *a,
                               corral_job **ret, corral_diag *diag) {
        return job_spawn_with(p, argv, NULL, a, ret, diag);
}

/* Make the job's fd readable until the eventfd is read again (a finished job's stays so). */
static int job_mark_readable(corral_job *j) {
        if (j->done_fd >= 0)
                return eventfd_write(j->done_fd, 1) < 0 ? negative_errno() : 0;
        j->done_fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->done_fd < 0)
                return negative_errno();
        if (epoll_ctl(j->epfd, EPOLL_CTL_ADD, j->done_fd, &(struct epoll_event){ .events = EPOLLIN, .data.fd = j->done_fd }) < 0)
                return negative_errno();
        return 0;
}

_public_ int corral_client_spawn(corral_client *c, const corral_policy *p, char *const argv[],
                                 const corral_spawn_attr *a, corral_job **ret, corral_diag *diag) {
        client_run *run;
        corral_job *j;
        if (diag)
                diag->message[0] = '\0';
        int r = client_run_start(c, p, argv, a, &run, diag);
        if (r < 0)
                return r;
        r = job_new(p, &j);
        if (r < 0) {
                client_run_free(run);
                return r;
        }
        j->remote = run;
        j->pid = client_run_pid(run);
        j->name = strdup(argv[0]);
        if (!j->name || epoll_ctl(j->epfd, EPOLL_CTL_ADD, client_run_fd(run),
                                  &(struct epoll_event){ .events = EPOLLIN, .data.fd = client_run_fd(run) }) < 0) {
                corral_job_free(j);
                return -ENOMEM;
        }
        /* The result (spawn_error) or a reply read along with "started" is in our buffer,
         * not on the socket: keep the job readable until dispatch has taken it (found by
         * bench/soak --connect: quick runs never woke the caller's loop). */
        if (client_run_pending(run) && job_mark_readable(j) < 0) {
                corral_job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

/* A run through corrald: its result, or why it was lost. */
static int remote_dispatch(corral_job *j) {
        int r = client_run_dispatch(j->remote, j->result);
        if (r == 0) {
                /* Whatever was buffered is taken: from now on the socket wakes the caller. */
                eventfd_t v;
                if (j->done_fd >= 0)
                        (void) eventfd_read(j->done_fd, &v);
                return 0;
        }
        if (r < 0) {
                *j->result = (corral_result){ .status = CORRAL_STATUS_INTERNAL_ERROR, .error_errno = -r,
                                              .backend = client_run_backend(j->remote) };
                snprintf(j->result->error, sizeof j->result->error, "lost corrald before the result came: %s",
                         strerror(-r));
        }
        (void) epoll_ctl(j->epfd, EPOLL_CTL_DEL, client_run_fd(j->remote), NULL);
        (void) job_mark_readable(j);
        j->phase = JOB_DONE;
        return 1;
}

_public_ int corral_job_result_json(const corral_job *job, char **ret_json) {
        if (!job || !ret_json)
                return -EINVAL;
        if (job->phase != JOB_DONE)
                return -EBUSY;
        if (job->remote && client_run_result_json(job->remote, ret_json) >= 0)
                return 0;
        return corral_result_to_json(job->result, ret_json);
}

_public_ pid_t corral_job_pid(const corral_job *job) {
        return job ? job->pid : 0;
}

_public_ corral_backend corral_job_backend(const corral_job *job) {
        if (!job)
                return CORRAL_BACKEND_AUTO;
        if (job->remote)
                return client_run_backend(job->remote);
        return job->ops ? job->ops->id : job->result->backend;
}

_public_ int corral_job_fd(const corral_job *job) {
        return job ? job->epfd : -EBADF;
}

_public_ int corral_job_dispatch(corral_job *job) {
        if (!job)
                return -EINVAL;
        if (job->phase == JOB_DONE)
                return 1;
        if (job->remote)
                return remote_dispatch(job);
        int r = monitor_dispatch(job);
        if (r <= 0)
                return r;
        job_finish(job);
        return 1;
}

_public_ int corral_job_interrupt(corral_job *job) {
        if (!job)
                return -EINVAL;
        if (job->remote)
                return job->phase == JOB_DONE ? 0 : client_run_interrupt(job->remote);
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
        if (job->remote)
                job->remote = client_run_free(job->remote); /* corrald stops a run whose client left */
        else if (job->phase != JOB_DONE) {
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

_public_ int corral_service_claim_base(corral_sweep_log log, void *userdata, corral_diag *diag) {
        char why[CG_WHY_MAX] = "";
        cg_base *b = NULL;
        if (diag)
                diag->message[0] = '\0';
        int r = cg_base_find(true, &b, why);
        if (r < 0)
                r = cg_base_find(false, &b, why);
        if (r >= 0) {
                r = cg_base_claim(b, log, userdata, why);
                cg_base_free(b);
        }
        if (diag && why[0]) /* on success: a warning (the base is not ours alone) */
                snprintf(diag->message, sizeof diag->message, "%s", why);
        return r;
}

_public_ int corral_claim_cgroup(corral_diag *diag) {
        char why[CG_WHY_MAX];
        int r = cg_claim_own(why);
        if (diag)
                snprintf(diag->message, sizeof diag->message, "%s", why);
        return r;
}
