/* SPDX-License-Identifier: MIT */
/*
 * test-fn START_METHOD BACKEND: corral_run_fn() / corral_spawn_fn() through the public
 * API, one rung and one start method per run (meson registers the combinations):
 * a function returns its bytes (small, large, none); loops past its wall and its CPU
 * limit; eats memory past MemoryMax; crashes (SIGSEGV, SIGABRT, raise(SIGBUS), SIGFPE,
 * stack overflow) with a backtrace that names the crashing function; returns more than
 * OutputMax (an error, never a truncation; exactly OutputMax is fine); exits with a
 * code; has its stdout/stderr captured, truncated at CaptureMax; several run at once
 * through the pollable API; a job freed while its function runs leaves nothing; and
 * commands' capture through corral_run(). At the end no fd and no zombie is left.
 *
 * The functions below are not static and not inlined: the crash reports must name
 * them (the executable is linked with export_dynamic).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fntest.h"

#define MIB (1024 * 1024)

/* ---- the functions under test ---- */

void fn_reverse(const void *in, size_t len, corral_out *out);
void fn_nothing(const void *in, size_t len, corral_out *out);
void fn_spin(const void *in, size_t len, corral_out *out);
void fn_eat_memory(const void *in, size_t len, corral_out *out);
void crash_here(void);
void fn_segv(const void *in, size_t len, corral_out *out);
void abort_here(void);
void fn_abort(const void *in, size_t len, corral_out *out);
int divide_here(int a, int b);
void fn_fpe(const void *in, size_t len, corral_out *out);
int recurse_forever(int depth);
void fn_stack_overflow(const void *in, size_t len, corral_out *out);
void fn_write_n(const void *in, size_t len, corral_out *out);
void fn_exit3(const void *in, size_t len, corral_out *out);
void fn_nested_run(const void *in, size_t len, corral_out *out);
void fn_print(const void *in, size_t len, corral_out *out);
void fn_pidfile_sleep(const void *in, size_t len, corral_out *out);
void fn_overflow_then_spin(const void *in, size_t len, corral_out *out);
void raise_here(void);
void fn_raise_bus(const void *in, size_t len, corral_out *out);

/* Writes its input reversed, in chunks of up to 100 KiB. */
void fn_reverse(const void *in, size_t len, corral_out *out) {
        const unsigned char *p = in;
        unsigned char buf[100 * 1024];
        size_t n = 0;
        for (size_t i = len; i > 0; i--) {
                buf[n++] = p[i - 1];
                if (n == sizeof buf || i == 1) {
                        if (corral_out_write(out, buf, n) < 0)
                                abort();
                        n = 0;
                }
        }
}

void fn_nothing(const void *in, size_t len, corral_out *out) {
}

/* "<own cgroup>\n<cgroup of a corral run it starts>": corral used inside a run. */
void fn_nested_run(const void *in, size_t len, corral_out *out) {
        char own[4096] = "", line[4096];
        FILE *f = fopen("/proc/self/cgroup", "re");
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "0::", 3) == 0)
                        snprintf(own, sizeof own, "%s", line + 3);
        if (f)
                fclose(f);
        corral_out_write(out, own, strlen(own));
        corral_policy *p;
        corral_diag d;
        corral_job *job = NULL;
        char *const cat[] = { "/bin/cat", "/proc/self/cgroup", NULL };
        if (corral_policy_new(&p) < 0 || corral_policy_set_assignment(p, "Backend=cgroup2-core", &d) < 0 ||
            corral_policy_set_assignment(p, "CaptureOutput=yes", &d) < 0)
                abort();
        if (corral_run(p, cat, &job, &d) >= 0 && corral_job_result(job)->stdout_capture.data) {
                const char *c = strstr((const char *) corral_job_result(job)->stdout_capture.data, "0::");
                if (c)
                        corral_out_write(out, c + 3, strlen(c + 3));
        }
        corral_job_free(job);
        corral_policy_free(p);
        (void) in;
        (void) len;
}

void fn_spin(const void *in, size_t len, corral_out *out) {
        volatile uint64_t x = 0;
        for (;;)
                x++;
}

/* Like a program with xmalloc(): touch every MiB it gets, abort when it gets none. */
void fn_eat_memory(const void *in, size_t len, corral_out *out) {
        for (;;) {
                char *p = malloc(MIB);
                if (!p)
                        abort();
                memset(p, 0x5a, MIB);
        }
}

__attribute__((noinline)) void crash_here(void) {
        int *volatile bad = (int *) 16;
        *bad = 1;
}

void fn_segv(const void *in, size_t len, corral_out *out) {
        corral_out_write(out, "before", 6);
        crash_here();
}

__attribute__((noinline)) void abort_here(void) {
        abort();
}

void fn_abort(const void *in, size_t len, corral_out *out) {
        abort_here();
}

static volatile int raised;

/* A signal that does not recur by itself when the handler returns. */
__attribute__((noinline)) void raise_here(void) {
        raise(SIGBUS);
        raised = 1; /* not a tail call: this frame stays on the stack */
}

void fn_raise_bus(const void *in, size_t len, corral_out *out) {
        raise_here();
        corral_out_write(out, "survived", 8);
}

/* Under UBSan (halt_on_error=1) the check would end the child before the CPU traps. */
__attribute__((noinline, no_sanitize("undefined"))) int divide_here(int a, int b) {
        return a / b;
}

void fn_fpe(const void *in, size_t len, corral_out *out) {
        volatile int zero = 0;
        int r = divide_here(1, zero);
        corral_out_write(out, &r, sizeof r);
}

static volatile int recursion_limit = 1 << 30; /* never reached: the stack ends first */

__attribute__((noinline)) int recurse_forever(int depth) {
        volatile char pad[512];
        pad[0] = (char) depth;
        if (depth > recursion_limit)
                return 0;
        return recurse_forever(depth + 1) + pad[0];
}

void fn_stack_overflow(const void *in, size_t len, corral_out *out) {
        int r = recurse_forever(0);
        corral_out_write(out, &r, sizeof r);
}

/*
 * Input: "A B" writes A bytes, then B bytes, and checks what corral_out_write says
 * against OutputMax (given as the third number). A wrong answer aborts: the test sees
 * signaled instead of the status it expects.
 */
void fn_write_n(const void *in, size_t len, corral_out *out) {
        unsigned long a = 0, b = 0, max = 0;
        char spec[64] = "";
        memcpy(spec, in, len < sizeof spec - 1 ? len : sizeof spec - 1);
        if (sscanf(spec, "%lu %lu %lu", &a, &b, &max) != 3)
                abort();
        char *buf = malloc(a > b ? a : b);
        if (!buf)
                abort();
        memset(buf, 'x', a > b ? a : b);
        int r1 = corral_out_write(out, buf, a);
        if (r1 != (a <= max ? 0 : -EMSGSIZE))
                abort();
        if (b > 0) {
                int r2 = corral_out_write(out, buf, b);
                if (r2 != (a + b <= max ? 0 : -EMSGSIZE))
                        abort();
                /* once refused, always refused */
                if (r2 < 0 && corral_out_write(out, "y", 1) != -EMSGSIZE)
                        abort();
        }
        free(buf);
}

void fn_exit3(const void *in, size_t len, corral_out *out) {
        corral_out_write(out, "partial", 7);
        _exit(3);
}

void fn_print(const void *in, size_t len, corral_out *out) {
        printf("hello from the function's stdout\n");
        fprintf(stderr, "and its stderr\n");
        corral_out_write(out, "done", 4);
}

/* Input: a path; writes its pid there, then sleeps. */
void fn_pidfile_sleep(const void *in, size_t len, corral_out *out) {
        char path[256] = "";
        memcpy(path, in, len < sizeof path - 1 ? len : sizeof path - 1);
        FILE *f = fopen(path, "we");
        if (!f)
                abort();
        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
        for (;;)
                pause();
}

void fn_overflow_then_spin(const void *in, size_t len, corral_out *out) {
        static char buf[2048];
        if (corral_out_write(out, buf, sizeof buf) != -EMSGSIZE)
                abort();
        fn_spin(in, len, out);
}

/* ---- helpers ---- */

static corral_job *run(corral_policy *p, corral_fn fn, const void *in, size_t len) {
        corral_job *job = NULL;
        corral_diag d;
        int r = corral_run_fn(p, fn, in, len, &job, &d);
        corral_policy_free(p);
        if (r < 0) {
                tap_fail("corral_run_fn: %s (%s)", strerror(-r), d.message);
                return NULL;
        }
        return job;
}

static bool has_line_after(const char *report, const char *marker, const char *name) {
        const char *m = report ? strstr(report, marker) : NULL;
        if (!m)
                return false;
        const char *line = strchr(m, '\n');
        if (!line)
                return false;
        line++;
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t) (end - line) : strlen(line);
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s", (int) n, line);
        return strstr(buf, name) != NULL;
}

/* corral caches this process's cgroup path; a function's process is a fork in another
 * group (the run's), and a corral run it starts must go below that group, never beside it */
static void t_nested(void) {
        const char *what = "corral inside a function run puts its run below the function's own group";
        corral_job *job = run(ft_policy(NULL), fn_nested_run, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        if (r && r->backend == CORRAL_BACKEND_RLIMIT) {
                tap_skip(what, "the rlimit rung gives the function no group of its own");
                corral_job_free(job);
                return;
        }
        tap_begin("%s", what);
        char outer[4096] = "", inner[4096] = "";
        if (r && r->status == CORRAL_STATUS_OK && r->fn_output.data)
                (void) sscanf((const char *) r->fn_output.data, "%4095[^\n]\n%4095[^\n]", outer, inner);
        size_t n = strlen(outer);
        expect(n > 0 && strncmp(inner, outer, n) == 0 && strncmp(inner + n, "/run-", 5) == 0,
               "function in '%s', its run in '%s'", outer, inner);
        ft_dump(r);
        corral_job_free(job);
}

static bool forkserver(void) {
        return strcmp(ft_start, "forkserver") == 0;
}

/* ---- test points ---- */

static void t_returns_bytes(void) {
        tap_begin("a function gets its input and returns its bytes");
        const char in[] = "hello, corral";
        corral_job *job = run(ft_policy(NULL), fn_reverse, in, strlen(in));
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                expect(r->has_exit_code && r->exit_code == 0, "exit code %d", r->exit_code);
                expect(ft_backend_is(r), "backend %s, wanted %s", corral_backend_to_string(r->backend), ft_backend);
                expect(r->fn_output.data && r->fn_output.size == strlen(in) &&
                               memcmp(r->fn_output.data, "larroc ,olleh", strlen(in)) == 0,
                       "output %zu bytes: '%.*s'", r->fn_output.size, (int) r->fn_output.size,
                       r->fn_output.data ? (const char *) r->fn_output.data : "");
                expect(!r->fn_output.truncated, "output marked truncated");
                expect(r->crash_report == NULL, "a crash report for a clean run");
                expect(r->error[0] == '\0', "error '%s'", r->error);
        }
        ft_dump(r);
        corral_job_free(job);
}

static void t_large(void) {
        tap_begin("8 MiB in, 8 MiB out (drained while the function runs)");
        size_t n = 8 * MIB;
        unsigned char *in = malloc(n);
        for (size_t i = 0; i < n; i++)
                in[i] = (unsigned char) (i * 2654435761u >> 13);
        double t0 = ft_now();
        corral_job *job = run(ft_policy("RuntimeMaxSec=60s", NULL), fn_reverse, in, n);
        double dt = ft_now() - t0;
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                bool same = r->fn_output.size == n;
                for (size_t i = 0; same && i < n; i++)
                        same = r->fn_output.data[i] == in[n - 1 - i];
                expect(same, "output differs (%zu bytes)", r->fn_output.size);
        }
        tap_diag("8 MiB round trip: %.1f ms", dt * 1e3);
        ft_dump(r);
        free(in);
        corral_job_free(job);
}

static void t_empty(void) {
        tap_begin("a function that writes nothing returns \"\" (not NULL), no input is fine");
        corral_job *job = run(ft_policy(NULL), fn_nothing, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        expect(r && r->fn_output.data && r->fn_output.size == 0, "output");
        ft_dump(r);
        corral_job_free(job);
}

static void t_wall(void) {
        tap_begin("a looping function stops at RuntimeMaxSec: wall_timeout");
        corral_job *job = run(ft_policy("RuntimeMaxSec=300ms", NULL), fn_spin, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_WALL_TIMEOUT, "status %s", ft_status(r));
        if (r) {
                expect(r->evidence.limit_hit && strcmp(r->evidence.limit_hit, "RuntimeMaxSec") == 0, "limit_hit");
                expect(r->wall_time_s >= 0.3 && r->wall_time_s < 0.3 + 0.2 + 1.0 * ft_slow, "wall %.3f s",
                       r->wall_time_s);
                expect(r->signal == SIGTERM || r->signal == SIGKILL, "signal %d", r->signal);
                expect(r->crash_report == NULL, "a crash report for a timeout");
        }
        ft_dump(r);
        corral_job_free(job);
}

static void t_cpu(void) {
        tap_begin("a looping function stops at CPUTimeMaxSec: cpu_timeout");
        corral_job *job = run(ft_policy("CPUTimeMaxSec=300ms", "RuntimeMaxSec=30s", NULL), fn_spin, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_CPU_TIMEOUT, "status %s", ft_status(r));
        if (r) {
                expect(r->evidence.limit_hit && strcmp(r->evidence.limit_hit, "CPUTimeMaxSec") == 0, "limit_hit");
                expect(r->cpu_time_s >= 0.29, "cpu %.3f s", r->cpu_time_s);
                /* the rlimit rung's RLIMIT_CPU is whole seconds; the monitor acts first */
                expect(r->cpu_time_s < 1.5 * ft_slow, "cpu %.3f s", r->cpu_time_s);
        }
        ft_dump(r);
        corral_job_free(job);
}

static void t_memory(void) {
        const char *desc = "a function that eats memory stops at MemoryMax: memory_limit";
        /* RLIMIT_DATA counts ASan's shadow (terabytes of reserved address space): the
         * child cannot map a page. Only the cgroup2 rung limits memory without it. */
        if (FNTEST_ASAN && strcmp(ft_backend, "cgroup2") != 0) {
                tap_skip(desc, "built with ASan: its shadow memory counts against RLIMIT_DATA");
                return;
        }
        tap_begin("%s", desc);
        corral_job *job = run(ft_policy("MemoryMax=64M", "RuntimeMaxSec=60s", NULL), fn_eat_memory, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_MEMORY_LIMIT, "status %s", ft_status(r));
        if (r) {
                expect(r->evidence.limit_hit && strcmp(r->evidence.limit_hit, "MemoryMax") == 0, "limit_hit");
                if (r->backend == CORRAL_BACKEND_CGROUP2) {
                        /* the kernel counted the OOM kill: exact */
                        expect(r->precise, "cgroup2: precise");
                        expect(r->oom_kills >= 1, "oom_kills %" PRIu64, r->oom_kills);
                } else {
                        /* inferred from the failed allocation and the resident peak: honest */
                        expect(!r->precise, "fallback: not precise");
                        expect(r->evidence.inferred != NULL, "fallback: says why it is inferred");
                        /* Two honest paths, and which comes first is timing: the allocation fails at
                         * RLIMIT_DATA and the function aborts on NULL (SIGABRT), or the resident
                         * sample passes MemoryMax first and corral kills it (SIGKILL, and it says
                         * so in signals_sent). Under load (tools/run-under-load) both happen. */
                        bool aborted = r->signal == SIGABRT;
                        bool sampled = r->signal == SIGKILL && r->evidence.n_signals_sent >= 1 &&
                                       r->evidence.signals_sent[0].signal == SIGKILL &&
                                       r->evidence.rss_peak_sampled_bytes > 64ull * MIB;
                        expect(aborted || sampled, "aborted on NULL (SIGABRT) or killed by the sample (SIGKILL): signal %d",
                               r->signal);
                }
                expect(r->memory_peak_bytes <= 64ull * MIB + 8ull * MIB, "peak %" PRIu64, r->memory_peak_bytes);
        }
        ft_dump(r);
        corral_job_free(job);
}

static void t_crash(const char *what, corral_fn fn, int sig, const char *sig_name, const char *detail,
                    const char *function, bool first_frame) {
        tap_begin("a crash (%s) is signaled %s, with a report naming %s", what, sig_name, function);
        corral_job *job = run(ft_policy("RuntimeMaxSec=30s", NULL), fn, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SIGNALED, "status %s", ft_status(r));
        if (r) {
                expect(r->signal == sig, "signal %d, wanted %d", r->signal, sig);
                expect(!r->has_exit_code, "an exit code");
                expect(r->crash_report != NULL, "no crash report");
                const char *rep = r->crash_report ? r->crash_report : "";
                expect(strncmp(rep, sig_name, strlen(sig_name)) == 0, "report starts: %.60s", rep);
                expect(!detail || strstr(rep, detail), "report lacks '%s'", detail);
                expect(strstr(rep, function), "report does not name %s", function);
                if (first_frame)
                        /* a fault: the interrupted function is the first frame */
                        expect(has_line_after(rep, "innermost first:", function),
                               "first frame is not %s", function);
        }
        ft_dump(r);
        corral_job_free(job);
}

static void t_output_limit(void) {
        tap_begin("more output than OutputMax is an error, not a truncation");
        const char in[] = "512 4096 1024";
        corral_job *job = run(ft_policy("OutputMax=1K", NULL), fn_write_n, in, strlen(in));
        const corral_result *r = job ? corral_job_result(job) : NULL;
        /* the function returned normally: its result could not be delivered */
        expect(r && r->status == CORRAL_STATUS_INTERNAL_ERROR, "status %s", ft_status(r));
        if (r) {
                expect(r->error_errno == EMSGSIZE, "errno %d", r->error_errno);
                expect(strstr(r->error, "function output exceeded OutputMax (1024 bytes)"), "error '%s'", r->error);
                expect(r->fn_output.data == NULL && r->fn_output.size == 0, "%zu bytes of output came back",
                       r->fn_output.size);
                expect(r->fn_output.truncated, "not marked");
                expect(r->has_exit_code && r->exit_code == 0, "the function's own exit");
                char *json = NULL;
                expect(corral_result_to_json(r, &json) >= 0 && strstr(json, "\"status\": \"internal_error\"") &&
                               strstr(json, "OutputMax"),
                       "json %s", json ? json : "");
                free(json);
        }
        ft_dump(r);
        corral_job_free(job);

        tap_begin("exactly OutputMax bytes are fine; one more in a second write is refused");
        const char in2[] = "1000 24 1024";
        job = run(ft_policy("OutputMax=1K", NULL), fn_write_n, in2, strlen(in2));
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        expect(r && r->fn_output.size == 1024, "size %zu", r ? r->fn_output.size : 0);
        ft_dump(r);
        corral_job_free(job);

        const char in3[] = "1000 25 1024";
        job = run(ft_policy("OutputMax=1K", NULL), fn_write_n, in3, strlen(in3));
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_INTERNAL_ERROR && r->error_errno == EMSGSIZE, "1025: status %s",
               ft_status(r));
        ft_dump(r);
        corral_job_free(job);

        tap_begin("a run that a limit stopped keeps its status when its output was also too big");
        job = run(ft_policy("OutputMax=1K", "RuntimeMaxSec=300ms", NULL), fn_overflow_then_spin, NULL, 0);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_WALL_TIMEOUT, "status %s", ft_status(r));
        expect(r && r->error_errno == EMSGSIZE && strstr(r->error, "OutputMax"), "error '%s'", r ? r->error : "");
        expect(r && !r->fn_output.data && r->fn_output.truncated, "output");
        ft_dump(r);
        corral_job_free(job);
}

static void t_exit_code(void) {
        tap_begin("a function that calls _exit(3): exited 3, its bytes so far kept");
        corral_job *job = run(ft_policy(NULL), fn_exit3, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_EXITED, "status %s", ft_status(r));
        expect(r && r->has_exit_code && r->exit_code == 3, "exit code");
        expect(r && r->fn_output.size == 7 && memcmp(r->fn_output.data, "partial", 7) == 0, "output");
        ft_dump(r);
        corral_job_free(job);
}

static void t_capture_fn(void) {
        tap_begin("a function's stdout and stderr are captured (and not the caller's pending stdio)");
        /* A line the caller has buffered but not written: the child must not write it too. */
        if (strcmp(ft_start, "fork") == 0)
                fputs("# (the test's pending stdout line, written once)\n", stdout);
        corral_job *job = run(ft_policy("CaptureOutput=yes", NULL), fn_print, NULL, 0);
        fflush(stdout);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                expect(r->stdout_capture.data &&
                               strcmp((char *) r->stdout_capture.data, "hello from the function's stdout\n") == 0,
                       "stdout '%s'", r->stdout_capture.data ? (char *) r->stdout_capture.data : "(null)");
                expect(r->stderr_capture.data && strcmp((char *) r->stderr_capture.data, "and its stderr\n") == 0,
                       "stderr '%s'", r->stderr_capture.data ? (char *) r->stderr_capture.data : "(null)");
                expect(!r->stdout_capture.truncated && !r->stderr_capture.truncated, "truncated");
                expect(r->fn_output.size == 4, "output");
        }
        ft_dump(r);
        corral_job_free(job);

        tap_begin("a function's capture is truncated at CaptureMax, and says so");
        job = run(ft_policy("CaptureOutput=yes", "CaptureMax=5", NULL), fn_print, NULL, 0);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                expect(r->stdout_capture.size == 5 && memcmp(r->stdout_capture.data, "hello", 5) == 0, "stdout");
                expect(r->stdout_capture.truncated && r->stderr_capture.truncated, "truncated flags");
                expect(r->stderr_capture.size == 5 && memcmp(r->stderr_capture.data, "and i", 5) == 0, "stderr");
        }
        ft_dump(r);
        corral_job_free(job);
}

static corral_job *run_cmd(corral_policy *p, char *const argv[]) {
        corral_job *job = NULL;
        corral_diag d;
        int r = corral_run(p, argv, &job, &d);
        corral_policy_free(p);
        if (r < 0) {
                tap_fail("corral_run: %s (%s)", strerror(-r), d.message);
                return NULL;
        }
        return job;
}

static void t_capture_cmd(void) {
        char *const both[] = { "/bin/sh", "-c", "printf 'out line\\n'; printf 'err line\\n' >&2", NULL };
        char *const silent[] = { "/bin/sh", "-c", "exit 0", NULL };
        char *const big[] = { "/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo; echo e >&2", NULL };

        tap_begin("a command's stdout and stderr are captured");
        corral_job *job = run_cmd(ft_policy("CaptureOutput=yes", NULL), both);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                expect(r->stdout_capture.data && strcmp((char *) r->stdout_capture.data, "out line\n") == 0, "stdout");
                expect(r->stderr_capture.data && strcmp((char *) r->stderr_capture.data, "err line\n") == 0, "stderr");
                expect(!r->stdout_capture.truncated && !r->stderr_capture.truncated, "truncated");
        }
        ft_dump(r);
        corral_job_free(job);

        tap_begin("a command's capture is truncated at CaptureMax (300 KB through a 64 KiB pipe)");
        job = run_cmd(ft_policy("CaptureOutput=yes", "CaptureMax=100K", NULL), big);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                expect(r->stdout_capture.size == 100 * 1024 && r->stdout_capture.truncated, "stdout %zu bytes",
                       r->stdout_capture.size);
                expect(r->stderr_capture.size == 2 && !r->stderr_capture.truncated, "stderr");
        }
        ft_dump(r);
        corral_job_free(job);

        tap_begin("a silent command's capture is \"\", present in the JSON");
        job = run_cmd(ft_policy("CaptureOutput=yes", NULL), silent);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
        if (r) {
                expect(r->stdout_capture.data && r->stdout_capture.size == 0, "stdout");
                char *json = NULL;
                expect(corral_result_to_json(r, &json) >= 0 && strstr(json, "\"stdout\": \"\"") &&
                               strstr(json, "\"stderr_truncated\": false"),
                       "json %s", json ? json : "");
                free(json);
        }
        ft_dump(r);
        corral_job_free(job);

        tap_begin("without CaptureOutput nothing is captured");
        job = run_cmd(ft_policy(NULL), silent);
        r = job ? corral_job_result(job) : NULL;
        expect(r && !r->stdout_capture.data && !r->stderr_capture.data, "captured anyway");
        corral_job_free(job);
}

static void t_pollable(void) {
        enum { N = 4 };
        tap_begin("%d functions at once through the pollable API, each gets its own bytes", N);
        corral_job *jobs[N] = {};
        char in[N][32];
        double worst = 0;
        for (int i = 0; i < N; i++) {
                corral_diag d;
                corral_policy *p = ft_policy("RuntimeMaxSec=30s", NULL);
                snprintf(in[i], sizeof in[i], "job number %d", i);
                int r = corral_spawn_fn(p, fn_reverse, in[i], strlen(in[i]), &jobs[i], &d);
                corral_policy_free(p);
                expect(r == 0, "spawn %d: %s", i, strerror(-r));
        }
        for (int done = 0; done < N;) {
                struct pollfd pfd[N];
                int map[N], n = 0;
                for (int i = 0; i < N; i++)
                        if (jobs[i] && !corral_job_result(jobs[i])) {
                                pfd[n] = (struct pollfd){ .fd = corral_job_fd(jobs[i]), .events = POLLIN };
                                map[n++] = i;
                        }
                if (n == 0)
                        break;
                if (poll(pfd, (nfds_t) n, 30000) <= 0) {
                        tap_fail("poll timed out");
                        break;
                }
                for (int k = 0; k < n; k++)
                        if (pfd[k].revents) {
                                double t0 = ft_now();
                                int r = corral_job_dispatch(jobs[map[k]]);
                                double dt = ft_now() - t0;
                                if (dt > worst)
                                        worst = dt;
                                if (r == 1)
                                        done++;
                                expect(r >= 0, "dispatch %s", strerror(-r));
                        }
        }
        for (int i = 0; i < N; i++) {
                const corral_result *r = jobs[i] ? corral_job_result(jobs[i]) : NULL;
                char want[32];
                size_t len = strlen(in[i]);
                for (size_t k = 0; k < len; k++)
                        want[k] = in[i][len - 1 - k];
                expect(r && r->status == CORRAL_STATUS_OK, "job %d status %s", i, ft_status(r));
                expect(r && r->fn_output.size == len && memcmp(r->fn_output.data, want, len) == 0,
                       "job %d got another job's bytes", i);
                corral_job_free(jobs[i]);
        }
        /* dispatch never blocks: bounded work (the rlimit rung scans /proc) */
        expect(worst < 0.5 * ft_slow, "a dispatch took %.1f ms", worst * 1e3);
        tap_diag("slowest dispatch: %.2f ms", worst * 1e3);
}

static void t_free_running(void) {
        tap_begin("a job freed while its function runs leaves no process behind");
        char path[] = "/tmp/corral-fn-pid-XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        corral_job *job = NULL;
        corral_diag d;
        corral_policy *p = ft_policy("RuntimeMaxSec=60s", NULL);
        int r = corral_spawn_fn(p, fn_pidfile_sleep, path, strlen(path), &job, &d);
        corral_policy_free(p);
        expect(r == 0, "spawn %s", strerror(-r));
        int pid = 0;
        for (int i = 0; i < 500 && pid <= 0; i++) {
                FILE *f = fopen(path, "re");
                if (f) {
                        if (fscanf(f, "%d", &pid) != 1)
                                pid = 0;
                        fclose(f);
                }
                if (pid <= 0) {
                        (void) corral_job_dispatch(job);
                        usleep(10000);
                }
        }
        expect(pid > 0, "the function never wrote its pid");
        if (pid > 0) {
                /* named after the program, not after the forkserver it was forked from */
                char proc[64], comm[32] = "";
                snprintf(proc, sizeof proc, "/proc/%d/comm", pid);
                FILE *f = fopen(proc, "re");
                if (f) {
                        if (!fgets(comm, sizeof comm, f))
                                comm[0] = '\0';
                        fclose(f);
                }
                expect(strcmp(comm, "test-fn\n") == 0, "the function's process is called '%s'", comm);
        }
        corral_job_free(job);
        /* A fork child is reaped by the job; a forkserver's by the server, right after. */
        bool gone = false;
        for (int i = 0; i < 200 && !gone && pid > 0; i++) {
                char proc[64];
                snprintf(proc, sizeof proc, "/proc/%d", pid);
                gone = access(proc, F_OK) < 0;
                if (!gone)
                        usleep(10000);
        }
        expect(gone, "pid %d still there", pid);
        unlink(path);
}

static void t_bad_args(void) {
        tap_begin("bad arguments: -EINVAL with a diag, no job");
        corral_policy *p = ft_policy(NULL);
        corral_job *job = NULL;
        corral_diag d;
        int r = corral_spawn_fn(p, NULL, NULL, 0, &job, &d);
        expect(r == -EINVAL && strstr(d.message, "no function"), "r=%d '%s'", r, d.message);
        r = corral_spawn_fn(p, fn_nothing, NULL, 5, &job, &d);
        expect(r == -EINVAL && strstr(d.message, "NULL"), "r=%d '%s'", r, d.message);
        expect(job == NULL, "a job");
        corral_policy_free(p);
}

static void t_forkserver_refusals(void) {
        const char *desc = "forkserver: not started, or a function it cannot see: spawn_error that says why";
        if (!forkserver()) {
                tap_skip(desc, "only with StartMethod=forkserver");
                return;
        }
        tap_begin("%s", desc);
        corral_forkserver_stop();
        corral_job *job = run(ft_policy(NULL), fn_nothing, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SPAWN_ERROR, "status %s", ft_status(r));
        expect(r && strstr(r->error, "corral_forkserver_start()"), "error '%s'", r ? r->error : "");
        ft_dump(r);
        corral_job_free(job);
        expect(corral_forkserver_start() == 0, "restart");
        expect(corral_forkserver_start() == 1, "second start is a no-op");

        /* Code that is in no loaded object (here: a heap address): never called. */
        void *heap = malloc(64);
        job = run(ft_policy(NULL), (corral_fn) (uintptr_t) heap, NULL, 0);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SPAWN_ERROR, "status %s", ft_status(r));
        expect(r && strstr(r->error, "forkserver's copy"), "error '%s'", r ? r->error : "");
        ft_dump(r);
        corral_job_free(job);
        free(heap);
}

static void t_timing(void) {
        tap_begin("per-run cost of StartMethod=%s (diagnostic)", ft_start);
        enum { N = 50 };
        double t0 = ft_now();
        for (int i = 0; i < N; i++) {
                corral_job *job = run(ft_policy(NULL), fn_nothing, NULL, 0);
                const corral_result *r = job ? corral_job_result(job) : NULL;
                expect(r && r->status == CORRAL_STATUS_OK, "status %s", ft_status(r));
                corral_job_free(job);
        }
        tap_diag("%s on %s: %.3f ms per run (%d runs)", ft_start, ft_backend, (ft_now() - t0) * 1e3 / N, N);
}

int main(int argc, char **argv) {
        ft_args(argc, argv);
        if (strcmp(ft_start, "fork") != 0 && strcmp(ft_start, "forkserver") != 0) {
                fprintf(stderr, "usage: test-fn fork|forkserver [auto|cgroup2|cgroup2-core|rlimit]\n");
                return 2;
        }
        /* As the CLI and corrald do: escaped descendants come back to us. The forkserver
         * is our child too, and must never be taken for one of them. */
        if (corral_become_subreaper() < 0) {
                printf("Bail out! cannot become a subreaper\n");
                return 1;
        }
        if (forkserver() && corral_forkserver_start() < 0) {
                printf("Bail out! cannot start the forkserver\n");
                return 1;
        }
        char *fds_before = ft_fds();

        tap_plan(28);
        tap_diag("start method %s, backend %s", ft_start, ft_backend);
        t_returns_bytes();
        t_large();
        t_empty();
        t_wall();
        t_cpu();
        t_memory();
        t_crash("NULL+16 store", fn_segv, SIGSEGV, "SIGSEGV", "at address 0x10", "crash_here", true);
        t_crash("abort()", fn_abort, SIGABRT, "SIGABRT", "raised by the function itself", "abort_here", false);
        t_crash("raise(SIGBUS)", fn_raise_bus, SIGBUS, "SIGBUS", "raised by the function itself", "raise_here",
                false);
        t_crash("1 / 0", fn_fpe, SIGFPE, "SIGFPE", "integer divide by zero", "divide_here", true);
        t_crash("stack overflow", fn_stack_overflow, SIGSEGV, "SIGSEGV", NULL, "recurse_forever", true);
        t_output_limit();
        t_exit_code();
        t_capture_fn();
        t_capture_cmd();
        t_pollable();
        t_free_running();
        t_bad_args();
        t_forkserver_refusals();
        t_timing();
        t_nested();

        tap_begin("no fd left open, no zombie left");
        char *fds_after = ft_fds();
        expect(strcmp(fds_before, fds_after) == 0, "fds before: %s", fds_before);
        if (strcmp(fds_before, fds_after) != 0)
                tap_fail("fds after:  %s", fds_after);
        int z = ft_zombie_children();
        expect(z == 0, "%d zombie children", z);
        free(fds_before);
        free(fds_after);
        if (forkserver())
                corral_forkserver_stop();
        expect(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child is left after the forkserver stopped");
        return tap_finish();
}
