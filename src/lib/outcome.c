/* SPDX-License-Identifier: MIT */
/*
 * The end of a run that started: the backend's final accounting and how the main
 * process ended go into the verdict (verdict.c, pure), and both into the result.
 * Pure bookkeeping, no kernel interface of its own: the backend read the kernel.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "job.h"

static double usec_to_s(uint64_t usec) {
        return (double) usec / 1e6;
}

void outcome_write(corral_job *j) {
        corral_result *res = j->result;
        backend_account a = {};

        (void) j->ops->account(j, &a);

        /* PrivatePIDs=: the process we reaped is the init; how the program ended is what
         * the init reported (an init cannot die of the program's signal). */
        if (j->pidns_status_known) {
                int st = j->pidns_status;
                if (WIFEXITED(st)) {
                        j->info.si_code = CLD_EXITED;
                        j->info.si_status = WEXITSTATUS(st);
                } else {
                        j->info.si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED;
                        j->info.si_status = WTERMSIG(st);
                }
        }

        verdict_input in = {
                .backend = j->ops->id,
                .exit_how = j->info.si_code,
                .exit_value = j->info.si_status,
                .action = j->action,
                .oom_kill_before_action = j->oom_kill_before_action,
                .cpu_limit_usec = j->policy.cpu_time_max_usec,
                .cpu_usage_usec = a.cpu_usec,
                .main_cpu_usec = timeval_usec(j->rusage.ru_utime) + timeval_usec(j->rusage.ru_stime),
                .rlimit_cpu_usec = a.rlimit_cpu_usec,
                .memory_limit = j->policy.memory_max,
                .oom = a.oom,
                .oom_kill = a.oom_kill,
                .rss_peak = a.memory_sampled ? a.memory_peak : 0,
        };

        res->backend = j->ops->id;
        res->wall_time_s = usec_to_s(j->exit_usec - j->start_usec);
        res->cpu_time_s = usec_to_s(a.cpu_usec);
        res->user_time_s = usec_to_s(a.user_usec);
        res->system_time_s = usec_to_s(a.system_usec);
        res->memory_peak_bytes = a.memory_peak;
        res->pids_peak = a.pids_peak;
        res->oom_kills = a.oom_kill;
        res->pids_limit_hits = a.pids_max_events;

        res->evidence.oom = a.oom;
        res->evidence.oom_kill = a.oom_kill;
        res->evidence.oom_group_kill = a.oom_group_kill;
        res->evidence.pids_max = a.pids_max_events;
        res->evidence.cpu_throttled_s = usec_to_s(a.throttled_usec);
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

        res->precise = a.exact && v.inferred == NULL;
        res->evidence.inferred = v.inferred ? v.inferred : a.inferred;
}
