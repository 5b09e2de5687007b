/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: corrald's method handling, what src/daemon/ does with a decoded call
 * (methods.c: dispatch, Run's parameter checks, the root-only keys, CGroupBase=,
 * Kill/List/Ping/Doctor/GetInfo/GetInterfaceDescription and their error replies; auth.c
 * and config.c: the quotas). The real handler runs with a fake server_ops, so a Run that
 * passes every check reaches fake_start() instead of a spawn, and Doctor a canned report.
 *
 * Input: a config byte (which corrald.conf of four, start failures, a stopping daemon),
 * one credentials byte per fake client (uid, gid, supplementary groups: SO_PEERCRED's
 * share), then records "CTL MESSAGE \0": CTL picks the client (of 4), whether it
 * reconnects first (its running job is orphaned and keeps counting against its quota)
 * and how many fds of which kinds ride on the message's first byte (SCM_RIGHTS over a
 * real socketpair, read by vl_conn_read as corrald reads). A client with a running job
 * first sees it end (the server answers calls in order).
 *
 * Checks, per call: a oneway call gets no reply; a Run that reached fake_start gets no
 * reply (or one "continues" reply with its id when it asked for more); every other call
 * gets exactly one reply, and a refused Run's is an error; every error names an error of
 * io.corral.Sandbox's IDL (the one served by GetInterfaceDescription) or of
 * org.varlink.service, with an object for its parameters. At fake_start: argv and its
 * first word are non-empty, CGroupBase= is unset, the run has the caller's credentials,
 * the daemon is not stopping and below [Daemon] Jobs=, the caller's caps hold (a
 * reference reading of corrald.conf's keys), and for a non-root caller NoNewPrivileges
 * is on and no root-only key differs from what the named policy (the administrator's)
 * set. Under ASan, libFuzzer's -detect_leaks finds memory a call leaked; the lowest free
 * fd before and after an input finds a leaked fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr.h"
#include "corrald.h"
#include "fuzz.h"
#include "policy.h"

#define N_CLIENTS 4
#define N_FD_KINDS 8

extern const char corrald_idl_sandbox[];

static const uid_t uids[8] = { 0, 1000, 1001, 65534, 59999, 1, 4294967294u, 100 };
static const gid_t gids[4] = { 0, 100, 1000, 65534 };
static const gid_t group_sets[4][3] = { { 0 }, { 100 }, { 27, 1000 }, { 0, 100, 1000 } };
static const size_t group_counts[4] = { 0, 1, 2, 3 };

static const char *const configs[4] = {
        "",
        "[Quota]\nJobs=2\nMemoryMax=1G\nTasksMax=64\nRuntimeMaxSec=60\n[User 1000]\nMemoryMaxTotal=1536M\n",
        "[Daemon]\nJobs=3\n[Group 100]\nJobs=1\nMemoryMax=256M\n[User 0]\nJobs=2\nRuntimeMaxSec=10s\n",
        "[Quota]\nMemoryMaxTotal=512M\nJobs=infinity\n[User 1001]\nMemoryMax=infinity\nTasksMax=16\n",
};

static const char *const service_errors[] = {
        "org.varlink.service.InterfaceNotFound", "org.varlink.service.MethodNotFound",
        "org.varlink.service.MethodNotImplemented", "org.varlink.service.InvalidParameter",
        "org.varlink.service.PermissionDenied", "org.varlink.service.ExpectedMore",
};

static struct {
        bool ready;
        config cfg[4];
        int kinds[N_FD_KINDS];
        char sandbox_errors[32][96];
        size_t n_sandbox_errors;
} G;

/* What the current call did at the seam. */
static struct {
        client *caller;
        const vl_call *call;
        bool started;
        bool fail_start;
        bool fail_doctor;
} cur;

static void init_once(void) {
        if (G.ready)
                return;
        G.ready = true;
        /* The shipped policies, and the fixtures: policies that set root-only keys. */
        setenv("CORRAL_POLICY_PATH", FUZZ_SOURCE_DIR "/policies:" FUZZ_TOP_DIR "/policies", 1);
        for (int i = 0; i < 4; i++) {
                int fd = memfd_create("corrald.conf", MFD_CLOEXEC);
                fuzz_check(fd >= 0, "memfd_create");
                size_t len = strlen(configs[i]);
                fuzz_check(write(fd, configs[i], len) == (ssize_t) len, "write");
                char path[64], why[512] = "";
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                fuzz_check(config_load(path, true, &G.cfg[i], why, sizeof why) == 0, "config %d: %s", i, why);
                close(fd);
        }
        int pipefd[2];
        fuzz_check(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
        G.kinds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        G.kinds[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
        G.kinds[2] = open("/dev/null", O_RDWR | O_CLOEXEC);
        G.kinds[3] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        G.kinds[4] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        G.kinds[5] = open("/dev/null", O_PATH | O_CLOEXEC);
        G.kinds[6] = pipefd[0];
        G.kinds[7] = pipefd[1];
        for (int i = 0; i < N_FD_KINDS; i++)
                fuzz_check(G.kinds[i] >= 0, "fd kind %d", i);
        /* The errors the interface declares, from the IDL corrald serves. */
        for (const char *l = corrald_idl_sandbox; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                char name[64];
                if (sscanf(l, "error %63[A-Za-z0-9]", name) == 1 && G.n_sandbox_errors < 32)
                        snprintf(G.sandbox_errors[G.n_sandbox_errors++], 96, "io.corral.Sandbox.%s", name);
        }
        fuzz_check(G.n_sandbox_errors >= 6, "only %zu errors in the IDL", G.n_sandbox_errors);
}

static bool known_error(const char *e) {
        for (size_t i = 0; i < G.n_sandbox_errors; i++)
                if (strcmp(e, G.sandbox_errors[i]) == 0)
                        return true;
        for (size_t i = 0; i < sizeof service_errors / sizeof *service_errors; i++)
                if (strcmp(e, service_errors[i]) == 0)
                        return true;
        return false;
}

/* A job ends (the real loop: its fd said so): its owner gets its final reply. */
static void finish_job(server *s, djob *j) {
        client *c = j->owner;
        if (j->prev)
                j->prev->next = j->next;
        else
                s->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        s->n_jobs--;
        if (c) {
                c->run = NULL;
                if (j->reply) {
                        c->vl.out_off = c->vl.out_len = 0;
                        methods_send_result(c, j, false);
                        /* a fake job has no result: one Unavailable error, nothing else */
                        fuzz_check(c->vl.out_len > 0 && memchr(c->vl.out, '\0', c->vl.out_len) ==
                                                                 c->vl.out + c->vl.out_len - 1,
                                   "the final reply of a run is not one message");
                        c->vl.out_off = c->vl.out_len = 0;
                }
        }
        for (char **a = j->argv; *a; a++)
                free(*a);
        free(j->argv);
        free(j);
}

/* The caps config_quota_for() gives the caller, checked against what reached the seam. */
static void check_quota(server *s, const client *c, const corral_policy *p) {
        quota q;
        config_quota_for(&s->cfg, c->vl.uid, c->vl.gid, c->vl.groups, c->vl.n_groups, &q);
        uint64_t running = 0, sum = 0;
        bool unbounded = false;
        for (djob *j = s->jobs; j; j = j->next)
                if (j->uid == c->vl.uid) {
                        running++;
                        if (j->memory_max == CORRAL_INFINITY)
                                unbounded = true;
                        else
                                sum += j->memory_max;
                }
        fuzz_check(q.jobs == CORRAL_INFINITY || running < q.jobs, "uid %u: %lu running, Jobs=%lu",
                   (unsigned) c->vl.uid, (unsigned long) running, (unsigned long) q.jobs);
        fuzz_check(q.memory_max == CORRAL_INFINITY || p->memory_max <= q.memory_max, "MemoryMax %lu over cap %lu",
                   (unsigned long) p->memory_max, (unsigned long) q.memory_max);
        fuzz_check(q.tasks_max == CORRAL_INFINITY || p->tasks_max <= q.tasks_max, "TasksMax %lu over cap %lu",
                   (unsigned long) p->tasks_max, (unsigned long) q.tasks_max);
        fuzz_check(q.runtime_max_usec == CORRAL_INFINITY || p->runtime_max_usec <= q.runtime_max_usec,
                   "RuntimeMaxSec %lu over cap %lu", (unsigned long) p->runtime_max_usec,
                   (unsigned long) q.runtime_max_usec);
        if (q.memory_total != CORRAL_INFINITY)
                fuzz_check(!unbounded && p->memory_max != CORRAL_INFINITY && sum + p->memory_max <= q.memory_total,
                           "MemoryMaxTotal %lu: %lu running + %lu", (unsigned long) q.memory_total,
                           (unsigned long) sum, (unsigned long) p->memory_max);
}

/* The root-only keys of a policy must be what the administrator's named policy says. */
static void check_root_only(const corral_policy *p, const vl_call *call) {
        corral_policy *ref = NULL;
        corral_diag diag;
        fuzz_check(corral_policy_new(&ref) == 0, "corral_policy_new");
        const char *name = json_string_value(json_object_get(call->parameters, "policy"));
        if (name)
                fuzz_check(corral_policy_load_name(ref, name, &diag) == 0, "policy %s loads at the seam, not here: %s",
                           name, diag.message);
        fuzz_check(p->backend == ref->backend, "a non-root caller set Backend=%s",
                   corral_backend_to_string(p->backend));
        fuzz_check(p->iso.dynamic_user == ref->iso.dynamic_user, "a non-root caller set DynamicUser=");
        fuzz_check(p->iso.user_set == ref->iso.user_set && p->iso.uid == ref->iso.uid, "a non-root caller set User=");
        fuzz_check(p->iso.group_set == ref->iso.group_set && p->iso.gid == ref->iso.gid,
                   "a non-root caller set Group=");
        corral_policy_free(ref);
}

static int fake_start(server *s, djob *j, const corral_policy *p, const corral_spawn_attr *attr,
                      corral_diag *diag) {
        client *c = cur.caller;
        fuzz_check(c && cur.call && !cur.started, "a start outside a Run call, or two in one");
        fuzz_check(strcmp(cur.call->method, "io.corral.Sandbox.Run") == 0, "%s started a job", cur.call->method);
        fuzz_check(j->argv && j->argv[0] && j->argv[0][0], "a run without a command");
        fuzz_check(j->uid == c->vl.uid && j->gid == c->vl.gid, "the job is not the caller's");
        fuzz_check(attr->has_credentials && attr->uid == c->vl.uid && attr->gid == c->vl.gid &&
                           attr->n_groups == c->vl.n_groups,
                   "the run does not get the caller's credentials");
        fuzz_check(attr->n_groups == 0 || memcmp(attr->groups, c->vl.groups, attr->n_groups * sizeof(gid_t)) == 0,
                   "the run does not get the caller's groups");
        for (int i = 0; i < 3; i++)
                fuzz_check(attr->stdio[i] >= 0, "stdio %d is the daemon's own", i);
        fuzz_check(p->cgroup_base[0] == '\0', "a request set CGroupBase=%s", p->cgroup_base);
        fuzz_check(!s->stopping, "a run started while stopping");
        fuzz_check(s->n_jobs < s->cfg.max_jobs, "a run past [Daemon] Jobs=");
        if (c->vl.uid != 0) {
                fuzz_check(p->no_new_privileges, "a non-root caller's run without NoNewPrivileges");
                check_root_only(p, cur.call);
        }
        check_quota(s, c, p);
        cur.started = true;
        if (cur.fail_start) {
                snprintf(diag->message, sizeof diag->message, "fuzz: no spawn");
                return -EAGAIN;
        }
        /* What server_add_job does, without a job fd to watch. */
        j->id = ++s->next_job_id;
        snprintf(j->id_str, sizeof j->id_str, "%lu", (unsigned long) j->id);
        j->next = s->jobs;
        if (s->jobs)
                s->jobs->prev = j;
        s->jobs = j;
        s->n_jobs++;
        return 0;
}

static int fake_doctor(const corral_policy *p, corral_doctor_report *ret) {
        fuzz_check(p != NULL, "doctor without a policy");
        if (cur.fail_doctor)
                return -EIO;
        *ret = (corral_doctor_report){ .chosen = CORRAL_BACKEND_CGROUP2_CORE };
        snprintf(ret->reason[CORRAL_BACKEND_CGROUP2], sizeof ret->reason[0], "no memory controller");
        snprintf(ret->cgroup_base, sizeof ret->cgroup_base, "/sys/fs/cgroup/fuzz");
        return 0;
}

static const server_ops fake_ops = { .start = fake_start, .doctor = fake_doctor };

typedef struct fake_client {
        client c;
        int peer; /* the client's end of the socketpair */
} fake_client;

static void connect_client(server *s, fake_client *f, uint8_t cred) {
        int sv[2];
        fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
        int size = 1 << 20;
        (void) setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        *f = (fake_client){ .peer = sv[0] };
        fuzz_check(vl_conn_init(&f->c.vl, sv[1], false) == 0, "vl_conn_init");
        f->c.vl.uid = uids[cred & 7];
        f->c.vl.gid = gids[(cred >> 3) & 3];
        size_t n = group_counts[(cred >> 5) & 3];
        if (n > 0) {
                f->c.vl.groups = malloc(n * sizeof(gid_t));
                fuzz_check(f->c.vl.groups, "malloc");
                memcpy(f->c.vl.groups, group_sets[(cred >> 5) & 3], n * sizeof(gid_t));
                f->c.vl.n_groups = n;
        }
        f->c.w = (watch){ WATCH_CLIENT, sv[1] };
        f->c.s = s;
        f->c.serial = ++s->next_client_serial;
        s->n_clients++;
}

/* server_client_close's part that matters here: its running job is orphaned. */
static void disconnect_client(server *s, fake_client *f) {
        if (f->c.run) {
                f->c.run->owner = NULL;
                f->c.run->orphaned = true;
                f->c.run = NULL;
        }
        vl_conn_done(&f->c.vl);
        close(f->peer);
        s->n_clients--;
}

static void send_message(fake_client *f, const uint8_t *msg, size_t len, unsigned n_fds, unsigned kind0) {
        int fds[16];
        for (unsigned i = 0; i < n_fds; i++)
                fds[i] = G.kinds[(kind0 + i) % N_FD_KINDS];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof fds)];
        } control = {};
        struct iovec iov = { (void *) msg, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        ssize_t k = sendmsg(f->peer, &mh, MSG_NOSIGNAL);
        fuzz_check(k == (ssize_t) len, "sendmsg: %zd of %zu", k, len);
}

/* The replies one call queued: count them and check each. */
static void check_replies(const client *c, const vl_call *call, bool started) {
        size_t n = 0;
        bool first_error = false, first_continues = false;
        json_t *first = NULL;
        fuzz_check(c->vl.n_out_fds == 0, "a reply with fds");
        fuzz_check(!c->closing, "a reply could not be queued");
        for (size_t off = 0; off < c->vl.out_len;) {
                const char *m = c->vl.out + off;
                size_t len = strlen(m);
                json_error_t err;
                json_t *o = json_loadb(m, len, 0, &err);
                fuzz_check(json_is_object(o), "reply %zu is not a JSON object: %s", n, err.text);
                json_t *e = json_object_get(o, "error");
                fuzz_check(json_is_object(json_object_get(o, "parameters")), "reply %zu without parameters", n);
                if (e) {
                        fuzz_check(json_is_string(e) && known_error(json_string_value(e)),
                                   "error reply names no declared varlink error: %s", m);
                        fuzz_check(!json_object_get(o, "continues"), "an error that continues");
                        if (strcmp(json_string_value(e), "io.corral.Sandbox.InvalidParameter") == 0 ||
                            strcmp(json_string_value(e), "org.varlink.service.InvalidParameter") == 0)
                                fuzz_check(json_is_string(json_object_get(json_object_get(o, "parameters"), "parameter")),
                                           "InvalidParameter without the parameter's name: %s", m);
                }
                if (n == 0) {
                        first = json_incref(o);
                        first_error = e != NULL;
                        first_continues = json_is_true(json_object_get(o, "continues"));
                }
                json_decref(o);
                n++;
                off += len + 1;
        }
        const char *method = call->method;
        if (call->oneway)
                fuzz_check(n == 0, "%s: a oneway call got %zu replies", method, n);
        else if (started && call->more) {
                fuzz_check(n == 1 && first_continues && !first_error, "%s: a started run with more: %zu replies",
                           method, n);
                fuzz_check(json_is_string(json_object_get(json_object_get(first, "parameters"), "id")),
                           "the started reply has no id");
        } else if (started)
                fuzz_check(n == 0, "%s: a started run got %zu replies before its result", method, n);
        else {
                fuzz_check(n == 1, "%s: %zu replies to one call", method, n);
                fuzz_check(!first_continues, "%s: a single reply that continues", method);
                if (strcmp(method, "io.corral.Sandbox.Run") == 0)
                        fuzz_check(first_error, "a Run that started nothing got no error");
        }
        json_decref(first);
}

static int lowest_free_fd(void) {
        int fd = dup(0);
        fuzz_check(fd >= 0, "dup");
        close(fd);
        return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 + N_CLIENTS || size > 65536)
                return 0;
        init_once();
        int fd_mark = lowest_free_fd();

        server s = { .ops = &fake_ops, .epfd = -EBADF, .cfg = G.cfg[data[0] & 3], .stopping = data[0] & 4 };
        s.start_usec = clock_usec();
        cur = (typeof(cur)){ .fail_start = data[0] & 8, .fail_doctor = data[0] & 16 };
        fake_client fc[N_CLIENTS];
        for (int i = 0; i < N_CLIENTS; i++)
                connect_client(&s, &fc[i], data[1 + i]);
        size_t off = 1 + N_CLIENTS;

        while (off < size) {
                uint8_t ctl = data[off++];
                const uint8_t *msg = data + off;
                const uint8_t *nul = memchr(msg, '\0', size - off);
                size_t len = nul ? (size_t) (nul - msg) + 1 : size - off;
                off += len;
                fake_client *f = &fc[ctl & 3];
                if (ctl & 4) {
                        uint8_t cred = data[1 + (ctl & 3)] ^ ctl;
                        disconnect_client(&s, f);
                        connect_client(&s, f, cred);
                }
                if (f->c.run)
                        finish_job(&s, f->c.run);
                if (len == 0)
                        continue;
                send_message(f, msg, len, (ctl >> 3) & 15, ctl >> 7 ? 3 : 0);
                vl_call call;
                char why[256] = "";
                int r;
                /* As the loop does on EPOLLIN: read until a whole message is in, or nothing more. */
                for (;;) {
                        size_t had = f->c.vl.in_len;
                        fuzz_check(vl_conn_read(&f->c.vl) == 0, "vl_conn_read");
                        r = vl_conn_next(&f->c.vl, &call, why, sizeof why);
                        if (r != 0 || f->c.vl.in_len == had)
                                break;
                }
                if (r == 0)
                        continue; /* no NUL yet: corrald waits for the rest */
                if (r < 0) {
                        /* not a call: corrald logs why and closes the connection */
                        fuzz_check(r == -EBADMSG && why[0], "vl_conn_next: %d", r);
                        uint8_t cred = data[1 + (ctl & 3)];
                        disconnect_client(&s, f);
                        connect_client(&s, f, cred);
                        continue;
                }
                f->c.vl.out_off = f->c.vl.out_len = 0;
                cur.caller = &f->c;
                cur.call = &call;
                cur.started = false;
                size_t jobs_before = s.n_jobs;
                methods_dispatch(&f->c, &call);
                bool started = cur.started && !cur.fail_start;
                fuzz_check(s.n_jobs == jobs_before + (started ? 1 : 0), "%zu jobs before, %zu after", jobs_before,
                           s.n_jobs);
                fuzz_check(started == (f->c.run != NULL), "a started run does not hold its connection");
                check_replies(&f->c, &call, started);
                f->c.vl.out_off = f->c.vl.out_len = 0;
                cur.caller = NULL;
                cur.call = NULL;
                vl_call_done(&call);
        }

        while (s.jobs)
                finish_job(&s, s.jobs);
        for (int i = 0; i < N_CLIENTS; i++)
                disconnect_client(&s, &fc[i]);
        fuzz_check(s.n_clients == 0 && s.n_jobs == 0, "clients or jobs left");
        fuzz_check(lowest_free_fd() == fd_mark, "an fd leaked: lowest free fd %d, was %d", lowest_free_fd(), fd_mark);
        return 0;
}
