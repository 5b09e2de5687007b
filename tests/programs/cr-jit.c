/* SPDX-License-Identifier: MIT */
/*
 * cr-jit: the address-space pattern of a JIT or garbage-collected runtime
 * (JVM heaps, V8 cages, Go arenas): reserve far more than will ever be used,
 * then commit and touch a small part.
 *
 *   cr-jit [RESERVE_MIB [TOUCH_MIB]]        (defaults: 8192 and 10)
 *
 * mmap(PROT_NONE, MAP_NORESERVE) of RESERVE_MIB, mprotect(READ|WRITE) of the
 * first TOUCH_MIB inside it, write every page. Under RLIMIT_AS the reservation
 * fails; under RLIMIT_DATA or a cgroup memory.max it must not, because only
 * TOUCH_MIB is ever writable or resident.
 *
 * Exit: 0 on success; 4 if the reservation failed, 5 if the mprotect failed,
 * 2 on bad arguments.
 */
#include <sys/mman.h>

#include "common.h"

static const char usage[] = "[RESERVE_MIB [TOUCH_MIB]]";

int main(int argc, char **argv)
{
        uint64_t reserve = 8192, touch = 10;

        prog_init(argc, argv);
        if (argc > 3)
                usage_exit(usage);
        if (argc > 1 && (parse_u64(argv[1], 1ULL << 26, &reserve) < 0 || reserve == 0))
                usage_exit(usage);
        if (argc > 2 && parse_u64(argv[2], 1ULL << 26, &touch) < 0)
                usage_exit(usage);
        if (touch > reserve)
                usage_exit(usage);

        size_t len = (size_t)(reserve * MIB);
        unsigned char *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) {
                say("reserving %llu MiB (PROT_NONE) failed: %s", (unsigned long long)reserve,
                    strerror(errno));
                return 4;
        }
        size_t used = (size_t)(touch * MIB);
        if (used > 0) {
                if (mprotect(base, used, PROT_READ | PROT_WRITE) < 0) {
                        say("committing %llu MiB of the reservation failed: %s",
                            (unsigned long long)touch, strerror(errno));
                        return 5;
                }
                for (size_t i = 0; i < used; i += 4096)
                        base[i] = (unsigned char)(i >> 12 | 1);
        }
        say("reserved %llu MiB, touched %llu MiB", (unsigned long long)reserve,
            (unsigned long long)touch);
        munmap(base, len);
        return 0;
}
