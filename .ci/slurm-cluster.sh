#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (localhost) for the Slurm tests:
# installs Debian's slurm-wlm and munge if missing, writes a minimal slurm.conf
# (the node's real CPUs and memory from `slurmd -C`, one partition `debug`, no
# cgroups, no accounting database), starts munged, slurmctld and slurmd, and waits
# until `sinfo` shows the node idle. Idempotent: a second run on the same machine
# keeps a working cluster (it restarts the daemons when the configuration changed).
# Needs root. Without slurmdbd `sacct` has no data; `cil compare --collect` then
# reads job states from `scontrol show job` (kept MinJobAge seconds after the end).
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "slurm-cluster: needs root" >&2; exit 1; }

missing=()
for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "slurm-cluster: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# munge: a key, then the daemon (not under systemd on CI machines).
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null || { echo "slurm-cluster: munged does not answer" >&2; exit 1; }

# slurm.conf for this machine.
node_line=$(slurmd -C | head -n 1)            # NodeName=<host> CPUs=... RealMemory=...
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$node_line")
cores=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$node_line")
threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$node_line")
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
memory=$(( memory > 1024 ? memory - 512 : memory ))   # a margin, so the node is never drained for low memory
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
new_conf=$(cat <<CONF
# Written by cil's .ci/slurm-cluster.sh: a one-node cluster on localhost.
ClusterName=cil-ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
SchedulerParameters=defer_batch=0
SlurmdTimeout=300
NodeName=localhost NodeHostname=$(hostname) CPUs=$cpus SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
)
changed=0
if [ ! -f "$conf_dir/slurm.conf" ] || [ "$(cat "$conf_dir/slurm.conf")" != "$new_conf" ]; then
    printf '%s\n' "$new_conf" > "$conf_dir/slurm.conf"
    changed=1
fi

# Whether daemon $1 runs: its pid file names a live process that is not a zombie.
running() {
    local pid
    pid=$(cat "/run/$1.pid" 2>/dev/null || true)
    [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"
}
if [ $changed -eq 1 ]; then
    # A new configuration: restart the daemons this script started before.
    for d in slurmd slurmctld; do
        pid=$(cat "/run/$d.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
fi
running slurmctld || /usr/sbin/slurmctld
running slurmd || /usr/sbin/slurmd -N localhost

deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ]; do
    state=$(timeout 10 sinfo -h -n localhost -o %T 2>/dev/null || true)
    case "$state" in
        idle*|mixed*|allocated*) echo "slurm-cluster: node localhost is $state ($cpus CPUs, ${memory} MB)"; exit 0 ;;
        down*|drain*) scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
    esac
    sleep 1
done
echo "slurm-cluster: the node did not become idle; sinfo says: $(timeout 10 sinfo 2>&1)" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
