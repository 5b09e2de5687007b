/* SPDX-License-Identifier: MIT */
/*
 * cr-alloc: allocate and touch memory, in steps, so that a memory limit is hit
 * for real (cgroup memory.max, RLIMIT_DATA/RLIMIT_AS, corral's RSS watch).
 *
 *   cr-alloc [--children N] [--tmpfs DIR] [--hold SECONDS] TOTAL_MIB [STEP_MIB]
 *
 * Anonymous memory by default: malloc() STEP_MIB at a time and write every page.
 * --tmpfs DIR writes the memory into a file in DIR instead (unlinked at once, so
 * it is freed when the writer dies): page cache charged to the cgroup, never
 * mapped by the process. --children N spreads TOTAL over N child processes; the
 * parent only waits. --hold keeps the memory for that long before exiting.
 *
 * Exit: 0 when everything was touched; 3 when an allocation or write failed
 * (a child's failure is passed on; a child killed by a signal is re-raised);
 * 2 on bad arguments.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"

static const char usage[] = "[--children N] [--tmpfs DIR] [--hold SECONDS] TOTAL_MIB [STEP_MIB]";

static int alloc_anon(uint64_t total_mib, uint64_t step_mib)
{
        uint64_t done = 0;
        long page = sysconf(_SC_PAGESIZE);

        if (page <= 0)
                page = 4096;
        while (done < total_mib) {
                uint64_t n = total_mib - done < step_mib ? total_mib - done : step_mib;
                size_t len = (size_t)(n * MIB);
                /* Kept on purpose: the memory must stay resident until exit. */
                volatile unsigned char *p = malloc(len);
                if (!p) {
                        say("malloc of %llu MiB failed after %llu MiB: %s", (unsigned long long)n,
                            (unsigned long long)done, strerror(errno));
                        return 3;
                }
                for (size_t i = 0; i < len; i += (size_t)page)
                        p[i] = (unsigned char)(i | 1);
                p[len - 1] = 1;
                done += n;
        }
        say("touched %llu MiB of anonymous memory", (unsigned long long)done);
        return 0;
}

static int alloc_tmpfs(const char *dir, uint64_t total_mib, uint64_t step_mib, int *ret_fd)
{
        char path[4096];
        unsigned char *buf;
        uint64_t done = 0;
        int fd, r;

        r = snprintf(path, sizeof(path), "%s/cr-alloc.%ld", dir, (long)getpid());
        if (r < 0 || (size_t)r >= sizeof(path)) {
                say("path too long: %s", dir);
                return 2;
        }
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                say("cannot create %s: %s", path, strerror(errno));
                return 3;
        }
        /* Unlinked while open: the pages live until the last writer dies, not longer. */
        unlink(path);

        buf = malloc(MIB);
        if (!buf) {
                say("malloc of the 1 MiB write buffer failed: %s", strerror(errno));
                close(fd);
                return 3;
        }
        memset(buf, 0x5a, MIB);
        while (done < total_mib) {
                uint64_t n = total_mib - done < step_mib ? total_mib - done : step_mib;
                for (uint64_t i = 0; i < n; i++) {
                        r = write_all(fd, buf, MIB);
                        if (r < 0) {
                                say("write to tmpfs failed after %llu MiB: %s",
                                    (unsigned long long)done + i, strerror(-r));
                                free(buf);
                                close(fd);
                                return 3;
                        }
                }
                done += n;
        }
        free(buf);
        say("wrote %llu MiB into a tmpfs file in %s", (unsigned long long)done, dir);
        *ret_fd = fd;
        return 0;
}

static int alloc_one(const char *tmpfs, uint64_t total_mib, uint64_t step_mib, double hold)
{
        int fd = -1;
        int r;

        if (tmpfs)
                r = alloc_tmpfs(tmpfs, total_mib, step_mib, &fd);
        else
                r = alloc_anon(total_mib, step_mib);
        if (r != 0)
                return r;
        if (hold > 0)
                sleep_s(hold);
        if (fd >= 0)
                close(fd);
        return 0;
}

int main(int argc, char **argv)
{
        uint64_t children = 0, total = 0, step = 1;
        const char *tmpfs = NULL;
        double hold = 0;
        int i;

        prog_init(argc, argv);
        for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                if (i + 1 >= argc)
                        usage_exit(usage);
                if (strcmp(argv[i], "--children") == 0) {
                        if (parse_u64(argv[++i], 4096, &children) < 0 || children == 0)
                                usage_exit(usage);
                } else if (strcmp(argv[i], "--tmpfs") == 0) {
                        tmpfs = argv[++i];
                } else if (strcmp(argv[i], "--hold") == 0) {
                        if (parse_seconds(argv[++i], &hold) < 0)
                                usage_exit(usage);
                } else {
                        usage_exit(usage);
                }
        }
        if (argc - i < 1 || argc - i > 2)
                usage_exit(usage);
        if (parse_u64(argv[i], 1ULL << 30, &total) < 0)
                usage_exit(usage);
        if (argc - i == 2 && (parse_u64(argv[i + 1], 1ULL << 30, &step) < 0 || step == 0))
                usage_exit(usage);

        if (children == 0)
                return alloc_one(tmpfs, total, step, hold);

        /* Spread the total: every child gets total/N, the last one the remainder too. */
        uint64_t share = total / children;
        int rc = 0, sig = 0;
        for (uint64_t c = 0; c < children; c++) {
                uint64_t mine = c + 1 == children ? total - share * (children - 1) : share;
                pid_t pid = fork();
                if (pid < 0) {
                        say("fork of child %llu failed: %s", (unsigned long long)c, strerror(errno));
                        rc = 3;
                        break;
                }
                if (pid == 0)
                        _exit(alloc_one(tmpfs, mine, step, hold));
        }
        for (;;) {
                int status;
                pid_t pid = wait(&status);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && rc == 0)
                        rc = WEXITSTATUS(status);
                else if (WIFSIGNALED(status) && sig == 0)
                        sig = WTERMSIG(status);
        }
        if (sig != 0) {
                say("a child died of signal %d; passing it on", sig);
                return reraise(sig);
        }
        if (rc == 0)
                say("%llu children touched %llu MiB in all", (unsigned long long)children,
                    (unsigned long long)total);
        return rc;
}
