/* SPDX-License-Identifier: MIT */
/*
 * corrald.conf parsing (see config.h) and the quota a caller gets. Values parse as
 * policy values do (src/basic/parse.c): sizes, durations, counts, "infinity".
 * Touches: one file, and the user/group databases for names.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "corral.h"
#include "macro.h"
#include "parse.h"

static const quota quota_unset = { CONFIG_UNSET, CONFIG_UNSET, CONFIG_UNSET, CONFIG_UNSET, CONFIG_UNSET };

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

static int parse_id(const char *s, bool user, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (*s && !*end && !errno && v < UINT32_MAX) {
                *ret = (uint32_t) v;
                return 0;
        }
        if (user) {
                struct passwd *pw = getpwnam(s);
                if (!pw)
                        return -ENOENT;
                *ret = pw->pw_uid;
        } else {
                struct group *gr = getgrnam(s);
                if (!gr)
                        return -ENOENT;
                *ret = gr->gr_gid;
        }
        return 0;
}

static int set_quota_key(quota *q, const char *key, const char *value, char *why) {
        uint64_t v;
        int r;
        if (strcmp(key, "Jobs") == 0) {
                r = parse_count(value, &v, why);
                if (r >= 0)
                        q->jobs = v;
        } else if (strcmp(key, "MemoryMax") == 0 || strcmp(key, "MemoryMaxTotal") == 0) {
                r = parse_size(value, &v, why);
                if (r >= 0)
                        *(key[9] ? &q->memory_total : &q->memory_max) = v;
        } else if (strcmp(key, "TasksMax") == 0) {
                r = parse_count(value, &v, why);
                if (r >= 0)
                        q->tasks_max = v;
        } else if (strcmp(key, "RuntimeMaxSec") == 0) {
                r = parse_duration(value, &v, why);
                if (r >= 0)
                        q->runtime_max_usec = v;
        } else {
                snprintf(why, PARSE_WHY_MAX, "unknown key");
                return -EINVAL;
        }
        return r;
}

int config_load(const char *path, bool required, config *ret, char *why, size_t why_size) {
        config c = {
                .max_connections = 1024,
                .max_jobs = 512,
                .defaults = { CORRAL_INFINITY, CORRAL_INFINITY, CORRAL_INFINITY, CORRAL_INFINITY,
                              CORRAL_INFINITY },
        };
        FILE *f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !required) {
                        *ret = c;
                        return 0;
                }
                int r = negative_errno();
                snprintf(why, why_size, "%s: %s", path, strerror(-r));
                return r;
        }
        enum { SEC_NONE, SEC_DAEMON, SEC_QUOTA, SEC_RULE } sec = SEC_NONE;
        char line[1024];
        int r = 0;
        for (unsigned lineno = 1; fgets(line, sizeof line, f); lineno++) {
                char *s = strip(line), reason[PARSE_WHY_MAX] = "";
                if (!*s || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        size_t n = strlen(s);
                        if (s[n - 1] != ']') {
                                snprintf(why, why_size, "%s:%u: section header without ']'", path, lineno);
                                r = -EINVAL;
                                break;
                        }
                        s[n - 1] = '\0';
                        s = strip(s + 1);
                        if (strcmp(s, "Daemon") == 0)
                                sec = SEC_DAEMON;
                        else if (strcmp(s, "Quota") == 0)
                                sec = SEC_QUOTA;
                        else if (strncmp(s, "User ", 5) == 0 || strncmp(s, "Group ", 6) == 0) {
                                bool user = s[0] == 'U';
                                const char *name = strip(s + (user ? 5 : 6));
                                uint32_t id;
                                if (parse_id(name, user, &id) < 0) {
                                        snprintf(why, why_size, "%s:%u: no such %s '%s'", path, lineno,
                                                 user ? "user" : "group", name);
                                        r = -EINVAL;
                                        break;
                                }
                                quota_rule *rules = realloc(c.rules, (c.n_rules + 1) * sizeof *rules);
                                if (!rules) {
                                        r = -ENOMEM;
                                        break;
                                }
                                c.rules = rules;
                                c.rules[c.n_rules++] = (quota_rule){ user ? RULE_USER : RULE_GROUP, id, quota_unset };
                                sec = SEC_RULE;
                        } else {
                                snprintf(why, why_size, "%s:%u: unknown section [%s]", path, lineno, s);
                                r = -EINVAL;
                                break;
                        }
                        continue;
                }
                char *eq = strchr(s, '=');
                if (!eq) {
                        snprintf(why, why_size, "%s:%u: expected Key=Value", path, lineno);
                        r = -EINVAL;
                        break;
                }
                *eq = '\0';
                char *key = strip(s), *value = strip(eq + 1);
                if (sec == SEC_NONE) {
                        snprintf(why, why_size, "%s:%u: '%s' outside a section", path, lineno, key);
                        r = -EINVAL;
                        break;
                }
                if (sec == SEC_DAEMON) {
                        uint64_t v;
                        if (strcmp(key, "Connections") != 0 && strcmp(key, "Jobs") != 0) {
                                snprintf(why, why_size, "%s:%u: unknown key '%s' in [Daemon]", path, lineno, key);
                                r = -EINVAL;
                                break;
                        }
                        r = parse_count(value, &v, reason);
                        if (r >= 0 && v == CORRAL_INFINITY) {
                                snprintf(reason, sizeof reason, "must be a number");
                                r = -EINVAL;
                        }
                        if (r >= 0)
                                *(key[0] == 'C' ? &c.max_connections : &c.max_jobs) = v;
                } else
                        r = set_quota_key(sec == SEC_QUOTA ? &c.defaults : &c.rules[c.n_rules - 1].q, key, value,
                                          reason);
                if (r < 0) {
                        snprintf(why, why_size, "%s:%u: %s=%s: %s", path, lineno, key, value, reason);
                        r = -EINVAL; /* malformed or out of range: the file is bad either way */
                        break;
                }
        }
        fclose(f);
        if (r < 0) {
                free(c.rules);
                return r;
        }
        *ret = c;
        return 0;
}

void config_done(config *c) {
        free(c->rules);
        c->rules = NULL;
        c->n_rules = 0;
}

static void merge_max(uint64_t *dst, uint64_t v) {
        if (v == CONFIG_UNSET)
                return;
        if (*dst == CONFIG_UNSET || v > *dst)
                *dst = v;
}

static void fill(uint64_t *dst, uint64_t v) {
        if (*dst == CONFIG_UNSET)
                *dst = v;
}

void config_quota_for(const config *c, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, quota *ret) {
        const quota *user = NULL;
        quota q = quota_unset;
        bool any_group = false;

        for (size_t i = 0; i < c->n_rules; i++) {
                const quota_rule *rule = &c->rules[i];
                if (rule->kind == RULE_USER && rule->id == uid)
                        user = &rule->q;
        }
        if (user)
                q = *user;
        else {
                for (size_t i = 0; i < c->n_rules; i++) {
                        const quota_rule *rule = &c->rules[i];
                        bool member = rule->kind == RULE_GROUP && rule->id == gid;
                        for (size_t k = 0; !member && k < n_groups; k++)
                                member = rule->kind == RULE_GROUP && rule->id == groups[k];
                        if (!member)
                                continue;
                        any_group = true;
                        merge_max(&q.jobs, rule->q.jobs);
                        merge_max(&q.memory_max, rule->q.memory_max);
                        merge_max(&q.memory_total, rule->q.memory_total);
                        merge_max(&q.tasks_max, rule->q.tasks_max);
                        merge_max(&q.runtime_max_usec, rule->q.runtime_max_usec);
                }
        }
        quota base = c->defaults;
        if (uid == 0 && !user && !any_group)
                base = (quota){ CORRAL_INFINITY, CORRAL_INFINITY, CORRAL_INFINITY, CORRAL_INFINITY, CORRAL_INFINITY };
        fill(&q.jobs, base.jobs);
        fill(&q.memory_max, base.memory_max);
        fill(&q.memory_total, base.memory_total);
        fill(&q.tasks_max, base.tasks_max);
        fill(&q.runtime_max_usec, base.runtime_max_usec);
        *ret = q;
}
