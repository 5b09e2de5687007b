/* SPDX-License-Identifier: MIT */
/*
 * corral-place-cost: what placement adds to a run, measured where it runs.
 *
 *   corral-place-cost [N]
 *
 * N times (default 200) each, alternating, a fresh child process does what the CLI
 * did before placement existed (corral_claim_cgroup()) or what it does now
 * (corral_place()), timed with CLOCK_MONOTONIC around that one call, as the first
 * libcorral call of the process (placement is once per process, like the CLI). The
 * children run where this program runs, so the rule that applies is the one the CLI
 * would get here. Prints the rule, the medians and p90 of both, and the difference.
 * A systemd scope made by a child ends with it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corral.h"

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* One child: the call, its duration in ns and the rule on the pipe. */
static int sample(bool place, uint64_t *ret_ns, int *ret_rule) {
        int p[2];
        if (pipe(p) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                corral_policy *pol;
                corral_placement pl = {};
                struct { uint64_t ns; int rule; } out;
                close(p[0]);
                if (corral_policy_new(&pol) < 0)
                        _exit(1);
                uint64_t t0 = now_ns();
                if (place)
                        (void) corral_place(pol, &pl);
                else
                        (void) corral_claim_cgroup(NULL);
                out.ns = now_ns() - t0;
                out.rule = pl.rule;
                _exit(write(p[1], &out, sizeof out) == sizeof out ? 0 : 1);
        }
        close(p[1]);
        struct { uint64_t ns; int rule; } in;
        ssize_t n = read(p[0], &in, sizeof in);
        close(p[0]);
        int st;
        waitpid(pid, &st, 0);
        if (n != sizeof in || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return -1;
        *ret_ns = in.ns;
        *ret_rule = in.rule;
        return 0;
}

int main(int argc, char *argv[]) {
        int n = argc > 1 ? atoi(argv[1]) : 200;
        if (n < 5 || n > 100000) {
                fprintf(stderr, "usage: %s [N >= 5]\n", argv[0]);
                return 2;
        }
        /* Like the CLI of a delegated unit: the parent moves aside once, so each child
         * finds the base through the supervisor leaf (rule 1) where the unit is delegated. */
        (void) corral_claim_cgroup(NULL);
        uint64_t *claim = calloc((size_t) n, sizeof *claim), *place = calloc((size_t) n, sizeof *place);
        int rule = 0, r;
        if (!claim || !place)
                return 1;
        for (int i = 0; i < n; i++) {
                int dummy;
                if (sample(false, &claim[i], &dummy) < 0 || sample(true, &place[i], &r) < 0) {
                        fprintf(stderr, "corral-place-cost: a sample failed\n");
                        return 1;
                }
                rule = r;
        }
        qsort(claim, (size_t) n, sizeof *claim, cmp);
        qsort(place, (size_t) n, sizeof *place, cmp);
        double cm = claim[n / 2] / 1e6, pm = place[n / 2] / 1e6;
        printf("placement rule %d (%s), %d samples each\n", rule, corral_placement_rule_to_string(rule), n);
        printf("before (corral_claim_cgroup): median %.3f ms, p90 %.3f ms\n", cm, claim[n * 9 / 10] / 1e6);
        printf("now    (corral_place):        median %.3f ms, p90 %.3f ms\n", pm, place[n * 9 / 10] / 1e6);
        printf("PLACE-COST rule=%s extra_median_ms=%.3f\n", corral_placement_rule_to_string(rule), pm - cm);
        return 0;
}
