/* SPDX-License-Identifier: MIT */
/*
 * A few lines of TAP for the function tests, in the shape of tests/integration/lib.sh:
 *
 *     tap_plan(N);
 *     tap_begin("a function returns its bytes");
 *     expect(r->status == CORRAL_STATUS_OK, "status %s", ...);   (recorded, goes on)
 *     tap_end();                                                  (ok / not ok + why)
 *     tap_skip("memory limit", "ASan's shadow memory counts against RLIMIT_DATA");
 *     return tap_finish();
 *
 * Each line is flushed at once: a forked child must never find TAP text in its copy
 * of the stdout buffer.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_planned, tap_failed, tap_skipped;
static bool tap_open, tap_bad;
static char tap_desc[256];
static char *tap_why;
static size_t tap_why_len;

static inline void tap_plan(int n) {
        tap_planned = n;
        printf("1..%d\n", n);
        fflush(stdout);
}

__attribute__((format(printf, 1, 2))) static inline void tap_diag(const char *fmt, ...) {
        va_list ap;
        fputs("# ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

static inline void tap_end(void);

__attribute__((format(printf, 1, 2))) static inline void tap_begin(const char *fmt, ...) {
        va_list ap;
        if (tap_open)
                tap_end();
        va_start(ap, fmt);
        vsnprintf(tap_desc, sizeof tap_desc, fmt, ap);
        va_end(ap);
        tap_open = true;
        tap_bad = false;
        tap_n++;
}

/* Record a failure of the current test point; it goes on. */
__attribute__((format(printf, 1, 2))) static inline void tap_fail(const char *fmt, ...) {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        size_t len = strlen(line);
        char *p = realloc(tap_why, tap_why_len + len + 2);
        if (p) {
                memcpy(p + tap_why_len, line, len);
                p[tap_why_len + len] = '\n';
                p[tap_why_len + len + 1] = '\0';
                tap_why = p;
                tap_why_len += len + 1;
        }
        tap_bad = true;
}

#define expect(cond, ...)                                                                  \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        tap_fail("%s:%d: expected %s", __FILE__, __LINE__, #cond);         \
                        tap_fail("  " __VA_ARGS__);                                        \
                }                                                                          \
        } while (0)

static inline void tap_end(void) {
        if (!tap_open)
                return;
        tap_open = false;
        if (!tap_bad)
                printf("ok %d - %s\n", tap_n, tap_desc);
        else {
                tap_failed++;
                printf("not ok %d - %s\n", tap_n, tap_desc);
                for (char *l = tap_why, *nl; l && *l; l = nl + 1) {
                        nl = strchr(l, '\n');
                        printf("#   %.*s\n", (int) (nl - l), l);
                }
        }
        free(tap_why);
        tap_why = NULL;
        tap_why_len = 0;
        fflush(stdout);
}

static inline void tap_skip(const char *desc, const char *why) {
        if (tap_open)
                tap_end();
        tap_n++;
        tap_skipped++;
        printf("ok %d - %s # SKIP %s\n", tap_n, desc, why);
        fflush(stdout);
}

static inline int tap_finish(void) {
        if (tap_open)
                tap_end();
        if (tap_planned && tap_n != tap_planned) {
                printf("# planned %d test points but ran %d\n", tap_planned, tap_n);
                tap_failed++;
        }
        printf("# %d passed, %d failed, %d skipped\n", tap_n - tap_failed - tap_skipped, tap_failed, tap_skipped);
        fflush(stdout);
        return tap_failed ? 1 : 0;
}
