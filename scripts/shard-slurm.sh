#!/bin/sh
# Embed a fine-tuning run on a Slurm cluster: a job array of N shards and a
# merge + analyze job that starts when every shard has succeeded.
#
#   scripts/shard-slurm.sh RUN DATA WORK N [vitviz embed options...]
#
# Each array task runs `vitviz embed RUN --data DATA -o WORK` and takes its
# shard from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT; the last task to
# finish already merges, and the dependent job makes sure (`vitviz merge` is
# idempotent) and runs the analysis.  WORK must be on a file system every
# node sees (NFS, Lustre, GPFS, CephFS): the shards write their parts there
# and rename them within it.  RUN and DATA must be readable from every node.
# Nothing else is shared: vitviz needs no node-local scratch space.
#
# Environment: VITVIZ (default: vitviz on PATH), SBATCH_OPTS (extra sbatch
# options for both jobs, e.g. "-p gpu -t 4:00:00"), CPUS (cores per shard,
# default 8), WAIT=1 (block until the merge job ends; its exit status).
set -eu
if [ $# -lt 4 ]; then
	echo "usage: $0 RUN DATA WORK N [vitviz embed options...]" >&2
	exit 2
fi
RUN=$1 DATA=$2 WORK=$3 N=$4
shift 4
VITVIZ=${VITVIZ:-vitviz}
CPUS=${CPUS:-8}
# shellcheck disable=SC2086
jid=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=vitviz-embed --array=0-$((N - 1)) -n1 -c"$CPUS" \
	--wrap "exec \"$VITVIZ\" embed \"$RUN\" --data \"$DATA\" -o \"$WORK\" --threads $CPUS $*")
echo "embed: job array $jid ($N shards)"
# shellcheck disable=SC2086
mid=$(sbatch --parsable ${SBATCH_OPTS:-} ${WAIT:+--wait} --job-name=vitviz-merge -n1 -c"$CPUS" \
	--dependency=afterok:"$jid" --wrap "\"$VITVIZ\" merge \"$WORK\" && exec \"$VITVIZ\" analyze \"$WORK\"")
echo "merge + analyze: job $mid (after $jid)"
