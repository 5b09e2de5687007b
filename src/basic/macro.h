/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every corral file may use: cleanup attributes so that fds and
 * allocations are released on every path, ownership hand-off, array sizes.
 * libc only.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _public_ __attribute__((visibility("default")))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand ownership out of a _cleanup_ variable: returns the value, leaves NULL/-EBADF behind. */
#define TAKE_PTR(p)                                  \
        ({                                           \
                __typeof__(p) *_pp_ = &(p);          \
                __typeof__(p) _p_ = *_pp_;           \
                *_pp_ = NULL;                        \
                _p_;                                 \
        })
#define TAKE_FD(fd)                                  \
        ({                                           \
                int *_pfd_ = &(fd);                  \
                int _fd_ = *_pfd_;                   \
                *_pfd_ = -EBADF;                     \
                _fd_;                                \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* close() that keeps errno and accepts negative fds; returns -EBADF to assign back. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Define a cleanup function for a pointer type with a destructor that accepts NULL. */
#define DEFINE_POINTER_CLEANUP(type, func)                 \
        static inline void func##p(type **p) {             \
                if (*p)                                    \
                        func(*p);                          \
        }

/* errno as a negative return value, never 0 (a libc call that failed without errno). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define USEC_PER_SEC ((uint64_t) 1000000ULL)
#define USEC_PER_MSEC ((uint64_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
