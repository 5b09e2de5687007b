/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: src/lib/mountinfo.c's line parser on the input as a whole mountinfo file.
 * Beyond "no crash": every entry's strings lie inside the buffer, root and mount point are
 * non-empty, the type filter gives exactly the unfiltered entries of that type, and an
 * entry written back the way the kernel writes it (\ooo escapes) parses to itself.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "mountinfo.h"

#define MAX_CHECKED 64

static bool inside(const mountinfo *m, const char *s) {
        return s >= m->buf && s + strlen(s) <= m->buf + m->len;
}

/* s with a space, tab, newline and backslash as \ooo, as show_mountinfo() writes them. */
static char *escape(const char *s) {
        char *out = malloc(strlen(s) * 4 + 1), *w = out;
        if (!out)
                abort();
        for (; *s; s++)
                if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
                        w += sprintf(w, "\\%03o", (unsigned char) *s);
                else
                        *w++ = *s;
        *w = '\0';
        return out;
}

static void round_trip(const mountinfo_entry *e) {
        char *root = escape(e->root), *point = escape(e->point), *type = escape(e->fstype);
        size_t size = strlen(root) + strlen(point) + strlen(type) + 64;
        char *line = malloc(size);
        if (!line)
                abort();
        int n = snprintf(line, size, "1 2 0:3 %s %s %s,nosuid shared:4 - %s src rw\n", root, point,
                         e->ro ? "ro" : "rw", type);
        fuzz_check(n > 0 && (size_t) n < size, "line does not fit");
        mountinfo m;
        mountinfo_entry again;
        fuzz_check(mountinfo_from_text(line, (size_t) n, &m) == 0, "from_text failed");
        fuzz_check(mountinfo_next(&m, NULL, &again), "'%s' did not parse", line);
        fuzz_check(strcmp(again.root, e->root) == 0, "root '%s' came back as '%s'", e->root, again.root);
        fuzz_check(strcmp(again.point, e->point) == 0, "point '%s' came back as '%s'", e->point, again.point);
        fuzz_check(strcmp(again.fstype, e->fstype) == 0, "type '%s' came back as '%s'", e->fstype, again.fstype);
        fuzz_check(again.ro == e->ro, "ro changed for '%s'", line);
        fuzz_check(!mountinfo_next(&m, NULL, &again), "one line gave two entries");
        mountinfo_done(&m);
        free(line);
        free(root);
        free(point);
        free(type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        mountinfo m, f;
        mountinfo_entry e, fe;
        char types[MAX_CHECKED][32];
        size_t n = 0, lines = 1;

        /* cut at a NUL: the kernel never writes one (the filter's quick look stops there) */
        char *text = fuzz_strndup(data, size);
        size_t len = strlen(text);
        for (size_t i = 0; i < len; i++)
                lines += text[i] == '\n';
        if (mountinfo_from_text(text, len, &m) < 0)
                abort();
        while (mountinfo_next(&m, NULL, &e)) {
                fuzz_check(inside(&m, e.root) && inside(&m, e.point) && inside(&m, e.fstype), "outside the buffer");
                fuzz_check(*e.root && *e.point, "empty root or mount point");
                if (n < MAX_CHECKED) {
                        round_trip(&e);
                        snprintf(types[n], sizeof types[n], "%s", e.fstype);
                }
                n++;
        }
        fuzz_check(n <= lines, "%zu entries from %zu lines", n, lines);
        mountinfo_done(&m);

        /* the filter on the first entry's type, if it is one the kernel writes unescaped */
        if (n > 0 && n <= MAX_CHECKED && *types[0] && strlen(types[0]) < sizeof types[0] - 1 &&
            !strpbrk(types[0], " \t\n\\")) {
                size_t want = 0, got = 0;
                for (size_t i = 0; i < n; i++)
                        want += strcmp(types[i], types[0]) == 0;
                if (mountinfo_from_text(text, len, &f) < 0)
                        abort();
                while (mountinfo_next(&f, types[0], &fe)) {
                        fuzz_check(strcmp(fe.fstype, types[0]) == 0, "filter '%s' gave '%s'", types[0], fe.fstype);
                        got++;
                }
                mountinfo_done(&f);
                fuzz_check(got == want, "filter '%s': %zu entries, %zu without it", types[0], got, want);
        }
        free(text);
        return 0;
}
