#!/bin/sh
# libcorral functions (forkserver start method) on the cgroup2 rung
exec "$CR_PROGS/test-fn" forkserver cgroup2
