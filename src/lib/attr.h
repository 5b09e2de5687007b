/* SPDX-License-Identifier: MIT */
/* The spawn attributes' insides (corral_spawn_attr), read by job.c when it plans a child. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "corral.h"

struct corral_spawn_attr {
        int stdio[3];      /* owned dups, or -EBADF: the caller's */
        char **env;        /* owned, NULL-terminated; NULL: environ */
        int cwd_fd;        /* owned dup, or -EBADF */
        char *cwd_path;    /* when cwd_fd < 0; NULL: unchanged */
        bool has_credentials;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
};

/* The value of PATH in env (NULL if none). */
const char *attr_env_path(const corral_spawn_attr *a);
