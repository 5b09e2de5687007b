/* SPDX-License-Identifier: MIT */
/*
 * /proc/self/mountinfo: read with read(2) into one growing buffer (not stdio, whose first
 * use costs a fresh process, the CLI, more than the parsing: ~20 us here), then split in
 * place into lines and fields. Kernel interface: /proc/self/mountinfo (proc(5),
 * fs/proc_namespace.c show_mountinfo). No privilege.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "mountinfo.h"

int mountinfo_read_fd(int fd, mountinfo *ret) {
        size_t cap = MOUNTINFO_FIRST_READ, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (cap - len < 4096) {
                        char *bigger = realloc(buf, cap * 2);
                        if (!bigger)
                                return -ENOMEM;
                        buf = bigger;
                        cap *= 2;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        *ret = (mountinfo){ .buf = TAKE_PTR(buf), .len = len };
        return 0;
}

int mountinfo_read(mountinfo *ret) {
        _cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return mountinfo_read_fd(fd, ret);
}

int mountinfo_from_text(const char *text, size_t len, mountinfo *ret) {
        char *buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, text, len);
        buf[len] = '\0';
        *ret = (mountinfo){ .buf = buf, .len = len };
        return 0;
}

void mountinfo_done(mountinfo *m) {
        free(m->buf);
        *m = (mountinfo){};
}

static bool octal(char c) {
        return c >= '0' && c <= '7';
}

/* The kernel escapes a space, tab, newline and backslash in paths and types as \ooo; a
 * \000 (which it never writes) is left as it is, so a path never ends early. */
static void unescape(char *s) {
        char *w = s;
        for (const char *r = s; *r;) {
                int c = r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && octal(r[2]) && octal(r[3]) ?
                                (r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0') :
                                0;
                if (c) {
                        *w++ = (char) c;
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

/* "ro" among the comma-separated options (the kernel writes "ro" or "rw" first) */
static bool has_ro(const char *options) {
        for (const char *o = options;;) {
                if (o[0] == 'r' && o[1] == 'o' && (o[2] == ',' || o[2] == '\0'))
                        return true;
                o = strchr(o, ',');
                if (!o)
                        return false;
                o++;
        }
}

/*
 * id parent major:minor root point options [optional...] - fstype source super-options
 * One pass over the line, cutting it at each space: the optional fields end at a field
 * that is "-" alone.
 */
static bool parse_line(char *p, char *end, bool escaped, mountinfo_entry *ret) {
        char *f[9]; /* the six before the separator, fstype, source, super options */
        size_t n = 0;
        bool sep = false;
        for (char *start = p, *c = p; c < end; c++) {
                if (*c != ' ')
                        continue;
                *c = '\0';
                if (n < 6 || sep)
                        f[n++] = start;
                else
                        sep = c - start == 1 && start[0] == '-';
                start = c + 1;
                if (n == 8) {
                        f[n++] = start; /* the rest */
                        break;
                }
        }
        if (n != 9 || !*f[3] || !*f[4])
                return false;
        if (escaped) {
                unescape(f[3]);
                unescape(f[4]);
                unescape(f[6]);
        }
        *ret = (mountinfo_entry){ .root = f[3], .point = f[4], .fstype = f[6], .ro = has_ro(f[5]) };
        return true;
}

/* Whether an unescaped line can be of this type: " - " and the type follow its options (a
 * quick look that spares the full parse of every other line). */
static bool maybe_type(const char *line, const char *fstype, size_t n) {
        for (const char *sep = line; (sep = strstr(sep, " - ")); sep += 2)
                if (strncmp(sep + 3, fstype, n) == 0 && sep[3 + n] == ' ')
                        return true;
        return false;
}

bool mountinfo_next(mountinfo *m, const char *fstype, mountinfo_entry *ret) {
        size_t n = fstype ? strlen(fstype) : 0;
        while (m->pos < m->len) {
                char *line = m->buf + m->pos, *end = memchr(line, '\n', m->len - m->pos);
                if (!end)
                        end = m->buf + m->len;
                *end = '\0';
                m->pos = (size_t) (end - m->buf) + 1;
                bool escaped = memchr(line, '\\', (size_t) (end - line));
                if (fstype && !escaped && !maybe_type(line, fstype, n))
                        continue;
                mountinfo_entry e;
                if (parse_line(line, end, escaped, &e) && (!fstype || strcmp(e.fstype, fstype) == 0)) {
                        *ret = e;
                        return true;
                }
        }
        return false;
}
