/* SPDX-License-Identifier: MIT */
/*
 * corral_spawn_fn() / corral_run_fn(): a C function as a run, under the same policy,
 * backend ladder, monitor and verdicts as a command.
 *
 * Theory of operation. The job machinery (job.c) does everything a command run does;
 * this file is its starter for functions. At start it makes two CLOEXEC pipes, the
 * output pipe and the crash pipe, and has the child started with their write ends
 * kept (spawn.c closes every other fd but 0-2):
 *   - StartMethod=fork: spawn_start() forks the caller (glibc fork(), so its atfork
 *     handlers run); `in` is already in the child's copy of memory. We are the parent
 *     and reap it with waitid(P_PIDFD).
 *   - StartMethod=forkserver: forkserver.c asks the helper to fork the child; `in`
 *     travels as a sealed memfd that the helper maps, and the helper reaps the child
 *     and sends its status and rusage on the job's channel, which is what the monitor
 *     waits on.
 * In the child, fn_child_main() installs the crash handler (crash.c), discards stdio
 * buffers inherited from the caller, runs fn(in, in_len, out) and flushes stdout and
 * stderr; the child exits 0 when fn returns. corral_out_write() writes to the output
 * pipe. Both read ends are in the job's epoll set (job_add_watch) and drained while
 * the function runs, so a large result never blocks the child; whatever is left is
 * read in finish(), once the tree is gone, into result->fn_output and crash_report.
 *
 * OutputMax: the child refuses a write that would pass it (-EMSGSIZE), and to make the
 * parent see it sends exactly one byte more than OutputMax; the parent, which counts
 * every byte it reads (a function may also write to the fd directly), discards the
 * output as soon as the count passes the limit. The result then has no output, never
 * a truncated one: see finish().
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash.h"
#include "fn.h"
#include "forkserver.h"
#include "job.h"
#include "macro.h"
#include "setup.h"
#include "spawn.h"

/* A crash report is a few lines and up to 64 frames; anything longer is cut here. */
#define FN_CRASH_REPORT_MAX (16 * 1024)
/* Reads per wake-up of the output pipe: bounded work per dispatch. */
#define FN_READS_PER_DISPATCH 16
/* Reads once the tree is gone: more than a pipe can hold (64 KiB by default, 1 MiB max). */
#define FN_READS_AT_FINISH 64

/* ---- in the child ---- */

struct corral_out {
        int fd;
        uint64_t max;
        uint64_t written;
        bool overflowed;
};

_public_ int corral_out_write(corral_out *out, const void *data, size_t size) {
        if (!out || (!data && size > 0))
                return -EINVAL;
        if (out->overflowed)
                return -EMSGSIZE;
        bool over = size > out->max - out->written;
        /* Past the limit, send one byte too many so that the parent knows. */
        size_t n = over ? (size_t) (out->max - out->written) + 1 : size;
        const char *p = data;
        while (n > 0) {
                ssize_t k = write(out->fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                p += k;
                n -= (size_t) k;
                if (!over)
                        out->written += (uint64_t) k;
        }
        if (over) {
                out->overflowed = true;
                return -EMSGSIZE;
        }
        return 0;
}

int fn_child_prepare(void *arg) {
        fn_child *c = arg;

        /* ps, top and the OOM killer's log name the program, not the forkserver */
        if (c->comm)
                (void) prctl(PR_SET_NAME, c->comm);
        /* Without it the function still runs; it only loses its crash report. */
        (void) crash_install(SETUP_FN_CRASH_FD);
        /* Bytes the caller had buffered but not yet written are the caller's, not ours. */
        __fpurge(stdout);
        __fpurge(stderr);
        return 0;
}

int fn_child_main(void *arg) {
        fn_child *c = arg;
        corral_out out = { .fd = SETUP_FN_OUT_FD, .max = c->output_max };

        c->fn(c->in, c->in_len, &out);
        (void) fflush(stdout);
        (void) fflush(stderr);
        return 0;
}

/* ---- in the caller ---- */

typedef struct fn_run {
        corral_job *job;
        corral_fn fn;
        const void *in;
        size_t in_len;
        corral_start_method method;
        uint64_t output_max;

        int out_fd;   /* read ends, or -EBADF */
        int crash_fd;
        fn_child child; /* fork: what the child runs, in its copy of our memory */

        unsigned char *output;
        size_t output_size, output_cap;
        uint64_t output_seen; /* every byte read, kept or not */
        bool output_over;     /* passed OutputMax */
        bool output_oom;      /* could not hold it */
        char crash[FN_CRASH_REPORT_MAX + 1];
        size_t crash_len;
        bool server_lost;
} fn_run;

static void output_add(fn_run *run, const unsigned char *buf, size_t n) {
        run->output_seen += n;
        if (run->output_over || run->output_oom)
                return;
        if (run->output_seen > run->output_max) {
                run->output_over = true;
                free(run->output);
                run->output = NULL;
                run->output_size = run->output_cap = 0;
                return;
        }
        if (run->output_size + n + 1 > run->output_cap) {
                size_t cap = run->output_cap ? run->output_cap : 4096;
                while (cap < run->output_size + n + 1)
                        cap *= 2;
                unsigned char *p = realloc(run->output, cap);
                if (!p) {
                        run->output_oom = true;
                        free(run->output);
                        run->output = NULL;
                        run->output_size = run->output_cap = 0;
                        return;
                }
                run->output = p;
                run->output_cap = cap;
        }
        memcpy(run->output + run->output_size, buf, n);
        run->output_size += n;
        run->output[run->output_size] = '\0';
}

/* One read: 1 got bytes, 0 EOF (or a dead pipe), -EAGAIN nothing there yet. */
static int read_output(fn_run *run) {
        unsigned char buf[65536];
        ssize_t n = read(run->out_fd, buf, sizeof buf);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : 0;
        if (n == 0)
                return 0;
        output_add(run, buf, (size_t) n);
        return 1;
}

static int read_crash(fn_run *run) {
        char buf[4096];
        ssize_t n = read(run->crash_fd, buf, sizeof buf);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : 0;
        if (n == 0)
                return 0;
        size_t keep = (size_t) n;
        if (keep > FN_CRASH_REPORT_MAX - run->crash_len)
                keep = FN_CRASH_REPORT_MAX - run->crash_len;
        memcpy(run->crash + run->crash_len, buf, keep);
        run->crash_len += keep;
        return 1;
}

static void stop_reading(fn_run *run, int *fd) {
        if (run->job)
                job_remove_watch(run->job, *fd);
        *fd = safe_close(*fd);
}

static void on_output(void *userdata, int fd) {
        fn_run *run = userdata;
        for (int i = 0; i < FN_READS_PER_DISPATCH; i++) {
                int r = read_output(run);
                if (r == -EAGAIN)
                        return;
                if (r == 0) {
                        stop_reading(run, &run->out_fd);
                        return;
                }
        }
}

static void on_crash(void *userdata, int fd) {
        fn_run *run = userdata;
        int r = read_crash(run);
        if (r == 0)
                stop_reading(run, &run->crash_fd);
}

/* The input as a sealed memfd for the forkserver, or -EBADF when there is none. */
static int input_memfd(const void *in, size_t len, int *ret_fd) {
        if (len == 0) {
                *ret_fd = -EBADF;
                return 0;
        }
        _cleanup_close_ int fd = memfd_create("corral-fn-input", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        const char *p = in;
        for (size_t left = len; left > 0;) {
                ssize_t k = write(fd, p, left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? negative_errno() : -EIO;
                p += k;
                left -= (size_t) k;
        }
        /* The server maps what we wrote; nobody changes it afterwards. */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int fn_start(void *userdata, const spawn_request *req, pid_t *ret_pid, int *ret_pidfd,
                    spawn_failure *ret_failure) {
        fn_run *run = userdata;
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, crash_r = -EBADF, crash_w = -EBADF;
        int p[2], r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        out_r = p[0];
        out_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        crash_r = p[0];
        crash_w = p[1];
        if (fcntl(out_r, F_SETFL, O_NONBLOCK) < 0 || fcntl(crash_r, F_SETFL, O_NONBLOCK) < 0)
                return negative_errno();

        run->child = (fn_child){
                .fn = run->fn,
                .in = run->in,
                .in_len = run->in_len,
                .out_fd = out_w,
                .crash_fd = crash_w,
                .output_max = run->output_max,
        };
        spawn_request sreq = *req;
        sreq.keep_fds[0] = out_w;
        sreq.keep_fds[1] = crash_w;
        sreq.fn = fn_child_main;
        sreq.fn_prepare = fn_child_prepare;
        sreq.fn_arg = &run->child;

        if (run->method == CORRAL_START_FORKSERVER) {
                _cleanup_close_ int input = -EBADF;
                r = input_memfd(run->in, run->in_len, &input);
                if (r < 0)
                        return r;
                r = forkserver_spawn(&sreq, &run->child, input, ret_pid, ret_pidfd, ret_failure);
        } else
                r = spawn_start(&sreq, ret_pid, ret_pidfd, ret_failure);
        if (r > 0) {
                run->out_fd = TAKE_FD(out_r);
                run->crash_fd = TAKE_FD(crash_r);
        }
        return r;
}

static int fn_reap(void *userdata, int fd, siginfo_t *ret_info, struct rusage *ret_usage) {
        fn_run *run = userdata;
        int r;

        if (run->method == CORRAL_START_FORKSERVER) {
                r = forkserver_reap(fd, ret_info, ret_usage);
                if (r < 0 && r != -EAGAIN)
                        run->server_lost = true;
                return r;
        }
        r = spawn_wait_pidfd(fd, ret_info, ret_usage, WEXITED | WNOHANG);
        if (r < 0)
                return r;
        return ret_info->si_pid == 0 ? -EAGAIN : 0;
}

static _printf_(2, 3) void add_error(corral_result *res, const char *fmt, ...) {
        char msg[sizeof res->error];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (res->error[0]) {
                size_t n = strlen(res->error);
                snprintf(res->error + n, sizeof res->error - n, "; %s", msg);
        } else
                snprintf(res->error, sizeof res->error, "%s", msg);
}

/* A run that ended by itself did not deliver its result: that is not ok. */
static bool ended_by_itself(const corral_result *res) {
        return res->status == CORRAL_STATUS_OK || res->status == CORRAL_STATUS_EXITED;
}

static void fn_finish(void *userdata, corral_result *res) {
        fn_run *run = userdata;

        /* The tree is gone: take what its pipes still hold. Bounded (and never waiting):
         * an escaped process may hold a pipe and keep writing. */
        for (int i = 0; i < FN_READS_AT_FINISH && run->out_fd >= 0 && read_output(run) > 0; i++)
                ;
        for (int i = 0; i < FN_READS_AT_FINISH && run->crash_fd >= 0 && read_crash(run) > 0; i++)
                ;
        if (run->out_fd >= 0)
                stop_reading(run, &run->out_fd);
        if (run->crash_fd >= 0)
                stop_reading(run, &run->crash_fd);

        if (run->crash_len > 0) {
                run->crash[run->crash_len] = '\0';
                res->crash_report = strdup(run->crash);
        }

        if (run->server_lost) {
                /* Whatever the monitor guessed about the exit: this is why it is unknown. */
                res->status = CORRAL_STATUS_INTERNAL_ERROR;
                res->error_errno = EPIPE;
                res->has_exit_code = false;
                res->signal = 0;
                snprintf(res->error, sizeof res->error,
                         "the forkserver went away before it said how the function ended");
        }

        if (run->output_over) {
                /* Never a partial result: no bytes, truncated set, and not ok. */
                res->fn_output = (corral_bytes){ .truncated = true };
                if (ended_by_itself(res))
                        res->status = CORRAL_STATUS_INTERNAL_ERROR;
                res->error_errno = EMSGSIZE;
                add_error(res, "function output exceeded OutputMax (%ju bytes)", (uintmax_t) run->output_max);
        } else if (run->output_oom) {
                res->fn_output = (corral_bytes){ .truncated = true };
                if (ended_by_itself(res))
                        res->status = CORRAL_STATUS_INTERNAL_ERROR;
                res->error_errno = ENOMEM;
                add_error(res, "out of memory holding the function's output (%ju bytes)",
                          (uintmax_t) run->output_seen);
        } else {
                /* Even an empty output is "" (non-NULL): the function ran and wrote nothing. */
                if (!run->output)
                        run->output = calloc(1, 1);
                res->fn_output = (corral_bytes){ .data = run->output, .size = run->output_size };
                run->output = NULL;
        }
}

static void fn_release(void *userdata) {
        fn_run *run = userdata;
        if (!run)
                return;
        safe_close(run->out_fd);
        safe_close(run->crash_fd);
        free(run->output);
        free(run);
}

_public_ int corral_spawn_fn(const corral_policy *p, corral_fn fn, const void *in, size_t in_len,
                             corral_job **ret, corral_diag *diag) {
        static char *const argv[] = { (char *) "fn", NULL };
        corral_job *job;
        int r;

        if (diag)
                diag->message[0] = '\0';
        if (!p || !fn || !ret || (!in && in_len > 0)) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "%s",
                                 !fn ? "no function to run" : !in && in_len > 0 ? "input is NULL but in_len is not 0"
                                                                             : "no policy or no place for the job");
                return -EINVAL;
        }
        /* Before any fork: the child must not be the first to load the unwinder. */
        crash_prepare();

        fn_run *run = calloc(1, sizeof *run);
        if (!run)
                return -ENOMEM;
        *run = (fn_run){
                .fn = fn,
                .in = in,
                .in_len = in_len,
                .method = p->start_method,
                .output_max = p->output_max,
                .out_fd = -EBADF,
                .crash_fd = -EBADF,
        };
        const job_starter starter = {
                .start = fn_start,
                .reap = fn_reap,
                .finish = fn_finish,
                .release = fn_release,
                .userdata = run,
                .function = true,
        };
        r = job_spawn(p, argv, &starter, &job, diag);
        if (r < 0) {
                fn_release(run);
                return r;
        }
        /* From here the job owns run (release). */
        run->job = job;
        if (job->phase != JOB_DONE) {
                r = job_add_watch(job, run->out_fd, on_output, run);
                if (r >= 0)
                        r = job_add_watch(job, run->crash_fd, on_crash, run);
                if (r < 0) {
                        corral_job_free(job);
                        return r;
                }
        }
        /* `in` was copied (forkserver) or lives in the child's memory (fork): the caller may
         * free it now. */
        run->in = NULL;
        *ret = job;
        return 0;
}

_public_ int corral_run_fn(const corral_policy *p, corral_fn fn, const void *in, size_t in_len,
                           corral_job **ret, corral_diag *diag) {
        corral_job *job;
        int r = corral_spawn_fn(p, fn, in, in_len, &job, diag);
        if (r < 0)
                return r;
        return job_wait(job, ret);
}
