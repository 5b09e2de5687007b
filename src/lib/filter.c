/* SPDX-License-Identifier: MIT */
/*
 * The syscall filter, libseccomp's only user. Parses systemd's SystemCallFilter=
 * syntax (an allow-list, or a deny-list with '~'; names and @groups from corral's own
 * tables below; "name:ERRNO" in deny-lists), SystemCallErrorNumber= and
 * SystemCallArchitectures=, and builds the BPF program once, in the parent, with
 * libseccomp; the child only hands the finished program to seccomp(2), so nothing is
 * allocated between clone and exec.
 *
 * Every denied call returns SECCOMP_RET_USER_NOTIF: the blocked call reaches the
 * supervisor (the job's monitor), which records the evidence (name, number, ABI) and
 * either answers with an errno or kills the run. A hostile program cannot suppress that,
 * unlike SIGSYS from SECCOMP_RET_TRAP, and unlike SECCOMP_RET_KILL_PROCESS the
 * supervisor learns which call it was. Privilege: none (the child sets no_new_privs).
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "filter.h"
#include "macro.h"
#include "dlopen.h"
#include "parse.h"
#include "setup.h"

/* libseccomp is loaded on first use (dlopen.h): only runs and policies with a filter pay
 * for it. Every entry point below that reaches it calls seccomp_dl() first. */
static DL_PROTOTYPE(seccomp_syscall_resolve_name_arch);
static DL_PROTOTYPE(seccomp_syscall_resolve_name);
static DL_PROTOTYPE(seccomp_arch_native);
static DL_PROTOTYPE(seccomp_syscall_resolve_num_arch);
static DL_PROTOTYPE(seccomp_release);
static DL_PROTOTYPE(seccomp_rule_add);
static DL_PROTOTYPE(seccomp_export_bpf);
static DL_PROTOTYPE(seccomp_init);
static DL_PROTOTYPE(seccomp_attr_set);
static DL_PROTOTYPE(seccomp_arch_add);

static const dl_symbol libseccomp_symbols[] = {
        DL_SYMBOL(seccomp_syscall_resolve_name_arch),
        DL_SYMBOL(seccomp_syscall_resolve_name),
        DL_SYMBOL(seccomp_arch_native),
        DL_SYMBOL(seccomp_syscall_resolve_num_arch),
        DL_SYMBOL(seccomp_release),
        DL_SYMBOL(seccomp_rule_add),
        DL_SYMBOL(seccomp_export_bpf),
        DL_SYMBOL(seccomp_init),
        DL_SYMBOL(seccomp_attr_set),
        DL_SYMBOL(seccomp_arch_add),
};

static pthread_once_t libseccomp_once = PTHREAD_ONCE_INIT;
static void *libseccomp_handle;
static int libseccomp_result;
static char libseccomp_why[200];

static void libseccomp_load(void) {
        libseccomp_result = dl_open_table("libseccomp.so.2", &libseccomp_handle, libseccomp_symbols,
                                          ELEMENTSOF(libseccomp_symbols), libseccomp_why, sizeof libseccomp_why);
}

/* 0, or -EOPNOTSUPP with why (when non-NULL) saying libseccomp is missing. */
static int seccomp_dl(char *why) {
        pthread_once(&libseccomp_once, libseccomp_load);
        if (libseccomp_result < 0 && why)
                snprintf(why, PARSE_WHY_MAX, "%s", libseccomp_why);
        return libseccomp_result;
}

/*
 * corral's groups. They follow the names and the spirit of systemd's (systemd.exec(5))
 * but are corral's own lists; a name libseccomp knows but this architecture lacks is
 * skipped, and the unit tests check that libseccomp knows every name here.
 */
typedef struct filter_group {
        const char *name;
        const char *help;
        const char *const *members; /* NULL-terminated; "@x" includes group x */
} filter_group;

#define MEMBERS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const filter_group groups[] = {
        { "@default", "always allowed in an allow-list: exec, exit, memory maps, clocks, ids",
          MEMBERS("arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64", "clock_gettime",
                  "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "execve", "exit",
                  "exit_group", "futex", "futex_time64", "futex_waitv", "get_robust_list", "get_thread_area",
                  "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
                  "getgroups32", "getpgid", "getpgrp", "getpid", "getppid", "getrandom", "getresgid",
                  "getresgid32", "getresuid", "getresuid32", "getrlimit", "getsid", "gettid", "gettimeofday",
                  "getuid", "getuid32", "membarrier", "mmap", "mmap2", "munmap", "nanosleep", "pause",
                  "prlimit64", "restart_syscall", "rseq", "rt_sigreturn", "sched_getaffinity", "sched_yield",
                  "set_robust_list", "set_thread_area", "set_tid_address", "set_tls", "sigreturn", "time",
                  "ugetrlimit") },
        { "@aio", "asynchronous I/O, io_uring included",
          MEMBERS("io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
                  "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup") },
        { "@basic-io", "read, write, seek and close open files",
          MEMBERS("_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv",
                  "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev") },
        { "@chown", "change file owners",
          MEMBERS("chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32") },
        { "@clock", "set the system clock",
          MEMBERS("adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
                  "settimeofday", "stime") },
        { "@debug", "trace and inspect other processes",
          MEMBERS("lookup_dcookie", "perf_event_open", "pidfd_getfd", "process_vm_readv", "process_vm_writev",
                  "ptrace", "rtas", "s390_runtime_instr", "sys_debug_setcontext") },
        { "@file-system", "open, stat, create, rename and remove files and directories",
          MEMBERS("access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate", "fchdir",
                  "fchmod", "fchmodat", "fcntl", "fcntl64", "fgetxattr", "flistxattr", "fremovexattr",
                  "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "ftruncate",
                  "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr",
                  "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "lgetxattr", "link",
                  "linkat", "listxattr", "llistxattr", "lremovexattr", "lsetxattr", "lstat", "lstat64", "mkdir",
                  "mkdirat", "mknod", "mknodat", "mmap", "mmap2", "munmap", "newfstatat", "oldfstat",
                  "oldlstat", "oldstat", "open", "openat", "openat2", "readlink", "readlinkat", "removexattr",
                  "rename", "renameat", "renameat2", "rmdir", "setxattr", "stat", "stat64", "statfs",
                  "statfs64", "statx", "symlink", "symlinkat", "truncate", "truncate64", "unlink", "unlinkat",
                  "utime", "utimensat", "utimensat_time64", "utimes") },
        { "@io-event", "wait for events on fds",
          MEMBERS("_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
                  "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll",
                  "ppoll_time64", "pselect6", "pselect6_time64", "select") },
        { "@ipc", "pipes, SysV IPC, POSIX message queues, memfds",
          MEMBERS("ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
                  "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl",
                  "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "semctl", "semget", "semop", "semtimedop",
                  "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget") },
        { "@keyring", "the kernel keyrings (they outlive a run, per uid)",
          MEMBERS("add_key", "keyctl", "request_key") },
        { "@memlock", "lock memory",
          MEMBERS("mlock", "mlock2", "mlockall", "munlock", "munlockall") },
        { "@module", "load and unload kernel modules",
          MEMBERS("delete_module", "finit_module", "init_module") },
        { "@mount", "mount, unmount, change the root",
          MEMBERS("chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
                  "open_tree", "pivot_root", "umount", "umount2") },
        { "@network-io", "sockets",
          MEMBERS("accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
                  "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
                  "sendto", "setsockopt", "shutdown", "socket", "socketcall", "socketpair") },
        { "@obsolete", "calls nobody should need any more",
          MEMBERS("_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime", "get_kernel_syms",
                  "getpmsg", "gtty", "idle", "lock", "mpx", "prof", "profil", "putpmsg", "query_module",
                  "security", "sgetmask", "ssetmask", "stty", "sysfs", "tuxcall", "ulimit", "uselib", "ustat",
                  "vserver") },
        { "@process", "create, signal, wait for and change processes and namespaces",
          MEMBERS("capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
                  "pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns", "swapcontext",
                  "tgkill", "times", "tkill", "unshare", "vfork", "wait4", "waitid", "waitpid") },
        { "@raw-io", "raw access to I/O ports and PCI",
          MEMBERS("ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
                  "s390_pci_mmio_read", "s390_pci_mmio_write") },
        { "@reboot", "reboot and kexec",
          MEMBERS("kexec_file_load", "kexec_load", "reboot") },
        { "@resources", "change priorities, affinity and limits",
          MEMBERS("ioprio_set", "mbind", "migrate_pages", "move_pages", "nice", "sched_setaffinity",
                  "sched_setattr", "sched_setparam", "sched_setscheduler", "set_mempolicy", "setpriority",
                  "setrlimit") },
        { "@setuid", "change user and group ids",
          MEMBERS("setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid",
                  "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32") },
        { "@signal", "signal handlers and masks",
          MEMBERS("rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
                  "rt_sigtimedwait_time64", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4",
                  "sigpending", "sigprocmask", "sigsuspend") },
        { "@swap", "enable and disable swap",
          MEMBERS("swapoff", "swapon") },
        { "@sync", "flush files to disk",
          MEMBERS("fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2", "syncfs") },
        { "@timer", "timers and alarms",
          MEMBERS("alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
                  "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
                  "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times") },
        { "@privileged", "calls that need privileges: ids, hostnames, quotas, bpf, and the groups above that do",
          MEMBERS("@chown", "@clock", "@module", "@raw-io", "@reboot", "@swap", "_sysctl", "acct", "bpf",
                  "capset", "chroot", "fanotify_init", "fanotify_mark", "nfsservctl", "open_by_handle_at",
                  "pivot_root", "quotactl", "quotactl_fd", "setdomainname", "setfsuid", "setfsuid32",
                  "setgroups", "setgroups32", "sethostname", "setresuid", "setresuid32", "setreuid",
                  "setreuid32", "setuid", "setuid32", "vhangup") },
        { "@system-service", "what an ordinary program needs (an allow-list base)",
          MEMBERS("@aio", "@basic-io", "@chown", "@default", "@file-system", "@io-event", "@ipc", "@keyring",
                  "@memlock", "@network-io", "@process", "@resources", "@setuid", "@signal", "@sync", "@timer",
                  "capset", "copy_file_range", "fadvise64", "fadvise64_64", "flock", "get_mempolicy", "getcpu",
                  "getpriority", "ioctl", "ioprio_get", "kcmp", "madvise", "mprotect", "mremap",
                  "name_to_handle_at", "oldolduname", "olduname", "personality", "readahead", "readdir",
                  "remap_file_pages", "sched_get_priority_max", "sched_get_priority_min", "sched_getattr",
                  "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
                  "sched_rr_get_interval_time64", "sendfile", "sendfile64", "setfsgid", "setfsgid32",
                  "setfsuid", "setfsuid32", "setpgid", "setsid", "splice", "sysinfo", "tee", "umask", "uname",
                  "userfaultfd", "vmsplice") },
};

size_t filter_group_count(void) {
        return ELEMENTSOF(groups);
}
const char *filter_group_name(size_t i) {
        return i < ELEMENTSOF(groups) ? groups[i].name : NULL;
}
const char *const *filter_group_members(size_t i) {
        return i < ELEMENTSOF(groups) ? groups[i].members : NULL;
}
const char *filter_group_help(size_t i) {
        return i < ELEMENTSOF(groups) ? groups[i].help : NULL;
}

static const filter_group *group_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (strcmp(groups[i].name, name) == 0)
                        return &groups[i];
        return NULL;
}

/* The ABIs a filter may meet on this machine, for names in evidence. */
static const struct {
        uint32_t token;
        const char *name;
} arches[] = {
        { SCMP_ARCH_X86_64, "x86_64" }, { SCMP_ARCH_X86, "x86" },         { SCMP_ARCH_X32, "x32" },
        { SCMP_ARCH_AARCH64, "aarch64" }, { SCMP_ARCH_ARM, "arm" },       { SCMP_ARCH_RISCV64, "riscv64" },
        { SCMP_ARCH_PPC64LE, "ppc64le" }, { SCMP_ARCH_S390X, "s390x" },
};

static const char *arch_name(uint32_t token) {
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (arches[i].token == token)
                        return arches[i].name;
        return "unknown";
}

/* A name libseccomp knows on some ABI, even if not on this one. */
static bool known_anywhere(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (sym_seccomp_syscall_resolve_name_arch(arches[i].token, name) != __NR_SCMP_ERROR)
                        return true;
        return false;
}

_printf_(2, 3) static int why_fail(char *why, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, PARSE_WHY_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* errno name (EPERM) or number (1..4095). */
static int parse_errno(const char *s, int *ret, char *why) {
        char *end;
        long v;

        if (*s >= '0' && *s <= '9') {
                errno = 0;
                v = strtol(s, &end, 10);
                if (errno || *end || v < 1 || v > 4095)
                        return why_fail(why, "errno '%s' out of range 1..4095", s);
                *ret = (int) v;
                return 0;
        }
        for (int e = 1; e < 4096; e++) {
                const char *n = strerrorname_np(e);
                if (n && strcmp(n, s) == 0) {
                        *ret = e;
                        return 0;
                }
        }
        return why_fail(why, "unknown errno '%s'", s);
}

const char *filter_errno_name(int e) {
        const char *n;

        if (e == 0)
                return "kill";
        n = strerrorname_np(e);
        return n ? n : "unknown";
}

/* Apply one name or @group (depth guards against a table that includes itself). */
static int apply_token(policy_filter *f, const char *tok, bool adding, int16_t value, int depth, char *why) {
        if (tok[0] == '@') {
                const filter_group *g = group_find(tok);
                int r;

                if (!g)
                        return why_fail(why, "unknown group '%s'", tok);
                if (depth > 4)
                        return why_fail(why, "group '%s' nests too deep", tok);
                for (const char *const *m = g->members; *m; m++) {
                        r = apply_token(f, *m, adding, value, depth + 1, why);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        int nr = sym_seccomp_syscall_resolve_name(tok);
        if (nr == __NR_SCMP_ERROR) {
                if (!known_anywhere(tok))
                        return why_fail(why, "unknown system call '%s'", tok);
                return 0; /* another ABI's call (socketcall on x86-64): nothing to do here */
        }
        if (nr < 0)
                return 0; /* a libseccomp pseudo-number: the call does not exist natively */
        if (nr >= POLICY_SYSCALL_MAX)
                return why_fail(why, "system call '%s' has number %d, beyond corral's table", tok, nr);
        f->entry[nr] = adding ? value : 0;
        return 0;
}

int filter_parse_filter(policy_filter *f, const char *value, char *why) {
        _cleanup_free_ char *copy = NULL;
        policy_filter t = *f;
        bool invert = false, adding;
        char *save = NULL;
        int r;

        value += strspn(value, " \t\n\r");
        if (!*value) {
                /* As in systemd, an empty assignment resets the list. */
                t.set = false;
                t.allow_list = false;
                memset(t.entry, 0, sizeof t.entry);
                *f = t;
                return 0;
        }
        r = seccomp_dl(why);
        if (r < 0)
                return r;
        if (*value == '~') {
                invert = true;
                value++;
        }
        if (!t.set) {
                t.set = true;
                t.allow_list = !invert;
                memset(t.entry, 0, sizeof t.entry);
        }
        /* Into an allow-list plain names add and '~' names remove; into a deny-list the reverse. */
        adding = t.allow_list ? !invert : invert;

        copy = strdup(value);
        if (!copy)
                return why_fail(why, "out of memory");
        size_t n_tokens = 0;
        for (char *tok = strtok_r(copy, " \t\n\r", &save); tok; tok = strtok_r(NULL, " \t\n\r", &save)) {
                int16_t v = FILTER_ENTRY_LISTED;
                char *colon = strchr(tok, ':');

                n_tokens++;
                if (colon) {
                        int e;
                        *colon = '\0';
                        if (t.allow_list || !adding)
                                return why_fail(why, "'%s:%s': an errno belongs to an entry of a deny-list (~...)",
                                                tok, colon + 1);
                        r = parse_errno(colon + 1, &e, why);
                        if (r < 0)
                                return r;
                        v = (int16_t) e;
                }
                if (!*tok)
                        return why_fail(why, "empty system call name");
                r = apply_token(&t, tok, adding, v, 0, why);
                if (r < 0)
                        return r;
        }
        if (n_tokens == 0)
                return why_fail(why, "'~' without any system call");

        *f = t;
        return 0;
}

int filter_parse_error_number(policy_filter *f, const char *value, char *why) {
        int e, r;

        value += strspn(value, " \t\n\r");
        if (!*value || strcmp(value, "kill") == 0) {
                f->error_number = 0;
                return 0;
        }
        r = parse_errno(value, &e, why);
        if (r < 0)
                return r;
        f->error_number = e;
        return 0;
}

int filter_parse_architectures(policy_filter *f, const char *value, char *why) {
        const char *native;
        char word[32];
        size_t len;
        int r;

        r = seccomp_dl(why);
        if (r < 0)
                return r;
        native = arch_name(sym_seccomp_arch_native());

        value += strspn(value, " \t\n\r");
        len = strcspn(value, " \t\n\r");
        if (len == 0) {
                f->arch_native = false;
                return 0;
        }
        if (value[len + strspn(value + len, " \t\n\r")] != '\0' || len >= sizeof word)
                return why_fail(why, "only one architecture, 'native', is supported");
        memcpy(word, value, len);
        word[len] = '\0';
        /* systemd spells x86_64 "x86-64" */
        if (strcmp(word, "native") != 0 && strcmp(word, native) != 0 &&
            !(strcmp(native, "x86_64") == 0 && strcmp(word, "x86-64") == 0))
                return why_fail(why, "only 'native' (%s) is supported", native);
        f->arch_native = true;
        return 0;
}

int filter_format(const policy_filter *f, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m;

        if (f->set && seccomp_dl(NULL) < 0)
                return -EOPNOTSUPP;
        m = open_memstream(&buf, &size);
        if (!m)
                return -ENOMEM;
        if (f->set) {
                bool first = true;
                if (!f->allow_list)
                        fputc('~', m);
                for (int nr = 0; nr < POLICY_SYSCALL_MAX; nr++) {
                        char *name;
                        if (!f->entry[nr])
                                continue;
                        name = sym_seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
                        fprintf(m, "%s%s", first ? "" : " ", name ? name : "?");
                        if (f->entry[nr] > 0)
                                fprintf(m, ":%s", filter_errno_name(f->entry[nr]));
                        free(name);
                        first = false;
                }
        }
        if (fclose(m) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* ---- building the program ---- */

static void seccomp_releasep(void **p) {
        if (*p)
                sym_seccomp_release(*p);
}

/*
 * Calls the child makes after loading the filter, which a filter must not deny: always
 * (a filter that denied them could not start any program; systemd's @default has them
 * too), or only with a first argument in [lo, hi] (its own fds, its own pid). A
 * function's child never execs, but returns from its crash handler and sends its result.
 */
typedef struct special_call {
        const char *name;
        filter_target only; /* _FILTER_FOR_ANY: both */
        bool always;
        uint64_t lo, hi;
} special_call;

#define _FILTER_FOR_ANY ((filter_target) -1)

static const special_call special_calls[] = {
        { "exit", _FILTER_FOR_ANY, true, 0, 0 },
        { "exit_group", _FILTER_FOR_ANY, true, 0, 0 },
        { "execve", FILTER_FOR_COMMAND, true, 0, 0 },
        { "rt_sigreturn", FILTER_FOR_FUNCTION, true, 0, 0 },
        /* the listener leaves on it */
        { "sendmsg", _FILTER_FOR_ANY, false, FILTER_NOTIFY_SEND_FD, FILTER_NOTIFY_SEND_FD },
        /* the result, the crash report (backtrace_symbols_fd writes with writev), a set-up
         * failure after loading */
        { "write", FILTER_FOR_FUNCTION, false, SETUP_FN_OUT_FD, SETUP_FN_REPORT_FD },
        { "writev", FILTER_FOR_FUNCTION, false, SETUP_FN_OUT_FD, SETUP_FN_REPORT_FD },
        /* the report pipe (set-up done), the child's copy of the listener once sent */
        { "close", FILTER_FOR_FUNCTION, false, SETUP_FN_REPORT_FD, SETUP_FN_LISTENER_FD },
        /* raise() and abort() in the function, re-raising in the crash handler */
        { "tgkill", FILTER_FOR_FUNCTION, false, FILTER_FN_SELF, FILTER_FN_SELF },
};

/*
 * A call the child needs only with first arguments in [lo, hi]: in an allow-list that
 * does not list it, allowed with exactly those; in a deny-list that lists it, denied with
 * every other. Each value is its own rule (libseccomp ORs rules of one action), compared
 * on all 64 bits: an fd with garbage in the upper half matches nothing allowed.
 */
static int add_arg_exception(scmp_filter_ctx ctx, const policy_filter *f, int nr, uint64_t lo, uint64_t hi,
                             uint32_t deny) {
        bool listed = f->entry[nr] != 0;
        int r = 0;

        if (f->allow_list) {
                if (listed)
                        return sym_seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                for (uint64_t v = lo; v <= hi && r >= 0; v++)
                        r = sym_seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0_64(SCMP_CMP_EQ, v));
                return r;
        }
        if (!listed)
                return 0;
        r = sym_seccomp_rule_add(ctx, deny, nr, 1, SCMP_A0_64(SCMP_CMP_LT, lo));
        if (r >= 0)
                r = sym_seccomp_rule_add(ctx, deny, nr, 1, SCMP_A0_64(SCMP_CMP_GT, hi));
        return r;
}

static int add_rules(scmp_filter_ctx ctx, const policy_filter *f, filter_target t, char *why) {
        const uint32_t deny = SCMP_ACT_NOTIFY;
        int special_nr[ELEMENTSOF(special_calls)];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(special_calls); i++)
                special_nr[i] = special_calls[i].only == _FILTER_FOR_ANY || special_calls[i].only == t ?
                                        sym_seccomp_syscall_resolve_name(special_calls[i].name) :
                                        __NR_SCMP_ERROR;
        /* Only the listed numbers and the few special ones get a rule: naming every
         * number of the table first (libseccomp looks each one up) cost more than the
         * whole rest of a deny-list's build. */
        for (int nr = 0; nr < POLICY_SYSCALL_MAX; nr++) {
                bool listed = f->entry[nr] != 0;
                const special_call *sc = NULL;

                for (size_t i = 0; i < ELEMENTSOF(special_calls) && !sc; i++)
                        if (special_nr[i] == nr)
                                sc = &special_calls[i];
                if (sc && sc->always) {
                        if (f->allow_list)
                                r = sym_seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                        else
                                r = 0;
                } else if (sc)
                        r = add_arg_exception(ctx, f, nr, sc->lo, sc->hi, deny);
                else if (listed)
                        r = sym_seccomp_rule_add(ctx, f->allow_list ? SCMP_ACT_ALLOW : deny, nr, 0);
                else
                        r = 0;
                if (r < 0) {
                        _cleanup_free_ char *name = sym_seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
                        return why_fail(why, "libseccomp: rule for '%s': %s", name ? name : "?", strerror(-r));
                }
        }
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, filter_prog **ret, char *why) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        filter_prog *p;
        int r;

        fd = memfd_create("corral-filter", MFD_CLOEXEC);
        if (fd < 0)
                return why_fail(why, "memfd_create: %m");
        r = sym_seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return why_fail(why, "libseccomp: export: %s", strerror(-r));
        if (fstat(fd, &st) < 0)
                return why_fail(why, "fstat: %m");
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
            st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return why_fail(why, "libseccomp exported a program of %lld bytes", (long long) st.st_size);

        p = calloc(1, sizeof *p);
        if (!p)
                return why_fail(why, "out of memory");
        p->insns = malloc((size_t) st.st_size);
        if (!p->insns || pread(fd, p->insns, (size_t) st.st_size, 0) != st.st_size) {
                filter_prog_free(p);
                return why_fail(why, "reading the exported program failed");
        }
        p->fprog.len = (unsigned short) (st.st_size / sizeof(struct sock_filter));
        p->fprog.filter = p->insns;
        *ret = p;
        return 0;
}

int filter_compile(const policy_filter *f, filter_prog **ret, char *why) {
        return filter_compile_for(f, FILTER_FOR_COMMAND, ret, why);
}

int filter_compile_for(const policy_filter *f, filter_target t, filter_prog **ret, char *why) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        const uint32_t deny = SCMP_ACT_NOTIFY;
        int r;

        if (!f->set && !f->arch_native)
                return why_fail(why, "no filter to build");
        r = seccomp_dl(why);
        if (r < 0)
                return r;

        /* A filter that only restricts architectures is a deny-list of nothing. */
        ctx = sym_seccomp_init(f->set && f->allow_list ? deny : SCMP_ACT_ALLOW);
        if (!ctx)
                return why_fail(why, "libseccomp: seccomp_init failed");
        /* The child sets no_new_privs itself, before loading. */
        r = sym_seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r >= 0)
                r = sym_seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, f->arch_native ? deny : SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return why_fail(why, "libseccomp: attributes: %s", strerror(-r));
        /* One ABI: a binary tree by syscall number instead of one comparison per rule in a
         * row. The kernel runs the program for every syscall number of every ABI when it
         * loads it (its allow-cache, 5.11), and for every call the program makes: loading
         * untrusted's deny-list took 0.15-0.22 ms in the child, 0.06-0.09 ms as a tree.
         * Over three ABIs libseccomp builds the tree slower (an allow-list: 9.5 -> 11.9 ms
         * per CLI run), so those keep the default. */
        if (f->arch_native)
                (void) sym_seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        /* Without SystemCallArchitectures=native the same rules cover the compat ABIs
         * (int 0x80, x32), so that they are no way around the filter. */
        if (!f->arch_native && sym_seccomp_arch_native() == SCMP_ARCH_X86_64) {
                r = sym_seccomp_arch_add(ctx, SCMP_ARCH_X86);
                if (r >= 0)
                        r = sym_seccomp_arch_add(ctx, SCMP_ARCH_X32);
                if (r < 0 && r != -EEXIST)
                        return why_fail(why, "libseccomp: adding the compat ABIs: %s", strerror(-r));
        }

        if (f->set) {
                r = add_rules(ctx, f, t, why);
                if (r < 0)
                        return r;
        }
        return export_bpf(ctx, ret, why);
}

filter_prog *filter_prog_free(filter_prog *p) {
        if (p) {
                free(p->insns);
                free(p);
        }
        return NULL;
}

/* ---- judging a notification ---- */

#define X32_SYSCALL_BIT 0x40000000

void filter_judge(const policy_filter *f, uint32_t audit_arch, int nr, filter_verdict *ret) {
        uint32_t native, arch = audit_arch;
        char *name;

        if (seccomp_dl(NULL) < 0) {
                /* unreachable: a filter was compiled with it, but never leave ret unset */
                *ret = (filter_verdict){ .errno_answer = f->error_number };
                snprintf(ret->arch, sizeof ret->arch, "?");
                snprintf(ret->name, sizeof ret->name, "syscall_%d", nr);
                return;
        }
        native = sym_seccomp_arch_native();

        if (arch == SCMP_ARCH_X86_64 && (nr & X32_SYSCALL_BIT))
                arch = SCMP_ARCH_X32;

        *ret = (filter_verdict){ .errno_answer = f->error_number };
        snprintf(ret->arch, sizeof ret->arch, "%s", arch_name(arch));

        name = sym_seccomp_syscall_resolve_num_arch(arch, nr);
        if (name)
                snprintf(ret->name, sizeof ret->name, "%s", name);
        else
                snprintf(ret->name, sizeof ret->name, "syscall_%d", nr);

        if (arch != native && f->arch_native) {
                /* A foreign ABI with SystemCallArchitectures=native: never answered. */
                ret->errno_answer = 0;
        } else if (name) {
                /* A per-entry errno, found by name so the compat ABIs' numbers map too. */
                int native_nr = arch == native ? nr : sym_seccomp_syscall_resolve_name(name);
                if (native_nr >= 0 && native_nr < POLICY_SYSCALL_MAX && f->entry[native_nr] > 0)
                        ret->errno_answer = f->entry[native_nr];
        }
        free(name);
}

/* ---- the kernel's side: loading, the listener, notifications ---- */

int filter_set_no_new_privs(void) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        return 0;
}

/* no_new_privs, then the filter with a listener: the listener's fd, or -errno. */
static long load_with_listener(const filter_prog *p) {
        int r = filter_set_no_new_privs();
        if (r < 0)
                return r;
        /* The listener is born close-on-exec: the program never holds it. (5.0) */
        long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p->fprog);
        return fd < 0 ? negative_errno() : fd;
}

static int send_listener(int fd) {
        char byte = 'L';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof control.buf,
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        /* In flight, the listener stays open after the child closes its copy. */
        if (sendmsg(FILTER_NOTIFY_SEND_FD, &msg, MSG_NOSIGNAL) != 1)
                return negative_errno();
        return 0;
}

int filter_load_and_send(const filter_prog *p) {
        long fd = load_with_listener(p);
        if (fd < 0)
                return (int) fd;
        /* Not closed here: close() may be denied now, and exec closes it. */
        return send_listener((int) fd);
}

int filter_load_fn(const filter_prog *p) {
        /* Our copy of the program (copy-on-write memory of the parent or the forkserver's
         * private mapping): the placeholder becomes our pid. */
        struct sock_filter *insn = (struct sock_filter *) p->fprog.filter;
        uint32_t self = (uint32_t) getpid();
        long fd;
        int r;

        for (unsigned i = 0; i < p->fprog.len; i++)
                if (BPF_CLASS(insn[i].code) == BPF_JMP && BPF_SRC(insn[i].code) == BPF_K && insn[i].k == FILTER_FN_SELF)
                        insn[i].k = self;
        fd = load_with_listener(p);
        if (fd < 0)
                return (int) fd;
        if (fd != SETUP_FN_LISTENER_FD)
                return -EBADFD; /* the filter would deny closing it: never keep it */
        r = send_listener((int) fd);
        if (r < 0)
                return r;
        if (close((int) fd) < 0)
                return negative_errno();
        return 0;
}

int filter_recv_listener(int sock, int *ret_fd) {
        char byte;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof control.buf,
        };
        struct cmsghdr *c;
        ssize_t n;
        int fd;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        c = CMSG_FIRSTHDR(&msg);
        if (n != 1 || byte != 'L' || (msg.msg_flags & MSG_CTRUNC) || !c || c->cmsg_level != SOL_SOCKET ||
            c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        *ret_fd = fd;
        return 0;
}

int filter_notif_recv(int listener, filter_notification *ret) {
        struct seccomp_notif n;
        struct pollfd pfd = { .fd = listener, .events = POLLIN };

        /* RECV blocks; the monitor must not, so look first. */
        if (poll(&pfd, 1, 0) < 0)
                return negative_errno();
        if (!(pfd.revents & POLLIN))
                return pfd.revents & (POLLHUP | POLLERR) ? -EPIPE : 0;

        memset(&n, 0, sizeof n); /* the kernel refuses a dirty struct */
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
                return errno == ENOENT ? 0 : negative_errno(); /* ENOENT: the caller died meanwhile */
        *ret = (filter_notification){
                .id = n.id,
                .pid = n.pid,
                .arch = n.data.arch,
                .nr = n.data.nr,
        };
        return 1;
}

int filter_notif_answer(int listener, uint64_t id, int errno_answer) {
        struct seccomp_notif_resp resp = {
                .id = id,
                .val = 0,
                .error = -errno_answer,
                .flags = 0,
        };

        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
                return negative_errno();
        return 0;
}

/* ---- once per policy: a process-wide cache of built programs ---- */

/*
 * Building an allow-list for three ABIs takes milliseconds; a service running the same
 * policy thousands of times builds it once. Entries are keyed by the whole
 * policy_filter (policies are copied by value into jobs, so a pointer could not be the
 * key), immutable once built, and evicted only when unreferenced. The child gets its
 * own copy-on-write view at clone, so a job needs its reference only until clone.
 */
#define FILTER_CACHE_MAX 16

typedef struct cache_entry {
        policy_filter key;
        filter_target target;
        filter_prog *prog;
        unsigned refs;
        uint64_t used; /* last use, for eviction */
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry cache[FILTER_CACHE_MAX];
static uint64_t cache_clock;

/* Only the fields that shape the program (error_number is the supervisor's business). */
static void cache_key(const policy_filter *f, policy_filter *ret) {
        memset(ret, 0, sizeof *ret);
        ret->set = f->set;
        ret->allow_list = f->allow_list;
        ret->arch_native = f->arch_native;
        for (size_t i = 0; i < POLICY_SYSCALL_MAX; i++)
                ret->entry[i] = f->entry[i] ? FILTER_ENTRY_LISTED : 0;
}

int filter_prog_get(const policy_filter *f, const filter_prog **ret, char *why) {
        return filter_prog_get_for(f, FILTER_FOR_COMMAND, ret, why);
}

int filter_prog_get_for(const policy_filter *f, filter_target t, const filter_prog **ret, char *why) {
        policy_filter key;
        cache_entry *slot = NULL;
        filter_prog *p = NULL;
        int r;

        cache_key(f, &key);
        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < FILTER_CACHE_MAX; i++)
                if (cache[i].prog && cache[i].target == t && memcmp(&cache[i].key, &key, sizeof key) == 0) {
                        cache[i].refs++;
                        cache[i].used = ++cache_clock;
                        *ret = cache[i].prog;
                        pthread_mutex_unlock(&cache_lock);
                        return 0;
                }
        pthread_mutex_unlock(&cache_lock);

        /* Build outside the lock: two threads may build the same program once each. */
        r = filter_compile_for(&key, t, &p, why);
        if (r < 0)
                return r;

        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < FILTER_CACHE_MAX; i++) {
                if (!cache[i].prog) {
                        slot = &cache[i];
                        break;
                }
                if (cache[i].refs == 0 && (!slot || cache[i].used < slot->used))
                        slot = &cache[i];
        }
        if (slot) {
                filter_prog_free(slot->prog);
                *slot = (cache_entry){ .key = key, .target = t, .prog = p, .refs = 1, .used = ++cache_clock };
        } else
                p->uncached = true; /* every slot in use: the caller's alone, freed on release */
        pthread_mutex_unlock(&cache_lock);
        *ret = p;
        return 0;
}

void filter_prog_release(const filter_prog *p) {
        if (!p)
                return;
        if (p->uncached) {
                filter_prog_free((filter_prog *) p);
                return;
        }
        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < FILTER_CACHE_MAX; i++)
                if (cache[i].prog == p && cache[i].refs > 0) {
                        cache[i].refs--;
                        break;
                }
        pthread_mutex_unlock(&cache_lock);
}
