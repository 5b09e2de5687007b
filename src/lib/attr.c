/* SPDX-License-Identifier: MIT */
/*
 * corral_spawn_attr: what a command starts with beyond its policy (stdio, environment,
 * working directory, credentials). Only copies and owns its inputs; the child's steps
 * that apply them are spawn.c's. No kernel interface beyond dup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "macro.h"

_public_ int corral_spawn_attr_new(corral_spawn_attr **ret) {
        if (!ret)
                return -EINVAL;
        corral_spawn_attr *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->stdio[0] = a->stdio[1] = a->stdio[2] = a->cwd_fd = -EBADF;
        *ret = a;
        return 0;
}

static void env_free(char **env) {
        for (char **e = env; e && *e; e++)
                free(*e);
        free(env);
}

_public_ corral_spawn_attr *corral_spawn_attr_free(corral_spawn_attr *a) {
        if (!a)
                return NULL;
        for (int i = 0; i < 3; i++)
                safe_close(a->stdio[i]);
        safe_close(a->cwd_fd);
        env_free(a->env);
        free(a->cwd_path);
        free(a->groups);
        free(a);
        return NULL;
}

static int dup_or_unset(int fd, int *slot) {
        int copy = -EBADF;
        if (fd >= 0) {
                /* above 2, so that the child's dup2 onto 0-2 never meets one of its sources */
                copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (copy < 0)
                        return negative_errno();
        }
        safe_close(*slot);
        *slot = copy;
        return 0;
}

_public_ int corral_spawn_attr_set_stdio(corral_spawn_attr *a, int in, int out, int err) {
        if (!a)
                return -EINVAL;
        int fds[3] = { in, out, err }, copies[3] = { -EBADF, -EBADF, -EBADF };
        for (int i = 0; i < 3; i++) {
                int r = dup_or_unset(fds[i], &copies[i]);
                if (r < 0) {
                        for (int k = 0; k < i; k++)
                                safe_close(copies[k]);
                        return r;
                }
        }
        for (int i = 0; i < 3; i++) {
                safe_close(a->stdio[i]);
                a->stdio[i] = copies[i];
        }
        return 0;
}

_public_ int corral_spawn_attr_set_env(corral_spawn_attr *a, char *const envp[]) {
        if (!a)
                return -EINVAL;
        char **copy = NULL;
        if (envp) {
                size_t n = 0;
                while (envp[n])
                        n++;
                copy = calloc(n + 1, sizeof *copy);
                if (!copy)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (!(copy[i] = strdup(envp[i]))) {
                                env_free(copy);
                                return -ENOMEM;
                        }
        }
        env_free(a->env);
        a->env = copy;
        return 0;
}

_public_ int corral_spawn_attr_set_cwd(corral_spawn_attr *a, int dirfd, const char *path) {
        if (!a || (dirfd < 0 && path && !*path))
                return -EINVAL;
        int fd = -EBADF;
        char *p = NULL;
        if (dirfd >= 0) {
                int r = dup_or_unset(dirfd, &fd);
                if (r < 0)
                        return r;
        } else if (path && !(p = strdup(path)))
                return -ENOMEM;
        safe_close(a->cwd_fd);
        free(a->cwd_path);
        a->cwd_fd = fd;
        a->cwd_path = p;
        return 0;
}

_public_ int corral_spawn_attr_set_credentials(corral_spawn_attr *a, uid_t uid, gid_t gid, const gid_t *groups,
                                               size_t n_groups) {
        if (!a || uid == (uid_t) -1 || gid == (gid_t) -1 || (n_groups > 0 && !groups) || n_groups > 65536)
                return -EINVAL;
        gid_t *copy = NULL;
        if (n_groups > 0) {
                copy = malloc(n_groups * sizeof *copy);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, groups, n_groups * sizeof *copy);
        }
        free(a->groups);
        a->groups = copy;
        a->n_groups = n_groups;
        a->uid = uid;
        a->gid = gid;
        a->has_credentials = true;
        return 0;
}

const char *attr_env_path(const corral_spawn_attr *a) {
        for (char **e = a && a->env ? a->env : NULL; e && *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        return *e + 5;
        return NULL;
}
