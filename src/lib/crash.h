/* SPDX-License-Identifier: MIT */
/*
 * Crash reports from function children: crash.c owns the fatal-signal handler, its
 * alternate stack, and the report format.
 */
#pragma once

/*
 * Load what backtrace() needs (libgcc's unwinder is dlopen()ed on first use, which is
 * not async-signal-safe) in this process, so that its forks have it. Thread-safe, once.
 */
void crash_prepare(void);

/*
 * In a function child: on SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT, write a short
 * report to fd (signal, fault address, backtrace), then die of the same signal.
 * Returns 0 or -errno (no alternate stack: the handler is then not installed).
 */
int crash_install(int fd);
