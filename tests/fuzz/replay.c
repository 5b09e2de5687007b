/* SPDX-License-Identifier: MIT */
/*
 * main() for a fuzz target built without libFuzzer: runs the target once on every file
 * named on the command line (directories: every file in them). A property a target
 * checks aborts, so a test that replays the corpus fails the way the fuzzer would.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        uint8_t *buf = NULL;
        size_t size = 0, cap = 0;
        for (;;) {
                if (size == cap) {
                        cap = cap ? cap * 2 : 4096;
                        uint8_t *n = realloc(buf, cap);
                        if (!n)
                                abort();
                        buf = n;
                }
                size_t got = fread(buf + size, 1, cap - size, f);
                if (got == 0)
                        break;
                size += got;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        return 0;
}

static int replay(const char *path, unsigned *count) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return replay_file(path);
        }
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort), r = 0;
        if (n < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -1;
        }
        for (int i = 0; i < n; i++) {
                if (names[i]->d_name[0] != '.') {
                        char sub[4096];
                        snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
                        if (replay(sub, count) < 0)
                                r = -1;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv) {
        unsigned count = 0;
        int r = 0;

        for (int i = 1; i < argc; i++)
                if (replay(argv[i], &count) < 0)
                        r = 1;
        if (count == 0) {
                fprintf(stderr, "replay: no input replayed\n");
                return 1;
        }
        printf("replayed %u inputs\n", count);
        return r;
}
