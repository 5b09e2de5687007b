/* SPDX-License-Identifier: MIT */
/*
 * Crash reports: the counterpart of a remote traceback for a C function. In the
 * function child (fn.c calls crash_install() before the function runs) a handler for
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT runs on an alternate stack (so a stack
 * overflow is reported too), writes a short report to the crash pipe, and lets the
 * signal kill the child, so that the run's status stays `signaled` with that signal:
 *
 *     SIGSEGV (address not mapped) at address 0x0
 *     backtrace, innermost first:
 *     ./prog(parse_header+0x1d)[0x5581...]
 *     ./prog(main+0x4a)[0x5581...]
 *
 * Everything the handler does is async-signal-safe except backtrace() and
 * backtrace_symbols_fd(): the first loads libgcc's unwinder with dlopen(), so
 * crash_prepare() makes that first call in the parent, and both take the dynamic
 * loader's lock, so a crash inside dlopen() itself can hang (then the run's wall
 * limit ends it). Names come from the dynamic symbol table: an executable must be
 * linked with -rdynamic (meson: export_dynamic : true), and static functions show
 * as file+offset only (addr2line resolves those).
 *
 * Kernel interfaces: sigaction, sigaltstack, the siginfo of the fault. No privilege.
 */
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "crash.h"
#include "macro.h"

#define CRASH_MAX_FRAMES 64
#define CRASH_STACK_SIZE (64 * 1024)

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

static int crash_fd = -1;
static void *crash_frames[CRASH_MAX_FRAMES];
static char crash_stack[CRASH_STACK_SIZE] __attribute__((aligned(64)));

static void prepare_once(void) {
        void *frames[2];
        (void) backtrace(frames, ELEMENTSOF(frames));
}

void crash_prepare(void) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        (void) pthread_once(&once, prepare_once);
}

/* ---- async-signal-safe formatting ---- */

typedef struct line {
        char buf[256];
        size_t n;
} line;

static void put_str(line *l, const char *s) {
        while (*s && l->n < sizeof l->buf - 1)
                l->buf[l->n++] = *s++;
}

static void put_hex(line *l, uintptr_t v) {
        char tmp[2 + 2 * sizeof v + 1];
        size_t i = sizeof tmp - 1;
        tmp[i] = '\0';
        do {
                tmp[--i] = "0123456789abcdef"[v & 0xf];
                v >>= 4;
        } while (v);
        tmp[--i] = 'x';
        tmp[--i] = '0';
        put_str(l, tmp + i);
}

static void put_dec(line *l, long v) {
        char tmp[24];
        size_t i = sizeof tmp - 1;
        unsigned long u = v < 0 ? 0UL - (unsigned long) v : (unsigned long) v;
        tmp[i] = '\0';
        do {
                tmp[--i] = (char) ('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                tmp[--i] = '-';
        put_str(l, tmp + i);
}

static void write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                p += k;
                n -= (size_t) k;
        }
}

static const char *signal_name(int sig) {
        switch (sig) {
        case SIGSEGV:
                return "SIGSEGV";
        case SIGBUS:
                return "SIGBUS";
        case SIGFPE:
                return "SIGFPE";
        case SIGILL:
                return "SIGILL";
        case SIGABRT:
                return "SIGABRT";
        default:
                return "signal";
        }
}

/* What the kernel says caused the fault (si_code > 0), as the man page words it. */
static const char *fault_cause(int sig, int code) {
        static const char *const segv[] = { NULL, "address not mapped", "invalid permissions for mapped object",
                                            "failed address bound checks", "protection key check failed" };
        static const char *const bus[] = { NULL, "invalid address alignment", "nonexistent physical address",
                                           "object-specific hardware error (access beyond the end of a mapped file?)",
                                           "hardware memory error", "hardware memory error" };
        static const char *const fpe[] = { NULL,
                                           "integer divide by zero",
                                           "integer overflow",
                                           "floating-point divide by zero",
                                           "floating-point overflow",
                                           "floating-point underflow",
                                           "floating-point inexact result",
                                           "floating-point invalid operation",
                                           "subscript out of range" };
        static const char *const ill[] = { NULL,
                                           "illegal opcode",
                                           "illegal operand",
                                           "illegal addressing mode",
                                           "illegal trap",
                                           "privileged opcode",
                                           "privileged register",
                                           "coprocessor error",
                                           "internal stack error" };
        const char *const *t = NULL;
        size_t n = 0;
        switch (sig) {
        case SIGSEGV:
                t = segv, n = ELEMENTSOF(segv);
                break;
        case SIGBUS:
                t = bus, n = ELEMENTSOF(bus);
                break;
        case SIGFPE:
                t = fpe, n = ELEMENTSOF(fpe);
                break;
        case SIGILL:
                t = ill, n = ELEMENTSOF(ill);
                break;
        }
        return t && code > 0 && (size_t) code < n ? t[code] : NULL;
}

/* The interrupted instruction, to start the backtrace at the faulting function. */
static uintptr_t interrupted_pc(const void *uc_) {
        const ucontext_t *uc = uc_;
        if (!uc)
                return 0;
#if defined(__x86_64__)
        return (uintptr_t) uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__i386__)
        return (uintptr_t) uc->uc_mcontext.gregs[REG_EIP];
#elif defined(__aarch64__)
        return (uintptr_t) uc->uc_mcontext.pc;
#else
        return 0;
#endif
}

static void crash_handler(int sig, siginfo_t *si, void *uc) {
        int saved_errno = errno;
        line l = { .n = 0 };

        put_str(&l, signal_name(sig));
        if (si->si_code > 0) {
                const char *cause = fault_cause(sig, si->si_code);
                if (cause) {
                        put_str(&l, " (");
                        put_str(&l, cause);
                        put_str(&l, ")");
                }
                if (sig == SIGSEGV || sig == SIGBUS) {
                        put_str(&l, " at address ");
                        put_hex(&l, (uintptr_t) si->si_addr);
                } else if (sig == SIGFPE || sig == SIGILL) {
                        put_str(&l, " at instruction ");
                        put_hex(&l, (uintptr_t) si->si_addr);
                }
        } else if (si->si_pid == getpid())
                put_str(&l, " raised by the function itself (abort(), assert(), raise())");
        else {
                put_str(&l, " sent by pid ");
                put_dec(&l, si->si_pid);
        }
        put_str(&l, "\nbacktrace, innermost first:\n");
        write_all(crash_fd, l.buf, l.n);

        int n = backtrace(crash_frames, CRASH_MAX_FRAMES);
        /* Start at the interrupted function: drop this handler and the kernel's signal
         * trampoline. Without the pc, drop this handler only. */
        int first = n > 1 ? 1 : 0;
        uintptr_t pc = interrupted_pc(uc);
        for (int i = 0; pc && i < n; i++)
                if ((uintptr_t) crash_frames[i] == pc) {
                        first = i;
                        break;
                }
        /* The outer frames are return addresses: name the call instead, as debuggers do
         * (a call to a noreturn function such as abort() is often the last instruction
         * of its function, and the address after it belongs to the next function). */
        for (int i = first + 1; i < n; i++)
                crash_frames[i] = (char *) crash_frames[i] - 1;
        if (n > first)
                backtrace_symbols_fd(crash_frames + first, n - first, crash_fd);

        /* SA_RESETHAND put back SIG_DFL. The signal is blocked while we run: raising it
         * leaves it pending, and it kills the child as soon as this handler returns
         * (a fault would also recur on its own; a sent signal would not). */
        (void) raise(sig);
        errno = saved_errno;
}

int crash_install(int fd) {
        crash_fd = fd;
        /* Touch the stack now: under a memory limit the crash may be a failed allocation,
         * and the handler must not need a new page then. */
        memset(crash_stack, 0, sizeof crash_stack);
        stack_t ss = { .ss_sp = crash_stack, .ss_size = sizeof crash_stack };
        if (sigaltstack(&ss, NULL) < 0)
                return negative_errno();

        struct sigaction sa = {
                .sa_sigaction = crash_handler,
                .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND,
        };
        /* Nothing else interrupts the report (corral's SIGTERM waits until it is written). */
        sigfillset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(crash_signals); i++)
                if (sigaction(crash_signals[i], &sa, NULL) < 0)
                        return negative_errno();
        return 0;
}
