/* SPDX-License-Identifier: MIT */
/*
 * cr-sigdfl: run a command with every signal at its default action and none
 * blocked.
 *
 *   cr-sigdfl CMD [ARGS...]
 *
 * A non-interactive shell starts background commands with SIGINT and SIGQUIT
 * ignored, and an ignored SIGINT is inherited through exec. The interrupt tests
 * start corral in the background and then send it SIGINT, as Ctrl-C would; this
 * wrapper gives corral the dispositions it would have in a terminal.
 *
 * Exit: that of CMD; 127 if CMD could not be executed, 2 on bad arguments.
 */
#include <signal.h>

#include "common.h"

int main(int argc, char **argv)
{
        sigset_t none;

        prog_init(argc, argv);
        if (argc < 2 || argv[1][0] == '-')
                usage_exit("CMD [ARGS...]");
        for (int sig = 1; sig < NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                signal(sig, SIG_DFL); /* fails harmlessly for numbers libc reserves */
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[1], argv + 1);
        say("cannot execute %s: %s", argv[1], strerror(errno));
        return 127;
}
