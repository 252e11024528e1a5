#!/bin/sh
# One-liners for an MPI or srun allocation: every rank runs the same
# command and takes its shard from the launcher's environment
# (OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE, or SLURM_PROCID/SLURM_NTASKS
# inside an srun step).  No MPI library is linked: the ranks only share the
# work folder, which must be on a file system every node sees.  The rank
# that finishes last merges; with `vitviz run` it also analyzes and renders.
#
#   scripts/shard-mpirun.sh mpirun|srun N RUN DATA OUT.mp4 [vitviz run options...]
#
# Environment: VITVIZ (default: vitviz on PATH), PER_NODE (ranks per node,
# default 1: each rank uses all the node's cores; empty: the launcher's
# default placement), LAUNCH_OPTS (extra mpirun/srun options).
set -eu
if [ $# -lt 5 ]; then
	echo "usage: $0 mpirun|srun N RUN DATA OUT.mp4 [vitviz run options...]" >&2
	exit 2
fi
L=$1 N=$2 RUN=$3 DATA=$4 OUT=$5
shift 5
VITVIZ=${VITVIZ:-vitviz}
P=${PER_NODE-1}
# shellcheck disable=SC2086
case $L in
mpirun) exec mpirun ${LAUNCH_OPTS:-} -np "$N" ${P:+--map-by ppr:$P:node} \
	"$VITVIZ" run "$RUN" --data "$DATA" -o "$OUT" "$@" ;;
srun) exec srun ${LAUNCH_OPTS:-} -n "$N" ${P:+--ntasks-per-node=$P} \
	"$VITVIZ" run "$RUN" --data "$DATA" -o "$OUT" "$@" ;;
*) echo "$0: launcher must be mpirun or srun, not $L" >&2; exit 2 ;;
esac
