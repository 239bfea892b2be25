#!/usr/bin/env bash
# Runs a round-trip benchmark with the program on one CPU and its shell on another, so that
# every command costs two cross-core wake-ups: the "apart" case that "any CPU" runs fall into
# by chance. Prints the program's first field (µs per command).
#
#   bash bench/run_apart.sh build/bench/floor bash true 20000
#   bash bench/run_apart.sh build/bench/tether_roundtrip bash true 20000
#
# The shell is moved to the other CPU as soon as it appears (its first few commands may run
# on the program's CPU). Needs two CPUs and taskset.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 PROGRAM ARGS..." >&2; exit 2; }
program_cpu=1 shell_cpu=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
taskset -c "$program_cpu" "$@" >"$out" &
program=$!
for _ in $(seq 500); do
  shell=$(pgrep -P "$program" | head -n 1 || true)
  if [[ -n $shell ]]; then
    taskset -p -c "$shell_cpu" "$shell" >/dev/null
    break
  fi
  sleep 0.002
done
wait "$program"
cut -d' ' -f1 "$out"
