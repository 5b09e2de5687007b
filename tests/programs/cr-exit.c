/* SPDX-License-Identifier: MIT */
/*
 * cr-exit: end in a chosen way, after an optional sleep. The plain statuses of
 * the contract (ok, exited, signaled, and a sleeper for wall timeouts) come
 * from this program.
 *
 *   cr-exit [--sleep SECONDS] [--signal SIG] [CODE]
 *
 * Sleeps SECONDS (default 0; "inf" sleeps forever), then dies of SIG (a name such
 * as SEGV or SIGSEGV, or a number) sent to itself with its default action and
 * no core file, or else exits with CODE (default 0).
 *
 * Exit: CODE; 2 on bad arguments.
 */
#include <signal.h>

#include "common.h"

static const char usage[] = "[--sleep SECONDS|inf] [--signal SIG] [CODE]";

static const struct {
        const char *name;
        int sig;
} signals[] = {
        { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "ILL", SIGILL },
        { "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS },   { "FPE", SIGFPE },
        { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
        { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "XCPU", SIGXCPU },
        { "XFSZ", SIGXFSZ }, { "SYS", SIGSYS },
};

static int parse_signal(const char *s)
{
        uint64_t n;

        if (parse_u64(s, 64, &n) == 0)
                return n >= 1 ? (int)n : -1;
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcmp(s, signals[i].name) == 0)
                        return signals[i].sig;
        return -1;
}

int main(int argc, char **argv)
{
        double sleep_for = 0;
        int sig = 0;
        uint64_t code = 0;
        int i;

        prog_init(argc, argv);
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (i + 1 >= argc)
                        usage_exit(usage);
                if (strcmp(argv[i], "--sleep") == 0) {
                        i++;
                        if (strcmp(argv[i], "inf") == 0)
                                sleep_for = -1;
                        else if (parse_seconds(argv[i], &sleep_for) < 0)
                                usage_exit(usage);
                } else if (strcmp(argv[i], "--signal") == 0) {
                        sig = parse_signal(argv[++i]);
                        if (sig < 0)
                                usage_exit(usage);
                } else {
                        usage_exit(usage);
                }
        }
        if (argc - i > 1 || (argc - i == 1 && parse_u64(argv[i], 255, &code) < 0))
                usage_exit(usage);

        if (sleep_for != 0)
                sleep_s(sleep_for);
        if (sig > 0) {
                reraise(sig);
                say("signal %d did not kill me", sig);
                return 3;
        }
        return (int)code;
}
