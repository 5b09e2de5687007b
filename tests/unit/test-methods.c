/* SPDX-License-Identifier: MIT */
/*
 * corrald's Run checks (src/daemon/methods.c), called as the loop calls them, with a
 * fake server_ops whose start records the validated policy and starts nothing. The cases
 * are what fuzz-method's checks caught: a blank around a key ("Backend =rlimit",
 * " CGroupBase=/x") passed the root-only and CGroupBase= refusals, which compared the
 * text before '=' while the library strips blanks around the key; and an administrator's
 * policy with CGroupBase= (named by a request) carried it into the run.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corrald.h"
#include "policy.h"

static struct {
        bool started;
        corral_backend backend;
        bool dynamic_user, no_new_privileges;
        uint64_t memory_max;
        char cgroup_base[POLICY_CGROUP_BASE_MAX];
} seen;

static int record_start(server *s, djob *j, const corral_policy *p, const corral_spawn_attr *attr,
                        corral_diag *diag) {
        (void) s;
        (void) j;
        (void) attr;
        seen.started = true;
        seen.backend = p->backend;
        seen.dynamic_user = p->iso.dynamic_user;
        seen.no_new_privileges = p->no_new_privileges;
        seen.memory_max = p->memory_max;
        snprintf(seen.cgroup_base, sizeof seen.cgroup_base, "%s", p->cgroup_base);
        snprintf(diag->message, sizeof diag->message, "test: not started");
        return -ECANCELED;
}

static int no_doctor(const corral_policy *p, corral_doctor_report *ret) {
        (void) p;
        (void) ret;
        return -EIO;
}

static const server_ops test_ops = { .start = record_start, .doctor = no_doctor };

/* One Run from uid with these properties (and policy, if not NULL): the error it got
 * ("" if it reached the start), its reason in *ret_reason. */
static void run(uid_t uid, const char *policy, const char *const *props, char *ret_error, size_t error_size,
                char *ret_reason, size_t reason_size) {
        server s = { .ops = &test_ops, .epfd = -EBADF };
        client c = { .s = &s };
        char why[256];
        assert_int_equal(config_load("/nonexistent/corrald.conf", false, &s.cfg, why, sizeof why), 0);
        c.vl = (vl_conn){ .fd = -EBADF, .uid = uid, .gid = uid };

        json_t *pa = json_array();
        for (const char *const *a = props; *a; a++)
                json_array_append_new(pa, json_string(*a));
        json_t *params = json_pack("{s:[s], s:o}", "argv", "true", "properties", pa);
        if (policy)
                json_object_set_new(params, "policy", json_string(policy));
        vl_call call = { .msg = json_pack("{s:s, s:o}", "method", "io.corral.Sandbox.Run", "parameters", params) };
        call.method = json_string_value(json_object_get(call.msg, "method"));
        call.parameters = json_object_get(call.msg, "parameters");

        memset(&seen, 0, sizeof seen);
        methods_dispatch(&c, &call);

        /* One reply: an error (a start that failed is Unavailable "cannot start a job"). */
        assert_non_null(c.vl.out);
        assert_ptr_equal(memchr(c.vl.out, '\0', c.vl.out_len), c.vl.out + c.vl.out_len - 1);
        json_t *m = json_loads(c.vl.out, 0, NULL);
        assert_non_null(m);
        const char *e = json_string_value(json_object_get(m, "error"));
        const char *reason = json_string_value(json_object_get(json_object_get(m, "parameters"), "reason"));
        assert_non_null(e);
        bool reached = strcmp(e, "io.corral.Sandbox.Unavailable") == 0 && reason &&
                       strstr(reason, "test: not started");
        assert_int_equal(reached, seen.started);
        snprintf(ret_error, error_size, "%s", reached ? "" : e);
        snprintf(ret_reason, reason_size, "%s", reason ? reason : "");
        json_decref(m);
        vl_call_done(&call);
        free(c.vl.out);
        config_done(&s.cfg);
}

static void test_root_only_keys_with_blanks(void **state) {
        (void) state;
        static const char *const cases[][2] = {
                { "Backend=rlimit", "Backend= is for root only" },
                { " Backend=rlimit", "Backend= is for root only" },
                { "Backend =rlimit", "Backend= is for root only" },
                { "\tBackend\t=rlimit", "Backend= is for root only" },
                { " DynamicUser = yes", "DynamicUser= is for root only" },
                { "User =0", "User= is for root only" },
                { "  Group=0", "Group= is for root only" },
        };
        char error[128], reason[300];
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                run(1000, NULL, (const char *[]){ cases[i][0], NULL }, error, sizeof error, reason, sizeof reason);
                assert_string_equal(error, "io.corral.Sandbox.PermissionDenied");
                assert_string_equal(reason, cases[i][1]);
                assert_false(seen.started);
        }
        /* root may: the blanks are not part of the key */
        run(0, NULL, (const char *[]){ " Backend = rlimit", NULL }, error, sizeof error, reason, sizeof reason);
        assert_string_equal(error, "");
        assert_int_equal(seen.backend, CORRAL_BACKEND_RLIMIT);
}

static void test_cgroup_base_with_blanks(void **state) {
        (void) state;
        static const char *const cases[] = { "CGroupBase=/x", " CGroupBase=/x", "CGroupBase =/x", "\tCGroupBase\t=/x",
                                             "CGroupBase=" };
        char error[128], reason[300];
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                for (uid_t uid = 0; uid <= 1000; uid += 1000) {
                        run(uid, NULL, (const char *[]){ cases[i], NULL }, error, sizeof error, reason, sizeof reason);
                        assert_string_equal(error, "io.corral.Sandbox.PermissionDenied");
                        assert_non_null(strstr(reason, "CGroupBase= is corrald's own start-up setting"));
                }
}

static void test_policy_with_cgroup_base(void **state) {
        (void) state;
        char error[128], reason[300];
        /* tests/fuzz/policies/admin-base: CGroupBase=/corral-fuzz-base */
        run(1000, "admin-base", (const char *[]){ "MemoryMax=64M", NULL }, error, sizeof error, reason, sizeof reason);
        assert_string_equal(error, "");
        assert_string_equal(seen.cgroup_base, "");
        assert_int_equal(seen.memory_max, 64 * 1024 * 1024);
        run(0, "admin-base", (const char *[]){ NULL }, error, sizeof error, reason, sizeof reason);
        assert_string_equal(error, "");
        assert_string_equal(seen.cgroup_base, "");
}

static void test_admin_policy_keeps_root_only_keys(void **state) {
        (void) state;
        char error[128], reason[300];
        /* tests/fuzz/policies/admin-keys: Backend=rlimit, DynamicUser=yes, NoNewPrivileges=no:
         * the administrator's choice stands, but a non-root caller's run has NoNewPrivileges. */
        run(1000, "admin-keys", (const char *[]){ NULL }, error, sizeof error, reason, sizeof reason);
        assert_string_equal(error, "");
        assert_int_equal(seen.backend, CORRAL_BACKEND_RLIMIT);
        assert_true(seen.dynamic_user);
        assert_true(seen.no_new_privileges);
        run(1000, NULL, (const char *[]){ "NoNewPrivileges=no", NULL }, error, sizeof error, reason, sizeof reason);
        assert_string_equal(error, "");
        assert_true(seen.no_new_privileges);
        run(0, "admin-keys", (const char *[]){ NULL }, error, sizeof error, reason, sizeof reason);
        assert_string_equal(error, "");
        assert_false(seen.no_new_privileges);
}

static void test_malformed_assignment(void **state) {
        (void) state;
        static const char *const cases[] = { "MemoryMax", "=1G", "  =1G", "" };
        char error[128], reason[300];
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                run(1000, NULL, (const char *[]){ cases[i], NULL }, error, sizeof error, reason, sizeof reason);
                assert_string_equal(error, "io.corral.Sandbox.InvalidParameter");
                assert_non_null(strstr(reason, "expected Key=Value"));
        }
}

int main(void) {
        setenv("CORRAL_POLICY_PATH", CR_FUZZ_POLICIES, 1);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root_only_keys_with_blanks),
                cmocka_unit_test(test_cgroup_base_with_blanks),
                cmocka_unit_test(test_policy_with_cgroup_base),
                cmocka_unit_test(test_admin_policy_keeps_root_only_keys),
                cmocka_unit_test(test_malformed_assignment),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
