/* SPDX-License-Identifier: MIT */
/* dlopen on first use: see dlopen.h. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "dlopen.h"

int dl_open_table(const char *soname, void **ret_handle, const dl_symbol *symbols, size_t n, char *why,
                  size_t why_size) {
        void *h = dlopen(soname, RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE);
        if (!h) {
                const char *e = dlerror();
                snprintf(why, why_size, "%s is not installed: %s", soname, e ? e : "dlopen failed");
                return -EOPNOTSUPP;
        }
        void *found[64];
        if (n > sizeof found / sizeof found[0]) {
                dlclose(h);
                snprintf(why, why_size, "%s: too many symbols for one table", soname);
                return -E2BIG;
        }
        for (size_t i = 0; i < n; i++) {
                found[i] = dlsym(h, symbols[i].name);
                if (!found[i]) {
                        snprintf(why, why_size, "%s has no %s: an incompatible version", soname,
                                 symbols[i].name);
                        dlclose(h);
                        return -EOPNOTSUPP;
                }
        }
        for (size_t i = 0; i < n; i++)
                *symbols[i].ptr = found[i];
        *ret_handle = h;
        return 0;
}
