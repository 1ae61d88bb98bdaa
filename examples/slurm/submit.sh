#!/bin/bash
# Queues a sharded cascadesim run on Slurm: a job array of N shards, then a merge job that
# starts only when every shard succeeded.
#   examples/slurm/submit.sh scenarios/btc_flash_crash.toml 100000000 64
# Environment: CASCADESIM (the binary, default `cascadesim` on PATH), OUT (default results).
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 SCENARIO PATHS SHARDS" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
export SCENARIO=$1 PATHS=$2 SHARDS=$3
array=$(sbatch --parsable --array=0-$((SHARDS - 1)) --export=ALL "$here/shard.sbatch")
array=${array%%;*}
sbatch --dependency=afterok:"$array" --export=ALL "$here/merge.sbatch"
echo "queued shards as job $array and the merge after it"
