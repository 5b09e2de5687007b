/* SPDX-License-Identifier: MIT */
/*
 * Classification of a finished run, following SPEC's precedence:
 *   1. the first limit the monitor acted on wins, unless the kernel had already
 *      OOM-killed part of the tree before that action (then memory_limit);
 *   2. without an action, an OOM kill in the run's own group with its own oom
 *      event is memory_limit; an OOM kill without one came from an ancestor or the
 *      host and is reported as such, never as our limit;
 *   3. CPU time that reached CPUTimeMaxSec before the monitor noticed is still cpu_timeout;
 *   4. on the fallback rungs, SIGXCPU means RLIMIT_CPU only when the process's own CPU
 *      time shows it reached the limit, and an allocation failure near MemoryMax is a
 *      memory_limit that is inferred, never precise;
 *   5. else the way the process ended: ok, exited or signaled.
 * A signal alone never decides a limit status: anyone may send it (the process itself
 * included). Each limit rule needs a measurement that the limit was reached; the signal
 * only says how the process died. A task-limit refusal never changes the status by itself.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

#include "verdict.h"

static corral_status status_of_exit(const verdict_input *in) {
        if (in->exit_how == CLD_EXITED)
                return in->exit_value == 0 ? CORRAL_STATUS_OK : CORRAL_STATUS_EXITED;
        return CORRAL_STATUS_SIGNALED;
}

static bool died_of(const verdict_input *in, int sig) {
        return (in->exit_how == CLD_KILLED || in->exit_how == CLD_DUMPED) && in->exit_value == sig;
}

/* Signs that a program failed to allocate: what malloc failure usually turns into.
 * Not SIGKILL: an rlimit fails the allocation (ENOMEM, or SIGSEGV for the stack) and
 * never kills; a SIGKILL corral did not send came from someone else (the host's OOM
 * killer, the RLIMIT_CPU hard limit, another process). */
static bool looks_like_allocation_failure(const verdict_input *in) {
        if (in->exit_how == CLD_EXITED)
                return in->exit_value != 0;
        return died_of(in, SIGSEGV) || died_of(in, SIGABRT) || died_of(in, SIGBUS);
}

/* The dying process's own CPU time reached its RLIMIT_CPU (within the tick slack). */
static bool rlimit_cpu_reached(const verdict_input *in) {
        if (in->rlimit_cpu_usec == CORRAL_INFINITY || in->rlimit_cpu_usec == 0)
                return false;
        return in->main_cpu_usec >= in->rlimit_cpu_usec / 100 * VERDICT_RLIMIT_CPU_MIN_PERCENT;
}

static bool rss_near_limit(const verdict_input *in) {
        if (in->memory_limit == CORRAL_INFINITY || in->memory_limit == 0)
                return false;
        /* divide first: memory_limit may be close to UINT64_MAX */
        return in->rss_peak >= in->memory_limit / 100 * VERDICT_MEMORY_NEAR_PERCENT;
}

void verdict_decide(const verdict_input *in, verdict *ret) {
        bool fallback = in->backend != CORRAL_BACKEND_CGROUP2;
        verdict v = { .status = status_of_exit(in) };

        if (in->action != VERDICT_ACTION_NONE) {
                if (in->oom_kill_before_action && in->oom > 0) {
                        v.status = CORRAL_STATUS_MEMORY_LIMIT;
                        v.limit_hit = "MemoryMax";
                } else
                        switch (in->action) {
                        case VERDICT_ACTION_WALL:
                                v.status = CORRAL_STATUS_WALL_TIMEOUT;
                                v.limit_hit = "RuntimeMaxSec";
                                break;
                        case VERDICT_ACTION_CPU:
                                v.status = CORRAL_STATUS_CPU_TIMEOUT;
                                v.limit_hit = "CPUTimeMaxSec";
                                if (in->backend == CORRAL_BACKEND_RLIMIT)
                                        v.inferred = "CPU time of the tree summed from /proc and rusage";
                                break;
                        case VERDICT_ACTION_MEMORY:
                                v.status = CORRAL_STATUS_MEMORY_LIMIT;
                                v.limit_hit = "MemoryMax";
                                v.inferred = "resident memory of the tree sampled above MemoryMax";
                                break;
                        case VERDICT_ACTION_INTERRUPT:
                                v.status = CORRAL_STATUS_INTERRUPTED;
                                v.limit_hit = "Interrupt";
                                break;
                        case VERDICT_ACTION_SYSCALL:
                                v.status = CORRAL_STATUS_SYSCALL_DENIED;
                                v.limit_hit = "SystemCallFilter";
                                break;
                        case VERDICT_ACTION_NONE:
                                break;
                        }
                *ret = v;
                return;
        }

        if (in->oom_kill > 0) {
                if (in->oom > 0) {
                        v.status = CORRAL_STATUS_MEMORY_LIMIT;
                        v.limit_hit = "MemoryMax";
                } else
                        v.note = "OOM-killed by an ancestor cgroup or the host running out of memory, not by MemoryMax";
                *ret = v;
                return;
        }

        if (in->cpu_limit_usec != CORRAL_INFINITY && in->cpu_usage_usec >= in->cpu_limit_usec) {
                v.status = CORRAL_STATUS_CPU_TIMEOUT;
                v.limit_hit = "CPUTimeMaxSec";
                if (in->backend == CORRAL_BACKEND_RLIMIT)
                        v.inferred = "CPU time of the tree summed from rusage";
                *ret = v;
                return;
        }

        if (fallback && in->cpu_limit_usec != CORRAL_INFINITY && died_of(in, SIGXCPU) && rlimit_cpu_reached(in)) {
                v.status = CORRAL_STATUS_CPU_TIMEOUT;
                v.limit_hit = "CPUTimeMaxSec";
                v.inferred = "SIGXCPU from RLIMIT_CPU (a per-process limit)";
                *ret = v;
                return;
        }

        if (fallback && looks_like_allocation_failure(in) && rss_near_limit(in)) {
                v.status = CORRAL_STATUS_MEMORY_LIMIT;
                v.limit_hit = "MemoryMax";
                v.inferred = "allocation failure with peak resident memory near MemoryMax";
        }
        *ret = v;
}
