/* SPDX-License-Identifier: MIT */
/*
 * What posix_spawn does, with the two clone3 flags posix_spawn cannot pass
 * (CLONE_INTO_CGROUP, CLONE_PIDFD). A fork copies the page tables and then makes the
 * parent take a copy-on-write fault for every page it writes afterwards; a child that only
 * sets itself up and execs needs none of that. Measured on this project's 2-core host,
 * fork + exec + wait of /bin/true took 0.88 ms against 0.66 ms with vfork: a tenth of
 * `corral run -- /bin/true`.
 *
 * The child shares our memory, so it must not return from the system call into C code:
 * it would run on, and overwrite, our stack. A few instructions switch to the new stack,
 * call fn(arg) and exit. Only x86-64 and aarch64 have them; elsewhere, and in sanitized
 * builds (below), -ENOSYS.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "clone-vm.h"
#include "macro.h"

/* The set-up plan is a loop over a few system calls; 64 KiB is far more than it needs,
 * and the page below it is a guard, so an overflow faults instead of writing our memory. */
#define CHILD_STACK (64 * 1024)
#define GUARD 4096

#define STR_(x) #x
#define STR(x) STR_(x)

/* The part of struct clone_args touched here: up to the stack fields. */
#define CLONE_VM_ARGS_MIN (offsetof(struct clone_args, stack_size) + sizeof(uint64_t))

/* long clone_vm_syscall(struct clone_args *args, size_t size, int (*fn)(void *), void *arg) */
long clone_vm_syscall(struct clone_args *args, size_t size, int (*fn)(void *), void *arg);

/* AddressSanitizer tracks the child's stack frames in shadow memory it shares with us and
 * never sees them end (the child execs): the next mapping at that address would inherit
 * stale poison. Sanitized builds clone as before. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(SANITIZED)
#elif defined(__x86_64__)
__asm__(".text\n"
        ".globl clone_vm_syscall\n"
        ".hidden clone_vm_syscall\n"
        ".type clone_vm_syscall,@function\n"
        "clone_vm_syscall:\n"
        "        mov %rdx, %r8\n"          /* fn and arg survive the syscall in r8, r9 */
        "        mov %rcx, %r9\n"
        "        mov $" STR(SYS_clone3) ", %eax\n"
        "        syscall\n"
        "        test %rax, %rax\n"
        "        jz 1f\n"
        "        ret\n"                    /* the parent: pid or -errno */
        "1:      xor %ebp, %ebp\n"         /* the child, on its own stack (16-byte aligned) */
        "        mov %r9, %rdi\n"
        "        call *%r8\n"
        "        mov %eax, %edi\n"
        "        mov $" STR(SYS_exit) ", %eax\n"
        "        syscall\n"
        "        hlt\n"
        ".size clone_vm_syscall, .-clone_vm_syscall\n");
#define HAVE_TRAMPOLINE 1
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl clone_vm_syscall\n"
        ".hidden clone_vm_syscall\n"
        ".type clone_vm_syscall,%function\n"
        "clone_vm_syscall:\n"
        "        mov x8, #" STR(SYS_clone3) "\n"
        "        svc #0\n"                 /* x2 (fn) and x3 (arg) survive it */
        "        cbz x0, 1f\n"
        "        ret\n"
        "1:      mov x29, #0\n"
        "        mov x30, #0\n"
        "        mov x0, x3\n"
        "        blr x2\n"
        "        mov x8, #" STR(SYS_exit) "\n"
        "        svc #0\n"
        "        brk #0\n"
        ".size clone_vm_syscall, .-clone_vm_syscall\n");
#define HAVE_TRAMPOLINE 1
#endif

static int clone_vm(struct clone_args *args, size_t size, int (*fn)(void *arg), void *arg, bool vfork) {
#ifndef HAVE_TRAMPOLINE
        (void) args, (void) size, (void) fn, (void) arg, (void) vfork;
        return -ENOSYS;
#else
        if (size < CLONE_VM_ARGS_MIN)
                return -EINVAL;

        char *stack = mmap(NULL, GUARD + CHILD_STACK, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (stack == MAP_FAILED)
                return negative_errno();
        if (mprotect(stack, GUARD, PROT_NONE) < 0) {
                int r = negative_errno();
                (void) munmap(stack, GUARD + CHILD_STACK);
                return r;
        }
        args->flags |= CLONE_VM | (vfork ? CLONE_VFORK : 0);
        args->stack = (uintptr_t) (stack + GUARD);
        args->stack_size = CHILD_STACK;

        sigset_t all, old;
        sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &old);
        long pid = clone_vm_syscall(args, size, fn, arg);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);

        /* The child has exec'd or exited (CLONE_VFORK): its stack is ours again. Without
         * it, or if the clone failed before there was a child, the stack stays: it is the
         * child's until its exec. */
        if (vfork || pid < 0)
                (void) munmap(stack, GUARD + CHILD_STACK);
        return (int) pid;
#endif
}

int clone_vm_run(struct clone_args *args, size_t size, int (*fn)(void *arg), void *arg) {
        return clone_vm(args, size, fn, arg, true);
}

int clone_vm_start(struct clone_args *args, size_t size, int (*fn)(void *arg), void *arg) {
        return clone_vm(args, size, fn, arg, false);
}
