/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"

void cli_error(const char *fmt, ...) {
        va_list ap;
        fputs("corral: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int cli_policy_set(corral_policy *p, const char *key, const char *value) {
        corral_diag diag = {};
        int r = corral_policy_set(p, key, value, &diag);
        if (r < 0)
                cli_error("%s", diag.message[0] ? diag.message : "invalid property");
        return r;
}

int cli_policy_from_env(corral_policy *p) {
        const char *base = getenv("CORRAL_CGROUP_BASE");
        if (!base || !*base)
                return 0;
        corral_diag diag = {};
        int r = corral_policy_set(p, "CGroupBase", base, &diag);
        if (r < 0)
                cli_error("CORRAL_CGROUP_BASE: %s", diag.message[0] ? diag.message : "invalid value");
        return r;
}
