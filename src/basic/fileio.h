/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers for cgroupfs and procfs: every path is opened with openat()
 * relative to a directory fd (AT_FDCWD works), with O_CLOEXEC. libc only.
 * All functions return 0 on success, -errno on failure, and write out-params only
 * on success.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Reads up to size-1 bytes of name and NUL-terminates them. A longer file is cut:
 * *ret_len == size-1 means it may have been (cgroupfs reports no size to check).
 * ret_len may be NULL. -EINVAL if size is 0.
 */
int read_file_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len);

/* Writes value with one write(2), no O_CREAT, no O_TRUNC (cgroupfs); a short write is -EIO. */
int write_file_at(int dirfd, const char *name, const char *value);

/* A file holding one decimal number or "max" (-> UINT64_MAX), e.g. pids.max, memory.peak. */
int read_u64_at(int dirfd, const char *name, uint64_t *ret);

/*
 * The value of "key value" in a flat-keyed text such as memory.events or cpu.stat. The
 * key must match a whole first word ("oom" does not match "oom_kill"). -ENOENT if no
 * line has the key, -EINVAL if its value is not a decimal number, -ERANGE on overflow.
 */
int read_keyed_u64(const char *text, const char *key, uint64_t *ret);

/* read_keyed_u64() on the whole of a file, however long. */
int read_keyed_u64_at(int dirfd, const char *name, const char *key, uint64_t *ret);
