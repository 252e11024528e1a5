#!/bin/sh
# Sharded `vitviz embed` under real launchers, each merged folder compared
# byte for byte with a one-process reference (tests/test_shard.c runs this):
#
#   1. scripts/shard-mpirun.sh mpirun (Debian's OpenMPI): 3 ranks of
#      `vitviz run` oversubscribed on this machine, shards from
#      OMPI_COMM_WORLD_RANK/SIZE; the last rank merges, analyzes, renders.
#   2. a single-node Slurm started here for the test (munged + slurmctld +
#      slurmd, minimal config in a temporary folder: no cgroups,
#      proctrack/linuxproc, task/none, SlurmdUser=root):
#      scripts/shard-slurm.sh (`sbatch --array=0-2` + a dependent merge and
#      analyze job), then scripts/shard-mpirun.sh srun (`srun -n 3 vitviz
#      run`, shards from SLURM_PROCID/SLURM_NTASKS).
#
# usage: tests/shard_launchers.sh RUN DATA REF_WORK TMPDIR   (VITVIZ: the binary)
# A launcher that is not installed, or Slurm when not root (slurmd must be
# root to start jobs as root), is skipped with a line saying so; everything
# else that fails fails the test.  Exit 0 when all that ran passed.
set -u
RUN=$1
DATA=$2
REF=$(realpath "$3")
TMP=$(realpath "$4")
VITVIZ=$(realpath "${VITVIZ:-build/vitviz}")
OPTS="--per-class 8"
status=0

# compare every embeddings/logits file, samples.csv and manifest.json with
# REF, and the analysis outputs (all of them are analyzed)
same() {
	w=$1
	for f in "$REF"/embeddings/*.npy "$REF"/logits/*.npy "$REF"/samples.csv "$REF"/manifest.json \
		"$REF"/coords.npy "$REF"/scores.npy "$REF"/frames.csv "$REF"/outliers.csv "$REF"/loss.csv; do
		g="$w/${f#"$REF"/}"
		if ! cmp -s "$f" "$g"; then
			echo "FAIL $2: $g differs from the one-process run"
			return 1
		fi
	done
	if ls "$w"/embeddings | grep -q part-; then
		echo "FAIL $2: parts left in $w/embeddings"
		return 1
	fi
	echo "ok   $2: merged folder byte-identical to one process"
}

# ---- 1. mpirun --------------------------------------------------------
if ! command -v mpirun >/dev/null 2>&1; then
	echo "SKIP mpirun: not installed (scripts/install-deps.sh installs openmpi-bin)"
else
	t0=$(date +%s)
	if VITVIZ="$VITVIZ" PER_NODE=3 LAUNCH_OPTS="--allow-run-as-root --oversubscribe --mca btl self" \
		scripts/shard-mpirun.sh mpirun 3 "$RUN" "$DATA" "$TMP/mpi.gif" --work "$TMP/mpi" $OPTS \
		--size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0 >"$TMP/mpi.log" 2>&1 &&
		[ -s "$TMP/mpi.gif" ]; then
		same "$TMP/mpi" "scripts/shard-mpirun.sh mpirun: mpirun -np 3 vitviz run ($(($(date +%s) - t0)) s)" || status=1
	else
		echo "FAIL mpirun -np 3:"
		cat "$TMP/mpi.log"
		status=1
	fi
fi

# ---- 2. Slurm ----------------------------------------------------------
slurm_skip=""
for b in munged slurmctld slurmd sbatch srun sinfo; do
	command -v $b >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v $b >/dev/null 2>&1 ||
		slurm_skip="$b not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
[ -z "$slurm_skip" ] && [ "$(id -u)" != 0 ] &&
	slurm_skip="not root: slurmd (SlurmdUser=root) must run as root to start the jobs"
[ -z "$slurm_skip" ] && [ ! -r /etc/munge/munge.key ] &&
	slurm_skip="no /etc/munge/munge.key (the munge package creates it)"
if [ -n "$slurm_skip" ]; then
	echo "SKIP slurm: $slurm_skip"
	exit $status
fi
PATH=$PATH:/usr/sbin
# munged runs as the munge user: its folder must be reachable (TMPDIR is 0700)
S=$(mktemp -d /tmp/vv_slurm.XXXXXX) || { echo "FAIL slurm: mktemp"; exit 1; }
mkdir -p "$S/state" "$S/spool" "$S/munge"
chown munge "$S/munge" 2>/dev/null
chmod 755 "$S" "$S/munge"
stop() {
	for p in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid"; do
		[ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	sleep 0.2
	# a step's slurmstepd outlives slurmd: end those of this cluster (their
	# working folder is $S), nothing else
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/cwd" 2>/dev/null)" = "$S" ] && kill -KILL "${d#/proc/}" 2>/dev/null
	done
	[ -n "${TU_KEEP:-}" ] || rm -rf "$S"
}
trap stop EXIT
fail_slurm() {
	echo "FAIL slurm: $1"
	for l in "$S"/munge/munged.log "$S"/slurmctld.log "$S"/slurmd.log; do
		[ -f "$l" ] && { echo "--- $l"; tail -20 "$l"; }
	done
	exit 1
}
# munged as the munge user, its socket in the temporary folder
runuser -u munge -- munged --socket="$S/munge/munge.socket" --pid-file="$S/munge/munged.pid" \
	--log-file="$S/munge/munged.log" --seed-file="$S/munge/seed" --key-file=/etc/munge/munge.key ||
	fail_slurm "munged did not start"
host=$(hostname)
port=$((17000 + $$ % 2000 * 2))
cat >"$S/slurm.conf" <<EOF
ClusterName=vvtest
SlurmctldHost=$host
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.socket
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
PlugStackConfig=/dev/null
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=vv Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
EOF
export SLURM_CONF="$S/slurm.conf"
slurmctld -f "$SLURM_CONF" || fail_slurm "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail_slurm "slurmd did not start"
i=0
until sinfo -h -o %t 2>/dev/null | grep -q idle; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail_slurm "the node did not become idle in 20 s"
	sleep 0.2
done
echo "ok   slurm: munged, slurmctld, slurmd up ($(sinfo -h -o '%P %D %t %c'))"

# scripts/shard-slurm.sh: a job array of 3 shards, merge + analyze as a dependent job
t0=$(date +%s)
VITVIZ="$VITVIZ" CPUS=1 WAIT=1 SBATCH_OPTS="-o $S/job-%A_%a.log" \
	scripts/shard-slurm.sh "$RUN" "$DATA" "$TMP/sbatch" 3 $OPTS --verbose >"$S/submit.log" 2>&1 ||
	{ cat "$S/submit.log" "$S"/job-*.log; fail_slurm "scripts/shard-slurm.sh: the array or the dependent merge job failed"; }
grep -h "(from SLURM_ARRAY_TASK_ID" "$S"/job-*.log | sed 's/^/     /'
[ "$(grep -l "(from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)" "$S"/job-*.log | wc -l)" = 3 ] ||
	{ cat "$S"/job-*.log; fail_slurm "the array tasks did not take their shard from SLURM_ARRAY_TASK_*"; }
[ -f "$TMP/sbatch/coords.npy" ] || fail_slurm "the dependent job did not analyze $TMP/sbatch"
same "$TMP/sbatch" "scripts/shard-slurm.sh: sbatch --array=0-2 + dependent merge/analyze ($(($(date +%s) - t0)) s)" ||
	status=1

# scripts/shard-mpirun.sh srun: 3 tasks of one step running `vitviz run`
t0=$(date +%s)
VITVIZ="$VITVIZ" PER_NODE= LAUNCH_OPTS="-O -c1" scripts/shard-mpirun.sh srun 3 "$RUN" "$DATA" "$TMP/srun.gif" \
	--work "$TMP/srun" $OPTS --verbose --size 160x120 --fps 5 --seconds-per-checkpoint 0.2 --hold 0 \
	>"$S/srun.log" 2>&1 || { cat "$S/srun.log"; fail_slurm "srun -n3 failed"; }
[ "$(grep -c "embed: shard ./3 (from SLURM_PROCID/SLURM_NTASKS)" "$S/srun.log")" = 3 ] ||
	{ cat "$S/srun.log"; fail_slurm "the srun tasks did not take their shard from SLURM_PROCID/SLURM_NTASKS"; }
[ -s "$TMP/srun.gif" ] || fail_slurm "no rank rendered $TMP/srun.gif"
same "$TMP/srun" "scripts/shard-mpirun.sh srun: srun -n3 vitviz run ($(($(date +%s) - t0)) s)" || status=1
exit $status
