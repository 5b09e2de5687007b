/* SPDX-License-Identifier: MIT */
/*
 * sandbox-fn: run an untrusted C function under corral and say why each call ended.
 *
 *     sandbox-fn [--forkserver] [INPUT...]
 *
 * parse_and_sum() stands for a plugin entry point or a parser fed untrusted input: it
 * sums the numbers in its input and returns the sum as text. It has bugs on purpose:
 * "loop" makes it spin forever, "grow" makes it allocate without end, "null" makes it
 * dereference NULL, "phone" makes it try to send its input home over TCP. Each input
 * runs in its own sandboxed child with 64M of memory, 1 s of wall time and 0.5 s of CPU,
 * and a syscall filter without sockets or new processes; the program prints the verdict
 * of each run and, for a crash, the first lines of the crash report.
 *
 * Build note: the crash report names parse_and_sum() only because this program is
 * linked with -rdynamic (meson: export_dynamic : true) and the function is visible.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corral.h"

#define MIB (1024.0 * 1024.0)

void parse_and_sum(const void *in, size_t len, corral_out *out);

/* The untrusted code. */
__attribute__((visibility("default"), noinline)) void parse_and_sum(const void *in, size_t len, corral_out *out) {
        char text[256];
        snprintf(text, sizeof text, "%.*s", (int) len, (const char *) in);

        if (strstr(text, "loop"))
                for (volatile unsigned long i = 0;; i++)
                        ;
        if (strstr(text, "grow"))
                for (;;) {
                        char *p = malloc(1 << 20);
                        if (!p)
                                abort();
                        memset(p, 1, 1 << 20);
                }
        if (strstr(text, "null")) {
                int *volatile p = NULL;
                *p = 42;
        }
        if (strstr(text, "phone")) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
                if (fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0)
                        (void) !write(fd, text, strlen(text));
        }

        long sum = 0;
        for (char *s = text, *end; *s; s = end) {
                long v = strtol(s, &end, 10);
                if (end == s)
                        end = s + 1;
                else
                        sum += v;
        }
        char result[32];
        int n = snprintf(result, sizeof result, "%ld", sum);
        corral_out_write(out, result, (size_t) n);
}

static void print_verdict(const char *input, const corral_result *r) {
        printf("%-16s %-13s ", input, corral_status_to_string(r->status));
        switch (r->status) {
        case CORRAL_STATUS_OK:
                printf("sum = %s\n", (const char *) r->fn_output.data);
                break;
        case CORRAL_STATUS_WALL_TIMEOUT:
        case CORRAL_STATUS_CPU_TIMEOUT:
                printf("stopped at %s (%.2f s wall, %.2f s CPU)\n", r->evidence.limit_hit, r->wall_time_s,
                       r->cpu_time_s);
                break;
        case CORRAL_STATUS_MEMORY_LIMIT:
                printf("stopped at MemoryMax, peak %.1f MiB%s%s\n", (double) r->memory_peak_bytes / MIB,
                       r->precise ? "" : "; inferred: ", r->precise ? "" : r->evidence.inferred);
                break;
        case CORRAL_STATUS_SIGNALED:
                printf("died of signal %d\n", r->signal);
                break;
        case CORRAL_STATUS_SYSCALL_DENIED:
                printf("stopped by the filter: %s (nr %d, %s)\n", r->syscall_denied.name, r->syscall_denied.nr,
                       r->syscall_denied.arch);
                break;
        default:
                printf("%s\n", r->error);
        }
        if (r->crash_report) {
                /* the signal line and the innermost frames */
                const char *line = r->crash_report;
                for (int i = 0; i < 6 && *line; i++) {
                        const char *nl = strchr(line, '\n');
                        int len = nl ? (int) (nl - line) : (int) strlen(line);
                        printf("    | %.*s\n", len, line);
                        line = nl ? nl + 1 : line + len;
                }
        }
}

int main(int argc, char **argv) {
        static const char *const defaults[] = { "1 2 3 39", "loop", "grow", "null", "phone", "100 -58" };
        const char *start = "fork";
        corral_policy *p;
        corral_diag diag;
        int i = 1, r;

        if (argc > 1 && strcmp(argv[1], "--forkserver") == 0) {
                /* Before any thread: the helper is a clean copy of this program. */
                r = corral_forkserver_start();
                if (r < 0) {
                        fprintf(stderr, "sandbox-fn: cannot start the forkserver: %s\n", strerror(-r));
                        return 1;
                }
                start = "forkserver";
                i++;
        }

        if (corral_policy_new(&p) < 0)
                return 1;
        const char *settings[] = { "MemoryMax=64M", "RuntimeMaxSec=1s", "CPUTimeMaxSec=500ms", "TimeoutStopSec=100ms",
                                   "SystemCallFilter=~@network-io @process @debug @mount", NULL };
        for (const char **s = settings; *s; s++)
                if (corral_policy_set_assignment(p, *s, &diag) < 0) {
                        fprintf(stderr, "sandbox-fn: %s\n", diag.message);
                        return 1;
                }
        if (corral_policy_set(p, "StartMethod", start, &diag) < 0) {
                fprintf(stderr, "sandbox-fn: %s\n", diag.message);
                return 1;
        }

        bool given = i < argc;
        size_t n = given ? (size_t) (argc - i) : sizeof defaults / sizeof defaults[0];
        for (size_t k = 0; k < n; k++) {
                const char *input = given ? argv[i + (int) k] : defaults[k];
                corral_job *job;
                r = corral_run_fn(p, parse_and_sum, input, strlen(input), &job, &diag);
                if (r < 0) {
                        fprintf(stderr, "sandbox-fn: %s\n", diag.message[0] ? diag.message : strerror(-r));
                        corral_policy_free(p);
                        return 1;
                }
                const corral_result *res = corral_job_result(job);
                if (k == 0)
                        printf("(start method %s, backend %s)\n", start, corral_backend_to_string(res->backend));
                print_verdict(input, res);
                corral_job_free(job);
        }
        corral_policy_free(p);
        corral_forkserver_stop();
        return 0;
}
