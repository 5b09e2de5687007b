/* SPDX-License-Identifier: MIT */
/*
 * The client side of corrald: a run through the service that looks like a local one.
 * corral_client_spawn() connects (one connection per run: varlink answers calls in
 * order), sends io.corral.Sandbox.Run with "more", the policy's assignments, the
 * environment and the caller's stdio and working directory as fds (SCM_RIGHTS), and
 * waits for the first reply (the run started, or an error that becomes -errno and a
 * diag). After that the job's fd watches the socket; dispatch reads the final reply,
 * the result object. Interrupting sends Kill on a second connection; freeing a running
 * job closes the socket, and corrald stops a run whose client went away.
 * Touches: AF_UNIX sockets. No privilege.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "client.h"
#include "macro.h"
#include "policy.h"
#include "result.h"
#include "varlink.h"

extern char **environ;

#define DEFAULT_SOCKET "/run/corral/corral.sock"

struct corral_client {
        char *path;
};

struct client_run {
        char *path;
        int fd;
        vl_reader reader;
        char id[32];
        pid_t pid;
        corral_backend backend;
        json_t *final; /* the result object: the result's strings point into it */
        bool done;
};

static int connect_to(const char *path, int *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return negative_errno();
        /* A daemon that accepts but never answers must not hang the caller: the blocking
         * round trips (connect's Ping, Run's first reply, Kill) give up after 45 s, as
         * systemd's varlink clients do. The run's own wait is the caller's poll. */
        struct timeval tv = { .tv_sec = 45 };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        *ret = TAKE_FD(fd);
        return 0;
}

/* A varlink error reply as -errno and one line. */
static int error_to_errno(json_t *reply, corral_diag *diag) {
        static const struct {
                const char *name;
                int err;
        } table[] = {
                { "io.corral.Sandbox.InvalidParameter", EINVAL }, { "io.corral.Sandbox.PermissionDenied", EPERM },
                { "io.corral.Sandbox.QuotaExceeded", EDQUOT },    { "io.corral.Sandbox.PolicyNotFound", ENOENT },
                { "io.corral.Sandbox.NoSuchJob", ESRCH },         { "io.corral.Sandbox.Unavailable", EAGAIN },
        };
        const char *error = json_string_value(json_object_get(reply, "error"));
        json_t *p = json_object_get(reply, "parameters");
        const char *reason = json_string_value(json_object_get(p, "reason"));
        const char *parameter = json_string_value(json_object_get(p, "parameter"));
        int err = EPROTO;
        for (size_t i = 0; error && i < ELEMENTSOF(table); i++)
                if (strcmp(error, table[i].name) == 0)
                        err = table[i].err;
        if (diag) {
                const char *shortname = error ? strrchr(error, '.') : NULL;
                snprintf(diag->message, sizeof diag->message, "corrald: %s%s%s%s%s",
                         shortname ? shortname + 1 : error ? error : "bad reply", parameter ? " " : "",
                         parameter ? parameter : "", reason ? ": " : "", reason ? reason : "");
        }
        return -err;
}

static const char *socket_path(const char *path) {
        if (path && *path)
                return path;
        const char *env = getenv("CORRAL_SOCKET");
        return env && *env ? env : DEFAULT_SOCKET;
}

/* One blocking call on its own connection: the reply, or -errno with a diag. */
static int call_once(const char *path, json_t *call, json_t **ret, corral_diag *diag) {
        _cleanup_close_ int fd = -EBADF;
        int r = connect_to(path, &fd);
        if (r < 0) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "cannot connect to corrald at %s: %s", path,
                                 strerror(-r));
                return r;
        }
        r = vl_send_call(fd, call, NULL, 0);
        vl_reader rd = {};
        json_t *reply = NULL;
        if (r >= 0)
                r = vl_read_reply(fd, &rd, &reply);
        vl_reader_done(&rd);
        if (r < 0) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "corrald at %s: %s", path, strerror(-r));
                return r;
        }
        if (json_object_get(reply, "error")) {
                r = error_to_errno(reply, diag);
                json_decref(reply);
                return r;
        }
        *ret = reply;
        return 0;
}

_public_ int corral_client_connect(const char *path, corral_client **ret, corral_diag *diag) {
        if (diag)
                diag->message[0] = '\0';
        if (!ret)
                return -EINVAL;
        const char *p = socket_path(path);
        json_t *call = json_pack("{s:s}", "method", "io.corral.Sandbox.Ping"), *reply = NULL;
        if (!call)
                return -ENOMEM;
        int r = call_once(p, call, &reply, diag);
        json_decref(call);
        json_decref(reply);
        if (r < 0)
                return r;
        corral_client *c = calloc(1, sizeof *c);
        if (!c || !(c->path = strdup(p))) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

_public_ corral_client *corral_client_free(corral_client *c) {
        if (c) {
                free(c->path);
                free(c);
        }
        return NULL;
}

static json_t *strv_to_json(char *const *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && (n == SIZE_MAX ? v[i] != NULL : i < n); i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

client_run *client_run_free(client_run *run) {
        if (!run)
                return NULL;
        safe_close(run->fd);
        vl_reader_done(&run->reader);
        json_decref(run->final);
        free(run->path);
        free(run);
        return NULL;
}

int client_run_start(const corral_client *c, const corral_policy *p, char *const argv[], const corral_spawn_attr *a,
                     client_run **ret, corral_diag *diag) {
        if (!c || !p || !argv || !argv[0] || !ret || (a && a->has_credentials)) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message,
                                 a && a->has_credentials ? "corrald runs every command as its caller: no credentials"
                                                         : "no command to run");
                return -EINVAL;
        }
        /* The fds travel with the call: stdio (the attribute's, else ours) and the cwd. */
        int fds[4], n = 0, idx[4] = { -1, -1, -1, -1 };
        _cleanup_close_ int cwd = -EBADF;
        for (int i = 0; i < 3; i++) {
                int fd = a && a->stdio[i] >= 0 ? a->stdio[i] : i;
                if (fcntl(fd, F_GETFD) < 0)
                        continue; /* closed: the run gets /dev/null */
                idx[i] = n;
                fds[n++] = fd;
        }
        if (a && a->cwd_fd >= 0)
                cwd = fcntl(a->cwd_fd, F_DUPFD_CLOEXEC, 3);
        else
                cwd = open(a && a->cwd_path ? a->cwd_path : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0) {
                int r = negative_errno();
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "working directory '%s': %s",
                                 a && a->cwd_path ? a->cwd_path : ".", strerror(-r));
                return r;
        }
        idx[3] = n;
        fds[n++] = cwd;

        size_t n_props;
        char *const *props = policy_assignments(p, &n_props);
        json_t *params = json_pack("{s:o, s:o, s:o}", "argv", strv_to_json(argv, SIZE_MAX), "env",
                                   strv_to_json(a && a->env ? a->env : environ, SIZE_MAX), "properties",
                                   strv_to_json(props, n_props));
        if (!params)
                return -ENOMEM;
        static const char *const names[] = { "stdin", "stdout", "stderr", "cwd" };
        for (int i = 0; i < 4; i++)
                if (idx[i] >= 0)
                        json_object_set_new(params, names[i], json_integer(idx[i]));
        json_t *call = json_pack("{s:s, s:o, s:b}", "method", "io.corral.Sandbox.Run", "parameters", params, "more", 1);
        if (!call)
                return -ENOMEM;

        client_run *run = calloc(1, sizeof *run);
        if (!run || !(run->path = strdup(c->path))) {
                free(run);
                json_decref(call);
                return -ENOMEM;
        }
        run->fd = -EBADF;
        int r = connect_to(c->path, &run->fd);
        if (r < 0) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "cannot connect to corrald at %s: %s", c->path,
                                 strerror(-r));
                goto fail;
        }
        r = vl_send_call(run->fd, call, fds, (size_t) n);
        json_decref(call);
        call = NULL;
        json_t *first = NULL;
        if (r >= 0)
                r = vl_read_reply(run->fd, &run->reader, &first);
        if (r < 0) {
                if (diag)
                        snprintf(diag->message, sizeof diag->message, "corrald at %s: %s", c->path, strerror(-r));
                goto fail;
        }
        if (json_object_get(first, "error")) {
                r = error_to_errno(first, diag);
                json_decref(first);
                goto fail;
        }
        json_t *fp = json_object_get(first, "parameters");
        if (json_is_true(json_object_get(first, "continues"))) {
                const char *id = json_string_value(json_object_get(fp, "id"));
                snprintf(run->id, sizeof run->id, "%s", id ? id : "");
                run->pid = (pid_t) json_integer_value(json_object_get(fp, "pid"));
                (void) corral_backend_from_string(json_string_value(json_object_get(fp, "backend")), &run->backend);
                json_decref(first);
        } else {
                /* No "started" reply: the run ended at once (spawn_error) */
                run->final = json_incref(fp);
                json_decref(first);
                run->done = true;
        }
        (void) fcntl(run->fd, F_SETFL, fcntl(run->fd, F_GETFL) | O_NONBLOCK);
        *ret = run;
        return 0;
fail:
        json_decref(call);
        client_run_free(run);
        return r;
}

int client_run_fd(const client_run *run) {
        return run->fd;
}

bool client_run_pending(const client_run *run) {
        return run->done || (run->reader.len > 0 && memchr(run->reader.buf, '\0', run->reader.len));
}

pid_t client_run_pid(const client_run *run) {
        return run->pid;
}

corral_backend client_run_backend(const client_run *run) {
        return run->backend;
}

int client_run_dispatch(client_run *run, corral_result *res) {
        while (!run->done) {
                json_t *m = NULL;
                int r = vl_read_reply(run->fd, &run->reader, &m);
                if (r == -EAGAIN)
                        return 0;
                if (r < 0)
                        return r == -ECONNRESET ? -ECONNRESET : r;
                if (json_object_get(m, "error")) {
                        json_decref(m);
                        return -EPROTO;
                }
                if (json_is_true(json_object_get(m, "continues"))) {
                        json_decref(m);
                        continue;
                }
                run->final = json_incref(json_object_get(m, "parameters"));
                json_decref(m);
                run->done = true;
        }
        int r = result_from_json(run->final, res);
        return r < 0 ? r : 1;
}

int client_run_result_json(const client_run *run, char **ret) {
        if (!run->final)
                return -ENODATA;
        char *s = json_dumps(run->final, JSON_REAL_PRECISION(9));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int client_run_interrupt(client_run *run) {
        if (run->done || !run->id[0])
                return 0;
        json_t *call = json_pack("{s:s, s:{s:s}}", "method", "io.corral.Sandbox.Kill", "parameters", "id", run->id);
        json_t *reply = NULL;
        if (!call)
                return -ENOMEM;
        int r = call_once(run->path, call, &reply, NULL);
        json_decref(call);
        json_decref(reply);
        return r == -ESRCH ? 0 : r; /* it had already ended */
}

_public_ int corral_client_doctor(corral_client *c, corral_doctor_report *ret, corral_diag *diag) {
        if (!c || !ret)
                return -EINVAL;
        json_t *call = json_pack("{s:s}", "method", "io.corral.Sandbox.Doctor"), *reply = NULL;
        if (!call)
                return -ENOMEM;
        int r = call_once(c->path, call, &reply, diag);
        json_decref(call);
        if (r < 0)
                return r;
        json_t *p = json_object_get(reply, "parameters"), *rungs = json_object_get(p, "rungs");
        corral_doctor_report rep = {};
        if (corral_backend_from_string(json_string_value(json_object_get(p, "chosen")), &rep.chosen) < 0) {
                json_decref(reply);
                return -EBADMSG;
        }
        for (int b = CORRAL_BACKEND_CGROUP2; b < _CORRAL_BACKEND_MAX; b++) {
                json_t *rung = json_object_get(rungs, corral_backend_to_string((corral_backend) b));
                const char *why = json_string_value(json_object_get(rung, "reason"));
                if (why)
                        snprintf(rep.reason[b], sizeof rep.reason[b], "%s", why);
        }
        const char *base = json_string_value(json_object_get(p, "cgroup_base"));
        if (base)
                snprintf(rep.cgroup_base, sizeof rep.cgroup_base, "%s", base);
        json_decref(reply);
        *ret = rep;
        return 0;
}
