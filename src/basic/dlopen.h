/* SPDX-License-Identifier: MIT */
/*
 * Optional libraries loaded on first use (the linking policy in docs/ARCHITECTURE.md):
 * libcorral's NEEDED list stays libc + jansson, so `corral run` does not pay for
 * libcgroup, libseccomp, libnl or libsystemd on runs that do not use them. The one file
 * that owns a dependency declares a table of its functions and calls them through it:
 *
 *     static DL_PROTOTYPE(cgroup_init);
 *     static const dl_symbol libcgroup_symbols[] = { DL_SYMBOL(cgroup_init), ... };
 *     r = dl_open_table("libcgroup.so.2", &handle, libcgroup_symbols,
 *                       ELEMENTSOF(libcgroup_symbols), why, sizeof why);   (under pthread_once)
 *     sym_cgroup_init();
 *
 * Headers still come from the -dev package; meson links nothing for it
 * (dependency('x').partial_dependency(compile_args : true)). libc only (glibc >= 2.34
 * has dlopen in libc).
 */
#pragma once

#include <stddef.h>

typedef struct dl_symbol {
        const char *name;
        void **ptr;
} dl_symbol;

/* A pointer named sym_<fn> with fn's own type, from the library's header. */
#define DL_PROTOTYPE(fn) __typeof__(&fn) sym_##fn
#define DL_SYMBOL(fn) { #fn, (void **) &sym_##fn }

/*
 * dlopen(soname) (RTLD_NOW | RTLD_LOCAL) and resolve every symbol into its pointer.
 * 0 on success; -EOPNOTSUPP when the library or a symbol is missing, with why saying
 * which ("libcgroup.so.2 is not installed: ..."). On failure nothing stays loaded and
 * no pointer is written. Not thread-safe by itself: call it under pthread_once.
 */
int dl_open_table(const char *soname, void **ret_handle, const dl_symbol *symbols, size_t n, char *why,
                  size_t why_size);
