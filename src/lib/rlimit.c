/* SPDX-License-Identifier: MIT */
/*
 * The fallback backend's mechanisms: rlimits planned from a policy and applied in the
 * child, and the view of a run's process tree that /proc gives without a cgroup
 * (children files, session ids, statm, stat). Privilege: none; as root the kernel
 * ignores RLIMIT_NPROC, which the enforcement report says.
 *
 * Memory is capped with RLIMIT_DATA (private writable memory, Linux >= 4.7) rather than
 * RLIMIT_AS: JITs and Go reserve far more address space than they touch.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "fileio.h"
#include "macro.h"
#include "rlimit.h"

static void set_add(rl_set *s, int resource, rlim_t soft, rlim_t hard) {
        s->v[s->n++] = (rl_limit){ resource, { soft, hard } };
}

/* The kernel ignores RLIMIT_NPROC for root and for CAP_SYS_RESOURCE/CAP_SYS_ADMIN holders:
 * the run's, which is ours unless the policy makes it another user. A run as another
 * (non-root) user lost its capabilities with the setresuid, so the limit holds there:
 * DynamicUser='s uid is the run's own, so it counts exactly the run's processes. */
static bool nproc_ignored(const corral_policy *pol) {
        char buf[4096];
        unsigned long long caps;
        if (pol->iso.dynamic_user)
                return false;
        if (pol->iso.user_set)
                return pol->iso.uid == 0;
        if (getuid() == 0)
                return true;
        if (read_file_at(AT_FDCWD, "/proc/self/status", buf, sizeof buf, NULL) < 0)
                return false;
        const char *p = strstr(buf, "CapEff:");
        if (!p || sscanf(p + 7, "%llx", &caps) != 1)
                return false;
        /* CAP_SYS_ADMIN is 21, CAP_SYS_RESOURCE 24 */
        return caps & ((1ULL << 21) | (1ULL << 24));
}

void rl_plan(const corral_policy *p, corral_backend backend, rl_set *ret_set,
             corral_enforcement *e) {
        rl_set s = { .n = 0 };
        bool cgroup = backend == CORRAL_BACKEND_CGROUP2;

        /* Core dumps of untrusted code are files nobody asked for. */
        set_add(&s, RLIMIT_CORE, 0, 0);

        memset(e, 0, sizeof *e);
        if (p->memory_max != CORRAL_INFINITY) {
                if (cgroup)
                        e->memory = CORRAL_ENFORCER_CGROUP;
                else if (p->memory_rlimit == POLICY_MEMORY_RLIMIT_AS) {
                        set_add(&s, RLIMIT_AS, p->memory_max, p->memory_max);
                        e->memory = CORRAL_ENFORCER_RLIMIT_AS;
                } else {
                        set_add(&s, RLIMIT_DATA, p->memory_max, p->memory_max);
                        e->memory = CORRAL_ENFORCER_RLIMIT_DATA;
                }
        }
        if (p->tasks_max != CORRAL_INFINITY) {
                if (cgroup)
                        e->tasks = CORRAL_ENFORCER_CGROUP;
                else if (nproc_ignored(p))
                        e->tasks = CORRAL_ENFORCER_NONE;
                else {
                        set_add(&s, RLIMIT_NPROC, p->tasks_max, p->tasks_max);
                        e->tasks = CORRAL_ENFORCER_RLIMIT_NPROC;
                }
        }
        if (p->cpu_quota_ppm > 0)
                e->cpu_quota = cgroup ? CORRAL_ENFORCER_CGROUP : CORRAL_ENFORCER_NONE;
        if (p->cpu_time_max_usec != CORRAL_INFINITY) {
                if (backend == CORRAL_BACKEND_RLIMIT) {
                        /* Whole seconds, per process: SIGXCPU at the soft limit, SIGKILL a second later. */
                        rlim_t soft = (p->cpu_time_max_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
                        set_add(&s, RLIMIT_CPU, soft, soft + 1);
                        e->cpu_time = CORRAL_ENFORCER_RLIMIT_CPU;
                } else
                        e->cpu_time = CORRAL_ENFORCER_MONITOR;
        }
        if (p->runtime_max_usec != CORRAL_INFINITY)
                e->wall_time = CORRAL_ENFORCER_MONITOR;
        *ret_set = s;
}

uint64_t rl_cpu_soft_usec(const rl_set *set) {
        for (size_t i = 0; i < set->n; i++)
                if (set->v[i].resource == RLIMIT_CPU)
                        return set->v[i].value.rlim_cur == RLIM_INFINITY
                                       ? CORRAL_INFINITY
                                       : (uint64_t) set->v[i].value.rlim_cur * USEC_PER_SEC;
        return CORRAL_INFINITY;
}

int rl_apply(const rl_set *set, int *ret_errno) {
        for (size_t i = 0; i < set->n; i++)
                if (syscall(SYS_prlimit64, 0, set->v[i].resource, &set->v[i].value, NULL) < 0) {
                        *ret_errno = errno;
                        return (int) i;
                }
        return -1;
}

void pid_list_done(pid_list *l) {
        free(l->pids);
        *l = (pid_list){};
}

bool pid_list_has(const pid_list *l, int pid) {
        for (size_t i = 0; i < l->n; i++)
                if (l->pids[i] == pid)
                        return true;
        return false;
}

void pid_list_remove(pid_list *l, int pid) {
        for (size_t i = 0; i < l->n; i++)
                if (l->pids[i] == pid) {
                        l->pids[i] = l->pids[--l->n];
                        return;
                }
}

int pid_list_add(pid_list *l, int pid) {
        if (pid <= 0 || pid_list_has(l, pid))
                return 0;
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                int *p = realloc(l->pids, cap * sizeof *p);
                if (!p)
                        return -ENOMEM;
                l->pids = p;
                l->cap = cap;
        }
        l->pids[l->n++] = pid;
        return 1;
}

/* Append the pids listed in every /proc/PID/task/TID/children of one process. */
static int add_children_of(pid_list *l, const char *proc_dir) {
        char path[64];
        snprintf(path, sizeof path, "%s/task", proc_dir);
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                char file[128], buf[4096];
                if (de->d_name[0] == '.')
                        continue;
                snprintf(file, sizeof file, "%s/%s/children", path, de->d_name);
                if (read_file_at(AT_FDCWD, file, buf, sizeof buf, NULL) < 0)
                        continue; /* the thread is gone */
                for (char *p = buf, *end;; p = end) {
                        long v = strtol(p, &end, 10);
                        if (end == p)
                                break;
                        r = pid_list_add(l, (int) v);
                        if (r < 0)
                                goto out;
                }
        }
        r = 0;
out:
        closedir(d);
        return r;
}

int rl_add_descendants(pid_list *l, const int *roots, size_t n_roots) {
        size_t start = l->n;
        int r;
        for (size_t i = 0; i < n_roots; i++) {
                r = pid_list_add(l, roots[i]);
                if (r < 0)
                        return r;
        }
        /* Breadth first: the list grows while we walk it. */
        for (size_t i = start; i < l->n; i++) {
                char dir[32];
                snprintf(dir, sizeof dir, "/proc/%d", l->pids[i]);
                r = add_children_of(l, dir);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Fields of /proc/PID/stat after the command name; index 0 is the state (field 3). */
static int read_stat_fields(int pid, unsigned long long *fields, size_t n) {
        char path[32], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int r = read_file_at(AT_FDCWD, path, buf, sizeof buf, NULL);
        if (r < 0)
                return r;
        char *p = strrchr(buf, ')'); /* the command name may contain anything but this */
        if (!p)
                return -EIO;
        p += 2;
        for (size_t i = 0; i < n; i++) {
                while (*p == ' ')
                        p++;
                if (i == 0) {
                        fields[0] = (unsigned char) *p; /* state letter */
                        p++;
                        continue;
                }
                char *end;
                fields[i] = strtoull(p, &end, 10);
                if (end == p)
                        return -EIO;
                p = end;
        }
        return 0;
}

int rl_add_session(pid_list *l, int sid) {
        DIR *d = opendir("/proc");
        if (!d)
                return negative_errno();
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                unsigned long long f[5];
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0)
                        continue;
                /* f: state ppid pgrp session */
                if (read_stat_fields((int) pid, f, 4) < 0)
                        continue;
                if ((int) f[3] == sid) {
                        r = pid_list_add(l, (int) pid);
                        if (r < 0)
                                break;
                }
        }
        closedir(d);
        return r < 0 ? r : 0;
}

int rl_add_own_children(pid_list *l, const pid_list *skip) {
        pid_list mine = {};
        int r = add_children_of(&mine, "/proc/self");
        for (size_t i = 0; r >= 0 && i < mine.n; i++)
                if (!pid_list_has(skip, mine.pids[i]))
                        r = pid_list_add(l, mine.pids[i]);
        pid_list_done(&mine);
        return r < 0 ? r : 0;
}

bool rl_is_zombie(int pid, bool *ret_ours) {
        char path[32], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        *ret_ours = false;
        int r = read_file_at(AT_FDCWD, path, buf, sizeof buf, NULL);
        if (r < 0)
                return true; /* gone */
        char *p = strrchr(buf, ')');
        char state;
        int ppid;
        if (!p || sscanf(p + 2, "%c %d", &state, &ppid) != 2)
                return true;
        *ret_ours = ppid == getpid();
        return state == 'Z' || state == 'X';
}

int rl_add_own_children_in_session(pid_list *l, const pid_list *skip, int sid) {
        pid_list mine = {};
        int r = add_children_of(&mine, "/proc/self");
        for (size_t i = 0; r >= 0 && i < mine.n; i++) {
                unsigned long long f[4];
                if (pid_list_has(skip, mine.pids[i]))
                        continue;
                /* f: state ppid pgrp session */
                if (read_stat_fields(mine.pids[i], f, 4) < 0 || (int) f[3] != sid)
                        continue;
                r = pid_list_add(l, mine.pids[i]);
        }
        pid_list_done(&mine);
        return r < 0 ? r : 0;
}

void rl_rss_cache_clear(rl_rss_cache *c) {
        for (size_t i = 0; i < c->n; i++)
                safe_close(c->e[i].fd);
        c->n = 0;
}

static int statm_resident_pages(int fd, unsigned long long *ret) {
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        unsigned long long size;
        if (n <= 0)
                return -ESRCH;
        buf[n] = '\0';
        return sscanf(buf, "%llu %llu", &size, ret) == 2 ? 0 : -EIO;
}

/* Private_Clean + Private_Dirty of smaps_rollup (Linux >= 4.14), in pages. */
static int rollup_private_pages(int fd, unsigned long long *ret) {
        char buf[2048];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
                return -ESRCH;
        buf[n] = '\0';
        unsigned long long kb = 0, v;
        int found = 0;
        for (char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (sscanf(l, "Private_Clean: %llu kB", &v) == 1 || sscanf(l, "Private_Dirty: %llu kB", &v) == 1) {
                        kb += v;
                        found++;
                }
        if (found != 2)
                return -EIO;
        *ret = kb * 1024 / (unsigned long long) sysconf(_SC_PAGESIZE);
        return 0;
}

uint64_t rl_self_rss(void) {
        _cleanup_close_ int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        unsigned long long pages;
        if (fd < 0 || statm_resident_pages(fd, &pages) < 0)
                return 0;
        return pages * (uint64_t) sysconf(_SC_PAGESIZE);
}

int rl_sample_rss_cached(rl_rss_cache *c, const pid_list *l, bool private_only, uint64_t *ret_rss) {
        static long page;
        uint64_t rss = 0;
        int (*pages)(int fd, unsigned long long *ret) = private_only ? rollup_private_pages : statm_resident_pages;

        if (!page)
                page = sysconf(_SC_PAGESIZE);
        /* Drop entries of processes that left the tree. */
        for (size_t i = 0; i < c->n;)
                if (!pid_list_has(l, c->e[i].pid)) {
                        safe_close(c->e[i].fd);
                        c->e[i] = c->e[--c->n];
                } else
                        i++;
        for (size_t i = 0; i < l->n; i++) {
                int pid = l->pids[i], fd = -1;
                unsigned long long resident;
                size_t k;
                for (k = 0; k < c->n; k++)
                        if (c->e[k].pid == pid)
                                break;
                if (k < c->n && pages(c->e[k].fd, &resident) >= 0) {
                        rss += resident * (uint64_t) page;
                        continue;
                }
                if (k < c->n) { /* stale: the pid is a new process now, or gone */
                        safe_close(c->e[k].fd);
                        c->e[k] = c->e[--c->n];
                }
                char path[32];
                snprintf(path, sizeof path, "/proc/%d/%s", pid, private_only ? "smaps_rollup" : "statm");
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue; /* gone */
                if (pages(fd, &resident) >= 0)
                        rss += resident * (uint64_t) page;
                if (c->n < ELEMENTSOF(c->e))
                        c->e[c->n++] = (__typeof__(c->e[0])){ pid, fd };
                else
                        safe_close(fd);
        }
        *ret_rss = rss;
        return 0;
}

int rl_cpu_usec(const pid_list *l, uint64_t *ret_usec) {
        static long ticks;
        uint64_t usec = 0, child_ticks = 0;

        if (!ticks)
                ticks = sysconf(_SC_CLK_TCK);
        for (size_t i = 0; i < l->n; i++) {
                /* state ... utime(14) stime(15) cutime(16) cstime(17): indexes 11..14 */
                unsigned long long f[15];
                struct timespec ts;
                clockid_t clock;
                if (read_stat_fields(l->pids[i], f, 15) < 0)
                        continue; /* gone */
                /* Reaped children are in whole ticks; the live process to the nanosecond
                 * from its CPU clock, since /proc counts in 10 ms ticks. */
                child_ticks += f[13] + f[14];
                if (clock_getcpuclockid(l->pids[i], &clock) == 0 && clock_gettime(clock, &ts) == 0)
                        usec += (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
                else
                        child_ticks += f[11] + f[12];
        }
        *ret_usec = usec + child_ticks * USEC_PER_SEC / (uint64_t) ticks;
        return 0;
}
