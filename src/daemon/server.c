/* SPDX-License-Identifier: MIT */
/*
 * corrald's one event loop. A single epoll set holds the listening sockets, every client
 * connection, every job's fd (corral_job_fd: the library's own epoll set, readable when
 * the job has work) and a signalfd. Nothing here blocks: clients are read and written
 * non-blocking, partial messages wait in their connection's buffer, jobs advance through
 * corral_job_dispatch(). A connection answers its calls in order, so while a Run is in
 * progress on it, its further input stays in the kernel until that Run has ended.
 *
 * A client that goes away (EPOLLHUP: its socket is closed for good; a half-close only
 * stops reading) loses its running job: it is interrupted like a timeout and logged.
 * SIGTERM/SIGINT stop accepting, interrupt every job, send each client its result and
 * exit once all are out, or at the longest grace period + 0.9 s.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "corrald.h"
#include "macro.h"
#include "systemd.h"

uint64_t clock_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static int epoll_set(server *s, int op, int fd, uint32_t events, watch *w) {
        struct epoll_event ev = { .events = events, .data.ptr = w };
        if (epoll_ctl(s->epfd, op, fd, &ev) < 0)
                return negative_errno();
        return 0;
}

/* ---- clients ---- */

void server_client_update(client *c) {
        uint32_t want = 0;
        if (!c->run && !c->vl.eof && !c->closing)
                want |= EPOLLIN;
        if (vl_conn_has_output(&c->vl))
                want |= EPOLLOUT;
        if (want != c->events) {
                if (epoll_set(c->s, EPOLL_CTL_MOD, c->vl.fd, want, &c->w) >= 0)
                        c->events = want;
        }
}

void server_client_close(client *c) {
        server *s = c->s;
        if (c->run) {
                /* Nobody will read the result: stop the run like a timeout, and say so. */
                djob *j = c->run;
                j->owner = NULL;
                j->orphaned = true;
                (void) corral_job_interrupt(j->job);
                c->run = NULL;
        }
        (void) epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->vl.fd, NULL);
        vl_conn_done(&c->vl);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_clients--;
        /* Freed after this batch of events: a later event may still point to it. */
        c->w.dead = true;
        c->next = s->grave_clients;
        s->grave_clients = c;
}

/* Handle the calls waiting in c's buffer, one at a time, until a Run holds the connection. */
static void client_process(client *c) {
        while (!c->run && !c->closing) {
                vl_call call;
                char why[256];
                int r = vl_conn_next(&c->vl, &call, why, sizeof why);
                if (r == 0)
                        break;
                if (r < 0) {
                        fprintf(stderr, "corrald: client pid %d uid %u: bad message (%s), closing\n", (int) c->vl.pid,
                                (unsigned) c->vl.uid, why);
                        c->closing = true;
                        break;
                }
                methods_dispatch(c, &call);
                vl_call_done(&call);
        }
}

/* After any change: flush, close when done, re-arm. Returns false if c was freed. */
static bool client_settle(client *c) {
        if (vl_conn_has_output(&c->vl) && vl_conn_flush(&c->vl) < 0) {
                server_client_close(c);
                return false;
        }
        bool idle = !c->run && !vl_conn_has_output(&c->vl);
        if (idle && (c->closing || (c->vl.eof && !memchr(c->vl.in, '\0', c->vl.in_len)) ||
                     (c->s->stopping && c->vl.in_len == 0))) {
                server_client_close(c);
                return false;
        }
        server_client_update(c);
        return true;
}

static void client_event(client *c, uint32_t events) {
        if (events & (EPOLLHUP | EPOLLERR)) {
                server_client_close(c);
                return;
        }
        if (events & EPOLLOUT) {
                if (vl_conn_flush(&c->vl) < 0) {
                        server_client_close(c);
                        return;
                }
        }
        if (events & EPOLLIN) {
                int r = vl_conn_read(&c->vl);
                if (r == -EMSGSIZE) {
                        fprintf(stderr, "corrald: client pid %d uid %u: message over %d bytes, closing\n",
                                (int) c->vl.pid, (unsigned) c->vl.uid, VL_MESSAGE_MAX);
                        server_client_close(c);
                        return;
                }
                if (r < 0) {
                        server_client_close(c);
                        return;
                }
        }
        client_process(c);
        (void) client_settle(c);
}

static void accept_clients(server *s, int lfd) {
        for (int i = 0; i < 64; i++) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                fprintf(stderr, "corrald: accept: %m\n");
                        return;
                }
                if (server_adopt_connection(s, fd) < 0)
                        safe_close(fd);
        }
}

int server_adopt_connection(server *s, int fd) {
        if (s->n_clients >= s->cfg.max_connections) {
                fprintf(stderr, "corrald: refusing a connection: %zu clients connected ([Daemon] Connections=)\n",
                        s->n_clients);
                return -EMFILE;
        }
        client *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        int r = vl_conn_init(&c->vl, fd, true);
        if (r < 0) {
                c->vl.fd = -EBADF;
                vl_conn_done(&c->vl);
                free(c);
                return r;
        }
        c->w = (watch){ WATCH_CLIENT, fd };
        c->s = s;
        c->serial = ++s->next_client_serial;
        c->events = EPOLLIN;
        r = epoll_set(s, EPOLL_CTL_ADD, fd, EPOLLIN, &c->w);
        if (r < 0) {
                c->vl.fd = -EBADF; /* the caller closes it */
                vl_conn_done(&c->vl);
                free(c);
                return r;
        }
        c->next = s->clients;
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        return 0;
}

/* ---- jobs ---- */

djob *server_find_job(server *s, const char *id) {
        for (djob *j = s->jobs; j; j = j->next)
                if (strcmp(j->id_str, id) == 0)
                        return j;
        return NULL;
}

int server_add_job(server *s, djob *j) {
        j->id = ++s->next_job_id;
        snprintf(j->id_str, sizeof j->id_str, "%" PRIu64, j->id);
        j->w = (watch){ WATCH_JOB, corral_job_fd(j->job) };
        int r = epoll_set(s, EPOLL_CTL_ADD, j->w.fd, EPOLLIN, &j->w);
        if (r < 0)
                return r;
        j->next = s->jobs;
        if (s->jobs)
                s->jobs->prev = j;
        s->jobs = j;
        s->n_jobs++;
        return 0;
}

/* corrald's way to start a validated Run: the library spawns it, the loop watches its fd. */
static int host_start(server *s, djob *j, const corral_policy *p, const corral_spawn_attr *attr,
                      corral_diag *diag) {
        int r = corral_spawn_with(p, j->argv, attr, &j->job, diag);
        if (r < 0)
                return r;
        r = server_add_job(s, j);
        if (r < 0) {
                /* The job runs; without its fd in our loop we cannot finish it: stop it now. */
                j->job = corral_job_free(j->job);
                snprintf(diag->message, sizeof diag->message, "cannot watch the job: %s", strerror(-r));
                return r;
        }
        return 0;
}

const server_ops server_host_ops = {
        .start = host_start,
        .doctor = corral_doctor,
};

static void log_job(const djob *j, const corral_result *res) {
        char peak[32];
        uint64_t b = res ? res->memory_peak_bytes : 0;
        if (b >= 1024 * 1024)
                snprintf(peak, sizeof peak, "%.1fM", (double) b / (1024 * 1024));
        else
                snprintf(peak, sizeof peak, "%.1fK", (double) b / 1024);
        fprintf(stderr, "corrald: job %s uid %u %s: %s wall %.3fs peak %s%s%s%s\n", j->id_str, (unsigned) j->uid,
                j->argv[0], res ? corral_status_to_string(res->status) : "lost", res ? res->wall_time_s : 0.0, peak,
                j->orphaned ? " (client disconnected: stopped)" : "", res && res->error[0] ? ": " : "",
                res && res->error[0] ? res->error : "");
}

void server_job_done(djob *j) {
        server *s = j->s;
        client *c = j->owner;
        log_job(j, corral_job_result(j->job));
        (void) epoll_ctl(s->epfd, EPOLL_CTL_DEL, j->w.fd, NULL);
        if (c) {
                c->run = NULL;
                /* oneway Runs get no reply at all */
                if (j->reply)
                        methods_send_result(c, j, false);
        }
        if (j->prev)
                j->prev->next = j->next;
        else
                s->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        s->n_jobs--;
        j->job = corral_job_free(j->job);
        for (char **a = j->argv; *a; a++)
                free(*a);
        free(j->argv);
        j->argv = NULL;
        j->w.dead = true;
        j->next = s->grave_jobs;
        s->grave_jobs = j;
        if (c) {
                client_process(c);
                (void) client_settle(c);
        }
}

static void job_event(djob *j) {
        int r = corral_job_dispatch(j->job);
        if (r == 0)
                return;
        if (r < 0)
                fprintf(stderr, "corrald: job %s: dispatch failed: %s; stopping it\n", j->id_str, strerror(-r));
        server_job_done(j);
}

/* ---- lifecycle ---- */

int server_init(server *s) {
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epfd < 0)
                return negative_errno();
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        s->signal_w = (watch){ WATCH_SIGNAL, fd };
        s->start_usec = clock_usec();
        return epoll_set(s, EPOLL_CTL_ADD, fd, EPOLLIN, &s->signal_w);
}

int server_add_listener(server *s, int fd) {
        if (s->n_listen >= ELEMENTSOF(s->listen_w))
                return -E2BIG;
        watch *w = &s->listen_w[s->n_listen];
        *w = (watch){ WATCH_LISTEN, fd };
        int r = epoll_set(s, EPOLL_CTL_ADD, fd, EPOLLIN, w);
        if (r < 0)
                return r;
        s->n_listen++;
        return 0;
}

void server_done(server *s) {
        /* An activated socket is PID 1's too: closing our copy is all (never shutdown()). */
        for (size_t i = 0; i < s->n_listen; i++)
                s->listen_w[i].fd = safe_close(s->listen_w[i].fd);
        s->n_listen = 0;
        s->signal_w.fd = safe_close(s->signal_w.fd);
        s->epfd = safe_close(s->epfd);
}

static void begin_stop(server *s, const char *why) {
        if (s->stopping)
                return;
        s->stopping = true;
        fprintf(stderr, "corrald: %s: stopping; interrupting %zu jobs\n", why, s->n_jobs);
        sysd_stopping("stopping: interrupting every job");
        for (size_t i = 0; i < s->n_listen; i++)
                (void) epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_w[i].fd, NULL);
        uint64_t grace = 0;
        for (djob *j = s->jobs; j; j = j->next) {
                if (j->grace_usec > grace)
                        grace = j->grace_usec;
                (void) corral_job_interrupt(j->job);
        }
        s->stop_deadline_usec = clock_usec() + grace + 900 * USEC_PER_MSEC;
        /* Idle clients go now; the others once their result is out. */
        for (client *c = s->clients, *next; c; c = next) {
                next = c->next;
                (void) client_settle(c);
        }
}

/* Free what died during the last batch of events. */
static void bury(server *s) {
        if (s->grave_jobs || s->grave_clients)
                s->trim_pending = true;
        while (s->grave_clients) {
                client *c = s->grave_clients;
                s->grave_clients = c->next;
                free(c);
        }
        while (s->grave_jobs) {
                djob *j = s->grave_jobs;
                s->grave_jobs = j->next;
                free(j);
        }
}

int server_run(server *s) {
        struct epoll_event events[64];
        for (;;) {
                if (s->stopping && s->n_jobs == 0 && s->n_clients == 0) {
                        bury(s);
                        return 0;
                }
                int timeout = -1;
                if (s->stopping) {
                        uint64_t now = clock_usec();
                        if (now >= s->stop_deadline_usec) {
                                fprintf(stderr, "corrald: stop deadline passed with %zu jobs, %zu clients left\n",
                                        s->n_jobs, s->n_clients);
                                while (s->jobs)
                                        server_job_done(s->jobs); /* corral_job_free kills and reaps */
                                while (s->clients)
                                        server_client_close(s->clients);
                                bury(s);
                                return 0;
                        }
                        timeout = (int) ((s->stop_deadline_usec - now + 999) / 1000);
                } else if (s->trim_pending && s->n_jobs == 0)
                        timeout = 100; /* idle for 100 ms: give the peak's memory back */
                int n = epoll_wait(s->epfd, events, ELEMENTSOF(events), timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0 && s->trim_pending && s->n_jobs == 0 && !s->stopping) {
                        /* a burst of clients leaves its buffers spread over the heap */
                        malloc_trim(0);
                        s->trim_pending = false;
                }
                for (int i = 0; i < n; i++) {
                        watch *w = events[i].data.ptr;
                        if (w->dead)
                                continue;
                        switch (w->kind) {
                        case WATCH_LISTEN:
                                if (!s->stopping)
                                        accept_clients(s, w->fd);
                                break;
                        case WATCH_CLIENT:
                                client_event((client *) w, events[i].events);
                                break;
                        case WATCH_JOB:
                                job_event((djob *) w);
                                break;
                        case WATCH_SIGNAL: {
                                struct signalfd_siginfo si;
                                while (read(w->fd, &si, sizeof si) == sizeof si)
                                        begin_stop(s, strsignal((int) si.ssi_signo));
                                break;
                        }
                        }
                }
                bury(s);
        }
}

