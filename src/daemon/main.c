/* SPDX-License-Identifier: MIT */
/*
 * corrald: options, configuration, the cgroup base (claimed, locked and swept of what
 * a dead corrald left), the listening socket (systemd's, or --listen PATH), then the
 * loop in server.c. Runs as root: it starts every run as its caller's uid/gid.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "corrald.h"
#include "macro.h"
#include "systemd.h"

#define DEFAULT_SOCKET "/run/corral/corral.sock"
#define DEFAULT_CONFIG "/etc/corral/corrald.conf"

static void usage(FILE *f) {
        fputs("Usage: corrald [OPTIONS]\n"
              "\n"
              "The corral sandbox service: runs commands for local clients over varlink\n"
              "(io.corral.Sandbox), each as its caller, in its own transient cgroup.\n"
              "\n"
              "  -l, --listen PATH       listen on PATH (default: the socket systemd passed,\n"
              "                          else " DEFAULT_SOCKET ")\n"
              "      --socket-mode MODE  mode of a socket we create (default 0660)\n"
              "      --socket-group G    its group (default corral; root if there is none)\n"
              "  -c, --config PATH       configuration (default " DEFAULT_CONFIG ")\n"
              "      --check-config      parse the configuration and exit\n"
              "  -h, --help              this text\n",
              f);
}

static int listen_unix(const char *path, mode_t mode, const char *group) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(stderr, "corrald: socket path '%s' is too long\n", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                (void) mkdir(dir, 0755);
        }
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* A stale socket of a dead corrald: nobody answers on it. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
                fprintf(stderr, "corrald: another daemon already serves %s\n", path);
                return -EADDRINUSE;
        }
        (void) unlink(path);
        mode_t old = umask(0777);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0) {
                r = negative_errno();
                fprintf(stderr, "corrald: bind %s: %s\n", path, strerror(-r));
                return r;
        }
        /* A name or a number; the default group "corral" may not exist (then root's). */
        gid_t gid = (gid_t) -1;
        if (group && *group) {
                struct group *gr = getgrnam(group);
                char *end;
                unsigned long v = strtoul(group, &end, 10);
                if (gr)
                        gid = gr->gr_gid;
                else if (!*end && v < (gid_t) -1)
                        gid = (gid_t) v;
                else if (strcmp(group, "corral") != 0) {
                        fprintf(stderr, "corrald: socket group '%s': no such group\n", group);
                        return -ENOENT;
                }
        }
        if (gid != (gid_t) -1 && chown(path, 0, gid) < 0)
                fprintf(stderr, "corrald: chown %s to group %s: %m\n", path, group);
        if (chmod(path, mode) < 0) {
                r = negative_errno();
                fprintf(stderr, "corrald: chmod %s: %s\n", path, strerror(-r));
                return r;
        }
        if (listen(fd, 512) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

static void raise_nofile(void) {
        /* Each job holds about ten fds (pidfd, epoll, timer, cgroup files, the client's stdio). */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static void log_sweep(void *userdata, const char *group, unsigned killed) {
        fprintf(stderr, "corrald: swept %s left by a dead corral process: killed %u processes, removed it\n",
                group, killed);
}

int main(int argc, char *argv[]) {
        enum { OPT_MODE = 256, OPT_GROUP, OPT_CHECK };
        static const struct option options[] = {
                { "listen", required_argument, NULL, 'l' },
                { "socket-mode", required_argument, NULL, OPT_MODE },
                { "socket-group", required_argument, NULL, OPT_GROUP },
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *listen_path = NULL, *config_path = NULL, *group = "corral";
        mode_t mode = 0660;
        bool check_only = false;
        int c;

        while ((c = getopt_long(argc, argv, "l:c:h", options, NULL)) >= 0)
                switch (c) {
                case 'l':
                        listen_path = optarg;
                        break;
                case 'c':
                        config_path = optarg;
                        break;
                case OPT_MODE: {
                        char *end;
                        unsigned long m = strtoul(optarg, &end, 8);
                        if (!*optarg || *end || m > 0777) {
                                fprintf(stderr, "corrald: --socket-mode '%s': expected an octal mode like 0660\n",
                                        optarg);
                                return 2;
                        }
                        mode = (mode_t) m;
                        break;
                }
                case OPT_GROUP:
                        group = optarg;
                        break;
                case OPT_CHECK:
                        check_only = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "corrald: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        server s = { .ops = &server_host_ops, .epfd = -EBADF };
        char why[512];
        int r = config_load(config_path ? config_path : DEFAULT_CONFIG, config_path != NULL, &s.cfg, why,
                            sizeof why);
        if (r < 0) {
                fprintf(stderr, "corrald: configuration: %s\n", why);
                return 1;
        }
        if (check_only) {
                printf("configuration OK: %zu user/group sections\n", s.cfg.n_rules);
                return 0;
        }
        if (geteuid() != 0)
                fprintf(stderr, "corrald: warning: not running as root: runs get the daemon's identity, "
                                "and only this uid may connect\n");

        signal(SIGPIPE, SIG_IGN);
        raise_nofile();
        (void) corral_become_subreaper();
        r = server_init(&s);
        if (r < 0) {
                fprintf(stderr, "corrald: cannot set up the event loop: %s\n", strerror(-r));
                return 1;
        }

        /* Our cgroup, the base of every run group: claimed, locked against a second
         * daemon, and cleared of whatever a corrald that died left running in it. */
        corral_diag diag = {};
        corral_policy *defaults = NULL;
        corral_placement pl = {};
        if (corral_policy_new(&defaults) >= 0 && corral_place(defaults, &pl) >= 0)
                fprintf(stderr, "corrald: placement: rule %d (%s)%s%s\n", (int) pl.rule,
                        corral_placement_rule_to_string(pl.rule), pl.base[0] ? ", base " : ": ",
                        pl.base[0] ? pl.base : pl.fix);
        corral_policy_free(defaults);
        r = corral_service_claim_base(log_sweep, NULL, &diag);
        if (r == -EBUSY) {
                fprintf(stderr, "corrald: %s\n", diag.message);
                return 1;
        }
        if (r < 0)
                fprintf(stderr, "corrald: no cgroup base to own (%s): runs use the rlimit backend\n",
                        diag.message[0] ? diag.message : strerror(-r));
        if (r >= 0 && diag.message[0])
                fprintf(stderr, "corrald: warning: %s\n", diag.message);
        int base_lock = r; /* held until we exit */

        int fds[SYSD_MAX_LISTEN];
        bool listening[SYSD_MAX_LISTEN];
        int n = listen_path ? 0 : sysd_activation_fds(fds, listening);
        if (n < 0) {
                fprintf(stderr, "corrald: the sockets systemd passed are unusable: %s\n", strerror(-n));
                return 1;
        }
        for (int i = 0; i < n; i++) {
                (void) fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
                r = listening[i] ? server_add_listener(&s, fds[i]) : server_adopt_connection(&s, fds[i]);
                if (r < 0) {
                        fprintf(stderr, "corrald: cannot serve fd %d: %s\n", fds[i], strerror(-r));
                        return 1;
                }
        }
        if (n == 0) {
                if (!listen_path)
                        listen_path = DEFAULT_SOCKET;
                int fd = listen_unix(listen_path, mode, group);
                if (fd < 0)
                        return 1;
                r = server_add_listener(&s, fd);
                if (r < 0)
                        return 1;
                s.listen_path = strdup(listen_path);
        }
        fprintf(stderr, "corrald: serving io.corral.Sandbox on %s%s\n", s.listen_path ? s.listen_path : "",
                n > 0 ? "sockets from systemd" : "");
        sysd_ready("serving");

        r = server_run(&s);
        server_done(&s);
        if (s.listen_path) {
                (void) unlink(s.listen_path);
                free(s.listen_path);
        }
        safe_close(base_lock);
        config_done(&s.cfg);
        if (r < 0) {
                fprintf(stderr, "corrald: event loop failed: %s\n", strerror(-r));
                return 1;
        }
        fprintf(stderr, "corrald: stopped\n");
        return 0;
}
