#!/usr/bin/env bash
# Tether's fleet (issue 5) next to parallel-ssh and sequential ssh: `uname -a` on 50 and 100
# targets spread round-robin over a few throwaway sshds on 127.0.0.1, which this script starts
# and stops itself; then 1000 local sessions in one fleet (open, `true` on all, close, memory).
#
#   sudo bash bench/compare_fleet.sh [BUILD_DIR]     (default build/)
#
# SERVERS (4), SIZES ("50 100"), LIMIT (64: Tether's max_connecting and parallel-ssh -p),
# REPEATS (3), WARM (5 warm runs per fleet) and LOCAL (1000) in the environment change the runs.
#
# Key exchange is most of a cold start on loopback, and OpenSSH and libssh do not pick the same
# one, so the sshd log tells which each tool used; when they differ, the OpenSSH-based tools are
# also run with libssh's choice forced, so that cold starts compare like with like.
#
# Needs root (scripts/test-sshd), openssh-server and pssh. Builds nothing: build the fleet_bench
# target (TETHER_BENCH=ON) first.
set -euo pipefail
# A failed measurement inside $(...) must stop the script, not leave a blank in the table.
shopt -s inherit_errexit
# $EPOCHREALTIME and awk must agree on the decimal point.
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${1:-$repo/build}
bench=$build/bench/fleet_bench

say() { echo "compare_fleet.sh: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  say "must run as root (scripts/test-sshd starts sshd, which logs in as a test account)"
  exit 1
fi
if [[ ! -x $bench ]]; then
  say "$bench is missing; build it first: ninja -C $build fleet_bench"
  exit 1
fi
for program in ssh parallel-ssh; do
  command -v "$program" >/dev/null || { say "no $program: scripts/install-deps test"; exit 1; }
done

servers=${SERVERS:-4}
read -r -a sizes <<<"${SIZES:-50 100}"
limit=${LIMIT:-64}
repeats=${REPEATS:-3}
warm=${WARM:-5}
local_sessions=${LOCAL:-1000}
readonly measurement_limit=300

# ---- the sshds, one client config for all of them, and cleanup ----------------------------

work=$(mktemp -d /tmp/tether-bench-fleet.XXXXXX)
dirs=()     # the measured servers
started=()  # every server to stop, the probe included

descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

cleanup() {
  local status=$? dir leftovers
  trap - EXIT INT TERM
  for dir in "${started[@]}"; do
    [[ -s $dir/sshd.pid ]] || continue
    # test-sshd stop leaves the account's shells (as a crash would); a run cut short can leave
    # some, so gather them before sshd goes (orphans are re-parented) and end them by pid.
    leftovers=$(descendants "$(cat "$dir/sshd.pid")")
    "$repo/scripts/test-sshd" stop "$dir" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086 # the pids are words
    [[ -z $leftovers ]] || kill -KILL $leftovers 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# sshd reads authorized_keys (in here) as the test account.
chmod 711 "$work"

# One user key for every server (test-sshd keeps a user_key it finds): parallel-ssh and ssh
# take one set of options for all their hosts.
ssh-keygen -q -t ed25519 -N '' -C tether-bench-user -f "$work/user_key"
start_server() {
  mkdir -p "$1"
  cp "$work/user_key" "$work/user_key.pub" "$1/"
  started+=("$1")
  if ! timeout 120 "$repo/scripts/test-sshd" start "$1" >"$work/test-sshd.log" 2>&1; then
    say "scripts/test-sshd failed:"
    cat "$work/test-sshd.log" >&2
    exit 1
  fi
}
say "starting $servers test sshds and a probe for the key exchange"
for ((i = 1; i <= servers; i++)); do
  start_server "$work/sshd$i"
  dirs+=("$work/sshd$i")
done
probe=$work/probe
start_server "$probe"
# test-sshd's MaxStartups (1000:30:1000) already admits every connection at once; sshd's
# default 10:30:100 would drop some.
grep -q '^MaxStartups 1000:' "$probe/sshd_config" || say "warning: test-sshd's MaxStartups changed"

cat "${started[@]/%//known_hosts}" >"$work/known_hosts"
cat >"$work/ssh_config" <<CONFIG
Host *
  IdentityFile $work/user_key
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
CONFIG
for n in "${sizes[@]}"; do
  for ((i = 0; i < n; i++)); do
    echo "tether-sh@127.0.0.1:$(cat "${dirs[i % servers]}/port")"
  done >"$work/hosts$n"
done

# ---- which key exchange each tool uses ---------------------------------------------------

# Only the probe server logs at DEBUG (kex lines): logging every connection would slow the
# measured ones. SIGHUP makes sshd re-read its config, in place.
sed -i 's/^LogLevel .*/LogLevel DEBUG1/' "$probe/sshd_config"
kill -HUP "$(cat "$probe/sshd.pid")"
for _ in $(seq 100); do
  grep -q '^Server listening' "$probe/sshd.log" && break
  sleep 0.1
done
probe_host=tether-sh@127.0.0.1:$(cat "$probe/port")

# kex_of COMMAND...: runs one connection's worth of COMMAND against the probe and prints the key
# exchange(s) the server saw.
kex_of() {
  local before
  before=$(wc -l <"$probe/sshd.log")
  if ! timeout 60 "$@" </dev/null >"$work/probe.out" 2>&1; then
    say "the key exchange probe failed: $*"
    cat "$work/probe.out" >&2
    exit 1
  fi
  tail -n +"$((before + 1))" "$probe/sshd.log" |
    sed -n 's/.*kex: algorithm: \([^ ]*\).*/\1/p' | sort -u | paste -sd,
}

# OPTIONS... for each pass over the OpenSSH-based tools: "default" has none.
declare -A ssh_o=([default]="") pssh_o=([default]="") kex=()
probe_pass() {
  local pass=$1
  # shellcheck disable=SC2086 # the options are words
  kex[ssh $pass]=$(kex_of ssh -F "$work/ssh_config" ${ssh_o[$pass]} -p "${probe_host##*:}" \
    "${probe_host%:*}" true)
  # shellcheck disable=SC2086
  kex[pssh $pass]=$(kex_of parallel-ssh -H "$probe_host" -x "-F $work/ssh_config" \
    ${pssh_o[$pass]} true)
  # shellcheck disable=SC2086
  kex[tether $pass]=$(kex_of "$bench" ssh 1 --warm 1 ${ssh_o[$pass]} "$probe")
}
probe_pass default
kex[native]=$(kex_of "$bench" native 1 --warm 1 "$probe")
passes=(default)
if [[ ${kex[tether default]} != "${kex[native]}" ||
  ${kex[pssh default]} != "${kex[native]}" ]]; then
  passes+=(forced)
  ssh_o[forced]="-o KexAlgorithms=${kex[native]}"
  pssh_o[forced]="-O KexAlgorithms=${kex[native]}"
  probe_pass forced
fi
say "key exchanges: $(for k in "${!kex[@]}"; do printf '%s=%s; ' "$k" "${kex[$k]}"; done)"

# ---- measuring ---------------------------------------------------------------------------

# Each case's runs, space-separated, in order; failed targets summed per case.
declare -A runs=() failed=()
record() { runs[$1]="${runs[$1]:+${runs[$1]} }$2"; }
add_failed() { failed[$1]=$((${failed[$1]:-0} + $2)); }
# shellcheck disable=SC2086 # the runs are words
best() { printf '%s\n' ${runs[$1]} | sort -g | head -n 1; }
elapsed() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.4f", e - s }'; }

# fleet MODE N KEY [-o OPTION]...: one fleet_bench run, cold and warm.
fleet() {
  local mode=$1 n=$2 key=$3 said cold warm_time warm_true close lost
  shift 3
  # Status 1 means some targets failed: the numbers still come, with the count.
  said=$(timeout -k 5 "$measurement_limit" "$bench" "$mode" "$n" --limit "$limit" \
    --warm "$warm" "$@" "${dirs[@]}" </dev/null 2>>"$work/fleet_bench.err") || true
  read -r cold warm_time warm_true close lost _ <<<"$said"
  if [[ -z ${lost:-} ]]; then
    say "fleet_bench $mode $n $* gave no numbers:"
    tail -n 20 "$work/fleet_bench.err" >&2
    exit 1
  fi
  record "$key cold $n" "$cold"
  record "$key warm $n" "$warm_time"
  record "$key warm-true $n" "$warm_true"
  record "$key close $n" "$close"
  add_failed "$key cold $n" "$lost"
}

# pssh N KEY [-O OPTION]...: one parallel-ssh run; a target counts when its output came.
pssh() {
  local n=$1 key=$2 start end answered
  shift 2
  start=$EPOCHREALTIME
  timeout -k 5 "$measurement_limit" parallel-ssh -h "$work/hosts$n" -p "$limit" -i \
    -x "-F $work/ssh_config" "$@" 'uname -a' </dev/null >"$work/pssh.out" 2>&1 || true
  end=$EPOCHREALTIME
  answered=$(grep -c '^Linux ' "$work/pssh.out" || true)
  [[ $answered -eq $n ]] || grep -A1 FAILURE "$work/pssh.out" | head -n 6 >&2 || true
  record "$key $n" "$(elapsed "$start" "$end")"
  add_failed "$key $n" $((n - answered))
}

# sequential N KEY [-o OPTION]...: `ssh host uname -a` for each host in turn.
sequential() {
  local n=$1 key=$2 start end host lost=0 said
  shift 2
  start=$EPOCHREALTIME
  while read -r host; do
    said=$(timeout 30 ssh -F "$work/ssh_config" "$@" -p "${host##*:}" "${host%:*}" 'uname -a' \
      </dev/null 2>&1) || true
    [[ $said == Linux* ]] || lost=$((lost + 1))
  done <"$work/hosts$n"
  end=$EPOCHREALTIME
  record "$key $n" "$(elapsed "$start" "$end")"
  add_failed "$key $n" "$lost"
}

# floor N: N `uname -a` processes started at once on this machine, no shell and no ssh: the
# work a warm run cannot avoid (the sshds run here too, so their uname processes share these
# CPUs).
floor() {
  local said
  said=$(timeout -k 5 "$measurement_limit" "$bench" spawn "$1" --warm "$warm" </dev/null)
  record "floor $1" "${said%% *}"
}

# Rounds alternate the tools, so that a burst of load elsewhere hits them all. Sequential ssh
# takes ~0.2 s per target and varies little: once.
for ((round = 1; round <= repeats; round++)); do
  for n in "${sizes[@]}"; do
    say "round $round of $repeats: $n targets"
    for pass in "${passes[@]}"; do
      # shellcheck disable=SC2086 # the options are words
      fleet ssh "$n" "tether $pass" ${ssh_o[$pass]}
      # shellcheck disable=SC2086
      pssh "$n" "pssh $pass" ${pssh_o[$pass]}
      # shellcheck disable=SC2086
      ((round > 1)) || sequential "$n" "ssh $pass" ${ssh_o[$pass]}
    done
    fleet native "$n" native
    floor "$n"
  done
  say "round $round of $repeats: $local_sessions local sessions"
  if ! said=$(timeout -k 5 "$measurement_limit" "$bench" local "$local_sessions" </dev/null); then
    say "fleet_bench local $local_sessions failed"
    exit 1
  fi
  read -r -a numbers <<<"$said"
  keys=(open run close rss anon pss heap)
  for i in "${!keys[@]}"; do record "local ${keys[i]}" "${numbers[i]}"; done
done

# ---- the report ----------------------------------------------------------------------------

# time SECONDS: "3.12 s" or "41.3 ms".
time_of() {
  awk -v v="$1" 'BEGIN { if (v >= 1) printf "%.2f s", v; else printf "%.1f ms", v * 1000 }'
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    r = a / b
    if (r >= 100) printf "%.0f", r; else if (r >= 10) printf "%.1f", r; else printf "%.2f", r
  }'
}
# cell KEY N: the best time, and how many targets failed over all its runs.
cell() {
  local lost=${failed[$1 $2]:-0}
  printf '%s%s' "$(time_of "$(best "$1 $2")")" "$( ((lost == 0)) || echo " ($lost failed)")"
}
row() {  # LABEL KEX KEY
  printf '| %s | %s |' "$1" "$2"
  for n in "${sizes[@]}"; do printf ' %s |' "$(cell "$3" "$n")"; done
  echo
}
# fastest N KEY...: the best time over the given cases' runs on N targets.
fastest() {
  local n=$1 key
  shift
  for key; do echo "${runs[$key $n]}"; done | tr ' ' '\n' | sort -g | head -n 1
}

echo "Fleet: \`uname -a\` on N targets round-robin over $servers test sshds on 127.0.0.1;"
echo "$(nproc) CPUs, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "- $(ssh -V 2>&1); libssh $(dpkg-query -W -f '${Version}' libssh-4 2>/dev/null || echo '?');"
echo "  pssh $(dpkg-query -W -f '${Version}' pssh 2>/dev/null || echo '?')."
echo "- Key exchanges: from the log of a probe sshd at LogLevel DEBUG1."
echo "- At most $limit connections being set up at once: Tether's max_connecting, parallel-ssh -p."
echo "- Best of $repeats run(s) (warm: best of $warm runs on each open fleet); sequential ssh ran"
echo "  once. Wall-clock; parallel-ssh and ssh include starting their processes (Python, ssh),"
echo "  Tether is timed inside its process, from run() to the last result."
echo "- cold: run() on a fleet not yet open (connect, log in, start the shell, run); warm: run()"
echo "  again on the open sessions."
echo
printf '| tool / mode | key exchange |'
for n in "${sizes[@]}"; do printf ' %s targets |' "$n"; done
printf '\n|---|---|'
for n in "${sizes[@]}"; do printf -- '---:|'; done
echo
for pass in "${passes[@]}"; do
  row "Tether fleet, OpenSSH client, cold" "${kex[tether $pass]}" "tether $pass cold"
  row "Tether fleet, OpenSSH client, warm" "(open)" "tether $pass warm"
  row "... warm, \`true\` (a builtin: no remote process)" "(open)" "tether $pass warm-true"
  row "parallel-ssh" "${kex[pssh $pass]}" "pssh $pass"
  row "sequential ssh" "${kex[ssh $pass]}" "ssh $pass"
done
row "Tether fleet, native (libssh), cold" "${kex[native]}" "native cold"
row "Tether fleet, native (libssh), warm" "(open)" "native warm"
row "... warm, \`true\` (a builtin: no remote process)" "(open)" "native warm-true"
row "floor: N \`uname -a\` processes at once (posix_spawn, no shell, no ssh)" "" "floor"
row "for scale: Tether fleet, OpenSSH client, close all" "" "tether default close"
row "for scale: Tether fleet, native, close all" "" "native close"
echo
# value KEY N: KEY's best on N targets; "pssh-fastest": parallel-ssh's, whatever the key exchange.
value() {
  if [[ $1 == pssh-fastest ]]; then fastest "$2" "${passes[@]/#/pssh }"; else best "$1 $2"; fi
}
# ratios LABEL UNIT A B: per size, A / B.
ratios() {
  local label=$1 unit=$2 a=$3 b=$4 out="" n
  for n in "${sizes[@]}"; do
    out+="${out:+, }$n: **$(ratio "$(value "$a" "$n")" "$(value "$b" "$n")")$unit**"
  done
  echo "- $label: $out"
}
for pass in "${passes[@]}"; do
  ratios "cold, Tether OpenSSH fleet / parallel-ssh, both ${kex[pssh $pass]} (goal ≤ 1)" "" \
    "tether $pass cold" "pssh $pass"
done
ratios "cold, Tether native fleet / parallel-ssh, both ${kex[native]} (goal ≤ 1)" "" \
  "native cold" "pssh ${passes[-1]}"
for key in "tether default" native; do
  label=OpenSSH
  [[ $key == native ]] && label=native
  ratios "warm speedup, parallel-ssh's fastest / Tether $label fleet warm (goal ≥ 100×)" "×" \
    pssh-fastest "$key warm"
  ratios "... the same with Tether's warm \`true\` (the remote \`uname\` processes left out)" \
    "×" pssh-fastest "$key warm-true"
  ratios "... Tether $label fleet warm / the floor (1 = the uname processes' own cost)" "" \
    "$key warm" floor
done
for pass in "${passes[@]}"; do
  ratios "warm speedup against parallel-ssh with ${kex[pssh $pass]} (goal ≥ 100×), OpenSSH fleet" \
    "×" "pssh $pass" "tether default warm"
  ratios "... native fleet" "×" "pssh $pass" "native warm"
  ratios "... the most any tool could reach: parallel-ssh / the floor" "×" "pssh $pass" floor
done
echo
echo "$local_sessions local /bin/sh sessions in one fleet (best of $repeats):"
echo
echo "| | |"
echo "|---|---:|"
echo "| open all | $(time_of "$(best "local open")") |"
echo "| \`true\` on all | $(time_of "$(best "local run")") |"
echo "| close all | $(time_of "$(best "local close")") |"
kib() { awk -v b="$(best "local $1")" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
echo "| Tether's memory per idle session: resident (RSS) | $(kib rss) |"
echo "| ... of which anonymous | $(kib anon) |"
echo "| ... proportional (PSS) | $(kib pss) |"
echo "| ... heap in use (mallinfo2) | $(kib heap) |"
echo
echo "(goal: under 64 KiB per idle session; the shells are processes of their own, not counted)"
echo
echo "All runs (seconds, or bytes per session, in order):"
echo
printf '%s\n' "${!runs[@]}" | sort | while IFS= read -r key; do echo "- $key: ${runs[$key]}"; done
