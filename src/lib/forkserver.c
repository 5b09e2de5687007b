/* SPDX-License-Identifier: MIT */
/*
 * The forkserver: StartMethod=forkserver, for callers with threads.
 *
 * Theory of operation. Forking a multithreaded program copies only the calling
 * thread: a lock another thread held at that moment (one of the program's own
 * mutexes, or a library's) stays locked forever in the child, and a function that
 * takes it hangs. corral_forkserver_start(), called while the program is still
 * single-threaded, forks a helper -- the server -- that is a clean copy of the program
 * at that moment: the same code at the same addresses, so a function pointer means
 * the same function there, and no lock held by anyone. Later, any thread asks the
 * server for a function child, and the server (single-threaded, forever) forks it.
 *
 *   caller                                 server (our child, own session)
 *   ------                                 ------
 *   main socket  == SOCK_SEQPACKET pair == main socket
 *   start() waits for                      <- READY, once set up (fds closed, signals
 *                                             reset, epoll made)
 *   per job: socketpair(SEQPACKET) "channel"; one end travels in the request
 *   request: fs_request + SCM_RIGHTS        -> recvmsg, check the function is mapped
 *     [channel, output pipe, crash pipe,       where the caller saw it (dladdr), mmap
 *      cgroup dir, stdin/out/err, input]       the input memfd, spawn_start() (fork,
 *                                              join the cgroup, setsid, signals,
 *                                              rlimits, stdio, fds), close the fds
 *   <- channel: STARTED pid | FAILED why       (blocking read; set-up takes ~1 ms)
 *   the job's monitor waits on the channel  <- the child's pidfd turns readable:
 *   <- channel: EXITED how, status,        waitid(P_PIDFD) + rusage, send, close
 *      rusage (sent right after the reap)
 *
 * Each job has its own channel, so replies of concurrent jobs never mix, and the
 * monitor never waits: the fd it polls turns readable exactly when the status is
 * there (a pidfd of the server's child would turn readable before the server has
 * reaped it). The server is the child's parent and reaps it; we never see it in
 * waitpid(-1). Who kills whom: the job kills the run's tree as for any run (cgroup.kill
 * or signals to the tree); a channel closed by the caller before the child ended (the
 * job was freed) makes the server SIGKILL that child; the main socket's EOF (stop, or
 * the caller died) makes it SIGKILL and reap all its children and _exit.
 *
 * Kernel interfaces: AF_UNIX SOCK_SEQPACKET + SCM_RIGHTS, pidfd_open/waitid(P_PIDFD)
 * (5.4), memfd. No privilege beyond what the run's cgroup needs.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash.h"
#include "forkserver.h"
#include "isolation.h"
#include "macro.h"

#define FS_MAGIC UINT32_C(0x63726673) /* "crfs" */
#define FS_MAX_FDS 12
/* A live server answers in about a millisecond; this only catches a wedged one. */
#define FS_REPLY_TIMEOUT_MS 30000

enum {
        FS_HAS_CGROUP = 1 << 0,
        FS_HAS_STDIN = 1 << 1, /* << 1..3: stdin, stdout, stderr */
        FS_HAS_INPUT = 1 << 4,
        FS_HAS_ISO = 1 << 5,    /* the run's isolation, packed (isolation.c) */
        FS_HAS_NOTIFY = 1 << 6, /* the socket the child sends the seccomp listener on */
        FS_HAS_NETNS = 1 << 7,  /* the network namespace to join */
};

typedef struct fs_request {
        uint32_t magic;
        uint32_t flags;
        uint64_t fn;      /* corral_fn, valid in the server because it is our fork */
        uint64_t fn_base; /* load address of the object holding fn, as the caller sees it */
        uint64_t in_len;
        uint64_t output_max;
        rl_set rlimits;
} fs_request;

enum {
        FS_REPLY_READY = 1, /* on the main socket, once: the server is set up */
        FS_REPLY_STARTED,
        FS_REPLY_FAILED,
        FS_REPLY_EXITED,
};

typedef struct fs_reply {
        int32_t kind;
        int32_t pid;
        spawn_failure failure; /* FAILED */
        int32_t how;           /* EXITED: si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED) */
        int32_t value;         /* EXITED: si_status (exit code or signal) */
        struct rusage rusage;
} fs_reply;

/* ---- the caller's side ---- */

static pthread_mutex_t fs_lock = PTHREAD_MUTEX_INITIALIZER;
static int fs_sock = -EBADF;
static int fs_pidfd = -EBADF;
static pid_t fs_pid;
static pid_t fs_owner; /* the process that started it: a fork of ours has no server */

static _noreturn_ void server_main(int sock);

/* Without fs_lock: the monitor asks, and must not wait for a request being sent.
 * fs_pid and fs_owner are written under the lock, atomically, pid last and first. */
pid_t forkserver_pid(void) {
        pid_t pid = __atomic_load_n(&fs_pid, __ATOMIC_ACQUIRE);
        return pid > 0 && __atomic_load_n(&fs_owner, __ATOMIC_RELAXED) == getpid() ? pid : 0;
}

static void forget_locked(void) {
        __atomic_store_n(&fs_pid, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&fs_owner, 0, __ATOMIC_RELAXED);
        fs_sock = fs_pidfd = -EBADF;
}

_public_ int corral_forkserver_start(void) {
        int sv[2];

        pthread_mutex_lock(&fs_lock);
        if (fs_sock >= 0 && fs_owner == getpid()) {
                pthread_mutex_unlock(&fs_lock);
                return 1;
        }
        if (fs_sock >= 0) {
                /* Inherited from the process we were forked from: its server, not ours. */
                safe_close(fs_sock);
                safe_close(fs_pidfd);
                forget_locked();
        }
        /* The server and its children inherit the loaded unwinder. */
        crash_prepare();
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                int r = negative_errno();
                pthread_mutex_unlock(&fs_lock);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(sv[0]);
                safe_close(sv[1]);
                pthread_mutex_unlock(&fs_lock);
                return r;
        }
        if (pid == 0) {
                /* Our copy of the lock was taken by the thread that forked: make it usable,
                 * and say "no server" to functions that would ask from in here. */
                pthread_mutex_init(&fs_lock, NULL);
                forget_locked();
                safe_close(sv[0]);
                server_main(sv[1]);
        }
        safe_close(sv[1]);
        /* Our unreaped child: no pid-reuse race. Without a pidfd, stop uses waitpid. */
        fs_pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        /* Return once it serves (a failed set-up is our failure, not a later run's). */
        fs_reply ready = {};
        int r = poll(&(struct pollfd){ .fd = sv[0], .events = POLLIN }, 1, FS_REPLY_TIMEOUT_MS);
        if (r > 0 && recv(sv[0], &ready, sizeof ready, MSG_DONTWAIT) != (ssize_t) sizeof ready)
                r = 0;
        if (r <= 0 || ready.kind != FS_REPLY_READY) {
                r = r < 0 ? negative_errno() : -ECHILD;
                safe_close(sv[0]);
                (void) kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                safe_close(fs_pidfd);
                forget_locked();
                pthread_mutex_unlock(&fs_lock);
                return r;
        }
        fs_sock = sv[0];
        __atomic_store_n(&fs_owner, getpid(), __ATOMIC_RELAXED);
        __atomic_store_n(&fs_pid, pid, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&fs_lock);
        return 0;
}

_public_ void corral_forkserver_stop(void) {
        pthread_mutex_lock(&fs_lock);
        if (fs_sock < 0 || fs_owner != getpid()) {
                pthread_mutex_unlock(&fs_lock);
                return;
        }
        /* EOF on its main socket: the server kills and reaps what it still runs, and exits. */
        safe_close(fs_sock);
        if (fs_pidfd >= 0) {
                siginfo_t info;
                (void) spawn_wait_pidfd(fs_pidfd, &info, NULL, WEXITED);
                safe_close(fs_pidfd);
        } else
                while (waitpid(fs_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        forget_locked();
        pthread_mutex_unlock(&fs_lock);
}

static int send_request(const fs_request *req, const int *fds, size_t n_fds) {
        char cbuf[CMSG_SPACE(sizeof(int) * FS_MAX_FDS)] = {};
        struct iovec iov = { .iov_base = (void *) req, .iov_len = sizeof *req };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = cbuf,
                .msg_controllen = CMSG_SPACE(sizeof(int) * n_fds),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);

        pthread_mutex_lock(&fs_lock);
        if (fs_sock < 0 || fs_owner != getpid()) {
                pthread_mutex_unlock(&fs_lock);
                return -ENOTCONN;
        }
        ssize_t n;
        do
                n = sendmsg(fs_sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        int r = n < 0 ? negative_errno() : 0;
        pthread_mutex_unlock(&fs_lock);
        return r;
}

int forkserver_spawn(const spawn_request *req, const fn_child *child, int input_fd, pid_t *ret_pid,
                     int *ret_channel, spawn_failure *ret_failure) {
        fs_request rq = {
                .magic = FS_MAGIC,
                .fn = (uintptr_t) child->fn,
                .in_len = child->in_len,
                .output_max = child->output_max,
                .rlimits = req->rlimits ? *req->rlimits : (rl_set){ .n = 0 },
        };
        _cleanup_close_ int chan = -EBADF, peer = -EBADF;
        int fds[FS_MAX_FDS], ch[2];
        size_t n_fds = 0;
        Dl_info info;
        int r;

        if (!dladdr((void *) child->fn, &info) || !info.dli_fbase) {
                /* Not in any loaded object (generated code?): nothing the server could map. */
                *ret_failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = EFAULT };
                return 0;
        }
        rq.fn_base = (uintptr_t) info.dli_fbase;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0)
                return negative_errno();
        chan = ch[0];
        peer = ch[1];

        fds[n_fds++] = peer;
        fds[n_fds++] = child->out_fd;
        fds[n_fds++] = child->crash_fd;
        if (req->cgroup_fd >= 0) {
                rq.flags |= FS_HAS_CGROUP;
                fds[n_fds++] = req->cgroup_fd;
        }
        for (int i = 0; i < 3; i++)
                if (req->stdio[i] >= 0) {
                        rq.flags |= FS_HAS_STDIN << i;
                        fds[n_fds++] = req->stdio[i];
                }
        if (input_fd >= 0) {
                rq.flags |= FS_HAS_INPUT;
                fds[n_fds++] = input_fd;
        }
        /* The server knows nothing of the policy: the isolation steps' data goes along
         * (the server forks the child into them; nothing of it stays in the server). */
        _cleanup_close_ int iso_fd = -EBADF;
        const iso_child *iso = req->iso;
        /* Only PR_SET_PDEATHSIG (every run has it): the server sets that for its child by
         * itself, a memfd per call would only cost. */
        if (iso && (iso->ns || iso->prog || iso->no_new_privs || iso->set_creds)) {
                r = iso_child_pack(req->iso, &iso_fd);
                if (r < 0)
                        return r;
                rq.flags |= FS_HAS_ISO;
                fds[n_fds++] = iso_fd;
                if (req->iso->prog) {
                        rq.flags |= FS_HAS_NOTIFY;
                        fds[n_fds++] = req->iso->notify_fd;
                }
                if (req->iso->ns && req->iso->ns->netns_fd >= 0) {
                        rq.flags |= FS_HAS_NETNS;
                        fds[n_fds++] = req->iso->ns->netns_fd;
                }
        }

        r = send_request(&rq, fds, n_fds);
        if (r == -ENOTCONN) {
                *ret_failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = ENOTCONN };
                return 0;
        }
        if (r < 0)
                return r;
        /* Only the server holds the other end now: its EOF means it refused or died. */
        peer = safe_close(peer);

        for (;;) {
                r = poll(&(struct pollfd){ .fd = chan, .events = POLLIN }, 1, FS_REPLY_TIMEOUT_MS);
                if (r > 0)
                        break;
                if (r == 0)
                        return -ETIMEDOUT; /* closing chan makes a late server kill the child */
                if (errno != EINTR)
                        return negative_errno();
        }
        fs_reply rep;
        ssize_t n = recv(chan, &rep, sizeof rep, MSG_DONTWAIT);
        if (n < 0)
                return negative_errno();
        if (n == 0)
                return -ECONNRESET;
        if (n != (ssize_t) sizeof rep)
                return -EPROTO;
        if (rep.kind == FS_REPLY_FAILED) {
                *ret_failure = rep.failure;
                return 0;
        }
        if (rep.kind != FS_REPLY_STARTED || rep.pid <= 0)
                return -EPROTO;
        *ret_pid = rep.pid;
        *ret_channel = TAKE_FD(chan);
        return 1;
}

int forkserver_reap(int channel, siginfo_t *ret_info, struct rusage *ret_usage) {
        fs_reply rep;
        ssize_t n;

        do
                n = recv(channel, &rep, sizeof rep, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();
        if (n == 0)
                return -EPIPE;
        if (n != (ssize_t) sizeof rep || rep.kind != FS_REPLY_EXITED)
                return -EPROTO;
        memset(ret_info, 0, sizeof *ret_info);
        ret_info->si_signo = SIGCHLD;
        ret_info->si_pid = rep.pid;
        ret_info->si_code = rep.how;
        ret_info->si_status = rep.value;
        if (ret_usage)
                *ret_usage = rep.rusage;
        return 0;
}

/* ---- the server ---- */

typedef struct fs_child {
        pid_t pid;
        int pidfd;
        int channel; /* -EBADF once the caller hung up */
        bool gone;   /* reaped: freed after the current batch of events */
        struct fs_child *next;
} fs_child;

static int server_epfd = -EBADF;
static fs_child *server_children;
static char server_comm[16]; /* the program's name, before the helper renamed itself */

/* epoll tags: the child pointer, low bit set for its channel */
#define TAG_CHANNEL ((uintptr_t) 1)

static void server_send(int channel, const fs_reply *rep) {
        if (channel >= 0)
                (void) send(channel, rep, sizeof *rep, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void server_reap(fs_child *c, bool block) {
        siginfo_t info;
        struct rusage ru = {};
        if (spawn_wait_pidfd(c->pidfd, &info, &ru, WEXITED | (block ? 0 : WNOHANG)) < 0 || info.si_pid == 0)
                return;
        fs_reply rep = {
                .kind = FS_REPLY_EXITED,
                .pid = c->pid,
                .how = info.si_code,
                .value = info.si_status,
                .rusage = ru,
        };
        server_send(c->channel, &rep);
        (void) epoll_ctl(server_epfd, EPOLL_CTL_DEL, c->pidfd, NULL);
        if (c->channel >= 0)
                (void) epoll_ctl(server_epfd, EPOLL_CTL_DEL, c->channel, NULL);
        c->pidfd = safe_close(c->pidfd);
        c->channel = safe_close(c->channel);
        c->gone = true;
}

static void server_hangup(fs_child *c) {
        char b;
        ssize_t n = recv(c->channel, &b, sizeof b, MSG_DONTWAIT);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
                return; /* the caller never writes here; ignore */
        /* The job was freed before its function ended: nothing will watch it any more. */
        (void) syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
        (void) epoll_ctl(server_epfd, EPOLL_CTL_DEL, c->channel, NULL);
        c->channel = safe_close(c->channel);
}

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

static void server_request(int sock, bool *ret_eof) {
        fs_request rq = {};
        char cbuf[CMSG_SPACE(sizeof(int) * FS_MAX_FDS)];
        struct iovec iov = { .iov_base = &rq, .iov_len = sizeof rq };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = cbuf,
                .msg_controllen = sizeof cbuf,
        };
        int fds[FS_MAX_FDS];
        size_t n_fds = 0;

        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                *ret_eof = true;
                return;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                        if (n_fds < FS_MAX_FDS)
                                fds[n_fds++] = fd;
                        else
                                safe_close(fd);
                }
        }

        size_t want = 3 + !!(rq.flags & FS_HAS_CGROUP) + !!(rq.flags & FS_HAS_INPUT) + !!(rq.flags & FS_HAS_ISO) +
                      !!(rq.flags & FS_HAS_NOTIFY) + !!(rq.flags & FS_HAS_NETNS);
        for (int i = 0; i < 3; i++)
                want += !!(rq.flags & (FS_HAS_STDIN << i));
        if (n != (ssize_t) sizeof rq || rq.magic != FS_MAGIC || (mh.msg_flags & MSG_CTRUNC) || n_fds != want ||
            rq.rlimits.n > ELEMENTSOF(rq.rlimits.v) ||
            ((rq.flags & (FS_HAS_NOTIFY | FS_HAS_NETNS)) && !(rq.flags & FS_HAS_ISO))) {
                /* Not ours: closing the channel (if any) tells the caller. */
                close_fds(fds, n_fds);
                return;
        }

        size_t i = 0;
        int channel = fds[i++];
        fn_child child = {
                .fn = (corral_fn) (uintptr_t) rq.fn,
                .in_len = (size_t) rq.in_len,
                .out_fd = fds[i++],
                .crash_fd = fds[i++],
                .output_max = rq.output_max,
                .comm = server_comm[0] ? server_comm : NULL,
        };
        spawn_request sreq = {
                .cgroup_fd = rq.flags & FS_HAS_CGROUP ? fds[i++] : -EBADF,
                .rlimits = &rq.rlimits,
                .stdio = { -1, -1, -1 },
                .keep_fds = { child.out_fd, child.crash_fd },
                .fn = fn_child_main,
                .fn_prepare = fn_child_prepare,
                .fn_arg = &child,
        };
        for (int s = 0; s < 3; s++)
                if (rq.flags & (FS_HAS_STDIN << s))
                        sreq.stdio[s] = fds[i++];
        int input_fd = rq.flags & FS_HAS_INPUT ? fds[i++] : -EBADF;
        int iso_fd = rq.flags & FS_HAS_ISO ? fds[i++] : -EBADF;
        int notify_fd = rq.flags & FS_HAS_NOTIFY ? fds[i++] : -1;
        int netns_fd = rq.flags & FS_HAS_NETNS ? fds[i++] : -1;
        /* Without a packed isolation: PR_SET_PDEATHSIG alone, its parent is us. */
        iso_unpacked iso = { .child = { .notify_fd = -EBADF, .parent_pid = getpid() } };

        fs_reply rep = { .kind = FS_REPLY_FAILED };
        void *in = MAP_FAILED;
        Dl_info info;
        struct stat st;
        pid_t pid = 0;
        int pidfd = -EBADF, r;

        /* Same object at the same place as in the caller, else the pointer means nothing here. */
        if (!dladdr((void *) child.fn, &info) || (uintptr_t) info.dli_fbase != rq.fn_base)
                rep.failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = EFAULT };
        else if (input_fd >= 0 && (fstat(input_fd, &st) < 0 || (uint64_t) st.st_size < rq.in_len))
                rep.failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = EINVAL };
        else if (input_fd >= 0 && child.in_len > 0 &&
                 (in = mmap(NULL, child.in_len, PROT_READ, MAP_PRIVATE, input_fd, 0)) == MAP_FAILED)
                rep.failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = errno };
        else if (iso_fd >= 0 && (r = iso_child_unpack(iso_fd, notify_fd, netns_fd, &iso)) < 0)
                rep.failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = -r };
        else {
                sreq.iso = &iso.child;
                sreq.credentials = iso.child.set_creds ? &iso.creds : NULL;
                /* The child inherits the mapping; we drop ours right after the fork. */
                child.in = in == MAP_FAILED ? NULL : in;
                r = spawn_start(&sreq, &pid, &pidfd, &rep.failure);
                if (r > 0) {
                        rep.kind = FS_REPLY_STARTED;
                        rep.pid = pid;
                } else if (r < 0)
                        rep.failure = (spawn_failure){ .step = SPAWN_STEP_FORKSERVER, .err = -r };
        }
        if (in != MAP_FAILED)
                (void) munmap(in, child.in_len);
        iso_unpacked_done(&iso);
        /* Only the child keeps the pipes, stdio and group: EOF reaches the caller when it ends. */
        close_fds(fds + 1, n_fds - 1);

        fs_child *c = rep.kind == FS_REPLY_STARTED ? calloc(1, sizeof *c) : NULL;
        if (rep.kind == FS_REPLY_STARTED && c) {
                *c = (fs_child){ .pid = pid, .pidfd = pidfd, .channel = channel, .next = server_children };
                if (epoll_ctl(server_epfd, EPOLL_CTL_ADD, pidfd,
                              &(struct epoll_event){ .events = EPOLLIN, .data.u64 = (uintptr_t) c }) < 0 ||
                    epoll_ctl(server_epfd, EPOLL_CTL_ADD, channel,
                              &(struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP,
                                                     .data.u64 = (uintptr_t) c | TAG_CHANNEL }) < 0) {
                        (void) epoll_ctl(server_epfd, EPOLL_CTL_DEL, pidfd, NULL);
                        free(c);
                        c = NULL;
                } else
                        server_children = c;
        }
        if (rep.kind == FS_REPLY_STARTED && !c) {
                /* Cannot track it: do not leave it running unwatched. */
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                siginfo_t si;
                (void) spawn_wait_pidfd(pidfd, &si, NULL, WEXITED);
                safe_close(pidfd);
                rep = (fs_reply){ .kind = FS_REPLY_FAILED,
                                  .failure = { .step = SPAWN_STEP_FORKSERVER, .err = ENOMEM } };
        }
        server_send(channel, &rep);
        if (rep.kind != FS_REPLY_STARTED)
                safe_close(channel);
}

static void server_free_gone(void) {
        for (fs_child **p = &server_children; *p;) {
                fs_child *c = *p;
                if (c->gone) {
                        *p = c->next;
                        free(c);
                } else
                        p = &c->next;
        }
}

static _noreturn_ void server_shutdown(void) {
        for (fs_child *c = server_children; c; c = c->next) {
                if (c->gone)
                        continue;
                (void) syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
                server_reap(c, true);
        }
        /* _exit: the caller's atexit handlers and buffered stdio are not ours to run. */
        _exit(0);
}

static _noreturn_ void server_main(int sock) {
        /* Keep 0-2 (children with uncaptured stdio inherit them) and the socket. */
        if (sock < 3) {
                int fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        _exit(1);
                sock = fd;
        }
        if (sock > 3)
                (void) syscall(SYS_close_range, 3U, (unsigned) sock - 1, 0U);
        (void) syscall(SYS_close_range, (unsigned) sock + 1, ~0U, 0U);

        /* Out of the caller's process group: Ctrl-C on its terminal is the caller's to
         * handle (it stops its runs gracefully), not ours to die of. */
        (void) setsid();
        (void) prctl(PR_GET_NAME, server_comm);
        (void) prctl(PR_SET_NAME, "corral-forksrv");
        /* The caller's handlers are not ours (a SIGCHLD handler calling waitpid(-1) would
         * steal our children's statuses); a hung-up channel must not kill us. */
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        server_epfd = epoll_create1(EPOLL_CLOEXEC);
        if (server_epfd < 0 ||
            epoll_ctl(server_epfd, EPOLL_CTL_ADD, sock, &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 0 }) < 0)
                _exit(1);
        server_send(sock, &(fs_reply){ .kind = FS_REPLY_READY });

        for (;;) {
                struct epoll_event evs[16];
                bool eof = false;
                int n = epoll_wait(server_epfd, evs, ELEMENTSOF(evs), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        server_shutdown();
                }
                for (int i = 0; i < n; i++) {
                        uintptr_t tag = (uintptr_t) evs[i].data.u64;
                        fs_child *c = (fs_child *) (tag & ~TAG_CHANNEL);
                        if (!c)
                                server_request(sock, &eof);
                        else if (c->gone)
                                continue; /* reaped earlier in this batch */
                        else if (tag & TAG_CHANNEL) {
                                if (c->channel >= 0)
                                        server_hangup(c);
                        } else
                                server_reap(c, false);
                }
                server_free_gone();
                if (eof)
                        server_shutdown();
        }
}
