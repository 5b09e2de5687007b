/* SPDX-License-Identifier: MIT */
/*
 * What the function tests share: the rung and start method they run with (from the
 * command line, as meson passes them), a policy builder, a result dump for failed
 * test points, and the process hygiene checks (open fds, zombie children).
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define FNTEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FNTEST_ASAN 1
#endif
#endif
#ifndef FNTEST_ASAN
#define FNTEST_ASAN 0
#endif

static const char *ft_backend = "auto"; /* Backend= for every run */
static const char *ft_start = "fork";   /* StartMethod= */
static double ft_slow = 1;              /* upper bounds on times are scaled in the VM */

static inline void ft_args(int argc, char **argv) {
        if (argc > 1)
                ft_start = argv[1];
        if (argc > 2)
                ft_backend = argv[2];
        const char *vm = getenv("CR_IN_VM");
        if (vm && strcmp(vm, "1") == 0)
                ft_slow = 10;
}

static inline double ft_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A policy with the suite's Backend and StartMethod plus the given "Key=Value"s, NULL-ended. */
static inline corral_policy *ft_policy(const char *first, ...) {
        corral_policy *p;
        corral_diag d;
        char kv[128];
        if (corral_policy_new(&p) < 0)
                abort();
        snprintf(kv, sizeof kv, "Backend=%s", ft_backend);
        if (corral_policy_set_assignment(p, kv, &d) < 0) {
                tap_diag("bad backend: %s", d.message);
                abort();
        }
        snprintf(kv, sizeof kv, "StartMethod=%s", ft_start);
        if (corral_policy_set_assignment(p, kv, &d) < 0) {
                tap_diag("bad start method: %s", d.message);
                abort();
        }
        va_list ap;
        va_start(ap, first);
        for (const char *a = first; a; a = va_arg(ap, const char *))
                if (corral_policy_set_assignment(p, a, &d) < 0) {
                        tap_diag("bad policy %s: %s", a, d.message);
                        abort();
                }
        va_end(ap);
        return p;
}

/* On a failed test point, show the whole result. */
static inline void ft_dump(const corral_result *r) {
        char *json = NULL;
        if (!tap_bad || !r)
                return;
        if (corral_result_to_json(r, &json) >= 0) {
                tap_fail("result: %s", json);
                free(json);
        }
        if (r->crash_report)
                tap_fail("crash report:\n%s", r->crash_report);
}

static inline const char *ft_status(const corral_result *r) {
        return r ? corral_status_to_string(r->status) : "(no result)";
}

/* The rung the runs should get: the forced one, or whatever auto picked. */
static inline bool ft_backend_is(const corral_result *r) {
        corral_backend want;
        if (strcmp(ft_backend, "auto") == 0)
                return true;
        return corral_backend_from_string(ft_backend, &want) >= 0 && r->backend == want;
}

/* The open fds of pid (0: ours) as "N=kind" (/proc/PID/fd), one string. */
static inline char *ft_fds_of(pid_t pid) {
        char dir[64];
        if (pid > 0)
                snprintf(dir, sizeof dir, "/proc/%d/fd", (int) pid);
        else
                snprintf(dir, sizeof dir, "/proc/self/fd");
        DIR *d = opendir(dir);
        char *s = calloc(1, 1);
        size_t len = 0;
        struct dirent *e;
        if (!d || !s)
                abort();
        int self = pid > 0 ? -1 : dirfd(d);
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || atoi(e->d_name) == self)
                        continue;
                char target[256] = "";
                char path[128];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n < 0)
                        n = 0;
                target[n] = '\0';
                /* "socket:[1234]": the kind is what matters (a restarted forkserver has a
                 * new socket in the same slot) */
                char *bracket = strstr(target, ":[");
                if (bracket)
                        *bracket = '\0';
                size_t add = strlen(e->d_name) + strlen(target) + 3;
                s = realloc(s, len + add + 1);
                len += (size_t) snprintf(s + len, add + 1, "%s=%s ", e->d_name, target);
        }
        closedir(d);
        return s;
}

static inline char *ft_fds(void) {
        return ft_fds_of(0);
}

/* Children of parent (from /proc): how many, how many are zombies; and the pid of the
 * one named comm (0: none). */
static inline void ft_children(pid_t parent, int *ret_n, int *ret_zombies, const char *comm, pid_t *ret_pid) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        *ret_n = *ret_zombies = 0;
        if (ret_pid)
                *ret_pid = 0;
        if (!d)
                return;
        while ((e = readdir(d))) {
                char path[64], buf[512];
                if (e->d_name[0] < '1' || e->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
                FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                size_t k = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[k] = '\0';
                char *open = strchr(buf, '('), *close = strrchr(buf, ')'), state;
                int ppid;
                if (!open || !close || sscanf(close + 2, "%c %d", &state, &ppid) != 2 || ppid != parent)
                        continue;
                (*ret_n)++;
                if (state == 'Z')
                        (*ret_zombies)++;
                if (comm && ret_pid && (size_t) (close - open - 1) == strlen(comm) &&
                    strncmp(open + 1, comm, strlen(comm)) == 0)
                        *ret_pid = atoi(e->d_name);
        }
        closedir(d);
}

/* How many of our children are zombies (waitpid would reap them). */
static inline int ft_zombie_children(void) {
        int n, z;
        ft_children(getpid(), &n, &z, NULL, NULL);
        return z;
}
