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
#include <stddef.h>

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

/* The settings byte for byte up to the assignment log (every snapshot is a memcpy, so
 * padding compares equal too, and fields added later are covered without touching this
 * target), then the log by content: the pointers differ between two policies. */
#define SETTINGS_SIZE offsetof(struct corral_policy, assignments)

static bool policy_equal(const corral_policy *a, const corral_policy *b) {
        if (memcmp(a, b, SETTINGS_SIZE) != 0 || a->n_assignments != b->n_assignments)
                return false;
        for (size_t i = 0; i < a->n_assignments; i++)
                if (strcmp(a->assignments[i], b->assignments[i]) != 0)
                        return false;
        return true;
}

/* A snapshot to compare with after a failed set: the settings and the log's length (it
 * only grows), never the log's pointer, which a later realloc may free. */
typedef struct snapshot {
        unsigned char settings[SETTINGS_SIZE];
        size_t n_assignments;
} snapshot;

static void take(snapshot *s, const corral_policy *p) {
        memcpy(s->settings, p, SETTINGS_SIZE);
        s->n_assignments = p->n_assignments;
}

static bool unchanged(const snapshot *s, const corral_policy *p) {
        return memcmp(s->settings, p, SETTINGS_SIZE) == 0 && s->n_assignments == p->n_assignments;
}

/* p takes the line with a diag, twin without one, mirror split the documented way
 * through corral_policy_set(): all three must stay equal. */
static void one(corral_policy *p, corral_policy *twin, corral_policy *mirror, const char *line) {
        snapshot before;
        corral_diag diag = { .message = "" };

        take(&before, p);
        int r = corral_policy_set_assignment(p, line, &diag);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM, "'%s': returned %d", line, r);
        if (r < 0) {
                fuzz_check(unchanged(&before, p), "'%s': failed but changed the policy", line);
                check_diag(&diag, line);
        }
        /* A NULL diag is allowed and changes nothing else. */
        int r_nodiag = corral_policy_set_assignment(twin, line, NULL);
        fuzz_check(r_nodiag == r, "'%s': %d with a diag, %d without", line, r, r_nodiag);
        fuzz_check(policy_equal(p, twin), "'%s': with and without a diag differ", line);

        /* Split it the documented way and compare with corral_policy_set(). */
        const char *eq = strchr(line, '=');
        const char *start = line + strspn(line, " \t"), *end = eq;
        while (end && end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (!eq || end == start) {
                fuzz_check(r == -EINVAL, "'%s': no Key=Value, but the assignment returned %d", line, r);
                return;
        }
        char *key = strndup(start, (size_t) (end - start));
        if (!key)
                abort();
        corral_diag d2 = { .message = "" };
        int r_set = corral_policy_set(mirror, key, eq + 1, &d2);
        fuzz_check(r_set == r, "'%s': assignment %d, set('%s') %d", line, r, key, r_set);
        fuzz_check(policy_equal(mirror, p), "'%s': assignment and set differ", line);
        if (r_set < 0)
                check_diag(&d2, key);
        free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size);
        corral_policy *p = NULL, *twin = NULL, *mirror = NULL;

        fuzz_check(corral_policy_new(&p) == 0 && corral_policy_new(&twin) == 0 && corral_policy_new(&mirror) == 0,
                   "policy_new");
        /* Same bytes to start with (the log is empty: nothing is shared). */
        memcpy(twin, p, SETTINGS_SIZE);
        memcpy(mirror, p, SETTINGS_SIZE);
        for (char *line = s, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                one(p, twin, mirror, line);
        }
        corral_policy_free(p);
        corral_policy_free(twin);
        corral_policy_free(mirror);
        free(s);
        return 0;
}
