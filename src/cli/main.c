/* SPDX-License-Identifier: MIT */
/* corral: the command line. One file per verb; this one only dispatches. */
#include <stdio.h>
#include <string.h>

#include "output.h"

static void usage(FILE *f) {
        fputs("Usage: corral run [OPTIONS] -- COMMAND [ARGS...]\n"
              "       corral doctor [--json] [--backend B]\n"
              "       corral policy check NAME|PATH...\n"
              "       corral --version | --help\n"
              "\n"
              "Run COMMAND under kernel-enforced limits and report why it stopped.\n"
              "See `corral run --help` and `corral doctor --help`.\n",
              f);
}

int main(int argc, char *argv[]) {
        if (argc < 2) {
                usage(stderr);
                return CLI_EXIT_FAILURE;
        }
        if (strcmp(argv[1], "run") == 0)
                return verb_run(argc - 1, argv + 1);
        if (strcmp(argv[1], "doctor") == 0)
                return verb_doctor(argc - 1, argv + 1);
        if (strcmp(argv[1], "policy") == 0)
                return verb_policy(argc - 1, argv + 1);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("corral %d.%d.%d\n", CORRAL_VERSION_MAJOR, CORRAL_VERSION_MINOR, CORRAL_VERSION_PATCH);
                return 0;
        }
        cli_error("unknown command '%s' (try corral --help)", argv[1]);
        return CLI_EXIT_FAILURE;
}
