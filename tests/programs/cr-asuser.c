/* SPDX-License-Identifier: MIT */
/*
 * cr-asuser: run a command as an unprivileged user, for the suites that need a real
 * non-root caller (corrald's clients, the user-namespace path). Needs root. No
 * supplementary groups unless given.
 *
 *   cr-asuser [--no-userns] [--cgroup DIR] UID GID[,GROUP...] COMMAND [ARGS...]
 *
 * --cgroup DIR: move into the cgroup DIR first (as root), the way systemd starts a
 * unit's process in the cgroup it delegated to the unit's user.
 * --no-userns: refuse user namespaces to COMMAND and everything it starts, as a
 * container's seccomp profile does (Docker's default): clone and unshare with
 * CLONE_NEWUSER fail with EPERM, clone3 with ENOSYS (its flags are out of a filter's
 * reach). For the suites' "the kernel refuses" points where the sysctl
 * user.max_user_namespaces cannot be changed (no CAP_SYS_RESOURCE).
 *
 * Exit: COMMAND's (it is exec'ed); 2 bad arguments; 3 the identity change failed.
 */
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "common.h"

static const char usage[] = "[--no-userns] [--cgroup DIR] UID GID[,GROUP...] COMMAND [ARGS...]";

static int refuse_userns(void) {
#define ARG0_LO offsetof(struct seccomp_data, args[0])
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog fprog = { .len = sizeof f / sizeof f[0], .filter = f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -1;
        return (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

int main(int argc, char *argv[]) {
        uint64_t uid, gid, g;
        gid_t groups[32];
        size_t n = 0;
        bool no_userns = false;
        const char *cgroup = NULL;

        prog_init(argc, argv);
        for (;;) {
                if (argc > 1 && strcmp(argv[1], "--no-userns") == 0) {
                        no_userns = true;
                        argv++;
                        argc--;
                } else if (argc > 2 && strcmp(argv[1], "--cgroup") == 0) {
                        cgroup = argv[2];
                        argv += 2;
                        argc -= 2;
                } else
                        break;
        }
        if (cgroup) {
                char path[4096];
                snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
                FILE *f = fopen(path, "w");
                if (!f || fputs("0", f) < 0 || fclose(f) != 0) {
                        say("cannot move into %s: %s", cgroup, strerror(errno));
                        return 3;
                }
        }
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
        if (no_userns && refuse_userns() < 0) {
                say("cannot load the filter refusing user namespaces: %s", strerror(errno));
                return 3;
        }
        execvp(argv[3], argv + 3);
        say("exec %s: %s", argv[3], strerror(errno));
        return 127;
}
