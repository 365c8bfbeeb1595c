#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# A throwaway single-node Slurm cluster on loopback, for tests.
#
#   slurm_cluster.sh start STATE_DIR   start munged, slurmctld and slurmd; prints the slurm.conf path
#   slurm_cluster.sh stop STATE_DIR    stop them and delete STATE_DIR's runtime files
#
# Everything lives in STATE_DIR: a fresh munge key, munged's socket, the
# slurm.conf (clients find it through SLURM_CONF=STATE_DIR/slurm.conf),
# the controller's state, the node's spool, logs and pid files. The daemons
# listen on free ports of 127.0.0.1; the node is named "localhost" with the
# machine's CPU count. Needs Debian's slurm-wlm and munge
# (scripts/install-deps.sh). slurmd launches jobs as the submitting user, so
# it runs as root when started by root (CI) and as the caller otherwise.
set -eu

die() { echo "slurm_cluster.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: slurm_cluster.sh start|stop STATE_DIR" >&2; exit 2; }
cmd=$1
state=$2

for b in munged slurmctld slurmd; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || die "$b not found (install slurm-wlm and munge)"
done
PATH=$PATH:/usr/sbin

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

stop() {
    for p in slurmd slurmctld munged; do
        if [ -f "$state/$p.pid" ]; then
            pid=$(cat "$state/$p.pid")
            kill "$pid" 2>/dev/null || true
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$state/$p.pid"
        fi
    done
}

case "$cmd" in
start)
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    stop
    rm -rf "$state/munge" "$state/ctld" "$state/spool"
    mkdir -p "$state/munge" "$state/ctld" "$state/spool"
    chmod 700 "$state/munge"
    dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 2>/dev/null
    chmod 400 "$state/munge/munge.key"
    munged --force --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
        --pid-file="$state/munged.pid" --log-file="$state/munged.log" --seed-file="$state/munge/seed" \
        || die "munged did not start (see $state/munged.log)"
    user=$(id -un)
    cpus=$(nproc)
    ctld_port=$(free_port)
    node_port=$(free_port)
    cat > "$state/slurm.conf" <<CONF
ClusterName=mmdxtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$node_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
    export SLURM_CONF="$state/slurm.conf"
    slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start (see $state/slurmctld.log)"
    slurmd -N localhost -f "$SLURM_CONF" || die "slurmd did not start (see $state/slurmd.log)"
    # Wait until the node is idle (registered and usable).
    i=0
    until sinfo -h -N -o '%T' 2>/dev/null | grep -q '^idle'; do
        i=$((i + 1))
        [ $i -le 300 ] || { tail -20 "$state/slurmctld.log" "$state/slurmd.log" >&2; die "the node never became idle"; }
        sleep 0.1
    done
    echo "$SLURM_CONF"
    ;;
stop)
    [ -d "$state" ] || exit 0
    state=$(cd "$state" && pwd)
    stop
    rm -rf "$state/munge" "$state/ctld" "$state/spool"
    ;;
*)
    die "unknown command $cmd"
    ;;
esac
