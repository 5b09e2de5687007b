/* SPDX-License-Identifier: MIT */
/*
 * libcorral: run an untrusted command or C function under kernel-enforced
 * limits, leave nothing running afterwards, and say exactly why it stopped.
 *
 * Shape: build a policy, spawn a job, watch one fd, dispatch, read the result.
 *
 *     corral_policy *p;
 *     corral_policy_new(&p);
 *     corral_policy_set(p, "MemoryMax", "256M", &diag);
 *     corral_spawn(p, argv, &job, &diag);
 *     while (corral_job_dispatch(job) == 0)
 *             poll(&(struct pollfd){ corral_job_fd(job), POLLIN }, 1, -1);
 *     const corral_result *r = corral_job_result(job);
 *
 * corral_run() is the blocking convenience on top. Functions return >= 0 on
 * success and -errno on failure; where a person needs more than an errno they
 * fill a caller-provided corral_diag with one line naming the bad input. The
 * library never prints, never exits and never aborts.
 *
 * The contract (keys, statuses, JSON result, exit codes) is SPEC.md.
 */
#ifndef CORRAL_H
#define CORRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORRAL_VERSION_MAJOR 0
#define CORRAL_VERSION_MINOR 1
#define CORRAL_VERSION_PATCH 0
#define CORRAL_VERSION_STRING "0.1.0"

/* "No limit" for sizes, counts and durations. */
#define CORRAL_INFINITY UINT64_MAX

typedef struct corral_policy corral_policy;
typedef struct corral_job corral_job;

/* One line for a person: which input was bad and why. Empty when not filled. */
typedef struct corral_diag {
        char message[256];
} corral_diag;

typedef enum corral_backend {
        CORRAL_BACKEND_AUTO,
        CORRAL_BACKEND_CGROUP2,      /* delegated cgroup v2 with memory, pids, cpu */
        CORRAL_BACKEND_CGROUP2_CORE, /* controller-less cgroup v2 group + rlimits */
        CORRAL_BACKEND_RLIMIT,       /* plain rlimits + subreaper */
        _CORRAL_BACKEND_MAX,
} corral_backend;

typedef enum corral_status {
        CORRAL_STATUS_OK,
        CORRAL_STATUS_EXITED,
        CORRAL_STATUS_SIGNALED,
        CORRAL_STATUS_WALL_TIMEOUT,
        CORRAL_STATUS_CPU_TIMEOUT,
        CORRAL_STATUS_MEMORY_LIMIT,
        CORRAL_STATUS_INTERRUPTED,
        CORRAL_STATUS_SPAWN_ERROR,
        CORRAL_STATUS_INTERNAL_ERROR,
        CORRAL_STATUS_SYSCALL_DENIED, /* the syscall filter denied a call whose action is kill */
        _CORRAL_STATUS_MAX,
} corral_status;

/* What enforced one limit of the policy. */
typedef enum corral_enforcer {
        CORRAL_ENFORCER_UNSET,       /* the policy did not set this limit */
        CORRAL_ENFORCER_CGROUP,
        CORRAL_ENFORCER_MONITOR,
        CORRAL_ENFORCER_RLIMIT_AS,
        CORRAL_ENFORCER_RLIMIT_DATA,
        CORRAL_ENFORCER_RLIMIT_CPU,
        CORRAL_ENFORCER_RLIMIT_NPROC,
        CORRAL_ENFORCER_NONE,        /* could not be enforced here */
        _CORRAL_ENFORCER_MAX,
} corral_enforcer;

#define CORRAL_MAX_SIGNALS_SENT 8

typedef struct corral_signal_sent {
        int signal;
        double at_s; /* seconds since the run started */
} corral_signal_sent;

/* A captured stream or a function's output: bytes owned by the result. */
typedef struct corral_bytes {
        unsigned char *data;
        size_t size;
        bool truncated; /* capture hit its cap; the rest was discarded */
} corral_bytes;

/* What enforced each limit; CORRAL_ENFORCER_UNSET for limits the policy did not set. */
typedef struct corral_enforcement {
        corral_enforcer memory, tasks, cpu_quota, cpu_time, wall_time;
} corral_enforcement;

/* evidence.syscall_denied: what the program tried that the filter denied. */
typedef struct corral_syscall_denied {
        bool denied;      /* the filter denied at least one call */
        char name[48];    /* the first denied call on its ABI ("ptrace"), its number and ABI */
        int nr;
        char arch[16];    /* "x86_64", "x86" (int 0x80), "x32", ... */
        int errno_answer; /* 0: the run was killed for it; else the call failed with this errno */
        uint64_t count;   /* denied calls in all */
} corral_syscall_denied;

/* What enforced each isolation setting of the policy ("seccomp", "netns", ...); NULL
 * where the policy did not ask for it, "none" where nothing here could (Unenforced=allow). */
typedef struct corral_isolation {
        const char *syscall_filter, *no_new_privileges, *private_network, *private_tmp, *protect_system,
                *paths, *private_pids, *private_ipc, *die_with_corral;
        const char *user; /* User=/Group= ("setresuid") or DynamicUser= ("dynamic-user") */
        int64_t uid, gid; /* what the run ran as when user is set, else -1 */
} corral_isolation;

/*
 * The result of one run. Read-only for callers; fields are only ever added at the
 * end. Sizes in bytes, times in seconds.
 */
typedef struct corral_result {
        corral_status status;
        bool has_exit_code; /* false: "exit_code": null */
        int exit_code;
        int signal;         /* 0: "signal": null */
        double wall_time_s;
        double cpu_time_s;
        double user_time_s;
        double system_time_s;
        uint64_t memory_peak_bytes;
        uint64_t oom_kills;
        uint64_t pids_peak;
        uint64_t pids_limit_hits;
        corral_backend backend;
        bool precise;
        char error[256]; /* empty: "error": null */
        int error_errno; /* the errno behind error (ENOENT: not found), 0 if none */

        corral_enforcement enforcement;

        struct {
                const char *limit_hit; /* "RuntimeMaxSec", "CPUTimeMaxSec", "MemoryMax", "Interrupt", or NULL */
                double deadline_s;     /* the limit that was hit, in its unit (s); 0 if none */
                corral_signal_sent signals_sent[CORRAL_MAX_SIGNALS_SENT];
                size_t n_signals_sent;
                uint64_t oom, oom_kill, oom_group_kill; /* memory.events deltas in the run's group */
                uint64_t pids_max;                      /* pids.events max: forks refused */
                double cpu_throttled_s;                 /* cpu.stat throttled_usec */
                uint64_t memory_max_bytes;              /* MemoryMax as enforced, 0 if unset */
                uint64_t rss_peak_sampled_bytes;        /* fallback: largest sampled tree RSS */
                const char *inferred;                   /* why precise is false, or NULL */
        } evidence;

        corral_bytes stdout_capture; /* with CaptureOutput= */
        corral_bytes stderr_capture;
        corral_bytes fn_output;      /* corral_run_fn(): what the function wrote */
        char *crash_report;          /* corral_run_fn(): signal, fault address, backtrace */
        corral_syscall_denied syscall_denied; /* SystemCallFilter=: evidence of what it tried */
        corral_isolation isolation;           /* enforcement of the isolation settings */
} corral_result;

/* ---- policy ---- */

int corral_policy_new(corral_policy **ret);
corral_policy *corral_policy_free(corral_policy *p);

/*
 * Set one property by its systemd name (MemoryMax, TasksMax, CPUQuota,
 * RuntimeMaxSec, TimeoutStopSec) or corral's own (CPUTimeMaxSec, Backend,
 * MemoryRlimit, CaptureOutput, CaptureMax, OutputMax, Unenforced). Unknown keys and
 * malformed values return -EINVAL and a diag naming both.
 */
int corral_policy_set(corral_policy *p, const char *key, const char *value, corral_diag *diag);
/* The same from "Key=Value". */
int corral_policy_set_assignment(corral_policy *p, const char *assignment, corral_diag *diag);
/*
 * A numeric limit as the policy holds it: MemoryMax, CaptureMax, OutputMax (bytes),
 * TasksMax (count), RuntimeMaxSec, CPUTimeMaxSec, TimeoutStopSec (microseconds),
 * CPUQuota (per-million of one CPU, 0 unset); CORRAL_INFINITY when unset. -ENOENT for
 * other keys. (corrald checks requests against its quotas with it.)
 */
int corral_policy_get_u64(const corral_policy *p, const char *key, uint64_t *ret);

/*
 * Apply a policy file: systemd-style Key=Value lines with the keys above, '#' or ';'
 * comments; later lines override earlier ones (and later corral_policy_set() calls
 * override the file). NAME (letters, digits, '_', '.', '-') is looked up in
 * /etc/corral/policies, then in the shipped datadir/corral/policies ($CORRAL_POLICY_PATH,
 * ':'-separated, replaces both); anything with a '/' is a path. On error p is unchanged
 * and diag says "FILE:LINE: Key: reason" (or why the file could not be read).
 */
int corral_policy_load(corral_policy *p, const char *name_or_path, corral_diag *diag);
/* The same, but only a NAME, never a path: for services loading a policy a client names. */
int corral_policy_load_name(corral_policy *p, const char *name, corral_diag *diag);
/*
 * The effective settings of p as policy-file lines (defaults commented out), each with
 * what would enforce it on this host ("# cgroup", "# rlimit-data", "# none", ...); free()
 * the text. Returns how many of the limits set would be enforced by nothing here (>= 0),
 * or -errno.
 */
int corral_policy_explain(const corral_policy *p, char **ret_text);

/* ---- jobs ---- */

/*
 * Start argv[0] (searched in $PATH) under the policy. Returns 0 and a job on
 * success, also when the command could not be started: that job is already
 * finished with status spawn_error. Returns -errno only when no job could be made.
 */
int corral_spawn(const corral_policy *p, char *const argv[], corral_job **ret, corral_diag *diag);

/* One fd to poll for POLLIN; call corral_job_dispatch() when it is readable. */
int corral_job_fd(const corral_job *job);

/* Bounded work, never blocks. Returns 1 when the job has finished, 0 while it runs, -errno on failure. */
int corral_job_dispatch(corral_job *job);

/* The run's main process (0 if it never started) and the backend it runs on. */
pid_t corral_job_pid(const corral_job *job);
corral_backend corral_job_backend(const corral_job *job);

/* Begin a graceful stop (SIGTERM, grace, SIGKILL); the status becomes interrupted. */
int corral_job_interrupt(corral_job *job);

/* The result once dispatch returned 1, else NULL. Owned by the job. */
const corral_result *corral_job_result(const corral_job *job);

/* The finished job's result as the JSON of `corral run --json` (free() it): for a run
 * through corrald, exactly the object the daemon sent. -EBUSY while it runs. */
int corral_job_result_json(const corral_job *job, char **ret_json);

/* Frees the job; a job still running is killed and reaped first (this blocks). */
corral_job *corral_job_free(corral_job *job);

/*
 * How a command starts, beyond its policy: its stdio, environment, working directory
 * and credentials (corrald runs each request with the client's). An attribute left
 * unset is what corral_spawn() does: the caller's stdio, environ, cwd and identity.
 */
typedef struct corral_spawn_attr corral_spawn_attr;
int corral_spawn_attr_new(corral_spawn_attr **ret);
corral_spawn_attr *corral_spawn_attr_free(corral_spawn_attr *a);
/* fds that become the run's 0, 1, 2 (the child gets copies; the caller keeps its own);
 * -1 leaves that one as the caller's. Ignored for 1 and 2 with CaptureOutput=yes. */
int corral_spawn_attr_set_stdio(corral_spawn_attr *a, int in, int out, int err);
/* The run's whole environment, copied ("K=V" strings, NULL-terminated); argv[0] is
 * searched in its PATH (or /usr/local/bin:/usr/bin:/bin). NULL: the caller's environ. */
int corral_spawn_attr_set_env(corral_spawn_attr *a, char *const envp[]);
/* Working directory: fchdir(dirfd) when dirfd >= 0 (the fd is dup'ed), else chdir(path). */
int corral_spawn_attr_set_cwd(corral_spawn_attr *a, int dirfd, const char *path);
/*
 * Run as uid/gid with exactly these supplementary groups: setgroups, setresgid,
 * setresuid in the child, after it joined its cgroup and got its rlimits, before the
 * working directory is entered (so it is checked as the new user) and exec. Needs
 * CAP_SETUID/CAP_SETGID; -EINVAL for uid or gid (uid_t) -1.
 */
int corral_spawn_attr_set_credentials(corral_spawn_attr *a, uid_t uid, gid_t gid, const gid_t *groups,
                                      size_t n_groups);
/* corral_spawn() with attributes (a may be NULL). */
int corral_spawn_with(const corral_policy *p, char *const argv[], const corral_spawn_attr *a, corral_job **ret,
                      corral_diag *diag);

/* Blocking: spawn, wait, return the finished job (read it with corral_job_result). */
int corral_run(const corral_policy *p, char *const argv[], corral_job **ret, corral_diag *diag);

/* ---- through corrald ---- */

/*
 * Runs through the corrald service instead of in this process: the same policy, the same
 * job fd / dispatch / result, with the run's limits enforced by the daemon's cgroup and
 * the command run as this process's user. path NULL: $CORRAL_SOCKET, else
 * /run/corral/corral.sock. connect checks that the daemon answers (-errno and a diag
 * naming the socket otherwise). The client may be freed while its jobs run.
 */
typedef struct corral_client corral_client;
int corral_client_connect(const char *path, corral_client **ret, corral_diag *diag);
corral_client *corral_client_free(corral_client *c);
/*
 * corral_spawn_with() through corrald. The attribute's stdio and working directory (else
 * this process's 0-2 and cwd) travel as file descriptors, so output goes straight where
 * ours goes; the environment is the attribute's, else environ; credentials are refused
 * (-EINVAL: the daemon runs each command as its caller). Blocks for one round trip, until
 * the daemon says the run started. Errors from the daemon: -EDQUOT (QuotaExceeded),
 * -EPERM (PermissionDenied, e.g. Backend= as non-root), -EINVAL (InvalidParameter),
 * -EAGAIN (Unavailable), with the daemon's reason in diag. corral_job_interrupt() asks
 * the daemon to stop the run (status interrupted); corral_job_free() of a running job
 * disconnects, and the daemon stops the run.
 */
int corral_client_spawn(corral_client *c, const corral_policy *p, char *const argv[], const corral_spawn_attr *a,
                        corral_job **ret, corral_diag *diag);

/* ---- functions ---- */

typedef struct corral_out corral_out;
/*
 * Append bytes to the function's output. Only inside the function, one thread at a
 * time. 0; -EMSGSIZE when the output would pass the policy's OutputMax (nothing more is
 * accepted, and the result will carry no output at all); else -errno of write(2).
 */
int corral_out_write(corral_out *out, const void *data, size_t size);

typedef void (*corral_fn)(const void *in, size_t in_len, corral_out *out);

typedef enum corral_start_method {
        CORRAL_START_FORK,       /* fork the caller: fast, inherits its state */
        CORRAL_START_FORKSERVER, /* fork a clean helper started by corral_forkserver_start() */
} corral_start_method;

/*
 * Run a C function instead of a command: fn(in, in_len, out) runs in a child process
 * under the policy, in its own transient cgroup (or under rlimits), watched by the same
 * monitor, with the same verdicts; the child exits 0 when fn returns (a function that
 * calls exit(N) ends the run with N, and its atexit handlers are the caller's).
 *
 *   - in: in_len bytes for the child, copied (forkserver) or in the child's copy of
 *     the caller's memory (fork); the caller may free it as soon as the call returns.
 *   - out: what the function returns. corral_out_write() appends bytes; the result has
 *     them in fn_output (non-NULL, NUL-terminated, also when empty). OutputMax= (default
 *     16M) bounds them. An oversized result is an error, never a truncation: the
 *     write that would pass the limit returns -EMSGSIZE, and the result has no bytes
 *     (fn_output.data NULL, .truncated true), error_errno EMSGSIZE and an error
 *     "function output exceeded OutputMax (N bytes)". A run that ended by itself (ok or
 *     exited) is then internal_error: the result could not be delivered; a run that a
 *     limit stopped or a signal killed keeps that status. Whatever the status, only
 *     status ok means fn_output is the function's whole result; after a crash or a
 *     timeout it holds what was written before.
 *   - crash: on SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT the child writes a report
 *     (signal, fault address, backtrace innermost first) into crash_report and dies of
 *     the signal: status signaled, signal N. Function names in the backtrace need the
 *     program linked with -rdynamic (meson: export_dynamic : true) and the function neither
 *     static nor hidden (-fvisibility=hidden); else they show as file(+offset), for
 *     addr2line.
 *   - stdout/stderr: the caller's, or captured into the result with CaptureOutput=.
 *     Bytes the caller had buffered in stdio are not written again by the child; what
 *     the function printf()s is flushed when it returns (not when it crashes).
 *
 * Start methods (StartMethod=, as in Python's multiprocessing):
 *   fork (default)  the child is a fork of the caller: fastest, sees all the caller's
 *                   state (globals, open libraries). In a multithreaded caller only the
 *                   forking thread is copied: a lock another thread holds at that moment
 *                   (the caller's own mutexes, a library's) stays locked in the child
 *                   forever, and a function that takes it hangs until RuntimeMaxSec.
 *                   (glibc's malloc and stdio locks are made safe by its fork.) On the
 *                   rlimit rungs the memory limit (RLIMIT_DATA) also counts the caller's
 *                   own heap and thread stacks, which the child inherits.
 *   forkserver      the child is forked by a helper that corral_forkserver_start()
 *                   made while the caller was single-threaded: no lock is held there,
 *                   and it is small. Costs one round trip to the helper per run and a
 *                   copy of `in`; the function sees the program as it was when the
 *                   helper started (no later globals, no libraries loaded later: such
 *                   a function is refused with spawn_error).
 */

/*
 * Start fn under the policy; pollable like corral_spawn(). Returns 0 and a job, also
 * when the function could not be started (status spawn_error, e.g. StartMethod=forkserver
 * without corral_forkserver_start()); -errno only when no job could be made (-EINVAL
 * with a diag for bad arguments).
 */
int corral_spawn_fn(const corral_policy *p, corral_fn fn, const void *in, size_t in_len, corral_job **ret,
                    corral_diag *diag);
/* Blocking: spawn, wait, return the finished job (read it with corral_job_result). */
int corral_run_fn(const corral_policy *p, corral_fn fn, const void *in, size_t in_len, corral_job **ret,
                  corral_diag *diag);

/*
 * Start the forkserver: call it early in main(), before the program creates threads
 * (and after corral_claim_cgroup() if you use that). It forks a helper process, a copy of
 * the program at this moment, that forks the children of StartMethod=forkserver runs
 * and reaps them. Returns 0 when started, 1 when it already runs, -errno on failure.
 * Thread-safe; a fork of the caller does not inherit it.
 */
int corral_forkserver_start(void);
/*
 * Stop it: every function still running through it is killed; free those jobs first.
 * Blocks until the helper has exited. Without it the helper ends when the program does.
 */
void corral_forkserver_stop(void);

/* ---- results ---- */

const char *corral_status_to_string(corral_status s);
const char *corral_backend_to_string(corral_backend b);
const char *corral_enforcer_to_string(corral_enforcer e);
/* "auto", "cgroup2", "cgroup2-core", "rlimit" -> backend; -EINVAL otherwise. */
int corral_backend_from_string(const char *s, corral_backend *ret);

/* The exit code `corral run` uses for this result (SPEC: 124, 125, 126, 127, 137, 128+N, ...). */
int corral_result_exit_code(const corral_result *r);

/* The result as one line of JSON (SPEC "Result"); free() it. */
int corral_result_to_json(const corral_result *r, char **ret_json);

/* ---- environment ---- */

/*
 * Make this process a child subreaper so that descendants that double-fork or call
 * setsid are re-parented to it and can be killed when their run ends. Call it only in
 * programs whose other children are corral's (the corral CLI and corrald do);
 * without it, the rlimit backend can only kill what stays in the run's session.
 */
int corral_become_subreaper(void);

/*
 * Move the calling process into a "supervisor" leaf of its own cgroup, so that the
 * cgroup can hold run groups with controllers (cgroup v2's no-internal-process rule).
 * Only when this process is alone in its cgroup. The CLI and corrald call it.
 */
int corral_claim_cgroup(corral_diag *diag);

/*
 * For a service that owns its cgroup base (corrald, after corral_claim_cgroup): lock the
 * base against a second owner (flock on its directory; -EBUSY and a diag if another
 * process holds it), then, for every run group a dead corral process left in it, kill
 * what is inside (cgroup.kill), wait until it is empty, remove it and report it to log
 * (may be NULL). Returns the lock's fd (>= 0): keep it open while serving. -ENOENT and a
 * diag when there is no cgroup v2 base. Groups are killed only when this process sits
 * alone in <base>/supervisor (the base is its own); else only empty ones are removed and
 * diag says so (a warning, the return value is still the lock).
 */
typedef void (*corral_sweep_log)(void *userdata, const char *group, unsigned killed);
int corral_service_claim_base(corral_sweep_log log, void *userdata, corral_diag *diag);

/*
 * Placement: find or make a cgroup base where run groups get memory, pids and cpu,
 * moving only this process (never another), by the first rule that works:
 *   1 OWN_CGROUP   its own cgroup, alone and delegated (it moves into a 'supervisor'
 *                  leaf), or a 'supervisor' leaf's parent;
 *   3 CONFIGURED   CGroupBase= of the policy, when set (an explicit base is tried before
 *                  a discovered one);
 *   2 SYSTEMD      a transient scope with Delegate=yes from systemd (the system manager
 *                  as root, the user's manager otherwise) holding this process; it ends
 *                  when this process does;
 *   4 NAMESPACE    as root without systemd: a 'corral' group at the root of this
 *                  process's cgroup namespace, controllers enabled there;
 *   5 FALLBACK     none: the ladder falls back; fix says what would make it precise.
 * After rules 1-4 this process sits in <base>/supervisor and the backends find the base
 * there. Once per process: later calls return the first answer. The CLI and corrald
 * call it before their first run; 0 on every rule (FALLBACK included), -errno only for
 * bad arguments or memory.
 */
typedef enum corral_placement_rule {
        CORRAL_PLACEMENT_NONE = 0, /* corral_place() did not run */
        CORRAL_PLACEMENT_OWN_CGROUP = 1,
        CORRAL_PLACEMENT_SYSTEMD = 2,
        CORRAL_PLACEMENT_CONFIGURED = 3,
        CORRAL_PLACEMENT_NAMESPACE = 4,
        CORRAL_PLACEMENT_FALLBACK = 5,
        _CORRAL_PLACEMENT_MAX,
} corral_placement_rule;

typedef struct corral_placement {
        corral_placement_rule rule;
        char base[512];                            /* the base; "" with FALLBACK */
        char unit[128];                            /* SYSTEMD: the scope's name */
        char why[_CORRAL_PLACEMENT_MAX][512];      /* per rule tried and not taken: why */
        char fix[512];                             /* FALLBACK: what to change, exactly */
} corral_placement;

int corral_place(const corral_policy *p, corral_placement *ret);
/* "own-cgroup", "systemd", "configured", "namespace", "fallback"; NULL if out of range. */
const char *corral_placement_rule_to_string(corral_placement_rule r);

/* Which backend `auto` would pick for the policy, and why each higher rung was skipped. */
typedef struct corral_doctor_report {
        corral_backend chosen;
        char reason[_CORRAL_BACKEND_MAX][512]; /* per rung: why it is not usable, "" if usable */
        char cgroup_base[512];                  /* where run groups would be created */
} corral_doctor_report;
int corral_doctor(const corral_policy *p, corral_doctor_report *ret);
/* The same, answered by corrald for its runs (io.corral.Sandbox.Doctor). */
int corral_client_doctor(corral_client *c, corral_doctor_report *ret, corral_diag *diag);

/* How this process's runs get their namespaces (PrivateTmp=, ProtectSystem=, the paths,
 * PrivateIPC=, PrivatePIDs=, PrivateNetwork=): directly (root, CAP_SYS_ADMIN), through a
 * user namespace of each run's own (anyone else, where the kernel allows it), or not at
 * all. user_namespaces says whether this kernel lets this process make a user namespace
 * (tried, not guessed); why says what refused it. */
typedef enum corral_namespaces {
        CORRAL_NAMESPACES_NONE,
        CORRAL_NAMESPACES_ROOT,
        CORRAL_NAMESPACES_USER,
} corral_namespaces;
typedef struct corral_namespaces_report {
        corral_namespaces how;
        bool user_namespaces;
        char why[256]; /* "" when user namespaces work here */
} corral_namespaces_report;
int corral_doctor_namespaces(corral_namespaces_report *ret);
/* "root", "user-ns", "none"; NULL if out of range. */
const char *corral_namespaces_to_string(corral_namespaces n);

#ifdef __cplusplus
}
#endif
#endif
