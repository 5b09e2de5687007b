#!/bin/sh
# libcorral functions under the isolation keys (fork start method) on the cgroup2 rung
CORRAL_POLICY_PATH=${CR_POLICIES:-/corral/policies} exec "$CR_PROGS/test-fn-isolation" fork cgroup2
