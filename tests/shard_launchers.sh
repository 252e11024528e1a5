#!/bin/sh
# Sharded `vitviz embed` under real launchers, each merged folder compared
# byte for byte with a one-process reference (tests/test_shard.c runs this):
#
#   1. mpirun (Debian's OpenMPI): 3 ranks oversubscribed on this machine,
#      shards from OMPI_COMM_WORLD_RANK/SIZE; each rank merges at its end.
#   2. a single-node Slurm started here for the test (munged + slurmctld +
#      slurmd, minimal config in a temporary folder: no cgroups,
#      proctrack/linuxproc, task/none, SlurmdUser=root): `sbatch --array=0-2`
#      with a dependent `vitviz merge` job, then `srun -n 3` (SLURM_PROCID).
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

# compare every embeddings/logits file and samples.csv/manifest.json with REF
same() {
	w=$1
	for f in "$REF"/embeddings/*.npy "$REF"/logits/*.npy "$REF"/samples.csv "$REF"/manifest.json; do
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
	if mpirun --allow-run-as-root --oversubscribe -np 3 --mca btl self \
		"$VITVIZ" --quiet embed "$RUN" --data "$DATA" -o "$TMP/mpi" $OPTS >"$TMP/mpi.log" 2>&1; then
		same "$TMP/mpi" "mpirun -np 3 ($(($(date +%s) - t0)) s)" || status=1
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

# a job array of 3 shards; the merge as a dependent job
cat >"$S/shard.sh" <<EOF
#!/bin/sh
exec "$VITVIZ" --verbose embed "$RUN" --data "$DATA" -o "$TMP/sbatch" $OPTS
EOF
t0=$(date +%s)
jid=$(sbatch --parsable --array=0-2 -n1 -c1 -o "$S/array-%a.log" "$S/shard.sh") ||
	fail_slurm "sbatch --array refused the job"
sbatch --parsable --wait --dependency=afterok:"$jid" -n1 -c1 -o "$S/merge.log" \
	--wrap "\"$VITVIZ\" merge \"$TMP/sbatch\"" >/dev/null ||
	{ cat "$S"/array-*.log "$S/merge.log"; fail_slurm "the array or the dependent merge job failed"; }
grep -h "from SLURM_ARRAY_TASK_ID" "$S"/array-*.log | sed 's/^/     /'
[ "$(grep -l "from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT" "$S"/array-*.log | wc -l)" = 3 ] ||
	{ cat "$S"/array-*.log; fail_slurm "the array tasks did not take their shard from SLURM_ARRAY_TASK_*"; }
same "$TMP/sbatch" "sbatch --array=0-2 + dependent merge ($(($(date +%s) - t0)) s)" || status=1

# srun: 3 tasks of one step
t0=$(date +%s)
srun -O -n3 -c1 "$VITVIZ" --verbose embed "$RUN" --data "$DATA" -o "$TMP/srun" $OPTS >"$S/srun.log" 2>&1 ||
	{ cat "$S/srun.log"; fail_slurm "srun -n3 failed"; }
[ "$(grep -c "embed: shard ./3 (from SLURM_PROCID/SLURM_NTASKS)" "$S/srun.log")" = 3 ] ||
	{ cat "$S/srun.log"; fail_slurm "the srun tasks did not take their shard from SLURM_PROCID/SLURM_NTASKS"; }
"$VITVIZ" --quiet merge "$TMP/srun" || fail_slurm "merge after srun failed"
same "$TMP/srun" "srun -n3 ($(($(date +%s) - t0)) s)" || status=1
exit $status
