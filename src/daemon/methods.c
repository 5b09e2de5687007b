/* SPDX-License-Identifier: MIT */
/*
 * The methods corrald serves: io.corral.Sandbox (Run, Kill, List, Ping) and
 * org.varlink.service (GetInfo, GetInterfaceDescription). Every parameter is checked
 * for its type and every unknown one is refused, with an error naming it; a Run starts
 * nothing until its input, its fds, its keys and the caller's quota all passed.
 * Privilege: runs each command as the caller (SO_PEERCRED) through libcorral.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "corrald.h"
#include "macro.h"

#define SANDBOX "io.corral.Sandbox"
#define SERVICE "org.varlink.service"
#define ARGV_MAX 4096
#define ENV_MAX 4096

extern const char corrald_idl_sandbox[];

static const char service_idl[] =
        "# The Varlink Service Interface is provided by every varlink service. It\n"
        "# describes the service and the interfaces it implements.\n"
        "interface org.varlink.service\n"
        "\n"
        "# Get a list of all the interfaces a service provides and information\n"
        "# about the implementation.\n"
        "method GetInfo() -> (\n"
        "  vendor: string,\n"
        "  product: string,\n"
        "  version: string,\n"
        "  url: string,\n"
        "  interfaces: []string\n"
        ")\n"
        "\n"
        "# Get the description of an interface that is implemented by this service.\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"
        "\n"
        "# The requested interface was not found.\n"
        "error InterfaceNotFound (interface: string)\n"
        "\n"
        "# The requested method was not found\n"
        "error MethodNotFound (method: string)\n"
        "\n"
        "# The interface defines the requested method, but the service does not\n"
        "# implement it.\n"
        "error MethodNotImplemented (method: string)\n"
        "\n"
        "# One of the passed parameters is invalid.\n"
        "error InvalidParameter (parameter: string)\n"
        "\n"
        "# Client is denied access\n"
        "error PermissionDenied ()\n"
        "\n"
        "# Method is expected to be called with 'more' set to true, but wasn't\n"
        "error ExpectedMore ()\n";

/* Replies are dropped for oneway calls; a reply that cannot be queued closes the client. */
static void reply(client *c, const vl_call *call, json_t *params, bool continues) {
        if (call->oneway) {
                json_decref(params);
                return;
        }
        if (vl_conn_reply(&c->vl, params, continues) < 0)
                c->closing = true;
}

static void reply_error(client *c, const vl_call *call, const char *error, json_t *params) {
        if (call->oneway) {
                json_decref(params);
                return;
        }
        if (vl_conn_error(&c->vl, error, params) < 0)
                c->closing = true;
}

static void invalid(client *c, const vl_call *call, const char *parameter, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void invalid(client *c, const vl_call *call, const char *parameter, const char *fmt, ...) {
        char reason[300];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        reply_error(c, call, SANDBOX ".InvalidParameter",
                    json_pack("{s:s, s:s}", "parameter", parameter, "reason", reason));
}

static void permission_denied(client *c, const vl_call *call, const char *reason) {
        reply_error(c, call, SANDBOX ".PermissionDenied", json_pack("{s:s}", "reason", reason));
}

static void unavailable(client *c, const vl_call *call, const char *reason) {
        reply_error(c, call, SANDBOX ".Unavailable", json_pack("{s:s}", "reason", reason));
}

/* Every key of params must be one of allowed (NULL-terminated); else InvalidParameter. */
static bool only_known(client *c, const vl_call *call, const char *const *allowed) {
        const char *key;
        json_t *v;
        json_object_foreach(call->parameters, key, v) {
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = strcmp(key, *a) == 0;
                if (!known) {
                        invalid(c, call, key, "unknown parameter");
                        return false;
                }
        }
        return true;
}

/* A []string parameter: NULL-terminated copy in *ret (free with strv_free), or an error sent. */
static void strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static int get_strv(client *c, const vl_call *call, const char *name, size_t max, bool required, char ***ret) {
        json_t *a = json_object_get(call->parameters, name);
        *ret = NULL;
        if (!a || json_is_null(a)) {
                if (required) {
                        invalid(c, call, name, "missing");
                        return -EINVAL;
                }
                return 0;
        }
        if (!json_is_array(a)) {
                invalid(c, call, name, "must be an array of strings");
                return -EINVAL;
        }
        size_t n = json_array_size(a);
        if (n > max) {
                invalid(c, call, name, "more than %zu elements", max);
                return -EINVAL;
        }
        char **v = calloc(n + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(a, i);
                const char *s = json_string_value(e);
                if (!s || strlen(s) != json_string_length(e)) {
                        strv_free(v);
                        invalid(c, call, name, "element %zu is not a string (or holds a NUL byte)", i);
                        return -EINVAL;
                }
                v[i] = strdup(s);
                if (!v[i]) {
                        strv_free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

/* An fd index parameter: -1 if absent. */
static int get_index(client *c, const vl_call *call, const char *name, int *ret) {
        json_t *v = json_object_get(call->parameters, name);
        *ret = -1;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v)) {
                invalid(c, call, name, "must be an integer: an index into the fds sent with the call");
                return -EINVAL;
        }
        json_int_t i = json_integer_value(v);
        if (i < 0 || (size_t) i >= call->n_fds) {
                invalid(c, call, name, "fd index %" JSON_INTEGER_FORMAT " but %zu fds came with the call", i,
                        call->n_fds);
                return -EINVAL;
        }
        *ret = (int) i;
        return 0;
}

static void run_method(client *c, vl_call *call) {
        static const char *const allowed[] = { "argv",   "env",    "properties", "policy", "stdin",
                                               "stdout", "stderr", "cwd",        NULL };
        static const char *const fd_names[] = { "stdin", "stdout", "stderr", "cwd" };
        server *s = c->s;
        char **argv = NULL, **env = NULL, **props = NULL;
        corral_policy *p = NULL;
        corral_spawn_attr *attr = NULL;
        _cleanup_close_ int devnull = -EBADF;
        int idx[4], fds[4] = { -1, -1, -1, -1 };
        corral_diag diag = {};
        int r;

        if (!only_known(c, call, allowed))
                return;
        if (get_strv(c, call, "argv", ARGV_MAX, true, &argv) < 0 || get_strv(c, call, "env", ENV_MAX, false, &env) < 0 ||
            get_strv(c, call, "properties", 1024, false, &props) < 0)
                goto out;
        if (!argv[0] || !argv[0][0]) {
                invalid(c, call, "argv", "empty: no command to run");
                goto out;
        }
        for (char **e = env; e && *e; e++)
                if (!strchr(*e, '=')) {
                        invalid(c, call, "env", "'%.64s' is not NAME=VALUE", *e);
                        goto out;
                }
        if (call->fds_overflow) {
                invalid(c, call, "fds", "more than %d fds, or fds that did not come with the message's first byte",
                        VL_FDS_MAX);
                goto out;
        }
        bool used[VL_FDS_MAX] = {};
        for (int i = 0; i < 4; i++) {
                if (get_index(c, call, fd_names[i], &idx[i]) < 0)
                        goto out;
                if (idx[i] >= 0)
                        used[idx[i]] = true;
        }
        for (size_t i = 0; i < call->n_fds; i++)
                if (!used[i]) {
                        invalid(c, call, "fds", "fd %zu was sent but no parameter refers to it", i);
                        goto out;
                }
        for (int i = 0; i < 4; i++) {
                if (idx[i] < 0)
                        continue;
                int fd = call->fds[idx[i]];
                struct stat st;
                int fl = fcntl(fd, F_GETFL);
                if (fstat(fd, &st) < 0 || fl < 0) {
                        invalid(c, call, fd_names[i], "not a usable fd: %m");
                        goto out;
                }
                if (i == 3) {
                        if (!S_ISDIR(st.st_mode)) {
                                invalid(c, call, "cwd", "not a directory");
                                goto out;
                        }
                } else if ((fl & O_PATH) || (i == 0 && (fl & O_ACCMODE) == O_WRONLY) ||
                           (i > 0 && (fl & O_ACCMODE) == O_RDONLY)) {
                        invalid(c, call, fd_names[i], "the fd is not open for %s", i == 0 ? "reading" : "writing");
                        goto out;
                } else if (S_ISDIR(st.st_mode)) {
                        invalid(c, call, fd_names[i], "a directory");
                        goto out;
                }
                fds[i] = fd;
        }

        if (corral_policy_new(&p) < 0)
                goto oom;
        json_t *pol = json_object_get(call->parameters, "policy");
        if (pol && !json_is_null(pol)) {
                if (!json_is_string(pol)) {
                        invalid(c, call, "policy", "must be a string: a policy name");
                        goto out;
                }
                /* a name only, from the daemon's policy directories (never a client's path) */
                r = corral_policy_load_name(p, json_string_value(pol), &diag);
                if (r == -ENOENT) {
                        reply_error(c, call, SANDBOX ".PolicyNotFound", json_pack("{s:s}", "policy", json_string_value(pol)));
                        goto out;
                }
                if (r < 0) {
                        invalid(c, call, "policy", "%s", diag.message);
                        goto out;
                }
        }
        /* corrald's base is its own, chosen once at start-up: a run through corrald never
         * gets another, not even from an administrator's policy written for `corral run`. */
        if (corral_policy_set(p, "CGroupBase", "", &diag) < 0)
                goto oom;
        for (char **a = props; a && *a; a++) {
                /* The key as corral_policy_set_assignment() reads it (blanks around it are not
                 * part of it): the key checked here must be the key that is set. */
                const char *eq = strchr(*a, '='), *start = *a + strspn(*a, " \t"), *end = eq;
                while (end && end > start && (end[-1] == ' ' || end[-1] == '\t'))
                        end--;
                if (!eq || end == start) {
                        invalid(c, call, "properties", "malformed assignment '%.64s': expected Key=Value", *a);
                        goto out;
                }
                _cleanup_free_ char *key = strndup(start, (size_t) (end - start));
                if (!key)
                        goto oom;
                /* A request that moved the base would move the daemon (placement migrates this
                 * process) and every later run. */
                if (strcmp(key, "CGroupBase") == 0) {
                        permission_denied(c, call, "CGroupBase= is corrald's own start-up setting, not a request's");
                        goto out;
                }
                if (auth_root_only_key(key) && c->vl.uid != 0) {
                        char why[128];
                        snprintf(why, sizeof why, "%.64s= is for root only", key);
                        permission_denied(c, call, why);
                        goto out;
                }
                r = corral_policy_set(p, key, eq + 1, &diag);
                if (r < 0) {
                        invalid(c, call, "properties", "%s", diag.message);
                        goto out;
                }
        }
        /* The namespace and mount keys a client may set are applied with the daemon's
         * privileges before the run becomes the caller: a setuid program must never run in a
         * file system view that root built on a user's request. */
        if (c->vl.uid != 0 && corral_policy_set(p, "NoNewPrivileges", "yes", &diag) < 0)
                goto oom;
        if (s->stopping) {
                unavailable(c, call, "corrald is shutting down");
                goto out;
        }
        if (s->n_jobs >= s->cfg.max_jobs) {
                char why[128];
                snprintf(why, sizeof why, "corrald runs its maximum of %" PRIu64 " jobs ([Daemon] Jobs=)",
                         s->cfg.max_jobs);
                unavailable(c, call, why);
                goto out;
        }
        const char *quota_name = NULL;
        char limit[64], reason[300];
        r = auth_check_quota(s, c, p, &quota_name, limit, sizeof limit, reason, sizeof reason);
        if (r == -EDQUOT) {
                reply_error(c, call, SANDBOX ".QuotaExceeded",
                            json_pack("{s:s, s:s, s:s}", "quota", quota_name, "limit", limit, "reason", reason));
                goto out;
        }
        if (r < 0)
                goto oom;

        if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
                devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (devnull < 0) {
                        unavailable(c, call, "cannot open /dev/null");
                        goto out;
                }
        }
        static char *const empty_env[] = { NULL };
        if (corral_spawn_attr_new(&attr) < 0 ||
            corral_spawn_attr_set_stdio(attr, fds[0] >= 0 ? fds[0] : devnull, fds[1] >= 0 ? fds[1] : devnull,
                                        fds[2] >= 0 ? fds[2] : devnull) < 0 ||
            corral_spawn_attr_set_env(attr, env ? env : empty_env) < 0 ||
            corral_spawn_attr_set_cwd(attr, fds[3], fds[3] >= 0 ? NULL : "/") < 0 ||
            corral_spawn_attr_set_credentials(attr, c->vl.uid, c->vl.gid, c->vl.groups, c->vl.n_groups) < 0)
                goto oom;

        djob *j = calloc(1, sizeof *j);
        if (!j)
                goto oom;
        j->s = s;
        j->uid = c->vl.uid;
        j->gid = c->vl.gid;
        j->argv = TAKE_PTR(argv);
        (void) corral_policy_get_u64(p, "MemoryMax", &j->memory_max);
        j->start_usec = clock_usec();
        r = s->ops->start(s, j, p, attr, &diag);
        if (r < 0) {
                char why[300];
                snprintf(why, sizeof why, "cannot start a job: %s", diag.message[0] ? diag.message : strerror(-r));
                strv_free(j->argv);
                free(j);
                unavailable(c, call, why);
                goto out;
        }
        (void) corral_policy_get_u64(p, "TimeoutStopSec", &j->grace_usec);
        j->owner = c;
        j->reply = !call->oneway;
        c->run = j;
        c->run_more = call->more && !call->oneway;
        if (c->run_more) {
                json_t *started = json_pack("{s:s, s:I, s:s}", "id", j->id_str, "pid", (json_int_t) corral_job_pid(j->job),
                                            "backend", corral_backend_to_string(corral_job_backend(j->job)));
                reply(c, call, started, true);
        }
        goto out;
oom:
        unavailable(c, call, "out of memory");
out:
        corral_spawn_attr_free(attr);
        corral_policy_free(p);
        strv_free(argv);
        strv_free(env);
        strv_free(props);
}

void methods_send_result(client *c, djob *j, bool continues) {
        const corral_result *res = corral_job_result(j->job);
        char *text = NULL;
        json_t *o = NULL;
        if (res && corral_result_to_json(res, &text) >= 0)
                o = json_loads(text, 0, NULL);
        free(text);
        if (!o) {
                if (vl_conn_error(&c->vl, SANDBOX ".Unavailable",
                                  json_pack("{s:s}", "reason", "cannot format the result")) < 0)
                        c->closing = true;
                return;
        }
        if (vl_conn_reply(&c->vl, o, continues) < 0)
                c->closing = true;
}

static void kill_method(client *c, vl_call *call) {
        static const char *const allowed[] = { "id", NULL };
        if (!only_known(c, call, allowed))
                return;
        json_t *v = json_object_get(call->parameters, "id");
        if (!json_is_string(v)) {
                invalid(c, call, "id", v ? "must be a string" : "missing");
                return;
        }
        djob *j = server_find_job(c->s, json_string_value(v));
        if (!j) {
                reply_error(c, call, SANDBOX ".NoSuchJob", json_pack("{s:s}", "id", json_string_value(v)));
                return;
        }
        if (j->uid != c->vl.uid && c->vl.uid != 0) {
                char why[128];
                snprintf(why, sizeof why, "job %s belongs to another user", j->id_str);
                permission_denied(c, call, why);
                return;
        }
        (void) corral_job_interrupt(j->job);
        reply(c, call, NULL, false);
}

static void list_method(client *c, vl_call *call) {
        static const char *const allowed[] = { NULL };
        if (!only_known(c, call, allowed))
                return;
        json_t *jobs = json_array();
        uint64_t now = clock_usec();
        for (djob *j = c->s->jobs; j; j = j->next) {
                if (j->uid != c->vl.uid && c->vl.uid != 0)
                        continue;
                json_t *argv = json_array();
                for (char **a = j->argv; *a; a++)
                        json_array_append_new(argv, json_string(*a));
                json_array_append_new(jobs, json_pack("{s:s, s:I, s:I, s:o, s:s, s:f}", "id", j->id_str, "uid",
                                                      (json_int_t) j->uid, "pid", (json_int_t) corral_job_pid(j->job),
                                                      "argv", argv, "backend",
                                                      corral_backend_to_string(corral_job_backend(j->job)),
                                                      "running_s", (double) (now - j->start_usec) / 1e6));
        }
        reply(c, call, json_pack("{s:o}", "jobs", jobs), false);
}

static void ping_method(client *c, vl_call *call) {
        static const char *const allowed[] = { NULL };
        if (!only_known(c, call, allowed))
                return;
        server *s = c->s;
        reply(c, call,
              json_pack("{s:s, s:I, s:I, s:f}", "version", CORRAL_VERSION_STRING, "jobs", (json_int_t) s->n_jobs,
                        "connections", (json_int_t) s->n_clients, "uptime_s",
                        (double) (clock_usec() - s->start_usec) / 1e6),
              false);
}

static void doctor_method(client *c, vl_call *call) {
        static const char *const allowed[] = { NULL };
        static const corral_backend rungs[] = { CORRAL_BACKEND_CGROUP2, CORRAL_BACKEND_CGROUP2_CORE,
                                                CORRAL_BACKEND_RLIMIT };
        if (!only_known(c, call, allowed))
                return;
        corral_policy *p = NULL;
        corral_doctor_report rep;
        if (corral_policy_new(&p) < 0 || c->s->ops->doctor(p, &rep) < 0) {
                corral_policy_free(p);
                unavailable(c, call, "the doctor failed");
                return;
        }
        corral_policy_free(p);
        json_t *r = json_object();
        for (size_t i = 0; i < ELEMENTSOF(rungs); i++) {
                const char *why = rep.reason[rungs[i]];
                json_object_set_new(r, corral_backend_to_string(rungs[i]),
                                    json_pack("{s:b, s:o}", "usable", !why[0], "reason",
                                              why[0] ? json_string(why) : json_null()));
        }
        reply(c, call,
              json_pack("{s:s, s:o, s:o}", "chosen", corral_backend_to_string(rep.chosen), "rungs", r, "cgroup_base",
                        rep.cgroup_base[0] ? json_string(rep.cgroup_base) : json_null()),
              false);
}

static void get_info(client *c, vl_call *call) {
        static const char *const allowed[] = { NULL };
        if (!only_known(c, call, allowed))
                return;
        reply(c, call,
              json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "vendor", "corral", "product", "corrald", "version",
                        CORRAL_VERSION_STRING, "url", "https://github.com/corral/corral", "interfaces", SERVICE,
                        SANDBOX),
              false);
}

static void get_description(client *c, vl_call *call) {
        static const char *const allowed[] = { "interface", NULL };
        if (!only_known(c, call, allowed))
                return;
        json_t *v = json_object_get(call->parameters, "interface");
        if (!json_is_string(v)) {
                reply_error(c, call, SERVICE ".InvalidParameter", json_pack("{s:s}", "parameter", "interface"));
                return;
        }
        const char *name = json_string_value(v);
        const char *text = strcmp(name, SANDBOX) == 0 ? corrald_idl_sandbox
                           : strcmp(name, SERVICE) == 0 ? service_idl
                                                        : NULL;
        if (!text) {
                reply_error(c, call, SERVICE ".InterfaceNotFound", json_pack("{s:s}", "interface", name));
                return;
        }
        reply(c, call, json_pack("{s:s}", "description", text), false);
}

void methods_dispatch(client *c, vl_call *call) {
        static const struct {
                const char *name;
                void (*fn)(client *c, vl_call *call);
        } table[] = {
                { SANDBOX ".Run", run_method },
                { SANDBOX ".Kill", kill_method },
                { SANDBOX ".List", list_method },
                { SANDBOX ".Ping", ping_method },
                { SANDBOX ".Doctor", doctor_method },
                { SERVICE ".GetInfo", get_info },
                { SERVICE ".GetInterfaceDescription", get_description },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcmp(call->method, table[i].name) == 0) {
                        /* Only Run takes fds; anything else that brings some is refused. */
                        if (call->n_fds > 0 && table[i].fn != run_method) {
                                invalid(c, call, "fds", "%s takes no file descriptors", call->method);
                                return;
                        }
                        table[i].fn(c, call);
                        return;
                }
        const char *dot = strrchr(call->method, '.');
        size_t iface_len = dot ? (size_t) (dot - call->method) : 0;
        bool known_iface = (iface_len == strlen(SANDBOX) && strncmp(call->method, SANDBOX, iface_len) == 0) ||
                           (iface_len == strlen(SERVICE) && strncmp(call->method, SERVICE, iface_len) == 0);
        if (known_iface)
                reply_error(c, call, SERVICE ".MethodNotFound", json_pack("{s:s}", "method", call->method));
        else {
                char iface[256];
                snprintf(iface, sizeof iface, "%.*s", dot ? (int) (dot - call->method) : 255, call->method);
                reply_error(c, call, SERVICE ".InterfaceNotFound", json_pack("{s:s}", "interface", iface));
        }
}
