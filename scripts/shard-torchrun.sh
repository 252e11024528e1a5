#!/bin/sh
# torchrun / Kubernetes style: the launcher sets RANK and WORLD_SIZE for
# each worker and vitviz takes its shard from them.  torchrun's --no-python
# starts a binary instead of a Python script.  Run on every node, with the
# node's rank:
#
#   NODE_RANK=0 NNODES=4 MASTER_ADDR=node0 scripts/shard-torchrun.sh RUN DATA WORK
#
# Without torchrun (a Kubernetes indexed Job, any scheduler), set the two
# variables yourself: RANK=$JOB_COMPLETION_INDEX WORLD_SIZE=4 vitviz embed ...
# The work folder must be shared (a ReadWriteMany volume); the last worker
# to finish merges; `vitviz merge WORK` afterwards is a no-op if it did.
set -eu
if [ $# -lt 3 ]; then
	echo "usage: NODE_RANK=i NNODES=n MASTER_ADDR=host $0 RUN DATA WORK [vitviz embed options...]" >&2
	exit 2
fi
RUN=$1 DATA=$2 WORK=$3
shift 3
exec torchrun --nnodes="${NNODES:?}" --nproc-per-node=1 --node-rank="${NODE_RANK:?}" \
	--master-addr="${MASTER_ADDR:?}" --master-port="${MASTER_PORT:-29500}" \
	--no-python "${VITVIZ:-vitviz}" embed "$RUN" --data "$DATA" -o "$WORK" "$@"
