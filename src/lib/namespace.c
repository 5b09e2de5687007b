/* SPDX-License-Identifier: MIT */
/*
 * Namespaces and mounts, the only user of unshare(), setns() and mount(2) in corral.
 *
 * The parent turns the policy into a list of mount operations (checking every path, so
 * that a typo is a spawn_error naming it, not a failed step); the child, between clone
 * and exec, unshares its mount (and ipc, net) namespace, makes every mount private so
 * nothing propagates back to the host, and applies the list in this order:
 *
 *   ProtectSystem=    read-only binds of /usr, /boot, /efi (yes), /etc (full), or / (strict;
 *                     /dev, /proc and /sys are made writable again as they were)
 *   ReadOnlyPaths=    read-only binds
 *   PrivateTmp=       fresh tmpfs on /tmp and /var/tmp (after the read-only steps, so
 *                     writable under ProtectSystem=strict); they die with the namespace,
 *                     and with them whatever the run left there
 *   ReadWritePaths=   writable again below a read-only parent
 *   InaccessiblePaths= an empty mode-000 tmpfs over directories, /dev/null over files
 *   PrivatePIDs=      a /proc of the new pid namespace
 *   PrivateIPC=       /dev/mqueue of the new ipc namespace
 *
 * Recursive read-only uses mount_setattr(AT_RECURSIVE) (Linux 5.12), which changes only the
 * flags it is given: inside a user namespace the kernel locks the nosuid/nodev/noexec (and
 * read-only) flags of every mount copied from the host, and a remount that does not
 * repeat them fails, so no step here remounts with MS_REMOUNT.
 *
 * Privilege: CAP_SYS_ADMIN (root) makes the namespaces directly. Anyone else, where the
 * kernel allows unprivileged user namespaces, gets them through one: the child is cloned
 * with CLONE_NEWUSER (and CLONE_NEWPID), so it holds every capability in its new user
 * namespace until exec; it maps the caller's uid and gid to themselves (setgroups denied
 * first, as the kernel requires for an unprivileged gid_map) and then unshares and mounts
 * as root would. After exec the program is the caller, with no capabilities at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "mountinfo.h"
#include "namespace.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct ns_mount_attr {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
};

bool policy_wants_namespaces(const corral_policy *p) {
        const policy_isolation *i = &p->iso;
        return i->private_tmp || i->private_network || i->private_pids || i->private_ipc || i->dynamic_user ||
               i->protect_system != POLICY_PROTECT_SYSTEM_NO || i->read_only.n || i->read_write.n ||
               i->inaccessible.n;
}

bool ns_privileged(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};

        /* The capability, not the uid: root in a container often lacks it. One capget, not
         * a read and parse of /proc/self/status (twice per run). */
        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));
}

/* ---- the user-namespace probe ---- */

typedef struct ns_probe {
        char uid_map[NS_ID_MAP_MAX], gid_map[NS_ID_MAP_MAX];
} ns_probe;

static int write_proc(const char *path, const char *s) {
        size_t len = strlen(s);
        int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
        if (fd < 0)
                return errno;
        ssize_t n = write(fd, s, len);
        if (n < 0)
                err = errno;
        else if ((size_t) n != len)
                err = EIO;
        close(fd);
        return err;
}

/* The throw-away child: what the real one will do first, then gone. Its exit code is
 * 0, or 1 with the failed write and its errno in *arg (shared memory: CLONE_VM). */
typedef struct ns_probe_arg {
        const ns_probe *p;
        int err, which;
} ns_probe_arg;

static int probe_child(void *arg) {
        ns_probe_arg *a = arg;
        static const char *const files[] = { "/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map" };
        const char *data[] = { "deny", a->p->uid_map, a->p->gid_map };
        for (int i = 0; i < 3; i++) {
                int err = write_proc(files[i], data[i]);
                if (err) {
                        a->err = err;
                        a->which = i;
                        return 1;
                }
        }
        return 0;
}

static void read_sysctl(const char *path, char *buf, size_t size) {
        buf[0] = '\0';
        if (read_file_at(AT_FDCWD, path, buf, size, NULL) < 0)
                buf[0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

int ns_userns_available(char *why, size_t why_size) {
        ns_probe p;
        ns_probe_arg a = { .p = &p, .err = 0, .which = -1 };
        /* the child runs on this stack for a few system calls (CLONE_VM | CLONE_VFORK:
         * no copy of our page tables, and we wait until it is gone) */
        _Alignas(16) char stack[16384];
        char v[32];
        int status = 0;

        snprintf(p.uid_map, sizeof p.uid_map, "%u %u 1\n", (unsigned) geteuid(), (unsigned) geteuid());
        snprintf(p.gid_map, sizeof p.gid_map, "%u %u 1\n", (unsigned) getegid(), (unsigned) getegid());
        pid_t pid = clone(probe_child, stack + sizeof stack, CLONE_NEWUSER | CLONE_VM | CLONE_VFORK, &a);
        if (pid < 0) {
                int err = errno;
                switch (err) {
                case ENOSPC:
                        read_sysctl("/proc/sys/user/max_user_namespaces", v, sizeof v);
                        snprintf(why, why_size, "user namespaces: clone(CLONE_NEWUSER): %s (user.max_user_namespaces=%s)",
                                 strerror(err), v[0] ? v : "?");
                        break;
                case EPERM:
                        read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", v, sizeof v);
                        snprintf(why, why_size,
                                 "user namespaces: clone(CLONE_NEWUSER): %s (%s)", strerror(err),
                                 strcmp(v, "0") == 0 ? "kernel.unprivileged_userns_clone=0" :
                                                       "a seccomp profile or an LSM refuses it");
                        break;
                case EINVAL:
                        snprintf(why, why_size, "user namespaces: clone(CLONE_NEWUSER): %s (a kernel without CONFIG_USER_NS?)",
                                 strerror(err));
                        break;
                default:
                        snprintf(why, why_size, "user namespaces: clone(CLONE_NEWUSER): %s", strerror(err));
                }
                return 0;
        }
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                static const char *const what[] = { "setgroups", "uid_map", "gid_map" };
                snprintf(why, why_size, "user namespaces: writing /proc/self/%s in a new one: %s",
                         a.which >= 0 ? what[a.which] : "?", a.err ? strerror(a.err) : "the probe died");
                return 0;
        }
        return 1;
}

static int why_fail(char *why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_fail(char *why, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, NS_WHY_MAX, fmt, ap);
        va_end(ap);
        return r;
}

static int add(ns_plan *plan, ns_mount_op op, const char *path, char *why) {
        if (plan->n_mounts >= NS_MAX_MOUNTS)
                return why_fail(why, -E2BIG, "too many mounts (at most %d)", NS_MAX_MOUNTS);
        plan->mounts[plan->n_mounts++] = (ns_mount){ op, path };
        return 0;
}

/* A path from the policy: absolute, and there (unless '-': then 0 and left out). */
static int check_path(const char *key, const char *spec, const char **ret_path, struct stat *ret_st, char *why) {
        bool optional = spec[0] == '-';
        const char *path = optional ? spec + 1 : spec;

        if (path[0] != '/')
                return why_fail(why, -EINVAL, "%s=%s: not an absolute path", key, spec);
        if (stat(path, ret_st) < 0) {
                if (optional && errno == ENOENT)
                        return 0;
                return why_fail(why, negative_errno(), "%s=%s: %s", key, path, strerror(errno));
        }
        *ret_path = path;
        return 1;
}

static int add_paths(ns_plan *plan, const char *key, const policy_paths *paths, ns_mount_op op, char *why) {
        for (unsigned i = 0; i < paths->n; i++) {
                const char *path = NULL;
                struct stat st;
                int r = check_path(key, paths->v[i], &path, &st, why);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                ns_mount_op o = op;
                if (op == NS_MOUNT_HIDE_DIR && !S_ISDIR(st.st_mode))
                        o = NS_MOUNT_HIDE_FILE;
                r = add(plan, o, path, why);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A system directory, when it exists here. */
static int add_if_dir(ns_plan *plan, ns_mount_op op, const char *path, char *why) {
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        return add(plan, op, path, why);
}

static bool writable(const char *path) {
        struct statvfs sv;
        return statvfs(path, &sv) == 0 && !(sv.f_flag & ST_RDONLY);
}

static bool below_api_fs(const char *path) {
        static const char *const api[] = { "/dev", "/proc", "/sys" };
        for (size_t i = 0; i < ELEMENTSOF(api); i++) {
                size_t n = strlen(api[i]);
                if (strncmp(path, api[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
                        return true;
        }
        return false;
}

/*
 * ProtectSystem=strict makes everything read-only, then /dev, /proc and /sys writable again,
 * recursively: a mount below them that the host has read-only (a container's /proc/sys)
 * would come out writable. So each such mount, as this process sees it now, is made
 * read-only again at the end of the plan. More of them than the plan holds, or a path
 * longer than its slot, is an error: never a run with less protection than its host.
 */
static int keep_host_readonly(ns_plan *plan, char *why) {
        _cleanup_(mountinfo_done) mountinfo info = {};
        mountinfo_entry e;
        int r = mountinfo_read(&info);
        if (r < 0)
                return why_fail(why, r, "ProtectSystem=strict: cannot read /proc/self/mountinfo: %s", strerror(-r));
        while (mountinfo_next(&info, NULL, &e)) {
                if (!e.ro || !below_api_fs(e.point))
                        continue;
                if (plan->n_host_ro >= NS_MAX_HOST_RO)
                        return why_fail(why, -E2BIG,
                                        "ProtectSystem=strict: more than %d read-only mounts below /dev, /proc, /sys",
                                        NS_MAX_HOST_RO);
                size_t n = strlen(e.point);
                if (n >= NS_HOST_RO_PATH_MAX)
                        return why_fail(why, -ENAMETOOLONG,
                                        "ProtectSystem=strict: read-only mount %.64s...: path longer than %d bytes",
                                        e.point, NS_HOST_RO_PATH_MAX - 1);
                char *slot = plan->host_ro[plan->n_host_ro++];
                memcpy(slot, e.point, n + 1);
                r = add(plan, NS_MOUNT_RO, slot, why);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ns_plan_build(const corral_policy *p, int netns_fd, ns_plan *ret, char *why) {
        const policy_isolation *iso = &p->iso;
        ns_plan plan = { .netns_fd = -1 };
        bool mounts = iso->private_tmp || iso->private_pids || iso->private_ipc || iso->dynamic_user ||
                      iso->protect_system != POLICY_PROTECT_SYSTEM_NO || iso->read_only.n || iso->read_write.n ||
                      iso->inaccessible.n;
        int r = 0;

        if (!policy_wants_namespaces(p)) {
                *ret = plan;
                return 0;
        }
        /* Without CAP_SYS_ADMIN: through a user namespace (the caller checked that the kernel
         * allows one: ns_userns_available). */
        if (!ns_privileged()) {
                plan.userns = true;
                plan.clone_flags |= CLONE_NEWUSER;
                snprintf(plan.uid_map, sizeof plan.uid_map, "%u %u 1\n", (unsigned) geteuid(), (unsigned) geteuid());
                snprintf(plan.gid_map, sizeof plan.gid_map, "%u %u 1\n", (unsigned) getegid(), (unsigned) getegid());
        }

        if (mounts)
                plan.unshare_flags |= CLONE_NEWNS;
        if (iso->private_ipc)
                plan.unshare_flags |= CLONE_NEWIPC;
        if (iso->private_pids)
                plan.clone_flags |= CLONE_NEWPID;
        if (iso->private_network && netns_fd >= 0 && !plan.userns) {
                plan.netns_fd = netns_fd; /* made (or pooled) by the parent: join it */
        } else if (iso->private_network) {
                /* The child makes its own and brings lo up itself: in the run's user
                 * namespace (only its child can make one owned by it), or root's fresh one
                 * that no later run will reuse (no thread, no libnl load per run). */
                plan.unshare_flags |= CLONE_NEWNET;
                plan.lo_up = true;
        }

        if (mounts)
                r = add(&plan, NS_MOUNT_PRIVATE, "/", why);
        switch (iso->protect_system) {
        case POLICY_PROTECT_SYSTEM_STRICT:
                if (r >= 0)
                        r = add(&plan, NS_MOUNT_RO, "/", why);
                /* the API filesystems stay as they were */
                if (r >= 0 && writable("/dev"))
                        r = add(&plan, NS_MOUNT_RW_API, "/dev", why);
                if (r >= 0 && writable("/proc"))
                        r = add(&plan, NS_MOUNT_RW_API, "/proc", why);
                if (r >= 0 && writable("/sys"))
                        r = add(&plan, NS_MOUNT_RW_API, "/sys", why);
                break;
        case POLICY_PROTECT_SYSTEM_FULL:
                if (r >= 0)
                        r = add_if_dir(&plan, NS_MOUNT_RO, "/etc", why);
                __attribute__((fallthrough));
        case POLICY_PROTECT_SYSTEM_YES:
                if (r >= 0)
                        r = add_if_dir(&plan, NS_MOUNT_RO, "/usr", why);
                if (r >= 0)
                        r = add_if_dir(&plan, NS_MOUNT_RO, "/boot", why);
                if (r >= 0)
                        r = add_if_dir(&plan, NS_MOUNT_RO, "/efi", why);
                break;
        case POLICY_PROTECT_SYSTEM_NO:
                break;
        }
        if (r >= 0)
                r = add_paths(&plan, "ReadOnlyPaths", &iso->read_only, NS_MOUNT_RO, why);
        if (r >= 0 && iso->private_tmp) {
                r = add_if_dir(&plan, NS_MOUNT_TMPFS, "/tmp", why);
                if (r >= 0)
                        r = add_if_dir(&plan, NS_MOUNT_TMPFS, "/var/tmp", why);
        }
        /* a dynamic user's other world-writable place: runs must not meet there */
        if (r >= 0 && iso->dynamic_user)
                r = add_if_dir(&plan, NS_MOUNT_TMPFS, "/dev/shm", why);
        if (r >= 0)
                r = add_paths(&plan, "ReadWritePaths", &iso->read_write, NS_MOUNT_RW, why);
        if (r >= 0)
                r = add_paths(&plan, "InaccessiblePaths", &iso->inaccessible, NS_MOUNT_HIDE_DIR, why);
        if (r >= 0 && iso->private_pids)
                r = add(&plan, NS_MOUNT_PROC, "/proc", why);
        if (r >= 0 && iso->private_ipc)
                r = add_if_dir(&plan, NS_MOUNT_MQUEUE, "/dev/mqueue", why);
        if (r < 0)
                return r;
        *ret = plan;
        if (iso->protect_system == POLICY_PROTECT_SYSTEM_STRICT)
                return keep_host_readonly(ret, why); /* its paths live in *ret */
        return 0;
}

/* ---- in the child: async-signal-safe system calls only ---- */

static int set_rdonly(const char *path, bool on) {
        struct ns_mount_attr a = { .attr_set = on ? MOUNT_ATTR_RDONLY : 0, .attr_clr = on ? 0 : MOUNT_ATTR_RDONLY };
        if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a) < 0)
                return errno;
        return 0;
}

/* Whether path is the root of a mount here (statx, Linux 5.8); false when unsure. */
static bool mount_root(const char *path) {
        struct statx stx;
        if (syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &stx) < 0)
                return false;
        return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Make a path a mount point of its own by binding it onto itself, unless it already is one
 * ("/", and /dev, /proc, /sys nearly everywhere): each bind copies the subtree's mounts
 * (/sys alone has a dozen here), and the namespace's end unmounts every copy again. */
static int bind_self(const char *path) {
        if (strcmp(path, "/") == 0 || mount_root(path))
                return 0;
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno;
        return 0;
}

static int do_mount(const ns_mount *m) {
        int err;

        switch (m->op) {
        case NS_MOUNT_PRIVATE:
                return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ? errno : 0;
        case NS_MOUNT_RO:
                err = bind_self(m->path);
                return err ? err : set_rdonly(m->path, true);
        case NS_MOUNT_RW:
                err = bind_self(m->path);
                return err ? err : set_rdonly(m->path, false);
        case NS_MOUNT_RW_API:
                err = bind_self(m->path);
                if (!err)
                        err = set_rdonly(m->path, false);
                /* In a user namespace a read-only mount copied from the host is locked so
                 * (a container's /proc/sys, say), and a recursive change that would clear it
                 * fails as a whole: then only the API filesystem's own mount is made
                 * writable again, and what is below it keeps the read-only we set. */
                if (err == EPERM) {
                        struct ns_mount_attr a = { .attr_clr = MOUNT_ATTR_RDONLY };
                        err = syscall(SYS_mount_setattr, AT_FDCWD, m->path, 0, &a, sizeof a) < 0 ? errno : 0;
                }
                return err;
        case NS_MOUNT_TMPFS:
                return mount("tmpfs", m->path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0 ? errno : 0;
        case NS_MOUNT_HIDE_DIR:
                return mount("tmpfs", m->path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             "mode=000,size=4k") < 0 ?
                               errno :
                               0;
        case NS_MOUNT_HIDE_FILE:
                if (mount("/dev/null", m->path, NULL, MS_BIND, NULL) < 0)
                        return errno;
                /* not MS_REMOUNT: it would have to repeat /dev's locked flags in a userns */
                return set_rdonly(m->path, true);
        case NS_MOUNT_PROC:
                return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? errno : 0;
        case NS_MOUNT_MQUEUE:
                return mount("mqueue", m->path, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? errno : 0;
        }
        return EINVAL;
}

int ns_child_userns(const ns_plan *plan, int *ret_detail) {
        static const char *const files[] = { "/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map" };
        const char *data[] = { "deny", plan->uid_map, plan->gid_map };

        /* setgroups must be denied before an unprivileged gid_map (Linux 3.19) */
        for (int i = 0; i < 3; i++) {
                int err = write_proc(files[i], data[i]);
                if (err) {
                        *ret_detail = i;
                        return err;
                }
        }
        return 0;
}

int ns_child_new_userns(void) {
        return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
}

int ns_child_enter(const ns_plan *plan, int *ret_detail) {
        *ret_detail = -1;
        if (plan->unshare_flags && unshare(plan->unshare_flags) < 0)
                return errno;
        if (plan->netns_fd >= 0 && setns(plan->netns_fd, CLONE_NEWNET) < 0)
                return errno;
        return 0;
}

int ns_child_mount(const ns_plan *plan, int *ret_detail) {
        for (unsigned i = 0; i < plan->n_mounts; i++) {
                int err = do_mount(&plan->mounts[i]);
                if (err) {
                        *ret_detail = (int) i;
                        return err;
                }
        }
        return 0;
}
