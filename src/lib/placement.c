/* SPDX-License-Identifier: MIT */
/*
 * Placement (corral_place()): before the backend ladder, find or make a cgroup base
 * where run groups get memory, pids and cpu, by the rules of corral.h, and remember
 * which rule gave it (result evidence, doctor).
 *
 * Every rule ends the same way: this process in <base>/supervisor (or alone in a
 * delegated cgroup, which the claim turns into that), so the backends' own base lookup
 * (cg_base_find: a 'supervisor' leaf hands its parent to the runs) finds it. Rule 1
 * costs one base lookup more than no placement at all; the other rules run only when
 * it failed.
 *
 * Kernel interfaces: none of its own: cgroupfs through cgroup.c (the mount, the own
 * cgroup, controllers, mkdir, moving itself), systemd through sdbus.c. Privilege: rule
 * 4 needs root in the cgroup namespace; only this process is ever moved, and processes
 * of other programs are never touched: a cgroup namespace root that holds them is
 * reported, not evacuated.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "macro.h"
#include "placement.h"
#include "policy.h"
#include "sdbus.h"

static pthread_mutex_t place_lock = PTHREAD_MUTEX_INITIALIZER;
static bool placed;
static corral_placement current;

static const char *const rule_names[_CORRAL_PLACEMENT_MAX] = {
        [CORRAL_PLACEMENT_NONE] = "none",
        [CORRAL_PLACEMENT_OWN_CGROUP] = "own-cgroup",
        [CORRAL_PLACEMENT_SYSTEMD] = "systemd",
        [CORRAL_PLACEMENT_CONFIGURED] = "configured",
        [CORRAL_PLACEMENT_NAMESPACE] = "namespace",
        [CORRAL_PLACEMENT_FALLBACK] = "fallback",
};

_public_ const char *corral_placement_rule_to_string(corral_placement_rule r) {
        return (unsigned) r < _CORRAL_PLACEMENT_MAX ? rule_names[r] : NULL;
}

bool place_current(corral_placement *ret) {
        pthread_mutex_lock(&place_lock);
        bool have = placed;
        if (have)
                *ret = current;
        pthread_mutex_unlock(&place_lock);
        return have;
}

/*
 * Make dir (an open cgroup) a base: memory, pids and cpu offered and enabled for its
 * children, then move this process into dir/supervisor.
 */
static int adopt_base(int dirfd, const char *path, char why[static 512]) {
        char missing[64];
        int r;

        r = cg_missing_controllers(dirfd, missing);
        if (r < 0) {
                snprintf(why, 512, "cannot read %s/cgroup.controllers: %s", path, strerror(-r));
                return r;
        }
        if (missing[0]) {
                snprintf(why, 512, "controllers %s are not available in %s (its parent does not enable them)",
                         missing, path);
                return -ENOTSUP;
        }
        r = cg_make_group(dirfd, "supervisor", NULL);
        if (r < 0) {
                snprintf(why, 512, "cannot create %s/supervisor: %s", path, strerror(-r));
                return r;
        }
        /* Controllers first: a failure here leaves us where we were. */
        r = cg_enable_controllers(dirfd);
        if (r < 0) {
                snprintf(why, 512, "cannot enable memory, pids and cpu in %s/cgroup.subtree_control: %s%s",
                         path, strerror(-r),
                         r == -EBUSY ? " (the group holds processes; cgroup v2 allows controllers only "
                                       "below a group without them)"
                                     : "");
                return r;
        }
        r = cg_join(dirfd, "supervisor");
        if (r < 0) {
                snprintf(why, 512, "cannot move into %s/supervisor: %s%s", path, strerror(-r),
                         r == -EACCES || r == -EPERM ? " (no write access to it or to the common "
                                                       "ancestor's cgroup.procs)"
                                                     : "");
                return r;
        }
        return 0;
}

/* After rules 1-4: the backends' lookup must find the base with controllers. */
static int confirm_base(corral_placement *pl, corral_placement_rule rule) {
        cg_base *b = NULL;
        char why[CG_WHY_MAX];
        int r = cg_base_find(true, &b, why);
        if (r < 0) {
                snprintf(pl->why[rule], sizeof pl->why[rule], "%s", why);
                return r;
        }
        snprintf(pl->base, sizeof pl->base, "%s", cg_base_path(b));
        cg_base_free(b);
        /* Enable the controllers in the base ourselves: libcgroup's create walks
         * subtree_control from the mount root, which an unprivileged owner of a delegated
         * base cannot write above it; then its writes are no-ops. */
        _cleanup_close_ int fd = open(pl->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                (void) cg_enable_controllers(fd);
        pl->rule = rule;
        return 0;
}

static int rule_own(corral_placement *pl) {
        char why[CG_WHY_MAX];
        (void) cg_claim_own(why);
        return confirm_base(pl, CORRAL_PLACEMENT_OWN_CGROUP);
}

static int rule_configured(corral_placement *pl, const char *mount, const char *base) {
        _cleanup_close_ int fd = -EBADF;
        char path[1024];
        char *why = pl->why[CORRAL_PLACEMENT_CONFIGURED];
        int r;

        size_t n = strlen(mount);
        if (strncmp(base, mount, n) == 0 && (base[n] == '/' || base[n] == '\0'))
                snprintf(path, sizeof path, "%s", base);
        else
                snprintf(path, sizeof path, "%s%s", mount, base);
        while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
                path[strlen(path) - 1] = '\0';

        bool created = false;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && cg_make_group(AT_FDCWD, path, &created) >= 0)
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                snprintf(why, 512, "CGroupBase=%s: cannot open %s: %s", base, path, strerror(-r));
                return r;
        }
        if (faccessat(fd, "cgroup.controllers", F_OK, 0) < 0) {
                snprintf(why, 512, "CGroupBase=%s: %s is not a cgroup v2 directory", base, path);
                return -ENOTDIR;
        }
        char inner[512];
        r = adopt_base(fd, path, inner);
        if (r < 0) {
                snprintf(why, 512, "CGroupBase=%s: %s", base, inner);
                /* A base we made and cannot use is not left behind (its empty supervisor
                 * leaf goes with it). */
                if (created) {
                        (void) cg_remove_empty(fd, "supervisor");
                        (void) cg_remove_empty(AT_FDCWD, path);
                }
                return r;
        }
        return confirm_base(pl, CORRAL_PLACEMENT_CONFIGURED);
}

static int rule_systemd(corral_placement *pl, bool reachable) {
        char *why = pl->why[CORRAL_PLACEMENT_SYSTEMD];
        char inner[SDBUS_WHY_MAX], unit[128];
        int r;

        if (!reachable) {
                snprintf(why, 512, "%s",
                         geteuid() == 0 ? "systemd is not PID 1 here (no /run/systemd/system)"
                                        : "no systemd user manager is reachable (no $XDG_RUNTIME_DIR/systemd/private "
                                          "or user bus: not a login session)");
                return -ENXIO;
        }
        r = sdbus_start_scope(unit, sizeof unit, inner);
        if (r < 0) {
                snprintf(why, 512, "%s", inner);
                return r;
        }
        snprintf(pl->unit, sizeof pl->unit, "%s", unit);
        cg_forget_own(); /* systemd moved us into the scope */
        /* We are alone in the new scope: the claim moves us into its supervisor leaf. */
        char claim[CG_WHY_MAX];
        r = cg_claim_own(claim);
        if (r < 0) {
                snprintf(why, 512, "in the scope %s: %s", unit, claim);
                return r;
        }
        return confirm_base(pl, CORRAL_PLACEMENT_SYSTEMD);
}

static int rule_namespace(corral_placement *pl, const char *mount, bool systemd) {
        _cleanup_close_ int root = -EBADF, grp = -EBADF;
        char *why = pl->why[CORRAL_PLACEMENT_NAMESPACE];
        char path[600], missing[64], inner[512];
        int r;

        if (geteuid() != 0) {
                snprintf(why, 512, "not root");
                return -EPERM;
        }
        if (systemd) {
                /* systemd owns the tree: a group beside its slices would fight it. */
                snprintf(why, 512, "systemd manages this cgroup tree");
                return -EBUSY;
        }
        root = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                r = negative_errno();
                snprintf(why, 512, "cannot open %s: %s", mount, strerror(-r));
                return r;
        }
        r = cg_missing_controllers(root, missing);
        if (r < 0) {
                snprintf(why, 512, "cannot read %s/cgroup.controllers: %s", mount, strerror(-r));
                return r;
        }
        if (missing[0]) {
                snprintf(why, 512, "controllers %s are not available at the root of the cgroup namespace (%s)",
                         missing, mount);
                return -ENOTSUP;
        }
        /* The namespace root itself: controllers for its children, which fails EBUSY when
         * other processes sit there (a container root is not exempt; the real root is). */
        r = cg_enable_controllers(root);
        if (r < 0) {
                snprintf(why, 512, "cannot enable memory, pids and cpu in %s/cgroup.subtree_control: %s%s",
                         mount, strerror(-r),
                         r == -EBUSY ? " (processes sit in the namespace root; corral moves no process "
                                       "but its own)"
                                     : "");
                return r;
        }
        r = cg_make_group(root, "corral", NULL);
        if (r < 0) {
                snprintf(why, 512, "cannot create %s/corral: %s", mount, strerror(-r));
                return r;
        }
        grp = openat(root, "corral", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (grp < 0) {
                r = negative_errno();
                snprintf(why, 512, "cannot open %s/corral: %s", mount, strerror(-r));
                return r;
        }
        snprintf(path, sizeof path, "%s/corral", mount);
        r = adopt_base(grp, path, inner);
        if (r < 0) {
                snprintf(why, 512, "%s", inner);
                return r;
        }
        return confirm_base(pl, CORRAL_PLACEMENT_NAMESPACE);
}

/* Rule 5: the one change that would make the cgroup2 rung work here. */
static void explain_fallback(corral_placement *pl, int mount_r, bool ro, const char *own) {
        char *fix = pl->fix;
        if (mount_r == -ENOENT)
                snprintf(fix, 512, "no cgroup v2 is mounted: mount it (mount -t cgroup2 none /sys/fs/cgroup) or boot "
                                   "a kernel with cgroup v2 (Linux >= 4.5, systemd.unified_cgroup_hierarchy=1)");
        else if (cg_hybrid_layout())
                snprintf(fix, 512, "hybrid cgroup layout (cgroup v1 owns memory, pids and cpu): boot with "
                                   "systemd.unified_cgroup_hierarchy=1 on the kernel command line");
        else if (ro)
                snprintf(fix, 512, "the cgroup2 mount is read-only (a container without a writable cgroupfs): "
                                   "run it with docker run --privileged, podman run --security-opt "
                                   "unmask=/sys/fs/cgroup (or --systemd=always), or in Kubernetes privileged: true "
                                   "(CRI-O: annotation io.kubernetes.cri-o.cgroup2-mount-hierarchy-rw)");
        else if (strstr(pl->why[CORRAL_PLACEMENT_NAMESPACE], "processes sit in the namespace root"))
                snprintf(fix, 512, "other processes share the root of this cgroup namespace: move them into a "
                                   "leaf first, as docker-in-docker's entrypoint does (mkdir /sys/fs/cgroup/init; "
                                   "echo each pid of /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs), "
                                   "or run corral as the container's entrypoint");
        else if (strstr(pl->why[CORRAL_PLACEMENT_NAMESPACE], "not available at the root") ||
                 strstr(pl->why[CORRAL_PLACEMENT_OWN_CGROUP], "not delegated"))
                snprintf(fix, 512, "%s; in a systemd unit: Delegate=yes (or Delegate=memory pids cpu); "
                                   "in a container: the runtime must enable them for the container's cgroup",
                         pl->why[CORRAL_PLACEMENT_OWN_CGROUP]);
        else if (strstr(own, ".service") && geteuid() == 0)
                snprintf(fix, 512, "running in the systemd unit of %s without delegation: add Delegate=yes to "
                                   "that unit (or start corral with systemd-run --scope -p Delegate=yes)", own);
        else if (geteuid() != 0)
                snprintf(fix, 512, "run corral from a login session with a systemd user manager, or in a "
                                   "delegated cgroup: systemd-run --user --scope -p Delegate=yes corral run ..., "
                                   "or CGroupBase= a cgroup delegated to you");
        else
                snprintf(fix, 512, "give corral a delegated cgroup: systemd-run --scope -p Delegate=yes corral run "
                                   "..., or CGroupBase= (--cgroup-base) a cgroup with memory, pids and cpu");
}

_public_ int corral_place(const corral_policy *p, corral_placement *ret) {
        corral_placement pl = {};
        char mount[512] = "", own[4096] = "";
        bool ro = false;

        if (!p)
                return -EINVAL;
        if (p->backend == CORRAL_BACKEND_RLIMIT) {
                /* No cgroup wanted: nothing to place, nothing moved. */
                if (ret)
                        *ret = pl;
                return 0;
        }
        pthread_mutex_lock(&place_lock);
        if (placed) {
                if (ret)
                        *ret = current;
                pthread_mutex_unlock(&place_lock);
                return 0;
        }

        if (rule_own(&pl) >= 0)
                goto done;

        int mount_r = cg_mount(mount, &ro);
        (void) cg_own_path(own);
        bool systemd = sdbus_manager_reachable();
        if (mount_r < 0 || ro) {
                const char *w = mount_r < 0 ? "no cgroup2 filesystem is mounted" : "the cgroup2 mount is read-only";
                for (int i = CORRAL_PLACEMENT_SYSTEMD; i < CORRAL_PLACEMENT_FALLBACK; i++)
                        snprintf(pl.why[i], sizeof pl.why[i], "%s", w);
                goto fallback;
        }
        if (p->cgroup_base[0]) {
                if (rule_configured(&pl, mount, p->cgroup_base) >= 0)
                        goto done;
        } else
                snprintf(pl.why[CORRAL_PLACEMENT_CONFIGURED], 512, "no CGroupBase= set");
        if (rule_systemd(&pl, systemd) >= 0)
                goto done;
        if (rule_namespace(&pl, mount, systemd) >= 0)
                goto done;

fallback:
        pl.rule = CORRAL_PLACEMENT_FALLBACK;
        explain_fallback(&pl, mount_r, ro, own);
done:
        /* The taken rule has no "why not". */
        pl.why[pl.rule][0] = '\0';
        current = pl;
        placed = true;
        if (ret)
                *ret = pl;
        pthread_mutex_unlock(&place_lock);
        return 0;
}

int place_find_base(const corral_policy *p, bool controllers, cg_base **ret, char why[static CG_WHY_MAX]) {
        if (p->cgroup_base[0])
                (void) corral_place(p, NULL);
        return cg_base_find(controllers, ret, why);
}
