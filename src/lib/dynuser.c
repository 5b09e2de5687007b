/* SPDX-License-Identifier: MIT */
/*
 * DynamicUser=: a uid/gid of its own for each run that runs at the same time, from
 * systemd's range 61184-65519 (0xEF00-0xFFEF), released when the run is over.
 *
 * A uid is taken by holding an flock on /run/corral/dynamic-uid/UID (created 0600 by
 * root): a crashed corral releases it with its fds, so no uid leaks. A candidate is
 * skipped when the lock is held, when the lock file was replaced between open and
 * lock (someone released it meanwhile: its inode no longer is the path's), or when the
 * system's user or group database knows the id. Release unlinks the file, then closes
 * the fd. The uid is the gid. Privilege: root (the directory is root's, and only root
 * can become the uid).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynuser.h"
#include "macro.h"

static int ensure_dir(char *why, size_t why_size) {
        if (mkdir("/run/corral", 0755) < 0 && errno != EEXIST)
                goto fail;
        if (mkdir(DYNUSER_DIR, 0700) < 0 && errno != EEXIST)
                goto fail;
        return 0;
fail:
        snprintf(why, why_size, "DynamicUser=yes: cannot create %s: %s", DYNUSER_DIR, strerror(errno));
        return negative_errno();
}

/* Known to NSS as a user or a group: not ours to hand out. */
static bool id_in_use(uid_t id) {
        char buf[4096];
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;

        if (getpwuid_r(id, &pw, buf, sizeof buf, &pwr) == 0 && pwr)
                return true;
        if (getgrgid_r((gid_t) id, &gr, buf, sizeof buf, &grr) == 0 && grr)
                return true;
        return false;
}

int dynuser_acquire(uid_t first, uid_t last, dynuser *ret, char *why, size_t why_size) {
        uint32_t start = 0;
        uint32_t span = (uint32_t) (last - first) + 1;
        int r;

        if (geteuid() != 0) {
                snprintf(why, why_size, "DynamicUser=yes needs root");
                return -EPERM;
        }
        r = ensure_dir(why, why_size);
        if (r < 0)
                return r;
        /* Start anywhere: concurrent corrals rarely try the same uid first. */
        if (getrandom(&start, sizeof start, GRND_NONBLOCK) != sizeof start)
                start = (uint32_t) getpid();

        for (uint32_t i = 0; i < span; i++) {
                uid_t uid = first + (uid_t) ((start + i) % span);
                char path[64];
                struct stat a, b;
                int fd;

                snprintf(path, sizeof path, DYNUSER_DIR "/%u", (unsigned) uid);
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        continue;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        close(fd);
                        continue;
                }
                /* Released (unlinked) between our open and our lock: try again later. */
                if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev ||
                    id_in_use(uid)) {
                        close(fd);
                        continue;
                }
                *ret = (dynuser){ .uid = uid, .gid = (gid_t) uid, .lock_fd = fd };
                return 0;
        }
        snprintf(why, why_size, "DynamicUser=yes: every uid in %u-%u is in use", (unsigned) first, (unsigned) last);
        return -EBUSY;
}

void dynuser_release(dynuser *u) {
        char path[64];

        if (u->lock_fd < 0)
                return;
        snprintf(path, sizeof path, DYNUSER_DIR "/%u", (unsigned) u->uid);
        (void) unlink(path);
        u->lock_fd = safe_close(u->lock_fd);
}
