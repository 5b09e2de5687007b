/* SPDX-License-Identifier: MIT */
/*
 * Reading and writing the small text files of cgroupfs (memory.max, memory.events,
 * cpu.stat, cgroup.kill, ...) and procfs, relative to a directory fd so that a run's
 * cgroup is addressed by the fd corral holds, never by a path that could be swapped.
 * libc only; needs no privilege beyond access to the files themselves.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

/* Largest flat-keyed file read_keyed_u64_at() reads; memory.stat is a few KiB. */
#define KEYED_FILE_MAX (1024 * 1024)

int read_file_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = 0;

        if (!name || !buf || size == 0)
                return -EINVAL;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        /* pread at explicit offsets: seq_file-backed files may return less than asked. */
        while (len < size - 1) {
                ssize_t n = pread(fd, buf + len, size - 1 - len, (off_t) len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }

        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return 0;
}

int write_file_at(int dirfd, const char *name, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        ssize_t n;

        if (!name || !value)
                return -EINVAL;

        fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        /* cgroupfs takes a value in one write(2); a second write would be a second value. */
        len = strlen(value);
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Exactly [s, end) as a decimal number: no sign, no spaces, no base prefix. */
static int parse_u64(const char *s, const char *end, uint64_t *ret) {
        uint64_t v = 0;

        if (s == end)
                return -EINVAL;
        for (; s < end; s++) {
                uint64_t d;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                d = (uint64_t) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }

        *ret = v;
        return 0;
}

int read_u64_at(int dirfd, const char *name, uint64_t *ret) {
        char buf[64];
        const char *end;
        uint64_t v;
        size_t len;
        int r;

        r = read_file_at(dirfd, name, buf, sizeof(buf), &len);
        if (r < 0)
                return r;

        end = buf + len;
        while (end > buf && is_blank(end[-1]))
                end--;

        if (end - buf == 3 && memcmp(buf, "max", 3) == 0)
                v = UINT64_MAX;
        else {
                r = parse_u64(buf, end, &v);
                if (r < 0)
                        return r;
        }

        *ret = v;
        return 0;
}

int read_keyed_u64(const char *text, const char *key, uint64_t *ret) {
        size_t key_len;

        if (!text || !key)
                return -EINVAL;
        key_len = strlen(key);
        if (key_len == 0 || strpbrk(key, " \t\n\r"))
                return -EINVAL;

        for (const char *line = text; *line;) {
                const char *eol = strchrnul(line, '\n');

                /* The key must be the whole first word: "oom" is not "oom_kill". */
                if ((size_t) (eol - line) > key_len && memcmp(line, key, key_len) == 0 &&
                    (line[key_len] == ' ' || line[key_len] == '\t')) {
                        const char *v = line + key_len, *end = eol;

                        while (v < end && is_blank(*v))
                                v++;
                        while (end > v && is_blank(end[-1]))
                                end--;
                        return parse_u64(v, end, ret);
                }

                line = *eol ? eol + 1 : eol;
        }

        return -ENOENT;
}

int read_keyed_u64_at(int dirfd, const char *name, const char *key, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 4096, len;
        int r;

        /* The file has no size to ask for: read it again, twice as big, until it fits. */
        for (;;) {
                char *b = realloc(buf, size);

                if (!b)
                        return -ENOMEM;
                buf = b;

                r = read_file_at(dirfd, name, buf, size, &len);
                if (r < 0)
                        return r;
                if (len < size - 1)
                        break;
                if (size >= KEYED_FILE_MAX)
                        return -EFBIG;
                size *= 2;
        }

        return read_keyed_u64(buf, key, ret);
}
