/* SPDX-License-Identifier: MIT */
/*
 * Policy files: systemd-style "Key=Value" lines with the keys of corral_policy_set(),
 * '#' and ';' comments, blank lines; later lines override earlier ones. A file is found
 * by path, or by name in /etc/corral/policies (the administrator's) and then in the
 * shipped directory (datadir/corral/policies). A bad line is named "FILE:LINE: Key:
 * reason", and the policy is left as it was. Touches only the filesystem, read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corral.h"
#include "macro.h"
#include "parse.h"
#include "policy.h"

#ifndef CORRAL_POLICY_SYSCONFDIR
#define CORRAL_POLICY_SYSCONFDIR "/etc/corral/policies"
#endif
#ifndef CORRAL_POLICY_DATADIR
#define CORRAL_POLICY_DATADIR "/usr/share/corral/policies"
#endif

/* A policy file is a page of settings; anything much larger is not one. */
#define POLICY_FILE_MAX (256 * 1024)

_printf_(2, 3) static int fail(corral_diag *diag, const char *fmt, ...) {
        va_list ap;

        if (diag) {
                va_start(ap, fmt);
                vsnprintf(diag->message, sizeof diag->message, fmt, ap);
                va_end(ap);
                for (char *c = diag->message; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f)
                                *c = '?';
        }
        return -EINVAL;
}

/* A name is a word: no path, no hidden file, nothing a client could use to walk. */
static bool valid_name(const char *name) {
        size_t len = strlen(name);

        if (len == 0 || len > 64 || name[0] == '.')
                return false;
        return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static int read_policy_file(const char *path, char **ret, size_t *ret_size, corral_diag *diag) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = negative_errno();
                fail(diag, "%s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                fail(diag, "%s: not a regular file", path);
                return -EINVAL;
        }
        if (st.st_size > POLICY_FILE_MAX) {
                fail(diag, "%s: too large for a policy file (%lld bytes, at most %d)", path,
                     (long long) st.st_size, POLICY_FILE_MAX);
                return -EFBIG;
        }
        buf = malloc(POLICY_FILE_MAX + 1);
        if (!buf) {
                fail(diag, "out of memory");
                return -ENOMEM;
        }
        for (;;) {
                ssize_t k = read(fd, buf + n, POLICY_FILE_MAX + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = negative_errno();
                        fail(diag, "%s: %s", path, strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > POLICY_FILE_MAX) {
                        fail(diag, "%s: too large for a policy file (at most %d bytes)", path, POLICY_FILE_MAX);
                        return -EFBIG;
                }
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

/* Apply the text of one file to p (a scratch copy: the caller commits it). */
static int apply_text(corral_policy *p, const char *path, char *text, size_t size, corral_diag *diag) {
        char *cur = text, *stop = text + size;
        unsigned line = 0;

        while (cur < stop) {
                char *nl = memchr(cur, '\n', (size_t) (stop - cur));
                char *end = nl ? nl : stop, *next = nl ? nl + 1 : stop;
                char why[PARSE_WHY_MAX] = "";
                char *key, *key_end, *eq, *value;
                int r;

                line++;
                if (memchr(cur, '\0', (size_t) (end - cur)))
                        return fail(diag, "%s:%u: a NUL byte in the line", path, line);
                *end = '\0';
                while (end > cur && is_blank(end[-1]))
                        *--end = '\0';
                key = cur + strspn(cur, " \t\r");
                cur = next;

                if (*key == '\0' || *key == '#' || *key == ';')
                        continue;
                if (*key == '[')
                        return fail(diag, "%s:%u: %s: sections are not used in policy files", path, line, key);
                eq = strchr(key, '=');
                if (!eq)
                        return fail(diag, "%s:%u: %s: expected Key=Value", path, line, key);
                key_end = eq;
                while (key_end > key && is_blank(key_end[-1]))
                        key_end--;
                if (key_end == key)
                        return fail(diag, "%s:%u: a value without a key", path, line);
                *key_end = '\0';
                value = eq + 1;
                value += strspn(value, " \t");

                r = policy_set_why(p, key, value, why);
                if (r == -ENOENT)
                        return fail(diag, "%s:%u: %s: unknown key", path, line, key);
                if (r < 0)
                        return fail(diag, "%s:%u: %s: value '%s': %s", path, line, key, value, why);
        }
        return 0;
}

static void log_free(char **log, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(log[i]);
        free(log);
}

/*
 * Apply the text to a scratch copy of p and commit it only if every line applied. The
 * copy gets an assignment log of its own: appending to p's shared one could realloc it
 * away under p, and a failed file would leave p with a freed log (found by fuzz-policy-load
 * under ASan). On success the file's assignments are appended to p's log.
 */
static int apply_and_commit(corral_policy *p, const char *name, char *text, size_t size, corral_diag *diag) {
        corral_policy scratch = *p;
        int r;

        scratch.assignments = NULL;
        scratch.n_assignments = 0;
        r = apply_text(&scratch, name, text, size, diag);
        if (r < 0) {
                log_free(scratch.assignments, scratch.n_assignments);
                return r;
        }
        char **log = p->assignments;
        size_t n = p->n_assignments;
        if (scratch.n_assignments > 0) {
                log = realloc(p->assignments, (n + scratch.n_assignments) * sizeof *log);
                if (!log) {
                        log_free(scratch.assignments, scratch.n_assignments);
                        fail(diag, "out of memory");
                        return -ENOMEM;
                }
                memcpy(log + n, scratch.assignments, scratch.n_assignments * sizeof *log);
                n += scratch.n_assignments;
                free(scratch.assignments);
        }
        *p = scratch;
        p->assignments = log;
        p->n_assignments = n;
        return 0;
}

int policy_file_apply(corral_policy *p, const char *name, const char *text, size_t size, corral_diag *diag) {
        _cleanup_free_ char *copy = NULL;

        if (size > POLICY_FILE_MAX)
                return fail(diag, "%s: too large for a policy file (at most %d bytes)", name, POLICY_FILE_MAX);
        copy = malloc(size + 1);
        if (!copy) {
                fail(diag, "out of memory");
                return -ENOMEM;
        }
        memcpy(copy, text, size);
        copy[size] = '\0';
        return apply_and_commit(p, name, copy, size, diag);
}

static int load_path(corral_policy *p, const char *path, corral_diag *diag) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_policy_file(path, &text, &size, diag);
        if (r < 0)
                return r;
        return apply_and_commit(p, path, text, size, diag);
}

/* Where names are looked for: $CORRAL_POLICY_PATH (':'-separated) or the two defaults. */
static const char *search_path(void) {
        const char *e = secure_getenv("CORRAL_POLICY_PATH");
        return e && *e ? e : CORRAL_POLICY_SYSCONFDIR ":" CORRAL_POLICY_DATADIR;
}

static int load_name(corral_policy *p, const char *name, corral_diag *diag) {
        const char *dirs = search_path();

        if (!valid_name(name))
                return fail(diag, "policy name '%.64s': expected letters, digits, '_', '.' or '-' (or a path)",
                            name);
        for (const char *d = dirs; *d;) {
                size_t len = strcspn(d, ":");
                char path[4096];

                if (len > 0 && (size_t) snprintf(path, sizeof path, "%.*s/%s", (int) len, d, name) < sizeof path &&
                    access(path, F_OK) == 0)
                        return load_path(p, path, diag);
                d += len;
                if (*d == ':')
                        d++;
        }
        char list[200];
        snprintf(list, sizeof list, "%s", dirs);
        for (char *c = strchr(list, ':'); c; c = strchr(c, ':'))
                *c = ',';
        fail(diag, "policy '%s' not found (looked in %s)", name, list);
        return -ENOENT;
}

_public_ int corral_policy_load(corral_policy *p, const char *name_or_path, corral_diag *diag) {
        if (!p || !name_or_path)
                return fail(diag, "invalid argument: policy and name are required");
        if (strchr(name_or_path, '/'))
                return load_path(p, name_or_path, diag);
        return load_name(p, name_or_path, diag);
}

_public_ int corral_policy_load_name(corral_policy *p, const char *name, corral_diag *diag) {
        if (!p || !name)
                return fail(diag, "invalid argument: policy and name are required");
        return load_name(p, name, diag);
}
