/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/lib/namespace.c (root only, SKIP otherwise): the plan's checks
 * (relative and missing paths named, '-' paths left out), and the plan carried out for
 * real in a forked child: under ProtectSystem=strict /usr and /etc refuse writes (EROFS)
 * while the private /tmp takes them, a ReadWritePaths= directory stays writable, an
 * InaccessiblePaths= directory is empty and a file there reads as nothing; a file left
 * in the private /tmp is not in the host's /tmp; and nothing leaked to this process's
 * mounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "namespace.h"
#include "policy.h"

static void add_path(policy_paths *ps, const char *path) {
        snprintf(ps->v[ps->n++], POLICY_PATH_MAX, "%s", path);
}

static void test_plan_checks(void **state) {
        corral_policy *p;
        ns_plan plan;
        char why[NS_WHY_MAX] = "";

        if (geteuid() != 0)
                skip();
        assert_int_equal(corral_policy_new(&p), 0);
        add_path(&p->iso.read_only, "etc");
        assert_int_equal(ns_plan_build(p, -1, &plan, why), -EINVAL);
        assert_string_equal(why, "ReadOnlyPaths=etc: not an absolute path");
        p->iso.read_only.n = 0;
        add_path(&p->iso.inaccessible, "/no/such/dir");
        assert_int_equal(ns_plan_build(p, -1, &plan, why), -ENOENT);
        assert_string_equal(why, "InaccessiblePaths=/no/such/dir: No such file or directory");
        p->iso.inaccessible.n = 0;
        add_path(&p->iso.inaccessible, "-/no/such/dir");
        assert_int_equal(ns_plan_build(p, -1, &plan, why), 0);
        assert_int_equal(plan.n_mounts, 1); /* only "make private" */
        /* PrivateNetwork= without a namespace from net.c: the child makes a fresh one */
        p->iso.private_network = true;
        assert_int_equal(ns_plan_build(p, -1, &plan, why), 0);
        assert_true(plan.unshare_flags & CLONE_NEWNET);
        assert_true(plan.lo_up);
        assert_int_equal(plan.netns_fd, -1);
        /* with one (a pooled namespace): the child joins it */
        assert_int_equal(ns_plan_build(p, 7, &plan, why), 0);
        assert_false(plan.unshare_flags & CLONE_NEWNET);
        assert_false(plan.lo_up);
        assert_int_equal(plan.netns_fd, 7);
        corral_policy_free(p);
}

static char host_dir[] = "/var/lib/corral-test-ns-XXXXXX";

/* In the child, after the plan: 0, or the number of the check that failed. */
static int checks(void) {
        char path[256];
        int fd;

        fd = open("/usr/corral-test-write", O_WRONLY | O_CREAT, 0600);
        if (fd >= 0 || errno != EROFS)
                return 1;
        fd = open("/etc/corral-test-write", O_WRONLY | O_CREAT, 0600);
        if (fd >= 0 || errno != EROFS)
                return 2;
        fd = open("/tmp/left-behind", O_WRONLY | O_CREAT, 0600);
        if (fd < 0 || write(fd, "x", 1) != 1)
                return 3;
        close(fd);
        snprintf(path, sizeof path, "%s/rw/ok", host_dir);
        fd = open(path, O_WRONLY | O_CREAT, 0600);
        if (fd < 0)
                return 4;
        close(fd);
        snprintf(path, sizeof path, "%s/hidden/secret", host_dir);
        if (access(path, F_OK) == 0 || errno != ENOENT)
                return 5;
        snprintf(path, sizeof path, "%s/hidden-file", host_dir);
        char buf[16];
        fd = open(path, O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) != 0)
                return 6;
        return 0;
}

static void test_strict(void **state) {
        corral_policy *p;
        ns_plan plan;
        char why[NS_WHY_MAX] = "", path[256];
        int status, detail, err;
        FILE *f;

        if (geteuid() != 0)
                skip();
        assert_non_null(mkdtemp(host_dir));
        snprintf(path, sizeof path, "%s/rw", host_dir);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/hidden", host_dir);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/hidden/secret", host_dir);
        assert_non_null(f = fopen(path, "w"));
        fclose(f);
        snprintf(path, sizeof path, "%s/hidden-file", host_dir);
        assert_non_null(f = fopen(path, "w"));
        fputs("secret", f);
        fclose(f);
        unlink("/tmp/left-behind");

        assert_int_equal(corral_policy_new(&p), 0);
        p->iso.protect_system = POLICY_PROTECT_SYSTEM_STRICT;
        p->iso.private_tmp = true;
        snprintf(path, sizeof path, "%s/rw", host_dir);
        add_path(&p->iso.read_write, path);
        snprintf(path, sizeof path, "%s/hidden", host_dir);
        add_path(&p->iso.inaccessible, path);
        snprintf(path, sizeof path, "%s/hidden-file", host_dir);
        add_path(&p->iso.inaccessible, path);
        if (ns_plan_build(p, -1, &plan, why) < 0)
                fail_msg("plan: %s", why);

        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if ((err = ns_child_enter(&plan, &detail)) != 0)
                        _exit(100);
                if ((err = ns_child_mount(&plan, &detail)) != 0) {
                        fprintf(stderr, "mount %d (%s): %s\n", detail, plan.mounts[detail].path, strerror(err));
                        _exit(101);
                }
                _exit(checks());
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* the run's /tmp went with its namespace; the host's never saw the file */
        assert_int_equal(access("/tmp/left-behind", F_OK), -1);
        snprintf(path, sizeof path, "%s/rw/ok", host_dir);
        assert_int_equal(access(path, F_OK), 0);
        assert_int_equal(access("/usr/corral-test-write", F_OK), -1);

        snprintf(path, sizeof path, "rm -rf '%s'", host_dir);
        assert_int_equal(system(path), 0);
        corral_policy_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_checks),
                cmocka_unit_test(test_strict),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
