#!/bin/sh
# the forkserver from a program with 8 threads, on the cgroup2 rung
exec "$CR_PROGS/test-fn-threads" cgroup2
