#!/bin/sh
# libcorral functions (fork start method) on the cgroup2 rung
exec "$CR_PROGS/test-fn" fork cgroup2
