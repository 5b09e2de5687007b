/* SPDX-License-Identifier: MIT */
/*
 * cr-cgpath: print the cgroup v2 group this process runs in and the limits set
 * there, so a test can compare them with what it asked corral for and check
 * afterwards that the group is gone.
 *
 *   cr-cgpath [FILE...]
 *
 * Output on stdout, one "key=value" per line:
 *   cgroup=/corral-test/run-1234      the "0::" line of /proc/self/cgroup
 *   dir=/sys/fs/cgroup/corral-test/run-1234   where that group is mounted
 *   memory.max=67108864               each FILE (default: memory.max
 *   pids.max=absent                   memory.swap.max memory.oom.group pids.max
 *                                     cpu.max), its first line or "absent"
 *
 * Exit: 0; 3 if this process is in no cgroup v2 group or no cgroup2 mount shows
 * it (what is known is still printed); 2 on bad arguments.
 */
#include <stdbool.h>

#include "common.h"

static const char *const default_files[] = {
        "memory.max", "memory.swap.max", "memory.oom.group", "pids.max", "cpu.max", NULL,
};

/* The path of the "0::" entry in /proc/self/cgroup, or NULL. */
static char *own_cgroup(void)
{
        FILE *f = fopen("/proc/self/cgroup", "re");
        char *line = NULL, *ret = NULL;
        size_t cap = 0;

        if (!f)
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                line[strcspn(line, "\n")] = '\0';
                ret = strdup(line + 3);
                break;
        }
        free(line);
        fclose(f);
        return ret;
}

/*
 * The directory of group cg on a cgroup2 mount, or NULL. mountinfo fields:
 * id parent major:minor root mountpoint options ... - fstype source superoptions.
 */
static char *group_dir(const char *cg)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL, *ret = NULL;
        size_t cap = 0;

        if (!f)
                return NULL;
        while (!ret && getline(&line, &cap, f) > 0) {
                char *sep = strstr(line, " - ");
                char root[4096], mnt[4096], fstype[64];

                if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
                        continue;
                if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
                        continue;
                /* A mount of a subtree shows only groups below its root. */
                size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
                if (rl > 0 && (strncmp(cg, root, rl) != 0 || (cg[rl] != '/' && cg[rl] != '\0')))
                        continue;
                const char *rest = cg + rl;
                if (strcmp(rest, "/") == 0)
                        rest = "";
                size_t len = strlen(mnt) + strlen(rest) + 1;
                ret = malloc(len);
                if (ret)
                        snprintf(ret, len, "%s%s", mnt, rest);
        }
        free(line);
        fclose(f);
        return ret;
}

static void print_file(const char *dir, const char *name)
{
        char path[8192], buf[512];
        FILE *f;

        if (strchr(name, '/') || snprintf(path, sizeof(path), "%s/%s", dir ? dir : "", name) >= (int)sizeof(path)) {
                printf("%s=absent\n", name);
                return;
        }
        f = dir ? fopen(path, "re") : NULL;
        if (!f || !fgets(buf, sizeof(buf), f)) {
                printf("%s=absent\n", name);
        } else {
                buf[strcspn(buf, "\n")] = '\0';
                printf("%s=%s\n", name, buf);
        }
        if (f)
                fclose(f);
}

int main(int argc, char **argv)
{
        char *cg, *dir = NULL;
        int rc = 0;

        prog_init(argc, argv);
        for (int i = 1; i < argc; i++)
                if (argv[i][0] == '-' || strchr(argv[i], '/'))
                        usage_exit("[FILE...]");

        cg = own_cgroup();
        if (cg)
                dir = group_dir(cg);
        printf("cgroup=%s\n", cg ? cg : "");
        printf("dir=%s\n", dir ? dir : "");
        if (!cg || !dir)
                rc = 3;
        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        print_file(dir, argv[i]);
        } else {
                for (const char *const *n = default_files; *n; n++)
                        print_file(dir, *n);
        }
        free(cg);
        free(dir);
        fflush(stdout);
        return rc;
}
