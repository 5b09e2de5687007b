/* SPDX-License-Identifier: MIT */
/*
 * The systemd D-Bus client: StartTransientUnit of a scope with Delegate=yes holding
 * this process, as `systemd-run --scope -p Delegate=yes` does, then wait for the job's
 * JobRemoved signal.
 *
 * libsystemd is loaded with dlopen() the first time a scope is asked for, so that
 * every run that never needs systemd (rule 1 of placement, containers, hybrid hosts)
 * pays nothing for it at start-up. Only the headers are used at build time.
 *
 * Which manager: as root the system manager, on its private socket
 * /run/systemd/private when it is there (no broker, no polkit), else the system bus;
 * as any other user the user's own manager on $XDG_RUNTIME_DIR/systemd/private, else
 * the user bus. A private socket is used only when it is owned by root or by us.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "dlopen.h"
#include "macro.h"
#include "sdbus.h"

#define SCOPE_JOB_TIMEOUT_USEC (60 * USEC_PER_SEC) /* a TCG guest under load is slow */

static struct {
        void *dl;
        typeof(sd_bus_new) *new_;
        typeof(sd_bus_set_address) *set_address;
        typeof(sd_bus_start) *start;
        typeof(sd_bus_open_system) *open_system;
        typeof(sd_bus_open_user) *open_user;
        typeof(sd_bus_flush_close_unref) *flush_close_unref;
        typeof(sd_bus_message_new_method_call) *message_new_method_call;
        typeof(sd_bus_message_append) *message_append;
        typeof(sd_bus_message_read) *message_read;
        typeof(sd_bus_message_unref) *message_unref;
        typeof(sd_bus_call) *call;
        typeof(sd_bus_match_signal) *match_signal;
        typeof(sd_bus_slot_unref) *slot_unref;
        typeof(sd_bus_process) *process;
        typeof(sd_bus_wait) *wait;
        typeof(sd_bus_error_free) *error_free;
        int load_result;
        char error[256];
} lib;

static void load_once(void) {
        const dl_symbol symbols[] = {
                { "sd_bus_new", (void **) &lib.new_ },
                { "sd_bus_set_address", (void **) &lib.set_address },
                { "sd_bus_start", (void **) &lib.start },
                { "sd_bus_open_system", (void **) &lib.open_system },
                { "sd_bus_open_user", (void **) &lib.open_user },
                { "sd_bus_flush_close_unref", (void **) &lib.flush_close_unref },
                { "sd_bus_message_new_method_call", (void **) &lib.message_new_method_call },
                { "sd_bus_message_append", (void **) &lib.message_append },
                { "sd_bus_message_read", (void **) &lib.message_read },
                { "sd_bus_message_unref", (void **) &lib.message_unref },
                { "sd_bus_call", (void **) &lib.call },
                { "sd_bus_match_signal", (void **) &lib.match_signal },
                { "sd_bus_slot_unref", (void **) &lib.slot_unref },
                { "sd_bus_process", (void **) &lib.process },
                { "sd_bus_wait", (void **) &lib.wait },
                { "sd_bus_error_free", (void **) &lib.error_free },
        };
        lib.load_result = dl_open_table("libsystemd.so.0", &lib.dl, symbols, ELEMENTSOF(symbols), lib.error,
                                        sizeof lib.error);
}

static int load(char why[static SDBUS_WHY_MAX]) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, load_once);
        if (lib.load_result < 0) {
                snprintf(why, SDBUS_WHY_MAX, "%s", lib.error);
                return lib.load_result;
        }
        return 0;
}

/* A private manager socket we may trust: a socket owned by root or by us. */
static bool trusted_socket(const char *path) {
        struct stat st;
        return lstat(path, &st) >= 0 && S_ISSOCK(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid());
}

static int user_paths(char priv[static 4096], char bus[static 4096]) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        if (!rt || rt[0] != '/')
                return -ENXIO;
        snprintf(priv, 4096, "%s/systemd/private", rt);
        snprintf(bus, 4096, "%s/bus", rt);
        return 0;
}

bool sdbus_manager_reachable(void) {
        char priv[4096], bus[4096];
        if (geteuid() == 0)
                return access("/run/systemd/system", F_OK) == 0;
        if (user_paths(priv, bus) < 0)
                return false;
        return trusted_socket(priv) || access(bus, F_OK) == 0;
}

static void bus_closep(sd_bus **b) {
        if (*b)
                lib.flush_close_unref(*b);
}
static void message_unrefp(sd_bus_message **m) {
        if (*m)
                lib.message_unref(*m);
}
static void slot_unrefp(sd_bus_slot **s) {
        if (*s)
                lib.slot_unref(*s);
}
static void error_freep(sd_bus_error *e) {
        lib.error_free(e);
}

/* A direct connection to a manager's private socket. */
static int connect_private(const char *path, sd_bus **ret) {
        _cleanup_(bus_closep) sd_bus *b = NULL;
        char address[4200];
        int r;

        r = lib.new_(&b);
        if (r < 0)
                return r;
        snprintf(address, sizeof address, "unix:path=%s", path);
        r = lib.set_address(b, address);
        if (r < 0)
                return r;
        r = lib.start(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

static int connect_manager(sd_bus **ret, const char **ret_how) {
        char priv[4096], bus[4096];
        int r;

        if (geteuid() == 0) {
                if (trusted_socket("/run/systemd/private") &&
                    connect_private("/run/systemd/private", ret) >= 0) {
                        *ret_how = "the system manager (/run/systemd/private)";
                        return 0;
                }
                *ret_how = "the system bus";
                return lib.open_system(ret);
        }
        r = user_paths(priv, bus);
        if (r >= 0 && trusted_socket(priv) && connect_private(priv, ret) >= 0) {
                *ret_how = "the user manager ($XDG_RUNTIME_DIR/systemd/private)";
                return 0;
        }
        *ret_how = "the user bus";
        return lib.open_user(ret);
}

struct job_wait {
        const char *job;
        bool done;
        char result[64];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct job_wait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (lib.message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->job && strcmp(path, w->job) == 0) {
                w->done = true;
                snprintf(w->result, sizeof w->result, "%s", result);
        }
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

int sdbus_start_scope(char *ret_unit, size_t unit_size, char why[static SDBUS_WHY_MAX]) {
        _cleanup_(bus_closep) sd_bus *bus = NULL;
        _cleanup_(message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(error_freep) sd_bus_error error = SD_BUS_ERROR_NULL;
        struct job_wait w = {};
        const char *how = "systemd", *job;
        char unit[128], job_copy[256];
        unsigned rnd;
        int r;

        r = load(why);
        if (r < 0)
                return r;
        r = connect_manager(&bus, &how);
        if (r < 0) {
                snprintf(why, SDBUS_WHY_MAX, "cannot connect to %s: %s", how, strerror(-r));
                return r;
        }

        /* Subscribe before the call: the job may finish before the reply is read. */
        r = lib.match_signal(bus, &slot, NULL, "/org/freedesktop/systemd1",
                             "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w);
        if (r < 0) {
                snprintf(why, SDBUS_WHY_MAX, "cannot watch systemd's jobs on %s: %s", how, strerror(-r));
                return r;
        }

        if (getentropy(&rnd, sizeof rnd) < 0)
                rnd = (unsigned) now_usec();
        snprintf(unit, sizeof unit, "corral-%d-%08x.scope", (int) getpid(), rnd);
        r = lib.message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                        "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = lib.message_append(m, "ss", unit, "fail");
        /* PIDs, not PIDFDs: systemd 252 (Debian 12) has no PIDFDs (255). No TasksMax:
         * the runs' own pids.max limit them; the scope gets the manager's default. */
        if (r >= 0)
                r = lib.message_append(m, "a(sv)", 4,
                                       "Description", "s", "corral: delegated cgroup for sandboxed runs",
                                       "PIDs", "au", 1, (uint32_t) getpid(),
                                       "Delegate", "b", 1,
                                       "CollectMode", "s", "inactive-or-failed");
        if (r >= 0)
                r = lib.message_append(m, "a(sa(sv))", 0);
        if (r < 0) {
                snprintf(why, SDBUS_WHY_MAX, "cannot build the StartTransientUnit call: %s", strerror(-r));
                return r;
        }
        r = lib.call(bus, m, 0, &error, &reply);
        if (r < 0) {
                snprintf(why, SDBUS_WHY_MAX, "%s refused the scope %s: %s%s%s", how, unit,
                         error.name ? error.name : strerror(-r), error.message ? ": " : "",
                         error.message ? error.message : "");
                return r;
        }
        r = lib.message_read(reply, "o", &job);
        if (r < 0) {
                snprintf(why, SDBUS_WHY_MAX, "unexpected reply to StartTransientUnit: %s", strerror(-r));
                return r;
        }
        snprintf(job_copy, sizeof job_copy, "%s", job);
        w.job = job_copy;

        uint64_t deadline = now_usec() + SCOPE_JOB_TIMEOUT_USEC;
        while (!w.done) {
                r = lib.process(bus, NULL);
                if (r < 0) {
                        snprintf(why, SDBUS_WHY_MAX, "lost %s while waiting for %s: %s", how, unit,
                                 strerror(-r));
                        return r;
                }
                if (r > 0)
                        continue;
                uint64_t now = now_usec();
                if (now >= deadline) {
                        snprintf(why, SDBUS_WHY_MAX, "the job starting %s did not finish within %" PRIu64 "s",
                                 unit, SCOPE_JOB_TIMEOUT_USEC / USEC_PER_SEC);
                        return -ETIMEDOUT;
                }
                r = lib.wait(bus, deadline - now);
                if (r < 0 && r != -EINTR) {
                        snprintf(why, SDBUS_WHY_MAX, "waiting for %s failed: %s", unit, strerror(-r));
                        return r;
                }
        }
        if (strcmp(w.result, "done") != 0) {
                snprintf(why, SDBUS_WHY_MAX, "the job starting %s ended '%s'", unit, w.result);
                return -EIO;
        }
        snprintf(ret_unit, unit_size, "%s", unit);
        return 0;
}
