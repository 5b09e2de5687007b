/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/basic/parse.c: tables of inputs with the exact value each must give,
 * and of bad inputs with the errno and the words the reason must contain (the bad part).
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "parse.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define T (UINT64_C(1) << 40)
#define P (UINT64_C(1) << 50)
#define E (UINT64_C(1) << 60)

#define SEC USEC_PER_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)

typedef int (*parser)(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]);

typedef struct good_case {
        const char *in;
        uint64_t want;
} good_case;

typedef struct bad_case {
        const char *in;
        int error;       /* the negative errno */
        const char *why; /* must appear in the reason */
} bad_case;

static void check_good(const char *name, parser f, const good_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char why[PARSE_WHY_MAX] = "";
                uint64_t v = 42;
                int r;

                r = f(cases[i].in, &v, why);
                if (r != 0)
                        fail_msg("%s(\"%s\") = %d (%s), expected success", name, cases[i].in, r,
                                 why);
                if (v != cases[i].want)
                        fail_msg("%s(\"%s\") gave %ju, expected %ju", name, cases[i].in,
                                 (uintmax_t) v, (uintmax_t) cases[i].want);
        }
}

static void check_bad(const char *name, parser f, const bad_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char why[PARSE_WHY_MAX] = "";
                uint64_t v = 42;
                int r;

                r = f(cases[i].in, &v, why);
                if (r != cases[i].error)
                        fail_msg("%s(\"%s\") = %d (%s), expected %d", name, cases[i].in, r, why,
                                 cases[i].error);
                if (!strstr(why, cases[i].why))
                        fail_msg("%s(\"%s\"): reason \"%s\" does not contain \"%s\"", name,
                                 cases[i].in, why, cases[i].why);
                /* Out-parameters are written only on success. */
                if (v != 42)
                        fail_msg("%s(\"%s\") wrote %ju on failure", name, cases[i].in,
                                 (uintmax_t) v);
        }
}

/* parse_size_or_percent with 8 GiB of "physical memory", in the parser shape. */
static int size_or_percent_8g(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]) {
        return parse_size_or_percent(s, 8 * G, ret, why);
}

static int size_or_percent_0(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]) {
        return parse_size_or_percent(s, 0, ret, why);
}

/* Reject classes every parser shares: empty, whitespace, negative, garbage, NaN/inf, hex. */
static const bad_case common_bad[] = {
        { "", -EINVAL, "empty value" },
        { " ", -EINVAL, "empty value" },
        { " \t\n ", -EINVAL, "empty value" },
        { "-1", -ERANGE, "negative" },
        { " -5", -ERANGE, "negative" },
        { "-0", -ERANGE, "negative" },
        { "-infinity", -ERANGE, "negative" },
        { "abc", -EINVAL, "invalid number 'abc'" },
        { "nan", -EINVAL, "'nan'" },
        { "NaN", -EINVAL, "'NaN'" },
        { "inf", -EINVAL, "'inf'" },
        { "Infinity", -EINVAL, "'Infinity'" },
        { "INFINITY", -EINVAL, "'INFINITY'" },
        { "infinityx", -EINVAL, "'infinityx'" },
        { "+5", -EINVAL, "'+5'" },
        { ".5", -EINVAL, "'.5'" },
        { "99999999999999999999999", -ERANGE, "value too large" },
};

static void test_common_bad(void **state) {
        check_bad("parse_size", parse_size, common_bad, ELEMENTSOF(common_bad));
        check_bad("parse_duration", parse_duration, common_bad, ELEMENTSOF(common_bad));
        check_bad("parse_count", parse_count, common_bad, ELEMENTSOF(common_bad));
        check_bad("parse_size_or_percent", size_or_percent_8g, common_bad,
                  ELEMENTSOF(common_bad));
}

static void test_size_good(void **state) {
        static const good_case cases[] = {
                { "0", 0 },
                { "1", 1 },
                { "1024", 1024 },
                { "007", 7 },
                { "1B", 1 },
                { "1K", K },
                { "64K", 64 * K },
                { "64KB", 64 * K },
                { "1M", M },
                { "256M", 256 * M },
                { "256MB", 256 * M },
                { "1G", G },
                { "1GB", G },
                { "1T", T },
                { "1P", P },
                { "1E", E },
                { "15E", 15 * E },
                { "1.5G", G + G / 2 },
                { "0.5K", 512 },
                { "0.25M", 256 * K },
                { "1.0000000001G", G },  /* digits past the ninth only need to be digits */
                { "0.999999999999K", 1023 },
                { "1.5", 1 },            /* fractions of a byte round down, as in systemd */
                { "1G 512M", G + 512 * M },
                { "1G512M", G + 512 * M },
                { "1G 512M 1K 1", G + 512 * M + K + 1 },
                { "1K 5", K + 5 },
                { "1K 5B", K + 5 },
                { "1.5G 1M", G + G / 2 + M },
                { "64 K", 64 * K },
                { "  64K  ", 64 * K },
                { "\t1G\n", G },
                { "infinity", PARSE_INFINITY },
                { " infinity ", PARSE_INFINITY },
                { "18446744073709551614", UINT64_MAX - 1 },
                { "15E 1023P", 15 * E + 1023 * P },
        };
        check_good("parse_size", parse_size, cases, ELEMENTSOF(cases));
}

static void test_size_bad(void **state) {
        static const bad_case cases[] = {
                { "12Q", -EINVAL, "unknown unit 'Q'" },
                { "12 Q", -EINVAL, "unknown unit 'Q'" },
                { "1k", -EINVAL, "unknown unit 'k'" },
                { "1KiB", -EINVAL, "unknown unit 'KiB'" },
                { "1BB", -EINVAL, "unknown unit 'BB'" },
                { "0x10", -EINVAL, "unknown unit 'x'" },
                { "1e3", -EINVAL, "unknown unit 'e'" },
                { "1e400", -EINVAL, "unknown unit 'e'" },
                { "K", -EINVAL, "missing number before 'K'" },
                { "1G M", -EINVAL, "missing number before 'M'" },
                { "1G x", -EINVAL, "trailing garbage 'x'" },
                { "1G,5M", -EINVAL, "trailing garbage ',5M'" },
                { "1.", -EINVAL, "missing digits after '1.'" },
                { "1.G", -EINVAL, "missing digits after '1.'" },
                { "1.5.5G", -EINVAL, "trailing garbage '.5G'" },
                { "1 2", -EINVAL, "trailing garbage '2'" },
                { "5 1K", -EINVAL, "trailing garbage '1K'" },
                { "1B 1", -EINVAL, "trailing garbage '1'" },
                { "512M 1G", -EINVAL, "unit 'G' after 'M'" },
                { "1G 1G", -EINVAL, "unit 'G' after 'G'" },
                { "1K 1KB", -EINVAL, "unit 'KB' after 'K'" },
                { "1G -1M", -ERANGE, "negative" },
                { "50%", -EINVAL, "trailing garbage '%'" },
                { "99999999999E", -ERANGE, "value too large" },
                { "16E", -ERANGE, "value too large" },
                { "15E 1024P", -ERANGE, "value too large" },
                { "18446744073709551615", -ERANGE, "value too large" },
                { "18446744073709551616", -ERANGE, "value too large" },
                { "17179869184G", -ERANGE, "value too large" },
        };
        check_bad("parse_size", parse_size, cases, ELEMENTSOF(cases));
}

static void test_size_or_percent(void **state) {
        static const good_case good[] = {
                { "50%", 4 * G },
                { "100%", 8 * G },
                { "12.5%", G },
                { " 25% ", 2 * G },
                { "0.0001%", 8 * G / 1000000 },
                { "1G", G },
                { "infinity", PARSE_INFINITY },
        };
        static const bad_case bad[] = {
                { "0%", -ERANGE, "greater than 0" },
                { "101%", -ERANGE, "at most 100%" },
                { "100.1%", -ERANGE, "at most 100%" },
                { "100.0001%", -ERANGE, "at most 100%" },
                { "%", -EINVAL, "'%'" },
                { "-5%", -ERANGE, "negative" },
                { "50 %", -EINVAL, "trailing garbage ' %'" },
                { "5x%", -EINVAL, "trailing garbage 'x%'" },
                { "12Q", -EINVAL, "unknown unit 'Q'" },
        };
        static const bad_case bad_no_total[] = {
                { "50%", -ERANGE, "0 bytes" },
        };

        check_good("parse_size_or_percent", size_or_percent_8g, good, ELEMENTSOF(good));
        check_bad("parse_size_or_percent", size_or_percent_8g, bad, ELEMENTSOF(bad));
        check_bad("parse_size_or_percent", size_or_percent_0, bad_no_total,
                  ELEMENTSOF(bad_no_total));
}

static void test_duration_good(void **state) {
        static const good_case cases[] = {
                { "0", 0 },
                { "2", 2 * SEC },
                { "1.5", 1500 * USEC_PER_MSEC },
                { "1us", 1 },
                { "1usec", 1 },
                { "7\xc2\xb5s", 7 },
                { "7\xce\xbcs", 7 },
                { "200ms", 200 * USEC_PER_MSEC },
                { "200msec", 200 * USEC_PER_MSEC },
                { "1s", SEC },
                { "1sec", SEC },
                { "1second", SEC },
                { "2seconds", 2 * SEC },
                { "1.5s", 1500 * USEC_PER_MSEC },
                { "0.000001s", 1 },
                { "0.0000001s", 0 },
                { "1m", MIN },
                { "1min", MIN },
                { "1minute", MIN },
                { "3minutes", 3 * MIN },
                { "1h", HOUR },
                { "1hr", HOUR },
                { "1hour", HOUR },
                { "2hours", 2 * HOUR },
                { "0.25h", 15 * MIN },
                { "1d", DAY },
                { "1day", DAY },
                { "2days", 2 * DAY },
                { "1w", WEEK },
                { "1week", WEEK },
                { "2weeks", 2 * WEEK },
                { "1min 30s", 90 * SEC },
                { "1min30s", 90 * SEC },
                { "55s500ms", 55 * SEC + 500 * USEC_PER_MSEC },
                { "30s 1min", 90 * SEC },          /* any order, as in systemd */
                { "1s 1s", 2 * SEC },
                { "1min 30", 90 * SEC },           /* a bare component is seconds */
                { "1h 2min 3s 4ms 5us", HOUR + 2 * MIN + 3 * SEC + 4 * USEC_PER_MSEC + 5 },
                { "5 s", 5 * SEC },
                { "  2s  ", 2 * SEC },
                { "infinity", PARSE_INFINITY },
                { "30500000w", 30500000 * WEEK },
        };
        check_good("parse_duration", parse_duration, cases, ELEMENTSOF(cases));
}

static void test_duration_bad(void **state) {
        static const bad_case cases[] = {
                { "12Q", -EINVAL, "unknown unit 'Q'" },
                { "5S", -EINVAL, "unknown unit 'S'" },
                { "5M", -EINVAL, "unknown unit 'M'" },  /* systemd's month: not a duration here */
                { "5ns", -EINVAL, "unknown unit 'ns'" },
                { "5secs", -EINVAL, "unknown unit 'secs'" },
                { "5sx", -EINVAL, "unknown unit 'sx'" },
                { "5 s x", -EINVAL, "trailing garbage 'x'" },
                { "5s;", -EINVAL, "trailing garbage ';'" },
                { "ms", -EINVAL, "missing number before 'ms'" },
                { "5s ms", -EINVAL, "missing number before 'ms'" },
                { "min", -EINVAL, "missing number before 'min'" },
                { "0x10", -EINVAL, "unknown unit 'x'" },
                { "1e3", -EINVAL, "unknown unit 'e'" },
                { "1e400", -EINVAL, "unknown unit 'e'" },
                { "1.", -EINVAL, "missing digits after '1.'" },
                { "1.s", -EINVAL, "missing digits after '1.'" },
                { "1..5s", -EINVAL, "after '1.'" },
                { "1.5.5s", -EINVAL, "trailing garbage '.5s'" },
                { "1s -1s", -ERANGE, "negative" },
                { "99999999999999w", -ERANGE, "value too large" },
                { "18446744073709551615us", -ERANGE, "value too large" },
                { "18446744073709551614us 1us", -ERANGE, "value too large" },
                { "18446744073710s", -ERANGE, "value too large" },
                { "30600000w", -ERANGE, "value too large" },
        };
        check_bad("parse_duration", parse_duration, cases, ELEMENTSOF(cases));
}

static void test_percent(void **state) {
        static const good_case good[] = {
                { "50%", 500000 },
                { "200%", 2000000 },
                { "12.5%", 125000 },
                { "100%", 1000000 },
                { "1%", 10000 },
                { "0.0001%", 1 },
                { "0.00019%", 1 },
                { " 150% ", 1500000 },
                { "6400%", 64000000 },
        };
        static const bad_case bad[] = {
                { "", -EINVAL, "empty value" },
                { "  ", -EINVAL, "empty value" },
                { "50", -EINVAL, "missing '%' after '50'" },
                { "0.5", -EINVAL, "missing '%' after '0.5'" },
                { "%", -EINVAL, "invalid number '%'" },
                { "abc%", -EINVAL, "invalid number 'abc%'" },
                { "50 %", -EINVAL, "trailing garbage ' %'" },
                { "50%%", -EINVAL, "trailing garbage '%'" },
                { "50%x", -EINVAL, "trailing garbage 'x'" },
                { "5x%", -EINVAL, "trailing garbage 'x%'" },
                { "0%", -ERANGE, "greater than 0" },
                { "0.00001%", -ERANGE, "greater than 0" },
                { "-50%", -ERANGE, "negative" },
                { "1.%", -EINVAL, "after '1.'" },
                { "99999999999999999999%", -ERANGE, "value too large" },
                { "1844674407370956%", -ERANGE, "value too large" },
                { "infinity", -EINVAL, "invalid number 'infinity'" },
        };
        check_good("parse_percent_ppm", parse_percent_ppm, good, ELEMENTSOF(good));
        check_bad("parse_percent_ppm", parse_percent_ppm, bad, ELEMENTSOF(bad));
}

static void test_count(void **state) {
        static const good_case good[] = {
                { "1", 1 },
                { "64", 64 },
                { " 64 ", 64 },
                { "infinity", PARSE_INFINITY },
                { "18446744073709551614", UINT64_MAX - 1 },
        };
        static const bad_case bad[] = {
                { "0", -ERANGE, "greater than 0" },
                { "00", -ERANGE, "greater than 0" },
                { "1.5", -EINVAL, "trailing garbage '.5'" },
                { "64K", -EINVAL, "trailing garbage 'K'" },
                { "6 4", -EINVAL, "trailing garbage ' 4'" },
                { "0x10", -EINVAL, "trailing garbage 'x10'" },
                { "50%", -EINVAL, "trailing garbage '%'" },
                { "18446744073709551615", -ERANGE, "value too large" },
        };
        check_good("parse_count", parse_count, good, ELEMENTSOF(good));
        check_bad("parse_count", parse_count, bad, ELEMENTSOF(bad));
}

/* A long bad part is quoted in part, and the reason always fits and is terminated. */
static void test_long_input(void **state) {
        char in[600], why[PARSE_WHY_MAX];
        uint64_t v = 42;

        memset(in, 'Q', sizeof(in) - 1);
        in[0] = '1';
        in[sizeof(in) - 1] = '\0';

        memset(why, 'X', sizeof(why));
        assert_int_equal(parse_size(in, &v, why), -EINVAL);
        assert_non_null(memchr(why, '\0', sizeof(why)));
        assert_non_null(strstr(why, "unknown unit 'QQQQ"));
        assert_int_equal(v, 42);

        memset(in, '9', sizeof(in) - 1);
        assert_int_equal(parse_duration(in, &v, why), -ERANGE);
        assert_string_equal(why, "value too large");
        assert_int_equal(v, 42);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_common_bad),
                cmocka_unit_test(test_size_good),
                cmocka_unit_test(test_size_bad),
                cmocka_unit_test(test_size_or_percent),
                cmocka_unit_test(test_duration_good),
                cmocka_unit_test(test_duration_bad),
                cmocka_unit_test(test_percent),
                cmocka_unit_test(test_count),
                cmocka_unit_test(test_long_input),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
