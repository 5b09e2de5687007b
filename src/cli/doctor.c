/* SPDX-License-Identifier: MIT */
/*
 * corral doctor: which backend `corral run` would use here, and why not the higher
 * rungs. Exit 0 when the wanted rung (default: cgroup2, the precise one) is usable.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

static const corral_backend rungs[] = {
        CORRAL_BACKEND_CGROUP2,
        CORRAL_BACKEND_CGROUP2_CORE,
        CORRAL_BACKEND_RLIMIT,
};

static json_t *placement_json(const corral_placement *pl) {
        if (pl->rule == CORRAL_PLACEMENT_NONE)
                return json_null();
        json_t *why = json_object();
        for (int i = CORRAL_PLACEMENT_OWN_CGROUP; i < CORRAL_PLACEMENT_FALLBACK; i++)
                if (pl->why[i][0])
                        json_object_set_new(why, corral_placement_rule_to_string(i), json_string(pl->why[i]));
        return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o}", "rule", corral_placement_rule_to_string(pl->rule),
                         "rule_number", (int) pl->rule, "base", pl->base[0] ? json_string(pl->base) : json_null(),
                         "unit", pl->unit[0] ? json_string(pl->unit) : json_null(), "why_not", why, "fix",
                         pl->fix[0] ? json_string(pl->fix) : json_null());
}

static void print_placement(const corral_placement *pl) {
        if (pl->rule == CORRAL_PLACEMENT_NONE)
                return;
        printf("placement: rule %d (%s)", (int) pl->rule, corral_placement_rule_to_string(pl->rule));
        if (pl->base[0])
                printf(": base %s", pl->base);
        if (pl->unit[0])
                printf(" in the systemd scope %s", pl->unit);
        printf("\n");
        for (int i = CORRAL_PLACEMENT_OWN_CGROUP; i < CORRAL_PLACEMENT_FALLBACK; i++)
                if (pl->why[i][0])
                        printf("  rule %d (%s) not taken: %s\n", i, corral_placement_rule_to_string(i), pl->why[i]);
        if (pl->fix[0])
                printf("fix: %s\n", pl->fix);
}

static json_t *namespaces_json(const corral_namespaces_report *ns) {
        if (!ns)
                return json_null();
        return json_pack("{s:s, s:b, s:o}", "path", corral_namespaces_to_string(ns->how), "user_namespaces",
                         ns->user_namespaces, "reason", ns->why[0] ? json_string(ns->why) : json_null());
}

static void print_namespaces(const corral_namespaces_report *ns) {
        switch (ns->how) {
        case CORRAL_NAMESPACES_ROOT:
                printf("namespaces: root (CAP_SYS_ADMIN: made directly)\n");
                break;
        case CORRAL_NAMESPACES_USER:
                printf("namespaces: user-ns (a user namespace per run, mapping uid %u to itself)\n",
                       (unsigned) geteuid());
                break;
        case CORRAL_NAMESPACES_NONE:
                printf("namespaces: none (the settings that need them are enforced by none, or refused "
                       "with Unenforced=refuse)\n");
                break;
        }
        const char *why = strncmp(ns->why, "user namespaces: ", 17) == 0 ? ns->why + 17 : ns->why;
        printf("user namespaces: %s%s\n", ns->user_namespaces ? "available" : "not available: ", why);
}

static void print_json(const corral_doctor_report *rep, const corral_placement *pl,
                       const corral_namespaces_report *ns) {
        json_t *o = json_object(), *r = json_object();
        for (size_t i = 0; i < ELEMENTSOF(rungs); i++) {
                const char *why = rep->reason[rungs[i]];
                json_object_set_new(r, corral_backend_to_string(rungs[i]),
                                    json_pack("{s:b, s:o}", "usable", !why[0], "reason",
                                              why[0] ? json_string(why) : json_null()));
        }
        json_object_set_new(o, "placement", placement_json(pl));
        json_object_set_new(o, "chosen", json_string(corral_backend_to_string(rep->chosen)));
        json_object_set_new(o, "rungs", r);
        json_object_set_new(o, "cgroup_base",
                            rep->cgroup_base[0] ? json_string(rep->cgroup_base) : json_null());
        json_object_set_new(o, "namespaces", namespaces_json(ns));
        char *s = json_dumps(o, 0);
        if (s)
                printf("%s\n", s);
        free(s);
        json_decref(o);
}

int verb_doctor(int argc, char *argv[]) {
        enum { OPT_JSON = 256, OPT_BACKEND, OPT_CONNECT, OPT_CGROUP_BASE };
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "backend", required_argument, NULL, OPT_BACKEND },
                { "cgroup-base", required_argument, NULL, OPT_CGROUP_BASE },
                { "property", required_argument, NULL, 'p' },
                { "connect", optional_argument, NULL, OPT_CONNECT },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        corral_policy *p = NULL;
        corral_doctor_report rep;
        corral_placement pl = {};
        corral_namespaces_report ns = {};
        corral_backend wanted = CORRAL_BACKEND_CGROUP2;
        bool json = false, connect = false;
        const char *connect_path = NULL;
        int c, code = CLI_EXIT_FAILURE;

        if (corral_policy_new(&p) < 0)
                return CLI_EXIT_FAILURE;
        if (cli_policy_from_env(p) < 0)
                goto out;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "p:h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_BACKEND:
                        if (cli_policy_set(p, "Backend", optarg) < 0)
                                goto out;
                        (void) corral_backend_from_string(optarg, &wanted);
                        if (wanted == CORRAL_BACKEND_AUTO)
                                wanted = CORRAL_BACKEND_CGROUP2;
                        break;
                case OPT_CGROUP_BASE:
                        if (cli_policy_set(p, "CGroupBase", optarg) < 0)
                                goto out;
                        break;
                case OPT_CONNECT:
                        connect = true;
                        connect_path = optarg;
                        break;
                case 'p': {
                        corral_diag diag = {};
                        if (corral_policy_set_assignment(p, optarg, &diag) < 0) {
                                cli_error("%s", diag.message);
                                goto out;
                        }
                        break;
                }
                case 'h':
                        printf("Usage: corral doctor [--json] [--backend B] [--cgroup-base PATH] [-p KEY=VALUE]\n"
                               "                     [--connect[=PATH]]\n\n"
                               "Say which backend `corral run` would use here and why each higher rung\n"
                               "cannot be used. Exit 0 if the cgroup2 rung (or the --backend asked for)\n"
                               "is usable, 1 if not. Placement runs as for `corral run`: the rule that\n"
                               "gave the cgroup base is printed, and when none did, the fix.\n"
                               "With --connect: what corrald's runs would use.\n");
                        code = 0;
                        goto out;
                default:
                        cli_error("doctor: unknown or incomplete option '%s'", argv[optind - 1]);
                        goto out;
                }
        }
        if (optind < argc) {
                cli_error("doctor: unexpected argument '%s'", argv[optind]);
                goto out;
        }

        int r;
        if (connect) {
                corral_client *client = NULL;
                corral_diag diag = {};
                r = corral_client_connect(connect_path, &client, &diag);
                if (r >= 0)
                        r = corral_client_doctor(client, &rep, &diag);
                corral_client_free(client);
                if (r < 0) {
                        cli_error("%s", diag.message[0] ? diag.message : strerror(-r));
                        goto out;
                }
        } else {
                /* Like `corral run`: placement first (a systemd scope made here ends with doctor). */
                (void) corral_place(p, &pl);
                r = corral_doctor(p, &rep);
                if (r >= 0)
                        r = corral_doctor_namespaces(&ns);
        }
        if (r < 0) {
                cli_error("doctor failed: %s", strerror(-r));
                goto out;
        }
        if (json)
                print_json(&rep, &pl, connect ? NULL : &ns);
        else {
                printf("backend: %s\n", corral_backend_to_string(rep.chosen));
                print_placement(&pl);
                if (rep.cgroup_base[0])
                        printf("cgroup base: %s\n", rep.cgroup_base);
                for (size_t i = 0; i < ELEMENTSOF(rungs); i++) {
                        const char *why = rep.reason[rungs[i]];
                        printf("%-13s %s%s\n", corral_backend_to_string(rungs[i]),
                               why[0] ? "not usable: " : "usable", why);
                }
                if (!connect)
                        print_namespaces(&ns);
        }
        code = rep.reason[wanted][0] ? 1 : 0;
out:
        corral_policy_free(p);
        return code;
}
