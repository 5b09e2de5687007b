/* SPDX-License-Identifier: MIT */
/*
 * cr-hostile: one thing an untrusted program should not be able to do, per mode, for
 * the isolation suites. Each prints what happened on stderr and exits 0 when the
 * attempt SUCCEEDED, 1 when the kernel refused it (the errno is printed), so a run that
 * the filter stops shows up as killed rather than as either.
 *
 *   cr-hostile ptrace         ptrace(PTRACE_TRACEME)
 *   cr-hostile mount          mount a tmpfs on /mnt
 *   cr-hostile userns         unshare(CLONE_NEWUSER)
 *   cr-hostile connect        socket(AF_INET) + connect to 192.0.2.1:80 (TEST-NET-1)
 *   cr-hostile loopback       a TCP server on 127.0.0.1 and a client that talks to it
 *   cr-hostile int80-getpid   getpid through the i386 entry point (int 0x80)
 *   cr-hostile int80-ptrace   ptrace(PTRACE_TRACEME) through int 0x80
 *   cr-hostile write FILE     create and write FILE
 *   cr-hostile exists FILE    exit 0 if FILE exists
 *   cr-hostile kill-all       kill(-1, SIGKILL): every process this uid may signal; refuses
 *                             to as root (exit 3), where it would take the machine down
 *   cr-hostile whoami         print the uid on stdout
 *   cr-hostile forkbomb       every process forks copies of itself forever (a refused fork
 *                             is retried 10 ms later); only a kill ends it. Refuses to as
 *                             root (exit 3), where no task limit would hold it
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common.h"

static const char usage[] = "ptrace|mount|userns|connect|loopback|int80-getpid|int80-ptrace|"
                            "write FILE|exists FILE|kill-all|whoami|forkbomb";

static int report(const char *what, int r) {
        if (r < 0) {
                fprintf(stderr, "%s: %s: refused: %s\n", prog, what, strerror(errno));
                return 1;
        }
        fprintf(stderr, "%s: %s: succeeded\n", prog, what);
        return 0;
}

#if defined(__x86_64__)
static long int80(long nr, long a, long b) {
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "0"(nr), "b"(a), "c"(b) : "memory");
        return ret;
}
#endif

static int loopback(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        char buf[8] = "";
        int s, c, k;

        s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || bind(s, (struct sockaddr *) &a, sizeof a) < 0 || listen(s, 1) < 0 ||
            getsockname(s, (struct sockaddr *) &a, &len) < 0)
                return report("listen on 127.0.0.1", -1);
        c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *) &a, sizeof a) < 0)
                return report("connect to 127.0.0.1", -1);
        k = accept(s, NULL, NULL);
        if (k < 0 || write(c, "ping", 4) != 4 || read(k, buf, 4) != 4 || memcmp(buf, "ping", 4) != 0)
                return report("talk over 127.0.0.1", -1);
        return report("a TCP server on 127.0.0.1 and a client", 0);
}

int main(int argc, char **argv) {
        prog_init(argc, argv);
        if (argc < 2)
                usage_exit(usage);
        const char *mode = argv[1];

        if (strcmp(mode, "ptrace") == 0)
                return report("ptrace(PTRACE_TRACEME)", (int) ptrace(PTRACE_TRACEME, 0, NULL, NULL));
        if (strcmp(mode, "mount") == 0)
                return report("mount tmpfs on /mnt", mount("tmpfs", "/mnt", "tmpfs", 0, NULL));
        if (strcmp(mode, "userns") == 0)
                return report("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
        if (strcmp(mode, "connect") == 0) {
                struct sockaddr_in out = { .sin_family = AF_INET, .sin_port = htons(80) };
                int s = socket(AF_INET, SOCK_STREAM, 0);
                if (s < 0)
                        return report("socket(AF_INET)", -1);
                inet_pton(AF_INET, "192.0.2.1", &out.sin_addr);
                return report("connect to 192.0.2.1:80", connect(s, (struct sockaddr *) &out, sizeof out));
        }
        if (strcmp(mode, "loopback") == 0)
                return loopback();
#if defined(__x86_64__)
        if (strcmp(mode, "int80-getpid") == 0) {
                long r = int80(20, 0, 0); /* i386 __NR_getpid */
                errno = r < 0 ? (int) -r : 0;
                return report("getpid via int 0x80", r < 0 ? -1 : 0);
        }
        if (strcmp(mode, "int80-ptrace") == 0) {
                long r = int80(26, PTRACE_TRACEME, 0); /* i386 __NR_ptrace */
                errno = r < 0 ? (int) -r : 0;
                return report("ptrace(PTRACE_TRACEME) via int 0x80", r < 0 ? -1 : 0);
        }
#endif
        if (strcmp(mode, "write") == 0 && argc == 3) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, "left behind\n", 12) != 12)
                        return report(argv[2], -1);
                close(fd);
                return report(argv[2], 0);
        }
        if (strcmp(mode, "exists") == 0 && argc == 3) {
                struct stat st;
                return report(argv[2], stat(argv[2], &st));
        }
        if (strcmp(mode, "kill-all") == 0) {
                if (getuid() == 0 || geteuid() == 0) {
                        fprintf(stderr, "%s: kill-all as root: refused\n", prog);
                        return 3;
                }
                return report("kill(-1, SIGKILL)", kill(-1, SIGKILL));
        }
        if (strcmp(mode, "forkbomb") == 0) {
                if (getuid() == 0 || geteuid() == 0) {
                        fprintf(stderr, "%s: forkbomb as root: refused\n", prog);
                        return 3;
                }
                for (;;)
                        if (fork() < 0)
                                usleep(10000);
        }
        if (strcmp(mode, "whoami") == 0) {
                printf("%u\n", (unsigned) getuid());
                return 0;
        }
        usage_exit(usage);
}
