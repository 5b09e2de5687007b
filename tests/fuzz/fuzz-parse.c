/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the value parsers of src/basic/parse.c (sizes, sizes or percentages,
 * durations, percentages, counts) on one input each time. Beyond "no crash" it checks
 * parse.h's promises: the result only written on success, 0/-EINVAL/-ERANGE only, a
 * reason on failure that is a bounded, non-empty string, and that a value parsed is
 * reproduced exactly when printed in its plainest form and parsed again (also with
 * blanks around it, which the grammar allows).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include "fuzz.h"
#include "parse.h"

#define SENTINEL UINT64_C(0x5a5a5a5a5a5a5a5a)

typedef int (*parser)(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]);

static int size_or_percent(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]) {
        /* 24 GiB, like the machine; the percentage arithmetic must not overflow. */
        return parse_size_or_percent(s, UINT64_C(24) << 30, ret, why);
}

/* Calls p and checks what every parser promises; returns its return value. */
static int call(const char *name, parser p, const char *s, uint64_t *ret) {
        char why[PARSE_WHY_MAX];
        uint64_t v = SENTINEL;

        memset(why, 'X', sizeof why);
        int r = p(s, &v, why);
        fuzz_check(r == 0 || r == -EINVAL || r == -ERANGE, "%s('%s') returned %d", name, s, r);
        if (r < 0) {
                fuzz_check(v == SENTINEL, "%s('%s') failed (%d) but wrote %" PRIu64, name, s, r, v);
                fuzz_check(memchr(why, '\0', sizeof why) != NULL, "%s('%s'): reason not terminated", name, s);
                fuzz_check(why[0] != '\0', "%s('%s'): empty reason", name, s);
        }
        /* The reason is optional: NULL must give the same answer. */
        uint64_t v2 = SENTINEL;
        int r2 = p(s, &v2, NULL);
        fuzz_check(r2 == r && (r < 0 || v2 == v), "%s('%s'): %d/%" PRIu64 " with a reason, %d/%" PRIu64 " without",
                   name, s, r, v, r2, v2);
        if (r == 0)
                *ret = v;
        return r;
}

/* The value printed in a canonical form must parse back to itself. */
static void reparse(const char *name, parser p, const char *printed, uint64_t expected) {
        uint64_t v;
        int r = call(name, p, printed, &v);
        fuzz_check(r == 0 && v == expected, "%s: canonical '%s' gave %d/%" PRIu64 ", expected %" PRIu64, name,
                   printed, r, r == 0 ? v : 0, expected);
}

static void check_blanks(const char *name, parser p, const char *s, uint64_t expected) {
        size_t n = strlen(s);
        char *padded = malloc(n + 3);
        if (!padded)
                abort();
        padded[0] = ' ';
        memcpy(padded + 1, s, n);
        padded[n + 1] = '\t';
        padded[n + 2] = '\0';
        uint64_t v;
        int r = call(name, p, padded, &v);
        fuzz_check(r == 0 && v == expected, "%s: '%s' gave %" PRIu64 " but with blanks around %d", name, s,
                   expected, r);
        free(padded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size);
        char printed[64];
        uint64_t v;

        if (call("parse_size", parse_size, s, &v) == 0) {
                check_blanks("parse_size", parse_size, s, v);
                if (v == PARSE_INFINITY)
                        reparse("parse_size", parse_size, "infinity", v);
                else {
                        snprintf(printed, sizeof printed, "%" PRIu64, v);
                        reparse("parse_size", parse_size, printed, v);
                        snprintf(printed, sizeof printed, "%" PRIu64 "B", v);
                        reparse("parse_size", parse_size, printed, v);
                }
                /* Without a '%' a MemoryMax= value is just a size. */
                uint64_t w;
                if (!strchr(s, '%'))
                        fuzz_check(call("parse_size_or_percent", size_or_percent, s, &w) == 0 && w == v,
                                   "'%s': size %" PRIu64 " but not the same as size_or_percent", s, v);
        }

        if (call("parse_size_or_percent", size_or_percent, s, &v) == 0 && v != PARSE_INFINITY) {
                fuzz_check(v <= UINT64_MAX - 1, "'%s'", s);
                snprintf(printed, sizeof printed, "%" PRIu64, v);
                reparse("parse_size_or_percent", size_or_percent, printed, v);
        }

        if (call("parse_duration", parse_duration, s, &v) == 0) {
                check_blanks("parse_duration", parse_duration, s, v);
                if (v == PARSE_INFINITY)
                        reparse("parse_duration", parse_duration, "infinity", v);
                else {
                        snprintf(printed, sizeof printed, "%" PRIu64 "us", v);
                        reparse("parse_duration", parse_duration, printed, v);
                        if (v % UINT64_C(1000000) == 0) {
                                snprintf(printed, sizeof printed, "%" PRIu64, v / UINT64_C(1000000));
                                reparse("parse_duration", parse_duration, printed, v);
                        }
                }
        }

        if (call("parse_percent_ppm", parse_percent_ppm, s, &v) == 0) {
                fuzz_check(v > 0, "'%s': a percentage of 0 accepted", s);
                check_blanks("parse_percent_ppm", parse_percent_ppm, s, v);
                /* ppm of one CPU: 1% = 10000 ppm, so four decimals are exact. */
                snprintf(printed, sizeof printed, "%" PRIu64 ".%04" PRIu64 "%%", v / 10000, v % 10000);
                reparse("parse_percent_ppm", parse_percent_ppm, printed, v);
        }

        if (call("parse_count", parse_count, s, &v) == 0) {
                fuzz_check(v > 0, "'%s': a count of 0 accepted", s);
                check_blanks("parse_count", parse_count, s, v);
                if (v != PARSE_INFINITY) {
                        snprintf(printed, sizeof printed, "%" PRIu64, v);
                        reparse("parse_count", parse_count, printed, v);
                }
        }

        free(s);
        return 0;
}
