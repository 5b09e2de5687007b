/* SPDX-License-Identifier: MIT */
/*
 * cr-clone3: say whether clone3() is available to this process, for the container
 * suite's proof that a seccomp profile refused it (Docker's default answers ENOSYS).
 *
 *   cr-clone3
 *
 * Calls clone3 with a zero-size argument, which the kernel itself rejects with EINVAL
 * before doing anything; a seccomp filter that refuses clone3 answers first, with its
 * own errno. Prints "clone3=EINVAL" (available) or "clone3=<ERRNO NAME>" and exits 0;
 * 2 on bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
        if (argc != 1) {
                fprintf(stderr, "usage: %s\n", argv[0]);
                return 2;
        }
        errno = 0;
        long r = syscall(SYS_clone3, NULL, (size_t) 0);
        const char *name = r < 0 ? strerrorname_np(errno) : NULL;
        printf("clone3=%s\n", r < 0 ? (name ? name : "unknown") : "succeeded");
        return 0;
}
