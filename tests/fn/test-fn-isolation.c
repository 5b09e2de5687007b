/* SPDX-License-Identifier: MIT */
/*
 * test-fn-isolation START_METHOD BACKEND: function runs (corral_run_fn) under the
 * isolation keys, with real hostile functions, each with its verdict and evidence:
 * ptrace(PTRACE_TRACEME), socket(AF_INET) + connect, unshare(CLONE_NEWUSER),
 * kill(-1, 0) and tgkill of another process under a filter (syscall_denied, evidence
 * name/nr/arch); the result channel under a bare allow-list; the function never holds
 * its own seccomp listener; an errno answer; a crash and abort() under a filter are
 * still crashes with their report; a write to /usr under ProtectSystem=strict (EROFS);
 * a file left in a private /tmp is gone after the run; under PrivateNetwork only lo,
 * up, and no route out; PrivateIPC; DynamicUser=; PrivatePIDs= refused naming the key;
 * the shipped `function` policy; and (the forkserver's worry) a run with a filter and
 * namespaces followed by one without in the same server, which may do what the first
 * could not. Namespaces, DynamicUser= need root: SKIP otherwise.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fntest.h"

/* ---- the functions under test (not static: crash reports name them) ---- */

void fn_ptrace(const void *in, size_t len, corral_out *out);
void fn_inet(const void *in, size_t len, corral_out *out);
void fn_userns(const void *in, size_t len, corral_out *out);
void fn_kill_all(const void *in, size_t len, corral_out *out);
void fn_tgkill_parent(const void *in, size_t len, corral_out *out);
void fn_echo(const void *in, size_t len, corral_out *out);
void fn_stdout(const void *in, size_t len, corral_out *out);
void fn_listener(const void *in, size_t len, corral_out *out);
void crash_in_filter(void);
void fn_segv(const void *in, size_t len, corral_out *out);
void abort_in_filter(void);
void fn_abort(const void *in, size_t len, corral_out *out);
void fn_write_usr(const void *in, size_t len, corral_out *out);
void fn_leave_tmp(const void *in, size_t len, corral_out *out);
void fn_links(const void *in, size_t len, corral_out *out);
void fn_ns_ids(const void *in, size_t len, corral_out *out);
void fn_ids(const void *in, size_t len, corral_out *out);

static void out_str(corral_out *out, const char *s) {
        corral_out_write(out, s, strlen(s));
}

static void out_errno(corral_out *out, long r) {
        char buf[64];
        snprintf(buf, sizeof buf, "%ld %s", r, r < 0 ? strerrorname_np(errno) : "-");
        out_str(out, buf);
}

void fn_ptrace(const void *in, size_t len, corral_out *out) {
        out_errno(out, ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

/* socket(AF_INET) + connect to a documentation address (TEST-NET-1): never reachable. */
void fn_inet(const void *in, size_t len, corral_out *out) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
                out_str(out, "socket ");
                out_errno(out, fd);
                return;
        }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
        inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
        out_str(out, "connect ");
        out_errno(out, connect(fd, (struct sockaddr *) &a, sizeof a));
        close(fd);
}

void fn_userns(const void *in, size_t len, corral_out *out) {
        out_errno(out, unshare(CLONE_NEWUSER));
}

/* Signal 0: only asks whether it could. Harmless even where nothing stops it. */
void fn_kill_all(const void *in, size_t len, corral_out *out) {
        out_errno(out, kill(-1, 0));
}

void fn_tgkill_parent(const void *in, size_t len, corral_out *out) {
        pid_t pp = getppid();
        out_errno(out, syscall(SYS_tgkill, pp, pp, 0));
}

void fn_echo(const void *in, size_t len, corral_out *out) {
        corral_out_write(out, in, len);
}

void fn_stdout(const void *in, size_t len, corral_out *out) {
        out_errno(out, write(1, "x\n", 2));
}

/* Which of our fds is a seccomp listener (there must be none), and fd 7. */
void fn_listener(const void *in, size_t len, corral_out *out) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        char buf[256] = "listeners:";
        while (d && (e = readdir(d))) {
                char path[300], target[256] = "";
                snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n > 0 && strstr(target, "seccomp"))
                        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %s", e->d_name);
        }
        if (d)
                closedir(d);
        out_str(out, buf);
}

__attribute__((noinline)) void crash_in_filter(void) {
        int *volatile bad = (int *) 16;
        *bad = 1;
}

void fn_segv(const void *in, size_t len, corral_out *out) {
        crash_in_filter();
}

__attribute__((noinline)) void abort_in_filter(void) {
        abort();
}

void fn_abort(const void *in, size_t len, corral_out *out) {
        abort_in_filter();
}

void fn_write_usr(const void *in, size_t len, corral_out *out) {
        char path[64];
        snprintf(path, sizeof path, "/usr/corral-fn-test-%d", (int) getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        out_errno(out, fd);
        if (fd >= 0) {
                close(fd);
                unlink(path);
        }
}

/* Leaves a file in /tmp and says its name and how many entries /tmp had before. */
void fn_leave_tmp(const void *in, size_t len, corral_out *out) {
        int n = 0;
        DIR *d = opendir("/tmp");
        struct dirent *e;
        while (d && (e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
                        n++;
        if (d)
                closedir(d);
        char path[64], buf[128];
        snprintf(path, sizeof path, "/tmp/corral-fn-left-%d", (int) getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
                (void) !write(fd, "left\n", 5);
                close(fd);
        }
        snprintf(buf, sizeof buf, "%s %d %s", path, n, fd >= 0 ? "written" : strerrorname_np(errno));
        out_str(out, buf);
}

/* ip link: every link (if_nameindex: rtnetlink) and whether it is up. */
void fn_links(const void *in, size_t len, corral_out *out) {
        struct if_nameindex *ifs = if_nameindex();
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        char buf[512] = "";
        for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
                struct ifreq ifr = {};
                snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
                bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s:%s", buf[0] ? " " : "", i->if_name,
                         up ? "up" : "down");
        }
        if (ifs)
                if_freenameindex(ifs);
        if (s >= 0)
                close(s);
        out_str(out, buf[0] ? buf : "(none)");
}

/* The namespaces we are in (net, mnt, ipc inode numbers). */
void fn_ns_ids(const void *in, size_t len, corral_out *out) {
        char buf[128];
        struct stat n = {}, m = {}, i = {};
        stat("/proc/self/ns/net", &n);
        stat("/proc/self/ns/mnt", &m);
        stat("/proc/self/ns/ipc", &i);
        snprintf(buf, sizeof buf, "%lu %lu %lu", (unsigned long) n.st_ino, (unsigned long) m.st_ino,
                 (unsigned long) i.st_ino);
        out_str(out, buf);
}

void fn_ids(const void *in, size_t len, corral_out *out) {
        char buf[64];
        snprintf(buf, sizeof buf, "%u %u", (unsigned) getuid(), (unsigned) getgid());
        out_str(out, buf);
}

void fn_sleep_forever(const void *in, size_t len, corral_out *out);
void fn_sleep_forever(const void *in, size_t len, corral_out *out) {
        for (;;)
                pause();
}

/* ---- helpers ---- */

static corral_job *run(corral_policy *p, corral_fn fn, const void *in, size_t len) {
        corral_job *job = NULL;
        corral_diag d;
        int r = corral_run_fn(p, fn, in, len, &job, &d);
        corral_policy_free(p);
        if (r < 0) {
                tap_fail("corral_run_fn: %s (%s)", strerror(-r), d.message);
                return NULL;
        }
        return job;
}

static const char *output(const corral_result *r) {
        return r && r->fn_output.data ? (const char *) r->fn_output.data : "(null)";
}

static bool streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static bool root(void) {
        return geteuid() == 0;
}

/* How this process gets namespaces: as root, through a user namespace of each run's
 * own (not root, where the kernel allows it), or not at all (then those points SKIP). */
static corral_namespaces ns_how = CORRAL_NAMESPACES_NONE;
static char ns_why[256] = "";

static bool have_ns(void) {
        return ns_how != CORRAL_NAMESPACES_NONE;
}

/* What enforcement says for a namespace setting here: "mount-ns", or "user-ns+mount-ns". */
static bool enforced_by(const char *got, const char *want) {
        char full[64];
        snprintf(full, sizeof full, "%s%s", ns_how == CORRAL_NAMESPACES_USER ? "user-ns+" : "", want);
        return got && strcmp(got, full) == 0;
}

#define SKIP_WITHOUT_NS(desc)                                                       \
        if (!have_ns()) {                                                           \
                tap_skip(desc, ns_why[0] ? ns_why : "no namespaces for this process"); \
                return;                                                             \
        }

/* A run the filter ended: status, signal, exit code and the evidence. */
static void expect_denied(const corral_result *r, const char *name, int nr) {
        expect(r && r->status == CORRAL_STATUS_SYSCALL_DENIED, "status %s", ft_status(r));
        if (!r)
                return;
        expect(r->signal == SIGKILL, "signal %d", r->signal);
        expect(r->syscall_denied.denied && streq(r->syscall_denied.name, name), "evidence name '%s', want %s",
               r->syscall_denied.name, name);
        expect(nr < 0 || r->syscall_denied.nr == nr, "evidence nr %d, want %d", r->syscall_denied.nr, nr);
        expect(streq(r->syscall_denied.arch, "x86_64") || streq(r->syscall_denied.arch, "aarch64"),
               "evidence arch %s", r->syscall_denied.arch);
        expect(r->syscall_denied.errno_answer == 0, "errno answer %d (want the kill)", r->syscall_denied.errno_answer);
        expect(streq(r->isolation.syscall_filter, "seccomp"), "enforcement.syscall_filter %s",
               r->isolation.syscall_filter ? r->isolation.syscall_filter : "(null)");
        expect(streq(r->isolation.no_new_privileges, "prctl"), "enforcement.no_new_privileges %s",
               r->isolation.no_new_privileges ? r->isolation.no_new_privileges : "(null)");
        expect(ft_backend_is(r), "backend %s", corral_backend_to_string(r->backend));
}

static void t_denied(const char *what, const char *filter, corral_fn fn, const char *name, int nr) {
        char kv[256];
        tap_begin("%s under SystemCallFilter=%s: syscall_denied, evidence %s", what, filter, name);
        snprintf(kv, sizeof kv, "SystemCallFilter=%s", filter);
        corral_job *job = run(ft_policy(kv, NULL), fn, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect_denied(r, name, nr);
        ft_dump(r);
        corral_job_free(job);
}

static corral_job *run_ok(corral_policy *p, corral_fn fn, const char *in, const char **ret_out) {
        corral_job *job = run(p, fn, in, in ? strlen(in) : 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_OK, "status %s (%s)", ft_status(r), r ? r->error : "");
        *ret_out = output(r);
        return job;
}

/* ---- the test points ---- */

static void t_channel_allow_list(void) {
        tap_begin("SystemCallFilter=@default (nothing to write with): the result still comes back whole");
        static char big[200 * 1024];
        memset(big, 'z', sizeof big);
        big[sizeof big - 1] = '\0';
        const char *o;
        corral_job *job = run_ok(ft_policy("SystemCallFilter=@default", NULL), fn_echo, big, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->fn_output.size == sizeof big - 1 && streq(o, big), "output of %zu bytes",
               r ? r->fn_output.size : 0);
        expect(r && !r->syscall_denied.denied, "the result channel was denied: %s", r ? r->syscall_denied.name : "");
        ft_dump(r);
        corral_job_free(job);

        tap_begin("SystemCallFilter=@default: a write to stdout (not the channel) is denied");
        job = run(ft_policy("SystemCallFilter=@default", NULL), fn_stdout, NULL, 0);
        r = job ? corral_job_result(job) : NULL;
        expect_denied(r, "write", 1);
        ft_dump(r);
        corral_job_free(job);
}

static void t_no_listener(void) {
        tap_begin("under a filter the function holds no seccomp listener of its own");
        const char *o;
        corral_job *job = run_ok(ft_policy("SystemCallFilter=~@debug", NULL), fn_listener, NULL, &o);
        expect(streq(o, "listeners:"), "output '%s'", o);
        ft_dump(job ? corral_job_result(job) : NULL);
        corral_job_free(job);
}

static void t_errno_answer(void) {
        tap_begin("SystemCallErrorNumber=EPERM: socket() fails with EPERM, the run is ok, evidence says so");
        const char *o;
        corral_job *job = run_ok(ft_policy("SystemCallFilter=~@network-io", "SystemCallErrorNumber=EPERM", NULL),
                                 fn_inet, NULL, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(streq(o, "socket -1 EPERM"), "output '%s'", o);
        expect(r && r->syscall_denied.denied && streq(r->syscall_denied.name, "socket") &&
                       r->syscall_denied.errno_answer == EPERM,
               "evidence %s errno %d", r ? r->syscall_denied.name : "", r ? r->syscall_denied.errno_answer : 0);
        ft_dump(r);
        corral_job_free(job);
}

static void t_crash_under_filter(void) {
        tap_begin("a crash under a filter is still a crash, with its report");
        corral_job *job = run(ft_policy("SystemCallFilter=~@process @network-io", NULL), fn_segv, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SIGNALED && r->signal == SIGSEGV, "status %s signal %d", ft_status(r),
               r ? r->signal : 0);
        expect(r && r->crash_report && strstr(r->crash_report, "SIGSEGV") &&
                       strstr(r->crash_report, "crash_in_filter"),
               "crash report: %s", r && r->crash_report ? r->crash_report : "(none)");
        expect(r && !r->syscall_denied.denied, "denied: %s", r ? r->syscall_denied.name : "");
        ft_dump(r);
        corral_job_free(job);

        tap_begin("a crash under a bare allow-list (SystemCallFilter=@default): still a crash, with its report");
        job = run(ft_policy("SystemCallFilter=@default", NULL), fn_segv, NULL, 0);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SIGNALED && r->signal == SIGSEGV, "status %s signal %d", ft_status(r),
               r ? r->signal : 0);
        expect(r && r->crash_report && strstr(r->crash_report, "crash_in_filter"), "crash report: %s",
               r && r->crash_report ? r->crash_report : "(none)");
        ft_dump(r);
        corral_job_free(job);

        tap_begin("abort() under a filter denying @process (tgkill of itself is the channel's): SIGABRT, report");
        job = run(ft_policy("SystemCallFilter=~@process @network-io", NULL), fn_abort, NULL, 0);
        r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SIGNALED && r->signal == SIGABRT, "status %s signal %d", ft_status(r),
               r ? r->signal : 0);
        expect(r && r->crash_report && strstr(r->crash_report, "abort_in_filter"), "crash report: %s",
               r && r->crash_report ? r->crash_report : "(none)");
        ft_dump(r);
        corral_job_free(job);
}

static void t_protect_system(void) {
        SKIP_WITHOUT_NS("ProtectSystem=strict");
        tap_begin("ProtectSystem=strict: creating a file in /usr fails with EROFS");
        const char *o;
        corral_job *job = run_ok(ft_policy("ProtectSystem=strict", NULL), fn_write_usr, NULL, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(streq(o, "-1 EROFS"), "output '%s'", o);
        expect(r && enforced_by(r->isolation.protect_system, "mount-ns"), "enforcement.protect_system %s",
               r && r->isolation.protect_system ? r->isolation.protect_system : "(null)");
        ft_dump(r);
        corral_job_free(job);
}

static void t_private_tmp(void) {
        SKIP_WITHOUT_NS("PrivateTmp=yes");
        tap_begin("PrivateTmp=yes (with ProtectSystem=strict): a file left in /tmp is gone after the run");
        const char *o;
        corral_job *job = run_ok(ft_policy("PrivateTmp=yes", "ProtectSystem=strict", NULL), fn_leave_tmp, NULL, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        char path[64] = "";
        int n = -1;
        char state[32] = "";
        expect(sscanf(o, "%63s %d %31s", path, &n, state) == 3, "output '%s'", o);
        expect(streq(state, "written"), "the function could not write its file: %s", state);
        expect(n == 0, "the private /tmp had %d entries at the start", n);
        struct stat st;
        expect(path[0] && stat(path, &st) < 0 && errno == ENOENT, "%s is still there after the run", path);
        expect(r && enforced_by(r->isolation.private_tmp, "mount-ns"), "enforcement.private_tmp %s",
               r && r->isolation.private_tmp ? r->isolation.private_tmp : "(null)");
        ft_dump(r);
        corral_job_free(job);
}

static void t_private_network(void) {
        if (!have_ns()) {
                tap_skip("PrivateNetwork=yes", ns_why);
                tap_skip("PrivateNetwork=yes", ns_why);
                return;
        }
        tap_begin("PrivateNetwork=yes: ip link shows only lo, up");
        const char *o;
        corral_job *job = run_ok(ft_policy("PrivateNetwork=yes", NULL), fn_links, NULL, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(streq(o, "lo:up"), "links '%s'", o);
        expect(r && r->isolation.private_network &&
                       (ns_how == CORRAL_NAMESPACES_USER ? streq(r->isolation.private_network, "user-ns+netns")
                                                         : strncmp(r->isolation.private_network, "netns", 5) == 0),
               "enforcement.private_network %s", r && r->isolation.private_network ? r->isolation.private_network : "(null)");
        ft_dump(r);
        corral_job_free(job);

        tap_begin("PrivateNetwork=yes: socket(AF_INET) works, connect to any address outside fails");
        job = run_ok(ft_policy("PrivateNetwork=yes", NULL), fn_inet, NULL, &o);
        expect(streq(o, "connect -1 ENETUNREACH"), "output '%s'", o);
        ft_dump(job ? corral_job_result(job) : NULL);
        corral_job_free(job);
}

static void t_private_ipc(void) {
        SKIP_WITHOUT_NS("PrivateIPC=yes");
        tap_begin("PrivateIPC=yes: the function's ipc namespace is not ours; PrivateNetwork's netns not ours either");
        const char *o;
        unsigned long net = 0, mnt = 0, ipc = 0, my_net = 0, my_mnt = 0, my_ipc = 0;
        struct stat st;
        if (stat("/proc/self/ns/net", &st) == 0)
                my_net = st.st_ino;
        if (stat("/proc/self/ns/mnt", &st) == 0)
                my_mnt = st.st_ino;
        if (stat("/proc/self/ns/ipc", &st) == 0)
                my_ipc = st.st_ino;
        corral_job *job = run_ok(ft_policy("PrivateIPC=yes", "PrivateNetwork=yes", NULL), fn_ns_ids, NULL, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(sscanf(o, "%lu %lu %lu", &net, &mnt, &ipc) == 3, "output '%s'", o);
        expect(ipc && ipc != my_ipc, "ipc ns %lu, ours %lu", ipc, my_ipc);
        expect(net && net != my_net, "net ns %lu, ours %lu", net, my_net);
        expect(mnt && mnt != my_mnt, "mnt ns %lu, ours %lu (PrivateIPC mounts /dev/mqueue)", mnt, my_mnt);
        expect(r && enforced_by(r->isolation.private_ipc, "ipc-ns"), "enforcement.private_ipc %s",
               r && r->isolation.private_ipc ? r->isolation.private_ipc : "(null)");
        ft_dump(r);
        corral_job_free(job);
}

/* The forkserver was forked before any policy: nothing of one run may stay for the next. */
static void t_nothing_stays(void) {
        tap_begin("a filtered run, then an unfiltered one (same %s): the second may ptrace(PTRACE_TRACEME)", ft_start);
        corral_job *job = run(ft_policy("SystemCallFilter=~@debug", NULL), fn_ptrace, NULL, 0);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SYSCALL_DENIED, "first run: status %s", ft_status(r));
        corral_job_free(job);
        const char *o;
        job = run_ok(ft_policy(NULL), fn_ptrace, NULL, &o);
        r = job ? corral_job_result(job) : NULL;
        expect(streq(o, "0 -"), "second run: ptrace said '%s'", o);
        expect(r && !r->syscall_denied.denied && !r->isolation.syscall_filter, "second run had a filter");
        ft_dump(r);
        corral_job_free(job);

        SKIP_WITHOUT_NS("namespaces then none");
        tap_begin("a run with PrivateNetwork/PrivateTmp/PrivateIPC, then one without: back in our namespaces");
        unsigned long first[3] = {}, second[3] = {}, mine[3] = {};
        const char *ns[3] = { "/proc/self/ns/net", "/proc/self/ns/mnt", "/proc/self/ns/ipc" };
        for (int i = 0; i < 3; i++) {
                struct stat st;
                if (stat(ns[i], &st) == 0)
                        mine[i] = st.st_ino;
        }
        job = run_ok(ft_policy("PrivateNetwork=yes", "PrivateTmp=yes", "PrivateIPC=yes", NULL), fn_ns_ids, NULL, &o);
        expect(sscanf(o, "%lu %lu %lu", &first[0], &first[1], &first[2]) == 3, "first output '%s'", o);
        corral_job_free(job);
        job = run_ok(ft_policy(NULL), fn_ns_ids, NULL, &o);
        expect(sscanf(o, "%lu %lu %lu", &second[0], &second[1], &second[2]) == 3, "second output '%s'", o);
        corral_job_free(job);
        for (int i = 0; i < 3; i++) {
                expect(first[i] != mine[i], "%s: the first run was in ours (%lu)", ns[i], mine[i]);
                expect(second[i] == mine[i], "%s: the second run was in %lu, ours is %lu", ns[i], second[i],
                       mine[i]);
        }
}

static void t_dynamic_user(void) {
        if (!root()) {
                tap_skip("DynamicUser=yes", "needs root");
                return;
        }
        tap_begin("DynamicUser=yes: the function runs under a uid of its own from 61184-65519");
        const char *o;
        corral_job *job = run_ok(ft_policy("DynamicUser=yes", NULL), fn_ids, NULL, &o);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        unsigned uid = 0, gid = 0;
        expect(sscanf(o, "%u %u", &uid, &gid) == 2, "output '%s'", o);
        expect(uid >= 61184 && uid <= 65519 && gid == uid, "uid %u gid %u", uid, gid);
        expect(r && streq(r->isolation.user, "dynamic-user") && r->isolation.uid == uid, "enforcement.user %s uid %lld",
               r && r->isolation.user ? r->isolation.user : "(null)", r ? (long long) r->isolation.uid : -1);
        ft_dump(r);
        corral_job_free(job);
}

/* The caller dies (SIGKILL) while its function runs: PR_SET_PDEATHSIG takes the function
 * along (fork: the calling thread is gone; forkserver: the helper sees its caller go and
 * kills it, and dies, which PR_SET_PDEATHSIG turns into the child's death too). On the
 * rlimit rung: no cgroup.kill to help, and no group left behind by the dead caller. */
static void t_dies_with_caller(void) {
        tap_begin("the caller is killed with SIGKILL mid-run: its function's process is gone 1 s later (%s)",
                  ft_start);
        int p[2];
        if (pipe(p) < 0)
                abort();
        pid_t helper = fork();
        if (helper == 0) {
                close(p[0]);
                corral_job *job = NULL;
                corral_diag d;
                if (strcmp(ft_start, "forkserver") == 0 && corral_forkserver_start() < 0)
                        _exit(3);
                corral_policy *pol = ft_policy("Backend=rlimit", NULL);
                if (corral_spawn_fn(pol, fn_sleep_forever, NULL, 0, &job, &d) < 0 || !job)
                        _exit(4);
                pid_t pid = corral_job_pid(job);
                if (write(p[1], &pid, sizeof pid) != (ssize_t) sizeof pid)
                        _exit(5);
                raise(SIGKILL);
        }
        close(p[1]);
        pid_t pid = 0;
        ssize_t n = read(p[0], &pid, sizeof pid);
        close(p[0]);
        int st = 0;
        (void) waitpid(helper, &st, 0);
        expect(n == (ssize_t) sizeof pid && pid > 0, "no function pid from the caller (its status %d)", st);
        expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "caller status %d", st);
        bool gone = false;
        for (int i = 0; pid > 0 && i < 100 && !gone; i++) {
                /* we are the subreaper: a killed function comes back to us as a zombie */
                if (waitpid(pid, NULL, WNOHANG) == pid || (kill(pid, 0) < 0 && errno == ESRCH))
                        gone = true;
                else
                        usleep(10000);
        }
        expect(gone, "function pid %d is still alive 1 s after its caller died", (int) pid);
        if (!gone && pid > 0) {
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
        }
        /* the forkserver helper of the dead caller, re-parented to us: reap it too */
        for (int i = 0; i < 100; i++) {
                pid_t w = waitpid(-1, NULL, WNOHANG);
                if (w <= 0 && ft_zombie_children() == 0)
                        break;
                if (w <= 0)
                        usleep(10000);
        }
}

static void t_private_pids_refused(void) {
        tap_begin("PrivatePIDs=yes: a spawn_error that names the key and why");
        corral_job *job = run(ft_policy("PrivatePIDs=yes", NULL), fn_echo, "x", 1);
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(r && r->status == CORRAL_STATUS_SPAWN_ERROR, "status %s", ft_status(r));
        expect(r && strstr(r->error, "PrivatePIDs=yes") && strstr(r->error, "function"), "error '%s'",
               r ? r->error : "");
        corral_job_free(job);
}

static corral_policy *shipped_function_policy(void) {
        corral_policy *p = ft_policy(NULL);
        corral_diag d;
        if (corral_policy_load(p, "function", &d) < 0) {
                tap_fail("corral_policy_load(function): %s", d.message);
                corral_policy_free(p);
                return NULL;
        }
        return p;
}

static void t_shipped_policy(void) {
        tap_begin("the shipped `function` policy: a function returns its bytes");
        const char *o;
        corral_policy *p = shipped_function_policy();
        corral_job *job = p ? run_ok(p, fn_echo, "parsed", &o) : NULL;
        const corral_result *r = job ? corral_job_result(job) : NULL;
        expect(streq(o, "parsed"), "output '%s'", o);
        expect(r && streq(r->isolation.syscall_filter, "seccomp"), "no filter");
        if (have_ns())
                expect(r && r->isolation.private_network && enforced_by(r->isolation.private_tmp, "mount-ns") &&
                               enforced_by(r->isolation.protect_system, "mount-ns"),
                       "namespaces not enforced");
        else
                expect(r && streq(r->isolation.private_tmp, "none"), "private_tmp %s without namespaces",
                       r && r->isolation.private_tmp ? r->isolation.private_tmp : "(null)");
        ft_dump(r);
        corral_job_free(job);

        static const struct {
                corral_fn fn;
                const char *what, *name;
        } hostile[] = {
                { fn_ptrace, "ptrace(PTRACE_TRACEME)", "ptrace" },
                { fn_inet, "socket(AF_INET) + connect", "socket" },
                { fn_userns, "unshare(CLONE_NEWUSER)", "unshare" },
                { fn_kill_all, "kill(-1, 0)", "kill" },
        };
        for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
                tap_begin("the shipped `function` policy: %s is syscall_denied (%s)", hostile[i].what, hostile[i].name);
                p = shipped_function_policy();
                job = p ? run(p, hostile[i].fn, NULL, 0) : NULL;
                r = job ? corral_job_result(job) : NULL;
                expect_denied(r, hostile[i].name, -1);
                ft_dump(r);
                corral_job_free(job);
        }
}

int main(int argc, char **argv) {
        ft_args(argc, argv);
        bool fs = strcmp(ft_start, "forkserver") == 0;
        if (!fs && strcmp(ft_start, "fork") != 0) {
                fprintf(stderr, "usage: test-fn-isolation fork|forkserver [auto|cgroup2|cgroup2-core|rlimit]\n");
                return 2;
        }
        if (corral_become_subreaper() < 0 || (fs && corral_forkserver_start() < 0)) {
                printf("Bail out! cannot become a subreaper or start the forkserver\n");
                return 1;
        }
        corral_namespaces_report nsr;
        if (corral_doctor_namespaces(&nsr) == 0) {
                ns_how = nsr.how;
                snprintf(ns_why, sizeof ns_why, "%s", nsr.why);
        }
        char *fds_before = ft_fds();
        /* the forkserver's own fds: nothing of a run (memfd, netns, socket) may stay there */
        pid_t server = 0;
        char *server_fds_before = NULL;
        if (fs) {
                int n, z;
                ft_children(getpid(), &n, &z, "corral-forksrv", &server);
                server_fds_before = server > 0 ? ft_fds_of(server) : NULL;
        }

        tap_plan(28);
        tap_diag("start method %s, backend %s, uid %u, namespaces: %s", ft_start, ft_backend, (unsigned) geteuid(),
                 corral_namespaces_to_string(ns_how));
        t_denied("ptrace(PTRACE_TRACEME)", "~@debug", fn_ptrace, "ptrace", SYS_ptrace);
        t_denied("socket(AF_INET) + connect", "~@network-io", fn_inet, "socket", SYS_socket);
        t_denied("unshare(CLONE_NEWUSER)", "~@process", fn_userns, "unshare", SYS_unshare);
        t_denied("kill(-1, 0)", "~kill", fn_kill_all, "kill", SYS_kill);
        t_denied("tgkill of the parent", "~@process", fn_tgkill_parent, "tgkill", SYS_tgkill);
        t_channel_allow_list();
        t_no_listener();
        t_errno_answer();
        t_crash_under_filter();
        t_protect_system();
        t_private_tmp();
        t_private_network();
        t_private_ipc();
        t_nothing_stays();
        t_dynamic_user();
        t_private_pids_refused();
        t_dies_with_caller();
        t_shipped_policy();

        tap_begin("no fd left open (ours%s), no zombie left", fs ? " and the forkserver's" : "");
        char *fds_after = ft_fds();
        expect(strcmp(fds_before, fds_after) == 0, "fds before: %s", fds_before);
        if (strcmp(fds_before, fds_after) != 0)
                tap_fail("fds after:  %s", fds_after);
        expect(ft_zombie_children() == 0, "zombie children");
        if (fs) {
                /* The server sends a child's end, then closes its pidfd and channel: the
                 * last run's result can be here a moment before those two are gone. */
                char *server_fds_after = NULL;
                for (int i = 0; i < 100 && server > 0; i++) {
                        free(server_fds_after);
                        server_fds_after = ft_fds_of(server);
                        if (server_fds_before && strcmp(server_fds_before, server_fds_after) == 0)
                                break;
                        usleep(10000);
                }
                expect(server_fds_before && server_fds_after && strcmp(server_fds_before, server_fds_after) == 0,
                       "the forkserver's fds before: %s after: %s", server_fds_before ? server_fds_before : "?",
                       server_fds_after ? server_fds_after : "?");
                free(server_fds_after);
        }
        free(server_fds_before);
        free(fds_before);
        free(fds_after);
        if (fs)
                corral_forkserver_stop();
        return tap_finish();
}
