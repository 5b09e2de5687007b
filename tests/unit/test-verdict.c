/* SPDX-License-Identifier: MIT */
/*
 * The verdict rules as a table: every status, SPEC's precedence, and the races
 * (an OOM kill counted before a deadline; a deadline acted on before an OOM kill;
 * CPU time past its budget when the process exits by itself; an OOM kill from an
 * ancestor; fallback inference near and far from MemoryMax).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "verdict.h"

#define INF CORRAL_INFINITY
#define MiB (UINT64_C(1) << 20)

typedef struct row {
        const char *name;
        verdict_input in;
        corral_status status;
        const char *limit_hit;
        bool inferred;
        bool note;
} row;

#define EXITED(code) .exit_how = CLD_EXITED, .exit_value = (code)
#define KILLED(sig) .exit_how = CLD_KILLED, .exit_value = (sig)
#define NOLIMITS .cpu_limit_usec = INF, .memory_limit = INF
#define CG2 .backend = CORRAL_BACKEND_CGROUP2
#define CORE .backend = CORRAL_BACKEND_CGROUP2_CORE
#define RL .backend = CORRAL_BACKEND_RLIMIT

static const row rows[] = {
        { "exit 0 is ok", { CG2, EXITED(0), NOLIMITS }, CORRAL_STATUS_OK, NULL, false, false },
        { "exit 3 is exited", { CG2, EXITED(3), NOLIMITS }, CORRAL_STATUS_EXITED, NULL, false, false },
        { "a signal of its own is signaled", { CG2, KILLED(SIGSEGV), NOLIMITS }, CORRAL_STATUS_SIGNALED, NULL,
          false, false },
        { "wall deadline", { CG2, KILLED(SIGTERM), NOLIMITS, .action = VERDICT_ACTION_WALL },
          CORRAL_STATUS_WALL_TIMEOUT, "RuntimeMaxSec", false, false },
        { "wall deadline, program exited 0 on SIGTERM", { CG2, EXITED(0), NOLIMITS, .action = VERDICT_ACTION_WALL },
          CORRAL_STATUS_WALL_TIMEOUT, "RuntimeMaxSec", false, false },
        { "cpu budget", { CG2, KILLED(SIGKILL), .memory_limit = INF, .cpu_limit_usec = 1000000,
                          .cpu_usage_usec = 1000400, .action = VERDICT_ACTION_CPU },
          CORRAL_STATUS_CPU_TIMEOUT, "CPUTimeMaxSec", false, false },
        { "interrupt", { CG2, KILLED(SIGTERM), NOLIMITS, .action = VERDICT_ACTION_INTERRUPT },
          CORRAL_STATUS_INTERRUPTED, "Interrupt", false, false },
        { "denied system call", { CG2, KILLED(SIGKILL), NOLIMITS, .action = VERDICT_ACTION_SYSCALL },
          CORRAL_STATUS_SYSCALL_DENIED, "SystemCallFilter", false, false },
        { "race: oom kill counted before a denied call",
          { CG2, KILLED(SIGKILL), NOLIMITS, .action = VERDICT_ACTION_SYSCALL, .oom_kill_before_action = true,
            .oom = 1, .oom_kill = 1 },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", false, false },
        { "oom kill in our group", { CG2, KILLED(SIGKILL), NOLIMITS, .oom = 1, .oom_kill = 1 },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", false, false },
        { "oom kill of a child, main exited 0", { CG2, EXITED(0), NOLIMITS, .oom = 2, .oom_kill = 1 },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", false, false },
        { "oom without a kill (ENOMEM) stays exited", { CG2, EXITED(1), NOLIMITS, .oom = 5, .oom_kill = 0 },
          CORRAL_STATUS_EXITED, NULL, false, false },
        { "oom kill without our oom: ancestor or host", { CG2, KILLED(SIGKILL), NOLIMITS, .oom = 0, .oom_kill = 1 },
          CORRAL_STATUS_SIGNALED, NULL, false, true },
        { "race: oom kill counted before the wall deadline",
          { CG2, KILLED(SIGKILL), NOLIMITS, .action = VERDICT_ACTION_WALL, .oom_kill_before_action = true,
            .oom = 1, .oom_kill = 1 },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", false, false },
        { "race: oom kill during the grace period stays wall_timeout",
          { CG2, KILLED(SIGKILL), NOLIMITS, .action = VERDICT_ACTION_WALL, .oom_kill_before_action = false,
            .oom = 1, .oom_kill = 1 },
          CORRAL_STATUS_WALL_TIMEOUT, "RuntimeMaxSec", false, false },
        { "race: interrupt after an oom kill", 
          { CG2, KILLED(SIGKILL), NOLIMITS, .action = VERDICT_ACTION_INTERRUPT, .oom_kill_before_action = true,
            .oom = 1, .oom_kill = 1 },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", false, false },
        { "race: cpu budget passed just before a clean exit",
          { CG2, EXITED(0), .memory_limit = INF, .cpu_limit_usec = 1000000, .cpu_usage_usec = 1000001 },
          CORRAL_STATUS_CPU_TIMEOUT, "CPUTimeMaxSec", false, false },
        { "cpu under budget at exit is ok",
          { CG2, EXITED(0), .memory_limit = INF, .cpu_limit_usec = 1000000, .cpu_usage_usec = 999999 },
          CORRAL_STATUS_OK, NULL, false, false },
        { "rlimit: SIGXCPU is cpu_timeout, inferred",
          { RL, KILLED(SIGXCPU), .memory_limit = INF, .cpu_limit_usec = 1000000, .cpu_usage_usec = 990000,
            .main_cpu_usec = 990000, .rlimit_cpu_usec = 1000000 },
          CORRAL_STATUS_CPU_TIMEOUT, "CPUTimeMaxSec", true, false },
        { "rlimit: SIGXCPU on a loaded host, tick time ahead of rusage (0.79 s of 1 s)",
          { RL, KILLED(SIGXCPU), .memory_limit = INF, .cpu_limit_usec = 1000000, .cpu_usage_usec = 790000,
            .main_cpu_usec = 790000, .rlimit_cpu_usec = 1000000 },
          CORRAL_STATUS_CPU_TIMEOUT, "CPUTimeMaxSec", true, false },
        { "rlimit: a SIGXCPU the process raised itself after 1 ms of CPU is signaled",
          { RL, KILLED(SIGXCPU), .memory_limit = INF, .cpu_limit_usec = 5000000, .cpu_usage_usec = 1000,
            .main_cpu_usec = 1000, .rlimit_cpu_usec = 5000000 },
          CORRAL_STATUS_SIGNALED, NULL, false, false },
        { "rlimit: a SIGXCPU from another process, the tree far under budget, is signaled",
          { RL, KILLED(SIGXCPU), .memory_limit = INF, .cpu_limit_usec = 10000000, .cpu_usage_usec = 2000000,
            .main_cpu_usec = 2000000, .rlimit_cpu_usec = 10000000 },
          CORRAL_STATUS_SIGNALED, NULL, false, false },
        { "cgroup2-core: no RLIMIT_CPU there, so a SIGXCPU under budget is signaled",
          { CORE, KILLED(SIGXCPU), .memory_limit = INF, .cpu_limit_usec = 1000000, .cpu_usage_usec = 990000,
            .main_cpu_usec = 990000, .rlimit_cpu_usec = INF },
          CORRAL_STATUS_SIGNALED, NULL, false, false },
        { "rlimit: SIGXCPU with the tree's CPU at the budget is cpu_timeout (measured)",
          { RL, KILLED(SIGXCPU), .memory_limit = INF, .cpu_limit_usec = 1000000, .cpu_usage_usec = 1000000,
            .main_cpu_usec = 1000, .rlimit_cpu_usec = 1000000 },
          CORRAL_STATUS_CPU_TIMEOUT, "CPUTimeMaxSec", true, false },
        { "rlimit: SIGXCPU without a CPU limit is just a signal",
          { RL, KILLED(SIGXCPU), NOLIMITS }, CORRAL_STATUS_SIGNALED, NULL, false, false },
        { "rlimit: monitor's tree CPU action is inferred",
          { RL, KILLED(SIGTERM), .memory_limit = INF, .cpu_limit_usec = 1000000, .action = VERDICT_ACTION_CPU },
          CORRAL_STATUS_CPU_TIMEOUT, "CPUTimeMaxSec", true, false },
        { "fallback: malloc failure near the limit is memory_limit, inferred",
          { CORE, EXITED(3), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 60 * MiB },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", true, false },
        { "fallback: abort near the limit is memory_limit, inferred",
          { RL, KILLED(SIGABRT), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 50 * MiB },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", true, false },
        { "fallback: failure far below the limit is not memory",
          { RL, EXITED(3), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 10 * MiB },
          CORRAL_STATUS_EXITED, NULL, false, false },
        { "fallback: a SIGKILL corral did not send is not memory, even near the limit",
          { RL, KILLED(SIGKILL), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 63 * MiB },
          CORRAL_STATUS_SIGNALED, NULL, false, false },
        { "fallback: clean exit near the limit is ok",
          { RL, EXITED(0), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 63 * MiB },
          CORRAL_STATUS_OK, NULL, false, false },
        { "fallback: RSS watch action",
          { CORE, KILLED(SIGKILL), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 65 * MiB,
            .action = VERDICT_ACTION_MEMORY },
          CORRAL_STATUS_MEMORY_LIMIT, "MemoryMax", true, false },
        { "cgroup2 never infers memory from a crash",
          { CG2, KILLED(SIGSEGV), .cpu_limit_usec = INF, .memory_limit = 64 * MiB, .rss_peak = 63 * MiB },
          CORRAL_STATUS_SIGNALED, NULL, false, false },
        { "a huge MemoryMax does not overflow the near-limit test",
          { RL, EXITED(1), .cpu_limit_usec = INF, .memory_limit = INF - 1, .rss_peak = 1 },
          CORRAL_STATUS_EXITED, NULL, false, false },
};

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                const row *r = &rows[i];
                verdict v;
                memset(&v, 0xaa, sizeof v);
                verdict_decide(&r->in, &v);
                if (v.status != r->status)
                        fail_msg("%s: status %d, expected %d", r->name, v.status, r->status);
                if ((v.limit_hit == NULL) != (r->limit_hit == NULL) ||
                    (v.limit_hit && strcmp(v.limit_hit, r->limit_hit) != 0))
                        fail_msg("%s: limit_hit %s, expected %s", r->name, v.limit_hit ? v.limit_hit : "(null)",
                                 r->limit_hit ? r->limit_hit : "(null)");
                if ((v.inferred != NULL) != r->inferred)
                        fail_msg("%s: inferred is %s", r->name, v.inferred ? v.inferred : "(null)");
                if ((v.note != NULL) != r->note)
                        fail_msg("%s: note is %s", r->name, v.note ? v.note : "(null)");
        }
}

/* The first action wins: the status does not depend on what the kill looked like. */
static void test_action_beats_exit_shape(void **state) {
        (void) state;
        static const int sigs[] = { SIGKILL, SIGTERM, SIGSEGV };
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
                verdict_input in = { CG2, KILLED(sigs[i]), NOLIMITS, .action = VERDICT_ACTION_WALL };
                verdict v;
                verdict_decide(&in, &v);
                assert_int_equal(v.status, CORRAL_STATUS_WALL_TIMEOUT);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_action_beats_exit_shape),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
