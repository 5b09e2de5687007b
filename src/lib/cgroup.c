/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 for corral: find the base under which run groups may be created, create
 * one transient group per run, configure, watch, signal, kill, read and remove it.
 *
 * Kernel interfaces: /proc/self/cgroup, /proc/self/mountinfo (read by mountinfo.c),
 * cgroupfs files (cgroup.controllers, cgroup.subtree_control, cgroup.events,
 * cgroup.procs, cgroup.kill, cgroup.freeze, cpu.stat, memory.*, pids.*). Groups with
 * controllers are created by libcgroup (2.0.2), which has no cgroup.kill, notifications,
 * dirfds nor controller-less groups: those use cgroupfs directly, always through
 * openat() on a held directory fd. Privilege: write access to the base (root, or the
 * owner of a delegated subtree). Only groups named run-* that this process created are
 * touched.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>

#include "cgroup.h"
#include "dlopen.h"
#include "fileio.h"
#include "macro.h"
#include "mountinfo.h"

struct cg_base {
        char *mount;    /* where cgroup2 is mounted */
        char *rel;      /* base relative to the mount root, "" for the root */
        char *path;     /* mount + rel */
        int dirfd;
        bool is_root;   /* the real root cgroup: processes and controllers may mix */
        bool with_controllers;
};

struct cg_group {
        cg_base *base; /* borrowed: the job keeps the base alive */
        char name[64];
        char *path;
        int dirfd;
        int events_fd;
        int memory_events_fd;
        int procs_fd;
        bool with_controllers;
};

static const char *const wanted_controllers[] = { "memory", "pids", "cpu" };

const char *cg_base_path(const cg_base *b) {
        return b->path;
}

cg_base *cg_base_free(cg_base *b) {
        if (!b)
                return NULL;
        safe_close(b->dirfd);
        free(b->mount);
        free(b->rel);
        free(b->path);
        free(b);
        return NULL;
}
DEFINE_POINTER_CLEANUP(cg_base, cg_base_free)

/* Is word one of the space-separated words in list? */
static bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);
        for (const char *p = list; (p = strstr(p, word)); p += n) {
                bool starts = p == list || p[-1] == ' ' || p[-1] == '\n' || p[-1] == ',';
                bool ends = p[n] == '\0' || p[n] == ' ' || p[n] == '\n' || p[n] == ',';
                if (starts && ends)
                        return true;
        }
        return false;
}

/*
 * The cgroup2 mount this process sees: prefer /sys/fs/cgroup (unified layout), else the
 * first one (hybrid layouts mount it at /sys/fs/cgroup/unified).
 */
static int find_mount_uncached(char **ret_mount, char **ret_root, bool *ret_ro) {
        _cleanup_(mountinfo_done) mountinfo info = {};
        _cleanup_free_ char *best = NULL, *best_root = NULL;
        bool best_ro = false;
        mountinfo_entry e;
        int r = mountinfo_read(&info);
        if (r < 0)
                return r;

        while (mountinfo_next(&info, "cgroup2", &e)) {
                if (best && strcmp(e.point, "/sys/fs/cgroup") != 0)
                        continue;
                free(best);
                free(best_root);
                best = strdup(e.point);
                best_root = strdup(e.root);
                if (!best || !best_root)
                        return -ENOMEM;
                best_ro = e.ro;
        }
        if (!best)
                return -ENOENT;
        *ret_mount = TAKE_PTR(best);
        *ret_root = TAKE_PTR(best_root);
        *ret_ro = best_ro;
        return 0;
}

/* The mount found last, kept for the process: mountinfo costs the kernel a line per mount
 * and a run looks it up two or three times (claim, then each cgroup rung). It is checked
 * with one statfs() before use: still cgroup2 there, and still writable or not. */
static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
static char *mount_cached, *mount_root_cached;
static bool mount_ro_cached;

static bool mount_still_valid(const char *mount, bool ro) {
        struct statfs sfs;
        if (statfs(mount, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                return false;
        return !!(sfs.f_flags & ST_RDONLY) == ro;
}

static int own_cgroup(char **ret);

/*
 * The usual places first, without mountinfo: a cgroup2 superblock at /sys/fs/cgroup, else
 * at /sys/fs/cgroup/unified (hybrid layouts), is the mount mountinfo would name, and its
 * root is "/" when our own cgroup's directory is there below it (a mount of a subtree
 * would not have it). Anything else (a subtree mount, an unusual mount point) is left to
 * mountinfo, whose first read costs a fresh process (the CLI) ~50 us here.
 */
static int find_mount_fast(char **ret_mount, char **ret_root, bool *ret_ro) {
        static const char *const places[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        _cleanup_free_ char *own = NULL;
        if (own_cgroup(&own) < 0)
                return -ENOENT;
        for (size_t i = 0; i < ELEMENTSOF(places); i++) {
                struct statfs sfs;
                if (statfs(places[i], &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                        continue;
                char procs[4096 + 64];
                if ((size_t) snprintf(procs, sizeof procs, "%s%s/cgroup.procs", places[i],
                                      strcmp(own, "/") == 0 ? "" : own) >= sizeof procs ||
                    access(procs, F_OK) < 0)
                        return -ENOENT;
                char *mount = strdup(places[i]), *root = strdup("/");
                if (!mount || !root) {
                        free(mount);
                        free(root);
                        return -ENOMEM;
                }
                *ret_mount = mount;
                *ret_root = root;
                *ret_ro = !!(sfs.f_flags & ST_RDONLY);
                return 0;
        }
        return -ENOENT;
}

static int find_mount(char **ret_mount, char **ret_root, bool *ret_ro) {
        _cleanup_free_ char *mount = NULL, *root = NULL;
        bool ro;
        int r;

        pthread_mutex_lock(&mount_lock);
        if (mount_cached && mount_still_valid(mount_cached, mount_ro_cached)) {
                mount = strdup(mount_cached);
                root = strdup(mount_root_cached);
                ro = mount_ro_cached;
                pthread_mutex_unlock(&mount_lock);
                if (!mount || !root)
                        return -ENOMEM;
                goto out;
        }
        pthread_mutex_unlock(&mount_lock);

        r = find_mount_fast(&mount, &root, &ro);
        if (r == -ENOENT)
                r = find_mount_uncached(&mount, &root, &ro);
        if (r < 0)
                return r;
        pthread_mutex_lock(&mount_lock);
        free(mount_cached);
        free(mount_root_cached);
        mount_cached = strdup(mount);
        mount_root_cached = strdup(root);
        if (!mount_cached || !mount_root_cached) {
                free(mount_cached);
                free(mount_root_cached);
                mount_cached = mount_root_cached = NULL;
        }
        mount_ro_cached = ro;
        pthread_mutex_unlock(&mount_lock);
out:
        *ret_mount = TAKE_PTR(mount);
        *ret_root = TAKE_PTR(root);
        *ret_ro = ro;
        return 0;
}

/*
 * /proc/self/cgroup, read once per process. A new process pays ~30 us for its first read
 * here (its /proc entries are made on demand), and one CLI run looked it up six times:
 * placement's rules, the v1 check, the base lookup. It changes only when we move
 * ourselves (cg_join, the claim, a systemd scope: cg_forget_own), or in a forked child:
 * a child has a pid of its own and reads it again, so a function run that uses corral
 * sees the run group it is in, never its parent's.
 */
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t own_pid;
static char own_text[4096];

static int read_own_cgroups(char buf[static 4096]) {
        int r = 0;
        pthread_mutex_lock(&own_lock);
        if (own_pid != getpid()) {
                r = read_file_at(AT_FDCWD, "/proc/self/cgroup", own_text, sizeof own_text, NULL);
                own_pid = r < 0 ? 0 : getpid();
        }
        if (r >= 0)
                memcpy(buf, own_text, sizeof own_text);
        pthread_mutex_unlock(&own_lock);
        return r;
}

void cg_forget_own(void) {
        pthread_mutex_lock(&own_lock);
        own_pid = 0;
        pthread_mutex_unlock(&own_lock);
}

/* Our own cgroup v2 path from /proc/self/cgroup ("0::/path"). */
static int own_cgroup(char **ret) {
        char buf[4096];
        int r = read_own_cgroups(buf);
        if (r < 0)
                return r;
        for (char *line = buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                const char *path = line + 3;
                if (strncmp(path, "/..", 3) == 0 || strstr(path, " (deleted)"))
                        return -EXDEV; /* outside our cgroup namespace, or gone */
                char *s = strdup(path);
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        return -ENOENT;
}

static bool v1_owns(const char *controller) {
        char buf[4096];
        if (read_own_cgroups(buf) < 0)
                return false;
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *list = strchr(line, ':');
                char *end = list ? strchr(list + 1, ':') : NULL;
                if (!list || !end || end == list + 1)
                        continue;
                *end = '\0';
                if (word_in(list + 1, controller))
                        return true;
        }
        return false;
}

/* Resolve own cgroup and base; fills everything but the controller checks. */
static int base_locate(cg_base *b, char *own_abs, size_t own_abs_size, char why[static CG_WHY_MAX]) {
        _cleanup_free_ char *mount = NULL, *mroot = NULL, *own = NULL;
        bool ro;
        int r;

        r = find_mount(&mount, &mroot, &ro);
        if (r == -ENOENT) {
                snprintf(why, CG_WHY_MAX, "no cgroup2 filesystem is mounted");
                return r;
        }
        if (r < 0) {
                snprintf(why, CG_WHY_MAX, "cannot read /proc/self/mountinfo: %s", strerror(-r));
                return r;
        }
        if (ro) {
                snprintf(why, CG_WHY_MAX, "the cgroup2 mount %s is read-only", mount);
                return -EROFS;
        }
        r = own_cgroup(&own);
        if (r < 0) {
                snprintf(why, CG_WHY_MAX, "cannot find this process's cgroup v2 path in /proc/self/cgroup: %s",
                         strerror(-r));
                return r;
        }
        /* A mount of a subtree shows paths relative to its root. */
        const char *rel = own;
        if (strcmp(mroot, "/") != 0) {
                size_t n = strlen(mroot);
                if (strncmp(own, mroot, n) != 0 || (own[n] != '/' && own[n] != '\0')) {
                        snprintf(why, CG_WHY_MAX, "this process's cgroup %s is outside the cgroup2 mount %s",
                                 own, mount);
                        return -EXDEV;
                }
                rel = own + n;
        }
        while (*rel == '/')
                rel++;
        snprintf(own_abs, own_abs_size, "%s%s%s", mount, *rel ? "/" : "", rel);

        /* A "supervisor" leaf (systemd's DelegateSubgroup=, corral_claim_cgroup()) hands
         * its parent to the runs. */
        _cleanup_free_ char *base_rel = strdup(rel);
        if (!base_rel)
                return -ENOMEM;
        char *slash = strrchr(base_rel, '/');
        const char *leaf = slash ? slash + 1 : base_rel;
        if (strcmp(leaf, "supervisor") == 0) {
                if (slash)
                        *slash = '\0';
                else
                        base_rel[0] = '\0';
        }

        if (asprintf(&b->path, "%s%s%s", mount, *base_rel ? "/" : "", base_rel) < 0) {
                b->path = NULL;
                return -ENOMEM;
        }
        b->dirfd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->dirfd < 0) {
                r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot open %s: %s", b->path, strerror(-r));
                return r;
        }
        b->is_root = faccessat(b->dirfd, "cgroup.type", F_OK, 0) < 0 && errno == ENOENT;
        b->mount = TAKE_PTR(mount);
        b->rel = TAKE_PTR(base_rel);
        return 0;
}

static int check_controllers(cg_base *b, const char *own_abs, char why[static CG_WHY_MAX]) {
        char avail[512], enabled[512], missing[128] = "";
        int r;

        r = read_file_at(b->dirfd, "cgroup.controllers", avail, sizeof avail, NULL);
        if (r < 0) {
                snprintf(why, CG_WHY_MAX, "cannot read %s/cgroup.controllers: %s", b->path, strerror(-r));
                return r;
        }
        bool any_v1 = false;
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++)
                if (!word_in(avail, wanted_controllers[i])) {
                        size_t len = strlen(missing);
                        snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "",
                                 wanted_controllers[i]);
                        any_v1 = any_v1 || v1_owns(wanted_controllers[i]);
                }
        if (missing[0]) {
                snprintf(why, CG_WHY_MAX, "controllers %s missing from %s/cgroup.controllers%s", missing,
                         b->path,
                         any_v1 ? " (cgroup v1 hierarchies own them: hybrid layout)"
                                : " (not delegated to this subtree)");
                return -ENOTSUP;
        }

        r = read_file_at(b->dirfd, "cgroup.subtree_control", enabled, sizeof enabled, NULL);
        if (r < 0) {
                snprintf(why, CG_WHY_MAX, "cannot read %s/cgroup.subtree_control: %s", b->path,
                         strerror(-r));
                return r;
        }
        bool all_enabled = true;
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++)
                all_enabled = all_enabled && word_in(enabled, wanted_controllers[i]);

        /* cgroup v2's no-internal-process rule: below a non-root cgroup that holds
         * processes (ours), controllers cannot be enabled. */
        if (!all_enabled && !b->is_root && strcmp(own_abs, b->path) == 0) {
                snprintf(why, CG_WHY_MAX,
                         "this process's own cgroup %s holds processes, so it cannot enable controllers "
                         "for run groups; run corral alone in a delegated cgroup "
                         "(systemd-run --scope -p Delegate=yes) or from a 'supervisor' subgroup",
                         b->path);
                return -EBUSY;
        }
        b->with_controllers = true;
        return 0;
}

/* A new base, located; own_abs receives this process's own cgroup directory. */
static int base_new(cg_base **ret, char own_abs[static 4096], char why[static CG_WHY_MAX]) {
        _cleanup_(cg_base_freep) cg_base *b = calloc(1, sizeof *b);
        int r;

        why[0] = '\0';
        if (!b)
                return -ENOMEM;
        b->dirfd = -EBADF;
        r = base_locate(b, own_abs, 4096, why);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int cg_base_find(bool want_controllers, cg_base **ret, char why[static CG_WHY_MAX]) {
        _cleanup_(cg_base_freep) cg_base *b = NULL;
        char own_abs[4096];
        int r;

        r = base_new(&b, own_abs, why);
        if (r < 0)
                return r;
        if (want_controllers) {
                r = check_controllers(b, own_abs, why);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

/*
 * Is "run-<pid>.<n>" the group of a corral that is gone? Exactly, because a wrong yes
 * kills a live run: the corral that makes a group holds an flock on the group's
 * directory for as long as the group is its (cg_group_create; the lock goes with its
 * last fd, so a SIGKILL releases it), and a group is dead only when
 *   - its pid is gone here (a live pid may be its corral: then never), and
 *   - its lock is free (a pid this process cannot see, in another pid namespace, or a
 *     reused pid is decided by the lock, which no pid number can fake).
 * Returns an fd holding the lock (so that the group stays ours while we end it), or -1.
 */
static int dead_run_group_lock(int base_fd, const char *name) {
        char *end;
        if (strncmp(name, "run-", 4) != 0)
                return -1;
        long pid = strtol(name + 4, &end, 10);
        if (pid <= 0 || *end != '.' || pid == getpid())
                return -1;
        if (kill((pid_t) pid, 0) == 0 || errno != ESRCH)
                return -1;
        int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                safe_close(fd);
                return -1;
        }
        return fd;
}

/* Kill and remove one left-over group and whatever nested groups it holds. -EACCES when
 * we may not kill there (another user's group): then it is left as it is, untouched. */
static int remove_tree_at(int parent_fd, const char *name, unsigned *killed) {
        _cleanup_close_ int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        char procs[4096];
        unsigned n = 0;
        if (read_file_at(fd, "cgroup.procs", procs, sizeof procs, NULL) >= 0)
                for (char *p = procs; *p; p++)
                        if (*p == '\n')
                                n++;
        int r = write_file_at(fd, "cgroup.kill", "1");
        if (r == -EACCES || r == -EPERM)
                return r;
        *killed += n;
        if (r == -ENOENT) {
                /* before 5.14: SIGKILL what we see until nothing is left */
                for (int round = 0; round < 100; round++) {
                        if (read_file_at(fd, "cgroup.procs", procs, sizeof procs, NULL) < 0 || !procs[0])
                                break;
                        for (char *p = procs, *end; *p; p = end) {
                                long pid = strtol(p, &end, 10);
                                if (end == p)
                                        break;
                                if (pid > 0)
                                        (void) kill((pid_t) pid, SIGKILL);
                                while (*end == '\n')
                                        end++;
                        }
                }
        }
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (d) {
                for (struct dirent *de; (de = readdir(d));)
                        if (de->d_type == DT_DIR && de->d_name[0] != '.')
                                (void) remove_tree_at(fd, de->d_name, killed);
                closedir(d);
        } else
                safe_close(dfd);
        /* Wait until the kernel says the group is empty (killed tasks take a moment to exit). */
        for (int i = 0; i < 5000; i++) {
                char events[256];
                if (read_file_at(fd, "cgroup.events", events, sizeof events, NULL) < 0 ||
                    strstr(events, "populated 0"))
                        break;
                struct timespec ts = { 0, 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0)
                return negative_errno();
        return 0;
}

/* Every dead run group in the base: killed, waited for, removed; each reported to log. */
static void sweep_dead(int base_fd, void (*log)(void *userdata, const char *group, unsigned killed),
                       void *userdata) {
        int fd = openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                int lock = dead_run_group_lock(base_fd, de->d_name);
                if (lock < 0)
                        continue;
                unsigned killed = 0;
                int r = remove_tree_at(base_fd, de->d_name, &killed);
                if (r >= 0 && log)
                        log(userdata, de->d_name, killed);
                safe_close(lock);
        }
        closedir(d);
}

void cg_base_sweep(cg_base *b) {
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        static char *swept;

        pthread_mutex_lock(&lock);
        if (swept && strcmp(swept, b->path) == 0) {
                pthread_mutex_unlock(&lock);
                return;
        }
        free(swept);
        swept = strdup(b->path);
        pthread_mutex_unlock(&lock);

        sweep_dead(b->dirfd, NULL, NULL);
}

/* ---- a service's claim on its base (corrald) ---- */

int cg_base_claim(cg_base *b, void (*log)(void *userdata, const char *group, unsigned killed), void *userdata,
                  char why[static CG_WHY_MAX]) {
        /* The daemon's own lock: a base in which we sit alone in the supervisor leaf (a
         * unit's delegated cgroup) is ours, and a second daemon there is refused. */
        char procs[64], self[32];
        snprintf(self, sizeof self, "%d\n", (int) getpid());
        bool owned = read_file_at(b->dirfd, "supervisor/cgroup.procs", procs, sizeof procs, NULL) >= 0 &&
                     strcmp(procs, self) == 0;

        /* flock on the base directory: the owner holds it while it serves, so a second
         * daemon on the same base is refused; a daemon that died (SIGKILL) releases it with
         * its fds. A daemon in a shared base only checks that no owner is there. */
        _cleanup_close_ int lock = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock < 0) {
                int r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot open %s: %s", b->path, strerror(-r));
                return r;
        }
        if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
                int r = errno == EWOULDBLOCK ? -EBUSY : negative_errno();
                snprintf(why, CG_WHY_MAX, "another corrald holds the lock on %s: %s", b->path,
                         r == -EBUSY ? "it owns this base" : strerror(-r));
                return r;
        }
        if (!owned) {
                (void) flock(lock, LOCK_UN);
                snprintf(why, CG_WHY_MAX, "not alone in %s/supervisor: another daemon may serve this base too",
                         b->path);
        }
        /* A dead corral's group is known exactly (its lock, dead_run_group_lock), also in
         * a shared base: killing what it left can never hit a live run. */
        sweep_dead(b->dirfd, log, userdata);
        return TAKE_FD(lock);
}

/* ---- libcgroup adapter: its ECG* codes end here ---- */

/* Loaded on first use (dlopen.h): only the cgroup2 rung's group creation needs it. */
static DL_PROTOTYPE(cgroup_init);
static DL_PROTOTYPE(cgroup_get_last_errno);
static DL_PROTOTYPE(cgroup_strerror);
static DL_PROTOTYPE(cgroup_new_cgroup);
static DL_PROTOTYPE(cgroup_add_controller);
static DL_PROTOTYPE(cgroup_add_value_uint64);
static DL_PROTOTYPE(cgroup_add_value_string);
static DL_PROTOTYPE(cgroup_create_cgroup);
static DL_PROTOTYPE(cgroup_free);

static const dl_symbol libcgroup_symbols[] = {
        DL_SYMBOL(cgroup_init),
        DL_SYMBOL(cgroup_get_last_errno),
        DL_SYMBOL(cgroup_strerror),
        DL_SYMBOL(cgroup_new_cgroup),
        DL_SYMBOL(cgroup_add_controller),
        DL_SYMBOL(cgroup_add_value_uint64),
        DL_SYMBOL(cgroup_add_value_string),
        DL_SYMBOL(cgroup_create_cgroup),
        DL_SYMBOL(cgroup_free),
};

static pthread_once_t libcgroup_once = PTHREAD_ONCE_INIT;
static void *libcgroup_handle;
static int libcgroup_load_result;
static char libcgroup_why[256];
static int libcgroup_init_result;

static void libcgroup_init(void) {
        libcgroup_load_result = dl_open_table("libcgroup.so.2", &libcgroup_handle, libcgroup_symbols,
                                              ELEMENTSOF(libcgroup_symbols), libcgroup_why,
                                              sizeof libcgroup_why);
        if (libcgroup_load_result >= 0)
                libcgroup_init_result = sym_cgroup_init();
}

static int libcgroup_errno(int ecg) {
        if (ecg == 0)
                return 0;
        if (ecg == ECGOTHER) {
                int e = sym_cgroup_get_last_errno();
                return e > 0 ? -e : -EIO;
        }
        return -EIO;
}

static int create_with_libcgroup(const cg_base *b, const char *name, const corral_policy *p,
                                 char why[static CG_WHY_MAX]) {
        char rel[1024], value[64];
        int r;

        pthread_once(&libcgroup_once, libcgroup_init);
        if (libcgroup_load_result < 0) {
                snprintf(why, CG_WHY_MAX, "%s", libcgroup_why);
                return libcgroup_load_result;
        }
        if (libcgroup_init_result != 0) {
                snprintf(why, CG_WHY_MAX, "libcgroup cannot initialise: %s",
                         sym_cgroup_strerror(libcgroup_init_result));
                return -ENOTSUP;
        }
        snprintf(rel, sizeof rel, "%s%s%s", b->rel, b->rel[0] ? "/" : "", name);
        struct cgroup *cg = sym_cgroup_new_cgroup(rel);
        if (!cg)
                return -ENOMEM;

        r = -ENOMEM;
        struct cgroup_controller *mem = sym_cgroup_add_controller(cg, "memory");
        struct cgroup_controller *pids = sym_cgroup_add_controller(cg, "pids");
        struct cgroup_controller *cpu = sym_cgroup_add_controller(cg, "cpu");
        if (!mem || !pids || !cpu)
                goto out;
        if (p->memory_max != CORRAL_INFINITY && sym_cgroup_add_value_uint64(mem, "memory.max", p->memory_max))
                goto out;
        if (p->tasks_max != CORRAL_INFINITY && sym_cgroup_add_value_uint64(pids, "pids.max", p->tasks_max))
                goto out;
        if (p->cpu_quota_ppm > 0) {
                /* systemd's default period: 100 ms */
                uint64_t period = 100000, quota = p->cpu_quota_ppm * period / 1000000;
                snprintf(value, sizeof value, "%" PRIu64 " %" PRIu64, quota < 1000 ? 1000 : quota, period);
                if (sym_cgroup_add_value_string(cpu, "cpu.max", value))
                        goto out;
        }

        /* ignore_ownership: the kernel already gives a new group's files to its creator;
         * libcgroup would chown each of them again, per controller (~400 syscalls a run). */
        int ecg = sym_cgroup_create_cgroup(cg, 1);
        r = libcgroup_errno(ecg);
        if (r < 0)
                snprintf(why, CG_WHY_MAX, "libcgroup cannot create %s/%s: %s", b->path, name,
                         sym_cgroup_strerror(ecg));
out:
        sym_cgroup_free(&cg);
        return r;
}

/* Does the base already enable memory, pids and cpu for its children? */
static bool base_enables_controllers(const cg_base *b) {
        char enabled[512];
        if (read_file_at(b->dirfd, "cgroup.subtree_control", enabled, sizeof enabled, NULL) < 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++)
                if (!word_in(enabled, wanted_controllers[i]))
                        return false;
        return true;
}

/*
 * libcgroup's create opens every cgroup.subtree_control from the mount root down for
 * writing, which the unprivileged owner of a delegated base (a user's systemd scope)
 * may not: it fails although nothing needs enabling. Where the base already enables
 * the controllers, mkdir is all it takes; configure() writes the limits.
 */
static int create_in_enabled_base(const cg_base *b, const char *name, char why[static CG_WHY_MAX]) {
        if (mkdirat(b->dirfd, name, 0755) < 0 && errno != EEXIST) {
                int r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot create %s/%s: %s", b->path, name, strerror(-r));
                return r;
        }
        why[0] = '\0';
        return 0;
}

/* Write a value unless it is already there (libcgroup may have written it). */
static int ensure_value(int dirfd, const char *file, const char *value) {
        char cur[64];
        if (read_file_at(dirfd, file, cur, sizeof cur, NULL) >= 0) {
                cur[strcspn(cur, "\n")] = '\0';
                if (strcmp(cur, value) == 0)
                        return 0;
        }
        return write_file_at(dirfd, file, value);
}

/* Write one control file; missing_ok for files that exist only with a kernel feature. */
static int set_control(cg_group *g, const char *file, const char *value, bool missing_ok,
                       char why[static CG_WHY_MAX]) {
        int r = ensure_value(g->dirfd, file, value);
        if (r == -ENOENT && missing_ok)
                return 0;
        if (r < 0)
                snprintf(why, CG_WHY_MAX, "cannot set %s/%s: %s", g->path, file, strerror(-r));
        return r;
}

static int configure(cg_group *g, const corral_policy *p, char why[static CG_WHY_MAX]) {
        char value[64];
        int r;

        if (p->memory_max != CORRAL_INFINITY) {
                snprintf(value, sizeof value, "%" PRIu64, p->memory_max);
                r = set_control(g, "memory.max", value, false, why);
                if (r < 0)
                        return r;
                /* Without swap accounting the file is absent and swap cannot soften the limit. */
                r = set_control(g, "memory.swap.max", "0", true, why);
                if (r < 0)
                        return r;
        }
        if (p->tasks_max != CORRAL_INFINITY) {
                snprintf(value, sizeof value, "%" PRIu64, p->tasks_max);
                r = set_control(g, "pids.max", value, false, why);
                if (r < 0)
                        return r;
        }
        if (p->cpu_quota_ppm > 0) {
                /* systemd's default period: 100 ms (as create_with_libcgroup() writes it) */
                uint64_t period = 100000, quota = p->cpu_quota_ppm * period / 1000000;
                snprintf(value, sizeof value, "%" PRIu64 " %" PRIu64, quota < 1000 ? 1000 : quota, period);
                r = set_control(g, "cpu.max", value, false, why);
                if (r < 0)
                        return r;
        }
        /* The whole tree dies together on an OOM kill: no half-dead run. (4.19) */
        return set_control(g, "memory.oom.group", "1", false, why);
}

static void group_close(cg_group *g) {
        g->dirfd = safe_close(g->dirfd);
        g->events_fd = safe_close(g->events_fd);
        g->memory_events_fd = safe_close(g->memory_events_fd);
        g->procs_fd = safe_close(g->procs_fd);
}

static cg_group *group_free(cg_group *g) {
        if (!g)
                return NULL;
        group_close(g);
        free(g->path);
        free(g);
        return NULL;
}

/*
 * The first process to join an empty group makes the kernel announce "populated 1" on
 * its cgroup.events, and the announcement wakes a kworker on this CPU in the middle of
 * the clone. With two tasks runnable here, the scheduler starts the child on another CPU,
 * which on a VM is idle and slow to wake: ~0.1 ms of `corral run -- /bin/true` on this
 * project's 2-vCPU host, a quarter of what the cgroup rungs cost over the rlimit rung
 * (bench figure 1). The kernel announces at most one event per file per 10 ms and leaves
 * the rest to a timer (cgroup_file_notify). Freezing and thawing the still empty group
 * spends that one now, before the clone: the join is then announced by the timer, and the
 * child starts on our CPU. Nothing is lost: the timer still delivers the event.
 *
 * Best effort: a kernel without cgroup.freeze (before 5.2) just goes without. A group
 * left frozen, though, would freeze the run at its start: a failed thaw is an error.
 */
static int announce_early(cg_group *g, char why[static CG_WHY_MAX]) {
        _cleanup_close_ int fd = openat(g->dirfd, "cgroup.freeze", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "1", 1) != 1)
                return 0;
        if (write(fd, "0", 1) != 1) {
                int r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot thaw %s: %s", g->path, strerror(-r));
                return r;
        }
        return 0;
}

int cg_group_create(cg_base *b, const corral_policy *p, bool with_controllers, cg_group **ret,
                    char why[static CG_WHY_MAX]) {
        static atomic_uint seq;
        cg_group *g;
        int r;

        why[0] = '\0';
        if (with_controllers && !b->with_controllers)
                return -EINVAL;
        g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        g->base = b;
        g->dirfd = g->events_fd = g->memory_events_fd = g->procs_fd = -EBADF;
        g->with_controllers = with_controllers;

        /* A stale group of a dead process with our pid is skipped, never reused. */
        for (int attempt = 0;; attempt++) {
                snprintf(g->name, sizeof g->name, "run-%d.%u", (int) getpid(), atomic_fetch_add(&seq, 1));
                if (with_controllers) {
                        r = create_with_libcgroup(b, g->name, p, why);
                        if (r < 0 && r != -EEXIST && base_enables_controllers(b))
                                r = create_in_enabled_base(b, g->name, why);
                } else {
                        r = mkdirat(b->dirfd, g->name, 0755) < 0 ? negative_errno() : 0;
                        if (r < 0 && r != -EEXIST)
                                snprintf(why, CG_WHY_MAX, "cannot create a cgroup in %s: %s", b->path,
                                         strerror(-r));
                }
                if (r != -EEXIST || attempt >= 8)
                        break;
        }
        if (r < 0) {
                group_free(g);
                return r;
        }
        if (asprintf(&g->path, "%s/%s", b->path, g->name) < 0) {
                g->path = NULL;
                r = -ENOMEM;
                goto out_remove;
        }
        g->dirfd = openat(b->dirfd, g->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (g->dirfd < 0) {
                r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot open %s: %s", g->path, strerror(-r));
                goto out_remove;
        }
        /* Held until the group is removed (or we die): how another corral's sweep tells
         * our group from a dead corral's (dead_run_group_lock). */
        if (flock(g->dirfd, LOCK_EX | LOCK_NB) < 0) {
                r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot lock %s: %s", g->path, strerror(-r));
                goto out_remove;
        }
        if (with_controllers) {
                r = configure(g, p, why);
                if (r < 0)
                        goto out_remove;
                g->memory_events_fd = openat(g->dirfd, "memory.events", O_RDONLY | O_CLOEXEC);
                if (g->memory_events_fd < 0) {
                        r = negative_errno();
                        snprintf(why, CG_WHY_MAX, "cannot open %s/memory.events: %s", g->path, strerror(-r));
                        goto out_remove;
                }
        }
        r = announce_early(g, why);
        if (r < 0)
                goto out_remove;
        g->events_fd = openat(g->dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (g->events_fd < 0) {
                r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot open %s/cgroup.events: %s", g->path, strerror(-r));
                goto out_remove;
        }
        *ret = g;
        return 0;

out_remove:
        cg_group_remove(g);
        return r;
}

int cg_group_remove(cg_group *g) {
        int r = 0;
        if (!g)
                return 0;
        group_close(g);
        /* rmdir fails with EBUSY for a moment after the last task left; wait a little. */
        for (int i = 0; i < 200; i++) {
                if (unlinkat(g->base->dirfd, g->name, AT_REMOVEDIR) >= 0 || errno == ENOENT) {
                        r = 0;
                        break;
                }
                r = negative_errno();
                if (r != -EBUSY)
                        break;
                nanosleep(&(struct timespec){ .tv_nsec = 500 * 1000 }, NULL);
        }
        group_free(g);
        return r;
}

int cg_group_dirfd(const cg_group *g) {
        return g->dirfd;
}

const char *cg_group_path(const cg_group *g) {
        return g->path;
}

int cg_group_events_fd(const cg_group *g) {
        return g->events_fd;
}

int cg_group_memory_events_fd(const cg_group *g) {
        return g->memory_events_fd;
}

int cg_group_populated(cg_group *g) {
        char buf[128];
        uint64_t v;
        int r;
        /* Through the fd the monitor watches, not an open per question. Reading there
         * re-arms its notification, which loses nothing: what it reads is the state as of
         * now, and any later change notifies again. */
        ssize_t n = pread(g->events_fd, buf, sizeof buf - 1, 0);
        /* The group was removed under us (an admin's rmdir): the kernel removes only an
         * empty group, so nothing of the run was in it any more. */
        if (n < 0)
                return errno == ENODEV || errno == ENOENT ? 0 : negative_errno();
        buf[n] = '\0';
        r = read_keyed_u64(buf, "populated", &v);
        if (r < 0)
                return r;
        return v > 0;
}

int cg_group_pids(cg_group *g, int **ret, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 4096, len = 0;

        /* cgroup.procs can be long: grow until it fits. */
        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                /* Kept open: the fallback's memory watch reads it every few ms. */
                if (g->procs_fd < 0) {
                        g->procs_fd = openat(g->dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
                        if (g->procs_fd < 0)
                                return negative_errno();
                }
                ssize_t n = pread(g->procs_fd, buf, size - 1, 0);
                if (n < 0)
                        return negative_errno();
                len = (size_t) n;
                buf[len] = '\0';
                if (len < size - 1)
                        break;
                size *= 4;
        }
        size_t n = 0, cap = 16;
        int *pids = malloc(cap * sizeof *pids);
        if (!pids)
                return -ENOMEM;
        for (char *p = buf, *end; *p; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                while (*end == '\n')
                        end++;
                if (v <= 0)
                        continue;
                if (n == cap) {
                        int *np = realloc(pids, (cap *= 2) * sizeof *pids);
                        if (!np) {
                                free(pids);
                                return -ENOMEM;
                        }
                        pids = np;
                }
                pids[n++] = (int) v;
        }
        *ret = pids;
        *ret_n = n;
        return 0;
}

int cg_group_signal(cg_group *g, int sig) {
        _cleanup_free_ int *pids = NULL;
        size_t n;
        int r = cg_group_pids(g, &pids, &n);
        if (r < 0)
                return r;
        /* A member that exits between the read and the kill is fine (ESRCH). */
        for (size_t i = 0; i < n; i++)
                (void) kill(pids[i], sig);
        return 0;
}

int cg_group_kill(cg_group *g) {
        int r = write_file_at(g->dirfd, "cgroup.kill", "1");
        if (r != -ENOENT)
                return r;
        /* Before 5.14: kill what we see, repeatedly, until nothing new appears. */
        for (int round = 0; round < 100; round++) {
                _cleanup_free_ int *pids = NULL;
                size_t n;
                r = cg_group_pids(g, &pids, &n);
                if (r < 0 || n == 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        (void) kill(pids[i], SIGKILL);
        }
        return 0;
}

int cg_group_cpu_usage(cg_group *g, uint64_t *ret_usec) {
        return read_keyed_u64_at(g->dirfd, "cpu.stat", "usage_usec", ret_usec);
}

int cg_group_oom_kills(cg_group *g, uint64_t *ret) {
        if (!g->with_controllers) {
                *ret = 0;
                return 0;
        }
        return read_keyed_u64_at(g->dirfd, "memory.events", "oom_kill", ret);
}

int cg_group_memory_current(cg_group *g, uint64_t *ret_bytes, uint64_t *ret_tasks) {
        uint64_t bytes, tasks;
        int r;
        if (!g->with_controllers)
                return -EOPNOTSUPP;
        r = read_u64_at(g->dirfd, "memory.current", &bytes);
        if (r < 0)
                return r;
        r = read_u64_at(g->dirfd, "pids.current", &tasks);
        if (r < 0)
                return r;
        *ret_bytes = bytes;
        *ret_tasks = tasks;
        return 0;
}

int cg_group_stats(cg_group *g, cg_stats *ret) {
        char buf[2048];
        cg_stats s = {};
        int r;

        r = read_file_at(g->dirfd, "cpu.stat", buf, sizeof buf, NULL);
        if (r < 0)
                return r;
        (void) read_keyed_u64(buf, "usage_usec", &s.usage_usec);
        (void) read_keyed_u64(buf, "user_usec", &s.user_usec);
        (void) read_keyed_u64(buf, "system_usec", &s.system_usec);
        (void) read_keyed_u64(buf, "throttled_usec", &s.throttled_usec);

        if (g->with_controllers) {
                r = read_file_at(g->dirfd, "memory.events", buf, sizeof buf, NULL);
                if (r < 0)
                        return r;
                (void) read_keyed_u64(buf, "oom", &s.oom);
                (void) read_keyed_u64(buf, "oom_kill", &s.oom_kill);
                (void) read_keyed_u64(buf, "oom_group_kill", &s.oom_group_kill);
                if (read_u64_at(g->dirfd, "memory.peak", &s.memory_peak) < 0)
                        s.memory_peak = 0; /* before 5.19 */
                if (read_u64_at(g->dirfd, "pids.peak", &s.pids_peak) < 0)
                        s.pids_peak = 0; /* before 6.1 */
                (void) read_keyed_u64_at(g->dirfd, "pids.events", "max", &s.pids_max_events);
        }
        *ret = s;
        return 0;
}

int cg_claim_own(char why[static CG_WHY_MAX]) {
        _cleanup_(cg_base_freep) cg_base *b = NULL;
        _cleanup_close_ int own_fd = -EBADF, sup_fd = -EBADF;
        char own_abs[4096], procs[256];
        int r;

        r = base_new(&b, own_abs, why);
        if (r < 0)
                return r;
        if (strcmp(own_abs, b->path) != 0)
                return 0; /* already in a supervisor leaf */
        if (b->is_root) {
                snprintf(why, CG_WHY_MAX, "this process is in the root cgroup, which needs no claiming");
                return 0;
        }
        own_fd = open(own_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (own_fd < 0)
                return negative_errno();
        r = read_file_at(own_fd, "cgroup.procs", procs, sizeof procs, NULL);
        if (r < 0)
                return r;
        char self[32];
        snprintf(self, sizeof self, "%d\n", (int) getpid());
        if (strcmp(procs, self) != 0) {
                snprintf(why, CG_WHY_MAX, "other processes share the cgroup %s", own_abs);
                return -EBUSY;
        }
        if (mkdirat(own_fd, "supervisor", 0755) < 0 && errno != EEXIST) {
                r = negative_errno();
                snprintf(why, CG_WHY_MAX, "cannot create %s/supervisor: %s", own_abs, strerror(-r));
                return r;
        }
        sup_fd = openat(own_fd, "supervisor", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sup_fd < 0)
                return negative_errno();
        r = write_file_at(sup_fd, "cgroup.procs", "0");
        cg_forget_own();
        if (r < 0) {
                snprintf(why, CG_WHY_MAX, "cannot move into %s/supervisor: %s", own_abs, strerror(-r));
                (void) unlinkat(own_fd, "supervisor", AT_REMOVEDIR);
                return r;
        }
        return 1;
}

int cg_mount(char ret_mount[static 512], bool *ret_ro) {
        _cleanup_free_ char *mount = NULL, *root = NULL;
        bool ro;
        int r = find_mount(&mount, &root, &ro);
        if (r < 0)
                return r;
        snprintf(ret_mount, 512, "%s", mount);
        *ret_ro = ro;
        return 0;
}

int cg_own_path(char ret[static 4096]) {
        _cleanup_free_ char *own = NULL;
        int r = own_cgroup(&own);
        if (r < 0)
                return r;
        snprintf(ret, 4096, "%s", own);
        return 0;
}

bool cg_hybrid_layout(void) {
        struct statfs fs;
        return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == TMPFS_MAGIC &&
               access("/sys/fs/cgroup/unified", F_OK) == 0;
}

int cg_missing_controllers(int dirfd, char ret[static 64]) {
        char avail[512];
        int r = read_file_at(dirfd, "cgroup.controllers", avail, sizeof avail, NULL);
        if (r < 0)
                return r;
        ret[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++)
                if (!word_in(avail, wanted_controllers[i])) {
                        size_t n = strlen(ret);
                        snprintf(ret + n, 64 - n, "%s%s", n ? ", " : "", wanted_controllers[i]);
                }
        return 0;
}

int cg_enable_controllers(int dirfd) {
        char enabled[512];
        int r = read_file_at(dirfd, "cgroup.subtree_control", enabled, sizeof enabled, NULL);
        if (r < 0)
                return r;
        bool all = true;
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++)
                all = all && word_in(enabled, wanted_controllers[i]);
        return all ? 0 : write_file_at(dirfd, "cgroup.subtree_control", "+memory +pids +cpu");
}

int cg_make_group(int dirfd, const char *name, bool *ret_created) {
        bool created = mkdirat(dirfd, name, 0755) >= 0;
        if (!created && errno != EEXIST)
                return negative_errno();
        if (ret_created)
                *ret_created = created;
        return 0;
}

int cg_remove_empty(int dirfd, const char *name) {
        return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
}

int cg_join(int dirfd, const char *name) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = write_file_at(fd, "cgroup.procs", "0");
        cg_forget_own();
        return r;
}
