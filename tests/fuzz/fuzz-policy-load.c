/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: policy files (corral_policy_load). The input is the file: it is written to
 * a memfd and loaded by path (/proc/self/fd/N), through the public API. Checks: 0 or
 * -errno; a file that fails leaves the policy exactly as it was and gives one printable
 * diag line naming the file and the line ("PATH:LINE: ..."), the line within the file;
 * and a file that loads does what its lines do one by one through corral_policy_set()
 * (a reference reading of the documented grammar: Key=Value lines, '#' and ';' comments,
 * blank lines, blanks around keys and values; later lines override earlier ones).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "corral.h"
#include "fuzz.h"
#include "policy.h"

/* The settings byte for byte up to the assignment log, then the log by content. */
#define SETTINGS_SIZE offsetof(struct corral_policy, assignments)

static bool policy_equal(const corral_policy *a, const corral_policy *b) {
        if (memcmp(a, b, SETTINGS_SIZE) != 0 || a->n_assignments != b->n_assignments)
                return false;
        for (size_t i = 0; i < a->n_assignments; i++)
                if (strcmp(a->assignments[i], b->assignments[i]) != 0)
                        return false;
        return true;
}

static bool blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

/* The reference: 1 when every line applied, 0 when one was refused, -1 for a line the
 * reference does not judge (a NUL byte, a section, no '='). */
static int reference(corral_policy *p, const uint8_t *data, size_t size) {
        size_t i = 0;
        while (i < size) {
                size_t end = i;
                while (end < size && data[end] != '\n')
                        end++;
                char *line = fuzz_strndup(data + i, end - i);
                size_t next = end < size ? end + 1 : end;
                if (memchr(data + i, '\0', end - i)) {
                        free(line);
                        return -1;
                }
                i = next;
                size_t n = strlen(line);
                while (n > 0 && blank(line[n - 1]))
                        line[--n] = '\0';
                char *key = line;
                while (blank(*key))
                        key++;
                if (*key == '\0' || *key == '#' || *key == ';') {
                        free(line);
                        continue;
                }
                char *eq = strchr(key, '=');
                if (*key == '[' || !eq || eq == key) {
                        free(line);
                        return -1;
                }
                char *key_end = eq;
                while (key_end > key && blank(key_end[-1]))
                        key_end--;
                if (key_end == key) {
                        free(line);
                        return -1;
                }
                *key_end = '\0';
                char *value = eq + 1;
                while (*value == ' ' || *value == '\t')
                        value++;
                int r = corral_policy_set(p, key, value, NULL);
                free(line);
                if (r < 0)
                        return 0;
        }
        return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        corral_policy *p = NULL, *ref = NULL;
        unsigned char before[SETTINGS_SIZE];
        size_t before_n;
        corral_diag diag = { .message = "" };
        char path[64];

        /* Start from a policy that already has something set: a failed load must keep it. */
        fuzz_check(corral_policy_new(&p) == 0 && corral_policy_new(&ref) == 0, "policy_new");
        fuzz_check(corral_policy_set(p, "MemoryMax", "64M", NULL) == 0 &&
                           corral_policy_set(ref, "MemoryMax", "64M", NULL) == 0, "MemoryMax");
        memcpy(ref, p, SETTINGS_SIZE); /* same padding bytes; each keeps its own log */
        memcpy(before, p, SETTINGS_SIZE);
        before_n = p->n_assignments;

        int fd = memfd_create("fuzz-policy", MFD_CLOEXEC);
        fuzz_check(fd >= 0, "memfd_create: %s", strerror(errno));
        for (size_t off = 0; off < size;) {
                ssize_t k = write(fd, data + off, size - off);
                fuzz_check(k > 0, "write: %s", strerror(errno));
                off += (size_t) k;
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

        int r = corral_policy_load(p, path, &diag);
        close(fd);
        fuzz_check(r == 0 || (r < 0 && r > -4096), "load returned %d", r);
        if (r < 0) {
                fuzz_check(memcmp(before, p, SETTINGS_SIZE) == 0 && p->n_assignments == before_n,
                           "a failed load changed the policy");
                const char *end = memchr(diag.message, '\0', sizeof diag.message);
                fuzz_check(end && end != diag.message, "a failed load without a diag");
                for (const char *c = diag.message; c < end; c++)
                        fuzz_check((unsigned char) *c >= 0x20 && *c != 0x7f, "control character in '%s'",
                                   diag.message);
                size_t plen = strlen(path);
                fuzz_check(strncmp(diag.message, path, plen) == 0 && diag.message[plen] == ':',
                           "diag does not name the file: '%s'", diag.message);
                if (r == -EINVAL) {
                        unsigned long line = strtoul(diag.message + plen + 1, NULL, 10);
                        size_t lines = 1;
                        for (size_t i = 0; i < size; i++)
                                lines += data[i] == '\n';
                        fuzz_check(line >= 1 && line <= lines, "diag names line %lu of %zu: '%s'", line, lines,
                                   diag.message);
                }
        }

        int ref_r = reference(ref, data, size);
        if (ref_r == 1)
                fuzz_check(r == 0 && policy_equal(ref, p),
                           "every line applies one by one, but the file %s", r == 0 ? "gives another policy" : "failed");
        else if (ref_r == 0)
                fuzz_check(r == -EINVAL, "a line is refused by corral_policy_set, but the load returned %d", r);
        else if (size <= 256 * 1024)
                fuzz_check(r == -EINVAL, "a malformed line, but the load returned %d", r);

        corral_policy_free(p);
        corral_policy_free(ref);
        return 0;
}
