/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the values in a policy: sizes, durations, percentages and counts, with
 * systemd's grammar (systemd.time(7), systemd.resource-control(5)). Pure and libc only:
 * no locale, no strtod, no errno side effects. Numbers are scanned digit by digit with
 * overflow checks; a fraction keeps its first FRAC_DIGITS_MAX digits and is scaled with
 * integer arithmetic, so "0.5K" is exactly 512 and "1.5s" exactly 1500000us.
 *
 * Grammar shared by sizes and durations (whitespace = space, tab, CR, LF):
 *
 *     value     := ws* ( "infinity" | component ( ws* component )* ) ws*
 *     component := number ws* unit?
 *     number    := digit+ ( "." digit+ )?
 *
 * Sizes need their units in strictly descending order ("1G 512M"), a component without
 * a unit (bytes) only at the end. Durations take units in any order and add them up
 * ("1min 30s", "55s500ms"); a component without a unit is seconds.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse.h"

/* Digits of a fraction that take part in the result: 10^9 * 10^9 still fits in 64 bits. */
#define FRAC_DIGITS_MAX 9
/* How much of a bad input a reason quotes. */
#define QUOTE_MAX 40

typedef struct unit {
        const char *name;
        uint64_t factor;
} unit;

static const unit size_units[] = {
        { "E", UINT64_C(1) << 60 }, { "EB", UINT64_C(1) << 60 },
        { "P", UINT64_C(1) << 50 }, { "PB", UINT64_C(1) << 50 },
        { "T", UINT64_C(1) << 40 }, { "TB", UINT64_C(1) << 40 },
        { "G", UINT64_C(1) << 30 }, { "GB", UINT64_C(1) << 30 },
        { "M", UINT64_C(1) << 20 }, { "MB", UINT64_C(1) << 20 },
        { "K", UINT64_C(1) << 10 }, { "KB", UINT64_C(1) << 10 },
        { "B", 1 },
};

#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)
#define USEC_PER_WEEK (7 * USEC_PER_DAY)

static const unit duration_units[] = {
        { "us", 1 },
        { "usec", 1 },
        { "\xc2\xb5s", 1 }, /* U+00B5 MICRO SIGN */
        { "\xce\xbcs", 1 }, /* U+03BC GREEK SMALL LETTER MU, which systemd also takes */
        { "ms", USEC_PER_MSEC },
        { "msec", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "seconds", USEC_PER_SEC },
        { "m", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "minutes", USEC_PER_MINUTE },
        { "h", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hours", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "days", USEC_PER_DAY },
        { "w", USEC_PER_WEEK },
        { "week", USEC_PER_WEEK },
        { "weeks", USEC_PER_WEEK },
};

typedef struct number {
        uint64_t integer;
        uint64_t frac;        /* the first frac_digits digits after the point, as an integer */
        unsigned frac_digits;
} number;

_printf_(3, 4) static int fail(char *why, int r, const char *fmt, ...) {
        va_list ap;

        /* why is declared [static PARSE_WHY_MAX], but parse.h promises NULL is fine. */
        if (!why)
                return r;

        va_start(ap, fmt);
        vsnprintf(why, PARSE_WHY_MAX, fmt, ap);
        va_end(ap);
        return r;
}

static int quote_len(const char *p, const char *end) {
        return end - p > QUOTE_MAX ? QUOTE_MAX : (int) (end - p);
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A unit name: ASCII letters and any non-ASCII byte (for "µs"). */
static bool is_unit_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (unsigned char) c >= 0x80;
}

static const char *skip_space(const char *p, const char *end) {
        while (p < end && is_space(*p))
                p++;
        return p;
}

/* Trims s and returns the first non-space character; *ret_end is one past the last. */
static const char *trim(const char *s, const char **ret_end) {
        const char *end = s + strlen(s);

        while (end > s && is_space(end[-1]))
                end--;
        *ret_end = end;
        return skip_space(s, end);
}

static bool is_infinity(const char *p, const char *end) {
        return end - p == 8 && memcmp(p, "infinity", 8) == 0;
}

static const unit *find_unit(const unit *units, size_t n, const char *name, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (strlen(units[i].name) == len && memcmp(units[i].name, name, len) == 0)
                        return &units[i];
        return NULL;
}

static size_t unit_len(const char *p, const char *end) {
        const char *q = p;

        while (q < end && is_unit_char(*q))
                q++;
        return q - p;
}

/*
 * Explains why a component cannot start at p (which is not a digit): a sign, a unit
 * without its number, or garbage. first says whether anything was parsed before it.
 */
static int bad_component(const char *p, const char *end, bool first, const unit *units,
                         size_t n_units, char *why) {
        size_t len = unit_len(p, end);

        if (*p == '-')
                return fail(why, -ERANGE, "negative values are not allowed");
        if (len > 0 && units && find_unit(units, n_units, p, len))
                return fail(why, -EINVAL, "missing number before '%.*s'", quote_len(p, p + len),
                            p);
        if (first)
                return fail(why, -EINVAL, "invalid number '%.*s'", quote_len(p, end), p);
        return fail(why, -EINVAL, "trailing garbage '%.*s'", quote_len(p, end), p);
}

/* Scans digit+ ("." digit+)? at *p, which must be a digit. */
static int scan_number(const char **p, const char *end, number *ret, char *why) {
        const char *q = *p, *start = *p;
        number n = { 0 };

        for (; q < end && is_digit(*q); q++) {
                uint64_t d = (uint64_t) (*q - '0');

                if (n.integer > (UINT64_MAX - d) / 10)
                        return fail(why, -ERANGE, "value too large");
                n.integer = n.integer * 10 + d;
        }

        if (q < end && *q == '.') {
                q++;
                if (q >= end || !is_digit(*q))
                        return fail(why, -EINVAL, "missing digits after '%.*s'",
                                    quote_len(start, q), start);
                /* Digits past FRAC_DIGITS_MAX are below any unit's resolution: checked, dropped. */
                for (; q < end && is_digit(*q); q++)
                        if (n.frac_digits < FRAC_DIGITS_MAX) {
                                n.frac = n.frac * 10 + (uint64_t) (*q - '0');
                                n.frac_digits++;
                        }
        }

        *p = q;
        *ret = n;
        return 0;
}

/* n * factor, rounded down; -ERANGE if that does not fit in 64 bits. */
static int scale(const number *n, uint64_t factor, uint64_t *ret) {
        uint64_t pow10 = 1, whole, part;

        if (factor != 0 && n->integer > UINT64_MAX / factor)
                return -ERANGE;
        whole = n->integer * factor;

        /* frac/10^k * factor = frac * (factor / 10^k) + frac * (factor % 10^k) / 10^k, each
         * term below 2^64 because frac < 10^k <= 10^9. */
        for (unsigned i = 0; i < n->frac_digits; i++)
                pow10 *= 10;
        part = n->frac * (factor / pow10) + n->frac * (factor % pow10) / pow10;

        if (part > UINT64_MAX - whole)
                return -ERANGE;
        *ret = whole + part;
        return 0;
}

/* The loop shared by sizes and durations; see the grammar at the top. */
static int parse_span(const char *s, const unit *units, size_t n_units, uint64_t bare_factor,
                      bool descending, uint64_t *ret, char *why) {
        const char *end, *p, *prev_unit = NULL;
        size_t prev_unit_len = 0;
        uint64_t total = 0, prev_factor = 0;
        bool first = true;
        int r;

        if (!s)
                return fail(why, -EINVAL, "empty value");
        p = trim(s, &end);
        if (p == end)
                return fail(why, -EINVAL, "empty value");
        if (is_infinity(p, end)) {
                *ret = PARSE_INFINITY;
                return 0;
        }

        while (p < end) {
                const char *component = p;
                const unit *u = NULL;
                uint64_t factor = bare_factor, v;
                number n;
                size_t len;

                if (!is_digit(*p))
                        return bad_component(p, end, first, units, n_units, why);

                r = scan_number(&p, end, &n, why);
                if (r < 0)
                        return r;

                p = skip_space(p, end);
                len = unit_len(p, end);
                if (len > 0) {
                        u = find_unit(units, n_units, p, len);
                        if (!u)
                                return fail(why, -EINVAL, "unknown unit '%.*s'",
                                            quote_len(p, p + len), p);
                        factor = u->factor;
                }

                if (descending && !first) {
                        if (!prev_unit || (!u && factor >= prev_factor))
                                return fail(why, -EINVAL, "trailing garbage '%.*s'",
                                            quote_len(component, end), component);
                        if (factor >= prev_factor)
                                return fail(why, -EINVAL,
                                            "unit '%.*s' after '%.*s': units must descend",
                                            quote_len(p, p + len), p,
                                            quote_len(prev_unit, prev_unit + prev_unit_len),
                                            prev_unit);
                }

                if (scale(&n, factor, &v) < 0 || v > UINT64_MAX - total)
                        return fail(why, -ERANGE, "value too large");
                total += v;

                prev_unit = u ? p : NULL;
                prev_unit_len = len;
                prev_factor = factor;
                first = false;
                p = skip_space(p + len, end);
        }

        /* UINT64_MAX is how "infinity" is spelled in the result; no finite value may reach it. */
        if (total == PARSE_INFINITY)
                return fail(why, -ERANGE, "value too large");

        *ret = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes, char why[static PARSE_WHY_MAX]) {
        return parse_span(s, size_units, ELEMENTSOF(size_units), 1, true, ret_bytes, why);
}

int parse_duration(const char *s, uint64_t *ret_usec, char why[static PARSE_WHY_MAX]) {
        return parse_span(s, duration_units, ELEMENTSOF(duration_units), USEC_PER_SEC, false,
                          ret_usec, why);
}

int parse_percent_ppm(const char *s, uint64_t *ret_ppm, char why[static PARSE_WHY_MAX]) {
        const char *end, *p, *start;
        uint64_t ppm;
        number n;
        int r;

        if (!s)
                return fail(why, -EINVAL, "empty value");
        p = start = trim(s, &end);
        if (p == end)
                return fail(why, -EINVAL, "empty value");
        if (!is_digit(*p))
                return bad_component(p, end, true, NULL, 0, why);

        r = scan_number(&p, end, &n, why);
        if (r < 0)
                return r;
        if (p == end)
                return fail(why, -EINVAL, "missing '%%' after '%.*s'", quote_len(start, end),
                            start);
        if (*p != '%')
                return fail(why, -EINVAL, "trailing garbage '%.*s'", quote_len(p, end), p);
        p++;
        if (p != end)
                return fail(why, -EINVAL, "trailing garbage '%.*s'", quote_len(p, end), p);

        /* 1% is 10000 per million. */
        if (scale(&n, 10000, &ppm) < 0)
                return fail(why, -ERANGE, "value too large");
        if (ppm == 0)
                return fail(why, -ERANGE, "value must be greater than 0");

        *ret_ppm = ppm;
        return 0;
}

int parse_count(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]) {
        const char *end, *p;
        uint64_t v = 0;

        if (!s)
                return fail(why, -EINVAL, "empty value");
        p = trim(s, &end);
        if (p == end)
                return fail(why, -EINVAL, "empty value");
        if (is_infinity(p, end)) {
                *ret = PARSE_INFINITY;
                return 0;
        }
        if (!is_digit(*p))
                return bad_component(p, end, true, NULL, 0, why);

        for (; p < end && is_digit(*p); p++) {
                uint64_t d = (uint64_t) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return fail(why, -ERANGE, "value too large");
                v = v * 10 + d;
        }
        if (p != end)
                return fail(why, -EINVAL, "trailing garbage '%.*s'", quote_len(p, end), p);
        if (v == 0)
                return fail(why, -ERANGE, "value must be greater than 0");
        if (v == PARSE_INFINITY)
                return fail(why, -ERANGE, "value too large");

        *ret = v;
        return 0;
}

int parse_size_or_percent(const char *s, uint64_t total, uint64_t *ret_bytes,
                          char why[static PARSE_WHY_MAX]) {
        const char *end, *p;
        uint64_t ppm, bytes;
        int r;

        if (!s)
                return fail(why, -EINVAL, "empty value");
        p = trim(s, &end);
        if (p == end || end[-1] != '%')
                return parse_size(s, ret_bytes, why);

        r = parse_percent_ppm(s, &ppm, why);
        if (r < 0)
                return r;
        if (ppm > 1000000)
                return fail(why, -ERANGE, "percentage must be at most 100%%");

        /* total * ppm / 10^6 without overflowing: ppm <= 10^6, so each term fits. */
        bytes = total / 1000000 * ppm + total % 1000000 * ppm / 1000000;
        if (bytes == 0)
                return fail(why, -ERANGE, "value rounds down to 0 bytes");
        if (bytes == PARSE_INFINITY)
                return fail(why, -ERANGE, "value too large");

        *ret_bytes = bytes;
        return 0;
}
