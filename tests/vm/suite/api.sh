#!/bin/sh
# The C programs that drive libcorral directly, on the cgroup2 rung.
exec "$CR_PROGS/test-api" cgroup2
