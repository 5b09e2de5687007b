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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
                r = filter_prog_get_for(&p->filter, j->starter.function ? FILTER_FOR_FUNCTION : FILTER_FOR_COMMAND,
                                        &st->prog, fwhy);
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
        /* A pid namespace is made by clone(CLONE_NEWPID), and its pid 1 (corral's init)
         * forks the program; a function's process is a glibc fork() of the caller or of
         * the forkserver (its fork handlers must run: malloc, stdio, the interpreter), so
         * it can be neither. Refused rather than half-done. */
        if (p->iso.private_pids)
                return "PrivatePIDs=yes is not supported for function runs: a function runs in a fork() of "
                       "the caller (or of the forkserver), and a pid namespace needs the process made by "
                       "clone(CLONE_NEWPID) under corral's init; run it as a command for PrivatePIDs=";
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

/* ---- the forkserver's copy ---- */

#define ISO_WIRE_MAGIC UINT32_C(0x63726973) /* "cris" */

enum {
        ISO_WIRE_NS = 1 << 0,
        ISO_WIRE_PROG = 1 << 1,
        ISO_WIRE_NNP = 1 << 2,
        ISO_WIRE_CREDS = 1 << 3,
        ISO_WIRE_USERNS = 1 << 4, /* the unprivileged path: maps below */
        ISO_WIRE_LO_UP = 1 << 5,
};

typedef struct iso_wire {
        uint32_t magic;
        uint32_t flags;
        int32_t unshare_flags, clone_flags;
        uint32_t uid, gid;
        uint32_t n_mounts;
        uint32_t n_insns; /* struct sock_filter right after this header */
        char uid_map[NS_ID_MAP_MAX], gid_map[NS_ID_MAP_MAX];
        struct {
                uint32_t op;
                uint32_t off; /* of the NUL-terminated path, from the start */
        } mounts[NS_MAX_MOUNTS];
} iso_wire;

int iso_child_pack(const iso_child *c, int *ret_memfd) {
        iso_wire w = { .magic = ISO_WIRE_MAGIC };
        _cleanup_close_ int fd = -EBADF;
        size_t insns = 0, off;

        if (c->ns) {
                w.flags |= ISO_WIRE_NS;
                w.unshare_flags = c->ns->unshare_flags;
                w.clone_flags = c->ns->clone_flags;
                w.n_mounts = c->ns->n_mounts;
                if (c->ns->userns) {
                        w.flags |= ISO_WIRE_USERNS;
                        memcpy(w.uid_map, c->ns->uid_map, sizeof w.uid_map);
                        memcpy(w.gid_map, c->ns->gid_map, sizeof w.gid_map);
                }
                if (c->ns->lo_up)
                        w.flags |= ISO_WIRE_LO_UP;
        }
        if (c->prog) {
                w.flags |= ISO_WIRE_PROG;
                w.n_insns = c->prog->fprog.len;
                insns = (size_t) w.n_insns * sizeof(struct sock_filter);
        }
        if (c->no_new_privs)
                w.flags |= ISO_WIRE_NNP;
        if (c->set_creds) {
                w.flags |= ISO_WIRE_CREDS;
                w.uid = c->uid;
                w.gid = c->gid;
        }
        off = sizeof w + insns;
        for (uint32_t i = 0; i < w.n_mounts; i++) {
                w.mounts[i].op = (uint32_t) c->ns->mounts[i].op;
                w.mounts[i].off = (uint32_t) off;
                off += strlen(c->ns->mounts[i].path) + 1;
        }

        fd = memfd_create("corral-fn-isolation", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (write(fd, &w, sizeof w) != (ssize_t) sizeof w ||
            (insns && write(fd, c->prog->fprog.filter, insns) != (ssize_t) insns))
                return errno ? negative_errno() : -EIO;
        for (uint32_t i = 0; i < w.n_mounts; i++) {
                size_t n = strlen(c->ns->mounts[i].path) + 1;
                if (write(fd, c->ns->mounts[i].path, n) != (ssize_t) n)
                        return errno ? negative_errno() : -EIO;
        }
        *ret_memfd = TAKE_FD(fd);
        return 0;
}

int iso_child_unpack(int memfd, int notify_fd, int netns_fd, iso_unpacked *ret) {
        iso_unpacked u = { .ns.netns_fd = -1, .child.notify_fd = -EBADF };
        struct stat st;
        const iso_wire *w;

        if (fstat(memfd, &st) < 0)
                return negative_errno();
        if (st.st_size < (off_t) sizeof(iso_wire) || st.st_size > (off_t) (16 << 20))
                return -EBADMSG;
        u.map_size = (size_t) st.st_size;
        /* Private and writable: the child writes its pid into its copy of the program. */
        u.map = mmap(NULL, u.map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, 0);
        if (u.map == MAP_FAILED)
                return negative_errno();
        w = u.map;
        const char *base = u.map;
        size_t insns = (size_t) w->n_insns * sizeof(struct sock_filter);
        bool ok = w->magic == ISO_WIRE_MAGIC && w->n_mounts <= NS_MAX_MOUNTS && w->n_insns <= BPF_MAXINSNS &&
                  sizeof *w + insns <= u.map_size && !!(w->flags & ISO_WIRE_PROG) == (w->n_insns > 0) &&
                  !!(w->flags & ISO_WIRE_PROG) == (notify_fd >= 0) &&
                  memchr(w->uid_map, '\0', sizeof w->uid_map) && memchr(w->gid_map, '\0', sizeof w->gid_map);
        for (uint32_t i = 0; ok && i < w->n_mounts; i++) {
                uint32_t o = w->mounts[i].off;
                ok = w->mounts[i].op <= _NS_MOUNT_OP_LAST && o >= sizeof *w + insns && o < u.map_size &&
                     memchr(base + o, '\0', u.map_size - o) != NULL;
        }
        if (!ok) {
                (void) munmap(u.map, u.map_size);
                return -EBADMSG;
        }

        if (w->flags & ISO_WIRE_NS) {
                u.ns.unshare_flags = w->unshare_flags;
                u.ns.clone_flags = w->clone_flags;
                u.ns.netns_fd = netns_fd;
                u.ns.n_mounts = w->n_mounts;
                u.ns.userns = w->flags & ISO_WIRE_USERNS;
                u.ns.lo_up = w->flags & ISO_WIRE_LO_UP;
                memcpy(u.ns.uid_map, w->uid_map, sizeof u.ns.uid_map);
                memcpy(u.ns.gid_map, w->gid_map, sizeof u.ns.gid_map);
                for (uint32_t i = 0; i < w->n_mounts; i++)
                        u.ns.mounts[i] = (ns_mount){ (ns_mount_op) w->mounts[i].op, base + w->mounts[i].off };
        }
        if (w->flags & ISO_WIRE_PROG) {
                u.prog.fprog.len = (unsigned short) w->n_insns;
                u.prog.fprog.filter = (struct sock_filter *) (void *) (base + sizeof *w);
                u.prog.insns = NULL; /* not ours to free: in the mapping */
                u.child.prog = &u.prog;
                u.child.notify_fd = notify_fd;
        }
        u.child.no_new_privs = w->flags & ISO_WIRE_NNP;
        if (w->flags & ISO_WIRE_CREDS) {
                u.child.set_creds = true;
                u.child.uid = w->uid;
                u.child.gid = w->gid;
                u.creds = (spawn_credentials){ .uid = w->uid, .gid = w->gid };
        }
        /* The server is the child's parent: PR_SET_PDEATHSIG checks against it. */
        u.child.parent_pid = getpid();
        *ret = u;
        /* ns points at ret's own copy, not at the local one */
        if (w->flags & ISO_WIRE_NS)
                ret->child.ns = &ret->ns;
        if (w->flags & ISO_WIRE_PROG)
                ret->child.prog = &ret->prog;
        return 0;
}

void iso_unpacked_done(iso_unpacked *u) {
        if (u->map && u->map != MAP_FAILED)
                (void) munmap(u->map, u->map_size);
        u->map = NULL;
}
