/* SPDX-License-Identifier: MIT */
/*
 * Samples, percentiles and the one output format of corral-bench: a tab-separated
 * line per row, already formatted for people, that bench/run copies into markdown.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void samples_add(samples *s, double v) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                double *p = realloc(s->v, cap * sizeof *p);
                if (!p) {
                        fprintf(stderr, "corral-bench: out of memory\n");
                        exit(1);
                }
                s->v = p;
                s->cap = cap;
        }
        s->v[s->n++] = v;
        s->sorted = false;
}

void samples_done(samples *s) {
        free(s->v);
        *s = (samples){};
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static void sort(samples *s) {
        if (!s->sorted) {
                qsort(s->v, s->n, sizeof *s->v, cmp_double);
                s->sorted = true;
        }
}

double samples_median(samples *s) {
        if (s->n == 0)
                return NAN;
        sort(s);
        if (s->n % 2)
                return s->v[s->n / 2];
        return (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

double samples_pct(samples *s, double p) {
        if (s->n == 0)
                return NAN;
        sort(s);
        size_t rank = (size_t)ceil(p / 100.0 * (double)s->n);
        if (rank < 1)
                rank = 1;
        if (rank > s->n)
                rank = s->n;
        return s->v[rank - 1];
}

double samples_max(samples *s) {
        return samples_pct(s, 100);
}

static void fmt_value(unit u, double v, char *buf, size_t size) {
        if (isnan(v)) {
                snprintf(buf, size, "-");
                return;
        }
        switch (u) {
        case UNIT_SECONDS: {
                double a = fabs(v);
                if (a < 10e-6)
                        snprintf(buf, size, "%.1f µs", v * 1e6);
                else if (a < 1e-3)
                        snprintf(buf, size, "%.0f µs", v * 1e6);
                else if (a < 1)
                        snprintf(buf, size, "%.2f ms", v * 1e3);
                else
                        snprintf(buf, size, "%.3f s", v);
                break;
        }
        case UNIT_RATE:
                snprintf(buf, size, "%.0f runs/s", v);
                break;
        case UNIT_RATIO:
                snprintf(buf, size, "%.3f", v);
                break;
        case UNIT_MS_PER_S:
                snprintf(buf, size, "%.3f ms/s", v);
                break;
        }
}

/* Tabs and newlines would break the line format. */
static void clean(char *s) {
        for (; *s; s++)
                if (*s == '\t' || *s == '\n')
                        *s = ' ';
}

void row_emit(const bench *b, const row *r) {
        char med[64], p99[64], base[200] = "-", ratio[32] = "-", target[96] = "-", met[32] = "-",
                               tv[64];
        char measure[sizeof r->measure], note[sizeof r->note + 64];
        samples *s = r->s;
        double m = samples_median(s);
        bool higher_better = r->unit == UNIT_RATE;
        /* For a rate the bad tail is the low one: the rate 99% of rounds reached. */
        double tail = higher_better ? samples_pct(s, 1) : samples_pct(s, 99);

        fmt_value(r->unit, m, med, sizeof med);
        fmt_value(r->unit, tail, p99, sizeof p99);
        double q = NAN;
        if (r->baseline) {
                char bm[64];
                fmt_value(r->unit, r->baseline_median, bm, sizeof bm);
                snprintf(base, sizeof base, "%s: %s", r->baseline, bm);
                q = m / r->baseline_median;
                snprintf(ratio, sizeof ratio, "%.2f×", q);
        }

        bool ok = true;
        fmt_value(r->unit, r->target_value, tv, sizeof tv);
        switch (r->target) {
        case TARGET_NONE:
                break;
        case TARGET_RATIO_AT_MOST:
                snprintf(target, sizeof target, "ratio ≤ %g×", r->target_value);
                ok = q <= r->target_value;
                break;
        case TARGET_MEDIAN_AT_MOST:
                snprintf(target, sizeof target, "median ≤ %s", tv);
                ok = m <= r->target_value;
                break;
        case TARGET_P99_AT_MOST:
                snprintf(target, sizeof target, "p99 ≤ %s", tv);
                ok = tail <= r->target_value;
                break;
        case TARGET_MAX_AT_MOST:
                snprintf(target, sizeof target, "max ≤ %s", tv);
                ok = samples_max(s) <= r->target_value;
                break;
        }
        if (r->failed)
                snprintf(met, sizeof met, "invalid");
        else if (r->target == TARGET_NONE)
                snprintf(met, sizeof met, "-");
        else if (r->absolute && !b->prof->absolute_targets)
                snprintf(met, sizeof met, "n/a (%s)", b->prof->name);
        else
                snprintf(met, sizeof met, "%s", ok ? "yes" : "**no**");

        snprintf(measure, sizeof measure, "%s", r->measure);
        if (r->failed)
                snprintf(note, sizeof note, "%d run(s) did not end as required; %s", r->failed,
                         r->note);
        else
                snprintf(note, sizeof note, "%s", r->note);
        clean(measure);
        clean(note);
        printf("BENCH\t%s\t%s\t%s\t%s\t%zu\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b->env, r->figure,
               r->backend, measure, s->n, med, p99, base, ratio, target, met, note[0] ? note : "-");
        fflush(stdout);
}

void row_skip(const bench *b, const char *figure, const char *backend, const char *measure,
              const char *why) {
        char m[256], w[256];
        snprintf(m, sizeof m, "%s", measure);
        snprintf(w, sizeof w, "not measured: %s", why);
        clean(m);
        clean(w);
        printf("BENCH\t%s\t%s\t%s\t%s\t0\t-\t-\t-\t-\t-\t-\t%s\n", b->env, figure, backend, m, w);
        fflush(stdout);
}
