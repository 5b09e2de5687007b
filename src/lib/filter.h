/* SPDX-License-Identifier: MIT */
/*
 * The syscall filter: systemd's SystemCallFilter= syntax parsed into a policy_filter,
 * corral's own @group tables, and the BPF program built once in the parent (libseccomp
 * stays in filter.c; the child only loads the finished program with seccomp(2)).
 */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define FILTER_ENTRY_LISTED ((int16_t) -1)

/* The fd on which the child sends the listener fd to its supervisor; the filter lets
 * sendmsg() on this one fd through so that the child can hand the listener out after
 * loading it. */
#define FILTER_NOTIFY_SEND_FD 3

/* Value parsers for the policy keys; -EINVAL with why filled (PARSE_WHY_MAX). */
int filter_parse_filter(policy_filter *f, const char *value, char *why);
int filter_parse_error_number(policy_filter *f, const char *value, char *why);
int filter_parse_architectures(policy_filter *f, const char *value, char *why);

/* The value of SystemCallFilter= as it would be written back (sorted native names). */
int filter_format(const policy_filter *f, char **ret);
/* "EPERM" or "kill" for an errno or 0. */
const char *filter_errno_name(int e);

/* A finished program: what the child passes to seccomp(SECCOMP_SET_MODE_FILTER). */
typedef struct filter_prog {
        struct sock_fprog fprog;
        struct sock_filter *insns;
        bool uncached; /* not in the cache: freed by filter_prog_release() */
} filter_prog;

/* Who runs under the program: a command (loaded just before exec) or a function run's
 * child (loaded just before the function, which then sends its result back). */
typedef enum filter_target {
        FILTER_FOR_COMMAND,
        FILTER_FOR_FUNCTION,
} filter_target;

/* A placeholder in a function's program for the child's own pid, written in by
 * filter_load_fn() (never a pid: pid_max is at most 2^22). */
#define FILTER_FN_SELF 0x7ffffff0U

/*
 * Build the BPF program for f: every denied call (unlisted in an allow-list, listed in
 * a deny-list, and with arch_native any non-native ABI) returns SECCOMP_RET_USER_NOTIF
 * to the supervisor, which answers with the errno or kills the run. Always allowed,
 * because the child needs them after loading: for a command execve, exit and exit_group,
 * and sendmsg on FILTER_NOTIFY_SEND_FD; for a function (its result channel) exit,
 * exit_group, rt_sigreturn, sendmsg on FILTER_NOTIFY_SEND_FD, write and writev on the
 * output, crash and report pipes (SETUP_FN_OUT_FD..SETUP_FN_REPORT_FD), close of the
 * report pipe and the listener, and tgkill of its own process (raise(), abort(): a
 * crash stays a crash) -- and nothing else: an allow-list without them gets only those
 * arguments, a deny-list that names them still denies every other argument. Without
 * arch_native the rules also cover the i386 and x32 ABIs.
 */
int filter_compile(const policy_filter *f, filter_prog **ret, char *why);
int filter_compile_for(const policy_filter *f, filter_target t, filter_prog **ret, char *why);
filter_prog *filter_prog_free(filter_prog *p);

/* The program for f from the process-wide cache (built on first use): hold it until the
 * child is cloned, then release it. Thread-safe. */
int filter_prog_get(const policy_filter *f, const filter_prog **ret, char *why);
int filter_prog_get_for(const policy_filter *f, filter_target t, const filter_prog **ret, char *why);
void filter_prog_release(const filter_prog *p);

/* What a notification means: name of the call on its ABI, the ABI, and the answer. */
typedef struct filter_verdict {
        char name[48];
        char arch[16];
        int errno_answer; /* 0: kill the run */
} filter_verdict;
void filter_judge(const policy_filter *f, uint32_t audit_arch, int nr, filter_verdict *ret);

/* For tests and `policy check`: the groups and their members. */
size_t filter_group_count(void);
const char *filter_group_name(size_t i);
const char *const *filter_group_members(size_t i);
const char *filter_group_help(size_t i);

/*
 * In the child, between clone and exec (async-signal-safe, no allocation): set
 * no_new_privs, load p with a listener, and send the listener on FILTER_NOTIFY_SEND_FD
 * (which the caller has made a connected AF_UNIX socket). Returns 0 or -errno.
 */
int filter_load_and_send(const filter_prog *p);
/*
 * The same for a function's program (FILTER_FOR_FUNCTION), in the function child whose
 * fds the plan has placed (setup.h: 0-6 open, SETUP_FN_LISTENER_FD free): write the
 * child's pid into the program's FILTER_FN_SELF placeholders (its own copy of the
 * memory), load, check that the listener is SETUP_FN_LISTENER_FD, send it and close it
 * (the function must never hold its own listener: it could answer its own calls).
 */
int filter_load_fn(const filter_prog *p);
/* no_new_privs alone (NoNewPrivileges= without a filter). */
int filter_set_no_new_privs(void);

/* In the supervisor: take the listener fd sent by the child (CLOEXEC). */
int filter_recv_listener(int sock, int *ret_fd);

/* One pending notification: 1 and its facts, 0 when none is pending, -errno. */
typedef struct filter_notification {
        uint64_t id;
        uint32_t pid; /* the calling thread, in the supervisor's pid namespace */
        uint32_t arch; /* AUDIT_ARCH_* */
        int nr;
} filter_notification;
int filter_notif_recv(int listener, filter_notification *ret);
/* Answer: the call fails with errno_answer (> 0). -ENOENT when the caller is gone. */
int filter_notif_answer(int listener, uint64_t id, int errno_answer);
