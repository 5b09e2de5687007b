/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/lib/filter.c: every name in corral's group tables is one libseccomp
 * knows; SystemCallFilter= parsing (allow- and deny-lists, '~' removal, reset, errnos)
 * with the exact reason for each bad value; and the built program loaded for real in a
 * forked child, with this test as its supervisor: a denied call arrives as a
 * notification naming it, is answered with an errno, and the i386 entry point (int 0x80)
 * is caught with SystemCallArchitectures=native.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "filter.h"
#include "macro.h"
#include "parse.h"

static void test_groups_known(void **state) {
        static const uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_AARCH64,
                                           SCMP_ARCH_ARM, SCMP_ARCH_RISCV64, SCMP_ARCH_PPC64LE,
                                           SCMP_ARCH_S390X, SCMP_ARCH_PPC64, SCMP_ARCH_PPC,
                                           SCMP_ARCH_S390, SCMP_ARCH_MIPS };
        size_t checked = 0;

        for (size_t i = 0; i < filter_group_count(); i++)
                for (const char *const *m = filter_group_members(i); *m; m++) {
                        bool known = false;
                        if ((*m)[0] == '@') {
                                policy_filter f = {};
                                char why[PARSE_WHY_MAX] = "";
                                if (filter_parse_filter(&f, *m, why) < 0)
                                        fail_msg("%s includes %s: %s", filter_group_name(i), *m, why);
                                continue;
                        }
                        for (size_t a = 0; a < ELEMENTSOF(arches) && !known; a++)
                                known = seccomp_syscall_resolve_name_arch(arches[a], *m) != __NR_SCMP_ERROR;
                        if (!known)
                                fail_msg("%s: libseccomp does not know '%s'", filter_group_name(i), *m);
                        checked++;
                }
        assert_true(checked > 300);
}

static int nr(const char *name) {
        int n = seccomp_syscall_resolve_name(name);
        assert_true(n >= 0);
        return n;
}

static void test_parse_lists(void **state) {
        policy_filter f = {};
        char why[PARSE_WHY_MAX] = "";

        /* an allow-list; '~' removes from it */
        assert_int_equal(filter_parse_filter(&f, "@basic-io @file-system", why), 0);
        assert_true(f.set && f.allow_list);
        assert_int_equal(f.entry[nr("read")], FILTER_ENTRY_LISTED);
        assert_int_equal(f.entry[nr("openat")], FILTER_ENTRY_LISTED);
        assert_int_equal(f.entry[nr("ptrace")], 0);
        assert_int_equal(filter_parse_filter(&f, "~openat", why), 0);
        assert_true(f.allow_list);
        assert_int_equal(f.entry[nr("openat")], 0);
        assert_int_equal(f.entry[nr("read")], FILTER_ENTRY_LISTED);

        /* empty resets; then a deny-list with a per-entry errno; plain names remove from it */
        assert_int_equal(filter_parse_filter(&f, "", why), 0);
        assert_false(f.set);
        assert_int_equal(f.entry[nr("read")], 0);
        assert_int_equal(filter_parse_filter(&f, "~@debug mount:EPERM unshare:38", why), 0);
        assert_true(f.set && !f.allow_list);
        assert_int_equal(f.entry[nr("ptrace")], FILTER_ENTRY_LISTED);
        assert_int_equal(f.entry[nr("mount")], EPERM);
        assert_int_equal(f.entry[nr("unshare")], ENOSYS);
        assert_int_equal(filter_parse_filter(&f, "ptrace", why), 0);
        assert_int_equal(f.entry[nr("ptrace")], 0);
        assert_int_equal(f.entry[nr("perf_event_open")], FILTER_ENTRY_LISTED);

        /* another ABI's call is accepted and means nothing here */
        assert_int_equal(filter_parse_filter(&f, "~socketcall", why), 0);

        /* groups nest: @privileged has @chown */
        memset(&f, 0, sizeof f);
        assert_int_equal(filter_parse_filter(&f, "~@privileged", why), 0);
        assert_int_equal(f.entry[nr("fchownat")], FILTER_ENTRY_LISTED);
        assert_int_equal(f.entry[nr("reboot")], FILTER_ENTRY_LISTED);
        assert_int_equal(f.entry[nr("read")], 0);

        char *text = NULL;
        memset(&f, 0, sizeof f);
        assert_int_equal(filter_parse_filter(&f, "~ptrace mount:EPERM", why), 0);
        assert_int_equal(filter_format(&f, &text), 0);
        assert_string_equal(text, "~ptrace mount:EPERM"); /* by number */
        free(text);
}

static void test_parse_bad(void **state) {
        static const struct {
                const char *value, *why;
        } bad[] = {
                { "~@nosuch", "unknown group '@nosuch'" },
                { "frobnicate", "unknown system call 'frobnicate'" },
                { "~", "'~' without any system call" },
                { "read:EPERM", "'read:EPERM': an errno belongs to an entry of a deny-list (~...)" },
                { "~mount:EWHAT", "unknown errno 'EWHAT'" },
                { "~mount:0", "errno '0' out of range 1..4095" },
                { "~mount:4096", "errno '4096' out of range 1..4095" },
                { "~:EPERM", "empty system call name" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                policy_filter f = {}, before;
                char why[PARSE_WHY_MAX] = "";
                assert_int_equal(filter_parse_filter(&f, "~ptrace", why), 0);
                before = f;
                if (filter_parse_filter(&f, bad[i].value, why) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i].value);
                if (strcmp(why, bad[i].why) != 0)
                        fail_msg("'%s': got '%s', expected '%s'", bad[i].value, why, bad[i].why);
                /* a failed set changes nothing */
                assert_memory_equal(&f, &before, sizeof f);
        }

        policy_filter f = {};
        char why[PARSE_WHY_MAX] = "";
        assert_int_equal(filter_parse_error_number(&f, "EPERM", why), 0);
        assert_int_equal(f.error_number, EPERM);
        assert_int_equal(filter_parse_error_number(&f, "kill", why), 0);
        assert_int_equal(f.error_number, 0);
        assert_int_equal(filter_parse_error_number(&f, "EFOO", why), -EINVAL);
        assert_string_equal(why, "unknown errno 'EFOO'");
        assert_int_equal(filter_parse_architectures(&f, "native", why), 0);
        assert_true(f.arch_native);
        assert_int_equal(filter_parse_architectures(&f, "x86 x32", why), -EINVAL);
        assert_string_equal(why, "only one architecture, 'native', is supported");
        assert_int_equal(filter_parse_architectures(&f, "", why), 0);
        assert_false(f.arch_native);
}

/* ---- the program, loaded for real ---- */

typedef int (*child_fn)(void);

/* Fork a child that loads f and runs fn; supervise it: answer each notification with
 * EPERM-like errnos from filter_judge (kill answers become EOWNERDEAD so that the child
 * can tell), record the last one. Returns the child's exit status. */
static int run_filtered(const policy_filter *f, child_fn fn, filter_verdict *ret_last, int *ret_count) {
        char why[PARSE_WHY_MAX] = "";
        filter_prog *prog = NULL;
        int sv[2], listener = -1, status, count = 0;
        char seen[512] = "";
        pid_t pid;

        if (filter_compile(f, &prog, why) < 0)
                fail_msg("compile: %s", why);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Leave with the raw exit_group: a sanitizer's _exit() interceptor makes
                 * system calls of its own (outside @default) on the way out. */
                if (dup2(sv[1], FILTER_NOTIFY_SEND_FD) < 0)
                        syscall(SYS_exit_group, 90);
                if (filter_load_and_send(prog) < 0)
                        syscall(SYS_exit_group, 91);
                syscall(SYS_exit_group, fn());
        }
        close(sv[1]);
        assert_int_equal(filter_recv_listener(sv[0], &listener), 0);
        close(sv[0]);
        for (;;) {
                filter_notification n;
                int r = filter_notif_recv(listener, &n);
                if (r == 1) {
                        filter_verdict v;
                        filter_judge(f, n.arch, n.nr, &v);
                        *ret_last = v;
                        if (count < (int) sizeof seen - 48)
                                count == 0 ? snprintf(seen, sizeof seen, "%s", v.name) :
                                             snprintf(seen + strlen(seen), sizeof seen - strlen(seen), " %s", v.name);
                        count++;
                        (void) filter_notif_answer(listener, n.id, v.errno_answer ? v.errno_answer : EOWNERDEAD);
                        continue;
                }
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
                usleep(1000);
        }
        close(listener);
        filter_prog_free(prog);
        *ret_count = count;
        if (count)
                print_message("# the filter was asked about: %s\n", seen);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int child_ptrace(void) {
        long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        return r < 0 ? errno : 0;
}

static int child_getpid_int80(void) {
        long ret;
        /* i386 getpid is 20 */
        __asm__ volatile("int $0x80" : "=a"(ret) : "0"(20L) : "memory");
        return ret < 0 ? (int) -ret : 0;
}

static int child_plain(void) {
        return getpid() > 0 ? 0 : 1;
}

static void test_load_deny(void **state) {
        policy_filter f = {};
        char why[PARSE_WHY_MAX] = "";
        filter_verdict v = {};
        int count;

        assert_int_equal(filter_parse_filter(&f, "~ptrace mount:EPERM", why), 0);
        /* kill action: the supervisor is asked, names it, and (here) answers EOWNERDEAD */
        assert_int_equal(run_filtered(&f, child_ptrace, &v, &count), EOWNERDEAD);
        assert_int_equal(count, 1);
        assert_string_equal(v.name, "ptrace");
        assert_string_equal(v.arch, "x86_64");
        assert_int_equal(v.errno_answer, 0);

        /* with SystemCallErrorNumber= the answer is that errno */
        assert_int_equal(filter_parse_error_number(&f, "EACCES", why), 0);
        assert_int_equal(run_filtered(&f, child_ptrace, &v, &count), EACCES);

        /* allowed calls are not seen by the supervisor */
        assert_int_equal(run_filtered(&f, child_plain, &v, &count), 0);
        assert_int_equal(count, 0);
}

static void test_load_allow(void **state) {
        policy_filter f = {};
        char why[PARSE_WHY_MAX] = "";
        filter_verdict v = {};
        int count;

        /* _exit, getpid and what fork's child needs; ptrace is not listed */
        assert_int_equal(filter_parse_filter(&f, "@default", why), 0);
        assert_int_equal(run_filtered(&f, child_plain, &v, &count), 0);
        assert_int_equal(count, 0);
        assert_int_equal(run_filtered(&f, child_ptrace, &v, &count), EOWNERDEAD);
        assert_string_equal(v.name, "ptrace");
}

static void test_load_int80(void **state) {
        policy_filter f = {};
        char why[PARSE_WHY_MAX] = "";
        filter_verdict v = {};
        int count;

        if (seccomp_arch_native() != SCMP_ARCH_X86_64)
                skip();
        /* Without native-only, a deny-list of getpid covers the i386 entry point too */
        assert_int_equal(filter_parse_filter(&f, "~getpid", why), 0);
        assert_int_equal(run_filtered(&f, child_getpid_int80, &v, &count), EOWNERDEAD);
        assert_string_equal(v.name, "getpid");
        assert_string_equal(v.arch, "x86");

        /* native-only: an allowed call through int 0x80 is refused, never answered with an errno */
        memset(&f, 0, sizeof f);
        assert_int_equal(filter_parse_architectures(&f, "native", why), 0);
        assert_int_equal(filter_parse_error_number(&f, "EPERM", why), 0);
        assert_int_equal(run_filtered(&f, child_getpid_int80, &v, &count), EOWNERDEAD);
        assert_string_equal(v.arch, "x86");
        assert_int_equal(v.errno_answer, 0);
        assert_int_equal(run_filtered(&f, child_plain, &v, &count), 0);
        assert_int_equal(count, 0);
}

static void test_cache(void **state) {
        policy_filter a = {}, b = {};
        char why[PARSE_WHY_MAX] = "";
        const filter_prog *p1, *p2, *p3;

        assert_int_equal(filter_parse_filter(&a, "~ptrace", why), 0);
        assert_int_equal(filter_parse_filter(&b, "~mount", why), 0);
        assert_int_equal(filter_prog_get(&a, &p1, why), 0);
        assert_int_equal(filter_prog_get(&a, &p2, why), 0);
        assert_ptr_equal(p1, p2); /* built once */
        /* the errno answers are the supervisor's: same program */
        a.error_number = EPERM;
        assert_int_equal(filter_prog_get(&a, &p3, why), 0);
        assert_ptr_equal(p1, p3);
        filter_prog_release(p3);
        assert_int_equal(filter_prog_get(&b, &p3, why), 0);
        assert_ptr_not_equal(p1, p3);
        filter_prog_release(p1);
        filter_prog_release(p2);
        filter_prog_release(p3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_groups_known),
                cmocka_unit_test(test_parse_lists),
                cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_load_deny),
                cmocka_unit_test(test_load_allow),
                cmocka_unit_test(test_load_int80),
                cmocka_unit_test(test_cache),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
