/* SPDX-License-Identifier: MIT */
/*
 * corral run: options -> policy, spawn, one poll loop over the job's fd and a signalfd
 * for SIGINT/SIGTERM/SIGHUP (a stop request becomes a graceful stop with status
 * interrupted), then the JSON result and SPEC's exit code.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "output.h"

static void run_usage(FILE *f) {
        fputs("Usage: corral run [OPTIONS] -- COMMAND [ARGS...]\n"
              "\n"
              "Run COMMAND in its own transient cgroup (or under rlimits where cgroup v2 cannot\n"
              "be used), enforce the limits, kill everything it started when it ends, and\n"
              "report why it stopped.\n"
              "\n"
              "Limits:\n"
              "  -m, --memory SIZE        MemoryMax: memory of the whole tree (256M, 1.5G, 10%)\n"
              "  -t, --time DURATION      RuntimeMaxSec: wall-clock limit (2s, 500ms, 1min 30s)\n"
              "  -c, --cpu-time DURATION  CPUTimeMaxSec: CPU time of the whole tree\n"
              "  -n, --tasks N            TasksMax: processes and threads alive at once\n"
              "      --cpus X             CPUQuota: throttle to X CPUs (0.5 = CPUQuota=50%)\n"
              "      --grace DURATION     TimeoutStopSec: SIGTERM -> SIGKILL grace (default 200ms)\n"
              "  -p, --property KEY=VALUE any policy property (MemoryRlimit=as, Unenforced=refuse, ...)\n"
              "      --policy NAME|PATH   apply a policy file (untrusted, compiler, ...) at this point;\n"
              "                           options after it override it\n"
              "\n"
              "Output:\n"
              "      --json               print the JSON result as the last line of stdout\n"
              "      --result-file PATH   write the JSON result to PATH\n"
              "      --capture            capture the command's stdout/stderr into the result\n"
              "      --backend B          auto (default), cgroup2, cgroup2-core or rlimit\n"
              "      --cgroup-base PATH   CGroupBase: a cgroup v2 directory for the run groups\n"
              "                           (default: found by placement; env CORRAL_CGROUP_BASE)\n"
              "      --connect[=PATH]     run through corrald at PATH (default $CORRAL_SOCKET,\n"
              "                           else /run/corral/corral.sock)\n"
              "  -h, --help               this text\n"
              "\n"
              "Exit status: the command's own; 128+N if it died of signal N; 124 wall or CPU\n"
              "timeout; 137 memory limit; 130 interrupted; 126 cannot execute; 127 not found;\n"
              "125 corral failed or bad input.\n",
              f);
}

static int set_cpus(corral_policy *p, const char *value) {
        char *end;
        errno = 0;
        double cpus = strtod(value, &end);
        if (errno || end == value || *end || !(cpus > 0) || cpus > 100000) {
                cli_error("--cpus value '%s': expected a positive number of CPUs, like 0.5 or 2", value);
                return -EINVAL;
        }
        char percent[64];
        snprintf(percent, sizeof percent, "%.4f%%", cpus * 100);
        return cli_policy_set(p, "CPUQuota", percent);
}

static int write_result_file(const char *path, const char *json) {
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        int ok = fprintf(f, "%s\n", json) >= 0;
        if (fclose(f) != 0 || !ok)
                return -EIO;
        return 0;
}

/* Wait for the job, turning stop requests into a graceful interruption. */
static int wait_job(corral_job *job, int sigfd) {
        bool interrupted = false;
        for (;;) {
                int r = corral_job_dispatch(job);
                if (r != 0)
                        return r;
                struct pollfd fds[2] = {
                        { .fd = corral_job_fd(job), .events = POLLIN },
                        { .fd = sigfd, .events = POLLIN },
                };
                if (poll(fds, 2, -1) < 0 && errno != EINTR)
                        return -errno;
                if (fds[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sigfd, &si, sizeof si) == sizeof si && !interrupted) {
                                interrupted = true;
                                (void) corral_job_interrupt(job);
                        }
                }
        }
}

int verb_run(int argc, char *argv[]) {
        enum { OPT_CPUS = 256, OPT_GRACE, OPT_JSON, OPT_RESULT_FILE, OPT_BACKEND, OPT_CAPTURE, OPT_POLICY, OPT_CONNECT,
               OPT_CGROUP_BASE };
        static const struct option options[] = {
                { "memory", required_argument, NULL, 'm' },
                { "time", required_argument, NULL, 't' },
                { "cpu-time", required_argument, NULL, 'c' },
                { "tasks", required_argument, NULL, 'n' },
                { "cpus", required_argument, NULL, OPT_CPUS },
                { "grace", required_argument, NULL, OPT_GRACE },
                { "property", required_argument, NULL, 'p' },
                { "json", no_argument, NULL, OPT_JSON },
                { "result-file", required_argument, NULL, OPT_RESULT_FILE },
                { "backend", required_argument, NULL, OPT_BACKEND },
                { "capture", no_argument, NULL, OPT_CAPTURE },
                { "policy", required_argument, NULL, OPT_POLICY },
                { "cgroup-base", required_argument, NULL, OPT_CGROUP_BASE },
                { "connect", optional_argument, NULL, OPT_CONNECT },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        corral_policy *p = NULL;
        const char *result_file = NULL, *connect_path = NULL;
        bool json = false, connect = false;
        corral_client *client = NULL;
        int r, c, code = CLI_EXIT_FAILURE;

        if (corral_policy_new(&p) < 0) {
                cli_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        if (cli_policy_from_env(p) < 0)
                goto out;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "+m:t:c:n:p:h", options, NULL)) >= 0) {
                r = 0;
                switch (c) {
                case 'm':
                        r = cli_policy_set(p, "MemoryMax", optarg);
                        break;
                case 't':
                        r = cli_policy_set(p, "RuntimeMaxSec", optarg);
                        break;
                case 'c':
                        r = cli_policy_set(p, "CPUTimeMaxSec", optarg);
                        break;
                case 'n':
                        r = cli_policy_set(p, "TasksMax", optarg);
                        break;
                case OPT_CPUS:
                        r = set_cpus(p, optarg);
                        break;
                case OPT_GRACE:
                        r = cli_policy_set(p, "TimeoutStopSec", optarg);
                        break;
                case 'p': {
                        corral_diag diag = {};
                        r = corral_policy_set_assignment(p, optarg, &diag);
                        if (r < 0)
                                cli_error("%s", diag.message);
                        break;
                }
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_RESULT_FILE:
                        result_file = optarg;
                        break;
                case OPT_BACKEND:
                        r = cli_policy_set(p, "Backend", optarg);
                        break;
                case OPT_CAPTURE:
                        r = cli_policy_set(p, "CaptureOutput", "yes");
                        break;
                case OPT_POLICY: {
                        corral_diag diag = {};
                        r = corral_policy_load(p, optarg, &diag);
                        if (r < 0)
                                cli_error("%s", diag.message[0] ? diag.message : strerror(-r));
                        break;
                }
                case OPT_CGROUP_BASE:
                        r = cli_policy_set(p, "CGroupBase", optarg);
                        break;
                case OPT_CONNECT:
                        connect = true;
                        connect_path = optarg;
                        break;
                case 'h':
                        run_usage(stdout);
                        corral_policy_free(p);
                        return 0;
                case '?':
                default:
                        if (optopt)
                                cli_error("run: unknown or incomplete option '-%c' (see corral run --help)", optopt);
                        else
                                cli_error("run: unknown or incomplete option '%s' (see corral run --help)",
                                          argv[optind - 1]);
                        r = -EINVAL;
                }
                if (r < 0)
                        goto out;
        }
        if (optind >= argc) {
                cli_error("run: no command given (corral run [OPTIONS] -- COMMAND [ARGS...])");
                goto out;
        }

        if (connect) {
                corral_diag cdiag = {};
                r = corral_client_connect(connect_path, &client, &cdiag);
                if (r < 0) {
                        cli_error("%s", cdiag.message[0] ? cdiag.message : strerror(-r));
                        goto out;
                }
        } else {
                /* The CLI is a single-purpose supervisor: orphans of the run come to it, and it
                 * places itself where run groups get controllers (moving aside in a delegated
                 * cgroup, or into a systemd scope, CGroupBase= or a namespace group).
                 * (Through corrald, the daemon does.) */
                (void) corral_become_subreaper();
                (void) corral_place(p, NULL);
        }

        /* A shell starts background jobs with SIGINT ignored; an ignored signal never reaches a
         * signalfd. A stop request must always stop the run gracefully, so take SIGINT and
         * SIGTERM back; an ignored SIGHUP (nohup) stays ignored. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        struct sigaction hup;
        if (sigaction(SIGHUP, NULL, &hup) >= 0 && hup.sa_handler != SIG_IGN)
                sigaddset(&stop, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0) {
                cli_error("cannot block signals: %m");
                goto out;
        }
        int sigfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sigfd < 0) {
                cli_error("cannot create a signalfd: %m");
                goto out;
        }
        signal(SIGPIPE, SIG_IGN);

        corral_job *job = NULL;
        corral_diag diag = {};
        if (client)
                r = corral_client_spawn(client, p, argv + optind, NULL, &job, &diag);
        else
                r = corral_spawn(p, argv + optind, &job, &diag);
        if (r < 0) {
                cli_error("%s", diag.message[0] ? diag.message : strerror(-r));
                close(sigfd);
                goto out;
        }
        r = wait_job(job, sigfd);
        close(sigfd);
        if (r < 0) {
                cli_error("waiting for the run failed: %s", strerror(-r));
                corral_job_free(job);
                goto out;
        }

        const corral_result *res = corral_job_result(job);
        code = corral_result_exit_code(res);
        if (res->error[0] &&
            (res->status == CORRAL_STATUS_SPAWN_ERROR || res->status == CORRAL_STATUS_INTERNAL_ERROR))
                cli_error("%s", res->error);

        if (json || result_file) {
                char *text = NULL;
                r = corral_job_result_json(job, &text);
                if (r < 0) {
                        cli_error("cannot format the result: %s", strerror(-r));
                        code = CLI_EXIT_FAILURE;
                } else {
                        if (result_file) {
                                r = write_result_file(result_file, text);
                                if (r < 0) {
                                        cli_error("cannot write the result to '%s': %s", result_file,
                                                  strerror(-r));
                                        code = CLI_EXIT_FAILURE;
                                }
                        } else {
                                fflush(stdout);
                                printf("%s\n", text);
                        }
                        free(text);
                }
        }
        corral_job_free(job);
out:
        corral_client_free(client);
        corral_policy_free(p);
        if (fflush(stdout) != 0 && code == 0)
                code = CLI_EXIT_FAILURE;
        return code;
}
