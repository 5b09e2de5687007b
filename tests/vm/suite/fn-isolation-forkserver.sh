#!/bin/sh
# libcorral functions under the isolation keys (forkserver start method) on the cgroup2 rung
CORRAL_POLICY_PATH=${CR_POLICIES:-/corral/policies} exec "$CR_PROGS/test-fn-isolation" forkserver cgroup2
