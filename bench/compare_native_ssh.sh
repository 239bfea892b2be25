#!/usr/bin/env bash
# Tether on libssh (native SSH, issue 4) next to Tether and OpenSSH through the ssh client, over
# loopback to a throwaway sshd that this script starts and stops itself:
#
#   1. a persistent session, `true` per command: tether::session on a tether::ssh::connection
#      (libssh) versus tether::session on ssh://tether-test (an ssh subprocess), where the
#      scheduler likes and with every process on one CPU; and the start-up of each (connect,
#      open the session, the first command's result);
#   2. one-shot commands: connection::exec("true") per command on one open libssh connection
#      versus OpenSSH connection sharing, `ssh -S SOCKET tether-test true` per command (a new
#      client process and a new channel each, no handshake); plus, for diagnosis, the same exec
#      written directly on libssh (bench/native_ssh_bench.cpp, raw-exec);
#   3. 100 channels on one connection: open 100 sessions on one libssh connection, run `true` on
#      each in turn, close them all.
#
# Prints a markdown table, the goals of issue 4 as ratios, and every run.
#
#   sudo bash bench/compare_native_ssh.sh [BUILD_DIR]     (default /work/main/build)
#
# REPEATS (3), SESSION_COMMANDS (5000), EXEC_COMMANDS (300), MASTER_COMMANDS (300) and
# CHANNELS (100) in the environment change the runs, e.g. for a quick try.
#
# Needs root (scripts/test-sshd logs in as a test account) and openssh-server. Builds nothing:
# build the native_ssh_bench target (TETHER_BENCH=ON) first.
set -euo pipefail
# A failed measurement inside $(...) must stop the script, not leave a blank in the table.
shopt -s inherit_errexit
# $EPOCHREALTIME and awk must agree on the decimal point.
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${1:-/work/main/build}
bench=$build/bench/native_ssh_bench

say() { echo "compare_native_ssh.sh: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  say "must run as root (scripts/test-sshd starts sshd, which logs in as a test account)"
  exit 1
fi
if [[ ! -x $bench ]]; then
  say "$bench is missing; build it first: ninja -C $build native_ssh_bench"
  exit 1
fi
command -v ssh >/dev/null || { say "the OpenSSH client (ssh) is not installed"; exit 1; }

repeats=${REPEATS:-3}
session_commands=${SESSION_COMMANDS:-5000}
exec_commands=${EXEC_COMMANDS:-300}
master_commands=${MASTER_COMMANDS:-300}
channels=${CHANNELS:-100}
# Seconds before a whole measurement, or one setup step (a single ssh command), counts as hung.
readonly measurement_limit=300 step_limit=20

# ---- the sshd, its client config, and cleanup --------------------------------------------

# /tmp, not $TMPDIR: unix socket paths (the ControlPath) must stay short.
work=$(mktemp -d /tmp/tether-bench-native.XXXXXX)
sshd_dir=$work/sshd
config=$sshd_dir/ssh_config
master_socket=$work/master.sock
master_pid=""

# descendants PID: every process below PID, depth first.
descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

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
  if [[ -s $sshd_dir/sshd.pid ]]; then
    # scripts/test-sshd stop kills only the sshd processes and leaves the test account's shells
    # (as a crash would). A measurement cut short by its timeout can leave some below this
    # sshd: gather them first (orphans are re-parented), and end them too, by pid, since the
    # same account may be running other people's tests.
    local leftovers
    leftovers=$(descendants "$(cat "$sshd_dir/sshd.pid")")
    "$repo/scripts/test-sshd" stop "$sshd_dir" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086 # the pids are words
    [[ -z $leftovers ]] || kill -KILL $leftovers 2>/dev/null || true
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
libssh_version=$(dpkg-query -W -f '${Version}' libssh-4 2>/dev/null || echo unknown)

# ---- measuring ---------------------------------------------------------------------------

# measure PROGRAM ARGS...: runs one measurement and prints what it printed, less its unit.
measure() {
  local said
  # A hung measurement must fail the script rather than stall it.
  if ! said=$(timeout -k 5 "$measurement_limit" "$@" </dev/null); then
    say "failed: $*"
    exit 1
  fi
  echo "${said% us*}"
}

# per_command COUNT PROGRAM ARGS...: runs the program once untimed, then COUNT times, each with
# stdin and stdout on /dev/null, and prints the µs per run. All inside one timeout.
per_command() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  measure bash -c '
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

# As in bench/compare_ssh.sh: "any CPU" is where the scheduler puts the processes, "one CPU"
# pins the driver (and its ssh child) with taskset and sshd by pinning its listener, whose
# per-connection children inherit that. Cross-CPU wake-ups cost tens of µs in some VMs.
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

# sessions WHERE RUNNER...: one run of each persistent-session case: µs per command, and µs
# from before connecting until the first command's result.
sessions() {
  local where=$1 kind per_command start_up
  shift
  for kind in native openssh; do
    local mode=session
    [[ $kind == native ]] || mode=openssh-session
    read -r per_command start_up <<<"$(measure "$@" "$bench" "$sshd_dir" "$mode" true \
      "$session_commands")"
    record "${kind}_session $where" "$per_command"
    record "${kind}_start $where" "$start_up"
  done
}

for ((round = 1; round <= repeats; round++)); do
  say "round $round of $repeats: persistent sessions ($session_commands commands each)"
  sessions any
  if [[ -n $one_cpu ]]; then
    pin_sshd "$one_cpu"
    sessions one taskset -c "$one_cpu"
    pin_sshd "$allowed"
  fi

  say "round $round of $repeats: exec on one libssh connection ($exec_commands commands)"
  record native_exec "$(measure "$bench" "$sshd_dir" exec true "$exec_commands")"
  record raw_exec "$(measure "$bench" "$sshd_dir" raw-exec true "$exec_commands")"

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

  say "round $round of $repeats: $channels sessions on one libssh connection"
  read -r open run close connect <<<"$(measure "$bench" "$sshd_dir" channels true "$channels")"
  record channels_open "$open"
  record channels_run "$run"
  record channels_close "$close"
  record connect "$connect"
done

# ---- the report ----------------------------------------------------------------------------

# ratio A B: A / B, with as many decimals as make sense for its size.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    r = a / b
    if (r >= 100) printf "%.0f", r; else if (r >= 10) printf "%.1f", r; else printf "%.2f", r
  }'
}
# duration MICROSECONDS: "48.7 µs", "5078 µs", "41.8 ms" (ms from 10 ms up; decimals that are noise
# left out).
duration() {
  awk -v v="$1" 'BEGIN {
    if (v >= 10000) printf "%.1f ms", v / 1000
    else if (v >= 1000) printf "%.0f µs", v
    else printf "%.1f µs", v
  }'
}
# speed A B: "3.56× faster" or "4.09× slower", A's time against B's.
speed() {
  if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; then
    echo "$(ratio "$2" "$1")× faster"
  else
    echo "$(ratio "$1" "$2")× slower"
  fi
}
# at_most RATIO LIMIT: whether the ratio meets a goal of at most LIMIT.
at_most() { awk -v r="$1" -v l="$2" 'BEGIN { print (r <= l ? "met" : "NOT met") }'; }

wheres=(any)
[[ -n $one_cpu ]] && wheres+=(one)

echo "Tether on libssh vs Tether and OpenSSH through the ssh client: loopback to a test sshd,"
echo "$(nproc) CPUs, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "- Client: $client_version; libssh $libssh_version. OpenSSH negotiated:"
while IFS= read -r line; do echo "  - $line"; done <<<"$negotiated"
echo "- Each command is \`true\` in the test account's /bin/sh ($(readlink -f /bin/sh)); every"
echo "  number is the best of $repeats runs, each after one untimed warm-up command. Runs alternate."
echo "- Commands per run: sessions $session_commands, libssh exec $exec_commands, ControlMaster"
echo "  $master_commands; $channels sessions on one connection."
if [[ -n $one_cpu ]]; then
  echo "- \"one CPU\": the driver, ssh, sshd and the shell all on CPU $one_cpu (taskset); \"any"
  echo "  CPU\": where the scheduler puts them."
fi
echo
# row LABEL LIBSSH [OPENSSH]: a row of the table, in µs; with the ratio when both are given.
row() {
  if [[ $# -eq 3 ]]; then
    printf '| %s | %s | %s | %s |\n' "$1" "$(duration "$2")" "$(duration "$3")" "$(ratio "$2" "$3")"
  else
    printf '| %s | %s | | |\n' "$1" "$(duration "$2")"
  fi
}
echo "| case | Tether on libssh | OpenSSH way | libssh / OpenSSH |"
echo "|---|---:|---:|---:|"
for where in "${wheres[@]}"; do
  row "**persistent session, per \`true\`, $where CPU** (OpenSSH: Tether session on ssh://)" \
    "$(best "native_session $where")" "$(best "openssh_session $where")"
done
row "start-up: connect, open a session, first \`true\`'s result, any CPU" \
  "$(best "native_start any")" "$(best "openssh_start any")"
row "**one-shot, per \`true\`**: \`exec()\` on an open connection vs ControlMaster \`ssh -S SOCK tether-test true\`" \
  "$(best native_exec)" "$(best master)"
row "diagnosis: the same one-shot exec written directly on libssh (no Tether)" \
  "$(best raw_exec)" "$(best master)"
row "$channels sessions on one connection: open all (a channel and a shell that answered, each)" \
  "$(best channels_open)"
row "$channels sessions on one connection: \`true\` on each in turn, all" "$(best channels_run)"
row "$channels sessions on one connection: \`true\` on each in turn, per session" \
  "$(awk -v t="$(best channels_run)" -v n="$channels" 'BEGIN { print t / n }')"
row "$channels sessions on one connection: close all" "$(best channels_close)"
row "for scale: connect and log in with libssh" "$(best connect)"
echo
for where in "${wheres[@]}"; do
  session_ratio=$(ratio "$(best "native_session $where")" "$(best "openssh_session $where")")
  echo "- libssh session / OpenSSH-subprocess session, $where CPU: **$session_ratio** (goal ≤ 1:" \
    "$(at_most "$session_ratio" 1))"
done
exec_ratio=$(ratio "$(best native_exec)" "$(best master)")
echo "- libssh exec / ControlMaster per command: **$exec_ratio**, i.e. exec is" \
  "$(speed "$(best native_exec)" "$(best master)") (goal: ≥ 5× faster, ratio ≤ 0.2:" \
  "$(at_most "$exec_ratio" 0.2))"
echo "- for diagnosis: exec written directly on libssh / ControlMaster:" \
  "$(ratio "$(best raw_exec)" "$(best master)") ($(speed "$(best raw_exec)" "$(best master)"));" \
  "Tether's exec / direct libssh exec: $(ratio "$(best native_exec)" "$(best raw_exec)")"
echo
echo "All runs (µs, in order):"
echo
for where in "${wheres[@]}"; do
  for key in native_session openssh_session native_start openssh_start; do
    echo "- $key, $where CPU: ${runs[$key $where]}"
  done
done
for key in native_exec raw_exec master channels_open channels_run channels_close connect; do
  echo "- $key: ${runs[$key]}"
done
