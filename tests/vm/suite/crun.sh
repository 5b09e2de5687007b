#!/bin/sh
# SPDX-License-Identifier: MIT
#
# corral inside containers: Debian's crun runs an OCI bundle whose rootfs holds
# corral (bind mounts of the VM's /corral and libraries), with a cgroup namespace
# and a private cgroupfs, Docker's default capabilities, no privileges:
#   - writable cgroupfs, corral as PID 1 -> cgroup2, precise (rule 1: it moves itself
#     from the namespace root into a leaf);
#   - the docker-in-docker layout (every process moved to /init, controllers enabled
#     at the namespace root), corral next to another process -> cgroup2 by rule 4;
#   - read-only cgroupfs -> a fallback rung, and doctor prints the runtime flags;
#   - Docker's seccomp answer to clone3 (ENOSYS) -> cgroup2 through the clone path,
#     with cr-clone3 showing clone3 refused in that container and not outside.

. "$(dirname "$0")/../../integration/lib.sh"

require_rung cgroup2
plan 9

CG=/sys/fs/cgroup
MIB=1048576
limit=$((64 * MIB))
if ! command -v crun >/dev/null 2>&1; then
        for i in 1 2 3 4 5 6 7 8 9; do skip "crun container case $i" "crun is not in the VM image"; done
        finish
fi

cleanup() {
        for c in $(crun list -q 2>/dev/null); do crun delete -f "$c" >/dev/null 2>&1; done
        [ -d $CG/crun-test ] && find $CG/crun-test -depth -type d -exec rmdir {} \; 2>/dev/null
}
trap cleanup EXIT

# bundle NAME CGROUPFS_MODE SECCOMP ARGS_JSON: an OCI bundle in $CR_WORK/NAME
bundle() {
        _b=$CR_WORK/$1
        mkdir -p "$_b/rootfs"
        for d in bin sbin lib lib64 usr corral proc sys dev tmp etc; do mkdir -p "$_b/rootfs/$d"; done
        _binds=
        for d in /bin /sbin /lib /lib64 /usr /corral /etc; do
                [ -e "$d" ] || continue
                [ -L "$d" ] && { rm -rf "$_b/rootfs$d"; ln -s "$(readlink "$d")" "$_b/rootfs$d"; continue; }
                _binds="$_binds{\"destination\": \"$d\", \"type\": \"bind\", \"source\": \"$d\", \"options\": [\"rbind\", \"ro\"]},"
        done
        _seccomp=
        if [ "$3" = clone3-enosys ]; then
                # Docker's rule (moby PR 42681): clone3 -> ENOSYS, everything else as before.
                _seccomp=', "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                        "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}'
        fi
        _caps='"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"'
        cat >"$_b/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $4,
    "env": ["PATH=/corral/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LD_LIBRARY_PATH=/corral/lib",
            "CORRAL=/corral/bin/corral", "P=/corral/programs"],
    "cwd": "/",
    "capabilities": {"bounding": [$_caps], "effective": [$_caps], "permitted": [$_caps]},
    "noNewPrivileges": false
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "$1",
  "mounts": [
    $_binds
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "$2"]}
  ],
  "linux": {
    "cgroupsPath": "/crun-test/$1",
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
    "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
    $_seccomp
  }
}
JSON
}

# container NAME: run the bundle, its output in $T_DIR like cr_run's
container() {
        printf '%s\n' "crun run --no-pivot --bundle $CR_WORK/$1 $1  # $(sed -n 's/.*"args": \(.*\),$/\1/p' "$CR_WORK/$1/config.json" | head -1)" >>"$T_DIR/cmd"
        timeout -k 5 "$((120 * CR_SLOW / 10 + 60))" crun run --no-pivot --bundle "$CR_WORK/$1" "$1" \
                </dev/null >"$T_DIR/stdout" 2>"$T_DIR/stderr"
        CR_EXIT=$?
        cr_collect
        crun delete -f "$1" >/dev/null 2>&1
}

RUN_HOG='"/corral/bin/corral", "run", "--json", "-m", "64M", "--", "/corral/programs/cr-alloc", "1024"'
expect_hog() {
        expect_exit 137
        expect_json 'status == memory_limit' 'backend == cgroup2' 'precise == true' \
                'enforcement.memory == cgroup' 'evidence.oom_kill > 0' "memory_peak_bytes <= $((limit + CR_MEMCG_FORCED))" "$@"
}

begin "writable cgroupfs, corral as PID 1: cgroup2, precise, rule 1 (it moved itself into a leaf)"
bundle rw rw none "[$RUN_HOG]"
container rw
expect_hog 'evidence.placement.rule == own-cgroup' 'evidence.placement.base == /sys/fs/cgroup'

begin "writable cgroupfs: doctor in the container says cgroup2 and exits 0"
bundle rwdoc rw none '["/corral/bin/corral", "doctor", "--json"]'
container rwdoc
expect_exit 0
expect_json 'chosen == cgroup2' 'placement.rule == own-cgroup'

# The dind entrypoint (moby hack/dind), then corral next to a sleeping process in /init.
DIND='mkdir /sys/fs/cgroup/init; for p in $(cat /sys/fs/cgroup/cgroup.procs); do echo $p >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null; done; echo +memory +pids +cpu >/sys/fs/cgroup/cgroup.subtree_control || exit 99; sleep 1000 & '
begin "docker-in-docker layout (processes in /init): cgroup2, precise, rule 4 (/corral at the namespace root)"
bundle dind rw none "[\"/bin/sh\", \"-c\", \"${DIND}exec /corral/bin/corral run --json -m 64M -- /corral/programs/cr-alloc 1024\"]"
container dind
expect_hog 'evidence.placement.rule == namespace' 'evidence.placement.base == /sys/fs/cgroup/corral'

begin "docker-in-docker layout: the other process stayed in /init (corral moved only itself)"
bundle dindcheck rw none "[\"/bin/sh\", \"-c\", \"${DIND}/corral/bin/corral run -- /bin/true; echo other=\$(cat /proc/\$!/cgroup)\"]"
container dindcheck
grep -qx 'other=0::/init' "$T_DIR/stdout" || fail "the sleeping process is not in /init any more: $(cat "$T_DIR/stdout")"

begin "read-only cgroupfs: a fallback rung, placement rule 5"
bundle ro ro none "[$RUN_HOG]"
container ro
expect_json 'backend == rlimit' 'precise == false' 'evidence.placement.rule == fallback'

begin "read-only cgroupfs: doctor names the read-only mount and the runtime flags"
bundle rodoc ro none '["/corral/bin/corral", "doctor"]'
container rodoc
expect_exit 1
grep -q 'read-only' "$T_DIR/stdout" || fail "doctor does not say read-only"
grep -q -- '--privileged' "$T_DIR/stdout" || fail "doctor does not name docker run --privileged"
grep -q 'unmask=/sys/fs/cgroup' "$T_DIR/stdout" || fail "doctor does not name podman's unmask flag"

begin "clone3 -> ENOSYS (Docker's seccomp rule): clone3 is really refused in that container"
bundle sc rw clone3-enosys '["/corral/programs/cr-clone3"]'
container sc
grep -qx 'clone3=ENOSYS' "$T_DIR/stdout" || fail "in the container: $(cat "$T_DIR/stdout")"
outside=$("$P/cr-clone3")
[ "$outside" = clone3=EINVAL ] || fail "outside the container clone3 says '$outside', expected EINVAL"

begin "clone3 -> ENOSYS: corral run is cgroup2 and precise through the clone path"
bundle sc2 rw clone3-enosys "[$RUN_HOG]"
container sc2
expect_hog 'evidence.placement.rule == own-cgroup'

begin "no container cgroup or run group is left behind"
cleanup
left=$(find $CG/crun-test 2>/dev/null)
[ -z "$left" ] || fail "left: $left"

finish
