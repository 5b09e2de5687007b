/* SPDX-License-Identifier: MIT */
/*
 * cr-graceful: a program that cleans up on SIGTERM, for the grace period.
 *
 *   cr-graceful [--ready READYFILE] [--cleanup SECONDS] [--cleanup-alloc MIB] FILE
 *
 * Installs a SIGTERM handler, writes READYFILE (if given) once the handler is in
 * place, then sleeps forever. On SIGTERM the handler spends SECONDS (default 0)
 * "cleaning up", touches MIB of fresh memory (default 0: a cleanup that needs
 * memory, to provoke an OOM kill inside the grace period), writes "cleaned up
 * after SIGTERM" to FILE and exits 0. A test checks that FILE exists after a
 * wall timeout with a long enough grace, and that it does not when the cleanup
 * takes longer than the grace.
 *
 * Exit: 0 after SIGTERM; 2 on bad arguments, 3 on failure.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include "common.h"

static const char usage[] = "[--ready READYFILE] [--cleanup SECONDS] [--cleanup-alloc MIB] FILE";

static const char *done_file;
static struct timespec cleanup_time;
static size_t cleanup_bytes;

static void on_term(int sig)
{
        static const char msg[] = "cleaned up after SIGTERM\n";
        int fd;

        (void)sig;
        /* Only async-signal-safe calls from here on. */
        if (cleanup_time.tv_sec > 0 || cleanup_time.tv_nsec > 0) {
                struct timespec left = cleanup_time;
                while (nanosleep(&left, &left) < 0 && errno == EINTR)
                        ;
        }
        if (cleanup_bytes > 0) {
                /* mmap, not malloc: the handler may only use async-signal-safe calls. */
                volatile unsigned char *p = mmap(NULL, cleanup_bytes, PROT_READ | PROT_WRITE,
                                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED)
                        _exit(3);
                for (size_t i = 0; i < cleanup_bytes; i += 4096)
                        p[i] = 1;
        }
        fd = open(done_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                _exit(3);
        if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)(sizeof(msg) - 1))
                _exit(3);
        if (close(fd) < 0)
                _exit(3);
        _exit(0);
}

int main(int argc, char **argv)
{
        const char *ready = NULL;
        double cleanup = 0;
        uint64_t alloc_mib = 0;
        int i;

        prog_init(argc, argv);
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (i + 1 >= argc)
                        usage_exit(usage);
                if (strcmp(argv[i], "--ready") == 0) {
                        ready = argv[++i];
                } else if (strcmp(argv[i], "--cleanup") == 0) {
                        if (parse_seconds(argv[++i], &cleanup) < 0)
                                usage_exit(usage);
                } else if (strcmp(argv[i], "--cleanup-alloc") == 0) {
                        if (parse_u64(argv[++i], 1ULL << 20, &alloc_mib) < 0)
                                usage_exit(usage);
                } else {
                        usage_exit(usage);
                }
        }
        if (argc - i != 1)
                usage_exit(usage);
        done_file = argv[i];
        cleanup_bytes = (size_t)(alloc_mib * MIB);
        cleanup_time.tv_sec = (time_t)cleanup;
        cleanup_time.tv_nsec = (long)((cleanup - (double)cleanup_time.tv_sec) * 1e9);

        struct sigaction sa = { .sa_handler = on_term };
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGTERM, &sa, NULL) < 0) {
                say("sigaction: %s", strerror(errno));
                return 3;
        }
        /* The handler must be reachable even if a parent left SIGTERM blocked. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &set, NULL);

        if (ready) {
                int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || close(fd) < 0) {
                        say("cannot write %s: %s", ready, strerror(errno));
                        return 3;
                }
        }
        sleep_forever();
}
