/* SPDX-License-Identifier: MIT */
/*
 * cr-asuser: run a command as an unprivileged user, for the service suites (clients of
 * corrald as uid 1000). Needs root. No supplementary groups unless given.
 *
 *   cr-asuser UID GID[,GROUP...] COMMAND [ARGS...]
 *
 * Exit: COMMAND's (it is exec'ed); 2 bad arguments; 3 the identity change failed.
 */
#include <grp.h>
#include <sys/types.h>

#include "common.h"

static const char usage[] = "UID GID[,GROUP...] COMMAND [ARGS...]";

int main(int argc, char *argv[]) {
        uint64_t uid, gid, g;
        gid_t groups[32];
        size_t n = 0;

        prog_init(argc, argv);
        if (argc < 4 || parse_u64(argv[1], 0xfffffffe, &uid) < 0)
                usage_exit(usage);
        char *list = argv[2], *tok = strtok(list, ",");
        if (!tok || parse_u64(tok, 0xfffffffe, &gid) < 0)
                usage_exit(usage);
        while ((tok = strtok(NULL, ",")) && n < 32) {
                if (parse_u64(tok, 0xfffffffe, &g) < 0)
                        usage_exit(usage);
                groups[n++] = (gid_t) g;
        }
        if (setgroups(n, groups) < 0 || setresgid((gid_t) gid, (gid_t) gid, (gid_t) gid) < 0 ||
            setresuid((uid_t) uid, (uid_t) uid, (uid_t) uid) < 0) {
                say("cannot become %llu:%llu: %s", (unsigned long long) uid, (unsigned long long) gid,
                    strerror(errno));
                return 3;
        }
        execvp(argv[3], argv + 3);
        say("exec %s: %s", argv[3], strerror(errno));
        return 127;
}
