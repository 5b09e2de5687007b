/* SPDX-License-Identifier: MIT */
/*
 * Parsing of the values in a policy, the way systemd parses them
 * (systemd.time(7), systemd.resource-control(5)). libc only, pure.
 *
 * Every parser returns 0 on success and writes *ret only then; on failure it
 * returns -EINVAL (malformed) or -ERANGE (out of range, negative, overflow) and,
 * when why != NULL, writes a short reason naming the bad part, e.g.
 * "unknown unit 'Q'", "negative values are not allowed", "value too large",
 * "empty value", "trailing garbage 'x'". Callers prefix the key and value.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PARSE_INFINITY UINT64_MAX
#define PARSE_WHY_MAX 128

/* Sizes: "1024", "64K", "1.5G", "1G 512M", optional trailing "B", units B K M G T P E
 * (base 1024), "infinity" -> PARSE_INFINITY. */
int parse_size(const char *s, uint64_t *ret_bytes, char why[static PARSE_WHY_MAX]);

/* MemoryMax=: a size, "infinity", or "N%" of total (physical memory, passed in). */
int parse_size_or_percent(const char *s, uint64_t total, uint64_t *ret_bytes,
                          char why[static PARSE_WHY_MAX]);

/* Durations: "2", "1.5", "200ms", "1min 30s", "55s500ms", units us usec µs ms msec s sec
 * second seconds m min minute minutes h hr hour hours d day days w week weeks;
 * bare numbers are seconds; "infinity" -> PARSE_INFINITY. Result in microseconds. */
int parse_duration(const char *s, uint64_t *ret_usec, char why[static PARSE_WHY_MAX]);

/* "50%", "200%", "12.5%" -> per-million of one CPU (50% -> 500000). Must be > 0. */
int parse_percent_ppm(const char *s, uint64_t *ret_ppm, char why[static PARSE_WHY_MAX]);

/* A plain count: "64", "infinity" -> PARSE_INFINITY. Must be > 0. */
int parse_count(const char *s, uint64_t *ret, char why[static PARSE_WHY_MAX]);
