/* SPDX-License-Identifier: MIT */
/*
 * cr-clients: many clients of corrald at once, for the service suite's bounds test.
 *
 *   cr-clients SOCKET IDLE JOBS SECONDS
 *
 * Opens IDLE connections that send nothing, then starts JOBS runs of `sleep SECONDS`
 * through the client API (one connection each), asks Ping while all of them run, and
 * waits for every result in one poll loop. Prints "running N" (Ping's job count at the
 * peak) and "ok N of JOBS". Exit 0 when every run ended ok; 1 otherwise; 2 bad
 * arguments; 3 a connection or a spawn failed.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"
#include "corral.h"

static const char usage[] = "SOCKET IDLE JOBS SECONDS";

int main(int argc, char *argv[]) {
        uint64_t idle, jobs;
        prog_init(argc, argv);
        if (argc != 5 || parse_u64(argv[2], 4096, &idle) < 0 || parse_u64(argv[3], 4096, &jobs) < 0)
                usage_exit(usage);
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
        for (uint64_t i = 0; i < idle; i++) {
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        say("idle connection %llu: %s", (unsigned long long) i, strerror(errno));
                        return 3;
                }
        }
        corral_client *c;
        corral_policy *p;
        corral_spawn_attr *a;
        corral_diag diag;
        if (corral_client_connect(argv[1], &c, &diag) < 0) {
                say("%s", diag.message);
                return 3;
        }
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        corral_policy_new(&p);
        corral_spawn_attr_new(&a);
        corral_spawn_attr_set_stdio(a, devnull, devnull, devnull);
        char *cmd[] = { "sleep", argv[4], NULL };
        corral_job **job = calloc(jobs, sizeof *job);
        struct pollfd *pfd = calloc(jobs, sizeof *pfd);
        for (uint64_t i = 0; i < jobs; i++)
                if (corral_client_spawn(c, p, cmd, a, &job[i], &diag) < 0) {
                        say("run %llu: %s", (unsigned long long) i, diag.message);
                        return 3;
                }
        /* everyone is running now: the daemon's count */
        char ping[256];
        snprintf(ping, sizeof ping, "%s", "");
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s >= 0 && connect(s, (struct sockaddr *) &sa, sizeof sa) == 0) {
                static const char msg[] = "{\"method\":\"io.corral.Sandbox.Ping\"}";
                (void) write_all(s, msg, sizeof msg); /* with its NUL */
                ssize_t n = read(s, ping, sizeof ping - 1);
                ping[n > 0 ? n : 0] = '\0';
                const char *j = strstr(ping, "\"jobs\":");
                printf("running %s\n", j ? j + 7 : "?");
                close(s);
        }
        uint64_t done = 0, ok = 0;
        while (done < jobs) {
                nfds_t n = 0;
                for (uint64_t i = 0; i < jobs; i++)
                        pfd[i] = (struct pollfd){ job[i] ? corral_job_fd(job[i]) : -1, POLLIN, 0 };
                n = (nfds_t) jobs;
                (void) poll(pfd, n, 1000);
                for (uint64_t i = 0; i < jobs; i++) {
                        if (!job[i] || corral_job_dispatch(job[i]) == 0)
                                continue;
                        const corral_result *r = corral_job_result(job[i]);
                        if (r && r->status == CORRAL_STATUS_OK)
                                ok++;
                        else if (r)
                                say("run %llu: %s %s", (unsigned long long) i, corral_status_to_string(r->status),
                                    r->error);
                        job[i] = corral_job_free(job[i]);
                        done++;
                }
        }
        printf("ok %llu of %llu\n", (unsigned long long) ok, (unsigned long long) jobs);
        free(job);
        free(pfd);
        corral_spawn_attr_free(a);
        corral_policy_free(p);
        corral_client_free(c);
        return ok == jobs ? 0 : 1;
}
