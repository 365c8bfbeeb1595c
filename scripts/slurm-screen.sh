#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Screen a cohort on a Slurm cluster: one array task per shard, all writing
# to one PostgreSQL database through `mmdx screen --shard K/N`.
#
#   sbatch --array=1-N [sbatch options] scripts/slurm-screen.sh MODEL COHORT [mmdx screen options...]
#
# Task K of the array screens the patients whose ID hashes to shard K of N
# (N = the array's size). Every task resumes where it stopped: requeue a
# failed task, or submit the whole array again, and only what is missing is
# screened; every patient is stored exactly once.
#
# Environment (exported to the tasks by sbatch): MMDX (the mmdx program,
# default `mmdx` on PATH), MMDX_DB (or --db / [audit] db), MMDX_SITE_KEY
# (the site key: verifies the model's signature, keys the audit log; or
# --site-key), MMDX_CONFIG (or
# --config). MMDX_SCREEN_OUT=PREFIX also writes PREFIX.shard-K-of-N.csv.
# The database password belongs in ~/.pgpass or PGPASSFILE, never here.
#
#SBATCH --job-name=mmdx-screen
#SBATCH --cpus-per-task=2
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=mmdx-screen-%A_%a.log
set -eu

if [ $# -lt 2 ]; then
    echo "usage: sbatch --array=1-N $0 MODEL COHORT [mmdx screen options...]" >&2
    exit 2
fi
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ] || [ -z "${SLURM_ARRAY_TASK_COUNT:-}" ]; then
    echo "$0: not an array task: submit with sbatch --array=1-N" >&2
    exit 2
fi
if [ "${SLURM_ARRAY_TASK_STEP:-1}" != 1 ]; then
    echo "$0: the array must be contiguous (--array=1-N, no step)" >&2
    exit 2
fi
model=$1
cohort=$2
shift 2

k=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1))
n=$SLURM_ARRAY_TASK_COUNT
set -- --model "$model" --cohort "$cohort" --shard "$k/$n" --threads "${SLURM_CPUS_PER_TASK:-1}" --no-progress "$@"
if [ -n "${MMDX_SCREEN_OUT:-}" ]; then
    set -- "$@" --out "$MMDX_SCREEN_OUT.shard-$k-of-$n.csv"
fi
echo "mmdx-screen: array task $SLURM_ARRAY_TASK_ID on $(hostname): shard $k/$n"
exec "${MMDX:-mmdx}" screen "$@"
