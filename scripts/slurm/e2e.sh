#!/bin/bash
# End-to-end test of a scan split across a Slurm job array (issue 17).
#
# Starts a private single-node Slurm cluster on this machine (munged,
# slurmctld and slurmd, on free ports, with a generated slurm.conf and every
# file in a temporary folder), and for each checkpoint and each number of
# parts N submits an array job of N tasks (sbatch --array=0-(N-1)), each
# doing one part of the scan, and a merge job that depends on it
# (--dependency=afterok:<array job>). It waits for the jobs (bounded), then
# compares each merged output with a single run outside Slurm, byte for byte.
# Every daemon it started is stopped by pid when it ends, also on failure or
# interrupt; the exit status is 0 only when every job completed and every
# merged output equals its single run.
#
# What the jobs run is a parameter: four command templates (shell code; see
# --help). The defaults are the PHASE-1 payload, marked below: each task runs
# `ckptinspect stats --filter <its parameters> --format csv`, and the merge
# job checks the parts and concatenates them. Phase 2 replaces them with
# `ckptinspect stats --shard auto` and `ckptinspect merge`.
#
# Needs root when slurm-wlm or munge must be installed (Debian's packages,
# installed with apt-get, their services kept from starting); Go at
# /usr/local/go/bin or on PATH unless --bin is given.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="/usr/local/go/bin:$PATH"
export LC_ALL=C

usage() {
	cat <<'EOF'
Usage: scripts/slurm/e2e.sh [OPTIONS]

Runs a scan split across a Slurm job array on a private single-node cluster
and compares the merged output with a single run.

Options:
  -c, --checkpoint PATH  checkpoint to scan (repeatable; default
                         testdata/sample/checkpoint-120)
  -n, --parts "N..."     numbers of parts (array sizes) to run, each an array
                         job and a merge job (default "1 2 3 7")
      --cpus N           CPUs the node declares (task slots; default 8)
      --bin FILE         use this ckptinspect binary (default: go build one)
      --timeout SECONDS  bound on the wait for the jobs (default 240)
      --keep             keep the temporary folder (kept anyway on failure)
      --no-install       fail instead of installing slurm-wlm and munge
  -h, --help             this help

Job payload (shell code run by bash with set -euo pipefail; default: the
phase-1 payload). In each, CKPTINSPECT is the binary, CKPT the checkpoint's
absolute path, N the number of parts and RUN a folder of the run's own
(RUN/parts/ exists; the tasks write there):
  E2E_PLAN_CMD   run here before submitting (may be empty)
  E2E_TASK_CMD   run by each array task (SLURM_ARRAY_TASK_ID, _COUNT are set)
  E2E_MERGE_CMD  run by the merge job: writes RUN/merged
  E2E_REF_CMD    run here: writes RUN/reference, the single-run output that
                 RUN/merged must equal byte for byte
EOF
}

# ---------------------------------------------------------------------------
# PHASE-1 PAYLOAD (issue 17). `--shard i/N` and `ckptinspect merge` do not
# exist yet, so the split is done here: the parameters of a universal
# checkpoint (its zero/<name>/ folders) are split into N parts balanced by the
# bytes of their state files (largest first, each to the part with the fewest
# bytes so far, ties to the lower part; names break ties: deterministic), each
# task scans its part with --filter '^(name|...)$', and the merge job checks
# that every part is there and every parameter in exactly one part, then
# concatenates the CSV rows. Rows are compared in name order (this payload
# does not know the checkpoint's parameter order), and CSV carries no summary:
# phase 2 merges the summary too, from exact part files. Replace these four
# templates with `stats --shard auto --format part` and `merge`.
# ---------------------------------------------------------------------------
read -r -d '' PHASE1_PLAN <<'EOF' || true
# PHASE-1 payload: plan the parts from the universal checkpoint's folders.
if [ -f "$CKPT/latest_universal" ]; then
	zero="$CKPT/$(tr -d '[:space:]' < "$CKPT/latest_universal")/zero"
elif [ -d "$CKPT/zero" ]; then
	zero="$CKPT/zero"
else
	zero="$CKPT"
fi
[ -f "$zero/optimizer_state.pt" ] || { echo "phase-1 payload: $CKPT: no universal checkpoint (zero/optimizer_state.pt) found" >&2; exit 2; }
# Bytes of each parameter: the sizes of the .pt files in its folder.
find "$zero" -mindepth 2 -maxdepth 2 -type f -name '*.pt' -printf '%s\t%h\n' | awk -F '\t' '
	{ n = split($2, d, "/"); b[d[n]] += $1 }
	END { for (k in b) printf "%.0f\t%s\n", b[k], k }' |
	sort -t "$(printf '\t')" -k1,1nr -k2,2 | awk -F '\t' -v n="$N" '
	BEGIN { OFS = "\t"; for (i = 0; i < n; i++) load[i] = 0 }
	{ best = 0; for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
	  load[best] += $1; print best, $1, $2 }' > "$RUN/plan.tsv"
[ -s "$RUN/plan.tsv" ] || { echo "phase-1 payload: $zero: no parameter folders" >&2; exit 2; }
awk -F '\t' -v n="$N" '{ p[$1]++; b[$1] += $2; t += $2 }
	END { printf "plan: %d parameters, %.0f bytes of state files in %d part(s):", NR, t, n
	      for (i = 0; i < n; i++) printf " %d (%d params, %.0f B)", i, p[i], b[i]; print "" }' "$RUN/plan.tsv"
EOF

read -r -d '' PHASE1_TASK <<'EOF' || true
# PHASE-1 payload: scan this task's parameters with --filter.
i=$SLURM_ARRAY_TASK_ID
[ "$SLURM_ARRAY_TASK_COUNT" = "$N" ] || { echo "array of $SLURM_ARRAY_TASK_COUNT tasks, plan of $N parts" >&2; exit 3; }
re=$(awk -F '\t' -v i="$i" '$1 == i { s = $3; gsub(/[][\\.^$*+?(){}|]/, "\\\\&", s); r = r (r == "" ? "" : "|") s }
	END { print (r == "" ? "^$" : "^(" r ")$") }' "$RUN/plan.tsv")
echo "task $i/$N on $(hostname): $(awk -F '\t' -v i="$i" '$1 == i' "$RUN/plan.tsv" | wc -l) parameters"
cmd=("$CKPTINSPECT" stats --filter "$re" --format csv -j "${SLURM_CPUS_PER_TASK:-1}" "$CKPT")
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f "task $i/$N: %e s, peak RSS %M KB" "${cmd[@]}" > "$RUN/parts/part-$i.csv.tmp"
else
	"${cmd[@]}" > "$RUN/parts/part-$i.csv.tmp"
fi
mv "$RUN/parts/part-$i.csv.tmp" "$RUN/parts/part-$i.csv"
EOF

read -r -d '' PHASE1_MERGE <<'EOF' || true
# PHASE-1 payload: check the parts against the plan and concatenate them.
missing=
for ((i = 0; i < N; i++)); do
	[ -s "$RUN/parts/part-$i.csv" ] || missing="$missing $i"
done
[ -z "$missing" ] || { echo "merge: part(s)$missing of $N missing in $RUN/parts" >&2; exit 1; }
files=()
for ((i = 0; i < N; i++)); do files+=("$RUN/parts/part-$i.csv"); done
awk -F ',' -v n="$N" -v out="$RUN/merged.rows" '
	FILENAME == ARGV[1] { split($0, f, "\t"); part[f[3]] = f[1]; next }
	FNR == 1 { k++; if (header == "") header = $0
	           else if ($0 != header) { print "merge: " FILENAME ": another CSV header" > "/dev/stderr"; bad = 1 }
	           next }
	{ name = $1; i = k - 1
	  if (substr(name, 1, 1) == "\"") { print "merge: " FILENAME ": quoted name " name > "/dev/stderr"; bad = 1 }
	  else if (!(name in part)) { print "merge: " FILENAME ": parameter " name " is in no part of the plan" > "/dev/stderr"; bad = 1 }
	  else if (part[name] != i) { print "merge: " FILENAME ": parameter " name " belongs to part " part[name] > "/dev/stderr"; bad = 1 }
	  else if (name in seen) { print "merge: " FILENAME ": parameter " name " twice" > "/dev/stderr"; bad = 1 }
	  seen[name] = 1; rows++; print > out }
	END { for (name in part) if (!(name in seen)) { print "merge: parameter " name " (part " part[name] ") missing" > "/dev/stderr"; bad = 1 }
	      if (bad) exit 1
	      print header > (out ".header")
	      printf "merge: %d parameters from %d part(s), each parameter once, in the part the plan gave it\n", rows, n }' "$RUN/plan.tsv" "${files[@]}"
{ cat "$RUN/merged.rows.header"; sort "$RUN/merged.rows"; } > "$RUN/merged"
rm -f "$RUN/merged.rows" "$RUN/merged.rows.header"
EOF

read -r -d '' PHASE1_REF <<'EOF' || true
# PHASE-1 payload: one run over the whole checkpoint, rows in name order.
"$CKPTINSPECT" stats --format csv "$CKPT" > "$RUN/single.csv"
{ head -n 1 "$RUN/single.csv"; tail -n +2 "$RUN/single.csv" | sort; } > "$RUN/reference"
EOF

PLAN_CMD=${E2E_PLAN_CMD-$PHASE1_PLAN}
TASK_CMD=${E2E_TASK_CMD-$PHASE1_TASK}
MERGE_CMD=${E2E_MERGE_CMD-$PHASE1_MERGE}
REF_CMD=${E2E_REF_CMD-$PHASE1_REF}

# ---------------------------------------------------------------------------
# Options.
checkpoints=()
parts="1 2 3 7"
cpus=8
bin=
timeout=240
keep=0
install=1
while [ $# -gt 0 ]; do
	case $1 in
	-c | --checkpoint) checkpoints+=("${2:?$1 needs a value}"); shift 2 ;;
	-n | --parts) parts=${2:?$1 needs a value}; shift 2 ;;
	--cpus) cpus=${2:?$1 needs a value}; shift 2 ;;
	--bin) bin=${2:?$1 needs a value}; shift 2 ;;
	--timeout) timeout=${2:?$1 needs a value}; shift 2 ;;
	--keep) keep=1; shift ;;
	--no-install) install=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "e2e: unknown argument $1 (see --help)" >&2; exit 3 ;;
	esac
done
[ ${#checkpoints[@]} -gt 0 ] || checkpoints=("$ROOT/testdata/sample/checkpoint-120")
for n in $parts; do
	case $n in '' | *[!0-9]* | 0*) echo "e2e: --parts: $n is not a positive number" >&2; exit 3 ;; esac
done
for v in "$cpus" "$timeout"; do
	case $v in '' | *[!0-9]* | 0*) echo "e2e: --cpus and --timeout take positive numbers, not $v" >&2; exit 3 ;; esac
done

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAIL: $*"; exit 1; }

# ---------------------------------------------------------------------------
# State for cleanup: what this script started or created, by pid and path.
T=
MUNGED_PID=
CTLD_PID=
SLURMD_PID=
JOBS=()
POLICY_RC_CREATED=
FAILED=1

# sweep lists the pids of processes carrying this cluster's marker in their
# environment (job scripts and their children, job step daemons), except this
# shell and the daemons, which are stopped by their pids.
sweep() {
	[ -n "$T" ] || return 0
	{ grep -lzxF "CKPTINSPECT_E2E_CLUSTER=$T" /proc/[0-9]*/environ 2>/dev/null || true; } | while IFS=/ read -r _ _ p _; do
		case " $$ $BASHPID $MUNGED_PID $CTLD_PID $SLURMD_PID " in *" $p "*) continue ;; esac
		echo "$p"
	done
}

# daemon_pids lists the pids of munged, slurmctld and slurmd processes.
daemon_pids() {
	local f
	{ grep -lxE 'munged|slurmctld|slurmd' /proc/[0-9]*/comm 2>/dev/null || true; } | while IFS= read -r f; do
		f=${f#/proc/}
		echo "${f%/comm}"
	done
}

# stop_pid sends SIGTERM to pid, waits up to $2 seconds, then SIGKILL.
stop_pid() {
	local pid=$1 name=$2 wait=${3:-15} i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { log "$name (pid $pid) had already exited"; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < wait * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) still running after ${wait}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	wait "$pid" 2>/dev/null || true
	log "stopped $name (pid $pid)"
}

show_logs() {
	local f
	[ -n "$T" ] && [ -d "$T" ] || return 0
	for f in "$T"/log/munged.log "$T"/log/slurmctld.log "$T"/log/slurmd.log; do
		[ -f "$f" ] || continue
		echo "----- last lines of $f (without the mpi/pmix plugin errors of every start)"
		grep -v 'pmix' "$f" | tail -n 40
	done
	for f in "$T"/runs/*/logs/*.out; do
		[ -f "$f" ] || continue
		echo "----- $f"
		tail -n 20 "$f"
	done
}

cleanup() {
	local rc=$? p
	local -a left
	trap - EXIT INT TERM HUP ERR
	trap '' PIPE
	set +e
	if [ -n "$POLICY_RC_CREATED" ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if [ "$FAILED" = 1 ] && [ -n "$T" ]; then
		[ "$rc" != 0 ] || rc=1
		show_logs
	fi
	if [ -n "$CTLD_PID" ] && kill -0 "$CTLD_PID" 2>/dev/null && [ ${#JOBS[@]} -gt 0 ]; then
		SLURM_CONF=$T/slurm.conf scancel "${JOBS[@]}" 2>/dev/null
		p=$((SECONDS + 20))
		while ((SECONDS < p)); do
			[ -z "$(SLURM_CONF=$T/slurm.conf squeue -h -o %i 2>/dev/null)" ] && break
			sleep 0.5
		done
	fi
	stop_pid "$SLURMD_PID" slurmd
	stop_pid "$CTLD_PID" slurmctld
	stop_pid "$MUNGED_PID" munged
	# What the daemons left: job steps and job processes whose slurmd is
	# gone, the controller's helper.
	mapfile -t left < <(sweep)
	if [ ${#left[@]} -gt 0 ]; then
		log "stopping leftover processes of this cluster: ${left[*]}"
		kill -KILL "${left[@]}" 2>/dev/null
		sleep 0.5
	fi
	mapfile -t left < <(sweep)
	for p in "$SLURMD_PID" "$CTLD_PID" "$MUNGED_PID"; do
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && left+=("$p")
	done
	if [ ${#left[@]} -gt 0 ]; then
		log "FAIL: processes still running: ${left[*]}"
		rc=1
	elif [ -n "$T" ]; then
		log "nothing left running"
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "$keep" = 1 ] || [ "$rc" != 0 ]; then
			log "temporary folder kept: $T"
		else
			rm -rf "$T"
		fi
	fi
	if [ "$rc" = 0 ]; then
		log "PASS"
	else
		log "FAILED (exit $rc)"
	fi
	exit "$rc"
}
trap cleanup EXIT
# Any command failing unexpectedly (set -e) says which, before the cleanup.
trap 'log "FAIL: line $LINENO: $BASH_COMMAND (exit $?)"' ERR
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP
# A reader that goes away (`e2e.sh | head`) must not kill this shell before
# it has stopped its daemons: exit through cleanup, which ignores SIGPIPE.
trap 'exit 141' PIPE

# ---------------------------------------------------------------------------
# 1. Packages.
need=()
for c in slurmctld slurmd sbatch squeue scontrol sinfo scancel munged munge unmunge; do
	command -v "$c" >/dev/null 2>&1 || need+=("$c")
done
if [ ${#need[@]} -gt 0 ]; then
	[ "$install" = 1 ] || die "missing ${need[*]} (install Debian's slurm-wlm and munge, or run without --no-install as root)"
	[ "$(id -u)" = 0 ] || die "missing ${need[*]}: run as root to install Debian's slurm-wlm and munge"
	command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]} and no apt-get to install them"
	log "installing slurm-wlm and munge (missing: ${need[*]})"
	# Keep the packages' services from starting (a daemon this script did
	# not start by pid would be left running): policy-rc.d, which both
	# invoke-rc.d and deb-systemd-invoke obey, for the install only.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# ckptinspect scripts/slurm/e2e.sh: no service starts during its install\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_RC_CREATED=1
	fi
	before=$(daemon_pids)
	export DEBIAN_FRONTEND=noninteractive
	apt_install() { apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends slurm-wlm munge; }
	if ! apt-cache show slurm-wlm >/dev/null 2>&1; then
		apt-get -o DPkg::Lock::Timeout=900 update || die "apt-get update failed"
	fi
	if ! apt_install; then
		log "install failed; updating the package lists and trying again"
		if ! { apt-get -o DPkg::Lock::Timeout=900 update && apt_install; }; then
			dpkg --audit || true
			die "apt-get install slurm-wlm munge failed"
		fi
	fi
	if [ -n "$POLICY_RC_CREATED" ]; then
		rm -f /usr/sbin/policy-rc.d
		POLICY_RC_CREATED=
	fi
	# Should a service have started all the same, stop it: by its unit
	# under systemd, else by pid.
	for p in $(daemon_pids); do
		case " $before " in *" $p "*) continue ;; esac
		name=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		unit=$name
		[ "$name" != munged ] || unit=munge
		log "the install started $name (pid $p): stopping it"
		if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$unit" 2>/dev/null; then
			systemctl stop "$unit" || true
		fi
		stop_pid "$p" "$name (started by the install)" 10
	done
	for p in slurm-wlm slurmctld slurmd slurm-client munge; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] ||
			die "package $p is not properly installed after apt-get (dpkg --audit: $(dpkg --audit 2>&1 | head -3))"
	done
	for c in "${need[@]}"; do
		command -v "$c" >/dev/null 2>&1 || die "$c still missing after installing slurm-wlm and munge"
	done
fi
log "$(slurmctld -V), $(munged -V 2>&1 | head -n 1)"

# ---------------------------------------------------------------------------
# 2. The binary and the workspace.
T=$(mktemp -d "${TMPDIR:-/tmp}/ckptinspect-slurm-e2e.XXXXXX")
chmod 755 "$T" # munged wants every folder above its socket searchable
mkdir -p "$T/bin" "$T/log" "$T/state" "$T/spool" "$T/runs" "$T/munge"
mkdir -m 700 "$T/munge/key"
log "workspace $T"
if [ -z "$bin" ]; then
	command -v go >/dev/null 2>&1 || die "no go on PATH (nor at /usr/local/go/bin), and no --bin"
	log "building ckptinspect ($(go version | awk '{print $3}'))"
	(cd "$ROOT" && go build -o "$T/bin/ckptinspect" ./cmd/ckptinspect) || die "go build failed"
	bin=$T/bin/ckptinspect
fi
[ -x "$bin" ] || die "$bin is not an executable"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
abs=()
for c in "${checkpoints[@]}"; do
	[ -e "$c" ] || die "checkpoint $c does not exist"
	abs+=("$(cd "$c" && pwd)")
done
checkpoints=("${abs[@]}")

# ---------------------------------------------------------------------------
# 3. munged, with its own key and socket.
dd if=/dev/urandom of="$T/munge/key/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/key/munge.key"
SOCK=$T/munge/munge.socket
env CKPTINSPECT_E2E_CLUSTER="$T" munged --foreground --force \
	--key-file="$T/munge/key/munge.key" --socket="$SOCK" --pid-file="$T/munge/munged.pid" \
	--seed-file="$T/munge/key/munged.seed" > "$T/log/munged.log" 2>&1 &
MUNGED_PID=$!
for ((i = 0; i < 100; i++)); do
	[ -S "$SOCK" ] && break
	kill -0 "$MUNGED_PID" 2>/dev/null || die "munged exited at start"
	sleep 0.1
done
[ -S "$SOCK" ] || die "munged made no socket in 10 s"
munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null || die "munge credential round trip failed"
log "munged pid $MUNGED_PID: socket $SOCK, credential round trip OK"

# ---------------------------------------------------------------------------
# 4. slurm.conf: one node with $cpus CPUs (more than the machine may have:
# config_overrides makes slurmd report the configured figures), consumable
# CPUs and memory, no cgroups (proctrack/linuxproc, task/none: what works in
# a container), no accounting, free ports.
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for ((i = 0; i < 50; i++)); do
	port=$((20000 + RANDOM % 30000))
	port_free "$port" && port_free "$((port + 1))" && break
	port=
done
[ -n "$port" ] || die "no two free consecutive TCP ports found"
mem=$((cpus * 1024)) # declared, not enforced: room for the job scripts' --mem=1G per task
cat > "$T/slurm.conf" <<EOF
# Generated by ckptinspect scripts/slurm/e2e.sh: a private one-node cluster.
ClusterName=ckptinspect-e2e
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=${E2E_SLURM_DEBUG:-info}
SlurmdDebug=${E2E_SLURM_DEBUG:-info}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=256
ReturnToService=2
MinJobAge=900
InactiveLimit=0
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=e2e-node NodeAddr=127.0.0.1 NodeHostname=$(hostname) CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=e2e Nodes=e2e-node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf

env CKPTINSPECT_E2E_CLUSTER="$T" slurmctld -D -f "$SLURM_CONF" > "$T/log/slurmctld.out" 2>&1 &
CTLD_PID=$!
up=
for ((i = 0; i < 150; i++)); do
	kill -0 "$CTLD_PID" 2>/dev/null || { cat "$T/log/slurmctld.out"; die "slurmctld exited at start"; }
	if [[ $(scontrol ping 2>/dev/null) == *"is UP"* ]]; then up=1; break; fi
	sleep 0.2
done
[ -n "$up" ] || die "slurmctld not answering scontrol ping after 30 s"
log "slurmctld pid $CTLD_PID: port $port, $(scontrol ping | head -n 1)"

env CKPTINSPECT_E2E_CLUSTER="$T" slurmd -D -N e2e-node -f "$SLURM_CONF" > "$T/log/slurmd.out" 2>&1 &
SLURMD_PID=$!
state=
for ((i = 0; i < 150; i++)); do
	kill -0 "$SLURMD_PID" 2>/dev/null || { cat "$T/log/slurmd.out"; die "slurmd exited at start"; }
	state=$(sinfo -h -N -n e2e-node -o %T 2>/dev/null || true)
	[ "$state" = idle ] && break
	sleep 0.2
done
if [ "$state" != idle ]; then
	scontrol show node e2e-node || true
	die "node e2e-node is '$state', not idle, 30 s after slurmd started"
fi
log "slurmd pid $SLURMD_PID: port $((port + 1)); $(sinfo -h -N -o 'node %N: %T, %c CPUs, %m MB, partition %P')"

# ---------------------------------------------------------------------------
# 5. Submit: per checkpoint and N, an array job and a merge job after it.
# write_job FILE NAME TEMPLATE writes a batch script running TEMPLATE with
# the run's variables.
write_job() {
	local file=$1 template=$2
	{
		echo '#!/bin/bash'
		echo 'set -euo pipefail'
		printf 'export CKPTINSPECT=%q CKPT=%q N=%q RUN=%q\n' "$bin" "$ckpt" "$n" "$run"
		printf '%s\n' "$template"
	} > "$file"
}

# run_here TEMPLATE runs TEMPLATE in this shell's environment, in a child.
run_here() {
	CKPTINSPECT=$bin CKPT=$ckpt N=$n RUN=$run bash -euo pipefail -c "$1"
}

# The per-command batch scripts: sbatch --test-only checks their #SBATCH
# requests against this cluster without running them (they need `--shard`
# and `merge`, phase 2).
for f in stats verify series merge; do
	case $f in
	merge) args=("$ROOT/scripts/slurm/$f.sbatch" "$T/x" "$T/x.out") ;;
	*) args=(--array=0-6 "$ROOT/scripts/slurm/$f.sbatch" "$T/x" "${checkpoints[0]}") ;;
	esac
	out=$(sbatch --test-only "${args[@]}" 2>&1) || { echo "$out"; die "sbatch --test-only of scripts/slurm/$f.sbatch failed"; }
	log "scripts/slurm/$f.sbatch: sbatch --test-only: ${out##*sbatch: }"
done

runs=()
declare -A ARRAY_OF MERGE_OF CKPT_OF N_OF
for ckpt in "${checkpoints[@]}"; do
	label=$(basename "$ckpt")
	for n in $parts; do
		run=$T/runs/$label-n$n
		mkdir -p "$run/parts" "$run/logs"
		runs+=("$run")
		if [ -n "$PLAN_CMD" ]; then
			run_here "$PLAN_CMD" > "$run/plan.out" 2>&1 || { cat "$run/plan.out"; die "$label N=$n: plan failed"; }
			log "$label N=$n: $(tail -n 1 "$run/plan.out")"
		fi
		write_job "$run/task.sbatch" "$TASK_CMD"
		write_job "$run/merge.sbatch" "$MERGE_CMD"
		# The marker reaches the jobs through sbatch's environment (the
		# default --export=ALL): an --export=ALL,VAR=... list would make
		# slurmd load root's login environment for each job (seconds each).
		a=$(CKPTINSPECT_E2E_CLUSTER=$T sbatch --parsable --job-name="parts-$label-n$n" --array="0-$((n - 1))" \
			--cpus-per-task=1 --mem=256M --time=5 \
			--chdir="$run" --output="$run/logs/task-%a.out" "$run/task.sbatch") || die "sbatch of the array job failed"
		JOBS+=("$a")
		m=$(CKPTINSPECT_E2E_CLUSTER=$T sbatch --parsable --job-name="merge-$label-n$n" --dependency="afterok:$a" --kill-on-invalid-dep=yes \
			--cpus-per-task=1 --mem=256M --time=5 \
			--chdir="$run" --output="$run/logs/merge.out" "$run/merge.sbatch") || die "sbatch of the merge job failed"
		JOBS+=("$m")
		ARRAY_OF[$run]=$a
		CKPT_OF[$run]=$ckpt
		N_OF[$run]=$n
		MERGE_OF[$run]=$m
		log "$label N=$n: array job $a (tasks 0-$((n - 1))), merge job $m (--dependency=afterok:$a)"
	done
done

# ---------------------------------------------------------------------------
# 6. Wait, bounded.
start=$SECONDS
peak=0
while :; do
	queued=$(squeue -h -o %i 2>/dev/null | wc -l)
	running=$(squeue -h -t R -o %i 2>/dev/null | wc -l)
	((running <= peak)) || peak=$running
	[ "$queued" = 0 ] && break
	if ((SECONDS - start > timeout)); then
		squeue || true
		die "jobs still queued or running after ${timeout}s"
	fi
	kill -0 "$SLURMD_PID" 2>/dev/null || die "slurmd died"
	kill -0 "$CTLD_PID" 2>/dev/null || die "slurmctld died"
	sleep 0.5
done
log "all jobs left the queue after $((SECONDS - start))s; at most $peak jobs were seen running at once"

# ---------------------------------------------------------------------------
# 7. Check every job and compare each merged output with a single run.
# job_field RECORD KEY prints KEY's value in a one-line scontrol record.
job_field() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p" | head -n 1; }

bad=0
for run in "${runs[@]}"; do
	label=${run##*/}
	a=${ARRAY_OF[$run]}
	m=${MERGE_OF[$run]}
	ckpt=${CKPT_OF[$run]}
	n=${N_OF[$run]}
	for ((task = 0; task < n; task++)); do
		rec=$(scontrol -o show job "${a}_$task" 2>/dev/null || true)
		st=$(job_field "$rec" JobState)
		ec=$(job_field "$rec" ExitCode)
		log "  $label: array job $a task $task: job $(job_field "$rec" JobId) ${st:-unknown}, exit ${ec:-?}, node $(job_field "$rec" NodeList), $(job_field "$rec" StartTime) .. $(job_field "$rec" EndTime)"
		if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then bad=1; fi
	done
	rec=$(scontrol -o show job "$m" 2>/dev/null || true)
	st=$(job_field "$rec" JobState)
	ec=$(job_field "$rec" ExitCode)
	log "  $label: merge job $m: ${st:-unknown}, exit ${ec:-?}: $(tail -n 1 "$run/logs/merge.out" 2>/dev/null || echo 'no output')"
	if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then bad=1; continue; fi
	for f in "$run"/logs/task-*.out; do
		grep -h 'peak RSS' "$f" | while IFS= read -r line; do log "  $label: $line"; done
	done
	run_here "$REF_CMD" > "$run/ref.out" 2>&1 || { cat "$run/ref.out"; log "$label: single run failed"; bad=1; continue; }
	if cmp -s "$run/merged" "$run/reference"; then
		log "$label: merged output == single run: $(($(wc -l < "$run/merged") - 1)) rows, $(wc -c < "$run/merged") bytes, sha256 $(sha256sum < "$run/merged" | cut -c1-16)"
	else
		log "$label: merged output differs from the single run:"
		diff "$run/reference" "$run/merged" | head -n 20 | cut -c1-200 || true
		bad=1
	fi
done
[ "$bad" = 0 ] || die "some jobs failed or some merged output differs from its single run"
FAILED=0
log "all ${#runs[@]} runs: every array task and merge job COMPLETED, every merged output equal to its single run"
