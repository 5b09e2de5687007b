/* SPDX-License-Identifier: MIT */
/* DynamicUser=: a uid/gid per concurrent run (see dynuser.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DYNUSER_DIR "/run/corral/dynamic-uid"
#define DYNUSER_FIRST 61184 /* systemd's range: 0xEF00 */
#define DYNUSER_LAST 65519  /* 0xFFEF */

typedef struct dynuser {
        uid_t uid;
        gid_t gid;
        int lock_fd; /* -1: none held */
} dynuser;

/* Take a free id in [first, last]; -errno with why. */
int dynuser_acquire(uid_t first, uid_t last, dynuser *ret, char *why, size_t why_size);
/* Give it back once nothing of the run is left (safe twice). */
void dynuser_release(dynuser *u);
