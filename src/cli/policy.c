/* SPDX-License-Identifier: MIT */
/*
 * corral policy check NAME|PATH...: load each policy file as `corral run --policy`
 * would, print its effective settings and what would enforce each on this host. Exit 0
 * when every file is valid and a run under it would be allowed here; 1 when a file has
 * a bad line (named FILE:LINE: Key: reason) or would be refused (Unenforced=refuse with
 * a limit nothing here can enforce); 125 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static void policy_usage(FILE *f) {
        fputs("Usage: corral policy check NAME|PATH...\n"
              "\n"
              "Check policy files: print the effective settings and what would enforce each\n"
              "here. A NAME is looked up in /etc/corral/policies, then in the shipped\n"
              "policies ($CORRAL_POLICY_PATH replaces both); a PATH has a '/'.\n"
              "Exit 0 when all are valid, 1 when one is not (FILE:LINE: Key: reason).\n",
              f);
}

static int check_one(const char *name) {
        corral_policy *p = NULL;
        corral_diag diag = {};
        char *text = NULL;
        int r, code = 0;

        if (corral_policy_new(&p) < 0) {
                cli_error("out of memory");
                return CLI_EXIT_FAILURE;
        }
        r = corral_policy_load(p, name, &diag);
        if (r < 0) {
                cli_error("%s", diag.message[0] ? diag.message : strerror(-r));
                corral_policy_free(p);
                return 1;
        }
        r = corral_policy_explain(p, &text);
        if (r < 0) {
                cli_error("%s: cannot tell what would enforce it: %s", name, strerror(-r));
                corral_policy_free(p);
                return CLI_EXIT_FAILURE;
        }
        printf("# %s\n%s", name, text);
        if (r > 0) {
                printf("# %d limit%s enforced by nothing here\n", r, r == 1 ? "" : "s");
                /* what Unenforced=refuse is for: such a run would be refused */
                if (strstr(text, "\nUnenforced=refuse")) {
                        cli_error("%s: a run would be refused here (Unenforced=refuse)", name);
                        code = 1;
                }
        }
        free(text);
        corral_policy_free(p);
        return code;
}

int verb_policy(int argc, char *argv[]) {
        int code = 0;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                policy_usage(stdout);
                return 0;
        }
        if (argc < 2 || strcmp(argv[1], "check") != 0) {
                policy_usage(stderr);
                return CLI_EXIT_FAILURE;
        }
        if (argc < 3) {
                cli_error("policy check: no policy given (corral policy check NAME|PATH...)");
                return CLI_EXIT_FAILURE;
        }
        for (int i = 2; i < argc; i++) {
                int r = check_one(argv[i]);
                if (r == CLI_EXIT_FAILURE)
                        return r;
                if (r)
                        code = 1;
                if (i + 1 < argc)
                        putchar('\n');
        }
        if (fflush(stdout) != 0)
                return CLI_EXIT_FAILURE;
        return code;
}
