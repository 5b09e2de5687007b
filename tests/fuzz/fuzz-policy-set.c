/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: Key=Value assignments (corral_policy_set_assignment, as `corral run -p`
 * passes them) and corral_policy_set. Checks the public promises: 0 or -errno, a failed
 * set leaves the policy exactly as it was and fills the diag with one printable line, and
 * an assignment does what corral_policy_set does with its key and value. The input may
 * hold several assignments, one per line, applied in turn to one policy.
 */
#include <errno.h>
#include <stdbool.h>

#include "corral.h"
#include "fuzz.h"
#include "policy.h"

static void check_diag(const corral_diag *d, const char *what) {
        const char *end = memchr(d->message, '\0', sizeof d->message);
        fuzz_check(end != NULL, "%s: diag not terminated", what);
        fuzz_check(end != d->message, "%s: failed without a diag", what);
        for (const char *c = d->message; c < end; c++)
                fuzz_check((unsigned char) *c >= 0x20 && *c != 0x7f, "%s: control character in diag '%s'",
                           what, d->message);
}

/* Bytes, not fields: every snapshot is a memcpy, so padding compares equal too, and a
 * field added to the policy later is covered without touching this target. */
static bool policy_equal(const corral_policy *a, const corral_policy *b) {
        return memcmp(a, b, sizeof *a) == 0;
}

static void one(corral_policy *p, corral_policy *twin, const char *line) {
        corral_policy before;
        memcpy(&before, p, sizeof before);
        corral_diag diag = { .message = "" };

        int r = corral_policy_set_assignment(p, line, &diag);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM, "'%s': returned %d", line, r);
        if (r < 0) {
                fuzz_check(policy_equal(&before, p), "'%s': failed but changed the policy", line);
                check_diag(&diag, line);
        }
        /* A NULL diag is allowed and changes nothing else. */
        corral_policy before_twin;
        memcpy(&before_twin, twin, sizeof before_twin);
        int r_nodiag = corral_policy_set_assignment(twin, line, NULL);
        fuzz_check(r_nodiag == r, "'%s': %d with a diag, %d without", line, r, r_nodiag);
        if (r < 0)
                fuzz_check(policy_equal(&before_twin, twin), "'%s'", line);
        fuzz_check(policy_equal(p, twin), "'%s': with and without a diag differ", line);

        /* Split it the documented way and compare with corral_policy_set(). */
        const char *eq = strchr(line, '=');
        if (!eq)
                return;
        const char *start = line + strspn(line, " \t"), *end = eq;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (end == start)
                return;
        char *key = strndup(start, (size_t) (end - start));
        if (!key)
                abort();
        corral_policy third;
        memcpy(&third, &before, sizeof third);
        corral_diag d2 = { .message = "" };
        int r_set = corral_policy_set(&third, key, eq + 1, &d2);
        fuzz_check(r_set == r, "'%s': assignment %d, set('%s') %d", line, r, key, r_set);
        fuzz_check(policy_equal(&third, p), "'%s': assignment and set differ", line);
        if (r_set < 0)
                check_diag(&d2, key);
        free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size);
        corral_policy *p = NULL, *twin = NULL;

        fuzz_check(corral_policy_new(&p) == 0 && corral_policy_new(&twin) == 0, "policy_new");
        memcpy(twin, p, sizeof *p);
        for (char *line = s, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                one(p, twin, line);
        }
        corral_policy_free(p);
        corral_policy_free(twin);
        free(s);
        return 0;
}
