/* SPDX-License-Identifier: MIT */
/*
 * A job's isolation, between the life cycle (job.c) and the mechanisms: the filter's
 * program from filter.c's cache, the socket the child sends the seccomp listener on,
 * the network namespace from net.c's pool, the mount plan from namespace.c, and what
 * enforces each setting (result.isolation). After the spawn it is the filter's
 * supervisor: the listener sits in the job's epoll set, and each denied call becomes
 * evidence (evidence.syscall_denied), then an errno answer or the end of the run
 * (status syscall_denied). No kernel interface of its own.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "isolation.h"
#include "job.h"
#include "macro.h"
#include "net.h"
#include "parse.h"

/* How many notifications one dispatch answers: bounded work, the rest comes next time. */
#define ISO_NOTIFY_BATCH 64

static bool filter_wanted(const corral_policy *p) {
        return p->filter.set || p->filter.arch_native;
}

/* A setting nothing here can enforce: "none" with Unenforced=allow, else refused. */
static int unenforced(corral_job *j, const char **slot, char *why, size_t why_size, const char *key,
                      const char *reason) {
        if (j->policy.refuse_unenforced) {
                snprintf(why, why_size, "%s: %s (Unenforced=refuse)", key, reason);
                return -EOPNOTSUPP;
        }
        *slot = "none";
        return 0;
}

/* User=, Group=, DynamicUser=: who the run becomes (root only: refused elsewhere, never
 * "none" — a run that silently kept the caller's identity is not what was asked). */
static int prepare_user(corral_job *j, char *why, size_t why_size) {
        policy_isolation *iso = &j->policy.iso;
        iso_state *st = &j->iso;
        corral_isolation *e = &j->result->isolation;
        uid_t uid = 0;
        gid_t gid = 0;
        int r;

        if (!iso->dynamic_user && !iso->user_set && !iso->group_set)
                return 0;
        if (geteuid() != 0) {
                snprintf(why, why_size, "%s needs root", iso->dynamic_user ? "DynamicUser=yes" : "User=/Group=");
                return -EPERM;
        }
        if (iso->dynamic_user) {
                r = dynuser_acquire(DYNUSER_FIRST, DYNUSER_LAST, &st->user, why, why_size);
                if (r < 0)
                        return r;
                uid = st->user.uid;
                gid = st->user.gid;
                /* What a user of its own needs so that concurrent runs never meet: no
                 * writable place but its own /tmp, /var/tmp and /dev/shm, which go with it,
                 * its own IPC, no way back to privileges (systemd implies the same). */
                iso->private_tmp = true;
                iso->private_ipc = true;
                iso->protect_system = POLICY_PROTECT_SYSTEM_STRICT;
                j->policy.no_new_privileges = true;
                e->user = "dynamic-user";
        } else {
                char buf[4096];
                struct passwd pw, *pwr = NULL;

                uid = iso->user_set ? iso->uid : 0;
                gid = 0;
                if (iso->group_set)
                        gid = iso->gid;
                else if (iso->user_set && getpwuid_r(uid, &pw, buf, sizeof buf, &pwr) == 0 && pwr)
                        gid = pwr->pw_gid; /* the user's own group */
                else if (iso->user_set)
                        gid = (gid_t) uid;
                e->user = "setresuid";
        }
        st->child.set_creds = true;
        st->child.uid = uid;
        st->child.gid = gid;
        st->creds = (spawn_credentials){ .uid = uid, .gid = gid, .groups = NULL, .n_groups = 0 };
        e->uid = uid;
        e->gid = gid;
        return 0;
}

/* Whether the run's network namespace may be reused after it: only when the run could not
 * have changed it, as a user of its own without capabilities (a run as root had
 * CAP_NET_ADMIN there). See net.h. */
static bool netns_poolable(const iso_state *st) {
        return st->child.set_creds && st->child.uid != 0;
}

int iso_prepare(corral_job *j, char *why, size_t why_size) {
        const corral_policy *p = &j->policy;
        iso_state *st = &j->iso;
        corral_isolation *e = &j->result->isolation;
        char nwhy[NS_WHY_MAX > NET_WHY_MAX ? NS_WHY_MAX : NET_WHY_MAX] = "";
        int r;

        *st = (iso_state){ .sock = { -EBADF, -EBADF }, .listener = -EBADF, .netns_fd = -EBADF,
                           .user = { .lock_fd = -EBADF } };
        st->active = true;
        st->child.notify_fd = -EBADF;
        e->uid = e->gid = -1;

        r = prepare_user(j, why, why_size);
        if (r < 0)
                return r;

        /* The run dies with the thread that started it (PR_SET_PDEATHSIG). */
        st->child.parent_pid = getpid();
        e->die_with_corral = "pdeathsig";

        if (policy_wants_namespaces(p)) {
                const policy_isolation *iso = &p->iso;
                bool privileged = ns_privileged();
                char uwhy[NS_WHY_MAX] = "";

                if (!privileged && !ns_userns_available(uwhy, sizeof uwhy)) {
                        /* no namespaces for us here: nothing enforces these */
                        r = 0;
                        if (iso->private_network)
                                r = unenforced(j, &e->private_network, why, why_size, "PrivateNetwork=yes", uwhy);
                        if (r >= 0 && iso->private_tmp)
                                r = unenforced(j, &e->private_tmp, why, why_size, "PrivateTmp=yes", uwhy);
                        if (r >= 0 && iso->protect_system != POLICY_PROTECT_SYSTEM_NO)
                                r = unenforced(j, &e->protect_system, why, why_size, "ProtectSystem=", uwhy);
                        if (r >= 0 && (iso->read_only.n || iso->read_write.n || iso->inaccessible.n))
                                r = unenforced(j, &e->paths, why, why_size, "ReadOnlyPaths=/ReadWritePaths=/InaccessiblePaths=", uwhy);
                        if (r >= 0 && iso->private_ipc)
                                r = unenforced(j, &e->private_ipc, why, why_size, "PrivateIPC=yes", uwhy);
                        if (r >= 0 && iso->private_pids)
                                r = unenforced(j, &e->private_pids, why, why_size, "PrivatePIDs=yes", uwhy);
                        if (r < 0)
                                return r;
                } else {
                        /* Only a namespace that can go back to the pool comes from net.c's
                         * pool or thread; every other run's child makes a fresh one itself
                         * (in its user namespace, or root's), see ns_plan_build. */
                        if (privileged && iso->private_network && netns_poolable(st)) {
                                r = net_ns_get(&st->netns_fd, &st->netns_reused, nwhy);
                                if (r < 0) {
                                        snprintf(why, why_size, "PrivateNetwork=yes: %s", nwhy);
                                        return r;
                                }
                        }
                        r = ns_plan_build(p, st->netns_fd, &st->ns, nwhy);
                        if (r < 0) {
                                snprintf(why, why_size, "%s", nwhy);
                                return r;
                        }
                        st->child.ns = &st->ns;
                        if (iso->private_network)
                                e->private_network = !privileged       ? "user-ns+netns" :
                                                     st->netns_reused ? "netns (reused)" :
                                                                        "netns";
                        if (iso->private_tmp)
                                e->private_tmp = privileged ? "mount-ns" : "user-ns+mount-ns";
                        if (iso->protect_system != POLICY_PROTECT_SYSTEM_NO)
                                e->protect_system = privileged ? "mount-ns" : "user-ns+mount-ns";
                        if (iso->read_only.n || iso->read_write.n || iso->inaccessible.n)
                                e->paths = privileged ? "mount-ns" : "user-ns+mount-ns";
                        if (iso->private_ipc)
                                e->private_ipc = privileged ? "ipc-ns" : "user-ns+ipc-ns";
                        if (iso->private_pids) {
                                e->private_pids = privileged ? "pid-ns" : "user-ns+pid-ns";
                                e->die_with_corral = "pdeathsig+pid-ns";
                        }
                }
        }

        if (filter_wanted(p)) {
                char fwhy[PARSE_WHY_MAX] = "";
                r = filter_prog_get(&p->filter, &st->prog, fwhy);
                if (r < 0) {
                        snprintf(why, why_size, "SystemCallFilter=: %s", fwhy);
                        return r;
                }
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st->sock) < 0) {
                        r = negative_errno();
                        snprintf(why, why_size, "SystemCallFilter=: socketpair: %s", strerror(-r));
                        return r;
                }
                st->child.prog = st->prog;
                st->child.notify_fd = st->sock[1];
                e->syscall_filter = "seccomp";
        }
        if (filter_wanted(p) || p->no_new_privileges) {
                st->child.no_new_privs = true;
                e->no_new_privileges = "prctl";
        }
        return 0;
}

const char *iso_unsupported_for_functions(const corral_policy *p) {
        if (filter_wanted(p))
                return "SystemCallFilter=";
        if (p->no_new_privileges)
                return "NoNewPrivileges=";
        if (policy_wants_namespaces(p))
                return "a namespace setting (PrivateNetwork=, PrivateTmp=, ProtectSystem=, ...)";
        if (p->iso.user_set || p->iso.group_set)
                return "User=/Group=";
        return NULL;
}

const spawn_credentials *iso_credentials(corral_job *j) {
        return j->iso.active && j->iso.child.set_creds ? &j->iso.creds : NULL;
}

const iso_child *iso_request(corral_job *j) {
        return j->iso.active ? &j->iso.child : NULL;
}

static void on_notify(void *userdata, int fd) {
        corral_job *j = userdata;
        corral_syscall_denied *d = &j->result->syscall_denied;

        for (int i = 0; i < ISO_NOTIFY_BATCH; i++) {
                filter_notification n;
                filter_verdict v;
                int r = filter_notif_recv(fd, &n);

                if (r == 0)
                        return;
                if (r < 0) {
                        /* every user of the filter is gone (EPOLLHUP) */
                        job_remove_watch(j, fd);
                        j->iso.listener = safe_close(j->iso.listener);
                        return;
                }
                filter_judge(&j->policy.filter, n.arch, n.nr, &v);
                if (!d->denied || (d->errno_answer && !v.errno_answer)) {
                        /* the first denied call, unless a later one ended the run */
                        d->denied = true;
                        snprintf(d->name, sizeof d->name, "%s", v.name);
                        snprintf(d->arch, sizeof d->arch, "%s", v.arch);
                        d->nr = n.nr;
                        d->errno_answer = v.errno_answer;
                }
                d->count++;
                if (v.errno_answer) {
                        (void) filter_notif_answer(fd, n.id, v.errno_answer);
                        continue;
                }
                /* Never answered: the call stays blocked until the kill ends it. */
                monitor_act(j, VERDICT_ACTION_SYSCALL);
                monitor_kill_everything(j);
        }
}

static void on_listener(void *userdata, int fd) {
        corral_job *j = userdata;
        int listener = -EBADF, r;

        r = filter_recv_listener(fd, &listener);
        job_remove_watch(j, fd);
        j->iso.sock[0] = safe_close(j->iso.sock[0]);
        if (r < 0)
                return; /* the child died before loading its filter: its report says why */
        j->iso.listener = listener;
        if (job_add_watch(j, listener, on_notify, j) < 0) {
                /* unsupervised, a denied call would block: end the run instead */
                monitor_act(j, VERDICT_ACTION_SYSCALL);
                monitor_kill_everything(j);
        }
}

void iso_started(corral_job *j) {
        iso_state *st = &j->iso;

        if (!st->active)
                return;
        st->sock[1] = safe_close(st->sock[1]);
        filter_prog_release(st->prog);
        st->prog = NULL;
        st->child.prog = NULL;
        if (st->sock[0] >= 0 && job_add_watch(j, st->sock[0], on_listener, j) < 0)
                st->sock[0] = safe_close(st->sock[0]);
}

void iso_release(corral_job *j) {
        iso_state *st = &j->iso;

        if (!st->active)
                return;
        st->listener = safe_close(st->listener);
        st->sock[0] = safe_close(st->sock[0]);
        st->sock[1] = safe_close(st->sock[1]);
        filter_prog_release(st->prog);
        st->prog = NULL;
        net_ns_put(st->netns_fd, netns_poolable(st));
        st->netns_fd = -EBADF;
        dynuser_release(&st->user);
        st->active = false;
}
