#!/usr/bin/env bash
# Puts Tether's cost next to a floor: bench/floor.c, about the least a program must do to keep a
# shell open and capture each command. Prints a markdown table.
#
#   bash bench/compare_floor.sh [BUILD_DIR]     (default /work/main/build)
#   TETHER_BENCH_REPEATS=7 bash bench/compare_floor.sh build
#
# Builds nothing: build the floor and tether_roundtrip targets (TETHER_BENCH=ON) first.
set -euo pipefail
# A failed measurement inside $(...) must stop the script, not leave a blank in the table.
shopt -s inherit_errexit

build=${1:-/work/main/build}
floor=$build/bench/floor
tether=$build/bench/tether_roundtrip
for program in "$floor" "$tether"; do
  if [[ ! -x $program ]]; then
    echo "compare_floor.sh: $program is missing; build it first:" \
      "ninja -C $build floor tether_roundtrip" >&2
    exit 1
  fi
done

# TETHER_BENCH_REPEATS: runs of each program per row (default 3; more for a quieter best).
readonly repeats=${TETHER_BENCH_REPEATS:-3} commands=10000 capture_bytes=$((256 << 20)) spawns=1000
readonly throughput_shell=dash measurement_limit=300

# Where the scheduler puts the shell matters more than anything measured here: a wake-up on
# another CPU costs tens of µs in some VMs. So every measurement is taken twice, once where the
# scheduler likes ("any CPU") and once with all processes on one CPU, which shows the cost of
# the work itself.
one_cpu=""
if command -v taskset >/dev/null && [[ $(nproc) -gt 1 ]]; then
  allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
  one_cpu=${allowed%%[-,]*}
fi
runner=()

# first_field PROGRAM ARGS...: runs one measurement and prints its number ("7.61 us/cmd" -> 7.61).
first_field() {
  local said
  # A hung measurement (a broken build) must fail the script rather than stall it.
  if ! said=$(timeout "$measurement_limit" "${runner[@]}" "$@"); then
    echo "compare_floor.sh: failed: ${runner[*]+${runner[*]} }$*" >&2
    exit 1
  fi
  echo "${said%% *}"
}

# best_pair low|high FLOOR_ARGS TETHER_ARGS [CMD]: runs floor and Tether alternately, $repeats
# times each, so a burst of load elsewhere hits both; prints the best of each ("-" for a
# program not asked for). The argument strings are split on spaces; CMD (which may hold
# spaces) is passed whole, followed by the number of commands.
best_pair() {
  local want=$1 floor_args=$2 tether_args=$3 command=${4-}
  local -a extra=() floor_values=() tether_values=()
  [[ -n $command ]] && extra=("$command" "$commands")
  local i
  for ((i = 0; i < repeats; i++)); do
    # shellcheck disable=SC2086
    floor_values+=("$(first_field "$floor" $floor_args "${extra[@]}")")
    if [[ -n $tether_args ]]; then
      # shellcheck disable=SC2086
      tether_values+=("$(first_field "$tether" $tether_args "${extra[@]}")")
    fi
  done
  local order=-g
  [[ $want == high ]] && order=-gr
  local best_floor best_tether=-
  best_floor=$(printf '%s\n' "${floor_values[@]}" | sort "$order" | head -n 1)
  if [[ -n $tether_args ]]; then
    best_tether=$(printf '%s\n' "${tether_values[@]}" | sort "$order" | head -n 1)
  fi
  echo "$best_floor $best_tether"
}

row() {
  local label=$1 floor_value=$2 tether_value=$3 ratio=—
  if [[ $tether_value == - ]]; then
    tether_value=—
  else
    ratio=$(awk -v t="$tether_value" -v f="$floor_value" 'BEGIN { printf "%.2f", t / f }')
  fi
  printf '| %s | %s | %s | %s |\n' "$label" "$floor_value" "$tether_value" "$ratio"
}

rows=()
measure_all() {
  local where=$1 shell command pair f t f_big
  # `{ echo hi;}` is `echo hi` in a group: bash lines carry a command they can tell parses to
  # its end as it is and any other through eval (src/protocol/plain_command.cpp), so this row
  # shows what eval costs.
  for shell in dash bash; do
    for command in true "echo hi" "{ echo hi;}"; do
      pair=$(best_pair low "$shell" "$shell" "$command")
      read -r f t <<<"$pair"
      rows+=("$(row "$shell \`$command\`, $where (µs/command)" "$f" "$t")")
    done
  done
  # Tether sizes its own pipes (it grows them to 1 MiB once output fills a read), so one Tether
  # number is set against both floors.
  local throughput="--throughput $throughput_shell $capture_bytes"
  pair=$(best_pair high "$throughput" "$throughput")
  read -r f t <<<"$pair"
  pair=$(best_pair high "--big-pipes $throughput" "")
  read -r f_big _ <<<"$pair"
  rows+=("$(row "capture 256 MiB, $where, floor with 64 KiB pipes (MB/s)" "$f" "$t")")
  rows+=("$(row "capture 256 MiB, $where, floor with 1 MiB pipes (MB/s)" "$f_big" "$t")")
}

measure_all "any CPU"
pair=$(best_pair low "--spawn $spawns" "")
read -r f_spawn _ <<<"$pair"
rows+=("$(row "for scale: spawn \`sh -c true\` per command, any CPU (µs/command)" "$f_spawn" -)")
if [[ -n $one_cpu ]]; then
  runner=(taskset -c "$one_cpu")
  measure_all "one CPU"
fi

echo "Tether vs floor: $(nproc) CPUs, Linux $(uname -r), load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "- Each number is the best of $repeats runs (machines are noisy): the lowest µs, the"
echo "  highest MB/s. Floor and Tether runs alternate."
echo "- Round trips: $commands commands in one shell, after one untimed warm-up command."
echo "- Capture: \`head -c $capture_bytes /dev/zero\` in $throughput_shell, all output kept"
echo "  in memory; MB = 10^6 bytes."
echo "- Ratio = tether / floor: above 1 Tether is slower in µs rows, faster in MB/s rows."
if [[ -n $one_cpu ]]; then
  echo "- \"one CPU\": every process pinned to CPU $one_cpu with taskset; \"any CPU\": where"
  echo "  the scheduler puts them."
fi
echo "- The spawn row starts \`sh -c true\` ($(readlink -f /bin/sh)) $spawns times with"
echo "  posix_spawn, reads its stdout and stderr to end of file, then waitpid."
echo
echo "| case | floor | tether | ratio |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
