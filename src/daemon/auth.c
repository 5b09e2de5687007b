/* SPDX-License-Identifier: MIT */
/*
 * Who may do what. The caller is the connection's SO_PEERCRED uid/gid (and
 * SO_PEERGROUPS), never anything in the message. Root-only policy keys, and the
 * per-user caps of corrald.conf: running jobs, the largest MemoryMax, TasksMax and
 * RuntimeMaxSec, and the sum of MemoryMax over the user's running jobs. A limit the
 * request leaves unset gets the cap; a request over a cap is refused before anything
 * starts. Touches nothing but memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "corrald.h"

bool auth_root_only_key(const char *key) {
        static const char *const keys[] = { "Backend", "User", "Group", "DynamicUser", "SupplementaryGroups" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                if (strcmp(key, keys[i]) == 0)
                        return true;
        return false;
}

static void format_size(uint64_t v, char *buf, size_t size) {
        if (v == CORRAL_INFINITY)
                snprintf(buf, size, "infinity");
        else
                snprintf(buf, size, "%" PRIu64, v);
}

static void format_usec(uint64_t v, char *buf, size_t size) {
        if (v == CORRAL_INFINITY)
                snprintf(buf, size, "infinity");
        else
                snprintf(buf, size, "%" PRIu64 "us", v);
}

/* One per-run cap: fill the default or refuse. */
static int cap_one(corral_policy *p, const char *key, uint64_t cap, bool usec, const char **ret_quota,
                   char *limit, size_t limit_size, char *reason, size_t reason_size) {
        uint64_t v;
        char cap_s[32], v_s[32];
        if (cap == CORRAL_INFINITY || corral_policy_get_u64(p, key, &v) < 0)
                return 0;
        (usec ? format_usec : format_size)(cap, cap_s, sizeof cap_s);
        if (v == CORRAL_INFINITY) {
                corral_diag diag;
                int r = corral_policy_set(p, key, cap_s, &diag);
                return r < 0 ? r : 0;
        }
        if (v <= cap)
                return 0;
        (usec ? format_usec : format_size)(v, v_s, sizeof v_s);
        *ret_quota = key;
        snprintf(limit, limit_size, "%s", cap_s);
        snprintf(reason, reason_size, "%s=%s is over your cap of %s", key, v_s, cap_s);
        return -EDQUOT;
}

int auth_check_quota(server *s, const client *c, corral_policy *p, const char **ret_quota, char *limit,
                     size_t limit_size, char *reason, size_t reason_size) {
        quota q;
        int r;
        config_quota_for(&s->cfg, c->vl.uid, c->vl.gid, c->vl.groups, c->vl.n_groups, &q);

        uint64_t running = 0, memory_sum = 0;
        bool unbounded = false;
        for (djob *j = s->jobs; j; j = j->next)
                if (j->uid == c->vl.uid) {
                        running++;
                        if (j->memory_max == CORRAL_INFINITY)
                                unbounded = true;
                        else
                                memory_sum += j->memory_max;
                }
        if (q.jobs != CORRAL_INFINITY && running >= q.jobs) {
                *ret_quota = "Jobs";
                snprintf(limit, limit_size, "%" PRIu64, q.jobs);
                snprintf(reason, reason_size, "you have %" PRIu64 " running jobs, your cap is %" PRIu64, running,
                         q.jobs);
                return -EDQUOT;
        }
        r = cap_one(p, "MemoryMax", q.memory_max, false, ret_quota, limit, limit_size, reason, reason_size);
        if (r == 0)
                r = cap_one(p, "TasksMax", q.tasks_max, false, ret_quota, limit, limit_size, reason, reason_size);
        if (r == 0)
                r = cap_one(p, "RuntimeMaxSec", q.runtime_max_usec, true, ret_quota, limit, limit_size, reason,
                            reason_size);
        if (r < 0)
                return r;
        if (q.memory_total != CORRAL_INFINITY) {
                uint64_t want;
                (void) corral_policy_get_u64(p, "MemoryMax", &want);
                *ret_quota = "MemoryMaxTotal";
                format_size(q.memory_total, limit, limit_size);
                if (want == CORRAL_INFINITY || unbounded) {
                        snprintf(reason, reason_size,
                                 "MemoryMaxTotal=%s applies to you: every run needs a MemoryMax", limit);
                        return -EDQUOT;
                }
                if (memory_sum + want > q.memory_total) {
                        snprintf(reason, reason_size,
                                 "MemoryMax=%" PRIu64 " with %" PRIu64 " bytes in your running jobs is over "
                                 "your MemoryMaxTotal=%s",
                                 want, memory_sum, limit);
                        return -EDQUOT;
                }
                *ret_quota = NULL;
        }
        return 0;
}
