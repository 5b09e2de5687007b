/* SPDX-License-Identifier: MIT */
/*
 * clone3(CLONE_VM | CLONE_VFORK): a child that runs fn(arg) on a stack of its own and
 * shares our memory until it execs or exits, while the calling thread sleeps.
 */
#pragma once

#include <stddef.h>
/* The kernel's struct clone_args and CLONE_* flags: the one definition every clone3 caller
 * in corral (spawn.c, init.c, here) uses. Debian 12's linux-libc-dev (6.1) has every field
 * up to cgroup (CLONE_INTO_CGROUP, Linux 5.7); glibc 2.36 has no struct of its own. */
#include <linux/sched.h>

/*
 * args is a struct clone_args of which the kernel reads size bytes (at least up to
 * stack_size), with the flags the caller chose; CLONE_VM, CLONE_VFORK and the stack are
 * added here. Returns the child's pid in the parent, or -errno: -ENOSYS where this
 * architecture has no trampoline (clone as before then).
 * fn must never return into the caller's code: it execs or _exits (its return value
 * becomes the exit status otherwise). Every signal is blocked from before the clone until
 * it returns, so no handler of ours runs in the child on our memory; the child starts
 * with them all blocked and must set its own mask.
 */
int clone_vm_run(struct clone_args *args, size_t size, int (*fn)(void *arg), void *arg);

/*
 * The same child, but we do not sleep: fn runs beside us, in our memory, until it execs.
 * Its stack is never given back (it is the child's until its exec), and nothing of ours
 * that it reads may change meanwhile. It also shares the calling thread's TLS (errno, and
 * whatever else glibc keeps per thread), so the caller must not run C code beside it:
 * for the pid-namespace init (init.c), which sleeps until the child has exec'd or died
 * (CLONE_CHILD_CLEARTID in args) and outlives it.
 */
int clone_vm_start(struct clone_args *args, size_t size, int (*fn)(void *arg), void *arg);
