/* SPDX-License-Identifier: MIT */
/*
 * This process's /proc/self/mountinfo, read into one buffer and walked a line at a time.
 * The only reader of that file in corral (cgroup.c: the cgroup2 mount; namespace.c: the
 * host's read-only mounts for ProtectSystem=strict). Not for the child after clone: it
 * allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The first read's buffer: mountinfo is ~2 KiB on a plain host, tens of KiB in a busy
 * container host; it grows by doubling past this. */
#define MOUNTINFO_FIRST_READ 16384

typedef struct mountinfo {
        char *buf; /* the whole file, NUL-terminated; parsed in place */
        size_t len;
        size_t pos; /* where the next line starts */
} mountinfo;

/*
 * One line, as proc(5) describes it:
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * Only what corral's callers use; the strings point into the buffer and stay valid until
 * mountinfo_done().
 */
typedef struct mountinfo_entry {
        const char *root;   /* the mount's root within its filesystem, unescaped */
        const char *point;  /* the mount point, unescaped */
        const char *fstype; /* after the " - " separator, unescaped */
        bool ro;            /* read-only per-mount option (not the superblock's) */
} mountinfo_entry;

/* /proc/self/mountinfo into *ret; -errno from open/read, -ENOMEM. */
int mountinfo_read(mountinfo *ret);
/* The same from any fd read to its end (tests: a file bigger than the first read). */
int mountinfo_read_fd(int fd, mountinfo *ret);
/* A copy of len bytes of text, parsed like the file (tests, fuzzing). */
int mountinfo_from_text(const char *text, size_t len, mountinfo *ret);

/* The next well-formed line into *ret, of type fstype unless that is NULL (a name the
 * kernel writes unescaped, e.g. "cgroup2": the other lines are then hardly looked at);
 * false at the end. A line without the " - " separator, or with fewer fields than the
 * kernel writes, is skipped. */
bool mountinfo_next(mountinfo *m, const char *fstype, mountinfo_entry *ret);

void mountinfo_done(mountinfo *m);
