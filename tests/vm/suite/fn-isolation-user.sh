#!/bin/sh
# libcorral functions under the isolation keys as an unprivileged caller (uid 59990: the
# user-namespace path on Debian's kernel; the rung is what such a caller gets)
CORRAL_POLICY_PATH=${CR_POLICIES:-/corral/policies} exec "$CR_PROGS/cr-asuser" 59990 59990 "$CR_PROGS/test-fn-isolation" forkserver auto
