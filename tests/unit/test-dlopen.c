/* SPDX-License-Identifier: MIT */
/*
 * dl_open_table (src/basic/dlopen.c): a library found and its symbols resolved; a
 * missing library and a missing symbol are -EOPNOTSUPP with a message naming them, and
 * write no pointer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dlopen.h"
#include "macro.h"

static void test_found(void **state) {
        size_t (*my_strlen)(const char *) = NULL;
        const dl_symbol syms[] = { { "strlen", (void **) &my_strlen } };
        void *h = NULL;
        char why[128] = "";
        assert_int_equal(dl_open_table("libc.so.6", &h, syms, ELEMENTSOF(syms), why, sizeof why), 0);
        assert_non_null(h);
        assert_non_null(my_strlen);
        assert_int_equal(my_strlen("corral"), 6);
}

static void test_missing_library(void **state) {
        void *p = NULL, *h = NULL;
        const dl_symbol syms[] = { { "anything", &p } };
        char why[256] = "";
        assert_int_equal(dl_open_table("libcorral-not-there.so.9", &h, syms, ELEMENTSOF(syms), why, sizeof why),
                         -EOPNOTSUPP);
        assert_null(p);
        assert_null(h);
        assert_non_null(strstr(why, "libcorral-not-there.so.9 is not installed"));
}

static void test_missing_symbol(void **state) {
        void *a = NULL, *b = NULL, *h = NULL;
        const dl_symbol syms[] = { { "strlen", &a }, { "corral_no_such_function", &b } };
        char why[256] = "";
        assert_int_equal(dl_open_table("libc.so.6", &h, syms, ELEMENTSOF(syms), why, sizeof why), -EOPNOTSUPP);
        /* all or nothing: not even the symbol that was there */
        assert_null(a);
        assert_null(b);
        assert_non_null(strstr(why, "corral_no_such_function"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_found),
                cmocka_unit_test(test_missing_library),
                cmocka_unit_test(test_missing_symbol),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
