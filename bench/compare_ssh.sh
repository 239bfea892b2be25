#!/usr/bin/env bash
# Tether over SSH next to the other ways of running commands on a host through OpenSSH (issue
# 3), over loopback to a throwaway sshd that this script starts and stops itself:
#
#   1. a new `ssh HOST true` per command (a full handshake each time);
#   2. OpenSSH connection sharing: one ControlMaster, then `ssh -S SOCKET HOST true` per command
#      (a new session channel and a remote shell per command, no handshake);
#   3. the floor (bench/floor.c) driving ONE persistent `ssh -T HOST /bin/sh`;
#   4. Tether's persistent session on ssh://HOST.
#
# For reading the gap between 3 and 4, it also runs the floor behind exactly Tether's ssh argv,
# and the floor and Tether on a local /bin/sh; and the persistent cases both where the scheduler
# likes and on one CPU. Prints a markdown table of µs per command, each also as a ratio to
# Tether's, the headline ratios, and every run.
#
#   sudo bash bench/compare_ssh.sh [BUILD_DIR]     (default /work/main/build)
#
# REPEATS (3), NEW_SSH_COMMANDS (30), MASTER_COMMANDS (300), PERSISTENT_COMMANDS (5000) and
# LOCAL_COMMANDS (10000) in the environment change the runs, e.g. for a quick try.
#
# Needs root (scripts/test-sshd logs in as a test account) and openssh-server. Builds nothing:
# build the floor and tether_roundtrip targets (TETHER_BENCH=ON) first.
set -euo pipefail
# A failed measurement inside $(...) must stop the script, not leave a blank in the table.
shopt -s inherit_errexit
# $EPOCHREALTIME and awk must agree on the decimal point.
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${1:-/work/main/build}
floor=$build/bench/floor
tether=$build/bench/tether_roundtrip

say() { echo "compare_ssh.sh: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  say "must run as root (scripts/test-sshd starts sshd, which logs in as a test account)"
  exit 1
fi
for program in "$floor" "$tether"; do
  if [[ ! -x $program ]]; then
    say "$program is missing; build it first: ninja -C $build floor tether_roundtrip"
    exit 1
  fi
done
command -v ssh >/dev/null || { say "the OpenSSH client (ssh) is not installed"; exit 1; }

repeats=${REPEATS:-3}
new_ssh_commands=${NEW_SSH_COMMANDS:-30}
master_commands=${MASTER_COMMANDS:-300}
persistent_commands=${PERSISTENT_COMMANDS:-5000}
local_commands=${LOCAL_COMMANDS:-10000}
# Seconds before a whole measurement, or one setup step (a single ssh command), counts as hung.
readonly measurement_limit=300 step_limit=20

# ---- the sshd, its client config, and cleanup --------------------------------------------

# /tmp, not $TMPDIR: unix socket paths (the ControlPath) must stay short.
work=$(mktemp -d /tmp/tether-bench-ssh.XXXXXX)
sshd_dir=$work/sshd
config=$sshd_dir/ssh_config
master_socket=$work/master.sock
master_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -S $master_socket ]]; then
    timeout 5 ssh -F "$config" -S "$master_socket" -O exit tether-test >/dev/null 2>&1 || true
  fi
  # If the master did not go on request, end it by its pid, once sure the pid is still ours.
  if [[ -n $master_pid ]] && tr '\0' ' ' <"/proc/$master_pid/cmdline" 2>/dev/null |
    grep -qF -- "$master_socket"; then
    kill "$master_pid" 2>/dev/null || true
  fi
  if [[ -d $sshd_dir ]]; then
    "$repo/scripts/test-sshd" stop "$sshd_dir" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
# The trap runs once the measurement under way ends (each is short, and bounded by a timeout).
trap 'exit 130' INT TERM
# sshd reads authorized_keys (in here) as the test account.
chmod 711 "$work"

say "starting a test sshd in $sshd_dir"
if ! timeout 120 "$repo/scripts/test-sshd" start "$sshd_dir" >"$work/test-sshd.log" 2>&1; then
  say "scripts/test-sshd failed:"
  cat "$work/test-sshd.log" >&2
  exit 1
fi
if ! timeout "$step_limit" ssh -F "$config" tether-test true </dev/null; then
  say "cannot run a command over ssh; sshd log:"
  cat "$sshd_dir/sshd.log" >&2 || true
  exit 1
fi

# What ssh negotiated (the key exchange prices each new connection, the cipher each byte).
negotiated=$(timeout "$step_limit" ssh -v -F "$config" tether-test true </dev/null 2>&1 |
  sed -n 's/^debug1: kex: \(algorithm: .*\|host key algorithm: .*\|.*cipher: .*\)$/\1/p' |
  sort -u)
client_version=$(ssh -V 2>&1)

# ---- measuring ---------------------------------------------------------------------------

# first_field PROGRAM ARGS...: runs one measurement and prints its number ("7.61 us/cmd" -> 7.61).
first_field() {
  local said
  # A hung measurement must fail the script rather than stall it.
  if ! said=$(timeout -k 5 "$measurement_limit" "$@" </dev/null); then
    say "failed: $*"
    exit 1
  fi
  echo "${said%% *}"
}

# per_command COUNT PROGRAM ARGS...: runs the program once untimed, then COUNT times, each with
# stdin and stdout on /dev/null, and prints the µs per run. All inside one timeout.
per_command() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  first_field bash -c '
    count=$1
    shift
    "$@" </dev/null >/dev/null || exit 1
    start=$EPOCHREALTIME
    for ((i = 0; i < count; i++)); do
      "$@" </dev/null >/dev/null || exit 1
    done
    end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" -v n="$count" "BEGIN { printf \"%.2f us/cmd\n\", (e - s) * 1e6 / n }"
  ' per_command "$@"
}

lowest() { printf '%s\n' "$@" | sort -g | head -n 1; }

# Where the scheduler puts the processes matters as much as anything measured here: over ssh a
# command crosses four processes (driver, ssh, sshd, shell), and a wake-up on an idle CPU costs
# tens of µs in some VMs, more when the machine is quiet than when it is busy. So the persistent
# sessions are measured twice: where the scheduler likes ("any CPU"), and with every process
# on one CPU ("one CPU": the driver and its ssh through taskset, sshd by pinning its listener,
# whose per-connection children inherit that), which shows the cost of the work itself.
one_cpu="" allowed=""
if command -v taskset >/dev/null && [[ $(nproc) -gt 1 ]]; then
  allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
  one_cpu=${allowed%%[-,]*}
fi
sshd_pid=$(cat "$sshd_dir/sshd.pid")
pin_sshd() { taskset -p -c "$1" "$sshd_pid" >/dev/null; }

# Each case's runs, space-separated, in order. The cases are run alternately, $repeats times,
# so that a burst of load elsewhere hits them all.
declare -A runs=()
record() { runs[$1]="${runs[$1]:+${runs[$1]} }$2"; }
best() {
  # shellcheck disable=SC2086 # the runs are words
  lowest ${runs[$1]}
}

# Tether's ssh argv (src/transport/ssh_transport.cpp, master_argv) with the floor behind it:
# the same client settings (a ControlMaster on a private socket, BatchMode, `exec`), so what is
# left between the two is Tether's own work.
tether_like_ssh=(ssh -T -o ControlMaster=yes -o "ControlPath=$work/floor-master.sock"
  -o ControlPersist=no -o BatchMode=yes -F "$config" -o ConnectTimeout=10 -- tether-test
  'exec /bin/sh')

# persistent WHERE RUNNER...: one run of each persistent case, over ssh and locally.
persistent() {
  local where=$1
  shift
  record "floor_ssh $where" "$(first_field "$@" "$floor" true "$persistent_commands" -- \
    ssh -T -F "$config" tether-test /bin/sh)"
  record "tether_ssh $where" "$(first_field "$@" "$tether" --target ssh://tether-test \
    --ssh-config "$config" true "$persistent_commands")"
  record "floor_same_argv $where" "$(first_field "$@" "$floor" true "$persistent_commands" -- \
    "${tether_like_ssh[@]}")"
  record "floor_local $where" "$(first_field "$@" "$floor" /bin/sh true "$local_commands")"
  record "tether_local $where" "$(first_field "$@" "$tether" /bin/sh true "$local_commands")"
}

for ((round = 1; round <= repeats; round++)); do
  say "round $round of $repeats: persistent sessions ($persistent_commands commands each)"
  persistent any
  if [[ -n $one_cpu ]]; then
    pin_sshd "$one_cpu"
    persistent one taskset -c "$one_cpu"
    pin_sshd "$allowed"
  fi

  say "round $round of $repeats: ControlMaster ($master_commands commands)"
  timeout "$step_limit" ssh -F "$config" -o ControlMaster=yes -o "ControlPath=$master_socket" \
    -o ControlPersist=60 -N -f tether-test </dev/null >/dev/null 2>"$work/master.log"
  check=$(timeout "$step_limit" ssh -F "$config" -S "$master_socket" -O check tether-test 2>&1)
  master_pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$check")
  record master "$(per_command "$master_commands" \
    ssh -F "$config" -S "$master_socket" tether-test true)"
  timeout "$step_limit" ssh -F "$config" -S "$master_socket" -O exit tether-test 2>/dev/null
  # -O exit returns before the master is gone; wait for it, so the next round starts afresh.
  for _ in $(seq 100); do
    [[ -n $master_pid && -e /proc/$master_pid ]] || break
    sleep 0.05
  done
  master_pid=""

  say "round $round of $repeats: a new ssh per command ($new_ssh_commands commands)"
  record new_ssh "$(per_command "$new_ssh_commands" ssh -F "$config" tether-test true)"
done

# ---- the report ----------------------------------------------------------------------------

# ratio A B: A / B, with as many decimals as make sense for its size.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    r = a / b
    if (r >= 100) printf "%.0f", r; else if (r >= 10) printf "%.1f", r; else printf "%.2f", r
  }'
}
# µs, whole above 1000 (where the decimals are noise).
micros() { awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.0f", v; else printf "%.1f", v }'; }
# row LABEL CASE WHERE: the case's best, and its ratio to Tether over ssh measured alike.
row() {
  local value
  value=$(best "$2")
  printf '| %s | %s | %s |\n' "$1" "$(micros "$value")" \
    "$(ratio "$value" "$(best "tether_ssh $3")")"
}

tether_any=$(best "tether_ssh any")
# goal RATIO: whether Tether / floor over ssh meets issue 3's goal (at most 1.2).
goal() { awk -v r="$1" 'BEGIN { print (r <= 1.2 ? "met" : "NOT met") }'; }

echo "Tether over SSH vs OpenSSH ways of running commands: loopback to a test sshd,"
echo "$(nproc) CPUs, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "- Client: $client_version. Negotiated:"
while IFS= read -r line; do echo "  - $line"; done <<<"$negotiated"
echo "- Each command is \`true\` in the test account's /bin/sh ($(readlink -f /bin/sh)); every"
echo "  number is the best of $repeats runs, each after one untimed warm-up command. Runs alternate."
echo "- Commands per run: new ssh $new_ssh_commands, ControlMaster $master_commands,"
echo "  persistent sessions over ssh $persistent_commands, local $local_commands."
echo "- vs Tether = this row / Tether over ssh measured alike (any CPU or one CPU); below 1:"
echo "  faster than Tether."
if [[ -n $one_cpu ]]; then
  echo "- \"one CPU\": the driver, ssh, sshd and the shell all on CPU $one_cpu (taskset); \"any"
  echo "  CPU\": where the scheduler puts them."
fi
echo
echo "| case | µs per command | vs Tether (ratio) |"
echo "|---|---:|---:|"
row "new \`ssh tether-test true\` per command, any CPU" new_ssh any
row "ControlMaster: \`ssh -S SOCK tether-test true\` per command, any CPU" master any
wheres=(any)
[[ -n $one_cpu ]] && wheres+=(one)
for where in "${wheres[@]}"; do
  row "floor driving one \`ssh -T tether-test /bin/sh\`, $where CPU" "floor_ssh $where" "$where"
  row "floor driving one ssh with Tether's ssh argv, $where CPU" "floor_same_argv $where" "$where"
  row "**Tether session on ssh://tether-test, $where CPU**" "tether_ssh $where" "$where"
  row "for scale: floor on a local /bin/sh, $where CPU" "floor_local $where" "$where"
  row "for scale: Tether on a local /bin/sh, $where CPU" "tether_local $where" "$where"
done
echo
for where in "${wheres[@]}"; do
  tether_vs_floor=$(ratio "$(best "tether_ssh $where")" "$(best "floor_ssh $where")")
  echo "- Tether / floor over ssh, $where CPU: **$tether_vs_floor** (goal ≤ 1.2:" \
    "$(goal "$tether_vs_floor"))"
done
echo "- new ssh per command / Tether: **$(ratio "$(best new_ssh)" "$tether_any")**"
echo "- ControlMaster per command / Tether: **$(ratio "$(best master)" "$tether_any")**"
for where in "${wheres[@]}"; do
  echo "- $where CPU: Tether / floor with Tether's ssh argv" \
    "$(ratio "$(best "tether_ssh $where")" "$(best "floor_same_argv $where")"); Tether / floor" \
    "locally $(ratio "$(best "tether_local $where")" "$(best "floor_local $where")"); Tether −" \
    "floor over ssh $(awk -v t="$(best "tether_ssh $where")" -v f="$(best "floor_ssh $where")" \
      'BEGIN { printf "%.1f", t - f }') µs per command"
done
echo
echo "All runs (µs per command, in order):"
echo
for key in new_ssh master; do echo "- $key: ${runs[$key]}"; done
for where in "${wheres[@]}"; do
  for key in floor_ssh floor_same_argv tether_ssh floor_local tether_local; do
    echo "- $key, $where CPU: ${runs[$key $where]}"
  done
done
