/* SPDX-License-Identifier: MIT */
/*
 * PrivateNetwork=: network namespaces with only loopback, up. libnl-route's only user.
 *
 * libnl allocates, so it cannot run in the child between clone and exec. The namespace
 * is made in the parent instead, by a short-lived thread: unshare(CLONE_NEWNET) moves
 * only that thread (namespaces are per task), a netlink socket opened there belongs to
 * the new namespace, lo goes up (the kernel adds 127.0.0.1/8 and ::1 itself), and an fd
 * on /proc/thread-self/ns/net keeps the namespace alive after the thread ends. The child
 * joins it with setns() before it drops privileges.
 *
 * Making a namespace costs about a millisecond, destroying one is deferred work in the
 * kernel that can lag behind under churn, so a small pool keeps namespaces whose run
 * could not have changed them (see net_ns_put) for the next run. Privilege:
 * CAP_SYS_ADMIN for unshare, CAP_NET_ADMIN in the namespace (root).
 *
 * The unprivileged path is different: a network namespace that the run's user namespace
 * owns can only be made by the child itself, after clone (a multi-threaded parent cannot
 * enter a new user namespace, and a namespace owned by ours would give the run nothing it
 * could use). So there the child unshares it and brings lo up with one SIOCSIFFLAGS ioctl
 * (net_child_lo_up): libnl allocates, and the child between clone and exec must not.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "dlopen.h"
#include "macro.h"
#include "net.h"

/* libnl's -NLE_* to -errno, at the boundary. */
/* libnl is loaded on first use (dlopen.h): only runs with PrivateNetwork= pay for it. */
static DL_PROTOTYPE(nl_geterror);
static DL_PROTOTYPE(nl_socket_alloc);
static DL_PROTOTYPE(nl_connect);
static DL_PROTOTYPE(nl_cache_get_first);
static DL_PROTOTYPE(nl_cache_nitems);
static DL_PROTOTYPE(nl_cache_free);
static DL_PROTOTYPE(nl_socket_free);
static DL_PROTOTYPE(rtnl_link_alloc_cache);
static DL_PROTOTYPE(rtnl_link_get_name);
static DL_PROTOTYPE(rtnl_link_get_flags);
static DL_PROTOTYPE(rtnl_link_get_kernel);
static DL_PROTOTYPE(rtnl_link_alloc);
static DL_PROTOTYPE(rtnl_link_set_flags);
static DL_PROTOTYPE(rtnl_link_change);
static DL_PROTOTYPE(rtnl_link_put);

static const dl_symbol libnl_symbols[] = {
        DL_SYMBOL(nl_geterror),
        DL_SYMBOL(nl_socket_alloc),
        DL_SYMBOL(nl_connect),
        DL_SYMBOL(nl_cache_get_first),
        DL_SYMBOL(nl_cache_nitems),
        DL_SYMBOL(nl_cache_free),
        DL_SYMBOL(nl_socket_free),
};
static const dl_symbol libnl_route_symbols[] = {
        DL_SYMBOL(rtnl_link_alloc_cache),
        DL_SYMBOL(rtnl_link_get_name),
        DL_SYMBOL(rtnl_link_get_flags),
        DL_SYMBOL(rtnl_link_get_kernel),
        DL_SYMBOL(rtnl_link_alloc),
        DL_SYMBOL(rtnl_link_set_flags),
        DL_SYMBOL(rtnl_link_change),
        DL_SYMBOL(rtnl_link_put),
};

static pthread_once_t libnl_once = PTHREAD_ONCE_INIT;
static void *libnl_handle, *libnl_route_handle;
static int libnl_result;
static char libnl_why[200];

static void libnl_load(void) {
        libnl_result = dl_open_table("libnl-3.so.200", &libnl_handle, libnl_symbols, ELEMENTSOF(libnl_symbols),
                                     libnl_why, sizeof libnl_why);
        if (libnl_result >= 0)
                libnl_result = dl_open_table("libnl-route-3.so.200", &libnl_route_handle, libnl_route_symbols,
                                             ELEMENTSOF(libnl_route_symbols), libnl_why, sizeof libnl_why);
}

static int nl_to_errno(int nle) {
        switch (nle < 0 ? -nle : nle) {
        case NLE_PERM:
                return -EPERM;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_NODEV:
        case NLE_OBJ_NOTFOUND:
                return -ENODEV;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_AGAIN:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

static int why_nl(char *why, const char *what, int nle) {
        snprintf(why, NET_WHY_MAX, "%s: %s", what, sym_nl_geterror(nle));
        return nl_to_errno(nle);
}

/* In the namespace this thread is in: lo up, and say whether anything else is there. */
static int lo_up(bool check_only, bool *ret_pristine, char *why) {
        struct nl_sock *sk = NULL;
        struct rtnl_link *lo = NULL, *change = NULL;
        struct nl_cache *links = NULL;
        int r;

        pthread_once(&libnl_once, libnl_load);
        if (libnl_result < 0) {
                snprintf(why, NET_WHY_MAX, "%s", libnl_why);
                return libnl_result;
        }
        sk = sym_nl_socket_alloc();
        if (!sk) {
                snprintf(why, NET_WHY_MAX, "libnl: out of memory");
                return -ENOMEM;
        }
        r = sym_nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                r = why_nl(why, "netlink", r);
                goto out;
        }
        if (check_only) {
                /* pristine: exactly one link, lo, up */
                r = sym_rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
                if (r < 0) {
                        r = why_nl(why, "listing links", r);
                        goto out;
                }
                struct rtnl_link *only = (struct rtnl_link *) sym_nl_cache_get_first(links);
                *ret_pristine = sym_nl_cache_nitems(links) == 1 && only &&
                                strcmp(sym_rtnl_link_get_name(only), "lo") == 0 &&
                                (sym_rtnl_link_get_flags(only) & IFF_UP);
                r = 0;
                goto out;
        }
        r = sym_rtnl_link_get_kernel(sk, 0, "lo", &lo);
        if (r < 0) {
                r = why_nl(why, "finding lo", r);
                goto out;
        }
        change = sym_rtnl_link_alloc();
        if (!change) {
                r = -ENOMEM;
                snprintf(why, NET_WHY_MAX, "libnl: out of memory");
                goto out;
        }
        sym_rtnl_link_set_flags(change, IFF_UP);
        r = sym_rtnl_link_change(sk, lo, change, 0);
        if (r < 0)
                r = why_nl(why, "bringing lo up", r);
out:
        if (links)
                sym_nl_cache_free(links);
        if (change)
                sym_rtnl_link_put(change);
        if (lo)
                sym_rtnl_link_put(lo);
        sym_nl_socket_free(sk);
        return r;
}

typedef struct net_work {
        int in_fd;     /* check: the namespace to look at; -1: make a new one */
        int out_fd;
        bool pristine;
        int r;
        char why[NET_WHY_MAX];
} net_work;

static void *net_thread(void *arg) {
        net_work *w = arg;

        if (w->in_fd >= 0) {
                if (setns(w->in_fd, CLONE_NEWNET) < 0) {
                        w->r = negative_errno();
                        snprintf(w->why, sizeof w->why, "setns: %s", strerror(-w->r));
                        return NULL;
                }
                w->r = lo_up(true, &w->pristine, w->why);
                return NULL;
        }
        if (unshare(CLONE_NEWNET) < 0) {
                w->r = negative_errno();
                snprintf(w->why, sizeof w->why, "unshare(CLONE_NEWNET): %s", strerror(-w->r));
                return NULL;
        }
        w->r = lo_up(false, NULL, w->why);
        if (w->r < 0)
                return NULL;
        w->out_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (w->out_fd < 0) {
                w->r = negative_errno();
                snprintf(w->why, sizeof w->why, "opening the namespace: %s", strerror(-w->r));
        }
        return NULL;
}

/* Run the work in a thread of its own, so that this thread's namespace never changes. */
static int in_thread(net_work *w, char *why) {
        pthread_t t;
        int r;

        r = pthread_create(&t, NULL, net_thread, w);
        if (r != 0) {
                snprintf(why, NET_WHY_MAX, "creating a thread: %s", strerror(r));
                return -r;
        }
        (void) pthread_join(t, NULL);
        if (w->r < 0)
                snprintf(why, NET_WHY_MAX, "%s", w->why);
        return w->r;
}

int net_ns_new(int *ret_fd, char *why) {
        net_work w = { .in_fd = -1, .out_fd = -1 };
        int r = in_thread(&w, why);

        if (r < 0)
                return r;
        *ret_fd = w.out_fd;
        return 0;
}

int net_ns_pristine(int fd, char *why) {
        net_work w = { .in_fd = fd, .out_fd = -1 };
        int r = in_thread(&w, why);

        if (r < 0)
                return r;
        return w.pristine;
}

/* ---- the pool ---- */

#define NET_POOL_MAX 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool[NET_POOL_MAX];
static size_t pool_n;

int net_ns_get(int *ret_fd, bool *ret_reused, char *why) {
        int fd = -1;

        pthread_mutex_lock(&pool_lock);
        if (pool_n > 0)
                fd = pool[--pool_n];
        pthread_mutex_unlock(&pool_lock);
        if (fd >= 0) {
                *ret_fd = fd;
                *ret_reused = true;
                return 0;
        }
        *ret_reused = false;
        return net_ns_new(ret_fd, why);
}

void net_ns_put(int fd, bool reusable) {
        char why[NET_WHY_MAX];

        if (fd < 0)
                return;
        /* A run that could not have changed it leaves only lo, up: check that anyway. */
        if (reusable && net_ns_pristine(fd, why) == 1) {
                pthread_mutex_lock(&pool_lock);
                if (pool_n < NET_POOL_MAX) {
                        pool[pool_n++] = fd;
                        fd = -1;
                }
                pthread_mutex_unlock(&pool_lock);
        }
        safe_close(fd);
}

/* ---- in the child (async-signal-safe) ---- */

int net_child_lo_up(void) {
        struct ifreq ifr = { .ifr_name = "lo" };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

        if (fd < 0)
                return errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                err = errno;
        else {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                        err = errno;
        }
        close(fd);
        return err;
}
