#!/bin/bash
# End-to-end test of scans split across Slurm job arrays (issue 17).
#
# Starts a private single-node Slurm cluster on this machine (munged,
# slurmctld and slurmd, on free ports, with a generated slurm.conf and every
# file in a temporary folder) and runs the job scripts of scripts/slurm/ on
# it, as a user would: for stats, verify --deep and series, and for each
# number of parts N, an array job of N tasks (sbatch --array=0-(N-1)
# scripts/slurm/<command>.sbatch: `ckptinspect <command> --shard auto
# --format part`) and a merge job that depends on it (--dependency=afterok,
# scripts/slurm/merge.sbatch: `ckptinspect merge --format json`). Two more
# runs check what must fail: verify of a damaged copy of the checkpoint (the
# merge job must exit 1, FAILED, with the findings of a single run), and
# stats whose merge job is held while a file of the checkpoint is touched
# (the merge must refuse the stale parts, naming the file, exit 2). It waits
# for the jobs (bounded), checks every job's state and exit code, and
# compares every merged output with a single run outside Slurm, byte for
# byte. Every daemon it started is stopped by pid when it ends, also on
# failure or interrupt; the exit status is 0 only when every check passed.
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

Runs stats, verify and series split across Slurm job arrays on a private
single-node cluster, merges the parts in dependent jobs, and compares the
merged outputs with single runs.

Options:
  -c, --checkpoint PATH  checkpoint for stats and verify (default
                         testdata/sample/checkpoint-120)
  -s, --series PATH      run (or checkpoints' folder) for series (default
                         testdata/series)
  -n, --parts "N..."     numbers of parts (array sizes) to run, each an array
                         job and a merge job per command (default "1 2 3 7")
      --cpus N           CPUs the node declares (task slots; default 8)
      --bin FILE         use this ckptinspect binary (default: go build one)
      --timeout SECONDS  bound on the wait for the jobs (default 240)
      --keep             keep the temporary folder (kept anyway on failure)
      --no-install       fail instead of installing slurm-wlm and munge
  -h, --help             this help
EOF
}

# ---------------------------------------------------------------------------
# Options.
checkpoint=$ROOT/testdata/sample/checkpoint-120
seriesrun=$ROOT/testdata/series
parts="1 2 3 7"
cpus=8
bin=
timeout=240
keep=0
install=1
while [ $# -gt 0 ]; do
	case $1 in
	-c | --checkpoint) checkpoint=${2:?$1 needs a value}; shift 2 ;;
	-s | --series) seriesrun=${2:?$1 needs a value}; shift 2 ;;
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
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$T/bin/ckptinspect" ./cmd/ckptinspect) || die "go build failed"
	bin=$T/bin/ckptinspect
fi
[ -x "$bin" ] || die "$bin is not an executable"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
for c in "$checkpoint" "$seriesrun"; do
	[ -d "$c" ] || die "$c is not a folder"
done
checkpoint=$(cd "$checkpoint" && pwd)
seriesrun=$(cd "$seriesrun" && pwd)

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
# 5. Submit. The four job scripts' #SBATCH requests are checked against this
# cluster first (sbatch --test-only runs nothing).
for f in stats verify series merge; do
	case $f in
	merge) args=("$ROOT/scripts/slurm/$f.sbatch" "$T/x" "$T/x.out") ;;
	*) args=(--array=0-6 "$ROOT/scripts/slurm/$f.sbatch" "$T/x" "$checkpoint") ;;
	esac
	out=$(sbatch --test-only "${args[@]}" 2>&1) || { echo "$out"; die "sbatch --test-only of scripts/slurm/$f.sbatch failed"; }
	log "scripts/slurm/$f.sbatch: sbatch --test-only: ${out##*sbatch: }"
done

# Two copies of the checkpoint: one damaged (two parameters' exp_avg_sq
# replaced by their exp_avg: negative values, which the tasks scanning them
# find), one whose file is touched between the array and the merge.
damaged=$T/data/damaged/$(basename "$checkpoint")
touched=$T/data/touched/$(basename "$checkpoint")
mkdir -p "$(dirname "$damaged")" "$(dirname "$touched")"
cp -a "$checkpoint" "$damaged"
cp -a "$checkpoint" "$touched"
n_damaged=0
while IFS= read -r -d '' f; do
	((n_damaged < 2)) || break
	cp "$(dirname "$f")/exp_avg.pt" "$f"
	n_damaged=$((n_damaged + 1))
	log "damaged copy: $f := exp_avg.pt (negative values)"
done < <(find "$damaged" -name exp_avg_sq.pt -size +2k -print0 | sort -z)
[ "$n_damaged" = 2 ] || die "$checkpoint: no two exp_avg_sq.pt to damage"
touch_file=$(find "$touched" -name fp32.pt -print | sort | head -n 1)
[ -n "$touch_file" ] || die "$checkpoint: no fp32.pt to touch"

# submit LABEL COMMAND N EXPECT HOLD ARGS... submits the array job of
# scripts/slurm/COMMAND.sbatch over ARGS (the checkpoints and flags) with N
# tasks, and the merge job of scripts/slurm/merge.sbatch after it (held when
# HOLD is 1); EXPECT is the merge job's expected exit status. The single
# run it is compared with runs first, here.
runs=()
declare -A ARRAY_OF MERGE_OF N_OF EXPECT_OF HELD_OF
submit() {
	local label=$1 cmd=$2 n=$3 expect=$4 hold=$5 a m rc=0
	shift 5
	local run=$T/runs/$label
	mkdir -p "$run/logs"
	"$bin" "$cmd" "$@" --format json > "$run/reference.json" 2> "$run/reference.err" || rc=$?
	echo "$rc" > "$run/reference.rc"
	# The marker and the binary reach the jobs through sbatch's environment
	# (the default --export=ALL): an --export=ALL,VAR=... list would make
	# slurmd load root's login environment for each job (seconds each).
	a=$(CKPTINSPECT_E2E_CLUSTER=$T CKPTINSPECT=$bin sbatch --parsable --job-name="$label" --array="0-$((n - 1))" \
		--chdir="$run" --output="$run/logs/task-%a.out" "$ROOT/scripts/slurm/$cmd.sbatch" "$run/parts" "$@") ||
		die "sbatch of the $label array job failed"
	JOBS+=("$a")
	local -a held=()
	[ "$hold" = 0 ] || held=(--hold)
	m=$(CKPTINSPECT_E2E_CLUSTER=$T CKPTINSPECT=$bin sbatch --parsable "${held[@]}" --job-name="merge-$label" \
		--dependency="afterok:$a" --kill-on-invalid-dep=yes --chdir="$run" --output="$run/logs/merge.out" \
		"$ROOT/scripts/slurm/merge.sbatch" "$run/parts" "$run/merged.json" --format json) ||
		die "sbatch of the $label merge job failed"
	JOBS+=("$m")
	runs+=("$label")
	ARRAY_OF[$label]=$a
	MERGE_OF[$label]=$m
	N_OF[$label]=$n
	EXPECT_OF[$label]=$expect
	HELD_OF[$label]=$hold
	log "$label: array job $a ($cmd.sbatch, tasks 0-$((n - 1))), merge job $m (--dependency=afterok:$a${held:+, held}); single run: exit $rc"
}

for n in $parts; do
	submit "stats-n$n" stats "$n" 0 0 "$checkpoint"
	submit "verify-n$n" verify "$n" 0 0 "$checkpoint" --deep
	submit "series-n$n" series "$n" 0 0 "$seriesrun"
done
submit verify-damaged-n3 verify 3 1 0 "$damaged" --deep
submit stats-touched-n3 stats 3 2 1 "$touched"

# ---------------------------------------------------------------------------
# 6. Wait, bounded. When the held merge's array is done, touch the file and
# release the merge.
start=$SECONDS
peak=0
released=0
while :; do
	queued=$(squeue -h -o %i 2>/dev/null | wc -l)
	running=$(squeue -h -t R -o %i 2>/dev/null | wc -l)
	((running <= peak)) || peak=$running
	[ "$queued" = 0 ] && break
	if [ "$released" = 0 ] && [ -z "$(squeue -h -j "${ARRAY_OF[stats-touched-n3]}" -o %i 2>/dev/null)" ]; then
		touch "$touch_file"
		scontrol release "${MERGE_OF[stats-touched-n3]}"
		released=1
		log "stats-touched-n3: array done; touched $touch_file, released merge job ${MERGE_OF[stats-touched-n3]}"
	fi
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
# 7. Check every job, and compare each merged output with its single run.
# The jobs' records, read once (MinJobAge keeps them for 15 minutes).
scontrol -o show job > "$T/jobs.txt" 2>&1 || { cat "$T/jobs.txt"; die "scontrol show job failed"; }
# record ID prints the one-line record of job ID (JOB, or JOB_TASK for an
# array task); job_field RECORD KEY prints KEY's value in it.
record() {
	case $1 in
	*_*) grep -m 1 -E "(^| )ArrayJobId=${1%_*} ArrayTaskId=${1#*_} " "$T/jobs.txt" || true ;;
	*) grep -m 1 -E "^JobId=$1 " "$T/jobs.txt" || true ;;
	esac
}
job_field() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p" | head -n 1; }

bad=0
for label in "${runs[@]}"; do
	run=$T/runs/$label
	a=${ARRAY_OF[$label]}
	m=${MERGE_OF[$label]}
	n=${N_OF[$label]}
	expect=${EXPECT_OF[$label]}
	for ((task = 0; task < n; task++)); do
		rec=$(record "${a}_$task")
		st=$(job_field "$rec" JobState)
		ec=$(job_field "$rec" ExitCode)
		rss=$(grep -ho 'part [0-9]* of [0-9]*: [0-9.]* s, peak RSS [0-9]* KB' "$run/logs/task-$task.out" 2>/dev/null | sed 's/^part [0-9]* of [0-9]*: //' || true)
		log "  $label: array job $a task $task: job $(job_field "$rec" JobId) ${st:-unknown}, exit ${ec:-?}, node $(job_field "$rec" NodeList), $(job_field "$rec" StartTime) .. $(job_field "$rec" EndTime); ${rss:-no time line}"
		if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then bad=1; fi
	done
	rec=$(record "$m")
	st=$(job_field "$rec" JobState)
	ec=$(job_field "$rec" ExitCode)
	log "  $label: merge job $m: ${st:-unknown}, exit ${ec:-?}: $(grep -v '^merge of' "$run/logs/merge.out" 2>/dev/null | tail -n 1 | cut -c1-300 || echo 'no output')"
	want_st=COMPLETED
	[ "$expect" = 0 ] || want_st=FAILED
	if [ "$st" != "$want_st" ] || [ "$ec" != "$expect:0" ]; then
		log "$label: merge job $st exit $ec, want $want_st exit $expect:0"
		bad=1
		continue
	fi
	if [ "$expect" = 2 ]; then
		if grep -q "stale parts" "$run/logs/merge.out" && grep -qF "$touch_file" "$run/logs/merge.out"; then
			log "$label: the merge refused the stale parts, naming $touch_file"
		else
			log "$label: the merge's refusal does not name the touched file"
			bad=1
		fi
		continue
	fi
	if [ "$(cat "$run/reference.rc")" != "$expect" ]; then
		log "$label: the single run exited $(cat "$run/reference.rc"), want $expect: $(head -c 300 "$run/reference.err")"
		bad=1
	elif cmp -s "$run/merged.json" "$run/reference.json"; then
		log "$label: merged output == single run: $(wc -c < "$run/merged.json") bytes of JSON, sha256 $(sha256sum < "$run/merged.json" | cut -c1-16), exit $expect both"
	else
		log "$label: merged output differs from the single run:"
		diff "$run/reference.json" "$run/merged.json" | head -n 20 | cut -c1-200 || true
		bad=1
	fi
done
[ "$bad" = 0 ] || die "some jobs failed or some merged output differs from its single run"
FAILED=0
log "all ${#runs[@]} runs: every array task COMPLETED; every merge job exited as expected (0, 1 for the damaged copy, 2 for the stale parts); every merged output equal to its single run"
